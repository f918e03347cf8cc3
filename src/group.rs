//! Rows → invoices keyed by (order id, invoice number), over every input file.
//!
//! Each file streams through once. A row's mapped cells are read into compact typed readings
//! (money and dates keep both possible interpretations, because a column's decimal separator and
//! day/month order are only known once the whole column has been seen), and the row joins its
//! invoice at once, so memory holds invoices and items, never the file's rows. When a file ends,
//! its columns' conventions are settled, readings become cents and timestamps, and the file's
//! invoices merge into the batch. Rows of one invoice need not be adjacent, nor in one file.

use std::fmt;

use chrono::{DateTime, FixedOffset};
use indexmap::IndexMap;

use crate::mapping::{self, Field, Mapping, Override};
use crate::source::{self, CellRef, ReadOptions, Row, SourceRef, Table};
use crate::values::date::{self, DateFormat, DateReading, DayOrder, DayOrderVote};
use crate::values::id::{self, InvoiceType};
use crate::values::money::{self, DecimalSeparator, MoneyReading, SeparatorVote};

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
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// How to read and group the inputs: everything a user can say about them.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub read: ReadOptions,
    pub overrides: Vec<Override>,
    /// Columns that must exist in every file.
    pub required: Vec<Field>,
    pub decimal: Option<DecimalSeparator>,
    pub date_format: Option<DateFormat>,
    pub timezone: chrono_tz::Tz,
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
    let mut batch = Batch::default();
    let mut merged: IndexMap<(String, String), Invoice> = IndexMap::new();
    for path in paths {
        let source_id = batch.sources.len() as u32;
        match load_file(path, source_id, opts) {
            Ok((info, invoices, row_errors)) => {
                batch.rows += info.rows;
                batch.sources.push(info);
                batch.row_errors.extend(row_errors);
                for invoice in invoices {
                    merge(&mut merged, invoice);
                }
            }
            Err(message) => batch.file_errors.push(FileError {
                path: path.clone(),
                message,
            }),
        }
    }
    batch.invoices = merged.into_values().collect();
    batch
}

fn merge(merged: &mut IndexMap<(String, String), Invoice>, invoice: Invoice) {
    let key = (invoice.order_id.clone(), invoice.invoice_number.clone());
    let Some(existing) = merged.get_mut(&key) else {
        merged.insert(key, invoice);
        return;
    };
    let problems = &mut existing.problems;
    merge_slot(&mut existing.kind, invoice.kind, Field::Type, problems);
    merge_slot(
        &mut existing.issuance_date,
        invoice.issuance_date,
        Field::IssuanceDate,
        problems,
    );
    merge_slot(
        &mut existing.invoice_value,
        invoice.invoice_value,
        Field::InvoiceValue,
        problems,
    );
    merge_slot(
        &mut existing.freight,
        invoice.freight,
        Field::Freight,
        problems,
    );
    merge_slot(
        &mut existing.invoice_key,
        invoice.invoice_key,
        Field::InvoiceKey,
        problems,
    );
    merge_slot(
        &mut existing.invoice_url,
        invoice.invoice_url,
        Field::InvoiceUrl,
        problems,
    );
    merge_slot(
        &mut existing.courier,
        invoice.courier,
        Field::Courier,
        problems,
    );
    merge_slot(
        &mut existing.tracking_number,
        invoice.tracking_number,
        Field::TrackingNumber,
        problems,
    );
    merge_slot(
        &mut existing.tracking_url,
        invoice.tracking_url,
        Field::TrackingUrl,
        problems,
    );
    merge_slot(
        &mut existing.dispatched_date,
        invoice.dispatched_date,
        Field::DispatchedDate,
        problems,
    );
    existing.items.extend(invoice.items);
    existing.rows.extend(invoice.rows);
    existing.problems.extend(invoice.problems);
}

fn merge_slot<T: PartialEq + Shown>(
    into: &mut Option<Sourced<T>>,
    from: Option<Sourced<T>>,
    field: Field,
    problems: &mut Vec<Problem>,
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
                ));
            }
        }
    }
}

