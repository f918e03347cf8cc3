//! Machine-readable runs: the `--summary-json` object (one per run, schema version 1), the
//! per-second request/429 timeline it and the HTML report share, and the `--log-file` JSON lines.
//!
//! Nothing here ever sees credentials: events carry invoice keys, statuses and messages only.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::report::results::{ResultRow, Status};

/// Bumped when a field changes meaning or disappears (adding fields does not bump it).
pub const SCHEMA_VERSION: u32 = 1;

/// One second of the run: requests started and 429s seen in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sample {
    /// Seconds since the first request could start.
    pub second: u64,
    pub requests: u64,
    pub throttled: u64,
}

/// Turns cumulative counter readings (taken about once a second) into per-second deltas.
#[derive(Debug, Default)]
pub struct Timeline {
    last_requests: u64,
    last_throttled: u64,
    samples: Vec<Sample>,
}

impl Timeline {
    pub fn record(&mut self, second: u64, requests_total: u64, throttled_total: u64) {
        let sample = Sample {
            second,
            requests: requests_total.saturating_sub(self.last_requests),
            throttled: throttled_total.saturating_sub(self.last_throttled),
        };
        self.last_requests = requests_total.max(self.last_requests);
        self.last_throttled = throttled_total.max(self.last_throttled);
        self.samples.push(sample);
    }

    /// The last second recorded (0 before any).
    pub fn last_second(&self) -> u64 {
        self.samples.last().map_or(0, |s| s.second)
    }

    pub fn into_samples(self) -> Vec<Sample> {
        self.samples
    }
}

/// Invoices and money for one status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusTotal {
    pub count: u64,
    /// Sum of the invoice values in cents (0 for tracking updates and unknown values).
    pub value_cents: i64,
    /// How many invoices counted here have no known value (invalid ones whose rows don't say
    /// it: `validate::stated_value`); only written when there are some.
    #[serde(skip_serializing_if = "is_zero")]
    pub value_unknown: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The `--summary-json` object.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub schema_version: u32,
    pub run_id: String,
    /// `submit` or `track`.
    pub command: String,
    pub started_at: String,
    pub inputs: Vec<String>,
    pub invoices: u64,
    /// Keyed by status: accepted, already_accepted, invalid, failed (always all four).
    pub statuses: BTreeMap<String, StatusTotal>,
    /// Rows that joined no invoice (no usable order id or invoice number).
    pub row_errors: u64,
    pub file_errors: Vec<String>,
    /// What the inputs' reading noted (a workbook's sheets not read, rows passed over), as
    /// `check` reports it: `--quiet` prints none of it.
    pub notes: Vec<String>,
    pub duration_seconds: f64,
    pub requests: u64,
    pub requests_per_second: f64,
    /// The most requests started within any one second (`None` above 100,000/s, where the
    /// limiter keeps no window).
    pub peak_requests_in_a_second: Option<u64>,
    pub throttled_429: u64,
    pub timeline: Vec<Sample>,
    pub results_file: Option<PathBuf>,
    pub failed_files: Vec<PathBuf>,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    pub exit_code: i32,
    /// Whether amounts are shown to people with a decimal comma (the HTML report), as every
    /// input writes them.
    #[serde(skip)]
    pub decimal_comma: bool,
}

impl RunSummary {
    /// A summary with the outcome counts of `rows` filled in; the caller sets the rest.
    pub fn new(
        (command, run_id, started_at): (&str, &str, &str),
        inputs: &[String],
        rows: &[ResultRow],
    ) -> RunSummary {
        let mut statuses: BTreeMap<String, StatusTotal> = [
            Status::Accepted,
            Status::AlreadyAccepted,
            Status::Invalid,
            Status::Failed,
        ]
        .iter()
        .map(|s| (s.as_str().to_string(), StatusTotal::default()))
        .collect();
        for r in rows {
            let t = statuses.entry(r.status.as_str().to_string()).or_default();
            t.count += 1;
            match r.value_cents {
                Some(cents) => t.value_cents = t.value_cents.saturating_add(cents),
                // Tracking updates carry no money at all.
                None if command == "submit" => t.value_unknown += 1,
                None => {}
            }
        }
        RunSummary {
            schema_version: SCHEMA_VERSION,
            run_id: run_id.to_string(),
            command: command.to_string(),
            started_at: started_at.to_string(),
            inputs: inputs.to_vec(),
            invoices: rows.len() as u64,
            statuses,
            row_errors: 0,
            file_errors: Vec::new(),
            notes: Vec::new(),
            duration_seconds: 0.0,
            requests: 0,
            requests_per_second: 0.0,
            peak_requests_in_a_second: None,
            throttled_429: 0,
            timeline: Vec::new(),
            results_file: None,
            failed_files: Vec::new(),
            stopped: None,
            exit_code: 0,
            decimal_comma: false,
        }
    }
}

