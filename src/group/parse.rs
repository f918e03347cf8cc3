//! One row's mapped cells → typed readings, written into a batch that the grouping thread takes.
//!
//! This is the per-cell work of grouping (trimming, id rules, money and date readings, the
//! column votes), done on parsing threads (a workbook's, on the reading thread) while earlier
//! batches are grouped. A batch owns its text in one buffer, so a row costs no allocation of
//! its own.

use std::borrow::Cow;
use std::fmt;

use chrono_tz::Tz;

use super::store::ItemText;
use super::{LoadOptions, Problem};
use crate::mapping::{self, Field, Mapping, Override};
use crate::source::{self, CellRef, RecordFault, Row};
use crate::values::date::{self, DateFormat, DateReading, DayOrderVote};
use crate::values::id::{self, InvoiceType};
use crate::values::money::{self, MoneyReading, SeparatorVote};

/// Rows per batch: big enough that handing a batch over costs nothing per row, small enough
/// that the threads overlap from the start. (1M-row files, medians of 11 interleaved runs:
/// 4096 took the English file 0.77 -> 0.70 s against 1024, the Brazilian one the same, for
/// 7 MB more at the peak.)
pub(super) const BATCH_ROWS: usize = 4096;

/// Invoice-level free-text fields, in the order [`ParsedRow::texts`] holds them.
pub(super) const TEXT_FIELDS: [Field; 5] = [
    Field::InvoiceKey,
    Field::InvoiceUrl,
    Field::Courier,
    Field::TrackingNumber,
    Field::TrackingUrl,
];

/// A piece of a text buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Span {
    pub start: u32,
    pub len: u32,
}

/// Text at `span` in `buf`; empty if the span is out of range (never, for spans of that buffer).
pub(super) fn text(buf: &str, span: Span) -> &str {
    let start = span.start as usize;
    buf.get(start..start + span.len as usize)
        .unwrap_or_default()
}

/// The item cells of a row, when any is filled.
#[derive(Debug, Clone, Copy)]
pub(super) struct ParsedItem {
    pub id: Option<Span>,
    pub description: Option<Span>,
    pub quantity: Option<i64>,
    pub price: Option<MoneyReading>,
}

/// One row, read. Its problems are the next `problems` entries of [`RowBatch::problems`].
#[derive(Debug, Clone)]
pub(super) struct ParsedRow {
    pub number: u64,
    /// (order id, invoice number); `None` when either is missing or unreadable, and the row's
    /// problems then belong to no invoice.
    pub key: Option<(Span, Span)>,
    pub kind: Option<InvoiceType>,
    pub issuance: Option<DateReading>,
    pub value: Option<MoneyReading>,
    pub freight: Option<MoneyReading>,
    pub texts: [Option<Span>; TEXT_FIELDS.len()],
    pub dispatched: Option<DateReading>,
    pub item: Option<ParsedItem>,
    pub problems: u32,
}

/// Whether a row without a key goes on with the invoice above it ([`RowBatch::continued`]).
/// Kept beside the rows, not in each: every row would carry it for the few that need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Continues {
    #[default]
    No,
    /// Both key cells blank.
    Blank,
    /// The invoice number blank, the order id this: it goes on with an invoice of this order.
    Order(Span),
    /// The order id blank, the invoice number this: with an invoice of this number.
    Number(Span),
}

impl ParsedRow {
    /// Row `number` with its key and nothing else read yet.
    fn bare(number: u64, key: Option<(Span, Span)>) -> ParsedRow {
        ParsedRow {
            number,
            key,
            kind: None,
            issuance: None,
            value: None,
            freight: None,
            texts: [None; TEXT_FIELDS.len()],
            dispatched: None,
            item: None,
            problems: 0,
        }
    }
}

/// Rows read and not yet grouped.
#[derive(Debug, Default)]
pub(super) struct RowBatch {
    pub text: String,
    pub rows: Vec<ParsedRow>,
    pub problems: Vec<Problem>,
    /// The conventions these rows vote for; the grouper adds up every batch's.
    pub votes: Votes,
    /// Rows that repeat the header (files joined end to end): passed over, and named.
    pub repeated_headers: Vec<u64>,
    /// Totals rows (no key, a cell that says "Total"): passed over, and named.
    pub totals_rows: Vec<u64>,
    /// Rows that are a header again with the columns in another order (exports of two layouts
    /// joined), and how the columns moved: the rows below can't be read with the file's
    /// header, and the file is refused.
    pub layout_changes: Vec<(u64, String)>,
    /// The rows (by index in `rows`, in order) without a key, their order id or invoice number
    /// cell blank, and an item in them: rows that may go on with the invoice above (cells
    /// merged down, ids only on an invoice's first row), which it must not be sent without.
    pub continued: Vec<(usize, Continues)>,
    /// The rows (by index in `rows`, in order) that look like an ERP's footer, a line of words
    /// alone ([`RowParser::is_footer_line`]): passed over if no row with a key comes after them
    /// in the file, else reported as rows of no invoice (`FileStore::add_rows`).
    pub footers: Vec<usize>,
    /// The rows (by index in `rows`, in order) of a CSV with a key that may be short of cells
    /// ([`RowParser::settle_widths`]), and the cells they have. A fault or not by the file's
    /// [`RowWidths`], known at its end.
    pub short_rows: Vec<(usize, u32)>,
    /// The rows (by index in `rows`, in order) with an amount in an adjustment column, and the
    /// problem their invoice has if its value is computed.
    pub adjusted: Vec<(usize, Problem)>,
    /// The last text read in the columns that repeat on every row of an invoice, and its
    /// reading: rows of one invoice mostly come together, and a date is costly to read.
    recent: Recent,
}

#[derive(Debug, Default)]
struct Recent {
    /// The last key's cell texts and where the batch keeps it: the rows of one invoice
    /// mostly come together. Cleared with the batch's text.
    key: LastKey,
    issuance: TextCache<DateReading>,
    value: LastText<MoneyReading>,
    freight: LastText<MoneyReading>,
}

/// A cell text and what it read as.
#[derive(Debug)]
struct LastText<T> {
    text: String,
    value: Option<T>,
}

impl<T> Default for LastText<T> {
    fn default() -> Self {
        LastText {
            text: String::new(),
            value: None,
        }
    }
}

