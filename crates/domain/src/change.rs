//! Change control (F14, 000§3(1), 002§4.2C, 002§7.2): a change of a requirement asked by the
//! customer or the company names the affected items, the reason and its 5M1E impact; it is
//! re-determined with the customer and re-reviewed (a review round over the affected items)
//! before it is approved; approval gives the requirement a new revision; a notice goes to every
//! affected department, each confirms implementation; the effect is verified; it closes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::FieldErrors;

closed_set!(
    /// Where a change stands (SPEC "change states").
    ChangeState {
        Requested => "requested",
        Redetermined => "redetermined",
        Rereviewed => "rereviewed",
        Approved => "approved",
        Notified => "notified",
        Implemented => "implemented",
        Verified => "verified",
        Closed => "closed",
        Rejected => "rejected",
    }
);

closed_set!(
    /// Who asks for the change.
    ChangeOrigin { Customer => "customer", Company => "company" }
);

closed_set!(
    /// The 5M1E factors a change may affect (人、机、料、法、测、环).
    Factor {
        Man => "man",
        Machine => "machine",
        Material => "material",
        Method => "method",
        Measurement => "measurement",
        Environment => "environment",
    }
);

closed_set!(
    /// What can happen to a change.
    ChangeStep {
        Redetermine => "redetermine",
        StartReview => "start_review",
        ReviewApproved => "review_approved",
        Approve => "approve",
        Reject => "reject",
        Notify => "notify",
        AllConfirmed => "all_confirmed",
        Verify => "verify",
        Close => "close",
    }
);

impl ChangeState {
    /// Whether the change still waits for something (delivery waits for it too).
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            ChangeState::Implemented
                | ChangeState::Verified
                | ChangeState::Closed
                | ChangeState::Rejected
        )
    }
}

/// Why a change step is refused (422).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("the change must be re-determined with the customer first")]
    NotRedetermined,
    #[error("the change has not passed its re-review")]
    NotRereviewed,
    #[error("the change is not approved")]
    NotApproved,
    #[error("the department received no change notice")]
    NotNotified,
    #[error("the department confirmed implementation already")]
    AlreadyConfirmed,
    #[error("not every notified department has confirmed implementation")]
    NotImplemented,
    #[error("the effect of the change is not verified")]
    NotVerified,
    #[error("the change is decided already")]
    Decided,
    #[error("a re-review round of this change is still open")]
    ReviewOpen,
    #[error("the item does not belong to the requirement")]
    ForeignItem,
}

impl ChangeError {
    pub fn code(self) -> &'static str {
        match self {
            ChangeError::NotRedetermined => "not_redetermined",
            ChangeError::NotRereviewed => "not_rereviewed",
            ChangeError::NotApproved => "not_approved",
            ChangeError::NotNotified => "not_notified",
            ChangeError::AlreadyConfirmed => "already_confirmed",
            ChangeError::NotImplemented => "not_implemented",
            ChangeError::NotVerified => "not_verified",
            ChangeError::Decided => "change_decided",
            ChangeError::ReviewOpen => "review_open",
            ChangeError::ForeignItem => "foreign_item",
        }
    }
}

/// The state a step leads to from `from`, or why it may not happen. Re-determination may be
/// repeated until the re-review passes (a round that cannot be met sends it back there).
pub fn next(from: ChangeState, step: ChangeStep) -> Result<ChangeState, ChangeError> {
    use ChangeState as S;
    use ChangeStep as T;
    match (step, from) {
        (T::Redetermine, S::Requested | S::Redetermined) => Ok(S::Redetermined),
        (T::StartReview | T::ReviewApproved, S::Redetermined) => Ok(if step == T::StartReview {
            S::Redetermined
        } else {
            S::Rereviewed
        }),
        (T::Approve, S::Rereviewed) => Ok(S::Approved),
        (T::Reject, S::Requested | S::Redetermined | S::Rereviewed) => Ok(S::Rejected),
        (T::Notify, S::Approved) => Ok(S::Notified),
        (T::AllConfirmed, S::Notified) => Ok(S::Implemented),
        (T::Verify, S::Implemented) => Ok(S::Verified),
        (T::Close, S::Verified) => Ok(S::Closed),
        (T::StartReview | T::ReviewApproved, S::Requested) => Err(ChangeError::NotRedetermined),
        (T::Redetermine | T::StartReview | T::ReviewApproved | T::Reject, _) => {
            Err(ChangeError::Decided)
        }
        (T::Approve, S::Requested | S::Redetermined) => Err(ChangeError::NotRereviewed),
        (T::Approve, _) => Err(ChangeError::Decided),
        (T::Notify, _) => Err(ChangeError::NotApproved),
        (T::AllConfirmed, _) => Err(ChangeError::NotNotified),
        (T::Verify, _) => Err(ChangeError::NotImplemented),
        (T::Close, _) => Err(ChangeError::NotVerified),
    }
}

