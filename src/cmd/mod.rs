//! The commands: each turns parsed arguments into a run of the pipeline and an exit code.

pub mod check;
pub mod inbox;
pub mod submit;

use anyhow::Context as _;
use clap::CommandFactory;

use crate::cli::{Cli, Command, ConfigCommand, InputArgs};
use crate::config::{Loaded, Settings};
use crate::group::LoadOptions;
use crate::mapping::Field;
use crate::values::date;
use crate::values::money::DecimalSeparator;

/// Exit codes, as documented in `--help`.
pub const EXIT_OK: i32 = 0;
pub const EXIT_PROBLEMS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;
/// VTEX asked to wait longer than `--max-wait`: nothing was wrong with what was not sent, so a
/// scheduler should run it again later rather than call for a fix (sysexits' EX_TEMPFAIL).
pub const EXIT_TEMPFAIL: i32 = 75;
pub const EXIT_INTERRUPTED: i32 = 130;

/// Writes a command's output to stdout. A reader that stops early (`check | head`) is not an
/// error: the output is simply not wanted any more, and the command's exit code still says how
/// the run went.
pub(crate) fn write_stdout(text: impl AsRef<[u8]>) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_ref()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Runs a parsed command line; errors at this edge are printed with their cause chain.
pub fn run(cli: Cli) -> i32 {
    let result = dispatch(cli);
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            EXIT_ERROR
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    let config = || Loaded::discover(cli.config.as_deref());
    match cli.command {
        Command::Check(mut args) => {
            config()?.apply_input(&mut args.input)?;
            check::run(&args)
        }
        Command::Submit(args) => send(args, config(), submit::Mode::Invoices),
        Command::Track(args) => send(args, config(), submit::Mode::Tracking),
        Command::Sandbox(args) => crate::sandbox::run_cli(args).map(|()| EXIT_OK),
        Command::Config(ConfigCommand::Show(send)) => {
            let loaded = config()?;
            // Every [input] value is checked as a run would check it, so a bad one is found
            // here rather than by the next scheduled run.
            loaded.apply_input(&mut InputArgs::default())?;
            let settings = Settings::resolve(&send, &loaded)?;
            // The target too, as `submit` checks it (bug: an account `evil.com#` or a plain
            // http:// base URL showed as fine here and was refused by the run).
            settings.target.target()?;
            write_stdout(settings.to_string())?;
            Ok(EXIT_OK)
        }
        Command::Completions { shell } => {
            let mut command = Cli::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "invoice-import", &mut script);
            if shell == clap_complete::Shell::Bash {
                // clap_complete names the subcommands' cases after a hyphenated binary as
                // `invoice__subcmd__import__subcmd__submit` but sets `cmd` to
                // `invoice__import__subcmd__submit`, so no subcommand completed
                // (clap-rs/clap#6421).
                script = String::from_utf8_lossy(&script)
                    .replace(
                        "invoice__subcmd__import__subcmd__",
                        "invoice__import__subcmd__",
                    )
                    .into_bytes();
            }
            write_stdout(script)?;
            Ok(EXIT_OK)
        }
        Command::Man { dir: Some(dir) } => {
            if dir.exists() && !dir.is_dir() {
                anyhow::bail!("{} is a file; --dir names a folder", dir.display());
            }
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("can't create {}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), &dir)
                .with_context(|| format!("can't write the man pages to {}", dir.display()))?;
            Ok(EXIT_OK)
        }
        Command::Man { dir: None } => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page)?;
            write_stdout(page)?;
            Ok(EXIT_OK)
        }
    }
}

/// `submit` or `track` with the config `loaded`; a config that can't be loaded still writes the
/// run's `--summary-json` (bug: a scheduler read the previous run's summary).
fn send(
    args: crate::cli::SubmitArgs,
    loaded: Result<Loaded, crate::config::ConfigError>,
    mode: submit::Mode,
) -> anyhow::Result<i32> {
    match loaded {
        Ok(loaded) => submit::run(args, &loaded, mode),
        Err(err) => {
            let err = anyhow::Error::from(err);
            if let Some(path) = &args.summary_json {
                let inputs = Some((&args.input.files[..], args.inbox.as_deref()));
                submit::write_failed_summary(path, mode.command(), inputs, &format!("{err:#}"));
            }
            Err(err)
        }
    }
}

/// The reading options every command shares, from the input flags.
pub fn load_options(input: &InputArgs, (required, needed): (&[Field], &[Field])) -> LoadOptions {
    LoadOptions {
        read: crate::source::ReadOptions {
            delimiter: input.delimiter,
            encoding: input.encoding,
            sheet: input.sheet.clone(),
            header_row: input.header_row,
        },
        overrides: input.map.clone(),
        required: required.to_vec(),
        needed: needed.to_vec(),
        decimal: if input.decimal_comma {
            Some(DecimalSeparator::Comma)
        } else if input.decimal_point {
            Some(DecimalSeparator::Point)
        } else {
            None
        },
        date_format: input.date_format.clone(),
        timezone: input.timezone.unwrap_or_else(date::local_timezone),
        timezone_given: input.timezone.is_some(),
    }
}

/// The columns an invoice file must have.
pub const INVOICE_REQUIRED: &[Field] = &[Field::OrderId, Field::InvoiceNumber];
/// The other columns every invoice needs; with several inputs, one of them may have them.
pub const INVOICE_NEEDED: &[Field] = &[
    Field::IssuanceDate,
    Field::ItemId,
    Field::ItemQuantity,
    Field::ItemPrice,
];
