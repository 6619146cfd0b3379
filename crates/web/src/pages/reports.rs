//! Management report pages (F26): the business structure, customer management and requirement
//! trends, each with SVG charts (printable) and an Excel export of what it shows, and the index
//! that also leads to the semiannual satisfaction report.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use reqloop_domain::access::Action;
use reqloop_store::{BusinessStructure, CustomerManagement, ReportQuery, RequirementTrends};

use super::surveys::pct;
use super::{error_page, filters, render, report_or_notice, Chrome};
use crate::auth::PageUser;
use crate::export::Sheet;
use crate::AppState;

#[derive(Template)]
#[template(path = "reports.html")]
struct IndexPage {
    c: Chrome,
}

pub async fn index(State(_s): State<AppState>, u: PageUser) -> Response {
    if let Err(e) = u.actor.require(Action::ReportRead) {
        return error_page(&u, e.into());
    }
    render(&IndexPage {
        c: Chrome::new(&u, "reports", u.t.t("nav.reports").to_string()),
    })
}

/// The period of a report: `from`/`to` from the query, this year so far by default.
fn period(s: &AppState, q: &HashMap<String, String>) -> (String, String) {
    let today = reqloop_domain::time::shanghai_date(s.clock.now());
    let from = q
        .get("from")
        .cloned()
        .unwrap_or_else(|| format!("{}-01-01", chrono::Datelike::year(&today)));
    let to = q.get("to").cloned().unwrap_or_else(|| today.to_string());
    (from, to)
}

fn year(s: &AppState, q: &HashMap<String, String>) -> i32 {
    q.get("year")
        .and_then(|y| y.parse().ok())
        .unwrap_or_else(|| {
            chrono::Datelike::year(&reqloop_domain::time::shanghai_date(s.clock.now()))
        })
}

/// `(y, width)` of horizontal bars scaled to the largest value, `max_width` px.
fn widths(values: &[i64], max_width: i64) -> Vec<i64> {
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    values.iter().map(|v| v * max_width / max).collect()
}

#[derive(Template)]
#[template(path = "report_business.html")]
struct BusinessPage {
    c: Chrome,
    notice: String,
    from: String,
    to: String,
    by: String,
    r: Option<BusinessStructure>,
}

impl BusinessPage {
    fn pct(&self, v: &Option<f64>) -> String {
        pct(v)
    }
    /// Bars: (y, revenue width, orders width) per row.
    fn bars(&self) -> Vec<(i64, i64, i64)> {
        let Some(r) = &self.r else { return vec![] };
        let rev = widths(&r.rows.iter().map(|x| x.revenue).collect::<Vec<_>>(), 260);
        let ord = widths(&r.rows.iter().map(|x| x.orders).collect::<Vec<_>>(), 260);
        (0..r.rows.len())
            .map(|i| (i as i64 * 24, rev[i], ord[i]))
            .collect()
    }
    fn label(&self, category: &str) -> String {
        if category.is_empty() {
            self.c.t.t("report.unspecified").to_string()
        } else {
            category.to_string()
        }
    }
}

pub async fn business(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = u.actor.require(Action::ReportRead) {
        return error_page(&u, e.into());
    }
    let (from, to) = period(&s, &q);
    let by = q.get("by").cloned().unwrap_or_else(|| "industry".into());
    let query = ReportQuery {
        from: from.clone(),
        to: to.clone(),
        by: Some(by.clone()),
    };
    let (r, notice, status) =
        match report_or_notice(&u, s.store.business_structure(&u.actor, &query).await) {
            Ok(v) => v,
            Err(page) => return *page,
        };
    let page = BusinessPage {
        c: Chrome::new(&u, "reports", u.t.t("report.business").to_string()),
        notice,
        from,
        to,
        by,
        r,
    };
    (status, render(&page)).into_response()
}

pub async fn business_xlsx(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = u.actor.require(Action::ReportRead) {
        return error_page(&u, e.into());
    }
    let (from, to) = period(&s, &q);
    let query = ReportQuery {
        from,
        to,
        by: q.get("by").cloned(),
    };
    let r = match s.store.business_structure(&u.actor, &query).await {
        Ok(r) => r,
        Err(e) => return error_page(&u, e.into()),
    };
    let t = u.t;
    let h = |keys: &[&str]| keys.iter().map(|k| t.t(k).to_string()).collect::<Vec<_>>();
    let sheet = Sheet {
        name: t.t("report.business").to_string(),
        headers: h(&[
            &format!("survey.by.{}", r.by),
            "report.customers",
            "report.revenue",
            "report.revenue_share",
            "report.orders",
            "report.order_share",
            "report.quantity",
        ]),
        rows: r
            .rows
            .iter()
            .map(|x| {
                vec![
                    x.category.clone(),
                    x.customers.to_string(),
                    x.revenue.to_string(),
                    pct(&x.revenue_share),
                    x.orders.to_string(),
                    pct(&x.order_share),
                    x.quantity.to_string(),
                ]
            })
            .collect(),
    };
    crate::export::book_download(
        &u,
        &format!("business-{}-{}-{}.xlsx", r.by, r.from, r.to),
        &[sheet],
    )
}

