//! Surveys (F20, F21) on SQLite and PostgreSQL: a campaign's invitations, the public link that
//! works once (API and page), bad scores, a closed campaign, and the analysis of the answers.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use reqloop_store::both_backends;
use reqloop_store::demo::DEMO_PASSWORD;
use serde_json::{json, Value};

mod common;
use common::{app, call, login};

fn answers(q: &Value, score: i64) -> Value {
    let scores: Vec<Value> = q["questionnaire"]["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| json!({"question": x["code"], "score": score}))
        .collect();
    json!({"scores": scores, "comment": "交期还可以更快"})
}

both_backends!(
    a_survey_link_is_answered_once_and_shows_in_the_analysis,
    |db| {
        let app = app(db).await;
        let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
        let (status, err) = call(&app, "POST", "/api/v1/surveys", &marketing, Some(json!({
        "kind": "on_site", "title": "现场调查", "period_start": "2026-11-01", "period_end": "2026-11-30"}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        let (status, g) = call(&app, "POST", "/api/v1/surveys", &marketing, Some(json!({
        "kind": "on_site", "title": "2026 年 11 月现场调查", "period_start": "2026-11-01", "period_end": "2026-11-30",
        "customer_ids": [1, 2, 3]}))).await;
        assert_eq!(status, StatusCode::CREATED, "{g}");
        assert_eq!(g["invited"], 3);
        let id = g["id"].as_i64().unwrap();
        let (_, inv) = call(
            &app,
            "GET",
            &format!("/api/v1/surveys/{id}/invitations"),
            &marketing,
            None,
        )
        .await;
        let tokens: Vec<String> = inv["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["token"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(tokens.len(), 3);
        assert!(tokens.iter().all(|t| t.len() >= 32), "unguessable");

        let (_, before) = call(
            &app,
            "GET",
            "/api/v1/survey-analysis?from=2026-01-01&to=2099-12-31",
            &marketing,
            None,
        )
        .await;
        let quality_before: Vec<i64> = before["aspects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["aspect"] == "quality")
            .map(|d| {
                d["histogram"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap())
                    .collect()
            })
            .unwrap_or_else(|| vec![0; 5]);

        // The public link: no sign-in.
        let (status, q) = call(&app, "GET", &format!("/api/v1/s/{}", tokens[0]), "", None).await;
        assert_eq!(status, StatusCode::OK, "{q}");
        let before = db.store.verify_audit().await.unwrap().entries;
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/s/{}", tokens[0]),
            "",
            Some(answers(&q, 6)),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "scores run 1–5");
        let mut short = answers(&q, 4);
        short["scores"].as_array_mut().unwrap().pop();
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/s/{}", tokens[0]),
            "",
            Some(short),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "every question");
        assert_eq!(db.store.verify_audit().await.unwrap().entries, before);
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/s/{}", tokens[0]),
            "",
            Some(answers(&q, 5)),
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/s/{}", tokens[0]),
            "",
            Some(answers(&q, 1)),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "single use");
        let (status, _) = call(
            &app,
            "GET",
            "/api/v1/s/0000000000000000000000000000000000000000",
            "",
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // The page behind the link: a friendly page for a used one, the form for an open one.
        let page = |token: &str| {
            Request::get(format!("/s/{token}"))
                .body(Body::empty())
                .unwrap()
        };
        let (status, html, _) = common::send(&app, page(&tokens[0])).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(String::from_utf8(html).unwrap().contains("survey-missing"));
        let (status, html, headers) = common::send(&app, page(&tokens[1])).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains("survey-form") && html.contains("score-q_quality-3"));
        let cookie = headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let csrf = cookie.split('=').nth(1).unwrap().to_string();
        let mut body = format!("_csrf={csrf}");
        for x in q["questionnaire"]["questions"].as_array().unwrap() {
            body.push_str(&format!("&score_{}=2", x["code"].as_str().unwrap()));
        }
        let post = Request::post(format!("/s/{}", tokens[1]))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &cookie)
            .body(Body::from(body))
            .unwrap();
        let (status, html, _) = common::send(&app, post).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&html));
        assert!(String::from_utf8(html).unwrap().contains("survey-thanks"));

        // Analysis: the two answers add one 5 and one 2 per quality question to the demo's.
        let (_, a) = call(
            &app,
            "GET",
            "/api/v1/survey-analysis?from=2026-01-01&to=2099-12-31",
            &marketing,
            None,
        )
        .await;
        let quality = a["aspects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["aspect"] == "quality")
            .unwrap();
        let after: Vec<i64> = quality["histogram"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let delta: Vec<i64> = after
            .iter()
            .zip(&quality_before)
            .map(|(a, b)| a - b)
            .collect();
        assert_eq!(delta, vec![0, 2, 0, 0, 2], "two questions × (5, 2)");
        let n: i64 = after.iter().sum();
        let sum: i64 = after
            .iter()
            .enumerate()
            .map(|(i, c)| (i as i64 + 1) * c)
            .sum();
        assert_eq!(quality["count"], n);
        // JSON numbers are compared within rounding of their decimal text.
        let close = |v: &Value, x: f64| (v.as_f64().unwrap() - x).abs() < 1e-12;
        assert!(close(&quality["mean"], sum as f64 / n as f64));
        assert!(close(
            &quality["dissatisfied"],
            (after[0] + after[1]) as f64 / n as f64
        ));
        assert!(a["invited"].as_i64().unwrap() >= 3 && a["answered"].as_i64().unwrap() >= 2);
        let (_, by_grade) = call(
            &app,
            "GET",
            "/api/v1/survey-analysis?from=2026-01-01&to=2099-12-31&by=grade",
            &marketing,
            None,
        )
        .await;
        assert!(by_grade["aspects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| ["A", "B", "C"].contains(&d["category"].as_str().unwrap())));
        let (status, empty) = call(
            &app,
            "GET",
            "/api/v1/survey-analysis?from=2001-01-01&to=2001-06-30",
            &marketing,
            None,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "an empty period is an honest empty result"
        );
        assert!(empty["aspects"].as_array().unwrap().is_empty());

        // A closed campaign's links stop working.
        let (_, g) = call(
            &app,
            "GET",
            &format!("/api/v1/surveys/{id}"),
            &marketing,
            None,
        )
        .await;
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/surveys/{id}/close"),
            &marketing,
            Some(json!({"version": g["version"]})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/s/{}", tokens[2]),
            "",
            Some(answers(&q, 4)),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(db.store.verify_audit().await.unwrap().result, Ok(()));
    }
);

both_backends!(survey_pages_start_a_campaign_and_chart_the_analysis, |db| {
    let app = app(db).await;
    let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
    let form = |path: &str, body: &str| {
        Request::post(path)
            .header(header::AUTHORIZATION, format!("Bearer {marketing}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let get = |path: &str| {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {marketing}"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, html, _) = common::send(
        &app,
        form(
            "/surveys",
            "kind=on_site&title=&period_start=2026-11-01&period_end=2026-11-30",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8(html).unwrap().contains("err-title"));
    let (status, _, headers) = common::send(&app, form("/surveys",
        "kind=on_site&title=%E7%8E%B0%E5%9C%BA&period_start=2026-11-01&period_end=2026-11-30&customer_ids=1&customer_ids=2")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let at = headers[header::LOCATION].to_str().unwrap().to_string();
    let (_, html, _) = common::send(&app, get(&at)).await;
    let html = String::from_utf8(html).unwrap();
    let token = html
        .split("href=\"/s/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let (_, q) = call(&app, "GET", &format!("/api/v1/s/{token}"), "", None).await;
    let (status, _) = call(
        &app,
        "POST",
        &format!("/api/v1/s/{token}"),
        "",
        Some(answers(&q, 4)),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, html, _) = common::send(
        &app,
        get("/survey-analysis?from=2026-01-01&to=2099-12-31&by=grade"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(html).unwrap();
    assert!(
        html.contains("<svg") && html.contains("hist-bar score-4"),
        "a real chart"
    );
    let (_, html, _) =
        common::send(&app, get("/survey-analysis?from=2001-01-01&to=2001-12-31")).await;
    assert!(String::from_utf8(html).unwrap().contains("analysis-empty"));
});
