//! `invoice-import check`: read, group and validate; print what would be sent and what is wrong.

use crate::cli::{CheckArgs, Format};
use crate::cmd::submit::Mode;
use crate::cmd::{EXIT_ERROR, EXIT_OK, EXIT_PROBLEMS, load_options};
use crate::group;
use crate::report::check::CheckReport;
use crate::validate::{self, ValidateOptions};

pub fn run(args: &CheckArgs) -> anyhow::Result<i32> {
    run_mode(args, Mode::Invoices)
}

/// Checks files as `submit` (invoices) or `track` (tracking updates) would read them.
pub fn run_mode(args: &CheckArgs, mode: Mode) -> anyhow::Result<i32> {
    if args.input.files.is_empty() {
        anyhow::bail!("name at least one input file (or `-` for stdin)");
    }
    let opts = load_options(&args.input, &mode.required());
    let mut batch = group::load(&args.input.files, &opts);
    let invoices = std::mem::take(&mut batch.invoices);
    let report = match mode {
        Mode::Invoices => {
            let allow = args.input.allow_shared_invoice_numbers;
            let checked = validate::validate(
                invoices,
                ValidateOptions {
                    allow_shared_invoice_numbers: allow,
                },
            );
            CheckReport::new(&batch, &checked)
        }
        Mode::Tracking => CheckReport::new(&batch, &validate::validate_tracking(invoices)),
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Human => print!("{}", report.human(&batch, args.verbosity)),
    }
    Ok(if !batch.file_errors.is_empty() {
        EXIT_ERROR
    } else if report.invalid_invoices > 0 || !report.row_errors.is_empty() {
        EXIT_PROBLEMS
    } else {
        EXIT_OK
    })
}