#[derive(Debug, Default)]
struct LastKey {
    order: String,
    number: String,
    spans: Option<(Span, Span)>,
}

impl LastKey {
    fn get(&self, order: &str, number: &str) -> Option<(Span, Span)> {
        self.spans
            .filter(|_| self.number == number && self.order == order)
    }

    fn put(&mut self, order: &str, number: &str, spans: (Span, Span)) {
        self.order.clear();
        self.order.push_str(order);
        self.number.clear();
        self.number.push_str(number);
        self.spans = Some(spans);
    }
}

/// Texts read before and what they read as.
trait Remember<T> {
    fn get(&self, text: &str) -> Option<T>;
    fn put(&mut self, text: &str, value: T);
}

impl<T: Copy> Remember<T> for LastText<T> {
    fn get(&self, text: &str) -> Option<T> {
        self.value.filter(|_| self.text == text)
    }

    fn put(&mut self, text: &str, value: T) {
        self.text.clear();
        self.text.push_str(text);
        self.value = Some(value);
    }
}

/// Slots of [`TextCache`]: a power of two. A day's file has a few hundred distinct issuance
/// times; with 512 slots a quarter of the shuffled 1M-row benchmark's 337 collided and were
/// read again and again (callgrind, br 100k: 742M -> 719M instructions at 4096, for 0.4 MB
/// more at the peak).
const CACHE_SLOTS: usize = 4096;

/// Recent texts of a column and their readings, in slots chosen by a hash of the text: a
/// file's issuance dates are a few hundred texts repeated in any order (a shuffled file's rows
/// of one invoice are far apart), and a date costs far more to read than to hash.
#[derive(Debug)]
struct TextCache<T> {
    hasher: hashbrown::DefaultHashBuilder,
    /// Empty until the first `put`.
    slots: Vec<LastText<T>>,
}

impl<T> Default for TextCache<T> {
    fn default() -> Self {
        TextCache {
            hasher: hashbrown::DefaultHashBuilder::default(),
            slots: Vec::new(),
        }
    }
}

impl<T: Copy> TextCache<T> {
    fn slot(&self, text: &str) -> usize {
        use std::hash::BuildHasher;
        self.hasher.hash_one(text) as usize & (CACHE_SLOTS - 1)
    }
}

impl<T: Copy> Remember<T> for TextCache<T> {
    fn get(&self, text: &str) -> Option<T> {
        self.slots.get(self.slot(text)).and_then(|s| s.get(text))
    }

    fn put(&mut self, text: &str, value: T) {
        if self.slots.is_empty() {
            self.slots.resize_with(CACHE_SLOTS, LastText::default);
        }
        let slot = self.slot(text);
        if let Some(s) = self.slots.get_mut(slot) {
            s.put(text, value);
        }
    }
}

impl RowBatch {
    pub fn clear(&mut self) {
        self.text.clear();
        // Its spans were in the text.
        self.recent.key.spans = None;
        self.rows.clear();
        self.problems.clear();
        self.votes = Votes::default();
        self.repeated_headers.clear();
        self.totals_rows.clear();
        self.layout_changes.clear();
        self.continued.clear();
        self.footers.clear();
        self.short_rows.clear();
        self.adjusted.clear();
    }

    pub fn is_full(&self) -> bool {
        self.rows.len() >= BATCH_ROWS
    }

    pub fn str(&self, span: Span) -> &str {
        text(&self.text, span)
    }

    fn push_text(&mut self, s: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(s);
        // A batch holds at most BATCH_ROWS rows; a single cell of 4 GiB can't come out of a
        // reader with the size limits this tool sets, so the offsets fit.
        Span {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            len: u32::try_from(s.len()).unwrap_or(0),
        }
    }
}

/// Per-column votes on conventions, settled when the file ends.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Votes {
    pub invoice_value: SeparatorVote,
    pub item_price: SeparatorVote,
    pub freight: SeparatorVote,
    pub issuance_date: DayOrderVote,
    pub dispatched_date: DayOrderVote,
    pub widths: RowWidths,
}

/// Widths past this are counted as this one: no invoice file has so many columns.
const WIDEST_COUNTED: usize = 63;

/// A CSV's rows with a key, counted by their number of cells: settles which rows are short
/// ([`RowWidths::full_width`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RowWidths {
    counts: [u64; WIDEST_COUNTED + 1],
}

impl Default for RowWidths {
    fn default() -> Self {
        RowWidths {
            counts: [0; WIDEST_COUNTED + 1],
        }
    }
}

impl RowWidths {
    fn count(&mut self, cells: usize) {
        if let Some(n) = self.counts.get_mut(cells.min(WIDEST_COUNTED)) {
            *n += 1;
        }
    }

    fn uncount(&mut self, cells: usize) {
        if let Some(n) = self.counts.get_mut(cells.min(WIDEST_COUNTED)) {
            *n = n.saturating_sub(1);
        }
    }

    fn merge(&mut self, other: &RowWidths) {
        for (n, m) in self.counts.iter_mut().zip(other.counts) {
            *n += m;
        }
    }

    /// The number of cells most rows have (the more, of two as common).
    fn usual(&self) -> usize {
        let mut usual = 0;
        for (width, &n) in self.counts.iter().enumerate() {
            if n > 0 && n >= self.counts.get(usual).copied().unwrap_or(0) {
                usual = width;
            }
        }
        usual
    }

    /// The width a row short of is a fault, when the file's rows settle one: a file whose rows
    /// mostly (or half) have as many cells as its usual row was written by a program that
    /// writes them all, and a row with fewer has lost one, maybe in the middle, the cells after
    /// it moved over into the wrong columns (found by a review: a row one cell short had its
    /// invoice value read as its freight). A file most of whose rows are short of its usual
    /// width was written by a program that leaves a row's empty cells at its end out.
    pub fn full_width(&self) -> Option<u32> {
        let usual = self.usual();
        let (short, full) = self.counts.split_at(usual);
        let (short, full) = (short.iter().sum::<u64>(), full.iter().sum::<u64>());
        (short > 0 && short <= full).then(|| u32::try_from(usual).unwrap_or(u32::MAX))
    }
}

impl Votes {
    pub fn merge(&mut self, other: Votes) {
        self.invoice_value.merge(other.invoice_value);
        self.item_price.merge(other.item_price);
        self.freight.merge(other.freight);
        self.issuance_date.merge(other.issuance_date);
        self.dispatched_date.merge(other.dispatched_date);
        self.widths.merge(&other.widths);
    }
}

