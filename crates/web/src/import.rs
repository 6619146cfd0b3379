//! Import at the edge (F29): uploads stream to a temporary file (memory stays flat however
//! large the file), the store imports it, and the outcome is told in zh-CN or English — as a
//! page, as JSON and as an .xlsx of the problems. Also the template of each kind.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use axum::body::Body;
use axum::http::StatusCode;
use futures_util::StreamExt;
use reqloop_domain::access::Actor;
use reqloop_domain::import::{Column, ImportKind};
use reqloop_store::{ImportReport, Problem, Store};
use rust_xlsxwriter::XlsxError;
use tokio::io::AsyncWriteExt;

use crate::error::AppError;
use crate::i18n::{self, Tr};

/// The largest file an upload may be (a million requirements in CSV is about 250 MB).
pub const MAX_UPLOAD: usize = 1024 * 1024 * 1024;

/// A file on disk that is removed when dropped.
pub struct TempFile(pub PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn temp_path() -> PathBuf {
    std::env::temp_dir().join(format!(
        "reqloop-import-{}",
        reqloop_store::random_token().get(..16).unwrap_or("upload")
    ))
}

fn too_large() -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "文件不能超过 1 GB / files are limited to 1 GB",
    )
}

/// Writes a stream of chunks to a temporary file.
pub async fn save<S, E>(mut chunks: S) -> Result<TempFile, AppError>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let tmp = TempFile(temp_path());
    let io = |e: std::io::Error| {
        tracing::error!(error = %e, "import upload");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "upload",
            "上传失败 / upload failed",
        )
    };
    let mut file = tokio::io::BufWriter::new(tokio::fs::File::create(&tmp.0).await.map_err(io)?);
    let mut size = 0usize;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| AppError::bad_request("file", e.to_string()))?;
        size += chunk.len();
        if size > MAX_UPLOAD {
            return Err(too_large());
        }
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    Ok(tmp)
}

/// The request body as the file.
pub async fn save_body(body: Body) -> Result<TempFile, AppError> {
    save(body.into_data_stream()).await
}

/// Imports a saved file.
pub async fn run(
    store: &Store,
    actor: &Actor,
    kind: ImportKind,
    file: &TempFile,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ImportReport, AppError> {
    let feed = reqloop_store::read_file(file.0.clone(), Arc::new(AtomicU64::new(0)));
    Ok(store.import(actor, kind, feed, &i18n::labels, now).await?)
}

/// One problem in words: (row, column, reason, value).
pub fn describe(p: &Problem, t: Tr) -> (String, String, String, String) {
    let row = if p.row == 0 {
        "—".to_string()
    } else {
        p.row.to_string()
    };
    let column = p
        .column
        .map(|c| t.t(c).to_string())
        .unwrap_or_else(|| "—".into());
    (
        row,
        column,
        t.t(&format!("err.{}", p.code)).to_string(),
        p.detail.clone(),
    )
}

/// The problems as a workbook: row, column, reason and the value concerned.
pub fn report_xlsx(report: &ImportReport, t: Tr) -> Result<Vec<u8>, XlsxError> {
    let headers: Vec<String> = [
        "import.row",
        "import.column",
        "import.reason",
        "import.value",
    ]
    .iter()
    .map(|k| t.t(k).to_string())
    .collect();
    let rows: Vec<Vec<String>> = report
        .problems
        .iter()
        .map(|p| {
            let (r, c, why, v) = describe(p, t);
            vec![r, c, why, v]
        })
        .collect();
    crate::export::xlsx(t.t("import.problems"), &headers, &rows)
}

/// A column's header as the template writes it: its label, `*` when required.
fn header(c: &Column, t: Tr) -> String {
    let label = t.t(c.label);
    if c.required {
        format!("{label}*")
    } else {
        label.to_string()
    }
}

/// The template of a kind: the header row and one sample row.
pub fn template(kind: ImportKind, t: Tr) -> (Vec<String>, Vec<String>) {
    let columns = kind.columns();
    (
        columns.iter().map(|c| header(c, t)).collect(),
        columns.iter().map(|c| c.sample.to_string()).collect(),
    )
}

pub fn template_xlsx(kind: ImportKind, t: Tr) -> Result<Vec<u8>, XlsxError> {
    let (headers, sample) = template(kind, t);
    crate::export::xlsx(t.t(&format!("import.kind.{kind}")), &headers, &[sample])
}

/// CSV in UTF-8 with a BOM, so that Excel shows the Chinese headers.
pub fn template_csv(kind: ImportKind, t: Tr) -> Vec<u8> {
    let (headers, sample) = template(kind, t);
    let mut out = b"\xEF\xBB\xBF".to_vec();
    for line in [headers, sample] {
        out.extend_from_slice(crate::export::csv_line(&line).as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_kind_and_problem_has_words_in_both_languages() {
        let mut keys: Vec<String> = vec![];
        for kind in ImportKind::ALL {
            keys.push(format!("import.kind.{kind}"));
            keys.extend(kind.columns().iter().map(|c| c.label.to_string()));
        }
        // Every code the readers, the rows and the importer report.
        let sources = [
            include_str!("../../domain/src/import.rs"),
            include_str!("../../store/src/import/mod.rs"),
            include_str!("../../store/src/import/read.rs"),
        ];
        for src in sources {
            for part in src.split("\"import_").skip(1) {
                let code = part.split('"').next().unwrap_or("");
                keys.push(format!("err.import_{code}"));
            }
        }
        keys.extend(
            [
                "err.unknown_user",
                "err.out_of_scope",
                "err.confidential",
                "err.required",
            ]
            .map(String::from),
        );
        for key in keys {
            let [zh, en] = i18n::labels(&key);
            assert!(
                !zh.is_empty() && !en.is_empty(),
                "{key} lacks a translation"
            );
        }
    }

    #[test]
    fn templates_mark_required_columns_and_open_in_excel() {
        let csv = String::from_utf8(template_csv(ImportKind::Requirements, Tr::zh())).unwrap();
        let header = csv.lines().next().unwrap();
        assert!(header.starts_with("\u{feff}\"外部编号*\""), "{header}");
        assert!(
            header.contains("\"需求描述\""),
            "optional columns carry no mark"
        );
        assert_eq!(
            &template_xlsx(ImportKind::Orders, Tr::en()).unwrap()[..2],
            b"PK"
        );
    }
}
