//! The audit trail (F28, 002§4.2C): append-only entries chained by SHA-256 over the previous
//! entry's hash, so that altering or deleting any row breaks the chain from there on.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry as stored. `before`/`after` are the JSON images of the record.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Entry {
    pub seq: i64,
    pub at: String,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub entity: String,
    pub entity_id: String,
    pub action: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub hash: String,
}

/// SHA-256 over the previous hash and every field, each length-prefixed so that no two
/// different entries encode the same bytes.
pub fn chain_hash(prev_hash: &str, e: &Entry) -> String {
    let mut h = Sha256::new();
    let seq = e.seq.to_string();
    let actor = e.actor_id.map(|a| a.to_string());
    let parts = [
        Some(prev_hash),
        Some(seq.as_str()),
        Some(e.at.as_str()),
        actor.as_deref(),
        Some(e.actor_name.as_str()),
        Some(e.entity.as_str()),
        Some(e.entity_id.as_str()),
        Some(e.action.as_str()),
        e.before.as_deref(),
        e.after.as_deref(),
    ];
    for part in parts {
        match part {
            None => h.update(b"-"),
            Some(s) => {
                h.update((s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            }
        }
    }
    hex::encode(h.finalize())
}

/// Where and why the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("entry {seq}: content does not match its hash (altered)")]
    Altered { seq: i64 },
    #[error("entry {expected} is missing (found {found} next)")]
    Missing { expected: i64, found: i64 },
    #[error("the chain ends at entry {last} but the head records entry {head} (entries deleted at the end)")]
    Truncated { last: i64, head: i64 },
    #[error("the head hash does not match entry {seq}")]
    HeadMismatch { seq: i64 },
    /// A business row differs from its last audited image: it was changed outside ReqLoop.
    #[error("{entity} {entity_id}: the stored row differs from its last audited state (changed outside ReqLoop)")]
    RecordAltered { entity: String, entity_id: String },
    /// Rows exist that the trail never recorded, or recorded rows are gone.
    #[error("{entity}: {rows} rows stored but the audit trail accounts for {audited}")]
    RecordCount {
        entity: String,
        rows: i64,
        audited: i64,
    },
}

/// Checks entries one at a time in `seq` order, so any number of them verify in flat memory.
#[derive(Debug)]
pub struct Verifier {
    prev_hash: String,
    next_seq: i64,
    checked: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            prev_hash: GENESIS.to_string(),
            next_seq: 1,
            checked: 0,
        }
    }
}

impl Verifier {
    pub fn check(&mut self, e: &Entry) -> Result<(), ChainBreak> {
        if e.seq != self.next_seq {
            return Err(ChainBreak::Missing {
                expected: self.next_seq,
                found: e.seq,
            });
        }
        if chain_hash(&self.prev_hash, e) != e.hash {
            return Err(ChainBreak::Altered { seq: e.seq });
        }
        self.prev_hash = e.hash.clone();
        self.next_seq += 1;
        self.checked += 1;
        Ok(())
    }

    /// Compares the end of the chain with the head row that every write updates.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> Result<u64, ChainBreak> {
        let last = self.next_seq - 1;
        if last != head_seq {
            return Err(ChainBreak::Truncated {
                last,
                head: head_seq,
            });
        }
        if self.prev_hash != head_hash {
            return Err(ChainBreak::HeadMismatch { seq: last });
        }
        Ok(self.checked)
    }
}

