//! Satisfaction surveys (F20, F21; 002§4.5, 003§5.3, 004§3): questionnaire templates with
//! aspects and 1–5 questions (versioned: answers keep the version they were given on),
//! campaigns of invitations answered through an unguessable single-use link, and the analysis
//! maths — distributions, the share dissatisfied, response rates, rankings. No average is ever
//! reported without its distribution.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::FieldErrors;

closed_set!(
    /// Why a campaign runs (002§4.5.2, 003§5.3).
    CampaignKind {
        Annual => "annual",
        AccountManager => "account_manager",
        OnSite => "on_site",
        PostComplaint => "post_complaint",
        Quarterly => "quarterly",
    }
);

closed_set!(
    CampaignStatus { Open => "open", Closed => "closed" }
);

/// An aspect of a questionnaire (product quality, delivery, service, price, communication…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AspectDef {
    /// Short identifier, e.g. `quality`.
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// One question, scored 1–5 with an optional comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionDef {
    /// Stable within a template: answers refer to it.
    pub code: String,
    pub aspect: String,
    pub text_zh: String,
    pub text_en: String,
}

/// A questionnaire as one version defines it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Questionnaire {
    pub aspects: Vec<AspectDef>,
    pub questions: Vec<QuestionDef>,
}

fn code_ok(c: &str) -> bool {
    !c.is_empty()
        && c.len() <= 40
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Questionnaire {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        if self.aspects.is_empty() {
            e.add("aspects", "required");
        }
        if self.questions.is_empty() {
            e.add("questions", "required");
        }
        if self.questions.len() > 100 || self.aspects.len() > 20 {
            e.add("questions", "too_many");
        }
        let mut seen = std::collections::HashSet::new();
        for (i, a) in self.aspects.iter_mut().enumerate() {
            if !code_ok(&a.code) || !seen.insert(a.code.clone()) {
                e.add(format!("aspects[{i}].code"), "code");
            }
            e.required(&format!("aspects[{i}].name_zh"), &mut a.name_zh, 50);
            e.required(&format!("aspects[{i}].name_en"), &mut a.name_en, 50);
        }
        let mut codes = std::collections::HashSet::new();
        for (i, q) in self.questions.iter_mut().enumerate() {
            if !code_ok(&q.code) || !codes.insert(q.code.clone()) {
                e.add(format!("questions[{i}].code"), "code");
            }
            if !self.aspects.iter().any(|a| a.code == q.aspect) {
                e.add(format!("questions[{i}].aspect"), "unknown_aspect");
            }
            e.required(&format!("questions[{i}].text_zh"), &mut q.text_zh, 300);
            e.required(&format!("questions[{i}].text_en"), &mut q.text_en, 300);
        }
        e.finish()
    }
}

/// A questionnaire template as created or edited; `version` is the template version the
/// editor read (updates only: a stale one is refused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateFields {
    pub name: String,
    pub questionnaire: Questionnaire,
    #[serde(default)]
    pub version: i64,
}

impl TemplateFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("name", &mut self.name, 100);
        if let Err(q) = self.questionnaire.validate() {
            e.0.extend(q.0);
        }
        e.finish()
    }
}

/// The score given to one question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Score {
    pub question: String,
    /// 1 (very dissatisfied) … 5 (very satisfied).
    pub score: i64,
    #[serde(default)]
    pub comment: String,
}

/// A filled-in questionnaire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Response {
    pub scores: Vec<Score>,
    /// Opinions and suggestions beyond the questions.
    #[serde(default)]
    pub comment: String,
}

impl Response {
    /// Every question of the questionnaire scored once, 1–5.
    pub fn validate(&mut self, q: &Questionnaire) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.optional("comment", &mut self.comment, 2000);
        for question in &q.questions {
            let given: Vec<_> = self
                .scores
                .iter()
                .filter(|s| s.question == question.code)
                .collect();
            if given.len() != 1 {
                e.add(format!("scores.{}", question.code), "required");
            }
        }
        for (i, s) in self.scores.iter_mut().enumerate() {
            if !q.questions.iter().any(|x| x.code == s.question) {
                e.add(format!("scores[{i}].question"), "unknown_question");
            }
            if !(1..=5).contains(&s.score) {
                e.add(format!("scores[{i}].score"), "score_range");
            }
            e.optional(&format!("scores[{i}].comment"), &mut s.comment, 1000);
        }
        e.finish()
    }
}

