//! Complaints and positive feedback (F17, F18): registration (by staff or through the portal),
//! the steps of `complaint::next`, assignment under the recusal rule, the CAPA report, files,
//! and the survey task a closed serious complaint leaves. A complaint is visible exactly when
//! its customer is (portal users: their own company).

use chrono::{DateTime, Utc};
use reqloop_domain::access::{self, Actor};
use reqloop_domain::complaint::{
    self, Capa, CaseRole, ComplaintError, ComplaintFields, ComplaintKind, ComplaintState,
    ComplaintStep, Decision, Recusal, RecusalFacts, Severity,
};
use reqloop_domain::ids::UserId;
use reqloop_domain::time::{from_db, to_db};
use reqloop_domain::{attachment, deadline};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::db::{bind_all, customer_scope_sql, Arg, Conditions, WriteTx};
use crate::{users::random_token, Error, Page, Result, Store, Who};

/// A complaint with where it stands; files and recusals only in the single view.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Complaint {
    pub id: i64,
    pub version: i64,
    /// `TS-2026-0042`.
    pub number: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub kind: ComplaintKind,
    pub channel: String,
    pub title: String,
    pub content: String,
    pub product: String,
    pub order_id: Option<i64>,
    pub state: ComplaintState,
    pub registered_by: String,
    pub registered_at: String,
    /// Registration + 4 hours (002§4.3.3.1).
    pub confirm_due: String,
    /// Still waiting for confirmation past its due time.
    pub confirm_overdue: bool,
    pub confirm_note: String,
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<String>,
    pub valid: Option<bool>,
    pub severity: Option<Severity>,
    pub department_id: Option<i64>,
    pub fix_due: Option<String>,
    pub customer_agreement: String,
    pub evidence: String,
    pub explanation: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub investigator_id: Option<i64>,
    pub verifier_id: Option<i64>,
    pub correction: String,
    pub corrected_by: Option<String>,
    pub corrected_at: Option<String>,
    pub capa: Capa,
    /// The customer's own CAPA template is attached instead of the 8D form.
    pub capa_template: bool,
    pub capa_submitted_at: Option<String>,
    pub verify_note: String,
    pub verified_by: Option<String>,
    pub verified_at: Option<String>,
    pub reply_letter: String,
    pub reply_evidence: String,
    pub replied_by: Option<String>,
    pub replied_at: Option<String>,
    pub closed_at: Option<String>,
    pub files: Vec<ComplaintFile>,
    pub recused: Vec<RecusedPerson>,
}

/// Someone who may not investigate or verify the case, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecusedPerson {
    pub user_id: i64,
    pub name: String,
    pub why: Recusal,
}

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct ComplaintFile {
    pub id: i64,
    pub complaint_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub created_by: String,
    pub created_at: String,
}

/// A survey task left by a closed serious complaint (002§4.5.2), until surveys consume it.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct SurveyTask {
    pub id: i64,
    pub customer_id: i64,
    pub complaint_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub reason: String,
    pub status: String,
    pub created_at: String,
}

#[derive(FromRow)]
struct Row {
    id: i64,
    version: i64,
    customer_id: i64,
    customer_name: String,
    kind: String,
    channel: String,
    title: String,
    content: String,
    product: String,
    order_id: Option<i64>,
    state: String,
    registered_by: String,
    registered_at: String,
    confirm_due: String,
    confirm_note: String,
    confirmed_by: Option<String>,
    confirmed_at: Option<String>,
    valid: Option<i64>,
    severity: Option<String>,
    department_id: Option<i64>,
    fix_due: Option<String>,
    customer_agreement: String,
    evidence: String,
    explanation: String,
    decided_by: Option<String>,
    decided_at: Option<String>,
    investigator_id: Option<i64>,
    verifier_id: Option<i64>,
    correction: String,
    corrected_by: Option<String>,
    corrected_at: Option<String>,
    capa: String,
    capa_template: i64,
    capa_submitted_at: Option<String>,
    verify_note: String,
    verified_by: Option<String>,
    verified_at: Option<String>,
    reply_letter: String,
    reply_evidence: String,
    replied_by: Option<String>,
    replied_at: Option<String>,
    closed_at: Option<String>,
}

