//! Grouping and validation on any CSV text, as `check` runs them: the reading, parsing and
//! grouping threads, the compact store, invoices built on demand, every rule. Beyond "no panic":
//! every data row read ends up in exactly one invoice or among the rows of no invoice.
//!
//! The first byte picks a header (none, English with ',' or Brazilian with ';') so that most
//! inputs get past column mapping; the rest is the file. `group::load` reads paths, so each input
//! is written to one file per process first.
#![no_main]

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use invoice_import::group::{self, LoadOptions};
use invoice_import::mapping::Field;
use invoice_import::source::ReadOptions;
use invoice_import::validate::{self, SharedNumbers, ValidateOptions};
use libfuzzer_sys::fuzz_target;

const HEADERS: [&str; 3] = [
    "",
    "Order ID,Invoice Number,Issuance Date,SKU,Description,Quantity,Unit Price,Freight,Invoice Value,Courier,Type\n",
    "Pedido;Número da NF;Data de Emissão;SKU;Descrição;Quantidade;Preço Unitário;Frete;Valor da Nota;Transportadora;Tipo\n",
];

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("invoice-import-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    common::tool_panic_hook();
    let Some((&knobs, body)) = data.split_first() else {
        return;
    };
    let mut bytes = HEADERS[usize::from(knobs) % HEADERS.len()].as_bytes().to_vec();
    bytes.extend_from_slice(body);
    let path = scratch().join("fuzz.csv");
    if std::fs::write(&path, &bytes).is_err() {
        return;
    }
    let opts = LoadOptions {
        read: ReadOptions::default(),
        overrides: Vec::new(),
        required: vec![Field::OrderId, Field::InvoiceNumber],
        needed: Vec::new(),
        decimal: None,
        date_format: None,
        timezone: chrono_tz::America::Sao_Paulo,
        timezone_given: true,
    };
    let (batch, pending) = group::load_pending(&[path.display().to_string()], &opts);
    let shared = SharedNumbers::find(
        pending.len(),
        |i| pending.key(i),
        ValidateOptions::default(),
    );
    let mut grouped_rows = 0u64;
    for invoice in pending.into_invoices() {
        grouped_rows += invoice.rows.len() as u64;
        let _ = validate::validate_one(invoice, &shared);
    }
    let keyless: HashSet<u64> = batch.row_errors.iter().filter_map(|p| p.row).collect();
    assert_eq!(
        grouped_rows + keyless.len() as u64,
        batch.rows,
        "a row was lost or counted twice"
    );
});
