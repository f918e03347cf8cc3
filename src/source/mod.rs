//! Readers: turn a CSV/TSV/TXT file, stdin, or a workbook sheet into header names and rows of cells.
//!
//! This is the only place spreadsheet floats exist. A number cell leaves the reader as a
//! [`SheetNumber`], whose only ways out are exact conversions (cents with a precision check,
//! a whole number, its shortest text), so a float never travels further down the pipeline.
//!
//! Rows stream: a [`Table`] hands out one borrowed [`Row`] at a time and reuses its buffers,
//! so a million-row CSV is checked without holding its rows.

mod csv;
mod numfmt;
mod sheet;

pub use csv::{BlockText, RecordBlock, RecordFault, record_by_field};

use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

/// Where a row came from: the file as the user named it, and the sheet for workbooks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceRef {
    pub file: Arc<str>,
    pub sheet: Option<Arc<str>>,
}

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sheet {
            Some(sheet) => write!(f, "{} [{}]", self.file, sheet),
            None => write!(f, "{}", self.file),
        }
    }
}

/// Options a user can force; `None` means detect.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub delimiter: Option<u8>,
    pub encoding: Option<&'static encoding_rs::Encoding>,
    pub sheet: Option<String>,
    /// The header's row number (1-based, as a spreadsheet shows it), for a file with a title
    /// above it; the rows above are passed over. `None`: the first row with anything in it.
    pub header_row: Option<u64>,
}

/// A spreadsheet number cell. The float stays private: see the module docs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SheetNumber(pub(crate) f64);

/// One cell as the pipeline sees it, borrowed from the current row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellRef<'a> {
    Empty,
    Text(&'a str),
    Number(SheetNumber),
    /// A cell the workbook marks as a date (date-only cells have time 00:00:00).
    DateTime(NaiveDateTime),
    Bool(bool),
    /// A formula error such as `#N/A` or `#VALUE!`.
    Error(&'a str),
    /// A formula whose value the program that wrote the workbook never calculated: no value
    /// saved, or XlsxWriter's placeholder 0 ([`UNCALCULATED`]).
    Uncalculated,
}

/// What a formula never calculated is told, after what holds it: the text of [`UNCALCULATED`]
/// and [`NEVER_CALCULATED`].
macro_rules! never_calculated {
    () => {
        "holds a formula that was never calculated (the program that wrote the workbook saves \
         formulas without their values): open the workbook in Excel or LibreOffice, save it, and \
         import it again"
    };
}

/// What a cell of [`CellRef::Uncalculated`] is told, whatever the field.
pub const UNCALCULATED: &str = concat!("the cell ", never_calculated!());

/// [`UNCALCULATED`] without its subject, for a header cell ("the header of column 3 …").
pub(crate) const NEVER_CALCULATED: &str = never_calculated!();

/// Why a spreadsheet number is not a whole number of cents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrecisionError {
    #[error(
        "{0} has more than two decimal places; amounts must be whole cents and are never rounded"
    )]
    TooManyDecimals(String),
    #[error("{0} is too large to be an amount")]
    TooLarge(String),
    #[error("the cell holds no finite number ({0})")]
    NotFinite(String),
}

/// Largest magnitude accepted as money (a trillion): there an f64 still resolves well under a
/// hundredth of a cent, so the rounding check can tell float noise from a third decimal.
const MAX_MONEY: f64 = 1e12;

/// Excel's last serial day (9999-12-31) plus one.
const EXCEL_SERIAL_END: f64 = 2_958_466.0;

impl SheetNumber {
    /// Cents of this number, rounding only the float noise of a decimal written with at most two
    /// places (2.5499999999999998 is how Excel stores 2.55), never a real third decimal.
    pub fn cents(self) -> Result<i64, PrecisionError> {
        let x = self.0;
        if !x.is_finite() {
            return Err(PrecisionError::NotFinite(self.to_text()));
        }
        if x.abs() > MAX_MONEY {
            return Err(PrecisionError::TooLarge(self.to_text()));
        }
        let scaled = x * 100.0;
        let rounded = scaled.round();
        // The nearest f64 to c/100, times 100, lands within about one ulp of c, and formula
        // results (0.1+0.2) add a little more. A real third decimal is off by at least 0.1
        // cent, far above this tolerance anywhere below MAX_MONEY.
        let tolerance = (rounded.abs() * 4.0 * f64::EPSILON).max(1e-6);
        if (scaled - rounded).abs() > tolerance {
            return Err(PrecisionError::TooManyDecimals(self.to_text()));
        }
        // In range by the MAX_MONEY check, so the cast is exact.
        Ok(rounded as i64)
    }

