//! Search (F30) over customers, requirements, complaints and contracts. The index holds each
//! record's tokens (reqloop_domain::search): SQLite FTS5 in a contentless table, PostgreSQL a
//! tsvector with a GIN index. The indexer follows the audit log — every write appends to it in
//! its own transaction, in commit order — so the index catches up after a restart and, on one
//! PostgreSQL, every node sees what any node wrote. A query is matched as phrases of bigrams,
//! ranked by BM25 (SQLite; a query matching more than 2,000 records lists the newest first) or
//! ts_rank (PostgreSQL) among the most recent matches, and filtered by
//! the reader's permissions and data scope before it is counted.

use std::collections::{HashMap, HashSet};

use reqloop_domain::access::{Action, Actor};
use reqloop_domain::search::{self as text, Kind};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::complaints::complaint_scope_sql;
use crate::db::{
    bind_all, customer_scope_sql, id_list, requirement_scope_sql, Arg, Backend, Conditions,
};
use crate::{Error, Result, Store};

/// Matches ranked per query: the most recent ones, so a word found in half of a million
/// records still answers in milliseconds (the rest are counted as "more").
pub const CANDIDATES: i64 = 2000;
/// Records indexed per transaction while catching up, and while building.
const BATCH: usize = 500;
const BUILD_BATCH: usize = 5000;
/// Characters of a hit's text shown around the first match.
const SNIPPET: usize = 80;

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// What to look for: Chinese words of two characters or more, codes, numbers; parts
    /// separated by spaces must all occur.
    pub q: Option<String>,
    /// Only this kind of record.
    pub kind: Option<Kind>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// One record found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Hit {
    pub kind: Kind,
    pub id: i64,
    /// Its code or number.
    pub code: String,
    pub title: String,
    /// Its text around the first match.
    pub snippet: String,
    pub customer_id: Option<i64>,
    pub customer_name: String,
    /// Stage, state, grade or contract kind, as stored.
    pub status: String,
    /// Higher is more relevant.
    pub score: f64,
}

/// A page of hits.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResult {
    pub items: Vec<Hit>,
    /// Matches ranked (at most [`CANDIDATES`]).
    pub total: i64,
    /// More records match than were ranked: refine the query.
    pub more: bool,
}

/// What one indexer pass did.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct IndexPass {
    pub indexed: u64,
    pub removed: u64,
    /// The audit seq the index now follows up to.
    pub cursor: i64,
}

/// A record's searchable text, as loaded for indexing or display.
#[derive(sqlx::FromRow)]
struct Source {
    id: i64,
    customer_id: Option<i64>,
    code: String,
    title: String,
    body: String,
    customer_name: String,
    status: String,
}

/// The audit entities whose records are indexed, and their kind.
fn kind_of_entity(entity: &str) -> Option<Kind> {
    Some(match entity {
        "customer" => Kind::Customer,
        "requirement" | "requirement_revision" => Kind::Requirement,
        "complaint" => Kind::Complaint,
        "contract" | "contract_version" => Kind::Contract,
        _ => return None,
    })
}

/// The text of records of one kind (`{ids}` is replaced by the id list or the key range).
fn source_sql(kind: Kind) -> &'static str {
    match kind {
        Kind::Customer => {
            "SELECT c.id, c.id AS customer_id, c.code, c.name AS title, \
             c.short_name || ' ' || c.industry || ' ' || c.application || ' ' || c.province || ' ' || \
             c.city || ' ' || c.address || ' ' || c.remarks AS body, c.name AS customer_name, c.grade AS status \
             FROM customers c WHERE c.archived = 0 AND {ids}"
        }
        Kind::Requirement => {
            "SELECT r.id, r.customer_id, r.code, r.title, r.description || ' ' || r.source_person AS body, \
             c.name AS customer_name, r.stage AS status \
             FROM requirements r JOIN customers c ON c.id = r.customer_id WHERE {ids}"
        }
        Kind::Complaint => {
            "SELECT k.id, k.customer_id, substr(k.registered_at, 1, 4) AS code, k.title, k.content || ' ' || k.product AS body, \
             c.name AS customer_name, k.state AS status \
             FROM complaints k JOIN customers c ON c.id = k.customer_id WHERE {ids}"
        }
        Kind::Contract => {
            "SELECT k.id, k.customer_id, k.number AS code, k.title, '' AS body, c.name AS customer_name, \
             k.kind AS status FROM contracts k JOIN customers c ON c.id = k.customer_id WHERE {ids}"
        }
    }
}

