//! Workbook reading through calamine (XLSX, XLSM, XLSB, XLS, ODS): pick the sheet, find the
//! header row, and hand out rows of the cells the sheet holds.
//!
//! A sheet is kept by the cells it holds ([`Store`]), never by their bounding box: a workbook
//! with one cell in A1 and one in XFD1048576 (the Excel Solver add-in writes cells out there)
//! is two cells, where calamine's `worksheet_range` would allocate 17 billion and abort.
//! XLSX and XLSB are read cell by cell for that; XLS (at most 65,536 × 256) and ODS come
//! through calamine's range, and their number formats, which calamine gives for XLSX only,
//! from [`numfmt`] (a number shown zero-padded is kept as shown).
//!
//! calamine inflates and parses what it is given, so a hostile file is turned away first
//! ([`guard`]): a zip whose parts would inflate past sane sizes (a decompression bomb), and an
//! encrypted workbook, which is an OLE container and would otherwise read as "corrupt".

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;
use std::sync::Arc;

use calamine::{
    Cell, CellErrorType, Data, DataRef, Range, Reader, SheetType, SheetVisible, Sheets,
    open_workbook_auto,
};

use super::numfmt::{self, Padding};
use super::{CellRef, Cells, ReadOptions, Row, SheetNumber, SourceError, SourceRef, is_blank};

pub(super) struct SheetRows {
    /// Shared so `reopen` does not parse the workbook again.
    store: Arc<Store>,
    /// Index (among the store's rows) of the next row to look at.
    next: usize,
    /// Index of the row after the header, where `restart` starts.
    first: usize,
    kind: &'static str,
    sheet: Arc<str>,
    /// The workbook's other visible worksheets after the one read, when it was chosen as the
    /// first with data (no `--sheet`): their invoices are not read, and the user is told so.
    unread: Arc<[String]>,
    /// The workbook's hidden worksheets, passed over when no `--sheet` names one: a user who
    /// opens the file does not see them (an old month kept out of sight, a lookup table). Or
    /// the one read, alone, when no visible sheet has data.
    hidden: Arc<[String]>,
}

type Opened = (SourceRef, Vec<String>, u64, super::Inner);

pub(super) fn open(
    file: &Arc<str>,
    path: &Path,
    opts: &ReadOptions,
) -> Result<Opened, SourceError> {
    // calamine panics on some damaged workbooks (fuzzing found an overflow on a cell reference
    // of many letters). Parsing touches no state of ours, so unwinding out of it leaves
    // nothing half-done: the file becomes a file error like any other unreadable workbook,
    // whose message carries the panic's. The panic hook is kept quiet meanwhile, so the user
    // sees that error and not a "thread panicked" report as well.
    let parsed = quiet_panics(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            open_parsed(file, path, opts)
        }))
    });
    parsed.unwrap_or_else(|payload| {
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(SourceError::Workbook {
            file: file.to_string(),
            message: format!("the workbook reader failed on it ({why})"),
        })
    })
}

