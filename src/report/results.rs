//! The results CSV (one row per invoice, written as outcomes arrive and rewritten complete, in input
//! order, at the end) and the failed-rows file (the original input rows of every invalid or failed
//! invoice, plus an error column, ready to be fixed and submitted again).
//!
//! Every cell either file writes goes through [`escape_formula`], so a spreadsheet never runs a
//! formula that came from an input file or a server message; ids go through [`id_cell`], so a
//! spreadsheet keeps their leading zeros.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::group::{Batch, OUT_OF_PLACE_NOTE, RowRef, SourceInfo};
use crate::mapping::Field;
use crate::source::ReadOptions;

/// What happened to one invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Accepted,
    AlreadyAccepted,
    Invalid,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Accepted => "accepted",
            Status::AlreadyAccepted => "already_accepted",
            Status::Invalid => "invalid",
            Status::Failed => "failed",
        }
    }

    /// Whether the invoice's rows belong in the failed-rows file.
    pub fn needs_fixing(self) -> bool {
        matches!(self, Status::Invalid | Status::Failed)
    }
}

/// One row of the results file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRow {
    /// Position of the invoice in the input, for the final ordering.
    pub index: usize,
    pub order_id: String,
    pub invoice_number: String,
    pub status: Status,
    pub http_status: Option<u16>,
    pub receipt: Option<String>,
    pub attempts: u32,
    pub error: Option<String>,
    /// Invoice value in cents, when known.
    pub value_cents: Option<i64>,
    /// "file:rows" of the input rows of this invoice.
    pub source: String,
    pub rows: Vec<RowRef>,
}

pub const RESULT_HEADERS: [&str; 9] = [
    "order_id",
    "invoice_number",
    "status",
    "http_status",
    "receipt",
    "attempts",
    "error",
    "invoice_value",
    "source",
];

/// Makes a cell safe to open in a spreadsheet: a cell that starts with `=`, `+`, `-`, `@`, a tab
/// or a carriage return would be run as a formula, so it gets a leading `'` (OWASP's advice).
/// So does one that starts with `'`, which the tool reads back as a mark, not as the cell's own
/// ([`crate::source::unescape_formula`]).
pub fn escape_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\'') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// An id cell as Excel keeps it: `="000100"` for an id of digits only that Excel would read as a
/// number, losing its leading zeros (`000100` becomes `100`, a different invoice number once
/// the file is fixed, saved and fed back) or, from twelve digits on, showing and saving it as
/// `1.17245E+12`. Excel shows such a cell as the id and saves it as the id; the tool reads it
/// back as the id ([`crate::source::unescape_formula`]). Any other cell is escaped as usual.
pub fn id_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    // As the run read it: the spaces around ` 000100 ` would not keep Excel from the number.
    let id = cell.trim();
    let digits = id.len() > 1 && id.bytes().all(|b| b.is_ascii_digit());
    if digits && (id.starts_with('0') || id.len() >= 12) {
        format!("=\"{id}\"").into()
    } else {
        escape_formula(cell)
    }
}

/// UTF-8 byte-order mark, so Excel opens the file with accents intact.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How the results CSV separates its cells, and so its amounts' cents: as the spreadsheet that
/// opens it expects. Excel splits a CSV at the system's list separator, which is `;` wherever
/// the decimal separator is a comma (Brazil, most of Europe), and there reads `1234.56` as text
/// or worse; so a `;` file gets `1234,56`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultsDelimiter {
    /// `,` between cells, amounts as `1234.56`.
    #[default]
    Comma,
    /// `;` between cells, amounts as `1234,56`.
    Semicolon,
}

impl ResultsDelimiter {
    /// The default for a run: its first input's own convention (`,` when there is none). `;`
    /// when that input is a `;` CSV or its amounts are written with a decimal comma (a
    /// spreadsheet from such a locale), else `,`.
    pub fn for_input(first: Option<&SourceInfo>) -> ResultsDelimiter {
        match first {
            Some(s) => ResultsDelimiter::convention(s.delimiter, s.decimal_comma),
            None => ResultsDelimiter::Comma,
        }
    }