/// One 5M1E factor the change affects, with what it means for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Impact {
    pub factor: Factor,
    pub note: String,
}

/// An affected identification item and its content after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemChange {
    pub item_id: i64,
    pub description: String,
    pub acceptance_criterion: String,
}

/// A change request as raised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeFields {
    pub requirement_id: i64,
    /// The contract or agreement it amends (its orders wait for it at pre-delivery).
    #[serde(default)]
    pub contract_id: Option<i64>,
    pub origin: ChangeOrigin,
    pub title: String,
    pub reason: String,
    pub impacts: Vec<Impact>,
    pub items: Vec<ItemChange>,
}

fn validate_items(e: &mut FieldErrors, items: &mut [ItemChange]) {
    if items.is_empty() {
        e.add("items", "required");
    }
    if items.len() > 200 {
        e.add("items", "too_many");
    }
    let mut seen = std::collections::HashSet::new();
    for (i, it) in items.iter_mut().enumerate() {
        e.required(
            &format!("items[{i}].description"),
            &mut it.description,
            2000,
        );
        e.required(
            &format!("items[{i}].acceptance_criterion"),
            &mut it.acceptance_criterion,
            1000,
        );
        if !seen.insert(it.item_id) {
            e.add(format!("items[{i}].item_id"), "duplicate");
        }
    }
}

impl ChangeFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("title", &mut self.title, 200);
        e.required("reason", &mut self.reason, 2000);
        if self.impacts.is_empty() {
            e.add("impacts", "required");
        }
        let mut factors = std::collections::HashSet::new();
        for (i, im) in self.impacts.iter_mut().enumerate() {
            e.required(&format!("impacts[{i}].note"), &mut im.note, 500);
            if !factors.insert(im.factor) {
                e.add(format!("impacts[{i}].factor"), "duplicate");
            }
        }
        validate_items(&mut e, &mut self.items);
        e.finish()
    }
}

/// Re-determination: what was confirmed with the customer, and the items' content as
/// determined (the affected items only; left out, the requested content stands).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redetermination {
    pub version: i64,
    pub note: String,
    #[serde(default)]
    pub items: Vec<ItemChange>,
}

impl Redetermination {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("note", &mut self.note, 2000);
        if !self.items.is_empty() {
            validate_items(&mut e, &mut self.items);
        }
        e.finish()
    }
}

/// A decision, notice, confirmation or verification: the version read and a note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepNote {
    /// The change's version the client read (not needed to confirm a notice).
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    pub note: String,
}

impl StepNote {
    /// `required`: the step needs a note (a rejection, a verification, a confirmation).
    pub fn validate(&mut self, required: bool) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        if required {
            e.required("note", &mut self.note, 2000);
        } else {
            e.optional("note", &mut self.note, 2000);
        }
        e.finish()
    }
}

/// A requirement as one revision left it: what the diff compares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Snapshot {
    pub title: String,
    pub description: String,
    pub items: Vec<SnapshotItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SnapshotItem {
    pub id: i64,
    pub description: String,
    pub acceptance_criterion: String,
}

/// One difference between two revisions.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DiffLine {
    /// The item concerned; `None` for the requirement's own fields.
    pub item_id: Option<i64>,
    /// `title`, `description` or `acceptance_criterion`.
    pub field: &'static str,
    /// `None` when the item did not exist before.
    pub before: Option<String>,
    /// `None` when the item no longer exists.
    pub after: Option<String>,
}

/// What changed from `before` to `after`, field by field, items in the order of `after` then
/// the removed ones.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<DiffLine> {
    let mut out = Vec::new();
    let mut field = |item_id, field, b: Option<&str>, a: Option<&str>| {
        if b != a {
            out.push(DiffLine {
                item_id,
                field,
                before: b.map(str::to_string),
                after: a.map(str::to_string),
            });
        }
    };
    field(None, "title", Some(&before.title), Some(&after.title));
    field(
        None,
        "description",
        Some(&before.description),
        Some(&after.description),
    );
    for a in &after.items {
        let b = before.items.iter().find(|b| b.id == a.id);
        field(
            Some(a.id),
            "description",
            b.map(|b| b.description.as_str()),
            Some(&a.description),
        );
        field(
            Some(a.id),
            "acceptance_criterion",
            b.map(|b| b.acceptance_criterion.as_str()),
            Some(&a.acceptance_criterion),
        );
    }
    for b in &before.items {
        if !after.items.iter().any(|a| a.id == b.id) {
            field(Some(b.id), "description", Some(&b.description), None);
            field(
                Some(b.id),
                "acceptance_criterion",
                Some(&b.acceptance_criterion),
                None,
            );
        }
    }
    out
}

