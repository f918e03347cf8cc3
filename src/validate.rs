//! Invoice rules. Only this module can build a [`ValidatedInvoice`], so whatever is submitted
//! has passed every rule: keys, date, items, a positive value that equals its items plus freight.

use std::collections::HashMap;
use std::hash::BuildHasher;

use crate::group::{Invoice, Problem, RowRef, Timestamp};
use crate::mapping::Field;
use crate::values::id::InvoiceType;

/// What a user can relax.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateOptions {
    /// Allow one invoice number on several orders of a batch.
    pub allow_shared_invoice_numbers: bool,
}

/// An item that passed: every field present, quantity > 0, unit price ≥ 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidItem {
    pub id: String,
    pub quantity: i64,
    /// Unit price in cents.
    pub price: i64,
    pub description: Option<String>,
}

/// An invoice that passed every rule. Fields are private to this module's constructor; read them
/// through the accessors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedInvoice {
    order_id: String,
    invoice_number: String,
    kind: InvoiceType,
    issuance_date: Timestamp,
    invoice_value: i64,
    invoice_key: Option<String>,
    invoice_url: Option<String>,
    courier: Option<String>,
    tracking_number: Option<String>,
    tracking_url: Option<String>,
    dispatched_date: Option<Timestamp>,
    items: Vec<ValidItem>,
    rows: Vec<RowRef>,
}

impl ValidatedInvoice {
    pub fn kind(&self) -> InvoiceType {
        self.kind
    }
    pub fn issuance_date(&self) -> &Timestamp {
        &self.issuance_date
    }
    /// The total in cents: Σ quantity × unit price + freight.
    pub fn invoice_value(&self) -> i64 {
        self.invoice_value
    }
    pub fn invoice_key(&self) -> Option<&str> {
        self.invoice_key.as_deref()
    }
    pub fn invoice_url(&self) -> Option<&str> {
        self.invoice_url.as_deref()
    }
    pub fn courier(&self) -> Option<&str> {
        self.courier.as_deref()
    }
    pub fn tracking_number(&self) -> Option<&str> {
        self.tracking_number.as_deref()
    }
    pub fn tracking_url(&self) -> Option<&str> {
        self.tracking_url.as_deref()
    }
    pub fn dispatched_date(&self) -> Option<&Timestamp> {
        self.dispatched_date.as_ref()
    }
    pub fn items(&self) -> &[ValidItem] {
        &self.items
    }
}

/// What every validated kind of request can tell about itself.
pub trait Validated {
    fn order_id(&self) -> &str;
    fn invoice_number(&self) -> &str;
    fn rows(&self) -> &[RowRef];
    /// Money this request moves, in cents (0 for a tracking update).
    fn value_cents(&self) -> i64;
}

impl Validated for ValidatedInvoice {
    fn order_id(&self) -> &str {
        &self.order_id
    }
    fn invoice_number(&self) -> &str {
        &self.invoice_number
    }
    fn rows(&self) -> &[RowRef] {
        &self.rows
    }
    fn value_cents(&self) -> i64 {
        self.invoice_value
    }
}

/// The verdict on one invoice (or tracking update).
#[derive(Debug, Clone)]
pub enum Checked<T = ValidatedInvoice> {
    Valid(T),
    /// The invoice as grouped, with every problem found (never empty). Boxed: it is the rare,
    /// large case, and a batch holds one `Checked` per invoice.
    Invalid(Box<Invoice>),
}

impl<T: Validated> Checked<T> {
    pub fn order_id(&self) -> &str {
        match self {
            Checked::Valid(v) => v.order_id(),
            Checked::Invalid(i) => &i.order_id,
        }
    }
    pub fn invoice_number(&self) -> &str {
        match self {
            Checked::Valid(v) => v.invoice_number(),
            Checked::Invalid(i) => &i.invoice_number,
        }
    }
    pub fn rows(&self) -> &[RowRef] {
        match self {
            Checked::Valid(v) => v.rows(),
            Checked::Invalid(i) => &i.rows,
        }
    }
}

