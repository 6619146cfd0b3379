//! Rectification of survey weaknesses (F21; 002§4.5.2, 004§3 "发布、整改、回复、改进评估"): a
//! weakness found in the analysis becomes an action with an owner and a due date, published,
//! rectified, replied to the customers and its effect evaluated — an ineffective one goes back to
//! rectification.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::FieldErrors;

closed_set!(
    ActionState {
        Published => "published",
        Rectifying => "rectifying",
        Replied => "replied",
        Evaluated => "evaluated",
    }
);

closed_set!(
    ActionStep { Rectify => "rectify", Reply => "reply", Evaluate => "evaluate" }
);

/// Where an action's step leads; `effective` only matters when evaluating.
pub fn next(from: ActionState, step: ActionStep, effective: bool) -> Option<ActionState> {
    use ActionState as S;
    use ActionStep as T;
    match (from, step) {
        (S::Published, T::Rectify) => Some(S::Rectifying),
        (S::Rectifying, T::Reply) => Some(S::Replied),
        (S::Replied, T::Evaluate) if effective => Some(S::Evaluated),
        (S::Replied, T::Evaluate) => Some(S::Rectifying),
        _ => None,
    }
}

/// A new action (published when created).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionFields {
    pub title: String,
    /// The aspect code the weakness was found in, e.g. `delivery`.
    pub aspect: String,
    /// The category the weakness was found in (`grade`, `tier`, `industry`, `province`, or empty
    /// for all customers) and its value.
    #[serde(default)]
    pub category_by: String,
    #[serde(default)]
    pub category: String,
    /// What was found: the distribution, the share dissatisfied, the customers' comments.
    pub finding: String,
    pub owner_id: i64,
    /// `YYYY-MM-DD`.
    pub due_on: String,
}

impl ActionFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("title", &mut self.title, 200);
        e.required("aspect", &mut self.aspect, 40);
        e.optional("category", &mut self.category, 100);
        e.required("finding", &mut self.finding, 4000);
        if !["", "grade", "tier", "industry", "province"].contains(&self.category_by.as_str()) {
            e.add("category_by", "choice");
        }
        self.due_on = self.due_on.trim().to_string();
        if chrono::NaiveDate::parse_from_str(&self.due_on, "%Y-%m-%d").is_err() {
            e.add("due_on", "date");
        }
        e.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ActionState as S;
    use ActionStep as T;

    #[test]
    fn an_action_is_rectified_replied_and_evaluated() {
        let s = next(S::Published, T::Rectify, false).unwrap();
        assert_eq!(
            next(s, T::Evaluate, true),
            None,
            "reply to the customers first"
        );
        let s = next(s, T::Reply, false).unwrap();
        assert_eq!(
            next(s, T::Evaluate, false),
            Some(S::Rectifying),
            "not effective"
        );
        assert_eq!(next(s, T::Evaluate, true), Some(S::Evaluated));
        for step in ActionStep::ALL {
            assert_eq!(next(S::Evaluated, *step, true), None);
        }
    }

    #[test]
    fn an_action_names_its_weakness_owner_and_due_date() {
        let mut f = ActionFields {
            title: " ".into(),
            aspect: "delivery".into(),
            category_by: "colour".into(),
            category: String::new(),
            finding: "交期不满意 18%".into(),
            owner_id: 3,
            due_on: "2026-13-01".into(),
        };
        let e = f.validate().unwrap_err();
        assert_eq!(e.for_field("title"), Some("required"));
        assert_eq!(e.for_field("category_by"), Some("choice"));
        assert_eq!(e.for_field("due_on"), Some("date"));
    }
}
