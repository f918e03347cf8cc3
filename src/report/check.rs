//! The `check` report: totals, then every problem with file, sheet, row, column, order and invoice,
//! as text for people or one JSON object for machines.

use std::fmt::Write as _;

use serde::Serialize;

use crate::cli::Verbosity;
use crate::group::{Batch, Invoice, Location, Problem};
use crate::report::{counted, money};
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
    ErrorAt {
        location: batch.locate(p),
        message: p.message.clone(),
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
}

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

    /// What the invalid invoices are worth, for the totals line: " (worth 1,234.00; 2 of
    /// unknown value)".
    fn invalid_value(&self) -> String {
        let unknown = self.invalid_value_unknown;
        match (self.valued, self.invalid_invoices, unknown) {
            (false, _, _) | (true, 0, _) => String::new(),
            (true, n, u) if n == u => String::from(" (of unknown value)"),
            (true, _, 0) => format!(" (worth {})", money(self.invalid_cents)),
            (true, _, u) => format!(
                " (worth {} and {u} of unknown value)",
                money(self.invalid_cents)
            ),
        }
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
        for inv in &self.invalid {
            let _ = writeln!(
                out,
                "  order {}, invoice {}:",
                inv.order_id, inv.invoice_number
            );
            for e in &inv.errors {
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
                true => format!(" (total {})", money(self.total_cents)),
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
