//! Customer requirements (F5 collection, F6 identification items, F8 the nine-stage closed loop).
//! Seed 000§3(1): identification → review → determination → transmission → re-verification →
//! realization → verification → validation → return visit; closed only after the return visit.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::{double_option, FieldErrors};
use crate::ids::{CustomerId, DepartmentId};

closed_set!(
    /// Feasibility of a requirement on one axis (F7, 003§3).
    Feasibility { Ok => "ok", Risk => "risk", NotFeasible => "not_feasible" }
);

closed_set!(
    /// The nine stages of 000§3(1), then closed.
    Stage {
        Identification => "identification",
        Review => "review",
        Determination => "determination",
        Transmission => "transmission",
        Reverification => "reverification",
        Realization => "realization",
        Verification => "verification",
        Validation => "validation",
        ReturnVisit => "return_visit",
        Closed => "closed",
    }
);
closed_set!(
    /// Where the requirement came from (003§2).
    Channel {
        Visit => "visit", Phone => "phone", Email => "email", MarketResearch => "market_research",
        FocusGroup => "focus_group", Complaint => "complaint", InternalFeedback => "internal_feedback", Portal => "portal",
    }
);
closed_set!(
    /// What it is about (003§2.1).
    Category { Product => "product", Service => "service", Price => "price", Other => "other" }
);
closed_set!(
    /// Product requirement sub-categories (003§2.1).
    SubCategory {
        Function => "function", Performance => "performance", Quality => "quality", Appearance => "appearance",
        StructureDimensions => "structure_dimensions", PackagingProtection => "packaging_protection",
        RestrictedSubstances => "restricted_substances", Lifetime => "lifetime", DeliveryQuantity => "delivery_quantity",
        AfterSales => "after_sales",
    }
);
closed_set!(
    /// Functional or non-functional.
    Nature { Functional => "functional", NonFunctional => "non_functional" }
);
closed_set!(
    /// Stated, implied, or statutory and regulatory (002§4.1B–C).
    Kind { Stated => "stated", Implied => "implied", Statutory => "statutory" }
);
closed_set!(
    /// Urgency (003§3.1), deciding the response-time rule (F22).
    Urgency { Urgent => "urgent", Important => "important", General => "general" }
);

impl Stage {
    /// The stage after this one; `None` for closed.
    pub fn next(self) -> Option<Stage> {
        let i = Stage::ALL.iter().position(|s| *s == self)?;
        Stage::ALL.get(i + 1).copied()
    }

    pub fn index(self) -> usize {
        Stage::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    /// The output record a stage must leave before the requirement may move on (000§3(1):
    /// every control point has an output record). Identification's output is the
    /// identification table (客户需求识别表): at least one item.
    pub fn required_output(self) -> Option<&'static str> {
        Some(match self {
            Stage::Identification => "identification_table",
            Stage::Review => "review_report",
            Stage::Determination => "determined_requirements",
            Stage::Transmission => "transmission_record",
            Stage::Reverification => "reverification_record",
            Stage::Realization => "realization_record",
            Stage::Verification => "verification_report",
            Stage::Validation => "validation_record",
            Stage::ReturnVisit => "return_visit_record",
            Stage::Closed => return None,
        })
    }
}

/// What the stage machine needs to know about a requirement.
#[derive(Debug, Clone, Default)]
pub struct StageFacts {
    /// Number of identification items.
    pub items: usize,
    /// Stages whose output record is on file (and not superseded by rework).
    pub outputs: Vec<Stage>,
    /// Merged into another requirement (F7): it no longer moves.
    pub merged: bool,
}

impl StageFacts {
    fn has_output(&self, stage: Stage) -> bool {
        match stage {
            Stage::Identification => self.items > 0,
            other => self.outputs.contains(&other),
        }
    }
}

/// How a requirement moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Move {
    Forward,
    /// Back to an earlier stage; the outputs of that stage and later ones must be produced again.
    Rework,
}