    /// The number as an integer, only when it is one exactly (2.0 → 2; 2.5 → None).
    pub fn whole(self) -> Option<i64> {
        let x = self.0;
        // 2^53: beyond it, not every integer is representable, so "exact" means nothing.
        if x.is_finite() && x.fract() == 0.0 && x.abs() <= 9_007_199_254_740_992.0 {
            Some(x as i64)
        } else {
            None
        }
    }

    /// Shortest decimal text that reads back as the same float: never an exponent, no ".0".
    pub fn to_text(self) -> String {
        let x = self.0;
        if x == 0.0 {
            // Also folds -0.0, which a user never typed.
            return "0".to_string();
        }
        // Rust's Display for f64 is the shortest round-trip form and never uses an exponent.
        format!("{x}")
    }

    /// Excel serial date (1900 system) → date-time, rounded to the second. Serial 60 is
    /// Excel's fictional 1900-02-29 and has no date; serials before it are one day off in
    /// Excel's favour, which this corrects.
    pub fn to_datetime(self) -> Option<NaiveDateTime> {
        let x = self.0;
        if !(x.is_finite() && (0.0..EXCEL_SERIAL_END).contains(&x)) {
            return None;
        }
        // In range, so the product fits an i64 comfortably.
        let total = (x * 86_400.0).round() as i64;
        let (days, secs) = (total.div_euclid(86_400), total.rem_euclid(86_400));
        let epoch = match days {
            60 => return None,
            0..60 => NaiveDate::from_ymd_opt(1899, 12, 31)?,
            _ => NaiveDate::from_ymd_opt(1899, 12, 30)?,
        };
        let date = epoch.checked_add_days(chrono::Days::new(u64::try_from(days).ok()?))?;
        let time =
            chrono::NaiveTime::from_num_seconds_from_midnight_opt(u32::try_from(secs).ok()?, 0)?;
        Some(date.and_time(time))
    }
}

/// A reading failure. Every message names the file (and sheet/row where relevant) and stands
/// alone in front of a user.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{file}: can't read it: {message}")]
    Io { file: String, message: String },
    #[error("{file}: not a readable workbook (truncated or corrupt file?): {message}")]
    Workbook { file: String, message: String },
    #[error(
        "{file} is an {kind} workbook, not CSV text; name it .{ext} (a file, not stdin) or export the sheet as CSV"
    )]
    WorkbookNamedAsText {
        file: String,
        kind: &'static str,
        ext: &'static str,
    },
    #[error(
        "{0} holds text, not a workbook (a CSV or a web page under a workbook's name?): name it \
         .csv if it is CSV, or open it in a spreadsheet app and save it as XLSX or CSV"
    )]
    TextNamedAsWorkbook(String),
    #[error(
        "{0} is password-protected (encrypted); open it in your spreadsheet app, remove the \
         password (or save a copy without one) and try again"
    )]
    PasswordProtected(String),
    #[error("{file}: refused to read this workbook: {message}")]
    TooLarge { file: String, message: String },
    #[error(
        "{file} has invoices on several sheets with the same columns ({sheets}); a run reads \
         one sheet, so the others' invoices would be left unsent while the file looks done: \
         submit each with --sheet NAME, or copy them onto one sheet"
    )]
    SheetsAlike { file: String, sheets: String },
    #[error("sheet '{sheet}' not found in {file}; sheets: {sheets}")]
    SheetNotFound {
        file: String,
        sheet: String,
        sheets: String,
    },
    #[error("{file} holds {kind}, not CSV text or a workbook; export the invoices as CSV or XLSX")]
    NotText { file: String, kind: &'static str },
    #[error("no data in {0}: every row is empty")]
    NoData(String),
    #[error("{file} has a header (row {header_row}) but no rows under it")]
    HeaderOnly { file: String, header_row: u64 },
    #[error(
        "{file}: row {row} can't be the header (--header-row, or header_row in the config): {why}"
    )]
    HeaderRow { file: String, row: u64, why: String },
    #[error("{file} row {row}: {message}")]
    Record {
        file: String,
        row: u64,
        message: String,
    },
}

/// What a table reads from; kept so [`Table::reopen`] can start over.
#[derive(Debug, Clone)]
enum Input {
    Path(Arc<Path>),
    /// stdin, read fully: it can't be read twice.
    Bytes(Arc<[u8]>),
}

