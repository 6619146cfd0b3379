//! The customer archive (F1): customers, their key-account team and contacts.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use reqloop_domain::access::{self, Actor, CustomerScope};
use reqloop_domain::audit::{self, FieldChange};
use reqloop_domain::coding::{self, CodeFacts};
use reqloop_domain::customer::{
    Confidential, Contact, ContactFields, Customer, CustomerFields, CustomerPatch, Grade, Tier,
};
use reqloop_domain::ids::{ContactId, CustomerId, DepartmentId, UserId};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, Row as _};
use utoipa::{IntoParams, ToSchema};

use crate::db::{bind_all, customer_scope, Arg, Conditions, WriteTx};
use crate::{Error, Page, Result, Store, Who};

const COLUMNS: &str = "id, version, code, name, short_name, industry, application, province, city, \
    address, phone, company_size, business_status, annual_revenue, grade, tier, account_manager_id, \
    tags, risk_flags, remarks, credit_rating, financial_status, archived, created_at, updated_at, external_key";

#[derive(FromRow)]
struct Row {
    id: i64,
    version: i64,
    code: String,
    name: String,
    short_name: String,
    industry: String,
    application: String,
    province: String,
    city: String,
    address: String,
    phone: String,
    company_size: Option<String>,
    business_status: String,
    annual_revenue: i64,
    grade: String,
    tier: String,
    account_manager_id: Option<i64>,
    tags: String,
    risk_flags: String,
    remarks: String,
    credit_rating: Option<String>,
    financial_status: String,
    archived: i64,
    created_at: String,
    updated_at: String,
    external_key: Option<String>,
}

fn corrupt(what: &str) -> Error {
    Error::Other(format!("stored customer has an invalid {what}"))
}

fn parse_opt<T: std::str::FromStr>(v: Option<String>, what: &str) -> Result<Option<T>> {
    v.map(|s| s.parse().map_err(|_| corrupt(what))).transpose()
}

