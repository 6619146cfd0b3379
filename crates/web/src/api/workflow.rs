//! The work standard (F9), hand-offs and work plans (F10) and review rounds (F11).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use reqloop_domain::access::Action;
use reqloop_domain::handoff::Handoff;
use reqloop_domain::review::AnswerFields;
use reqloop_domain::standard::{NewStandard, WorkStandard};
use reqloop_store::{
    HandoffFilter, NewReview, Page, ReviewFilter, ReviewRound, StandardVersion, WorkPlanEntry,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StandardQuery {
    /// A version number; the one in force when left out.
    pub version: Option<i64>,
}

/// The work standard: control points per stage (the version in force unless one is named).
#[utoipa::path(get, path = "/api/v1/work-standard", tag = "workflow", params(StandardQuery),
    responses((status = 200, body = WorkStandard), (status = 404, body = super::ErrorBody)))]
pub async fn standard(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(q): ApiQuery<StandardQuery>,
) -> Result<Json<WorkStandard>, AppError> {
    actor.require(Action::RequirementRead)?;
    Ok(Json(s.store.work_standard(q.version).await?))
}

#[utoipa::path(get, path = "/api/v1/work-standard/versions", tag = "workflow",
    responses((status = 200, body = Vec<StandardVersion>)))]
pub async fn standard_versions(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
) -> Result<Json<Vec<StandardVersion>>, AppError> {
    actor.require(Action::RequirementRead)?;
    Ok(Json(s.store.standard_versions().await?))
}

