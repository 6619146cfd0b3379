//! Requirements (F5), their identification items (F6), stage moves and stage outputs (F8).
//! A requirement is visible exactly when its customer is (the customer's data scope).

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use reqloop_domain::access::Actor;
use reqloop_domain::ids::{CustomerId, DepartmentId};
use reqloop_domain::requirement::{
    self, ItemFields, Move, Requirement, RequirementFields, RequirementPatch, Stage, StageFacts,
    Urgency,
};
use reqloop_domain::similarity;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::db::{bind_all, requirement_scope, Arg, Conditions, WriteTx};
use crate::{handoffs, kpis};
use crate::{Error, Page, Result, Store, Who};

const COLUMNS: &str = "id, version, code, customer_id, project_id, title, description, channel, category, sub_category, \
    nature, kind, urgency, source_person, collected_on, feasibility_technical, feasibility_economic, feasibility_time, \
    feasibility_note, value_score, stage, stage_entered_at, merged_into, revision, sla_due_at, waiting_since, \
    paused_minutes, created_at, updated_at, external_key";

#[derive(FromRow)]
struct Row {
    id: i64,
    version: i64,
    code: String,
    customer_id: i64,
    project_id: Option<i64>,
    title: String,
    description: String,
    channel: String,
    category: String,
    sub_category: Option<String>,
    nature: String,
    kind: String,
    urgency: String,
    source_person: String,
    collected_on: String,
    feasibility_technical: Option<String>,
    feasibility_economic: Option<String>,
    feasibility_time: Option<String>,
    feasibility_note: String,
    value_score: Option<i64>,
    stage: String,
    stage_entered_at: String,
    merged_into: Option<i64>,
    revision: i64,
    sla_due_at: Option<String>,
    waiting_since: Option<String>,
    paused_minutes: i64,
    created_at: String,
    updated_at: String,
    external_key: Option<String>,
}

fn parse<T: std::str::FromStr>(v: &str, what: &str) -> Result<T> {
    v.parse()
        .map_err(|_| Error::Other(format!("stored requirement has an invalid {what}")))
}

fn parse_opt<T: std::str::FromStr>(v: Option<String>, what: &str) -> Result<Option<T>> {
    v.as_deref().map(|s| parse(s, what)).transpose()
}

