//! Server-rendered pages (F33) at the API's paths without `/api/v1`.

mod calendar;
mod changes;
mod complaints;
mod contacts;
mod contracts;
mod customers;
mod developer;
mod grading;
mod imports;
mod kpis;
mod notifications;
mod orders;
mod portal;
mod process_audits;
mod property;
mod reports;
mod requirements;
mod search;
mod segments;
mod survey_public;
mod survey_reports;
mod survey_templates;
mod surveys;
mod warnings;
mod workflow;

/// Template filters (askama finds `filters` in the template's scope).
pub(crate) mod filters {
    /// A stored UTC time as Shanghai local time.
    pub fn local<T: std::fmt::Display>(
        stored: T,
        _: &dyn askama::Values,
    ) -> askama::Result<String> {
        Ok(reqloop_domain::time::display_local(&stored.to_string()))
    }
}

use std::collections::HashMap;

use askama::Template;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use reqloop_domain::access::{Action, Actor};
use reqloop_domain::audit::Entry;
use reqloop_domain::time::display_local;
use reqloop_store::AuditFilter;
use serde::Deserialize;

use crate::auth::{self, PageUser};
use crate::error::AppError;
use crate::i18n::Tr;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/customers") }))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(set_lang))
        .route("/audit", get(audit_page))
        .route(
            "/import",
            get(imports::form)
                .post(imports::upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::import::MAX_UPLOAD + 64 * 1024,
                )),
        )
        .route("/import/templates/{file}", get(imports::template))
        .route("/import/reports/{token}", get(imports::report))
        .route("/customers", get(customers::list).post(customers::create))
        .route("/customers/new", get(customers::new_form))
        .route(
            "/customers/{id}",
            get(customers::detail).post(customers::update),
        )
        .route("/customers/{id}/edit", get(customers::edit_form))
        .route("/customers/{id}/archive", post(customers::archive))
        .route("/customers/{id}/contacts", post(customers::add_contact))
        .route(
            "/customers/{id}/contacts/{contact_id}/delete",
            post(customers::delete_contact),
        )
        .route(
            "/requirements",
            get(requirements::list).post(requirements::create),
        )
        .route("/requirements/new", get(requirements::new_form))
        .route("/requirements/{id}", get(requirements::detail))
        .route(
            "/requirements/{id}/edit",
            get(requirements::edit_form).post(requirements::edit),
        )
        .route(
            "/requirements/{id}/items/{item_id}/remove",
            post(requirements::remove_item),
        )
        .route(
            "/requirements/{id}/identification",
            get(requirements::identification_sheet),
        )
        .route(
            "/requirements/{id}/attachments",
            post(requirements::upload).layer(axum::extract::DefaultBodyLimit::max(
                reqloop_domain::attachment::MAX_BYTES + 64 * 1024,
            )),
        )
        .route("/requirements/{id}/reviews", post(workflow::start_review))
        .route("/reviews/{id}", get(workflow::review_page))
        .route("/reviews/{id}/answers", post(workflow::answer))
        .route(
            "/reviews/{id}/quality-review",
            post(workflow::quality_review),
        )
        .route("/reviews/{id}/approve", post(workflow::approve))
        .route("/handoffs/{id}/acknowledge", post(workflow::acknowledge))
        .route("/handoffs/{id}/complete", post(workflow::complete))
        .route("/contracts", get(contracts::list).post(contracts::create))
        .route("/contracts/{id}", get(contracts::detail))
        .route("/contracts/{id}/versions", post(contracts::add_version))
        .route("/contracts/{id}/cbc.csv", get(contracts::cbc_csv))
        .route("/contracts/{id}/cbc.xlsx", get(contracts::cbc_xlsx))
        .route(
            "/contracts/{id}/clauses/{clause}/response",
            post(contracts::respond),
        )
        .route(
            "/contracts/{id}/clauses/{clause}/permits",
            post(contracts::request_permit),
        )
        .route(
            "/contracts/{id}/permits/{permit}/decision",
            post(contracts::decide_permit),
        )
        .route("/cbc-pending", get(contracts::pending))
        .route("/changes", get(changes::list).post(changes::create))
        .route("/changes/new", get(changes::new_form))
        .route("/changes/{id}", get(changes::detail))
        .route("/changes/{id}/{step}", post(changes::step))
        .route(
            "/changes/{id}/notices/{department_id}/confirm",
            post(changes::confirm),
        )
        .route("/requirements/{id}/revisions", get(changes::revisions))
        .route(
            "/process-audits",
            get(process_audits::list).post(process_audits::plan),
        )
        .route("/process-audits/{id}", get(process_audits::detail))
        .route(
            "/process-audits/{id}/items/{seq}",
            post(process_audits::grade),
        )
        .route("/process-audits/{id}/report", post(process_audits::report))
        .route("/practices", get(process_audits::practices))
        .route(
            "/complaints",
            get(complaints::list).post(complaints::register),
        )
        .route("/complaints/{id}", get(complaints::detail))
        .route(
            "/complaints/{id}/files",
            post(complaints::upload).layer(axum::extract::DefaultBodyLimit::max(
                reqloop_domain::attachment::MAX_BYTES + 64 * 1024,
            )),
        )
        .route("/complaints/{id}/print/{what}", get(complaints::print))
        .route("/complaints/{id}/{step}", post(complaints::step))
        .route(
            "/complaint-files/{id}",
            get(crate::api::download_complaint_file),
        )
        .route("/portal/login", get(portal_login_page).post(login_submit))
        .route("/portal", get(portal::home))
        .route(
            "/portal/complaints",
            post(portal::submit).layer(axum::extract::DefaultBodyLimit::max(
                reqloop_domain::attachment::MAX_BYTES + 64 * 1024,
            )),
        )
        .route("/portal/complaints/{id}", get(portal::case))
        .route("/property", get(property::list).post(property::receive))
        .route("/property/{id}", get(property::detail))
        .route("/property/{id}/{step}", post(property::step))
        .route(
            "/property/{id}/incidents/{incident_id}/reported",
            post(property::incident_reported),
        )
        .route("/surveys", get(surveys::list).post(surveys::create))
        .route("/surveys/{id}", get(surveys::campaign))
        .route("/surveys/{id}/close", post(surveys::close))
        .route("/survey-analysis", get(surveys::analysis))
        .route("/surveys/{id}/remind", post(surveys::remind))
        .route(
            "/survey-templates",
            get(survey_templates::list).post(survey_templates::create),
        )
        .route("/survey-templates/new", get(survey_templates::new))
        .route(
            "/survey-templates/{id}",
            get(survey_templates::show).post(survey_templates::update),
        )
        .route("/survey-coverage", get(survey_reports::coverage))
        .route("/calendar", get(calendar::show).post(calendar::save))
        .route("/calendar/hours", post(calendar::save_hours))
        .route("/grading", get(grading::list).post(grading::start))
        .route("/grading/rules", post(grading::save_rules))
        .route("/grading/{id}", get(grading::run))
        .route(
            "/grading/{id}/candidates/{customer_id}",
            post(grading::adjust),
        )
        .route("/grading/{id}/decision", post(grading::decide))
        .route("/segments", get(segments::page))
        .route("/search", get(search::page))
        .route(
            "/tokens",
            get(developer::tokens).post(developer::create_token),
        )
        .route("/tokens/{id}/revoke", post(developer::revoke_token))
        .route("/api-docs", get(developer::api_docs))
        .route("/notifications", get(notifications::inbox))
        .route("/notifications/read", post(notifications::read))
        .route("/notifications/prefs", post(notifications::save_prefs))
        .route("/admin/notifications", get(notifications::admin))
        .route("/admin/notifications/smtp", post(notifications::save_smtp))
        .route("/admin/webhooks", post(notifications::create_webhook))
        .route("/admin/webhooks/{id}", post(notifications::toggle_webhook))
        .route("/contacts", get(contacts::contacts))
        .route("/visits", post(contacts::record_visit))
        .route("/contact-rules", post(contacts::save_rules))
        .route(
            "/symposia",
            get(contacts::symposia).post(contacts::plan_symposium),
        )
        .route("/symposia/{id}", get(contacts::symposium))
        .route("/symposia/{id}/attendees", post(contacts::add_attendee))
        .route("/symposia/{id}/minutes", post(contacts::minutes))
        .route("/kpis", get(kpis::dashboard))
        .route("/kpis/weekly", get(kpis::weekly))
        .route("/kpis/monthly", get(kpis::monthly))
        .route("/kpis/monthly.xlsx", get(kpis::monthly_xlsx))
        .route("/warnings", get(warnings::list))
        .route("/warnings/run", post(warnings::run))
        .route("/warnings/{id}", get(warnings::detail))
        .route("/warnings/{id}/step", post(warnings::step))
        .route("/warning-rules", get(warnings::rules))
        .route("/warning-rules/{id}", post(warnings::update_rule))
        .route("/sla-rules", post(warnings::save_sla))
        .route("/reports", get(reports::index))
        .route("/reports/business", get(reports::business))
        .route("/reports/business.xlsx", get(reports::business_xlsx))
        .route("/reports/customers", get(reports::customers))
        .route("/reports/customers.xlsx", get(reports::customers_xlsx))
        .route("/reports/requirements", get(reports::requirements))
        .route(
            "/reports/requirements.xlsx",
            get(reports::requirements_xlsx),
        )
        .route("/survey-report", get(survey_reports::report))
        .route("/survey-report.xlsx", get(survey_reports::report_xlsx))
        .route(
            "/survey-actions",
            get(survey_reports::actions).post(survey_reports::create_action),
        )
        .route("/survey-actions/{id}", get(survey_reports::action))
        .route(
            "/survey-actions/{id}/step",
            post(survey_reports::action_step),
        )
        .route(
            "/s/{token}",
            get(survey_public::show).post(survey_public::submit),
        )
        .route("/orders", get(orders::list))
        .route("/orders/{id}", get(orders::detail))
        .route("/orders/{id}/checks/{item}", post(orders::record_check))
        .route("/orders/{id}/deliver", post(orders::deliver))
        .route("/my-work", get(workflow::my_work))
        .route("/handoffs", get(workflow::handoffs))
        .route("/reviews", get(workflow::reviews))
        .route(
            "/work-standard",
            get(workflow::standard_page).post(workflow::save_standard),
        )
        .route("/attachments/{id}", get(crate::api::download_attachment))
        .route("/requirements/{id}/items", post(requirements::add_item))
        .route("/requirements/{id}/outputs", post(requirements::add_output))
        .route(
            "/requirements/{id}/transitions",
            post(requirements::transition),
        )
        .route("/requirements/{id}/wait", post(requirements::wait))
        .route("/projects", get(requirements::projects))
        .route("/ledger", get(requirements::ledger))
        .route("/requirements/{id}/merge", post(requirements::merge))
        .route(
            "/requirements/{id}/inconsistencies",
            post(requirements::inconsistency),
        )
        .route("/feedback-register", get(requirements::register))
        .route("/ledger.csv", get(requirements::ledger_csv))
}

