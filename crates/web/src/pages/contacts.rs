//! Contact plan pages (F25): the tasks (collection visits, return visits) as a queue with the
//! form that records a visit, the plan's frequencies, the latest visits; the symposia with the
//! plan form, and one symposium with its attendees and minutes.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use reqloop_domain::access::Action;
use reqloop_domain::contact::{
    ContactRules, Minutes, SymposiumFields, TaskKind, VisitFields, VisitMethod,
};
use reqloop_domain::customer::Tier;
use reqloop_store::{
    Attendee, ContactTask, CustomerFilter, NewAttendee, Symposium, TaskFilter, Visit, VisitFilter,
};

use super::requirements::refusal;
use super::{
    choices, error_page, field_messages, filters, may, render, Chrome, FormData, Opt, Pager,
};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::AppState;

const PER_PAGE: i64 = 20;

#[derive(Template)]
#[template(path = "contacts.html")]
struct ContactsPage {
    c: Chrome,
    notice: String,
    tasks: Vec<ContactTask>,
    pager: Pager,
    mine: bool,
    overdue: bool,
    kinds: Vec<Opt>,
    today: String,
    visits: Vec<Visit>,
    /// The visit form: its values, customers to choose from, the task it fulfils.
    visit: VisitFields,
    customers: Vec<Opt>,
    methods: Vec<Opt>,
    task: Option<ContactTask>,
    rules: ContactRules,
    /// Which form failed (`visit` or `rules`) and its messages.
    failed: &'static str,
    errors: HashMap<String, String>,
    can_visit: bool,
    can_manage: bool,
}

