//! The failed-rows file for a workbook input, as a workbook: the same sheet name, headers and cell
//! types (numbers stay numbers, dates stay dates) as the input, plus an `error` column, so a
//! finance lead fixes cells in Excel and feeds the file straight back in.
//!
//! Text cells go through [`escape_formula`]; nothing is ever written as a formula.

use std::path::Path;

use chrono::{Datelike, NaiveDateTime, Timelike};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

use crate::report::results::escape_formula;
use crate::source::CellRef;

/// Builds a one-sheet workbook row by row, then saves it.
pub struct FailedWorkbook {
    workbook: Workbook,
    /// The next row to write (0-based; the header is the one before the first).
    next: u32,
    /// The sheet column (0-based) of the first header: the input's table may start in column B,
    /// and `--map field=#G` must name the same column in this file.
    first_column: usize,
    date: Format,
    datetime: Format,
    bold: Format,
}

impl FailedWorkbook {
    /// A workbook whose only sheet is called `sheet` with `headers` and an `error` column in
    /// row `header_row` (1-based) from column `first_column` (0-based), under the rows `above`
    /// it (a title: each row's number and cells), so that the file reads as its input did.
    pub fn new(
        sheet: &str,
        (above, header_row, first_column): (&[(u64, Vec<String>)], u64, usize),
        headers: &[String],
    ) -> Result<FailedWorkbook, XlsxError> {
        let mut wb = FailedWorkbook {
            workbook: Workbook::new(),
            next: 0,
            first_column,
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            bold: Format::new().set_bold(),
        };
        let ws = wb.workbook.add_worksheet();
        // Excel refuses some sheet names (over 31 characters, `[]:*?/\`); keep the default then.
        let _ = ws.set_name(sheet);
        let row_index = |number: u64| {
            u32::try_from(number.saturating_sub(1)).map_err(|_| XlsxError::RowColumnLimitError)
        };
        for (number, cells) in above {
            for (col, text) in cells.iter().enumerate() {
                if !text.is_empty() {
                    let col = col_index(first_column + col)?;
                    ws.write_string(row_index(*number)?, col, escape_formula(text))?;
                }
            }
        }
        let header = row_index(header_row)?;
        for (col, h) in headers.iter().chain([&String::from("error")]).enumerate() {
            let col = col_index(first_column + col)?;
            ws.write_string_with_format(header, col, escape_formula(h), &wb.bold)?;
        }
        wb.next = header + 1;
        Ok(wb)
    }

    /// Appends one input row (`width` cells) and its error message.
    pub fn push<'a>(
        &mut self,
        cells: impl IntoIterator<Item = CellRef<'a>>,
        width: usize,
        error: &str,
    ) -> Result<(), XlsxError> {
        let row = self.next;
        // The workbook was created with one sheet, so index 0 exists.
        let ws = self.workbook.worksheet_from_index(0)?;
        for (col, cell) in cells.into_iter().take(width).enumerate() {
            let col = col_index(self.first_column + col)?;
            match cell {
                // Left for the person fixing the row to fill in.
                CellRef::Empty | CellRef::Uncalculated => {}
                CellRef::Text(t) | CellRef::Error(t) => {
                    ws.write_string(row, col, escape_formula(t))?;
                }
                CellRef::Number(n) => {
                    ws.write_number(row, col, n.0)?;
                }
                CellRef::Bool(b) => {
                    ws.write_boolean(row, col, b)?;
                }
                CellRef::DateTime(dt) => match excel_datetime(dt) {
                    Some(x) if dt.num_seconds_from_midnight() == 0 => {
                        ws.write_datetime_with_format(row, col, &x, &self.date)?;
                    }
                    Some(x) => {
                        ws.write_datetime_with_format(row, col, &x, &self.datetime)?;
                    }
                    None => {
                        ws.write_string(row, col, crate::source::datetime_text(dt))?;
                    }
                },
            }
        }
        ws.write_string(
            row,
            col_index(self.first_column + width)?,
            escape_formula(error),
        )?;
        self.next = self.next.saturating_add(1);
        Ok(())
    }

    pub fn save(mut self, path: &Path) -> Result<(), XlsxError> {
        self.workbook.save(path)
    }
}

fn col_index(col: usize) -> Result<u16, XlsxError> {
    u16::try_from(col).map_err(|_| XlsxError::RowColumnLimitError)
}

/// Excel holds dates from 1900 to 9999; outside that the cell is written as text.
fn excel_datetime(dt: NaiveDateTime) -> Option<ExcelDateTime> {
    let year = u16::try_from(dt.year()).ok()?;
    let date = ExcelDateTime::from_ymd(year, dt.month() as u8, dt.day() as u8).ok()?;
    date.and_hms(dt.hour() as u16, dt.minute() as u8, dt.second())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader, Xlsx, open_workbook};

    #[test]
    fn cell_types_survive_the_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.xlsx");
        let headers = vec![String::from("Pedido"), "Valor".into(), "Data".into()];
        let mut wb = FailedWorkbook::new("Notas", (&[], 1, 0), &headers).unwrap();
        let when = chrono::NaiveDate::from_ymd_opt(2024, 3, 5)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        wb.push(
            [
                CellRef::Text("=0042"),
                CellRef::Number(crate::source::SheetNumber(12.5)),
                CellRef::DateTime(when),
            ],
            3,
            "bad value",
        )
        .unwrap();
        wb.save(&path).unwrap();

        let mut book: Xlsx<_> = open_workbook(&path).unwrap();
        assert_eq!(book.sheet_names(), ["Notas"]);
        let range = book.worksheet_range("Notas").unwrap();
        let rows: Vec<&[Data]> = range.rows().collect();
        assert_eq!(rows[0][3], Data::String("error".into()));
        assert_eq!(rows[1][0], Data::String("'=0042".into()));
        assert_eq!(rows[1][1], Data::Float(12.5));
        assert!(
            matches!(rows[1][2], Data::DateTime(_)),
            "a date stays a date: {:?}",
            rows[1][2]
        );
        assert_eq!(rows[1][3], Data::String("bad value".into()));
    }
}