/// How many answers gave each score: `[n(1), n(2), n(3), n(4), n(5)]`.
pub type Histogram = [i64; 5];

pub fn histogram(scores: &[i64]) -> Histogram {
    let mut h = [0; 5];
    for s in scores {
        if (1..=5).contains(s) {
            h[(*s - 1) as usize] += 1;
        }
    }
    h
}

/// The number of answers.
pub fn count(h: &Histogram) -> i64 {
    h.iter().sum()
}

/// The mean score, `None` without answers (always shown beside its histogram).
pub fn mean(h: &Histogram) -> Option<f64> {
    let n = count(h);
    (n > 0).then(|| {
        h.iter()
            .enumerate()
            .map(|(i, c)| (i as i64 + 1) * c)
            .sum::<i64>() as f64
            / n as f64
    })
}

/// The share of answers that are dissatisfied (score ≤ 2), `None` without answers.
pub fn dissatisfied(h: &Histogram) -> Option<f64> {
    let n = count(h);
    (n > 0).then(|| (h[0] + h[1]) as f64 / n as f64)
}

/// Answered invitations over sent ones, `None` when none were sent.
pub fn response_rate(invited: i64, answered: i64) -> Option<f64> {
    (invited > 0).then(|| answered as f64 / invited as f64)
}

/// Aspects from strongest to weakest: by mean, then the smaller dissatisfied share, then name.
pub fn rank(aspects: &[(String, Histogram)]) -> Vec<&(String, Histogram)> {
    let mut v: Vec<_> = aspects.iter().filter(|(_, h)| count(h) > 0).collect();
    v.sort_by(|(a, ha), (b, hb)| {
        let ma = mean(ha).unwrap_or(0.0);
        let mb = mean(hb).unwrap_or(0.0);
        mb.total_cmp(&ma)
            .then(
                dissatisfied(ha)
                    .unwrap_or(0.0)
                    .total_cmp(&dissatisfied(hb).unwrap_or(0.0)),
            )
            .then(a.cmp(b))
    });
    v
}

/// Aspects with their histograms, in ranking order.
pub type Ranked<'a> = Vec<&'a (String, Histogram)>;

/// The strongest and the weakest aspects of one category: up to `k` from each end of the
/// ranking, never the same aspect twice (002§4.5.3: where customers are satisfied and where not).
pub fn strengths_weaknesses(aspects: &[(String, Histogram)], k: usize) -> (Ranked<'_>, Ranked<'_>) {
    let ranked = rank(aspects);
    let k = k.min(ranked.len() / 2).max(usize::from(ranked.len() == 1));
    let strengths = ranked[..k].to_vec();
    let weaknesses = ranked[ranked.len() - k.min(ranked.len() - strengths.len())..]
        .iter()
        .rev()
        .copied()
        .collect();
    (strengths, weaknesses)
}

fn month_aligned(from: NaiveDate, to: NaiveDate) -> bool {
    from.day() == 1 && to.succ_opt().is_some_and(|d| d.day() == 1)
}

/// The period of equal length just before `from..=to`: whole months when the period is made of
/// whole months (a half-year's predecessor is the half-year before), otherwise days.
pub fn previous_period(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let end = from.pred_opt().unwrap_or(from);
    if month_aligned(from, to) {
        let months = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32 + 1;
        let start = from
            .checked_sub_months(chrono::Months::new(months as u32))
            .unwrap_or(from);
        (start, end)
    } else {
        let days = (to - from).num_days();
        (end - chrono::Duration::days(days), end)
    }
}

/// The first and last day of a half-year (`half` 1 or 2).
pub fn half_year(year: i32, half: u32) -> Option<(NaiveDate, NaiveDate)> {
    match half {
        1 => Some((
            NaiveDate::from_ymd_opt(year, 1, 1)?,
            NaiveDate::from_ymd_opt(year, 6, 30)?,
        )),
        2 => Some((
            NaiveDate::from_ymd_opt(year, 7, 1)?,
            NaiveDate::from_ymd_opt(year, 12, 31)?,
        )),
        _ => None,
    }
}

