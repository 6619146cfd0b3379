//! `/api/v1/requirements` (F5, F6, F8).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use reqloop_domain::access::Action;
use reqloop_domain::requirement::{
    ItemFields, Requirement, RequirementFields, RequirementPatch, Stage,
};
use reqloop_store::{
    Attachment, Item, Page, RequirementFilter, SimilarRequirement, StageOutput, Transition,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::ApiJson;
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RequirementList {
    items: Vec<Requirement>,
    total: i64,
}

#[utoipa::path(get, path = "/api/v1/requirements", tag = "requirements", params(RequirementFilter),
    responses((status = 200, body = RequirementList), (status = 400, body = super::ErrorBody)))]
pub async fn list(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    filter: Result<Query<RequirementFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<Requirement>>, AppError> {
    actor.require(Action::RequirementRead)?;
    let Query(filter) = filter.map_err(|e| AppError::bad_request("query", e.body_text()))?;
    Ok(Json(s.store.list_requirements(&actor, &filter).await?))
}

/// The unified collection form (F5): a new requirement starts in identification.
#[utoipa::path(post, path = "/api/v1/requirements", tag = "requirements", request_body = RequirementFields,
    responses((status = 201, body = Requirement), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(f): ApiJson<RequirementFields>,
) -> Result<(StatusCode, Json<Requirement>), AppError> {
    actor.require(Action::RequirementWrite)?;
    Ok((
        StatusCode::CREATED,
        Json(s.store.create_requirement(&actor, f, s.clock.now()).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/requirements/{id}", tag = "requirements", params(("id" = i64, Path)),
    responses((status = 200, body = Requirement), (status = 404, body = super::ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Requirement>, AppError> {
    actor.require(Action::RequirementRead)?;
    Ok(Json(s.store.get_requirement(&actor, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/requirements/{id}", tag = "requirements", params(("id" = i64, Path)), request_body = RequirementPatch,
    responses((status = 200, body = Requirement), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn update(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(patch): ApiJson<RequirementPatch>,
) -> Result<Json<Requirement>, AppError> {
    actor.require(Action::RequirementWrite)?;
    Ok(Json(
        s.store
            .update_requirement(&actor, id, patch, s.clock.now())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/requirements/{id}/items", tag = "requirements", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Item>), (status = 404, body = super::ErrorBody)))]
pub async fn items(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Item>>, AppError> {
    actor.require(Action::RequirementRead)?;
    Ok(Json(s.store.list_items(&actor, id).await?))
}

/// Adds a line to the identification table (客户需求识别表).
#[utoipa::path(post, path = "/api/v1/requirements/{id}/items", tag = "requirements", params(("id" = i64, Path)), request_body = ItemFields,
    responses((status = 201, body = Item), (status = 400, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn add_item(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<ItemFields>,
) -> Result<(StatusCode, Json<Item>), AppError> {
    actor.require(Action::RequirementWrite)?;
    Ok((
        StatusCode::CREATED,
        Json(s.store.add_item(&actor, id, f, s.clock.now()).await?),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// The target stage: the next one, or an earlier one (rework, with a reason).
    pub to: Stage,
    #[serde(default)]
    pub reason: String,
    /// The version the client read; when given, a moved-on requirement answers 409.
    #[serde(default)]
    pub version: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/requirements/{id}/transitions", tag = "requirements", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Transition>), (status = 404, body = super::ErrorBody)))]
pub async fn transitions(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Transition>>, AppError> {
    actor.require(Action::RequirementRead)?;
    Ok(Json(s.store.transitions(&actor, id).await?))
}

/// Moves the requirement: forward to the next stage once the current stage's output is on file
/// (422 listing what is missing), or back to an earlier stage with a reason.
#[utoipa::path(post, path = "/api/v1/requirements/{id}/transitions", tag = "requirements", params(("id" = i64, Path)),
    request_body = TransitionRequest,
    responses((status = 200, body = Requirement), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn transition(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<TransitionRequest>,
) -> Result<Json<Requirement>, AppError> {
    actor.require(Action::RequirementTransition)?;
    Ok(Json(
        s.store
            .transition_requirement(&actor, id, req.to, &req.reason, req.version, s.clock.now())
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputRequest {
    /// What the output record says or where it is filed.
    pub note: String,
}

#[utoipa::path(get, path = "/api/v1/requirements/{id}/outputs", tag = "requirements", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<StageOutput>), (status = 404, body = super::ErrorBody)))]
pub async fn outputs(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<StageOutput>>, AppError> {
    actor.require(Action::RequirementRead)?;
    Ok(Json(s.store.stage_outputs(&actor, id).await?))
}

/// Files the output record of the current stage (000§3(1): each control point's output record).
#[utoipa::path(post, path = "/api/v1/requirements/{id}/outputs", tag = "requirements", params(("id" = i64, Path)),
    request_body = OutputRequest,
    responses((status = 201, body = StageOutput), (status = 400, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn add_output(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<OutputRequest>,
) -> Result<(StatusCode, Json<StageOutput>), AppError> {
    actor.require(Action::RequirementTransition)?;
    Ok((
        StatusCode::CREATED,
        Json(
            s.store
                .add_stage_output(&actor, id, &req.note, s.clock.now())
                .await?,
        ),
    ))
}

/// Candidate duplicates and contradictions with scores (F7): the same customer's requirements and
/// earlier requirements of the same category, compared by Chinese-aware text similarity.
#[utoipa::path(get, path = "/api/v1/requirements/{id}/similar", tag = "requirements", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<SimilarRequirement>), (status = 404, body = super::ErrorBody)))]
pub async fn similar(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<SimilarRequirement>>, AppError> {
    actor.require(Action::RequirementRead)?;
    Ok(Json(s.store.similar_requirements(&actor, id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The requirement that carries on.
    pub into: i64,
    pub version: i64,
}

/// Marks this requirement as a duplicate merged into another of the same customer (both kept).
#[utoipa::path(post, path = "/api/v1/requirements/{id}/merge", tag = "requirements", params(("id" = i64, Path)),
    request_body = MergeRequest,
    responses((status = 200, body = Requirement), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn merge(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<MergeRequest>,
) -> Result<Json<Requirement>, AppError> {
    actor.require(Action::RequirementWrite)?;
    Ok(Json(
        s.store
            .merge_requirement(&actor, id, req.into, req.version, s.clock.now())
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InconsistencyRequest {
    /// The requirement this one disagrees with.
    pub other_id: i64,
    pub note: String,
}

/// Puts an inconsistency on the customer feedback register (顾客反馈信息一览表).
#[utoipa::path(post, path = "/api/v1/requirements/{id}/inconsistencies", tag = "requirements", params(("id" = i64, Path)),
    request_body = InconsistencyRequest,
    responses((status = 201, body = reqloop_store::FeedbackEntry), (status = 400, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn inconsistency(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<InconsistencyRequest>,
) -> Result<(StatusCode, Json<reqloop_store::FeedbackEntry>), AppError> {
    actor.require(Action::RequirementWrite)?;
    let entry = s
        .store
        .register_inconsistency(&actor, id, req.other_id, &req.note, s.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FeedbackList {
    items: Vec<reqloop_store::FeedbackEntry>,
    total: i64,
}

/// The customer feedback register, newest first.
#[utoipa::path(get, path = "/api/v1/feedback-register", tag = "requirements", params(PageParams),
    responses((status = 200, body = FeedbackList)))]
pub async fn feedback_register(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    q: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page<reqloop_store::FeedbackEntry>>, AppError> {
    actor.require(Action::RequirementRead)?;
    let Query(q) = q.map_err(|e| AppError::bad_request("query", e.body_text()))?;
    Ok(Json(
        s.store
            .feedback_register(&actor, q.page, q.per_page)
            .await?,
    ))
}

/// Edits a line of the identification table (while the requirement is being identified).
#[utoipa::path(put, path = "/api/v1/requirements/{id}/items/{item_id}", tag = "requirements",
    params(("id" = i64, Path), ("item_id" = i64, Path)), request_body = ItemFields,
    responses((status = 200, body = Item), (status = 400, body = super::ErrorBody), (status = 409, body = super::ErrorBody),
        (status = 422, body = super::ErrorBody)))]
pub async fn update_item(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((id, item)): Path<(i64, i64)>,
    ApiJson(body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<Item>, AppError> {
    actor.require(Action::RequirementWrite)?;
    let (version, f) = super::with_version::<ItemFields>(body)?;
    Ok(Json(
        s.store
            .update_item(&actor, id, item, version, f, s.clock.now())
            .await?,
    ))
}

/// Removes a line of the identification table (identification stage, never reviewed).
#[utoipa::path(delete, path = "/api/v1/requirements/{id}/items/{item_id}", tag = "requirements",
    params(("id" = i64, Path), ("item_id" = i64, Path)),
    responses((status = 204), (status = 404, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
pub async fn remove_item(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path((id, item)): Path<(i64, i64)>,
) -> Result<StatusCode, AppError> {
    actor.require(Action::RequirementWrite)?;
    s.store.remove_item(&actor, id, item, s.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/requirements/{id}/attachments", tag = "requirements", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Attachment>), (status = 404, body = super::ErrorBody)))]
pub async fn attachments(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Attachment>>, AppError> {
    actor.require(Action::RequirementRead)?;
    Ok(Json(s.store.attachments(&actor, id).await?))
}

/// Uploads an attachment (multipart/form-data, field `file`): drawings, photos, recordings,
/// documents up to 20 MB; the type is read from the bytes and must match the name.
#[utoipa::path(post, path = "/api/v1/requirements/{id}/attachments", tag = "requirements", params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", description = "field `file`"),
    responses((status = 201, body = Attachment), (status = 400, body = super::ErrorBody), (status = 413, body = super::ErrorBody)))]
pub async fn upload(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, Json<Attachment>), AppError> {
    actor.require(Action::RequirementWrite)?;
    let (name, bytes) = read_upload(multipart).await?;
    let a = s
        .store
        .add_attachment(&actor, id, &name, bytes, s.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

/// The `file` field of a multipart body: its name and bytes (at most the attachment limit).
pub(crate) async fn read_upload(
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(String, Vec<u8>), AppError> {
    let bad = |m: String| AppError::bad_request("file", m);
    let mut multipart = multipart.map_err(|e| bad(e.body_text()))?;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| bad(e.body_text()))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("").to_string();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| bad(e.body_text()))? {
            if bytes.len() + chunk.len() > reqloop_domain::attachment::MAX_BYTES {
                return Err(AppError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "附件不能超过 20 MB / attachments are limited to 20 MB",
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok((name, bytes));
    }
    Err(bad("missing field `file`".into()))
}

/// Downloads an attachment: the same permission as its requirement; always as a download, with
/// the type found at upload and no sniffing.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "requirements", params(("id" = i64, Path)),
    responses((status = 200, description = "the file"), (status = 404, body = super::ErrorBody)))]
pub async fn download(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
) -> Result<axum::response::Response, AppError> {
    actor.require(Action::RequirementRead)?;
    let (a, bytes) = s.store.read_attachment(&actor, id).await?;
    Ok(file_response(
        &format!("attachment-{id}"),
        &a.file_name,
        a.content_type,
        bytes,
    ))
}

/// A stored file as a download: the type found at upload, no sniffing, not cached; `ascii` is
/// the plain name for old clients, `name` the real one (RFC 5987).
pub(crate) fn file_response(
    ascii: &str,
    name: &str,
    content_type: String,
    bytes: Vec<u8>,
) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let encoded: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}
