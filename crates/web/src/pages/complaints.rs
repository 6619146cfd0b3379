//! Complaint pages for staff (F17, F18): the list with the registration form, one complaint
//! with the step its state allows, files, assignment under the recusal rule, and the print
//! views of the CAPA (8D) report and the reply letter.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::access::Action;
use reqloop_domain::complaint::{
    Capa, CaseRole, ComplaintChannel, ComplaintFields, ComplaintKind, ComplaintState, Decision,
    Severity,
};
use reqloop_domain::time::display_local;
use reqloop_domain::FieldErrors;
use reqloop_store::{
    Assignment, CapaDraft, Complaint, ComplaintFilter, ComplaintNote, CustomerFilter, Declaration,
    Reply, Verification,
};

use super::requirements::{dept_label, refusal};
use super::{
    choices, error_page, field_messages, filters, may, render, Chrome, FormData, Opt, Pager,
};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::export::{self, ListFormat};
use crate::AppState;

const PER_PAGE: i64 = 20;

#[derive(Template)]
#[template(path = "complaints.html")]
struct ListPage {
    c: Chrome,
    notice: String,
    rows: Vec<Complaint>,
    pager: Pager,
    states: Vec<Opt>,
    kinds: Vec<Opt>,
    overdue: bool,
    can_register: bool,
    customers: Vec<Opt>,
    channels: Vec<Opt>,
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
    q: &HashMap<String, String>,
    form: &FormData,
    notice: String,
    errors: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let state: Option<ComplaintState> = q.get("state").and_then(|v| v.parse().ok());
    let kind: Option<ComplaintKind> = q.get("kind").and_then(|v| v.parse().ok());
    let overdue = q.get("overdue").is_some_and(|v| v == "1");
    let filter = ComplaintFilter {
        state,
        kind,
        overdue: overdue.then_some(true),
        page: Some(page),
        per_page: Some(PER_PAGE),
        ..Default::default()
    };
    let loaded = async {
        let list = s
            .store
            .list_complaints(&u.actor, &filter, s.clock.now())
            .await?;
        let customers = s
            .store
            .list_customers(
                &u.actor,
                &CustomerFilter {
                    q: q.get("customer_q")
                        .cloned()
                        .filter(|v| !v.trim().is_empty()),
                    per_page: Some(200),
                    ..Default::default()
                },
            )
            .await?;
        Ok::<_, AppError>((list, customers))
    }
    .await;
    let (list, customers) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let t = u.t;
    let chosen = form.get("customer_id");
    let keep: Vec<(String, String)> = q.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let page = ListPage {
        c: Chrome::new(u, "complaints", t.t("nav.complaints").to_string()),
        notice,
        pager: Pager::new(page, PER_PAGE, list.total, "/complaints", &keep).exportable(),
        rows: list.items,
        states: choices(
            ComplaintState::ALL,
            ComplaintState::as_str,
            &t,
            "kstate",
            state,
        ),
        kinds: choices(ComplaintKind::ALL, ComplaintKind::as_str, &t, "kkind", kind),
        overdue,
        can_register: may(&u.actor, Action::ComplaintRegister),
        customers: customers
            .items
            .iter()
            .map(|c| {
                let id = c.id.0.to_string();
                let sel = id == chosen;
                (id, format!("{} {}", c.code, c.fields.name), sel)
            })
            .collect(),
        channels: choices(
            ComplaintChannel::ALL,
            ComplaintChannel::as_str,
            &t,
            "kchannel",
            form.get("channel").parse().ok(),
        ),
        v: ["title", "content", "product", "kind"]
            .iter()
            .map(|k| (k.to_string(), form.get(k)))
            .collect(),
        errors,
    };
    (status, render(&page)).into_response()
}

