//! Which number cells of an XLS or ODS sheet a number format pads with zeros (calamine reports
//! formats for XLSX only).
//!
//! An invoice number 000123 typed into a cell formatted `000000` is saved as the number 123;
//! the zeros are only shown. For XLSX, calamine gives each cell's format and
//! [`super::sheet`] keeps such a number as the text the sheet shows. For XLS and ODS it gives
//! none, so the leading zeros of an id were lost (bug): `000123` was sent as `123`. This reads
//! the formats from the file itself, into a [`Padding`] by the positions calamine's range
//! gives the cells.
//!
//! Both readers are cheap when nothing pads: the formats and styles come before the cells in
//! both formats, and the cells are not looked at unless some format pads.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use quick_xml::events::{BytesStart, Event};

use super::sheet::zero_padding;

/// calamine's limits on an ODS sheet: it cuts row and column repeats to them, so positions
/// here are cut the same way.
const ODS_MAX_ROWS: u32 = 1_048_576;
const ODS_MAX_COLUMNS: u32 = 16_384;
/// The widest padding taken from a format: an Excel format is at most 255 characters, and an
/// ODS `min-integer-digits` past it is no id's format (every such cell would be that long).
const MAX_WIDTH: usize = 255;

/// The pad widths of a sheet's cells, by their 0-based (row, column) on the sheet: where
/// calamine's range puts them (`range.start()` plus their offset in it).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Padding {
    /// Runs of rows that pad something, ascending and apart.
    rows: Vec<Rows>,
}

/// Rows `first..end`, alike: an ODS row repeated, or one XLS row.
#[derive(Debug, PartialEq, Eq)]
struct Rows {
    first: u32,
    end: u32,
    /// The columns padded, ascending and apart.
    spans: Vec<Span>,
}

/// Columns `first..end`, padded to `width` digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    first: u32,
    end: u32,
    width: u16,
}

impl Padding {
    pub(super) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The width a number in the cell at `(row, col)` is shown padded to, if any.
    pub(super) fn width(&self, (row, col): (u32, u32)) -> Option<usize> {
        let i = self
            .rows
            .partition_point(|r| r.first <= row)
            .checked_sub(1)?;
        let rows = self.rows.get(i).filter(|r| row < r.end)?;
        let j = rows
            .spans
            .partition_point(|s| s.first <= col)
            .checked_sub(1)?;
        let span = rows.spans.get(j).filter(|s| col < s.end)?;
        Some(usize::from(span.width))
    }

    /// Cells given one by one, in any order, as (row, column, width); of two at one position
    /// the later wins, as in calamine's range. (Only padded cells are given: a damaged XLS
    /// that gives a padded cell, then an unpadded one at its place, has the later padded.)
    pub(super) fn from_cells(mut cells: Vec<(u32, u32, u16)>) -> Padding {
        // Stable: the later of two at one position stays later.
        cells.sort_by_key(|&(row, col, _)| (row, col));
        let mut padding = Padding::default();
        let mut cells = cells.into_iter().peekable();
        while let Some((row, col, width)) = cells.next() {
            if cells.peek().is_some_and(|n| (n.0, n.1) == (row, col)) {
                continue;
            }
            match padding.rows.last_mut() {
                Some(last) if last.first == row => {
                    add_span(&mut last.spans, col, col.saturating_add(1), width);
                }
                _ => padding.rows.push(Rows {
                    first: row,
                    end: row.saturating_add(1),
                    spans: vec![Span {
                        first: col,
                        end: col.saturating_add(1),
                        width,
                    }],
                }),
            }
        }
        padding
    }
}

/// Adds columns `first..end` at `width` to `spans`, which end at or before `first`.
fn add_span(spans: &mut Vec<Span>, first: u32, end: u32, width: u16) {
    if first >= end {
        return;
    }
    match spans.last_mut() {
        Some(last) if last.end == first && last.width == width => last.end = end,
        _ => spans.push(Span { first, end, width }),
    }
}

/// A pad width as stored, when it is one: 2 digits or more, at most [`MAX_WIDTH`].
fn width_of(digits: usize) -> Option<u16> {
    (2..=MAX_WIDTH)
        .contains(&digits)
        .then(|| u16::try_from(digits).ok())
        .flatten()
}

// ---------------------------------------------------------------------------------------------
// ODS

/// The padding of sheet `sheet` of the ODS at `path`.
///
/// A cell's style is its `table:style-name`, else its row's `table:default-cell-style-name`,
/// else its column's; a cell style's number format is its `style:data-style-name`, else its
/// parent style's. A `number:number-style` pads when it is one plain number of at least two
/// integer digits: no decimals, no grouping, no text or colour (as for XLSX,
/// [`zero_padding`]). Only `float` cells are padded.
pub(super) fn ods_padding(path: &Path, sheet: &str) -> Result<Padding, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
    let mut styles = OdsStyles::default();
    // Named styles, and the data styles they use, live in styles.xml; a file without it has
    // only the automatic styles of content.xml. calamine never reads it, so a styles.xml it
    // cannot parse does not turn the file away: what was read before the fault is kept.
    if let Ok(part) = zip.by_name("styles.xml") {
        let _ = styles.read(&mut xml_reader(part));
    }
    let part = zip.by_name("content.xml").map_err(|e| e.to_string())?;
    let mut content = xml_reader(part);
    // Stops at office:body: the automatic styles come before it.
    styles.read(&mut content)?;
    let styles = styles.resolve();
    if styles.is_empty() {
        return Ok(Padding::default());
    }
    read_ods_table(&mut content, sheet, &styles)
}

fn xml_reader<R: Read>(part: R) -> quick_xml::Reader<BufReader<R>> {
    // As calamine reads content.xml, so what it reads, this reads.
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(part));
    let config = reader.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    reader
}

/// The value of attribute `key` of `e`, unescaped; `None` when absent or malformed.
fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    let a = e.try_get_attribute(key).ok()??;
    quick_xml::escape::unescape(&a.value)
        .ok()
        .map(std::borrow::Cow::into_owned)
}

/// A repeat count: 1 when absent or unreadable.
fn repeats(e: &BytesStart<'_>, key: &str) -> u32 {
    attr(e, key)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(1)
}

/// An ODS's data and cell styles, from styles.xml and content.xml.
#[derive(Debug, Default)]
struct OdsStyles {
    /// `number:number-style`s by name.
    numbers: HashMap<String, NumberStyle>,
    /// `style:style style:family="table-cell"` by name.
    cells: HashMap<String, CellStyle>,
    /// The data style of `style:default-style style:family="table-cell"`.
    default_data: Option<String>,
}

