//! Import (F29) on SQLite and PostgreSQL: CSV in UTF-8 and GBK and .xlsx; all or nothing with
//! every problem by row and column (merged cells, formulas, dates in text, duplicate keys,
//! unknown references) and the database unchanged; idempotent by external key; the page with
//! its downloadable report; templates that import as they are; permissions.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use reqloop_store::both_backends;
use serde_json::Value;

mod common;
use common::{app, call, login, send};

async fn upload(
    app: &axum::Router,
    token: &str,
    kind: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let req = Request::post(format!("/api/v1/imports/{kind}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(bytes))
        .unwrap();
    let (status, body, _) = send(app, req).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn enc(q: &str) -> String {
    form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

/// Two customer codes of the demo data.
async fn customer_codes(app: &axum::Router, token: &str) -> (String, String) {
    let (_, list) = call(app, "GET", "/api/v1/customers?per_page=2", token, None).await;
    let code = |i: usize| list["items"][i]["code"].as_str().unwrap().to_string();
    (code(0), code(1))
}

async fn count(db: &reqloop_store::testing::TestDb, table: &str) -> i64 {
    db.count(table).await
}

const HEADER: &str = "外部编号*,客户编码*,需求标题*,需求描述,来源渠道*,类别*,子类别,性质*,类型*,紧急程度*,提出人,收集日期\n";

both_backends!(requirements_import_whole_once_and_idempotently, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let (c1, c2) = customer_codes(&app, &admin).await;
    let csv = format!(
        "{HEADER}CRM-1,{c1},牵引电机交期缩短至30天,交期延误不超过3天,拜访,产品,交期与数量,功能性,明示,紧急,王立新,2026年3月5日\n\
         CRM-2,{c2},包装防护升级,,phone,product,packaging_protection,functional,stated,important,,2026/3/6\n\
         ,,,,,,,,,,,\n"
    );
    let before = count(db, "requirements").await;
    let (s, r) = upload(&app, &admin, "requirements", csv.clone().into_bytes()).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(
        (
            r["rows"].as_u64(),
            r["created"].as_u64(),
            r["written"].as_bool()
        ),
        (Some(2), Some(2), Some(true))
    );
    assert_eq!(count(db, "requirements").await, before + 2);
    // Imported requirements are like collected ones: identification, a response clock, a hand-off.
    let (_, list) = call(
        &app,
        "GET",
        &format!("/api/v1/requirements?q={}", enc("牵引电机交期缩短")),
        &admin,
        None,
    )
    .await;
    let imported = &list["items"][0];
    assert_eq!(imported["external_key"], "CRM-1");
    assert_eq!(imported["stage"], "identification");
    assert_eq!(imported["urgency"], "urgent");
    assert_eq!(imported["sub_category"], "delivery_quantity");
    assert_eq!(imported["collected_on"], "2026-03-05");
    assert!(imported["sla_due_at"].is_string());
    let id = imported["id"].as_i64().unwrap();
    let (_, handoffs) = call(
        &app,
        "GET",
        &format!("/api/v1/handoffs?requirement_id={id}"),
        &admin,
        None,
    )
    .await;
    assert_eq!(handoffs["total"], 1, "{handoffs}");

    // The same file again changes nothing; the same file in GBK neither.
    let (s, again) = upload(&app, &admin, "requirements", csv.clone().into_bytes()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (again["created"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(2))
    );
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&csv);
    assert!(!unmappable);
    let (s, again) = upload(&app, &admin, "requirements", gbk.into_owned()).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["unchanged"].as_u64(), Some(2));
    assert_eq!(count(db, "requirements").await, before + 2);

    // A new key in GBK with a BOM-less Chinese header goes in.
    let text = format!("{HEADER}CRM-3,{c1},外观颜色按色卡,,邮件,产品,外观,非功能性,隐含,一般,,\n");
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let (s, r) = upload(&app, &admin, "requirements", gbk.into_owned()).await;
    assert_eq!((s, r["created"].as_u64()), (StatusCode::OK, Some(1)), "{r}");
    let report = db.store.verify_audit().await.unwrap();
    assert!(report.result.is_ok(), "{:?}", report.result);
});

both_backends!(a_file_with_any_bad_row_writes_nothing, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let (c1, _) = customer_codes(&app, &admin).await;
    let csv = format!(
        "{HEADER}OK-1,{c1},好的一行,,拜访,产品,,功能性,明示,紧急,,\n\
         BAD-2,{c1},渠道错了,,传真,产品,,功能性,明示,紧急,,下周三\n\
         OK-1,{c1},重复的外部编号,,拜访,产品,,功能性,明示,紧急,,\n\
         BAD-4,NO-SUCH-CUSTOMER,没有这个客户,,拜访,产品,,功能性,明示,紧急,,\n\
         BAD 5,{c1},,,拜访,服务,功能,功能性,明示,紧急,,\n"
    );
    let before = (
        count(db, "requirements").await,
        count(db, "audit_log").await,
        count(db, "handoffs").await,
    );
    let (s, e) = upload(&app, &admin, "requirements", csv.into_bytes()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["code"], "import_rejected");
    let report = &e["error"]["details"];
    assert_eq!(report["written"], false);
    let problems: Vec<(u64, String, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["row"].as_u64().unwrap(),
                p["column"].as_str().unwrap_or("").to_string(),
                p["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        (3, "req.channel", "import_choice"),
        (3, "req.collected_on", "import_date"),
        (4, "import.external_key", "import_duplicate_key"),
        (5, "import.customer_ref", "import_unknown_customer"),
        (6, "import.external_key", "import_key"),
        (6, "req.title", "required"),
        (6, "req.sub_category", "product_only"),
    ] {
        assert!(
            problems.contains(&(expected.0, expected.1.to_string(), expected.2.to_string())),
            "{expected:?} not in {problems:?}"
        );
    }
    assert!(
        !problems.iter().any(|p| p.0 == 2),
        "row 2 is fine: {problems:?}"
    );
    let after = (
        count(db, "requirements").await,
        count(db, "audit_log").await,
        count(db, "handoffs").await,
    );
    assert_eq!(before, after, "nothing was written");

    // Header problems: an unknown column and a missing one.
    let (s, e) = upload(
        &app,
        &admin,
        "requirements",
        "外部编号,客户编码,标题X\nA,B,C\n".as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let codes = e["error"]["details"]["problems"].to_string();
    assert!(
        codes.contains("import_unknown_column") && codes.contains("import_missing_column"),
        "{codes}"
    );
    // Bytes that are neither UTF-8 nor GBK, an empty file, a header alone.
    let mut junk = HEADER.as_bytes().to_vec();
    junk.extend_from_slice(b"X,\xff\xff\xff,\x80\n");
    for (bytes, code) in [
        (junk, "import_encoding"),
        (vec![], "import_empty"),
        (HEADER.as_bytes().to_vec(), "import_no_rows"),
    ] {
        let (s, e) = upload(&app, &admin, "requirements", bytes).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{code}: {e}");
        assert_eq!(e["error"]["details"]["problems"][0]["code"], code, "{e}");
    }
    assert_eq!(count(db, "requirements").await, before.0);
});

/// An .xlsx with a date cell, a number typed into a text column, a formula and a merged range.
fn workbook(formula: bool, merged: bool, customer: &str) -> Vec<u8> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    let headers = [
        "外部编号",
        "客户编码",
        "需求标题",
        "来源渠道",
        "类别",
        "性质",
        "类型",
        "紧急程度",
        "收集日期",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for r in 1..=2u32 {
        ws.write_number(r, 0, 9000.0 + r as f64).unwrap();
        ws.write_string(r, 1, customer).unwrap();
        ws.write_string(r, 2, format!("表格导入的需求 {r}"))
            .unwrap();
        for (c, v) in ["拜访", "产品", "功能性", "明示", "重要"]
            .iter()
            .enumerate()
        {
            ws.write_string(r, 3 + c as u16, *v).unwrap();
        }
        let d = ExcelDateTime::from_ymd(2026, 10, r as u8).unwrap();
        ws.write_datetime_with_format(r, 8, &d, &date).unwrap();
    }
    if formula {
        ws.write_formula(2, 2, "=\"表格\"&\"公式\"").unwrap();
    }
    if merged {
        ws.merge_range(1, 3, 2, 3, "拜访", &Format::new()).unwrap();
    }
    book.save_to_buffer().unwrap()
}

both_backends!(spreadsheets_import_and_their_traps_are_named, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let (c1, _) = customer_codes(&app, &admin).await;
    let (s, e) = upload(&app, &admin, "requirements", workbook(true, true, &c1)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let problems = e["error"]["details"]["problems"].to_string();
    assert!(problems.contains("import_formula"), "{problems}");
    assert!(problems.contains("import_merged"), "{problems}");
    let (s, r) = upload(&app, &admin, "requirements", workbook(false, false, &c1)).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["created"], 2);
    let (_, list) = call(
        &app,
        "GET",
        &format!("/api/v1/requirements?q={}", enc("表格导入的需求 2")),
        &admin,
        None,
    )
    .await;
    assert_eq!(
        list["items"][0]["external_key"], "9002",
        "a number typed as a key keeps its digits"
    );
    assert_eq!(list["items"][0]["collected_on"], "2026-10-02");
    // Something that is not a spreadsheet at all, named .xlsx: told by content.
    let (s, e) = upload(
        &app,
        &admin,
        "requirements",
        b"PK\x03\x04not really a zip".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["details"]["problems"][0]["code"], "import_xlsx");
});

both_backends!(customers_contacts_and_orders_import_by_their_keys, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let customers = "外部编号*,客户名称*,省份,城市,电话,分类,分级,客户主管,年交易额（元）\n\
        ERP-C-1,苏州导入精密机械有限公司,江苏,常州,0519-86001234,A,重点客户,zhangwei,\"12,000,000\"\n\
        ERP-C-2,浙江东海电机有限公司,浙江,宁波,,B,general,,\n";
    let (s, r) = upload(&app, &admin, "customers", customers.as_bytes().to_vec()).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["created"], 2);
    let (_, list) = call(
        &app,
        "GET",
        &format!("/api/v1/customers?q={}", enc("导入精密机械")),
        &admin,
        None,
    )
    .await;
    let c = &list["items"][0];
    assert_eq!(
        (
            c["external_key"].as_str(),
            c["grade"].as_str(),
            c["tier"].as_str()
        ),
        (Some("ERP-C-1"), Some("A"), Some("key"))
    );
    assert_eq!(c["annual_revenue"], 12_000_000);
    assert!(c["account_manager_id"].is_number());
    let (s, r) = upload(&app, &admin, "customers", customers.as_bytes().to_vec()).await;
    assert_eq!((s, r["unchanged"].as_u64()), (StatusCode::OK, Some(2)));
    // An unknown account manager is named with its row.
    let (s, e) = upload(
        &app,
        &admin,
        "customers",
        "外部编号,客户名称,客户主管\nERP-C-3,新客户,nobody\n"
            .as_bytes()
            .to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["details"]["problems"][0]["code"], "unknown_user");

    // Contacts refer to the customer by its external key (or its code).
    let contacts = "外部编号,客户编码,姓名,职务,电话,邮箱,主要联系人\nP-1,ERP-C-1,王立新,采购经理,13812345678,wang@example.com,是\nP-2,ERP-C-2,李娜,,,,否\n";
    let (s, r) = upload(&app, &admin, "contacts", contacts.as_bytes().to_vec()).await;
    assert_eq!((s, r["created"].as_u64()), (StatusCode::OK, Some(2)), "{r}");
    let id = c["id"].as_i64().unwrap();
    let (_, people) = call(
        &app,
        "GET",
        &format!("/api/v1/customers/{id}/contacts"),
        &admin,
        None,
    )
    .await;
    assert_eq!(people[0]["name"], "王立新");
    assert_eq!(people[0]["primary"], true);

    // Orders refer to their contract by number; the order number is the key.
    let (_, contracts) = call(&app, "GET", "/api/v1/contracts?per_page=1", &admin, None).await;
    let number = contracts["items"][0]["number"]
        .as_str()
        .unwrap()
        .to_string();
    let orders = format!("合同编号,订单号,交付数量,承诺交期\n{number},IMP-001,120,2026-06-30\n{number},IMP-002,80,2026/7/15\n");
    let (s, r) = upload(&app, &admin, "orders", orders.clone().into_bytes()).await;
    assert_eq!((s, r["created"].as_u64()), (StatusCode::OK, Some(2)), "{r}");
    let (s, r) = upload(&app, &admin, "orders", orders.into_bytes()).await;
    assert_eq!((s, r["unchanged"].as_u64()), (StatusCode::OK, Some(2)));
    let (s, e) = upload(
        &app,
        &admin,
        "orders",
        "合同编号,订单号,交付数量,承诺交期\nNO-SUCH,X,10,2026-06-30\n"
            .as_bytes()
            .to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e.to_string().contains("import_unknown_contract"), "{e}");
    let report = db.store.verify_audit().await.unwrap();
    assert!(report.result.is_ok(), "{:?}", report.result);
});

