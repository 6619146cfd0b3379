//! The maths of the management reports (F26; 001§3.1(3), 002§4.6.3, 003§6.3): shares of a whole,
//! quarters, a customer's grade moving up or down, and the recurring topics of requirement
//! titles (Chinese bigrams, each counted once per requirement).

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

/// `part / whole`, `None` for an empty whole.
pub fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The first and last day of a quarter (1–4).
pub fn quarter(year: i32, q: u32) -> Option<(NaiveDate, NaiveDate)> {
    if !(1..=4).contains(&q) {
        return None;
    }
    let start = NaiveDate::from_ymd_opt(year, (q - 1) * 3 + 1, 1)?;
    let end = if q == 4 {
        NaiveDate::from_ymd_opt(year, 12, 31)?
    } else {
        NaiveDate::from_ymd_opt(year, q * 3 + 1, 1)?.pred_opt()?
    };
    Some((start, end))
}

/// How a grade change moves a customer: `1` up (C → B → A), `-1` down, `0` not at all.
pub fn grade_move(before: &str, after: &str) -> i32 {
    let rank = |g: &str| -> i32 {
        match g {
            "A" => 3,
            "B" => 2,
            "C" => 1,
            _ => 0,
        }
    };
    (rank(after) - rank(before)).signum()
}

/// Words that say nothing about a topic on their own.
const STOP: &[&str] = &[
    "要求", "需求", "客户", "希望", "能否", "是否", "进行", "提供", "相关",
];

/// The topic terms of one title: its distinct Chinese bigrams.
pub fn topic_terms(title: &str) -> HashSet<String> {
    crate::similarity::features(title)
        .into_keys()
        .filter(|k| k.chars().count() == 2 && !k.is_ascii() && !STOP.contains(&k.as_str()))
        .collect()
}

/// Counts, for each term, how many titles mention it.
#[derive(Debug, Default)]
pub struct TopicCounter {
    counts: HashMap<String, i64>,
    pub titles: i64,
}

impl TopicCounter {
    pub fn add(&mut self, title: &str) {
        self.titles += 1;
        for t in topic_terms(title) {
            *self.counts.entry(t).or_default() += 1;
        }
    }

    /// The `k` terms mentioned most often (at least twice), most first, ties by term.
    pub fn top(&self, k: usize) -> Vec<(String, i64)> {
        let mut v: Vec<(String, i64)> = self
            .counts
            .iter()
            .filter(|(_, n)| **n >= 2)
            .map(|(t, n)| (t.clone(), *n))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(k);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_quarters() {
        assert_eq!(share(1, 4), Some(0.25));
        assert_eq!(share(0, 0), None);
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(quarter(2026, 1), Some((d("2026-01-01"), d("2026-03-31"))));
        assert_eq!(quarter(2024, 1).unwrap().1, d("2024-03-31"));
        assert_eq!(quarter(2026, 2), Some((d("2026-04-01"), d("2026-06-30"))));
        assert_eq!(quarter(2026, 4), Some((d("2026-10-01"), d("2026-12-31"))));
        assert_eq!(quarter(2026, 5), None);
    }

    #[test]
    fn grades_move_up_and_down() {
        assert_eq!(grade_move("C", "A"), 1);
        assert_eq!(grade_move("A", "B"), -1);
        assert_eq!(grade_move("B", "B"), 0);
    }

    #[test]
    fn recurring_topics_count_each_title_once() {
        let mut c = TopicCounter::default();
        for t in [
            "交期缩短至30天",
            "交期延误，要求赔偿",
            "包装改为木箱",
            "交期交期再确认",
        ] {
            c.add(t);
        }
        let top = c.top(3);
        assert_eq!(top[0], ("交期".to_string(), 3), "once per title");
        assert!(top.iter().all(|(_, n)| *n >= 2));
        assert!(!topic_terms("客户要求包装").contains("要求"), "stop words");
        assert_eq!(c.titles, 4);
    }
}