/// Whether `text` is an amount other than zero, as an adjustment column writes one
/// (`7,50`, `R$ 7,50`, `-7.50`, `(7,50)`): words (a discount's name, "Black Friday 2026"),
/// dates and zeros (`0,00`, `R$ -`) are not.
fn is_nonzero_amount(text: &str) -> bool {
    let t = text.trim();
    let t = ["R$", "US$", "$", "BRL", "USD", "€"]
        .iter()
        .find_map(|c| t.strip_prefix(c))
        .unwrap_or(t);
    t.bytes()
        .all(|b| b.is_ascii_digit() || b" .,-+()".contains(&b))
        && t.bytes().any(|b| (b'1'..=b'9').contains(&b))
}

/// A cell's text as a message quotes it: trimmed, its first 40 characters, control
/// characters escaped.
fn shown_cell(text: &str) -> String {
    let text = text.trim();
    let mut shown: String = text
        .chars()
        .take(40)
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    if text.chars().nth(40).is_some() {
        shown.push('…');
    }
    shown
}

/// What [`RowParser::header_again`] found.
#[derive(Debug, PartialEq, Eq)]
enum HeaderAgain {
    No,
    /// The header again, its columns where they were.
    Same,
    /// A header with its columns moved, as said.
    Moved(String),
}

/// Reads the mapped cells of one file's rows; shared by the threads that parse.
pub(super) struct RowParser<'a> {
    source: u32,
    mapping: &'a Mapping,
    tz: Tz,
    date_format: Option<&'a DateFormat>,
    item_text: ItemText,
    /// The headers of the order id and invoice number columns: a row with both as its key
    /// repeats the header row.
    header_key: Option<(&'a str, &'a str)>,
    headers: &'a [String],
    /// The `--map` overrides, to map a row that is a header again as the header was.
    overrides: &'a [Override],
    /// A CSV's delimiter, to name it when a cell holding one has split a row.
    delimiter: Option<u8>,
    /// A failed-rows file's `error` column, whose note may hold a row back
    /// ([`super::OUT_OF_PLACE_NOTE`]).
    error_column: Option<usize>,
    /// The title rows above the header (their cells), each of which may come again where
    /// exports were joined end to end; only those with an order id or invoice number cell.
    titles: Vec<Vec<String>>,
}

impl<'a> RowParser<'a> {
    pub fn new(
        source: u32,
        (headers, mapping): (&'a [String], &'a Mapping),
        opts: &'a LoadOptions,
        item_text: ItemText,
    ) -> Self {
        let header = |field| Some(headers.get(mapping.column(field)?)?.trim());
        RowParser {
            source,
            mapping,
            tz: opts.timezone,
            date_format: opts.date_format.as_ref(),
            item_text,
            header_key: header(Field::OrderId).zip(header(Field::InvoiceNumber)),
            headers,
            overrides: &opts.overrides,
            delimiter: None,
            error_column: headers
                .last()
                .filter(|h| h.trim().eq_ignore_ascii_case("error"))
                .map(|_| headers.len() - 1),
            titles: Vec::new(),
        }
    }

    /// The parser of a CSV read with `delimiter`.
    pub fn csv(self, delimiter: Option<u8>) -> Self {
        RowParser { delimiter, ..self }
    }

    /// The parser of a table with these rows above its header (a title).
    pub fn titles(self, above: &[(u64, Vec<String>)]) -> Self {
        let has_key = |cells: &[String], field| {
            self.mapping
                .column(field)
                .and_then(|col| cells.get(col))
                .is_some_and(|c| !c.trim().is_empty())
        };
        let titles = above
            .iter()
            .filter(|(_, cells)| {
                has_key(cells, Field::OrderId) || has_key(cells, Field::InvoiceNumber)
            })
            .map(|(_, cells)| cells.iter().map(|c| c.trim().to_string()).collect())
            .collect();
        RowParser { titles, ..self }
    }

    /// Whether `row` is one of the title rows above the header again, cell for cell.
    fn repeats_title(&self, row: &Row<'_>) -> bool {
        self.titles.iter().any(|title| {
            let width = title.len().max(row.len());
            (0..width).all(|c| row.text(c).trim() == title.get(c).map_or("", String::as_str))
        })
    }

    /// A column as a message names it: its header, else its position.
    fn column_name(&self, column: usize) -> String {
        match self.headers.get(column).map(|h| h.trim()) {
            Some(header) if !header.is_empty() => format!("column '{header}'"),
            _ => format!("column {}", column + 1),
        }
    }

    /// A problem of row `n` as a whole, not of one field.
    fn row_problem(&self, n: u64, message: String) -> Problem {
        Problem {
            source: self.source,
            row: Some(n),
            field: None,
            message,
        }
    }

    /// Adds `problems` to the row [`Self::parse`] pushed when the batch had `rows` rows; when
    /// it pushed none (a repeated header), they are a row of their own that joins no invoice.
    fn add_to_parsed(&self, rows: usize, n: u64, problems: Vec<Problem>, batch: &mut RowBatch) {
        let count = u32::try_from(problems.len()).unwrap_or(u32::MAX);
        batch.problems.extend(problems);
        let pushed = batch.rows.len() > rows;
        match batch.rows.last_mut() {
            Some(parsed) if pushed => {
                parsed.problems = parsed.problems.saturating_add(count);
            }
            _ => batch.rows.push(ParsedRow {
                problems: count,
                ..ParsedRow::bare(n, None)
            }),
        }
    }

