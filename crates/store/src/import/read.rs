//! Reading an import file row by row, on its own thread, into a bounded channel: memory stays
//! flat however large the file, and reading overlaps with writing. The format is told by the
//! content (an .xlsx is a zip archive), not by the name; CSV comes in UTF-8 (with or without a
//! BOM) or GBK/GB18030, as Chinese offices save it.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use calamine::{DataRef, Reader as _, Xlsx};
use encoding_rs::{Decoder, DecoderResult, Encoding, GB18030, UTF_8};
use reqloop_domain::import::{excel_day, Cell, CellError};

/// Rows (with their 1-based numbers) in chunks, or the problem that ended the reading.
pub type Feed = tokio::sync::mpsc::Receiver<Result<Vec<(u64, Vec<Cell>)>, CellError>>;

const CHUNK: usize = 1000;

/// What the file is, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    Csv,
}

impl Format {
    pub fn sniff(head: &[u8]) -> Format {
        if head.starts_with(b"PK\x03\x04") {
            Format::Xlsx
        } else {
            Format::Csv
        }
    }
}

/// Reads `path` on a thread of its own. `progress` counts the bytes read so far (CSV) or the
/// rows (xlsx, whose compressed size says little).
pub fn spawn(path: PathBuf, progress: Arc<AtomicU64>) -> Feed {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    std::thread::spawn(move || {
        // A reader that fails unexpectedly ends the import with a problem, never a hang.
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(&path, &progress, &tx)))
                .unwrap_or_else(|_| Err(file_problem("import_unreadable", "")));
        if let Err(e) = result {
            let _ = tx.blocking_send(Err(e));
        }
    });
    rx
}

type Sender = tokio::sync::mpsc::Sender<Result<Vec<(u64, Vec<Cell>)>, CellError>>;

fn file_problem(code: &'static str, detail: impl ToString) -> CellError {
    CellError {
        row: 0,
        column: None,
        code,
        detail: detail.to_string(),
    }
}

/// Stops quietly when the importer hung up (it found the header wrong, or was cancelled).
struct Chunks<'a> {
    tx: &'a Sender,
    rows: Vec<(u64, Vec<Cell>)>,
    open: bool,
}

impl Chunks<'_> {
    fn push(&mut self, n: u64, cells: Vec<Cell>) {
        self.rows.push((n, cells));
        if self.rows.len() >= CHUNK {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.rows.is_empty() && self.open {
            let rows = std::mem::take(&mut self.rows);
            self.open = self.tx.blocking_send(Ok(rows)).is_ok();
        }
    }
}

fn read(path: &PathBuf, progress: &AtomicU64, tx: &Sender) -> Result<(), CellError> {
    let mut file = File::open(path).map_err(|e| file_problem("import_unreadable", e))?;
    let mut head = [0u8; 4];
    let n = file
        .read(&mut head)
        .map_err(|e| file_problem("import_unreadable", e))?;
    drop(file);
    let mut chunks = Chunks {
        tx,
        rows: Vec::with_capacity(CHUNK),
        open: true,
    };
    match Format::sniff(&head[..n]) {
        Format::Xlsx => read_xlsx(path, progress, &mut chunks)?,
        Format::Csv => read_csv(path, progress, &mut chunks)?,
    }
    chunks.flush();
    Ok(())
}

fn read_csv(path: &PathBuf, progress: &AtomicU64, out: &mut Chunks) -> Result<(), CellError> {
    let file = File::open(path).map_err(|e| file_problem("import_unreadable", e))?;
    let decoded = Decoded::new(Counted {
        inner: file,
        read: progress,
    })
    .map_err(|e| file_problem("import_unreadable", e))?;
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(decoded);
    let mut record = csv::StringRecord::new();
    let mut n = 0u64;
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                n += 1;
                let cells = record
                    .iter()
                    .map(|s| {
                        if s.is_empty() {
                            Cell::Empty
                        } else {
                            Cell::Text(s.to_string())
                        }
                    })
                    .collect();
                out.push(n, cells);
                if !out.open {
                    return Ok(());
                }
            }
            Err(e) => {
                let row = e.position().map_or(n + 1, |p| p.line());
                let code = match e.kind() {
                    csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
                        "import_encoding"
                    }
                    _ => "import_csv",
                };
                out.flush();
                return Err(CellError {
                    row,
                    column: None,
                    code,
                    detail: String::new(),
                });
            }
        }
    }
}

/// Counts the bytes read, for the progress bar.
struct Counted<'a, R> {
    inner: R,
    read: &'a AtomicU64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// UTF-8 out of UTF-8 or GB18030 in: the encoding is decided on the first 64 KiB (a BOM, or
/// whether they are valid UTF-8); a byte sequence the encoding does not allow is an error, never
/// a silent replacement character.
struct Decoded<R> {
    inner: R,
    decoder: Decoder,
    raw: Vec<u8>,
    raw_start: usize,
    eof: bool,
    text: String,
    text_start: usize,
    /// The decoder has seen the end of the input (it may not be used again).
    done: bool,
}

const SNIFF: usize = 64 * 1024;

