//! `/api/v1/imports/{kind}` (F29): the request body is the file (.xlsx or .csv, told by its
//! content), streamed to disk; all or nothing, with the problems by row and column.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use reqloop_domain::access;
use reqloop_domain::import::ImportKind;
use reqloop_store::ImportReport;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::ApiUser;
use crate::error::AppError;
use crate::i18n::Tr;
use crate::import as edge;
use crate::AppState;

fn kind_of(kind: &str) -> Result<ImportKind, AppError> {
    kind.parse().map_err(|_| AppError::not_found())
}

/// Imports a file of customers, contacts, requirements or orders. 200 with the counts when it
/// was written; 422 `import_rejected` with the report (every problem by row and column) when
/// nothing was.
#[utoipa::path(post, path = "/api/v1/imports/{kind}", tag = "import",
    params(("kind" = String, Path, description = "customers | contacts | requirements | orders")),
    request_body(content = String, content_type = "text/csv",
        example = "外部编号*,客户编码*,需求标题*,来源渠道*,类别*,性质*,类型*,紧急程度*\nCRM-R-0001,KH-A-0001,牵引电机交期缩短至30天,拜访,产品,功能性,明示,重要\n"),
    responses(
        (status = 200, body = ImportReport, example = json!({"kind": "requirements", "rows": 1, "created": 1,
            "unchanged": 0, "problems": [], "problem_count": 0, "written": true})),
        (status = 422, body = super::ErrorBody, example = json!({"error": {"code": "import_rejected",
            "message": "文件有问题，未导入任何数据 / the file has problems; nothing was imported",
            "details": {"kind": "requirements", "rows": 1, "created": 0, "unchanged": 0, "problem_count": 1, "written": false,
                "problems": [{"row": 2, "column": "req.urgency", "code": "import_choice", "detail": "很急"}]}}})),
        (status = 403, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
pub async fn import(
    State(s): State<AppState>,
    ApiUser(actor): ApiUser,
    Path(kind): Path<String>,
    body: Body,
) -> Result<Json<ImportReport>, AppError> {
    let kind = kind_of(&kind)?;
    actor.require(access::import_action(kind))?;
    let file = edge::save_body(body).await?;
    let report = edge::run(&s.store, &actor, kind, &file, s.clock.now()).await?;
    if report.written {
        return Ok(Json(report));
    }
    let (zh, en) = (Tr::zh(), Tr::en());
    let mut e = AppError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_rejected",
        format!("{} / {}", zh.t("import.rejected"), en.t("import.rejected")),
    );
    e.details = serde_json::to_value(&report).unwrap_or_default();
    Err(e)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TemplateQuery {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
}

/// The template of a kind: its headers (required ones marked `*`) and a sample row.
#[utoipa::path(get, path = "/api/v1/imports/{kind}/template", tag = "import",
    params(("kind" = String, Path, description = "customers | contacts | requirements | orders"), TemplateQuery),
    responses((status = 200, description = "the template file", content_type = "text/csv",
        example = "外部编号*,客户编码*,需求标题*\n"), (status = 404, body = super::ErrorBody)))]
pub async fn template(
    ApiUser(_actor): ApiUser,
    Path(kind): Path<String>,
    Query(q): Query<TemplateQuery>,
) -> Result<Response, AppError> {
    let kind = kind_of(&kind)?;
    let t = Tr::zh();
    Ok(match q.format.as_deref() {
        Some("xlsx") => {
            let bytes = edge::template_xlsx(kind, t).map_err(|e| {
                tracing::error!(error = %e, "template");
                AppError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "export",
                    "导出失败 / export failed",
                )
            })?;
            crate::export::download(&format!("{kind}-template.xlsx"), bytes)
        }
        None | Some("csv") => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{kind}-template.csv\""),
                ),
            ],
            edge::template_csv(kind, t),
        )
            .into_response(),
        Some(_) => return Err(AppError::bad_request("format", "csv or xlsx".into())),
    })
}
