//! `/api/v1/grading-runs` (F2; 004§1.3, 001§4): evaluation runs that rank every customer by the
//! year's transaction volume and propose grades and tiers with their evidence, the committee's
//! adjustments and decision, the grading rules, and a customer's grade history.

use axum::extract::{Path, State};
use axum::Json;
use reqloop_domain::grading::GradeRules;
use reqloop_domain::ids::CustomerId;
use reqloop_store::{
    Adjustment, Applied, Candidate, CandidateFilter, GradeChange, GradingRun, NewRun, Page,
    RunDecision, RunSummary,
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
pub struct RunList {
    items: Vec<GradingRun>,
    total: i64,
}

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CandidateList {
    items: Vec<Candidate>,
    total: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunPage {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A run with how grades and tiers stand now and after it.
#[derive(Serialize, ToSchema)]
pub struct RunDetail {
    #[serde(flatten)]
    pub run: GradingRun,
    pub summary: RunSummary,
}

#[utoipa::path(get, path = "/api/v1/grading-rules", tag = "grading",
    responses((status = 200, body = GradeRules)))]
pub async fn rules(
    State(s): State<AppState>,
    ApiUser(_actor): ApiUser,
) -> Result<Json<GradeRules>, AppError> {
    Ok(Json(s.store.grading_rules().await?))
}

/// The grade boundaries (ranks 1..=a_last are A, up to b_last B) and the tags that stand for
/// the evidence of 001§4.
#[utoipa::path(put, path = "/api/v1/grading-rules", tag = "grading", request_body = GradeRules,
    responses((status = 200, body = GradeRules), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn save_rules(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(r): ApiJson<GradeRules>,
) -> Result<Json<GradeRules>, AppError> {
    Ok(Json(
        s.store.set_grading_rules(&actor, r, s.clock.now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/grading-runs", tag = "grading", params(RunPage),
    responses((status = 200, body = RunList), (status = 403, body = super::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(q): ApiQuery<RunPage>,
) -> Result<Json<Page<GradingRun>>, AppError> {
    Ok(Json(
        s.store
            .list_grading_runs(&actor, q.page, q.per_page)
            .await?,
    ))
}

/// Computes a run over every active customer (one draft at a time: 422 `draft_open`).
#[utoipa::path(post, path = "/api/v1/grading-runs", tag = "grading", request_body = NewRun,
    responses((status = 200, body = GradingRun), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn start(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(r): ApiJson<NewRun>,
) -> Result<Json<GradingRun>, AppError> {
    Ok(Json(
        s.store.start_grading_run(&actor, r, s.clock.now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/grading-runs/{id}", tag = "grading", params(("id" = i64, Path)),
    responses((status = 200, body = RunDetail), (status = 404, body = super::ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<RunDetail>, AppError> {
    Ok(Json(RunDetail {
        run: s.store.get_grading_run(&actor, id).await?,
        summary: s.store.grading_summary(&actor, id).await?,
    }))
}

/// A page of the candidate list by rank, with the evidence (`changed=true`: only those whose
/// grade or tier would change).
#[utoipa::path(get, path = "/api/v1/grading-runs/{id}/candidates", tag = "grading",
    params(("id" = i64, Path), CandidateFilter),
    responses((status = 200, body = CandidateList), (status = 404, body = super::ErrorBody)))]
pub async fn candidates(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiQuery(f): ApiQuery<CandidateFilter>,
) -> Result<Json<Page<Candidate>>, AppError> {
    Ok(Json(s.store.grading_candidates(&actor, id, &f).await?))
}

/// The committee sets a candidate's grade and tier; departing from the proposal needs a note.
/// The run's version as read: 409 when stale.
#[utoipa::path(put, path = "/api/v1/grading-runs/{id}/candidates/{customer_id}", tag = "grading",
    params(("id" = i64, Path), ("customer_id" = i64, Path)), request_body = Adjustment,
    responses((status = 200, body = Candidate), (status = 400, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn adjust(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((id, customer)): Path<(i64, i64)>,
    ApiJson(a): ApiJson<Adjustment>,
) -> Result<Json<Candidate>, AppError> {
    Ok(Json(
        s.store
            .adjust_candidate(&actor, id, customer, a, s.clock.now())
            .await?,
    ))
}

/// Approves (applies the grades, tiers and new codes; customers edited since are skipped) or
/// rejects (a note says why) a run — the committee, not the one who computed it (422 `own_run`).
#[utoipa::path(post, path = "/api/v1/grading-runs/{id}/decision", tag = "grading", params(("id" = i64, Path)),
    request_body = RunDecision,
    responses((status = 200, body = Applied), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn decide(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(d): ApiJson<RunDecision>,
) -> Result<Json<Applied>, AppError> {
    Ok(Json(
        s.store
            .decide_grading_run(&actor, id, d, s.clock.now())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/grade-history", tag = "grading", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<GradeChange>), (status = 404, body = super::ErrorBody)))]
pub async fn history(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<GradeChange>>, AppError> {
    Ok(Json(s.store.grade_history(&actor, CustomerId(id)).await?))
}
