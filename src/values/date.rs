//! Date text and cells → full ISO 8601 timestamps with an offset, which VTEX wants. A reading
//! keeps the parsed fields (not text) so the column can settle day/month order after the pass.
//!
//! Accepted: ISO 8601 (`2024-01-31`, `2024-01-31T18:25:43`, with `Z` or `-03:00`, a space for
//! `T`, fractional seconds, which are dropped), `yyyy/mm/dd`, and `d/m/yyyy` or `m/d/yyyy` with
//! `/`, `-` or `.` and an optional `H:MM[:SS]` time with optional AM/PM. Years must have four
//! digits: a two-digit year is an error rather than a guess. Values without an offset take the
//! given time zone; a local time inside a DST gap is an error, one inside a fold is the earlier.

use std::fmt;

use chrono::{
    DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, SecondsFormat,
    TimeZone,
};
use chrono_tz::Tz;

use crate::source::CellRef;

/// Which number comes first in `03/04/2024`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayOrder {
    DayFirst,
    MonthFirst,
}

impl DayOrder {
    /// "day/month/year" or "month/day/year", for messages.
    pub fn layout(self) -> &'static str {
        match self {
            DayOrder::DayFirst => "day/month/year",
            DayOrder::MonthFirst => "month/day/year",
        }
    }
}

/// A `--date-format`: just the order, year first (ISO 8601), or a full chrono pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateFormat {
    Order(DayOrder),
    /// `yyyy-mm-dd`: every date is written year first (with `-`, `/` or `.`), with or without
    /// a time; a day/month date is an error rather than a guess.
    YearFirst,
    Pattern(String),
}

/// Parses `--date-format`: "dd/mm/yyyy", "dmy", "mm/dd/yyyy", "mdy" or a chrono strftime
/// pattern containing '%'.
pub fn parse_date_format(s: &str) -> Result<DateFormat, String> {
    let t = s.trim();
    if t.contains('%') {
        // A pattern chrono can't read (`%Q`) would fail every row with the same message.
        let items = chrono::format::StrftimeItems::new(t);
        if items
            .into_iter()
            .any(|item| matches!(item, chrono::format::Item::Error))
        {
            return Err(format!(
                "'{s}' is not a strftime pattern chrono knows (such as %d/%m/%Y %H:%M); see \
                 https://docs.rs/chrono/latest/chrono/format/strftime/"
            ));
        }
        // A date needs its day, month and year, unless one specifier gives them all.
        let has = |specs: &[&str]| specs.iter().any(|spec| t.contains(spec));
        let whole = has(&["%F", "%D", "%x", "%c", "%s", "%+", "%v"]);
        let parts = has(&["%d", "%e"]) && has(&["%m", "%b", "%B", "%h"]) && has(&["%Y", "%y"]);
        if !whole && !parts {
            return Err(format!(
                "'{s}' does not give a whole date: it needs the day (%d), the month (%m) and the \
                 year (%Y)"
            ));
        }
        return Ok(DateFormat::Pattern(t.to_string()));
    }
    let key: String = t
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match key.as_str() {
        "ddmmyyyy" | "dmy" | "ddmmyy" | "dmyyyy" => Ok(DateFormat::Order(DayOrder::DayFirst)),
        "mmddyyyy" | "mdy" | "mmddyy" | "mdyyyy" => Ok(DateFormat::Order(DayOrder::MonthFirst)),
        "yyyymmdd" | "ymd" | "iso" => Ok(DateFormat::YearFirst),
        _ => Err(format!(
            "'{s}' is not a date format; use dd/mm/yyyy, mm/dd/yyyy, yyyy-mm-dd or a strftime \
             pattern like %d.%m.%Y %H:%M"
        )),
    }
}

/// What one value says about its column's day/month order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Evidence {
    /// ISO, a date cell, or the same number twice (04/04).
    Neutral,
    /// 13/02/2024.
    DayFirst,
    /// 02/13/2024.
    MonthFirst,
    /// 03/04/2024.
    Ambiguous,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `a` is the month and `b` the day.
    Fixed,
    /// `a` and `b` as written in d/m or m/d form; the column's order decides.
    Either,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    Offset(i32),
    Named(Tz),
}

/// One parsed date: fields plus zone, no text (20 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateReading {
    year: i32,
    a: u8,
    b: u8,
    hour: u8,
    minute: u8,
    second: u8,
    layout: Layout,
    zone: Zone,
}

/// Why a value is not a date. Messages stand alone after "file, sheet, row, column: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("no date given")]
    Empty,
    #[error(
        "'{0}' is not a date; use 2024-01-31, 31/01/2024 or 01/31/2024, optionally with a time"
    )]
    NotADate(String),
    #[error("'{0}' has a two-digit year; write the year with four digits")]
    TwoDigitYear(String),
    #[error("{0} is not a real date")]
    Impossible(String),
    #[error("{0} can't be {1}, but the other dates in this column are")]
    WrongOrder(String, &'static str),
    #[error("{0} can't be {1}, the date format given")]
    AgainstFormat(String, &'static str),
    #[error("'{0}' has an impossible time")]
    BadTime(String),
    #[error("'{0}' has an impossible UTC offset")]
    BadOffset(String),
    #[error("{0} does not exist in time zone {1} (clocks jump forward then)")]
    DstGap(String, String),
    #[error("'{0}' doesn't match the date format '{1}'")]
    PatternMismatch(String, String),
    #[error("number {0} is not a spreadsheet date")]
    NotASerial(String),
    #[error("the cell holds a time ({0}) but no date")]
    TimeOnly(String),
    #[error(
        "{0} is in January or February 1900, where spreadsheets start counting days: not a real \
         date (a number in a date column?)"
    )]
    Before1900March(String),
    #[error("{0} is a formula error, not a date")]
    FormulaError(String),
    #[error("{}", crate::source::UNCALCULATED)]
    Uncalculated,
    #[error("'{0}' is a true/false cell, not a date")]
    Bool(String),
    #[error(
        "{0} is outside the years an invoice can have ({1} to {2}): a mistyped year, or a number \
         in a date column?"
    )]
    UnlikelyYear(String, i32, i32),
}