thread_local! {
    /// Set while this thread reads a workbook: see [`quiet_panics`].
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with panics on this thread left unreported by the panic hook (they are caught and
/// reported as file errors). Panics anywhere else still reach the hook as before: the hook this
/// installs, once per process, hands them to the one it replaces.
fn quiet_panics<T>(f: impl FnOnce() -> T) -> T {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let out = f();
    QUIET.with(|q| q.set(was));
    out
}

fn open_parsed(file: &Arc<str>, path: &Path, opts: &ReadOptions) -> Result<Opened, SourceError> {
    let workbook_err = |message: String| SourceError::Workbook {
        file: file.to_string(),
        message,
    };
    guard(file, path)?;
    let mut workbook = open_workbook_auto(path).map_err(|e| match e {
        calamine::Error::Io(io) => SourceError::Io {
            file: file.to_string(),
            message: io.to_string(),
        },
        calamine::Error::Xls(calamine::XlsError::Password) => {
            SourceError::PasswordProtected(file.to_string())
        }
        other => too_large(file, &other).unwrap_or_else(|| workbook_err(other.to_string())),
    })?;
    let kind = match &workbook {
        Sheets::Xls(_) => "XLS",
        Sheets::Xlsx(_) => "XLSX",
        Sheets::Xlsb(_) => "XLSB",
        Sheets::Ods(_) => "ODS",
    };
    let calculated_on_load = matches!(workbook, Sheets::Xlsx(_)) && calculated_on_load(path);
    let names = workbook.sheet_names();
    let worksheets: Vec<String> = workbook
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet && s.visible == SheetVisible::Visible)
        .map(|s| s.name.clone())
        .collect();
    let hidden: Vec<String> = workbook
        .sheets_metadata()
        .iter()
        .filter(|s| s.visible != SheetVisible::Visible)
        .map(|s| s.name.clone())
        .collect();

    let (name, store) = match &opts.sheet {
        Some(wanted) => {
            let wanted_trim = wanted.trim();
            let name = names
                .iter()
                .find(|n| n.as_str() == wanted)
                .or_else(|| {
                    names
                        .iter()
                        .find(|n| n.trim().to_lowercase() == wanted_trim.to_lowercase())
                })
                .ok_or_else(|| SourceError::SheetNotFound {
                    file: file.to_string(),
                    sheet: wanted.clone(),
                    sheets: names.join(", "),
                })?
                .clone();
            let store = read_sheet(&mut workbook, path, &name, calculated_on_load)
                .map_err(|e| workbook_err(format!("sheet '{name}': {e}")))?;
            (name, store)
        }
        None => {
            // The first sheet with a header and rows under it: a cover sheet of notes or a
            // title alone is passed over. If no sheet has rows, the first with anything at all
            // is taken, so the error names it ("header only") rather than "no data". Hidden
            // sheets only when no visible one has anything.
            let mut found = None;
            let mut header_only = None;
            let mut first_error = None;
            let (visible, out_of_sight): (Vec<&String>, Vec<&String>) =
                names.iter().partition(|n| !hidden.contains(n));
            for name in visible.into_iter().chain(out_of_sight) {
                match read_sheet(&mut workbook, path, name, calculated_on_load) {
                    Ok(store) => match store.first_data_row(0) {
                        Some(h) if store.first_data_row(h + 1).is_some() => {
                            found = Some((name.clone(), store));
                            break;
                        }
                        Some(_) if header_only.is_none() => {
                            header_only = Some((name.clone(), store))
                        }
                        _ => {}
                    },
                    // A chart sheet or an odd sheet may not read; a later one still might.
                    Err(e) => {
                        first_error.get_or_insert(format!("sheet '{name}': {e}"));
                    }
                }
            }
            match (found.or(header_only), first_error) {
                (Some(found), _) => found,
                (None, Some(message)) => return Err(workbook_err(message)),
                (None, None) => return Err(SourceError::NoData(file.to_string())),
            }
        }
    };

    let unread: Arc<[String]> = match &opts.sheet {
        Some(_) => Arc::from([]),
        None => names
            .iter()
            .skip_while(|n| **n != name)
            .skip(1)
            .filter(|n| worksheets.contains(n))
            .cloned()
            .collect(),
    };
    // Invoices on other visible sheets of the same layout (a sheet per branch or per month):
    // one sheet is read per run, and a run that read only the first looked done, exit 0, the
    // inbox's file processed, while the others' invoices were never sent (bug). Refused.
    if opts.sheet.is_none() && !unread.is_empty() {
        let ours = layout(&store);
        let alike: Vec<String> = unread
            .iter()
            .filter(|other| {
                ours.is_some()
                    && read_sheet(&mut workbook, path, other, calculated_on_load)
                        .is_ok_and(|s| layout(&s) == ours)
            })
            .cloned()
            .collect();
        if !alike.is_empty() {
            let sheets: Vec<String> = std::iter::once(name.clone()).chain(alike).collect();
            return Err(SourceError::SheetsAlike {
                file: file.to_string(),
                sheets: crate::mapping::quoted(&sheets),
            });
        }
    }
    // Named in a note: passed over, or, when it is the one read, read for want of another.
    let hidden: Arc<[String]> = match &opts.sheet {
        Some(_) => Arc::from([]),
        None if hidden.contains(&name) => Arc::from([name.clone()]),
        None => hidden.into_iter().collect(),
    };
    let sheet: Arc<str> = Arc::from(name.as_str());
    let source = SourceRef {
        file: file.clone(),
        sheet: Some(sheet.clone()),
    };
    let Some(header_index) = store.first_data_row(0) else {
        return Err(SourceError::NoData(format!("{file}, sheet '{name}'")));
    };
    let header = store.row(header_index);
    // A header cell that is a formula never calculated would read as no header, and its column
    // be passed over unseen (a review found a freight column so lost). A row of one cell is
    // a title, which a header below may follow.
    if let Some((number, cells)) = header
        && cells.values.len() > 1
        && let Some(at) = cells.values.iter().position(|v| matches!(v, Data::Empty))
    {
        let column = cells
            .columns
            .get(at)
            .map_or(0, |&c| c - cells.first_column + 1);
        return Err(SourceError::Record {
            file: format!("{file}, sheet '{name}',"),
            row: number,
            message: format!("the header of column {column} {}", super::NEVER_CALCULATED),
        });
    }
    let header_row = header.map_or(0, |(number, _)| number);
    let headers = header
        .map(|(number, cells)| {
            let row = Row {
                number,
                cells: Cells::Sheet(cells),
            };
            row.texts()
        })
        .unwrap_or_default();
    let rows = SheetRows {
        store: Arc::new(store),
        next: header_index + 1,
        first: header_index + 1,
        kind,
        sheet,
        unread,
        hidden,
    };
    Ok((source, headers, header_row, super::Inner::Sheet(rows)))
}

/// A sheet's first row with anything (its header, or a title above it), when rows follow it:
/// two sheets with the same one hold rows of one layout.
fn layout(store: &Store) -> Option<Vec<String>> {
    let first = store.first_data_row(0)?;
    store.first_data_row(first + 1)?;
    let (number, cells) = store.row(first)?;
    let mut texts = Row {
        number,
        cells: Cells::Sheet(cells),
    }
    .texts();
    while texts.last().is_some_and(String::is_empty) {
        texts.pop();
    }
    Some(texts)
}

/// The cells of sheet `name` that hold anything. `path` is the workbook's file, for the number
/// formats calamine gives for XLSX only ([`numfmt`]).
fn read_sheet<RS: Read + Seek>(
    workbook: &mut Sheets<RS>,
    path: &Path,
    name: &str,
    calculated_on_load: bool,
) -> Result<Store, String> {
    let mut store = StoreBuilder::default();
    match workbook {
        Sheets::Xlsx(xlsx) => {
            let unsettled = {
                let mut cells = match xlsx.worksheet_cells_reader(name) {
                    Ok(cells) => cells,
                    // A chart sheet holds no cells; calamine's range reads it as empty too.
                    Err(calamine::XlsxError::NotAWorksheet(_)) => return Ok(Store::default()),
                    Err(e) => return Err(e.to_string()),
                };
                read_xlsx_cells(&mut cells, &mut store, calculated_on_load)?
            };
            let mut store = store.finish();
            // Bug: a formula saved without its value (openpyxl writes them so) read as an empty
            // cell, so an uncalculated freight was no freight and the invoice was sent short;
            // XlsxWriter's placeholder 0 the same. Both are marked. The sheet's formulas are
            // read again only when a cell had no value or zeros are still in doubt.
            if unsettled.valueless || unsettled.zeros {
                let formulas = xlsx.worksheet_formula(name).map_err(|e| e.to_string())?;
                store.mark_uncalculated(&formulas, unsettled.zeros);
            }
            return Ok(store);
        }
        Sheets::Xlsb(xlsb) => {
            let mut cells = xlsb
                .worksheet_cells_reader(name)
                .map_err(|e| e.to_string())?;
            while let Some(cell) = cells.next_cell().map_err(|e| e.to_string())? {
                store.push_ref(cell);
            }
        }
        Sheets::Ods(ods) => {
            let mut range = ods.worksheet_range(name).map_err(|e| e.to_string())?;
            // Bug: a formula saved without its value (odfpy writes them so) read as an empty
            // cell, so an uncalculated freight was no freight. calamine keeps an ODS sheet's
            // formulas with its values, so looking at them costs no second read.
            let formulas = ods.worksheet_formula(name).map_err(|e| e.to_string())?;
            // Bug: a number shown zero-padded (`000123` under the format `000000`) lost its
            // zeros, as calamine gives no ODS or XLS cell its format.
            let padding = numfmt::ods_padding(path, name)
                .map_err(|e| format!("its number formats could not be read ({e})"))?;
            store.take_range(&mut range, Some(&formulas), &padding);
        }
        Sheets::Xls(_) => {
            let mut range = workbook.worksheet_range(name).map_err(|e| e.to_string())?;
            let padding = match workbook.sheet_names().iter().position(|n| n == name) {
                Some(index) => numfmt::xls_padding(path, index)
                    .map_err(|e| format!("its number formats could not be read ({e})"))?,
                None => Padding::default(),
            };
            store.take_range(&mut range, None, &padding);
        }
    }
    Ok(store.finish())
}

/// Whether the cell at `at` holds a formula, by the sheet's `formulas` as calamine reads them.
fn has_formula(formulas: &Range<String>, at: (u32, u32)) -> bool {
    formulas.get_value(at).is_some_and(|f| !f.trim().is_empty())
}

/// Whether a number or date cell holds 0: XlsxWriter's placeholder for a formula's value.
fn is_zero(value: &Data) -> bool {
    match value {
        Data::Int(i) => *i == 0,
        Data::Float(f) => *f == 0.0,
        Data::DateTime(d) => d.as_f64() == 0.0,
        _ => false,
    }
}

/// What [`read_xlsx_cells`] leaves for [`Store::mark_uncalculated`] to settle.
#[derive(Debug, Clone, Copy, Default)]
struct Unsettled {
    /// A cell element held no value: a formula never calculated, or an empty entry (kept as
    /// [`Data::Empty`] until the sheet's formulas tell which).
    valueless: bool,
    /// Zeros were read without knowing whether they are formulas (see [`read_xlsx_cells`]).
    zeros: bool,
}

/// An XLSX sheet's cells into `store`. In a workbook calculated on load (`zeros_suspect`), a
/// formula's 0 is a placeholder: it is marked as one here when the sheet's styles pad no
/// number with zeros, as then the reader that gives each cell's formula, not its style, reads
/// the sheet in one pass; else the zeros are left for the formulas to settle.
fn read_xlsx_cells<RS: Read + Seek>(
    cells: &mut calamine::XlsxCellReader<'_, RS>,
    store: &mut StoreBuilder,
    zeros_suspect: bool,
) -> Result<Unsettled, String> {
    let mut unsettled = Unsettled::default();
    // A style's zero padding, by style id: looked up once per style, not per cell.
    let padding: Vec<Option<usize>> = cells
        .styles()
        .iter()
        .map(|style| {
            let format = style.number_format.as_ref()?;
            zero_padding(&format.format_code)
        })
        .collect();
    // calamine gives only cell elements with something inside (a self-closing one, a formatted
    // blank, is passed over): one with no value has a formula without its value, or is an
    // empty entry.
    let mut valueless = |store: &mut StoreBuilder, (row, col): (u32, u32)| {
        store.push(row, col, Data::Empty);
        unsettled.valueless = true;
    };
    if zeros_suspect && padding.iter().all(Option::is_none) {
        while let Some(cell) = cells
            .next_cell_with_formula_metadata()
            .map_err(|e| e.to_string())?
        {
            let (row, col) = cell.pos;
            match Data::from(cell.value) {
                Data::Empty => valueless(store, cell.pos),
                // Known to be a formula: marked with no second reading.
                value if cell.formula.is_some() && is_zero(&value) => {
                    store.push(row, col, Data::Empty)
                }
                value => store.push(row, col, value),
            }
        }
        return Ok(unsettled);
    }
    while let Some((cell, style)) = cells.next_cell_with_style_id().map_err(|e| e.to_string())? {
        if matches!(cell.get_value(), DataRef::Empty) {
            valueless(store, cell.get_position());
            continue;
        }
        match padding.get(style).copied().flatten() {
            Some(width) => store.push_padded(cell, width),
            None => store.push_ref(cell),
        }
    }
    unsettled.zeros = zeros_suspect;
    Ok(unsettled)
}

/// The width a number format pads whole numbers to with leading zeros (`000000`: 6), when it
/// does nothing else: its first section is only `0` and `#` placeholders, at least two of them
/// zeros. Formats with decimals, separators, literals or colours are left to the number.
pub(super) fn zero_padding(code: &str) -> Option<usize> {
    let positive = code.split(';').next()?.trim();
    let zeros = positive.bytes().filter(|&b| b == b'0').count();
    (zeros >= 2 && positive.bytes().all(|b| b == b'0' || b == b'#')).then_some(zeros)
}

/// The cells of a sheet that hold anything, row by row, in sheet order.
#[derive(Debug, Default)]
struct Store {
    values: Vec<Data>,
    /// The 0-based sheet column of each value; ascending within a row.
    columns: Vec<u32>,
    /// Rows holding any value, ascending: 0-based sheet row and the index of its first value
    /// (its last is just before the next row's first).
    rows: Vec<(u32, usize)>,
    /// Leftmost column holding anything in the whole sheet: column 0 of every row, as in
    /// calamine's range (a table that starts in column C reads as starting there).
    first_column: u32,
}

/// The cells of one row: what [`Cells::Sheet`] borrows.
#[derive(Debug, Clone, Copy)]
pub(super) struct SheetRow<'a> {
    values: &'a [Data],
    columns: &'a [u32],
    first_column: u32,
}