/// One changed field between two JSON images, for the history (履历) of a record.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldChange {
    /// Dotted path, e.g. `grade` or `confidential.credit_rating`.
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// The fields that differ between `before` and `after` (objects are compared field by field,
/// one level deep; bookkeeping fields are left out).
pub fn diff(before: &Value, after: &Value) -> Vec<FieldChange> {
    const SKIP: [&str; 3] = ["version", "updated_at", "created_at"];
    let empty = serde_json::Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = b
        .keys()
        .chain(a.keys())
        .filter(|k| !SKIP.contains(&k.as_str()))
        .collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for k in keys {
        let (bv, av) = (
            b.get(k).unwrap_or(&Value::Null),
            a.get(k).unwrap_or(&Value::Null),
        );
        if bv == av {
            continue;
        }
        if let (Some(_), Some(_)) = (bv.as_object(), av.as_object()) {
            for mut c in diff(bv, av) {
                c.field = format!("{k}.{}", c.field);
                out.push(c);
            }
        } else if bv.is_object() || av.is_object() {
            let (bo, ao) = (
                bv.as_object().cloned().unwrap_or_default(),
                av.as_object().cloned().unwrap_or_default(),
            );
            for mut c in diff(&Value::Object(bo), &Value::Object(ao)) {
                c.field = format!("{k}.{}", c.field);
                out.push(c);
            }
        } else {
            out.push(FieldChange {
                field: k.clone(),
                before: bv.clone(),
                after: av.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chain(n: i64) -> Vec<Entry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut e = Entry {
                    seq,
                    at: format!("2026-11-24T08:00:{seq:02}.000Z"),
                    actor_id: Some(1),
                    actor_name: "admin".into(),
                    entity: "customer".into(),
                    entity_id: seq.to_string(),
                    action: "update".into(),
                    before: Some(r#"{"grade":"B"}"#.into()),
                    after: Some(r#"{"grade":"A"}"#.into()),
                    hash: String::new(),
                };
                e.hash = chain_hash(&prev, &e);
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn verify(entries: &[Entry], head_seq: i64, head_hash: &str) -> Result<u64, ChainBreak> {
        let mut v = Verifier::default();
        for e in entries {
            v.check(e)?;
        }
        v.finish(head_seq, head_hash)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify(&c, 5, &c[4].hash), Ok(5));
        assert_eq!(verify(&[], 0, GENESIS), Ok(0));
    }

    #[test]
    fn an_altered_entry_is_named() {
        let mut c = chain(5);
        c[2].after = Some(r#"{"grade":"C"}"#.into());
        assert_eq!(
            verify(&c, 5, &c[4].hash.clone()),
            Err(ChainBreak::Altered { seq: 3 })
        );
    }

    #[test]
    fn a_deleted_entry_is_named() {
        let mut c = chain(5);
        c.remove(1);
        let last = c[3].hash.clone();
        assert_eq!(
            verify(&c, 5, &last),
            Err(ChainBreak::Missing {
                expected: 2,
                found: 3
            })
        );
    }

    #[test]
    fn deleting_the_last_entries_is_caught_by_the_head() {
        let c = chain(5);
        let head = c[4].hash.clone();
        assert_eq!(
            verify(&c[..3], 5, &head),
            Err(ChainBreak::Truncated { last: 3, head: 5 })
        );
    }

    #[test]
    fn a_rehashed_forgery_still_breaks_at_the_head() {
        // Someone alters entry 5 and recomputes its hash: the head no longer matches.
        let mut c = chain(5);
        let head = c[4].hash.clone();
        c[4].after = Some(r#"{"grade":"C"}"#.into());
        c[4].hash = chain_hash(&c[3].hash, &c[4]);
        assert_eq!(
            verify(&c, 5, &head),
            Err(ChainBreak::HeadMismatch { seq: 5 })
        );
    }

    #[test]
    fn hashes_separate_fields() {
        let c = chain(1);
        let mut moved = c[0].clone();
        moved.actor_name = "adminc".into();
        moved.entity = "ustomer".into();
        assert_ne!(chain_hash(GENESIS, &moved), c[0].hash);
    }

    #[test]
    fn diff_lists_changed_fields_with_paths() {
        let before = json!({"name": "恒远", "grade": "B", "version": 1, "confidential": {"credit_rating": "good"}});
        let after = json!({"name": "恒远", "grade": "A", "version": 2, "confidential": {"credit_rating": "poor"}});
        let d = diff(&before, &after);
        let fields: Vec<_> = d.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["confidential.credit_rating", "grade"]);
        assert_eq!(d[1].before, json!("B"));
        assert!(diff(&json!(null), &json!({"name": "x"}))
            .iter()
            .any(|c| c.field == "name"));
    }
}