both_backends!(imports_need_the_right_to_create_and_templates_fit, |db| {
    let app = app(db).await;
    let reviewer = login(&app, "reviewer", reqloop_store::demo::DEMO_PASSWORD).await;
    let (s, _) = upload(&app, &reviewer, "customers", b"x".to_vec()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let admin = login(&app, "admin", "admin123").await;
    let (s, _) = upload(&app, &admin, "invoices", b"x".to_vec()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The customers template imports as it is (its sample row names a demo account manager).
    for kind in ["customers", "requirements"] {
        let req = Request::get(format!("/api/v1/imports/{kind}/template"))
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap();
        let (s, bytes, _) = send(&app, req).await;
        assert_eq!(s, StatusCode::OK);
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("外部编号*"), "{text}");
        if kind == "customers" {
            let (s, r) = upload(&app, &admin, kind, bytes).await;
            assert_eq!(s, StatusCode::OK, "{r}");
        }
    }
});

fn page(token: &str, path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

fn upload_form(token: &str, kind: &str, bytes: &[u8]) -> Request<Body> {
    let boundary = "XrlImport42";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"需求.csv\"\r\nContent-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request::post("/import")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap()
}

fn sheet_rows(bytes: Vec<u8>) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx");
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

both_backends!(
    the_import_page_reports_problems_and_offers_them_as_a_workbook,
    |db| {
        let app = app(db).await;
        let admin = login(&app, "admin", "admin123").await;
        let (s, html, _) = send(&app, page(&admin, "/import?kind=contacts")).await;
        let html = String::from_utf8(html).unwrap();
        assert_eq!(s, StatusCode::OK);
        assert!(
            html.contains("id=\"import-form\"") && html.contains("/import/templates/contacts.xlsx"),
            "{html}"
        );
        let (s, bytes, _) = send(&app, page(&admin, "/import/templates/requirements.xlsx")).await;
        assert_eq!(s, StatusCode::OK);
        assert!(sheet_rows(bytes)[0][0].starts_with("外部编号"));

        let (c1, _) = customer_codes(&app, &admin).await;
        let bad = format!("{HEADER}P-1,{c1},标题,,拜访,产品,,功能性,明示,很急,,\n");
        let (s, html, _) = send(&app, upload_form(&admin, "requirements", bad.as_bytes())).await;
        let html = String::from_utf8(html).unwrap();
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("id=\"import-problems\"") && html.contains("不是可选的取值"),
            "{html}"
        );
        let link = html
            .split("id=\"import-report-link\"")
            .next()
            .and_then(|h| h.rsplit("href=\"").next())
            .and_then(|h| h.split('"').next())
            .unwrap()
            .to_string();
        assert!(link.starts_with("/import/reports/"), "{link}");
        let (s, bytes, _) = send(&app, page(&admin, &link)).await;
        assert_eq!(s, StatusCode::OK);
        let rows = sheet_rows(bytes);
        assert_eq!(rows[0], vec!["行号", "列", "问题", "内容"]);
        assert_eq!(rows[1], vec!["2", "紧急程度", "不是可选的取值", "很急"]);
        // Another user cannot fetch it.
        let other = login(&app, "marketing", reqloop_store::demo::DEMO_PASSWORD).await;
        let (s, _, _) = send(&app, page(&other, &link)).await;
        assert_eq!(s, StatusCode::NOT_FOUND);

        let good = bad.replace("很急", "紧急");
        let (s, html, _) = send(&app, upload_form(&admin, "requirements", good.as_bytes())).await;
        let html = String::from_utf8(html).unwrap();
        assert_eq!(s, StatusCode::OK, "{html}");
        assert!(html.contains("id=\"import-created\">1<"), "{html}");
    }
);

both_backends!(lists_export_what_they_show, |db| {
    let app = app(db).await;
    let admin = login(&app, "admin", "admin123").await;
    let (_, review) = call(
        &app,
        "GET",
        "/api/v1/requirements?stage=review&per_page=1",
        &admin,
        None,
    )
    .await;
    let total = review["total"].as_u64().unwrap() as usize;
    assert!(total > 0);
    let (s, csv, headers) = send(&app, page(&admin, "/requirements?stage=review&format=csv")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert!(lines[0].starts_with("\u{feff}\"编号\""), "{}", lines[0]);
    assert_eq!(lines.len(), total + 1, "the header and every filtered row");
    assert!(lines[1].contains(review["items"][0]["code"].as_str().unwrap()));

    let (_, all) = call(&app, "GET", "/api/v1/requirements?per_page=1", &admin, None).await;
    let (s, xlsx, _) = send(&app, page(&admin, "/requirements?format=xlsx")).await;
    assert_eq!(s, StatusCode::OK);
    let rows = sheet_rows(xlsx);
    assert_eq!(rows.len() as u64, all["total"].as_u64().unwrap() + 1);

    let (_, a) = call(
        &app,
        "GET",
        "/api/v1/customers?grade=A&per_page=1",
        &admin,
        None,
    )
    .await;
    let (s, csv, _) = send(&app, page(&admin, "/customers?grade=A&format=csv")).await;
    assert_eq!(s, StatusCode::OK);
    let lines = String::from_utf8(csv)
        .unwrap()
        .trim_end()
        .split("\r\n")
        .count() as u64;
    assert_eq!(lines, a["total"].as_u64().unwrap() + 1);
    for path in [
        "/complaints?format=xlsx",
        "/orders?format=csv",
        "/warnings?format=xlsx",
        "/handoffs?format=csv",
    ] {
        let (s, bytes, _) = send(&app, page(&admin, path)).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(!bytes.is_empty(), "{path}");
    }
    // The list offers both, with its filters.
    let (_, html, _) = send(&app, page(&admin, "/requirements?stage=review")).await;
    let html = String::from_utf8(html).unwrap();
    let pager = html
        .split("class=\"pager\"")
        .nth(1)
        .unwrap_or("")
        .split("</nav>")
        .next()
        .unwrap_or("");
    assert!(
        pager.contains("/requirements?stage=review&#38;format=xlsx"),
        "{pager}"
    );
});