const COLUMNS: &str = "k.id, k.version, k.customer_id, c.name AS customer_name, k.kind, k.channel, k.title, \
    k.content, k.product, k.order_id, k.state, k.registered_by, k.registered_at, k.confirm_due, k.confirm_note, \
    k.confirmed_by, k.confirmed_at, k.valid, k.severity, k.department_id, k.fix_due, k.customer_agreement, \
    k.evidence, k.explanation, k.decided_by, k.decided_at, k.investigator_id, k.verifier_id, k.correction, \
    k.corrected_by, k.corrected_at, k.capa, k.capa_template, k.capa_submitted_at, k.verify_note, k.verified_by, \
    k.verified_at, k.reply_letter, k.reply_evidence, k.replied_by, k.replied_at, k.closed_at";

const FROM: &str = "complaints k JOIN customers c ON c.id = k.customer_id";

fn bad(what: &str) -> Error {
    Error::Other(format!("stored complaint has an invalid {what}"))
}

impl Row {
    fn into_complaint(self, now: DateTime<Utc>) -> Result<Complaint> {
        let state: ComplaintState = self.state.parse().map_err(|_| bad("state"))?;
        Ok(Complaint {
            number: format!(
                "TS-{}-{:04}",
                self.registered_at.get(..4).unwrap_or("0000"),
                self.id
            ),
            id: self.id,
            version: self.version,
            customer_id: self.customer_id,
            customer_name: self.customer_name,
            kind: self.kind.parse().map_err(|_| bad("kind"))?,
            channel: self.channel,
            title: self.title,
            content: self.content,
            product: self.product,
            order_id: self.order_id,
            confirm_overdue: state == ComplaintState::Registered
                && from_db(&self.confirm_due).is_some_and(|due| now > due),
            state,
            registered_by: self.registered_by,
            registered_at: self.registered_at,
            confirm_due: self.confirm_due,
            confirm_note: self.confirm_note,
            confirmed_by: self.confirmed_by,
            confirmed_at: self.confirmed_at,
            valid: self.valid.map(|v| v != 0),
            severity: self
                .severity
                .map(|s| s.parse().map_err(|_| bad("severity")))
                .transpose()?,
            department_id: self.department_id,
            fix_due: self.fix_due,
            customer_agreement: self.customer_agreement,
            evidence: self.evidence,
            explanation: self.explanation,
            decided_by: self.decided_by,
            decided_at: self.decided_at,
            investigator_id: self.investigator_id,
            verifier_id: self.verifier_id,
            correction: self.correction,
            corrected_by: self.corrected_by,
            corrected_at: self.corrected_at,
            capa: serde_json::from_str(&self.capa).map_err(|_| bad("CAPA report"))?,
            capa_template: self.capa_template != 0,
            capa_submitted_at: self.capa_submitted_at,
            verify_note: self.verify_note,
            verified_by: self.verified_by,
            verified_at: self.verified_at,
            reply_letter: self.reply_letter,
            reply_evidence: self.reply_evidence,
            replied_by: self.replied_by,
            replied_at: self.replied_at,
            closed_at: self.closed_at,
            files: vec![],
            recused: vec![],
        })
    }
}

/// Filters of `/complaints`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ComplaintFilter {
    pub customer_id: Option<i64>,
    pub state: Option<ComplaintState>,
    pub kind: Option<ComplaintKind>,
    pub severity: Option<Severity>,
    /// Only those past their 4-hour confirmation.
    pub overdue: Option<bool>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A step's note with the version read.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComplaintNote {
    pub version: i64,
    #[serde(default)]
    pub note: String,
}

/// An assignment of the investigator or the verifier.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    pub version: i64,
    pub role: CaseRole,
    pub user_id: i64,
}

/// Someone declared recused, and why.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    pub user_id: i64,
    pub reason: String,
}

/// The verification: whether the effect is there, and what shows it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    pub version: i64,
    pub passed: bool,
    pub note: String,
}

/// The written reply to the customer (the letter and the list of evidence sent with it).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    pub version: i64,
    pub letter: String,
    pub evidence: String,
}

/// The CAPA report being written (saved as often as needed while in CAPA): `version`,
/// `customer_template` and the eight disciplines side by side.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CapaDraft {
    pub version: i64,
    #[serde(flatten)]
    pub capa: Capa,
    /// The customer's own template is attached as a file instead.
    #[serde(default)]
    pub customer_template: bool,
}

/// What a portal user reads of their case: not who inside the company works on it.
fn for_viewer(actor: &Actor, mut k: Complaint) -> Complaint {
    if actor.role == reqloop_domain::user::Role::Portal {
        k.investigator_id = None;
        k.verifier_id = None;
    }
    k
}

