//! Orders under a contract (F13): delivery and production batches. An order is visible exactly
//! when its contract is.

use chrono::{DateTime, Utc};
use reqloop_domain::access::Actor;
use reqloop_domain::contract::PermitStatus;
use reqloop_domain::delivery::{self, Check, CheckItem, DeliveryFacts};
use reqloop_domain::order::{self, DeliveryBatch, OrderFields, ProductionBatch};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::db::{customer_scope, unique, Arg, Conditions, WriteTx};
use crate::{Error, Page, Result, Store, Who};

/// An order with its batches and whether production covers delivery.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Order {
    pub id: i64,
    pub version: i64,
    pub contract_id: i64,
    pub status: String,
    #[serde(flatten)]
    pub fields: OrderFields,
    /// Production covers every delivery promise in time, and the totals match.
    pub batches_consistent: bool,
    pub delivered_at: Option<String>,
    pub delivered_by: Option<String>,
    /// Why it was delivered although pre-delivery items failed (empty when none failed).
    pub waiver: String,
    pub created_by: String,
    pub created_at: String,
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: i64,
    version: i64,
    contract_id: i64,
    number: String,
    status: String,
    created_by: String,
    created_at: String,
    delivered_at: Option<String>,
    delivered_by: Option<String>,
    waiver: String,
}

/// An order as listed: with its contract and customer, without its batches.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct OrderSummary {
    pub id: i64,
    pub version: i64,
    pub number: String,
    pub status: String,
    pub contract_id: i64,
    pub contract_number: String,
    pub customer_id: i64,
    pub delivered_at: Option<String>,
    pub created_at: String,
}