/// The default questionnaire (product quality, delivery, service, price, communication).
pub fn default_questionnaire() -> Questionnaire {
    let a = |code: &str, zh: &str, en: &str| AspectDef {
        code: code.into(),
        name_zh: zh.into(),
        name_en: en.into(),
    };
    let q = |code: &str, aspect: &str, zh: &str, en: &str| QuestionDef {
        code: code.into(),
        aspect: aspect.into(),
        text_zh: zh.into(),
        text_en: en.into(),
    };
    Questionnaire {
        aspects: vec![
            a("quality", "产品质量", "Product quality"),
            a("delivery", "交付", "Delivery"),
            a("service", "服务", "Service"),
            a("price", "价格", "Price"),
            a("communication", "沟通", "Communication"),
        ],
        questions: vec![
            q(
                "q_quality",
                "quality",
                "您对我司产品质量的满意程度",
                "How satisfied are you with the quality of our products?",
            ),
            q(
                "q_stability",
                "quality",
                "产品质量的稳定性",
                "How stable is the quality?",
            ),
            q(
                "q_delivery",
                "delivery",
                "交期的准时性",
                "How punctual are our deliveries?",
            ),
            q(
                "q_quantity",
                "delivery",
                "交货数量与包装的符合性",
                "Do quantities and packaging match the order?",
            ),
            q(
                "q_service",
                "service",
                "售后服务的响应速度与效果",
                "How quick and effective is our after-sales service?",
            ),
            q(
                "q_price",
                "price",
                "价格的合理性",
                "How reasonable are our prices?",
            ),
            q(
                "q_communication",
                "communication",
                "业务人员沟通的及时性与专业性",
                "How timely and professional is our communication?",
            ),
        ],
    }
}

/// A new campaign: which customers it covers follows from its kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignFields {
    pub kind: CampaignKind,
    pub title: String,
    /// `YYYY-MM-DD`: the period the answers describe.
    pub period_start: String,
    pub period_end: String,
    /// Account-manager campaigns: whose customers.
    #[serde(default)]
    pub account_manager_id: Option<i64>,
    /// On-site and post-complaint campaigns: the customers.
    #[serde(default)]
    pub customer_ids: Vec<i64>,
    /// The questionnaire template (its current version); the default one when absent.
    #[serde(default)]
    pub template_id: Option<i64>,
}

