//! Grading over HTTP (F2) on SQLite and PostgreSQL: the API's permissions and checks, and the
//! pages — runs, the candidate list, the committee's decision, the customer's grade history.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use reqloop_store::both_backends;
use reqloop_store::demo::DEMO_PASSWORD;
use serde_json::json;

mod common;
use common::{app, call, login, send};

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

async fn html(app: &axum::Router, req: Request<Body>) -> (StatusCode, String) {
    let (status, body, _) = send(app, req).await;
    (status, String::from_utf8(body).unwrap())
}

both_backends!(grading_runs_through_the_api_and_the_pages, |db| {
    let app = app(db).await;
    let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
    let exec = login(&app, "exec", DEMO_PASSWORD).await;
    let zhangwei = login(&app, "zhangwei", DEMO_PASSWORD).await;

    let (status, runs) = call(&app, "GET", "/api/v1/grading-runs", &marketing, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(runs["total"], 2);
    let draft = runs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["state"] == "draft")
        .unwrap()
        .clone();
    let id = draft["id"].as_i64().unwrap();
    let (status, _) = call(&app, "GET", "/api/v1/grading-runs", &zhangwei, None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "account managers do not grade"
    );
    let (status, detail) = call(
        &app,
        "GET",
        &format!("/api/v1/grading-runs/{id}"),
        &exec,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let after_a: i64 = detail["summary"]["grades"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g[0] == "A")
        .map(|g| g[2].as_i64().unwrap())
        .unwrap();
    assert_eq!(after_a, 8, "ranks 1–8 are A");

    // Bad input: 400 naming the field; an unknown enum value too.
    let (status, e) = call(
        &app,
        "POST",
        "/api/v1/grading-runs",
        &marketing,
        Some(json!({"kind": "semiannual", "year": 2026, "half": 3})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    let (status, _) = call(
        &app,
        "POST",
        "/api/v1/grading-runs",
        &marketing,
        Some(json!({"kind": "monthly", "year": 2026})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, e) = call(
        &app,
        "PUT",
        "/api/v1/grading-rules",
        &marketing,
        Some(json!({"a_last": 10, "b_last": 5})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");

    // Pages: the runs, the draft with its candidates; the decision form for the committee only.
    let (status, body) = html(&app, page(&marketing, "/grading")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(&format!("id=\"run-{id}\"")) && body.contains("id=\"start-run\""));
    let (_, body) = html(&app, page(&marketing, &format!("/grading/{id}"))).await;
    assert!(body.contains("id=\"candidates\""));
    assert!(
        !body.contains("id=\"decide\""),
        "not for the one who computed it"
    );
    let (_, body) = html(&app, page(&exec, &format!("/grading/{id}?all=1"))).await;
    assert!(body.contains("id=\"decide\""));
    let version = draft["version"].as_i64().unwrap();
    let (status, body) = html(
        &app,
        form(
            &exec,
            &format!("/grading/{id}/decision"),
            &format!("version={version}&approve=0&note="),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("id=\"err-decision-note\""));
    let (status, body) = html(
        &app,
        form(
            &exec,
            &format!("/grading/{id}/decision"),
            &format!("version={version}&approve=1&note=%E5%90%8C%E6%84%8F"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("id=\"run-state\""));
    let (_, run) = call(
        &app,
        "GET",
        &format!("/api/v1/grading-runs/{id}"),
        &exec,
        None,
    )
    .await;
    assert_eq!(run["state"], "approved");

    // A new run from the form: a bad year is shown next to the field.
    let (status, body) = html(
        &app,
        form(&marketing, "/grading", "kind=annual&year=1800&half="),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("id=\"err-year\""));

    // The grown customer's page shows its grade history.
    let (_, history) = call(
        &app,
        "GET",
        "/api/v1/customers/1/grade-history",
        &marketing,
        None,
    )
    .await;
    assert!(history.is_array());
    let (_, cands) = call(
        &app,
        "GET",
        &format!("/api/v1/grading-runs/{id}/candidates?changed=true&per_page=200"),
        &exec,
        None,
    )
    .await;
    let grown = cands["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["current_grade"] == "C" && c["proposed_grade"] == "A")
        .unwrap()["customer_id"]
        .as_i64()
        .unwrap();
    let (_, body) = html(&app, page(&marketing, &format!("/customers/{grown}"))).await;
    assert!(body.contains("id=\"grade-history\""));
    assert!(
        body.contains(&format!("href=\"/grading/{id}\"")),
        "the run that graded it"
    );
});
