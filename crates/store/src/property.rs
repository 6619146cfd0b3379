//! Customer property (F19): the register and the steps of `property::next`, the use log,
//! status reports and incidents. Property is visible when its customer is; confidential
//! property only to `access::sees_confidential_property` roles.

use chrono::{DateTime, Datelike, Utc};
use reqloop_domain::access::{self, Actor};
use reqloop_domain::property::{
    self, IncidentKind, PropertyError, PropertyKind, PropertyState, PropertyStep, ReceiptFields,
};
use reqloop_domain::time::to_db;
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use utoipa::{IntoParams, ToSchema};

use crate::db::{bind_all, customer_scope, Arg, Conditions};
use crate::{Error, Page, Result, Store, Who};

/// One item of customer property with its log (the log only in the single view).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Property {
    pub id: i64,
    pub version: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub name: String,
    pub kind: PropertyKind,
    pub quantity: i64,
    pub unit: String,
    pub note: String,
    pub confidential: bool,
    /// Documents and software: the controlled number, shown with the mark "外来文件".
    pub control_number: Option<String>,
    pub external_document: bool,
    pub state: PropertyState,
    pub received_on: String,
    pub received_by: String,
    pub inspection_ok: Option<bool>,
    pub inspection_note: String,
    pub inspected_by: Option<String>,
    pub inspected_at: Option<String>,
    pub location: String,
    pub returned_on: Option<String>,
    pub return_note: String,
    pub unreported_incidents: i64,
    pub uses: Vec<PropertyUse>,
    pub reports: Vec<PropertyReport>,
    pub incidents: Vec<Incident>,
}

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct PropertyUse {
    pub id: i64,
    pub issued_to: String,
    pub purpose: String,
    pub issued_by: String,
    pub issued_at: String,
    pub back_at: Option<String>,
    pub back_note: String,
}

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct PropertyReport {
    pub id: i64,
    pub content: String,
    pub reported_by: String,
    pub reported_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema, FromRow)]
pub struct Incident {
    pub id: i64,
    pub kind: String,
    pub description: String,
    pub recorded_by: String,
    pub recorded_at: String,
    pub reported_at: Option<String>,
    pub report_note: String,
}

#[derive(FromRow)]
struct Row {
    id: i64,
    version: i64,
    customer_id: i64,
    customer_name: String,
    name: String,
    kind: String,
    quantity: i64,
    unit: String,
    note: String,
    confidential: i64,
    control_number: Option<String>,
    state: String,
    received_on: String,
    received_by: String,
    inspection_ok: Option<i64>,
    inspection_note: String,
    inspected_by: Option<String>,
    inspected_at: Option<String>,
    location: String,
    returned_on: Option<String>,
    return_note: String,
    unreported: i64,
}

const COLUMNS: &str = "p.id, p.version, p.customer_id, c.name AS customer_name, p.name, p.kind, p.quantity, \
    p.unit, p.note, p.confidential, p.control_number, p.state, p.received_on, p.received_by, p.inspection_ok, \
    p.inspection_note, p.inspected_by, p.inspected_at, p.location, p.returned_on, p.return_note, \
    (SELECT COUNT(*) FROM property_incidents i WHERE i.property_id = p.id AND i.reported_at IS NULL) AS unreported";

const FROM: &str = "property p JOIN customers c ON c.id = p.customer_id";

fn bad(what: &str) -> Error {
    Error::Other(format!("stored property has an invalid {what}"))
}