/// A tracking update that passed: the invoice's keys and a tracking number, optional URL,
/// courier and dispatch date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedTracking {
    order_id: String,
    invoice_number: String,
    tracking_number: String,
    tracking_url: Option<String>,
    courier: Option<String>,
    dispatched_date: Option<Timestamp>,
    rows: Vec<RowRef>,
}

impl ValidatedTracking {
    pub fn tracking_number(&self) -> &str {
        &self.tracking_number
    }
    pub fn tracking_url(&self) -> Option<&str> {
        self.tracking_url.as_deref()
    }
    pub fn courier(&self) -> Option<&str> {
        self.courier.as_deref()
    }
    pub fn dispatched_date(&self) -> Option<&Timestamp> {
        self.dispatched_date.as_ref()
    }
}

impl Validated for ValidatedTracking {
    fn order_id(&self) -> &str {
        &self.order_id
    }
    fn invoice_number(&self) -> &str {
        &self.invoice_number
    }
    fn rows(&self) -> &[RowRef] {
        &self.rows
    }
    fn value_cents(&self) -> i64 {
        0
    }
}

/// Tracking rules, for one invoice: a tracking number is required; the rows of one invoice
/// must agree (grouping already reported any disagreement, on the invoice as a whole). Item
/// columns are ignored.
pub fn validate_tracking_one(mut invoice: Invoice) -> Checked<ValidatedTracking> {
    let first_row = invoice.rows.first().copied();
    if invoice.tracking_number.is_none()
        && !invoice
            .problems
            .iter()
            .any(|p| p.field == Some(Field::TrackingNumber))
    {
        invoice.problems.push(problem_at(
            first_row,
            Some(Field::TrackingNumber),
            "the tracking number is missing".into(),
        ));
    }
    // Item problems don't concern a tracking update.
    invoice.problems.retain(|p| {
        !matches!(
            p.field,
            Some(Field::ItemId | Field::ItemQuantity | Field::ItemPrice | Field::ItemDescription)
        )
    });
    match (invoice.problems.is_empty(), invoice.tracking_number.take()) {
        (true, Some(tracking)) => Checked::Valid(ValidatedTracking {
            tracking_number: tracking.value,
            tracking_url: invoice.tracking_url.map(|s| s.value),
            courier: invoice.courier.map(|s| s.value),
            dispatched_date: invoice.dispatched_date.map(|s| s.value),
            order_id: invoice.order_id,
            invoice_number: invoice.invoice_number,
            rows: invoice.rows,
        }),
        (_, tracking) => {
            invoice.tracking_number = tracking;
            Checked::Invalid(Box::new(invoice))
        }
    }
}

/// Applies every rule to every invoice, in order. An invoice with any problem, from reading or
/// from a rule here, is invalid as a whole: part of an invoice is never sent.
pub fn validate(invoices: Vec<Invoice>, opts: ValidateOptions) -> Vec<Checked> {
    let shared = SharedNumbers::find(
        invoices.len(),
        |i| {
            invoices
                .get(i)
                .map_or(("", ""), |inv| (&inv.order_id, &inv.invoice_number))
        },
        opts,
    );
    invoices
        .into_iter()
        .map(|invoice| validate_one(invoice, &shared))
        .collect()
}

/// Every rule for one invoice; `shared` comes from the whole batch.
pub fn validate_one(mut invoice: Invoice, shared: &SharedNumbers) -> Checked {
    match judge_one(&mut invoice, shared) {
        Some(judged) => Checked::Valid(request(invoice, judged)),
        None => Checked::Invalid(Box::new(invoice)),
    }
}

/// [`validate_one`]'s verdict without the request it builds: the invoice value in cents when
/// `invoice` is valid; `None` when it is not, with every problem found added to
/// `invoice.problems`. `check` judges this way, over one reused [`Invoice`]
/// ([`crate::group::Pending::get_for_verdict_into`]), and so allocates nothing per valid
/// invoice.
pub fn verdict(invoice: &mut Invoice, shared: &SharedNumbers) -> Option<i64> {
    judge_one(invoice, shared).map(|j| j.invoice_value)
}

