//! The connection pool, the dialect differences (kept here and nowhere else) and the write
//! transaction that carries its audit entries.

use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqloop_domain::access::{self, Actor, CustomerScope};
use reqloop_domain::audit::{self, Entry};
use reqloop_domain::time::to_db;
use serde::Serialize;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor};

use crate::{Error, Result};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database: a pool and which dialect it speaks.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time: writers queue here, in order, instead of polling the
    /// file lock with busy-timeout sleeps (which gives long tail latencies under load).
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Where attachment bytes live (next to the SQLite file by default; configured for
    /// PostgreSQL, a directory every node shares).
    pub(crate) files: std::path::PathBuf,
}

/// A page of a list: `{"items": […], "total": N}`.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// Who writes, as the audit trail records it.
#[derive(Debug, Clone)]
pub struct Who {
    pub id: Option<i64>,
    pub name: String,
}

impl Who {
    /// The system itself (demo data, migrations, jobs).
    pub fn system() -> Self {
        Who {
            id: None,
            name: "system".into(),
        }
    }
}

impl From<&Actor> for Who {
    fn from(a: &Actor) -> Self {
        Who {
            id: Some(a.user_id.0),
            name: a.username.clone(),
        }
    }
}

impl Store {
    /// Opens `--db`: a SQLite file path (created when missing) or a `postgres://` URL.
    pub async fn connect(db: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (backend, url, files) =
            if db.starts_with("postgres://") || db.starts_with("postgresql://") {
                (Backend::Postgres, db.to_string(), "reqloop-files".into())
            } else {
                let path = db
                    .strip_prefix("sqlite://")
                    .or_else(|| db.strip_prefix("sqlite:"))
                    .unwrap_or(db);
                let path = path.split('?').next().unwrap_or(path);
                (
                    Backend::Sqlite,
                    format!("sqlite://{path}?mode=rwc"),
                    format!("{path}.files"),
                )
            };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; NORMAL sync is durable
                        // against a process crash in WAL mode.
                        // A commit checkpoints only past 80 MB of log; `serve` checkpoints in
                        // the background every 100 ms (`checkpoint`), so commits rarely pay for
                        // it (BENCHMARKS.md: one-client transition p99 3.6–4.2 → 3.0–3.3 ms).
                        // A 16 MB page cache per connection (SQLite's default is 2 MB) keeps
                        // big merges, such as the search index's, off the read syscalls.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                             PRAGMA wal_autocheckpoint = 20000; PRAGMA cache_size = -16384;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Store {
            pool,
            backend,
            writer: Default::default(),
            files: files.into(),
        })
    }

    /// Keeps attachment bytes in `dir` instead of the default.
    pub fn with_files_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Store {
        self.files = dir.into();
        self
    }

    /// Where files live (attachments, import reports): shared by every node.
    pub fn files_dir(&self) -> &std::path::Path {
        &self.files
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the migrations of this dialect that have not run yet.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// `true` once the database answers (for `/healthz`).
    pub async fn ping(&self) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .is_ok()
    }

    /// Copies SQLite's write-ahead log into the database file without blocking readers or the
    /// writer (a passive checkpoint); nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Case-insensitive LIKE of this dialect.
    pub(crate) fn like(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "LIKE",
            Backend::Postgres => "ILIKE",
        }
    }

    /// The SQLite writer's turn for a write outside `write` (statements without an audit entry:
    /// sessions, login failures, job claims, derived columns), held until the statement is done;
    /// without it such a write would poll the file lock and could starve behind queued writers.
    /// `None` on PostgreSQL.
    pub(crate) async fn turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match self.backend {
            Backend::Sqlite => Some(self.writer.clone().lock_owned().await),
            Backend::Postgres => None,
        }
    }

    /// Starts a write: one transaction that first locks the audit head, so that the chain
    /// stays linear and SQLite takes its write lock up front (no upgrade deadlocks).
    pub(crate) async fn write(&self, who: &Who, now: DateTime<Utc>) -> Result<WriteTx> {
        let turn = self.turn().await;
        let mut tx = self.pool.begin().await?;
        let (seq, hash): (i64, String) =
            sqlx::query_as("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
                .fetch_one(&mut *tx)
                .await?;
        Ok(WriteTx {
            backend: self.backend,
            _turn: turn,
            tx,
            seq,
            hash,
            at: to_db(now),
            who: who.clone(),
            head_seq: seq,
            pending: Vec::new(),
        })
    }
}