impl Row {
    fn into_customer(self, team: Vec<UserId>) -> Result<Customer> {
        Ok(Customer {
            id: CustomerId(self.id),
            version: self.version,
            code: self.code,
            external_key: self.external_key,
            fields: CustomerFields {
                name: self.name,
                short_name: self.short_name,
                industry: self.industry,
                application: self.application,
                province: self.province,
                city: self.city,
                address: self.address,
                phone: self.phone,
                company_size: parse_opt(self.company_size, "size")?,
                business_status: self
                    .business_status
                    .parse()
                    .map_err(|_| corrupt("status"))?,
                annual_revenue: self.annual_revenue,
                grade: self.grade.parse().map_err(|_| corrupt("grade"))?,
                tier: self.tier.parse().map_err(|_| corrupt("tier"))?,
                account_manager_id: self.account_manager_id.map(UserId),
                team,
                tags: serde_json::from_str(&self.tags).map_err(|_| corrupt("tags"))?,
                risk_flags: serde_json::from_str(&self.risk_flags)
                    .map_err(|_| corrupt("risk flags"))?,
                remarks: self.remarks,
                confidential: Some(Confidential {
                    credit_rating: parse_opt(self.credit_rating, "credit rating")?,
                    financial_status: self.financial_status,
                }),
            },
            archived: self.archived != 0,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// List filters of `/customers` (every one has an index).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomerFilter {
    /// Part of the name, short name or code.
    pub q: Option<String>,
    pub grade: Option<Grade>,
    pub tier: Option<Tier>,
    pub industry: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub account_manager_id: Option<i64>,
    /// Include archived customers (default: only active ones).
    pub archived: Option<bool>,
    /// `code`, `name`, `grade`, `tier`, `industry`, `province`, `annual_revenue`, `updated_at`;
    /// prefix `-` for descending. Default: grade, then code (A first).
    pub sort: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The sortable columns; anything else is refused, so no user text reaches ORDER BY.
fn order_by(sort: Option<&str>) -> Result<String> {
    let Some(sort) = sort.filter(|s| !s.is_empty()) else {
        return Ok("grade, code".into());
    };
    let (desc, key) = match sort.strip_prefix('-') {
        Some(k) => (true, k),
        None => (false, sort),
    };
    let column = match key {
        "code" | "name" | "grade" | "industry" | "province" | "annual_revenue" | "updated_at" => {
            key
        }
        "tier" => {
            "CASE tier WHEN 'strategic' THEN 0 WHEN 'key' THEN 1 WHEN 'general' THEN 2 ELSE 3 END"
        }
        _ => return Err(Error::field("sort", "sort")),
    };
    Ok(format!(
        "{column} {}, id",
        if desc { "DESC" } else { "ASC" }
    ))
}

/// seq, at, actor, action, before, after
type AuditRow = (i64, String, String, String, Option<String>, Option<String>);

/// One entry of a customer's history (履历): who changed which fields when.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub seq: i64,
    pub at: String,
    pub actor_name: String,
    pub action: String,
    pub changes: Vec<FieldChange>,
}

impl Store {
    /// The customers the actor may see, filtered, sorted and paged.
    pub async fn list_customers(
        &self,
        actor: &Actor,
        f: &CustomerFilter,
    ) -> Result<Page<Customer>> {
        let mut c = Conditions::default();
        customer_scope(&mut c, actor, "id");
        if !f.archived.unwrap_or(false) {
            c.push("archived = 0", []);
        }
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let pattern = format!(
                "%{}%",
                q.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            let like = self.like();
            c.push(
                &format!("(name {like} ? ESCAPE '\\' OR short_name {like} ? ESCAPE '\\' OR code {like} ? ESCAPE '\\')"),
                [Arg::Text(pattern.clone()), Arg::Text(pattern.clone()), Arg::Text(pattern)],
            );
        }
        if let Some(g) = f.grade {
            c.push("grade = ?", [Arg::Text(g.as_str().into())]);
        }
        if let Some(t) = f.tier {
            c.push("tier = ?", [Arg::Text(t.as_str().into())]);
        }
        for (column, value) in [
            ("industry", &f.industry),
            ("province", &f.province),
            ("city", &f.city),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                c.push(&format!("{column} = ?"), [Arg::Text(v.to_string())]);
            }
        }
        if let Some(m) = f.account_manager_id {
            c.push("account_manager_id = ?", [Arg::Int(m)]);
        }
        let order = order_by(f.sort.as_deref())?;
        let (rows, total): (Vec<Row>, i64) = self
            .fetch_page("customers", COLUMNS, &c, &order, f.page, f.per_page)
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut teams = self.teams(&ids).await?;
        let items = rows
            .into_iter()
            .map(|r| {
                let team = teams.remove(&r.id).unwrap_or_default();
                r.into_customer(team)
                    .map(|c| access::redact_customer(actor, c))
            })
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    /// The key-account teams of several customers in one query (no N+1).
    async fn teams(&self, ids: &[i64]) -> Result<HashMap<i64, Vec<UserId>>> {
        let mut map: HashMap<i64, Vec<UserId>> = HashMap::new();
        if ids.is_empty() {
            return Ok(map);
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT customer_id, user_id FROM customer_team WHERE customer_id IN ({}) ORDER BY customer_id, user_id",
            placeholders.join(", ")
        );
        let mut q = sqlx::query_as::<_, (i64, i64)>(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        for (c, u) in q.fetch_all(&self.pool).await? {
            map.entry(c).or_default().push(UserId(u));
        }
        Ok(map)
    }

    /// One customer inside the actor's scope; `NotFound` outside it, so existence does not leak.
    pub async fn get_customer(&self, actor: &Actor, id: CustomerId) -> Result<Customer> {
        let c = self.load_customer_scoped(actor, id).await?;
        Ok(access::redact_customer(actor, c))
    }

    async fn load_customer_scoped(&self, actor: &Actor, id: CustomerId) -> Result<Customer> {
        let mut c = Conditions::default();
        c.push("id = ?", [Arg::Int(id.0)]);
        customer_scope(&mut c, actor, "id");
        let sql = format!("SELECT {COLUMNS} FROM customers{}", c.where_clause());
        let row: Row = bind_all(sqlx::query_as(&sql), &c.args)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound)?;
        let team = self
            .teams(&[row.id])
            .await?
            .remove(&row.id)
            .unwrap_or_default();
        row.into_customer(team)
    }

    /// Checks account manager and team exist and that the write keeps the customer in scope.
    async fn check_assignment(
        &self,
        tx: &mut WriteTx,
        actor: &Actor,
        f: &CustomerFields,
        confidential_sent: bool,
    ) -> Result<()> {
        let mut manager_department = None;
        if let Some(m) = f.account_manager_id {
            let dept: Option<(Option<i64>,)> = sqlx::query_as(
                "SELECT department_id FROM users WHERE id = $1 AND role <> 'portal' AND active = 1",
            )
            .bind(m.0)
            .fetch_optional(&mut *tx.tx)
            .await?;
            let Some((d,)) = dept else {
                return Err(Error::field("account_manager_id", "unknown_user"));
            };
            manager_department = d.map(DepartmentId);
        }
        for u in &f.team {
            let found: Option<(i64,)> =
                sqlx::query_as("SELECT id FROM users WHERE id = $1 AND role <> 'portal'")
                    .bind(u.0)
                    .fetch_optional(&mut *tx.tx)
                    .await?;
            if found.is_none() {
                return Err(Error::field("team", "unknown_user"));
            }
        }
        access::check_customer_write(actor, f, confidential_sent, manager_department).map_err(|e| {
            match e {
                access::AssignmentError::OutOfScope => Error::Forbidden("out_of_scope"),
                access::AssignmentError::Confidential => Error::Forbidden("confidential"),
            }
        })
    }

    /// The next code from the configured coding rule, counted per prefix in the same transaction.
    async fn next_code(
        &self,
        tx: &mut WriteTx,
        f: &CustomerFields,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let rule = self
            .setting_in(tx, "customer_code_rule")
            .await?
            .unwrap_or_else(|| coding::DEFAULT_RULE.to_string());
        code_in(tx, &rule, f.grade, f.tier, &f.province, now).await
    }

    pub async fn create_customer(
        &self,
        actor: &Actor,
        mut f: CustomerFields,
        now: DateTime<Utc>,
    ) -> Result<Customer> {
        f.validate()?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let customer = self.insert_customer(&mut tx, actor, f, None, now).await?;
        tx.commit().await?;
        Ok(access::redact_customer(actor, customer))
    }

    /// A new customer inside `tx`: its manager and team checked, its code from the coding
    /// rule, its audit entry. `f` is valid.
    pub(crate) async fn insert_customer(
        &self,
        tx: &mut WriteTx,
        actor: &Actor,
        mut f: CustomerFields,
        external_key: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Customer> {
        if f.account_manager_id.is_none()
            && access::customer_scope(actor) == CustomerScope::Managed(actor.user_id)
        {
            // Someone who sees only their own customers creates one for themselves.
            f.account_manager_id = Some(actor.user_id);
        }
        let confidential_sent = f.confidential.is_some();
        self.check_assignment(tx, actor, &f, confidential_sent)
            .await?;
        let code = self.next_code(tx, &f, now).await?;
        let conf = f.confidential.clone().unwrap_or_default();
        let at = tx.at.clone();
        let insert = sqlx::query(
            "INSERT INTO customers (code, name, short_name, industry, application, province, city, address, phone, \
             company_size, business_status, annual_revenue, grade, tier, account_manager_id, tags, risk_flags, remarks, \
             credit_rating, financial_status, created_at, updated_at, external_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21, $22) \
             RETURNING id",
        );
        let id: i64 = bind_fields(insert, &code, &f, &conf, &at)
            .bind(&external_key)
            .fetch_one(&mut *tx.tx)
            .await
            .map_err(crate::db::unique("code"))?
            .try_get(0)?;
        replace_team(tx, id, &f.team).await?;
        let customer = Customer {
            id: CustomerId(id),
            version: 1,
            code,
            external_key,
            fields: CustomerFields {
                confidential: Some(conf),
                ..f
            },
            archived: false,
            created_at: at.clone(),
            updated_at: at,
        };
        tx.audit("customer", id, "create", None, Some(&customer))
            .await?;
        Ok(customer)
    }

    /// Applies a patch at the version the client read; `Stale` (409) when it moved on.
    pub async fn update_customer(
        &self,
        actor: &Actor,
        id: CustomerId,
        patch: CustomerPatch,
        now: DateTime<Utc>,
    ) -> Result<Customer> {
        let before = self.load_customer_scoped(actor, id).await?;
        if before.archived {
            return Err(Error::Rule("archived"));
        }
        if patch.version != before.version {
            return Err(Error::Stale);
        }
        let confidential_sent = patch.confidential.is_some();
        let mut f = patch.apply(before.fields.clone());
        if !confidential_sent {
            f.confidential = before.fields.confidential.clone();
        }
        f.validate()?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        self.check_assignment(&mut tx, actor, &f, confidential_sent)
            .await?;
        // The code shows the grade (F1): a new grade or region gives a new code.
        let code = if f.grade != before.fields.grade
            || f.tier != before.fields.tier
            || f.province != before.fields.province
        {
            self.next_code(&mut tx, &f, now).await?
        } else {
            before.code.clone()
        };
        let conf = f.confidential.clone().unwrap_or_default();
        let at = tx.at.clone();
        let update = sqlx::query(
            "UPDATE customers SET code = $1, name = $2, short_name = $3, industry = $4, application = $5, province = $6, \
             city = $7, address = $8, phone = $9, company_size = $10, business_status = $11, annual_revenue = $12, \
             grade = $13, tier = $14, account_manager_id = $15, tags = $16, risk_flags = $17, remarks = $18, \
             credit_rating = $19, financial_status = $20, updated_at = $21, version = version + 1 \
             WHERE id = $22 AND version = $23",
        );
        let updated = bind_fields(update, &code, &f, &conf, &at)
            .bind(id.0)
            .bind(before.version)
            .execute(&mut *tx.tx)
            .await
            .map_err(crate::db::unique("code"))?;
        if updated.rows_affected() == 0 {
            return Err(Error::Stale);
        }
        replace_team(&mut tx, id.0, &f.team).await?;
        if f.grade != before.fields.grade || f.tier != before.fields.tier {
            // F2: an edit of the grade or tier outside a run is grade history too.
            let change = crate::grading::GradeChangeRow {
                customer: id.0,
                run: None,
                from: (
                    before.fields.grade.as_str(),
                    before.fields.tier.as_str(),
                    &before.code,
                ),
                to: (f.grade.as_str(), f.tier.as_str(), &code),
                note: "",
            };
            crate::grading::record_grade_change(&mut tx, &change, &actor.username).await?;
        }
        let after = Customer {
            version: before.version + 1,
            code,
            fields: f,
            updated_at: at,
            ..before.clone()
        };
        tx.audit("customer", id, "update", Some(&before), Some(&after))
            .await?;
        tx.commit().await?;
        Ok(access::redact_customer(actor, after))
    }

    /// Archives (never deletes) a customer.
    pub async fn archive_customer(
        &self,
        actor: &Actor,
        id: CustomerId,
        version: i64,
        now: DateTime<Utc>,
    ) -> Result<Customer> {
        let before = self.load_customer_scoped(actor, id).await?;
        if before.version != version {
            return Err(Error::Stale);
        }
        if before.archived {
            return Err(Error::Rule("archived"));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let n = sqlx::query("UPDATE customers SET archived = 1, updated_at = $1, version = version + 1 WHERE id = $2 AND version = $3")
            .bind(&at)
            .bind(id.0)
            .bind(version)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        let after = Customer {
            version: version + 1,
            archived: true,
            updated_at: at,
            ..before.clone()
        };
        tx.audit("customer", id, "archive", Some(&before), Some(&after))
            .await?;
        tx.commit().await?;
        Ok(access::redact_customer(actor, after))
    }

    /// The history (履历) of a customer from the audit trail, newest first, with the fields the
    /// actor may see.
    pub async fn customer_history(
        &self,
        actor: &Actor,
        id: CustomerId,
    ) -> Result<Vec<HistoryEntry>> {
        self.load_customer_scoped(actor, id).await?;
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT seq, at, actor_name, action, before_json, after_json FROM audit_log \
             WHERE entity = 'customer' AND entity_id = $1 ORDER BY seq DESC LIMIT 200",
        )
        .bind(id.0.to_string())
        .fetch_all(&self.pool)
        .await?;
        let parse = |s: Option<String>| {
            s.and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or(serde_json::Value::Null)
        };
        Ok(rows
            .into_iter()
            .map(
                |(seq, at, actor_name, action, before, after)| HistoryEntry {
                    seq,
                    at,
                    actor_name,
                    action,
                    changes: audit::diff(&parse(before), &parse(after))
                        .into_iter()
                        .filter(|c| access::history_field_visible(actor, &c.field))
                        .collect(),
                },
            )
            .collect())
    }

    /// The customers under tightened control (F4: any risk flag) among those the actor sees;
    /// every page marks them and their records.
    pub async fn tightened_customers(
        &self,
        actor: &Actor,
    ) -> Result<std::collections::HashSet<i64>> {
        let mut c = Conditions::default();
        c.push("risk_flags <> '[]'", []);
        customer_scope(&mut c, actor, "id");
        let ids: Vec<(i64,)> = bind_all(
            sqlx::query_as(&format!("SELECT id FROM customers{}", c.where_clause())),
            &c.args,
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    /// Distinct industries of visible customers, for the filter drop-down.
    pub async fn customer_industries(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT industry FROM customers WHERE industry <> '' ORDER BY industry",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    // ---- contacts ----

    pub async fn list_contacts(&self, actor: &Actor, customer: CustomerId) -> Result<Vec<Contact>> {
        self.load_customer_scoped(actor, customer).await?;
        let rows: Vec<ContactRow> = sqlx::query_as(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE customer_id = $1 ORDER BY is_primary DESC, id"
        ))
        .bind(customer.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(ContactRow::into_contact).collect())
    }

    pub async fn add_contact(
        &self,
        actor: &Actor,
        customer: CustomerId,
        mut f: ContactFields,
        now: DateTime<Utc>,
    ) -> Result<Contact> {
        f.validate()?;
        self.load_customer_scoped(actor, customer).await?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let contact = insert_contact(&mut tx, customer, f, None).await?;
        tx.commit().await?;
        Ok(contact)
    }

    pub async fn update_contact(
        &self,
        actor: &Actor,
        customer: CustomerId,
        id: ContactId,
        version: i64,
        mut f: ContactFields,
        now: DateTime<Utc>,
    ) -> Result<Contact> {
        f.validate()?;
        let before = self.contact_scoped(actor, customer, id).await?;
        if before.version != version {
            return Err(Error::Stale);
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let n = sqlx::query(
            "UPDATE contacts SET name = $1, title = $2, phone = $3, email = $4, wechat = $5, is_primary = $6, \
             version = version + 1 WHERE id = $7 AND version = $8",
        )
        .bind(&f.name)
        .bind(&f.title)
        .bind(&f.phone)
        .bind(&f.email)
        .bind(&f.wechat)
        .bind(i64::from(f.primary))
        .bind(id.0)
        .bind(version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        let after = Contact {
            version: version + 1,
            fields: f,
            ..before.clone()
        };
        tx.audit("contact", id, "update", Some(&before), Some(&after))
            .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Removes a contact person; the audit trail keeps the before image.
    pub async fn delete_contact(
        &self,
        actor: &Actor,
        customer: CustomerId,
        id: ContactId,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let before = self.contact_scoped(actor, customer, id).await?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        sqlx::query("DELETE FROM contacts WHERE id = $1")
            .bind(id.0)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit("contact", id, "delete", Some(&before), None)
            .await?;
        tx.commit().await
    }

    async fn contact_scoped(
        &self,
        actor: &Actor,
        customer: CustomerId,
        id: ContactId,
    ) -> Result<Contact> {
        self.load_customer_scoped(actor, customer).await?;
        let row: ContactRow = sqlx::query_as(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = $1 AND customer_id = $2"
        ))
        .bind(id.0)
        .bind(customer.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)?;
        Ok(row.into_contact())
    }
}

async fn replace_team(tx: &mut WriteTx, customer: i64, team: &[UserId]) -> Result<()> {
    sqlx::query("DELETE FROM customer_team WHERE customer_id = $1")
        .bind(customer)
        .execute(&mut *tx.tx)
        .await?;
    for u in team {
        sqlx::query("INSERT INTO customer_team (customer_id, user_id) VALUES ($1, $2)")
            .bind(customer)
            .bind(u.0)
            .execute(&mut *tx.tx)
            .await?;
    }
    Ok(())
}

/// Binds $1..$21 of both the INSERT and the UPDATE: code, the fields in column order,
/// the confidential fields, and the write time.
fn bind_fields<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    code: &'q str,
    f: &'q CustomerFields,
    conf: &'q Confidential,
    at: &'q str,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    q.bind(code)
        .bind(&f.name)
        .bind(&f.short_name)
        .bind(&f.industry)
        .bind(&f.application)
        .bind(&f.province)
        .bind(&f.city)
        .bind(&f.address)
        .bind(&f.phone)
        .bind(f.company_size.map(|s| s.as_str()))
        .bind(f.business_status.as_str())
        .bind(f.annual_revenue)
        .bind(f.grade.as_str())
        .bind(f.tier.as_str())
        .bind(f.account_manager_id.map(|u| u.0))
        .bind(json_text(&f.tags))
        .bind(json_text(&f.risk_flags))
        .bind(&f.remarks)
        .bind(conf.credit_rating.map(|c| c.as_str()))
        .bind(&conf.financial_status)
        .bind(at)
}

fn json_text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// A new contact of a customer inside `tx`, with its audit entry. `f` is valid.
pub(crate) async fn insert_contact(
    tx: &mut WriteTx,
    customer: CustomerId,
    f: ContactFields,
    external_key: Option<String>,
) -> Result<Contact> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO contacts (customer_id, name, title, phone, email, wechat, is_primary, external_key) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(customer.0)
    .bind(&f.name)
    .bind(&f.title)
    .bind(&f.phone)
    .bind(&f.email)
    .bind(&f.wechat)
    .bind(i64::from(f.primary))
    .bind(&external_key)
    .fetch_one(&mut *tx.tx)
    .await?;
    let contact = Contact {
        id: ContactId(id),
        customer_id: customer,
        version: 1,
        external_key,
        fields: f,
    };
    tx.audit("contact", id, "create", None, Some(&contact))
        .await?;
    Ok(contact)
}

const CONTACT_COLUMNS: &str =
    "id, customer_id, version, name, title, phone, email, wechat, is_primary, external_key";

#[derive(FromRow)]
struct ContactRow {
    id: i64,
    customer_id: i64,
    version: i64,
    name: String,
    title: String,
    phone: String,
    email: String,
    wechat: String,
    is_primary: i64,
    external_key: Option<String>,
}

impl ContactRow {
    fn into_contact(self) -> Contact {
        Contact {
            id: ContactId(self.id),
            customer_id: CustomerId(self.customer_id),
            version: self.version,
            external_key: self.external_key,
            fields: ContactFields {
                name: self.name,
                title: self.title,
                phone: self.phone,
                email: self.email,
                wechat: self.wechat,
                primary: self.is_primary != 0,
            },
        }
    }
}

impl Store {
    /// Display names (short name, else name) of the given customers that the actor sees, in one
    /// query: for lists of other records that show their customer.
    pub async fn customer_names(&self, actor: &Actor, ids: &[i64]) -> Result<HashMap<i64, String>> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut c = Conditions::default();
        let marks = vec!["?"; ids.len()].join(", ");
        c.push(
            &format!("id IN ({marks})"),
            ids.iter().map(|i| Arg::Int(*i)),
        );
        customer_scope(&mut c, actor, "id");
        let sql = format!(
            "SELECT id, name, short_name FROM customers{}",
            c.where_clause()
        );
        let rows: Vec<(i64, String, String)> = bind_all(sqlx::query_as(&sql), &c.args)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, short)| (id, if short.is_empty() { name } else { short }))
            .collect())
    }

    /// Customers with id > `after_id` in id order, unscoped and unredacted (for verification).
    pub(crate) async fn customers_after(&self, after_id: i64, limit: i64) -> Result<Vec<Customer>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM customers WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut teams = self.teams(&ids).await?;
        rows.into_iter()
            .map(|r| {
                let team = teams.remove(&r.id).unwrap_or_default();
                r.into_customer(team)
            })
            .collect()
    }

    pub(crate) async fn contacts_after(&self, after_id: i64, limit: i64) -> Result<Vec<Contact>> {
        let rows: Vec<ContactRow> = sqlx::query_as(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(ContactRow::into_contact).collect())
    }

    /// The id of the customer with this code (for `reqloop user add --customer CODE`).
    pub async fn customer_by_code(&self, code: &str) -> Result<Option<CustomerId>> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM customers WHERE code = $1")
            .bind(code)
            .fetch_optional(&self.pool)
            .await?;
        Ok(id.map(CustomerId))
    }
}

/// The next code under `rule` for a customer of this grade, tier and province (F1: the code
/// shows the grade), counted per prefix in the transaction.
pub(crate) async fn code_in(
    tx: &mut WriteTx,
    rule: &str,
    grade: reqloop_domain::customer::Grade,
    tier: reqloop_domain::customer::Tier,
    province: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    let facts = CodeFacts {
        grade,
        tier,
        province,
        year: now.year(),
    };
    let (prefix, width, suffix) = coding::split(rule, &facts)
        .map_err(|e| Error::Other(format!("customer code rule: {e}")))?;
    let key = format!("{prefix}\u{1f}{suffix}");
    let (seq,): (i64,) = sqlx::query_as(
        "INSERT INTO code_counters (prefix, next_seq) VALUES ($1, 1) \
         ON CONFLICT (prefix) DO UPDATE SET next_seq = code_counters.next_seq + 1 RETURNING next_seq",
    )
    .bind(&key)
    .fetch_one(&mut *tx.tx)
    .await?;
    Ok(coding::render(&prefix, width, &suffix, seq))
}
