//! Survey follow-up pages: who no survey has reached this year (per account manager), the
//! semiannual satisfaction report to top management (A4 print and Excel, 002§4.5.2–4.5.3), and
//! the rectification actions of the weaknesses found (publish → rectify → reply → evaluate).

use std::borrow::Borrow;
use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::access::Action;
use reqloop_domain::rectification::{ActionFields, ActionState, ActionStep};
use reqloop_store::{
    ActionFilter, ActionStepRequest, Analysis, Coverage, CoverageQuery, SatisfactionReport,
    SurveyAction,
};

use super::requirements::refusal;
use super::surveys::{aspect_labels, pct, trend_rows, TrendRow};
use super::{
    choices, error_page, field_messages, filters, may, render, report_or_notice, Chrome, FormData,
    Opt, Pager,
};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::export::Sheet;
use crate::AppState;

fn this_year(s: &AppState) -> i32 {
    chrono::Datelike::year(&reqloop_domain::time::shanghai_date(s.clock.now()))
}

#[derive(Template)]
#[template(path = "survey_coverage.html")]
struct CoveragePage {
    c: Chrome,
    cov: Coverage,
    manager: String,
    pager: Pager,
}

pub async fn coverage(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let year = q
        .get("year")
        .and_then(|y| y.parse().ok())
        .unwrap_or_else(|| this_year(&s));
    let manager = q.get("manager_id").cloned().unwrap_or_default();
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let loaded = async {
        u.actor.require(Action::SurveyRead)?;
        Ok::<_, AppError>(
            s.store
                .survey_coverage(
                    &u.actor,
                    &CoverageQuery {
                        year,
                        manager_id: manager.parse().ok(),
                        page: Some(page),
                        per_page: Some(50),
                    },
                )
                .await?,
        )
    }
    .await;
    match loaded {
        Ok(cov) => render(&CoveragePage {
            c: Chrome::new(&u, "surveys", u.t.t("survey.coverage").to_string()),
            pager: Pager::new(
                page,
                50,
                cov.uncovered_total,
                "/survey-coverage",
                &[
                    ("year".into(), year.to_string()),
                    ("manager_id".into(), manager.clone()),
                ],
            ),
            cov,
            manager,
        }),
        Err(e) => error_page(&u, e),
    }
}

#[derive(Template)]
#[template(path = "survey_report.html")]
struct ReportPage {
    c: Chrome,
    notice: String,
    year: i32,
    half: u32,
    r: Option<SatisfactionReport>,
    /// Per analysis (overall, then by grade, tier, industry): its trend rows.
    trends: Vec<Vec<TrendRow>>,
    labels: HashMap<String, String>,
}

impl ReportPage {
    fn label(&self, aspect: &str) -> String {
        self.labels
            .get(aspect)
            .cloned()
            .unwrap_or_else(|| aspect.to_string())
    }
    fn share(&self, part: impl Borrow<i64>, whole: impl Borrow<i64>) -> String {
        pct(&reqloop_domain::survey::response_rate(
            *whole.borrow(),
            *part.borrow(),
        ))
    }
    fn analyses(&self) -> Vec<(&Analysis, &Vec<TrendRow>)> {
        match &self.r {
            Some(r) => std::iter::once(&r.overall)
                .chain(r.by_category.iter())
                .zip(self.trends.iter())
                .collect(),
            None => Vec::new(),
        }
    }
}

fn half_of(s: &AppState, q: &HashMap<String, String>) -> (i32, u32) {
    let today = reqloop_domain::time::shanghai_date(s.clock.now());
    let year = q
        .get("year")
        .and_then(|y| y.parse().ok())
        .unwrap_or_else(|| chrono::Datelike::year(&today));
    let half = q.get("half").and_then(|h| h.parse().ok()).unwrap_or(
        if chrono::Datelike::month(&today) <= 6 {
            1
        } else {
            2
        },
    );
    (year, half)
}