impl CampaignFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("title", &mut self.title, 200);
        let date = |s: &str| chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
        match (date(&self.period_start), date(&self.period_end)) {
            (Some(a), Some(b)) if a <= b => {}
            (Some(_), Some(_)) => e.add("period_end", "before_start"),
            (a, b) => {
                if a.is_none() {
                    e.add("period_start", "date");
                }
                if b.is_none() {
                    e.add("period_end", "date");
                }
            }
        }
        match self.kind {
            CampaignKind::AccountManager if self.account_manager_id.is_none() => {
                e.add("account_manager_id", "required")
            }
            CampaignKind::OnSite | CampaignKind::PostComplaint if self.customer_ids.is_empty() => {
                e.add("customer_ids", "required")
            }
            _ => {}
        }
        self.customer_ids.sort_unstable();
        self.customer_ids.dedup();
        if self.customer_ids.len() > 10_000 {
            e.add("customer_ids", "too_many");
        }
        e.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_questionnaire_is_valid() {
        let mut q = default_questionnaire();
        assert!(q.validate().is_ok());
        let mut bad = q.clone();
        bad.questions[0].aspect = "nothing".into();
        bad.questions[1].code = bad.questions[0].code.clone();
        let e = bad.validate().unwrap_err();
        assert_eq!(e.for_field("questions[0].aspect"), Some("unknown_aspect"));
        assert_eq!(e.for_field("questions[1].code"), Some("code"));
    }

    #[test]
    fn a_response_scores_every_question_once_from_1_to_5() {
        let q = default_questionnaire();
        let all = |score| Response {
            scores: q
                .questions
                .iter()
                .map(|x| Score {
                    question: x.code.clone(),
                    score,
                    comment: String::new(),
                })
                .collect(),
            comment: String::new(),
        };
        assert!(all(4).validate(&q).is_ok());
        assert_eq!(
            all(6)
                .validate(&q)
                .unwrap_err()
                .for_field("scores[0].score"),
            Some("score_range")
        );
        let mut missing = all(3);
        missing.scores.pop();
        assert_eq!(
            missing
                .validate(&q)
                .unwrap_err()
                .for_field("scores.q_communication"),
            Some("required")
        );
    }

    #[test]
    fn the_maths_match_a_hand_computed_fixture() {
        // Scores 1, 2, 2, 4, 5, 5, 5, 3 → histogram [1, 2, 1, 1, 3], n = 8, sum = 27.
        let h = histogram(&[1, 2, 2, 4, 5, 5, 5, 3, 0, 9]);
        assert_eq!(h, [1, 2, 1, 1, 3]);
        assert_eq!(count(&h), 8);
        assert_eq!(mean(&h), Some(27.0 / 8.0));
        assert_eq!(dissatisfied(&h), Some(3.0 / 8.0));
        assert_eq!(mean(&[0; 5]), None);
        assert_eq!(response_rate(40, 10), Some(0.25));
        assert_eq!(response_rate(0, 0), None);
    }

    #[test]
    fn aspects_rank_from_strongest_to_weakest() {
        let v = vec![
            ("price".to_string(), [2, 3, 3, 1, 1]),
            ("quality".to_string(), [0, 0, 1, 4, 5]),
            ("delivery".to_string(), [0, 0, 1, 4, 5]),
            ("empty".to_string(), [0; 5]),
        ];
        let order: Vec<&str> = rank(&v).iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(order, vec!["delivery", "quality", "price"]);
    }

    #[test]
    fn strengths_and_weaknesses_come_from_both_ends_of_the_ranking() {
        let v = vec![
            ("price".to_string(), [2, 3, 3, 1, 1]),
            ("quality".to_string(), [0, 0, 1, 4, 5]),
            ("delivery".to_string(), [0, 1, 1, 4, 4]),
            ("service".to_string(), [1, 1, 2, 3, 3]),
            ("communication".to_string(), [0, 0, 2, 4, 4]),
        ];
        let names =
            |v: Vec<&(String, Histogram)>| v.iter().map(|(a, _)| a.clone()).collect::<Vec<_>>();
        let (s, w) = strengths_weaknesses(&v, 2);
        assert_eq!(names(s), vec!["quality", "communication"]);
        assert_eq!(names(w), vec!["price", "service"], "weakest first");
        let three = &v[..3];
        let (s, w) = strengths_weaknesses(three, 2);
        assert_eq!(
            (names(s), names(w)),
            (vec!["quality".to_string()], vec!["price".to_string()])
        );
        let (s, w) = strengths_weaknesses(&v[..1], 2);
        assert_eq!(
            (s.len(), w.len()),
            (1, 0),
            "one aspect is a strength, not also a weakness"
        );
        assert_eq!(strengths_weaknesses(&[], 2).0.len(), 0);
    }

    #[test]
    fn the_previous_period_has_the_same_length() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let (a, b) = half_year(2026, 2).unwrap();
        assert_eq!((a, b), (d("2026-07-01"), d("2026-12-31")));
        assert_eq!(previous_period(a, b), (d("2026-01-01"), d("2026-06-30")));
        assert_eq!(
            previous_period(d("2026-01-01"), d("2026-06-30")),
            (d("2025-07-01"), d("2025-12-31"))
        );
        assert_eq!(
            previous_period(d("2026-03-01"), d("2026-03-31")),
            (d("2026-02-01"), d("2026-02-28"))
        );
        // Not whole months: the same number of days just before.
        assert_eq!(
            previous_period(d("2026-03-10"), d("2026-03-19")),
            (d("2026-02-28"), d("2026-03-09"))
        );
        assert_eq!(half_year(2026, 3), None);
    }

    #[test]
    fn campaigns_name_whom_they_cover() {
        let mut c = CampaignFields {
            kind: CampaignKind::AccountManager,
            title: "2026 年度客户主管调查".into(),
            period_start: "2026-01-01".into(),
            period_end: "2025-12-31".into(),
            account_manager_id: None,
            customer_ids: vec![],
            template_id: None,
        };
        let e = c.validate().unwrap_err();
        assert_eq!(e.for_field("period_end"), Some("before_start"));
        assert_eq!(e.for_field("account_manager_id"), Some("required"));
    }
}
