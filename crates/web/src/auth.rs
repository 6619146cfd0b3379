//! Who is asking: the session (cookie) or token (Bearer) is resolved once per request; CSRF is
//! checked here for every state-changing request that a browser could forge.

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::access::Actor;
use reqloop_store::SessionInfo;

use crate::error::AppError;
use crate::i18n::{Lang, Tr};
use crate::AppState;

pub const SESSION_COOKIE: &str = "rl_session";
/// Double-submit token for forms shown before login.
pub const PRE_COOKIE: &str = "rl_pre";
pub const LANG_COOKIE: &str = "rl_lang";

/// The resolved session of this request, if any.
#[derive(Clone)]
pub struct Session(pub Option<SessionInfo>);

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure when configured.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> String {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

/// Resolves the session once, then checks CSRF on unsafe methods.
///
/// Exempt from the token: Bearer requests (no ambient credential) and JSON bodies (a browser
/// cannot send `application/json` across sites without a CORS preflight, which we never allow).
pub async fn resolve_session(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let now = state.clock.now();
    let headers = req.headers();
    let by_bearer = bearer(headers).is_some();
    let token = bearer(headers)
        .or_else(|| cookie(headers, SESSION_COOKIE))
        .map(str::to_owned);
    let session = match &token {
        Some(t) => match state.store.session(t, now).await {
            Ok(s) => s,
            Err(e) => return AppError::from(e).into_response(),
        },
        None => None,
    };
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // An API token (F32) counts only as a Bearer header, and a read token only reads.
    let session = session.filter(|s| s.token_scope.is_none() || by_bearer);
    if unsafe_method
        && session
            .as_ref()
            .is_some_and(|s| s.token_scope == Some(reqloop_store::TokenScope::Read))
    {
        return AppError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "此令牌只能读取 / this token may only read",
        )
        .into_response();
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let is_json = content_type.starts_with("application/json");
    let mut req = req;
    if unsafe_method && !by_bearer && !is_json {
        let expected = match &session {
            Some(s) => Some(s.csrf.clone()),
            None => cookie(req.headers(), PRE_COOKIE).map(str::to_owned),
        };
        let header_token = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let multipart = content_type.starts_with("multipart/form-data");
        let (parts, body) = req.into_parts();
        // A multipart upload carries its token in the query (the body is streamed, not read here).
        // So does a request with the token in its header (an upload from a script).
        let (form_token, body) = if multipart || header_token.is_some() {
            let token = parts.uri.query().and_then(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "_csrf")
                    .map(|(_, v)| v.into_owned())
            });
            (token, body)
        } else {
            let bytes = match axum::body::to_bytes(body, crate::BODY_LIMIT).await {
                Ok(b) => b,
                Err(_) => {
                    return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
                        .into_response()
                }
            };
            let token = if content_type.starts_with("application/x-www-form-urlencoded") {
                form_urlencoded::parse(&bytes)
                    .find(|(k, _)| k == "_csrf")
                    .map(|(_, v)| v.into_owned())
            } else {
                None
            };
            (token, Body::from(bytes))
        };
        let given = header_token.or(form_token);
        let ok = matches!((&expected, &given), (Some(e), Some(g)) if !e.is_empty() && constant_time_eq(e, g));
        if !ok {
            return AppError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "表单已过期，请刷新页面后重试 / the form expired; reload the page and retry",
            )
            .into_response();
        }
        req = Request::from_parts(parts, body);
    }
    req.extensions_mut().insert(Session(session));
    next.run(req).await
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The signed-in user of an API request; 401 otherwise.
pub struct ApiUser(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for ApiUser {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Session>() {
            Some(Session(Some(s))) => Ok(ApiUser(s.actor.clone())),
            _ => Err(AppError::unauthenticated()),
        }
    }
}

/// The signed-in user of a page, with the language and CSRF token pages need; redirects to
/// `/login` otherwise.
pub struct PageUser {
    pub actor: Actor,
    pub display_name: String,
    pub csrf: String,
    pub t: Tr,
    /// Path and query of this page (to come back after switching language).
    pub here: String,
    /// F4: the customers under tightened control that this user sees; every page marks them
    /// and their records.
    pub tightened: std::sync::Arc<std::collections::HashSet<i64>>,
    /// F31: unread inbox entries (the bell in the top bar).
    pub unread: i64,
}

impl FromRequestParts<crate::AppState> for PageUser {
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::AppState,
    ) -> Result<Self, Self::Rejection> {
        let t = lang_of(&parts.headers);
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .to_string();
        match parts.extensions.get::<Session>() {
            Some(Session(Some(s))) => {
                let tightened = state
                    .store
                    .tightened_customers(&s.actor)
                    .await
                    .map_err(|e| crate::error::AppError::from(e).into_response())?;
                let unread = state
                    .store
                    .unread_notifications(&s.actor)
                    .await
                    .map_err(|e| crate::error::AppError::from(e).into_response())?;
                Ok(PageUser {
                    actor: s.actor.clone(),
                    display_name: s.display_name.clone(),
                    csrf: s.csrf.clone(),
                    t,
                    here,
                    tightened: std::sync::Arc::new(tightened),
                    unread,
                })
            }
            _ => {
                let q: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", &here)
                    .finish();
                // The portal has its own sign-in page.
                let login = if here.starts_with("/portal") {
                    "/portal/login"
                } else {
                    "/login"
                };
                Err(Redirect::to(&format!("{login}?{q}")).into_response())
            }
        }
    }
}

/// The language of the request (cookie, zh-CN by default).
pub fn lang_of(headers: &HeaderMap) -> Tr {
    Tr {
        lang: Lang::from_cookie(cookie(headers, LANG_COOKIE)),
    }
}

/// The client address for login throttling: the socket peer, or the first `X-Forwarded-For`
/// hop when a proxy put one there.
pub fn client_address(headers: &HeaderMap, peer: Option<std::net::SocketAddr>) -> String {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|s| s.trim().to_string())
        .or_else(|| peer.map(|p| p.ip().to_string()))
        .unwrap_or_else(|| "unknown".into())
}

/// The socket peer, when the server was started with connect info (absent in router tests).
pub struct PeerAddr(pub Option<std::net::SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}
