//! Requirement pages (F5, F6, F8): list, the collection form, and the detail page with the
//! identification table, the stage gate and the history of moves.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::StreamExt;
use reqloop_domain::access::Action;
use reqloop_domain::ids::{CustomerId, DepartmentId};
use reqloop_domain::requirement::{
    Category, Channel, Feasibility, ItemFields, Kind, Nature, Requirement, RequirementFields,
    RequirementPatch, Stage, SubCategory, Urgency,
};
use reqloop_domain::time::display_local;
use reqloop_domain::FieldErrors;
use reqloop_store::{CustomerFilter, RequirementFilter};

use super::{
    choices, error_page, field_messages, filters, may, render, Chrome, FormData, Opt, Pager,
};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::export::{self, ListFormat};
use crate::i18n::Tr;
use crate::AppState;

const PER_PAGE: i64 = 20;

pub struct Row {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub customer: String,
    pub customer_id: i64,
    pub stage: String,
    pub stage_label: String,
    pub urgency: String,
    pub urgency_label: String,
    pub category: String,
    pub collected_on: String,
}

#[derive(Template)]
#[template(path = "requirements.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<Row>,
    pager: Pager,
    q: String,
    customer_id: String,
    stages: Vec<Opt>,
    urgencies: Vec<Opt>,
    projects: Vec<Opt>,
    filtered: bool,
    can_create: bool,
}

pub async fn list(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| {
        q.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let t = u.t;
    let stage: Option<Stage> = get("stage").parse().ok();
    let urgency: Option<Urgency> = get("urgency").parse().ok();
    let page: i64 = get("page").parse().unwrap_or(1);
    let project: Option<i64> = get("project_id").parse().ok();
    let filter = RequirementFilter {
        customer_id: get("customer_id").parse().ok(),
        project_id: project,
        stage,
        urgency,
        q: Some(get("q")),
        page: Some(page),
        per_page: Some(PER_PAGE),
        ..Default::default()
    };
    if let Some(format) = ListFormat::of(&q) {
        return export_list(s, &u, filter, format).await;
    }
    let loaded = async {
        let list = s.store.list_requirements(&u.actor, &filter).await?;
        let ids: Vec<i64> = list.items.iter().map(|r| r.fields.customer_id.0).collect();
        let names = s.store.customer_names(&u.actor, &ids).await?;
        Ok::<_, AppError>((list, names, s.store.list_projects().await?))
    }
    .await;
    let (list, names, projects) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(&u, e),
    };
    let rows = list
        .items
        .iter()
        .map(|r| Row {
            id: r.id,
            code: r.code.clone(),
            title: r.fields.title.clone(),
            customer: names
                .get(&r.fields.customer_id.0)
                .cloned()
                .unwrap_or_default(),
            customer_id: r.fields.customer_id.0,
            stage: r.stage.as_str().into(),
            stage_label: t.label("stage", r.stage.as_str()),
            urgency: r.fields.urgency.as_str().into(),
            urgency_label: t.label("urgency", r.fields.urgency.as_str()),
            category: t.label("category", r.fields.category.as_str()),
            collected_on: r.fields.collected_on.clone(),
        })
        .collect();
    let keep: Vec<(String, String)> = q.iter().filter(|(k, _)| k != "page").cloned().collect();
    let page = ListPage {
        c: Chrome::new(&u, "requirements", t.t("nav.requirements").to_string()),
        rows,
        pager: Pager::new(page, PER_PAGE, list.total, "/requirements", &keep).exportable(),
        q: get("q"),
        customer_id: get("customer_id"),
        stages: choices(Stage::ALL, Stage::as_str, &t, "stage", stage),
        urgencies: choices(Urgency::ALL, Urgency::as_str, &t, "urgency", urgency),
        projects: projects
            .iter()
            .map(|p| {
                (
                    p.id.to_string(),
                    format!("{} {}", p.fields.code, p.fields.name),
                    Some(p.id) == project,
                )
            })
            .collect(),
        filtered: ["q", "stage", "urgency", "customer_id", "project_id"]
            .iter()
            .any(|k| !get(k).is_empty()),
        can_create: may(&u.actor, Action::RequirementWrite),
    };
    render(&page)
}

// ---- collection form ----

#[derive(Template)]
#[template(path = "requirement_form.html")]
struct FormPage {
    c: Chrome,
    notice: String,
    /// The customer search box and how many customers match it (the picker shows 200 at most).
    customer_q: String,
    customer_total: i64,
    /// Where the form posts: `/requirements` (collect) or `/requirements/{id}/edit`.
    action: String,
    /// The version being edited (empty when collecting).
    version: String,
    /// Shown (read-only) instead of the customer picker when editing.
    customer_label: String,
    v: HashMap<String, String>,
    errors: HashMap<String, String>,
    customers: Vec<Opt>,
    projects: Vec<Opt>,
    selects: Vec<(&'static str, String, Vec<Opt>, bool)>,
}

impl FormPage {
    fn val(&self, field: &str) -> &str {
        self.v.get(field).map(String::as_str).unwrap_or("")
    }

