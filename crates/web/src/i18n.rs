//! Every string twice: zh-CN (default) and en catalogues with one key set (`i18n/*.txt`,
//! `key = value` per line). A test fails when a key is missing from either.

use std::collections::HashMap;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn from_cookie(v: Option<&str>) -> Lang {
        match v {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

fn parse(text: &'static str) -> HashMap<&'static str, &'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

static ZH: LazyLock<HashMap<&'static str, &'static str>> =
    LazyLock::new(|| parse(include_str!("../i18n/zh-CN.txt")));
static EN: LazyLock<HashMap<&'static str, &'static str>> =
    LazyLock::new(|| parse(include_str!("../i18n/en.txt")));

/// A translator for one language; templates call `t.t("key")`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn zh() -> Tr {
        Tr { lang: Lang::Zh }
    }

    pub fn en() -> Tr {
        Tr { lang: Lang::En }
    }

    /// The text for `key`; the key itself when missing (the catalogue test prevents that).
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        let map = match self.lang {
            Lang::Zh => &*ZH,
            Lang::En => &*EN,
        };
        map.get(key).copied().unwrap_or(key)
    }

    /// The label of a closed-set value: `t("<set>.<value>")`.
    pub fn label(&self, set: &str, value: &str) -> String {
        self.t(&format!("{set}.{value}")).to_string()
    }

    pub fn is_en(&self) -> bool {
        self.lang == Lang::En
    }
}

