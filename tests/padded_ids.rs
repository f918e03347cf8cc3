//! Ids that are number cells shown zero-padded by their number format (123 shown as `000123`
//! under `000000`) in XLS and ODS workbooks: read as shown, as XLSX cells were already.
//!
//! Bug: calamine gives no XLS or ODS cell its number format, so invoice number `000123` was
//! read, and would have been sent, as `123`. The fixtures are written by real writers (xlwt,
//! odfpy): tests/data/readers/make_padded_fixtures.py says what each holds.

mod common;

use common::Workdir;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/readers/");

/// `check --format json` on fixture `name`: the valid invoices, and the (order id, invoice
/// number) of each invalid one (every invoice but the first lacks its price).
fn check(name: &str) -> (serde_json::Value, Vec<(String, String)>) {
    let w = Workdir::new();
    w.copy(format!("{FIXTURES}{name}").as_ref(), name);
    let run = w.check_json(name);
    run.expect_code(1);
    let json = run.json();
    let ids = json["invalid"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no invalid invoices: {json:#}"))
        .iter()
        .map(|i| {
            (
                i["order_id"].as_str().unwrap_or_default().to_string(),
                i["invoice_number"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    (json, ids)
}

fn expect_padded(name: &str) {
    let (json, ids) = check(name);
    assert_eq!(
        json["file_errors"],
        serde_json::json!([]),
        "{name}: {json:#}"
    );
    assert_eq!(json["valid_invoices"], 1, "{name}: {json:#}");
    assert_eq!(json["total_cents"], 1000, "{name}: {json:#}");
    assert_eq!(
        ids,
        [
            // 18 under `00000`, 124 under `000000`.
            ("00018".to_string(), "000124".to_string()),
            // A number wider than its format stays whole; a format with text in it
            // (`"NF-"000`, shown NF-007) is left to the number, as for XLSX.
            ("1234567".to_string(), "7".to_string()),
        ],
        "{name}: {json:#}"
    );
}

#[test]
fn xls_ids_padded_by_their_number_format_keep_their_zeros() {
    expect_padded("padded_ids.xls");
}

/// Also: the order column padded by the column's default cell style through a `style:map`
/// (LibreOffice's `00000;-00000`), the invoice column by a cell style's parent in styles.xml,
/// and the table starting at C4 after a repeated row and repeated cells.
#[test]
fn ods_ids_padded_by_their_number_style_keep_their_zeros() {
    expect_padded("padded_ids.ods");
}