    fn err(&self, field: &str) -> &str {
        self.errors.get(field).map(String::as_str).unwrap_or("")
    }
}

/// Which form: collecting a new requirement, or editing one (id, version, customer label).
enum FormMode {
    New,
    Edit(i64, i64, String),
}

async fn form_page(
    s: &AppState,
    u: &PageUser,
    form: &FormData,
    errors: HashMap<String, String>,
    notice: String,
    mode: FormMode,
) -> Response {
    let t = u.t;
    // The picker lists up to 200 customers matching the search box (name, code, …); a customer
    // chosen already stays in the list.
    let search = form.get("customer_q");
    let found = s
        .store
        .list_customers(
            &u.actor,
            &CustomerFilter {
                q: Some(search.clone()).filter(|q| !q.trim().is_empty()),
                per_page: Some(200),
                ..Default::default()
            },
        )
        .await;
    let (mut customers, customer_total) = match found {
        Ok(p) => (p.items, p.total),
        Err(e) => return error_page(u, e.into()),
    };
    if let Ok(chosen) = form.get("customer_id").parse::<i64>() {
        if !customers.iter().any(|c| c.id.0 == chosen) {
            if let Ok(c) = s.store.get_customer(&u.actor, CustomerId(chosen)).await {
                customers.insert(0, c);
            }
        }
    }
    let projects = match s.store.list_projects().await {
        Ok(p) => p,
        Err(e) => return error_page(u, e.into()),
    };
    let chosen = form.get("customer_id");
    let chosen_project = form.get("project_id");
    let sel = |name: &str, set: &str, ids: Vec<&'static str>| -> (String, Vec<Opt>) {
        let current = form.get(name);
        (
            t.t(&format!("req.{name}")).to_string(),
            ids.into_iter()
                .map(|i| (i.to_string(), t.label(set, i), i == current))
                .collect(),
        )
    };
    let mut selects = Vec::new();
    let feasibility: Vec<&'static str> = Feasibility::ALL.iter().map(|v| v.as_str()).collect();
    for (name, set, ids) in [
        (
            "channel",
            "channel",
            Channel::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        ),
        (
            "category",
            "category",
            Category::ALL.iter().map(|v| v.as_str()).collect(),
        ),
        (
            "sub_category",
            "subcat",
            SubCategory::ALL.iter().map(|v| v.as_str()).collect(),
        ),
        (
            "nature",
            "nature",
            Nature::ALL.iter().map(|v| v.as_str()).collect(),
        ),
        (
            "kind",
            "kind",
            Kind::ALL.iter().map(|v| v.as_str()).collect(),
        ),
        (
            "urgency",
            "urgency",
            Urgency::ALL.iter().map(|v| v.as_str()).collect(),
        ),
        ("feasibility_technical", "feas", feasibility.clone()),
        ("feasibility_economic", "feas", feasibility.clone()),
        ("feasibility_time", "feas", feasibility),
        ("value_score", "value", vec!["1", "2", "3", "4", "5"]),
    ] {
        let (label, o) = sel(name, set, ids);
        let blank = name == "sub_category" || set == "feas" || set == "value";
        selects.push((name, label, o, blank));
    }
    let (action, version, customer_label, title) = match mode {
        FormMode::New => (
            "/requirements".to_string(),
            String::new(),
            String::new(),
            t.t("req.new").to_string(),
        ),
        FormMode::Edit(id, version, label) => (
            format!("/requirements/{id}/edit"),
            version.to_string(),
            label,
            t.t("req.edit").to_string(),
        ),
    };
    let page = FormPage {
        c: Chrome::new(u, "requirements", title),
        notice,
        customer_q: search,
        customer_total,
        action,
        version,
        customer_label,
        v: [
            "title",
            "description",
            "source_person",
            "collected_on",
            "feasibility_note",
            "customer_id",
        ]
        .iter()
        .map(|k| (k.to_string(), form.get(k)))
        .collect(),
        errors,
        customers: customers
            .iter()
            .map(|c| {
                (
                    c.id.0.to_string(),
                    format!("{} {}", c.code, c.fields.name),
                    c.id.0.to_string() == chosen,
                )
            })
            .collect(),
        projects: projects
            .iter()
            .map(|p| {
                (
                    p.id.to_string(),
                    format!("{} {}", p.fields.code, p.fields.name),
                    p.id.to_string() == chosen_project,
                )
            })
            .collect(),
        selects,
    };
    render(&page)
}

pub async fn new_form(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = u.actor.require(Action::RequirementWrite) {
        return error_page(&u, e.into());
    }
    let mut defaults = vec![
        ("channel".to_string(), "visit".to_string()),
        ("category".into(), "product".into()),
        ("nature".into(), "functional".into()),
        ("kind".into(), "stated".into()),
        ("urgency".into(), "general".into()),
    ];
    for key in ["customer_id", "project_id", "customer_q"] {
        if let Some(v) = q.get(key) {
            defaults.push((key.into(), v.clone()));
        }
    }
    form_page(
        &s,
        &u,
        &FormData(defaults),
        HashMap::new(),
        String::new(),
        FormMode::New,
    )
    .await
}

