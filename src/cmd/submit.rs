//! `invoice-import submit` and `track`: check the files, then send every valid invoice (or
//! tracking update) exactly once, and write the results and failed-rows files.
//!
//! Order of business, so that nothing is sent when something is wrong with the set-up: target and
//! credentials, then the results file (an unwritable path fails here), then the inputs, then the
//! ledger lock, and only then requests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::sync::mpsc;

use crate::cli::SubmitArgs;
use crate::cmd::{
    EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_PROBLEMS, EXIT_TEMPFAIL, INVOICE_NEEDED,
    INVOICE_REQUIRED, load_options,
};
use crate::config::{Loaded, Settings, TargetSpec};
use crate::group::{self, Batch, RowRef};
use crate::ledger::{self, Ledger};
use crate::mapping::Field;
use crate::report::check::{CheckReport, Tally};
use crate::report::progress::Progress;
use crate::report::results::{self, ResultRow, ResultsDelimiter, ResultsWriter, Status};
use crate::report::summary::{self, EventLog, RunSummary, Sample, Timeline};
use crate::report::{money_in, money_plain};
use crate::sandbox;
use crate::submit::engine::{Engine, EngineConfig, Job, Op, Outcome, Stats, StopReason, Stopper};
use crate::submit::rate::AdaptiveRate;
use crate::submit::request::{invoice_request, json_fingerprint};
use crate::submit::retry::RetryPolicy;
use crate::validate::{self, Checked, SharedNumbers, Validated};
use crate::vtex::api::{Json, TrackingRequest};
use crate::vtex::client::{Client, ClientOptions, Credentials, Target};

/// How long a live result row may wait in memory before it is written to the results file.
const LIVE_FLUSH_EVERY: Duration = Duration::from_millis(250);
/// Pause between takes of the outcomes queue, when a take found several waiting. At full speed
/// outcomes come thousands a second; taking them as they come woke this thread (a futex call and
/// two context switches) for each one. A few milliseconds apart, a take is hundreds of them, and
/// the results file and progress lag by no more than that.
const OUTCOMES_PAUSE: Duration = Duration::from_millis(5);
/// Most outcomes taken at once.
const OUTCOMES_TAKE: usize = 4096;

/// Which request the command sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Invoices,
    Tracking,
}

impl Mode {
    /// The columns each input must have, and those some input must have.
    pub(crate) fn required(self) -> (&'static [Field], &'static [Field]) {
        match self {
            Mode::Invoices => (INVOICE_REQUIRED, INVOICE_NEEDED),
            Mode::Tracking => (
                &[Field::OrderId, Field::InvoiceNumber, Field::TrackingNumber],
                &[],
            ),
        }
    }

    /// What the results and failed-rows files add to an input's name: each command has its
    /// own, so `track x.csv` never writes over what `submit x.csv` wrote.
    fn output_suffixes(self) -> (&'static str, &'static str) {
        match self {
            Mode::Invoices => ("results", "failed"),
            Mode::Tracking => ("tracking-results", "tracking-failed"),
        }
    }

    fn ledger_kind(self) -> ledger::Kind {
        match self {
            Mode::Invoices => ledger::Kind::Invoice,
            Mode::Tracking => ledger::Kind::Tracking,
        }
    }

    pub(crate) fn command(self) -> &'static str {
        match self {
            Mode::Invoices => "submit",
            Mode::Tracking => "track",
        }
    }

    /// What `n` of the things sent are called: "1 invoice", "3 tracking updates".
    fn counted(self, n: usize) -> String {
        match self {
            Mode::Invoices => crate::report::counted(n as u64, "invoice", "invoices"),
            Mode::Tracking => {
                crate::report::counted(n as u64, "tracking update", "tracking updates")
            }
        }
    }
}

/// Where requests go, decided before anything is read.
pub(super) enum Destination {
    Remote {
        target: Target,
        credentials: Credentials,
    },
    Sandbox,
}

pub fn run(mut args: SubmitArgs, loaded: &Loaded, mode: Mode) -> anyhow::Result<i32> {
    loaded.apply_input(&mut args.input)?;
    if args.dry_run {
        // A dry run only checks: a file a flag asks for would silently not be there.
        // (flag, whether given, whether a report for programs is what it was for)
        let refused = [
            ("--summary-json", args.summary_json.is_some(), true),
            ("--log-file", args.log_file.is_some(), true),
            ("--report", args.report.is_some(), true),
            ("--results", args.results.is_some(), false),
            ("--failed", args.failed.is_some(), false),
            ("--output-dir", args.send.output_dir.is_some(), false),
            ("--inbox", args.inbox.is_some(), false),
            ("--check-remote", args.check_remote, false),
        ];
        if let Some((flag, _, report)) = refused.iter().find(|(_, given, _)| *given) {
            // `check` reads invoice files, not tracking ones.
            let hint = match (report, mode) {
                (true, Mode::Invoices) => {
                    " (for a report a program can read, run `invoice-import check --format json`)"
                }
                _ => "",
            };
            bail!(
                "--dry-run only checks the files, as `invoice-import check` does, and writes or \
                 asks nothing: drop {flag}{hint}"
            );
        }
        let check = crate::cli::CheckArgs {
            input: args.input.clone(),
            format: crate::cli::Format::Human,
            verbosity: args.verbosity,
        };
        return super::check::run_mode(&check, mode);
    }
    let outcome = send(&args, loaded, mode);
    // A scheduler reading the summary still learns that the run failed, and why, whatever
    // stopped it: a config, the credentials, a lock another run holds, an unreadable file.
    if let (Err(err), Some(path)) = (&outcome, &args.summary_json) {
        let inputs = Some((&args.input.files[..], args.inbox.as_deref()));
        write_failed_summary(path, mode.command(), inputs, &format!("{err:#}"));
    }
    outcome
}

/// Writes the `--summary-json` of a `command` run that stopped with `error` before it had a
/// summary of its own (a config, a flag, the credentials, a lock): a scheduler reading the file
/// learns that this run failed, and why, instead of reading the previous run's. `inputs` (the
/// files and the inbox) when known.
pub(crate) fn write_failed_summary(
    path: &str,
    command: &str,
    inputs: Option<(&[String], Option<&Path>)>,
    error: &str,
) {
    let failed = serde_json::json!({
        "schema_version": summary::SCHEMA_VERSION,
        "command": command,
        "inputs": inputs.map(|(files, _)| files),
        "inbox": inputs.and_then(|(_, inbox)| inbox),
        "error": error,
        "exit_code": EXIT_ERROR,
    });
    // The run's own error is the one to tell, even when the summary can't say it.
    if let Err(e) = summary::write_json(path, &failed) {
        eprintln!("error: can't write the summary {path}: {e}");
    }
}

