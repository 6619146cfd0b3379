//! Process audits (F16): plans per region or project with their checklist, graded item by item
//! (`process_audit::grade_item`), reported once complete (`process_audit::report`); the
//! excellent items' practices make the shared page.

use chrono::{DateTime, Utc};
use reqloop_domain::access::Actor;
use reqloop_domain::process_audit::{
    self, AuditGrade, AuditScope, AuditStatus, ItemGrading, PlanFields,
};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::db::{bind_all, Arg, Conditions};
use crate::{Error, Page, Result, Store, Who};

/// An audit with its checklist (items only in the single view) and the grades so far.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProcessAudit {
    pub id: i64,
    pub version: i64,
    pub title: String,
    pub scope: AuditScope,
    pub province: String,
    pub project_id: Option<i64>,
    pub project_name: Option<String>,
    pub planned_on: String,
    pub auditor_id: i64,
    pub auditor: String,
    pub status: AuditStatus,
    pub summary: String,
    pub reported_by: Option<String>,
    pub reported_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
    /// How many items got each grade (every grade listed, ungraded items left out).
    pub distribution: Vec<(AuditGrade, i64)>,
    pub ungraded: i64,
    /// `process_audit::overall` of the graded items.
    pub overall: Option<AuditGrade>,
    pub items: Vec<AuditItem>,
}

/// One checklist item and its grade.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditItem {
    pub seq: i64,
    pub version: i64,
    pub text: String,
    pub grade: Option<AuditGrade>,
    pub note: String,
    pub finding: String,
    pub practice: String,
    pub graded_by: Option<String>,
    pub graded_at: Option<String>,
}

/// An excellent practice, with the audit it came from.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Practice {
    pub audit_id: i64,
    pub audit_title: String,
    pub scope: String,
    pub province: String,
    pub project_name: Option<String>,
    pub item: String,
    pub practice: String,
    pub graded_by: Option<String>,
    pub graded_at: Option<String>,
}

#[derive(FromRow)]
struct AuditRow {
    id: i64,
    version: i64,
    title: String,
    scope: String,
    province: String,
    project_id: Option<i64>,
    project_name: Option<String>,
    planned_on: String,
    auditor_id: i64,
    auditor: String,
    status: String,
    summary: String,
    reported_by: Option<String>,
    reported_at: Option<String>,
    created_by: String,
    created_at: String,
    not_qualified: i64,
    qualified: i64,
    good: i64,
    excellent: i64,
    ungraded: i64,
}

const COLUMNS: &str = "a.id, a.version, a.title, a.scope, a.province, a.project_id, p.name AS project_name, \
    a.planned_on, a.auditor_id, u.display_name AS auditor, a.status, a.summary, a.reported_by, a.reported_at, \
    a.created_by, a.created_at, \
    (SELECT COUNT(*) FROM process_audit_items i WHERE i.audit_id = a.id AND i.grade = 'not_qualified') AS not_qualified, \
    (SELECT COUNT(*) FROM process_audit_items i WHERE i.audit_id = a.id AND i.grade = 'qualified') AS qualified, \
    (SELECT COUNT(*) FROM process_audit_items i WHERE i.audit_id = a.id AND i.grade = 'good') AS good, \
    (SELECT COUNT(*) FROM process_audit_items i WHERE i.audit_id = a.id AND i.grade = 'excellent') AS excellent, \
    (SELECT COUNT(*) FROM process_audit_items i WHERE i.audit_id = a.id AND i.grade IS NULL) AS ungraded";

const FROM: &str = "process_audits a JOIN users u ON u.id = a.auditor_id \
    LEFT JOIN projects p ON p.id = a.project_id";

fn bad(what: &str) -> Error {
    Error::Other(format!("stored process audit has an invalid {what}"))
}

