//! `/api/v1/complaints` (F17, F18): registration (staff and portal), the steps of the complaint
//! flow, assignment under the recusal rule, the CAPA report, files, and survey tasks.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use reqloop_domain::access::Action;
use reqloop_domain::complaint::{ComplaintFields, Decision};
use reqloop_store::{
    Assignment, CapaDraft, Complaint, ComplaintFile, ComplaintFilter, ComplaintNote, Declaration,
    Page, Reply, SurveyTask, Verification,
};
use utoipa::ToSchema;

use super::{ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ComplaintList {
    items: Vec<Complaint>,
    total: i64,
}

/// Complaints and feedback of the customers the caller sees (portal users: their company's).
#[utoipa::path(get, path = "/api/v1/complaints", tag = "complaints", params(ComplaintFilter),
    responses((status = 200, body = ComplaintList), (status = 400, body = super::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(f): ApiQuery<ComplaintFilter>,
) -> Result<Json<Page<Complaint>>, AppError> {
    actor.require(Action::ComplaintRead)?;
    Ok(Json(
        s.store.list_complaints(&actor, &f, s.clock.now()).await?,
    ))
}

/// Registers a complaint or positive feedback; it must be confirmed with the customer within
/// 4 hours.
#[utoipa::path(post, path = "/api/v1/complaints", tag = "complaints", request_body = ComplaintFields,
    responses((status = 201, body = Complaint), (status = 400, body = super::ErrorBody)))]
pub async fn register(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(f): ApiJson<ComplaintFields>,
) -> Result<(StatusCode, Json<Complaint>), AppError> {
    actor.require(Action::ComplaintRegister)?;
    let k = s.store.register_complaint(&actor, f, s.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(k)))
}

