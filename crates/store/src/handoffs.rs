//! Hand-offs (F10) and department work plans. Entering a stage opens one hand-off per control
//! point of the standard in force; completing one files a work-plan entry for the department
//! receiving the output and, when it was the stage's last, the stage's output record.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use reqloop_domain::access::Actor;
use reqloop_domain::calendar::Calendar;
use reqloop_domain::deadline;
use reqloop_domain::handoff::{self, Handoff, HandoffStatus};
use reqloop_domain::ids::{DepartmentId, UserId};
use reqloop_domain::requirement::Stage;
use reqloop_domain::standard::ControlPoint;
use reqloop_domain::time::{from_db, to_db};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::db::{requirement_id_scope, requirement_scope, Arg, Conditions, WriteTx};
use crate::standard::points_in_force;
use crate::{Error, Page, Result, Store, Who};

const COLUMNS: &str = "h.id, h.version, h.requirement_id, r.code AS requirement_code, r.title AS requirement_title, \
    r.customer_id, c.grade AS customer_grade, \
    h.stage, h.control_point_id, cp.station, cp.work_content, cp.input_record, cp.output_record, cp.plan_conversion, \
    h.sender_name, h.department_id, h.receiver_id, u.display_name AS receiver_name, h.output_department_id, h.status, \
    h.due_at, h.created_at, h.acknowledged_at, h.completed_at, h.output_note";

const FROM: &str = "handoffs h JOIN requirements r ON r.id = h.requirement_id JOIN customers c ON c.id = r.customer_id \
    JOIN control_points cp ON cp.id = h.control_point_id LEFT JOIN users u ON u.id = h.receiver_id";

/// Statuses still waiting for the receiver.
const PENDING: &str = "h.status IN ('open', 'acknowledged')";

#[derive(FromRow)]
struct Row {
    id: i64,
    version: i64,
    requirement_id: i64,
    requirement_code: String,
    requirement_title: String,
    customer_id: i64,
    customer_grade: String,
    stage: String,
    control_point_id: i64,
    station: String,
    work_content: String,
    input_record: String,
    output_record: String,
    plan_conversion: String,
    sender_name: String,
    department_id: i64,
    receiver_id: Option<i64>,
    receiver_name: Option<String>,
    output_department_id: i64,
    status: String,
    due_at: String,
    created_at: String,
    acknowledged_at: Option<String>,
    completed_at: Option<String>,
    output_note: String,
}

impl Row {
    fn into_handoff(self, now: DateTime<Utc>, calendar: &Calendar) -> Result<Handoff> {
        let bad = |what: &str| Error::Other(format!("stored hand-off has an invalid {what}"));
        let status: HandoffStatus = self.status.parse().map_err(|_| bad("status"))?;
        let due = from_db(&self.due_at).ok_or_else(|| bad("due time"))?;
        Ok(Handoff {
            id: self.id,
            version: self.version,
            requirement_id: self.requirement_id,
            requirement_code: self.requirement_code,
            requirement_title: self.requirement_title,
            customer_id: self.customer_id,
            customer_grade: self.customer_grade,
            stage: self.stage.parse().map_err(|_| bad("stage"))?,
            control_point_id: self.control_point_id,
            station: self.station,
            work_content: self.work_content,
            input_record: self.input_record,
            output_record: self.output_record,
            plan_conversion: self.plan_conversion,
            sender_name: self.sender_name,
            department_id: DepartmentId(self.department_id),
            receiver_id: self.receiver_id.map(UserId),
            receiver_name: self.receiver_name,
            output_department_id: DepartmentId(self.output_department_id),
            status,
            overdue: handoff::is_overdue(status, due, now),
            // F22: a pending hand-off's working time left (negative once overdue).
            remaining_minutes: status
                .is_pending()
                .then(|| crate::sla::deadline_clock(due, calendar, now).remaining_minutes),
            due_at: self.due_at,
            created_at: self.created_at,
            acknowledged_at: self.acknowledged_at,
            completed_at: self.completed_at,
            output_note: self.output_note,
        })
    }
}

