//! Progress while submitting: an indicatif bar on a terminal (done/total, rate, ETA, accepted and
//! failed so far), a plain log line every few seconds otherwise, nothing with `-q`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::results::Status;

const LOG_EVERY: Duration = Duration::from_secs(5);

pub struct Progress {
    bar: Option<ProgressBar>,
    log: bool,
    started: Instant,
    last_log: Instant,
    total: u64,
    done: u64,
    accepted: u64,
    failed: u64,
}

impl Progress {
    pub fn new(total: u64, quiet: bool) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("{bar:30} {pos}/{len} invoices  {msg}  ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        let now = Instant::now();
        Progress {
            bar,
            log: !quiet && !terminal,
            started: now,
            last_log: now,
            total,
            done: 0,
            accepted: 0,
            failed: 0,
        }
    }

    pub fn record(&mut self, status: Status) {
        self.done += 1;
        match status {
            Status::Accepted | Status::AlreadyAccepted => self.accepted += 1,
            Status::Failed | Status::Invalid => self.failed += 1,
        }
        if let Some(bar) = &self.bar {
            // Position first, then the message, so a redraw never shows more accepted than done.
            bar.inc(1);
            let secs = self.started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "{:.1}/s  accepted {}  failed {}",
                self.done as f64 / secs,
                self.accepted,
                self.failed
            ));
        } else if self.log && self.last_log.elapsed() >= LOG_EVERY {
            self.last_log = Instant::now();
            let secs = self.started.elapsed().as_secs_f64().max(1e-9);
            eprintln!(
                "progress: {}/{} invoices, accepted {}, failed {}, {:.1} invoices/s",
                self.done,
                self.total,
                self.accepted,
                self.failed,
                self.done as f64 / secs
            );
        }
    }

    /// Prints a line without tearing the bar.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
