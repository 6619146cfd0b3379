//! `/api/v1/changes` (F14): change requests through re-determination, re-review, approval,
//! notices and confirmations, verification and closing; and a requirement's revisions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use reqloop_domain::access::Action;
use reqloop_domain::change::{ChangeFields, Redetermination, StepNote};
use reqloop_store::{
    Change, ChangeFilter, ChangeReview, NotifyRequest, Page, ReviewRound, Revision,
};
use utoipa::ToSchema;

use super::{ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ChangeList {
    items: Vec<Change>,
    total: i64,
}

/// Changes the caller is cleared for (confidential: department reviewers see only those
/// notified to their department).
#[utoipa::path(get, path = "/api/v1/changes", tag = "changes", params(ChangeFilter),
    responses((status = 200, body = ChangeList), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(f): ApiQuery<ChangeFilter>,
) -> Result<Json<Page<Change>>, AppError> {
    actor.require(Action::ChangeRead)?;
    Ok(Json(s.store.list_changes(&actor, &f).await?))
}

/// Raises a change request: the affected items with their new content, the reason and the
/// 5M1E impacts.
#[utoipa::path(post, path = "/api/v1/changes", tag = "changes", request_body = ChangeFields,
    responses((status = 201, body = Change), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(f): ApiJson<ChangeFields>,
) -> Result<(StatusCode, Json<Change>), AppError> {
    actor.require(Action::ChangeRequest)?;
    let g = s.store.create_change(&actor, f, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(g)))
}

#[utoipa::path(get, path = "/api/v1/changes/{id}", tag = "changes", params(("id" = i64, Path)),
    responses((status = 200, body = Change), (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Change>, AppError> {
    actor.require(Action::ChangeRead)?;
    Ok(Json(s.store.get_change(&actor, id).await?))
}

/// Records the re-determination with the customer (and the items' content as determined).
#[utoipa::path(post, path = "/api/v1/changes/{id}/redetermine", tag = "changes", params(("id" = i64, Path)),
    request_body = Redetermination,
    responses((status = 200, body = Change), (status = 400, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn redetermine(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<Redetermination>,
) -> Result<Json<Change>, AppError> {
    actor.require(Action::ChangeRequest)?;
    Ok(Json(
        s.store
            .redetermine_change(&actor, id, r, s.clock.now())
            .await?,
    ))
}

/// Starts the re-review: a review round over the affected items as changed; approving that
/// round (`/reviews/{id}/approve`) makes the change re-reviewed.
#[utoipa::path(post, path = "/api/v1/changes/{id}/reviews", tag = "changes", params(("id" = i64, Path)),
    request_body = ChangeReview,
    responses((status = 201, body = ReviewRound), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn start_review(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ChangeReview>,
) -> Result<(StatusCode, Json<ReviewRound>), AppError> {
    actor.require(Action::ChangeRequest)?;
    actor.require(Action::ReviewStart)?;
    let round = s
        .store
        .start_change_review(&actor, id, r, s.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(round)))
}

/// Approves a re-reviewed change (422 `not_rereviewed` before); the requirement gets a new
/// revision with the changed items.
#[utoipa::path(post, path = "/api/v1/changes/{id}/approve", tag = "changes", params(("id" = i64, Path)),
    request_body = StepNote,
    responses((status = 200, body = Change), (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn approve(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(n): ApiJson<StepNote>,
) -> Result<Json<Change>, AppError> {
    actor.require(Action::ChangeApprove)?;
    Ok(Json(
        s.store.approve_change(&actor, id, n, s.clock.now()).await?,
    ))
}

/// Rejects a change before approval (the reason is required).
#[utoipa::path(post, path = "/api/v1/changes/{id}/reject", tag = "changes", params(("id" = i64, Path)),
    request_body = StepNote,
    responses((status = 200, body = Change), (status = 400, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn reject(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(n): ApiJson<StepNote>,
) -> Result<Json<Change>, AppError> {
    actor.require(Action::ChangeApprove)?;
    Ok(Json(
        s.store.reject_change(&actor, id, n, s.clock.now()).await?,
    ))
}

/// Issues the change notice to the departments of the affected items and those named.
#[utoipa::path(post, path = "/api/v1/changes/{id}/notify", tag = "changes", params(("id" = i64, Path)),
    request_body = NotifyRequest,
    responses((status = 200, body = Change), (status = 400, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn notify(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<NotifyRequest>,
) -> Result<Json<Change>, AppError> {
    actor.require(Action::ChangeRequest)?;
    Ok(Json(
        s.store.notify_change(&actor, id, r, s.clock.now()).await?,
    ))
}

/// A notified department confirms implementation (422 `not_notified` for a department without
/// a notice); the last confirmation makes the change implemented.
#[utoipa::path(post, path = "/api/v1/changes/{id}/notices/{department_id}/confirm", tag = "changes",
    params(("id" = i64, Path), ("department_id" = i64, Path)), request_body = StepNote,
    responses((status = 200, body = Change), (status = 403, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn confirm(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((id, department)): Path<(i64, i64)>,
    ApiJson(n): ApiJson<StepNote>,
) -> Result<Json<Change>, AppError> {
    actor.require(Action::ChangeRead)?;
    Ok(Json(
        s.store
            .confirm_notice(&actor, id, department, n, s.clock.now())
            .await?,
    ))
}

/// Verifies the effect of an implemented change (the note says how).
#[utoipa::path(post, path = "/api/v1/changes/{id}/verify", tag = "changes", params(("id" = i64, Path)),
    request_body = StepNote,
    responses((status = 200, body = Change), (status = 403, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn verify(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(n): ApiJson<StepNote>,
) -> Result<Json<Change>, AppError> {
    actor.require(Action::ChangeVerify)?;
    Ok(Json(
        s.store.verify_change(&actor, id, n, s.clock.now()).await?,
    ))
}

/// Closes a verified change.
#[utoipa::path(post, path = "/api/v1/changes/{id}/close", tag = "changes", params(("id" = i64, Path)),
    request_body = StepNote,
    responses((status = 200, body = Change), (status = 422, body = super::ErrorBody)))]
pub async fn close(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(n): ApiJson<StepNote>,
) -> Result<Json<Change>, AppError> {
    actor.require(Action::ChangeRequest)?;
    Ok(Json(
        s.store.close_change(&actor, id, n, s.clock.now()).await?,
    ))
}

/// The requirement's revisions, oldest first, each with its diff against the one before.
#[utoipa::path(get, path = "/api/v1/requirements/{id}/revisions", tag = "changes", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Revision>), (status = 404, body = super::ErrorBody)))]
pub async fn revisions(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Revision>>, AppError> {
    actor.require(Action::RequirementRead)?;
    Ok(Json(s.store.requirement_revisions(&actor, id).await?))
}