/// The register as it is filtered, page after page.
async fn export_list(
    s: AppState,
    u: &PageUser,
    q: &HashMap<String, String>,
    format: ListFormat,
) -> Response {
    let t = u.t;
    let filter = ComplaintFilter {
        state: q.get("state").and_then(|v| v.parse().ok()),
        kind: q.get("kind").and_then(|v| v.parse().ok()),
        overdue: q.get("overdue").is_some_and(|v| v == "1").then_some(true),
        ..Default::default()
    };
    let headers = export::headers(
        t,
        &[
            "complaint.number",
            "complaint.title",
            "req.customer",
            "complaint.kind",
            "complaint.severity",
            "complaint.state",
            "complaint.channel",
            "complaint.product",
            "complaint.registered_at",
        ],
    );
    let actor = u.actor.clone();
    export::paged(format, "complaints", headers, move |page| {
        let (s, actor, mut filter) = (s.clone(), actor.clone(), filter.clone());
        async move {
            filter.page = Some(page);
            filter.per_page = Some(export::MAX_PAGE);
            let list = s
                .store
                .list_complaints(&actor, &filter, s.clock.now())
                .await?;
            let rows = list
                .items
                .into_iter()
                .map(|k| {
                    vec![
                        k.number,
                        k.title,
                        k.customer_name,
                        t.label("kkind", k.kind.as_str()),
                        k.severity
                            .map(|v| t.label("severity", v.as_str()))
                            .unwrap_or_default(),
                        t.label("kstate", k.state.as_str()),
                        k.channel,
                        k.product,
                        display_local(&k.registered_at),
                    ]
                })
                .collect();
            Ok((rows, export::next_page(page, list.total)))
        }
    })
    .await
}

