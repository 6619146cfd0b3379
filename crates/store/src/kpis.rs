//! KPIs (F23; 003§5.2): the monthly roll-up (`kpi_monthly`) kept by the transactions that
//! receive, complete or merge requirements, end or breach response clocks and store survey
//! answers; the dashboard's reads over it (a period's totals, rows by department, person or
//! customer, the monthly trend); the weekly check list (003§5.3 "每周跟踪检查"); and a full
//! recount from the records, which the roll-up must always equal.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use reqloop_domain::access::{self, Action, Actor, CustomerScope};
use reqloop_domain::kpi::{self, Counts, Dimension, Outcome, Period, Rates};
use reqloop_domain::time::to_db;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::db::{bind_all, customer_scope_sql, requirement_scope, Arg, Conditions, WriteTx};
use crate::{Error, Result, Store};

/// Who an event counts for: the responsible person and department (0 for none) and the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Owner {
    pub person: i64,
    pub department: i64,
    pub customer: i64,
}

/// Adds `c` to the month's rows of the owner (its person row and its customer row).
pub(crate) async fn bump(tx: &mut WriteTx, month: &str, o: Owner, c: &Counts) -> Result<()> {
    bump_many(tx, month, &[(o, *c)]).await
}

/// The same for many owners at once, each target row once per statement (PostgreSQL refuses
/// to update a row twice in one INSERT … ON CONFLICT).
pub(crate) async fn bump_many(
    tx: &mut WriteTx,
    month: &str,
    counts: &[(Owner, Counts)],
) -> Result<()> {
    const COLUMNS: usize = 13;
    let mut rows: std::collections::BTreeMap<(&'static str, i64, i64), Counts> = Default::default();
    for (o, c) in counts {
        for (dim, subject, department) in [
            (Dimension::Person, o.person, o.department),
            (Dimension::Customer, o.customer, 0),
        ] {
            rows.entry((dim.as_str(), subject, department))
                .or_default()
                .add(c);
        }
    }
    let rows: Vec<_> = rows.into_iter().collect();
    for chunk in rows.chunks(tx.rows_per_insert(COLUMNS)) {
        let sql = format!(
            "INSERT INTO kpi_monthly (month, dim, subject_id, department_id, received, completed, on_time, late, \
             s1, s2, s3, s4, s5) VALUES {} \
             ON CONFLICT (dim, month, subject_id, department_id) DO UPDATE SET \
             received = kpi_monthly.received + excluded.received, completed = kpi_monthly.completed + excluded.completed, \
             on_time = kpi_monthly.on_time + excluded.on_time, late = kpi_monthly.late + excluded.late, \
             s1 = kpi_monthly.s1 + excluded.s1, s2 = kpi_monthly.s2 + excluded.s2, s3 = kpi_monthly.s3 + excluded.s3, \
             s4 = kpi_monthly.s4 + excluded.s4, s5 = kpi_monthly.s5 + excluded.s5",
            tx.values(chunk.len(), COLUMNS)
        );
        let mut q = sqlx::query(&sql);
        for ((dim, subject, department), c) in chunk {
            q = q
                .bind(month)
                .bind(*dim)
                .bind(*subject)
                .bind(*department)
                .bind(c.received)
                .bind(c.completed)
                .bind(c.on_time)
                .bind(c.late)
                .bind(c.scores[0])
                .bind(c.scores[1])
                .bind(c.scores[2])
                .bind(c.scores[3])
                .bind(c.scores[4]);
        }
        q.execute(&mut *tx.tx).await?;
    }
    Ok(())
}

/// The owner of a requirement (fixed when it was received) and the month it was received.
pub(crate) async fn requirement_owner(tx: &mut WriteTx, id: i64) -> Result<(Owner, String)> {
    let (person, department, customer, created): (Option<i64>, Option<i64>, i64, String) =
        sqlx::query_as(
            "SELECT owner_id, owner_department_id, customer_id, created_at FROM requirements WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx.tx)
        .await?;
    let month = reqloop_domain::time::from_db(&created)
        .map(kpi::month_of)
        .unwrap_or_default();
    Ok((
        Owner {
            person: person.unwrap_or(0),
            department: department.unwrap_or(0),
            customer,
        },
        month,
    ))
}

/// A requirement completed (closed, or merged into another): counts in the month it was
/// received, for the owner it was received by.
pub(crate) async fn count_completed(tx: &mut WriteTx, requirement: i64) -> Result<()> {
    let (owner, month) = requirement_owner(tx, requirement).await?;
    let c = Counts {
        completed: 1,
        ..Default::default()
    };
    bump(tx, &month, owner, &c).await
}

/// A response clock ends now (a requirement leaves its stage, a hand-off completes): counted
/// once — on time, or late unless its breach was already counted (`kpi::outcome`). A late end
/// the breach pass had not seen yet is recorded as a breach here. Returns whether it was on
/// time.
pub(crate) async fn end_clock(
    tx: &mut WriteTx,
    clock: ClockEnd<'_>,
    overdue: bool,
    now: DateTime<Utc>,
) -> Result<bool> {
    let recorded: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM sla_breaches WHERE record_type = $1 AND record_id = $2 AND clock = $3",
    )
    .bind(clock.record_type)
    .bind(clock.record_id)
    .bind(clock.clock)
    .fetch_optional(&mut *tx.tx)
    .await?;
    let month = kpi::month_of(now);
    let mut c = Counts::default();
    match kpi::outcome(overdue, recorded.is_some()) {
        Outcome::OnTime => c.on_time = 1,
        Outcome::Late => {
            sqlx::query(
                "INSERT INTO sla_breaches (record_type, record_id, clock, customer_id, user_id, department_id, due_at, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(clock.record_type)
            .bind(clock.record_id)
            .bind(clock.clock)
            .bind(clock.owner.customer)
            .bind(clock.owner.person)
            .bind(clock.owner.department)
            .bind(clock.due_at)
            .bind(to_db(now))
            .execute(&mut *tx.tx)
            .await?;
            c.late = 1;
        }
        Outcome::CountedAlready => return Ok(false),
    }
    bump(tx, &month, clock.owner, &c).await?;
    Ok(c.on_time == 1)
}

/// A response clock that ends: which record and clock (as `sla_breaches` names it), whom it
/// counts for and when it was due.
pub(crate) struct ClockEnd<'a> {
    pub record_type: &'a str,
    pub record_id: i64,
    pub clock: &'a str,
    pub owner: Owner,
    pub due_at: &'a str,
}

/// Breaches the pass just recorded (`record_type`, customer, person, department), counted as
/// late in the month of `now`. Complaint clocks are not requirement responses: not counted.
pub(crate) async fn count_breaches(
    tx: &mut WriteTx,
    rows: &[(String, i64, i64, i64)],
    now: DateTime<Utc>,
) -> Result<()> {
    let mut by_owner: BTreeMap<Owner, i64> = BTreeMap::new();
    for (kind, customer, person, department) in rows {
        if kind == "requirement" || kind == "handoff" {
            *by_owner
                .entry(Owner {
                    person: *person,
                    department: *department,
                    customer: *customer,
                })
                .or_default() += 1;
        }
    }
    let month = kpi::month_of(now);
    for (owner, late) in by_owner {
        let c = Counts {
            late,
            ..Default::default()
        };
        bump(tx, &month, owner, &c).await?;
    }
    Ok(())
}

/// `?period=2026-11|2026-Q4|2026&by=department|person|customer`, paged (rows by customer can be
/// many), `sort` by `received` (default), `timeliness`, `completion` or `satisfied` (prefix `-`
/// for ascending).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KpiQuery {
    /// `2026-11` (a month), `2026-Q4` (a quarter) or `2026` (a year); default this month.
    pub period: Option<String>,
    pub by: Option<Dimension>,
    pub department_id: Option<i64>,
    pub sort: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// One row of the KPIs: counts with their rates.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiRow {
    /// Department, user or customer id (0: none recorded).
    pub key: i64,
    pub label: String,
    #[serde(flatten)]
    pub counts: Counts,
    #[serde(flatten)]
    pub rates: Rates,
}

