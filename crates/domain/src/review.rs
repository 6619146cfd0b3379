//! Multi-department review (F11, 000§5(1), 002§4.2B): a round is the identification items ×
//! the aspects under review (technical, test, process, delivery, price, quality, after-sales);
//! the department of each aspect answers every item; the conclusion follows from the answers;
//! an approver signs it. A customer under tightened control also needs a quality review.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::FieldErrors;
use crate::ids::DepartmentId;

closed_set!(
    /// What a review looks at (000§5(1) "技术、试验、工艺、交期、价格、质量、售后").
    Aspect {
        Technical => "technical",
        Test => "test",
        Process => "process",
        Delivery => "delivery",
        Price => "price",
        Quality => "quality",
        AfterSales => "after_sales",
    }
);

impl Aspect {
    /// The department (by code) that answers this aspect.
    pub fn department_code(self) -> &'static str {
        match self {
            Aspect::Technical => "design",
            Aspect::Test | Aspect::Quality => "quality",
            Aspect::Process => "process",
            Aspect::Delivery => "production",
            Aspect::Price => "marketing",
            Aspect::AfterSales => "after_sales",
        }
    }

    /// The aspects a department (by code) answers.
    pub fn answered_by(department_code: &str) -> impl Iterator<Item = Aspect> + '_ {
        Aspect::ALL
            .iter()
            .copied()
            .filter(move |a| a.department_code() == department_code)
    }
}

closed_set!(
    /// One department's answer on one item.
    Answer {
        CanMeet => "can_meet",
        WithConditions => "with_conditions",
        CannotMeet => "cannot_meet",
    }
);

closed_set!(
    /// What the answers add up to.
    Conclusion {
        Pending => "pending",
        Met => "met",
        Conditional => "conditional",
        NotMet => "not_met",
    }
);

closed_set!(
    /// A round is open until an approver signs it.
    RoundStatus { Open => "open", Approved => "approved" }
);

/// The conclusion of a round expecting `expected` answers: pending until every item has every
/// aspect's answer; then not met if anything cannot be met, conditional if anything needs a
/// condition, else met.
pub fn conclusion(expected: usize, answers: &[Answer]) -> Conclusion {
    let count = |a: Answer| answers.iter().filter(|x| **x == a).count();
    conclusion_of_counts(
        expected,
        answers.len(),
        count(Answer::CannotMeet),
        count(Answer::WithConditions),
    )
}

/// The same rule from counts of answers (what storage reads in one query).
pub fn conclusion_of_counts(
    expected: usize,
    answered: usize,
    cannot: usize,
    conditional: usize,
) -> Conclusion {
    if answered < expected {
        Conclusion::Pending
    } else if cannot > 0 {
        Conclusion::NotMet
    } else if conditional > 0 {
        Conclusion::Conditional
    } else {
        Conclusion::Met
    }
}

/// One answer as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerFields {
    pub item_id: i64,
    pub aspect: Aspect,
    pub answer: Answer,
    /// The condition (with conditions) or the deviation proposal (cannot meet).
    #[serde(default)]
    pub note: String,
}

impl AnswerFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.optional("note", &mut self.note, 2000);
        if self.note.is_empty() {
            match self.answer {
                Answer::WithConditions => e.add("note", "condition_required"),
                Answer::CannotMeet => e.add("note", "deviation_required"),
                Answer::CanMeet => {}
            }
        }
        e.finish()
    }
}

/// Why a review step is refused (422).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("this item and aspect are answered already")]
    AlreadyAnswered,
    #[error("the aspect is not under review in this round")]
    AspectNotReviewed,
    #[error("the aspect belongs to another department")]
    WrongDepartment,
    #[error("the round is approved already")]
    RoundClosed,
    #[error("not every item has every aspect's answer yet")]
    Incomplete,
    #[error("a customer under tightened control needs a quality review first")]
    QualityReviewRequired,
    #[error("an item cannot be met: agree a deviation with the customer and review again")]
    NotMet,
    #[error("the requirement is not in the review stage")]
    NotInReview,
    #[error("the requirement has no identification items to review")]
    NoItems,
    #[error("an open review round exists already")]
    RoundOpen,
}

impl ReviewError {
    pub fn code(self) -> &'static str {
        match self {
            ReviewError::AlreadyAnswered => "already_answered",
            ReviewError::AspectNotReviewed => "aspect_not_reviewed",
            ReviewError::WrongDepartment => "wrong_department",
            ReviewError::RoundClosed => "round_closed",
            ReviewError::Incomplete => "review_incomplete",
            ReviewError::QualityReviewRequired => "quality_review_required",
            ReviewError::NotMet => "review_not_met",
            ReviewError::NotInReview => "not_in_review",
            ReviewError::NoItems => "no_items",
            ReviewError::RoundOpen => "round_open",
        }
    }
}

/// Whether a member of `answerer` answers the aspect belonging to `aspect_department`: its own
/// department's aspects; an administrator any.
pub fn answers(
    aspect_department: Option<DepartmentId>,
    answerer: Option<DepartmentId>,
    is_admin: bool,
) -> bool {
    is_admin || (aspect_department.is_some() && answerer == aspect_department)
}

