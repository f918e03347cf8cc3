//! Which fault (if any) and how much latency a request gets: scripted queues first, then a
//! seeded draw that depends only on (seed, route, order, attempt number), so the same seed
//! gives the same faults to the same sequence of requests however they interleave.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A way the sandbox misbehaves, each one a case that makes exactly-once hard for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FaultKind {
    /// 503 before anything is applied: safe to retry.
    #[serde(rename = "503")]
    Unavailable503,
    /// The TCP connection is closed with no response and nothing applied.
    #[serde(rename = "drop-before")]
    DropBeforeApply,
    /// The request is applied, then the connection is closed with no response: the client
    /// cannot tell this from `DropBeforeApply`.
    #[serde(rename = "drop-after")]
    DropAfterApply,
    /// The request is applied, then the answer is a 500.
    #[serde(rename = "500-after")]
    ErrorAfterApply500,
    /// The request is applied, then the response is held for `SandboxConfig::stall`.
    #[serde(rename = "stall-after")]
    StallAfterApply,
}

impl FaultKind {
    /// Every kind, in the fixed order the seeded draw walks them.
    pub const ALL: [FaultKind; 5] = [
        FaultKind::Unavailable503,
        FaultKind::DropBeforeApply,
        FaultKind::DropAfterApply,
        FaultKind::ErrorAfterApply500,
        FaultKind::StallAfterApply,
    ];

