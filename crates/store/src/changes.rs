//! Change control (F14): a change request over identification items goes through
//! re-determination, a re-review round over the affected items, approval (which gives the
//! requirement a new revision, the old one kept as a snapshot), notices to the affected
//! departments and their confirmations, verification and closing. The steps and their order are
//! `change::next`; this module loads the facts and writes the outcome, one transaction each.
//! Change records are confidential (002§4.2C): `access::cleared_for_changes` roles see those of
//! the requirements they see, others only those notified to their department.

use chrono::{DateTime, Utc};
use reqloop_domain::access::{self, Actor};
use reqloop_domain::change::{
    self, ChangeError, ChangeFields, ChangeOrigin, ChangeState, ChangeStep, DiffLine, Impact,
    ItemChange, Redetermination, Snapshot, SnapshotItem, StepNote,
};
use reqloop_domain::ids::DepartmentId;
use reqloop_domain::review::{Aspect, ReviewError};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::db::{bind_all, requirement_id_scope, Arg, Conditions, WriteTx};
use crate::requirements::ItemRow;
use crate::reviews::{ReviewFilter, ReviewRound};
use crate::{handoffs, Error, Item, Page, Result, Store, Who};

/// A change with its impacts, items, notices and re-review rounds (the children only in the
/// single-change view).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Change {
    pub id: i64,
    pub version: i64,
    /// `BG-2026-0007`.
    pub number: String,
    pub requirement_id: i64,
    pub requirement_code: String,
    pub requirement_title: String,
    pub customer_id: i64,
    pub contract_id: Option<i64>,
    pub origin: ChangeOrigin,
    pub title: String,
    pub reason: String,
    pub state: ChangeState,
    pub redetermination: String,
    pub redetermined_by: Option<String>,
    pub redetermined_at: Option<String>,
    pub decision_note: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub notified_by: Option<String>,
    pub notified_at: Option<String>,
    pub verification: String,
    pub verified_by: Option<String>,
    pub verified_at: Option<String>,
    pub closed_by: Option<String>,
    pub closed_at: Option<String>,
    /// The requirement revision the approval produced.
    pub revision: Option<i64>,
    pub created_by: String,
    pub created_at: String,
    pub impacts: Vec<Impact>,
    pub items: Vec<ChangeItem>,
    pub notices: Vec<Notice>,
    pub reviews: Vec<ReviewRound>,
}

/// An affected item, before and after.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct ChangeItem {
    pub item_id: i64,
    pub department_id: i64,
    pub before_description: String,
    pub before_criterion: String,
    pub after_description: String,
    pub after_criterion: String,
}

/// The change notice to one department and its confirmation of implementation.
#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Notice {
    pub department_id: i64,
    pub department_zh: String,
    pub department_en: String,
    pub notified_at: String,
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<String>,
    pub note: String,
}

#[derive(FromRow)]
struct ChangeRow {
    id: i64,
    version: i64,
    requirement_id: i64,
    requirement_code: String,
    requirement_title: String,
    customer_id: i64,
    contract_id: Option<i64>,
    origin: String,
    title: String,
    reason: String,
    state: String,
    redetermination: String,
    redetermined_by: Option<String>,
    redetermined_at: Option<String>,
    decision_note: String,
    decided_by: Option<String>,
    decided_at: Option<String>,
    notified_by: Option<String>,
    notified_at: Option<String>,
    verification: String,
    verified_by: Option<String>,
    verified_at: Option<String>,
    closed_by: Option<String>,
    closed_at: Option<String>,
    revision: Option<i64>,
    created_by: String,
    created_at: String,
}

const COLUMNS: &str = "g.id, g.version, g.requirement_id, r.code AS requirement_code, \
    r.title AS requirement_title, r.customer_id, g.contract_id, g.origin, g.title, g.reason, g.state, \
    g.redetermination, g.redetermined_by, g.redetermined_at, g.decision_note, g.decided_by, g.decided_at, \
    g.notified_by, g.notified_at, g.verification, g.verified_by, g.verified_at, g.closed_by, g.closed_at, \
    g.revision, g.created_by, g.created_at";