/// A write transaction with its audit entries; nothing is visible until `commit`.
pub(crate) struct WriteTx {
    pub(crate) tx: sqlx::Transaction<'static, Any>,
    backend: Backend,
    seq: i64,
    hash: String,
    head_seq: i64,
    /// Entries chained but not yet inserted: they go in together, at commit or once there are
    /// `PENDING_ENTRIES` of them, so a write costs one audit statement however many entries it
    /// makes (nothing reads the trail inside a write).
    pending: Vec<Entry>,
    pub(crate) at: String,
    who: Who,
    /// The SQLite writer's turn, held until commit or drop; the last field, so it is released
    /// after the transaction.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// Appends who, when, entity, action, before and after to the chain.
    pub(crate) async fn audit<T: Serialize + ?Sized>(
        &mut self,
        entity: &str,
        entity_id: impl Display,
        action: &str,
        before: Option<&T>,
        after: Option<&T>,
    ) -> Result<()> {
        let e = self.chain(entity, &entity_id.to_string(), action, before, after)?;
        self.pending.push(e);
        self.flush_when_full().await
    }

    /// Appends one entry per record (`entity_id`, after-image) for a batch of records that
    /// came into being, in statements of many rows; the chain is the same as entry by entry.
    pub(crate) async fn audit_each<T: Serialize>(
        &mut self,
        entity: &str,
        action: &str,
        records: &[(i64, T)],
    ) -> Result<()> {
        for (id, after) in records {
            let e = self.chain(entity, &id.to_string(), action, None, Some(after))?;
            self.pending.push(e);
        }
        self.flush_when_full().await
    }

