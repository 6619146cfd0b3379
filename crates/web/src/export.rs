//! Spreadsheet exports: real .xlsx workbooks (Excel opens them without an import step) with
//! the header row in bold and frozen; every cell is written as text, so nothing a user typed is
//! ever run as a formula.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

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