/// An open input: header names plus a stream of rows.
pub struct Table {
    source: SourceRef,
    headers: Vec<String>,
    header_row: u64,
    /// Rows with something in them above the header (a title), passed over: each row's number
    /// and cells' text.
    above_header: Vec<(u64, Vec<String>)>,
    inner: Inner,
    input: Input,
    opts: ReadOptions,
}

enum Inner {
    Csv(csv::CsvRows),
    Sheet(sheet::SheetRows),
}

/// Opens `path` ("-" = CSV from stdin); the format comes from the extension, and unknown
/// extensions are read as CSV text unless the bytes are a workbook.
pub fn open(path: &str, opts: &ReadOptions) -> Result<Table, SourceError> {
    if path == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes).map_err(|e| {
            SourceError::Io {
                file: "<stdin>".into(),
                message: e.to_string(),
            }
        })?;
        return open_input(Arc::from("<stdin>"), Input::Bytes(bytes.into()), opts);
    }
    open_input(
        Arc::from(path),
        Input::Path(Arc::from(Path::new(path))),
        opts,
    )
}

/// Opens CSV text held in memory, as if read from stdin (for tests and callers with bytes).
pub fn open_bytes(name: &str, bytes: Vec<u8>, opts: &ReadOptions) -> Result<Table, SourceError> {
    open_input(Arc::from(name), Input::Bytes(bytes.into()), opts)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Workbook,
    /// Unknown extension: look at the bytes.
    Sniff,
}

/// Whether a file found in a folder may be an input: a CSV or workbook extension, or none at
/// all (an ERP's `export_20261122`); a PDF or an XML beside it (a DANFE, an NF-e) is not.
pub fn may_be_input(path: &Path) -> bool {
    path.extension().is_none() || format_of(path) != Format::Sniff
}

fn format_of(path: &Path) -> Format {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv" | "tsv" | "txt" | "tab") => Format::Text,
        Some("xlsx" | "xlsm" | "xls" | "xlsb" | "ods" | "xla" | "xlam") => Format::Workbook,
        _ => Format::Sniff,
    }
}

fn open_input(file: Arc<str>, input: Input, opts: &ReadOptions) -> Result<Table, SourceError> {
    open_unchecked(file, input, opts)?.with_rows()
}

fn open_unchecked(file: Arc<str>, input: Input, opts: &ReadOptions) -> Result<Table, SourceError> {
    let format = match &input {
        Input::Bytes(_) => Format::Text,
        Input::Path(p) => format_of(p),
    };
    let (source, headers, header_row, inner) = match (format, &input) {
        (Format::Workbook, Input::Path(p)) => sheet::open(&file, p, opts)?,
        (_, _) => match csv::open(&file, &input, opts, format == Format::Sniff)? {
            csv::Opened::Csv(parts) => *parts,
            csv::Opened::Workbook => match &input {
                Input::Path(p) => sheet::open(&file, p, opts)?,
                // Bytes are always Format::Text, which reports workbooks as errors instead.
                Input::Bytes(_) => return Err(SourceError::NoData(file.to_string())),
            },
        },
    };
    let mut table = Table {
        source,
        headers,
        header_row,
        above_header: Vec::new(),
        inner,
        input,
        opts: opts.clone(),
    };
    if let Some(row) = opts.header_row {
        table.move_header_to(row)?;
    }
    Ok(table)
}

impl Table {
    pub fn source(&self) -> &SourceRef {
        &self.source
    }

    /// Header cell texts, trimmed, in column order.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// 1-based row number of the header as a spreadsheet app shows it.
    pub fn header_row(&self) -> u64 {
        self.header_row
    }

    /// What was detected, for `-v`: "CSV, ';'-separated, windows-1252" or "XLSX sheet 'Plan1'".
    pub fn describe(&self) -> String {
        match &self.inner {
            Inner::Csv(rows) => rows.describe(),
            Inner::Sheet(rows) => rows.describe(),
        }
    }

    /// Why the text may have been read wrong (a CSV that mixes two encodings), if it may.
    pub fn encoding_doubt(&self) -> Option<String> {
        match &self.inner {
            Inner::Csv(rows) => rows.encoding_doubt(),
            Inner::Sheet(_) => None,
        }
    }

    /// A workbook's visible worksheets after the one read, when that one was taken as the first
    /// with data (no `--sheet`): not read. Empty for a CSV.
    pub fn unread_sheets(&self) -> &[String] {
        match &self.inner {
            Inner::Csv(_) => &[],
            Inner::Sheet(rows) => rows.unread(),
        }
    }