/// [`run`] once it is to send: to the inbox, or the files named.
fn send(args: &SubmitArgs, loaded: &Loaded, mode: Mode) -> anyhow::Result<i32> {
    let settings = Settings::resolve(&args.send, loaded)?;
    if mode == Mode::Tracking {
        // `track` shares submit's options; these two mean nothing to a tracking update, so
        // they are hidden from its --help and refused rather than ignored.
        for (given, flag) in [
            (args.check_remote, "--check-remote"),
            (
                args.input.allow_shared_invoice_numbers,
                "--allow-shared-invoice-numbers",
            ),
        ] {
            if given {
                bail!("{flag} is an option of submit; track does not take it");
            }
        }
    }
    if let Some(dir) = args.inbox.clone() {
        if !args.input.files.is_empty() {
            bail!("--inbox takes the files from DIR; name no input files with it");
        }
        // Each file's results and failed rows go beside it, into processed/ or failed/: a path
        // for them would be left missing where a script expects a file (bug: ignored silently).
        for (flag, given) in [
            ("--results", args.results.is_some()),
            ("--failed", args.failed.is_some()),
            ("--output-dir", args.send.output_dir.is_some()),
        ] {
            if given {
                bail!(
                    "{flag} does not apply to --inbox: each file's results and failed rows go \
                     beside it, into processed/ or failed/"
                );
            }
        }
        return super::inbox::run(args, &settings, mode, &dir);
    }
    if args.input.files.is_empty() {
        bail!("name at least one input file (or `-` for stdin)");
    }
    let done = run_files(args, &settings, mode)?;
    if let Some(path) = &args.summary_json {
        summary::write_json(path, &done.summary)
            .with_context(|| format!("can't write the summary {path}"))?;
    }
    Ok(done.summary.exit_code)
}

/// A finished run of some files: its summary (which carries the exit code).
pub struct Done {
    pub summary: RunSummary,
}

/// Where the settings send, checked with its credentials before anything is read: the run of
/// files and the inbox (whose empty run must fail too) ask the same.
pub(super) fn destination(settings: &Settings) -> anyhow::Result<Destination> {
    if settings.target == TargetSpec::Sandbox {
        return Ok(Destination::Sandbox);
    }
    let Some(target) = settings.target.target()? else {
        bail!(
            "say where to send: --account NAME (VTEX), --base-url URL, or --sandbox (the \
             built-in simulator), or set [target] in the config file"
        );
    };
    Ok(Destination::Remote {
        target,
        credentials: settings.credentials()?,
    })
}

/// Runs the pipeline on `args.input.files` with validated settings.
pub fn run_files(args: &SubmitArgs, settings: &Settings, mode: Mode) -> anyhow::Result<Done> {
    let started = chrono::Utc::now();
    let destination = destination(settings)?;

    if args.failed.is_some() && args.input.files.len() > 1 {
        bail!(
            "--failed names one file, and there are {} inputs: each input's failed rows go to \
             a file beside it (or in --output-dir)",
            args.input.files.len()
        );
    }
    if let Some(dir) = &settings.output_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("can't create the output folder {}", dir.display()))?;
    }
    let first = args.input.files.first().map(String::as_str).unwrap_or("-");
    let (suffix, _) = mode.output_suffixes();
    let results_path = args
        .results
        .clone()
        .unwrap_or_else(|| results::output_path(first, suffix, settings.output_dir.as_deref()));
    refuse_to_overwrite_inputs(std::slice::from_ref(&results_path), &args.input.files)?;

    let opts = load_options(&args.input, mode.required());
    // Invoices stay compact until each is built, judged, made a request and dropped: a
    // backfill never holds all its invoices beside their request bodies.
    let (batch, pending) = group::load_pending(&args.input.files, &opts);
    for e in &batch.file_errors {
        eprintln!("error: {}", e.message);
    }
    // Made once every output is known not to land on another (a refused run writes nothing),
    // and before anything is sent, so an unwritable path stops the run first.
    let open_results = || -> anyhow::Result<ResultsWriter> {
        let delimiter = settings
            .results_delimiter
            .unwrap_or_else(|| ResultsDelimiter::for_input(batch.sources.first()));
        ResultsWriter::create(&results_path, settings.bom)
            .and_then(|mut writer| writer.start(delimiter).map(|()| writer))
            .with_context(|| format!("can't write the results file {}", results_path.display()))
    };
    let run_id = format!("{}-{}", started.format("%Y%m%dT%H%M%S"), std::process::id());
    let started_at = started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if !batch.file_errors.is_empty() && batch.sources.is_empty() {
        let mut summary = RunSummary::new(
            (mode.command(), &run_id, &started_at),
            &args.input.files,
            &[],
        );
        // Nothing was read: the last run's results file stays as it was (bug: a mistyped --map
        // left it empty, its receipts gone from the file finance keeps). In the inbox's own
        // work folder one is written, and said, so that it goes beside its input.
        if args.inbox.is_some() {
            open_results()?.finish(&[])?;
            summary.results_file = Some(results_path);
        }
        summary.file_errors = batch
            .file_errors
            .iter()
            .map(|e| e.message.clone())
            .collect();
        summary.exit_code = EXIT_ERROR;
        return Ok(Done { summary });
    }
    let run = Run {
        args,
        settings,
        mode,
        batch: &batch,
        read: &opts.read,
        run_id: &run_id,
        started_at: &started_at,
    };
    let failed_paths: Vec<PathBuf> = batch
        .sources
        .iter()
        .map(|source| run.failed_options().path_for(source, batch.sources.len()))
        .collect();
    refuse_to_overwrite_inputs(&failed_paths, &args.input.files)?;
    refuse_shared_outputs(&results_path, &failed_paths, &batch.sources)?;
    // Written after sending: a path that can't be written is found now, with nothing sent
    // (bug: a missing folder for --summary-json stopped the run with exit 2 after every
    // invoice had been accepted).
    for (what, path) in report_outputs(args).into_iter().chain(
        failed_paths
            .iter()
            .map(|p| ("the failed-rows file", p.as_path())),
    ) {
        check_writable(what, path)?;
    }
    let results_writer = open_results()?;
    let mut summary = match mode {
        Mode::Invoices => {
            let shared = SharedNumbers::find(
                pending.len(),
                |i| pending.key(i),
                validate::ValidateOptions {
                    allow_shared_invoice_numbers: args.input.allow_shared_invoice_numbers,
                },
            );
            run.send(
                pending,
                |invoice| validate::validate_one(invoice, &shared),
                destination,
                results_writer,
                |v, index, kind| {
                    let body = Json::new(&invoice_request(v));
                    Job {
                        index,
                        key: key(kind, v),
                        fingerprint: json_fingerprint(&body),
                        value_cents: v.invoice_value(),
                        op: Op::Invoice(body),
                        unresolved_intent: false,
                    }
                },
            )?
        }
        Mode::Tracking => run.send(
            pending,
            validate::validate_tracking_one,
            destination,
            results_writer,
            |v, index, kind| {
                let body = Json::new(&TrackingRequest {
                    tracking_number: v.tracking_number().to_string(),
                    tracking_url: v.tracking_url().map(str::to_string),
                    courier: v.courier().map(str::to_string),
                    dispatched_date: v.dispatched_date().map(crate::values::date::to_api),
                });
                Job {
                    index,
                    key: key(kind, v),
                    fingerprint: json_fingerprint(&body),
                    value_cents: 0,
                    op: Op::Tracking(body),
                    unresolved_intent: false,
                }
            },
        )?,
    };
    summary.file_errors = batch
        .file_errors
        .iter()
        .map(|e| e.message.clone())
        .collect();
    summary.notes = batch
        .sources
        .iter()
        .flat_map(|s| s.notes.iter().cloned())
        .collect();
    // An input that could not be read is exit 2, as for check, invalid invoices or not (bug:
    // 1 when some invoice was invalid too, so a script watching for 2 missed the file).
    if !batch.file_errors.is_empty() && matches!(summary.exit_code, EXIT_OK | EXIT_PROBLEMS) {
        summary.exit_code = EXIT_ERROR;
    }
    Ok(Done { summary })
}

