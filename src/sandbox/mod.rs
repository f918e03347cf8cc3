//! A local VTEX OMS simulator: the server every submission test and benchmark talks to over
//! real HTTP on loopback, and what a user points the tool at before production.
//!
//! It serves, as VTEX's OpenAPI spec describes them:
//!
//! ```text
//! POST  /api/oms/pvt/orders/{orderId}/invoice                  invoice notification
//! PATCH /api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}  tracking update
//! GET   /api/oms/pvt/orders/{orderId}                          order, with packageAttachment
//! ```
//!
//! and behaves like VTEX where VTEX is hard to work with: strict validation (400 naming the
//! field), credentials (401/403), unknown orders (404 `OMS007`), re-posts that answer 200
//! with a new receipt and change nothing else, invoices that show on `GET` only after a
//! propagation delay, a token-bucket rate limit (429 + `Retry-After`), and faults on either
//! side of the point where a request is applied (503, dropped connection, 500, stall),
//! drawn from a seeded generator or scripted per request.
//!
//! Two control routes, never authenticated, rate limited or faulted:
//!
//! - `GET /_sandbox/state` returns a [`StateSnapshot`]:
//!
//!   ```text
//!   { "invoices": [ { "order_id", "invoice_number", "type": "Output"|"Input",
//!                     "value": cents, "issuance_date", "receipt" (latest),
//!                     "invoice_key", "invoice_url", "embedded_invoice", "courier",
//!                     "tracking_number", "tracking_url", "dispatched_date",
//!                     "items": [ {"id", "price", "quantity", "description"} ],
//!                     "accepted_at", "visible_at" (RFC 3339),
//!                     "history": [ {"event": "posted"|"reposted"|"tracking",
//!                                   "at", "receipt"} ] } ],
//!     "counters": { "requests": { "POST post_invoice 200": n, "GET get_order dropped": n, … },
//!                   "rate_limited": n, "faults": { "503": n, "drop-after": n, … },
//!                   "reposts": n, "applied": n, "tracking_updates": n } }
//!   ```
//!
//! - `POST /_sandbox/script` with `{"route": "post_invoice"|"patch_tracking"|"get_order",
//!   "orderId": "…", "faults": ["drop-after", …]}` queues faults for the next requests of
//!   that route on that order, one per request, before any random draw.
//!
//! Layout: `server` (routes, order of checks, connection loop), `validate` (spec
//! strictness), `state` (orders, invoices, counters), `faults` (fault plans), `limit`
//! (token bucket).

mod faults;
mod limit;
mod server;
mod state;
mod validate;

use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use faults::{FaultKind, FaultRates, Route, UnknownFault, parse_fault_rate};
pub use state::{Counters, EventKind, HistoryEvent, InvoiceState, StateSnapshot};
pub use validate::{InvoiceItem, InvoiceType};

/// Which orders exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Orders {
    /// Every order id exists (with no known value).
    Any,
    /// Only these; the value (cents), when known, caps the sum of Output invoices.
    Known(HashMap<String, Option<i64>>),
}

/// What a 429 says in `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// Whole seconds until a token is available, rounded up.
    Auto,
    /// Always this (rounded up to whole seconds).
    Fixed(Duration),
    /// No header, as some gateways do.
    Omit,
}

impl FromStr for RetryAfter {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(RetryAfter::Auto),
            "none" | "omit" => Ok(RetryAfter::Omit),
            secs => secs
                .parse::<u64>()
                .map(|n| RetryAfter::Fixed(Duration::from_secs(n)))
                .map_err(|_| format!("expected auto, none or whole seconds, got {s:?}")),
        }
    }
}

/// How the sandbox behaves. `Default` gives a well-behaved VTEX with the production
/// propagation delay: no rate limit, no faults, every order exists.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub app_key: String,
    pub app_token: String,
    /// Valid credentials that lack permission: every API request answers 403.
    pub forbidden: bool,
    pub orders: Orders,
    /// Requests per second; `None` = unlimited.
    pub rate: Option<f64>,
    /// Bucket size: how many requests may go at once after a quiet spell.
    pub burst: u32,
    pub retry_after: RetryAfter,
    /// Uniform latency range added to each API request; `(0, 0)` = none.
    pub latency_ms: (u64, u64),
    pub faults: FaultRates,
    /// How long an accepted invoice takes to show on `GET order` (production: about 2 s).
    pub propagation_delay: Duration,
    /// How long a `stall-after` fault holds the response.
    pub stall: Duration,
    /// Seed of the fault and latency draws.
    pub seed: u64,
}