#[derive(Debug, Default)]
struct NumberStyle {
    /// The width the style itself pads to; `None` when it shows anything but the digits.
    own: Option<u16>,
    /// Its `style:map`s in order: (whom the condition holds for, style applied).
    maps: Vec<(Holds, String)>,
}

#[derive(Debug, Default)]
struct CellStyle {
    data: Option<String>,
    parent: Option<String>,
}

/// Whom a `style:map` condition holds for, among the whole numbers above 0 (the ids; a
/// format's zero and negative forms are not looked at, as [`zero_padding`] takes an Excel
/// format's first section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holds {
    All,
    None,
    Some,
}

/// The cell styles that pad, by name, and the padding of a cell with no style at all.
#[derive(Debug, Default)]
struct Resolved {
    by_name: HashMap<String, u16>,
    default: Option<u16>,
}

impl Resolved {
    fn is_empty(&self) -> bool {
        self.by_name.is_empty() && self.default.is_none()
    }

    fn named(&self, style: &str) -> Option<u16> {
        self.by_name.get(style).copied()
    }
}

impl OdsStyles {
    /// Reads the styles of one part, up to its `office:body` (content.xml's cells) or its end.
    fn read<R: BufRead>(&mut self, reader: &mut quick_xml::Reader<R>) -> Result<(), String> {
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_event_into(&mut buf) {
                Ok(Event::Start(e)) => match e.name().as_ref() {
                    "office:body" | "office:master-styles" => return Ok(()),
                    "number:number-style" => {
                        let name = attr(&e, "style:name");
                        let style = read_number_style(reader)?;
                        if let Some(name) = name {
                            self.numbers.insert(name, style);
                        }
                    }
                    "style:style" if attr(&e, "style:family").as_deref() == Some("table-cell") => {
                        if let Some(name) = attr(&e, "style:name") {
                            let style = CellStyle {
                                data: attr(&e, "style:data-style-name"),
                                parent: attr(&e, "style:parent-style-name"),
                            };
                            self.cells.insert(name, style);
                        }
                    }
                    "style:default-style"
                        if attr(&e, "style:family").as_deref() == Some("table-cell") =>
                    {
                        self.default_data = attr(&e, "style:data-style-name");
                    }
                    _ => {}
                },
                Ok(Event::Eof) => return Ok(()),
                Err(e) => return Err(e.to_string()),
                Ok(_) => {}
            }
        }
    }

    /// The width number style `name` pads whole numbers above 0 to.
    fn number_width(&self, name: &str, depth: u8) -> Option<u16> {
        let style = self.numbers.get(name)?;
        for (holds, applied) in &style.maps {
            match holds {
                Holds::None => {}
                // A map to a map to…: one level is what spreadsheets write.
                Holds::All if depth < 4 => return self.number_width(applied, depth + 1),
                Holds::All | Holds::Some => return None,
            }
        }
        style.own
    }

    /// The width cell style `name` pads to, through its parents.
    fn cell_width(&self, name: &str) -> Option<u16> {
        let mut style = self.cells.get(name)?;
        // A chain longer than this is a loop: no style.
        for _ in 0..16 {
            if let Some(data) = &style.data {
                return self.number_width(data, 0);
            }
            match &style.parent {
                Some(parent) => style = self.cells.get(parent)?,
                None => return self.number_width(self.default_data.as_deref()?, 0),
            }
        }
        None
    }

    fn resolve(&self) -> Resolved {
        // Nothing to look up when no data style pads.
        if !self
            .numbers
            .keys()
            .any(|name| self.number_width(name, 0).is_some())
        {
            return Resolved::default();
        }
        Resolved {
            by_name: self
                .cells
                .keys()
                .filter_map(|name| Some((name.clone(), self.cell_width(name)?)))
                .collect(),
            default: self
                .default_data
                .as_deref()
                .and_then(|d| self.number_width(d, 0)),
        }
    }
}

/// The rest of a `number:number-style` element, whose start was just read.
fn read_number_style<R: BufRead>(reader: &mut quick_xml::Reader<R>) -> Result<NumberStyle, String> {
    let mut buf = Vec::new();
    let mut depth = 0usize;
    let mut digits: Option<usize> = None;
    let mut numbers = 0;
    // Anything shown besides one plain number: text, a colour, decimals, a second number.
    let mut other = false;
    let mut maps = Vec::new();
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                depth += 1;
                match e.name().as_ref() {
                    "number:number" if depth == 1 => {
                        numbers += 1;
                        digits = plain_integer_digits(&e);
                    }
                    "style:map" if depth == 1 => {
                        let holds = attr(&e, "style:condition")
                            .map_or(Holds::Some, |c| holds_for_positive(&c));
                        if let Some(applied) = attr(&e, "style:apply-style-name") {
                            maps.push((holds, applied));
                        }
                    }
                    // number:text, style:text-properties, number:embedded-text inside the
                    // number, number:fill-character, …
                    _ => other = true,
                }
            }
            Ok(Event::End(_)) if depth == 0 => break,
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Eof) => break,
            Err(e) => return Err(e.to_string()),
            Ok(_) => {}
        }
    }
    let own = match (numbers, other) {
        (1, false) => digits.and_then(width_of),
        _ => None,
    };
    Ok(NumberStyle { own, maps })
}

/// The minimum integer digits of a `number:number` that shows only them: no decimals, no
/// grouping, no scaling, no blanks in place of digits.
fn plain_integer_digits(e: &BytesStart<'_>) -> Option<usize> {
    let zero_or_absent = |key: &str| attr(e, key).is_none_or(|v| v.trim() == "0");
    let plain = zero_or_absent("number:decimal-places")
        && zero_or_absent("number:min-decimal-places")
        && zero_or_absent("loext:max-blank-integer-digits")
        && attr(e, "number:grouping").is_none_or(|v| v.trim() != "true")
        && attr(e, "number:display-factor").is_none_or(|v| v.trim() == "1");
    if !plain {
        return None;
    }
    attr(e, "number:min-integer-digits")?.trim().parse().ok()
}

