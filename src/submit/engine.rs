//! The scheduler: many workers, one queue of jobs, one channel of outcomes. Each job is one
//! invoice (POST) or one tracking update (PATCH), carried from intent to a final outcome:
//!
//! ```text
//! [look at the order?] → record intent → permit → send ─ok→ record accepted
//!                                                     └err→ retry policy:
//!                              StopRun (401/403) → stop everything
//!                              GiveUp            → failed (left as an intent when it may have applied)
//!                              Retry             → wait; look at the order first when it may have applied
//! ```
//!
//! Posting an invoice twice is not harmless at VTEX (a re-post replaces the receipt; the same
//! invoice under another number moves money), so a POST is never repeated blindly: after any
//! outcome where it may have been applied, the order is looked at first, a few times, spaced, to
//! allow for VTEX's propagation delay. A PATCH of tracking sets the same values again, so it is
//! simply retried.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::ledger::{self, Ledger};
use crate::report::results::Status;
use crate::submit::rate::AdaptiveRate;
use crate::submit::retry::{RetryAction, RetryPolicy};
use crate::vtex::api::{InvoiceRequest, Json, TrackingRequest};
use crate::vtex::client::{CallError, Client};

/// Most jobs a worker takes at once (see [`Engine::chunk_len`]).
const MAX_CHUNK: usize = 8;
/// How far ahead of its sending an intent may be recorded, in time at the current rate.
const AHEAD: Duration = Duration::from_millis(100);

/// The environment variable that arms a [`crash_point`].
pub const CRASH_AT_ENV: &str = "INVOICE_IMPORT_CRASH_AT";

/// A test hook for the crash matrix (tests/matrix.rs). With `INVOICE_IMPORT_CRASH_AT=<point>:<n>`
/// set, the process aborts the n-th time (counting from one) any task passes the named point,
/// as `kill -9` would: no destructors, no flushes. Unset or malformed, it does nothing.
///
/// The points: `after-intent` (intent committed, no permit yet), `before-post` (permit held,
/// request not yet written), `after-response` (VTEX answered 200, the outcome not yet in the
/// ledger), `results-append` (an outcome about to be appended to the results file).
pub fn crash_point(point: &str) {
    static PLAN: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static PASSED: AtomicU64 = AtomicU64::new(0);
    let plan = PLAN.get_or_init(|| {
        let value = std::env::var(CRASH_AT_ENV).ok()?;
        let (name, n) = value.rsplit_once(':')?;
        Some((name.to_string(), n.parse().ok()?))
    });
    if let Some((name, n)) = plan
        && name == point
        && PASSED.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        eprintln!("{CRASH_AT_ENV}: aborting at {point} #{n}");
        std::process::abort();
    }
}

/// What to send, serialized once (see [`Json`]).
#[derive(Debug, Clone)]
pub enum Op {
    Invoice(Json<InvoiceRequest>),
    Tracking(Json<TrackingRequest>),
}

/// One unit of work: an invoice or a tracking update, with what the ledger knew of it.
#[derive(Debug, Clone)]
pub struct Job {
    /// Position in the input, carried to the outcome.
    pub index: usize,
    pub key: ledger::Key,
    pub fingerprint: String,
    pub value_cents: i64,
    pub op: Op,
    /// The ledger shows an intent without an outcome: a run was killed mid-request.
    pub unresolved_intent: bool,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub index: usize,
    pub status: Status,
    pub http_status: Option<u16>,
    pub receipt: Option<String>,
    /// Requests sent for this job (POST or PATCH; order look-ups not counted).
    pub attempts: u32,
    pub error: Option<String>,
}

/// The engine's knobs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub concurrency: usize,
    pub policy: RetryPolicy,
    /// Look at each order before the first POST of its invoice.
    pub check_remote: bool,
    /// Pauses before each look at an order after an uncertain outcome; their sum should exceed
    /// VTEX's propagation delay (a newly accepted invoice can take seconds to show).
    pub looks: Vec<Duration>,
    /// The longest Retry-After waited out; a longer one stops the run ([`StopReason::Throttled`]).
    pub max_wait: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            concurrency: 8,
            policy: RetryPolicy::default(),
            check_remote: false,
            looks: looks_over(Duration::from_secs(6)),
            max_wait: Duration::from_secs(900),
        }
    }
}

