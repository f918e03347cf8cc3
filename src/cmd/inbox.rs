//! `submit --inbox DIR`: the drop-folder mode for scheduled runs. Every file present is processed
//! once, oldest first, then moved to `DIR/processed/` (all accepted) or `DIR/failed/` (anything
//! else), with its results and failed-rows files beside it.
//!
//! Exactly once per file: the ledger keeps each file's content hash, so a re-dropped identical file
//! is reported and moved, not sent. A file still being written (size or mtime changing within
//! `--settle-ms`) is left for the next run. `DIR/.invoice-import.lock` keeps two schedulers that
//! fire together from processing the same inbox.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use serde::Serialize;

use crate::cli::SubmitArgs;
use crate::cmd::submit::{
    Destination, Mode, check_writable, destination, output_lines, report_outputs, run_files,
};
use crate::cmd::{EXIT_INTERRUPTED, EXIT_OK, EXIT_PROBLEMS, EXIT_TEMPFAIL};
use crate::config::Settings;
use crate::ledger::Ledger;
use crate::report::summary::{self, RunSummary};

const LOCK_NAME: &str = ".invoice-import.lock";
const WORK_DIR: &str = ".invoice-import-work";

/// What happened to one dropped file.
#[derive(Debug, Clone, Serialize)]
pub struct FileOutcome {
    pub file: String,
    /// processed, failed, duplicate, not_ready (still being written; left in place), retry
    /// (VTEX stopped the run; left in place) or interrupted (left in place).
    pub status: String,
    pub sha256: Option<String>,
    /// For a duplicate: when the same content was first processed.
    pub first_seen: Option<String>,
    pub moved_to: Option<PathBuf>,
    /// For a file refused as a whole: the file beside it in failed/ that says why.
    pub errors_file: Option<PathBuf>,
    pub run: Option<RunSummary>,
}

/// The `--summary-json` of an inbox run.
#[derive(Debug, Clone, Serialize)]
pub struct InboxSummary {
    pub schema_version: u32,
    pub inbox: PathBuf,
    pub files: Vec<FileOutcome>,
    pub exit_code: i32,
}