impl ContactsPage {
    fn err(&self, form: &str, f: &str) -> &str {
        if self.failed != form {
            return "";
        }
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
    fn rule_rows(&self) -> Vec<(&'static str, u32)> {
        let mut rows: Vec<(&'static str, u32)> = Tier::ALL
            .iter()
            .map(|t| (t.as_str(), self.rules.months(*t)))
            .collect();
        rows.push(("return_visit_days", self.rules.return_visit_days));
        rows
    }
}

struct Shown {
    notice: String,
    visit: Option<VisitFields>,
    rules: Option<ContactRules>,
    failed: &'static str,
    errors: HashMap<String, String>,
    status: StatusCode,
}

impl Shown {
    fn ok() -> Shown {
        Shown {
            notice: String::new(),
            visit: None,
            rules: None,
            failed: "",
            errors: HashMap::new(),
            status: StatusCode::OK,
        }
    }
}

async fn contacts_view(
    s: &AppState,
    u: &PageUser,
    q: &HashMap<String, String>,
    shown: Shown,
) -> Response {
    let now = s.clock.now();
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    // Account managers see their own tasks first; others the whole queue.
    let mine = q.get("mine").map_or(
        u.actor.role == reqloop_domain::user::Role::AccountManager,
        |v| v == "1",
    );
    let overdue = q.get("overdue").is_some_and(|v| v == "1");
    let kind: Option<TaskKind> = q.get("kind").and_then(|k| k.parse().ok());
    let f = TaskFilter {
        mine,
        kind,
        overdue,
        page: Some(page),
        per_page: Some(PER_PAGE),
        ..Default::default()
    };
    let task_id: Option<i64> = q.get("task").and_then(|t| t.parse().ok());
    let loaded = async {
        let tasks = s.store.list_contact_tasks(&u.actor, &f, now).await?;
        let visits = s
            .store
            .list_visits(
                &u.actor,
                &VisitFilter {
                    per_page: Some(10),
                    ..Default::default()
                },
            )
            .await?;
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
        let rules = s.store.contact_rules().await?;
        let task = match task_id.or(shown.visit.as_ref().and_then(|v| v.task_id)) {
            Some(t) => s.store.get_contact_task(&u.actor, t).await.ok(),
            None => None,
        };
        Ok::<_, AppError>((tasks, visits, customers, rules, task))
    }
    .await;
    let (tasks, visits, customers, rules, task) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let t = u.t;
    let today = reqloop_domain::time::shanghai_date(now).to_string();
    let visit = shown.visit.unwrap_or_else(|| VisitFields {
        customer_id: task.as_ref().map_or(0, |x| x.customer_id),
        task_id: task.as_ref().map(|x| x.id),
        visited_on: today.clone(),
        method: VisitMethod::Visit,
        contact_person: String::new(),
        attendees: String::new(),
        summary: String::new(),
        needs: String::new(),
    });
    let keep: Vec<(String, String)> = ["mine", "overdue", "kind"]
        .iter()
        .filter_map(|k| q.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    let p = ContactsPage {
        c: Chrome::new(u, "contacts", t.t("nav.contacts").to_string()),
        notice: shown.notice,
        pager: Pager::new(page, PER_PAGE, tasks.total, "/contacts", &keep),
        tasks: tasks.items,
        mine,
        overdue,
        kinds: choices(TaskKind::ALL, TaskKind::as_str, &t, "ctask", kind),
        today,
        visits: visits.items,
        customers: customers
            .items
            .iter()
            .map(|c| {
                (
                    c.id.0.to_string(),
                    format!("{} {}", c.code, c.fields.name),
                    c.id.0 == visit.customer_id,
                )
            })
            .collect(),
        methods: choices(
            VisitMethod::ALL,
            VisitMethod::as_str,
            &t,
            "vmethod",
            Some(visit.method),
        ),
        visit,
        task,
        rules: shown.rules.unwrap_or(rules),
        failed: shown.failed,
        errors: shown.errors,
        can_visit: may(&u.actor, Action::VisitWrite),
        can_manage: may(&u.actor, Action::ContactPlanManage),
    };
    (shown.status, render(&p)).into_response()
}

/// `/contacts?mine=&overdue=&kind=&task=`
pub async fn contacts(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    contacts_view(&s, &u, &q, Shown::ok()).await
}

/// Records a visit from the form.
pub async fn record_visit(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    let Ok(method) = form.get("method").parse::<VisitMethod>() else {
        let e = AppError::from(reqloop_store::Error::field("method", "choice"));
        let shown = Shown {
            notice: refusal(&u.t, &e),
            status: e.status,
            ..Shown::ok()
        };
        return contacts_view(&s, &u, &HashMap::new(), shown).await;
    };
    let v = VisitFields {
        customer_id: form.get("customer_id").parse().unwrap_or(0),
        task_id: form.get("task_id").parse().ok(),
        visited_on: form.get("visited_on"),
        method,
        contact_person: form.get("contact_person"),
        attendees: form.get("attendees"),
        summary: form.get("summary"),
        needs: form.get("needs"),
    };
    match s
        .store
        .record_visit(&u.actor, v.clone(), s.clock.now())
        .await
    {
        Ok(visit) => Redirect::to(&format!("/contacts?visit={}#visits", visit.id)).into_response(),
        Err(reqloop_store::Error::Invalid(e)) => {
            let shown = Shown {
                notice: u.t.t("form.fix_errors").to_string(),
                visit: Some(v),
                failed: "visit",
                errors: field_messages(&u.t, &e),
                status: StatusCode::BAD_REQUEST,
                ..Shown::ok()
            };
            contacts_view(&s, &u, &HashMap::new(), shown).await
        }
        Err(e) => {
            let e = AppError::from(e);
            let shown = Shown {
                notice: refusal(&u.t, &e),
                visit: Some(v),
                failed: "visit",
                status: e.status,
                ..Shown::ok()
            };
            contacts_view(&s, &u, &HashMap::new(), shown).await
        }
    }
}

/// Saves the plan's frequencies.
pub async fn save_rules(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    let n = |k: &str| form.get(k).trim().parse::<u32>().unwrap_or(u32::MAX);
    let rules = ContactRules {
        strategic: n("strategic"),
        key: n("key"),
        general: n("general"),
        potential: n("potential"),
        return_visit_days: n("return_visit_days"),
    };
    match s
        .store
        .set_contact_rules(&u.actor, rules, s.clock.now())
        .await
    {
        Ok(_) => Redirect::to("/contacts#rules").into_response(),
        Err(e) => {
            let (notice, errors, status) = match e {
                reqloop_store::Error::Invalid(e) => (
                    u.t.t("form.fix_errors").to_string(),
                    field_messages(&u.t, &e),
                    StatusCode::BAD_REQUEST,
                ),
                e => {
                    let e = AppError::from(e);
                    (refusal(&u.t, &e), HashMap::new(), e.status)
                }
            };
            let shown = Shown {
                notice,
                rules: Some(rules),
                failed: "rules",
                errors,
                status,
                ..Shown::ok()
            };
            contacts_view(&s, &u, &HashMap::new(), shown).await
        }
    }
}

// ---- symposia ----

#[derive(Template)]
#[template(path = "symposia.html")]
struct SymposiaPage {
    c: Chrome,
    notice: String,
    rows: Vec<Symposium>,
    pager: Pager,
    form: SymposiumFields,
    errors: HashMap<String, String>,
    can_manage: bool,
}

impl SymposiaPage {
    fn err(&self, f: &str) -> &str {
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
}

async fn symposia_view(
    s: &AppState,
    u: &PageUser,
    page: i64,
    form: Option<SymposiumFields>,
    notice: String,
    errors: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let list = match s
        .store
        .list_symposia(&u.actor, Some(page), Some(PER_PAGE))
        .await
    {
        Ok(l) => l,
        Err(e) => return error_page(u, e.into()),
    };
    let year = chrono::Datelike::year(&reqloop_domain::time::shanghai_date(s.clock.now()));
    let p = SymposiaPage {
        c: Chrome::new(u, "symposia", u.t.t("nav.symposia").to_string()),
        notice,
        pager: Pager::new(page, PER_PAGE, list.total, "/symposia", &[]),
        rows: list.items,
        form: form.unwrap_or(SymposiumFields {
            year,
            product_line: String::new(),
            planned_on: String::new(),
            place: String::new(),
            agenda: u.t.t("symposium.agenda_default").to_string(),
        }),
        errors,
        can_manage: may(&u.actor, Action::ContactPlanManage),
    };
    (status, render(&p)).into_response()
}

pub async fn symposia(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    symposia_view(
        &s,
        &u,
        page,
        None,
        String::new(),
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn plan_symposium(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    let f = SymposiumFields {
        year: form.get("year").parse().unwrap_or(0),
        product_line: form.get("product_line"),
        planned_on: form.get("planned_on"),
        place: form.get("place"),
        agenda: form.get("agenda"),
    };
    match s
        .store
        .plan_symposium(&u.actor, f.clone(), s.clock.now())
        .await
    {
        Ok(x) => Redirect::to(&format!("/symposia/{}", x.id)).into_response(),
        Err(reqloop_store::Error::Invalid(e)) => {
            let notice = u.t.t("form.fix_errors").to_string();
            let errors = field_messages(&u.t, &e);
            symposia_view(&s, &u, 1, Some(f), notice, errors, StatusCode::BAD_REQUEST).await
        }
        Err(e) => {
            let e = AppError::from(e);
            let notice = refusal(&u.t, &e);
            symposia_view(&s, &u, 1, Some(f), notice, HashMap::new(), e.status).await
        }
    }
}

#[derive(Template)]
#[template(path = "symposium.html")]
struct SymposiumPage {
    c: Chrome,
    notice: String,
    x: Symposium,
    attendees: Vec<Attendee>,
    customers: Vec<Opt>,
    /// Which form failed (`attendee` or `minutes`), its values and messages.
    failed: &'static str,
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
    today: String,
    can_manage: bool,
}

impl SymposiumPage {
    fn err(&self, form: &str, f: &str) -> &str {
        if self.failed != form {
            return "";
        }
        self.errors.get(f).map(String::as_str).unwrap_or("")
    }
    fn value(&self, f: &str) -> &str {
        self.values.get(f).map(String::as_str).unwrap_or("")
    }
}

#[allow(clippy::too_many_arguments)]
async fn symposium_view(
    s: &AppState,
    u: &PageUser,
    id: i64,
    notice: String,
    failed: &'static str,
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
    status: StatusCode,
) -> Response {
    let loaded = async {
        let x = s.store.get_symposium(&u.actor, id).await?;
        let attendees = s.store.symposium_attendees(&u.actor, id).await?;
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
        Ok::<_, AppError>((x, attendees, customers))
    }
    .await;
    let (x, attendees, customers) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let p = SymposiumPage {
        c: Chrome::new(
            u,
            "symposia",
            format!("{} · {} {}", u.t.t("nav.symposia"), x.year, x.product_line),
        ),
        notice,
        customers: customers
            .items
            .iter()
            .map(|c| (c.id.0.to_string(), c.fields.name.clone(), false))
            .collect(),
        x,
        attendees,
        failed,
        values,
        errors,
        today: reqloop_domain::time::shanghai_date(s.clock.now()).to_string(),
        can_manage: may(&u.actor, Action::ContactPlanManage),
    };
    (status, render(&p)).into_response()
}

pub async fn symposium(State(s): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    symposium_view(
        &s,
        &u,
        id,
        String::new(),
        "",
        HashMap::new(),
        HashMap::new(),
        StatusCode::OK,
    )
    .await
}

/// The outcome of a symposium form: back to the page, or the page with the form's messages.
async fn symposium_outcome<T>(
    s: &AppState,
    u: &PageUser,
    id: i64,
    form: &'static str,
    values: HashMap<String, String>,
    r: reqloop_store::Result<T>,
) -> Response {
    match r {
        Ok(_) => Redirect::to(&format!("/symposia/{id}")).into_response(),
        Err(reqloop_store::Error::Invalid(e)) => {
            let notice = u.t.t("form.fix_errors").to_string();
            let errors = field_messages(&u.t, &e);
            symposium_view(
                s,
                u,
                id,
                notice,
                form,
                values,
                errors,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => {
            let e = AppError::from(e);
            let notice = refusal(&u.t, &e);
            symposium_view(s, u, id, notice, form, values, HashMap::new(), e.status).await
        }
    }
}

pub async fn add_attendee(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let a = NewAttendee {
        customer_id: form.get("customer_id").parse().ok(),
        name: form.get("name"),
        title: form.get("title"),
    };
    let values = HashMap::from([
        ("name".to_string(), a.name.clone()),
        ("title".to_string(), a.title.clone()),
    ]);
    let r = s.store.add_attendee(&u.actor, id, a, s.clock.now()).await;
    symposium_outcome(&s, &u, id, "attendee", values, r).await
}

pub async fn minutes(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let m = Minutes {
        version: form.get("version").parse().unwrap_or(-1),
        held_on: form.get("held_on"),
        minutes: form.get("minutes"),
    };
    let values = HashMap::from([
        ("held_on".to_string(), m.held_on.clone()),
        ("minutes".to_string(), m.minutes.clone()),
    ]);
    let r = s.store.record_minutes(&u.actor, id, m, s.clock.now()).await;
    symposium_outcome(&s, &u, id, "minutes", values, r).await
}
