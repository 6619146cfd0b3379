//! Complaints and positive feedback (F17, F18; 002§4.3.3, 002§7.1, 001§2, 004§2.3): registered →
//! confirmed with the customer within 4 hours → judged invalid (with objective evidence and the
//! explanation sent; then closed) or valid → minor: a correction with evidence; serious: a CAPA
//! report in 8D form → verified by quality → a written reply → closed. People tied to a case are
//! recused from investigating and verifying it (001§2(3) 回避制度).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::FieldErrors;
use crate::ids::UserId;

closed_set!(
    /// A complaint (抱怨·投诉·质量异议) or a positive feedback (表扬).
    ComplaintKind { Complaint => "complaint", Praise => "praise" }
);

closed_set!(
    /// How it reached us (002§4.3.3.1: any time, place and form).
    ComplaintChannel {
        Phone => "phone",
        Email => "email",
        Fax => "fax",
        Visit => "visit",
        Letter => "letter",
        Wechat => "wechat",
        Portal => "portal",
        Other => "other",
    }
);

closed_set!(
    /// Where a complaint stands (SPEC "complaint states").
    ComplaintState {
        Registered => "registered",
        Confirmed => "confirmed",
        Invalid => "invalid",
        Correcting => "correcting",
        Capa => "capa",
        Verifying => "verifying",
        Replying => "replying",
        Closed => "closed",
    }
);

closed_set!(
    /// 轻微抱怨 / 严重抱怨.
    Severity { Minor => "minor", Serious => "serious" }
);

closed_set!(
    /// What can happen to a complaint.
    ComplaintStep {
        Confirm => "confirm",
        Invalid => "invalid",
        ValidMinor => "valid_minor",
        ValidSerious => "valid_serious",
        Correct => "correct",
        SubmitCapa => "submit_capa",
        VerifyPass => "verify_pass",
        VerifyFail => "verify_fail",
        Reply => "reply",
        Close => "close",
    }
);

closed_set!(
    /// Who works on a case: the investigator (correction or CAPA) and the verifier (quality).
    CaseRole { Investigator => "investigator", Verifier => "verifier" }
);

/// Why a complaint step is refused (422).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ComplaintError {
    #[error("the complaint must be confirmed with the customer first")]
    NotConfirmed,
    #[error("the validity is decided already")]
    Decided,
    #[error("this step does not belong to the complaint's current state")]
    WrongState,
    #[error("the effect must be verified by quality before the reply")]
    NotVerified,
    #[error("a positive feedback has no correction")]
    Praise,
    #[error("the complaint is closed")]
    Closed,
    #[error("no verifier is assigned")]
    NoVerifier,
    #[error("only the assigned verifier verifies")]
    NotVerifier,
    #[error("the CAPA report is incomplete (D1–D8 or the customer's template)")]
    CapaIncomplete,
}

impl ComplaintError {
    pub fn code(self) -> &'static str {
        match self {
            ComplaintError::NotConfirmed => "not_confirmed",
            ComplaintError::Decided => "validity_decided",
            ComplaintError::WrongState => "wrong_state",
            ComplaintError::NotVerified => "not_verified",
            ComplaintError::Praise => "praise_no_correction",
            ComplaintError::Closed => "complaint_closed",
            ComplaintError::NoVerifier => "no_verifier",
            ComplaintError::NotVerifier => "not_verifier",
            ComplaintError::CapaIncomplete => "capa_incomplete",
        }
    }
}

