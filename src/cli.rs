//! Command-line definitions (clap): every flag with its default, and help that ends in examples.
//! Dispatch to the commands lives in [`crate::cmd`]; nothing here does work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::mapping::Override;

const AFTER_HELP: &str = "\
Examples:
  # Try a file end to end on the built-in VTEX simulator (nothing is sent to VTEX):
  invoice-import submit --sandbox samples/invoices-en.csv

  # Check a Brazilian ERP export without sending anything:
  invoice-import check samples/notas-fiscais-br.csv

  # Submit to a real account (credentials from the environment):
  export VTEX_APP_KEY=vtexappkey-mystore-ABCDEF VTEX_APP_TOKEN=...
  invoice-import submit --account mystore --rate 20 invoices.xlsx

  # Scheduled: process an ERP's drop folder every 10 minutes (settings in the config file):
  */10 * * * *  invoice-import --config /etc/invoice-import.toml submit --inbox /srv/erp/out \
                  --summary-json /var/log/invoice-import/last.json --quiet

  # Shell integration:
  invoice-import completions bash > ~/.local/share/bash-completion/completions/invoice-import
  invoice-import man > invoice-import.1

Configuration: --config PATH, else ./invoice-import.toml, else invoice-import/config.toml in the
user's config directory. Flags override the file; a relative path in the file is relative to its
folder. `invoice-import config show` prints the result.

Exit codes:
  0    every invoice valid (check) / accepted or already accepted (submit, track)
  1    some invoice invalid or failed; see the report, the results file and the failed-rows file
  2    usage, configuration or I/O error (unreadable file, missing column, refused target,
       another run holding the ledger or inbox, ...)
  75   VTEX asked to wait longer than --max-wait: the rest was not sent; run again later (the
       ledger sends only what is left)
  130  interrupted (Ctrl-C or SIGTERM): requests in flight settle and the results so far are
       written; a second Ctrl-C aborts at once (the ledger still knows what was sent)";

