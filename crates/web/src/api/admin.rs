//! Users, departments and the audit trail (admin).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use reqloop_domain::access::Action;
use reqloop_domain::audit::Entry;
use reqloop_domain::user::{Department, NewUser, User};
use reqloop_store::{AuditFilter, Page, Who};
use utoipa::ToSchema;

use super::ApiJson;
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

#[utoipa::path(get, path = "/api/v1/users", tag = "admin", responses((status = 200, body = Vec<User>), (status = 403, body = super::ErrorBody)))]
pub async fn users(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
) -> Result<Json<Vec<User>>, AppError> {
    actor.require(Action::UserManage)?;
    Ok(Json(s.store.list_users().await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = NewUser,
    responses((status = 201, body = User), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn create_user(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(u): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<User>), AppError> {
    actor.require(Action::UserManage)?;
    Ok((
        StatusCode::CREATED,
        Json(
            s.store
                .create_user(&Who::from(&actor), u, s.clock.now())
                .await?,
        ),
    ))
}

#[utoipa::path(get, path = "/api/v1/departments", tag = "admin", responses((status = 200, body = Vec<Department>)))]
pub async fn departments(
    State(s): State<AppState>,
    _user: ApiUser,
) -> Result<Json<Vec<Department>>, AppError> {
    Ok(Json(s.store.departments().await?))
}

#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeadRequest {
    /// The head, or `null` for none.
    pub head_id: Option<i64>,
}

/// Names the head of a department (administrators); the head is recused from the department's
/// complaints.
#[utoipa::path(put, path = "/api/v1/departments/{id}/head", tag = "admin", params(("id" = i64, Path)),
    request_body = HeadRequest,
    responses((status = 200, body = Department), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn set_head(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    axum::extract::Path(id): axum::extract::Path<i64>,
    super::ApiJson(r): super::ApiJson<HeadRequest>,
) -> Result<Json<Department>, AppError> {
    actor.require(Action::UserManage)?;
    Ok(Json(
        s.store
            .set_department_head(
                &reqloop_store::Who::from(&actor),
                reqloop_domain::ids::DepartmentId(id),
                r.head_id.map(reqloop_domain::ids::UserId),
                s.clock.now(),
            )
            .await?,
    ))
}

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AuditList {
    items: Vec<Entry>,
    total: i64,
}

/// The audit trail, newest first (admin only).
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditFilter),
    responses((status = 200, body = AuditList), (status = 403, body = super::ErrorBody)))]
pub async fn audit(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    filter: Result<Query<AuditFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<Entry>>, AppError> {
    actor.require(Action::AuditRead)?;
    let Query(filter) = filter.map_err(|e| AppError::bad_request("query", e.body_text()))?;
    Ok(Json(s.store.list_audit(&filter).await?))
}

/// The customer coding rule (F1): placeholders `{grade}`, `{tier}`, `{province}`,
/// `{province_code}`, `{year}` and exactly one `{seq:N}`.
#[derive(serde::Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRule {
    pub rule: String,
}

#[utoipa::path(get, path = "/api/v1/settings/customer-code-rule", tag = "admin",
    responses((status = 200, body = CodeRule), (status = 403, body = super::ErrorBody)))]
pub async fn code_rule(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
) -> Result<Json<CodeRule>, AppError> {
    actor.require(Action::SettingsManage)?;
    let rule = s.store.customer_code_rule().await?;
    Ok(Json(CodeRule { rule }))
}

/// Changes the rule for customers created (or re-graded) from now on.
#[utoipa::path(put, path = "/api/v1/settings/customer-code-rule", tag = "admin", request_body = CodeRule,
    responses((status = 200, body = CodeRule), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn set_code_rule(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(body): ApiJson<CodeRule>,
) -> Result<Json<CodeRule>, AppError> {
    actor.require(Action::SettingsManage)?;
    s.store
        .set_customer_code_rule(&Who::from(&actor), body.rule.trim(), s.clock.now())
        .await?;
    Ok(Json(CodeRule {
        rule: body.rule.trim().to_string(),
    }))
}

#[utoipa::path(get, path = "/api/v1/projects", tag = "requirements",
    responses((status = 200, body = Vec<reqloop_domain::project::Project>)))]
pub async fn projects(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
) -> Result<Json<Vec<reqloop_domain::project::Project>>, AppError> {
    actor.require(Action::RequirementRead)?;
    Ok(Json(s.store.list_projects().await?))
}

/// A project (F12) with its manager and team.
#[utoipa::path(post, path = "/api/v1/projects", tag = "requirements", request_body = reqloop_domain::project::ProjectFields,
    responses((status = 201, body = reqloop_domain::project::Project), (status = 400, body = super::ErrorBody),
        (status = 403, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
pub async fn create_project(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(f): ApiJson<reqloop_domain::project::ProjectFields>,
) -> Result<(StatusCode, Json<reqloop_domain::project::Project>), AppError> {
    actor.require(Action::ProjectManage)?;
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_project(&actor, f, s.clock.now()).await?),
    ))
}
