//! CSV/TSV/TXT reading: sniff encoding and delimiter from a prefix, then stream records
//! through one reused `StringRecord`.

use std::fs::File;
use std::io::{Cursor, Read};
use std::sync::Arc;

use encoding_rs::Encoding;
use encoding_rs_io::DecodeReaderBytesBuilder;

use super::{Cells, Input, ReadOptions, Row, SourceError, SourceRef, is_blank};

/// How much of the input the sniffers look at.
const SNIFF_BYTES: usize = 64 * 1024;
/// How much the CSV reader asks the file for at a time.
const READ_BUFFER: usize = 256 * 1024;
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
    reader: ::csv::Reader<Box<dyn Read + Send>>,
    record: ::csv::StringRecord,
    delimiter: u8,
    encoding: &'static Encoding,
    /// Records read so far, blank ones and the header included: the next record's row number
    /// is this plus one, so a multi-line quoted field counts as one row, as Excel shows it.
    records: u64,
    /// Set after an I/O error: the reader can't resume, so the stream ends there.
    broken: bool,
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

    let encoding = opts
        .encoding
        .unwrap_or_else(|| sniff_encoding(&prefix, complete));
    let (text, _, _) = encoding.decode(&prefix);
    let delimiter = opts
        .delimiter
        .unwrap_or_else(|| sniff_delimiter(&text, complete));

    let mut rows = CsvRows::new(input, encoding, delimiter).map_err(io_err)?;
    let (headers, header_row) = match rows.next_row(file)? {
        Some(row) => (
            (0..row.len())
                .map(|c| row.text(c).trim().to_string())
                .collect::<Vec<_>>(),
            row.number(),
        ),
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
        let raw: Box<dyn Read + Send> = match input {
            Input::Path(path) => Box::new(File::open(path)?),
            Input::Bytes(bytes) => Box::new(Cursor::new(bytes.clone())),
        };
        let mut builder = DecodeReaderBytesBuilder::new();
        builder.strip_bom(true);
        if encoding == encoding_rs::UTF_8 {
            // Pass UTF-8 through untouched (no transcoding cost); the csv crate validates it
            // per record, so an invalid byte becomes an error on that row, not a silent U+FFFD.
            builder.encoding(None).utf8_passthru(true);
        } else if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
            builder.encoding(None).bom_sniffing(true);
        } else {
            builder.encoding(Some(encoding)).bom_override(true);
        }
        let decoded: Box<dyn Read + Send> = Box::new(
            builder
                .build_with_buffer(raw, vec![0; READ_BUFFER])
                .map_err(std::io::Error::other)?,
        );
        let reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            // 8 KiB by default: a million-row file would take 13,000 reads.
            .buffer_capacity(READ_BUFFER)
            .from_reader(decoded);
        Ok(CsvRows {
            reader,
            record: ::csv::StringRecord::new(),
            delimiter,
            encoding,
            records: 0,
            broken: false,
        })
    }

    pub(super) fn delimiter(&self) -> u8 {
        self.delimiter
    }

    pub(super) fn describe(&self) -> String {
        let delimiter = match self.delimiter {
            b'\t' => "tab".to_string(),
            d => format!("'{}'", char::from(d)),
        };
        format!(
            "CSV, {delimiter}-separated, {}",
            self.encoding.name().to_ascii_lowercase()
        )
    }

    pub(super) fn next_row(&mut self, file: &str) -> Result<Option<Row<'_>>, SourceError> {
        let number = read_into(
            &mut self.reader,
            &mut self.records,
            &mut self.broken,
            file,
            &mut self.record,
        )?;
        Ok(number.map(|number| Row {
            number,
            cells: Cells::Csv(&self.record),
        }))
    }

    /// As [`Self::next_row`], into the caller's record, which may then go to another thread;
    /// its text is not yet known to be UTF-8 (see [`record_text`]).
    pub(super) fn next_into(
        &mut self,
        file: &str,
        record: &mut ::csv::ByteRecord,
    ) -> Result<Option<u64>, SourceError> {
        if self.broken {
            return Ok(None);
        }
        loop {
            match self.reader.read_byte_record(record) {
                Ok(false) => return Ok(None),
                Ok(true) => {
                    self.records += 1;
                    if record.iter().all(is_blank_bytes) {
                        continue;
                    }
                    return Ok(Some(self.records));
                }
                Err(err) => {
                    self.records += 1;
                    return Err(record_error(err, &mut self.broken, file, self.records));
                }
            }
        }
    }
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

/// The text of a record [`CsvRows::next_into`] read: all its fields at once, each a slice of
/// it (see [`super::Row::of_record`]). One check of the whole record costs less than one per
/// field, and lets the reading thread skip it.
pub fn record_text<'r>(
    file: &str,
    row: u64,
    record: &'r ::csv::ByteRecord,
) -> Result<&'r str, SourceError> {
    let text = std::str::from_utf8(record.as_slice())
        .ok()
        // Valid as a whole, a record may still have a character cut between two fields: the
        // field after the cut (the next one with any bytes) then starts with a continuation
        // byte. Every field starting on a character makes each one text.
        .filter(|_| {
            record
                .iter()
                .all(|field| field.first().is_none_or(|&b| b & 0xC0 != 0x80))
        });
    text.ok_or_else(|| {
        // The csv crate's own check names the field and the byte.
        let detail = match ::csv::StringRecord::from_byte_record(record.clone()) {
            Err(e) => e.utf8_error().to_string(),
            Ok(_) => String::from("a character is split between two fields"),
        };
        SourceError::Record {
            file: file.to_string(),
            row,
            message: utf8_message(&detail),
        }
    })
}

