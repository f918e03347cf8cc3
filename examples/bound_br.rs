//! A bound, not a tool: the least work any program could do to check a Brazilian gen_data CSV
//! (`--dialect br`): split each line at `;`, group rows by (order, invoice) in a hash table, read
//! quantity, unit price, freight, invoice value and issuance date as digits, and compare each
//! invoice's Σ quantity × price + freight with its value. No decoding, no error handling, no
//! reports, one thread, the whole file in memory. `scripts/bench-notes.md` compares it with the
//! csv floor and `check` (2026-11-22, "later").
//!
//! Usage: bound_br FILE [--partitioned | --two-threads]
//!   (default)      group as the rows come: one look-up in a table of every invoice per row.
//!   --partitioned  first spread the rows over 256 partitions by their key's hash, then group
//!                  each partition alone, its table small enough to stay in cache.
//!   --two-threads  the same on both of the machine's cores: each thread partitions one half
//!                  of the file, then groups half of the partitions (of both halves).
//!   --streaming    as --two-threads, but each thread reads its half through a 1 MiB buffer
//!                  and keeps only the rows' keys, so memory is not the whole file.

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

/// Set in `Row::at` when the key is in the second of two texts (`--streaming`'s second half).
const SECOND: u32 = 1 << 31;

/// The key of `r`: in `text[0]`, or in `text[1]` when `r.at` has [`SECOND`].
fn key<'a>(text: [&'a [u8]; 2], r: &Row) -> (&'a [u8], &'a [u8]) {
    let data = text[usize::from(r.at & SECOND != 0)];
    let at = (r.at & !SECOND) as usize;
    let order = &data[at..at + r.order_len as usize];
    let start = at + r.order_len as usize + 1;
    (order, &data[start..start + r.number_len as usize])
}

/// The row of one line (without its `\n`), its key starting at `at` in the text it is kept in:
/// the order id, `;`, the invoice number, as on the line.
fn row_of(line: &[u8], at: u32, hasher: &impl BuildHasher) -> Row {
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
    Row {
        hash: hasher.hash_one((f(0), f(1))),
        at,
        order_len: f(0).len() as u16,
        number_len: f(1).len() as u16,
        date: digits(f(2)),
        quantity: digits(f(5)),
        price: digits(f(6)),
        freight: digits(f(7)),
        value: digits(f(8)),
    }
}

/// Every data row of the file, parsed, in order, to `sink`.
fn rows(data: &[u8], hasher: &impl BuildHasher, sink: impl FnMut(Row)) {
    let header_end = memchr::memchr(b'\n', data).map_or(data.len(), |e| e + 1);
    rows_from(data, header_end, data.len(), hasher, sink);
}

/// The rows of the lines in `data[from..to]`, `from` at a line's start.
fn rows_from(
    data: &[u8],
    from: usize,
    to: usize,
    hasher: &impl BuildHasher,
    mut sink: impl FnMut(Row),
) {
    let mut pos = from;
    while pos < to {
        let end = memchr::memchr(b'\n', &data[pos..to]).map_or(to, |e| pos + e);
        sink(row_of(&data[pos..end], pos as u32, hasher));
        pos = end + 1;
    }
}