/// Filters of `/orders`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderFilter {
    /// `open` or `delivered`.
    pub status: Option<String>,
    pub contract_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl Store {
    /// Orders of the customers the actor sees, newest first.
    pub async fn list_orders(&self, actor: &Actor, f: &OrderFilter) -> Result<Page<OrderSummary>> {
        let mut c = Conditions::default();
        customer_scope(&mut c, actor, "k.customer_id");
        if let Some(s) = f.status.as_deref().filter(|s| !s.is_empty()) {
            if s != "open" && s != "delivered" {
                return Err(Error::field("status", "choice"));
            }
            c.push("o.status = ?", [Arg::Text(s.into())]);
        }
        if let Some(k) = f.contract_id {
            c.push("o.contract_id = ?", [Arg::Int(k)]);
        }
        if let Some(k) = f.customer_id {
            c.push("k.customer_id = ?", [Arg::Int(k)]);
        }
        let (items, total) = self
            .fetch_page(
                "orders o JOIN contracts k ON k.id = o.contract_id",
                "o.id, o.version, o.number, o.status, o.contract_id, k.number AS contract_number, \
                 k.customer_id, o.delivered_at, o.created_at",
                &c,
                "o.id DESC",
                f.page,
                f.per_page,
            )
            .await?;
        Ok(Page { items, total })
    }

    pub async fn create_order(
        &self,
        actor: &Actor,
        contract: i64,
        mut f: OrderFields,
        now: DateTime<Utc>,
    ) -> Result<Order> {
        f.validate()?;
        let c = self.get_contract(actor, contract).await?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let id = insert_order(&mut tx, actor, contract, c.current_version, &f).await?;
        tx.commit().await?;
        self.get_order(actor, id).await
    }

    /// The orders of a contract, oldest first (three queries, whatever their number).
    pub async fn contract_orders(&self, actor: &Actor, contract: i64) -> Result<Vec<Order>> {
        self.get_contract(actor, contract).await?;
        self.load_orders("o.contract_id = $1", contract).await
    }

    pub async fn get_order(&self, actor: &Actor, id: i64) -> Result<Order> {
        let contract: Option<i64> =
            sqlx::query_scalar("SELECT contract_id FROM orders WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        self.get_contract(actor, contract.ok_or(Error::NotFound)?)
            .await?;
        self.load_orders("o.id = $1", id)
            .await?
            .pop()
            .ok_or(Error::NotFound)
    }

    /// The orders matching `condition` (on `o`, one `$1` bound to `arg`) with their batches.
    async fn load_orders(&self, condition: &str, arg: i64) -> Result<Vec<Order>> {
        let rows: Vec<OrderRow> = sqlx::query_as(&format!(
            "SELECT o.id, o.version, o.contract_id, o.number, o.status, o.created_by, o.created_at, \
             o.delivered_at, o.delivered_by, o.waiver FROM orders o WHERE {condition} ORDER BY o.id LIMIT 500"
        ))
        .bind(arg)
        .fetch_all(&self.pool)
        .await?;
        let delivery: Vec<(i64, i64, String)> = sqlx::query_as(&format!(
            "SELECT b.order_id, b.quantity, b.promised_on FROM delivery_batches b \
             JOIN orders o ON o.id = b.order_id WHERE {condition} ORDER BY b.order_id, b.seq"
        ))
        .bind(arg)
        .fetch_all(&self.pool)
        .await?;
        let production: Vec<(i64, i64, String, Option<String>)> = sqlx::query_as(&format!(
            "SELECT b.order_id, b.quantity, b.planned_on, b.actual_on FROM production_batches b \
             JOIN orders o ON o.id = b.order_id WHERE {condition} ORDER BY b.order_id, b.seq"
        ))
        .bind(arg)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|o| {
                let fields = OrderFields {
                    number: o.number,
                    delivery: delivery
                        .iter()
                        .filter(|b| b.0 == o.id)
                        .map(|(_, quantity, promised_on)| DeliveryBatch {
                            quantity: *quantity,
                            promised_on: promised_on.clone(),
                        })
                        .collect(),
                    production: production
                        .iter()
                        .filter(|b| b.0 == o.id)
                        .map(|(_, quantity, planned_on, actual_on)| ProductionBatch {
                            quantity: *quantity,
                            planned_on: planned_on.clone(),
                            actual_on: actual_on.clone(),
                        })
                        .collect(),
                };
                Order {
                    id: o.id,
                    version: o.version,
                    contract_id: o.contract_id,
                    status: o.status,
                    batches_consistent: order::batches_consistent(
                        &fields.delivery,
                        &fields.production,
                    ),
                    fields,
                    created_by: o.created_by,
                    created_at: o.created_at,
                    delivered_at: o.delivered_at,
                    delivered_by: o.delivered_by,
                    waiver: o.waiver,
                }
            })
            .collect())
    }

    /// Records when a production batch was actually made (`seq` from 1).
    pub async fn production_done(
        &self,
        actor: &Actor,
        order: i64,
        seq: i64,
        actual_on: &str,
        now: DateTime<Utc>,
    ) -> Result<Order> {
        let actual_on = actual_on.trim();
        if chrono::NaiveDate::parse_from_str(actual_on, "%Y-%m-%d").is_err() {
            return Err(Error::field("actual_on", "date"));
        }
        self.get_order(actor, order).await?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let n = sqlx::query(
            "UPDATE production_batches SET actual_on = $1 WHERE order_id = $2 AND seq = $3",
        )
        .bind(actual_on)
        .bind(order)
        .bind(seq)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::NotFound);
        }
        tx.audit(
            "production_batch",
            format!("{order}/{seq}"),
            "done",
            None,
            Some(&actual_on),
        )
        .await?;
        tx.commit().await?;
        self.get_order(actor, order).await
    }
}