/// The state a step leads to (002§7.1), or why it may not happen. A failed verification sends
/// the case back to its correction or CAPA; a positive feedback is confirmed and closed.
pub fn next(
    kind: ComplaintKind,
    from: ComplaintState,
    step: ComplaintStep,
) -> Result<ComplaintState, ComplaintError> {
    use ComplaintState as S;
    use ComplaintStep as T;
    if from == S::Closed {
        return Err(ComplaintError::Closed);
    }
    if kind == ComplaintKind::Praise {
        return match (step, from) {
            (T::Confirm, S::Registered) => Ok(S::Confirmed),
            (T::Close, S::Confirmed) => Ok(S::Closed),
            (T::Close, _) => Err(ComplaintError::NotConfirmed),
            _ => Err(ComplaintError::Praise),
        };
    }
    match (step, from) {
        (T::Confirm, S::Registered) => Ok(S::Confirmed),
        (T::Invalid, S::Confirmed) => Ok(S::Invalid),
        (T::ValidMinor, S::Confirmed) => Ok(S::Correcting),
        (T::ValidSerious, S::Confirmed) => Ok(S::Capa),
        (T::Invalid | T::ValidMinor | T::ValidSerious, S::Registered) => {
            Err(ComplaintError::NotConfirmed)
        }
        (T::Invalid | T::ValidMinor | T::ValidSerious, _) => Err(ComplaintError::Decided),
        (T::Correct, S::Correcting) => Ok(S::Verifying),
        (T::SubmitCapa, S::Capa) => Ok(S::Verifying),
        (T::VerifyPass, S::Verifying) => Ok(S::Replying),
        (T::Reply, S::Replying) => Ok(S::Closed),
        (T::Reply | T::Close, S::Correcting | S::Capa | S::Verifying) => {
            Err(ComplaintError::NotVerified)
        }
        (T::Close, S::Invalid) => Ok(S::Closed),
        _ => Err(ComplaintError::WrongState),
    }
}

/// Where a failed verification sends the case back to.
pub fn rework(severity: Severity) -> ComplaintState {
    match severity {
        Severity::Minor => ComplaintState::Correcting,
        Severity::Serious => ComplaintState::Capa,
    }
}

/// A complaint as registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplaintFields {
    /// Portal users may leave it out: their own company is used.
    #[serde(default)]
    pub customer_id: Option<i64>,
    #[serde(default = "default_kind")]
    pub kind: ComplaintKind,
    pub channel: ComplaintChannel,
    pub title: String,
    pub content: String,
    /// The product, batch or order concerned.
    #[serde(default)]
    pub product: String,
    #[serde(default)]
    pub order_id: Option<i64>,
}

fn default_kind() -> ComplaintKind {
    ComplaintKind::Complaint
}

impl ComplaintFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("title", &mut self.title, 200);
        e.required("content", &mut self.content, 5000);
        e.optional("product", &mut self.product, 200);
        e.finish()
    }
}

/// The validity decision (002§4.3.3.2): invalid with objective evidence and the explanation to
/// the customer, or valid with the severity, the responsible department and the committed fix
/// date (a date later than the default needs the customer's recorded agreement).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub version: i64,
    pub valid: bool,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub department_id: Option<i64>,
    /// `YYYY-MM-DD`; the default (2 working days) when left out.
    #[serde(default)]
    pub fix_due: Option<String>,
    /// How the customer agreed to a later date (who, when, how).
    #[serde(default)]
    pub customer_agreement: String,
    /// Invalid: the objective evidence.
    #[serde(default)]
    pub evidence: String,
    /// Invalid: the explanation sent to the customer.
    #[serde(default)]
    pub explanation: String,
}

impl Decision {
    /// `default_fix` is the default committed date (`YYYY-MM-DD`, 2 working days on).
    pub fn validate(&mut self, default_fix: &str) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.optional("customer_agreement", &mut self.customer_agreement, 1000);
        e.optional("evidence", &mut self.evidence, 2000);
        e.optional("explanation", &mut self.explanation, 2000);
        if self.valid {
            if self.severity.is_none() {
                e.add("severity", "required");
            }
            if self.department_id.is_none() {
                e.add("department_id", "required");
            }
            let due = self
                .fix_due
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .unwrap_or(default_fix)
                .to_string();
            if chrono::NaiveDate::parse_from_str(&due, "%Y-%m-%d").is_err() {
                e.add("fix_due", "date");
            } else if due.as_str() > default_fix && self.customer_agreement.is_empty() {
                // 002§4.3.3.2: 一般情况下两个工作日，特别情况应征得顾客同意.
                e.add("customer_agreement", "agreement_required");
            }
            self.fix_due = Some(due);
        } else {
            if self.evidence.is_empty() {
                e.add("evidence", "evidence_required");
            }
            if self.explanation.is_empty() {
                e.add("explanation", "explanation_required");
            }
        }
        e.finish()
    }
}

