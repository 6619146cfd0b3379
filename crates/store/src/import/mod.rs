//! Import (F29, 003§6.2): a file of customers, contacts, requirements or orders goes in whole
//! or not at all. Rows stream in from the reader thread and are written in batches inside one
//! transaction; every row is checked (its cells, its key, what it refers to) and every problem
//! reported with its row and column. Any problem and the transaction is rolled back: nothing
//! was written. A row whose key is already on file is left as it is, so importing the same file
//! twice changes nothing.

mod read;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use reqloop_domain::access::{self, Actor};
use reqloop_domain::import::{
    self, CellError, ContactRow, CustomerRow, Header, ImportKind, Labels, OrderRow, RequirementRow,
    Row,
};
use reqloop_domain::requirement::Stage;
use serde::Serialize;
use utoipa::ToSchema;

pub use read::{spawn as read_file, Feed, Format};

use crate::db::{bind_all, customer_scope, Arg, Conditions, WriteTx, MAX_PARAMS};
use crate::{Error, Result, Store, Who};

/// Rows checked and written together.
const BATCH: usize = 1000;
/// Problems listed in a report; past these they are only counted.
pub const MAX_REPORTED: usize = 1000;

/// One problem: the row (1 is the header; 0 the file as a whole), the column's header label
/// key when it is one cell, an i18n code (`err.<code>`) and the value or hint it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    pub row: u64,
    pub column: Option<&'static str>,
    pub code: &'static str,
    pub detail: String,
}

impl From<CellError> for Problem {
    fn from(e: CellError) -> Self {
        Problem {
            row: e.row,
            column: e.column,
            code: e.code,
            detail: e.detail,
        }
    }
}

/// What an import did: rows read, records created, rows left alone because their key was
/// already on file, and the problems (none when it was written).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    pub kind: ImportKind,
    pub rows: u64,
    pub created: u64,
    pub unchanged: u64,
    /// The first [`MAX_REPORTED`] problems.
    pub problems: Vec<Problem>,
    pub problem_count: u64,
    /// True when the records were written; false when a problem rolled everything back.
    pub written: bool,
}

impl ImportReport {
    fn problem(&mut self, p: impl Into<Problem>) {
        self.problem_count += 1;
        if self.problems.len() < MAX_REPORTED {
            self.problems.push(p.into());
        }
    }
}

impl Store {
    /// Imports the rows of `feed` (the first row is the header) as records of `kind`.
    pub async fn import(
        &self,
        actor: &Actor,
        kind: ImportKind,
        mut feed: Feed,
        labels: Labels<'_>,
        now: DateTime<Utc>,
    ) -> Result<ImportReport> {
        actor
            .require(access::import_action(kind))
            .map_err(|_| Error::Forbidden("import"))?;
        let plan = match kind {
            ImportKind::Requirements => Some(self.plan_stage(None, Stage::Identification).await?),
            _ => None,
        };
        let mut run = Run {
            store: self,
            actor,
            now,
            plan,
            max_before: 0,
            report: ImportReport {
                kind,
                rows: 0,
                created: 0,
                unchanged: 0,
                problems: vec![],
                problem_count: 0,
                written: false,
            },
        };
        let mut tx = self.write(&Who::from(actor), now).await?;
        run.max_before = max_id(&mut tx, kind).await?;
        let mut header: Option<Header> = None;
        let mut pending: Vec<(u64, Row)> = Vec::with_capacity(BATCH);
        'feed: while let Some(chunk) = feed.recv().await {
            let rows = match chunk {
                Ok(rows) => rows,
                Err(e) => {
                    run.report.problem(e);
                    break;
                }
            };
            for (n, cells) in rows {
                let Some(h) = &header else {
                    match Header::read(kind, &cells, labels) {
                        Ok(h) => header = Some(h),
                        Err(errors) => {
                            for e in errors {
                                run.report.problem(e);
                            }
                            break 'feed;
                        }
                    }
                    continue;
                };
                if import::is_blank(&cells) {
                    continue;
                }
                run.report.rows += 1;
                match import::parse_row(h, n, &cells, labels) {
                    Ok(row) => pending.push((n, row)),
                    Err(errors) => errors.into_iter().for_each(|e| run.report.problem(e)),
                }
                if pending.len() >= BATCH {
                    run.batch(&mut tx, std::mem::take(&mut pending)).await?;
                }
            }
        }
        run.batch(&mut tx, pending).await?;
        if header.is_none() && run.report.problem_count == 0 {
            run.report.problem(Problem {
                row: 0,
                column: None,
                code: "import_empty",
                detail: String::new(),
            });
        } else if run.report.rows == 0 && run.report.problem_count == 0 {
            run.report.problem(Problem {
                row: 0,
                column: None,
                code: "import_no_rows",
                detail: String::new(),
            });
        }
        let mut report = run.report;
        if report.problem_count == 0 {
            tx.commit().await?;
            report.written = true;
        } else {
            // Dropping the transaction rolls it back: nothing of the file was written.
            drop(tx);
            report.created = 0;
        }
        Ok(report)
    }
}

