//! CSV/TSV/TXT reading: sniff encoding and delimiter from a prefix, then stream records, one
//! at a time or in blocks of raw bytes that parsing threads check and read.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::sync::Arc;

use encoding_rs::Encoding;
use encoding_rs_io::DecodeReaderBytesBuilder;

use super::{Cells, DELIMITERS, Input, ReadOptions, Row, SourceError, SourceRef, is_blank};

/// How much of the input the sniffers look at.
const SNIFF_BYTES: usize = 64 * 1024;
/// How much the CSV reader asks the file for at a time: few read calls (a million-row file
/// takes 1,600), and a buffer that stays in the core's cache while the kernel copies into it.
/// (1M-row files, medians of 11 interleaved runs: 0.77 -> 0.74 s for the English one and
/// 0.98 -> 0.89 s for the Brazilian against 256 KiB, with a third less system time; 32 and
/// 128 KiB the same as 64.)
const READ_BUFFER: usize = 64 * 1024;
/// How many lines the delimiter sniffer compares.
const SNIFF_LINES: usize = 50;

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const OLE_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

pub(super) enum Opened {
    Csv(Box<(SourceRef, Vec<String>, u64, super::Inner)>),
    /// The bytes are a workbook and the caller allowed that (unknown extension).
    Workbook,
}

pub(super) struct CsvRows {
    input: BufReader<Box<dyn Read + Send>>,
    /// Boxed: its transition table is most of the size of a table.
    core: Box<::csv_core::Reader>,
    /// The record being read: its fields' bytes one after another, and each field's end.
    out: Vec<u8>,
    ends: Vec<usize>,
    record: ::csv::StringRecord,
    delimiter: u8,
    encoding: &'static Encoding,
    /// The row number of the record read last: the line it starts on, as a spreadsheet
    /// numbers the file's rows (blank lines count; a multi-line quoted cell is one row).
    records: u64,
    /// Line ends read so far outside quoted cells, `\r\n` as one: the next record's row is
    /// this plus one.
    line_ends: u64,
    /// Whether the last byte read was a `\r` outside quotes (a `\n` next ends the same line).
    cr: bool,
    /// Set after an I/O error: the reader can't resume, so the stream ends there.
    broken: bool,
    /// Whether a plain record may be split without csv_core ([`split_plain`]): once csv_core
    /// has read (it drops a byte-order mark before its first record).
    plain: bool,
    /// The fields of the plain record found last, as ranges of the input's buffer.
    spans: Vec<FieldSpan>,
    /// What is wrong with the quotes of the record read last.
    fault: Option<RecordFault>,
    /// Read as Windows-1252 though its first bytes hold UTF-8 text: the row it is first on, and
    /// whether those bytes are all UTF-8 (a UTF-8 file read as told) or mixed.
    utf8_inside: Option<(u64, bool)>,
}

/// csv_core's states as far as quotes go (double quotes escape, no escape character).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    /// Before a record (line ends here are skipped) or at a field's start.
    Start,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: a second one is a literal quote, anything else ends it.
    QuoteInQuoted,
}

/// A record's quotes, followed byte by byte beside csv_core, which accepts two mistakes
/// silently: a quote the file's end leaves open, every line after it read into one cell, and
/// one closed only by the next quote in the file, lines of rows read into one cell up to it
/// and the text after that quote appended. The second is told from a sloppy single-line
/// `"27" wide"` by its line ends. A third is told by its content: a quote opened by mistake
/// and closed by another stray one lines later, just before a separator, holds whole rows in
/// one cell, and the row comes out with its right number of cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct QuoteState {
    at: Quoting,
    /// The field being read, by index.
    field: usize,
    /// Whether the quoted field being read has crossed a line end.
    lines: bool,
    /// The first field whose multi-line quoted text is followed by more text.
    runaway: Option<usize>,
    /// Delimiters in the quoted field being read.
    inside: usize,
    /// The multi-line quoted field with the most delimiters, and how many.
    widest: Option<(usize, usize)>,
    /// Line ends outside quoted cells so far in the file, and whether the last byte was a
    /// `\r` ([`count_line_ends`]).
    line_ends: u64,
    cr: bool,
    /// The row the record starts on, once its first byte is read.
    row: Option<u64>,
}

impl QuoteState {
    fn start(line_ends: u64, cr: bool) -> QuoteState {
        QuoteState {
            at: Quoting::Start,
            field: 0,
            lines: false,
            runaway: None,
            inside: 0,
            widest: None,
            line_ends,
            cr,
            row: None,
        }
    }

    fn feed(&mut self, bytes: &[u8], delimiter: u8) {
        use Quoting::*;
        for &b in bytes {
            if self.at != Quoted {
                match b {
                    b'\r' | b'\n' => {
                        count_line_ends(&[b], &mut self.line_ends, &mut self.cr);
                    }
                    _ => {
                        self.cr = false;
                        self.row.get_or_insert(self.line_ends + 1);
                    }
                }
            }
            // A multi-line quoted field closes: the widest yet?
            if self.at == QuoteInQuoted
                && b != b'"'
                && self.lines
                && self.widest.is_none_or(|(_, n)| n < self.inside)
            {
                self.widest = Some((self.field, self.inside));
            }
            self.at = match (self.at, b) {
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, b'\r' | b'\n') => {
                    self.lines = true;
                    Quoted
                }
                (Quoted, d) if d == delimiter => {
                    self.inside += 1;
                    Quoted
                }
                (Quoted, _) => Quoted,
                (Start, b'"') => {
                    self.lines = false;
                    self.inside = 0;
                    Quoted
                }
                (QuoteInQuoted, b'"') => Quoted,
                (_, b'\r' | b'\n') => {
                    self.field = 0;
                    Start
                }
                (_, d) if d == delimiter => {
                    self.field += 1;
                    Start
                }
                (QuoteInQuoted, _) => {
                    if self.lines {
                        self.runaway.get_or_insert(self.field);
                    }
                    Unquoted
                }
                _ => Unquoted,
            };
        }
    }
}

/// What is wrong with a record's quotes, and in which field, or with its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordFault {
    /// The file's last line, with no line end after it: the file may have been cut off there
    /// (a fault only if the row is short of the header's cells).
    Unended,
    /// Opened and never closed: the rest of the file is in this field.
    Unclosed(usize),
    /// Quoted over several lines, then more text after the closing quote.
    Runaway(usize),
    /// Quoted over several lines that hold as many separators as a whole row: rows read into
    /// one cell between two stray quotes.
    Swallowed(usize),
}