impl Row {
    fn into_requirement(self) -> Result<Requirement> {
        Ok(Requirement {
            id: self.id,
            version: self.version,
            code: self.code,
            external_key: self.external_key,
            fields: RequirementFields {
                customer_id: CustomerId(self.customer_id),
                project_id: self.project_id,
                title: self.title,
                description: self.description,
                channel: parse(&self.channel, "channel")?,
                category: parse(&self.category, "category")?,
                sub_category: parse_opt(self.sub_category, "sub-category")?,
                nature: parse(&self.nature, "nature")?,
                kind: parse(&self.kind, "kind")?,
                urgency: parse(&self.urgency, "urgency")?,
                source_person: self.source_person,
                collected_on: self.collected_on,
                feasibility_technical: parse_opt(self.feasibility_technical, "feasibility")?,
                feasibility_economic: parse_opt(self.feasibility_economic, "feasibility")?,
                feasibility_time: parse_opt(self.feasibility_time, "feasibility")?,
                feasibility_note: self.feasibility_note,
                value_score: self.value_score,
            },
            stage: parse(&self.stage, "stage")?,
            stage_entered_at: self.stage_entered_at,
            merged_into: self.merged_into,
            revision: self.revision,
            sla_due_at: self.sla_due_at,
            waiting_since: self.waiting_since,
            paused_minutes: self.paused_minutes,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Binds $1..$16 of both the INSERT and the UPDATE: the collected and analysis fields in column
/// order, then the write time.
/// Inserts new requirements at identification, in statements of many rows, with what a new
/// requirement brings: its code, its response-time clock (F22), its owner and the KPI count
/// (F23), its audit entry and the identification hand-offs. The fields are valid, their
/// customers visible to the actor and their project (one for all) exists. One requirement
/// from a form, thousands from an import (F29).
pub(crate) async fn insert_requirements(
    tx: &mut WriteTx,
    actor: &Actor,
    plan: &handoffs::StagePlan,
    rows: Vec<(RequirementFields, Option<String>)>,
    now: DateTime<Utc>,
) -> Result<Vec<Requirement>> {
    const COLUMNS: usize = 26;
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let n = rows.len() as i64;
    let key = format!("XQ{}-", now.year());
    let (last,): (i64,) = sqlx::query_as(
        "INSERT INTO code_counters (prefix, next_seq) VALUES ($1, $2) \
         ON CONFLICT (prefix) DO UPDATE SET next_seq = code_counters.next_seq + $2 RETURNING next_seq",
    )
    .bind(&key)
    .bind(n)
    .fetch_one(&mut *tx.tx)
    .await?;
    // F23: a requirement counts for its customer's account manager of now (and that person's
    // department), from reception to completion.
    let customers = crate::db::id_list(
        rows.iter()
            .map(|(f, _)| f.customer_id.0)
            .collect::<std::collections::BTreeSet<_>>(),
    );
    let owners: HashMap<i64, (Option<i64>, Option<i64>)> =
        sqlx::query_as::<_, (i64, Option<i64>, Option<i64>)>(&format!(
            "SELECT c.id, c.account_manager_id, u.department_id FROM customers c \
             LEFT JOIN users u ON u.id = c.account_manager_id WHERE c.id IN ({customers})"
        ))
        .fetch_all(&mut *tx.tx)
        .await?
        .into_iter()
        .map(|(c, person, department)| (c, (person, department)))
        .collect();
    let at = tx.at.clone();
    let mut created: Vec<Requirement> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (fields, external_key))| Requirement {
            id: 0,
            version: 1,
            code: format!("{key}{:05}", last - n + 1 + i as i64),
            external_key,
            sla_due_at: Some(plan.sla_due(fields.urgency, now)),
            fields,
            stage: Stage::Identification,
            stage_entered_at: at.clone(),
            merged_into: None,
            revision: 1,
            waiting_since: None,
            paused_minutes: 0,
            created_at: at.clone(),
            updated_at: at.clone(),
        })
        .collect();
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(created.len());
    for chunk in created.chunks(tx.rows_per_insert(COLUMNS)) {
        let sql = format!(
            "INSERT INTO requirements (title, description, channel, category, sub_category, nature, kind, urgency, \
             source_person, collected_on, feasibility_technical, feasibility_economic, feasibility_time, \
             feasibility_note, value_score, stage_entered_at, created_at, updated_at, code, customer_id, project_id, \
             created_by, sla_due_at, owner_id, owner_department_id, external_key, stage) VALUES {} RETURNING id, code",
            tx.values(chunk.len(), COLUMNS).replace(')', ", 'identification')")
        );
        let mut q = sqlx::query_as::<_, (i64, String)>(&sql);
        for r in chunk {
            let (owner, department) = owners
                .get(&r.fields.customer_id.0)
                .copied()
                .unwrap_or_default();
            q = bind_fields(q, &r.fields, &at)
                .bind(&at)
                .bind(&at)
                .bind(&r.code)
                .bind(r.fields.customer_id.0)
                .bind(r.fields.project_id)
                .bind(actor.user_id.0)
                .bind(&r.sla_due_at)
                .bind(owner)
                .bind(department)
                .bind(&r.external_key);
        }
        ids.extend(
            q.fetch_all(&mut *tx.tx)
                .await?
                .into_iter()
                .map(|(id, code)| (code, id)),
        );
    }
    let mut received: HashMap<kpis::Owner, i64> = HashMap::new();
    for r in &mut created {
        r.id = ids.get(&r.code).copied().ok_or(Error::NotFound)?;
        let (person, department) = owners
            .get(&r.fields.customer_id.0)
            .copied()
            .unwrap_or_default();
        let who = kpis::Owner {
            person: person.unwrap_or(0),
            department: department.unwrap_or(0),
            customer: r.fields.customer_id.0,
        };
        *received.entry(who).or_default() += 1;
    }
    let month = reqloop_domain::kpi::month_of(now);
    let counts: Vec<(kpis::Owner, reqloop_domain::kpi::Counts)> = received
        .into_iter()
        .map(|(who, n)| {
            let c = reqloop_domain::kpi::Counts {
                received: n,
                ..Default::default()
            };
            (who, c)
        })
        .collect();
    kpis::bump_many(tx, &month, &counts).await?;
    let images: Vec<(i64, &Requirement)> = created.iter().map(|r| (r.id, r)).collect();
    tx.audit_each("requirement", "create", &images).await?;
    let new_ids: Vec<i64> = created.iter().map(|r| r.id).collect();
    handoffs::open_stage_handoffs_many(tx, &new_ids, plan, actor, now).await?;
    Ok(created)
}

fn bind_fields<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    f: &'q RequirementFields,
    at: &'q str,
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    q.bind(&f.title)
        .bind(&f.description)
        .bind(f.channel.as_str())
        .bind(f.category.as_str())
        .bind(f.sub_category.map(|s| s.as_str()))
        .bind(f.nature.as_str())
        .bind(f.kind.as_str())
        .bind(f.urgency.as_str())
        .bind(&f.source_person)
        .bind(&f.collected_on)
        .bind(f.feasibility_technical.map(|v| v.as_str()))
        .bind(f.feasibility_economic.map(|v| v.as_str()))
        .bind(f.feasibility_time.map(|v| v.as_str()))
        .bind(&f.feasibility_note)
        .bind(f.value_score)
        .bind(at)
}

/// Filters of `/requirements`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RequirementFilter {
    pub customer_id: Option<i64>,
    pub stage: Option<Stage>,
    pub urgency: Option<Urgency>,
    pub project_id: Option<i64>,
    /// Part of the title or the code.
    pub q: Option<String>,
    /// `id` (default, newest first: `-id`), `urgency`, `stage`, `collected_on`, `updated_at`; `-` for descending.
    pub sort: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

fn order_by(sort: Option<&str>) -> Result<String> {
    let Some(sort) = sort.filter(|s| !s.is_empty()) else {
        return Ok("id DESC".into());
    };
    let (desc, key) = sort.strip_prefix('-').map_or((false, sort), |k| (true, k));
    let column = match key {
        "id" | "collected_on" | "updated_at" => key,
        "urgency" => "CASE urgency WHEN 'urgent' THEN 0 WHEN 'important' THEN 1 ELSE 2 END",
        "stage" => "CASE stage WHEN 'identification' THEN 0 WHEN 'review' THEN 1 WHEN 'determination' THEN 2 \
                    WHEN 'transmission' THEN 3 WHEN 'reverification' THEN 4 WHEN 'realization' THEN 5 \
                    WHEN 'verification' THEN 6 WHEN 'validation' THEN 7 WHEN 'return_visit' THEN 8 ELSE 9 END",
        _ => return Err(Error::field("sort", "sort")),
    };
    Ok(format!(
        "{column} {}, id DESC",
        if desc { "DESC" } else { "ASC" }
    ))
}

/// One stage move as recorded.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct Transition {
    pub id: i64,
    pub from_stage: String,
    pub to_stage: String,
    #[serde(rename = "move")]
    pub move_kind: String,
    pub reason: String,
    pub actor_name: String,
    pub at: String,
}

