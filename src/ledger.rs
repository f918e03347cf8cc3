//! The ledger: a durable journal, in an embedded SQLite file, of every request we mean to send
//! (the intent, written before the POST) and what became of it (written after). It is what makes
//! submission exactly-once across runs: an accepted invoice is never sent again, and an intent
//! with no outcome (a killed run) is looked up on the server before anything is re-sent.
//!
//! Durability without a throughput cap: one writer thread owns the write connection. Every
//! `record_*` call queues its write with a reply channel; the writer takes everything queued,
//! commits it in ONE transaction (one fsync with `synchronous=FULL`), then answers every caller.
//! Under load, thousands of writes share an fsync; alone, a write still waits for its own.
//! Reads use a second connection, which WAL lets run beside the writer.
//!
//! One run per ledger: `open` takes an exclusive lock on `<path>.lock` for the ledger's life.

use std::collections::HashMap;
use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior, params};
use sha2::{Digest, Sha256};

/// The SHA-256 of `bytes`, in hex: how the ledger records a file's or a body's content.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Bumped whenever the tables change; a newer file is refused rather than misread.
const SCHEMA_VERSION: i64 = 1;
/// Most writes committed in one transaction; bounds the latency of the first in a batch.
const MAX_BATCH: usize = 8192;

const SCHEMA: &str = "
CREATE TABLE entries (
    kind           TEXT    NOT NULL,
    order_id       TEXT    NOT NULL,
    invoice_number TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    fingerprint    TEXT    NOT NULL,
    value_cents    INTEGER NOT NULL,
    receipt        TEXT,
    attempts       INTEGER NOT NULL,
    error          TEXT,
    updated_at     TEXT    NOT NULL,
    run_id         TEXT    NOT NULL,
    PRIMARY KEY (kind, order_id, invoice_number)
) WITHOUT ROWID;
CREATE INDEX entries_intents ON entries (updated_at, order_id) WHERE state = 'intent';
CREATE TABLE files (
    sha256  TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    seen_at TEXT NOT NULL
) WITHOUT ROWID;
";

const COLUMNS: &str = "kind, order_id, invoice_number, state, fingerprint, value_cents, receipt, \
                       attempts, error, updated_at, run_id";

/// What a journal entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// POST of an invoice.
    Invoice,
    /// PATCH of an invoice's tracking data.
    Tracking,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Invoice => "invoice",
            Kind::Tracking => "tracking",
        }
    }

    fn parse(s: &str) -> Option<Kind> {
        match s {
            "invoice" => Some(Kind::Invoice),
            "tracking" => Some(Kind::Tracking),
            _ => None,
        }
    }
}

/// One thing sent to the OMS, identified as VTEX identifies it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub kind: Kind,
    pub order_id: String,
    pub invoice_number: String,
}

impl Key {
    pub fn invoice(order_id: impl Into<String>, invoice_number: impl Into<String>) -> Key {
        Key {
            kind: Kind::Invoice,
            order_id: order_id.into(),
            invoice_number: invoice_number.into(),
        }
    }

    pub fn tracking(order_id: impl Into<String>, invoice_number: impl Into<String>) -> Key {
        Key {
            kind: Kind::Tracking,
            ..Key::invoice(order_id, invoice_number)
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?} of order {:?}",
            self.kind.as_str(),
            self.invoice_number,
            self.order_id
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// About to be (or being) sent; no outcome known. Left behind by a killed run.
    Intent,
    /// The OMS accepted it; never send it again.
    Accepted,
    /// Final error recorded; a later run may try again.
    Failed,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Intent => "intent",
            State::Accepted => "accepted",
            State::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<State> {
        match s {
            "intent" => Some(State::Intent),
            "accepted" => Some(State::Accepted),
            "failed" => Some(State::Failed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: Key,
    pub state: State,
    /// Hash of what was sent; a tracking update with a new fingerprint is a new request.
    pub fingerprint: String,
    pub value_cents: i64,
    pub receipt: Option<String>,
    /// Intents recorded for this fingerprint (sends attempted, across runs).
    pub attempts: u32,
    pub error: Option<String>,
    /// RFC 3339, UTC.
    pub updated_at: String,
    /// The run that last touched the entry.
    pub run_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error(
        "another invoice-import run is using the ledger {}; wait for it to finish",
        path.display()
    )]
    Locked { path: PathBuf },
    #[error("{} is not an invoice-import ledger: {message}", path.display())]
    NotALedger { path: PathBuf, message: String },
    #[error(
        "the ledger {} was written by a newer invoice-import (schema {found}; this build reads {known})",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("no data directory for the ledger on this system; pass --ledger PATH")]
    NoDataDir,
    #[error("ledger {}: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("ledger {}: {message}", path.display())]
    Sqlite { path: PathBuf, message: String },
    #[error("the ledger has no intent for {key}; an outcome needs an intent first")]
    NoIntent { key: Key },
    #[error("the ledger shows {key} as already accepted; it must not be sent again")]
    AlreadyAccepted { key: Key },
    #[error("the ledger's writer has stopped; earlier errors say why")]
    WriterGone,
}

/// The journal. Clones share one writer, one reader and the lock.
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    run_id: String,
    reader: Mutex<Connection>,
    writer: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// Detached writes (see [`Ledger::record_accepted_detached`]) not yet taken by the writer.
    detached: Arc<Mutex<Vec<Job>>>,
    /// Detached writes that did not commit.
    detached_failures: Arc<AtomicU64>,
    /// Held (locked) for the ledger's life; unlocks when dropped, after the writer has finished.
    _lock: File,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel lets the writer commit what is queued and exit; joining makes sure
        // it has before the lock is released.
        drop(self.writer.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.inner.path)
            .field("run_id", &self.inner.run_id)
            .finish()
    }
}

