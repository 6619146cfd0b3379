//! Change control (F14) on SQLite and PostgreSQL: re-determination, re-review over the affected
//! items, approval with a new requirement revision, notices and confirmations, verification,
//! closing; the confidentiality of change records; and the pre-delivery item it decides.

use axum::http::StatusCode;
use reqloop_store::both_backends;
use reqloop_store::demo::DEMO_PASSWORD;
use serde_json::{json, Value};

mod common;
use common::{app, call, login};

both_backends!(
    a_change_goes_from_request_to_close_with_a_new_revision,
    |db| {
        let app = app(db).await;
        let admin = login(&app, "admin", "admin123").await;
        let (_, list) = call(
            &app,
            "GET",
            "/api/v1/requirements?stage=realization&per_page=1",
            &admin,
            None,
        )
        .await;
        let req = &list["items"][0];
        let rid = req["id"].as_i64().unwrap();
        let customer = req["customer_id"].as_i64().unwrap();
        let (_, items) = call(
            &app,
            "GET",
            &format!("/api/v1/requirements/{rid}/items"),
            &admin,
            None,
        )
        .await;
        let item = items[0]["id"].as_i64().unwrap();
        let item_dept = items[0]["department_id"].as_i64().unwrap();
        let old_text = items[0]["description"].as_str().unwrap().to_string();
        let (_, departments) = call(&app, "GET", "/api/v1/departments", &admin, None).await;
        let dept = |code: &str| {
            departments
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["code"] == code)
                .unwrap()["id"]
                .as_i64()
                .unwrap()
        };
        // A contract of the same customer with an order: the change holds its delivery.
        let (_, c) = call(&app, "POST", "/api/v1/contracts", &admin, Some(json!({
        "customer_id": customer, "number": "BG-TEST-1", "title": "变更测试协议", "kind": "technical_agreement"}))).await;
        let contract = c["id"].as_i64().unwrap();
        call(
            &app,
            "POST",
            &format!("/api/v1/contracts/{contract}/versions"),
            &admin,
            Some(json!({"base_version": 0, "clauses": [{"number": "1", "text": "按图纸制造"}]})),
        )
        .await;
        let (_, o) = call(
            &app,
            "POST",
            &format!("/api/v1/contracts/{contract}/orders"),
            &admin,
            Some(json!({
        "number": "DD-BG-1", "delivery": [{"quantity": 5, "promised_on": "2026-12-30"}],
        "production": [{"quantity": 5, "planned_on": "2026-12-20"}]})),
        )
        .await;
        let order = o["id"].as_i64().unwrap();
        let changes_item = |checks: &Value| {
            checks
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["item"] == "changes_implemented")
                .unwrap()["passed"]
                .clone()
        };
        let (_, checks) = call(
            &app,
            "GET",
            &format!("/api/v1/orders/{order}/checks"),
            &admin,
            None,
        )
        .await;
        assert_eq!(changes_item(&checks), json!(true), "no change yet");

        // Bad input: nothing is written.
        let before = db.store.verify_audit().await.unwrap().entries;
        let request = json!({
            "requirement_id": rid, "contract_id": contract, "origin": "customer",
            "title": "表面处理改为达克罗", "reason": "客户整车防腐等级提升",
            "impacts": [{"factor": "material", "note": "涂层材料更换"}, {"factor": "method", "note": "工艺文件修订"}],
            "items": [{"item_id": item, "description": "表面达克罗处理", "acceptance_criterion": "中性盐雾 720h 无红锈"}]
        });
        let mut no_impact = request.clone();
        no_impact["impacts"] = json!([]);
        let (status, err) = call(&app, "POST", "/api/v1/changes", &admin, Some(no_impact)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        let mut foreign = request.clone();
        foreign["items"][0]["item_id"] = json!(999_999);
        let (status, err) = call(&app, "POST", "/api/v1/changes", &admin, Some(foreign)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(err.to_string().contains("foreign_item"), "{err}");
        let mut bad_factor = request.clone();
        bad_factor["impacts"][0]["factor"] = json!("money");
        let (status, _) = call(&app, "POST", "/api/v1/changes", &admin, Some(bad_factor)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(db.store.verify_audit().await.unwrap().entries, before);

        let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
        let (status, g) = call(&app, "POST", "/api/v1/changes", &marketing, Some(request)).await;
        assert_eq!(status, StatusCode::CREATED, "{g}");
        let id = g["id"].as_i64().unwrap();
        assert_eq!(g["state"], "requested");
        assert!(g["number"].as_str().unwrap().starts_with("BG-"));
        assert_eq!(g["items"][0]["before_description"], old_text.as_str());
        assert_eq!(g["impacts"].as_array().unwrap().len(), 2);
        let (_, checks) = call(
            &app,
            "GET",
            &format!("/api/v1/orders/{order}/checks"),
            &admin,
            None,
        )
        .await;
        assert_eq!(
            changes_item(&checks),
            json!(false),
            "an open change holds delivery"
        );
        let path = |step: &str| format!("/api/v1/changes/{id}/{step}");

        // Approval before the re-review: 422, nothing changed.
        let before = db.store.verify_audit().await.unwrap().entries;
        let (status, err) = call(
            &app,
            "POST",
            &path("approve"),
            &admin,
            Some(json!({"version": 1})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("not_rereviewed"))
        );
        let (status, err) = call(
            &app,
            "POST",
            &path("reviews"),
            &admin,
            Some(json!({"version": 1})),
        )
        .await;
        assert_eq!(err["error"]["code"], "not_redetermined", "{status}");
        assert_eq!(db.store.verify_audit().await.unwrap().entries, before);

        // Re-determination with the customer; a stale version is refused.
        let (status, g) = call(
            &app,
            "POST",
            &path("redetermine"),
            &marketing,
            Some(json!({
                "version": 1, "note": "2026-11-20 与客户技术部电话确认，盐雾时间按 720h",
            })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{g}");
        assert_eq!(g["state"], "redetermined");
        let (status, _) = call(
            &app,
            "POST",
            &path("redetermine"),
            &marketing,
            Some(json!({
        "version": 1, "note": "重复"})),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT);

        // Re-review over the affected item as changed.
        let (status, round) = call(
            &app,
            "POST",
            &path("reviews"),
            &marketing,
            Some(json!({
        "version": g["version"], "aspects": ["technical", "quality"]})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{round}");
        assert_eq!(round["change_id"], id);
        assert_eq!(round["expected"], 2, "one item × two aspects");
        assert_eq!(round["items"][0]["description"], "表面达克罗处理");
        let rv = round["id"].as_i64().unwrap();
        for aspect in ["technical", "quality"] {
            let (status, r) = call(
                &app,
                "POST",
                &format!("/api/v1/reviews/{rv}/answers"),
                &admin,
                Some(json!({
            "item_id": item, "aspect": aspect, "answer": "can_meet"})),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{r}");
        }
        let (_, r) = call(&app, "GET", &format!("/api/v1/reviews/{rv}"), &admin, None).await;
        if r["quality_required"] == true {
            call(
                &app,
                "POST",
                &format!("/api/v1/reviews/{rv}/quality-review"),
                &admin,
                Some(json!({"note": "已复核"})),
            )
            .await;
        }
        let (status, r) = call(
            &app,
            "POST",
            &format!("/api/v1/reviews/{rv}/approve"),
            &admin,
            Some(json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{r}");
        let (_, g) = call(&app, "GET", &format!("/api/v1/changes/{id}"), &admin, None).await;
        assert_eq!(g["state"], "rereviewed");
        assert_eq!(g["reviews"][0]["conclusion"], "met");

        // Approval: the requirement takes a new revision, the old one stays readable.
        let (status, _) = call(
            &app,
            "POST",
            &path("approve"),
            &admin,
            Some(json!({"version": 1})),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "stale");
        let quality = login(&app, "quality", DEMO_PASSWORD).await;
        let (status, _) = call(
            &app,
            "POST",
            &path("approve"),
            &quality,
            Some(json!({"version": g["version"]})),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "a quality engineer does not approve changes"
        );
        let exec = login(&app, "exec", DEMO_PASSWORD).await;
        let (status, g) = call(
            &app,
            "POST",
            &path("approve"),
            &exec,
            Some(json!({"version": g["version"], "note": "同意"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{g}");
        assert_eq!(g["state"], "approved");
        assert_eq!(g["revision"], 2);
        let (_, items) = call(
            &app,
            "GET",
            &format!("/api/v1/requirements/{rid}/items"),
            &admin,
            None,
        )
        .await;
        assert_eq!(items[0]["description"], "表面达克罗处理");
        let (_, revs) = call(
            &app,
            "GET",
            &format!("/api/v1/requirements/{rid}/revisions"),
            &admin,
            None,
        )
        .await;
        let revs = revs.as_array().unwrap();
        assert_eq!(revs.len(), 2);
        assert_eq!(
            revs[0]["snapshot"]["items"][0]["description"],
            old_text.as_str()
        );
        assert_eq!(revs[1]["current"], true);
        assert_eq!(revs[1]["change_id"], id);
        let diff = revs[1]["diff"].as_array().unwrap();
        assert_eq!(diff.len(), 2, "{diff:?}");
        assert_eq!(diff[0]["before"], old_text.as_str());
        assert_eq!(diff[0]["after"], "表面达克罗处理");
        let (_, r) = call(
            &app,
            "GET",
            &format!("/api/v1/requirements/{rid}"),
            &admin,
            None,
        )
        .await;
        assert_eq!(r["revision"], 2);

        // Notices: the item's department and one named; only notified departments confirm.
        let (status, err) = call(
            &app,
            "POST",
            &path(&format!("notices/{item_dept}/confirm")),
            &admin,
            Some(json!({"note": "已完成"})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("not_notified"))
        );
        let production = dept("production");
        let (status, g) = call(
            &app,
            "POST",
            &path("notify"),
            &marketing,
            Some(json!({"version": g["version"], "departments": [production]})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{g}");
        assert_eq!(g["state"], "notified");
        let notified: Vec<i64> = g["notices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["department_id"].as_i64().unwrap())
            .collect();
        assert!(notified.contains(&item_dept) && notified.contains(&production));
        let outsider = dept("after_sales");
        assert!(!notified.contains(&outsider));
        let before = db.store.verify_audit().await.unwrap().entries;
        let (status, err) = call(
            &app,
            "POST",
            &path(&format!("notices/{outsider}/confirm")),
            &admin,
            Some(json!({"note": "已完成"})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("not_notified"))
        );
        assert_eq!(db.store.verify_audit().await.unwrap().entries, before);
        // The production reviewer sees the change (notified) and confirms for production only.
        let prod_user = login(&app, "production", DEMO_PASSWORD).await;
        let (status, _) = call(
            &app,
            "GET",
            &format!("/api/v1/changes/{id}"),
            &prod_user,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        if item_dept != production {
            let (status, _) = call(
                &app,
                "POST",
                &path(&format!("notices/{item_dept}/confirm")),
                &prod_user,
                Some(json!({"note": "代别人确认"})),
            )
            .await;
            assert_eq!(status, StatusCode::FORBIDDEN);
        }
        let (status, g) = call(
            &app,
            "POST",
            &path(&format!("notices/{production}/confirm")),
            &prod_user,
            Some(json!({"note": "工艺卡已换版，首件已确认"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{g}");
        let (status, err) = call(
            &app,
            "POST",
            &path(&format!("notices/{production}/confirm")),
            &prod_user,
            Some(json!({"note": "再次"})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("already_confirmed"))
        );
        let mut g = g;
        if item_dept != production {
            assert_eq!(g["state"], "notified", "one department still to confirm");
            let (status, v) = call(
                &app,
                "POST",
                &path(&format!("notices/{item_dept}/confirm")),
                &admin,
                Some(json!({"note": "已落实"})),
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            g = v;
        }
        assert_eq!(g["state"], "implemented");
        let (_, checks) = call(
            &app,
            "GET",
            &format!("/api/v1/orders/{order}/checks"),
            &admin,
            None,
        )
        .await;
        assert_eq!(
            changes_item(&checks),
            json!(true),
            "implemented: delivery may go"
        );

        // Verification by quality, then closing.
        let (status, _) = call(
            &app,
            "POST",
            &path("close"),
            &marketing,
            Some(json!({"version": g["version"]})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "not verified yet");
        let (status, _) = call(
            &app,
            "POST",
            &path("verify"),
            &quality,
            Some(json!({"version": g["version"]})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "the verification says how");
        let (status, g) = call(
            &app,
            "POST",
            &path("verify"),
            &quality,
            Some(json!({"version": g["version"], "note": "抽检 3 件盐雾试验合格"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{g}");
        let (status, g) = call(
            &app,
            "POST",
            &path("close"),
            &marketing,
            Some(json!({"version": g["version"]})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{g}");
        assert_eq!(g["state"], "closed");
        assert_eq!(g["verified_by"], "quality");

        // Confidential: a reviewer of a department never notified sees nothing; portal users are
        // refused outright.
        let service = login(&app, "service", DEMO_PASSWORD).await;
        let (status, _) = call(
            &app,
            "GET",
            &format!("/api/v1/changes/{id}"),
            &service,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, l) = call(&app, "GET", "/api/v1/changes", &service, None).await;
        assert!(l["items"].as_array().unwrap().iter().all(|c| c["id"] != id));
        let portal = login(&app, "portal", DEMO_PASSWORD).await;
        let (status, _) = call(&app, "GET", "/api/v1/changes", &portal, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (_, l) = call(
            &app,
            "GET",
            &format!("/api/v1/changes?requirement_id={rid}"),
            &marketing,
            None,
        )
        .await;
        assert!(l["items"].as_array().unwrap().iter().any(|c| c["id"] == id));
        assert_eq!(db.store.verify_audit().await.unwrap().result, Ok(()));
    }
);

both_backends!(
    a_change_can_be_rejected_and_a_failed_rereview_sends_it_back,
    |db| {
        let app = app(db).await;
        let admin = login(&app, "admin", "admin123").await;
        let (_, list) = call(
            &app,
            "GET",
            "/api/v1/requirements?stage=verification&per_page=1",
            &admin,
            None,
        )
        .await;
        let rid = list["items"][0]["id"].as_i64().unwrap();
        let (_, items) = call(
            &app,
            "GET",
            &format!("/api/v1/requirements/{rid}/items"),
            &admin,
            None,
        )
        .await;
        let item = items[0]["id"].as_i64().unwrap();
        let (status, g) = call(&app, "POST", "/api/v1/changes", &admin, Some(json!({
        "requirement_id": rid, "origin": "company", "title": "降本替代材料", "reason": "长期采购成本优化",
        "impacts": [{"factor": "material", "note": "替代牌号"}],
        "items": [{"item_id": item, "description": "改用国产替代材料", "acceptance_criterion": "性能不低于原材料"}]
    }))).await;
        assert_eq!(status, StatusCode::CREATED, "{g}");
        let id = g["id"].as_i64().unwrap();
        let path = |step: &str| format!("/api/v1/changes/{id}/{step}");
        let (_, g) = call(
            &app,
            "POST",
            &path("redetermine"),
            &admin,
            Some(json!({"version": g["version"], "note": "客户口头同意评估"})),
        )
        .await;
        let (_, round) = call(
            &app,
            "POST",
            &path("reviews"),
            &admin,
            Some(json!({"version": g["version"], "aspects": ["technical"]})),
        )
        .await;
        let rv = round["id"].as_i64().unwrap();
        call(&app, "POST", &format!("/api/v1/reviews/{rv}/answers"), &admin, Some(json!({
        "item_id": item, "aspect": "technical", "answer": "cannot_meet", "note": "替代材料耐温不足"}))).await;
        let (status, err) = call(
            &app,
            "POST",
            &format!("/api/v1/reviews/{rv}/approve"),
            &admin,
            Some(json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        let (_, g) = call(&app, "GET", &format!("/api/v1/changes/{id}"), &admin, None).await;
        assert_eq!(
            g["state"], "redetermined",
            "still waiting for a re-review that passes"
        );
        let (status, err) = call(
            &app,
            "POST",
            &path("redetermine"),
            &admin,
            Some(json!({"version": g["version"], "note": "再确认"})),
        )
        .await;
        assert_eq!(err["error"]["code"], "review_open", "{status}");
        let (status, _) = call(
            &app,
            "POST",
            &path("reject"),
            &admin,
            Some(json!({"version": g["version"]})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a rejection says why");
        let (status, g) = call(
            &app,
            "POST",
            &path("reject"),
            &admin,
            Some(json!({"version": g["version"], "note": "评审不能满足，维持原材料"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{g}");
        assert_eq!(g["state"], "rejected");
        let (_, items_after) = call(
            &app,
            "GET",
            &format!("/api/v1/requirements/{rid}/items"),
            &admin,
            None,
        )
        .await;
        assert_eq!(
            items_after[0]["description"], items[0]["description"],
            "a rejected change changes nothing"
        );
        let (status, err) = call(
            &app,
            "POST",
            &path("approve"),
            &admin,
            Some(json!({"version": g["version"]})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("change_decided"))
        );
    }
);
