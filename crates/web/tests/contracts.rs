//! Contracts, versions and the CBC response table with deviation permits (F13), on SQLite and
//! PostgreSQL.

use axum::http::StatusCode;
use reqloop_store::both_backends;
use serde_json::json;

mod common;
use common::{app, call, login};

both_backends!(
    cbc_responses_follow_the_version_in_force_and_deviations_need_permits,
    |db| {
        let app = app(db).await;
        let admin = login(&app, "admin", "admin123").await;
        let (status, c) = call(&app, "POST", "/api/v1/contracts", &admin, Some(json!({
        "customer_id": 1, "number": "HT-2026-001", "title": "牵引电机采购技术协议", "kind": "technical_agreement"
    }))).await;
        assert_eq!(status, StatusCode::CREATED, "{c}");
        let id = c["id"].as_i64().unwrap();
        let (status, _) = call(
            &app,
            "POST",
            "/api/v1/contracts",
            &admin,
            Some(json!({
                "customer_id": 1, "number": "HT-2026-001", "title": "重复", "kind": "contract"
            })),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "one number per customer");
        let clauses = json!([
            {"number": "3.1", "text": "温升不超过80K"},
            {"number": "3.2", "text": "首批交期30天"},
            {"number": "3.3", "text": "包装符合GB/T 13384"}
        ]);
        let path = format!("/api/v1/contracts/{id}/versions");
        let (status, v1) = call(
            &app,
            "POST",
            &path,
            &admin,
            Some(json!({"base_version": 0, "clauses": clauses})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{v1}");
        assert_eq!(v1["version_no"], 1);
        assert!(v1["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["pending"] == true));
        let clause = |v: &serde_json::Value, n: usize| v["lines"][n]["clause_id"].as_i64().unwrap();
        let respond = |clause: i64, version: i64, response: &str, note: &str| {
            let app = app.clone();
            let admin = admin.clone();
            let body = json!({"version": version, "response": response, "note": note});
            async move {
                call(
                    &app,
                    "PUT",
                    &format!("/api/v1/clauses/{clause}/response"),
                    &admin,
                    Some(body),
                )
                .await
            }
        };
        let (status, line) = respond(clause(&v1, 0), 0, "comply", "").await;
        assert_eq!(status, StatusCode::OK, "{line}");
        assert_eq!(line["pending"], false);
        let (status, _) = respond(clause(&v1, 0), 0, "comply", "").await;
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "a second first answer is stale"
        );
        let (status, err) = respond(clause(&v1, 1), 0, "deviate", "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(err.to_string().contains("response_note_required"));
        let (_, line) = respond(clause(&v1, 1), 0, "deviate", "首批交期45天").await;
        assert_eq!(
            line["pending"], true,
            "a deviation stays open until permitted"
        );
        // Permits: only for deviations; one at a time; decided once, with date and evidence.
        let permits = |c: i64| format!("/api/v1/clauses/{c}/permits");
        let (status, err) = call(
            &app,
            "POST",
            &permits(clause(&v1, 0)),
            &admin,
            Some(json!({"note": "x"})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("not_a_deviation"))
        );
        let (status, p) = call(
            &app,
            "POST",
            &permits(clause(&v1, 1)),
            &admin,
            Some(json!({"note": "申请首批交期45天"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{p}");
        let (status, err) = call(
            &app,
            "POST",
            &permits(clause(&v1, 1)),
            &admin,
            Some(json!({"note": "again"})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("permit_exists"))
        );
        let decide = format!("/api/v1/permits/{}/decision", p["id"]);
        let (status, _) = call(
            &app,
            "POST",
            &decide,
            &admin,
            Some(json!({"approved": false, "decided_on": "11/20", "evidence": ""})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, rejected) = call(&app, "POST", &decide, &admin,
        Some(json!({"approved": false, "decided_on": "2026-11-20", "evidence": "客户函〔2026〕118号"}))).await;
        assert_eq!(status, StatusCode::OK, "{rejected}");
        assert_eq!(rejected["status"], "rejected");
        let (status, err) = call(
            &app,
            "POST",
            &decide,
            &admin,
            Some(json!({"approved": true, "decided_on": "2026-11-21", "evidence": "x"})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("permit_decided"))
        );
        let (_, p2) = call(
            &app,
            "POST",
            &permits(clause(&v1, 1)),
            &admin,
            Some(json!({"note": "改为40天"})),
        )
        .await;
        call(&app, "POST", &format!("/api/v1/permits/{}/decision", p2["id"]), &admin,
        Some(json!({"approved": true, "decided_on": "2026-11-22", "evidence": "会议纪要2026-11-22"}))).await;
        let (_, table) = call(
            &app,
            "GET",
            &format!("/api/v1/contracts/{id}/versions/1"),
            &admin,
            None,
        )
        .await;
        assert_eq!(
            table["lines"][1]["pending"], false,
            "the approved permit closes the deviation"
        );
        assert_eq!(
            table["lines"][2]["pending"], true,
            "3.3 is still unanswered"
        );
        // The pending list agrees with the table's flags.
        let (_, pending) = call(
            &app,
            "GET",
            "/api/v1/cbc/pending?per_page=200",
            &admin,
            None,
        )
        .await;
        let listed: Vec<i64> = pending["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["contract_id"] == json!(id))
            .map(|p| p["clause_id"].as_i64().unwrap())
            .collect();
        let flagged: Vec<i64> = table["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["pending"] == true)
            .map(|l| l["clause_id"].as_i64().unwrap())
            .collect();
        assert_eq!(listed, flagged);
        assert_eq!(listed.len(), 1);
        // A new version supersedes the old one: it stays readable but takes no more responses.
        let (status, _) = call(
            &app,
            "POST",
            &path,
            &admin,
            Some(json!({"base_version": 0, "clauses": clauses})),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "saved from a stale version");
        let (status, v2) = call(
            &app,
            "POST",
            &path,
            &admin,
            Some(json!({"base_version": 1, "note": "客户修订", "clauses": clauses})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(v2["version_no"], 2);
        let before = db.store.verify_audit().await.unwrap().entries;
        let (status, err) = respond(clause(&v1, 2), 0, "comply", "").await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!("superseded_version")
            )
        );
        assert_eq!(
            db.store.verify_audit().await.unwrap().entries,
            before,
            "nothing written"
        );
        let (_, old) = call(
            &app,
            "GET",
            &format!("/api/v1/contracts/{id}/versions/1"),
            &admin,
            None,
        )
        .await;
        assert_eq!(old["current"], false);
        assert_eq!(old["lines"][0]["response"], "comply");
        let (status, _) = respond(clause(&v2, 2), 0, "comply", "").await;
        assert_eq!(status, StatusCode::OK);
        // Scope: an account manager of another customer sees neither the contract nor its clauses.
        let mut outsiders = 0;
        for user in ["zhangwei", "liuyang", "chenjing"] {
            let t = login(&app, user, reqloop_store::demo::DEMO_PASSWORD).await;
            let (sees, _) = call(&app, "GET", "/api/v1/customers/1", &t, None).await;
            if sees == StatusCode::OK {
                continue;
            }
            outsiders += 1;
            let (status, _) = call(&app, "GET", &format!("/api/v1/contracts/{id}"), &t, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{user}");
            let body = json!({"version": 0, "response": "comply"});
            let path = format!("/api/v1/clauses/{}/response", clause(&v2, 0));
            let (status, _) = call(&app, "PUT", &path, &t, Some(body)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{user}");
        }
        assert!(outsiders >= 1);
        let reviewer = login(&app, "reviewer", reqloop_store::demo::DEMO_PASSWORD).await;
        let (status, _) = call(
            &app,
            "POST",
            "/api/v1/contracts",
            &reviewer,
            Some(json!({
                "customer_id": 1, "number": "X", "title": "X", "kind": "contract"
            })),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(db.store.verify_audit().await.unwrap().result, Ok(()));
    }
);

both_backends!(contract_pages_enter_answer_and_export_the_cbc_table, |db| {
    use axum::body::Body;
    use axum::http::{header, Request};
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let form = |path: &str, body: &str| {
        Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let get = |path: String| {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap()
    };
    // A missing number is shown next to the field; nothing is created.
    let (status, html, _) = common::send(
        &app,
        form(
            "/contracts",
            "customer_id=2&number=&title=供货合同&kind=contract",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8(html).unwrap().contains("err-number"));
    let (status, _, headers) = common::send(
        &app,
        form(
            "/contracts",
            "customer_id=2&number=GH-01&title=供货合同&kind=contract",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let at = headers[header::LOCATION].to_str().unwrap().to_string();
    let id: i64 = at.trim_start_matches("/contracts/").parse().unwrap();
    let body = "base_version=0&note=&clauses=4.1+%E9%98%B2%E6%8A%A4%E7%AD%89%E7%BA%A7IP55%0A4.2+%E9%A2%9C%E8%89%B2RAL7035";
    let (status, _, _) = common::send(&app, form(&format!("/contracts/{id}/versions"), body)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, table) = call(
        &app,
        "GET",
        &format!("/api/v1/contracts/{id}/versions/1"),
        &admin,
        None,
    )
    .await;
    assert_eq!(table["lines"][0]["number"], "4.1");
    assert_eq!(table["lines"][1]["text"], "颜色RAL7035");
    let clause = table["lines"][0]["clause_id"].as_i64().unwrap();
    let (status, _, _) = common::send(
        &app,
        form(
            &format!("/contracts/{id}/clauses/{clause}/response"),
            "version=0&response=comply&note=",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // A deviation without a note: the page says why, with 400.
    let other = table["lines"][1]["clause_id"].as_i64().unwrap();
    let (status, _, _) = common::send(
        &app,
        form(
            &format!("/contracts/{id}/clauses/{other}/response"),
            "version=0&response=deviate&note=",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, html, _) = common::send(&app, get(format!("/contracts/{id}"))).await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("CBC 响应表") && html.contains("防护等级IP55") && html.contains("符合"));
    let (status, csv, headers) = common::send(&app, get(format!("/contracts/{id}/cbc.csv"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.starts_with('\u{feff}'));
    assert_eq!(csv.lines().count(), 3, "a header and two clauses");
    // The same table as an Excel workbook, read back.
    let (status, xlsx, headers) =
        common::send(&app, get(format!("/contracts/{id}/cbc.xlsx"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .contains("spreadsheetml"));
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx)).unwrap();
    let sheet = book.worksheet_range("CBC").unwrap();
    let cells: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(cells.len(), 3, "a header and two clauses");
    assert_eq!(cells[0][0], "条款号");
    assert_eq!(cells[1][1], "防护等级IP55");
    assert_eq!(cells[1][2], "符合");
    // A contract of a project; the list filters by project and by customer.
    let (_, projects) = call(&app, "GET", "/api/v1/projects", &admin, None).await;
    let project = projects
        .as_array()
        .and_then(|p| p.first())
        .or_else(|| projects["items"].as_array().and_then(|p| p.first()))
        .expect("a demo project")["id"]
        .as_i64()
        .unwrap();
    let (status, _, _) = common::send(
        &app,
        form(
            "/contracts",
            &format!("customer_id=3&project_id={project}&number=XM-01&title=项目技术协议&kind=technical_agreement"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html, _) = common::send(&app, get(format!("/contracts?project_id={project}"))).await;
    let html = String::from_utf8(html).unwrap();
    assert!(
        html.contains("XM-01") && !html.contains("GH-01"),
        "only the project's contracts"
    );
    let (_, html, _) = common::send(&app, get("/contracts?customer_id=2".into())).await;
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("GH-01") && !html.contains("XM-01"));
    let (_, pending, _) = common::send(&app, get("/cbc-pending".into())).await;
    let pending = String::from_utf8(pending).unwrap();
    assert!(pending.contains("颜色RAL7035") && !pending.contains("防护等级IP55"));
});

both_backends!(orders_carry_delivery_and_production_batches, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let (_, c) = call(&app, "POST", "/api/v1/contracts", &admin, Some(json!({
        "customer_id": 3, "number": "HT-2026-088", "title": "辅助变流器供货合同", "kind": "contract"
    }))).await;
    let path = format!("/api/v1/contracts/{}/orders", c["id"]);
    let (status, err) = call(
        &app,
        "POST",
        &path,
        &admin,
        Some(json!({
            "number": "DD-1", "delivery": [{"quantity": 0, "promised_on": "2026-12-01"}]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["error"]["details"][0]["field"], "delivery[0].quantity");
    let (status, o) = call(&app, "POST", &path, &admin, Some(json!({
        "number": "DD-1",
        "delivery": [{"quantity": 10, "promised_on": "2026-12-01"}, {"quantity": 20, "promised_on": "2026-12-20"}],
        "production": [{"quantity": 10, "planned_on": "2026-11-28"}, {"quantity": 20, "planned_on": "2026-12-15"}]
    }))).await;
    assert_eq!(status, StatusCode::CREATED, "{o}");
    assert_eq!(o["batches_consistent"], true);
    let (status, _) = call(
        &app,
        "POST",
        &path,
        &admin,
        Some(json!({
            "number": "DD-1", "delivery": [{"quantity": 1, "promised_on": "2026-12-01"}]
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "one number per contract");
    // The first batch is made after the first promise: production no longer covers delivery.
    let done = format!("/api/v1/orders/{}/production/1/done", o["id"]);
    let (status, _) = call(
        &app,
        "POST",
        &done,
        &admin,
        Some(json!({"actual_on": "tomorrow"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, late) = call(
        &app,
        "POST",
        &done,
        &admin,
        Some(json!({"actual_on": "2026-12-03"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{late}");
    assert_eq!(late["production"][0]["actual_on"], "2026-12-03");
    assert_eq!(late["batches_consistent"], false);
    let req = axum::http::Request::get(format!("/contracts/{}", c["id"]))
        .header(axum::http::header::AUTHORIZATION, format!("Bearer {admin}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let (_, html, _) = common::send(&app, req).await;
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("DD-1") && html.contains("2026-12-03") && html.contains("不一致"));
    let (_, listed) = call(&app, "GET", &path, &admin, None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["delivery"].as_array().unwrap().len(), 2);
    let (status, _) = call(
        &app,
        "POST",
        &format!("/api/v1/orders/{}/production/9/done", o["id"]),
        &admin,
        Some(json!({"actual_on": "2026-12-03"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(db.store.verify_audit().await.unwrap().result, Ok(()));
});

both_backends!(
    delivery_is_refused_until_the_pre_delivery_check_passes_or_is_waived,
    |db| {
        let app = app(db).await;
        let admin = login(&app, "admin", "admin123").await;
        let (_, c) = call(&app, "POST", "/api/v1/contracts", &admin, Some(json!({
        "customer_id": 4, "number": "HT-2026-099", "title": "电机供货合同", "kind": "contract"
    }))).await;
        let cid = c["id"].as_i64().unwrap();
        let (_, v) = call(&app, "POST", &format!("/api/v1/contracts/{cid}/versions"), &admin,
        Some(json!({"base_version": 0, "clauses": [{"number": "1", "text": "交付前提供合格证"}]}))).await;
        let clause = v["lines"][0]["clause_id"].as_i64().unwrap();
        let batches = json!({
            "number": "DD-9",
            "delivery": [{"quantity": 5, "promised_on": "2026-12-10"}],
            "production": [{"quantity": 5, "planned_on": "2026-12-01"}]
        });
        let (_, o) = call(
            &app,
            "POST",
            &format!("/api/v1/contracts/{cid}/orders"),
            &admin,
            Some(batches),
        )
        .await;
        let oid = o["id"].as_i64().unwrap();
        let checks = |t: String| {
            let app = app.clone();
            async move {
                let (_, v) = call(
                    &app,
                    "GET",
                    &format!("/api/v1/orders/{oid}/checks"),
                    &t,
                    None,
                )
                .await;
                v
            }
        };
        let list = checks(admin.clone()).await;
        let state = |list: &serde_json::Value, item: &str| {
            list.as_array()
                .unwrap()
                .iter()
                .find(|c| c["item"] == item)
                .unwrap()["passed"]
                .clone()
        };
        assert_eq!(state(&list, "agreement_current"), json!(true));
        assert_eq!(
            state(&list, "cbc_closed"),
            json!(false),
            "clause 1 is unanswered"
        );
        assert_eq!(state(&list, "batches_consistent"), json!(true));
        assert_eq!(state(&list, "packaging"), json!(null), "not yet recorded");
        // Delivery is refused, naming what fails; nothing changes.
        let deliver = format!("/api/v1/orders/{oid}/deliver");
        let before = db.store.verify_audit().await.unwrap().entries;
        let (status, err) = call(&app, "POST", &deliver, &admin, Some(json!({}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err["error"]["code"], "delivery_blocked");
        let failing = err["error"]["details"]["failing"].as_array().unwrap();
        assert!(failing.contains(&json!("cbc_closed")) && failing.contains(&json!("certificates")));
        assert_eq!(db.store.verify_audit().await.unwrap().entries, before);
        // Items the data decides cannot be ticked by hand.
        let (status, err) = call(
            &app,
            "PUT",
            &format!("/api/v1/orders/{oid}/checks/cbc_closed"),
            &admin,
            Some(json!({"passed": true})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("decided_by_data"))
        );
        call(
            &app,
            "PUT",
            &format!("/api/v1/clauses/{clause}/response"),
            &admin,
            Some(json!({"version": 0, "response": "comply"})),
        )
        .await;
        for item in [
            "purchased_parts",
            "customer_parts",
            "concessions",
            "packaging",
            "certificates",
        ] {
            let (status, _) = call(
                &app,
                "PUT",
                &format!("/api/v1/orders/{oid}/checks/{item}"),
                &admin,
                Some(json!({"passed": true, "note": "已核对"})),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{item}");
        }
        // A new agreement version after the order was placed: the order must be checked again.
        call(&app, "POST", &format!("/api/v1/contracts/{cid}/versions"), &admin,
        Some(json!({"base_version": 1, "clauses": [{"number": "1", "text": "交付前提供合格证和检验报告"}]}))).await;
        let (_, err) = call(&app, "POST", &deliver, &admin, Some(json!({}))).await;
        assert_eq!(
            err["error"]["details"]["failing"],
            json!(["agreement_current", "cbc_closed"])
        );
        // A waiver needs the authority: an account manager may deliver but not waive.
        let (_, customer) = call(&app, "GET", "/api/v1/customers/4", &admin, None).await;
        let manager = ["zhangwei", "liuyang", "chenjing"];
        let mut waived_refused = false;
        for user in manager {
            let t = login(&app, user, reqloop_store::demo::DEMO_PASSWORD).await;
            let (sees, _) = call(&app, "GET", "/api/v1/customers/4", &t, None).await;
            if sees != StatusCode::OK {
                continue;
            }
            let (status, _) = call(
                &app,
                "POST",
                &deliver,
                &t,
                Some(json!({"waiver": "客户同意"})),
            )
            .await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{user} of {}",
                customer["name"]
            );
            waived_refused = true;
        }
        assert!(waived_refused);
        let marketing = login(&app, "marketing", reqloop_store::demo::DEMO_PASSWORD).await;
        let (status, done) = call(
            &app,
            "POST",
            &deliver,
            &marketing,
            Some(json!({"waiver": "客户书面同意按第2版协议交付"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert_eq!(done["status"], "delivered");
        assert_eq!(done["waiver"], "客户书面同意按第2版协议交付");
        assert_eq!(done["delivered_by"], "marketing");
        let (status, err) = call(&app, "POST", &deliver, &admin, Some(json!({}))).await;
        assert_eq!(
            (status, err["error"]["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("delivered"))
        );
        assert_eq!(db.store.verify_audit().await.unwrap().result, Ok(()));
    }
);

both_backends!(
    order_pages_show_the_checklist_and_refuse_a_blocked_delivery,
    |db| {
        use axum::body::Body;
        use axum::http::{header, Request};
        let app = app(db).await;
        let admin = login(&app, "admin", "admin123").await;
        let marketing = login(&app, "marketing", reqloop_store::demo::DEMO_PASSWORD).await;
        let form = |token: &str, path: &str, body: &str| {
            Request::post(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.to_string()))
                .unwrap()
        };
        let get = |path: String| {
            Request::get(path)
                .header(header::AUTHORIZATION, format!("Bearer {admin}"))
                .body(Body::empty())
                .unwrap()
        };
        let (_, open) = call(&app, "GET", "/api/v1/orders?status=open", &admin, None).await;
        let blocked = open["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["number"] == "DD-2026-102")
            .expect("the demo's blocked order")["id"]
            .as_i64()
            .unwrap();
        let (_, delivered) =
            call(&app, "GET", "/api/v1/orders?status=delivered", &admin, None).await;
        assert!(delivered["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["number"] == "DD-2026-101"));
        let (status, _) = call(&app, "GET", "/api/v1/orders?status=lost", &admin, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let (status, html, _) = common::send(&app, get("/orders".into())).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains("DD-2026-101") && html.contains("DD-2026-102"));
        let (status, html, _) = common::send(&app, get(format!("/orders/{blocked}"))).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains("交付前检查核对表"));
        assert!(
            html.contains(r#"id="check-batches_consistent" class="flagged""#),
            "made too late"
        );
        assert!(html.contains("系统判定"));
        // Delivering without a waiver: refused on the page with the failing items; nothing changes.
        let before = db.store.verify_audit().await.unwrap().entries;
        let (status, html, _) = common::send(
            &app,
            form(&admin, &format!("/orders/{blocked}/deliver"), ""),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let html = String::from_utf8(html).unwrap();
        assert!(
            html.contains("生产批次与合同交付批次一致"),
            "the failing item is named"
        );
        assert_eq!(db.store.verify_audit().await.unwrap().entries, before);
        // A person-decided item recorded from the page.
        let (status, _, _) = common::send(
            &app,
            form(
                &admin,
                &format!("/orders/{blocked}/checks/packaging"),
                "passed=0&note=木箱未到",
            ),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, checks) = call(
            &app,
            "GET",
            &format!("/api/v1/orders/{blocked}/checks"),
            &admin,
            None,
        )
        .await;
        let packaging = checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["item"] == "packaging")
            .unwrap()
            .clone();
        assert_eq!(
            (packaging["passed"].clone(), packaging["note"].clone()),
            (json!(false), json!("木箱未到"))
        );
        // With a waiver from an authorised user it goes out.
        let (status, _, _) = common::send(
            &app,
            form(
                &marketing,
                &format!("/orders/{blocked}/deliver"),
                "waiver=客户书面同意先交付首批",
            ),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, o) = call(
            &app,
            "GET",
            &format!("/api/v1/orders/{blocked}"),
            &admin,
            None,
        )
        .await;
        assert_eq!(o["status"], "delivered");
        assert_eq!(o["waiver"], "客户书面同意先交付首批");
    }
);