/// A stage output record on file.
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct StageOutput {
    pub id: i64,
    pub stage: String,
    pub kind: String,
    pub note: String,
    pub actor_name: String,
    pub at: String,
    pub superseded: i64,
}

#[derive(FromRow)]
pub(crate) struct ItemRow {
    id: i64,
    requirement_id: i64,
    version: i64,
    description: String,
    category: String,
    sub_category: Option<String>,
    acceptance_criterion: String,
    department_id: i64,
}

impl ItemRow {
    pub(crate) fn into_item(self) -> Result<Item> {
        Ok(Item {
            id: self.id,
            requirement_id: self.requirement_id,
            version: self.version,
            fields: ItemFields {
                description: self.description,
                category: parse(&self.category, "item category")?,
                sub_category: self
                    .sub_category
                    .as_deref()
                    .map(|s| parse(s, "item sub-category"))
                    .transpose()?,
                acceptance_criterion: self.acceptance_criterion,
                department_id: DepartmentId(self.department_id),
            },
        })
    }
}

/// An identification item as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Item {
    pub id: i64,
    pub requirement_id: i64,
    pub version: i64,
    #[serde(flatten)]
    pub fields: ItemFields,
}

/// A requirement that resembles another, with its score (F7).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SimilarRequirement {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub customer_id: i64,
    pub stage: Stage,
    pub score: f64,
    pub relation: similarity::Relation,
}

/// How many recent requirements are compared per source (the same customer; the same category).
const SIMILARITY_CANDIDATES: i64 = 500;

