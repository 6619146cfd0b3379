//! KPIs of requirement handling (F23; 003§5.2 "监控指标"): response timeliness, completion and
//! satisfaction, counted per Shanghai month and summed over a period (a month, a quarter or a
//! year). The counts are kept as the events happen; this module says what each event counts for
//! and how the rates follow from the counts.
//!
//! - **Response timeliness** (需求响应及时率): every response clock — a requirement's stage
//!   (F22) and a hand-off (F10) — counts once: *on time* when it ends within its time, *late*
//!   when it runs out (the month it ran out). Rate = on time ÷ (on time + late).
//! - **Completion** (需求处理完成率): of the requirements received in the period, the share
//!   completed so far (closed after the return visit, or merged into another as a duplicate).
//! - **Satisfaction** (客户满意度): survey answers (scores 1–5) given in the period; the share
//!   satisfied (4 or 5) shown with the distribution and the mean beside it, never alone.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::survey::{self, Histogram};
use crate::time::shanghai_date;

/// The counts of one month (or a sum of months) for one person, department or customer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    /// Requirements received.
    pub received: i64,
    /// Of those, completed so far.
    pub completed: i64,
    /// Response clocks that ended within their time.
    pub on_time: i64,
    /// Response clocks that ran out.
    pub late: i64,
    /// Survey answers by score: `[n(1), …, n(5)]`.
    #[schema(value_type = Vec<i64>)]
    pub scores: Histogram,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.received += o.received;
        self.completed += o.completed;
        self.on_time += o.on_time;
        self.late += o.late;
        for (a, b) in self.scores.iter_mut().zip(o.scores) {
            *a += b;
        }
    }

    /// On time ÷ (on time + late); `None` without responses.
    pub fn timeliness(&self) -> Option<f64> {
        ratio(self.on_time, self.on_time + self.late)
    }

    /// Completed ÷ received; `None` without requirements.
    pub fn completion(&self) -> Option<f64> {
        ratio(self.completed, self.received)
    }

    /// Answers scoring 4 or 5 ÷ answers; `None` without answers.
    pub fn satisfied(&self) -> Option<f64> {
        ratio(self.scores[3] + self.scores[4], survey::count(&self.scores))
    }

    /// The mean score, shown beside the distribution only.
    pub fn mean(&self) -> Option<f64> {
        survey::mean(&self.scores)
    }

    pub fn answers(&self) -> i64 {
        survey::count(&self.scores)
    }
}

fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// How a response clock that ends now counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    OnTime,
    /// Ran out before it ended, and was not counted yet (the breach pass had not seen it).
    Late,
    /// Ran out and was counted when its breach was recorded.
    CountedAlready,
}

/// A clock ends: `overdue` says whether it ran out (waiting time not counted), `breach_recorded`
/// whether its breach is on record already.
pub fn outcome(overdue: bool, breach_recorded: bool) -> Outcome {
    match (breach_recorded, overdue) {
        (true, _) => Outcome::CountedAlready,
        (false, true) => Outcome::Late,
        (false, false) => Outcome::OnTime,
    }
}

closed_set!(
    /// What the KPI rows are grouped by (F23: by department, person and customer).
    Dimension { Department => "department", Person => "person", Customer => "customer" }
);

/// The rates of some counts, as the API and the pages show them next to the counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct Rates {
    pub timeliness: Option<f64>,
    pub completion: Option<f64>,
    /// Share of answers scoring 4 or 5.
    pub satisfied: Option<f64>,
    /// Mean score (beside the distribution in `scores`, never alone).
    pub mean: Option<f64>,
}

impl From<&Counts> for Rates {
    fn from(c: &Counts) -> Rates {
        Rates {
            timeliness: c.timeliness(),
            completion: c.completion(),
            satisfied: c.satisfied(),
            mean: c.mean(),
        }
    }
}

/// The Shanghai month an instant falls in: `2026-11`.
pub fn month_of(t: DateTime<Utc>) -> String {
    month_key(shanghai_date(t))
}

