//! The work standard (F9, 000§3(1) and §3(4)): business control points per stage. Each names the
//! responsible department and station (工位), the work content, its deadline (节拍), the input
//! record and who supplies it, the output record and who receives it, and how the receiver turns
//! it into its department work plan. A standard is versioned as a whole.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::fields::FieldErrors;
use crate::ids::DepartmentId;
use crate::requirement::Stage;

closed_set!(
    /// The unit of a control point's deadline.
    DeadlineUnit { Hours => "hours", WorkingDays => "working_days" }
);

/// One control point as edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlPointFields {
    pub stage: Stage,
    pub department_id: DepartmentId,
    /// The station (工位) responsible, e.g. 营销经理.
    pub station: String,
    pub work_content: String,
    pub deadline_value: i64,
    pub deadline_unit: DeadlineUnit,
    pub input_record: String,
    /// Who supplies the input record; none when it comes from the customer.
    #[serde(default)]
    pub input_department_id: Option<DepartmentId>,
    pub output_record: String,
    pub receiver_department_id: DepartmentId,
    /// How the receiver turns the output into its department work plan.
    pub plan_conversion: String,
}

impl ControlPointFields {
    /// Checks one point; errors are named `points[i].field`.
    fn validate(&mut self, i: usize, e: &mut FieldErrors) {
        let name = |f: &str| format!("points[{i}].{f}");
        if self.stage == Stage::Closed {
            e.add(name("stage"), "stage_closed");
        }
        e.required(&name("station"), &mut self.station, 50);
        e.required(&name("work_content"), &mut self.work_content, 500);
        e.required(&name("input_record"), &mut self.input_record, 200);
        e.required(&name("output_record"), &mut self.output_record, 200);
        e.required(&name("plan_conversion"), &mut self.plan_conversion, 500);
        let max = match self.deadline_unit {
            DeadlineUnit::Hours => 720,
            DeadlineUnit::WorkingDays => 90,
        };
        if !(1..=max).contains(&self.deadline_value) {
            e.add(name("deadline_value"), "deadline_range");
        }
    }
}

/// A stored control point.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ControlPoint {
    pub id: i64,
    pub seq: i64,
    #[serde(flatten)]
    pub fields: ControlPointFields,
}

/// One version of the work standard.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WorkStandard {
    pub id: i64,
    pub version_no: i64,
    pub note: String,
    pub created_by: String,
    pub created_at: String,
    /// In stage order, then in their order within the stage.
    pub points: Vec<ControlPoint>,
}

impl WorkStandard {
    /// The control points of one stage.
    pub fn points_of(&self, stage: Stage) -> impl Iterator<Item = &ControlPoint> {
        self.points.iter().filter(move |p| p.fields.stage == stage)
    }
}

/// A new version: the whole list of points, and the version the editor started from (a newer
/// one means someone else saved meanwhile: 409).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStandard {
    pub base_version: i64,
    #[serde(default)]
    pub note: String,
    pub points: Vec<ControlPointFields>,
}

impl NewStandard {
    pub fn validate(&mut self) -> Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        e.optional("note", &mut self.note, 500);
        if self.points.is_empty() {
            e.add("points", "required");
        }
        if self.points.len() > 200 {
            e.add("points", "too_many");
        }
        for (i, p) in self.points.iter_mut().enumerate() {
            p.validate(i, &mut e);
        }
        e.finish()
    }

    /// The points in stage order (stable within a stage), numbered within their stage.
    pub fn ordered(&self) -> Vec<(i64, &ControlPointFields)> {
        let mut points: Vec<&ControlPointFields> = self.points.iter().collect();
        points.sort_by_key(|p| p.stage.index());
        let mut seq = 0;
        let mut last = None;
        points
            .into_iter()
            .map(|p| {
                seq = if last == Some(p.stage) { seq + 1 } else { 1 };
                last = Some(p.stage);
                (seq, p)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(stage: Stage) -> ControlPointFields {
        ControlPointFields {
            stage,
            department_id: DepartmentId(1),
            station: "营销经理".into(),
            work_content: "识别需求".into(),
            deadline_value: 2,
            deadline_unit: DeadlineUnit::WorkingDays,
            input_record: "客户来函".into(),
            input_department_id: None,
            output_record: "客户需求识别表".into(),
            receiver_department_id: DepartmentId(5),
            plan_conversion: "纳入评审计划".into(),
        }
    }

    #[test]
    fn points_are_numbered_within_their_stage_in_stage_order() {
        let s = NewStandard {
            base_version: 1,
            note: String::new(),
            points: vec![
                point(Stage::Review),
                point(Stage::Identification),
                point(Stage::Review),
            ],
        };
        let order: Vec<(i64, Stage)> = s.ordered().iter().map(|(n, p)| (*n, p.stage)).collect();
        assert_eq!(
            order,
            [
                (1, Stage::Identification),
                (1, Stage::Review),
                (2, Stage::Review)
            ]
        );
    }

    #[test]
    fn a_standard_needs_points_with_a_deadline_in_range_and_no_closed_stage() {
        let mut empty = NewStandard {
            base_version: 1,
            note: String::new(),
            points: vec![],
        };
        assert_eq!(
            empty.validate().unwrap_err().for_field("points"),
            Some("required")
        );
        let mut bad = point(Stage::Closed);
        bad.deadline_value = 0;
        bad.station = "  ".into();
        let mut s = NewStandard {
            base_version: 1,
            note: String::new(),
            points: vec![point(Stage::Review), bad],
        };
        let e = s.validate().unwrap_err();
        assert_eq!(e.for_field("points[1].stage"), Some("stage_closed"));
        assert_eq!(
            e.for_field("points[1].deadline_value"),
            Some("deadline_range")
        );
        assert_eq!(e.for_field("points[1].station"), Some("required"));
        assert_eq!(e.for_field("points[0].stage"), None);
    }
}
