//! Grading pages (F2; 004§1.3, 001§4): the runs with the form that starts one and the grading
//! rules; one run with how grades and tiers stand now and after it, its candidate list with the
//! evidence, the committee's adjustments and its decision.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::access::Action;
use reqloop_domain::customer::{Grade, Tier};
use reqloop_domain::grading::{GradeRules, RunKind};
use reqloop_store::{Adjustment, Candidate, CandidateFilter, GradingRun, RunDecision, RunSummary};

use super::requirements::refusal;
use super::{error_page, field_messages, filters, may, render, Chrome, FormData, Pager};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::AppState;

const PER_PAGE: i64 = 25;

#[derive(Template)]
#[template(path = "grading.html")]
struct ListPage {
    c: Chrome,
    notice: String,
    runs: Vec<GradingRun>,
    pager: Pager,
    rules: GradeRules,
    /// Which form failed (`run` or `rules`) and its messages.
    failed: &'static str,
    errors: HashMap<String, String>,
    year: i32,
    can_manage: bool,
}

impl ListPage {
    fn err(&self, form: &str, f: &str) -> &str {
        if self.failed != form {
            return "";
        }
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
    fn kinds(&self) -> &'static [RunKind] {
        RunKind::ALL
    }
    fn rule_fields(&self) -> Vec<(&'static str, String)> {
        let r = &self.rules;
        vec![
            ("a_last", r.a_last.to_string()),
            ("b_last", r.b_last.to_string()),
            ("long_term_tag", r.long_term_tag.clone()),
            ("government_tag", r.government_tag.clone()),
            ("influence_tag", r.influence_tag.clone()),
        ]
    }
}

fn this_year(s: &AppState) -> i32 {
    chrono::Datelike::year(&reqloop_domain::time::shanghai_date(s.clock.now()))
}

async fn list_view(
    s: &AppState,
    u: &PageUser,
    page: i64,
    notice: String,
    failed: &'static str,
    errors: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let loaded = async {
        let runs = s
            .store
            .list_grading_runs(&u.actor, Some(page), Some(PER_PAGE))
            .await?;
        let rules = s.store.grading_rules().await?;
        Ok::<_, AppError>((runs, rules))
    }
    .await;
    let (runs, rules) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let p = ListPage {
        c: Chrome::new(u, "grading", u.t.t("grading.title").to_string()),
        notice,
        pager: Pager::new(page, PER_PAGE, runs.total, "/grading", &[]),
        runs: runs.items,
        rules,
        failed,
        errors,
        year: this_year(s),
        can_manage: may(&u.actor, Action::GradingManage),
    };
    (status, render(&p)).into_response()
}