/// Pauses before each look at an order, over `total`: at once, then 1 s, 2 s, 4 s… later, the
/// last cut to end at `total` (6 s: 0, 1, 2, 3; 30 s: 0, 1, 2, 4, 8, 15).
pub fn looks_over(total: Duration) -> Vec<Duration> {
    let mut looks = vec![Duration::ZERO];
    let (mut spent, mut next) = (Duration::ZERO, Duration::from_secs(1));
    while spent < total {
        let pause = next.min(total - spent);
        looks.push(pause);
        spent += pause;
        next *= 2;
    }
    looks
}

/// Counters the summary reports.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub lookups: AtomicU64,
    /// Outcome writes the ledger refused; their intents stay, so the next run looks first.
    pub deferred_write_errors: AtomicU64,
}

impl Stats {
    /// Every request made so far: sends and order look-ups, as the rate limit counts them.
    pub fn all_requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed) + self.lookups.load(Ordering::Relaxed)
    }
}

/// Why the run stopped taking work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    Interrupted,
    Auth(String),
    /// A 429 asked for a longer pause than `--max-wait`.
    Throttled(String),
}

/// Shared by the workers and whoever may stop them (Ctrl-C, an auth failure).
#[derive(Debug, Default)]
pub struct Stopper {
    stopped: AtomicBool,
    reason: Mutex<Option<StopReason>>,
    /// Wakes whoever waits in [`Stopper::wait`].
    notify: tokio::sync::Notify,
}

