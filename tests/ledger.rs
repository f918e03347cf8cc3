//! The ledger as the scheduler uses it: intents and outcomes across runs, the one-run lock,
//! group commit under many concurrent writers, and refusing files that are not ledgers.

use invoice_import::ledger::{Key, Kind, Ledger, LedgerError, State};

fn temp() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sub").join("ledger.sqlite");
    (dir, path)
}

#[tokio::test]
async fn an_intent_without_outcome_survives_a_crash() {
    let (_dir, path) = temp();
    let key = Key::invoice("1172452900788-01", "000123");
    {
        let ledger = Ledger::open(&path, "run-1").unwrap();
        ledger.record_intent(&key, "fp1", 2499).await.unwrap();
        // Dropped with no outcome, as a killed run would leave it.
    }
    let ledger = Ledger::open(&path, "run-2").unwrap();
    let pending = ledger.pending_intents().unwrap();
    assert_eq!(pending.len(), 1);
    let e = &pending[0];
    assert_eq!(e.key, key);
    assert_eq!(e.state, State::Intent);
    assert_eq!(e.fingerprint, "fp1");
    assert_eq!(e.value_cents, 2499);
    assert_eq!(e.attempts, 1);
    assert_eq!(e.run_id, "run-1");

    ledger.record_accepted(&key, "rcpt-1").await.unwrap();
    assert!(ledger.pending_intents().unwrap().is_empty());
    let e = ledger.get(&key).unwrap().unwrap();
    assert_eq!(e.state, State::Accepted);
    assert_eq!(e.receipt.as_deref(), Some("rcpt-1"));
    assert_eq!(e.run_id, "run-2");
}

