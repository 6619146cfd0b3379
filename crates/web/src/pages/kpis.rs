//! KPI pages (F23; 003§5): the dashboard of a period (timeliness, completion and satisfaction
//! with their definitions beside the numbers, the twelve-month trend as an SVG chart, rows by
//! department, person or customer), the weekly check list and the monthly statistics of a year
//! (printable, and as an Excel workbook).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use reqloop_domain::kpi::{Dimension, Period};
use reqloop_store::{KpiMonth, KpiQuery, KpiReport, WeekQuery, WeeklyCheck};

use super::surveys::{mean, pct, segments};
use super::{choices, error_page, filters, render, report_or_notice, Chrome, Opt, Pager};
use crate::auth::PageUser;
use crate::export::Sheet;
use crate::AppState;

const PER_PAGE: i64 = 20;

#[derive(Template)]
#[template(path = "kpis.html")]
struct DashboardPage {
    c: Chrome,
    notice: String,
    period: String,
    by: Dimension,
    dims: Vec<Opt>,
    departments: Vec<Opt>,
    sort: String,
    r: Option<KpiReport>,
    pager: Pager,
}

/// The trend chart: 12 months, 600 × 160, one polyline per rate (0–100 %).
const CHART_W: i64 = 600;
const CHART_H: i64 = 140;

impl DashboardPage {
    fn pct(&self, v: &Option<f64>) -> String {
        pct(v)
    }
    fn mean(&self, v: &Option<f64>) -> String {
        mean(v)
    }
    fn bar(&self, scores: &[i64; 5]) -> Vec<(i64, i64, i64, i64)> {
        segments(scores, 200)
    }
    fn x(&self, i: &usize) -> i64 {
        40 + *i as i64 * (CHART_W - 60) / 11
    }
    /// The points of one rate's line (months without data leave a gap: the line restarts).
    fn lines(&self) -> Vec<(&'static str, Vec<String>)> {
        let Some(r) = &self.r else { return vec![] };
        let rate = |m: &KpiMonth, k: &str| match k {
            "timeliness" => m.rates.timeliness,
            "completion" => m.rates.completion,
            _ => m.rates.satisfied,
        };
        ["timeliness", "completion", "satisfied"]
            .into_iter()
            .map(|k| {
                let mut runs = Vec::new();
                let mut run = String::new();
                for (i, m) in r.trend.iter().enumerate() {
                    match rate(m, k) {
                        Some(v) => {
                            let y = 10 + CHART_H - (v * CHART_H as f64).round() as i64;
                            run.push_str(&format!("{},{} ", self.x(&i), y));
                        }
                        None if !run.is_empty() => runs.push(std::mem::take(&mut run)),
                        None => {}
                    }
                }
                if !run.is_empty() {
                    runs.push(run);
                }
                (k, runs)
            })
            .collect()
    }
    /// Each month's value of each rate: (rate, x, y, text) for a dot with its figure.
    fn dots(&self) -> Vec<(&'static str, i64, i64, String)> {
        let Some(r) = &self.r else { return vec![] };
        let mut out = Vec::new();
        for (i, m) in r.trend.iter().enumerate() {
            for (k, v) in [
                ("timeliness", m.rates.timeliness),
                ("completion", m.rates.completion),
                ("satisfied", m.rates.satisfied),
            ] {
                if let Some(v) = v {
                    let y = 10 + CHART_H - (v * CHART_H as f64).round() as i64;
                    out.push((k, self.x(&i), y, format!("{} {}", m.month, pct(&Some(v)))));
                }
            }
        }
        out
    }
    fn y(&self, share: &i64) -> i64 {
        10 + CHART_H - share * CHART_H / 100
    }
    fn month_label(&self, m: &str) -> String {
        m.get(2..).unwrap_or(m).to_string()
    }
}