    /// Reads `row`, whose quotes went wrong (lines after a quote were read into one cell, so
    /// the row is wrong and the rows in that cell are lost), or which ends the file short.
    pub fn parse_record_fault(&self, row: &Row<'_>, fault: RecordFault, batch: &mut RowBatch) {
        let whole = match fault {
            // A long quoted text over lines (a kit's list, an address), not rows.
            RecordFault::Swallowed(column) => !self.holds_rows(&row.text(column)),
            // Many files have no line end after their last row; a short one lost its end.
            RecordFault::Unended => row.len() >= self.headers.len(),
            RecordFault::Unclosed(_) | RecordFault::Runaway(_) => false,
        };
        if whole {
            return self.parse(row, batch);
        }
        let rows = batch.rows.len();
        self.parse(row, batch);
        // A row passed over (`-`, the start of a totals line) whose record is at fault is a row
        // of no invoice with that fault, not passed over too: found by the fuzzer, it was
        // both, and counted out of the file's rows while named among its problems.
        let n = row.number();
        // A row cut off by the file's end is said to be so, not also short.
        if fault == RecordFault::Unended && batch.short_rows.last().is_some_and(|s| s.0 == rows) {
            batch.short_rows.pop();
            batch.votes.widths.uncount(row.len());
        }
        if batch.rows.len() == rows {
            if batch.totals_rows.last() == Some(&n) {
                batch.totals_rows.pop();
            }
            if batch.repeated_headers.last() == Some(&n) {
                batch.repeated_headers.pop();
            }
        }
        let message = match fault {
            RecordFault::Unended => format!(
                "the file ends in this row, after {} of the header's {} cells and with no line \
                 end: it looks cut off (copied or saved before it was whole), and this row's last \
                 cell may be cut short too; check that the file is complete",
                row.len(),
                self.headers.len()
            ),
            RecordFault::Unclosed(column) => format!(
                "a quote (\") opens in {} and is never closed, so every line after it, to the \
                 end of the file, was read into that one cell; close the quote or remove it, and \
                 check the rows after this one",
                self.column_name(column)
            ),
            RecordFault::Runaway(column) => format!(
                "a quote (\") opens in {} and closes only lines later, with more text after \
                 it, so the lines between were read into that one cell; a quote that is part of \
                 the text must be doubled (\"\"), and one opened by mistake removed; check the \
                 rows after this one",
                self.column_name(column)
            ),
            RecordFault::Swallowed(column) => format!(
                "a quote (\") opens in {} and closes only lines later, and the text between \
                 holds as many separators as a whole row: rows were read into that one cell \
                 between two stray quotes; remove them (a quote that is part of the text must \
                 be doubled, \"\"), and check the rows after this one",
                self.column_name(column)
            ),
        };
        let problem = self.row_problem(row.number(), message);
        self.add_to_parsed(rows, row.number(), vec![problem], batch);
    }

    /// Whether the text of a cell over several lines holds a line that reads as a row of this
    /// table: split at the delimiter, an order id and an invoice number where the table has
    /// them (no spaces inside), and a date where it has its issuance date.
    fn holds_rows(&self, text: &str) -> bool {
        let (Some(delimiter), Some(order), Some(number)) = (
            self.delimiter.map(char::from),
            self.mapping.column(Field::OrderId),
            self.mapping.column(Field::InvoiceNumber),
        ) else {
            return false;
        };
        let date = self.mapping.column(Field::IssuanceDate);
        let id = |cell: Option<&str>| {
            cell.map(str::trim)
                .is_some_and(|c| !c.is_empty() && !c.contains(char::is_whitespace))
        };
        text.lines().skip(1).any(|line| {
            let cells: Vec<&str> = line.split(delimiter).collect();
            id(cells.get(order).copied())
                && id(cells.get(number).copied())
                && date.is_none_or(|d| {
                    cells.get(d).is_some_and(|c| {
                        date::read_date(c.trim(), self.tz, self.date_format).is_ok()
                    })
                })
        })
    }

    /// Whether a row whose key cells read `order` and `number` is the header row again.
    fn repeats_header(&self, (order, number): (&str, &str)) -> bool {
        self.header_key
            .as_ref()
            .is_some_and(|&(o, n)| order.trim() == o && number.trim() == n)
    }

    /// Whether `row`, whose order id and invoice number cells read `key`, is a header row
    /// again: those two cells the file's own headers, or both named like a field (ids have
    /// digits; headers seldom do, and only then are names looked up). A header in another
    /// layout says how its columns moved.
    fn header_again(&self, row: &Row<'_>, key: (&str, &str)) -> HeaderAgain {
        let own = self.repeats_header(key);
        if !own {
            let named = |cell: &str| {
                !cell.bytes().any(|b| b.is_ascii_digit()) && mapping::is_field_name(cell)
            };
            if !(named(key.0) && named(key.1)) {
                return HeaderAgain::No;
            }
        }
        let width = row.len().max(self.headers.len());
        let cells: Vec<String> = (0..width).map(|c| row.text(c).trim().to_string()).collect();
        let same_text = cells
            .iter()
            .zip(
                self.headers
                    .iter()
                    .map(|h| h.trim())
                    .chain(std::iter::repeat("")),
            )
            .all(|(a, b)| a == b);
        if same_text {
            return HeaderAgain::Same;
        }
        let columns = mapping::map_headers(&cells, self.overrides, &[]);
        let moved: Vec<String> = Field::ALL
            .iter()
            .filter_map(|&field| {
                let here = self.mapping.column(field)?;
                let there = columns.as_ref().ok().and_then(|m| m.column(field));
                let name = match self.headers.get(here).map(|h| h.trim()) {
                    Some(h) if !h.is_empty() => format!("'{h}'"),
                    _ => field.name().to_string(),
                };
                (Some(here) != there).then(|| match there {
                    Some(c) => format!("{name} is column {} there, {} above", c + 1, here + 1),
                    None => format!("no {name} column there"),
                })
            })
            .collect();
        if moved.is_empty() {
            HeaderAgain::Same
        } else {
            HeaderAgain::Moved(moved.join("; "))
        }
    }

    /// Where an item's id or description goes: into the batch, or, loading for verdicts only,
    /// nowhere (an empty span says it is there).
    fn item_text(&self, batch: &mut RowBatch, text: &str) -> Span {
        match self.item_text {
            ItemText::Full => batch.push_text(text),
            ItemText::Presence => Span::default(),
        }
    }

    fn problem(&self, row: u64, field: Field, message: impl fmt::Display) -> Problem {
        Problem {
            source: self.source,
            row: Some(row),
            field: Some(field),
            message: message.to_string(),
        }
    }