struct Job {
    op: Op,
    reply: Reply,
}

enum Op {
    Intent {
        key: Key,
        fingerprint: String,
        value_cents: i64,
    },
    /// Several intents in one message, answered together (see [`Ledger::record_intents`]).
    Intents(Vec<Intent>),
    Accepted {
        key: Key,
        receipt: String,
    },
    Failed {
        key: Key,
        error: String,
    },
    File {
        sha256: String,
        name: String,
    },
    Written {
        path: String,
        sha256: String,
    },
    /// Writes nothing; answered once everything queued before it has committed.
    Barrier,
}

impl Op {
    /// Answers the op needs.
    fn count(&self) -> usize {
        match self {
            Op::Intents(intents) => intents.len(),
            _ => 1,
        }
    }
}

/// One intent of [`Ledger::record_intents`].
#[derive(Debug, Clone)]
pub struct Intent {
    pub key: Key,
    pub fingerprint: String,
    pub value_cents: i64,
}

enum Reply {
    Async(tokio::sync::oneshot::Sender<Result<(), LedgerError>>),
    /// For [`Op::Intents`]: one answer per intent, in order.
    AsyncMany(tokio::sync::oneshot::Sender<Vec<Result<(), LedgerError>>>),
    Blocking(mpsc::SyncSender<Result<(), LedgerError>>),
    /// Nobody waits; a failure is only counted.
    Detached(Arc<AtomicU64>),
}