/// Why a stage move is refused (422, nothing changes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StageError {
    #[error("the requirement is closed")]
    Closed,
    #[error("already in that stage")]
    SameStage,
    #[error("stages cannot be skipped: the next stage is {expected}")]
    Skip { expected: Stage },
    #[error("the stage's output is missing: {0:?}")]
    MissingOutputs(Vec<&'static str>),
    #[error("going back needs a reason")]
    ReasonRequired,
    #[error("the requirement was merged into another one")]
    Merged,
    #[error("a requirement can only be merged into another open, unmerged requirement of the same customer")]
    BadMerge,
}

impl StageError {
    pub fn code(&self) -> &'static str {
        match self {
            StageError::Closed => "closed",
            StageError::SameStage => "same_stage",
            StageError::Skip { .. } => "stage_skipped",
            StageError::MissingOutputs(_) => "missing_outputs",
            StageError::ReasonRequired => "reason_required",
            StageError::Merged => "merged",
            StageError::BadMerge => "bad_merge",
        }
    }
}

/// The nine-stage gate: forward only to the next stage and only with the current stage's output
/// on file; backwards (rework) to any earlier stage with a reason; nothing after closed.
pub fn transition(
    from: Stage,
    to: Stage,
    reason: &str,
    facts: &StageFacts,
) -> Result<Move, StageError> {
    if from == Stage::Closed {
        return Err(StageError::Closed);
    }
    if facts.merged {
        return Err(StageError::Merged);
    }
    if to == from {
        return Err(StageError::SameStage);
    }
    if to.index() < from.index() {
        return if reason.trim().is_empty() {
            Err(StageError::ReasonRequired)
        } else {
            Ok(Move::Rework)
        };
    }
    let expected = from.next().ok_or(StageError::Closed)?;
    if to != expected {
        return Err(StageError::Skip { expected });
    }
    if !facts.has_output(from) {
        return Err(StageError::MissingOutputs(
            from.required_output().into_iter().collect(),
        ));
    }
    Ok(Move::Forward)
}

/// Whether `duplicate` may be merged into `target` (F7: both kept, one marked merged into the
/// other): two different requirements of one customer, neither closed nor already merged.
pub fn check_merge(duplicate: &Requirement, target: &Requirement) -> Result<(), StageError> {
    let open = |r: &Requirement| r.stage != Stage::Closed && r.merged_into.is_none();
    if duplicate.id != target.id
        && duplicate.fields.customer_id == target.fields.customer_id
        && open(duplicate)
        && open(target)
    {
        Ok(())
    } else {
        Err(StageError::BadMerge)
    }
}

/// Stages whose outputs a rework to `to` supersedes: `to` and every later one.
pub fn superseded_by_rework(to: Stage) -> impl Iterator<Item = Stage> {
    Stage::ALL
        .iter()
        .copied()
        .filter(move |s| s.index() >= to.index())
}

/// The fields of a requirement as collected (F5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequirementFields {
    pub customer_id: CustomerId,
    #[serde(default)]
    pub project_id: Option<i64>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub channel: Channel,
    pub category: Category,
    #[serde(default)]
    pub sub_category: Option<SubCategory>,
    pub nature: Nature,
    pub kind: Kind,
    pub urgency: Urgency,
    /// Who at the customer (or inside the company) voiced it.
    #[serde(default)]
    pub source_person: String,
    /// When it was collected, `YYYY-MM-DD` (default: today).
    #[serde(default)]
    pub collected_on: String,
    /// Analysis (F7, 003§3): technical, economic and time feasibility, each with a note when
    /// it is not plainly feasible, and the requirement's value to the company (1–5).
    #[serde(default)]
    pub feasibility_technical: Option<Feasibility>,
    #[serde(default)]
    pub feasibility_economic: Option<Feasibility>,
    #[serde(default)]
    pub feasibility_time: Option<Feasibility>,
    #[serde(default)]
    pub feasibility_note: String,
    #[serde(default)]
    pub value_score: Option<i64>,
}