fn alias(kind: Kind) -> &'static str {
    match kind {
        Kind::Customer => "c",
        Kind::Requirement => "r",
        Kind::Complaint | Kind::Contract => "k",
    }
}

fn read_action(kind: Kind) -> Action {
    match kind {
        Kind::Customer | Kind::Contract => Action::CustomerRead,
        Kind::Requirement => Action::RequirementRead,
        Kind::Complaint => Action::ComplaintRead,
    }
}

impl Store {
    /// Brings the index up to date: the full build while it is not built, then the records the
    /// audit log names since the last pass. Cheap (two reads) when nothing changed.
    pub async fn index_search(&self) -> Result<IndexPass> {
        let (built, cursor): (i64, i64) =
            sqlx::query_as("SELECT built, cursor FROM search_state WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
        let (head,): (i64,) = sqlx::query_as("SELECT seq FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        if built == 0 {
            return self.build_search(head).await;
        }
        let mut pass = IndexPass {
            cursor,
            ..IndexPass::default()
        };
        while pass.cursor < head {
            let entries: Vec<(i64, String, String)> = sqlx::query_as(
                "SELECT seq, entity, entity_id FROM audit_log WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT 5000",
            )
            .bind(pass.cursor)
            .bind(head)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = entries.last().map(|e| e.0) else {
                break;
            };
            let mut touched: HashMap<Kind, HashSet<i64>> = HashMap::new();
            for (_, entity, id) in &entries {
                if let (Some(kind), Ok(id)) = (kind_of_entity(entity), id.parse::<i64>()) {
                    touched.entry(kind).or_default().insert(id);
                }
            }
            // The cursor moves in the transaction of the last batch: a failure on the way
            // leaves it where it was, and the next pass indexes those records again.
            let mut batches: Vec<(Kind, Vec<i64>)> = Vec::new();
            for kind in Kind::ALL {
                let Some(ids) = touched.remove(&kind) else {
                    continue;
                };
                let mut ids: Vec<i64> = ids.into_iter().collect();
                ids.sort_unstable();
                batches.extend(ids.chunks(BATCH).map(|c| (kind, c.to_vec())));
            }
            if batches.is_empty() {
                self.set_search_cursor(last).await?;
            }
            let n = batches.len();
            for (i, (kind, ids)) in batches.into_iter().enumerate() {
                let (indexed, removed) = self
                    .reindex(kind, &ids, (i + 1 == n).then_some(last))
                    .await?;
                pass.indexed += indexed;
                pass.removed += removed;
            }
            pass.cursor = last;
        }
        Ok(pass)
    }

    /// Forgets the index: the next pass rebuilds it (after a restore, or to recover).
    pub async fn reset_search(&self) -> Result<()> {
        let _turn = self.turn().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM search_docs")
            .execute(&mut *tx)
            .await?;
        if self.backend() == Backend::Sqlite {
            // Drops the whole index at once (a DELETE would leave a tombstone per row).
            sqlx::query("INSERT INTO search_fts (search_fts) VALUES ('delete-all')")
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE search_state SET built = 0, cursor = 0 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_search_cursor(&self, cursor: i64) -> Result<()> {
        let _turn = self.turn().await;
        sqlx::query("UPDATE search_state SET cursor = $1 WHERE id = 1 AND cursor < $1")
            .bind(cursor)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Indexes every record, kind by kind in key order, a batch per transaction; then follows
    /// the audit log from `head` (what was written meanwhile is indexed again: harmless).
    async fn build_search(&self, head: i64) -> Result<IndexPass> {
        let mut pass = IndexPass::default();
        let sqlite = self.backend() == Backend::Sqlite;
        if sqlite {
            // FTS5 merges its segments as they are written; while everything is new, merging
            // once at the end reads the index once instead of at every level.
            self.fts5_command("INSERT INTO search_fts (search_fts, rank) VALUES ('automerge', 0)")
                .await?;
            self.fts5_command(
                "INSERT INTO search_fts (search_fts, rank) VALUES ('crisismerge', 1000)",
            )
            .await?;
        }
        for kind in Kind::ALL {
            let table = match kind {
                Kind::Customer => "customers",
                Kind::Requirement => "requirements",
                Kind::Complaint => "complaints",
                Kind::Contract => "contracts",
            };
            let mut after = 0i64;
            loop {
                let ids: Vec<i64> = sqlx::query_scalar(&format!(
                    "SELECT id FROM {table} WHERE id > $1 ORDER BY id LIMIT {BUILD_BATCH}"
                ))
                .bind(after)
                .fetch_all(&self.pool)
                .await?;
                let Some(last) = ids.last().copied() else {
                    break;
                };
                let (i, r) = self.reindex(kind, &ids, None).await?;
                pass.indexed += i;
                pass.removed += r;
                after = last;
                // Keeps the write-ahead log short while building (`serve` does it anyway).
                self.checkpoint().await?;
            }
        }
        if sqlite {
            self.fts5_command("INSERT INTO search_fts (search_fts) VALUES ('optimize')")
                .await?;
            self.fts5_command("INSERT INTO search_fts (search_fts, rank) VALUES ('automerge', 4)")
                .await?;
            self.fts5_command(
                "INSERT INTO search_fts (search_fts, rank) VALUES ('crisismerge', 16)",
            )
            .await?;
            self.checkpoint().await?;
        }
        let _turn = self.turn().await;
        sqlx::query("UPDATE search_state SET built = 1, cursor = $1 WHERE id = 1")
            .bind(head)
            .execute(&self.pool)
            .await?;
        pass.cursor = head;
        Ok(pass)
    }

    async fn fts5_command(&self, sql: &str) -> Result<()> {
        let _turn = self.turn().await;
        sqlx::query(sql).execute(&self.pool).await?;
        Ok(())
    }

    /// Loads the records' text and writes their index entries in one transaction (removing
    /// those whose record is gone or archived); moves the cursor to `cursor` in it too.
    async fn reindex(&self, kind: Kind, ids: &[i64], cursor: Option<i64>) -> Result<(u64, u64)> {
        let rows = self.sources(kind, ids).await?;
        let found: HashSet<i64> = rows.iter().map(|r| r.id).collect();
        let gone: Vec<i64> = ids.iter().copied().filter(|i| !found.contains(i)).collect();
        let _turn = self.turn().await;
        let mut tx = self.pool.begin().await?;
        // Indexers on several nodes take turns on the state row (no deadlocks between them).
        sqlx::query("UPDATE search_state SET built = built WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        let sqlite = self.backend() == Backend::Sqlite;
        // On SQLite the writes to search_docs come first and the FTS5 ones after, each kind
        // together: any other statement opens a savepoint, which makes FTS5 flush what it holds
        // as a new segment (a segment per record, and endless merging).
        let mut fts: Vec<(i64, &Source)> = Vec::with_capacity(rows.len());
        let mut replaced: Vec<i64> = Vec::new();
        for r in &rows {
            if sqlite {
                let new: Option<(i64,)> = sqlx::query_as(
                    "INSERT INTO search_docs (kind, record_id, customer_id) VALUES ($1, $2, $3) \
                     ON CONFLICT (kind, record_id) DO NOTHING RETURNING id",
                )
                .bind(kind.as_str())
                .bind(r.id)
                .bind(r.customer_id)
                .fetch_optional(&mut *tx)
                .await?;
                let id = match new {
                    Some((id,)) => id,
                    None => {
                        let (id,): (i64,) = sqlx::query_as(
                            "UPDATE search_docs SET customer_id = $3 WHERE kind = $1 AND record_id = $2 RETURNING id",
                        )
                        .bind(kind.as_str())
                        .bind(r.id)
                        .bind(r.customer_id)
                        .fetch_one(&mut *tx)
                        .await?;
                        replaced.push(id);
                        id
                    }
                };
                fts.push((id, r));
            } else {
                let title = format!("{} {}", r.code, r.title);
                sqlx::query(
                    "INSERT INTO search_docs (kind, record_id, customer_id, terms) VALUES ($1, $2, $3, CAST($4 AS tsvector)) \
                     ON CONFLICT (kind, record_id) DO UPDATE SET customer_id = excluded.customer_id, terms = excluded.terms",
                )
                .bind(kind.as_str())
                .bind(r.id)
                .bind(r.customer_id)
                .bind(text::tsvector_document(&title, &r.body))
                .execute(&mut *tx)
                .await?;
            }
        }
        let mut gone_docs: Vec<i64> = Vec::new();
        for id in &gone {
            let doc: Option<(i64,)> = sqlx::query_as(
                "DELETE FROM search_docs WHERE kind = $1 AND record_id = $2 RETURNING id",
            )
            .bind(kind.as_str())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            gone_docs.extend(doc.map(|d| d.0));
        }
        if let Some(c) = cursor {
            sqlx::query("UPDATE search_state SET cursor = $1 WHERE id = 1 AND cursor < $1")
                .bind(c)
                .execute(&mut *tx)
                .await?;
        }
        if sqlite {
            for id in replaced.iter().chain(&gone_docs) {
                sqlx::query("DELETE FROM search_fts WHERE rowid = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            for (id, r) in fts {
                sqlx::query("INSERT INTO search_fts (rowid, title, body) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(text::fts5_document(&format!("{} {}", r.code, r.title)))
                    .bind(text::fts5_document(&r.body))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok((rows.len() as u64, gone_docs.len() as u64))
    }

    async fn sources(&self, kind: Kind, ids: &[i64]) -> Result<Vec<Source>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }

        let sql = source_sql(kind).replace(
            "{ids}",
            &format!("{}.id IN ({})", alias(kind), id_list(ids.iter().copied())),
        );
        let mut rows: Vec<Source> = sqlx::query_as(&sql).fetch_all(&self.pool).await?;
        if kind == Kind::Complaint {
            // A complaint's number is its year and id (as `Complaint::number`).
            for r in &mut rows {
                r.code = format!("TS-{}-{:04}", r.code, r.id);
            }
        }
        Ok(rows)
    }

    /// The records whose code is `code` (a customer's or requirement's code, a complaint's
    /// number), found on their unique keys, within the reader's scope.
    async fn by_code(&self, actor: &Actor, kinds: &[Kind], code: &str) -> Result<Vec<(Kind, i64)>> {
        let code = code.trim().to_uppercase();
        let mut found = Vec::new();
        for kind in kinds {
            let (select, key, scope) = match kind {
                Kind::Customer => (
                    "SELECT c.id FROM customers c WHERE c.archived = 0 AND c.code = ?",
                    Arg::Text(code.clone()),
                    customer_scope_sql(actor, "c.id"),
                ),
                Kind::Requirement => (
                    "SELECT r.id FROM requirements r WHERE r.code = ?",
                    Arg::Text(code.clone()),
                    requirement_scope_sql(actor, "r."),
                ),
                Kind::Complaint => {
                    // TS-2026-0012: the year it was registered and its id.
                    let id = code
                        .strip_prefix("TS-")
                        .and_then(|r| r.split_once('-'))
                        .and_then(|(_, n)| n.parse::<i64>().ok());
                    let Some(id) = id else { continue };
                    (
                        "SELECT k.id FROM complaints k WHERE k.id = ?",
                        Arg::Int(id),
                        complaint_scope_sql(actor),
                    )
                }
                Kind::Contract => continue,
            };
            let (head, cond) = select.split_once(" WHERE ").unwrap_or((select, "1 = 1"));
            let mut c = Conditions::default();
            c.push(cond, [key]);
            if let Some((scope, args)) = scope {
                c.push(&scope, args);
            }
            let ids: Vec<(i64,)> = bind_all(
                sqlx::query_as(&format!("{head}{}", c.where_clause())),
                &c.args,
            )
            .fetch_all(&self.pool)
            .await?;
            found.extend(ids.into_iter().map(|(id,)| (*kind, id)));
        }
        Ok(found)
    }

    /// The records matching `q` that the reader may see, most relevant first.
    pub async fn search(&self, actor: &Actor, q: &SearchQuery) -> Result<SearchResult> {
        let raw = q.q.as_deref().unwrap_or("");
        let query = text::parse(raw).map_err(|e| Error::field("q", e.code()))?;
        let kinds: Vec<Kind> = Kind::ALL
            .into_iter()
            .filter(|k| q.kind.is_none_or(|only| only == *k))
            .filter(|k| actor.require(read_action(*k)).is_ok())
            .collect();
        if kinds.is_empty() {
            return Err(Error::Forbidden("search"));
        }
        // A code typed whole (XQ2026-00025) is that record: found on its unique key, at once.
        if text::looks_like_code(raw) {
            let exact = self.by_code(actor, &kinds, raw).await?;
            if !exact.is_empty() {
                let found: Vec<(String, i64, f64)> = exact
                    .into_iter()
                    .map(|(k, id)| (k.as_str().to_string(), id, 1.0e6))
                    .collect();
                return self.hits(&query, found, false, q).await;
            }
        }
        let mut c = Conditions::default();
        let sqlite = self.backend() == Backend::Sqlite;
        if sqlite {
            c.push("search_fts MATCH ?", [Arg::Text(query.fts5())]);
        } else {
            c.push(
                "d.terms @@ CAST(? AS tsquery)",
                [Arg::Text(query.tsquery())],
            );
        }
        let mut visible = Vec::new();
        let mut args = Vec::new();
        for kind in &kinds {
            args.push(Arg::Text(kind.as_str().into()));
            let scope = match kind {
                Kind::Customer | Kind::Contract => customer_scope_sql(actor, "d.customer_id"),
                Kind::Requirement => requirement_scope_sql(actor, "r.").map(|(sql, a)| {
                    (
                        format!("d.record_id IN (SELECT r.id FROM requirements r WHERE {sql})"),
                        a,
                    )
                }),
                Kind::Complaint => complaint_scope_sql(actor).map(|(sql, a)| {
                    (
                        format!("d.record_id IN (SELECT k.id FROM complaints k WHERE {sql})"),
                        a,
                    )
                }),
            };
            match scope {
                None => visible.push("d.kind = ?".to_string()),
                Some((sql, a)) => {
                    visible.push(format!("(d.kind = ? AND {sql})"));
                    args.extend(a);
                }
            }
        }
        c.push(&format!("({})", visible.join(" OR ")), args);
        let mut found: Vec<(String, i64, f64)> = if sqlite {
            // The most recent matches first, unranked: FTS5 reads the doclists lazily. BM25
            // counts every record holding each word, which for a word in half of a million
            // records costs more than the search; so only a query that matches fewer than
            // CANDIDATES records is ranked by it, and a broader one lists the newest first.
            let matches = |score: &str| {
                format!(
                    "SELECT d.kind, d.record_id, {score} FROM search_fts \
                     JOIN search_docs d ON d.id = search_fts.rowid{} ORDER BY search_fts.rowid DESC LIMIT {}",
                    c.where_clause(),
                    CANDIDATES + 1
                )
            };
            let recent: Vec<(String, i64, f64)> =
                bind_all(sqlx::query_as(&matches("0.0")), &c.args)
                    .fetch_all(&self.pool)
                    .await?;
            if recent.len() as i64 > CANDIDATES {
                recent
            } else {
                bind_all(
                    sqlx::query_as(&matches("-bm25(search_fts, 3.0, 1.0)")),
                    &c.args,
                )
                .fetch_all(&self.pool)
                .await?
            }
        } else {
            let sql = format!(
                "SELECT d.kind, d.record_id, CAST(ts_rank(d.terms, CAST($1 AS tsquery)) AS DOUBLE PRECISION) \
                 FROM search_docs d{} ORDER BY d.id DESC LIMIT {}",
                c.where_clause(),
                CANDIDATES + 1
            );
            bind_all(sqlx::query_as(&sql), &c.args)
                .fetch_all(&self.pool)
                .await?
        };
        let more = found.len() as i64 > CANDIDATES;
        found.truncate(CANDIDATES as usize);
        found.sort_by(|a, b| b.2.total_cmp(&a.2).then(b.1.cmp(&a.1)));
        self.hits(&query, found, more, q).await
    }

    /// The page of `found` (ranked) with each record's text.
    async fn hits(
        &self,
        query: &text::Query,
        found: Vec<(String, i64, f64)>,
        more: bool,
        q: &SearchQuery,
    ) -> Result<SearchResult> {
        let (per, offset) = crate::db::paging(q.page, q.per_page);
        let page: Vec<(Kind, i64, f64)> = found
            .iter()
            .skip(offset as usize)
            .take(per as usize)
            .filter_map(|(k, id, s)| Kind::parse(k).map(|k| (k, *id, *s)))
            .collect();
        let mut sources: HashMap<(Kind, i64), Source> = HashMap::new();
        for kind in Kind::ALL {
            let ids: Vec<i64> = page.iter().filter(|h| h.0 == kind).map(|h| h.1).collect();
            for s in self.sources(kind, &ids).await? {
                sources.insert((kind, s.id), s);
            }
        }
        let items = page
            .into_iter()
            .filter_map(|(kind, id, score)| {
                let s = sources.remove(&(kind, id))?;
                let body = if s.body.trim().is_empty() {
                    s.title.clone()
                } else {
                    s.body.split_whitespace().collect::<Vec<_>>().join(" ")
                };
                Some(Hit {
                    kind,
                    id,
                    snippet: text::snippet(&body, query, SNIPPET),
                    code: s.code,
                    title: s.title,
                    customer_id: s.customer_id,
                    customer_name: s.customer_name,
                    status: s.status,
                    score,
                })
            })
            .collect();
        Ok(SearchResult {
            items,
            total: found.len() as i64,
            more,
        })
    }
}