pub(super) fn open(
    file: &Arc<str>,
    input: &Input,
    opts: &ReadOptions,
    allow_workbook: bool,
) -> Result<Opened, SourceError> {
    let io_err = |e: std::io::Error| SourceError::Io {
        file: file.to_string(),
        message: e.to_string(),
    };
    let (prefix, complete) = match input {
        Input::Bytes(bytes) => {
            let n = bytes.len().min(SNIFF_BYTES);
            (
                bytes.get(..n).unwrap_or_default().to_vec(),
                n == bytes.len(),
            )
        }
        Input::Path(path) => {
            let mut buf = Vec::with_capacity(SNIFF_BYTES);
            File::open(path)
                .map_err(io_err)?
                .take(SNIFF_BYTES as u64 + 1)
                .read_to_end(&mut buf)
                .map_err(io_err)?;
            let complete = buf.len() <= SNIFF_BYTES;
            buf.truncate(SNIFF_BYTES);
            (buf, complete)
        }
    };

    if let Some((kind, ext)) = workbook_magic(&prefix) {
        if allow_workbook {
            return Ok(Opened::Workbook);
        }
        return Err(SourceError::WorkbookNamedAsText {
            file: file.to_string(),
            kind,
            ext,
        });
    }

    // A PDF or an image read as CSV would show its bytes as headers, whatever `--encoding`
    // says (a config's windows-1252 too). A header line has no NUL byte, unless it is UTF-16,
    // which a byte-order mark announces or `--encoding` says.
    let utf16 = opts.encoding.is_some_and(is_utf16);
    let bom = Encoding::for_bom(&prefix).is_some();
    if !bom && let Some(kind) = binary_kind(&prefix, !utf16) {
        return Err(SourceError::NotText {
            file: file.to_string(),
            kind,
        });
    }
    let sniffed = sniff_encoding(&prefix, complete);
    let encoding = opts.encoding.unwrap_or(sniffed);
    let (text, _, _) = encoding.decode(&prefix);
    let delimiter = opts
        .delimiter
        .unwrap_or_else(|| sniff_delimiter(&text, complete));
    // Read as Windows-1252 (by its bytes or as told), a file that also holds UTF-8 text (rows
    // pasted from another export) would read as "Ã©" where it says "é", without a word.
    let utf8_inside = match encoding == encoding_rs::WINDOWS_1252 && !bom {
        true => utf8_row(&prefix, delimiter).map(|row| (row, sniffed == encoding_rs::UTF_8)),
        false => None,
    };

    let mut rows = CsvRows::new(input, encoding, delimiter).map_err(io_err)?;
    rows.utf8_inside = utf8_inside;
    let (headers, header_row) = match rows.next_row(file)? {
        Some(row) => (row.texts(), row.number()),
        None => return Err(SourceError::NoData(file.to_string())),
    };
    let source = SourceRef {
        file: file.clone(),
        sheet: None,
    };
    Ok(Opened::Csv(Box::new((
        source,
        headers,
        header_row,
        super::Inner::Csv(rows),
    ))))
}

impl CsvRows {
    fn new(input: &Input, encoding: &'static Encoding, delimiter: u8) -> std::io::Result<CsvRows> {
        Self::with_buffer(input, encoding, delimiter, READ_BUFFER)
    }

    fn with_buffer(
        input: &Input,
        encoding: &'static Encoding,
        delimiter: u8,
        buffer: usize,
    ) -> std::io::Result<CsvRows> {
        let raw: Box<dyn Read + Send> = match input {
            Input::Path(path) => Box::new(File::open(path)?),
            Input::Bytes(bytes) => Box::new(Cursor::new(bytes.clone())),
        };
        let (raw, bom) = read_bom(raw)?;
        // A byte-order mark wins over `--encoding` (below), and so names what was read.
        let encoding = bom.unwrap_or(encoding);
        let decoded: Box<dyn Read + Send> = if bom == Some(encoding_rs::UTF_8)
            || (bom.is_none() && encoding == encoding_rs::UTF_8)
        {
            // UTF-8 (a byte-order mark wins over `--encoding`, as it always has) is passed
            // through untouched, its mark skipped: the parsing threads check the text (see
            // `RecordBlock::text`), so an invalid byte is an error of its row, not a
            // silent U+FFFD, and the bytes are not copied once more on the way.
            raw
        } else {
            let mut builder = DecodeReaderBytesBuilder::new();
            builder.strip_bom(true);
            if bom.is_some() {
                // A mark here is UTF-16's (UTF-8's is read above), and wins over `--encoding`,
                // as it always has.
                builder.encoding(None).bom_sniffing(true);
            } else if is_utf16(encoding) {
                // `--encoding utf-16le` for text without a mark (bug: it was read as UTF-8,
                // every other byte a NUL).
                builder.encoding(Some(encoding)).bom_sniffing(false);
            } else {
                builder.encoding(Some(encoding)).bom_override(true);
            }
            Box::new(
                builder
                    .build_with_buffer(raw, vec![0; READ_BUFFER])
                    .map_err(std::io::Error::other)?,
            )
        };
        Ok(CsvRows {
            input: BufReader::with_capacity(buffer, decoded),
            core: Box::new(
                ::csv_core::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .build(),
            ),
            out: vec![0; 1024],
            ends: vec![0; 64],
            record: ::csv::StringRecord::new(),
            delimiter,
            encoding,
            records: 0,
            line_ends: 0,
            cr: false,
            broken: false,
            plain: false,
            spans: Vec::new(),
            fault: None,
            utf8_inside: None,
        })
    }

    /// Finds the next record in the buffer when it is plain ([`split_plain`]): where it
    /// starts in the buffer and how many bytes it takes with its terminator, its fields in
    /// `spans`. Nothing of it is consumed. `None` leaves the record to csv_core, at its start.
    /// Blank lines before it are consumed, as csv_core skips them.
    fn find_plain(&mut self) -> std::io::Result<Option<(usize, usize)>> {
        if !self.plain || self.broken {
            return Ok(None);
        }
        let input = self.input.fill_buf()?;
        let Some(start) = input.iter().position(|&b| b != b'\r' && b != b'\n') else {
            let skipped = input.len();
            count_line_ends(input, &mut self.line_ends, &mut self.cr);
            self.input.consume(skipped);
            return Ok(None);
        };
        let rest = input.get(start..).unwrap_or_default();
        match split_plain(rest, self.delimiter, &mut self.spans) {
            Some(used) => Ok(Some((start, used))),
            None => {
                let blank = input.get(..start).unwrap_or_default();
                count_line_ends(blank, &mut self.line_ends, &mut self.cr);
                self.input.consume(start);
                Ok(None)
            }
        }
    }

    /// Counts the lines of the plain record [`Self::find_plain`] found at `start` (the blank
    /// lines before it, and its own), and takes its row number.
    fn pass_plain(&mut self, start: usize, used: usize) {
        let buffer = self.input.buffer();
        let blank = buffer.get(..start).unwrap_or_default();
        count_line_ends(blank, &mut self.line_ends, &mut self.cr);
        self.records = self.line_ends + 1;
        // Its first byte is not a line end (`find_plain` passed those): a `\r` before it ended
        // an earlier line. It ends at its first line end.
        self.cr = false;
        let end = buffer
            .get(start + used - 1..start + used)
            .unwrap_or_default();
        count_line_ends(end, &mut self.line_ends, &mut self.cr);
    }

    /// Reads the next record into `out` and `ends` if it is plain ([`Self::find_plain`]).
    fn read_plain(&mut self) -> std::io::Result<Option<(usize, usize)>> {
        let Some((start, used)) = self.find_plain()? else {
            return Ok(None);
        };
        self.pass_plain(start, used);
        let record = self.input.buffer().get(start..).unwrap_or_default();
        let fields = self.spans.len();
        if self.ends.len() < fields {
            self.ends.resize(fields, 0);
        }
        if self.out.len() < used {
            self.out.resize(used, 0);
        }
        let mut len = 0;
        for (&(from, to), end) in self.spans.iter().zip(self.ends.iter_mut()) {
            let field = record.get(from..to).unwrap_or_default();
            if let Some(out) = self.out.get_mut(len..len + field.len()) {
                out.copy_from_slice(field);
            }
            len += field.len();
            *end = len;
        }
        self.input.consume(start + used);
        Ok(Some((len, fields)))
    }

