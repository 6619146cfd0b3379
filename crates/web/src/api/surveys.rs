//! `/api/v1/surveys` (F20, F21): campaigns and their invitations, the analysis of a period, and
//! the public single-use link `/api/v1/s/{token}` that customers answer without signing in.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use reqloop_domain::access::Action;
use reqloop_domain::survey::{CampaignFields, Response};
use reqloop_store::{
    Analysis, AnalysisQuery, Campaign, CampaignFilter, Invitation, OpenInvitation, Page,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::contracts::PageQuery;
use super::{ApiJson, ApiQuery};
use crate::auth::{ApiUser, Session};
use crate::error::AppError;
use crate::AppState;

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CampaignList {
    items: Vec<Campaign>,
    total: i64,
}

#[utoipa::path(get, path = "/api/v1/surveys", tag = "surveys", params(CampaignFilter),
    responses((status = 200, body = CampaignList), (status = 403, body = super::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(f): ApiQuery<CampaignFilter>,
) -> Result<Json<Page<Campaign>>, AppError> {
    actor.require(Action::SurveyRead)?;
    Ok(Json(s.store.list_campaigns(&f).await?))
}

/// Starts a campaign: annual and quarterly ones invite every active customer (in the caller's
/// scope), account-manager ones that manager's customers, on-site and post-complaint ones the
/// customers named.
#[utoipa::path(post, path = "/api/v1/surveys", tag = "surveys", request_body = CampaignFields,
    responses((status = 201, body = Campaign), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(f): ApiJson<CampaignFields>,
) -> Result<(StatusCode, Json<Campaign>), AppError> {
    actor.require(Action::SurveyManage)?;
    let g = s.store.create_campaign(&actor, f, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(g)))
}

#[utoipa::path(get, path = "/api/v1/surveys/{id}", tag = "surveys", params(("id" = i64, Path)),
    responses((status = 200, body = Campaign), (status = 404, body = super::ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Campaign>, AppError> {
    actor.require(Action::SurveyRead)?;
    Ok(Json(s.store.get_campaign(id).await?))
}

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct InvitationList {
    items: Vec<Invitation>,
    total: i64,
}

/// The invitations (with their public tokens) of the customers the caller sees.
#[utoipa::path(get, path = "/api/v1/surveys/{id}/invitations", tag = "surveys", params(("id" = i64, Path), PageQuery),
    responses((status = 200, body = InvitationList)))]
pub async fn invitations(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<Invitation>>, AppError> {
    actor.require(Action::SurveyManage)?;
    Ok(Json(
        s.store.invitations(&actor, id, q.page, q.per_page).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    pub version: i64,
}

/// Closes a campaign; its links stop working.
#[utoipa::path(post, path = "/api/v1/surveys/{id}/close", tag = "surveys", params(("id" = i64, Path)),
    request_body = CloseRequest,
    responses((status = 200, body = Campaign), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn close(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<CloseRequest>,
) -> Result<Json<Campaign>, AppError> {
    actor.require(Action::SurveyManage)?;
    Ok(Json(
        s.store
            .close_campaign(&actor, id, r.version, s.clock.now())
            .await?,
    ))
}

/// The analysis of a period: a histogram per aspect (per category with `by`), the mean always
/// beside it, the share dissatisfied and the response rate.
#[utoipa::path(get, path = "/api/v1/survey-analysis", tag = "surveys", params(AnalysisQuery),
    responses((status = 200, body = Analysis), (status = 400, body = super::ErrorBody)))]
pub async fn analysis(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(q): ApiQuery<AnalysisQuery>,
) -> Result<Json<Analysis>, AppError> {
    actor.require(Action::SurveyRead)?;
    Ok(Json(s.store.survey_analysis(&q).await?))
}

/// An open invitation's questionnaire (no sign-in; 404 for an unknown or used token).
#[utoipa::path(get, path = "/api/v1/s/{token}", tag = "surveys", params(("token" = String, Path)),
    security(()),
    responses((status = 200, body = OpenInvitation), (status = 404, body = super::ErrorBody)))]
pub async fn open(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<OpenInvitation>, AppError> {
    Ok(Json(s.store.open_invitation(&token).await?))
}

/// Answers an invitation once (no sign-in; staff signed in are recorded as having entered
/// answers taken on site). A used or unknown token: 404, nothing written.
#[utoipa::path(post, path = "/api/v1/s/{token}", tag = "surveys", params(("token" = String, Path)),
    security(()), request_body = Response,
    responses((status = 204), (status = 400, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn answer(
    State(s): State<AppState>,
    Extension(session): Extension<Session>,
    Path(token): Path<String>,
    ApiJson(r): ApiJson<Response>,
) -> Result<StatusCode, AppError> {
    let staff = session
        .0
        .map(|s| s.actor)
        .filter(|a| a.require(Action::SurveyManage).is_ok());
    s.store
        .answer_invitation(&token, r, staff.as_ref(), s.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
