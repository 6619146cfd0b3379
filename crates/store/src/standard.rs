//! The work standard (F9): versions of control points. The newest version is the one in force;
//! saving writes a whole new version and leaves the old ones as they were.

use chrono::{DateTime, Utc};
use reqloop_domain::access::Actor;
use reqloop_domain::ids::DepartmentId;
use reqloop_domain::requirement::Stage;
use reqloop_domain::standard::{ControlPoint, ControlPointFields, NewStandard, WorkStandard};
use serde::Serialize;
use sqlx::FromRow;
use utoipa::ToSchema;

use crate::{Error, Result, Store, Who};

const POINT_COLUMNS: &str =
    "id, seq, stage, department_id, station, work_content, deadline_value, deadline_unit, \
    input_record, input_department_id, output_record, receiver_department_id, plan_conversion";

#[derive(FromRow)]
pub(crate) struct PointRow {
    id: i64,
    seq: i64,
    stage: String,
    department_id: i64,
    station: String,
    work_content: String,
    deadline_value: i64,
    deadline_unit: String,
    input_record: String,
    input_department_id: Option<i64>,
    output_record: String,
    receiver_department_id: i64,
    plan_conversion: String,
}

impl PointRow {
    pub(crate) fn into_point(self) -> Result<ControlPoint> {
        let bad = |what: &str| Error::Other(format!("stored control point has an invalid {what}"));
        Ok(ControlPoint {
            id: self.id,
            seq: self.seq,
            fields: ControlPointFields {
                stage: self.stage.parse().map_err(|_| bad("stage"))?,
                department_id: DepartmentId(self.department_id),
                station: self.station,
                work_content: self.work_content,
                deadline_value: self.deadline_value,
                deadline_unit: self.deadline_unit.parse().map_err(|_| bad("unit"))?,
                input_record: self.input_record,
                input_department_id: self.input_department_id.map(DepartmentId),
                output_record: self.output_record,
                receiver_department_id: DepartmentId(self.receiver_department_id),
                plan_conversion: self.plan_conversion,
            },
        })
    }
}

/// A version of the standard, without its points (the version list).
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct StandardVersion {
    pub id: i64,
    pub version_no: i64,
    pub note: String,
    pub created_by: String,
    pub created_at: String,
    pub points: i64,
}

impl Store {
    /// Every version, newest first.
    pub async fn standard_versions(&self) -> Result<Vec<StandardVersion>> {
        Ok(sqlx::query_as(
            "SELECT s.id, s.version_no, s.note, s.created_by, s.created_at, \
             (SELECT COUNT(*) FROM control_points p WHERE p.standard_id = s.id) AS points \
             FROM work_standards s ORDER BY s.version_no DESC",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// One version with its points; `None` for the version in force.
    pub async fn work_standard(&self, version_no: Option<i64>) -> Result<WorkStandard> {
        let head: Option<(i64, i64, String, String, String)> = match version_no {
            Some(v) => sqlx::query_as(
                "SELECT id, version_no, note, created_by, created_at FROM work_standards WHERE version_no = $1",
            )
            .bind(v),
            None => sqlx::query_as(
                "SELECT id, version_no, note, created_by, created_at FROM work_standards ORDER BY version_no DESC LIMIT 1",
            ),
        }
        .fetch_optional(&self.pool)
        .await?;
        let (id, version_no, note, created_by, created_at) = head.ok_or(Error::NotFound)?;
        let rows: Vec<PointRow> = sqlx::query_as(&format!(
            "SELECT {POINT_COLUMNS} FROM control_points WHERE standard_id = $1"
        ))
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut points = rows
            .into_iter()
            .map(PointRow::into_point)
            .collect::<Result<Vec<_>>>()?;
        points.sort_by_key(|p| (p.fields.stage.index(), p.seq));
        Ok(WorkStandard {
            id,
            version_no,
            note,
            created_by,
            created_at,
            points,
        })
    }

    /// Saves a new version of the standard (administrators, F9). `base_version` must be the
    /// version in force: otherwise someone saved meanwhile (`Stale`).
    pub async fn save_standard(
        &self,
        actor: &Actor,
        mut s: NewStandard,
        now: DateTime<Utc>,
    ) -> Result<WorkStandard> {
        s.validate()?;
        let known: Vec<i64> = sqlx::query_scalar("SELECT id FROM departments")
            .fetch_all(&self.pool)
            .await?;
        let mut e = reqloop_domain::FieldErrors::default();
        for (i, p) in s.points.iter().enumerate() {
            let depts = [
                ("department_id", Some(p.department_id)),
                ("input_department_id", p.input_department_id),
                ("receiver_department_id", Some(p.receiver_department_id)),
            ];
            for (field, d) in depts {
                if d.is_some_and(|d| !known.contains(&d.0)) {
                    e.add(format!("points[{i}].{field}"), "unknown_department");
                }
            }
        }
        e.finish()?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let current: Option<i64> = sqlx::query_scalar("SELECT MAX(version_no) FROM work_standards")
            .fetch_one(&mut *tx.tx)
            .await?;
        if current.unwrap_or(0) != s.base_version {
            return Err(Error::Stale);
        }
        let version_no = s.base_version + 1;
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO work_standards (version_no, note, created_by, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(version_no)
        .bind(&s.note)
        .bind(&actor.username)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(crate::db::unique("base_version"))
        .map_err(|e| match e {
            Error::Duplicate(_) => Error::Stale,
            other => other,
        })?;
        for (seq, p) in s.ordered() {
            sqlx::query(
                "INSERT INTO control_points (standard_id, stage, seq, department_id, station, work_content, \
                 deadline_value, deadline_unit, input_record, input_department_id, output_record, \
                 receiver_department_id, plan_conversion) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(id)
            .bind(p.stage.as_str())
            .bind(seq)
            .bind(p.department_id.0)
            .bind(&p.station)
            .bind(&p.work_content)
            .bind(p.deadline_value)
            .bind(p.deadline_unit.as_str())
            .bind(&p.input_record)
            .bind(p.input_department_id.map(|d| d.0))
            .bind(&p.output_record)
            .bind(p.receiver_department_id.0)
            .bind(&p.plan_conversion)
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.audit("work_standard", id, "create", None, Some(&s.points))
            .await?;
        tx.commit().await?;
        self.work_standard(Some(version_no)).await
    }
}

/// The control points of the version in force for one stage.
pub(crate) async fn points_in_force(
    pool: &sqlx::AnyPool,
    stage: Stage,
) -> Result<Vec<ControlPoint>> {
    let rows: Vec<PointRow> = sqlx::query_as(&format!(
        "SELECT {POINT_COLUMNS} FROM control_points WHERE stage = $1 AND standard_id = \
         (SELECT id FROM work_standards ORDER BY version_no DESC LIMIT 1) ORDER BY seq"
    ))
    .bind(stage.as_str())
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(PointRow::into_point).collect()
}
