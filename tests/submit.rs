//! `invoice-import submit` end to end: the real binary against the real sandbox over HTTP. The
//! sandbox's own record (`/_sandbox/state`) is the judge of exactly-once.

mod common;

use std::time::Duration;

use common::sim::{self, KEY, Sim, TOKEN, invoices_csv};
use common::{Workdir, read_csv, repo};
use invoice_import::sandbox::{FaultKind, FaultRates, Orders, Route};

fn results(w: &Workdir, name: &str) -> Vec<Vec<String>> {
    let (headers, rows) = read_csv(&w.path(name));
    assert_eq!(&headers[..3], ["order_id", "invoice_number", "status"]);
    for h in ["http_status", "receipt", "attempts", "error", "source"] {
        assert!(
            headers.iter().any(|x| x == h),
            "results lack column {h}: {headers:?}"
        );
    }
    rows
}

fn statuses(rows: &[Vec<String>]) -> Vec<&str> {
    rows.iter().map(|r| r[2].as_str()).collect()
}

#[test]
fn submits_every_invoice_once_and_writes_results_in_input_order() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 25);
    sim.run(
        &w,
        &["submit", "--rate", "200", "--ledger", "l.db", "in.csv"],
    )
    .expect_code(0);
    sim.assert_exactly_once(&keys);
    let rows = results(&w, "in.results.csv");
    assert_eq!(rows.len(), 25);
    let state = sim.state();
    for (row, (order, number)) in rows.iter().zip(&keys) {
        assert_eq!((&row[0], &row[1]), (order, number), "input order");
        assert_eq!(row[2], "accepted");
        assert_eq!(row[3], "200");
        let receipt = &state.invoice(order, number).unwrap().receipt;
        assert_eq!(&row[4], receipt, "the results carry the receipt VTEX gave");
        assert_eq!(row[5], "1");
    }
    // Bodies as the spec wants them: unit price in cents, value as the total.
    let first = state.invoice(&keys[0].0, &keys[0].1).unwrap();
    assert_eq!(first.value, 2000);
    assert_eq!(first.items[0].price, 1000);
    assert_eq!(first.items[0].quantity, 2);
}

#[test]
fn rerun_sends_nothing_again() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 10);
    sim.run(
        &w,
        &["submit", "--rate", "200", "--ledger", "l.db", "in.csv"],
    )
    .expect_code(0);
    let posts = sim.state().requests("POST post_invoice 200");
    sim.run(
        &w,
        &["submit", "--rate", "200", "--ledger", "l.db", "in.csv"],
    )
    .expect_code(0);
    assert_eq!(
        sim.state().requests("POST post_invoice 200"),
        posts,
        "nothing resent"
    );
    assert!(
        statuses(&results(&w, "in.results.csv"))
            .iter()
            .all(|s| *s == "already_accepted")
    );
    sim.assert_exactly_once(&keys);
}

/// Each fault kind, scripted on the first POST of one order: exactly once, and no re-post.
fn fault_on_first_post(kind: FaultKind) {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 6);
    sim.script(Route::PostInvoice, &keys[2].0, vec![kind]);
    sim.script(Route::PostInvoice, &keys[4].0, vec![kind, kind]);
    sim.run(
        &w,
        &[
            "submit",
            "--rate",
            "200",
            "--timeout",
            "1",
            "--ledger",
            "l.db",
            "in.csv",
        ],
    )
    .expect_code(0);
    sim.assert_exactly_once(&keys);
    assert!(sim.state().faults(kind) >= 2, "the fault was served");
    assert!(
        statuses(&results(&w, "in.results.csv"))
            .iter()
            .all(|s| *s == "accepted")
    );
}

#[test]
fn fault_503_before_apply() {
    fault_on_first_post(FaultKind::Unavailable503);
}

#[test]
fn fault_drop_before_apply() {
    fault_on_first_post(FaultKind::DropBeforeApply);
}

#[test]
fn fault_drop_after_apply_is_found_on_the_order_not_resent() {
    fault_on_first_post(FaultKind::DropAfterApply);
}

#[test]
fn fault_500_after_apply_is_found_on_the_order_not_resent() {
    fault_on_first_post(FaultKind::ErrorAfterApply500);
}

#[test]
fn fault_stall_after_apply_times_out_and_is_found() {
    fault_on_first_post(FaultKind::StallAfterApply);
}

#[test]
fn fault_on_a_retry_and_on_the_look_up() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 3);
    // 503 first (not applied), then the retry is applied but its answer is lost...
    sim.script(
        Route::PostInvoice,
        &keys[0].0,
        vec![FaultKind::Unavailable503, FaultKind::DropAfterApply],
    );
    // ...and here the look at the order fails too, before it succeeds.
    sim.script(
        Route::PostInvoice,
        &keys[1].0,
        vec![FaultKind::ErrorAfterApply500],
    );
    sim.script(
        Route::GetOrder,
        &keys[1].0,
        vec![FaultKind::Unavailable503, FaultKind::DropBeforeApply],
    );
    sim.run(
        &w,
        &[
            "submit",
            "--rate",
            "200",
            "--timeout",
            "2",
            "--ledger",
            "l.db",
            "in.csv",
        ],
    )
    .expect_code(0);
    sim.assert_exactly_once(&keys);
}

#[test]
fn random_faults_of_every_kind_still_exactly_once() {
    let mut faults = FaultRates::none();
    for kind in [
        FaultKind::Unavailable503,
        FaultKind::DropBeforeApply,
        FaultKind::DropAfterApply,
        FaultKind::ErrorAfterApply500,
    ] {
        faults.set(kind, 0.08);
    }
    let sim = Sim::start(sim::SandboxConfig {
        faults,
        seed: 42,
        latency_ms: (0, 5),
        ..sim::config()
    });
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 60);
    let run = sim.run(
        &w,
        &[
            "submit",
            "--rate",
            "300",
            "--concurrency",
            "8",
            "--max-attempts",
            "10",
            "--ledger",
            "l.db",
            "in.csv",
        ],
    );
    run.expect_code(0);
    sim.assert_exactly_once(&keys);
    let rows = results(&w, "in.results.csv");
    assert_eq!(rows.len(), 60);
    assert!(statuses(&rows).iter().all(|s| *s == "accepted"), "{rows:?}");
}

#[test]
fn server_limit_below_rate_adapts_with_few_429s() {
    let sim = Sim::start(sim::SandboxConfig {
        rate: Some(20.0),
        burst: 5,
        ..sim::config()
    });
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 60);
    sim.run(
        &w,
        &["submit", "--rate", "60", "--ledger", "l.db", "in.csv"],
    )
    .expect_code(0);
    sim.assert_exactly_once(&keys);
    let s = sim.state();
    // It honours Retry-After and slows down instead of hammering: far fewer 429s than invoices.
    assert!(
        s.counters.rate_limited < 20,
        "429s: {}",
        s.counters.rate_limited
    );
}

#[test]
fn unknown_order_fails_with_404_and_is_not_retried() {
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 4);
    let known = keys
        .iter()
        .skip(1)
        .map(|(o, _)| (o.clone(), None))
        .collect();
    let sim = Sim::start(sim::SandboxConfig {
        orders: Orders::Known(known),
        ..sim::config()
    });
    let run = sim.run(
        &w,
        &["submit", "--rate", "200", "--ledger", "l.db", "in.csv"],
    );
    run.expect_code(1);
    sim.assert_exactly_once(&keys[1..]);
    // The summary on the terminal says why, not only the results file.
    let why = format!("    order {}, invoice {}: ", keys[0].0, keys[0].1);
    assert!(
        run.stderr()
            .lines()
            .any(|l| l.starts_with(&why) && l.contains("404")),
        "{}",
        run.stderr()
    );
    let rows = results(&w, "in.results.csv");
    assert_eq!(rows[0][2], "failed");
    assert_eq!(rows[0][3], "404");
    assert_eq!(rows[0][5], "1", "a 404 is final");
    assert!(
        rows[0][6].contains("Order Not Found") || rows[0][6].contains("OMS007"),
        "{:?}",
        rows[0]
    );
    assert_eq!(sim.state().requests("POST post_invoice 404"), 1);
}

#[test]
fn wrong_token_stops_at_once() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    invoices_csv(&w, "in.csv", 40);
    let mut c = sim.cmd(
        &w,
        &[
            "submit",
            "--rate",
            "200",
            "--concurrency",
            "2",
            "--ledger",
            "l.db",
            "in.csv",
        ],
    );
    c.env("VTEX_APP_TOKEN", "wrong-token");
    let run = common::Run::of(&mut c, &["submit"]);
    run.expect_code(2);
    assert!(run.stderr().contains("401"), "{}", run.stderr());
    assert!(
        sim.state().requests("POST post_invoice 401") <= 2,
        "stopped at once"
    );
    let rows = results(&w, "in.results.csv");
    assert_eq!(rows.len(), 40, "every invoice still has a row");
    assert!(rows.iter().all(|r| r[2] == "failed"));
}

/// At a high rate a worker takes several invoices at once and records their intents in one
/// ledger write. A stop mid-way (here the first 401) must leave none of those intents behind:
/// the next run sends everything at once, without looking at any order first.
#[test]
fn a_stop_leaves_no_intent_recorded_ahead_behind() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 200);
    let args = [
        "submit",
        "--rate",
        "100000",
        "--concurrency",
        "2",
        "--ledger",
        "l.db",
        "in.csv",
    ];
    let mut c = sim.cmd(&w, &args);
    c.env("VTEX_APP_TOKEN", "wrong-token");
    let run = common::Run::of(&mut c, &["submit"]);
    run.expect_code(2);
    assert!(sim.state().requests("POST post_invoice 401") <= 2);
    let rows = results(&w, "in.results.csv");
    assert_eq!(rows.len(), 200);
    assert!(rows.iter().all(|r| r[2] == "failed"), "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r[3] == "401" || r[6].contains("stopped because")),
        "{rows:?}"
    );

    let run = sim.run(&w, &args);
    run.expect_code(0);
    assert!(
        !run.stderr().contains("earlier interrupted run"),
        "{}",
        run.stderr()
    );
    let state = sim.state();
    assert_eq!(state.requests("GET get_order 200"), 0, "no look-ups needed");
    assert_eq!(state.requests("GET get_order 404"), 0, "no look-ups needed");
    assert_eq!(state.requests("POST post_invoice 200"), 200);
    sim.assert_exactly_once(&keys);
}

