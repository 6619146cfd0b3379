//! Chinese-aware full-text search (F30). Chinese has no spaces, so a text is indexed as the
//! sequence of its character bigrams (交期延误 → 交期 期延 延误; a lone character stands for
//! itself) and its lower-cased ASCII words and numbers. A query part is looked for as a phrase
//! of consecutive bigrams: 交期 finds 交期延误, and 交货期 (交货 货期) does not contain 交期.
//! Parts separated by spaces must all be present. The store turns a [`Query`] into its
//! database's full-text syntax (SQLite FTS5 or PostgreSQL tsquery); both index the same tokens.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::similarity::is_cjk;

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 100;
/// Most space-separated parts in one query.
pub const MAX_PARTS: usize = 8;

/// The tokens of a text, in order: CJK bigrams (a lone CJK character as itself) and ASCII
/// words/numbers in lower case.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut word = String::new();
    let flush_run = |run: &mut Vec<char>, out: &mut Vec<String>| {
        if run.len() == 1 {
            out.push(run[0].to_string());
        }
        out.extend(run.windows(2).map(|w| w.iter().collect::<String>()));
        run.clear();
    };
    let flush_word = |word: &mut String, out: &mut Vec<String>| {
        if !word.is_empty() {
            out.push(std::mem::take(word));
        }
    };
    for c in text.chars() {
        if is_cjk(c) {
            flush_word(&mut word, &mut out);
            run.push(c);
        } else if c.is_ascii_alphanumeric() {
            flush_run(&mut run, &mut out);
            word.push(c.to_ascii_lowercase());
        } else {
            flush_run(&mut run, &mut out);
            flush_word(&mut word, &mut out);
        }
    }
    flush_run(&mut run, &mut out);
    flush_word(&mut word, &mut out);
    out
}

/// Why a query is refused (400, field `q`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query is empty")]
    Empty,
    #[error("a Chinese search word needs at least two characters")]
    TooShort,
    #[error("the query is too long")]
    TooLong,
}

impl QueryError {
    pub fn code(self) -> &'static str {
        match self {
            QueryError::Empty => "required",
            QueryError::TooShort => "too_short",
            QueryError::TooLong => "too_long",
        }
    }
}

/// A parsed query: phrases (each a run of consecutive tokens) that must all occur.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The parts as typed (for highlighting).
    pub parts: Vec<String>,
    pub phrases: Vec<Vec<String>>,
}

/// Parses what a user typed. Punctuation splits parts like a space does.
pub fn parse(q: &str) -> Result<Query, QueryError> {
    let q = q.trim();
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(QueryError::TooLong);
    }
    let mut parts = Vec::new();
    let mut phrases = Vec::new();
    for part in q.split(|c: char| !(is_cjk(c) || c.is_ascii_alphanumeric())) {
        if part.is_empty() {
            continue;
        }
        let t = tokens(part);
        if t.len() == 1 && t[0].chars().count() == 1 && t[0].chars().all(is_cjk) {
            return Err(QueryError::TooShort);
        }
        if !phrases.contains(&t) {
            parts.push(part.to_lowercase());
            phrases.push(t);
        }
    }
    if phrases.is_empty() {
        return Err(QueryError::Empty);
    }
    if phrases.len() > MAX_PARTS {
        return Err(QueryError::TooLong);
    }
    Ok(Query { parts, phrases })
}

