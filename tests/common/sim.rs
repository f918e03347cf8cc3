//! An in-process sandbox on 127.0.0.1:0 for a test, with the binary pointed at it.
#![allow(dead_code)]

use std::process::Command;
use std::time::Duration;

pub use invoice_import::sandbox::SandboxConfig;
use invoice_import::sandbox::{self, FaultKind, Orders, Route, Sandbox, StateSnapshot};

use super::Workdir;

pub const KEY: &str = "vtexappkey-test-KEY";
/// The header row of the English invoice CSVs the tests write.
pub const HEADER: &str = "Order ID,Invoice Number,Issuance Date,SKU,Quantity,Unit Price";
pub const TOKEN: &str = "tok-SECRET-5f1d2c3b4a";

pub struct Sim {
    rt: tokio::runtime::Runtime,
    handle: Option<Sandbox>,
    pub url: String,
}

/// A config with the test credentials, every order existing, and a short propagation delay.
pub fn config() -> SandboxConfig {
    SandboxConfig {
        app_key: KEY.to_string(),
        app_token: TOKEN.to_string(),
        orders: Orders::Any,
        propagation_delay: Duration::from_millis(300),
        stall: Duration::from_secs(30),
        ..SandboxConfig::default()
    }
}

impl Sim {
    pub fn start(config: SandboxConfig) -> Sim {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let handle = rt
            .block_on(sandbox::start(config, ([127, 0, 0, 1], 0).into()))
            .expect("sandbox");
        let url = handle.url();
        Sim {
            rt,
            handle: Some(handle),
            url,
        }
    }

    pub fn state(&self) -> StateSnapshot {
        self.handle.as_ref().expect("running").state()
    }

    pub fn script(&self, route: Route, order_id: &str, faults: Vec<FaultKind>) {
        self.handle
            .as_ref()
            .expect("running")
            .script(route, order_id, faults);
    }

    /// `invoice-import <args> --base-url URL` with the test credentials in the environment.
    pub fn cmd(&self, w: &Workdir, args: &[&str]) -> Command {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--base-url", &self.url]);
        let mut c = w.cmd(&all);
        c.env("VTEX_APP_KEY", KEY).env("VTEX_APP_TOKEN", TOKEN);
        c
    }

    pub fn run(&self, w: &Workdir, args: &[&str]) -> super::Run {
        let mut c = self.cmd(w, args);
        super::Run::of(&mut c, args)
    }

    /// Every invoice applied exactly once: no re-posts, and each listed invoice present once.
    pub fn assert_exactly_once(&self, expected: &[(String, String)]) {
        let s = self.state();
        assert_eq!(
            s.counters.reposts, 0,
            "re-posts happened: {:#?}",
            s.counters
        );
        assert_eq!(
            s.invoices.len(),
            expected.len(),
            "applied invoices: {:#?}",
            s.counters
        );
        for (order, number) in expected {
            assert!(
                s.invoice(order, number).is_some(),
                "{order}/{number} not applied"
            );
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            self.rt.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(5), h.shutdown()).await;
            });
        }
    }
}

/// Writes an English invoice CSV with `n` one-item invoices; returns the (order, invoice) keys.
pub fn invoices_csv(w: &Workdir, name: &str, n: usize) -> Vec<(String, String)> {
    let mut text = format!("{HEADER}\n");
    let mut keys = Vec::new();
    for i in 0..n {
        let order = format!("{:013}-01", 1_000_000 + i);
        let number = format!("NF{:06}", i + 1);
        text.push_str(&format!(
            "{order},{number},2026-11-20T10:00:00-03:00,SKU-{i},2,{}.{:02}\n",
            10 + i,
            i % 100
        ));
        keys.push((order, number));
    }
    w.write(name, text);
    keys
}