pub fn run(args: &SubmitArgs, settings: &Settings, mode: Mode, dir: &Path) -> anyhow::Result<i32> {
    if !dir.is_dir() {
        bail!("inbox {} is not a folder", dir.display());
    }
    // Where to send, with its credentials, though they are needed only once a file comes: a
    // scheduled run without them must fail at its first run, not pass as idle until then (bug:
    // an empty inbox exited 0).
    let ledger_path = match (&settings.ledger, destination(settings)?) {
        (Some(p), _) => p.clone(),
        (None, Destination::Sandbox) => bail!(
            "--inbox with --sandbox needs --ledger PATH (the sandbox's own ledger is thrown away, \
             so files would not be remembered)"
        ),
        // The same default ledger the submit run would use.
        (None, Destination::Remote { target, .. }) => {
            Ledger::default_path(&target.ledger_scope(), target.as_str())?
        }
    };
    let _lock = lock_inbox(dir)?;
    let quiet = args.verbosity.quiet;
    // Written once every file is done: a path that can't be written is found now, before any
    // file is sent or moved (bug: a summary in a missing folder failed the run after sending).
    let log = args.log_file.as_deref().map(|p| ("the log file", p));
    for (what, path) in report_outputs(args).into_iter().chain(log) {
        check_writable(what, path)?;
    }

    let processed = dir.join("processed");
    let failed = dir.join("failed");
    let work = dir.join(WORK_DIR);
    for d in [&processed, &failed, &work] {
        fs::create_dir_all(d).with_context(|| format!("can't create {}", d.display()))?;
    }
    let mut settings = settings.clone();
    settings.ledger = Some(ledger_path.clone());
    settings.output_dir = Some(work.clone());

    let settle = Duration::from_millis(args.settle_ms);
    let mut outcomes = Vec::new();
    let mut code = EXIT_OK;
    // The run's own outputs, when they are kept in the inbox, are not inputs (bug: the next run
    // read its summary and log as invoice files, and moved the log into failed/).
    let own: Vec<&Path> = [
        args.summary_json.as_deref().map(Path::new),
        args.log_file.as_deref(),
        args.report.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let (files, others): (Vec<PathBuf>, Vec<PathBuf>) = files_oldest_first(dir)?
        .into_iter()
        .filter(|f| !own.iter().any(|o| crate::source::same_file(f, o)))
        .partition(|f| crate::source::may_be_input(f));
    // Bug: a DANFE's PDF or an NF-e's XML dropped beside the CSV went to failed/, and the run
    // exited 2; they are left where they are.
    if !others.is_empty() && !quiet {
        let names: Vec<String> = others
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        eprintln!(
            "inbox: passed over {} (not CSV or a workbook: .csv, .tsv, .txt, .xlsx, .xlsm, \
             .xls, .ods, or no extension)",
            crate::mapping::quoted(&names)
        );
    }
    // Every file is watched over the same settling pause, not each over its own in turn.
    let stable = stable_files(&files, settle)?;
    for (path, stable) in files.into_iter().zip(stable) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut outcome = FileOutcome {
            file: name.clone(),
            status: String::new(),
            sha256: None,
            first_seen: None,
            moved_to: None,
            errors_file: None,
            run: None,
        };
        if !stable {
            if !quiet {
                eprintln!("inbox: {name} is still being written; left for the next run");
            }
            outcome.status = String::from("not_ready");
            outcomes.push(outcome);
            continue;
        }
        let bytes = fs::read(&path).with_context(|| format!("can't read {}", path.display()))?;
        let hash = crate::ledger::sha256_hex(&bytes);
        outcome.sha256 = Some(hash.clone());
        // `track` remembers its files apart: a tracking file may be the invoice file itself.
        let remembered = match mode {
            Mode::Invoices => hash.clone(),
            Mode::Tracking => format!("track:{hash}"),
        };
        let seen = {
            let ledger = Ledger::open(&ledger_path, "inbox")?;
            ledger.file_seen(&remembered)?
        };
        if let Some(when) = seen {
            eprintln!(
                "inbox: {name} has the same content as a file processed at {when}, every invoice \
                 accepted; not sent again"
            );
            outcome.status = String::from("duplicate");
            outcome.first_seen = Some(when);
            outcome.moved_to = Some(move_into(&path, &processed)?);
            outcomes.push(outcome);
            continue;
        }

        if !quiet {
            eprintln!("inbox: {name}");
        }
        let mut file_args = args.clone();
        file_args.input.files = vec![path.to_string_lossy().into_owned()];
        // Still set: the run then leaves naming its output files to the inbox, which moves them.
        file_args.inbox = Some(dir.to_path_buf());
        file_args.results = None;
        file_args.failed = None;
        file_args.summary_json = None;
        file_args.report = args
            .report
            .as_ref()
            .map(|_| work.join(format!("{}.report.html", stem(&name))));
        let done = run_files(&file_args, &settings, mode)?;
        let file_code = done.summary.exit_code;
        // Bug: a file its writer went on with after the settling pause was sent as far as it
        // was written, then moved to processed/ whole, hiding what was sent. It stays, to be
        // read again whole: the ledger sends only what was not accepted, and refuses a changed
        // value for an invoice that was.
        let now = fs::read(&path).map(|b| crate::ledger::sha256_hex(&b));
        if now.as_ref().ok() != Some(&hash) {
            let results = done
                .summary
                .results_file
                .as_ref()
                .map(|r| format!(" ({})", r.display()))
                .unwrap_or_default();
            eprintln!(
                "inbox: {name} changed while it was being sent (still being written?); it stays \
                 in the inbox to be read again whole; check the invoices its results{results} \
                 list as accepted against the finished file"
            );
            outcome.status = String::from("changed");
            outcome.run = Some(done.summary);
            outcomes.push(outcome);
            code = worse(code, file_code.max(EXIT_PROBLEMS));
            continue;
        }
        if file_code == EXIT_INTERRUPTED {
            // Left in the inbox: the ledger makes the next run resume without resending.
            outcome.status = String::from("interrupted");
            outcome.run = Some(done.summary);
            outcomes.push(outcome);
            code = EXIT_INTERRUPTED;
            break;
        }
        // A run stopped by VTEX (credentials refused, a Retry-After past --max-wait) is not the
        // file's fault: it stays to be retried, and so do the files after it, which would stop
        // the same way (bug: each was tried, and VTEX asked to wait was sent more).
        if let Some(why) = &done.summary.stopped {
            if !quiet {
                eprintln!("inbox: {name} stays in the inbox, and the files after it: {why}");
            }
            outcome.status = String::from("retry");
            outcome.run = Some(done.summary);
            outcomes.push(outcome);
            code = worse(code, file_code.max(EXIT_PROBLEMS));
            break;
        }
        let dest = if file_code == EXIT_OK {
            &processed
        } else {
            &failed
        };
        let moved = move_into(&path, dest)?;
        let mut summary = done.summary;
        summary.results_file = move_output(summary.results_file.take(), dest)?;
        summary.failed_files = summary
            .failed_files
            .drain(..)
            .map(|f| move_output(Some(f), dest))
            .collect::<anyhow::Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        // `--report PATH` is the last file's report; each file's own goes beside it.
        if let (Some(last), Some(report)) = (&args.report, &file_args.report)
            && report.exists()
        {
            fs::copy(report, last)
                .with_context(|| format!("can't write the report {}", last.display()))?;
        }
        move_output(file_args.report.clone(), dest)?;
        let mut lines = vec![format!("inbox: {name} moved to {}", moved.display())];
        if let Some(results) = &summary.results_file {
            lines.extend(output_lines(results, &summary.failed_files));
        }
        // A file refused as a whole (a missing column, a damaged workbook) says why beside it
        // (bug: failed/ held it with an empty results file, the reason only on stderr and in
        // the summary, which the person fixing the file may never see).
        if !summary.file_errors.is_empty() {
            let errors = work.join(format!("{}.errors.txt", stem(&name)));
            fs::write(&errors, refusal_text(&name, &summary))
                .with_context(|| format!("can't write {}", errors.display()))?;
            outcome.errors_file = move_output(Some(errors), dest)?;
            if let Some(why) = &outcome.errors_file {
                lines.push(format!("  why it was refused: {}", why.display()));
            }
        }
        eprintln!("{}", lines.join("\n"));
        // Remembered only once every invoice was accepted: a file with failures, or refused whole
        // (a missing column, say), dropped again unchanged, is run again, and the ledger sends
        // only what was not accepted (bug: a file dropped again after failures went to
        // processed/ with exit 0, its failed invoices never sent).
        if file_code == EXIT_OK {
            let ledger = Ledger::open(&ledger_path, "inbox")?;
            ledger.record_file(&remembered, &name)?;
        }
        outcome.status = String::from(if file_code == EXIT_OK {
            "processed"
        } else {
            "failed"
        });
        outcome.moved_to = Some(moved);
        outcome.run = Some(summary);
        outcomes.push(outcome);
        code = worse(code, file_code);
    }
    let _ = fs::remove_dir(&work);
    // Where each file went, in the log beside each run's own events (bug: the log never said,
    // and said nothing at all of a duplicate or a file left in place).
    let mut log = summary::EventLog::open(args.log_file.as_deref()).with_context(|| {
        format!(
            "can't open the log file {}",
            args.log_file.as_deref().unwrap_or(Path::new("")).display()
        )
    })?;
    for outcome in &outcomes {
        log.event(
            "inbox_file",
            serde_json::json!({
                "file": outcome.file,
                "status": outcome.status,
                "sha256": outcome.sha256,
                "moved_to": outcome.moved_to,
            }),
        );
    }
    let summary = InboxSummary {
        schema_version: summary::SCHEMA_VERSION,
        inbox: dir.to_path_buf(),
        files: outcomes,
        exit_code: code,
    };
    if let Some(path) = &args.summary_json {
        summary::write_json(path, &summary)?;
    }
    Ok(code)
}