/// The first year an invoice's date may have; the last is next year.
pub const FIRST_YEAR: i32 = 2000;

/// Next year, by this machine's clock: the last year an invoice's date may have.
pub fn last_year() -> i32 {
    use chrono::Datelike;
    static LAST: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *LAST.get_or_init(|| chrono::Utc::now().year().saturating_add(1))
}

impl DateReading {
    fn from_naive(dt: NaiveDateTime, zone: Zone) -> DateReading {
        use chrono::{Datelike, Timelike};
        // chrono guarantees month/day/hour/minute/second ranges that fit a u8.
        DateReading {
            year: dt.year(),
            a: dt.month() as u8,
            b: dt.day() as u8,
            hour: dt.hour() as u8,
            minute: dt.minute() as u8,
            second: dt.second() as u8,
            layout: Layout::Fixed,
            zone,
        }
    }

    pub fn evidence(&self) -> Evidence {
        match self.layout {
            Layout::Fixed => Evidence::Neutral,
            Layout::Either if self.a == self.b => Evidence::Neutral,
            Layout::Either if self.a > 12 => Evidence::DayFirst,
            Layout::Either if self.b > 12 => Evidence::MonthFirst,
            Layout::Either => Evidence::Ambiguous,
        }
    }

    /// For an [`Evidence::Ambiguous`] reading, its two dates: "01/02/2024 could be 2024-02-01
    /// (day first) or 2024-01-02 (month first)".
    pub fn both_ways(&self) -> String {
        let date = format!("{:02}/{:02}/{:04}", self.a, self.b, self.year);
        format!(
            "{date} could be {y:04}-{b:02}-{a:02} (day first) or {y:04}-{a:02}-{b:02} (month first)",
            y = self.year,
            a = self.a,
            b = self.b
        )
    }

    /// The value as written, for messages.
    fn shown(&self) -> String {
        let time = if (self.hour, self.minute, self.second) == (0, 0, 0) {
            String::new()
        } else {
            format!(" {:02}:{:02}:{:02}", self.hour, self.minute, self.second)
        };
        match self.layout {
            Layout::Fixed => format!("{:04}-{:02}-{:02}{time}", self.year, self.a, self.b),
            Layout::Either => format!("{:02}/{:02}/{:04}{time}", self.a, self.b, self.year),
        }
    }

    /// [`Self::timestamp`], for an invoice: its year must be from [`FIRST_YEAR`] to
    /// [`last_year`]. Outside them it is a slip (`0026`, `2062`) or a number read as a date.
    pub fn invoice_timestamp(&self, order: DayOrder) -> Result<DateTime<FixedOffset>, DateError> {
        use chrono::Datelike;
        let t = self.timestamp(order)?;
        if (FIRST_YEAR..=last_year()).contains(&t.year()) {
            Ok(t)
        } else {
            Err(DateError::UnlikelyYear(
                self.shown(),
                FIRST_YEAR,
                last_year(),
            ))
        }
    }

    /// The timestamp when `order` is the column's day/month order.
    pub fn timestamp(&self, order: DayOrder) -> Result<DateTime<FixedOffset>, DateError> {
        let (month, day) = match (self.layout, order) {
            (Layout::Fixed, _) | (Layout::Either, DayOrder::MonthFirst) => (self.a, self.b),
            (Layout::Either, DayOrder::DayFirst) => (self.b, self.a),
        };
        let Some(date) = NaiveDate::from_ymd_opt(self.year, u32::from(month), u32::from(day))
        else {
            // A value that reads fine the other way round is a minority value, not a typo.
            let other = match order {
                DayOrder::DayFirst => (self.a, self.b),
                DayOrder::MonthFirst => (self.b, self.a),
            };
            let other_ok = self.layout == Layout::Either
                && NaiveDate::from_ymd_opt(self.year, u32::from(other.0), u32::from(other.1))
                    .is_some();
            return Err(if other_ok {
                DateError::WrongOrder(self.shown(), order.layout())
            } else {
                DateError::Impossible(self.shown())
            });
        };
        let time = NaiveTime::from_hms_opt(
            u32::from(self.hour),
            u32::from(self.minute),
            u32::from(self.second),
        )
        .ok_or_else(|| DateError::BadTime(self.shown()))?;
        let local = date.and_time(time);
        match self.zone {
            Zone::Offset(secs) => FixedOffset::east_opt(secs)
                .and_then(|off| off.from_local_datetime(&local).single())
                .ok_or_else(|| DateError::BadOffset(self.shown())),
            Zone::Named(tz) => match tz.from_local_datetime(&local) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Ok(t.fixed_offset()),
                // Midnight skipped by the clocks (São Paulo's summer time began at midnight until
                // 2018): a date without a time, or at 00:00, is the day's first instant.
                LocalResult::None if time == NaiveTime::MIN => start_of_day(tz, local)
                    .ok_or_else(|| DateError::DstGap(self.shown(), tz.name().to_string())),
                LocalResult::None => Err(DateError::DstGap(self.shown(), tz.name().to_string())),
            },
        }
    }
}

