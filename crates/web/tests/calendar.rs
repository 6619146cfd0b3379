//! The working calendar (F22) on SQLite and PostgreSQL: the built-in years, a year imported by an
//! administrator (checked, versioned, audited), business hours, and working-time arithmetic on
//! the configured calendar through the API and the page.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use reqloop_store::both_backends;
use reqloop_store::demo::DEMO_PASSWORD;
use serde_json::json;

mod common;
use common::{app, call, login};

both_backends!(a_year_is_imported_and_deadlines_count_on_it, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
    let (status, all) = call(&app, "GET", "/api/v1/calendar", &marketing, None).await;
    assert_eq!(status, StatusCode::OK);
    let years: Vec<i64> = all["years"]
        .as_array()
        .unwrap()
        .iter()
        .map(|y| y["year"].as_i64().unwrap())
        .collect();
    assert_eq!(years, vec![2024, 2025, 2026]);
    assert_eq!(all["hours"], json!([[510, 720], [780, 1050]]));
    // Tuesday 30 September 2025 16:00 Shanghai + 4 working hours: after the National Day week.
    let (status, t) = call(
        &app,
        "GET",
        "/api/v1/working-time?start=2025-09-30T08:00:00Z&minutes=240",
        &marketing,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["end"], "2025-10-09T03:00:00Z");
    let (_, t) = call(
        &app,
        "GET",
        "/api/v1/working-time?start=2025-09-30T08:00:00Z&end=2025-10-09T03:00:00Z",
        &marketing,
        None,
    )
    .await;
    assert_eq!(t["minutes"], 240);
    let (status, _) = call(
        &app,
        "GET",
        "/api/v1/working-time?start=2025-09-30T08:00:00Z",
        &marketing,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // 2027 is not published yet: weekends only, until an administrator imports it.
    let (_, y) = call(&app, "GET", "/api/v1/calendar/2027", &marketing, None).await;
    assert_eq!(
        (y["built_in"].as_bool(), y["version"].as_i64()),
        (Some(true), Some(0))
    );
    let body = json!({"version": 0, "holidays": ["2027-02-06", "2027-02-07", "2027-02-08"], "workdays": ["2027-02-20"], "source": "试导入"});
    let (status, _) = call(
        &app,
        "PUT",
        "/api/v1/calendar/2027",
        &marketing,
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "administrators only");
    let before = db.store.verify_audit().await.unwrap().entries;
    let (status, err) = call(
        &app,
        "PUT",
        "/api/v1/calendar/2027",
        &admin,
        Some(json!({
        "version": 0, "holidays": ["2027-02-30", "2026-10-01"], "workdays": []})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err.to_string().contains("other_year"), "{err}");
    assert_eq!(
        db.store.verify_audit().await.unwrap().entries,
        before,
        "nothing written"
    );
    let (status, y) = call(
        &app,
        "PUT",
        "/api/v1/calendar/2027",
        &admin,
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{y}");
    assert_eq!(y["version"], 1);
    let (status, _) = call(&app, "PUT", "/api/v1/calendar/2027", &admin, Some(body)).await;
    assert_eq!(status, StatusCode::CONFLICT, "stale");
    // Friday 5 February 2027 17:00 + 1 working hour: the holiday Monday 8th is skipped.
    let (_, t) = call(
        &app,
        "GET",
        "/api/v1/working-time?start=2027-02-05T09:00:00Z&minutes=60",
        &marketing,
        None,
    )
    .await;
    assert_eq!(
        t["end"], "2027-02-09T01:00:00Z",
        "half an hour on Friday, half on Tuesday: 09:00"
    );
    // Saturday 20 February 2027 is a make-up working day.
    let (_, t) = call(
        &app,
        "GET",
        "/api/v1/working-time?start=2027-02-19T09:00:00Z&minutes=60",
        &marketing,
        None,
    )
    .await;
    assert_eq!(t["end"], "2027-02-20T01:00:00Z");

    // Business hours: checked, then used.
    let (status, _) = call(
        &app,
        "PUT",
        "/api/v1/calendar-hours",
        &admin,
        Some(json!({"hours": [[720, 600]]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(
        &app,
        "PUT",
        "/api/v1/calendar-hours",
        &admin,
        Some(json!({"hours": [[540, 1080]]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, t) = call(
        &app,
        "GET",
        "/api/v1/working-time?start=2026-11-25T09:00:00Z&minutes=60",
        &marketing,
        None,
    )
    .await;
    assert_eq!(
        t["end"], "2026-11-25T10:00:00Z",
        "17:00 + 1 h with hours 09:00–18:00"
    );

    // The page: the months of a year, and the import form with ranges.
    let page = |path: &str| {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, html, _) = common::send(&app, page("/calendar?year=2026")).await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(html).unwrap();
    assert!(
        html.contains("id=\"month-10\"")
            && html.contains("day makeup")
            && html.contains("day holiday")
    );
    let post = |body: &str| {
        Request::post("/calendar")
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let (status, html, _) = common::send(
        &app,
        post("year=2028&version=0&holidays=2028-01-01%0A2028-02-30&workdays=&source="),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8(html).unwrap().contains("err-holidays"));
    let (status, _, headers) = common::send(&app, post("year=2028&version=0&holidays=2028-01-01%0A2028-01-26..2028-02-01&workdays=2028-02-05&source=x")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/calendar?year=2028");
    let (_, y) = call(&app, "GET", "/api/v1/calendar/2028", &marketing, None).await;
    assert_eq!(y["holidays"].as_array().unwrap().len(), 8);
    assert_eq!(db.store.verify_audit().await.unwrap().result, Ok(()));
});
