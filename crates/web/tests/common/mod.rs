//! What the HTTP test files share: the app over demo data, JSON calls and logins.
#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use reqloop_domain::time::SystemClock;
use reqloop_store::testing::TestDb;
use serde_json::{json, Value};
use tower::ServiceExt;

/// The router over the demo data.
pub async fn app(db: &TestDb) -> Router {
    reqloop_store::demo::load(&db.store, chrono::Utc::now())
        .await
        .expect("demo data");
    reqloop_web::router(reqloop_web::AppState {
        store: db.store.clone(),
        clock: Arc::new(SystemClock),
        secure_cookies: false,
    })
}

/// Sends a request; status, body bytes and headers.
pub async fn send(app: &Router, req: Request<Body>) -> (StatusCode, Vec<u8>, HeaderMap) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, bytes.to_vec(), headers)
}

/// A JSON call with a Bearer token; the body as JSON (`null` when it is not JSON).
pub async fn call(
    app: &Router,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let req = match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    let (status, bytes, _) = send(app, req).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Signs in; the session token.
pub async fn login(app: &Router, user: &str, password: &str) -> String {
    let (_, v) = call(
        app,
        "POST",
        "/api/v1/auth/login",
        "",
        Some(json!({"username": user, "password": password})),
    )
    .await;
    v["token"].as_str().expect("a token").to_string()
}

pub async fn body_text(res: axum::response::Response) -> String {
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}