/// Filters of `/handoffs`. Without `status`, the pending ones (open or acknowledged).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HandoffFilter {
    /// Only those the caller receives.
    #[serde(default)]
    pub mine: bool,
    pub department_id: Option<i64>,
    /// Only pending ones past their due time.
    #[serde(default)]
    pub overdue: bool,
    /// `open`, `acknowledged`, `completed`, `cancelled`, `pending` (default) or `all`.
    pub status: Option<String>,
    pub requirement_id: Option<i64>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// An entry of a department's work plan (000§3(1): the receiver turns the output into its plan).
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct WorkPlanEntry {
    pub id: i64,
    pub department_id: i64,
    pub handoff_id: i64,
    pub requirement_id: i64,
    pub requirement_code: String,
    pub output_record: String,
    pub content: String,
    pub created_at: String,
}

impl Store {
    pub async fn list_handoffs(
        &self,
        actor: &Actor,
        f: &HandoffFilter,
        now: DateTime<Utc>,
    ) -> Result<Page<Handoff>> {
        let mut c = Conditions::default();
        requirement_id_scope(&mut c, actor, "h.requirement_id");
        let status = f.status.as_deref().unwrap_or("pending");
        match status {
            "pending" => c.push(PENDING, []),
            "all" => {}
            s => {
                let s: HandoffStatus = s
                    .parse()
                    .map_err(|_| Error::field("status", "unknown_value"))?;
                c.push("h.status = ?", [Arg::Text(s.as_str().into())]);
            }
        }
        if f.mine {
            c.push("h.receiver_id = ?", [Arg::Int(actor.user_id.0)]);
        }
        if let Some(d) = f.department_id {
            c.push("h.department_id = ?", [Arg::Int(d)]);
        }
        if f.overdue {
            if status != "pending" {
                c.push(PENDING, []);
            }
            c.push("h.due_at < ?", [Arg::Text(to_db(now))]);
        }
        if let Some(r) = f.requirement_id {
            c.push("h.requirement_id = ?", [Arg::Int(r)]);
        }
        // The pending queue: grade A first (F2), then soonest due; the others newest first.
        let order = if status == "pending" || f.overdue {
            "c.grade, h.due_at, h.id"
        } else {
            "h.id DESC"
        };
        let (rows, total) = self
            .fetch_page_counting::<Row>(FROM, "handoffs h", COLUMNS, &c, order, f.page, f.per_page)
            .await?;
        let calendar = self.working_calendar().await?;
        let items = rows
            .into_iter()
            .map(|r| r.into_handoff(now, &calendar))
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    /// One hand-off the actor may see.
    pub async fn get_handoff(&self, actor: &Actor, id: i64, now: DateTime<Utc>) -> Result<Handoff> {
        let mut c = Conditions::default();
        c.push("h.id = ?", [Arg::Int(id)]);
        requirement_scope(&mut c, actor, "r.");
        let sql = format!("SELECT {COLUMNS} FROM {FROM}{}", c.where_clause());
        let row: Row = crate::db::bind_all(sqlx::query_as(&sql), &c.args)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound)?;
        row.into_handoff(now, &self.working_calendar().await?)
    }