pub async fn list(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(format) = ListFormat::in_map(&q) {
        return export_list(s, &u, &q, format).await;
    }
    let empty = FormData(vec![]);
    list_view(
        &s,
        &u,
        &q,
        &empty,
        String::new(),
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

/// The registration form's fields (staff list page and the portal share it).
pub(crate) fn fields_of(form: &FormData) -> Result<ComplaintFields, FieldErrors> {
    let mut e = FieldErrors::default();
    let channel = form.get("channel").parse().ok();
    if channel.is_none() {
        e.add("channel", "choice");
    }
    let kind = if form.get("kind").is_empty() {
        Some(ComplaintKind::Complaint)
    } else {
        form.get("kind").parse().ok()
    };
    if kind.is_none() {
        e.add("kind", "choice");
    }
    match (channel, kind) {
        (Some(channel), Some(kind)) => Ok(ComplaintFields {
            customer_id: form.get("customer_id").parse().ok(),
            kind,
            channel,
            title: form.get("title"),
            content: form.get("content"),
            product: form.get("product"),
            order_id: None,
        }),
        _ => Err(e),
    }
}

pub async fn register(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    if let Err(e) = u.actor.require(Action::ComplaintRegister) {
        return error_page(&u, e.into());
    }
    let result = match fields_of(&form) {
        Ok(f) => s.store.register_complaint(&u.actor, f, s.clock.now()).await,
        Err(e) => Err(reqloop_store::Error::Invalid(e)),
    };
    let (status, notice, errors) = match result {
        Ok(k) => return Redirect::to(&format!("/complaints/{}", k.id)).into_response(),
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
    list_view(&s, &u, &HashMap::new(), &form, notice, errors, status).await
}

// ---- one complaint ----

#[derive(Template)]
#[template(path = "complaint.html")]
struct DetailPage {
    c: Chrome,
    notice: String,
    k: Complaint,
    department: String,
    investigator: String,
    verifier: String,
    severities: Vec<Opt>,
    departments: Vec<Opt>,
    /// Staff who may be assigned: (id, name).
    people: Vec<Opt>,
    default_fix: String,
    /// The 8D disciplines: (field, label, value).
    capa: Vec<(String, String, String)>,
    can_handle: bool,
    can_verify: bool,
}

async fn detail_view(
    s: &AppState,
    u: &PageUser,
    id: i64,
    notice: String,
    status: StatusCode,
) -> Response {
    let now = s.clock.now();
    let loaded = async {
        let k = s.store.get_complaint(&u.actor, id, now).await?;
        let departments = s.store.departments().await?;
        let users = s.store.list_users().await?;
        let default_fix = s.store.complaint_fix_default(now).await?.to_string();
        Ok::<_, AppError>((k, departments, users, default_fix))
    }
    .await;
    let (mut k, departments, users, default_fix) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let t = u.t;
    let name = |id: Option<i64>| {
        id.and_then(|id| users.iter().find(|x| x.id.0 == id))
            .map(|x| x.display_name.clone())
            .unwrap_or_default()
    };
    let capa = capa_rows(&t, &mut k.capa);
    let page = DetailPage {
        c: Chrome::new(u, "complaints", format!("{} {}", k.number, k.title)),
        notice,
        department: k
            .department_id
            .map(|d| dept_label(&t, &departments, reqloop_domain::ids::DepartmentId(d)))
            .unwrap_or_default(),
        investigator: name(k.investigator_id),
        verifier: name(k.verifier_id),
        severities: choices(Severity::ALL, Severity::as_str, &t, "severity", None),
        departments: departments
            .iter()
            .map(|d| {
                (
                    d.id.0.to_string(),
                    dept_label(&t, &departments, d.id),
                    false,
                )
            })
            .collect(),
        people: users
            .iter()
            .filter(|x| x.active && x.role != reqloop_domain::user::Role::Portal)
            .map(|x| (x.id.0.to_string(), x.display_name.clone(), false))
            .collect(),
        default_fix,
        capa,
        can_handle: may(&u.actor, Action::ComplaintHandle),
        can_verify: may(&u.actor, Action::ComplaintVerify),
        k,
    };
    (status, render(&page)).into_response()
}

/// The eight disciplines with their labels.
fn capa_rows(t: &crate::i18n::Tr, capa: &mut Capa) -> Vec<(String, String, String)> {
    capa.fields_mut()
        .into_iter()
        .map(|(f, v)| (f.to_string(), t.label("d8", f), v.clone()))
        .collect()
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
        Ok(_) => Redirect::to(&format!("/complaints/{id}")).into_response(),
        Err(reqloop_store::Error::Invalid(errors)) => {
            let messages: Vec<String> = field_messages(&u.t, &errors).into_values().collect();
            detail_view(s, u, id, messages.join("；"), StatusCode::BAD_REQUEST).await
        }
        Err(e) => {
            let e = AppError::from(e);
            let mut notice = refusal(&u.t, &e);
            if e.code == "recused" {
                notice = format!("{notice}：{}", e.details["user"].as_str().unwrap_or(""));
            }
            detail_view(s, u, id, notice, e.status).await
        }
    }
}

/// One step from the complaint's page: `confirm`, `decision`, `assign`, `recusal`,
/// `correction`, `capa`, `capa-submit`, `verification`, `reply`, `close`.
pub async fn step(
    State(s): State<AppState>,
    u: PageUser,
    Path((id, step)): Path<(i64, String)>,
    form: FormData,
) -> Response {
    let need = if step == "verification" {
        Action::ComplaintVerify
    } else {
        Action::ComplaintHandle
    };
    if let Err(e) = u.actor.require(need) {
        return error_page(&u, e.into());
    }
    let (a, now) = (&u.actor, s.clock.now());
    let version = form.get("version").parse().unwrap_or(-1);
    let note = || ComplaintNote {
        version,
        note: form.get("note"),
    };
    let store = &s.store;
    let result: Result<(), reqloop_store::Error> = match step.as_str() {
        "confirm" => store
            .confirm_complaint(a, id, note(), now)
            .await
            .map(|_| ()),
        "decision" => {
            let d = Decision {
                version,
                valid: form.get("valid") == "1",
                severity: form.get("severity").parse().ok(),
                department_id: form.get("department_id").parse().ok(),
                fix_due: Some(form.get("fix_due")).filter(|v| !v.is_empty()),
                customer_agreement: form.get("customer_agreement"),
                evidence: form.get("evidence"),
                explanation: form.get("explanation"),
            };
            store.decide_complaint(a, id, d, now).await.map(|_| ())
        }
        "assign" => match (
            form.get("role").parse::<CaseRole>(),
            form.get("user_id").parse::<i64>(),
        ) {
            (Ok(role), Ok(user_id)) => {
                let x = Assignment {
                    version,
                    role,
                    user_id,
                };
                store.assign_complaint(a, id, x, now).await.map(|_| ())
            }
            _ => Err(reqloop_store::Error::field("user_id", "required")),
        },
        "recusal" => match form.get("user_id").parse::<i64>() {
            Ok(user_id) => {
                let d = Declaration {
                    user_id,
                    reason: form.get("reason"),
                };
                store.declare_recusal(a, id, d, now).await.map(|_| ())
            }
            Err(_) => Err(reqloop_store::Error::field("user_id", "required")),
        },
        "correction" => store
            .correct_complaint(a, id, note(), now)
            .await
            .map(|_| ()),
        "capa" => {
            let mut capa = Capa::default();
            for (f, v) in capa.fields_mut() {
                *v = form.get(f);
            }
            let d = CapaDraft {
                version,
                capa,
                customer_template: form.get("customer_template") == "1",
            };
            store.save_capa(a, id, d, now).await.map(|_| ())
        }
        "capa-submit" => store.submit_capa(a, id, note(), now).await.map(|_| ()),
        "verification" => {
            let v = Verification {
                version,
                passed: form.get("passed") == "1",
                note: form.get("note"),
            };
            store.verify_complaint(a, id, v, now).await.map(|_| ())
        }
        "reply" => {
            let r = Reply {
                version,
                letter: form.get("letter"),
                evidence: form.get("evidence"),
            };
            store.reply_complaint(a, id, r, now).await.map(|_| ())
        }
        "close" => store.close_complaint(a, id, note(), now).await.map(|_| ()),
        _ => Err(reqloop_store::Error::NotFound),
    };
    land(&s, &u, id, result).await
}

/// A photo, video or document added from the complaint's page (staff and portal).
pub async fn upload(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    if let Err(e) = u.actor.require(Action::ComplaintRegister) {
        return error_page(&u, e.into());
    }
    let result = add_file(&s, &u, id, multipart).await;
    if u.actor.role == reqloop_domain::user::Role::Portal {
        return super::portal::land(&s, &u, id, result).await;
    }
    land(&s, &u, id, result).await
}

/// Reads the upload and stores it (the size and type refusals as field errors).
pub(crate) async fn add_file(
    s: &AppState,
    u: &PageUser,
    id: i64,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(), reqloop_store::Error> {
    match crate::api::read_upload(multipart).await {
        Ok((name, bytes)) => s
            .store
            .add_complaint_file(&u.actor, id, &name, bytes, s.clock.now())
            .await
            .map(|_| ()),
        Err(e) => {
            let mut errors = FieldErrors::default();
            errors.add(
                "file",
                if e.code == "too_large" {
                    "file_too_large"
                } else {
                    "file_empty"
                },
            );
            Err(reqloop_store::Error::Invalid(errors))
        }
    }
}

// ---- print views ----

#[derive(Template)]
#[template(path = "complaint_print.html")]
struct PrintPage {
    c: Chrome,
    k: Complaint,
    /// `capa` (the 8D report) or `letter` (the reply letter).
    what: &'static str,
    capa: Vec<(String, String, String)>,
    department: String,
}

pub async fn print(
    State(s): State<AppState>,
    u: PageUser,
    Path((id, what)): Path<(i64, String)>,
) -> Response {
    let what = match what.as_str() {
        "capa" => "capa",
        "letter" => "letter",
        _ => return error_page(&u, reqloop_store::Error::NotFound.into()),
    };
    let loaded = async {
        let k = s.store.get_complaint(&u.actor, id, s.clock.now()).await?;
        let departments = s.store.departments().await?;
        Ok::<_, AppError>((k, departments))
    }
    .await;
    let (mut k, departments) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(&u, e),
    };
    let title = if what == "capa" {
        u.t.t("complaint.capa_title")
    } else {
        u.t.t("complaint.letter_title")
    };
    render(&PrintPage {
        c: Chrome::new(&u, "complaints", format!("{title} · {}", k.number)),
        capa: capa_rows(&u.t, &mut k.capa),
        department: k
            .department_id
            .map(|d| dept_label(&u.t, &departments, reqloop_domain::ids::DepartmentId(d)))
            .unwrap_or_default(),
        k,
        what,
    })
}