/// Credentials the sandbox uses when none are given.
pub const DEFAULT_APP_KEY: &str = "sandbox-key";
pub const DEFAULT_APP_TOKEN: &str = "sandbox-token";

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            app_key: DEFAULT_APP_KEY.to_string(),
            app_token: DEFAULT_APP_TOKEN.to_string(),
            forbidden: false,
            orders: Orders::Any,
            rate: None,
            burst: 10,
            retry_after: RetryAfter::Auto,
            latency_ms: (0, 0),
            faults: FaultRates::none(),
            propagation_delay: Duration::from_secs(2),
            stall: Duration::from_secs(600),
            seed: 0,
        }
    }
}

impl SandboxConfig {
    /// Checks the settings that would make the sandbox misbehave in ways nobody asked for.
    pub fn validate(&self) -> Result<(), SandboxError> {
        if let Some(rate) = self.rate
            && !(rate.is_finite() && rate > 0.0)
        {
            return Err(SandboxError::Config(format!(
                "rate must be a positive number, got {rate}"
            )));
        }
        if self.rate.is_some() && self.burst == 0 {
            return Err(SandboxError::Config("burst must be at least 1".to_string()));
        }
        let (lo, hi) = self.latency_ms;
        if lo > hi {
            return Err(SandboxError::Config(format!(
                "latency range {lo}..{hi} is empty"
            )));
        }
        self.faults.validate().map_err(SandboxError::Config)
    }
}

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("invalid sandbox settings: {0}")]
    Config(String),
    #[error("could not listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("could not read orders file {}", path.display())]
    OrdersIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("orders file {}, line {line}: {message}", path.display())]
    OrdersFile {
        path: PathBuf,
        line: u64,
        message: String,
    },
}

/// A running sandbox. Dropping it stops the server too; `shutdown` also returns the state.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
}

/// Starts the sandbox on `addr` (port 0 picks a free port) in the current tokio runtime.
pub async fn start(config: SandboxConfig, addr: SocketAddr) -> Result<Sandbox, SandboxError> {
    config.validate()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| SandboxError::Bind { addr, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| SandboxError::Bind { addr, source })?;
    let shared = Arc::new(server::Shared::new(config));
    let (stop, stopped) = watch::channel(false);
    let router = server::router(Arc::clone(&shared));
    let server = tokio::spawn(server::serve(listener, router, stopped));
    Ok(Sandbox {
        addr,
        shared,
        stop,
        server,
    })
}

impl Sandbox {
    /// The base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The same data as `GET /_sandbox/state`.
    pub fn state(&self) -> StateSnapshot {
        self.shared.store().snapshot()
    }

    /// Queues faults for the next requests of `route` on `order_id`, one per request.
    pub fn script(&self, route: Route, order_id: &str, faults: Vec<FaultKind>) {
        self.shared.store().planner.script(route, order_id, faults);
    }

    /// Puts an invoice on an order as if an earlier run had submitted it, visible at once and with
    /// an unknown (zero) value. `track --sandbox` uses it so that a tracking file can be tried
    /// on its own: the real OMS only takes tracking for invoices it already has.
    pub fn seed_invoice(&self, order_id: &str, invoice_number: &str) {
        let post = validate::InvoicePost {
            invoice_type: InvoiceType::Output,
            issuance_date: chrono::Utc::now().to_rfc3339(),
            invoice_number: invoice_number.to_string(),
            invoice_value: 0,
            invoice_key: None,
            invoice_url: None,
            embedded_invoice: None,
            courier: None,
            tracking_number: None,
            tracking_url: None,
            dispatched_date: None,
            items: Vec::new(),
        };
        // An unknown order is the only refusal, and seeding is only asked for known orders; a
        // refused seed would show as a 404 on the PATCH, which is what VTEX would say.
        let _ = self.shared.store().post_invoice(
            order_id,
            post,
            std::time::Instant::now(),
            Duration::ZERO,
        );
    }