impl Store {
    /// Candidate duplicates and contradictions among the same customer's requirements and
    /// earlier requirements of the same category, best first (only those the actor may see).
    pub async fn similar_requirements(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<Vec<SimilarRequirement>> {
        let r = self.get_requirement(actor, id).await?;
        let text = format!("{} {}", r.fields.title, r.fields.description);
        let mut found: Vec<SimilarRequirement> = Vec::new();
        for same_customer in [true, false] {
            let mut c = Conditions::default();
            requirement_scope(&mut c, actor, "");
            c.push("id <> ?", [Arg::Int(id)]);
            if same_customer {
                c.push("customer_id = ?", [Arg::Int(r.fields.customer_id.0)]);
            } else {
                c.push("customer_id <> ?", [Arg::Int(r.fields.customer_id.0)]);
                c.push(
                    "category = ?",
                    [Arg::Text(r.fields.category.as_str().into())],
                );
                c.push("id < ?", [Arg::Int(id)]);
            }
            for row in self.newest(&c, SIMILARITY_CANDIDATES).await? {
                let other = row.into_requirement()?;
                let other_text = format!("{} {}", other.fields.title, other.fields.description);
                if let Some((score, relation)) =
                    similarity::relate(&text, &other_text, same_customer)
                {
                    found.push(SimilarRequirement {
                        id: other.id,
                        code: other.code,
                        title: other.fields.title,
                        customer_id: other.fields.customer_id.0,
                        stage: other.stage,
                        score: (score * 1000.0).round() / 1000.0,
                        relation,
                    });
                }
            }
        }
        found.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        found.truncate(20);
        Ok(found)
    }

    pub async fn list_requirements(
        &self,
        actor: &Actor,
        f: &RequirementFilter,
    ) -> Result<Page<Requirement>> {
        let c = self.requirement_conditions(actor, f);
        let order = order_by(f.sort.as_deref())?;
        let (rows, total): (Vec<Row>, i64) = self
            .fetch_page("requirements", COLUMNS, &c, &order, f.page, f.per_page)
            .await?;
        Ok(Page {
            items: rows
                .into_iter()
                .map(Row::into_requirement)
                .collect::<Result<_>>()?,
            total,
        })
    }

    /// The list's rows newest first, `limit` at a time below `before_id`, without counting:
    /// an export walks a million rows in index order this way.
    pub async fn export_requirements(
        &self,
        actor: &Actor,
        f: &RequirementFilter,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Requirement>> {
        let mut c = self.requirement_conditions(actor, f);
        if let Some(id) = before_id {
            c.push("id < ?", [Arg::Int(id)]);
        }
        self.newest(&c, limit)
            .await?
            .into_iter()
            .map(Row::into_requirement)
            .collect()
    }

    /// The newest `limit` rows meeting `c`, in id order (the index order of every filter).
    async fn newest(&self, c: &Conditions, limit: i64) -> Result<Vec<Row>> {
        let n = c.next();
        let sql = format!(
            "SELECT {COLUMNS} FROM requirements{} ORDER BY id DESC LIMIT ${n}",
            c.where_clause()
        );
        let mut args = c.args.clone();
        args.push(Arg::Int(limit));
        Ok(bind_all(sqlx::query_as(&sql), &args)
            .fetch_all(&self.pool)
            .await?)
    }

    fn requirement_conditions(&self, actor: &Actor, f: &RequirementFilter) -> Conditions {
        let mut c = Conditions::default();
        requirement_scope(&mut c, actor, "");
        if let Some(id) = f.customer_id {
            c.push("customer_id = ?", [Arg::Int(id)]);
        }
        if let Some(s) = f.stage {
            c.push("stage = ?", [Arg::Text(s.as_str().into())]);
        }
        if let Some(u) = f.urgency {
            c.push("urgency = ?", [Arg::Text(u.as_str().into())]);
        }
        if let Some(p) = f.project_id {
            c.push("project_id = ?", [Arg::Int(p)]);
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
                &format!("(title {like} ? ESCAPE '\\' OR code {like} ? ESCAPE '\\')"),
                [Arg::Text(pattern.clone()), Arg::Text(pattern)],
            );
        }
        c
    }

    /// Requirements with id > `after_id` in id order, unscoped (for verification).
    pub(crate) async fn requirements_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Requirement>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM requirements WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Row::into_requirement).collect()
    }

    /// One requirement inside the actor's scope; `NotFound` outside it.
    pub async fn get_requirement(&self, actor: &Actor, id: i64) -> Result<Requirement> {
        let mut c = Conditions::default();
        c.push("id = ?", [Arg::Int(id)]);
        requirement_scope(&mut c, actor, "");
        let sql = format!("SELECT {COLUMNS} FROM requirements{}", c.where_clause());
        let row: Row = bind_all(sqlx::query_as(&sql), &c.args)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound)?;
        row.into_requirement()
    }

    /// "code name" of a requirement's customer, for whoever may see the requirement (also a
    /// department taking part in it, which may not see the customer's record itself).
    pub async fn requirement_customer(&self, actor: &Actor, requirement: i64) -> Result<String> {
        let r = self.get_requirement(actor, requirement).await?;
        let (code, name): (String, String) =
            sqlx::query_as("SELECT code, name FROM customers WHERE id = $1")
                .bind(r.fields.customer_id.0)
                .fetch_one(&self.pool)
                .await?;
        Ok(format!("{code} {name}"))
    }

    pub async fn create_requirement(
        &self,
        actor: &Actor,
        mut f: RequirementFields,
        now: DateTime<Utc>,
    ) -> Result<Requirement> {
        f.validate()?;
        if f.collected_on.is_empty() {
            f.collected_on = now
                .with_timezone(&reqloop_domain::time::shanghai())
                .format("%Y-%m-%d")
                .to_string();
        }
        // The customer must be one the actor sees (404 otherwise, as for the customer itself).
        self.get_customer(actor, f.customer_id)
            .await
            .map_err(|e| match e {
                Error::NotFound => Error::field("customer_id", "unknown_customer"),
                other => other,
            })?;
        if let Some(p) = f.project_id {
            if !self.project_exists(p).await? {
                return Err(Error::field("project_id", "unknown_project"));
            }
        }
        let plan = self.plan_stage(f.project_id, Stage::Identification).await?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let mut created = insert_requirements(&mut tx, actor, &plan, vec![(f, None)], now).await?;
        tx.commit().await?;
        created.pop().ok_or(Error::NotFound)
    }

    pub async fn update_requirement(
        &self,
        actor: &Actor,
        id: i64,
        patch: RequirementPatch,
        now: DateTime<Utc>,
    ) -> Result<Requirement> {
        let before = self.get_requirement(actor, id).await?;
        if before.stage == Stage::Closed {
            return Err(Error::Rule("closed"));
        }
        if patch.version != before.version {
            return Err(Error::Stale);
        }
        let mut f = patch.apply(before.fields.clone());
        f.validate()?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let update = sqlx::query_as::<_, (i64,)>(
            "UPDATE requirements SET title = $1, description = $2, channel = $3, category = $4, sub_category = $5, \
             nature = $6, kind = $7, urgency = $8, source_person = $9, collected_on = $10, \
             feasibility_technical = $11, feasibility_economic = $12, feasibility_time = $13, feasibility_note = $14, \
             value_score = $15, updated_at = $16, version = version + 1 WHERE id = $17 AND version = $18 RETURNING id",
        );
        let updated = bind_fields(update, &f, &at)
            .bind(id)
            .bind(before.version)
            .fetch_optional(&mut *tx.tx)
            .await?;
        if updated.is_none() {
            return Err(Error::Stale);
        }
        let after = Requirement {
            version: before.version + 1,
            fields: f,
            updated_at: at,
            ..before.clone()
        };
        tx.audit("requirement", id, "update", Some(&before), Some(&after))
            .await?;
        tx.commit().await?;
        Ok(after)
    }

    // ---- identification items ----

    pub async fn list_items(&self, actor: &Actor, requirement: i64) -> Result<Vec<Item>> {
        self.get_requirement(actor, requirement).await?;
        let rows: Vec<ItemRow> = sqlx::query_as(
            "SELECT id, requirement_id, version, description, category, sub_category, acceptance_criterion, department_id \
             FROM requirement_items WHERE requirement_id = $1 ORDER BY id",
        )
        .bind(requirement)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(ItemRow::into_item).collect()
    }

    pub async fn add_item(
        &self,
        actor: &Actor,
        requirement: i64,
        mut f: ItemFields,
        now: DateTime<Utc>,
    ) -> Result<Item> {
        f.validate()?;
        let r = self.get_requirement(actor, requirement).await?;
        if r.stage == Stage::Closed {
            return Err(Error::Rule("closed"));
        }
        self.check_department(f.department_id).await?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO requirement_items (requirement_id, description, category, sub_category, acceptance_criterion, department_id) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(requirement)
        .bind(&f.description)
        .bind(f.category.as_str())
        .bind(f.sub_category.map(|s| s.as_str()))
        .bind(&f.acceptance_criterion)
        .bind(f.department_id.0)
        .fetch_one(&mut *tx.tx)
        .await?;
        let item = Item {
            id,
            requirement_id: requirement,
            version: 1,
            fields: f,
        };
        tx.audit("requirement_item", id, "create", None, Some(&item))
            .await?;
        handoffs::take_part(&mut tx, requirement, &[item.fields.department_id]).await?;
        tx.commit().await?;
        Ok(item)
    }

    /// Edits a line of the identification table; only while the requirement is being identified.
    pub async fn update_item(
        &self,
        actor: &Actor,
        requirement: i64,
        item: i64,
        version: i64,
        mut f: ItemFields,
        now: DateTime<Utc>,
    ) -> Result<Item> {
        f.validate()?;
        let before = self.item_for_change(actor, requirement, item).await?;
        if before.version != version {
            return Err(Error::Stale);
        }
        self.check_department(f.department_id).await?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let n = sqlx::query(
            "UPDATE requirement_items SET description = $1, category = $2, sub_category = $3, acceptance_criterion = $4, \
             department_id = $5, version = version + 1 WHERE id = $6 AND version = $7",
        )
        .bind(&f.description)
        .bind(f.category.as_str())
        .bind(f.sub_category.map(|s| s.as_str()))
        .bind(&f.acceptance_criterion)
        .bind(f.department_id.0)
        .bind(item)
        .bind(version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        let after = Item {
            version: version + 1,
            fields: f,
            ..before.clone()
        };
        tx.audit(
            "requirement_item",
            item,
            "update",
            Some(&before),
            Some(&after),
        )
        .await?;
        handoffs::take_part(&mut tx, requirement, &[after.fields.department_id]).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Removes a line of the identification table (identification stage, never reviewed).
    pub async fn remove_item(
        &self,
        actor: &Actor,
        requirement: i64,
        item: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let before = self.item_for_change(actor, requirement, item).await?;
        let (answers,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM review_answers WHERE item_id = $1")
                .bind(item)
                .fetch_one(&self.pool)
                .await?;
        if answers > 0 {
            return Err(Error::Rule("item_reviewed"));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        sqlx::query("DELETE FROM requirement_items WHERE id = $1")
            .bind(item)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit("requirement_item", item, "delete", Some(&before), None)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An item of a visible requirement that may still change (identification stage).
    async fn item_for_change(&self, actor: &Actor, requirement: i64, item: i64) -> Result<Item> {
        let r = self.get_requirement(actor, requirement).await?;
        let found = self
            .list_items(actor, requirement)
            .await?
            .into_iter()
            .find(|i| i.id == item)
            .ok_or(Error::NotFound)?;
        match r.stage {
            Stage::Closed => Err(Error::Rule("closed")),
            Stage::Identification => Ok(found),
            _ => Err(Error::Rule("items_locked")),
        }
    }

    async fn check_department(&self, d: DepartmentId) -> Result<()> {
        let dept: Option<i64> = sqlx::query_scalar("SELECT id FROM departments WHERE id = $1")
            .bind(d.0)
            .fetch_optional(&self.pool)
            .await?;
        if dept.is_none() {
            return Err(Error::field("department_id", "unknown_department"));
        }
        Ok(())
    }

    // ---- stage outputs and moves ----

    pub async fn stage_outputs(&self, actor: &Actor, requirement: i64) -> Result<Vec<StageOutput>> {
        self.get_requirement(actor, requirement).await?;
        Ok(sqlx::query_as(
            "SELECT id, stage, kind, note, actor_name, at, superseded FROM requirement_outputs WHERE requirement_id = $1 ORDER BY id",
        )
        .bind(requirement)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Files the output record of the requirement's current stage (000§3(1)).
    pub async fn add_stage_output(
        &self,
        actor: &Actor,
        requirement: i64,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<StageOutput> {
        let note = note.trim();
        if note.is_empty() {
            return Err(Error::field("note", "required"));
        }
        if note.chars().count() > 2000 {
            return Err(Error::field("note", "too_long"));
        }
        let r = self.get_requirement(actor, requirement).await?;
        if r.stage == Stage::Closed {
            return Err(Error::Rule("closed"));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let out = file_output(&mut tx, requirement, r.stage, note, &actor.username).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn transitions(&self, actor: &Actor, requirement: i64) -> Result<Vec<Transition>> {
        self.get_requirement(actor, requirement).await?;
        Ok(sqlx::query_as(
            "SELECT id, from_stage, to_stage, move AS move_kind, reason, actor_name, at FROM requirement_transitions \
             WHERE requirement_id = $1 ORDER BY id",
        )
        .bind(requirement)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Moves a requirement (F8). The rule is `requirement::transition`; this loads its facts and
    /// writes the outcome. Two concurrent moves of one requirement: one wins, the other is `Stale`.
    pub async fn transition_requirement(
        &self,
        actor: &Actor,
        id: i64,
        to: Stage,
        reason: &str,
        expected_version: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Requirement> {
        let before = self.get_requirement(actor, id).await?;
        if expected_version.is_some_and(|v| v != before.version) {
            return Err(Error::Stale);
        }
        let (items,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM requirement_items WHERE requirement_id = $1")
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
        let stages: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT stage FROM requirement_outputs WHERE requirement_id = $1 AND superseded = 0")
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
        let facts = StageFacts {
            merged: before.merged_into.is_some(),
            items: items as usize,
            outputs: stages.iter().filter_map(|s| s.parse().ok()).collect(),
        };
        let mv = requirement::transition(before.stage, to, reason, &facts).map_err(Error::Stage)?;
        let plan = self.plan_stage(before.fields.project_id, to).await?;
        // The stage's clock ends here (F23 counts it); entering a stage starts the next one
        // afresh (F22).
        let ending = plan.clock(&before, now);
        let sla_due = (to != Stage::Closed).then(|| plan.sla_due(before.fields.urgency, now));
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let n = sqlx::query(
            "UPDATE requirements SET stage = $1, stage_entered_at = $2, updated_at = $2, sla_due_at = $5, \
             waiting_since = NULL, paused_minutes = 0, version = version + 1 WHERE id = $3 AND version = $4",
        )
        .bind(to.as_str())
        .bind(&at)
        .bind(id)
        .bind(before.version)
        .bind(&sla_due)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        if mv == Move::Rework {
            let superseded: Vec<Stage> = requirement::superseded_by_rework(to).collect();
            handoffs::cancel_stage_handoffs(&mut tx, id, &superseded).await?;
            for s in superseded {
                sqlx::query("UPDATE requirement_outputs SET superseded = 1 WHERE requirement_id = $1 AND stage = $2")
                    .bind(id)
                    .bind(s.as_str())
                    .execute(&mut *tx.tx)
                    .await?;
            }
        }
        let move_name = match mv {
            Move::Forward => "forward",
            Move::Rework => "rework",
        };
        let on_time = match &ending {
            Some(clock) => {
                let (owner, _) = kpis::requirement_owner(&mut tx, id).await?;
                let key = format!("{}@{}", before.stage.as_str(), before.stage_entered_at);
                let end = kpis::ClockEnd {
                    record_type: "requirement",
                    record_id: id,
                    clock: &key,
                    owner,
                    due_at: &clock.due_at,
                };
                Some(i64::from(
                    kpis::end_clock(&mut tx, end, clock.overdue, now).await?,
                ))
            }
            None => None,
        };
        if to == Stage::Closed {
            kpis::count_completed(&mut tx, id).await?;
        }
        sqlx::query(
            "INSERT INTO requirement_transitions (requirement_id, from_stage, to_stage, move, reason, actor_id, actor_name, at, on_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(before.stage.as_str())
        .bind(to.as_str())
        .bind(move_name)
        .bind(reason.trim())
        .bind(actor.user_id.0)
        .bind(&actor.username)
        .bind(&at)
        .bind(on_time)
        .execute(&mut *tx.tx)
        .await?;
        let after = Requirement {
            version: before.version + 1,
            stage: to,
            stage_entered_at: at.clone(),
            sla_due_at: sla_due,
            waiting_since: None,
            paused_minutes: 0,
            updated_at: at,
            ..before.clone()
        };
        tx.audit("requirement", id, move_name, Some(&before), Some(&after))
            .await?;
        handoffs::open_stage_handoffs(&mut tx, id, &plan, actor, now).await?;
        tx.commit().await?;
        Ok(after)
    }
}

/// One line of the tracking ledger (跟踪台账, F23): the requirement, when it entered each stage,
/// and whether its current stage is overdue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerRow {
    pub requirement: Requirement,
    /// The latest time the requirement entered each stage (identification: when collected).
    pub entered: Vec<(Stage, String)>,
    pub due: String,
    pub overdue: bool,
    /// The current stage's response-time clock (none once closed).
    pub clock: Option<crate::sla::ClockView>,
    /// Who the current stage waits for: the receivers of its pending hand-offs.
    pub responsible: Vec<Responsible>,
}

/// A receiver the current stage waits for (the department while nobody is named).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Responsible {
    pub department_id: DepartmentId,
    pub name: Option<String>,
}

impl Store {
    /// The ledger for a page of requirements: one query for the requirements, one for their
    /// moves, one for the receivers their current stages wait for.
    pub async fn ledger(
        &self,
        actor: &Actor,
        f: &RequirementFilter,
        now: DateTime<Utc>,
    ) -> Result<Page<LedgerRow>> {
        let page = self.list_requirements(actor, f).await?;
        let ids: Vec<i64> = page.items.iter().map(|r| r.id).collect();
        let mut moves: std::collections::HashMap<i64, Vec<(String, String)>> =
            std::collections::HashMap::new();
        let mut waiting: std::collections::HashMap<i64, Vec<Responsible>> =
            std::collections::HashMap::new();
        if !ids.is_empty() {
            let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT requirement_id, to_stage, at FROM requirement_transitions WHERE requirement_id IN ({}) ORDER BY id",
                marks.join(", ")
            );
            let mut q = sqlx::query_as::<_, (i64, String, String)>(&sql);
            for id in &ids {
                q = q.bind(*id);
            }
            for (rid, stage, at) in q.fetch_all(&self.pool).await? {
                moves.entry(rid).or_default().push((stage, at));
            }
            let sql = format!(
                "SELECT h.requirement_id, h.department_id, u.display_name FROM handoffs h \
                 JOIN requirements r ON r.id = h.requirement_id AND r.stage = h.stage \
                 LEFT JOIN users u ON u.id = h.receiver_id \
                 WHERE h.requirement_id IN ({}) AND h.status IN ('open', 'acknowledged') ORDER BY h.id",
                marks.join(", ")
            );
            let mut q = sqlx::query_as::<_, (i64, i64, Option<String>)>(&sql);
            for id in &ids {
                q = q.bind(*id);
            }
            for (rid, department, name) in q.fetch_all(&self.pool).await? {
                waiting.entry(rid).or_default().push(Responsible {
                    department_id: DepartmentId(department),
                    name,
                });
            }
        }
        let calendar = self.working_calendar().await?;
        let rules = self.sla_rules().await?;
        let items = page
            .items
            .into_iter()
            .map(|r| {
                let mut entered: Vec<(Stage, String)> =
                    vec![(Stage::Identification, r.created_at.clone())];
                for (stage, at) in moves.remove(&r.id).unwrap_or_default() {
                    if let Ok(stage) = stage.parse::<Stage>() {
                        entered.retain(|(s, _)| *s != stage);
                        entered.push((stage, at));
                    }
                }
                entered.sort_by_key(|(s, _)| Stage::ALL.iter().position(|x| x == s));
                let clock = crate::sla::requirement_clock(&r, &calendar, &rules, now);
                LedgerRow {
                    entered,
                    due: clock.as_ref().map(|c| c.due_at.clone()).unwrap_or_default(),
                    overdue: clock.as_ref().is_some_and(|c| c.overdue),
                    clock,
                    responsible: waiting.remove(&r.id).unwrap_or_default(),
                    requirement: r,
                }
            })
            .collect();
        Ok(Page {
            items,
            total: page.total,
        })
    }
}

/// One line of the customer feedback register (顾客反馈信息一览表, 002§4.2A).
#[derive(Debug, Clone, Serialize, FromRow, ToSchema)]
pub struct FeedbackEntry {
    pub id: i64,
    pub requirement_id: i64,
    pub requirement_code: String,
    pub other_id: i64,
    pub customer_id: i64,
    pub note: String,
    pub actor_name: String,
    pub at: String,
}

impl Store {
    /// Marks `id` as a duplicate merged into `into` (both kept). Refused with 422 unless both are
    /// open, unmerged requirements of one customer.
    pub async fn merge_requirement(
        &self,
        actor: &Actor,
        id: i64,
        into: i64,
        version: i64,
        now: DateTime<Utc>,
    ) -> Result<Requirement> {
        let before = self.get_requirement(actor, id).await?;
        let target = self
            .get_requirement(actor, into)
            .await
            .map_err(|e| match e {
                Error::NotFound => Error::field("into", "unknown_requirement"),
                other => other,
            })?;
        if before.version != version {
            return Err(Error::Stale);
        }
        requirement::check_merge(&before, &target).map_err(Error::Stage)?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let n = sqlx::query("UPDATE requirements SET merged_into = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4")
            .bind(into)
            .bind(&at)
            .bind(id)
            .bind(version)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        let after = Requirement {
            version: version + 1,
            merged_into: Some(into),
            updated_at: at,
            ..before.clone()
        };
        tx.audit("requirement", id, "merge", Some(&before), Some(&after))
            .await?;
        // A duplicate merged away is handled (F23 completion); its clock stops uncounted.
        kpis::count_completed(&mut tx, id).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Puts an inconsistency between two requirements on the customer feedback register.
    pub async fn register_inconsistency(
        &self,
        actor: &Actor,
        id: i64,
        other: i64,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<FeedbackEntry> {
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 1000 {
            return Err(Error::field(
                "note",
                if note.is_empty() {
                    "required"
                } else {
                    "too_long"
                },
            ));
        }
        let r = self.get_requirement(actor, id).await?;
        self.get_requirement(actor, other)
            .await
            .map_err(|e| match e {
                Error::NotFound => Error::field("other_id", "unknown_requirement"),
                e => e,
            })?;
        if other == id {
            return Err(Error::field("other_id", "unknown_requirement"));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let (entry_id,): (i64,) = sqlx::query_as(
            "INSERT INTO feedback_register (requirement_id, other_id, note, actor_name, at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(id)
        .bind(other)
        .bind(note)
        .bind(&actor.username)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await?;
        let entry = FeedbackEntry {
            id: entry_id,
            requirement_id: id,
            requirement_code: r.code,
            other_id: other,
            customer_id: r.fields.customer_id.0,
            note: note.into(),
            actor_name: actor.username.clone(),
            at,
        };
        tx.audit("feedback_register", entry_id, "create", None, Some(&entry))
            .await?;
        tx.commit().await?;
        Ok(entry)
    }

    /// The customer feedback register, newest first, within the actor's scope.
    pub async fn feedback_register(
        &self,
        actor: &Actor,
        page: Option<i64>,
        per_page: Option<i64>,
    ) -> Result<Page<FeedbackEntry>> {
        let mut c = Conditions::default();
        requirement_scope(&mut c, actor, "r.");
        let (items, total) = self
            .fetch_page(
                "feedback_register f JOIN requirements r ON r.id = f.requirement_id",
                "f.id, f.requirement_id, r.code AS requirement_code, f.other_id, r.customer_id, f.note, f.actor_name, f.at",
                &c,
                "f.id DESC",
                page,
                per_page,
            )
            .await?;
        Ok(Page { items, total })
    }
}

/// Files the output record of `stage` inside a write (by hand, or by the hand-off and review
/// modules when their work is done).
pub(crate) async fn file_output(
    tx: &mut WriteTx,
    requirement: i64,
    stage: Stage,
    note: &str,
    actor_name: &str,
) -> Result<StageOutput> {
    let kind = stage.required_output().ok_or(Error::Rule("closed"))?;
    let at = tx.at.clone();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO requirement_outputs (requirement_id, stage, kind, note, actor_name, at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(requirement)
    .bind(stage.as_str())
    .bind(kind)
    .bind(note)
    .bind(actor_name)
    .bind(&at)
    .fetch_one(&mut *tx.tx)
    .await?;
    let out = StageOutput {
        id,
        stage: stage.as_str().into(),
        kind: kind.into(),
        note: note.into(),
        actor_name: actor_name.into(),
        at,
        superseded: 0,
    };
    tx.audit("requirement_output", id, "create", None, Some(&out))
        .await?;
    Ok(out)
}