/// What an invalid invoice is worth as far as its rows say: its invoice value when one was read
/// and is above zero; else, when every item has a quantity of at least one and a unit price not
/// below zero, their total plus freight; `None` when neither is known, or when two of its value
/// cells disagree. Finance learns how much money waits on the fixes, never a guess.
pub fn stated_value(invoice: &Invoice) -> Option<i64> {
    if let Some(given) = &invoice.invoice_value {
        // A problem with the value at another row: a second value cell that disagrees, or
        // that can't be read.
        let elsewhere = invoice.problems.iter().any(|p| {
            p.field == Some(Field::InvoiceValue)
                && (p.source, p.row) != (given.at.source, Some(given.at.row))
        });
        if elsewhere {
            return None;
        }
        if given.value > 0 {
            return Some(given.value);
        }
    }
    if invoice.items.is_empty() {
        return None;
    }
    let freight = invoice.freight.as_ref().map_or(0, |s| s.value);
    let mut total = (freight >= 0).then_some(freight)?;
    for item in &invoice.items {
        let (Some(quantity), Some(price)) = (item.quantity, item.price) else {
            return None;
        };
        if quantity < 1 || price < 0 {
            return None;
        }
        total = total.checked_add(quantity.checked_mul(price)?)?;
    }
    (total > 0).then_some(total)
}

fn judge_one(invoice: &mut Invoice, shared: &SharedNumbers) -> Option<Judged> {
    if let Some(orders) = shared.orders.get(invoice.invoice_number.as_str())
        && orders.iter().any(|(order, _)| *order != invoice.order_id)
    {
        let at = invoice.rows.first().copied();
        let message = shared_number_message(invoice, orders);
        invoice
            .problems
            .push(problem_at(at, Some(Field::InvoiceNumber), message));
    }
    if let Some(variants) = shared.variants.get(invoice.invoice_number.as_str()) {
        let others: Vec<&str> = variants
            .iter()
            .filter(|(order, _)| *order == invoice.order_id)
            .map(|(_, number)| number.as_str())
            .collect();
        if !others.is_empty() {
            let at = invoice.rows.first().copied();
            let message = variant_message(invoice, &others);
            invoice
                .problems
                .push(problem_at(at, Some(Field::InvoiceNumber), message));
        }
    }
    judge(invoice)
}

/// Invoice numbers that more than one order of the batch uses, as written or but for leading
/// zeros (`000123` on one order, `123` on another: one invoice to a person, and VTEX would book
/// it twice), with those orders in batch order; and numbers one order has written two ways.
#[derive(Debug, Default)]
pub struct SharedNumbers {
    /// Number → every (order, number as written) whose number is alike but for leading zeros,
    /// in batch order, when they are on more than one order.
    orders: HashMap<String, Vec<(String, String)>>,
    /// Number → (order, the order's other number that differs from it only in leading zeros).
    variants: HashMap<String, Vec<(String, String)>>,
}

use crate::values::id::unpadded;