impl RequirementFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("title", &mut self.title, 200);
        e.optional("description", &mut self.description, 10_000);
        e.optional("source_person", &mut self.source_person, 50);
        if self.sub_category.is_some() && self.category != Category::Product {
            e.add("sub_category", "product_only");
        }
        self.collected_on = self.collected_on.trim().to_string();
        if !self.collected_on.is_empty()
            && chrono::NaiveDate::parse_from_str(&self.collected_on, "%Y-%m-%d").is_err()
        {
            e.add("collected_on", "date");
        }
        e.optional("feasibility_note", &mut self.feasibility_note, 2000);
        let doubtful = [
            self.feasibility_technical,
            self.feasibility_economic,
            self.feasibility_time,
        ]
        .iter()
        .any(|f| matches!(f, Some(Feasibility::Risk | Feasibility::NotFeasible)));
        if doubtful && self.feasibility_note.is_empty() {
            e.add("feasibility_note", "feasibility_note_required");
        }
        if self.value_score.is_some_and(|v| !(1..=5).contains(&v)) {
            e.add("value_score", "value_score_range");
        }
        e.finish()
    }
}

/// A requirement as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Requirement {
    pub id: i64,
    pub version: i64,
    /// Running number, e.g. `XQ2026-00042`.
    pub code: String,
    /// Its id in the system it was imported from (F29), when it came from a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_key: Option<String>,
    #[serde(flatten)]
    pub fields: RequirementFields,
    pub stage: Stage,
    pub stage_entered_at: String,
    /// Set when this requirement was merged into another one as a duplicate.
    pub merged_into: Option<i64>,
    /// The revision in force: 1 until an approved change (F14) gives it a new one.
    pub revision: i64,
    /// When the current stage's response time runs out (F22), on the working calendar; moved
    /// on by the time spent waiting for the customer.
    pub sla_due_at: Option<String>,
    /// Set while the requirement waits for the customer: its clock stands still.
    pub waiting_since: Option<String>,
    /// Working minutes this stage has waited for the customer so far.
    pub paused_minutes: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// A partial update; `version` is the one the client read.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequirementPatch {
    pub version: i64,
    pub title: Option<String>,
    pub description: Option<String>,
    pub channel: Option<Channel>,
    pub category: Option<Category>,
    #[serde(default, deserialize_with = "double_option")]
    pub sub_category: Option<Option<SubCategory>>,
    pub nature: Option<Nature>,
    pub kind: Option<Kind>,
    pub urgency: Option<Urgency>,
    pub source_person: Option<String>,
    pub collected_on: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub feasibility_technical: Option<Option<Feasibility>>,
    #[serde(default, deserialize_with = "double_option")]
    pub feasibility_economic: Option<Option<Feasibility>>,
    #[serde(default, deserialize_with = "double_option")]
    pub feasibility_time: Option<Option<Feasibility>>,
    pub feasibility_note: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub value_score: Option<Option<i64>>,
}

impl RequirementPatch {
    pub fn apply(self, mut f: RequirementFields) -> RequirementFields {
        macro_rules! set {
            ($($field:ident),+) => { $(if let Some(v) = self.$field { f.$field = v; })+ };
        }
        set!(
            title,
            description,
            channel,
            category,
            sub_category,
            nature,
            kind,
            urgency,
            source_person,
            collected_on,
            feasibility_technical,
            feasibility_economic,
            feasibility_time,
            feasibility_note,
            value_score
        );
        f
    }
}

/// One line of the identification table (客户需求识别表, 000§5(1)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemFields {
    pub description: String,
    pub category: Category,
    #[serde(default)]
    pub sub_category: Option<SubCategory>,
    /// How fulfilment will be judged (验收准则).
    pub acceptance_criterion: String,
    /// The department responsible for it.
    pub department_id: DepartmentId,
}

impl ItemFields {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.required("description", &mut self.description, 2000);
        e.required("acceptance_criterion", &mut self.acceptance_criterion, 1000);
        if self.sub_category.is_some() && self.category != Category::Product {
            e.add("sub_category", "product_only");
        }
        e.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with_all_outputs() -> StageFacts {
        StageFacts {
            items: 1,
            outputs: Stage::ALL.to_vec(),
            merged: false,
        }
    }

