//! F4 and F2 across the pages: a customer under tightened control is marked beside its records
//! on every list and page, and work queues put grade A first.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use reqloop_store::both_backends;
use reqloop_store::demo::DEMO_PASSWORD;

mod common;
use common::{app, call, login, send};

const MARK: &str = "badge red tight";

async fn html(app: &axum::Router, token: &str, path: &str) -> String {
    let req = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let (status, body, _) = send(app, req).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    String::from_utf8(body).unwrap()
}

both_backends!(tightened_control_is_marked_and_grade_a_comes_first, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let marketing = login(&app, "marketing", DEMO_PASSWORD).await;

    // A flagged customer and a plain one, each with requirements.
    let (_, customers) = call(&app, "GET", "/api/v1/customers?per_page=200", &admin, None).await;
    let customers = customers["items"].as_array().unwrap().clone();
    let (_, reqs) = call(
        &app,
        "GET",
        "/api/v1/requirements?per_page=200",
        &admin,
        None,
    )
    .await;
    let reqs = reqs["items"].as_array().unwrap().clone();
    let with_requirement = |flagged: bool| {
        customers
            .iter()
            .filter(|c| c["risk_flags"].as_array().unwrap().is_empty() != flagged)
            .find_map(|c| {
                reqs.iter()
                    .find(|r| r["customer_id"] == c["id"])
                    .map(|r| (c["id"].as_i64().unwrap(), r["id"].as_i64().unwrap()))
            })
            .expect("a customer with a requirement")
    };
    let (flagged, flagged_req) = with_requirement(true);
    let (plain, plain_req) = with_requirement(false);

    let page = html(&app, &marketing, &format!("/requirements/{flagged_req}")).await;
    assert!(
        page.contains(MARK),
        "the requirement page of a flagged customer"
    );
    let page = html(&app, &marketing, &format!("/requirements/{plain_req}")).await;
    assert!(!page.contains(MARK), "no mark for others");
    let list = html(
        &app,
        &marketing,
        &format!("/requirements?customer_id={flagged}"),
    )
    .await;
    assert!(list.contains(MARK), "list rows");
    let list = html(
        &app,
        &marketing,
        &format!("/requirements?customer_id={plain}"),
    )
    .await;
    assert!(!list.contains(MARK));
    let ledger = html(&app, &marketing, &format!("/ledger?customer_id={flagged}")).await;
    assert!(ledger.contains(MARK), "the ledger");

    // Turning the flag off takes the mark away.
    let (_, c) = call(
        &app,
        "GET",
        &format!("/api/v1/customers/{flagged}"),
        &admin,
        None,
    )
    .await;
    let (status, _) = call(
        &app,
        "PATCH",
        &format!("/api/v1/customers/{flagged}"),
        &admin,
        Some(serde_json::json!({"version": c["version"], "risk_flags": []})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let page = html(&app, &marketing, &format!("/requirements/{flagged_req}")).await;
    assert!(!page.contains(MARK));

    // The pending hand-offs queue: grade A first, then B, then C.
    let (_, queue) = call(&app, "GET", "/api/v1/handoffs?per_page=200", &admin, None).await;
    let grades: Vec<String> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["customer_grade"].as_str().unwrap().to_string())
        .collect();
    assert!(grades.len() > 3);
    assert!(grades.windows(2).all(|w| w[0] <= w[1]), "{grades:?}");
    assert!(grades.first().is_some_and(|g| g == "A"));
});