/// The first instant of the day of `midnight`, a local time the clocks skipped: the offset
/// before the jump, taken a day earlier, puts it at the jump's end.
fn start_of_day(tz: Tz, midnight: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
    let before = tz
        .from_local_datetime(&(midnight - chrono::Duration::days(1)))
        .earliest()?
        .offset()
        .fix();
    let utc = midnight.checked_sub_signed(chrono::Duration::seconds(i64::from(
        before.local_minus_utc(),
    )))?;
    let t = tz.from_utc_datetime(&utc);
    // Past the jump and still on the day asked for.
    (t.date_naive() == midnight.date()).then(|| t.fixed_offset())
}

impl DateError {
    /// The error with the value as the cell has it where [`DateReading::timestamp`] shows its
    /// reading, which is year first once a format has fixed a day/month date's order.
    fn with_written(self, text: &str) -> DateError {
        match self {
            DateError::Impossible(_) => DateError::Impossible(text.to_string()),
            DateError::BadTime(_) => DateError::BadTime(text.to_string()),
            DateError::BadOffset(_) => DateError::BadOffset(text.to_string()),
            DateError::DstGap(_, zone) => DateError::DstGap(text.to_string(), zone),
            e => e,
        }
    }
}

/// A small cursor over ASCII-ish text.
struct Scan<'a> {
    s: &'a [u8],
    i: usize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Up to `max` digits (the caller checks what follows); `None` when there are none.
    fn number(&mut self, max: usize) -> Option<(u32, usize)> {
        let start = self.i;
        let mut v: u32 = 0;
        while let Some(b) = self.peek().filter(u8::is_ascii_digit) {
            if self.i - start == max {
                break;
            }
            v = v * 10 + u32::from(b - b'0');
            self.i += 1;
        }
        let n = self.i - start;
        (n > 0).then_some((v, n))
    }

    fn skip_spaces(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|b| b == b' ' || b == b'\t') {
            self.i += 1;
        }
        self.i - start
    }

    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
}

/// Reads a date or date-time. With `format`, the order is fixed (or the pattern is used).
pub fn read_date(
    text: &str,
    tz: Tz,
    format: Option<&DateFormat>,
) -> Result<DateReading, DateError> {
    let t = super::trim(text);
    if t.is_empty() {
        return Err(DateError::Empty);
    }
    if let Some(DateFormat::Pattern(p)) = format {
        return read_pattern(t, p, tz);
    }
    let not_date = || DateError::NotADate(t.to_string());
    let mut sc = Scan {
        s: t.as_bytes(),
        i: 0,
    };
    let (n1, len1) = sc.number(4).ok_or_else(not_date)?;
    let sep = sc
        .peek()
        .filter(|b| matches!(b, b'/' | b'-' | b'.'))
        .ok_or_else(not_date)?;
    sc.i += 1;
    let (n2, len2) = sc.number(2).ok_or_else(not_date)?;
    if !sc.eat(sep) {
        return Err(not_date());
    }
    let (n3, len3) = sc.number(4).ok_or_else(not_date)?;
    // Small by the digit limits above, so the narrowing casts are exact.
    let mut reading = if len1 == 4 {
        if len3 > 2 {
            return Err(not_date());
        }
        DateReading {
            year: n1 as i32,
            a: n2 as u8,
            b: n3 as u8,
            hour: 0,
            minute: 0,
            second: 0,
            layout: Layout::Fixed,
            zone: Zone::Named(tz),
        }
    } else if len1 <= 2 && len2 <= 2 && len3 == 4 {
        DateReading {
            year: n3 as i32,
            a: n1 as u8,
            b: n2 as u8,
            hour: 0,
            minute: 0,
            second: 0,
            layout: Layout::Either,
            zone: Zone::Named(tz),
        }
    } else if len1 <= 2 && len2 <= 2 && len3 == 2 {
        return Err(DateError::TwoDigitYear(t.to_string()));
    } else {
        return Err(not_date());
    };

    // Time: 'T' (ISO) or spaces, then H:MM[:SS[.frac]] [AM|PM], then an optional offset.
    let had_t = sc.eat(b'T') || sc.eat(b't');
    let spaces = sc.skip_spaces();
    if !sc.done() && (had_t || spaces > 0) {
        let bad_time = || DateError::BadTime(t.to_string());
        let (h, _) = sc.number(2).ok_or_else(not_date)?;
        if !sc.eat(b':') {
            return Err(not_date());
        }
        let (m, lm) = sc.number(2).ok_or_else(not_date)?;
        let mut s = 0;
        if sc.eat(b':') {
            let (secs, ls) = sc.number(2).ok_or_else(not_date)?;
            if ls != 2 {
                return Err(not_date());
            }
            s = secs;
            // Fractional seconds are dropped: VTEX's dates are to the second.
            if sc.eat(b'.') || sc.eat(b',') {
                while sc.peek().is_some_and(|b| b.is_ascii_digit()) {
                    sc.i += 1;
                }
            }
        }
        if lm != 2 || m > 59 || s > 59 {
            return Err(bad_time());
        }
        sc.skip_spaces();
        let rest = t.get(sc.i..).unwrap_or_default();
        let ampm = if rest.len() >= 2 {
            match rest.get(..2).map(str::to_ascii_lowercase).as_deref() {
                Some("am") => Some(false),
                Some("pm") => Some(true),
                _ => None,
            }
        } else {
            None
        };
        let mut h = h;
        if let Some(pm) = ampm {
            sc.i += 2;
            if !(1..=12).contains(&h) {
                return Err(bad_time());
            }
            h = match (pm, h) {
                (false, 12) => 0,
                (true, 12) => 12,
                (true, h) => h + 12,
                (false, h) => h,
            };
        }
        if h > 23 {
            return Err(bad_time());
        }
        (reading.hour, reading.minute, reading.second) = (h as u8, m as u8, s as u8);
        if let Some(offset) =
            read_offset(&mut sc).map_err(|()| DateError::BadOffset(t.to_string()))?
        {
            reading.zone = Zone::Offset(offset);
        }
    } else if had_t {
        return Err(not_date());
    }
    sc.skip_spaces();
    if !sc.done() {
        return Err(not_date());
    }

    // A format fixes how a day/month date reads, or (year first) that there is none.
    match (format, reading.layout) {
        (Some(DateFormat::YearFirst), Layout::Either) => {
            return Err(DateError::PatternMismatch(
                t.to_string(),
                "yyyy-mm-dd".into(),
            ));
        }
        // A date that reads one way only is fixed by the format given; one that reads either
        // way, or only the other way, is left to the column's rule (`DayOrderVote::doubt`):
        // a column that contradicts the format puts the format in doubt, as it does a flag's
        // decimal separator (found by a review: 11/05/2026 went out as 11 May beside 11/25/2026).
        (Some(DateFormat::Order(order)), Layout::Either)
            if matches!(
                (reading.evidence(), order),
                (Evidence::Neutral, _)
                    | (Evidence::DayFirst, DayOrder::DayFirst)
                    | (Evidence::MonthFirst, DayOrder::MonthFirst)
            ) =>
        {
            if *order == DayOrder::DayFirst {
                std::mem::swap(&mut reading.a, &mut reading.b);
            }
            reading.layout = Layout::Fixed;
        }
        _ => {}
    }
    // Errors that hold whatever the order: surface them now, with the value in view, as
    // written (a day/month date a format has fixed would otherwise show year first).
    match reading.layout {
        Layout::Fixed => {
            reading
                .timestamp(DayOrder::MonthFirst)
                .map_err(|e| e.with_written(t))?;
        }
        Layout::Either => {
            // The second order is only tried when the first fails: each try is a time-zone
            // conversion, and most dates are fine read either way.
            if let Err(e) = reading.timestamp(DayOrder::DayFirst)
                && reading.timestamp(DayOrder::MonthFirst).is_err()
            {
                return Err(match e {
                    DateError::WrongOrder(v, _) => DateError::Impossible(v),
                    e => e,
                });
            }
        }
    }
    Ok(reading)
}

