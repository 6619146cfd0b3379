//! The one error type at the API edge: status + `{"error":{"code","message","details"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use reqloop_domain::access::Denied;
use reqloop_domain::FieldErrors;
use reqloop_store::Error as StoreError;
use serde_json::{json, Value};

use crate::i18n::Tr;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AppError {
            status,
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "登录后才能访问 / sign in first",
        )
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "记录不存在 / not found")
    }

    /// 400 naming the fields, with messages in both languages.
    pub fn invalid(errors: &FieldErrors) -> Self {
        let (zh, en) = (Tr::zh(), Tr::en());
        let details: Vec<Value> = errors
            .0
            .iter()
            .map(|e| {
                let key = format!("err.{}", e.code);
                json!({"field": e.field, "code": e.code, "message": format!("{} / {}", zh.t(&key), en.t(&key))})
            })
            .collect();
        let first = errors.0.first().map(|e| e.field.as_str()).unwrap_or("");
        AppError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid",
            message: format!("输入有误：{first} / invalid input: {first}"),
            details: Value::Array(details),
        }
    }

    pub fn bad_request(field: &str, message: String) -> Self {
        AppError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid",
            message: format!("输入有误 / invalid input: {message}"),
            details: json!([{"field": field, "code": "invalid", "message": message}]),
        }
    }
}

impl From<Denied> for AppError {
    fn from(_: Denied) -> Self {
        AppError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "无权执行此操作 / not allowed",
        )
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::not_found(),
            StoreError::Stale => AppError::new(
                StatusCode::CONFLICT,
                "stale_version",
                "记录已被他人修改，请刷新后重试 / the record was changed by someone else; reload and retry",
            ),
            StoreError::Duplicate(field) => {
                let mut a = AppError::new(StatusCode::CONFLICT, "duplicate", format!("已存在 / already exists: {field}"));
                a.details = json!([{"field": field, "code": "duplicate"}]);
                a
            }
            StoreError::Invalid(errors) => AppError::invalid(&errors),
            StoreError::Forbidden(why) => {
                let mut a = AppError::new(StatusCode::FORBIDDEN, "forbidden", "无权执行此操作 / not allowed");
                a.details = json!({"reason": why});
                a
            }
            StoreError::Stage(refusal) => {
                let code = refusal.code();
                let key = format!("rule.{code}");
                let mut a = AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    code,
                    format!("{} / {}", Tr::zh().t(&key), Tr::en().t(&key)),
                );
                a.details = match refusal {
                    reqloop_domain::requirement::StageError::MissingOutputs(missing) => json!({"missing_outputs": missing}),
                    reqloop_domain::requirement::StageError::Skip { expected } => json!({"expected": expected}),
                    _ => Value::Null,
                };
                a
            }
            StoreError::Recused { user, why } => {
                let key = "rule.recused";
                let mut a = AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "recused",
                    format!("{}：{user} / {}: {user}", Tr::zh().t(key), Tr::en().t(key)),
                );
                a.details = json!({"user": user, "why": why});
                a
            }
            StoreError::DeliveryBlocked(failing) => {
                let key = "rule.delivery_blocked";
                let mut a = AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "delivery_blocked",
                    format!("{} / {}", Tr::zh().t(key), Tr::en().t(key)),
                );
                a.details = json!({"failing": failing});
                a
            }
            StoreError::Rule(rule) => {
                let key = format!("rule.{rule}");
                let message = format!("{} / {}", Tr::zh().t(&key), Tr::en().t(&key));
                AppError::new(StatusCode::UNPROCESSABLE_ENTITY, rule, message)
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                AppError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "服务暂时不可用 / service unavailable")
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body =
            json!({"error": {"code": self.code, "message": self.message, "details": self.details}});
        (self.status, Json(body)).into_response()
    }
}