fn key<T: Validated>(kind: ledger::Kind, v: &T) -> ledger::Key {
    ledger::Key {
        kind,
        order_id: v.order_id().to_string(),
        invoice_number: v.invoice_number().to_string(),
    }
}

struct Run<'a> {
    args: &'a SubmitArgs,
    settings: &'a Settings,
    mode: Mode,
    batch: &'a Batch,
    read: &'a crate::source::ReadOptions,
    run_id: &'a str,
    /// When the run started, for its summary (bug: the summary said when it ended).
    started_at: &'a str,
}

impl Run<'_> {
    /// Judges every invoice of `pending` with `judge` and sends the valid ones, each built,
    /// judged and turned into a job as it comes, then dropped, and the store with them.
    fn send<T: Validated>(
        self,
        pending: group::Pending,
        judge: impl FnMut(group::Invoice) -> Checked<T>,
        destination: Destination,
        mut writer: ResultsWriter,
        make_job: impl Fn(&T, usize, ledger::Kind) -> Job,
    ) -> anyhow::Result<RunSummary> {
        let args = self.args;
        let quiet = args.verbosity.quiet;
        // Invalid invoices are outcomes already; valid ones become jobs. Each invoice is
        // dropped once its job and result row are made: a backfill's invoices, items and all,
        // are not kept beside their request bodies.
        let mut rows: Vec<ResultRow> = Vec::with_capacity(pending.len());
        let mut jobs = Vec::new();
        let mut tally = Tally::default();
        for (index, c) in pending.into_invoices().map(judge).enumerate() {
            tally.add(&c);
            rows.push(self.unsent_row(
                index,
                c.order_id(),
                c.invoice_number(),
                c.rows().to_vec(),
                None,
            ));
            match c {
                Checked::Valid(v) => {
                    rows[index].value_cents =
                        Some(v.value_cents()).filter(|_| self.mode == Mode::Invoices);
                    jobs.push(make_job(&v, index, self.mode.ledger_kind()));
                }
                Checked::Invalid(inv) => {
                    rows[index].value_cents =
                        validate::stated_value(&inv).filter(|_| self.mode == Mode::Invoices);
                    let messages: Vec<String> = inv
                        .problems
                        .iter()
                        .map(|p| format!("{}: {}", self.batch.locate(p), p.message))
                        .collect();
                    rows[index].error = Some(messages.join("; "));
                }
            }
        }
        let invalid = tally.invalid();
        // Under --quiet too: "only problems and the final summary" (bug: a quiet run, the
        // scheduled kind, never said why its invoices were invalid).
        if invalid > 0 {
            let mut report = CheckReport::start(self.batch);
            report.valued = self.mode == Mode::Invoices;
            report.absorb(self.batch, tally);
            eprint!("{}", report.human(self.batch, args.verbosity));
        } else if !quiet {
            // The report above carries these; without it they are said alone.
            for note in self.batch.sources.iter().flat_map(|s| &s.notes) {
                eprintln!("note: {note}");
            }
        }
        // What may cost money unread is said even to a quiet run (bug: a line total mapped as
        // the unit price went out at twice the money with nothing on the terminal).
        if quiet {
            for warning in self.batch.sources.iter().flat_map(|s| &s.warnings) {
                eprintln!("warning: {warning}");
            }
        }
        let strict_block = args.strict && invalid > 0;
        if strict_block {
            for job in &jobs {
                rows[job.index].status = Status::Failed;
                rows[job.index].error = Some(String::from(
                    "not sent: --strict and other invoices are invalid",
                ));
            }
            jobs.clear();
        }

        // A worker per core. A single-thread runtime used a little less CPU per invoice but was
        // slower end to end on a busy 2-core machine (one thread gets one share of the CPU), so
        // the default stays.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("can't start the async runtime")?;
        let mut log = EventLog::open(args.log_file.as_deref()).with_context(|| {
            format!(
                "can't open the log file {}",
                args.log_file.as_deref().unwrap_or(Path::new("")).display()
            )
        })?;
        log.event(
            "run_start",
            serde_json::json!({
                "run_id": self.run_id,
                "command": self.mode.command(),
                "inputs": args.input.files,
                "invoices": rows.len(),
                "to_send": jobs.len(),
            }),
        );
        let started = Instant::now();
        let (stats, stop_reason, seen, timeline, ledger) =
            runtime.block_on(self.submit(jobs, &mut rows, destination, &mut writer, &mut log))?;
        let elapsed = started.elapsed();

        // Rows that joined no invoice (no usable order id or invoice number) follow the
        // invoices, one result each, so the results file accounts for every input row; they
        // are not invoices, so the counts below leave them out.
        let invoices = rows.len();
        rows.extend(self.unkeyed_rows(invoices));

        // Results, complete and in input order; then the rows to fix.
        let results_path = writer.path().to_path_buf();
        writer
            .finish(&rows)
            .with_context(|| format!("can't write the results file {}", results_path.display()))?;
        let failed_files = self.write_failed(&rows, ledger.as_ref())?;
        drop(ledger);
        if !quiet {
            self.note_stale_failed(&failed_files);
        }
        print_summary(
            (self.mode, self.batch.decimal_comma()),
            &rows[..invoices],
            rows.len() - invoices,
            elapsed,
            &stats,
            &seen,
            // The inbox moves them, and names them where they end up.
            args.inbox
                .is_none()
                .then_some((results_path.as_path(), &failed_files[..])),
            quiet,
        );

        let all_good = rows[..invoices]
            .iter()
            .all(|r| matches!(r.status, Status::Accepted | Status::AlreadyAccepted))
            && self.batch.row_errors.is_empty();
        let mut code = if all_good { EXIT_OK } else { EXIT_PROBLEMS };
        let mut stopped = None;
        if let Some(StopReason::Auth(msg)) = &stop_reason {
            eprintln!("error: stopped: {msg}");
            stopped = Some(msg.clone());
            code = EXIT_ERROR;
        }
        if let Some(StopReason::Throttled(msg)) = &stop_reason {
            // Invoices were left unsent for no fault of theirs: run again later (bug: exit 1,
            // which a scheduler can't tell from invoices to fix).
            eprintln!("stopped: {msg}");
            stopped = Some(msg.clone());
            code = EXIT_TEMPFAIL;
        }
        if stop_reason == Some(StopReason::Interrupted) {
            stopped = Some(String::from("interrupted"));
            code = EXIT_INTERRUPTED;
        }

        let mut summary = RunSummary::new(
            (self.mode.command(), self.run_id, self.started_at),
            &args.input.files,
            &rows[..invoices],
        );
        let secs = elapsed.as_secs_f64();
        summary.decimal_comma = self.batch.decimal_comma();
        summary.requests = stats.all_requests();
        summary.duration_seconds = (secs * 1000.0).round() / 1000.0;
        summary.requests_per_second = if secs > 0.0 {
            ((summary.requests as f64 / secs) * 100.0).round() / 100.0
        } else {
            0.0
        };
        summary.throttled_429 = seen.throttled;
        summary.peak_requests_in_a_second = seen.peak_per_second;
        summary.timeline = timeline;
        summary.row_errors = (rows.len() - invoices) as u64;
        summary.results_file = Some(results_path);
        summary.failed_files = failed_files;
        summary.stopped = stopped;
        summary.exit_code = code;
        log.event(
            "run_end",
            serde_json::to_value(&summary).unwrap_or(serde_json::Value::Null),
        );
        if let Some(path) = &args.report {
            crate::report::html::write(path, &summary, &rows)
                .with_context(|| format!("can't write the report {}", path.display()))?;
        }
        Ok(summary)
    }

    /// Starts what sending needs (sandbox, ledger, client), runs the engine, and fills `rows`.
    async fn submit(
        &self,
        mut jobs: Vec<Job>,
        rows: &mut [ResultRow],
        destination: Destination,
        writer: &mut ResultsWriter,
        log: &mut EventLog,
    ) -> anyhow::Result<(
        Arc<Stats>,
        Option<StopReason>,
        RateSeen,
        Vec<Sample>,
        Option<Ledger>,
    )> {
        let args = self.args;
        let quiet = args.verbosity.quiet;
        // Ctrl-C, or SIGTERM (systemd stopping the unit, `timeout`, `kill`): take no new work
        // and let in-flight requests settle; a second one aborts (the ledger is consistent at
        // every commit, so nothing is lost but the results file). Listened for from here, so a
        // signal while the ledger is read still ends with results and a summary (bug: it
        // killed the run, exit 143, with neither, for the seconds a backfill spends there).
        let stopper = Arc::new(Stopper::default());
        let interrupt = {
            let stopper = Arc::clone(&stopper);
            tokio::spawn(async move {
                if let Some(what) = interruption().await {
                    // What aborts is what stopped it: a second SIGTERM (systemd's stop
                    // timeout sends SIGKILL instead), or Ctrl-C.
                    let again = if what.contains("SIGTERM") {
                        "a second SIGTERM or Ctrl-C aborts"
                    } else {
                        "Ctrl-C again to abort"
                    };
                    eprintln!("\n{what}: finishing requests in flight ({again})");
                    stopper.stop(StopReason::Interrupted);
                    if interruption().await.is_some() {
                        std::process::exit(EXIT_INTERRUPTED);
                    }
                }
            })
        };

        let (target, credentials, sandbox_handle) = match destination {
            Destination::Remote {
                target,
                credentials,
            } => (target, credentials, None),
            Destination::Sandbox => {
                let (config, credentials) = sandbox_config(rows);
                let handle = sandbox::start(config, ([127, 0, 0, 1], 0).into())
                    .await
                    .context("can't start the built-in sandbox")?;
                let target = Target::base_url(&handle.url())?;
                if !quiet {
                    eprintln!(
                        "sandbox: sending to the built-in VTEX simulator at {}; nothing is sent to VTEX",
                        handle.url()
                    );
                }
                if self.mode == Mode::Tracking {
                    // Tracking needs its invoice on the order; pretend they were submitted earlier.
                    for job in &jobs {
                        handle.seed_invoice(&job.key.order_id, &job.key.invoice_number);
                    }
                    if !quiet {
                        eprintln!(
                            "sandbox: seeded with the {} invoices the file names, as if submitted earlier",
                            jobs.len()
                        );
                    }
                }
                (target, credentials, Some(handle))
            }
        };

        let (ledger_path, temporary_ledger) = match (&self.settings.ledger, &sandbox_handle) {
            (Some(path), _) => (path.clone(), false),
            (None, Some(_)) => (temporary_ledger_path(), true),
            (None, None) => (
                Ledger::default_path(&target.ledger_scope(), target.as_str())?,
                false,
            ),
        };
        let ledger = Ledger::open(&ledger_path, self.run_id)?;
        if args.verbosity.verbose {
            eprintln!("ledger: {}", ledger_path.display());
        }

        // What the ledger already knows decides each job's start.
        let keys: Vec<ledger::Key> = jobs.iter().map(|j| j.key.clone()).collect();
        let known = ledger.get_many(&keys)?;
        let sending: std::collections::HashSet<usize> = jobs.iter().map(|j| j.index).collect();
        if self.mode == Mode::Invoices {
            self.accepted_though_invalid(&ledger, rows, &sending)?;
        }
        // Outcomes already final (invalid, or held back by --strict); the rest are logged as
        // they are decided.
        for row in rows.iter().filter(|r| !sending.contains(&r.index)) {
            log.outcome(row);
        }
        // Intents an interrupted run left for invoices not in this batch: they are looked at
        // when their own file is submitted again; say so, rather than leave them unseen.
        let in_batch: std::collections::HashSet<&ledger::Key> = keys.iter().collect();
        let elsewhere: Vec<ledger::Entry> = ledger
            .pending_intents()?
            .into_iter()
            .filter(|e| e.key.kind == self.mode.ledger_kind() && !in_batch.contains(&e.key))
            .collect();
        if let Some(first) = elsewhere.first()
            && !quiet
        {
            eprintln!(
                "note: {} from an earlier interrupted run may or may not have reached VTEX \
                 (e.g. order {} invoice {}); submit their file again and they will be checked on the \
                 order before anything is sent",
                self.mode.counted(elsewhere.len()),
                first.key.order_id,
                first.key.invoice_number
            );
        }
        // An invoice number an earlier run booked on another order: the batch's own check
        // (SharedNumbers) can't see across runs.
        let elsewhere_numbers =
            if self.mode == Mode::Invoices && !args.input.allow_shared_invoice_numbers {
                ledger.numbers_on_other_orders(&keys)?
            } else {
                Vec::new()
            };
        // The same invoice an earlier run sent with its number written otherwise (`000123`,
        // now `123`): VTEX would book a second invoice on the order.
        let written_otherwise = if self.mode == Mode::Invoices {
            ledger.numbers_written_otherwise(&keys)?
        } else {
            Vec::new()
        };
        let mut to_send = Vec::with_capacity(jobs.len());
        for (k, mut job) in jobs.drain(..).enumerate() {
            let row = &mut rows[job.index];
            let entry = known.get(&job.key);
            // Sent on this order before (allowed then): its outcome is resolved as usual.
            let sent_here = entry.is_some_and(|e| {
                matches!(e.state, ledger::State::Accepted | ledger::State::Intent)
            });
            if let Some(Some(other)) = elsewhere_numbers.get(k)
                && !sent_here
            {
                row.status = Status::Failed;
                let written = match other.key.invoice_number == job.key.invoice_number {
                    true => String::new(),
                    false => format!(" as '{}'", other.key.invoice_number),
                };
                row.error = Some(format!(
                    "invoice number {} was {} on order {}{written} ({}): VTEX would book it on \
                     two orders; not sent (--allow-shared-invoice-numbers sends it)",
                    job.key.invoice_number,
                    sent_earlier(other.state),
                    other.key.order_id,
                    other.updated_at,
                ));
                log.outcome(row);
                continue;
            }
            if let Some(Some(other)) = written_otherwise.get(k)
                && !sent_here
            {
                row.status = Status::Failed;
                row.error = Some(format!(
                    "invoice number '{}' was {} on this order as '{}' ({}): the same invoice \
                     written without or with leading zeros, which VTEX would book twice; not \
                     sent. Write the number as it was sent",
                    job.key.invoice_number,
                    sent_earlier(other.state),
                    other.key.invoice_number,
                    other.updated_at,
                ));
                log.outcome(row);
                continue;
            }
            match entry {
                Some(entry) if entry.state == ledger::State::Accepted => {
                    let same = entry.fingerprint == job.fingerprint;
                    if self.mode == Mode::Tracking && !same {
                        to_send.push(job); // a changed tracking number is sent
                        continue;
                    }
                    if same || entry.value_cents == job.value_cents {
                        row.status = Status::AlreadyAccepted;
                        row.receipt = entry.receipt.clone().filter(|r| !r.is_empty());
                        row.error = (!same).then(|| {
                            String::from(
                                "accepted earlier with other details; VTEX keeps the first version, \
                                 so nothing was sent",
                            )
                        });
                    } else {
                        row.status = Status::Failed;
                        row.error = Some(format!(
                            "accepted earlier ({}) with value {}, now {}: VTEX does not change an \
                             accepted invoice's value; not sent",
                            entry.updated_at,
                            money_plain(entry.value_cents),
                            money_plain(job.value_cents)
                        ));
                    }
                    log.outcome(row);
                }
                Some(entry) if entry.state == ledger::State::Intent => {
                    job.unresolved_intent = true;
                    to_send.push(job);
                }
                _ => to_send.push(job),
            }
        }

        let client = Client::new(
            &target,
            &credentials,
            &ClientOptions {
                timeout: Duration::from_secs_f64(self.settings.timeout),
                proxy: ClientOptions::proxy_from_env(&target),
                ..ClientOptions::default()
            },
        )?;
        let rate = Arc::new(AdaptiveRate::new(
            self.settings.rate,
            burst_for(self.settings.rate),
        ));
        let stats = Arc::new(Stats::default());
        let engine = Arc::new(Engine {
            client,
            ledger: ledger.clone(),
            rate: Arc::clone(&rate),
            config: EngineConfig {
                concurrency: self.settings.concurrency,
                policy: RetryPolicy {
                    max_attempts: self.settings.max_attempts,
                    ..RetryPolicy::default()
                },
                check_remote: args.check_remote && self.mode == Mode::Invoices,
                max_wait: Duration::from_secs_f64(self.settings.max_wait),
                looks: crate::submit::engine::looks_over(Duration::from_secs_f64(
                    self.settings.look_for,
                )),
            },
            stopper: Arc::clone(&stopper),
            stats: Arc::clone(&stats),
        });

        // The timeline: counters read once a second (the engine keeps totals only).
        let timeline = Arc::new(std::sync::Mutex::new(Timeline::default()));
        let sampler = {
            let (stats, rate, timeline) =
                (Arc::clone(&stats), Arc::clone(&rate), Arc::clone(&timeline));
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                tick.tick().await; // the first tick is immediate
                for second in 1u64.. {
                    tick.tick().await;
                    sample(&timeline, second, &stats, &rate);
                }
            })
        };
        let sampling_started = Instant::now();

        let mut progress = Progress::new(to_send.len() as u64, quiet);
        let (tx, mut rx) = mpsc::unbounded_channel::<Outcome>();
        let engine_task = tokio::spawn(Arc::clone(&engine).run(to_send, tx));
        let mut live_error_shown = false;
        let mut live_warning = |progress: &Progress, e: std::io::Error| {
            // The live file is a safety net for crashes; the final rewrite is what counts, so a
            // failed write is reported once and the run goes on.
            if !live_error_shown {
                live_error_shown = true;
                progress.println(&format!("warning: can't append to the results file: {e}"));
            }
        };
        // Building a log line costs allocations; with no log file there is nothing to build.
        let logging = args.log_file.is_some();
        // Live result rows reach the file at least this often (see `ResultsWriter`).
        let mut flush_tick = tokio::time::interval(LIVE_FLUSH_EVERY);
        flush_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut taken: Vec<Outcome> = Vec::with_capacity(OUTCOMES_TAKE);
        loop {
            // Whether outcomes queued up while the last were handled.
            let queued = tokio::select! {
                n = rx.recv_many(&mut taken, OUTCOMES_TAKE) => {
                    if n == 0 {
                        break; // every sender is gone: the engine is done
                    }
                    n > 1
                }
                _ = flush_tick.tick() => {
                    if let Err(e) = writer.flush_live() {
                        live_warning(&progress, e);
                    }
                    continue;
                }
            };
            for outcome in taken.drain(..) {
                let row = &mut rows[outcome.index];
                row.status = outcome.status;
                row.http_status = outcome.http_status;
                row.receipt = outcome.receipt;
                row.attempts = outcome.attempts;
                row.error = outcome.error;
                progress.record(row.status);
                if logging {
                    log.outcome(row);
                }
                if args.verbosity.verbose {
                    progress.println(&format!(
                        "{} {} {}{}",
                        row.order_id,
                        row.invoice_number,
                        row.status.as_str(),
                        row.error
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    ));
                }
                if let Err(e) = writer.append(row) {
                    live_warning(&progress, e);
                }
            }
            // Outcomes that queued up while the last were handled come fast: pause so the next
            // take is many. One at a time (`--rate 100`), a pause would only add a wake-up.
            if queued {
                tokio::time::sleep(OUTCOMES_PAUSE).await;
            }
        }
        if let Err(e) = writer.flush_live() {
            live_warning(&progress, e);
        }
        let _ = engine_task.await;
        sampler.abort();
        // The last, partial second.
        let last = sampling_started.elapsed().as_secs() + 1;
        let already = timeline
            .lock()
            .map(|t| t.last_second() >= last)
            .unwrap_or(true);
        if !already {
            sample(&timeline, last, &stats, &rate);
        }
        // The aborted sampler may still hold its clone, so the samples are taken, not unwrapped.
        let timeline =
            std::mem::take(&mut *timeline.lock().unwrap_or_else(|e| e.into_inner())).into_samples();
        progress.finish();
        interrupt.abort();
        if let Some(handle) = sandbox_handle {
            handle.shutdown().await;
        }
        drop(engine);
        // A lasting ledger is kept for the failed-rows files written next; a throwaway one goes.
        let ledger = (!temporary_ledger).then_some(ledger);
        if temporary_ledger {
            for suffix in ["", "-wal", "-shm", ".lock"] {
                let mut p = ledger_path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
        }
        let seen = RateSeen {
            throttled: rate.throttled(),
            peak_per_second: rate.peak_per_second(),
        };
        Ok((stats, stopper.reason(), seen, timeline, ledger))
    }

    /// Invalid invoices of this file that the ledger shows accepted: fixed in a failed-rows file
    /// and sent from it, then this file run again. VTEX has the invoice, so there is nothing
    /// to fix: `already_accepted`, saying why this file's rows were not sent, and kept out of
    /// the failed-rows file (bug: they were written there as rows to fix, over the fixed
    /// file).
    fn accepted_though_invalid(
        &self,
        ledger: &Ledger,
        rows: &mut [ResultRow],
        sending: &std::collections::HashSet<usize>,
    ) -> anyhow::Result<()> {
        let invalid: Vec<usize> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.status == Status::Invalid
                    && !sending.contains(&r.index)
                    && !r.order_id.is_empty()
                    && !r.invoice_number.is_empty()
            })
            .map(|(k, _)| k)
            .collect();
        if invalid.is_empty() {
            return Ok(());
        }
        let keys: Vec<ledger::Key> = invalid
            .iter()
            .filter_map(|&k| rows.get(k))
            .map(|r| ledger::Key::invoice(&r.order_id, &r.invoice_number))
            .collect();
        let known = ledger.get_many(&keys)?;
        for (&k, key) in invalid.iter().zip(&keys) {
            let (Some(row), Some(entry)) = (rows.get_mut(k), known.get(key)) else {
                continue;
            };
            if entry.state != ledger::State::Accepted {
                continue;
            }
            row.status = Status::AlreadyAccepted;
            row.receipt = entry.receipt.clone().filter(|r| !r.is_empty());
            row.value_cents = Some(entry.value_cents);
            row.error = Some(format!(
                "accepted earlier ({}), so nothing was sent and there is nothing to fix; this \
                 file's rows for it are not valid: {}",
                entry.updated_at,
                row.error.as_deref().unwrap_or("invalid")
            ));
        }
        Ok(())
    }

    /// A result not sent (yet): `invalid`, no response, for the input rows `rows`.
    fn unsent_row(
        &self,
        index: usize,
        order_id: &str,
        invoice_number: &str,
        rows: Vec<RowRef>,
        error: Option<String>,
    ) -> ResultRow {
        ResultRow {
            index,
            order_id: order_id.to_string(),
            invoice_number: invoice_number.to_string(),
            status: Status::Invalid,
            http_status: None,
            receipt: None,
            attempts: 0,
            error,
            value_cents: None,
            source: self.batch.describe_rows(&rows),
            rows,
        }
    }

    /// One result for each row that joined no invoice, numbered on from `first`, with all of
    /// its problems (bug: one result per problem, so a row with two had two results, and its
    /// failed-rows line kept only the last message).
    fn unkeyed_rows(&self, first: usize) -> impl Iterator<Item = ResultRow> + '_ {
        let rows = self.batch.rows_in_no_invoice();
        rows.into_iter()
            .enumerate()
            .map(move |(k, (at, problems))| {
                let error = problems
                    .iter()
                    .map(|p| format!("{}: {}", self.batch.locate(p), p.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                self.unsent_row(first + k, "", "", at.into_iter().collect(), Some(error))
            })
    }

    /// Writes the failed-rows files; with the run's ledger (`None` for a throwaway one), first
    /// keeps aside any such file a user edited since a run wrote it.
    fn write_failed(
        &self,
        rows: &[ResultRow],
        ledger: Option<&Ledger>,
    ) -> anyhow::Result<Vec<PathBuf>> {
        let mut errors: HashMap<RowRef, String> = HashMap::new();
        for r in rows.iter().filter(|r| r.status.needs_fixing()) {
            let message = r
                .error
                .clone()
                .unwrap_or_else(|| r.status.as_str().to_string());
            for at in &r.rows {
                errors.insert(*at, message.clone());
            }
        }
        if errors.is_empty() {
            return Ok(Vec::new());
        }
        let options = self.failed_options();
        if let Some(ledger) = ledger {
            let sources: std::collections::BTreeSet<u32> =
                errors.keys().map(|r| r.source).collect();
            for info in sources
                .iter()
                .filter_map(|&s| self.batch.sources.get(s as usize))
            {
                let path = options.path_for(info, self.batch.sources.len());
                keep_if_edited(ledger, &path);
            }
        }
        let written = results::write_failed_rows(self.batch, self.read, &errors, &options)
            .map_err(|e| anyhow::anyhow!("can't write the failed-rows file: {e}"))?;
        if let Some(ledger) = ledger {
            for path in &written {
                let recorded =
                    output_hash(path)
                        .map_err(|e| e.to_string())
                        .and_then(|(at, hash)| {
                            ledger.record_written(&at, &hash).map_err(|e| e.to_string())
                        });
                if let Err(e) = recorded {
                    eprintln!(
                        "warning: {}: not recorded in the ledger, so edits to it will not be \
                         noticed: {e}",
                        path.display()
                    );
                }
            }
        }
        Ok(written)
    }

    /// Says which failed-rows files beside this run's inputs are from an earlier run: none of
    /// that input's rows failed this time, so the file no longer says what is left to fix. It
    /// is left alone (it may be the very file a user fixed and submitted).
    fn note_stale_failed(&self, written: &[PathBuf]) {
        let options = self.failed_options();
        for source in &self.batch.sources {
            let path = options.path_for(source, self.batch.sources.len());
            if !written.contains(&path) && path.exists() {
                eprintln!(
                    "note: {} is from an earlier run: none of {}'s rows failed this time",
                    path.display(),
                    source.source
                );
            }
        }
    }

    fn failed_options(&self) -> results::FailedOptions<'_> {
        results::FailedOptions {
            single_path: self.args.failed.as_deref(),
            dir: self.settings.output_dir.as_deref(),
            suffix: self.mode.output_suffixes().1,
            bom: self.settings.bom,
        }
    }
}

