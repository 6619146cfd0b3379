//! Login, logout and "who am I".

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use reqloop_domain::user::User;
use reqloop_store::LoginOutcome;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiJson;
use crate::auth::{self, ApiUser};
use crate::error::AppError;
use crate::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Usable as `Authorization: Bearer …`; the same login also sets the session cookie.
    pub token: String,
    pub user: User,
}

/// Shared by the API and the login page: checks the password (throttled) and opens a session.
pub(crate) async fn open_session(
    state: &AppState,
    username: &str,
    password: &str,
    address: &str,
) -> Result<(String, User), AppError> {
    let now = state.clock.now();
    if username.len() > 100 || password.len() > 1024 {
        return Err(invalid_login());
    }
    match state
        .store
        .authenticate(username, password, address, now)
        .await?
    {
        LoginOutcome::Ok(user) => {
            let token = state.store.create_session(&user, now).await?;
            Ok((token, user))
        }
        LoginOutcome::Invalid => Err(invalid_login()),
        LoginOutcome::Throttled => Err(AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            "登录失败次数过多，请15分钟后再试 / too many failed sign-ins; try again in 15 minutes",
        )),
    }
}

/// The same answer for an unknown user and a wrong password.
fn invalid_login() -> AppError {
    AppError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "用户名或密码错误 / wrong username or password",
    )
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = super::ErrorBody), (status = 429, body = super::ErrorBody)),
    security(()))]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    auth::PeerAddr(peer): auth::PeerAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, AppError> {
    let address = auth::client_address(&headers, peer);
    let (token, user) = open_session(&state, &req.username, &req.password, &address).await?;
    let cookie = auth::set_cookie(
        &state,
        auth::SESSION_COOKIE,
        &token,
        reqloop_store::SESSION_HOURS * 3600,
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(LoginResponse { token, user }),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let token = auth::bearer(&headers).or_else(|| auth::cookie(&headers, auth::SESSION_COOKIE));
    if let Some(t) = token {
        state.store.delete_session(t).await?;
    }
    let clear = auth::set_cookie(&state, auth::SESSION_COOKIE, "", 0);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: reqloop_domain::user::Role,
    pub data_scope: reqloop_domain::user::DataScope,
    /// A portal user's company.
    pub customer_id: Option<i64>,
    pub department_id: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = super::ErrorBody)))]
pub async fn me(ApiUser(actor): ApiUser, Extension(session): Extension<auth::Session>) -> Json<Me> {
    let display_name = session.0.map(|s| s.display_name).unwrap_or_default();
    Json(Me {
        user_id: actor.user_id.0,
        username: actor.username,
        display_name,
        role: actor.role,
        data_scope: actor.scope,
        customer_id: actor.customer_id.map(|c| c.0),
        department_id: actor.department_id.map(|d| d.0),
    })
}
