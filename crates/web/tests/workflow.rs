//! Work standard (F9), hand-offs (F10), review rounds (F11), attachments and analysis through
//! the API, on SQLite and PostgreSQL.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use reqloop_store::both_backends;
use reqloop_store::testing::TestDb;
use serde_json::{json, Value};

const PW: &str = reqloop_store::demo::DEMO_PASSWORD;

mod common;
use common::{app, call, login, send};

/// A new requirement of `customer` with one item for the design department; its id.
async fn new_requirement(app: &Router, t: &str, customer: i64) -> i64 {
    let (status, r) = call(app, "POST", "/api/v1/requirements", t, Some(json!({
        "customer_id": customer, "title": "牵引电机温升不超过80K", "channel": "visit", "category": "product",
        "nature": "functional", "kind": "stated", "urgency": "important",
        "feasibility_technical": "ok", "feasibility_economic": "ok", "feasibility_time": "ok", "value_score": 4
    }))).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let id = r["id"].as_i64().unwrap();
    let (_, depts) = call(app, "GET", "/api/v1/departments", t, None).await;
    let design = depts
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "design")
        .unwrap()["id"]
        .clone();
    let (status, _) = call(app, "POST", &format!("/api/v1/requirements/{id}/items"), t, Some(json!({
        "description": "温升≤80K", "category": "product", "acceptance_criterion": "型式试验报告", "department_id": design
    }))).await;
    assert_eq!(status, StatusCode::CREATED);
    id
}

