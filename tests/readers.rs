//! Reader tests on real files: fixtures in tests/data/readers, workbooks written by a real
//! spreadsheet writer into a tempdir, and the public datasets in ../shared/data (skipped with a
//! note when absent).

use std::path::Path;

use chrono::NaiveDate;
use invoice_import::source::{self, CellRef, ReadOptions, SourceError, Table};
use invoice_import::values::date::{DayOrder, date_from_cell, to_api};
use invoice_import::values::id::{id_from_cell, invoice_number_from_cell, quantity_from_cell};
use invoice_import::values::money::{DecimalSeparator, SeparatorVote, money_from_cell};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/readers/");

fn fixture(name: &str) -> String {
    format!("{FIXTURES}{name}")
}

/// Every row as (row number, cell texts).
fn rows(table: &mut Table) -> Vec<(u64, Vec<String>)> {
    let mut out = Vec::new();
    while let Some(row) = table.next_row().expect("row") {
        out.push((
            row.number(),
            (0..row.len()).map(|c| row.text(c).into_owned()).collect(),
        ));
    }
    out
}

fn shared(rel: &str) -> Option<String> {
    let path = format!("{}/../shared/data/{rel}", env!("CARGO_MANIFEST_DIR"));
    if Path::new(&path).exists() {
        Some(path)
    } else {
        eprintln!("note: {path} is absent; skipping");
        None
    }
}

#[test]
fn brazilian_excel_csv_reads_with_no_flags() {
    let mut t = source::open(&fixture("nfe_windows1252.csv"), &ReadOptions::default()).unwrap();
    assert_eq!(t.describe(), "CSV, ';'-separated, windows-1252");
    assert_eq!(
        t.headers(),
        ["Pedido", "Nota Fiscal", "Emissão", "Valor", "Tipo"]
    );
    assert_eq!(t.header_row(), 1);
    let rows = rows(&mut t);
    assert_eq!(rows.len(), 3, "blank ';;;;' rows are skipped");
    assert_eq!(rows[0].0, 2);
    assert_eq!(rows[0].1[3], "R$ 1.234,56");
    assert_eq!(rows[0].1[4], "Saída");
    assert_eq!(rows[2].0, 5, "row numbers count the skipped blank row");

    // Values from the same table, column resolved after the pass.
    let mut t = t.reopen().unwrap();
    let mut vote = SeparatorVote::default();
    let mut readings = Vec::new();
    while let Some(row) = t.next_row().unwrap() {
        let r = money_from_cell(row.get(3)).unwrap().unwrap();
        vote.observe(&r);
        readings.push(r);
        assert!(
            invoice_number_from_cell(row.get(1))
                .unwrap()
                .unwrap()
                .starts_with("000")
        );
    }
    let sep = vote.resolve(None).unwrap();
    assert_eq!(sep, DecimalSeparator::Comma);
    let cents: Vec<i64> = readings.iter().map(|r| r.cents(sep).unwrap()).collect();
    assert_eq!(cents, [123_456, 1000, 99]);
}

#[test]
fn utf8_bom_csv_with_multiline_field() {
    let mut t = source::open(&fixture("utf8_bom.csv"), &ReadOptions::default()).unwrap();
    assert_eq!(t.describe(), "CSV, ','-separated, utf-8");
    assert_eq!(t.headers()[0], "order_id", "BOM stripped");
    let rows = rows(&mut t);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, 2);
    assert_eq!(rows[0].1[2], "two\nlines");
    assert_eq!(
        rows[1].0, 4,
        "the two-line record is one row, as Excel shows it"
    );
    assert_eq!(rows[1].1[2], "ação");
}

#[test]
fn forced_delimiter_and_encoding() {
    let opts = ReadOptions {
        delimiter: Some(b','),
        encoding: Some(encoding_rs::WINDOWS_1252),
        ..ReadOptions::default()
    };
    let t = source::open(&fixture("nfe_windows1252.csv"), &opts).unwrap();
    assert_eq!(t.headers(), ["Pedido;Nota Fiscal;Emissão;Valor;Tipo"]);
    // Forced UTF-8 on Windows-1252 bytes: an error naming file and row, not garbage.
    let opts = ReadOptions {
        encoding: Some(encoding_rs::UTF_8),
        ..ReadOptions::default()
    };
    let err = source::open(&fixture("nfe_windows1252.csv"), &opts)
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains("nfe_windows1252.csv row 1: not valid UTF-8"),
        "{msg}"
    );
}

