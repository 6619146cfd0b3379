//! Notifications (F31) on SQLite and PostgreSQL against real receivers on 127.0.0.1: an SMTP
//! sink that takes the e-mails, and an HTTP receiver that answers 200, 500 or hangs. A new
//! complaint reaches the inbox of the people it concerns (as they chose), an e-mail, and every
//! webhook that follows the event — signed as DingTalk and the generic format sign — and failed
//! calls are retried with backoff until given up, all in the delivery log.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::routing::post;
use base64::Engine;
use chrono::{Duration, Utc};
use reqloop_domain::notify;
use reqloop_store::both_backends;
use reqloop_store::demo::DEMO_PASSWORD;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

mod common;
use common::{app, call, login, send};

/// A minimal SMTP server: accepts every message and keeps its envelope recipient and data.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let keep = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let keep = keep.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.ok();
                let mut rcpt = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.to_ascii_uppercase();
                    let reply: &[u8] = if verb.starts_with("EHLO") || verb.starts_with("HELO") {
                        b"250 sink\r\n"
                    } else if verb.starts_with("RCPT TO:") {
                        rcpt = line[8..].trim().trim_matches(['<', '>']).to_string();
                        b"250 OK\r\n"
                    } else if verb == "DATA" {
                        write.write_all(b"354 go on\r\n").await.ok();
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        keep.lock().unwrap().push((rcpt.clone(), data));
                        b"250 queued\r\n"
                    } else if verb == "QUIT" {
                        write.write_all(b"221 bye\r\n").await.ok();
                        return;
                    } else {
                        b"250 OK\r\n"
                    };
                    write.write_all(reply).await.ok();
                }
            });
        }
    });
    (port, got)
}

/// A call the receiver got: path, query, signature header, body.
type Call = (String, String, String, String);

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Call>>>,
    /// The first call to /hang hangs past the sender's timeout; later ones fail at once.
    hung: Arc<AtomicBool>,
}

async fn http_receiver() -> (String, Receiver) {
    let r = Receiver::default();
    let record = |path: &'static str| {
        move |State(r): State<Receiver>, RawQuery(q): RawQuery, h: HeaderMap, body: String| async move {
            let sig = h
                .get("x-reqloop-signature")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            r.got
                .lock()
                .unwrap()
                .push((path.into(), q.unwrap_or_default(), sig, body));
            match path {
                "/fail" => (StatusCode::INTERNAL_SERVER_ERROR, "boom".to_string()),
                "/hang" => {
                    if !r.hung.swap(true, Ordering::SeqCst) {
                        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                    }
                    (StatusCode::SERVICE_UNAVAILABLE, "down".to_string())
                }
                _ => (StatusCode::OK, r#"{"errcode":0,"errmsg":"ok"}"#.to_string()),
            }
        }
    };
    let router = axum::Router::new()
        .route("/ok", post(record("/ok")))
        .route("/fail", post(record("/fail")))
        .route("/hang", post(record("/hang")))
        .with_state(r.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, router).await.ok();
    });
    (base, r)
}

/// The body of a captured e-mail, decoded.
fn mail_text(data: &str) -> String {
    let (head, body) = data.split_once("\n\n").unwrap_or((data, ""));
    if head
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: base64")
    {
        let joined: String = body.split_whitespace().collect();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(joined)
                .unwrap(),
        )
        .unwrap()
    } else {
        body.to_string()
    }
}

