//! Spreadsheet exports: real .xlsx workbooks (Excel opens them without an import step) with
//! the header row in bold and frozen; every cell is written as text, so nothing a user typed is
//! ever run as a formula.

use std::future::Future;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use tokio::io::AsyncReadExt;

/// One sheet: its name, the headers and the rows, as text.
pub struct Sheet {
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// One sheet: the headers and the rows, as text.
pub fn xlsx(sheet: &str, headers: &[String], rows: &[Vec<String>]) -> Result<Vec<u8>, XlsxError> {
    book(&[Sheet {
        name: sheet.to_string(),
        headers: headers.to_vec(),
        rows: rows.to_vec(),
    }])
}

/// A workbook of several sheets.
pub fn book(sheets: &[Sheet]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    for sheet in sheets {
        let ws = book.add_worksheet();
        ws.set_name(&sheet.name)?;
        let mut widths: Vec<usize> = sheet.headers.iter().map(|h| display_width(h)).collect();
        for (c, h) in sheet.headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &bold)?;
        }
        for (r, row) in sheet.rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string_with_format(r as u32 + 1, c as u16, v, &wrap)?;
                if let Some(w) = widths.get_mut(c) {
                    *w = (*w).max(display_width(v));
                }
            }
        }
        for (c, w) in widths.iter().enumerate() {
            ws.set_column_width(c as u16, (*w).clamp(6, 60) as f64 + 2.0)?;
        }
        ws.set_freeze_panes(1, 0)?;
    }
    book.save_to_buffer()
}

/// The workbook as a download, or the error page when it cannot be written.
pub fn book_download(u: &crate::auth::PageUser, file: &str, sheets: &[Sheet]) -> Response {
    match book(sheets) {
        Ok(bytes) => download(file, bytes),
        Err(e) => {
            tracing::error!(error = %e, file, "workbook");
            crate::pages::error_page(
                u,
                crate::error::AppError::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "export",
                    "导出失败 / export failed",
                ),
            )
        }
    }
}

/// Chinese characters take two columns of width.
fn display_width(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// The workbook as a download named `file` (ASCII).
pub fn download(file: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// One CSV line: every field quoted; a leading `= + - @` is prefixed with `'` so that a
/// spreadsheet does not run it as a formula.
pub fn csv_line(fields: &[String]) -> String {
    let mut line = String::new();
    for (i, v) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push('"');
        if v.starts_with(['=', '+', '-', '@']) {
            line.push('\'');
        }
        line.push_str(&v.replace('"', "\"\""));
        line.push('"');
    }
    line.push_str("\r\n");
    line
}

/// The formats a list exports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    Csv,
    Xlsx,
}

impl ListFormat {
    /// `?format=csv|xlsx` of a list's query.
    pub fn of(q: &[(String, String)]) -> Option<ListFormat> {
        ListFormat::named(
            q.iter()
                .find(|(k, _)| k == "format")
                .map(|(_, v)| v.as_str()),
        )
    }

    /// The same from a query read into a map.
    pub fn in_map(q: &std::collections::HashMap<String, String>) -> Option<ListFormat> {
        ListFormat::named(q.get("format").map(String::as_str))
    }

    fn named(format: Option<&str>) -> Option<ListFormat> {
        match format {
            Some("csv") => Some(ListFormat::Csv),
            Some("xlsx") => Some(ListFormat::Xlsx),
            _ => None,
        }
    }
}

/// The rows of one stretch of a list and where the next one starts (`None` at the end): the
/// next page number, or the last id for lists walked by key.
pub type Rows = (Vec<Vec<String>>, Option<i64>);

/// Rows fetched per round trip while exporting by key (lists exported by page take the
/// largest page the store gives).
pub const EXPORT_PAGE: i64 = 1000;

/// The largest page a list gives.
pub const MAX_PAGE: i64 = 200;

/// Where a list exported by page goes next: the page after `page` while `total` is not reached.
pub fn next_page(page: i64, total: i64) -> Option<i64> {
    (page * MAX_PAGE < total).then_some(page + 1)
}

/// Exports a whole list, stretch after stretch (`next(cursor)`, from 0): CSV streams as it is read;
/// an .xlsx is written row by row to a temporary file in constant memory and then streamed
/// (a zip archive can only be finished at its end). Either way memory stays flat.
pub async fn list_download<F, Fut>(
    format: ListFormat,
    name: &str,
    headers: Vec<String>,
    next: F,
) -> Response
where
    F: FnMut(i64) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Rows, reqloop_store::Error>> + Send,
{
    match format {
        ListFormat::Csv => csv_download(name, headers, next),
        ListFormat::Xlsx => match xlsx_file(name, headers, next).await {
            Ok(file) => file_download(&format!("{name}.xlsx"), file).await,
            Err(e) => {
                tracing::error!(error = %e, name, "export");
                (
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "导出失败 / export failed",
                )
                    .into_response()
            }
        },
    }
}

