//! `/api/v1/customers` (F1).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use reqloop_domain::access::Action;
use reqloop_domain::customer::{Contact, ContactFields, Customer, CustomerFields, CustomerPatch};
use reqloop_domain::ids::{ContactId, CustomerId};
use reqloop_store::{CustomerFilter, HistoryEntry, Page};
use serde::Deserialize;
use utoipa::ToSchema;

use super::ApiJson;
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CustomerList {
    items: Vec<Customer>,
    total: i64,
}

#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerFilter),
    responses((status = 200, body = CustomerList), (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    filter: Result<Query<CustomerFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<Customer>>, AppError> {
    actor.require(Action::CustomerRead)?;
    let Query(filter) = filter.map_err(|e| AppError::bad_request("query", e.body_text()))?;
    Ok(Json(s.store.list_customers(&actor, &filter).await?))
}

#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = CustomerFields,
    responses((status = 201, body = Customer), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(fields): ApiJson<CustomerFields>,
) -> Result<(StatusCode, Json<Customer>), AppError> {
    actor.require(Action::CustomerCreate)?;
    let c = s
        .store
        .create_customer(&actor, fields, s.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = Customer), (status = 404, body = super::ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Customer>, AppError> {
    actor.require(Action::CustomerRead)?;
    Ok(Json(s.store.get_customer(&actor, CustomerId(id)).await?))
}

/// PUT and PATCH both merge the fields sent; `version` is required.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = i64, Path)), request_body = CustomerPatch,
    responses((status = 200, body = Customer), (status = 400, body = super::ErrorBody), (status = 404, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(patch): ApiJson<CustomerPatch>,
) -> Result<Json<Customer>, AppError> {
    actor.require(Action::CustomerUpdate)?;
    Ok(Json(
        s.store
            .update_customer(&actor, CustomerId(id), patch, s.clock.now())
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionBody {
    pub version: i64,
}

/// Archives the customer (there is no hard delete).
#[utoipa::path(post, path = "/api/v1/customers/{id}/archive", tag = "customers", params(("id" = i64, Path)), request_body = VersionBody,
    responses((status = 200, body = Customer), (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn archive(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<VersionBody>,
) -> Result<Json<Customer>, AppError> {
    actor.require(Action::CustomerArchive)?;
    Ok(Json(
        s.store
            .archive_customer(&actor, CustomerId(id), body.version, s.clock.now())
            .await?,
    ))
}

/// The history (履历) of the customer's fields, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/history", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<HistoryEntry>), (status = 404, body = super::ErrorBody)))]
pub async fn history(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<HistoryEntry>>, AppError> {
    actor.require(Action::CustomerRead)?;
    Ok(Json(
        s.store.customer_history(&actor, CustomerId(id)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/contacts", tag = "customers", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Contact>), (status = 404, body = super::ErrorBody)))]
pub async fn contacts(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Contact>>, AppError> {
    actor.require(Action::CustomerRead)?;
    Ok(Json(s.store.list_contacts(&actor, CustomerId(id)).await?))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/contacts", tag = "customers", params(("id" = i64, Path)), request_body = ContactFields,
    responses((status = 201, body = Contact), (status = 400, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn add_contact(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<ContactFields>,
) -> Result<(StatusCode, Json<Contact>), AppError> {
    actor.require(Action::ContactWrite)?;
    Ok((
        StatusCode::CREATED,
        Json(
            s.store
                .add_contact(&actor, CustomerId(id), f, s.clock.now())
                .await?,
        ),
    ))
}

/// The contact's fields plus the `version` the client read.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactUpdate {
    version: i64,
    #[schema(inline)]
    fields: ContactFields,
}

#[utoipa::path(put, path = "/api/v1/customers/{id}/contacts/{contact_id}", tag = "customers",
    params(("id" = i64, Path), ("contact_id" = i64, Path)), request_body = ContactUpdate,
    responses((status = 200, body = Contact), (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn update_contact(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((id, contact_id)): Path<(i64, i64)>,
    ApiJson(body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<Contact>, AppError> {
    actor.require(Action::ContactWrite)?;
    let (version, fields) = super::with_version::<ContactFields>(body)?;
    let c = s
        .store
        .update_contact(
            &actor,
            CustomerId(id),
            ContactId(contact_id),
            version,
            fields,
            s.clock.now(),
        )
        .await?;
    Ok(Json(c))
}

#[utoipa::path(delete, path = "/api/v1/customers/{id}/contacts/{contact_id}", tag = "customers",
    params(("id" = i64, Path), ("contact_id" = i64, Path)), responses((status = 204), (status = 404, body = super::ErrorBody)))]
pub async fn delete_contact(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((id, contact_id)): Path<(i64, i64)>,
) -> Result<StatusCode, AppError> {
    actor.require(Action::ContactWrite)?;
    s.store
        .delete_contact(&actor, CustomerId(id), ContactId(contact_id), s.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