    /// The cell a field comes from; `None` when the field has no column.
    fn cell<'r>(&self, row: &Row<'r>, field: Field) -> Option<CellRef<'r>> {
        self.mapping.column(field).map(|col| row.get(col))
    }

    /// Reads one field with `parse`, turning an error into a problem of the batch.
    fn read<'r, T, E: fmt::Display>(
        &self,
        row: &Row<'r>,
        field: Field,
        batch: &mut RowBatch,
        parse: impl FnOnce(CellRef<'r>) -> Result<Option<T>, E>,
    ) -> Option<T> {
        let cell = self.cell(row, field)?;
        self.read_cell(row.number(), field, cell, batch, parse)
    }

    /// [`Self::read`] for a cell already fetched from row `n`.
    fn read_cell<'r, T, E: fmt::Display>(
        &self,
        n: u64,
        field: Field,
        cell: CellRef<'r>,
        batch: &mut RowBatch,
        parse: impl FnOnce(CellRef<'r>) -> Result<Option<T>, E>,
    ) -> Option<T> {
        match parse(cell) {
            Ok(v) => v,
            Err(e) => {
                batch.problems.push(self.problem(n, field, e));
                None
            }
        }
    }

    /// As [`Self::read`], for a column whose text often repeats: the same text as last time
    /// reads the same.
    fn read_repeated<'r, T: Copy, E: fmt::Display>(
        &self,
        row: &Row<'r>,
        field: Field,
        batch: &mut RowBatch,
        recent: fn(&mut Recent) -> &mut dyn Remember<T>,
        parse: impl FnOnce(CellRef<'r>) -> Result<Option<T>, E>,
    ) -> Option<T> {
        let cell = self.cell(row, field)?;
        let CellRef::Text(text) = cell else {
            return self.read_cell(row.number(), field, cell, batch, parse);
        };
        if let Some(value) = recent(&mut batch.recent).get(text) {
            return Some(value);
        }
        let value = self.read_cell(row.number(), field, cell, batch, parse)?;
        recent(&mut batch.recent).put(text, value);
        Some(value)
    }

    /// Reads a text field into the batch's buffer.
    fn read_text<'r, E: fmt::Display>(
        &self,
        row: &Row<'r>,
        field: Field,
        batch: &mut RowBatch,
        parse: impl FnOnce(CellRef<'r>) -> Result<Option<Cow<'r, str>>, E>,
    ) -> Option<Span> {
        let text = self.read(row, field, batch, parse)?;
        Some(batch.push_text(&text))
    }

    /// A key field: like [`Self::read_text`], and a problem when it is blank.
    fn read_key<'r>(
        &self,
        row: &Row<'r>,
        field: Field,
        what: &str,
        batch: &mut RowBatch,
        parse: fn(CellRef<'r>) -> Result<Option<Cow<'r, str>>, id::IdError>,
    ) -> Option<Span> {
        let before = batch.problems.len();
        let span = self.read_text(row, field, batch, parse);
        if span.is_none() && batch.problems.len() == before {
            batch
                .problems
                .push(self.problem(row.number(), field, format!("the {what} is empty")));
        }
        span
    }

    /// Reads `row`, whose cells `bad` (column, what is wrong) could not be read as text and
    /// are blank in it. A bad cell in a column no field reads costs nothing. One a field reads
    /// is a problem of the row, so its invoice is invalid as a whole rather than sent without
    /// the row; in the order id or invoice number, the row belongs to no invoice.
    pub fn parse_with_bad_cells(
        &self,
        row: &Row<'_>,
        bad: &[(usize, String)],
        batch: &mut RowBatch,
    ) {
        let n = row.number();
        let bad: Vec<(Field, &String)> = bad
            .iter()
            .flat_map(|(col, message)| {
                self.mapping
                    .fields()
                    .filter(move |&(_, c)| c == *col)
                    .map(move |(field, _)| (field, message))
            })
            .collect();
        let is_key = |f: Field| matches!(f, Field::OrderId | Field::InvoiceNumber);
        let before = batch.problems.len();
        let rows = batch.rows.len();
        if bad.iter().any(|&(f, _)| is_key(f)) {
            for &(field, message) in bad.iter().filter(|&&(f, _)| is_key(f)) {
                batch.problems.push(self.problem(n, field, message));
            }
            batch.rows.push(ParsedRow {
                problems: u32::try_from(batch.problems.len() - before).unwrap_or(u32::MAX),
                ..ParsedRow::bare(n, None)
            });
            return;
        }
        self.parse(row, batch);
        let problems = bad
            .iter()
            .map(|&(field, message)| self.problem(n, field, message))
            .collect();
        self.add_to_parsed(rows, n, problems, batch);
    }

    /// A record the reader could not read: a problem of no invoice, kept in its place among the
    /// rows.
    pub fn unreadable(&self, message: String, batch: &mut RowBatch) {
        batch.problems.push(Problem {
            source: self.source,
            row: None,
            field: None,
            message,
        });
        batch.rows.push(ParsedRow {
            problems: 1,
            ..ParsedRow::bare(0, None)
        });
    }

    /// Ends a batch of CSV rows: of the rows that may be short, keeps those with fewer cells
    /// than the header or than the batch's usual row, whichever has more (a file whose every
    /// line ends in a delimiter has one more cell than its header); the file's usual row, known
    /// at its end, settles which are.
    pub fn settle_widths(&self, batch: &mut RowBatch) {
        let most = self.headers.len().max(batch.votes.widths.usual());
        batch
            .short_rows
            .retain(|&(_, cells)| (cells as usize) < most);
    }

    /// Reads `row` into `batch`.
    pub fn parse(&self, row: &Row<'_>, batch: &mut RowBatch) {
        let n = row.number();
        let before = batch.problems.len();
        let texts = match (
            self.cell(row, Field::OrderId),
            self.cell(row, Field::InvoiceNumber),
        ) {
            (Some(CellRef::Text(order)), Some(CellRef::Text(number))) => Some((order, number)),
            _ => None,
        };
        let recent = texts.and_then(|(order, number)| batch.recent.key.get(order, number));
        let mut continues = Continues::No;
        let key = match recent {
            // The same cells as the last row's read the same.
            Some(key) => Some(key),
            None if let Some(key) = texts
                && let again = self.header_again(row, key)
                && again != HeaderAgain::No =>
            {
                match again {
                    HeaderAgain::Moved(how) => batch.layout_changes.push((n, how)),
                    _ => batch.repeated_headers.push(n),
                }
                return;
            }
            None if !self.titles.is_empty() && self.repeats_title(row) => {
                batch.repeated_headers.push(n);
                return;
            }
            None => {
                let order = self.read_key(row, Field::OrderId, "order id", batch, id::id_from_cell);
                let number = self.read_key(
                    row,
                    Field::InvoiceNumber,
                    "invoice number",
                    batch,
                    id::invoice_number_from_cell,
                );
                let key = order.zip(number);
                // Only a row without a key, or one whose order id is a totals label with a
                // count or a sum in the invoice number's column (`TOTAL;2;;;;5;;50,00`: no
                // order is called Total, and every order id has a digit, unlike the label; an
                // id such as `SUM-123` stays an order's), is looked at again: the common row
                // costs a scan of its order id for a digit.
                let labelled = key.is_some()
                    && texts.is_some_and(|(order, _)| {
                        !order.bytes().any(|b| b.is_ascii_digit()) && is_totals_label(order)
                    });
                if (key.is_none() || labelled) && self.is_passed_over(row) {
                    batch.problems.truncate(before);
                    batch.totals_rows.push(n);
                    return;
                }
                if let (Some(key), Some((order, number))) = (key, texts) {
                    batch.recent.key.put(order, number, key);
                }
                if key.is_none() {
                    if self.is_footer_line(row) {
                        batch.footers.push(batch.rows.len());
                    } else {
                        continues = self.continues(row, (order, number));
                    }
                }
                key
            }
        };
        if let Some((cells, extra)) = row.filled_beyond(self.headers.len()) {
            let delimiter = self
                .delimiter
                .map_or_else(|| String::from("delimiter"), source::delimiter_name);
            let message = format!(
                "this row has {cells} cells but the header has {}: a {delimiter} inside a cell \
                 has split it, and the cells after it have moved over (past the header: {}); \
                 put quotes around the cell with the {delimiter}, or take the {delimiter} out",
                self.headers.len(),
                extra
                    .iter()
                    .take(5)
                    .map(|cell| format!("'{}'", shown_cell(cell)))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            batch.problems.push(self.row_problem(n, message));
        }
        let mut parsed = ParsedRow::bare(n, key);
        // Without both keys the row belongs to no invoice: only the key problems are reported,
        // as the row's own.
        if key.is_some() {
            if let Some(c) = self.error_column
                && row
                    .text(c)
                    .trim_start()
                    .starts_with(super::OUT_OF_PLACE_NOTE)
            {
                let message = format!(
                    "this row's error cell begins with \"{}\": a run before found its cells out \
                     of place (a cell missing, or one split in two), and the row is not marked \
                     fixed; put its cells in their columns, then delete that note",
                    super::OUT_OF_PLACE_NOTE
                );
                batch.problems.push(self.row_problem(n, message));
            }
            if self.delimiter.is_some() {
                batch.votes.widths.count(row.len());
                if row.len() <= self.headers.len() {
                    let cells = u32::try_from(row.len()).unwrap_or(u32::MAX);
                    batch.short_rows.push((batch.rows.len(), cells));
                }
            }
            self.parse_fields(row, batch, &mut parsed);
        }
        if continues != Continues::No {
            batch.continued.push((batch.rows.len(), continues));
        }
        parsed.problems = u32::try_from(batch.problems.len() - before).unwrap_or(u32::MAX);
        batch.rows.push(parsed);
    }

    /// Whether `row`, which has no key or a totals label for its order id, is passed over as no
    /// invoice's: a totals row (its order id and invoice number cells blank or a totals label,
    /// or the order id a totals label whatever the number's cell holds; a cell that is a totals
    /// label, "Total", "TOTAL GERAL:", "Subtotal", "Soma"; no quantity and no item id but the
    /// label), or a row of nothing but zeros and dashes (the formulas of an empty line: `R$ -`,
    /// `0`).
    fn is_passed_over(&self, row: &Row<'_>) -> bool {
        let label = |cell| matches!(cell, CellRef::Text(t) if is_totals_label(t));
        let blank_or_label = |field| {
            self.cell(row, field)
                .is_none_or(|c| is_nothing(c) || label(c))
        };
        // The label may stand in the item id column; an item has a quantity.
        let no_item_id = self
            .cell(row, Field::ItemId)
            .is_none_or(|c| is_nothing(c) || label(c));
        let no_item = no_item_id && self.cell(row, Field::ItemQuantity).is_none_or(is_nothing);
        let cells = || (0..row.len()).map(|c| row.get(c));
        let order_label = self.cell(row, Field::OrderId).is_some_and(label);
        let keys_blank_or_label =
            order_label || (blank_or_label(Field::OrderId) && blank_or_label(Field::InvoiceNumber));
        // A label where the ids or the item go is a totals row's even with the sums under the
        // quantity and the price (`TOTAL;;;;5;;50,00`, `;;;;Total;5;;50,00`): no item has it.
        let labelled = [
            Field::OrderId,
            Field::InvoiceNumber,
            Field::ItemId,
            Field::ItemDescription,
        ]
        .into_iter()
        .any(|field| self.cell(row, field).is_some_and(label));
        keys_blank_or_label
            && no_item_id
            && ((no_item && (cells().any(label) || cells().all(is_nothing))) || labelled)
    }

    /// Whether `row` is a line of words alone, outside the item columns: an ERP's footer
    /// ("Gerado em 21/11/2026 por TOTVS", "Obs.: valores em reais", "Total de notas: 2").
    /// Nothing else in the row is filled, so it can be no invoice's; a note in an item column
    /// ("Embrulho para presente" under the descriptions) is left to be reported, and so is a
    /// row read into one cell (`"v1003;000103;…"`, a line pasted whole). Only a footer: one
    /// with a row of an invoice below it is reported after all (`FileStore::add_rows`).
    fn is_footer_line(&self, row: &Row<'_>) -> bool {
        let mut filled = (0..row.len()).filter(|&c| !is_blank(row.get(c)));
        let (Some(only), None) = (filled.next(), filled.next()) else {
            return false;
        };
        let item_columns = [
            Field::ItemId,
            Field::ItemQuantity,
            Field::ItemPrice,
            Field::ItemDescription,
        ]
        .map(|field| self.mapping.column(field));
        !item_columns.contains(&Some(only))
            && matches!(row.get(only), CellRef::Text(t) if is_words(t) && !is_a_row(t))
    }

    /// Whether `row`, which has no key (its key cells read as `order` and `number`), has its
    /// order id or invoice number cell blank and an item in it: an item id, or a quantity or
    /// unit price other than zero ([`RowBatch::continued`]). A row with a description alone
    /// is a note, not an item.
    fn continues(&self, row: &Row<'_>, (order, number): (Option<Span>, Option<Span>)) -> Continues {
        // An id that is a formula never calculated is as good as blank: the row may be the
        // invoice above's (found by a review: such a row let that invoice go without it).
        let blank = |field| {
            self.cell(row, field)
                .is_none_or(|c| is_blank(c) || c == CellRef::Uncalculated)
        };
        let something = |field| self.cell(row, field).is_some_and(|c| !is_nothing(c));
        let item = [Field::ItemId, Field::ItemQuantity, Field::ItemPrice]
            .into_iter()
            .any(something);
        match (
            blank(Field::OrderId),
            blank(Field::InvoiceNumber),
            order,
            number,
        ) {
            _ if !item => Continues::No,
            (true, true, _, _) => Continues::Blank,
            (false, true, Some(order), _) => Continues::Order(order),
            (true, false, _, Some(number)) => Continues::Number(number),
            _ => Continues::No,
        }
    }

    /// The first amount other than zero in an adjustment column ([`Mapping::adjustments`]) of
    /// `row`, as a problem its invoice has if its value is computed ([`RowBatch::adjusted`]): a
    /// discount or charge the invoice's total takes in, which the value computed from items and
    /// freight would leave out.
    fn read_adjustments(&self, row: &Row<'_>, batch: &mut RowBatch) {
        for &col in &self.mapping.adjustments {
            let amount = match row.get(col) {
                CellRef::Text(t) if is_nonzero_amount(t) => t.trim(),
                // Not Excel's noise around a zero (5.55e-17, shown as 0,00).
                CellRef::Number(n) if n.0.abs() >= 0.005 => &n.to_text(),
                _ => continue,
            };
            let message = format!(
                "{} holds {} on this row, a discount or charge that an invoice's total takes \
                 in, but this invoice's value is not given: it would be computed from the items \
                 and freight alone and sent wrong; give the invoice's total (Invoice Value, \
                 Valor da Nota), or, if the unit prices already take it in, remove this column",
                self.column_name(col),
                shown_cell(amount)
            );
            let problem = self.row_problem(row.number(), message);
            batch.adjusted.push((batch.rows.len(), problem));
            return;
        }
    }

    fn parse_fields(&self, row: &Row<'_>, batch: &mut RowBatch, parsed: &mut ParsedRow) {
        let (tz, fmt) = (self.tz, self.date_format);
        let date = |c| date::date_from_cell(c, tz, fmt);
        parsed.kind = self.read(row, Field::Type, batch, id::invoice_type_from_cell);
        parsed.issuance =
            self.read_repeated(row, Field::IssuanceDate, batch, |r| &mut r.issuance, date);
        parsed.value = self.read_repeated(
            row,
            Field::InvoiceValue,
            batch,
            |r| &mut r.value,
            money::money_from_cell,
        );
        parsed.freight = self.read_repeated(
            row,
            Field::Freight,
            batch,
            |r| &mut r.freight,
            money::money_from_cell,
        );
        if !self.mapping.adjustments.is_empty() {
            self.read_adjustments(row, batch);
        }
        for (slot, field) in parsed.texts.iter_mut().zip(TEXT_FIELDS) {
            *slot = match field {
                Field::InvoiceUrl | Field::TrackingUrl => {
                    self.read_text(row, field, batch, id::url_from_cell)
                }
                Field::InvoiceKey | Field::TrackingNumber => {
                    self.read_text(row, field, batch, id::code_from_cell)
                }
                _ => self.read_text(row, field, batch, id::text_from_cell),
            };
        }
        parsed.dispatched = self.read(row, Field::DispatchedDate, batch, date);

        // Each item cell is fetched once: to see whether the row has an item, then to read it.
        let n = row.number();
        // Written out, not `[fields].map(..)`: that went through `try_map`'s generic moves at a
        // few percent of all the parsing.
        let cells = [
            self.cell(row, Field::ItemId),
            self.cell(row, Field::ItemQuantity),
            self.cell(row, Field::ItemPrice),
            self.cell(row, Field::ItemDescription),
        ];
        if cells.iter().flatten().any(|&c| !is_blank(c)) {
            let [id_cell, quantity_cell, price_cell, description_cell] = cells;
            let id = id_cell
                .and_then(|c| self.read_cell(n, Field::ItemId, c, batch, id::id_from_cell))
                .map(|text| self.item_text(batch, &text));
            let quantity = quantity_cell.and_then(|c| {
                self.read_cell(n, Field::ItemQuantity, c, batch, id::quantity_from_cell)
            });
            let price = price_cell.and_then(|c| {
                self.read_cell(n, Field::ItemPrice, c, batch, money::money_from_cell)
            });
            let description = description_cell
                .and_then(|c| {
                    self.read_cell(n, Field::ItemDescription, c, batch, id::text_from_cell)
                })
                .map(|text| self.item_text(batch, &text));
            if let Some(r) = &price {
                batch.votes.item_price.observe(r);
            }
            parsed.item = Some(ParsedItem {
                id,
                description,
                quantity,
                price,
            });
        }

        if let Some(r) = &parsed.value {
            batch.votes.invoice_value.observe(r);
        }
        if let Some(r) = &parsed.freight {
            batch.votes.freight.observe(r);
        }
        if let Some(r) = &parsed.issuance {
            batch.votes.issuance_date.observe(r);
        }
        if let Some(r) = &parsed.dispatched {
            batch.votes.dispatched_date.observe(r);
        }
    }
}

