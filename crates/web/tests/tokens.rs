//! API tokens (F32) on SQLite and PostgreSQL: made from a session and shown once, a read token
//! only reads, a token cannot make tokens, revoked and expired tokens stop at once; the API
//! documentation page renders every route from the OpenAPI document.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use reqloop_store::both_backends;
use reqloop_store::demo::DEMO_PASSWORD;
use serde_json::json;

mod common;
use common::{app, call, login, send};

both_backends!(tokens_act_within_scope_until_revoked, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let (s, e) = call(
        &app,
        "POST",
        "/api/v1/tokens",
        &admin,
        Some(json!({"name": " ", "scope": "read", "expires_in_days": 0})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["details"].as_array().unwrap().len(), 2, "{e}");
    let (s, read) = call(
        &app,
        "POST",
        "/api/v1/tokens",
        &admin,
        Some(json!({"name": "ERP 同步", "scope": "read", "expires_in_days": 30})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{read}");
    let read_token = read["token"].as_str().unwrap().to_string();
    assert!(read_token.starts_with("rlk_"));
    let (_, write) = call(
        &app,
        "POST",
        "/api/v1/tokens",
        &admin,
        Some(json!({"name": "MES", "scope": "write", "expires_in_days": 1})),
    )
    .await;
    let write_token = write["token"].as_str().unwrap().to_string();

    // Listed without the token.
    let (_, list) = call(&app, "GET", "/api/v1/tokens", &admin, None).await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains(&read_token[4..]));

    // A read token reads and is refused anything else; a write token writes.
    let (s, _) = call(&app, "GET", "/api/v1/customers", &read_token, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = call(
        &app,
        "POST",
        "/api/v1/notifications/read",
        &read_token,
        Some(json!({"all": true})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(e["error"]["code"], "insufficient_scope");
    let (s, _) = call(
        &app,
        "POST",
        "/api/v1/notifications/read",
        &write_token,
        Some(json!({"all": true})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // Tokens do not make or revoke tokens.
    let (s, _) = call(
        &app,
        "POST",
        "/api/v1/tokens",
        &write_token,
        Some(json!({"name": "x", "scope": "write", "expires_in_days": 30})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Someone else cannot see or revoke them; revoked, a token stops at once.
    let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
    let (s, _) = call(
        &app,
        "DELETE",
        &format!("/api/v1/tokens/{}", read["id"]),
        &marketing,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, r) = call(
        &app,
        "DELETE",
        &format!("/api/v1/tokens/{}", read["id"]),
        &admin,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(r["revoked_at"].is_string());
    let (s, _) = call(&app, "GET", "/api/v1/customers", &read_token, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Expired: the one-day token is nobody the day after.
    let now = chrono::Utc::now();
    assert!(db.store.session(&write_token, now).await.unwrap().is_some());
    assert!(db
        .store
        .session(&write_token, now + chrono::Duration::days(2))
        .await
        .unwrap()
        .is_none());

    // The documentation page: every route from the OpenAPI document, with examples.
    let req = Request::get("/api-docs")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .body(Body::empty())
        .unwrap();
    let (s, html, _) = send(&app, req).await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!(s, StatusCode::OK);
    let (_, doc) = call(&app, "GET", "/api/v1/openapi.json", &admin, None).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let marker = format!(
                "data-path=\"{path}\" data-method=\"{}\"",
                method.to_uppercase()
            );
            assert!(html.contains(&marker), "{marker} is not on the page");
        }
    }
    assert!(html.contains("ERP 同步"), "the token example is shown");
});
