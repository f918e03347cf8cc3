//! The `check` report: totals, then every problem with file, sheet, row, column, order and invoice,
//! as text for people or one JSON object for machines.

use std::fmt::Write as _;

use indexmap::IndexMap;
use serde::Serialize;

use crate::cli::Verbosity;
use crate::group::{Batch, Invoice, Location, Problem};
use crate::report::{counted, money_in};
use crate::validate::{Checked, Validated};

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub files: Vec<FileSummary>,
    pub rows: u64,
    pub invoices: usize,
    pub valid_invoices: usize,
    pub invalid_invoices: usize,
    /// Σ invoice value of the valid invoices, in cents.
    pub total_cents: i64,
    /// Σ invoice value of the invalid invoices whose rows say it
    /// ([`crate::validate::stated_value`]), in cents: the money waiting on fixes.
    pub invalid_cents: i64,
    /// Invalid invoices whose value their rows don't say.
    pub invalid_value_unknown: usize,
    pub invalid: Vec<InvalidInvoice>,
    /// Rows that can't be grouped into an invoice: each problem (a row may have two).
    pub row_errors: Vec<ErrorAt>,
    /// How many rows those are.
    pub rows_in_no_invoice: usize,
    /// Inputs that could not be read at all.
    pub file_errors: Vec<FileErrorOut>,
    /// Whether the checked things carry money (invoices do, tracking updates don't).
    #[serde(skip)]
    pub valued: bool,
    /// Whether amounts are shown with a decimal comma, as every input writes them.
    #[serde(skip)]
    pub decimal_comma: bool,
}

/// Verdicts counted, for a [`CheckReport`]: what is wrong is kept as problems, located only when
/// absorbed, so tallies can be made on several threads and absorbed in order.
#[derive(Debug, Default)]
pub struct Tally {
    invoices: usize,
    valid: usize,
    total_cents: i64,
    invalid_cents: i64,
    invalid_value_unknown: usize,
    invalid: Vec<(String, String, Vec<Problem>)>,
}

impl Tally {
    pub fn add<T: Validated>(&mut self, checked: &Checked<T>) {
        match checked {
            Checked::Valid(v) => self.add_valid(v.value_cents()),
            Checked::Invalid(i) => self.add_invalid(i),
        }
    }

    /// A [`crate::validate::verdict`] on `invoice`: its value when valid, else `None`.
    pub fn add_verdict(&mut self, invoice: &Invoice, value: Option<i64>) {
        match value {
            Some(cents) => self.add_valid(cents),
            None => self.add_invalid(invoice),
        }
    }

    /// How many invalid invoices it has counted.
    pub fn invalid(&self) -> usize {
        self.invalid.len()
    }

    fn add_valid(&mut self, cents: i64) {
        self.invoices += 1;
        self.valid += 1;
        self.total_cents = self.total_cents.saturating_add(cents);
    }

    fn add_invalid(&mut self, invoice: &Invoice) {
        self.invoices += 1;
        match crate::validate::stated_value(invoice) {
            Some(cents) => self.invalid_cents = self.invalid_cents.saturating_add(cents),
            None => self.invalid_value_unknown += 1,
        }
        self.invalid.push((
            invoice.order_id.clone(),
            invoice.invoice_number.clone(),
            invoice.problems.clone(),
        ));
    }
}

fn error_at(batch: &Batch, p: &Problem) -> ErrorAt {
    let shared = p.field.and_then(|field| {
        let source = batch.sources.get(p.source as usize)?;
        let (_, reason) = source
            .unsettled
            .iter()
            .find(|(f, reason)| *f == field && p.message.ends_with(reason.as_str()))?;
        Some(reason.clone())
    });
    ErrorAt {
        location: batch.locate(p),
        message: p.message.clone(),
        shared,
    }
}

#[derive(Debug, Serialize)]
pub struct FileSummary {
    pub file: String,
    pub sheet: Option<String>,
    pub format: String,
    pub rows: u64,
    /// What the user should know about how it was read (a workbook's sheets not read, rows
    /// that repeat the header); always there, empty when there is nothing to say.
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct InvalidInvoice {
    pub order_id: String,
    pub invoice_number: String,
    pub errors: Vec<ErrorAt>,
}

#[derive(Debug, Serialize)]
pub struct ErrorAt {
    #[serde(flatten)]
    pub location: Location,
    pub message: String,
    /// The reason of a column that stayed ambiguous (its day/month order, its decimal
    /// separator), which this problem ends with, as every ambiguous value of the column's does.
    #[serde(skip)]
    pub shared: Option<String>,
}

/// Invoices held back by one column-wide reason, for the screen: the column is named once.
struct Shared<'r> {
    example: &'r ErrorAt,
    /// Each invoice, and the rows of it that have the problem.
    invoices: IndexMap<(&'r str, &'r str), Vec<u64>>,
}

