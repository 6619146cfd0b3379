//! Chinese-aware text similarity for finding duplicate and contradictory requirements (F7,
//! 003§3, 002§4.2A). Texts are compared as bags of character bigrams (Chinese has no spaces,
//! so bigrams stand in for words: 交期 / 期缩 / 缩短 …) plus whole ASCII words and numbers,
//! by cosine similarity. A contradiction is a similar pair that states different numbers for
//! the same unit (30天 vs 45天) or where one side negates what the other asks.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

/// Pairs at or above this score are worth showing.
pub const SIMILAR: f64 = 0.30;
/// Pairs of one customer at or above this score are probable duplicates.
pub const DUPLICATE: f64 = 0.60;

pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

/// The features of a text: CJK character bigrams (single characters for a lone one) and
/// lower-cased ASCII words/numbers.
pub fn features(text: &str) -> HashMap<String, f64> {
    let mut out: HashMap<String, f64> = HashMap::new();
    let mut run: Vec<char> = Vec::new();
    let mut word = String::new();
    let flush_run = |run: &mut Vec<char>, out: &mut HashMap<String, f64>| {
        if run.len() == 1 {
            *out.entry(run[0].to_string()).or_default() += 1.0;
        }
        for pair in run.windows(2) {
            *out.entry(pair.iter().collect()).or_default() += 1.0;
        }
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            if !word.is_empty() {
                *out.entry(std::mem::take(&mut word)).or_default() += 1.0;
            }
            run.push(c);
        } else if c.is_alphanumeric() || c == '.' {
            flush_run(&mut run, &mut out);
            word.extend(c.to_lowercase());
        } else {
            flush_run(&mut run, &mut out);
            if !word.is_empty() {
                *out.entry(std::mem::take(&mut word)).or_default() += 1.0;
            }
        }
    }
    flush_run(&mut run, &mut out);
    if !word.is_empty() {
        *out.entry(word).or_default() += 1.0;
    }
    out
}

/// Cosine similarity of two feature bags, 0.0 … 1.0.
pub fn cosine(a: &HashMap<String, f64>, b: &HashMap<String, f64>) -> f64 {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let dot: f64 = small
        .iter()
        .filter_map(|(k, v)| large.get(k).map(|w| v * w))
        .sum();
    let norm = |m: &HashMap<String, f64>| m.values().map(|v| v * v).sum::<f64>().sqrt();
    let d = norm(a) * norm(b);
    if d == 0.0 {
        0.0
    } else {
        dot / d
    }
}

pub fn similarity(a: &str, b: &str) -> f64 {
    cosine(&features(a), &features(b))
}

/// Numbers with the unit written right after them: `30天` → ("天", 30).
fn quantities(text: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let number: String = chars[start..i].iter().collect();
            // The unit: one Chinese character (天, 年, 件) or a run of letters and % (K, dB, mm).
            let unit: String = match chars.get(i) {
                Some(c) if is_cjk(*c) => c.to_string(),
                _ => chars[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphabetic() || **c == '%')
                    .collect(),
            };
            if !unit.is_empty() {
                out.push((unit, number));
            }
        } else {
            i += 1;
        }
    }
    out
}

const NEGATIONS: [&str; 8] = ["不", "无需", "禁止", "取消", "不得", "不要", "无须", "免"];

fn negated(text: &str) -> bool {
    NEGATIONS.iter().any(|n| text.contains(n))
}

/// Whether two similar texts contradict each other.
pub fn contradicts(a: &str, b: &str) -> bool {
    let (qa, qb) = (quantities(a), quantities(b));
    let different_number = qa
        .iter()
        .any(|(unit, n)| qb.iter().any(|(u, m)| u == unit && m != n));
    different_number || negated(a) != negated(b)
}

/// How a candidate relates to the requirement being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The same customer asks (nearly) the same thing again.
    Duplicate,
    /// Similar, but the numbers or the negation disagree: goes on the customer-feedback register.
    Contradiction,
    /// Similar wording (e.g. an earlier requirement for a similar product).
    Similar,
}

/// Classifies a candidate, or `None` when it is not similar enough to show.
pub fn relate(text: &str, other: &str, same_customer: bool) -> Option<(f64, Relation)> {
    let score = similarity(text, other);
    if score < SIMILAR {
        return None;
    }
    let relation = if contradicts(text, other) {
        Relation::Contradiction
    } else if same_customer && score >= DUPLICATE {
        Relation::Duplicate
    } else {
        Relation::Similar
    };
    Some((score, relation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_character_words_are_found() {
        // 交期 must match 交期延误, while 交货期 shares no bigram with 交期 and stays apart.
        assert!(similarity("交期", "交期延误") > 0.5);
        assert_eq!(similarity("交期", "交货期"), 0.0);
    }

    #[test]
    fn near_duplicates_score_high_and_unrelated_low() {
        let a = "首批交期缩短到30天";
        assert!(similarity(a, "首批产品交期缩短至30天") >= DUPLICATE);
        assert!(similarity(a, "外观颜色统一为RAL7035") < SIMILAR);
        assert!((similarity(a, a) - 1.0).abs() < 1e-9);
        assert_eq!(similarity("", a), 0.0);
    }

    #[test]
    fn different_numbers_for_the_same_unit_contradict() {
        assert!(contradicts("首批交期缩短到30天", "首批交期缩短到45天"));
        assert!(!contradicts("首批交期缩短到30天", "首批交期为30天"));
        assert!(contradicts(
            "需要提供RoHS检测报告",
            "不需要提供RoHS检测报告"
        ));
        assert_eq!(
            relate("首批交期缩短到30天", "首批交期缩短到45天", true).map(|r| r.1),
            Some(Relation::Contradiction)
        );
        assert_eq!(
            relate("首批交期缩短到30天", "首批产品交期缩短至30天", true).map(|r| r.1),
            Some(Relation::Duplicate)
        );
        assert_eq!(
            relate("首批交期缩短到30天", "首批产品交期缩短至30天", false).map(|r| r.1),
            Some(Relation::Similar)
        );
    }

    #[test]
    fn ascii_words_and_units_are_features() {
        let f = features("噪声75dB(A)以内");
        assert!(f.contains_key("75db") && f.contains_key("噪声"));
        let q = quantities("温升不超过85K，寿命30年，噪声75dB");
        let expected =
            [("K", "85"), ("年", "30"), ("dB", "75")].map(|(u, n)| (u.to_string(), n.to_string()));
        assert_eq!(q, expected);
    }
}