const FROM: &str = "changes g JOIN requirements r ON r.id = g.requirement_id";

fn bad(what: &str) -> Error {
    Error::Other(format!("stored change has an invalid {what}"))
}

impl ChangeRow {
    fn into_change(self) -> Result<Change> {
        Ok(Change {
            number: format!(
                "BG-{}-{:04}",
                self.created_at.get(..4).unwrap_or("0000"),
                self.id
            ),
            id: self.id,
            version: self.version,
            requirement_id: self.requirement_id,
            requirement_code: self.requirement_code,
            requirement_title: self.requirement_title,
            customer_id: self.customer_id,
            contract_id: self.contract_id,
            origin: self.origin.parse().map_err(|_| bad("origin"))?,
            title: self.title,
            reason: self.reason,
            state: self.state.parse().map_err(|_| bad("state"))?,
            redetermination: self.redetermination,
            redetermined_by: self.redetermined_by,
            redetermined_at: self.redetermined_at,
            decision_note: self.decision_note,
            decided_by: self.decided_by,
            decided_at: self.decided_at,
            notified_by: self.notified_by,
            notified_at: self.notified_at,
            verification: self.verification,
            verified_by: self.verified_by,
            verified_at: self.verified_at,
            closed_by: self.closed_by,
            closed_at: self.closed_at,
            revision: self.revision,
            created_by: self.created_by,
            created_at: self.created_at,
            impacts: vec![],
            items: vec![],
            notices: vec![],
            reviews: vec![],
        })
    }
}

/// Filters of `/changes`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangeFilter {
    pub requirement_id: Option<i64>,
    pub contract_id: Option<i64>,
    pub state: Option<ChangeState>,
    /// Changes notified to this department (with `pending=true`: not yet confirmed by it).
    pub department_id: Option<i64>,
    pub pending: Option<bool>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A re-review to start: the aspects under review (all seven when left out).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeReview {
    pub version: i64,
    #[serde(default)]
    pub aspects: Vec<Aspect>,
}

/// The notices to issue: the departments of the affected items always, and these besides.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyRequest {
    pub version: i64,
    #[serde(default)]
    pub departments: Vec<i64>,
}

/// One revision of a requirement.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Revision {
    pub revision: i64,
    /// The change that produced it (none for the first).
    pub change_id: Option<i64>,
    pub created_by: String,
    pub created_at: String,
    pub current: bool,
    pub snapshot: Snapshot,
    /// What changed from the revision before (empty for the first).
    pub diff: Vec<DiffLine>,
}

/// The confidentiality rule as SQL: cleared roles see the changes of the requirements they see;
/// others only the changes notified to their department.
fn change_scope(c: &mut Conditions, actor: &Actor) {
    requirement_id_scope(c, actor, "g.requirement_id");
    if !access::cleared_for_changes(actor) {
        match actor.department_id {
            Some(d) => c.push(
                "g.id IN (SELECT change_id FROM change_notices WHERE department_id = ?)",
                [Arg::Int(d.0)],
            ),
            None => c.push("1 = 0", []),
        }
    }
}

