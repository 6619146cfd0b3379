//! `/api/v1/tokens` (F32): the reader's API tokens. Managed from a signed-in session only — a
//! token cannot make or revoke tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use reqloop_store::{ApiToken, CreatedToken, NewToken};

use super::ApiJson;
use crate::auth::Session;
use crate::error::AppError;
use crate::AppState;

fn by_session(s: &Session) -> Result<reqloop_domain::access::Actor, AppError> {
    match &s.0 {
        Some(info) if info.token_scope.is_none() => Ok(info.actor.clone()),
        Some(_) => Err(AppError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "令牌只能在登录后管理 / tokens are managed from a signed-in session",
        )),
        None => Err(AppError::unauthenticated()),
    }
}

/// The reader's tokens (never the tokens themselves).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = Vec<ApiToken>), (status = 401, body = super::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    Extension(session): Extension<Session>,
) -> Result<Json<Vec<ApiToken>>, AppError> {
    let actor = by_session(&session)?;
    Ok(Json(s.store.api_tokens(&actor).await?))
}

/// Makes a token acting as the reader: `read` (GET only) or `write`, expiring after 1–366
/// days. The answer is the only time the token is shown.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens",
    request_body(content = NewToken, example = json!({"name": "ERP 同步", "scope": "read", "expires_in_days": 90})),
    responses((status = 201, body = CreatedToken, example = json!({"id": 1, "name": "ERP 同步", "scope": "read",
        "expires_at": "2027-02-28T08:00:00.000Z", "revoked_at": null, "last_used_at": null,
        "created_at": "2026-11-30T08:00:00.000Z", "token": "rlk_3f9a…"})),
        (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    Extension(session): Extension<Session>,
    ApiJson(t): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), AppError> {
    let actor = by_session(&session)?;
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_api_token(&actor, t, s.clock.now()).await?),
    ))
}

/// Revokes a token at once (one's own; administrators anyone's).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = i64, Path)),
    responses((status = 200, body = ApiToken), (status = 404, body = super::ErrorBody)))]
pub async fn revoke(
    State(s): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<i64>,
) -> Result<Json<ApiToken>, AppError> {
    let actor = by_session(&session)?;
    Ok(Json(
        s.store.revoke_api_token(&actor, id, s.clock.now()).await?,
    ))
}
