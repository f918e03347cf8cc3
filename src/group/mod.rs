//! Rows → invoices keyed by (order id, invoice number), over every input file.
//!
//! Each file streams through once. A row's mapped cells are read into compact typed readings
//! (money and dates keep both possible interpretations, because a column's decimal separator and
//! day/month order are only known once the whole column has been seen), and the row joins its
//! invoice at once, so memory holds invoices and items, never the file's rows: one thread reads
//! records, parsing threads read their cells ([`parse`]), one thread groups them, in reading
//! order, into a compact store ([`store`]).
//! When a file ends, its columns' conventions are settled; each invoice is then built on demand,
//! its readings turned into cents and timestamps, its rows from every file merged
//! ([`Pending`]). Rows of one invoice need not be adjacent, nor in one file.

mod parse;
mod store;

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::path::Path;
use std::sync::{Mutex, mpsc};

use chrono::{DateTime, FixedOffset};
use hashbrown::HashTable;
use indexmap::IndexMap;

use crate::mapping::{self, Field, Mapping, Override};
use crate::source::{self, ReadOptions, SourceRef, Table};
use crate::values::date::{self, DateFormat};
use crate::values::id::InvoiceType;
use crate::values::money::DecimalSeparator;

/// What a failed-rows file's error cell begins with for a row whose cells were out of place (a
/// cell lost, or one split in two): padded or cut to the header there, the row would read as
/// whole, so it is held back again while its error cell begins so (found by a review: fed back
/// unfixed, such a row was sent with its cells still moved).
pub const OUT_OF_PLACE_NOTE: &str = "[fix this row's cells, then delete this note]";
use parse::{RowBatch, RowParser, Votes};
use store::{Conventions, FileStore, ItemText};

/// A timestamp with the offset the API wants.
pub type Timestamp = DateTime<FixedOffset>;

/// A row of an input: index into [`Batch::sources`] and the row number a spreadsheet shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowRef {
    pub source: u32,
    pub row: u64,
}

/// Something wrong with the input, and where. Rendered with [`Batch::locate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub source: u32,
    pub row: Option<u64>,
    /// The field at fault; [`Batch::locate`] names its column as the file spells it.
    pub field: Option<Field>,
    pub message: String,
}

/// A value and the row it was read from, so disagreements and errors can name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub at: RowRef,
}

/// One item line of an invoice. Fields are optional here; validation insists on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: Option<String>,
    pub quantity: Option<i64>,
    /// Unit price in cents.
    pub price: Option<i64>,
    pub description: Option<String>,
    pub at: RowRef,
}

/// Every row of one (order id, invoice number), gathered. Validation turns it into a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invoice {
    pub order_id: String,
    pub invoice_number: String,
    pub kind: Option<Sourced<InvoiceType>>,
    pub issuance_date: Option<Sourced<Timestamp>>,
    pub invoice_value: Option<Sourced<i64>>,
    pub freight: Option<Sourced<i64>>,
    pub invoice_key: Option<Sourced<String>>,
    pub invoice_url: Option<Sourced<String>>,
    pub courier: Option<Sourced<String>>,
    pub tracking_number: Option<Sourced<String>>,
    pub tracking_url: Option<Sourced<String>>,
    pub dispatched_date: Option<Sourced<Timestamp>>,
    pub items: Vec<Item>,
    /// Every input row of this invoice, in input order.
    pub rows: Vec<RowRef>,
    pub problems: Vec<Problem>,
    /// Whether its (first) file writes amounts with a decimal comma: what it says about its
    /// money is written the same way (`1.234,56`).
    pub decimal_comma: bool,
}

/// How to read and group the inputs: everything a user can say about them.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub read: ReadOptions,
    pub overrides: Vec<Override>,
    /// Columns that must exist in every file.
    pub required: Vec<Field>,
    /// Columns every invoice needs that may come from another file of the batch (an items
    /// export beside an invoice-header export): some input must have each. With one input,
    /// that input.
    pub needed: Vec<Field>,
    pub decimal: Option<DecimalSeparator>,
    pub date_format: Option<DateFormat>,
    pub timezone: chrono_tz::Tz,
    /// Whether `timezone` was asked for (`--timezone`, the config), not this machine's zone:
    /// when it is the machine's and a date has no offset, a note says which zone it was read in.
    pub timezone_given: bool,
}

/// One input that was read.
pub struct SourceInfo {
    /// The path as the user gave it (`-` for stdin), to read the rows again for the failed-rows file.
    pub path: String,
    pub source: SourceRef,
    pub describe: String,
    pub headers: Vec<String>,
    pub header_row: u64,
    pub mapping: Mapping,
    /// Data rows read (blank rows not counted).
    pub rows: u64,
    /// The delimiter a CSV input was read with; `None` for a workbook.
    pub delimiter: Option<u8>,
    /// Whether the input's amounts are written with a decimal comma (`1.234,56`): its money
    /// columns' votes together resolve to a comma, or `--decimal-comma` says so.
    pub decimal_comma: bool,
    /// The cells a CSV row with fewer of has lost one, when the input's rows settle that
    /// (`RowWidths::full_width`): the failed-rows file marks such rows.
    pub full_width: Option<u32>,
    /// What the user should be told about how it was read: a workbook's sheets not read, rows
    /// that repeat the header.
    pub notes: Vec<String>,
    /// The notes that may cost money if unread (a line total read as the unit price): said
    /// even by a `--quiet` run.
    pub warnings: Vec<String>,
    /// Rows that repeat the header (or the title above it), passed over; in file order.
    pub repeated_headers: Vec<u64>,
    /// Columns whose decimal separator or day/month order stayed ambiguous, with the reason
    /// that ends each of their ambiguous values' problems: said once for the column on screen.
    pub unsettled: Vec<(Field, String)>,
    /// Stdin can't be opened twice, so its table is kept to be reopened from memory.
    pub(crate) keep: Option<Table>,
}

impl SourceInfo {
    /// The input again from its first row, for a second pass (the failed-rows file).
    pub fn reopen(&self, read: &ReadOptions) -> Result<Table, source::SourceError> {
        match &self.keep {
            Some(table) => table.reopen(),
            None => {
                let mut read = read.clone();
                read.sheet = self.source.sheet.as_deref().map(str::to_string);
                read.header_row = Some(self.header_row);
                // As found: it may not be the one sniffed (`other_delimiters`).
                read.delimiter = read.delimiter.or(self.delimiter);
                source::open(&self.path, &read)
            }
        }
    }
}

/// An input that could not be read at all (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub path: String,
    pub message: String,
}

/// Everything read from the inputs.
#[derive(Default)]
pub struct Batch {
    pub sources: Vec<SourceInfo>,
    /// In input order (the order of each invoice's first row).
    pub invoices: Vec<Invoice>,
    /// Rows that can't join an invoice (no usable order id or invoice number).
    pub row_errors: Vec<Problem>,
    pub file_errors: Vec<FileError>,
    pub rows: u64,
}

impl Batch {
    /// Whether amounts for people are written with a decimal comma (`1.234,56`): when every
    /// input writes its amounts so.
    pub fn decimal_comma(&self) -> bool {
        !self.sources.is_empty() && self.sources.iter().all(|s| s.decimal_comma)
    }
}

/// Where a problem is, in words and in parts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Location {
    pub file: String,
    pub sheet: Option<String>,
    pub row: Option<u64>,
    pub column: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(sheet) = &self.sheet {
            write!(f, " [sheet {sheet}]")?;
        }
        if let Some(row) = self.row {
            write!(f, " row {row}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column '{column}'")?;
        }
        Ok(())
    }
}