/// The highest id of the kind's table before the import: a key found with a higher id was
/// written by this import, from an earlier row of the same file.
async fn max_id(tx: &mut WriteTx, kind: ImportKind) -> Result<i64> {
    let (id,): (i64,) =
        sqlx::query_as(&format!("SELECT COALESCE(MAX(id), 0) FROM {}", table(kind)))
            .fetch_one(&mut *tx.tx)
            .await?;
    Ok(id)
}

fn table(kind: ImportKind) -> &'static str {
    match kind {
        ImportKind::Customers => "customers",
        ImportKind::Contacts => "contacts",
        ImportKind::Requirements => "requirements",
        ImportKind::Orders => "orders",
    }
}

/// Adds `sql` with each `{}` replaced by `?, ?, …`, one text argument per value (bound again for
/// every `{}`).
fn text_list(c: &mut Conditions, sql: &str, values: &[&str]) {
    let marks = vec!["?"; values.len()].join(", ");
    let lists = sql.matches("{}").count();
    c.push(
        &sql.replace("{}", &marks),
        std::iter::repeat_n(values, lists)
            .flatten()
            .map(|v| Arg::Text(v.to_string())),
    );
}

struct Run<'a> {
    store: &'a Store,
    actor: &'a Actor,
    now: DateTime<Utc>,
    plan: Option<crate::handoffs::StagePlan>,
    max_before: i64,
    report: ImportReport,
}