#[test]
fn a_bad_record_is_an_error_and_the_next_row_follows() {
    let mut bytes = b"a,b\n1,2\n".to_vec();
    bytes.extend_from_slice(b"3,\xff\n5,6\n");
    let opts = ReadOptions {
        encoding: Some(encoding_rs::UTF_8),
        ..ReadOptions::default()
    };
    let mut t = source::open_bytes("x.csv", bytes, &opts).unwrap();
    assert_eq!(t.next_row().unwrap().unwrap().number(), 2);
    let err = t.next_row().expect_err("invalid UTF-8 is an error");
    let msg = err.to_string();
    assert!(msg.starts_with("x.csv row 3: "), "{msg}");
    assert!(msg.contains("windows-1252"), "{msg}");
    let row = t.next_row().unwrap().unwrap();
    assert_eq!(
        (row.number(), row.text(0).into_owned()),
        (4, "5".to_string())
    );
    assert!(t.next_row().unwrap().is_none());
}

#[test]
fn empty_inputs_and_workbooks_named_csv() {
    let err = source::open_bytes("e.csv", b",,,\n\n , \n".to_vec(), &ReadOptions::default())
        .err()
        .unwrap();
    assert!(matches!(err, SourceError::NoData(_)), "{err}");
    assert_eq!(err.to_string(), "no data in e.csv: every row is empty");

    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("orders.csv");
    std::fs::copy(fixture("invoices.ods"), &fake).unwrap();
    let err = source::open(fake.to_str().unwrap(), &ReadOptions::default())
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains("orders.csv is an XLSX/ODS (zip) workbook"),
        "{msg}"
    );

    // An unknown extension with workbook bytes is read as the workbook.
    let odd = dir.path().join("orders.dat");
    std::fs::copy(fixture("invoices.ods"), &odd).unwrap();
    let t = source::open(odd.to_str().unwrap(), &ReadOptions::default()).unwrap();
    assert_eq!(t.describe(), "ODS sheet 'Notas'");

    let missing = source::open("/nonexistent/x.csv", &ReadOptions::default())
        .err()
        .unwrap();
    assert!(
        missing.to_string().starts_with("/nonexistent/x.csv: "),
        "{missing}"
    );
}

#[test]
fn ods_fixture() {
    let mut t = source::open(&fixture("invoices.ods"), &ReadOptions::default()).unwrap();
    assert_eq!(
        t.describe(),
        "ODS sheet 'Notas'",
        "the empty first sheet is passed over"
    );
    assert_eq!(t.headers(), ["Pedido", "Nota", "Data", "Valor"]);
    let tz = chrono_tz::America::Sao_Paulo;
    let mut got = Vec::new();
    while let Some(row) = t.next_row().unwrap() {
        let date = date_from_cell(row.get(2), tz, None).unwrap().unwrap();
        let cents = money_from_cell(row.get(3)).unwrap().unwrap();
        got.push((
            row.number(),
            id_from_cell(row.get(1)).unwrap().unwrap().into_owned(),
            to_api(&date.timestamp(DayOrder::DayFirst).unwrap()),
            cents.cents(DecimalSeparator::Point).unwrap(),
        ));
    }
    assert_eq!(
        got,
        [
            (
                2,
                "000123".to_string(),
                "2024-01-31T18:25:43-03:00".to_string(),
                255
            ),
            (
                4,
                "124".to_string(),
                "2024-02-01T00:00:00-03:00".to_string(),
                123_450
            ),
        ]
    );
    let err = source::open(
        &fixture("invoices.ods"),
        &ReadOptions {
            sheet: Some("Foo".into()),
            ..ReadOptions::default()
        },
    )
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "sheet 'Foo' not found in {}; sheets: Vazia, Notas",
            fixture("invoices.ods")
        )
    );
}