impl<R: Read> Decoded<R> {
    fn new(mut inner: R) -> std::io::Result<Self> {
        let mut raw = Vec::with_capacity(SNIFF);
        (&mut inner).take(SNIFF as u64).read_to_end(&mut raw)?;
        let eof = raw.len() < SNIFF;
        let encoding: &'static Encoding = match Encoding::for_bom(&raw) {
            Some((e, _)) => e,
            None => match std::str::from_utf8(&raw) {
                Ok(_) => UTF_8,
                // Cut inside a character at the end of the sample: still UTF-8.
                Err(e) if e.error_len().is_none() => UTF_8,
                Err(_) => GB18030,
            },
        };
        Ok(Decoded {
            inner,
            // Removes a BOM of the chosen encoding.
            decoder: encoding.new_decoder_with_bom_removal(),
            raw,
            raw_start: 0,
            eof,
            text: String::new(),
            text_start: 0,
            done: false,
        })
    }

    /// Decodes the next piece into `text`; false at the end.
    fn fill(&mut self) -> std::io::Result<bool> {
        loop {
            if self.done {
                return Ok(false);
            }
            if self.raw_start >= self.raw.len() && !self.eof {
                self.raw.resize(SNIFF, 0);
                let n = self.inner.read(&mut self.raw)?;
                self.raw.truncate(n);
                self.raw_start = 0;
                self.eof = n == 0;
            }
            self.text.clear();
            self.text_start = 0;
            self.text.reserve(
                self.decoder
                    .max_utf8_buffer_length_without_replacement(self.raw.len() - self.raw_start)
                    .unwrap_or(SNIFF * 3),
            );
            let last = self.eof;
            let (result, read) = self.decoder.decode_to_string_without_replacement(
                &self.raw[self.raw_start..],
                &mut self.text,
                last,
            );
            self.raw_start += read;
            if last && result == DecoderResult::InputEmpty {
                self.done = true;
            }
            match result {
                DecoderResult::Malformed(_, _) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "bytes that are neither UTF-8 nor GBK",
                    ))
                }
                DecoderResult::InputEmpty | DecoderResult::OutputFull => {}
            }
            if !self.text.is_empty() {
                return Ok(true);
            }
        }
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.text_start >= self.text.len() && !self.fill()? {
            return Ok(0);
        }
        let available = &self.text.as_bytes()[self.text_start..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.text_start += n;
        Ok(n)
    }
}

/// The first worksheet, cell by cell as it streams out of the archive. Merged ranges are read
/// first (they are few) so that a cell inside one is refused; a formula cell is refused.
fn read_xlsx(path: &PathBuf, progress: &AtomicU64, out: &mut Chunks) -> Result<(), CellError> {
    let file = File::open(path).map_err(|e| file_problem("import_unreadable", e))?;
    let mut book: Xlsx<_> =
        Xlsx::new(BufReader::new(file)).map_err(|e| file_problem("import_xlsx", e))?;
    let Some(sheet) = book.sheet_names().first().cloned() else {
        return Err(file_problem("import_empty", ""));
    };
    let merged = book
        .merge_cells_by_sheet_name(&sheet)
        .map_err(|e| file_problem("import_xlsx", e))?;
    let mut cells = book
        .worksheet_cells_reader(&sheet)
        .map_err(|e| file_problem("import_xlsx", e))?;
    let mut row: Vec<Cell> = Vec::new();
    let mut at: Option<u32> = None;
    loop {
        let next = cells
            .next_cell_with_formula()
            .map_err(|e| file_problem("import_xlsx", e))?;
        let Some(c) = next else { break };
        let (r, col) = c.pos;
        if at != Some(r) {
            if let Some(prev) = at {
                mark_merged(&merged, prev, &mut row);
                out.push(u64::from(prev) + 1, std::mem::take(&mut row));
                progress.fetch_add(1, Ordering::Relaxed);
                if !out.open {
                    return Ok(());
                }
            }
            at = Some(r);
        }
        let cell = if c.formula.is_some() {
            Cell::Formula
        } else {
            to_cell(c.value)
        };
        let col = col as usize;
        if row.len() <= col {
            row.resize(col + 1, Cell::Empty);
        }
        row[col] = cell;
    }
    if let Some(prev) = at {
        mark_merged(&merged, prev, &mut row);
        out.push(u64::from(prev) + 1, row);
    }
    Ok(())
}

/// Marks the cells of row `r` that a merged range hides (all but its top-left cell), whether
/// or not the sheet wrote them.
fn mark_merged(merged: &[calamine::Dimensions], r: u32, row: &mut Vec<Cell>) {
    for m in merged.iter().filter(|m| m.start.0 <= r && r <= m.end.0) {
        for col in m.start.1..=m.end.1 {
            if (r, col) == m.start {
                continue;
            }
            let col = col as usize;
            if row.len() <= col {
                row.resize(col + 1, Cell::Empty);
            }
            row[col] = Cell::Merged;
        }
    }
}

fn to_cell(v: DataRef) -> Cell {
    match v {
        DataRef::Empty => Cell::Empty,
        DataRef::Int(i) => Cell::Number(i as f64),
        DataRef::Float(f) => Cell::Number(f),
        DataRef::String(s) => Cell::Text(s),
        DataRef::SharedString(s) => Cell::Text(s.to_string()),
        DataRef::Bool(b) => Cell::Bool(b),
        DataRef::DateTime(d) if d.is_datetime() => {
            excel_day(d.as_f64()).map_or(Cell::Error, Cell::Date)
        }
        DataRef::DateTime(d) => Cell::Number(d.as_f64()),
        DataRef::DateTimeIso(s) => {
            reqloop_domain::import::parse_date(&s).map_or(Cell::Text(s), Cell::Date)
        }
        DataRef::DurationIso(s) => Cell::Text(s),
        DataRef::Error(_) => Cell::Error,
    }
}