    /// A workbook's hidden sheets, passed over because no `--sheet` named one; or the hidden
    /// sheet read, alone, when no visible one has data. Empty for a CSV.
    pub fn hidden_sheets(&self) -> &[String] {
        match &self.inner {
            Inner::Csv(_) => &[],
            Inner::Sheet(rows) => rows.hidden(),
        }
    }

    /// The next row with any content; rows that are entirely empty or whitespace are skipped.
    /// After an `Err` (a malformed CSV record) the caller may keep calling: the next row follows.
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>, SourceError> {
        match &mut self.inner {
            Inner::Csv(rows) => rows.next_row(&self.source.file),
            Inner::Sheet(rows) => Ok(rows.next_row()),
        }
    }

    /// For a CSV table, [`Self::next_row`] into the caller's record, as bytes (for a
    /// [`RecordBlock`] that another thread reads); the row number, or `Ok(None)` at the end.
    /// `None` for a workbook, whose rows are already in memory.
    pub fn next_record(
        &mut self,
        record: &mut ::csv::ByteRecord,
    ) -> Option<Result<Option<u64>, SourceError>> {
        match &mut self.inner {
            Inner::Csv(rows) => Some(rows.next_into(&self.source.file, record)),
            Inner::Sheet(_) => None,
        }
    }

    /// As [`Self::next_record`], appended to `block`.
    pub fn next_record_into(
        &mut self,
        block: &mut RecordBlock,
    ) -> Option<Result<Option<u64>, SourceError>> {
        match &mut self.inner {
            Inner::Csv(rows) => Some(rows.next_into_block(&self.source.file, block)),
            Inner::Sheet(_) => None,
        }
    }

    /// The CSV delimiter, detected or given; `None` for a workbook.
    pub fn delimiter(&self) -> Option<u8> {
        match &self.inner {
            Inner::Csv(rows) => Some(rows.delimiter()),
            Inner::Sheet(_) => None,
        }
    }

    /// Whether [`Self::next_record`] reads this table.
    pub fn is_csv(&self) -> bool {
        matches!(self.inner, Inner::Csv(_))
    }

    /// The same input from the start.
    pub fn reopen(&self) -> Result<Table, SourceError> {
        if let Inner::Sheet(rows) = &self.inner {
            // The parsed sheet is shared: re-reading the workbook would cost as much again.
            return Ok(Table {
                source: self.source.clone(),
                headers: self.headers.clone(),
                header_row: self.header_row,
                above_header: self.above_header.clone(),
                inner: Inner::Sheet(rows.restart()),
                input: self.input.clone(),
                opts: self.opts.clone(),
            });
        }
        open_unchecked(self.source.file.clone(), self.input.clone(), &self.opts)
    }
}

impl Table {
    /// The 0-based sheet column of the headers' first: a workbook table may start in column C;
    /// 0 for a CSV.
    pub fn first_column(&self) -> usize {
        match &self.inner {
            Inner::Csv(_) => 0,
            Inner::Sheet(rows) => rows.first_column(),
        }
    }

    /// Rows with something in them above the header (a title), which were passed over: each
    /// row's number and cells' text (for the failed-rows file, which keeps them so that it reads
    /// as its input did).
    pub fn above_header(&self) -> &[(u64, Vec<String>)] {
        &self.above_header
    }