impl Reply {
    /// `results` holds one answer per op of the job: one, except for [`Op::Intents`].
    fn send(self, mut results: Vec<Result<(), LedgerError>>) {
        // A caller that stopped waiting (a cancelled task) no longer needs the answer; the
        // write itself is committed either way.
        if let Reply::AsyncMany(tx) = self {
            let _ = tx.send(results);
            return;
        }
        let result = results.pop().unwrap_or(Err(LedgerError::WriterGone));
        match self {
            Reply::AsyncMany(_) => {}
            Reply::Async(tx) => {
                let _ = tx.send(result);
            }
            Reply::Blocking(tx) => {
                let _ = tx.send(result);
            }
            Reply::Detached(failures) => {
                if result.is_err() {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Ledger {
    /// `<data dir>/invoice-import/ledgers/<scope>.sqlite`, one file per account (`scope`,
    /// [`crate::vtex::client::Target::ledger_scope`]). A ledger kept under the URL as `spelled`,
    /// before scopes, is still used while the account's own does not exist, so an upgrade
    /// forgets nothing.
    pub fn default_path(scope: &str, spelled: &str) -> Result<PathBuf, LedgerError> {
        let dir = dirs::data_dir()
            .ok_or(LedgerError::NoDataDir)?
            .join("invoice-import")
            .join("ledgers");
        Ok(ledger_in(&dir, scope, spelled))
    }

    /// Opens (creating if needed) the ledger at `path` for the run `run_id`, taking the
    /// exclusive lock.
    pub fn open(path: &Path, run_id: &str) -> Result<Ledger, LedgerError> {
        let io = |e: std::io::Error| LedgerError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut lock_name = path.as_os_str().to_owned();
        lock_name.push(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(PathBuf::from(lock_name))
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LedgerError::Locked {
                    path: path.to_path_buf(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }

        let writer = Connection::open(path).map_err(|e| sqlite_error(path, e))?;
        prepare_writer(&writer, path)?;
        let reader = Connection::open(path).map_err(|e| sqlite_error(path, e))?;
        reader
            .execute_batch("PRAGMA busy_timeout = 10000; PRAGMA query_only = 1;")
            .map_err(|e| sqlite_error(path, e))?;

        let (tx, rx) = mpsc::channel();
        let writer_path = path.to_path_buf();
        let writer_run = run_id.to_string();
        let detached: Arc<Mutex<Vec<Job>>> = Arc::default();
        let writer_detached = Arc::clone(&detached);
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || writer_loop(writer, &writer_path, &writer_run, rx, &writer_detached))
            .map_err(io)?;

        Ok(Ledger {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                run_id: run_id.to_string(),
                reader: Mutex::new(reader),
                writer: Some(tx),
                thread: Some(thread),
                detached,
                detached_failures: Arc::default(),
                _lock: lock,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub fn run_id(&self) -> &str {
        &self.inner.run_id
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        // The connection holds no half-done state between calls (each read is one statement or
        // one read transaction), so a poisoned lock is safe to reuse.
        self.inner
            .reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn err(&self, e: rusqlite::Error) -> LedgerError {
        sqlite_error(&self.inner.path, e)
    }

    pub fn get(&self, key: &Key) -> Result<Option<Entry>, LedgerError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM entries WHERE kind = ?1 AND order_id = ?2 AND invoice_number = ?3"
            ))
            .map_err(|e| self.err(e))?;
        stmt.query_row(
            params![key.kind.as_str(), key.order_id, key.invoice_number],
            entry_from_row,
        )
        .optional()
        .map_err(|e| self.err(e))
    }

    /// The entries for `keys` that exist, read in one transaction (a consistent snapshot).
    pub fn get_many(&self, keys: &[Key]) -> Result<HashMap<Key, Entry>, LedgerError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM entries WHERE kind = ?1 AND order_id = ?2 AND invoice_number = ?3"
        );
        let found = self.each_key(&sql, keys, |key| {
            (key.kind.as_str(), &key.order_id, &key.invoice_number)
        })?;
        Ok(keys
            .iter()
            .zip(found)
            .filter_map(|(key, entry)| Some((key.clone(), entry?)))
            .collect())
    }

    /// For each key, an entry of its kind with its invoice number on another order that VTEX
    /// has or may have (accepted, or an intent not yet resolved), if the ledger holds one: the
    /// same number booked on two orders. A number there with other leading zeros (`000123`
    /// for `123`) is the same number. Read in one transaction.
    pub fn numbers_on_other_orders(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>, LedgerError> {
        self.each_key(&numbers_on_other_orders_sql(), keys, |key| {
            (key.kind.as_str(), &key.invoice_number, &key.order_id)
        })
    }

    /// For each key, an entry of its kind on its order that VTEX has or may have, whose invoice
    /// number differs from the key's only in leading zeros (`000123` and `123`): one invoice
    /// written two ways, which VTEX would book twice. Read in one transaction.
    pub fn numbers_written_otherwise(
        &self,
        keys: &[Key],
    ) -> Result<Vec<Option<Entry>>, LedgerError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM entries WHERE kind = ?1 AND order_id = ?2 \
             AND invoice_number <> ?3 AND ltrim(invoice_number, '0') = ltrim(?3, '0') \
             AND state IN ('accepted', 'intent') ORDER BY updated_at LIMIT 1"
        );
        self.each_key(&sql, keys, |key| {
            (key.kind.as_str(), &key.order_id, &key.invoice_number)
        })
    }

    /// Runs the one-row query `sql` for each key, with the parameters `bind` makes of it, in
    /// one read transaction (a consistent snapshot).
    fn each_key<'k, P: rusqlite::Params>(
        &self,
        sql: &str,
        keys: &'k [Key],
        bind: impl Fn(&'k Key) -> P,
    ) -> Result<Vec<Option<Entry>>, LedgerError> {
        let mut conn = self.reader();
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        let mut found = Vec::with_capacity(keys.len());
        {
            let mut stmt = tx.prepare_cached(sql).map_err(|e| self.err(e))?;
            for key in keys {
                let entry = stmt
                    .query_row(bind(key), entry_from_row)
                    .optional()
                    .map_err(|e| self.err(e))?;
                found.push(entry);
            }
        }
        tx.finish().map_err(|e| self.err(e))?;
        Ok(found)
    }

    /// Intents with no outcome: requests a killed run may or may not have delivered.
    pub fn pending_intents(&self) -> Result<Vec<Entry>, LedgerError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM entries WHERE state = 'intent' ORDER BY updated_at, order_id"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], entry_from_row)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Records, durably, that `key` is about to be sent with this `fingerprint`. Refused with
    /// `AlreadyAccepted` when the ledger shows it accepted (for tracking: with the same
    /// fingerprint), so a caller that forgot to look cannot send twice.
    pub async fn record_intent(
        &self,
        key: &Key,
        fingerprint: &str,
        value_cents: i64,
    ) -> Result<(), LedgerError> {
        self.write(Op::Intent {
            key: key.clone(),
            fingerprint: fingerprint.to_string(),
            value_cents,
        })
        .await
    }

    /// [`Ledger::record_intent`] for several keys in one message to the writer, so they share
    /// one commit and one wake-up of the caller. One answer per intent, in order; each is
    /// refused or recorded on its own.
    pub async fn record_intents(
        &self,
        intents: Vec<Intent>,
    ) -> Result<Vec<Result<(), LedgerError>>, LedgerError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.enqueue(Job {
            op: Op::Intents(intents),
            reply: Reply::AsyncMany(tx),
        })?;
        rx.await.map_err(|_| LedgerError::WriterGone)
    }

    pub async fn record_accepted(&self, key: &Key, receipt: &str) -> Result<(), LedgerError> {
        self.write(Op::Accepted {
            key: key.clone(),
            receipt: receipt.to_string(),
        })
        .await
    }

    pub async fn record_failed(&self, key: &Key, error: &str) -> Result<(), LedgerError> {
        self.write(Op::Failed {
            key: key.clone(),
            error: error.to_string(),
        })
        .await
    }

    /// Queues an acceptance without waiting for its commit, so a caller is not held for an fsync
    /// it does not need: the intent, durable before the request, already keeps a crash before
    /// this write lands from causing a resend (the next run looks at the order first). Its
    /// outcome is known after [`Ledger::settle`]: see [`Ledger::detached_failures`].
    ///
    /// The write is not even queued to the writer: it waits beside the queue and rides along with
    /// the next commit (the next intents, a [`Ledger::settle`], or the writer's own look every
    /// [`DETACHED_LINGER`]), so it costs no wake-up and no transaction of its own.
    pub fn record_accepted_detached(&self, key: Key, receipt: String) {
        let job = Job {
            op: Op::Accepted { key, receipt },
            reply: Reply::Detached(Arc::clone(&self.inner.detached_failures)),
        };
        lock_detached(&self.inner.detached).push(job);
    }

    /// Waits until every write queued before this call has committed (or failed).
    pub async fn settle(&self) -> Result<(), LedgerError> {
        self.write(Op::Barrier).await
    }

    /// Detached writes that did not commit, so far; complete after [`Ledger::settle`].
    pub fn detached_failures(&self) -> u64 {
        self.inner.detached_failures.load(Ordering::Relaxed)
    }

    /// When an input file with this content hash was first recorded, if ever.
    pub fn file_seen(&self, sha256_hex: &str) -> Result<Option<String>, LedgerError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached("SELECT seen_at FROM files WHERE sha256 = ?1")
            .map_err(|e| self.err(e))?;
        stmt.query_row([sha256_hex], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The content hash of what a run last wrote to the output file `path` (canonical), if
    /// one did: a failed-rows file that no longer has it was edited since.
    pub fn written_hash(&self, path: &str) -> Result<Option<String>, LedgerError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached("SELECT sha256 FROM outputs WHERE path = ?1")
            .map_err(|e| self.err(e))?;
        stmt.query_row([path], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Records that a run wrote the output file `path` (canonical) with this content hash.
    /// Blocking; durable on return.
    pub fn record_written(&self, path: &str, sha256_hex: &str) -> Result<(), LedgerError> {
        self.write_blocking(Op::Written {
            path: path.to_string(),
            sha256: sha256_hex.to_string(),
        })
    }

    /// Queues `op` and waits, blocking the thread, until it has committed.
    fn write_blocking(&self, op: Op) -> Result<(), LedgerError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.enqueue(Job {
            op,
            reply: Reply::Blocking(tx),
        })?;
        rx.recv().map_err(|_| LedgerError::WriterGone)?
    }

    /// Records an input file by content hash (first sighting kept). Blocking; durable on return.
    pub fn record_file(&self, sha256_hex: &str, name: &str) -> Result<(), LedgerError> {
        self.write_blocking(Op::File {
            sha256: sha256_hex.to_string(),
            name: name.to_string(),
        })
    }

    async fn write(&self, op: Op) -> Result<(), LedgerError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.enqueue(Job {
            op,
            reply: Reply::Async(tx),
        })?;
        rx.await.map_err(|_| LedgerError::WriterGone)?
    }

    fn enqueue(&self, job: Job) -> Result<(), LedgerError> {
        self.inner
            .writer
            .as_ref()
            .ok_or(LedgerError::WriterGone)?
            .send(job)
            .map_err(|_| LedgerError::WriterGone)
    }
}

/// [`Ledger::default_path`] in `dir`.
fn ledger_in(dir: &Path, scope: &str, spelled: &str) -> PathBuf {
    let scoped = dir.join(file_name_for(scope));
    let spelled = dir.join(file_name_for(spelled));
    match scoped.exists() || !spelled.exists() {
        true => scoped,
        false => spelled,
    }
}

/// A readable, collision-free file name for a scope: the sanitised URL plus a short hash of it.
fn file_name_for(scope: &str) -> String {
    let trimmed = scope.trim().trim_end_matches('/');
    let readable = trimmed.strip_prefix("https://").unwrap_or(trimmed);
    let mut name: String = readable
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let name_trimmed = name.trim_matches(['.', '_']).to_string();
    name = if name_trimmed.is_empty() {
        "ledger".to_string()
    } else {
        name_trimmed
    };
    let digest = Sha256::digest(trimmed.as_bytes());
    let short = hex::encode(digest.get(..4).unwrap_or_default());
    format!("{name}-{short}.sqlite")
}

fn sqlite_error(path: &Path, e: rusqlite::Error) -> LedgerError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => LedgerError::NotALedger {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
        _ => LedgerError::Sqlite {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    }
}

/// Durability settings, then the schema: created on a fresh file, checked on an existing one.
fn prepare_writer(conn: &Connection, path: &Path) -> Result<(), LedgerError> {
    let err = |e| sqlite_error(path, e);
    // The first statement reads the header, so a non-SQLite file fails here.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(LedgerError::Sqlite {
            path: path.to_path_buf(),
            message: format!("cannot use write-ahead logging (journal mode {mode})"),
        });
    }
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;")
        .map_err(err)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    if version > SCHEMA_VERSION {
        return Err(LedgerError::NewerSchema {
            path: path.to_path_buf(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    if version == 0 {
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
                [],
                |r| r.get(0),
            )
            .map_err(err)?;
        if tables > 0 {
            return Err(LedgerError::NotALedger {
                path: path.to_path_buf(),
                message: "it is an SQLite database holding other tables".into(),
            });
        }
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        ))
        .map_err(err)?;
    } else {
        migrate_state_index(conn).map_err(err)?;
    }
    // Added after the first schema: created once on a ledger without it (old builds ignore it).
    conn.execute_batch(NUMBERS_INDEX).map_err(err)?;
    conn.execute_batch(OUTPUTS_TABLE).map_err(err)?;
    Ok(())
}

/// Finds an invoice number on other orders, as written and but for leading zeros
/// ([`Ledger::numbers_on_other_orders`]). `entries_numbers` is what builds before the second
/// one name in that query: it stays, or they would fail on a ledger a newer one opened.
const NUMBERS_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS entries_numbers ON entries (kind, invoice_number);
     CREATE INDEX IF NOT EXISTS entries_unpadded ON entries (kind, ltrim(invoice_number, '0'));";

/// The failed-rows files runs wrote, by path, with the hash of what was written
/// ([`Ledger::written_hash`]); added after the first schema, as the numbers index was.
const OUTPUTS_TABLE: &str = "CREATE TABLE IF NOT EXISTS outputs (
    path       TEXT PRIMARY KEY,
    sha256     TEXT NOT NULL,
    written_at TEXT NOT NULL
) WITHOUT ROWID;";

