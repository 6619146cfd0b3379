//! Survey pages for staff (F20, F21): campaigns with the form that starts one, a campaign's
//! invitations with their public links, and the analysis of a period with a histogram per
//! aspect (an SVG chart, printable) — never an average without its distribution.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::access::Action;
use reqloop_domain::survey::{CampaignFields, CampaignKind};
use reqloop_store::{
    Analysis, AnalysisQuery, Campaign, CampaignFilter, CustomerFilter, Invitation,
};

use super::requirements::refusal;
use super::{
    choices, error_page, field_messages, filters, may, render, report_or_notice, Chrome, FormData,
    Opt, Pager,
};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::AppState;

#[derive(Template)]
#[template(path = "surveys.html")]
struct ListPage {
    c: Chrome,
    notice: String,
    rows: Vec<Campaign>,
    pager: Pager,
    can_manage: bool,
    kinds: Vec<Opt>,
    managers: Vec<Opt>,
    customers: Vec<Opt>,
    templates: Vec<Opt>,
    v: HashMap<String, String>,
    errors: HashMap<String, String>,
}

impl ListPage {
    fn err(&self, f: &str) -> &str {
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
    fn val(&self, f: &str) -> &str {
        self.v.get(f).map(String::as_str).unwrap_or("")
    }
    fn rate(&self, g: &Campaign) -> String {
        reqloop_domain::survey::response_rate(g.invited, g.answered)
            .map(|r| format!("{:.0}%", r * 100.0))
            .unwrap_or_else(|| "—".into())
    }
}

async fn list_view(
    s: &AppState,
    u: &PageUser,
    page: i64,
    form: &FormData,
    notice: String,
    errors: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let loaded = async {
        u.actor.require(Action::SurveyRead)?;
        let list = s
            .store
            .list_campaigns(&CampaignFilter {
                page: Some(page),
                per_page: Some(20),
                ..Default::default()
            })
            .await?;
        let users = s.store.list_users().await?;
        let customers = s
            .store
            .list_customers(
                &u.actor,
                &CustomerFilter {
                    per_page: Some(200),
                    ..Default::default()
                },
            )
            .await?;
        let templates = s.store.list_templates(s.clock.now()).await?;
        Ok::<_, AppError>((list, users, customers, templates))
    }
    .await;
    let (list, users, customers, templates) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let t = u.t;
    let chosen = form.all("customer_ids");
    let page = ListPage {
        c: Chrome::new(u, "surveys", t.t("nav.surveys").to_string()),
        notice,
        pager: Pager::new(page, 20, list.total, "/surveys", &[]),
        rows: list.items,
        can_manage: may(&u.actor, Action::SurveyManage),
        kinds: choices(
            CampaignKind::ALL,
            CampaignKind::as_str,
            &t,
            "campaign",
            form.get("kind").parse().ok(),
        ),
        managers: users
            .iter()
            .filter(|x| x.role == reqloop_domain::user::Role::AccountManager && x.active)
            .map(|x| {
                let id = x.id.0.to_string();
                let sel = form.get("account_manager_id") == id;
                (id, x.display_name.clone(), sel)
            })
            .collect(),
        customers: customers
            .items
            .iter()
            .map(|c| {
                let id = c.id.0.to_string();
                let sel = chosen.contains(&id);
                (id, format!("{} {}", c.code, c.fields.name), sel)
            })
            .collect(),
        templates: templates
            .iter()
            .map(|x| {
                let id = x.id.to_string();
                let sel = form.get("template_id") == id;
                (id, format!("{} (v{})", x.name, x.current_version), sel)
            })
            .collect(),
        v: ["title", "period_start", "period_end"]
            .iter()
            .map(|k| (k.to_string(), form.get(k)))
            .collect(),
        errors,
    };
    (status, render(&page)).into_response()
}

pub async fn list(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let empty = FormData(vec![]);
    list_view(
        &s,
        &u,
        page,
        &empty,
        String::new(),
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn create(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    if let Err(e) = u.actor.require(Action::SurveyManage) {
        return error_page(&u, e.into());
    }
    let result = match form.get("kind").parse::<CampaignKind>() {
        Ok(kind) => {
            let f = CampaignFields {
                kind,
                title: form.get("title"),
                period_start: form.get("period_start"),
                period_end: form.get("period_end"),
                account_manager_id: form.get("account_manager_id").parse().ok(),
                customer_ids: form
                    .all("customer_ids")
                    .iter()
                    .filter_map(|v| v.parse().ok())
                    .collect(),
                template_id: form.get("template_id").parse().ok(),
            };
            s.store.create_campaign(&u.actor, f, s.clock.now()).await
        }
        Err(_) => Err(reqloop_store::Error::field("kind", "choice")),
    };
    let (status, notice, errors) = match result {
        Ok(g) => return Redirect::to(&format!("/surveys/{}", g.id)).into_response(),
        Err(reqloop_store::Error::Invalid(errors)) => (
            StatusCode::BAD_REQUEST,
            u.t.t("form.fix_errors").to_string(),
            field_messages(&u.t, &errors),
        ),
        Err(e) => {
            let e = AppError::from(e);
            (e.status, refusal(&u.t, &e), HashMap::new())
        }
    };
    list_view(&s, &u, 1, &form, notice, errors, status).await
}

#[derive(Template)]
#[template(path = "survey_campaign.html")]
struct CampaignPage {
    c: Chrome,
    notice: String,
    info: String,
    g: Campaign,
    rows: Vec<Invitation>,
    pager: Pager,
    can_manage: bool,
}

async fn campaign_view(
    s: &AppState,
    u: &PageUser,
    id: i64,
    page: i64,
    notice: String,
    info: String,
    status: StatusCode,
) -> Response {
    let loaded = async {
        u.actor.require(Action::SurveyRead)?;
        let g = s.store.get_campaign(id).await?;
        let rows = s
            .store
            .invitations(&u.actor, id, Some(page), Some(50))
            .await?;
        Ok::<_, AppError>((g, rows))
    }
    .await;
    let (g, rows) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let manage = may(&u.actor, Action::SurveyManage);
    let page = CampaignPage {
        c: Chrome::new(u, "surveys", g.title.clone()),
        notice,
        info,
        pager: Pager::new(page, 50, rows.total, &format!("/surveys/{id}"), &[]),
        // Links are for those who send them.
        rows: rows
            .items
            .into_iter()
            .map(|mut i| {
                if !manage {
                    i.token.clear();
                }
                i
            })
            .collect(),
        can_manage: manage && g.status == "open",
        g,
    };
    (status, render(&page)).into_response()
}

pub async fn campaign(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let info = q
        .get("reminded")
        .map(|n| u.t.t("survey.reminded").replace("{n}", n))
        .unwrap_or_default();
    campaign_view(&s, &u, id, page, String::new(), info, StatusCode::OK).await
}

pub async fn close(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::SurveyManage) {
        return error_page(&u, e.into());
    }
    let version = form.get("version").parse().unwrap_or(-1);
    match s
        .store
        .close_campaign(&u.actor, id, version, s.clock.now())
        .await
    {
        Ok(_) => Redirect::to(&format!("/surveys/{id}")).into_response(),
        Err(e) => {
            let e = AppError::from(e);
            campaign_view(&s, &u, id, 1, refusal(&u.t, &e), String::new(), e.status).await
        }
    }
}

/// One period of a trend row: its label, its distribution as a 100% stacked bar and the share
/// dissatisfied.
pub(crate) struct TrendCell {
    /// The top of its bar in the row's chart.
    pub y: i64,
    pub label: String,
    pub count: i64,
    pub dissatisfied: String,
    /// Shown only beside the distribution.
    pub mean: String,
    /// `(x, width, score, n)` of each score's segment on a 200-px bar.
    pub segments: Vec<(i64, i64, i64, i64)>,
}

/// An aspect of a category over the periods, oldest first, ending with the analysed one.
pub(crate) struct TrendRow {
    pub category: String,
    pub aspect: String,
    pub cells: Vec<TrendCell>,
    /// The change of the share dissatisfied against the period before (percentage points).
    pub delta: String,
}

pub(crate) fn pct(v: &Option<f64>) -> String {
    v.map(|v| format!("{:.1}%", v * 100.0))
        .unwrap_or_else(|| "—".into())
}

pub(crate) fn mean(v: &Option<f64>) -> String {
    v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "—".into())
}

/// A 100% stacked bar of a histogram, `width` pixels wide.
pub(crate) fn segments(h: &[i64; 5], width: i64) -> Vec<(i64, i64, i64, i64)> {
    let n: i64 = h.iter().sum();
    if n == 0 {
        return Vec::new();
    }
    let mut x = 0;
    let mut out = Vec::new();
    let mut acc = 0;
    for (i, c) in h.iter().enumerate() {
        acc += c;
        let end = acc * width / n;
        if *c > 0 {
            out.push((x, end - x, i as i64 + 1, *c));
        }
        x = end;
    }
    out
}

/// The trend rows of an analysis: every (category, aspect) of the analysed period.
pub(crate) fn trend_rows(a: &Analysis) -> Vec<TrendRow> {
    let periods: Vec<&reqloop_store::PeriodDistributions> = a.trend.iter().collect();
    a.aspects
        .iter()
        .map(|d| {
            let mut cells: Vec<TrendCell> = periods
                .iter()
                .map(|p| {
                    let found = p
                        .aspects
                        .iter()
                        .find(|x| x.category == d.category && x.aspect == d.aspect);
                    let h = found.map(|x| x.histogram).unwrap_or([0; 5]);
                    TrendCell {
                        y: 0,
                        label: format!("{} – {}", p.from, p.to),
                        count: found.map(|x| x.count).unwrap_or(0),
                        dissatisfied: pct(&found.and_then(|x| x.dissatisfied)),
                        mean: mean(&found.and_then(|x| x.mean)),
                        segments: segments(&h, 200),
                    }
                })
                .collect();
            cells.push(TrendCell {
                y: 0,
                label: format!("{} – {}", a.from, a.to),
                count: d.count,
                dissatisfied: pct(&d.dissatisfied),
                mean: mean(&d.mean),
                segments: segments(&d.histogram, 200),
            });
            for (i, c) in cells.iter_mut().enumerate() {
                c.y = i as i64 * 20;
            }
            let before = periods.last().and_then(|p| {
                p.aspects
                    .iter()
                    .find(|x| x.category == d.category && x.aspect == d.aspect)
                    .and_then(|x| x.dissatisfied)
            });
            let delta = match (d.dissatisfied, before) {
                (Some(now), Some(then)) => format!("{:+.1}", (now - then) * 100.0),
                _ => "—".into(),
            };
            TrendRow {
                category: d.category.clone(),
                aspect: d.aspect.clone(),
                cells,
                delta,
            }
        })
        .collect()
}

/// Reminds the customers who have not answered yet (the reminder shows on their account
/// manager's work list).
pub async fn remind(State(s): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    if let Err(e) = u.actor.require(Action::SurveyManage) {
        return error_page(&u, e.into());
    }
    match s.store.remind_unanswered(&u.actor, id, s.clock.now()).await {
        Ok(n) => Redirect::to(&format!("/surveys/{id}?reminded={n}")).into_response(),
        Err(e) => {
            let e = AppError::from(e);
            campaign_view(&s, &u, id, 1, refusal(&u.t, &e), String::new(), e.status).await
        }
    }
}

#[derive(Template)]
#[template(path = "survey_analysis.html")]
struct AnalysisPage {
    c: Chrome,
    notice: String,
    from: String,
    to: String,
    by: String,
    analysis: Option<Analysis>,
    trend: Vec<TrendRow>,
    /// Aspect code → label.
    labels: HashMap<String, String>,
    can_manage: bool,
}

impl AnalysisPage {
    fn label(&self, aspect: &str) -> String {
        self.labels
            .get(aspect)
            .cloned()
            .unwrap_or_else(|| aspect.to_string())
    }
    fn pct(&self, v: &Option<f64>) -> String {
        pct(v)
    }
    /// The query string that opens the action form for a weakness.
    fn action_link(&self, a: &Analysis, category: &str, aspect: &str) -> String {
        let d = a
            .aspects
            .iter()
            .find(|d| d.category == category && d.aspect == aspect);
        let finding = d
            .map(|d| {
                format!(
                    "{} {} – {}: n={}, 1–5: {:?}, ≤2: {}",
                    self.label(aspect),
                    a.from,
                    a.to,
                    d.count,
                    d.histogram,
                    pct(&d.dissatisfied)
                )
            })
            .unwrap_or_default();
        let q: Vec<(&str, &str)> = vec![
            ("aspect", aspect),
            ("category_by", &a.by),
            ("category", category),
            ("finding", &finding),
        ];
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(q)
            .finish()
    }
    fn mean(&self, v: &Option<f64>) -> String {
        v.map(|v| format!("{v:.2}")).unwrap_or_else(|| "—".into())
    }
    /// Bar heights (0–60 px) of a histogram, scaled to its largest bar.
    fn bars(&self, h: &[i64; 5]) -> Vec<(i64, i64, i64)> {
        let max = h.iter().copied().max().unwrap_or(0).max(1);
        h.iter()
            .enumerate()
            .map(|(i, n)| (i as i64 + 1, n * 60 / max, *n))
            .collect()
    }
}

pub async fn analysis(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = u.actor.require(Action::SurveyRead) {
        return error_page(&u, e.into());
    }
    let today = reqloop_domain::time::shanghai_date(s.clock.now());
    let from = q
        .get("from")
        .cloned()
        .unwrap_or_else(|| format!("{}-01-01", chrono::Datelike::year(&today)));
    let to = q.get("to").cloned().unwrap_or_else(|| today.to_string());
    let by = q.get("by").cloned().unwrap_or_default();
    let query = AnalysisQuery {
        from: from.clone(),
        to: to.clone(),
        by: Some(by.clone()).filter(|b| !b.is_empty()),
        periods: Some(3),
    };
    let (analysis, notice, status) =
        match report_or_notice(&u, s.store.survey_analysis(&query).await) {
            Ok(v) => v,
            Err(page) => return *page,
        };
    let labels = match aspect_labels(&s, &u).await {
        Ok(l) => l,
        Err(e) => return error_page(&u, e),
    };
    let page = AnalysisPage {
        trend: analysis.as_ref().map(trend_rows).unwrap_or_default(),
        can_manage: may(&u.actor, Action::SurveyManage),
        c: Chrome::new(&u, "surveys", u.t.t("survey.analysis").to_string()),
        notice,
        from,
        to,
        by,
        analysis,
        labels,
    };
    (status, render(&page)).into_response()
}

/// Aspect code → label in the user's language.
pub(crate) async fn aspect_labels(
    s: &AppState,
    u: &PageUser,
) -> Result<HashMap<String, String>, AppError> {
    Ok(s.store
        .aspect_labels()
        .await?
        .into_iter()
        .map(|(code, (zh, en))| (code, if u.t.is_en() { en } else { zh }))
        .collect())
}
