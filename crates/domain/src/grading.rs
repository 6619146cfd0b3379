//! Customer grading (F2; 002§4.6.2): customers ranked by their share of the year's total
//! transactions — by default the top 8 are A, ranks 9 to 12 are B, the rest C (configurable).
//! Equal volumes share a rank (1, 2, 2, 4 …), so a tie at a boundary never splits two
//! customers with the same volume into different grades; a customer without transactions is C.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customer::Grade;
use crate::fields::FieldErrors;

/// The last rank of each grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeRules {
    /// Ranks 1..=a_last are A (default 8).
    pub a_last: u32,
    /// Ranks a_last+1..=b_last are B (default 12).
    pub b_last: u32,
}

impl Default for GradeRules {
    fn default() -> Self {
        GradeRules {
            a_last: 8,
            b_last: 12,
        }
    }
}

impl GradeRules {
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        if self.a_last == 0 || self.a_last > 100_000 {
            e.add("a_last", "range");
        }
        if self.b_last < self.a_last || self.b_last > 100_000 {
            e.add("b_last", "range");
        }
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
pub fn grade(volumes: &[(i64, i64)], rules: GradeRules) -> Vec<Graded> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_eight_are_a_the_next_four_b() {
        let volumes: Vec<(i64, i64)> = (1..=15).map(|id| (id, 1000 - id * 10)).collect();
        let g = grade(&volumes, GradeRules::default());
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
        let g = grade(&volumes, GradeRules::default());
        let of = |id: i64| g.iter().find(|x| x.customer_id == id).unwrap();
        assert_eq!((of(8).rank, of(9).rank), (8, 8));
        assert_eq!((of(8).grade, of(9).grade), (Grade::A, Grade::A));
        assert_eq!(of(10).rank, 10);
        assert_eq!(of(12).grade, Grade::B);
        assert_eq!(of(13).grade, Grade::C);
        assert_eq!(of(14).grade, Grade::C, "no transactions");
        assert!(GradeRules {
            a_last: 5,
            b_last: 3
        }
        .validate()
        .is_err());
        let g = grade(
            &volumes,
            GradeRules {
                a_last: 2,
                b_last: 4,
            },
        );
        assert_eq!(g.iter().filter(|x| x.grade == Grade::A).count(), 2);
    }
}
