//! Readers: turn a CSV/TSV/TXT file, stdin, or a workbook sheet into header names and rows of cells.
//!
//! This is the only place spreadsheet floats exist. A number cell leaves the reader as a
//! [`SheetNumber`], whose only ways out are exact conversions (cents with a precision check,
//! a whole number, its shortest text), so a float never travels further down the pipeline.

use std::fmt;
use std::sync::Arc;

use chrono::NaiveDateTime;

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
}