pub fn month_key(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// A reporting period: a month (`2026-11`), a quarter (`2026-Q4`) or a year (`2026`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month(i32, u32),
    Quarter(i32, u32),
    Year(i32),
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        let s = s.trim();
        let year = |y: &str| y.parse::<i32>().ok().filter(|y| (2000..=2100).contains(y));
        if let Some((y, q)) = s.split_once("-Q").or_else(|| s.split_once("-q")) {
            let q: u32 = q.parse().ok().filter(|q| (1..=4).contains(q))?;
            return Some(Period::Quarter(year(y)?, q));
        }
        if let Some((y, m)) = s.split_once('-') {
            let m: u32 = m.parse().ok().filter(|m| (1..=12).contains(m))?;
            return Some(Period::Month(year(y)?, m));
        }
        Some(Period::Year(year(s)?))
    }

    /// The month `t` falls in (Shanghai).
    pub fn month_at(t: DateTime<Utc>) -> Period {
        let d = shanghai_date(t);
        Period::Month(d.year(), d.month())
    }

    /// The first and last month, as `YYYY-MM` keys (text order is time order).
    pub fn months(self) -> (String, String) {
        let key = |y: i32, m: u32| format!("{y:04}-{m:02}");
        match self {
            Period::Month(y, m) => (key(y, m), key(y, m)),
            Period::Quarter(y, q) => (key(y, q * 3 - 2), key(y, q * 3)),
            Period::Year(y) => (key(y, 1), key(y, 12)),
        }
    }

    /// The same kind of period just before.
    pub fn previous(self) -> Period {
        match self {
            Period::Month(y, 1) => Period::Month(y - 1, 12),
            Period::Month(y, m) => Period::Month(y, m - 1),
            Period::Quarter(y, 1) => Period::Quarter(y - 1, 4),
            Period::Quarter(y, q) => Period::Quarter(y, q - 1),
            Period::Year(y) => Period::Year(y - 1),
        }
    }

    /// The period as the API takes it back.
    pub fn key(self) -> String {
        match self {
            Period::Month(y, m) => format!("{y:04}-{m:02}"),
            Period::Quarter(y, q) => format!("{y:04}-Q{q}"),
            Period::Year(y) => format!("{y:04}"),
        }
    }

    /// The months of the period, oldest first.
    pub fn month_keys(self) -> Vec<String> {
        let (from, to) = match self {
            Period::Month(y, m) => ((y, m), (y, m)),
            Period::Quarter(y, q) => ((y, q * 3 - 2), (y, q * 3)),
            Period::Year(y) => ((y, 1), (y, 12)),
        };
        (from.1..=to.1)
            .map(|m| format!("{:04}-{m:02}", from.0))
            .collect()
    }
}

/// The `n` months up to and including `last` (`YYYY-MM`), oldest first: the trend's axis.
pub fn months_back(last: Period, n: usize) -> Vec<String> {
    let (_, mut key) = last.months();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(key.clone());
        let (y, m) = key.split_once('-').map_or((2000, 1), |(y, m)| {
            (y.parse().unwrap_or(2000), m.parse().unwrap_or(1))
        });
        key = Period::Month(y, m).previous().key();
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn rates_follow_from_the_counts() {
        let c = Counts {
            received: 8,
            completed: 6,
            on_time: 9,
            late: 3,
            scores: [1, 1, 2, 4, 2],
        };
        assert_eq!(c.timeliness(), Some(0.75));
        assert_eq!(c.completion(), Some(0.75));
        assert_eq!(c.satisfied(), Some(0.6));
        assert_eq!(c.mean(), Some(3.5));
        assert_eq!(
            Counts::default().timeliness(),
            None,
            "no responses, no rate"
        );
        let mut sum = c;
        sum.add(&c);
        assert_eq!(sum.received, 16);
        assert_eq!(sum.scores, [2, 2, 4, 8, 4]);
        assert_eq!(sum.timeliness(), c.timeliness());
    }

    #[test]
    fn a_clock_counts_once() {
        assert_eq!(outcome(false, false), Outcome::OnTime);
        assert_eq!(outcome(true, false), Outcome::Late);
        assert_eq!(outcome(true, true), Outcome::CountedAlready);
        assert_eq!(
            outcome(false, true),
            Outcome::CountedAlready,
            "a breach on record stays the clock's one count"
        );
    }

    #[test]
    fn months_are_shanghai_months() {
        // 30 November 2026 20:00 UTC is 1 December in Shanghai.
        let t = Utc.with_ymd_and_hms(2026, 11, 30, 20, 0, 0).unwrap();
        assert_eq!(month_of(t), "2026-12");
        assert_eq!(Period::month_at(t), Period::Month(2026, 12));
    }

    #[test]
    fn periods_parse_and_step_back() {
        assert_eq!(Period::parse("2026-11"), Some(Period::Month(2026, 11)));
        assert_eq!(Period::parse("2026-Q4"), Some(Period::Quarter(2026, 4)));
        assert_eq!(Period::parse("2026"), Some(Period::Year(2026)));
        for bad in ["2026-13", "2026-Q5", "26", "abc", "", "2026-00"] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
        assert_eq!(
            Period::Quarter(2026, 2).months(),
            ("2026-04".into(), "2026-06".into())
        );
        assert_eq!(Period::Month(2026, 1).previous(), Period::Month(2025, 12));
        assert_eq!(Period::Quarter(2026, 1).previous().key(), "2025-Q4");
        assert_eq!(Period::Year(2026).month_keys().len(), 12);
        assert_eq!(
            months_back(Period::Month(2026, 2), 3),
            ["2025-12", "2026-01", "2026-02"]
        );
        assert_eq!(months_back(Period::Quarter(2026, 4), 1), ["2026-12"]);
    }
}