/// `Z`, `+HH:MM`, `+HHMM` or `+HH`; `Ok(None)` when there is none.
fn read_offset(sc: &mut Scan<'_>) -> Result<Option<i32>, ()> {
    if sc.eat(b'Z') || sc.eat(b'z') {
        return Ok(Some(0));
    }
    let sign = match sc.peek() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Ok(None),
    };
    sc.i += 1;
    let (hh, lh) = sc.number(2).ok_or(())?;
    let mm = if sc.eat(b':') || sc.peek().is_some_and(|b| b.is_ascii_digit()) {
        let (mm, lm) = sc.number(2).ok_or(())?;
        if lm != 2 {
            return Err(());
        }
        mm
    } else {
        0
    };
    if lh != 2 || hh > 23 || mm > 59 {
        return Err(());
    }
    // Small by the checks above.
    Ok(Some(sign * (hh as i32 * 3600 + mm as i32 * 60)))
}

fn read_pattern(t: &str, pattern: &str, tz: Tz) -> Result<DateReading, DateError> {
    let reading = if let Ok(dt) = DateTime::parse_from_str(t, pattern) {
        DateReading::from_naive(
            dt.naive_local(),
            Zone::Offset(dt.offset().local_minus_utc()),
        )
    } else if let Ok(dt) = NaiveDateTime::parse_from_str(t, pattern) {
        DateReading::from_naive(dt, Zone::Named(tz))
    } else if let Ok(d) = NaiveDate::parse_from_str(t, pattern) {
        DateReading::from_naive(d.and_time(NaiveTime::MIN), Zone::Named(tz))
    } else {
        return Err(DateError::PatternMismatch(
            t.to_string(),
            pattern.to_string(),
        ));
    };
    reading.timestamp(DayOrder::MonthFirst)?;
    Ok(reading)
}

/// A date cell: `Ok(None)` when empty. Date cells and number cells (Excel serials) are Neutral.
pub fn date_from_cell(
    cell: CellRef<'_>,
    tz: Tz,
    format: Option<&DateFormat>,
) -> Result<Option<DateReading>, DateError> {
    let from_naive = |dt: NaiveDateTime| {
        let r = DateReading::from_naive(dt, Zone::Named(tz));
        r.timestamp(DayOrder::MonthFirst).map(|_| Some(r))
    };
    // A time cell (10:00) is a date-time on the spreadsheet's day 0, and a small number (1.5)
    // a day of January 1900: neither is a day anything was issued or sent. Serial 61 is
    // 1900-03-01, the first day every spreadsheet counts alike.
    let spreadsheet_day = |dt: NaiveDateTime| {
        use chrono::Datelike;
        match (dt.year(), dt.month(), dt.day()) {
            (1899, 12, 30 | 31) => Err(DateError::TimeOnly(dt.format("%H:%M").to_string())),
            (1900, 1 | 2, _) => Err(DateError::Before1900March(dt.date().to_string())),
            _ => from_naive(dt),
        }
    };
    match cell {
        CellRef::Empty => Ok(None),
        CellRef::Text(t) if super::trim(t).is_empty() => Ok(None),
        CellRef::Text(t) => read_date(t, tz, format).map(Some),
        CellRef::DateTime(dt) => spreadsheet_day(dt),
        CellRef::Number(n) => match n.to_datetime() {
            Some(dt) => spreadsheet_day(dt),
            None => Err(DateError::NotASerial(n.to_text())),
        },
        CellRef::Bool(b) => Err(DateError::Bool(
            if b { "TRUE" } else { "FALSE" }.to_string(),
        )),
        CellRef::Error(e) => Err(DateError::FormulaError(e.to_string())),
        CellRef::Uncalculated => Err(DateError::Uncalculated),
    }
}