/// The product's areas in the side navigation: (key, path, built yet).
pub const NAV: &[(&str, &str)] = &[
    ("customers", "/customers"),
    ("grading", "/grading"),
    ("segments", "/segments"),
    ("contacts", "/contacts"),
    ("symposia", "/symposia"),
    ("requirements", "/requirements"),
    ("ledger", "/ledger"),
    ("register", "/feedback-register"),
    ("my_work", "/my-work"),
    ("reviews", "/reviews"),
    ("handoffs", "/handoffs"),
    ("standard", "/work-standard"),
    ("calendar", "/calendar"),
    ("projects", "/projects"),
    ("contracts", "/contracts"),
    ("changes", "/changes"),
    ("deliveries", "/orders"),
    ("process_audits", "/process-audits"),
    ("practices", "/practices"),
    ("complaints", "/complaints"),
    ("property", "/property"),
    ("surveys", "/surveys"),
    ("warnings", "/warnings"),
    ("kpis", "/kpis"),
    ("reports", "/reports"),
    ("import", "/import"),
    ("audit", "/audit"),
];

/// What the page frame needs: language, user, CSRF token, the active area.
pub struct Chrome {
    pub t: Tr,
    pub user: String,
    pub role: String,
    pub csrf: String,
    pub active: &'static str,
    pub is_admin: bool,
    pub title: String,
    /// The link that switches to the other language and comes back here.
    pub lang_link: String,
    /// F4: customers under tightened control (see `tight`).
    tightened: std::sync::Arc<std::collections::HashSet<i64>>,
    /// F31: the reader's unread notifications.
    pub unread: i64,
}