/// The snapshot after applying the changed items to `before`.
pub fn apply(before: &Snapshot, items: &[ItemChange]) -> Snapshot {
    let mut after = before.clone();
    for it in &mut after.items {
        if let Some(c) = items.iter().find(|c| c.item_id == it.id) {
            it.description.clone_from(&c.description);
            it.acceptance_criterion.clone_from(&c.acceptance_criterion);
        }
    }
    after
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> ChangeFields {
        serde_json::from_value(serde_json::json!({
            "requirement_id": 1,
            "origin": "customer",
            "title": " 表面处理由镀锌改为达克罗 ",
            "reason": "客户整车防腐等级提升",
            "impacts": [{"factor": "material", "note": "涂层材料更换"}],
            "items": [{"item_id": 4, "description": "达克罗涂层", "acceptance_criterion": "盐雾 720h"}]
        }))
        .unwrap()
    }

    #[test]
    fn a_request_names_reason_impacts_and_items() {
        let mut f = fields();
        assert!(f.validate().is_ok());
        assert_eq!(f.title, "表面处理由镀锌改为达克罗");
        let mut bad = fields();
        bad.reason = " ".into();
        bad.impacts.clear();
        bad.items.push(bad.items[0].clone());
        let e = bad.validate().unwrap_err();
        assert_eq!(e.for_field("reason"), Some("required"));
        assert_eq!(e.for_field("impacts"), Some("required"));
        assert_eq!(e.for_field("items[1].item_id"), Some("duplicate"));
        let mut twice = fields();
        twice.impacts.push(twice.impacts[0].clone());
        assert_eq!(
            twice.validate().unwrap_err().for_field("impacts[1].factor"),
            Some("duplicate")
        );
    }

    #[test]
    fn the_flow_goes_through_rereview_before_approval() {
        use ChangeState as S;
        use ChangeStep as T;
        let path = [
            (T::Redetermine, S::Redetermined),
            (T::StartReview, S::Redetermined),
            (T::ReviewApproved, S::Rereviewed),
            (T::Approve, S::Approved),
            (T::Notify, S::Notified),
            (T::AllConfirmed, S::Implemented),
            (T::Verify, S::Verified),
            (T::Close, S::Closed),
        ];
        let mut s = S::Requested;
        for (step, to) in path {
            s = next(s, step).unwrap();
            assert_eq!(s, to, "{step}");
        }
        assert_eq!(
            next(S::Requested, T::Approve),
            Err(ChangeError::NotRereviewed)
        );
        assert_eq!(
            next(S::Redetermined, T::Approve),
            Err(ChangeError::NotRereviewed)
        );
        assert_eq!(
            next(S::Requested, T::StartReview),
            Err(ChangeError::NotRedetermined)
        );
        assert_eq!(next(S::Approved, T::Reject), Err(ChangeError::Decided));
        assert_eq!(
            next(S::Approved, T::Verify),
            Err(ChangeError::NotImplemented)
        );
        assert_eq!(next(S::Rereviewed, T::Reject), Ok(S::Rejected));
    }

    #[test]
    fn no_step_leaves_a_final_state() {
        for step in ChangeStep::ALL {
            for s in [ChangeState::Closed, ChangeState::Rejected] {
                assert!(next(s, *step).is_err(), "{s} {step}");
            }
        }
    }

    #[test]
    fn the_diff_shows_what_the_change_did() {
        let before = Snapshot {
            title: "支架".into(),
            description: "车架支架".into(),
            items: vec![
                SnapshotItem {
                    id: 4,
                    description: "镀锌".into(),
                    acceptance_criterion: "盐雾 240h".into(),
                },
                SnapshotItem {
                    id: 5,
                    description: "尺寸公差 ±0.1".into(),
                    acceptance_criterion: "三坐标".into(),
                },
            ],
        };
        let after = apply(&before, &fields().items);
        let d = diff(&before, &after);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].item_id, Some(4));
        assert_eq!(d[0].before.as_deref(), Some("镀锌"));
        assert_eq!(d[0].after.as_deref(), Some("达克罗涂层"));
        assert_eq!(d[1].field, "acceptance_criterion");
        assert!(diff(&before, &before).is_empty());
        let mut removed = after.clone();
        removed.items.pop();
        let d = diff(&after, &removed);
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|l| l.item_id == Some(5) && l.after.is_none()));
    }
}
