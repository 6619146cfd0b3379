//! Management reports (F26) on SQLite and PostgreSQL: the business structure adds up to the
//! customers and orders in the reader's scope, customer management counts new, lost, upgraded
//! and downgraded customers in the quarter they happened, requirement trends count every
//! requirement once, and each page charts it and exports it to Excel.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use reqloop_store::both_backends;
use reqloop_store::demo::DEMO_PASSWORD;
use serde_json::{json, Value};

mod common;
use common::{app, call, login};

fn page(token: &str, path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

fn sum(v: &Value, key: &str) -> i64 {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r[key].as_i64().unwrap())
        .sum()
}

both_backends!(the_business_structure_adds_up_in_the_readers_scope, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let zhang = login(&app, "zhangwei", DEMO_PASSWORD).await;
    let (status, r) = call(
        &app,
        "GET",
        "/api/v1/reports/business?from=2000-01-01&to=2099-12-31&by=grade",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (_, customers) = call(&app, "GET", "/api/v1/customers?per_page=1", &admin, None).await;
    assert_eq!(
        sum(&r["rows"], "customers"),
        customers["total"].as_i64().unwrap()
    );
    assert_eq!(r["customers"], customers["total"]);
    let (_, orders) = call(&app, "GET", "/api/v1/orders?per_page=1", &admin, None).await;
    assert_eq!(sum(&r["rows"], "orders"), orders["total"].as_i64().unwrap());
    let shares: f64 = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["revenue_share"].as_f64().unwrap_or(0.0))
        .sum();
    assert!((shares - 1.0).abs() < 1e-9, "shares of the whole: {shares}");
    let cats: Vec<&str> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["category"].as_str().unwrap())
        .collect();
    assert!(cats.contains(&"A") && cats.contains(&"C"));
    // An account manager's report covers their customers only.
    let (_, mine) = call(
        &app,
        "GET",
        "/api/v1/reports/business?from=2000-01-01&to=2099-12-31",
        &zhang,
        None,
    )
    .await;
    let (_, theirs) = call(&app, "GET", "/api/v1/customers?per_page=1", &zhang, None).await;
    assert_eq!(mine["customers"], theirs["total"]);
    assert!(mine["customers"].as_i64().unwrap() < r["customers"].as_i64().unwrap());
    // Bad input, and an empty period (no orders in it): an honest result.
    let (status, _) = call(
        &app,
        "GET",
        "/api/v1/reports/business?from=2000-01-01&to=2099-12-31&by=colour",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(
        &app,
        "GET",
        "/api/v1/reports/business?from=2026-12-01&to=2026-01-01",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, empty) = call(
        &app,
        "GET",
        "/api/v1/reports/business?from=2001-01-01&to=2001-12-31",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty["orders"], 0);
    let portal = login(&app, "portal", DEMO_PASSWORD).await;
    let (status, _) = call(
        &app,
        "GET",
        "/api/v1/reports/business?from=2000-01-01&to=2099-12-31",
        &portal,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, html, _) = common::send(
        &app,
        page(
            &admin,
            "/reports/business?from=2000-01-01&to=2099-12-31&by=province",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("id=\"business-chart\"") && html.contains("business-table"));
    let (status, bytes, _) = common::send(
        &app,
        page(
            &admin,
            "/reports/business.xlsx?from=2000-01-01&to=2099-12-31&by=grade",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet = book.worksheet_range("经营结构分析").unwrap();
    assert_eq!(
        sheet.rows().count(),
        r["rows"].as_array().unwrap().len() + 1,
        "a header and a row per category"
    );
    let (_, html, _) = common::send(&app, page(&admin, "/reports")).await;
    assert!(String::from_utf8(html)
        .unwrap()
        .contains("report-satisfaction"));
});

both_backends!(customer_management_counts_each_move_in_its_quarter, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let now = reqloop_domain::time::shanghai_date(chrono::Utc::now());
    let year = chrono::Datelike::year(&now);
    let quarter = format!("Q{}", (chrono::Datelike::month(&now) - 1) / 3 + 1);
    let report = |app: axum::Router, admin: String| async move {
        let (status, r) = call(
            &app,
            "GET",
            &format!("/api/v1/reports/customers?year={year}"),
            &admin,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{r}");
        r
    };
    let before = report(app.clone(), admin.clone()).await;
    let q = |r: &Value, label: &str| {
        r["periods"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["label"] == label)
            .cloned()
            .unwrap()
    };
    let (status, c) = call(&app, "POST", "/api/v1/customers", &admin, Some(json!({
        "name": "常州新测电子有限公司", "province": "江苏省", "city": "常州市", "grade": "C", "tier": "general"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    let id = c["id"].as_i64().unwrap();
    let (status, c) = call(
        &app,
        "PATCH",
        &format!("/api/v1/customers/{id}"),
        &admin,
        Some(json!({"version": c["version"], "grade": "A"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    let (_, c) = call(
        &app,
        "PATCH",
        &format!("/api/v1/customers/{id}"),
        &admin,
        Some(json!({"version": c["version"], "grade": "B"})),
    )
    .await;
    let (status, _) = call(
        &app,
        "POST",
        &format!("/api/v1/customers/{id}/archive"),
        &admin,
        Some(json!({"version": c["version"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let after = report(app.clone(), admin.clone()).await;
    for label in [quarter.as_str(), &year.to_string()] {
        let (b, a) = (q(&before, label), q(&after, label));
        for (kind, delta) in [("new", 1), ("upgraded", 1), ("downgraded", 1), ("lost", 1)] {
            assert_eq!(
                a[kind].as_i64().unwrap() - b[kind].as_i64().unwrap(),
                delta,
                "{label} {kind}"
            );
        }
    }
    assert!(after["upgraded"].to_string().contains("C → A"));
    let (status, _) = call(
        &app,
        "GET",
        "/api/v1/reports/customers?year=1999",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, html, _) = common::send(
        &app,
        page(&admin, &format!("/reports/customers?year={year}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(html).unwrap();
    assert!(
        html.contains("customers-chart")
            && html.contains("moved-lost")
            && html.contains("常州新测电子有限公司")
    );
    let (status, bytes, _) = common::send(
        &app,
        page(&admin, &format!("/reports/customers.xlsx?year={year}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&bytes[..2], b"PK");
});

both_backends!(requirement_trends_count_every_requirement_once, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let (status, r) = call(
        &app,
        "GET",
        "/api/v1/reports/requirements?from=2000-01-01&to=2099-12-31",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let (_, all) = call(&app, "GET", "/api/v1/requirements?per_page=1", &admin, None).await;
    assert_eq!(r["total"], all["total"]);
    assert_eq!(sum(&r["months"], "count"), all["total"].as_i64().unwrap());
    let by_sub: i64 = r["sub_categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[1].as_i64().unwrap())
        .sum();
    assert_eq!(by_sub, all["total"].as_i64().unwrap());
    let topics = r["topics"].as_array().unwrap();
    assert!(!topics.is_empty(), "the demo's titles recur");
    let counts: Vec<i64> = topics.iter().map(|t| t[1].as_i64().unwrap()).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "most first");
    let (status, empty) = call(
        &app,
        "GET",
        "/api/v1/reports/requirements?from=2001-01-01&to=2001-12-31",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty["total"], 0);
    let (status, _) = call(
        &app,
        "GET",
        "/api/v1/reports/requirements?from=x&to=2001-12-31",
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, html, _) = common::send(
        &app,
        page(
            &admin,
            "/reports/requirements?from=2000-01-01&to=2099-12-31",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("months-chart") && html.contains("topics-chart"));
    let (_, html, _) = common::send(
        &app,
        page(
            &admin,
            "/reports/requirements?from=2001-01-01&to=2001-12-31",
        ),
    )
    .await;
    assert!(String::from_utf8(html)
        .unwrap()
        .contains("requirements-empty"));
    let (status, html, _) = common::send(
        &app,
        page(&admin, "/reports/requirements?from=bad&to=2001-12-31"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8(html).unwrap().contains("id=\"notice\""));
    let (status, bytes, _) = common::send(
        &app,
        page(
            &admin,
            "/reports/requirements.xlsx?from=2000-01-01&to=2099-12-31",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    use calamine::Reader;
    let book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names().len(), 3);
});
