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

/// One CSV field, quoted; a leading `= + - @` is prefixed with `'` so that a spreadsheet does
/// not run it as a formula.
pub fn csv_field(v: &str) -> String {
    let guard = if v.starts_with(['=', '+', '-', '@']) {
        "'"
    } else {
        ""
    };
    format!("\"{guard}{}\"", v.replace('"', "\"\""))
}

/// One CSV line of such fields, ended by CRLF.
pub fn csv_line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
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
    next: F,
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
    write_xlsx(path, name, headers, next).await?;
    Ok(file)
}

/// The most rows an Excel worksheet holds; longer lists go on to further sheets.
const SHEET_ROWS: u32 = 1_048_576;

/// Writes a list to an .xlsx at `path`, in constant memory (rows go to disk as they come);
/// the number of rows written.
pub async fn write_xlsx<F, Fut>(
    path: std::path::PathBuf,
    name: &str,
    headers: Vec<String>,
    mut next: F,
) -> Result<u64, String>
where
    F: FnMut(i64) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Rows, reqloop_store::Error>> + Send,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Vec<String>>>(2);
    let sheet = name.chars().take(26).collect::<String>();
    let writer = tokio::task::spawn_blocking(move || -> Result<u64, XlsxError> {
        let mut book = Workbook::new();
        let bold = Format::new().set_bold();
        let mut written = 0u64;
        let mut carried: Option<Vec<Vec<String>>> = None;
        let mut sheet_no = 0;
        'sheets: loop {
            sheet_no += 1;
            let ws = book.add_worksheet_with_constant_memory()?;
            ws.set_name(if sheet_no == 1 {
                sheet.clone()
            } else {
                format!("{sheet} {sheet_no}")
            })?;
            for (c, h) in headers.iter().enumerate() {
                ws.set_column_width(c as u16, (display_width(h).clamp(8, 40) + 4) as f64)?;
                ws.write_string_with_format(0, c as u16, h, &bold)?;
            }
            ws.set_freeze_panes(1, 0)?;
            let mut r = 1u32;
            loop {
                let rows = match carried.take() {
                    Some(rows) => rows,
                    None => match rx.blocking_recv() {
                        Some(rows) => rows,
                        None => break 'sheets,
                    },
                };
                let mut rows = rows.into_iter();
                while let Some(row) = rows.next() {
                    if r == SHEET_ROWS {
                        carried = Some(std::iter::once(row).chain(rows).collect());
                        continue 'sheets;
                    }
                    for (c, v) in row.iter().enumerate() {
                        ws.write_string(r, c as u16, v)?;
                    }
                    r += 1;
                    written += 1;
                }
            }
        }
        book.save(&path)?;
        Ok(written)
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
        .map_err(|e| e.to_string())
}

/// Writes a list to a CSV file (UTF-8 with a BOM, so that Excel shows the Chinese headers);
/// the number of rows written.
pub async fn write_csv<F, Fut>(
    path: &std::path::Path,
    headers: Vec<String>,
    mut next: F,
) -> Result<u64, String>
where
    F: FnMut(i64) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Rows, reqloop_store::Error>> + Send,
{
    use tokio::io::AsyncWriteExt;
    let file = tokio::fs::File::create(path)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = tokio::io::BufWriter::new(file);
    let io = |e: std::io::Error| e.to_string();
    out.write_all(format!("\u{feff}{}", csv_line(&headers)).as_bytes())
        .await
        .map_err(io)?;
    let mut written = 0u64;
    let mut cursor = Some(0);
    while let Some(at) = cursor {
        let (rows, following) = next(at).await.map_err(|e| e.to_string())?;
        for row in &rows {
            out.write_all(csv_line(row).as_bytes()).await.map_err(io)?;
        }
        written += rows.len() as u64;
        cursor = following;
    }
    out.flush().await.map_err(io)?;
    Ok(written)
}

/// One stretch of an export, boxed so that the lists' row builders can be named.
pub type Stretch = futures_util::future::BoxFuture<'static, Result<Rows, reqloop_store::Error>>;