#[utoipa::path(get, path = "/api/v1/complaints/{id}", tag = "complaints", params(("id" = i64, Path)),
    responses((status = 200, body = Complaint), (status = 404, body = super::ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Complaint>, AppError> {
    actor.require(Action::ComplaintRead)?;
    Ok(Json(
        s.store.get_complaint(&actor, id, s.clock.now()).await?,
    ))
}

/// Confirmed with the customer (the note says what, how, the degree and the trend).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/confirm", tag = "complaints", params(("id" = i64, Path)),
    request_body = ComplaintNote,
    responses((status = 200, body = Complaint), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn confirm(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(n): ApiJson<ComplaintNote>,
) -> Result<Json<Complaint>, AppError> {
    actor.require(Action::ComplaintHandle)?;
    Ok(Json(
        s.store
            .confirm_complaint(&actor, id, n, s.clock.now())
            .await?,
    ))
}

/// The validity decision: invalid with evidence and explanation, or valid with the severity,
/// the responsible department and the fix date (later than 2 working days only with the
/// customer's recorded agreement).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/decision", tag = "complaints", params(("id" = i64, Path)),
    request_body = Decision,
    responses((status = 200, body = Complaint), (status = 400, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn decide(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(d): ApiJson<Decision>,
) -> Result<Json<Complaint>, AppError> {
    actor.require(Action::ComplaintHandle)?;
    Ok(Json(
        s.store
            .decide_complaint(&actor, id, d, s.clock.now())
            .await?,
    ))
}

/// Assigns the investigator or the verifier (422 `recused` with who and why).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/assign", tag = "complaints", params(("id" = i64, Path)),
    request_body = Assignment,
    responses((status = 200, body = Complaint), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn assign(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(a): ApiJson<Assignment>,
) -> Result<Json<Complaint>, AppError> {
    actor.require(Action::ComplaintHandle)?;
    Ok(Json(
        s.store
            .assign_complaint(&actor, id, a, s.clock.now())
            .await?,
    ))
}

/// Declares someone recused from the case, with the reason.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/recusals", tag = "complaints", params(("id" = i64, Path)),
    request_body = Declaration,
    responses((status = 200, body = Complaint), (status = 400, body = super::ErrorBody)))]
pub async fn recusal(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(d): ApiJson<Declaration>,
) -> Result<Json<Complaint>, AppError> {
    actor.require(Action::ComplaintHandle)?;
    Ok(Json(
        s.store
            .declare_recusal(&actor, id, d, s.clock.now())
            .await?,
    ))
}

/// A minor complaint's correction with its evidence; it then waits for verification.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/correction", tag = "complaints", params(("id" = i64, Path)),
    request_body = ComplaintNote,
    responses((status = 200, body = Complaint), (status = 422, body = super::ErrorBody)))]
pub async fn correct(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(n): ApiJson<ComplaintNote>,
) -> Result<Json<Complaint>, AppError> {
    actor.require(Action::ComplaintHandle)?;
    Ok(Json(
        s.store
            .correct_complaint(&actor, id, n, s.clock.now())
            .await?,
    ))
}

/// Saves the CAPA report (8D) of a serious complaint.
#[utoipa::path(put, path = "/api/v1/complaints/{id}/capa", tag = "complaints", params(("id" = i64, Path)),
    request_body = CapaDraft,
    responses((status = 200, body = Complaint), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn save_capa(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(mut body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<Complaint>, AppError> {
    actor.require(Action::ComplaintHandle)?;
    let customer_template = match body.remove("customer_template") {
        None => false,
        Some(v) => v.as_bool().ok_or_else(|| {
            AppError::bad_request("customer_template", "expected a boolean".into())
        })?,
    };
    let (version, capa) = super::with_version(body)?;
    let d = CapaDraft {
        version,
        capa,
        customer_template,
    };
    Ok(Json(s.store.save_capa(&actor, id, d, s.clock.now()).await?))
}

/// Submits the CAPA report for verification (422 `capa_incomplete`).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/capa/submit", tag = "complaints", params(("id" = i64, Path)),
    request_body = ComplaintNote,
    responses((status = 200, body = Complaint), (status = 422, body = super::ErrorBody)))]
pub async fn submit_capa(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(n): ApiJson<ComplaintNote>,
) -> Result<Json<Complaint>, AppError> {
    actor.require(Action::ComplaintHandle)?;
    Ok(Json(
        s.store.submit_capa(&actor, id, n, s.clock.now()).await?,
    ))
}

/// The assigned verifier's verification; a failed one sends the case back.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/verification", tag = "complaints", params(("id" = i64, Path)),
    request_body = Verification,
    responses((status = 200, body = Complaint), (status = 403, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn verify(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(v): ApiJson<Verification>,
) -> Result<Json<Complaint>, AppError> {
    actor.require(Action::ComplaintVerify)?;
    Ok(Json(
        s.store
            .verify_complaint(&actor, id, v, s.clock.now())
            .await?,
    ))
}

/// The written reply to the customer with the evidence list; the complaint closes (422
/// `not_verified` before verification).
#[utoipa::path(post, path = "/api/v1/complaints/{id}/reply", tag = "complaints", params(("id" = i64, Path)),
    request_body = Reply,
    responses((status = 200, body = Complaint), (status = 422, body = super::ErrorBody)))]
pub async fn reply(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<Reply>,
) -> Result<Json<Complaint>, AppError> {
    actor.require(Action::ComplaintHandle)?;
    Ok(Json(
        s.store
            .reply_complaint(&actor, id, r, s.clock.now())
            .await?,
    ))
}

/// Closes an invalid complaint (explanation sent) or a confirmed positive feedback.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/close", tag = "complaints", params(("id" = i64, Path)),
    request_body = ComplaintNote,
    responses((status = 200, body = Complaint), (status = 422, body = super::ErrorBody)))]
pub async fn close(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(n): ApiJson<ComplaintNote>,
) -> Result<Json<Complaint>, AppError> {
    actor.require(Action::ComplaintHandle)?;
    Ok(Json(
        s.store
            .close_complaint(&actor, id, n, s.clock.now())
            .await?,
    ))
}

/// Adds a photo, a video or a document (multipart field `file`, ≤ 20 MB, type read from the
/// bytes); portal users too, on their own company's complaints.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/files", tag = "complaints", params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", description = "field `file`"),
    responses((status = 201, body = ComplaintFile), (status = 400, body = super::ErrorBody), (status = 413, body = super::ErrorBody)))]
pub async fn upload(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, Json<ComplaintFile>), AppError> {
    actor.require(Action::ComplaintRegister)?;
    let (name, bytes) = super::read_upload(multipart).await?;
    let f = s
        .store
        .add_complaint_file(&actor, id, &name, bytes, s.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(f)))
}

/// Downloads a complaint file (the complaint's permission; always as a download).
#[utoipa::path(get, path = "/api/v1/complaint-files/{id}", tag = "complaints", params(("id" = i64, Path)),
    responses((status = 200, description = "the file"), (status = 404, body = super::ErrorBody)))]
pub async fn download(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<axum::response::Response, AppError> {
    actor.require(Action::ComplaintRead)?;
    let (f, bytes) = s
        .store
        .read_complaint_file(&actor, id, s.clock.now())
        .await?;
    Ok(super::requirements::file_response(
        &format!("complaint-file-{id}"),
        &f.file_name,
        f.content_type,
        bytes,
    ))
}

/// My open survey tasks (a closed serious complaint leaves one for the account manager).
#[utoipa::path(get, path = "/api/v1/survey-tasks", tag = "complaints",
    responses((status = 200, body = Vec<SurveyTask>)))]
pub async fn survey_tasks(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
) -> Result<Json<Vec<SurveyTask>>, AppError> {
    actor.require(Action::ComplaintHandle)?;
    Ok(Json(s.store.survey_tasks(&actor).await?))
}