/// A quarter's group of columns: its x and `(kind, height, n)` per kind.
type Column = (i64, Vec<(&'static str, i64, i64)>);

#[derive(Template)]
#[template(path = "report_customers.html")]
struct CustomersPage {
    c: Chrome,
    notice: String,
    year: i32,
    r: Option<CustomerManagement>,
}

impl CustomersPage {
    fn lists(&self) -> Vec<(&'static str, &[reqloop_store::MovedCustomer])> {
        match &self.r {
            Some(r) => vec![
                ("new", &r.new[..]),
                ("lost", &r.lost[..]),
                ("upgraded", &r.upgraded[..]),
                ("downgraded", &r.downgraded[..]),
            ],
            None => vec![],
        }
    }
    /// Grouped columns per quarter: (x, [(kind, height, n)]), 100 px high.
    fn columns(&self) -> Vec<Column> {
        let Some(r) = &self.r else { return vec![] };
        let quarters = &r.periods[..r.periods.len().saturating_sub(1)];
        let all: Vec<i64> = quarters
            .iter()
            .flat_map(|m| [m.new, m.lost, m.upgraded, m.downgraded])
            .collect();
        let h = widths(&all, 100);
        quarters
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let kinds = [
                    ("new", m.new),
                    ("lost", m.lost),
                    ("upgraded", m.upgraded),
                    ("downgraded", m.downgraded),
                ];
                (
                    i as i64 * 110,
                    kinds
                        .iter()
                        .enumerate()
                        .map(|(k, (name, n))| (*name, h[i * 4 + k], *n))
                        .collect(),
                )
            })
            .collect()
    }
}

pub async fn customers(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = u.actor.require(Action::ReportRead) {
        return error_page(&u, e.into());
    }
    let year = year(&s, &q);
    let (r, notice, status) =
        match report_or_notice(&u, s.store.customer_management(&u.actor, year).await) {
            Ok(v) => v,
            Err(page) => return *page,
        };
    let page = CustomersPage {
        c: Chrome::new(
            &u,
            "reports",
            u.t.t("report.customer_management").to_string(),
        ),
        notice,
        year,
        r,
    };
    (status, render(&page)).into_response()
}

pub async fn customers_xlsx(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = u.actor.require(Action::ReportRead) {
        return error_page(&u, e.into());
    }
    let year = year(&s, &q);
    let r = match s.store.customer_management(&u.actor, year).await {
        Ok(r) => r,
        Err(e) => return error_page(&u, e.into()),
    };
    let t = u.t;
    let h = |keys: &[&str]| keys.iter().map(|k| t.t(k).to_string()).collect::<Vec<_>>();
    let mut sheets = vec![Sheet {
        name: t.t("report.customer_management").to_string(),
        headers: h(&[
            "survey.period",
            "report.move.new",
            "report.move.lost",
            "report.move.upgraded",
            "report.move.downgraded",
        ]),
        rows: r
            .periods
            .iter()
            .map(|m| {
                vec![
                    format!("{} ({} – {})", m.label, m.from, m.to),
                    m.new.to_string(),
                    m.lost.to_string(),
                    m.upgraded.to_string(),
                    m.downgraded.to_string(),
                ]
            })
            .collect(),
    }];
    for (kind, list) in [
        ("new", &r.new),
        ("lost", &r.lost),
        ("upgraded", &r.upgraded),
        ("downgraded", &r.downgraded),
    ] {
        sheets.push(Sheet {
            name: t.t(&format!("report.move.{kind}")).to_string(),
            headers: h(&[
                "customer.code",
                "req.customer",
                "report.grade_change",
                "report.when",
            ]),
            rows: list
                .iter()
                .map(|m| {
                    vec![
                        m.code.clone(),
                        m.name.clone(),
                        m.change.clone(),
                        reqloop_domain::time::display_local(&m.at),
                    ]
                })
                .collect(),
        });
    }
    crate::export::book_download(&u, &format!("customers-{year}.xlsx"), &sheets)
}

/// A month's stacked column: its x, the month and `(category index, y, height, n)` per part.
type Stack = (i64, String, Vec<(usize, i64, i64, i64)>);