impl<'a> SheetRow<'a> {
    /// Columns up to the last one holding anything.
    pub(super) fn len(&self) -> usize {
        self.columns
            .last()
            .map_or(0, |&c| (c - self.first_column) as usize + 1)
    }

    /// The value in column `col` (counted from the sheet's first column).
    pub(super) fn get(&self, col: usize) -> Option<&'a Data> {
        let wanted = u32::try_from(col).ok()?.checked_add(self.first_column)?;
        // A row filled from the first column on has column `col` at index `col`.
        if self.columns.get(col) == Some(&wanted) {
            return self.values.get(col);
        }
        let at = self.columns.binary_search(&wanted).ok()?;
        self.values.get(at)
    }

    fn is_blank(&self) -> bool {
        // `Data::Empty` is a formula never calculated (`Store::mark_uncalculated`): a row of
        // them is an invoice's row whose values are unknown, not a blank line (found by a
        // review: such a row was passed over, and its invoice never sent).
        self.values.iter().all(|c| match c {
            Data::String(s) => is_blank(s),
            _ => false,
        })
    }
}

impl Store {
    /// The `i`th row holding anything: its 1-based number as a spreadsheet app shows it, and
    /// its cells.
    fn row(&self, i: usize) -> Option<(u64, SheetRow<'_>)> {
        let &(number, start) = self.rows.get(i)?;
        let end = self
            .rows
            .get(i + 1)
            .map_or(self.values.len(), |&(_, next)| next);
        Some((
            u64::from(number) + 1,
            SheetRow {
                values: self.values.get(start..end)?,
                columns: self.columns.get(start..end)?,
                first_column: self.first_column,
            },
        ))
    }