/// Whom a `style:condition` such as `value()>=0` holds for among the whole numbers above 0.
fn holds_for_positive(condition: &str) -> Holds {
    let c: String = condition.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(rest) = c.strip_prefix("value()") else {
        return Holds::Some;
    };
    let Some((op, k)) = ["<=", ">=", "!=", "<>", "<", ">", "="]
        .into_iter()
        .find_map(|op| Some((op, rest.strip_prefix(op)?)))
    else {
        return Holds::Some;
    };
    let Ok(k) = k.parse::<f64>() else {
        return Holds::Some;
    };
    let whole = k.fract() == 0.0;
    match op {
        ">=" if k <= 1.0 => Holds::All,
        ">" if k < 1.0 => Holds::All,
        "<" if k <= 1.0 => Holds::None,
        "<=" if k < 1.0 => Holds::None,
        "=" if k < 1.0 || !whole => Holds::None,
        "!=" | "<>" if k < 1.0 || !whole => Holds::All,
        _ => Holds::Some,
    }
}

/// The padding of table `sheet`, read from content.xml just after its styles.
///
/// Positions follow calamine's (`ods.rs`): a row is at the sum of the repeats of the rows
/// before it in the table, a cell at the sum of those of the cells (covered ones too) before it
/// in its row, both cut to calamine's limits; what is inside a cell is not looked into.
fn read_ods_table<R: BufRead>(
    reader: &mut quick_xml::Reader<R>,
    sheet: &str,
    styles: &Resolved,
) -> Result<Padding, String> {
    let mut buf = Vec::new();
    let mut skip = Vec::new();
    // Find the table.
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) if e.name().as_ref() == "table:table" => {
                if attr(&e, "table:name").as_deref() == Some(sheet) {
                    break;
                }
                skip.clear();
                reader
                    .read_to_end_into(e.name(), &mut skip)
                    .map_err(|e| e.to_string())?;
            }
            Ok(Event::Eof) => return Ok(Padding::default()),
            Err(e) => return Err(e.to_string()),
            Ok(_) => {}
        }
    }
    let mut padding = Padding::default();
    // Columns padded by their default cell style.
    let mut columns: Vec<Span> = Vec::new();
    let mut next_column = 0u32;
    let mut next_row = 0u32;
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => match e.name().as_ref() {
                "table:table-column" => {
                    let end = next_column
                        .saturating_add(repeats(&e, "table:number-columns-repeated"))
                        .min(ODS_MAX_COLUMNS);
                    // Width 0: a default style that pads nothing.
                    if let Some(style) = attr(&e, "table:default-cell-style-name") {
                        let width = styles.named(&style).unwrap_or(0);
                        add_span(&mut columns, next_column, end, width);
                    }
                    next_column = end;
                }
                "table:table-row" => {
                    let count = repeats(&e, "table:number-rows-repeated")
                        .min(ODS_MAX_ROWS.saturating_sub(next_row));
                    // Some(width) when the row names a default style, padding or not.
                    let row_default =
                        attr(&e, "table:default-cell-style-name").map(|s| styles.named(&s));
                    let spans = read_ods_row(reader, styles, row_default, &columns)?;
                    if count > 0 && !spans.is_empty() {
                        padding.rows.push(Rows {
                            first: next_row,
                            end: next_row + count,
                            spans,
                        });
                    }
                    next_row += count;
                }
                _ => {}
            },
            Ok(Event::End(e)) if e.name().as_ref() == "table:table" => break,
            Ok(Event::Eof) => break,
            Err(e) => return Err(e.to_string()),
            Ok(_) => {}
        }
    }
    Ok(padding)
}

/// The padded columns of the row whose start was just read.
fn read_ods_row<R: BufRead>(
    reader: &mut quick_xml::Reader<R>,
    styles: &Resolved,
    row_default: Option<Option<u16>>,
    columns: &[Span],
) -> Result<Vec<Span>, String> {
    let mut buf = Vec::new();
    let mut skip = Vec::new();
    let mut spans = Vec::new();
    let mut col = 0u32;
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                let name = e.name();
                if matches!(
                    name.as_ref(),
                    "table:table-cell" | "table:covered-table-cell"
                ) {
                    // The attributes in one pass, borrowed: this runs for every cell.
                    let (mut count, mut float, mut style) = (1, false, None);
                    for a in e.attributes().with_checks(false).flatten() {
                        match a.key.as_ref() {
                            "table:number-columns-repeated" => {
                                count = a.value.trim().parse().unwrap_or(1);
                            }
                            "office:value-type" => float = a.value == "float",
                            "table:style-name" => style = Some(a.value),
                            _ => {}
                        }
                    }
                    let end = col.saturating_add(count).min(ODS_MAX_COLUMNS);
                    if float {
                        match (style, row_default) {
                            (Some(style), _) => {
                                let unescaped;
                                let style = match style.contains('&') {
                                    true => {
                                        unescaped = quick_xml::escape::unescape(&style)
                                            .map(std::borrow::Cow::into_owned)
                                            .unwrap_or_default();
                                        &unescaped
                                    }
                                    false => &*style,
                                };
                                if let Some(width) = styles.named(style) {
                                    add_span(&mut spans, col, end, width);
                                }
                            }
                            (None, Some(Some(width))) => add_span(&mut spans, col, end, width),
                            (None, Some(None)) => {}
                            // The column's default style, which may change within the cells
                            // one element repeats; a column with none, the default style.
                            (None, None) => {
                                let from = columns.partition_point(|s| s.end <= col);
                                let mut at = col;
                                for span in columns
                                    .get(from..)
                                    .unwrap_or_default()
                                    .iter()
                                    .take_while(|s| s.first < end)
                                {
                                    let first = span.first.max(col);
                                    if let Some(width) = styles.default {
                                        add_span(&mut spans, at, first, width);
                                    }
                                    if span.width > 0 {
                                        add_span(&mut spans, first, span.end.min(end), span.width);
                                    }
                                    at = span.end.min(end);
                                }
                                if let Some(width) = styles.default {
                                    add_span(&mut spans, at, end, width);
                                }
                            }
                        }
                    }
                    col = end;
                }
                // The cell's content (or anything else in the row), not looked into.
                skip.clear();
                reader
                    .read_to_end_into(name, &mut skip)
                    .map_err(|e| e.to_string())?;
            }
            Ok(Event::End(e)) if e.name().as_ref() == "table:table-row" => break,
            Ok(Event::Eof) => break,
            Err(e) => return Err(e.to_string()),
            Ok(_) => {}
        }
    }
    Ok(spans)
}

// ---------------------------------------------------------------------------------------------
// XLS

/// BIFF8 record types read here ([MS-XLS] 2.3).
mod record {
    pub const BOF: u16 = 0x0809;
    pub const EOF: u16 = 0x000A;
    pub const FILEPASS: u16 = 0x002F;
    pub const FORMAT: u16 = 0x041E;
    pub const XF: u16 = 0x00E0;
    pub const BOUNDSHEET8: u16 = 0x0085;
    pub const NUMBER: u16 = 0x0203;
    pub const RK: u16 = 0x027E;
    pub const MULRK: u16 = 0x00BD;
    pub const FORMULA: u16 = 0x0006;
}