impl SharedNumbers {
    /// From the keys (order id, invoice number) of a batch's `n` invoices, each key once. Keys
    /// are looked up through `key` rather than copied: a batch may have a million. With
    /// `allow_shared_invoice_numbers`, only the numbers written two ways on one order are
    /// found.
    ///
    /// On every core: the numbers are hashed in parallel, then each thread looks up the numbers
    /// whose hash falls in its share, in batch order, so every number is seen by one thread
    /// (1M-row file: 20 ms on one core, all of it waiting before judging can start).
    pub fn find<'a>(
        n: usize,
        key: impl Fn(usize) -> (&'a str, &'a str) + Sync,
        opts: ValidateOptions,
    ) -> SharedNumbers {
        let mut found = Self::find_in(n, key, rayon::current_num_threads());
        if opts.allow_shared_invoice_numbers {
            found.orders.clear();
        }
        found
    }

    /// [`Self::find`] with the numbers in `shares` shares.
    fn find_in<'a>(
        n: usize,
        key: impl Fn(usize) -> (&'a str, &'a str) + Sync,
        shares: usize,
    ) -> SharedNumbers {
        use rayon::prelude::*;
        let hasher = hashbrown::DefaultHashBuilder::default();
        let n = n.min(u32::MAX as usize);
        // Numbers that differ only in leading zeros hash alike, and meet in one share.
        let hashes: Vec<u64> = (0..n)
            .into_par_iter()
            .map(|i| hasher.hash_one(unpadded(key(i).1)))
            .collect();
        let shares = shares.clamp(1, 64) as u64;
        // The table takes its slot from the low bits and a tag from the top ones: the share
        // comes from the middle.
        let share = |hash: u64| (hash >> 32) % shares;
        let found: Vec<HashMap<usize, Vec<usize>>> = (0..shares)
            .into_par_iter()
            .map(|mine| {
                // u32 indexes: this table exists beside the batch at its peak.
                let mut first: hashbrown::HashTable<u32> =
                    hashbrown::HashTable::with_capacity(n / shares as usize + 1);
                let mut also: HashMap<usize, Vec<usize>> = HashMap::new();
                for (i, &hash) in hashes.iter().enumerate() {
                    if share(hash) != mine {
                        continue;
                    }
                    let number = unpadded(key(i).1);
                    match first.find(hash, |&j| unpadded(key(j as usize).1) == number) {
                        Some(&j) => also.entry(j as usize).or_default().push(i),
                        None => {
                            let rehash = |&j: &u32| hashes.get(j as usize).copied().unwrap_or(0);
                            first.insert_unique(hash, i as u32, rehash);
                        }
                    }
                }
                also
            })
            .collect();
        let mut shared = SharedNumbers::default();
        for (j, others) in found.into_iter().flatten() {
            // Every invoice whose number is the same but for leading zeros, in batch order.
            let mut alike = Vec::with_capacity(others.len() + 1);
            alike.push(key(j));
            alike.extend(others.into_iter().map(&key));
            shared.add_alike(&alike);
        }
        shared
    }

    /// Records a group of keys whose numbers are alike but for leading zeros.
    fn add_alike(&mut self, alike: &[(&str, &str)]) {
        let mut numbers: Vec<&str> = alike.iter().map(|&(_, number)| number).collect();
        numbers.sort_unstable();
        numbers.dedup();
        let mut orders: Vec<&str> = alike.iter().map(|&(order, _)| order).collect();
        orders.sort_unstable();
        orders.dedup();
        if orders.len() > 1 {
            let all: Vec<(String, String)> = alike
                .iter()
                .map(|&(order, number)| (order.to_string(), number.to_string()))
                .collect();
            for &number in &numbers {
                self.orders.insert(number.to_string(), all.clone());
            }
        }
        if numbers.len() < 2 {
            return;
        }
        // Written two ways on one order: keys are unique, so two keys of one order here have
        // numbers that differ.
        let mut by_order: Vec<(&str, &str)> = alike.to_vec();
        by_order.sort_unstable();
        for run in by_order.chunk_by(|a, b| a.0 == b.0) {
            if run.len() < 2 {
                continue;
            }
            for &(order, number) in run {
                let others = run
                    .iter()
                    .filter(|&&(_, other)| other != number)
                    .take(SHARED_ORDERS_SHOWN)
                    .map(|&(_, other)| (order.to_string(), other.to_string()));
                self.variants
                    .entry(number.to_string())
                    .or_default()
                    .extend(others);
            }
        }
    }
}

/// How many other orders a shared-number message names: thousands of orders on one number (a
/// column mapped wrongly) must not make every message list every order.
const SHARED_ORDERS_SHOWN: usize = 5;

