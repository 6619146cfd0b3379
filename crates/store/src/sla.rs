//! Response-time clocks (F22): the configurable rules, a requirement's pause while it waits for
//! the customer, the remaining time of a clock, and the background pass that records each clock
//! that ran out (a requirement's stage, a hand-off, a complaint's confirmation or fix) once.

use chrono::{DateTime, Utc};
use reqloop_domain::access::{Action, Actor};
use reqloop_domain::calendar::Calendar;
use reqloop_domain::requirement::{Requirement, Stage};
use reqloop_domain::sla::{Clock, SlaRules, SlaUnit};
use reqloop_domain::time::{from_db, shanghai_date, to_db};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::db::{customer_scope_sql, Arg, Conditions};
use crate::{Error, Page, Result, Store, Who};

/// A clock as a page or the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ClockView {
    pub due_at: String,
    /// Minutes left in the rule's measure (working minutes unless the unit is `hours`);
    /// negative once overdue.
    pub remaining_minutes: i64,
    pub unit: SlaUnit,
    /// The clock stands still: the record waits for the customer.
    pub waiting: bool,
    pub overdue: bool,
}

/// Pause (`waiting: true`) or resume a requirement's clock.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitRequest {
    pub version: i64,
    pub waiting: bool,
    /// What the customer is asked for, or what came back.
    #[serde(default)]
    pub note: String,
}

