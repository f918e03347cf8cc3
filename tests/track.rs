//! `invoice-import track` end to end against the sandbox: tracking numbers for invoiced orders.

mod common;

use common::sim::{self, Sim, invoices_csv};
use common::{Workdir, read_csv};
use invoice_import::sandbox::{FaultKind, Route};

fn tracking_csv(w: &Workdir, name: &str, keys: &[(String, String)], suffix: &str) {
    let mut text =
        String::from("Pedido,NF,Código de Rastreio,Transportadora,URL de Rastreio,Data de Envio\n");
    for (order, number) in keys {
        text.push_str(&format!(
            "{order},{number},TRK{number}{suffix},Correios,https://track.example.com/{number},21/11/2026 08:00\n"
        ));
    }
    w.write(name, text);
}

fn statuses(w: &Workdir, name: &str) -> Vec<String> {
    read_csv(&w.path(name))
        .1
        .into_iter()
        .map(|r| r[2].clone())
        .collect()
}

#[test]
fn tracking_is_sent_once_and_a_changed_number_is_sent_again() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let keys = invoices_csv(&w, "inv.csv", 5);
    sim.run(
        &w,
        &["submit", "--rate", "200", "--ledger", "l.db", "inv.csv"],
    )
    .expect_code(0);
    std::thread::sleep(std::time::Duration::from_millis(400));

    tracking_csv(&w, "trk.csv", &keys, "");
    sim.run(
        &w,
        &["track", "--rate", "200", "--ledger", "l.db", "trk.csv"],
    )
    .expect_code(0);
    let s = sim.state();
    assert_eq!(s.counters.tracking_updates, 5);
    let inv = s.invoice(&keys[0].0, &keys[0].1).unwrap();
    assert_eq!(
        inv.tracking_number.as_deref(),
        Some(format!("TRK{}", keys[0].1).as_str())
    );
    assert_eq!(inv.courier.as_deref(), Some("Correios"));
    assert!(
        inv.dispatched_date
            .as_deref()
            .unwrap_or("")
            .starts_with("2026-11-21T08:00:00")
    );
    assert!(
        statuses(&w, "trk.tracking-results.csv")
            .iter()
            .all(|s| s == "accepted")
    );

    // The same file again: nothing is sent.
    sim.run(
        &w,
        &["track", "--rate", "200", "--ledger", "l.db", "trk.csv"],
    )
    .expect_code(0);
    assert_eq!(sim.state().counters.tracking_updates, 5);
    assert!(
        statuses(&w, "trk.tracking-results.csv")
            .iter()
            .all(|s| s == "already_accepted")
    );

    // A changed tracking number is sent.
    tracking_csv(&w, "trk.csv", &keys[..2], "-B");
    sim.run(
        &w,
        &["track", "--rate", "200", "--ledger", "l.db", "trk.csv"],
    )
    .expect_code(0);
    assert_eq!(sim.state().counters.tracking_updates, 7);
    sim.assert_exactly_once(&keys);
}

#[test]
fn tracking_for_an_invoice_not_on_the_order_says_submit_first() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    tracking_csv(&w, "trk.csv", &[("A-1".into(), "N-1".into())], "");
    sim.run(&w, &["track", "--ledger", "l.db", "trk.csv"])
        .expect_code(1);
    let (_, rows) = read_csv(&w.path("trk.tracking-results.csv"));
    assert_eq!(rows[0][2], "failed");
    assert_eq!(rows[0][3], "404");
    assert!(
        rows[0][6].contains("submit the invoice first"),
        "{:?}",
        rows[0]
    );
}

#[test]
fn bad_tracking_rows_are_invalid_before_sending() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    w.write(
        "trk.csv",
        "Order ID,Invoice Number,Tracking Number,Tracking URL\n\
         A-1,N-1,T1,not a url\n\
         A-2,N-2,T2,https://t.example.com/2\n\
         A-2,N-2,T3,https://t.example.com/2\n\
         A-3,N-3,,https://t.example.com/3\n",
    );
    sim.run(&w, &["track", "--ledger", "l.db", "trk.csv"])
        .expect_code(1);
    assert_eq!(
        statuses(&w, "trk.tracking-results.csv"),
        ["invalid", "invalid", "invalid"]
    );
    assert_eq!(sim.state().requests("PATCH patch_tracking 200"), 0);
    let (_, failed) = read_csv(&w.path("trk.tracking-failed.csv"));
    assert_eq!(failed.len(), 4, "every row of every invalid update, to fix");
}