impl Chrome {
    pub fn new(u: &PageUser, active: &'static str, title: String) -> Chrome {
        Chrome {
            t: u.t,
            user: u.display_name.clone(),
            role: u.t.label("role", u.actor.role.as_str()),
            csrf: u.csrf.clone(),
            active,
            is_admin: u.actor.require(Action::AuditRead).is_ok(),
            title,
            lang_link: lang_link(u.t, &u.here),
            tightened: u.tightened.clone(),
            unread: u.unread,
        }
    }

    /// The mark of a customer under tightened control (F4), shown beside the customer on every
    /// page and list row of it and its records; empty for others.
    pub fn tight(&self, customer: &i64) -> askama::filters::Safe<String> {
        askama::filters::Safe(if self.tightened.contains(customer) {
            let attr = |s: &str| {
                s.replace('&', "&amp;")
                    .replace('"', "&quot;")
                    .replace('<', "&lt;")
            };
            format!(
                "<span class=\"badge red tight\" title=\"{}\">{}</span>",
                attr(self.t.t("customer.tightened_hint")),
                attr(self.t.t("customer.tightened"))
            )
        } else {
            String::new()
        })
    }

    /// Navigation entries visible to this user: (key, path, built, active).
    pub fn nav(&self) -> Vec<(String, &'static str, bool)> {
        NAV.iter()
            .filter(|(key, _)| *key != "audit" || self.is_admin)
            .map(|(key, path)| {
                (
                    self.t.t(&format!("nav.{key}")).to_string(),
                    *path,
                    *key == self.active,
                )
            })
            .collect()
    }