impl KpiRow {
    fn new(key: i64, label: String, counts: Counts) -> KpiRow {
        KpiRow {
            key,
            label,
            rates: Rates::from(&counts),
            counts,
        }
    }
}

/// A month of the trend.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiMonth {
    pub month: String,
    #[serde(flatten)]
    pub counts: Counts,
    #[serde(flatten)]
    pub rates: Rates,
}

/// The KPIs of a period in the reader's scope: totals, the rows by one dimension (a page of
/// them; `total` counts them all) and the twelve months up to the period's end.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiReport {
    pub period: String,
    pub from_month: String,
    pub to_month: String,
    pub by: Dimension,
    pub totals: KpiRow,
    pub items: Vec<KpiRow>,
    pub total: i64,
    pub trend: Vec<KpiMonth>,
}

const COUNTERS: [&str; 9] = [
    "received",
    "completed",
    "on_time",
    "late",
    "s1",
    "s2",
    "s3",
    "s4",
    "s5",
];

/// The sums of every counter, named after it (PostgreSQL sums BIGINT as NUMERIC: cast back).
fn sums() -> String {
    COUNTERS
        .map(|c| format!("CAST(COALESCE(SUM(k.{c}), 0) AS BIGINT) AS {c}"))
        .join(", ")
}

type SumRow = (i64, i64, i64, i64, i64, i64, i64, i64, i64);