/// A totals row's label, the whole cell up to any figure in it: "Total", "TOTAL GERAL:",
/// "Totais", "Subtotal", "Grand total", "Soma", "Total do dia 20/11", "Total: R$ 1.234,56",
/// "*** TOTAL ***", "Total (2 notas)"; not "Totalizador", "Total Flex" or "Soma Distribuidora".
fn is_totals_label(text: &str) -> bool {
    const LABELS: [&str; 14] = [
        "total",
        "totals",
        "totais",
        "total geral",
        "totais gerais",
        "total do dia",
        "total do mês",
        "total do mes",
        "subtotal",
        "sub-total",
        "sub total",
        "grand total",
        "soma",
        "sum",
    ];
    if text.len() > 60 {
        return false;
    }
    let lower = text.to_lowercase();
    let words = lower
        .split(|c: char| c.is_ascii_digit())
        .next()
        .unwrap_or("");
    // Marks around the label (`*** TOTAL ***`), and a count or a sum after it (`Total (2
    // notas)`, `Total: R$ 1.234,56`).
    let words = words
        .trim()
        .trim_start_matches(|c: char| c == '*' || c.is_whitespace());
    let words = words.strip_suffix("r$").unwrap_or(words);
    let words =
        words.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ':' | '-' | '(' | '*'));
    LABELS.contains(&words)
}