    /// The name used on the command line, in scripts and in the state counters.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Unavailable503 => "503",
            FaultKind::DropBeforeApply => "drop-before",
            FaultKind::DropAfterApply => "drop-after",
            FaultKind::ErrorAfterApply500 => "500-after",
            FaultKind::StallAfterApply => "stall-after",
        }
    }

    fn index(self) -> usize {
        match self {
            FaultKind::Unavailable503 => 0,
            FaultKind::DropBeforeApply => 1,
            FaultKind::DropAfterApply => 2,
            FaultKind::ErrorAfterApply500 => 3,
            FaultKind::StallAfterApply => 4,
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault name that is not one of [`FaultKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown fault kind {0:?} (expected 503, drop-before, drop-after, 500-after or stall-after)"
)]
pub struct UnknownFault(pub String);

impl FromStr for FaultKind {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FaultKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownFault(s.to_string()))
    }
}

/// The API routes a fault can be scripted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// `POST /api/oms/pvt/orders/{orderId}/invoice`
    PostInvoice,
    /// `PATCH /api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}`
    PatchTracking,
    /// `GET /api/oms/pvt/orders/{orderId}`
    GetOrder,
}

impl Route {
    /// The name used in scripts and in the request counters.
    pub fn name(self) -> &'static str {
        match self {
            Route::PostInvoice => "post_invoice",
            Route::PatchTracking => "patch_tracking",
            Route::GetOrder => "get_order",
        }
    }

    /// The HTTP method of the route, for the request counters.
    pub fn method(self) -> &'static str {
        match self {
            Route::PostInvoice => "POST",
            Route::PatchTracking => "PATCH",
            Route::GetOrder => "GET",
        }
    }

    fn salt(self) -> u64 {
        match self {
            Route::PostInvoice => 0x9e37_79b9_7f4a_7c15,
            Route::PatchTracking => 0xbf58_476d_1ce4_e5b9,
            Route::GetOrder => 0x94d0_49bb_1331_11eb,
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The probability of each fault kind per request (0 = never). Their sum must be at most 1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FaultRates {
    rates: [f64; 5],
}

impl FaultRates {
    /// No faults at all.
    pub fn none() -> Self {
        FaultRates::default()
    }

    /// Sets the probability of `kind`.
    pub fn set(&mut self, kind: FaultKind, probability: f64) {
        self.rates[kind.index()] = probability;
    }

    /// The probability of `kind`.
    pub fn get(&self, kind: FaultKind) -> f64 {
        self.rates[kind.index()]
    }

    /// Whether any probability is positive (the draw is skipped otherwise, to keep the hot
    /// path free of bookkeeping).
    pub fn any(&self) -> bool {
        self.rates.iter().any(|p| *p > 0.0)
    }

    /// Checks each probability is in [0, 1] and that they sum to at most 1.
    pub fn validate(&self) -> Result<(), String> {
        for kind in FaultKind::ALL {
            let p = self.get(kind);
            if !(0.0..=1.0).contains(&p) {
                return Err(format!(
                    "fault {kind} probability {p} is not between 0 and 1"
                ));
            }
        }
        let sum: f64 = self.rates.iter().sum();
        if sum > 1.0 + 1e-9 {
            return Err(format!("fault probabilities sum to {sum}, more than 1"));
        }
        Ok(())
    }

    /// Picks at most one fault for a uniform draw `u` in [0, 1).
    fn pick(&self, u: f64) -> Option<FaultKind> {
        let mut cumulative = 0.0;
        for kind in FaultKind::ALL {
            cumulative += self.get(kind);
            if u < cumulative {
                return Some(kind);
            }
        }
        None
    }
}

/// Parses `KIND=P`, the `--fault` argument.
pub fn parse_fault_rate(s: &str) -> Result<(FaultKind, f64), String> {
    let (kind, p) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KIND=PROBABILITY, got {s:?}"))?;
    let kind: FaultKind = kind
        .trim()
        .parse()
        .map_err(|e: UnknownFault| e.to_string())?;
    let p: f64 = p
        .trim()
        .parse()
        .map_err(|_| format!("probability {p:?} is not a number"))?;
    if !(0.0..=1.0).contains(&p) {
        return Err(format!("probability {p} is not between 0 and 1"));
    }
    Ok((kind, p))
}

/// What one request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Plan {
    pub fault: Option<FaultKind>,
    pub latency_ms: u64,
}

/// Scripted fault queues and per-(route, order) attempt counters. Lives under the store's lock.
#[derive(Debug, Default)]
pub struct Planner {
    scripts: HashMap<Route, HashMap<String, VecDeque<FaultKind>>>,
    scripted_pending: usize,
    attempts: HashMap<Route, HashMap<String, u64>>,
}

impl Planner {
    /// Queues faults for the next requests of `route` on `order_id`, one per request.
    pub fn script(&mut self, route: Route, order_id: &str, faults: Vec<FaultKind>) {
        self.scripted_pending += faults.len();
        self.scripts
            .entry(route)
            .or_default()
            .entry(order_id.to_string())
            .or_default()
            .extend(faults);
    }

    /// Decides the fault and latency of the next request of `route` on `order_id`.
    pub fn next(
        &mut self,
        route: Route,
        order_id: &str,
        seed: u64,
        rates: &FaultRates,
        latency_ms: (u64, u64),
    ) -> Plan {
        let scripted = self.pop_scripted(route, order_id);
        let random_needed = rates.any() || latency_ms.1 > 0;
        if !random_needed {
            return Plan {
                fault: scripted,
                latency_ms: 0,
            };
        }
        let attempt = self.bump_attempt(route, order_id);
        let base = mix(seed ^ route.salt(), fnv1a(order_id.as_bytes()), attempt);
        let fault = scripted.or_else(|| rates.pick(unit(base)));
        let (lo, hi) = latency_ms;
        let latency_ms = if hi > lo {
            lo + splitmix(base ^ 0x5851_f42d_4c95_7f2d) % (hi - lo + 1)
        } else {
            lo
        };
        Plan { fault, latency_ms }
    }

    fn pop_scripted(&mut self, route: Route, order_id: &str) -> Option<FaultKind> {
        if self.scripted_pending == 0 {
            return None;
        }
        let queue = self.scripts.get_mut(&route)?.get_mut(order_id)?;
        let fault = queue.pop_front()?;
        self.scripted_pending -= 1;
        Some(fault)
    }

    fn bump_attempt(&mut self, route: Route, order_id: &str) -> u64 {
        let per_route = self.attempts.entry(route).or_default();
        if let Some(n) = per_route.get_mut(order_id) {
            *n += 1;
            *n
        } else {
            per_route.insert(order_id.to_string(), 1);
            1
        }
    }
}

/// A stable 64-bit hash of bytes (std's hasher is randomly keyed per process, which would
/// break reproducibility across runs).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn mix(a: u64, b: u64, c: u64) -> u64 {
    splitmix(splitmix(splitmix(a) ^ b) ^ c)
}

/// A uniform draw in [0, 1) from the top 53 bits.
fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in FaultKind::ALL {
            assert_eq!(kind.name().parse::<FaultKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.name());
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.name()));
        }
        assert!("drop".parse::<FaultKind>().is_err());
    }

    #[test]
    fn parses_fault_rates() {
        assert_eq!(
            parse_fault_rate("503=0.25"),
            Ok((FaultKind::Unavailable503, 0.25))
        );
        assert_eq!(
            parse_fault_rate("stall-after=1"),
            Ok((FaultKind::StallAfterApply, 1.0))
        );
        assert!(parse_fault_rate("503").is_err());
        assert!(parse_fault_rate("503=1.5").is_err());
        assert!(parse_fault_rate("503=x").is_err());
        assert!(parse_fault_rate("nope=0.1").is_err());
    }

    #[test]
    fn rates_must_sum_to_at_most_one() {
        let mut rates = FaultRates::none();
        rates.set(FaultKind::Unavailable503, 0.6);
        assert!(rates.validate().is_ok());
        rates.set(FaultKind::DropAfterApply, 0.6);
        assert!(rates.validate().is_err());
    }

    #[test]
    fn scripted_faults_come_first_and_in_order() {
        let mut planner = Planner::default();
        planner.script(
            Route::PostInvoice,
            "o1",
            vec![FaultKind::DropAfterApply, FaultKind::Unavailable503],
        );
        let none = FaultRates::none();
        let next = |p: &mut Planner, route, order| p.next(route, order, 7, &none, (0, 0)).fault;
        assert_eq!(next(&mut planner, Route::GetOrder, "o1"), None);
        assert_eq!(next(&mut planner, Route::PostInvoice, "o2"), None);
        assert_eq!(
            next(&mut planner, Route::PostInvoice, "o1"),
            Some(FaultKind::DropAfterApply)
        );
        assert_eq!(
            next(&mut planner, Route::PostInvoice, "o1"),
            Some(FaultKind::Unavailable503)
        );
        assert_eq!(next(&mut planner, Route::PostInvoice, "o1"), None);
    }

    fn draws(seed: u64) -> Vec<Plan> {
        let mut rates = FaultRates::none();
        rates.set(FaultKind::Unavailable503, 0.3);
        rates.set(FaultKind::DropBeforeApply, 0.2);
        let mut planner = Planner::default();
        (0..200)
            .map(|i| {
                let order = format!("order-{}", i % 7);
                planner.next(Route::PostInvoice, &order, seed, &rates, (5, 50))
            })
            .collect()
    }

    #[test]
    fn same_seed_same_draws() {
        assert_eq!(draws(42), draws(42));
        assert_ne!(draws(42), draws(43));
    }

    #[test]
    fn draws_follow_the_rates_and_latency_range() {
        let plans = draws(1);
        let count = |k| plans.iter().filter(|p| p.fault == Some(k)).count();
        // 200 draws at 30% and 20%: far from 0 and from 200 whatever the seed.
        assert!((30..=90).contains(&count(FaultKind::Unavailable503)));
        assert!((15..=70).contains(&count(FaultKind::DropBeforeApply)));
        assert_eq!(count(FaultKind::StallAfterApply), 0);
        assert!(plans.iter().all(|p| (5..=50).contains(&p.latency_ms)));
    }
}
