//! Early warnings (F24; 004§3 "预警管理", 001§3.1(2)): rules kept as data measure order
//! fulfilment (overdue hand-offs and deliveries, delivery-date risk), complaints and response-time
//! breaches; a measured value at or past a rule's threshold raises a yellow, orange or red warning
//! on a customer, an order or a requirement. A warning is raised → assigned → resolved → verified;
//! one cause (rule and subject) has at most one warning that is not yet verified.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customer::Tier;
use crate::fields::FieldErrors;

closed_set!(
    /// Warning level (004§3): yellow, orange, red.
    Level { Yellow => "yellow", Orange => "orange", Red => "red" }
);

closed_set!(
    WarningState {
        Raised => "raised",
        Assigned => "assigned",
        Resolved => "resolved",
        Verified => "verified",
    }
);

closed_set!(
    WarningStep { Assign => "assign", Resolve => "resolve", Verify => "verify", Reopen => "reopen" }
);

closed_set!(
    /// What a rule measures.
    Metric {
        OverdueHandoffs => "overdue_handoffs",
        OverdueDeliveries => "overdue_deliveries",
        DeliveryRisk => "delivery_risk",
        Complaints => "complaints",
        SeriousComplaints => "serious_complaints",
        SlaBreaches => "sla_breaches",
    }
);

closed_set!(
    /// What a warning is about.
    Subject { Customer => "customer", Order => "order", Requirement => "requirement" }
);

impl Metric {
    /// The record a warning of this metric is raised on.
    pub fn subject(self) -> Subject {
        match self {
            Metric::OverdueHandoffs => Subject::Requirement,
            Metric::OverdueDeliveries | Metric::DeliveryRisk => Subject::Order,
            Metric::Complaints | Metric::SeriousComplaints | Metric::SlaBreaches => {
                Subject::Customer
            }
        }
    }

    /// Whether the metric counts events over a window of days (the others measure days late).
    pub fn windowed(self) -> bool {
        matches!(
            self,
            Metric::Complaints | Metric::SeriousComplaints | Metric::SlaBreaches
        )
    }
}

/// An editable rule: the thresholds at which the measured value turns yellow, orange and red,
/// the window counted (for counts) and the customer tiers it watches (none = every tier).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleFields {
    pub name: String,
    pub metric: Metric,
    pub yellow: i64,
    pub orange: i64,
    pub red: i64,
    /// Days counted back from now (counting metrics only).
    #[serde(default = "default_window")]
    pub window_days: i64,
    #[serde(default)]
    pub tiers: Vec<Tier>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn default_window() -> i64 {
    90
}

fn yes() -> bool {
    true
}

impl RuleFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("name", &mut self.name, 100);
        if self.yellow < 1 {
            e.add("yellow", "min");
        }
        if self.orange < self.yellow {
            e.add("orange", "threshold_order");
        }
        if self.red < self.orange {
            e.add("red", "threshold_order");
        }
        if self.red > 100_000 {
            e.add("red", "too_large");
        }
        if self.metric.windowed() && !(1..=730).contains(&self.window_days) {
            e.add("window_days", "range");
        }
        self.tiers
            .sort_by_key(|t| Tier::ALL.iter().position(|x| x == t));
        self.tiers.dedup();
        e.finish()
    }

    /// The level a measured value reaches, if any.
    pub fn level(&self, value: i64) -> Option<Level> {
        if value >= self.red {
            Some(Level::Red)
        } else if value >= self.orange {
            Some(Level::Orange)
        } else if value >= self.yellow {
            Some(Level::Yellow)
        } else {
            None
        }
    }
}

/// The identity of a warning's cause: one rule on one subject. At most one warning per cause is
/// open (not verified); the background pass raises or escalates it, never a second one.
pub fn cause(rule_id: i64, subject: Subject, subject_id: i64) -> String {
    format!("{rule_id}:{}:{subject_id}", subject.as_str())
}