#[test]
fn xlsx_written_by_a_spreadsheet_writer() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.xlsx");
    let mut wb = Workbook::new();
    let notes = wb.add_worksheet();
    notes.set_name("Notes").unwrap();
    notes.write_string(0, 0, "just notes").unwrap();
    let ws = wb.add_worksheet();
    ws.set_name("Plan1").unwrap();
    let date_fmt = Format::new().set_num_format("dd/mm/yyyy hh:mm:ss");
    // Header on row 3 as the sheet shows it, after two empty rows.
    for (c, h) in [" Order ", "Invoice", "Issued", "Price", "Qty"]
        .iter()
        .enumerate()
    {
        ws.write_string(2, c as u16, *h).unwrap();
    }
    let prices = [2.55, 0.1 + 0.2, 1234.56, 0.0];
    for (i, price) in prices.iter().enumerate() {
        let r = 3 + 2 * i as u32; // a blank row between data rows
        ws.write_string(r, 0, format!("v{i}")).unwrap();
        ws.write_number(r, 1, 536365.0 + i as f64).unwrap();
        let dt = ExcelDateTime::from_ymd(2024, 1, 31)
            .unwrap()
            .and_hms(18, 25, 43 + i as u16)
            .unwrap();
        ws.write_datetime_with_format(r, 2, &dt, &date_fmt).unwrap();
        ws.write_number(r, 3, *price).unwrap();
        ws.write_number(r, 4, 2.0).unwrap();
    }
    ws.write_number(20, 3, 12.345).unwrap();
    wb.save(&path).unwrap();

    let file = path.to_str().unwrap();
    let opts = ReadOptions {
        sheet: Some("plan1".into()),
        ..ReadOptions::default()
    };
    let mut t = source::open(file, &opts).unwrap();
    assert_eq!(t.describe(), "XLSX sheet 'Plan1'");
    assert_eq!(t.header_row(), 3);
    assert_eq!(t.headers(), ["Order", "Invoice", "Issued", "Price", "Qty"]);
    let mut got = Vec::new();
    let mut errors = Vec::new();
    while let Some(row) = t.next_row().unwrap() {
        match money_from_cell(row.get(3)) {
            Ok(m) => {
                let dt = row.get(2);
                assert!(matches!(dt, CellRef::DateTime(_)), "{dt:?}");
                let ts = date_from_cell(dt, chrono_tz::UTC, None).unwrap().unwrap();
                got.push((
                    row.number(),
                    id_from_cell(row.get(1)).unwrap().unwrap().into_owned(),
                    row.text(2).into_owned(),
                    to_api(&ts.timestamp(DayOrder::MonthFirst).unwrap()),
                    m.unwrap().cents(DecimalSeparator::Comma).unwrap(),
                    quantity_from_cell(row.get(4)).unwrap().unwrap(),
                ));
            }
            Err(e) => errors.push((row.number(), e.to_string())),
        }
    }
    assert_eq!(got.len(), 4);
    assert_eq!(
        got[0],
        (
            4,
            "536365".to_string(),
            "2024-01-31 18:25:43".to_string(),
            "2024-01-31T18:25:43+00:00".to_string(),
            255,
            2
        )
    );
    assert_eq!(
        got.iter().map(|g| g.4).collect::<Vec<_>>(),
        [255, 30, 123_456, 0]
    );
    assert_eq!(got[3].0, 10);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, 21);
    assert!(
        errors[0]
            .1
            .contains("12.345 has more than two decimal places"),
        "{}",
        errors[0].1
    );

    // Default sheet: the first with a header and rows under it. 'Notes' holds a single line of
    // text, so it is passed over for 'Plan1'; asked for by name, it is a header-only error.
    let t = source::open(file, &ReadOptions::default()).unwrap();
    assert_eq!(t.describe(), "XLSX sheet 'Plan1'");
    let notes = ReadOptions {
        sheet: Some("Notes".into()),
        ..ReadOptions::default()
    };
    assert!(matches!(
        source::open(file, &notes),
        Err(source::SourceError::HeaderOnly { .. })
    ));
}