/// ", at most N in one second", to follow an average rate; empty when no peak was kept.
pub fn peak_phrase(peak: Option<u64>) -> String {
    peak.map(|p| format!(", at most {p} in one second"))
        .unwrap_or_default()
}

/// Writes any serializable summary to `path`, or stdout for `-`.
pub fn write_json<T: Serialize>(path: &str, value: &T) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    if path == "-" {
        crate::cmd::write_stdout(text + "\n")
    } else {
        std::fs::write(path, text + "\n")
    }
}

/// The `--log-file`: one JSON object per line, appended, flushed per event so `tail -f` works.
#[derive(Debug, Default)]
pub struct EventLog {
    file: Option<File>,
}

impl EventLog {
    pub fn open(path: Option<&Path>) -> io::Result<EventLog> {
        let file = match path {
            Some(p) => Some(OpenOptions::new().create(true).append(true).open(p)?),
            None => None,
        };
        Ok(EventLog { file })
    }

    /// Writes `{"ts": …, "event": name, …fields}`. A log that can't be written never stops a run,
    /// so errors are dropped after the first warning.
    pub fn event(&mut self, name: &str, fields: serde_json::Value) {
        let Some(file) = &mut self.file else { return };
        let mut object = serde_json::Map::new();
        object.insert(
            "ts".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .into(),
        );
        object.insert("event".into(), name.into());
        if let serde_json::Value::Object(map) = fields {
            object.extend(map);
        }
        let mut line = serde_json::Value::Object(object).to_string();
        line.push('\n');
        if let Err(e) = file.write_all(line.as_bytes()) {
            eprintln!("warning: can't write the log file: {e}; logging stops");
            self.file = None;
        }
    }

    pub fn outcome(&mut self, row: &ResultRow) {
        self.event(
            "outcome",
            serde_json::json!({
                "order_id": row.order_id,
                "invoice_number": row.invoice_number,
                "status": row.status.as_str(),
                "http_status": row.http_status,
                "attempts": row.attempts,
                "receipt": row.receipt,
                "error": row.error,
                "value_cents": row.value_cents,
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_turns_totals_into_deltas() {
        let mut t = Timeline::default();
        t.record(1, 10, 0);
        t.record(2, 25, 3);
        t.record(3, 25, 3);
        let s = t.into_samples();
        assert_eq!(
            s.iter()
                .map(|s| (s.requests, s.throttled))
                .collect::<Vec<_>>(),
            [(10, 0), (15, 3), (0, 0)]
        );
    }

    #[test]
    fn counts_and_money_per_status() {
        let row = |status, cents| ResultRow {
            index: 0,
            order_id: "o".into(),
            invoice_number: "n".into(),
            status,
            http_status: None,
            receipt: None,
            attempts: 0,
            error: None,
            value_cents: cents,
            source: String::new(),
            rows: vec![],
        };
        let s = RunSummary::new(
            ("submit", "r1", "2026-11-22T10:00:00Z"),
            &["a.csv".into()],
            &[
                row(Status::Accepted, Some(100)),
                row(Status::Accepted, Some(250)),
                row(Status::Invalid, None),
            ],
        );
        assert_eq!(s.statuses["accepted"].count, 2);
        assert_eq!(s.statuses["accepted"].value_cents, 350);
        assert_eq!(s.statuses["invalid"].count, 1);
        assert_eq!(s.statuses["invalid"].value_unknown, 1);
        assert_eq!(s.statuses["accepted"].value_unknown, 0);
        assert_eq!(s.statuses["failed"].count, 0);
        assert_eq!(s.statuses.len(), 4);
    }

    #[test]
    fn log_lines_are_json_objects() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let mut log = EventLog::open(Some(&path)).unwrap();
        log.event("run_start", serde_json::json!({"run_id": "r"}));
        log.event("run_end", serde_json::json!({"exit_code": 0}));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "run_start");
        assert_eq!(lines[1]["exit_code"], 0);
        assert!(lines[0]["ts"].is_string());
    }
}
