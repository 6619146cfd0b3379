//! Early warnings (F24; 004§3): the rules (data, editable), the background pass that measures
//! each rule and raises or escalates one warning per cause, and the warning's life — raised →
//! assigned → resolved → verified (`warning::next`).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use reqloop_domain::access::{Action, Actor};
use reqloop_domain::customer::Tier;
use reqloop_domain::fields::FieldErrors;
use reqloop_domain::time::{from_db, shanghai_date, to_db};
use reqloop_domain::warning::{
    self, days_late, Level, Metric, RuleFields, Subject, WarningState, WarningStep,
};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::db::{bind_all, customer_scope_sql, Arg, Conditions, WriteTx};
use crate::{Error, Page, Result, Store, Who};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WarningRule {
    pub id: i64,
    pub version: i64,
    #[serde(flatten)]
    pub fields: RuleFields,
    pub updated_by: String,
    pub updated_at: String,
}

#[derive(FromRow)]
struct RuleRow {
    id: i64,
    version: i64,
    name: String,
    metric: String,
    yellow: i64,
    orange: i64,
    red: i64,
    window_days: i64,
    tiers: String,
    enabled: i64,
    updated_by: String,
    updated_at: String,
}

impl RuleRow {
    fn into_rule(self) -> Result<WarningRule> {
        Ok(WarningRule {
            id: self.id,
            version: self.version,
            fields: RuleFields {
                name: self.name,
                metric: self.metric.parse().map_err(|_| {
                    Error::Other("stored warning rule has an invalid metric".into())
                })?,
                yellow: self.yellow,
                orange: self.orange,
                red: self.red,
                window_days: self.window_days,
                tiers: serde_json::from_str(&self.tiers).unwrap_or_default(),
                enabled: self.enabled == 1,
            },
            updated_by: self.updated_by,
            updated_at: self.updated_at,
        })
    }
}

/// A rule edit: the fields and the version read.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleUpdate {
    pub version: i64,
    #[serde(flatten)]
    pub fields: RuleFields,
}

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Warning {
    pub id: i64,
    pub version: i64,
    pub rule_id: i64,
    pub rule_name: String,
    pub metric: String,
    pub level: String,
    /// `customer`, `order` or `requirement`.
    pub subject: String,
    pub subject_id: i64,
    /// The requirement code, the order number or the customer name.
    pub subject_label: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub customer_tier: String,
    pub customer_grade: String,
    /// The customer's tier when the warning was raised (the dashboard counts by it).
    pub tier: String,
    /// The value measured when raised or last escalated (days late, or a count in the window).
    pub value: i64,
    pub state: String,
    pub raised_at: String,
    pub escalated_at: Option<String>,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub assigned_by: Option<String>,
    pub assigned_at: Option<String>,
    pub resolution: String,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<String>,
    pub verification: String,
    pub verified_by: Option<String>,
    pub verified_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WarningFilter {
    pub level: Option<Level>,
    pub state: Option<WarningState>,
    pub tier: Option<Tier>,
    pub subject: Option<Subject>,
    pub customer_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub rule_id: Option<i64>,
    /// Only warnings not verified yet.
    pub open: Option<bool>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// One step: assign (to `assignee_id`), resolve, verify or reopen, with a note.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarningStepRequest {
    pub version: i64,
    pub step: WarningStep,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub assignee_id: Option<i64>,
}

/// What one pass of the warning job did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct WarningPass {
    pub rules: usize,
    pub raised: u64,
    pub escalated: u64,
}

/// Open warnings (not verified) of one customer tier, by level: the dashboard's rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct TierLevels {
    pub tier: String,
    pub yellow: i64,
    pub orange: i64,
    pub red: i64,
}

const RULE_COLUMNS: &str = "id, version, name, metric, yellow, orange, red, window_days, tiers, \
    enabled, updated_by, updated_at";

