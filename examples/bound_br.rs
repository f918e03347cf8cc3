//! A bound, not a tool: the least work any program could do to check a Brazilian gen_data CSV
//! (`--dialect br`): split each line at `;`, group rows by (order, invoice) in a hash table, read
//! quantity, unit price, freight, invoice value and issuance date as digits, and compare each
//! invoice's Σ quantity × price + freight with its value. No decoding, no error handling, no
//! reports, one thread, the whole file in memory. `scripts/bench-notes.md` compares it with the
//! csv floor and `check` (2026-11-22, "later").
//!
//! Usage: bound_br FILE [--partitioned]
//!   (default)      group as the rows come: one look-up in a table of every invoice per row.
//!   --partitioned  first spread the rows over 256 partitions by their key's hash, then group
//!                  each partition alone, its table small enough to stay in cache.

use std::hash::BuildHasher;

use hashbrown::HashTable;

/// The digits of a field, as one number: cents for amounts, a sortable number for a date.
fn digits(field: &[u8]) -> i64 {
    field
        .iter()
        .filter(|c| c.is_ascii_digit())
        .fold(0, |v, &c| v * 10 + i64::from(c - b'0'))
}

#[derive(Clone, Copy)]
struct Row {
    hash: u64,
    /// Offset of the line in the file; the key is its first two fields.
    at: u32,
    order_len: u16,
    number_len: u16,
    date: i64,
    value: i64,
    freight: i64,
    quantity: i64,
    price: i64,
}

struct Invoice {
    row: Row,
    sum: i64,
    disagree: bool,
}

fn key<'a>(data: &'a [u8], r: &Row) -> (&'a [u8], &'a [u8]) {
    let at = r.at as usize;
    let order = &data[at..at + r.order_len as usize];
    let start = at + r.order_len as usize + 1;
    (order, &data[start..start + r.number_len as usize])
}

/// Every data row of the file, parsed, in order, to `sink`.
fn rows(data: &[u8], hasher: &impl BuildHasher, mut sink: impl FnMut(Row)) {
    let header_end = memchr::memchr(b'\n', data).map_or(data.len(), |e| e + 1);
    let mut pos = header_end;
    while pos < data.len() {
        let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |e| pos + e);
        let line = &data[pos..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut fields = [(0usize, 0usize); 9];
        let (mut start, mut k) = (0, 0);
        for i in memchr::memchr_iter(b';', line) {
            if k < 8 {
                fields[k] = (start, i);
                k += 1;
            }
            start = i + 1;
        }
        fields[k] = (start, line.len());
        let f = |j: usize| &line[fields[j].0..fields[j].1];
        sink(Row {
            hash: hasher.hash_one((f(0), f(1))),
            at: pos as u32,
            order_len: f(0).len() as u16,
            number_len: f(1).len() as u16,
            date: digits(f(2)),
            quantity: digits(f(5)),
            price: digits(f(6)),
            freight: digits(f(7)),
            value: digits(f(8)),
        });
        pos = end + 1;
    }
}

/// Adds `row` to its invoice in `invoices`, a new one if its key is new.
fn group(
    data: &[u8],
    hasher: &impl BuildHasher,
    index: &mut HashTable<u32>,
    invoices: &mut Vec<Invoice>,
    row: Row,
) {
    let k = key(data, &row);
    match index.find(row.hash, |&i| key(data, &invoices[i as usize].row) == k) {
        Some(&i) => {
            let inv = &mut invoices[i as usize];
            inv.sum += row.quantity * row.price;
            inv.disagree |= (inv.row.date, inv.row.value, inv.row.freight)
                != (row.date, row.value, row.freight);
        }
        None => {
            invoices.push(Invoice {
                row,
                sum: row.quantity * row.price,
                disagree: false,
            });
            index.insert_unique(row.hash, (invoices.len() - 1) as u32, |&j| {
                hasher.hash_one(key(data, &invoices[j as usize].row))
            });
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: bound_br FILE [--partitioned]");
    let partitioned = args.next().as_deref() == Some("--partitioned");
    let data = std::fs::read(&path).expect("read the file");
    let hasher = hashbrown::DefaultHashBuilder::default();
    let (mut invoices, mut index) = (Vec::new(), HashTable::new());
    let (mut count, mut good, mut disagree, mut total) = (0u64, 0u64, 0u64, 0i64);
    let mut tally = |invoices: &mut Vec<Invoice>| {
        for inv in invoices.drain(..) {
            count += 1;
            disagree += u64::from(inv.disagree);
            if inv.sum + inv.row.freight == inv.row.value {
                good += 1;
                total += inv.row.value;
            }
        }
    };
    if partitioned {
        let mut parts: Vec<Vec<Row>> = (0..256).map(|_| Vec::new()).collect();
        rows(&data, &hasher, |row| {
            parts[(row.hash >> 56) as usize].push(row)
        });
        for part in parts {
            index.clear();
            for row in part {
                group(&data, &hasher, &mut index, &mut invoices, row);
            }
            tally(&mut invoices);
        }
    } else {
        rows(&data, &hasher, |row| {
            group(&data, &hasher, &mut index, &mut invoices, row)
        });
        tally(&mut invoices);
    }
    println!("{count} invoices, {good} adding up, {disagree} disagreeing, total {total} cents");
}
