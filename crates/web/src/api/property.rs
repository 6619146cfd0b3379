//! `/api/v1/property` (F19): the customer property register, its inspection, use log, status
//! reports, incidents and return.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use reqloop_domain::access::Action;
use reqloop_domain::property::ReceiptFields;
use reqloop_store::{Inspection, NewIncident, Page, Property, PropertyFilter, PropertyMove};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PropertyList {
    items: Vec<Property>,
    total: i64,
}

/// The register (confidential items only for cleared roles).
#[utoipa::path(get, path = "/api/v1/property", tag = "property", params(PropertyFilter),
    responses((status = 200, body = PropertyList), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(f): ApiQuery<PropertyFilter>,
) -> Result<Json<Page<Property>>, AppError> {
    actor.require(Action::PropertyRead)?;
    Ok(Json(s.store.list_property(&actor, &f).await?))
}

/// Registers a receipt; documents and software get a controlled number and the external mark.
#[utoipa::path(post, path = "/api/v1/property", tag = "property", request_body = ReceiptFields,
    responses((status = 201, body = Property), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn receive(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(f): ApiJson<ReceiptFields>,
) -> Result<(StatusCode, Json<Property>), AppError> {
    actor.require(Action::PropertyWrite)?;
    let p = s.store.receive_property(&actor, f, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

#[utoipa::path(get, path = "/api/v1/property/{id}", tag = "property", params(("id" = i64, Path)),
    responses((status = 200, body = Property), (status = 404, body = super::ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Property>, AppError> {
    actor.require(Action::PropertyRead)?;
    Ok(Json(s.store.get_property(&actor, id).await?))
}

/// The inspection on receipt (quality and quantity) and the storage place.
#[utoipa::path(post, path = "/api/v1/property/{id}/inspection", tag = "property", params(("id" = i64, Path)),
    request_body = Inspection,
    responses((status = 200, body = Property), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn inspect(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(i): ApiJson<Inspection>,
) -> Result<Json<Property>, AppError> {
    actor.require(Action::PropertyWrite)?;
    Ok(Json(
        s.store
            .inspect_property(&actor, id, i, s.clock.now())
            .await?,
    ))
}

/// Issues it for use (`to`, `purpose`).
#[utoipa::path(post, path = "/api/v1/property/{id}/issue", tag = "property", params(("id" = i64, Path)),
    request_body = PropertyMove,
    responses((status = 200, body = Property), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn issue(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(m): ApiJson<PropertyMove>,
) -> Result<Json<Property>, AppError> {
    actor.require(Action::PropertyWrite)?;
    Ok(Json(
        s.store.issue_property(&actor, id, m, s.clock.now()).await?,
    ))
}

/// Brings it back into storage.
#[utoipa::path(post, path = "/api/v1/property/{id}/back", tag = "property", params(("id" = i64, Path)),
    request_body = PropertyMove,
    responses((status = 200, body = Property), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn back(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(m): ApiJson<PropertyMove>,
) -> Result<Json<Property>, AppError> {
    actor.require(Action::PropertyWrite)?;
    Ok(Json(
        s.store.property_back(&actor, id, m, s.clock.now()).await?,
    ))
}

/// Returns it to the customer, which closes it (422 `incident_unreported` first).
#[utoipa::path(post, path = "/api/v1/property/{id}/return", tag = "property", params(("id" = i64, Path)),
    request_body = PropertyMove,
    responses((status = 200, body = Property), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn give_back(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(m): ApiJson<PropertyMove>,
) -> Result<Json<Property>, AppError> {
    actor.require(Action::PropertyWrite)?;
    Ok(Json(
        s.store
            .return_property(&actor, id, m, s.clock.now())
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    pub content: String,
}

/// A status report to the customer.
#[utoipa::path(post, path = "/api/v1/property/{id}/reports", tag = "property", params(("id" = i64, Path)),
    request_body = ReportRequest,
    responses((status = 200, body = Property), (status = 400, body = super::ErrorBody)))]
pub async fn report(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ReportRequest>,
) -> Result<Json<Property>, AppError> {
    actor.require(Action::PropertyWrite)?;
    Ok(Json(
        s.store
            .report_property(&actor, id, &r.content, s.clock.now())
            .await?,
    ))
}

/// Records an incident (loss, damage, leak, unsuitable) that must be reported to the customer.
#[utoipa::path(post, path = "/api/v1/property/{id}/incidents", tag = "property", params(("id" = i64, Path)),
    request_body = NewIncident,
    responses((status = 200, body = Property), (status = 400, body = super::ErrorBody)))]
pub async fn incident(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(i): ApiJson<NewIncident>,
) -> Result<Json<Property>, AppError> {
    actor.require(Action::PropertyWrite)?;
    Ok(Json(
        s.store
            .property_incident(&actor, id, i, s.clock.now())
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportedRequest {
    /// How and when the customer was told.
    pub note: String,
}

/// Records that an incident was reported to the customer.
#[utoipa::path(post, path = "/api/v1/property/{id}/incidents/{incident_id}/reported", tag = "property",
    params(("id" = i64, Path), ("incident_id" = i64, Path)), request_body = ReportedRequest,
    responses((status = 200, body = Property), (status = 404, body = super::ErrorBody)))]
pub async fn reported(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((id, incident)): Path<(i64, i64)>,
    ApiJson(r): ApiJson<ReportedRequest>,
) -> Result<Json<Property>, AppError> {
    actor.require(Action::PropertyWrite)?;
    Ok(Json(
        s.store
            .incident_reported(&actor, id, incident, &r.note, s.clock.now())
            .await?,
    ))
}