/// Format ids Excel builds in (0–49): none pads; a custom format's id is 164 or more.
const FIRST_CUSTOM_FORMAT: u16 = 50;

/// The padding of the `sheet`th sheet (as calamine lists them: the workbook's BOUNDSHEET8
/// records in order) of the XLS at `path`. A workbook this cannot read (not a compound file,
/// no workbook stream, encrypted, older than BIFF8) pads nothing: calamine decides whether it
/// reads at all.
pub(super) fn xls_padding(path: &Path, sheet: usize) -> Result<Padding, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    // The container reader is not calamine's; should it fail on a file calamine reads, the
    // sheet still reads, unpadded, as it did before formats were looked at.
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let Ok(mut container) = cfb::CompoundFile::open(file) else {
            return Ok(Padding::default());
        };
        let stream = match container.open_stream("Workbook") {
            Ok(stream) => stream,
            Err(_) => match container.open_stream("Book") {
                Ok(stream) => stream,
                Err(_) => return Ok(Padding::default()),
            },
        };
        xls_stream_padding(BufReader::new(stream), sheet)
    }));
    read.unwrap_or_else(|_| Ok(Padding::default()))
}

/// The records of a workbook stream, one at a time.
struct Records<R> {
    stream: R,
    data: Vec<u8>,
}

impl<R: Read> Records<R> {
    /// The next record's type, its data left in `self.data`; `None` at the stream's end or at
    /// a record cut off by it.
    fn next(&mut self) -> std::io::Result<Option<u16>> {
        let mut head = [0u8; 4];
        if let Err(e) = self.stream.read_exact(&mut head) {
            return match e.kind() {
                std::io::ErrorKind::UnexpectedEof => Ok(None),
                _ => Err(e),
            };
        }
        let [t0, t1, l0, l1] = head;
        // At most 65,535 bytes, whatever the file says.
        let len = u16::from_le_bytes([l0, l1]);
        self.data.clear();
        let read = (&mut self.stream)
            .take(u64::from(len))
            .read_to_end(&mut self.data)?;
        Ok((read == usize::from(len)).then_some(u16::from_le_bytes([t0, t1])))
    }

    fn u16_at(&self, at: usize) -> Option<u16> {
        let b = self.data.get(at..at.checked_add(2)?)?;
        Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.data.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(u32::from_le_bytes(b))
    }
}