    fn convention(delimiter: Option<u8>, decimal_comma: bool) -> ResultsDelimiter {
        if delimiter == Some(b';') || decimal_comma {
            ResultsDelimiter::Semicolon
        } else {
            ResultsDelimiter::Comma
        }
    }

    /// `,` (or `comma`) and `;` (or `semicolon`), as `--results-delimiter` takes them.
    pub fn parse(text: &str) -> Result<ResultsDelimiter, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "," | "comma" => Ok(ResultsDelimiter::Comma),
            ";" | "semicolon" => Ok(ResultsDelimiter::Semicolon),
            other => Err(format!(
                "results delimiter '{other}' is not one of ',' (comma) or ';' (semicolon)"
            )),
        }
    }

    fn byte(self) -> u8 {
        match self {
            ResultsDelimiter::Comma => b',',
            ResultsDelimiter::Semicolon => b';',
        }
    }

    /// `1234.56`, or `1234,56` in a `;` file; no thousands separators, so every spreadsheet
    /// reads a number.
    fn money(self, cents: i64) -> String {
        let plain = crate::report::money_plain(cents);
        match self {
            ResultsDelimiter::Comma => plain,
            ResultsDelimiter::Semicolon => plain.replacen('.', ",", 1),
        }
    }

    fn writer<W: Write>(self, to: W) -> csv::Writer<W> {
        csv::WriterBuilder::new()
            .delimiter(self.byte())
            .from_writer(to)
    }
}

impl std::fmt::Display for ResultsDelimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ResultsDelimiter::Comma => "',' (amounts 1234.56)",
            ResultsDelimiter::Semicolon => "';' (amounts 1234,56)",
        })
    }
}

fn write_escaped<W: Write, I, S>(w: &mut csv::Writer<W>, cells: I) -> io::Result<()>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let escaped: Vec<String> = cells
        .into_iter()
        .map(|c| escape_formula(c.as_ref()).into_owned())
        .collect();
    w.write_record(&escaped).map_err(io::Error::other)
}

/// Writes one result row, escaping each cell, without building a row of owned strings.
fn write_row<W: Write>(
    w: &mut csv::Writer<W>,
    row: &ResultRow,
    delimiter: ResultsDelimiter,
) -> io::Result<()> {
    let mut number = itoa_buf();
    let http = match row.http_status {
        Some(s) => fmt_into(&mut number, u32::from(s)),
        None => "",
    };
    let mut attempts_buf = itoa_buf();
    let attempts = fmt_into(&mut attempts_buf, row.attempts);
    let value = row
        .value_cents
        .map(|cents| delimiter.money(cents))
        .unwrap_or_default();
    let cells = [
        id_cell(&row.order_id),
        id_cell(&row.invoice_number),
        escape_formula(row.status.as_str()),
        escape_formula(http),
        escape_formula(row.receipt.as_deref().unwrap_or_default()),
        escape_formula(attempts),
        escape_formula(row.error.as_deref().unwrap_or_default()),
        escape_formula(&value),
        escape_formula(&row.source),
    ];
    w.write_record(cells.iter().map(|c| c.as_bytes()))
        .map_err(io::Error::other)
}

/// Room for any `u32` in decimal.
fn itoa_buf() -> [u8; 10] {
    [0; 10]
}

/// Formats `n` into `buf` without allocating.
fn fmt_into(buf: &mut [u8; 10], n: u32) -> &str {
    // Ten digits hold any u32, so `at` never goes below zero.
    let mut at = buf.len();
    let mut n = n;
    loop {
        at -= 1;
        // `n % 10` is a single digit, so the cast cannot truncate.
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[at..]).unwrap_or_default()
}

/// Rows kept in memory before the live file gets them, at most; [`ResultsWriter::flush_live`]
/// hands them over sooner.
const LIVE_BUFFER: usize = 64 * 1024;