fn keep(q: &HashMap<String, String>) -> Vec<(String, String)> {
    q.iter()
        .filter(|(k, _)| ["period", "by", "department_id", "sort"].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `/kpis?period=&by=&department_id=&sort=&page=`
pub async fn dashboard(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let by = q
        .get("by")
        .and_then(|b| b.parse().ok())
        .unwrap_or(Dimension::Department);
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let query = KpiQuery {
        period: q.get("period").cloned(),
        by: Some(by),
        department_id: q.get("department_id").and_then(|d| d.parse().ok()),
        sort: q.get("sort").cloned().filter(|v| !v.is_empty()),
        page: Some(page),
        per_page: Some(PER_PAGE),
    };
    let departments = match s.store.departments().await {
        Ok(d) => d,
        Err(e) => return error_page(&u, e.into()),
    };
    let (r, notice, status) =
        match report_or_notice(&u, s.store.kpis(&u.actor, &query, s.clock.now()).await) {
            Ok(v) => v,
            Err(page) => return *page,
        };
    let t = u.t;
    let period = r
        .as_ref()
        .map(|r| r.period.clone())
        .unwrap_or_else(|| q.get("period").cloned().unwrap_or_default());
    let total = r.as_ref().map_or(0, |r| r.total);
    let page = DashboardPage {
        c: Chrome::new(&u, "kpis", t.t("nav.kpis").to_string()),
        notice,
        period,
        by,
        dims: choices(Dimension::ALL, Dimension::as_str, &t, "kpi.by", Some(by)),
        departments: departments
            .iter()
            .map(|d| {
                (
                    d.id.0.to_string(),
                    if t.is_en() {
                        d.name_en.clone()
                    } else {
                        d.name_zh.clone()
                    },
                    query.department_id == Some(d.id.0),
                )
            })
            .collect(),
        sort: query.sort.clone().unwrap_or_default(),
        pager: Pager::new(page, PER_PAGE, total, "/kpis", &keep(&q)),
        r,
    };
    (status, render(&page)).into_response()
}

#[derive(Template)]
#[template(path = "kpi_weekly.html")]
struct WeeklyPage {
    c: Chrome,
    notice: String,
    day: String,
    w: Option<WeeklyCheck>,
}

impl WeeklyPage {
    fn lists(&self) -> Vec<(&'static str, &reqloop_store::CheckList)> {
        match &self.w {
            Some(w) => vec![
                ("overdue", &w.overdue),
                ("due_this_week", &w.due_this_week),
                ("waiting", &w.waiting),
            ],
            None => vec![],
        }
    }
}

/// `/kpis/weekly?day=` — the weekly check list (003§5.3).
pub async fn weekly(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let query = WeekQuery {
        day: q.get("day").cloned(),
    };
    let (w, notice, status) = match report_or_notice(
        &u,
        s.store.weekly_check(&u.actor, &query, s.clock.now()).await,
    ) {
        Ok(v) => v,
        Err(page) => return *page,
    };
    let page = WeeklyPage {
        c: Chrome::new(&u, "kpis", u.t.t("kpi.weekly").to_string()),
        notice,
        day: q.get("day").cloned().unwrap_or_default(),
        w,
    };
    (status, render(&page)).into_response()
}

#[derive(Template)]
#[template(path = "kpi_monthly.html")]
struct MonthlyPage {
    c: Chrome,
    notice: String,
    year: i32,
    months: Vec<KpiMonth>,
    totals: Option<reqloop_store::KpiRow>,
}

impl MonthlyPage {
    fn pct(&self, v: &Option<f64>) -> String {
        pct(v)
    }
    fn mean(&self, v: &Option<f64>) -> String {
        mean(v)
    }
}

fn year_of(s: &AppState, q: &HashMap<String, String>) -> i32 {
    q.get("year")
        .and_then(|y| y.parse().ok())
        .unwrap_or_else(|| {
            chrono::Datelike::year(&reqloop_domain::time::shanghai_date(s.clock.now()))
        })
}

/// The months of a year with the year's totals: the KPI report of `YYYY`, whose trend is the
/// twelve months of that year.
async fn year_report(
    s: &AppState,
    u: &PageUser,
    year: i32,
) -> Result<KpiReport, reqloop_store::Error> {
    let q = KpiQuery {
        period: Some(Period::Year(year).key()),
        per_page: Some(1),
        ..Default::default()
    };
    s.store.kpis(&u.actor, &q, s.clock.now()).await
}

/// `/kpis/monthly?year=` — monthly statistics (003§5.3: "每月统计").
pub async fn monthly(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let year = year_of(&s, &q);
    let (r, notice, status) = match report_or_notice(&u, year_report(&s, &u, year).await) {
        Ok(v) => v,
        Err(page) => return *page,
    };
    let page = MonthlyPage {
        c: Chrome::new(&u, "kpis", u.t.t("kpi.monthly").to_string()),
        notice,
        year,
        months: r.as_ref().map(|r| r.trend.clone()).unwrap_or_default(),
        totals: r.map(|r| r.totals),
    };
    (status, render(&page)).into_response()
}

/// The monthly statistics as an Excel workbook.
pub async fn monthly_xlsx(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let year = year_of(&s, &q);
    let r = match year_report(&s, &u, year).await {
        Ok(r) => r,
        Err(e) => return error_page(&u, e.into()),
    };
    let t = u.t;
    let row = |label: String, c: &reqloop_domain::kpi::Counts, r: &reqloop_domain::kpi::Rates| {
        vec![
            label,
            c.received.to_string(),
            c.completed.to_string(),
            pct(&r.completion),
            c.on_time.to_string(),
            c.late.to_string(),
            pct(&r.timeliness),
            c.answers().to_string(),
            c.scores.map(|n| n.to_string()).join(" / "),
            pct(&r.satisfied),
            mean(&r.mean),
        ]
    };
    let mut rows: Vec<Vec<String>> = r
        .trend
        .iter()
        .map(|m| row(m.month.clone(), &m.counts, &m.rates))
        .collect();
    rows.push(row(
        t.t("kpi.year_total").to_string(),
        &r.totals.counts,
        &r.totals.rates,
    ));
    let headers = [
        "kpi.month",
        "kpi.received",
        "kpi.completed",
        "kpi.completion",
        "kpi.on_time",
        "kpi.late",
        "kpi.timeliness",
        "kpi.answers",
        "kpi.distribution",
        "kpi.satisfied",
        "kpi.mean",
    ]
    .iter()
    .map(|k| t.t(k).to_string())
    .collect();
    crate::export::book_download(
        &u,
        &format!("kpis-{year}.xlsx"),
        &[Sheet {
            name: t.t("kpi.monthly").to_string(),
            headers,
            rows,
        }],
    )
}
