//! Talking to VTEX's Order Management System: the request and response bodies exactly as the
//! OpenAPI spec gives them (`api`), and the HTTP client that sends them (`client`).
//!
//! Nothing here decides *when* to send or retry; that is `submit`'s job. The client only sends
//! one request and classifies what came back, so the scheduler can tell "final", "retry" and
//! "may have been applied, look before sending again" apart.

pub mod api;
pub mod client;

pub use api::{InvoiceItem, InvoiceRequest, Json, Order, Package, Receipt, TrackingRequest};
pub use client::{
    CallError, Client, ClientError, ClientOptions, Credentials, CredentialsError, Target,
    TargetError,
};
