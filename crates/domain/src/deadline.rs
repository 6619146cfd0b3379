//! Deadlines counted on the working calendar: a hand-off by its control point (F10), and the
//! complaint clocks of 002§4.3.3 by the response-time rules (`sla`). A requirement's stage clock
//! is `sla::Clock`.

use chrono::{DateTime, Duration, Utc};

use crate::calendar::Calendar;
use crate::sla::SlaRules;
use crate::standard::DeadlineUnit;

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

/// 002§4.3.3.1: when a complaint registered at `registered` must be confirmed with the customer
/// (4 hours by default; the rule may count working time).
pub fn complaint_confirm_due(
    calendar: &Calendar,
    rules: &SlaRules,
    registered: DateTime<Utc>,
) -> DateTime<Utc> {
    crate::sla::Clock {
        started: registered,
        allowance: rules.complaint_confirm,
        paused: 0,
        waiting_since: None,
    }
    .due(calendar)
}

/// 002§4.3.3.2: the fix date committed to the customer, by default two working days after the
/// decision (a Shanghai date, on the working calendar: weekends, statutory holidays and make-up
/// working days).
pub fn complaint_fix_default(
    calendar: &Calendar,
    rules: &SlaRules,
    decided: DateTime<Utc>,
) -> chrono::NaiveDate {
    calendar.nth_working_day_after(
        crate::time::shanghai_date(decided),
        rules.complaint_fix.value.max(1) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_complaint_fix_is_due_two_working_days_on() {
        let (c, r) = (Calendar::built_in(), SlaRules::default());
        // Thursday 2026-11-26 10:00 in Shanghai → Monday 2026-11-30.
        let thu = Utc.with_ymd_and_hms(2026, 11, 26, 2, 0, 0).unwrap();
        assert_eq!(complaint_fix_default(&c, &r, thu).to_string(), "2026-11-30");
        let mon = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
        assert_eq!(complaint_fix_default(&c, &r, mon).to_string(), "2026-11-25");
        assert_eq!(complaint_confirm_due(&c, &r, mon) - mon, Duration::hours(4));
        // Tuesday 30 September 2025: the National Day week is off → Friday 10 October.
        let before_holiday = Utc.with_ymd_and_hms(2025, 9, 30, 2, 0, 0).unwrap();
        assert_eq!(
            complaint_fix_default(&c, &r, before_holiday).to_string(),
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
}