both_backends!(a_complaint_reaches_inbox_mail_and_webhooks, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let quality = login(&app, "quality", DEMO_PASSWORD).await;
    let marketing = login(&app, "marketing", DEMO_PASSWORD).await;
    let now = Utc::now();
    // The first pass starts every source after what is there: nobody hears of the past.
    let first = db.store.notify(now).await.unwrap();
    assert_eq!(first.notifications + first.deliveries, 0);

    let (smtp_port, mails) = smtp_sink().await;
    let (base, receiver) = http_receiver().await;

    // The mail server: administrators only; bad values are named.
    let settings = json!({"host": "127.0.0.1", "port": smtp_port, "security": "none",
        "from": "reqloop@example.cn", "base_url": "http://reqloop.test/"});
    let (s, _) = call(
        &app,
        "PUT",
        "/api/v1/notification-settings",
        &quality,
        Some(settings.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = call(&app, "PUT", "/api/v1/notification-settings", &admin,
        Some(json!({"host": "127.0.0.1", "port": 25, "security": "rot13", "from": "x", "base_url": "x"}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let fields: Vec<&str> = e["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"security") && fields.contains(&"base_url"),
        "{e}"
    );
    let (s, saved) = call(
        &app,
        "PUT",
        "/api/v1/notification-settings",
        &admin,
        Some(settings),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    assert_eq!(saved["base_url"], "http://reqloop.test");

    // Webhooks: signed generic, signed DingTalk, a WeCom robot that fails, one that hangs.
    let hook = |name: &str, format: &str, path: &str, secret: &str| {
        json!({"name": name, "format": format, "url": format!("{base}{path}"), "secret": secret,
            "events": ["complaint_registered"]})
    };
    let (s, e) = call(
        &app,
        "POST",
        "/api/v1/webhooks",
        &admin,
        Some(json!({"name": "x", "format": "generic", "url": "ftp://x", "events": []})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    for (name, format, path, secret) in [
        ("ERP", "generic", "/ok", "s3cret"),
        (
            "质量部钉钉群",
            "dingtalk",
            "/ok?access_token=abc",
            "SECding",
        ),
        ("企业微信群", "wecom", "/fail", ""),
        ("MES", "generic", "/hang", ""),
    ] {
        let (s, h) = call(
            &app,
            "POST",
            "/api/v1/webhooks",
            &admin,
            Some(hook(name, format, path, secret)),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{h}");
        assert_eq!(h["has_secret"], !secret.is_empty());
        assert!(h.get("secret").is_none());
    }

    // The quality engineer keeps the inbox but wants no e-mail of new complaints.
    let (s, prefs) = call(
        &app,
        "PUT",
        "/api/v1/notification-prefs",
        &quality,
        Some(json!([{"event": "complaint_registered", "in_app": true, "email": false}])),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{prefs}");
    assert_eq!(prefs.as_array().unwrap().len(), 7);

    let (s, k) = call(&app, "POST", "/api/v1/complaints", &marketing, Some(json!({
        "customer_id": 5, "channel": "phone", "title": "交期延误投诉", "content": "第二批货晚到十天"}))).await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    let k_id = k["id"].as_i64().unwrap();
    let pass = db.store.notify(now).await.unwrap();
    assert!(
        pass.notifications >= 2,
        "quality engineers and the account manager: {pass:?}"
    );
    // Another pass (another node) tells nobody twice.
    let again = db.store.notify(now).await.unwrap();
    assert_eq!(again.notifications + again.deliveries, 0);

    let (_, inbox) = call(
        &app,
        "GET",
        "/api/v1/notifications?unread=true",
        &quality,
        None,
    )
    .await;
    assert_eq!(inbox["total"], 1, "{inbox}");
    let n = &inbox["items"][0];
    assert_eq!(n["event"], "complaint_registered");
    assert_eq!(n["link"], format!("/complaints/{k_id}"));
    assert!(n["title_zh"]
        .as_str()
        .unwrap()
        .starts_with("新投诉已登记："));
    assert!(n["title_en"]
        .as_str()
        .unwrap()
        .starts_with("Complaint registered: "));

    // The bell shows it on every page; the inbox page lists it.
    let page = |path: &'static str| {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {quality}"))
            .body(Body::empty())
            .unwrap()
    };
    let (_, html, _) = send(&app, page("/customers")).await;
    assert!(String::from_utf8(html)
        .unwrap()
        .contains("<span class=\"count\" id=\"unread\">1</span>"));
    let (s, html, _) = send(&app, page("/notifications")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8(html).unwrap().contains("交期延误投诉"));

    // Sending: the e-mail and two webhooks go through; the 500 and the hang fail, within the
    // sender's timeout.
    let started = std::time::Instant::now();
    let sent = reqloop_jobs::deliver_due(&db.store, now).await.unwrap();
    assert!(started.elapsed() < reqloop_jobs::SEND_TIMEOUT + std::time::Duration::from_secs(5));
    assert_eq!(sent.failed, 2, "{sent:?}");
    assert!(sent.sent >= 3, "{sent:?}");
    {
        let mails = mails.lock().unwrap();
        assert!(!mails.is_empty());
        assert!(
            mails
                .iter()
                .all(|(to, _)| to != "quality@reqloop.example.cn"),
            "the quality engineer said no"
        );
        let text = mail_text(&mails[0].1);
        assert!(
            text.contains("新投诉已登记")
                && text.contains(&format!("http://reqloop.test/complaints/{k_id}")),
            "{text}"
        );
    }
    {
        let got = receiver.got.lock().unwrap();
        let generic = got
            .iter()
            .find(|g| g.0 == "/ok" && g.1.is_empty())
            .expect("the generic call");
        assert_eq!(
            generic.2,
            notify::generic_signature("s3cret", generic.3.as_bytes())
        );
        let body: Value = serde_json::from_str(&generic.3).unwrap();
        assert_eq!(body["event"], "complaint_registered");
        assert_eq!(body["record_id"], k_id);
        let ding = got
            .iter()
            .find(|g| g.1.starts_with("access_token=abc"))
            .expect("the DingTalk call");
        let q: std::collections::HashMap<String, String> =
            form_urlencoded::parse(ding.1.as_bytes())
                .into_owned()
                .collect();
        let ts: i64 = q["timestamp"].parse().unwrap();
        assert_eq!(
            notify::dingtalk_sign("SECding", ts),
            form_urlencoded::byte_serialize(q["sign"].as_bytes()).collect::<String>()
        );
        let ding_body: Value = serde_json::from_str(&ding.3).unwrap();
        assert_eq!(ding_body["msgtype"], "markdown");
    }
    let (_, log) = call(
        &app,
        "GET",
        "/api/v1/deliveries?status=pending",
        &admin,
        None,
    )
    .await;
    assert_eq!(log["total"], 2, "{log}");
    for d in log["items"].as_array().unwrap() {
        assert_eq!(d["attempts"], 1);
        assert!(!d["last_error"].as_str().unwrap().is_empty());
    }
    let (s, _) = call(&app, "GET", "/api/v1/deliveries", &quality, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Nothing is due again before the backoff; then retried until given up.
    assert_eq!(
        reqloop_jobs::deliver_due(&db.store, now)
            .await
            .unwrap()
            .failed,
        0
    );
    let mut at = now;
    for _ in 2..=notify::MAX_ATTEMPTS {
        at += Duration::hours(13);
        assert_eq!(
            reqloop_jobs::deliver_due(&db.store, at)
                .await
                .unwrap()
                .failed,
            2
        );
    }
    let (_, failed) = call(
        &app,
        "GET",
        "/api/v1/deliveries?status=failed",
        &admin,
        None,
    )
    .await;
    assert_eq!(failed["total"], 2, "{failed}");
    assert!(failed["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["attempts"] == notify::MAX_ATTEMPTS));
    assert_eq!(
        reqloop_jobs::deliver_due(&db.store, at + Duration::days(30))
            .await
            .unwrap(),
        reqloop_jobs::Sent::default()
    );

    // Read: one by one or all; then the bell is quiet.
    let (s, r) = call(
        &app,
        "POST",
        "/api/v1/notifications/read",
        &quality,
        Some(json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    let (s, r) = call(
        &app,
        "POST",
        "/api/v1/notifications/read",
        &quality,
        Some(json!({"all": true})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["updated"], 1);
    assert_eq!(r["unread"], 0);

    // A stale webhook edit is refused.
    let (_, hooks) = call(&app, "GET", "/api/v1/webhooks", &admin, None).await;
    let h = &hooks[0];
    let edit = json!({"name": "ERP", "format": "generic", "url": format!("{base}/ok"), "events": ["warning_raised"],
        "active": false, "version": h["version"].as_i64().unwrap() - 1});
    let (s, _) = call(
        &app,
        "PUT",
        &format!("/api/v1/webhooks/{}", h["id"]),
        &admin,
        Some(edit),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
});

const STAGES: [&str; 10] = [
    "identification",
    "review",
    "determination",
    "transmission",
    "reverification",
    "realization",
    "verification",
    "validation",
    "return_visit",
    "closed",
];

both_backends!(record_events_reach_the_webhooks_that_follow_them, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let now = Utc::now();
    db.store.notify(now).await.unwrap();
    let (base, receiver) = http_receiver().await;
    // Record events are not for people's choices.
    let (s, _) = call(
        &app,
        "PUT",
        "/api/v1/notification-prefs",
        &admin,
        Some(json!([{"event": "requirement_closed", "in_app": true, "email": false}])),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Before any webhook follows them, record events are not queued.
    let new = json!({"customer_id": 3, "title": "包装防潮", "channel": "visit", "category": "product",
        "nature": "functional", "kind": "stated", "urgency": "general"});
    let (s, _) = call(
        &app,
        "POST",
        "/api/v1/requirements",
        &admin,
        Some(new.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let pass = db.store.notify(now).await.unwrap();
    assert_eq!(pass.deliveries, 0);

    let (s, h) = call(
        &app,
        "POST",
        "/api/v1/webhooks",
        &admin,
        Some(json!({"name": "ERP", "format": "generic",
        "url": format!("{base}/ok"), "secret": "k",
        "events": ["requirement_created", "requirement_stage_changed", "requirement_closed"]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{h}");
    db.store.notify(now).await.unwrap();

    // A requirement collected and walked to closed: one created, nine moves, one closed.
    let (_, r) = call(&app, "POST", "/api/v1/requirements", &admin, Some(new)).await;
    let id = r["id"].as_i64().unwrap();
    let path = format!("/api/v1/requirements/{id}");
    let item = json!({"description": "真空包装", "category": "product", "acceptance_criterion": "含水率≤0.5%", "department_id": 7});
    assert_eq!(
        call(&app, "POST", &format!("{path}/items"), &admin, Some(item))
            .await
            .0,
        StatusCode::CREATED
    );
    for pair in STAGES.windows(2) {
        if pair[0] != "identification" {
            call(
                &app,
                "POST",
                &format!("{path}/outputs"),
                &admin,
                Some(json!({"note": "输出记录"})),
            )
            .await;
        }
        let (s, moved) = call(
            &app,
            "POST",
            &format!("{path}/transitions"),
            &admin,
            Some(json!({"to": pair[1]})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{moved}");
    }
    // The moves open hand-offs, whose receivers hear of them; the record events themselves go
    // to the webhook only.
    let pass = db.store.notify(now).await.unwrap();
    assert_eq!(pass.deliveries, 11, "{pass:?}");
    let (_, inbox) = call(
        &app,
        "GET",
        "/api/v1/notifications?per_page=200",
        &admin,
        None,
    )
    .await;
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| !n["event"].as_str().unwrap().starts_with("requirement_")),
        "{inbox}"
    );
    let sent = reqloop_jobs::deliver_due(&db.store, now).await.unwrap();
    assert_eq!(sent.sent, 11, "{sent:?}");

    let got = receiver.got.lock().unwrap();
    let bodies: Vec<Value> = got
        .iter()
        .map(|g| {
            assert_eq!(g.2, notify::generic_signature("k", g.3.as_bytes()));
            serde_json::from_str(&g.3).unwrap()
        })
        .collect();
    let of = |e: &str| {
        bodies
            .iter()
            .filter(|b| b["event"] == e)
            .collect::<Vec<_>>()
    };
    assert_eq!(of("requirement_created").len(), 1);
    assert_eq!(of("requirement_created")[0]["record_id"], id);
    assert_eq!(of("requirement_created")[0]["data"]["customer_id"], 3);
    // Sent side by side, they may arrive in any order: every move once.
    let mut moves: Vec<(String, String)> = of("requirement_stage_changed")
        .iter()
        .map(|b| {
            let d = &b["data"];
            (
                d["from_stage"].as_str().unwrap().to_string(),
                d["to_stage"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    moves.sort_by_key(|(from, _)| STAGES.iter().position(|s| s == from));
    let expected: Vec<(String, String)> = STAGES
        .windows(2)
        .map(|w| (w[0].to_string(), w[1].to_string()))
        .collect();
    assert_eq!(moves, expected);
    let closed = of("requirement_closed");
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0]["data"]["to_stage"], "closed");
    assert_eq!(closed[0]["record_type"], "requirement");
});
