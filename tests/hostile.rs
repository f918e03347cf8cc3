//! Hostile inputs (issue #6): each file has one clear outcome, a file-level error with exit 2
//! or row-level invalid invoices with exit 1, and never a panic, a hang or a silent skip.
//!
//! Small fixtures are committed in `tests/data/hostile/`; the big or binary ones (a decompression
//! bomb, 100,000 columns, a 10 MB cell, workbooks with error and merged cells) are built here at
//! test time, since committing them would only bloat the repository.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::{Run, Workdir, repo, shared_data};

fn fixture(name: &str) -> String {
    repo()
        .join("tests/data/hostile")
        .join(name)
        .display()
        .to_string()
}

const HEADER: &str = "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price";

/// `check --format json` on one file; asserts no panic whatever the outcome.
fn check(w: &Workdir, file: &str) -> Run {
    let run = w.run(&["check", "--format", "json", "--timezone", "UTC", file]);
    assert_no_panic(&run);
    run
}

fn assert_no_panic(run: &Run) {
    let all = format!("{}{}", run.stdout(), run.stderr());
    assert!(
        !all.contains("panicked") && !all.contains("RUST_BACKTRACE"),
        "invoice-import {} panicked:\n{all}",
        run.args
    );
    assert!(
        run.output.status.code().is_some(),
        "killed by a signal: {:?}",
        run.output.status
    );
}

/// Exit 2 with `needle` (case-insensitive) in the report's file errors.
fn expect_file_error(run: &Run, needle: &str) {
    run.expect_code(2);
    let errors = run.json()["file_errors"].to_string().to_lowercase();
    assert!(
        errors.contains(&needle.to_lowercase()),
        "file errors lack {needle:?}:\n{}{}",
        run.stdout(),
        run.stderr()
    );
}