    /// The encoding a CSV is read with; `None` for a workbook.
    pub fn encoding(&self) -> Option<&'static encoding_rs::Encoding> {
        match &self.inner {
            Inner::Csv(rows) => Some(rows.encoding()),
            Inner::Sheet(_) => None,
        }
    }

    /// A CSV input again from the start, read with `delimiter`.
    pub fn with_delimiter(&self, delimiter: u8) -> Result<Table, SourceError> {
        let mut opts = self.opts.clone();
        opts.delimiter = Some(delimiter);
        open_input(self.source.file.clone(), self.input.clone(), &opts)
    }

    /// The same input from the start, with row `row` as its header (a file with a title above
    /// its header row).
    pub fn with_header_at(&self, row: u64) -> Result<Table, SourceError> {
        let mut table = self.reopen()?;
        table.opts.header_row = Some(row);
        table.move_header_to(row)?;
        table.with_rows()
    }

    /// The table as it is, unless its header has no rows under it: a header with nothing under
    /// it (the wrong sheet, an export cut short) is said here, so it is never a run that quietly
    /// reads nothing. A malformed first record still counts as a row: it is reported where it is.
    fn with_rows(mut self) -> Result<Table, SourceError> {
        if matches!(self.next_row(), Ok(None)) {
            return Err(SourceError::HeaderOnly {
                file: self.source.to_string(),
                header_row: self.header_row,
            });
        }
        self.reopen()
    }

    /// Makes row `row` the header, passing over the rows above it; the next row read is the
    /// one after it.
    fn move_header_to(&mut self, row: u64) -> Result<(), SourceError> {
        if row == self.header_row {
            return Ok(());
        }
        let not_it = |table: &Table, why: String| SourceError::HeaderRow {
            file: table.source.to_string(),
            row,
            why,
        };
        if row < self.header_row {
            let why = format!(
                "there is nothing in it or above it; the first row with anything in it is row {}",
                self.header_row
            );
            return Err(not_it(self, why));
        }
        let mut above = vec![(self.header_row, self.headers.clone())];
        let headers = loop {
            match self.next_row()? {
                Some(r) if r.number() < row => {
                    let cells = (0..r.len()).map(|c| r.text(c).into_owned()).collect();
                    above.push((r.number(), cells));
                }
                Some(r) if r.number() == row => break r.texts(),
                Some(_) => return Err(not_it(self, String::from("there is nothing in it"))),
                None => {
                    let last = above.last().map_or(self.header_row, |(n, _)| *n);
                    let why = format!("the last row with anything in it is row {last}");
                    return Err(not_it(self, why));
                }
            }
        };
        if let Inner::Sheet(rows) = &mut self.inner {
            rows.start_here();
        }
        self.headers = headers;
        self.header_row = row;
        self.above_header = above;
        Ok(())
    }
}