impl Batch {
    pub fn locate(&self, problem: &Problem) -> Location {
        let source = self.sources.get(problem.source as usize);
        let column = problem.field.map(|field| {
            source
                .and_then(|s| s.mapping.column(field).and_then(|c| s.headers.get(c)))
                .cloned()
                .unwrap_or_else(|| field.name().to_string())
        });
        Location {
            file: source
                .map(|s| s.source.file.to_string())
                .unwrap_or_else(|| String::from("?")),
            sheet: source.and_then(|s| s.source.sheet.as_deref().map(str::to_string)),
            row: problem.row,
            column,
        }
    }

    /// The rows that joined no invoice, each with its problems (a row can have two: no order
    /// id and no invoice number), in the order [`Batch::row_errors`] names them first.
    pub fn rows_in_no_invoice(&self) -> Vec<(Option<RowRef>, Vec<&Problem>)> {
        let mut rows: IndexMap<(u32, Option<u64>, usize), Vec<&Problem>> = IndexMap::new();
        for (k, p) in self.row_errors.iter().enumerate() {
            // A problem without a row stands alone.
            let alone = if p.row.is_some() { 0 } else { k };
            rows.entry((p.source, p.row, alone)).or_default().push(p);
        }
        rows.into_iter()
            .map(|((source, row, _), problems)| (row.map(|row| RowRef { source, row }), problems))
            .collect()
    }

