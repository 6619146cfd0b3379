//! Contracts and technical agreements (F13, 000§5(3), 002§4.2C): versions of clauses, and the
//! CBC response table — every clause of the current version answered comply / partial / deviate /
//! open, a deviation needing the customer's permit.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::FieldErrors;
use crate::ids::{CustomerId, UserId};

closed_set!(
    /// What kind of document carries the customer's requirements.
    ContractKind { Contract => "contract", TechnicalAgreement => "technical_agreement" }
);

closed_set!(
    /// The company's response to one clause (CBC 响应表).
    Response { Comply => "comply", Partial => "partial", Deviate => "deviate", Open => "open" }
);

closed_set!(
    /// Where a deviation permit (偏离许可) stands with the customer.
    PermitStatus { Requested => "requested", Approved => "approved", Rejected => "rejected" }
);

/// A contract or technical agreement as entered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractFields {
    pub customer_id: CustomerId,
    #[serde(default)]
    pub project_id: Option<i64>,
    /// The customer's or the company's number of the document.
    pub number: String,
    pub title: String,
    pub kind: ContractKind,
    /// `YYYY-MM-DD`, empty while unsigned.
    #[serde(default)]
    pub signed_on: String,
}

impl ContractFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("number", &mut self.number, 50);
        e.required("title", &mut self.title, 200);
        self.signed_on = self.signed_on.trim().to_string();
        if !self.signed_on.is_empty()
            && chrono::NaiveDate::parse_from_str(&self.signed_on, "%Y-%m-%d").is_err()
        {
            e.add("signed_on", "date");
        }
        e.finish()
    }
}

/// One clause of a version as entered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClauseFields {
    /// The clause number as the document has it, e.g. `3.2.1`.
    pub number: String,
    pub text: String,
}

/// A new version: all its clauses; `base_version` is the version the editor started from
/// (0 for the first), so a concurrent save is refused.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    pub base_version: i64,
    #[serde(default)]
    pub note: String,
    pub clauses: Vec<ClauseFields>,
}

impl NewVersion {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.optional("note", &mut self.note, 500);
        if self.clauses.is_empty() {
            e.add("clauses", "required");
        }
        if self.clauses.len() > 2000 {
            e.add("clauses", "too_many");
        }
        let mut seen = std::collections::HashSet::new();
        for (i, c) in self.clauses.iter_mut().enumerate() {
            e.required(&format!("clauses[{i}].number"), &mut c.number, 30);
            e.required(&format!("clauses[{i}].text"), &mut c.text, 5000);
            if !c.number.is_empty() && !seen.insert(c.number.clone()) {
                e.add(format!("clauses[{i}].number"), "duplicate");
            }
        }
        e.finish()
    }
}

/// A response to a clause as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseFields {
    pub response: Response,
    #[serde(default)]
    pub note: String,
    /// Who answers for closing it.
    #[serde(default)]
    pub responsible_id: Option<UserId>,
}

impl ResponseFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.optional("note", &mut self.note, 2000);
        // A partial answer or a deviation says what differs.
        if matches!(self.response, Response::Partial | Response::Deviate) && self.note.is_empty() {
            e.add("note", "response_note_required");
        }
        e.finish()
    }
}

/// Why a CBC step is refused (422).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CbcError {
    #[error("the clause belongs to a superseded version")]
    SupersededVersion,
    #[error("a deviation permit is only for a clause answered with a deviation")]
    NotADeviation,
    #[error("a permit for this clause is already pending or approved")]
    PermitExists,
    #[error("the permit was decided already")]
    PermitDecided,
}

impl CbcError {
    pub fn code(self) -> &'static str {
        match self {
            CbcError::SupersededVersion => "superseded_version",
            CbcError::NotADeviation => "not_a_deviation",
            CbcError::PermitExists => "permit_exists",
            CbcError::PermitDecided => "permit_decided",
        }
    }
}

