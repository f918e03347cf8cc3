//! One file's invoices while it is read: keys, invoice-level readings and items in a few flat
//! arrays and one text buffer, so a row costs no allocation of its own; then, once the file's
//! conventions are settled, each invoice is built on demand.

use std::collections::HashMap;
use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::parse::{ParsedRow, RowBatch, Span, TEXT_FIELDS, Votes, text};
use super::{Invoice, Item, LoadOptions, Problem, RowRef, Shown, Sourced, Timestamp, disagreement};
use crate::mapping::Field;
use crate::values::date::{self, DateFormat, DateReading, DayOrder, DayOrderVote};
use crate::values::id::InvoiceType;
use crate::values::money::{self, DecimalSeparator, MoneyReading, SeparatorVote};

/// End of a linked list.
const NIL: u32 = u32::MAX;

/// The most text one file may keep (ids, descriptions and other free text; not the file's
/// size): offsets are 32-bit to keep a million-row file's invoices smaller than the file.
const MAX_TEXT: usize = u32::MAX as usize;

/// An invoice-level value as first read, and the row it came from.
type First<T> = Option<(T, u64)>;

#[derive(Debug)]
struct PendingInvoice {
    order: Span,
    number: Span,
    /// Items and item-less rows, each a list in file order.
    first_item: u32,
    last_item: u32,
    first_bare: u32,
    last_bare: u32,
    kind: First<InvoiceType>,
    issuance: First<DateReading>,
    value: First<MoneyReading>,
    freight: First<MoneyReading>,
    dispatched: First<DateReading>,
    /// Index into `FileStore::texts`, or `NIL`: most files have none of these columns.
    texts: u32,
}

#[derive(Debug)]
struct PendingItem {
    next: u32,
    id: Option<Span>,
    description: Option<Span>,
    row: u64,
    quantity: Option<i64>,
    price: Option<MoneyReading>,
}

#[derive(Debug)]
struct BareRow {
    next: u32,
    row: u64,
}

/// A value that differs, as read, from the first one of its invoice. It may still agree once
/// settled ("10" and "10,00"), so the comparison is made again then. Rare, so kept aside.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Other {
    Kind(InvoiceType, u64),
    Issuance(DateReading, u64),
    Value(MoneyReading, u64),
    Freight(MoneyReading, u64),
    Dispatched(DateReading, u64),
    Text(usize, Span, u64),
}

/// One file's pending invoices.
pub(super) struct FileStore {
    source: u32,
    text: String,
    hasher: hashbrown::DefaultHashBuilder,
    index: HashTable<u32>,
    invoices: Vec<PendingInvoice>,
    items: Vec<PendingItem>,
    bare: Vec<BareRow>,
    texts: Vec<[First<Span>; TEXT_FIELDS.len()]>,
    others: HashMap<u32, Vec<Other>>,
    problems: HashMap<u32, Vec<Problem>>,
    pub row_errors: Vec<Problem>,
    /// Set when the text would outgrow `MAX_TEXT`; the file is then refused.
    pub overflow: bool,
}

impl FileStore {
    pub fn new(source: u32) -> Self {
        FileStore {
            source,
            text: String::new(),
            hasher: hashbrown::DefaultHashBuilder::default(),
            index: HashTable::new(),
            invoices: Vec::new(),
            items: Vec::new(),
            bare: Vec::new(),
            texts: Vec::new(),
            others: HashMap::new(),
            problems: HashMap::new(),
            row_errors: Vec::new(),
            overflow: false,
        }
    }

    pub fn len(&self) -> usize {
        self.invoices.len()
    }

    /// (order id, invoice number) of invoice `i`.
    pub fn key(&self, i: usize) -> (&str, &str) {
        match self.invoices.get(i) {
            Some(inv) => (text(&self.text, inv.order), text(&self.text, inv.number)),
            None => ("", ""),
        }
    }

    /// The invoice with this key, if the file has it.
    fn find(&self, hash: u64, order: &str, number: &str) -> Option<usize> {
        let (invoices, buf) = (&self.invoices, &self.text);
        self.index
            .find(hash, |&i| {
                invoices.get(i as usize).is_some_and(|inv| {
                    text(buf, inv.order) == order && text(buf, inv.number) == number
                })
            })
            .map(|&i| i as usize)
    }

    /// Copies `s` into the file's text.
    fn keep(&mut self, s: &str) -> Span {
        if self.text.len() + s.len() > MAX_TEXT {
            self.overflow = true;
            return Span::default();
        }
        // In range by the check above.
        let start = self.text.len() as u32;
        self.text.push_str(s);
        Span {
            start,
            len: s.len() as u32,
        }
    }

