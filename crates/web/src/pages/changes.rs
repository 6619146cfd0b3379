//! Change pages (F14): the list (confidential: only what the user is cleared for), the request
//! form started from a requirement, one change with its steps, and a requirement's revisions
//! with the before/after diff.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::access::Action;
use reqloop_domain::change::{
    ChangeFields, ChangeOrigin, ChangeState, Factor, Impact, ItemChange, Redetermination, StepNote,
};
use reqloop_domain::review::Aspect;
use reqloop_store::{Change, ChangeFilter, ChangeReview, ContractFilter, NotifyRequest, Revision};

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
#[template(path = "changes.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<Change>,
    pager: Pager,
    states: Vec<Opt>,
    /// Only changes my department still has to confirm.
    mine: bool,
}

/// The changes as they are filtered, page after page.
async fn export_list(
    s: AppState,
    u: &PageUser,
    filter: ChangeFilter,
    format: ListFormat,
) -> Response {
    let t = u.t;
    let headers = export::headers(
        t,
        &[
            "change.number",
            "change.title",
            "req.code",
            "req.title",
            "change.origin",
            "change.state",
            "audit.at",
        ],
    );
    let actor = u.actor.clone();
    export::paged(format, "changes", headers, move |page| {
        let (s, actor, mut filter) = (s.clone(), actor.clone(), filter.clone());
        async move {
            filter.page = Some(page);
            filter.per_page = Some(export::MAX_PAGE);
            let list = s.store.list_changes(&actor, &filter).await?;
            let rows = list
                .items
                .into_iter()
                .map(|g| {
                    vec![
                        g.number,
                        g.title,
                        g.requirement_code,
                        g.requirement_title,
                        t.label("origin", g.origin.as_str()),
                        t.label("change", g.state.as_str()),
                        reqloop_domain::time::display_local(&g.created_at),
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
    if let Err(e) = u.actor.require(Action::ChangeRead) {
        return error_page(&u, e.into());
    }
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let state: Option<ChangeState> = q.get("state").and_then(|v| v.parse().ok());
    let mine = q.get("mine").is_some_and(|v| v == "1");
    let filter = ChangeFilter {
        state,
        department_id: if mine {
            Some(u.actor.department_id.map_or(0, |d| d.0))
        } else {
            None
        },
        pending: mine.then_some(true),
        page: Some(page),
        per_page: Some(PER_PAGE),
        ..Default::default()
    };
    if let Some(format) = ListFormat::in_map(&q) {
        return export_list(s, &u, filter, format).await;
    }
    let list = match s.store.list_changes(&u.actor, &filter).await {
        Ok(l) => l,
        Err(e) => return error_page(&u, e.into()),
    };
    let keep: Vec<(String, String)> = q.into_iter().collect();
    render(&ListPage {
        c: Chrome::new(&u, "changes", u.t.t("nav.changes").to_string()),
        pager: Pager::new(page, PER_PAGE, list.total, "/changes", &keep).exportable(),
        rows: list.items,
        states: choices(ChangeState::ALL, ChangeState::as_str, &u.t, "change", state),
        mine,
    })
}

// ---- the request form ----

#[derive(Template)]
#[template(path = "change_form.html")]
struct FormPage {
    c: Chrome,
    notice: String,
    requirement_id: i64,
    requirement: String,
    origins: Vec<Opt>,
    contracts: Vec<Opt>,
    /// (factor, label, ticked, note)
    factors: Vec<(String, String, bool, String)>,
    /// (item id, ticked, description, criterion, department label)
    items: Vec<(i64, bool, String, String, String)>,
    v: HashMap<String, String>,
    errors: HashMap<String, String>,
}

impl FormPage {
    fn err(&self, f: &str) -> &str {
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
    fn val(&self, f: &str) -> &str {
        self.v.get(f).map(String::as_str).unwrap_or("")
    }
}

async fn form_view(
    s: &AppState,
    u: &PageUser,
    requirement: i64,
    form: Option<&FormData>,
    notice: String,
    errors: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let loaded = async {
        let r = s.store.get_requirement(&u.actor, requirement).await?;
        let items = s.store.list_items(&u.actor, requirement).await?;
        let contracts = s
            .store
            .list_contracts(
                &u.actor,
                &ContractFilter {
                    customer_id: Some(r.fields.customer_id.0),
                    per_page: Some(200),
                    ..Default::default()
                },
            )
            .await?;
        let departments = s.store.departments().await?;
        Ok::<_, AppError>((r, items, contracts, departments))
    }
    .await;
    let (r, items, contracts, departments) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let t = u.t;
    let get = |k: &str| form.map(|f| f.get(k)).unwrap_or_default();
    let chosen_contract = get("contract_id");
    let page = FormPage {
        c: Chrome::new(u, "changes", t.t("change.new").to_string()),
        notice,
        requirement_id: r.id,
        requirement: format!("{} {}", r.code, r.fields.title),
        origins: choices(
            ChangeOrigin::ALL,
            ChangeOrigin::as_str,
            &t,
            "origin",
            get("origin").parse().ok(),
        ),
        contracts: contracts
            .items
            .iter()
            .map(|c| {
                let id = c.id.to_string();
                let sel = id == chosen_contract;
                (id, format!("{} {}", c.fields.number, c.fields.title), sel)
            })
            .collect(),
        factors: Factor::ALL
            .iter()
            .map(|f| {
                (
                    f.as_str().to_string(),
                    t.label("factor", f.as_str()),
                    !get(&format!("factor_{f}")).is_empty(),
                    get(&format!("impact_{f}")),
                )
            })
            .collect(),
        items: items
            .iter()
            .map(|i| {
                let ticked = !get(&format!("item_{}", i.id)).is_empty();
                let (d, c) = match form {
                    Some(f) => (
                        f.get(&format!("desc_{}", i.id)),
                        f.get(&format!("crit_{}", i.id)),
                    ),
                    None => (
                        i.fields.description.clone(),
                        i.fields.acceptance_criterion.clone(),
                    ),
                };
                (
                    i.id,
                    ticked,
                    d,
                    c,
                    dept_label(&t, &departments, i.fields.department_id),
                )
            })
            .collect(),
        v: ["title", "reason"]
            .iter()
            .map(|k| (k.to_string(), get(k)))
            .collect(),
        errors,
    };
    (status, render(&page)).into_response()
}

pub async fn new_form(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = u.actor.require(Action::ChangeRequest) {
        return error_page(&u, e.into());
    }
    let Some(requirement) = q.get("requirement_id").and_then(|v| v.parse().ok()) else {
        return error_page(
            &u,
            AppError::bad_request("requirement_id", "missing requirement_id".into()),
        );
    };
    form_view(
        &s,
        &u,
        requirement,
        None,
        String::new(),
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn create(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    if let Err(e) = u.actor.require(Action::ChangeRequest) {
        return error_page(&u, e.into());
    }
    let requirement: i64 = form.get("requirement_id").parse().unwrap_or(0);
    let mut e = reqloop_domain::FieldErrors::default();
    let origin = form.get("origin").parse().ok();
    if origin.is_none() {
        e.add("origin", "choice");
    }
    let impacts: Vec<Impact> = Factor::ALL
        .iter()
        .filter(|f| !form.get(&format!("factor_{f}")).is_empty())
        .map(|f| Impact {
            factor: *f,
            note: form.get(&format!("impact_{f}")),
        })
        .collect();
    let items: Vec<ItemChange> = form
        .all("item")
        .iter()
        .filter_map(|id| id.parse::<i64>().ok())
        .map(|id| ItemChange {
            item_id: id,
            description: form.get(&format!("desc_{id}")),
            acceptance_criterion: form.get(&format!("crit_{id}")),
        })
        .collect();
    let result = match origin {
        Some(origin) if e.is_empty() => {
            let f = ChangeFields {
                requirement_id: requirement,
                contract_id: form.get("contract_id").parse().ok(),
                origin,
                title: form.get("title"),
                reason: form.get("reason"),
                impacts,
                items,
            };
            s.store.create_change(&u.actor, f, s.clock.now()).await
        }
        _ => Err(reqloop_store::Error::Invalid(e)),
    };
    let (status, notice, errors) = match result {
        Ok(g) => return Redirect::to(&format!("/changes/{}", g.id)).into_response(),
        Err(reqloop_store::Error::Invalid(errors)) => {
            let mut messages = field_messages(&u.t, &errors);
            // Item and impact errors are shown by their row: `items[0].description` → the
            // message goes above the table.
            let rows: Vec<String> = messages
                .iter()
                .filter(|(k, _)| k.starts_with("items") || k.starts_with("impacts"))
                .map(|(_, v)| v.clone())
                .collect();
            if !rows.is_empty() {
                messages.insert("items".into(), rows.join("；"));
            }
            (
                StatusCode::BAD_REQUEST,
                u.t.t("form.fix_errors").to_string(),
                messages,
            )
        }
        Err(e) => {
            let e = AppError::from(e);
            (e.status, refusal(&u.t, &e), HashMap::new())
        }
    };
    // The ticked items come back ticked.
    form_view(&s, &u, requirement, Some(&form), notice, errors, status).await
}

// ---- one change ----

#[derive(Template)]
#[template(path = "change.html")]
struct DetailPage {
    c: Chrome,
    notice: String,
    g: Change,
    state_label: String,
    origin_label: String,
    /// (label, done, current) for each state of the regular path.
    path: Vec<(String, bool, bool)>,
    impacts: Vec<(String, String)>,
    /// (item id, department, before description, after description, before criterion, after criterion)
    items: Vec<(i64, String, String, String, String, String)>,
    aspects: Vec<(String, String)>,
    /// Departments to add to the notice: (id, label).
    departments: Vec<(i64, String)>,
    /// The notices the user may confirm: department ids.
    confirmable: Vec<i64>,
    can_request: bool,
    can_approve: bool,
    can_verify: bool,
    review_open: bool,
}

async fn detail_view(
    s: &AppState,
    u: &PageUser,
    id: i64,
    notice: String,
    status: StatusCode,
) -> Response {
    let loaded = async {
        u.actor.require(Action::ChangeRead)?;
        let g = s.store.get_change(&u.actor, id).await?;
        let departments = s.store.departments().await?;
        Ok::<_, AppError>((g, departments))
    }
    .await;
    let (g, departments) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let t = u.t;
    let regular = [
        ChangeState::Requested,
        ChangeState::Redetermined,
        ChangeState::Rereviewed,
        ChangeState::Approved,
        ChangeState::Notified,
        ChangeState::Implemented,
        ChangeState::Verified,
        ChangeState::Closed,
    ];
    let at = regular.iter().position(|s| *s == g.state);
    let page = DetailPage {
        c: Chrome::new(u, "changes", format!("{} {}", g.number, g.title)),
        notice,
        state_label: t.label("change", g.state.as_str()),
        origin_label: t.label("origin", g.origin.as_str()),
        path: regular
            .iter()
            .enumerate()
            .map(|(i, st)| {
                (
                    t.label("change", st.as_str()),
                    at.is_some_and(|a| i < a),
                    at == Some(i),
                )
            })
            .collect(),
        impacts: g
            .impacts
            .iter()
            .map(|i| (t.label("factor", i.factor.as_str()), i.note.clone()))
            .collect(),
        items: g
            .items
            .iter()
            .map(|i| {
                (
                    i.item_id,
                    dept_label(
                        &t,
                        &departments,
                        reqloop_domain::ids::DepartmentId(i.department_id),
                    ),
                    i.before_description.clone(),
                    i.after_description.clone(),
                    i.before_criterion.clone(),
                    i.after_criterion.clone(),
                )
            })
            .collect(),
        aspects: Aspect::ALL
            .iter()
            .map(|a| (a.as_str().to_string(), t.label("aspect", a.as_str())))
            .collect(),
        departments: departments
            .iter()
            .filter(|d| !g.items.iter().any(|i| i.department_id == d.id.0))
            .map(|d| (d.id.0, dept_label(&t, &departments, d.id)))
            .collect(),
        confirmable: g
            .notices
            .iter()
            .filter(|n| n.confirmed_at.is_none())
            .filter(|n| {
                reqloop_domain::access::acts_for_department(
                    &u.actor,
                    reqloop_domain::ids::DepartmentId(n.department_id),
                )
            })
            .map(|n| n.department_id)
            .collect(),
        can_request: may(&u.actor, Action::ChangeRequest),
        can_approve: may(&u.actor, Action::ChangeApprove),
        can_verify: may(&u.actor, Action::ChangeVerify),
        review_open: g
            .reviews
            .iter()
            .any(|v| v.status == reqloop_domain::review::RoundStatus::Open),
        g,
    };
    (status, render(&page)).into_response()
}

pub async fn detail(State(s): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    detail_view(&s, &u, id, String::new(), StatusCode::OK).await
}

/// Where a step lands: the change page, with the refusal above it when refused.
async fn land<T>(
    s: &AppState,
    u: &PageUser,
    id: i64,
    result: Result<T, reqloop_store::Error>,
) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!("/changes/{id}")).into_response(),
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

fn step_note(form: &FormData) -> StepNote {
    StepNote {
        version: Some(form.get("version").parse().unwrap_or(-1)),
        note: form.get("note"),
    }
}

/// One step of a change from its page: `redetermine`, `reviews`, `approve`, `reject`, `notify`,
/// `verify`, `close`.
pub async fn step(
    State(s): State<AppState>,
    u: PageUser,
    Path((id, step)): Path<(i64, String)>,
    form: FormData,
) -> Response {
    let now = s.clock.now();
    let a = &u.actor;
    let need = match step.as_str() {
        "approve" | "reject" => Action::ChangeApprove,
        "verify" => Action::ChangeVerify,
        _ => Action::ChangeRequest,
    };
    if let Err(e) = a.require(need) {
        return error_page(&u, e.into());
    }
    let version = form.get("version").parse().unwrap_or(-1);
    let result: Result<(), reqloop_store::Error> = match step.as_str() {
        "redetermine" => {
            let r = Redetermination {
                version,
                note: form.get("note"),
                items: vec![],
            };
            s.store.redetermine_change(a, id, r, now).await.map(|_| ())
        }
        "reviews" => {
            let aspects = form
                .all("aspects")
                .iter()
                .filter_map(|v| v.parse().ok())
                .collect();
            let r = ChangeReview { version, aspects };
            match s.store.start_change_review(a, id, r, now).await {
                Ok(round) => {
                    return Redirect::to(&format!("/reviews/{}", round.id)).into_response()
                }
                Err(e) => Err(e),
            }
        }
        "approve" => s
            .store
            .approve_change(a, id, step_note(&form), now)
            .await
            .map(|_| ()),
        "reject" => s
            .store
            .reject_change(a, id, step_note(&form), now)
            .await
            .map(|_| ()),
        "notify" => {
            let departments = form
                .all("departments")
                .iter()
                .filter_map(|v| v.parse().ok())
                .collect();
            let r = NotifyRequest {
                version,
                departments,
            };
            s.store.notify_change(a, id, r, now).await.map(|_| ())
        }
        "verify" => s
            .store
            .verify_change(a, id, step_note(&form), now)
            .await
            .map(|_| ()),
        "close" => s
            .store
            .close_change(a, id, step_note(&form), now)
            .await
            .map(|_| ()),
        _ => Err(reqloop_store::Error::NotFound),
    };
    land(&s, &u, id, result).await
}

pub async fn confirm(
    State(s): State<AppState>,
    u: PageUser,
    Path((id, department)): Path<(i64, i64)>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::ChangeRead) {
        return error_page(&u, e.into());
    }
    let n = StepNote {
        version: None,
        note: form.get("note"),
    };
    let result = s
        .store
        .confirm_notice(&u.actor, id, department, n, s.clock.now())
        .await;
    land(&s, &u, id, result).await
}

// ---- a requirement's revisions ----

#[derive(Template)]
#[template(path = "revisions.html")]
struct RevisionsPage {
    c: Chrome,
    requirement_id: i64,
    requirement: String,
    revisions: Vec<Revision>,
    shown: Revision,
    can_see_changes: bool,
}

impl RevisionsPage {
    fn field_label(&self, field: &str) -> String {
        match field {
            "title" => self.c.t.t("req.title").to_string(),
            "description" => self.c.t.t("req.description").to_string(),
            _ => self.c.t.t("req.acceptance").to_string(),
        }
    }
}

pub async fn revisions(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let loaded = async {
        let r = s.store.get_requirement(&u.actor, id).await?;
        let revisions = s.store.requirement_revisions(&u.actor, id).await?;
        Ok::<_, AppError>((r, revisions))
    }
    .await;
    let (r, revisions) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(&u, e),
    };
    let wanted: Option<i64> = q.get("revision").and_then(|v| v.parse().ok());
    let Some(shown) = revisions
        .iter()
        .find(|v| Some(v.revision) == wanted)
        .or_else(|| revisions.last())
        .cloned()
    else {
        return error_page(&u, reqloop_store::Error::NotFound.into());
    };
    render(&RevisionsPage {
        c: Chrome::new(&u, "requirements", u.t.t("rev.title").to_string()),
        requirement_id: r.id,
        requirement: format!("{} {}", r.code, r.fields.title),
        revisions,
        shown,
        can_see_changes: may(&u.actor, Action::ChangeRead)
            && reqloop_domain::access::cleared_for_changes(&u.actor),
    })
}
