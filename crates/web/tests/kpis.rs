//! KPIs over HTTP (F23) on SQLite and PostgreSQL: the report of a period adds up, is scoped to
//! the reader, refuses bad input with 400; the dashboard, weekly check list and monthly
//! statistics pages render, the workbook downloads.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use reqloop_store::both_backends;
use reqloop_store::demo::DEMO_PASSWORD;
use serde_json::Value;

mod common;
use common::{app, call, login, send};

fn page(token: &str, path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

fn sum(items: &Value, field: &str) -> i64 {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].as_i64().unwrap())
        .sum()
}

both_backends!(kpis_add_up_are_scoped_and_render, |db| {
    let app = app(db).await;
    let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
    let zhangwei = login(&app, "zhangwei", DEMO_PASSWORD).await;
    let portal = login(&app, "portal", DEMO_PASSWORD).await;
    let year = chrono::Datelike::year(&reqloop_domain::time::shanghai_date(chrono::Utc::now()));

    // The year of the demo: rows by department add up to the totals.
    let (status, r) = call(
        &app,
        "GET",
        &format!("/api/v1/kpis?period={year}&by=department&per_page=200"),
        &marketing,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["period"], year.to_string());
    assert_eq!(r["trend"].as_array().unwrap().len(), 12);
    let totals = &r["totals"];
    assert!(totals["received"].as_i64().unwrap() >= 200);
    for f in ["received", "completed", "on_time", "late"] {
        assert_eq!(sum(&r["items"], f), totals[f].as_i64().unwrap(), "{f}");
    }
    assert_eq!(
        r["total"].as_i64().unwrap(),
        r["items"].as_array().unwrap().len() as i64
    );
    let rate = totals["completion"].as_f64().unwrap();
    let expect = totals["completed"].as_f64().unwrap() / totals["received"].as_f64().unwrap();
    assert!((rate - expect).abs() < 1e-9);
    // The trend's months add up to the year too.
    assert_eq!(
        sum(&r["trend"], "received"),
        totals["received"].as_i64().unwrap()
    );

    // By customer: paged; the rows are the customers', ordered by requirements received.
    let (_, c) = call(
        &app,
        "GET",
        &format!("/api/v1/kpis?period={year}&by=customer&per_page=5"),
        &marketing,
        None,
    )
    .await;
    assert_eq!(c["items"].as_array().unwrap().len(), 5);
    assert!(c["total"].as_i64().unwrap() > 5);
    let received: Vec<i64> = c["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["received"].as_i64().unwrap())
        .collect();
    assert!(received.windows(2).all(|w| w[0] >= w[1]), "{received:?}");

    // An account manager sees their own numbers only.
    let (_, me) = call(&app, "GET", "/api/v1/auth/me", &zhangwei, None).await;
    let (_, mine) = call(
        &app,
        "GET",
        &format!("/api/v1/kpis?period={year}&by=person"),
        &zhangwei,
        None,
    )
    .await;
    let rows = mine["items"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{mine}");
    assert_eq!(rows[0]["key"], me["user_id"]);
    assert!(mine["totals"]["received"].as_i64().unwrap() < totals["received"].as_i64().unwrap());

    // Bad input: 400 with the field; the portal: 403.
    for q in ["period=2026-13", "period=Q4", "sort=nonsense", "by=planet"] {
        let (status, e) = call(&app, "GET", &format!("/api/v1/kpis?{q}"), &marketing, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {e}");
        assert!(e["error"]["code"].is_string(), "{e}");
    }
    let (status, _) = call(&app, "GET", "/api/v1/kpis", &portal, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The weekly check list: what the lists show never exceeds what they count.
    let (status, w) = call(&app, "GET", "/api/v1/kpis/weekly", &marketing, None).await;
    assert_eq!(status, StatusCode::OK, "{w}");
    for k in ["overdue", "due_this_week", "waiting"] {
        let n = w[k]["items"].as_array().unwrap().len() as i64;
        assert!(n <= w[k]["total"].as_i64().unwrap() && n <= 50, "{k}");
    }
    assert!(w["overdue"]["total"].as_i64().unwrap() > 0, "{w}");
    let (status, _) = call(
        &app,
        "GET",
        "/api/v1/kpis/weekly?day=yesterday",
        &marketing,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Pages.
    let (status, body, _) = send(&app, page(&marketing, &format!("/kpis?period={year}"))).await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK);
    for id in [
        "kpi-timeliness",
        "kpi-completion",
        "kpi-satisfaction",
        "kpi-trend",
        "kpi-table",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(html.contains("定义："), "definitions beside the numbers");
    let (status, body, _) = send(&app, page(&marketing, "/kpis?period=2026-14")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8(body).unwrap().contains("id=\"notice\""));
    let (status, body, _) = send(&app, page(&marketing, "/kpis/weekly")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(body)
        .unwrap()
        .contains("id=\"check-overdue\""));
    let (status, body, _) = send(
        &app,
        page(&marketing, &format!("/kpis/monthly?year={year}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(body).unwrap();
    assert!(
        html.contains("id=\"year-total\"") && html.contains(&format!("id=\"month-{year}-12\""))
    );
    let (status, body, headers) = send(
        &app,
        page(&marketing, &format!("/kpis/monthly.xlsx?year={year}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with(b"PK"), "an xlsx is a zip");
    assert!(headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains(&format!("kpis-{year}.xlsx")));
});