    /// Groups every row of `batch`.
    pub fn add_batch(&mut self, batch: &RowBatch) {
        let mut problems = batch.problems.iter();
        for row in &batch.rows {
            let own: Vec<Problem> = problems
                .by_ref()
                .take(row.problems as usize)
                .cloned()
                .collect();
            self.add(batch, row, own);
        }
    }

    fn add(&mut self, batch: &RowBatch, row: &ParsedRow, problems: Vec<Problem>) {
        let Some((order, number)) = row.key else {
            self.row_errors.extend(problems);
            return;
        };
        let (order, number) = (batch.str(order), batch.str(number));
        let hash = self.hasher.hash_one((order, number));
        let i = match self.find(hash, order, number) {
            Some(i) => i,
            None => self.insert(hash, order, number),
        };
        let id = i as u32;
        let n = row.number;
        if !problems.is_empty() {
            self.problems.entry(id).or_default().extend(problems);
        }
        let mut others = Vec::new();
        if let Some(inv) = self.invoices.get_mut(i) {
            set(&mut inv.kind, row.kind, n, |v, r| {
                others.push(Other::Kind(v, r))
            });
            set(&mut inv.issuance, row.issuance, n, |v, r| {
                others.push(Other::Issuance(v, r))
            });
            set(&mut inv.value, row.value, n, |v, r| {
                others.push(Other::Value(v, r))
            });
            set(&mut inv.freight, row.freight, n, |v, r| {
                others.push(Other::Freight(v, r))
            });
            set(&mut inv.dispatched, row.dispatched, n, |v, r| {
                others.push(Other::Dispatched(v, r))
            });
        }
        if row.texts.iter().any(Option::is_some) {
            self.set_texts(i, batch, row, &mut others);
        }
        if !others.is_empty() {
            self.keep_others(id, others, batch);
        }
        match &row.item {
            Some(item) => {
                let next = self.items.len() as u32;
                let id = item.id.map(|s| self.keep(batch.str(s)));
                let description = item.description.map(|s| self.keep(batch.str(s)));
                self.items.push(PendingItem {
                    next: NIL,
                    id,
                    description,
                    row: n,
                    quantity: item.quantity,
                    price: item.price,
                });
                let Some(inv) = self.invoices.get_mut(i) else {
                    return;
                };
                match self.items.get_mut(inv.last_item as usize) {
                    Some(last) => last.next = next,
                    None => inv.first_item = next,
                }
                inv.last_item = next;
            }
            None => {
                let next = self.bare.len() as u32;
                self.bare.push(BareRow { next: NIL, row: n });
                let Some(inv) = self.invoices.get_mut(i) else {
                    return;
                };
                match self.bare.get_mut(inv.last_bare as usize) {
                    Some(last) => last.next = next,
                    None => inv.first_bare = next,
                }
                inv.last_bare = next;
            }
        }
    }

    /// A new invoice for a key the file has not had before.
    fn insert(&mut self, hash: u64, order: &str, number: &str) -> usize {
        let i = self.invoices.len();
        let (order, number) = (self.keep(order), self.keep(number));
        self.invoices.push(PendingInvoice {
            order,
            number,
            first_item: NIL,
            last_item: NIL,
            first_bare: NIL,
            last_bare: NIL,
            kind: None,
            issuance: None,
            value: None,
            freight: None,
            dispatched: None,
            texts: NIL,
        });
        let (invoices, buf, hasher) = (&self.invoices, &self.text, &self.hasher);
        self.index.insert_unique(hash, i as u32, |&j| {
            let key = invoices.get(j as usize).map_or(("", ""), |inv| {
                (text(buf, inv.order), text(buf, inv.number))
            });
            hasher.hash_one(key)
        });
        i
    }

    fn set_texts(&mut self, i: usize, batch: &RowBatch, row: &ParsedRow, others: &mut Vec<Other>) {
        let Some(inv) = self.invoices.get_mut(i) else {
            return;
        };
        if inv.texts == NIL {
            inv.texts = self.texts.len() as u32;
            self.texts.push([None; TEXT_FIELDS.len()]);
        }
        let slots_at = inv.texts as usize;
        for (f, value) in row.texts.iter().enumerate() {
            let Some(span) = *value else { continue };
            let s = batch.str(span);
            let first = self
                .texts
                .get(slots_at)
                .and_then(|slots| slots.get(f).copied().flatten());
            match first {
                None => {
                    let kept = self.keep(s);
                    if let Some(slot) = self.texts.get_mut(slots_at).and_then(|t| t.get_mut(f)) {
                        *slot = Some((kept, row.number));
                    }
                }
                Some((first, _)) if text(&self.text, first) == s => {}
                Some(_) => others.push(Other::Text(f, span, row.number)),
            }
        }
    }

