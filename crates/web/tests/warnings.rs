//! Early warnings and response-time rules over HTTP (F22, F24) on SQLite and PostgreSQL: the
//! list, dashboard and steps through the API, rule edits with their checks, the pages, and a
//! requirement's clock paused while waiting for the customer.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use reqloop_store::both_backends;
use reqloop_store::demo::DEMO_PASSWORD;
use serde_json::json;

mod common;
use common::{app, call, login};

fn page(token: &str, path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

fn form(token: &str, path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_string()))
        .unwrap()
}

both_backends!(warnings_are_listed_handled_and_scoped, |db| {
    let app = app(db).await;
    let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
    let quality = login(&app, "quality", DEMO_PASSWORD).await;
    let liuyang = login(&app, "liuyang", DEMO_PASSWORD).await;
    let portal = login(&app, "portal", DEMO_PASSWORD).await;

    let (status, all) = call(
        &app,
        "GET",
        "/api/v1/warnings?open=true&per_page=200",
        &marketing,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let total = all["total"].as_i64().unwrap();
    assert!(total > 0);
    let levels: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["level"].as_str().unwrap())
        .collect();
    let first_not_red = levels
        .iter()
        .position(|l| *l != "red")
        .unwrap_or(levels.len());
    assert!(
        levels[first_not_red..].iter().all(|l| *l != "red"),
        "red first: {levels:?}"
    );

    // The dashboard adds up to the open warnings.
    let (_, dash) = call(&app, "GET", "/api/v1/warning-dashboard", &marketing, None).await;
    let sum: i64 = dash
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t["yellow"].as_i64().unwrap()
                + t["orange"].as_i64().unwrap()
                + t["red"].as_i64().unwrap()
        })
        .sum();
    assert_eq!(sum, total);
    assert_eq!(dash.as_array().unwrap().len(), 4, "one row per tier");

    // An account manager sees the warnings of their own customers only.
    let (_, mine) = call(
        &app,
        "GET",
        "/api/v1/warnings?open=true&per_page=200",
        &liuyang,
        None,
    )
    .await;
    assert!(mine["total"].as_i64().unwrap() < total);
    let (status, _) = call(&app, "GET", "/api/v1/warnings", &portal, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, bad) = call(
        &app,
        "GET",
        "/api/v1/warnings?level=purple",
        &marketing,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");

    // Assign → resolve → verify, with the checks on the way.
    let (_, raised) = call(
        &app,
        "GET",
        "/api/v1/warnings?state=raised",
        &marketing,
        None,
    )
    .await;
    let w = &raised["items"][0];
    let id = w["id"].as_i64().unwrap();
    let v = w["version"].as_i64().unwrap();
    let path = format!("/api/v1/warnings/{id}/steps");
    let (status, e) = call(
        &app,
        "POST",
        &path,
        &marketing,
        Some(json!({"version": v, "step": "assign"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"]["details"][0]["field"], "assignee_id");
    let (_, users) = call(
        &app,
        "GET",
        "/api/v1/users",
        &login(&app, "admin", "admin123").await,
        None,
    )
    .await;
    let quality_id = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "quality")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, a) = call(
        &app,
        "POST",
        &path,
        &marketing,
        Some(json!({"version": v, "step": "assign", "assignee_id": quality_id})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["state"], "assigned");
    let (status, _) = call(
        &app,
        "POST",
        &path,
        &marketing,
        Some(json!({"version": v, "step": "resolve", "note": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "stale version");
    let (status, r) = call(
        &app,
        "POST",
        &path,
        &quality,
        Some(json!({"version": a["version"], "step": "resolve", "note": "已联系客户并落实措施"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (status, _) = call(
        &app,
        "POST",
        &path,
        &quality,
        Some(json!({"version": r["version"], "step": "verify", "note": "ok"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "nobody verifies their own resolution"
    );
    let (status, x) = call(
        &app,
        "POST",
        &path,
        &marketing,
        Some(json!({"version": r["version"], "step": "assign", "assignee_id": quality_id})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{x}");
    let (status, done) = call(
        &app,
        "POST",
        &path,
        &marketing,
        Some(json!({"version": r["version"], "step": "verify", "note": "复核有效"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["state"], "verified");

    // The page: dashboard, filters, and the detail with its next step.
    let (status, html, _) = common::send(&app, page(&marketing, "/warnings?level=red")).await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("id=\"tier-grid\"") && html.contains("id=\"tier-strategic\""));
    assert!(
        !html.contains("badge level-yellow\">黄色预警</span></td>"),
        "filtered to red"
    );
    let (_, html, _) = common::send(&app, page(&marketing, &format!("/warnings/{id}"))).await;
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("已验证关闭") && html.contains("复核有效"));
    let other = raised["items"][1]["id"].as_i64().unwrap();
    let other_v = raised["items"][1]["version"].as_i64().unwrap();
    let (status, html, _) = common::send(
        &app,
        form(
            &marketing,
            &format!("/warnings/{other}/step"),
            &format!("version={other_v}&step=assign&assignee_id=&note="),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8(html)
        .unwrap()
        .contains("id=\"err-assignee_id\""));
    assert!(db.store.verify_audit().await.unwrap().result.is_ok());
});

both_backends!(rules_are_edited_with_checks, |db| {
    let app = app(db).await;
    let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
    let liuyang = login(&app, "liuyang", DEMO_PASSWORD).await;
    let (_, rules) = call(&app, "GET", "/api/v1/warning-rules", &marketing, None).await;
    assert_eq!(rules.as_array().unwrap().len(), 7);
    let r = rules[3].clone();
    assert_eq!(r["metric"], "complaints");
    let path = format!("/api/v1/warning-rules/{}", r["id"]);
    let mut body = r.clone();
    for k in ["id", "updated_by", "updated_at"] {
        body.as_object_mut().unwrap().remove(k);
    }
    body["orange"] = json!(1);
    body["yellow"] = json!(2);
    let (status, e) = call(&app, "PUT", &path, &marketing, Some(body.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"]["details"][0]["field"], "orange");
    body["orange"] = json!(4);
    body["window_days"] = json!(60);
    let (status, _) = call(&app, "PUT", &path, &liuyang, Some(body.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, saved) = call(&app, "PUT", &path, &marketing, Some(body.clone())).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["orange"], 4);
    assert_eq!(saved["version"], 2);
    let (status, _) = call(&app, "PUT", &path, &marketing, Some(body)).await;
    assert_eq!(status, StatusCode::CONFLICT, "the version read is stale");

    // Response-time rules: defaults of F22, checked, saved.
    let (_, sla) = call(&app, "GET", "/api/v1/sla-rules", &marketing, None).await;
    assert_eq!(sla["urgent"], json!({"value": 4, "unit": "working_hours"}));
    assert_eq!(sla["general"], json!({"value": 5, "unit": "working_days"}));
    let mut bad = sla.clone();
    bad["important"]["value"] = json!(0);
    let (status, _) = call(&app, "PUT", "/api/v1/sla-rules", &marketing, Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut urgent2 = sla.clone();
    urgent2["urgent"]["value"] = json!(2);
    let (status, _) = call(&app, "PUT", "/api/v1/sla-rules", &marketing, Some(urgent2)).await;
    assert_eq!(status, StatusCode::OK);

    // The rules page shows a failed form's messages beside its fields.
    let (status, html, _) = common::send(
        &app,
        form(
            &marketing,
            &format!("/warning-rules/{}", r["id"]),
            "version=2&name=x&yellow=3&orange=2&red=9&window_days=90&enabled=on",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8(html)
        .unwrap()
        .contains(&format!("id=\"err-{}-orange\"", r["id"])));
    assert!(db.store.verify_audit().await.unwrap().result.is_ok());
});

both_backends!(
    a_requirement_clock_pauses_while_waiting_for_the_customer,
    |db| {
        let app = app(db).await;
        let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
        let (_, list) = call(
            &app,
            "GET",
            "/api/v1/requirements?stage=review&per_page=50",
            &marketing,
            None,
        )
        .await;
        let r = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["waiting_since"].is_null())
            .unwrap()
            .clone();
        let id = r["id"].as_i64().unwrap();
        let (status, clock) = call(
            &app,
            "GET",
            &format!("/api/v1/requirements/{id}/clock"),
            &marketing,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(clock["waiting"], false);
        assert!(clock["due_at"].is_string() && clock["remaining_minutes"].is_i64());
        let wait = format!("/api/v1/requirements/{id}/wait");
        let (status, e) = call(
            &app,
            "POST",
            &wait,
            &marketing,
            Some(json!({"version": r["version"], "waiting": true})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
        let (status, w) = call(
            &app,
            "POST",
            &wait,
            &marketing,
            Some(json!({"version": r["version"], "waiting": true, "note": "等待客户确认图纸"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{w}");
        assert!(w["waiting_since"].is_string());
        let (status, _) = call(
            &app,
            "POST",
            &wait,
            &marketing,
            Some(json!({"version": w["version"], "waiting": true, "note": "again"})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let (_, paused) = call(
            &app,
            "GET",
            &format!("/api/v1/requirements/{id}/clock"),
            &marketing,
            None,
        )
        .await;
        assert_eq!(paused["waiting"], true);
        let (status, html, _) =
            common::send(&app, page(&marketing, &format!("/requirements/{id}"))).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains("id=\"resume-clock\"") && html.contains("计时暂停"));
        let (status, _, headers) = common::send(
            &app,
            form(
                &marketing,
                &format!("/requirements/{id}/wait"),
                &format!("version={}&waiting=0", w["version"]),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(
            headers[header::LOCATION],
            format!("/requirements/{id}#clock")
        );
        let (_, resumed) = call(
            &app,
            "GET",
            &format!("/api/v1/requirements/{id}/clock"),
            &marketing,
            None,
        )
        .await;
        assert_eq!(resumed["waiting"], false);
    }
);
