//! `/api/v1`: JSON in, JSON out, errors as `{"error":{…}}`.

mod admin;
mod calendar;
mod changes;
mod complaints;
mod contacts;
mod contracts;
mod customers;
mod grading;
mod imports;
mod kpis;
mod notifications;
mod process_audits;
mod property;
mod reports;
mod requirements;
mod search;
mod segments;
mod session;
mod surveys;
mod tokens;
mod warnings;
mod workflow;

pub(crate) use complaints::download as download_complaint_file;
pub(crate) use requirements::{download as download_attachment, read_upload};

/// The login shared with the login page: the session token, or why not.
pub(crate) async fn open_session_for_pages(
    state: &AppState,
    username: &str,
    password: &str,
    address: &str,
) -> Result<String, AppError> {
    session::open_session(state, username, password, address)
        .await
        .map(|(token, _)| token)
}

use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use utoipa::OpenApi;

use crate::error::AppError;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/login", post(session::login))
        .route("/api/v1/auth/logout", post(session::logout))
        .route("/api/v1/auth/me", get(session::me))
        .route(
            "/api/v1/customers",
            get(customers::list).post(customers::create),
        )
        .route(
            "/api/v1/customers/{id}",
            get(customers::get)
                .put(customers::update)
                .patch(customers::update),
        )
        .route("/api/v1/customers/{id}/archive", post(customers::archive))
        .route("/api/v1/customers/{id}/history", get(customers::history))
        .route(
            "/api/v1/customers/{id}/contacts",
            get(customers::contacts).post(customers::add_contact),
        )
        .route(
            "/api/v1/customers/{id}/contacts/{contact_id}",
            axum::routing::put(customers::update_contact).delete(customers::delete_contact),
        )
        .route(
            "/api/v1/requirements",
            get(requirements::list).post(requirements::create),
        )
        .route(
            "/api/v1/requirements/{id}",
            get(requirements::get)
                .put(requirements::update)
                .patch(requirements::update),
        )
        .route(
            "/api/v1/requirements/{id}/items",
            get(requirements::items).post(requirements::add_item),
        )
        .route(
            "/api/v1/requirements/{id}/items/{item_id}",
            axum::routing::put(requirements::update_item).delete(requirements::remove_item),
        )
        .route(
            "/api/v1/requirements/{id}/attachments",
            get(requirements::attachments)
                .post(requirements::upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    reqloop_domain::attachment::MAX_BYTES + 64 * 1024,
                )),
        )
        .route("/api/v1/attachments/{id}", get(requirements::download))
        .route(
            "/api/v1/contracts",
            get(contracts::list).post(contracts::create),
        )
        .route("/api/v1/contracts/{id}", get(contracts::get))
        .route(
            "/api/v1/contracts/{id}/versions",
            post(contracts::add_version),
        )
        .route(
            "/api/v1/contracts/{id}/versions/{version_no}",
            get(contracts::version),
        )
        .route(
            "/api/v1/clauses/{id}/response",
            axum::routing::put(contracts::respond),
        )
        .route(
            "/api/v1/clauses/{id}/permits",
            post(contracts::request_permit),
        )
        .route(
            "/api/v1/permits/{id}/decision",
            post(contracts::decide_permit),
        )
        .route("/api/v1/cbc/pending", get(contracts::pending))
        .route(
            "/api/v1/contracts/{id}/orders",
            get(contracts::orders).post(contracts::create_order),
        )
        .route("/api/v1/orders", get(contracts::list_orders))
        .route("/api/v1/orders/{id}", get(contracts::order))
        .route(
            "/api/v1/orders/{id}/production/{seq}/done",
            post(contracts::production_done),
        )
        .route("/api/v1/orders/{id}/checks", get(contracts::checks))
        .route(
            "/api/v1/orders/{id}/checks/{item}",
            axum::routing::put(contracts::record_check),
        )
        .route("/api/v1/orders/{id}/deliver", post(contracts::deliver))
        .route("/api/v1/changes", get(changes::list).post(changes::create))
        .route("/api/v1/changes/{id}", get(changes::get))
        .route(
            "/api/v1/changes/{id}/redetermine",
            post(changes::redetermine),
        )
        .route("/api/v1/changes/{id}/reviews", post(changes::start_review))
        .route("/api/v1/changes/{id}/approve", post(changes::approve))
        .route("/api/v1/changes/{id}/reject", post(changes::reject))
        .route("/api/v1/changes/{id}/notify", post(changes::notify))
        .route(
            "/api/v1/changes/{id}/notices/{department_id}/confirm",
            post(changes::confirm),
        )
        .route("/api/v1/changes/{id}/verify", post(changes::verify))
        .route("/api/v1/changes/{id}/close", post(changes::close))
        .route(
            "/api/v1/requirements/{id}/revisions",
            get(changes::revisions),
        )
        .route(
            "/api/v1/process-audits",
            get(process_audits::list).post(process_audits::plan),
        )
        .route("/api/v1/process-audits/{id}", get(process_audits::get))
        .route(
            "/api/v1/process-audits/{id}/items/{seq}",
            axum::routing::put(process_audits::grade),
        )
        .route(
            "/api/v1/process-audits/{id}/report",
            post(process_audits::report),
        )
        .route("/api/v1/practices", get(process_audits::practices))
        .route(
            "/api/v1/complaints",
            get(complaints::list).post(complaints::register),
        )
        .route("/api/v1/complaints/{id}", get(complaints::get))
        .route("/api/v1/complaints/{id}/confirm", post(complaints::confirm))
        .route("/api/v1/complaints/{id}/decision", post(complaints::decide))
        .route("/api/v1/complaints/{id}/assign", post(complaints::assign))
        .route(
            "/api/v1/complaints/{id}/recusals",
            post(complaints::recusal),
        )
        .route(
            "/api/v1/complaints/{id}/correction",
            post(complaints::correct),
        )
        .route(
            "/api/v1/complaints/{id}/capa",
            axum::routing::put(complaints::save_capa),
        )
        .route(
            "/api/v1/complaints/{id}/capa/submit",
            post(complaints::submit_capa),
        )
        .route(
            "/api/v1/complaints/{id}/verification",
            post(complaints::verify),
        )
        .route("/api/v1/complaints/{id}/reply", post(complaints::reply))
        .route("/api/v1/complaints/{id}/close", post(complaints::close))
        .route(
            "/api/v1/complaints/{id}/files",
            post(complaints::upload).layer(axum::extract::DefaultBodyLimit::max(
                reqloop_domain::attachment::MAX_BYTES + 64 * 1024,
            )),
        )
        .route("/api/v1/complaint-files/{id}", get(complaints::download))
        .route("/api/v1/survey-tasks", get(complaints::survey_tasks))
        .route(
            "/api/v1/property",
            get(property::list).post(property::receive),
        )
        .route("/api/v1/property/{id}", get(property::get))
        .route("/api/v1/property/{id}/inspection", post(property::inspect))
        .route("/api/v1/property/{id}/issue", post(property::issue))
        .route("/api/v1/property/{id}/back", post(property::back))
        .route("/api/v1/property/{id}/return", post(property::give_back))
        .route("/api/v1/property/{id}/reports", post(property::report))
        .route("/api/v1/property/{id}/incidents", post(property::incident))
        .route(
            "/api/v1/property/{id}/incidents/{incident_id}/reported",
            post(property::reported),
        )
        .route("/api/v1/surveys", get(surveys::list).post(surveys::create))
        .route("/api/v1/surveys/{id}", get(surveys::get))
        .route(
            "/api/v1/surveys/{id}/invitations",
            get(surveys::invitations),
        )
        .route("/api/v1/surveys/{id}/close", post(surveys::close))
        .route("/api/v1/survey-analysis", get(surveys::analysis))
        .route("/api/v1/surveys/{id}/remind", post(surveys::remind))
        .route(
            "/api/v1/survey-templates",
            get(surveys::templates).post(surveys::create_template),
        )
        .route(
            "/api/v1/survey-templates/{id}",
            get(surveys::template).put(surveys::update_template),
        )
        .route(
            "/api/v1/survey-templates/{id}/versions/{n}",
            get(surveys::template_version),
        )
        .route("/api/v1/survey-coverage", get(surveys::coverage))
        .route("/api/v1/calendar", get(calendar::overview))
        .route(
            "/api/v1/calendar/{year}",
            get(calendar::year).put(calendar::save_year),
        )
        .route(
            "/api/v1/calendar-hours",
            axum::routing::put(calendar::save_hours),
        )
        .route("/api/v1/working-time", get(calendar::working_time))
        .route(
            "/api/v1/grading-rules",
            get(grading::rules).put(grading::save_rules),
        )
        .route(
            "/api/v1/grading-runs",
            get(grading::list).post(grading::start),
        )
        .route("/api/v1/grading-runs/{id}", get(grading::get))
        .route(
            "/api/v1/grading-runs/{id}/candidates",
            get(grading::candidates),
        )
        .route(
            "/api/v1/grading-runs/{id}/candidates/{customer_id}",
            axum::routing::put(grading::adjust),
        )
        .route(
            "/api/v1/grading-runs/{id}/decision",
            axum::routing::post(grading::decide),
        )
        .route(
            "/api/v1/customers/{id}/grade-history",
            get(grading::history),
        )
        .route("/api/v1/segments", get(segments::report))
        .route("/api/v1/search", get(search::search))
        .route("/api/v1/notifications", get(notifications::list))
        .route("/api/v1/notifications/read", post(notifications::read))
        .route(
            "/api/v1/notification-prefs",
            get(notifications::prefs).put(notifications::save_prefs),
        )
        .route(
            "/api/v1/notification-settings",
            get(notifications::settings).put(notifications::save_settings),
        )
        .route(
            "/api/v1/webhooks",
            get(notifications::webhooks).post(notifications::create_webhook),
        )
        .route(
            "/api/v1/webhooks/{id}",
            axum::routing::put(notifications::update_webhook),
        )
        .route("/api/v1/deliveries", get(notifications::deliveries))
        .route("/api/v1/tokens", get(tokens::list).post(tokens::create))
        .route(
            "/api/v1/imports/{kind}",
            post(imports::import).layer(axum::extract::DefaultBodyLimit::max(
                crate::import::MAX_UPLOAD,
            )),
        )
        .route("/api/v1/imports/{kind}/template", get(imports::template))
        .route("/api/v1/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/api/v1/contact-tasks", get(contacts::tasks))
        .route(
            "/api/v1/visits",
            get(contacts::visits).post(contacts::record_visit),
        )
        .route(
            "/api/v1/contact-rules",
            get(contacts::rules).put(contacts::save_rules),
        )
        .route(
            "/api/v1/symposia",
            get(contacts::symposia).post(contacts::plan_symposium),
        )
        .route("/api/v1/symposia/{id}", get(contacts::symposium))
        .route(
            "/api/v1/symposia/{id}/attendees",
            axum::routing::post(contacts::add_attendee),
        )
        .route(
            "/api/v1/symposia/{id}/minutes",
            axum::routing::put(contacts::minutes),
        )
        .route("/api/v1/kpis", get(kpis::report))
        .route("/api/v1/kpis/weekly", get(kpis::weekly))
        .route("/api/v1/warnings", get(warnings::list))
        .route("/api/v1/warnings/run", axum::routing::post(warnings::run))
        .route("/api/v1/warnings/{id}", get(warnings::get))
        .route(
            "/api/v1/warnings/{id}/steps",
            axum::routing::post(warnings::step),
        )
        .route("/api/v1/warning-dashboard", get(warnings::dashboard))
        .route("/api/v1/warning-rules", get(warnings::rules))
        .route(
            "/api/v1/warning-rules/{id}",
            axum::routing::put(warnings::update_rule),
        )
        .route(
            "/api/v1/sla-rules",
            get(warnings::sla_rules).put(warnings::save_sla_rules),
        )
        .route("/api/v1/sla-breaches", get(warnings::breaches))
        .route("/api/v1/requirements/{id}/clock", get(warnings::clock))
        .route(
            "/api/v1/requirements/{id}/wait",
            axum::routing::post(warnings::wait),
        )
        .route("/api/v1/reports/business", get(reports::business))
        .route("/api/v1/reports/customers", get(reports::customers))
        .route("/api/v1/reports/requirements", get(reports::requirements))
        .route("/api/v1/survey-report", get(surveys::report))
        .route(
            "/api/v1/survey-actions",
            get(surveys::actions).post(surveys::create_action),
        )
        .route("/api/v1/survey-actions/{id}", get(surveys::action))
        .route(
            "/api/v1/survey-actions/{id}/step",
            post(surveys::action_step),
        )
        .route(
            "/api/v1/s/{token}",
            get(surveys::open).post(surveys::answer),
        )
        .route("/api/v1/work-standard", get(workflow::standard))
        .route(
            "/api/v1/work-standard/versions",
            get(workflow::standard_versions).post(workflow::save_standard),
        )
        .route("/api/v1/handoffs", get(workflow::handoffs))
        .route("/api/v1/handoffs/{id}", get(workflow::handoff))
        .route(
            "/api/v1/handoffs/{id}/acknowledge",
            post(workflow::acknowledge),
        )
        .route("/api/v1/handoffs/{id}/complete", post(workflow::complete))
        .route("/api/v1/work-plan", get(workflow::work_plan))
        .route(
            "/api/v1/reviews",
            get(workflow::reviews).post(workflow::start_review),
        )
        .route("/api/v1/reviews/{id}", get(workflow::review))
        .route("/api/v1/reviews/{id}/answers", post(workflow::answer))
        .route(
            "/api/v1/reviews/{id}/quality-review",
            post(workflow::quality_review),
        )
        .route("/api/v1/reviews/{id}/approve", post(workflow::approve))
        .route(
            "/api/v1/requirements/{id}/transitions",
            get(requirements::transitions).post(requirements::transition),
        )
        .route(
            "/api/v1/requirements/{id}/similar",
            get(requirements::similar),
        )
        .route("/api/v1/requirements/{id}/merge", post(requirements::merge))
        .route(
            "/api/v1/requirements/{id}/inconsistencies",
            post(requirements::inconsistency),
        )
        .route(
            "/api/v1/feedback-register",
            get(requirements::feedback_register),
        )
        .route(
            "/api/v1/requirements/{id}/outputs",
            get(requirements::outputs).post(requirements::add_output),
        )
        .route(
            "/api/v1/projects",
            get(admin::projects).post(admin::create_project),
        )
        .route("/api/v1/users", get(admin::users).post(admin::create_user))
        .route("/api/v1/departments", get(admin::departments))
        .route(
            "/api/v1/departments/{id}/head",
            axum::routing::put(admin::set_head),
        )
        .route("/api/v1/audit", get(admin::audit))
        .route(
            "/api/v1/settings/customer-code-rule",
            get(admin::code_rule).put(admin::set_code_rule),
        )
        .route("/api/v1/openapi.json", get(openapi))
        .fallback(|| async {
            AppError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "没有这个接口 / no such route",
            )
        })
}