/// A column-wide problem's column (file, sheet and column, no row) and reason.
fn shared_key(e: &ErrorAt) -> Option<(String, &str)> {
    let reason = e.shared.as_deref()?;
    let column = Location {
        row: None,
        ..e.location.clone()
    };
    Some((column.to_string(), reason))
}

/// How many of a column-wide problem's invoices the screen names (`-v`: all).
const SHARED_SHOWN: usize = 5;

#[derive(Debug, Serialize)]
pub struct FileErrorOut {
    pub file: String,
    pub message: String,
}

impl CheckReport {
    pub fn new<T: Validated>(batch: &Batch, checked: &[Checked<T>]) -> CheckReport {
        let mut tally = Tally::default();
        for c in checked {
            tally.add(c);
        }
        let mut report = CheckReport::start(batch);
        report.absorb(batch, tally);
        report
    }

    /// A report of the files and the rows in no invoice; [`Self::absorb`] adds the invoices.
    pub fn start(batch: &Batch) -> CheckReport {
        CheckReport {
            files: batch
                .sources
                .iter()
                .map(|s| FileSummary {
                    file: s.source.file.to_string(),
                    sheet: s.source.sheet.as_deref().map(str::to_string),
                    format: s.describe.clone(),
                    rows: s.rows,
                    notes: s.notes.clone(),
                })
                .collect(),
            rows: batch.rows,
            invoices: 0,
            valid_invoices: 0,
            invalid_invoices: 0,
            total_cents: 0,
            invalid_cents: 0,
            invalid_value_unknown: 0,
            invalid: Vec::new(),
            row_errors: batch
                .row_errors
                .iter()
                .map(|p| error_at(batch, p))
                .collect(),
            rows_in_no_invoice: batch.rows_in_no_invoice().len(),
            file_errors: batch
                .file_errors
                .iter()
                .map(|e| FileErrorOut {
                    file: e.path.clone(),
                    message: e.message.clone(),
                })
                .collect(),
            valued: true,
            decimal_comma: batch.decimal_comma(),
        }
    }

    /// Adds the verdicts a [`Tally`] counted, after those already added.
    pub fn absorb(&mut self, batch: &Batch, tally: Tally) {
        self.invoices += tally.invoices;
        self.valid_invoices += tally.valid;
        self.invalid_invoices += tally.invalid.len();
        self.total_cents = self.total_cents.saturating_add(tally.total_cents);
        self.invalid_cents = self.invalid_cents.saturating_add(tally.invalid_cents);
        self.invalid_value_unknown += tally.invalid_value_unknown;
        self.invalid.extend(tally.invalid.into_iter().map(
            |(order_id, invoice_number, problems)| InvalidInvoice {
                order_id,
                invoice_number,
                errors: problems.iter().map(|p| error_at(batch, p)).collect(),
            },
        ));
    }

    fn money(&self, cents: i64) -> String {
        money_in(cents, self.decimal_comma)
    }

    /// What the invalid invoices are worth, for the totals line: " (worth 1,234.00; 2 of
    /// unknown value)".
    fn invalid_value(&self) -> String {
        let unknown = self.invalid_value_unknown;
        match (self.valued, self.invalid_invoices, unknown) {
            (false, _, _) | (true, 0, _) => String::new(),
            (true, n, u) if n == u => String::from(" (of unknown value)"),
            (true, _, 0) => format!(" (worth {})", self.money(self.invalid_cents)),
            (true, _, u) => format!(
                " (worth {} and {u} of unknown value)",
                self.money(self.invalid_cents)
            ),
        }
    }