/// Counts a column's evidence; resolves its day/month order after the pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayOrderVote {
    day_first: u64,
    month_first: u64,
    ambiguous: u64,
    /// Dates without an offset, read in the zone given (or the machine's).
    in_zone: u64,
}

/// A column whose day/month order can't be told from its values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AmbiguousDayOrder {
    pub day_first: u64,
    pub month_first: u64,
    pub ambiguous: u64,
}

impl fmt::Display for AmbiguousDayOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.day_first > 0 && self.day_first == self.month_first {
            write!(
                f,
                "as many dates are day-first ({}) as month-first ({}); ",
                self.day_first, self.month_first
            )?;
        } else {
            write!(
                f,
                "can't tell day/month order: {} of the column read{} either way; ",
                crate::report::counted(self.ambiguous, "date", "dates"),
                if self.ambiguous == 1 { "s" } else { "" },
            )?;
        }
        write!(
            f,
            "pass --date-format dd/mm/yyyy or --date-format mm/dd/yyyy"
        )
    }
}

impl DayOrderVote {
    pub fn observe(&mut self, reading: &DateReading) {
        if matches!(reading.zone, Zone::Named(_)) {
            self.in_zone += 1;
        }
        match reading.evidence() {
            Evidence::Neutral => {}
            Evidence::DayFirst => self.day_first += 1,
            Evidence::MonthFirst => self.month_first += 1,
            Evidence::Ambiguous => self.ambiguous += 1,
        }
    }

    pub fn merge(&mut self, other: DayOrderVote) {
        self.day_first += other.day_first;
        self.month_first += other.month_first;
        self.ambiguous += other.ambiguous;
        self.in_zone += other.in_zone;
    }

    /// Whether any date had no offset, and so was read in the time zone given.
    pub fn read_in_zone(&self) -> bool {
        self.in_zone > 0
    }

    /// Whether every date that says anything reads either way (`09/11/2026`).
    pub fn only_ambiguous(&self) -> bool {
        self.day_first == 0 && self.month_first == 0 && self.ambiguous > 0
    }

    /// The one order every date that reads one way only agrees on: `None` without any, or
    /// with both.
    pub fn evident(&self) -> Option<DayOrder> {
        match (self.day_first, self.month_first) {
            (1.., 0) => Some(DayOrder::DayFirst),
            (0, 1..) => Some(DayOrder::MonthFirst),
            _ => None,
        }
    }

    /// Why the dates of the column that read either way can't be read `order` (its format
    /// given, if `forced`, else its majority): some of its dates read only the other way.
    pub fn doubt(&self, order: DayOrder, forced: bool) -> Option<String> {
        let (against, way) = match order {
            DayOrder::DayFirst => (self.month_first, "month first"),
            DayOrder::MonthFirst => (self.day_first, "day first"),
        };
        if against == 0 || self.ambiguous == 0 {
            return None;
        }
        let dates = crate::report::counted(against, "date", "dates");
        let read = if against == 1 { "reads" } else { "read" };
        Some(if forced {
            format!(
                "the date format given ({}) is contradicted by {dates} of this column that \
                 {read} only {way}, so none of its dates that read either way is taken on \
                 trust: correct those dates (each is named on its row), or give the column's \
                 real format",
                order.layout()
            )
        } else {
            format!(
                "{dates} of this column {read} only {way} while more read only the other \
                 way, so none of its dates that read either way is taken on trust: correct \
                 the dates that disagree with the rest (each is named on its row)"
            )
        })
    }

    /// `forced` wins; else the majority with evidence (minority values then fail in
    /// `timestamp`); no evidence at all is fine unless ambiguous values make it matter.
    pub fn resolve(&self, forced: Option<DayOrder>) -> Result<DayOrder, AmbiguousDayOrder> {
        match forced {
            Some(order) => Ok(order),
            None if self.day_first > self.month_first => Ok(DayOrder::DayFirst),
            None if self.month_first > self.day_first => Ok(DayOrder::MonthFirst),
            None if self.day_first == 0 && self.ambiguous == 0 => Ok(DayOrder::DayFirst),
            None => Err(AmbiguousDayOrder {
                day_first: self.day_first,
                month_first: self.month_first,
                ambiguous: self.ambiguous,
            }),
        }
    }
}

/// The machine's time zone (IANA name), falling back to UTC when it can't be read.
pub fn local_timezone() -> Tz {
    // `TZ` first, as the C library reads it (`America/Sao_Paulo` or `:America/Sao_Paulo`): a
    // container often sets its zone only there (found by a review: it was passed over).
    std::env::var("TZ")
        .ok()
        .and_then(|name| name.trim_start_matches(':').parse().ok())
        .or_else(|| {
            iana_time_zone::get_timezone()
                .ok()
                .and_then(|name| name.parse().ok())
        })
        .unwrap_or(Tz::UTC)
}

/// Parses `--timezone`: an IANA name such as America/Sao_Paulo, or UTC.
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    let n = name.trim();
    n.parse::<Tz>()
        .or_else(|_| {
            // Users type "america/sao_paulo" too; IANA names are unique ignoring case.
            chrono_tz::TZ_VARIANTS
                .iter()
                .find(|tz| tz.name().eq_ignore_ascii_case(n))
                .copied()
                .ok_or(())
        })
        .map_err(|()| {
            format!("'{name}' is not an IANA time zone; use a name like America/Sao_Paulo or UTC")
        })
}

