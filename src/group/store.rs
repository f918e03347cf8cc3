//! One file's invoices while it is read: keys, invoice-level readings and items in a few flat
//! arrays and one text buffer, so a row costs no allocation of its own; then, once the file's
//! conventions are settled, each invoice is built on demand.

use std::collections::HashMap;
use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::parse::{Continues, ParsedItem, ParsedRow, RowBatch, Span, TEXT_FIELDS, Votes, text};
use super::{Invoice, Item, LoadOptions, Problem, RowRef, Shown, Sourced, Timestamp, disagreement};
use crate::mapping::Field;
use crate::values::date::{self, DateFormat, DateReading, DayOrder, DayOrderVote};
use crate::values::id::InvoiceType;
use crate::values::money::{self, DecimalSeparator, MoneyReading, SeparatorVote};

/// How much of an item's text an invoice is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemText {
    /// Ids and descriptions as read: for requests.
    Full,
    /// Ids and descriptions empty where there is one: for a verdict, as no rule reads their
    /// text (a bad id is caught when read), and a million items' strings cost a third of
    /// judging.
    Presence,
}

/// 32 bits of a key's hash, kept beside its index in the key table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tag(u32);

impl Tag {
    fn of(hash: u64) -> Tag {
        // The low half of foldhash's output is as well mixed as the high half.
        Tag(hash as u32)
    }

    /// The table's hash, spread back over 64 bits: hashbrown takes the slot from the low bits
    /// and a control byte from the top seven, and a multiplication by an odd constant feeds
    /// every bit of the tag into the top ones.
    fn hash(self) -> u64 {
        u64::from(self.0).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

/// What [`FileStore::add_batch`]'s first pass learns of a row's key.
#[derive(Debug, Clone, Copy)]
enum Probe {
    NoKey,
    /// The key of the row before (of the batch, or of the batch before).
    SameAsPrevious,
    /// The key's tag, and the invoice the table has under it (`NIL` for none).
    Tag(Tag, u32),
}

/// End of a linked list; no index.
const NIL: u32 = u32::MAX;

/// Rows grouped per round of [`FileStore::add_batch`]'s passes: enough for many look-ups to
/// wait on memory at once, few enough that what the first passes bring into cache is still
/// there for the last.
const PASS_ROWS: usize = 64;

/// The most text one file may keep (ids, descriptions and other free text; not the file's
/// size): offsets are 32-bit to keep a million-row file's invoices smaller than the file.
const MAX_TEXT: usize = u32::MAX as usize;

/// A row number as the store keeps it: 32 bits (a file of more rows is refused, see
/// `FileStore::overflow`).
type RowNo = u32;

/// An invoice-level value as first read, and the row it came from.
type First<T> = Option<(T, RowNo)>;

/// `PendingItem::id_len` of an item without an id.
const NO_ID: u16 = u16::MAX;
/// `PendingItem::quantity` of an item whose quantity is kept in `FileStore::big_quantities`.
const BIG_QUANTITY: u32 = u32::MAX;
/// Set in a packed money byte ([`MoneyReading::pack`]'s) when there is a value.
const PRESENT: u8 = 0x80;

/// An invoice-level amount and its row in 16 bytes rather than 24.
#[derive(Debug, Clone, Copy, Default)]
struct PackedMoney {
    cents: i64,
    row: RowNo,
    packed: u8,
}

impl PackedMoney {
    fn get(self) -> First<MoneyReading> {
        (self.packed & PRESENT != 0).then(|| {
            (
                MoneyReading::unpack(self.cents, self.packed & !PRESENT),
                self.row,
            )
        })
    }

    fn put(value: First<MoneyReading>) -> PackedMoney {
        match value {
            Some((reading, row)) => {
                let (cents, packed) = reading.pack();
                PackedMoney {
                    cents,
                    row,
                    packed: packed | PRESENT,
                }
            }
            None => PackedMoney::default(),
        }
    }
}

/// What most invoices have, in 72 bytes; the rest is in [`Extra`].
#[derive(Debug)]
struct PendingInvoice {
    /// Order id then invoice number, in the file's text.
    key_start: u32,
    order_len: u16,
    number_len: u16,
    /// Items, newest first (reversed when built).
    head: u32,
    /// Index into `FileStore::extras`, or `NIL`.
    extra: u32,
    issuance: First<DateReading>,
    value: PackedMoney,
    freight: PackedMoney,
}

/// Fields few files have, and rows with no item cells.
#[derive(Debug, Default)]
struct Extra {
    kind: First<InvoiceType>,
    dispatched: First<DateReading>,
    texts: [First<Span>; TEXT_FIELDS.len()],
    bare: Vec<RowNo>,
}

/// One item line in 32 bytes: a million-row file has a million of them.
#[derive(Debug)]
struct PendingItem {
    price_cents: i64,
    next: u32,
    row: RowNo,
    id_start: u32,
    /// Index into `FileStore::descriptions`, or `NIL`.
    description: u32,
    /// 0 when absent; `BIG_QUANTITY` when it doesn't fit (kept aside).
    quantity: u32,
    /// `NO_ID` when absent.
    id_len: u16,
    /// [`MoneyReading::pack`]'s byte, with `PRESENT`.
    price: u8,
}

/// A value that differs, as read, from the first one of its invoice. It may still agree once
/// settled ("10" and "10,00"), so the comparison is made again then. Rare, so kept aside.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Other {
    Kind(InvoiceType, RowNo),
    Issuance(DateReading, RowNo),
    Value(MoneyReading, RowNo),
    Freight(MoneyReading, RowNo),
    Dispatched(DateReading, RowNo),
    Text(usize, Span, RowNo),
}

/// One file's pending invoices.
pub(super) struct FileStore {
    source: u32,
    text: String,
    hasher: hashbrown::DefaultHashBuilder,
    /// Invoice index and 32 bits of its key's hash ([`Tag`]): growing the table then never
    /// reads a key again, and a probe compares keys only when the tags match.
    index: HashTable<(u32, Tag)>,
    invoices: Vec<PendingInvoice>,
    items: Vec<PendingItem>,
    extras: Vec<Extra>,
    /// Item descriptions, each once: a file repeats a product's description on every line.
    descriptions: Vec<Span>,
    description_index: HashTable<u32>,
    big_quantities: HashMap<u32, i64>,
    others: HashMap<u32, Vec<Other>>,
    problems: HashMap<u32, Vec<Problem>>,
    pub row_errors: Vec<Problem>,
    /// Rows that repeat the header, passed over; in file order, as batches are added in it.
    pub repeated_headers: Vec<u64>,
    /// Totals rows, passed over.
    pub totals_rows: Vec<u64>,
    /// Footer lines ([`RowBatch::footers`]) with no row of an invoice after them yet, and their
    /// problems: at the end of the file they are passed over as totals rows are
    /// ([`Self::finish`]); a row with a key after them makes them rows of no invoice.
    footers: Vec<(u64, Vec<Problem>)>,
    /// Rows that are a header with the columns moved ([`super::parse::RowBatch::layout_changes`]).
    pub layout_changes: Vec<(u64, String)>,
    /// Set when the file has more rows or text than the store's 32-bit indexes reach; the file
    /// is then refused as a whole.
    pub overflow: bool,
    /// The invoice the previous row joined: rows of one invoice mostly come together, and
    /// comparing with it costs less than hashing the key.
    last: Option<usize>,
    /// [`Self::add_batch`]'s lists of each row's probe and invoice, kept for their capacity.
    probes: Vec<Probe>,
    found: Vec<Option<usize>>,
    /// The index of the empty description, once there is one.
    empty_description: Option<u32>,
    /// Rows that may be short of cells ([`RowBatch::short_rows`]): (invoice, row, its cells),
    /// by invoice once the file ends; faults or not by [`Conventions::full_width`].
    short_rows: Vec<(u32, RowNo, u32)>,
    /// By invoice, the first row's amount in an adjustment column ([`RowBatch::adjusted`]): a
    /// problem if the invoice's value is computed.
    adjusted: HashMap<u32, Problem>,
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
            extras: Vec::new(),
            descriptions: Vec::new(),
            description_index: HashTable::new(),
            big_quantities: HashMap::new(),
            others: HashMap::new(),
            problems: HashMap::new(),
            row_errors: Vec::new(),
            repeated_headers: Vec::new(),
            totals_rows: Vec::new(),
            footers: Vec::new(),
            layout_changes: Vec::new(),
            overflow: false,
            last: None,
            probes: Vec::new(),
            found: Vec::new(),
            empty_description: None,
            short_rows: Vec::new(),
            adjusted: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.invoices.len()
    }