/// How a settled value reads in a message: money as `1234.56`, timestamps as the API gets them.
trait Shown {
    fn shown(&self) -> String;
}

impl Shown for i64 {
    fn shown(&self) -> String {
        crate::report::money_plain(*self)
    }
}

impl Shown for Timestamp {
    fn shown(&self) -> String {
        date::to_api(self)
    }
}

impl Shown for String {
    fn shown(&self) -> String {
        self.clone()
    }
}

impl Shown for InvoiceType {
    fn shown(&self) -> String {
        self.to_string()
    }
}

fn disagreement<T: Shown>(
    field: Field,
    first_at: RowRef,
    first: &T,
    other_at: RowRef,
    other: &T,
) -> Problem {
    let (first, other) = (first.shown(), other.shown());
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
            "{field} is '{other}' here but '{first}' on {where_first} of the same invoice; \
             an invoice has one {field}"
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// One file.

/// A field value as read from one row, before the file's conventions are settled.
#[derive(Debug, Clone, PartialEq)]
struct Slot<T> {
    first: Option<(T, u64)>,
    /// Values that differ from the first as read; they may still agree once settled
    /// ("10" and "10,00"), so the comparison is repeated then.
    others: Vec<(T, u64)>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            first: None,
            others: Vec::new(),
        }
    }
}

impl<T: PartialEq> Slot<T> {
    fn set(&mut self, value: T, row: u64) {
        match &self.first {
            None => self.first = Some((value, row)),
            Some((first, _)) if *first == value => {}
            Some(_) => {
                if !self.others.iter().any(|(v, _)| *v == value) {
                    self.others.push((value, row));
                }
            }
        }
    }
}

#[derive(Debug, Default)]
struct PendingItem {
    id: Option<String>,
    quantity: Option<i64>,
    price: Option<MoneyReading>,
    description: Option<String>,
    row: u64,
}

#[derive(Debug, Default)]
struct PendingInvoice {
    kind: Slot<InvoiceType>,
    issuance_date: Slot<DateReading>,
    invoice_value: Slot<MoneyReading>,
    freight: Slot<MoneyReading>,
    invoice_key: Slot<String>,
    invoice_url: Slot<String>,
    courier: Slot<String>,
    tracking_number: Slot<String>,
    tracking_url: Slot<String>,
    dispatched_date: Slot<DateReading>,
    items: Vec<PendingItem>,
    rows: Vec<u64>,
    problems: Vec<Problem>,
}

/// Per-column votes on conventions, settled when the file ends.
#[derive(Default)]
struct Votes {
    invoice_value: SeparatorVote,
    item_price: SeparatorVote,
    freight: SeparatorVote,
    issuance_date: DayOrderVote,
    dispatched_date: DayOrderVote,
}

struct FileReader<'a> {
    source: u32,
    mapping: &'a Mapping,
    opts: &'a LoadOptions,
    invoices: IndexMap<(String, String), PendingInvoice>,
    votes: Votes,
    row_errors: Vec<Problem>,
}

fn load_file(
    path: &str,
    source_id: u32,
    opts: &LoadOptions,
) -> Result<(SourceInfo, Vec<Invoice>, Vec<Problem>), String> {
    let mut table = source::open(path, &opts.read).map_err(|e| e.to_string())?;
    let headers = table.headers().to_vec();
    let mapping = mapping::map_headers(&headers, &opts.overrides, &opts.required)
        .map_err(|e| format!("{}: {e}", table.source()))?;
    let mut reader = FileReader {
        source: source_id,
        mapping: &mapping,
        opts,
        invoices: IndexMap::new(),
        votes: Votes::default(),
        row_errors: Vec::new(),
    };
    let mut rows = 0u64;
    // A malformed record costs only itself: say so and read on. An error that repeats without a
    // row in between (an I/O failure) would repeat forever, so a run of them ends the file.
    let mut consecutive_errors = 0;
    loop {
        match table.next_row() {
            Ok(Some(row)) => {
                consecutive_errors = 0;
                rows += 1;
                reader.add_row(&row);
            }
            Ok(None) => break,
            Err(err) => {
                consecutive_errors += 1;
                reader.row_errors.push(Problem {
                    source: source_id,
                    row: None,
                    field: None,
                    message: err.to_string(),
                });
                if consecutive_errors >= 100 {
                    break;
                }
            }
        }
    }
    let (invoices, row_errors) = reader.finish();
    let info = SourceInfo {
        path: path.to_string(),
        source: table.source().clone(),
        describe: table.describe(),
        header_row: table.header_row(),
        headers,
        mapping,
        rows,
        keep: (path == "-").then_some(table),
    };
    Ok((info, invoices, row_errors))
}