/// Refuses a run whose results or failed-rows file would be one of its inputs (`--results x.csv
/// x.csv`, or `x.csv x.failed.csv` together): the input would be lost.
fn refuse_to_overwrite_inputs(outputs: &[PathBuf], inputs: &[String]) -> anyhow::Result<()> {
    for output in outputs {
        let input = inputs
            .iter()
            .filter(|i| *i != "-")
            .find(|i| crate::source::same_file(output, Path::new(i)));
        if let Some(input) = input {
            bail!(
                "this run would write its results or failed rows to {}, over the input {input}; \
                 give that input alone, or choose other names with --results, --failed or \
                 --output-dir",
                output.display()
            );
        }
    }
    Ok(())
}

/// Stops a run two of whose outputs would be one file (`a/x.csv` and `b/x.csv` with
/// `--output-dir`): the second would write over the first's failed rows.
fn refuse_shared_outputs(
    results: &Path,
    failed: &[PathBuf],
    sources: &[group::SourceInfo],
) -> anyhow::Result<()> {
    let key = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    for (k, path) in failed.iter().enumerate() {
        let input = |k: usize| sources.get(k).map_or("?", |s| s.path.as_str());
        if let Some(earlier) = failed[..k].iter().position(|p| key(p) == key(path)) {
            bail!(
                "the inputs {} and {} would both write their failed rows to {}; submit them in \
                 separate runs, or rename one",
                input(earlier),
                input(k),
                path.display()
            );
        }
        if key(path) == key(results) {
            bail!(
                "the results and the failed rows of {} would both be {}; choose another name \
                 with --results or --failed",
                input(k),
                path.display()
            );
        }
    }
    Ok(())
}