impl Stopper {
    pub fn stop(&self, reason: StopReason) {
        if let Ok(mut r) = self.reason.lock() {
            r.get_or_insert(reason);
        }
        self.stopped.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Returns once the run is stopped (at once if it is).
    pub async fn wait(&self) {
        loop {
            // Made before the flag is read: `notify_waiters` wakes every `Notified` that
            // exists, polled or not, so a stop between the two is not missed.
            let notified = self.notify.notified();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }

    /// Waits for `wait` unless the run stops first (or is stopped already): whether `wait`
    /// ended. Every wait of a job (a rate slot, a pause between attempts or looks) goes
    /// through here, so a stop never sits out a pause.
    pub async fn unless_stopped(&self, wait: impl std::future::Future<Output = ()>) -> bool {
        tokio::select! {
            biased;
            () = self.wait() => false,
            () = wait => true,
        }
    }

    pub fn reason(&self) -> Option<StopReason> {
        self.reason.lock().ok().and_then(|r| r.clone())
    }
}

pub struct Engine {
    pub client: Client,
    pub ledger: Ledger,
    pub rate: Arc<AdaptiveRate>,
    pub config: EngineConfig,
    pub stopper: Arc<Stopper>,
    pub stats: Arc<Stats>,
}

/// What a look at the order found.
enum Look {
    Found {
        value: i64,
    },
    Absent,
    /// Not there, but the order has the number with other leading zeros (`000123` for `123`):
    /// sending would book one invoice twice.
    WrittenOtherwise {
        number: String,
        value: i64,
    },
    OrderNotFound,
    /// The run stopped (Ctrl-C) before the look was done: nothing more is asked of VTEX.
    Stopped,
}

impl Engine {
    /// Runs every job, sending each outcome down `outcomes` as it happens. Jobs not started when
    /// the run stops come back as `failed`, "not sent".
    pub async fn run(self: Arc<Self>, jobs: Vec<Job>, outcomes: mpsc::UnboundedSender<Outcome>) {
        let queue = Arc::new(Mutex::new(VecDeque::from(jobs)));
        let workers = self.config.concurrency.max(1);
        let mut handles = Vec::with_capacity(workers);
        for _ in 0..workers {
            let engine = Arc::clone(&self);
            let queue = Arc::clone(&queue);
            let outcomes = outcomes.clone();
            handles.push(tokio::spawn(async move {
                loop {
                    if engine.stopper.is_stopped() {
                        break;
                    }
                    let chunk: Vec<Job> = match queue.lock() {
                        Ok(mut q) => {
                            let n = engine.chunk_len(q.len(), workers);
                            q.drain(..n).collect()
                        }
                        Err(_) => Vec::new(),
                    };
                    if chunk.is_empty() {
                        break;
                    }
                    let ahead = engine.record_intents_ahead(&chunk).await;
                    let mut jobs = chunk.into_iter().zip(ahead);
                    while let Some((job, recorded)) = jobs.next() {
                        if engine.stopper.is_stopped() {
                            // Not started: back to the queue with the rest of the chunk, to be
                            // reported with the reason the run stopped (see `give_back`).
                            let rest = std::iter::once((job, recorded)).chain(jobs);
                            engine.give_back(&queue, rest).await;
                            break;
                        }
                        let outcome = engine.process(&job, recorded).await;
                        if outcomes.send(outcome).is_err() {
                            return;
                        }
                    }
                }
            }));
        }
        for handle in handles {
            // A worker that panicked has lost only its current job, which then shows as not sent.
            let _ = handle.await;
        }
        // Acceptances recorded in the background (see `record_accepted_later`) land before the
        // run reports; any that failed leave intents, which the next run looks up.
        let barrier_failed = u64::from(self.ledger.settle().await.is_err());
        self.stats.deferred_write_errors.store(
            self.ledger.detached_failures() + barrier_failed,
            Ordering::Relaxed,
        );
        let reason = self.not_sent();
        let rest: Vec<Job> = match queue.lock() {
            Ok(mut q) => q.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        for job in rest {
            let _ = outcomes.send(Outcome {
                index: job.index,
                status: Status::Failed,
                http_status: None,
                receipt: None,
                attempts: 0,
                error: Some(reason.clone()),
            });
        }
    }

    /// How many jobs a worker takes from a queue of `queued`: several when the queue is long,
    /// so their intents share one ledger write (one commit, one wake-up) instead of one each;
    /// one near the end, so the last jobs still spread over all workers. Intents recorded
    /// ahead are sent within about [`AHEAD`] at the current rate: a crash leaves few of them,
    /// each looked up on the order before the next run sends it.
    fn chunk_len(&self, queued: usize, workers: usize) -> usize {
        let workers = workers.max(1);
        // Saturating: an unlimited rate gives usize::MAX, a NaN gives 0.
        let by_rate = (self.rate.current_rate() * AHEAD.as_secs_f64() / workers as f64) as usize;
        let by_queue = queued / (workers * 2);
        by_rate.min(by_queue).clamp(1, MAX_CHUNK).min(queued)
    }

    /// Records, in one ledger write, the intents of the jobs in `chunk` that go straight to
    /// sending; a job that needs a look at the order first records its own when it gets there.
    /// One entry per job: `Some(answer)` for those recorded here.
    async fn record_intents_ahead(
        &self,
        chunk: &[Job],
    ) -> Vec<Option<Result<(), ledger::LedgerError>>> {
        let mut ahead: Vec<Option<Result<(), ledger::LedgerError>>> = vec![None; chunk.len()];
        let straight: Vec<usize> = (0..chunk.len())
            .filter(|&i| chunk.get(i).is_some_and(|job| !self.looks_first(job)))
            .collect();
        if straight.len() < 2 {
            return ahead; // nothing to share
        }
        let intents = straight
            .iter()
            .filter_map(|&i| chunk.get(i))
            .map(|job| ledger::Intent {
                key: job.key.clone(),
                fingerprint: job.fingerprint.clone(),
                value_cents: job.value_cents,
            })
            .collect();
        match self.ledger.record_intents(intents).await {
            Ok(answers) => {
                for (i, answer) in straight.into_iter().zip(answers) {
                    if let Some(slot) = ahead.get_mut(i) {
                        *slot = Some(answer);
                    }
                }
            }
            Err(e) => {
                for i in straight {
                    if let Some(slot) = ahead.get_mut(i) {
                        *slot = Some(Err(e.clone()));
                    }
                }
            }
        }
        ahead
    }

    /// Puts jobs a stopped run will not send back in the queue, to be reported as not sent.
    /// An intent recorded ahead for one is closed as failed first, so the next run sends it
    /// without a look; should that write fail, the intent stays and the next run looks first.
    async fn give_back(
        &self,
        queue: &Mutex<VecDeque<Job>>,
        jobs: impl Iterator<Item = (Job, Option<Result<(), ledger::LedgerError>>)>,
    ) {
        let mut back = Vec::new();
        for (job, recorded) in jobs {
            if let Some(Ok(())) = recorded {
                let _ = self
                    .ledger
                    .record_failed(&job.key, "not sent: the run stopped")
                    .await;
            }
            back.push(job);
        }
        if let Ok(mut q) = queue.lock() {
            for job in back.into_iter().rev() {
                q.push_front(job);
            }
        }
    }

    /// Why a job the run did not start is not sent: the reason the run stopped.
    fn not_sent(&self) -> String {
        match self.stopper.reason() {
            Some(StopReason::Auth(msg) | StopReason::Throttled(msg)) => {
                format!("not sent: the run stopped because {msg}")
            }
            _ => String::from("not sent: the run was interrupted; submit the file again"),
        }
    }

    /// Whether the job starts with a look at the order (an intent a killed run left, or
    /// `--check-remote`) instead of its intent.
    fn looks_first(&self, job: &Job) -> bool {
        matches!(job.op, Op::Invoice(_)) && (job.unresolved_intent || self.config.check_remote)
    }

    /// `recorded`: the answer of the intent [`Engine::record_intents_ahead`] wrote for it.
    async fn process(
        &self,
        job: &Job,
        recorded: Option<Result<(), ledger::LedgerError>>,
    ) -> Outcome {
        let mut outcome = Outcome {
            index: job.index,
            status: Status::Failed,
            http_status: None,
            receipt: None,
            attempts: 0,
            error: None,
        };
        match self.try_process(job, &mut outcome, recorded).await {
            Ok(()) => {}
            Err(ledger_error) => {
                // The ledger could not record: stop sending, since exactly-once can't be kept.
                outcome.status = Status::Failed;
                outcome.error = Some(format!("ledger error, run stopped: {ledger_error}"));
                self.stopper.stop(StopReason::Interrupted);
            }
        }
        outcome
    }

    async fn try_process(
        &self,
        job: &Job,
        out: &mut Outcome,
        mut recorded: Option<Result<(), ledger::LedgerError>>,
    ) -> Result<(), ledger::LedgerError> {
        let is_invoice = matches!(job.op, Op::Invoice(_));
        // Before the first POST: a killed run may have sent it, or (with --check-remote) another
        // system may have. A tracking PATCH is idempotent and needs no look.
        let mut look_first = self.looks_first(job);
        let mut uncertain = job.unresolved_intent;
        // The ledger records an outcome only against an intent; a look can settle a job before
        // any intent of this run, so one is written first then.
        let mut has_intent = job.unresolved_intent;
        let mut streak_429 = 0u32;
        // Whether the order was looked at, after an attempt that may have been applied, and
        // did not show the invoice: what is sent next may be a second time.
        let mut sent_again = false;
        loop {
            if look_first {
                let looks: Vec<Duration> = if uncertain {
                    self.config.looks.clone()
                } else {
                    vec![Duration::ZERO]
                };
                match self.look(job, &looks).await {
                    Ok(Look::Found { value }) if value == job.value_cents => {
                        self.ensure_intent(job, &mut has_intent).await?;
                        self.ledger.record_accepted(&job.key, "").await?;
                        out.status = if uncertain {
                            Status::Accepted
                        } else {
                            Status::AlreadyAccepted
                        };
                        out.error = Some(String::from(if uncertain {
                            "the order already shows this invoice (an earlier attempt was applied); not sent again"
                        } else {
                            "the order already has this invoice on VTEX; not sent"
                        }));
                        return Ok(());
                    }
                    Ok(Look::Found { value }) => {
                        let msg = format!(
                            "the order already has invoice {} with value {} on VTEX, not {}; not sent \
                             (sending it would replace the receipt but not the value)",
                            job.key.invoice_number,
                            crate::report::money_plain(value),
                            crate::report::money_plain(job.value_cents)
                        );
                        self.record_look_conflict(job, &mut has_intent).await?;
                        out.error = Some(msg);
                        return Ok(());
                    }
                    Ok(Look::WrittenOtherwise { number, value }) => {
                        let msg = format!(
                            "the order already has invoice {number} (value {}) on VTEX: this \
                             invoice's number with other leading zeros, which VTEX would book as \
                             a second invoice; not sent (if they are two invoices, number them \
                             apart)",
                            crate::report::money_plain(value)
                        );
                        self.record_look_conflict(job, &mut has_intent).await?;
                        out.error = Some(msg);
                        return Ok(());
                    }
                    Ok(Look::OrderNotFound) => {
                        let msg = format!("order {} not found on VTEX (404)", job.key.order_id);
                        if !uncertain {
                            self.record_look_failed(job, &mut has_intent, &msg).await?;
                        }
                        out.http_status = Some(404);
                        out.error = Some(msg);
                        return Ok(());
                    }
                    Ok(Look::Absent) => sent_again |= uncertain,
                    Ok(Look::Stopped) => {
                        out.error = Some(String::from(if uncertain {
                            "not sent again: the run stopped before the order was looked at, and \
                             an earlier attempt may have been applied; the next run will look at \
                             the order first"
                        } else {
                            "not sent: the run stopped"
                        }));
                        return Ok(());
                    }
                    Err(err) => {
                        out.http_status = err.status();
                        out.error = Some(format!(
                            "could not look at the order to rule out a duplicate ({err}); not sent{}",
                            if uncertain {
                                "; the next run will look again"
                            } else {
                                ""
                            }
                        ));
                        if err.is_auth() {
                            self.stop_auth(&err);
                        }
                        return Ok(());
                    }
                }
            }

            if self.stopper.is_stopped() {
                if let Some(Ok(())) = recorded {
                    // Recorded ahead and never sent: closed, so the next run sends it at once.
                    self.ledger
                        .record_failed(&job.key, "not sent: the run stopped")
                        .await?;
                }
                out.error = Some(String::from("not sent: the run stopped"));
                return Ok(());
            }
            match recorded.take() {
                Some(answer) => answer?,
                None => {
                    self.ledger
                        .record_intent(&job.key, &job.fingerprint, job.value_cents)
                        .await?
                }
            }
            has_intent = true;
            crash_point("after-intent");
            // A slot may be seconds away at a low rate, or minutes in a 429 pause: a stop
            // meanwhile (Ctrl-C) sends nothing more, since this request is not in flight yet.
            let slot = self.stopper.unless_stopped(self.rate.acquire()).await;
            if !slot || self.stopper.is_stopped() {
                if uncertain {
                    // An earlier attempt may have been applied: the intent stays, and the next
                    // run looks at the order first.
                    out.error = Some(String::from(
                        "not sent again: the run stopped, and an earlier attempt may have been \
                         applied; the next run will look at the order first",
                    ));
                } else {
                    // Closed as not sent, so the next run sends it at once.
                    let reason = self.not_sent();
                    self.ledger.record_failed(&job.key, &reason).await?;
                    out.error = Some(reason);
                }
                return Ok(());
            }
            crash_point("before-post");
            out.attempts += 1;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let result = match &job.op {
                Op::Invoice(body) => self.client.post_invoice_json(&job.key.order_id, body).await,
                Op::Tracking(body) => {
                    self.client
                        .patch_tracking_json(&job.key.order_id, &job.key.invoice_number, body)
                        .await
                }
            };
            let err = match result {
                Ok(receipt) => {
                    crash_point("after-response");
                    self.rate.on_success();
                    self.record_accepted_later(&job.key, &receipt.receipt);
                    out.status = Status::Accepted;
                    out.http_status = Some(200);
                    out.receipt = Some(receipt.receipt);
                    out.error = sent_again.then(|| {
                        format!(
                            "sent after looking: an earlier attempt, or a run that stopped, may \
                             have sent it, and the order did not show it within {} s \
                             (--look-for); had it been applied, this receipt replaced that one, \
                             and the money is not booked twice",
                            self.config.looks.iter().sum::<Duration>().as_secs_f64()
                        )
                    });
                    return Ok(());
                }
                Err(err) => err,
            };
            out.http_status = err.status();
            self.note_throttling(&err, &mut streak_429);
            let may_have_applied = is_invoice && err.may_have_applied();
            uncertain |= may_have_applied;
            match self
                .config
                .policy
                .decide(&err, out.attempts, streak_429, rand::random::<f64>())
            {
                RetryAction::StopRun => {
                    self.stop_auth(&err);
                    self.ledger
                        .record_failed(&job.key, &err.to_string())
                        .await?;
                    out.error = Some(err.to_string());
                    return Ok(());
                }
                RetryAction::GiveUp => {
                    if uncertain {
                        // Left as an intent in the ledger: the next run looks before sending.
                        out.error = Some(format!(
                            "{err}; gave up after {} attempts and VTEX may have applied it: the next \
                             run will look at the order before sending again",
                            out.attempts
                        ));
                    } else {
                        let msg = self.describe_final(job, &err);
                        self.ledger.record_failed(&job.key, &msg).await?;
                        out.error = Some(msg);
                    }
                    return Ok(());
                }
                RetryAction::Retry { .. } if self.throttled_out() => {
                    // Not applied (a 429), so nothing to look for: the next run sends it.
                    let msg = format!("{err}; not sent again: the run stopped, see its summary");
                    if !uncertain {
                        self.ledger.record_failed(&job.key, &msg).await?;
                    }
                    out.error = Some(msg);
                    return Ok(());
                }
                RetryAction::Retry {
                    after,
                    reconcile_first,
                } => {
                    out.error = Some(err.to_string());
                    // A stop cuts the pause short; the loop then ends the job (after a look,
                    // when the last attempt may have been applied).
                    self.stopper.unless_stopped(tokio::time::sleep(after)).await;
                    look_first = is_invoice && (reconcile_first || uncertain);
                }
            }
        }
    }

    /// Tells the limiter about a 429 and keeps `streak` = 429s in a row without `Retry-After`,
    /// which the retry policy turns into VTEX's suggested long pause. Any other answer ends the
    /// streak; a 429 that says how long to wait neither adds to it nor ends it.
    ///
    /// A Retry-After above `max_wait` stops the run instead: the limiter is not told to pause for
    /// it, so no worker sleeps through it, and no request is sent before it has passed.
    fn note_throttling(&self, err: &CallError, streak: &mut u32) {
        if err.status() == Some(429) {
            if let Some(wait) = err.retry_after().filter(|w| *w > self.config.max_wait) {
                self.rate.count_throttled();
                let resume = chrono::Local::now()
                    + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                self.stopper.stop(StopReason::Throttled(format!(
                    "VTEX asked to wait {} s before more requests (Retry-After), longer than \
                     --max-wait {} s; submit the file again after {} (accepted invoices are never \
                     resent)",
                    wait.as_secs(),
                    self.config.max_wait.as_secs(),
                    resume.format("%Y-%m-%d %H:%M:%S")
                )));
                return;
            }
            self.rate.on_throttled(err.retry_after());
            if err.retry_after().is_none() {
                *streak += 1;
            }
        } else {
            *streak = 0;
        }
    }

    /// Records an acceptance without holding the worker for its fsync. The intent was made durable
    /// before the request; should the process die before this write lands, the next run finds
    /// the intent, looks at the order, finds the invoice there and records it then. So nothing
    /// can be sent twice, and each request costs one fsync on its critical path instead of two.
    fn record_accepted_later(&self, key: &ledger::Key, receipt: &str) {
        self.ledger
            .record_accepted_detached(key.clone(), receipt.to_string());
    }

    async fn ensure_intent(
        &self,
        job: &Job,
        has_intent: &mut bool,
    ) -> Result<(), ledger::LedgerError> {
        if !*has_intent {
            self.ledger
                .record_intent(&job.key, &job.fingerprint, job.value_cents)
                .await?;
            *has_intent = true;
        }
        Ok(())
    }

    /// Records `job` failed for what a look at its order found, with an intent first if it
    /// has none (the ledger records an outcome only against one).
    async fn record_look_failed(
        &self,
        job: &Job,
        has_intent: &mut bool,
        msg: &str,
    ) -> Result<(), ledger::LedgerError> {
        self.ensure_intent(job, has_intent).await?;
        self.ledger.record_failed(&job.key, msg).await
    }

    /// Leaves `job` as an intent in the ledger, made if it has none, for a look that found its
    /// invoice on the order in another form (another value, or its number with other leading
    /// zeros): the next run looks at the order before sending it, as it does after an attempt
    /// that may have been applied. Bug (found by a review): recorded as failed, the next run
    /// sent it without a look, and VTEX booked it twice or kept a receipt the tool replaced.
    async fn record_look_conflict(
        &self,
        job: &Job,
        has_intent: &mut bool,
    ) -> Result<(), ledger::LedgerError> {
        self.ensure_intent(job, has_intent).await
    }

    fn describe_final(&self, job: &Job, err: &CallError) -> String {
        match (&job.op, err.status()) {
            (Op::Tracking(_), Some(404)) => format!(
                "{err}: invoice {} is not on order {} (or the order does not exist); submit the \
                 invoice first",
                job.key.invoice_number, job.key.order_id
            ),
            _ => err.to_string(),
        }
    }

    /// Whether a Retry-After past `--max-wait` has stopped the run.
    fn throttled_out(&self) -> bool {
        matches!(self.stopper.reason(), Some(StopReason::Throttled(_)))
    }

    fn stop_auth(&self, err: &CallError) {
        let what = if err.status() == Some(403) {
            "VTEX answered 403: the app key lacks permission (OMS 'Notify invoice')"
        } else {
            "VTEX answered 401: the app key or token is wrong (check VTEX_APP_KEY and VTEX_APP_TOKEN)"
        };
        self.stopper.stop(StopReason::Auth(what.to_string()));
    }

    /// Looks at the order up to `looks.len()` times (after each pause) for the job's invoice.
    async fn look(&self, job: &Job, looks: &[Duration]) -> Result<Look, CallError> {
        let mut other = None;
        for pause in looks {
            // A stop ends the look: Ctrl-C means nothing more goes to VTEX, look-ups included
            // (bug: they went on for seconds after it).
            // A run already stopped ends here, whatever the pause.
            if !self
                .stopper
                .unless_stopped(tokio::time::sleep(*pause))
                .await
            {
                return Ok(Look::Stopped);
            }
            let order = match self.get_order(&job.key.order_id).await {
                Ok(Some(order)) => order,
                Ok(None) => return Ok(Look::Stopped),
                Err(err) if err.status() == Some(404) => return Ok(Look::OrderNotFound),
                Err(err) => return Err(err),
            };
            if let Some(p) = order.invoice(&job.key.invoice_number) {
                return Ok(Look::Found {
                    value: p.invoice_value,
                });
            }
            // Still looked for as written through every pause, as an earlier attempt of this
            // one may yet show.
            if let Some(p) = order.invoice_written_otherwise(&job.key.invoice_number) {
                other = Some(Look::WrittenOtherwise {
                    number: p.invoice_number.clone(),
                    value: p.invoice_value,
                });
            }
        }
        Ok(other.unwrap_or(Look::Absent))
    }

    /// GET order, retried under the same policy and rate as every request; `None` once the run
    /// stops. Bug (found by a review): a SIGTERM during a look's wait for a slot, or its pause
    /// after a 429's Retry-After, was noticed only after it, minutes later, and requests went on.
    async fn get_order(
        &self,
        order_id: &str,
    ) -> Result<Option<crate::vtex::api::Order>, CallError> {
        let mut attempt = 0;
        let mut streak_429 = 0;
        loop {
            if !self.stopper.unless_stopped(self.rate.acquire()).await {
                return Ok(None);
            }
            attempt += 1;
            self.stats.lookups.fetch_add(1, Ordering::Relaxed);
            match self.client.get_order(order_id).await {
                Ok(order) => {
                    self.rate.on_success();
                    return Ok(Some(order));
                }
                Err(err) => {
                    self.note_throttling(&err, &mut streak_429);
                    match self.config.policy.decide(
                        &err,
                        attempt,
                        streak_429,
                        rand::random::<f64>(),
                    ) {
                        RetryAction::Retry { .. } if self.throttled_out() => return Err(err),
                        RetryAction::Retry { after, .. } => {
                            if !self.stopper.unless_stopped(tokio::time::sleep(after)).await {
                                return Ok(None);
                            }
                        }
                        RetryAction::GiveUp | RetryAction::StopRun => return Err(err),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod look_tests {
    use super::*;

    #[test]
    fn looks_double_and_end_at_the_total() {
        let secs = |total: u64| -> Vec<u64> {
            looks_over(Duration::from_secs(total))
                .iter()
                .map(Duration::as_secs)
                .collect()
        };
        assert_eq!(secs(6), [0, 1, 2, 3]);
        assert_eq!(secs(30), [0, 1, 2, 4, 8, 15]);
        assert_eq!(secs(0), [0]);
        assert_eq!(secs(1), [0, 1]);
        assert_eq!(
            EngineConfig::default().looks,
            looks_over(Duration::from_secs(6))
        );
    }
}