/// Many invoices at an unlimited rate (intents recorded several at a time): every one sent
/// once, every row accepted, and a rerun sends nothing.
#[test]
fn a_fast_run_of_many_invoices_is_exactly_once() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 1000);
    let args = [
        "submit",
        "--rate",
        "1000000",
        "--concurrency",
        "8",
        "--ledger",
        "l.db",
        "in.csv",
    ];
    sim.run(&w, &args).expect_code(0);
    sim.assert_exactly_once(&keys);
    let rows = results(&w, "in.results.csv");
    assert_eq!(rows.len(), 1000);
    assert!(rows.iter().all(|r| r[2] == "accepted"));
    sim.run(&w, &args).expect_code(0);
    assert_eq!(sim.state().requests("POST post_invoice 200"), 1000);
}

#[test]
fn forbidden_key_stops_with_403() {
    let sim = Sim::start(sim::SandboxConfig {
        forbidden: true,
        ..sim::config()
    });
    let w = Workdir::new();
    invoices_csv(&w, "in.csv", 5);
    let run = sim.run(
        &w,
        &[
            "submit",
            "--rate",
            "200",
            "--concurrency",
            "1",
            "--ledger",
            "l.db",
            "in.csv",
        ],
    );
    run.expect_code(2);
    assert!(run.stderr().contains("403"), "{}", run.stderr());
}

#[test]
fn token_appears_in_no_output_or_file() {
    let sim = Sim::start(sim::SandboxConfig {
        faults: {
            let mut f = FaultRates::none();
            f.set(FaultKind::ErrorAfterApply500, 0.3);
            f
        },
        ..sim::config()
    });
    let w = Workdir::new();
    let mut keys = invoices_csv(&w, "in.csv", 10);
    keys.truncate(10);
    let run = sim.run(
        &w,
        &[
            "submit", "-v", "--rate", "200", "--ledger", "l.db", "in.csv",
        ],
    );
    let mut everything = run.stdout() + &run.stderr();
    for entry in std::fs::read_dir(w.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            everything.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    assert!(!everything.contains(TOKEN), "the token leaked");
    assert!(everything.contains("accepted"));
    let _ = KEY;
}

#[test]
fn plain_http_is_refused_off_loopback_before_any_request() {
    let w = Workdir::new();
    invoices_csv(&w, "in.csv", 1);
    let mut c = w.cmd(&["submit", "--base-url", "http://vtex.example.com", "in.csv"]);
    c.env("VTEX_APP_KEY", KEY).env("VTEX_APP_TOKEN", TOKEN);
    let run = common::Run::of(&mut c, &["submit http"]);
    run.expect_code(2);
    assert!(
        run.stderr().to_lowercase().contains("https"),
        "{}",
        run.stderr()
    );
}

#[test]
fn missing_credentials_is_a_usage_error() {
    let w = Workdir::new();
    invoices_csv(&w, "in.csv", 1);
    let run = w.run(&["submit", "--base-url", "http://127.0.0.1:9", "in.csv"]);
    run.expect_code(2);
    assert!(run.stderr().contains("VTEX_APP_KEY"), "{}", run.stderr());
}

/// A 429 asking for an hour, past `--max-wait`, stops the run at once with a message that says
/// when to come back: nothing more is sent, nobody sleeps through the hour, and the next run
/// sends what is left.
#[test]
fn retry_after_beyond_max_wait_stops_the_run_and_says_when() {
    let sim = Sim::start(sim::SandboxConfig {
        rate: Some(0.5),
        burst: 1,
        retry_after: invoice_import::sandbox::RetryAfter::Fixed(Duration::from_secs(3600)),
        ..sim::config()
    });
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 4);
    let started = std::time::Instant::now();
    let run = sim.run(
        &w,
        &[
            "submit",
            "--rate",
            "100",
            "--concurrency",
            "1",
            "--max-wait",
            "60",
            "--ledger",
            "l.db",
            "--summary-json",
            "s.json",
            "in.csv",
        ],
    );
    // Bug: exit 1, as for invoices to fix; nothing is wrong with them, the run is for later.
    run.expect_code(75);
    // Bug: the 429 that stopped the run was not counted (`0 throttled`).
    let summary: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
    assert_eq!(summary["throttled_429"], 1, "{summary:#}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the run waited instead of stopping"
    );
    assert!(
        run.stderr().contains("asked to wait 3600 s")
            && run.stderr().contains("--max-wait 60 s")
            && run.stderr().contains("submit the file again after"),
        "{}",
        run.stderr()
    );
    let rows = results(&w, "in.results.csv");
    assert_eq!(statuses(&rows), ["accepted", "failed", "failed", "failed"]);
    assert_eq!(sim.state().invoices.len(), 1, "nothing sent after the 429");
    // Later (here: a sandbox without the limit, same ledger), the rest goes, once.
    let later = Sim::start(sim::config());
    later
        .run(
            &w,
            &["submit", "--rate", "200", "--ledger", "l.db", "in.csv"],
        )
        .expect_code(0);
    assert_eq!(later.state().invoices.len(), 3, "only the three not sent");
    let _ = keys;
}

/// Bug: `--timeout 1e300` (and `--rate 1e-300`) panicked turning seconds into a `Duration`.
/// Numbers past what a clock can hold are usage errors.
#[test]
fn absurd_time_settings_are_usage_errors_not_panics() {
    let w = Workdir::new();
    invoices_csv(&w, "in.csv", 1);
    for (flag, value) in [
        ("--timeout", "1e300"),
        ("--rate", "1e-300"),
        ("--max-wait", "1e300"),
        ("--max-wait", "-1"),
    ] {
        let setting = format!("{flag}={value}");
        let run = w.run(&[
            "submit",
            "--sandbox",
            &setting,
            "--ledger",
            "l.db",
            "in.csv",
        ]);
        run.expect_code(2);
        assert!(
            !run.stderr().contains("panicked") && run.stderr().contains("must be"),
            "{flag} {value}: {}",
            run.stderr()
        );
    }
}

/// Two exports joined end to end (`cat jan.csv feb.csv`) repeat the header between them; an
/// invoice in both had its shared rows added together and was sent at twice its value (bug:
/// as two files the same rows were refused). Its rows on both sides of the repeated header now
/// make it invalid, and its failed-rows file keeps that header, so feeding it back unfixed is
/// refused the same way; deleting one side's rows sends it once, at its value.
#[test]
fn an_invoice_on_both_sides_of_a_repeated_header_is_not_sent() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let header = "Order ID,Invoice Number,Issuance Date,Item ID,Quantity,Unit Price";
    let shared = "d-1,D1,2017-05-02,SKU1,1,10.00\nd-1,D1,2017-05-02,SKU2,2,5.00";
    w.write(
        "joined.csv",
        format!(
            "{header}\n{shared}\nd-2,D2,2017-05-02,SKU1,1,10.00\n\
             {header}\n{shared}\nd-3,D3,2017-05-02,SKU1,1,10.00\n"
        ),
    );
    let args = ["submit", "--rate", "200", "--ledger", "l.db"];
    let run = sim.run(&w, &[&args[..], &["joined.csv"]].concat());
    run.expect_code(1);
    let state = sim.state();
    assert!(state.invoice("d-1", "D1").is_none(), "sent at double value");
    assert_eq!(state.invoice("d-2", "D2").unwrap().value, 1000);
    assert_eq!(state.invoice("d-3", "D3").unwrap().value, 1000);
    let (_, rows) = read_csv(&w.path("joined.failed.csv"));
    assert_eq!(
        rows.len(),
        5,
        "d-1's four rows and the header between them: {rows:?}"
    );
    assert_eq!(rows[2][0], "Order ID", "{rows:?}");
    assert!(
        rows[3][6].contains("rows above and below row 5, which repeats the header"),
        "{rows:?}"
    );
    // Fed back as it is, it is refused again.
    let again = sim.run(&w, &[&args[..], &["joined.failed.csv"]].concat());
    again.expect_code(1);
    assert!(sim.state().invoice("d-1", "D1").is_none());
    // One side deleted, the invoice is sent once, at its value.
    let failed = w.read("joined.failed.csv");
    let fixed: Vec<&str> = failed.lines().take(3).collect();
    w.write("fixed.csv", fixed.join("\n") + "\n");
    sim.run(&w, &[&args[..], &["fixed.csv"]].concat())
        .expect_code(0);
    assert_eq!(sim.state().invoice("d-1", "D1").unwrap().value, 2000);
    sim.assert_exactly_once(&[
        ("d-1".into(), "D1".into()),
        ("d-2".into(), "D2".into()),
        ("d-3".into(), "D3".into()),
    ]);
}

/// A failed-rows file fixed but not yet submitted was written over when the original input
/// ran again (a nightly job, say), and the fixes were lost (bug). The ledger now knows what
/// each run wrote; a file changed since is kept aside, named, and can still be submitted.
#[test]
fn an_edited_failed_rows_file_is_kept_when_the_input_runs_again() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    w.write(
        "in.csv",
        "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price,Invoice Value\n\
         A-1,N-1,2026-11-20,S1,1,10.00,10.00\n\
         A-2,N-2,2026-11-20,S1,1,10.00,12.00\n",
    );
    let args = ["submit", "--rate", "200", "--ledger", "l.db"];
    sim.run(&w, &[&args[..], &["in.csv"]].concat())
        .expect_code(1);
    let written = w.read("in.failed.csv");
    let fixed = written.replace(",12.00,", ",10.00,");
    w.write("in.failed.csv", &fixed);
    // The original again, before the fix is submitted.
    let again = sim.run(&w, &[&args[..], &["in.csv"]].concat());
    again.expect_code(1);
    assert!(
        again.stderr().contains(
            "in.failed.csv was changed since the run that wrote it; your copy is kept as"
        ),
        "{}",
        again.stderr()
    );
    assert_eq!(w.read("in.failed.edited.csv"), fixed);
    assert_eq!(w.read("in.failed.csv"), written, "this run's rows to fix");
    // Unchanged since this run wrote it, it is written over with no note and no copy.
    let third = sim.run(&w, &[&args[..], &["in.csv"]].concat());
    assert!(
        !third.stderr().contains("changed since"),
        "{}",
        third.stderr()
    );
    assert!(!w.path("in.failed.edited-2.csv").exists());
    // The copy kept is the fix, and goes through.
    sim.run(&w, &[&args[..], &["in.failed.edited.csv"]].concat())
        .expect_code(0);
    assert_eq!(sim.state().invoice("A-2", "N-2").unwrap().value, 1000);
}