/// Who sees a complaint: those who see its customer (portal users: their company's), and the
/// people working on it — the investigator, the verifier and the responsible department.
fn complaint_scope(c: &mut Conditions, actor: &Actor) {
    if let Some((sql, args)) = complaint_scope_sql(actor) {
        c.push(&sql, args);
    }
}

/// The complaints (alias `k`) a reader sees: portal users their company's; staff those of the
/// customers in their scope and the cases their department or they themselves work on.
pub(crate) fn complaint_scope_sql(actor: &Actor) -> Option<(String, Vec<Arg>)> {
    let (sql, mut args) = customer_scope_sql(actor, "k.customer_id")?;
    if actor.role == reqloop_domain::user::Role::Portal {
        return Some((sql, args));
    }
    let mut extra = String::from("k.investigator_id = ? OR k.verifier_id = ?");
    args.extend([Arg::Int(actor.user_id.0), Arg::Int(actor.user_id.0)]);
    if let Some(d) = actor.department_id {
        extra.push_str(" OR k.department_id = ?");
        args.push(Arg::Int(d.0));
    }
    Some((format!("({sql} OR {extra})"), args))
}

fn text(field: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::field(field, "required"));
    }
    if v.chars().count() > max {
        return Err(Error::field(field, "too_long"));
    }
    Ok(v.to_string())
}