/// Writes results as they arrive, so a crash leaves a usable file, then rewrites it whole.
///
/// Appends are buffered and reach the file in whole records, when 64 KiB have gathered or the
/// caller calls [`ResultsWriter::flush_live`] (the submit loop does, a few times a second). A
/// crash can therefore lose the last fraction of a second of live rows, never leave half a row:
/// the live file is a safety net, the ledger is what makes a rerun exactly-once.
pub struct ResultsWriter {
    path: PathBuf,
    bom: bool,
    delimiter: ResultsDelimiter,
    /// Whether the header is in the file yet ([`Self::start`]).
    started: bool,
    file: File,
    /// Complete records not yet written to `file`.
    live: csv::Writer<Vec<u8>>,
}

impl ResultsWriter {
    /// Creates (truncates) the file, so a run fails before anything is sent when the path is
    /// not writable. The header follows with [`Self::start`], once the inputs have said which
    /// delimiter suits them.
    pub fn create(path: &Path, bom: bool) -> io::Result<ResultsWriter> {
        let mut file = File::create(path)?;
        if bom {
            file.write_all(BOM)?;
        }
        Ok(ResultsWriter {
            path: path.to_path_buf(),
            bom,
            delimiter: ResultsDelimiter::default(),
            started: false,
            file,
            live: ResultsDelimiter::default().writer(Vec::with_capacity(LIVE_BUFFER)),
        })
    }

    /// Writes the header, cells separated by `delimiter`, as the rows that follow will be.
    pub fn start(&mut self, delimiter: ResultsDelimiter) -> io::Result<()> {
        if self.started {
            return Ok(());
        }
        let mut header = delimiter.writer(Vec::new());
        write_escaped(&mut header, RESULT_HEADERS)?;
        header.flush()?;
        self.file.write_all(header.get_ref())?;
        self.delimiter = delimiter;
        self.live = delimiter.writer(Vec::with_capacity(LIVE_BUFFER));
        self.started = true;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one outcome to the live buffer; writes the buffer out when it is full.
    pub fn append(&mut self, row: &ResultRow) -> io::Result<()> {
        crate::submit::engine::crash_point("results-append");
        self.start(self.delimiter)?;
        write_row(&mut self.live, row, self.delimiter)?;
        if self.live.get_ref().len() >= LIVE_BUFFER {
            self.flush_live()?;
        }
        Ok(())
    }

    /// Hands every appended row to the OS (whole records only). Cheap when nothing is pending.
    pub fn flush_live(&mut self) -> io::Result<()> {
        // The csv writer keeps a small buffer of its own; this moves it into the Vec, which
        // then holds only whole records, since `write_row` ends each one.
        self.live.flush()?;
        if self.live.get_ref().is_empty() {
            return Ok(());
        }
        let fresh = self.delimiter.writer(Vec::new());
        let mut pending = std::mem::replace(&mut self.live, fresh)
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        let result = self.file.write_all(&pending);
        pending.clear();
        // The buffer's allocation is kept for the next rows.
        self.live = self.delimiter.writer(pending);
        result
    }

    /// Replaces the live file with every row in input order, atomically (write, sync, rename).
    pub fn finish(self, rows: &[ResultRow]) -> io::Result<PathBuf> {
        drop(self.live);
        drop(self.file);
        let mut ordered: Vec<&ResultRow> = rows.iter().collect();
        ordered.sort_by_key(|r| r.index);
        let (mut file, rename) = create_for(&self.path)?;
        {
            if self.bom {
                file.write_all(BOM)?;
            }
            let mut w = self.delimiter.writer(BufWriter::new(file));
            write_escaped(&mut w, RESULT_HEADERS)?;
            for row in ordered {
                write_row(&mut w, row, self.delimiter)?;
            }
            let file = w
                .into_inner()
                .map_err(|e| io::Error::other(e.to_string()))?;
            let file = file.into_inner().map_err(|e| e.into_error())?;
            // A device takes no sync (`/dev/null`); a file must be on disk before its rename.
            if rename.is_some() {
                file.sync_all()?;
            }
        }
        put_in_place(rename)?;
        Ok(self.path)
    }
}

/// `<dir>/<stem>.<suffix>.csv` beside `input` (for stdin, in the current directory).
pub fn beside(input: &str, suffix: &str) -> PathBuf {
    if input == "-" {
        return PathBuf::from(format!("stdin.{suffix}.csv"));
    }
    let path = Path::new(input);
    // A failed-rows file submitted again gets its own outputs (`x.failed.results.csv`), so
    // neither the first run's results nor the file being read are written over.
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("input");
    path.with_file_name(format!("{stem}.{suffix}.csv"))
}

/// `<stem>.<suffix>.csv` in `dir`, or beside `input` when no folder is given.
pub fn output_path(input: &str, suffix: &str, dir: Option<&Path>) -> PathBuf {
    let path = beside(input, suffix);
    match (dir, path.file_name()) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => path,
    }
}