#[derive(Debug, Parser)]
#[command(
    name = "invoice-import",
    version,
    about = "Get invoice spreadsheets into VTEX OMS, exactly once.",
    long_about = "Reads invoice spreadsheets (CSV, XLSX, XLSM, XLS, ODS), groups rows into one invoice per \
(order id, invoice number), validates them (money in integer cents), and submits them to VTEX's Order \
Management System under a rate limit, exactly once, with a results file and a failed-rows file you can \
fix and feed back in.",
    after_long_help = AFTER_HELP
)]
pub struct Cli {
    /// Config file (TOML) [default: ./invoice-import.toml, else invoice-import/config.toml in the
    /// user's config directory].
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read, group and validate invoice files; send nothing.
    #[command(after_long_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Submit invoices to VTEX OMS (POST .../invoice), exactly once.
    #[command(after_long_help = SUBMIT_EXAMPLES)]
    Submit(SubmitArgs),
    /// Send tracking numbers for invoiced orders (PATCH .../invoice/{invoiceNumber}).
    #[command(
        after_long_help = TRACK_EXAMPLES,
        mut_arg("check_remote", |a| a.hide(true)),
        mut_arg("allow_shared_invoice_numbers", |a| a.hide(true))
    )]
    Track(SubmitArgs),
    /// Run a local VTEX OMS simulator until Ctrl-C.
    Sandbox(crate::sandbox::SandboxArgs),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout, or with --dir write one page per command there
    /// (invoice-import.1, invoice-import-submit.1, ...).
    Man {
        /// Folder to write every command's page to (made if missing).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

const CHECK_EXAMPLES: &str = "\
Examples:
  invoice-import check invoices.csv
  invoice-import check --sheet 'Notas' --timezone America/Sao_Paulo fechamento.xlsx
  invoice-import check --map order_id=Ref --map invoice_number=Ref export.csv
  invoice-import check --header-row 4 --map item_price=#G relatorio-erp.csv
  cat invoices.csv | invoice-import check --format json -

Exit codes: 0 all valid, 1 some invalid, 2 usage or unreadable input.";

const SUBMIT_EXAMPLES: &str = "\
Examples:
  # On the built-in simulator, seeded with the file's orders (nothing reaches VTEX):
  invoice-import submit --sandbox samples/invoices-en.csv

  # Production: credentials come from VTEX_APP_KEY / VTEX_APP_TOKEN, never from flags.
  invoice-import submit --account mystore --rate 20 --concurrency 8 invoices.xlsx

  # A backfill where another system may already have invoiced some orders:
  invoice-import submit --account mystore --check-remote history-2023.csv

  # Fix the failed rows and submit them again (accepted invoices are never resent):
  invoice-import submit --account mystore invoices.failed.csv

  # An ERP drops files into a folder; each is processed once, then moved to processed/ or failed/:
  invoice-import submit --account mystore --inbox /srv/erp/out --settle-ms 5000

  # For machines and finance: a JSON summary, a JSON-lines log and an HTML report:
  invoice-import submit --account mystore --summary-json - --log-file run.jsonl \
      --report run.html invoices.xlsx

Environment: VTEX_APP_KEY, VTEX_APP_TOKEN (credentials); HTTPS_PROXY or ALL_PROXY
(http://[user:password@]host:port) and NO_PROXY for a proxy.

Exit codes: 0 all accepted or already accepted, 1 some invalid or failed, 2 usage, configuration or
I/O error, 130 interrupted.";

const TRACK_EXAMPLES: &str = "\
Examples:
  invoice-import track --sandbox samples/tracking-en.csv
  invoice-import track --account mystore rastreio.xlsx

Columns: order_id, invoice_number, tracking_number (required); tracking_url, courier, dispatched_date.
Environment and exit codes: as for submit.";

/// How to read the input files: shared by every command.
#[derive(Debug, Clone, Default, Args)]
pub struct InputArgs {
    /// Input files: .csv .tsv .txt .xlsx .xlsm .xls .ods; `-` reads CSV from stdin. (Required
    /// unless `submit --inbox DIR`.)
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,

    /// Column mapping profile from the config file ([profiles.NAME]); --map flags win over it.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Workbook sheet to read, hidden or not [default: the first visible sheet with data; the
    /// visible sheets after it and the hidden ones are named in a note, not read, and a
    /// workbook with invoices on several sheets of one layout is refused].
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,

    /// Row number of the header, for a file with a title above it; the rows above are passed
    /// over [default: the first row with anything in it, or, when that is not a header, the
    /// first of the next 20 rows that is].
    #[arg(long, value_name = "N", value_parser = crate::source::parse_header_row)]
    pub header_row: Option<u64>,

    /// CSV delimiter: , ; tab | [default: detected].
    #[arg(long, value_name = "CHAR", value_parser = crate::source::parse_delimiter)]
    pub delimiter: Option<u8>,

    /// CSV encoding: utf-8, windows-1252 (latin1), utf-16le, utf-16be [default: detected].
    #[arg(long, value_name = "NAME", value_parser = crate::source::parse_encoding)]
    pub encoding: Option<&'static encoding_rs::Encoding>,

    /// Map a field to a column header, e.g. --map invoice_value="Valor Total" (repeatable), or
    /// to a column by its place as the spreadsheet shows it, e.g. --map item_price=#6 or
    /// --map item_price=#F (for two columns of one name). One column may feed two fields.
    #[arg(long = "map", value_name = "FIELD=HEADER")]
    pub map: Vec<Override>,

    /// Money uses a decimal comma (1.234,56) [default: inferred per column].
    #[arg(long, conflicts_with = "decimal_point")]
    pub decimal_comma: bool,

    /// Money uses a decimal point (1,234.56) [default: inferred per column].
    #[arg(long)]
    pub decimal_point: bool,

    /// Date format: dd/mm/yyyy, mm/dd/yyyy, yyyy-mm-dd (year first only), or a strftime pattern
    /// like %d.%m.%Y %H:%M [default: inferred per column; dates that all read either way take
    /// the order of the file's other date column, else are day first in a file whose amounts
    /// have a decimal comma. A column with dates against the format, or against each other,
    /// holds back its dates that read either way].
    #[arg(long, value_name = "FORMAT", value_parser = crate::values::date::parse_date_format)]
    pub date_format: Option<crate::values::date::DateFormat>,

    /// Time zone for dates without an offset (IANA name) [default: this machine's zone (TZ,
    /// else the system's), named in a note]. A time that happens twice, when clocks go back, is
    /// read as the first; a skipped midnight is the day's first instant.
    #[arg(long, value_name = "ZONE", value_parser = crate::values::date::parse_timezone)]
    pub timezone: Option<chrono_tz::Tz>,

    /// Allow one invoice number on several orders, in a batch or across runs (normally an error:
    /// VTEX would book two invoices; submit checks its ledger for numbers sent earlier). Numbers
    /// that differ only in leading zeros (000123, 123) are one number.
    #[arg(long)]
    pub allow_shared_invoice_numbers: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    #[command(flatten)]
    pub verbosity: Verbosity,
}

#[derive(Debug, Clone, Copy, Args)]
pub struct Verbosity {
    /// Print less: only problems and the final summary.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more: detected formats, column mapping, ignored columns, each request's outcome.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// Where and how fast to send: the settings a config file can also hold (`config show` prints the
/// effective values).
#[derive(Debug, Clone, Default, Args)]
pub struct SendArgs {
    /// VTEX account name: sends to https://{account}.{environment}.com.br.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["base_url", "sandbox"])]
    pub account: Option<String>,

    /// VTEX environment, with --account [default: vtexcommercestable].
    #[arg(long, value_name = "NAME")]
    pub environment: Option<String>,

    /// Send to this base URL instead (https://…; plain http only to loopback).
    #[arg(long, value_name = "URL", conflicts_with = "sandbox")]
    pub base_url: Option<String>,

    /// Start the built-in VTEX simulator on a loopback port, seeded with the file's orders, and send
    /// there. Nothing reaches VTEX.
    #[arg(long)]
    pub sandbox: bool,

    /// Requests per second, shared by every request (retries and order look-ups included): no
    /// second ever sees more, and requests go at an even pace from the first, not in a burst. VTEX
    /// does not publish this endpoint's limit, so the default is conservative [default: 10].
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,

    /// Requests in flight at once [default: 8].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Seconds to wait for each response [default: 30].
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,

    /// Attempts per request before giving up (429, 408, 5xx, connection errors and timeouts are
    /// retried with backoff; other 4xx are final) [default: 6].
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,

    /// The longest pause a 429's Retry-After may impose. Asked to wait longer, the run stops
    /// sending (nothing is sent early), says when to submit again and exits 75; accepted
    /// invoices are never resent [default: 900].
    #[arg(long, value_name = "SECONDS")]
    pub max_wait: Option<f64>,

    /// After an attempt that VTEX may have applied (a timeout, a dropped connection, a 5xx), how
    /// long the order is looked at, at growing intervals, for the invoice before it is sent
    /// again (which would replace its receipt, not book it twice). Raise it for an account
    /// slow to show new invoices [default: 6].
    #[arg(long, value_name = "SECONDS")]
    pub look_for: Option<f64>,

    /// Ledger database that makes runs exactly-once [default: one per account in the user's data
    /// directory, however the account's URL is spelled].
    #[arg(long, value_name = "PATH")]
    pub ledger: Option<PathBuf>,

    /// Folder for the results and failed-rows files, made if missing [default: beside each
    /// input].
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// Write CSVs without the UTF-8 byte-order mark (by default it is there so Excel shows accents).
    #[arg(long)]
    pub no_bom: bool,

    /// Results CSV delimiter: `,` (amounts 1234.56) or `;` (amounts 1234,56, as Excel opens CSVs
    /// where the comma is the decimal separator) [default: `;` when the first input is a `;` CSV
    /// or writes amounts with a decimal comma, else `,`]
    #[arg(long, value_name = "CHAR", value_parser = crate::report::results::ResultsDelimiter::parse)]
    pub results_delimiter: Option<crate::report::results::ResultsDelimiter>,
}

#[derive(Debug, Clone, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub send: SendArgs,

    /// Look at each order on VTEX before its first POST, and skip invoices already there (for
    /// backfills where another system may have invoiced some orders); one there with its
    /// number written with other leading zeros (000123 for 123) is not sent either.
    #[arg(long)]
    pub check_remote: bool,

    /// Results CSV [default: <first input>.results.csv beside it; track: .tracking-results.csv].
    #[arg(long, value_name = "PATH")]
    pub results: Option<PathBuf>,

    /// Failed-rows file; only with one input [default: <input>.failed.csv beside each input,
    /// .failed.xlsx for workbooks; track: .tracking-failed.csv].
    #[arg(long, value_name = "PATH")]
    pub failed: Option<PathBuf>,

    /// Send nothing if any invoice is invalid.
    #[arg(long)]
    pub strict: bool,

    /// Only check the files (the same as `invoice-import check`); sends and writes nothing, so
    /// it refuses the flags that name outputs (--summary-json, --log-file, --report, --results,
    /// --failed, --output-dir) or need a run that sends (--inbox, and the like).
    #[arg(long)]
    pub dry_run: bool,

    /// Write a JSON summary of the run (run id, inputs, counts and money per status, duration,
    /// rate, 429s, a per-second timeline, exit code) to PATH, or to stdout with `-`.
    #[arg(long, value_name = "PATH")]
    pub summary_json: Option<String>,

    /// Append one JSON object per event (run start, each outcome, run end) to PATH.
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,

    /// Write a self-contained HTML report (totals, failures by reason, request rate and 429s over
    /// time) to PATH. With --inbox, each file's report goes beside it and PATH gets the last's.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,

    /// Process every file in DIR (oldest first) exactly once, then move each to DIR/processed/ or
    /// DIR/failed/ with its results and failed-rows files (so --results, --failed and
    /// --output-dir are refused; a file refused whole also gets <name>.errors.txt saying why). A file with failures dropped again is run again; when VTEX
    /// stops a run, its file and those after it stay for the next. Give DIR instead of files.
    #[arg(long, value_name = "DIR")]
    pub inbox: Option<PathBuf>,

    /// With --inbox: a file counts as fully written when its size and modification time have not
    /// changed for this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub settle_ms: u64,

    #[command(flatten)]
    pub verbosity: Verbosity,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective settings (flags > environment > config file > defaults), secrets masked.
    Show(SendArgs),
}

/// Parses arguments, runs the command, returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // A flag refused (a bad --timezone, a misspelt option) stops a `submit` or `track`
            // run before it is one; its --summary-json still says so, or a scheduler would
            // read the previous run's.
            // Lossily: `std::env::args` panics on a word that is not UTF-8.
            let words: Vec<String> = std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            if err.use_stderr()
                && let Some((command, path)) = summary_json_of(words.iter().skip(1).cloned())
            {
                let rendered = err.to_string();
                let first = rendered.lines().next().unwrap_or_default();
                let message = first.strip_prefix("error: ").unwrap_or(first);
                let (files, inbox) = inputs_of(words);
                crate::cmd::submit::write_failed_summary(
                    &path,
                    command,
                    Some((&files, inbox.as_deref())),
                    message,
                );
            }
            err.exit()
        }
    };
    crate::cmd::run(cli)
}

