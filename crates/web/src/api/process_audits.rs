//! `/api/v1/process-audits` (F16): audit plans per region or project, the graded checklist,
//! the report; `/api/v1/practices`: the excellent practices shared from them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use reqloop_domain::access::Action;
use reqloop_domain::process_audit::{ItemGrading, PlanFields};
use reqloop_store::{AuditReport, Page, Practice, ProcessAudit, ProcessAuditFilter};
use utoipa::ToSchema;

use super::contracts::PageQuery;
use super::{ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProcessAuditList {
    items: Vec<ProcessAudit>,
    total: i64,
}

#[utoipa::path(get, path = "/api/v1/process-audits", tag = "process audits", params(ProcessAuditFilter),
    responses((status = 200, body = ProcessAuditList), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(f): ApiQuery<ProcessAuditFilter>,
) -> Result<Json<Page<ProcessAudit>>, AppError> {
    actor.require(Action::ProcessAuditRead)?;
    Ok(Json(s.store.list_process_audits(&f).await?))
}

/// Plans an audit of a region (province) or a project; the checklist defaults to the one built
/// from the nine stages.
#[utoipa::path(post, path = "/api/v1/process-audits", tag = "process audits", request_body = PlanFields,
    responses((status = 201, body = ProcessAudit), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn plan(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(f): ApiJson<PlanFields>,
) -> Result<(StatusCode, Json<ProcessAudit>), AppError> {
    actor.require(Action::ProcessAuditWrite)?;
    let a = s.store.plan_process_audit(&actor, f, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(a)))
}

#[utoipa::path(get, path = "/api/v1/process-audits/{id}", tag = "process audits", params(("id" = i64, Path)),
    responses((status = 200, body = ProcessAudit), (status = 404, body = super::ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<ProcessAudit>, AppError> {
    actor.require(Action::ProcessAuditRead)?;
    Ok(Json(s.store.get_process_audit(id).await?))
}

/// Grades one checklist item (numbered from 1): qualified / good / excellent (with the practice
/// to share) or not qualified (with the finding).
#[utoipa::path(put, path = "/api/v1/process-audits/{id}/items/{seq}", tag = "process audits",
    params(("id" = i64, Path), ("seq" = i64, Path)), request_body = ItemGrading,
    responses((status = 200, body = ProcessAudit), (status = 400, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn grade(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((id, seq)): Path<(i64, i64)>,
    ApiJson(g): ApiJson<ItemGrading>,
) -> Result<Json<ProcessAudit>, AppError> {
    actor.require(Action::ProcessAuditWrite)?;
    Ok(Json(
        s.store
            .grade_audit_item(&actor, id, seq, g, s.clock.now())
            .await?,
    ))
}

/// Reports the audit (422 `ungraded_items` until every item is graded).
#[utoipa::path(post, path = "/api/v1/process-audits/{id}/report", tag = "process audits", params(("id" = i64, Path)),
    request_body = AuditReport,
    responses((status = 200, body = ProcessAudit), (status = 400, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn report(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<AuditReport>,
) -> Result<Json<ProcessAudit>, AppError> {
    actor.require(Action::ProcessAuditWrite)?;
    Ok(Json(
        s.store
            .report_process_audit(&actor, id, r, s.clock.now())
            .await?,
    ))
}

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PracticeList {
    items: Vec<Practice>,
    total: i64,
}

/// The excellent practices of every audit, newest first.
#[utoipa::path(get, path = "/api/v1/practices", tag = "process audits", params(PageQuery),
    responses((status = 200, body = PracticeList)))]
pub async fn practices(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<Practice>>, AppError> {
    actor.require(Action::ProcessAuditRead)?;
    Ok(Json(s.store.practices(q.page, q.per_page).await?))
}