/// Where and how the failed-rows files go.
#[derive(Debug, Clone, Default)]
pub struct FailedOptions<'a> {
    /// `--failed PATH`: used when there is one input.
    pub single_path: Option<&'a Path>,
    /// Folder for the files [default: beside each input].
    pub dir: Option<&'a Path>,
    /// What the file names add to the input's: `failed` (`x.failed.csv`), or another word for
    /// another command's rows (`tracking-failed`), so one never writes over the other's.
    pub suffix: &'a str,
    pub bom: bool,
}

impl FailedOptions<'_> {
    /// Where the failed rows of `input` go, in a run of `inputs` inputs (a workbook's rows go
    /// to a workbook).
    pub fn path_for(&self, input: &SourceInfo, inputs: usize) -> PathBuf {
        match self.single_path {
            Some(p) if inputs == 1 => p.to_path_buf(),
            _ => {
                let p = output_path(&input.path, self.suffix, self.dir);
                if input.source.sheet.is_some() {
                    p.with_extension("xlsx")
                } else {
                    p
                }
            }
        }
    }
}

/// How many of `headers`' columns are the input's own: all but a last `error` column, which a
/// failed-rows file fed back in has from the run before; it is replaced, not kept beside the
/// new one.
fn own_columns(headers: &[String]) -> usize {
    match headers.split_last() {
        Some((last, rest)) if last.trim().eq_ignore_ascii_case("error") => rest.len(),
        _ => headers.len(),
    }
}

/// `path` with `.tmp` added: a file is written there and then renamed into place, so a run that
/// stops midway leaves no half-written file, and a file being read is never truncated.
fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Where a file meant for `path` is written: the file a symbolic link there points to (the link
/// stays), and whether it is written beside it and renamed into place ([`tmp_path`]) or, for a
/// device or a pipe (`/dev/null`), written into as it is. Bug: the rename put a regular file in
/// place of a link, or of `/dev/full` itself.
fn destination(path: &Path) -> (PathBuf, bool) {
    let target = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path).unwrap_or(path.into()),
        _ => path.to_path_buf(),
    };
    let special = fs::metadata(&target).is_ok_and(|m| !m.is_file());
    (target, !special)
}

/// Creates the file to write for `path` ([`destination`]): returns it, and where to rename it
/// to once written (`None` when it is written in place).
fn create_for(path: &Path) -> io::Result<(File, Option<(PathBuf, PathBuf)>)> {
    match destination(path) {
        (target, true) => {
            let tmp = tmp_path(&target);
            Ok((File::create(&tmp)?, Some((tmp, target))))
        }
        (target, false) => Ok((File::create(target)?, None)),
    }
}

/// Puts a file made by [`create_for`] in place.
fn put_in_place(rename: Option<(PathBuf, PathBuf)>) -> io::Result<()> {
    match rename {
        Some((tmp, target)) => fs::rename(tmp, target),
        None => Ok(()),
    }
}

/// The `error` cell of a repeated header kept in a failed-rows file.
const HEADER_KEPT: &str = "the header again, as in the input: the rows above and below it are \
                           read as two exports, so an invoice on both sides is still refused";