fn parse_form(form: &FormData) -> Result<RequirementFields, FieldErrors> {
    let mut e = FieldErrors::default();
    fn pick<T: std::str::FromStr>(e: &mut FieldErrors, form: &FormData, name: &str) -> Option<T> {
        let v = form.get(name);
        let parsed = v.parse().ok();
        let optional = matches!(
            name,
            "sub_category"
                | "feasibility_technical"
                | "feasibility_economic"
                | "feasibility_time"
                | "value_score"
        );
        if parsed.is_none() && !(optional && v.is_empty()) {
            e.add(name, if v.is_empty() { "required" } else { "choice" });
        }
        parsed
    }
    let customer = form.get("customer_id").parse().ok().map(CustomerId);
    if customer.is_none() {
        e.add("customer_id", "required");
    }
    let channel = pick(&mut e, form, "channel");
    let category = pick(&mut e, form, "category");
    let sub_category = pick(&mut e, form, "sub_category");
    let nature = pick(&mut e, form, "nature");
    let kind = pick(&mut e, form, "kind");
    let urgency = pick(&mut e, form, "urgency");
    let feasibility_technical = pick(&mut e, form, "feasibility_technical");
    let feasibility_economic = pick(&mut e, form, "feasibility_economic");
    let feasibility_time = pick(&mut e, form, "feasibility_time");
    let value_score = pick(&mut e, form, "value_score");
    let (Some(customer_id), Some(channel), Some(category), Some(nature), Some(kind), Some(urgency)) =
        (customer, channel, category, nature, kind, urgency)
    else {
        return Err(e);
    };
    let project_text = form.get("project_id");
    let project_id = if project_text.is_empty() {
        None
    } else {
        project_text.parse().ok()
    };
    if project_id.is_none() && !project_text.is_empty() {
        e.add("project_id", "choice");
    }
    let mut f = RequirementFields {
        customer_id,
        project_id,
        title: form.get("title"),
        description: form.get("description"),
        channel,
        category,
        sub_category,
        nature,
        kind,
        urgency,
        source_person: form.get("source_person"),
        collected_on: form.get("collected_on"),
        feasibility_technical,
        feasibility_economic,
        feasibility_time,
        feasibility_note: form.get("feasibility_note"),
        value_score,
    };
    match f.validate() {
        Ok(()) if e.is_empty() => Ok(f),
        Ok(()) => Err(e),
        Err(more) => {
            e.0.extend(more.0);
            Err(e)
        }
    }
}

pub async fn create(State(s): State<AppState>, u: PageUser, form: FormData) -> Response {
    if let Err(e) = u.actor.require(Action::RequirementWrite) {
        return error_page(&u, e.into());
    }
    let result = match parse_form(&form) {
        Ok(f) => s.store.create_requirement(&u.actor, f, s.clock.now()).await,
        Err(errors) => Err(reqloop_store::Error::Invalid(errors)),
    };
    match result {
        Ok(r) => Redirect::to(&format!("/requirements/{}", r.id)).into_response(),
        Err(reqloop_store::Error::Invalid(errors)) => {
            let notice = u.t.t("form.fix_errors").to_string();
            let errors = field_messages(&u.t, &errors);
            let page = form_page(&s, &u, &form, errors, notice, FormMode::New).await;
            (StatusCode::BAD_REQUEST, page).into_response()
        }
        Err(e) => error_page(&u, e.into()),
    }
}

