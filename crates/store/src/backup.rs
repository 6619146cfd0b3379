//! `reqloop backup` / `reqloop restore`: a consistent snapshot of every table as JSON lines,
//! taken in one read transaction while the server runs, restorable into an empty database of
//! either dialect.

use std::io::{BufRead, Write};

use futures_util::TryStreamExt;
use serde_json::{json, Value};
use sqlx::{Column, Row};

use crate::{Backend, Error, Result, Store};

/// Tables in an order that satisfies foreign keys (users.customer_id is restored in a second pass).
const TABLES: &[&str] = &[
    "departments",
    "users",
    "customers",
    "customer_team",
    "contacts",
    "projects",
    "project_members",
    "requirements",
    "requirement_items",
    "requirement_transitions",
    "requirement_outputs",
    "feedback_register",
    "work_standards",
    "control_points",
    "handoffs",
    "work_plan_entries",
    "review_rounds",
    "review_answers",
    "attachments",
    "requirement_departments",
    "contracts",
    "contract_versions",
    "contract_clauses",
    "clause_responses",
    "deviation_permits",
    "orders",
    "delivery_batches",
    "production_batches",
    "delivery_checks",
    "changes",
    "change_impacts",
    "change_items",
    "change_notices",
    "requirement_revisions",
    "process_audits",
    "process_audit_items",
    "complaints",
    "complaint_recusals",
    "complaint_files",
    "survey_tasks",
    "property",
    "property_uses",
    "property_reports",
    "property_incidents",
    "survey_templates",
    "survey_template_versions",
    "survey_campaigns",
    "survey_invitations",
    "survey_answers",
    "survey_daily",
    "survey_actions",
    "calendar_years",
    "sla_breaches",
    "warning_rules",
    "warnings",
    "warning_tally",
    "kpi_monthly",
    "grading_runs",
    "grading_candidates",
    "grade_history",
    "customer_volumes",
    "contact_tasks",
    "visits",
    "symposia",
    "symposium_attendees",
    "notifications",
    "notification_prefs",
    "webhooks",
    "deliveries",
    "notify_cursors",
    "api_tokens",
    "settings",
    "code_counters",
    "audit_log",
    "audit_head",
    "jobs",
];

/// Tables with an identity column whose sequence PostgreSQL must move past restored ids.
const IDENTITY_TABLES: &[&str] = &[
    "departments",
    "users",
    "customers",
    "contacts",
    "projects",
    "requirements",
    "requirement_items",
    "requirement_transitions",
    "requirement_outputs",
    "feedback_register",
    "work_standards",
    "control_points",
    "handoffs",
    "work_plan_entries",
    "review_rounds",
    "review_answers",
    "attachments",
    "contracts",
    "contract_versions",
    "contract_clauses",
    "deviation_permits",
    "orders",
    "delivery_batches",
    "production_batches",
    "changes",
    "process_audits",
    "complaints",
    "complaint_files",
    "survey_tasks",
    "property",
    "property_uses",
    "property_reports",
    "property_incidents",
    "survey_templates",
    "survey_campaigns",
    "survey_invitations",
    "survey_answers",
    "survey_actions",
    "sla_breaches",
    "warning_rules",
    "warnings",
    "grading_runs",
    "grade_history",
    "contact_tasks",
    "visits",
    "symposia",
    "symposium_attendees",
    "notifications",
    "webhooks",
    "deliveries",
    "api_tokens",
];

/// Columns that may point at rows restored later (portal users at customers, merged
/// requirements at later requirements, departments at their heads): restored as NULL, then set
/// in a second pass.
const LATE_LINKS: &[(&str, &str)] = &[
    ("users", "customer_id"),
    ("requirements", "merged_into"),
    ("departments", "head_id"),
];

/// Tables that a backup leaves out on purpose: ephemeral security state.
const NOT_BACKED_UP: &[&str] = &["sessions", "login_failures", "_sqlx_migrations"];
/// Derived tables a backup leaves out: the search index (and FTS5's own tables), rebuilt from
/// the records after a restore.
const DERIVED_PREFIX: &str = "search_";

impl Store {
    /// Tables of the schema that the backup does not cover (must be empty: a test checks).
    pub async fn tables_missing_from_backup(&self) -> Result<Vec<String>> {
        let sql = match self.backend() {
            Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            Backend::Postgres => "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
        };
        let names: Vec<String> = sqlx::query_scalar(sql).fetch_all(&self.pool).await?;
        Ok(names
            .into_iter()
            .filter(|n| {
                !TABLES.contains(&n.as_str())
                    && !NOT_BACKED_UP.contains(&n.as_str())
                    && !n.starts_with(DERIVED_PREFIX)
            })
            .collect())
    }
}

