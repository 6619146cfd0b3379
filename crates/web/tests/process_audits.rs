//! Process audits (F16) on SQLite and PostgreSQL: a plan per region or project, its checklist
//! graded qualified / good / excellent (a failing item needs its finding, an excellent one the
//! practice to share), the report once every item is graded, and the shared practices.

use axum::http::StatusCode;
use reqloop_store::both_backends;
use reqloop_store::demo::DEMO_PASSWORD;
use serde_json::json;

mod common;
use common::{app, call, login};

both_backends!(
    an_audit_is_planned_graded_reported_and_shares_its_practices,
    |db| {
        let app = app(db).await;
        let quality = login(&app, "quality", DEMO_PASSWORD).await;
        let (_, me) = call(&app, "GET", "/api/v1/auth/me", &quality, None).await;
        let auditor = me["user_id"].as_i64().unwrap();
        let before = db.store.verify_audit().await.unwrap().entries;
        let (status, err) = call(&app, "POST", "/api/v1/process-audits", &quality, Some(json!({
        "title": "华东区域审核", "scope": "region", "province": "华东", "planned_on": "2026-12-10", "auditor_id": auditor
    }))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        let (status, _) = call(&app, "POST", "/api/v1/process-audits", &quality, Some(json!({
        "title": "项目审核", "scope": "project", "planned_on": "2026-12-10", "auditor_id": auditor
    }))).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "a project audit names its project"
        );
        assert_eq!(db.store.verify_audit().await.unwrap().entries, before);
        let reviewer = login(&app, "reviewer", DEMO_PASSWORD).await;
        let plan = json!({"title": "2026 年江苏区域需求管理过程审核", "scope": "region", "province": "江苏省",
        "planned_on": "2026-12-10", "auditor_id": auditor,
        "items": ["需求识别表完整", "评审各方均已签署", "变更经再评审并验证"]});
        let (status, _) = call(
            &app,
            "POST",
            "/api/v1/process-audits",
            &reviewer,
            Some(plan.clone()),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "a department reviewer reads audits but does not plan them"
        );
        let (status, a) = call(&app, "POST", "/api/v1/process-audits", &quality, Some(plan)).await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        assert_eq!(a["status"], "planned");
        assert_eq!(a["items"].as_array().unwrap().len(), 3);
        let id = a["id"].as_i64().unwrap();
        let item = |seq: i64| format!("/api/v1/process-audits/{id}/items/{seq}");
        let report = format!("/api/v1/process-audits/{id}/report");

        let (status, err) = call(
            &app,
            "PUT",
            &item(1),
            &quality,
            Some(json!({"version": 0, "grade": "not_qualified"})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(err.to_string().contains("finding_required"), "{err}");
        let (status, _) = call(
            &app,
            "PUT",
            &item(1),
            &quality,
            Some(json!({"version": 0, "grade": "excellent"})),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "an excellent item says what to share"
        );
        let (status, a) = call(
            &app,
            "PUT",
            &item(1),
            &quality,
            Some(json!({"version": 0, "grade": "excellent",
        "note": "抽查 10 份识别表", "practice": "识别表与顾客反馈信息一览表联动，逐条标注差异"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{a}");
        assert_eq!(a["status"], "in_progress");
        let (status, _) = call(
            &app,
            "PUT",
            &item(1),
            &quality,
            Some(json!({"version": 0, "grade": "good"})),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "stale");
        let (status, err) = call(
            &app,
            "POST",
            &report,
            &quality,
            Some(json!({"version": a["version"], "summary": "总体良好"})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("ungraded_items"))
        );
        call(
            &app,
            "PUT",
            &item(2),
            &quality,
            Some(json!({"version": 0, "grade": "good"})),
        )
        .await;
        let (_, a) = call(
            &app,
            "PUT",
            &item(3),
            &quality,
            Some(json!({"version": 0, "grade": "not_qualified",
        "finding": "2 项变更未做效果验证"})),
        )
        .await;
        assert_eq!(a["overall"], "not_qualified");
        assert_eq!(a["ungraded"], 0);
        let (status, a) = call(
            &app,
            "POST",
            &report,
            &quality,
            Some(json!({"version": a["version"], "summary": "变更效果验证须整改"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{a}");
        assert_eq!(a["status"], "reported");
        let (status, err) = call(
            &app,
            "PUT",
            &item(2),
            &quality,
            Some(json!({"version": 1, "grade": "excellent", "practice": "x"})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("audit_reported"))
        );

        let (status, p) = call(&app, "GET", "/api/v1/practices", &reviewer, None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(p["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["practice"] == "识别表与顾客反馈信息一览表联动，逐条标注差异"));
        let (_, l) = call(
            &app,
            "GET",
            "/api/v1/process-audits?province=江苏省&status=reported",
            &reviewer,
            None,
        )
        .await;
        assert!(l["items"].as_array().unwrap().iter().any(|x| x["id"] == id));
        let portal = login(&app, "portal", DEMO_PASSWORD).await;
        let (status, _) = call(&app, "GET", "/api/v1/practices", &portal, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(db.store.verify_audit().await.unwrap().result, Ok(()));
    }
);

both_backends!(audit_pages_plan_grade_report_and_share, |db| {
    use axum::body::Body;
    use axum::http::{header, Request};
    let app = app(db).await;
    let quality = login(&app, "quality", DEMO_PASSWORD).await;
    let form = |path: &str, body: &str| {
        Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {quality}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let get = |path: &str| {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {quality}"))
            .body(Body::empty())
            .unwrap()
    };
    // The demo has a reported audit whose practices are shared.
    let (status, html, _) = common::send(&app, get("/process-audits")).await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("江苏区域") && html.contains("已报告") && html.contains("已计划"));
    let (_, html, _) = common::send(&app, get("/practices")).await;
    assert!(String::from_utf8(html)
        .unwrap()
        .contains("评审周期由 5 天缩短到 2 天"));
    // A plan without a date: the message stands next to the field.
    let (_, me) = call(&app, "GET", "/api/v1/auth/me", &quality, None).await;
    let auditor = me["user_id"].as_i64().unwrap();
    let (status, html, _) = common::send(&app, form("/process-audits",
        &format!("title=%E5%B1%B1%E4%B8%9C%E5%AE%A1%E6%A0%B8&scope=region&province=%E5%B1%B1%E4%B8%9C%E7%9C%81&planned_on=&auditor_id={auditor}&items="))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8(html).unwrap().contains("err-planned_on"));
    let (status, _, headers) = common::send(&app, form("/process-audits",
        &format!("title=%E5%B1%B1%E4%B8%9C%E5%AE%A1%E6%A0%B8&scope=region&province=%E5%B1%B1%E4%B8%9C%E7%9C%81&planned_on=2026-12-20&auditor_id={auditor}&items=A%0AB"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let at = headers[header::LOCATION].to_str().unwrap().to_string();
    let (_, html, _) = common::send(&app, get(&at)).await;
    let html = String::from_utf8(html).unwrap();
    assert!(
        html.contains(r#"id="item-2""#) && !html.contains(r#"id="item-3""#),
        "the two items typed"
    );
    // Grading: an excellent item without its practice is refused on the page.
    let (status, _, _) = common::send(
        &app,
        form(
            &format!("{at}/items/1"),
            "version=0&grade=excellent&note=&finding=&practice=",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for seq in [1, 2] {
        let (status, _, _) = common::send(
            &app,
            form(
                &format!("{at}/items/{seq}"),
                "version=0&grade=good&note=%E7%8E%B0%E5%9C%BA&finding=&practice=",
            ),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    let id: i64 = at.trim_start_matches("/process-audits/").parse().unwrap();
    let (_, a) = call(
        &app,
        "GET",
        &format!("/api/v1/process-audits/{id}"),
        &quality,
        None,
    )
    .await;
    let (status, _, _) = common::send(
        &app,
        form(
            &format!("{at}/report"),
            &format!("version={}&summary=%E8%89%AF%E5%A5%BD", a["version"]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html, _) = common::send(&app, get(&at)).await;
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains(r#"id="audit-summary">良好"#) && !html.contains("report-form"));
});