/// The edit form, filled with the requirement as stored.
pub async fn edit_form(State(s): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    if let Err(e) = u.actor.require(Action::RequirementWrite) {
        return error_page(&u, e.into());
    }
    let r = match s.store.get_requirement(&u.actor, id).await {
        Ok(r) => r,
        Err(e) => return error_page(&u, e.into()),
    };
    let f = &r.fields;
    let opt = |v: Option<&str>| v.unwrap_or("").to_string();
    let form = FormData(
        [
            ("customer_id", f.customer_id.0.to_string()),
            ("title", f.title.clone()),
            ("description", f.description.clone()),
            ("channel", f.channel.as_str().into()),
            ("category", f.category.as_str().into()),
            ("sub_category", opt(f.sub_category.map(|v| v.as_str()))),
            ("nature", f.nature.as_str().into()),
            ("kind", f.kind.as_str().into()),
            ("urgency", f.urgency.as_str().into()),
            ("source_person", f.source_person.clone()),
            ("collected_on", f.collected_on.clone()),
            (
                "feasibility_technical",
                opt(f.feasibility_technical.map(|v| v.as_str())),
            ),
            (
                "feasibility_economic",
                opt(f.feasibility_economic.map(|v| v.as_str())),
            ),
            (
                "feasibility_time",
                opt(f.feasibility_time.map(|v| v.as_str())),
            ),
            ("feasibility_note", f.feasibility_note.clone()),
            (
                "value_score",
                f.value_score.map(|v| v.to_string()).unwrap_or_default(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    );
    let mode = FormMode::Edit(id, r.version, format!("{} {}", r.code, r.fields.title));
    form_page(&s, &u, &form, HashMap::new(), String::new(), mode).await
}

/// Saves the edit form (409 when someone changed the requirement meanwhile).
pub async fn edit(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::RequirementWrite) {
        return error_page(&u, e.into());
    }
    let version: i64 = form.get("version").parse().unwrap_or(0);
    let result = match parse_form(&form) {
        Ok(f) => {
            let patch = RequirementPatch {
                version,
                title: Some(f.title),
                description: Some(f.description),
                channel: Some(f.channel),
                category: Some(f.category),
                sub_category: Some(f.sub_category),
                nature: Some(f.nature),
                kind: Some(f.kind),
                urgency: Some(f.urgency),
                source_person: Some(f.source_person),
                collected_on: Some(f.collected_on),
                feasibility_technical: Some(f.feasibility_technical),
                feasibility_economic: Some(f.feasibility_economic),
                feasibility_time: Some(f.feasibility_time),
                feasibility_note: Some(f.feasibility_note),
                value_score: Some(f.value_score),
            };
            s.store
                .update_requirement(&u.actor, id, patch, s.clock.now())
                .await
        }
        Err(errors) => Err(reqloop_store::Error::Invalid(errors)),
    };
    let (status, notice, errors) = match result {
        Ok(_) => return Redirect::to(&format!("/requirements/{id}")).into_response(),
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
    let label = form.get("customer_label");
    let page = form_page(
        &s,
        &u,
        &form,
        errors,
        notice,
        FormMode::Edit(id, version, label),
    )
    .await;
    (status, page).into_response()
}

// ---- detail ----

type Move = (String, String, String, String, bool, String);
type Output = (String, String, String, String, bool);

#[derive(Template)]
#[template(path = "requirement.html")]
struct DetailPage {
    c: Chrome,
    r: Requirement,
    notice: String,
    customer: String,
    stage_label: String,
    urgency_label: String,
    channel: String,
    category: String,
    nature: String,
    kind: String,
    entered: String,
    progress: Vec<(String, &'static str)>,
    items: Vec<(usize, i64, String, String, String, String)>,
    categories: Vec<Opt>,
    departments: Vec<Opt>,
    item_errors: HashMap<String, String>,
    closed: bool,
    output_label: String,
    output_on_file: bool,
    show_output_form: bool,
    next: Option<(String, String)>,
    earlier: Vec<Opt>,
    moves: Vec<Move>,
    outputs: Vec<Output>,
    can_write: bool,
    can_move: bool,
    /// (id, code, title, relation, relation label, score %, same customer)
    similar: Vec<(i64, String, String, String, String, i64, bool)>,
    items_editable: bool,
    /// Technical, economic, time: (axis label, value, value label).
    feasibility: Vec<(String, String, String)>,
    handoffs: Vec<HandoffView>,
    reviews: Vec<reqloop_store::ReviewRound>,
    can_start_review: bool,
    /// Review aspects to tick: (value, label).
    aspects: Vec<(String, String)>,
    attachments: Vec<reqloop_store::Attachment>,
    /// The requirement's changes, for those cleared to see them (`None` otherwise).
    changes: Option<Vec<reqloop_store::Change>>,
    can_request_change: bool,
    /// The current stage's response-time clock (F22) and how it reads.
    clock: Option<reqloop_store::ClockView>,
    clock_text: String,
}

/// A hand-off as a row of the requirement page and the "my work" page.
pub struct HandoffView {
    pub h: reqloop_domain::handoff::Handoff,
    pub stage_label: String,
    pub status_label: String,
    pub department: String,
    pub output_department: String,
    pub due: String,
    /// Working time left while pending, or how long overdue (F22).
    pub left: String,
    /// The viewer may acknowledge / complete it.
    pub can_ack: bool,
    pub can_complete: bool,
}

impl HandoffView {
    pub fn new(
        h: reqloop_domain::handoff::Handoff,
        u: &PageUser,
        departments: &[reqloop_domain::user::Department],
    ) -> Self {
        use reqloop_domain::handoff::{check_acknowledge, check_complete};
        let t = u.t;
        let name = |d: DepartmentId| dept_label(&t, departments, d);
        HandoffView {
            stage_label: t.label("stage", h.stage.as_str()),
            status_label: t.label("handoff", h.status.as_str()),
            department: name(h.department_id),
            output_department: name(h.output_department_id),
            due: display_local(&h.due_at),
            left: h
                .remaining_minutes
                .map(|m| super::warnings::minutes_text(&t, m))
                .unwrap_or_default(),
            can_ack: check_acknowledge(&u.actor, h.status, h.receiver_id, h.department_id).is_ok(),
            can_complete: check_complete(&u.actor, h.status, h.receiver_id, h.department_id)
                .is_ok(),
            h,
        }
    }
}

/// A department's name in the viewer's language.
pub fn dept_label(
    t: &Tr,
    departments: &[reqloop_domain::user::Department],
    d: DepartmentId,
) -> String {
    departments
        .iter()
        .find(|x| x.id == d)
        .map(|x| {
            if t.is_en() {
                x.name_en.clone()
            } else {
                x.name_zh.clone()
            }
        })
        .unwrap_or_default()
}

impl DetailPage {
    fn err(&self, field: &str) -> &str {
        self.item_errors
            .get(field)
            .map(String::as_str)
            .unwrap_or("")
    }
}

async fn detail_page(
    s: &AppState,
    u: &PageUser,
    id: i64,
    notice: String,
    item_errors: HashMap<String, String>,
) -> Response {
    let t = u.t;
    let loaded = async {
        let r = s.store.get_requirement(&u.actor, id).await?;
        let items = s.store.list_items(&u.actor, id).await?;
        let moves = s.store.transitions(&u.actor, id).await?;
        let outputs = s.store.stage_outputs(&u.actor, id).await?;
        let customer = s.store.requirement_customer(&u.actor, id).await?;
        let departments = s.store.departments().await?;
        let similar = s.store.similar_requirements(&u.actor, id).await?;
        let handoffs = s
            .store
            .list_handoffs(
                &u.actor,
                &reqloop_store::HandoffFilter {
                    requirement_id: Some(id),
                    status: Some("all".into()),
                    per_page: Some(200),
                    ..Default::default()
                },
                s.clock.now(),
            )
            .await?;
        let reviews = s
            .store
            .list_reviews(
                &u.actor,
                &reqloop_store::ReviewFilter {
                    requirement_id: Some(id),
                    per_page: Some(50),
                    ..Default::default()
                },
            )
            .await?;
        let attachments = s.store.attachments(&u.actor, id).await?;
        let clock = s.store.clock_of(&r, s.clock.now()).await?;
        let changes = if may(&u.actor, Action::ChangeRead) {
            let f = reqloop_store::ChangeFilter {
                requirement_id: Some(id),
                per_page: Some(50),
                ..Default::default()
            };
            Some(s.store.list_changes(&u.actor, &f).await?.items)
        } else {
            None
        };
        Ok::<_, AppError>((
            (r, items, moves, outputs, customer, departments, similar),
            (handoffs, reviews, attachments, changes, clock),
        ))
    }
    .await;
    let (
        (r, items, moves, outputs, customer, departments, similar),
        (handoffs, reviews, attachments, changes, clock),
    ) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(u, e),
    };
    let dept_name = |d: DepartmentId| dept_label(&t, &departments, d);
    let current = Stage::ALL.iter().position(|s| *s == r.stage).unwrap_or(0);
    let closed = r.stage == Stage::Closed;
    let output_on_file = match r.stage {
        Stage::Identification => !items.is_empty(),
        stage => outputs
            .iter()
            .any(|o| o.stage == stage.as_str() && o.superseded == 0),
    };
    let page = DetailPage {
        c: Chrome::new(u, "requirements", r.fields.title.clone()),
        notice,
        customer,
        stage_label: t.label("stage", r.stage.as_str()),
        urgency_label: t.label("urgency", r.fields.urgency.as_str()),
        channel: t.label("channel", r.fields.channel.as_str()),
        category: match r.fields.sub_category {
            Some(sub) => format!(
                "{} · {}",
                t.label("category", r.fields.category.as_str()),
                t.label("subcat", sub.as_str())
            ),
            None => t.label("category", r.fields.category.as_str()),
        },
        nature: t.label("nature", r.fields.nature.as_str()),
        kind: t.label("kind", r.fields.kind.as_str()),
        entered: display_local(&r.stage_entered_at),
        progress: Stage::ALL
            .iter()
            .enumerate()
            .map(|(i, st)| {
                (
                    t.label("stage", st.as_str()),
                    if i < current {
                        "done"
                    } else if i == current {
                        "current"
                    } else {
                        "todo"
                    },
                )
            })
            .collect(),
        items: items
            .iter()
            .enumerate()
            .map(|(n, it)| {
                (
                    n + 1,
                    it.id,
                    it.fields.description.clone(),
                    t.label("category", it.fields.category.as_str()),
                    it.fields.acceptance_criterion.clone(),
                    dept_name(it.fields.department_id),
                )
            })
            .collect(),
        categories: choices(
            Category::ALL,
            Category::as_str,
            &t,
            "category",
            Some(r.fields.category),
        ),
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
                    false,
                )
            })
            .collect(),
        item_errors,
        closed,
        output_label: r
            .stage
            .required_output()
            .map(|o| t.t(&format!("output.{o}")).to_string())
            .unwrap_or_default(),
        output_on_file,
        show_output_form: r.stage != Stage::Identification && !output_on_file,
        next: r
            .stage
            .next()
            .map(|n| (n.as_str().to_string(), t.label("stage", n.as_str()))),
        earlier: Stage::ALL[..current]
            .iter()
            .map(|st| {
                (
                    st.as_str().to_string(),
                    t.label("stage", st.as_str()),
                    false,
                )
            })
            .collect(),
        moves: moves
            .iter()
            .map(|m| {
                (
                    display_local(&m.at),
                    m.actor_name.clone(),
                    t.label("stage", &m.from_stage),
                    t.label("stage", &m.to_stage),
                    m.move_kind == "rework",
                    m.reason.clone(),
                )
            })
            .collect(),
        outputs: outputs
            .iter()
            .map(|o| {
                (
                    t.label("stage", &o.stage),
                    o.note.clone(),
                    o.actor_name.clone(),
                    display_local(&o.at),
                    o.superseded != 0,
                )
            })
            .collect(),
        can_write: may(&u.actor, Action::RequirementWrite) && !closed,
        can_move: may(&u.actor, Action::RequirementTransition) && !closed,
        items_editable: may(&u.actor, Action::RequirementWrite) && r.stage == Stage::Identification,
        feasibility: [
            ("req.feasibility_technical", r.fields.feasibility_technical),
            ("req.feasibility_economic", r.fields.feasibility_economic),
            ("req.feasibility_time", r.fields.feasibility_time),
        ]
        .iter()
        .map(|(key, v)| {
            let v = v.map(|v| v.as_str()).unwrap_or("");
            let label = if v.is_empty() {
                "—".to_string()
            } else {
                t.label("feas", v)
            };
            (t.t(key).to_string(), v.to_string(), label)
        })
        .collect(),
        handoffs: handoffs
            .items
            .into_iter()
            .map(|h| HandoffView::new(h, u, &departments))
            .collect(),
        can_start_review: r.stage == Stage::Review
            && may(&u.actor, Action::ReviewStart)
            && !reviews
                .items
                .iter()
                .any(|v| v.status == reqloop_domain::review::RoundStatus::Open),
        reviews: reviews.items,
        aspects: reqloop_domain::review::Aspect::ALL
            .iter()
            .map(|a| (a.as_str().to_string(), t.label("aspect", a.as_str())))
            .collect(),
        attachments,
        can_request_change: may(&u.actor, Action::ChangeRequest)
            && !items.is_empty()
            && r.stage != Stage::Identification
            && r.merged_into.is_none(),
        changes,
        clock_text: clock
            .as_ref()
            .map(|c| super::warnings::clock_text(&t, c))
            .unwrap_or_default(),
        clock,
        similar: similar
            .into_iter()
            .take(8)
            .map(|m| {
                let rel = serde_json::to_value(m.relation)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let label = t.t(&format!("rel.{rel}")).to_string();
                let same = m.customer_id == r.fields.customer_id.0;
                (
                    m.id,
                    m.code,
                    m.title,
                    rel,
                    label,
                    (m.score * 100.0).round() as i64,
                    same,
                )
            })
            .collect(),
        r,
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "identification.html")]
struct SheetPage {
    c: Chrome,
    r: Requirement,
    customer: String,
    items: Vec<(usize, i64, String, String, String, String)>,
}

