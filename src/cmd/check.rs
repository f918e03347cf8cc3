//! `invoice-import check`: read, group and validate; print what would be sent and what is wrong.

use crate::cli::{CheckArgs, Format};
use crate::cmd::{EXIT_ERROR, EXIT_OK, EXIT_PROBLEMS, INVOICE_REQUIRED, load_options};
use crate::group;
use crate::report::check::CheckReport;
use crate::validate::{self, ValidateOptions};

pub fn run(args: &CheckArgs) -> anyhow::Result<i32> {
    let opts = load_options(&args.input, INVOICE_REQUIRED);
    let mut batch = group::load(&args.input.files, &opts);
    let invoices = std::mem::take(&mut batch.invoices);
    let checked = validate::validate(
        invoices,
        ValidateOptions { allow_shared_invoice_numbers: args.input.allow_shared_invoice_numbers },
    );
    let report = CheckReport::new(&batch, &checked);
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