/// Every invalid invoice's messages, joined, for `contains` checks.
fn invalid_messages(report: &serde_json::Value) -> String {
    report["invalid"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["errors"].to_string())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// Minimal XLSX writer: enough parts for calamine, with the sheet XML supplied by the test, so a
// test controls what no spreadsheet library would write (error cells, a stated range far past
// the data, 200 MB of zeros).

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Plan1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;

/// Writes an xlsx whose sheet1.xml is whatever `sheet` writes.
fn xlsx(path: &Path, sheet: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
    let file = std::fs::File::create(path).expect("create xlsx");
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        // Level 6: runs of one byte reach deflate's ~1000:1, as a real bomb does.
        .compression_level(Some(6))
        .large_file(true);
    for (name, text) in [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", ROOT_RELS),
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
    ] {
        zip.start_file(name, opts).expect("zip part");
        zip.write_all(text.as_bytes()).expect("zip write");
    }
    zip.start_file("xl/worksheets/sheet1.xml", opts)
        .expect("zip part");
    sheet(&mut zip).expect("sheet xml");
    zip.finish().expect("zip finish");
}

const SHEET_OPEN: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;

/// An inline-string cell.
fn s(cell: &str, text: &str) -> String {
    format!(r#"<c r="{cell}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}

/// A number cell.
fn n(cell: &str, v: &str) -> String {
    format!(r#"<c r="{cell}"><v>{v}</v></c>"#)
}

/// A formula error cell, as Excel stores the cached result of a failed formula.
fn e(cell: &str, err: &str) -> String {
    format!(r#"<c r="{cell}" t="e"><f>VLOOKUP(1,Z:Z,2,0)</f><v>{err}</v></c>"#)
}

fn header_row() -> String {
    let names = HEADER.split(',');
    let cells: String = names
        .zip(["A", "B", "C", "D", "E", "F"])
        .map(|(name, col)| s(&format!("{col}1"), name))
        .collect();
    format!(r#"<row r="1">{cells}</row>"#)
}

fn data_row(r: u32, order: &str, number: &str, qty: &str, price: &str) -> String {
    format!(
        r#"<row r="{r}">{}{}{}{}{}{}</row>"#,
        s(&format!("A{r}"), order),
        s(&format!("B{r}"), number),
        s(&format!("C{r}"), "2026-11-20"),
        s(&format!("D{r}"), "SKU-1"),
        n(&format!("E{r}"), qty),
        n(&format!("F{r}"), price)
    )
}

// ---------------------------------------------------------------------------------------------
// Text files

#[test]
fn empty_file_is_a_file_error() {
    let w = Workdir::new();
    expect_file_error(&check(&w, &fixture("empty.csv")), "no data");
}

#[test]
fn header_only_file_is_a_file_error() {
    let w = Workdir::new();
    expect_file_error(&check(&w, &fixture("header_only.csv")), "no rows under it");
}

#[test]
fn bom_only_file_is_a_file_error() {
    let w = Workdir::new();
    expect_file_error(&check(&w, &fixture("bom_only.csv")), "no data");
}

#[test]
fn binary_junk_named_csv_is_a_file_error() {
    let w = Workdir::new();
    let run = check(&w, &fixture("binary_junk.csv"));
    run.expect_code(2);
}

#[test]
fn nul_bytes_make_row_level_errors_not_a_crash() {
    let w = Workdir::new();
    let run = check(&w, &fixture("nul_bytes.csv"));
    run.expect_code(1);
    let r = run.json();
    // NUL inside an SKU makes invoice 1 invalid; inside an invoice number, the row belongs to no
    // invoice; the row of NULs alone too. Invoice 3 is fine. Every row is accounted for.
    assert_eq!(r["rows"], 4, "{r:#}");
    assert_eq!(r["valid_invoices"], 1, "{r:#}");
    let said = r.to_string();
    assert!(said.contains("control character"), "{r:#}");
    assert_eq!(r["invalid_invoices"], 1, "{r:#}");
    let rows: Vec<u64> = r["row_errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["row"].as_u64()).collect())
        .unwrap_or_default();
    assert!(rows.contains(&3) && rows.contains(&4), "{r:#}");
}

#[test]
fn mixed_line_endings_read_every_row() {
    let w = Workdir::new();
    let run = check(&w, &fixture("mixed_line_endings.csv"));
    run.expect_code(0);
    let r = run.json();
    assert_eq!(r["invoices"], 4, "{r:#}");
    assert_eq!(r["valid_invoices"], 4, "{r:#}");
}

#[test]
fn duplicate_headers_are_a_clear_outcome() {
    let w = Workdir::new();
    expect_file_error(&check(&w, &fixture("duplicate_headers.csv")), "unit price");
}

#[test]
fn hundred_thousand_columns_read_quickly() {
    let w = Workdir::new();
    let mut text = String::from(HEADER);
    for c in 0..100_000 {
        text.push_str(&format!(",Extra {c}"));
    }
    text.push_str("\n0000000000001-01,NF1,2026-11-20,SKU1,1,10.00");
    text.push_str(&",x".repeat(100_000));
    text.push('\n');
    let path = w.write("wide.csv", text);
    let run = check(&w, &path.display().to_string());
    run.expect_code(0);
    assert_eq!(run.json()["valid_invoices"], 1);
}

#[test]
fn ten_megabyte_cell_is_a_row_error_or_read() {
    let w = Workdir::new();
    let big = "9".repeat(10 << 20);
    let text = format!(
        "{HEADER}\n0000000000001-01,NF1,2026-11-20,SKU1,1,10.00\n{big},NF2,2026-11-20,SKU2,1,10.00\n"
    );
    let path = w.write("bigcell.csv", text);
    let run = check(&w, &path.display().to_string());
    run.expect_code(1);
    let r = run.json();
    // The 10 MB order id is no id: its row is an error, the other invoice is valid.
    assert_eq!(r["rows"], 2, "{r:#}");
    assert_eq!(r["valid_invoices"], 1, "{r:#}");
    assert!(r.to_string().contains("characters long"), "{r:#}");
    // The report names the problem without echoing ten megabytes back.
    assert!(
        run.stdout().len() < 1 << 20,
        "report is {} bytes",
        run.stdout().len()
    );
}

// ---------------------------------------------------------------------------------------------
// Workbooks

#[test]
fn shared_truncated_workbook_is_a_file_error() {
    let Some(src) = shared_data("edge_cases/online_retail_truncated_corrupt.xlsx") else {
        return;
    };
    let w = Workdir::new();
    let run = check(&w, &src.display().to_string());
    expect_file_error(&run, "not a readable workbook");
}

fn good_workbook(w: &Workdir, name: &str) -> PathBuf {
    let path = w.path(name);
    xlsx(&path, |out| {
        write!(out, "{SHEET_OPEN}<sheetData>{}", header_row())?;
        for r in 2..200 {
            write!(
                out,
                "{}",
                data_row(r, &format!("{:013}-01", r), &format!("NF{r}"), "1", "10.5")
            )?;
        }
        write!(out, "</sheetData></worksheet>")
    });
    path
}

#[test]
fn truncated_workbooks_are_file_errors() {
    let w = Workdir::new();
    let good = good_workbook(&w, "good.xlsx");
    check(&w, &good.display().to_string()).expect_code(0);
    let bytes = std::fs::read(&good).expect("read");
    for cut in [10, bytes.len() / 3, bytes.len() / 2, bytes.len() - 30] {
        let path = w.write(&format!("cut{cut}.xlsx"), bytes.get(..cut).unwrap_or(&[]));
        expect_file_error(&check(&w, &path.display().to_string()), "workbook");
    }
}

#[test]
fn corrupt_workbook_bytes_never_panic() {
    let w = Workdir::new();
    let good = good_workbook(&w, "good.xlsx");
    let bytes = std::fs::read(&good).expect("read");
    // Flip a run of bytes at several places: inside compressed data, headers, the directory.
    for (i, at) in [40, bytes.len() / 4, bytes.len() / 2, bytes.len() - 60]
        .into_iter()
        .enumerate()
    {
        let mut bad = bytes.clone();
        for b in bad.iter_mut().skip(at).take(16) {
            *b ^= 0x5A;
        }
        let path = w.write(&format!("bad{i}.xlsx"), &bad);
        let run = check(&w, &path.display().to_string());
        // Damage calamine can't see past is a file error; damage it can is a clear report.
        assert!(
            [0, 1, 2].contains(&run.code()),
            "exit {} for a corrupt workbook:\n{}",
            run.code(),
            run.stderr()
        );
    }
}

#[test]
fn decompression_bomb_is_refused_before_inflating() {
    let w = Workdir::new();
    let path = w.path("bomb.xlsx");
    // 256 MiB of one repeated byte deflates to about 256 KiB: a 1000-to-1 ratio.
    xlsx(&path, |out| {
        write!(out, "{SHEET_OPEN}<sheetData>{}", header_row())?;
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..256 {
            out.write_all(&zeros)?;
        }
        write!(out, "</sheetData></worksheet>")
    });
    assert!(std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) < 4 << 20);
    let run = check(&w, &path.display().to_string());
    expect_file_error(&run, "decompression bomb");
}

#[test]
fn cell_reference_calamine_overflows_on_is_a_file_error() {
    // Found by workbook_reader_takes_damaged_workbooks: a reference of many letters overflows
    // calamine's column arithmetic (a panic in debug builds). The reader catches it.
    let w = Workdir::new();
    let path = w.path("overflow.xlsx");
    xlsx(&path, |out| {
        write!(
            out,
            r#"{SHEET_OPEN}<sheetData>{}<row r="2"><c r="ZZZZZZZZZZZZZZ2"><v>1</v></c></row></sheetData></worksheet>"#,
            header_row()
        )
    });
    let run = w.run(&["check", "--format", "json", &path.display().to_string()]);
    assert!(
        run.output.status.code().is_some(),
        "killed: {:?}",
        run.output.status
    );
    assert!([1, 2].contains(&run.code()), "{}", run.stderr());
}

#[test]
fn password_protected_workbook_says_so() {
    // An encrypted xlsx is an OLE compound file holding an `EncryptedPackage` stream. This one
    // has the container's signature and the stream's directory name, which is what is detected;
    // no tool in this repository can write a real encrypted package.
    let w = Workdir::new();
    let mut bytes = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    bytes.resize(512, 0);
    for ch in "EncryptedPackage".encode_utf16() {
        bytes.extend_from_slice(&ch.to_le_bytes());
    }
    bytes.resize(4096, 0);
    for name in ["locked.xlsx", "locked.xls"] {
        let path = w.write(name, &bytes);
        expect_file_error(
            &check(&w, &path.display().to_string()),
            "password-protected",
        );
    }
    // Named .csv it is still not CSV text.
    let path = w.write("locked.csv", &bytes);
    check(&w, &path.display().to_string()).expect_code(2);
}

#[test]
fn formula_error_cells_are_row_level_errors() {
    let w = Workdir::new();
    let path = w.path("errors.xlsx");
    xlsx(&path, |out| {
        write!(out, "{SHEET_OPEN}<sheetData>{}", header_row())?;
        write!(out, "{}", data_row(2, "0000000000001-01", "NF1", "1", "10"))?;
        write!(
            out,
            r#"<row r="3">{}{}{}{}{}{}</row>"#,
            s("A3", "0000000000002-01"),
            s("B3", "NF2"),
            s("C3", "2026-11-20"),
            s("D3", "SKU-2"),
            n("E3", "1"),
            e("F3", "#N/A")
        )?;
        write!(
            out,
            r#"<row r="4">{}{}{}{}{}{}</row>"#,
            s("A4", "0000000000003-01"),
            s("B4", "NF3"),
            s("C4", "2026-11-20"),
            s("D4", "SKU-3"),
            e("E4", "#VALUE!"),
            n("F4", "5")
        )?;
        write!(out, "</sheetData></worksheet>")
    });
    let run = check(&w, &path.display().to_string());
    run.expect_code(1);
    let r = run.json();
    assert_eq!(r["invoices"], 3, "{r:#}");
    assert_eq!(r["valid_invoices"], 1, "{r:#}");
    let msgs = invalid_messages(&r);
    assert!(msgs.contains("#N/A"), "{msgs}");
    assert!(msgs.contains("#VALUE!"), "{msgs}");
}

#[test]
fn merged_cells_leave_the_rows_below_without_a_value() {
    // A merged A2:A3 keeps its value in A2 only; row 3 has no order id, and says so.
    let w = Workdir::new();
    let path = w.path("merged.xlsx");
    xlsx(&path, |out| {
        write!(out, "{SHEET_OPEN}<sheetData>{}", header_row())?;
        write!(out, "{}", data_row(2, "0000000000001-01", "NF1", "1", "10"))?;
        write!(
            out,
            r#"<row r="3">{}{}{}{}{}</row>"#,
            s("B3", "NF2"),
            s("C3", "2026-11-20"),
            s("D3", "SKU-2"),
            n("E3", "1"),
            n("F3", "5")
        )?;
        write!(
            out,
            r#"</sheetData><mergeCells count="1"><mergeCell ref="A2:A3"/></mergeCells></worksheet>"#
        )
    });
    let run = check(&w, &path.display().to_string());
    run.expect_code(1);
    let r = run.json();
    assert_eq!(r["rows"], 2, "{r:#}");
    assert_eq!(r["valid_invoices"], 1, "{r:#}");
    let errors = &r["row_errors"];
    assert_eq!(errors[0]["row"], 3, "{r:#}");
    assert!(
        errors[0]["message"]
            .to_string()
            .contains("order id is empty"),
        "{r:#}"
    );
}

#[test]
fn stated_range_far_past_the_data_reads_only_the_data() {
    // The dimension says A1:F500000; 50 rows are used.
    let w = Workdir::new();
    let path = w.path("range.xlsx");
    xlsx(&path, |out| {
        write!(
            out,
            r#"{SHEET_OPEN}<dimension ref="A1:F500000"/><sheetData>{}"#,
            header_row()
        )?;
        for r in 2..52 {
            write!(
                out,
                "{}",
                data_row(r, &format!("{:013}-01", r), &format!("NF{r}"), "1", "3")
            )?;
        }
        write!(out, r#"<row r="500000"/></sheetData></worksheet>"#)
    });
    let run = check(&w, &path.display().to_string());
    run.expect_code(0);
    assert_eq!(run.json()["valid_invoices"], 50);
}

#[test]
fn shared_workbook_with_491k_blank_rows_reads_its_data() {
    let Some(src) = shared_data("edge_cases/online_retail_51k_rows_plus_491k_blank_rows.xlsx")
    else {
        return;
    };
    let w = Workdir::new();
    let run = w.run(&[
        "check",
        "--format",
        "json",
        "--map",
        "order_id=InvoiceNo",
        &src.display().to_string(),
    ]);
    assert_no_panic(&run);
    // Online Retail has real mistakes (negative quantities, cancellations): exit 1, every row
    // accounted for in the report.
    assert!([0, 1].contains(&run.code()), "{}", run.stderr());
    let r = run.json();
    assert!(
        r["rows"].as_u64().unwrap_or(0) > 50_000,
        "rows: {}",
        r["rows"]
    );
}

// ---------------------------------------------------------------------------------------------
// Fuzzing at scale with proptest. cargo-fuzz needs a nightly toolchain, which CI does not have,
// so these run the same inputs a fuzzer would (arbitrary bytes, and structured ones near the
// formats) through the readers and value parsers in-process: no panic, and every row read.
// `FUZZ_CASES` sets the number of cases (default 500 per target in `cargo test`;
// `scripts/fuzz-smoke` runs many more).

mod fuzz {
    use invoice_import::source::{self, CellRef, ReadOptions};
    use invoice_import::values::{date, id, money};
    use proptest::prelude::*;

    fn cases() -> u32 {
        std::env::var("FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(500)
    }

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: cases(),
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// Reads every row and every cell of a table, as the pipeline does.
    fn drain(mut table: source::Table) {
        let width = table.headers().len();
        let mut rows = 0u64;
        loop {
            match table.next_row() {
                Ok(Some(row)) => {
                    for c in 0..row.len().max(width) {
                        let _ = row.get(c);
                        let _ = row.text(c);
                    }
                    rows += 1;
                }
                Ok(None) => break,
                // A malformed record: the reader goes on with the next one.
                Err(_) => rows += 1,
            }
            assert!(rows < 1_000_000, "the reader never ends");
        }
    }

    /// Bytes near CSV: delimiters, quotes, line ends, BOMs, NULs, Latin-1 and UTF-8 letters.
    fn csvish() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(b",".to_vec()),
            Just(b";".to_vec()),
            Just(b"\t".to_vec()),
            Just(b"|".to_vec()),
            Just(b"\"".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r".to_vec()),
            Just(b"\xEF\xBB\xBF".to_vec()),
            Just(b"\0".to_vec()),
            Just(b"\xE9\xE7".to_vec()),
            Just("ção".as_bytes().to_vec()),
            Just(b"1.234,56".to_vec()),
            Just(b"31/01/2024".to_vec()),
            Just(b"Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price\n".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..8),
            "[A-Za-z0-9 .-]{0,8}".prop_map(String::into_bytes),
        ];
        proptest::collection::vec(piece, 0..60).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn csv_reader_takes_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            if let Ok(table) = source::open_bytes("fuzz.csv", bytes, &ReadOptions::default()) {
                drain(table);
            }
        }

        #[test]
        fn csv_reader_takes_bytes_near_csv(bytes in csvish(), forced in prop_oneof![Just(None), Just(Some(b';')), Just(Some(b'\t'))]) {
            let opts = ReadOptions { delimiter: forced, ..ReadOptions::default() };
            if let Ok(table) = source::open_bytes("fuzz.csv", bytes, &opts) {
                let again = table.reopen();
                drain(table);
                if let Ok(t) = again {
                    drain(t);
                }
            }
        }

        #[test]
        fn value_parsers_take_any_text(s in "\\PC{0,40}|[0-9.,R$ ()-]{0,24}|[0-9/: T+-]{0,28}") {
            if let Ok(m) = money::read_money(&s) {
                let _ = m.cents(money::DecimalSeparator::Point);
                let _ = m.cents(money::DecimalSeparator::Comma);
            }
            let _ = money::money_from_cell(CellRef::Text(&s));
            for format in [None, Some(date::DateFormat::Order(date::DayOrder::DayFirst))] {
                if let Ok(d) = date::read_date(&s, chrono_tz::America::Sao_Paulo, format.as_ref()) {
                    let _ = d.timestamp(date::DayOrder::DayFirst);
                    let _ = d.timestamp(date::DayOrder::MonthFirst);
                }
            }
            if let Ok(pattern) = date::parse_date_format(&s) {
                let _ = date::read_date("2024-01-31", chrono_tz::UTC, Some(&pattern));
            }
            let _ = id::id_from_cell(CellRef::Text(&s));
            let _ = id::invoice_number_from_cell(CellRef::Text(&s));
            let _ = id::quantity_from_cell(CellRef::Text(&s));
            let _ = id::url_from_cell(CellRef::Text(&s));
        }
    }

    /// A valid workbook's bytes, built once.
    fn workbook_bytes() -> Vec<u8> {
        let w = super::Workdir::new();
        let path = super::good_workbook(&w, "seed.xlsx");
        std::fs::read(path).unwrap_or_default()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: cases() / 5 + 1, ..config() })]

        #[test]
        fn workbook_reader_takes_damaged_workbooks(
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
            cut in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
            ext in prop_oneof![Just("xlsx"), Just("xls"), Just("ods"), Just("bin")],
        ) {
            thread_local!(static SEED: Vec<u8> = workbook_bytes());
            let mut bytes = SEED.with(Clone::clone);
            prop_assume!(!bytes.is_empty());
            for (at, x) in flips {
                let i = at.index(bytes.len());
                if let Some(b) = bytes.get_mut(i) {
                    *b ^= x;
                }
            }
            if truncate {
                bytes.truncate(cut.index(bytes.len()));
            }
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join(format!("fuzz.{ext}"));
            std::fs::write(&path, &bytes).expect("write");
            if let Ok(table) = source::open(&path.display().to_string(), &ReadOptions::default()) {
                drain(table);
            }
        }
    }
}
