//! Deterministic generator of large, realistic invoice inputs for benchmarks.
//!
//! ```text
//! cargo run --release --example gen_data -- --rows 1000000 --dialect br --order shuffled --out big-br.csv
//! cargo run --release --example gen_data -- --rows 200000 --format xlsx --out big.xlsx
//! ```
//!
//! Same arguments, same bytes: the generator is seeded (`--seed`, default 1) with ChaCha8, whose
//! output is fixed across platforms and versions. Invoices have 1–5 items; every invoice is valid
//! (its value equals Σ quantity × unit price + freight), so a benchmark measures the whole path.
//! `en`: `,` separated, UTF-8, `1,234.56`, ISO dates. `br`: `;` separated, Windows-1252,
//! `1.234,56`, `dd/mm/yyyy hh:mm`, Portuguese headers.

use std::fs::File;
use std::io::{BufWriter, Write};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Args {
    rows: usize,
    dialect: String,
    format: String,
    order: String,
    seed: u64,
    out: String,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        rows: 100_000,
        dialect: "en".into(),
        format: "csv".into(),
        order: "grouped".into(),
        seed: 1,
        out: String::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => a.rows = value()?.parse().map_err(|e| format!("--rows: {e}"))?,
            "--dialect" => a.dialect = value()?,
            "--format" => a.format = value()?,
            "--order" => a.order = value()?,
            "--seed" => a.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--out" => a.out = value()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.out.is_empty() {
        return Err("--out PATH is required".into());
    }
    Ok(a)
}

struct Line {
    order: String,
    invoice: String,
    day: u32,
    hour: u32,
    sku: u32,
    description: &'static str,
    quantity: u32,
    price: i64,
    freight: i64,
    value: i64,
    first: bool,
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

fn generate(a: &Args) -> Vec<Line> {
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let mut lines = Vec::with_capacity(a.rows);
    let mut n = 0u64;
    while lines.len() < a.rows {
        n += 1;
        let items = rng.random_range(1..=5usize).min(a.rows - lines.len());
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
    if a.order == "shuffled" {
        lines.shuffle(&mut rng);
    }
    lines
}

fn money(cents: i64, br: bool) -> String {
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

fn write_csv(a: &Args, lines: &[Line]) -> std::io::Result<()> {
    let br = a.dialect == "br";
    let mut out = BufWriter::new(File::create(&a.out)?);
    let header = if br {
        "Pedido;Número da NF;Data de Emissão;SKU;Descrição;Quantidade;Preço Unitário;Frete;Valor da Nota"
    } else {
        "Order ID,Invoice Number,Issuance Date,SKU,Description,Quantity,Unit Price,Freight,Invoice Value"
    };
    let mut buf = String::with_capacity(256);
    let emit = |s: &str, out: &mut BufWriter<File>| -> std::io::Result<()> {
        if br {
            let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(s);
            out.write_all(&bytes)
        } else {
            out.write_all(s.as_bytes())
        }
    };
    emit(&format!("{header}\r\n"), &mut out)?;
    for l in lines {
        buf.clear();
        if br {
            buf.push_str(&format!(
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
            buf.push_str(&format!(
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
        emit(&buf, &mut out)?;
    }
    out.flush()
}

fn write_xlsx(a: &Args, lines: &[Line]) -> Result<(), rust_xlsxwriter::XlsxError> {
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
    wb.save(&a.out)
}

fn main() {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gen_data: {e}");
            std::process::exit(2);
        }
    };
    let lines = generate(&a);
    let result = match a.format.as_str() {
        "csv" => write_csv(&a, &lines).map_err(|e| e.to_string()),
        "xlsx" => write_xlsx(&a, &lines).map_err(|e| e.to_string()),
        other => Err(format!("unknown --format {other} (csv or xlsx)")),
    };
    if let Err(e) = result {
        eprintln!("gen_data: {e}");
        std::process::exit(2);
    }
    let invoices = lines.iter().filter(|l| l.first).count();
    eprintln!(
        "wrote {} ({} rows, {} invoices)",
        a.out,
        lines.len(),
        invoices
    );
}