/// Saves a new version of the whole standard (administrators). `base_version` is the version
/// the editor started from: 409 when another was saved meanwhile.
#[utoipa::path(post, path = "/api/v1/work-standard/versions", tag = "workflow", request_body = NewStandard,
    responses((status = 201, body = WorkStandard), (status = 400, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn save_standard(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(new): ApiJson<NewStandard>,
) -> Result<(StatusCode, Json<WorkStandard>), AppError> {
    actor.require(Action::SettingsManage)?;
    let saved = s.store.save_standard(&actor, new, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct HandoffList {
    items: Vec<Handoff>,
    total: i64,
}

/// Hand-offs, soonest due first; by default the pending ones. `mine`, `department_id`,
/// `overdue`, `status` and `requirement_id` filter.
#[utoipa::path(get, path = "/api/v1/handoffs", tag = "workflow", params(HandoffFilter),
    responses((status = 200, body = HandoffList), (status = 400, body = super::ErrorBody)))]
pub async fn handoffs(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(f): ApiQuery<HandoffFilter>,
) -> Result<Json<Page<Handoff>>, AppError> {
    actor.require(Action::RequirementRead)?;
    Ok(Json(
        s.store.list_handoffs(&actor, &f, s.clock.now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/handoffs/{id}", tag = "workflow", params(("id" = i64, Path)),
    responses((status = 200, body = Handoff), (status = 404, body = super::ErrorBody)))]
pub async fn handoff(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Handoff>, AppError> {
    actor.require(Action::RequirementRead)?;
    Ok(Json(s.store.get_handoff(&actor, id, s.clock.now()).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct VersionRequest {
    /// The version the client read; when given, a changed record answers 409.
    #[serde(default)]
    pub version: Option<i64>,
}

/// The receiver acknowledges the hand-off (422 `not_receiver` for anyone else).
#[utoipa::path(post, path = "/api/v1/handoffs/{id}/acknowledge", tag = "workflow", params(("id" = i64, Path)),
    request_body = VersionRequest,
    responses((status = 200, body = Handoff), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn acknowledge(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<VersionRequest>,
) -> Result<Json<Handoff>, AppError> {
    actor.require(Action::RequirementRead)?;
    Ok(Json(
        s.store
            .acknowledge_handoff(&actor, id, req.version, s.clock.now())
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    #[serde(default)]
    pub version: Option<i64>,
    /// The output record: what it says or where it is filed.
    pub output_note: String,
}

/// The receiver attaches the output record and completes the hand-off; the receiving
/// department's work plan gets an entry.
#[utoipa::path(post, path = "/api/v1/handoffs/{id}/complete", tag = "workflow", params(("id" = i64, Path)),
    request_body = CompleteRequest,
    responses((status = 200, body = Handoff), (status = 400, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn complete(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<CompleteRequest>,
) -> Result<Json<Handoff>, AppError> {
    actor.require(Action::RequirementRead)?;
    Ok(Json(
        s.store
            .complete_handoff(&actor, id, req.version, &req.output_note, s.clock.now())
            .await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkPlanQuery {
    /// The department; the caller's own when left out.
    pub department_id: Option<i64>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WorkPlanList {
    items: Vec<WorkPlanEntry>,
    total: i64,
}

/// A department's work plan: one entry per hand-off output it received.
#[utoipa::path(get, path = "/api/v1/work-plan", tag = "workflow", params(WorkPlanQuery),
    responses((status = 200, body = WorkPlanList), (status = 400, body = super::ErrorBody)))]
pub async fn work_plan(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(q): ApiQuery<WorkPlanQuery>,
) -> Result<Json<Page<WorkPlanEntry>>, AppError> {
    actor.require(Action::RequirementRead)?;
    let department = q
        .department_id
        .or(actor.department_id.map(|d| d.0))
        .ok_or_else(|| {
            AppError::bad_request("department_id", "missing field `department_id`".into())
        })?;
    Ok(Json(
        s.store
            .work_plan(&actor, department, q.page, q.per_page)
            .await?,
    ))
}

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReviewList {
    items: Vec<ReviewRound>,
    total: i64,
}

#[utoipa::path(get, path = "/api/v1/reviews", tag = "reviews", params(ReviewFilter),
    responses((status = 200, body = ReviewList), (status = 400, body = super::ErrorBody)))]
pub async fn reviews(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(f): ApiQuery<ReviewFilter>,
) -> Result<Json<Page<ReviewRound>>, AppError> {
    actor.require(Action::RequirementRead)?;
    Ok(Json(s.store.list_reviews(&actor, &f).await?))
}

/// Starts a review round over the requirement's items and the named aspects (all when empty).
#[utoipa::path(post, path = "/api/v1/reviews", tag = "reviews", request_body = NewReview,
    responses((status = 201, body = ReviewRound), (status = 400, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn start_review(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(new): ApiJson<NewReview>,
) -> Result<(StatusCode, Json<ReviewRound>), AppError> {
    actor.require(Action::ReviewStart)?;
    let round = s.store.start_review(&actor, new, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(round)))
}

/// One round with its items, answers and conclusion (the review report).
#[utoipa::path(get, path = "/api/v1/reviews/{id}", tag = "reviews", params(("id" = i64, Path)),
    responses((status = 200, body = ReviewRound), (status = 404, body = super::ErrorBody)))]
pub async fn review(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<ReviewRound>, AppError> {
    actor.require(Action::RequirementRead)?;
    Ok(Json(s.store.review_round(&actor, id).await?))
}

/// One department's answer on one item; a second answer to the same item and aspect is 422.
#[utoipa::path(post, path = "/api/v1/reviews/{id}/answers", tag = "reviews", params(("id" = i64, Path)),
    request_body = AnswerFields,
    responses((status = 200, body = ReviewRound), (status = 400, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn answer(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(a): ApiJson<AnswerFields>,
) -> Result<Json<ReviewRound>, AppError> {
    actor.require(Action::ReviewAnswer)?;
    Ok(Json(
        s.store.answer_review(&actor, id, a, s.clock.now()).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    pub note: String,
}

/// The extra quality review for a customer under tightened control.
#[utoipa::path(post, path = "/api/v1/reviews/{id}/quality-review", tag = "reviews", params(("id" = i64, Path)),
    request_body = NoteRequest,
    responses((status = 200, body = ReviewRound), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn quality_review(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<NoteRequest>,
) -> Result<Json<ReviewRound>, AppError> {
    actor.require(Action::QualityReview)?;
    Ok(Json(
        s.store
            .quality_review(&actor, id, &req.note, s.clock.now())
            .await?,
    ))
}

/// The approver signs the conclusion (approver permission; complete, met, quality-reviewed when
/// required); the review stage's output record is filed with it.
#[utoipa::path(post, path = "/api/v1/reviews/{id}/approve", tag = "reviews", params(("id" = i64, Path)),
    request_body = VersionRequest,
    responses((status = 200, body = ReviewRound), (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn approve(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<VersionRequest>,
) -> Result<Json<ReviewRound>, AppError> {
    actor.require(Action::ReviewApprove)?;
    Ok(Json(
        s.store
            .approve_review(&actor, id, req.version, s.clock.now())
            .await?,
    ))
}
