//! Reading and verifying the audit trail (F28). Entries are written only by `WriteTx::audit`.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use reqloop_domain::audit::{ChainBreak, Entry, Verifier};
use serde::Deserialize;
use sqlx::FromRow;
use utoipa::IntoParams;

use crate::db::{Arg, Conditions};
use crate::{Error, Page, Result, Store};

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
    /// Audit entries whose chain was checked.
    pub entries: u64,
    /// Records whose current row was compared with their last audited image.
    pub records: u64,
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
        let (rows, total): (Vec<Row>, i64) = self
            .fetch_page("audit_log", COLUMNS, &c, "seq DESC", f.page, f.per_page)
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
        let broken = |b| VerifyReport {
            entries: 0,
            records: 0,
            result: Err(b),
        };
        if let Err(b) = result {
            return Ok(broken(b));
        }
        let entries = match v.finish(head_seq, &head_hash) {
            Ok(n) => n,
            Err(b) => return Ok(broken(b)),
        };
        Ok(match self.verify_records().await? {
            Ok(records) => VerifyReport {
                entries,
                records,
                result: Ok(()),
            },
            Err(b) => VerifyReport {
                entries,
                records: 0,
                result: Err(b),
            },
        })
    }
}

/// How many records of one kind are checked per round trip.
const RECORD_PAGE: i64 = 500;

impl Store {
    /// Compares every audited record's current row with its last audited image, page by page,
    /// so that a row edited by hand in the database (bypassing ReqLoop) is found.
    async fn verify_records(&self) -> Result<Result<u64, ChainBreak>> {
        let mut checked = 0;
        for entity in ["customer", "contact", "user", "requirement"] {
            let mut after_id = 0;
            loop {
                let current = self.current_images(entity, after_id).await?;
                let Some((last, _)) = current.last() else {
                    break;
                };
                after_id = *last;
                let ids: Vec<String> = current.iter().map(|(id, _)| id.to_string()).collect();
                let audited = self.latest_images(entity, &ids).await?;
                for (id, image) in &current {
                    let expected = audited.get(&id.to_string()).and_then(|a| a.as_ref());
                    if !expected.is_some_and(|e| same_record(e, image)) {
                        return Ok(Err(ChainBreak::RecordAltered {
                            entity: entity.into(),
                            entity_id: id.to_string(),
                        }));
                    }
                    checked += 1;
                }
            }
            let table = table_of(entity);
            let (rows,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&self.pool)
                .await?;
            let (audited,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM audit_log a WHERE entity = $1 AND after_json IS NOT NULL \
                 AND seq = (SELECT MAX(seq) FROM audit_log b WHERE b.entity = a.entity AND b.entity_id = a.entity_id \
                            AND b.action <> 'login')",
            )
            .bind(entity)
            .fetch_one(&self.pool)
            .await?;
            if rows != audited {
                return Ok(Err(ChainBreak::RecordCount {
                    entity: entity.into(),
                    rows,
                    audited,
                }));
            }
        }
        Ok(Ok(checked))
    }

    /// The JSON images of up to one page of current rows with id > `after_id`, as the writes
    /// recorded them.
    async fn current_images(
        &self,
        entity: &str,
        after_id: i64,
    ) -> Result<Vec<(i64, serde_json::Value)>> {
        let images = match entity {
            "customer" => self
                .customers_after(after_id, RECORD_PAGE)
                .await?
                .into_iter()
                .map(|c| (c.id.0, serde_json::to_value(c)))
                .collect::<Vec<_>>(),
            "contact" => self
                .contacts_after(after_id, RECORD_PAGE)
                .await?
                .into_iter()
                .map(|c| (c.id.0, serde_json::to_value(c)))
                .collect(),
            "requirement" => self
                .requirements_after(after_id, RECORD_PAGE)
                .await?
                .into_iter()
                .map(|r| (r.id, serde_json::to_value(r)))
                .collect(),
            _ => self
                .users_after(after_id, RECORD_PAGE)
                .await?
                .into_iter()
                .map(|u| (u.id.0, serde_json::to_value(u)))
                .collect(),
        };
        images
            .into_iter()
            .map(|(id, v)| v.map(|v| (id, v)).map_err(|e| Error::Other(e.to_string())))
            .collect()
    }

    /// The last audited after-image (None when the last action deleted it) of each id.
    async fn latest_images(
        &self,
        entity: &str,
        ids: &[String],
    ) -> Result<HashMap<String, Option<serde_json::Value>>> {
        let marks: Vec<String> = (2..ids.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT entity_id, after_json FROM audit_log a WHERE entity = $1 AND entity_id IN ({}) \
             AND seq = (SELECT MAX(seq) FROM audit_log b WHERE b.entity = a.entity AND b.entity_id = a.entity_id AND b.action <> 'login')",
            marks.join(", ")
        );
        let mut q = sqlx::query_as::<_, (String, Option<String>)>(&sql).bind(entity);
        for id in ids {
            q = q.bind(id.as_str());
        }
        Ok(q.fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|(id, after)| (id, after.and_then(|a| serde_json::from_str(&a).ok())))
            .collect())
    }
}

/// Whether a current row matches its last audited image: every field of the image equals the
/// row's. Fields the image lacks were added by a later migration (with their default) after the
/// image was written, so an upgraded database still verifies.
fn same_record(audited: &serde_json::Value, current: &serde_json::Value) -> bool {
    match (audited, current) {
        (serde_json::Value::Object(a), serde_json::Value::Object(c)) => {
            a.iter().all(|(k, v)| c.get(k) == Some(v))
        }
        (a, c) => a == c,
    }
}

fn table_of(entity: &str) -> &'static str {
    match entity {
        "customer" => "customers",
        "contact" => "contacts",
        "requirement" => "requirements",
        _ => "users",
    }
}