/// The requirements list (its filters, newest first, walked by id): headers and rows as the
/// page shows them.
pub fn requirements(
    store: reqloop_store::Store,
    actor: reqloop_domain::access::Actor,
    filter: reqloop_store::RequirementFilter,
    t: crate::i18n::Tr,
) -> (Vec<String>, impl FnMut(i64) -> Stretch + Send + 'static) {
    use futures_util::FutureExt;
    let headers = headers(
        t,
        &[
            "req.code",
            "import.external_key",
            "req.title",
            "req.customer",
            "req.stage",
            "req.urgency",
            "req.category",
            "req.channel",
            "req.collected_on",
        ],
    );
    let next = move |cursor: i64| {
        let (store, actor, filter) = (store.clone(), actor.clone(), filter.clone());
        async move {
            let before = (cursor > 0).then_some(cursor);
            let items = store
                .export_requirements(&actor, &filter, before, EXPORT_PAGE)
                .await?;
            let ids: Vec<i64> = items.iter().map(|r| r.fields.customer_id.0).collect();
            let names = store.customer_names(&actor, &ids).await?;
            let next = (items.len() as i64 == EXPORT_PAGE)
                .then(|| items.last().map(|r| r.id))
                .flatten();
            let rows = items
                .into_iter()
                .map(|r| {
                    vec![
                        r.code,
                        r.external_key.unwrap_or_default(),
                        r.fields.title,
                        names
                            .get(&r.fields.customer_id.0)
                            .cloned()
                            .unwrap_or_default(),
                        t.label("stage", r.stage.as_str()),
                        t.label("urgency", r.fields.urgency.as_str()),
                        t.label("category", r.fields.category.as_str()),
                        t.label("channel", r.fields.channel.as_str()),
                        r.fields.collected_on,
                    ]
                })
                .collect();
            Ok((rows, next))
        }
        .boxed()
    };
    (headers, next)
}

/// The customers list (its filters and order, page after page).
pub fn customers(
    store: reqloop_store::Store,
    actor: reqloop_domain::access::Actor,
    filter: reqloop_store::CustomerFilter,
    staff: std::sync::Arc<std::collections::HashMap<reqloop_domain::ids::UserId, String>>,
    t: crate::i18n::Tr,
) -> (Vec<String>, impl FnMut(i64) -> Stretch + Send + 'static) {
    use futures_util::FutureExt;
    let headers = headers(
        t,
        &[
            "customer.code",
            "import.external_key",
            "customer.name",
            "customer.short_name",
            "customer.grade",
            "customer.tier",
            "customer.industry",
            "customer.province",
            "customer.city",
            "customer.phone",
            "customer.account_manager",
            "customer.annual_revenue",
            "customer.risk_flags",
        ],
    );
    let next = move |cursor: i64| {
        let page = cursor.max(1);
        let (store, actor, mut filter, who) =
            (store.clone(), actor.clone(), filter.clone(), staff.clone());
        async move {
            filter.page = Some(page);
            filter.per_page = Some(MAX_PAGE);
            let list = store.list_customers(&actor, &filter).await?;
            let rows = list
                .items
                .into_iter()
                .map(|c| {
                    let f = c.fields;
                    vec![
                        c.code,
                        c.external_key.unwrap_or_default(),
                        f.name,
                        f.short_name,
                        f.grade.as_str().to_string(),
                        t.label("tier", f.tier.as_str()),
                        f.industry,
                        f.province,
                        f.city,
                        f.phone,
                        f.account_manager_id
                            .and_then(|m| who.get(&m).cloned())
                            .unwrap_or_default(),
                        f.annual_revenue.to_string(),
                        f.risk_flags
                            .iter()
                            .map(|r| t.label("risk", r.as_str()))
                            .collect::<Vec<_>>()
                            .join("、"),
                    ]
                })
                .collect();
            Ok((rows, next_page(page, list.total)))
        }
        .boxed()
    };
    (headers, next)
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
