//! The requirement loop over HTTP (F5, F6, F8), on SQLite and PostgreSQL.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use reqloop_store::both_backends;
use serde_json::{json, Value};
use tower::ServiceExt;

mod common;
use common::{app, body_text, call, login};

fn requirement(customer: i64) -> Value {
    json!({
        "customer_id": customer, "title": "交期缩短到30天", "description": "客户要求首批交付提前",
        "channel": "visit", "category": "product", "sub_category": "delivery_quantity", "nature": "non_functional",
        "kind": "stated", "urgency": "urgent", "source_person": "王丽", "collected_on": "2026-11-20"
    })
}

const STAGES: [&str; 10] = [
    "identification",
    "review",
    "determination",
    "transmission",
    "reverification",
    "realization",
    "verification",
    "validation",
    "return_visit",
    "closed",
];

both_backends!(a_requirement_walks_all_nine_stages_to_closed, |db| {
    let app = app(db).await;
    let t = login(&app, "admin", "admin123").await;
    let (status, r) = call(
        &app,
        "POST",
        "/api/v1/requirements",
        &t,
        Some(requirement(1)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["stage"], "identification");
    let id = r["id"].as_i64().unwrap();
    let base = format!("/api/v1/requirements/{id}");

    // The identification table is identification's output: no item, no review.
    let (status, err) = call(
        &app,
        "POST",
        &format!("{base}/transitions"),
        &t,
        Some(json!({"to": "review"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["code"], "missing_outputs");
    assert_eq!(
        err["error"]["details"]["missing_outputs"][0],
        "identification_table"
    );
    let item = json!({"description": "首批30天交付", "category": "product", "acceptance_criterion": "合同交期≤30天", "department_id": 7});
    assert_eq!(
        call(&app, "POST", &format!("{base}/items"), &t, Some(item))
            .await
            .0,
        StatusCode::CREATED
    );

    // Skipping is refused.
    let (status, err) = call(
        &app,
        "POST",
        &format!("{base}/transitions"),
        &t,
        Some(json!({"to": "determination"})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("stage_skipped"))
    );

    for pair in STAGES.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        if from != "identification" {
            let (status, _) = call(
                &app,
                "POST",
                &format!("{base}/outputs"),
                &t,
                Some(json!({"note": format!("{from} 输出记录")})),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED);
        }
        let (status, moved) = call(
            &app,
            "POST",
            &format!("{base}/transitions"),
            &t,
            Some(json!({"to": to})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{from} → {to}: {moved}");
        assert_eq!(moved["stage"], to);
    }
    let (_, history) = call(&app, "GET", &format!("{base}/transitions"), &t, None).await;
    assert_eq!(history.as_array().unwrap().len(), 9, "every move recorded");
    // Closed is final: no move, no edit, no item.
    let (status, err) = call(
        &app,
        "POST",
        &format!("{base}/transitions"),
        &t,
        Some(json!({"to": "review", "reason": "再看看"})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("closed"))
    );
    let (status, _) = call(
        &app,
        "PATCH",
        &base,
        &t,
        Some(json!({"version": 10, "title": "改"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
});

both_backends!(rework_needs_a_reason_and_redoes_the_outputs, |db| {
    let app = app(db).await;
    let t = login(&app, "admin", "admin123").await;
    let (_, r) = call(
        &app,
        "POST",
        "/api/v1/requirements",
        &t,
        Some(requirement(2)),
    )
    .await;
    let base = format!("/api/v1/requirements/{}", r["id"]);
    let item = json!({"description": "尺寸", "category": "product", "acceptance_criterion": "图纸", "department_id": 2});
    call(&app, "POST", &format!("{base}/items"), &t, Some(item)).await;
    call(
        &app,
        "POST",
        &format!("{base}/transitions"),
        &t,
        Some(json!({"to": "review"})),
    )
    .await;
    call(
        &app,
        "POST",
        &format!("{base}/outputs"),
        &t,
        Some(json!({"note": "评审报告 PS-001"})),
    )
    .await;
    let (status, _) = call(
        &app,
        "POST",
        &format!("{base}/transitions"),
        &t,
        Some(json!({"to": "determination"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, err) = call(
        &app,
        "POST",
        &format!("{base}/transitions"),
        &t,
        Some(json!({"to": "review"})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason_required"))
    );
    let (status, back) = call(
        &app,
        "POST",
        &format!("{base}/transitions"),
        &t,
        Some(json!({"to": "review", "reason": "客户修改图纸"})),
    )
    .await;
    assert_eq!(
        (status, back["stage"].as_str()),
        (StatusCode::OK, Some("review"))
    );
    // The review report was superseded: a new one is needed before moving on again.
    let (status, err) = call(
        &app,
        "POST",
        &format!("{base}/transitions"),
        &t,
        Some(json!({"to": "determination"})),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("missing_outputs"))
    );
    let (_, moves) = call(&app, "GET", &format!("{base}/transitions"), &t, None).await;
    assert_eq!(moves[2]["move"], "rework");
    assert_eq!(moves[2]["reason"], "客户修改图纸");
});

both_backends!(concurrent_transitions_one_wins_the_other_gets_409, |db| {
    let app = app(db).await;
    let t = login(&app, "admin", "admin123").await;
    let (_, r) = call(
        &app,
        "POST",
        "/api/v1/requirements",
        &t,
        Some(requirement(3)),
    )
    .await;
    let base = format!("/api/v1/requirements/{}", r["id"]);
    let item = json!({"description": "寿命", "category": "product", "acceptance_criterion": "10年", "department_id": 2});
    call(&app, "POST", &format!("{base}/items"), &t, Some(item)).await;
    let mut handles = Vec::new();
    for _ in 0..4 {
        let (app, t, path) = (app.clone(), t.clone(), format!("{base}/transitions"));
        handles.push(tokio::spawn(async move {
            call(
                &app,
                "POST",
                &path,
                &t,
                Some(json!({"to": "review", "version": 1})),
            )
            .await
            .0
        }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    let (_, moves) = call(&app, "GET", &format!("{base}/transitions"), &t, None).await;
    assert_eq!(moves.as_array().unwrap().len(), 1);
});

both_backends!(requirements_follow_the_customer_scope_and_filters, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let zhang = login(&app, "zhangwei", reqloop_store::demo::DEMO_PASSWORD).await;
    let (_, mine) = call(&app, "GET", "/api/v1/customers?per_page=1", &zhang, None).await;
    let my_customer = mine["items"][0]["id"].as_i64().unwrap();
    let (_, all) = call(&app, "GET", "/api/v1/customers?per_page=200", &admin, None).await;
    let other = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["account_manager_id"] != mine["items"][0]["account_manager_id"])
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s1, _) = call(
        &app,
        "POST",
        "/api/v1/requirements",
        &zhang,
        Some(requirement(my_customer)),
    )
    .await;
    assert_eq!(s1, StatusCode::CREATED);
    let (s2, err) = call(
        &app,
        "POST",
        "/api/v1/requirements",
        &zhang,
        Some(requirement(other)),
    )
    .await;
    assert_eq!(s2, StatusCode::BAD_REQUEST, "{err}");
    let (_, theirs) = call(
        &app,
        "POST",
        "/api/v1/requirements",
        &admin,
        Some(requirement(other)),
    )
    .await;
    let (status, _) = call(
        &app,
        "GET",
        &format!("/api/v1/requirements/{}", theirs["id"]),
        &zhang,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = call(&app, "GET", "/api/v1/requirements", &zhang, None).await;
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["customer_id"] == my_customer || r["customer_id"] != other));
    let (_, filtered) = call(
        &app,
        "GET",
        &format!("/api/v1/requirements?customer_id={other}&stage=identification&urgency=urgent"),
        &admin,
        None,
    )
    .await;
    assert_eq!(filtered["total"], 1);
    let (status, _) = call(
        &app,
        "GET",
        "/api/v1/requirements?stage=nowhere",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let bad = json!({"customer_id": my_customer, "title": "", "channel": "pigeon", "category": "product", "nature": "functional", "kind": "stated", "urgency": "urgent"});
    let (status, err) = call(&app, "POST", "/api/v1/requirements", &zhang, Some(bad)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"]["details"].to_string().contains("channel"));
    let reviewer = login(&app, "reviewer", reqloop_store::demo::DEMO_PASSWORD).await;
    let (status, _) = call(
        &app,
        "POST",
        "/api/v1/requirements",
        &reviewer,
        Some(requirement(my_customer)),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
});

both_backends!(
    similar_requirements_find_duplicates_and_contradictions,
    |db| {
        let app = app(db).await;
        let t = login(&app, "admin", "admin123").await;
        let mut ids = Vec::new();
        for title in [
            "首批交期缩短到30天",
            "首批产品交期缩短至30天",
            "首批交期缩短到45天",
            "外观颜色统一为RAL7035",
        ] {
            let mut body = requirement(40);
            body["title"] = json!(title);
            body["description"] = json!("");
            let (_, r) = call(&app, "POST", "/api/v1/requirements", &t, Some(body)).await;
            ids.push(r["id"].as_i64().unwrap());
        }
        let (status, similar) = call(
            &app,
            "GET",
            &format!("/api/v1/requirements/{}/similar", ids[0]),
            &t,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let relation = |id: i64| {
            similar
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["id"] == id)
                .map(|m| m["relation"].clone())
        };
        assert_eq!(relation(ids[1]), Some(json!("duplicate")), "{similar}");
        assert_eq!(relation(ids[2]), Some(json!("contradiction")), "{similar}");
        assert_eq!(relation(ids[3]), None, "unrelated wording is not listed");
        assert!(similar[0]["score"].as_f64().unwrap() >= 0.6);
    }
);

both_backends!(projects_group_requirements, |db| {
    let app = app(db).await;
    let t = login(&app, "admin", "admin123").await;
    let pm = login(&app, "pm", reqloop_store::demo::DEMO_PASSWORD).await;
    let (_, me) = call(&app, "GET", "/api/v1/auth/me", &pm, None).await;
    let body = json!({"code": "T-2026-99", "name": "测试用配套项目", "customer_id": 1, "manager_id": me["user_id"], "team": [2, 3]});
    // A project manager sees no customers outside the department's scope: the customer is unknown to them.
    assert_eq!(
        call(&app, "POST", "/api/v1/projects", &pm, Some(body.clone()))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let (status, p) = call(&app, "POST", "/api/v1/projects", &t, Some(body.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!(
        call(&app, "POST", "/api/v1/projects", &t, Some(body))
            .await
            .0,
        StatusCode::CONFLICT
    );
    let own = json!({"code": "PM-1", "name": "内部改进项目", "manager_id": me["user_id"]});
    assert_eq!(
        call(&app, "POST", "/api/v1/projects", &pm, Some(own))
            .await
            .0,
        StatusCode::CREATED
    );
    let zhang = login(&app, "zhangwei", reqloop_store::demo::DEMO_PASSWORD).await;
    let other = json!({"code": "X", "name": "x", "manager_id": 1});
    assert_eq!(
        call(&app, "POST", "/api/v1/projects", &zhang, Some(other))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let mut r = requirement(1);
    r["project_id"] = p["id"].clone();
    let (status, _) = call(&app, "POST", "/api/v1/requirements", &t, Some(r.clone())).await;
    assert_eq!(status, StatusCode::CREATED);
    r["project_id"] = json!(9999);
    assert_eq!(
        call(&app, "POST", "/api/v1/requirements", &t, Some(r))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let (_, list) = call(
        &app,
        "GET",
        &format!("/api/v1/requirements?project_id={}", p["id"]),
        &t,
        None,
    )
    .await;
    assert_eq!(list["total"], 1);
    let (_, projects) = call(&app, "GET", "/api/v1/projects", &zhang, None).await;
    let mine = projects
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == "T-2026-99")
        .unwrap();
    assert_eq!(mine["team"], json!([2, 3]));
});

struct Later;

impl reqloop_domain::time::Clock for Later {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::days(30)
    }
}

both_backends!(
    the_ledger_shows_time_nodes_and_overdue_marks_and_exports,
    |db| {
        reqloop_store::demo::load(&db.store, chrono::Utc::now())
            .await
            .unwrap();
        // A month later, every open requirement's stage is overdue.
        let app = reqloop_web::router(reqloop_web::AppState {
            store: db.store.clone(),
            clock: Arc::new(Later),
            secure_cookies: false,
        });
        let t = login(&app, "admin", "admin123").await;
        let get = |path: &str| {
            Request::get(path)
                .header(header::AUTHORIZATION, format!("Bearer {t}"))
                .body(Body::empty())
                .unwrap()
        };
        let page = app
            .clone()
            .oneshot(get("/ledger?stage=review"))
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = String::from_utf8(
            page.into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap();
        assert!(html.contains("超期") && html.contains("ledger-table"));
        let csv = app.clone().oneshot(get("/ledger.csv")).await.unwrap();
        assert_eq!(
            csv.headers()[header::CONTENT_TYPE],
            "text/csv; charset=utf-8"
        );
        let text = String::from_utf8(csv.into_body().collect().await.unwrap().to_bytes().to_vec())
            .unwrap();
        assert!(text.starts_with('\u{feff}'));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            1 + reqloop_store::demo::DEMO_REQUIREMENTS,
            "a header and every requirement"
        );
        assert!(lines[0].contains("编号"));
        let closed = lines.iter().filter(|l| l.contains("已关闭")).count();
        let overdue = lines
            .iter()
            .skip(1)
            .filter(|l| l.ends_with("\"超期\""))
            .count();
        // A duplicate merged into another stops its clock (F22).
        let merged = db
            .store
            .list_requirements(
                &reqloop_store::testing::admin(),
                &reqloop_store::RequirementFilter {
                    per_page: Some(200),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .items
            .iter()
            .filter(|r| r.merged_into.is_some())
            .count();
        assert_eq!(
            overdue + closed + merged,
            reqloop_store::demo::DEMO_REQUIREMENTS,
            "open ones are overdue, closed and merged ones never"
        );
    }
);

both_backends!(
    duplicates_merge_and_inconsistencies_reach_the_feedback_register,
    |db| {
        let app = app(db).await;
        let t = login(&app, "admin", "admin123").await;
        let mut ids = Vec::new();
        for (customer, title) in [
            (40, "首批交期缩短到30天"),
            (40, "首批产品交期缩短至30天"),
            (40, "首批交期缩短到45天"),
            (41, "首批交期缩短到30天"),
        ] {
            let mut body = requirement(customer);
            body["title"] = json!(title);
            let (_, r) = call(&app, "POST", "/api/v1/requirements", &t, Some(body)).await;
            ids.push(r["id"].as_i64().unwrap());
        }
        // Another customer's requirement cannot absorb this one.
        let (status, err) = call(
            &app,
            "POST",
            &format!("/api/v1/requirements/{}/merge", ids[1]),
            &t,
            Some(json!({"into": ids[3], "version": 1})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_merge"))
        );
        let (status, merged) = call(
            &app,
            "POST",
            &format!("/api/v1/requirements/{}/merge", ids[1]),
            &t,
            Some(json!({"into": ids[0], "version": 1})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{merged}");
        assert_eq!(merged["merged_into"], ids[0]);
        let (status, err) = call(
            &app,
            "POST",
            &format!("/api/v1/requirements/{}/transitions", ids[1]),
            &t,
            Some(json!({"to": "review"})),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("merged"))
        );
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/requirements/{}/merge", ids[2]),
            &t,
            Some(json!({"into": ids[1], "version": 1})),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "nothing merges into a merged requirement"
        );

        let body = json!({"other_id": ids[2], "note": "交期30天与45天矛盾，待与客户澄清"});
        let (status, entry) = call(
            &app,
            "POST",
            &format!("/api/v1/requirements/{}/inconsistencies", ids[0]),
            &t,
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{entry}");
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/requirements/{}/inconsistencies", ids[0]),
            &t,
            Some(json!({"other_id": ids[2], "note": " "})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (_, register) = call(&app, "GET", "/api/v1/feedback-register", &t, None).await;
        assert_eq!(register["total"], 2, "the demo's entry and this one");
        assert_eq!(register["items"][0]["other_id"], ids[2], "newest first");
        // The register follows the customer scope.
        let zhang = login(&app, "zhangwei", reqloop_store::demo::DEMO_PASSWORD).await;
        let (_, theirs) = call(&app, "GET", "/api/v1/feedback-register", &zhang, None).await;
        // A reviewer whose department manages no customer sees the entries of requirements
        // routed to the department, and can open each of them.
        let reviewer = login(&app, "reviewer", reqloop_store::demo::DEMO_PASSWORD).await;
        let (_, routed) = call(&app, "GET", "/api/v1/feedback-register", &reviewer, None).await;
        assert!(routed["total"].as_i64().unwrap() <= register["total"].as_i64().unwrap());
        for e in routed["items"].as_array().unwrap() {
            let path = format!("/api/v1/requirements/{}", e["requirement_id"]);
            let (status, _) = call(&app, "GET", &path, &reviewer, None).await;
            assert_eq!(status, StatusCode::OK);
        }
        for e in theirs["items"].as_array().unwrap() {
            let (status, _) = call(
                &app,
                "GET",
                &format!("/api/v1/customers/{}", e["customer_id"]),
                &zhang,
                None,
            )
            .await;
            assert_eq!(status, StatusCode::OK);
        }
        assert_eq!(db.store.verify_audit().await.unwrap().result, Ok(()));
        let page = |path: String| {
            Request::get(path)
                .header(header::AUTHORIZATION, format!("Bearer {t}"))
                .body(Body::empty())
                .unwrap()
        };
        let register_page = body_text(
            app.clone()
                .oneshot(page("/feedback-register".into()))
                .await
                .unwrap(),
        )
        .await;
        assert!(register_page.contains("交期30天与45天矛盾"));
        let csv = body_text(
            app.clone()
                .oneshot(page("/feedback-register?format=csv".into()))
                .await
                .unwrap(),
        )
        .await;
        assert!(csv.contains("说明") && csv.contains("交期30天与45天矛盾"));
        let merged_page = body_text(
            app.clone()
                .oneshot(page(format!("/requirements/{}", ids[1])))
                .await
                .unwrap(),
        )
        .await;
        assert!(merged_page.contains("merged-banner"));
    }
);

both_backends!(page_actions_show_refusals_on_the_requirement_page, |db| {
    let app = app(db).await;
    let t = login(&app, "admin", "admin123").await;
    let (_, r) = call(
        &app,
        "POST",
        "/api/v1/requirements",
        &t,
        Some(requirement(5)),
    )
    .await;
    let id = r["id"].as_i64().unwrap();
    let form = |path: String, body: &str| {
        Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {t}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let res = app
        .clone()
        .oneshot(form(
            format!("/requirements/{id}/items"),
            "description=&category=product&acceptance_criterion=&department_id=2",
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = body_text(res).await;
    assert!(
        html.contains("请修正标红的字段") && html.contains("必填"),
        "messages next to the fields"
    );
    let res = app
        .clone()
        .oneshot(form(
            format!("/requirements/{id}/transitions"),
            "to=review&version=1",
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body_text(res).await.contains("当前阶段的输出记录尚未提交"));
    let res = app
        .clone()
        .oneshot(form(
            format!("/requirements/{id}/items"),
            "description=尺寸&category=product&acceptance_criterion=图纸&department_id=2",
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = app
        .clone()
        .oneshot(form(
            format!("/requirements/{id}/transitions"),
            "to=review&version=1",
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, now) = call(&app, "GET", &format!("/api/v1/requirements/{id}"), &t, None).await;
    assert_eq!(now["stage"], "review");
});