    /// "file row 3, 5 and 9" style text for a set of rows.
    pub fn describe_rows(&self, rows: &[RowRef]) -> String {
        let mut by_source: IndexMap<u32, Vec<u64>> = IndexMap::new();
        for r in rows {
            by_source.entry(r.source).or_default().push(r.row);
        }
        by_source
            .iter()
            .map(|(source, rows)| {
                let name = self
                    .sources
                    .get(*source as usize)
                    .map(|s| s.source.to_string())
                    .unwrap_or_else(|| String::from("?"));
                format!("{name}:{}", compress_rows(rows))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// "2-4,7" for rows 2, 3, 4, 7.
fn compress_rows(rows: &[u64]) -> String {
    let mut sorted = rows.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// Reads every input and groups its rows into invoices. A file that can't be read is recorded in
/// `file_errors` and the others still load.
pub fn load(paths: &[String], opts: &LoadOptions) -> Batch {
    let (mut batch, pending) = load_pending(paths, opts);
    batch.invoices = pending.into_invoices().collect();
    batch
}

/// As [`load`], but the invoices stay compact in [`Pending`] and are built one at a time: a
/// caller that needs only a verdict per invoice (`check`) never holds them all.
pub fn load_pending(paths: &[String], opts: &LoadOptions) -> (Batch, Pending) {
    load_pending_as(paths, opts, ItemText::Full)
}

/// As [`load_pending`], for callers that only judge invoices ([`Pending::get_for_verdict`]):
/// item ids are checked as they are read but not kept, nor descriptions, so every invoice
/// comes out with them empty (from [`Pending::get`] too). Less to copy and hash per row.
pub fn load_for_verdicts(paths: &[String], opts: &LoadOptions) -> (Batch, Pending) {
    load_pending_as(paths, opts, ItemText::Presence)
}

fn load_pending_as(paths: &[String], opts: &LoadOptions, item_text: ItemText) -> (Batch, Pending) {
    let mut batch = Batch::default();
    // One input must have every needed column itself, which is known from its headers alone:
    // a missing one stops it before any row is read.
    let mut required = opts.required.clone();
    if paths.len() == 1 {
        for field in &opts.needed {
            if !required.contains(field) {
                required.push(*field);
            }
        }
    }
    let mut files = Vec::new();
    for (k, path) in paths.iter().enumerate() {
        // The same file twice would count each of its rows twice: its invoices' items and
        // computed values would double.
        let again = match path.as_str() {
            "-" => paths[..k].iter().any(|earlier| earlier == "-"),
            _ => paths[..k].iter().any(|earlier| {
                earlier != "-" && source::same_file(Path::new(earlier), Path::new(path))
            }),
        };
        if again {
            let message = match path.as_str() {
                "-" => String::from(
                    "-: stdin is given more than once; it was read once, the first time",
                ),
                _ => format!(
                    "{path}: this file is given more than once; it was read once, as its rows \
                     would otherwise count twice"
                ),
            };
            batch.file_errors.push(FileError {
                path: path.clone(),
                message,
            });
            continue;
        }
        let source_id = batch.sources.len() as u32;
        let wanted = Wanted {
            required: &required,
            several: paths.len() > 1,
        };
        match load_file(path, source_id, opts, wanted, item_text) {
            Ok((info, mut file)) => {
                batch.rows += info.rows;
                batch.sources.push(info);
                batch.row_errors.append(&mut file.store.row_errors);
                files.push(file);
            }
            Err(message) => batch.file_errors.push(FileError {
                path: path.clone(),
                message,
            }),
        }
    }
    // Several inputs were named, so no one of them was held to the needed columns, nor to the
    // columns `--map` names.
    if paths.len() > 1 {
        batch
            .file_errors
            .extend(unmatched_overrides(&batch.sources, &opts.overrides));
        if let Some(error) = needed_but_absent(&batch.sources, &opts.needed) {
            batch.file_errors.push(error);
        }
    }
    (batch, Pending::new(files))
}

/// With several inputs, each `--map` that names a column none of them has (each input passed it
/// over, as another might have had it).
fn unmatched_overrides(sources: &[SourceInfo], overrides: &[Override]) -> Vec<FileError> {
    if sources.is_empty() {
        return Vec::new();
    }
    let path = input_names(sources);
    overrides
        .iter()
        .filter(|o| sources.iter().all(|s| s.mapping.passed_over.contains(o)))
        .map(|o| FileError {
            path: path.clone(),
            message: format!(
                "--map {}={}: none of the inputs ({path}) has a column '{}'",
                o.field, o.header, o.header
            ),
        })
        .collect()
}

/// The inputs as a batch-wide error names them: "a.csv, b.xlsx [Notas]".
fn input_names(sources: &[SourceInfo]) -> String {
    let names: Vec<String> = sources.iter().map(|s| s.source.to_string()).collect();
    names.join(", ")
}

/// With several inputs, a needed column that none of them has: every invoice would lack it, so
/// it is an error about the batch, as a missing column is about one file.
fn needed_but_absent(sources: &[SourceInfo], needed: &[Field]) -> Option<FileError> {
    if sources.is_empty() {
        return None;
    }
    let missing: Vec<Field> = needed
        .iter()
        .copied()
        .filter(|f| !sources.iter().any(|s| s.mapping.has(*f)))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let mut headers: Vec<String> = Vec::new();
    for h in sources.iter().flat_map(|s| &s.headers) {
        if !headers.contains(h) {
            headers.push(h.clone());
        }
    }
    let path = input_names(sources);
    let error = mapping::MappingError::Missing { missing, headers };
    Some(FileError {
        message: format!("none of the inputs ({path}) has a column every invoice needs: {error}"),
        path,
    })
}

/// A file's invoices, compact, and the conventions its columns settled on.
struct LoadedFile {
    store: FileStore,
    conventions: Conventions,
}

/// Every input's invoices, grouped and not yet built: see [`Pending::into_invoices`].
pub struct Pending {
    files: Vec<LoadedFile>,
    /// Each invoice, in input order (its first row's), as (file, index in that file); empty
    /// when there is one file, whose own order is the order.
    order: Vec<(u32, u32)>,
    /// For an invoice with rows in several files, its parts after the first, by `order` index.
    more: HashMap<usize, Vec<(u32, u32)>>,
}

impl Pending {
    fn new(files: Vec<LoadedFile>) -> Pending {
        let mut order: Vec<(u32, u32)> = Vec::new();
        let mut more: HashMap<usize, Vec<(u32, u32)>> = HashMap::new();
        if files.len() > 1 {
            let hasher = hashbrown::DefaultHashBuilder::default();
            let mut index: HashTable<u32> = HashTable::new();
            fn key(files: &[LoadedFile], (f, i): (u32, u32)) -> (&str, &str) {
                files
                    .get(f as usize)
                    .map_or(("", ""), |file| file.store.key(i as usize))
            }
            for (f, file) in files.iter().enumerate() {
                for i in 0..file.store.len() {
                    let part = (f as u32, i as u32);
                    let k = file.store.key(i);
                    let hash = hasher.hash_one(k);
                    let found = index.find(hash, |&e| {
                        order.get(e as usize).is_some_and(|&o| key(&files, o) == k)
                    });
                    match found {
                        Some(&e) => more.entry(e as usize).or_default().push(part),
                        None => {
                            order.push(part);
                            let e = (order.len() - 1) as u32;
                            index.insert_unique(hash, e, |&x| {
                                hasher.hash_one(
                                    order.get(x as usize).map_or(("", ""), |&o| key(&files, o)),
                                )
                            });
                        }
                    }
                }
            }
        }
        Pending { files, order, more }
    }

    /// How many invoices.
    pub fn len(&self) -> usize {
        match self.files.as_slice() {
            [file] => file.store.len(),
            _ => self.order.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where invoice `i` starts: (file, index in that file).
    fn first_part(&self, i: usize) -> Option<(u32, u32)> {
        match self.files.as_slice() {
            [file] => (i < file.store.len()).then_some((0, i as u32)),
            _ => self.order.get(i).copied(),
        }
    }

    /// (order id, invoice number) of invoice `i`, without building it.
    pub fn key(&self, i: usize) -> (&str, &str) {
        match self.first_part(i) {
            Some((f, j)) => self
                .files
                .get(f as usize)
                .map_or(("", ""), |file| file.store.key(j as usize)),
            None => ("", ""),
        }
    }

    /// Reads the items of invoices `range` into the cache, before they are built. In a
    /// shuffled file an invoice's items lie far apart, each found from the one before: building
    /// one invoice at a time waits for each item's memory in turn. Here every invoice's first
    /// item is read, then every second one, and so on: the reads of one round don't depend on
    /// each other, so their waits overlap.
    pub fn warm(&self, range: std::ops::Range<usize>) {
        let mut cursors: Vec<(&FileStore, u32)> = range
            .filter_map(|i| {
                let (f, j) = self.first_part(i)?;
                let store = &self.files.get(f as usize)?.store;
                Some((store, store.first_item(j as usize)))
            })
            .collect();
        let mut rows = 0u32;
        while !cursors.is_empty() {
            cursors.retain_mut(|(store, k)| match store.next_item(*k) {
                Some((row, next)) => {
                    rows ^= row;
                    *k = next;
                    true
                }
                None => false,
            });
        }
        std::hint::black_box(rows);
    }

    fn part(&self, (f, i): (u32, u32), item_text: ItemText) -> Option<Invoice> {
        let file = self.files.get(f as usize)?;
        file.store.invoice(i as usize, &file.conventions, item_text)
    }

    /// Invoice `i`, built: readings settled under its file's conventions, rows from every file
    /// merged.
    pub fn get(&self, i: usize) -> Option<Invoice> {
        self.build(i, ItemText::Full)
    }

    /// Invoice `i` as [`Self::get`] builds it, but with its item ids and descriptions empty
    /// (`Some("")` where there is one): enough for a verdict, which reads only whether they
    /// are there, and a third cheaper.
    pub fn get_for_verdict(&self, i: usize) -> Option<Invoice> {
        self.build(i, ItemText::Presence)
    }

    /// [`Self::get_for_verdict`] written over `out`, reusing its memory (see
    /// [`store::FileStore::invoice_into`]); false when there is no invoice `i`.
    pub fn get_for_verdict_into(&self, i: usize, out: &mut Invoice) -> bool {
        self.build_into(i, ItemText::Presence, out)
    }

    fn build(&self, i: usize, item_text: ItemText) -> Option<Invoice> {
        let mut invoice = Invoice::default();
        self.build_into(i, item_text, &mut invoice)
            .then_some(invoice)
    }

    fn build_into(&self, i: usize, item_text: ItemText, out: &mut Invoice) -> bool {
        let Some((f, j)) = self.first_part(i) else {
            return false;
        };
        let Some(file) = self.files.get(f as usize) else {
            return false;
        };
        if !file
            .store
            .invoice_into(j as usize, &file.conventions, item_text, out)
        {
            return false;
        }
        for &part in self.more.get(&i).map_or(&[][..], Vec::as_slice) {
            if let Some(other) = self.part(part, item_text) {
                merge(out, other);
            }
        }
        true
    }

    /// Every invoice, built one at a time, in input order; the store goes with the iterator,
    /// so once the last invoice is built none of it is kept.
    pub fn into_invoices(self) -> impl Iterator<Item = Invoice> {
        (0..self.len()).filter_map(move |i| self.get(i))
    }
}

/// Adds the rows another file has of the same invoice.
fn merge(existing: &mut Invoice, invoice: Invoice) {
    let comma = existing.decimal_comma;
    let problems = &mut existing.problems;
    merge_slot(
        &mut existing.kind,
        invoice.kind,
        Field::Type,
        (problems, comma),
    );
    merge_slot(
        &mut existing.issuance_date,
        invoice.issuance_date,
        Field::IssuanceDate,
        (problems, comma),
    );
    merge_slot(
        &mut existing.invoice_value,
        invoice.invoice_value,
        Field::InvoiceValue,
        (problems, comma),
    );
    merge_slot(
        &mut existing.freight,
        invoice.freight,
        Field::Freight,
        (problems, comma),
    );
    merge_slot(
        &mut existing.invoice_key,
        invoice.invoice_key,
        Field::InvoiceKey,
        (problems, comma),
    );
    merge_slot(
        &mut existing.invoice_url,
        invoice.invoice_url,
        Field::InvoiceUrl,
        (problems, comma),
    );
    merge_slot(
        &mut existing.courier,
        invoice.courier,
        Field::Courier,
        (problems, comma),
    );
    merge_slot(
        &mut existing.tracking_number,
        invoice.tracking_number,
        Field::TrackingNumber,
        (problems, comma),
    );
    merge_slot(
        &mut existing.tracking_url,
        invoice.tracking_url,
        Field::TrackingUrl,
        (problems, comma),
    );
    merge_slot(
        &mut existing.dispatched_date,
        invoice.dispatched_date,
        Field::DispatchedDate,
        (problems, comma),
    );
    // Two exports that overlap (yesterday's re-exported beside today's) would add the same
    // lines twice, and without a value column nothing else would tell. An invoice is issued
    // with all its items: they come from one input, and the others may add its other fields.
    if let (Some(first), Some(other)) = (existing.items.first(), invoice.items.first()) {
        existing.problems.push(Problem {
            source: other.at.source,
            row: Some(other.at.row),
            field: None,
            message: format!(
                "this invoice has items in two inputs (row {} of input #{} has one too); \
                 two exports that share rows would count them twice, so all the items of an \
                 invoice must be in one input",
                first.at.row,
                first.at.source + 1
            ),
        });
    }
    existing.items.extend(invoice.items);
    existing.rows.extend(invoice.rows);
    existing.problems.extend(invoice.problems);
}

fn merge_slot<T: PartialEq + Shown>(
    into: &mut Option<Sourced<T>>,
    from: Option<Sourced<T>>,
    field: Field,
    (problems, comma): (&mut Vec<Problem>, bool),
) {
    match (into.as_ref(), from) {
        (_, None) => {}
        (None, Some(from)) => *into = Some(from),
        (Some(first), Some(other)) => {
            if first.value != other.value {
                problems.push(disagreement(
                    field,
                    first.at,
                    &first.value,
                    other.at,
                    &other.value,
                    comma,
                ));
            }
        }
    }
}

/// How a settled value reads in a message: money as `1234.56`, timestamps as the API gets them.
trait Shown {
    /// As a message shows it; amounts with a decimal comma if `comma`.
    fn shown(&self, comma: bool) -> String;
}

impl Shown for i64 {
    fn shown(&self, comma: bool) -> String {
        crate::report::money_in(*self, comma)
    }
}

impl Shown for Timestamp {
    fn shown(&self, _: bool) -> String {
        date::to_api(self)
    }
}

impl Shown for String {
    fn shown(&self, _: bool) -> String {
        self.clone()
    }
}

impl Shown for InvoiceType {
    fn shown(&self, _: bool) -> String {
        self.to_string()
    }
}

fn disagreement<T: Shown>(
    field: Field,
    first_at: RowRef,
    first: &T,
    other_at: RowRef,
    other: &T,
    comma: bool,
) -> Problem {
    let (first, other) = (first.shown(comma), other.shown(comma));
    // In words, as a finance person says it: "issuance date", not `issuance_date`.
    let field_words = field.name().replace('_', " ");
    let where_first = if first_at.source == other_at.source {
        format!("row {}", first_at.row)
    } else {
        format!("row {} of input #{}", first_at.row, first_at.source + 1)
    };
    Problem {
        source: other_at.source,
        row: Some(other_at.row),
        field: Some(field),
        message: format!(
            "the {field_words} is '{other}' here but '{first}' on {where_first} of the same \
             invoice; an invoice has one {field_words}"
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// One file.

/// After this many unreadable records in a row, a file stops: an error that repeats without a
/// row in between (an I/O failure) would repeat forever.
const MAX_CONSECUTIVE_ERRORS: u32 = 100;

fn load_file(
    path: &str,
    source_id: u32,
    opts: &LoadOptions,
    wanted: Wanted<'_>,
    item_text: ItemText,
) -> Result<(SourceInfo, LoadedFile), String> {
    let mut table = source::open(path, &opts.read).map_err(|e| e.to_string())?;
    let (row, mapping) = match header_of(&mut table, opts, wanted) {
        Ok(found) => found,
        // Title lines can outvote a short file's rows when its delimiter is sniffed: the
        // delimiter under which a header is found is the file's.
        Err(e) => match other_delimiters(&table, opts, wanted) {
            Some((other, found)) => {
                table = other;
                found
            }
            None => return Err(e),
        },
    };
    if let Some(row) = row {
        table = table.with_header_at(row).map_err(|e| e.to_string())?;
    }
    let headers = table.headers().to_vec();
    let (rows, votes, store) =
        read_rows(&mut table, source_id, (&headers, &mapping), opts, item_text);
    if store.overflow {
        return Err(format!(
            "{}: too big for one run (more than 4 billion rows or 4 GiB of ids and text); \
             split it into smaller files",
            table.source()
        ));
    }
    if let Some((row, how)) = store.layout_changes.first() {
        return Err(format!(
            "{}: row {row} is a header again, with its columns in another order than the \
             header's at row {} ({how}): exports of two layouts joined? The rows below it can't \
             be read with the first header, so the file is not read; split it at row {row}",
            table.source(),
            table.header_row(),
        ));
    }
    let conventions = Conventions::settle(&votes, opts);
    let mut notes = notes(
        &table,
        (&store.repeated_headers, &store.totals_rows),
        opts.read.sheet.as_deref(),
    );
    let mut warnings = Vec::new();
    if let Some(header) = mapping
        .column(Field::ItemPrice)
        .and_then(|c| headers.get(c))
        .filter(|h| mapping::names_a_line_total(h))
    {
        warnings.push(format!(
            "{}: column '{header}' is read as item_price, the price of ONE unit, but its name \
             says a line's total (quantity × unit price); if it is, every item is sent at its \
             line's total: map the unit price column instead (--map item_price=HEADER)",
            table.source()
        ));
    }
    let column = |field: Field| {
        mapping
            .column(field)
            .and_then(|c| headers.get(c))
            .map_or_else(|| field.name().to_string(), |h| format!("'{h}'"))
    };
    for &(field, other) in &conventions.order_of_other {
        notes.push(format!(
            "{}: every date in column {} reads either way (day or month first, like \
             09/11/2026); they are read as column {} writes its dates, which read one way only; \
             pass --date-format dd/mm/yyyy or --date-format mm/dd/yyyy to say otherwise",
            table.source(),
            column(field),
            column(other)
        ));
    }
    for &field in &conventions.day_first_by_comma {
        let column = column(field);
        notes.push(format!(
            "{}: every date in column {column} reads either way (day or month first, like \
             09/11/2026); they are read day first, dd/mm/yyyy, as the file writes its \
             amounts with a decimal comma (1.234,56); pass --date-format mm/dd/yyyy if they are \
             month first",
            table.source()
        ));
    }
    if !opts.timezone_given
        && (votes.issuance_date.read_in_zone() || votes.dispatched_date.read_in_zone())
    {
        notes.push(format!(
            "{}: its dates without a time offset were read in {}, this machine's time zone \
             (--timezone ZONE, or timezone in the config, says another)",
            table.source(),
            opts.timezone.name()
        ));
    }
    notes.extend(warnings.iter().cloned());
    let info = SourceInfo {
        path: path.to_string(),
        source: table.source().clone(),
        describe: table.describe(),
        notes,
        warnings,
        header_row: table.header_row(),
        headers,
        mapping,
        // A repeated header or a totals row is not a data row.
        rows: rows.saturating_sub((store.repeated_headers.len() + store.totals_rows.len()) as u64),
        delimiter: table.delimiter(),
        decimal_comma: conventions.decimal_comma,
        full_width: conventions.full_width,
        unsettled: conventions.unsettled(),
        repeated_headers: store.repeated_headers.clone(),
        keep: (path == "-").then_some(table),
    };
    Ok((info, LoadedFile { store, conventions }))
}

/// `table`'s header row when it is not its first (`None` when it is) and its mapping. Reads
/// rows only when the first is not the header: `table` must then be reopened at the row found.
fn header_of(
    table: &mut Table,
    opts: &LoadOptions,
    wanted: Wanted<'_>,
) -> Result<(Option<u64>, mapping::Mapping), String> {
    let first_column = table.first_column();
    match wanted.map(table.headers(), first_column, opts) {
        Ok(mapping) => Ok((None, mapping)),
        Err(e) => find_header(table, opts, wanted, e).map(|(row, m)| (Some(row), m)),
    }
}

/// A CSV whose delimiter was sniffed, read with each other one: the first under which a header
/// is found, with its header row and mapping.
fn other_delimiters(
    table: &Table,
    opts: &LoadOptions,
    wanted: Wanted<'_>,
) -> Option<(Table, (Option<u64>, mapping::Mapping))> {
    let sniffed = table
        .delimiter()
        .filter(|_| opts.read.delimiter.is_none())?;
    source::DELIMITERS
        .iter()
        .filter(|&&d| d != sniffed)
        .find_map(|&d| {
            let mut other = table.with_delimiter(d).ok()?;
            let found = header_of(&mut other, opts, wanted).ok()?;
            Some((other, found))
        })
}

/// What a file's header must map.
#[derive(Debug, Clone, Copy)]
struct Wanted<'a> {
    /// The fields this file must have a column for.
    required: &'a [Field],
    /// Whether the run has several inputs: a `--map` for a column this one lacks is passed over
    /// (another input may have it; [`unmatched_overrides`] says when none has).
    several: bool,
}

impl Wanted<'_> {
    fn map(
        self,
        headers: &[String],
        first_column: usize,
        opts: &LoadOptions,
    ) -> Result<mapping::Mapping, mapping::MappingError> {
        let columns = mapping::Columns {
            headers,
            first_column,
        };
        mapping::map_columns(columns, &opts.overrides, self.required, self.several)
    }
}

/// How many rows under a first row that is not a header are looked at for one.
const HEADER_SEARCH_ROWS: usize = 20;

/// The header of a table whose first row is not one (`first` says why): the first of the
/// [`HEADER_SEARCH_ROWS`] rows after it that maps to every required field, and its mapping. A
/// title above the header (a report's name, a date) is common in ERP exports. Reads `table`'s
/// rows: it must be reopened after.
///
/// The error when there is none speaks of the row that looks most like a header (the most cells
/// named like a field), since the first may be a title; and of the workbook's other sheets, since
/// the one read may be a cover.
fn find_header(
    table: &mut Table,
    opts: &LoadOptions,
    wanted: Wanted<'_>,
    first: mapping::MappingError,
) -> Result<(u64, mapping::Mapping), String> {
    let source = table.source().to_string();
    if let Some(row) = opts.read.header_row {
        return Err(format!(
            "{source}: row {row}, the header by --header-row (or header_row in the config): \
             {first}"
        ));
    }
    let first_column = table.first_column();
    let mut likest = (
        mapping::header_likeness(table.headers()),
        table.header_row(),
        first,
    );
    for _ in 0..HEADER_SEARCH_ROWS {
        let row = match table.next_row() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(_) => continue,
        };
        let cells = row.texts();
        match wanted.map(&cells, first_column, opts) {
            Ok(mapping) => return Ok((row.number(), mapping)),
            Err(e) => {
                let likeness = mapping::header_likeness(&cells);
                if likeness > likest.0 {
                    likest = (likeness, row.number(), e);
                }
            }
        }
    }
    let (_, row, e) = likest;
    let title_like = table.headers().iter().filter(|h| !h.is_empty()).count() <= 1;
    let mut message = match row == table.header_row() {
        true if title_like => format!(
            "{source}: {e} (if the header is further down, --header-row N says which row is)"
        ),
        true => format!("{source}: {e}"),
        false => format!("{source}: row {row} looks like the header, but {e}"),
    };
    if !table.unread_sheets().is_empty() {
        message.push_str(&format!(
            "; the workbook's other sheets are {} (--sheet NAME reads one)",
            mapping::quoted(table.unread_sheets())
        ));
    }
    // Headers read in the wrong encoding ('PreÃ§o') match nothing.
    if let Some(doubt) = table.encoding_doubt() {
        message.push_str(&format!("; the file was {doubt}"));
    }
    Err(message)
}

/// What the user should be told about how `table` was read.
fn notes(
    table: &Table,
    (repeated_headers, totals_rows): (&[u64], &[u64]),
    sheet: Option<&str>,
) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(doubt) = table.encoding_doubt() {
        notes.push(format!("{}: {doubt}", table.source()));
    }
    let above: Vec<u64> = table.above_header().iter().map(|(n, _)| *n).collect();
    if let [first, ..] = above[..] {
        let (rows, were) = match above.len() {
            1 => (format!("row {first}"), "was"),
            _ => (format!("rows {}", compress_rows(&above)), "were"),
        };
        notes.push(format!(
            "{}: the header is row {}; {rows} above it {were} passed over (a title, not \
             invoices)",
            table.source(),
            table.header_row()
        ));
    }
    if let (Some(sheet), true) = (sheet, table.is_csv()) {
        // Not an error: one --sheet serves the workbooks of a run that has CSVs beside them.
        notes.push(format!(
            "{}: --sheet '{sheet}' does not apply, a CSV has no sheets; it was read as it is",
            table.source()
        ));
    }
    if !table.unread_sheets().is_empty() {
        notes.push(format!(
            "{}: only its first sheet with data was read; its other sheets ({}) were not \
             (--sheet NAME reads another)",
            table.source(),
            mapping::quoted(table.unread_sheets())
        ));
    }
    let read_hidden = table
        .source()
        .sheet
        .as_deref()
        .filter(|read| table.hidden_sheets().iter().any(|h| h.as_str() == *read));
    if let Some(sheet) = read_hidden {
        notes.push(format!(
            "{}: sheet '{sheet}' is hidden, and was read as no visible sheet has data",
            table.source(),
        ));
    } else if let [one] = table.hidden_sheets() {
        notes.push(format!(
            "{}: its hidden sheet '{one}' was passed over (--sheet '{one}' reads it)",
            table.source(),
        ));
    } else if !table.hidden_sheets().is_empty() {
        notes.push(format!(
            "{}: its hidden sheets ({}) were passed over (--sheet NAME reads one)",
            table.source(),
            mapping::quoted(table.hidden_sheets())
        ));
    }
    if !repeated_headers.is_empty() {
        let (rows, repeat, were) = match repeated_headers.len() {
            1 => ("row", "repeats", "was"),
            _ => ("rows", "repeat", "were"),
        };
        notes.push(format!(
            "{}: {rows} {} {repeat} the header row (or the title above it) and {were} passed \
             over, not read as invoices",
            table.source(),
            compress_rows(repeated_headers),
        ));
    }
    if !totals_rows.is_empty() {
        let (rows, look, were) = match totals_rows.len() {
            1 => ("row", "looks", "was"),
            _ => ("rows", "look", "were"),
        };
        notes.push(format!(
            "{}: {rows} {} {look} like totals, a footer or an empty line (no order id or \
             invoice number and no item, with a cell that says Total, a line of text alone, or \
             nothing but zeros and dashes) and {were} passed over, not read as invoices",
            table.source(),
            compress_rows(totals_rows),
        ));
    }
    notes
}

/// CSV records read and not yet parsed, in buffers that go back and forth between threads.
#[derive(Default)]
struct RecordBatch {
    block: source::RecordBlock,
    /// Records that could not be read, with how many good ones come before them in the batch.
    errors: Vec<(usize, String)>,
}

/// A batch of records is handed on at this many bytes even if it has fewer than
/// [`parse::BATCH_ROWS`] records (a file of huge cells).
const BATCH_BYTES: usize = 16 << 20;

/// Takes a lock even if another thread panicked holding it: the data is plain buffers.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads, parses and groups one table's rows, on every core. The reading thread reads; for a
/// CSV, parsing threads turn each batch of records into readings; one thread groups the
/// batches in reading order. (A workbook's rows are already in memory after calamine's read,
/// so the reading thread parses them itself.) Returns the rows read, the columns' votes and the
/// grouped invoices.
fn read_rows(
    table: &mut Table,
    source: u32,
    columns: (&[String], &Mapping),
    opts: &LoadOptions,
    item_text: ItemText,
) -> (u64, Votes, FileStore) {
    let parser = RowParser::new(source, columns, opts, item_text)
        .csv(table.delimiter())
        .titles(table.above_header());
    // The reading and grouping threads take a core's worth between them; the rest parse.
    // (Measured on 2 cores: one parser beats two, which only add switching.)
    let parsers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .saturating_sub(1)
        .clamp(1, 4);
    // Each batch reaches the grouper, in reading order, as the receiver its parser answers on;
    // the bound keeps a fast reader from running far ahead of the others.
    let (order_tx, order_rx) = mpsc::sync_channel::<mpsc::Receiver<RowBatch>>(parsers + 1);
    let (job_tx, job_rx) = mpsc::channel::<(RecordBatch, mpsc::SyncSender<RowBatch>)>();
    // `None` once a parsing thread has panicked: the queue is then dropped, so the reader's next
    // send fails and the grouper's waits end, and the panic surfaces instead of a hang.
    let job_rx = Mutex::new(Some(job_rx));
    let free_records: Mutex<Vec<RecordBatch>> = Mutex::new(Vec::new());
    let free_rows: Mutex<Vec<RowBatch>> = Mutex::new(Vec::new());

    std::thread::scope(|scope| {
        let grouper = scope.spawn(|| {
            let mut store = FileStore::new(source);
            let mut votes = Votes::default();
            for pending in order_rx {
                // A parser that is gone panicked; its scope reports that when it ends.
                let Ok(mut batch) = pending.recv() else {
                    continue;
                };
                store.add_batch(&batch);
                votes.merge(batch.votes);
                batch.clear();
                lock(&free_rows).push(batch);
            }
            store.finish();
            (store, votes)
        });

        let mut rows = 0u64;
        // A malformed record costs only itself: say so and read on.
        let mut consecutive_errors = 0;
        if table.is_csv() {
            for _ in 0..parsers {
                scope.spawn(|| {
                    let _guard = DropQueueOnPanic(&job_rx);
                    loop {
                        let job = match lock(&job_rx).as_ref() {
                            Some(queue) => queue.recv(),
                            None => break,
                        };
                        let Ok((mut records, done)) = job else { break };
                        let mut batch = lock(&free_rows).pop().unwrap_or_default();
                        parse_records(&parser, &records, &mut batch);
                        let _ = done.send(batch);
                        records.block.clear();
                        records.errors.clear();
                        lock(&free_records).push(records);
                    }
                });
            }
            let mut records = RecordBatch::default();
            loop {
                match table.next_record_into(&mut records.block) {
                    Some(Ok(Some(_))) => {
                        consecutive_errors = 0;
                        rows += 1;
                    }
                    Some(Ok(None)) | None => break,
                    Some(Err(err)) => {
                        consecutive_errors += 1;
                        records.errors.push((records.block.len(), err.to_string()));
                        if consecutive_errors >= MAX_CONSECUTIVE_ERRORS {
                            break;
                        }
                    }
                }
                if records.block.len() >= parse::BATCH_ROWS
                    || records.block.byte_len() >= BATCH_BYTES
                {
                    let next = lock(&free_records).pop().unwrap_or_default();
                    let full = std::mem::replace(&mut records, next);
                    let (done, answer) = mpsc::sync_channel(1);
                    if job_tx.send((full, done)).is_err() || order_tx.send(answer).is_err() {
                        break;
                    }
                }
            }
            let (done, answer) = mpsc::sync_channel(1);
            if job_tx.send((records, done)).is_ok() {
                let _ = order_tx.send(answer);
            }
        } else {
            let mut batch = RowBatch::default();
            loop {
                match table.next_row() {
                    Ok(Some(row)) => {
                        consecutive_errors = 0;
                        rows += 1;
                        parser.parse(&row, &mut batch);
                    }
                    Ok(None) => break,
                    Err(err) => {
                        consecutive_errors += 1;
                        parser.unreadable(err.to_string(), &mut batch);
                        if consecutive_errors >= MAX_CONSECUTIVE_ERRORS {
                            break;
                        }
                    }
                }
                if batch.is_full() {
                    let next = lock(&free_rows).pop().unwrap_or_default();
                    let (done, answer) = mpsc::sync_channel(1);
                    let _ = done.send(std::mem::replace(&mut batch, next));
                    if order_tx.send(answer).is_err() {
                        break;
                    }
                }
            }
            let (done, answer) = mpsc::sync_channel(1);
            let _ = done.send(batch);
            let _ = order_tx.send(answer);
        }
        // No more work: the parsers and then the grouper finish.
        drop(job_tx);
        drop(order_tx);
        let (store, votes) = match grouper.join() {
            Ok(done) => done,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        (rows, votes, store)
    })
}

/// Drops the parsing queue if its thread unwinds; see `read_rows`.
struct DropQueueOnPanic<'a, T>(&'a Mutex<Option<T>>);

impl<T> Drop for DropQueueOnPanic<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            lock(self.0).take();
        }
    }
}

/// Parses a batch of CSV records, with the unreadable ones in their places.
fn parse_records(parser: &RowParser<'_>, records: &RecordBatch, batch: &mut RowBatch) {
    let mut errors = records.errors.iter().peekable();
    let text = records.block.text();
    for k in 0..records.block.len() {
        while let Some((_, message)) = errors.next_if(|(at, _)| *at <= k) {
            parser.unreadable(message.clone(), batch);
        }
        match records.block.row(text, k) {
            Some(Ok(row)) => {
                // A test makes a parsing thread panic with this order id, to prove that a
                // panic there surfaces and does not leave the other threads waiting.
                #[cfg(test)]
                if row.text(0) == tests::PANIC_ORDER_ID {
                    panic!("parser panic for a test");
                }
                match records.block.record_fault(k) {
                    Some(fault) => parser.parse_record_fault(&row, fault, batch),
                    None => parser.parse(&row, batch),
                }
            }
            // Some field is not UTF-8: read the others, and that field is the row's problem.
            Some(Err(record)) => {
                let (text, bad) = source::record_by_field(&record);
                let number = records.block.number(k).unwrap_or_default();
                parser.parse_with_bad_cells(
                    &source::Row::of_text_record(number, &text),
                    &bad,
                    batch,
                );
            }
            None => {}
        }
    }
    for (_, message) in errors {
        parser.unreadable(message.clone(), batch);
    }
    parser.settle_widths(batch);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn opts() -> LoadOptions {
        LoadOptions {
            read: ReadOptions::default(),
            overrides: Vec::new(),
            required: vec![Field::OrderId, Field::InvoiceNumber],
            needed: Vec::new(),
            decimal: None,
            date_format: None,
            timezone: chrono_tz::America::Sao_Paulo,
            timezone_given: true,
        }
    }

    /// Writes each body as `in{i}.csv` in `dir`; their paths, in order.
    fn write_inputs<B: AsRef<[u8]>>(dir: &tempfile::TempDir, bodies: &[B]) -> Vec<String> {
        bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                let path = dir.path().join(format!("in{i}.csv"));
                std::fs::write(&path, body).expect("write input");
                path.to_string_lossy().into_owned()
            })
            .collect()
    }

    /// Writes each file in a fresh directory and loads them all, in order.
    fn load_files(files: &[&str]) -> Batch {
        let dir = tempfile::tempdir().expect("temp dir");
        load(&write_inputs(&dir, files), &opts())
    }

    const HEAD: &str = "Order ID,Invoice Number,Issuance Date,SKU,Description,Quantity,Unit Price,Invoice Value,Courier\n";

    fn messages(inv: &Invoice) -> Vec<&str> {
        inv.problems.iter().map(|p| p.message.as_str()).collect()
    }

    /// `csv` loaded with its encoding given as UTF-8, so a stray byte is not taken as a sign
    /// of Windows-1252.
    fn load_as_utf8(csv: Vec<u8>) -> Batch {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut o = opts();
        o.read.encoding = Some(encoding_rs::UTF_8);
        load(&write_inputs(&dir, &[csv]), &o)
    }

    /// Found by the group_check fuzz target: a last line cut short that reads as nothing
    /// (`-`) was passed over as a totals row and named as cut off, so it was counted out of
    /// the rows read and among the rows of no invoice at once.
    #[test]
    fn a_cut_off_last_row_that_reads_as_nothing_counts_once_and_is_named() {
        let mut csv = HEAD.as_bytes().to_vec();
        csv.extend_from_slice(b"O1,N1,2024-01-31,A,Pen,1,1.00,,\n-");
        let batch = load_as_utf8(csv);
        assert_eq!(batch.rows, 2);
        let grouped: usize = batch.invoices.iter().map(|i| i.rows.len()).sum();
        assert_eq!(grouped, 1);
        assert_eq!(batch.row_errors.len(), 1);
        let error = &batch.row_errors[0];
        assert_eq!(error.row, Some(3));
        assert!(error.message.contains("looks cut off"), "{}", error.message);
    }

    #[test]
    fn a_row_that_is_not_utf8_counts_once_and_is_named() {
        // Found by the group_check fuzz target: the row was counted as read but its problem had
        // no row number, so it was in no invoice and among no row errors.
        let mut csv = HEAD.as_bytes().to_vec();
        csv.extend_from_slice(b"O1,N1,2024-01-31,A,Pen,1,1.00,,\n");
        csv.extend_from_slice(b"O2,N\xff2,2024-01-31,B,Ink,1,2.00,,\n");
        let batch = load_as_utf8(csv);
        assert_eq!(batch.rows, 2);
        let grouped: usize = batch.invoices.iter().map(|i| i.rows.len()).sum();
        assert_eq!(grouped, 1);
        assert_eq!(batch.row_errors.len(), 1);
        let error = &batch.row_errors[0];
        assert_eq!(error.row, Some(3));
        assert!(
            error.message.starts_with("not valid UTF-8"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_cell_that_is_not_utf8_is_a_problem_of_its_invoice() {
        // Bug: the whole row went among the rows of no invoice, and the rest of its invoice
        // was valid without it. A bad byte in a column no field reads costs nothing.
        let mut csv =
            b"Order ID,Invoice Number,Issuance Date,SKU,Description,Quantity,Unit Price,Notes\n"
                .to_vec();
        csv.extend_from_slice(b"O1,N1,2024-01-31,A,Caf\xe9,1,1.00,\n");
        csv.extend_from_slice(b"O1,N1,2024-01-31,B,Tea,1,2.00,\n");
        csv.extend_from_slice(b"O2,N2,2024-01-31,C,Pen,1,3.00,\xff\n");
        let batch = load_as_utf8(csv);
        assert!(batch.row_errors.is_empty(), "{:?}", batch.row_errors);
        let [first, second] = batch.invoices.as_slice() else {
            panic!("two invoices: {:?}", batch.invoices)
        };
        assert_eq!(first.rows.len(), 2);
        assert_eq!(first.problems.len(), 1, "{:?}", first.problems);
        let problem = &first.problems[0];
        assert_eq!(
            (problem.row, problem.field),
            (Some(2), Some(Field::ItemDescription))
        );
        assert!(
            problem
                .message
                .starts_with("not valid UTF-8 text (byte 0xE9")
        );
        assert!(second.problems.is_empty(), "{:?}", second.problems);
        assert_eq!(second.items[0].description.as_deref(), Some("Pen"));
    }

    #[test]
    fn a_verdict_build_judges_as_the_full_one() {
        use crate::validate::{Checked, SharedNumbers, Validated, validate_one};
        // Valid; a total that disagrees; an item without an id; a price that can't be read; a
        // shared invoice number; an invoice across two files.
        let a = format!(
            "{HEAD}O1,N1,2024-01-31,A,Pen,2,1.00,2.00,\nO2,N2,2024-01-31,B,Ink,1,2.00,9.00,\n\
             O3,N3,2024-01-31,,Pad,1,3.00,,\nO4,N4,2024-01-31,C,Cap,1,x,,\n\
             O5,N1,2024-01-31,D,Mug,1,4.00,,\nO6,N6,2024-01-31,E,Bag,1,5.00,,\n"
        );
        let b = format!("{HEAD}O6,N6,,F,Box,1,6.00,,\n");
        let dir = tempfile::tempdir().expect("temp dir");
        let paths = write_inputs(&dir, &[a, b]);
        let (_, pending) = load_pending(&paths, &opts());
        let (_, lean_store) = load_for_verdicts(&paths, &opts());
        let shared = SharedNumbers::find(pending.len(), |i| pending.key(i), Default::default());
        let verdict = |checked: Checked| match checked {
            Checked::Valid(v) => Ok(v.value_cents()),
            Checked::Invalid(i) => Err(i.problems),
        };
        assert_eq!(pending.len(), 6);
        assert_eq!(lean_store.len(), 6);
        // One invoice built over another, as `check` does, in an order that puts a small valid
        // one over a large invalid one and the other way round.
        let mut reused = Invoice::default();
        for i in (0..pending.len()).rev() {
            let full = pending.get(i).expect("invoice");
            let builds = [
                pending.get_for_verdict(i).expect("invoice"),
                lean_store.get_for_verdict(i).expect("invoice"),
            ];
            let expected = verdict(validate_one(full.clone(), &shared));
            assert!(lean_store.get_for_verdict_into(i, &mut reused));
            assert_eq!(reused, builds[1], "invoice {i} built over another");
            let value = crate::validate::verdict(&mut reused, &shared);
            match &expected {
                Ok(cents) => assert_eq!(value, Some(*cents), "invoice {i}"),
                Err(problems) => {
                    assert_eq!(value, None, "invoice {i}");
                    assert_eq!(&reused.problems, problems, "invoice {i}");
                }
            }
            for lean in builds {
                assert_eq!(lean.items.len(), full.items.len());
                assert_eq!(
                    verdict(validate_one(lean, &shared)),
                    expected,
                    "invoice {i}"
                );
            }
        }
        assert!(!lean_store.get_for_verdict_into(pending.len(), &mut reused));
    }

    #[test]
    fn invoice_across_two_files_merges_items_and_rows() {
        let a = format!("{HEAD}O1,N1,2024-01-31,A,Pen,1,1.00,,\nO2,N2,2024-01-31,B,Ink,2,2.00,,\n");
        let b = format!("{HEAD}O3,N3,2024-01-31,C,Pad,1,3.00,,\nO1,N1,,,,,,,UPS\n");
        let batch = load_files(&[&a, &b]);
        let keys: Vec<(&str, &str)> = batch
            .invoices
            .iter()
            .map(|i| (i.order_id.as_str(), i.invoice_number.as_str()))
            .collect();
        assert_eq!(keys, [("O1", "N1"), ("O2", "N2"), ("O3", "N3")]);
        let o1 = &batch.invoices[0];
        let ids: Vec<_> = o1.items.iter().map(|i| i.id.as_deref()).collect();
        assert_eq!(ids, [Some("A")]);
        assert_eq!(o1.courier.as_ref().map(|c| c.value.as_str()), Some("UPS"));
        assert_eq!(
            o1.rows,
            [RowRef { source: 0, row: 2 }, RowRef { source: 1, row: 3 }]
        );
        assert!(o1.problems.is_empty(), "{:?}", o1.problems);
    }

    /// Found by a review: a day's export beside a re-export that repeats some of its rows
    /// sent those invoices with every item twice, at twice the value, when the files had no
    /// value column to disagree with.
    #[test]
    fn an_invoice_s_items_in_two_inputs_are_a_problem() {
        let a = format!("{HEAD}O1,N1,2024-01-31,A,Pen,1,1.00,,\nO2,N2,2024-01-31,B,Ink,2,2.00,,\n");
        let b = format!("{HEAD}O2,N2,2024-01-31,B,Ink,2,2.00,,\nO3,N3,2024-01-31,C,Pad,1,3.00,,\n");
        let batch = load_files(&[&a, &b]);
        let problems: Vec<_> = batch.invoices.iter().map(|i| i.problems.len()).collect();
        assert_eq!(problems, [0, 1, 0]);
        let o2 = &batch.invoices[1];
        assert_eq!(o2.problems[0].source, 1);
        assert_eq!(o2.problems[0].row, Some(2));
        assert!(
            messages(o2)[0].contains("items in two inputs (row 3 of input #1 has one too)"),
            "{:?}",
            o2.problems
        );
    }

    #[test]
    fn disagreement_across_files_names_the_other_input() {
        let a = format!("{HEAD}O1,N1,2024-01-31,A,Pen,1,1.00,1.00,UPS\n");
        let b = format!("{HEAD}O1,N1,2024-01-31,,,,,1.00,DHL\n");
        let batch = load_files(&[&a, &b]);
        let inv = &batch.invoices[0];
        assert_eq!(inv.problems.len(), 1, "{:?}", inv.problems);
        let msg = messages(inv)[0];
        assert!(
            msg.contains("'DHL' here but 'UPS' on row 2 of input #1"),
            "{msg}"
        );
        assert_eq!(inv.problems[0].source, 1);
    }

    #[test]
    fn rows_without_items_keep_their_place() {
        let body = format!(
            "{HEAD}O1,N1,2024-01-31,A,Pen,1,1.00,,\n\
             O1,N1,,,,,,3.00,UPS\n\
             O2,N2,2024-01-31,B,Ink,1,1.00,,\n\
             O1,N1,,C,Cap,1,2.00,,\n"
        );
        let batch = load_files(&[&body]);
        let o1 = &batch.invoices[0];
        let rows: Vec<u64> = o1.rows.iter().map(|r| r.row).collect();
        assert_eq!(rows, [2, 3, 5]);
        assert_eq!(o1.items.len(), 2);
        assert!(o1.problems.is_empty(), "{:?}", o1.problems);
        assert_eq!(
            o1.invoice_value.as_ref().map(|s| (s.value, s.at.row)),
            Some((300, 3))
        );
        assert_eq!(o1.courier.as_ref().map(|s| s.value.as_str()), Some("UPS"));
    }

    #[test]
    fn a_value_written_two_ways_agrees_and_a_different_one_does_not() {
        let body = "Pedido;NF;Data;SKU;Qtd;Preço;Valor\n\
                    O1;N1;31/01/2024;A;1;10,00;10\n\
                    O1;N1;31/01/2024;B;1;0,00;10,00\n\
                    O2;N2;31/01/2024;A;1;1.234,00;1.234,00\n\
                    O2;N2;31/01/2024;B;1;0,00;1.235,00\n";
        let batch = load_files(&[body]);
        assert!(
            batch.invoices[0].problems.is_empty(),
            "{:?}",
            batch.invoices[0].problems
        );
        let o2 = messages(&batch.invoices[1]);
        assert_eq!(o2.len(), 1, "{o2:?}");
        assert!(
            o2[0].contains("'1.235,00' here but '1.234,00' on row 4"),
            "{}",
            o2[0]
        );
    }

    #[test]
    fn descriptions_kept_once_come_back_per_item_and_big_quantities_are_exact() {
        let body = format!(
            "{HEAD}O1,N1,2024-01-31,A,Pen,1,1.00,,\n\
             O1,N1,,B,Pen,5000000000,1.00,,\n\
             O1,N1,,C,,2,1.00,,\n\
             O2,N2,2024-01-31,D,Ink,3,1.00,,\n"
        );
        let batch = load_files(&[&body]);
        let items: Vec<(Option<&str>, Option<i64>)> = batch
            .invoices
            .iter()
            .flat_map(|i| &i.items)
            .map(|it| (it.description.as_deref(), it.quantity))
            .collect();
        assert_eq!(
            items,
            [
                (Some("Pen"), Some(1)),
                (Some("Pen"), Some(5_000_000_000)),
                (None, Some(2)),
                (Some("Ink"), Some(3)),
            ]
        );
    }

    pub(super) const PANIC_ORDER_ID: &str = "PANIC-IN-PARSER";

    /// A panic in a parsing thread (a bug) ends the load with that panic: the reader and the
    /// grouper stop waiting for batches nobody will parse. Checked with a deadline, so a hang
    /// fails the test rather than the test run.
    #[test]
    fn a_parser_panic_surfaces_instead_of_hanging() {
        let mut body = String::from(HEAD);
        for i in 0..3 * parse::BATCH_ROWS {
            let order = if i == parse::BATCH_ROWS + 5 {
                PANIC_ORDER_ID.to_string()
            } else {
                format!("O{i}")
            };
            body.push_str(&format!("{order},N{i},2024-01-31,A,Pen,1,1.00,,\n"));
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let outcome = std::panic::catch_unwind(|| load_files(&[&body]).invoices.len());
            let _ = tx.send(outcome.is_err());
        });
        let panicked = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the load hung after a parser panic");
        assert!(panicked, "the parser's panic was lost");
    }

    /// An item's id, quantity, price and description.
    type ItemParts = (Option<String>, Option<i64>, Option<i64>, Option<String>);

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// However the rows are ordered, the same invoices come out, each with the same items.
        #[test]
        fn row_order_does_not_change_the_invoices(
            lines in proptest::collection::vec((0u8..6, 0u8..3, 1u16..500, 0u32..100_000), 1..60),
            seed in any::<u64>(),
        ) {
            let row = |&(order, number, quantity, cents): &(u8, u8, u16, u32)| {
                format!(
                    "O{order},N{order}-{number},2024-01-31,S{quantity},D{},{quantity},{}.{:02},,\n",
                    quantity % 7,
                    cents / 100,
                    cents % 100
                )
            };
            let grouped: String = std::iter::once(HEAD.to_string()).chain(lines.iter().map(row)).collect();
            let mut shuffled_lines = lines.clone();
            // A Fisher-Yates shuffle from the seed: no RNG crate needed for a permutation.
            let mut state = seed | 1;
            for i in (1..shuffled_lines.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                shuffled_lines.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let shuffled: String =
                std::iter::once(HEAD.to_string()).chain(shuffled_lines.iter().map(row)).collect();
            let summary = |batch: Batch| {
                let mut out: Vec<(String, String, Vec<ItemParts>)> = batch
                    .invoices
                    .into_iter()
                    .map(|i| {
                        let mut items: Vec<_> = i
                            .items
                            .into_iter()
                            .map(|it| (it.id, it.quantity, it.price, it.description))
                            .collect();
                        items.sort();
                        (i.order_id, i.invoice_number, items)
                    })
                    .collect();
                out.sort();
                out
            };
            prop_assert_eq!(summary(load_files(&[&grouped])), summary(load_files(&[&shuffled])));
        }
    }
}