    /// Marks the formulas never calculated as [`Data::Empty`] (read as
    /// [`CellRef::Uncalculated`]): cells kept without a value that hold a formula, and, in a
    /// workbook written to be calculated when opened (`zeros_too`), formulas saved with the
    /// value 0, XlsxWriter's placeholder. A cell without a value and without a formula is
    /// an empty entry, and becomes blank.
    fn mark_uncalculated(&mut self, formulas: &Range<String>, zeros_too: bool) {
        for (k, &(row, start)) in self.rows.iter().enumerate() {
            let end = self
                .rows
                .get(k + 1)
                .map_or(self.values.len(), |&(_, next)| next);
            let (Some(values), Some(columns)) = (
                self.values.get_mut(start..end),
                self.columns.get(start..end),
            ) else {
                continue;
            };
            for (value, &col) in values.iter_mut().zip(columns) {
                let formula = has_formula(formulas, (row, col));
                let zero = match &*value {
                    // A 0 under a zero-padding number format (`push_padded`).
                    Data::String(s) => !s.is_empty() && s.bytes().all(|b| b == b'0'),
                    other => is_zero(other),
                };
                match value {
                    Data::Empty if !formula => *value = Data::String(String::new()),
                    _ if zeros_too && formula && zero => *value = Data::Empty,
                    _ => {}
                }
            }
        }
    }

    /// Index of the first row at or after `from` with any non-blank cell.
    fn first_data_row(&self, from: usize) -> Option<usize> {
        (from..self.rows.len()).find(|&i| self.row(i).is_some_and(|(_, row)| !row.is_blank()))
    }
}

/// Builds a [`Store`] from cells in any order. Readers give them in sheet order, which is
/// stored as it comes; a file that lists them otherwise is sorted once at the end, and where
/// one cell is given twice the later wins, as in calamine's range.
#[derive(Default)]
struct StoreBuilder {
    store: Store,
    last: Option<(u32, u32)>,
    /// Every cell as (row, column, value), once one came out of order.
    unordered: Option<Vec<(u32, u32, Data)>>,
}

impl StoreBuilder {
    fn push_ref(&mut self, cell: Cell<DataRef<'_>>) {
        if !matches!(cell.get_value(), DataRef::Empty) {
            let (row, col) = cell.get_position();
            self.push(row, col, Data::from(cell.get_value().clone()));
        }
    }

    /// A number cell shown zero-padded (number format `000000`) is kept as the text the sheet
    /// shows: an invoice number 000089777 typed into such a cell is stored as 89777, and its
    /// leading zeros are part of the id. Only whole numbers below 10^15 are padded; a longer
    /// one has lost digits already and stays a number, for the id rules to call it mangled.
    fn push_padded(&mut self, cell: Cell<DataRef<'_>>, width: usize) {
        let whole = match *cell.get_value() {
            DataRef::Int(i) => Some(i),
            DataRef::Float(f) => whole_number(f),
            _ => None,
        };
        match whole.and_then(|n| zero_padded(n, width)) {
            Some(text) => {
                let (row, col) = cell.get_position();
                self.push(row, col, Data::String(text));
            }
            None => self.push_ref(cell),
        }
    }

    fn push(&mut self, row: u32, col: u32, value: Data) {
        if let Some(cells) = &mut self.unordered {
            cells.push((row, col, value));
            return;
        }
        if self.last.is_some_and(|last| (row, col) <= last) {
            let mut cells = self.take_cells();
            cells.push((row, col, value));
            self.unordered = Some(cells);
            return;
        }
        let store = &mut self.store;
        if self.last.is_none_or(|(last_row, _)| last_row != row) {
            store.rows.push((row, store.values.len()));
        }
        if store.values.is_empty() || col < store.first_column {
            store.first_column = col;
        }
        store.values.push(value);
        store.columns.push(col);
        self.last = Some((row, col));
    }

    /// The cells stored so far, emptying the store.
    fn take_cells(&mut self) -> Vec<(u32, u32, Data)> {
        let store = std::mem::take(&mut self.store);
        let mut cells = Vec::with_capacity(store.values.len() + 1);
        let mut values = store.values.into_iter().zip(store.columns);
        for (i, &(row, start)) in store.rows.iter().enumerate() {
            let end = store.rows.get(i + 1).map_or(usize::MAX, |&(_, next)| next);
            for (value, col) in values.by_ref().take(end.saturating_sub(start)) {
                cells.push((row, col, value));
            }
        }
        self.last = None;
        cells
    }