/// The query of [`Ledger::numbers_on_other_orders`]. The index is named because SQLite, with no
/// statistics, otherwise prefers the primary key's `kind` prefix: a scan of every entry of the
/// kind for each key, which made a run resuming a backfill wait minutes before its first
/// request (ledger size × invoices).
fn numbers_on_other_orders_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM entries INDEXED BY entries_unpadded \
         WHERE kind = ?1 AND ltrim(invoice_number, '0') = ltrim(?2, '0') AND order_id <> ?3 \
         AND state IN ('accepted', 'intent') ORDER BY updated_at LIMIT 1"
    )
}

/// Ledgers written before the index on `state` became partial have it on every row: each
/// acceptance then moved its entry within a tree as big as the ledger, the costliest part of
/// recording one. Only intents are ever looked up by state, and few are pending at any time, so
/// the index now holds just them. Old and new builds read either form alike.
fn migrate_state_index(conn: &Connection) -> rusqlite::Result<()> {
    let old: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'index' AND name = 'entries_state'",
        [],
        |r| r.get(0),
    )?;
    if old {
        // Dropped unless committed, so a failure leaves the old index in place.
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(
            "DROP INDEX entries_state; \
             CREATE INDEX IF NOT EXISTS entries_intents ON entries (updated_at, order_id) \
             WHERE state = 'intent';",
        )?;
        tx.commit()?;
    }
    Ok(())
}

fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<Entry> {
    let bad = |i: usize, what: &str, v: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown {what} {v:?}").into(),
        )
    };
    let kind: String = row.get(0)?;
    let state: String = row.get(3)?;
    let attempts: i64 = row.get(7)?;
    Ok(Entry {
        key: Key {
            kind: Kind::parse(&kind).ok_or_else(|| bad(0, "kind", &kind))?,
            order_id: row.get(1)?,
            invoice_number: row.get(2)?,
        },
        state: State::parse(&state).ok_or_else(|| bad(3, "state", &state))?,
        fingerprint: row.get(4)?,
        value_cents: row.get(5)?,
        receipt: row.get(6)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        error: row.get(8)?,
        updated_at: row.get(9)?,
        run_id: row.get(10)?,
    })
}

/// Longest a detached write waits beside the queue when nothing else is committed.
pub const DETACHED_LINGER: Duration = Duration::from_millis(100);

fn lock_detached(detached: &Mutex<Vec<Job>>) -> MutexGuard<'_, Vec<Job>> {
    // Pushing to or taking a Vec cannot leave it half-changed, so a poisoned lock is used as is.
    detached
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn writer_loop(
    mut conn: Connection,
    path: &Path,
    run_id: &str,
    rx: mpsc::Receiver<Job>,
    detached: &Mutex<Vec<Job>>,
) {
    loop {
        let (mut batch, open) = match rx.recv_timeout(DETACHED_LINGER) {
            Ok(first) => (vec![first], true),
            Err(mpsc::RecvTimeoutError::Timeout) => (Vec::new(), true),
            // Every sender is gone (the ledger is closing): commit what is left, then stop.
            Err(mpsc::RecvTimeoutError::Disconnected) => (Vec::new(), false),
        };
        while open && !batch.is_empty() && batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Detached writes first: each refers to an intent an earlier commit made durable.
        let mut jobs = std::mem::take(&mut *lock_detached(detached));
        jobs.append(&mut batch);
        if !jobs.is_empty() {
            let results = commit_batch(&mut conn, path, run_id, &jobs);
            for (job, results) in jobs.into_iter().zip(results) {
                job.reply.send(results);
            }
        }
        if !open {
            return;
        }
    }
}