    /// Reads the next record, blank or not, into `out` and `ends`: how many bytes and fields
    /// it has, or `None` at the end of the input (or after an I/O error, which is returned
    /// once).
    fn read_raw(&mut self) -> std::io::Result<Option<(usize, usize)>> {
        use ::csv_core::ReadRecordResult;
        self.fault = None;
        if self.broken {
            return Ok(None);
        }
        if self.plain {
            match self.read_plain() {
                Ok(Some(record)) => return Ok(Some(record)),
                Ok(None) => {}
                Err(e) => {
                    self.broken = true;
                    return Err(e);
                }
            }
        }
        let (mut outlen, mut endlen) = (0, 0);
        // Where csv_core's record stands as to quotes, followed byte by byte beside it.
        let mut quotes = QuoteState::start(self.line_ends, self.cr);
        loop {
            let input = match self.input.fill_buf() {
                Ok(input) => input,
                Err(e) => {
                    self.broken = true;
                    return Err(e);
                }
            };
            let at_end = input.is_empty();
            let (result, nin, nout, nend) = self.core.read_record(
                input,
                self.out.get_mut(outlen..).unwrap_or_default(),
                self.ends.get_mut(endlen..).unwrap_or_default(),
            );
            quotes.feed(input.get(..nin).unwrap_or_default(), self.delimiter);
            self.input.consume(nin);
            (self.line_ends, self.cr) = (quotes.line_ends, quotes.cr);
            outlen += nout;
            endlen += nend;
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let n = self.out.len().max(64) * 2;
                    self.out.resize(n, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let n = self.ends.len().max(8) * 2;
                    self.ends.resize(n, 0);
                }
                ReadRecordResult::Record => {
                    self.records = quotes.row.unwrap_or(self.line_ends + 1);
                    self.fault = match quotes {
                        QuoteState {
                            at: Quoting::Quoted,
                            field,
                            ..
                        } if at_end => Some(RecordFault::Unclosed(field)),
                        QuoteState {
                            runaway: Some(field),
                            ..
                        } => Some(RecordFault::Runaway(field)),
                        // As many separators in one cell as between the row's own cells: a
                        // description over two lines has a comma or two, not a row's worth.
                        // (A quote that ends the file closes its cell with no byte after it.)
                        QuoteState {
                            widest: Some((field, inside)),
                            ..
                        }
                        | QuoteState {
                            at: Quoting::QuoteInQuoted,
                            lines: true,
                            field,
                            inside,
                            ..
                        } if inside >= (endlen.max(1) - 1).max(2) => {
                            Some(RecordFault::Swallowed(field))
                        }
                        _ if at_end => Some(RecordFault::Unended),
                        _ => None,
                    };
                    // A delimiter that is a quote or a line end is csv_core's to make sense of.
                    self.plain = !matches!(self.delimiter, b'"' | b'\r' | b'\n');
                    return Ok(Some((outlen, endlen)));
                }
                ReadRecordResult::End => return Ok(None),
            }
        }
    }

    /// The next record with any content, read into `out` and `ends`: its row number and how
    /// many bytes and fields it has, or `None` at the end.
    fn next_raw(&mut self, file: &str) -> Result<Option<(u64, usize, usize)>, SourceError> {
        loop {
            match self.read_raw() {
                Ok(None) => return Ok(None),
                Ok(Some((len, fields))) => {
                    let out = self.out.get(..len).unwrap_or_default();
                    let ends = self.ends.get(..fields).unwrap_or_default();
                    if fields_of(out, ends).all(is_blank_bytes) {
                        continue;
                    }
                    return Ok(Some((self.records, len, fields)));
                }
                Err(err) => return Err(self.stopped(file, &err)),
            }
        }
    }

    /// The error of the record an I/O error stopped at, after which the reader can't resume.
    fn stopped(&mut self, file: &str, err: &std::io::Error) -> SourceError {
        self.broken = true;
        self.records = self.line_ends + 1;
        SourceError::Record {
            file: file.to_string(),
            row: self.records,
            message: format!("reading stopped: {err}"),
        }
    }

    pub(super) fn delimiter(&self) -> u8 {
        self.delimiter
    }

    pub(super) fn encoding(&self) -> &'static Encoding {
        self.encoding
    }

    /// Why the text may be read wrong: a file read as Windows-1252 that also holds UTF-8.
    pub(super) fn encoding_doubt(&self) -> Option<String> {
        Some(match self.utf8_inside? {
            (_, true) => String::from(
                "read as Windows-1252, as told, but it is UTF-8 text (é would show as Ã©); \
                 pass --encoding utf-8, or leave --encoding out",
            ),
            (row, false) => format!(
                "read as Windows-1252, but row {row} is UTF-8 text (é would show as Ã©): the \
                 file mixes two encodings; re-export it in one (UTF-8 or Windows-1252)"
            ),
        })
    }

    pub(super) fn describe(&self) -> String {
        format!(
            "CSV, {}-separated, {}",
            super::delimiter_name(self.delimiter),
            self.encoding.name().to_ascii_lowercase()
        )
    }

    pub(super) fn next_row(&mut self, file: &str) -> Result<Option<Row<'_>>, SourceError> {
        let Some((number, len, fields)) = self.next_raw(file)? else {
            return Ok(None);
        };
        let out = self.out.get(..len).unwrap_or_default();
        let ends = self.ends.get(..fields).unwrap_or_default();
        self.record.clear();
        for (column, field) in fields_of(out, ends).enumerate() {
            match std::str::from_utf8(field) {
                Ok(text) => self.record.push_field(text),
                Err(e) => {
                    return Err(SourceError::Record {
                        file: file.to_string(),
                        row: number,
                        message: utf8_message(&format_args!(
                            "column {}, {}",
                            column + 1,
                            utf8_detail(field, e.valid_up_to())
                        )),
                    });
                }
            }
        }
        Ok(Some(Row {
            number,
            cells: Cells::Csv(&self.record),
        }))
    }

    /// As [`Self::next_row`], into the caller's record as bytes, whose text is not yet known
    /// to be UTF-8.
    pub(super) fn next_into(
        &mut self,
        file: &str,
        record: &mut ::csv::ByteRecord,
    ) -> Result<Option<u64>, SourceError> {
        let Some((number, len, fields)) = self.next_raw(file)? else {
            return Ok(None);
        };
        record.clear();
        record.extend(fields_of(
            self.out.get(..len).unwrap_or_default(),
            self.ends.get(..fields).unwrap_or_default(),
        ));
        Ok(Some(number))
    }

    /// As [`Self::next_into`], appended to `block`.
    pub(super) fn next_into_block(
        &mut self,
        file: &str,
        block: &mut RecordBlock,
    ) -> Result<Option<u64>, SourceError> {
        // A plain record goes into the block from the input's buffer, copied once.
        loop {
            match self.find_plain() {
                Ok(Some((start, used))) => {
                    self.pass_plain(start, used);
                    let record = self.input.buffer().get(start..).unwrap_or_default();
                    let blank = self.spans.iter().all(|&(from, to)| {
                        is_blank_bytes(record.get(from..to).unwrap_or_default())
                    });
                    if !blank {
                        // The line without its terminator.
                        let line = record.get(..used - 1).unwrap_or_default();
                        block.push_line(self.records, line, &self.spans);
                    }
                    self.input.consume(start + used);
                    if !blank {
                        return Ok(Some(self.records));
                    }
                }
                Ok(None) => break,
                Err(err) => return Err(self.stopped(file, &err)),
            }
        }
        let Some((number, len, fields)) = self.next_raw(file)? else {
            return Ok(None);
        };
        if let Some(fault) = self.fault {
            block.faults.push((block.len(), fault));
        }
        block.push(
            number,
            self.out.get(..len).unwrap_or_default(),
            self.ends.get(..fields).unwrap_or_default(),
        );
        Ok(Some(number))
    }
}

/// Each byte of a word, eight at a time: `0x0101_0101_0101_0101 * b`.
const fn splat(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}

