//! Survey follow-up (F20, F21) on SQLite and PostgreSQL: questionnaires edited into versions,
//! reminders that reach the account manager, who no survey has reached this year, the
//! rectification of weaknesses, the trend, and the semiannual report (page and workbook).

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use reqloop_store::both_backends;
use reqloop_store::demo::DEMO_PASSWORD;
use serde_json::{json, Value};

mod common;
use common::{app, call, login};

fn scores(q: &Value, score: i64) -> Value {
    let scores: Vec<Value> = q["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| json!({"question": x["code"], "score": score}))
        .collect();
    json!({ "scores": scores })
}

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

both_backends!(questionnaires_are_edited_into_versions, |db| {
    let app = app(db).await;
    let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
    let (status, list) = call(&app, "GET", "/api/v1/survey-templates", &marketing, None).await;
    assert_eq!(status, StatusCode::OK);
    let id = list[0]["id"].as_i64().unwrap();
    let (_, t) = call(
        &app,
        "GET",
        &format!("/api/v1/survey-templates/{id}"),
        &marketing,
        None,
    )
    .await;
    assert_eq!(t["current_version"], 1);
    // A campaign on version 1 stays on it whatever happens to the template.
    let (_, old) = call(&app, "POST", "/api/v1/surveys", &marketing, Some(json!({
        "kind": "on_site", "title": "旧问卷", "period_start": "2026-11-01", "period_end": "2026-11-30",
        "customer_ids": [1]}))).await;
    let path = format!("/api/v1/survey-templates/{id}");
    let mut q = t["questionnaire"].clone();
    let (status, _) = call(
        &app,
        "PUT",
        &path,
        &marketing,
        Some(json!({"name": t["name"], "questionnaire": q, "version": t["version"]})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "nothing changed");
    q["aspects"]
        .as_array_mut()
        .unwrap()
        .push(json!({"code": "packaging", "name_zh": "包装", "name_en": "Packaging"}));
    q["questions"]
        .as_array_mut()
        .unwrap()
        .push(json!({"code": "q_packaging", "aspect": "packging",
        "text_zh": "包装是否牢固", "text_en": "Is the packaging sturdy?"}));
    let (status, err) = call(
        &app,
        "PUT",
        &path,
        &marketing,
        Some(json!({"name": t["name"], "questionnaire": q, "version": t["version"]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert!(err.to_string().contains("unknown_aspect"), "{err}");
    q["questions"][7]["aspect"] = json!("packaging");
    let before = db.store.verify_audit().await.unwrap().entries;
    let (status, _) = call(&app, "PUT", &path, &marketing,
        Some(json!({"name": t["name"], "questionnaire": q, "version": t["version"].as_i64().unwrap() - 1}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "stale");
    assert_eq!(
        db.store.verify_audit().await.unwrap().entries,
        before,
        "nothing written"
    );
    let (status, t2) = call(&app, "PUT", &path, &marketing,
        Some(json!({"name": "顾客满意度调查表（含包装）", "questionnaire": q, "version": t["version"]}))).await;
    assert_eq!(status, StatusCode::OK, "{t2}");
    assert_eq!(t2["current_version"], 2);
    assert_eq!(t2["versions"].as_array().unwrap().len(), 2);
    let (_, v1) = call(&app, "GET", &format!("{path}/versions/1"), &marketing, None).await;
    assert_eq!(
        v1["questions"].as_array().unwrap().len(),
        7,
        "version 1 stays readable"
    );

    // The old campaign's link still asks version 1; a new one asks version 2.
    let token_of = |g: Value| {
        let app = app.clone();
        let marketing = marketing.clone();
        async move {
            let (_, inv) = call(
                &app,
                "GET",
                &format!("/api/v1/surveys/{}/invitations", g["id"]),
                &marketing,
                None,
            )
            .await;
            inv["items"][0]["token"].as_str().unwrap().to_string()
        }
    };
    let old_token = token_of(old).await;
    let (_, open) = call(&app, "GET", &format!("/api/v1/s/{old_token}"), "", None).await;
    assert_eq!(
        open["questionnaire"]["questions"].as_array().unwrap().len(),
        7
    );
    let (_, new) = call(&app, "POST", "/api/v1/surveys", &marketing, Some(json!({
        "kind": "on_site", "title": "新问卷", "period_start": "2026-11-01", "period_end": "2026-11-30",
        "customer_ids": [2], "template_id": id}))).await;
    assert_eq!(new["template_version"], 2);
    let token = token_of(new).await;
    let (_, open) = call(&app, "GET", &format!("/api/v1/s/{token}"), "", None).await;
    let (status, _) = call(
        &app,
        "POST",
        &format!("/api/v1/s/{token}"),
        "",
        Some(scores(&open["questionnaire"], 2)),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, a) = call(
        &app,
        "GET",
        "/api/v1/survey-analysis?from=2000-01-01&to=2099-12-31",
        &marketing,
        None,
    )
    .await;
    let packaging = a["aspects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["aspect"] == "packaging")
        .unwrap();
    assert_eq!(packaging["histogram"], json!([0, 1, 0, 0, 0]));
    let (status, _) = call(&app, "POST", "/api/v1/surveys", &marketing, Some(json!({
        "kind": "annual", "title": "x", "period_start": "2026-11-01", "period_end": "2026-11-30", "template_id": 999}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown template");

    // The editor page: a row error shows beside its row, nothing is saved.
    let (_, html, _) =
        common::send(&app, page(&marketing, &format!("/survey-templates/{id}"))).await;
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains("template-versions") && html.contains("name=\"q_code\""));
    let (_, t2) = call(&app, "GET", &path, &marketing, None).await;
    let body = format!(
        "name=%E9%97%AE%E5%8D%B7&version={}&a_code=quality&a_zh=%E8%B4%A8%E9%87%8F&a_en=Quality&a_code=&a_zh=&a_en=\
         &q_code=q1&q_aspect=nothing&q_zh=%E8%B4%A8%E9%87%8F&q_en=Quality",
        t2["version"]
    );
    let (status, html, _) = common::send(
        &app,
        form(&marketing, &format!("/survey-templates/{id}"), &body),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8(html).unwrap().contains("未知的评价方面"));
    let body = body.replace("q_aspect=nothing", "q_aspect=quality");
    let (status, _, headers) = common::send(
        &app,
        form(&marketing, &format!("/survey-templates/{id}"), &body),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        format!("/survey-templates/{id}").as_str()
    );
    let (_, t3) = call(&app, "GET", &path, &marketing, None).await;
    assert_eq!(t3["current_version"], 3);
    assert_eq!(
        t3["questionnaire"]["questions"].as_array().unwrap().len(),
        1
    );
    let (status, html, _) = common::send(
        &app,
        page(&marketing, &format!("/survey-templates/{id}?v=1")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8(html).unwrap().contains("old-version"));
    assert_eq!(db.store.verify_audit().await.unwrap().result, Ok(()));
});

both_backends!(
    reminders_reach_the_manager_and_coverage_names_who_is_missing,
    |db| {
        let app = app(db).await;
        let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
        let liuyang = login(&app, "liuyang", DEMO_PASSWORD).await;
        let (_, me) = call(&app, "GET", "/api/v1/auth/me", &liuyang, None).await;
        let year = chrono::Datelike::year(&reqloop_domain::time::shanghai_date(chrono::Utc::now()));
        let coverage = |app: axum::Router, token: String| async move {
            call(
                &app,
                "GET",
                &format!("/api/v1/survey-coverage?year={year}&per_page=200"),
                &token,
                None,
            )
            .await
            .1
        };
        // A new customer of 刘洋's: nobody has surveyed it yet.
        let (status, fresh) = call(&app, "POST", "/api/v1/customers", &marketing, Some(json!({
        "name": "无锡新测精密机械有限公司", "province": "江苏省", "city": "无锡市", "grade": "C", "tier": "potential",
        "account_manager_id": me["user_id"]}))).await;
        assert_eq!(status, StatusCode::CREATED, "{fresh}");
        let before = coverage(app.clone(), marketing.clone()).await;
        let row = |c: &Value| {
            c["managers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["manager_id"] == me["user_id"])
                .cloned()
                .unwrap()
        };
        let mine = row(&before);
        assert!(mine["customers"].as_i64().unwrap() > 0);
        // Only this year's answered surveys count; the demo's year campaign reached about three in four.
        let uncovered_before = before["uncovered_total"].as_i64().unwrap();
        assert_eq!(
            before["uncovered"].as_array().unwrap().len() as i64,
            uncovered_before.min(200)
        );
        let (status, g) = call(&app, "POST", "/api/v1/surveys", &marketing, Some(json!({
        "kind": "account_manager", "title": "刘洋客户年度调查", "period_start": format!("{year}-01-01"),
        "period_end": format!("{year}-12-31"), "account_manager_id": me["user_id"]}))).await;
        assert_eq!(status, StatusCode::CREATED, "{g}");
        assert_eq!(g["invited"], mine["customers"]);
        let id = g["id"].as_i64().unwrap();
        let (status, r) = call(
            &app,
            "POST",
            &format!("/api/v1/surveys/{id}/remind"),
            &marketing,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(r["reminded"], g["invited"]);
        let (status, html, _) = common::send(&app, page(&liuyang, "/my-work")).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(html).unwrap();
        assert!(
            html.contains("my-reminders") && html.contains("刘洋客户年度调查"),
            "the manager sees the reminder"
        );

        // One customer not covered yet answers: the manager's count and the uncovered list follow.
        let (_, inv) = call(
            &app,
            "GET",
            &format!("/api/v1/surveys/{id}/invitations?per_page=200"),
            &marketing,
            None,
        )
        .await;
        let uncovered: Vec<i64> = before["uncovered"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["customer_id"].as_i64().unwrap())
            .collect();
        assert!(uncovered.contains(&fresh["id"].as_i64().unwrap()));
        let target = inv["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["customer_id"] == fresh["id"])
            .cloned();
        if let Some(i) = target {
            let token = i["token"].as_str().unwrap();
            let (_, open) = call(&app, "GET", &format!("/api/v1/s/{token}"), "", None).await;
            let (status, _) = call(
                &app,
                "POST",
                &format!("/api/v1/s/{token}"),
                "",
                Some(scores(&open["questionnaire"], 4)),
            )
            .await;
            assert_eq!(status, StatusCode::NO_CONTENT);
            let after = coverage(app.clone(), marketing.clone()).await;
            assert_eq!(
                row(&after)["surveyed"].as_i64().unwrap(),
                mine["surveyed"].as_i64().unwrap() + 1
            );
            assert_eq!(
                after["uncovered_total"].as_i64().unwrap(),
                uncovered_before - 1
            );
            assert!(!after["uncovered"]
                .to_string()
                .contains(&format!("\"customer_id\":{},", i["customer_id"])));
        } else {
            panic!("the new customer is invited: {inv}");
        }
        // An account manager sees only their own customers.
        let own = coverage(app.clone(), liuyang.clone()).await;
        let total = |c: &Value| {
            c["managers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["customers"].as_i64().unwrap())
                .sum::<i64>()
        };
        assert!(
            total(&own) < total(&before) + 1 && row(&own)["customers"] == row(&before)["customers"]
        );
        let (status, html, _) = common::send(
            &app,
            page(&marketing, &format!("/survey-coverage?year={year}")),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(html).unwrap();
        assert!(
            html.contains("manager-coverage") && html.contains("uncovered-empty"),
            "everyone reached now"
        );
        let (status, _) = call(
            &app,
            "GET",
            "/api/v1/survey-coverage?year=1900",
            &marketing,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // Closed: no reminders.
        let (_, g) = call(
            &app,
            "GET",
            &format!("/api/v1/surveys/{id}"),
            &marketing,
            None,
        )
        .await;
        call(
            &app,
            "POST",
            &format!("/api/v1/surveys/{id}/close"),
            &marketing,
            Some(json!({"version": g["version"]})),
        )
        .await;
        let (status, _) = call(
            &app,
            "POST",
            &format!("/api/v1/surveys/{id}/remind"),
            &marketing,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
);

both_backends!(
    weaknesses_become_actions_rectified_replied_and_evaluated,
    |db| {
        let app = app(db).await;
        let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
        let pm = login(&app, "pm", DEMO_PASSWORD).await;
        let reviewer = login(&app, "reviewer", DEMO_PASSWORD).await;
        let (_, pm_me) = call(&app, "GET", "/api/v1/auth/me", &pm, None).await;
        let (status, err) = call(&app, "POST", "/api/v1/survey-actions", &marketing, Some(json!({
        "title": "", "aspect": "delivery", "finding": "交期不满意", "owner_id": 99999, "due_on": "2026-02-30"}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            err.to_string().contains("due_on") && err.to_string().contains("title"),
            "{err}"
        );
        let (status, _) = call(&app, "POST", "/api/v1/survey-actions", &marketing, Some(json!({
        "title": "交期整改", "aspect": "delivery", "finding": "交期不满意", "owner_id": 99999, "due_on": "2026-12-31"}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "unknown owner");
        let (status, _) = call(&app, "POST", "/api/v1/survey-actions", &pm, Some(json!({
        "title": "交期整改", "aspect": "delivery", "finding": "交期不满意", "owner_id": pm_me["user_id"], "due_on": "2026-12-31"}))).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "publishing is for survey managers"
        );
        let (status, a) = call(&app, "POST", "/api/v1/survey-actions", &marketing, Some(json!({
        "title": "交期整改", "aspect": "delivery", "category_by": "grade", "category": "C",
        "finding": "C 类顾客交付不满意 30%", "owner_id": pm_me["user_id"], "due_on": "2026-12-31"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        assert_eq!(a["status"], "published");
        let id = a["id"].as_i64().unwrap();
        let step = |token: String, body: Value| {
            let app = app.clone();
            async move {
                call(
                    &app,
                    "POST",
                    &format!("/api/v1/survey-actions/{id}/step"),
                    &token,
                    Some(body),
                )
                .await
            }
        };
        let (status, _) = step(
            reviewer.clone(),
            json!({"version": 1, "step": "rectify", "note": "x"}),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "neither the owner nor a survey manager"
        );
        let (status, _) = step(
            pm.clone(),
            json!({"version": 1, "step": "evaluate", "note": "x", "effective": true}),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "rectify first");
        let (status, _) = step(
            pm.clone(),
            json!({"version": 1, "step": "rectify", "note": "  "}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a note is required");
        let (status, a) = step(
            pm.clone(),
            json!({"version": 1, "step": "rectify", "note": "关键物料提前备货"}),
        )
        .await;
        assert_eq!(
            (status, a["status"].as_str()),
            (StatusCode::OK, Some("rectifying"))
        );
        let (status, _) = step(
            pm.clone(),
            json!({"version": 1, "step": "reply", "note": "x"}),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "stale");
        let (_, a) = step(
            pm.clone(),
            json!({"version": 2, "step": "reply", "note": "已书面回复 C 类顾客"}),
        )
        .await;
        let (status, _) = step(
            marketing.clone(),
            json!({"version": 3, "step": "evaluate", "note": "x"}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "effective or not");
        let (_, a2) = step(marketing.clone(), json!({"version": a["version"], "step": "evaluate", "note": "不满意占比未下降", "effective": false})).await;
        assert_eq!(
            (a2["status"].as_str(), a2["rounds"].as_i64()),
            (Some("rectifying"), Some(2)),
            "back to rectification"
        );
        let (_, a3) = step(
            pm.clone(),
            json!({"version": a2["version"], "step": "reply", "note": "第二轮回复"}),
        )
        .await;
        let (_, a4) = step(marketing.clone(), json!({"version": a3["version"], "step": "evaluate", "note": "不满意占比下降至 8%", "effective": true})).await;
        assert_eq!(a4["status"], "evaluated");
        let (status, _) = step(
            marketing.clone(),
            json!({"version": a4["version"], "step": "evaluate", "note": "x", "effective": true}),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "done");

        // Pages: the analysis links a weakness to a prefilled form; errors show beside the fields.
        let (_, html, _) = common::send(
            &app,
            page(
                &marketing,
                "/survey-analysis?from=2025-01-01&to=2026-12-31&by=grade",
            ),
        )
        .await;
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains("ranking-table") && html.contains("trend-table"));
        let link = html
            .split("href=\"/survey-actions?")
            .nth(1)
            .expect("a weakness to act on")
            .split('"')
            .next()
            .unwrap()
            .replace("&#38;", "&");
        let (status, html, _) =
            common::send(&app, page(&marketing, &format!("/survey-actions?{link}"))).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(html).unwrap();
        assert!(
            html.contains("name=\"category_by\" value=\"grade\""),
            "prefilled from the weakness: {link} {}",
            &html[html.find("action-form").unwrap_or(0)..][..600.min(html.len())]
        );
        let (status, html, _) = common::send(
            &app,
            form(
                &marketing,
                "/survey-actions",
                "title=&aspect=price&finding=x&owner_id=&due_on=",
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains("err-title") && html.contains("err-due_on"));
        let (status, _, headers) = common::send(
            &app,
            form(
                &marketing,
                "/survey-actions",
                &format!(
                    "title=%E4%BB%B7%E6%A0%BC&aspect=price&finding=x&owner_id={}&due_on=2027-01-31",
                    pm_me["user_id"]
                ),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let at = headers[header::LOCATION].to_str().unwrap().to_string();
        let (_, html, _) = common::send(&app, page(&pm, "/my-work")).await;
        assert!(
            String::from_utf8(html).unwrap().contains("my-actions"),
            "the owner sees it"
        );
        let (status, html, _) = common::send(
            &app,
            form(&pm, &format!("{at}/step"), "version=1&step=rectify&note="),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(String::from_utf8(html).unwrap().contains("err-note"));
        let (status, _, _) = common::send(
            &app,
            form(&pm, &format!("{at}/step"), "version=1&step=rectify&note=ok"),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, html, _) = common::send(&app, page(&pm, &at)).await;
        let html = String::from_utf8(html).unwrap();
        assert!(html.contains("id=\"rectification\"") && html.contains("value=\"reply\""));
        assert_eq!(db.store.verify_audit().await.unwrap().result, Ok(()));
    }
);

both_backends!(
    the_semiannual_report_shows_categories_trends_and_actions,
    |db| {
        let app = app(db).await;
        let exec = login(&app, "exec", DEMO_PASSWORD).await;
        let (status, r) = call(
            &app,
            "GET",
            "/api/v1/survey-report?year=2026&half=1",
            &exec,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{r}");
        assert_eq!(
            (r["from"].as_str(), r["to"].as_str()),
            (Some("2026-01-01"), Some("2026-06-30"))
        );
        let overall = &r["overall"];
        assert!(!overall["aspects"].as_array().unwrap().is_empty());
        let trend = overall["trend"].as_array().unwrap();
        assert_eq!(trend.len(), 3, "the three half-years before");
        assert_eq!(
            (trend[2]["from"].as_str(), trend[2]["to"].as_str()),
            (Some("2025-07-01"), Some("2025-12-31"))
        );
        // The trend's periods are the same analyses as asked directly.
        let (_, h2) = call(
            &app,
            "GET",
            "/api/v1/survey-analysis?from=2025-07-01&to=2025-12-31",
            &exec,
            None,
        )
        .await;
        assert_eq!(trend[2]["aspects"], h2["aspects"]);
        let dims: Vec<&str> = r["by_category"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["by"].as_str().unwrap())
            .collect();
        assert_eq!(dims, vec!["grade", "tier", "industry"]);
        let grade = &r["by_category"][0];
        assert!(grade["rankings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["category"] == "A"));
        for k in grade["rankings"].as_array().unwrap() {
            let s = k["strengths"].as_array().unwrap();
            assert!(s
                .iter()
                .all(|a| !k["weaknesses"].as_array().unwrap().contains(a)));
        }
        // The delivery action of 2025, evaluated effective in this half-year, is accounted for.
        assert!(
            r["actions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["aspect"] == "delivery" && a["status"] == "evaluated"),
            "{}",
            r["actions"]
        );
        let (_, earlier) = call(
            &app,
            "GET",
            "/api/v1/survey-report?year=2024&half=2",
            &exec,
            None,
        )
        .await;
        assert!(
            earlier["actions"].as_array().unwrap().is_empty(),
            "none published before then"
        );
        // The roll-up the analysis reads equals a recount of every answer.
        for dim in ["", "grade", "tier", "industry", "province"] {
            let from = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
            let to = chrono::NaiveDate::from_ymd_opt(2027, 12, 31).unwrap();
            let recount = db.store.survey_recount(dim, from, to).await.unwrap();
            let (_, a) = call(
                &app,
                "GET",
                &format!(
                    "/api/v1/survey-analysis?from=2024-01-01&to=2027-12-31&by={dim}&periods=0"
                ),
                &exec,
                None,
            )
            .await;
            let key = |v: &Value| -> Vec<(String, String, Value, Value)> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|d| {
                        (
                            d["category"].to_string(),
                            d["aspect"].to_string(),
                            d["histogram"].clone(),
                            d["count"].clone(),
                        )
                    })
                    .collect()
            };
            assert_eq!(
                key(&serde_json::to_value(&recount).unwrap()),
                key(&a["aspects"]),
                "{dim}"
            );
        }
        let (status, _) = call(
            &app,
            "GET",
            "/api/v1/survey-report?year=2026&half=3",
            &exec,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, empty) = call(
            &app,
            "GET",
            "/api/v1/survey-report?year=2001&half=1",
            &exec,
            None,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "an empty half-year is an honest empty report"
        );
        assert!(empty["overall"]["aspects"].as_array().unwrap().is_empty());

        let (status, html, _) =
            common::send(&app, page(&exec, "/survey-report?year=2026&half=1")).await;
        assert_eq!(status, StatusCode::OK);
        let html = String::from_utf8(html).unwrap();
        for id in [
            "satisfaction-report",
            "report-campaigns",
            "report-grade",
            "report-rankings",
            "report-actions",
            "no-average-alone",
        ] {
            assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(html.contains("hist-bar score-5"), "charts");
        let (status, html, _) =
            common::send(&app, page(&exec, "/survey-report?year=2001&half=1")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8(html).unwrap().contains("analysis-empty"));

        let (status, bytes, headers) =
            common::send(&app, page(&exec, "/survey-report.xlsx?year=2026&half=1")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("spreadsheetml"));
        use calamine::Reader;
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let names = book.sheet_names().to_vec();
        assert_eq!(
            names,
            vec![
                "调查活动概况",
                "分顾客类别的满意与不满意程度及趋势",
                "趋势",
                "满意与不满意的方面",
                "满意度整改"
            ]
        );
        let dist = book.worksheet_range(&names[1]).unwrap();
        let first = overall["aspects"][0].clone();
        let row: Vec<String> = dist
            .rows()
            .nth(1)
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            row[3..8].to_vec(),
            first["histogram"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
        );
    }
);
