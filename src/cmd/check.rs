//! `invoice-import check`: read, group and validate; print what would be sent and what is wrong.

use rayon::prelude::*;

use crate::cli::{CheckArgs, Format};
use crate::cmd::submit::Mode;
use crate::cmd::{EXIT_ERROR, EXIT_OK, EXIT_PROBLEMS, load_options, write_stdout};
use crate::group;
use crate::report::check::{CheckReport, Tally};
use crate::validate::{self, SharedNumbers};

/// Invoices judged per task: enough to make a task worth sending to another core.
const CHUNK: usize = 4096;
/// Invoices whose items are read ahead together ([`group::Pending::warm`]): a few hundred
/// kilobytes, so they are still in the core's cache when built.
const WARM: usize = 512;

pub fn run(args: &CheckArgs) -> anyhow::Result<i32> {
    run_mode(args, Mode::Invoices)
}

/// Checks files as `submit` (invoices) or `track` (tracking updates) would read them.
pub fn run_mode(args: &CheckArgs, mode: Mode) -> anyhow::Result<i32> {
    if args.input.files.is_empty() {
        anyhow::bail!("name at least one input file (or `-` for stdin)");
    }
    let opts = load_options(&args.input, mode.required());
    // Invoices are built, judged and dropped one at a time: a million-row file's invoices are
    // never all held at once, only the compact store they are built from.
    let (batch, pending) = group::load_for_verdicts(&args.input.files, &opts);
    let tally = |judge: &(dyn Fn(&mut group::Invoice, &mut Tally) + Sync)| -> Vec<Tally> {
        // Chunks of invoices judged on every core, tallied in order. Each chunk builds its
        // invoices over one, reusing its memory.
        let n = pending.len();
        (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut tally = Tally::default();
                let mut invoice = group::Invoice::default();
                let chunk = c * CHUNK..n.min((c + 1) * CHUNK);
                for start in chunk.clone().step_by(WARM) {
                    let part = start..chunk.end.min(start + WARM);
                    pending.warm(part.clone());
                    for i in part {
                        if pending.get_for_verdict_into(i, &mut invoice) {
                            judge(&mut invoice, &mut tally);
                        }
                    }
                }
                tally
            })
            .collect()
    };
    let tallies = match mode {
        Mode::Invoices => {
            let shared = SharedNumbers::find(
                pending.len(),
                |i| pending.key(i),
                validate::ValidateOptions {
                    allow_shared_invoice_numbers: args.input.allow_shared_invoice_numbers,
                },
            );
            tally(&|invoice, t| {
                let value = validate::verdict(invoice, &shared);
                t.add_verdict(invoice, value);
            })
        }
        Mode::Tracking => tally(&|invoice, t| {
            t.add(&validate::validate_tracking_one(std::mem::take(invoice)));
        }),
    };
    let mut report = CheckReport::start(&batch);
    report.valued = mode == Mode::Invoices;
    for t in tallies {
        report.absorb(&batch, t);
    }
    match args.format {
        Format::Json => write_stdout(serde_json::to_string_pretty(&report)? + "\n")?,
        Format::Human => write_stdout(report.human(&batch, args.verbosity))?,
    }
    Ok(if !batch.file_errors.is_empty() {
        EXIT_ERROR
    } else if report.invalid_invoices > 0 || !report.row_errors.is_empty() {
        EXIT_PROBLEMS
    } else {
        EXIT_OK
    })
}