    /// Keeps the values that differ from their invoice's first, once each.
    fn keep_others(&mut self, id: u32, others: Vec<Other>, batch: &RowBatch) {
        for o in others {
            let seen = self
                .others
                .get(&id)
                .is_some_and(|kept| kept.iter().any(|k| same_other(k, &o, &self.text, batch)));
            if seen {
                continue;
            }
            let o = match o {
                // Batch text moves into the file's text.
                Other::Text(f, span, r) => Other::Text(f, self.keep(batch.str(span)), r),
                o => o,
            };
            self.others.entry(id).or_default().push(o);
        }
    }

    /// Turns the file's pending invoice `i` into an [`Invoice`] under the file's conventions.
    pub fn invoice(&self, i: usize, conv: &Conventions) -> Option<Invoice> {
        let p = self.invoices.get(i)?;
        let id = i as u32;
        let at = |row: u64| RowRef {
            source: self.source,
            row,
        };
        let mut problems = self.problems.get(&id).cloned().unwrap_or_default();
        let others: &[Other] = self.others.get(&id).map_or(&[], Vec::as_slice);

        let invoice_value = self.settle(
            p.value.as_ref(),
            others.iter().filter_map(|o| match o {
                Other::Value(v, r) => Some((v, *r)),
                _ => None,
            }),
            Field::InvoiceValue,
            &mut problems,
            |r| money_cents(r, &conv.value_sep),
        );
        let freight = self.settle(
            p.freight.as_ref(),
            others.iter().filter_map(|o| match o {
                Other::Freight(v, r) => Some((v, *r)),
                _ => None,
            }),
            Field::Freight,
            &mut problems,
            |r| money_cents(r, &conv.freight_sep),
        );
        let issuance_date = self.settle(
            p.issuance.as_ref(),
            others.iter().filter_map(|o| match o {
                Other::Issuance(v, r) => Some((v, *r)),
                _ => None,
            }),
            Field::IssuanceDate,
            &mut problems,
            |r| date_timestamp(r, &conv.issuance_order),
        );
        let dispatched_date = self.settle(
            p.dispatched.as_ref(),
            others.iter().filter_map(|o| match o {
                Other::Dispatched(v, r) => Some((v, *r)),
                _ => None,
            }),
            Field::DispatchedDate,
            &mut problems,
            |r| date_timestamp(r, &conv.dispatched_order),
        );
        let kind = self.settle(
            p.kind.as_ref(),
            others.iter().filter_map(|o| match o {
                Other::Kind(v, r) => Some((v, *r)),
                _ => None,
            }),
            Field::Type,
            &mut problems,
            |v| Ok(*v),
        );
        let slots = self.texts.get(p.texts as usize);
        let mut texts: [Option<Sourced<String>>; TEXT_FIELDS.len()] = Default::default();
        for (f, (out, field)) in texts.iter_mut().zip(TEXT_FIELDS).enumerate() {
            let first = slots.and_then(|s| s.get(f)).and_then(Option::as_ref);
            *out = self.settle(
                first,
                others.iter().filter_map(|o| match o {
                    Other::Text(g, span, r) if *g == f => Some((span, *r)),
                    _ => None,
                }),
                field,
                &mut problems,
                |span| Ok(text(&self.text, *span).to_string()),
            );
        }
        let [
            invoice_key,
            invoice_url,
            courier,
            tracking_number,
            tracking_url,
        ] = texts;

        let mut items = Vec::new();
        let mut next = p.first_item;
        while let Some(it) = self.items.get(next as usize) {
            let price = it
                .price
                .as_ref()
                .and_then(|r| match money_cents(r, &conv.price_sep) {
                    Ok(c) => Some(c),
                    Err(message) => {
                        problems.push(Problem {
                            source: self.source,
                            row: Some(it.row),
                            field: Some(Field::ItemPrice),
                            message,
                        });
                        None
                    }
                });
            items.push(Item {
                id: it.id.map(|s| text(&self.text, s).to_string()),
                quantity: it.quantity,
                price,
                description: it.description.map(|s| text(&self.text, s).to_string()),
                at: at(it.row),
            });
            next = it.next;
        }
        // Every row in file order: the item rows and the item-less ones, both lists sorted.
        let mut rows = Vec::with_capacity(items.len());
        let mut item_rows = items.iter().map(|it| it.at.row).peekable();
        let mut bare = p.first_bare;
        while let Some(b) = self.bare.get(bare as usize) {
            while let Some(r) = item_rows.next_if(|&r| r < b.row) {
                rows.push(at(r));
            }
            rows.push(at(b.row));
            bare = b.next;
        }
        rows.extend(item_rows.map(at));

        let (order_id, invoice_number) = self.key(i);
        Some(Invoice {
            order_id: order_id.to_string(),
            invoice_number: invoice_number.to_string(),
            kind,
            issuance_date,
            invoice_value,
            freight,
            invoice_key,
            invoice_url,
            courier,
            tracking_number,
            tracking_url,
            dispatched_date,
            items,
            rows,
            problems,
        })
    }

