//! The retry policy: given a failed call and how many attempts it has had, decide whether to
//! try again, when, and whether to look at the order first. Pure: no I/O, no clock, no
//! randomness of its own (the caller passes the jitter), so every case is a unit test.

use std::time::Duration;

use crate::vtex::CallError;

/// Capped exponential backoff with full jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Backoff ceiling before jitter on the first retry; doubles each attempt.
    pub base: Duration,
    /// Largest backoff the policy picks on its own (a server's Retry-After may ask for more).
    pub cap: Duration,
    /// The minimum pause once 429s keep coming without a Retry-After: VTEX's advice is to wait
    /// a minute rather than hammer an account that is over its limit.
    pub no_retry_after_floor: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            no_retry_after_floor: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAction {
    /// Try again after `after`. When `reconcile_first`, the request may have been applied: GET
    /// the order and only send again if the invoice is not there.
    Retry {
        after: Duration,
        reconcile_first: bool,
    },
    /// Final for this request; record the error.
    GiveUp,
    /// Credentials rejected (401/403): every other request would fail the same way.
    StopRun,
}

impl RetryPolicy {
    /// Decides what to do after `attempt` (1-based) failed with `err`.
    ///
    /// `consecutive_429_without_retry_after` counts the run's 429s in a row that carried no
    /// Retry-After, this one included; from the second on, the pause is at least
    /// `no_retry_after_floor`. `jitter` is a uniform sample from `[0, 1)`; values outside are
    /// clamped.
    pub fn decide(
        &self,
        err: &CallError,
        attempt: u32,
        consecutive_429_without_retry_after: u32,
        jitter: f64,
    ) -> RetryAction {
        if err.is_auth() {
            return RetryAction::StopRun;
        }
        if !err.is_retriable() || attempt >= self.max_attempts {
            return RetryAction::GiveUp;
        }
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let mut after = self.backoff_ceiling(attempt).mul_f64(jitter);
        if let Some(floor) = err.retry_after() {
            after = after.max(floor);
        } else if err.is_throttled() && consecutive_429_without_retry_after >= 2 {
            after = after.max(self.no_retry_after_floor);
        }
        RetryAction::Retry {
            after,
            reconcile_first: err.may_have_applied(),
        }
    }

    /// `min(cap, base * 2^(attempt-1))`, without overflow for any attempt.
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << exp)
            .unwrap_or(self.cap)
            .min(self.cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status(s: u16, retry_after: Option<Duration>) -> CallError {
        CallError::Status {
            status: s,
            code: None,
            message: "m".into(),
            retry_after,
        }
    }

    #[test]
    fn auth_stops_the_run() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(&status(401, None), 1, 0, 0.5),
            RetryAction::StopRun
        );
        assert_eq!(
            p.decide(&status(403, None), 6, 0, 0.5),
            RetryAction::StopRun
        );
    }

    #[test]
    fn client_errors_are_final() {
        let p = RetryPolicy::default();
        for s in [400, 404, 409, 422] {
            assert_eq!(p.decide(&status(s, None), 1, 0, 0.5), RetryAction::GiveUp);
        }
        let invalid = CallError::Invalid {
            message: "x".into(),
        };
        assert_eq!(p.decide(&invalid, 1, 0, 0.5), RetryAction::GiveUp);
    }

    #[test]
    fn gives_up_at_max_attempts() {
        let p = RetryPolicy::default();
        assert!(matches!(
            p.decide(&status(503, None), 5, 0, 0.5),
            RetryAction::Retry { .. }
        ));
        assert_eq!(p.decide(&status(503, None), 6, 0, 0.5), RetryAction::GiveUp);
    }

    #[test]
    fn reconcile_only_when_possibly_applied() {
        let p = RetryPolicy::default();
        let rec = |e: &CallError| match p.decide(e, 1, 0, 0.5) {
            RetryAction::Retry {
                reconcile_first, ..
            } => reconcile_first,
            other => panic!("expected a retry, got {other:?}"),
        };
        assert!(rec(&status(500, None)));
        assert!(rec(&status(408, None)));
        assert!(rec(&CallError::Timeout {
            message: "t".into()
        }));
        assert!(rec(&CallError::Transport {
            message: "t".into()
        }));
        assert!(rec(&CallError::Decode {
            status: 200,
            message: "t".into()
        }));
        assert!(!rec(&status(429, None)));
        assert!(!rec(&CallError::Connect {
            message: "c".into()
        }));
    }

    #[test]
    fn exponential_and_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff_ceiling(1), Duration::from_millis(500));
        assert_eq!(p.backoff_ceiling(2), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(4), Duration::from_secs(4));
        assert_eq!(p.backoff_ceiling(7), Duration::from_secs(30));
        assert_eq!(p.backoff_ceiling(u32::MAX), Duration::from_secs(30));
        assert_eq!(p.backoff_ceiling(0), Duration::from_millis(500));
    }

    #[test]
    fn repeated_429_without_retry_after_backs_off_hard() {
        let p = RetryPolicy::default();
        let after = |n| match p.decide(&status(429, None), 1, n, 0.1) {
            RetryAction::Retry { after, .. } => after,
            other => panic!("{other:?}"),
        };
        assert!(after(1) < Duration::from_secs(1));
        assert_eq!(after(2), Duration::from_secs(60));
        assert_eq!(after(9), Duration::from_secs(60));
        // With a Retry-After the server's word wins, however many came before.
        match p.decide(&status(429, Some(Duration::from_secs(2))), 1, 9, 0.1) {
            RetryAction::Retry { after, .. } => assert_eq!(after, Duration::from_secs(2)),
            other => panic!("{other:?}"),
        }
    }

    proptest! {
        #[test]
        fn backoff_bounds(
            code in prop_oneof![Just(408u16), Just(429), 500u16..600],
            attempt in 1u32..40,
            n429 in 0u32..5,
            jitter in -1.0f64..2.0,
            ra in proptest::option::of(0u64..100_000),
        ) {
            let p = RetryPolicy { max_attempts: 50, ..RetryPolicy::default() };
            let ra = ra.map(Duration::from_millis);
            let err = status(code, ra);
            match p.decide(&err, attempt, n429, jitter) {
                RetryAction::Retry { after, .. } => {
                    if let Some(ra) = ra {
                        prop_assert!(after >= ra, "Retry-After is a floor");
                        prop_assert!(after <= p.cap.max(ra));
                    } else if code == 429 && n429 >= 2 {
                        prop_assert_eq!(after, p.no_retry_after_floor);
                    } else {
                        prop_assert!(after <= p.cap);
                    }
                }
                other => prop_assert!(false, "expected a retry, got {:?}", other),
            }
        }

        #[test]
        fn never_retries_final_statuses(code in 400u16..500, attempt in 1u32..10) {
            prop_assume!(![408, 429].contains(&code));
            let action = RetryPolicy::default().decide(&status(code, None), attempt, 0, 0.5);
            if code == 401 || code == 403 {
                prop_assert_eq!(action, RetryAction::StopRun);
            } else {
                prop_assert_eq!(action, RetryAction::GiveUp);
            }
        }
    }
}