/// Whether `text` reads as words, not a value: two or more words, one of them of three letters
/// or more ("Gerado em 21/11/2026", "Obs.: frete incluso"); not "O1", "NF 123" or "1.234,56".
fn is_words(text: &str) -> bool {
    let mut words = text.split_whitespace();
    let lettered = |w: &str| w.chars().filter(|c| c.is_alphabetic()).count() >= 3;
    text.split_whitespace().nth(1).is_some() && words.any(lettered)
}

/// Whether `text` holds a row's cells rather than a phrase: three or more of `;`, `,`, tab or `|`
/// (a line pasted into one cell, or quoted whole).
fn is_a_row(text: &str) -> bool {
    text.bytes()
        .filter(|b| matches!(b, b';' | b',' | b'\t' | b'|'))
        .nth(2)
        .is_some()
}

/// Blank, or a zero: the number 0, or text that reads as no money (`0`, `0,00`, `R$ -`, `-`).
fn is_nothing(cell: CellRef<'_>) -> bool {
    match cell {
        CellRef::Number(n) => n.0 == 0.0,
        CellRef::Text(t) if !t.trim().is_empty() => money::read_money(t).is_ok_and(|m| {
            m.cents(money::DecimalSeparator::Comma) == Ok(0)
                && m.cents(money::DecimalSeparator::Point) == Ok(0)
        }),
        cell => is_blank(cell),
    }
}