fn sample(timeline: &std::sync::Mutex<Timeline>, second: u64, stats: &Stats, rate: &AdaptiveRate) {
    let requests = stats.all_requests();
    // A poisoned lock only means a sampler panicked mid-push; the samples are still usable.
    let mut t = timeline.lock().unwrap_or_else(|e| e.into_inner());
    t.record(second, requests, rate.throttled());
}

/// What the rate limiter saw over a run.
struct RateSeen {
    throttled: u64,
    peak_per_second: Option<u64>,
}

/// The governor's burst: enough that a worker the timer wakes a millisecond late does not lose
/// its turn (one slot, plus a millisecond's worth at high rates), and no more. Up to 1000/s the
/// limiter's pace spaces requests one slot apart whatever the burst, so that a server counting
/// with a small bucket of its own sees an even pace from the first request; its window keeps
/// any second to `--rate`.
fn burst_for(rate: f64) -> u32 {
    ((rate / 1000.0).ceil() + 1.0).clamp(2.0, 10.0) as u32
}

/// The embedded sandbox: the batch's orders exist, fresh random credentials, VTEX's usual delay.
fn sandbox_config(rows: &[ResultRow]) -> (sandbox::SandboxConfig, Credentials) {
    let orders = rows.iter().map(|r| (r.order_id.clone(), None)).collect();
    let token: String = hex::encode(rand::random::<[u8; 16]>());
    let config = sandbox::SandboxConfig {
        app_key: String::from("vtexappkey-sandbox"),
        app_token: token.clone(),
        orders: sandbox::Orders::Known(orders),
        ..sandbox::SandboxConfig::default()
    };
    (config, Credentials::new("vtexappkey-sandbox", token))
}