/// The input files and inbox of a command line clap refused: the words it refused (a flag it
/// does not know, a flag and the value it could not read) are taken out, a few times over, until
/// the rest parses (a scheduler's summary then names them, not `null`).
fn inputs_of(mut words: Vec<String>) -> (Vec<String>, Option<PathBuf>) {
    use clap::error::{ContextKind, ContextValue};
    for _ in 0..5 {
        let err = match Cli::try_parse_from(&words) {
            Ok(Cli {
                command: Command::Submit(a) | Command::Track(a),
                ..
            }) => return (a.input.files, a.inbox),
            Ok(_) => break,
            Err(err) => err,
        };
        let context = |kind| match err.get(kind) {
            Some(ContextValue::String(s)) => Some(s.clone()),
            _ => None,
        };
        // "--timezone <ZONE>" names the flag "--timezone"; an unknown one is the word itself.
        let Some(flag) = context(ContextKind::InvalidArg)
            .and_then(|a| a.split_whitespace().next().map(String::from))
        else {
            break;
        };
        let value = context(ContextKind::InvalidValue);
        let Some(at) = words
            .iter()
            .position(|w| *w == flag || w.starts_with(&format!("{flag}=")))
        else {
            break;
        };
        // A flag it does not know may have had a value: the next word, unless it is a file.
        let with_value = match value {
            Some(v) => words.get(at + 1) == Some(&v),
            None => words
                .get(at + 1)
                .is_some_and(|w| !w.starts_with('-') && !std::path::Path::new(w).exists()),
        };
        words.drain(at..=at + usize::from(with_value));
    }
    (Vec::new(), None)
}

/// The command (`submit` or `track`) and `--summary-json` path of a command line clap refused,
/// read from its words as given.
fn summary_json_of(args: impl Iterator<Item = String>) -> Option<(&'static str, String)> {
    let args: Vec<String> = args.collect();
    let command = args.iter().find_map(|a| match a.as_str() {
        "submit" => Some("submit"),
        "track" => Some("track"),
        _ => None,
    })?;
    let path = args.iter().enumerate().find_map(|(i, a)| {
        if a == "--summary-json" {
            args.get(i + 1).cloned()
        } else {
            a.strip_prefix("--summary-json=").map(String::from)
        }
    })?;
    Some((command, path))
}