fn counts(r: SumRow) -> Counts {
    Counts {
        received: r.0,
        completed: r.1,
        on_time: r.2,
        late: r.3,
        scores: [r.4, r.5, r.6, r.7, r.8],
    }
}

#[derive(FromRow)]
struct KeyedSums {
    key: i64,
    label: Option<String>,
    received: i64,
    completed: i64,
    on_time: i64,
    late: i64,
    s1: i64,
    s2: i64,
    s3: i64,
    s4: i64,
    s5: i64,
}

impl KeyedSums {
    fn counts(&self) -> Counts {
        counts((
            self.received,
            self.completed,
            self.on_time,
            self.late,
            self.s1,
            self.s2,
            self.s3,
            self.s4,
            self.s5,
        ))
    }
}

/// Restricts person rows (`k`) to the reader's scope: an account manager sees their own, a
/// department-scoped reader their department, others everyone.
fn person_scope(c: &mut Conditions, actor: &Actor) {
    match access::customer_scope(actor) {
        CustomerScope::All => {}
        CustomerScope::Managed(u) => c.push("k.subject_id = ?", [Arg::Int(u.0)]),
        CustomerScope::Department(d) => c.push("k.department_id = ?", [Arg::Int(d.0)]),
        CustomerScope::One(_) | CustomerScope::Nothing => c.push("1 = 0", []),
    }
}

/// The sort key of the rows (a count or a rate over the group) and its direction, descending
/// unless `-`.
fn order_by(sort: Option<&str>) -> Result<(&'static str, &'static str)> {
    let s = sort.unwrap_or("received");
    let (name, dir) = match s.strip_prefix('-') {
        Some(n) => (n, "ASC"),
        None => (s, "DESC"),
    };
    let expr = match name {
        "received" => "SUM(k.received)",
        "timeliness" => "1.0 * SUM(k.on_time) / NULLIF(SUM(k.on_time) + SUM(k.late), 0)",
        "completion" => "1.0 * SUM(k.completed) / NULLIF(SUM(k.received), 0)",
        "satisfied" => {
            "1.0 * (SUM(k.s4) + SUM(k.s5)) / NULLIF(SUM(k.s1) + SUM(k.s2) + SUM(k.s3) + SUM(k.s4) + SUM(k.s5), 0)"
        }
        _ => return Err(Error::field("sort", "sort")),
    };
    Ok((expr, dir))
}