/// What one breach pass did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct BreachPass {
    /// Clocks computed for requirements that had none yet (data from before F22).
    pub computed: u64,
    /// Breaches recorded now.
    pub recorded: u64,
}

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Breach {
    pub id: i64,
    pub record_type: String,
    pub record_id: i64,
    pub clock: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub due_at: String,
    pub recorded_at: String,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BreachFilter {
    pub record_type: Option<String>,
    pub customer_id: Option<i64>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The clock of a requirement's current stage (`None` once closed or merged). The stored due
/// time is the clock's (set when the stage was entered and moved by each pause); while the
/// requirement waits for the customer, the time left stands where the pause left it.
pub fn requirement_clock(
    r: &Requirement,
    calendar: &Calendar,
    rules: &SlaRules,
    now: DateTime<Utc>,
) -> Option<ClockView> {
    if r.stage == Stage::Closed || r.merged_into.is_some() {
        return None;
    }
    let clock = Clock {
        started: from_db(&r.stage_entered_at)?,
        allowance: rules.for_urgency(r.fields.urgency),
        paused: r.paused_minutes,
        waiting_since: r.waiting_since.as_deref().and_then(from_db),
    };
    let stored = r.sla_due_at.as_deref().and_then(from_db);
    let due = stored.unwrap_or_else(|| clock.due(calendar));
    let remaining = match (clock.waiting_since, stored) {
        (None, Some(due)) if now <= due => clock.allowance.elapsed(calendar, now, due),
        (None, Some(due)) => -clock.allowance.elapsed(calendar, due, now).max(1),
        _ => clock.remaining(calendar, now),
    };
    Some(ClockView {
        due_at: to_db(due),
        remaining_minutes: remaining,
        unit: clock.allowance.unit,
        waiting: clock.waiting_since.is_some(),
        overdue: remaining < 0,
    })
}

/// A plain deadline's clock (hand-offs, complaints): working minutes left on the calendar.
pub fn deadline_clock(due: DateTime<Utc>, calendar: &Calendar, now: DateTime<Utc>) -> ClockView {
    let remaining = if now <= due {
        calendar.minutes_between(now, due)
    } else {
        -calendar.minutes_between(due, now).max(1)
    };
    ClockView {
        due_at: to_db(due),
        remaining_minutes: remaining,
        unit: SlaUnit::WorkingHours,
        waiting: false,
        overdue: now > due,
    }
}

/// Breaches recorded per transaction by the background pass.
const BREACH_BATCH: usize = 5000;

const BREACH_COLUMNS: &str = "b.id, b.record_type, b.record_id, b.clock, b.customer_id, \
    c.name AS customer_name, b.due_at, b.recorded_at";

impl Store {
    /// The response-time rules in force (the defaults until an administrator saves others).
    pub async fn sla_rules(&self) -> Result<SlaRules> {
        Ok(self
            .setting("sla_rules")
            .await?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    pub async fn set_sla_rules(
        &self,
        actor: &Actor,
        rules: SlaRules,
        now: DateTime<Utc>,
    ) -> Result<SlaRules> {
        actor
            .require(Action::WarningManage)
            .map_err(|_| Error::Forbidden("sla_rules"))?;
        rules.validate()?;
        let value = serde_json::to_string(&rules).map_err(|e| Error::Other(e.to_string()))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let before = self.setting_in(&mut tx, "sla_rules").await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ('sla_rules', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(&value)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit("setting", 0, "sla_rules", before.as_ref(), Some(&value))
            .await?;
        tx.commit().await?;
        Ok(rules)
    }

    /// The fix date a complaint decided at `now` commits to by default (002§4.3.3.2).
    pub async fn complaint_fix_default(&self, now: DateTime<Utc>) -> Result<chrono::NaiveDate> {
        let calendar = self.working_calendar().await?;
        let rules = self.sla_rules().await?;
        Ok(reqloop_domain::deadline::complaint_fix_default(
            &calendar, &rules, now,
        ))
    }

    /// The clock of a requirement as the reader sees it now.
    pub async fn clock_of(&self, r: &Requirement, now: DateTime<Utc>) -> Result<Option<ClockView>> {
        if r.stage == Stage::Closed || r.merged_into.is_some() {
            return Ok(None);
        }
        let calendar = self.working_calendar().await?;
        let rules = self.sla_rules().await?;
        Ok(requirement_clock(r, &calendar, &rules, now))
    }

    /// Stops a requirement's clock while it waits for the customer, or starts it again counting
    /// the time waited (F22: "paused while waiting for the customer").
    pub async fn set_requirement_waiting(
        &self,
        actor: &Actor,
        id: i64,
        w: WaitRequest,
        now: DateTime<Utc>,
    ) -> Result<Requirement> {
        actor
            .require(Action::RequirementTransition)
            .map_err(|_| Error::Forbidden("wait"))?;
        let before = self.get_requirement(actor, id).await?;
        if before.version != w.version {
            return Err(Error::Stale);
        }
        if before.stage == Stage::Closed {
            return Err(Error::Rule("closed"));
        }
        let note = w.note.trim().to_string();
        if note.chars().count() > 1000 {
            return Err(Error::field("note", "too_long"));
        }
        match (w.waiting, before.waiting_since.is_some()) {
            (true, true) => return Err(Error::Rule("already_waiting")),
            (false, false) => return Err(Error::Rule("not_waiting")),
            _ => {}
        }
        if w.waiting && note.is_empty() {
            // Say what the customer is asked for, so the pause can be checked.
            return Err(Error::field("note", "required"));
        }
        let calendar = self.working_calendar().await?;
        let rules = self.sla_rules().await?;
        let mut clock = Clock {
            started: from_db(&before.stage_entered_at)
                .ok_or_else(|| Error::Other("stored stage time is invalid".into()))?,
            allowance: rules.for_urgency(before.fields.urgency),
            paused: before.paused_minutes,
            waiting_since: before.waiting_since.as_deref().and_then(from_db),
        };
        if w.waiting {
            clock.pause(now);
        } else {
            clock.resume(&calendar, now);
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let waiting_since = clock.waiting_since.map(|_| at.clone());
        let due = to_db(clock.due(&calendar));
        let n = sqlx::query(
            "UPDATE requirements SET waiting_since = $1, paused_minutes = $2, sla_due_at = $3, updated_at = $4, \
             version = version + 1 WHERE id = $5 AND version = $6",
        )
        .bind(&waiting_since)
        .bind(clock.paused)
        .bind(&due)
        .bind(&at)
        .bind(id)
        .bind(before.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        let after = Requirement {
            version: before.version + 1,
            waiting_since,
            paused_minutes: clock.paused,
            sla_due_at: Some(due),
            updated_at: at,
            ..before.clone()
        };
        tx.audit(
            "requirement",
            id,
            if w.waiting { "wait" } else { "resume" },
            Some(&serde_json::json!({"waiting_since": before.waiting_since, "sla_due_at": before.sla_due_at})),
            Some(&serde_json::json!({"waiting_since": after.waiting_since, "sla_due_at": after.sla_due_at, "note": note})),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// The background pass (F22: breaches are recorded when they happen): computes the clocks
    /// of requirements that have none yet, then records every clock past due that is not
    /// recorded yet — set-based inserts per kind of clock, each breach once, in batches of
    /// `BREACH_BATCH` so that a backlog never holds the one writer for long.
    ///
    /// A due time is never set in the past (a stage, a hand-off or a resumed clock starts now),
    /// so a pass only looks at the clocks that fell due since the last one (an hour's overlap
    /// for transactions that were still open); the first pass, and one that has just computed
    /// missing clocks, looks at all of them.
    pub async fn record_breaches(&self, now: DateTime<Utc>) -> Result<BreachPass> {
        let computed = self.compute_missing_clocks().await?;
        let at = to_db(now);
        let today = shanghai_date(now).to_string();
        let since = match computed {
            0 => self
                .setting("sla_breach_pass")
                .await?
                .as_deref()
                .and_then(from_db)
                .map(|t| to_db(t - chrono::Duration::hours(1))),
            _ => None,
        }
        // Before any due time: every clock.
        .unwrap_or_else(|| "0000".to_string());
        let not_recorded = |kind: &str, id: &str, clock: &str| {
            format!(
                "NOT EXISTS (SELECT 1 FROM sla_breaches b WHERE b.record_type = '{kind}' AND b.record_id = {id} \
                 AND b.clock = {clock})"
            )
        };
        // Each kind of clock is read in (due time, id) order from a cursor, so every batch
        // starts where the last one stopped: a backlog costs one pass over it, not one per batch.
        let kinds = [
            format!(
                "INSERT INTO sla_breaches (record_type, record_id, clock, customer_id, user_id, department_id, due_at, recorded_at) \
                 SELECT 'requirement', r.id, r.stage || '@' || r.stage_entered_at, r.customer_id, COALESCE(r.owner_id, 0), \
                 COALESCE(r.owner_department_id, 0), r.sla_due_at, $1 \
                 FROM requirements r WHERE r.sla_due_at < $1 AND (r.sla_due_at, r.id) > ($2, $3) \
                 AND r.waiting_since IS NULL AND r.stage <> 'closed' AND r.merged_into IS NULL AND {} \
                 ORDER BY r.sla_due_at, r.id LIMIT {BREACH_BATCH}",
                not_recorded("requirement", "r.id", "r.stage || '@' || r.stage_entered_at")
            ),
            format!(
                "INSERT INTO sla_breaches (record_type, record_id, clock, customer_id, user_id, department_id, due_at, recorded_at) \
                 SELECT 'handoff', h.id, 'handoff', r.customer_id, COALESCE(h.receiver_id, 0), h.department_id, h.due_at, $1 \
                 FROM handoffs h JOIN requirements r ON r.id = h.requirement_id \
                 WHERE h.status IN ('open', 'acknowledged') AND h.due_at < $1 AND (h.due_at, h.id) > ($2, $3) AND {} \
                 ORDER BY h.due_at, h.id LIMIT {BREACH_BATCH}",
                not_recorded("handoff", "h.id", "'handoff'")
            ),
            format!(
                "INSERT INTO sla_breaches (record_type, record_id, clock, customer_id, due_at, recorded_at) \
                 SELECT 'complaint', k.id, 'confirm', k.customer_id, k.confirm_due, $1 \
                 FROM complaints k WHERE k.state = 'registered' AND k.confirm_due < $1 \
                 AND (k.confirm_due, k.id) > ($2, $3) AND {} ORDER BY k.confirm_due, k.id LIMIT {BREACH_BATCH}",
                not_recorded("complaint", "k.id", "'confirm'")
            ),
            // The fix is committed as a date: due once the day has come (no window; few rows).
            format!(
                "INSERT INTO sla_breaches (record_type, record_id, clock, customer_id, due_at, recorded_at) \
                 SELECT 'complaint', k.id, 'fix', k.customer_id, k.fix_due, $1 \
                 FROM complaints k WHERE k.state IN ('correcting', 'capa') AND k.fix_due < $4 \
                 AND (k.fix_due, k.id) > ($2, $3) AND {} ORDER BY k.fix_due, k.id LIMIT {BREACH_BATCH}",
                not_recorded("complaint", "k.id", "'fix'")
            ),
        ];
        // The complaint fix's statement: it also binds today's date.
        const FIX: usize = 3;
        let mut recorded = 0;
        for (kind, sql) in kinds.iter().enumerate() {
            // Another node's pass may record the same breach meanwhile (PostgreSQL): skip it.
            let sql = format!(
                "{sql} ON CONFLICT (record_type, record_id, clock) DO NOTHING \
                 RETURNING record_type, customer_id, user_id, department_id, due_at, record_id"
            );
            let start = if kind == FIX { "0000" } else { since.as_str() };
            let mut cursor = (start.to_string(), 0);
            loop {
                let mut tx = self.write(&Who::system(), now).await?;
                let mut q = sqlx::query_as(&sql)
                    .bind(&at)
                    .bind(&cursor.0)
                    .bind(cursor.1);
                if kind == FIX {
                    q = q.bind(&today);
                }
                let rows: Vec<(String, i64, i64, i64, String, i64)> =
                    q.fetch_all(&mut *tx.tx).await?;
                if rows.is_empty() {
                    break;
                }
                let counted: Vec<(String, i64, i64, i64)> =
                    rows.iter().map(|r| (r.0.clone(), r.1, r.2, r.3)).collect();
                // F23: each breach counts late once, in the month it is recorded.
                crate::kpis::count_breaches(&mut tx, &counted, now).await?;
                tx.audit(
                    "sla_breach",
                    0,
                    "record",
                    None,
                    Some(&serde_json::json!({"recorded": rows.len()})),
                )
                .await?;
                tx.commit().await?;
                recorded += rows.len() as u64;
                if rows.len() < BREACH_BATCH {
                    break;
                }
                if let Some(last) = rows.iter().map(|r| (r.4.clone(), r.5)).max() {
                    cursor = last;
                }
            }
        }
        // Where the next pass starts looking (bookkeeping of the pass itself: no audit entry).
        let _turn = self.turn().await;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ('sla_breach_pass', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(&at)
        .execute(&self.pool)
        .await?;
        Ok(BreachPass { computed, recorded })
    }

    /// Requirements stored before clocks existed (or loaded in bulk) get theirs, a batch per
    /// pass. Derived data, recomputable at any time: no audit entry.
    async fn compute_missing_clocks(&self) -> Result<u64> {
        type Missing = (i64, String, String, i64, Option<String>);
        let rows: Vec<Missing> = sqlx::query_as(
            "SELECT id, urgency, stage_entered_at, paused_minutes, waiting_since FROM requirements \
             WHERE sla_due_at IS NULL AND stage <> 'closed' AND merged_into IS NULL ORDER BY id LIMIT 5000",
        )
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let calendar = self.working_calendar().await?;
        let rules = self.sla_rules().await?;
        let _turn = self.turn().await;
        let mut tx = self.pool.begin().await?;
        for (id, urgency, entered, paused, waiting) in &rows {
            let (Ok(urgency), Some(started)) = (urgency.parse(), from_db(entered)) else {
                continue;
            };
            let clock = Clock {
                started,
                allowance: rules.for_urgency(urgency),
                paused: *paused,
                waiting_since: waiting.as_deref().and_then(from_db),
            };
            sqlx::query(
                "UPDATE requirements SET sla_due_at = $1 WHERE id = $2 AND sla_due_at IS NULL",
            )
            .bind(to_db(clock.due(&calendar)))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }

    /// Recorded breaches, newest first, of the customers in the reader's scope.
    pub async fn list_breaches(&self, actor: &Actor, f: &BreachFilter) -> Result<Page<Breach>> {
        actor
            .require(Action::WarningRead)
            .map_err(|_| Error::Forbidden("breaches"))?;
        let mut c = Conditions::default();
        if let Some((sql, args)) = customer_scope_sql(actor, "b.customer_id") {
            c.push(&sql, args);
        }
        if let Some(t) = f.record_type.as_deref().filter(|t| !t.is_empty()) {
            c.push("b.record_type = ?", [Arg::Text(t.into())]);
        }
        if let Some(id) = f.customer_id {
            c.push("b.customer_id = ?", [Arg::Int(id)]);
        }
        let (items, total) = self
            .fetch_page_counting(
                "sla_breaches b JOIN customers c ON c.id = b.customer_id",
                "sla_breaches b",
                BREACH_COLUMNS,
                &c,
                "b.id DESC",
                f.page,
                f.per_page,
            )
            .await?;
        Ok(Page { items, total })
    }
}