    /// Moves a calamine range's non-empty cells in, and, given the sheet's `formulas`, its
    /// empty cells that hold a formula, as [`Data::Empty`]: formulas never calculated (read as
    /// [`CellRef::Uncalculated`]). A number its format pads with zeros (`padding`) is kept as
    /// the text shown, as [`Self::push_padded`] does.
    fn take_range(
        &mut self,
        range: &mut Range<Data>,
        formulas: Option<&Range<String>>,
        padding: &Padding,
    ) {
        let Some((top, left)) = range.start() else {
            return;
        };
        for r in 0..range.height() {
            for (c, value) in range[r].iter_mut().enumerate() {
                let (Ok(r32), Ok(c32)) = (u32::try_from(r), u32::try_from(c)) else {
                    continue;
                };
                let (row, col) = (top + r32, left + c32);
                let padded = match &*value {
                    Data::Int(i) if !padding.is_empty() => Some(*i),
                    Data::Float(f) if !padding.is_empty() => whole_number(*f),
                    _ => None,
                }
                .and_then(|n| zero_padded(n, padding.width((row, col))?));
                if let Some(text) = padded {
                    self.push(row, col, Data::String(text));
                } else if !matches!(value, Data::Empty) {
                    self.push(row, col, std::mem::take(value));
                } else if formulas.is_some_and(|formulas| has_formula(formulas, (row, col))) {
                    self.push(row, col, Data::Empty);
                }
            }
        }
    }

    fn finish(mut self) -> Store {
        let Some(mut cells) = self.unordered.take() else {
            return self.store;
        };
        // Stable: of two cells at one position, the one given later stays later.
        cells.sort_by_key(|&(row, col, _)| (row, col));
        let mut ordered = StoreBuilder::default();
        let mut cells = cells.into_iter().peekable();
        while let Some((row, col, value)) = cells.next() {
            if cells
                .peek()
                .is_some_and(|next| (next.0, next.1) == (row, col))
            {
                continue;
            }
            ordered.push(row, col, value);
        }
        ordered.store
    }
}

/// A float that is a whole number below 10^15 in size, as an integer.
fn whole_number(f: f64) -> Option<i64> {
    // In range by the check, so the cast is exact.
    #[allow(clippy::cast_possible_truncation)]
    (f.fract() == 0.0 && f.abs() < 1e15).then_some(f as i64)
}

/// What a zero-padding format of `width` digits shows for `n`: only whole numbers from 0 to
/// below 10^15 are padded; a longer one has lost digits already and stays a number, for the
/// id rules to call it mangled.
fn zero_padded(n: i64, width: usize) -> Option<String> {
    (0..1_000_000_000_000_000)
        .contains(&n)
        .then(|| format!("{n:0width$}"))
}

/// Most bytes every part of a workbook together may inflate to. A million-row sheet of twenty
/// columns is under 1 GiB of XML; past this, calamine's parsed range alone would not fit.
const MAX_INFLATED_TOTAL: u64 = 2 << 30;
/// Parts above this inflated size must also stay under [`MAX_RATIO`].
const RATIO_CHECKED_ABOVE: u64 = 64 << 20;
/// Real sheet XML compresses 3–30 times (the shared 491k-blank-row file: 10); zeros or one
/// repeated tag compress about 1000 times, which only a bomb has reason to do at this size.
const MAX_RATIO: u64 = 200;

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const OLE_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
/// The stream an encrypted OOXML package keeps in its OLE container, as the UTF-16LE name
/// the container's directory stores.
const ENCRYPTED_PACKAGE_UTF16: &[u8] = b"E\0n\0c\0r\0y\0p\0t\0e\0d\0P\0a\0c\0k\0a\0g\0e\0";

/// An ODS sheet whose used area, from its first filled cell to its last, is more than
/// calamine holds (it reads ODS by that area, not by the cells filled): a whole, sound file, so
/// not "corrupt", and the usual cause is a stray value far from the table.
fn too_large(file: &Arc<str>, e: &calamine::Error) -> Option<SourceError> {
    match e {
        calamine::Error::Ods(calamine::OdsError::CellLimitExceeded { requested, max }) => {
            Some(SourceError::TooLarge {
                file: file.to_string(),
                message: format!(
                    "a sheet's used area, from its first filled cell to its last, is {requested} \
                     cells, more than the {max} an ODS sheet may have here; a value far to the \
                     right of or below the table usually causes it: delete it (Ctrl+End shows \
                     where the sheet ends), or save the sheet as XLSX or CSV"
                ),
            })
        }
        _ => None,
    }
}

/// Refuses, before calamine sees them, workbooks that would inflate without bound and
/// password-protected ones. Other damage is left for calamine to report.
fn guard(file: &Arc<str>, path: &Path) -> Result<(), SourceError> {
    let io_err = |e: std::io::Error| SourceError::Io {
        file: file.to_string(),
        message: e.to_string(),
    };
    // The first 4 KiB: the magic number, or text where a workbook should be.
    let mut head = Vec::with_capacity(4096);
    File::open(path)
        .map_err(io_err)?
        .take(4096)
        .read_to_end(&mut head)
        .map_err(io_err)?;
    if head.starts_with(ZIP_MAGIC) {
        let archive = zip::ZipArchive::new(File::open(path).map_err(io_err)?).map_err(|e| {
            SourceError::Workbook {
                file: file.to_string(),
                message: e.to_string(),
            }
        })?;
        let mut archive = archive;
        let mut parts = Vec::with_capacity(archive.len());
        for i in 0..archive.len() {
            // by_index_raw reads only the entry's headers, never its data.
            let entry = archive.by_index_raw(i).map_err(|e| SourceError::Workbook {
                file: file.to_string(),
                message: e.to_string(),
            })?;
            let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
            parts.push((name, entry.compressed_size(), entry.size()));
        }
        check_inflation(&parts).map_err(|message| SourceError::TooLarge {
            file: file.to_string(),
            message,
        })?;
    } else if head.starts_with(OLE_MAGIC) && holds_encrypted_package(path).map_err(io_err)? {
        return Err(SourceError::PasswordProtected(file.to_string()));
    } else if head.starts_with(OLE_MAGIC) {
        // Found by the workbook_read fuzz target: a sector chain that loops back on itself
        // made calamine's OLE reader grow one buffer until the machine ran out of memory. The
        // `cfb` crate follows chains with a check for loops: a container it can't open is
        // damaged.
        let opened = std::panic::catch_unwind(|| {
            File::open(path).map(|f| cfb::CompoundFile::open(f).map(|_| ()))
        });
        match opened {
            Ok(Ok(Ok(()))) => {}
            Ok(Err(e)) => return Err(io_err(e)),
            Ok(Ok(Err(e))) => {
                return Err(SourceError::Workbook {
                    file: file.to_string(),
                    message: format!("its OLE container is damaged ({e})"),
                });
            }
            Err(_) => {
                return Err(SourceError::Workbook {
                    file: file.to_string(),
                    message: String::from("its OLE container is damaged"),
                });
            }
        }
    } else if !head.starts_with(OLE_MAGIC) && looks_like_text(&head) {
        // A CSV renamed .xlsx, or a web page saved as .xls: calamine would only say its zip
        // or OLE structure is broken.
        return Err(SourceError::TextNamedAsWorkbook(file.to_string()));
    }
    Ok(())
}