fn shared_number_message(invoice: &Invoice, orders: &[(String, String)]) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut others = orders
        .iter()
        .filter(|(order, _)| *order != invoice.order_id && seen.insert(order.as_str()));
    let shown: Vec<String> = others
        .by_ref()
        .take(SHARED_ORDERS_SHOWN)
        .map(|(order, number)| match *number == invoice.invoice_number {
            true => order.clone(),
            false => format!("{order} (written '{number}')"),
        })
        .collect();
    let more = others.count();
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(
        "invoice number {} is also used by order {}{more} in this batch; VTEX would book two \
         invoices (use --allow-shared-invoice-numbers if that is intended)",
        invoice.invoice_number,
        shown.join(", ")
    )
}

fn variant_message(invoice: &Invoice, others: &[&str]) -> String {
    let others: Vec<String> = others.iter().map(|n| format!("'{n}'")).collect();
    format!(
        "invoice number '{}' and {} of order {} differ only in leading zeros: one invoice \
         written two ways (a spreadsheet that dropped the zeros?); VTEX would book them as two \
         invoices. Write the number the same way on every row",
        invoice.invoice_number,
        others.join(", "),
        invoice.order_id
    )
}

fn problem_at(at: Option<RowRef>, field: Option<Field>, message: String) -> Problem {
    Problem {
        source: at.map(|r| r.source).unwrap_or(0),
        row: at.map(|r| r.row),
        field,
        message,
    }
}

/// Cents as `invoice`'s file writes amounts (`1,234.56` or `1.234,56`).
fn money_of(invoice: &Invoice) -> impl Fn(i64) -> String + use<> {
    let comma = invoice.decimal_comma;
    move |cents| crate::report::money_in(cents, comma)
}

/// What a valid invoice's request takes that the rules work out.
struct Judged {
    issuance_date: Timestamp,
    invoice_value: i64,
}

