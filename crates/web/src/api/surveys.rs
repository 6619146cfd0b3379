//! `/api/v1/surveys` (F20, F21): campaigns and their invitations, the analysis of a period, and
//! the public single-use link `/api/v1/s/{token}` that customers answer without signing in.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use reqloop_domain::access::Action;
use reqloop_domain::rectification::ActionFields;
use reqloop_domain::survey::{CampaignFields, Questionnaire, Response, TemplateFields};
use reqloop_store::{
    ActionFilter, ActionStepRequest, Analysis, AnalysisQuery, Campaign, CampaignFilter, Coverage,
    CoverageQuery, Invitation, OpenInvitation, Page, SatisfactionReport, SurveyAction, Template,
    TemplateSummary,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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

/// Every questionnaire template (the default one ships).
#[utoipa::path(get, path = "/api/v1/survey-templates", tag = "surveys",
    responses((status = 200, body = Vec<TemplateSummary>)))]
pub async fn templates(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
) -> Result<Json<Vec<TemplateSummary>>, AppError> {
    actor.require(Action::SurveyRead)?;
    Ok(Json(s.store.list_templates(s.clock.now()).await?))
}

#[utoipa::path(post, path = "/api/v1/survey-templates", tag = "surveys", request_body = TemplateFields,
    responses((status = 201, body = Template), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn create_template(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(f): ApiJson<TemplateFields>,
) -> Result<(StatusCode, Json<Template>), AppError> {
    actor.require(Action::SurveyManage)?;
    let t = s.store.create_template(&actor, f, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// A template: its current questionnaire and its versions.
#[utoipa::path(get, path = "/api/v1/survey-templates/{id}", tag = "surveys", params(("id" = i64, Path)),
    responses((status = 200, body = Template), (status = 404, body = super::ErrorBody)))]
pub async fn template(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Template>, AppError> {
    actor.require(Action::SurveyRead)?;
    Ok(Json(s.store.get_template(id).await?))
}

/// Saves the edited questionnaire as the template's next version (`version`: the one read;
/// 409 when stale, 422 `unchanged` when nothing changed). Answers keep the version they were
/// given on.
#[utoipa::path(put, path = "/api/v1/survey-templates/{id}", tag = "surveys", params(("id" = i64, Path)),
    request_body = TemplateFields,
    responses((status = 200, body = Template), (status = 400, body = super::ErrorBody), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn update_template(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<TemplateFields>,
) -> Result<Json<Template>, AppError> {
    actor.require(Action::SurveyManage)?;
    Ok(Json(
        s.store
            .update_template(&actor, id, f, s.clock.now())
            .await?,
    ))
}

/// One version of a template's questionnaire (older ones stay readable).
#[utoipa::path(get, path = "/api/v1/survey-templates/{id}/versions/{n}", tag = "surveys",
    params(("id" = i64, Path), ("n" = i64, Path)),
    responses((status = 200, body = Questionnaire), (status = 404, body = super::ErrorBody)))]
pub async fn template_version(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((id, n)): Path<(i64, i64)>,
) -> Result<Json<Questionnaire>, AppError> {
    actor.require(Action::SurveyRead)?;
    Ok(Json(s.store.questionnaire(id, n).await?))
}

#[derive(Serialize, ToSchema)]
pub struct Reminded {
    /// How many unanswered invitations were reminded.
    pub reminded: i64,
}

/// Reminds every customer (in the caller's scope) who has not answered the open campaign yet;
/// the reminder shows on their account manager's work list.
#[utoipa::path(post, path = "/api/v1/surveys/{id}/remind", tag = "surveys", params(("id" = i64, Path)),
    responses((status = 200, body = Reminded), (status = 404, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn remind(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Reminded>, AppError> {
    actor.require(Action::SurveyManage)?;
    let reminded = s.store.remind_unanswered(&actor, id, s.clock.now()).await?;
    Ok(Json(Reminded { reminded }))
}

/// Which customers a survey reached in a year, per account manager (each customer at least
/// once a year, 002§4.5.2), and a page of those not reached yet.
#[utoipa::path(get, path = "/api/v1/survey-coverage", tag = "surveys", params(CoverageQuery),
    responses((status = 200, body = Coverage), (status = 400, body = super::ErrorBody)))]
pub async fn coverage(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(q): ApiQuery<CoverageQuery>,
) -> Result<Json<Coverage>, AppError> {
    actor.require(Action::SurveyRead)?;
    Ok(Json(s.store.survey_coverage(&actor, &q).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    pub year: i32,
    /// 1 (January–June) or 2 (July–December).
    pub half: u32,
}

/// The semiannual satisfaction report (002§4.5.2–4.5.3): the survey activities, the
/// distributions and the share dissatisfied per customer category with the trend, strengths
/// and weaknesses, and the rectification actions.
#[utoipa::path(get, path = "/api/v1/survey-report", tag = "surveys", params(ReportQuery),
    responses((status = 200, body = SatisfactionReport), (status = 400, body = super::ErrorBody)))]
pub async fn report(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Json<SatisfactionReport>, AppError> {
    actor.require(Action::SurveyRead)?;
    Ok(Json(s.store.satisfaction_report(q.year, q.half).await?))
}

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ActionList {
    items: Vec<SurveyAction>,
    total: i64,
}

/// Rectification actions, open ones by due date first.
#[utoipa::path(get, path = "/api/v1/survey-actions", tag = "surveys", params(ActionFilter),
    responses((status = 200, body = ActionList)))]
pub async fn actions(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(f): ApiQuery<ActionFilter>,
) -> Result<Json<Page<SurveyAction>>, AppError> {
    actor.require(Action::SurveyRead)?;
    Ok(Json(s.store.list_survey_actions(&f).await?))
}

/// Publishes a weakness as a rectification action with its owner and due date.
#[utoipa::path(post, path = "/api/v1/survey-actions", tag = "surveys", request_body = ActionFields,
    responses((status = 201, body = SurveyAction), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn create_action(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(f): ApiJson<ActionFields>,
) -> Result<(StatusCode, Json<SurveyAction>), AppError> {
    actor.require(Action::SurveyManage)?;
    let a = s
        .store
        .create_survey_action(&actor, f, s.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

#[utoipa::path(get, path = "/api/v1/survey-actions/{id}", tag = "surveys", params(("id" = i64, Path)),
    responses((status = 200, body = SurveyAction), (status = 404, body = super::ErrorBody)))]
pub async fn action(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<SurveyAction>, AppError> {
    actor.require(Action::SurveyRead)?;
    Ok(Json(s.store.get_survey_action(id).await?))
}

/// Rectify, reply to the customers, or evaluate the effect (`effective`; not effective sends
/// it back to rectification): by the owner or a survey manager.
#[utoipa::path(post, path = "/api/v1/survey-actions/{id}/step", tag = "surveys", params(("id" = i64, Path)),
    request_body = ActionStepRequest,
    responses((status = 200, body = SurveyAction), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn action_step(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ActionStepRequest>,
) -> Result<Json<SurveyAction>, AppError> {
    actor.require(Action::SurveyRead)?;
    Ok(Json(
        s.store
            .step_survey_action(&actor, id, r, s.clock.now())
            .await?,
    ))
}