    #[test]
    fn every_legal_forward_move_needs_the_stage_output() {
        for from in Stage::ALL.iter().copied().filter(|s| *s != Stage::Closed) {
            let to = from.next().unwrap();
            assert_eq!(
                transition(from, to, "", &with_all_outputs()),
                Ok(Move::Forward),
                "{from} → {to}"
            );
            let missing = transition(from, to, "", &StageFacts::default());
            assert!(
                matches!(missing, Err(StageError::MissingOutputs(ref o)) if o.len() == 1),
                "{from}: {missing:?}"
            );
        }
    }

    #[test]
    fn review_cannot_be_skipped() {
        let r = transition(
            Stage::Identification,
            Stage::Determination,
            "",
            &with_all_outputs(),
        );
        assert_eq!(
            r,
            Err(StageError::Skip {
                expected: Stage::Review
            })
        );
        for from in Stage::ALL.iter().copied().filter(|s| *s != Stage::Closed) {
            for to in Stage::ALL
                .iter()
                .copied()
                .filter(|t| t.index() > from.index() + 1)
            {
                assert!(
                    matches!(
                        transition(from, to, "x", &with_all_outputs()),
                        Err(StageError::Skip { .. })
                    ),
                    "{from} → {to}"
                );
            }
        }
    }

    #[test]
    fn rework_goes_back_only_with_a_reason() {
        assert_eq!(
            transition(
                Stage::Realization,
                Stage::Review,
                "客户修改了尺寸",
                &StageFacts::default()
            ),
            Ok(Move::Rework)
        );
        assert_eq!(
            transition(
                Stage::Realization,
                Stage::Review,
                "  ",
                &StageFacts::default()
            ),
            Err(StageError::ReasonRequired)
        );
        let superseded: Vec<_> = superseded_by_rework(Stage::Validation).collect();
        assert_eq!(
            superseded,
            [Stage::Validation, Stage::ReturnVisit, Stage::Closed]
        );
    }

    #[test]
    fn a_merged_requirement_does_not_move() {
        let facts = StageFacts {
            merged: true,
            ..with_all_outputs()
        };
        assert_eq!(
            transition(Stage::Review, Stage::Determination, "", &facts),
            Err(StageError::Merged)
        );
    }

    #[test]
    fn a_closed_requirement_does_not_move() {
        for to in Stage::ALL {
            assert_eq!(
                transition(Stage::Closed, *to, "reason", &with_all_outputs()),
                Err(StageError::Closed)
            );
        }
        assert_eq!(
            transition(Stage::Review, Stage::Review, "", &with_all_outputs()),
            Err(StageError::SameStage)
        );
    }

    #[test]
    fn sub_categories_belong_to_product_requirements() {
        let mut f: RequirementFields = serde_json::from_value(serde_json::json!({
            "customer_id": 1, "title": "交期", "channel": "visit", "category": "price", "sub_category": "lifetime",
            "nature": "functional", "kind": "stated", "urgency": "urgent", "collected_on": "2026-02-30"
        }))
        .unwrap();
        let e = f.validate().unwrap_err();
        assert_eq!(e.for_field("sub_category"), Some("product_only"));
        assert_eq!(e.for_field("collected_on"), Some("date"));
    }

    proptest! {
        /// No sequence of attempted moves reaches closed without having entered every stage.
        #[test]
        fn no_path_reaches_closed_without_passing_every_stage(
            attempts in proptest::collection::vec((0usize..10, any::<bool>(), any::<bool>()), 0..200)
        ) {
            let mut stage = Stage::Identification;
            let mut facts = StageFacts::default();
            let mut entered = vec![Stage::Identification];
            for (target, produce_output, with_reason) in attempts {
                if produce_output {
                    facts.items += 1;
                    facts.outputs.push(stage);
                }
                let to = Stage::ALL[target];
                let reason = if with_reason { "返工" } else { "" };
                match transition(stage, to, reason, &facts) {
                    Ok(Move::Forward) => {
                        prop_assert_eq!(Some(to), stage.next());
                        entered.push(to);
                        stage = to;
                    }
                    Ok(Move::Rework) => {
                        facts.outputs.retain(|s| s.index() < to.index());
                        stage = to;
                    }
                    Err(_) => {}
                }
                if stage == Stage::Closed {
                    for s in Stage::ALL {
                        prop_assert!(entered.contains(s), "closed without entering {}", s);
                    }
                }
            }
        }
    }
}