/// One non-empty row, borrowed from its table until the next call to `next_row`.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    number: u64,
    cells: Cells<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Cells<'a> {
    Csv(&'a ::csv::StringRecord),
    /// A record of a [`RecordBlock`]: its text, and each field's range in it.
    Record(&'a str, &'a [csv::FieldSpan]),
    Sheet(sheet::SheetRow<'a>),
}

impl<'a> Row<'a> {
    /// A CSV record read as text ([`csv::record_by_field`]'s), as row `number`.
    pub fn of_text_record(number: u64, record: &'a ::csv::StringRecord) -> Row<'a> {
        Row {
            number,
            cells: Cells::Csv(record),
        }
    }

    /// 1-based row number as a spreadsheet app shows it.
    pub fn number(&self) -> u64 {
        self.number
    }

    pub fn len(&self) -> usize {
        match self.cells {
            Cells::Csv(r) => r.len(),
            Cells::Record(_, spans) => spans.len(),
            Cells::Sheet(r) => r.len(),
        }
    }

    /// Every cell's text, trimmed: the row read as a header.
    pub fn texts(&self) -> Vec<String> {
        (0..self.len())
            .map(|c| self.text(c).trim().to_string())
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// For a CSV row with a filled cell past the header's `width` columns: how many cells it
    /// has, and the filled ones past the header. (A sheet's cells don't move, so one past the
    /// header is just an unnamed column.)
    pub fn filled_beyond(&self, width: usize) -> Option<(usize, Vec<&'a str>)> {
        let cells = self.len();
        if cells <= width {
            return None;
        }
        let cell = |col| match self.cells {
            Cells::Csv(r) => r.get(col),
            Cells::Record(text, spans) => field(text, spans, col),
            Cells::Sheet(_) => None,
        };
        let filled: Vec<&str> = (width..cells)
            .filter_map(cell)
            .filter(|text| !is_blank(text))
            .collect();
        (!filled.is_empty()).then_some((cells, filled))
    }

    /// The cell at `col`; [`CellRef::Empty`] past the end. CSV text is raw (untrimmed).
    ///
    /// Kept out of line: inlined into the parser's nine calls per row, it made that loop bigger
    /// and slower (callgrind, en 100k: 541M -> 512M instructions out of line).
    #[inline(never)]
    pub fn get(&self, col: usize) -> CellRef<'a> {
        match self.cells {
            Cells::Csv(r) => match r.get(col) {
                Some(text) if !is_blank(text) => CellRef::Text(unescape_formula(text)),
                _ => CellRef::Empty,
            },
            Cells::Record(text, spans) => match field(text, spans, col) {
                Some(text) if !is_blank(text) => CellRef::Text(unescape_formula(text)),
                _ => CellRef::Empty,
            },
            Cells::Sheet(r) => match r.get(col).map_or(CellRef::Empty, sheet::cell_ref) {
                CellRef::Text(text) => CellRef::Text(unescape_formula(text)),
                cell => cell,
            },
        }
    }

    /// The cell as the user sees it, for the failed-rows file.
    pub fn text(&self, col: usize) -> Cow<'a, str> {
        match self.cells {
            Cells::Csv(r) => Cow::Borrowed(r.get(col).unwrap_or("")),
            Cells::Record(text, spans) => Cow::Borrowed(field(text, spans, col).unwrap_or("")),
            Cells::Sheet(r) => match r.get(col).map_or(CellRef::Empty, sheet::cell_ref) {
                CellRef::Empty | CellRef::Uncalculated => Cow::Borrowed(""),
                CellRef::Text(t) | CellRef::Error(t) => Cow::Borrowed(t),
                CellRef::Number(n) => Cow::Owned(n.to_text()),
                CellRef::DateTime(dt) => Cow::Owned(datetime_text(dt)),
                CellRef::Bool(true) => Cow::Borrowed("TRUE"),
                CellRef::Bool(false) => Cow::Borrowed("FALSE"),
            },
        }
    }
}

/// A text cell as the tool's own files mean it, and as a spreadsheet shows it:
/// - without the `'` put before a cell that a spreadsheet would run as a formula
///   (`report::results::escape_formula`): a failed-rows file fed back in must read `'+100` as
///   the `+100` that failed, or the invoice sent would be another one;
/// - without the `'` that marks digits as text (`'000100`, Excel's own mark, which some exports
///   write to keep leading zeros): the id is `000100`, and an invoice number sent as `'000100`
///   would be another one; `''…` is the tool's own escape of a cell that starts with `'`;
/// - `="000100"`, the text cell the tool writes for an id a spreadsheet would turn into a number
///   (`report::results::id_cell`) and that many exports use for the same reason, as `000100`.
#[inline]
pub fn unescape_formula(text: &str) -> &str {
    // Nearly every cell starts with something else: one test of its first byte, inlined.
    match text.as_bytes().first() {
        Some(b'\'' | b'=' | b' ' | b'\t') => unescape_marked(text),
        _ => text,
    }
}

/// [`unescape_formula`] of a cell that starts with `'`, `=` or a space or tab.
#[inline(never)]
fn unescape_marked(text: &str) -> &str {
    match text.as_bytes() {
        [b'\'', b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\'', ..] => &text[1..],
        [b'\'', digits @ ..] if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) => {
            &text[1..]
        }
        [b'=', b'"', inner @ .., b'"'] if !inner.contains(&b'"') => &text[2..text.len() - 1],
        [b' ' | b'\t', ..] | [.., b' ' | b'\t'] if text.trim().starts_with("=\"") => {
            let trimmed = text.trim();
            match unescape_marked(trimmed) {
                inner if inner.len() < trimmed.len() => inner,
                _ => text,
            }
        }
        _ => text,
    }
}

/// Whether two paths name the same file: the same once made absolute with links resolved, or,
/// for a file that does not exist yet, the same name in the same (resolved) folder.
pub fn same_file(a: &Path, b: &Path) -> bool {
    fn resolved(p: &Path) -> std::path::PathBuf {
        if let Ok(full) = std::fs::canonicalize(p) {
            return full;
        }
        let parent = match p.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        match (std::fs::canonicalize(parent), p.file_name()) {
            (Ok(dir), Some(name)) => dir.join(name),
            _ => p.to_path_buf(),
        }
    }
    a == b || resolved(a) == resolved(b)
}

/// Field `col` of a record's `text` whose fields are at `spans`.
#[inline]
fn field<'a>(text: &'a str, spans: &[csv::FieldSpan], col: usize) -> Option<&'a str> {
    let &(start, end) = spans.get(col)?;
    text.get(start..end)
}