    /// (order id, invoice number) of invoice `i`.
    pub fn key(&self, i: usize) -> (&str, &str) {
        match self.invoices.get(i) {
            Some(inv) => invoice_key(&self.text, inv),
            None => ("", ""),
        }
    }

    /// The invoice with this key, if the file has it.
    fn find(&self, tag: Tag, key: (&str, &str)) -> Option<usize> {
        let (invoices, buf) = (&self.invoices, &self.text);
        self.index
            .find(tag.hash(), |&(i, t)| {
                t == tag
                    && invoices
                        .get(i as usize)
                        .is_some_and(|inv| invoice_key(buf, inv) == key)
            })
            .map(|&(i, _)| i as usize)
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

    /// A row number in 32 bits, or `overflow`.
    fn row_no(&mut self, row: u64) -> RowNo {
        RowNo::try_from(row).unwrap_or_else(|_| {
            self.overflow = true;
            0
        })
    }

    /// Ends the file: the footer lines no invoice's row came after are passed over, as totals
    /// rows are.
    pub fn finish(&mut self) {
        let footers = std::mem::take(&mut self.footers);
        self.totals_rows
            .extend(footers.into_iter().map(|(row, _)| row));
        self.short_rows.sort_unstable();
    }

    /// Groups every row of `batch`.
    pub fn add_batch(&mut self, batch: &RowBatch) {
        self.repeated_headers.extend(&batch.repeated_headers);
        self.totals_rows.extend(&batch.totals_rows);
        self.layout_changes
            .extend(batch.layout_changes.iter().cloned());
        let mut problems = batch.problems.iter();
        for (k, rows) in batch.rows.chunks(PASS_ROWS).enumerate() {
            self.add_rows(batch, (k * PASS_ROWS, rows), &mut problems);
        }
    }

    /// Groups `rows` of `batch`, the first at index `first` of its rows; `problems` yields their
    /// problems in order.
    fn add_rows<'a>(
        &mut self,
        batch: &RowBatch,
        (first, rows): (usize, &[ParsedRow]),
        problems: &mut impl Iterator<Item = &'a Problem>,
    ) {
        // Looking a key up is mostly waiting for memory: the table's slot, then the invoice,
        // then its key's text, each needed to find the next. The look-ups of a few dozen
        // rows don't depend on each other, so they are made in passes whose loops are small
        // enough for the processor to have many rows' loads in flight at once: first each
        // key's slot (the invoice its tag names), then each such invoice's key, then the
        // look-ups proper, which find all of it in cache. Rows of one invoice mostly come
        // together; a row with the previous row's key skips all of it. (The shuffled 1M-row
        // file's grouping thread is its slowest.)
        let mut probes = std::mem::take(&mut self.probes);
        probes.clear();
        let mut previous = self
            .last
            .and_then(|i| self.invoices.get(i))
            .map(|inv| invoice_key(&self.text, inv));
        for row in rows {
            let Some(key) = row.key.map(|(o, n)| (batch.str(o), batch.str(n))) else {
                probes.push(Probe::NoKey);
                continue;
            };
            if previous == Some(key) {
                probes.push(Probe::SameAsPrevious);
                continue;
            }
            previous = Some(key);
            let tag = Tag::of(self.hasher.hash_one(key));
            let named = self
                .index
                .find(tag.hash(), |&(_, t)| t == tag)
                .map_or(NIL, |&(i, _)| i);
            probes.push(Probe::Tag(tag, named));
        }
        // The invoice may span two cache lines: its key's start and its first date are read
        // from each, so the updates below find both in cache.
        let mut touched = 0u32;
        for probe in &probes {
            if let Probe::Tag(_, named) = *probe
                && let Some(inv) = self.invoices.get(named as usize)
            {
                let key = self.text.as_bytes().get(inv.key_start as usize);
                touched ^= u32::from(key.map_or(0, |b| *b)) ^ inv.head;
                touched ^= inv.issuance.map_or(0, |(_, row)| row);
            }
        }
        std::hint::black_box(touched);

        let mut found = std::mem::take(&mut self.found);
        found.clear();
        // Rows without ids that go on with the invoice above them: (row, that invoice).
        let mut continued = Vec::new();
        for (j, (row, probe)) in rows.iter().zip(&probes).enumerate() {
            let key = row.key.map(|(o, n)| (batch.str(o), batch.str(n)));
            let i = match (*probe, key) {
                (Probe::NoKey, _) | (_, None) => {
                    let continues = batch
                        .continued
                        .binary_search_by_key(&(first + j), |&(at, _)| at)
                        .ok()
                        .and_then(|k| batch.continued.get(k))
                        .map_or(Continues::No, |&(_, c)| c);
                    // With one key cell filled, the row goes on with the invoice above only if
                    // that cell says the same: a blank order id beside another invoice number
                    // is another invoice of the order.
                    if let Some(above) = self.last {
                        let (order, number) = self.key(above);
                        let goes_on = match continues {
                            Continues::No => false,
                            Continues::Blank => true,
                            Continues::Order(o) => batch.str(o) == order,
                            Continues::Number(n) => batch.str(n) == number,
                        };
                        if goes_on {
                            continued.push((row.number, above));
                        }
                    }
                    None
                }
                (Probe::SameAsPrevious, Some(key)) => Some(self.last.unwrap_or_else(|| {
                    // Never: a row is the same as the previous only after one with a key.
                    self.invoice_for(Tag::of(self.hasher.hash_one(key)), NIL, key)
                })),
                (Probe::Tag(tag, named), Some(key)) => Some(self.invoice_for(tag, named, key)),
            };
            if i.is_some() {
                self.last = i;
            }
            found.push(i);
        }
        for (j, (row, &i)) in rows.iter().zip(&found).enumerate() {
            let own: Vec<Problem> = match row.problems {
                0 => Vec::new(),
                n => problems.by_ref().take(n as usize).cloned().collect(),
            };
            match i {
                Some(i) => {
                    // Footer lines with an invoice's row below them were not the file's footer
                    // (a line pasted whole, a row with only an id written as words).
                    if !self.footers.is_empty() {
                        let footers = std::mem::take(&mut self.footers);
                        self.row_errors
                            .extend(footers.into_iter().flat_map(|(_, own)| own));
                    }
                    if !batch.short_rows.is_empty()
                        && let Ok(k) = batch
                            .short_rows
                            .binary_search_by_key(&(first + j), |&(at, _)| at)
                        && let Some(&(_, cells)) = batch.short_rows.get(k)
                    {
                        let n = self.row_no(row.number);
                        self.short_rows.push((i as u32, n, cells));
                    }
                    if !batch.adjusted.is_empty()
                        && let Ok(k) = batch.adjusted.binary_search_by_key(&(first + j), |a| a.0)
                        && let Some((_, problem)) = batch.adjusted.get(k)
                    {
                        self.adjusted
                            .entry(i as u32)
                            .or_insert_with(|| problem.clone());
                    }
                    self.add(batch, row, i, own);
                }
                None if batch.footers.binary_search(&(first + j)).is_ok() => {
                    self.footers.push((row.number, own));
                }
                None => self.row_errors.extend(own),
            }
        }
        for (row, above) in continued {
            let problem = Problem {
                source: self.source,
                row: Some(row),
                field: None,
                message: String::from(
                    "an item with no order id or invoice number comes right below this \
                     invoice's rows (cells merged down, or ids written on an invoice's first row \
                     only?); the invoice is not sent without it: write its ids on every row",
                ),
            };
            self.problems.entry(above as u32).or_default().push(problem);
        }
        self.found = found;
        self.probes = probes;
    }