pub async fn report(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = u.actor.require(Action::SurveyRead) {
        return error_page(&u, e.into());
    }
    let (year, half) = half_of(&s, &q);
    let (r, notice, status) =
        match report_or_notice(&u, s.store.satisfaction_report(year, half).await) {
            Ok(v) => v,
            Err(page) => return *page,
        };
    let labels = match aspect_labels(&s, &u).await {
        Ok(l) => l,
        Err(e) => return error_page(&u, e),
    };
    let trends = r
        .iter()
        .flat_map(|r| std::iter::once(&r.overall).chain(r.by_category.iter()))
        .map(trend_rows)
        .collect();
    let page = ReportPage {
        c: Chrome::new(&u, "surveys", u.t.t("survey.report").to_string()),
        notice,
        year,
        half,
        r,
        trends,
        labels,
    };
    (status, render(&page)).into_response()
}

/// The report as a workbook: one sheet per section.
pub async fn report_xlsx(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = u.actor.require(Action::SurveyRead) {
        return error_page(&u, e.into());
    }
    let (year, half) = half_of(&s, &q);
    let r = match s.store.satisfaction_report(year, half).await {
        Ok(r) => r,
        Err(e) => return error_page(&u, e.into()),
    };
    let labels = match aspect_labels(&s, &u).await {
        Ok(l) => l,
        Err(e) => return error_page(&u, e),
    };
    let t = u.t;
    let label = |a: &str| labels.get(a).cloned().unwrap_or_else(|| a.to_string());
    let h = |keys: &[&str]| keys.iter().map(|k| t.t(k).to_string()).collect::<Vec<_>>();
    let mut sheets = vec![Sheet {
        name: t.t("survey.report_activities").to_string(),
        headers: h(&[
            "survey.title",
            "survey.kind",
            "survey.period",
            "survey.invited",
            "survey.answered",
            "survey.rate",
        ]),
        rows: r
            .campaigns
            .iter()
            .map(|g| {
                vec![
                    g.title.clone(),
                    t.label("campaign", &g.kind),
                    format!("{} – {}", g.period_start, g.period_end),
                    g.invited.to_string(),
                    g.answered.to_string(),
                    pct(&reqloop_domain::survey::response_rate(
                        g.invited, g.answered,
                    )),
                ]
            })
            .collect(),
    }];
    let mut dist = Vec::new();
    let mut trend = Vec::new();
    let mut ranking = Vec::new();
    for a in std::iter::once(&r.overall).chain(r.by_category.iter()) {
        let dim = if a.by.is_empty() {
            t.t("survey.by_all").to_string()
        } else {
            t.label("survey.by", &a.by)
        };
        for d in &a.aspects {
            let mut row = vec![dim.clone(), d.category.clone(), label(&d.aspect)];
            row.extend(d.histogram.iter().map(|n| n.to_string()));
            row.extend([
                d.count.to_string(),
                d.mean.map(|m| format!("{m:.2}")).unwrap_or_default(),
                pct(&d.dissatisfied),
            ]);
            dist.push(row);
        }
        for p in a.trend.iter() {
            for d in &p.aspects {
                let mut row = vec![
                    dim.clone(),
                    format!("{} – {}", p.from, p.to),
                    d.category.clone(),
                    label(&d.aspect),
                ];
                row.extend(d.histogram.iter().map(|n| n.to_string()));
                row.extend([d.count.to_string(), pct(&d.dissatisfied)]);
                trend.push(row);
            }
        }
        for k in &a.rankings {
            let names = |v: &[String]| v.iter().map(|x| label(x)).collect::<Vec<_>>().join("、");
            ranking.push(vec![
                dim.clone(),
                k.category.clone(),
                names(&k.strengths),
                names(&k.weaknesses),
            ]);
        }
    }
    let scores = ["1", "2", "3", "4", "5"].map(String::from);
    let mut dh = h(&["survey.by", "survey.category", "survey.aspect"]);
    dh.extend(scores.iter().cloned());
    dh.extend(h(&["survey.n", "survey.mean", "survey.dissatisfied"]));
    sheets.push(Sheet {
        name: t.t("survey.report_distribution").to_string(),
        headers: dh,
        rows: dist,
    });
    let mut th = h(&[
        "survey.by",
        "survey.period",
        "survey.category",
        "survey.aspect",
    ]);
    th.extend(scores.iter().cloned());
    th.extend(h(&["survey.n", "survey.dissatisfied"]));
    sheets.push(Sheet {
        name: t.t("survey.trend").to_string(),
        headers: th,
        rows: trend,
    });
    sheets.push(Sheet {
        name: t.t("survey.strengths_weaknesses").to_string(),
        headers: h(&[
            "survey.by",
            "survey.category",
            "survey.strengths",
            "survey.weaknesses",
        ]),
        rows: ranking,
    });
    sheets.push(Sheet {
        name: t.t("survey.actions").to_string(),
        headers: h(&[
            "survey.action_title",
            "survey.aspect",
            "survey.action_owner",
            "survey.action_due",
            "survey.status",
        ]),
        rows: r
            .actions
            .iter()
            .map(|a| {
                vec![
                    a.title.clone(),
                    label(&a.aspect),
                    a.owner_name.clone(),
                    a.due_on.clone(),
                    t.label("action", &a.status),
                ]
            })
            .collect(),
    });
    crate::export::book_download(&u, &format!("satisfaction-{year}-H{half}.xlsx"), &sheets)
}