/// A key's zh-CN and English text (empty when missing): what people may type for it in an
/// imported file (F29).
pub fn labels(key: &str) -> [&'static str; 2] {
    [
        ZH.get(key).copied().unwrap_or(""),
        EN.get(key).copied().unwrap_or(""),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_the_same_keys() {
        let mut zh: Vec<_> = ZH.keys().collect();
        let mut en: Vec<_> = EN.keys().collect();
        zh.sort();
        en.sort();
        let only_zh: Vec<_> = zh.iter().filter(|k| !EN.contains_key(**k)).collect();
        let only_en: Vec<_> = en.iter().filter(|k| !ZH.contains_key(**k)).collect();
        assert!(
            only_zh.is_empty() && only_en.is_empty(),
            "missing in en: {only_zh:?}; missing in zh: {only_en:?}"
        );
        assert!(zh.len() > 100);
    }

    #[test]
    fn every_key_used_in_code_and_templates_exists() {
        let sources = [
            include_str!("pages/mod.rs"),
            include_str!("pages/customers.rs"),
            include_str!("pages/requirements.rs"),
            include_str!("pages/workflow.rs"),
            include_str!("pages/contracts.rs"),
            include_str!("pages/changes.rs"),
            include_str!("pages/orders.rs"),
            include_str!("pages/process_audits.rs"),
            include_str!("pages/complaints.rs"),
            include_str!("pages/property.rs"),
            include_str!("pages/survey_public.rs"),
            include_str!("pages/surveys.rs"),
            include_str!("pages/survey_templates.rs"),
            include_str!("pages/survey_reports.rs"),
            include_str!("pages/warnings.rs"),
            include_str!("pages/kpis.rs"),
            include_str!("pages/grading.rs"),
            include_str!("pages/segments.rs"),
            include_str!("pages/contacts.rs"),
            include_str!("../templates/contacts.html"),
            include_str!("../templates/symposia.html"),
            include_str!("../templates/symposium.html"),
            include_str!("../templates/segments.html"),
            include_str!("../templates/grading.html"),
            include_str!("../templates/grading_run.html"),
            include_str!("../templates/kpis.html"),
            include_str!("../templates/kpi_weekly.html"),
            include_str!("../templates/kpi_monthly.html"),
            include_str!("pages/reports.rs"),
            include_str!("pages/calendar.rs"),
            include_str!("../templates/calendar.html"),
            include_str!("../templates/warnings.html"),
            include_str!("../templates/warning.html"),
            include_str!("../templates/warning_rules.html"),
            include_str!("../templates/reports.html"),
            include_str!("../templates/report_business.html"),
            include_str!("../templates/report_customers.html"),
            include_str!("../templates/report_requirements.html"),
            include_str!("../templates/survey_templates.html"),
            include_str!("../templates/survey_template.html"),
            include_str!("../templates/survey_coverage.html"),
            include_str!("../templates/survey_report.html"),
            include_str!("../templates/survey_actions.html"),
            include_str!("../templates/survey_action.html"),
            include_str!("../templates/surveys.html"),
            include_str!("../templates/survey_campaign.html"),
            include_str!("../templates/survey_analysis.html"),
            include_str!("../templates/survey_public.html"),
            include_str!("../templates/property_list.html"),
            include_str!("../templates/property.html"),
            include_str!("pages/portal.rs"),
            include_str!("../templates/complaints.html"),
            include_str!("../templates/complaint.html"),
            include_str!("../templates/complaint_print.html"),
            include_str!("../templates/portal.html"),
            include_str!("../templates/portal_complaint.html"),
            include_str!("../templates/portal_missing.html"),
            include_str!("../templates/process_audits.html"),
            include_str!("../templates/process_audit.html"),
            include_str!("../templates/practices.html"),
            include_str!("../templates/orders.html"),
            include_str!("../templates/order.html"),
            include_str!("../templates/changes.html"),
            include_str!("../templates/change.html"),
            include_str!("../templates/change_form.html"),
            include_str!("../templates/revisions.html"),
            include_str!("../templates/contracts.html"),
            include_str!("../templates/contract.html"),
            include_str!("../templates/cbc_pending.html"),
            include_str!("../templates/handoff_rows.html"),
            include_str!("../templates/handoffs.html"),
            include_str!("../templates/my_work.html"),
            include_str!("../templates/reviews.html"),
            include_str!("../templates/review.html"),
            include_str!("../templates/standard.html"),
            include_str!("../templates/identification.html"),
            include_str!("../templates/requirements.html"),
            include_str!("../templates/requirement.html"),
            include_str!("../templates/requirement_form.html"),
            include_str!("../templates/projects.html"),
            include_str!("../templates/ledger.html"),
            include_str!("../templates/register.html"),
            include_str!("error.rs"),
            include_str!("../templates/base.html"),
            include_str!("../templates/login.html"),
            include_str!("../templates/customers.html"),
            include_str!("../templates/customer.html"),
            include_str!("../templates/customer_form.html"),
            include_str!("../templates/audit.html"),
            include_str!("../templates/error.html"),
        ];
        let mut missing = Vec::new();
        for src in sources {
            for part in src.split(".t(\"").skip(1) {
                let key = part.split('"').next().unwrap_or("");
                if !key.ends_with('.') && !ZH.contains_key(key) {
                    missing.push(key.to_string());
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keys missing from the catalogues: {missing:?}"
        );
    }

    #[test]
    fn every_closed_set_value_has_a_label() {
        use reqloop_domain::customer::*;
        use reqloop_domain::user::*;
        let mut keys = Vec::new();
        keys.extend(Grade::ALL.iter().map(|v| format!("grade.{v}")));
        keys.extend(Tier::ALL.iter().map(|v| format!("tier.{v}")));
        keys.extend(CompanySize::ALL.iter().map(|v| format!("size.{v}")));
        keys.extend(BusinessStatus::ALL.iter().map(|v| format!("status.{v}")));
        keys.extend(CreditRating::ALL.iter().map(|v| format!("credit.{v}")));
        keys.extend(RiskFlag::ALL.iter().map(|v| format!("risk.{v}")));
        keys.extend(Role::ALL.iter().map(|v| format!("role.{v}")));
        keys.extend(DataScope::ALL.iter().map(|v| format!("scope.{v}")));
        use reqloop_domain::requirement::{
            Category as C, Channel, Kind, Nature, Stage, SubCategory, Urgency,
        };
        keys.extend(Stage::ALL.iter().map(|v| format!("stage.{v}")));
        keys.extend(
            Stage::ALL
                .iter()
                .filter_map(|v| v.required_output())
                .map(|o| format!("output.{o}")),
        );
        keys.extend(Urgency::ALL.iter().map(|v| format!("urgency.{v}")));
        keys.extend(Channel::ALL.iter().map(|v| format!("channel.{v}")));
        keys.extend(C::ALL.iter().map(|v| format!("category.{v}")));
        keys.extend(SubCategory::ALL.iter().map(|v| format!("subcat.{v}")));
        keys.extend(Nature::ALL.iter().map(|v| format!("nature.{v}")));
        keys.extend(Kind::ALL.iter().map(|v| format!("kind.{v}")));
        use reqloop_domain::handoff::{HandoffError, HandoffStatus};
        use reqloop_domain::requirement::Feasibility;
        use reqloop_domain::review::{Answer, Aspect, Conclusion, ReviewError, RoundStatus};
        use reqloop_domain::standard::DeadlineUnit;
        keys.extend(Feasibility::ALL.iter().map(|v| format!("feas.{v}")));
        keys.extend((1..=5).map(|v| format!("value.{v}")));
        keys.extend(HandoffStatus::ALL.iter().map(|v| format!("handoff.{v}")));
        keys.extend(Aspect::ALL.iter().map(|v| format!("aspect.{v}")));
        keys.extend(Answer::ALL.iter().map(|v| format!("answer.{v}")));
        keys.extend(Conclusion::ALL.iter().map(|v| format!("conclusion.{v}")));
        keys.extend(RoundStatus::ALL.iter().map(|v| format!("round.{v}")));
        keys.extend(DeadlineUnit::ALL.iter().map(|v| format!("unit.{v}")));
        use reqloop_domain::process_audit::{AuditError, AuditGrade, AuditScope, AuditStatus};
        keys.extend(AuditGrade::ALL.iter().map(|v| format!("agrade.{v}")));
        keys.extend(AuditScope::ALL.iter().map(|v| format!("ascope.{v}")));
        keys.extend(AuditStatus::ALL.iter().map(|v| format!("paudit.{v}")));
        for e in [AuditError::Reported, AuditError::Ungraded] {
            keys.push(format!("rule.{}", e.code()));
        }
        use reqloop_domain::survey::{CampaignKind, CampaignStatus};
        keys.extend(CampaignKind::ALL.iter().map(|v| format!("campaign.{v}")));
        keys.extend(CampaignStatus::ALL.iter().map(|v| format!("cstatus.{v}")));
        use reqloop_domain::rectification::{ActionState, ActionStep};
        keys.extend(ActionState::ALL.iter().map(|v| format!("action.{v}")));
        keys.extend(ActionStep::ALL.iter().map(|v| format!("action_step.{v}")));
        keys.extend(ActionStep::ALL.iter().map(|v| format!("action_note.{v}")));
        keys.extend(["rule.unchanged", "rule.action_state"].map(String::from));
        use reqloop_domain::sla::SlaUnit;
        use reqloop_domain::warning::{Level, Metric, Subject, WarningState, WarningStep};
        keys.extend(Level::ALL.iter().map(|v| format!("level.{v}")));
        keys.extend(WarningState::ALL.iter().map(|v| format!("wstate.{v}")));
        keys.extend(Subject::ALL.iter().map(|v| format!("wsubject.{v}")));
        keys.extend(WarningStep::ALL.iter().map(|v| format!("wstep.{v}")));
        keys.extend(WarningStep::ALL.iter().map(|v| format!("wnote.{v}")));
        for prefix in ["metric", "metric_unit", "metric_def"] {
            keys.extend(Metric::ALL.iter().map(|v| format!("{prefix}.{v}")));
        }
        keys.extend(SlaUnit::ALL.iter().map(|v| format!("sla_unit.{v}")));
        use reqloop_domain::kpi::Dimension;
        keys.extend(Dimension::ALL.iter().map(|v| format!("kpi.by.{v}")));
        keys.extend(
            ["received", "timeliness", "completion", "satisfied"].map(|k| format!("kpi.sort.{k}")),
        );
        keys.extend(["overdue", "due_this_week", "waiting"].map(|k| format!("kpi.check.{k}")));
        keys.push("err.period".into());
        use reqloop_domain::grading::{RunKind, RunState};
        keys.extend(RunKind::ALL.iter().map(|v| format!("grading.kind.{v}")));
        keys.extend(RunState::ALL.iter().map(|v| format!("grading.state.{v}")));
        keys.extend(
            [
                "a_last",
                "b_last",
                "long_term_tag",
                "government_tag",
                "influence_tag",
            ]
            .map(|k| format!("grading.rule.{k}")),
        );
        keys.extend(["run_decided", "own_run", "draft_open"].map(|k| format!("rule.{k}")));
        use reqloop_domain::segment::{MacroRegion, Segment};
        keys.extend(Segment::ALL.iter().map(|v| format!("segment.{v}")));
        keys.extend(Segment::ALL.iter().map(|v| format!("segment_def.{v}")));
        keys.extend(MacroRegion::ALL.iter().map(|v| format!("region.{v}")));
        use reqloop_domain::contact::{SymposiumState, TaskKind, VisitMethod};
        keys.extend(TaskKind::ALL.iter().map(|v| format!("ctask.{v}")));
        keys.extend(VisitMethod::ALL.iter().map(|v| format!("vmethod.{v}")));
        keys.extend(
            SymposiumState::ALL
                .iter()
                .map(|v| format!("symposium.state.{v}")),
        );
        keys.extend(
            [
                "strategic",
                "key",
                "general",
                "potential",
                "return_visit_days",
            ]
            .map(|k| format!("contact.rule.{k}")),
        );
        keys.extend(["rule.task_closed", "err.other_customer", "err.future"].map(String::from));
        keys.extend(
            [
                "urgent",
                "important",
                "general",
                "complaint_confirm",
                "complaint_fix",
            ]
            .map(|k| format!("sla.{k}")),
        );
        keys.extend(
            ["warning_state", "already_waiting", "not_waiting"].map(|k| format!("rule.{k}")),
        );
        keys.extend(
            [
                "threshold_order",
                "min",
                "too_large",
                "fixed",
                "working_days",
            ]
            .map(|k| format!("err.{k}")),
        );
        keys.extend(["new", "lost", "upgraded", "downgraded"].map(|k| format!("report.move.{k}")));
        use reqloop_domain::property::{IncidentKind, PropertyError, PropertyKind, PropertyState};
        keys.extend(PropertyState::ALL.iter().map(|v| format!("pstate.{v}")));
        keys.extend(PropertyKind::ALL.iter().map(|v| format!("pkind.{v}")));
        keys.extend(IncidentKind::ALL.iter().map(|v| format!("incident.{v}")));
        for e in [
            PropertyError::WrongState,
            PropertyError::IncidentUnreported,
            PropertyError::Returned,
        ] {
            keys.push(format!("rule.{}", e.code()));
        }
        use reqloop_domain::complaint::{
            Capa, ComplaintChannel, ComplaintError, ComplaintKind, ComplaintState, Severity,
        };
        keys.extend(ComplaintState::ALL.iter().map(|v| format!("kstate.{v}")));
        keys.extend(ComplaintKind::ALL.iter().map(|v| format!("kkind.{v}")));
        keys.extend(
            ComplaintChannel::ALL
                .iter()
                .map(|v| format!("kchannel.{v}")),
        );
        keys.extend(Severity::ALL.iter().map(|v| format!("severity.{v}")));
        keys.extend(
            Capa::default()
                .fields_mut()
                .iter()
                .map(|(f, _)| format!("d8.{f}")),
        );
        for e in [
            ComplaintError::NotConfirmed,
            ComplaintError::Decided,
            ComplaintError::WrongState,
            ComplaintError::NotVerified,
            ComplaintError::Praise,
            ComplaintError::Closed,
            ComplaintError::NoVerifier,
            ComplaintError::NotVerifier,
            ComplaintError::CapaIncomplete,
        ] {
            keys.push(format!("rule.{}", e.code()));
        }
        keys.push("rule.recused".into());
        use reqloop_domain::change::{ChangeError, ChangeOrigin, ChangeState, Factor};
        keys.extend(ChangeState::ALL.iter().map(|v| format!("change.{v}")));
        keys.extend(ChangeOrigin::ALL.iter().map(|v| format!("origin.{v}")));
        keys.extend(Factor::ALL.iter().map(|v| format!("factor.{v}")));
        for e in [
            ChangeError::NotRedetermined,
            ChangeError::NotRereviewed,
            ChangeError::NotApproved,
            ChangeError::NotNotified,
            ChangeError::AlreadyConfirmed,
            ChangeError::NotImplemented,
            ChangeError::NotVerified,
            ChangeError::Decided,
            ChangeError::ReviewOpen,
        ] {
            keys.push(format!("rule.{}", e.code()));
        }
        keys.push(format!("err.{}", ChangeError::ForeignItem.code()));
        // Every refusal the API can answer 422 with has a message.
        for e in [
            HandoffError::NotReceiver,
            HandoffError::AlreadyAcknowledged,
            HandoffError::NotAcknowledged,
            HandoffError::Finished,
        ] {
            keys.push(format!("rule.{}", e.code()));
        }
        for e in [
            ReviewError::AlreadyAnswered,
            ReviewError::AspectNotReviewed,
            ReviewError::WrongDepartment,
            ReviewError::RoundClosed,
            ReviewError::Incomplete,
            ReviewError::QualityReviewRequired,
            ReviewError::NotMet,
            ReviewError::NotInReview,
            ReviewError::NoItems,
            ReviewError::RoundOpen,
        ] {
            keys.push(format!("rule.{}", e.code()));
        }
        keys.extend(["rule.items_locked".into(), "rule.item_reviewed".into()]);
        use reqloop_domain::contract::{CbcError, ContractKind, PermitStatus, Response};
        keys.extend(
            ContractKind::ALL
                .iter()
                .map(|v| format!("kind_contract.{v}")),
        );
        keys.extend(Response::ALL.iter().map(|v| format!("cbc.{v}")));
        keys.extend(PermitStatus::ALL.iter().map(|v| format!("permit.{v}")));
        use reqloop_domain::delivery::CheckItem;
        keys.extend(CheckItem::ALL.iter().map(|v| format!("check.{v}")));
        keys.extend(
            [
                "rule.delivery_blocked",
                "rule.decided_by_data",
                "rule.delivered",
            ]
            .map(String::from),
        );
        for e in [
            CbcError::SupersededVersion,
            CbcError::NotADeviation,
            CbcError::PermitExists,
            CbcError::PermitDecided,
        ] {
            keys.push(format!("rule.{}", e.code()));
        }
        for k in keys {
            assert!(
                ZH.contains_key(k.as_str()) && EN.contains_key(k.as_str()),
                "{k}"
            );
        }
    }
}
