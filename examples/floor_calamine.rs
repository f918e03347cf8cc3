//! The workbook floor for the ingest benchmark: calamine opening a workbook and visiting every
//! cell of its first sheet, with nothing converted or kept.
//!
//! ```text
//! cargo run --release --example floor_calamine -- FILE.xlsx
//! ```

use std::process::ExitCode;

use calamine::{Data, Reader, open_workbook_auto};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: floor_calamine FILE");
        return ExitCode::from(2);
    };
    match run(&path) {
        Ok((rows, cells, filled)) => {
            println!("rows {rows} cells {cells} non-empty {filled}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("floor_calamine: {path}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &str) -> Result<(u64, u64, u64), Box<dyn std::error::Error>> {
    let mut workbook = open_workbook_auto(path)?;
    let first = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or("the workbook has no sheets")?;
    let range = workbook.worksheet_range(&first)?;
    let (mut rows, mut cells, mut filled) = (0u64, 0u64, 0u64);
    for row in range.rows() {
        rows += 1;
        for cell in row {
            cells += 1;
            // Touch every cell so the visit can't be optimised away.
            if !matches!(cell, Data::Empty) {
                filled += 1;
            }
        }
    }
    Ok((rows, cells, filled))
}