impl Store {
    /// Writes every table to `out`; returns the number of rows written.
    pub async fn backup(&self, out: &mut impl Write) -> Result<u64> {
        let io = |e: std::io::Error| Error::Other(format!("writing the backup: {e}"));
        let mut tx = self.pool.begin().await?;
        if self.backend() == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        writeln!(out, "{}", json!({"reqloop_backup": 1, "tables": TABLES})).map_err(io)?;
        let mut count = 0;
        for table in TABLES {
            let order = if *table == "audit_log" { "seq" } else { "1" };
            let sql = format!("SELECT * FROM {table} ORDER BY {order}");
            let mut rows = sqlx::query(&sql).fetch(&mut *tx);
            let mut wrote_columns = false;
            while let Some(row) = rows.try_next().await? {
                if !wrote_columns {
                    let cols: Vec<&str> = row.columns().iter().map(|c| c.name()).collect();
                    writeln!(out, "{}", json!({"table": table, "columns": cols})).map_err(io)?;
                    wrote_columns = true;
                }
                let values: Vec<Value> = (0..row.columns().len())
                    .map(|i| {
                        if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                            json!(v)
                        } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                            json!(v)
                        } else {
                            json!(row.try_get::<Option<String>, _>(i).ok().flatten())
                        }
                    })
                    .collect();
                writeln!(out, "{}", json!({"row": values})).map_err(io)?;
                count += 1;
            }
        }
        drop(tx);
        out.flush().map_err(io)?;
        Ok(count)
    }

    /// Loads a backup into this (freshly migrated, empty) database in one transaction.
    pub async fn restore(&self, input: impl BufRead) -> Result<u64> {
        let (users,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        let (audit,): (i64,) = sqlx::query_as("SELECT seq FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        if users > 0 || audit > 0 {
            return Err(Error::Other("restore needs an empty database".into()));
        }
        let bad = |what: &str| Error::Other(format!("not a ReqLoop backup: {what}"));
        let mut tx = self.pool.begin().await?;
        // The migrations seed rows that the backup brings back itself.
        for t in [
            "warning_rules",
            "control_points",
            "work_standards",
            "departments",
            "settings",
            "code_counters",
            "jobs",
            "audit_head",
        ] {
            sqlx::query(&format!("DELETE FROM {t}"))
                .execute(&mut *tx)
                .await?;
        }
        let mut lines = input.lines();
        let header: Value = serde_json::from_str(
            &lines
                .next()
                .ok_or_else(|| bad("empty"))?
                .map_err(|e| bad(&e.to_string()))?,
        )
        .map_err(|_| bad("header"))?;
        if header.get("reqloop_backup") != Some(&json!(1)) {
            return Err(bad("header"));
        }
        let mut insert = String::new();
        let mut table = String::new();
        let mut late_col = None;
        // PostgreSQL's type of each column, for binding NULLs: integer, floating or text.
        let mut kinds: Vec<&str> = Vec::new();
        let mut late_links: Vec<(String, i64, i64)> = Vec::new();
        let mut count = 0;
        for line in lines {
            let v: Value = serde_json::from_str(&line.map_err(|e| bad(&e.to_string()))?)
                .map_err(|_| bad("line"))?;
            if let Some(t) = v.get("table").and_then(Value::as_str) {
                if !TABLES.contains(&t) {
                    return Err(bad("unknown table"));
                }
                let cols: Vec<String> =
                    serde_json::from_value(v["columns"].clone()).map_err(|_| bad("columns"))?;
                if cols
                    .iter()
                    .any(|c| !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
                {
                    return Err(bad("column name"));
                }
                table = t.to_string();
                late_col = LATE_LINKS
                    .iter()
                    .find(|(lt, _)| *lt == t)
                    .and_then(|(_, col)| cols.iter().position(|c| c == col));
                kinds = if self.backend() == Backend::Postgres {
                    // PostgreSQL types a NULL parameter, so it must be bound as the column's type.
                    let types: Vec<(String, String)> = sqlx::query_as(
                        "SELECT column_name::text, data_type::text FROM information_schema.columns \
                         WHERE table_name = $1",
                    )
                    .bind(t)
                    .fetch_all(&mut *tx)
                    .await?;
                    cols.iter()
                        .map(|c| match types.iter().find(|(n, _)| n == c) {
                            Some((_, ty))
                                if matches!(ty.as_str(), "bigint" | "integer" | "smallint") =>
                            {
                                "int"
                            }
                            Some((_, ty)) if matches!(ty.as_str(), "double precision" | "real") => {
                                "float"
                            }
                            _ => "text",
                        })
                        .collect()
                } else {
                    vec!["text"; cols.len()]
                };
                let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
                insert = format!(
                    "INSERT INTO {t} ({}) VALUES ({})",
                    cols.join(", "),
                    marks.join(", ")
                );
                continue;
            }
            let mut row: Vec<Value> =
                serde_json::from_value(v["row"].clone()).map_err(|_| bad("row"))?;
            if let Some(i) = late_col {
                // A reference to a row restored later: set it in a second pass.
                if let (Some(target), Some(id)) = (row[i].as_i64(), row[0].as_i64()) {
                    late_links.push((table.clone(), id, target));
                    row[i] = Value::Null;
                }
            }
            let mut q = sqlx::query(&insert);
            for (i, value) in row.iter().enumerate() {
                q = match value {
                    Value::Null => match kinds.get(i) {
                        Some(&"int") => q.bind(None::<i64>),
                        Some(&"float") => q.bind(None::<f64>),
                        _ => q.bind(None::<String>),
                    },
                    Value::Number(n) => match n.as_i64() {
                        Some(v) => q.bind(v),
                        None => q.bind(n.as_f64().ok_or_else(|| bad("number"))?),
                    },
                    Value::String(s) => q.bind(s.clone()),
                    _ => return Err(bad("value")),
                };
            }
            q.execute(&mut *tx)
                .await
                .map_err(|e| Error::Other(format!("restoring {table}: {e}")))?;
            count += 1;
        }
        for (t, id, target) in late_links {
            let column = LATE_LINKS
                .iter()
                .find(|(lt, _)| *lt == t)
                .map_or("id", |(_, c)| c);
            sqlx::query(&format!("UPDATE {t} SET {column} = $1 WHERE id = $2"))
                .bind(target)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if self.backend() == Backend::Postgres {
            for t in IDENTITY_TABLES {
                sqlx::query(&format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', 'id'), COALESCE((SELECT MAX(id) FROM {t}), 0) + 1, false)"
                ))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        // The search index is derived: the next indexer pass rebuilds it from the records.
        self.reset_search().await?;
        Ok(count)
    }
}