/// Whether an XLSX workbook asks to be calculated in full when opened
/// (`<calcPr fullCalcOnLoad="1"/>`): what programs that save formulas without calculating them
/// set, XlsxWriter with 0 as every formula's value. Excel and LibreOffice save the values they
/// calculated, and don't set it. A workbook part that can't be read says no: calamine reports
/// the damage.
fn calculated_on_load(path: &Path) -> bool {
    /// More than any `workbook.xml` holds before its `calcPr` (sheet names, defined names).
    const MAX_READ: u64 = 8 << 20;
    let Ok(mut archive) = File::open(path).map(zip::ZipArchive::new) else {
        return false;
    };
    let Ok(Ok(part)) = archive.as_mut().map(|a| a.by_name("xl/workbook.xml")) else {
        return false;
    };
    let mut xml = Vec::new();
    if part.take(MAX_READ).read_to_end(&mut xml).is_err() {
        return false;
    }
    // The element, `<calcPr …>` or `<x:calcPr …>`, with any white space inside, not a sheet
    // named "calcPr" (whose name would be text, after a `"`).
    let tag = memchr::memmem::find_iter(&xml, b"calcPr").find_map(|at| {
        let before = xml.get(..at)?.last().copied();
        let after = xml.get(at + "calcPr".len()..)?;
        let element = matches!(before, Some(b'<' | b':'))
            && after.first().is_some_and(|b| b.is_ascii_whitespace());
        element.then(|| &after[..after.iter().position(|&b| b == b'>').unwrap_or(after.len())])
    });
    let Some(tag) = tag else {
        return false;
    };
    let tag: Vec<u8> = tag
        .iter()
        .filter(|b| !b.is_ascii_whitespace())
        .map(|&b| if b == b'\'' { b'"' } else { b })
        .collect();
    [&b"fullCalcOnLoad=\"1\""[..], b"fullCalcOnLoad=\"true\""]
        .iter()
        .any(|attr| memchr::memmem::find(&tag, attr).is_some())
}

/// Whether a file's first bytes read as text: something, and no NUL nor other control byte
/// than tab and line ends (which any workbook's binary header has).
fn looks_like_text(head: &[u8]) -> bool {
    let controls = head
        .iter()
        .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'));
    !head.is_empty() && !controls
}

/// `parts` are (name, compressed size, inflated size) as the zip's central directory states them.
fn check_inflation(parts: &[(String, u64, u64)]) -> Result<(), String> {
    let mut total: u64 = 0;
    for (name, compressed, inflated) in parts {
        if *inflated > RATIO_CHECKED_ABOVE && *inflated / (*compressed).max(1) > MAX_RATIO {
            return Err(format!(
                "part {name} would inflate from {compressed} to {inflated} bytes ({}x); \
                 that is a decompression bomb, not a spreadsheet",
                *inflated / (*compressed).max(1)
            ));
        }
        total = total.saturating_add(*inflated);
    }
    if total > MAX_INFLATED_TOTAL {
        return Err(format!(
            "it would inflate to {total} bytes, more than the {MAX_INFLATED_TOTAL} this tool \
             reads; split it into smaller files"
        ));
    }
    Ok(())
}

/// Whether an OLE container names an `EncryptedPackage` stream (an encrypted xlsx/xlsm/xlsb).
/// Scans in chunks with an overlap, so memory stays flat whatever the file's size.
fn holds_encrypted_package(path: &Path) -> std::io::Result<bool> {
    let mut file = File::open(path)?;
    let overlap = ENCRYPTED_PACKAGE_UTF16.len();
    let mut buf = vec![0u8; 1 << 20];
    let mut kept = 0;
    loop {
        // kept ≤ 32 bytes of a 1 MiB buffer and filled ≤ its length: every slice is in bounds.
        let n = file.read(&mut buf[kept..])?;
        if n == 0 {
            return Ok(false);
        }
        let filled = kept + n;
        let window = &buf[..filled];
        if window
            .windows(overlap)
            .any(|w| w == ENCRYPTED_PACKAGE_UTF16)
        {
            return Ok(true);
        }
        kept = overlap.min(filled);
        buf.copy_within(filled - kept..filled, 0);
    }
}

impl SheetRows {
    pub(super) fn describe(&self) -> String {
        format!("{} sheet '{}'", self.kind, self.sheet)
    }

    pub(super) fn restart(&self) -> SheetRows {
        SheetRows {
            store: self.store.clone(),
            next: self.first,
            first: self.first,
            kind: self.kind,
            sheet: self.sheet.clone(),
            unread: self.unread.clone(),
            hidden: self.hidden.clone(),
        }
    }

    /// The 0-based sheet column that is column 0 of every row.
    pub(super) fn first_column(&self) -> usize {
        self.store.first_column as usize
    }

    /// Makes the row after the last one read where `restart` starts: the header moved down.
    pub(super) fn start_here(&mut self) {
        self.first = self.next;
    }

    /// The sheets not read, when the workbook has others after the one read.
    pub(super) fn unread(&self) -> &[String] {
        &self.unread
    }

    /// The hidden sheets passed over (no `--sheet`).
    pub(super) fn hidden(&self) -> &[String] {
        &self.hidden
    }

    pub(super) fn next_row(&mut self) -> Option<Row<'_>> {
        let index = self.store.first_data_row(self.next)?;
        self.next = index + 1;
        let (number, cells) = self.store.row(index)?;
        Some(Row {
            number,
            cells: Cells::Sheet(cells),
        })
    }
}