/// A JSON body whose errors name the field (`serde_path_to_error`), with unknown fields,
/// wrong types and invalid enum values answered 400.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "请求体须为 JSON / the body must be application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| {
                AppError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "请求体过大 / request body too large",
                )
            })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(ApiJson)
            .map_err(|e| {
                let field = e.path().to_string();
                let field = if field == "." { String::new() } else { field };
                AppError::bad_request(&field, e.into_inner().to_string())
            })
    }
}

/// Query parameters whose errors are answered 400 `{"error":{…}}` like a body's.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| AppError::bad_request("query", e.body_text()))
    }
}

/// Splits `version` off a JSON object and reads the rest as `T` (which refuses unknown fields).
pub(crate) fn with_version<T: DeserializeOwned>(
    mut body: serde_json::Map<String, serde_json::Value>,
) -> Result<(i64, T), AppError> {
    let version = body
        .remove("version")
        .and_then(|v| v.as_i64())
        .ok_or_else(|| AppError::bad_request("version", "missing field `version`".into()))?;
    let fields = serde_path_to_error::deserialize(serde_json::Value::Object(body))
        .map_err(|e| AppError::bad_request(&e.path().to_string(), e.into_inner().to_string()))?;
    Ok((version, fields))
}

/// The OpenAPI 3 document, generated from the handlers' annotations.
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi_document())
}