/// Writes, for each input that has rows to fix, a file with that input's original header row and
/// the original cells of those rows, plus an `error` column. A workbook input gets a workbook
/// (`.failed.xlsx`, same sheet name and cell types), a CSV input a CSV with the same delimiter
/// (in UTF-8, whatever the input's encoding). Returns the files written.
///
/// `errors` maps each row to fix to its message. The inputs are read a second time, so memory
/// never holds the whole input.
pub fn write_failed_rows(
    batch: &Batch,
    read: &ReadOptions,
    errors: &HashMap<RowRef, String>,
    out: &FailedOptions<'_>,
) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    let sources_with_rows: HashSet<u32> = errors.keys().map(|r| r.source).collect();
    for (index, info) in batch.sources.iter().enumerate() {
        let index = index as u32;
        if !sources_with_rows.contains(&index) {
            continue;
        }
        // A header repeated between failed rows is written too: it may be where two exports
        // were joined, and without it the rows of an invoice from both would read as one.
        let failed_here = || errors.keys().filter(|r| r.source == index).map(|r| r.row);
        let (first, last) = (failed_here().min(), failed_here().max());
        let kept_headers: HashSet<u64> = info
            .repeated_headers
            .iter()
            .copied()
            .filter(|&h| first.is_some_and(|f| f < h) && last.is_some_and(|l| h < l))
            .collect();
        let message_for = |row: u64| -> Option<&str> {
            match errors.get(&RowRef { source: index, row }) {
                Some(message) => Some(message),
                None => kept_headers.contains(&row).then_some(HEADER_KEPT),
            }
        };
        let workbook_sheet = info.source.sheet.as_deref();
        let path = out.path_for(info, batch.sources.len());
        let mut table = info.reopen(read).map_err(|e| e.to_string())?;
        let as_xlsx = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
        let io_err = |e: io::Error| format!("{}: {e}", path.display());
        if let (Some(sheet), true) = (workbook_sheet, as_xlsx) {
            let (target, renamed) = destination(&path);
            let tmp = match renamed {
                true => tmp_path(&target),
                false => target.clone(),
            };
            write_failed_workbook(&mut table, sheet, &message_for, &tmp)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            put_in_place(renamed.then_some((tmp, target))).map_err(io_err)?;
            written.push(path);
            continue;
        }
        let (mut file, rename) = create_for(&path).map_err(io_err)?;
        // Written in UTF-8 whatever the input's encoding: a mark says so, even under --no-bom,
        // when the input was not UTF-8, or the same `--encoding windows-1252` (a config's)
        // would read the fixed file wrong.
        let utf8_input = table.encoding().is_none_or(|e| e == encoding_rs::UTF_8);
        if out.bom || !utf8_input {
            file.write_all(BOM).map_err(io_err)?;
        }
        // The input's own delimiter: a ';' file from a Brazilian Excel must open in that Excel
        // as columns, be fixed there and come back as it was.
        let mut w = csv::WriterBuilder::new()
            .delimiter(table.delimiter().unwrap_or(b','))
            // Title rows above the header have cells of their own.
            .flexible(true)
            .from_writer(BufWriter::new(file));
        let width = own_columns(table.headers());
        // The rows above the header (a title; blank ones as blank), so that the file reads as
        // its input did, `--header-row` or `header_row` in the config included.
        for number in 1..table.header_row() {
            match table.above_header().iter().find(|(n, _)| *n == number) {
                Some((_, cells)) => write_escaped(&mut w, cells),
                None => write_escaped(&mut w, [""]),
            }
            .map_err(io_err)?;
        }
        let mut header: Vec<String> = table.headers()[..width].to_vec();
        header.push(String::from("error"));
        write_escaped(&mut w, &header).map_err(io_err)?;
        // Columns of ids, kept as text by a spreadsheet that opens the file (`id_cell`).
        let id_columns: Vec<usize> = [
            Field::OrderId,
            Field::InvoiceNumber,
            Field::ItemId,
            Field::InvoiceKey,
            Field::TrackingNumber,
        ]
        .into_iter()
        .filter_map(|f| info.mapping.column(f))
        .collect();
        let (header_cells, csv) = (table.headers().len(), table.is_csv());
        // Row `number`'s cells, read only when the row failed: most rows did not.
        let mut write_row = |number: u64, cells: &mut dyn Iterator<Item = String>| {
            let Some(message) = message_for(number) else {
                return Ok(());
            };
            let mut cells: Vec<String> = cells.collect();
            // A row short of the input's usual cells, or split past its header, would read as
            // whole once padded or cut here: its note holds it back until it is fixed, and
            // stays on a row fed back with it.
            let out_of_place = info
                .full_width
                .is_some_and(|full| cells.len() < full as usize)
                || (csv
                    && cells
                        .iter()
                        .skip(header_cells)
                        .any(|c| !c.trim().is_empty()))
                || cells
                    .get(width)
                    .is_some_and(|old| old.trim_start().starts_with(OUT_OF_PLACE_NOTE));
            let message = match out_of_place {
                true => std::borrow::Cow::Owned(format!("{OUT_OF_PLACE_NOTE} {message}")),
                false => std::borrow::Cow::Borrowed(message),
            };
            cells.truncate(width);
            cells.resize(width, String::new());
            let written = cells.iter().enumerate().map(|(col, cell)| {
                // As the run read it (`="000100"` is `000100`), written so it reads back so.
                let cell = crate::source::unescape_formula(cell);
                match id_columns.contains(&col) {
                    true => id_cell(cell),
                    false => escape_formula(cell),
                }
            });
            let record: Vec<_> = written.chain([escape_formula(&message)]).collect();
            w.write_record(record.iter().map(|c| c.as_bytes()))
                .map_err(|e| io_err(io::Error::other(e)))
        };
        if table.is_csv() {
            // Read as bytes: a row with a cell that is not UTF-8 failed for that, and must be
            // in this file to be fixed (its invoice was not sent without it). Such a cell is
            // copied with U+FFFD in place of what can't be read.
            let mut record = csv::ByteRecord::new();
            while let Some(read) = table.next_record(&mut record) {
                match read {
                    Ok(Some(number)) => write_row(
                        number,
                        &mut record
                            .iter()
                            .map(|f| String::from_utf8_lossy(f).into_owned()),
                    )?,
                    Ok(None) => break,
                    // Reported the first time, with no text to copy.
                    Err(_) => continue,
                }
            }
        } else {
            loop {
                let row = match table.next_row() {
                    Ok(Some(row)) => row,
                    Ok(None) => break,
                    // Rows that can't be read were reported the first time; they have no text
                    // to copy.
                    Err(_) => continue,
                };
                // Only the header's columns: a stray cell far to the right (the Solver add-in
                // writes in column XFD) would otherwise cost thousands of empty cells a row.
                let number = row.number();
                write_row(number, &mut (0..width).map(|c| row.text(c).into_owned()))?;
            }
        }
        let file = w
            .into_inner()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let file = file.into_inner().map_err(|e| io_err(e.into_error()))?;
        if rename.is_some() {
            file.sync_all().map_err(io_err)?;
        }
        put_in_place(rename).map_err(io_err)?;
        written.push(path);
    }
    Ok(written)
}

