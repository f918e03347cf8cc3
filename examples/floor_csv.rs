//! The CSV floor for the ingest benchmark: the csv crate reading every record of a file as raw
//! bytes, with nothing decoded, parsed or kept. No reader of the same file can be much faster.
//!
//! ```text
//! cargo run --release --example floor_csv -- FILE [DELIMITER]
//! ```
//!
//! The delimiter defaults to whichever of `;` and `,` the first line holds more of, so the
//! generated English and Brazilian files both work without flags.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: floor_csv FILE [DELIMITER]");
        return ExitCode::from(2);
    };
    match run(&path, args.next()) {
        Ok((records, fields, bytes)) => {
            println!("records {records} fields {fields} bytes {bytes}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("floor_csv: {path}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    path: &str,
    delimiter: Option<String>,
) -> Result<(u64, u64, u64), Box<dyn std::error::Error>> {
    let delimiter = match delimiter {
        Some(d) => *d.as_bytes().first().ok_or("empty delimiter")?,
        None => {
            let mut first = Vec::new();
            BufReader::new(File::open(path)?).read_until(b'\n', &mut first)?;
            let count = |b: u8| first.iter().filter(|&&c| c == b).count();
            if count(b';') > count(b',') {
                b';'
            } else {
                b','
            }
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_path(path)?;
    let mut record = csv::ByteRecord::new();
    let (mut records, mut fields, mut bytes) = (0u64, 0u64, 0u64);
    while reader.read_byte_record(&mut record)? {
        records += 1;
        fields += record.len() as u64;
        // Touch every field so the pass can't be optimised into a line count.
        bytes += record.iter().map(|f| f.len() as u64).sum::<u64>();
    }
    Ok((records, fields, bytes))
}
