//! What every target shares: reading a table to its end the way the pipeline does, and the
//! panic hook the tool itself runs with.

use invoice_import::source::Table;

/// libfuzzer-sys aborts on any panic, even one caught by `catch_unwind`. The workbook reader
/// deliberately catches calamine's panics and turns them into a file error, so a caught panic
/// there is the tool working as designed. With the default hook back in place, a caught panic is
/// only printed; one that escapes the target still aborts (libfuzzer-sys wraps each input in
/// `catch_unwind` and aborts when it unwinds out), and that is a finding.
pub fn tool_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = std::panic::take_hook();
    });
}

/// Reads every row and every cell of a table, as `check` and `submit` do.
#[allow(dead_code)] // group_check reads through `group`, not table by table.
pub fn drain(mut table: Table) {
    let width = table.headers().len();
    let _ = table.describe();
    let mut rows = 0u64;
    loop {
        match table.next_row() {
            Ok(Some(row)) => {
                let _ = row.number();
                for c in 0..row.len().max(width) + 1 {
                    let _ = row.get(c);
                    let _ = row.text(c);
                }
            }
            Ok(None) => break,
            // A malformed record: the pipeline reports it and goes on with the next one.
            Err(e) => {
                let _ = e.to_string();
            }
        }
        rows += 1;
        // Inputs are at most a few hundred KiB: a million rows means the reader never ends.
        assert!(rows < 1_000_000, "the reader never ends");
    }
}