/// The high bit of the first byte of `word` (in memory order) that equals the byte `splat`
/// repeats, and maybe of later ones: the lowest bit set is exact, the others are not (a borrow
/// out of a matching byte may flag the next), so only the lowest may be used.
fn bytes_equal(word: u64, splat: u64) -> u64 {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let x = word ^ splat;
    x.wrapping_sub(LOW) & !x & HIGH
}

/// Where the first byte of `bytes` from `from` that is one of `needles` is, eight bytes at a
/// time; `None` when there is none. (The lowest bit [`bytes_equal`] sets for any needle is
/// exact, so the lowest of them all is.)
fn find_any<const N: usize>(bytes: &[u8], from: usize, needles: [u64; N]) -> Option<usize> {
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let hits = needles
            .iter()
            .fold(0, |hits, &needle| hits | bytes_equal(word, needle));
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = bytes.get(at..).unwrap_or_default();
    tail.iter()
        .position(|&b| needles.contains(&splat(b)))
        .map(|k| at + k)
}

/// Splits the record at the start of `buf` into `spans` (each field's range of `buf`) when it
/// is plain: whole in `buf` (its terminator, `\r` or `\n`, is there), and each field either
/// not starting with a `"` (one further in is text, to csv_core too) or quoted as a whole with
/// no quote or line end inside (`"1,234.56"`). Returns the bytes it takes with its
/// terminator, or `None` for any other record, which is left to csv_core. For plain records
/// csv_core reads exactly this (see `tests::plain_records_read_as_csv_core_reads_them`), a few
/// times slower: here eight bytes at a time are searched for the next delimiter, quote or line
/// end, where csv_core's state machine steps byte by byte (the ingest benchmark's floor is
/// that state machine).
fn split_plain(buf: &[u8], delimiter: u8, spans: &mut Vec<FieldSpan>) -> Option<usize> {
    let (delimiter, quote, cr, lf) = (splat(delimiter), splat(b'"'), splat(b'\r'), splat(b'\n'));
    spans.clear();
    let mut start = 0;
    loop {
        let (field, next) = if buf.get(start) == Some(&b'"') {
            let close = find_any(buf, start + 1, [quote, cr, lf])?;
            if buf.get(close) != Some(&b'"') {
                return None;
            }
            ((start + 1, close), close + 1)
        } else {
            let end = find_any(buf, start, [delimiter, cr, lf])?;
            ((start, end), end)
        };
        spans.push(field);
        match buf.get(next) {
            Some(b'\r' | b'\n') => return Some(next + 1),
            Some(&b) if splat(b) == delimiter => start = next + 1,
            // Text after a closing quote, or the buffer's end.
            _ => return None,
        }
    }
}

/// Adds the line ends in `bytes` (outside quoted cells) to `line_ends`: `\r`, `\n` and `\r\n`
/// each end a line, as in csv_core and spreadsheets; `cr` carries a `\r` to the next call, so a
/// `\r\n` split between reads is one line end.
fn count_line_ends(bytes: &[u8], line_ends: &mut u64, cr: &mut bool) {
    for &b in bytes {
        match b {
            b'\n' if *cr => *cr = false,
            b'\n' => *line_ends += 1,
            b'\r' => {
                *line_ends += 1;
                *cr = true;
            }
            _ => *cr = false,
        }
    }
}

/// The fields of a record read into `out`, each ending at its entry of `ends`.
fn fields_of<'a>(out: &'a [u8], ends: &'a [usize]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut start = 0;
    ends.iter().map(move |&end| {
        let field = out.get(start..end).unwrap_or_default();
        start = end;
        field
    })
}

/// The encoding whose byte-order mark `raw` starts with, if any, and `raw` without a UTF-8
/// mark (a UTF-16 one is left for the decoder).
fn read_bom(
    mut raw: Box<dyn Read + Send>,
) -> std::io::Result<(Box<dyn Read + Send>, Option<&'static Encoding>)> {
    // The longest mark, UTF-8's.
    const BOM_BYTES: u64 = 3;
    let mut head = Vec::with_capacity(BOM_BYTES as usize);
    (&mut raw).take(BOM_BYTES).read_to_end(&mut head)?;
    let bom = Encoding::for_bom(&head).map(|(encoding, _)| encoding);
    if bom == Some(encoding_rs::UTF_8) {
        head.clear();
    }
    Ok((Box::new(Cursor::new(head).chain(raw)), bom))
}

/// A field of only spaces, as [`is_blank`] says, from its bytes: a visible ASCII first byte
/// settles it at once.
fn is_blank_bytes(field: &[u8]) -> bool {
    match field.first() {
        None => true,
        Some(&b) if b > b' ' && b.is_ascii() => false,
        _ => std::str::from_utf8(field).is_ok_and(is_blank),
    }
}

/// CSV records read as bytes, one after another in one buffer, for a parsing thread: a batch
/// of them costs a few allocations rather than three per record, is read in order from
/// memory, and has its text checked in one pass ([`RecordBlock::text`]).
#[derive(Debug, Default)]
pub struct RecordBlock {
    bytes: Vec<u8>,
    /// Each field's range, counted from its record's start. A plain record keeps its line as
    /// read, delimiters and quotes between its fields; csv_core's, its fields one after another.
    spans: Vec<FieldSpan>,
    /// Each record's row number, its start in `bytes` and its first field's index in `spans`.
    records: Vec<(u64, usize, usize)>,
    /// The records whose fields lie one after another (csv_core's), by index: only theirs may
    /// meet inside a character. A plain line's fields end at a delimiter, a quote or the line's
    /// end.
    packed: Vec<usize>,
    /// Records whose quotes csv_core accepted but the file's writer can't have meant.
    faults: Vec<(usize, RecordFault)>,
}

/// A field's start and end in its record's bytes.
pub type FieldSpan = (usize, usize);

/// A [`RecordBlock`]'s text, once checked.
#[derive(Debug, Clone, Copy)]
pub struct BlockText<'a>(Option<&'a str>);