    /// The invalid invoices' problems that a column-wide reason explains, by column and reason.
    fn shared(&self) -> IndexMap<(String, &str), Shared<'_>> {
        let mut shared: IndexMap<(String, &str), Shared<'_>> = IndexMap::new();
        for inv in &self.invalid {
            for e in &inv.errors {
                let Some(key) = shared_key(e) else { continue };
                let group = shared.entry(key).or_insert_with(|| Shared {
                    example: e,
                    invoices: IndexMap::new(),
                });
                let rows = group
                    .invoices
                    .entry((&inv.order_id, &inv.invoice_number))
                    .or_default();
                rows.extend(e.location.row);
            }
        }
        shared
    }

    /// The report as text for people.
    pub fn human(&self, batch: &Batch, verbosity: Verbosity) -> String {
        let mut out = String::new();
        if !verbosity.quiet {
            for (f, s) in self.files.iter().zip(&batch.sources) {
                let rows = counted(f.rows, "row", "rows");
                let _ = writeln!(out, "{}: {rows} ({})", s.source, f.format);
                for note in &f.notes {
                    let _ = writeln!(out, "note: {note}");
                }
                if verbosity.verbose {
                    for (field, col) in s.mapping.fields() {
                        let header = s.headers.get(col).map(String::as_str).unwrap_or("?");
                        let _ = writeln!(out, "  {field:<16} ← '{header}'");
                    }
                    if !s.mapping.ignored.is_empty() {
                        let ignored = crate::mapping::quoted(&s.mapping.ignored);
                        let _ = writeln!(out, "  ignored columns: {ignored}");
                    }
                }
            }
        }
        for e in &self.file_errors {
            let _ = writeln!(out, "error: {}", e.message);
        }
        if !self.invalid.is_empty() || !self.row_errors.is_empty() {
            let _ = writeln!(out, "\nProblems:");
        }
        let shared = self.shared();
        let is_shared = |e: &ErrorAt| {
            let key = shared_key(e);
            key.is_some_and(|k| shared.get(&k).is_some_and(|s| s.invoices.len() > 1))
        };
        for ((column, reason), group) in shared.iter().filter(|(_, s)| s.invoices.len() > 1) {
            let _ = writeln!(out, "  {column}: {reason}");
            let example = &group.example;
            let value = example
                .message
                .strip_suffix(*reason)
                .map(|v| v.trim_end_matches("; "));
            if let (Some(row), Some(value)) = (example.location.row, value)
                && !value.is_empty()
            {
                let _ = writeln!(out, "    for example row {row}: {value}");
            }
            let n = group.invoices.len();
            let shown = match verbosity.verbose {
                true => n,
                false => n.min(SHARED_SHOWN),
            };
            let listed: Vec<String> = group
                .invoices
                .iter()
                .take(shown)
                .map(|((order, number), rows)| {
                    let rows: Vec<String> = rows.iter().map(u64::to_string).collect();
                    let label = if rows.len() == 1 { "row" } else { "rows" };
                    format!(
                        "order {order}, invoice {number} ({label} {})",
                        rows.join(", ")
                    )
                })
                .collect();
            let more = match n - shown {
                0 => String::new(),
                more => format!("; and {more} more (-v or --format json lists them)"),
            };
            let _ = writeln!(
                out,
                "    {} held back by it: {}{more}",
                counted(n as u64, "invoice", "invoices"),
                listed.join("; ")
            );
        }
        for inv in &self.invalid {
            let own: Vec<&ErrorAt> = inv.errors.iter().filter(|e| !is_shared(e)).collect();
            if own.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "  order {}, invoice {}:",
                inv.order_id, inv.invoice_number
            );
            for e in own {
                let _ = writeln!(out, "    {}: {}", e.location, e.message);
            }
        }
        if !self.row_errors.is_empty() {
            let _ = writeln!(out, "  rows that belong to no invoice:");
            for e in &self.row_errors {
                let _ = writeln!(out, "    {}: {}", e.location, e.message);
            }
        }
        // Nothing was read (each input refused, said above): a line of zeros would read as an
        // empty file checked and found fine.
        if self.files.is_empty() && !self.file_errors.is_empty() {
            return out;
        }
        let _ = writeln!(
            out,
            "\n{}, {} → {}: {} valid{}, {} invalid{}{}.",
            counted(self.files.len() as u64, "file", "files"),
            counted(self.rows, "row", "rows"),
            counted(self.invoices as u64, "invoice", "invoices"),
            self.valid_invoices,
            match self.valued {
                true => format!(" (total {})", self.money(self.total_cents)),
                false => String::new(),
            },
            self.invalid_invoices,
            self.invalid_value(),
            if self.row_errors.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} in no invoice",
                    counted(self.rows_in_no_invoice as u64, "row", "rows")
                )
            }
        );
        out
    }
}