#[tokio::test]
async fn a_second_run_on_the_same_ledger_is_refused() {
    let (_dir, path) = temp();
    let first = Ledger::open(&path, "a").unwrap();
    let err = Ledger::open(&path, "b").unwrap_err();
    assert_eq!(err, LedgerError::Locked { path: path.clone() });
    let text = err.to_string();
    assert!(
        text.contains("another invoice-import run is using the ledger"),
        "{text}"
    );
    assert!(text.contains(&path.display().to_string()), "{text}");
    // A clone keeps the lock; the last drop releases it.
    let clone = first.clone();
    drop(first);
    assert!(matches!(
        Ledger::open(&path, "b"),
        Err(LedgerError::Locked { .. })
    ));
    drop(clone);
    Ledger::open(&path, "b").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_concurrent_intents_all_land() {
    let (_dir, path) = temp();
    let ledger = Ledger::open(&path, "bulk").unwrap();
    let keys: Vec<Key> = (0..10_000)
        .map(|i| Key::invoice(format!("{i:013}-01"), format!("{i:06}")))
        .collect();
    let tasks: Vec<_> = keys
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, key)| {
            let ledger = ledger.clone();
            tokio::spawn(async move { ledger.record_intent(&key, "fp", i as i64).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let found = ledger.get_many(&keys).unwrap();
    assert_eq!(found.len(), 10_000);
    assert_eq!(found[&keys[42]].value_cents, 42);
    assert_eq!(ledger.pending_intents().unwrap().len(), 10_000);

    // Outcomes for all of them, concurrently too.
    let tasks: Vec<_> = keys
        .iter()
        .cloned()
        .map(|key| {
            let ledger = ledger.clone();
            tokio::spawn(async move { ledger.record_accepted(&key, "r").await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert!(ledger.pending_intents().unwrap().is_empty());
}

#[tokio::test]
async fn attempts_count_per_fingerprint() {
    let (_dir, path) = temp();
    let ledger = Ledger::open(&path, "r").unwrap();
    let key = Key::invoice("1-01", "7");
    ledger.record_intent(&key, "A", 100).await.unwrap();
    ledger.record_failed(&key, "HTTP 503: busy").await.unwrap();
    let e = ledger.get(&key).unwrap().unwrap();
    assert_eq!((e.state, e.attempts), (State::Failed, 1));
    assert_eq!(e.error.as_deref(), Some("HTTP 503: busy"));

    ledger.record_intent(&key, "A", 100).await.unwrap();
    let e = ledger.get(&key).unwrap().unwrap();
    assert_eq!((e.state, e.attempts, e.error), (State::Intent, 2, None));

    // Different content: a new request, counted from one.
    ledger.record_intent(&key, "B", 150).await.unwrap();
    let e = ledger.get(&key).unwrap().unwrap();
    assert_eq!(
        (e.attempts, e.fingerprint.as_str(), e.value_cents),
        (1, "B", 150)
    );
}

#[tokio::test]
async fn accepted_invoices_are_never_sent_again() {
    let (_dir, path) = temp();
    let ledger = Ledger::open(&path, "r").unwrap();
    let key = Key::invoice("1-01", "7");
    ledger.record_intent(&key, "A", 100).await.unwrap();
    ledger.record_accepted(&key, "rc").await.unwrap();
    for fp in ["A", "B"] {
        let err = ledger.record_intent(&key, fp, 100).await.unwrap_err();
        assert_eq!(err, LedgerError::AlreadyAccepted { key: key.clone() });
    }
    assert_eq!(ledger.get(&key).unwrap().unwrap().state, State::Accepted);
}

#[tokio::test]
async fn tracking_updates_are_resent_only_when_changed() {
    let (_dir, path) = temp();
    let ledger = Ledger::open(&path, "r").unwrap();
    let key = Key::tracking("1-01", "7");
    assert_eq!(key.kind, Kind::Tracking);
    ledger.record_intent(&key, "T1", 0).await.unwrap();
    ledger.record_accepted(&key, "rc").await.unwrap();
    assert!(matches!(
        ledger.record_intent(&key, "T1", 0).await,
        Err(LedgerError::AlreadyAccepted { .. })
    ));
    ledger.record_intent(&key, "T2", 0).await.unwrap();
    let e = ledger.get(&key).unwrap().unwrap();
    assert_eq!((e.state, e.attempts, e.receipt), (State::Intent, 1, None));
    // The invoice with the same numbers is a separate entry.
    assert!(ledger.get(&Key::invoice("1-01", "7")).unwrap().is_none());
}

#[tokio::test]
async fn an_outcome_needs_an_intent() {
    let (_dir, path) = temp();
    let ledger = Ledger::open(&path, "r").unwrap();
    let key = Key::invoice("1-01", "0007");
    assert!(matches!(
        ledger.record_accepted(&key, "rc").await,
        Err(LedgerError::NoIntent { .. })
    ));
    // Ids are text: "7" and "0007" are different invoices.
    ledger
        .record_intent(&Key::invoice("1-01", "7"), "A", 1)
        .await
        .unwrap();
    assert!(matches!(
        ledger.record_failed(&key, "x").await,
        Err(LedgerError::NoIntent { .. })
    ));
}

#[test]
fn files_by_content_hash() {
    let (_dir, path) = temp();
    let ledger = Ledger::open(&path, "r").unwrap();
    let sha = "ab".repeat(32);
    assert_eq!(ledger.file_seen(&sha).unwrap(), None);
    ledger.record_file(&sha, "pedidos.csv").unwrap();
    let first = ledger.file_seen(&sha).unwrap().expect("seen");
    ledger.record_file(&sha, "renamed.csv").unwrap();
    assert_eq!(ledger.file_seen(&sha).unwrap(), Some(first));
}

#[test]
fn a_file_that_is_not_a_ledger_is_refused() {
    let (dir, _) = temp();
    let garbage = dir.path().join("notes.sqlite");
    std::fs::write(
        &garbage,
        b"this is certainly not an sqlite database, just some text ".repeat(100),
    )
    .unwrap();
    let err = Ledger::open(&garbage, "r").unwrap_err();
    assert!(matches!(err, LedgerError::NotALedger { .. }), "{err:?}");
    assert!(err.to_string().contains("notes.sqlite"), "{err}");

    let foreign = dir.path().join("other.sqlite");
    {
        let conn = rusqlite::Connection::open(&foreign).unwrap();
        conn.execute_batch("CREATE TABLE customers (id INTEGER)")
            .unwrap();
    }
    let err = Ledger::open(&foreign, "r").unwrap_err();
    assert!(matches!(err, LedgerError::NotALedger { .. }), "{err:?}");
}

#[test]
fn a_newer_schema_is_refused() {
    let (dir, _) = temp();
    let path = dir.path().join("future.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
    }
    assert!(matches!(
        Ledger::open(&path, "r"),
        Err(LedgerError::NewerSchema { found: 99, .. })
    ));
}

#[tokio::test]
async fn reopening_keeps_everything() {
    let (_dir, path) = temp();
    let keys: Vec<Key> = (0..50)
        .map(|i| Key::invoice("9-01", format!("{i}")))
        .collect();
    {
        let ledger = Ledger::open(&path, "one").unwrap();
        for k in &keys {
            ledger.record_intent(k, "f", 1).await.unwrap();
            ledger.record_accepted(k, "r").await.unwrap();
        }
    }
    let ledger = Ledger::open(&path, "two").unwrap();
    let found = ledger.get_many(&keys).unwrap();
    assert_eq!(found.len(), 50);
    assert!(found.values().all(|e| e.state == State::Accepted));
}
