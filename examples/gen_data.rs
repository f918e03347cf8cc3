//! Deterministic generator of large, realistic invoice inputs for benchmarks.
//!
//! ```text
//! cargo run --release --example gen_data -- --rows 1000000 --dialect br --order shuffled --out big-br.csv
//! cargo run --release --example gen_data -- --rows 200000 --format xlsx --out big.xlsx
//! ```
//!
//! Same arguments, same bytes (`--seed`, default 1). The data itself is described, and made, in
//! `tools/datagen.rs`, which the criterion benches share.

#[path = "../tools/datagen.rs"]
mod datagen;

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

fn main() {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gen_data: {e}");
            std::process::exit(2);
        }
    };
    let lines = datagen::generate(a.rows, a.seed, a.order == "shuffled");
    let result = match a.format.as_str() {
        "csv" => datagen::write_csv(&a.out, a.dialect == "br", &lines).map_err(|e| e.to_string()),
        "xlsx" => datagen::write_xlsx(&a.out, &lines).map_err(|e| e.to_string()),
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