#[test]
fn failed_rows_file_fixed_and_resubmitted_is_accepted() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    w.write(
        "in.csv",
        "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price,Invoice Value\n\
         A-1,N-1,2026-11-20,S1,1,10.00,10.00\n\
         A-2,N-2,2026-11-20,S1,1,10.00,12.00\n\
         A-2,N-2,2026-11-20,S2,1,1.00,12.00\n",
    );
    sim.run(
        &w,
        &["submit", "--rate", "200", "--ledger", "l.db", "in.csv"],
    )
    .expect_code(1);
    let (headers, rows) = read_csv(&w.path("in.failed.csv"));
    assert_eq!(headers.last().map(String::as_str), Some("error"));
    assert_eq!(
        &headers[..headers.len() - 1],
        [
            "Order ID",
            "Invoice Number",
            "Issuance Date",
            "SKU",
            "Quantity",
            "Unit Price",
            "Invoice Value"
        ]
    );
    assert_eq!(rows.len(), 2, "both rows of the invalid invoice");
    assert!(rows[0].last().unwrap().contains("12.00"));
    // The user fixes the value in place and feeds the file back, error column and all.
    let text = w.read("in.failed.csv").replace(",12.00,", ",11.00,");
    w.write("in.failed.csv", text);
    sim.run(
        &w,
        &[
            "submit",
            "--rate",
            "200",
            "--ledger",
            "l.db",
            "in.failed.csv",
        ],
    )
    .expect_code(0);
    sim.assert_exactly_once(&[("A-1".into(), "N-1".into()), ("A-2".into(), "N-2".into())]);
    assert_eq!(sim.state().invoice("A-2", "N-2").unwrap().value, 1100);
    // The second run's results are its own; the first run's, with A-1 accepted, are kept.
    let statuses = |name: &str| -> Vec<String> {
        let (_, rows) = read_csv(&w.path(name));
        rows.iter().map(|r| format!("{} {}", r[0], r[2])).collect()
    };
    assert_eq!(statuses("in.results.csv"), ["A-1 accepted", "A-2 invalid"]);
    assert_eq!(statuses("in.failed.results.csv"), ["A-2 accepted"]);
}

/// Bug: invalid invoices were worth 0.00 in the summary, the JSON, the HTML report and the
/// results file, even when their rows said their value: finance could not see how much money
/// waited on the fixes. Their value is given where the rows say it, and the rest are counted.
#[test]
fn invalid_invoices_are_worth_what_their_rows_say() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    w.write(
        "in.csv",
        "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price,Invoice Value\n\
         A-1,N-1,2026-11-20,S1,1,10.00,10.00\n\
         A-2,N-2,,S1,1,12.00,12.00\n\
         A-3,N-3,2026-11-20,S1,1,5.00,\n\
         A-3,N-3,2026-11-20,S2,2,1.00,9.00\n\
         A-4,N-4,2026-11-20,S1,0,10.00,-1.00\n",
    );
    let run = sim.run(
        &w,
        &[
            "submit",
            "--rate",
            "200",
            "--ledger",
            "l.db",
            "--summary-json",
            "s.json",
            "--report",
            "r.html",
            "in.csv",
        ],
    );
    run.expect_code(1);
    let out = run.stderr();
    assert!(
        out.contains("3 invalid (worth 21.00 and 1 of unknown value)")
            && out.contains("  invalid                3           21.00  and 1 of unknown value\n"),
        "{out}"
    );
    let summary: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
    let invalid = &summary["statuses"]["invalid"];
    assert_eq!(
        (&invalid["count"], &invalid["value_cents"]),
        (&3.into(), &2100.into())
    );
    assert_eq!(invalid["value_unknown"], 1);
    assert!(
        summary["statuses"]["accepted"]
            .get("value_unknown")
            .is_none()
    );
    let (_, rows) = read_csv(&w.path("in.results.csv"));
    let values: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[7].as_str()))
        .collect();
    assert_eq!(
        values,
        [
            ("A-1", "10.00"),
            ("A-2", "12.00"),
            ("A-3", "9.00"),
            ("A-4", "")
        ]
    );
    assert!(w.read("r.html").contains("21.00 and 1 of unknown value"));
    // Every one unknown: said so, not "0.00", in the terminal and the report alike.
    w.write(
        "u.csv",
        "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price\n\
         U-1,N-9,2026-11-20,S1,0,10.00\n",
    );
    let run = sim.run(
        &w,
        &["submit", "--ledger", "l.db", "--report", "u.html", "u.csv"],
    );
    run.expect_code(1);
    assert!(
        run.stderr()
            .contains("  invalid                1   value unknown\n"),
        "{}",
        run.stderr()
    );
    assert!(w.read("u.html").contains(">value unknown<"));
}

/// Bug: ids were written bare in the failed-rows and results files, so a spreadsheet that opened
/// them read invoice number `000100` as the number 100 (and a 44-digit access key as
/// `3.5E+43`), and a failed file fixed there and fed back sent invoice `100`, another invoice.
/// Such ids are written as the text cell `="000100"`, which a spreadsheet keeps as it is, and
/// the tool reads it back as the id; ` 000100 ` too, as the run read it.
#[test]
fn ids_a_spreadsheet_would_turn_into_numbers_come_back_as_they_were() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let key = "35261112345678000190550010000001001000001005";
    w.write(
        "in.csv",
        format!(
            "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price,Chave de Acesso\n\
             0071, 000100 ,2026-11-20,0042,0,10.00,{key}\n"
        ),
    );
    let args = ["submit", "--rate", "200", "--ledger", "l.db", "--quiet"];
    sim.run(&w, &[&args[..], &["in.csv"]].concat())
        .expect_code(1);
    let failed = w.read("in.failed.csv");
    assert!(
        failed.contains(&format!(
            "\"=\"\"0071\"\"\",\"=\"\"000100\"\"\",2026-11-20,\"=\"\"0042\"\"\",0,10.00,\"=\"\"{key}\"\"\","
        )),
        "{failed}"
    );
    let results = w.read("in.results.csv");
    assert!(
        results.contains("\"=\"\"0071\"\"\",\"=\"\"000100\"\"\",invalid"),
        "{results}"
    );

    // Fixed as text, the file sends the invoice with the ids as they were.
    w.write("in.failed.csv", failed.replace(",0,10.00,", ",1,10.00,"));
    sim.run(&w, &[&args[..], &["in.failed.csv"]].concat())
        .expect_code(0);
    sim.assert_exactly_once(&[("0071".into(), "000100".into())]);
    let sent = sim
        .state()
        .invoice("0071", "000100")
        .cloned()
        .expect("sent");
    assert_eq!(sent.items[0].id, "0042");
    assert_eq!(sent.invoice_key.as_deref(), Some(key));
}

/// Found by a review: an invoice whose ids sit in cells merged down over its item rows (or are
/// written on its first row only) was sent with its first item alone, 20.00 of 32.00, and once
/// accepted could not be corrected; a totals row at the bottom was an invalid row. The invoice
/// is held back, its rows go to the failed-rows file with the rows below it, and once their
/// ids are written in, all of it is sent; the totals row is passed over with a note.
#[test]
fn an_invoice_with_item_rows_that_lack_ids_is_held_back_whole() {
    use rust_xlsxwriter::{Format, Workbook};
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    common::write_headers(
        ws,
        0,
        &[
            "Order ID",
            "Invoice Number",
            "Issuance Date",
            "SKU",
            "Quantity",
            "Unit Price",
        ],
    );
    let merged = Format::new();
    for (c, v) in ["O1", "1001", "2026-11-20"].iter().enumerate() {
        ws.merge_range(1, c as u16, 3, c as u16, v, &merged)
            .unwrap();
    }
    for (r, (sku, q, p)) in [("A", 2.0, 10.0), ("B", 1.0, 5.0), ("C", 1.0, 7.0)]
        .iter()
        .enumerate()
    {
        let r = r as u32 + 1;
        ws.write_string(r, 3, *sku).unwrap();
        ws.write_number(r, 4, *q).unwrap();
        ws.write_number(r, 5, *p).unwrap();
    }
    for (c, v) in ["O2", "1002", "2026-11-20", "D"].iter().enumerate() {
        ws.write_string(4, c as u16, *v).unwrap();
    }
    ws.write_number(4, 4, 1.0).unwrap();
    ws.write_number(4, 5, 3.0).unwrap();
    ws.write_string(5, 3, "TOTAL GERAL").unwrap();
    ws.write_number(5, 5, 35.0).unwrap();
    wb.save(w.path("notas.xlsx")).unwrap();

    let args = [
        "submit",
        "--rate",
        "200",
        "--ledger",
        "l.db",
        "--timezone",
        "UTC",
    ];
    let run = sim.run(
        &w,
        &[
            &args[..],
            &[
                "--failed",
                "fix.csv",
                "--summary-json",
                "s.json",
                "notas.xlsx",
            ],
        ]
        .concat(),
    );
    run.expect_code(1);
    // For the runs that read no terminal (`--quiet`), the summary has the notes.
    let summary: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
    assert!(
        summary["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("row 6 looks like totals")),
        "{summary:#}"
    );
    let out = run.stderr() + &run.stdout();
    assert!(
        out.contains("row 6 looks like totals") && out.contains("passed over"),
        "{out}"
    );
    assert!(
        out.contains("row 3: an item with no order id or invoice number comes right below"),
        "{out}"
    );
    sim.assert_exactly_once(&[("O2".into(), "1002".into())]);

    // Rows 2-4 are in the failed-rows file; written in there, the ids send the whole invoice.
    let failed = w.read("fix.csv");
    assert_eq!(failed.lines().count(), 4, "{failed}");
    let fixed = failed
        .replace("\n,,,B,", "\nO1,1001,2026-11-20,B,")
        .replace("\n,,,C,", "\nO1,1001,2026-11-20,C,");
    w.write("fix.csv", fixed);
    sim.run(&w, &[&args[..], &["--quiet", "fix.csv"]].concat())
        .expect_code(0);
    sim.assert_exactly_once(&[("O1".into(), "1001".into()), ("O2".into(), "1002".into())]);
    let sent = sim.state().invoice("O1", "1001").cloned().expect("sent");
    assert_eq!(sent.value, 3200);
    assert_eq!(sent.items.len(), 3);
}

/// Found by a review: a run refused before reading a row (a mistyped --map) left the previous
/// run's results file empty, its receipts gone; and `--quiet` hid why invoices were invalid,
/// though it means "only problems and the final summary".
#[test]
fn a_refused_run_keeps_the_last_results_and_quiet_still_names_problems() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    invoices_csv(&w, "in.csv", 2);
    let mut text = w.read("in.csv");
    text.push_str("Z-1,NZ1,2026-11-20,S,0,1.00\n");
    w.write("in.csv", text);
    let args = ["submit", "--rate", "200", "--ledger", "l.db", "--quiet"];
    let run = sim.run(&w, &[&args[..], &["in.csv"]].concat());
    run.expect_code(1);
    assert!(
        run.stderr().contains("quantity 0 must be at least 1"),
        "{}",
        run.stderr()
    );
    let before = w.read("in.results.csv");
    assert_eq!(before.lines().count(), 4, "{before}");
    sim.run(
        &w,
        &[&args[..], &["--map", "invoice_value=Valor Total", "in.csv"]].concat(),
    )
    .expect_code(2);
    assert_eq!(w.read("in.results.csv"), before);
}

