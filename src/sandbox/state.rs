//! The sandbox's memory of the world: known orders, accepted invoices with their receipts and
//! history, and the counters tests use to assert exactly-once. Everything here is synchronous
//! and runs under one short-held lock; the HTTP layer decides *whether* to call it.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Orders;
use super::faults::{FaultKind, Planner, Route};
use super::validate::{InvoiceItem, InvoicePost, InvoiceType, TrackingPatch};

/// Everything the sandbox knows, as served by `GET /_sandbox/state` and dumped on shutdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateSnapshot {
    /// Every accepted invoice, in the order they were first accepted.
    pub invoices: Vec<InvoiceState>,
    pub counters: Counters,
}

impl StateSnapshot {
    /// The invoice `invoice_number` of `order_id`, if it was ever accepted.
    pub fn invoice(&self, order_id: &str, invoice_number: &str) -> Option<&InvoiceState> {
        self.invoices
            .iter()
            .find(|i| i.order_id == order_id && i.invoice_number == invoice_number)
    }

    /// The request counter for e.g. `"POST post_invoice 200"` (0 when never seen).
    pub fn requests(&self, key: &str) -> u64 {
        self.counters.requests.get(key).copied().unwrap_or(0)
    }

    /// How many times fault `kind` was served.
    pub fn faults(&self, kind: FaultKind) -> u64 {
        self.counters.faults.get(kind.name()).copied().unwrap_or(0)
    }
}

/// One accepted invoice. Re-posts change only `receipt` (and add to `history`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceState {
    pub order_id: String,
    pub invoice_number: String,
    #[serde(rename = "type")]
    pub invoice_type: InvoiceType,
    /// Cents.
    pub value: i64,
    pub issuance_date: String,
    /// The latest receipt handed out for this invoice number.
    pub receipt: String,
    pub invoice_key: Option<String>,
    pub invoice_url: Option<String>,
    pub embedded_invoice: Option<String>,
    pub courier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub dispatched_date: Option<String>,
    pub items: Vec<InvoiceItem>,
    pub accepted_at: DateTime<Utc>,
    /// When it starts to show on `GET order` (accepted_at + propagation delay).
    pub visible_at: DateTime<Utc>,
    pub history: Vec<HistoryEvent>,
}

/// Something that happened to an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub event: EventKind,
    pub at: DateTime<Utc>,
    /// The receipt this event's response carried.
    pub receipt: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// First accepted POST: the invoice was applied.
    Posted,
    /// A POST of an invoice number the order already had: new receipt, nothing else changed.
    Reposted,
    /// A PATCH with tracking information.
    Tracking,
}

/// Counters for assertions and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Requests to the API routes by `"METHOD route status"`, e.g. `"POST post_invoice 200"`;
    /// a dropped connection counts as status `dropped`.
    pub requests: BTreeMap<String, u64>,
    /// 429 answers.
    pub rate_limited: u64,
    /// Faults served, by kind name (`503`, `drop-before`, …).
    pub faults: BTreeMap<String, u64>,
    /// POSTs of an invoice number already on the order.
    pub reposts: u64,
    /// Distinct invoices applied.
    pub applied: u64,
    /// Accepted PATCHes.
    pub tracking_updates: u64,
}

/// How a request ended, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Status(u16),
    Dropped,
}

/// Why the store refused an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("Order Not Found")]
    OrderNotFound,
    #[error("Invoice {invoice_number} not found on order {order_id}")]
    InvoiceNotFound {
        order_id: String,
        invoice_number: String,
    },
    #[error(
        "The invoiced value ({invoiced} already invoiced + {value} in this invoice) exceeds the order value ({order_value})"
    )]
    ValueExceeded {
        invoiced: i64,
        value: i64,
        order_value: i64,
    },
}

/// The answer to an accepted POST or PATCH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub receipt: String,
    pub date: DateTime<Utc>,
}

#[derive(Debug)]
struct OrderState {
    value: Option<i64>,
    /// Invoice number → index into `Store::invoices`.
    by_number: HashMap<String, usize>,
    /// Indices into `Store::invoices`, in acceptance order.
    list: Vec<usize>,
    /// Sum of accepted Output invoices, checked against `value`.
    output_total: i64,
}

impl OrderState {
    fn new(value: Option<i64>) -> Self {
        OrderState {
            value,
            by_number: HashMap::new(),
            list: Vec::new(),
            output_total: 0,
        }
    }
}

#[derive(Debug)]
struct Record {
    state: InvoiceState,
    /// None when the delay is too long to represent: never visible.
    visible: Option<Instant>,
}

/// Orders, invoices, counters and the fault planner, behind the server's one lock.
#[derive(Debug)]
pub struct Store {
    any_order: bool,
    orders: HashMap<String, OrderState>,
    invoices: Vec<Record>,
    requests: HashMap<(Route, Outcome), u64>,
    counters: Counters,
    pub planner: Planner,
}