/// How a refusal names the earlier send the ledger holds: "accepted earlier", or, for an intent
/// whose outcome a killed run never learnt, "sent earlier, outcome unknown,".
fn sent_earlier(state: ledger::State) -> &'static str {
    match state {
        ledger::State::Accepted => "accepted earlier",
        _ => "sent earlier, outcome unknown,",
    }
}

/// A written output file's canonical path, as the ledger keys it, and its content hash.
fn output_hash(path: &Path) -> std::io::Result<(String, String)> {
    let at = std::fs::canonicalize(path)?;
    let hash = ledger::sha256_hex(&std::fs::read(&at)?);
    Ok((at.to_string_lossy().into_owned(), hash))
}

/// A failed-rows file about to be written over, that a user changed since a run wrote it (its
/// hash is no longer the one the ledger recorded), is renamed aside and named: it may hold
/// fixes not yet submitted (bug: running the original input again wrote over them). A file
/// the ledger never recorded, or a link, is written over as before.
fn keep_if_edited(ledger: &Ledger, path: &Path) {
    let is_file = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file());
    if !is_file {
        return;
    }
    let edited = output_hash(path).ok().and_then(|(at, hash)| {
        let recorded = ledger.written_hash(&at).ok()??;
        (recorded != hash).then_some(())
    });
    if edited.is_none() {
        return;
    }
    let aside = edited_name(path);
    match std::fs::rename(path, &aside) {
        Ok(()) => eprintln!(
            "note: {} was changed since the run that wrote it; your copy is kept as {} \
             (submit it if its fixes are not sent yet), and this run's rows to fix go to {}",
            path.display(),
            aside.display(),
            path.display()
        ),
        Err(e) => eprintln!(
            "warning: {} was changed since the run that wrote it, and can't be kept aside \
             ({e}); it is written over",
            path.display()
        ),
    }
}