    /// The index of the invoice with this key, new if the file has not had it; `named` is the
    /// invoice the key's tag named when the batch was probed (`NIL` for none), which is this
    /// key's unless two keys share a tag or the invoice is new since.
    fn invoice_for(&mut self, tag: Tag, named: u32, key: (&str, &str)) -> usize {
        let named = named as usize;
        if self
            .invoices
            .get(named)
            .map(|inv| invoice_key(&self.text, inv))
            == Some(key)
        {
            return named;
        }
        match self.find(tag, key) {
            Some(i) => i,
            None => self.insert(tag, key),
        }
    }

    fn add(&mut self, batch: &RowBatch, row: &ParsedRow, i: usize, problems: Vec<Problem>) {
        let id = i as u32;
        let n = self.row_no(row.number);
        if !problems.is_empty() {
            self.problems.entry(id).or_default().extend(problems);
        }
        let mut others = Vec::new();
        if let Some(inv) = self.invoices.get_mut(i) {
            set(&mut inv.issuance, row.issuance, n, |v, r| {
                others.push(Other::Issuance(v, r))
            });
            let (mut value, mut freight) = (inv.value.get(), inv.freight.get());
            set(&mut value, row.value, n, |v, r| {
                others.push(Other::Value(v, r))
            });
            set(&mut freight, row.freight, n, |v, r| {
                others.push(Other::Freight(v, r))
            });
            (inv.value, inv.freight) = (PackedMoney::put(value), PackedMoney::put(freight));
        }
        let rare = row.kind.is_some()
            || row.dispatched.is_some()
            || row.item.is_none()
            || row.texts.iter().any(Option::is_some);
        if rare {
            self.set_extra(i, batch, row, n, &mut others);
        }
        if !others.is_empty() {
            self.keep_others(id, others, batch);
        }
        if let Some(item) = &row.item {
            self.add_item(i, batch, item, n);
        }
    }

