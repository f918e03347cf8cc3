//! invoice-import: read invoice spreadsheets, validate them, and submit them to VTEX's Order
//! Management System exactly once, as fast as the account's rate limit allows.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! config   flags + config file → one validated Settings
//! source   files → header names + rows of cells (CSV sniffing, encodings, calamine)
//! values   cell text → cents, timestamps, ids, quantities (precise errors)
//! mapping  header names → canonical fields; rows → typed field values
//! group    rows → invoices keyed by (order id, invoice number)
//! validate invoice rules; only it builds a ValidatedInvoice
//! vtex     API types (per VTEX's OpenAPI spec) and the HTTP client
//! submit   rate limit, concurrency, retry policy, reconciliation
//! ledger   durable journal of intents and outcomes (exactly once across runs)
//! report   results CSV, failed-rows file, progress, summary
//! sandbox  a local VTEX OMS simulator for tests, benchmarks and trial runs
//! ```

pub mod cli;
pub mod cmd;
pub mod config;
pub mod group;
pub mod ledger;
pub mod mapping;
pub mod report;
pub mod sandbox;
pub mod source;
pub mod submit;
pub mod validate;
pub mod values;
pub mod vtex;
