//! Customer property pages (F19): the register with the receipt form, and one item with its
//! inspection, use log, status reports, incidents and return.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::access::{self, Action};
use reqloop_domain::property::{IncidentKind, PropertyKind, PropertyState, ReceiptFields};
use reqloop_store::{
    CustomerFilter, Inspection, NewIncident, Property, PropertyFilter, PropertyMove,
};

use super::requirements::refusal;
use super::{
    choices, error_page, field_messages, filters, may, render, Chrome, FormData, Opt, Pager,
};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::export::{self, ListFormat};
use crate::AppState;

const PER_PAGE: i64 = 20;

#[derive(Template)]
#[template(path = "property_list.html")]
struct ListPage {
    c: Chrome,
    notice: String,
    rows: Vec<Property>,
    pager: Pager,
    states: Vec<Opt>,
    kinds: Vec<Opt>,
    customers: Vec<Opt>,
    can_write: bool,
    can_confidential: bool,
    v: HashMap<String, String>,
    errors: HashMap<String, String>,
}

impl ListPage {
    fn err(&self, f: &str) -> &str {
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
    fn val(&self, f: &str) -> &str {
        self.v.get(f).map(String::as_str).unwrap_or("")
    }
}

async fn list_view(
    s: &AppState,
    u: &PageUser,
    q: &HashMap<String, String>,
    form: &FormData,
    notice: String,
    errors: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let state: Option<PropertyState> = q.get("state").and_then(|v| v.parse().ok());
    let filter = PropertyFilter {
        state,
        page: Some(page),
        per_page: Some(PER_PAGE),
        ..Default::default()
    };
    let loaded = async {
        u.actor.require(Action::PropertyRead)?;
        let list = s.store.list_property(&u.actor, &filter).await?;
        let customers = s
            .store
            .list_customers(
                &u.actor,
                &CustomerFilter {
                    q: q.get("customer_q")
                        .cloned()
                        .filter(|v| !v.trim().is_empty()),
                    per_page: Some(200),
                    ..Default::default()
                },
            )
            .await?;
        Ok::<_, AppError>((list, customers))
    }
    .await;
    let (list, customers) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let t = u.t;
    let chosen = form.get("customer_id");
    let keep: Vec<(String, String)> = q.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let page = ListPage {
        c: Chrome::new(u, "property", t.t("nav.property").to_string()),
        notice,
        pager: Pager::new(page, PER_PAGE, list.total, "/property", &keep).exportable(),
        rows: list.items,
        states: choices(
            PropertyState::ALL,
            PropertyState::as_str,
            &t,
            "pstate",
            state,
        ),
        kinds: choices(
            PropertyKind::ALL,
            PropertyKind::as_str,
            &t,
            "pkind",
            form.get("kind").parse().ok(),
        ),
        customers: customers
            .items
            .iter()
            .map(|c| {
                let id = c.id.0.to_string();
                let sel = id == chosen;
                (id, format!("{} {}", c.code, c.fields.name), sel)
            })
            .collect(),
        can_write: may(&u.actor, Action::PropertyWrite),
        can_confidential: access::sees_confidential_property(&u.actor),
        v: ["name", "quantity", "unit", "received_on", "note"]
            .iter()
            .map(|k| (k.to_string(), form.get(k)))
            .collect(),
        errors,
    };
    (status, render(&page)).into_response()
}

/// The register as it is filtered, page after page (confidential items only for those
/// cleared for them, as on the page).
async fn export_list(
    s: AppState,
    u: &PageUser,
    q: &HashMap<String, String>,
    format: ListFormat,
) -> Response {
    if let Err(e) = u.actor.require(Action::PropertyRead) {
        return error_page(u, e.into());
    }
    let t = u.t;
    let filter = PropertyFilter {
        state: q.get("state").and_then(|v| v.parse().ok()),
        ..Default::default()
    };
    let headers = export::headers(
        t,
        &[
            "property.name",
            "req.customer",
            "property.kind",
            "property.quantity",
            "property.location",
            "property.state",
            "property.received_on",
        ],
    );
    let actor = u.actor.clone();
    export::paged(format, "property", headers, move |page| {
        let (s, actor, mut filter) = (s.clone(), actor.clone(), filter.clone());
        async move {
            filter.page = Some(page);
            filter.per_page = Some(export::MAX_PAGE);
            let list = s.store.list_property(&actor, &filter).await?;
            let rows = list
                .items
                .into_iter()
                .map(|p| {
                    vec![
                        p.name,
                        p.customer_name,
                        t.label("pkind", p.kind.as_str()),
                        format!("{} {}", p.quantity, p.unit),
                        p.location,
                        t.label("pstate", p.state.as_str()),
                        p.received_on,
                    ]
                })
                .collect();
            Ok((rows, export::next_page(page, list.total)))
        }
    })
    .await
}

pub async fn list(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(format) = ListFormat::in_map(&q) {
        return export_list(s, &u, &q, format).await;
    }
    let empty = FormData(vec![]);
    list_view(
        &s,
        &u,
        &q,
        &empty,
        String::new(),
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn receive(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    if let Err(e) = u.actor.require(Action::PropertyWrite) {
        return error_page(&u, e.into());
    }
    let mut e = reqloop_domain::FieldErrors::default();
    let customer: Option<i64> = form.get("customer_id").parse().ok();
    let kind: Option<PropertyKind> = form.get("kind").parse().ok();
    let quantity: Option<i64> = form.get("quantity").trim().parse().ok();
    if customer.is_none() {
        e.add("customer_id", "required");
    }
    if kind.is_none() {
        e.add("kind", "choice");
    }
    if quantity.is_none() {
        e.add("quantity", "number");
    }
    let result = match (customer, kind, quantity) {
        (Some(customer_id), Some(kind), Some(quantity)) => {
            let f = ReceiptFields {
                customer_id,
                name: form.get("name"),
                kind,
                quantity,
                unit: form.get("unit"),
                received_on: form.get("received_on"),
                confidential: form.get("confidential") == "1",
                note: form.get("note"),
            };
            s.store.receive_property(&u.actor, f, s.clock.now()).await
        }
        _ => Err(reqloop_store::Error::Invalid(e)),
    };
    let (status, notice, errors) = match result {
        Ok(p) => return Redirect::to(&format!("/property/{}", p.id)).into_response(),
        Err(reqloop_store::Error::Invalid(errors)) => (
            StatusCode::BAD_REQUEST,
            u.t.t("form.fix_errors").to_string(),
            field_messages(&u.t, &errors),
        ),
        Err(e) => {
            let e = AppError::from(e);
            (e.status, refusal(&u.t, &e), HashMap::new())
        }
    };
    list_view(&s, &u, &HashMap::new(), &form, notice, errors, status).await
}

#[derive(Template)]
#[template(path = "property.html")]
struct DetailPage {
    c: Chrome,
    notice: String,
    p: Property,
    incident_kinds: Vec<Opt>,
    can_write: bool,
}

async fn detail_view(
    s: &AppState,
    u: &PageUser,
    id: i64,
    notice: String,
    status: StatusCode,
) -> Response {
    let loaded = async {
        u.actor.require(Action::PropertyRead)?;
        Ok::<_, AppError>(s.store.get_property(&u.actor, id).await?)
    }
    .await;
    let p = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let page = DetailPage {
        c: Chrome::new(u, "property", p.name.clone()),
        notice,
        incident_kinds: choices(
            IncidentKind::ALL,
            IncidentKind::as_str,
            &u.t,
            "incident",
            None,
        ),
        can_write: may(&u.actor, Action::PropertyWrite) && p.state != PropertyState::Returned,
        p,
    };
    (status, render(&page)).into_response()
}

pub async fn detail(State(s): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    detail_view(&s, &u, id, String::new(), StatusCode::OK).await
}

/// One step from the item's page: `inspection`, `issue`, `back`, `return`, `reports`,
/// `incidents`.
pub async fn step(
    State(s): State<AppState>,
    u: PageUser,
    Path((id, step)): Path<(i64, String)>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::PropertyWrite) {
        return error_page(&u, e.into());
    }
    let (a, now, store) = (&u.actor, s.clock.now(), &s.store);
    let version = form.get("version").parse().unwrap_or(-1);
    let mv = || PropertyMove {
        version,
        to: form.get("to"),
        purpose: form.get("purpose"),
        note: form.get("note"),
    };
    let result = match step.as_str() {
        "inspection" => {
            let i = Inspection {
                version,
                passed: form.get("passed") == "1",
                note: form.get("note"),
                location: form.get("location"),
            };
            store.inspect_property(a, id, i, now).await.map(|_| ())
        }
        "issue" => store.issue_property(a, id, mv(), now).await.map(|_| ()),
        "back" => store.property_back(a, id, mv(), now).await.map(|_| ()),
        "return" => store.return_property(a, id, mv(), now).await.map(|_| ()),
        "reports" => store
            .report_property(a, id, &form.get("content"), now)
            .await
            .map(|_| ()),
        "incidents" => match form.get("kind").parse() {
            Ok(kind) => {
                let i = NewIncident {
                    kind,
                    description: form.get("description"),
                };
                store.property_incident(a, id, i, now).await.map(|_| ())
            }
            Err(_) => Err(reqloop_store::Error::field("kind", "choice")),
        },
        _ => Err(reqloop_store::Error::NotFound),
    };
    land(&s, &u, id, result).await
}

pub async fn incident_reported(
    State(s): State<AppState>,
    u: PageUser,
    Path((id, incident)): Path<(i64, i64)>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::PropertyWrite) {
        return error_page(&u, e.into());
    }
    let result = s
        .store
        .incident_reported(&u.actor, id, incident, &form.get("note"), s.clock.now())
        .await
        .map(|_| ());
    land(&s, &u, id, result).await
}

async fn land(
    s: &AppState,
    u: &PageUser,
    id: i64,
    result: Result<(), reqloop_store::Error>,
) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/property/{id}")).into_response(),
        Err(reqloop_store::Error::Invalid(errors)) => {
            let messages: Vec<String> = field_messages(&u.t, &errors).into_values().collect();
            detail_view(s, u, id, messages.join("；"), StatusCode::BAD_REQUEST).await
        }
        Err(e) => {
            let e = AppError::from(e);
            detail_view(s, u, id, refusal(&u.t, &e), e.status).await
        }
    }
}