    /// A new invoice for a key the file has not had before.
    fn insert(&mut self, tag: Tag, (order, number): (&str, &str)) -> usize {
        let i = self.invoices.len();
        let (Ok(order_len), Ok(number_len)) =
            (u16::try_from(order.len()), u16::try_from(number.len()))
        else {
            // Ids are at most 100 characters (`values::id`); this is never reached.
            self.overflow = true;
            return 0;
        };
        let key_start = self.keep(order).start;
        self.keep(number);
        self.invoices.push(PendingInvoice {
            key_start,
            order_len,
            number_len,
            head: NIL,
            extra: NIL,
            issuance: None,
            value: PackedMoney::default(),
            freight: PackedMoney::default(),
        });
        self.index
            .insert_unique(tag.hash(), (i as u32, tag), |&(_, t)| t.hash());
        i
    }

    fn add_item(&mut self, i: usize, batch: &RowBatch, item: &ParsedItem, row: RowNo) {
        let at = self.items.len() as u32;
        let (id_start, id_len) = match item.id.map(|s| batch.str(s)) {
            Some(id) => match u16::try_from(id.len()) {
                Ok(len) if len != NO_ID => (self.keep(id).start, len),
                _ => {
                    self.overflow = true;
                    (0, NO_ID)
                }
            },
            None => (0, NO_ID),
        };
        let description = match item.description {
            Some(span) => self.description(batch.str(span)),
            None => NIL,
        };
        let quantity = match item.quantity {
            None => 0,
            Some(q) => match u32::try_from(q) {
                Ok(q) if q != 0 && q != BIG_QUANTITY => q,
                _ => {
                    self.big_quantities.insert(at, q);
                    BIG_QUANTITY
                }
            },
        };
        let (price_cents, price) = match &item.price {
            Some(r) => {
                let (cents, packed) = r.pack();
                (cents, packed | PRESENT)
            }
            None => (0, 0),
        };
        let Some(inv) = self.invoices.get_mut(i) else {
            return;
        };
        self.items.push(PendingItem {
            price_cents,
            next: inv.head,
            row,
            id_start,
            description,
            quantity,
            id_len,
            price,
        });
        inv.head = at;
    }