/// Applies every op in one transaction. Each op gets its own answer (one refused intent does
/// not fail its neighbours); if the commit itself fails, every op gets that error.
fn commit_batch(
    conn: &mut Connection,
    path: &Path,
    run_id: &str,
    batch: &[Job],
) -> Vec<Vec<Result<(), LedgerError>>> {
    let all_failed = |e: rusqlite::Error| {
        let err = sqlite_error(path, e);
        batch
            .iter()
            .map(|job| vec![Err(err.clone()); job.op.count()])
            .collect()
    };
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return all_failed(e),
    };
    let at = now_text();
    let answer = |r: Result<(), Applied>| {
        r.map_err(|e| match e {
            Applied::Refused(err) => err,
            Applied::Sql(e) => sqlite_error(path, e),
        })
    };
    let results: Vec<_> = batch
        .iter()
        .map(|job| match &job.op {
            Op::Intents(intents) => match tx.prepare_cached(INTENT_SQL) {
                Ok(mut stmt) => intents
                    .iter()
                    .map(|i| {
                        answer(intent(
                            &mut stmt,
                            &i.key,
                            &i.fingerprint,
                            i.value_cents,
                            run_id,
                            &at,
                        ))
                    })
                    .collect(),
                Err(e) => vec![answer(Err(Applied::Sql(e))); intents.len()],
            },
            op => vec![answer(apply(&tx, op, run_id, &at))],
        })
        .collect();
    match tx.commit() {
        Ok(()) => results,
        Err(e) => all_failed(e),
    }
}