/// Applies the per-invoice rules: `Some` when `invoice` is valid, else `None` with every problem
/// in `invoice.problems` (never empty then).
///
/// `check` judges invoices built without their item ids' and descriptions' text
/// ([`crate::group::Pending::get_for_verdict`]): a rule here may ask whether an item has an id,
/// never what it says.
fn judge(invoice: &mut Invoice) -> Option<Judged> {
    let money = money_of(invoice);
    let first_row = invoice.rows.first().copied();
    let mut problems = std::mem::take(&mut invoice.problems);

    let issuance_date = invoice.issuance_date.as_ref().map(|s| s.value);
    if issuance_date.is_none()
        && !problems
            .iter()
            .any(|p| p.field == Some(Field::IssuanceDate))
    {
        problems.push(problem_at(
            first_row,
            Some(Field::IssuanceDate),
            "the issuance date is missing".into(),
        ));
    }

    let mut total: Option<i64> = Some(0);
    for item in &invoice.items {
        let at = Some(item.at);
        let mut ok = true;
        // A cell that could not be read was reported as such; "missing" would say it twice.
        let unread = |field: Field| {
            problems.iter().any(|p| {
                p.field == Some(field) && p.row == Some(item.at.row) && p.source == item.at.source
            })
        };
        let (id_unread, quantity_unread, price_unread) = (
            unread(Field::ItemId),
            unread(Field::ItemQuantity),
            unread(Field::ItemPrice),
        );
        if item.id.is_none() && id_unread {
            ok = false;
        } else if item.id.is_none() {
            problems.push(problem_at(
                at,
                Some(Field::ItemId),
                "the item id (SKU) is missing".into(),
            ));
            ok = false;
        }
        match item.quantity {
            None if quantity_unread => ok = false,
            None => {
                problems.push(problem_at(
                    at,
                    Some(Field::ItemQuantity),
                    "the quantity is missing".into(),
                ));
                ok = false;
            }
            Some(q) if q <= 0 => {
                problems.push(problem_at(
                    at,
                    Some(Field::ItemQuantity),
                    format!("the quantity is {q}; it must be a whole number above zero"),
                ));
                ok = false;
            }
            Some(_) => {}
        }
        match item.price {
            None if price_unread => ok = false,
            None => {
                problems.push(problem_at(
                    at,
                    Some(Field::ItemPrice),
                    "the unit price is missing".into(),
                ));
                ok = false;
            }
            Some(p) if p < 0 => {
                problems.push(problem_at(
                    at,
                    Some(Field::ItemPrice),
                    format!("the unit price is {}; it can't be negative", money(p)),
                ));
                ok = false;
            }
            Some(_) => {}
        }
        if let (true, Some(_), Some(quantity), Some(price)) =
            (ok, &item.id, item.quantity, item.price)
        {
            // An amount past i64 cents is an error of its row, never a silent `None`.
            let Some(line) = quantity.checked_mul(price) else {
                problems.push(problem_at(
                    at,
                    Some(Field::ItemPrice),
                    format!(
                        "quantity × unit price ({quantity} × {}) is too large to be an amount",
                        money(price)
                    ),
                ));
                total = None;
                continue;
            };
            if let Some(t) = total {
                total = t.checked_add(line);
                if total.is_none() {
                    problems.push(problem_at(
                        at,
                        Some(Field::ItemPrice),
                        "the items up to this row add up to more than an amount can hold".into(),
                    ));
                }
            }
        } else {
            total = None;
        }
    }
    if invoice.items.is_empty() {
        problems.push(problem_at(
            first_row,
            Some(Field::ItemId),
            "the invoice has no items (each row needs an item id, quantity and unit price)".into(),
        ));
        total = None;
    }

    let freight = invoice.freight.as_ref().map(|s| s.value).unwrap_or(0);
    if freight < 0 {
        let at = invoice.freight.as_ref().map(|s| s.at);
        problems.push(problem_at(
            at,
            Some(Field::Freight),
            format!("the freight is {}; it can't be negative", money(freight)),
        ));
    }
    let expected = total.and_then(|t| t.checked_add(freight));
    if total.is_some() && expected.is_none() {
        problems.push(problem_at(
            first_row,
            Some(Field::InvoiceValue),
            "the invoice total is too large".into(),
        ));
    }
    let value = match (&invoice.invoice_value, expected) {
        (Some(given), Some(expected)) if given.value != expected => {
            let freight_note = if invoice.freight.is_some() {
                format!(" + freight {}", money(freight))
            } else {
                String::new()
            };
            problems.push(problem_at(
                Some(given.at),
                Some(Field::InvoiceValue),
                format!(
                    "the invoice value is {} but its items add up to {} (Σ quantity × unit price{}); \
                     difference {}",
                    money(given.value),
                    money(expected),
                    freight_note,
                    money(given.value - expected),
                ),
            ));
            None
        }
        (Some(given), _) => Some(given.value),
        (None, expected) => expected,
    };
    if let Some(v) = value
        && v <= 0
    {
        let problem = match &invoice.invoice_value {
            Some(given) => problem_at(
                Some(given.at),
                Some(Field::InvoiceValue),
                format!(
                    "the invoice value is {}; it must be greater than zero",
                    money(v)
                ),
            ),
            // Computed: located at the prices it comes from, not at a column the file lacks.
            None => problem_at(
                first_row,
                Some(Field::ItemPrice),
                format!(
                    "the items add up to {} (Σ quantity × unit price{}); an invoice must be \
                     worth more than zero",
                    money(v),
                    if invoice.freight.is_some() {
                        " + freight"
                    } else {
                        ""
                    }
                ),
            ),
        };
        problems.push(problem);
    }

    match (problems.is_empty(), issuance_date, value) {
        (true, Some(issuance_date), Some(invoice_value)) => {
            // Empty, but with its memory, for the next invoice built over this one.
            invoice.problems = problems;
            Some(Judged {
                issuance_date,
                invoice_value,
            })
        }
        _ => {
            if problems.is_empty() {
                // Unreachable by the rules above, but an invalid invoice must always say why.
                problems.push(problem_at(
                    first_row,
                    None,
                    "the invoice is incomplete".into(),
                ));
            }
            invoice.problems = problems;
            None
        }
    }
}