impl AuditRow {
    fn into_audit(self) -> Result<ProcessAudit> {
        let distribution = vec![
            (AuditGrade::NotQualified, self.not_qualified),
            (AuditGrade::Qualified, self.qualified),
            (AuditGrade::Good, self.good),
            (AuditGrade::Excellent, self.excellent),
        ];
        let grades: Vec<AuditGrade> = distribution
            .iter()
            .flat_map(|(g, n)| std::iter::repeat_n(*g, *n as usize))
            .collect();
        Ok(ProcessAudit {
            id: self.id,
            version: self.version,
            title: self.title,
            scope: self.scope.parse().map_err(|_| bad("scope"))?,
            province: self.province,
            project_id: self.project_id,
            project_name: self.project_name,
            planned_on: self.planned_on,
            auditor_id: self.auditor_id,
            auditor: self.auditor,
            status: self.status.parse().map_err(|_| bad("status"))?,
            summary: self.summary,
            reported_by: self.reported_by,
            reported_at: self.reported_at,
            created_by: self.created_by,
            created_at: self.created_at,
            overall: process_audit::overall(&grades),
            distribution,
            ungraded: self.ungraded,
            items: vec![],
        })
    }
}

/// Filters of `/process-audits`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProcessAuditFilter {
    pub status: Option<AuditStatus>,
    pub project_id: Option<i64>,
    pub province: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The report: the version read and the summary.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditReport {
    pub version: i64,
    pub summary: String,
}