impl Row {
    fn into_property(self) -> Result<Property> {
        let kind: PropertyKind = self.kind.parse().map_err(|_| bad("kind"))?;
        Ok(Property {
            id: self.id,
            version: self.version,
            customer_id: self.customer_id,
            customer_name: self.customer_name,
            name: self.name,
            external_document: kind.controlled(),
            kind,
            quantity: self.quantity,
            unit: self.unit,
            note: self.note,
            confidential: self.confidential != 0,
            control_number: self.control_number,
            state: self.state.parse().map_err(|_| bad("state"))?,
            received_on: self.received_on,
            received_by: self.received_by,
            inspection_ok: self.inspection_ok.map(|v| v != 0),
            inspection_note: self.inspection_note,
            inspected_by: self.inspected_by,
            inspected_at: self.inspected_at,
            location: self.location,
            returned_on: self.returned_on,
            return_note: self.return_note,
            unreported_incidents: self.unreported,
            uses: vec![],
            reports: vec![],
            incidents: vec![],
        })
    }
}

/// Filters of `/property`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PropertyFilter {
    pub customer_id: Option<i64>,
    pub state: Option<PropertyState>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The inspection on receipt (quality and quantity) and where it is stored.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Inspection {
    pub version: i64,
    pub passed: bool,
    pub note: String,
    pub location: String,
}

/// A step with the version read and what it needs: `issue` (to whom, purpose), `back`,
/// `return` (note).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertyMove {
    pub version: i64,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub purpose: String,
    #[serde(default)]
    pub note: String,
}

/// An incident (loss, damage, leak, unsuitable).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    pub kind: IncidentKind,
    pub description: String,
}

fn text(field: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::field(field, "required"));
    }
    if v.chars().count() > max {
        return Err(Error::field(field, "too_long"));
    }
    Ok(v.to_string())
}

/// The property scope: the actor's customers, and confidential items only when cleared.
fn property_scope(c: &mut Conditions, actor: &Actor) {
    customer_scope(c, actor, "p.customer_id");
    if !access::sees_confidential_property(actor) {
        c.push("p.confidential = 0", []);
    }
}

impl Store {
    pub async fn list_property(&self, actor: &Actor, f: &PropertyFilter) -> Result<Page<Property>> {
        let mut c = Conditions::default();
        property_scope(&mut c, actor);
        if let Some(id) = f.customer_id {
            c.push("p.customer_id = ?", [Arg::Int(id)]);
        }
        if let Some(s) = f.state {
            c.push("p.state = ?", [Arg::Text(s.as_str().into())]);
        }
        let (rows, total) = self
            .fetch_page_counting::<Row>(
                FROM,
                "property p",
                COLUMNS,
                &c,
                "p.id DESC",
                f.page,
                f.per_page,
            )
            .await?;
        let items = rows
            .into_iter()
            .map(Row::into_property)
            .collect::<Result<_>>()?;
        Ok(Page { items, total })
    }

    pub async fn get_property(&self, actor: &Actor, id: i64) -> Result<Property> {
        let mut c = Conditions::default();
        c.push("p.id = ?", [Arg::Int(id)]);
        property_scope(&mut c, actor);
        let sql = format!("SELECT {COLUMNS} FROM {FROM}{}", c.where_clause());
        let row: Row = bind_all(sqlx::query_as(&sql), &c.args)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound)?;
        let mut p = row.into_property()?;
        p.uses = sqlx::query_as(
            "SELECT id, issued_to, purpose, issued_by, issued_at, back_at, back_note \
             FROM property_uses WHERE property_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        p.reports = sqlx::query_as(
            "SELECT id, content, reported_by, reported_at FROM property_reports WHERE property_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        p.incidents = sqlx::query_as(
            "SELECT id, kind, description, recorded_by, recorded_at, reported_at, report_note \
             FROM property_incidents WHERE property_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(p)
    }