/// The request for an invoice [`judge`] found valid.
fn request(invoice: Invoice, judged: Judged) -> ValidatedInvoice {
    ValidatedInvoice {
        // A valid invoice's every item has its id, quantity and price (each missing one is a
        // problem), so none is dropped here.
        items: invoice
            .items
            .into_iter()
            .filter_map(|item| {
                Some(ValidItem {
                    id: item.id?,
                    quantity: item.quantity?,
                    price: item.price?,
                    description: item.description,
                })
            })
            .collect(),
        kind: invoice
            .kind
            .as_ref()
            .map(|s| s.value)
            .unwrap_or(InvoiceType::Output),
        order_id: invoice.order_id,
        invoice_number: invoice.invoice_number,
        issuance_date: judged.issuance_date,
        invoice_value: judged.invoice_value,
        invoice_key: invoice.invoice_key.map(|s| s.value),
        invoice_url: invoice.invoice_url.map(|s| s.value),
        courier: invoice.courier.map(|s| s.value),
        tracking_number: invoice.tracking_number.map(|s| s.value),
        tracking_url: invoice.tracking_url.map(|s| s.value),
        dispatched_date: invoice.dispatched_date.map(|s| s.value),
        rows: invoice.rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::{Item, RowRef, Sourced};
    use proptest::prelude::*;

    #[test]
    fn an_invalid_invoice_is_worth_what_its_rows_say_or_nothing_known() {
        let at = RowRef { source: 0, row: 2 };
        let item = |quantity, price| Item {
            id: Some(String::from("S")),
            quantity,
            price,
            description: None,
            at,
        };
        let mut invoice = Invoice {
            items: vec![item(Some(2), Some(150)), item(Some(1), Some(100))],
            freight: Some(Sourced { value: 50, at }),
            ..Invoice::default()
        };
        assert_eq!(stated_value(&invoice), Some(450));
        // The invoice's own value wins over its items, as long as it is an amount above zero.
        invoice.invoice_value = Some(Sourced { value: 999, at });
        assert_eq!(stated_value(&invoice), Some(999));
        // Not above zero: the items say it.
        invoice.invoice_value = Some(Sourced { value: -1, at });
        assert_eq!(stated_value(&invoice), Some(450));
        // Two value cells that disagree: unknown, not the first of them.
        invoice.invoice_value = Some(Sourced { value: 999, at });
        invoice.problems.push(Problem {
            source: 0,
            row: Some(3),
            field: Some(Field::InvoiceValue),
            message: String::from("invoice_value is '9.00' here but '9.99' on row 2"),
        });
        assert_eq!(stated_value(&invoice), None);
        invoice.problems.clear();
        invoice.invoice_value = None;
        // An item that can't be counted makes the total unknown, not smaller.
        for bad in [
            item(None, Some(100)),
            item(Some(0), Some(100)),
            item(Some(1), None),
        ] {
            invoice.items.push(bad);
            assert_eq!(stated_value(&invoice), None);
            invoice.items.pop();
        }
        invoice.items = vec![item(Some(i64::MAX), Some(2))];
        assert_eq!(stated_value(&invoice), None);
        invoice.items.clear();
        assert_eq!(stated_value(&invoice), None);
    }

    /// A bug: `000123` and `123` on one order (one file kept the zeros, a spreadsheet dropped
    /// them from the other) were two invoices, and VTEX booked both.
    #[test]
    fn numbers_one_order_writes_two_ways_are_a_problem_of_both() {
        let keys = [
            ("A", "000123"),
            ("A", "123"),
            ("B", "123"),
            ("C", "0123"),
            ("D", "0"),
        ];
        let key = |i: usize| keys.get(i).copied().unwrap_or(("", ""));
        let found = SharedNumbers::find_in(keys.len(), key, 2);
        let mut variants: Vec<(&str, Vec<(String, String)>)> = found
            .variants
            .iter()
            .map(|(n, v)| (n.as_str(), v.clone()))
            .collect();
        variants.sort();
        assert_eq!(
            variants,
            vec![
                ("000123", vec![("A".into(), "123".into())]),
                ("123", vec![("A".into(), "000123".into())]),
            ]
        );
        // A bug too: `0123` on C was not the `123` of A and B.
        let group: Vec<(String, String)> = keys[..4]
            .iter()
            .map(|&(o, n)| (o.to_string(), n.to_string()))
            .collect();
        for number in ["000123", "123", "0123"] {
            assert_eq!(found.orders.get(number), Some(&group), "{number}");
        }
        assert_eq!(found.orders.len(), 3);
        let mut invoice = Invoice {
            order_id: "C".into(),
            invoice_number: "0123".into(),
            ..Invoice::default()
        };
        assert_eq!(verdict(&mut invoice, &found), None);
        let message = &invoice.problems.first().expect("a problem").message;
        assert!(
            message.starts_with(
                "invoice number 0123 is also used by order A (written '000123'), B (written \
                 '123') in this batch"
            ),
            "{message}"
        );
        // Allowed to share numbers across orders: still one invoice written two ways.
        let allowed = SharedNumbers::find(
            keys.len(),
            key,
            ValidateOptions {
                allow_shared_invoice_numbers: true,
            },
        );
        assert!(allowed.orders.is_empty());
        assert_eq!(allowed.variants.len(), 2);
        let mut invoice = Invoice {
            order_id: "A".into(),
            invoice_number: "123".into(),
            ..Invoice::default()
        };
        assert_eq!(verdict(&mut invoice, &allowed), None);
        let message = &invoice.problems.first().expect("a problem").message;
        assert!(
            message.starts_with(
                "invoice number '123' and '000123' of order A differ only in leading zeros"
            ),
            "{message}"
        );
    }

    proptest! {
        /// Every share count finds what one pass over the keys in batch order finds.
        #[test]
        fn shared_numbers_in_shares_are_found_as_in_one_pass(
            keys in proptest::collection::btree_set((0u8..40, 0u8..25, 0usize..3), 0..200),
            shares in 1usize..6,
        ) {
            // Distinct keys, in an order that is not sorted by number; some numbers padded
            // with zeros.
            let mut keys: Vec<(String, String)> = keys
                .into_iter()
                .map(|(o, n, zeros)| (format!("O{o}"), format!("{}N{n}", "0".repeat(zeros))))
                .collect();
            keys.sort();
            keys.dedup();
            keys.reverse();
            // Every number alike but for leading zeros to numbers on another order: all of
            // them, in batch order.
            let mut expected: HashMap<String, Vec<(String, String)>> = HashMap::new();
            for (order, number) in &keys {
                let alike: Vec<(String, String)> = keys
                    .iter()
                    .filter(|(_, n)| n.trim_start_matches('0') == number.trim_start_matches('0'))
                    .cloned()
                    .collect();
                if alike.iter().any(|(o, _)| o != order) {
                    expected.insert(number.clone(), alike);
                }
            }
            let mut variants: HashMap<String, Vec<(String, String)>> = HashMap::new();
            for (order, number) in &keys {
                for (other_order, other) in &keys {
                    if order == other_order && number != other
                        && number.trim_start_matches('0') == other.trim_start_matches('0')
                    {
                        variants.entry(number.clone()).or_default()
                            .push((order.clone(), other.clone()));
                    }
                }
            }
            let found = SharedNumbers::find_in(
                keys.len(),
                |i| keys.get(i).map_or(("", ""), |(o, n)| (o.as_str(), n.as_str())),
                shares,
            );
            prop_assert_eq!(found.orders, expected);
            let mut found_variants = found.variants;
            for v in found_variants.values_mut().chain(variants.values_mut()) {
                v.sort();
            }
            prop_assert_eq!(found_variants, variants);
        }
    }
}