async fn handoffs_of(app: &Router, t: &str, requirement: i64) -> Vec<Value> {
    let (status, list) = call(
        app,
        "GET",
        &format!("/api/v1/handoffs?requirement_id={requirement}&status=all"),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["items"].as_array().unwrap().clone()
}

async fn audit_count(db: &TestDb) -> i64 {
    db.store.verify_audit().await.unwrap().entries as i64
}

both_backends!(
    the_default_standard_is_installed_and_edits_make_versions,
    |db| {
        let app = app(db).await;
        let admin = login(&app, "admin", "admin123").await;
        let (status, std) = call(&app, "GET", "/api/v1/work-standard", &admin, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(std["version_no"], 1);
        let points = std["points"].as_array().unwrap();
        for stage in [
            "identification",
            "review",
            "determination",
            "transmission",
            "reverification",
            "realization",
            "verification",
            "validation",
            "return_visit",
        ] {
            assert!(
                points.iter().any(|p| p["stage"] == stage),
                "{stage} has a control point"
            );
        }
        assert!(points
            .iter()
            .all(|p| !p["output_record"].as_str().unwrap().is_empty()));
        // A new version: the points with one deadline changed.
        let mut edited: Vec<Value> = points
            .iter()
            .map(|p| {
                let mut p = p.clone();
                let o = p.as_object_mut().unwrap();
                o.remove("id");
                o.remove("seq");
                p
            })
            .collect();
        edited[0]["deadline_value"] = json!(1);
        let body = json!({"base_version": 1, "note": "识别节拍缩短为1个工作日", "points": edited});
        let reviewer = login(&app, "reviewer", PW).await;
        let (status, _) = call(
            &app,
            "POST",
            "/api/v1/work-standard/versions",
            &reviewer,
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let mut bad = body.clone();
        bad["points"][1]["deadline_value"] = json!(0);
        let before = audit_count(db).await;
        let (status, err) = call(
            &app,
            "POST",
            "/api/v1/work-standard/versions",
            &admin,
            Some(bad),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            err["error"]["details"][0]["field"],
            "points[1].deadline_value"
        );
        assert_eq!(audit_count(db).await, before, "nothing written");
        let (status, saved) = call(
            &app,
            "POST",
            "/api/v1/work-standard/versions",
            &admin,
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{saved}");
        assert_eq!(saved["version_no"], 2);
        assert_eq!(saved["points"][0]["deadline_value"], 1);
        let (status, _) = call(
            &app,
            "POST",
            "/api/v1/work-standard/versions",
            &admin,
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "saved from a stale version");
        let (_, old) = call(&app, "GET", "/api/v1/work-standard?version=1", &admin, None).await;
        assert_eq!(
            old["points"][0]["deadline_value"], 2,
            "old versions stay as they were"
        );
        let (_, versions) = call(&app, "GET", "/api/v1/work-standard/versions", &admin, None).await;
        assert_eq!(versions.as_array().unwrap().len(), 2);
    }
);

both_backends!(
    hand_offs_go_to_one_receiver_who_acknowledges_and_completes_them,
    |db| {
        let app = app(db).await;
        let admin = login(&app, "admin", "admin123").await;
        // A customer of zhangwei's, so that he sees the requirement but does not receive its hand-off.
        let zhang = login(&app, "zhangwei", PW).await;
        let (_, his) = call(&app, "GET", "/api/v1/customers", &zhang, None).await;
        let id = new_requirement(&app, &admin, his["items"][0]["id"].as_i64().unwrap()).await;
        let opened = handoffs_of(&app, &admin, id).await;
        assert_eq!(opened.len(), 1, "identification has one control point");
        let h = &opened[0];
        assert_eq!(h["stage"], "identification");
        assert_eq!(h["status"], "open");
        assert_eq!(h["output_record"], "客户需求识别表");
        let hid = h["id"].as_i64().unwrap();
        // The receiver is the marketing manager; a colleague of the same department is not.
        let marketing = login(&app, "marketing", PW).await;
        let (_, mine) = call(
            &app,
            "GET",
            &format!("/api/v1/handoffs?mine=true&requirement_id={id}"),
            &marketing,
            None,
        )
        .await;
        assert!(mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == hid));
        let before = audit_count(db).await;
        let (status, err) = call(
            &app,
            "POST",
            &format!("/api/v1/handoffs/{hid}/acknowledge"),
            &zhang,
            Some(json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err["error"]["code"], "not_receiver");
        let (status, err) = call(
            &app,
            "POST",
            &format!("/api/v1/handoffs/{hid}/complete"),
            &marketing,
            Some(json!({"output_note": "识别表已编制"})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err["error"]["code"], "not_acknowledged");
        assert_eq!(audit_count(db).await, before, "refusals write nothing");
        let (status, acked) = call(
            &app,
            "POST",
            &format!("/api/v1/handoffs/{hid}/acknowledge"),
            &marketing,
            Some(json!({"version": 1})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{acked}");
        assert_eq!(acked["status"], "acknowledged");
        let (status, err) = call(
            &app,
            "POST",
            &format!("/api/v1/handoffs/{hid}/acknowledge"),
            &marketing,
            Some(json!({})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!("already_acknowledged")
            )
        );
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/handoffs/{hid}/complete"),
            &marketing,
            Some(json!({"output_note": "x", "version": 1})),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "stale version");
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/handoffs/{hid}/complete"),
            &marketing,
            Some(json!({"output_note": "  "})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, done) = call(
            &app,
            "POST",
            &format!("/api/v1/handoffs/{hid}/complete"),
            &marketing,
            Some(json!({"output_note": "识别表已编制，共1条"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert_eq!(done["status"], "completed");
        // The receiving department (production) has it in its work plan.
        let (_, plan) = call(
            &app,
            "GET",
            &format!(
                "/api/v1/work-plan?department_id={}",
                done["output_department_id"]
            ),
            &admin,
            None,
        )
        .await;
        assert!(
            plan["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["handoff_id"] == hid),
            "{plan}"
        );
        // Moving on opens the review stage's hand-offs; a rework cancels them.
        let (status, r) = call(
            &app,
            "POST",
            &format!("/api/v1/requirements/{id}/transitions"),
            &admin,
            Some(json!({"to": "review"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{r}");
        let review: Vec<Value> = handoffs_of(&app, &admin, id)
            .await
            .into_iter()
            .filter(|h| h["stage"] == "review")
            .collect();
        assert_eq!(review.len(), 2);
        assert!(review.iter().all(|h| h["status"] == "open"));
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/requirements/{id}/transitions"),
            &admin,
            Some(json!({"to": "identification", "reason": "客户补充条件"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let after = handoffs_of(&app, &admin, id).await;
        assert!(after
            .iter()
            .filter(|h| h["stage"] == "review")
            .all(|h| h["status"] == "cancelled"));
        assert_eq!(
            after
                .iter()
                .filter(|h| h["stage"] == "identification" && h["status"] == "open")
                .count(),
            1
        );
        // Overdue filter: the demo has overdue hand-offs, each past due and pending.
        let (_, overdue) = call(
            &app,
            "GET",
            "/api/v1/handoffs?overdue=true&per_page=200",
            &admin,
            None,
        )
        .await;
        assert!(overdue["total"].as_i64().unwrap() > 0);
        assert!(overdue["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["overdue"] == true));
        let (status, _) = call(&app, "GET", "/api/v1/handoffs?status=lost", &admin, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(db.store.verify_audit().await.unwrap().result, Ok(()));
    }
);

both_backends!(
    a_review_round_is_answered_once_per_item_and_aspect_and_signed_by_an_approver,
    |db| {
        let app = app(db).await;
        let admin = login(&app, "admin", "admin123").await;
        // A customer under tightened control (risk-flagged).
        let (_, customers) =
            call(&app, "GET", "/api/v1/customers?per_page=100", &admin, None).await;
        let flagged = customers["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| !c["risk_flags"].as_array().unwrap().is_empty())
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        let id = new_requirement(&app, &admin, flagged).await;
        let (status, err) = call(
            &app,
            "POST",
            "/api/v1/reviews",
            &admin,
            Some(json!({"requirement_id": id})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("not_in_review"))
        );
        call(
            &app,
            "POST",
            &format!("/api/v1/requirements/{id}/transitions"),
            &admin,
            Some(json!({"to": "review"})),
        )
        .await;
        let (status, round) = call(
            &app,
            "POST",
            "/api/v1/reviews",
            &admin,
            Some(json!({"requirement_id": id, "aspects": ["technical", "price"]})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{round}");
        assert_eq!(round["quality_required"], true);
        assert_eq!(round["conclusion"], "pending");
        assert_eq!(round["expected"], 2);
        let rid = round["id"].as_i64().unwrap();
        let item = round["items"][0]["id"].as_i64().unwrap();
        // Listed for the departments answering its aspects (design: technical), not for others.
        let (_, depts) = call(&app, "GET", "/api/v1/departments", &admin, None).await;
        let dept = |code: &str| {
            depts
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["code"] == code)
                .unwrap()["id"]
                .clone()
        };
        for (code, expected) in [
            ("design", 1),
            ("marketing", 1),
            ("production", 0),
            ("delivery", 0),
        ] {
            let path = format!(
                "/api/v1/reviews?requirement_id={id}&department_id={}",
                dept(code)
            );
            let (_, listed) = call(&app, "GET", &path, &admin, None).await;
            assert_eq!(listed["total"], expected, "{code}");
        }
        let (status, _) = call(
            &app,
            "POST",
            "/api/v1/reviews",
            &admin,
            Some(json!({"requirement_id": id})),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "one open round at a time"
        );
        // The design reviewer answers the technical aspect, not the price.
        let reviewer = login(&app, "reviewer", PW).await;
        let answer = |aspect: &str, answer: &str, note: &str| json!({"item_id": item, "aspect": aspect, "answer": answer, "note": note});
        let path = format!("/api/v1/reviews/{rid}/answers");
        let (status, err) = call(
            &app,
            "POST",
            &path,
            &reviewer,
            Some(answer("price", "can_meet", "")),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("wrong_department"))
        );
        let (status, err) = call(
            &app,
            "POST",
            &path,
            &reviewer,
            Some(answer("technical", "cannot_meet", "")),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(err.to_string().contains("deviation_required"));
        let (status, after) = call(
            &app,
            "POST",
            &path,
            &reviewer,
            Some(answer("technical", "with_conditions", "需提供样件")),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{after}");
        let before = audit_count(db).await;
        let (status, err) = call(
            &app,
            "POST",
            &path,
            &reviewer,
            Some(answer("technical", "can_meet", "")),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("already_answered"))
        );
        assert_eq!(audit_count(db).await, before);
        let (status, err) = call(
            &app,
            "POST",
            &format!("/api/v1/reviews/{rid}/approve"),
            &admin,
            Some(json!({})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("review_incomplete"))
        );
        let marketing = login(&app, "marketing", PW).await;
        let (_, answered) = call(
            &app,
            "POST",
            &path,
            &marketing,
            Some(answer("price", "can_meet", "")),
        )
        .await;
        assert_eq!(answered["conclusion"], "conditional");
        // Approval: not by a reviewer; not before the quality review of a flagged customer.
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/reviews/{rid}/approve"),
            &reviewer,
            Some(json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let exec = login(&app, "exec", PW).await;
        let (status, err) = call(
            &app,
            "POST",
            &format!("/api/v1/reviews/{rid}/approve"),
            &exec,
            Some(json!({})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!("quality_review_required")
            )
        );
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/reviews/{rid}/quality-review"),
            &reviewer,
            Some(json!({"note": "ok"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let quality = login(&app, "quality", PW).await;
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/reviews/{rid}/quality-review"),
            &quality,
            Some(json!({"note": "已核对禁限用材料"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, signed) = call(
            &app,
            "POST",
            &format!("/api/v1/reviews/{rid}/approve"),
            &exec,
            Some(json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{signed}");
        assert_eq!(signed["status"], "approved");
        let (status, _) = call(
            &app,
            "POST",
            &path,
            &marketing,
            Some(answer("price", "can_meet", "")),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "an approved round no longer changes"
        );
        // The approved round is the review stage's output: the requirement moves on.
        let (status, moved) = call(
            &app,
            "POST",
            &format!("/api/v1/requirements/{id}/transitions"),
            &admin,
            Some(json!({"to": "determination"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{moved}");
        // The report page shows the time nodes and the conclusion.
        let req = Request::get(format!("/reviews/{rid}"))
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap();
        let (status, html, _) = send(&app, req).await;
        let html = String::from_utf8(html).unwrap();
        assert_eq!(status, StatusCode::OK);
        assert!(
            html.contains("需求评审报告")
                && html.contains("有条件满足")
                && html.contains("已核对禁限用材料")
        );
        // A not-met round cannot be approved.
        let other = new_requirement(&app, &admin, 1).await;
        call(
            &app,
            "POST",
            &format!("/api/v1/requirements/{other}/transitions"),
            &admin,
            Some(json!({"to": "review"})),
        )
        .await;
        let (_, round) = call(
            &app,
            "POST",
            "/api/v1/reviews",
            &admin,
            Some(json!({"requirement_id": other, "aspects": ["technical"]})),
        )
        .await;
        let rid = round["id"].as_i64().unwrap();
        let item = round["items"][0]["id"].as_i64().unwrap();
        call(&app, "POST", &format!("/api/v1/reviews/{rid}/answers"), &admin,
        Some(json!({"item_id": item, "aspect": "technical", "answer": "cannot_meet", "note": "建议温升放宽至85K"}))).await;
        let (status, err) = call(
            &app,
            "POST",
            &format!("/api/v1/reviews/{rid}/approve"),
            &admin,
            Some(json!({})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("review_not_met"))
        );
        assert_eq!(db.store.verify_audit().await.unwrap().result, Ok(()));
    }
);

fn multipart(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "reqloopboundary7d1";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(app: &Router, t: &str, id: i64, name: &str, bytes: &[u8]) -> (StatusCode, Value) {
    let (ct, body) = multipart(name, bytes);
    let req = Request::post(format!("/api/v1/requirements/{id}/attachments"))
        .header(header::AUTHORIZATION, format!("Bearer {t}"))
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(body))
        .unwrap();
    let (status, bytes, _) = send(app, req).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

both_backends!(
    attachments_are_checked_stored_under_generated_names_and_guarded,
    |db| {
        let app = app(db).await;
        let admin = login(&app, "admin", "admin123").await;
        let id = new_requirement(&app, &admin, 1).await;
        let pdf = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF".to_vec();
        let (status, a) = upload(&app, &admin, id, "../../总装图.pdf", &pdf).await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        assert_eq!(a["file_name"], "总装图.pdf");
        assert_eq!(a["content_type"], "application/pdf");
        assert_eq!(a["size"], pdf.len());
        let before = audit_count(db).await;
        let (status, err) =
            upload(&app, &admin, id, "report.pdf", b"MZ\x90\x00this is an exe").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(err.to_string().contains("file_type"));
        let (status, _) = upload(&app, &admin, id, "empty.txt", b"").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            audit_count(db).await,
            before,
            "refused uploads write nothing"
        );
        let (_, list) = call(
            &app,
            "GET",
            &format!("/api/v1/requirements/{id}/attachments"),
            &admin,
            None,
        )
        .await;
        assert_eq!(list.as_array().unwrap().len(), 1);
        let aid = a["id"].as_i64().unwrap();
        let get = |t: &str| {
            Request::get(format!("/api/v1/attachments/{aid}"))
                .header(header::AUTHORIZATION, format!("Bearer {t}"))
                .body(Body::empty())
                .unwrap()
        };
        let (status, bytes, headers) = send(&app, get(&admin)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bytes, pdf);
        assert_eq!(headers[header::CONTENT_TYPE], "application/pdf");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment;"));
        // Someone who cannot see the requirement cannot download it either.
        let (_, customer) = call(&app, "GET", "/api/v1/customers/1", &admin, None).await;
        let outsider = ["zhangwei", "liuyang", "chenjing"]
            .into_iter()
            .find(|u| customer["account_manager_id"] != json!(u))
            .unwrap();
        let token = login(&app, outsider, PW).await;
        let (status, _) = call(
            &app,
            "GET",
            &format!("/api/v1/requirements/{id}"),
            &token,
            None,
        )
        .await;
        if status == StatusCode::NOT_FOUND {
            let (status, _, _) = send(&app, get(&token)).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        let (status, _, _) = send(&app, get("nobody")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
);

both_backends!(
    items_change_only_while_identifying_and_analysis_is_validated,
    |db| {
        let app = app(db).await;
        let admin = login(&app, "admin", "admin123").await;
        let id = new_requirement(&app, &admin, 1).await;
        let (_, items) = call(
            &app,
            "GET",
            &format!("/api/v1/requirements/{id}/items"),
            &admin,
            None,
        )
        .await;
        let item = items[0].clone();
        let path = format!("/api/v1/requirements/{id}/items/{}", item["id"]);
        let mut edit = item.clone();
        for k in ["id", "requirement_id"] {
            edit.as_object_mut().unwrap().remove(k);
        }
        edit["acceptance_criterion"] = json!("型式试验报告及温升曲线");
        let (status, updated) = call(&app, "PUT", &path, &admin, Some(edit.clone())).await;
        assert_eq!(status, StatusCode::OK, "{updated}");
        assert_eq!(updated["version"], 2);
        let (status, _) = call(&app, "PUT", &path, &admin, Some(edit.clone())).await;
        assert_eq!(status, StatusCode::CONFLICT, "stale item version");
        let (status, err) = call(&app, "POST", "/api/v1/requirements", &admin, Some(json!({
        "customer_id": 1, "title": "t", "channel": "visit", "category": "product", "nature": "functional",
        "kind": "stated", "urgency": "general", "feasibility_time": "risk", "value_score": 9
    }))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let text = err.to_string();
        assert!(
            text.contains("feasibility_note_required") && text.contains("value_score_range"),
            "{text}"
        );
        call(
            &app,
            "POST",
            &format!("/api/v1/requirements/{id}/transitions"),
            &admin,
            Some(json!({"to": "review"})),
        )
        .await;
        let (status, err) = call(&app, "DELETE", &path, &admin, None).await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("items_locked"))
        );
        call(
            &app,
            "POST",
            &format!("/api/v1/requirements/{id}/transitions"),
            &admin,
            Some(json!({"to": "identification", "reason": "补充条目"})),
        )
        .await;
        let (status, _) = call(&app, "DELETE", &path, &admin, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (_, items) = call(
            &app,
            "GET",
            &format!("/api/v1/requirements/{id}/items"),
            &admin,
            None,
        )
        .await;
        assert!(items.as_array().unwrap().is_empty());
    }
);

both_backends!(
    the_ledger_names_who_a_stage_waits_for_and_the_form_searches_customers,
    |db| {
        let app = app(db).await;
        let admin = login(&app, "admin", "admin123").await;
        let (_, customers) = call(&app, "GET", "/api/v1/customers?per_page=2", &admin, None).await;
        let (first, second) = (&customers["items"][0], &customers["items"][1]);
        let id = new_requirement(&app, &admin, first["id"].as_i64().unwrap()).await;
        let page = |path: String| {
            Request::get(path)
                .header(header::AUTHORIZATION, format!("Bearer {admin}"))
                .body(Body::empty())
                .unwrap()
        };
        // The new requirement waits for the marketing manager's identification sheet.
        let (status, html, _) =
            send(&app, page(format!("/ledger?customer_id={}", first["id"]))).await;
        let html = String::from_utf8(html).unwrap();
        assert_eq!(status, StatusCode::OK);
        let row = html
            .split("<tr")
            .find(|r| r.contains(&format!("/requirements/{id}\"")))
            .expect("the requirement's row");
        assert!(row.contains("孙丽华"), "{row}");
        let (_, csv, _) = send(
            &app,
            page(format!("/ledger.csv?customer_id={}", first["id"])),
        )
        .await;
        assert!(String::from_utf8(csv).unwrap().contains("孙丽华"));
        // The collection form lists the customers matching the search box.
        let name = first["name"].as_str().unwrap();
        let q: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
        let (status, html, _) = send(&app, page(format!("/requirements/new?customer_q={q}"))).await;
        let html = String::from_utf8(html).unwrap();
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(name));
        assert!(!html.contains(second["name"].as_str().unwrap()));
        // The requirement list filters by project.
        let (_, projects) = call(&app, "GET", "/api/v1/projects", &admin, None).await;
        let project = projects[0]["id"].as_i64().unwrap();
        let path = format!("/api/v1/requirements?project_id={project}&per_page=20");
        let (_, inside) = call(&app, "GET", &path, &admin, None).await;
        let (_, all) = call(
            &app,
            "GET",
            "/api/v1/requirements?per_page=200",
            &admin,
            None,
        )
        .await;
        let outside = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["project_id"] != json!(project))
            .unwrap()["code"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, html, _) =
            send(&app, page(format!("/requirements?project_id={project}"))).await;
        let html = String::from_utf8(html).unwrap();
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(inside["items"][0]["code"].as_str().unwrap()));
        assert!(
            !html.contains(&outside),
            "{outside} belongs to another project"
        );
    }
);
