//! The commands: each turns parsed arguments into a run of the pipeline and an exit code.

pub mod check;
pub mod submit;

use crate::cli::{Cli, Command, InputArgs};
use crate::group::LoadOptions;
use crate::mapping::Field;
use crate::values::date;
use crate::values::money::DecimalSeparator;

/// Exit codes, as documented in `--help`.
pub const EXIT_OK: i32 = 0;
pub const EXIT_PROBLEMS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;
pub const EXIT_INTERRUPTED: i32 = 130;

/// Runs a parsed command line; errors at this edge are printed with their cause chain.
pub fn run(cli: Cli) -> i32 {
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Submit(args) => submit::run(&args, submit::Mode::Invoices),
        Command::Track(args) => submit::run(&args, submit::Mode::Tracking),
        Command::Sandbox(args) => crate::sandbox::run_cli(args).map(|()| EXIT_OK),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            EXIT_ERROR
        }
    }
}

/// The reading options every command shares, from the input flags.
pub fn load_options(input: &InputArgs, required: &[Field]) -> LoadOptions {
    LoadOptions {
        read: crate::source::ReadOptions {
            delimiter: input.delimiter,
            encoding: input.encoding,
            sheet: input.sheet.clone(),
        },
        overrides: input.map.clone(),
        required: required.to_vec(),
        decimal: if input.decimal_comma {
            Some(DecimalSeparator::Comma)
        } else if input.decimal_point {
            Some(DecimalSeparator::Point)
        } else {
            None
        },
        date_format: input.date_format.clone(),
        timezone: input.timezone.unwrap_or_else(date::local_timezone),
    }
}

/// The columns an invoice file must have.
pub const INVOICE_REQUIRED: &[Field] = &[Field::OrderId, Field::InvoiceNumber];
