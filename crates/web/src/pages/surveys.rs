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
    choices, error_page, field_messages, filters, may, render, Chrome, FormData, Opt, Pager,
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
        Ok::<_, AppError>((list, users, customers))
    }
    .await;
    let (list, users, customers) = match loaded {
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
    campaign_view(&s, &u, id, page, String::new(), StatusCode::OK).await
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
            campaign_view(&s, &u, id, 1, refusal(&u.t, &e), e.status).await
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
    /// Aspect code → label.
    labels: HashMap<String, String>,
}

impl AnalysisPage {
    fn label(&self, aspect: &str) -> String {
        self.labels
            .get(aspect)
            .cloned()
            .unwrap_or_else(|| aspect.to_string())
    }
    fn pct(&self, v: &Option<f64>) -> String {
        v.map(|v| format!("{:.1}%", v * 100.0))
            .unwrap_or_else(|| "—".into())
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
    };
    let (analysis, notice, status) = match s.store.survey_analysis(&query).await {
        Ok(a) => (Some(a), String::new(), StatusCode::OK),
        Err(reqloop_store::Error::Invalid(e)) => (
            None,
            field_messages(&u.t, &e)
                .into_values()
                .collect::<Vec<_>>()
                .join("；"),
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => return error_page(&u, e.into()),
    };
    let labels = reqloop_domain::survey::default_questionnaire()
        .aspects
        .into_iter()
        .map(|a| (a.code, if u.t.is_en() { a.name_en } else { a.name_zh }))
        .collect();
    let page = AnalysisPage {
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