#[test]
fn tracking_survives_faults() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let keys = invoices_csv(&w, "inv.csv", 3);
    sim.run(
        &w,
        &["submit", "--rate", "200", "--ledger", "l.db", "inv.csv"],
    )
    .expect_code(0);
    sim.script(
        Route::PatchTracking,
        &keys[0].0,
        vec![FaultKind::DropAfterApply, FaultKind::Unavailable503],
    );
    sim.script(
        Route::PatchTracking,
        &keys[1].0,
        vec![FaultKind::ErrorAfterApply500],
    );
    tracking_csv(&w, "trk.csv", &keys, "");
    sim.run(
        &w,
        &["track", "--rate", "200", "--ledger", "l.db", "trk.csv"],
    )
    .expect_code(0);
    let s = sim.state();
    for (o, n) in &keys {
        assert_eq!(
            s.invoice(o, n).unwrap().tracking_number.as_deref(),
            Some(format!("TRK{n}").as_str())
        );
    }
}

#[test]
fn submit_puts_tracking_columns_in_the_invoice_body() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    w.write(
        "in.csv",
        "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price,Courier,Tracking Number\n\
         A-1,N-1,2026-11-20T10:00:00Z,S1,1,10.00,Loggi,LG123\n",
    );
    sim.run(&w, &["submit", "--ledger", "l.db", "in.csv"])
        .expect_code(0);
    let s = sim.state();
    let inv = s.invoice("A-1", "N-1").unwrap();
    assert_eq!(inv.courier.as_deref(), Some("Loggi"));
    assert_eq!(inv.tracking_number.as_deref(), Some("LG123"));
}

#[test]
fn track_sample_on_the_embedded_sandbox() {
    let w = Workdir::new();
    w.copy(
        &common::repo().join("samples/tracking-en.csv"),
        "tracking-en.csv",
    );
    let r = w.run(&["track", "--sandbox", "tracking-en.csv"]);
    r.expect_code(0);
    assert!(
        r.stderr().contains("nothing is sent to VTEX"),
        "{}",
        r.stderr()
    );
    let rows = statuses(&w, "tracking-en.tracking-results.csv");
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|s| s == "accepted"), "{rows:?}");
}

/// Bug: `track --dry-run` ended with "12 valid (total 0.00)": tracking updates carry no money,
/// and a total of nothing read as if the invoices were worth nothing.
#[test]
fn a_tracking_dry_run_counts_without_a_total() {
    let w = Workdir::new();
    let sample = common::repo().join("samples/tracking-en.csv");
    let r = w.run(&["track", "--dry-run", sample.to_str().unwrap()]);
    r.expect_code(0);
    assert!(
        r.stdout().ends_with("12 valid, 0 invalid.\n"),
        "{}",
        r.stdout()
    );
    assert!(!r.stdout().contains("total"), "{}", r.stdout());
    // Nor when track reports the invalid ones before sending.
    w.write(
        "trk.csv",
        "Order ID,Invoice Number,Tracking Number\nA-1,1,\nA-2,2,TRK\n",
    );
    let r = w.run(&["track", "--sandbox", "--ledger", "l.db", "trk.csv"]);
    r.expect_code(1);
    assert!(r.stderr().contains("1 valid, 1 invalid."), "{}", r.stderr());
    assert!(!r.stderr().contains("value"), "{}", r.stderr());
}

/// Bug: `track --help` listed `--check-remote` and `--allow-shared-invoice-numbers`, and track
/// took them and did nothing with them. They are hidden from its help and refused.
#[test]
fn submit_only_options_are_not_track_s() {
    let w = Workdir::new();
    let help = w.run(&["track", "--help"]);
    help.expect_code(0);
    for flag in ["--check-remote", "--allow-shared-invoice-numbers"] {
        assert!(!help.stdout().contains(flag), "{flag} in track --help");
        let run = w.run(&["track", "--sandbox", flag, "t.csv"]);
        run.expect_code(2);
        assert!(
            run.stderr()
                .contains(&format!("{flag} is an option of submit")),
            "{}",
            run.stderr()
        );
    }
    assert!(
        w.run(&["submit", "--help"])
            .stdout()
            .contains("--check-remote")
    );
}
