//! Validated invoices → request bodies exactly as VTEX's spec wants them, and the fingerprint that
//! tells the ledger whether a body is the one it recorded.

use crate::validate::{Validated, ValidatedInvoice};
use crate::values::date::to_api;
use crate::values::id::InvoiceType;
use crate::vtex::api::{InvoiceItem, InvoiceRequest, Json};

/// The POST body for an invoice: `invoiceValue` as a string of cents, unit prices in cents,
/// optional keys omitted rather than null (the spec forbids a null `courier`).
pub fn invoice_request(v: &ValidatedInvoice) -> InvoiceRequest {
    InvoiceRequest {
        kind: match v.kind() {
            InvoiceType::Output => String::from("Output"),
            InvoiceType::Input => String::from("Input"),
        },
        issuance_date: to_api(v.issuance_date()),
        invoice_number: v.invoice_number().to_string(),
        invoice_value: v.invoice_value().to_string(),
        invoice_key: v.invoice_key().map(str::to_string),
        invoice_url: v.invoice_url().map(str::to_string),
        courier: v.courier().map(str::to_string),
        tracking_number: v.tracking_number().map(str::to_string),
        tracking_url: v.tracking_url().map(str::to_string),
        dispatched_date: v.dispatched_date().map(to_api),
        items: v
            .items()
            .iter()
            .map(|i| InvoiceItem {
                id: i.id.clone(),
                price: i.price,
                quantity: i.quantity,
                description: i.description.clone(),
            })
            .collect(),
    }
}

/// SHA-256 of the body's JSON: equal bodies, equal fingerprints.
pub fn fingerprint<T: serde::Serialize>(body: &T) -> String {
    json_fingerprint(&Json::new(body))
}

/// [`fingerprint`] of a body already serialized: the hash of exactly the bytes that are sent.
pub fn json_fingerprint<T>(body: &Json<T>) -> String {
    crate::ledger::sha256_hex(body.as_bytes())
}