fn new_receipt() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl Store {
    pub fn new(orders: &Orders) -> Self {
        let (any_order, orders) = match orders {
            Orders::Any => (true, HashMap::new()),
            Orders::Known(known) => (
                false,
                known
                    .iter()
                    .map(|(id, v)| (id.clone(), OrderState::new(*v)))
                    .collect(),
            ),
        };
        Store {
            any_order,
            orders,
            invoices: Vec::new(),
            requests: HashMap::new(),
            counters: Counters::default(),
            planner: Planner::default(),
        }
    }

    /// Whether `order_id` exists (always, with `Orders::Any`).
    pub fn order_exists(&self, order_id: &str) -> bool {
        self.any_order || self.orders.contains_key(order_id)
    }

    fn order_mut(&mut self, order_id: &str) -> Result<&mut OrderState, StoreError> {
        if self.any_order && !self.orders.contains_key(order_id) {
            self.orders
                .insert(order_id.to_string(), OrderState::new(None));
        }
        self.orders
            .get_mut(order_id)
            .ok_or(StoreError::OrderNotFound)
    }

    /// Applies an invoice POST: a new invoice, or a re-post of a known number (new receipt,
    /// nothing else changes, the body is not compared).
    pub fn post_invoice(
        &mut self,
        order_id: &str,
        post: InvoicePost,
        now: Instant,
        propagation: Duration,
    ) -> Result<Receipt, StoreError> {
        let date = Utc::now();
        let receipt = new_receipt();
        let next_index = self.invoices.len();
        let order = self.order_mut(order_id)?;
        if let Some(&index) = order.by_number.get(&post.invoice_number) {
            self.counters.reposts += 1;
            if let Some(record) = self.invoices.get_mut(index) {
                record.state.receipt.clone_from(&receipt);
                record.state.history.push(HistoryEvent {
                    event: EventKind::Reposted,
                    at: date,
                    receipt: receipt.clone(),
                });
            }
            return Ok(Receipt { receipt, date });
        }
        if post.invoice_type == InvoiceType::Output
            && let Some(order_value) = order.value
        {
            let invoiced = order.output_total;
            if invoiced.saturating_add(post.invoice_value) > order_value {
                return Err(StoreError::ValueExceeded {
                    invoiced,
                    value: post.invoice_value,
                    order_value,
                });
            }
        }
        if post.invoice_type == InvoiceType::Output {
            order.output_total = order.output_total.saturating_add(post.invoice_value);
        }
        order
            .by_number
            .insert(post.invoice_number.clone(), next_index);
        order.list.push(next_index);
        let visible_at = chrono::Duration::from_std(propagation)
            .ok()
            .and_then(|d| date.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.invoices.push(Record {
            state: InvoiceState {
                order_id: order_id.to_string(),
                invoice_number: post.invoice_number,
                invoice_type: post.invoice_type,
                value: post.invoice_value,
                issuance_date: post.issuance_date,
                receipt: receipt.clone(),
                invoice_key: post.invoice_key,
                invoice_url: post.invoice_url,
                embedded_invoice: post.embedded_invoice,
                courier: post.courier,
                tracking_number: post.tracking_number,
                tracking_url: post.tracking_url,
                dispatched_date: post.dispatched_date,
                items: post.items,
                accepted_at: date,
                visible_at,
                history: vec![HistoryEvent {
                    event: EventKind::Posted,
                    at: date,
                    receipt: receipt.clone(),
                }],
            },
            visible: now.checked_add(propagation),
        });
        self.counters.applied += 1;
        Ok(Receipt { receipt, date })
    }

    /// Applies a tracking PATCH to an invoice already on the order.
    pub fn patch_tracking(
        &mut self,
        order_id: &str,
        invoice_number: &str,
        patch: TrackingPatch,
    ) -> Result<Receipt, StoreError> {
        let order = self.orders.get(order_id);
        if order.is_none() && !self.any_order {
            return Err(StoreError::OrderNotFound);
        }
        let not_found = || StoreError::InvoiceNotFound {
            order_id: order_id.to_string(),
            invoice_number: invoice_number.to_string(),
        };
        let index = *order
            .and_then(|o| o.by_number.get(invoice_number))
            .ok_or_else(not_found)?;
        let record = self.invoices.get_mut(index).ok_or_else(not_found)?;
        let date = Utc::now();
        let receipt = new_receipt();
        let state = &mut record.state;
        state.tracking_number = Some(patch.tracking_number);
        state.tracking_url = patch.tracking_url;
        state.courier = patch.courier;
        state.dispatched_date = patch.dispatched_date;
        state.history.push(HistoryEvent {
            event: EventKind::Tracking,
            at: date,
            receipt: receipt.clone(),
        });
        self.counters.tracking_updates += 1;
        Ok(Receipt { receipt, date })
    }

    /// The order as `GET /api/oms/pvt/orders/{orderId}` shows it: a subset of the spec's
    /// Order object, listing only invoices whose propagation delay has passed.
    pub fn order_view(&self, order_id: &str, now: Instant) -> Result<Value, StoreError> {
        let order = match self.orders.get(order_id) {
            Some(order) => Some(order),
            None if self.any_order => None,
            None => return Err(StoreError::OrderNotFound),
        };
        let visible: Vec<&InvoiceState> = order
            .map(|o| {
                o.list
                    .iter()
                    .filter_map(|&i| self.invoices.get(i))
                    .filter(|r| r.visible.is_some_and(|v| v <= now))
                    .map(|r| &r.state)
                    .collect()
            })
            .unwrap_or_default();
        let value = order.and_then(|o| o.value);
        let output_total: i64 = visible
            .iter()
            .filter(|i| i.invoice_type == InvoiceType::Output)
            .map(|i| i.value)
            .sum();
        let invoiced = match value {
            Some(v) => output_total >= v && output_total > 0,
            None => output_total > 0,
        };
        let packages: Vec<Value> = visible.iter().map(|i| package(i)).collect();
        let mut view = json!({
            "orderId": order_id,
            "status": if invoiced { "invoiced" } else { "handling" },
            "packageAttachment": { "packages": packages },
        });
        if let (Some(v), Some(obj)) = (value, view.as_object_mut()) {
            obj.insert("value".to_string(), json!(v));
        }
        Ok(view)
    }

    /// Counts one API request.
    pub fn record(&mut self, route: Route, outcome: Outcome) {
        *self.requests.entry((route, outcome)).or_default() += 1;
    }

    pub fn record_rate_limited(&mut self) {
        self.counters.rate_limited += 1;
    }

    pub fn record_fault(&mut self, kind: FaultKind) {
        *self
            .counters
            .faults
            .entry(kind.name().to_string())
            .or_default() += 1;
    }

    pub fn snapshot(&self) -> StateSnapshot {
        let mut counters = self.counters.clone();
        for (&(route, outcome), &n) in &self.requests {
            let status = match outcome {
                Outcome::Status(code) => code.to_string(),
                Outcome::Dropped => "dropped".to_string(),
            };
            counters
                .requests
                .insert(format!("{} {} {}", route.method(), route.name(), status), n);
        }
        StateSnapshot {
            invoices: self.invoices.iter().map(|r| r.state.clone()).collect(),
            counters,
        }
    }
}

/// One entry of `packageAttachment.packages`, typed as the spec's Order schema says
/// (`invoiceValue` is an integer there, unlike in the POST body).
fn package(i: &InvoiceState) -> Value {
    let items: Vec<Value> = i
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            json!({
                "itemIndex": index,
                "id": item.id,
                "quantity": item.quantity,
                "price": item.price,
                "description": item.description,
            })
        })
        .collect();
    json!({
        "invoiceNumber": i.invoice_number,
        "invoiceValue": i.value,
        "type": i.invoice_type.as_str(),
        "issuanceDate": i.issuance_date,
        "invoiceKey": i.invoice_key,
        "invoiceUrl": i.invoice_url,
        "embeddedInvoice": i.embedded_invoice.as_deref().unwrap_or(""),
        "courier": i.courier,
        "trackingNumber": i.tracking_number,
        "trackingUrl": i.tracking_url,
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::validate::InvoiceItem;

    fn post(number: &str, value: i64, invoice_type: InvoiceType) -> InvoicePost {
        InvoicePost {
            invoice_type,
            issuance_date: "2024-01-31T18:25:43-05:00".into(),
            invoice_number: number.into(),
            invoice_value: value,
            invoice_key: None,
            invoice_url: None,
            embedded_invoice: None,
            courier: None,
            tracking_number: None,
            tracking_url: None,
            dispatched_date: None,
            items: vec![InvoiceItem {
                id: "1".into(),
                price: value,
                quantity: 1,
                description: None,
            }],
        }
    }

    fn known(values: &[(&str, Option<i64>)]) -> Orders {
        Orders::Known(values.iter().map(|(k, v)| (k.to_string(), *v)).collect())
    }

    #[test]
    fn repost_changes_only_the_receipt() {
        let mut store = Store::new(&Orders::Any);
        let now = Instant::now();
        let first = store
            .post_invoice(
                "o",
                post("1", 100, InvoiceType::Output),
                now,
                Duration::ZERO,
            )
            .unwrap();
        let second = store
            .post_invoice("o", post("1", 999, InvoiceType::Input), now, Duration::ZERO)
            .unwrap();
        assert_ne!(first.receipt, second.receipt);
        assert_eq!(first.receipt.len(), 32);
        assert!(first.receipt.bytes().all(|b| b.is_ascii_hexdigit()));
        let snap = store.snapshot();
        let inv = snap.invoice("o", "1").unwrap();
        assert_eq!(inv.value, 100);
        assert_eq!(inv.invoice_type, InvoiceType::Output);
        assert_eq!(inv.receipt, second.receipt);
        assert_eq!(inv.history.len(), 2);
        assert_eq!(inv.history[1].event, EventKind::Reposted);
        assert_eq!(snap.counters.applied, 1);
        assert_eq!(snap.counters.reposts, 1);
    }

    #[test]
    fn unknown_orders_are_refused_when_orders_are_known() {
        let mut store = Store::new(&known(&[("a", None)]));
        let now = Instant::now();
        assert_eq!(
            store.post_invoice("b", post("1", 1, InvoiceType::Output), now, Duration::ZERO),
            Err(StoreError::OrderNotFound)
        );
        assert_eq!(store.order_view("b", now), Err(StoreError::OrderNotFound));
        assert!(store.order_view("a", now).is_ok());
    }

    #[test]
    fn output_invoices_may_not_exceed_the_order_value() {
        let mut store = Store::new(&known(&[("a", Some(1000))]));
        let now = Instant::now();
        let zero = Duration::ZERO;
        assert!(
            store
                .post_invoice("a", post("1", 600, InvoiceType::Output), now, zero)
                .is_ok()
        );
        assert!(matches!(
            store.post_invoice("a", post("2", 401, InvoiceType::Output), now, zero),
            Err(StoreError::ValueExceeded {
                invoiced: 600,
                value: 401,
                order_value: 1000
            })
        ));
        // Returns are not sales; they do not count against the order value.
        assert!(
            store
                .post_invoice("a", post("3", 5000, InvoiceType::Input), now, zero)
                .is_ok()
        );
        assert!(
            store
                .post_invoice("a", post("4", 400, InvoiceType::Output), now, zero)
                .is_ok()
        );
        let view = store.order_view("a", now).unwrap();
        assert_eq!(view["status"], "invoiced");
        assert_eq!(view["value"], 1000);
        assert_eq!(
            view["packageAttachment"]["packages"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn invoices_show_only_after_the_propagation_delay() {
        let mut store = Store::new(&Orders::Any);
        let now = Instant::now();
        let delay = Duration::from_secs(2);
        store
            .post_invoice("o", post("1", 100, InvoiceType::Output), now, delay)
            .unwrap();
        let before = store.order_view("o", now + Duration::from_secs(1)).unwrap();
        assert_eq!(before["packageAttachment"]["packages"], json!([]));
        assert_eq!(before["status"], "handling");
        let after = store.order_view("o", now + delay).unwrap();
        let package = &after["packageAttachment"]["packages"][0];
        assert_eq!(package["invoiceNumber"], "1");
        assert_eq!(package["invoiceValue"], 100);
        assert_eq!(package["items"][0]["itemIndex"], 0);
    }

    #[test]
    fn tracking_needs_an_existing_invoice() {
        let mut store = Store::new(&Orders::Any);
        let patch = TrackingPatch {
            tracking_number: "T1".into(),
            tracking_url: None,
            courier: Some("c".into()),
            dispatched_date: None,
        };
        assert!(matches!(
            store.patch_tracking("o", "1", patch.clone()),
            Err(StoreError::InvoiceNotFound { .. })
        ));
        store
            .post_invoice(
                "o",
                post("1", 100, InvoiceType::Output),
                Instant::now(),
                Duration::ZERO,
            )
            .unwrap();
        store.patch_tracking("o", "1", patch).unwrap();
        let snap = store.snapshot();
        assert_eq!(
            snap.invoice("o", "1").unwrap().tracking_number.as_deref(),
            Some("T1")
        );
        assert_eq!(snap.counters.tracking_updates, 1);
    }

    #[test]
    fn snapshot_round_trips_through_json() {
        let mut store = Store::new(&Orders::Any);
        store
            .post_invoice(
                "o",
                post("1", 100, InvoiceType::Output),
                Instant::now(),
                Duration::ZERO,
            )
            .unwrap();
        store.record(Route::PostInvoice, Outcome::Status(200));
        store.record(Route::PostInvoice, Outcome::Dropped);
        store.record_fault(FaultKind::DropAfterApply);
        let snap = store.snapshot();
        assert_eq!(snap.requests("POST post_invoice 200"), 1);
        assert_eq!(snap.requests("POST post_invoice dropped"), 1);
        assert_eq!(snap.faults(FaultKind::DropAfterApply), 1);
        let json = serde_json::to_string(&snap).unwrap();
        let back: StateSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, snap);
    }
}
