//! Workbook reading on any bytes under each workbook extension (and an unknown one, which makes
//! the reader sniff): the guard, calamine, sheet choice, header search, every row and cell.
//!
//! The library opens workbooks from a path only (`source::open`), so each input is written to
//! one file per process first; `-rss_limit_mb` and `-timeout` then bound what reading it costs.
#![no_main]

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use invoice_import::source::{self, ReadOptions};
use libfuzzer_sys::fuzz_target;

const EXTENSIONS: [&str; 6] = ["xlsx", "xls", "ods", "xlsb", "xlsm", "dat"];

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("invoice-import-fuzz-{}", std::process::id()));
        // If it can't be made, every write below fails and the input is skipped: the run shows
        // zero coverage growth, which is loud enough.
        let _ = std::fs::create_dir_all(&dir);
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    common::tool_panic_hook();
    let Some((&knobs, bytes)) = data.split_first() else {
        return;
    };
    let ext = EXTENSIONS[usize::from(knobs) % EXTENSIONS.len()];
    // A sheet the user named, which may not exist: the "no such sheet" path reads names too.
    let sheet = (knobs & 0x80 != 0).then(|| "Plan1".to_string());
    let path = scratch().join(format!("fuzz.{ext}"));
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    let opts = ReadOptions {
        sheet,
        ..ReadOptions::default()
    };
    if let Ok(table) = source::open(&path.display().to_string(), &opts) {
        let again = table.reopen();
        common::drain(table);
        if let Ok(t) = again {
            common::drain(t);
        }
    }
});