/// ISO text of a date cell: date only at midnight, else date and time.
pub(crate) fn datetime_text(dt: NaiveDateTime) -> String {
    if dt.num_seconds_from_midnight() == 0 {
        format!("{:04}-{:02}-{:02}", dt.year(), dt.month(), dt.day())
    } else {
        dt.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// Empty or only whitespace (NBSP included): such cells are empty, and rows of them are skipped.
fn is_blank(text: &str) -> bool {
    !crate::values::is_trimmed(text) && text.trim().is_empty()
}

/// A delimiter as messages name it: `tab`, or the character quoted (`';'`).
pub fn delimiter_name(delimiter: u8) -> String {
    match delimiter {
        b'\t' => String::from("tab"),
        d => format!("'{}'", char::from(d)),
    }
}

/// Parses a `--delimiter` value: ",", ";", "tab" or "\t", "|" (or any single ASCII character).
pub fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "TAB" | "\\t" | "\t" => Ok(b'\t'),
        "comma" => Ok(b','),
        "semicolon" => Ok(b';'),
        "pipe" => Ok(b'|'),
        _ => match s.as_bytes() {
            [b] if b.is_ascii() && !b.is_ascii_alphanumeric() && *b != b'"' && *b != b'\n' => {
                Ok(*b)
            }
            _ => Err(format!(
                "'{s}' is not a delimiter; use one character such as ',' ';' '|' or the word 'tab'"
            )),
        },
    }
}

/// Parses an `--encoding` value: "utf-8", "windows-1252", "latin1", "iso-8859-1" or any
/// WHATWG label (which maps Latin-1 to Windows-1252, as browsers and Excel exports do).
/// The delimiters a CSV's is detected among.
pub const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// A `--header-row`: a row number as a spreadsheet shows it, from 1.
pub fn parse_header_row(s: &str) -> Result<u64, String> {
    let row = s
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("'{s}' is not a row number"))?;
    header_row(row)
}

/// A header row number, as `--header-row` or `header_row` in the config gives it.
pub fn header_row(row: u64) -> Result<u64, String> {
    match row {
        0 => Err(String::from(
            "rows are numbered from 1, as a spreadsheet shows them",
        )),
        row => Ok(row),
    }
}

pub fn parse_encoding(s: &str) -> Result<&'static encoding_rs::Encoding, String> {
    let label = s.trim();
    let label = match label.to_ascii_lowercase().as_str() {
        "utf8" => "utf-8".to_string(),
        "cp1252" | "win1252" | "ansi" => "windows-1252".to_string(),
        other => other.to_string(),
    };
    encoding_rs::Encoding::for_label(label.as_bytes()).ok_or_else(|| {
        format!(
            "'{s}' is not a known encoding; use utf-8, windows-1252 (latin1), utf-16le or utf-16be"
        )
    })
}

