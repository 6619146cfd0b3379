//! Deadlines (F22, 003§4.2), counted on the working calendar: a requirement's current stage by
//! its urgency (urgent — first response within 4 working hours; important — a plan within 2
//! working days; general — contact within 5 working days), a hand-off by its control point, and
//! the complaint clocks of 002§4.3.3.

use chrono::{DateTime, Duration, Utc};

use crate::calendar::Calendar;
use crate::requirement::Urgency;
use crate::standard::DeadlineUnit;

/// How many working minutes a stage may take at this urgency.
pub fn stage_allowance(calendar: &Calendar, urgency: Urgency) -> i64 {
    match urgency {
        Urgency::Urgent => 4 * 60,
        Urgency::Important => 2 * calendar.hours.day_minutes(),
        Urgency::General => 5 * calendar.hours.day_minutes(),
    }
}

/// The due time of a stage entered at `entered`.
pub fn stage_due(calendar: &Calendar, urgency: Urgency, entered: DateTime<Utc>) -> DateTime<Utc> {
    let minutes = stage_allowance(calendar, urgency);
    calendar
        .add_minutes(entered, minutes)
        // A calendar without working time: plain clock time.
        .unwrap_or(entered + Duration::minutes(minutes))
}

/// Whether a stage entered at `entered` is overdue at `now`.
pub fn overdue(
    calendar: &Calendar,
    urgency: Urgency,
    entered: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    now > stage_due(calendar, urgency, entered)
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
        let c = Calendar::built_in();
        // Tuesday 24 November 2026, 16:00 Shanghai.
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap();
        // Urgent: 4 working hours → 1.5 h today, 2.5 h tomorrow → Wednesday 11:00.
        assert_eq!(
            stage_due(&c, Urgency::Urgent, t),
            Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap()
        );
        assert!(overdue(&c, Urgency::Urgent, t, t + Duration::hours(20)));
        // Important: 2 working days → Thursday 16:00; general: 5 → Tuesday 1 December 16:00.
        assert_eq!(stage_due(&c, Urgency::Important, t), t + Duration::days(2));
        assert_eq!(stage_due(&c, Urgency::General, t), t + Duration::days(7));
        assert!(!overdue(&c, Urgency::General, t, t + Duration::days(7)));
        assert!(overdue(
            &c,
            Urgency::General,
            t,
            t + Duration::days(7) + Duration::seconds(1)
        ));
    }
}
