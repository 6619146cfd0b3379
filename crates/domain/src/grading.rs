//! Customer grading (F2; 002§4.6.2, 004§1.1, 004§1.3, 001§4): customers ranked by their share of
//! the year's total transactions — by default the top 8 are A, ranks 9 to 12 are B, the rest C
//! (configurable). Equal volumes share a rank (1, 2, 2, 4 …), so a tie at a boundary never
//! splits two customers with the same volume into different grades; a customer without
//! transactions is C.
//!
//! Evaluation runs (004§1.3: "年度确定、半年调整") compute a candidate list with the evidence of
//! 001§4 beside each proposal — the year's rank and share, the three-year rank, a long-term
//! agreement, government tasks, influence, growth — for the evaluation committee to adjust and
//! approve; the tiers (strategic / key / general / potential) are proposed from the grade and
//! that evidence by `propose_tier`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customer::{Grade, Tier};
use crate::fields::FieldErrors;

closed_set!(
    /// 004§1.3: the annual determination and the semiannual adjustment.
    RunKind { Annual => "annual", Semiannual => "semiannual" }
);

closed_set!(
    /// A run's candidate list is drafted, then approved (applied) or rejected by the committee.
    RunState { Draft => "draft", Approved => "approved", Rejected => "rejected" }
);

/// The last rank of each grade, and the customer tags that stand for the evidence of 001§4.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeRules {
    /// Ranks 1..=a_last are A (default 8).
    pub a_last: u32,
    /// Ranks a_last+1..=b_last are B (default 12).
    pub b_last: u32,
    /// The tag of customers with a long-term agreement (与质检机构签订长期委托协议).
    #[serde(default = "tag_long_term")]
    pub long_term_tag: String,
    /// The tag of government bodies that issue mandatory tasks (下达指令性任务的行政机关).
    #[serde(default = "tag_government")]
    pub government_tag: String,
    /// The tag of benchmark customers of wide influence (社会影响力大的标杆性客户).
    #[serde(default = "tag_influence")]
    pub influence_tag: String,
}

fn tag_long_term() -> String {
    "长期协议".into()
}
fn tag_government() -> String {
    "政府任务".into()
}
fn tag_influence() -> String {
    "标杆客户".into()
}

impl Default for GradeRules {
    fn default() -> Self {
        GradeRules {
            a_last: 8,
            b_last: 12,
            long_term_tag: tag_long_term(),
            government_tag: tag_government(),
            influence_tag: tag_influence(),
        }
    }
}

impl GradeRules {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        if self.a_last == 0 || self.a_last > 100_000 {
            e.add("a_last", "range");
        }
        if self.b_last < self.a_last || self.b_last > 100_000 {
            e.add("b_last", "range");
        }
        e.required("long_term_tag", &mut self.long_term_tag, 20);
        e.required("government_tag", &mut self.government_tag, 20);
        e.required("influence_tag", &mut self.influence_tag, 20);
        e.finish()
    }

    pub fn grade(&self, rank: u32, volume: i64) -> Grade {
        match rank {
            _ if volume <= 0 => Grade::C,
            r if r <= self.a_last => Grade::A,
            r if r <= self.b_last => Grade::B,
            _ => Grade::C,
        }
    }
}

/// One customer's place in a grading run: the evidence beside the grade.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Graded {
    pub customer_id: i64,
    pub volume: i64,
    /// Share of the total volume of all customers graded.
    pub share: f64,
    /// 1 for the largest; equal volumes share a rank.
    pub rank: u32,
    pub grade: Grade,
}

/// Grades customers by their yearly volume (`(customer id, volume)`), largest first; ties by id.
pub fn grade(volumes: &[(i64, i64)], rules: &GradeRules) -> Vec<Graded> {
    let total: i64 = volumes.iter().map(|(_, v)| (*v).max(0)).sum();
    let mut sorted: Vec<(i64, i64)> = volumes.to_vec();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out: Vec<Graded> = Vec::with_capacity(sorted.len());
    for (i, (id, volume)) in sorted.iter().enumerate() {
        let rank = match out.last() {
            Some(prev) if prev.volume == *volume => prev.rank,
            _ => i as u32 + 1,
        };
        out.push(Graded {
            customer_id: *id,
            volume: *volume,
            share: if total > 0 {
                (*volume).max(0) as f64 / total as f64
            } else {
                0.0
            },
            rank,
            grade: rules.grade(rank, *volume),
        });
    }
    out
}

/// Why a step on a run is refused (422).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("the run is decided already")]
    Decided,
    #[error("the one who computed a run does not approve it")]
    OwnRun,
    #[error("another run is being drafted")]
    DraftOpen,
}

impl RunError {
    pub fn code(self) -> &'static str {
        match self {
            RunError::Decided => "run_decided",
            RunError::OwnRun => "own_run",
            RunError::DraftOpen => "draft_open",
        }
    }
}

/// The committee decides a drafted run, and not the person who computed it (four eyes).
pub fn check_decision(state: RunState, created_by: i64, actor: i64) -> Result<(), RunError> {
    if state != RunState::Draft {
        return Err(RunError::Decided);
    }
    if created_by == actor {
        return Err(RunError::OwnRun);
    }
    Ok(())
}

/// What the committee reads beside a proposal (001§4, 004§1.3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Evidence {
    /// Rank by the three years' volume (this year's and the two before, as recorded).
    pub rank_3y: u32,
    pub long_term: bool,
    pub government: bool,
    pub influential: bool,
    /// This year's volume against last year's recorded one (`None` without last year's).
    pub growth: Option<f64>,
}