impl RecordBlock {
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.spans.clear();
        self.records.clear();
        self.packed.clear();
        self.faults.clear();
    }

    /// What is wrong with record `k`'s quotes or end, if anything.
    pub fn record_fault(&self, k: usize) -> Option<RecordFault> {
        self.faults
            .iter()
            .find(|&&(record, _)| record == k)
            .map(|&(_, fault)| fault)
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Bytes held: a block of a few huge records is handed on before it has its count of them.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// Appends a record, row `number`: its fields' bytes one after another, and each field's
    /// end in them.
    fn push(&mut self, number: u64, bytes: &[u8], ends: &[usize]) {
        self.packed.push(self.records.len());
        self.records
            .push((number, self.bytes.len(), self.spans.len()));
        self.bytes.extend_from_slice(bytes);
        let mut start = 0;
        self.spans.extend(ends.iter().map(|&end| {
            let span = (start, end);
            start = end;
            span
        }));
    }

    /// Appends a record, row `number`: `line`, whose fields are its `spans`.
    fn push_line(&mut self, number: u64, line: &[u8], spans: &[FieldSpan]) {
        self.records
            .push((number, self.bytes.len(), self.spans.len()));
        self.bytes.extend_from_slice(line);
        self.spans.extend_from_slice(spans);
    }

    /// The whole block as text when it is UTF-8 with every field of a packed record starting
    /// and ending on a character (as a whole, a record may be valid with a character cut
    /// between two fields): one check for thousands of records. Otherwise each record is
    /// checked alone ([`Self::row`]).
    pub fn text(&self) -> BlockText<'_> {
        // simdutf8: thousands of records' text, mostly ASCII with an accent every few
        // fields, where the standard library's check leaves its fast path at each accent.
        let text = simdutf8::basic::from_utf8(&self.bytes).ok().filter(|text| {
            // Within a plain line a field ends before an ASCII byte or at the line's end, and a
            // record that does not start and end on a character is refused by `row` alone (its
            // text can't be cut out): only packed records' fields need a look of their own.
            self.packed.iter().all(|&k| {
                self.record(k)
                    .is_some_and(|(_, range, spans)| on_characters(text, range.start, spans))
            })
        });
        BlockText(text)
    }

    /// Record `k`: its row number, its bytes' range and its fields' spans.
    fn record(&self, k: usize) -> Option<(u64, std::ops::Range<usize>, &[FieldSpan])> {
        let &(number, start, first) = self.records.get(k)?;
        let (end, last) = self
            .records
            .get(k + 1)
            .map_or((self.bytes.len(), self.spans.len()), |&(_, next, spans)| {
                (next, spans)
            });
        Some((number, start..end, self.spans.get(first..last)?))
    }

    /// Record `k` as a row, with `text` from [`Self::text`]; `Err` with the record when some
    /// field of it is not UTF-8 text (see [`record_by_field`]).
    pub fn row<'a>(
        &'a self,
        text: BlockText<'a>,
        k: usize,
    ) -> Option<Result<Row<'a>, ::csv::ByteRecord>> {
        let (number, range, spans) = self.record(k)?;
        let bytes = self.bytes.get(range.clone())?;
        let record_text = match text.0 {
            Some(all) => all.get(range),
            None => std::str::from_utf8(bytes)
                .ok()
                .filter(|t| on_characters(t, 0, spans)),
        };
        Some(match record_text {
            Some(text) => Ok(Row {
                number,
                cells: Cells::Record(text, spans),
            }),
            None => {
                let mut record = ::csv::ByteRecord::with_capacity(bytes.len(), spans.len());
                record.extend(
                    spans
                        .iter()
                        .map(|&(from, to)| bytes.get(from..to).unwrap_or_default()),
                );
                Err(record)
            }
        })
    }

    /// Row number of record `k`.
    pub fn number(&self, k: usize) -> Option<u64> {
        self.record(k).map(|(number, _, _)| number)
    }
}

/// Whether every field of the record at `start` in `text`, at `spans` from there, starts and
/// ends on a character. Only the ends need a look: a field starts at its record's start, where
/// the one before it ends, or after a delimiter or quote, which are ASCII.
fn on_characters(text: &str, start: usize, spans: &[FieldSpan]) -> bool {
    spans
        .iter()
        .all(|&(_, end)| text.is_char_boundary(start + end))
}

/// A record that [`RecordBlock::row`] refused, field by field: its text with each field that is
/// not UTF-8 left blank, and those fields, by index, with what is wrong with each. Only the
/// cells that are not text then fail, not the whole row.
pub fn record_by_field(record: &::csv::ByteRecord) -> (::csv::StringRecord, Vec<(usize, String)>) {
    let mut text = ::csv::StringRecord::with_capacity(record.as_slice().len(), record.len());
    let mut bad = Vec::new();
    for (i, field) in record.iter().enumerate() {
        match std::str::from_utf8(field) {
            Ok(t) => text.push_field(t),
            Err(e) => {
                bad.push((i, utf8_message(&utf8_detail(field, e.valid_up_to()))));
                text.push_field("");
            }
        }
    }
    (text, bad)
}

/// Where a field stops being UTF-8: "byte 0xE9, character 4 of the cell".
fn utf8_detail(field: &[u8], valid_up_to: usize) -> String {
    let byte = field.get(valid_up_to).copied().unwrap_or_default();
    let character = std::str::from_utf8(field.get(..valid_up_to).unwrap_or_default())
        .map_or(0, |valid| valid.chars().count())
        + 1;
    format!("byte 0x{byte:02X}, character {character} of the cell")
}

fn utf8_message(detail: &dyn std::fmt::Display) -> String {
    format!(
        "not valid UTF-8 text ({detail}); if the file is from Excel on Windows, \
         pass --encoding windows-1252"
    )
}

fn is_utf16(encoding: &Encoding) -> bool {
    encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE
}

/// What a file that is not text is, by its first bytes (and, if `nul`, a NUL byte in its
/// first line); `None` for text.
fn binary_kind(prefix: &[u8], nul: bool) -> Option<&'static str> {
    const KINDS: [(&[u8], &str); 4] = [
        (b"%PDF-", "a PDF document"),
        (b"\x89PNG", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"\x1F\x8B", "a gzip archive"),
    ];
    if let Some((_, kind)) = KINDS.iter().find(|(magic, _)| prefix.starts_with(magic)) {
        return Some(kind);
    }
    // A NUL in the header line: a few stray ones in the rows are errors of those rows only.
    let first_line = prefix
        .split(|&b| b == b'\n' || b == b'\r')
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    (nul && first_line.contains(&0)).then_some(
        "binary data (NUL bytes; for UTF-16 text without a byte-order mark, pass --encoding \
         utf-16le or utf-16be)",
    )
}

fn workbook_magic(prefix: &[u8]) -> Option<(&'static str, &'static str)> {
    if prefix.starts_with(ZIP_MAGIC) {
        Some(("XLSX/ODS (zip)", "xlsx"))
    } else if prefix.starts_with(OLE_MAGIC) {
        Some(("XLS (OLE)", "xls"))
    } else {
        None
    }
}

/// The row (as the reader numbers them, in a file split at `delimiter`) of the first UTF-8
/// character of the Latin-1 range in `bytes` (`é` is `\xC3\xA9`): in Windows-1252 text those
/// pairs are `Ã` or `Â` before a symbol, which Portuguese, Spanish or English text never writes.
fn utf8_row(bytes: &[u8], delimiter: u8) -> Option<u64> {
    let at = bytes
        .windows(2)
        .position(|pair| matches!(pair, [0xC3, 0x80..=0xBF] | [0xC2, 0xA0..=0xBF]))?;
    // The reader's own quote rules: a quoted cell's line ends are inside its row.
    let mut quotes = QuoteState::start(0, false);
    quotes.feed(bytes.get(..at).unwrap_or_default(), delimiter);
    Some(quotes.line_ends + 1)
}

/// UTF-8 (with or without BOM) when the prefix is valid UTF-8, UTF-16 by BOM, otherwise
/// Windows-1252, which is what Excel on a Brazilian or Western Windows writes.
fn sniff_encoding(prefix: &[u8], complete: bool) -> &'static Encoding {
    if let Some((encoding, _)) = Encoding::for_bom(prefix) {
        return encoding;
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => encoding_rs::UTF_8,
        // The prefix may end inside a multi-byte character; that is not evidence against UTF-8.
        Err(e) if e.error_len().is_none() && !complete => encoding_rs::UTF_8,
        Err(_) => encoding_rs::WINDOWS_1252,
    }
}

/// The candidate that splits the most lines into one same number of fields (the larger number
/// when two tie: a `;` file's decimal commas are fewer than its semicolons); ',' when nothing
/// splits any line (a one-column file). Every line votes, so a title above the header (`Total:
/// R$ 1.234,56`, `Relatório;;;;`) is outvoted by the rows. A file whose title lines outvote
/// its few rows is read again with the other delimiters when no header is found
/// (`group::load_file`).
fn sniff_delimiter(text: &str, complete: bool) -> u8 {
    delimiter_votes(&line_counts(text, complete)).map_or(b',', |(_, _, d)| d)
}

