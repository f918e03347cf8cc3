//! Writes `samples/invoices.xlsx` with a real spreadsheet writer: date cells, float money cells
//! (as Excel stores them) and numeric SKU cells, the way a finance team's workbook looks.
//!
//! Run: `cargo run --example make_samples`

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

fn main() -> Result<(), XlsxError> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet().set_name("Invoices")?;
    let date = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let money = Format::new().set_num_format("#,##0.00");
    let headers = [
        "Order ID",
        "Invoice Number",
        "Issuance Date",
        "SKU",
        "Description",
        "Quantity",
        "Unit Price",
        "Invoice Value",
    ];
    for (col, h) in headers.iter().enumerate() {
        sheet.write_string(0, col as u16, *h)?;
    }
    // (order, invoice, day, hour, items: (sku, description, qty, unit price))
    type Item<'a> = (u32, &'a str, u32, f64);
    let invoices: [(&str, &str, u8, u16, &[Item]); 6] = [
        (
            "1172453000001-01",
            "000091001",
            20,
            9,
            &[
                (100234, "Notebook sleeve", 2, 79.9),
                (100877, "USB-C cable", 3, 2.55),
            ],
        ),
        (
            "1172453000002-01",
            "000091002",
            20,
            10,
            &[(100990, "Wireless mouse", 1, 129.99)],
        ),
        (
            "1172453000003-01",
            "000091003",
            20,
            11,
            &[
                (101200, "Monitor 27in", 1, 1899.0),
                (100877, "USB-C cable", 2, 2.55),
            ],
        ),
        (
            "1172453000004-01",
            "000091004",
            20,
            14,
            &[(100555, "Keyboard", 1, 249.9)],
        ),
        (
            "1172453000005-01",
            "000091005",
            20,
            16,
            &[
                (100234, "Notebook sleeve", 1, 79.9),
                (100990, "Wireless mouse", 2, 129.99),
                (100877, "USB-C cable", 10, 2.55),
            ],
        ),
        (
            "1172453000006-01",
            "000091006",
            20,
            17,
            &[(101300, "Webcam HD", 1, 349.5)],
        ),
    ];
    let mut row = 1u32;
    for (order, invoice, day, hour, items) in invoices {
        let total: f64 = items.iter().map(|(_, _, q, p)| *q as f64 * p).sum();
        for (sku, description, qty, price) in items {
            sheet.write_string(row, 0, order)?;
            sheet.write_string(row, 1, invoice)?;
            let when = ExcelDateTime::from_ymd(2026, 11, day)?.and_hms(hour, 15, 0)?;
            sheet.write_datetime_with_format(row, 2, &when, &date)?;
            sheet.write_number(row, 3, *sku as f64)?;
            sheet.write_string(row, 4, *description)?;
            sheet.write_number(row, 5, *qty as f64)?;
            sheet.write_number_with_format(row, 6, *price, &money)?;
            // The total is a float sum, as a spreadsheet formula result would be stored.
            sheet.write_number_with_format(row, 7, total, &money)?;
            row += 1;
        }
    }
    workbook.save("samples/invoices.xlsx")?;
    println!("wrote samples/invoices.xlsx ({} rows)", row - 1);
    Ok(())
}