pub async fn list(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    list_view(
        &s,
        &u,
        page,
        String::new(),
        "",
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

/// Starts a run from the form (kind, year, half).
pub async fn start(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    let kind = form.get("kind").parse::<RunKind>();
    let r = match kind {
        Ok(kind) => {
            let run = reqloop_store::NewRun {
                kind,
                year: form.get("year").parse().unwrap_or(0),
                half: form.get("half").parse().ok(),
            };
            s.store
                .start_grading_run(&u.actor, run, s.clock.now())
                .await
        }
        Err(_) => Err(reqloop_store::Error::field("kind", "choice")),
    };
    match r {
        Ok(run) => Redirect::to(&format!("/grading/{}", run.id)).into_response(),
        Err(reqloop_store::Error::Invalid(e)) => {
            let errors = field_messages(&u.t, &e);
            let notice = u.t.t("form.fix_errors").to_string();
            list_view(&s, &u, 1, notice, "run", errors, StatusCode::BAD_REQUEST).await
        }
        Err(e) => {
            let e = AppError::from(e);
            let notice = refusal(&u.t, &e);
            list_view(&s, &u, 1, notice, "run", HashMap::new(), e.status).await
        }
    }
}

/// Saves the grading rules from the form.
pub async fn save_rules(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    let rules = GradeRules {
        a_last: form.get("a_last").parse().unwrap_or(0),
        b_last: form.get("b_last").parse().unwrap_or(0),
        long_term_tag: form.get("long_term_tag"),
        government_tag: form.get("government_tag"),
        influence_tag: form.get("influence_tag"),
    };
    match s
        .store
        .set_grading_rules(&u.actor, rules, s.clock.now())
        .await
    {
        Ok(_) => Redirect::to("/grading#rules").into_response(),
        Err(reqloop_store::Error::Invalid(e)) => {
            let errors = field_messages(&u.t, &e);
            let notice = u.t.t("form.fix_errors").to_string();
            list_view(&s, &u, 1, notice, "rules", errors, StatusCode::BAD_REQUEST).await
        }
        Err(e) => {
            let e = AppError::from(e);
            let notice = refusal(&u.t, &e);
            list_view(&s, &u, 1, notice, "rules", HashMap::new(), e.status).await
        }
    }
}

#[derive(Template)]
#[template(path = "grading_run.html")]
struct RunPage {
    c: Chrome,
    notice: String,
    run: GradingRun,
    summary: RunSummary,
    rows: Vec<Candidate>,
    pager: Pager,
    changed_only: bool,
    /// The candidate whose adjustment failed, with its messages.
    failed: Option<i64>,
    errors: HashMap<String, String>,
    can_adjust: bool,
    can_decide: bool,
}

impl RunPage {
    fn err(&self, customer: &i64, f: &str) -> &str {
        if self.failed != Some(*customer) {
            return "";
        }
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
    fn decision_err(&self, f: &str) -> &str {
        if self.failed != Some(0) {
            return "";
        }
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
    fn grades(&self) -> &'static [Grade] {
        Grade::ALL
    }
    fn tiers(&self) -> &'static [Tier] {
        Tier::ALL
    }
    fn outcome_grade<'a>(&self, c: &'a Candidate) -> &'a str {
        c.decided_grade.as_deref().unwrap_or(&c.proposed_grade)
    }
    fn outcome_tier<'a>(&self, c: &'a Candidate) -> &'a str {
        c.decided_tier.as_deref().unwrap_or(&c.proposed_tier)
    }
    fn share(&self, v: &f64) -> String {
        format!("{:.2}%", v * 100.0)
    }
    fn growth(&self, v: &Option<f64>) -> String {
        v.map(|g| format!("{:+.1}%", g * 100.0))
            .unwrap_or_else(|| "—".into())
    }
    fn period(&self) -> String {
        if self.run.half == 0 {
            self.run.year.to_string()
        } else {
            format!("{} H{}", self.run.year, self.run.half)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_view(
    s: &AppState,
    u: &PageUser,
    id: i64,
    q: &HashMap<String, String>,
    notice: String,
    failed: Option<i64>,
    errors: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let changed_only = q.get("all").is_none_or(|v| v != "1");
    let f = CandidateFilter {
        changed: changed_only.then_some(true),
        page: Some(page),
        per_page: Some(PER_PAGE),
    };
    let loaded = async {
        let run = s.store.get_grading_run(&u.actor, id).await?;
        let summary = s.store.grading_summary(&u.actor, id).await?;
        let rows = s.store.grading_candidates(&u.actor, id, &f).await?;
        Ok::<_, AppError>((run, summary, rows))
    }
    .await;
    let (run, summary, rows) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let draft = run.state == "draft";
    let keep: Vec<(String, String)> = q
        .get("all")
        .map(|v| vec![("all".to_string(), v.clone())])
        .unwrap_or_default();
    let p = RunPage {
        c: Chrome::new(
            u,
            "grading",
            format!("{} #{}", u.t.t("grading.title"), run.id),
        ),
        notice,
        summary,
        pager: Pager::new(page, PER_PAGE, rows.total, &format!("/grading/{id}"), &keep),
        rows: rows.items,
        changed_only,
        failed,
        errors,
        can_adjust: draft
            && (may(&u.actor, Action::GradingManage) || may(&u.actor, Action::GradingApprove)),
        can_decide: draft
            && may(&u.actor, Action::GradingApprove)
            && run.created_by != u.actor.user_id.0,
        run,
    };
    (status, render(&p)).into_response()
}

pub async fn run(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    run_view(
        &s,
        &u,
        id,
        &q,
        String::new(),
        None,
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

/// The committee's adjustment of one candidate.
pub async fn adjust(
    State(s): State<AppState>,
    u: PageUser,
    Path((id, customer)): Path<(i64, i64)>,
    form: FormData,
) -> Response {
    let (Ok(grade), Ok(tier)) = (
        form.get("grade").parse::<Grade>(),
        form.get("tier").parse::<Tier>(),
    ) else {
        let e = AppError::from(reqloop_store::Error::field("grade", "choice"));
        return run_view(
            &s,
            &u,
            id,
            &HashMap::new(),
            refusal(&u.t, &e),
            None,
            HashMap::new(),
            e.status,
        )
        .await;
    };
    let a = Adjustment {
        version: form.get("version").parse().unwrap_or(-1),
        grade,
        tier,
        note: form.get("note"),
    };
    let back: HashMap<String, String> = [("all".to_string(), form.get("all"))]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    match s
        .store
        .adjust_candidate(&u.actor, id, customer, a, s.clock.now())
        .await
    {
        Ok(_) => {
            let q = if back.is_empty() { "" } else { "?all=1" };
            Redirect::to(&format!("/grading/{id}{q}#candidate-{customer}")).into_response()
        }
        Err(reqloop_store::Error::Invalid(e)) => {
            let errors = field_messages(&u.t, &e);
            let notice = u.t.t("form.fix_errors").to_string();
            run_view(
                &s,
                &u,
                id,
                &back,
                notice,
                Some(customer),
                errors,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => {
            let e = AppError::from(e);
            let notice = refusal(&u.t, &e);
            run_view(&s, &u, id, &back, notice, None, HashMap::new(), e.status).await
        }
    }
}

/// Approve or reject.
pub async fn decide(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let d = RunDecision {
        version: form.get("version").parse().unwrap_or(-1),
        approve: form.get("approve") == "1",
        note: form.get("note"),
    };
    match s
        .store
        .decide_grading_run(&u.actor, id, d, s.clock.now())
        .await
    {
        Ok(a) => {
            let notice =
                u.t.t("grading.applied")
                    .replace("{applied}", &a.applied.to_string())
                    .replace("{skipped}", &a.skipped.to_string());
            run_view(
                &s,
                &u,
                id,
                &HashMap::new(),
                notice,
                None,
                HashMap::new(),
                StatusCode::OK,
            )
            .await
        }
        Err(reqloop_store::Error::Invalid(e)) => {
            let errors = field_messages(&u.t, &e);
            let notice = u.t.t("form.fix_errors").to_string();
            run_view(
                &s,
                &u,
                id,
                &HashMap::new(),
                notice,
                Some(0),
                errors,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => {
            let e = AppError::from(e);
            let notice = refusal(&u.t, &e);
            run_view(
                &s,
                &u,
                id,
                &HashMap::new(),
                notice,
                None,
                HashMap::new(),
                e.status,
            )
            .await
        }
    }
}
