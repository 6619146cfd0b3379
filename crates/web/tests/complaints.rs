//! Complaints (F17, F18) on SQLite and PostgreSQL: the flow to closed with its CAPA report,
//! the recusal rule, the portal's isolation, bad input, and the survey task a closed serious
//! complaint leaves.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use reqloop_store::both_backends;
use reqloop_store::demo::DEMO_PASSWORD;
use serde_json::{json, Value};

mod common;
use common::{app, call, login};

fn multipart(token: &str, path: &str, name: &str, bytes: &[u8]) -> Request<Body> {
    let boundary = "XrlBoundary7";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request::post(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap()
}

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

both_backends!(
    a_serious_complaint_goes_to_closed_through_capa_and_verification,
    |db| {
        let app = app(db).await;
        let admin = login(&app, "admin", "admin123").await;
        let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
        let (_, users) = call(&app, "GET", "/api/v1/users", &admin, None).await;
        let uid = |name: &str| {
            users
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["username"] == name)
                .unwrap()["id"]
                .as_i64()
                .unwrap()
        };
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
        let (_, customer) = call(&app, "GET", "/api/v1/customers/5", &admin, None).await;
        let manager = customer["account_manager_id"].as_i64().unwrap();

        // Bad input writes nothing.
        let before = db.store.verify_audit().await.unwrap().entries;
        let (status, _) = call(
            &app,
            "POST",
            "/api/v1/complaints",
            &marketing,
            Some(json!({
        "customer_id": 5, "channel": "phone", "title": " ", "content": "x"})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = call(
            &app,
            "POST",
            "/api/v1/complaints",
            &marketing,
            Some(json!({
        "customer_id": 5, "channel": "pigeon", "title": "t", "content": "x"})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(db.store.verify_audit().await.unwrap().entries, before);

        let (status, k) = call(&app, "POST", "/api/v1/complaints", &marketing, Some(json!({
        "customer_id": 5, "channel": "phone", "title": "绝缘耐压不合格", "content": "入厂检验 2 台击穿", "product": "YJ-315"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{k}");
        assert_eq!(k["state"], "registered");
        assert!(k["number"].as_str().unwrap().starts_with("TS-"));
        assert_eq!(k["confirm_overdue"], false);
        let id = k["id"].as_i64().unwrap();
        let path = |step: &str| format!("/api/v1/complaints/{id}/{step}");
        let v = |k: &Value| k["version"].clone();

        // Deciding before confirming is refused; confirm first.
        let (status, err) = call(
            &app,
            "POST",
            &path("decision"),
            &marketing,
            Some(json!({
        "version": v(&k), "valid": true, "severity": "serious", "department_id": dept("design")})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("not_confirmed"))
        );
        let (_, k) = call(
            &app,
            "POST",
            &path("confirm"),
            &marketing,
            Some(json!({"version": v(&k), "note": "电话确认 2 台击穿，趋势稳定"})),
        )
        .await;
        assert_eq!(k["state"], "confirmed");
        // A later fix date without the customer's agreement: 400, nothing changes.
        let (status, err) = call(&app, "POST", &path("decision"), &marketing, Some(json!({
        "version": v(&k), "valid": true, "severity": "serious", "department_id": dept("design"), "fix_due": "2099-01-01"}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(err.to_string().contains("agreement_required"), "{err}");
        let (status, k) = call(
            &app,
            "POST",
            &path("decision"),
            &marketing,
            Some(json!({
        "version": v(&k), "valid": true, "severity": "serious", "department_id": dept("design"),
        "fix_due": "2099-01-01", "customer_agreement": "客户质量部李工 邮件同意延期"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{k}");
        assert_eq!(k["state"], "capa");

        // Recusal: the account manager and the design head may not investigate or verify.
        let (status, err) = call(
            &app,
            "POST",
            &path("assign"),
            &marketing,
            Some(json!({
        "version": v(&k), "role": "investigator", "user_id": manager})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("recused"))
        );
        assert_eq!(err["error"]["details"]["why"]["reason"], "account_manager");
        let (_, err) = call(
            &app,
            "POST",
            &path("assign"),
            &marketing,
            Some(json!({
        "version": v(&k), "role": "investigator", "user_id": uid("reviewer")})),
        )
        .await;
        assert_eq!(err["error"]["details"]["why"]["reason"], "department_head");
        let (_, k) = call(
            &app,
            "POST",
            &path("recusals"),
            &marketing,
            Some(json!({
        "user_id": uid("purchase"), "reason": "与涉事供应商有亲属关系"})),
        )
        .await;
        let (_, err) = call(
            &app,
            "POST",
            &path("assign"),
            &marketing,
            Some(json!({
        "version": v(&k), "role": "investigator", "user_id": uid("purchase")})),
        )
        .await;
        assert_eq!(
            err["error"]["details"]["why"]["note"],
            "与涉事供应商有亲属关系"
        );
        assert!(k["recused"].as_array().unwrap().len() >= 3, "{k}");
        let (status, k) = call(
            &app,
            "POST",
            &path("assign"),
            &marketing,
            Some(json!({
        "version": v(&k), "role": "investigator", "user_id": uid("process")})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{k}");
        let (_, k) = call(
            &app,
            "POST",
            &path("assign"),
            &marketing,
            Some(json!({
        "version": v(&k), "role": "verifier", "user_id": uid("quality")})),
        )
        .await;

        // Skipping verification: refused. The 8D report must be complete.
        let (status, err) = call(
            &app,
            "POST",
            &path("reply"),
            &marketing,
            Some(json!({
        "version": v(&k), "letter": "x", "evidence": "y"})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("not_verified"))
        );
        let process = login(&app, "process", DEMO_PASSWORD).await;
        let (_, k) = call(
            &app,
            "PUT",
            &path("capa"),
            &process,
            Some(json!({
        "version": v(&k), "d1_team": "质量、设计、生产", "d2_problem": "耐压击穿"})),
        )
        .await;
        let (status, err) = call(
            &app,
            "POST",
            &path("capa/submit"),
            &process,
            Some(json!({"version": v(&k)})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("capa_incomplete")),
            "{err} {k}"
        );
        let (status, k) = call(&app, "PUT", &path("capa"), &process, Some(json!({
        "version": v(&k), "d1_team": "质量、设计、生产", "d2_problem": "耐压击穿", "d3_containment": "隔离同批次",
        "d4_root_cause": "浸漆固化不足", "d5_corrective": "修订工艺卡", "d6_verification": "3 批 100% 合格",
        "d7_prevention": "纳入 SPC", "d8_closure": "关闭"}))).await;
        assert_eq!(status, StatusCode::OK, "{k}");
        let (_, k) = call(
            &app,
            "POST",
            &path("capa/submit"),
            &process,
            Some(json!({"version": v(&k)})),
        )
        .await;
        assert_eq!(k["state"], "verifying");

        // Only the assigned verifier verifies; a failure sends it back to the CAPA.
        let (status, _) = call(
            &app,
            "POST",
            &path("verification"),
            &marketing,
            Some(json!({
        "version": v(&k), "passed": true, "note": "x"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "verification is quality's");
        let quality = login(&app, "quality", DEMO_PASSWORD).await;
        let (_, k) = call(
            &app,
            "POST",
            &path("verification"),
            &quality,
            Some(json!({
        "version": v(&k), "passed": false, "note": "复检仍有 1 台击穿"})),
        )
        .await;
        assert_eq!(k["state"], "capa");
        let (_, k) = call(
            &app,
            "POST",
            &path("capa/submit"),
            &process,
            Some(json!({"version": v(&k)})),
        )
        .await;
        let (_, k) = call(
            &app,
            "POST",
            &path("verification"),
            &quality,
            Some(json!({
        "version": v(&k), "passed": true, "note": "连续 3 批复检合格"})),
        )
        .await;
        assert_eq!(k["state"], "replying");
        let (status, k) = call(
            &app,
            "POST",
            &path("reply"),
            &marketing,
            Some(json!({
        "version": v(&k), "letter": "尊敬的客户：……", "evidence": "8D 报告；复检记录"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{k}");
        assert_eq!(k["state"], "closed");

        // The closed serious complaint leaves a survey task for the account manager.
        let (_, tasks) = call(&app, "GET", "/api/v1/survey-tasks", &admin, None).await;
        let task = tasks
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["complaint_id"] == id)
            .expect("a survey task");
        assert_eq!(task["assignee_id"], manager);
        assert_eq!(db.store.verify_audit().await.unwrap().result, Ok(()));
    }
);

both_backends!(
    portal_users_see_and_submit_only_their_own_companys_complaints,
    |db| {
        let app = app(db).await;
        let admin = login(&app, "admin", "admin123").await;
        let portal = login(&app, "portal", DEMO_PASSWORD).await;
        let (_, me) = call(&app, "GET", "/api/v1/auth/me", &portal, None).await;
        let own = me["customer_id"]
            .as_i64()
            .expect("the portal user's company");
        let (status, k) = call(
            &app,
            "POST",
            "/api/v1/complaints",
            &portal,
            Some(json!({
        "channel": "phone", "title": "包装受潮", "content": "到货包装受潮，见照片"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{k}");
        assert_eq!(k["customer_id"], own);
        assert_eq!(k["channel"], "portal", "the portal is the channel");
        assert!(
            k["recused"].as_array().unwrap().is_empty(),
            "internal people stay internal"
        );
        let id = k["id"].as_i64().unwrap();
        // A photo, checked by its bytes; a renamed binary or an oversized file is refused.
        let (status, body, _) = common::send(
            &app,
            multipart(
                &portal,
                &format!("/api/v1/complaints/{id}/files"),
                "受潮.png",
                PNG,
            ),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(&body)
        );
        let (status, _, _) = common::send(
            &app,
            multipart(
                &portal,
                &format!("/api/v1/complaints/{id}/files"),
                "fake.png",
                b"MZ\x90\x00binary",
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _, _) = common::send(
            &app,
            multipart(
                &portal,
                &format!("/api/v1/complaints/{id}/files"),
                "drawing.dwg",
                b"AC1032........",
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a drawing is not evidence");
        let big = vec![b'a'; reqloop_domain::attachment::MAX_BYTES + 1];
        let (status, _, _) = common::send(
            &app,
            multipart(
                &portal,
                &format!("/api/v1/complaints/{id}/files"),
                "big.txt",
                &big,
            ),
        )
        .await;
        assert!(
            status == StatusCode::PAYLOAD_TOO_LARGE || status == StatusCode::BAD_REQUEST,
            "{status}"
        );

        // Another company's complaint: not found; naming another company: refused.
        let other = if own == 1 { 2 } else { 1 };
        let (_, theirs) = call(
            &app,
            "POST",
            "/api/v1/complaints",
            &admin,
            Some(json!({
        "customer_id": other, "channel": "email", "title": "别家投诉", "content": "x"})),
        )
        .await;
        let theirs = theirs["id"].as_i64().unwrap();
        let (status, _) = call(
            &app,
            "GET",
            &format!("/api/v1/complaints/{theirs}"),
            &portal,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = common::send(
            &app,
            multipart(
                &portal,
                &format!("/api/v1/complaints/{theirs}/files"),
                "x.png",
                PNG,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = call(
            &app,
            "POST",
            "/api/v1/complaints",
            &portal,
            Some(json!({
        "customer_id": other, "channel": "phone", "title": "冒名", "content": "x"})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (_, list) = call(
            &app,
            "GET",
            "/api/v1/complaints?per_page=200",
            &portal,
            None,
        )
        .await;
        assert!(list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["customer_id"] == own));
        // Portal users do not handle complaints.
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/complaints/{id}/confirm"),
            &portal,
            Some(json!({"version": 1, "note": "自己确认"})),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
);

both_backends!(
    an_invalid_complaint_needs_evidence_and_overdue_ones_are_listed,
    |db| {
        let app = app(db).await;
        let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
        let (_, k) = call(
            &app,
            "POST",
            "/api/v1/complaints",
            &marketing,
            Some(json!({
        "customer_id": 3, "channel": "visit", "title": "颜色偏差", "content": "与样板不符"})),
        )
        .await;
        let id = k["id"].as_i64().unwrap();
        let (_, k) = call(
            &app,
            "POST",
            &format!("/api/v1/complaints/{id}/confirm"),
            &marketing,
            Some(json!({"version": k["version"], "note": "已确认"})),
        )
        .await;
        let (status, err) = call(
            &app,
            "POST",
            &format!("/api/v1/complaints/{id}/decision"),
            &marketing,
            Some(json!({"version": k["version"], "valid": false})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(err.to_string().contains("evidence_required"));
        let (_, k) = call(&app, "POST", &format!("/api/v1/complaints/{id}/decision"), &marketing, Some(json!({
        "version": k["version"], "valid": false, "evidence": "色差仪 ΔE=0.6", "explanation": "在协议范围内，已书面说明"}))).await;
        assert_eq!(k["state"], "invalid");
        let (_, k) = call(
            &app,
            "POST",
            &format!("/api/v1/complaints/{id}/close"),
            &marketing,
            Some(json!({"version": k["version"]})),
        )
        .await;
        assert_eq!(k["state"], "closed");
        // The demo has one complaint past its 4-hour confirmation.
        let (_, overdue) = call(
            &app,
            "GET",
            "/api/v1/complaints?overdue=true",
            &marketing,
            None,
        )
        .await;
        let items = overdue["items"].as_array().unwrap();
        assert!(!items.is_empty());
        assert!(items
            .iter()
            .all(|c| c["confirm_overdue"] == true && c["state"] == "registered"));
    }
);

both_backends!(complaint_pages_portal_pages_and_my_work, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let portal = login(&app, "portal", DEMO_PASSWORD).await;
    let get = |token: &str, path: &str| {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, html, _) = common::send(&app, get(&admin, "/complaints?overdue=1")).await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(html).unwrap();
    assert!(
        html.contains("电机异响") && html.contains("超时未确认"),
        "the overdue demo complaint"
    );
    assert!(!html.contains("到货外箱破损"), "only the overdue ones");
    // A serious complaint's 8D report prints.
    let (_, list) = call(
        &app,
        "GET",
        "/api/v1/complaints?state=closed&severity=serious",
        &admin,
        None,
    )
    .await;
    let closed = list["items"][0]["id"].as_i64().unwrap();
    let (status, html, _) = common::send(
        &app,
        get(&admin, &format!("/complaints/{closed}/print/capa")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("D4 根本原因") && html.contains("浸漆"));
    // The account manager of that customer has the survey task on "my work".
    let customer = list["items"][0]["customer_id"].as_i64().unwrap();
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
    let (_, html, _) = common::send(&app, get(&am, "/my-work")).await;
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("满意度调查任务") && html.contains(&format!("/complaints/{closed}")));

    // The portal: its own page; another company's case is not found; staff are sent back.
    let (status, html, _) = common::send(&app, get(&portal, "/portal")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(html).unwrap().contains("portal-form"));
    let (_, me) = call(&app, "GET", "/api/v1/auth/me", &portal, None).await;
    let own = me["customer_id"].as_i64().unwrap();
    let (_, all) = call(&app, "GET", "/api/v1/complaints?per_page=200", &admin, None).await;
    let theirs = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["customer_id"] != own)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, html, _) =
        common::send(&app, get(&portal, &format!("/portal/complaints/{theirs}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(String::from_utf8(html).unwrap().contains("portal-missing"));
    let (status, _, headers) = common::send(&app, get(&admin, "/portal")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/complaints");
});