#[cfg(test)]
// Literals like 2.5499999999999998 are Excel's own <v> text, kept verbatim on purpose.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    #[test]
    fn every_cent_value_survives_the_float_a_spreadsheet_stores() {
        for c in 0..=9_999_999_i64 {
            // IEEE division is correctly rounded, so this is the f64 nearest to c/100: what
            // parsing the decimal text "c/100" gives, and what a spreadsheet stores.
            let x = c as f64 / 100.0;
            assert_eq!(SheetNumber(x).cents(), Ok(c), "{x}");
            assert_eq!(SheetNumber(-x).cents(), Ok(-c), "{x}");
        }
    }

    #[test]
    fn decimal_text_parse_agrees_on_a_sample() {
        for c in (0..=9_999_999_i64).step_by(9_973) {
            let text = format!("{}.{:02}", c / 100, c % 100);
            let x: f64 = text.parse().unwrap();
            assert_eq!(SheetNumber(x).cents(), Ok(c), "{text}");
        }
    }

    #[test]
    fn excel_noise_rounds_but_a_third_decimal_fails() {
        assert_eq!(SheetNumber(2.5499999999999998).cents(), Ok(255));
        assert_eq!(SheetNumber(0.1 + 0.2).cents(), Ok(30));
        assert!(matches!(
            SheetNumber(12.345).cents(),
            Err(PrecisionError::TooManyDecimals(_))
        ));
        assert!(SheetNumber(12.001).cents().is_err());
        assert!(SheetNumber(f64::NAN).cents().is_err());
        assert!(SheetNumber(f64::INFINITY).cents().is_err());
        assert!(SheetNumber(1e13).cents().is_err());
        assert_eq!(SheetNumber(1e11 + 0.01).cents(), Ok(10_000_000_000_001));
        assert!(SheetNumber(1e11 + 0.011).cents().is_err());
    }

    #[test]
    fn whole_and_text() {
        assert_eq!(SheetNumber(2.0).whole(), Some(2));
        assert_eq!(SheetNumber(2.5).whole(), None);
        assert_eq!(SheetNumber(f64::NAN).whole(), None);
        assert_eq!(SheetNumber(1e300).whole(), None);
        assert_eq!(SheetNumber(536365.0).to_text(), "536365");
        assert_eq!(SheetNumber(1.17245e12).to_text(), "1172450000000");
        assert_eq!(SheetNumber(2.5499999999999998).to_text(), "2.55");
        assert_eq!(SheetNumber(-0.0).to_text(), "0");
        assert_eq!(SheetNumber(1e-7).to_text(), "0.0000001");
    }

    #[test]
    fn excel_serials() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            SheetNumber(1.0).to_datetime(),
            Some(d(1900, 1, 1).and_hms_opt(0, 0, 0).unwrap())
        );
        assert_eq!(
            SheetNumber(59.0).to_datetime(),
            Some(d(1900, 2, 28).and_hms_opt(0, 0, 0).unwrap())
        );
        assert_eq!(SheetNumber(60.0).to_datetime(), None);
        assert_eq!(
            SheetNumber(61.0).to_datetime(),
            Some(d(1900, 3, 1).and_hms_opt(0, 0, 0).unwrap())
        );
        assert_eq!(
            SheetNumber(45322.5).to_datetime(),
            Some(d(2024, 1, 31).and_hms_opt(12, 0, 0).unwrap())
        );
        // 18:25:43 is not exact in binary; rounding to the second recovers it.
        let serial = 45322.0 + (18.0 * 3600.0 + 25.0 * 60.0 + 43.0) / 86400.0;
        assert_eq!(
            SheetNumber(serial).to_datetime(),
            Some(d(2024, 1, 31).and_hms_opt(18, 25, 43).unwrap())
        );
        assert_eq!(SheetNumber(-1.0).to_datetime(), None);
        assert_eq!(SheetNumber(3e6).to_datetime(), None);
        assert_eq!(SheetNumber(f64::NAN).to_datetime(), None);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_read_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            if let Ok(mut t) = open_bytes("fuzz.csv", bytes, &ReadOptions::default()) {
                let mut last = t.header_row();
                // Bounded: each call consumes at least one record, errors included.
                for _ in 0..1000 {
                    match t.next_row() {
                        Ok(Some(row)) => {
                            proptest::prop_assert!(row.number() > last);
                            last = row.number();
                            for c in 0..=row.len() {
                                let _ = row.get(c);
                                let _ = row.text(c);
                            }
                        }
                        Ok(None) => break,
                        Err(_) => {}
                    }
                }
            }
        }

        #[test]
        fn delimited_text_round_trips(
            cells in proptest::collection::vec("[a-z0-9 ,;.\"]{1,8}", 1..5),
            sep in proptest::sample::select(vec![b',', b';', b'\t', b'|']),
        ) {
            let mut w = ::csv::WriterBuilder::new().delimiter(sep).from_writer(Vec::new());
            w.write_record(["h"; 5].iter().take(cells.len())).unwrap();
            w.write_record(&cells).unwrap();
            let bytes = w.into_inner().unwrap();
            let opts = ReadOptions { delimiter: Some(sep), ..ReadOptions::default() };
            let opened = open_bytes("rt.csv", bytes, &opts);
            if cells.iter().all(|c| c.trim().is_empty()) {
                // A blank row is skipped, which leaves the header alone: a file-level error.
                let header_only = matches!(opened, Err(SourceError::HeaderOnly { .. }));
                proptest::prop_assert!(header_only);
            } else {
                let mut t = opened.unwrap();
                let row = t.next_row().unwrap().unwrap();
                let got: Vec<String> = (0..row.len()).map(|c| row.text(c).into_owned()).collect();
                proptest::prop_assert_eq!(got, cells);
            }
        }
    }

    #[test]
    fn tables_can_move_to_another_thread() {
        fn send<T: Send>() {}
        send::<Table>();
        send::<SourceError>();
    }

    #[test]
    fn delimiter_and_encoding_flags() {
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
        assert_eq!(parse_delimiter("\\t"), Ok(b'\t'));
        assert_eq!(parse_delimiter("|"), Ok(b'|'));
        assert!(parse_delimiter("ab").is_err());
        assert!(parse_delimiter("a").is_err());
        assert_eq!(parse_encoding("latin1"), Ok(encoding_rs::WINDOWS_1252));
        assert_eq!(parse_encoding("ISO-8859-1"), Ok(encoding_rs::WINDOWS_1252));
        assert_eq!(parse_encoding("utf8"), Ok(encoding_rs::UTF_8));
        assert!(parse_encoding("klingon").is_err());
    }
}
