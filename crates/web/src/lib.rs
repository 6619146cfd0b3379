//! ReqLoop over HTTP: the JSON API under `/api/v1` and the server-rendered pages at the same
//! paths without the prefix. Handlers are thin: they parse, ask `access`, call the store and
//! render.

mod api;
mod assets;
mod auth;
mod error;
pub mod export;
pub mod i18n;
pub mod import;
mod pages;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::Router;
use reqloop_domain::time::Clock;
use reqloop_store::Store;
use tower_http::set_header::SetResponseHeaderLayer;

pub use error::AppError;

/// Largest request body accepted (JSON and forms; uploads come with their own limit).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Mark cookies `Secure` (set when served over TLS, directly or behind a proxy).
    pub secure_cookies: bool,
}

/// The whole application: API, pages, assets, health checks and security headers.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(pages::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::resolve_session,
        ))
        // Added after the session layer, so they never look a session up: `/livez` touches
        // nothing (the HTTP floor of the benchmarks), assets are public.
        .route("/assets/{*path}", get(assets::serve))
        .route("/healthz", get(healthz))
        .route("/livez", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .with_state(state)
}

/// 200 once the database answers, 503 otherwise.
async fn healthz(
    axum::extract::State(s): axum::extract::State<AppState>,
) -> (axum::http::StatusCode, &'static str) {
    if s.store.ping().await {
        (axum::http::StatusCode::OK, "ok")
    } else {
        (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "database unavailable",
        )
    }
}