/// Found by a review: the summary's `started_at` was the time the run ended.
#[test]
fn the_summary_says_when_the_run_started() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    invoices_csv(&w, "in.csv", 5);
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let run = sim.run(
        &w,
        &[
            "submit",
            "--rate",
            "2",
            "--ledger",
            "l.db",
            "--quiet",
            "--summary-json",
            "-",
            "in.csv",
        ],
    );
    run.expect_code(0);
    let s = run.json();
    let started: chrono::DateTime<chrono::Utc> = s["started_at"].as_str().unwrap().parse().unwrap();
    assert!(s["duration_seconds"].as_f64().unwrap() >= 1.5, "{s:#}");
    assert!(
        started >= before && started <= before + chrono::Duration::seconds(2),
        "{s:#}"
    );
}

/// Found by a review: the default ledger was kept per URL as spelled, so the same store under
/// another name (`localhost` for `127.0.0.1`, `acme.myvtex.com` for `--account acme`) had a
/// ledger of its own, and every invoice the first had sent was sent again.
#[test]
fn another_spelling_of_the_same_target_shares_its_ledger() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 3);
    sim.run(&w, &["submit", "--rate", "200", "--quiet", "in.csv"])
        .expect_code(0);
    let localhost = sim.url.replace("127.0.0.1", "localhost");
    let mut again = w.cmd(&[
        "submit",
        "--rate",
        "200",
        "--base-url",
        &localhost,
        "in.csv",
    ]);
    again
        .env("VTEX_APP_KEY", sim::KEY)
        .env("VTEX_APP_TOKEN", sim::TOKEN);
    let run = common::Run::of(&mut again, &["submit"]);
    run.expect_code(0);
    let requests: u64 = sim.state().counters.requests.values().sum();
    assert_eq!(requests, 3, "{:?}", sim.state().counters);
    sim.assert_exactly_once(&keys);
}

/// Bug: an export that marks its ids as text with Excel's `'` (`'000100`) had the mark sent as
/// part of them: invoice number `'000100` on order `'0071`, which VTEX knows as `0071`. The
/// mark is read as Excel reads it, and a description that starts with `'` of its own comes back
/// from the failed-rows file as it was.
#[test]
fn excels_text_mark_before_an_id_is_not_part_of_it() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    w.write(
        "in.csv",
        "Order ID,Invoice Number,Issuance Date,SKU,Description,Quantity,Unit Price\n\
         '0071,'000100,2026-11-20,'0042,'07 pens,0,10.00\n",
    );
    let args = ["submit", "--rate", "200", "--ledger", "l.db", "--quiet"];
    sim.run(&w, &[&args[..], &["in.csv"]].concat())
        .expect_code(1);
    let failed = w.read("in.failed.csv");
    assert!(
        failed.contains(
            "\"=\"\"0071\"\"\",\"=\"\"000100\"\"\",2026-11-20,\"=\"\"0042\"\"\",''07 pens,0,"
        ),
        "{failed}"
    );
    w.write("in.failed.csv", failed.replace(",0,10.00,", ",1,10.00,"));
    sim.run(&w, &[&args[..], &["in.failed.csv"]].concat())
        .expect_code(0);
    sim.assert_exactly_once(&[("0071".into(), "000100".into())]);
    let sent = sim
        .state()
        .invoice("0071", "000100")
        .cloned()
        .expect("sent");
    assert_eq!(sent.items[0].id, "0042");
    assert_eq!(sent.items[0].description.as_deref(), Some("'07 pens"));
}

/// Bugs: feeding a failed-rows file back in (1) sent the `'` that escapes a cell such as `+100`
/// as part of the value, so VTEX got invoice number `'+100`, another invoice than the one that
/// failed; (2) wrote that run's results over the first run's and its failed rows over the very
/// file being read, adding a second `error` column each round. The `'` is dropped on reading,
/// each run writes files of its own, and the `error` column is replaced.
#[test]
fn a_failed_rows_file_comes_back_as_it_failed_and_is_not_written_over() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    w.write(
        "in.csv",
        "Order ID,Invoice Number,Issuance Date,SKU,Description,Quantity,Unit Price\n\
         D-1,+100,2026-11-20,@SKU1,- brinde,0,10.00\n\
         D-2,200,2026-11-20,S2,=caneta,0,5.00\n",
    );
    let args = ["submit", "--rate", "200", "--ledger", "l.db", "--quiet"];
    let with = |file: &'static str| {
        let mut a = args.to_vec();
        a.push(file);
        a
    };
    sim.run(&w, &with("in.csv")).expect_code(1);
    let failed = w.read("in.failed.csv");
    assert!(
        failed.contains("D-1,'+100,2026-11-20,'@SKU1,'- brinde,0,10.00,"),
        "{failed}"
    );

    // Fix D-1's quantity only: D-2 fails again.
    w.write("in.failed.csv", failed.replace(",0,10.00,", ",1,10.00,"));
    let before = w.read("in.failed.csv");
    sim.run(&w, &with("in.failed.csv")).expect_code(1);
    sim.assert_exactly_once(&[("D-1".into(), "+100".into())]);
    let sent = sim.state().invoice("D-1", "+100").cloned().expect("sent");
    assert_eq!(sent.items.len(), 1);
    assert_eq!(sent.items[0].id, "@SKU1");
    assert_eq!(sent.items[0].description.as_deref(), Some("- brinde"));
    assert_eq!(
        w.read("in.failed.csv"),
        before,
        "the input was written over"
    );
    let (headers, rows) = read_csv(&w.path("in.failed.failed.csv"));
    assert_eq!(
        headers,
        [
            "Order ID",
            "Invoice Number",
            "Issuance Date",
            "SKU",
            "Description",
            "Quantity",
            "Unit Price",
            "error"
        ],
        "one error column"
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][4], "'=caneta");
    assert!(rows[0][7].contains("quantity"), "{:?}", rows[0][7]);
    let (_, results) = read_csv(&w.path("in.failed.results.csv"));
    assert_eq!(results.len(), 2);
    let (_, first) = read_csv(&w.path("in.results.csv"));
    assert!(first.iter().all(|r| r[2] == "invalid"), "{first:?}");
}

/// Bug: the original file run again after its failed rows were fixed and sent listed those
/// invoices as invalid, with exit 1, and wrote them to its failed-rows file as rows to fix,
/// over the file the user had fixed. VTEX has them: they are `already_accepted` now.
#[test]
fn the_original_run_again_after_its_fixed_rows_were_sent_has_nothing_to_fix() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    w.write(
        "in.csv",
        "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price\n\
         D-1,100,2026-11-20,S1,0,10.00\n\
         D-2,200,2026-11-20,S2,1,5.00\n",
    );
    let args = ["submit", "--ledger", "l.db", "--quiet"];
    let with = |file: &'static str| {
        let mut a = args.to_vec();
        a.push(file);
        a
    };
    sim.run(&w, &with("in.csv")).expect_code(1);
    let fixed = w.read("in.failed.csv").replace(",0,10.00,", ",1,10.00,");
    w.write("in.failed.csv", &fixed);
    sim.run(&w, &with("in.failed.csv")).expect_code(0);

    sim.run(&w, &with("in.csv")).expect_code(0);
    let rows = results(&w, "in.results.csv");
    assert_eq!(statuses(&rows), ["already_accepted", "already_accepted"]);
    assert!(
        rows[0][6].starts_with("accepted earlier (") && rows[0][6].contains("quantity"),
        "{:?}",
        rows[0]
    );
    assert_eq!(
        rows[0][4],
        sim.state().invoice("D-1", "100").expect("sent").receipt
    );
    assert_eq!(
        w.read("in.failed.csv"),
        fixed,
        "the fixed file was written over"
    );
    sim.assert_exactly_once(&[("D-1".into(), "100".into()), ("D-2".into(), "200".into())]);
}

/// Bug: a run given `x.csv` and `x.failed.csv` together wrote x.csv's failed rows over the
/// second input, and `--results x.csv x.csv` truncated the input before reading it. A run whose
/// outputs would land on an input now stops before sending anything.
#[test]
fn outputs_never_land_on_an_input() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let body = "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price\n\
                A-1,N-1,2026-11-20,S1,0,10.00\n";
    w.write("x.csv", body);
    w.write("x.failed.csv", body.replace("A-1,N-1", "A-2,N-2"));
    for (rest, input) in [
        (&["x.csv", "x.failed.csv"][..], "x.failed.csv"),
        (&["--results", "./x.csv", "x.csv"][..], "x.csv"),
    ] {
        let mut args = vec!["submit", "--rate", "200", "--ledger", "l.db"];
        args.extend(rest);
        let out = sim.run(&w, &args);
        out.expect_code(2);
        let said = format!("over the input {input}");
        assert!(out.stderr().contains(&said), "{}", out.stderr());
    }
    assert_eq!(w.read("x.csv"), body);
    assert_eq!(w.read("x.failed.csv"), body.replace("A-1,N-1", "A-2,N-2"));
    assert_eq!(sim.state().requests("POST post_invoice 200"), 0);
}

