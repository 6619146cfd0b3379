//! Contact plans (F25): the plan's frequencies per tier, the background pass that plans a
//! collection visit for every customer whose last contact is older than its tier allows and a
//! return visit for every delivered order, the tasks as a queue (grade A first), the visit
//! records that close them, and the yearly end-user symposia with attendees and minutes.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use reqloop_domain::access::{Action, Actor};
use reqloop_domain::contact::{
    self, ContactRules, Minutes, SymposiumFields, SymposiumState, TaskKind, TaskState, VisitFields,
};
use reqloop_domain::customer::Tier;
use reqloop_domain::ids::CustomerId;
use reqloop_domain::time::{from_db, shanghai_date};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::db::{bind_all, customer_scope_sql, Arg, Conditions};
use crate::{Error, Page, Result, Store, Who};

/// Rows per multi-row INSERT of planned tasks (5 values each).
const BATCH: usize = crate::db::MAX_PARAMS / 5;

/// A task the pass plans: customer, kind, due date, assignee, order (return visits).
type Planned = (i64, &'static str, String, Option<i64>, Option<i64>);

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct ContactTask {
    pub id: i64,
    pub version: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub customer_grade: String,
    pub customer_tier: String,
    pub kind: String,
    pub due_on: String,
    pub assignee_id: Option<i64>,
    pub assignee_name: Option<String>,
    pub order_id: Option<i64>,
    pub order_number: Option<String>,
    pub state: String,
    pub visit_id: Option<i64>,
    pub created_at: String,
    pub done_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskFilter {
    /// Only tasks assigned to the caller.
    #[serde(default)]
    pub mine: bool,
    pub kind: Option<TaskKind>,
    /// Default `open`.
    pub state: Option<TaskState>,
    /// Only open tasks due before today.
    #[serde(default)]
    pub overdue: bool,
    pub customer_id: Option<i64>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Visit {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub task_id: Option<i64>,
    pub visited_on: String,
    pub method: String,
    pub contact_person: String,
    pub attendees: String,
    pub summary: String,
    pub needs: String,
    pub by_name: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VisitFilter {
    pub customer_id: Option<i64>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// What one planning pass did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct ContactPass {
    pub collection: u64,
    pub return_visits: u64,
}

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Symposium {
    pub id: i64,
    pub version: i64,
    pub year: i64,
    pub product_line: String,
    pub planned_on: String,
    pub place: String,
    pub agenda: String,
    pub state: String,
    pub held_on: Option<String>,
    pub minutes: String,
    pub created_by: String,
    pub created_at: String,
    pub attendees: i64,
}

#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Attendee {
    pub id: i64,
    pub customer_id: Option<i64>,
    pub customer_name: Option<String>,
    pub name: String,
    pub title: String,
}

/// An attendee to add: a customer's representative (or an invited expert without customer).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAttendee {
    #[serde(default)]
    pub customer_id: Option<i64>,
    pub name: String,
    #[serde(default)]
    pub title: String,
}

const TASK_COLUMNS: &str = "t.id, t.version, t.customer_id, c.name AS customer_name, c.grade AS customer_grade, \
    c.tier AS customer_tier, t.kind, t.due_on, t.assignee_id, u.display_name AS assignee_name, t.order_id, \
    o.number AS order_number, t.state, t.visit_id, t.created_at, t.done_at";
const TASK_FROM: &str = "contact_tasks t JOIN customers c ON c.id = t.customer_id \
    LEFT JOIN users u ON u.id = t.assignee_id LEFT JOIN orders o ON o.id = t.order_id";
const VISIT_COLUMNS: &str =
    "v.id, v.customer_id, c.name AS customer_name, v.task_id, v.visited_on, v.method, \
    v.contact_person, v.attendees, v.summary, v.needs, v.by_name, v.created_at";
const SYMPOSIUM_COLUMNS: &str =
    "s.id, s.version, s.year, s.product_line, s.planned_on, s.place, s.agenda, s.state, \
    s.held_on, s.minutes, s.created_by, s.created_at, \
    (SELECT COUNT(*) FROM symposium_attendees a WHERE a.symposium_id = s.id) AS attendees";

fn scoped(actor: &Actor, column: &str) -> Conditions {
    let mut c = Conditions::default();
    if let Some((sql, args)) = customer_scope_sql(actor, column) {
        c.push(&sql, args);
    }
    c
}

impl Store {
    /// The contact plan's frequencies in force (F25 defaults until an administrator saves others).
    pub async fn contact_rules(&self) -> Result<ContactRules> {
        Ok(self
            .setting("contact_rules")
            .await?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    pub async fn set_contact_rules(
        &self,
        actor: &Actor,
        rules: ContactRules,
        now: DateTime<Utc>,
    ) -> Result<ContactRules> {
        actor
            .require(Action::ContactPlanManage)
            .map_err(|_| Error::Forbidden("contact_rules"))?;
        rules.validate()?;
        let value = serde_json::to_string(&rules).map_err(|e| Error::Other(e.to_string()))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let before = self.setting_in(&mut tx, "contact_rules").await?;
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ('contact_rules', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(&value)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit("setting", 0, "contact_rules", before.as_ref(), Some(&value))
            .await?;
        tx.commit().await?;
        Ok(rules)
    }

    /// The background pass (F25): a collection task for every active customer whose last
    /// visit is older than its tier's frequency (due when the frequency runs out), and a return
    /// visit for every delivered order; never a second open task for the same cause.
    pub async fn plan_contacts(&self, now: DateTime<Utc>) -> Result<ContactPass> {
        let rules = self.contact_rules().await?;
        let today = shanghai_date(now);
        let mut planned: Vec<Planned> = Vec::new();
        for tier in Tier::ALL {
            let months = rules.months(*tier);
            if months == 0 {
                continue;
            }
            let since = contact::recent_since(months, today).to_string();
            let due: Vec<(i64, Option<i64>, Option<String>)> = sqlx::query_as(
                "SELECT c.id, c.account_manager_id, (SELECT MAX(v.visited_on) FROM visits v WHERE v.customer_id = c.id) \
                 FROM customers c WHERE c.archived = 0 AND c.tier = $1 \
                 AND NOT EXISTS (SELECT 1 FROM contact_tasks t WHERE t.customer_id = c.id AND t.kind = 'collection' \
                 AND t.state = 'open') \
                 AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.customer_id = c.id AND v.visited_on >= $2)",
            )
            .bind(tier.as_str())
            .bind(&since)
            .fetch_all(&self.pool)
            .await?;
            for (customer, manager, last) in due {
                let last = last.and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
                let on = contact::next_due(last, months, today);
                planned.push((customer, "collection", on.to_string(), manager, None));
            }
        }
        let delivered: Vec<(i64, i64, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT o.id, k.customer_id, c.account_manager_id, o.delivered_at FROM orders o \
             JOIN contracts k ON k.id = o.contract_id JOIN customers c ON c.id = k.customer_id \
             WHERE o.status = 'delivered' AND NOT EXISTS (SELECT 1 FROM contact_tasks t WHERE t.order_id = o.id)",
        )
        .fetch_all(&self.pool)
        .await?;
        for (order, customer, manager, at) in delivered {
            let day = at.as_deref().and_then(from_db).map_or(today, shanghai_date);
            let on = day + Duration::days(i64::from(rules.return_visit_days));
            planned.push((
                customer,
                "return_visit",
                on.to_string(),
                manager,
                Some(order),
            ));
        }
        if planned.is_empty() {
            return Ok(ContactPass::default());
        }
        let mut tx = self.write(&Who::system(), now).await?;
        let at = tx.at.clone();
        let mut pass = ContactPass::default();
        for chunk in planned.chunks(BATCH) {
            let marks: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let b = i * 5 + 2;
                    format!(
                        "(${b}, ${}, ${}, ${}, ${}, 'open', $1)",
                        b + 1,
                        b + 2,
                        b + 3,
                        b + 4
                    )
                })
                .collect();
            // The partial unique indexes make a concurrent pass (another node) a no-op.
            let sql = format!(
                "INSERT INTO contact_tasks (customer_id, kind, due_on, assignee_id, order_id, state, created_at) \
                 VALUES {} ON CONFLICT DO NOTHING RETURNING kind",
                marks.join(", ")
            );
            let mut q = sqlx::query_scalar::<_, String>(&sql).bind(&at);
            for (customer, kind, on, manager, order) in chunk {
                q = q
                    .bind(*customer)
                    .bind(*kind)
                    .bind(on.clone())
                    .bind(*manager)
                    .bind(*order);
            }
            for kind in q.fetch_all(&mut *tx.tx).await? {
                if kind == "collection" {
                    pass.collection += 1;
                } else {
                    pass.return_visits += 1;
                }
            }
        }
        if pass != ContactPass::default() {
            tx.audit("contact_tasks", 0, "plan", None, Some(&pass))
                .await?;
        }
        tx.commit().await?;
        Ok(pass)
    }

    /// Contact tasks of the customers in the reader's scope: open ones by default, grade A
    /// first, then soonest due (F2).
    pub async fn list_contact_tasks(
        &self,
        actor: &Actor,
        f: &TaskFilter,
        now: DateTime<Utc>,
    ) -> Result<Page<ContactTask>> {
        let mut c = scoped(actor, "t.customer_id");
        let state = f.state.unwrap_or(TaskState::Open);
        c.push("t.state = ?", [Arg::Text(state.as_str().into())]);
        if f.mine {
            c.push("t.assignee_id = ?", [Arg::Int(actor.user_id.0)]);
        }
        if let Some(k) = f.kind {
            c.push("t.kind = ?", [Arg::Text(k.as_str().into())]);
        }
        if f.overdue {
            c.push("t.due_on < ?", [Arg::Text(shanghai_date(now).to_string())]);
        }
        if let Some(id) = f.customer_id {
            c.push("t.customer_id = ?", [Arg::Int(id)]);
        }
        let order = if state == TaskState::Open {
            "c.grade, t.due_on, t.id"
        } else {
            "t.id DESC"
        };
        let (items, total) = self
            .fetch_page_counting(
                TASK_FROM,
                "contact_tasks t",
                TASK_COLUMNS,
                &c,
                order,
                f.page,
                f.per_page,
            )
            .await?;
        Ok(Page { items, total })
    }

    pub async fn get_contact_task(&self, actor: &Actor, id: i64) -> Result<ContactTask> {
        let mut c = scoped(actor, "t.customer_id");
        c.push("t.id = ?", [Arg::Int(id)]);
        bind_all(
            sqlx::query_as(&format!(
                "SELECT {TASK_COLUMNS} FROM {TASK_FROM}{}",
                c.where_clause()
            )),
            &c.args,
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)
    }

    /// Records a visit (拜访记录): it closes the task it names, and any open collection task
    /// of the customer (the requirements were collected).
    pub async fn record_visit(
        &self,
        actor: &Actor,
        mut v: VisitFields,
        now: DateTime<Utc>,
    ) -> Result<Visit> {
        actor
            .require(Action::VisitWrite)
            .map_err(|_| Error::Forbidden("visits"))?;
        v.validate(shanghai_date(now))?;
        self.get_customer(actor, CustomerId(v.customer_id))
            .await
            .map_err(|e| match e {
                Error::NotFound => Error::field("customer_id", "unknown_customer"),
                other => other,
            })?;
        if let Some(t) = v.task_id {
            let task = self
                .get_contact_task(actor, t)
                .await
                .map_err(|_| Error::field("task_id", "unknown"))?;
            if task.customer_id != v.customer_id {
                return Err(Error::field("task_id", "other_customer"));
            }
            if task.state != TaskState::Open.as_str() {
                return Err(Error::Rule("task_closed"));
            }
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO visits (customer_id, task_id, visited_on, method, contact_person, attendees, summary, needs, \
             by_id, by_name, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(v.customer_id)
        .bind(v.task_id)
        .bind(&v.visited_on)
        .bind(v.method.as_str())
        .bind(&v.contact_person)
        .bind(&v.attendees)
        .bind(&v.summary)
        .bind(&v.needs)
        .bind(actor.user_id.0)
        .bind(&actor.username)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await?;
        let closed: Vec<i64> = sqlx::query_scalar(
            "UPDATE contact_tasks SET state = 'done', visit_id = $1, done_at = $2, version = version + 1 \
             WHERE state = 'open' AND (id = $3 OR (customer_id = $4 AND kind = 'collection')) RETURNING id",
        )
        .bind(id)
        .bind(&at)
        .bind(v.task_id.unwrap_or(0))
        .bind(v.customer_id)
        .fetch_all(&mut *tx.tx)
        .await?;
        if v.task_id.is_some_and(|t| !closed.contains(&t)) {
            // Closed by someone else meanwhile.
            return Err(Error::Stale);
        }
        tx.audit(
            "visit",
            id,
            "record",
            None,
            Some(&serde_json::json!({"visit": v, "closed_tasks": closed})),
        )
        .await?;
        tx.commit().await?;
        self.visit(id).await
    }

    async fn visit(&self, id: i64) -> Result<Visit> {
        sqlx::query_as(&format!(
            "SELECT {VISIT_COLUMNS} FROM visits v JOIN customers c ON c.id = v.customer_id WHERE v.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)
    }

    /// Visits to the customers in the reader's scope, latest first.
    pub async fn list_visits(&self, actor: &Actor, f: &VisitFilter) -> Result<Page<Visit>> {
        let mut c = scoped(actor, "v.customer_id");
        if let Some(id) = f.customer_id {
            c.push("v.customer_id = ?", [Arg::Int(id)]);
        }
        let (items, total) = self
            .fetch_page_counting(
                "visits v JOIN customers c ON c.id = v.customer_id",
                "visits v",
                VISIT_COLUMNS,
                &c,
                "v.visited_on DESC, v.id DESC",
                f.page,
                f.per_page,
            )
            .await?;
        Ok(Page { items, total })
    }

    pub async fn list_symposia(
        &self,
        actor: &Actor,
        page: Option<i64>,
        per_page: Option<i64>,
    ) -> Result<Page<Symposium>> {
        actor
            .require(Action::ReportRead)
            .map_err(|_| Error::Forbidden("symposia"))?;
        let (items, total) = self
            .fetch_page_counting(
                "symposia s",
                "symposia s",
                SYMPOSIUM_COLUMNS,
                &Conditions::default(),
                "s.year DESC, s.product_line",
                page,
                per_page,
            )
            .await?;
        Ok(Page { items, total })
    }

    pub async fn get_symposium(&self, actor: &Actor, id: i64) -> Result<Symposium> {
        actor
            .require(Action::ReportRead)
            .map_err(|_| Error::Forbidden("symposia"))?;
        sqlx::query_as(&format!(
            "SELECT {SYMPOSIUM_COLUMNS} FROM symposia s WHERE s.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound)
    }

    /// Plans the year's symposium of a product line (one per product line and year).
    pub async fn plan_symposium(
        &self,
        actor: &Actor,
        mut f: SymposiumFields,
        now: DateTime<Utc>,
    ) -> Result<Symposium> {
        actor
            .require(Action::ContactPlanManage)
            .map_err(|_| Error::Forbidden("symposia"))?;
        f.validate()?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO symposia (year, product_line, planned_on, place, agenda, state, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'planned', $6, $7) RETURNING id",
        )
        .bind(i64::from(f.year))
        .bind(&f.product_line)
        .bind(&f.planned_on)
        .bind(&f.place)
        .bind(&f.agenda)
        .bind(&actor.username)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(crate::db::unique("product_line"))?;
        tx.audit("symposium", id, "plan", None, Some(&f)).await?;
        tx.commit().await?;
        self.get_symposium(actor, id).await
    }

    pub async fn symposium_attendees(&self, actor: &Actor, id: i64) -> Result<Vec<Attendee>> {
        self.get_symposium(actor, id).await?;
        Ok(sqlx::query_as(
            "SELECT a.id, a.customer_id, c.name AS customer_name, a.name, a.title FROM symposium_attendees a \
             LEFT JOIN customers c ON c.id = a.customer_id WHERE a.symposium_id = $1 ORDER BY a.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn add_attendee(
        &self,
        actor: &Actor,
        id: i64,
        mut a: NewAttendee,
        now: DateTime<Utc>,
    ) -> Result<Attendee> {
        actor
            .require(Action::ContactPlanManage)
            .map_err(|_| Error::Forbidden("symposia"))?;
        self.get_symposium(actor, id).await?;
        let mut e = reqloop_domain::FieldErrors::default();
        e.required("name", &mut a.name, 50);
        e.optional("title", &mut a.title, 50);
        e.finish()?;
        if let Some(c) = a.customer_id {
            self.get_customer(actor, CustomerId(c))
                .await
                .map_err(|_| Error::field("customer_id", "unknown_customer"))?;
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let (aid,): (i64,) = sqlx::query_as(
            "INSERT INTO symposium_attendees (symposium_id, customer_id, name, title) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(id)
        .bind(a.customer_id)
        .bind(&a.name)
        .bind(&a.title)
        .fetch_one(&mut *tx.tx)
        .await?;
        tx.audit(
            "symposium",
            id,
            "attendee",
            None,
            Some(&serde_json::json!({"customer_id": a.customer_id, "name": a.name, "title": a.title})),
        )
        .await?;
        tx.commit().await?;
        self.symposium_attendees(actor, id)
            .await?
            .into_iter()
            .find(|x| x.id == aid)
            .ok_or(Error::NotFound)
    }

    /// Records a symposium as held, with its minutes (a correction saves them again).
    pub async fn record_minutes(
        &self,
        actor: &Actor,
        id: i64,
        mut m: Minutes,
        now: DateTime<Utc>,
    ) -> Result<Symposium> {
        actor
            .require(Action::ContactPlanManage)
            .map_err(|_| Error::Forbidden("symposia"))?;
        let before = self.get_symposium(actor, id).await?;
        if before.version != m.version {
            return Err(Error::Stale);
        }
        m.validate(shanghai_date(now))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let n = sqlx::query(
            "UPDATE symposia SET state = $1, held_on = $2, minutes = $3, version = version + 1 \
             WHERE id = $4 AND version = $5",
        )
        .bind(SymposiumState::Held.as_str())
        .bind(&m.held_on)
        .bind(&m.minutes)
        .bind(id)
        .bind(m.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        tx.audit(
            "symposium",
            id,
            "minutes",
            Some(&serde_json::json!({"state": before.state, "held_on": before.held_on, "minutes": before.minutes})),
            Some(&serde_json::json!({"state": "held", "held_on": m.held_on, "minutes": m.minutes})),
        )
        .await?;
        tx.commit().await?;
        self.get_symposium(actor, id).await
    }
}