const COLUMNS: &str = "w.id, w.version, w.rule_id, wr.name AS rule_name, w.metric, w.level, w.subject, \
    w.subject_id, COALESCE(r.code, o.number, c.name) AS subject_label, w.customer_id, \
    c.name AS customer_name, c.tier AS customer_tier, c.grade AS customer_grade, w.tier, w.value, w.state, \
    w.raised_at, w.escalated_at, w.assignee_id, u.display_name AS assignee_name, w.assigned_by, \
    w.assigned_at, w.resolution, w.resolved_by, w.resolved_at, w.verification, w.verified_by, w.verified_at";

const FROM: &str = "warnings w JOIN warning_rules wr ON wr.id = w.rule_id \
    JOIN customers c ON c.id = w.customer_id \
    LEFT JOIN requirements r ON w.subject = 'requirement' AND r.id = w.subject_id \
    LEFT JOIN orders o ON w.subject = 'order' AND o.id = w.subject_id \
    LEFT JOIN users u ON u.id = w.assignee_id";

/// Who sees a warning: those who see its customer, and its assignee.
fn warning_scope(c: &mut Conditions, actor: &Actor) {
    if let Some((sql, mut args)) = customer_scope_sql(actor, "w.customer_id") {
        args.push(Arg::Int(actor.user_id.0));
        c.push(&format!("({sql} OR w.assignee_id = ?)"), args);
    }
}

/// What the pass knows of a cause: its open warning (level, state) and the highest level a
/// verified one had.
#[derive(Default)]
struct Known {
    open: Option<(Level, String)>,
    verified: Option<Level>,
}

/// A measured subject: (subject id, customer id, value, the customer's tier).
type Hit = (i64, i64, i64, String);

/// Warnings raised or escalated per transaction by the pass.
const WARNING_BATCH: usize = 1000;

/// One row per tier, in `Tier::ALL` order, from (tier, level, count) rows.
fn tier_levels(rows: &[(String, String, i64)]) -> Vec<TierLevels> {
    Tier::ALL
        .iter()
        .map(|t| {
            let n = |l: Level| {
                rows.iter()
                    .filter(|(tier, level, _)| tier == t.as_str() && level == l.as_str())
                    .map(|r| r.2)
                    .sum()
            };
            TierLevels {
                tier: t.as_str().into(),
                yellow: n(Level::Yellow),
                orange: n(Level::Orange),
                red: n(Level::Red),
            }
        })
        .collect()
}

/// Adds `delta` to the open warnings of a tier and level (the dashboard's tally).
async fn tally(tx: &mut WriteTx, tier: &str, level: &str, delta: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO warning_tally (tier, level, open) VALUES ($1, $2, $3) \
         ON CONFLICT (tier, level) DO UPDATE SET open = warning_tally.open + excluded.open",
    )
    .bind(tier)
    .bind(level)
    .bind(delta)
    .execute(&mut *tx.tx)
    .await?;
    Ok(())
}

/// What the pass writes for one cause.
enum Decision {
    Raise {
        rule: i64,
        metric: Metric,
        level: Level,
        subject: Subject,
        subject_id: i64,
        customer_id: i64,
        tier: String,
        cause: String,
        value: i64,
    },
    Escalate {
        cause: String,
        from: Level,
        to: Level,
        value: i64,
    },
}

/// `AND c.tier IN (…)` for a rule limited to some tiers. The tiers are a closed set, so their
/// identifiers are safe to write into the statement.
fn tier_sql(tiers: &[Tier]) -> String {
    if tiers.is_empty() {
        return String::new();
    }
    let list: Vec<String> = tiers.iter().map(|t| format!("'{}'", t.as_str())).collect();
    format!(" AND c.tier IN ({})", list.join(", "))
}

fn days_between(from: &str, to: NaiveDate) -> i64 {
    NaiveDate::parse_from_str(from, "%Y-%m-%d").map_or(0, |d| (to - d).num_days())
}