/// Whether an answer may be given: the round is open, the aspect is under review, nobody
/// answered this item and aspect, and the answerer belongs to the aspect's department (an
/// administrator may answer for any).
pub fn check_answer(
    status: RoundStatus,
    aspects: &[Aspect],
    aspect: Aspect,
    already_answered: bool,
    answerer_department: Option<DepartmentId>,
    aspect_department: Option<DepartmentId>,
    is_admin: bool,
) -> Result<(), ReviewError> {
    if status != RoundStatus::Open {
        return Err(ReviewError::RoundClosed);
    }
    if !aspects.contains(&aspect) {
        return Err(ReviewError::AspectNotReviewed);
    }
    if !answers(aspect_department, answerer_department, is_admin) {
        return Err(ReviewError::WrongDepartment);
    }
    if already_answered {
        return Err(ReviewError::AlreadyAnswered);
    }
    Ok(())
}

/// Whether the approver may sign: open, complete, quality-reviewed when required, and met
/// (with or without conditions).
pub fn check_approve(
    status: RoundStatus,
    conclusion: Conclusion,
    quality_required: bool,
    quality_done: bool,
) -> Result<(), ReviewError> {
    if status != RoundStatus::Open {
        return Err(ReviewError::RoundClosed);
    }
    match conclusion {
        Conclusion::Pending => Err(ReviewError::Incomplete),
        _ if quality_required && !quality_done => Err(ReviewError::QualityReviewRequired),
        Conclusion::NotMet => Err(ReviewError::NotMet),
        Conclusion::Met | Conclusion::Conditional => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Answer::*;

    #[test]
    fn the_conclusion_follows_the_answers() {
        assert_eq!(conclusion(2, &[CanMeet]), Conclusion::Pending);
        assert_eq!(conclusion(2, &[CanMeet, CanMeet]), Conclusion::Met);
        assert_eq!(
            conclusion(2, &[CanMeet, WithConditions]),
            Conclusion::Conditional
        );
        assert_eq!(
            conclusion(3, &[WithConditions, CannotMeet, CanMeet]),
            Conclusion::NotMet
        );
        assert_eq!(conclusion(0, &[]), Conclusion::Met);
    }

    #[test]
    fn conditions_and_deviations_need_a_note() {
        let mut a = AnswerFields {
            item_id: 1,
            aspect: Aspect::Price,
            answer: CannotMeet,
            note: " ".into(),
        };
        assert_eq!(
            a.validate().unwrap_err().for_field("note"),
            Some("deviation_required")
        );
        a.answer = WithConditions;
        assert_eq!(
            a.validate().unwrap_err().for_field("note"),
            Some("condition_required")
        );
        a.answer = CanMeet;
        assert!(a.validate().is_ok());
    }

    #[test]
    fn answers_come_once_from_the_aspects_department() {
        let open = RoundStatus::Open;
        let all = Aspect::ALL;
        let design = Some(DepartmentId(2));
        let quality = Some(DepartmentId(6));
        let ok = check_answer(open, all, Aspect::Technical, false, design, design, false);
        assert_eq!(ok, Ok(()));
        assert_eq!(
            check_answer(open, all, Aspect::Technical, false, quality, design, false),
            Err(ReviewError::WrongDepartment)
        );
        assert_eq!(
            check_answer(open, all, Aspect::Technical, false, quality, design, true),
            Ok(())
        );
        assert_eq!(
            check_answer(open, all, Aspect::Technical, true, design, design, false),
            Err(ReviewError::AlreadyAnswered)
        );
        assert_eq!(
            check_answer(
                open,
                &[Aspect::Price],
                Aspect::Technical,
                false,
                design,
                design,
                false
            ),
            Err(ReviewError::AspectNotReviewed)
        );
        assert_eq!(
            check_answer(
                RoundStatus::Approved,
                all,
                Aspect::Technical,
                false,
                design,
                design,
                false
            ),
            Err(ReviewError::RoundClosed)
        );
    }

    #[test]
    fn approval_needs_a_complete_met_round_and_the_quality_review_when_flagged() {
        let open = RoundStatus::Open;
        assert_eq!(
            check_approve(open, Conclusion::Pending, false, false),
            Err(ReviewError::Incomplete)
        );
        assert_eq!(
            check_approve(open, Conclusion::Met, true, false),
            Err(ReviewError::QualityReviewRequired)
        );
        assert_eq!(check_approve(open, Conclusion::Met, true, true), Ok(()));
        assert_eq!(
            check_approve(open, Conclusion::Conditional, false, false),
            Ok(())
        );
        assert_eq!(
            check_approve(open, Conclusion::NotMet, false, false),
            Err(ReviewError::NotMet)
        );
        assert_eq!(
            check_approve(RoundStatus::Approved, Conclusion::Met, false, false),
            Err(ReviewError::RoundClosed)
        );
    }
}