impl Store {
    /// The KPI report of a period (F23).
    pub async fn kpis(&self, actor: &Actor, q: &KpiQuery, now: DateTime<Utc>) -> Result<KpiReport> {
        actor
            .require(Action::KpiRead)
            .map_err(|_| Error::Forbidden("kpis"))?;
        let period = match q.period.as_deref().filter(|p| !p.is_empty()) {
            None => Period::month_at(now),
            Some(p) => Period::parse(p).ok_or(Error::field("period", "period"))?,
        };
        let by = q.by.unwrap_or(Dimension::Department);
        let order = order_by(q.sort.as_deref())?;
        let (from, to) = period.months();

        let mut c = Conditions::default();
        c.push("k.dim = 'person'", []);
        person_scope(&mut c, actor);
        if let Some(d) = q.department_id {
            c.push("k.department_id = ?", [Arg::Int(d)]);
        }
        // The trend: twelve months up to the period's end.
        let months = kpi::months_back(period, 12);
        let mut t = Conditions {
            sql: c.sql.clone(),
            args: c.args.clone(),
        };
        t.push(
            "k.month >= ? AND k.month <= ?",
            [Arg::Text(months[0].clone()), Arg::Text(to.clone())],
        );
        let sql = format!(
            "SELECT 0 AS key, k.month AS label, {} FROM kpi_monthly k{} GROUP BY k.month",
            sums(),
            t.where_clause()
        );
        let rows: Vec<KeyedSums> = bind_all(sqlx::query_as(&sql), &t.args)
            .fetch_all(&self.pool)
            .await?;
        let by_month: BTreeMap<String, Counts> = rows
            .iter()
            .map(|r| (r.label.clone().unwrap_or_default(), r.counts()))
            .collect();
        let trend = months
            .iter()
            .map(|m| {
                let counts = by_month.get(m).copied().unwrap_or_default();
                KpiMonth {
                    month: m.clone(),
                    rates: Rates::from(&counts),
                    counts,
                }
            })
            .collect();
        // The period's totals.
        let mut totals = Counts::default();
        for (m, cts) in &by_month {
            if *m >= from && *m <= to {
                totals.add(cts);
            }
        }
        let (items, total) = match by {
            Dimension::Department | Dimension::Person => {
                c.push(
                    "k.month >= ? AND k.month <= ?",
                    [Arg::Text(from.clone()), Arg::Text(to.clone())],
                );
                let (key, label) = if by == Dimension::Department {
                    ("k.department_id", "departments.name_zh")
                } else {
                    ("k.subject_id", "users.display_name")
                };
                self.keyed_rows(key, label, &c, order, q).await?
            }
            Dimension::Customer => {
                let mut c = Conditions::default();
                c.push("k.dim = 'customer'", []);
                if let Some((sql, args)) = customer_scope_sql(actor, "k.subject_id") {
                    c.push(&sql, args);
                }
                if let Some(d) = q.department_id {
                    c.push(
                        "k.subject_id IN (SELECT id FROM customers WHERE account_manager_id IN \
                         (SELECT id FROM users WHERE department_id = ?))",
                        [Arg::Int(d)],
                    );
                }
                c.push(
                    "k.month >= ? AND k.month <= ?",
                    [Arg::Text(from.clone()), Arg::Text(to.clone())],
                );
                self.keyed_rows("k.subject_id", "customers.name", &c, order, q)
                    .await?
            }
        };
        Ok(KpiReport {
            period: period.key(),
            from_month: from,
            to_month: to,
            by,
            totals: KpiRow::new(0, String::new(), totals),
            items,
            total,
            trend,
        })
    }