/// The printable identification table (客户需求识别表, F6), laid out for A4.
pub async fn identification_sheet(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
) -> Response {
    let loaded = async {
        let r = s.store.get_requirement(&u.actor, id).await?;
        let items = s.store.list_items(&u.actor, id).await?;
        let customer = s.store.requirement_customer(&u.actor, id).await?;
        let departments = s.store.departments().await?;
        Ok::<_, AppError>((r, items, customer, departments))
    }
    .await;
    let (r, items, customer, departments) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(&u, e),
    };
    let t = u.t;
    render(&SheetPage {
        c: Chrome::new(
            &u,
            "requirements",
            t.t("req.identification_sheet").to_string(),
        ),
        customer,
        items: items
            .iter()
            .enumerate()
            .map(|(n, it)| {
                (
                    n + 1,
                    it.id,
                    it.fields.description.clone(),
                    t.label("category", it.fields.category.as_str()),
                    it.fields.acceptance_criterion.clone(),
                    dept_label(&t, &departments, it.fields.department_id),
                )
            })
            .collect(),
        r,
    })
}

pub async fn detail(State(s): State<AppState>, u: PageUser, Path(id): Path<i64>) -> Response {
    detail_page(&s, &u, id, String::new(), HashMap::new()).await
}

/// Where a requirement action lands: `to` on success; otherwise the requirement page with the
/// refusal above it (and messages next to the fields for invalid input), with the error's status.
pub(crate) async fn land<T>(
    s: &AppState,
    u: &PageUser,
    id: i64,
    result: Result<T, reqloop_store::Error>,
    to: &str,
    invalid_notice: &str,
) -> Response {
    match result {
        Ok(_) => Redirect::to(to).into_response(),
        Err(reqloop_store::Error::Invalid(errors)) => {
            let notice = u.t.t(invalid_notice).to_string();
            (
                StatusCode::BAD_REQUEST,
                detail_page(s, u, id, notice, field_messages(&u.t, &errors)).await,
            )
                .into_response()
        }
        Err(e) => {
            let e = AppError::from(e);
            (
                e.status,
                detail_page(s, u, id, refusal(&u.t, &e), HashMap::new()).await,
            )
                .into_response()
        }
    }
}