/// A list exported page by page (`next(page)` from 1, each at most [`MAX_PAGE`] rows).
pub async fn paged<F, Fut>(
    format: ListFormat,
    name: &str,
    headers: Vec<String>,
    mut next: F,
) -> Response
where
    F: FnMut(i64) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Rows, reqloop_store::Error>> + Send,
{
    list_download(format, name, headers, move |cursor| next(cursor.max(1))).await
}

/// Header labels from i18n keys.
pub fn headers(t: crate::i18n::Tr, keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| t.t(k).to_string()).collect()
}

fn csv_download<F, Fut>(name: &str, headers: Vec<String>, next: F) -> Response
where
    F: FnMut(i64) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Rows, reqloop_store::Error>> + Send,
{
    let first = format!("\u{feff}{}", csv_line(&headers));
    let rest = futures_util::stream::unfold((next, Some(0i64)), |(mut next, cursor)| async move {
        match next(cursor?).await {
            Ok((rows, cursor)) => {
                let chunk: String = rows.iter().map(|r| csv_line(r)).collect();
                Some((Ok::<_, std::io::Error>(chunk), (next, cursor)))
            }
            Err(e) => {
                tracing::error!(error = %e, "export");
                // Cut the download short: the client sees an incomplete transfer, not a short file.
                Some((Err(std::io::Error::other(e.to_string())), (next, None)))
            }
        }
    });
    let body = futures_util::stream::once(async move { Ok(first) }).chain(rest);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}

/// Writes the workbook on a blocking thread fed through a small channel.
async fn xlsx_file<F, Fut>(
    name: &str,
    headers: Vec<String>,
    mut next: F,
) -> Result<crate::import::TempFile, String>
where
    F: FnMut(i64) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Rows, reqloop_store::Error>> + Send,
{
    let path = std::env::temp_dir().join(format!(
        "reqloop-export-{}.xlsx",
        reqloop_store::random_token().get(..16).unwrap_or("list")
    ));
    let file = crate::import::TempFile(path.clone());
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Vec<String>>>(2);
    let sheet = name.to_string();
    let writer = tokio::task::spawn_blocking(move || -> Result<(), XlsxError> {
        let mut book = Workbook::new();
        let bold = Format::new().set_bold();
        let ws = book.add_worksheet_with_constant_memory()?;
        ws.set_name(sheet.chars().take(31).collect::<String>())?;
        for (c, h) in headers.iter().enumerate() {
            ws.set_column_width(c as u16, (display_width(h).clamp(8, 40) + 4) as f64)?;
            ws.write_string_with_format(0, c as u16, h, &bold)?;
        }
        ws.set_freeze_panes(1, 0)?;
        let mut r = 1u32;
        while let Some(rows) = rx.blocking_recv() {
            for row in rows {
                for (c, v) in row.iter().enumerate() {
                    ws.write_string(r, c as u16, v)?;
                }
                r += 1;
            }
        }
        book.save(&path)
    });
    let mut cursor = Some(0);
    while let Some(at) = cursor {
        let (rows, following) = next(at).await.map_err(|e| e.to_string())?;
        if tx.send(rows).await.is_err() {
            break;
        }
        cursor = following;
    }
    drop(tx);
    writer
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok(file)
}

/// Streams a finished file and removes it afterwards.
async fn file_download(name: &str, file: crate::import::TempFile) -> Response {
    let opened = match tokio::fs::File::open(&file.0).await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "export");
            return (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "导出失败 / export failed",
            )
                .into_response();
        }
    };
    let body = futures_util::stream::unfold((opened, file), |(mut f, keep)| async move {
        let mut buf = vec![0u8; 64 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), (f, keep)))
            }
            Err(e) => Some((Err(e), (f, keep))),
        }
    });
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_workbook_is_a_zip_with_the_sheet() {
        let bytes = super::xlsx(
            "CBC",
            &["条款".into(), "响应".into()],
            &[vec!["3.1".into(), "=1+1".into()]],
        )
        .unwrap();
        assert_eq!(&bytes[..2], b"PK", "an xlsx is a zip archive");
        assert!(bytes.len() > 1000);
    }
}
