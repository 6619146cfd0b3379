//! The UI in a real headless Chromium (driven through chromedriver): log in, open the customer
//! list, filter it, open a customer, and create one through the form with a validation error
//! first. Needs `chromium` and `chromium-driver` (installed by `.ci/run`).

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use reqloop_domain::requirement::Stage;
use reqloop_domain::time::SystemClock;
use reqloop_store::testing::TestDb;
use reqloop_store::Backend;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start_driver() -> (Driver, Client) {
    let binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let port = free_port();
    let child = Command::new(&binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("the browser test needs chromedriver ({binary}); install chromium-driver: {e}")
        });
    let driver = Driver(child);
    let mut caps = serde_json::Map::new();
    let chrome = std::env::var("CHROME").unwrap_or_else(|_| "/usr/bin/chromium".into());
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chrome,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--window-size=1280,900", "--lang=zh-CN"]
        }),
    );
    for _ in 0..100 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return (driver, c),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("chromedriver did not start on port {port}");
}

async fn start_server(db: &TestDb) -> String {
    reqloop_store::demo::load(&db.store, chrono::Utc::now())
        .await
        .expect("demo data");
    let app = reqloop_web::router(reqloop_web::AppState {
        store: db.store.clone(),
        clock: Arc::new(SystemClock),
        secure_cookies: false,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .ok();
    });
    format!("http://{addr}")
}

