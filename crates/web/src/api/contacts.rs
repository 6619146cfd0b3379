//! `/api/v1/contact-tasks`, `/visits`, `/contact-rules`, `/symposia` (F25): the contact plan's
//! tasks (collection visits by tier, return visits after deliveries), the visit records that
//! close them, the plan's frequencies, and the yearly end-user symposia.

use axum::extract::{Path, State};
use axum::Json;
use reqloop_domain::contact::{ContactRules, Minutes, SymposiumFields, VisitFields};
use reqloop_store::{
    Attendee, ContactTask, NewAttendee, Page, Symposium, TaskFilter, Visit, VisitFilter,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TaskList {
    items: Vec<ContactTask>,
    total: i64,
}

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct VisitList {
    items: Vec<Visit>,
    total: i64,
}

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SymposiumList {
    items: Vec<Symposium>,
    total: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A symposium with its attendees.
#[derive(Serialize, ToSchema)]
pub struct SymposiumDetail {
    #[serde(flatten)]
    pub symposium: Symposium,
    pub attendee_list: Vec<Attendee>,
}

/// Contact tasks of the reader's customers: open ones by default, grade A first, soonest due.
#[utoipa::path(get, path = "/api/v1/contact-tasks", tag = "contacts", params(TaskFilter),
    responses((status = 200, body = TaskList), (status = 400, body = super::ErrorBody)))]
pub async fn tasks(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(f): ApiQuery<TaskFilter>,
) -> Result<Json<Page<ContactTask>>, AppError> {
    Ok(Json(
        s.store
            .list_contact_tasks(&actor, &f, s.clock.now())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/visits", tag = "contacts", params(VisitFilter),
    responses((status = 200, body = VisitList)))]
pub async fn visits(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(f): ApiQuery<VisitFilter>,
) -> Result<Json<Page<Visit>>, AppError> {
    Ok(Json(s.store.list_visits(&actor, &f).await?))
}

/// Records a visit; it closes the task it names and the customer's open collection task.
#[utoipa::path(post, path = "/api/v1/visits", tag = "contacts", request_body = VisitFields,
    responses((status = 200, body = Visit), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn record_visit(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(v): ApiJson<VisitFields>,
) -> Result<Json<Visit>, AppError> {
    Ok(Json(s.store.record_visit(&actor, v, s.clock.now()).await?))
}

#[utoipa::path(get, path = "/api/v1/contact-rules", tag = "contacts",
    responses((status = 200, body = ContactRules)))]
pub async fn rules(
    State(s): State<AppState>,
    ApiUser(_actor): ApiUser,
) -> Result<Json<ContactRules>, AppError> {
    Ok(Json(s.store.contact_rules().await?))
}

/// Months between collection visits per tier (0: none) and the days to the return visit after a
/// delivery.
#[utoipa::path(put, path = "/api/v1/contact-rules", tag = "contacts", request_body = ContactRules,
    responses((status = 200, body = ContactRules), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn save_rules(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(r): ApiJson<ContactRules>,
) -> Result<Json<ContactRules>, AppError> {
    Ok(Json(
        s.store.set_contact_rules(&actor, r, s.clock.now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/symposia", tag = "contacts", params(Paging),
    responses((status = 200, body = SymposiumList)))]
pub async fn symposia(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(p): ApiQuery<Paging>,
) -> Result<Json<Page<Symposium>>, AppError> {
    Ok(Json(
        s.store.list_symposia(&actor, p.page, p.per_page).await?,
    ))
}

/// Plans a product line's symposium of a year (one each: 409 for a second).
#[utoipa::path(post, path = "/api/v1/symposia", tag = "contacts", request_body = SymposiumFields,
    responses((status = 200, body = Symposium), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody)))]
pub async fn plan_symposium(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(f): ApiJson<SymposiumFields>,
) -> Result<Json<Symposium>, AppError> {
    Ok(Json(
        s.store.plan_symposium(&actor, f, s.clock.now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/symposia/{id}", tag = "contacts", params(("id" = i64, Path)),
    responses((status = 200, body = SymposiumDetail), (status = 404, body = super::ErrorBody)))]
pub async fn symposium(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<SymposiumDetail>, AppError> {
    Ok(Json(SymposiumDetail {
        symposium: s.store.get_symposium(&actor, id).await?,
        attendee_list: s.store.symposium_attendees(&actor, id).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/symposia/{id}/attendees", tag = "contacts", params(("id" = i64, Path)),
    request_body = NewAttendee,
    responses((status = 200, body = Attendee), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn add_attendee(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(a): ApiJson<NewAttendee>,
) -> Result<Json<Attendee>, AppError> {
    Ok(Json(
        s.store.add_attendee(&actor, id, a, s.clock.now()).await?,
    ))
}

/// Records the symposium as held with its minutes; the version as read (409 when stale).
#[utoipa::path(put, path = "/api/v1/symposia/{id}/minutes", tag = "contacts", params(("id" = i64, Path)),
    request_body = Minutes,
    responses((status = 200, body = Symposium), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody)))]
pub async fn minutes(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(m): ApiJson<Minutes>,
) -> Result<Json<Symposium>, AppError> {
    Ok(Json(
        s.store.record_minutes(&actor, id, m, s.clock.now()).await?,
    ))
}