    /// Converts a slot's first value, then checks that every other value agrees with it.
    fn settle<'s, R: 's, T: PartialEq + Shown>(
        &self,
        first: Option<&(R, u64)>,
        others: impl Iterator<Item = (&'s R, u64)>,
        field: Field,
        problems: &mut Vec<Problem>,
        convert: impl Fn(&R) -> Result<T, String>,
    ) -> Option<Sourced<T>> {
        let (first, first_row) = first?;
        let at = |row: u64| RowRef {
            source: self.source,
            row,
        };
        let problem = |row: u64, message: String| Problem {
            source: self.source,
            row: Some(row),
            field: Some(field),
            message,
        };
        let first = match convert(first) {
            Ok(v) => v,
            Err(msg) => {
                problems.push(problem(*first_row, msg));
                return None;
            }
        };
        for (other, row) in others {
            match convert(other) {
                Ok(v) if v == first => {}
                Ok(v) => problems.push(disagreement(field, at(*first_row), &first, at(row), &v)),
                Err(msg) => problems.push(problem(row, msg)),
            }
        }
        Some(Sourced {
            value: first,
            at: at(*first_row),
        })
    }
}

/// Keeps the first value of a slot; hands a different one to `other`.
fn set<T: PartialEq + Copy>(
    slot: &mut First<T>,
    value: Option<T>,
    row: u64,
    mut other: impl FnMut(T, u64),
) {
    let Some(value) = value else { return };
    match slot {
        None => *slot = Some((value, row)),
        Some((first, _)) if *first == value => {}
        Some(_) => other(value, row),
    }
}

/// Whether a kept-aside value and a new one are the same reading (text compared as text: the
/// kept one is in the file's text, the new one in the batch's).
fn same_other(kept: &Other, new: &Other, file_text: &str, batch: &RowBatch) -> bool {
    match (kept, new) {
        (Other::Text(f, a, _), Other::Text(g, b, _)) => {
            f == g && text(file_text, *a) == batch.str(*b)
        }
        (Other::Kind(a, _), Other::Kind(b, _)) => a == b,
        (Other::Issuance(a, _), Other::Issuance(b, _)) => a == b,
        (Other::Value(a, _), Other::Value(b, _)) => a == b,
        (Other::Freight(a, _), Other::Freight(b, _)) => a == b,
        (Other::Dispatched(a, _), Other::Dispatched(b, _)) => a == b,
        _ => false,
    }
}

/// A file's conventions, settled from its columns' votes once every row is read.
pub(super) struct Conventions {
    value_sep: Result<DecimalSeparator, String>,
    price_sep: Result<DecimalSeparator, String>,
    freight_sep: Result<DecimalSeparator, String>,
    issuance_order: Result<DayOrder, String>,
    dispatched_order: Result<DayOrder, String>,
}

impl Conventions {
    pub fn settle(votes: &Votes, opts: &LoadOptions) -> Self {
        let sep = |vote: &SeparatorVote| -> Result<DecimalSeparator, String> {
            vote.resolve(opts.decimal).map_err(|e| e.to_string())
        };
        let order = |vote: &DayOrderVote| -> Result<DayOrder, String> {
            let forced = match &opts.date_format {
                Some(DateFormat::Order(o)) => Some(*o),
                _ => None,
            };
            vote.resolve(forced).map_err(|e| e.to_string())
        };
        Conventions {
            value_sep: sep(&votes.invoice_value),
            price_sep: sep(&votes.item_price),
            freight_sep: sep(&votes.freight),
            issuance_order: order(&votes.issuance_date),
            dispatched_order: order(&votes.dispatched_date),
        }
    }
}

/// A money reading in cents under the column's separator. When the column stayed ambiguous, only
/// the ambiguous values fail: for the others either separator gives the same cents.
fn money_cents(r: &MoneyReading, sep: &Result<DecimalSeparator, String>) -> Result<i64, String> {
    match sep {
        Ok(s) => r.cents(*s).map_err(|e| e.to_string()),
        Err(msg) if r.evidence() == money::Evidence::Ambiguous => Err(msg.clone()),
        Err(_) => r.cents(DecimalSeparator::Point).map_err(|e| e.to_string()),
    }
}

/// A date reading under the column's day/month order; as [`money_cents`] for ambiguity.
fn date_timestamp(r: &DateReading, order: &Result<DayOrder, String>) -> Result<Timestamp, String> {
    match order {
        Ok(o) => r.timestamp(*o).map_err(|e| e.to_string()),
        Err(msg) if r.evidence() == date::Evidence::Ambiguous => Err(msg.clone()),
        Err(_) => r.timestamp(DayOrder::DayFirst).map_err(|e| e.to_string()),
    }
}