/// Clicks and waits until the browser has left the current page and loaded the next.
async fn click_and_wait(c: &Client, button: Locator<'_>) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(button).await.unwrap().click().await.unwrap();
    for _ in 0..100 {
        if old.tag_name().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.wait()
        .for_element(Locator::Css("main.content"))
        .await
        .unwrap();
}

async fn screenshot(c: &Client, name: &str) {
    if let Ok(dir) = std::env::var("REQLOOP_SCREENSHOTS") {
        if let Ok(png) = c.screenshot().await {
            let _ = std::fs::write(format!("{dir}/{name}.png"), png);
        }
    }
}

/// The demo's administrator, for setting up data through the store.
fn demo_admin() -> reqloop_domain::access::Actor {
    reqloop_domain::access::Actor {
        user_id: reqloop_domain::ids::UserId(1),
        username: "admin".into(),
        role: reqloop_domain::user::Role::Admin,
        department_id: None,
        customer_id: None,
        scope: reqloop_domain::user::DataScope::All,
    }
}

/// Signs in through the login page.
async fn log_in(c: &Client, base: &str, user: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    click_and_wait(c, Locator::Id("login-submit")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_filter_customers_open_one_and_create_one() {
    let db = TestDb::new(Backend::Sqlite).await;
    let base = start_server(&db).await;
    let (_driver, c) = start_driver().await;

    c.goto(&format!("{base}/customers")).await.unwrap();
    assert!(
        c.current_url().await.unwrap().path().starts_with("/login"),
        "unauthenticated users land on the login page"
    );
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys("admin")
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys("admin123")
        .await
        .unwrap();
    c.find(Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Id("customer-table"))
        .await
        .unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/customers");
    let rows = c
        .find_all(Locator::Css("#customer-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 20, "the first page of the demo customers");
    let body = c
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("客户档案") && body.contains("共 4"),
        "Chinese by default, with the total"
    );
    screenshot(&c, "customers").await;

    // Filter to grade A.
    c.find(Locator::Css("#f-grade option[value='A']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Id("filter-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for _ in 0..50 {
        if c.current_url()
            .await
            .unwrap()
            .query()
            .is_some_and(|q| q.contains("grade=A"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let grades = c
        .find_all(Locator::Css("#customer-table tbody td:nth-child(3)"))
        .await
        .unwrap();
    assert_eq!(grades.len(), 8, "ranks 1–8 are grade A");
    for g in grades {
        assert_eq!(g.text().await.unwrap(), "A");
    }

    // Open the first customer.
    let link = c.find(Locator::Css(".customer-link")).await.unwrap();
    let name = link.text().await.unwrap();
    link.click().await.unwrap();
    c.wait().for_element(Locator::Id("history")).await.unwrap();
    let h1 = c
        .find(Locator::Css(".topbar h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(h1, name);
    let contacts = c
        .find_all(Locator::Css("#contacts tbody tr"))
        .await
        .unwrap();
    assert_eq!(contacts.len(), 2);
    assert!(
        c.find(Locator::Id("confidential")).await.is_ok(),
        "the admin sees confidential fields"
    );
    screenshot(&c, "customer").await;

    // Create one: an empty name is refused next to the field, then it saves.
    c.goto(&format!("{base}/customers/new")).await.unwrap();
    c.find(Locator::Id("cf-phone"))
        .await
        .unwrap()
        .send_keys("not-a-phone")
        .await
        .unwrap();
    c.find(Locator::Id("save-customer"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let err = c
        .wait()
        .for_element(Locator::Id("err-name"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(err, "必填");
    assert!(c.find(Locator::Id("err-phone")).await.is_ok());
    screenshot(&c, "form-errors").await;
    c.find(Locator::Id("cf-name"))
        .await
        .unwrap()
        .send_keys("宁波新港检测有限公司")
        .await
        .unwrap();
    c.find(Locator::Id("cf-phone"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    c.find(Locator::Id("cf-phone"))
        .await
        .unwrap()
        .send_keys("0574-87651234")
        .await
        .unwrap();
    c.find(Locator::Css("#cf-province option[value='浙江省']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Id("save-customer"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("history")).await.unwrap();
    let title = c
        .find(Locator::Css(".card-head h2"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        title.contains("C-ZJ-") && title.contains("宁波新港检测有限公司"),
        "{title}"
    );

    // Collect a requirement and walk it through all nine stages to closed.
    c.goto(&format!("{base}/requirements/new")).await.unwrap();
    c.find(Locator::Css("#rf-customer_id option:nth-child(2)"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Id("rf-title"))
        .await
        .unwrap()
        .send_keys("首批交期缩短到30天")
        .await
        .unwrap();
    click_and_wait(&c, Locator::Id("save-requirement")).await;
    c.find(Locator::Id("item-description"))
        .await
        .unwrap()
        .send_keys("首批30天交付")
        .await
        .unwrap();
    c.find(Locator::Id("item-acceptance"))
        .await
        .unwrap()
        .send_keys("合同交期≤30天")
        .await
        .unwrap();
    click_and_wait(&c, Locator::Id("add-item")).await;
    // Identification opened its hand-off: the marketing station's identification sheet.
    let handoffs = c
        .find(Locator::Id("handoffs"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        handoffs.contains("客户需求识别表") && handoffs.contains("营销部"),
        "{handoffs}"
    );
    let requirement_path = c.current_url().await.unwrap().path().to_string();
    let handoff_row = c
        .find(Locator::Css("#handoffs tbody tr"))
        .await
        .unwrap()
        .attr("id")
        .await
        .unwrap()
        .unwrap();
    let handoff_id = handoff_row.trim_start_matches("handoff-").to_string();
    for step in 0..9 {
        if let Ok(note) = c.find(Locator::Id("output-note")).await {
            note.send_keys(&format!("第{step}阶段输出记录"))
                .await
                .unwrap();
            click_and_wait(&c, Locator::Id("file-output")).await;
        }
        click_and_wait(&c, Locator::Id("advance")).await;
    }
    let badge = c
        .find(Locator::Id("stage-badge"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(badge, "已关闭");
    assert!(
        c.find(Locator::Id("gate")).await.is_err(),
        "a closed requirement has no gate"
    );
    let moves = c
        .find_all(Locator::Css("#moves .timeline > li"))
        .await
        .unwrap();
    assert_eq!(moves.len(), 9);
    screenshot(&c, "requirement-closed").await;

    // A review round through the UI: a requirement waiting in review, started, answered cell by
    // cell (the administrator may answer every aspect) and approved.
    let admin = demo_admin();
    let plain = db
        .store
        .list_customers(&admin, &Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|c| c.fields.risk_flags.is_empty())
        .unwrap();
    let now = chrono::Utc::now();
    let fields: reqloop_domain::requirement::RequirementFields = serde_json::from_value(
        serde_json::json!({"customer_id": plain.id, "title": "绝缘等级H级", "channel": "visit",
            "category": "product", "nature": "functional", "kind": "stated", "urgency": "general"}),
    )
    .unwrap();
    let r = db
        .store
        .create_requirement(&admin, fields, now)
        .await
        .unwrap();
    let item: reqloop_domain::requirement::ItemFields = serde_json::from_value(
        serde_json::json!({"description": "绝缘等级H级", "category": "product",
            "acceptance_criterion": "绝缘试验报告", "department_id": 2}),
    )
    .unwrap();
    db.store.add_item(&admin, r.id, item, now).await.unwrap();
    db.store
        .transition_requirement(&admin, r.id, Stage::Review, "", None, now)
        .await
        .unwrap();
    c.goto(&format!("{base}/requirements/{}", r.id))
        .await
        .unwrap();
    click_and_wait(&c, Locator::Id("start-review")).await;
    assert!(c
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with("/reviews/"));
    for _ in 0..7 {
        click_and_wait(&c, Locator::Css(".answer-form button")).await;
    }
    assert!(
        c.find(Locator::Css(".answer-form")).await.is_err(),
        "every cell answered"
    );
    let conclusion = c
        .find(Locator::Id("review-conclusion"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(conclusion, "能满足");
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(Locator::Id("approve"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.accept_alert().await.unwrap();
    for _ in 0..100 {
        if old.tag_name().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.wait()
        .for_element(Locator::Id("review-status"))
        .await
        .unwrap();
    let status = c
        .find(Locator::Id("review-status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(status, "已审批");
    screenshot(&c, "review-approved").await;

    // The receiver of the first requirement's identification hand-off acknowledges it and
    // attaches the output record.
    c.delete_all_cookies().await.unwrap();
    log_in(&c, &base, "marketing", reqloop_store::demo::DEMO_PASSWORD).await;
    c.goto(&format!("{base}{requirement_path}")).await.unwrap();
    click_and_wait(&c, Locator::Id(&format!("ack-{handoff_id}"))).await;
    c.find(Locator::Id(&format!("output-note-{handoff_id}")))
        .await
        .unwrap()
        .send_keys("客户需求识别表已编制，共1条")
        .await
        .unwrap();
    click_and_wait(&c, Locator::Id(&format!("complete-{handoff_id}"))).await;
    let row = c
        .find(Locator::Id(&format!("handoff-{handoff_id}")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(row.contains("已完成") && row.contains("共1条"), "{row}");
    c.goto(&format!("{base}/my-work")).await.unwrap();
    c.wait()
        .for_element(Locator::Id("work-plan"))
        .await
        .unwrap();
    screenshot(&c, "my-work").await;

    c.close().await.unwrap();
    db.finish().await;
}

/// Clicks a button whose form asks for confirmation, accepts it and waits for the next page.
async fn click_confirm_and_wait(c: &Client, button: Locator<'_>) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(button).await.unwrap().click().await.unwrap();
    c.accept_alert().await.unwrap();
    for _ in 0..100 {
        if old.tag_name().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.wait()
        .for_element(Locator::Css("main.content"))
        .await
        .unwrap();
}

async fn text_of(c: &Client, id: &str) -> String {
    c.find(Locator::Id(id)).await.unwrap().text().await.unwrap()
}

async fn type_into(c: &Client, id: &str, text: &str) {
    let e = c.find(Locator::Id(id)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

/// Change control (F14) through the UI: raise a change on a requirement (with a validation
/// error first), re-determine it, re-review it, approve it, and read the requirement's diff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raise_rereview_and_approve_a_change_then_read_the_diff() {
    let db = TestDb::new(Backend::Sqlite).await;
    let base = start_server(&db).await;
    let (_driver, c) = start_driver().await;
    let admin = demo_admin();
    let plain = db
        .store
        .list_customers(&admin, &Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|c| c.fields.risk_flags.is_empty())
        .unwrap();
    let now = chrono::Utc::now();
    let fields: reqloop_domain::requirement::RequirementFields = serde_json::from_value(
        serde_json::json!({"customer_id": plain.id, "title": "外壳防护等级", "channel": "visit",
            "category": "product", "nature": "functional", "kind": "stated", "urgency": "general"}),
    )
    .unwrap();
    let r = db
        .store
        .create_requirement(&admin, fields, now)
        .await
        .unwrap();
    let item: reqloop_domain::requirement::ItemFields = serde_json::from_value(
        serde_json::json!({"description": "防护等级 IP54", "category": "product",
            "acceptance_criterion": "IP54 试验报告", "department_id": 2}),
    )
    .unwrap();
    let item = db.store.add_item(&admin, r.id, item, now).await.unwrap();
    db.store
        .transition_requirement(&admin, r.id, Stage::Review, "", None, now)
        .await
        .unwrap();

    log_in(&c, &base, "admin", "admin123").await;
    c.goto(&format!("{base}/requirements/{}", r.id))
        .await
        .unwrap();
    click_and_wait(&c, Locator::Id("request-change")).await;
    // Nothing ticked: the form says what is missing and keeps what was typed.
    type_into(&c, "cf-title", "防护等级提高到 IP65").await;
    click_and_wait(&c, Locator::Id("submit-change")).await;
    assert!(!text_of(&c, "err-reason").await.is_empty());
    assert!(!text_of(&c, "err-impacts").await.is_empty());
    let kept = c
        .find(Locator::Id("cf-title"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("防护等级提高到 IP65"));
    type_into(&c, "cf-reason", "客户户外安装，要求防尘防水等级提高").await;
    c.find(Locator::Id("cf-factor-material"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    type_into(&c, "cf-impact-material", "密封件改用硅橡胶").await;
    c.find(Locator::Id(&format!("cf-item-{}", item.id)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    type_into(&c, &format!("cf-desc-{}", item.id), "防护等级 IP65").await;
    type_into(&c, &format!("cf-crit-{}", item.id), "IP65 试验报告").await;
    click_and_wait(&c, Locator::Id("submit-change")).await;
    let path = c.current_url().await.unwrap().path().to_string();
    assert!(path.starts_with("/changes/"), "{path}");
    assert_eq!(text_of(&c, "change-state").await, "已申请");
    screenshot(&c, "change-requested").await;

    // Re-determination, then the re-review: every aspect answers the changed item.
    type_into(
        &c,
        "redetermine-note",
        "11月20日与客户项目经理电话确认 IP65",
    )
    .await;
    click_and_wait(&c, Locator::Id("redetermine")).await;
    assert_eq!(text_of(&c, "change-state").await, "已再确认");
    click_and_wait(&c, Locator::Id("start-change-review")).await;
    assert!(c
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with("/reviews/"));
    assert!(c.find(Locator::Id("change-round")).await.is_ok());
    let page = c.source().await.unwrap();
    assert!(
        page.contains("防护等级 IP65"),
        "the round reviews the item as changed"
    );
    for _ in 0..7 {
        click_and_wait(&c, Locator::Css(".answer-form button")).await;
    }
    click_confirm_and_wait(&c, Locator::Id("approve")).await;
    click_and_wait(&c, Locator::Id("change-round")).await;
    assert_eq!(text_of(&c, "change-state").await, "已再评审");

    // Approval: the requirement takes revision 2; the diff shows before and after.
    type_into(&c, "approve-note", "同意").await;
    click_confirm_and_wait(&c, Locator::Id("approve-change")).await;
    assert_eq!(text_of(&c, "change-state").await, "已批准");
    click_and_wait(&c, Locator::Id("revision-link")).await;
    let diff = c
        .find(Locator::Id("diff-table"))
        .await
        .unwrap()
        .html(false)
        .await
        .unwrap();
    assert!(diff.contains("<del>防护等级 IP54</del>"), "{diff}");
    assert!(diff.contains("<ins>防护等级 IP65</ins>"), "{diff}");
    screenshot(&c, "requirement-diff").await;
    // The old revision stays readable.
    click_and_wait(&c, Locator::Id("revision-1")).await;
    let items = text_of(&c, "revision-items").await;
    assert!(items.contains("防护等级 IP54"), "{items}");
    c.close().await.unwrap();
    db.finish().await;
}

/// The portal and the staff pages together (F17, F18): a customer files a complaint with a
/// photo through the portal; staff confirm it, judge it valid, assign the investigator and the
/// verifier, record the correction, verify it and send the written reply; it is closed, and
/// the customer reads the reply in the portal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_complaint_with_a_photo_is_followed_to_closed() {
    let db = TestDb::new(Backend::Sqlite).await;
    let base = start_server(&db).await;
    let (_driver, c) = start_driver().await;
    let photo = std::env::temp_dir().join(format!("reqloop-photo-{}.png", std::process::id()));
    std::fs::write(
        &photo,
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89",
    )
    .unwrap();

    // The portal has its own sign-in page and lands on the portal.
    c.goto(&format!("{base}/portal")).await.unwrap();
    assert!(c
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with("/portal/login"));
    type_into(&c, "username", "portal").await;
    type_into(&c, "password", reqloop_store::demo::DEMO_PASSWORD).await;
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for _ in 0..100 {
        if old.tag_name().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.wait()
        .for_element(Locator::Id("portal-form"))
        .await
        .unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/portal");
    type_into(&c, "pf-title", "到货包装受潮").await;
    type_into(&c, "pf-content", "第 2 批到货外包装受潮，照片见附件").await;
    c.find(Locator::Id("pf-file"))
        .await
        .unwrap()
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(Locator::Id("pf-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for _ in 0..100 {
        if old.tag_name().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.wait()
        .for_element(Locator::Id("portal-state"))
        .await
        .unwrap();
    let path = c.current_url().await.unwrap().path().to_string();
    let id: i64 = path
        .trim_start_matches("/portal/complaints/")
        .parse()
        .unwrap();
    assert_eq!(text_of(&c, "portal-state").await, "已登记");
    assert!(text_of(&c, "portal-files").await.contains(".png"));
    screenshot(&c, "portal-complaint").await;
    let _ = std::fs::remove_file(&photo);

    // Staff follow it to closed.
    c.delete_all_cookies().await.unwrap();
    log_in(&c, &base, "admin", "admin123").await;
    c.goto(&format!("{base}/complaints/{id}")).await.unwrap();
    assert!(text_of(&c, "files").await.contains(".png"));
    type_into(&c, "confirm-note", "已电话确认受潮 2 箱，程度轻微").await;
    click_and_wait(&c, Locator::Id("confirm-complaint")).await;
    assert_eq!(text_of(&c, "complaint-state").await, "已确认");
    click_and_wait(&c, Locator::Id("decide-valid")).await;
    assert_eq!(text_of(&c, "complaint-state").await, "纠正中");
    for (role, person) in [("investigator", "李建明"), ("verifier", "赵敏")] {
        c.find(Locator::Id("assign-role"))
            .await
            .unwrap()
            .select_by_value(role)
            .await
            .unwrap();
        c.find(Locator::Id("assign-user"))
            .await
            .unwrap()
            .select_by_label(person)
            .await
            .unwrap();
        click_and_wait(&c, Locator::Id("assign")).await;
    }
    assert_eq!(text_of(&c, "investigator").await, "李建明");
    assert_eq!(text_of(&c, "verifier").await, "赵敏");
    type_into(&c, "correction-note", "已更换外包装并增加防潮袋，附照片").await;
    click_and_wait(&c, Locator::Id("submit-correction")).await;
    assert_eq!(text_of(&c, "complaint-state").await, "待验证");
    type_into(&c, "verify-note", "抽查 10 箱防潮措施到位").await;
    click_and_wait(&c, Locator::Id("verify-complaint")).await;
    assert_eq!(text_of(&c, "complaint-state").await, "待回复");
    type_into(
        &c,
        "reply-letter",
        "尊敬的客户：关于到货包装受潮一事，我司已完成整改。",
    )
    .await;
    type_into(&c, "reply-evidence", "1. 整改照片；2. 抽查记录").await;
    click_and_wait(&c, Locator::Id("send-reply")).await;
    assert_eq!(text_of(&c, "complaint-state").await, "已关闭");
    click_and_wait(&c, Locator::Id("print-letter")).await;
    assert!(text_of(&c, "reply-letter-text")
        .await
        .contains("已完成整改"));
    screenshot(&c, "complaint-letter").await;

    // The customer reads the reply in the portal.
    c.delete_all_cookies().await.unwrap();
    c.goto(&format!("{base}/portal/login")).await.unwrap();
    type_into(&c, "username", "portal").await;
    type_into(&c, "password", reqloop_store::demo::DEMO_PASSWORD).await;
    click_and_wait_portal(&c, Locator::Id("login-submit")).await;
    c.goto(&format!("{base}/portal/complaints/{id}"))
        .await
        .unwrap();
    assert_eq!(text_of(&c, "portal-state").await, "已关闭");
    assert!(text_of(&c, "portal-reply").await.contains("已完成整改"));
    c.close().await.unwrap();
    db.finish().await;
}

/// Clicks and waits for the next page of the portal (which has no staff layout).
async fn click_and_wait_portal(c: &Client, button: Locator<'_>) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    c.find(button).await.unwrap().click().await.unwrap();
    for _ in 0..100 {
        if old.tag_name().await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.wait().for_element(Locator::Css("main")).await.unwrap();
}

/// A customer answers a survey through its public link (no sign-in, a phone-sized form) and the
/// answer shows in the analysis (F20, F21).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_survey_answered_through_its_public_link_shows_in_the_analysis() {
    let db = TestDb::new(Backend::Sqlite).await;
    let base = start_server(&db).await;
    let (_driver, c) = start_driver().await;
    let admin = demo_admin();
    let now = chrono::Utc::now();
    let today = reqloop_domain::time::shanghai_date(now).to_string();
    let g = db
        .store
        .create_campaign(
            &admin,
            reqloop_domain::survey::CampaignFields {
                kind: reqloop_domain::survey::CampaignKind::OnSite,
                title: "登门调查".into(),
                period_start: today.clone(),
                period_end: today.clone(),
                account_manager_id: None,
                customer_ids: vec![1],
                template_id: None,
            },
            now,
        )
        .await
        .unwrap();
    let token = db
        .store
        .invitations(&admin, g.id, None, None)
        .await
        .unwrap()
        .items[0]
        .token
        .clone();
    let analysis = format!("{base}/survey-analysis?from={today}&to={today}");
    let quality_n = |c: Client| async move {
        c.find(Locator::Css("#aspect--quality .n"))
            .await
            .ok()?
            .text()
            .await
            .ok()?
            .parse::<i64>()
            .ok()
    };

    log_in(&c, &base, "admin", "admin123").await;
    c.goto(&analysis).await.unwrap();
    let before = quality_n(c.clone()).await.unwrap_or(0);
    c.delete_all_cookies().await.unwrap();

    // The customer, not signed in.
    c.goto(&format!("{base}/s/{token}")).await.unwrap();
    c.wait()
        .for_element(Locator::Id("survey-form"))
        .await
        .unwrap();
    let radios = c
        .find_all(Locator::Css("input[type=radio][value='5']"))
        .await
        .unwrap();
    assert!(radios.len() >= 5);
    for r in radios {
        r.click().await.unwrap();
    }
    click_and_wait_portal(&c, Locator::Id("survey-submit")).await;
    assert!(c.find(Locator::Id("survey-thanks")).await.is_ok());
    screenshot(&c, "survey-thanks").await;
    // The link works once.
    c.goto(&format!("{base}/s/{token}")).await.unwrap();
    assert!(c.find(Locator::Id("survey-missing")).await.is_ok());

    log_in(&c, &base, "admin", "admin123").await;
    c.goto(&analysis).await.unwrap();
    let after = quality_n(c.clone()).await.unwrap();
    assert_eq!(after, before + 2, "two quality questions answered");
    screenshot(&c, "survey-analysis").await;
    c.close().await.unwrap();
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_a_file_through_the_page_after_fixing_its_problem() {
    let db = TestDb::new(Backend::Sqlite).await;
    let base = start_server(&db).await;
    let (_driver, c) = start_driver().await;
    log_in(&c, &base, "admin", "admin123").await;
    let customer = db
        .store
        .list_customers(&demo_admin(), &Default::default())
        .await
        .unwrap()
        .items[0]
        .code
        .clone();
    let file = std::env::temp_dir().join(format!("reqloop-import-{}.csv", std::process::id()));
    let header = "外部编号*,客户编码*,需求标题*,来源渠道*,类别*,性质*,类型*,紧急程度*\n";
    std::fs::write(
        &file,
        format!("{header}WEB-1,{customer},浏览器导入的需求,拜访,产品,功能性,明示,很急\n"),
    )
    .unwrap();

    // The page explains the columns of the kind chosen and links its templates.
    c.goto(&format!("{base}/import")).await.unwrap();
    c.find(Locator::Css("#import-kind-pick option[value='contacts']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click_and_wait(&c, Locator::Css("#import-kind-form button")).await;
    assert!(text_of(&c, "import-columns").await.contains("姓名"));
    c.find(Locator::Css(
        "#import-kind-pick option[value='requirements']",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    click_and_wait(&c, Locator::Css("#import-kind-form button")).await;

    // A bad value: nothing written, the problem named by row and column.
    c.find(Locator::Id("import-file"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    click_and_wait(&c, Locator::Id("import-submit")).await;
    let problems = text_of(&c, "import-problems").await;
    assert!(
        problems.contains("紧急程度") && problems.contains("很急"),
        "{problems}"
    );
    assert!(c.find(Locator::Id("import-report-link")).await.is_ok());
    screenshot(&c, "import-problems").await;

    // Fixed, it goes in whole.
    std::fs::write(
        &file,
        format!("{header}WEB-1,{customer},浏览器导入的需求,拜访,产品,功能性,明示,紧急\n"),
    )
    .unwrap();
    c.find(Locator::Id("import-file"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    click_and_wait(&c, Locator::Id("import-submit")).await;
    assert_eq!(text_of(&c, "import-created").await, "1");
    screenshot(&c, "import-done").await;
    let _ = std::fs::remove_file(&file);

    // The requirements list offers what it shows as a spreadsheet.
    c.goto(&format!("{base}/requirements?urgency=urgent"))
        .await
        .unwrap();
    let href = c
        .find(Locator::Css(".pager .export-xlsx"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(
        href.contains("urgency=urgent") && href.ends_with("format=xlsx"),
        "{href}"
    );
}