impl Store {
    pub async fn list_process_audits(&self, f: &ProcessAuditFilter) -> Result<Page<ProcessAudit>> {
        let mut c = Conditions::default();
        if let Some(s) = f.status {
            c.push("a.status = ?", [Arg::Text(s.as_str().into())]);
        }
        if let Some(p) = f.project_id {
            c.push("a.project_id = ?", [Arg::Int(p)]);
        }
        if let Some(p) = f.province.as_deref().filter(|p| !p.is_empty()) {
            c.push("a.province = ?", [Arg::Text(p.into())]);
        }
        let (rows, total) = self
            .fetch_page_counting::<AuditRow>(
                FROM,
                "process_audits a",
                COLUMNS,
                &c,
                "a.planned_on DESC, a.id DESC",
                f.page,
                f.per_page,
            )
            .await?;
        let items = rows
            .into_iter()
            .map(AuditRow::into_audit)
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    pub async fn get_process_audit(&self, id: i64) -> Result<ProcessAudit> {
        let mut c = Conditions::default();
        c.push("a.id = ?", [Arg::Int(id)]);
        let sql = format!("SELECT {COLUMNS} FROM {FROM}{}", c.where_clause());
        let row: AuditRow = bind_all(sqlx::query_as(&sql), &c.args)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound)?;
        let mut a = row.into_audit()?;
        type ItemRow = (
            i64,
            i64,
            String,
            Option<String>,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<ItemRow> = sqlx::query_as(
            "SELECT seq, version, text, grade, note, finding, practice, graded_by, graded_at \
             FROM process_audit_items WHERE audit_id = $1 ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        a.items = rows
            .into_iter()
            .map(
                |(seq, version, text, grade, note, finding, practice, graded_by, graded_at)| {
                    Ok(AuditItem {
                        seq,
                        version,
                        text,
                        grade: grade
                            .map(|g| g.parse().map_err(|_| bad("grade")))
                            .transpose()?,
                        note,
                        finding,
                        practice,
                        graded_by,
                        graded_at,
                    })
                },
            )
            .collect::<Result<_>>()?;
        Ok(a)
    }

    /// Plans an audit with its checklist (the default one when none is given).
    pub async fn plan_process_audit(
        &self,
        actor: &Actor,
        mut f: PlanFields,
        now: DateTime<Utc>,
    ) -> Result<ProcessAudit> {
        f.validate()?;
        let auditor: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
            .bind(f.auditor_id.0)
            .fetch_optional(&self.pool)
            .await?;
        if auditor.is_none() {
            return Err(Error::field("auditor_id", "unknown_user"));
        }
        if let Some(p) = f.project_id {
            let found: Option<i64> = sqlx::query_scalar("SELECT id FROM projects WHERE id = $1")
                .bind(p)
                .fetch_optional(&self.pool)
                .await?;
            if found.is_none() {
                return Err(Error::field("project_id", "unknown_project"));
            }
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO process_audits (title, scope, province, project_id, planned_on, auditor_id, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(&f.title)
        .bind(f.scope.as_str())
        .bind(&f.province)
        .bind(f.project_id)
        .bind(&f.planned_on)
        .bind(f.auditor_id.0)
        .bind(AuditStatus::Planned.as_str())
        .bind(&actor.username)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await?;
        for (i, text) in f.items.iter().enumerate() {
            sqlx::query(
                "INSERT INTO process_audit_items (audit_id, seq, text) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(i as i64 + 1)
            .bind(text)
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.audit("process_audit", id, "plan", None, Some(&f))
            .await?;
        tx.commit().await?;
        self.get_process_audit(id).await
    }

    /// Grades one item (409 when the item changed since it was read; 422 once reported).
    pub async fn grade_audit_item(
        &self,
        actor: &Actor,
        id: i64,
        seq: i64,
        mut g: ItemGrading,
        now: DateTime<Utc>,
    ) -> Result<ProcessAudit> {
        g.validate()?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM process_audits WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx.tx)
                .await?;
        let status: AuditStatus = status
            .ok_or(Error::NotFound)?
            .parse()
            .map_err(|_| bad("status"))?;
        let next = process_audit::grade_item(status).map_err(|e| Error::Rule(e.code()))?;
        let at = tx.at.clone();
        let n = sqlx::query(
            "UPDATE process_audit_items SET grade = $1, note = $2, finding = $3, practice = $4, graded_by = $5, \
             graded_at = $6, version = version + 1 WHERE audit_id = $7 AND seq = $8 AND version = $9",
        )
        .bind(g.grade.as_str())
        .bind(&g.note)
        .bind(&g.finding)
        .bind(&g.practice)
        .bind(&actor.username)
        .bind(&at)
        .bind(id)
        .bind(seq)
        .bind(g.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            let exists: Option<i64> = sqlx::query_scalar(
                "SELECT seq FROM process_audit_items WHERE audit_id = $1 AND seq = $2",
            )
            .bind(id)
            .bind(seq)
            .fetch_optional(&mut *tx.tx)
            .await?;
            return Err(if exists.is_some() {
                Error::Stale
            } else {
                Error::NotFound
            });
        }
        if next != status {
            sqlx::query(
                "UPDATE process_audits SET status = $1, version = version + 1 WHERE id = $2",
            )
            .bind(next.as_str())
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.audit(
            "process_audit_item",
            format!("{id}/{seq}"),
            "grade",
            None,
            Some(&g),
        )
        .await?;
        tx.commit().await?;
        self.get_process_audit(id).await
    }

    /// Reports the audit: every item graded, the summary written; grading ends.
    pub async fn report_process_audit(
        &self,
        actor: &Actor,
        id: i64,
        r: AuditReport,
        now: DateTime<Utc>,
    ) -> Result<ProcessAudit> {
        let summary = r.summary.trim();
        if summary.is_empty() {
            return Err(Error::field("summary", "required"));
        }
        if summary.chars().count() > 5000 {
            return Err(Error::field("summary", "too_long"));
        }
        let a = self.get_process_audit(id).await?;
        if a.version != r.version {
            return Err(Error::Stale);
        }
        let next = process_audit::report(a.status, a.ungraded as usize)
            .map_err(|e| Error::Rule(e.code()))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let n = sqlx::query(
            "UPDATE process_audits SET status = $1, summary = $2, reported_by = $3, reported_at = $4, \
             version = version + 1 WHERE id = $5 AND version = $6",
        )
        .bind(next.as_str())
        .bind(summary)
        .bind(&actor.username)
        .bind(&at)
        .bind(id)
        .bind(a.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        tx.audit(
            "process_audit",
            id,
            "report",
            None,
            Some(&serde_json::json!({"summary": summary, "overall": a.overall})),
        )
        .await?;
        tx.commit().await?;
        self.get_process_audit(id).await
    }

    /// The excellent practices of every audit, newest first (the shared page).
    pub async fn practices(
        &self,
        page: Option<i64>,
        per_page: Option<i64>,
    ) -> Result<Page<Practice>> {
        let mut c = Conditions::default();
        c.push(
            "i.grade = ?",
            [Arg::Text(AuditGrade::Excellent.as_str().into())],
        );
        let (items, total) = self
            .fetch_page_counting(
                "process_audit_items i JOIN process_audits a ON a.id = i.audit_id \
                 LEFT JOIN projects p ON p.id = a.project_id",
                "process_audit_items i",
                "i.audit_id, a.title AS audit_title, a.scope, a.province, p.name AS project_name, \
                 i.text AS item, i.practice, i.graded_by, i.graded_at",
                &c,
                "i.graded_at DESC, i.audit_id DESC, i.seq",
                page,
                per_page,
            )
            .await?;
        Ok(Page { items, total })
    }
}
