//! CSV sniffing and reading on any bytes: every row and cell read, twice (`reopen`), with the
//! delimiter and encoding detected or forced as a user could force them.
#![no_main]

mod common;

use invoice_import::source::{self, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::tool_panic_hook();
    // The first byte picks the options; the rest is the file.
    let Some((&knobs, bytes)) = data.split_first() else {
        return;
    };
    let delimiter = match knobs & 0b111 {
        1 => Some(b','),
        2 => Some(b';'),
        3 => Some(b'\t'),
        4 => Some(b'|'),
        _ => None,
    };
    let encoding = match (knobs >> 3) & 0b11 {
        1 => Some(encoding_rs::WINDOWS_1252),
        2 => Some(encoding_rs::UTF_8),
        3 => Some(encoding_rs::UTF_16LE),
        _ => None,
    };
    let opts = ReadOptions {
        delimiter,
        encoding,
        ..ReadOptions::default()
    };
    if let Ok(table) = source::open_bytes("fuzz.csv", bytes.to_vec(), &opts) {
        let again = table.reopen();
        common::drain(table);
        if let Ok(t) = again {
            common::drain(t);
        }
    }
});