/// [`xls_padding`] on the workbook stream itself.
fn xls_stream_padding<R: Read + Seek>(stream: R, sheet: usize) -> Result<Padding, String> {
    let io = |e: std::io::Error| e.to_string();
    let mut records = Records {
        stream,
        data: Vec::new(),
    };
    // The globals: BIFF8, or nothing is read.
    if records.next().map_err(io)? != Some(record::BOF) || records.u16_at(0) != Some(0x0600) {
        return Ok(Padding::default());
    }
    let mut formats: HashMap<u16, u16> = HashMap::new();
    // Each XF's format id, by XF index.
    let mut xfs: Vec<u16> = Vec::new();
    let mut sheets: Vec<u32> = Vec::new();
    while let Some(typ) = records.next().map_err(io)? {
        match typ {
            record::FILEPASS => return Ok(Padding::default()),
            record::FORMAT => {
                if let (Some(ifmt), Some(code)) =
                    (records.u16_at(0), xl_unicode_string(&records.data, 2))
                    && ifmt >= FIRST_CUSTOM_FORMAT
                    && let Some(width) = zero_padding(&code).and_then(width_of)
                {
                    formats.insert(ifmt, width);
                }
            }
            record::XF => xfs.push(records.u16_at(2).unwrap_or(0)),
            record::BOUNDSHEET8 => sheets.push(records.u32_at(0).unwrap_or(u32::MAX)),
            record::EOF => break,
            _ => {}
        }
    }
    // Each XF's padding, by XF index: 0 for none.
    let xf_widths: Vec<u16> = xfs
        .iter()
        .map(|ifmt| formats.get(ifmt).copied().unwrap_or(0))
        .collect();
    if formats.is_empty() || xf_widths.iter().all(|&w| w == 0) {
        return Ok(Padding::default());
    }
    let Some(&at) = sheets.get(sheet) else {
        return Ok(Padding::default());
    };
    records
        .stream
        .seek(SeekFrom::Start(u64::from(at)))
        .map_err(io)?;
    let width_of_xf = |xf: Option<u16>| {
        xf.and_then(|xf| xf_widths.get(usize::from(xf)).copied())
            .filter(|&w| w > 0)
    };
    let mut cells: Vec<(u32, u32, u16)> = Vec::new();
    // The sheet's own BOF, then any nested substream (an embedded chart), passed over as
    // calamine does.
    let mut seen_bof = false;
    let mut nested = 0usize;
    while let Some(typ) = records.next().map_err(io)? {
        if nested > 0 {
            match typ {
                record::BOF => nested += 1,
                record::EOF => nested -= 1,
                _ => {}
            }
            continue;
        }
        let cell = |records: &Records<R>| {
            Some((
                u32::from(records.u16_at(0)?),
                u32::from(records.u16_at(2)?),
                records.u16_at(4),
            ))
        };
        match typ {
            record::BOF if seen_bof => nested += 1,
            record::BOF => seen_bof = true,
            record::EOF => break,
            record::NUMBER | record::RK | record::FORMULA => {
                if let Some((row, col, xf)) = cell(&records)
                    && let Some(width) = width_of_xf(xf)
                {
                    cells.push((row, col, width));
                }
            }
            record::MULRK => {
                // rw, colFirst, then 6 bytes (ixfe, RK) per cell, then colLast.
                let (Some(row), Some(first)) = (records.u16_at(0), records.u16_at(2)) else {
                    continue;
                };
                let body = records.data.get(4..records.data.len().saturating_sub(2));
                let chunks = body.unwrap_or_default().chunks_exact(6);
                for (col, chunk) in (u32::from(first)..).zip(chunks) {
                    let xf = chunk.get(..2).map(|b| u16::from_le_bytes([b[0], b[1]]));
                    if let Some(width) = width_of_xf(xf) {
                        cells.push((u32::from(row), col, width));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(Padding::from_cells(cells))
}

/// An XLUnicodeString ([MS-XLS] 2.5.294) at `at`: a 16-bit length, a flags byte (bit 0: two
/// bytes a character), the characters. `None` when the record holds less than it says.
fn xl_unicode_string(data: &[u8], at: usize) -> Option<String> {
    let [c0, c1, flags]: [u8; 3] = data.get(at..at.checked_add(3)?)?.try_into().ok()?;
    let rest = data.get(at + 3..)?;
    let cch = usize::from(u16::from_le_bytes([c0, c1]));
    if flags & 1 == 0 {
        Some(rest.get(..cch)?.iter().map(|&b| char::from(b)).collect())
    } else {
        let bytes = rest.get(..cch.checked_mul(2)?)?;
        let units = bytes
            .chunks_exact(2)
            .map(|u| u16::from_le_bytes([u[0], u[1]]));
        Some(
            char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};
    use std::path::PathBuf;

    use calamine::{Data, Reader, open_workbook_auto};

    use super::*;

    const NS: &str = r#"xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:loext="urn:org:documentfoundation:names:experimental:office:xmlns:loext:1.0" office:version="1.2""#;

    /// The widths of cell styles `names` under styles.xml-like `xml`.
    fn widths(xml: &str, names: &[&str]) -> Vec<Option<u16>> {
        let mut styles = OdsStyles::default();
        styles.read(&mut xml_reader(xml.as_bytes())).unwrap();
        let resolved = styles.resolve();
        names.iter().map(|n| resolved.named(n)).collect()
    }

    /// A number style of `children` and a cell style "c" using it.
    fn number_style(children: &str) -> Option<u16> {
        let xml = format!(
            r#"<office:document-styles {NS}><office:styles><number:number-style style:name="N">{children}</number:number-style><style:style style:name="c" style:family="table-cell" style:data-style-name="N"/></office:styles></office:document-styles>"#
        );
        widths(&xml, &["c"])[0]
    }

    #[test]
    fn only_plain_zero_padding_number_styles_pad() {
        let number = |attrs: &str| format!("<number:number {attrs}/>");
        assert_eq!(
            number_style(&number(r#"number:min-integer-digits="6""#)),
            Some(6)
        );
        assert_eq!(
            number_style(&number(
                r#"number:decimal-places="0" number:min-decimal-places="0" number:min-integer-digits="4" number:grouping="false""#
            )),
            Some(4)
        );
        for not in [
            number(r#"number:min-integer-digits="1""#),
            number(r#"number:decimal-places="0""#),
            number(r#"number:decimal-places="2" number:min-integer-digits="6""#),
            number(r#"number:min-decimal-places="1" number:min-integer-digits="6""#),
            number(r#"number:grouping="true" number:min-integer-digits="6""#),
            number(r#"number:display-factor="1000" number:min-integer-digits="6""#),
            number(r#"loext:max-blank-integer-digits="3" number:min-integer-digits="6""#),
            // Past any id's width: not a format to pad with (nor to allocate by).
            number(r#"number:min-integer-digits="100000""#),
            number(r#"number:min-integer-digits="-6""#),
            // Text before the digits ('NF-'000000), a colour, a second number.
            format!(
                "<number:text>NF-</number:text>{}",
                number(r#"number:min-integer-digits="6""#)
            ),
            format!(
                r##"<style:text-properties fo:color="#ff0000"/>{}"##,
                number(r#"number:min-integer-digits="6""#)
            ),
            format!(
                "{}{}",
                number(r#"number:min-integer-digits="6""#),
                number(r#"number:min-integer-digits="6""#)
            ),
            r#"<number:number number:min-integer-digits="6"><number:embedded-text number:position="3">-</number:embedded-text></number:number>"#.to_string(),
            String::new(),
        ] {
            assert_eq!(number_style(&not), None, "{not}");
        }
    }

    #[test]
    fn a_map_for_the_positive_numbers_decides() {
        // LibreOffice's `#0000;-0000`: the style itself shows negatives ('-' text), and maps
        // value()>=0 to the positive part.
        let xml = |condition: &str, own: &str| {
            format!(
                r#"<office:document-styles {NS}><office:styles><number:number-style style:name="P"><number:number number:min-integer-digits="4"/></number:number-style><number:number-style style:name="N">{own}<style:map style:condition="{condition}" style:apply-style-name="P"/></number:number-style><style:style style:name="c" style:family="table-cell" style:data-style-name="N"/></office:styles></office:document-styles>"#
            )
        };
        let minus = r#"<number:text>-</number:text><number:number number:min-integer-digits="4"/>"#;
        let plain = r#"<number:number number:min-integer-digits="6"/>"#;
        for (condition, own, width) in [
            ("value()&gt;=0", minus, Some(4)),
            ("value() &gt; 0", minus, Some(4)),
            ("value()!=-1", minus, Some(4)),
            // For negatives only: the style's own digits.
            ("value()&lt;0", plain, Some(6)),
            ("value()&lt;=0", plain, Some(6)),
            ("value()=0", plain, Some(6)),
            // Some positive numbers one way, some another: neither.
            ("value()&gt;100", plain, None),
            ("value()=5", plain, None),
            ("cell-content()&gt;0", plain, None),
            ("value()&gt;=x", plain, None),
        ] {
            assert_eq!(widths(&xml(condition, own), &["c"]), [width], "{condition}");
        }
    }

    #[test]
    fn a_cell_style_takes_its_number_format_from_its_parents() {
        let xml = format!(
            r#"<office:document-styles {NS}><office:styles><style:default-style style:family="table-cell" style:data-style-name="N3"/><number:number-style style:name="N6"><number:number number:min-integer-digits="6"/></number:number-style><number:number-style style:name="N3"><number:number number:min-integer-digits="3"/></number:number-style><number:number-style style:name="D"><number:number number:decimal-places="2"/></number:number-style><style:style style:name="Id" style:family="table-cell" style:data-style-name="N6"/><style:style style:name="child" style:family="table-cell" style:parent-style-name="Id"/><style:style style:name="grandchild" style:family="table-cell" style:parent-style-name="child"/><style:style style:name="own" style:family="table-cell" style:parent-style-name="Id" style:data-style-name="D"/><style:style style:name="orphan" style:family="table-cell"/><style:style style:name="lost" style:family="table-cell" style:parent-style-name="nowhere"/><style:style style:name="loop1" style:family="table-cell" style:parent-style-name="loop2"/><style:style style:name="loop2" style:family="table-cell" style:parent-style-name="loop1"/><style:style style:name="para" style:family="paragraph" style:data-style-name="N6"/></office:styles></office:document-styles>"#
        );
        assert_eq!(
            widths(
                &xml,
                &[
                    "Id",
                    "child",
                    "grandchild",
                    "own",
                    "orphan",
                    "lost",
                    "loop1",
                    "para"
                ]
            ),
            [
                Some(6),
                Some(6),
                Some(6),
                None,
                // No data style up the chain: the default style's.
                Some(3),
                None,
                None,
                None
            ]
        );
    }

    /// An ODS file in `dir`: `styles` in styles.xml (none when `None`), `automatic` and
    /// `tables` in content.xml.
    fn ods(dir: &Path, name: &str, styles: Option<&str>, automatic: &str, tables: &str) -> PathBuf {
        let path = dir.join(name);
        let mut zip = zip::ZipWriter::new(File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        let mut part = |name: &str, text: String| {
            zip.start_file(name, options).unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        };
        part(
            "mimetype",
            "application/vnd.oasis.opendocument.spreadsheet".into(),
        );
        part(
            "META-INF/manifest.xml",
            r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>"#.into(),
        );
        if let Some(styles) = styles {
            part(
                "styles.xml",
                format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><office:document-styles {NS}><office:styles>{styles}</office:styles></office:document-styles>"#
                ),
            );
        }
        part(
            "content.xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content {NS}><office:automatic-styles>{automatic}</office:automatic-styles><office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>"#
            ),
        );
        zip.finish().unwrap();
        path
    }

    const AUTOMATIC: &str = r#"<number:number-style style:name="N6"><number:number number:min-integer-digits="6"/></number:number-style><number:number-style style:name="N3"><number:number number:min-integer-digits="3"/></number:number-style><number:number-style style:name="D"><number:number number:decimal-places="2" number:min-integer-digits="2"/></number:number-style><style:style style:name="ce6" style:family="table-cell" style:data-style-name="N6"/><style:style style:name="ce3" style:family="table-cell" style:data-style-name="N3"/><style:style style:name="ceD" style:family="table-cell" style:data-style-name="D"/><style:style style:name="ceP" style:family="table-cell" style:parent-style-name="Pad4"/>"#;
    const STYLES: &str = r#"<number:number-style style:name="N4"><number:number number:min-integer-digits="4"/></number:number-style><style:style style:name="Pad4" style:family="table-cell" style:data-style-name="N4"/>"#;

    fn float(value: u32, attrs: &str) -> String {
        format!(
            r#"<table:table-cell office:value-type="float" office:value="{value}" {attrs}><text:p>{value}</text:p></table:table-cell>"#
        )
    }

    /// Each number cell's value is the width it is padded to (0: none), so what calamine
    /// reads tells what is expected where it puts it.
    #[test]
    fn ods_padding_lands_where_calamine_puts_the_cells() {
        let dir = tempfile::tempdir().unwrap();
        let empty = |n: u32| format!(r#"<table:table-cell table:number-columns-repeated="{n}"/>"#);
        let rows = [
            // Rows 1-2 empty.
            format!(
                r#"<table:table-row table:number-rows-repeated="2">{}</table:table-row>"#,
                empty(8)
            ),
            // A empty; B-C by their own style over C's column; D by its column; E's column
            // pads nothing; F covered; G through a parent in styles.xml; H text.
            format!(
                r#"<table:table-row><table:table-cell/>{}{}{}<table:covered-table-cell/>{}<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>"#,
                float(
                    6,
                    r#"table:style-name="ce6" table:number-columns-repeated="2""#
                ),
                float(3, ""),
                float(0, ""),
                float(4, r#"table:style-name="ceP""#),
            ),
            // Three rows alike: C-D repeated, by their column.
            format!(
                r#"<table:table-row table:number-rows-repeated="3">{}{}</table:table-row>"#,
                empty(2),
                float(3, r#"table:number-columns-repeated="2""#),
            ),
            // The row's default style over the columns'; a cell's own over the row's.
            format!(
                r#"<table:table-row table:default-cell-style-name="ce6">{}{}{}{}</table:table-row>"#,
                float(6, ""),
                empty(2),
                float(6, ""),
                float(0, r#"table:style-name="ceD""#),
            ),
            // No column style in A; a percentage is no float; a cell's content is not looked
            // into.
            format!(
                r#"<table:table-row>{}<table:table-cell office:value-type="percentage" office:value="0" table:style-name="ce6"><text:p>0%</text:p></table:table-cell>{}</table:table-row>"#,
                float(0, ""),
                r#"<table:table-cell office:value-type="float" office:value="3"><text:p>3</text:p><office:annotation><text:p><table:table-row>x</table:table-row></text:p></office:annotation></table:table-cell>"#,
            ),
        ];
        let columns = r#"<table:table-column table:number-columns-repeated="2"/><table:table-column table:default-cell-style-name="ce3" table:number-columns-repeated="2"/><table:table-column table:default-cell-style-name="ceD"/><table:table-column table:number-columns-repeated="3"/>"#;
        let tables = format!(
            r#"<table:table table:name="Outra"><table:table-row>{}</table:table-row></table:table><table:table table:name="D &amp; R">{columns}{}</table:table>"#,
            float(6, r#"table:style-name="ce6""#),
            rows.concat()
        );
        let path = ods(dir.path(), "p.ods", Some(STYLES), AUTOMATIC, &tables);
        let padding = ods_padding(&path, "D & R").unwrap();
        let mut workbook = open_workbook_auto(&path).unwrap();
        let range = workbook.worksheet_range("D & R").unwrap();
        let (top, left) = range.start().unwrap();
        let mut seen = 0;
        for (r, c, value) in range.used_cells() {
            let Data::Float(expected) = value else {
                continue;
            };
            let at = (top + r as u32, left + c as u32);
            assert_eq!(
                padding.width(at).unwrap_or(0),
                *expected as usize,
                "cell at {at:?}"
            );
            seen += 1;
        }
        assert_eq!(seen, 5 + 3 * 2 + 3 + 3);
        // Row 3 (index 2): B2 the first padded cell.
        assert_eq!(padding.width((2, 1)), Some(6));
        assert_eq!(padding.width((5, 3)), Some(3));
        assert_eq!(padding.width((6, 3)), Some(6));
        assert_eq!(padding.width((7, 1)), None);
        assert_eq!(padding.width((7, 2)), Some(3));
        // A sheet that is not there pads nothing.
        assert!(ods_padding(&path, "Nada").unwrap().is_empty());
    }

    #[test]
    fn a_cell_repeated_across_columns_takes_each_columns_style() {
        let dir = tempfile::tempdir().unwrap();
        let columns = r#"<table:table-column/><table:table-column table:default-cell-style-name="ce3" table:number-columns-repeated="2"/><table:table-column table:default-cell-style-name="ceD"/><table:table-column table:default-cell-style-name="ce6"/>"#;
        let tables = format!(
            r#"<table:table table:name="S">{columns}<table:table-row>{}</table:table-row></table:table>"#,
            float(7, r#"table:number-columns-repeated="6""#)
        );
        let path = ods(dir.path(), "r.ods", None, AUTOMATIC, &tables);
        let padding = ods_padding(&path, "S").unwrap();
        let got: Vec<Option<usize>> = (0..7).map(|c| padding.width((0, c))).collect();
        assert_eq!(got, [None, Some(3), Some(3), None, Some(6), None, None]);
    }

    #[test]
    fn ods_repeats_are_kept_as_runs_and_cut_as_calamine_cuts_them() {
        let dir = tempfile::tempdir().unwrap();
        let tables = format!(
            r#"<table:table table:name="S"><table:table-row table:number-rows-repeated="4000000000">{}</table:table-row><table:table-row>{}</table:table-row></table:table>"#,
            float(
                1,
                r#"table:style-name="ce6" table:number-columns-repeated="99999999""#
            ),
            float(1, r#"table:style-name="ce6""#),
        );
        let path = ods(dir.path(), "big.ods", None, AUTOMATIC, &tables);
        let padding = ods_padding(&path, "S").unwrap();
        assert_eq!(padding.rows.len(), 1, "one run, however many cells");
        assert_eq!(padding.width((0, 0)), Some(6));
        assert_eq!(
            padding.width((ODS_MAX_ROWS - 1, ODS_MAX_COLUMNS - 1)),
            Some(6)
        );
        assert_eq!(padding.width((ODS_MAX_ROWS, 0)), None);
        assert_eq!(padding.width((0, ODS_MAX_COLUMNS)), None);
    }

    #[test]
    fn an_ods_with_no_padding_style_is_not_read_past_its_styles() {
        let dir = tempfile::tempdir().unwrap();
        // The body is not XML at all: were it read, it would be an error.
        let path = ods(
            dir.path(),
            "plain.ods",
            None,
            r#"<style:style style:name="ce1" style:family="table-cell"/>"#,
            "<table:table table:name=\"S\"><<<",
        );
        assert!(ods_padding(&path, "S").unwrap().is_empty());
    }

    /// One BIFF record.
    fn rec(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
        out.extend(typ.to_le_bytes());
        out.extend(u16::try_from(data.len()).unwrap().to_le_bytes());
        out.extend(data);
    }

    fn format_record(ifmt: u16, code: &str, wide: bool) -> Vec<u8> {
        let mut d = ifmt.to_le_bytes().to_vec();
        d.extend(u16::try_from(code.len()).unwrap().to_le_bytes());
        if wide {
            d.push(1);
            d.extend(code.encode_utf16().flat_map(u16::to_le_bytes));
        } else {
            d.push(0);
            d.extend(code.bytes());
        }
        d
    }

    fn cell(row: u16, col: u16, xf: u16, rest: usize) -> Vec<u8> {
        let mut d = [row, col, xf]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>();
        d.resize(6 + rest, 0);
        d
    }

    /// A BIFF8 workbook stream: formats 164 `000000` (XF 1), 165 `0.00` (XF 2), 166 `00000`
    /// in UTF-16 (XF 3), 1 built in (XF 0); two sheets, the second with one padded cell.
    fn workbook_stream() -> Vec<u8> {
        let mut globals = Vec::new();
        rec(&mut globals, record::BOF, &[0x00, 0x06, 0x05, 0x00]);
        rec(
            &mut globals,
            record::FORMAT,
            &format_record(164, "000000", false),
        );
        rec(
            &mut globals,
            record::FORMAT,
            &format_record(165, "0.00", false),
        );
        rec(
            &mut globals,
            record::FORMAT,
            &format_record(166, "00000", true),
        );
        // A built-in id, whatever a file says of it.
        rec(
            &mut globals,
            record::FORMAT,
            &format_record(1, "000", false),
        );
        for ifmt in [1u16, 164, 165, 166] {
            let mut xf = vec![0u8; 20];
            xf[2..4].copy_from_slice(&ifmt.to_le_bytes());
            rec(&mut globals, record::XF, &xf);
        }
        let sheet_record = |pos: u32| {
            let mut d = pos.to_le_bytes().to_vec();
            d.extend([0, 0, 1, 0, b'S']);
            d
        };
        let at = globals.len();
        rec(&mut globals, record::BOUNDSHEET8, &sheet_record(0));
        rec(&mut globals, record::BOUNDSHEET8, &sheet_record(0));
        rec(&mut globals, record::EOF, &[]);

        let mut first = Vec::new();
        rec(&mut first, record::BOF, &[0x00, 0x06, 0x10, 0x00]);
        rec(&mut first, record::NUMBER, &cell(1, 1, 1, 8));
        rec(&mut first, record::NUMBER, &cell(1, 2, 2, 8));
        rec(&mut first, record::RK, &cell(2, 1, 3, 4));
        rec(&mut first, record::RK, &cell(2, 2, 0, 4));
        // Row 3, from column 4: XF 1, 0, 3.
        let mut mulrk = [3u16, 4]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>();
        for xf in [1u16, 0, 3] {
            mulrk.extend(xf.to_le_bytes());
            mulrk.extend([0u8; 4]);
        }
        mulrk.extend(6u16.to_le_bytes());
        rec(&mut first, record::MULRK, &mulrk);
        rec(&mut first, record::FORMULA, &cell(4, 0, 1, 14));
        // An embedded chart's substream is passed over.
        rec(&mut first, record::BOF, &[0x00, 0x06, 0x20, 0x00]);
        rec(&mut first, record::NUMBER, &cell(9, 9, 1, 8));
        rec(&mut first, record::EOF, &[]);
        // Out of order, and a later record at a place wins.
        rec(&mut first, record::NUMBER, &cell(7, 7, 3, 8));
        rec(&mut first, record::NUMBER, &cell(1, 3, 1, 8));
        rec(&mut first, record::NUMBER, &cell(7, 7, 1, 8));
        rec(&mut first, record::EOF, &[]);
        // Not this sheet's.
        rec(&mut first, record::NUMBER, &cell(8, 8, 1, 8));

        let mut second = Vec::new();
        rec(&mut second, record::BOF, &[0x00, 0x06, 0x10, 0x00]);
        rec(&mut second, record::NUMBER, &cell(0, 0, 3, 8));
        rec(&mut second, record::EOF, &[]);

        let first_at = u32::try_from(globals.len()).unwrap();
        let second_at = first_at + u32::try_from(first.len()).unwrap();
        globals[at + 4..at + 8].copy_from_slice(&first_at.to_le_bytes());
        let next = at + 4 + 9;
        globals[next + 4..next + 8].copy_from_slice(&second_at.to_le_bytes());
        [globals, first, second].concat()
    }

    fn padded(padding: &Padding, cells: &[(u32, u32)]) -> Vec<Option<usize>> {
        cells.iter().map(|&at| padding.width(at)).collect()
    }

    #[test]
    fn xls_cells_take_the_padding_of_their_xf_format() {
        let stream = workbook_stream();
        let first = xls_stream_padding(Cursor::new(&stream), 0).unwrap();
        assert_eq!(
            padded(
                &first,
                &[
                    (1, 1),
                    (1, 2),
                    (1, 3),
                    (2, 1),
                    (2, 2),
                    (3, 4),
                    (3, 5),
                    (3, 6),
                    (4, 0),
                    (7, 7),
                    (8, 8),
                    (9, 9)
                ]
            ),
            [
                Some(6),
                None,
                Some(6),
                Some(5),
                None,
                Some(6),
                None,
                Some(5),
                Some(6),
                Some(6),
                None,
                None
            ]
        );
        let second = xls_stream_padding(Cursor::new(&stream), 1).unwrap();
        assert_eq!(padded(&second, &[(0, 0), (1, 1)]), [Some(5), None]);
        assert!(
            xls_stream_padding(Cursor::new(&stream), 2)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn encrypted_old_or_format_free_xls_pads_nothing() {
        let stream = workbook_stream();
        // FILEPASS after the BOF.
        let mut encrypted = stream.clone();
        let bof_len = 4 + 4;
        let mut filepass = Vec::new();
        rec(&mut filepass, record::FILEPASS, &[1, 0, 1, 0]);
        encrypted.splice(bof_len..bof_len, filepass);
        assert!(
            xls_stream_padding(Cursor::new(&encrypted), 0)
                .unwrap()
                .is_empty()
        );
        // BIFF5.
        let mut old = stream.clone();
        old[4..6].copy_from_slice(&0x0500u16.to_le_bytes());
        assert!(xls_stream_padding(Cursor::new(&old), 0).unwrap().is_empty());
        // Not a workbook stream at all.
        assert!(
            xls_stream_padding(Cursor::new(b"junk"), 0)
                .unwrap()
                .is_empty()
        );
        assert!(xls_stream_padding(Cursor::new(b""), 0).unwrap().is_empty());
    }

    /// Every cut-off of the stream and many damaged copies read without panicking, and
    /// allocate no more than a record's 64 KiB at a time.
    #[test]
    fn damaged_xls_streams_do_not_panic() {
        let stream = workbook_stream();
        for len in 0..stream.len() {
            let _ = xls_stream_padding(Cursor::new(&stream[..len]), 0);
        }
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..5000 {
            let mut damaged = stream.clone();
            for _ in 0..3 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed % damaged.len() as u64) as usize;
                damaged[at] = (seed >> 32) as u8;
            }
            let _ = xls_stream_padding(Cursor::new(&damaged), (seed % 3) as usize);
        }
        // Lengths, counts and positions at their largest.
        let mut big = Vec::new();
        rec(&mut big, record::BOF, &[0x00, 0x06]);
        rec(&mut big, record::FORMAT, &format_record(200, "00", false));
        rec(&mut big, record::XF, &[0, 0, 200, 0]);
        rec(&mut big, record::BOUNDSHEET8, &[0xff; 8]);
        rec(&mut big, record::EOF, &[]);
        big.extend([0xff; 64]);
        assert!(xls_stream_padding(Cursor::new(&big), 0).unwrap().is_empty());
        // The sheet at the end, of MULRKs too short, empty, and at the last row and column.
        let mut pointed = big[..big.len() - 64].to_vec();
        let at = u32::try_from(pointed.len()).unwrap();
        let boundsheet = pointed.len() - 4 - 8;
        pointed[boundsheet..boundsheet + 4].copy_from_slice(&at.to_le_bytes());
        rec(&mut pointed, record::MULRK, &[0xff; 5]);
        rec(&mut pointed, record::MULRK, &[]);
        let mut last = vec![0xff; 4];
        last.extend([0, 0, 0, 0, 0, 0, 0xff, 0xff]);
        rec(&mut pointed, record::MULRK, &last);
        let padding = xls_stream_padding(Cursor::new(&pointed), 0).unwrap();
        assert_eq!(padding.width((65_535, 65_535)), Some(2));
        assert_eq!(padding.rows.len(), 1);
    }

    #[test]
    fn a_file_that_is_no_compound_file_pads_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.xls");
        std::fs::write(&path, b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 and then nothing").unwrap();
        assert!(xls_padding(&path, 0).unwrap().is_empty());
        assert!(xls_padding(&dir.path().join("absent.xls"), 0).is_err());
    }

    /// The fixture xlwt wrote: B2 holds the header, ids from B3 and C3.
    #[test]
    fn an_xls_written_by_xlwt() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/readers/padded_ids.xls");
        let padding = xls_padding(&path, 0).unwrap();
        assert_eq!(
            padded(&padding, &[(1, 1), (2, 1), (2, 2), (3, 2), (4, 2), (2, 6)]),
            [None, Some(5), Some(6), Some(6), None, None]
        );
    }

    #[test]
    fn from_cells_sorts_and_the_later_of_two_wins() {
        let padding =
            Padding::from_cells(vec![(5, 1, 3), (0, 2, 6), (0, 1, 6), (5, 1, 4), (0, 4, 6)]);
        assert_eq!(
            padding.rows,
            [
                Rows {
                    first: 0,
                    end: 1,
                    spans: vec![
                        Span {
                            first: 1,
                            end: 3,
                            width: 6
                        },
                        Span {
                            first: 4,
                            end: 5,
                            width: 6
                        }
                    ]
                },
                Rows {
                    first: 5,
                    end: 6,
                    spans: vec![Span {
                        first: 1,
                        end: 2,
                        width: 4
                    }]
                }
            ]
        );
        assert_eq!(padding.width((0, 3)), None);
        assert_eq!(padding.width((u32::MAX, u32::MAX)), None);
    }
}
