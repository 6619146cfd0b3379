//! When a requirement's current stage is due (F22 defaults, 003§4.2: urgent — first response
//! within 4 working hours; important — a plan within 2 working days; general — contact within
//! 5 working days). Counted in plain calendar time for now: this is the one function the
//! working-calendar issue replaces.

use chrono::{DateTime, Duration, Utc};

use crate::calendar::Calendar;
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

/// When a control point's work started at `start` is due (hand-offs, F10): hours on the clock,
/// working days on the working calendar (a working day's hours each; the clock starts at the
/// next working instant).
pub fn due_after(
    calendar: &Calendar,
    start: DateTime<Utc>,
    value: i64,
    unit: DeadlineUnit,
) -> DateTime<Utc> {
    match unit {
        DeadlineUnit::Hours => start + Duration::hours(value),
        DeadlineUnit::WorkingDays => calendar
            .add_days(start, value)
            // A calendar without working time: fall back to calendar days.
            .unwrap_or(start + Duration::days(value)),
    }
}

/// Whether a stage entered at `entered` is overdue at `now`.
pub fn overdue(urgency: Urgency, entered: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now > stage_due(urgency, entered)
}

/// 002§4.3.3.1: a complaint is confirmed with the customer within 4 hours of its registration.
pub fn complaint_confirm_due(registered: DateTime<Utc>) -> DateTime<Utc> {
    registered + Duration::hours(4)
}

/// 002§4.3.3.2: the fix date committed to the customer, by default two working days after the
/// decision (a Shanghai date, on the working calendar: weekends, statutory holidays and make-up
/// working days).
pub fn complaint_fix_default(decided: DateTime<Utc>) -> chrono::NaiveDate {
    crate::calendar::built_in_calendar()
        .nth_working_day_after(crate::time::shanghai_date(decided), 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_complaint_fix_is_due_two_working_days_on() {
        // Thursday 2026-11-26 10:00 in Shanghai → Monday 2026-11-30.
        let thu = Utc.with_ymd_and_hms(2026, 11, 26, 2, 0, 0).unwrap();
        assert_eq!(complaint_fix_default(thu).to_string(), "2026-11-30");
        let mon = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
        assert_eq!(complaint_fix_default(mon).to_string(), "2026-11-25");
        assert_eq!(complaint_confirm_due(mon) - mon, Duration::hours(4));
        // Tuesday 30 September 2025: the National Day week is off → Friday 10 October.
        let before_holiday = Utc.with_ymd_and_hms(2025, 9, 30, 2, 0, 0).unwrap();
        assert_eq!(
            complaint_fix_default(before_holiday).to_string(),
            "2025-10-10"
        );
    }

    #[test]
    fn working_day_deadlines_skip_the_holidays() {
        let c = Calendar::built_in();
        // Tuesday 30 September 2025 10:00 Shanghai + 2 working days → Friday 10 October 10:00.
        let t = Utc.with_ymd_and_hms(2025, 9, 30, 2, 0, 0).unwrap();
        let due = due_after(&c, t, 2, DeadlineUnit::WorkingDays);
        assert_eq!(due, Utc.with_ymd_and_hms(2025, 10, 10, 2, 0, 0).unwrap());
        assert_eq!(
            due_after(&c, t, 4, DeadlineUnit::Hours),
            t + Duration::hours(4)
        );
    }

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
