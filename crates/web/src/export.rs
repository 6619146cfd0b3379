//! Spreadsheet exports: real .xlsx workbooks (Excel opens them without an import step) with
//! the header row in bold and frozen; every cell is written as text, so nothing a user typed is
//! ever run as a formula.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// One sheet: the headers and the rows, as text.
pub fn xlsx(sheet: &str, headers: &[String], rows: &[Vec<String>]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet)?;
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    let mut widths: Vec<usize> = headers.iter().map(|h| display_width(h)).collect();
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
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
    book.save_to_buffer()
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