/// Excel's serial for 10000-01-01: date cells at or past it (or negative) are not dates.
const EXCEL_SERIAL_END: f64 = 2_958_466.0;

/// A calamine cell as the pipeline sees it.
pub(super) fn cell_ref(data: &Data) -> CellRef<'_> {
    match data {
        // Never kept for a cell without a value (`StoreBuilder` passes those over): the mark
        // of a formula never calculated (`Store::mark_uncalculated`).
        Data::Empty => CellRef::Uncalculated,
        Data::String(s) if is_blank(s) => CellRef::Empty,
        Data::String(s) => CellRef::Text(s),
        Data::Float(f) => CellRef::Number(SheetNumber(*f)),
        // Integers beyond 2^53 lose digits here; ids that long were already mangled by the
        // spreadsheet (15 significant digits), and the id parser rejects them.
        Data::Int(i) => CellRef::Number(SheetNumber(*i as f64)),
        Data::Bool(b) => CellRef::Bool(*b),
        Data::DateTime(dt) => {
            let serial = dt.as_f64();
            // calamine's conversion panics far outside Excel's range, so only call it inside.
            if dt.is_datetime() && serial.is_finite() && (0.0..EXCEL_SERIAL_END).contains(&serial) {
                match dt.as_datetime() {
                    Some(ndt) => CellRef::DateTime(ndt),
                    None => CellRef::Number(SheetNumber(serial)),
                }
            } else {
                CellRef::Number(SheetNumber(serial))
            }
        }
        Data::DateTimeIso(s) => parse_iso_cell(s).map_or(CellRef::Text(s), CellRef::DateTime),
        Data::DurationIso(s) => CellRef::Text(s),
        Data::Error(e) => CellRef::Error(error_text(e)),
    }
}

/// ODS stores dates as ISO text ("2024-01-31" or "2024-01-31T10:00:00").
fn parse_iso_cell(s: &str) -> Option<chrono::NaiveDateTime> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_time(chrono::NaiveTime::MIN))
        })
}

