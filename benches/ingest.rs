//! Criterion benches of the ingest pipeline, one group per stage: read (CSV, both dialects, and
//! XLSX), map headers, parse values (money, dates, ids), load (read + parse + group) and validate.
//!
//! ```text
//! cargo bench --bench ingest                 # every stage
//! cargo bench --bench ingest -- --quick read # one group, fast
//! ```
//!
//! Inputs are generated here, in memory or in a temporary directory, with a fixed seed, so each
//! run measures the same bytes; they are small (20,000 rows) to keep a run short. Whole-file,
//! million-row runs against the floors and pandas are `scripts/bench`'s job.

use std::hint::black_box;
use std::io::Write;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use invoice_import::group::{self, LoadOptions};
use invoice_import::mapping::{self, Field};
use invoice_import::source::{self, CellRef, ReadOptions};
use invoice_import::validate::{self, ValidateOptions};
use invoice_import::values::{date, id, money};

const ROWS: usize = 20_000;

#[path = "../tools/datagen.rs"]
mod datagen;

fn load_options() -> LoadOptions {
    LoadOptions {
        read: ReadOptions::default(),
        overrides: Vec::new(),
        required: vec![Field::OrderId, Field::InvoiceNumber],
        needed: Vec::new(),
        decimal: None,
        date_format: None,
        timezone: chrono_tz::America::Sao_Paulo,
        timezone_given: true,
    }
}

/// Reads every row and touches every cell, as the pipeline does.
fn read_all(mut table: source::Table) -> usize {
    let mut cells = 0;
    while let Ok(Some(row)) = table.next_row() {
        for c in 0..row.len() {
            if !matches!(row.get(c), CellRef::Empty) {
                cells += 1;
            }
        }
    }
    cells
}

fn bench(c: &mut Criterion) {
    let data = datagen::generate(ROWS, 1, false);
    let en = datagen::csv_bytes(false, &data);
    let br = datagen::csv_bytes(true, &data);
    let dir = tempfile::tempdir().expect("bench input: temporary directory");
    let paths: Vec<(&str, std::path::PathBuf)> = vec![
        ("en-csv", dir.path().join("en.csv")),
        ("br-csv", dir.path().join("br.csv")),
        ("xlsx", dir.path().join("book.xlsx")),
    ];
    for (name, path) in &paths {
        match *name {
            "en-csv" => std::fs::File::create(path).and_then(|mut f| f.write_all(&en)),
            "br-csv" => std::fs::File::create(path).and_then(|mut f| f.write_all(&br)),
            _ => datagen::write_xlsx(&path.to_string_lossy(), &data).map_err(std::io::Error::other),
        }
        .expect("bench input: writing a file");
    }

    let mut read = c.benchmark_group("read");
    read.throughput(Throughput::Elements(ROWS as u64));
    for (name, bytes) in [("en-csv", &en), ("br-csv", &br)] {
        read.bench_with_input(BenchmarkId::new("csv", name), bytes, |b, bytes| {
            b.iter(|| {
                let table = source::open_bytes("bench", bytes.clone(), &ReadOptions::default())
                    .expect("bench input reads");
                black_box(read_all(table))
            })
        });
    }
    read.sample_size(10);
    let xlsx = paths[2].1.to_string_lossy().into_owned();
    read.bench_function("xlsx", |b| {
        b.iter(|| {
            let table = source::open(&xlsx, &ReadOptions::default()).expect("bench input reads");
            black_box(read_all(table))
        })
    });
    read.finish();

    let mut map = c.benchmark_group("map");
    let headers_en: Vec<String> = "Order ID,Invoice Number,Issuance Date,SKU,Description,Quantity,Unit Price,Freight,Invoice Value"
        .split(',').map(str::to_string).collect();
    let headers_br: Vec<String> = "Pedido;Número da NF;Data de Emissão;SKU;Descrição;Quantidade;Preço Unitário;Frete;Valor da Nota"
        .split(';').map(str::to_string).collect();
    let required = [Field::OrderId, Field::InvoiceNumber];
    for (name, headers) in [("en", &headers_en), ("br", &headers_br)] {
        map.bench_with_input(BenchmarkId::new("headers", name), headers, |b, h| {
            b.iter(|| black_box(mapping::map_headers(h, &[], &required)))
        });
    }
    map.finish();

    let mut values = c.benchmark_group("parse");
    values.throughput(Throughput::Elements(ROWS as u64));
    for br in [false, true] {
        let dialect = if br { "br" } else { "en" };
        let prices: Vec<String> = data.iter().map(|l| datagen::money(l.price, br)).collect();
        values.bench_with_input(BenchmarkId::new("money", dialect), &prices, |b, texts| {
            b.iter(|| {
                texts
                    .iter()
                    .filter(|t| money::read_money(t).is_ok())
                    .count()
            })
        });
        let dates: Vec<String> = data
            .iter()
            .map(|l| {
                if br {
                    format!("{:02}/11/2026 {:02}:15", l.day, l.hour)
                } else {
                    format!("2026-11-{:02}T{:02}:15:00-03:00", l.day, l.hour)
                }
            })
            .collect();
        let tz = chrono_tz::America::Sao_Paulo;
        values.bench_with_input(BenchmarkId::new("date", dialect), &dates, |b, texts| {
            b.iter(|| {
                texts
                    .iter()
                    .filter(|t| date::read_date(t, tz, None).is_ok())
                    .count()
            })
        });
    }
    let orders: Vec<String> = data.iter().map(|l| l.order.clone()).collect();
    values.bench_with_input(BenchmarkId::new("id", "order"), &orders, |b, texts| {
        b.iter(|| {
            texts
                .iter()
                .filter(|t| matches!(id::id_from_cell(CellRef::Text(t)), Ok(Some(_))))
                .count()
        })
    });
    values.finish();

    let opts = load_options();
    let mut load = c.benchmark_group("load");
    load.throughput(Throughput::Elements(ROWS as u64))
        .sample_size(10);
    for (name, path) in &paths {
        let files = vec![path.to_string_lossy().into_owned()];
        load.bench_with_input(
            BenchmarkId::new("read+parse+group", name),
            &files,
            |b, files| b.iter(|| black_box(group::load(files, &opts).invoices.len())),
        );
    }
    load.finish();

    let files = vec![paths[0].1.to_string_lossy().into_owned()];
    let invoices = group::load(&files, &opts).invoices;
    let mut check = c.benchmark_group("validate");
    check.throughput(Throughput::Elements(invoices.len() as u64));
    check.bench_function("invoices", |b| {
        b.iter_batched(
            || invoices.clone(),
            |inv| black_box(validate::validate(inv, ValidateOptions::default()).len()),
            criterion::BatchSize::LargeInput,
        )
    });
    check.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