/// What `<file>.errors.txt` says of a file refused as a whole.
fn refusal_text(name: &str, summary: &RunSummary) -> String {
    let sent = if summary.requests == 0 {
        "Nothing in it was sent."
    } else {
        "Its results file says what was sent."
    };
    format!(
        "{name} was refused as a whole. {sent}\n\n{}\n\nFix it and drop it in the inbox again; \
         the invoices the ledger holds as accepted are not sent twice.\n",
        summary.file_errors.join("\n")
    )
}

/// The exit code that tells more: error > problems > ok.
fn worse(a: i32, b: i32) -> i32 {
    let rank = |c: i32| match c {
        EXIT_OK => 0,
        EXIT_PROBLEMS => 1,
        EXIT_TEMPFAIL => 2,
        _ => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

fn stem(name: &str) -> &str {
    Path::new(name)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(name)
}

/// Takes the inbox lock, or says who holds it.
fn lock_inbox(dir: &Path) -> anyhow::Result<File> {
    let path = dir.join(LOCK_NAME);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("can't create the inbox lock {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => bail!(
            "another invoice-import run is processing the inbox {}; try again later",
            dir.display()
        ),
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("can't lock the inbox {}", path.display()))
        }
    }
}

/// Regular, visible files directly in `dir`, oldest modification first (name breaks ties).
fn files_oldest_first(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<(SystemTime, PathBuf)> = Vec::new();
    for entry in fs::read_dir(dir).with_context(|| format!("can't list {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy().to_lowercase();
        // Hidden files, an office suite's lock files, and downloads or copies under way.
        let partial = [
            ".part",
            ".partial",
            ".tmp",
            ".crdownload",
            ".download",
            ".swp",
        ];
        if name.starts_with('.')
            || name.starts_with("~$")
            || name.starts_with(".~lock")
            || partial.iter().any(|ext| name.ends_with(ext))
        {
            continue;
        }
        let meta = entry.metadata()?;
        if !meta.is_file() {
            continue;
        }
        files.push((
            meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            entry.path(),
        ));
    }
    files.sort();
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

/// For each file, whether its size and modification time stay the same over one `settle` pause
/// (bug: each file waited its own pause in turn, 300 files ten minutes of waiting).
fn stable_files(paths: &[PathBuf], settle: Duration) -> anyhow::Result<Vec<bool>> {
    let look = |p: &Path| -> anyhow::Result<(u64, Option<SystemTime>)> {
        let m = fs::metadata(p).with_context(|| format!("can't look at {}", p.display()))?;
        Ok((m.len(), m.modified().ok()))
    };
    let before = paths
        .iter()
        .map(|p| look(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if !paths.is_empty() {
        std::thread::sleep(settle);
    }
    paths
        .iter()
        .zip(before)
        .map(|(p, b)| Ok(look(p)? == b))
        .collect()
}

/// Moves `path` into `dir`, keeping its name unless taken (then a time stamp is added).
fn move_into(path: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    let mut dest = dir.join(&name);
    if dest.exists() {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f");
        dest = dir.join(format!("{stamp}-{}", name.to_string_lossy()));
    }
    fs::rename(path, &dest)
        .with_context(|| format!("can't move {} to {}", path.display(), dest.display()))?;
    Ok(dest)
}

fn move_output(path: Option<PathBuf>, dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    match path {
        Some(p) if p.exists() => move_into(&p, dir).map(Some),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::EXIT_ERROR;

    #[test]
    fn worst_code_wins() {
        assert_eq!(worse(EXIT_OK, EXIT_PROBLEMS), EXIT_PROBLEMS);
        assert_eq!(worse(EXIT_ERROR, EXIT_PROBLEMS), EXIT_ERROR);
        assert_eq!(worse(EXIT_OK, EXIT_OK), EXIT_OK);
        assert_eq!(worse(EXIT_PROBLEMS, EXIT_TEMPFAIL), EXIT_TEMPFAIL);
        assert_eq!(worse(EXIT_ERROR, EXIT_TEMPFAIL), EXIT_ERROR);
    }

    #[test]
    fn a_growing_file_is_not_stable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        fs::write(&p, "x").unwrap();
        let is_stable = |p: &Path, d| stable_files(&[p.to_path_buf()], d).map(|s| s[0]);
        assert!(is_stable(&p, Duration::from_millis(20)).unwrap());
        let writer = {
            let p = p.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                fs::write(&p, "xyz").unwrap();
            })
        };
        assert!(!is_stable(&p, Duration::from_millis(150)).unwrap());
        writer.join().unwrap();
    }
}
