//! Process audit (F16, 000§6): once the work standard is rolled out, requirement management is
//! audited periodically per region or project against a checklist whose items are graded
//! qualified / good / excellent (after the ISO/TS 22163 checklist model); what fails is a
//! finding; excellent practices are shared.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::FieldErrors;
use crate::ids::UserId;

closed_set!(
    /// The grade of one checklist item (合格、良好、优秀; 不合格 when it fails).
    AuditGrade {
        NotQualified => "not_qualified",
        Qualified => "qualified",
        Good => "good",
        Excellent => "excellent",
    }
);

closed_set!(
    /// Where an audit stands: planned, being graded, reported.
    AuditStatus { Planned => "planned", InProgress => "in_progress", Reported => "reported" }
);

closed_set!(
    /// What an audit covers (000§6 "各个区域、不同项目").
    AuditScope { Region => "region", Project => "project" }
);

/// The default checklist: the nine stages of the requirement loop and the work standard.
pub const DEFAULT_CHECKLIST: &[&str] = &[
    "需求识别：客户需求识别表完整，明示、隐含、法律法规要求均已识别",
    "需求识别：与以往类似产品表述不一致之处已再次与客户确认并登记",
    "需求评审：技术、试验、工艺、交期、价格、质量、售后各方均已评审并签署",
    "需求确定：评审结论已与客户确认，偏离项取得客户书面认可",
    "需求传递：各业务控制点按工作标准工位对工位传递，节拍未超期",
    "再次核对：合同版本、CBC 未响应条款、偏离许可、变更项点已核对",
    "需求实现：各部门工作计划已纳入客户需求并按期完成",
    "需求验证：验收准则逐条验证并保留记录",
    "需求确认：交付前检查核对表全部通过或有授权放行",
    "客户回访：已回访并记录客户意见，问题已闭环",
    "变更控制：变更经再确认、再评审、批准，通知到位并验证效果",
    "资料保存：需求、评审、变更资料完整可追溯并按规定保密",
];

/// An audit plan as entered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanFields {
    pub title: String,
    pub scope: AuditScope,
    /// The province audited (a region audit).
    #[serde(default)]
    pub province: String,
    /// The project audited (a project audit).
    #[serde(default)]
    pub project_id: Option<i64>,
    /// `YYYY-MM-DD`.
    pub planned_on: String,
    pub auditor_id: UserId,
    /// The checklist; the default one when left empty.
    #[serde(default)]
    pub items: Vec<String>,
}

impl PlanFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("title", &mut self.title, 200);
        self.province = self.province.trim().to_string();
        match self.scope {
            AuditScope::Region => {
                if !crate::region::PROVINCES
                    .iter()
                    .any(|(name, _, _)| *name == self.province)
                {
                    e.add("province", "province");
                }
                self.project_id = None;
            }
            AuditScope::Project => {
                if self.project_id.is_none() {
                    e.add("project_id", "required");
                }
                self.province.clear();
            }
        }
        self.planned_on = self.planned_on.trim().to_string();
        if chrono::NaiveDate::parse_from_str(&self.planned_on, "%Y-%m-%d").is_err() {
            e.add("planned_on", "date");
        }
        if self.items.is_empty() {
            self.items = DEFAULT_CHECKLIST.iter().map(|s| s.to_string()).collect();
        }
        self.items.retain(|i| !i.trim().is_empty());
        if self.items.len() > 100 {
            e.add("items", "too_many");
        }
        for (i, item) in self.items.iter_mut().enumerate() {
            e.required(&format!("items[{i}]"), item, 500);
        }
        e.finish()
    }
}

/// The grade given to one item, with what was seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemGrading {
    /// The item's version the auditor read (0 while ungraded).
    pub version: i64,
    pub grade: AuditGrade,
    /// What was seen (evidence).
    #[serde(default)]
    pub note: String,
    /// The finding (required when not qualified).
    #[serde(default)]
    pub finding: String,
    /// The practice worth sharing (required when excellent).
    #[serde(default)]
    pub practice: String,
}

impl ItemGrading {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.optional("note", &mut self.note, 2000);
        e.optional("finding", &mut self.finding, 2000);
        e.optional("practice", &mut self.practice, 2000);
        if self.grade == AuditGrade::NotQualified && self.finding.is_empty() {
            e.add("finding", "finding_required");
        }
        if self.grade == AuditGrade::Excellent && self.practice.is_empty() {
            e.add("practice", "practice_required");
        }
        e.finish()
    }
}

/// Why an audit step is refused (422).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    #[error("the audit is reported already")]
    Reported,
    #[error("not every checklist item is graded")]
    Ungraded,
}

impl AuditError {
    pub fn code(self) -> &'static str {
        match self {
            AuditError::Reported => "audit_reported",
            AuditError::Ungraded => "ungraded_items",
        }
    }
}