    /// Registers a receipt; documents and software get their controlled number.
    pub async fn receive_property(
        &self,
        actor: &Actor,
        mut f: ReceiptFields,
        now: DateTime<Utc>,
    ) -> Result<Property> {
        f.validate()?;
        self.get_customer(actor, reqloop_domain::ids::CustomerId(f.customer_id))
            .await
            .map_err(|e| match e {
                Error::NotFound => Error::field("customer_id", "unknown_customer"),
                e => e,
            })?;
        if f.confidential && !access::sees_confidential_property(actor) {
            return Err(Error::Forbidden("confidential"));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO property (customer_id, name, kind, quantity, unit, note, confidential, state, received_on, \
             received_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(f.customer_id)
        .bind(&f.name)
        .bind(f.kind.as_str())
        .bind(f.quantity)
        .bind(&f.unit)
        .bind(&f.note)
        .bind(i64::from(f.confidential))
        .bind(PropertyState::Received.as_str())
        .bind(&f.received_on)
        .bind(&actor.username)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await?;
        if f.kind.controlled() {
            sqlx::query("UPDATE property SET control_number = $1 WHERE id = $2")
                .bind(property::control_number(now.year(), id))
                .bind(id)
                .execute(&mut *tx.tx)
                .await?;
        }
        tx.audit("property", id, "receive", None, Some(&f)).await?;
        tx.commit().await?;
        self.get_property(actor, id).await
    }

    /// Moves the property one step, with the version read; `extra` sets more columns.
    async fn property_step(
        &self,
        actor: &Actor,
        id: i64,
        version: i64,
        step: PropertyStep,
        now: DateTime<Utc>,
    ) -> Result<(Property, PropertyState, crate::db::WriteTx)> {
        let p = self.get_property(actor, id).await?;
        if p.version != version {
            return Err(Error::Stale);
        }
        let to = property::next(p.state, step, p.unreported_incidents as usize)
            .map_err(|e| Error::Rule(e.code()))?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let n = sqlx::query(
            "UPDATE property SET state = $1, version = version + 1 WHERE id = $2 AND version = $3",
        )
        .bind(to.as_str())
        .bind(id)
        .bind(p.version)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::Stale);
        }
        Ok((p, to, tx))
    }

    /// The inspection on receipt and the storage place.
    pub async fn inspect_property(
        &self,
        actor: &Actor,
        id: i64,
        i: Inspection,
        now: DateTime<Utc>,
    ) -> Result<Property> {
        let note = text("note", &i.note, 2000)?;
        let location = text("location", &i.location, 200)?;
        let (_, to, mut tx) = self
            .property_step(actor, id, i.version, PropertyStep::Inspect, now)
            .await?;
        let at = tx.at.clone();
        sqlx::query(
            "UPDATE property SET inspection_ok = $1, inspection_note = $2, inspected_by = $3, inspected_at = $4, \
             location = $5 WHERE id = $6",
        )
        .bind(i64::from(i.passed))
        .bind(&note)
        .bind(&actor.username)
        .bind(&at)
        .bind(&location)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit(
            "property",
            id,
            "inspect",
            None,
            Some(&serde_json::json!({"state": to, "passed": i.passed, "note": note, "location": location})),
        )
        .await?;
        tx.commit().await?;
        self.get_property(actor, id).await
    }