    /// Stops accepting, closes every connection (stalled ones too) and returns the final state.
    pub async fn shutdown(self) -> StateSnapshot {
        // An error only means the server task is already gone, which is what we want.
        let _ = self.stop.send(true);
        let _ = self.server.await;
        self.shared.store().snapshot()
    }
}

/// Reads known orders: one order id per line with an optional `,value_cents` (or `;`), or a
/// CSV whose header has an order id column (`orderId`, `order_id`, `order`, `pedido`) and
/// optionally a value column (`value`, `value_cents`, `orderValue`, `valor`) in cents.
pub fn orders_from_file(path: &Path) -> Result<Orders, SandboxError> {
    let text = std::fs::read_to_string(path).map_err(|source| SandboxError::OrdersIo {
        path: path.to_path_buf(),
        source,
    })?;
    parse_orders(&text).map_err(|(line, message)| SandboxError::OrdersFile {
        path: path.to_path_buf(),
        line,
        message,
    })
}

fn normalize_header(s: &str) -> String {
    s.trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn parse_orders(text: &str) -> Result<Orders, (u64, String)> {
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.contains(';') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut id_col = 0;
    let mut value_col = Some(1);
    let mut orders = HashMap::new();
    for (index, record) in reader.records().enumerate() {
        let line = index as u64 + 1;
        let record = record.map_err(|e| (line, e.to_string()))?;
        if index == 0 {
            let names: Vec<String> = record.iter().map(normalize_header).collect();
            let find =
                |candidates: &[&str]| names.iter().position(|n| candidates.contains(&n.as_str()));
            if let Some(col) = find(&["orderid", "order", "pedido", "idpedido", "numeropedido"]) {
                id_col = col;
                value_col = find(&["value", "valuecents", "ordervalue", "valor", "totalvalue"]);
                continue;
            }
        }
        let id = record.get(id_col).unwrap_or("").trim();
        if id.is_empty() || id.starts_with('#') {
            continue;
        }
        let value = match value_col.and_then(|c| record.get(c)).map(str::trim) {
            None | Some("") => None,
            Some(v) => Some(v.parse::<i64>().map_err(|_| {
                (
                    line,
                    format!("order value {v:?} is not a whole number of cents"),
                )
            })?),
        };
        orders.insert(id.to_string(), value);
    }
    Ok(Orders::Known(orders))
}

fn parse_latency(s: &str) -> Result<(u64, u64), String> {
    let parse = |v: &str| {
        v.trim()
            .parse::<u64>()
            .map_err(|_| format!("expected milliseconds like 5..50, got {s:?}"))
    };
    match s.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (parse(a)?, parse(b)?);
            if a > b {
                return Err(format!("latency range {s:?} is empty"));
            }
            Ok((a, b))
        }
        None => parse(s).map(|a| (a, a)),
    }
}

const EXAMPLES: &str = "\
Credentials: VTEX_APP_KEY and VTEX_APP_TOKEN from the environment when both are set (then
neither is printed: the key's first 4 characters and both lengths only), else sandbox-key /
sandbox-token.

Examples:
  # A well-behaved VTEX on a free port; every order exists.
  invoice-import sandbox

  # Production-like: 20 requests/s (burst 10), 20-120 ms latency, 2% of requests
  # applied and then dropped, 1% answered 503, reproducibly.
  invoice-import sandbox --rate 20 --latency-ms 20..120 \\
      --fault drop-after=0.02 --fault 503=0.01 --seed 7

  # Only the orders in orders.txt exist (one id per line, optional ,value_cents); keep the
  # final state for inspection.
  invoice-import sandbox --orders orders.txt --state-out state.json

  # Then, in another shell:
  export VTEX_APP_KEY=sandbox-key VTEX_APP_TOKEN=sandbox-token
  invoice-import submit --base-url http://127.0.0.1:PORT invoices.csv
";

/// Options of `invoice-import sandbox`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_long_help = EXAMPLES)]
pub struct SandboxArgs {
    /// Port to listen on; 0 picks a free one (printed on the first line).
    #[arg(long, default_value_t = 0)]
    pub port: u16,