/// `x.failed.csv` → `x.failed.edited.csv`, or `x.failed.edited-2.csv` and on, the first free.
fn edited_name(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (1..)
        .map(|n| match n {
            1 => path.with_file_name(format!("{stem}.edited{ext}")),
            n => path.with_file_name(format!("{stem}.edited-{n}{ext}")),
        })
        .find(|p| std::fs::symlink_metadata(p).is_err())
        .unwrap_or_else(|| path.with_file_name(format!("{stem}.edited{ext}")))
}

/// A ledger for one sandbox run: the simulator forgets everything when it stops, so must the ledger.
fn temporary_ledger_path() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    std::env::temp_dir().join(format!(
        "invoice-import-sandbox-{}-{nanos}.sqlite",
        std::process::id()
    ))
}

/// Failed invoices whose reason the summary on the terminal gives.
const FAILURES_SHOWN: usize = 5;

#[allow(clippy::too_many_arguments)]
fn print_summary(
    (mode, decimal_comma): (Mode, bool),
    rows: &[ResultRow],
    unkeyed: usize,
    elapsed: Duration,
    stats: &Stats,
    seen: &RateSeen,
    outputs: Option<(&Path, &[PathBuf])>,
    quiet: bool,
) {
    use std::sync::atomic::Ordering;
    let requests = stats.all_requests();
    let secs = elapsed.as_secs_f64();
    let mut lines = Vec::new();
    let unrecorded = stats.deferred_write_errors.load(Ordering::Relaxed);
    if unrecorded > 0 {
        lines.push(format!(
            "warning: the ledger could not record {unrecorded} acceptances; the next run will look \
             at those orders before sending anything again"
        ));
    }
    // The average of a short run can be above --rate (a burst, and one request more than
    // intervals); the busiest second says what --rate holds.
    let peak = crate::report::summary::peak_phrase(seen.peak_per_second);
    lines.push(format!(
        "{} in {:.1} s: {} ({:.1}/s{peak}), {} throttled (429)",
        mode.counted(rows.len()),
        secs,
        crate::report::counted(requests, "request", "requests"),
        if secs > 0.0 {
            requests as f64 / secs
        } else {
            0.0
        },
        seen.throttled
    ));
    for status in [
        Status::Accepted,
        Status::AlreadyAccepted,
        Status::Invalid,
        Status::Failed,
    ] {
        let of: Vec<&ResultRow> = rows.iter().filter(|r| r.status == status).collect();
        if of.is_empty() && quiet {
            continue;
        }
        let cents: i64 = of
            .iter()
            .filter_map(|r| r.value_cents)
            .fold(0i64, |a, b| a.saturating_add(b));
        let unknown = of.iter().filter(|r| r.value_cents.is_none()).count();
        let value = match (mode, unknown) {
            (Mode::Tracking, _) => String::new(),
            (Mode::Invoices, 0) => format!("  {:>14}", money_in(cents, decimal_comma)),
            (Mode::Invoices, n) if n == of.len() => format!("  {:>14}", "value unknown"),
            (Mode::Invoices, n) => format!(
                "  {:>14}  and {n} of unknown value",
                money_in(cents, decimal_comma)
            ),
        };
        lines.push(format!("  {:<17}{:>7}{value}", status.as_str(), of.len()));
        // Why the first few failed, here and not only in the results file: an invalid
        // invoice's problems were listed before sending, a failure's never were (-v shows each
        // as it comes).
        if status == Status::Failed {
            for row in of.iter().take(FAILURES_SHOWN) {
                lines.push(format!(
                    "    order {}, invoice {}: {}",
                    row.order_id,
                    row.invoice_number,
                    row.error.as_deref().unwrap_or("failed")
                ));
            }
            if of.len() > FAILURES_SHOWN {
                lines.push(format!(
                    "    and {} more: the results file says why each failed",
                    of.len() - FAILURES_SHOWN
                ));
            }
        }
    }
    if unkeyed > 0 {
        lines.push(format!(
            "  {} joined no invoice (no usable order id or invoice number)",
            crate::report::counted(unkeyed as u64, "row", "rows")
        ));
    }
    if let Some((results, failed)) = outputs {
        lines.extend(output_lines(results, failed));
    }
    eprintln!("{}", lines.join("\n"));
}

