//! `/api/v1/contracts` (F13): contracts and technical agreements, their versions and the CBC
//! response table with deviation permits.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use reqloop_domain::access::Action;
use reqloop_domain::contract::{ContractFields, NewVersion, PermitDecision};
use reqloop_store::{
    CbcLine, Contract, ContractFilter, ContractVersion, Page, Permit, PermitRequest,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContractList {
    items: Vec<Contract>,
    total: i64,
}

#[utoipa::path(get, path = "/api/v1/contracts", tag = "contracts", params(ContractFilter),
    responses((status = 200, body = ContractList), (status = 400, body = super::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(f): ApiQuery<ContractFilter>,
) -> Result<Json<Page<Contract>>, AppError> {
    actor.require(Action::CustomerRead)?;
    Ok(Json(s.store.list_contracts(&actor, &f).await?))
}

#[utoipa::path(post, path = "/api/v1/contracts", tag = "contracts", request_body = ContractFields,
    responses((status = 201, body = Contract), (status = 400, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(f): ApiJson<ContractFields>,
) -> Result<(StatusCode, Json<Contract>), AppError> {
    actor.require(Action::ContractWrite)?;
    let c = s.store.create_contract(&actor, f, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[utoipa::path(get, path = "/api/v1/contracts/{id}", tag = "contracts", params(("id" = i64, Path)),
    responses((status = 200, body = Contract), (status = 404, body = super::ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Contract>, AppError> {
    actor.require(Action::CustomerRead)?;
    Ok(Json(s.store.get_contract(&actor, id).await?))
}

/// Saves a new version of the clauses (409 when `base_version` is not the version in force).
#[utoipa::path(post, path = "/api/v1/contracts/{id}/versions", tag = "contracts", params(("id" = i64, Path)),
    request_body = NewVersion,
    responses((status = 201, body = ContractVersion), (status = 400, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn add_version(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(v): ApiJson<NewVersion>,
) -> Result<(StatusCode, Json<ContractVersion>), AppError> {
    actor.require(Action::ContractWrite)?;
    let saved = s
        .store
        .add_contract_version(&actor, id, v, s.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// A version with its CBC response table (`pending` marks what is still open).
#[utoipa::path(get, path = "/api/v1/contracts/{id}/versions/{version_no}", tag = "contracts",
    params(("id" = i64, Path), ("version_no" = i64, Path)),
    responses((status = 200, body = ContractVersion), (status = 404, body = super::ErrorBody)))]
pub async fn version(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((id, version_no)): Path<(i64, i64)>,
) -> Result<Json<ContractVersion>, AppError> {
    actor.require(Action::CustomerRead)?;
    Ok(Json(
        s.store
            .contract_version(&actor, id, Some(version_no))
            .await?,
    ))
}

/// The body of a response: `version` and the response's fields (read by `with_version`).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct ResponseRequest {
    /// The response's version the client read: 0 for a first answer.
    pub version: i64,
    #[serde(flatten)]
    pub fields: reqloop_domain::contract::ResponseFields,
}

/// Answers a clause (comply / partial / deviate / open); only clauses of the version in force.
#[utoipa::path(put, path = "/api/v1/clauses/{id}/response", tag = "contracts", params(("id" = i64, Path)),
    request_body = ResponseRequest,
    responses((status = 200, body = CbcLine), (status = 400, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn respond(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<CbcLine>, AppError> {
    actor.require(Action::ContractRespond)?;
    let (version, fields) = super::with_version(body)?;
    Ok(Json(
        s.store
            .respond_to_clause(&actor, id, version, fields, s.clock.now())
            .await?,
    ))
}

/// Asks the customer for a deviation permit on a deviating clause.
#[utoipa::path(post, path = "/api/v1/clauses/{id}/permits", tag = "contracts", params(("id" = i64, Path)),
    request_body = PermitRequest,
    responses((status = 201, body = Permit), (status = 400, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn request_permit(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<PermitRequest>,
) -> Result<(StatusCode, Json<Permit>), AppError> {
    actor.require(Action::ContractRespond)?;
    let p = s
        .store
        .request_permit(&actor, id, &req.note, s.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// Records the customer's decision on a permit, with its date and evidence.
#[utoipa::path(post, path = "/api/v1/permits/{id}/decision", tag = "contracts", params(("id" = i64, Path)),
    request_body = PermitDecision,
    responses((status = 200, body = Permit), (status = 400, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn decide_permit(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(d): ApiJson<PermitDecision>,
) -> Result<Json<Permit>, AppError> {
    actor.require(Action::ContractWrite)?;
    Ok(Json(
        s.store.decide_permit(&actor, id, d, s.clock.now()).await?,
    ))
}

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PendingList {
    items: Vec<reqloop_store::PendingClause>,
    total: i64,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Open CBC clauses and deviations without an approved permit, across the versions in force.
#[utoipa::path(get, path = "/api/v1/cbc/pending", tag = "contracts", params(PageQuery),
    responses((status = 200, body = PendingList)))]
pub async fn pending(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<reqloop_store::PendingClause>>, AppError> {
    actor.require(Action::CustomerRead)?;
    Ok(Json(
        s.store.pending_clauses(&actor, q.page, q.per_page).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/contracts/{id}/orders", tag = "contracts", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<reqloop_store::Order>), (status = 404, body = super::ErrorBody)))]
pub async fn orders(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<reqloop_store::Order>>, AppError> {
    actor.require(Action::CustomerRead)?;
    Ok(Json(s.store.contract_orders(&actor, id).await?))
}

/// An order under the contract with its delivery and production batches.
#[utoipa::path(post, path = "/api/v1/contracts/{id}/orders", tag = "contracts", params(("id" = i64, Path)),
    request_body = reqloop_domain::order::OrderFields,
    responses((status = 201, body = reqloop_store::Order), (status = 400, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn create_order(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<reqloop_domain::order::OrderFields>,
) -> Result<(StatusCode, Json<reqloop_store::Order>), AppError> {
    actor.require(Action::ContractWrite)?;
    let o = s.store.create_order(&actor, id, f, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(o)))
}

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct OrderList {
    items: Vec<reqloop_store::OrderSummary>,
    total: i64,
}

/// Orders of the customers the caller sees, newest first.
#[utoipa::path(get, path = "/api/v1/orders", tag = "contracts", params(reqloop_store::OrderFilter),
    responses((status = 200, body = OrderList), (status = 400, body = super::ErrorBody)))]
pub async fn list_orders(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(f): ApiQuery<reqloop_store::OrderFilter>,
) -> Result<Json<Page<reqloop_store::OrderSummary>>, AppError> {
    actor.require(Action::CustomerRead)?;
    Ok(Json(s.store.list_orders(&actor, &f).await?))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "contracts", params(("id" = i64, Path)),
    responses((status = 200, body = reqloop_store::Order), (status = 404, body = super::ErrorBody)))]
pub async fn order(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<reqloop_store::Order>, AppError> {
    actor.require(Action::CustomerRead)?;
    Ok(Json(s.store.get_order(&actor, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DoneRequest {
    /// `YYYY-MM-DD`: when the batch was made.
    pub actual_on: String,
}

/// Records when a production batch (numbered from 1) was actually made.
#[utoipa::path(post, path = "/api/v1/orders/{id}/production/{seq}/done", tag = "contracts",
    params(("id" = i64, Path), ("seq" = i64, Path)), request_body = DoneRequest,
    responses((status = 200, body = reqloop_store::Order), (status = 400, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn production_done(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((id, seq)): Path<(i64, i64)>,
    ApiJson(req): ApiJson<DoneRequest>,
) -> Result<Json<reqloop_store::Order>, AppError> {
    actor.require(Action::ContractWrite)?;
    Ok(Json(
        s.store
            .production_done(&actor, id, seq, &req.actual_on, s.clock.now())
            .await?,
    ))
}

/// The pre-delivery checklist: data-decided items computed now, the others as recorded.
#[utoipa::path(get, path = "/api/v1/orders/{id}/checks", tag = "contracts", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<reqloop_domain::delivery::Check>), (status = 404, body = super::ErrorBody)))]
pub async fn checks(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<reqloop_domain::delivery::Check>>, AppError> {
    actor.require(Action::CustomerRead)?;
    Ok(Json(s.store.order_checks(&actor, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    pub passed: bool,
    #[serde(default)]
    pub note: String,
}

/// Records an item people decide (422 `decided_by_data` for items the data decides).
#[utoipa::path(put, path = "/api/v1/orders/{id}/checks/{item}", tag = "contracts",
    params(("id" = i64, Path), ("item" = String, Path)), request_body = CheckRequest,
    responses((status = 200, body = Vec<reqloop_domain::delivery::Check>), (status = 400, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn record_check(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((id, item)): Path<(i64, String)>,
    ApiJson(req): ApiJson<CheckRequest>,
) -> Result<Json<Vec<reqloop_domain::delivery::Check>>, AppError> {
    actor.require(Action::ContractRespond)?;
    let item = item
        .parse()
        .map_err(|_| AppError::bad_request("item", format!("unknown check item `{item}`")))?;
    Ok(Json(
        s.store
            .record_check(&actor, id, item, req.passed, &req.note, s.clock.now())
            .await?,
    ))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DeliverRequest {
    /// Why the order goes out although items fail (authorised users only).
    #[serde(default)]
    pub waiver: Option<String>,
}

/// Marks the order delivered; 422 `delivery_blocked` listing the failing items until every item
/// passes or an authorised user gives a waiver with a reason.
#[utoipa::path(post, path = "/api/v1/orders/{id}/deliver", tag = "contracts", params(("id" = i64, Path)),
    request_body = DeliverRequest,
    responses((status = 200, body = reqloop_store::Order), (status = 403, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn deliver(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<DeliverRequest>,
) -> Result<Json<reqloop_store::Order>, AppError> {
    actor.require(Action::ContractWrite)?;
    if req.waiver.as_deref().is_some_and(|w| !w.trim().is_empty()) {
        actor.require(Action::DeliveryWaive)?;
    }
    Ok(Json(
        s.store
            .deliver_order(&actor, id, req.waiver.as_deref(), s.clock.now())
            .await?,
    ))
}