    /// Issues the property for use (to whom, for what).
    pub async fn issue_property(
        &self,
        actor: &Actor,
        id: i64,
        m: PropertyMove,
        now: DateTime<Utc>,
    ) -> Result<Property> {
        let to_whom = text("to", &m.to, 100)?;
        let purpose = text("purpose", &m.purpose, 500)?;
        let (_, to, mut tx) = self
            .property_step(actor, id, m.version, PropertyStep::Issue, now)
            .await?;
        let at = tx.at.clone();
        sqlx::query(
            "INSERT INTO property_uses (property_id, issued_to, purpose, issued_by, issued_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&to_whom)
        .bind(&purpose)
        .bind(&actor.username)
        .bind(&at)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit(
            "property",
            id,
            "issue",
            None,
            Some(&serde_json::json!({"state": to, "to": to_whom, "purpose": purpose})),
        )
        .await?;
        tx.commit().await?;
        self.get_property(actor, id).await
    }

    /// Brings issued property back into storage.
    pub async fn property_back(
        &self,
        actor: &Actor,
        id: i64,
        m: PropertyMove,
        now: DateTime<Utc>,
    ) -> Result<Property> {
        let (_, to, mut tx) = self
            .property_step(actor, id, m.version, PropertyStep::Back, now)
            .await?;
        let at = tx.at.clone();
        sqlx::query(
            "UPDATE property_uses SET back_at = $1, back_note = $2 WHERE property_id = $3 AND back_at IS NULL",
        )
        .bind(&at)
        .bind(m.note.trim())
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit(
            "property",
            id,
            "back",
            None,
            Some(&serde_json::json!({"state": to})),
        )
        .await?;
        tx.commit().await?;
        self.get_property(actor, id).await
    }

    /// Returns the property to the customer, which closes it (422 `incident_unreported` while an
    /// incident has not been reported to the customer).
    pub async fn return_property(
        &self,
        actor: &Actor,
        id: i64,
        m: PropertyMove,
        now: DateTime<Utc>,
    ) -> Result<Property> {
        let note = text("note", &m.note, 2000)?;
        let (_, to, mut tx) = self
            .property_step(actor, id, m.version, PropertyStep::Return, now)
            .await?;
        sqlx::query("UPDATE property SET returned_on = $1, return_note = $2 WHERE id = $3")
            .bind(reqloop_domain::time::shanghai_date(now).to_string())
            .bind(&note)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "property",
            id,
            "return",
            None,
            Some(&serde_json::json!({"state": to, "note": note})),
        )
        .await?;
        tx.commit().await?;
        self.get_property(actor, id).await
    }

    /// A status report to the customer (002§4.4C).
    pub async fn report_property(
        &self,
        actor: &Actor,
        id: i64,
        content: &str,
        now: DateTime<Utc>,
    ) -> Result<Property> {
        let content = text("content", content, 2000)?;
        let p = self.get_property(actor, id).await?;
        if p.state == PropertyState::Returned {
            return Err(Error::Rule(PropertyError::Returned.code()));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        sqlx::query(
            "INSERT INTO property_reports (property_id, content, reported_by, reported_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(&content)
        .bind(&actor.username)
        .bind(&at)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit("property", id, "report", None, Some(&content))
            .await?;
        tx.commit().await?;
        self.get_property(actor, id).await
    }

    /// Records an incident; it stays open until reported to the customer.
    pub async fn property_incident(
        &self,
        actor: &Actor,
        id: i64,
        i: NewIncident,
        now: DateTime<Utc>,
    ) -> Result<Property> {
        let description = text("description", &i.description, 2000)?;
        let p = self.get_property(actor, id).await?;
        if p.state == PropertyState::Returned {
            return Err(Error::Rule(PropertyError::Returned.code()));
        }
        let mut tx = self.write(&Who::from(actor), now).await?;
        let at = tx.at.clone();
        let (iid,): (i64,) = sqlx::query_as(
            "INSERT INTO property_incidents (property_id, kind, description, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(id)
        .bind(i.kind.as_str())
        .bind(&description)
        .bind(&actor.username)
        .bind(&at)
        .fetch_one(&mut *tx.tx)
        .await?;
        tx.audit(
            "property_incident",
            iid,
            "create",
            None,
            Some(
                &serde_json::json!({"property_id": id, "kind": i.kind, "description": description}),
            ),
        )
        .await?;
        tx.commit().await?;
        self.get_property(actor, id).await
    }

    /// Records how an incident was reported to the customer.
    pub async fn incident_reported(
        &self,
        actor: &Actor,
        id: i64,
        incident: i64,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Property> {
        let note = text("note", note, 2000)?;
        self.get_property(actor, id).await?;
        let mut tx = self.write(&Who::from(actor), now).await?;
        let n = sqlx::query(
            "UPDATE property_incidents SET reported_at = $1, report_note = $2 \
             WHERE id = $3 AND property_id = $4 AND reported_at IS NULL",
        )
        .bind(to_db(now))
        .bind(&note)
        .bind(incident)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(Error::NotFound);
        }
        tx.audit("property_incident", incident, "reported", None, Some(&note))
            .await?;
        tx.commit().await?;
        self.get_property(actor, id).await
    }
}
