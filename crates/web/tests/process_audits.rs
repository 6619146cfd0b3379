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
