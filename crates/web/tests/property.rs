//! Customer property (F19) on SQLite and PostgreSQL: receipt, inspection, the use log, status
//! reports, incidents that must be reported before the return, controlled external documents,
//! and confidential items hidden from roles not cleared for them.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use reqloop_store::both_backends;
use reqloop_store::demo::DEMO_PASSWORD;
use serde_json::json;

mod common;
use common::{app, call, login};

both_backends!(property_is_received_inspected_used_and_returned, |db| {
    let app = app(db).await;
    let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
    let before = db.store.verify_audit().await.unwrap().entries;
    let (status, _) = call(&app, "POST", "/api/v1/property", &marketing, Some(json!({
        "customer_id": 1, "name": "工装", "kind": "tooling", "quantity": 0, "received_on": "2026-11-20"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(db.store.verify_audit().await.unwrap().entries, before);
    let (status, p) = call(&app, "POST", "/api/v1/property", &marketing, Some(json!({
        "customer_id": 1, "name": "客户技术规范", "kind": "document", "quantity": 1, "unit": "份", "received_on": "2026-11-20"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert!(p["control_number"].as_str().unwrap().starts_with("WL-"));
    assert_eq!(p["external_document"], true);
    let id = p["id"].as_i64().unwrap();
    let path = |s: &str| format!("/api/v1/property/{id}/{s}");
    let (status, err) = call(
        &app,
        "POST",
        &path("issue"),
        &marketing,
        Some(json!({"version": p["version"], "to": "x", "purpose": "y"})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("property_state")),
        "inspect first"
    );
    let (_, p) = call(
        &app,
        "POST",
        &path("inspection"),
        &marketing,
        Some(json!({
        "version": p["version"], "passed": true, "note": "页数齐全", "location": "文控中心 A-1"})),
    )
    .await;
    assert_eq!(p["state"], "stored");
    let (_, p) = call(
        &app,
        "POST",
        &path("issue"),
        &marketing,
        Some(json!({"version": p["version"], "to": "设计部 李工", "purpose": "方案设计"})),
    )
    .await;
    assert_eq!(p["state"], "issued");
    let (_, p) = call(
        &app,
        "POST",
        &path("back"),
        &marketing,
        Some(json!({"version": p["version"]})),
    )
    .await;
    assert_eq!(p["uses"][0]["issued_to"], "设计部 李工");
    assert!(p["uses"][0]["back_at"].is_string());
    let (_, p) = call(
        &app,
        "POST",
        &path("reports"),
        &marketing,
        Some(json!({"content": "资料在用，状态良好"})),
    )
    .await;
    assert_eq!(p["reports"].as_array().unwrap().len(), 1);
    // An incident holds the return until the customer has been told.
    let (_, p) = call(
        &app,
        "POST",
        &path("incidents"),
        &marketing,
        Some(json!({"kind": "leak", "description": "复印件误发给供应商"})),
    )
    .await;
    assert_eq!(p["unreported_incidents"], 1);
    let (status, err) = call(
        &app,
        "POST",
        &path("return"),
        &marketing,
        Some(json!({"version": p["version"], "note": "归还"})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].clone()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!("incident_unreported")
        )
    );
    let incident = p["incidents"][0]["id"].as_i64().unwrap();
    let (_, p) = call(
        &app,
        "POST",
        &path(&format!("incidents/{incident}/reported")),
        &marketing,
        Some(json!({"note": "已电话并书面告知客户"})),
    )
    .await;
    let (status, p) = call(
        &app,
        "POST",
        &path("return"),
        &marketing,
        Some(json!({"version": p["version"], "note": "当面归还"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["state"], "returned");
    let (status, _) = call(
        &app,
        "POST",
        &path("reports"),
        &marketing,
        Some(json!({"content": "x"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a returned item is closed"
    );
    assert_eq!(db.store.verify_audit().await.unwrap().result, Ok(()));
});

both_backends!(
    confidential_property_is_hidden_from_roles_not_cleared,
    |db| {
        let app = app(db).await;
        let admin = login(&app, "admin", "admin123").await;
        let (_, all) = call(&app, "GET", "/api/v1/property?per_page=100", &admin, None).await;
        let secret = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["confidential"] == true)
            .expect("the demo's confidential drawing");
        let id = secret["id"].as_i64().unwrap();
        let customer = secret["customer_id"].as_i64().unwrap();
        let (_, c) = call(
            &app,
            "GET",
            &format!("/api/v1/customers/{customer}"),
            &admin,
            None,
        )
        .await;
        let manager = c["account_manager_id"].as_i64().unwrap();
        let (_, users) = call(&app, "GET", "/api/v1/users", &admin, None).await;
        let name = users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == manager)
            .unwrap()["username"]
            .as_str()
            .unwrap()
            .to_string();
        let am = login(&app, &name, DEMO_PASSWORD).await;
        let (status, _) = call(&app, "GET", &format!("/api/v1/property/{id}"), &am, None).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "the account manager is not cleared"
        );
        let (_, list) = call(&app, "GET", "/api/v1/property?per_page=100", &am, None).await;
        assert!(list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["confidential"] == false));
        let (status, _) = call(&app, "POST", "/api/v1/property", &am, Some(json!({
        "customer_id": customer, "name": "保密样件", "kind": "sample", "quantity": 1, "received_on": "2026-11-20", "confidential": true}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let quality = login(&app, "quality", DEMO_PASSWORD).await;
        let (status, p) = call(
            &app,
            "GET",
            &format!("/api/v1/property/{id}"),
            &quality,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(p["external_document"], true);
        let portal = login(&app, "portal", DEMO_PASSWORD).await;
        let (status, _) = call(&app, "GET", "/api/v1/property", &portal, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // The register page marks external documents.
        let req = Request::get("/property")
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap();
        let (status, html, _) = common::send(&app, req).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains("外来文件") && html.contains("牵引电机型式试验工装"));
    }
);
