//! The working calendar (F22; 003§4.2): business hours, weekends, the Chinese statutory holidays
//! and the make-up working days (调休) as data, and working-time arithmetic on it — add N working
//! minutes or days, measure the working time between two instants. Pure: times in, times out.
//! China keeps one time zone without daylight saving, so local time is UTC+8 throughout.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc, Weekday,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::FieldErrors;

/// Local time (Asia/Shanghai) from UTC.
fn local(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc() + Duration::hours(8)
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    (t - Duration::hours(8)).and_utc()
}

/// One year's holidays and make-up working days, as published by the State Council.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearDays {
    pub year: i32,
    /// Days off (放假), `YYYY-MM-DD`.
    pub holidays: Vec<String>,
    /// Weekend days that are working days (调休上班), `YYYY-MM-DD`.
    pub workdays: Vec<String>,
}

impl YearDays {
    /// Every date well-formed, in the year, and no date both a holiday and a working day.
    pub fn validate(&self) -> Result<(Vec<NaiveDate>, Vec<NaiveDate>), FieldErrors> {
        let mut e = FieldErrors::default();
        if !(2000..=2100).contains(&self.year) {
            e.add("year", "range");
        }
        let mut parse = |field: &str, days: &[String]| {
            let mut out = Vec::new();
            for (i, d) in days.iter().enumerate() {
                match NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d") {
                    Ok(d) if d.year() == self.year => out.push(d),
                    Ok(_) => e.add(format!("{field}[{i}]"), "other_year"),
                    Err(_) => e.add(format!("{field}[{i}]"), "date"),
                }
            }
            out
        };
        let holidays = parse("holidays", &self.holidays);
        let workdays = parse("workdays", &self.workdays);
        if holidays.iter().any(|d| workdays.contains(d)) {
            e.add("workdays", "both_holiday_and_workday");
        }
        e.finish().map(|_| (holidays, workdays))
    }
}

/// Days typed one per line, `YYYY-MM-DD` or a range `YYYY-MM-DD..YYYY-MM-DD` (also `~`, `至`),
/// as a notice lists them; blank lines are skipped. Errors name the line (1-based).
pub fn parse_days(text: &str, field: &str) -> Result<Vec<String>, FieldErrors> {
    let mut e = FieldErrors::default();
    let mut out = Vec::new();
    let date = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line
            .splitn(2, ['~', '至'])
            .flat_map(|p| p.split("..").collect::<Vec<_>>())
            .collect();
        match parts.as_slice() {
            [one] => match date(one) {
                Some(d) => out.push(d.to_string()),
                None => e.add(format!("{field}.line{}", i + 1), "date"),
            },
            [a, b] => match (date(a), date(b)) {
                (Some(a), Some(b)) if a <= b && (b - a).num_days() < 60 => {
                    out.extend(a.iter_days().take_while(|d| *d <= b).map(|d| d.to_string()))
                }
                _ => e.add(format!("{field}.line{}", i + 1), "date_range"),
            },
            _ => e.add(format!("{field}.line{}", i + 1), "date_range"),
        }
    }
    out.sort();
    out.dedup();
    e.finish().map(|_| out)
}

/// Business hours of a working day: `[start, end)` intervals in minutes after local midnight,
/// sorted and apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BusinessHours(pub Vec<(u32, u32)>);

impl Default for BusinessHours {
    /// 08:30–12:00 and 13:00–17:30: eight hours.
    fn default() -> Self {
        BusinessHours(vec![(8 * 60 + 30, 12 * 60), (13 * 60, 17 * 60 + 30)])
    }
}

impl BusinessHours {
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        let mut last = 0;
        if self.0.is_empty() {
            e.add("hours", "required");
        }
        for (i, (a, b)) in self.0.iter().enumerate() {
            if a >= b || *b > 24 * 60 || (i > 0 && *a < last) {
                e.add(format!("hours[{i}]"), "hours");
            }
            last = *b;
        }
        e.finish()
    }

    /// Working minutes in one working day.
    pub fn day_minutes(&self) -> i64 {
        self.0.iter().map(|(a, b)| (b - a) as i64).sum()
    }
}

/// Which days work and when.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Calendar {
    pub hours: BusinessHours,
    pub holidays: BTreeSet<NaiveDate>,
    pub workdays: BTreeSet<NaiveDate>,
}

/// How far the arithmetic looks ahead before giving up on a calendar without working time.
const HORIZON_DAYS: i64 = 3660;