/// The wire names of the states a change still waits in (for SQL `IN`).
pub(crate) fn open_states_sql() -> String {
    ChangeState::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The affected items of a change as the change would make them (what its re-review reviews).
pub(crate) async fn items_as_changed(pool: &sqlx::AnyPool, change: i64) -> Result<Vec<Item>> {
    let rows: Vec<ItemRow> = sqlx::query_as(
        "SELECT i.id, i.requirement_id, i.version, ci.after_description AS description, i.category, \
         i.sub_category, ci.after_criterion AS acceptance_criterion, i.department_id \
         FROM change_items ci JOIN requirement_items i ON i.id = ci.item_id \
         WHERE ci.change_id = $1 ORDER BY i.id",
    )
    .bind(change)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(ItemRow::into_item).collect()
}

/// The approval of a change's re-review round moves the change on (same transaction).
pub(crate) async fn rereviewed(tx: &mut WriteTx, change: i64, round_no: i64) -> Result<()> {
    let state: String = sqlx::query_scalar("SELECT state FROM changes WHERE id = $1")
        .bind(change)
        .fetch_one(&mut *tx.tx)
        .await?;
    let from: ChangeState = state.parse().map_err(|_| bad("state"))?;
    let to = change::next(from, ChangeStep::ReviewApproved).map_err(|e| Error::Rule(e.code()))?;
    sqlx::query("UPDATE changes SET state = $1, version = version + 1 WHERE id = $2")
        .bind(to.as_str())
        .bind(change)
        .execute(&mut *tx.tx)
        .await?;
    tx.audit(
        "change",
        change,
        "rereviewed",
        None,
        Some(&serde_json::json!({"state": to, "round_no": round_no})),
    )
    .await
}

/// The columns a step stamps: who, when, and the note when the step takes one.
struct Stamp {
    by: &'static str,
    at: &'static str,
    note: Option<&'static str>,
}

impl Store {
    pub async fn list_changes(&self, actor: &Actor, f: &ChangeFilter) -> Result<Page<Change>> {
        let mut c = Conditions::default();
        change_scope(&mut c, actor);
        if let Some(r) = f.requirement_id {
            c.push("g.requirement_id = ?", [Arg::Int(r)]);
        }
        if let Some(k) = f.contract_id {
            c.push("g.contract_id = ?", [Arg::Int(k)]);
        }
        if let Some(s) = f.state {
            c.push("g.state = ?", [Arg::Text(s.as_str().into())]);
        }
        if let Some(d) = f.department_id {
            let pending = if f.pending == Some(true) {
                " AND confirmed_at IS NULL"
            } else {
                ""
            };
            c.push(
                &format!(
                    "g.id IN (SELECT change_id FROM change_notices WHERE department_id = ?{pending})"
                ),
                [Arg::Int(d)],
            );
        }
        let (rows, total) = self
            .fetch_page_counting::<ChangeRow>(
                FROM,
                "changes g",
                COLUMNS,
                &c,
                "g.id DESC",
                f.page,
                f.per_page,
            )
            .await?;
        let items = rows
            .into_iter()
            .map(ChangeRow::into_change)
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    /// One change with its impacts, items (before/after), notices and re-review rounds.
    pub async fn get_change(&self, actor: &Actor, id: i64) -> Result<Change> {
        let mut c = Conditions::default();
        c.push("g.id = ?", [Arg::Int(id)]);
        change_scope(&mut c, actor);
        let sql = format!("SELECT {COLUMNS} FROM {FROM}{}", c.where_clause());
        let row: ChangeRow = bind_all(sqlx::query_as(&sql), &c.args)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound)?;
        let mut g = row.into_change()?;
        let impacts: Vec<(String, String)> = sqlx::query_as(
            "SELECT factor, note FROM change_impacts WHERE change_id = $1 ORDER BY factor",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        g.impacts = impacts
            .into_iter()
            .map(|(factor, note)| {
                Ok(Impact {
                    factor: factor.parse().map_err(|_| bad("impact"))?,
                    note,
                })
            })
            .collect::<Result<_>>()?;
        g.impacts.sort_by_key(|i| i.factor);
        g.items = sqlx::query_as(
            "SELECT ci.item_id, i.department_id, ci.before_description, ci.before_criterion, \
             ci.after_description, ci.after_criterion \
             FROM change_items ci JOIN requirement_items i ON i.id = ci.item_id \
             WHERE ci.change_id = $1 ORDER BY ci.item_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        g.notices = sqlx::query_as(
            "SELECT n.department_id, d.name_zh AS department_zh, d.name_en AS department_en, \
             n.notified_at, n.confirmed_by, n.confirmed_at, n.note \
             FROM change_notices n JOIN departments d ON d.id = n.department_id \
             WHERE n.change_id = $1 ORDER BY n.department_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let filter = ReviewFilter {
            change_id: Some(id),
            per_page: Some(200),
            ..Default::default()
        };
        g.reviews = self.list_reviews(actor, &filter).await?.items;
        Ok(g)
    }

    /// Raises a change request over items of one requirement.
    pub async fn create_change(
        &self,
        actor: &Actor,
        mut f: ChangeFields,
        now: DateTime<Utc>,
    ) -> Result<Change> {
        f.validate()?;
        let r = self
            .get_requirement(actor, f.requirement_id)
            .await
            .map_err(|e| match e {
                Error::NotFound => Error::field("requirement_id", "unknown"),
                e => e,
            })?;
        let current = self.list_items(actor, r.id).await?;
        let mut e = reqloop_domain::FieldErrors::default();
        for (i, it) in f.items.iter().enumerate() {
            if !current.iter().any(|c| c.id == it.item_id) {
                e.add(
                    format!("items[{i}].item_id"),
                    ChangeError::ForeignItem.code(),
                );
            }
        }
        if let Some(k) = f.contract_id {
            match self.get_contract(actor, k).await {
                Ok(c) if c.fields.customer_id == r.fields.customer_id => {}
                Ok(_) => e.add("contract_id", "other_customer"),
                Err(Error::NotFound) => e.add("contract_id", "unknown"),
                Err(other) => return Err(other),
            }
        }
        e.finish()?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO changes (requirement_id, contract_id, origin, title, reason, state, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(r.id)
        .bind(f.contract_id)
        .bind(f.origin.as_str())
        .bind(&f.title)
        .bind(&f.reason)
        .bind(ChangeState::Requested.as_str())
        .bind(&actor.username)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await?;
        for im in &f.impacts {
            sqlx::query("INSERT INTO change_impacts (change_id, factor, note) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(im.factor.as_str())
                .bind(&im.note)
                .execute(&mut *tx.tx)
                .await?;
        }
        for it in &f.items {
            let before = current
                .iter()
                .find(|c| c.id == it.item_id)
                .expect("checked above");
            sqlx::query(
                "INSERT INTO change_items (change_id, item_id, before_description, before_criterion, \
                 after_description, after_criterion) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(it.item_id)
            .bind(&before.fields.description)
            .bind(&before.fields.acceptance_criterion)
            .bind(&it.description)
            .bind(&it.acceptance_criterion)
            .execute(&mut *tx.tx)
            .await?;
        }
        tx.audit("change", id, "create", None, Some(&f)).await?;
        tx.commit().await?;
        self.get_change(actor, id).await
    }

    /// Checks `step` from the change's state and the version read, then moves the change and
    /// stamps who and when, in `tx`. Returns the change as read and the new state.
    async fn advance(
        tx: &mut WriteTx,
        g: &Change,
        version: Option<i64>,
        step: ChangeStep,
        stamp: Stamp,
        note: &str,
        actor: &Actor,
    ) -> Result<ChangeState> {
        if version.is_some_and(|v| v != g.version) {
            return Err(Error::Stale);
        }
        let to = change::next(g.state, step).map_err(|e| Error::Rule(e.code()))?;
        let note_set = stamp
            .note
            .map(|c| format!(", {c} = $6"))
            .unwrap_or_default();
        let sql = format!(
            "UPDATE changes SET state = $1, version = version + 1, {} = $2, {} = $3{note_set} \
             WHERE id = $4 AND version = $5",
            stamp.by, stamp.at
        );
        let mut q = sqlx::query(&sql)
            .bind(to.as_str())
            .bind(&actor.username)
            .bind(tx.at.clone())
            .bind(g.id)
            .bind(g.version);
        if stamp.note.is_some() {
            q = q.bind(note);
        }
        if q.execute(&mut *tx.tx).await?.rows_affected() == 0 {
            return Err(Error::Stale);
        }
        tx.audit(
            "change",
            g.id,
            step.as_str(),
            Some(&serde_json::json!({"state": g.state})),
            Some(&serde_json::json!({"state": to, "note": note})),
        )
        .await?;
        Ok(to)
    }

    /// Re-determination with the customer (002§4.2C → 4.1): what was confirmed, and the items'
    /// content as determined.
    pub async fn redetermine_change(
        &self,
        actor: &Actor,
        id: i64,
        mut r: Redetermination,
        now: DateTime<Utc>,
    ) -> Result<Change> {
        r.validate()?;
        let g = self.get_change(actor, id).await?;
        let mut e = reqloop_domain::FieldErrors::default();
        for (i, it) in r.items.iter().enumerate() {
            if !g.items.iter().any(|c| c.item_id == it.item_id) {
                e.add(format!("items[{i}].item_id"), "not_affected");
            }
        }
        e.finish()?;
        if g.reviews.iter().any(|v| v.status.as_str() == "open") {
            return Err(Error::Rule(ChangeError::ReviewOpen.code()));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let stamp = Stamp {
            by: "redetermined_by",
            at: "redetermined_at",
            note: Some("redetermination"),
        };
        Self::advance(
            &mut tx,
            &g,
            Some(r.version),
            ChangeStep::Redetermine,
            stamp,
            &r.note,
            actor,
        )
        .await?;
        for it in &r.items {
            sqlx::query(
                "UPDATE change_items SET after_description = $1, after_criterion = $2 \
                 WHERE change_id = $3 AND item_id = $4",
            )
            .bind(&it.description)
            .bind(&it.acceptance_criterion)
            .bind(id)
            .bind(it.item_id)
            .execute(&mut *tx.tx)
            .await?;
        }
        if !r.items.is_empty() {
            tx.audit("change", id, "items", None, Some(&r.items))
                .await?;
        }
        tx.commit().await?;
        self.get_change(actor, id).await
    }

    /// Starts the re-review (F11 round over the affected items, as changed).
    pub async fn start_change_review(
        &self,
        actor: &Actor,
        id: i64,
        req: ChangeReview,
        now: DateTime<Utc>,
    ) -> Result<ReviewRound> {
        let g = self.get_change(actor, id).await?;
        if req.version != g.version {
            return Err(Error::Stale);
        }
        change::next(g.state, ChangeStep::StartReview).map_err(|e| Error::Rule(e.code()))?;
        let mut aspects = if req.aspects.is_empty() {
            Aspect::ALL.to_vec()
        } else {
            req.aspects
        };
        aspects.sort();
        aspects.dedup();
        let departments = self.departments().await?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let (open, last): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(CASE WHEN status = 'open' THEN 1 END), MAX(round_no) FROM review_rounds WHERE requirement_id = $1",
        )
        .bind(g.requirement_id)
        .fetch_one(&mut *tx.tx)
        .await?;
        if open > 0 {
            return Err(Error::Rule(ReviewError::RoundOpen.code()));
        }
        let flags: String = sqlx::query_scalar("SELECT risk_flags FROM customers WHERE id = $1")
            .bind(g.customer_id)
            .fetch_one(&mut *tx.tx)
            .await?;
        let tightened = flags.trim() != "[]" && !flags.trim().is_empty();
        let wire: Vec<&str> = aspects.iter().map(|a| a.as_str()).collect();
        let at = tx.at.clone();
        let (round,): (i64,) = sqlx::query_as(
            "INSERT INTO review_rounds (requirement_id, change_id, round_no, aspects, quality_required, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'open', $6, $7) RETURNING id",
        )
        .bind(g.requirement_id)
        .bind(id)
        .bind(last.unwrap_or(0) + 1)
        .bind(wire.join(","))
        .bind(i64::from(tightened))
        .bind(&actor.username)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await?;
        let n =
            sqlx::query("UPDATE changes SET version = version + 1 WHERE id = $1 AND version = $2")
                .bind(id)
                .bind(g.version)
                .execute(&mut *tx.tx)
                .await?
                .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        let answering: Vec<_> = departments
            .iter()
            .filter(|d| aspects.iter().any(|a| a.department_code() == d.code))
            .map(|d| d.id)
            .collect();
        handoffs::take_part(&mut tx, g.requirement_id, &answering).await?;
        tx.audit(
            "review_round",
            round,
            "create",
            None,
            Some(&serde_json::json!({"requirement_id": g.requirement_id, "change_id": id, "aspects": wire})),
        )
        .await?;
        tx.commit().await?;
        self.review_round(actor, round).await
    }

    /// The requirement as it stands, for a revision snapshot.
    async fn snapshot(tx: &mut WriteTx, requirement: i64) -> Result<Snapshot> {
        let (title, description): (String, String) =
            sqlx::query_as("SELECT title, description FROM requirements WHERE id = $1")
                .bind(requirement)
                .fetch_one(&mut *tx.tx)
                .await?;
        let items: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT id, description, acceptance_criterion FROM requirement_items \
             WHERE requirement_id = $1 ORDER BY id",
        )
        .bind(requirement)
        .fetch_all(&mut *tx.tx)
        .await?;
        Ok(Snapshot {
            title,
            description,
            items: items
                .into_iter()
                .map(|(id, description, acceptance_criterion)| SnapshotItem {
                    id,
                    description,
                    acceptance_criterion,
                })
                .collect(),
        })
    }

    /// Approves a re-reviewed change: the items take their changed content and the requirement
    /// a new revision (the one before stays readable).
    pub async fn approve_change(
        &self,
        actor: &Actor,
        id: i64,
        mut s: StepNote,
        now: DateTime<Utc>,
    ) -> Result<Change> {
        s.validate(false)?;
        let g = self.get_change(actor, id).await?;
        let requirement = self.get_requirement(actor, g.requirement_id).await?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let stamp = Stamp {
            by: "decided_by",
            at: "decided_at",
            note: Some("decision_note"),
        };
        Self::advance(
            &mut tx,
            &g,
            s.version,
            ChangeStep::Approve,
            stamp,
            &s.note,
            actor,
        )
        .await?;
        let before = Self::snapshot(&mut tx, g.requirement_id).await?;
        let revision = requirement.revision;
        let (created_by,): (String,) = sqlx::query_as(
            "SELECT COALESCE(u.username, 'system') FROM requirements r \
             LEFT JOIN users u ON u.id = r.created_by WHERE r.id = $1",
        )
        .bind(g.requirement_id)
        .fetch_one(&mut *tx.tx)
        .await?;
        let kept: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM requirement_revisions WHERE requirement_id = $1 AND revision = $2",
        )
        .bind(g.requirement_id)
        .bind(revision)
        .fetch_one(&mut *tx.tx)
        .await?;
        if kept == 0 {
            // The first revision was never written down: keep it as it stands now.
            insert_revision(
                &mut tx,
                g.requirement_id,
                revision,
                None,
                &before,
                &created_by,
                &requirement.created_at,
            )
            .await?;
        }
        let changed: Vec<ItemChange> = g
            .items
            .iter()
            .map(|i| ItemChange {
                item_id: i.item_id,
                description: i.after_description.clone(),
                acceptance_criterion: i.after_criterion.clone(),
            })
            .collect();
        for it in &changed {
            sqlx::query(
                "UPDATE requirement_items SET description = $1, acceptance_criterion = $2, version = version + 1 \
                 WHERE id = $3 AND requirement_id = $4",
            )
            .bind(&it.description)
            .bind(&it.acceptance_criterion)
            .bind(it.item_id)
            .bind(g.requirement_id)
            .execute(&mut *tx.tx)
            .await?;
        }
        let after = change::apply(&before, &changed);
        let next = revision + 1;
        let at = tx.at.clone();
        insert_revision(
            &mut tx,
            g.requirement_id,
            next,
            Some(id),
            &after,
            &actor.username,
            &at,
        )
        .await?;
        let n = sqlx::query(
            "UPDATE requirements SET revision = $1, version = version + 1, updated_at = $2 \
             WHERE id = $3 AND version = $4",
        )
        .bind(next)
        .bind(&at)
        .bind(g.requirement_id)
        .bind(requirement.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        let revised = reqloop_domain::requirement::Requirement {
            version: requirement.version + 1,
            revision: next,
            updated_at: at.clone(),
            ..requirement.clone()
        };
        tx.audit(
            "requirement",
            g.requirement_id,
            "revision",
            Some(&requirement),
            Some(&revised),
        )
        .await?;
        sqlx::query("UPDATE changes SET revision = $1 WHERE id = $2")
            .bind(next)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "requirement_revision",
            format!("{}/{next}", g.requirement_id),
            "create",
            Some(&serde_json::json!({"revision": revision, "snapshot": before})),
            Some(&serde_json::json!({"revision": next, "change_id": id, "snapshot": after})),
        )
        .await?;
        tx.commit().await?;
        self.get_change(actor, id).await
    }

    /// Rejects a change before approval, with the reason.
    pub async fn reject_change(
        &self,
        actor: &Actor,
        id: i64,
        s: StepNote,
        now: DateTime<Utc>,
    ) -> Result<Change> {
        let stamp = Stamp {
            by: "decided_by",
            at: "decided_at",
            note: Some("decision_note"),
        };
        self.simple_step(actor, id, s, true, ChangeStep::Reject, stamp, now)
            .await
    }

    /// Verifies the effect of an implemented change (the quality department).
    pub async fn verify_change(
        &self,
        actor: &Actor,
        id: i64,
        s: StepNote,
        now: DateTime<Utc>,
    ) -> Result<Change> {
        let stamp = Stamp {
            by: "verified_by",
            at: "verified_at",
            note: Some("verification"),
        };
        self.simple_step(actor, id, s, true, ChangeStep::Verify, stamp, now)
            .await
    }

    /// Closes a verified change.
    pub async fn close_change(
        &self,
        actor: &Actor,
        id: i64,
        s: StepNote,
        now: DateTime<Utc>,
    ) -> Result<Change> {
        let stamp = Stamp {
            by: "closed_by",
            at: "closed_at",
            note: None,
        };
        self.simple_step(actor, id, s, false, ChangeStep::Close, stamp, now)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn simple_step(
        &self,
        actor: &Actor,
        id: i64,
        mut s: StepNote,
        note_required: bool,
        step: ChangeStep,
        stamp: Stamp,
        now: DateTime<Utc>,
    ) -> Result<Change> {
        s.validate(note_required)?;
        let g = self.get_change(actor, id).await?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        Self::advance(&mut tx, &g, s.version, step, stamp, &s.note, actor).await?;
        tx.commit().await?;
        self.get_change(actor, id).await
    }

    /// Issues the change notice to every affected department (those of the affected items, and
    /// the ones named).
    pub async fn notify_change(
        &self,
        actor: &Actor,
        id: i64,
        req: NotifyRequest,
        now: DateTime<Utc>,
    ) -> Result<Change> {
        let g = self.get_change(actor, id).await?;
        let known = self.departments().await?;
        let mut departments: Vec<i64> = g.items.iter().map(|i| i.department_id).collect();
        for (i, d) in req.departments.iter().enumerate() {
            if !known.iter().any(|k| k.id.0 == *d) {
                return Err(Error::field(&format!("departments[{i}]"), "unknown"));
            }
            departments.push(*d);
        }
        departments.sort_unstable();
        departments.dedup();
        let mut tx = self.write(&Who::from(actor), now).await?;
        let stamp = Stamp {
            by: "notified_by",
            at: "notified_at",
            note: None,
        };
        Self::advance(
            &mut tx,
            &g,
            Some(req.version),
            ChangeStep::Notify,
            stamp,
            "",
            actor,
        )
        .await?;
        let at = tx.at.clone();
        for d in &departments {
            sqlx::query(
                "INSERT INTO change_notices (change_id, department_id, notified_at) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(d)
            .bind(&at)
            .execute(&mut *tx.tx)
            .await?;
        }
        let ids: Vec<DepartmentId> = departments.iter().copied().map(DepartmentId).collect();
        handoffs::take_part(&mut tx, g.requirement_id, &ids).await?;
        tx.audit(
            "change",
            id,
            "notices",
            None,
            Some(&serde_json::json!({"departments": departments})),
        )
        .await?;
        tx.commit().await?;
        self.get_change(actor, id).await
    }

    /// A notified department confirms implementation (its members or an administrator); the
    /// last confirmation makes the change implemented.
    pub async fn confirm_notice(
        &self,
        actor: &Actor,
        id: i64,
        department: i64,
        mut s: StepNote,
        now: DateTime<Utc>,
    ) -> Result<Change> {
        s.validate(true)?;
        let g = self.get_change(actor, id).await?;
        if !access::acts_for_department(actor, DepartmentId(department)) {
            return Err(Error::Forbidden("other_department"));
        }
        let Some(notice) = g.notices.iter().find(|n| n.department_id == department) else {
            return Err(Error::Rule(ChangeError::NotNotified.code()));
        };
        if notice.confirmed_at.is_some() {
            return Err(Error::Rule(ChangeError::AlreadyConfirmed.code()));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let n = sqlx::query(
            "UPDATE change_notices SET confirmed_by = $1, confirmed_at = $2, note = $3 \
             WHERE change_id = $4 AND department_id = $5 AND confirmed_at IS NULL",
        )
        .bind(&actor.username)
        .bind(&at)
        .bind(&s.note)
        .bind(id)
        .bind(department)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Rule(ChangeError::AlreadyConfirmed.code()));
        }
        tx.audit(
            "change_notice",
            format!("{id}/{department}"),
            "confirm",
            None,
            Some(&s.note),
        )
        .await?;
        let (left,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM change_notices WHERE change_id = $1 AND confirmed_at IS NULL",
        )
        .bind(id)
        .fetch_one(&mut *tx.tx)
        .await?;
        let state: String = sqlx::query_scalar("SELECT state FROM changes WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *tx.tx)
            .await?;
        let state: ChangeState = state.parse().map_err(|_| bad("state"))?;
        let to = if left == 0 {
            change::next(state, ChangeStep::AllConfirmed).map_err(|e| Error::Rule(e.code()))?
        } else {
            state
        };
        sqlx::query("UPDATE changes SET state = $1, version = version + 1 WHERE id = $2")
            .bind(to.as_str())
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        if to != state {
            tx.audit(
                "change",
                id,
                ChangeStep::AllConfirmed.as_str(),
                Some(&serde_json::json!({"state": state})),
                Some(&serde_json::json!({"state": to})),
            )
            .await?;
        }
        tx.commit().await?;
        self.get_change(actor, id).await
    }

    /// The revisions of a requirement, each with its diff against the one before. Before any
    /// change it has one, the requirement as it stands.
    pub async fn requirement_revisions(
        &self,
        actor: &Actor,
        requirement: i64,
    ) -> Result<Vec<Revision>> {
        let r = self.get_requirement(actor, requirement).await?;
        let rows: Vec<(i64, Option<i64>, String, String, String)> = sqlx::query_as(
            "SELECT revision, change_id, snapshot, created_by, created_at FROM requirement_revisions \
             WHERE requirement_id = $1 ORDER BY revision",
        )
        .bind(requirement)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            let items = self.list_items(actor, requirement).await?;
            let snapshot = Snapshot {
                title: r.fields.title.clone(),
                description: r.fields.description.clone(),
                items: items
                    .into_iter()
                    .map(|i| SnapshotItem {
                        id: i.id,
                        description: i.fields.description,
                        acceptance_criterion: i.fields.acceptance_criterion,
                    })
                    .collect(),
            };
            return Ok(vec![Revision {
                revision: r.revision,
                change_id: None,
                created_by: String::new(),
                created_at: r.created_at.clone(),
                current: true,
                snapshot,
                diff: vec![],
            }]);
        }
        let mut out: Vec<Revision> = Vec::with_capacity(rows.len());
        for (revision, change_id, snapshot, created_by, created_at) in rows {
            let snapshot: Snapshot = serde_json::from_str(&snapshot)
                .map_err(|_| Error::Other("stored revision snapshot is invalid".into()))?;
            let diff = out
                .last()
                .map(|p| change::diff(&p.snapshot, &snapshot))
                .unwrap_or_default();
            out.push(Revision {
                revision,
                change_id,
                created_by,
                created_at,
                current: revision == r.revision,
                snapshot,
                diff,
            });
        }
        Ok(out)
    }
}

async fn insert_revision(
    tx: &mut WriteTx,
    requirement: i64,
    revision: i64,
    change: Option<i64>,
    snapshot: &Snapshot,
    by: &str,
    at: &str,
) -> Result<()> {
    let json =
        serde_json::to_string(snapshot).map_err(|e| Error::Other(format!("snapshot: {e}")))?;
    sqlx::query(
        "INSERT INTO requirement_revisions (requirement_id, revision, change_id, snapshot, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(requirement)
    .bind(revision)
    .bind(change)
    .bind(json)
    .bind(by)
    .bind(at)
    .execute(&mut *tx.tx)
    .await?;
    Ok(())
}