/// Where a run's results and rows to fix are.
pub(crate) fn output_lines(results: &Path, failed: &[PathBuf]) -> Vec<String> {
    let mut lines = vec![format!("results: {}", results.display())];
    for f in failed {
        lines.push(format!("rows to fix and submit again: {}", f.display()));
    }
    lines
}

/// The files a run writes for programs and people once it is done, by what they are: the
/// summary (unless `-`, stdout) and the report. Checked before anything is sent.
pub(super) fn report_outputs(args: &SubmitArgs) -> Vec<(&'static str, &Path)> {
    let summary = args.summary_json.as_deref().filter(|p| *p != "-");
    [
        ("the summary", summary.map(Path::new)),
        ("the report", args.report.as_deref()),
    ]
    .into_iter()
    .filter_map(|(what, path)| Some((what, path?)))
    .collect()
}

/// Fails when `path` can't be written: its folder is missing, it is a folder, or it can't be
/// opened for writing. Opening to append changes nothing in a file that is there; one the check
/// makes is removed.
pub(super) fn check_writable(what: &str, path: &Path) -> anyhow::Result<()> {
    if path.is_dir() {
        bail!("can't write {what} {}: it is a folder", path.display());
    }
    let existed = path.symlink_metadata().is_ok();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("can't write {what} {}", path.display()))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Waits for Ctrl-C or, on Unix, SIGTERM, and says which came; `None` if neither can be
/// listened for.
async fn interruption() -> Option<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                c = tokio::signal::ctrl_c() => c.ok().map(|()| "interrupted"),
                t = term.recv() => t.map(|()| "terminated (SIGTERM)"),
            },
            Err(_) => tokio::signal::ctrl_c().await.ok().map(|()| "interrupted"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.ok().map(|()| "interrupted")
    }
}