impl Query {
    /// The query in SQLite FTS5 syntax: `"交期 期延" AND "延误"`.
    pub fn fts5(&self) -> String {
        self.phrases
            .iter()
            .map(|p| format!("\"{}\"", p.join(" ")))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The query as a PostgreSQL tsquery literal: `'交期' <-> '期延' & '延误'`.
    pub fn tsquery(&self) -> String {
        self.phrases
            .iter()
            .map(|p| {
                let words: Vec<String> = p.iter().map(|t| format!("'{t}'")).collect();
                format!("({})", words.join(" <-> "))
            })
            .collect::<Vec<_>>()
            .join(" & ")
    }

    /// Whether `text` contains every part literally (case-insensitive for ASCII).
    pub fn matches_literally(&self, text: &str) -> bool {
        let lower = text.to_lowercase();
        self.parts.iter().all(|p| lower.contains(p.as_str()))
    }
}

/// Whether what was typed could be a record's code (`XQ2026-00025`, `C-GD-0006`,
/// `TS-2026-0012`): one word of ASCII letters, digits and dashes with a letter and a digit.
pub fn looks_like_code(q: &str) -> bool {
    let q = q.trim();
    (4..=40).contains(&q.len())
        && q.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && q.chars().any(|c| c.is_ascii_digit())
        && q.chars().any(|c| c.is_ascii_alphabetic())
}

/// The indexed form of a text for SQLite FTS5: its tokens separated by spaces.
pub fn fts5_document(text: &str) -> String {
    tokens(text).join(" ")
}

/// The indexed form of a record as a PostgreSQL tsvector literal with positions
/// (`'交期':1A '期延':2A …`), the title's tokens weighted A; a gap of one position between
/// title and body keeps a phrase from spanning both (as FTS5's two columns do).
pub fn tsvector_document(title: &str, body: &str) -> String {
    // tsvector positions stop at 16383; later tokens still count, at the last position.
    let title = tokens(title);
    let n = title.len();
    let body = tokens(body);
    title
        .iter()
        .enumerate()
        .map(|(i, t)| format!("'{t}':{}A", (i + 1).min(16383)))
        .chain(
            body.iter()
                .enumerate()
                .map(|(i, t)| format!("'{t}':{}", (n + i + 2).min(16383))),
        )
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Customer,
    Requirement,
    Complaint,
    Contract,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Customer,
        Kind::Requirement,
        Kind::Complaint,
        Kind::Contract,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Customer => "customer",
            Kind::Requirement => "requirement",
            Kind::Complaint => "complaint",
            Kind::Contract => "contract",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Up to `width` characters of `text` around the first place a part occurs (the start when
/// none does), with "…" where it was cut.
pub fn snippet(text: &str, query: &Query, width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width {
        return text.to_string();
    }
    let lower: Vec<char> = text.to_lowercase().chars().collect();
    let at = query
        .parts
        .iter()
        .filter_map(|p| find(&lower, &p.chars().collect::<Vec<_>>()))
        .min()
        .unwrap_or(0);
    let start = at.saturating_sub(width / 4).min(chars.len() - width);
    let end = start + width;
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(&chars[start..end]);
    if end < chars.len() {
        out.push('…');
    }
    out
}

fn find(hay: &[char], needle: &[char]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `text` cut into pieces, each marked whether it is an occurrence of a query part (for the
/// page to bold them).
pub fn highlight(text: &str, query: &Query) -> Vec<(String, bool)> {
    let chars: Vec<char> = text.chars().collect();
    // Lower-casing ASCII keeps one char per char, so positions line up.
    let lower: Vec<char> = chars.iter().map(|c| c.to_ascii_lowercase()).collect();
    let parts: Vec<Vec<char>> = query.parts.iter().map(|p| p.chars().collect()).collect();
    let mut marked = vec![false; chars.len()];
    for p in &parts {
        let mut i = 0;
        while i + p.len() <= lower.len() && !p.is_empty() {
            if lower[i..i + p.len()] == p[..] {
                marked[i..i + p.len()].iter_mut().for_each(|m| *m = true);
                i += p.len();
            } else {
                i += 1;
            }
        }
    }
    let mut out: Vec<(String, bool)> = Vec::new();
    for (c, m) in chars.into_iter().zip(marked) {
        match out.last_mut() {
            Some((s, last)) if *last == m => s.push(c),
            _ => out.push((c.to_string(), m)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigrams_and_words() {
        assert_eq!(tokens("交期延误"), ["交期", "期延", "延误"]);
        assert_eq!(tokens("铜 REQ-2026-07"), ["铜", "req", "2026", "07"]);
        assert_eq!(tokens("要求3.5mm公差"), ["要求", "3", "5mm", "公差"]);
        assert!(tokens("，。！").is_empty());
    }

    #[test]
    fn a_two_character_word_is_a_phrase_of_one_bigram() {
        let q = parse("交期").unwrap();
        assert_eq!(q.phrases, vec![vec!["交期".to_string()]]);
        // 交货期 is 交货 货期: the bigram 交期 is not in it.
        assert!(!tokens("交货期").contains(&"交期".to_string()));
        assert!(tokens("交期延误").contains(&"交期".to_string()));
    }

    #[test]
    fn parts_and_syntax() {
        let q = parse("  交期延误，  铜材 ").unwrap();
        assert_eq!(q.parts, ["交期延误", "铜材"]);
        assert_eq!(q.fts5(), "\"交期 期延 延误\" AND \"铜材\"");
        assert_eq!(q.tsquery(), "('交期' <-> '期延' <-> '延误') & ('铜材')");
        assert!(q.matches_literally("铜材交期延误"));
        assert!(!q.matches_literally("铜材交货期延误"));
    }

    #[test]
    fn refusals() {
        assert_eq!(parse("   "), Err(QueryError::Empty));
        assert_eq!(parse("！？"), Err(QueryError::Empty));
        assert_eq!(parse("期"), Err(QueryError::TooShort));
        assert_eq!(parse(&"交".repeat(101)), Err(QueryError::TooLong));
        assert_eq!(parse("a b c d e f g h i"), Err(QueryError::TooLong));
        // Quotes and operators are only separators: nothing reaches the SQL as syntax.
        assert_eq!(
            parse("\"交期\" OR '1'='1").unwrap().fts5(),
            "\"交期\" AND \"or\" AND \"1\""
        );
    }

    #[test]
    fn codes() {
        assert!(looks_like_code("XQ2026-00025"));
        assert!(looks_like_code(" c-gd-0006 "));
        assert!(!looks_like_code("交期"));
        assert!(!looks_like_code("2026"));
        assert!(!looks_like_code("REQ 2026"));
    }

    #[test]
    fn documents() {
        assert_eq!(fts5_document("交期延误 ok"), "交期 期延 延误 ok");
        assert_eq!(
            tsvector_document("交期延误", "铜材"),
            "'交期':1A '期延':2A '延误':3A '铜材':5"
        );
    }

    #[test]
    fn snippets_and_highlights() {
        let q = parse("交期").unwrap();
        let text = format!("{}交期延误{}", "前".repeat(50), "后".repeat(50));
        let s = snippet(&text, &q, 20);
        assert!(
            s.starts_with('…') && s.ends_with('…') && s.contains("交期"),
            "{s}"
        );
        assert_eq!(snippet("短文本", &q, 20), "短文本");
        let h = highlight("客户交期延误，交期", &q);
        assert_eq!(
            h,
            vec![
                ("客户".to_string(), false),
                ("交期".to_string(), true),
                ("延误，".to_string(), false),
                ("交期".to_string(), true),
            ]
        );
    }
}