#[derive(Template)]
#[template(path = "report_requirements.html")]
struct RequirementsPage {
    c: Chrome,
    notice: String,
    from: String,
    to: String,
    r: Option<RequirementTrends>,
}

impl RequirementsPage {
    fn months(&self) -> Vec<String> {
        let mut m: Vec<String> = self
            .r
            .iter()
            .flat_map(|r| r.months.iter().map(|x| x.month.clone()))
            .collect();
        m.sort();
        m.dedup();
        m
    }
    fn categories(&self) -> Vec<String> {
        let mut c: Vec<String> = self
            .r
            .iter()
            .flat_map(|r| r.months.iter().map(|x| x.category.clone()))
            .collect();
        c.sort();
        c.dedup();
        c
    }
    fn count(&self, month: &str, category: &str) -> i64 {
        self.r
            .iter()
            .flat_map(|r| r.months.iter())
            .filter(|x| x.month == month && x.category == category)
            .map(|x| x.count)
            .sum()
    }
    /// Stacked columns per month: (x, [(category index, y, height, n)]), 120 px high.
    fn stacks(&self) -> Vec<Stack> {
        let months = self.months();
        let cats = self.categories();
        let totals: Vec<i64> = months
            .iter()
            .map(|m| cats.iter().map(|c| self.count(m, c)).sum())
            .collect();
        let max = totals.iter().copied().max().unwrap_or(0).max(1);
        months
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut y = 130;
                let parts = cats
                    .iter()
                    .enumerate()
                    .filter_map(|(k, c)| {
                        let n = self.count(m, c);
                        let h = n * 120 / max;
                        y -= h;
                        (n > 0).then_some((k, y, h, n))
                    })
                    .collect();
                (i as i64 * 44, m.clone(), parts)
            })
            .collect()
    }
    fn topic_bars(&self) -> Vec<(String, i64, i64)> {
        let Some(r) = &self.r else { return vec![] };
        let w = widths(&r.topics.iter().map(|t| t.1).collect::<Vec<_>>(), 240);
        r.topics
            .iter()
            .zip(w)
            .map(|((t, n), w)| (t.clone(), *n, w))
            .collect()
    }
}

pub async fn requirements(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = u.actor.require(Action::ReportRead) {
        return error_page(&u, e.into());
    }
    let (from, to) = period(&s, &q);
    let query = ReportQuery {
        from: from.clone(),
        to: to.clone(),
        by: None,
    };
    let (r, notice, status) =
        match report_or_notice(&u, s.store.requirement_trends(&u.actor, &query).await) {
            Ok(v) => v,
            Err(page) => return *page,
        };
    let page = RequirementsPage {
        c: Chrome::new(&u, "reports", u.t.t("report.requirements").to_string()),
        notice,
        from,
        to,
        r,
    };
    (status, render(&page)).into_response()
}

pub async fn requirements_xlsx(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = u.actor.require(Action::ReportRead) {
        return error_page(&u, e.into());
    }
    let (from, to) = period(&s, &q);
    let query = ReportQuery { from, to, by: None };
    let r = match s.store.requirement_trends(&u.actor, &query).await {
        Ok(r) => r,
        Err(e) => return error_page(&u, e.into()),
    };
    let t = u.t;
    let h = |keys: &[&str]| keys.iter().map(|k| t.t(k).to_string()).collect::<Vec<_>>();
    let sheets = [
        Sheet {
            name: t.t("report.by_month").to_string(),
            headers: h(&["report.month", "req.category", "report.count"]),
            rows: r
                .months
                .iter()
                .map(|m| {
                    vec![
                        m.month.clone(),
                        t.label("category", &m.category),
                        m.count.to_string(),
                    ]
                })
                .collect(),
        },
        Sheet {
            name: t.t("report.sub_categories").to_string(),
            headers: h(&["req.sub_category", "report.count"]),
            rows: r
                .sub_categories
                .iter()
                .map(|(c, n)| {
                    let label = if c.is_empty() {
                        t.t("report.unspecified").to_string()
                    } else {
                        t.label("subcat", c)
                    };
                    vec![label, n.to_string()]
                })
                .collect(),
        },
        Sheet {
            name: t.t("report.topics").to_string(),
            headers: h(&["report.topic", "report.titles"]),
            rows: r
                .topics
                .iter()
                .map(|(w, n)| vec![w.clone(), n.to_string()])
                .collect(),
        },
    ];
    crate::export::book_download(
        &u,
        &format!("requirements-{}-{}.xlsx", r.from, r.to),
        &sheets,
    )
}