    /// Inserts the pending entries once there are enough of them (memory stays bounded in a
    /// large import).
    async fn flush_when_full(&mut self) -> Result<()> {
        const PENDING_ENTRIES: usize = 1000;
        if self.pending.len() >= PENDING_ENTRIES {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        let entries = std::mem::take(&mut self.pending);
        self.insert_entries(&entries).await
    }

    /// The next entry of the chain, hashed onto the one before it; the chain's end moves on.
    fn chain<T: Serialize + ?Sized>(
        &mut self,
        entity: &str,
        entity_id: &str,
        action: &str,
        before: Option<&T>,
        after: Option<&T>,
    ) -> Result<Entry> {
        let json = |v: Option<&T>| {
            v.map(serde_json::to_string)
                .transpose()
                .map_err(|e| Error::Other(e.to_string()))
        };
        let mut e = Entry {
            seq: self.seq + 1,
            at: self.at.clone(),
            actor_id: self.who.id,
            actor_name: self.who.name.clone(),
            entity: entity.to_string(),
            entity_id: entity_id.to_string(),
            action: action.to_string(),
            before: json(before)?,
            after: json(after)?,
            hash: String::new(),
        };
        e.hash = audit::chain_hash(&self.hash, &e);
        self.seq = e.seq;
        self.hash = e.hash.clone();
        Ok(e)
    }

    /// Writes chained entries, many rows per statement.
    async fn insert_entries(&mut self, entries: &[Entry]) -> Result<()> {
        const COLUMNS: usize = 10;
        for chunk in entries.chunks(self.rows_per_insert(COLUMNS)) {
            let sql = format!(
                "INSERT INTO audit_log (seq, at, actor_id, actor_name, entity, entity_id, action, before_json, after_json, hash) \
                 VALUES {}",
                self.values(chunk.len(), COLUMNS)
            );
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q
                    .bind(e.seq)
                    .bind(&e.at)
                    .bind(e.actor_id)
                    .bind(&e.actor_name)
                    .bind(&e.entity)
                    .bind(&e.entity_id)
                    .bind(&e.action)
                    .bind(&e.before)
                    .bind(&e.after)
                    .bind(&e.hash);
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// How many rows of `columns` values one multi-row INSERT of this transaction carries.
    pub(crate) fn rows_per_insert(&self, columns: usize) -> usize {
        (BULK_PARAMS / columns).max(1)
    }

    /// The VALUES list of a multi-row INSERT of `rows` × `columns` values, in the placeholders
    /// that bind cheapest: plain `?` on SQLite (bound by position; `$n` are looked up by name,
    /// which grows with the square of their number), `$n` on PostgreSQL.
    pub(crate) fn values(&self, rows: usize, columns: usize) -> String {
        match self.backend {
            Backend::Sqlite => {
                let row = format!("({})", vec!["?"; columns].join(", "));
                vec![row; rows].join(", ")
            }
            Backend::Postgres => values_rows(rows, columns),
        }
    }

    pub(crate) async fn commit(mut self) -> Result<()> {
        self.flush().await?;
        if self.seq != self.head_seq {
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(self.seq)
                .bind(&self.hash)
                .execute(&mut *self.tx)
                .await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}

/// A bind value of a query assembled at run time.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
}

/// The most parameters a multi-row statement should carry. Binding looks each `$n` up among the
/// statement's parameters by name (`sqlite3_bind_parameter_name`), so its cost grows with the
/// square of their number: 400 rows × 18 values took 66 ms a statement, 50 rows 1 ms, and at 900
/// a statement binding was a quarter of an import's time (BENCHMARKS.md). Around 200 the cost
/// per value is near its least: fewer and each statement's own overhead dominates.
pub(crate) const MAX_PARAMS: usize = 240;

/// The parameters of one multi-row INSERT built by `WriteTx::values`, whose placeholders bind in
/// linear time on both dialects: fewer, larger statements (each is a round trip to the
/// database's worker) — well under SQLite's 32,766 and PostgreSQL's 65,535.
const BULK_PARAMS: usize = 2000;

/// Builds a WHERE clause with `$n` placeholders (understood by both dialects).
#[derive(Debug, Default)]
pub(crate) struct Conditions {
    pub(crate) sql: Vec<String>,
    pub(crate) args: Vec<Arg>,
}

impl Conditions {
    /// Adds a condition; each `?` in `cond` becomes the next `$n` bound to the next arg.
    pub(crate) fn push(&mut self, cond: &str, args: impl IntoIterator<Item = Arg>) {
        let mut args = args.into_iter();
        let mut out = String::with_capacity(cond.len() + 8);
        for ch in cond.chars() {
            if ch == '?' {
                let arg = args.next().expect("one argument per placeholder");
                self.args.push(arg);
                out.push_str(&format!("${}", self.args.len()));
            } else {
                out.push(ch);
            }
        }
        debug_assert!(args.next().is_none(), "more arguments than placeholders");
        self.sql.push(out);
    }

    pub(crate) fn where_clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.sql.join(" AND "))
        }
    }

    /// The next placeholder number (for LIMIT/OFFSET after the conditions).
    pub(crate) fn next(&self) -> usize {
        self.args.len() + 1
    }
}

/// `($1, $2, …), (…)`: `rows` rows of `columns` placeholders each, for a multi-row INSERT.
pub(crate) fn values_rows(rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(r * columns + c + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

/// Ids as an SQL list for `IN (…)` (`0`, matching nothing, when there are none). Integers only,
/// so nothing from outside reaches the SQL text.
pub(crate) fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    let v: Vec<String> = ids.into_iter().map(|i| i.to_string()).collect();
    if v.is_empty() {
        "0".into()
    } else {
        v.join(", ")
    }
}

pub(crate) fn bind_all<'q, O>(
    mut q: sqlx::query::QueryAs<'q, Any, O, sqlx::any::AnyArguments<'q>>,
    args: &'q [Arg],
) -> sqlx::query::QueryAs<'q, Any, O, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            Arg::Int(i) => q.bind(*i),
            Arg::Text(s) => q.bind(s.as_str()),
        };
    }
    q
}

/// Maps a unique violation to `Duplicate(field)`, anything else to `Db`.
pub(crate) fn unique(field: &'static str) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => Error::Duplicate(field),
        _ => Error::Db(e),
    }
}

