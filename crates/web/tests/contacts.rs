//! Contact plans (F25) and segmentation (F3) over HTTP on SQLite and PostgreSQL: the plan's
//! tasks, visits that close them, the rules' checks, the symposia; the segments adding up; the
//! pages.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use reqloop_store::both_backends;
use reqloop_store::demo::DEMO_PASSWORD;
use serde_json::{json, Value};

mod common;
use common::{app, call, login, send};

async fn html(app: &axum::Router, token: &str, path: &str) -> (StatusCode, String) {
    let req = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let (status, body, _) = send(app, req).await;
    (status, String::from_utf8(body).unwrap())
}

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().unwrap().clone()
}

both_backends!(contact_plans_visits_and_symposia, |db| {
    let app = app(db).await;
    let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
    let zhangwei = login(&app, "zhangwei", DEMO_PASSWORD).await;
    let quality = login(&app, "quality", DEMO_PASSWORD).await;
    let today = reqloop_domain::time::shanghai_date(chrono::Utc::now()).to_string();

    // The demo visited every other customer; the plan gave the others a collection task, and
    // delivered orders a return visit.
    let (status, tasks) = call(
        &app,
        "GET",
        "/api/v1/contact-tasks?per_page=200",
        &marketing,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let tasks = items(&tasks);
    assert!(tasks.iter().any(|t| t["kind"] == "collection"));
    assert!(
        tasks.iter().any(|t| t["kind"] == "return_visit"),
        "delivered orders"
    );
    let grades: Vec<&str> = tasks
        .iter()
        .map(|t| t["customer_grade"].as_str().unwrap())
        .collect();
    assert!(grades.windows(2).all(|w| w[0] <= w[1]), "grade A first");
    // Customers visited within four weeks are within any tier's frequency: no task for them.
    let (_, visits) = call(&app, "GET", "/api/v1/visits?per_page=200", &marketing, None).await;
    let four_weeks = (chrono::Utc::now() - chrono::Duration::days(28))
        .format("%Y-%m-%d")
        .to_string();
    let recent: Vec<i64> = items(&visits)
        .iter()
        .filter(|v| v["visited_on"].as_str().unwrap() >= four_weeks.as_str())
        .map(|v| v["customer_id"].as_i64().unwrap())
        .collect();
    assert!(!recent.is_empty());
    assert!(
        tasks
            .iter()
            .filter(|t| t["kind"] == "collection")
            .all(|t| !recent.contains(&t["customer_id"].as_i64().unwrap())),
        "no collection task for customers visited lately"
    );

    // An account manager records a visit for one of their tasks: it closes the task.
    let (_, mine) = call(
        &app,
        "GET",
        "/api/v1/contact-tasks?mine=true&kind=collection",
        &zhangwei,
        None,
    )
    .await;
    let task = items(&mine)[0].clone();
    let visit = |task: &Value, on: &str, summary: &str| {
        json!({"customer_id": task["customer_id"], "task_id": task["id"], "visited_on": on,
               "method": "visit", "summary": summary, "needs": "希望缩短交期"})
    };
    let (status, e) = call(
        &app,
        "POST",
        "/api/v1/visits",
        &zhangwei,
        Some(visit(&task, "2099-01-01", "")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    let (status, _) = call(
        &app,
        "POST",
        "/api/v1/visits",
        &quality,
        Some(visit(&task, &today, "x")),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "quality engineers read only");
    let (status, v) = call(
        &app,
        "POST",
        "/api/v1/visits",
        &zhangwei,
        Some(visit(&task, &today, "了解明年采购计划")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (_, after) = call(
        &app,
        "GET",
        "/api/v1/contact-tasks?mine=true&per_page=200",
        &zhangwei,
        None,
    )
    .await;
    assert!(
        items(&after).iter().all(|t| t["id"] != task["id"]),
        "closed"
    );
    let (status, e) = call(
        &app,
        "POST",
        "/api/v1/visits",
        &zhangwei,
        Some(visit(&task, &today, "again")),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["code"], "task_closed");

    // The rules: checked, and for the plan's managers only.
    let (status, _) = call(
        &app,
        "PUT",
        "/api/v1/contact-rules",
        &marketing,
        Some(json!({"strategic": 1, "key": 1, "general": 30, "potential": 6, "return_visit_days": 15})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(
        &app,
        "PUT",
        "/api/v1/contact-rules",
        &zhangwei,
        Some(json!({"strategic": 1, "key": 1, "general": 3, "potential": 6, "return_visit_days": 15})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Symposia: one per product line and year; minutes need the version read.
    let (_, list) = call(&app, "GET", "/api/v1/symposia", &marketing, None).await;
    assert_eq!(list["total"], 2);
    let held = items(&list)
        .into_iter()
        .find(|x| x["state"] == "held")
        .unwrap();
    let planned = items(&list)
        .into_iter()
        .find(|x| x["state"] == "planned")
        .unwrap();
    let (status, _) = call(
        &app,
        "POST",
        "/api/v1/symposia",
        &marketing,
        Some(json!({"year": planned["year"], "product_line": planned["product_line"], "planned_on": planned["planned_on"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, detail) = call(
        &app,
        "GET",
        &format!("/api/v1/symposia/{}", held["id"]),
        &marketing,
        None,
    )
    .await;
    assert_eq!(detail["attendee_list"].as_array().unwrap().len(), 5);
    let (status, _) = call(
        &app,
        "PUT",
        &format!("/api/v1/symposia/{}/minutes", planned["id"]),
        &marketing,
        Some(json!({"version": planned["version"].as_i64().unwrap() + 7, "held_on": today, "minutes": "纪要"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Pages.
    let (status, body) = html(
        &app,
        &zhangwei,
        &format!("/contacts?task={}", items(&after)[0]["id"]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("id=\"tasks\"") && body.contains("id=\"visit\""));
    let (status, body) = html(&app, &marketing, &format!("/symposia/{}", held["id"])).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("id=\"minutes\"") && body.contains("id=\"attendees\""));
    let (_, body) = html(
        &app,
        &marketing,
        &format!("/customers/{}", task["customer_id"]),
    )
    .await;
    assert!(
        body.contains("了解明年采购计划"),
        "the visit on the customer's page"
    );
});

both_backends!(segments_add_up_and_render, |db| {
    let app = app(db).await;
    let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
    let (status, r) = call(&app, "GET", "/api/v1/segments", &marketing, None).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let n = r["customers"].as_i64().unwrap();
    assert!(n >= 40);
    let sum = |rows: &Value, f: &str| -> i64 {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|x| x[f].as_i64().unwrap())
            .sum()
    };
    assert_eq!(sum(&r["segments"], "customers"), n);
    assert_eq!(sum(&r["regions"], "total"), n);
    assert_eq!(r["points"].as_array().unwrap().len() as i64, n);
    let tiers: i64 = r["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t[1].as_i64().unwrap())
        .sum();
    assert_eq!(tiers, n);
    assert!(
        r["segments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["customers"].as_i64().unwrap() > 0)
            .count()
            >= 2
    );
    // One region: its customers only.
    let region = r["regions"][0]["region"].as_str().unwrap().to_string();
    let expect = r["regions"][0]["total"].as_i64().unwrap();
    let (_, one) = call(
        &app,
        "GET",
        &format!("/api/v1/segments?region={region}"),
        &marketing,
        None,
    )
    .await;
    assert_eq!(one["customers"].as_i64().unwrap(), expect);
    let (status, _) = call(
        &app,
        "GET",
        "/api/v1/segments?region=atlantis",
        &marketing,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = html(&app, &marketing, "/segments").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("id=\"segment-scatter\"") && body.contains("id=\"pyramid\""));
});