fn error_text(e: &CellErrorType) -> &'static str {
    match e {
        CellErrorType::Div0 => "#DIV/0!",
        CellErrorType::NA => "#N/A",
        CellErrorType::Name => "#NAME?",
        CellErrorType::Null => "#NULL!",
        CellErrorType::Num => "#NUM!",
        CellErrorType::Ref => "#REF!",
        CellErrorType::Value => "#VALUE!",
        CellErrorType::GettingData => "#GETTING_DATA",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(name: &str, compressed: u64, inflated: u64) -> (String, u64, u64) {
        (name.to_string(), compressed, inflated)
    }

    #[test]
    fn real_workbooks_pass_the_inflation_check() {
        // The shared 51k-row file: 34 MB of sheet XML zipped to 3.3 MB.
        let parts = [
            part("xl/worksheets/sheet1.xml", 3_313_812, 34_279_181),
            part("xl/sharedStrings.xml", 39_241, 158_281),
        ];
        assert!(check_inflation(&parts).is_ok());
        // Small parts may compress as well as they like.
        assert!(check_inflation(&[part("xl/styles.xml", 10, 60 << 20)]).is_ok());
    }

    #[test]
    fn bombs_fail_the_inflation_check() {
        let ratio = check_inflation(&[part("xl/worksheets/sheet1.xml", 2 << 20, 2 << 30)]);
        assert!(ratio.is_err_and(|m| m.contains("decompression bomb")));
        // Compressing only 10:1 but 3 GiB in all.
        let total = check_inflation(&[
            part("a.xml", 150 << 20, 1536 << 20),
            part("b.xml", 150 << 20, 1536 << 20),
        ]);
        assert!(total.is_err_and(|m| m.contains("split it")));
        // A stored size of zero does not divide by zero.
        assert!(check_inflation(&[part("z.xml", 0, 1 << 30)]).is_err());
        assert!(check_inflation(&[part("z.xml", 0, u64::MAX), part("y", 0, u64::MAX)]).is_err());
    }

    fn text(row: SheetRow<'_>, col: usize) -> Option<String> {
        row.get(col).map(|d| d.to_string())
    }

    #[test]
    fn a_store_keeps_only_the_cells_a_sheet_holds() {
        let mut b = StoreBuilder::default();
        b.push(0, 2, Data::String("h".into()));
        b.push(0, 3, Data::String("i".into()));
        b.push(4, 3, Data::Float(1.5));
        b.push(1_048_575, 16_383, Data::Int(7));
        let store = b.finish();
        assert_eq!(store.values.len(), 4);
        assert_eq!(store.first_column, 2);
        let (number, row) = store.row(0).unwrap();
        assert_eq!((number, row.len()), (1, 2));
        assert_eq!(text(row, 0).as_deref(), Some("h"));
        assert_eq!(text(row, 1).as_deref(), Some("i"));
        assert_eq!(text(row, 2), None);
        let (number, row) = store.row(1).unwrap();
        assert_eq!((number, row.len()), (5, 2));
        assert_eq!(text(row, 0), None);
        assert_eq!(text(row, 1).as_deref(), Some("1.5"));
        let (number, row) = store.row(2).unwrap();
        assert_eq!((number, row.len()), (1_048_576, 16_382));
        assert_eq!(text(row, 16_381).as_deref(), Some("7"));
        assert_eq!(text(row, usize::MAX), None);
        assert!(store.row(3).is_none());
    }

    #[test]
    fn cells_out_of_order_are_sorted_and_the_later_of_two_wins() {
        let mut b = StoreBuilder::default();
        b.push(2, 0, Data::Int(3));
        b.push(2, 1, Data::Int(4));
        b.push(0, 1, Data::Int(2));
        b.push(0, 0, Data::Int(1));
        b.push(2, 1, Data::Int(5));
        let store = b.finish();
        let rows: Vec<(u64, Vec<Option<String>>)> = (0..store.rows.len())
            .filter_map(|i| store.row(i))
            .map(|(n, row)| (n, (0..row.len()).map(|c| text(row, c)).collect()))
            .collect();
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            rows,
            [
                (1, vec![some("1"), some("2")]),
                (3, vec![some("3"), some("5")])
            ]
        );
    }

    #[test]
    fn only_plain_zero_padding_formats_pad() {
        assert_eq!(zero_padding("000000"), Some(6));
        assert_eq!(zero_padding("#0000;-0000"), Some(4));
        for code in [
            "General",
            "0",
            "0.00",
            "#,##0",
            "00.0",
            "\"NF\"000",
            "[Red]000",
            "@",
            "",
        ] {
            assert_eq!(zero_padding(code), None, "{code}");
        }
    }

    #[test]
    fn blank_rows_are_passed_over() {
        let mut b = StoreBuilder::default();
        b.push(0, 0, Data::String("  ".into()));
        b.push(1, 0, Data::String("Order".into()));
        b.push(2, 5, Data::String("".into()));
        b.push(3, 0, Data::Int(1));
        let store = b.finish();
        assert_eq!(store.first_data_row(0), Some(1));
        assert_eq!(store.first_data_row(2), Some(3));
        assert_eq!(store.first_data_row(4), None);
    }

    /// Found by a review: a row of formulas never calculated was passed over as blank, and a
    /// placeholder 0 under a zero-padding format (`000000`) read as the id `000000`.
    #[test]
    fn formulas_never_calculated_are_marked_and_their_rows_kept() {
        let mut b = StoreBuilder::default();
        b.push(0, 0, Data::String("Order".into()));
        b.push(1, 0, Data::Empty); // a formula with no value
        b.push(1, 1, Data::Empty); // an empty entry, no formula
        b.push(2, 0, Data::String("000000".into())); // a padded placeholder 0
        b.push(2, 1, Data::Int(0)); // a placeholder 0
        b.push(2, 2, Data::Int(0)); // a plain 0
        b.push(2, 3, Data::Float(7.0)); // a formula with its value
        let mut store = b.finish();
        let mut formulas = Range::new((0, 0), (2, 3));
        for at in [(1, 0), (2, 0), (2, 1), (2, 3)] {
            formulas.set_value(at, String::from("A1+1"));
        }
        fn cells(store: &Store, i: usize) -> Vec<Option<CellRef<'_>>> {
            let (_, row) = store.row(i).unwrap();
            (0..4).map(|c| row.get(c).map(cell_ref)).collect()
        }
        store.mark_uncalculated(&formulas, true);
        assert_eq!(
            cells(&store, 1),
            [
                Some(CellRef::Uncalculated),
                Some(CellRef::Empty),
                None,
                None
            ]
        );
        assert_eq!(
            cells(&store, 2),
            [
                Some(CellRef::Uncalculated),
                Some(CellRef::Uncalculated),
                Some(CellRef::Number(SheetNumber(0.0))),
                Some(CellRef::Number(SheetNumber(7.0))),
            ]
        );
        // A row of formulas never calculated is a row, not a blank line.
        assert_eq!(store.first_data_row(1), Some(1));
        // Not calculated on load: zeros are zeros.
        let mut b = StoreBuilder::default();
        b.push(2, 1, Data::Int(0));
        let mut store = b.finish();
        store.mark_uncalculated(&formulas, false);
        assert_eq!(
            // Column 0 of the row: the sheet's first filled column is B.
            store.row(0).unwrap().1.get(0).map(cell_ref),
            Some(CellRef::Number(SheetNumber(0.0)))
        );
    }

    #[test]
    fn a_range_moves_in_at_its_place_on_the_sheet() {
        let mut range = Range::new((3, 1), (4, 2));
        range.set_value((3, 1), Data::Int(1));
        range.set_value((4, 2), Data::Int(2));
        let mut b = StoreBuilder::default();
        b.take_range(&mut range, None, &Padding::default());
        let store = b.finish();
        assert_eq!(store.first_column, 1);
        assert_eq!(store.rows, [(3, 0), (4, 1)]);
        assert_eq!(store.columns, [1, 2]);
    }

    /// An XLS's or ODS's number shown zero-padded is kept as the text shown, as an XLSX's is
    /// (`push_padded`): only whole numbers from 0 to below 10^15.
    #[test]
    fn a_range_keeps_the_numbers_its_formats_pad_as_shown() {
        let mut range = Range::new((2, 1), (2, 7));
        let values = [
            Data::Float(123.0),
            Data::Int(17),
            Data::Float(12.5),
            Data::Float(-4.0),
            Data::Float(1e15),
            Data::String("9".into()),
            Data::Float(1234567.0),
        ];
        for (c, value) in (1..).zip(values) {
            range.set_value((2, c), value);
        }
        let padding = Padding::from_cells((1..8).map(|c| (2, c, 6)).collect());
        let mut b = StoreBuilder::default();
        b.take_range(&mut range, None, &padding);
        let store = b.finish();
        let (_, row) = store.row(0).unwrap();
        let cells: Vec<CellRef<'_>> = (0..7).map(|c| cell_ref(row.get(c).unwrap())).collect();
        assert_eq!(
            cells,
            [
                CellRef::Text("000123"),
                CellRef::Text("000017"),
                CellRef::Number(SheetNumber(12.5)),
                CellRef::Number(SheetNumber(-4.0)),
                CellRef::Number(SheetNumber(1e15)),
                CellRef::Text("9"),
                CellRef::Text("1234567"),
            ]
        );
    }

    #[test]
    fn encrypted_package_name_is_found_across_chunk_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        for at in [0, 100, (1 << 20) - 7, (1 << 20) + 3, 3 << 20] {
            let mut bytes = OLE_MAGIC.to_vec();
            bytes.resize(at + 8, 0);
            bytes.extend_from_slice(ENCRYPTED_PACKAGE_UTF16);
            bytes.resize(bytes.len() + 100, 0);
            let path = dir.path().join(format!("f{at}.xlsx"));
            std::fs::write(&path, &bytes).unwrap();
            assert!(holds_encrypted_package(&path).unwrap(), "at {at}");
        }
        let path = dir.path().join("plain.xls");
        std::fs::write(&path, vec![7u8; 3 << 20]).unwrap();
        assert!(!holds_encrypted_package(&path).unwrap());
    }
}