/// A record that [`record_text`] refused, field by field: its text with each field that is
/// not UTF-8 left blank, and those fields, by index, with what is wrong with each. Only the
/// cells that are not text then fail, not the whole row.
pub fn record_by_field(record: &::csv::ByteRecord) -> (::csv::StringRecord, Vec<(usize, String)>) {
    let mut text = ::csv::StringRecord::with_capacity(record.as_slice().len(), record.len());
    let mut bad = Vec::new();
    for (i, field) in record.iter().enumerate() {
        match std::str::from_utf8(field) {
            Ok(t) => text.push_field(t),
            Err(e) => {
                let at = e.valid_up_to();
                let byte = field.get(at).copied().unwrap_or_default();
                bad.push((
                    i,
                    utf8_message(&format_args!(
                        "byte 0x{byte:02X}, character {} of the cell",
                        std::str::from_utf8(field.get(..at).unwrap_or_default())
                            .map_or(0, |valid| valid.chars().count())
                            + 1
                    )),
                ));
                text.push_field("");
            }
        }
    }
    (text, bad)
}

fn utf8_message(detail: &dyn std::fmt::Display) -> String {
    format!(
        "not valid UTF-8 text ({detail}); if the file is from Excel on Windows, \
         pass --encoding windows-1252"
    )
}

fn record_error(err: ::csv::Error, broken: &mut bool, file: &str, row: u64) -> SourceError {
    let message = match err.kind() {
        ::csv::ErrorKind::Utf8 { .. } => utf8_message(&err),
        ::csv::ErrorKind::Io(_) => {
            *broken = true;
            format!("reading stopped: {err}")
        }
        _ => err.to_string(),
    };
    SourceError::Record {
        file: file.to_string(),
        row,
        message,
    }
}

/// Reads the next record with any content into `record`; its row number, or `None` at the end.
fn read_into(
    reader: &mut ::csv::Reader<Box<dyn Read + Send>>,
    records: &mut u64,
    broken: &mut bool,
    file: &str,
    record: &mut ::csv::StringRecord,
) -> Result<Option<u64>, SourceError> {
    if *broken {
        return Ok(None);
    }
    loop {
        match reader.read_record(record) {
            Ok(false) => return Ok(None),
            Ok(true) => {
                *records += 1;
                if record.iter().all(is_blank) {
                    continue;
                }
                return Ok(Some(*records));
            }
            Err(err) => {
                *records += 1;
                return Err(record_error(err, broken, file, *records));
            }
        }
    }
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

/// The candidate that splits the header line and splits the most following lines into the same
/// number of fields; ',' when nothing splits the header (a one-column file).
fn sniff_delimiter(text: &str, complete: bool) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    let mut lines: Vec<[usize; 4]> = Vec::new();
    let mut counts = [0usize; 4];
    let mut in_quotes = false;
    let mut line_has_text = false;
    for b in text.bytes() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => {
                if line_has_text {
                    lines.push(counts);
                    if lines.len() == SNIFF_LINES {
                        break;
                    }
                }
                counts = [0; 4];
                line_has_text = false;
            }
            _ if !in_quotes => {
                if let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
                    counts[i] += 1;
                } else if !b.is_ascii_whitespace() {
                    line_has_text = true;
                }
            }
            _ => line_has_text = true,
        }
    }
    // A last line cut by the prefix would miscount, so it only counts when the text is whole.
    if line_has_text && (complete || lines.is_empty()) {
        lines.push(counts);
    }
    let Some(header) = lines.first() else {
        return b',';
    };
    let mut best: Option<(usize, usize, u8)> = None;
    for (i, &cand) in CANDIDATES.iter().enumerate() {
        let in_header = header[i];
        if in_header == 0 {
            continue;
        }
        let consistent = lines.iter().filter(|l| l[i] == in_header).count();
        let score = (consistent, in_header, cand);
        if best.is_none_or(|b| (score.0, score.1) > (b.0, b.1)) {
            best = Some(score);
        }
    }
    best.map_or(b',', |b| b.2)
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
    fn record_text_is_checked_whole_and_per_field() {
        let good = ::csv::ByteRecord::from(vec!["Açúcar", "1,5", ""]);
        assert_eq!(record_text("f.csv", 2, &good).ok(), Some("Açúcar1,5"));
        // "é" cut between two fields: the record's bytes together are valid UTF-8, its fields
        // are not.
        let cut = ::csv::ByteRecord::from(vec![&b"caf\xc3"[..], &b"\xa9"[..]]);
        let err = record_text("f.csv", 7, &cut).expect_err("a cut character is an error");
        // With an empty field, or two, between the halves.
        for gap in [1, 2] {
            let mut fields: Vec<&[u8]> = vec![b"caf\xe2\x82"];
            fields.extend(std::iter::repeat_n(&b""[..], gap));
            fields.push(b"\xac!");
            let cut = ::csv::ByteRecord::from(fields);
            assert!(record_text("f.csv", 7, &cut).is_err(), "gap {gap}");
        }
        let whole = ::csv::ByteRecord::from(vec!["R$ 1.234,56", "", "€", "ção"]);
        assert_eq!(
            record_text("f.csv", 7, &whole).ok(),
            Some("R$ 1.234,56€ção")
        );
        assert!(
            err.to_string().contains("f.csv row 7: not valid UTF-8"),
            "{err}"
        );
        let latin1 = ::csv::ByteRecord::from(vec![&b"Sa\xedda"[..]]);
        let err = record_text("f.csv", 3, &latin1).expect_err("Latin-1 is an error");
        assert!(err.to_string().contains("--encoding windows-1252"), "{err}");
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