impl Calendar {
    /// The built-in calendar: default business hours and the published years.
    pub fn built_in() -> Calendar {
        let mut c = Calendar::default();
        for y in built_in_years() {
            c.set_year(&y).expect("built-in calendar data is valid");
        }
        c
    }

    /// Replaces one year's holidays and make-up working days.
    pub fn set_year(&mut self, y: &YearDays) -> Result<(), FieldErrors> {
        let (holidays, workdays) = y.validate()?;
        self.holidays.retain(|d| d.year() != y.year);
        self.workdays.retain(|d| d.year() != y.year);
        self.holidays.extend(holidays);
        self.workdays.extend(workdays);
        Ok(())
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        if self.holidays.contains(&d) {
            return false;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// Whether the instant `t` falls in working time.
    pub fn is_working_at(&self, t: DateTime<Utc>) -> bool {
        let l = local(t);
        let second = l.time().num_seconds_from_midnight();
        self.is_working_day(l.date())
            && self
                .hours
                .0
                .iter()
                .any(|(a, b)| a * 60 <= second && second < b * 60)
    }

    /// The working intervals of a day, as local date-times.
    fn intervals(&self, d: NaiveDate) -> impl Iterator<Item = (NaiveDateTime, NaiveDateTime)> + '_ {
        let working = self.is_working_day(d);
        self.hours
            .0
            .iter()
            .filter(move |_| working)
            .map(move |(a, b)| {
                let at = |m: u32| {
                    d.and_time(NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap_or_default())
                        + Duration::minutes(i64::from(m / (24 * 60)) * 24 * 60)
                };
                (at(*a), at(*b))
            })
    }

    /// `start` plus `minutes` of working time (counted in seconds, so a start's seconds carry
    /// through). Zero minutes from a
    /// non-working instant: the next working instant. `None` when the calendar has no working
    /// time within ten years.
    pub fn add_minutes(&self, start: DateTime<Utc>, minutes: i64) -> Option<DateTime<Utc>> {
        let mut left = minutes.max(0) * 60;
        let cursor = local(start);
        let mut day = cursor.date();
        for _ in 0..HORIZON_DAYS {
            for (a, b) in self.intervals(day) {
                let from = a.max(cursor);
                if from >= b {
                    continue;
                }
                let available = (b - from).num_seconds();
                // Zero lands on the next working instant; a span that ends with an interval is
                // due at its end (12:00), not after the break.
                if left < available || (left == available && left > 0) {
                    return Some(utc(from + Duration::seconds(left)));
                }
                left -= available;
            }
            day = day.succ_opt()?;
        }
        None
    }

    /// `start` plus `days` working days of working time (a working day's hours each).
    pub fn add_days(&self, start: DateTime<Utc>, days: i64) -> Option<DateTime<Utc>> {
        self.add_minutes(start, days * self.hours.day_minutes())
    }

    /// The `n`-th working day after `d` (a date: "within two working days").
    pub fn nth_working_day_after(&self, d: NaiveDate, n: u32) -> NaiveDate {
        let mut day = d;
        let mut left = n;
        let mut guard = 0;
        while left > 0 && guard < HORIZON_DAYS {
            day = day.succ_opt().unwrap_or(day);
            if self.is_working_day(day) {
                left -= 1;
            }
            guard += 1;
        }
        day
    }

    /// Working minutes in `[a, b)` (0 when `b <= a`), whole minutes.
    pub fn minutes_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        if b <= a {
            return 0;
        }
        let (la, lb) = (local(a), local(b));
        let mut total = 0;
        let mut day = la.date();
        while day <= lb.date() {
            for (s, e) in self.intervals(day) {
                let from = s.max(la);
                let to = e.min(lb);
                if to > from {
                    total += (to - from).num_seconds();
                }
            }
            match day.succ_opt() {
                Some(d) => day = d,
                None => break,
            }
        }
        total / 60
    }
}

/// The built-in calendar, built once.
pub fn built_in_calendar() -> &'static Calendar {
    static BUILT_IN: std::sync::LazyLock<Calendar> = std::sync::LazyLock::new(Calendar::built_in);
    &BUILT_IN
}

fn span(from: &str, to: &str) -> Vec<String> {
    let (a, b) = (
        NaiveDate::parse_from_str(from, "%Y-%m-%d").expect("date"),
        NaiveDate::parse_from_str(to, "%Y-%m-%d").expect("date"),
    );
    a.iter_days()
        .take_while(|d| *d <= b)
        .map(|d| d.to_string())
        .collect()
}

