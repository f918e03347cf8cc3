//! The one rate limiter every request goes through (posts, retries and order look-ups alike),
//! so the account sees at most `--rate` requests per second whatever the concurrency.
//!
//! Four layers, taken in order by `acquire`:
//! 1. a global pause, set by a 429: every worker waits out the server's Retry-After, then
//!    takes a new turn (a turn given before the pause is void);
//! 2. an even pace, adaptive below the ceiling (AIMD): a 429 halves the pace, each second of
//!    success adds back a twentieth of `--rate`. Slots are spaced from the previous slot, not
//!    from "now", so the pace adds no drift; above 1000/s, at full rate, this layer steps aside;
//! 3. a governor GCRA limiter at `--rate`, with a small burst so that a worker woken a
//!    little late by the timer does not lose its turn;
//! 4. a sliding window, the hard ceiling: no more than `--rate` requests (rounded up) start in
//!    any one second, burst or not.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

/// Slowest pace the adaptive layer falls to (requests per second).
const MIN_RATE: f64 = 0.5;
/// Lowest `max_rate` accepted; anything lower (or not a number) is raised to it.
const FLOOR_RATE: f64 = 0.01;
/// Longest pause for 429s without Retry-After; VTEX suggests waiting a minute.
const MAX_BLIND_PAUSE: Duration = Duration::from_secs(60);
/// Many workers get a 429 at the same moment for the same overload; cut once for them all.
const CUT_COOLDOWN: Duration = Duration::from_secs(1);
/// The most success time credited at once, so one success after a long idle gap does not jump
/// straight back to full rate.
const MAX_CREDIT: Duration = Duration::from_secs(1);
/// Above this many requests per second the pace layer steps aside at full rate: its slots
/// would be closer than the timer's millisecond, and the governor's burst and the window keep
/// the ceiling. At or below it, requests go one slot apart from the first.
const MAX_PACED: f64 = 1000.0;
/// Above this many requests per second the window is not kept (its memory grows with the
/// rate); the GCRA's burst is then at most a ten-thousandth of a second's worth.
const MAX_WINDOW: f64 = 100_000.0;

/// Shared adaptive limiter; clones share one state.
#[derive(Clone)]
pub struct AdaptiveRate {
    inner: Arc<Inner>,
}

struct Inner {
    max_rate: f64,
    min_rate: f64,
    ceiling: DefaultDirectRateLimiter,
    state: Mutex<State>,
    throttled: AtomicU64,
    /// At most `window.0` requests start in any `window.1`; `None` above [`MAX_WINDOW`].
    window: Option<(usize, Duration)>,
}

struct State {
    /// Current adaptive pace, `min_rate..=max_rate`.
    current: f64,
    /// When the next paced request may go (only used below `max_rate`).
    next_slot: Instant,
    /// No request starts before this (a 429's Retry-After, or our own escalation).
    paused_until: Instant,
    /// 429s in a row without a Retry-After header.
    blind_streak: u32,
    /// Pauses so far: a request whose turn was given before a pause takes a new one after it.
    pauses: u64,
    last_cut: Option<Instant>,
    /// Last success credited for recovery; `None` right after a cut.
    last_success: Option<Instant>,
    /// When each of the last `Inner::window.0` requests started, oldest first.
    starts: VecDeque<Instant>,
    /// The most requests that started within one second, so far.
    peak: usize,
}

impl std::fmt::Debug for AdaptiveRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdaptiveRate")
            .field("max_rate", &self.inner.max_rate)
            .field("current_rate", &self.current_rate())
            .field("throttled", &self.throttled())
            .finish()
    }
}

/// Multiplicative decrease.
pub fn cut(current: f64, min_rate: f64) -> f64 {
    (current * 0.5).max(min_rate)
}

/// Additive increase: `max_rate / 20` per second of success, never above `max_rate`.
pub fn recover(current: f64, max_rate: f64, success_time: Duration) -> f64 {
    (current + max_rate / 20.0 * success_time.as_secs_f64()).min(max_rate)
}

/// Pause after the `streak`-th 429 in a row without Retry-After: 1 s, 2 s, 4 s, … up to 60 s.
pub fn blind_pause(streak: u32) -> Duration {
    let exp = streak.saturating_sub(1).min(6);
    Duration::from_secs(1u64 << exp).min(MAX_BLIND_PAUSE)
}