    /// The index of a description, kept once.
    fn description(&mut self, s: &str) -> u32 {
        // Every description of a file loaded for verdicts is empty (`ItemText::Presence`).
        if s.is_empty()
            && let Some(d) = self.empty_description
        {
            return d;
        }
        let hash = self.hasher.hash_one(s);
        let (spans, buf) = (&self.descriptions, &self.text);
        let found = self.description_index.find(hash, |&d| {
            spans
                .get(d as usize)
                .is_some_and(|&span| text(buf, span) == s)
        });
        if let Some(&d) = found {
            return d;
        }
        let d = self.descriptions.len() as u32;
        if s.is_empty() {
            self.empty_description = Some(d);
        }
        let span = self.keep(s);
        self.descriptions.push(span);
        let (spans, buf, hasher) = (&self.descriptions, &self.text, &self.hasher);
        self.description_index.insert_unique(hash, d, |&e| {
            hasher.hash_one(spans.get(e as usize).map_or("", |&span| text(buf, span)))
        });
        d
    }

    /// Kind, dispatch date, free text and item-less rows: the invoice's [`Extra`].
    fn set_extra(
        &mut self,
        i: usize,
        batch: &RowBatch,
        row: &ParsedRow,
        n: RowNo,
        others: &mut Vec<Other>,
    ) {
        let Some(inv) = self.invoices.get_mut(i) else {
            return;
        };
        if inv.extra == NIL {
            inv.extra = self.extras.len() as u32;
            self.extras.push(Extra::default());
        }
        let at = inv.extra as usize;
        let Some(extra) = self.extras.get_mut(at) else {
            return;
        };
        set(&mut extra.kind, row.kind, n, |v, r| {
            others.push(Other::Kind(v, r))
        });
        set(&mut extra.dispatched, row.dispatched, n, |v, r| {
            others.push(Other::Dispatched(v, r))
        });
        if row.item.is_none() {
            extra.bare.push(n);
        }
        for (f, value) in row.texts.iter().enumerate() {
            let Some(span) = *value else { continue };
            let s = batch.str(span);
            let first = self
                .extras
                .get(at)
                .and_then(|e| e.texts.get(f).copied().flatten());
            match first {
                None => {
                    let kept = self.keep(s);
                    if let Some(slot) = self.extras.get_mut(at).and_then(|e| e.texts.get_mut(f)) {
                        *slot = Some((kept, n));
                    }
                }
                Some((first, _)) if text(&self.text, first) == s => {}
                Some(_) => others.push(Other::Text(f, span, n)),
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

    /// The first item of invoice `i`'s list, for [`Self::next_item`]; `NIL` for none.
    pub fn first_item(&self, i: usize) -> u32 {
        self.invoices.get(i).map_or(NIL, |p| p.head)
    }

    /// Item `k`'s row and the next item of its invoice's list (`NIL` at the end); `None` for
    /// no item `k`.
    pub fn next_item(&self, k: u32) -> Option<(u32, u32)> {
        self.items.get(k as usize).map(|it| (it.row, it.next))
    }

    /// Turns the file's pending invoice `i` into an [`Invoice`] under the file's conventions.
    /// With [`ItemText::Presence`], item ids and descriptions that are there come out empty.
    pub fn invoice(&self, i: usize, conv: &Conventions, item_text: ItemText) -> Option<Invoice> {
        let mut invoice = Invoice::default();
        self.invoice_into(i, conv, item_text, &mut invoice)
            .then_some(invoice)
    }

    /// [`Self::invoice`] written over `out`, whose strings and lists keep their memory: judging
    /// a million invoices one after another then allocates next to nothing. False, and `out`
    /// untouched, when there is no invoice `i`.
    pub fn invoice_into(
        &self,
        i: usize,
        conv: &Conventions,
        item_text: ItemText,
        out: &mut Invoice,
    ) -> bool {
        let Some(p) = self.invoices.get(i) else {
            return false;
        };
        let extra = self.extras.get(p.extra as usize);
        let id = i as u32;
        let at = |row: RowNo| RowRef {
            source: self.source,
            row: u64::from(row),
        };
        out.decimal_comma = conv.decimal_comma;
        let problems = &mut out.problems;
        problems.clear();
        if let Some(recorded) = self.problems.get(&id) {
            problems.extend_from_slice(recorded);
        }
        if let Some(width) = conv.full_width {
            let from = self.short_rows.partition_point(|s| s.0 < id);
            let to = self.short_rows.partition_point(|s| s.0 <= id);
            let rows = self.short_rows.get(from..to).unwrap_or_default();
            for &(_, row, cells) in rows.iter().filter(|s| s.2 < width) {
                problems.push(Problem {
                    source: self.source,
                    row: Some(u64::from(row)),
                    field: None,
                    message: format!(
                        "this row has {cells} cells where most rows of the file have {width}: a \
                         cell is missing, maybe in the middle, and the cells after it may have \
                         moved over into the wrong columns; check the row against the header (a \
                         cell left empty still needs its separator)"
                    ),
                });
            }
        }
        let others: &[Other] = self.others.get(&id).map_or(&[], Vec::as_slice);

        let (value, freight) = (p.value.get(), p.freight.get());
        // Found by a review: a discount beside an invoice value computed (no invoice value
        // column, or its cells blank for this invoice) was left out of it.
        if value.is_none()
            && let Some(adjusted) = self.adjusted.get(&id)
        {
            problems.push(adjusted.clone());
        }
        let invoice_value = self.settle(
            value.as_ref(),
            others.iter().filter_map(|o| match o {
                Other::Value(v, r) => Some((v, *r)),
                _ => None,
            }),
            Field::InvoiceValue,
            (problems, conv.decimal_comma),
            |r| money_cents(r, &conv.value_sep),
        );
        let freight = self.settle(
            freight.as_ref(),
            others.iter().filter_map(|o| match o {
                Other::Freight(v, r) => Some((v, *r)),
                _ => None,
            }),
            Field::Freight,
            (problems, conv.decimal_comma),
            |r| money_cents(r, &conv.freight_sep),
        );
        let issuance_date = self.settle(
            p.issuance.as_ref(),
            others.iter().filter_map(|o| match o {
                Other::Issuance(v, r) => Some((v, *r)),
                _ => None,
            }),
            Field::IssuanceDate,
            (problems, conv.decimal_comma),
            |r| date_timestamp(r, &conv.issuance_order),
        );
        let dispatched_date = self.settle(
            extra.and_then(|e| e.dispatched.as_ref()),
            others.iter().filter_map(|o| match o {
                Other::Dispatched(v, r) => Some((v, *r)),
                _ => None,
            }),
            Field::DispatchedDate,
            (problems, conv.decimal_comma),
            |r| date_timestamp(r, &conv.dispatched_order),
        );
        let kind = self.settle(
            extra.and_then(|e| e.kind.as_ref()),
            others.iter().filter_map(|o| match o {
                Other::Kind(v, r) => Some((v, *r)),
                _ => None,
            }),
            Field::Type,
            (problems, conv.decimal_comma),
            |v| Ok(*v),
        );
        let mut texts: [Option<Sourced<String>>; TEXT_FIELDS.len()] = Default::default();
        for (f, (out, field)) in texts.iter_mut().zip(TEXT_FIELDS).enumerate() {
            let first = extra.and_then(|e| e.texts.get(f)).and_then(Option::as_ref);
            *out = self.settle(
                first,
                others.iter().filter_map(|o| match o {
                    Other::Text(g, span, r) if *g == f => Some((span, *r)),
                    _ => None,
                }),
                field,
                (problems, conv.decimal_comma),
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

        // The list is newest first: items are built from it, then put in file order.
        let items = &mut out.items;
        items.clear();
        let price_problems_from = problems.len();
        let mut next = p.head;
        while let Some(it) = self.items.get(next as usize) {
            let index = next;
            next = it.next;
            let price = (it.price & PRESENT != 0)
                .then(|| MoneyReading::unpack(it.price_cents, it.price & !PRESENT))
                .and_then(|r| match money_cents(&r, &conv.price_sep) {
                    Ok(c) => Some(c),
                    Err(message) => {
                        problems.push(Problem {
                            source: self.source,
                            row: Some(u64::from(it.row)),
                            field: Some(Field::ItemPrice),
                            message,
                        });
                        None
                    }
                });
            let quantity = match it.quantity {
                0 => None,
                BIG_QUANTITY => self.big_quantities.get(&index).copied(),
                q => Some(i64::from(q)),
            };
            let kept = |span: Span| match item_text {
                ItemText::Full => text(&self.text, span).to_string(),
                ItemText::Presence => String::new(),
            };
            items.push(Item {
                id: (it.id_len != NO_ID).then(|| {
                    kept(Span {
                        start: it.id_start,
                        len: u32::from(it.id_len),
                    })
                }),
                quantity,
                price,
                description: self
                    .descriptions
                    .get(it.description as usize)
                    .map(|&s| kept(s)),
                at: at(it.row),
            });
        }
        items.reverse();
        if let Some(added) = problems.get_mut(price_problems_from..) {
            added.reverse();
        }
        // Every row in file order: the item rows and the item-less ones, both lists sorted.
        let rows = &mut out.rows;
        rows.clear();
        rows.reserve(items.len());
        let mut item_rows = items.iter().map(|it| it.at).peekable();
        for &b in extra.map_or(&[][..], |e| e.bare.as_slice()) {
            while let Some(r) = item_rows.next_if(|r| r.row < u64::from(b)) {
                rows.push(r);
            }
            rows.push(at(b));
        }
        rows.extend(item_rows);
        if let Some(problem) = self.across_a_repeated_header(rows) {
            problems.push(problem);
        }

        let (order_id, invoice_number) = self.key(i);
        out.order_id.clear();
        out.order_id.push_str(order_id);
        out.invoice_number.clear();
        out.invoice_number.push_str(invoice_number);
        out.kind = kind;
        out.issuance_date = issuance_date;
        out.invoice_value = invoice_value;
        out.freight = freight;
        out.invoice_key = invoice_key;
        out.invoice_url = invoice_url;
        out.courier = courier;
        out.tracking_number = tracking_number;
        out.tracking_url = tracking_url;
        out.dispatched_date = dispatched_date;
        true
    }

    /// A problem when an invoice's `rows` (in file order) lie above and below a row that
    /// repeats the header. That is where two exports were joined end to end (`cat a.csv
    /// b.csv`), and an invoice on both sides has its shared rows counted twice: with no value
    /// column, nothing else would tell. As with an invoice in two inputs, all its rows must be
    /// on one side.
    fn across_a_repeated_header(&self, rows: &[RowRef]) -> Option<Problem> {
        let (first, last) = (rows.first()?.row, rows.last()?.row);
        let after_first = self.repeated_headers.partition_point(|&h| h < first);
        let header = *self
            .repeated_headers
            .get(after_first)
            .filter(|&&h| h < last)?;
        let below = rows.iter().find(|r| r.row > header).map_or(last, |r| r.row);
        Some(Problem {
            source: self.source,
            row: Some(below),
            field: None,
            message: format!(
                "this invoice has rows above and below row {header}, which repeats the header \
                 (rows {first} and {below}): where two exports were joined end to end, the \
                 rows they share would count twice, so all the rows of an invoice must be on \
                 one side; delete its rows on one side, or, if the header only repeats as a \
                 page heading of one export, delete row {header}"
            ),
        })
    }

    /// Converts a slot's first value, then checks that every other value agrees with it.
    fn settle<'s, R: 's, T: PartialEq + Shown>(
        &self,
        first: Option<&(R, RowNo)>,
        others: impl Iterator<Item = (&'s R, RowNo)>,
        field: Field,
        (problems, comma): (&mut Vec<Problem>, bool),
        convert: impl Fn(&R) -> Result<T, String>,
    ) -> Option<Sourced<T>> {
        let (first, first_row) = first?;
        let at = |row: RowNo| RowRef {
            source: self.source,
            row: u64::from(row),
        };
        let problem = |row: RowNo, message: String| Problem {
            source: self.source,
            row: Some(u64::from(row)),
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
                Ok(v) => problems.push(disagreement(
                    field,
                    at(*first_row),
                    &first,
                    at(row),
                    &v,
                    comma,
                )),
                Err(msg) => problems.push(problem(row, msg)),
            }
        }
        Some(Sourced {
            value: first,
            at: at(*first_row),
        })
    }
}

/// (order id, invoice number) of an invoice, from the file's text.
fn invoice_key<'t>(buf: &'t str, inv: &PendingInvoice) -> (&'t str, &'t str) {
    let start = inv.key_start as usize;
    let split = start + usize::from(inv.order_len);
    let end = split + usize::from(inv.number_len);
    (
        buf.get(start..split).unwrap_or_default(),
        buf.get(split..end).unwrap_or_default(),
    )
}

/// Keeps the first value of a slot; hands a different one to `other`.
fn set<T: PartialEq + Copy>(
    slot: &mut First<T>,
    value: Option<T>,
    row: RowNo,
    mut other: impl FnMut(T, RowNo),
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

/// A money column's decimal separator, or why it has none, and whether that fails every amount
/// that is not a whole number (a flag that the column contradicts), not only those that read
/// either way.
type SepRule = Result<DecimalSeparator, (String, bool)>;

/// A file's conventions, settled from its columns' votes once every row is read.
pub(super) struct Conventions {
    value_sep: SepRule,
    price_sep: SepRule,
    freight_sep: SepRule,
    issuance_order: OrderRule,
    dispatched_order: OrderRule,
    /// Whether the file's money columns together settle on a decimal comma.
    pub decimal_comma: bool,
    /// The cells a CSV row with fewer of is a fault, when its rows settle that
    /// ([`super::parse::RowWidths::full_width`]).
    pub full_width: Option<u32>,
    /// Date columns whose every date reads either way, read day first because the file writes
    /// its amounts with a decimal comma: no place that writes `1.234,56` writes month first.
    pub day_first_by_comma: Vec<Field>,
    /// Date columns whose every date reads either way, read in the order of the file's other
    /// date column (the field read, the one it follows): one file writes its dates one way.
    pub order_of_other: Vec<(Field, Field)>,
}

/// How a date column's day/month dates read, settled from its votes.
#[derive(Debug, Clone)]
pub(super) struct OrderRule {
    /// The order its dates read in; `None` when nothing settles it (its dates that read one
    /// way only read day first, as `timestamp` tells a date that is not real either way).
    order: Option<DayOrder>,
    /// Why its dates that read either way fail, when they do: the order is unsettled, or in
    /// doubt (`DayOrderVote::doubt`).
    doubt: Option<String>,
    /// Whether `order` is the date format given: a date that reads only the other way is
    /// against it, not against the column's other dates.
    forced: bool,
}

impl Conventions {
    pub fn settle(votes: &Votes, opts: &LoadOptions) -> Self {
        let sep = |vote: &SeparatorVote| -> SepRule {
            vote.resolve(opts.decimal)
                .map_err(|e| (e.to_string(), e.forced.is_some()))
        };
        let mut amounts = votes.invoice_value;
        amounts.merge(votes.item_price);
        amounts.merge(votes.freight);
        let decimal_comma = amounts.resolve(opts.decimal) == Ok(DecimalSeparator::Comma);
        let mut day_first_by_comma = Vec::new();
        let mut order_of_other = Vec::new();
        let forced = match &opts.date_format {
            Some(DateFormat::Order(o)) => Some(*o),
            _ => None,
        };
        let mut order = |(vote, field): (&DayOrderVote, Field),
                         (other, other_field): (&DayOrderVote, Field)|
         -> OrderRule {
            let settled = |order| OrderRule {
                order: Some(order),
                doubt: None,
                forced: false,
            };
            if forced.is_none() && vote.only_ambiguous() {
                // A file writes its dates one way: the other date column's, if it says
                // (found by a review: issue dates read day first by the decimal comma beside
                // dispatch dates that only read month first).
                if let Some(o) = other.evident() {
                    order_of_other.push((field, other_field));
                    return settled(o);
                }
                // A day's end-of-day file has one date, ambiguous on the 12 first days of a
                // month.
                if decimal_comma {
                    day_first_by_comma.push(field);
                    return settled(DayOrder::DayFirst);
                }
            }
            match vote.resolve(forced) {
                Ok(o) => OrderRule {
                    order: Some(o),
                    doubt: vote.doubt(o, forced.is_some()),
                    forced: forced.is_some(),
                },
                Err(e) => OrderRule {
                    order: None,
                    doubt: Some(e.to_string()),
                    forced: false,
                },
            }
        };
        let issuance = (&votes.issuance_date, Field::IssuanceDate);
        let dispatched = (&votes.dispatched_date, Field::DispatchedDate);
        let issuance_order = order(issuance, dispatched);
        let dispatched_order = order(dispatched, issuance);
        Conventions {
            order_of_other,
            decimal_comma,
            full_width: votes.widths.full_width(),
            value_sep: sep(&votes.invoice_value),
            price_sep: sep(&votes.item_price),
            freight_sep: sep(&votes.freight),
            issuance_order,
            dispatched_order,
            day_first_by_comma,
        }
    }

    /// The columns whose convention stayed ambiguous, and why: every ambiguous value of such a
    /// column is a problem ending with that reason.
    pub fn unsettled(&self) -> Vec<(Field, String)> {
        let seps = [
            (Field::InvoiceValue, &self.value_sep),
            (Field::ItemPrice, &self.price_sep),
            (Field::Freight, &self.freight_sep),
        ];
        let orders = [
            (Field::IssuanceDate, &self.issuance_order),
            (Field::DispatchedDate, &self.dispatched_order),
        ];
        let seps = seps
            .into_iter()
            .filter_map(|(f, r)| Some((f, r.clone().err()?.0)));
        let orders = orders
            .into_iter()
            .filter_map(|(f, r)| Some((f, r.doubt.clone()?)));
        seps.chain(orders).collect()
    }
}

/// A money reading in cents under the column's separator. When the column stayed ambiguous, only
/// the ambiguous values fail: for the others either separator gives the same cents.
fn money_cents(r: &MoneyReading, sep: &SepRule) -> Result<i64, String> {
    match sep {
        Ok(s) => r.cents(*s).map_err(|e| e.to_string()),
        Err((msg, _)) if r.evidence() == money::Evidence::Ambiguous => Err(msg.clone()),
        Err((msg, true)) if r.evidence() != money::Evidence::Neutral => Err(msg.clone()),
        Err(_) => r.cents(DecimalSeparator::Point).map_err(|e| e.to_string()),
    }
}

/// A date reading under the column's day/month order; as [`money_cents`] for ambiguity.
fn date_timestamp(r: &DateReading, rule: &OrderRule) -> Result<Timestamp, String> {
    if let Some(msg) = &rule.doubt
        && r.evidence() == date::Evidence::Ambiguous
    {
        return Err(format!("{}; {msg}", r.both_ways()));
    }
    r.invoice_timestamp(rule.order.unwrap_or(DayOrder::DayFirst))
        .map_err(|e| match e {
            date::DateError::WrongOrder(v, layout) if rule.forced => {
                date::DateError::AgainstFormat(v, layout).to_string()
            }
            e => e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sizes the memory target rests on (a million-row CSV checked in less memory than the
    /// file's size): a growth here shows in every big run.
    #[test]
    fn pending_records_stay_small() {
        assert_eq!(std::mem::size_of::<PendingItem>(), 32);
        assert!(std::mem::size_of::<PendingInvoice>() <= 72);
        assert!(std::mem::size_of::<MoneyReading>() <= 16);
    }
}