/// Adds `row` to its invoice in `invoices`, a new one if its key is new.
fn group(
    data: [&[u8]; 2],
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

/// What the program prints: invoices, how many add up and disagree, the total of those adding up.
#[derive(Default)]
struct Tally {
    count: u64,
    good: u64,
    disagree: u64,
    total: i64,
}

impl Tally {
    /// Counts the invoices and empties the list.
    fn take(&mut self, invoices: &mut Vec<Invoice>) {
        for inv in invoices.drain(..) {
            self.count += 1;
            self.disagree += u64::from(inv.disagree);
            if inv.sum + inv.row.freight == inv.row.value {
                self.good += 1;
                self.total += inv.row.value;
            }
        }
    }

    fn plus(self, other: Tally) -> Tally {
        Tally {
            count: self.count + other.count,
            good: self.good + other.good,
            disagree: self.disagree + other.disagree,
            total: self.total + other.total,
        }
    }

    fn print(&self) {
        let Tally {
            count,
            good,
            disagree,
            total,
        } = self;
        println!("{count} invoices, {good} adding up, {disagree} disagreeing, total {total} cents");
    }
}

/// Runs `work(0)` here and `work(1)` on a second thread, at once; their answers.
fn on_both_cores<T: Send>(work: impl Fn(usize) -> T + Sync) -> (T, T) {
    std::thread::scope(|s| {
        let second = s.spawn(|| work(1));
        (work(0), second.join().expect("the second thread"))
    })
}

/// Groups partitions `start`, `start + 2`, ... of 256, each from its rows (`rows(p)`, hashed
/// by `hasher`) and its keys' text (`keys(p)`), and counts them.
fn group_every_other<'a, R: Iterator<Item = Row>>(
    start: usize,
    hasher: &impl BuildHasher,
    keys: impl Fn(usize) -> [&'a [u8]; 2],
    rows: impl Fn(usize) -> R,
) -> Tally {
    let (mut invoices, mut index) = (Vec::new(), HashTable::new());
    let mut tally = Tally::default();
    for p in (start..256).step_by(2) {
        index.clear();
        for row in rows(p) {
            group(keys(p), hasher, &mut index, &mut invoices, row);
        }
        tally.take(&mut invoices);
    }
    tally
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: bound_br FILE [--partitioned]");
    let mode = args.next();
    let partitioned = mode.as_deref() == Some("--partitioned");
    if mode.as_deref() == Some("--two-threads") {
        return two_threads(&path);
    }
    if mode.as_deref() == Some("--streaming") {
        return streaming(&path);
    }
    let data = std::fs::read(&path).expect("read the file");
    let hasher = hashbrown::DefaultHashBuilder::default();
    let (mut invoices, mut index) = (Vec::new(), HashTable::new());
    let mut tally = Tally::default();
    if partitioned {
        let mut parts: Vec<Vec<Row>> = (0..256).map(|_| Vec::new()).collect();
        rows(&data, &hasher, |row| {
            parts[(row.hash >> 56) as usize].push(row)
        });
        for part in parts {
            index.clear();
            for row in part {
                group([&data, &[]], &hasher, &mut index, &mut invoices, row);
            }
            tally.take(&mut invoices);
        }
    } else {
        rows(&data, &hasher, |row| {
            group([&data, &[]], &hasher, &mut index, &mut invoices, row)
        });
        tally.take(&mut invoices);
    }
    tally.print();
}

/// `--two-threads`: each thread partitions half the file's lines, then groups every other
/// partition, taking that partition's rows from both halves.
fn two_threads(path: &str) {
    let data = std::fs::read(path).expect("read the file");
    let hasher = hashbrown::DefaultHashBuilder::default();
    let header_end = memchr::memchr(b'\n', &data).map_or(data.len(), |e| e + 1);
    let middle = header_end.max(data.len() / 2);
    let split = memchr::memchr(b'\n', &data[middle..]).map_or(data.len(), |e| middle + e + 1);
    let partition = |from: usize, to: usize| {
        let mut parts: Vec<Vec<Row>> = (0..256).map(|_| Vec::new()).collect();
        rows_from(&data, from, to, &hasher, |row| {
            parts[(row.hash >> 56) as usize].push(row)
        });
        parts
    };
    let (a, b) = on_both_cores(|half| match half {
        0 => partition(header_end, split),
        _ => partition(split, data.len()),
    });
    let (x, y) = on_both_cores(|start| {
        let rows = |p: usize| a[p].iter().chain(&b[p]).copied();
        group_every_other(start, &hasher, |_| [&data, &[]], rows)
    });
    x.plus(y).print();
}

/// One half's part of a `--streaming` partition: its rows, and the text their keys are in.
#[derive(Default)]
struct Part {
    rows: Vec<Row>,
    keys: Vec<u8>,
}

/// `--streaming`: as `--two-threads`, reading each half line by line through a small buffer.
fn streaming(path: &str) {
    use std::io::{BufRead, BufReader, Seek, SeekFrom};
    let size = std::fs::metadata(path).expect("the file's size").len();
    let hasher = hashbrown::DefaultHashBuilder::default();
    // Each half starts at a line's start: the first after the header, the second after the
    // first line end at or past the middle.
    let start_after = |at: u64| {
        let mut file = std::fs::File::open(path).expect("open the file");
        file.seek(SeekFrom::Start(at)).expect("seek");
        let mut skipped = Vec::new();
        BufReader::new(file)
            .read_until(b'\n', &mut skipped)
            .expect("read");
        at + skipped.len() as u64
    };
    let (first, second) = (start_after(0), start_after(size / 2));
    let partition = |from: u64, to: u64, half: u32| {
        let mut parts: Vec<Part> = (0..256).map(|_| Part::default()).collect();
        let mut file = std::fs::File::open(path).expect("open the file");
        file.seek(SeekFrom::Start(from)).expect("seek");
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let (mut line, mut pos) = (Vec::new(), from);
        while pos < to {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).expect("read");
            if n == 0 {
                break;
            }
            pos += n as u64;
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            let row = row_of(text, 0, &hasher);
            let part = &mut parts[(row.hash >> 56) as usize];
            let row = Row {
                at: part.keys.len() as u32 | half,
                ..row
            };
            let key = row.order_len as usize + 1 + row.number_len as usize;
            part.keys.extend_from_slice(&text[..key]);
            part.rows.push(row);
        }
        parts
    };
    let (a, b) = on_both_cores(|half| match half {
        0 => partition(first, second, 0),
        _ => partition(second, size, SECOND),
    });
    let (x, y) = on_both_cores(|start| {
        let rows = |p: usize| a[p].rows.iter().chain(&b[p].rows).copied();
        group_every_other(start, &hasher, |p| [&a[p].keys, &b[p].keys], rows)
    });
    x.plus(y).print();
}
