//! Workbook reading through calamine (XLSX, XLSM, XLSB, XLS, ODS): pick the sheet, find the
//! header row, and hand out rows of the parsed range.

use std::path::Path;
use std::sync::Arc;

use calamine::{CellErrorType, Data, Range, Reader, Sheets, open_workbook_auto};

use super::{CellRef, Cells, ReadOptions, Row, SheetNumber, SourceError, SourceRef, is_blank};

pub(super) struct SheetRows {
    /// Shared so `reopen` does not parse the workbook again.
    range: Arc<Range<Data>>,
    /// Index (within the range) of the next row to look at.
    next: usize,
    kind: &'static str,
    sheet: Arc<str>,
}

type Opened = (SourceRef, Vec<String>, u64, super::Inner);

pub(super) fn open(
    file: &Arc<str>,
    path: &Path,
    opts: &ReadOptions,
) -> Result<Opened, SourceError> {
    let workbook_err = |message: String| SourceError::Workbook {
        file: file.to_string(),
        message,
    };
    let mut workbook = open_workbook_auto(path).map_err(|e| match e {
        calamine::Error::Io(io) => SourceError::Io {
            file: file.to_string(),
            message: io.to_string(),
        },
        other => workbook_err(other.to_string()),
    })?;
    let kind = match &workbook {
        Sheets::Xls(_) => "XLS",
        Sheets::Xlsx(_) => "XLSX",
        Sheets::Xlsb(_) => "XLSB",
        Sheets::Ods(_) => "ODS",
    };
    let names = workbook.sheet_names();

    let (name, range) = match &opts.sheet {
        Some(wanted) => {
            let wanted_trim = wanted.trim();
            let name = names
                .iter()
                .find(|n| n.as_str() == wanted)
                .or_else(|| {
                    names
                        .iter()
                        .find(|n| n.trim().to_lowercase() == wanted_trim.to_lowercase())
                })
                .ok_or_else(|| SourceError::SheetNotFound {
                    file: file.to_string(),
                    sheet: wanted.clone(),
                    sheets: names.join(", "),
                })?
                .clone();
            let range = workbook
                .worksheet_range(&name)
                .map_err(|e| workbook_err(format!("sheet '{name}': {e}")))?;
            (name, range)
        }
        None => {
            let mut found = None;
            let mut first_error = None;
            for name in &names {
                match workbook.worksheet_range(name) {
                    Ok(range) if first_data_row(&range, 0).is_some() => {
                        found = Some((name.clone(), range));
                        break;
                    }
                    Ok(_) => {}
                    // A chart sheet or an odd sheet may not read; a later one still might.
                    Err(e) => {
                        first_error.get_or_insert(format!("sheet '{name}': {e}"));
                    }
                }
            }
            match (found, first_error) {
                (Some(found), _) => found,
                (None, Some(message)) => return Err(workbook_err(message)),
                (None, None) => return Err(SourceError::NoData(file.to_string())),
            }
        }
    };

    let sheet: Arc<str> = Arc::from(name.as_str());
    let source = SourceRef {
        file: file.clone(),
        sheet: Some(sheet.clone()),
    };
    let Some(header_index) = first_data_row(&range, 0) else {
        return Err(SourceError::NoData(format!("{file}, sheet '{name}'")));
    };
    let start_row = range.start().map_or(0, |(r, _)| u64::from(r));
    let header_row = start_row + header_index as u64 + 1;
    let headers = row_at(&range, header_index)
        .map(|cells| {
            let row = Row {
                number: header_row,
                cells: Cells::Sheet(cells),
            };
            (0..cells.len())
                .map(|c| row.text(c).trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    let rows = SheetRows {
        range: Arc::new(range),
        next: header_index + 1,
        kind,
        sheet,
    };
    Ok((source, headers, header_row, super::Inner::Sheet(rows)))
}

/// Index of the first row at or after `from` with any non-blank cell.
fn first_data_row(range: &Range<Data>, from: usize) -> Option<usize> {
    (from..range.height()).find(|&i| row_at(range, i).is_some_and(|cells| !row_is_blank(cells)))
}

/// Row `index` of the range in constant time. `range.rows().nth(i)` walks every row before `i`
/// (calamine's `Rows` has no fast `nth`), which made reading a sheet row by row quadratic.
fn row_at(range: &Range<Data>, index: usize) -> Option<&[Data]> {
    // Index<usize> slices `width` cells at `index * width`; calamine keeps exactly
    // width × height cells, so any index below height is in bounds.
    (index < range.height()).then(|| &range[index])
}

fn row_is_blank(cells: &[Data]) -> bool {
    cells.iter().all(|c| match c {
        Data::Empty => true,
        Data::String(s) => is_blank(s),
        _ => false,
    })
}

impl SheetRows {
    pub(super) fn describe(&self) -> String {
        format!("{} sheet '{}'", self.kind, self.sheet)
    }

    pub(super) fn restart(&self) -> SheetRows {
        let header_index = first_data_row(&self.range, 0).unwrap_or(0);
        SheetRows {
            range: self.range.clone(),
            next: header_index + 1,
            kind: self.kind,
            sheet: self.sheet.clone(),
        }
    }

    pub(super) fn next_row(&mut self) -> Option<Row<'_>> {
        let index = first_data_row(&self.range, self.next)?;
        self.next = index + 1;
        let start_row = self.range.start().map_or(0, |(r, _)| u64::from(r));
        let cells = row_at(&self.range, index)?;
        Some(Row {
            number: start_row + index as u64 + 1,
            cells: Cells::Sheet(cells),
        })
    }
}

/// Excel's serial for 10000-01-01: date cells at or past it (or negative) are not dates.
const EXCEL_SERIAL_END: f64 = 2_958_466.0;

/// A calamine cell as the pipeline sees it.
pub(super) fn cell_ref(data: &Data) -> CellRef<'_> {
    match data {
        Data::Empty => CellRef::Empty,
        Data::String(s) if is_blank(s) => CellRef::Empty,
        Data::String(s) => CellRef::Text(s),
        Data::Float(f) => CellRef::Number(SheetNumber(*f)),
        // Integers beyond 2^53 lose digits here; ids that long were already mangled by the
        // spreadsheet (15 significant digits), and the id parser rejects them.
        Data::Int(i) => CellRef::Number(SheetNumber(*i as f64)),
        Data::Bool(b) => CellRef::Bool(*b),
        Data::DateTime(dt) => {
            let serial = dt.as_f64();
            // calamine's conversion panics far outside Excel's range, so only call it inside.
            if dt.is_datetime() && serial.is_finite() && (0.0..EXCEL_SERIAL_END).contains(&serial) {
                match dt.as_datetime() {
                    Some(ndt) => CellRef::DateTime(ndt),
                    None => CellRef::Number(SheetNumber(serial)),
                }
            } else {
                CellRef::Number(SheetNumber(serial))
            }
        }
        Data::DateTimeIso(s) => parse_iso_cell(s).map_or(CellRef::Text(s), CellRef::DateTime),
        Data::DurationIso(s) => CellRef::Text(s),
        Data::Error(e) => CellRef::Error(error_text(e)),
    }
}

/// ODS stores dates as ISO text ("2024-01-31" or "2024-01-31T10:00:00").
fn parse_iso_cell(s: &str) -> Option<chrono::NaiveDateTime> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_time(chrono::NaiveTime::MIN))
        })
}

fn error_text(e: &CellErrorType) -> &'static str {
    match e {
        CellErrorType::Div0 => "#DIV/0!",
        CellErrorType::NA => "#N/A",
        CellErrorType::Name => "#NAME?",
        CellErrorType::Null => "#NULL!",
        CellErrorType::Num => "#NUM!",
        CellErrorType::Ref => "#REF!",
        CellErrorType::Value => "#VALUE!",
        CellErrorType::GettingData => "#GETTING_DATA",
    }
}
