//! Response-time rules (F22, 003§4.2) and the clocks that follow them. By urgency: urgent — a
//! first response within 4 working hours; important — a detailed plan within 2 working days;
//! general — contact within 5 working days. Complaints (002§4.3.3): confirmed with the customer
//! within 4 hours, fixed within 2 working days. All configurable; working time counts on the
//! working calendar, and a clock stands still while the record waits for the customer.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::calendar::Calendar;
use crate::fields::FieldErrors;
use crate::requirement::Urgency;

closed_set!(
    /// How an allowance is counted: clock hours, or working hours and days on the calendar.
    SlaUnit { Hours => "hours", WorkingHours => "working_hours", WorkingDays => "working_days" }
);

/// A time allowance: so many hours or working hours or working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Allowance {
    pub value: i64,
    pub unit: SlaUnit,
}

impl Allowance {
    const fn new(value: i64, unit: SlaUnit) -> Self {
        Allowance { value, unit }
    }

    /// The allowance in its own measure: minutes on the clock for `hours`, working minutes
    /// otherwise (a working day is a day's business hours).
    pub fn minutes(self, calendar: &Calendar) -> i64 {
        match self.unit {
            SlaUnit::Hours | SlaUnit::WorkingHours => self.value * 60,
            SlaUnit::WorkingDays => self.value * calendar.hours.day_minutes(),
        }
    }

    /// Minutes from `from` to `to` in this allowance's measure (0 when `to` is not later).
    pub fn elapsed(self, calendar: &Calendar, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        match self.unit {
            SlaUnit::Hours => (to - from).num_minutes(),
            _ => calendar.minutes_between(from, to),
        }
    }

    /// `start` plus `minutes` in this allowance's measure.
    fn add(self, calendar: &Calendar, start: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        match self.unit {
            SlaUnit::Hours => start + Duration::minutes(minutes),
            _ => calendar
                .add_minutes(start, minutes)
                // A calendar without working time: plain clock time.
                .unwrap_or(start + Duration::minutes(minutes)),
        }
    }
}

/// The configurable rules; the defaults are F22's and 002§4.3.3's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaRules {
    /// A requirement's stage at urgency `urgent`.
    pub urgent: Allowance,
    pub important: Allowance,
    pub general: Allowance,
    /// 002§4.3.3.1: confirm a complaint with the customer.
    pub complaint_confirm: Allowance,
    /// 002§4.3.3.2: fix a confirmed complaint (the date committed to the customer).
    pub complaint_fix: Allowance,
}

impl Default for SlaRules {
    fn default() -> Self {
        SlaRules {
            urgent: Allowance::new(4, SlaUnit::WorkingHours),
            important: Allowance::new(2, SlaUnit::WorkingDays),
            general: Allowance::new(5, SlaUnit::WorkingDays),
            complaint_confirm: Allowance::new(4, SlaUnit::Hours),
            complaint_fix: Allowance::new(2, SlaUnit::WorkingDays),
        }
    }
}

impl SlaRules {
    pub fn for_urgency(&self, urgency: Urgency) -> Allowance {
        match urgency {
            Urgency::Urgent => self.urgent,
            Urgency::Important => self.important,
            Urgency::General => self.general,
        }
    }

    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        for (field, a) in [
            ("urgent", self.urgent),
            ("important", self.important),
            ("general", self.general),
            ("complaint_confirm", self.complaint_confirm),
            ("complaint_fix", self.complaint_fix),
        ] {
            if !(1..=1000).contains(&a.value) {
                e.add(field, "range");
            }
        }
        if self.complaint_fix.unit != SlaUnit::WorkingDays {
            // The fix is committed to the customer as a date.
            e.add("complaint_fix", "working_days");
        }
        e.finish()
    }
}

/// One running clock: started at `started` with `allowance`, `paused` minutes (in the
/// allowance's measure) spent waiting for the customer before, and `waiting_since` while it
/// waits now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub started: DateTime<Utc>,
    pub allowance: Allowance,
    pub paused: i64,
    pub waiting_since: Option<DateTime<Utc>>,
}

impl Clock {
    /// When the clock runs out if it keeps running from now on (time waiting so far added).
    pub fn due(&self, calendar: &Calendar) -> DateTime<Utc> {
        let budget = self.allowance.minutes(calendar) + self.paused;
        match self.waiting_since {
            None => self.allowance.add(calendar, self.started, budget),
            Some(since) => {
                // The clock stopped at `since`: what was left then is left now.
                let used = self.allowance.elapsed(calendar, self.started, since);
                let left = (budget - used).max(0);
                self.allowance.add(calendar, since, left)
            }
        }
    }

    /// Minutes left at `now` in the allowance's measure; negative once overdue. Frozen while
    /// waiting for the customer.
    pub fn remaining(&self, calendar: &Calendar, now: DateTime<Utc>) -> i64 {
        let budget = self.allowance.minutes(calendar) + self.paused;
        let until = self.waiting_since.map_or(now, |w| w.min(now));
        budget - self.allowance.elapsed(calendar, self.started, until)
    }

    /// Stops the clock at `now` (no-op when already waiting).
    pub fn pause(&mut self, now: DateTime<Utc>) {
        if self.waiting_since.is_none() {
            self.waiting_since = Some(now);
        }
    }