enum Step {
    Sleep(Instant),
    Go,
    /// A pause came since this request's turn was given: it takes a new one.
    Retake,
}

impl AdaptiveRate {
    /// A limiter that never starts more than `max_rate` requests (rounded up) in any second,
    /// allowing bursts of `burst` (at least 1) within that. A `max_rate` that is not a positive
    /// number is raised to 0.01/s.
    pub fn new(max_rate: f64, burst: u32) -> Self {
        let max_rate = if max_rate.is_finite() {
            max_rate.max(FLOOR_RATE)
        } else if max_rate == f64::INFINITY {
            1e9
        } else {
            FLOOR_RATE
        };
        let period = Duration::from_secs_f64(1.0 / max_rate).max(Duration::from_nanos(1));
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        // `with_period` is None only for a zero period, excluded just above.
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(burst);
        // At 2.5/s, 3 in any second (and 2.5 over a long run, by the GCRA); at 0.5/s, one in
        // any 2 s.
        let window = (max_rate <= MAX_WINDOW).then(|| {
            if max_rate >= 1.0 {
                (max_rate.ceil() as usize, Duration::from_secs(1))
            } else {
                (1, Duration::from_secs_f64(1.0 / max_rate))
            }
        });
        let now = Instant::now();
        AdaptiveRate {
            inner: Arc::new(Inner {
                max_rate,
                min_rate: MIN_RATE.min(max_rate),
                ceiling: RateLimiter::direct(quota),
                state: Mutex::new(State {
                    current: max_rate,
                    next_slot: now,
                    paused_until: now,
                    blind_streak: 0,
                    pauses: 0,
                    last_cut: None,
                    last_success: None,
                    starts: VecDeque::with_capacity(window.map_or(0, |(n, _)| n)),
                    peak: 0,
                }),
                throttled: AtomicU64::new(0),
                window,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the plain numbers inconsistent in a
        // harmful way, so a poisoned lock is used as is.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until one more request may start.
    ///
    /// A 429's pause voids every turn given before it: the requests that were waiting take new
    /// turns at the cut pace once it ends, rather than all going the moment it does (bug: after
    /// each pause the waiting workers went at once, and most of a run's 429s came from those
    /// bursts).
    pub async fn acquire(&self) {
        while !self.try_acquire().await {}
    }

    /// [`Self::acquire`] once: false when a pause voided the turn on the way.
    async fn try_acquire(&self) -> bool {
        // The pause count when this request was given its turn.
        let mut turn: Option<u64> = None;
        let paced = self.wait_until(|st, now| {
            if turn == Some(st.pauses) {
                return Step::Go;
            }
            turn = Some(st.pauses);
            if st.current >= self.inner.max_rate && self.inner.max_rate > MAX_PACED {
                return Step::Go;
            }
            let slot = st.next_slot.max(now);
            st.next_slot = slot + Duration::from_secs_f64(1.0 / st.current);
            if slot > now {
                Step::Sleep(slot)
            } else {
                Step::Go
            }
        });
        paced.await;
        // governor's own `until_ready` waits on futures-timer, which keeps a timer thread of its
        // own: every wait would be a wake-up across threads. Tokio's timer is already running.
        loop {
            match self.inner.ceiling.check() {
                Ok(()) => break,
                Err(not_until) => {
                    use governor::clock::Clock;
                    let clock = self.inner.ceiling.clock();
                    tokio::time::sleep(not_until.wait_time_from(clock.now())).await;
                }
            }
        }
        // Last, so the start it records is the request's own.
        self.wait_until(|st, now| match turn {
            Some(pauses) if pauses != st.pauses => Step::Retake,
            _ => self.window_step(st, now),
        })
        .await
    }

    /// Sleeps out any pause and whatever `step` asks for, until it says go (true) or to take
    /// a new turn (false). After each sleep it looks again: a 429 may have paused everyone
    /// meanwhile.
    async fn wait_until(&self, mut step: impl FnMut(&mut State, Instant) -> Step) -> bool {
        loop {
            let next = {
                let mut st = self.state();
                let now = Instant::now();
                if st.paused_until > now {
                    Step::Sleep(st.paused_until)
                } else {
                    step(&mut st, now)
                }
            };
            match next {
                Step::Sleep(until) => tokio::time::sleep_until(until).await,
                Step::Go => return true,
                Step::Retake => return false,
            }
        }
    }

    /// Starts a request `now` if the window has room, recording it; else says when it will.
    fn window_step(&self, st: &mut State, now: Instant) -> Step {
        let Some((most, span)) = self.inner.window else {
            return Step::Go;
        };
        if st.starts.len() >= most {
            match st.starts.front() {
                Some(&oldest) if now < oldest + span => return Step::Sleep(oldest + span),
                _ => {
                    st.starts.pop_front();
                }
            }
        }
        st.starts.push_back(now);
        // The ring holds every start of the last second: the window lets no more in.
        let second_ago = now.checked_sub(Duration::from_secs(1));
        let in_second = st.starts.len()
            - second_ago.map_or(0, |t| st.starts.partition_point(|&start| start <= t));
        st.peak = st.peak.max(in_second);
        Step::Go
    }

    /// The most requests that started within any one second so far; `None` when the rate is
    /// too high for the window to be kept.
    pub fn peak_per_second(&self) -> Option<u64> {
        self.inner.window.map(|_| self.state().peak as u64)
    }

    /// Counts a 429. Alone, for one that is not waited out: it stopped the run instead (its
    /// `Retry-After` was past `--max-wait`).
    pub fn count_throttled(&self) {
        self.inner.throttled.fetch_add(1, Ordering::Relaxed);
    }

    /// A 429 arrived: pause every worker for `retry_after` (or an escalating pause when the
    /// server gave none) and halve the pace.
    pub fn on_throttled(&self, retry_after: Option<Duration>) {
        self.count_throttled();
        let mut st = self.state();
        let now = Instant::now();
        let pause = match retry_after {
            Some(d) => {
                st.blind_streak = 0;
                d
            }
            None => {
                st.blind_streak = st.blind_streak.saturating_add(1);
                blind_pause(st.blind_streak)
            }
        };
        let until = now.checked_add(pause).unwrap_or(now + MAX_BLIND_PAUSE);
        st.paused_until = st.paused_until.max(until);
        st.pauses += 1;
        st.next_slot = st.next_slot.max(st.paused_until);
        if st
            .last_cut
            .is_none_or(|t| now.duration_since(t) >= CUT_COOLDOWN)
        {
            st.current = cut(st.current, self.inner.min_rate);
            st.last_cut = Some(now);
        }
        st.last_success = None;
    }

    /// A request succeeded: recover the pace additively.
    pub fn on_success(&self) {
        let mut st = self.state();
        let now = Instant::now();
        st.blind_streak = 0;
        if st.current < self.inner.max_rate {
            let credit = st
                .last_success
                .map_or(Duration::ZERO, |t| now.duration_since(t).min(MAX_CREDIT));
            st.current = recover(st.current, self.inner.max_rate, credit);
        }
        st.last_success = Some(now);
    }

    /// The adaptive pace now, requests per second.
    pub fn current_rate(&self) -> f64 {
        self.state().current
    }

    /// The ceiling, requests per second.
    pub fn max_rate(&self) -> f64 {
        self.inner.max_rate
    }

    /// 429s seen so far.
    pub fn throttled(&self) -> u64 {
        self.inner.throttled.load(Ordering::Relaxed)
    }

    /// 429s in a row without Retry-After, for `RetryPolicy::decide`.
    pub fn blind_streak(&self) -> u32 {
        self.state().blind_streak
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aimd_arithmetic() {
        assert_eq!(cut(100.0, 0.5), 50.0);
        assert_eq!(cut(0.6, 0.5), 0.5);
        assert_eq!(recover(50.0, 100.0, Duration::from_secs(1)), 55.0);
        assert_eq!(recover(99.0, 100.0, Duration::from_secs(1)), 100.0);
        assert_eq!(recover(50.0, 100.0, Duration::ZERO), 50.0);
        // From half to full in ten seconds of steady success.
        let mut r = 50.0;
        for _ in 0..10 {
            r = recover(r, 100.0, Duration::from_secs(1));
        }
        assert_eq!(r, 100.0);
    }

    #[test]
    fn blind_pauses_escalate_to_a_minute() {
        let secs: Vec<u64> = (1..=9).map(|n| blind_pause(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(blind_pause(u32::MAX), MAX_BLIND_PAUSE);
    }

    #[test]
    fn odd_rates_do_not_panic() {
        for r in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-9, 1e12] {
            let l = AdaptiveRate::new(r, 0);
            assert!(l.max_rate() > 0.0);
        }
    }

    /// `n` tasks that each acquire once and say when they got through.
    fn acquirers(l: &AdaptiveRate, n: usize) -> Vec<tokio::task::JoinHandle<Instant>> {
        (0..n)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move {
                    l.acquire().await;
                    Instant::now()
                })
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_pauses_everyone() {
        let l = AdaptiveRate::new(1000.0, 1000);
        let start = Instant::now();
        l.on_throttled(Some(Duration::from_secs(5)));
        assert_eq!(l.throttled(), 1);
        assert_eq!(l.current_rate(), 500.0);
        let workers = acquirers(&l, 4);
        for w in workers {
            let at = w.await.unwrap();
            assert!(at.duration_since(start) >= Duration::from_secs(5));
        }
    }

    /// Found by a review: the requests waiting for their turns when a 429 paused everyone all
    /// went the moment the pause ended (eight within 3 ms), and drew more 429s.
    #[tokio::test(start_paused = true)]
    async fn after_a_pause_the_waiting_requests_go_at_the_pace_not_at_once() {
        let l = AdaptiveRate::new(10.0, 10);
        l.on_throttled(Some(Duration::ZERO));
        assert_eq!(l.current_rate(), 5.0);
        let start = Instant::now();
        let workers = acquirers(&l, 6);
        tokio::time::sleep(Duration::from_millis(100)).await;
        l.on_throttled(Some(Duration::from_secs(2)));
        let mut starts = Vec::new();
        for w in workers {
            starts.push(w.await.unwrap().duration_since(start));
        }
        starts.sort();
        // One went before the pause; the five that waited go 200 ms apart once it ends.
        assert_eq!(starts[0], Duration::ZERO);
        assert!(starts[1] >= Duration::from_millis(2100), "{starts:?}");
        for pair in starts[1..].windows(2) {
            assert!(
                pair[1] - pair[0] >= Duration::from_millis(200),
                "{starts:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_cut_for_a_burst_of_429s() {
        let l = AdaptiveRate::new(100.0, 100);
        for _ in 0..20 {
            l.on_throttled(Some(Duration::ZERO));
        }
        assert_eq!(l.current_rate(), 50.0);
        assert_eq!(l.throttled(), 20);
        tokio::time::advance(CUT_COOLDOWN).await;
        l.on_throttled(Some(Duration::ZERO));
        assert_eq!(l.current_rate(), 25.0);
    }

    #[tokio::test(start_paused = true)]
    async fn blind_429s_escalate_and_success_resets() {
        let l = AdaptiveRate::new(100.0, 100);
        let start = Instant::now();
        l.on_throttled(None);
        l.on_throttled(None);
        assert_eq!(l.blind_streak(), 2);
        l.acquire().await;
        assert!(Instant::now().duration_since(start) >= Duration::from_secs(2));
        l.on_success();
        assert_eq!(l.blind_streak(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn paced_slots_do_not_drift() {
        // Cut to 500/s: the pace layer spaces requests 2 ms apart, counted from the previous
        // slot, so 101 requests span exactly 200 ms of (virtual) time.
        let l = AdaptiveRate::new(1000.0, 1000);
        l.on_throttled(Some(Duration::ZERO));
        assert_eq!(l.current_rate(), 500.0);
        let start = Instant::now();
        for _ in 0..101 {
            l.acquire().await;
        }
        let took = Instant::now().duration_since(start);
        assert!(took >= Duration::from_millis(200), "{took:?}");
        assert!(took < Duration::from_millis(203), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn above_a_thousand_a_second_the_pace_layer_steps_aside() {
        // Only the governor (burst 1000, not reached here) and the window (2000 in a second)
        // decide: no virtual time passes.
        let l = AdaptiveRate::new(2000.0, 1000);
        let start = Instant::now();
        for _ in 0..100 {
            l.acquire().await;
        }
        assert_eq!(Instant::now(), start);
    }

    /// Found by a review: at `--rate 5` each second's first two requests left together (0.000,
    /// 0.001, 0.201 …): the window held the fifth back to the second's end while the governor
    /// saved a turn, and a server counting with a bucket of two answered one 429 a run.
    #[tokio::test(start_paused = true)]
    async fn at_full_rate_requests_go_one_slot_apart_from_the_first() {
        for rate in [3.0, 5.0, 100.0] {
            let l = AdaptiveRate::new(rate, 20);
            let start = Instant::now();
            let mut starts: Vec<Duration> = Vec::new();
            for w in acquirers(&l, 12) {
                starts.push(w.await.unwrap().duration_since(start));
            }
            starts.sort();
            let slot = Duration::from_secs_f64(1.0 / rate);
            for (k, at) in starts.iter().enumerate() {
                let due = slot * u32::try_from(k).unwrap();
                // Within the timer's millisecond.
                assert!(
                    at.abs_diff(due) <= Duration::from_millis(1),
                    "{rate}/s: {starts:?}"
                );
            }
        }
    }

    /// Whether any `most + 1` of `starts` (in order) fall within `span`.
    fn window_overfull(starts: &[Instant], most: usize, span: Duration) -> bool {
        starts
            .windows(most + 1)
            .any(|w| w[most].duration_since(w[0]) < span)
    }

    #[tokio::test(start_paused = true)]
    async fn no_burst_goes_past_the_rate_in_any_second() {
        // A burst of 1000 would let 1000 go at once; the pace and the window hold every
        // second to 100, across workers, and the long run still reaches the rate.
        let l = AdaptiveRate::new(100.0, 1000);
        let start = Instant::now();
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move {
                    let mut starts = Vec::new();
                    for _ in 0..50 {
                        l.acquire().await;
                        starts.push(Instant::now());
                    }
                    starts
                })
            })
            .collect();
        let mut starts = Vec::new();
        for w in workers {
            starts.extend(w.await.unwrap());
        }
        starts.sort();
        assert_eq!(starts.len(), 400);
        assert!(!window_overfull(&starts, 100, Duration::from_secs(1)));
        assert_eq!(l.peak_per_second(), Some(100));
        // One slot apart from the first: 10 ms.
        assert_eq!(
            starts[399].duration_since(start),
            Duration::from_millis(3990)
        );

        // A fractional rate: 2.5/s is 3 in any second; below 1/s, one per period; each one
        // period after the last. (Fewer requests than the governor's burst, whose clock is not
        // the paused one.)
        for (rate, most) in [(2.5, 3), (0.5, 1)] {
            let l = AdaptiveRate::new(rate, 10);
            let start = Instant::now();
            for k in 0..9 {
                l.acquire().await;
                let at = Duration::from_secs_f64(f64::from(k) / rate);
                let took = Instant::now().duration_since(start);
                assert!(
                    took.abs_diff(at) <= Duration::from_millis(1),
                    "{rate}/s, {k}: {took:?}"
                );
            }
            assert_eq!(l.peak_per_second(), Some(most as u64), "{rate}/s");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn success_recovers_to_the_ceiling() {
        let l = AdaptiveRate::new(100.0, 100);
        l.on_throttled(Some(Duration::ZERO));
        assert_eq!(l.current_rate(), 50.0);
        for _ in 0..30 {
            tokio::time::advance(Duration::from_millis(500)).await;
            l.on_success();
        }
        assert_eq!(l.current_rate(), 100.0);
    }

    #[tokio::test]
    async fn the_ceiling_holds_in_real_time() {
        // Burst 1 at 50/s: after the first, each permit waits 20 ms. A lower bound only.
        let l = AdaptiveRate::new(50.0, 1);
        let start = std::time::Instant::now();
        for _ in 0..11 {
            l.acquire().await;
        }
        assert!(start.elapsed() >= Duration::from_millis(180));
    }
}