/// A response may be given only on a clause of the current version.
pub fn check_response(clause_version: i64, current_version: i64) -> Result<(), CbcError> {
    if clause_version == current_version {
        Ok(())
    } else {
        Err(CbcError::SupersededVersion)
    }
}

/// A permit may be requested for a deviating clause of the current version that has no permit
/// pending or approved (a rejected one may be asked again after rework).
pub fn check_permit_request(
    response: Option<Response>,
    clause_version: i64,
    current_version: i64,
    permits: &[PermitStatus],
) -> Result<(), CbcError> {
    check_response(clause_version, current_version)?;
    if response != Some(Response::Deviate) {
        return Err(CbcError::NotADeviation);
    }
    if permits
        .iter()
        .any(|p| matches!(p, PermitStatus::Requested | PermitStatus::Approved))
    {
        return Err(CbcError::PermitExists);
    }
    Ok(())
}

/// Whether a clause still needs work: no answer, answered open, or a deviation without an
/// approved permit.
pub fn clause_pending(response: Option<Response>, permits: &[PermitStatus]) -> bool {
    match response {
        None | Some(Response::Open) => true,
        Some(Response::Deviate) => !permits.contains(&PermitStatus::Approved),
        Some(Response::Comply | Response::Partial) => false,
    }
}

/// A customer's decision on a permit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermitDecision {
    pub approved: bool,
    /// `YYYY-MM-DD`: when the customer decided.
    pub decided_on: String,
    /// What proves it (letter number, e-mail, meeting minutes).
    pub evidence: String,
}

impl PermitDecision {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("evidence", &mut self.evidence, 1000);
        self.decided_on = self.decided_on.trim().to_string();
        if chrono::NaiveDate::parse_from_str(&self.decided_on, "%Y-%m-%d").is_err() {
            e.add("decided_on", "date");
        }
        e.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_current_version_takes_responses() {
        assert_eq!(check_response(2, 2), Ok(()));
        assert_eq!(check_response(1, 2), Err(CbcError::SupersededVersion));
    }

    #[test]
    fn permits_are_for_deviations_one_at_a_time() {
        use PermitStatus::*;
        let dev = Some(Response::Deviate);
        assert_eq!(check_permit_request(dev, 1, 1, &[]), Ok(()));
        assert_eq!(check_permit_request(dev, 1, 1, &[Rejected]), Ok(()));
        assert_eq!(
            check_permit_request(dev, 1, 1, &[Rejected, Requested]),
            Err(CbcError::PermitExists)
        );
        assert_eq!(
            check_permit_request(Some(Response::Comply), 1, 1, &[]),
            Err(CbcError::NotADeviation)
        );
        assert_eq!(
            check_permit_request(dev, 1, 2, &[]),
            Err(CbcError::SupersededVersion)
        );
    }

    #[test]
    fn a_clause_is_pending_until_answered_and_any_deviation_is_permitted() {
        use PermitStatus::*;
        assert!(clause_pending(None, &[]));
        assert!(clause_pending(Some(Response::Open), &[]));
        assert!(clause_pending(Some(Response::Deviate), &[Rejected]));
        assert!(!clause_pending(
            Some(Response::Deviate),
            &[Rejected, Approved]
        ));
        assert!(!clause_pending(Some(Response::Partial), &[]));
    }

    #[test]
    fn versions_need_numbered_unique_clauses() {
        let mut v = NewVersion {
            base_version: 0,
            note: String::new(),
            clauses: vec![
                ClauseFields {
                    number: "3.1".into(),
                    text: "温升≤80K".into(),
                },
                ClauseFields {
                    number: "3.1".into(),
                    text: "".into(),
                },
            ],
        };
        let e = v.validate().unwrap_err();
        assert_eq!(e.for_field("clauses[1].number"), Some("duplicate"));
        assert_eq!(e.for_field("clauses[1].text"), Some("required"));
    }
}
