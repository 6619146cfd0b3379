//! The import page (F29): choose a kind, download its template, upload a file; the outcome is
//! the count of records created, or every problem by row and column (also as an .xlsx).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use reqloop_domain::access;
use reqloop_domain::import::ImportKind;
use reqloop_store::ImportReport;

use super::{choices, error_page, render, Chrome, Opt};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::import as edge;
use crate::AppState;

/// One column of the chosen kind, as the page explains it.
struct ColumnHelp {
    header: String,
    required: bool,
    sample: String,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    c: Chrome,
    kind: ImportKind,
    kinds: Vec<Opt>,
    columns: Vec<ColumnHelp>,
    error: String,
    report: Option<ImportReport>,
    /// (row, column, reason, value) of each problem listed.
    problems: Vec<(String, String, String, String)>,
    report_link: String,
}

fn kind_of(v: Option<&str>) -> ImportKind {
    v.and_then(|k| k.parse().ok())
        .unwrap_or(ImportKind::Requirements)
}

fn page(
    u: &PageUser,
    kind: ImportKind,
    error: String,
    report: Option<ImportReport>,
    report_link: String,
) -> ImportPage {
    let t = u.t;
    let problems = report
        .as_ref()
        .map(|r| r.problems.iter().map(|p| edge::describe(p, t)).collect())
        .unwrap_or_default();
    ImportPage {
        c: Chrome::new(u, "import", t.t("nav.import").to_string()),
        kind,
        kinds: choices(
            ImportKind::ALL,
            ImportKind::as_str,
            &t,
            "import.kind",
            Some(kind),
        ),
        columns: kind
            .columns()
            .iter()
            .map(|c| ColumnHelp {
                header: t.t(c.label).to_string(),
                required: c.required,
                sample: c.sample.to_string(),
            })
            .collect(),
        error,
        report,
        problems,
        report_link,
    }
}

/// `/import?kind=`
pub async fn form(u: PageUser, Query(q): Query<Vec<(String, String)>>) -> Response {
    let kind = kind_of(q.iter().find(|(k, _)| k == "kind").map(|(_, v)| v.as_str()));
    render(&page(&u, kind, String::new(), None, String::new()))
}

/// `POST /import?_csrf=` (multipart: `kind`, `file`).
pub async fn upload(
    State(s): State<AppState>,
    u: PageUser,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let t = u.t;
    let mut kind = ImportKind::Requirements;
    let mut file = None;
    let outcome: Result<(), AppError> = async {
        let mut multipart = multipart.map_err(|e| AppError::bad_request("file", e.body_text()))?;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| AppError::bad_request("file", e.body_text()))?
        {
            match field.name() {
                Some("kind") => {
                    kind = kind_of(field.text().await.ok().as_deref());
                }
                Some("file") => {
                    let saved = edge::save(field).await?;
                    let empty = std::fs::metadata(&saved.0)
                        .map(|m| m.len() == 0)
                        .unwrap_or(true);
                    if !empty {
                        file = Some(saved);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
    .await;
    let failed = |u: &PageUser, kind, key: &str| {
        let p = page(u, kind, t.t(key).to_string(), None, String::new());
        (StatusCode::BAD_REQUEST, render(&p)).into_response()
    };
    if let Err(e) = outcome {
        let key = if e.code == "too_large" {
            "import.too_large"
        } else {
            "import.no_file"
        };
        return failed(&u, kind, key);
    }
    if u.actor.require(access::import_action(kind)).is_err() {
        return error_page(&u, AppError::from(reqloop_domain::access::Denied));
    }
    let Some(file) = file else {
        return failed(&u, kind, "import.no_file");
    };
    let report = match edge::run(&s.store, &u.actor, kind, &file, s.clock.now()).await {
        Ok(r) => r,
        Err(e) => return error_page(&u, e),
    };
    drop(file);
    let mut link = String::new();
    let status = if report.written {
        StatusCode::OK
    } else {
        if let Ok(bytes) = edge::report_xlsx(&report, t) {
            let token = reqloop_store::random_token()
                .get(..24)
                .unwrap_or("report")
                .to_string();
            let dir = s.store.files_dir().join("import-reports");
            let path = dir.join(format!("{}-{token}.xlsx", u.actor.user_id.0));
            let saved = tokio::fs::create_dir_all(&dir)
                .await
                .and(tokio::fs::write(&path, bytes).await);
            match saved {
                Ok(()) => link = format!("/import/reports/{token}"),
                Err(e) => tracing::error!(error = %e, "import report"),
            }
        }
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (
        status,
        render(&page(&u, kind, String::new(), Some(report), link)),
    )
        .into_response()
}

/// `/import/reports/{token}`: the problems of one's own last imports as an .xlsx.
pub async fn report(State(s): State<AppState>, u: PageUser, Path(token): Path<String>) -> Response {
    if token.is_empty() || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        return error_page(&u, AppError::not_found());
    }
    let path = s
        .store
        .files_dir()
        .join("import-reports")
        .join(format!("{}-{token}.xlsx", u.actor.user_id.0));
    match tokio::fs::read(&path).await {
        Ok(bytes) => crate::export::download("import-problems.xlsx", bytes),
        Err(_) => error_page(&u, AppError::not_found()),
    }
}

/// `/import/templates/{kind}.{csv|xlsx}`
pub async fn template(u: PageUser, Path(file): Path<String>) -> Response {
    let Some((kind, ext)) = file.split_once('.') else {
        return error_page(&u, AppError::not_found());
    };
    let Ok(kind) = kind.parse::<ImportKind>() else {
        return error_page(&u, AppError::not_found());
    };
    let name = format!("{kind}-template.{ext}");
    match ext {
        "csv" => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            edge::template_csv(kind, u.t),
        )
            .into_response(),
        "xlsx" => match edge::template_xlsx(kind, u.t) {
            Ok(bytes) => crate::export::download(&name, bytes),
            Err(e) => {
                tracing::error!(error = %e, "template");
                error_page(
                    &u,
                    AppError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "export",
                        "导出失败 / export failed",
                    ),
                )
            }
        },
        _ => error_page(&u, AppError::not_found()),
    }
}