/// The message for a refused action, shown above the page.
pub(crate) fn refusal(t: &Tr, e: &AppError) -> String {
    match e.code {
        "stale_version" => t.t("form.stale").to_string(),
        "forbidden" => t.t("error.forbidden").to_string(),
        code => {
            let key = format!("rule.{code}");
            let text = t.t(&key);
            if text == key {
                e.message.clone()
            } else {
                text.to_string()
            }
        }
    }
}

pub async fn add_item(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::RequirementWrite) {
        return error_page(&u, e.into());
    }
    let (Ok(category), Ok(department)) = (
        form.get("category").parse::<Category>(),
        form.get("department_id").parse::<i64>(),
    ) else {
        let notice = u.t.t("err.choice").to_string();
        return (
            StatusCode::BAD_REQUEST,
            detail_page(&s, &u, id, notice, HashMap::new()).await,
        )
            .into_response();
    };
    let item = ItemFields {
        description: form.get("description"),
        category,
        sub_category: None,
        acceptance_criterion: form.get("acceptance_criterion"),
        department_id: DepartmentId(department),
    };
    let result = s.store.add_item(&u.actor, id, item, s.clock.now()).await;
    land(
        &s,
        &u,
        id,
        result,
        &format!("/requirements/{id}#items"),
        "form.fix_errors",
    )
    .await
}

pub async fn remove_item(
    State(s): State<AppState>,
    u: PageUser,
    Path((id, item)): Path<(i64, i64)>,
) -> Response {
    if let Err(e) = u.actor.require(Action::RequirementWrite) {
        return error_page(&u, e.into());
    }
    let result = s.store.remove_item(&u.actor, id, item, s.clock.now()).await;
    let to = format!("/requirements/{id}#items");
    land(&s, &u, id, result, &to, "form.fix_errors").await
}

/// Uploads an attachment from the requirement page (multipart form with `_csrf` and `file`).
pub async fn upload(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    if let Err(e) = u.actor.require(Action::RequirementWrite) {
        return error_page(&u, e.into());
    }
    let result = match crate::api::read_upload(multipart).await {
        Ok((name, bytes)) => {
            s.store
                .add_attachment(&u.actor, id, &name, bytes, s.clock.now())
                .await
        }
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
    };
    let to = format!("/requirements/{id}#attachments");
    land(&s, &u, id, result, &to, "form.fix_errors").await
}

pub async fn add_output(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::RequirementTransition) {
        return error_page(&u, e.into());
    }
    let result = s
        .store
        .add_stage_output(&u.actor, id, &form.get("note"), s.clock.now())
        .await;
    land(
        &s,
        &u,
        id,
        result,
        &format!("/requirements/{id}#gate"),
        "req.output_note_required",
    )
    .await
}

pub async fn transition(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::RequirementTransition) {
        return error_page(&u, e.into());
    }
    let Ok(to) = form.get("to").parse::<Stage>() else {
        return detail_page(&s, &u, id, u.t.t("err.choice").to_string(), HashMap::new()).await;
    };
    let version = form.get("version").parse().ok();
    let result = s
        .store
        .transition_requirement(
            &u.actor,
            id,
            to,
            &form.get("reason"),
            version,
            s.clock.now(),
        )
        .await;
    land(
        &s,
        &u,
        id,
        result,
        &format!("/requirements/{id}"),
        "form.fix_errors",
    )
    .await
}