enum Applied {
    Refused(LedgerError),
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for Applied {
    fn from(e: rusqlite::Error) -> Self {
        Applied::Sql(e)
    }
}

fn apply(tx: &rusqlite::Transaction<'_>, op: &Op, run_id: &str, at: &str) -> Result<(), Applied> {
    match op {
        Op::Intent {
            key,
            fingerprint,
            value_cents,
        } => intent(
            &mut tx.prepare_cached(INTENT_SQL)?,
            key,
            fingerprint,
            *value_cents,
            run_id,
            at,
        ),
        Op::Intents(intents) => {
            // Written by `commit_batch`, which answers each intent on its own.
            let mut stmt = tx.prepare_cached(INTENT_SQL)?;
            for i in intents {
                intent(&mut stmt, &i.key, &i.fingerprint, i.value_cents, run_id, at)?;
            }
            Ok(())
        }
        Op::Accepted { key, receipt } => {
            outcome(tx, key, State::Accepted, Some(receipt), None, run_id, at)
        }
        Op::Failed { key, error } => outcome(tx, key, State::Failed, None, Some(error), run_id, at),
        Op::File { sha256, name } => {
            tx.prepare_cached(
                "INSERT INTO files (sha256, name, seen_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (sha256) DO NOTHING",
            )?
            .execute(params![sha256, name, at])?;
            Ok(())
        }
        Op::Written { path, sha256 } => {
            tx.prepare_cached(
                "INSERT INTO outputs (path, sha256, written_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, \
                 written_at = excluded.written_at",
            )?
            .execute(params![path, sha256, at])?;
            Ok(())
        }
        Op::Barrier => Ok(()),
    }
}

/// One statement: insert, or turn the entry back into an intent unless it is accepted and must
/// stay so. Re-posting an accepted invoice only changes its receipt at VTEX, so it is never
/// repeated; a tracking update is, when its content changed. A refused intent changes no row.
const INTENT_SQL: &str = "INSERT INTO entries (kind, order_id, invoice_number, state, fingerprint, \
         value_cents, receipt, attempts, error, updated_at, run_id) \
     VALUES (?1, ?2, ?3, 'intent', ?4, ?5, NULL, 1, NULL, ?6, ?7) \
     ON CONFLICT (kind, order_id, invoice_number) DO UPDATE SET \
         state = 'intent', \
         attempts = CASE WHEN entries.fingerprint = excluded.fingerprint \
                    THEN entries.attempts + 1 ELSE 1 END, \
         receipt = CASE WHEN entries.fingerprint = excluded.fingerprint \
                   THEN entries.receipt ELSE NULL END, \
         fingerprint = excluded.fingerprint, \
         value_cents = excluded.value_cents, \
         error = NULL, \
         updated_at = excluded.updated_at, \
         run_id = excluded.run_id \
     WHERE NOT (entries.state = 'accepted' AND \
                (entries.kind = 'invoice' \
                 OR entries.fingerprint = excluded.fingerprint))";

fn intent(
    stmt: &mut rusqlite::CachedStatement<'_>,
    key: &Key,
    fingerprint: &str,
    value_cents: i64,
    run_id: &str,
    at: &str,
) -> Result<(), Applied> {
    let changed = stmt.execute(params![
        key.kind.as_str(),
        key.order_id,
        key.invoice_number,
        fingerprint,
        value_cents,
        at,
        run_id
    ])?;
    if changed == 0 {
        return Err(Applied::Refused(LedgerError::AlreadyAccepted {
            key: key.clone(),
        }));
    }
    Ok(())
}

fn outcome(
    tx: &rusqlite::Transaction<'_>,
    key: &Key,
    state: State,
    receipt: Option<&String>,
    error: Option<&String>,
    run_id: &str,
    at: &str,
) -> Result<(), Applied> {
    let changed = tx
        .prepare_cached(
            "UPDATE entries SET state = ?4, receipt = coalesce(?5, receipt), error = ?6, \
                 updated_at = ?7, run_id = ?8 \
             WHERE kind = ?1 AND order_id = ?2 AND invoice_number = ?3",
        )?
        .execute(params![
            key.kind.as_str(),
            key.order_id,
            key.invoice_number,
            state.as_str(),
            receipt,
            error,
            at,
            run_id
        ])?;
    if changed == 0 {
        return Err(Applied::Refused(LedgerError::NoIntent { key: key.clone() }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_readable_and_distinct() {
        let a = file_name_for("https://acme.vtexcommercestable.com.br");
        assert!(a.starts_with("acme.vtexcommercestable.com.br-"), "{a}");
        assert!(a.ends_with(".sqlite"));
        let b = file_name_for("http://127.0.0.1:8080");
        assert!(b.starts_with("http___127.0.0.1_8080-"), "{b}");
        assert_ne!(file_name_for("http://a/b"), file_name_for("http://a_b"));
        assert_eq!(
            file_name_for("https://x.com/"),
            file_name_for("https://x.com")
        );
        assert!(file_name_for("").starts_with("ledger-"));
        assert!(!file_name_for("../../etc").contains('/'));
    }

    /// The index an older build created on every row's state: replaced by the partial one on
    /// open, with the pending intents still found, through the new index.
    #[tokio::test]
    async fn an_old_state_index_is_made_partial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            let old = SCHEMA.replace(
                "CREATE INDEX entries_intents ON entries (updated_at, order_id) WHERE state = 'intent';",
                "CREATE INDEX entries_state ON entries (state);",
            );
            assert_ne!(old, SCHEMA);
            conn.execute_batch(&format!("{old} PRAGMA user_version = 1;"))
                .unwrap();
            conn.execute(
                &format!(
                    "INSERT INTO entries ({COLUMNS}) VALUES \
                     ('invoice', 'o1', 'n1', 'intent', 'f', 100, NULL, 1, NULL, 't', 'r0'), \
                     ('invoice', 'o2', 'n2', 'accepted', 'f', 200, 'x', 1, NULL, 't', 'r0')"
                ),
                [],
            )
            .unwrap();
        }
        let ledger = Ledger::open(&path, "r1").unwrap();
        let pending = ledger.pending_intents().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].key, Key::invoice("o1", "n1"));
        ledger
            .record_accepted(&Key::invoice("o1", "n1"), "rc")
            .await
            .unwrap();
        assert!(ledger.pending_intents().unwrap().is_empty());
        let indexes: Vec<String> = {
            let conn = ledger.reader();
            conn.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entries' AND sql IS NOT NULL")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        // The index on invoice numbers came later; an old ledger gains it when opened.
        assert_eq!(
            indexes,
            ["entries_intents", "entries_numbers", "entries_unpadded"]
        );
        ledger
            .record_intent(&Key::invoice("o3", "000123"), "fp", 100)
            .await
            .unwrap();
        let other = ledger
            .numbers_on_other_orders(&[
                Key::invoice("o9", "n2"),
                Key::invoice("o2", "n2"),
                Key::invoice("o9", "123"),
                Key::invoice("o3", "0123"),
            ])
            .unwrap();
        assert_eq!(
            other[0].as_ref().map(|e| e.key.order_id.as_str()),
            Some("o2")
        );
        assert!(other[1].is_none(), "its own order is not another");
        // A bug: `123` was not the `000123` another order has.
        assert_eq!(
            other[2].as_ref().map(|e| e.key.invoice_number.as_str()),
            Some("000123")
        );
        assert!(other[3].is_none(), "its own order is not another");
        let conn = ledger.reader();
        let plan: String = conn
            .query_row(
                &format!(
                    "EXPLAIN QUERY PLAN SELECT {COLUMNS} FROM entries WHERE state = 'intent' \
                     ORDER BY updated_at, order_id"
                ),
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("entries_intents"), "{plan}");
        // Each key's lookup of its number on other orders is a search of the numbers index,
        // not a scan of every entry of its kind.
        let plan: Vec<String> = conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                numbers_on_other_orders_sql()
            ))
            .unwrap()
            .query_map(["invoice", "n2", "o9"], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|p| p.contains("USING INDEX entries_unpadded (kind=? AND <expr>=?)")),
            "{plan:?}"
        );
    }

    #[tokio::test]
    async fn intents_recorded_together_are_answered_each() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("l.sqlite"), "r1").unwrap();
        let done = Key::invoice("o1", "n1");
        ledger.record_intent(&done, "f", 100).await.unwrap();
        ledger.record_accepted(&done, "rc").await.unwrap();
        let intent = |key: &Key| Intent {
            key: key.clone(),
            fingerprint: String::from("f"),
            value_cents: 100,
        };
        let fresh = Key::invoice("o2", "n2");
        let answers = ledger
            .record_intents(vec![intent(&fresh), intent(&done), intent(&fresh)])
            .await
            .unwrap();
        assert_eq!(answers.len(), 3);
        assert_eq!(answers[0], Ok(()));
        assert!(
            matches!(&answers[1], Err(LedgerError::AlreadyAccepted { key }) if *key == done),
            "{answers:?}"
        );
        assert_eq!(answers[2], Ok(()));
        let pending = ledger.pending_intents().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!((&pending[0].key, pending[0].attempts), (&fresh, 2));
        assert_eq!(ledger.get(&done).unwrap().unwrap().state, State::Accepted);
        assert!(ledger.record_intents(Vec::new()).await.unwrap().is_empty());
    }

    #[test]
    fn default_path_lives_in_the_data_dir() {
        let stable = "https://acme.vtexcommercestable.com.br";
        if let Ok(p) = Ledger::default_path(stable, stable) {
            assert!(p.ends_with(Path::new("invoice-import/ledgers").join(file_name_for(stable))));
        }
    }

    #[test]
    fn a_ledger_kept_under_the_url_as_spelled_is_used_until_the_account_has_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let (scope, spelled) = (
            "https://acme.vtexcommercestable.com.br",
            "https://acme.myvtex.com",
        );
        let scoped_file = dir.path().join(file_name_for(scope));
        let spelled_file = dir.path().join(file_name_for(spelled));
        assert_eq!(ledger_in(dir.path(), scope, spelled), scoped_file);
        std::fs::write(&spelled_file, "").unwrap();
        assert_eq!(ledger_in(dir.path(), scope, spelled), spelled_file);
        std::fs::write(&scoped_file, "").unwrap();
        assert_eq!(ledger_in(dir.path(), scope, spelled), scoped_file);
    }
}