#[test]
fn real_excel_csv_with_bom() {
    let Some(path) = shared("online_retail/OnlineRetail_first10k_bom.csv") else {
        return;
    };
    let mut t = source::open(&path, &ReadOptions::default()).unwrap();
    assert_eq!(t.headers()[0], "InvoiceNo");
    let mut n = 0;
    let mut vote = SeparatorVote::default();
    while let Some(row) = t.next_row().unwrap() {
        n += 1;
        if let Some(m) = money_from_cell(row.get(5)).unwrap() {
            vote.observe(&m);
        }
        date_from_cell(row.get(4), chrono_tz::UTC, None).unwrap();
    }
    assert_eq!(n, 9_999);
    assert_eq!(vote.resolve(None), Ok(DecimalSeparator::Point));
}

#[test]
fn real_excel_csv_ending_in_bare_commas() {
    for (file, data_rows) in [
        ("olist_order_items_dataset.csv", 9_998),
        ("olist_orders_dataset.csv", 9_999),
        ("olist_order_payments_dataset.csv", 9_998),
    ] {
        let Some(path) = shared(&format!("olist/excel_resaved_prefix_suhani/{file}")) else {
            return;
        };
        let mut t = source::open(&path, &ReadOptions::default()).unwrap();
        let mut n = 0;
        let mut last = 0;
        while let Some(row) = t.next_row().unwrap() {
            n += 1;
            last = row.number();
        }
        assert_eq!(n, data_rows, "{file}");
        assert_eq!(last, data_rows + 1, "{file}");
    }
}

#[test]
fn real_xlsx_with_half_a_million_blank_rows() {
    let Some(path) = shared("edge_cases/online_retail_51k_rows_plus_491k_blank_rows.xlsx") else {
        return;
    };
    let mut t = source::open(&path, &ReadOptions::default()).unwrap();
    let mut n = 0;
    while let Some(row) = t.next_row().unwrap() {
        n += 1;
        // Exercise the conversions a real check does; none may fail on this file's prices.
        if let Some(m) = money_from_cell(row.get(5)).unwrap() {
            m.cents(DecimalSeparator::Point).unwrap();
        }
    }
    assert_eq!(n, 50_999);
}

#[test]
fn real_xlsx_prices_convert_to_exact_cents() {
    let Some(path) = shared("online_retail/online_retail_first70k.xlsx") else {
        return;
    };
    let mut t = source::open(&path, &ReadOptions::default()).unwrap();
    let price_col = t.headers().iter().position(|h| h == "UnitPrice").unwrap();
    let (mut n, mut total) = (0, 0i64);
    while let Some(row) = t.next_row().unwrap() {
        let CellRef::Number(p) = row.get(price_col) else {
            panic!("row {}: price is not a number cell", row.number());
        };
        total += p.cents().unwrap();
        n += 1;
        // Row 2 is Excel's <v>2.5499999999999998</v>.
        if row.number() == 2 {
            assert_eq!(p.cents(), Ok(255));
            assert_eq!(id_from_cell(row.get(0)).unwrap().unwrap(), "536365");
        }
    }
    assert_eq!(n, 70_051);
    assert!(total > 0);
}

#[test]
fn real_truncated_xlsx_is_a_clean_error() {
    let Some(path) = shared("edge_cases/online_retail_truncated_corrupt.xlsx") else {
        return;
    };
    let err = source::open(&path, &ReadOptions::default()).err().unwrap();
    let msg = err.to_string();
    assert!(matches!(err, SourceError::Workbook { .. }), "{msg}");
    assert!(
        msg.starts_with(&format!("{path}: not a readable workbook")),
        "{msg}"
    );
}

#[test]
fn reopen_starts_over() {
    let mut t = source::open(&fixture("invoices.ods"), &ReadOptions::default()).unwrap();
    let first = rows(&mut t);
    let mut again = t.reopen().unwrap();
    assert_eq!(rows(&mut again), first);
    let _ = NaiveDate::from_ymd_opt(2024, 1, 1);
}