/// Where a step leads. Assigning again hands an open warning to someone else; a verifier who
/// finds the resolution wanting reopens it to the assignee.
pub fn next(from: WarningState, step: WarningStep) -> Option<WarningState> {
    use WarningState as S;
    use WarningStep as T;
    match (from, step) {
        (S::Raised | S::Assigned, T::Assign) => Some(S::Assigned),
        (S::Assigned, T::Resolve) => Some(S::Resolved),
        (S::Resolved, T::Verify) => Some(S::Verified),
        (S::Resolved, T::Reopen) => Some(S::Assigned),
        _ => None,
    }
}

/// Whole days started since `since` (an hour late is one day late); 0 when not yet late.
pub fn days_late(minutes_late: i64) -> i64 {
    if minutes_late <= 0 {
        0
    } else {
        (minutes_late + 24 * 60 - 1) / (24 * 60)
    }
}

/// The rules a new installation starts with (editable).
pub fn default_rules() -> Vec<RuleFields> {
    let rule =
        |name: &str, metric, (yellow, orange, red), window_days, tiers: &[Tier]| RuleFields {
            name: name.into(),
            metric,
            yellow,
            orange,
            red,
            window_days,
            tiers: tiers.to_vec(),
            enabled: true,
        };
    vec![
        rule("传递超期", Metric::OverdueHandoffs, (1, 3, 7), 0, &[]),
        rule("交付逾期", Metric::OverdueDeliveries, (1, 7, 15), 0, &[]),
        rule("交期风险", Metric::DeliveryRisk, (1, 5, 10), 0, &[]),
        rule(
            "投诉频次(一般客户)",
            Metric::Complaints,
            (2, 3, 5),
            90,
            &[Tier::General, Tier::Potential],
        ),
        rule(
            "投诉频次(战略·重点客户)",
            Metric::Complaints,
            (1, 2, 3),
            90,
            &[Tier::Strategic, Tier::Key],
        ),
        rule("严重投诉", Metric::SeriousComplaints, (1, 2, 3), 180, &[]),
        rule("响应超时", Metric::SlaBreaches, (2, 4, 8), 30, &[]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use WarningState as S;
    use WarningStep as T;

    #[test]
    fn a_warning_is_assigned_resolved_and_verified() {
        assert_eq!(next(S::Raised, T::Resolve), None, "assign someone first");
        let s = next(S::Raised, T::Assign).unwrap();
        assert_eq!(next(s, T::Assign), Some(S::Assigned), "reassigned");
        let s = next(s, T::Resolve).unwrap();
        assert_eq!(next(s, T::Reopen), Some(S::Assigned));
        assert_eq!(next(s, T::Verify), Some(S::Verified));
        for step in WarningStep::ALL {
            assert_eq!(next(S::Verified, *step), None);
        }
    }

    #[test]
    fn the_highest_threshold_reached_sets_the_level() {
        let r = &default_rules()[0];
        assert_eq!(r.level(0), None);
        assert_eq!(r.level(1), Some(Level::Yellow));
        assert_eq!(r.level(3), Some(Level::Orange));
        assert_eq!(r.level(6), Some(Level::Orange));
        assert_eq!(r.level(40), Some(Level::Red));
    }

    #[test]
    fn thresholds_rise_from_yellow_to_red() {
        let mut r = default_rules()[3].clone();
        r.orange = 1;
        r.red = 0;
        r.window_days = 0;
        let e = r.validate().unwrap_err();
        assert_eq!(e.for_field("orange"), Some("threshold_order"));
        assert_eq!(e.for_field("red"), Some("threshold_order"));
        assert_eq!(e.for_field("window_days"), Some("range"));
        for mut r in default_rules() {
            assert!(r.validate().is_ok(), "{}", r.name);
        }
    }

    #[test]
    fn one_cause_is_one_rule_on_one_subject() {
        assert_eq!(cause(3, Subject::Order, 12), "3:order:12");
        assert_ne!(
            cause(3, Subject::Order, 12),
            cause(3, Subject::Requirement, 12)
        );
    }

    #[test]
    fn any_part_of_a_day_late_counts_as_a_day() {
        assert_eq!(days_late(-5), 0);
        assert_eq!(days_late(0), 0);
        assert_eq!(days_late(60), 1);
        assert_eq!(days_late(24 * 60), 1);
        assert_eq!(days_late(24 * 60 + 1), 2);
    }
}