/// How many times each candidate occurs on each line that has text, outside quoted cells. As in
/// csv_core, a quote opens a quoted cell only at a cell's start (`12" polegadas` is text), and
/// a doubled quote inside one is a quote; a quoted cell may span lines.
fn line_counts(text: &str, complete: bool) -> Vec<[usize; 4]> {
    let mut lines: Vec<[usize; 4]> = Vec::new();
    let mut counts = [0usize; 4];
    let mut in_quotes = false;
    let mut line_has_text = false;
    // Whether the next byte starts a cell: after a line end or a candidate delimiter.
    let mut cell_start = true;
    let mut bytes = text.bytes().peekable();
    while let Some(b) = bytes.next() {
        if in_quotes {
            line_has_text = true;
            if b == b'"' {
                if bytes.peek() == Some(&b'"') {
                    bytes.next();
                } else {
                    in_quotes = false;
                }
            }
            continue;
        }
        match b {
            b'"' if cell_start => {
                in_quotes = true;
                line_has_text = true;
            }
            b'\n' => {
                if line_has_text {
                    lines.push(counts);
                    if lines.len() == SNIFF_LINES {
                        return lines;
                    }
                }
                counts = [0; 4];
                line_has_text = false;
            }
            _ => {
                if let Some(i) = DELIMITERS.iter().position(|&c| c == b) {
                    counts[i] += 1;
                } else if !b.is_ascii_whitespace() {
                    line_has_text = true;
                }
            }
        }
        cell_start = b == b'\n' || b == b'\r' || DELIMITERS.contains(&b);
    }
    // A last line cut by the prefix would miscount, so it only counts when the text is whole.
    if line_has_text && (complete || lines.is_empty()) {
        lines.push(counts);
    }
    lines
}