    /// Starts the clock again at `now`, counting the time waited as paused.
    pub fn resume(&mut self, calendar: &Calendar, now: DateTime<Utc>) {
        if let Some(since) = self.waiting_since.take() {
            self.paused += self.allowance.elapsed(calendar, since, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    /// Shanghai wall time as UTC.
    fn sh(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap() - Duration::hours(8)
    }

    fn clock(started: DateTime<Utc>, allowance: Allowance) -> Clock {
        Clock {
            started,
            allowance,
            paused: 0,
            waiting_since: None,
        }
    }

    #[test]
    fn an_urgent_requirement_is_answered_within_four_working_hours() {
        let cal = Calendar::built_in();
        let rules = SlaRules::default();
        // Friday 16:00 → 1.5 h left on Friday, 2.5 h on Monday from 08:30 → Monday 11:00.
        let c = clock(sh(2026, 11, 27, 16, 0), rules.for_urgency(Urgency::Urgent));
        assert_eq!(c.due(&cal), sh(2026, 11, 30, 11, 0));
        assert_eq!(c.remaining(&cal, sh(2026, 11, 28, 12, 0)), 150);
        assert_eq!(c.remaining(&cal, sh(2026, 11, 30, 12, 0)), -60);
    }

    #[test]
    fn stages_are_due_by_urgency() {
        let cal = Calendar::built_in();
        let rules = SlaRules::default();
        // Tuesday 24 November 2026, 16:00 Shanghai.
        let t = sh(2026, 11, 24, 16, 0);
        let due = |u| clock(t, rules.for_urgency(u)).due(&cal);
        // Urgent: 1.5 h today, 2.5 h tomorrow → Wednesday 11:00.
        assert_eq!(due(Urgency::Urgent), sh(2026, 11, 25, 11, 0));
        // Important: 2 working days → Thursday 16:00; general: 5 → Tuesday 1 December 16:00.
        assert_eq!(due(Urgency::Important), t + Duration::days(2));
        assert_eq!(due(Urgency::General), t + Duration::days(7));
        let c = clock(t, rules.for_urgency(Urgency::General));
        assert_eq!(c.remaining(&cal, t + Duration::days(7)), 0);
        assert!(c.remaining(&cal, t + Duration::days(7) + Duration::minutes(1)) < 0);
    }

    #[test]
    fn a_complaint_is_confirmed_within_four_clock_hours() {
        let cal = Calendar::built_in();
        let c = clock(
            sh(2026, 11, 28, 20, 0),
            SlaRules::default().complaint_confirm,
        );
        assert_eq!(c.due(&cal), sh(2026, 11, 29, 0, 0), "a Saturday night too");
    }

    #[test]
    fn the_clock_stands_still_while_waiting_for_the_customer() {
        let cal = Calendar::built_in();
        let mut c = clock(
            sh(2026, 11, 23, 9, 0),
            SlaRules::default().for_urgency(Urgency::Important),
        );
        let due = c.due(&cal);
        // Waits from Monday 10:00 to Wednesday 10:00: two working days added.
        c.pause(sh(2026, 11, 23, 10, 0));
        let left = c.remaining(&cal, sh(2026, 11, 23, 10, 0));
        assert_eq!(c.remaining(&cal, sh(2026, 11, 24, 15, 0)), left, "frozen");
        c.resume(&cal, sh(2026, 11, 25, 10, 0));
        assert_eq!(c.paused, 2 * cal.hours.day_minutes());
        assert_eq!(c.remaining(&cal, sh(2026, 11, 25, 10, 0)), left);
        assert_eq!(c.due(&cal), cal.add_minutes(due, c.paused).unwrap());
    }

    #[test]
    fn rules_are_checked() {
        let mut r = SlaRules::default();
        assert!(r.validate().is_ok());
        r.urgent.value = 0;
        r.complaint_fix.unit = SlaUnit::Hours;
        let e = r.validate().unwrap_err();
        assert_eq!(e.for_field("urgent"), Some("range"));
        assert_eq!(e.for_field("complaint_fix"), Some("working_days"));
    }

    proptest! {
        /// Pausing and resuming shifts the due time by exactly the working time waited, and the
        /// remaining time at resumption equals the remaining time at the pause.
        #[test]
        fn a_pause_moves_the_due_time_by_the_time_waited(
            start in 0i64..(60 * 24 * 300),
            run in 0i64..(60 * 24 * 10),
            wait in 0i64..(60 * 24 * 20),
            unit in 0usize..3,
        ) {
            let cal = Calendar::built_in();
            let started = sh(2025, 1, 1, 0, 0) + Duration::minutes(start);
            let allowance = Allowance { value: 3, unit: SlaUnit::ALL[unit] };
            let mut c = clock(started, allowance);
            let paused_at = started + Duration::minutes(run);
            c.pause(paused_at);
            let at_pause = c.remaining(&cal, paused_at);
            let resumed_at = paused_at + Duration::minutes(wait);
            c.resume(&cal, resumed_at);
            prop_assert_eq!(c.remaining(&cal, resumed_at), at_pause);
            prop_assert_eq!(c.paused, allowance.elapsed(&cal, paused_at, resumed_at));
        }
    }
}
