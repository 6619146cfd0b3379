//! Process audit pages (F16): the audits with the plan form, one audit's checklist graded item
//! by item and its printable report, and the shared page of excellent practices.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::access::Action;
use reqloop_domain::ids::UserId;
use reqloop_domain::process_audit::{
    AuditGrade, AuditScope, AuditStatus, ItemGrading, PlanFields, DEFAULT_CHECKLIST,
};
use reqloop_domain::region::PROVINCES;
use reqloop_store::{AuditReport, Practice, ProcessAudit, ProcessAuditFilter};

use super::requirements::refusal;
use super::{
    choices, error_page, field_messages, filters, may, render, Chrome, FormData, Opt, Pager,
};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::AppState;

const PER_PAGE: i64 = 20;

#[derive(Template)]
#[template(path = "process_audits.html")]
struct ListPage {
    c: Chrome,
    notice: String,
    rows: Vec<ProcessAudit>,
    pager: Pager,
    statuses: Vec<Opt>,
    can_plan: bool,
    scopes: Vec<Opt>,
    provinces: Vec<Opt>,
    projects: Vec<Opt>,
    auditors: Vec<Opt>,
    checklist: String,
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
}

#[allow(clippy::too_many_arguments)]
async fn list_view(
    s: &AppState,
    u: &PageUser,
    page: i64,
    status: Option<AuditStatus>,
    form: &FormData,
    notice: String,
    errors: HashMap<String, String>,
    code: StatusCode,
) -> Response {
    let filter = ProcessAuditFilter {
        status,
        page: Some(page),
        per_page: Some(PER_PAGE),
        ..Default::default()
    };
    let loaded = async {
        u.actor.require(Action::ProcessAuditRead)?;
        let list = s.store.list_process_audits(&filter).await?;
        let projects = s.store.list_projects().await?;
        let users = s.store.list_users().await?;
        Ok::<_, AppError>((list, projects, users))
    }
    .await;
    let (list, projects, users) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let t = u.t;
    let pick = |k: &str, v: &str| form.get(k) == v;
    let checklist = if form.get("items").is_empty() {
        DEFAULT_CHECKLIST.join("\n")
    } else {
        form.get("items")
    };
    let keep: Vec<(String, String)> = status
        .map(|s| vec![("status".to_string(), s.as_str().to_string())])
        .unwrap_or_default();
    let page = ListPage {
        c: Chrome::new(u, "process_audits", t.t("nav.process_audits").to_string()),
        notice,
        pager: Pager::new(page, PER_PAGE, list.total, "/process-audits", &keep),
        rows: list.items,
        statuses: choices(AuditStatus::ALL, AuditStatus::as_str, &t, "paudit", status),
        can_plan: may(&u.actor, Action::ProcessAuditWrite),
        scopes: choices(
            AuditScope::ALL,
            AuditScope::as_str,
            &t,
            "ascope",
            form.get("scope").parse().ok(),
        ),
        provinces: PROVINCES
            .iter()
            .map(|(name, _, _)| (name.to_string(), name.to_string(), pick("province", name)))
            .collect(),
        projects: projects
            .iter()
            .map(|p| {
                let id = p.id.to_string();
                let sel = pick("project_id", &id);
                (id, format!("{} {}", p.fields.code, p.fields.name), sel)
            })
            .collect(),
        auditors: users
            .iter()
            .filter(|x| x.active && x.role != reqloop_domain::user::Role::Portal)
            .map(|x| {
                let id = x.id.0.to_string();
                let sel = pick("auditor_id", &id);
                (id, format!("{} ({})", x.display_name, x.username), sel)
            })
            .collect(),
        checklist,
        v: ["title", "planned_on"]
            .iter()
            .map(|k| (k.to_string(), form.get(k)))
            .collect(),
        errors,
    };
    (code, render(&page)).into_response()
}