/// The status after grading an item: a planned audit is in progress from its first grade.
pub fn grade_item(status: AuditStatus) -> Result<AuditStatus, AuditError> {
    match status {
        AuditStatus::Reported => Err(AuditError::Reported),
        _ => Ok(AuditStatus::InProgress),
    }
}

/// The report closes the audit once every item is graded.
pub fn report(status: AuditStatus, ungraded: usize) -> Result<AuditStatus, AuditError> {
    match (status, ungraded) {
        (AuditStatus::Reported, _) => Err(AuditError::Reported),
        (_, 0) => Ok(AuditStatus::Reported),
        _ => Err(AuditError::Ungraded),
    }
}

/// How many items got each grade, in `AuditGrade::ALL` order.
pub fn distribution(grades: &[AuditGrade]) -> Vec<(AuditGrade, usize)> {
    AuditGrade::ALL
        .iter()
        .map(|g| (*g, grades.iter().filter(|x| *x == g).count()))
        .collect()
}

/// The audit's overall grade: not qualified when any item fails; otherwise excellent when at
/// least half the items are excellent and none is merely qualified, good when at least half are
/// good or better, else qualified. `None` while nothing is graded.
pub fn overall(grades: &[AuditGrade]) -> Option<AuditGrade> {
    if grades.is_empty() {
        return None;
    }
    let count = |g: AuditGrade| grades.iter().filter(|x| **x == g).count();
    let n = grades.len();
    Some(if count(AuditGrade::NotQualified) > 0 {
        AuditGrade::NotQualified
    } else if 2 * count(AuditGrade::Excellent) >= n && count(AuditGrade::Qualified) == 0 {
        AuditGrade::Excellent
    } else if 2 * (count(AuditGrade::Good) + count(AuditGrade::Excellent)) >= n {
        AuditGrade::Good
    } else {
        AuditGrade::Qualified
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use AuditGrade::*;

    fn plan() -> PlanFields {
        serde_json::from_value(serde_json::json!({
            "title": "2026 年华东区域需求管理过程审核", "scope": "region", "province": "江苏省",
            "planned_on": "2026-12-10", "auditor_id": 3
        }))
        .unwrap()
    }

    #[test]
    fn a_plan_gets_the_default_checklist_and_needs_its_scope() {
        let mut p = plan();
        assert!(p.validate().is_ok());
        assert_eq!(p.items.len(), DEFAULT_CHECKLIST.len());
        let mut wrong = plan();
        wrong.province = "华东".into();
        wrong.planned_on = "12/10".into();
        let e = wrong.validate().unwrap_err();
        assert_eq!(e.for_field("province"), Some("province"));
        assert_eq!(e.for_field("planned_on"), Some("date"));
        let mut project = plan();
        project.scope = AuditScope::Project;
        assert_eq!(
            project.validate().unwrap_err().for_field("project_id"),
            Some("required")
        );
    }

    #[test]
    fn a_failing_item_needs_a_finding_and_an_excellent_one_its_practice() {
        let g = |grade, finding: &str, practice: &str| ItemGrading {
            version: 0,
            grade,
            note: String::new(),
            finding: finding.into(),
            practice: practice.into(),
        };
        assert_eq!(
            g(NotQualified, "", "")
                .validate()
                .unwrap_err()
                .for_field("finding"),
            Some("finding_required")
        );
        assert_eq!(
            g(Excellent, "", "")
                .validate()
                .unwrap_err()
                .for_field("practice"),
            Some("practice_required")
        );
        assert!(g(Good, "", "").validate().is_ok());
    }

    #[test]
    fn the_overall_grade_follows_the_items() {
        assert_eq!(overall(&[]), None);
        assert_eq!(
            overall(&[Excellent, Excellent, NotQualified]),
            Some(NotQualified)
        );
        assert_eq!(overall(&[Excellent, Excellent, Good]), Some(Excellent));
        assert_eq!(overall(&[Excellent, Excellent, Qualified]), Some(Good));
        assert_eq!(overall(&[Good, Qualified]), Some(Good));
        assert_eq!(overall(&[Good, Qualified, Qualified]), Some(Qualified));
        assert_eq!(
            distribution(&[Good, Good, Excellent]),
            vec![(NotQualified, 0), (Qualified, 0), (Good, 2), (Excellent, 1)]
        );
    }

    #[test]
    fn a_report_needs_every_item_and_ends_grading() {
        assert_eq!(
            grade_item(AuditStatus::Planned),
            Ok(AuditStatus::InProgress)
        );
        assert_eq!(
            report(AuditStatus::InProgress, 2),
            Err(AuditError::Ungraded)
        );
        assert_eq!(
            report(AuditStatus::InProgress, 0),
            Ok(AuditStatus::Reported)
        );
        assert_eq!(grade_item(AuditStatus::Reported), Err(AuditError::Reported));
        assert_eq!(report(AuditStatus::Reported, 0), Err(AuditError::Reported));
    }
}