    /// Address to listen on. Only loopback addresses unless --public.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,

    /// Allow a non-loopback --host (the sandbox has no real security).
    #[arg(long)]
    pub public: bool,

    /// Rate limit in requests per second (token bucket). [default: unlimited]
    #[arg(long)]
    pub rate: Option<f64>,

    /// Token bucket size: requests allowed at once after a quiet spell.
    #[arg(long, default_value_t = 10)]
    pub burst: u32,

    /// Retry-After on 429: auto (seconds until a token, rounded up), none, or SECONDS.
    #[arg(long, default_value = "auto", value_parser = RetryAfter::from_str)]
    pub retry_after: RetryAfter,

    /// Added latency per request, uniform in A..B milliseconds (or a fixed A).
    #[arg(long, value_name = "A..B", default_value = "0..0", value_parser = parse_latency)]
    pub latency_ms: (u64, u64),

    /// Fault probability per request, repeatable. KIND is 503, drop-before, drop-after,
    /// 500-after or stall-after; P is between 0 and 1. [default: no faults]
    #[arg(long = "fault", value_name = "KIND=P", value_parser = parse_fault_rate)]
    pub faults: Vec<(FaultKind, f64)>,

    /// Seed of the fault and latency draws (same seed, same faults).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Only these orders exist: one id per line with optional ,value_cents, or a CSV with an
    /// order id column.
    #[arg(long, value_name = "FILE", conflicts_with = "any_order")]
    pub orders: Option<PathBuf>,

    /// Every order exists (the default when --orders is not given).
    #[arg(long)]
    pub any_order: bool,

    /// Milliseconds before an accepted invoice shows on GET order.
    #[arg(long, default_value_t = 2000)]
    pub propagation_ms: u64,

    /// Seconds a stall-after fault holds the response.
    #[arg(long, default_value_t = 600)]
    pub stall_secs: u64,

    /// Credentials are valid but lack permission: every API request answers 403.
    #[arg(long)]
    pub forbidden: bool,

    /// On exit, write the final state JSON here. [default: a one-line summary on stderr]
    #[arg(long, value_name = "FILE")]
    pub state_out: Option<PathBuf>,
}

/// Where the credentials came from, to decide whether the token may be printed.
struct Credentials {
    key: String,
    token: String,
    from_env: bool,
}

fn credentials() -> Credentials {
    let key = std::env::var("VTEX_APP_KEY").ok().filter(|k| !k.is_empty());
    let token = std::env::var("VTEX_APP_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    match (key, token) {
        (Some(key), Some(token)) => Credentials {
            key,
            token,
            from_env: true,
        },
        _ => Credentials {
            key: DEFAULT_APP_KEY.to_string(),
            token: DEFAULT_APP_TOKEN.to_string(),
            from_env: false,
        },
    }
}

/// Shows a token's length and nothing of it.
fn mask(token: &str) -> String {
    format!("({} characters, hidden)", token.chars().count())
}

fn config_from_args(args: &SandboxArgs, creds: &Credentials) -> anyhow::Result<SandboxConfig> {
    let mut faults = FaultRates::none();
    for (kind, p) in &args.faults {
        faults.set(*kind, *p);
    }
    let orders = match &args.orders {
        Some(path) => orders_from_file(path)?,
        None => Orders::Any,
    };
    let config = SandboxConfig {
        app_key: creds.key.clone(),
        app_token: creds.token.clone(),
        forbidden: args.forbidden,
        orders,
        rate: args.rate,
        burst: args.burst,
        retry_after: args.retry_after,
        latency_ms: args.latency_ms,
        faults,
        propagation_delay: Duration::from_millis(args.propagation_ms),
        stall: Duration::from_secs(args.stall_secs),
        seed: args.seed,
    };
    config.validate()?;
    Ok(config)
}