pub async fn list(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let status = q.get("status").and_then(|v| v.parse().ok());
    let empty = FormData(vec![]);
    list_view(
        &s,
        &u,
        page,
        status,
        &empty,
        String::new(),
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn plan(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    if let Err(e) = u.actor.require(Action::ProcessAuditWrite) {
        return error_page(&u, e.into());
    }
    let mut e = reqloop_domain::FieldErrors::default();
    let scope: Option<AuditScope> = form.get("scope").parse().ok();
    let auditor: Option<i64> = form.get("auditor_id").parse().ok();
    if scope.is_none() {
        e.add("scope", "choice");
    }
    if auditor.is_none() {
        e.add("auditor_id", "required");
    }
    let result = match (scope, auditor) {
        (Some(scope), Some(auditor)) => {
            let f = PlanFields {
                title: form.get("title"),
                scope,
                province: form.get("province"),
                project_id: form.get("project_id").parse().ok(),
                planned_on: form.get("planned_on"),
                auditor_id: UserId(auditor),
                items: form
                    .get("items")
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
            };
            s.store.plan_process_audit(&u.actor, f, s.clock.now()).await
        }
        _ => Err(reqloop_store::Error::Invalid(e)),
    };
    let (code, notice, errors) = match result {
        Ok(a) => return Redirect::to(&format!("/process-audits/{}", a.id)).into_response(),
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
    list_view(&s, &u, 1, None, &form, notice, errors, code).await
}

// ---- one audit ----

#[derive(Template)]
#[template(path = "process_audit.html")]
struct DetailPage {
    c: Chrome,
    notice: String,
    a: ProcessAudit,
    grades: Vec<Opt>,
    /// (grade, label, count, percent of the graded items)
    distribution: Vec<(String, String, i64, i64)>,
    can_grade: bool,
    can_report: bool,
}

async fn detail_view(
    s: &AppState,
    u: &PageUser,
    id: i64,
    notice: String,
    code: StatusCode,
) -> Response {
    let loaded = async {
        u.actor.require(Action::ProcessAuditRead)?;
        Ok::<_, AppError>(s.store.get_process_audit(id).await?)
    }
    .await;
    let a = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let t = u.t;
    let graded: i64 = a.distribution.iter().map(|(_, n)| n).sum();
    let writer = may(&u.actor, Action::ProcessAuditWrite) && a.status != AuditStatus::Reported;
    let page = DetailPage {
        c: Chrome::new(u, "process_audits", a.title.clone()),
        notice,
        grades: choices(AuditGrade::ALL, AuditGrade::as_str, &t, "agrade", None),
        distribution: a
            .distribution
            .iter()
            .map(|(g, n)| {
                (
                    g.as_str().to_string(),
                    t.label("agrade", g.as_str()),
                    *n,
                    if graded > 0 { n * 100 / graded } else { 0 },
                )
            })
            .collect(),
        can_grade: writer,
        can_report: writer && a.ungraded == 0,
        a,
    };
    (code, render(&page)).into_response()
}

pub async fn detail(State(s): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    detail_view(&s, &u, id, String::new(), StatusCode::OK).await
}

async fn land<T>(
    s: &AppState,
    u: &PageUser,
    id: i64,
    result: Result<T, reqloop_store::Error>,
) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!("/process-audits/{id}#checklist")).into_response(),
        Err(reqloop_store::Error::Invalid(errors)) => {
            let messages: Vec<String> = field_messages(&u.t, &errors).into_values().collect();
            detail_view(s, u, id, messages.join("；"), StatusCode::BAD_REQUEST).await
        }
        Err(e) => {
            let e = AppError::from(e);
            detail_view(s, u, id, refusal(&u.t, &e), e.status).await
        }
    }
}

pub async fn grade(
    State(s): State<AppState>,
    u: PageUser,
    Path((id, seq)): Path<(i64, i64)>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::ProcessAuditWrite) {
        return error_page(&u, e.into());
    }
    let Ok(grade) = form.get("grade").parse() else {
        let notice = u.t.t("err.choice").to_string();
        return detail_view(&s, &u, id, notice, StatusCode::BAD_REQUEST).await;
    };
    let g = ItemGrading {
        version: form.get("version").parse().unwrap_or(-1),
        grade,
        note: form.get("note"),
        finding: form.get("finding"),
        practice: form.get("practice"),
    };
    let result = s
        .store
        .grade_audit_item(&u.actor, id, seq, g, s.clock.now())
        .await;
    land(&s, &u, id, result).await
}

pub async fn report(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::ProcessAuditWrite) {
        return error_page(&u, e.into());
    }
    let r = AuditReport {
        version: form.get("version").parse().unwrap_or(-1),
        summary: form.get("summary"),
    };
    let result = s
        .store
        .report_process_audit(&u.actor, id, r, s.clock.now())
        .await;
    land(&s, &u, id, result).await
}

// ---- the shared practices ----

#[derive(Template)]
#[template(path = "practices.html")]
struct PracticesPage {
    c: Chrome,
    rows: Vec<Practice>,
    pager: Pager,
}

pub async fn practices(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let loaded = async {
        u.actor.require(Action::ProcessAuditRead)?;
        Ok::<_, AppError>(s.store.practices(Some(page), Some(PER_PAGE)).await?)
    }
    .await;
    let list = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(&u, e),
    };
    render(&PracticesPage {
        c: Chrome::new(&u, "practices", u.t.t("nav.practices").to_string()),
        pager: Pager::new(page, PER_PAGE, list.total, "/practices", &[]),
        rows: list.items,
    })
}
