//! When a requirement's current stage is due (F22 defaults, 003§4.2: urgent — first response
//! within 4 working hours; important — a plan within 2 working days; general — contact within
//! 5 working days). Counted in plain calendar time for now: this is the one function the
//! working-calendar issue replaces.

use chrono::{DateTime, Duration, Utc};

use crate::requirement::Urgency;
use crate::standard::DeadlineUnit;

/// How long a stage may take at this urgency.
pub fn stage_allowance(urgency: Urgency) -> Duration {
    match urgency {
        Urgency::Urgent => Duration::hours(24),
        Urgency::Important => Duration::days(2),
        Urgency::General => Duration::days(5),
    }
}

/// The due time of a stage entered at `entered`.
pub fn stage_due(urgency: Urgency, entered: DateTime<Utc>) -> DateTime<Utc> {
    entered + stage_allowance(urgency)
}

/// When a control point's work started at `start` is due (hand-offs, F10).
pub fn due_after(start: DateTime<Utc>, value: i64, unit: DeadlineUnit) -> DateTime<Utc> {
    match unit {
        DeadlineUnit::Hours => start + Duration::hours(value),
        DeadlineUnit::WorkingDays => start + Duration::days(value),
    }
}

/// Whether a stage entered at `entered` is overdue at `now`.
pub fn overdue(urgency: Urgency, entered: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now > stage_due(urgency, entered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn urgent_stages_are_due_first() {
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap();
        assert!(overdue(Urgency::Urgent, t, t + Duration::hours(25)));
        assert!(!overdue(Urgency::Important, t, t + Duration::hours(25)));
        assert!(!overdue(Urgency::General, t, t + Duration::days(5)));
        assert!(overdue(
            Urgency::General,
            t,
            t + Duration::days(5) + Duration::seconds(1)
        ));
    }
}