impl Store {
    pub async fn list_complaints(
        &self,
        actor: &Actor,
        f: &ComplaintFilter,
        now: DateTime<Utc>,
    ) -> Result<Page<Complaint>> {
        let mut c = Conditions::default();
        complaint_scope(&mut c, actor);
        if let Some(id) = f.customer_id {
            c.push("k.customer_id = ?", [Arg::Int(id)]);
        }
        if let Some(s) = f.state {
            c.push("k.state = ?", [Arg::Text(s.as_str().into())]);
        }
        if let Some(k) = f.kind {
            c.push("k.kind = ?", [Arg::Text(k.as_str().into())]);
        }
        if let Some(s) = f.severity {
            c.push("k.severity = ?", [Arg::Text(s.as_str().into())]);
        }
        if f.overdue == Some(true) {
            c.push(
                "k.state = 'registered' AND k.confirm_due < ?",
                [Arg::Text(to_db(now))],
            );
        }
        // A queue of open work puts grade A first (F2); the whole register stays newest first.
        let queue = f.overdue == Some(true)
            || f.state
                .is_some_and(|s| !matches!(s, ComplaintState::Closed | ComplaintState::Invalid));
        let order = if queue {
            "c.grade, k.id DESC"
        } else {
            "k.id DESC"
        };
        let (rows, total) = self
            .fetch_page_counting::<Row>(
                FROM,
                "complaints k",
                COLUMNS,
                &c,
                order,
                f.page,
                f.per_page,
            )
            .await?;
        let items = rows
            .into_iter()
            .map(|r| r.into_complaint(now).map(|k| for_viewer(actor, k)))
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    /// One complaint with its files and the people recused from it.
    pub async fn get_complaint(
        &self,
        actor: &Actor,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<Complaint> {
        let mut c = Conditions::default();
        c.push("k.id = ?", [Arg::Int(id)]);
        complaint_scope(&mut c, actor);
        let sql = format!("SELECT {COLUMNS} FROM {FROM}{}", c.where_clause());
        let row: Row = bind_all(sqlx::query_as(&sql), &c.args)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound)?;
        let mut k = for_viewer(actor, row.into_complaint(now)?);
        k.files = sqlx::query_as(
            "SELECT id, complaint_id, file_name, content_type, size, created_by, created_at \
             FROM complaint_files WHERE complaint_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let facts = self.recusal_facts(&k).await?;
        let people = complaint::recusals(&facts);
        if !people.is_empty() && actor.role != reqloop_domain::user::Role::Portal {
            let users = self.list_users().await?;
            k.recused = people
                .into_iter()
                .map(|(u, why)| RecusedPerson {
                    user_id: u.0,
                    name: users
                        .iter()
                        .find(|x| x.id == u)
                        .map(|x| x.display_name.clone())
                        .unwrap_or_default(),
                    why,
                })
                .collect();
        }
        Ok(k)
    }

    async fn recusal_facts(&self, k: &Complaint) -> Result<RecusalFacts> {
        let manager: Option<i64> =
            sqlx::query_scalar("SELECT account_manager_id FROM customers WHERE id = $1")
                .bind(k.customer_id)
                .fetch_one(&self.pool)
                .await?;
        let head: Option<i64> = match k.department_id {
            Some(d) => sqlx::query_scalar("SELECT head_id FROM departments WHERE id = $1")
                .bind(d)
                .fetch_optional(&self.pool)
                .await?
                .flatten(),
            None => None,
        };
        let declared: Vec<(i64, String)> = sqlx::query_as(
            "SELECT user_id, reason FROM complaint_recusals WHERE complaint_id = $1 ORDER BY declared_at",
        )
        .bind(k.id)
        .fetch_all(&self.pool)
        .await?;
        Ok(RecusalFacts {
            account_manager: manager.map(UserId),
            department_head: head.map(UserId),
            declared: declared.into_iter().map(|(u, r)| (UserId(u), r)).collect(),
        })
    }

    /// Registers a complaint or a positive feedback; a portal user's goes to their own company.
    pub async fn register_complaint(
        &self,
        actor: &Actor,
        mut f: ComplaintFields,
        now: DateTime<Utc>,
    ) -> Result<Complaint> {
        f.validate()?;
        if actor.role == reqloop_domain::user::Role::Portal {
            let own = actor.customer_id.ok_or(Error::Forbidden("no_company"))?;
            if f.customer_id.is_some_and(|c| c != own.0) {
                return Err(Error::field("customer_id", "unknown_customer"));
            }
            f.customer_id = Some(own.0);
            f.channel = complaint::ComplaintChannel::Portal;
        }
        let customer = f
            .customer_id
            .ok_or_else(|| Error::field("customer_id", "required"))?;
        self.get_customer(actor, reqloop_domain::ids::CustomerId(customer))
            .await
            .map_err(|e| match e {
                Error::NotFound => Error::field("customer_id", "unknown_customer"),
                e => e,
            })?;
        if let Some(o) = f.order_id {
            self.get_order(actor, o).await.map_err(|e| match e {
                Error::NotFound => Error::field("order_id", "unknown"),
                e => e,
            })?;
        }
        let calendar = self.working_calendar().await?;
        let rules = self.sla_rules().await?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO complaints (customer_id, kind, channel, title, content, product, order_id, state, \
             registered_by, registered_at, confirm_due) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(customer)
        .bind(f.kind.as_str())
        .bind(f.channel.as_str())
        .bind(&f.title)
        .bind(&f.content)
        .bind(&f.product)
        .bind(f.order_id)
        .bind(ComplaintState::Registered.as_str())
        .bind(&actor.username)
        .bind(&at)
        .bind(to_db(deadline::complaint_confirm_due(&calendar, &rules, now)))
        .fetch_one(&mut *tx.tx)
        .await?;
        tx.audit("complaint", id, "register", None, Some(&f))
            .await?;
        tx.commit().await?;
        self.get_complaint(actor, id, now).await
    }

    /// Reads the complaint for a step, checks the version and the move, and opens the write.
    async fn begin_step(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        step: ComplaintStep,
        now: DateTime<Utc>,
    ) -> Result<(Complaint, ComplaintState, WriteTx)> {
        let k = self.get_complaint(actor, id, now).await?;
        if k.version != version {
            return Err(Error::Stale);
        }
        let to = complaint::next(k.kind, k.state, step).map_err(|e| Error::Rule(e.code()))?;
        let tx = self.write(&Who::from(actor), now).await?;
        Ok((k, to, tx))
    }

    /// Moves the complaint to `to` with the columns set by `set` (`col = $n` from `$3` on, bound
    /// in order), checking the version; writes the audit entry and commits.
    #[allow(clippy::too_many_arguments)]
    async fn finish_step(
        &self,
        mut tx: WriteTx,
        actor: &Actor,
        k: &Complaint,
        to: ComplaintState,
        step: &str,
        set: &[&str],
        args: Vec<Arg>,
        now: DateTime<Utc>,
    ) -> Result<Complaint> {
        let mut sets = vec![
            "state = $1".to_string(),
            "version = version + 1".to_string(),
        ];
        for (i, col) in set.iter().enumerate() {
            sets.push(format!("{col} = ${}", i + 3));
        }
        let n = set.len() + 3;
        let sql = format!(
            "UPDATE complaints SET {} WHERE id = $2 AND version = ${n}",
            sets.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(to.as_str()).bind(k.id);
        for a in &args {
            q = match a {
                Arg::Int(i) => q.bind(*i),
                Arg::Text(s) => q.bind(s.as_str()),
            };
        }
        let done = q
            .bind(k.version)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if done == 0 {
            return Err(Error::Stale);
        }
        let after: serde_json::Map<String, serde_json::Value> = set
            .iter()
            .zip(&args)
            .map(|(c, a)| {
                let v = match a {
                    Arg::Int(i) => serde_json::json!(i),
                    Arg::Text(s) => serde_json::json!(s),
                };
                (c.to_string(), v)
            })
            .collect();
        tx.audit(
            "complaint",
            k.id,
            step,
            Some(&serde_json::json!({"state": k.state})),
            Some(&serde_json::json!({"state": to, "set": after})),
        )
        .await?;
        if to == ComplaintState::Closed
            && k.kind == ComplaintKind::Complaint
            && k.severity == Some(Severity::Serious)
        {
            // 002§4.5.2: 当处理了顾客严重抱怨后，应及时做满意度调查.
            let manager: Option<i64> =
                sqlx::query_scalar("SELECT account_manager_id FROM customers WHERE id = $1")
                    .bind(k.customer_id)
                    .fetch_one(&mut *tx.tx)
                    .await?;
            let at = tx.at.clone();
            let (task,): (i64,) = sqlx::query_as(
                "INSERT INTO survey_tasks (customer_id, complaint_id, assignee_id, reason, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(k.customer_id)
            .bind(k.id)
            .bind(manager)
            .bind("serious_complaint")
            .bind(&at)
            .fetch_one(&mut *tx.tx)
            .await?;
            tx.audit(
                "survey_task",
                task,
                "create",
                None,
                Some(&serde_json::json!({"customer_id": k.customer_id, "complaint_id": k.id})),
            )
            .await?;
        }
        tx.commit().await?;
        self.get_complaint(actor, k.id, now).await
    }

    /// `finish_step` for the steps that record a note with who and when.
    #[allow(clippy::too_many_arguments)]
    async fn finish_noted(
        &self,
        tx: WriteTx,
        actor: &Actor,
        k: &Complaint,
        to: ComplaintState,
        step: &str,
        columns: [&str; 3],
        note: String,
        now: DateTime<Utc>,
    ) -> Result<Complaint> {
        let args = vec![
            Arg::Text(note),
            Arg::Text(actor.username.clone()),
            Arg::Text(to_db(now)),
        ];
        self.finish_step(tx, actor, k, to, step, &columns, args, now)
            .await
    }

    /// Confirmed with the customer (what was confirmed, how, the degree and the trend).
    pub async fn confirm_complaint(
        &self,
        actor: &Actor,
        id: i64,
        n: ComplaintNote,
        now: DateTime<Utc>,
    ) -> Result<Complaint> {
        let note = text("note", &n.note, 2000)?;
        let (k, to, tx) = self
            .begin_step(actor, id, n.version, ComplaintStep::Confirm, now)
            .await?;
        self.finish_noted(
            tx,
            actor,
            &k,
            to,
            "confirm",
            ["confirm_note", "confirmed_by", "confirmed_at"],
            note,
            now,
        )
        .await
    }

    /// The validity decision: invalid (evidence + explanation) or valid (severity, responsible
    /// department, committed fix date).
    pub async fn decide_complaint(
        &self,
        actor: &Actor,
        id: i64,
        mut d: Decision,
        now: DateTime<Utc>,
    ) -> Result<Complaint> {
        let calendar = self.working_calendar().await?;
        let rules = self.sla_rules().await?;
        let default_fix = deadline::complaint_fix_default(&calendar, &rules, now).to_string();
        d.validate(&default_fix)?;
        if let Some(dep) = d.department_id {
            let found: Option<i64> = sqlx::query_scalar("SELECT id FROM departments WHERE id = $1")
                .bind(dep)
                .fetch_optional(&self.pool)
                .await?;
            if found.is_none() {
                return Err(Error::field("department_id", "unknown_department"));
            }
        }
        let step = match (d.valid, d.severity) {
            (false, _) => ComplaintStep::Invalid,
            (true, Some(Severity::Serious)) => ComplaintStep::ValidSerious,
            (true, _) => ComplaintStep::ValidMinor,
        };
        let (k, to, tx) = self.begin_step(actor, id, d.version, step, now).await?;
        let at = to_db(now);
        let who = actor.username.clone();
        if d.valid {
            self.finish_step(
                tx,
                actor,
                &k,
                to,
                step.as_str(),
                &[
                    "valid",
                    "severity",
                    "department_id",
                    "fix_due",
                    "customer_agreement",
                    "decided_by",
                    "decided_at",
                ],
                vec![
                    Arg::Int(1),
                    Arg::Text(d.severity.unwrap_or(Severity::Minor).as_str().into()),
                    Arg::Int(d.department_id.unwrap_or_default()),
                    Arg::Text(d.fix_due.unwrap_or(default_fix)),
                    Arg::Text(d.customer_agreement),
                    Arg::Text(who),
                    Arg::Text(at),
                ],
                now,
            )
            .await
        } else {
            self.finish_step(
                tx,
                actor,
                &k,
                to,
                step.as_str(),
                &[
                    "valid",
                    "evidence",
                    "explanation",
                    "decided_by",
                    "decided_at",
                ],
                vec![
                    Arg::Int(0),
                    Arg::Text(d.evidence),
                    Arg::Text(d.explanation),
                    Arg::Text(who),
                    Arg::Text(at),
                ],
                now,
            )
            .await
        }
    }

    /// Assigns the investigator or the verifier, refusing anyone recused (422 `recused`, with
    /// who and why).
    pub async fn assign_complaint(
        &self,
        actor: &Actor,
        id: i64,
        a: Assignment,
        now: DateTime<Utc>,
    ) -> Result<Complaint> {
        let k = self.get_complaint(actor, id, now).await?;
        if k.version != a.version {
            return Err(Error::Stale);
        }
        if k.state == ComplaintState::Closed {
            return Err(Error::Rule(ComplaintError::Closed.code()));
        }
        let user = self
            .list_users()
            .await?
            .into_iter()
            .find(|u| u.id.0 == a.user_id && u.active)
            .ok_or_else(|| Error::field("user_id", "unknown_user"))?;
        if user.role == reqloop_domain::user::Role::Portal {
            return Err(Error::field("user_id", "unknown_user"));
        }
        let facts = self.recusal_facts(&k).await?;
        if let Some(why) = complaint::recused(&facts, user.id) {
            return Err(Error::Recused {
                user: user.display_name,
                why,
            });
        }
        let column = match a.role {
            CaseRole::Investigator => "investigator_id",
            CaseRole::Verifier => "verifier_id",
        };
        let mut tx = self.write(&Who::from(actor), now).await?;
        let n = sqlx::query(&format!(
            "UPDATE complaints SET {column} = $1, version = version + 1 WHERE id = $2 AND version = $3"
        ))
        .bind(user.id.0)
        .bind(id)
        .bind(k.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        tx.audit(
            "complaint",
            id,
            "assign",
            None,
            Some(&serde_json::json!({"role": a.role, "user_id": user.id.0})),
        )
        .await?;
        tx.commit().await?;
        self.get_complaint(actor, id, now).await
    }

    /// Declares someone recused from the case; an assignment they hold is withdrawn.
    pub async fn declare_recusal(
        &self,
        actor: &Actor,
        id: i64,
        d: Declaration,
        now: DateTime<Utc>,
    ) -> Result<Complaint> {
        let reason = text("reason", &d.reason, 500)?;
        let k = self.get_complaint(actor, id, now).await?;
        if !self.list_users().await?.iter().any(|u| u.id.0 == d.user_id) {
            return Err(Error::field("user_id", "unknown_user"));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        sqlx::query(
            "INSERT INTO complaint_recusals (complaint_id, user_id, reason, declared_by, declared_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (complaint_id, user_id) DO UPDATE SET reason = excluded.reason",
        )
        .bind(id)
        .bind(d.user_id)
        .bind(&reason)
        .bind(&actor.username)
        .bind(&at)
        .execute(&mut *tx.tx)
        .await?;
        sqlx::query(
            "UPDATE complaints SET \
             investigator_id = CASE WHEN investigator_id = $1 THEN NULL ELSE investigator_id END, \
             verifier_id = CASE WHEN verifier_id = $1 THEN NULL ELSE verifier_id END, \
             version = version + 1 WHERE id = $2",
        )
        .bind(d.user_id)
        .bind(k.id)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit(
            "complaint",
            id,
            "recusal",
            None,
            Some(&serde_json::json!({"user_id": d.user_id, "reason": reason})),
        )
        .await?;
        tx.commit().await?;
        self.get_complaint(actor, id, now).await
    }

    /// A minor complaint's correction, with the evidence collected from the department.
    pub async fn correct_complaint(
        &self,
        actor: &Actor,
        id: i64,
        n: ComplaintNote,
        now: DateTime<Utc>,
    ) -> Result<Complaint> {
        let evidence = text("note", &n.note, 5000)?;
        let (k, to, tx) = self
            .begin_step(actor, id, n.version, ComplaintStep::Correct, now)
            .await?;
        self.finish_noted(
            tx,
            actor,
            &k,
            to,
            "correct",
            ["correction", "corrected_by", "corrected_at"],
            evidence,
            now,
        )
        .await
    }

    /// Saves the CAPA report while the complaint is in CAPA.
    pub async fn save_capa(
        &self,
        actor: &Actor,
        id: i64,
        mut d: CapaDraft,
        now: DateTime<Utc>,
    ) -> Result<Complaint> {
        d.capa.validate()?;
        let k = self.get_complaint(actor, id, now).await?;
        if k.version != d.version {
            return Err(Error::Stale);
        }
        if k.state != ComplaintState::Capa {
            return Err(Error::Rule(ComplaintError::WrongState.code()));
        }
        let json = serde_json::to_string(&d.capa).map_err(|e| Error::Other(e.to_string()))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let n = sqlx::query(
            "UPDATE complaints SET capa = $1, capa_template = $2, version = version + 1 \
             WHERE id = $3 AND version = $4",
        )
        .bind(&json)
        .bind(i64::from(d.customer_template))
        .bind(id)
        .bind(k.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        tx.audit("complaint", id, "capa", None, Some(&d.capa))
            .await?;
        tx.commit().await?;
        self.get_complaint(actor, id, now).await
    }

    /// Submits the CAPA report for verification (422 `capa_incomplete` without all eight
    /// disciplines or the customer's template attached).
    pub async fn submit_capa(
        &self,
        actor: &Actor,
        id: i64,
        n: ComplaintNote,
        now: DateTime<Utc>,
    ) -> Result<Complaint> {
        let (k, to, tx) = self
            .begin_step(actor, id, n.version, ComplaintStep::SubmitCapa, now)
            .await?;
        let template = k.capa_template && !k.files.is_empty();
        if !k.capa.complete(template) {
            return Err(Error::Rule(ComplaintError::CapaIncomplete.code()));
        }
        self.finish_step(
            tx,
            actor,
            &k,
            to,
            "submit_capa",
            &["capa_submitted_at"],
            vec![Arg::Text(to_db(now))],
            now,
        )
        .await
    }

    /// The assigned verifier records whether the effect is there; a failed verification sends
    /// the case back to its correction or CAPA.
    pub async fn verify_complaint(
        &self,
        actor: &Actor,
        id: i64,
        v: Verification,
        now: DateTime<Utc>,
    ) -> Result<Complaint> {
        let note = text("note", &v.note, 2000)?;
        let k = self.get_complaint(actor, id, now).await?;
        let Some(verifier) = k.verifier_id else {
            return Err(Error::Rule(ComplaintError::NoVerifier.code()));
        };
        if actor.user_id.0 != verifier && actor.role != reqloop_domain::user::Role::Admin {
            return Err(Error::Rule(ComplaintError::NotVerifier.code()));
        }
        let facts = self.recusal_facts(&k).await?;
        if let Some(why) = complaint::recused(&facts, actor.user_id) {
            return Err(Error::Recused {
                user: actor.username.clone(),
                why,
            });
        }
        let (k, to, tx) = if v.passed {
            self.begin_step(actor, id, v.version, ComplaintStep::VerifyPass, now)
                .await?
        } else {
            if k.state != ComplaintState::Verifying {
                return Err(Error::Rule(ComplaintError::WrongState.code()));
            }
            if k.version != v.version {
                return Err(Error::Stale);
            }
            let back = complaint::rework(k.severity.unwrap_or(Severity::Minor));
            let tx = self.write(&Who::from(actor), now).await?;
            (k, back, tx)
        };
        self.finish_noted(
            tx,
            actor,
            &k,
            to,
            if v.passed {
                "verify_pass"
            } else {
                "verify_fail"
            },
            ["verify_note", "verified_by", "verified_at"],
            note,
            now,
        )
        .await
    }

    /// The written reply to the customer with the evidence list; the complaint closes.
    pub async fn reply_complaint(
        &self,
        actor: &Actor,
        id: i64,
        r: Reply,
        now: DateTime<Utc>,
    ) -> Result<Complaint> {
        let letter = text("letter", &r.letter, 10000)?;
        let evidence = text("evidence", &r.evidence, 5000)?;
        let (k, to, tx) = self
            .begin_step(actor, id, r.version, ComplaintStep::Reply, now)
            .await?;
        let at = to_db(now);
        self.finish_step(
            tx,
            actor,
            &k,
            to,
            "reply",
            &[
                "reply_letter",
                "reply_evidence",
                "replied_by",
                "replied_at",
                "closed_at",
            ],
            vec![
                Arg::Text(letter),
                Arg::Text(evidence),
                Arg::Text(actor.username.clone()),
                Arg::Text(at.clone()),
                Arg::Text(at),
            ],
            now,
        )
        .await
    }

    /// Closes an invalid complaint (its explanation sent) or a confirmed positive feedback.
    pub async fn close_complaint(
        &self,
        actor: &Actor,
        id: i64,
        n: ComplaintNote,
        now: DateTime<Utc>,
    ) -> Result<Complaint> {
        let (k, to, tx) = self
            .begin_step(actor, id, n.version, ComplaintStep::Close, now)
            .await?;
        self.finish_step(
            tx,
            actor,
            &k,
            to,
            "close",
            &["closed_at"],
            vec![Arg::Text(to_db(now))],
            now,
        )
        .await
    }

    /// Adds a photo, video or document to a complaint (the type read from the bytes).
    pub async fn add_complaint_file(
        &self,
        actor: &Actor,
        id: i64,
        file_name: &str,
        bytes: Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<ComplaintFile> {
        let content_type = attachment::check_evidence(file_name, &bytes)?;
        let k = self.get_complaint(actor, id, now).await?;
        if k.state == ComplaintState::Closed {
            return Err(Error::Rule(ComplaintError::Closed.code()));
        }
        let key = random_token();
        let sha = hex::encode(Sha256::digest(&bytes));
        let size = bytes.len() as i64;
        let path = self.write_file(&key, &bytes).await?;
        let stored = async {
            let mut tx = self.write(&Who::from(actor), now).await?;
            let at = tx.at.clone();
            let f = ComplaintFile {
                id: 0,
                complaint_id: id,
                file_name: attachment::clean_name(file_name),
                content_type: content_type.into(),
                size,
                created_by: actor.username.clone(),
                created_at: at,
            };
            let (fid,): (i64,) = sqlx::query_as(
                "INSERT INTO complaint_files (complaint_id, file_name, content_type, size, sha256, storage_key, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(id)
            .bind(&f.file_name)
            .bind(&f.content_type)
            .bind(size)
            .bind(&sha)
            .bind(&key)
            .bind(&f.created_by)
            .bind(&f.created_at)
            .fetch_one(&mut *tx.tx)
            .await?;
            let f = ComplaintFile { id: fid, ..f };
            tx.audit("complaint_file", fid, "create", None, Some(&f))
                .await?;
            tx.commit().await?;
            Ok::<_, Error>(f)
        }
        .await;
        if stored.is_err() {
            let _ = tokio::fs::remove_file(&path).await;
        }
        stored
    }

    /// A complaint file and its bytes, when the actor sees the complaint.
    pub async fn read_complaint_file(
        &self,
        actor: &Actor,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(ComplaintFile, Vec<u8>)> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT complaint_id, storage_key FROM complaint_files WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let (complaint, key) = row.ok_or(Error::NotFound)?;
        let k = self.get_complaint(actor, complaint, now).await?;
        let f = k
            .files
            .into_iter()
            .find(|f| f.id == id)
            .ok_or(Error::NotFound)?;
        Ok((f, self.read_file(&key).await?))
    }

    /// The open survey tasks of an account manager (or all, for cleared roles).
    pub async fn survey_tasks(&self, actor: &Actor) -> Result<Vec<SurveyTask>> {
        let mut c = Conditions::default();
        c.push("t.status = ?", [Arg::Text("open".into())]);
        if !access::sees_confidential(actor) {
            c.push("t.assignee_id = ?", [Arg::Int(actor.user_id.0)]);
        }
        let sql = format!(
            "SELECT t.id, t.customer_id, t.complaint_id, t.assignee_id, t.reason, t.status, t.created_at \
             FROM survey_tasks t{} ORDER BY t.id DESC LIMIT 200",
            c.where_clause()
        );
        Ok(bind_all(sqlx::query_as(&sql), &c.args)
            .fetch_all(&self.pool)
            .await?)
    }
}