    pub fn lang_code(&self) -> &'static str {
        self.t.lang.code()
    }
}

/// `/lang/<other>?next=<here>`.
pub fn lang_link(t: Tr, here: &str) -> String {
    let other = if t.is_en() { "zh" } else { "en" };
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("next", here)
        .finish();
    format!("/lang/{other}?{q}")
}

/// Renders a template or a plain 500 when rendering itself fails.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "rendering failed").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Chrome,
    status: u16,
    message: String,
}

/// An error shown as a page inside the frame.
pub fn error_page(u: &PageUser, e: AppError) -> Response {
    let c = Chrome::new(u, "", u.t.t("error.title").to_string());
    let message = match e.code {
        "not_found" => u.t.t("error.not_found").to_string(),
        "forbidden" => u.t.t("error.forbidden").to_string(),
        _ => e.message.clone(),
    };
    let status = e.status;
    (
        status,
        render(&ErrorPage {
            c,
            status: status.as_u16(),
            message,
        }),
    )
        .into_response()
}

/// A urlencoded form body as ordered pairs (repeated keys allowed, e.g. checkboxes).
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn get(&self, key: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(FormData(
            form_urlencoded::parse(&bytes).into_owned().collect(),
        ))
    }
}

// ---- login ----

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: Tr,
    csrf: String,
    next: String,
    username: String,
    error: String,
    /// The customer portal's own sign-in page.
    portal: bool,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only local paths: never redirect to another site after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/customers".to_string(),
    }
}

