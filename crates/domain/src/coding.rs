//! Customer coding rule (F1, 002§4.6.1): a configurable pattern whose placeholders are filled
//! from the customer, so that the code shows the grade.
//!
//! Placeholders: `{grade}`, `{tier}` (first letter, upper case), `{province}` (Latin
//! abbreviation, `XX` when unknown), `{province_code}` (GB/T 2260), `{year}` and `{seq:N}`
//! (a running number, zero-padded to N digits, counted per rendered prefix).

use crate::customer::{Grade, Tier};
use crate::region;

pub const DEFAULT_RULE: &str = "{grade}-{province}-{seq:4}";

/// The facts a code is made of.
pub struct CodeFacts<'a> {
    pub grade: Grade,
    pub tier: Tier,
    pub province: &'a str,
    pub year: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("unknown placeholder {{{0}}}")]
    UnknownPlaceholder(String),
    #[error("unclosed placeholder")]
    Unclosed,
    #[error("the rule needs exactly one {{seq:N}} with N between 1 and 9")]
    Sequence,
}

/// Checks a rule without rendering it.
pub fn validate(rule: &str) -> Result<(), RuleError> {
    let facts = CodeFacts {
        grade: Grade::C,
        tier: Tier::General,
        province: "",
        year: 2000,
    };
    split(rule, &facts).map(|_| ())
}

/// Splits a rule into the prefix before `{seq:N}`, the digit count N and the suffix after it.
/// The sequence is counted per (prefix, suffix), so `A-JS-` and `B-JS-` number independently.
pub fn split(rule: &str, facts: &CodeFacts) -> Result<(String, usize, String), RuleError> {
    let mut before = String::new();
    let mut after = String::new();
    let mut width = None;
    let mut rest = rule;
    while let Some(open) = rest.find('{') {
        let target = if width.is_some() {
            &mut after
        } else {
            &mut before
        };
        target.push_str(&rest[..open]);
        let close = rest[open..].find('}').ok_or(RuleError::Unclosed)? + open;
        let name = &rest[open + 1..close];
        match name {
            "grade" => target.push_str(facts.grade.as_str()),
            "tier" => target.push_str(&facts.tier.as_str()[..1].to_uppercase()),
            "province" => target.push_str(region::province(facts.province).map_or("XX", |p| p.2)),
            "province_code" => {
                target.push_str(region::province(facts.province).map_or("00", |p| p.1))
            }
            "year" => target.push_str(&facts.year.to_string()),
            _ => match name
                .strip_prefix("seq:")
                .and_then(|n| n.parse::<usize>().ok())
            {
                Some(n) if (1..=9).contains(&n) && width.is_none() => width = Some(n),
                Some(_) => return Err(RuleError::Sequence),
                None => return Err(RuleError::UnknownPlaceholder(name.to_string())),
            },
        }
        rest = &rest[close + 1..];
    }
    let width = width.ok_or(RuleError::Sequence)?;
    after.push_str(rest);
    Ok((before, width, after))
}

/// The code for running number `seq`.
pub fn render(prefix: &str, width: usize, suffix: &str, seq: i64) -> String {
    format!("{prefix}{seq:0width$}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> CodeFacts<'static> {
        CodeFacts {
            grade: Grade::A,
            tier: Tier::Strategic,
            province: "江苏省",
            year: 2026,
        }
    }

    #[test]
    fn default_rule_shows_grade_and_province() {
        let (p, w, s) = split(DEFAULT_RULE, &facts()).unwrap();
        assert_eq!(render(&p, w, &s, 7), "A-JS-0007");
    }

    #[test]
    fn every_placeholder_renders() {
        let (p, w, s) = split("KH{year}{tier}{province_code}{grade}{seq:3}X", &facts()).unwrap();
        assert_eq!(render(&p, w, &s, 12), "KH2026S32A012X");
    }

    #[test]
    fn bad_rules_are_refused() {
        assert_eq!(validate("{grade}"), Err(RuleError::Sequence));
        assert_eq!(validate("{seq:4}{seq:2}"), Err(RuleError::Sequence));
        assert_eq!(validate("{seq:0}"), Err(RuleError::Sequence));
        assert_eq!(
            validate("{foo}{seq:2}"),
            Err(RuleError::UnknownPlaceholder("foo".into()))
        );
        assert_eq!(validate("{grade"), Err(RuleError::Unclosed));
        assert_eq!(validate("C{seq:5}"), Ok(()));
    }

    #[test]
    fn unknown_province_renders_placeholder_letters() {
        let f = CodeFacts {
            province: "",
            ..facts()
        };
        let (p, _, _) = split(DEFAULT_RULE, &f).unwrap();
        assert_eq!(p, "A-XX-");
    }
}