    /// A page of rows grouped by `key` and sorted, with the number of groups; the label
    /// (`table.column` of the row with that id) is joined to the page only.
    async fn keyed_rows(
        &self,
        key: &str,
        label: &str,
        c: &Conditions,
        (sort, dir): (&str, &str),
        q: &KpiQuery,
    ) -> Result<(Vec<KpiRow>, i64)> {
        let w = c.where_clause();
        let (total,): (i64,) = bind_all(
            sqlx::query_as(&format!(
                "SELECT COUNT(DISTINCT {key}) FROM kpi_monthly k{w}"
            )),
            &c.args,
        )
        .fetch_one(&self.pool)
        .await?;
        let (limit, offset) = crate::db::paging(q.page, q.per_page);
        let n = c.next();
        let (table, column) = label.split_once('.').unwrap_or((label, "id"));
        let sql = format!(
            "SELECT g.*, t.{column} AS label FROM (SELECT {key} AS key, CAST({sort} AS DOUBLE PRECISION) AS sort_key, {} \
             FROM kpi_monthly k{w} \
             GROUP BY {key} ORDER BY sort_key {dir} NULLS LAST, key LIMIT ${n} OFFSET ${}) g \
             LEFT JOIN {table} t ON t.id = g.key ORDER BY g.sort_key {dir} NULLS LAST, g.key",
            sums(),
            n + 1
        );
        let mut args = c.args.clone();
        args.extend([Arg::Int(limit), Arg::Int(offset)]);
        let rows: Vec<KeyedSums> = bind_all(sqlx::query_as(&sql), &args)
            .fetch_all(&self.pool)
            .await?;
        let items = rows
            .into_iter()
            .map(|r| KpiRow::new(r.key, r.label.clone().unwrap_or_default(), r.counts()))
            .collect();
        Ok((items, total))
    }

    /// The roll-up's counts of `dim` over the months `from..=to`, per (subject, department):
    /// what the KPIs read.
    pub async fn kpi_rollup(
        &self,
        dim: Dimension,
        from: &str,
        to: &str,
    ) -> Result<BTreeMap<(i64, i64), Counts>> {
        let sql = format!(
            "SELECT k.subject_id AS key, CAST(k.department_id AS TEXT) AS label, {} FROM kpi_monthly k \
             WHERE k.dim = $1 AND k.month >= $2 AND k.month <= $3 GROUP BY k.subject_id, k.department_id",
            sums()
        );
        let rows: Vec<KeyedSums> = sqlx::query_as(&sql)
            .bind(dim.as_str())
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let department = r.label.as_deref().and_then(|d| d.parse().ok()).unwrap_or(0);
                ((r.key, department), r.counts())
            })
            .filter(|(_, c)| *c != Counts::default())
            .collect())
    }

    /// The same counts recounted from the records themselves (requirements, transitions,
    /// hand-offs, breaches, survey answers): the roll-up must equal this. Months are Shanghai
    /// months; survey answers count for the customer's account manager of now.
    pub async fn kpi_recount(
        &self,
        dim: Dimension,
        from: &str,
        to: &str,
    ) -> Result<BTreeMap<(i64, i64), Counts>> {
        let person = dim != Dimension::Customer;
        let month = |col: &str| match self.backend() {
            crate::Backend::Sqlite => format!("strftime('%Y-%m', {col}, '+8 hours')"),
            crate::Backend::Postgres => {
                format!("to_char({col}::timestamp + interval '8 hours', 'YYYY-MM')")
            }
        };
        let pick = |p: &str, d: &str, c: &str| -> (String, String) {
            if person {
                (format!("COALESCE({p}, 0)"), format!("COALESCE({d}, 0)"))
            } else {
                (c.to_string(), "0".to_string())
            }
        };
        let mut out: BTreeMap<(i64, i64), Counts> = BTreeMap::new();
        let mut add = |rows: Vec<(i64, i64, i64)>, f: &dyn Fn(&mut Counts, i64)| {
            for (s, d, n) in rows {
                f(out.entry((s, d)).or_default(), n);
            }
        };
        let (s, d) = pick("r.owner_id", "r.owner_department_id", "r.customer_id");
        let m = month("r.created_at");
        let sql = format!(
            "SELECT {s}, {d}, COUNT(*) FROM requirements r WHERE {m} >= $1 AND {m} <= $2 GROUP BY 1, 2"
        );
        let rows = self.triples(&sql, from, to).await?;
        add(rows, &|c, n| c.received += n);
        let sql = format!(
            "SELECT {s}, {d}, COUNT(*) FROM requirements r WHERE {m} >= $1 AND {m} <= $2 \
             AND (r.stage = 'closed' OR r.merged_into IS NOT NULL) GROUP BY 1, 2"
        );
        let rows = self.triples(&sql, from, to).await?;
        add(rows, &|c, n| c.completed += n);
        let m = month("t.at");
        let sql = format!(
            "SELECT {s}, {d}, COUNT(*) FROM requirement_transitions t JOIN requirements r ON r.id = t.requirement_id \
             WHERE t.on_time = 1 AND {m} >= $1 AND {m} <= $2 GROUP BY 1, 2"
        );
        let rows = self.triples(&sql, from, to).await?;
        add(rows, &|c, n| c.on_time += n);
        let (hs, hd) = pick("h.receiver_id", "h.department_id", "r.customer_id");
        let m = month("h.completed_at");
        let sql = format!(
            "SELECT {hs}, {hd}, COUNT(*) FROM handoffs h JOIN requirements r ON r.id = h.requirement_id \
             WHERE h.status = 'completed' AND {m} >= $1 AND {m} <= $2 AND NOT EXISTS \
             (SELECT 1 FROM sla_breaches b WHERE b.record_type = 'handoff' AND b.record_id = h.id) GROUP BY 1, 2"
        );
        let rows = self.triples(&sql, from, to).await?;
        add(rows, &|c, n| c.on_time += n);
        let (bs, bd) = pick("b.user_id", "b.department_id", "b.customer_id");
        let m = month("b.recorded_at");
        let sql = format!(
            "SELECT {bs}, {bd}, COUNT(*) FROM sla_breaches b WHERE b.record_type IN ('requirement', 'handoff') \
             AND {m} >= $1 AND {m} <= $2 GROUP BY 1, 2"
        );
        let rows = self.triples(&sql, from, to).await?;
        add(rows, &|c, n| c.late += n);
        let (as_, ad) = pick("c.account_manager_id", "u.department_id", "a.customer_id");
        let m = month("a.answered_at");
        for score in 1..=5_usize {
            let sql = format!(
                "SELECT {as_}, {ad}, COUNT(*) FROM survey_answers a JOIN customers c ON c.id = a.customer_id \
                 LEFT JOIN users u ON u.id = c.account_manager_id WHERE a.score = {score} \
                 AND {m} >= $1 AND {m} <= $2 GROUP BY 1, 2"
            );
            let rows = self.triples(&sql, from, to).await?;
            add(rows, &|c, n| c.scores[score - 1] += n);
        }
        Ok(out)
    }

    async fn triples(&self, sql: &str, from: &str, to: &str) -> Result<Vec<(i64, i64, i64)>> {
        Ok(sqlx::query_as(sql)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?)
    }
}