/// The OpenAPI document of `/api/v1` (served as JSON and rendered at `/api-docs`).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

#[derive(OpenApi)]
#[openapi(
    info(title = "ReqLoop API", description = "客户需求闭环管理系统 / customer-requirements closed-loop management"),
    paths(
        session::login, session::logout, session::me,
        customers::list, customers::create, customers::get, customers::update, customers::archive,
        customers::history, customers::contacts, customers::add_contact, customers::update_contact,
        customers::delete_contact,
        requirements::list, requirements::create, requirements::get, requirements::update,
        requirements::items, requirements::add_item, requirements::transitions, requirements::transition,
        requirements::outputs, requirements::add_output, requirements::similar, requirements::merge, requirements::inconsistency, requirements::feedback_register,
        requirements::update_item, requirements::remove_item, requirements::attachments, requirements::upload, requirements::download,
        workflow::standard, workflow::standard_versions, workflow::save_standard, workflow::handoffs, workflow::handoff,
        workflow::acknowledge, workflow::complete, workflow::work_plan, workflow::reviews, workflow::start_review,
        workflow::review, workflow::answer, workflow::quality_review, workflow::approve,
        contracts::list, contracts::create, contracts::get, contracts::add_version, contracts::version,
        contracts::respond, contracts::request_permit, contracts::decide_permit, contracts::pending,
        contracts::orders, contracts::create_order, contracts::list_orders, contracts::order, contracts::production_done,
        contracts::checks, contracts::record_check, contracts::deliver,
        changes::list, changes::create, changes::get, changes::redetermine, changes::start_review, changes::approve,
        changes::reject, changes::notify, changes::confirm, changes::verify, changes::close, changes::revisions,
        process_audits::list, process_audits::plan, process_audits::get, process_audits::grade, process_audits::report,
        process_audits::practices,
        complaints::list, complaints::register, complaints::get, complaints::confirm, complaints::decide,
        complaints::assign, complaints::recusal, complaints::correct, complaints::save_capa, complaints::submit_capa,
        complaints::verify, complaints::reply, complaints::close, complaints::upload, complaints::download,
        complaints::survey_tasks,
        property::list, property::receive, property::get, property::inspect, property::issue, property::back,
        property::give_back, property::report, property::incident, property::reported,
        surveys::list, surveys::create, surveys::get, surveys::invitations, surveys::close, surveys::analysis,
        surveys::open, surveys::answer,
        surveys::remind, surveys::templates, surveys::create_template, surveys::template,
        surveys::update_template, surveys::template_version, surveys::coverage, surveys::report,
        surveys::actions, surveys::create_action, surveys::action, surveys::action_step,
        reports::business, reports::customers, reports::requirements,
        calendar::overview, calendar::year, calendar::save_year, calendar::save_hours,
        calendar::working_time,
        warnings::list, warnings::get, warnings::step, warnings::dashboard, warnings::run, warnings::rules,
        warnings::update_rule, warnings::sla_rules, warnings::save_sla_rules, warnings::breaches,
        warnings::clock, warnings::wait, kpis::report, kpis::weekly,
        grading::rules, grading::save_rules, grading::list, grading::start, grading::get, grading::candidates,
        grading::adjust, grading::decide, grading::history, segments::report, search::search,
        notifications::list, notifications::read, notifications::prefs, notifications::save_prefs,
        notifications::settings, notifications::save_settings, notifications::webhooks, notifications::create_webhook,
        notifications::update_webhook, notifications::deliveries, tokens::list, tokens::create, tokens::revoke, imports::import, imports::template,
        contacts::tasks, contacts::visits, contacts::record_visit, contacts::rules, contacts::save_rules,
        contacts::symposia, contacts::plan_symposium, contacts::symposium, contacts::add_attendee, contacts::minutes,
        admin::users, admin::create_user, admin::departments, admin::set_head, admin::audit, admin::code_rule, admin::set_code_rule, admin::projects, admin::create_project,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth),
    security(("bearer" = []), ("cookie" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("rl_session"))),
        );
    }
}

/// `{"error": {...}}`
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Machine-readable: `invalid`, `unauthenticated`, `forbidden`, `not_found`, `stale_version`, …
    code: String,
    /// Chinese / English.
    message: String,
    /// For `invalid`: `[{"field","code","message"}]`.
    details: Option<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_api_route_is_documented() {
        let doc = <super::ApiDoc as utoipa::OpenApi>::openapi();
        let src = include_str!("mod.rs");
        for line in src.lines().filter(|l| {
            l.trim_start().starts_with(".route(\"/api/v1/")
                || l.trim_start().starts_with("\"/api/v1/")
        }) {
            let path = line.split('"').nth(1).unwrap_or("");
            if path == "/api/v1/openapi.json" {
                continue;
            }
            assert!(
                doc.paths.paths.contains_key(path),
                "{path} is not in the OpenAPI document"
            );
        }
    }
}