async fn login_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    login_form(&s, &headers, q, false)
}

/// The customer portal's sign-in page (F17: portal users sign in apart from staff).
async fn portal_login_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    login_form(&s, &headers, q, true)
}

fn login_form(s: &AppState, headers: &HeaderMap, q: NextQuery, portal: bool) -> Response {
    let t = auth::lang_of(headers);
    let csrf = auth::cookie(headers, auth::PRE_COOKIE)
        .map(str::to_owned)
        .unwrap_or_else(reqloop_store::random_token);
    let page = LoginPage {
        t,
        csrf: csrf.clone(),
        next: safe_next(q.next.as_deref()),
        username: String::new(),
        error: String::new(),
        portal,
    };
    (
        [(
            header::SET_COOKIE,
            auth::set_cookie(s, auth::PRE_COOKIE, &csrf, 3600),
        )],
        render(&page),
    )
        .into_response()
}

async fn login_submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    auth::PeerAddr(peer): auth::PeerAddr,
    form: FormData,
) -> Response {
    let t = auth::lang_of(&headers);
    let username = form.get("username").trim().to_string();
    let address = auth::client_address(&headers, peer);
    match crate::api::open_session_for_pages(&s, &username, &form.get("password"), &address).await {
        Ok(token) => {
            let cookie = auth::set_cookie(
                &s,
                auth::SESSION_COOKIE,
                &token,
                reqloop_store::SESSION_HOURS * 3600,
            );
            // Portal users land in the portal, whatever page they came from.
            let portal_user = s
                .store
                .user_by_username(&username)
                .await
                .ok()
                .flatten()
                .is_some_and(|u| u.role == reqloop_domain::user::Role::Portal);
            let to = if portal_user {
                "/portal".to_string()
            } else {
                safe_next(Some(&form.get("next")))
            };
            ([(header::SET_COOKIE, cookie)], Redirect::to(&to)).into_response()
        }
        Err(e) => {
            let error = match e.code {
                "throttled" => t.t("login.throttled"),
                "invalid_credentials" => t.t("login.invalid"),
                _ => t.t("error.unavailable"),
            }
            .to_string();
            let page = LoginPage {
                t,
                csrf: form.get("_csrf"),
                next: safe_next(Some(&form.get("next"))),
                username,
                error,
                portal: form.get("portal") == "1",
            };
            (e.status, render(&page)).into_response()
        }
    }
}

async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = auth::cookie(&headers, auth::SESSION_COOKIE) {
        if let Err(e) = s.store.delete_session(token).await {
            return AppError::from(e).into_response();
        }
    }
    (
        [(
            header::SET_COOKIE,
            auth::set_cookie(&s, auth::SESSION_COOKIE, "", 0),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

/// Switches the interface language (a preference cookie, not a record).
async fn set_lang(
    State(s): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<NextQuery>,
) -> Response {
    let lang = if code == "en" { "en" } else { "zh" };
    let mut cookie = auth::set_cookie(&s, auth::LANG_COOKIE, lang, 365 * 24 * 3600);
    cookie = cookie.replace("; HttpOnly", "");
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to(&safe_next(q.next.as_deref())),
    )
        .into_response()
}

// ---- audit trail ----

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Chrome,
    entries: Vec<(Entry, String)>,
    pager: Pager,
}

async fn audit_page(
    State(s): State<AppState>,
    u: PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = u.actor.require(Action::AuditRead) {
        return error_page(&u, e.into());
    }
    let page = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let filter = AuditFilter {
        page: Some(page),
        per_page: Some(50),
        entity: q.get("entity").filter(|e| !e.is_empty()).cloned(),
        ..Default::default()
    };
    match s.store.list_audit(&filter).await {
        Ok(list) => {
            let pager = Pager::new(page, 50, list.total, "/audit", &[]);
            let entries = list.items.into_iter().map(|e| {
                let at = display_local(&e.at);
                (e, at)
            });
            let title = u.t.t("nav.audit").to_string();
            render(&AuditPage {
                c: Chrome::new(&u, "audit", title),
                entries: entries.collect(),
                pager,
            })
        }
        Err(e) => error_page(&u, e.into()),
    }
}

/// Paging links that keep the list's filters.
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
    /// The list with its filters and `format=` (set by `exportable`): what the export links
    /// download.
    pub export: Option<String>,
    base: String,
}