/// Bug: a row with a cell that was not UTF-8 (a stray Latin-1 byte deep in a UTF-8 file) was
/// dropped as a row of no invoice, and the rest of its invoice was sent without it; nor was the
/// row in the failed-rows file. Now the invoice is invalid as a whole, the error names the
/// column, both rows are in the failed-rows file, and a bad byte in a column no field reads
/// costs nothing.
#[test]
fn a_cell_that_is_not_utf8_holds_back_its_whole_invoice() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let mut csv =
        b"Order ID,Invoice Number,Issuance Date,SKU,Description,Quantity,Unit Price,Notes\n\
        A-1,N-1,2026-11-20,S1,Caf\xe9,1,10.00,\n\
        A-1,N-1,2026-11-20,S2,Tea,1,2.00,\n"
            .to_vec();
    csv.extend_from_slice(b"A-2,N-2,2026-11-20,S1,Pen,1,5.00,caf\xe9\n");
    w.write("in.csv", csv);
    let out = sim.run(
        &w,
        &[
            "submit",
            "--rate",
            "200",
            "--ledger",
            "l.db",
            "--encoding",
            "utf-8",
            "in.csv",
        ],
    );
    out.expect_code(1);
    sim.assert_exactly_once(&[("A-2".into(), "N-2".into())]);
    let (_, rows) = read_csv(&w.path("in.failed.csv"));
    assert_eq!(rows.len(), 2, "both rows of the invoice: {rows:?}");
    assert_eq!(rows[0][4], "Caf\u{fffd}");
    assert_eq!(rows[1][4], "Tea");
    let error = rows[0].last().unwrap();
    assert!(
        error.contains("row 2, column 'Description': not valid UTF-8"),
        "{error}"
    );
}

/// Bug: the failed-rows file of a ';'-separated Brazilian export was written with ',', so a
/// Brazilian Excel opened it as one column. It keeps the input's delimiter, and still comes back.
#[test]
fn failed_rows_of_a_semicolon_file_keep_semicolons_and_come_back() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let text = "Pedido;Número da NF;Data de Emissão;SKU;Quantidade;Preço Unitário;Valor da Nota\n\
                B-1;NF-1;20/11/2026;S1;1;1.000,00;1.000,00\n\
                B-2;NF-2;20/11/2026;S1;1;10,00;12,00\n";
    // Windows-1252, as Excel on Windows saves it (these accents are the same bytes in Latin-1).
    let latin1: Vec<u8> = text.chars().map(|c| c as u32 as u8).collect();
    w.write("notas.csv", latin1);
    sim.run(
        &w,
        &["submit", "--rate", "200", "--ledger", "l.db", "notas.csv"],
    )
    .expect_code(1);
    let failed = w.read("notas.failed.csv");
    let header = failed.lines().next().unwrap_or("");
    assert_eq!(
        header,
        "Pedido;Número da NF;Data de Emissão;SKU;Quantidade;Preço Unitário;Valor da Nota;error"
    );
    assert!(
        failed.contains("B-2;NF-2;20/11/2026;S1;1;10,00;12,00;"),
        "{failed}"
    );
    w.write("notas.failed.csv", failed.replace(";12,00;", ";10,00;"));
    sim.run(
        &w,
        &[
            "submit",
            "--rate",
            "200",
            "--ledger",
            "l.db",
            "notas.failed.csv",
        ],
    )
    .expect_code(0);
    sim.assert_exactly_once(&[("B-1".into(), "NF-1".into()), ("B-2".into(), "NF-2".into())]);
    assert_eq!(sim.state().invoice("B-2", "NF-2").unwrap().value, 1000);
}

/// The results file's header and data lines as text (`Workdir::read` strips the BOM).
fn results_lines(w: &Workdir, name: &str) -> Vec<String> {
    w.read(name).lines().map(str::to_string).collect()
}

/// Bug: the results CSV was always ','-separated with amounts as `1000.00`, so a Brazilian Excel
/// (list separator ';', decimal comma) showed each row in one cell, while the failed-rows file
/// beside it opened fine. The results follow the input: ';' and `1000,00` for a ';' file or one
/// whose amounts have decimal commas; ',' and `1000.00` otherwise.
#[test]
fn results_follow_the_input_s_delimiter_and_decimal_comma() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    w.write(
        "notas.csv",
        "Pedido;NF;Data de Emissão;SKU;Quantidade;Preço Unitário;Valor da Nota\n\
         B-1;NF-1;20/11/2026;S1;1;1.000,00;1.000,00\n",
    );
    // ','-separated, but written where the comma is the decimal separator.
    w.write(
        "virgula.csv",
        "Pedido,NF,Data de Emissão,SKU,Quantidade,Preço Unitário,Valor da Nota\n\
         B-2,NF-2,20/11/2026,S1,2,\"12,50\",\"25,00\"\n",
    );
    w.write(
        "en.csv",
        "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price\n\
         A-1,N-1,2026-11-20,S1,3,1000.00\n",
    );
    for (input, key, sep, value) in [
        ("notas", "B-1;NF-1", ';', "1000,00"),
        ("virgula", "B-2;NF-2", ';', "25,00"),
        ("en", "A-1,N-1", ',', "3000.00"),
    ] {
        sim.run(
            &w,
            &[
                "submit",
                "--rate",
                "200",
                "--ledger",
                "l.db",
                &format!("{input}.csv"),
            ],
        )
        .expect_code(0);
        let lines = results_lines(&w, &format!("{input}.results.csv"));
        let header = "order_id,invoice_number,status,http_status,receipt,attempts,error,\
                      invoice_value,source";
        assert_eq!(lines[0], header.replace(',', &sep.to_string()), "{input}");
        assert_eq!(lines.len(), 2, "{input}: {lines:?}");
        assert!(
            lines[1].starts_with(&format!("{key}{sep}accepted{sep}200{sep}")),
            "{input}: {lines:?}"
        );
        assert!(
            lines[1].ends_with(&format!("{sep}{value}{sep}{input}.csv:2")),
            "{input}: {lines:?}"
        );
    }
    sim.assert_exactly_once(&[
        ("B-1".into(), "NF-1".into()),
        ("B-2".into(), "NF-2".into()),
        ("A-1".into(), "N-1".into()),
    ]);
}

#[test]
fn results_delimiter_is_chosen_by_flag_or_config() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    w.write(
        "notas.csv",
        "Pedido;NF;Data de Emissão;SKU;Quantidade;Preço Unitário\n\
         B-1;NF-1;20/11/2026;S1;1;1.234,56\n",
    );
    sim.run(
        &w,
        &[
            "submit",
            "--rate",
            "200",
            "--ledger",
            "l.db",
            "--results-delimiter",
            ",",
            "notas.csv",
        ],
    )
    .expect_code(0);
    let lines = results_lines(&w, "notas.results.csv");
    assert!(
        lines[0].starts_with("order_id,invoice_number,"),
        "{lines:?}"
    );
    assert!(lines[1].ends_with(",1234.56,notas.csv:2"), "{lines:?}");

    // The config file's choice, for an English file; a flag would win over it.
    w.write("c.toml", "[output]\nresults_delimiter = \"semicolon\"\n");
    w.write(
        "en.csv",
        "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price\n\
         A-1,N-1,2026-11-20,S1,1,9.99\n",
    );
    sim.run(
        &w,
        &[
            "--config", "c.toml", "submit", "--rate", "200", "--ledger", "l.db", "en.csv",
        ],
    )
    .expect_code(0);
    let lines = results_lines(&w, "en.results.csv");
    assert!(
        lines[0].starts_with("order_id;invoice_number;"),
        "{lines:?}"
    );
    assert!(lines[1].ends_with(";9,99;en.csv:2"), "{lines:?}");
    sim.assert_exactly_once(&[("B-1".into(), "NF-1".into()), ("A-1".into(), "N-1".into())]);

    w.write("bad.toml", "[output]\nresults_delimiter = \"|\"\n");
    let out = sim.run(
        &w,
        &[
            "--config", "bad.toml", "submit", "--ledger", "l.db", "en.csv",
        ],
    );
    out.expect_code(2);
    assert!(
        out.stderr().contains("output.results_delimiter"),
        "{}",
        out.stderr()
    );
}

#[test]
fn strict_sends_nothing_when_any_invoice_is_invalid() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    w.write(
        "in.csv",
        "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price\n\
         A-1,N-1,2026-11-20,S1,1,10.00\n\
         A-2,N-2,2026-11-20,S1,-1,10.00\n",
    );
    sim.run(&w, &["submit", "--strict", "--ledger", "l.db", "in.csv"])
        .expect_code(1);
    assert!(sim.state().invoices.is_empty());
    assert_eq!(
        statuses(&results(&w, "in.results.csv")),
        ["failed", "invalid"]
    );
}

/// Bug: a row with no usable order id or invoice number joined no invoice, and so was missing
/// from the results file and the HTML report: only the failed-rows file had it. Each now has a
/// result of its own, after the invoices, and the counts of invoices leave it out.
#[test]
fn a_row_in_no_invoice_has_a_result_and_is_counted_apart() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    w.write(
        "in.csv",
        "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price\n\
         A-1,N-1,2026-11-20,S1,1,10.00\n\
         ,N-2,2026-11-20,S1,1,10.00\n\
         A-3,N/3,2026-11-20,S1,1,10.00\n",
    );
    let run = sim.run(
        &w,
        &[
            "submit",
            "--ledger",
            "l.db",
            "--summary-json",
            "s.json",
            "--report",
            "r.html",
            "in.csv",
        ],
    );
    run.expect_code(1);
    assert!(
        run.stderr().contains("2 rows joined no invoice"),
        "{}",
        run.stderr()
    );
    assert_eq!(sim.state().invoices.len(), 1);
    let rows = results(&w, "in.results.csv");
    assert_eq!(statuses(&rows), ["accepted", "invalid", "invalid"]);
    for (row, line) in rows[1..].iter().zip(["row 3", "row 4"]) {
        assert_eq!((row[0].as_str(), row[1].as_str()), ("", ""));
        let error = &row[6];
        assert!(error.contains(line), "{error}");
    }
    assert!(
        rows[2][6].contains("'/'") || rows[2][6].contains("slash"),
        "{rows:?}"
    );
    let summary: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
    assert_eq!(summary["row_errors"], 2, "{summary:#}");
    assert_eq!(summary["statuses"]["accepted"]["count"], 1, "{summary:#}");
    assert!(
        summary["statuses"]["invalid"]["count"]
            .as_u64()
            .unwrap_or(0)
            == 0,
        "{summary:#}"
    );
    let html = w.read("r.html");
    assert!(
        html.contains("id=\"count-unkeyed\" class=\"num\">2<") && html.contains("N/3"),
        "{html}"
    );
    let (_, failed) = read_csv(&w.path("in.failed.csv"));
    assert_eq!(failed.len(), 2);
}