/// The tier a grading proposes (004§1.1 "战略用户、重点用户、一般用户和潜在用户"):
/// - strategic: grade A with a lasting tie — a long-term agreement, government tasks, or a place
///   in the top ranks over three years;
/// - key: grade A or B, or any of the evidence of 001§4 (long-term agreement, government tasks,
///   influence);
/// - potential: no transactions yet;
/// - general: the rest.
pub fn propose_tier(grade: Grade, volume: i64, e: &Evidence, rules: &GradeRules) -> Tier {
    let lasting = e.long_term || e.government || (e.rank_3y > 0 && e.rank_3y <= rules.a_last);
    match grade {
        Grade::A if lasting => Tier::Strategic,
        Grade::A | Grade::B => Tier::Key,
        _ if e.long_term || e.government || e.influential => Tier::Key,
        _ if volume <= 0 => Tier::Potential,
        _ => Tier::General,
    }
}

/// `(this - last) / last`, `None` when last year is unknown or zero.
pub fn growth(this: i64, last: Option<i64>) -> Option<f64> {
    match last {
        Some(l) if l > 0 => Some((this - l) as f64 / l as f64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_eight_are_a_the_next_four_b() {
        let volumes: Vec<(i64, i64)> = (1..=15).map(|id| (id, 1000 - id * 10)).collect();
        let g = grade(&volumes, &GradeRules::default());
        let grades: Vec<&str> = g.iter().map(|x| x.grade.as_str()).collect();
        assert_eq!(grades, [vec!["A"; 8], vec!["B"; 4], vec!["C"; 3]].concat());
        let total: f64 = g.iter().map(|x| x.share).sum();
        assert!((total - 1.0).abs() < 1e-9);
        assert_eq!(g[0].customer_id, 1);
    }

    #[test]
    fn ties_share_a_rank_and_a_grade() {
        // Ranks: 1, 2, 2 … the 8th and 9th have the same volume: both rank 8, both A; the next
        // rank is 10.
        let mut volumes: Vec<(i64, i64)> = (1..=7).map(|id| (id, 100 - id)).collect();
        volumes.push((8, 50));
        volumes.push((9, 50));
        volumes.extend([(10, 40), (11, 30), (12, 20), (13, 10), (14, 0)]);
        let g = grade(&volumes, &GradeRules::default());
        let of = |id: i64| g.iter().find(|x| x.customer_id == id).unwrap();
        assert_eq!((of(8).rank, of(9).rank), (8, 8));
        assert_eq!((of(8).grade, of(9).grade), (Grade::A, Grade::A));
        assert_eq!(of(10).rank, 10);
        assert_eq!(of(12).grade, Grade::B);
        assert_eq!(of(13).grade, Grade::C);
        assert_eq!(of(14).grade, Grade::C, "no transactions");
        assert!(GradeRules {
            a_last: 5,
            b_last: 3,
            ..Default::default()
        }
        .validate()
        .is_err());
        let g = grade(
            &volumes,
            &GradeRules {
                a_last: 2,
                b_last: 4,
                ..Default::default()
            },
        );
        assert_eq!(g.iter().filter(|x| x.grade == Grade::A).count(), 2);
    }

    #[test]
    fn tiers_follow_grade_and_evidence() {
        let r = GradeRules::default();
        let none = Evidence::default();
        let long = Evidence {
            long_term: true,
            ..none
        };
        let top3 = Evidence { rank_3y: 3, ..none };
        assert_eq!(propose_tier(Grade::A, 100, &long, &r), Tier::Strategic);
        assert_eq!(propose_tier(Grade::A, 100, &top3, &r), Tier::Strategic);
        assert_eq!(
            propose_tier(Grade::A, 100, &none, &r),
            Tier::Key,
            "A, a first year"
        );
        assert_eq!(propose_tier(Grade::B, 100, &long, &r), Tier::Key);
        let gov = Evidence {
            government: true,
            ..none
        };
        assert_eq!(
            propose_tier(Grade::C, 0, &gov, &r),
            Tier::Key,
            "a government issuer"
        );
        assert_eq!(propose_tier(Grade::C, 0, &none, &r), Tier::Potential);
        assert_eq!(propose_tier(Grade::C, 10, &none, &r), Tier::General);
        assert_eq!(growth(120, Some(100)), Some(0.2));
        assert_eq!(growth(120, Some(0)), None);
        assert_eq!(growth(120, None), None);
    }

    #[test]
    fn the_committee_decides_a_draft_it_did_not_compute() {
        assert_eq!(check_decision(RunState::Draft, 1, 2), Ok(()));
        assert_eq!(check_decision(RunState::Draft, 2, 2), Err(RunError::OwnRun));
        assert_eq!(
            check_decision(RunState::Approved, 1, 2),
            Err(RunError::Decided)
        );
    }

    #[test]
    fn rules_name_their_evidence_tags() {
        let mut r = GradeRules {
            long_term_tag: "  ".into(),
            ..Default::default()
        };
        let e = r.validate().unwrap_err();
        assert_eq!(e.for_field("long_term_tag"), Some("required"));
        let r: GradeRules = serde_json::from_str(r#"{"a_last": 10, "b_last": 20}"#).unwrap();
        assert_eq!(r.long_term_tag, "长期协议", "tags default when absent");
    }
}
