//! Order pages (F15): the orders list and one order with its batches, the pre-delivery
//! checklist (data-decided items computed, the others recorded here) and delivery — refused
//! with the failing items unless an authorised user gives a waiver.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::access::Action;
use reqloop_domain::delivery::{self, Check, CheckItem};
use reqloop_domain::time::display_local;
use reqloop_store::{Order, OrderFilter, OrderSummary};

use super::requirements::refusal;
use super::{error_page, filters, may, render, Chrome, FormData, Opt, Pager};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::export::{self, ListFormat};
use crate::AppState;

const PER_PAGE: i64 = 20;

#[derive(Template)]
#[template(path = "orders.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<(OrderSummary, String)>,
    pager: Pager,
    statuses: Vec<Opt>,
}

/// The orders as they are filtered, page after page.
async fn export_list(
    s: AppState,
    u: &PageUser,
    filter: OrderFilter,
    format: ListFormat,
) -> Response {
    let t = u.t;
    let headers = export::headers(
        t,
        &[
            "order.number",
            "req.customer",
            "change.contract",
            "order.status",
            "order.delivered_at",
        ],
    );
    let actor = u.actor.clone();
    export::paged(format, "orders", headers, move |page| {
        let (s, actor, mut filter) = (s.clone(), actor.clone(), filter.clone());
        async move {
            filter.page = Some(page);
            filter.per_page = Some(export::MAX_PAGE);
            let list = s.store.list_orders(&actor, &filter).await?;
            let ids: Vec<i64> = list.items.iter().map(|o| o.customer_id).collect();
            let names = s.store.customer_names(&actor, &ids).await?;
            let rows = list
                .items
                .into_iter()
                .map(|o| {
                    vec![
                        o.number,
                        names.get(&o.customer_id).cloned().unwrap_or_default(),
                        o.contract_number,
                        t.label("order", &o.status),
                        o.delivered_at
                            .as_deref()
                            .map(display_local)
                            .unwrap_or_default(),
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
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let status = q.get("status").cloned().unwrap_or_default();
    let filter = OrderFilter {
        status: Some(status.clone()),
        page: Some(page),
        per_page: Some(PER_PAGE),
        ..Default::default()
    };
    if let Some(format) = ListFormat::in_map(&q) {
        return export_list(s, &u, filter, format).await;
    }
    let loaded = async {
        let list = s.store.list_orders(&u.actor, &filter).await?;
        let ids: Vec<i64> = list.items.iter().map(|o| o.customer_id).collect();
        let names = s.store.customer_names(&u.actor, &ids).await?;
        Ok::<_, AppError>((list, names))
    }
    .await;
    let (list, names) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(&u, e),
    };
    let keep: Vec<(String, String)> = q.into_iter().collect();
    render(&ListPage {
        c: Chrome::new(&u, "deliveries", u.t.t("nav.deliveries").to_string()),
        pager: Pager::new(page, PER_PAGE, list.total, "/orders", &keep).exportable(),
        rows: list
            .items
            .into_iter()
            .map(|o| {
                let name = names.get(&o.customer_id).cloned().unwrap_or_default();
                (o, name)
            })
            .collect(),
        statuses: ["open", "delivered"]
            .iter()
            .map(|v| (v.to_string(), u.t.label("order", v), *v == status))
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "order.html")]
struct DetailPage {
    c: Chrome,
    notice: String,
    o: Order,
    contract: String,
    customer: String,
    customer_id: i64,
    /// (check, label, failing)
    checks: Vec<(Check, String, bool)>,
    failing: usize,
    can_record: bool,
    can_deliver: bool,
    can_waive: bool,
}

async fn detail_view(
    s: &AppState,
    u: &PageUser,
    id: i64,
    notice: String,
    status: StatusCode,
) -> Response {
    let loaded = async {
        let o = s.store.get_order(&u.actor, id).await?;
        let contract = s.store.get_contract(&u.actor, o.contract_id).await?;
        let checks = s.store.order_checks(&u.actor, id).await?;
        let names = s
            .store
            .customer_names(&u.actor, &[contract.fields.customer_id.0])
            .await?;
        Ok::<_, AppError>((o, contract, checks, names))
    }
    .await;
    let (o, contract, checks, names) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let failing = delivery::failing(&checks);
    let open = o.status == "open";
    let page = DetailPage {
        c: Chrome::new(
            u,
            "deliveries",
            format!("{} {}", u.t.t("order.title"), o.fields.number),
        ),
        notice,
        contract: format!("{} {}", contract.fields.number, contract.fields.title),
        customer: names
            .get(&contract.fields.customer_id.0)
            .cloned()
            .unwrap_or_default(),
        customer_id: contract.fields.customer_id.0,
        checks: checks
            .into_iter()
            .map(|c| {
                let label = u.t.label("check", c.item.as_str());
                let fails = failing.contains(&c.item);
                (c, label, fails)
            })
            .collect(),
        failing: failing.len(),
        can_record: open && may(&u.actor, Action::ContractRespond),
        can_deliver: open && may(&u.actor, Action::ContractWrite),
        can_waive: open && may(&u.actor, Action::DeliveryWaive),
        o,
    };
    (status, render(&page)).into_response()
}

pub async fn detail(State(s): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    detail_view(&s, &u, id, String::new(), StatusCode::OK).await
}

/// Where an order action lands: the order page, with the refusal above it when refused.
async fn land<T>(
    s: &AppState,
    u: &PageUser,
    id: i64,
    result: Result<T, reqloop_store::Error>,
) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!("/orders/{id}#checks")).into_response(),
        Err(reqloop_store::Error::DeliveryBlocked(failing)) => {
            let items: Vec<String> = failing
                .iter()
                .map(|i| u.t.label("check", i.as_str()))
                .collect();
            let notice = format!("{}：{}", u.t.t("rule.delivery_blocked"), items.join("、"));
            detail_view(s, u, id, notice, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(reqloop_store::Error::Invalid(errors)) => {
            let messages: Vec<String> =
                super::field_messages(&u.t, &errors).into_values().collect();
            detail_view(s, u, id, messages.join("；"), StatusCode::BAD_REQUEST).await
        }
        Err(e) => {
            let e = AppError::from(e);
            detail_view(s, u, id, refusal(&u.t, &e), e.status).await
        }
    }
}

pub async fn record_check(
    State(s): State<AppState>,
    u: PageUser,
    Path((id, item)): Path<(i64, String)>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::ContractRespond) {
        return error_page(&u, e.into());
    }
    let Ok(item) = item.parse::<CheckItem>() else {
        return error_page(&u, reqloop_store::Error::NotFound.into());
    };
    let result = s
        .store
        .record_check(
            &u.actor,
            id,
            item,
            form.get("passed") == "1",
            &form.get("note"),
            s.clock.now(),
        )
        .await;
    land(&s, &u, id, result).await
}

pub async fn deliver(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::ContractWrite) {
        return error_page(&u, e.into());
    }
    let waiver = form.get("waiver");
    let waiver = waiver.trim();
    if !waiver.is_empty() {
        if let Err(e) = u.actor.require(Action::DeliveryWaive) {
            return error_page(&u, e.into());
        }
    }
    let result = s
        .store
        .deliver_order(
            &u.actor,
            id,
            (!waiver.is_empty()).then_some(waiver),
            s.clock.now(),
        )
        .await;
    land(&s, &u, id, result).await
}