/// Pauses the stage's clock while waiting for the customer, or resumes it (F22).
pub async fn wait(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    let w = reqloop_store::WaitRequest {
        version: form.get("version").parse().unwrap_or(-1),
        waiting: form.get("waiting") == "1",
        note: form.get("note"),
    };
    let result = s
        .store
        .set_requirement_waiting(&u.actor, id, w, s.clock.now())
        .await;
    land(
        &s,
        &u,
        id,
        result,
        &format!("/requirements/{id}#clock"),
        "form.fix_errors",
    )
    .await
}

// ---- projects ----

#[derive(Template)]
#[template(path = "projects.html")]
struct ProjectsPage {
    c: Chrome,
    /// (id, code, name, manager, team)
    rows: Vec<(i64, String, String, String, String)>,
}

pub async fn projects(State(s): State<AppState>, u: PageUser) -> Response {
    let loaded = async {
        let projects = s.store.list_projects().await?;
        let users = s.store.list_users().await?;
        Ok::<_, AppError>((projects, users))
    }
    .await;
    let (projects, users) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(&u, e),
    };
    let name = |id: reqloop_domain::ids::UserId| {
        users
            .iter()
            .find(|x| x.id == id)
            .map(|x| x.display_name.clone())
            .unwrap_or_default()
    };
    let rows = projects
        .iter()
        .map(|p| {
            let team = p
                .fields
                .team
                .iter()
                .map(|m| name(*m))
                .collect::<Vec<_>>()
                .join("、");
            (
                p.id,
                p.fields.code.clone(),
                p.fields.name.clone(),
                name(p.fields.manager_id),
                team,
            )
        })
        .collect();
    let title = u.t.t("nav.projects").to_string();
    render(&ProjectsPage {
        c: Chrome::new(&u, "projects", title),
        rows,
    })
}

// ---- tracking ledger (F23) ----

/// (id, code, title, stage, stage label, entered per stage, due, overdue, responsible)
type LedgerLine = (
    i64,
    String,
    String,
    String,
    String,
    Vec<String>,
    String,
    bool,
    String,
    i64,
);

/// The receivers a ledger row waits for, by name (or department while nobody is named).
fn responsible(
    t: &Tr,
    departments: &[reqloop_domain::user::Department],
    row: &reqloop_store::LedgerRow,
) -> String {
    row.responsible
        .iter()
        .map(|w| {
            w.name
                .clone()
                .unwrap_or_else(|| dept_label(t, departments, w.department_id))
        })
        .collect::<Vec<_>>()
        .join("、")
}

#[derive(Template)]
#[template(path = "ledger.html")]
struct LedgerPage {
    c: Chrome,
    stages: Vec<Opt>,
    urgencies: Vec<Opt>,
    stage_headers: Vec<String>,
    rows: Vec<LedgerLine>,
    pager: Pager,
    csv_link: String,
}

fn ledger_filter(q: &[(String, String)], page: Option<i64>, per_page: i64) -> RequirementFilter {
    let get = |k: &str| {
        q.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    RequirementFilter {
        stage: get("stage").parse().ok(),
        urgency: get("urgency").parse().ok(),
        customer_id: get("customer_id").parse().ok(),
        project_id: get("project_id").parse().ok(),
        page,
        per_page: Some(per_page),
        sort: Some("-id".into()),
        ..Default::default()
    }
}

/// Month-day and time in Shanghai, short enough for a column.
fn short_time(stored: &str) -> String {
    display_local(stored)
        .get(5..)
        .unwrap_or_default()
        .to_string()
}

pub async fn ledger(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let t = u.t;
    let page: i64 = q
        .iter()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1);
    let filter = ledger_filter(&q, Some(page), 50);
    let loaded = async {
        let list = s.store.ledger(&u.actor, &filter, s.clock.now()).await?;
        Ok::<_, AppError>((list, s.store.departments().await?))
    }
    .await;
    let (list, departments) = match loaded {
        Ok(v) => v,
        Err(e) => return error_page(&u, e),
    };
    let nine = &Stage::ALL[..9];
    let rows = list
        .items
        .iter()
        .map(|row| {
            let r = &row.requirement;
            let dates = nine
                .iter()
                .map(|st| {
                    row.entered
                        .iter()
                        .find(|(s, _)| s == st)
                        .map(|(_, at)| short_time(at))
                        .unwrap_or_default()
                })
                .collect();
            (
                r.id,
                r.code.clone(),
                r.fields.title.clone(),
                r.stage.as_str().to_string(),
                t.label("stage", r.stage.as_str()),
                dates,
                match &row.clock {
                    // Due time and what is left (or waiting for the customer), F22.
                    Some(k) => format!(
                        "{} · {}",
                        short_time(&row.due),
                        super::warnings::clock_text(&t, k)
                    ),
                    None => String::new(),
                },
                row.overdue,
                responsible(&t, &departments, row),
                r.fields.customer_id.0,
            )
        })
        .collect();
    let keep: Vec<(String, String)> = q.iter().filter(|(k, _)| k != "page").cloned().collect();
    let mut csv = form_urlencoded::Serializer::new(String::new());
    for (k, v) in keep.iter().filter(|(_, v)| !v.is_empty()) {
        csv.append_pair(k, v);
    }
    let page = LedgerPage {
        c: Chrome::new(&u, "ledger", t.t("nav.ledger").to_string()),
        stages: choices(Stage::ALL, Stage::as_str, &t, "stage", filter.stage),
        urgencies: choices(Urgency::ALL, Urgency::as_str, &t, "urgency", filter.urgency),
        stage_headers: nine
            .iter()
            .map(|st| t.label("stage", st.as_str()))
            .collect(),
        rows,
        pager: Pager::new(page, 50, list.total, "/ledger", &keep),
        csv_link: format!("/ledger.csv?{}", csv.finish()),
    };
    render(&page)
}