/// Bug: after the input was fixed and submitted again with nothing failing, the failed-rows file
/// of the run before was still there, unmentioned, listing rows that are now accepted. It is
/// not deleted (it may be the very file a user edited), but the run says it is stale.
#[test]
fn a_failed_rows_file_left_from_an_earlier_run_is_called_stale() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let head = "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price\n\
                A-1,N-1,2026-11-20,S1,1,10.00\n";
    w.write("in.csv", format!("{head}A-2,N-2,2026-11-20,S1,-1,10.00\n"));
    let args = ["submit", "--ledger", "l.db", "in.csv"];
    let first = sim.run(&w, &args);
    first.expect_code(1);
    assert!(
        !first.stderr().contains("earlier run"),
        "{}",
        first.stderr()
    );
    w.write("in.csv", format!("{head}A-2,N-2,2026-11-20,S1,1,10.00\n"));
    let second = sim.run(&w, &args);
    second.expect_code(0);
    assert!(
        second
            .stderr()
            .contains("in.failed.csv is from an earlier run: none of in.csv's rows failed"),
        "{}",
        second.stderr()
    );
    assert!(w.path("in.failed.csv").exists());
    assert_eq!(sim.state().invoices.len(), 2);
}

#[test]
fn an_invoice_number_on_two_orders_is_sent_for_neither_unless_allowed() {
    // The batch-wide rule, where submit judges each invoice as it is built from the store:
    // NF-7 on orders would book two invoices at VTEX, so both are invalid and
    // nothing of them is sent; the invoice beside them still goes.
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    w.write(
        "in.csv",
        "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price\n\
         A-1,NF-7,2026-11-20,S1,1,10.00\n\
         B-1,NF-8,2026-11-20,S1,1,10.00\n\
         A-2,NF-7,2026-11-20,S1,1,10.00\n",
    );
    let run = sim.run(&w, &["submit", "--ledger", "l.db", "in.csv"]);
    run.expect_code(1);
    assert!(run.stderr().contains("NF-7"), "{}", run.stderr());
    let rows = results(&w, "in.results.csv");
    assert_eq!(statuses(&rows), ["invalid", "accepted", "invalid"]);
    assert!(
        rows[0][6].contains("also used by order A-2"),
        "{:?}",
        rows[0]
    );
    assert!(
        rows[2][6].contains("also used by order A-1"),
        "{:?}",
        rows[2]
    );
    let state = sim.state();
    assert_eq!(state.invoices.len(), 1);
    assert!(state.invoice("B-1", "NF-8").is_some());

    sim.run(
        &w,
        &[
            "submit",
            "--allow-shared-invoice-numbers",
            "--ledger",
            "l.db",
            "in.csv",
        ],
    )
    .expect_code(0);
    sim.assert_exactly_once(&[
        ("A-1".into(), "NF-7".into()),
        ("B-1".into(), "NF-8".into()),
        ("A-2".into(), "NF-7".into()),
    ]);
}

/// Bug: the rule above held only within one batch. NF-7 accepted on A-1 yesterday and on A-2
/// in today's file was sent, and VTEX booked it on both orders. The ledger remembers.
#[test]
fn an_invoice_number_sent_on_another_order_in_an_earlier_run_is_not_sent() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    w.write(
        "monday.csv",
        "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price\n\
         A-1,NF-7,2026-11-20,S1,1,10.00\n",
    );
    w.write(
        "tuesday.csv",
        "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price\n\
         A-2,NF-7,2026-11-21,S1,1,10.00\n\
         B-1,NF-8,2026-11-21,S1,1,10.00\n",
    );
    sim.run(&w, &["submit", "--ledger", "l.db", "monday.csv"])
        .expect_code(0);
    let run = sim.run(&w, &["submit", "--ledger", "l.db", "tuesday.csv"]);
    run.expect_code(1);
    let rows = results(&w, "tuesday.results.csv");
    assert_eq!(statuses(&rows), ["failed", "accepted"]);
    assert!(
        rows[0][6].contains("NF-7 was accepted earlier on order A-1"),
        "{:?}",
        rows[0]
    );
    let state = sim.state();
    assert!(state.invoice("A-2", "NF-7").is_none());
    assert_eq!(state.invoices.len(), 2);
    // Its failed row comes back as it was, and A-1's own rerun is not held back.
    assert!(w.read("tuesday.failed.csv").contains("A-2,NF-7"));
    sim.run(&w, &["submit", "--ledger", "l.db", "monday.csv"])
        .expect_code(0);

    sim.run(
        &w,
        &[
            "submit",
            "--allow-shared-invoice-numbers",
            "--ledger",
            "l.db",
            "tuesday.csv",
        ],
    )
    .expect_code(0);
    sim.assert_exactly_once(&[
        ("A-1".into(), "NF-7".into()),
        ("B-1".into(), "NF-8".into()),
        ("A-2".into(), "NF-7".into()),
    ]);
}

/// Bug: the two rules above compared numbers as written. `000777` on A-1 and `777` on A-2 in one
/// file, or `000888` accepted on A-1 yesterday and `888` on A-2 today, were each sent, and VTEX
/// booked one invoice on two orders.
#[test]
fn an_invoice_number_on_another_order_with_other_leading_zeros_is_not_sent() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let header = "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price\n";
    w.write(
        "batch.csv",
        format!(
            "{header}A-1,000777,2026-11-20,S1,1,10.00\n\
             A-2,777,2026-11-20,S1,1,10.00\n\
             A-1,000888,2026-11-20,S1,1,10.00\n"
        ),
    );
    let run = sim.run(&w, &["submit", "--ledger", "l.db", "batch.csv"]);
    run.expect_code(1);
    let rows = results(&w, "batch.results.csv");
    assert_eq!(statuses(&rows), ["invalid", "invalid", "accepted"]);
    assert!(
        rows[1][6].contains("also used by order A-1 (written '000777')"),
        "{:?}",
        rows[1]
    );
    w.write(
        "tuesday.csv",
        format!("{header}A-2,888,2026-11-21,S1,1,10.00\n"),
    );
    let run = sim.run(&w, &["submit", "--ledger", "l.db", "tuesday.csv"]);
    run.expect_code(1);
    let rows = results(&w, "tuesday.results.csv");
    assert_eq!(statuses(&rows), ["failed"]);
    assert!(
        rows[0][6].contains("888 was accepted earlier on order A-1 as '000888'"),
        "{:?}",
        rows[0]
    );
    let state = sim.state();
    assert_eq!(state.invoices.len(), 1);
    assert!(state.invoice("A-1", "000888").is_some());
}

/// Bug: `000123` and `123` on one order (one export kept the zeros, a spreadsheet dropped them)
/// were two invoices, in one file as across runs, and VTEX booked both: the order invoiced
/// twice.
#[test]
fn an_invoice_number_written_with_and_without_leading_zeros_is_sent_once() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let header = "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price\n";
    w.write(
        "both.csv",
        format!(
            "{header}A-1,000123,2026-11-20,S1,1,10.00\n\
             B-1,124,2026-11-20,S1,1,10.00\n\
             A-1,123,2026-11-20,S1,1,10.00\n"
        ),
    );
    // Both ways in one file: neither is sent, even where numbers may be shared.
    let run = sim.run(
        &w,
        &[
            "submit",
            "--allow-shared-invoice-numbers",
            "--ledger",
            "l.db",
            "both.csv",
        ],
    );
    run.expect_code(1);
    let rows = results(&w, "both.results.csv");
    assert_eq!(statuses(&rows), ["invalid", "accepted", "invalid"]);
    assert!(
        rows[0][6].contains("'000123' and '123' of order A-1 differ only in leading zeros"),
        "{:?}",
        rows[0]
    );
    assert_eq!(sim.state().invoices.len(), 1);

    // One way today, the other tomorrow: the ledger remembers.
    w.write(
        "monday.csv",
        format!("{header}A-1,000123,2026-11-20,S1,1,10.00\n"),
    );
    w.write(
        "tuesday.csv",
        format!("{header}A-1,123,2026-11-20,S1,1,10.00\n"),
    );
    sim.run(&w, &["submit", "--ledger", "l.db", "monday.csv"])
        .expect_code(0);
    let run = sim.run(&w, &["submit", "--ledger", "l.db", "tuesday.csv"]);
    run.expect_code(1);
    let rows = results(&w, "tuesday.results.csv");
    assert_eq!(statuses(&rows), ["failed"]);
    assert!(
        rows[0][6].contains("'123' was accepted earlier on this order as '000123'"),
        "{:?}",
        rows[0]
    );
    assert!(sim.state().invoice("A-1", "123").is_none());
    sim.assert_exactly_once(&[
        ("A-1".into(), "000123".into()),
        ("B-1".into(), "124".into()),
    ]);
    // Monday's file again is already accepted, not held back by its own record.
    sim.run(&w, &["submit", "--ledger", "l.db", "monday.csv"])
        .expect_code(0);
}

#[test]
fn kill_9_mid_run_then_rerun_is_exactly_once() {
    let sim = Sim::start(sim::SandboxConfig {
        latency_ms: (150, 250),
        ..sim::config()
    });
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 80);
    let mut c = sim.cmd(
        &w,
        &[
            "submit",
            "--rate",
            "40",
            "--concurrency",
            "6",
            "--ledger",
            "l.db",
            "in.csv",
        ],
    );
    let mut child = c
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let applied_before = sim.state().invoices.len();
    assert!(
        applied_before > 0 && applied_before < 80,
        "killed mid-run ({applied_before} applied)"
    );
    // The live results file is usable after the crash.
    let partial = results(&w, "in.results.csv");
    assert!(partial.len() <= 80);
    sim.run(
        &w,
        &[
            "submit",
            "--rate",
            "200",
            "--concurrency",
            "6",
            "--ledger",
            "l.db",
            "in.csv",
        ],
    )
    .expect_code(0);
    sim.assert_exactly_once(&keys);
    let rows = results(&w, "in.results.csv");
    assert_eq!(rows.len(), 80, "results complete");
    assert!(
        statuses(&rows)
            .iter()
            .all(|s| *s == "accepted" || *s == "already_accepted")
    );
}

