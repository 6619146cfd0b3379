//! The HTTP surface against the real router and a real database, on SQLite and PostgreSQL.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use reqloop_domain::time::SystemClock;
use reqloop_store::testing::TestDb;
use reqloop_store::{both_backends, Who};
use serde_json::{json, Value};
use tower::ServiceExt;

async fn app(db: &TestDb) -> Router {
    reqloop_store::demo::load(&db.store, chrono::Utc::now())
        .await
        .expect("demo data");
    reqloop_web::router(reqloop_web::AppState {
        store: db.store.clone(),
        clock: Arc::new(SystemClock),
        secure_cookies: false,
    })
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn api(
    app: &Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    send(app, req).await
}

async fn login(app: &Router, user: &str, password: &str) -> String {
    let r = api(
        app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": user, "password": password})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json()["token"].as_str().unwrap().to_string()
}

const DEMO: &str = reqloop_store::demo::DEMO_PASSWORD;

both_backends!(login_gives_a_token_and_a_session_cookie, |db| {
    let app = app(db).await;
    let r = api(
        &app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "admin", "password": "admin123"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let cookie = r
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let token = r.json()["token"].as_str().unwrap().to_string();
    let me = api(&app, "GET", "/api/v1/auth/me", Some(&token), None).await;
    assert_eq!(me.json()["role"], "admin");
    // The cookie opens the same session.
    let session = cookie.split(';').next().unwrap().to_string();
    let req = Request::get("/api/v1/auth/me")
        .header(header::COOKIE, session)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, req).await.status, StatusCode::OK);
    // Wrong password and unknown user look the same.
    let wrong = api(
        &app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "admin", "password": "nope"})),
    )
    .await;
    let ghost = api(
        &app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "ghost", "password": "nope"})),
    )
    .await;
    assert_eq!(
        (wrong.status, ghost.status),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(wrong.json()["error"], ghost.json()["error"]);
    assert_eq!(
        api(&app, "GET", "/api/v1/customers", None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api(&app, "GET", "/api/v1/customers", Some("forged"), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let out = api(&app, "POST", "/api/v1/auth/logout", Some(&token), None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api(&app, "GET", "/api/v1/auth/me", Some(&token), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
});

both_backends!(repeated_failures_are_throttled, |db| {
    let app = app(db).await;
    for _ in 0..5 {
        api(
            &app,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "zhangwei", "password": "bad"})),
        )
        .await;
    }
    let r = api(
        &app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "zhangwei", "password": DEMO})),
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
});