/// The best candidate by its votes: how many lines share its most common count (above zero),
/// then that count. `None` when no line has any candidate.
fn delimiter_votes(lines: &[[usize; 4]]) -> Option<(usize, usize, u8)> {
    let mut best: Option<(usize, usize, u8)> = None;
    for (i, &cand) in DELIMITERS.iter().enumerate() {
        let mut counts: Vec<usize> = lines.iter().map(|l| l[i]).filter(|&n| n > 0).collect();
        counts.sort_unstable();
        // The longest run of one count; the larger count on a tie.
        let mut k = 0;
        while k < counts.len() {
            let run = counts[k..].iter().take_while(|&&n| n == counts[k]).count();
            let score = (run, counts[k], cand);
            if best.is_none_or(|b| (score.0, score.1) > (b.0, b.1)) {
                best = Some(score);
            }
            k += run;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_brazilian_semicolons_despite_decimal_commas() {
        let text = "Pedido;Valor;Data\n1;\"1.234,56\";01/02/2024\n2;10,00;02/02/2024\n";
        assert_eq!(sniff_delimiter(text, true), b';');
    }

    #[test]
    fn sniffs_commas_tabs_pipes() {
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n", true), b',');
        assert_eq!(sniff_delimiter("a\tb\tc\n1\t2,5\t3\n", true), b'\t');
        assert_eq!(sniff_delimiter("a|b\n1|2\n", true), b'|');
        assert_eq!(sniff_delimiter("only\n1\n", true), b',');
        assert_eq!(sniff_delimiter("", true), b',');
        // Quoted delimiters don't count, and a quoted field may span lines.
        assert_eq!(sniff_delimiter("a;b\n\"x,y,z\n,w\";2\n3;4\n", true), b';');
    }

    #[test]
    fn a_title_above_the_header_does_not_choose_the_delimiter() {
        let rows = "Pedido;NF;Valor\nA;1;10,00\nB;2;1.234,50\n";
        for title in [
            "Notas fiscais - Total: R$ 1.234,56\n\n",
            "Loja Centro, novembro\n",
            "Relat\u{f3}rio 12\" polegadas\n",
            "Relat\u{f3}rio,,,,\n",
        ] {
            assert_eq!(
                sniff_delimiter(&format!("{title}{rows}"), true),
                b';',
                "{title}"
            );
        }
        // Quoted cells over several lines, with commas in them (bug: read as ',' when a stray
        // quote made every line count without quotes).
        let addresses = "Pedido;Endere\u{e7}o;Valor\n\
                         A;\"Rua A, 1\nBairro B, SP\nCEP 01000-000, Brasil\";10,00\n\
                         B;\"Rua \"\"C\"\", 2\nBairro D, RJ\";12,00\n";
        assert_eq!(sniff_delimiter(addresses, true), b';');
        let rows = "Order,Invoice,Value\nA,1,10.00\nB,2,12.00\n";
        for title in ["Relat\u{f3}rio;;;;;\n", "Invoices | November\n"] {
            assert_eq!(
                sniff_delimiter(&format!("{title}{rows}"), true),
                b',',
                "{title}"
            );
        }
    }

    /// A block of `records`, each a list of fields, numbered from 2.
    fn block_of(records: &[Vec<&[u8]>]) -> RecordBlock {
        let mut block = RecordBlock::default();
        for (k, fields) in records.iter().enumerate() {
            let mut ends = Vec::new();
            let mut end = 0;
            for f in fields {
                end += f.len();
                ends.push(end);
            }
            block.push(k as u64 + 2, &fields.concat(), &ends);
        }
        block
    }

    /// Each record of `block` as its fields' texts, or `None` for one that is not UTF-8.
    fn rows_of(block: &RecordBlock) -> Vec<Option<Vec<String>>> {
        let text = block.text();
        (0..block.len())
            .map(|k| match block.row(text, k) {
                Some(Ok(row)) => Some((0..row.len()).map(|c| row.text(c).into_owned()).collect()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_block_is_checked_whole_and_then_per_record() {
        let good: Vec<&[u8]> = vec![b"A\xc3\xa7\xc3\xbacar", b"1,5", b""];
        let block = block_of(&[good.clone(), vec![b"R$ 1.234,56", b"", b"\xe2\x82\xac"]]);
        assert!(block.text().0.is_some());
        assert_eq!(
            rows_of(&block),
            vec![
                Some(vec!["Açúcar".into(), "1,5".into(), "".into()]),
                Some(vec!["R$ 1.234,56".into(), "".into(), "€".into()]),
            ]
        );
        assert_eq!(block.number(1), Some(3));

        // "é" cut between two fields: the bytes together are valid UTF-8, the fields are not.
        // Only that record is refused, and as bytes, to be read field by field.
        let cut: Vec<&[u8]> = vec![b"caf\xc3", b"\xa9"];
        let block = block_of(&[good.clone(), cut, good.clone()]);
        assert!(block.text().0.is_none());
        let rows = rows_of(&block);
        assert!(
            rows[0].is_some() && rows[1].is_none() && rows[2].is_some(),
            "{rows:?}"
        );
        match block.row(block.text(), 1) {
            Some(Err(record)) => assert_eq!(record.get(1), Some(&b"\xa9"[..])),
            other => panic!("{other:?}"),
        }
        // With an empty field, or two, between the halves.
        for gap in [1, 2] {
            let mut fields: Vec<&[u8]> = vec![b"caf\xe2\x82"];
            fields.extend(std::iter::repeat_n(&b""[..], gap));
            fields.push(b"\xac!");
            let rows = rows_of(&block_of(&[fields, good.clone()]));
            assert!(rows[0].is_none() && rows[1].is_some(), "gap {gap}");
        }
        // A character cut between two records: both are refused.
        let rows = rows_of(&block_of(&[vec![b"caf\xc3"], vec![b"\xa9"], good.clone()]));
        assert_eq!(rows.iter().filter(|r| r.is_none()).count(), 2, "{rows:?}");
        // Latin-1.
        let rows = rows_of(&block_of(&[vec![b"Sa\xedda"]]));
        assert_eq!(rows, vec![None]);
    }

    fn rows_from(bytes: &[u8], encoding: &'static Encoding) -> Vec<Result<Vec<String>, String>> {
        let input = Input::Bytes(bytes.to_vec().into());
        let mut rows = CsvRows::new(&input, encoding, b',').expect("opened");
        let mut out = Vec::new();
        loop {
            match rows.next_row("f.csv") {
                Ok(Some(row)) => out.push(Ok((0..row.len())
                    .map(|c| format!("{}:{}", row.number(), row.text(c)))
                    .collect())),
                Ok(None) => break,
                Err(e) => out.push(Err(e.to_string())),
            }
        }
        out
    }

    #[test]
    fn records_are_read_whatever_their_size_and_line_endings() {
        // A BOM, CRLF, a quoted field over two lines (one row), a blank record (counted,
        // skipped), a record longer than the first buffer and one with more fields.
        let long = "x".repeat(5000);
        let many = vec!["7"; 200].join(",");
        let text = format!("\u{feff}a,b\r\n\"1\n2\",\"q\"\"\"\r\n , \r\n{long},z\n{many}");
        let rows = rows_from(text.as_bytes(), encoding_rs::UTF_8);
        assert_eq!(rows.len(), 4, "{rows:?}");
        assert_eq!(rows[0], Ok(vec!["1:a".to_string(), "1:b".into()]));
        assert_eq!(rows[1], Ok(vec!["2:1\n2".to_string(), "2:q\"".into()]));
        assert_eq!(rows[2], Ok(vec![format!("4:{long}"), "4:z".into()]));
        assert_eq!(rows[3].as_ref().map(Vec::len), Ok(200));

        // A UTF-16 file read with `--encoding utf-8`: its byte-order mark wins.
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("a,b\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let rows = rows_from(&utf16, encoding_rs::UTF_8);
        assert_eq!(rows, vec![Ok(vec!["1:a".to_string(), "1:b".into()])]);
        // And a UTF-8 one over `--encoding windows-1252`.
        let rows = rows_from("\u{feff}Saída,1\n".as_bytes(), encoding_rs::WINDOWS_1252);
        assert_eq!(rows, vec![Ok(vec!["1:Saída".to_string(), "1:1".into()])]);
        // Read through the decoder: Windows-1252.
        let rows = rows_from(b"Sa\xedda,1\n", encoding_rs::WINDOWS_1252);
        assert_eq!(rows, vec![Ok(vec!["1:Saída".to_string(), "1:1".into()])]);
        // Forced UTF-8 over Latin-1: the row is an error naming its column.
        let rows = rows_from(b"a,Sa\xedda\nb,c\n", encoding_rs::UTF_8);
        match &rows[0] {
            Err(e) => assert!(
                e.contains("f.csv row 1: not valid UTF-8 text (column 2, byte 0xED, character 3")
                    && e.contains("--encoding windows-1252"),
                "{e}"
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(rows[1], Ok(vec!["2:b".to_string(), "2:c".into()]));
    }

    /// Every record of `bytes` as [`CsvRows::read_raw`] reads it, through a buffer of
    /// `buffer` bytes: its row number and fields.
    fn raw_records(bytes: &[u8], delimiter: u8, buffer: usize) -> Vec<(u64, Vec<Vec<u8>>)> {
        let input = Input::Bytes(bytes.to_vec().into());
        let mut rows =
            CsvRows::with_buffer(&input, encoding_rs::UTF_8, delimiter, buffer).expect("opened");
        let mut records = Vec::new();
        while let Ok(Some((len, fields))) = rows.read_raw() {
            let out = rows.out.get(..len).unwrap_or_default();
            let ends = rows.ends.get(..fields).unwrap_or_default();
            records.push((
                rows.records,
                fields_of(out, ends).map(<[u8]>::to_vec).collect(),
            ));
        }
        records
    }

    /// The fields of each record, without its number.
    fn fields_only(records: Vec<(u64, Vec<Vec<u8>>)>) -> Vec<Vec<Vec<u8>>> {
        records.into_iter().map(|(_, fields)| fields).collect()
    }

    /// The 1-based numbers of the lines of `bytes` (ended by `\r\n`, `\r` or `\n`) that are
    /// not empty: where text without quotes has its records.
    fn line_rows(bytes: &[u8]) -> Vec<u64> {
        let text = String::from_utf8_lossy(bytes)
            .replace("\r\n", "\n")
            .replace('\r', "\n");
        (1..)
            .zip(text.split('\n'))
            .filter(|(_, line)| !line.is_empty())
            .map(|(n, _)| n)
            .collect()
    }

    /// The csv crate's records of `bytes`, numbered from 1.
    fn csv_crate_records(bytes: &[u8], delimiter: u8) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(bytes);
        reader
            .byte_records()
            .map_while(Result::ok)
            .zip(1..)
            .map(|(record, n)| (n, record.iter().map(<[u8]>::to_vec).collect()))
            .collect()
    }

    /// The records of `bytes` with any content, as [`CsvRows::next_into_block`] puts them in a
    /// block, through a buffer of `buffer` bytes.
    fn block_records(bytes: &[u8], delimiter: u8, buffer: usize) -> Vec<(u64, Vec<Vec<u8>>)> {
        let input = Input::Bytes(bytes.to_vec().into());
        let mut rows =
            CsvRows::with_buffer(&input, encoding_rs::UTF_8, delimiter, buffer).expect("opened");
        let mut block = RecordBlock::default();
        while let Ok(Some(_)) = rows.next_into_block("f.csv", &mut block) {}
        (0..block.len())
            .filter_map(|k| {
                // As the parsing threads read it: text if it is, else bytes.
                let fields = match block.row(block.text(), k)? {
                    Ok(row) => (0..row.len())
                        .map(|c| row.text(c).as_bytes().to_vec())
                        .collect(),
                    Err(record) => record.iter().map(<[u8]>::to_vec).collect(),
                };
                Some((block.number(k)?, fields))
            })
            .collect()
    }

    /// The fault of each record of `bytes`, read as the reader reads them.
    fn record_faults(bytes: &[u8]) -> Vec<Option<RecordFault>> {
        let input = Input::Bytes(bytes.to_vec().into());
        let mut rows = CsvRows::with_buffer(&input, encoding_rs::UTF_8, b',', 16).expect("opened");
        let mut faults = Vec::new();
        while let Ok(Some(_)) = rows.read_raw() {
            faults.push(rows.fault);
        }
        faults
    }

    #[test]
    fn quotes_csv_core_accepts_but_no_writer_means_are_faults() {
        use RecordFault::*;
        // Fine: quoted cells, over lines too, doubled quotes, a quote inside unquoted text, and
        // a sloppy one-line `"27" wide"` (csv_core's reading of it is kept).
        let fine: &[&[u8]] = &[
            b"a,\"b,c\"\n\"x\ny\",z\n",
            b"a,\"27\"\" wide\"\n",
            b"a,27\" wide\n",
            b"a,\"27\" wide\"\n",
            b"a,\"b\"\r\n",
            b"a,b\r",
        ];
        for bytes in fine {
            let faults = record_faults(bytes);
            assert!(faults.iter().all(Option::is_none), "{bytes:?}: {faults:?}");
        }
        // The last line without a line end, plain or quoted, however long: the parser judges
        // whether it is short. A quote left open is said as such.
        assert_eq!(record_faults(b"a,\"b\""), [Some(Unended)]);
        assert_eq!(record_faults(b"h1,h2\na,b"), [None, Some(Unended)]);
        let long = format!("h1,h2\n{},b", "x".repeat(100));
        assert_eq!(record_faults(long.as_bytes()), [None, Some(Unended)]);
        assert_eq!(record_faults(b"h1,h2\na,\"b"), [None, Some(Unclosed(1))]);
        // Never closed: the last record holds the rest of the file, whatever the buffer size.
        assert_eq!(
            record_faults(b"h1,h2,h3\na,b,\"c\nd,e,f\ng,h,i\n"),
            [None, Some(Unclosed(2))]
        );
        // Closed only by a later cell's opening quote, its text after it.
        assert_eq!(
            record_faults(b"a,\"b\nc,d,\"e\"\nf,g\n"),
            [Some(Runaway(1)), None]
        );
        assert_eq!(
            record_faults(b"\"a\nb,c,\"d,e\nf,g\n"),
            [Some(Runaway(0)), None]
        );
        // Found by a review: a stray quote closed by another stray one just before a separator,
        // lines later; the row has the right number of cells, one of which holds whole rows.
        assert_eq!(
            record_faults(
                b"o,n,d,s,x,q,p\nO1,1,d,A,\"5 inch TV,1,10.00\nO2,2,d,A,ok,1,20.00\nO3,3,d,A,TV 7\",1,30.00\nO4,4,d,A,ok,1,40.00\n"
            ),
            [None, Some(Swallowed(4)), None]
        );
        // One row swallowed: its separators and the stray cell's own add up to a row's.
        assert_eq!(
            record_faults(
                b"o,n,d,s,x,q,p\nO1,1,d,A,\"5 inch TV,1,10.00\nO3,3,d,A,TV 7\",1,30.00\n"
            ),
            [None, Some(Swallowed(4))]
        );
        // The same at the file's end, its last quote the last byte.
        assert_eq!(
            record_faults(b"o,n,d,s,x,q,p\nO1,1,d,A,3,1,\"5.00\nO3,3,d,A,TV 7,1,30.00\""),
            [None, Some(Swallowed(6))]
        );
        // A description over lines with a comma or two is a description.
        assert_eq!(
            record_faults(b"o,n,d,s,x,q,p\nO1,1,d,A,\"Rua X, 12\nBairro, SP\",1,30.00\n"),
            [None, None]
        );
    }

    #[test]
    fn finds_the_first_needle_whatever_follows_it() {
        // Every pair of bytes, in a word and across two: the bits after the first match are
        // not exact, and must not be taken for it.
        let needles = [splat(b';'), splat(b'"'), splat(b'\n')];
        for at in [3, 7] {
            for x in 0..=255u8 {
                for y in 0..=255u8 {
                    let mut bytes = [b'a'; 12];
                    bytes[at] = x;
                    bytes[at + 1] = y;
                    let naive = bytes.iter().position(|&b| matches!(b, b';' | b'"' | b'\n'));
                    assert_eq!(find_any(&bytes, 0, needles), naive, "{x:#x} {y:#x} at {at}");
                }
            }
        }
    }

    #[test]
    fn plain_records_are_split_at_delimiters_and_line_ends() {
        // Numbered by the line each starts on, as a spreadsheet numbers the rows: blank lines
        // count, a quoted cell's line ends don't.
        let text = b"h1;h2\n\na;b\r\n;\r\rc;\"d;e\"\nx y;z\n\"p\nq\";r\n\ns";
        let expect: Vec<(u64, Vec<Vec<u8>>)> = vec![
            (1, vec![b"h1".to_vec(), b"h2".to_vec()]),
            (3, vec![b"a".to_vec(), b"b".to_vec()]),
            (4, vec![b"".to_vec(), b"".to_vec()]),
            (6, vec![b"c".to_vec(), b"d;e".to_vec()]),
            (7, vec![b"x y".to_vec(), b"z".to_vec()]),
            (8, vec![b"p\nq".to_vec(), b"r".to_vec()]),
            (10, vec![b"s".to_vec()]),
        ];
        for buffer in [1, 2, 3, 5, 8, 64 * 1024] {
            assert_eq!(raw_records(text, b';', buffer), expect, "buffer {buffer}");
        }
        assert_eq!(
            fields_only(csv_crate_records(text, b';')),
            fields_only(expect.clone())
        );
        assert_eq!(
            block_records(text, b';', 7),
            expect[..2]
                .iter()
                .chain(&expect[3..])
                .cloned()
                .collect::<Vec<_>>()
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// The plain-record path gives csv_core's records, whatever the line ends, quotes,
        /// blank lines and buffer boundaries.
        #[test]
        fn plain_records_read_as_csv_core_reads_them(
            bytes in proptest::collection::vec(
                proptest::sample::select(
                    b"ab;,\t \"\r\n\xc3\xa9".to_vec()
                ),
                0..300,
            ),
            delimiter in proptest::sample::select(vec![b',', b';', b'\t', b'"', b'\n']),
            buffer in proptest::prop_oneof![1usize..40, proptest::strategy::Just(64 * 1024)],
        ) {
            let read = raw_records(&bytes, delimiter, buffer);
            let expected = csv_crate_records(&bytes, delimiter);
            proptest::prop_assert_eq!(fields_only(read.clone()), fields_only(expected));
            // Each record on lines of its own, numbered as a spreadsheet numbers them: without
            // quotes, the line each starts on.
            let numbers: Vec<u64> = read.iter().map(|(n, _)| *n).collect();
            proptest::prop_assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
            if !bytes.contains(&b'"') && ![b'"', b'\n'].contains(&delimiter) {
                proptest::prop_assert_eq!(&numbers, &line_rows(&bytes));
            }
            let with_content: Vec<_> = read
                .into_iter()
                .filter(|(_, fields)| !fields.iter().all(|f| is_blank_bytes(f)))
                .collect();
            proptest::prop_assert_eq!(block_records(&bytes, delimiter, buffer), with_content);
        }
    }

    #[test]
    fn utf8_text_in_windows_1252_bytes_is_found_by_line() {
        assert_eq!(
            utf8_row(b"a;b\r\nCa\xe7a;1\r\nCaf\xc3\xa9;2\n", b';'),
            Some(3)
        );
        assert_eq!(
            utf8_row(b"a;\"two\nlines\"\nCaf\xc3\xa9;2\n", b';'),
            Some(2)
        );
        assert_eq!(utf8_row(b"\xc2\xa0x", b';'), Some(1));
        // Windows-1252 text with capitals such as N\xc3O ("N\u{c3}O") is not UTF-8.
        assert_eq!(utf8_row(b"N\xc3O;S\xc3O PAULO;\xc3\n\xc2 x", b';'), None);
    }

    #[test]
    fn blank_fields_from_bytes() {
        assert!(is_blank_bytes(b""));
        assert!(is_blank_bytes(b"  \t"));
        assert!(is_blank_bytes("\u{a0}".as_bytes()));
        assert!(!is_blank_bytes(b"x"));
        assert!(!is_blank_bytes(b" x"));
        assert!(!is_blank_bytes(b"\xff"));
    }

    #[test]
    fn sniffs_encoding() {
        assert_eq!(sniff_encoding(b"a,b\n", true), encoding_rs::UTF_8);
        assert_eq!(
            sniff_encoding("\u{feff}a,b".as_bytes(), true),
            encoding_rs::UTF_8
        );
        assert_eq!(
            sniff_encoding(b"Sa\xedda;1\n", true),
            encoding_rs::WINDOWS_1252
        );
        // "é" cut in half at the end of the prefix is still UTF-8.
        assert_eq!(sniff_encoding(b"caf\xc3", false), encoding_rs::UTF_8);
        assert_eq!(sniff_encoding(b"caf\xc3", true), encoding_rs::WINDOWS_1252);
    }
}