#[test]
fn second_run_on_the_same_ledger_is_refused() {
    let sim = Sim::start(sim::SandboxConfig {
        latency_ms: (300, 300),
        ..sim::config()
    });
    let w = Workdir::new();
    invoices_csv(&w, "a.csv", 30);
    invoices_csv(&w, "b.csv", 3);
    let mut first = sim
        .cmd(
            &w,
            &[
                "submit",
                "--rate",
                "5",
                "--concurrency",
                "1",
                "--ledger",
                "l.db",
                "a.csv",
            ],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let second = sim.run(&w, &["submit", "--ledger", "l.db", "b.csv"]);
    first.kill().unwrap();
    first.wait().unwrap();
    second.expect_code(2);
    assert!(second.stderr().contains("another"), "{}", second.stderr());
}

#[test]
fn check_remote_skips_invoices_already_on_vtex() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 5);
    // Another system invoiced two of them (a separate ledger stands for it).
    invoices_csv(&w, "other.csv", 2);
    sim.run(&w, &["submit", "--ledger", "other.db", "other.csv"])
        .expect_code(0);
    std::thread::sleep(Duration::from_millis(400)); // VTEX's propagation delay
    sim.run(
        &w,
        &["submit", "--check-remote", "--ledger", "l.db", "in.csv"],
    )
    .expect_code(0);
    sim.assert_exactly_once(&keys);
    let rows = results(&w, "in.results.csv");
    assert_eq!(
        statuses(&rows),
        [
            "already_accepted",
            "already_accepted",
            "accepted",
            "accepted",
            "accepted"
        ]
    );
}

/// Another system booked invoice `000123`; this file has it as `123`, its zeros dropped as a
/// spreadsheet drops them from a number. `--check-remote` looked for the number as written
/// only, missed it, and sent it, so VTEX had the invoice twice (bug).
#[test]
fn check_remote_finds_the_number_written_with_other_leading_zeros() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let header = "Order ID,Invoice Number,Issuance Date,Item ID,Quantity,Unit Price";
    let row = |number: &str, order: &str| format!("{order},{number},2026-11-20,S1,1,10.00");
    w.write("other.csv", format!("{header}\n{}\n", row("000123", "A-1")));
    sim.run(&w, &["submit", "--ledger", "other.db", "other.csv"])
        .expect_code(0);
    std::thread::sleep(Duration::from_millis(400)); // VTEX's propagation delay
    w.write(
        "in.csv",
        format!("{header}\n{}\n{}\n", row("123", "A-1"), row("124", "A-2")),
    );
    let run = sim.run(
        &w,
        &["submit", "--check-remote", "--ledger", "l.db", "in.csv"],
    );
    run.expect_code(1);
    let state = sim.state();
    assert!(state.invoice("A-1", "123").is_none(), "booked twice");
    assert!(state.invoice("A-2", "124").is_some());
    let rows = results(&w, "in.results.csv");
    assert_eq!(statuses(&rows), ["failed", "accepted"]);
    let (headers, _) = read_csv(&w.path("in.results.csv"));
    let column = headers.iter().position(|h| h == "error").unwrap();
    let error = &rows[0][column];
    assert!(
        error.contains("already has invoice 000123 (value 10.00) on VTEX"),
        "{error}"
    );
    // The ledger holds it as an intent: the next run looks again, and refuses again.
    sim.run(
        &w,
        &["submit", "--check-remote", "--ledger", "l.db", "in.csv"],
    )
    .expect_code(1);
    assert!(sim.state().invoice("A-1", "123").is_none());
}

/// Bug (found by a review): a look that found the invoice on the order in another form (another
/// value; its number with other leading zeros) was recorded as failed, and the next run, without
/// `--check-remote` or feeding the failed rows back, sent it without a look: VTEX then had
/// `000123` and `123` on one order, or a receipt the tool replaced under a value it never took.
/// Such an invoice stays an intent in the ledger, so every later run looks first.
#[test]
fn an_invoice_found_on_the_order_in_another_form_is_looked_for_by_every_later_run() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let header = "Order ID,Invoice Number,Issuance Date,Item ID,Quantity,Unit Price";
    let row = |order: &str, number: &str, price: &str| {
        format!("{order},{number},2026-11-20,S1,1,{price}")
    };
    w.write(
        "other.csv",
        format!(
            "{header}\n{}\n{}\n",
            row("A-1", "000123", "10.00"),
            row("A-3", "200", "10.00")
        ),
    );
    sim.run(&w, &["submit", "--ledger", "other.db", "other.csv"])
        .expect_code(0);
    std::thread::sleep(Duration::from_millis(400)); // VTEX's propagation delay
    w.write(
        "in.csv",
        format!(
            "{header}\n{}\n{}\n",
            row("A-1", "123", "10.00"),
            row("A-3", "200", "30.00")
        ),
    );
    sim.run(
        &w,
        &["submit", "--check-remote", "--ledger", "l.db", "in.csv"],
    )
    .expect_code(1);
    // Fed back as they are, without --check-remote: still refused, and nothing sent.
    let posts = |sim: &Sim| sim.state().requests("POST post_invoice 200");
    let before = posts(&sim);
    let receipt = |sim: &Sim| sim.state().invoice("A-3", "200").map(|i| i.receipt.clone());
    let first_receipt = receipt(&sim);
    assert!(first_receipt.is_some());
    let run = sim.run(&w, &["submit", "--ledger", "l.db", "in.failed.csv"]);
    run.expect_code(1);
    assert_eq!(posts(&sim), before, "sent without a look");
    let state = sim.state();
    assert!(state.invoice("A-1", "123").is_none(), "booked twice");
    assert_eq!(
        state.invoice("A-3", "200").map(|i| i.value),
        Some(1000),
        "{state:?}"
    );
    assert_eq!(receipt(&sim), first_receipt, "the receipt was replaced");
    let rows = results(&w, "in.failed.results.csv");
    assert_eq!(statuses(&rows), ["failed", "failed"]);
    // And again: the ledger still says look first.
    sim.run(&w, &["submit", "--ledger", "l.db", "in.csv"])
        .expect_code(1);
    assert_eq!(posts(&sim), before, "sent without a look");
}

#[test]
fn embedded_sandbox_runs_the_readme_command() {
    let w = Workdir::new();
    let samples = repo().join("samples");
    for f in ["invoices-en.csv", "notas-fiscais-br.csv", "invoices.xlsx"] {
        w.copy(&samples.join(f), f);
    }
    let run = w.run(&[
        "submit",
        "--sandbox",
        "invoices-en.csv",
        "notas-fiscais-br.csv",
        "invoices.xlsx",
    ]);
    run.expect_code(0);
    assert!(
        run.stderr().contains("nothing is sent to VTEX"),
        "{}",
        run.stderr()
    );
    let rows = results(&w, "invoices-en.results.csv");
    assert_eq!(rows.len(), 12 + 15 + 6);
    assert!(statuses(&rows).iter().all(|s| *s == "accepted"));
}

fn interrupt(child: &std::process::Child) {
    // SIGINT, as Ctrl-C sends it.
    signal(child, "-INT");
}