#[derive(Template)]
#[template(path = "survey_actions.html")]
struct ActionsPage {
    c: Chrome,
    notice: String,
    rows: Vec<SurveyAction>,
    pager: Pager,
    statuses: Vec<Opt>,
    can_manage: bool,
    owners: Vec<Opt>,
    v: HashMap<String, String>,
    errors: HashMap<String, String>,
    labels: HashMap<String, String>,
    today: chrono::NaiveDate,
}

impl ActionsPage {
    fn err(&self, f: &str) -> &str {
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
    fn val(&self, f: &str) -> &str {
        self.v.get(f).map(String::as_str).unwrap_or("")
    }
    fn label(&self, aspect: &str) -> String {
        self.labels
            .get(aspect)
            .cloned()
            .unwrap_or_else(|| aspect.to_string())
    }
}

const ACTION_FIELDS: [&str; 7] = [
    "title",
    "aspect",
    "category_by",
    "category",
    "finding",
    "owner_id",
    "due_on",
];

#[allow(clippy::too_many_arguments)]
async fn actions_view(
    s: &AppState,
    u: &PageUser,
    q: &HashMap<String, String>,
    form: &HashMap<String, String>,
    notice: String,
    errors: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let filter_status = q.get("status").cloned().unwrap_or_default();
    let loaded = async {
        u.actor.require(Action::SurveyRead)?;
        let list = s
            .store
            .list_survey_actions(&ActionFilter {
                status: filter_status.parse().ok(),
                page: Some(page),
                per_page: Some(20),
                ..Default::default()
            })
            .await?;
        let users = s.store.list_users().await?;
        let labels = aspect_labels(s, u).await?;
        Ok::<_, AppError>((list, users, labels))
    }
    .await;
    let (list, users, labels) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let t = u.t;
    let owner = form.get("owner_id").cloned().unwrap_or_default();
    let page = ActionsPage {
        c: Chrome::new(u, "surveys", t.t("survey.actions").to_string()),
        notice,
        pager: Pager::new(
            page,
            20,
            list.total,
            "/survey-actions",
            &[("status".into(), filter_status.clone())],
        ),
        rows: list.items,
        statuses: choices(
            ActionState::ALL,
            ActionState::as_str,
            &t,
            "action",
            filter_status.parse().ok(),
        ),
        can_manage: may(&u.actor, Action::SurveyManage),
        owners: users
            .iter()
            .filter(|x| x.active && x.role != reqloop_domain::user::Role::Portal)
            .map(|x| {
                let id = x.id.0.to_string();
                let sel = owner == id;
                (id, x.display_name.clone(), sel)
            })
            .collect(),
        v: ACTION_FIELDS
            .iter()
            .map(|k| (k.to_string(), form.get(*k).cloned().unwrap_or_default()))
            .collect(),
        errors,
        labels,
        today: reqloop_domain::time::shanghai_date(s.clock.now()),
    };
    (status, render(&page)).into_response()
}

/// The list; the query may prefill the form (a weakness from the analysis).
pub async fn actions(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    actions_view(
        &s,
        &u,
        &q,
        &q,
        String::new(),
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn create_action(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    if let Err(e) = u.actor.require(Action::SurveyManage) {
        return error_page(&u, e.into());
    }
    let f = ActionFields {
        title: form.get("title"),
        aspect: form.get("aspect"),
        category_by: form.get("category_by"),
        category: form.get("category"),
        finding: form.get("finding"),
        owner_id: form.get("owner_id").parse().unwrap_or(0),
        due_on: form.get("due_on"),
    };
    let (status, notice, errors) = match s
        .store
        .create_survey_action(&u.actor, f, s.clock.now())
        .await
    {
        Ok(a) => return Redirect::to(&format!("/survey-actions/{}", a.id)).into_response(),
        Err(reqloop_store::Error::Invalid(e)) => (
            StatusCode::BAD_REQUEST,
            u.t.t("form.fix_errors").to_string(),
            field_messages(&u.t, &e),
        ),
        Err(e) => {
            let e = AppError::from(e);
            (e.status, refusal(&u.t, &e), HashMap::new())
        }
    };
    let values: HashMap<String, String> = ACTION_FIELDS
        .iter()
        .map(|k| (k.to_string(), form.get(k)))
        .collect();
    actions_view(&s, &u, &HashMap::new(), &values, notice, errors, status).await
}

#[derive(Template)]
#[template(path = "survey_action.html")]
struct ActionPage {
    c: Chrome,
    notice: String,
    a: SurveyAction,
    /// The step the action is waiting for, if the user may take it.
    step: Option<ActionStep>,
    label: String,
    overdue: bool,
    note: String,
    errors: HashMap<String, String>,
}

impl ActionPage {
    fn err(&self, f: &str) -> &str {
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
}

async fn action_view(
    s: &AppState,
    u: &PageUser,
    id: i64,
    notice: String,
    note: String,
    errors: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let loaded = async {
        u.actor.require(Action::SurveyRead)?;
        let a = s.store.get_survey_action(id).await?;
        let labels = aspect_labels(s, u).await?;
        Ok::<_, AppError>((a, labels))
    }
    .await;
    let (a, labels) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let may_act = a.owner_id == u.actor.user_id.0 || may(&u.actor, Action::SurveyManage);
    let step = match a.status.parse::<ActionState>() {
        Ok(ActionState::Published) => Some(ActionStep::Rectify),
        Ok(ActionState::Rectifying) => Some(ActionStep::Reply),
        Ok(ActionState::Replied) => Some(ActionStep::Evaluate),
        _ => None,
    }
    .filter(|_| may_act);
    let page = ActionPage {
        c: Chrome::new(u, "surveys", a.title.clone()),
        notice,
        step,
        label: labels.get(&a.aspect).cloned().unwrap_or(a.aspect.clone()),
        overdue: a.overdue(reqloop_domain::time::shanghai_date(s.clock.now())),
        a,
        note,
        errors,
    };
    (status, render(&page)).into_response()
}

pub async fn action(State(s): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    action_view(
        &s,
        &u,
        id,
        String::new(),
        String::new(),
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn action_step(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let r = match form.get("step").parse::<ActionStep>() {
        Ok(step) => ActionStepRequest {
            version: form.get("version").parse().unwrap_or(-1),
            step,
            note: form.get("note"),
            effective: match form.get("effective").as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
        },
        Err(_) => {
            let e = AppError::from(reqloop_store::Error::field("step", "choice"));
            return action_view(
                &s,
                &u,
                id,
                refusal(&u.t, &e),
                String::new(),
                HashMap::new(),
                e.status,
            )
            .await;
        }
    };
    let note = r.note.clone();
    let (status, notice, errors) = match s
        .store
        .step_survey_action(&u.actor, id, r, s.clock.now())
        .await
    {
        Ok(_) => return Redirect::to(&format!("/survey-actions/{id}")).into_response(),
        Err(reqloop_store::Error::Invalid(e)) => (
            StatusCode::BAD_REQUEST,
            u.t.t("form.fix_errors").to_string(),
            field_messages(&u.t, &e),
        ),
        Err(e) => {
            let e = AppError::from(e);
            (e.status, refusal(&u.t, &e), HashMap::new())
        }
    };
    action_view(&s, &u, id, notice, note, errors, status).await
}
