//! The benchmark data generator, shared by `examples/gen_data.rs` (files for whole-process runs)
//! and `benches/ingest.rs` (the criterion stage benches), so both measure the same kind of data.
//!
//! Seeded ChaCha8, whose output is fixed across platforms and versions: same arguments, same
//! bytes. Invoices have 1–5 items and are all valid (value = Σ quantity × unit price + freight).
//! `en`: `,` separated, UTF-8, `1,234.56`, ISO dates. `br`: `;` separated, Windows-1252,
//! `1.234,56`, `dd/mm/yyyy hh:mm`, Portuguese headers.
#![allow(dead_code)] // each user takes the part it needs

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub struct Line {
    pub order: String,
    pub invoice: String,
    pub day: u32,
    pub hour: u32,
    pub sku: u32,
    pub description: &'static str,
    pub quantity: u32,
    pub price: i64,
    pub freight: i64,
    pub value: i64,
    pub first: bool,
}

const PRODUCTS: [&str; 8] = [
    "Café torrado 500g",
    "Açúcar cristal 1kg",
    "Camiseta algodão",
    "Tênis corrida",
    "Mochila 20L",
    "Garrafa térmica",
    "Fone de ouvido",
    "Caderno universitário",
];

pub fn generate(rows: usize, seed: u64, shuffled: bool) -> Vec<Line> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut lines = Vec::with_capacity(rows);
    let mut n = 0u64;
    while lines.len() < rows {
        n += 1;
        let items = rng.random_range(1..=5usize).min(rows - lines.len());
        let freight = if rng.random_bool(0.5) {
            rng.random_range(0..5000)
        } else {
            0
        };
        let order = format!("{:013}-01", 1_100_000_000_000u64 + n);
        let invoice = format!("{:09}", n);
        let (day, hour) = (rng.random_range(1..=28), rng.random_range(8..=19));
        let mut chosen = Vec::with_capacity(items);
        for _ in 0..items {
            let sku = rng.random_range(100_000..999_999);
            let quantity = rng.random_range(1..=12);
            let price = rng.random_range(50..250_000);
            chosen.push((sku, quantity, price));
        }
        let value = chosen.iter().map(|(_, q, p)| *q as i64 * p).sum::<i64>() + freight;
        for (i, (sku, quantity, price)) in chosen.into_iter().enumerate() {
            lines.push(Line {
                order: order.clone(),
                invoice: invoice.clone(),
                day,
                hour,
                sku,
                description: PRODUCTS[(sku % PRODUCTS.len() as u32) as usize],
                quantity,
                price,
                freight,
                value,
                first: i == 0,
            });
        }
    }
    if shuffled {
        lines.shuffle(&mut rng);
    }
    lines
}

pub fn money(cents: i64, br: bool) -> String {
    let int = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(if br { '.' } else { ',' });
        }
        grouped.push(c);
    }
    format!("{grouped}{}{:02}", if br { ',' } else { '.' }, cents % 100)
}

/// The whole CSV: `en` as UTF-8, `br` as Windows-1252 (what the ERP exports look like).
pub fn csv_bytes(br: bool, lines: &[Line]) -> Vec<u8> {
    let header = if br {
        "Pedido;Número da NF;Data de Emissão;SKU;Descrição;Quantidade;Preço Unitário;Frete;Valor da Nota"
    } else {
        "Order ID,Invoice Number,Issuance Date,SKU,Description,Quantity,Unit Price,Freight,Invoice Value"
    };
    let mut text = format!("{header}\r\n");
    for l in lines {
        if br {
            text.push_str(&format!(
                "{};{};{:02}/11/2026 {:02}:15;{};{};{};{};{};R$ {}\r\n",
                l.order,
                l.invoice,
                l.day,
                l.hour,
                l.sku,
                l.description,
                l.quantity,
                money(l.price, true),
                money(l.freight, true),
                money(l.value, true)
            ));
        } else {
            text.push_str(&format!(
                "{},{},2026-11-{:02}T{:02}:15:00-03:00,{},{},{},\"{}\",\"{}\",\"{}\"\r\n",
                l.order,
                l.invoice,
                l.day,
                l.hour,
                l.sku,
                l.description,
                l.quantity,
                money(l.price, false),
                money(l.freight, false),
                money(l.value, false)
            ));
        }
    }
    if br {
        encoding_rs::WINDOWS_1252.encode(&text).0.into_owned()
    } else {
        text.into_bytes()
    }
}

pub fn write_csv(path: &str, br: bool, lines: &[Line]) -> std::io::Result<()> {
    std::fs::write(path, csv_bytes(br, lines))
}

pub fn write_xlsx(path: &str, lines: &[Line]) -> Result<(), rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("Invoices")?;
    let date = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let headers = [
        "Order ID",
        "Invoice Number",
        "Issuance Date",
        "SKU",
        "Description",
        "Quantity",
        "Unit Price",
        "Freight",
        "Invoice Value",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h)?;
    }
    for (i, l) in lines.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, &l.order)?;
        ws.write_string(r, 1, &l.invoice)?;
        let when = ExcelDateTime::from_ymd(2026, 11, l.day as u8)?.and_hms(l.hour as u16, 15, 0)?;
        ws.write_datetime_with_format(r, 2, &when, &date)?;
        ws.write_number(r, 3, l.sku as f64)?;
        ws.write_string(r, 4, l.description)?;
        ws.write_number(r, 5, l.quantity as f64)?;
        // Money as the float a spreadsheet stores.
        ws.write_number(r, 6, l.price as f64 / 100.0)?;
        ws.write_number(r, 7, l.freight as f64 / 100.0)?;
        ws.write_number(r, 8, l.value as f64 / 100.0)?;
    }
    wb.save(path)
}
