//! `/api/v1/warnings` (F24) and the response-time rules and breaches (F22): the warnings of the
//! reader's customers, their steps (assign → resolve → verify, or reopen), the dashboard by
//! tier, the editable rules, a requirement's clock and its pause while waiting for the customer.

use axum::extract::{Path, State};
use axum::Json;
use reqloop_domain::access::Action;
use reqloop_domain::requirement::Requirement;
use reqloop_domain::sla::SlaRules;
use reqloop_store::{
    Breach, BreachFilter, BreachPass, ClockView, Page, RuleUpdate, TierLevels, WaitRequest,
    Warning, WarningFilter, WarningPass, WarningRule, WarningStepRequest,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct WarningList {
    items: Vec<Warning>,
    total: i64,
}

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct BreachList {
    items: Vec<Breach>,
    total: i64,
}

/// Warnings of the customers in the reader's scope (and those assigned to the reader): open
/// before verified, red first, grade A first, newest first.
#[utoipa::path(get, path = "/api/v1/warnings", tag = "warnings", params(WarningFilter),
    responses((status = 200, body = WarningList), (status = 400, body = super::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(f): ApiQuery<WarningFilter>,
) -> Result<Json<Page<Warning>>, AppError> {
    Ok(Json(s.store.list_warnings(&actor, &f).await?))
}

#[utoipa::path(get, path = "/api/v1/warnings/{id}", tag = "warnings", params(("id" = i64, Path)),
    responses((status = 200, body = Warning), (status = 404, body = super::ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Warning>, AppError> {
    Ok(Json(s.store.get_warning(&actor, id).await?))
}

/// Assign (`assignee_id`), resolve (the assignee; `note` says what was done), verify or reopen
/// (a warning manager who did not resolve it). Stale version: 409; wrong order: 422.
#[utoipa::path(post, path = "/api/v1/warnings/{id}/steps", tag = "warnings", params(("id" = i64, Path)),
    request_body = WarningStepRequest,
    responses((status = 200, body = Warning), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn step(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<WarningStepRequest>,
) -> Result<Json<Warning>, AppError> {
    Ok(Json(
        s.store.step_warning(&actor, id, r, s.clock.now()).await?,
    ))
}

/// Open warnings per customer tier and level.
#[utoipa::path(get, path = "/api/v1/warning-dashboard", tag = "warnings",
    responses((status = 200, body = Vec<TierLevels>)))]
pub async fn dashboard(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
) -> Result<Json<Vec<TierLevels>>, AppError> {
    Ok(Json(s.store.warning_dashboard(&actor).await?))
}

#[derive(Serialize, ToSchema)]
pub struct PassResult {
    pub breaches: BreachPass,
    pub warnings: WarningPass,
}

/// Runs the breach and warning passes now (they also run in the background every few minutes).
#[utoipa::path(post, path = "/api/v1/warnings/run", tag = "warnings",
    responses((status = 200, body = PassResult), (status = 403, body = super::ErrorBody)))]
pub async fn run(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
) -> Result<Json<PassResult>, AppError> {
    actor.require(Action::WarningManage)?;
    let now = s.clock.now();
    let breaches = s.store.record_breaches(now).await?;
    let warnings = s.store.raise_warnings(now).await?;
    Ok(Json(PassResult { breaches, warnings }))
}

#[utoipa::path(get, path = "/api/v1/warning-rules", tag = "warnings",
    responses((status = 200, body = Vec<WarningRule>)))]
pub async fn rules(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
) -> Result<Json<Vec<WarningRule>>, AppError> {
    actor.require(Action::WarningRead)?;
    Ok(Json(s.store.warning_rules().await?))
}

/// Edits a rule's name, thresholds (yellow ≤ orange ≤ red), window, tiers and whether it runs;
/// the metric stays. Stale version: 409.
#[utoipa::path(put, path = "/api/v1/warning-rules/{id}", tag = "warnings", params(("id" = i64, Path)),
    request_body = RuleUpdate,
    responses((status = 200, body = WarningRule), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody)))]
pub async fn update_rule(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(u): ApiJson<RuleUpdate>,
) -> Result<Json<WarningRule>, AppError> {
    Ok(Json(
        s.store
            .update_warning_rule(&actor, id, u, s.clock.now())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/sla-rules", tag = "warnings",
    responses((status = 200, body = SlaRules)))]
pub async fn sla_rules(
    State(s): State<AppState>,
    ApiUser(_actor): ApiUser,
) -> Result<Json<SlaRules>, AppError> {
    Ok(Json(s.store.sla_rules().await?))
}

/// Saves the response-time rules (F22). New clocks use them; running ones keep their due time.
#[utoipa::path(put, path = "/api/v1/sla-rules", tag = "warnings", request_body = SlaRules,
    responses((status = 200, body = SlaRules), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn save_sla_rules(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(r): ApiJson<SlaRules>,
) -> Result<Json<SlaRules>, AppError> {
    Ok(Json(s.store.set_sla_rules(&actor, r, s.clock.now()).await?))
}

/// Response-time breaches as the background pass recorded them, newest first.
#[utoipa::path(get, path = "/api/v1/sla-breaches", tag = "warnings", params(BreachFilter),
    responses((status = 200, body = BreachList)))]
pub async fn breaches(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(f): ApiQuery<BreachFilter>,
) -> Result<Json<Page<Breach>>, AppError> {
    Ok(Json(s.store.list_breaches(&actor, &f).await?))
}

/// The current stage's response-time clock: due time, time left (negative when overdue),
/// whether it stands still waiting for the customer; `null` once closed.
#[utoipa::path(get, path = "/api/v1/requirements/{id}/clock", tag = "requirements", params(("id" = i64, Path)),
    responses((status = 200, body = Option<ClockView>), (status = 404, body = super::ErrorBody)))]
pub async fn clock(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Option<ClockView>>, AppError> {
    let r = s.store.get_requirement(&actor, id).await?;
    Ok(Json(s.store.clock_of(&r, s.clock.now()).await?))
}

/// Pauses the clock while the requirement waits for the customer (`waiting: true`, `note`
/// saying what was asked for), or starts it again (`waiting: false`).
#[utoipa::path(post, path = "/api/v1/requirements/{id}/wait", tag = "requirements", params(("id" = i64, Path)),
    request_body = WaitRequest,
    responses((status = 200, body = Requirement), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn wait(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(w): ApiJson<WaitRequest>,
) -> Result<Json<Requirement>, AppError> {
    Ok(Json(
        s.store
            .set_requirement_waiting(&actor, id, w, s.clock.now())
            .await?,
    ))
}