impl Store {
    pub async fn warning_rules(&self) -> Result<Vec<WarningRule>> {
        let rows: Vec<RuleRow> = sqlx::query_as(&format!(
            "SELECT {RULE_COLUMNS} FROM warning_rules ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(RuleRow::into_rule).collect()
    }

    pub async fn warning_rule(&self, id: i64) -> Result<WarningRule> {
        let row: RuleRow = sqlx::query_as(&format!(
            "SELECT {RULE_COLUMNS} FROM warning_rules WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        row.into_rule()
    }

    /// Edits a rule (thresholds, window, tiers, on/off). The metric stays: a rule measuring
    /// something else is a new cause, so its open warnings would lose their meaning.
    pub async fn update_warning_rule(
        &self,
        actor: &Actor,
        id: i64,
        mut u: RuleUpdate,
        now: DateTime<Utc>,
    ) -> Result<WarningRule> {
        actor
            .require(Action::WarningManage)
            .map_err(|_| Error::Forbidden("warning_rules"))?;
        let before = self.warning_rule(id).await?;
        if before.version != u.version {
            return Err(Error::Stale);
        }
        u.fields.validate()?;
        if u.fields.metric != before.fields.metric {
            return Err(Error::field("metric", "fixed"));
        }
        if !u.fields.metric.windowed() {
            u.fields.window_days = before.fields.window_days;
        }
        let tiers =
            serde_json::to_string(&u.fields.tiers).map_err(|e| Error::Other(e.to_string()))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let n = sqlx::query(
            "UPDATE warning_rules SET name = $1, yellow = $2, orange = $3, red = $4, window_days = $5, tiers = $6, \
             enabled = $7, updated_by = $8, updated_at = $9, version = version + 1 WHERE id = $10 AND version = $11",
        )
        .bind(&u.fields.name)
        .bind(u.fields.yellow)
        .bind(u.fields.orange)
        .bind(u.fields.red)
        .bind(u.fields.window_days)
        .bind(&tiers)
        .bind(i64::from(u.fields.enabled))
        .bind(&actor.username)
        .bind(&at)
        .bind(id)
        .bind(u.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        tx.audit(
            "warning_rule",
            id,
            "update",
            Some(&before.fields),
            Some(&u.fields),
        )
        .await?;
        tx.commit().await?;
        self.warning_rule(id).await
    }

    /// Measures one rule: every subject at or past its yellow threshold, with its value.
    async fn measure(&self, rule: &RuleFields, now: DateTime<Utc>) -> Result<Vec<Hit>> {
        let tiers = tier_sql(&rule.tiers);
        let today = shanghai_date(now);
        let since = to_db(now - chrono::Duration::days(rule.window_days));
        let counted = |sql: String| async move {
            let rows: Vec<Hit> = sqlx::query_as(&sql)
                .bind(&since)
                .fetch_all(&self.pool)
                .await?;
            Ok::<_, Error>(rows)
        };
        let hits = match rule.metric {
            Metric::OverdueHandoffs => {
                let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(&format!(
                    // Grouped from the pending-due index alone first; the requirements are then
                    // read in id order (100,000 overdue hand-offs: 1.15 → 0.4 s cold).
                    "SELECT o.requirement_id, r.customer_id, o.due, c.tier FROM \
                     (SELECT h.requirement_id, MIN(h.due_at) AS due FROM handoffs h \
                      WHERE h.status IN ('open', 'acknowledged') AND h.due_at < $1 GROUP BY h.requirement_id) o \
                     JOIN requirements r ON r.id = o.requirement_id JOIN customers c ON c.id = r.customer_id \
                     WHERE 1 = 1{tiers}"
                ))
                .bind(to_db(now))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(req, customer, due, tier)| {
                        let late = from_db(&due).map_or(0, |d| (now - d).num_minutes());
                        (req, customer, days_late(late), tier)
                    })
                    .collect()
            }
            Metric::OverdueDeliveries => {
                let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(&format!(
                    "SELECT o.id, k.customer_id, MIN(b.promised_on), c.tier FROM delivery_batches b \
                     JOIN orders o ON o.id = b.order_id JOIN contracts k ON k.id = o.contract_id \
                     JOIN customers c ON c.id = k.customer_id \
                     WHERE o.status = 'open' AND b.promised_on < $1{tiers} GROUP BY o.id, k.customer_id, c.tier"
                ))
                .bind(today.to_string())
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|(order, customer, promised, tier)| {
                        (order, customer, days_between(&promised, today), tier)
                    })
                    .collect()
            }
            Metric::DeliveryRisk => {
                // A batch planned to be made after the date promised for it (004§3: delivery-date
                // risk), not yet made and not yet due.
                let rows: Vec<(i64, i64, String, String, String)> = sqlx::query_as(&format!(
                    "SELECT o.id, k.customer_id, b.promised_on, p.planned_on, c.tier FROM delivery_batches b \
                     JOIN production_batches p ON p.order_id = b.order_id AND p.seq = b.seq \
                     JOIN orders o ON o.id = b.order_id JOIN contracts k ON k.id = o.contract_id \
                     JOIN customers c ON c.id = k.customer_id \
                     WHERE o.status = 'open' AND p.actual_on IS NULL AND p.planned_on > b.promised_on \
                     AND b.promised_on >= $1{tiers}"
                ))
                .bind(today.to_string())
                .fetch_all(&self.pool)
                .await?;
                let mut worst: HashMap<i64, (i64, i64, String)> = HashMap::new();
                for (order, customer, promised, planned, tier) in rows {
                    let gap = NaiveDate::parse_from_str(&planned, "%Y-%m-%d")
                        .map_or(0, |p| days_between(&promised, p));
                    let e = worst.entry(order).or_insert((customer, 0, tier));
                    e.1 = e.1.max(gap);
                }
                worst
                    .into_iter()
                    .map(|(o, (c, v, t))| (o, c, v, t))
                    .collect()
            }
            Metric::Complaints | Metric::SeriousComplaints => {
                let serious = if rule.metric == Metric::SeriousComplaints {
                    " AND k.severity = 'serious'"
                } else {
                    ""
                };
                counted(format!(
                    "SELECT k.customer_id, k.customer_id, COUNT(*), c.tier FROM complaints k \
                     JOIN customers c ON c.id = k.customer_id \
                     WHERE k.kind = 'complaint' AND k.state <> 'invalid' AND k.registered_at >= $1{serious}{tiers} \
                     GROUP BY k.customer_id, c.tier"
                ))
                .await?
            }
            Metric::SlaBreaches => {
                counted(format!(
                    "SELECT b.customer_id, b.customer_id, COUNT(*), c.tier FROM sla_breaches b \
                     JOIN customers c ON c.id = b.customer_id WHERE b.recorded_at >= $1{tiers} \
                     GROUP BY b.customer_id, c.tier"
                ))
                .await?
            }
        };
        Ok(hits
            .into_iter()
            .filter(|(_, _, v, _)| *v >= rule.yellow)
            .collect())
    }

    /// The background pass (F24): measures every enabled rule and raises a warning for each
    /// cause that reached a level, or escalates the cause's open warning when the level rose.
    /// A cause never gets a second open warning (a unique index guards it as well).
    pub async fn raise_warnings(&self, now: DateTime<Utc>) -> Result<WarningPass> {
        let rules: Vec<WarningRule> = self
            .warning_rules()
            .await?
            .into_iter()
            .filter(|r| r.fields.enabled)
            .collect();
        let mut measured = Vec::with_capacity(rules.len());
        for r in &rules {
            let hits = self.measure(&r.fields, now).await?;
            let rows: Vec<(String, String, String)> =
                sqlx::query_as("SELECT cause, level, state FROM warnings WHERE rule_id = $1")
                    .bind(r.id)
                    .fetch_all(&self.pool)
                    .await?;
            let mut known: HashMap<String, Known> = HashMap::new();
            for (cause, level, state) in rows {
                let level: Level = level.parse().unwrap_or(Level::Yellow);
                let k = known.entry(cause).or_default();
                if state == WarningState::Verified.as_str() {
                    k.verified = k.verified.max(Some(level));
                } else {
                    k.open = Some((level, state));
                }
            }
            measured.push((r, hits, known));
        }
        // Decide first, then write in batches: a backlog never holds the one writer for long.
        let mut decisions = Vec::new();
        for (r, hits, known) in measured {
            let subject = r.fields.metric.subject();
            for (subject_id, customer_id, value, tier) in hits {
                let Some(level) = r.fields.level(value) else {
                    continue;
                };
                let cause = warning::cause(r.id, subject, subject_id);
                let k = known.get(&cause);
                match k.and_then(|k| k.open.as_ref()) {
                    // A verified warning closes its cause at its level: the pass raises again
                    // only when the cause gets worse than that.
                    None if k.and_then(|k| k.verified).is_some_and(|v| v >= level) => {}
                    None => decisions.push(Decision::Raise {
                        rule: r.id,
                        metric: r.fields.metric,
                        level,
                        subject,
                        subject_id,
                        customer_id,
                        tier,
                        cause,
                        value,
                    }),
                    Some((was, state)) => {
                        let still_open = state == WarningState::Raised.as_str()
                            || state == WarningState::Assigned.as_str();
                        if still_open && level > *was {
                            decisions.push(Decision::Escalate {
                                cause,
                                from: *was,
                                to: level,
                                value,
                            });
                        }
                    }
                }
            }
        }
        let mut pass = WarningPass {
            rules: rules.len(),
            ..Default::default()
        };
        for chunk in decisions.chunks(WARNING_BATCH) {
            let mut tx = self.write(&Who::system(), now).await?;
            let at = tx.at.clone();
            let (mut raised, mut escalated) = (0, 0);
            let mut counts: HashMap<(String, &'static str), i64> = HashMap::new();
            for d in chunk {
                match d {
                    Decision::Raise {
                        rule,
                        metric,
                        level,
                        subject,
                        subject_id,
                        customer_id,
                        tier,
                        cause,
                        value,
                    } => {
                        let n = sqlx::query(
                            "INSERT INTO warnings (rule_id, metric, level, subject, subject_id, customer_id, tier, \
                             cause, value, state, raised_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'raised', $10) \
                             ON CONFLICT (cause) WHERE state <> 'verified' DO NOTHING",
                        )
                        .bind(rule)
                        .bind(metric.as_str())
                        .bind(level.as_str())
                        .bind(subject.as_str())
                        .bind(subject_id)
                        .bind(customer_id)
                        .bind(tier)
                        .bind(cause)
                        .bind(value)
                        .bind(&at)
                        .execute(&mut *tx.tx)
                        .await?
                        .rows_affected();
                        raised += n;
                        *counts.entry((tier.clone(), level.as_str())).or_default() += n as i64;
                    }
                    Decision::Escalate {
                        cause,
                        from,
                        to,
                        value,
                    } => {
                        let tiers: Vec<String> = sqlx::query_scalar(
                            "UPDATE warnings SET level = $1, value = $2, escalated_at = $3, version = version + 1 \
                             WHERE cause = $4 AND state IN ('raised', 'assigned') AND level = $5 RETURNING tier",
                        )
                        .bind(to.as_str())
                        .bind(value)
                        .bind(&at)
                        .bind(cause)
                        .bind(from.as_str())
                        .fetch_all(&mut *tx.tx)
                        .await?;
                        for tier in tiers {
                            escalated += 1;
                            *counts.entry((tier.clone(), from.as_str())).or_default() -= 1;
                            *counts.entry((tier, to.as_str())).or_default() += 1;
                        }
                    }
                }
            }
            for ((tier, level), delta) in counts.into_iter().filter(|(_, d)| *d != 0) {
                tally(&mut tx, &tier, level, delta).await?;
            }
            if raised + escalated > 0 {
                tx.audit(
                    "warning",
                    0,
                    "raise",
                    None,
                    Some(&serde_json::json!({"raised": raised, "escalated": escalated})),
                )
                .await?;
            }
            tx.commit().await?;
            pass.raised += raised;
            pass.escalated += escalated;
        }
        Ok(pass)
    }

    pub async fn list_warnings(&self, actor: &Actor, f: &WarningFilter) -> Result<Page<Warning>> {
        actor
            .require(Action::WarningRead)
            .map_err(|_| Error::Forbidden("warnings"))?;
        let mut c = Conditions::default();
        warning_scope(&mut c, actor);
        if let Some(l) = f.level {
            c.push("w.level = ?", [Arg::Text(l.as_str().into())]);
        }
        if let Some(s) = f.state {
            c.push("w.state = ?", [Arg::Text(s.as_str().into())]);
        }
        if f.open == Some(true) {
            c.push("w.state <> 'verified'", []);
        }
        if let Some(t) = f.tier {
            c.push("w.tier = ?", [Arg::Text(t.as_str().into())]);
        }
        if let Some(s) = f.subject {
            c.push("w.subject = ?", [Arg::Text(s.as_str().into())]);
        }
        if let Some(id) = f.customer_id {
            c.push("w.customer_id = ?", [Arg::Int(id)]);
        }
        if let Some(id) = f.assignee_id {
            c.push("w.assignee_id = ?", [Arg::Int(id)]);
        }
        if let Some(id) = f.rule_id {
            c.push("w.rule_id = ?", [Arg::Int(id)]);
        }
        // Open before verified, red before orange before yellow, grade A first (F2), newest.
        let (items, total) = self
            .fetch_page_counting(
                FROM,
                "warnings w JOIN customers c ON c.id = w.customer_id",
                COLUMNS,
                &c,
                "CASE WHEN w.state = 'verified' THEN 1 ELSE 0 END, \
                 CASE w.level WHEN 'red' THEN 0 WHEN 'orange' THEN 1 ELSE 2 END, c.grade, w.id DESC",
                f.page,
                f.per_page,
            )
            .await?;
        Ok(Page { items, total })
    }

    pub async fn get_warning(&self, actor: &Actor, id: i64) -> Result<Warning> {
        actor
            .require(Action::WarningRead)
            .map_err(|_| Error::Forbidden("warnings"))?;
        let mut c = Conditions::default();
        c.push("w.id = ?", [Arg::Int(id)]);
        warning_scope(&mut c, actor);
        let sql = format!("SELECT {COLUMNS} FROM {FROM}{}", c.where_clause());
        bind_all(sqlx::query_as(&sql), &c.args)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound)
    }

    /// The dashboard (F24 "by customer tier"): open warnings per tier (when raised) and level —
    /// the maintained tally for readers of every customer, a count within the scope of others.
    pub async fn warning_dashboard(&self, actor: &Actor) -> Result<Vec<TierLevels>> {
        actor
            .require(Action::WarningRead)
            .map_err(|_| Error::Forbidden("warnings"))?;
        let rows: Vec<(String, String, i64)> = if customer_scope_sql(actor, "x").is_none() {
            sqlx::query_as("SELECT tier, level, open FROM warning_tally")
                .fetch_all(&self.pool)
                .await?
        } else {
            let mut c = Conditions::default();
            c.push("w.state <> 'verified'", []);
            warning_scope(&mut c, actor);
            let sql = format!(
                "SELECT w.tier, w.level, COUNT(*) FROM warnings w{} GROUP BY w.tier, w.level",
                c.where_clause()
            );
            bind_all(sqlx::query_as(&sql), &c.args)
                .fetch_all(&self.pool)
                .await?
        };
        Ok(tier_levels(&rows))
    }

    /// The open warnings per tier and level counted from the warnings themselves: what the
    /// tally must always equal.
    pub async fn warning_recount(&self) -> Result<Vec<TierLevels>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT tier, level, COUNT(*) FROM warnings WHERE state <> 'verified' GROUP BY tier, level",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(tier_levels(&rows))
    }

    /// Assign, resolve, verify or reopen. Assigning and verifying are for warning managers;
    /// the assignee (or a manager) resolves; nobody verifies their own resolution.
    pub async fn step_warning(
        &self,
        actor: &Actor,
        id: i64,
        mut r: WarningStepRequest,
        now: DateTime<Utc>,
    ) -> Result<Warning> {
        let w = self.get_warning(actor, id).await?;
        let manager = actor.require(Action::WarningManage).is_ok();
        let mine = w.assignee_id == Some(actor.user_id.0);
        match r.step {
            WarningStep::Resolve if !(manager || mine) => {
                return Err(Error::Forbidden("not_assignee"))
            }
            WarningStep::Assign | WarningStep::Verify | WarningStep::Reopen if !manager => {
                return Err(Error::Forbidden("warning_manage"))
            }
            WarningStep::Verify | WarningStep::Reopen
                if w.resolved_by.as_deref() == Some(actor.username.as_str()) =>
            {
                return Err(Error::Forbidden("own_resolution"))
            }
            _ => {}
        }
        if w.version != r.version {
            return Err(Error::Stale);
        }
        let mut e = FieldErrors::default();
        match r.step {
            WarningStep::Assign => {
                e.optional("note", &mut r.note, 2000);
                if r.assignee_id.is_none() {
                    e.add("assignee_id", "required");
                }
            }
            _ => e.required("note", &mut r.note, 4000),
        }
        e.finish()?;
        if let Some(a) = r.assignee_id.filter(|_| r.step == WarningStep::Assign) {
            let ok: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM users WHERE id = $1 AND active = 1 AND role <> 'portal'",
            )
            .bind(a)
            .fetch_optional(&self.pool)
            .await?;
            if ok.is_none() {
                return Err(Error::field("assignee_id", "unknown"));
            }
        }
        let from: WarningState = w
            .state
            .parse()
            .map_err(|_| Error::Other("stored warning state is invalid".into()))?;
        let to = warning::next(from, r.step).ok_or(Error::Rule("warning_state"))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let q = match r.step {
            WarningStep::Assign => sqlx::query(
                "UPDATE warnings SET state = $1, assignee_id = $2, assigned_by = $3, assigned_at = $4, \
                 version = version + 1 WHERE id = $5 AND version = $6",
            )
            .bind(to.as_str())
            .bind(r.assignee_id)
            .bind(&actor.username)
            .bind(&at),
            WarningStep::Resolve => sqlx::query(
                "UPDATE warnings SET state = $1, resolution = $2, resolved_by = $3, resolved_at = $4, \
                 version = version + 1 WHERE id = $5 AND version = $6",
            )
            .bind(to.as_str())
            .bind(&r.note)
            .bind(&actor.username)
            .bind(&at),
            WarningStep::Verify => sqlx::query(
                "UPDATE warnings SET state = $1, verification = $2, verified_by = $3, verified_at = $4, \
                 version = version + 1 WHERE id = $5 AND version = $6",
            )
            .bind(to.as_str())
            .bind(&r.note)
            .bind(&actor.username)
            .bind(&at),
            // The verifier's reason goes back to the assignee; the resolution stays to read.
            WarningStep::Reopen => sqlx::query(
                "UPDATE warnings SET state = $1, verification = $2, verified_by = $3, verified_at = $4, \
                 version = version + 1 WHERE id = $5 AND version = $6",
            )
            .bind(to.as_str())
            .bind(&r.note)
            .bind(Option::<String>::None)
            .bind(Option::<String>::None),
        };
        let n = q
            .bind(id)
            .bind(r.version)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        if to == WarningState::Verified {
            // Closed: no longer open on the dashboard.
            tally(&mut tx, &w.tier, &w.level, -1).await?;
        }
        tx.audit(
            "warning",
            id,
            r.step.as_str(),
            Some(&serde_json::json!({"state": w.state, "assignee_id": w.assignee_id})),
            Some(&serde_json::json!({"state": to.as_str(), "note": r.note, "assignee_id": r.assignee_id})),
        )
        .await?;
        tx.commit().await?;
        self.get_warning(actor, id).await
    }
}