/// The API's form: "2024-01-31T18:25:43-05:00".
pub fn to_api(ts: &DateTime<FixedOffset>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Secs, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use DayOrder::{DayFirst, MonthFirst};
    use proptest::prelude::*;

    const SP: Tz = chrono_tz::America::Sao_Paulo;
    const NY: Tz = chrono_tz::America::New_York;

    fn api(text: &str, tz: Tz, order: DayOrder) -> Result<String, DateError> {
        Ok(to_api(&read_date(text, tz, None)?.timestamp(order)?))
    }

    #[test]
    fn iso_forms() {
        assert_eq!(
            api("2024-01-31", SP, DayFirst).unwrap(),
            "2024-01-31T00:00:00-03:00"
        );
        assert_eq!(
            api("2024-01-31T18:25:43", NY, DayFirst).unwrap(),
            "2024-01-31T18:25:43-05:00"
        );
        assert_eq!(
            api("2024-01-31 18:25:43.123Z", NY, DayFirst).unwrap(),
            "2024-01-31T18:25:43+00:00"
        );
        assert_eq!(
            api("2024-01-31T18:25:43-03:00", NY, DayFirst).unwrap(),
            "2024-01-31T18:25:43-03:00"
        );
        assert_eq!(
            api("2024-01-31T18:25+0530", NY, DayFirst).unwrap(),
            "2024-01-31T18:25:00+05:30"
        );
        assert_eq!(
            api("2024/01/31", Tz::UTC, DayFirst).unwrap(),
            "2024-01-31T00:00:00+00:00"
        );
    }

    #[test]
    fn day_month_forms() {
        assert_eq!(
            api("13/02/2024", SP, DayFirst).unwrap(),
            "2024-02-13T00:00:00-03:00"
        );
        assert_eq!(
            api("12/1/2010 8:26", Tz::UTC, MonthFirst).unwrap(),
            "2010-12-01T08:26:00+00:00"
        );
        assert_eq!(
            api("1/2/2017 10:30 PM", Tz::UTC, MonthFirst).unwrap(),
            "2017-01-02T22:30:00+00:00"
        );
        assert_eq!(
            api("31.01.2024 23:59:59", Tz::UTC, DayFirst).unwrap(),
            "2024-01-31T23:59:59+00:00"
        );
        assert_eq!(
            api("31-01-2024", Tz::UTC, DayFirst).unwrap(),
            "2024-01-31T00:00:00+00:00"
        );
    }

    #[test]
    fn evidence() {
        let ev = |t| read_date(t, Tz::UTC, None).unwrap().evidence();
        assert_eq!(ev("13/02/2024"), Evidence::DayFirst);
        assert_eq!(ev("02/13/2024"), Evidence::MonthFirst);
        assert_eq!(ev("03/04/2024"), Evidence::Ambiguous);
        assert_eq!(ev("04/04/2024"), Evidence::Neutral);
        assert_eq!(ev("2024-03-04"), Evidence::Neutral);
    }

    #[test]
    fn errors() {
        let err = |t| read_date(t, NY, None).unwrap_err();
        assert!(matches!(err("31/02/2024"), DateError::Impossible(_)));
        assert!(matches!(err("2024-02-30"), DateError::Impossible(_)));
        assert!(matches!(err("2023-02-29"), DateError::Impossible(_)));
        // Found by a review: with a day/month format given, an impossible date was shown
        // year first ("2026-11-31"), a text the user could not find in the file.
        let dmy = Some(DateFormat::Order(DayOrder::DayFirst));
        let e = read_date(" 31/11/2026 ", NY, dmy.as_ref()).unwrap_err();
        assert_eq!(e, DateError::Impossible("31/11/2026".into()));
        // A date that reads either way is read in the format's order by the column's rule
        // (`DayOrderVote::doubt`), and its errors come then, as written.
        let r = read_date("08/03/2026 02:30", NY, dmy.as_ref()).unwrap();
        assert_eq!(
            r.timestamp(DayFirst).unwrap_err(),
            DateError::DstGap("08/03/2026 02:30:00".into(), "America/New_York".into())
        );
        assert!(matches!(err("13/13/2024"), DateError::Impossible(_)));
        assert!(matches!(err("01/02/24"), DateError::TwoDigitYear(_)));
        assert!(matches!(err("yesterday"), DateError::NotADate(_)));
        assert!(matches!(err("2024-01-31T"), DateError::NotADate(_)));
        assert!(matches!(err("2024-01-31 25:00"), DateError::BadTime(_)));
        assert!(matches!(err("2024-01-31 10:61"), DateError::BadTime(_)));
        assert!(matches!(
            err("2024-01-31 10:00 +25:00"),
            DateError::BadOffset(_)
        ));
        assert!(matches!(err("2024-01-31 13:00 PM"), DateError::BadTime(_)));
        assert!(matches!(
            err("2024-01-31 10:00 junk"),
            DateError::NotADate(_)
        ));
        assert!(matches!(err("2024-03-10 02:30"), DateError::DstGap(..)));
        assert!(matches!(err(" "), DateError::Empty));
        // Minority value under the column's order.
        let r = read_date("13/02/2024", Tz::UTC, None).unwrap();
        let e = r.timestamp(MonthFirst).unwrap_err();
        assert!(matches!(e, DateError::WrongOrder(..)), "{e}");
        assert!(e.to_string().contains("month/day/year"), "{e}");
    }

    /// A bug: São Paulo's summer time began at midnight until 2018, so a date without a time on
    /// those days (a backfill of historic orders) was an error.
    #[test]
    fn midnight_skipped_by_the_clocks_is_the_day_s_first_instant() {
        let sp = parse_timezone("America/Sao_Paulo").unwrap();
        for (text, want) in [
            ("04/11/2018", "2018-11-04T01:00:00-02:00"),
            ("2018-11-04 00:00", "2018-11-04T01:00:00-02:00"),
            ("15/10/2017 00:00:00", "2017-10-15T01:00:00-02:00"),
            ("16/10/2016", "2016-10-16T01:00:00-02:00"),
            ("03/11/2018", "2018-11-03T00:00:00-03:00"),
        ] {
            assert_eq!(api(text, sp, DayFirst).unwrap(), want, "{text}");
        }
        // A time written inside the jump is still not a time the clocks showed.
        assert!(matches!(
            read_date("04/11/2018 00:30", sp, None)
                .unwrap()
                .timestamp(DayFirst),
            Err(DateError::DstGap(..))
        ));
    }

    /// A bug: a year typed with a slip (`0026`, `2062`) was sent to VTEX as the invoice's date.
    #[test]
    fn an_invoice_date_s_year_must_be_likely() {
        let year = |text: &str| {
            read_date(text, SP, None)
                .unwrap()
                .invoice_timestamp(DayFirst)
        };
        assert!(year("31/12/2000").is_ok());
        assert!(year(&format!("01/01/{}", last_year())).is_ok());
        for text in [
            "01/02/0026".to_string(),
            "1999-12-31".to_string(),
            "01/02/9999".to_string(),
            format!("01/01/{}", last_year() + 1),
        ] {
            let err = year(&text).unwrap_err();
            assert!(matches!(err, DateError::UnlikelyYear(..)), "{text}: {err}");
            assert!(err.to_string().contains("mistyped year"), "{err}");
        }
        assert_eq!(
            year("01/02/0026").unwrap_err().to_string(),
            format!(
                "01/02/0026 is outside the years an invoice can have (2000 to {}): a mistyped \
                 year, or a number in a date column?",
                last_year()
            )
        );
    }

    #[test]
    fn dst_fold_takes_the_earlier() {
        assert_eq!(
            api("2024-11-03 01:30", NY, DayFirst).unwrap(),
            "2024-11-03T01:30:00-04:00"
        );
    }

    #[test]
    fn formats() {
        let f = parse_date_format("dd/mm/yyyy").unwrap();
        // One that reads one way only is fixed by the format; one that reads either way is
        // left to the column's rule, which reads it the format's way unless the column says
        // otherwise.
        let r = read_date("13/04/2024", Tz::UTC, Some(&f)).unwrap();
        assert_eq!(r.evidence(), Evidence::Neutral);
        assert_eq!(
            to_api(&r.timestamp(MonthFirst).unwrap()),
            "2024-04-13T00:00:00+00:00"
        );
        let r = read_date("03/04/2024", Tz::UTC, Some(&f)).unwrap();
        assert_eq!(r.evidence(), Evidence::Ambiguous);
        assert_eq!(
            to_api(&r.timestamp(DayFirst).unwrap()),
            "2024-04-03T00:00:00+00:00"
        );
        let f = parse_date_format("mdy").unwrap();
        // Against the format: counted by the column's vote, and an error when read.
        let r = read_date("13/04/2024", Tz::UTC, Some(&f)).unwrap();
        assert_eq!(r.evidence(), Evidence::DayFirst);
        assert!(matches!(
            r.timestamp(MonthFirst),
            Err(DateError::WrongOrder(..))
        ));
        assert!(parse_date_format("%Q").is_err());
        for partial in ["%d/%m", "%Y", "%H:%M", "%m/%Y"] {
            assert!(parse_date_format(partial).is_err(), "{partial}");
        }
        assert!(parse_date_format("%F %T").is_ok());
        assert!(parse_date_format("%e-%b-%y").is_ok());
        assert!(parse_date_format("%d/%m/%Y %").is_err());
        let f = parse_date_format("%d.%m.%Y %H:%M").unwrap();
        let r = read_date("03.04.2024 10:15", Tz::UTC, Some(&f)).unwrap();
        assert_eq!(
            to_api(&r.timestamp(DayFirst).unwrap()),
            "2024-04-03T10:15:00+00:00"
        );
        assert!(read_date("2024-04-03", Tz::UTC, Some(&f)).is_err());
        let f = parse_date_format("%Y%m%d").unwrap();
        assert!(read_date("20240403", Tz::UTC, Some(&f)).is_ok());
        assert!(parse_date_format("yyyy").is_err());
        for iso in ["yyyy-mm-dd", "YYYY/MM/DD", "iso"] {
            let f = parse_date_format(iso).unwrap();
            let r = read_date("2024-04-03 10:15", Tz::UTC, Some(&f)).unwrap();
            assert_eq!(
                to_api(&r.timestamp(DayFirst).unwrap()),
                "2024-04-03T10:15:00+00:00"
            );
            let e = read_date("03/04/2024", Tz::UTC, Some(&f)).unwrap_err();
            assert_eq!(
                e.to_string(),
                "'03/04/2024' doesn't match the date format 'yyyy-mm-dd'"
            );
        }
    }

    #[test]
    fn cells() {
        let dt = NaiveDate::from_ymd_opt(2024, 1, 31)
            .unwrap()
            .and_hms_opt(18, 25, 43)
            .unwrap();
        let r = date_from_cell(CellRef::DateTime(dt), SP, None)
            .unwrap()
            .unwrap();
        assert_eq!(
            to_api(&r.timestamp(DayFirst).unwrap()),
            "2024-01-31T18:25:43-03:00"
        );
        let serial = crate::source::SheetNumber(45322.0);
        let r = date_from_cell(CellRef::Number(serial), Tz::UTC, None)
            .unwrap()
            .unwrap();
        assert_eq!(
            to_api(&r.timestamp(DayFirst).unwrap()),
            "2024-01-31T00:00:00+00:00"
        );
        assert_eq!(date_from_cell(CellRef::Empty, SP, None), Ok(None));
        assert!(date_from_cell(CellRef::Error("#REF!"), SP, None).is_err());
        assert!(
            date_from_cell(CellRef::Number(crate::source::SheetNumber(-5.0)), SP, None).is_err()
        );
        // Bug: a time cell, or a small number, was sent as a day of 1899 or 1900.
        let cell =
            |x: f64| date_from_cell(CellRef::Number(crate::source::SheetNumber(x)), SP, None);
        assert_eq!(cell(10.0 / 24.0), Err(DateError::TimeOnly("10:00".into())));
        assert_eq!(cell(0.0), Err(DateError::TimeOnly("00:00".into())));
        assert_eq!(
            cell(1.5),
            Err(DateError::Before1900March("1900-01-01".into()))
        );
        assert_eq!(
            cell(59.0),
            Err(DateError::Before1900March("1900-02-28".into()))
        );
        assert!(cell(61.0).is_ok_and(|r| r.is_some()));
        let time = NaiveDate::from_ymd_opt(1899, 12, 31)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        assert_eq!(
            date_from_cell(CellRef::DateTime(time), SP, None),
            Err(DateError::TimeOnly("10:00".into()))
        );
        assert_eq!(
            DateError::TimeOnly("10:00".into()).to_string(),
            "the cell holds a time (10:00) but no date"
        );
    }

    #[test]
    fn votes_and_zones() {
        let mut v = DayOrderVote::default();
        v.observe(&read_date("03/04/2024", Tz::UTC, None).unwrap());
        assert!(v.resolve(None).is_err());
        assert_eq!(v.resolve(Some(MonthFirst)), Ok(MonthFirst));
        v.observe(&read_date("13/04/2024", Tz::UTC, None).unwrap());
        assert_eq!(v.resolve(None), Ok(DayFirst));
        assert_eq!(DayOrderVote::default().resolve(None), Ok(DayFirst));
        // Dates that read one way only, on both sides, put those that read either way in
        // doubt, whichever order the column is read in.
        let mut v = DayOrderVote::default();
        for t in ["25/11/2026", "26/11/2026", "11/27/2026", "11/06/2026"] {
            v.observe(&read_date(t, Tz::UTC, None).unwrap());
        }
        assert_eq!(v.evident(), None);
        assert_eq!(v.resolve(None), Ok(DayFirst));
        assert!(
            v.doubt(DayFirst, false)
                .is_some_and(|d| d.contains("1 date of this column"))
        );
        // A format given and contradicted: read under it, the column still says otherwise.
        let mut v = DayOrderVote::default();
        let dmy = Some(DateFormat::Order(DayFirst));
        for t in ["11/25/2026", "11/05/2026"] {
            v.observe(&read_date(t, Tz::UTC, dmy.as_ref()).unwrap());
        }
        assert_eq!(v.evident(), Some(MonthFirst));
        assert!(
            v.doubt(DayFirst, true)
                .is_some_and(|d| d.contains("day/month/year"))
        );
        assert_eq!(v.doubt(MonthFirst, true), None);
        // No date that reads either way: nothing in doubt.
        let mut v = DayOrderVote::default();
        for t in ["25/11/2026", "11/27/2026", "26/11/2026"] {
            v.observe(&read_date(t, Tz::UTC, None).unwrap());
        }
        assert_eq!(v.doubt(DayFirst, false), None);
        assert_eq!(parse_timezone("America/Sao_Paulo"), Ok(SP));
        assert_eq!(parse_timezone("america/sao_paulo"), Ok(SP));
        assert!(parse_timezone("Mars/Olympus").is_err());
        let _ = local_timezone();
        assert!(std::mem::size_of::<DateReading>() <= 20);
    }

    proptest! {
        #[test]
        fn round_trips(secs in 0i64..4_000_000_000, day_first in any::<bool>()) {
            let dt = DateTime::from_timestamp(secs, 0).unwrap().naive_utc();
            let (order, text) = if day_first {
                (DayFirst, dt.format("%d/%m/%Y %H:%M:%S").to_string())
            } else {
                (MonthFirst, dt.format("%m/%d/%Y %H:%M:%S").to_string())
            };
            let r = read_date(&text, Tz::UTC, None).unwrap();
            prop_assert_eq!(r.timestamp(order).unwrap().naive_utc(), dt);
            let iso = read_date(&dt.format("%Y-%m-%dT%H:%M:%SZ").to_string(), SP, None).unwrap();
            prop_assert_eq!(iso.timestamp(order).unwrap().naive_utc(), dt);
        }

        #[test]
        fn garbage_never_panics(s in "\\PC{0,40}") {
            if let Ok(r) = read_date(&s, NY, None) {
                let _ = r.timestamp(DayFirst);
                let _ = r.timestamp(MonthFirst);
            }
        }

        #[test]
        fn date_like_garbage_never_panics(s in "[0-9/:.T Z+-]{0,30}") {
            if let Ok(r) = read_date(&s, NY, None) {
                let _ = r.timestamp(DayFirst);
                let _ = r.timestamp(MonthFirst);
            }
        }
    }
}