impl Pager {
    pub fn new(
        page: i64,
        per_page: i64,
        total: i64,
        base: &str,
        keep: &[(String, String)],
    ) -> Pager {
        let pages = ((total + per_page - 1) / per_page).max(1);
        let page = page.clamp(1, pages);
        let mut filters = form_urlencoded::Serializer::new(String::new());
        for (k, v) in keep
            .iter()
            .filter(|(k, v)| k != "page" && k != "format" && !v.is_empty())
        {
            filters.append_pair(k, v);
        }
        let filters = filters.finish();
        let link = |p: i64| {
            let sep = if filters.is_empty() { "" } else { "&" };
            format!("{base}?{filters}{sep}page={p}")
        };
        Pager {
            page,
            pages,
            total,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
            export: None,
            base: if filters.is_empty() {
                format!("{base}?")
            } else {
                format!("{base}?{filters}&")
            },
        }
    }

    /// Offers the list as .xlsx and .csv with the same filters (F29; the handler answers
    /// `?format=`).
    pub fn exportable(mut self) -> Pager {
        self.export = Some(format!("{}format=", self.base));
        self
    }
}

/// A drop-down option: (value, label, selected).
pub type Opt = (String, String, bool);

/// The options of a closed set, labelled from i18n (`<set>.<value>`).
pub fn choices<T: Copy + PartialEq>(
    all: &[T],
    id: fn(T) -> &'static str,
    t: &Tr,
    set: &str,
    selected: Option<T>,
) -> Vec<Opt> {
    all.iter()
        .map(|v| {
            (
                id(*v).to_string(),
                t.label(set, id(*v)),
                Some(*v) == selected,
            )
        })
        .collect()
}

/// The first message per field, translated, for showing next to form fields (a
/// `confidential.x` field shows next to `x`).
pub fn field_messages(t: &Tr, errors: &reqloop_domain::FieldErrors) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for e in &errors.0 {
        let field = e.field.trim_start_matches("confidential.").to_string();
        out.entry(field)
            .or_insert_with(|| t.t(&format!("err.{}", e.code)).to_string());
    }
    out
}

/// A report for its page: the report, or bad input (a period, a category) shown as the page's
/// notice with 400; any other error is the error page.
pub fn report_or_notice<T>(
    u: &PageUser,
    r: Result<T, reqloop_store::Error>,
) -> Result<(Option<T>, String, StatusCode), Box<Response>> {
    match r {
        Ok(v) => Ok((Some(v), String::new(), StatusCode::OK)),
        Err(reqloop_store::Error::Invalid(e)) => Ok((
            None,
            field_messages(&u.t, &e)
                .into_values()
                .collect::<Vec<_>>()
                .join("；"),
            StatusCode::BAD_REQUEST,
        )),
        Err(e) => Err(Box::new(error_page(u, e.into()))),
    }
}

/// Whether the actor may do `action` (for showing buttons; handlers check again).
pub fn may(actor: &Actor, action: Action) -> bool {
    actor.require(action).is_ok()
}