/// The weekly check (003§5.3: "每周对需求处理进度进行一次跟踪检查"): the week's intake and
/// closures, and what needs chasing now — clocks run out, clocks running out this week,
/// requirements waiting for the customer, hand-offs overdue by department.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WeeklyCheck {
    /// Monday of the week (Shanghai).
    pub week_start: String,
    pub week_end: String,
    pub received: i64,
    pub closed: i64,
    pub overdue: CheckList,
    pub due_this_week: CheckList,
    pub waiting: CheckList,
    /// Overdue hand-offs per receiving department: (department id, name, count).
    pub handoffs_overdue: Vec<(i64, String, i64)>,
}

/// Up to 50 requirements of one heading (grade A first, then by due time) and how many there are.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckList {
    pub total: i64,
    pub items: Vec<CheckItem>,
}

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct CheckItem {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub stage: String,
    pub urgency: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub grade: String,
    pub sla_due_at: Option<String>,
    pub waiting_since: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WeekQuery {
    /// Any day of the week (`YYYY-MM-DD`); default this week.
    pub day: Option<String>,
}

impl Store {
    pub async fn weekly_check(
        &self,
        actor: &Actor,
        q: &WeekQuery,
        now: DateTime<Utc>,
    ) -> Result<WeeklyCheck> {
        actor
            .require(Action::KpiRead)
            .map_err(|_| Error::Forbidden("kpis"))?;
        let day = match q.day.as_deref().filter(|d| !d.is_empty()) {
            None => reqloop_domain::time::shanghai_date(now),
            Some(d) => {
                NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| Error::field("day", "date"))?
            }
        };
        use chrono::Datelike;
        let monday = day - Duration::days(day.weekday().num_days_from_monday() as i64);
        let sunday = monday + Duration::days(6);
        // The week's bounds as stored instants: Monday 00:00 and next Monday 00:00 Shanghai.
        let start =
            to_db(monday.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc() - Duration::hours(8));
        let end = to_db(
            (sunday + Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                .and_utc()
                - Duration::hours(8),
        );
        let nowt = to_db(now);
        let count = |cond: &str, args: Vec<Arg>| {
            let mut c = Conditions::default();
            requirement_scope(&mut c, actor, "r.");
            c.push(cond, args);
            c
        };
        let c = count(
            "r.created_at >= ? AND r.created_at < ?",
            vec![Arg::Text(start.clone()), Arg::Text(end.clone())],
        );
        let (received,): (i64,) = bind_all(
            sqlx::query_as(&format!(
                "SELECT COUNT(*) FROM requirements r{}",
                c.where_clause()
            )),
            &c.args,
        )
        .fetch_one(&self.pool)
        .await?;
        let c = count(
            "r.id IN (SELECT t.requirement_id FROM requirement_transitions t WHERE t.to_stage = 'closed' \
             AND t.at >= ? AND t.at < ?)",
            vec![Arg::Text(start.clone()), Arg::Text(end.clone())],
        );
        let (closed,): (i64,) = bind_all(
            sqlx::query_as(&format!(
                "SELECT COUNT(*) FROM requirements r{}",
                c.where_clause()
            )),
            &c.args,
        )
        .fetch_one(&self.pool)
        .await?;
        const RUNNING: &str =
            "r.stage <> 'closed' AND r.merged_into IS NULL AND r.waiting_since IS NULL";
        let overdue = self
            .check_list(count(
                &format!("{RUNNING} AND r.sla_due_at < ?"),
                vec![Arg::Text(nowt.clone())],
            ))
            .await?;
        let due_this_week = self
            .check_list(count(
                &format!("{RUNNING} AND r.sla_due_at >= ? AND r.sla_due_at < ?"),
                vec![Arg::Text(nowt.clone()), Arg::Text(end.clone())],
            ))
            .await?;
        let waiting = self
            .check_list(count(
                "r.stage <> 'closed' AND r.merged_into IS NULL AND r.waiting_since IS NOT NULL",
                vec![],
            ))
            .await?;
        let mut c = Conditions::default();
        crate::db::requirement_id_scope(&mut c, actor, "h.requirement_id");
        c.push(
            "h.status IN ('open', 'acknowledged') AND h.due_at < ?",
            [Arg::Text(nowt)],
        );
        let handoffs_overdue: Vec<(i64, String, i64)> = bind_all(
            sqlx::query_as(&format!(
                "SELECT h.department_id, MAX(d.name_zh), COUNT(*) FROM handoffs h \
                 JOIN departments d ON d.id = h.department_id{} GROUP BY h.department_id ORDER BY 3 DESC",
                c.where_clause()
            )),
            &c.args,
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(WeeklyCheck {
            week_start: monday.to_string(),
            week_end: sunday.to_string(),
            received,
            closed,
            overdue,
            due_this_week,
            waiting,
            handoffs_overdue,
        })
    }

    async fn check_list(&self, c: Conditions) -> Result<CheckList> {
        let w = c.where_clause();
        let (total,): (i64,) = bind_all(
            sqlx::query_as(&format!("SELECT COUNT(*) FROM requirements r{w}")),
            &c.args,
        )
        .fetch_one(&self.pool)
        .await?;
        let items = bind_all(
            sqlx::query_as(&format!(
                "SELECT r.id, r.code, r.title, r.stage, r.urgency, r.customer_id, cu.name AS customer_name, \
                 cu.grade, r.sla_due_at, r.waiting_since FROM requirements r JOIN customers cu ON cu.id = r.customer_id{w} \
                 ORDER BY cu.grade, r.sla_due_at, r.id LIMIT 50"
            )),
            &c.args,
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(CheckList { total, items })
    }
}