/// The list as it is filtered, newest first, walked by id.
async fn export_list(
    s: AppState,
    u: &PageUser,
    filter: RequirementFilter,
    format: ListFormat,
) -> Response {
    let (headers, next) = export::requirements(s.store.clone(), u.actor.clone(), filter, u.t);
    export::list_download(format, "requirements", headers, next).await
}

/// The ledger as CSV (UTF-8 with BOM, Chinese headers), streamed 500 rows at a time with the
/// list's filters.
pub async fn ledger_csv(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let t = u.t;
    let mut header: Vec<String> = [
        "req.code",
        "req.title",
        "req.customer_id",
        "req.urgency",
        "req.stage",
    ]
    .iter()
    .map(|k| t.t(k).to_string())
    .collect();
    header.extend(
        Stage::ALL[..9]
            .iter()
            .map(|st| t.label("stage", st.as_str())),
    );
    header.push(t.t("ledger.responsible").to_string());
    header.push(t.t("ledger.due").to_string());
    header.push(t.t("ledger.overdue").to_string());
    let first = format!("\u{feff}{}", export::csv_line(&header));
    let state = (s, u, q, 1i64, false);
    let body =
        futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(first) }).chain(
            futures_util::stream::unfold(state, |(s, u, q, page, done)| async move {
                if done {
                    return None;
                }
                let filter = ledger_filter(&q, Some(page), 500);
                let loaded = async {
                    let list = s.store.ledger(&u.actor, &filter, s.clock.now()).await?;
                    Ok::<_, reqloop_store::Error>((list, s.store.departments().await?))
                }
                .await;
                let (list, departments) = match loaded {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::error!(error = %e, "ledger export failed");
                        return None;
                    }
                };
                let t = u.t;
                let mut chunk = String::new();
                for row in &list.items {
                    let r = &row.requirement;
                    let mut fields = vec![
                        r.code.clone(),
                        r.fields.title.clone(),
                        r.fields.customer_id.0.to_string(),
                        t.label("urgency", r.fields.urgency.as_str()),
                        t.label("stage", r.stage.as_str()),
                    ];
                    fields.extend(Stage::ALL[..9].iter().map(|st| {
                        row.entered
                            .iter()
                            .find(|(s, _)| s == st)
                            .map(|(_, at)| display_local(at))
                            .unwrap_or_default()
                    }));
                    fields.push(responsible(&t, &departments, row));
                    fields.push(display_local(&row.due));
                    fields.push(if row.overdue {
                        t.t("ledger.overdue").to_string()
                    } else {
                        String::new()
                    });
                    chunk.push_str(&export::csv_line(&fields));
                }
                let done = page * 500 >= list.total;
                Some((Ok(chunk), (s, u, q, page + 1, done)))
            }),
        );
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"ledger.csv\"",
            ),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}

pub async fn merge(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::RequirementWrite) {
        return error_page(&u, e.into());
    }
    let (into, version) = (
        form.get("into").parse().unwrap_or(0),
        form.get("version").parse().unwrap_or(-1),
    );
    let result = s
        .store
        .merge_requirement(&u.actor, id, into, version, s.clock.now())
        .await;
    land(
        &s,
        &u,
        id,
        result,
        &format!("/requirements/{id}"),
        "form.fix_errors",
    )
    .await
}

pub async fn inconsistency(
    State(s): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    form: FormData,
) -> Response {
    if let Err(e) = u.actor.require(Action::RequirementWrite) {
        return error_page(&u, e.into());
    }
    let other = form.get("other_id").parse().unwrap_or(0);
    let result = s
        .store
        .register_inconsistency(&u.actor, id, other, &form.get("note"), s.clock.now())
        .await;
    land(
        &s,
        &u,
        id,
        result,
        "/feedback-register",
        "register.note_required",
    )
    .await
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    c: Chrome,
    rows: Vec<reqloop_store::FeedbackEntry>,
    pager: Pager,
}

/// The customer feedback register (顾客反馈信息一览表); `?format=csv` exports it.
pub async fn register(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let page: i64 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let csv = q.get("format").is_some_and(|f| f == "csv");
    let (page_no, per_page) = if csv { (1, 200) } else { (page, 50) };
    let list = match s
        .store
        .feedback_register(&u.actor, Some(page_no), Some(per_page))
        .await
    {
        Ok(l) => l,
        Err(e) => return error_page(&u, e.into()),
    };
    let t = u.t;
    if csv {
        let header = [
            "register.requirement",
            "register.other",
            "register.note",
            "register.by",
            "register.at",
        ];
        let header: Vec<&str> = header.iter().map(|h| t.t(h)).collect();
        let mut out = format!("\u{feff}{}", export::csv_line(&header));
        for e in &list.items {
            let fields = [
                e.requirement_code.clone(),
                e.other_id.to_string(),
                e.note.clone(),
                e.actor_name.clone(),
                display_local(&e.at),
            ];
            out.push_str(&export::csv_line(&fields));
        }
        return (
            [
                (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    "attachment; filename=\"feedback-register.csv\"",
                ),
            ],
            out,
        )
            .into_response();
    }
    let pager = Pager::new(page, 50, list.total, "/feedback-register", &[]);
    let rows = list.items.into_iter().map(|mut e| {
        e.at = display_local(&e.at);
        e
    });
    render(&RegisterPage {
        c: Chrome::new(&u, "register", t.t("nav.register").to_string()),
        rows: rows.collect(),
        pager,
    })
}