    /// The receiver acknowledges receipt (F10); an unassigned hand-off becomes theirs.
    pub async fn acknowledge_handoff(
        &self,
        actor: &Actor,
        id: i64,
        version: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Handoff> {
        let before = self.get_handoff(actor, id, now).await?;
        if version.is_some_and(|v| v != before.version) {
            return Err(Error::Stale);
        }
        handoff::check_acknowledge(
            actor,
            before.status,
            before.receiver_id,
            before.department_id,
        )
        .map_err(|e| Error::Rule(e.code()))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let n = sqlx::query(
            "UPDATE handoffs SET status = 'acknowledged', acknowledged_at = $1, receiver_id = $2, \
             version = version + 1 WHERE id = $3 AND version = $4",
        )
        .bind(&at)
        .bind(actor.user_id.0)
        .bind(id)
        .bind(before.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        let after = Handoff {
            version: before.version + 1,
            status: HandoffStatus::Acknowledged,
            acknowledged_at: Some(at),
            receiver_id: Some(actor.user_id),
            ..before.clone()
        };
        tx.audit("handoff", id, "acknowledge", Some(&before), Some(&after))
            .await?;
        tx.commit().await?;
        self.get_handoff(actor, id, now).await
    }

    /// The receiver attaches the output record and completes the hand-off: the receiving
    /// department's work plan gets an entry, and the last hand-off of the requirement's current
    /// stage files that stage's output record (review outputs come from the approved review).
    pub async fn complete_handoff(
        &self,
        actor: &Actor,
        id: i64,
        version: Option<i64>,
        output_note: &str,
        now: DateTime<Utc>,
    ) -> Result<Handoff> {
        let note = output_note.trim();
        if note.is_empty() {
            return Err(Error::field("output_note", "required"));
        }
        if note.chars().count() > 2000 {
            return Err(Error::field("output_note", "too_long"));
        }
        let before = self.get_handoff(actor, id, now).await?;
        if version.is_some_and(|v| v != before.version) {
            return Err(Error::Stale);
        }
        handoff::check_complete(
            actor,
            before.status,
            before.receiver_id,
            before.department_id,
        )
        .map_err(|e| Error::Rule(e.code()))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let n = sqlx::query(
            "UPDATE handoffs SET status = 'completed', completed_at = $1, output_note = $2, version = version + 1 \
             WHERE id = $3 AND version = $4",
        )
        .bind(&at)
        .bind(note)
        .bind(id)
        .bind(before.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        // F23: the hand-off's clock ends; it counts for its receiver and department.
        let due = before.due_at.clone();
        let end = crate::kpis::ClockEnd {
            record_type: "handoff",
            record_id: id,
            clock: "handoff",
            owner: crate::kpis::Owner {
                person: before.receiver_id.map_or(0, |u| u.0),
                department: before.department_id.0,
                customer: before.customer_id,
            },
            due_at: &due,
        };
        let overdue = reqloop_domain::time::from_db(&due).is_some_and(|d| now > d);
        crate::kpis::end_clock(&mut tx, end, overdue, now).await?;
        let content = format!("{}：{}", before.plan_conversion, before.requirement_title);
        let (entry,): (i64,) = sqlx::query_as(
            "INSERT INTO work_plan_entries (department_id, handoff_id, requirement_id, content, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(before.output_department_id.0)
        .bind(id)
        .bind(before.requirement_id)
        .bind(&content)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await?;
        let after = Handoff {
            version: before.version + 1,
            status: HandoffStatus::Completed,
            completed_at: Some(at.clone()),
            output_note: note.into(),
            ..before.clone()
        };
        tx.audit("handoff", id, "complete", Some(&before), Some(&after))
            .await?;
        tx.audit(
            "work_plan_entry",
            entry,
            "create",
            None,
            Some(&(before.output_department_id, id, &content)),
        )
        .await?;
        let stage_now: String = sqlx::query_scalar("SELECT stage FROM requirements WHERE id = $1")
            .bind(before.requirement_id)
            .fetch_one(&mut *tx.tx)
            .await?;
        let (pending,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM handoffs h WHERE h.requirement_id = $1 AND h.stage = $2 AND h.status IN ('open', 'acknowledged')",
        )
        .bind(before.requirement_id)
        .bind(before.stage.as_str())
        .fetch_one(&mut *tx.tx)
        .await?;
        let files_output = !matches!(before.stage, Stage::Identification | Stage::Review);
        if pending == 0 && files_output && stage_now == before.stage.as_str() {
            let notes: Vec<(String, String)> = sqlx::query_as(
                "SELECT cp.output_record, h.output_note FROM handoffs h JOIN control_points cp ON cp.id = h.control_point_id \
                 WHERE h.requirement_id = $1 AND h.stage = $2 AND h.status = 'completed' ORDER BY h.id",
            )
            .bind(before.requirement_id)
            .bind(before.stage.as_str())
            .fetch_all(&mut *tx.tx)
            .await?;
            let summary: Vec<String> = notes
                .iter()
                .map(|(record, note)| format!("{record}：{note}"))
                .collect();
            crate::requirements::file_output(
                &mut tx,
                before.requirement_id,
                before.stage,
                &summary.join("；"),
                &actor.username,
            )
            .await?;
        }
        tx.commit().await?;
        self.get_handoff(actor, id, now).await
    }

    /// A department's work plan, newest first.
    pub async fn work_plan(
        &self,
        actor: &Actor,
        department: i64,
        page: Option<i64>,
        per_page: Option<i64>,
    ) -> Result<Page<WorkPlanEntry>> {
        let mut c = Conditions::default();
        c.push("w.department_id = ?", [Arg::Int(department)]);
        requirement_scope(&mut c, actor, "r.");
        let (items, total) = self
            .fetch_page(
                "work_plan_entries w JOIN requirements r ON r.id = w.requirement_id \
                 JOIN handoffs h ON h.id = w.handoff_id JOIN control_points cp ON cp.id = h.control_point_id",
                "w.id, w.department_id, w.handoff_id, w.requirement_id, r.code AS requirement_code, \
                 cp.output_record, w.content, w.created_at",
                &c,
                "w.id DESC",
                page,
                per_page,
            )
            .await?;
        Ok(Page { items, total })
    }
}

/// The hand-offs a stage will open: its control points in force, each with its receiver.
pub(crate) struct StagePlan {
    stage: Stage,
    points: Vec<(ControlPoint, Option<UserId>)>,
    /// The working calendar the points' deadlines and the stage's response time count on.
    calendar: reqloop_domain::calendar::Calendar,
    sla: reqloop_domain::sla::SlaRules,
}

impl StagePlan {
    /// The clock of the stage `r` is in now (what the move that enters this plan's stage ends).
    pub(crate) fn clock(
        &self,
        r: &reqloop_domain::requirement::Requirement,
        now: DateTime<Utc>,
    ) -> Option<crate::sla::ClockView> {
        crate::sla::requirement_clock(r, &self.calendar, &self.sla, now)
    }

    /// When the stage entered at `now` runs out of response time at this urgency (F22).
    pub(crate) fn sla_due(
        &self,
        urgency: reqloop_domain::requirement::Urgency,
        now: DateTime<Utc>,
    ) -> String {
        let clock = reqloop_domain::sla::Clock {
            started: now,
            allowance: self.sla.for_urgency(urgency),
            paused: 0,
            waiting_since: None,
        };
        to_db(clock.due(&self.calendar))
    }
}

impl Store {
    /// Plans the hand-offs of `stage` for a requirement about to enter it: one per control point
    /// of the standard in force, received by a member of the responsible department (the
    /// project team first). Read before the write starts, so the writer's turn stays short.
    pub(crate) async fn plan_stage(&self, project: Option<i64>, stage: Stage) -> Result<StagePlan> {
        if stage == Stage::Closed {
            return Ok(StagePlan {
                stage,
                points: vec![],
                calendar: Default::default(),
                sla: Default::default(),
            });
        }
        let mut points = Vec::new();
        for p in points_in_force(&self.pool, stage).await? {
            let candidates: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT u.id, CASE WHEN m.user_id IS NULL THEN 0 ELSE 1 END FROM users u \
                 LEFT JOIN project_members m ON m.user_id = u.id AND m.project_id = $1 \
                 WHERE u.department_id = $2 AND u.active = 1 AND u.role <> 'portal'",
            )
            .bind(project)
            .bind(p.fields.department_id.0)
            .fetch_all(&self.pool)
            .await?;
            let candidates: Vec<(UserId, bool)> = candidates
                .into_iter()
                .map(|(id, team)| (UserId(id), team == 1))
                .collect();
            let receiver = handoff::pick_receiver(&candidates);
            points.push((p, receiver));
        }
        Ok(StagePlan {
            stage,
            points,
            calendar: self.working_calendar().await?,
            sla: self.sla_rules().await?,
        })
    }
}

/// Opens the planned hand-offs for a requirement that just entered the stage, inside the
/// move's write, due by each point's deadline; one audit entry lists them.
pub(crate) async fn open_stage_handoffs(
    tx: &mut WriteTx,
    requirement: i64,
    plan: &StagePlan,
    sender: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    open_stage_handoffs_many(tx, &[requirement], plan, sender, now).await
}

/// The same for many requirements entering the stage at once (an import), in statements of
/// many rows.
pub(crate) async fn open_stage_handoffs_many(
    tx: &mut WriteTx,
    requirements: &[i64],
    plan: &StagePlan,
    sender: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    if plan.points.is_empty() || requirements.is_empty() {
        return Ok(());
    }
    const COLUMNS: usize = 10;
    let at = tx.at.clone();
    let dues: Vec<String> = plan
        .points
        .iter()
        .map(|(p, _)| {
            to_db(deadline::due_after(
                &plan.calendar,
                now,
                p.fields.deadline_value,
                p.fields.deadline_unit,
            ))
        })
        .collect();
    let pairs: Vec<(i64, usize)> = requirements
        .iter()
        .flat_map(|r| (0..plan.points.len()).map(move |p| (*r, p)))
        .collect();
    let mut opened: HashMap<(i64, i64), i64> = HashMap::with_capacity(pairs.len());
    for chunk in pairs.chunks(tx.rows_per_insert(COLUMNS)) {
        let sql = format!(
            "INSERT INTO handoffs (requirement_id, control_point_id, stage, sender_id, sender_name, department_id, \
             receiver_id, output_department_id, due_at, created_at, status) VALUES {} \
             RETURNING id, requirement_id, control_point_id",
            tx.values(chunk.len(), COLUMNS).replace(')', ", 'open')")
        );
        let mut q = sqlx::query_as::<_, (i64, i64, i64)>(&sql);
        for (r, i) in chunk {
            let (p, receiver) = &plan.points[*i];
            q = q
                .bind(*r)
                .bind(p.id)
                .bind(plan.stage.as_str())
                .bind(sender.user_id.0)
                .bind(&sender.username)
                .bind(p.fields.department_id.0)
                .bind(receiver.map(|u| u.0))
                .bind(p.fields.receiver_department_id.0)
                .bind(&dues[*i])
                .bind(&at);
        }
        for (id, r, cp) in q.fetch_all(&mut *tx.tx).await? {
            opened.insert((r, cp), id);
        }
    }
    let departments: Vec<DepartmentId> = plan
        .points
        .iter()
        .flat_map(|(p, _)| [p.fields.department_id, p.fields.receiver_department_id])
        .collect();
    take_part_many(tx, requirements, &departments).await?;
    let images: Vec<(i64, serde_json::Value)> = requirements
        .iter()
        .map(|r| {
            let list: Vec<serde_json::Value> = plan
                .points
                .iter()
                .zip(&dues)
                .map(|((p, receiver), due)| {
                    serde_json::json!({
                        "id": opened.get(&(*r, p.id)), "control_point_id": p.id,
                        "department_id": p.fields.department_id, "receiver_id": receiver, "due_at": due,
                    })
                })
                .collect();
            (*r, serde_json::json!({"stage": plan.stage, "handoffs": list}))
        })
        .collect();
    tx.audit_each("requirement_handoffs", "open", &images).await
}

/// Cancels the pending hand-offs of the stages a rework supersedes (one audit entry lists them).
pub(crate) async fn cancel_stage_handoffs(
    tx: &mut WriteTx,
    requirement: i64,
    stages: &[Stage],
) -> Result<()> {
    if stages.is_empty() {
        return Ok(());
    }
    let marks: Vec<String> = (0..stages.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "UPDATE handoffs SET status = 'cancelled', version = version + 1 \
         WHERE requirement_id = $1 AND stage IN ({}) AND status IN ('open', 'acknowledged') RETURNING id",
        marks.join(", ")
    );
    let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(requirement);
    for s in stages {
        q = q.bind(s.as_str());
    }
    let cancelled = q.fetch_all(&mut *tx.tx).await?;
    if cancelled.is_empty() {
        return Ok(());
    }
    tx.audit(
        "requirement_handoffs",
        requirement,
        "cancel",
        None,
        Some(&serde_json::json!({"cancelled": cancelled})),
    )
    .await
}

/// Records that departments take part in a requirement (their members then see it).
pub(crate) async fn take_part(
    tx: &mut WriteTx,
    requirement: i64,
    departments: &[DepartmentId],
) -> Result<()> {
    take_part_many(tx, &[requirement], departments).await
}

/// Records that the departments take part in each of the requirements.
pub(crate) async fn take_part_many(
    tx: &mut WriteTx,
    requirements: &[i64],
    departments: &[DepartmentId],
) -> Result<()> {
    let mut departments = departments.to_vec();
    departments.sort();
    departments.dedup();
    let pairs: Vec<(i64, i64)> = requirements
        .iter()
        .flat_map(|r| departments.iter().map(move |d| (d.0, *r)))
        .collect();
    for chunk in pairs.chunks(tx.rows_per_insert(2)) {
        let sql = format!(
            "INSERT INTO requirement_departments (department_id, requirement_id) VALUES {} ON CONFLICT DO NOTHING",
            tx.values(chunk.len(), 2)
        );
        let mut q = sqlx::query(&sql);
        for (d, r) in chunk {
            q = q.bind(*d).bind(*r);
        }
        q.execute(&mut *tx.tx).await?;
    }
    Ok(())
}