/// The CAPA report in 8D form (纠正预防措施实施报告单).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Capa {
    /// D1 the team.
    #[serde(default)]
    pub d1_team: String,
    /// D2 the problem described.
    #[serde(default)]
    pub d2_problem: String,
    /// D3 containment.
    #[serde(default)]
    pub d3_containment: String,
    /// D4 root cause.
    #[serde(default)]
    pub d4_root_cause: String,
    /// D5 corrective action.
    #[serde(default)]
    pub d5_corrective: String,
    /// D6 its verification.
    #[serde(default)]
    pub d6_verification: String,
    /// D7 prevention.
    #[serde(default)]
    pub d7_prevention: String,
    /// D8 closure and recognition.
    #[serde(default)]
    pub d8_closure: String,
}

impl Capa {
    pub fn fields_mut(&mut self) -> [(&'static str, &mut String); 8] {
        [
            ("d1_team", &mut self.d1_team),
            ("d2_problem", &mut self.d2_problem),
            ("d3_containment", &mut self.d3_containment),
            ("d4_root_cause", &mut self.d4_root_cause),
            ("d5_corrective", &mut self.d5_corrective),
            ("d6_verification", &mut self.d6_verification),
            ("d7_prevention", &mut self.d7_prevention),
            ("d8_closure", &mut self.d8_closure),
        ]
    }

    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        for (name, v) in self.fields_mut() {
            e.optional(name, v, 5000);
        }
        e.finish()
    }

    /// Every discipline filled in — or the customer's own template attached instead.
    pub fn complete(&self, customer_template: bool) -> bool {
        customer_template
            || [
                &self.d1_team,
                &self.d2_problem,
                &self.d3_containment,
                &self.d4_root_cause,
                &self.d5_corrective,
                &self.d6_verification,
                &self.d7_prevention,
                &self.d8_closure,
            ]
            .iter()
            .all(|d| !d.trim().is_empty())
    }
}

/// Why someone may not investigate or verify a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "reason", content = "note", rename_all = "snake_case")]
pub enum Recusal {
    /// The customer's account manager.
    AccountManager,
    /// The head of the department the complaint is about.
    DepartmentHead,
    /// Declared (by themselves or others) with a reason.
    Declared(String),
}

/// The people tied to a case.
#[derive(Debug, Clone, Default)]
pub struct RecusalFacts {
    pub account_manager: Option<UserId>,
    pub department_head: Option<UserId>,
    pub declared: Vec<(UserId, String)>,
}

/// Why `user` is recused from the case, if they are.
pub fn recused(facts: &RecusalFacts, user: UserId) -> Option<Recusal> {
    if facts.account_manager == Some(user) {
        Some(Recusal::AccountManager)
    } else if facts.department_head == Some(user) {
        Some(Recusal::DepartmentHead)
    } else {
        facts
            .declared
            .iter()
            .find(|(u, _)| *u == user)
            .map(|(_, why)| Recusal::Declared(why.clone()))
    }
}