impl FileReader<'_> {
    fn problem(&self, row: u64, field: Field, message: impl fmt::Display) -> Problem {
        Problem {
            source: self.source,
            row: Some(row),
            field: Some(field),
            message: message.to_string(),
        }
    }

    /// The cell a field comes from, or `Empty` when the field has no column.
    fn cell<'r>(&self, row: &Row<'r>, field: Field) -> CellRef<'r> {
        match self.mapping.column(field) {
            Some(col) => row.get(col),
            None => CellRef::Empty,
        }
    }

    /// Reads one field with `parse`, turning an error into a problem on `problems`.
    fn read<T, E: fmt::Display>(
        &self,
        row: &Row<'_>,
        field: Field,
        problems: &mut Vec<Problem>,
        parse: impl FnOnce(CellRef<'_>) -> Result<Option<T>, E>,
    ) -> Option<T> {
        if !self.mapping.has(field) {
            return None;
        }
        match parse(self.cell(row, field)) {
            Ok(v) => v,
            Err(e) => {
                problems.push(self.problem(row.number(), field, e));
                None
            }
        }
    }

    fn add_row(&mut self, row: &Row<'_>) {
        let n = row.number();
        let mut problems = Vec::new();
        let key =
            |field: Field,
             what: &str,
             problems: &mut Vec<Problem>,
             parse: fn(CellRef<'_>) -> Result<Option<String>, id::IdError>| {
                let before = problems.len();
                let value = self.read(row, field, problems, parse);
                if value.is_none() && problems.len() == before {
                    problems.push(self.problem(n, field, format!("the {what} is empty")));
                }
                value
            };
        let order_id = key(Field::OrderId, "order id", &mut problems, id::id_from_cell);
        let invoice_number = key(
            Field::InvoiceNumber,
            "invoice number",
            &mut problems,
            id::invoice_number_from_cell,
        );
        let (Some(order_id), Some(invoice_number)) = (order_id, invoice_number) else {
            // Without both keys the row belongs to no invoice; it is reported on its own.
            self.row_errors.extend(problems);
            return;
        };

        let tz = self.opts.timezone;
        let fmt = self.opts.date_format.as_ref();
        let kind = self.read(row, Field::Type, &mut problems, id::invoice_type_from_cell);
        let issuance = self.read(row, Field::IssuanceDate, &mut problems, |c| {
            date::date_from_cell(c, tz, fmt)
        });
        let value = self.read(
            row,
            Field::InvoiceValue,
            &mut problems,
            money::money_from_cell,
        );
        let freight = self.read(row, Field::Freight, &mut problems, money::money_from_cell);
        let key = self.read(row, Field::InvoiceKey, &mut problems, id::text_from_cell);
        let url = self.read(row, Field::InvoiceUrl, &mut problems, id::url_from_cell);
        let courier = self.read(row, Field::Courier, &mut problems, id::text_from_cell);
        let tracking = self.read(
            row,
            Field::TrackingNumber,
            &mut problems,
            id::text_from_cell,
        );
        let tracking_url = self.read(row, Field::TrackingUrl, &mut problems, id::url_from_cell);
        let dispatched = self.read(row, Field::DispatchedDate, &mut problems, |c| {
            date::date_from_cell(c, tz, fmt)
        });
        let item_id = self.read(row, Field::ItemId, &mut problems, id::id_from_cell);
        let quantity = self.read(
            row,
            Field::ItemQuantity,
            &mut problems,
            id::quantity_from_cell,
        );
        let price = self.read(row, Field::ItemPrice, &mut problems, money::money_from_cell);
        let description = self.read(
            row,
            Field::ItemDescription,
            &mut problems,
            id::text_from_cell,
        );

        if let Some(r) = &value {
            self.votes.invoice_value.observe(r);
        }
        if let Some(r) = &freight {
            self.votes.freight.observe(r);
        }
        if let Some(r) = &price {
            self.votes.item_price.observe(r);
        }
        if let Some(r) = &issuance {
            self.votes.issuance_date.observe(r);
        }
        if let Some(r) = &dispatched {
            self.votes.dispatched_date.observe(r);
        }

        let item_cells_present = [
            Field::ItemId,
            Field::ItemQuantity,
            Field::ItemPrice,
            Field::ItemDescription,
        ]
        .into_iter()
        .any(|f| !is_blank(self.cell(row, f)));
        let inv = self.invoices.entry((order_id, invoice_number)).or_default();
        inv.rows.push(n);
        inv.problems.extend(problems);
        if let Some(v) = kind {
            inv.kind.set(v, n);
        }
        if let Some(v) = issuance {
            inv.issuance_date.set(v, n);
        }
        if let Some(v) = value {
            inv.invoice_value.set(v, n);
        }
        if let Some(v) = freight {
            inv.freight.set(v, n);
        }
        if let Some(v) = key {
            inv.invoice_key.set(v, n);
        }
        if let Some(v) = url {
            inv.invoice_url.set(v, n);
        }
        if let Some(v) = courier {
            inv.courier.set(v, n);
        }
        if let Some(v) = tracking {
            inv.tracking_number.set(v, n);
        }
        if let Some(v) = tracking_url {
            inv.tracking_url.set(v, n);
        }
        if let Some(v) = dispatched {
            inv.dispatched_date.set(v, n);
        }
        if item_cells_present {
            inv.items.push(PendingItem {
                id: item_id,
                quantity,
                price,
                description,
                row: n,
            });
        }
    }

    /// Settles the file's conventions and turns readings into values.
    fn finish(self) -> (Vec<Invoice>, Vec<Problem>) {
        let opts = self.opts;
        let sep = |vote: &SeparatorVote| -> Result<DecimalSeparator, String> {
            vote.resolve(opts.decimal).map_err(|e| e.to_string())
        };
        let order = |vote: &DayOrderVote| -> Result<DayOrder, String> {
            let forced = match &opts.date_format {
                Some(DateFormat::Order(o)) => Some(*o),
                _ => None,
            };
            vote.resolve(forced).map_err(|e| e.to_string())
        };
        let value_sep = sep(&self.votes.invoice_value);
        let price_sep = sep(&self.votes.item_price);
        let freight_sep = sep(&self.votes.freight);
        let issuance_order = order(&self.votes.issuance_date);
        let dispatched_order = order(&self.votes.dispatched_date);

        let mut out = Vec::with_capacity(self.invoices.len());
        for ((order_id, invoice_number), p) in &self.invoices {
            let mut problems = p.problems.clone();
            let settle_money = |slot: &Slot<MoneyReading>,
                                field,
                                sep: &Result<DecimalSeparator, String>,
                                problems: &mut Vec<Problem>| {
                self.settle(slot, field, problems, |r| money_cents(r, sep))
            };
            let settle_date = |slot: &Slot<DateReading>,
                               field,
                               order: &Result<DayOrder, String>,
                               problems: &mut Vec<Problem>| {
                self.settle(slot, field, problems, |r| date_timestamp(r, order))
            };
            let invoice_value = settle_money(
                &p.invoice_value,
                Field::InvoiceValue,
                &value_sep,
                &mut problems,
            );
            let freight = settle_money(&p.freight, Field::Freight, &freight_sep, &mut problems);
            let issuance_date = settle_date(
                &p.issuance_date,
                Field::IssuanceDate,
                &issuance_order,
                &mut problems,
            );
            let dispatched_date = settle_date(
                &p.dispatched_date,
                Field::DispatchedDate,
                &dispatched_order,
                &mut problems,
            );
            let kind = self.settle(&p.kind, Field::Type, &mut problems, |v| Ok(*v));
            let text = |slot: &Slot<String>, field, problems: &mut Vec<Problem>| {
                self.settle(slot, field, problems, |v| Ok(v.clone()))
            };
            let invoice_key = text(&p.invoice_key, Field::InvoiceKey, &mut problems);
            let invoice_url = text(&p.invoice_url, Field::InvoiceUrl, &mut problems);
            let courier = text(&p.courier, Field::Courier, &mut problems);
            let tracking_number = text(&p.tracking_number, Field::TrackingNumber, &mut problems);
            let tracking_url = text(&p.tracking_url, Field::TrackingUrl, &mut problems);

            let mut items = Vec::with_capacity(p.items.len());
            for it in &p.items {
                let price = it
                    .price
                    .as_ref()
                    .and_then(|r| match money_cents(r, &price_sep) {
                        Ok(c) => Some(c),
                        Err(msg) => {
                            problems.push(self.problem(it.row, Field::ItemPrice, msg));
                            None
                        }
                    });
                items.push(Item {
                    id: it.id.clone(),
                    quantity: it.quantity,
                    price,
                    description: it.description.clone(),
                    at: RowRef {
                        source: self.source,
                        row: it.row,
                    },
                });
            }
            out.push(Invoice {
                order_id: order_id.clone(),
                invoice_number: invoice_number.clone(),
                kind,
                issuance_date,
                invoice_value,
                freight,
                invoice_key,
                invoice_url,
                courier,
                tracking_number,
                tracking_url,
                dispatched_date,
                items,
                rows: p
                    .rows
                    .iter()
                    .map(|&row| RowRef {
                        source: self.source,
                        row,
                    })
                    .collect(),
                problems,
            });
        }
        (out, self.row_errors)
    }

    /// Converts a slot's first value, then checks that every other value agrees with it.
    fn settle<R, T: PartialEq + Shown>(
        &self,
        slot: &Slot<R>,
        field: Field,
        problems: &mut Vec<Problem>,
        convert: impl Fn(&R) -> Result<T, String>,
    ) -> Option<Sourced<T>> {
        let (first, first_row) = slot.first.as_ref()?;
        let at = |row: u64| RowRef {
            source: self.source,
            row,
        };
        let first = match convert(first) {
            Ok(v) => v,
            Err(msg) => {
                problems.push(self.problem(*first_row, field, msg));
                return None;
            }
        };
        for (other, row) in &slot.others {
            match convert(other) {
                Ok(v) if v == first => {}
                Ok(v) => problems.push(disagreement(field, at(*first_row), &first, at(*row), &v)),
                Err(msg) => problems.push(self.problem(*row, field, msg)),
            }
        }
        Some(Sourced {
            value: first,
            at: at(*first_row),
        })
    }
}

fn is_blank(cell: CellRef<'_>) -> bool {
    match cell {
        CellRef::Empty => true,
        CellRef::Text(t) => t.trim().is_empty(),
        _ => false,
    }
}

/// A money reading in cents under the column's separator. When the column stayed ambiguous, only
/// the ambiguous values fail: for the others either separator gives the same cents.
fn money_cents(r: &MoneyReading, sep: &Result<DecimalSeparator, String>) -> Result<i64, String> {
    match sep {
        Ok(s) => r.cents(*s).map_err(|e| e.to_string()),
        Err(msg) if r.evidence() == money::Evidence::Ambiguous => Err(msg.clone()),
        Err(_) => r.cents(DecimalSeparator::Point).map_err(|e| e.to_string()),
    }
}

/// A date reading under the column's day/month order; as [`money_cents`] for ambiguity.
fn date_timestamp(r: &DateReading, order: &Result<DayOrder, String>) -> Result<Timestamp, String> {
    match order {
        Ok(o) => r.timestamp(*o).map_err(|e| e.to_string()),
        Err(msg) if r.evidence() == date::Evidence::Ambiguous => Err(msg.clone()),
        Err(_) => r.timestamp(DayOrder::DayFirst).map_err(|e| e.to_string()),
    }
}