impl Store {
    /// The pre-delivery checklist of an order (F15): data-decided items computed now, the others
    /// as people recorded them.
    pub async fn order_checks(&self, actor: &Actor, order: i64) -> Result<Vec<Check>> {
        let o = self.get_order(actor, order).await?;
        let contract = self.get_contract(actor, o.contract_id).await?;
        let order_version: i64 =
            sqlx::query_scalar("SELECT contract_version FROM orders WHERE id = $1")
                .bind(order)
                .fetch_one(&self.pool)
                .await?;
        let (open_clauses, pending_permits) = if contract.current_version > 0 {
            let table = self.contract_version(actor, contract.id, None).await?;
            let open = table.lines.iter().filter(|l| l.pending).count();
            let waiting = table
                .lines
                .iter()
                .flat_map(|l| &l.permits)
                .filter(|p| p.status == PermitStatus::Requested.as_str())
                .count();
            (open, waiting)
        } else {
            (0, 0)
        };
        let open_changes: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM changes WHERE contract_id = $1 AND state IN ({})",
            crate::changes::open_states_sql()
        ))
        .bind(contract.id)
        .fetch_one(&self.pool)
        .await?;
        let facts = DeliveryFacts {
            order_version,
            current_version: contract.current_version,
            open_clauses,
            pending_permits,
            open_changes: open_changes as usize,
            batches_consistent: o.batches_consistent,
        };
        let rows: Vec<(String, i64, String)> =
            sqlx::query_as("SELECT item, passed, note FROM delivery_checks WHERE order_id = $1")
                .bind(order)
                .fetch_all(&self.pool)
                .await?;
        let recorded: Vec<(CheckItem, bool, String)> = rows
            .into_iter()
            .filter_map(|(item, passed, note)| Some((item.parse().ok()?, passed != 0, note)))
            .collect();
        Ok(delivery::checklist(&facts, &recorded))
    }

    /// Records a checklist item that people decide (422 `decided_by_data` for the others).
    pub async fn record_check(
        &self,
        actor: &Actor,
        order: i64,
        item: CheckItem,
        passed: bool,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Check>> {
        let note = note.trim();
        if note.chars().count() > 1000 {
            return Err(Error::field("note", "too_long"));
        }
        if item.decided_by_data() {
            return Err(Error::Rule("decided_by_data"));
        }
        let o = self.get_order(actor, order).await?;
        if o.status == "delivered" {
            return Err(Error::Rule("delivered"));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        sqlx::query(
            "INSERT INTO delivery_checks (order_id, item, passed, note, checked_by, checked_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_id, item) DO UPDATE SET \
             passed = excluded.passed, note = excluded.note, checked_by = excluded.checked_by, \
             checked_at = excluded.checked_at",
        )
        .bind(order)
        .bind(item.as_str())
        .bind(i64::from(passed))
        .bind(note)
        .bind(&actor.username)
        .bind(&at)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit(
            "delivery_check",
            format!("{order}/{item}"),
            "record",
            None,
            Some(&serde_json::json!({"passed": passed, "note": note})),
        )
        .await?;
        tx.commit().await?;
        self.order_checks(actor, order).await
    }

    /// Marks the order delivered: refused with the failing items until every item passes, or
    /// an authorised user (checked by the caller) records a waiver with a reason.
    pub async fn deliver_order(
        &self,
        actor: &Actor,
        order: i64,
        waiver: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Order> {
        let o = self.get_order(actor, order).await?;
        if o.status == "delivered" {
            return Err(Error::Rule("delivered"));
        }
        let checks = self.order_checks(actor, order).await?;
        delivery::may_deliver(&checks, waiver).map_err(Error::DeliveryBlocked)?;
        let waiver = if delivery::failing(&checks).is_empty() {
            ""
        } else {
            waiver.unwrap_or("").trim()
        };
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let n = sqlx::query(
            "UPDATE orders SET status = 'delivered', delivered_at = $1, delivered_by = $2, waiver = $3, \
             version = version + 1 WHERE id = $4 AND status = 'open'",
        )
        .bind(&at)
        .bind(&actor.username)
        .bind(waiver)
        .bind(order)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        tx.audit(
            "order",
            order,
            "deliver",
            None,
            Some(&serde_json::json!({"waiver": waiver, "checks": checks})),
        )
        .await?;
        tx.commit().await?;
        self.get_order(actor, order).await
    }
}

/// A new order of a contract (at the contract's version in force) with its batches, inside
/// `tx`, with its audit entry. `f` is valid and the number free.
pub(crate) async fn insert_order(
    tx: &mut WriteTx,
    actor: &Actor,
    contract: i64,
    contract_version: i64,
    f: &OrderFields,
) -> Result<i64> {
    let at = tx.at.clone();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO orders (contract_id, contract_version, number, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(contract)
    .bind(contract_version)
    .bind(&f.number)
    .bind(&actor.username)
    .bind(&at)
    .fetch_one(&mut *tx.tx)
    .await
    .map_err(unique("number"))?;
    for (seq, b) in f.delivery.iter().enumerate() {
        sqlx::query(
            "INSERT INTO delivery_batches (order_id, seq, quantity, promised_on) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(seq as i64 + 1)
        .bind(b.quantity)
        .bind(&b.promised_on)
        .execute(&mut *tx.tx)
        .await?;
    }
    for (seq, b) in f.production.iter().enumerate() {
        sqlx::query(
            "INSERT INTO production_batches (order_id, seq, quantity, planned_on, actual_on) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(seq as i64 + 1)
        .bind(b.quantity)
        .bind(&b.planned_on)
        .bind(&b.actual_on)
        .execute(&mut *tx.tx)
        .await?;
    }
    tx.audit("order", id, "create", None, Some(f)).await?;
    Ok(id)
}