impl Store {
    /// One page of `SELECT {columns} FROM {table}` under the conditions, in `order`, with the
    /// total count: the one place lists page.
    pub(crate) async fn fetch_page<R>(
        &self,
        table: &str,
        columns: &str,
        c: &Conditions,
        order: &str,
        page: Option<i64>,
        per_page: Option<i64>,
    ) -> Result<(Vec<R>, i64)>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        self.fetch_page_counting(table, table, columns, c, order, page, per_page)
            .await
    }

    /// `fetch_page` counting in `count_from`: the listed table without the joins that only add
    /// columns (the conditions must name its columns only).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn fetch_page_counting<R>(
        &self,
        table: &str,
        count_from: &str,
        columns: &str,
        c: &Conditions,
        order: &str,
        page: Option<i64>,
        per_page: Option<i64>,
    ) -> Result<(Vec<R>, i64)>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        let w = c.where_clause();
        let (total,): (i64,) = bind_all(
            sqlx::query_as(&format!("SELECT COUNT(*) FROM {count_from}{w}")),
            &c.args,
        )
        .fetch_one(&self.pool)
        .await?;
        let (limit, offset) = paging(page, per_page);
        let n = c.next();
        let sql = format!(
            "SELECT {columns} FROM {table}{w} ORDER BY {order} LIMIT ${n} OFFSET ${}",
            n + 1
        );
        let mut args = c.args.clone();
        args.extend([Arg::Int(limit), Arg::Int(offset)]);
        let rows = bind_all(sqlx::query_as(&sql), &args)
            .fetch_all(&self.pool)
            .await?;
        Ok((rows, total))
    }
}

/// Restricts `column` (a customer id) to the customers the actor sees (`access::customer_scope`),
/// in SQL, so lists are filtered in the database and never after loading.
pub(crate) fn customer_scope(c: &mut Conditions, actor: &Actor, column: &str) {
    if let Some((sql, args)) = customer_scope_sql(actor, column) {
        c.push(&sql, args);
    }
}

/// Restricts requirements (`{prefix}id`, `{prefix}customer_id`) to those the actor sees: those of
/// visible customers, and those its department takes part in (`access::task_department`).
pub(crate) fn requirement_scope(c: &mut Conditions, actor: &Actor, prefix: &str) {
    if let Some((sql, args)) = requirement_scope_sql(actor, prefix) {
        c.push(&sql, args);
    }
}

/// The same restriction on a column holding a requirement id (`h.requirement_id`), so that a
/// list of a requirement's children can be filtered and counted without joining requirements.
pub(crate) fn requirement_id_scope(c: &mut Conditions, actor: &Actor, column: &str) {
    if let Some((sql, args)) = requirement_scope_sql(actor, "") {
        c.push(
            &format!("{column} IN (SELECT id FROM requirements WHERE {sql})"),
            args,
        );
    }
}

pub(crate) fn requirement_scope_sql(actor: &Actor, prefix: &str) -> Option<(String, Vec<Arg>)> {
    let (sql, mut args) = customer_scope_sql(actor, &format!("{prefix}customer_id"))?;
    Some(match access::task_department(actor) {
        None => (sql, args),
        Some(d) => {
            args.push(Arg::Int(d.0));
            (
                format!(
                    "({sql} OR {prefix}id IN \
                     (SELECT requirement_id FROM requirement_departments WHERE department_id = ?))"
                ),
                args,
            )
        }
    })
}

/// The customer-scope condition (with `?` placeholders) and its arguments; `None` for all.
pub(crate) fn customer_scope_sql(actor: &Actor, column: &str) -> Option<(String, Vec<Arg>)> {
    Some(match access::customer_scope(actor) {
        CustomerScope::All => return None,
        CustomerScope::Managed(u) => (
            format!(
                "({column} IN (SELECT id FROM customers WHERE account_manager_id = ?) \
                 OR {column} IN (SELECT customer_id FROM customer_team WHERE user_id = ?))"
            ),
            vec![Arg::Int(u.0), Arg::Int(u.0)],
        ),
        CustomerScope::Department(d) => (
            format!(
                "{column} IN (SELECT id FROM customers WHERE account_manager_id IN \
                 (SELECT id FROM users WHERE department_id = ?))"
            ),
            vec![Arg::Int(d.0)],
        ),
        CustomerScope::One(id) => (format!("{column} = ?"), vec![Arg::Int(id.0)]),
        CustomerScope::Nothing => ("1 = 0".into(), vec![]),
    })
}

/// Page and size from a list query: page ≥ 1, 1 ≤ per_page ≤ 200 (default 20).
pub(crate) fn paging(page: Option<i64>, per_page: Option<i64>) -> (i64, i64) {
    let per = per_page.unwrap_or(20).clamp(1, 200);
    let page = page.unwrap_or(1).max(1);
    (per, (page - 1).saturating_mul(per))
}