/// The URL on its own first line (scripts parse it), then how to use the credentials.
fn print_banner(url: &str, creds: &Credentials) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "sandbox listening on {url}")?;
    if creds.from_env {
        // Real credentials, perhaps: printed no more than `config show` prints them (bug: the
        // key was printed whole, and the token's first characters).
        writeln!(out, "app key:   {}", crate::config::mask_key(&creds.key))?;
        writeln!(out, "app token: {}", mask(&creds.token))?;
        writeln!(out, "credentials come from VTEX_APP_KEY / VTEX_APP_TOKEN")?;
    } else {
        writeln!(out, "app key:   {}", creds.key)?;
        writeln!(out, "app token: {}", creds.token)?;
        writeln!(
            out,
            "export VTEX_APP_KEY={} VTEX_APP_TOKEN={}",
            creds.key, creds.token
        )?;
    }
    writeln!(out, "press Ctrl-C to stop")?;
    out.flush()
}

/// Waits for Ctrl-C, or SIGTERM where there is one.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs the standalone sandbox until Ctrl-C or SIGTERM.
pub fn run_cli(args: SandboxArgs) -> anyhow::Result<()> {
    if !args.host.is_loopback() && !args.public {
        anyhow::bail!(
            "--host {} is not a loopback address; the sandbox accepts anyone who can reach it, \
             so pass --public to allow that",
            args.host
        );
    }
    let creds = credentials();
    let config = config_from_args(&args, &creds)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async {
        let sandbox = start(config, SocketAddr::new(args.host, args.port)).await?;
        // A closed stdout (a script that read the URL and went away) must not stop the server.
        let _ = print_banner(&sandbox.url(), &creds);

        interrupted().await;
        let state = sandbox.shutdown().await;
        match &args.state_out {
            Some(path) => {
                let json = serde_json::to_vec_pretty(&state)?;
                std::fs::write(path, json)
                    .with_context(|| format!("could not write {}", path.display()))?;
                eprintln!("sandbox state written to {}", path.display());
            }
            None => {
                let c = &state.counters;
                let requests: u64 = c.requests.values().sum();
                let faults: u64 = c.faults.values().sum();
                eprintln!(
                    "sandbox stopped: {requests} requests, {} invoices applied, {} re-posts, \
                     {} tracking updates, {} rate-limited, {faults} faults",
                    c.applied, c.reposts, c.tracking_updates, c.rate_limited
                );
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_as_plain_lines() {
        let orders = parse_orders("1172452900788-01\n0042,1999\n\n# comment\n").unwrap();
        let Orders::Known(map) = orders else {
            panic!("not known")
        };
        assert_eq!(map.len(), 2);
        assert_eq!(map["1172452900788-01"], None);
        // Leading zeros are kept: ids are text.
        assert_eq!(map["0042"], Some(1999));
    }

    #[test]
    fn orders_as_csv_with_header() {
        let text = "\u{feff}Customer;Order ID;Valor\nana;v1-01;100\nbia;v2-01;\n";
        let Orders::Known(map) = parse_orders(text).unwrap() else {
            panic!("not known")
        };
        assert_eq!(map["v1-01"], Some(100));
        assert_eq!(map["v2-01"], None);
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn orders_with_a_bad_value_name_the_line() {
        assert_eq!(parse_orders("a,1\nb,1.5\n").unwrap_err().0, 2);
    }

    #[test]
    fn latency_ranges() {
        assert_eq!(parse_latency("5..50"), Ok((5, 50)));
        assert_eq!(parse_latency("7"), Ok((7, 7)));
        assert!(parse_latency("50..5").is_err());
        assert!(parse_latency("a..b").is_err());
    }

    #[test]
    fn retry_after_values() {
        assert_eq!("auto".parse(), Ok(RetryAfter::Auto));
        assert_eq!("none".parse(), Ok(RetryAfter::Omit));
        assert_eq!("3".parse(), Ok(RetryAfter::Fixed(Duration::from_secs(3))));
        assert!("soon".parse::<RetryAfter>().is_err());
    }

    #[test]
    fn config_validation() {
        assert!(SandboxConfig::default().validate().is_ok());
        let bad_rate = SandboxConfig {
            rate: Some(0.0),
            ..SandboxConfig::default()
        };
        assert!(bad_rate.validate().is_err());
        let bad_latency = SandboxConfig {
            latency_ms: (9, 1),
            ..SandboxConfig::default()
        };
        assert!(bad_latency.validate().is_err());
    }

    #[test]
    fn tokens_are_masked() {
        let masked = mask("abcdefghijklmnop");
        assert_eq!(masked, "(16 characters, hidden)");
    }
}