impl Run<'_> {
    fn row_problem(
        &mut self,
        row: u64,
        column: Option<&'static str>,
        code: &'static str,
        detail: String,
    ) {
        self.report.problem(Problem {
            row,
            column,
            code,
            detail,
        });
    }

    /// Checks the keys of a batch and writes the rows that are new.
    async fn batch(&mut self, tx: &mut WriteTx, rows: Vec<(u64, Row)>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let kind = self.report.kind;
        let key_column = match kind {
            ImportKind::Orders => Some("import.order_number"),
            _ => Some("import.external_key"),
        };
        // Orders are keyed by their contract, which must be resolved first.
        let contracts = match kind {
            ImportKind::Orders => {
                let numbers: Vec<&str> = rows
                    .iter()
                    .filter_map(|(_, r)| match r {
                        Row::Order(o) => Some(o.contract.as_str()),
                        _ => None,
                    })
                    .collect();
                self.contracts(tx, &numbers).await?
            }
            _ => HashMap::new(),
        };
        let keyed: Vec<(u64, Row, String)> = rows
            .into_iter()
            .filter_map(|(n, row)| {
                let key = match &row {
                    Row::Order(o) => match contracts.get(&o.contract) {
                        Some(Ok((id, _))) => format!("{id}\u{1f}{}", o.fields.number),
                        Some(Err(code)) => {
                            self.row_problem(
                                n,
                                Some("import.contract_ref"),
                                code,
                                o.contract.clone(),
                            );
                            return None;
                        }
                        None => {
                            self.row_problem(
                                n,
                                Some("import.contract_ref"),
                                "import_unknown_contract",
                                o.contract.clone(),
                            );
                            return None;
                        }
                    },
                    other => other.key(),
                };
                Some((n, row, key))
            })
            .collect();
        let keys: Vec<&str> = keyed.iter().map(|(_, _, k)| k.as_str()).collect();
        let on_file = self.existing(tx, kind, &keys).await?;
        let mut seen: HashMap<String, u64> = HashMap::with_capacity(keyed.len());
        let mut fresh = Vec::with_capacity(keyed.len());
        for (n, row, key) in keyed {
            let shown = || match &row {
                Row::Order(o) => o.fields.number.clone(),
                _ => key.clone(),
            };
            if let Some(first) = seen.get(&key) {
                let detail = format!("{} ({first})", shown());
                self.row_problem(n, key_column, "import_duplicate_key", detail);
                continue;
            }
            seen.insert(key.clone(), n);
            match on_file.get(&key) {
                Some(id) if *id > self.max_before => {
                    self.row_problem(n, key_column, "import_duplicate_key", shown());
                }
                Some(_) => self.report.unchanged += 1,
                None => fresh.push((n, row)),
            }
        }
        match kind {
            ImportKind::Customers => self.customers(tx, fresh).await,
            ImportKind::Contacts => self.contacts(tx, fresh).await,
            ImportKind::Requirements => self.requirements(tx, fresh).await,
            ImportKind::Orders => self.orders(tx, fresh, &contracts).await,
        }
    }

    /// Which keys are already on file, with the id of their record.
    async fn existing(
        &self,
        tx: &mut WriteTx,
        kind: ImportKind,
        keys: &[&str],
    ) -> Result<HashMap<String, i64>> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(MAX_PARAMS) {
            let mut c = Conditions::default();
            let rows: Vec<(String, i64)> = match kind {
                // The key of an order is "contract id \u{1f} number".
                ImportKind::Orders => {
                    let contracts: HashSet<i64> = chunk
                        .iter()
                        .filter_map(|k| k.split_once('\u{1f}')?.0.parse().ok())
                        .collect();
                    let numbers: Vec<&str> = chunk
                        .iter()
                        .filter_map(|k| Some(k.split_once('\u{1f}')?.1))
                        .collect();
                    c.push(
                        &format!("contract_id IN ({})", crate::db::id_list(contracts)),
                        [],
                    );
                    text_list(&mut c, "number IN ({})", &numbers);
                    let sql = format!(
                        "SELECT contract_id, number, id FROM orders{}",
                        c.where_clause()
                    );
                    bind_all(sqlx::query_as::<_, (i64, String, i64)>(&sql), &c.args)
                        .fetch_all(&mut *tx.tx)
                        .await?
                        .into_iter()
                        .map(|(c, n, id)| (format!("{c}\u{1f}{n}"), id))
                        .collect()
                }
                _ => {
                    text_list(&mut c, "external_key IN ({})", chunk);
                    let sql = format!(
                        "SELECT external_key, id FROM {}{}",
                        table(kind),
                        c.where_clause()
                    );
                    bind_all(sqlx::query_as(&sql), &c.args)
                        .fetch_all(&mut *tx.tx)
                        .await?
                }
            };
            found.extend(rows);
        }
        Ok(found)
    }

    /// Customers referred to by their code or external key, among those the actor sees.
    async fn customers_by_ref(
        &self,
        tx: &mut WriteTx,
        refs: &[&str],
    ) -> Result<HashMap<String, i64>> {
        let mut distinct = refs.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        let mut found = HashMap::new();
        for chunk in distinct.chunks(MAX_PARAMS / 2) {
            let mut c = Conditions::default();
            text_list(&mut c, "(code IN ({}) OR external_key IN ({}))", chunk);
            c.push("archived = 0", []);
            customer_scope(&mut c, self.actor, "id");
            let rows: Vec<(i64, String, Option<String>)> = bind_all(
                sqlx::query_as(&format!(
                    "SELECT id, code, external_key FROM customers{}",
                    c.where_clause()
                )),
                &c.args,
            )
            .fetch_all(&mut *tx.tx)
            .await?;
            for (id, code, key) in rows {
                found.insert(code, id);
                if let Some(k) = key {
                    found.entry(k).or_insert(id);
                }
            }
        }
        Ok(found)
    }

    /// Contracts by number among the customers the actor sees: (id, version in force), or why
    /// the number does not name one.
    async fn contracts(
        &self,
        tx: &mut WriteTx,
        numbers: &[&str],
    ) -> Result<HashMap<String, std::result::Result<(i64, i64), &'static str>>> {
        let mut found: HashMap<String, std::result::Result<(i64, i64), &'static str>> =
            HashMap::new();
        let mut distinct: Vec<&str> = numbers.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        for chunk in distinct.chunks(MAX_PARAMS) {
            let mut c = Conditions::default();
            text_list(&mut c, "number IN ({})", chunk);
            customer_scope(&mut c, self.actor, "customer_id");
            let rows: Vec<(i64, String, i64)> = bind_all(
                sqlx::query_as(&format!(
                    "SELECT id, number, current_version FROM contracts{}",
                    c.where_clause()
                )),
                &c.args,
            )
            .fetch_all(&mut *tx.tx)
            .await?;
            for (id, number, version) in rows {
                let entry = found.entry(number).or_insert(Ok((id, version)));
                if entry.as_ref().is_ok_and(|(other, _)| *other != id) {
                    // The same number at two customers: the file must say which.
                    *entry = Err("import_ambiguous_contract");
                }
            }
        }
        Ok(found)
    }

    /// Maps a refusal of the write path to the row's cells.
    fn refused(&mut self, n: u64, e: Error) -> Result<()> {
        let kind = self.report.kind;
        let column = |field: &str| {
            let field = match field {
                "account_manager_id" => "account_manager",
                f => f,
            };
            kind.columns()
                .iter()
                .find(|c| c.field == field)
                .map(|c| c.label)
        };
        match e {
            Error::Invalid(errors) => {
                for f in errors.0 {
                    self.row_problem(n, column(&f.field), f.code, String::new());
                }
                Ok(())
            }
            Error::Forbidden(code) => {
                self.row_problem(n, None, code, String::new());
                Ok(())
            }
            Error::Duplicate(field) => {
                self.row_problem(n, column(field), "import_duplicate_key", String::new());
                Ok(())
            }
            other => Err(other),
        }
    }

    async fn customers(&mut self, tx: &mut WriteTx, rows: Vec<(u64, Row)>) -> Result<()> {
        let managers: Vec<String> = rows
            .iter()
            .filter_map(|(_, r)| match r {
                Row::Customer(c) => c.account_manager.clone(),
                _ => None,
            })
            .collect();
        let users = self.users_by_name(tx, &managers).await?;
        for (n, row) in rows {
            let Row::Customer(CustomerRow {
                key,
                mut fields,
                account_manager,
            }) = row
            else {
                continue;
            };
            if let Some(name) = account_manager {
                match users.get(&name) {
                    Some(id) => fields.account_manager_id = Some(reqloop_domain::ids::UserId(*id)),
                    None => {
                        self.row_problem(n, Some("customer.account_manager"), "unknown_user", name);
                        continue;
                    }
                }
            }
            match self
                .store
                .insert_customer(tx, self.actor, fields, Some(key), self.now)
                .await
            {
                Ok(_) => self.report.created += 1,
                Err(e) => self.refused(n, e)?,
            }
        }
        Ok(())
    }

    async fn users_by_name(
        &self,
        tx: &mut WriteTx,
        names: &[String],
    ) -> Result<HashMap<String, i64>> {
        let mut distinct: Vec<&str> = names.iter().map(String::as_str).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let mut found = HashMap::new();
        for chunk in distinct.chunks(MAX_PARAMS) {
            let mut c = Conditions::default();
            text_list(&mut c, "username IN ({})", chunk);
            let rows: Vec<(String, i64)> = bind_all(
                sqlx::query_as(&format!(
                    "SELECT username, id FROM users{}",
                    c.where_clause()
                )),
                &c.args,
            )
            .fetch_all(&mut *tx.tx)
            .await?;
            found.extend(rows);
        }
        Ok(found)
    }

    /// The customer each row refers to, or a problem on the row.
    async fn resolve(
        &mut self,
        tx: &mut WriteTx,
        rows: &[(u64, String)],
    ) -> Result<Vec<Option<reqloop_domain::ids::CustomerId>>> {
        let refs: Vec<&str> = rows.iter().map(|(_, r)| r.as_str()).collect();
        let customers = self.customers_by_ref(tx, &refs).await?;
        Ok(rows
            .iter()
            .map(|(n, r)| match customers.get(r) {
                Some(id) => Some(reqloop_domain::ids::CustomerId(*id)),
                None => {
                    self.row_problem(
                        *n,
                        Some("import.customer_ref"),
                        "import_unknown_customer",
                        r.clone(),
                    );
                    None
                }
            })
            .collect())
    }

    async fn contacts(&mut self, tx: &mut WriteTx, rows: Vec<(u64, Row)>) -> Result<()> {
        let rows: Vec<(u64, ContactRow)> = rows
            .into_iter()
            .filter_map(|(n, r)| match r {
                Row::Contact(c) => Some((n, c)),
                _ => None,
            })
            .collect();
        let refs: Vec<(u64, String)> = rows.iter().map(|(n, c)| (*n, c.customer.clone())).collect();
        let customers = self.resolve(tx, &refs).await?;
        for ((_, c), customer) in rows.into_iter().zip(customers) {
            if let Some(customer) = customer {
                crate::customers::insert_contact(tx, customer, c.fields, Some(c.key)).await?;
                self.report.created += 1;
            }
        }
        Ok(())
    }

    async fn requirements(&mut self, tx: &mut WriteTx, rows: Vec<(u64, Row)>) -> Result<()> {
        let rows: Vec<(u64, RequirementRow)> = rows
            .into_iter()
            .filter_map(|(n, r)| match r {
                Row::Requirement(r) => Some((n, r)),
                _ => None,
            })
            .collect();
        let refs: Vec<(u64, String)> = rows.iter().map(|(n, r)| (*n, r.customer.clone())).collect();
        let customers = self.resolve(tx, &refs).await?;
        let new: Vec<_> = rows
            .into_iter()
            .zip(customers)
            .filter_map(|((_, mut r), customer)| {
                r.fields.customer_id = customer?;
                Some((r.fields, Some(r.key)))
            })
            .collect();
        let Some(plan) = &self.plan else {
            return Ok(());
        };
        let created =
            crate::requirements::insert_requirements(tx, self.actor, plan, new, self.now).await?;
        self.report.created += created.len() as u64;
        Ok(())
    }

    async fn orders(
        &mut self,
        tx: &mut WriteTx,
        rows: Vec<(u64, Row)>,
        contracts: &HashMap<String, std::result::Result<(i64, i64), &'static str>>,
    ) -> Result<()> {
        for (n, row) in rows {
            let Row::Order(OrderRow { contract, fields }) = row else {
                continue;
            };
            let Some(Ok((id, version))) = contracts.get(&contract) else {
                continue;
            };
            match crate::orders::insert_order(tx, self.actor, *id, *version, &fields).await {
                Ok(_) => self.report.created += 1,
                Err(e) => self.refused(n, e)?,
            }
        }
        Ok(())
    }
}