/// Everyone recused, with why (shown on the case).
pub fn recusals(facts: &RecusalFacts) -> Vec<(UserId, Recusal)> {
    let mut out: Vec<(UserId, Recusal)> = Vec::new();
    let mut add = |u: UserId, r: Recusal| {
        if !out.iter().any(|(x, _)| *x == u) {
            out.push((u, r));
        }
    };
    if let Some(u) = facts.account_manager {
        add(u, Recusal::AccountManager);
    }
    if let Some(u) = facts.department_head {
        add(u, Recusal::DepartmentHead);
    }
    for (u, why) in &facts.declared {
        add(*u, Recusal::Declared(why.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComplaintState as S;
    use ComplaintStep as T;

    const C: ComplaintKind = ComplaintKind::Complaint;

    #[test]
    fn a_serious_complaint_goes_through_capa_verification_and_reply() {
        let path = [
            (T::Confirm, S::Confirmed),
            (T::ValidSerious, S::Capa),
            (T::SubmitCapa, S::Verifying),
            (T::VerifyPass, S::Replying),
            (T::Reply, S::Closed),
        ];
        let mut s = S::Registered;
        for (step, to) in path {
            s = next(C, s, step).unwrap();
            assert_eq!(s, to, "{step}");
        }
    }

    #[test]
    fn a_minor_complaint_is_corrected_and_an_invalid_one_explained() {
        let s = next(C, S::Confirmed, T::ValidMinor).unwrap();
        assert_eq!(s, S::Correcting);
        assert_eq!(next(C, s, T::Correct), Ok(S::Verifying));
        let s = next(C, S::Confirmed, T::Invalid).unwrap();
        assert_eq!(next(C, s, T::Close), Ok(S::Closed));
    }

    #[test]
    fn verification_cannot_be_skipped() {
        for from in [S::Correcting, S::Capa, S::Verifying] {
            assert_eq!(next(C, from, T::Reply), Err(ComplaintError::NotVerified));
            assert_eq!(next(C, from, T::Close), Err(ComplaintError::NotVerified));
        }
        assert_eq!(
            next(C, S::Registered, T::ValidMinor),
            Err(ComplaintError::NotConfirmed)
        );
        assert_eq!(next(C, S::Capa, T::Invalid), Err(ComplaintError::Decided));
        assert_eq!(rework(Severity::Serious), S::Capa);
    }

    #[test]
    fn every_move_is_either_listed_or_refused() {
        let legal = [
            (S::Registered, T::Confirm),
            (S::Confirmed, T::Invalid),
            (S::Confirmed, T::ValidMinor),
            (S::Confirmed, T::ValidSerious),
            (S::Correcting, T::Correct),
            (S::Capa, T::SubmitCapa),
            (S::Verifying, T::VerifyPass),
            (S::Replying, T::Reply),
            (S::Invalid, T::Close),
        ];
        for from in ComplaintState::ALL {
            for step in ComplaintStep::ALL {
                // A failed verification is handled by `rework`, never by `next`.
                let ok = next(C, *from, *step).is_ok();
                assert_eq!(ok, legal.contains(&(*from, *step)), "{from} {step}");
            }
        }
    }

    #[test]
    fn praise_is_confirmed_and_closed() {
        let p = ComplaintKind::Praise;
        let s = next(p, S::Registered, T::Confirm).unwrap();
        assert_eq!(next(p, s, T::Close), Ok(S::Closed));
        assert_eq!(next(p, s, T::ValidMinor), Err(ComplaintError::Praise));
    }

    #[test]
    fn a_later_fix_date_needs_the_customers_agreement() {
        let mut d = Decision {
            version: 1,
            valid: true,
            severity: Some(Severity::Minor),
            department_id: Some(5),
            fix_due: Some("2026-12-10".into()),
            customer_agreement: String::new(),
            evidence: String::new(),
            explanation: String::new(),
        };
        assert_eq!(
            d.validate("2026-11-26")
                .unwrap_err()
                .for_field("customer_agreement"),
            Some("agreement_required")
        );
        d.customer_agreement = "客户采购部王经理 11-24 邮件同意".into();
        assert!(d.validate("2026-11-26").is_ok());
        let mut default = d.clone();
        default.fix_due = None;
        default.customer_agreement.clear();
        assert!(default.validate("2026-11-26").is_ok());
        assert_eq!(default.fix_due.as_deref(), Some("2026-11-26"));
        let mut invalid = d.clone();
        invalid.valid = false;
        let e = invalid.validate("2026-11-26").unwrap_err();
        assert_eq!(e.for_field("evidence"), Some("evidence_required"));
        assert_eq!(e.for_field("explanation"), Some("explanation_required"));
    }

    #[test]
    fn people_tied_to_the_case_are_recused() {
        let facts = RecusalFacts {
            account_manager: Some(UserId(3)),
            department_head: Some(UserId(7)),
            declared: vec![(UserId(9), "与供应商有亲属关系".into())],
        };
        assert_eq!(recused(&facts, UserId(3)), Some(Recusal::AccountManager));
        assert_eq!(recused(&facts, UserId(7)), Some(Recusal::DepartmentHead));
        assert!(matches!(
            recused(&facts, UserId(9)),
            Some(Recusal::Declared(_))
        ));
        assert_eq!(recused(&facts, UserId(4)), None);
        assert_eq!(recusals(&facts).len(), 3);
    }

    #[test]
    fn a_capa_report_needs_eight_disciplines_or_the_customers_template() {
        let mut c = Capa::default();
        assert!(!c.complete(false));
        assert!(c.complete(true));
        for (_, v) in c.fields_mut() {
            *v = "已填写".into();
        }
        assert!(c.complete(false));
    }
}