fn write_failed_workbook<'e>(
    table: &mut crate::source::Table,
    sheet: &str,
    message_for: &dyn Fn(u64) -> Option<&'e str>,
    path: &Path,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let width = own_columns(table.headers());
    let headers = table.headers()[..width].to_vec();
    let mut wb = crate::report::workbook::FailedWorkbook::new(
        sheet,
        (
            table.above_header(),
            table.header_row(),
            table.first_column(),
        ),
        &headers,
    )?;
    loop {
        let row = match table.next_row() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(_) => continue,
        };
        let Some(message) = message_for(row.number()) else {
            continue;
        };
        wb.push((0..width).map(|c| row.get(c)), width, message)?;
    }
    wb.save(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn files_are_written_through_links_and_into_devices() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("real.csv");
        fs::write(&file, "old").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let real = fs::canonicalize(&file).unwrap();
        assert_eq!(destination(&link), (real.clone(), true));
        assert_eq!(destination(&file), (file.clone(), true));
        let missing = dir.path().join("new.csv");
        assert_eq!(destination(&missing), (missing.clone(), true));
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            assert_eq!(destination(&fifo), (fifo.clone(), false));
        }
        // Written through the link: the link stays, the file it names has the text.
        let (mut out, rename) = create_for(&link).unwrap();
        out.write_all(b"new").unwrap();
        drop(out);
        put_in_place(rename).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
    }

    #[test]
    fn an_escaped_cell_reads_back_as_it_was() {
        for cell in [
            "=1+1", "+100", "-24,50", "@SKU", "\tx", "\rx", "100", "", "'", "a'b", "'007", "''x",
            "'x",
        ] {
            let written = escape_formula(cell);
            assert_eq!(crate::source::unescape_formula(&written), cell, "{written}");
        }
        // Before `=` or digits a `'` is read as Excel reads a typed one, as the mark of text;
        // before anything else it is the user's own.
        assert_eq!(crate::source::unescape_formula("'007"), "007");
        assert_eq!(crate::source::unescape_formula("'=x"), "=x");
        assert_eq!(crate::source::unescape_formula("'x"), "'x");
        assert_eq!(crate::source::unescape_formula("'"), "'");
        assert_eq!(crate::source::unescape_formula("'1.5"), "'1.5");
    }

    #[test]
    fn ids_a_spreadsheet_would_make_numbers_are_text_cells_that_read_back() {
        use crate::source::unescape_formula;
        assert_eq!(id_cell("000100"), "=\"000100\"");
        assert_eq!(id_cell("123456789012"), "=\"123456789012\"");
        assert_eq!(
            id_cell("35260112345678000190550010000001231000001234").len(),
            47
        );
        // What Excel keeps as it is: left bare, for the scripts that read the file.
        for id in [
            "100",
            "12345678901",
            "0",
            "1172450000000-01",
            "NF-0001",
            "",
            "0x1",
        ] {
            assert_eq!(id_cell(id), id);
        }
        assert_eq!(id_cell("-007"), "'-007");
        assert_eq!(id_cell(" 000100\t"), "=\"000100\"");
        for id in [
            "000100",
            "123456789012",
            "100",
            "-007",
            "=\"x\"",
            "'0",
            "'x",
        ] {
            assert_eq!(unescape_formula(&id_cell(id)), id, "{id}");
        }
        // As spreadsheets show them: the text inside, also with stray spaces around.
        assert_eq!(unescape_formula("=\"0042\""), "0042");
        assert_eq!(unescape_formula(" =\"0042\" "), "0042");
        assert_eq!(unescape_formula("=\"\""), "");
        // Anything else that starts with `="` is left as written.
        for text in ["=\"a\"&\"b\"", "=\"a", "=\"", " =\"x", "=A1"] {
            assert_eq!(unescape_formula(text), text);
        }
    }

    #[test]
    fn formula_cells_are_escaped() {
        assert_eq!(escape_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(escape_formula("+1"), "'+1");
        assert_eq!(escape_formula("-24.50"), "'-24.50");
        assert_eq!(escape_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(escape_formula("\tx"), "'\tx");
        assert_eq!(escape_formula("12-3"), "12-3");
        assert_eq!(escape_formula(""), "");
    }

    #[test]
    fn paths_beside_the_input() {
        assert_eq!(
            beside("data/inv.csv", "results"),
            PathBuf::from("data/inv.results.csv")
        );
        assert_eq!(
            beside("inv.xlsx", "failed"),
            PathBuf::from("inv.failed.csv")
        );
        assert_eq!(
            beside("inv.failed.csv", "failed"),
            PathBuf::from("inv.failed.failed.csv")
        );
        assert_eq!(
            beside("inv.failed.csv", "results"),
            PathBuf::from("inv.failed.results.csv")
        );
        assert_eq!(beside("-", "results"), PathBuf::from("stdin.results.csv"));
    }

    #[test]
    fn results_file_is_complete_and_in_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut w = ResultsWriter::create(&path, true).unwrap();
        let row = |index: usize, status| ResultRow {
            index,
            order_id: format!("o{index}"),
            invoice_number: format!("=n{index}"),
            status,
            http_status: Some(200),
            receipt: None,
            attempts: 1,
            error: None,
            value_cents: Some(1234),
            source: String::from("f.csv:2"),
            rows: vec![],
        };
        let rows = vec![row(1, Status::Accepted), row(0, Status::Failed)];
        for r in &rows {
            w.append(r).unwrap();
        }
        w.finish(&rows).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let text = text.trim_start_matches('\u{feff}');
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], RESULT_HEADERS.join(","));
        assert!(
            lines[1].starts_with("o0,'=n0,failed,200,,1,,12.34,f.csv:2"),
            "{}",
            lines[1]
        );
        assert!(lines[2].starts_with("o1,'=n1,accepted"), "{}", lines[2]);
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn live_rows_reach_the_file_whole_when_flushed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut w = ResultsWriter::create(&path, false).unwrap();
        let row = ResultRow {
            index: 0,
            order_id: String::from("o1"),
            invoice_number: String::from("007"),
            status: Status::Accepted,
            http_status: Some(200),
            receipt: Some(String::from("r-1")),
            attempts: 4_294_967_295,
            error: Some(String::from("-oops, \"quoted\"")),
            value_cents: Some(-5),
            source: String::from("f.csv:2"),
            rows: vec![],
        };
        w.append(&row).unwrap();
        w.flush_live().unwrap();
        w.flush_live().unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            vec![
                RESULT_HEADERS.join(",").as_str(),
                "o1,\"=\"\"007\"\"\",accepted,200,r-1,4294967295,\"'-oops, \"\"quoted\"\"\",'-0.05,f.csv:2"
            ]
        );
    }

    #[test]
    fn a_semicolon_results_file_has_decimal_commas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let mut w = ResultsWriter::create(&path, false).unwrap();
        w.start(ResultsDelimiter::Semicolon).unwrap();
        let row = ResultRow {
            index: 0,
            order_id: String::from("o;1"),
            invoice_number: String::from("007"),
            status: Status::Failed,
            http_status: None,
            receipt: None,
            attempts: 2,
            error: Some(String::from("timeout, then 500")),
            value_cents: Some(123_456_789),
            source: String::from("f.csv:2-3"),
            rows: vec![],
        };
        w.append(&row).unwrap();
        w.flush_live().unwrap();
        let live = fs::read_to_string(&path).unwrap();
        let expected = vec![
            RESULT_HEADERS.join(";"),
            String::from(
                "\"o;1\";\"=\"\"007\"\"\";failed;;;2;timeout, then 500;1234567,89;f.csv:2-3",
            ),
        ];
        assert_eq!(live.lines().collect::<Vec<_>>(), expected, "live");
        w.finish(&[row]).unwrap();
        let done = fs::read_to_string(&path).unwrap();
        assert_eq!(done.lines().collect::<Vec<_>>(), expected, "rewritten");
    }

    #[test]
    fn the_results_delimiter_follows_the_input() {
        use ResultsDelimiter::{Comma, Semicolon};
        assert_eq!(ResultsDelimiter::for_input(None), Comma);
        assert_eq!(ResultsDelimiter::convention(Some(b';'), false), Semicolon);
        assert_eq!(ResultsDelimiter::convention(Some(b','), true), Semicolon);
        assert_eq!(ResultsDelimiter::convention(None, true), Semicolon);
        assert_eq!(ResultsDelimiter::convention(Some(b','), false), Comma);
        assert_eq!(ResultsDelimiter::convention(Some(b'\t'), false), Comma);
        assert_eq!(ResultsDelimiter::convention(None, false), Comma);
        assert_eq!(ResultsDelimiter::parse(" ; "), Ok(Semicolon));
        assert_eq!(ResultsDelimiter::parse("Semicolon"), Ok(Semicolon));
        assert_eq!(ResultsDelimiter::parse(","), Ok(Comma));
        assert_eq!(ResultsDelimiter::parse("comma"), Ok(Comma));
        assert!(ResultsDelimiter::parse("|").is_err());
        assert_eq!(ResultsDelimiter::Semicolon.money(-5), "-0,05");
        assert_eq!(ResultsDelimiter::Comma.money(100), "1.00");
    }

    #[test]
    fn numbers_format_without_allocating() {
        let mut buf = itoa_buf();
        assert_eq!(fmt_into(&mut buf, 0), "0");
        assert_eq!(fmt_into(&mut buf, 429), "429");
        assert_eq!(fmt_into(&mut buf, u32::MAX), "4294967295");
    }
}