both_backends!(customers_list_filters_and_pages, |db| {
    let app = app(db).await;
    let t = login(&app, "admin", "admin123").await;
    let all = api(&app, "GET", "/api/v1/customers?per_page=10", Some(&t), None)
        .await
        .json();
    assert!(all["total"].as_i64().unwrap() >= 40);
    assert_eq!(all["items"].as_array().unwrap().len(), 10);
    assert_eq!(all["items"][0]["grade"], "A", "A first");
    let a = api(
        &app,
        "GET",
        "/api/v1/customers?grade=A&per_page=100",
        Some(&t),
        None,
    )
    .await
    .json();
    assert_eq!(a["total"], 8);
    let sorted = api(
        &app,
        "GET",
        "/api/v1/customers?sort=-annual_revenue&per_page=3",
        Some(&t),
        None,
    )
    .await
    .json();
    let revenues: Vec<i64> = sorted["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["annual_revenue"].as_i64().unwrap())
        .collect();
    assert!(revenues.windows(2).all(|w| w[0] >= w[1]));
    for bad in ["grade=D", "sort=password", "per_page=abc", "colour=red"] {
        let r = api(
            &app,
            "GET",
            &format!("/api/v1/customers?{bad}"),
            Some(&t),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text);
        assert!(r.json()["error"]["code"].is_string());
    }
});

both_backends!(
    bad_input_is_a_400_naming_the_field_and_writes_nothing,
    |db| {
        let app = app(db).await;
        let t = login(&app, "admin", "admin123").await;
        let before = api(&app, "GET", "/api/v1/customers", Some(&t), None)
            .await
            .json()["total"]
            .clone();
        let cases = [
            (json!({"name": "x", "phone": "abc"}), "phone"),
            (json!({"name": "x", "grade": "Z"}), "grade"),
            (
                json!({"name": "x", "annual_revenue": "lots"}),
                "annual_revenue",
            ),
            (json!({"name": "x", "colour": "red"}), ""),
            (json!({"short_name": "x"}), ""),
            (json!({"name": "好".repeat(101)}), "name"),
            (json!({"name": "x", "province": "火星"}), "province"),
        ];
        for (body, field) in cases {
            let r = api(
                &app,
                "POST",
                "/api/v1/customers",
                Some(&t),
                Some(body.clone()),
            )
            .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
            let text = r.json()["error"].to_string();
            assert!(text.contains(field), "{body} → {text}");
        }
        let req = Request::post("/api/v1/customers")
            .header(header::AUTHORIZATION, format!("Bearer {t}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{\"name\": "))
            .unwrap();
        assert_eq!(send(&app, req).await.status, StatusCode::BAD_REQUEST);
        let huge = json!({"name": "x", "remarks": "x".repeat(2 * 1024 * 1024)});
        assert_eq!(
            api(&app, "POST", "/api/v1/customers", Some(&t), Some(huge))
                .await
                .status,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        let after = api(&app, "GET", "/api/v1/customers", Some(&t), None)
            .await
            .json()["total"]
            .clone();
        assert_eq!(before, after);
    }
);

both_backends!(create_update_with_versions_and_archive, |db| {
    let app = app(db).await;
    let t = login(&app, "marketing", DEMO).await;
    let created = api(&app, "POST", "/api/v1/customers", Some(&t), Some(json!({
        "name": "苏州新测检验技术有限公司", "province": "江苏省", "city": "苏州市", "grade": "B", "tier": "key",
        "phone": "0512-66881234", "tags": ["新客户"], "risk_flags": ["tight_deadline"],
        "confidential": {"credit_rating": "good", "financial_status": "稳定"}
    }))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let c = created.json();
    let id = c["id"].as_i64().unwrap();
    assert!(c["code"].as_str().unwrap().starts_with("B-JS-"));
    let path = format!("/api/v1/customers/{id}");
    let ok = api(
        &app,
        "PATCH",
        &path,
        Some(&t),
        Some(json!({"version": 1, "short_name": "新测"})),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json()["version"], 2);
    let stale = api(
        &app,
        "PUT",
        &path,
        Some(&t),
        Some(json!({"version": 1, "short_name": "旧"})),
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.json()["error"]["code"], "stale_version");
    let history = api(&app, "GET", &format!("{path}/history"), Some(&t), None)
        .await
        .json();
    assert_eq!(history[0]["changes"][0]["field"], "short_name");
    let contact = api(
        &app,
        "POST",
        &format!("{path}/contacts"),
        Some(&t),
        Some(json!({"name": "王丽", "email": "wang@xince.cn"})),
    )
    .await;
    assert_eq!(contact.status, StatusCode::CREATED);
    let bad_contact = api(
        &app,
        "POST",
        &format!("{path}/contacts"),
        Some(&t),
        Some(json!({"name": "王丽", "email": "wang@"})),
    )
    .await;
    assert_eq!(bad_contact.status, StatusCode::BAD_REQUEST);
    let archived = api(
        &app,
        "POST",
        &format!("{path}/archive"),
        Some(&t),
        Some(json!({"version": 2})),
    )
    .await;
    assert_eq!(archived.json()["archived"], true);
    let after = api(
        &app,
        "PATCH",
        &path,
        Some(&t),
        Some(json!({"version": 3, "short_name": "x"})),
    )
    .await;
    assert_eq!(after.status, StatusCode::UNPROCESSABLE_ENTITY);
});

both_backends!(own_scope_and_confidential_fields_over_http, |db| {
    let app = app(db).await;
    let zhang = login(&app, "zhangwei", DEMO).await;
    let me = api(&app, "GET", "/api/v1/auth/me", Some(&zhang), None)
        .await
        .json()["user_id"]
        .as_i64()
        .unwrap();
    let mine = api(
        &app,
        "GET",
        "/api/v1/customers?per_page=200",
        Some(&zhang),
        None,
    )
    .await
    .json();
    let items = mine["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for c in items {
        let on_team = c["team"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u.as_i64() == Some(me));
        assert!(c["account_manager_id"].as_i64() == Some(me) || on_team);
        assert!(
            c.get("confidential").is_none(),
            "account managers never see credit and financial status"
        );
    }
    let admin = login(&app, "admin", "admin123").await;
    let everyone = api(
        &app,
        "GET",
        "/api/v1/customers?per_page=200",
        Some(&admin),
        None,
    )
    .await
    .json();
    assert!(everyone["items"][0].get("confidential").is_some());
    let other = everyone["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["account_manager_id"].as_i64() != Some(me)
                && !c["team"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|u| u.as_i64() == Some(me))
        })
        .unwrap();
    let path = format!("/api/v1/customers/{}", other["id"]);
    assert_eq!(
        api(&app, "GET", &path, Some(&zhang), None).await.status,
        StatusCode::NOT_FOUND
    );
    let patch = json!({"version": other["version"], "remarks": "抢客户"});
    assert_eq!(
        api(&app, "PATCH", &path, Some(&zhang), Some(patch))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let conf = json!({"name": "x", "confidential": {"credit_rating": "good"}});
    assert_eq!(
        api(&app, "POST", "/api/v1/customers", Some(&zhang), Some(conf))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Viewers cannot write; only admins read the audit trail.
    let reviewer = login(&app, "reviewer", DEMO).await;
    assert_eq!(
        api(
            &app,
            "POST",
            "/api/v1/customers",
            Some(&reviewer),
            Some(json!({"name": "x"}))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api(&app, "GET", "/api/v1/audit", Some(&zhang), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let audit = api(&app, "GET", "/api/v1/audit?per_page=5", Some(&admin), None)
        .await
        .json();
    assert!(audit["total"].as_i64().unwrap() > 100);
});

both_backends!(admins_configure_the_customer_coding_rule, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let path = "/api/v1/settings/customer-code-rule";
    assert_eq!(
        api(&app, "GET", path, Some(&admin), None).await.json()["rule"],
        "{grade}-{province}-{seq:4}"
    );
    let bad = api(
        &app,
        "PUT",
        path,
        Some(&admin),
        Some(json!({"rule": "{grade}"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let ok = api(
        &app,
        "PUT",
        path,
        Some(&admin),
        Some(json!({"rule": "KH-{grade}{seq:5}"})),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    let c = api(
        &app,
        "POST",
        "/api/v1/customers",
        Some(&admin),
        Some(json!({"name": "新规则客户"})),
    )
    .await
    .json();
    assert_eq!(c["code"], "KH-C00001");
    let marketing = login(&app, "marketing", DEMO).await;
    assert_eq!(
        api(
            &app,
            "PUT",
            path,
            Some(&marketing),
            Some(json!({"rule": "{seq:3}"}))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
});

both_backends!(forms_need_the_csrf_token, |db| {
    let app = app(db).await;
    let r = api(
        &app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "admin", "password": "admin123"})),
    )
    .await;
    let cookie = r
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = send(
        &app,
        Request::get("/customers/new")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page
        .text
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let form = |body: String| {
        Request::post("/customers")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let name = "%3Cscript%3Ealert(1)%3C%2Fscript%3E%E5%85%AC%E5%8F%B8";
    let forged = send(
        &app,
        form(format!(
            "name={name}&grade=C&tier=general&business_status=operating"
        )),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let ok = send(
        &app,
        form(format!(
            "_csrf={csrf}&name={name}&grade=C&tier=general&business_status=operating"
        )),
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text);
    let location = ok
        .headers
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let detail = send(
        &app,
        Request::get(&location)
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let escaped = detail
        .text
        .contains("&lt;script&gt;alert(1)&lt;/script&gt;公司")
        || detail
            .text
            .contains("&#60;script&#62;alert(1)&#60;/script&#62;公司");
    assert!(escaped, "the name comes back escaped");
    assert!(!detail.text.contains("<script>alert(1)"));
    // A bad field comes back as a message next to it, nothing written.
    let bad = send(
        &app,
        form(format!(
            "_csrf={csrf}&name=&phone=abc&grade=C&tier=general&business_status=operating"
        )),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text.contains("id=\"err-name\"") && bad.text.contains("id=\"err-phone\""));
});

both_backends!(pages_need_a_login_and_speak_chinese_first, |db| {
    let app = app(db).await;
    let r = send(
        &app,
        Request::get("/customers").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r
        .headers
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("/login"));
    let login_page = send(&app, Request::get("/login").body(Body::empty()).unwrap()).await;
    assert!(login_page.text.contains("客户需求闭环管理系统"));
    let csp = login_page
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    let t = login(&app, "admin", "admin123").await;
    let list = send(
        &app,
        Request::get("/customers?grade=A")
            .header(header::AUTHORIZATION, format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(list.text.contains("客户档案") && list.text.contains("A-"));
    let en = send(
        &app,
        Request::get("/customers")
            .header(header::AUTHORIZATION, format!("Bearer {t}"))
            .header(header::COOKIE, "rl_lang=en")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(en.text.contains("Customers") && en.text.contains("Account manager"));
    assert!(
        list.text.contains("/lang/en?next=%2Fcustomers%3Fgrade%3DA"),
        "switching language comes back to the same page"
    );
    for (path, expect) in [
        ("/requirements?stage=review", "需求评审"),
        ("/projects", "GT-2026-01"),
        ("/requirements/1", "客户需求识别表"),
    ] {
        let page = send(
            &app,
            Request::get(path)
                .header(header::AUTHORIZATION, format!("Bearer {t}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.text.contains(expect), "{path} shows {expect}");
    }
    // Every area of the navigation is built: none is marked "coming".
    let complaints = send(
        &app,
        Request::get("/complaints")
            .header(header::AUTHORIZATION, format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(!complaints.text.contains("建设中"));
});

both_backends!(openapi_describes_the_api, |db| {
    let app = app(db).await;
    let doc = api(&app, "GET", "/api/v1/openapi.json", None, None)
        .await
        .json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/customers",
        "/api/v1/customers/{id}",
        "/api/v1/auth/login",
        "/api/v1/audit",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    assert!(doc["components"]["schemas"].get("Customer").is_some());
    assert_eq!(
        api(&app, "GET", "/healthz", None, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        api(&app, "GET", "/livez", None, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        api(&app, "GET", "/api/v1/nothing", None, None).await.json()["error"]["code"],
        "not_found"
    );
    let _ = Who::system();
});
