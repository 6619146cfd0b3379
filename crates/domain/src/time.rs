//! Time is injected: the application holds a [`Clock`]; rules take `now` as an argument.
//! Stored as UTC text of one fixed width so that text order is time order; shown in Asia/Shanghai.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The stored form: `2026-11-24T08:30:00.000Z`.
pub fn to_db(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn from_db(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// China Standard Time (UTC+8, no daylight saving since 1991).
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// The calendar date in China at `t`.
pub fn shanghai_date(t: DateTime<Utc>) -> chrono::NaiveDate {
    t.with_timezone(&shanghai()).date_naive()
}

/// A stored timestamp as a person in China reads it: `2026-11-24 16:30`.
pub fn display_local(stored: &str) -> String {
    from_db(stored)
        .map(|t| {
            t.with_timezone(&shanghai())
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| stored.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stored_form_round_trips_and_sorts_as_text() {
        let a = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let b = Utc.with_ymd_and_hms(2026, 11, 2, 3, 4, 5).unwrap();
        assert_eq!(from_db(&to_db(a)), Some(a));
        assert!(to_db(a) < to_db(b));
    }

    #[test]
    fn local_display_is_shanghai_time() {
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 16, 30, 0).unwrap();
        assert_eq!(display_local(&to_db(t)), "2026-11-25 00:30");
    }
}