fn signal(child: &std::process::Child, which: &str) {
    let status = std::process::Command::new("kill")
        .args([which, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn ctrl_c_settles_in_flight_writes_results_and_exits_130() {
    stopped_mid_run_settles_in_flight_and_writes_results("-INT");
}

/// Found by a review: SIGTERM, which systemd sends to stop a unit and `timeout` to end a run,
/// killed the run at once: no summary, no failed-rows file, a results file of 28 rows of 300.
/// It stops the run as Ctrl-C does.
#[test]
fn sigterm_stops_a_run_as_ctrl_c_does() {
    stopped_mid_run_settles_in_flight_and_writes_results("-TERM");
}

/// Found by a review: a SIGTERM while a run read the ledger, before the first request (a
/// backfill spends seconds there), killed it with exit 143: no results, no summary for the
/// scheduler. Signals are listened for from before the ledger is opened.
#[test]
fn sigterm_before_the_first_request_ends_with_results_and_a_summary() {
    use std::io::BufRead;
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    invoices_csv(&w, "in.csv", 30_000);
    let mut child = sim
        .cmd(
            &w,
            &[
                "submit",
                "-v",
                "--ledger",
                "l.db",
                "--summary-json",
                "s.json",
                "in.csv",
            ],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // `-v` names the ledger once it is open, before its look at the 30,000 keys.
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        said.push_str(&line);
        if line.starts_with("ledger: ") {
            break;
        }
        line.clear();
    }
    signal(&child, "-TERM");
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{said}{rest}");
    let summary: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
    assert_eq!(summary["exit_code"], 130, "{summary:#}");
    let rows = results(&w, "in.results.csv");
    assert_eq!(rows.len(), 30_000, "every invoice has a row");
    let accepted = rows.iter().filter(|r| r[2] == "accepted").count();
    assert_eq!(accepted, sim.state().invoices.len(), "results are true");
}

/// Bug (found by a review): a SIGTERM while a look at an order waited out a 429's Retry-After
/// (here a minute) was noticed only after the wait, and more look-ups went out; systemd's stop
/// timeout would have killed the run before its results. The wait ends at the signal.
#[test]
fn sigterm_during_a_look_s_retry_after_stops_at_once() {
    let sim = Sim::start(sim::SandboxConfig {
        rate: Some(1.0),
        burst: 1,
        retry_after: invoice_import::sandbox::RetryAfter::Fixed(Duration::from_secs(60)),
        ..sim::config()
    });
    let w = Workdir::new();
    invoices_csv(&w, "in.csv", 5);
    let mut child = sim
        .cmd(
            &w,
            &[
                "submit",
                "--check-remote",
                "--rate",
                "100",
                "--ledger",
                "l.db",
                "in.csv",
            ],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Past the first look, into the minute's wait of the second.
    std::thread::sleep(Duration::from_millis(1500));
    let throttled = sim.state().requests("GET get_order 429");
    assert!(throttled >= 1, "{:?}", sim.state().counters);
    signal(&child, "-TERM");
    let status = common::wait_or_kill(
        &mut child,
        Duration::from_secs(30),
        "SIGTERM sent in a 60 s Retry-After",
    );
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        sim.state().requests("GET get_order 429"),
        throttled,
        "looked again"
    );
    assert!(sim.state().invoices.is_empty());
}

fn stopped_mid_run_settles_in_flight_and_writes_results(which: &str) {
    let sim = Sim::start(sim::SandboxConfig {
        latency_ms: (100, 150),
        ..sim::config()
    });
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 60);
    let child = sim
        .cmd(
            &w,
            &[
                "submit",
                "--rate",
                "20",
                "--concurrency",
                "4",
                "--ledger",
                "l.db",
                "--summary-json",
                "s.json",
                "in.csv",
            ],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    signal(&child, which);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
    assert_eq!(summary["exit_code"], 130);
    // Bug: a SIGTERM said "Ctrl-C again to abort", to a service that has no terminal.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let said = if which == "-TERM" {
        "terminated (SIGTERM): finishing requests in flight (a second SIGTERM or Ctrl-C aborts)"
    } else {
        "interrupted: finishing requests in flight (Ctrl-C again to abort)"
    };
    assert!(stderr.contains(said), "{stderr}");
    let rows = results(&w, "in.results.csv");
    assert_eq!(rows.len(), 60, "every invoice has a row");
    let accepted = rows.iter().filter(|r| r[2] == "accepted").count();
    let applied = sim.state().invoices.len();
    assert!(
        accepted > 0 && accepted < 60,
        "interrupted mid-run: {accepted} accepted"
    );
    assert_eq!(
        accepted, applied,
        "in-flight requests settled and recorded: results are true"
    );
    assert!(
        rows.iter()
            .filter(|r| r[2] == "failed")
            .all(|r| r[6].contains("interrupted"))
    );
    // The rest goes on the next run, exactly once.
    sim.run(
        &w,
        &["submit", "--rate", "200", "--ledger", "l.db", "in.csv"],
    )
    .expect_code(0);
    sim.assert_exactly_once(&keys);
}

/// Found by a review: after Ctrl-C, the order look-ups of invoices whose attempt may have been
/// applied went on for seconds. A stop ends them; the next run looks first.
#[test]
fn ctrl_c_ends_the_look_ups_too() {
    let sim = Sim::start(sim::SandboxConfig {
        // Never shows what it applied: every look finds nothing, for all of --look-for.
        propagation_delay: Duration::from_secs(3600),
        ..sim::config()
    });
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 2);
    for (order, _) in &keys {
        sim.script(
            invoice_import::sandbox::Route::PostInvoice,
            order,
            vec![invoice_import::sandbox::FaultKind::DropAfterApply],
        );
    }
    let child = sim
        .cmd(
            &w,
            &[
                "submit",
                "--rate",
                "50",
                "--look-for",
                "60",
                "--ledger",
                "l.db",
                "in.csv",
            ],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    interrupt(&child);
    let interrupted = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(
        interrupted.elapsed() < Duration::from_secs(3),
        "took {:?} to stop",
        interrupted.elapsed()
    );
    let gets: u64 = sim
        .state()
        .counters
        .requests
        .iter()
        .filter(|(k, _)| k.starts_with("GET"))
        .map(|(_, n)| n)
        .sum();
    // At once, then 1 s later: two looks each before the stop at 1.5 s, none after.
    assert!(gets <= 4, "{:?}", sim.state().counters);
    let rows = results(&w, "in.results.csv");
    assert!(
        rows.iter()
            .all(|r| r[6].contains("the next run will look at the order first")),
        "{rows:?}"
    );
}

/// Bug: at a low rate, Ctrl-C let every worker waiting for its turn under the rate limit send
/// anyway, one per turn, as if those requests were in flight: 11 of 12 invoices went out after
/// "interrupted". Only requests already sent are settled now; the rest are not sent.
#[test]
fn ctrl_c_sends_nothing_that_was_waiting_for_its_turn() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 12);
    let args = [
        "submit",
        "--rate",
        "1",
        "--concurrency",
        "4",
        "--ledger",
        "l.db",
        "in.csv",
    ];
    let child = sim
        .cmd(&w, &args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let rows = results(&w, "in.results.csv");
    assert_eq!(rows.len(), 12, "every invoice has a row");
    let accepted = rows.iter().filter(|r| r[2] == "accepted").count();
    // One a second for 1.5 s: the first two, give or take the start.
    assert!((1..=3).contains(&accepted), "{accepted} accepted: {rows:?}");
    assert_eq!(
        sim.state().requests("POST post_invoice 200") as usize,
        accepted
    );
    assert!(
        rows.iter()
            .filter(|r| r[2] == "failed")
            .all(|r| r[6].contains("interrupted")),
        "{rows:?}"
    );
    sim.run(
        &w,
        &["submit", "--rate", "200", "--ledger", "l.db", "in.csv"],
    )
    .expect_code(0);
    sim.assert_exactly_once(&keys);
}

#[test]
fn second_ctrl_c_aborts_and_the_ledger_stays_consistent() {
    let sim = Sim::start(sim::SandboxConfig {
        latency_ms: (400, 500),
        ..sim::config()
    });
    let w = Workdir::new();
    let keys = invoices_csv(&w, "in.csv", 30);
    let mut child = sim
        .cmd(
            &w,
            &[
                "submit",
                "--rate",
                "50",
                "--concurrency",
                "6",
                "--ledger",
                "l.db",
                "in.csv",
            ],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(900));
    interrupt(&child);
    std::thread::sleep(Duration::from_millis(50));
    interrupt(&child);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    sim.run(
        &w,
        &["submit", "--rate", "200", "--ledger", "l.db", "in.csv"],
    )
    .expect_code(0);
    sim.assert_exactly_once(&keys);
}

#[test]
fn unresolved_intents_of_other_files_are_reported() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    invoices_csv(&w, "a.csv", 3);
    // The first run dies right after recording its first intent.
    let mut c = sim.cmd(
        &w,
        &["submit", "--concurrency", "1", "--ledger", "l.db", "a.csv"],
    );
    c.env("INVOICE_IMPORT_CRASH_AT", "after-intent:1");
    let crashed = common::Run::of(&mut c, &["submit a.csv (crashing)"]);
    assert_ne!(crashed.code(), 0);
    // Another file on the same ledger: sent, and the pending intent is mentioned.
    w.write("b.csv", "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price\nB-1,NB-1,2026-11-20,S,1,1.00\n");
    let run = sim.run(&w, &["submit", "--ledger", "l.db", "b.csv"]);
    run.expect_code(0);
    assert!(
        run.stderr()
            .contains("1 invoice from an earlier interrupted run"),
        "{}",
        run.stderr()
    );
}

/// An id typed into a cell formatted `000000000` is stored as a number without its leading
/// zeros; the sheet shows them, and they are sent.
#[test]
fn zero_padded_xlsx_id_cells_keep_the_zeros_the_sheet_shows() {
    use rust_xlsxwriter::{Format, Workbook};
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    common::write_headers(
        ws,
        0,
        &[
            "Order ID",
            "Invoice Number",
            "Issuance Date",
            "SKU",
            "Quantity",
            "Unit Price",
        ],
    );
    let padded = Format::new().set_num_format("000000000");
    let thousands = Format::new().set_num_format("#,##0");
    ws.write_string(1, 0, "1100000089777-01").unwrap();
    ws.write_number_with_format(1, 1, 89777.0, &padded).unwrap();
    ws.write_string(1, 2, "2026-11-20T10:00:00-03:00").unwrap();
    ws.write_number_with_format(1, 3, 106_538.0, &thousands)
        .unwrap();
    ws.write_number(1, 4, 2.0).unwrap();
    ws.write_number(1, 5, 10.0).unwrap();
    wb.save(w.path("in.xlsx")).unwrap();

    sim.run(&w, &["submit", "--ledger", "l.db", "in.xlsx"])
        .expect_code(0);
    let state = sim.state();
    let invoice = state
        .invoice("1100000089777-01", "000089777")
        .unwrap_or_else(|| panic!("applied: {:#?}", state.invoices));
    assert_eq!(
        invoice.items[0].id, "106538",
        "a thousands format pads nothing"
    );
    let rows = results(&w, "in.results.csv");
    // As a cell a spreadsheet keeps as text (`id_cell`).
    assert_eq!(rows[0][1], "=\"000089777\"");
}

/// Found by a review: the failed-rows file pads a row held back for a lost cell to the header's
/// width, so fed back unfixed (after fixing another invoice in it) it read as whole and was sent
/// with its cells still moved: 210,00 for 110,00. Its error cell's note now holds it back until
/// the note is deleted.
#[test]
fn a_row_out_of_place_fed_back_unfixed_is_not_sent() {
    let sim = Sim::start(sim::config());
    let w = Workdir::new();
    w.write(
        "in.csv",
        "Pedido;NF;Data;SKU;Quantidade;Preço Unitário;Frete;Valor da Nota\n\
         A-1;N-1;04/11/2026;S1;1;100,00;10,00;110,00\n\
         A-2;N-2;04/11/2026;S1;1;100,00;10,00;110,00\n\
         A-3;N-3;04/11/2026;S1;1;100,00;110,00\n\
         A-4;N-4;04/11/2026;S1;1;100,00;10,00;999,00\n",
    );
    let args = [
        "submit",
        "--rate",
        "200",
        "--ledger",
        "l.db",
        "--date-format",
        "dd/mm/yyyy",
    ];
    sim.run(&w, &[&args[..], &["in.csv"]].concat())
        .expect_code(1);
    let failed = w.read("in.failed.csv");
    let lines: Vec<&str> = failed.lines().collect();
    let a3 = lines.iter().find(|l| l.starts_with("A-3;")).unwrap();
    assert!(
        a3.contains("[fix this row's cells, then delete this note]"),
        "{failed}"
    );
    let a4 = lines.iter().find(|l| l.starts_with("A-4;")).unwrap();
    assert!(!a4.contains("[fix this row"), "{failed}");
    // The other invoice fixed, the short row left as the file has it: it is not sent.
    w.write("in.failed.csv", failed.replace(";999,00;", ";110,00;"));
    let again = sim.run(&w, &[&args[..], &["in.failed.csv"]].concat());
    again.expect_code(1);
    let state = sim.state();
    assert!(
        state.invoice("A-3", "N-3").is_none(),
        "{:?}",
        state.invoices
    );
    assert!(
        state.invoice("A-4", "N-4").is_some(),
        "{:?}",
        state.invoices
    );
    let refailed = w.read("in.failed.failed.csv");
    assert!(
        refailed.contains("[fix this row's cells, then delete this note]"),
        "{refailed}"
    );
    // Fixed, and its note deleted: it is sent at its own value.
    let fixed: String = refailed
        .lines()
        .map(|l| match l.starts_with("A-3;") {
            true => "A-3;N-3;04/11/2026;S1;1;100,00;10,00;110,00;".to_string(),
            false => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    w.write("fixed.csv", fixed);
    sim.run(&w, &[&args[..], &["fixed.csv"]].concat())
        .expect_code(0);
    assert_eq!(
        sim.state().invoice("A-3", "N-3").map(|i| i.value),
        Some(11000)
    );
}
