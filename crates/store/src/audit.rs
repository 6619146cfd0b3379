//! Reading and verifying the audit trail (F28). Entries are written only by `WriteTx::audit`.

use futures_util::TryStreamExt;
use reqloop_domain::audit::{ChainBreak, Entry, Verifier};
use serde::Deserialize;
use sqlx::FromRow;
use utoipa::IntoParams;

use crate::db::{bind_all, paging, Arg, Conditions};
use crate::{Page, Result, Store};

#[derive(FromRow)]
struct Row {
    seq: i64,
    at: String,
    actor_id: Option<i64>,
    actor_name: String,
    entity: String,
    entity_id: String,
    action: String,
    before_json: Option<String>,
    after_json: Option<String>,
    hash: String,
}

impl From<Row> for Entry {
    fn from(r: Row) -> Entry {
        Entry {
            seq: r.seq,
            at: r.at,
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            entity: r.entity,
            entity_id: r.entity_id,
            action: r.action,
            before: r.before_json,
            after: r.after_json,
            hash: r.hash,
        }
    }
}

const COLUMNS: &str =
    "seq, at, actor_id, actor_name, entity, entity_id, action, before_json, after_json, hash";

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<i64>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The outcome of `reqloop audit verify`.
#[derive(Debug)]
pub struct VerifyReport {
    pub entries: u64,
    pub result: Result<(), ChainBreak>,
}

impl Store {
    /// Audit entries, newest first.
    pub async fn list_audit(&self, f: &AuditFilter) -> Result<Page<Entry>> {
        let mut c = Conditions::default();
        if let Some(e) = &f.entity {
            c.push("entity = ?", [Arg::Text(e.clone())]);
        }
        if let Some(e) = &f.entity_id {
            c.push("entity_id = ?", [Arg::Text(e.clone())]);
        }
        if let Some(a) = f.actor_id {
            c.push("actor_id = ?", [Arg::Int(a)]);
        }
        let w = c.where_clause();
        let (total,): (i64,) = bind_all(
            sqlx::query_as(&format!("SELECT COUNT(*) FROM audit_log{w}")),
            &c.args,
        )
        .fetch_one(&self.pool)
        .await?;
        let (limit, offset) = paging(f.page, f.per_page);
        let n = c.next();
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log{w} ORDER BY seq DESC LIMIT ${n} OFFSET ${}",
            n + 1
        );
        let mut args = c.args.clone();
        args.extend([Arg::Int(limit), Arg::Int(offset)]);
        let rows: Vec<Row> = bind_all(sqlx::query_as(&sql), &args)
            .fetch_all(&self.pool)
            .await?;
        Ok(Page {
            items: rows.into_iter().map(Entry::from).collect(),
            total,
        })
    }

    /// Walks the whole chain in order, streaming, and compares its end with the head.
    pub async fn verify_audit(&self) -> Result<VerifyReport> {
        let mut tx = self.pool.begin().await?;
        let (head_seq, head_hash): (i64, String) =
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
        let mut v = Verifier::default();
        let sql = format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq");
        let result = {
            let mut rows = sqlx::query_as::<_, Row>(&sql).fetch(&mut *tx);
            let mut outcome = Ok(());
            while let Some(row) = rows.try_next().await? {
                if let Err(b) = v.check(&Entry::from(row)) {
                    outcome = Err(b);
                    break;
                }
            }
            outcome
        };
        tx.rollback().await?;
        Ok(match result {
            Err(b) => VerifyReport {
                entries: 0,
                result: Err(b),
            },
            Ok(()) => match v.finish(head_seq, &head_hash) {
                Ok(n) => VerifyReport {
                    entries: n,
                    result: Ok(()),
                },
                Err(b) => VerifyReport {
                    entries: 0,
                    result: Err(b),
                },
            },
        })
    }
}
