//! `/api/v1/notifications`, `/notification-prefs`, `/notification-settings`, `/webhooks`,
//! `/deliveries` (F31): the reader's inbox and choices; for administrators the mail server,
//! the webhooks (WeCom, DingTalk, generic JSON) and the delivery log.

use axum::extract::{Path, State};
use axum::Json;
use reqloop_store::{
    Delivery, DeliveryFilter, MarkRead, Notification, NotificationFilter, Page, Pref, SmtpSettings,
    Webhook, WebhookFields,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiJson, ApiQuery};
use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct NotificationList {
    items: Vec<Notification>,
    total: i64,
}

/// `{"items": [...], "total": N}`
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DeliveryList {
    items: Vec<Delivery>,
    total: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Marked {
    /// Entries that were unread and are read now.
    pub updated: u64,
    /// The reader's unread entries left.
    pub unread: i64,
}

/// The reader's inbox, newest first (`unread=true`: only unread ones).
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationFilter),
    responses((status = 200, body = NotificationList, example = json!({"items": [{"id": 3, "event": "handoff_assigned",
        "record_type": "handoff", "record_id": 41, "title_zh": "工位传递待接收：XQ2026-00025 首批交期缩短至30天",
        "title_en": "Hand-off assigned: XQ2026-00025 首批交期缩短至30天", "link": "/requirements/25",
        "created_at": "2026-11-30T08:00:00.000Z", "read_at": null}], "total": 1}))))]
pub async fn list(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(f): ApiQuery<NotificationFilter>,
) -> Result<Json<Page<Notification>>, AppError> {
    Ok(Json(s.store.notifications(&actor, &f).await?))
}

/// Marks entries read: `{"ids": [...]}` or `{"all": true}`.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", request_body = MarkRead,
    responses((status = 200, body = Marked), (status = 400, body = super::ErrorBody)))]
pub async fn read(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(m): ApiJson<MarkRead>,
) -> Result<Json<Marked>, AppError> {
    let updated = s
        .store
        .mark_notifications_read(&actor, &m, s.clock.now())
        .await?;
    let unread = s.store.unread_notifications(&actor).await?;
    Ok(Json(Marked { updated, unread }))
}

/// For each event: whether it reaches the reader in the inbox and by e-mail.
#[utoipa::path(get, path = "/api/v1/notification-prefs", tag = "notifications",
    responses((status = 200, body = Vec<Pref>)))]
pub async fn prefs(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
) -> Result<Json<Vec<Pref>>, AppError> {
    Ok(Json(s.store.notification_prefs(&actor).await?))
}

#[utoipa::path(put, path = "/api/v1/notification-prefs", tag = "notifications", request_body = Vec<Pref>,
    responses((status = 200, body = Vec<Pref>), (status = 400, body = super::ErrorBody)))]
pub async fn save_prefs(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(p): ApiJson<Vec<Pref>>,
) -> Result<Json<Vec<Pref>>, AppError> {
    Ok(Json(
        s.store
            .save_notification_prefs(&actor, &p, s.clock.now())
            .await?,
    ))
}

/// The mail server (administrators; the password is never read back).
#[utoipa::path(get, path = "/api/v1/notification-settings", tag = "notifications",
    responses((status = 200, body = SmtpSettings), (status = 403, body = super::ErrorBody)))]
pub async fn settings(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
) -> Result<Json<SmtpSettings>, AppError> {
    Ok(Json(s.store.smtp_settings(&actor).await?))
}

#[utoipa::path(put, path = "/api/v1/notification-settings", tag = "notifications", request_body = SmtpSettings,
    responses((status = 200, body = SmtpSettings), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn save_settings(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(v): ApiJson<SmtpSettings>,
) -> Result<Json<SmtpSettings>, AppError> {
    Ok(Json(
        s.store.save_smtp_settings(&actor, v, s.clock.now()).await?,
    ))
}

/// The webhooks (administrators).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "notifications",
    responses((status = 200, body = Vec<Webhook>), (status = 403, body = super::ErrorBody)))]
pub async fn webhooks(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
) -> Result<Json<Vec<Webhook>>, AppError> {
    Ok(Json(s.store.list_webhooks(&actor).await?))
}

/// Adds a webhook: `wecom` (企业微信群机器人 URL with its key), `dingtalk` (钉钉机器人 URL;
/// with the robot's secret the call is signed) or `generic` (JSON; with a secret signed as
/// `X-ReqLoop-Signature: sha256=<hex HMAC of the body>`). Besides the events people hear of,
/// webhooks may follow record events for other systems (ERP, MES): `requirement_created`,
/// `requirement_stage_changed` and `requirement_closed`, whose generic body carries `data`
/// (`customer_id`, or `from_stage` and `to_stage`).
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "notifications", request_body(content = WebhookFields,
    example = json!({"name": "质量部钉钉群", "format": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=…",
        "secret": "SEC…", "events": ["complaint_registered", "warning_raised"]})),
    responses((status = 201, body = Webhook), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn create_webhook(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiJson(f): ApiJson<WebhookFields>,
) -> Result<(axum::http::StatusCode, Json<Webhook>), AppError> {
    Ok((
        axum::http::StatusCode::CREATED,
        Json(s.store.save_webhook(&actor, None, f, s.clock.now()).await?),
    ))
}

/// Changes a webhook (with the `version` read; 409 when stale).
#[utoipa::path(put, path = "/api/v1/webhooks/{id}", tag = "notifications", request_body = WebhookFields,
    params(("id" = i64, Path)),
    responses((status = 200, body = Webhook), (status = 400, body = super::ErrorBody), (status = 404, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody)))]
pub async fn update_webhook(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(id): Path<i64>,
    ApiJson(f): ApiJson<WebhookFields>,
) -> Result<Json<Webhook>, AppError> {
    Ok(Json(
        s.store
            .save_webhook(&actor, Some(id), f, s.clock.now())
            .await?,
    ))
}

/// The delivery log: every e-mail and webhook call with its attempts and last error.
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "notifications", params(DeliveryFilter),
    responses((status = 200, body = DeliveryList), (status = 400, body = super::ErrorBody), (status = 403, body = super::ErrorBody)))]
pub async fn deliveries(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    ApiQuery(f): ApiQuery<DeliveryFilter>,
) -> Result<Json<Page<Delivery>>, AppError> {
    Ok(Json(s.store.list_deliveries(&actor, &f).await?))
}
