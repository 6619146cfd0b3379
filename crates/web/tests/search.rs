//! Search (F30) over HTTP on SQLite and PostgreSQL: Chinese words of two characters are found
//! inside longer text and not across a different word (交期 vs 交货期), new and edited records
//! reach the index from the audit log, results keep to the reader's data scope, and the page
//! shows the hits with the words marked.

use std::collections::HashSet;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use reqloop_store::both_backends;
use reqloop_store::demo::DEMO_PASSWORD;
use serde_json::{json, Value};

mod common;
use common::{app, call, login, send};

async fn search(app: &axum::Router, token: &str, q: &str) -> (StatusCode, Value) {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("q", q)
        .append_pair("per_page", "200")
        .finish();
    call(app, "GET", &format!("/api/v1/search?{query}"), token, None).await
}

fn ids(v: &Value, kind: &str) -> Vec<i64> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["kind"] == kind)
        .map(|h| h["id"].as_i64().unwrap())
        .collect()
}

both_backends!(search_finds_chinese_words_within_the_readers_scope, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let built = db.store.index_search().await.unwrap();
    assert!(built.indexed >= 200, "{built:?}");

    let new = |title: &str, description: &str| {
        json!({"customer_id": 3, "title": title, "description": description, "channel": "visit",
            "category": "product", "nature": "functional", "kind": "stated", "urgency": "general"})
    };
    let (s, a) = call(
        &app,
        "POST",
        "/api/v1/requirements",
        &admin,
        Some(new("交期延误的赔偿条款", "合同约定交期延误按日计罚")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let (_, b) = call(
        &app,
        "POST",
        "/api/v1/requirements",
        &admin,
        Some(new("交货期延长至六十天", "客户同意放宽交货期")),
    )
    .await;
    let (a_id, b_id) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());

    // Not indexed until the indexer has followed the audit log.
    let (_, r) = search(&app, &admin, "交期延误").await;
    assert!(!ids(&r, "requirement").contains(&a_id));
    let pass = db.store.index_search().await.unwrap();
    assert_eq!(pass.indexed, 2, "{pass:?}");

    let (s, r) = search(&app, &admin, "交期延误").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        r["items"][0]["id"], a_id,
        "the phrase in the title ranks first: {r}"
    );
    assert_eq!(r["items"][0]["kind"], "requirement");
    assert!(r["items"][0]["snippet"]
        .as_str()
        .unwrap()
        .contains("交期延误"));
    let (_, r) = search(&app, &admin, "交期").await;
    let found = ids(&r, "requirement");
    assert!(found.contains(&a_id) && !found.contains(&b_id), "{found:?}");
    let (_, r) = search(&app, &admin, "交货期").await;
    let found = ids(&r, "requirement");
    assert!(found.contains(&b_id) && !found.contains(&a_id), "{found:?}");
    // Parts separated by a space must all occur.
    let (_, r) = search(&app, &admin, "交货期 六十天").await;
    assert_eq!(ids(&r, "requirement"), vec![b_id]);
    let (_, r) = search(&app, &admin, "交货期 赔偿").await;
    assert_eq!(r["total"], 0);

    // A code typed whole finds that record on its key (in any case), and only within scope.
    let code = a["code"].as_str().unwrap().to_lowercase();
    let (s, r) = search(&app, &admin, &code).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (r["total"].as_i64(), r["items"][0]["id"].as_i64()),
        (Some(1), Some(a_id)),
        "{r}"
    );

    // An edit is indexed again: the old words no longer find it, the new ones do.
    let (_, cur) = call(
        &app,
        "GET",
        &format!("/api/v1/requirements/{a_id}"),
        &admin,
        None,
    )
    .await;
    let (s, _) = call(
        &app,
        "PATCH",
        &format!("/api/v1/requirements/{a_id}"),
        &admin,
        Some(json!({"version": cur["version"], "title": "包装防潮要求", "description": "出口海运需真空包装"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    db.store.index_search().await.unwrap();
    let (_, r) = search(&app, &admin, "交期延误").await;
    assert!(!ids(&r, "requirement").contains(&a_id));
    let (_, r) = search(&app, &admin, "真空包装").await;
    assert_eq!(ids(&r, "requirement"), vec![a_id]);

    // Bad queries are 400 with the field named; nothing is treated as syntax.
    let (s, e) = search(&app, &admin, "期").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(e["error"]["details"][0]["field"], "q");
    assert_eq!(e["error"]["details"][0]["code"], "too_short");
    let (s, _) = search(&app, &admin, "\" OR 1=1 --").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &app,
        "GET",
        "/api/v1/search?q=%E4%BA%A4%E6%9C%9F&kind=nope",
        &admin,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Kind filter.
    let (_, r) = call(
        &app,
        "GET",
        "/api/v1/search?q=%E6%9C%89%E9%99%90%E5%85%AC%E5%8F%B8&kind=customer&per_page=200",
        &admin,
        None,
    )
    .await;
    let items = r["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.iter().all(|h| h["kind"] == "customer"));

    // Data scope: an account manager finds only the records of the customers they manage.
    let zhang = login(&app, "zhangwei", DEMO_PASSWORD).await;
    let (_, mine) = call(&app, "GET", "/api/v1/customers?per_page=200", &zhang, None).await;
    let mine: HashSet<i64> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    let (_, not_mine) = call(&app, "GET", "/api/v1/customers?per_page=200", &admin, None).await;
    let other = not_mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| !mine.contains(&c["id"].as_i64().unwrap()))
        .unwrap()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, r) = search(&app, &zhang, &other).await;
    assert!(
        ids(&r, "customer").is_empty(),
        "another's customer by code: {r}"
    );
    let (_, all) = search(&app, &admin, "有限公司").await;
    let (_, scoped) = search(&app, &zhang, "有限公司").await;
    let scoped_customers = ids(&scoped, "customer");
    assert!(!scoped_customers.is_empty());
    assert!(scoped_customers.len() < ids(&all, "customer").len());
    for h in scoped["items"].as_array().unwrap() {
        if h["kind"] == "customer" || h["kind"] == "requirement" || h["kind"] == "contract" {
            assert!(mine.contains(&h["customer_id"].as_i64().unwrap()), "{h}");
        }
    }

    // Archiving a customer takes it out of the results.
    let target = scoped_customers[0];
    let (_, c) = call(
        &app,
        "GET",
        &format!("/api/v1/customers/{target}"),
        &admin,
        None,
    )
    .await;
    let (s, body) = call(
        &app,
        "POST",
        &format!("/api/v1/customers/{target}/archive"),
        &admin,
        Some(json!({"version": c["version"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let pass = db.store.index_search().await.unwrap();
    assert_eq!(pass.removed, 1, "{pass:?}");
    let (_, r) = search(&app, &admin, "有限公司").await;
    assert!(!ids(&r, "customer").contains(&target));

    // A rebuild from scratch gives the same answers.
    let (_, before) = search(&app, &admin, "交货期").await;
    db.store.reset_search().await.unwrap();
    let (_, empty) = search(&app, &admin, "交货期").await;
    assert_eq!(empty["total"], 0);
    db.store.index_search().await.unwrap();
    let (_, after) = search(&app, &admin, "交货期").await;
    assert_eq!(ids(&before, "requirement"), ids(&after, "requirement"));

    // The page: the search box of the top bar leads to the hits, the words marked.
    let req = Request::get("/search?q=%E4%BA%A4%E8%B4%A7%E6%9C%9F")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .body(Body::empty())
        .unwrap();
    let (s, html, _) = send(&app, req).await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"top-search\""));
    assert!(html.contains(&format!("data-id=\"{b_id}\"")));
    assert!(html.contains("<mark>交货期</mark>"));
    let req = Request::get("/search?q=%E6%9C%9F")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .body(Body::empty())
        .unwrap();
    let (s, html, _) = send(&app, req).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8(html)
        .unwrap()
        .contains("中文搜索词至少两个字"));
});