fn is_blank(cell: CellRef<'_>) -> bool {
    match cell {
        CellRef::Empty => true,
        CellRef::Text(t) => !crate::values::is_trimmed(t) && t.trim().is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjustment_amounts() {
        for yes in [
            "7,50", "R$ 7,50", " -7.50 ", "(7,50)", "1.234,56", "R$ 0,01", "US$ 3",
        ] {
            assert!(is_nonzero_amount(yes), "{yes}");
        }
        for no in [
            "0,00",
            "R$ -",
            "-",
            "",
            "N/A",
            "Black Friday 2026",
            "04/11/2026",
            "0%",
        ] {
            assert!(!is_nonzero_amount(no), "{no}");
        }
    }

    /// Which rows are short is settled by the file's usual row, not by its header.
    #[test]
    fn a_file_s_usual_row_settles_which_rows_are_short() {
        let widths = |rows: &[(usize, u64)]| {
            let mut w = RowWidths::default();
            for &(cells, n) in rows {
                for _ in 0..n {
                    w.count(cells);
                }
            }
            w.full_width()
        };
        assert_eq!(widths(&[(9, 10), (8, 1)]), Some(9));
        assert_eq!(widths(&[(9, 1), (8, 1)]), Some(9), "a tie is a fault");
        assert_eq!(widths(&[(9, 4), (8, 2), (7, 3)]), None, "most rows short");
        assert_eq!(widths(&[(9, 10)]), None, "no row short");
        assert_eq!(
            widths(&[(200, 5), (199, 1)]),
            None,
            "past the widest counted"
        );
        assert_eq!(widths(&[]), None);
    }

    #[test]
    fn totals_labels() {
        for label in [
            "Total",
            "TOTAL GERAL:",
            "Totais",
            "Subtotal",
            "Sub-total",
            "Grand total",
            "Soma",
            "total do dia 20/11",
            " Total: ",
            "Total: R$ 1.234,56",
            "TOTAL GERAL - 2026",
            "*** TOTAL ***",
            "Total (2 notas)",
            "Subtotal (3):",
        ] {
            assert!(is_totals_label(label), "{label}");
        }
        for text in [
            "Totalizador",
            "Total Tech Ltda, pedido 5 de 6",
            "Somatório",
            "Summary",
            "TV",
            "",
            "Sumário",
            "Soma Distribuidora",
            "Total Flex",
            "Total Quartz 5W30",
            "Totalr",
            "Total (Flex)",
            "*** Totalizador ***",
        ] {
            assert!(!is_totals_label(text), "{text}");
        }
    }

    #[test]
    fn footer_words_are_not_values() {
        for text in [
            "Gerado em 21/11/2026 por TOTVS",
            "Obs.: frete incluso",
            "Total de notas: 2",
        ] {
            assert!(is_words(text), "{text}");
        }
        for text in [
            "O1",
            "NF 123",
            "1.234,56",
            "R$ 1.234,56",
            "1100000089777-01",
            "",
        ] {
            assert!(!is_words(text), "{text}");
        }
        assert!(is_a_row(
            "v1003-01;000103;20/11/2026;SKU3;Meia azul;1;15,00;15,00"
        ));
        assert!(is_a_row(
            "v1003-01,000103,20/11/2026 10:30,SKU3,Meia,1,15.00,15.00"
        ));
        assert!(!is_a_row("Obs.: valores em reais, frete incluso"));
    }

    #[test]
    fn a_text_cache_answers_only_for_the_same_text() {
        let mut cache: TextCache<u32> = TextCache::default();
        assert_eq!(cache.get("09/11/2026 08:15"), None);
        // More texts than slots: some evict others, and none answers for another.
        let texts: Vec<String> = (0..2 * CACHE_SLOTS).map(|i| format!("{i:04}")).collect();
        for (i, t) in texts.iter().enumerate() {
            cache.put(t, i as u32);
            assert_eq!(cache.get(t), Some(i as u32));
        }
        for (i, t) in texts.iter().enumerate() {
            assert!(cache.get(t).is_none_or(|v| v == i as u32), "{t}");
        }
        assert!(texts.iter().filter(|t| cache.get(t).is_some()).count() > CACHE_SLOTS / 2);
        assert_eq!(cache.get("0001 "), None);
    }
}