/// The State Council's notices (国务院办公厅关于 2024 / 2025 / 2026 年部分节假日安排的通知):
/// the days off, weekends included, and the weekend days worked instead.
pub fn built_in_years() -> Vec<YearDays> {
    let year = |year: i32, off: &[(&str, &str)], work: &[&str]| YearDays {
        year,
        holidays: off.iter().flat_map(|(a, b)| span(a, b)).collect(),
        workdays: work.iter().map(|d| d.to_string()).collect(),
    };
    vec![
        // 国办发明电〔2023〕7号
        year(
            2024,
            &[
                ("2024-01-01", "2024-01-01"),
                ("2024-02-10", "2024-02-17"),
                ("2024-04-04", "2024-04-06"),
                ("2024-05-01", "2024-05-05"),
                ("2024-06-10", "2024-06-10"),
                ("2024-09-15", "2024-09-17"),
                ("2024-10-01", "2024-10-07"),
            ],
            &[
                "2024-02-04",
                "2024-02-18",
                "2024-04-07",
                "2024-04-28",
                "2024-05-11",
                "2024-09-14",
                "2024-09-29",
                "2024-10-12",
            ],
        ),
        // 国办发明电〔2024〕12号
        year(
            2025,
            &[
                ("2025-01-01", "2025-01-01"),
                ("2025-01-28", "2025-02-04"),
                ("2025-04-04", "2025-04-06"),
                ("2025-05-01", "2025-05-05"),
                ("2025-05-31", "2025-06-02"),
                ("2025-10-01", "2025-10-08"),
            ],
            &[
                "2025-01-26",
                "2025-02-08",
                "2025-04-27",
                "2025-09-28",
                "2025-10-11",
            ],
        ),
        // 国办发明电〔2025〕7号 (2025-11-04)
        year(
            2026,
            &[
                ("2026-01-01", "2026-01-03"),
                ("2026-02-15", "2026-02-23"),
                ("2026-04-04", "2026-04-06"),
                ("2026-05-01", "2026-05-05"),
                ("2026-06-19", "2026-06-21"),
                ("2026-09-25", "2026-09-27"),
                ("2026-10-01", "2026-10-07"),
            ],
            &[
                "2026-01-04",
                "2026-02-14",
                "2026-02-28",
                "2026-05-09",
                "2026-09-20",
                "2026-10-10",
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// A Shanghai wall-clock time as UTC.
    fn sh(y: i32, m: u32, day: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, day, h, min, 0).unwrap() - Duration::hours(8)
    }

    #[test]
    fn the_national_day_week_and_its_make_up_days() {
        let c = Calendar::built_in();
        // 2025: 1–8 October off, Sunday 28 September and Saturday 11 October worked.
        for day in 1..=8 {
            assert!(!c.is_working_day(NaiveDate::from_ymd_opt(2025, 10, day).unwrap()));
        }
        assert!(c.is_working_day(d("2025-09-28")), "a Sunday worked");
        assert!(c.is_working_day(d("2025-10-11")), "a Saturday worked");
        assert!(c.is_working_day(d("2025-10-09")));
        // 2026: 1–7 October off, 20 September and 10 October worked.
        assert!(!c.is_working_day(d("2026-10-07")));
        assert!(c.is_working_day(d("2026-09-20")) && c.is_working_day(d("2026-10-10")));
        // Spring Festival 2026: nine days off from Sunday 15 February; Saturday 14th worked.
        assert!(c.is_working_day(d("2026-02-14")));
        assert!(!c.is_working_day(d("2026-02-23")), "a Monday off");
        assert!(c.is_working_day(d("2026-02-24")));
        // An ordinary weekend.
        assert!(!c.is_working_day(d("2026-11-28")));
    }

    #[test]
    fn working_time_skips_nights_weekends_and_holidays() {
        let c = Calendar::built_in();
        // Tuesday 30 September 2025, 16:00 + 4 working hours: 1.5 h that day, then the holiday
        // week, then Thursday 9 October 08:30 + 2.5 h = 11:00.
        let due = c.add_minutes(sh(2025, 9, 30, 16, 0), 240).unwrap();
        assert_eq!(due, sh(2025, 10, 9, 11, 0));
        assert_eq!(c.minutes_between(sh(2025, 9, 30, 16, 0), due), 240);
        // Friday 17:00 + 2 working days (16 h) → Tuesday 17:00.
        let due = c.add_days(sh(2026, 11, 27, 17, 0), 2).unwrap();
        assert_eq!(due, sh(2026, 12, 1, 17, 0));
        // From the lunch break: the clock starts at 13:00.
        assert_eq!(
            c.add_minutes(sh(2026, 11, 25, 12, 10), 30).unwrap(),
            sh(2026, 11, 25, 13, 30)
        );
        // Exactly the end of the morning is due at 12:00, not after lunch.
        assert_eq!(
            c.add_minutes(sh(2026, 11, 25, 11, 0), 60).unwrap(),
            sh(2026, 11, 25, 12, 0)
        );
        assert_eq!(
            c.add_minutes(sh(2026, 11, 28, 10, 0), 0).unwrap(),
            sh(2026, 11, 30, 8, 30)
        );
        assert_eq!(c.nth_working_day_after(d("2025-09-30"), 2), d("2025-10-10"));
    }

    #[test]
    fn a_year_is_checked_before_it_replaces_the_old_one() {
        let mut c = Calendar::built_in();
        let bad = YearDays {
            year: 2027,
            holidays: vec![
                "2027-02-30".into(),
                "2026-10-01".into(),
                "2027-05-01".into(),
            ],
            workdays: vec!["2027-05-01".into()],
        };
        let e = bad.validate().unwrap_err();
        assert_eq!(e.for_field("holidays[0]"), Some("date"));
        assert_eq!(e.for_field("holidays[1]"), Some("other_year"));
        assert_eq!(e.for_field("workdays"), Some("both_holiday_and_workday"));
        assert!(c.set_year(&bad).is_err());
        c.set_year(&YearDays {
            year: 2026,
            holidays: vec![],
            workdays: vec![],
        })
        .unwrap();
        assert!(
            c.is_working_day(d("2026-10-08")),
            "2026 replaced: an ordinary Thursday"
        );
        assert!(!c.is_working_day(d("2025-10-08")), "other years untouched");
        assert!(BusinessHours(vec![(600, 500)]).validate().is_err());
        assert!(BusinessHours::default().validate().is_ok());
    }

    #[test]
    fn days_are_typed_as_a_notice_lists_them() {
        let days = parse_days(
            "2027-02-06..2027-02-08\n\n2027-01-01\n2027-05-01 至 2027-05-02\n2027-01-01",
            "h",
        )
        .unwrap();
        assert_eq!(
            days,
            vec![
                "2027-01-01",
                "2027-02-06",
                "2027-02-07",
                "2027-02-08",
                "2027-05-01",
                "2027-05-02"
            ]
        );
        let e = parse_days("2027-02-30\n2027-03-05..2027-03-01", "h").unwrap_err();
        assert_eq!(e.for_field("h.line1"), Some("date"));
        assert_eq!(e.for_field("h.line2"), Some("date_range"));
    }

    #[test]
    fn a_calendar_without_working_time_gives_up() {
        let c = Calendar {
            hours: BusinessHours(vec![]),
            ..Calendar::default()
        };
        assert_eq!(c.add_minutes(sh(2026, 1, 5, 9, 0), 10), None);
    }

    proptest! {
        #[test]
        fn adding_then_measuring_gives_the_same_minutes(
            start in 0i64..(3 * 366 * 24 * 3600),
            minutes in 0i64..(20 * 8 * 60),
        ) {
            let c = Calendar::built_in();
            let t = sh(2024, 1, 1, 0, 0) + Duration::seconds(start);
            let due = c.add_minutes(t, minutes).unwrap();
            prop_assert!(due >= t);
            prop_assert_eq!(c.minutes_between(t, due), minutes);
            if minutes > 0 {
                // The last second counted is working time: it never lands on time off.
                prop_assert!(c.is_working_at(due - Duration::seconds(1)));
            }
        }

        #[test]
        fn working_time_adds_up_over_a_split(
            a in 0i64..(2 * 366 * 24 * 60),
            x in 0i64..(30 * 24 * 60),
            y in 0i64..(30 * 24 * 60),
        ) {
            let c = Calendar::built_in();
            let t0 = sh(2024, 6, 1, 0, 0) + Duration::minutes(a);
            let t1 = t0 + Duration::minutes(x);
            let t2 = t1 + Duration::minutes(y);
            prop_assert_eq!(c.minutes_between(t0, t2), c.minutes_between(t0, t1) + c.minutes_between(t1, t2));
        }
    }
}
