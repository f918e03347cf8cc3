//! Money text and cells → cents, exactly. A reading keeps both interpretations of the
//! separators (decimal point or decimal comma) so the column can pick one after seeing all its
//! values, without storing any text.

use std::fmt;

use crate::source::{CellRef, PrecisionError};

/// Which character separates the cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecimalSeparator {
    Point,
    Comma,
}

impl DecimalSeparator {
    fn char(self) -> char {
        match self {
            DecimalSeparator::Point => '.',
            DecimalSeparator::Comma => ',',
        }
    }

    fn other(self) -> DecimalSeparator {
        match self {
            DecimalSeparator::Point => DecimalSeparator::Comma,
            DecimalSeparator::Comma => DecimalSeparator::Point,
        }
    }
}

/// What one value says about its column's decimal separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Evidence {
    /// No separator ("1234", "10") or a number cell: reads the same either way.
    Neutral,
    /// "12.50", "1,234.56", "1,234,567".
    Point,
    /// "12,50", "1.234,56", "1.234.567".
    Comma,
    /// One separator followed by exactly three digits ("1,234", "1.234").
    Ambiguous,
}

/// Why one interpretation of a reading is not an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    None,
    /// Read this way, the value has three decimal places.
    ThreeDecimals,
    /// The value's own separators only make sense with the other decimal separator.
    OtherSeparator,
}

/// One parsed amount with both interpretations: 16 bytes, no text. The digits give the same
/// cents whichever separator is decimal ("1,234" is 1234.00 or not an amount; "1.234,56" is
/// 1234.56 or not an amount), so the interpretations differ only in whether they are valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoneyReading {
    cents: i64,
    point_bad: Bad,
    comma_bad: Bad,
    evidence: Evidence,
}

impl MoneyReading {
    /// Decimal separator `dec` with cents `cents`; the other reading doesn't fit.
    fn definite(dec: DecimalSeparator, cents: i64) -> MoneyReading {
        let (point_bad, comma_bad, evidence) = match dec {
            DecimalSeparator::Point => (Bad::None, Bad::OtherSeparator, Evidence::Point),
            DecimalSeparator::Comma => (Bad::OtherSeparator, Bad::None, Evidence::Comma),
        };
        MoneyReading {
            cents,
            point_bad,
            comma_bad,
            evidence,
        }
    }

    fn neutral(cents: i64) -> MoneyReading {
        MoneyReading {
            cents,
            point_bad: Bad::None,
            comma_bad: Bad::None,
            evidence: Evidence::Neutral,
        }
    }

    pub fn evidence(&self) -> Evidence {
        self.evidence
    }

    /// The reading as cents and one byte, for stores that keep millions of them.
    pub fn pack(&self) -> (i64, u8) {
        let bad = |b: Bad| match b {
            Bad::None => 0u8,
            Bad::ThreeDecimals => 1,
            Bad::OtherSeparator => 2,
        };
        let evidence = match self.evidence {
            Evidence::Neutral => 0u8,
            Evidence::Point => 1,
            Evidence::Comma => 2,
            Evidence::Ambiguous => 3,
        };
        (
            self.cents,
            bad(self.point_bad) | bad(self.comma_bad) << 2 | evidence << 4,
        )
    }

    /// The reading [`Self::pack`] made.
    pub fn unpack(cents: i64, packed: u8) -> MoneyReading {
        let bad = |b: u8| match b & 3 {
            1 => Bad::ThreeDecimals,
            2 => Bad::OtherSeparator,
            _ => Bad::None,
        };
        MoneyReading {
            cents,
            point_bad: bad(packed),
            comma_bad: bad(packed >> 2),
            evidence: match (packed >> 4) & 3 {
                1 => Evidence::Point,
                2 => Evidence::Comma,
                3 => Evidence::Ambiguous,
                _ => Evidence::Neutral,
            },
        }
    }

    /// The amount in cents when `sep` is the column's decimal separator.
    pub fn cents(&self, sep: DecimalSeparator) -> Result<i64, MoneyError> {
        let bad = match sep {
            DecimalSeparator::Point => self.point_bad,
            DecimalSeparator::Comma => self.comma_bad,
        };
        match bad {
            Bad::None => Ok(self.cents),
            Bad::ThreeDecimals => Err(MoneyError::ThreeDecimalsUnder(sep.char())),
            Bad::OtherSeparator => Err(MoneyError::OtherSeparator {
                column: sep.char(),
                value: sep.other().char(),
            }),
        }
    }
}

/// Why a value is not an amount. Messages stand alone after "file, sheet, row, column: ".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("no amount given")]
    Empty,
    #[error("'{0}' is not an amount")]
    NotAnAmount(String),
    #[error("'{0}' has more than one sign")]
    TwoSigns(String),
    #[error(
        "'{0}' has more than two decimal places; amounts must be whole cents and are never rounded"
    )]
    TooManyDecimals(String),
    #[error(
        "has three decimal places when '{0}' is the decimal separator; amounts must be whole cents \
         (if it was meant as a thousands separator, pass the other --decimal-… option)"
    )]
    ThreeDecimalsUnder(char),
    #[error(
        "uses '{value}' as its decimal separator, but the other amounts in this column use '{column}'"
    )]
    OtherSeparator { column: char, value: char },
    #[error("'{0}' has misplaced thousands separators")]
    BadGrouping(String),
    #[error(
        "'{0}' has a space inside its digits that does not group thousands (as in 1 234,56); \
         if the space stands for a decimal separator, write it"
    )]
    SpaceInDigits(String),
    #[error("'{0}' is too large to be an amount")]
    TooLarge(String),
    #[error("{0}")]
    Precision(#[from] PrecisionError),
    #[error("{0} is a formula error, not an amount")]
    FormulaError(String),
    #[error("{}", crate::source::UNCALCULATED)]
    Uncalculated,
    #[error("'{0}' is a {1} cell, not an amount")]
    WrongCellType(String, &'static str),
}

/// Currency marks accepted around an amount; longer ones first so "US$" wins over "$".
const SYMBOLS: [&str; 8] = ["US$", "U$", "R$", "$", "€", "£", "¥", "₹"];
const CODES: [&str; 16] = [
    "BRL", "USD", "EUR", "GBP", "ARS", "CLP", "MXN", "COP", "PEN", "UYU", "PYG", "BOB", "CAD",
    "AUD", "JPY", "CHF",
];

fn is_space(c: char) -> bool {
    // NBSP, narrow NBSP and thin space are what spreadsheets and locales put in amounts.
    c.is_whitespace() || matches!(c, '\u{a0}' | '\u{202f}' | '\u{2009}')
}

fn strip_currency_prefix(s: &str) -> Option<&str> {
    // Every symbol and code starts with a non-digit.
    if s.as_bytes().first().is_none_or(u8::is_ascii_digit) {
        return None;
    }
    for sym in SYMBOLS {
        if let Some(rest) = s.strip_prefix(sym) {
            return Some(rest);
        }
    }
    let code = s.get(..3)?;
    let rest = s.get(3..)?;
    let next_is_letter = rest.chars().next().is_some_and(char::is_alphabetic);
    if !next_is_letter && CODES.iter().any(|c| c.eq_ignore_ascii_case(code)) {
        return Some(rest);
    }
    None
}

fn strip_currency_suffix(s: &str) -> Option<&str> {
    if s.as_bytes().last().is_none_or(u8::is_ascii_digit) {
        return None;
    }
    for sym in SYMBOLS {
        if let Some(rest) = s.strip_suffix(sym) {
            return Some(rest);
        }
    }
    let cut = s.len().checked_sub(3)?;
    let code = s.get(cut..)?;
    let rest = s.get(..cut)?;
    let before_is_letter = rest.chars().next_back().is_some_and(char::is_alphabetic);
    if !before_is_letter && CODES.iter().any(|c| c.eq_ignore_ascii_case(code)) {
        return Some(rest);
    }
    None
}

/// Longest digits-and-separators body accepted; far beyond any real amount.
const MAX_BODY: usize = 40;

/// Reads an amount: trims; allows currency symbols or codes on either side, inner spaces
/// (NBSP too), a leading or trailing '-' or '+', or parentheses for negatives. Errors that
/// don't depend on the decimal separator come out here; the rest wait for
/// [`MoneyReading::cents`].
pub fn read_money(text: &str) -> Result<MoneyReading, MoneyError> {
    let bytes = text.as_bytes();
    // Most cells are a plain amount in one of a few shapes, read without judging a shape;
    // most others are bare digits and separators: nothing to strip, the text is the body.
    // Both start with a digit or a separator; anything else ("R$ 1.234,56") goes on at once.
    if bytes
        .first()
        .is_some_and(|&b| b.is_ascii_digit() || b == b'.' || b == b',')
    {
        if let Some(reading) = quick(bytes) {
            return Ok(reading);
        }
        if bytes.len() <= MAX_BODY
            && let Some(shape) = Shape::of(bytes)
        {
            return read_shape(&shape, text);
        }
    }
    // Next most: a currency, maybe a space, then the bare amount ("R$ 1.234,56", "BRL 10").
    // Anything else after the currency (a sign, inner or trailing spaces) takes the long way.
    if let Some(rest) = strip_currency_prefix(text).map(|r| r.trim_start_matches(' '))
        && !rest.is_empty()
        && rest.len() <= MAX_BODY
    {
        if let Some(reading) = quick(rest.as_bytes()) {
            return Ok(reading);
        }
        if let Some(shape) = Shape::of(rest.as_bytes()) {
            return read_shape(&shape, text);
        }
    }
    let mut s = if super::is_trimmed(text) {
        text
    } else {
        text.trim_matches(is_space)
    };
    if s.is_empty() {
        return Err(MoneyError::Empty);
    }
    let mut negative = false;
    let mut signs = 0;
    if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        s = inner;
        negative = true;
        signs += 1;
    }
    let mut currency = false;
    loop {
        s = s.trim_start_matches(is_space);
        if let Some(rest) = s.strip_prefix('-') {
            (s, negative, signs) = (rest, true, signs + 1);
        } else if let Some(rest) = s.strip_prefix('+') {
            (s, signs) = (rest, signs + 1);
        } else if let Some(rest) = strip_currency_prefix(s).filter(|_| !currency) {
            (s, currency) = (rest, true);
        } else {
            break;
        }
    }
    loop {
        s = s.trim_end_matches(is_space);
        if let Some(rest) = s.strip_suffix('-') {
            (s, negative, signs) = (rest, true, signs + 1);
        } else if let Some(rest) = strip_currency_suffix(s).filter(|_| !currency) {
            (s, currency) = (rest, true);
        } else {
            break;
        }
    }
    if signs > 1 {
        return Err(MoneyError::TwoSigns(text.trim().to_string()));
    }
    let mut body = [0u8; MAX_BODY];
    let mut len = 0;
    for c in s.chars() {
        if is_space(c) {
            continue;
        }
        if !(c.is_ascii_digit() || c == '.' || c == ',') {
            return Err(MoneyError::NotAnAmount(text.trim().to_string()));
        }
        let Some(slot) = body.get_mut(len) else {
            return Err(MoneyError::TooLarge(text.trim().to_string()));
        };
        // ASCII by the check above, so the byte is the char.
        *slot = c as u8;
        len += 1;
    }
    if !spaces_group_thousands(s) {
        return Err(MoneyError::SpaceInDigits(text.trim().to_string()));
    }
    // Excel's accounting format shows zero as a dash ("R$ -", " - "), and a CSV saved as shown
    // keeps the dash.
    if len == 0 && signs == 1 && negative && text.contains('-') {
        return read_body(b"0", text);
    }
    let reading = read_body(body.get(..len).unwrap_or_default(), text)?;
    Ok(if negative {
        MoneyReading {
            cents: -reading.cents,
            ..reading
        }
    } else {
        reading
    })
}

/// Whether the spaces inside an amount's body (no sign or currency left) only group its whole
/// part's digits in threes: `1 234 567,89` yes; `10 50` (a space for a decimal comma) and
/// `1 0,50` no, which would otherwise read as 1050 and 10.50.
fn spaces_group_thousands(body: &str) -> bool {
    let mut runs = body.split(is_space).filter(|r| !r.is_empty());
    let Some(first) = runs.next() else {
        return true;
    };
    let mut rest = runs.peekable();
    if rest.peek().is_none() {
        return true;
    }
    let digits = |r: &str| r.bytes().all(|b| b.is_ascii_digit());
    if !(digits(first) && (1..=3).contains(&first.len())) {
        return false;
    }
    while let Some(run) = rest.next() {
        let last = rest.peek().is_none();
        let (group, tail) = run.split_at_checked(3).unwrap_or((run, "x"));
        let tail_ok = match last {
            // The last group may carry the decimals: "234,56".
            true => {
                tail.is_empty()
                    || (tail.starts_with(['.', ',']) && tail.get(1..).is_some_and(digits))
            }
            false => tail.is_empty(),
        };
        if !(digits(group) && group.len() == 3 && tail_ok) {
            return false;
        }
    }
    true
}

/// Longest text [`quick`] reads: at most 16 digits, whose cents fit an `i64` with room to
/// spare.
const QUICK_MAX: usize = 18;

/// The common amounts, read in one tight pass: whole digits ("1234"), or digits with two
/// decimals ("1234.56", "0,00"), their whole part maybe grouped in threes by the other
/// separator ("2,081.22", "1.480,61"). `None` for anything else, which [`read_shape`] judges;
/// for these it would give the same reading.
fn quick(b: &[u8]) -> Option<MoneyReading> {
    if b.len() > QUICK_MAX {
        return None;
    }
    let digit = |i: usize| b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|&d| d < 10);
    // The leading digits, and what follows them.
    let mut value = 0i64;
    let mut i = 0;
    while let Some(d) = digit(i) {
        value = value * 10 + i64::from(d);
        i += 1;
    }
    if i == b.len() {
        return (i > 0 && i <= 16).then(|| MoneyReading::neutral(value * 100));
    }
    // Two decimals after the last separator, which ends the whole part.
    let point = b.len().checked_sub(3)?;
    let (dec, group) = match b.get(point) {
        Some(b'.') => (DecimalSeparator::Point, b','),
        Some(b',') => (DecimalSeparator::Comma, b'.'),
        _ => return None,
    };
    let (d1, d2) = (digit(point + 1)?, digit(point + 2)?);
    if i == 0 {
        return None;
    }
    if i < point {
        // Grouped: one to three digits, not starting with 0, then groups of exactly three.
        if i > 3 || b.first() == Some(&b'0') || (point - i) % 4 != 0 {
            return None;
        }
        while i < point {
            if b.get(i) != Some(&group) {
                return None;
            }
            for k in i + 1..i + 4 {
                value = value * 10 + i64::from(digit(k)?);
            }
            i += 4;
        }
    }
    let cents = value * 100 + i64::from(d1) * 10 + i64::from(d2);
    Some(MoneyReading::definite(dec, cents))
}

/// What one pass over an amount's body (digits and separators) finds.
#[derive(Debug, Default)]
struct Shape {
    /// Every digit, as one number: `None` past `i64`.
    all_digits: Option<i64>,
    digits: usize,
    points: usize,
    commas: usize,
    /// The last separator and how many digits follow it.
    last_sep: Option<u8>,
    tail: usize,
    /// Digits before the first separator, and whether the first of them is a 0.
    first_run: usize,
    leading_zero: bool,
    /// Digit runs between two separators that are not three long, or are empty.
    odd_inner_runs: usize,
    /// Two separators side by side, or one at the start: only ",50" is allowed that.
    adjacent: bool,
}

impl Shape {
    /// `None` when the body has anything but digits, '.' and ','.
    fn of(body: &[u8]) -> Option<Shape> {
        let mut shape = Shape {
            all_digits: Some(0),
            ..Shape::default()
        };
        let mut run = 0;
        let mut seps = 0;
        for (i, &b) in body.iter().enumerate() {
            if b.is_ascii_digit() {
                shape.all_digits = shape
                    .all_digits
                    .and_then(|v| v.checked_mul(10)?.checked_add(i64::from(b - b'0')));
                shape.digits += 1;
                if i == 0 && b == b'0' {
                    shape.leading_zero = true;
                }
                run += 1;
                continue;
            }
            match b {
                b'.' => shape.points += 1,
                b',' => shape.commas += 1,
                _ => return None,
            }
            if run == 0 && i > 0 {
                shape.adjacent = true;
            }
            if seps == 0 {
                shape.first_run = run;
            } else if run != 3 {
                shape.odd_inner_runs += 1;
            }
            seps += 1;
            shape.last_sep = Some(b);
            run = 0;
        }
        if seps == 0 {
            shape.first_run = run;
        }
        shape.tail = run;
        Some(shape)
    }

    /// Whether the runs before the last separator group thousands: "1.234" of "1.234,56".
    fn head_grouped(&self) -> bool {
        (1..=3).contains(&self.first_run) && !self.leading_zero && self.odd_inner_runs == 0
    }

    /// Whether every run groups thousands: "1.234.567".
    fn all_grouped(&self) -> bool {
        self.head_grouped() && self.tail == 3
    }
}

/// Reads `body`, digits and separators only (anything else is not an amount).
fn read_body(body: &[u8], text: &str) -> Result<MoneyReading, MoneyError> {
    match Shape::of(body) {
        Some(shape) => read_shape(&shape, text),
        None => Err(MoneyError::NotAnAmount(text.trim().to_string())),
    }
}

fn read_shape(shape: &Shape, text: &str) -> Result<MoneyReading, MoneyError> {
    let not_amount = || MoneyError::NotAnAmount(text.trim().to_string());
    let too_large = || MoneyError::TooLarge(text.trim().to_string());
    if shape.digits == 0 {
        return Err(not_amount());
    }
    // Cents from every digit, when the last `decimals` of them are the fraction. Too large is
    // said only after the shape is judged, as the other errors come first.
    let cents = |decimals: usize| {
        let all = shape.all_digits.ok_or_else(too_large)?;
        match decimals {
            2 => Ok(all),
            1 => all.checked_mul(10).ok_or_else(too_large),
            _ => all.checked_mul(100).ok_or_else(too_large),
        }
    };
    let Some(last) = shape.last_sep else {
        return Ok(MoneyReading::neutral(cents(0)?));
    };
    // A value may start with its decimal separator (",50"), never end with one.
    if shape.tail == 0 || shape.adjacent {
        return Err(not_amount());
    }
    let (last_count, other_count) = if last == b'.' {
        (shape.points, shape.commas)
    } else {
        (shape.commas, shape.points)
    };
    let last_sep = if last == b'.' {
        DecimalSeparator::Point
    } else {
        DecimalSeparator::Comma
    };

    let definite = MoneyReading::definite;

    if other_count > 0 {
        // Both kinds: the last is the decimal separator, the other groups thousands.
        if last_count > 1 || !shape.head_grouped() {
            return Err(MoneyError::BadGrouping(text.trim().to_string()));
        }
        if shape.tail > 2 {
            return Err(MoneyError::TooManyDecimals(text.trim().to_string()));
        }
        return Ok(definite(last_sep, cents(shape.tail)?));
    }
    if last_count > 1 {
        // "1.234.567": only thousands separators, so the decimal separator is the other one.
        if !shape.all_grouped() {
            return Err(MoneyError::BadGrouping(text.trim().to_string()));
        }
        return Ok(definite(last_sep.other(), cents(0)?));
    }
    match shape.tail {
        1 | 2 => Ok(definite(last_sep, cents(shape.tail)?)),
        3 if shape.all_grouped() => {
            // "1,234": a thousands separator, or a decimal one with three places (an error).
            let mut reading = MoneyReading {
                cents: cents(0)?,
                point_bad: Bad::None,
                comma_bad: Bad::None,
                evidence: Evidence::Ambiguous,
            };
            match last_sep {
                DecimalSeparator::Point => reading.point_bad = Bad::ThreeDecimals,
                DecimalSeparator::Comma => reading.comma_bad = Bad::ThreeDecimals,
            }
            Ok(reading)
        }
        _ => Err(MoneyError::TooManyDecimals(text.trim().to_string())),
    }
}

/// An amount cell: `Ok(None)` when empty. Number cells convert once, exactly (see
/// [`crate::source::SheetNumber::cents`]).
pub fn money_from_cell(cell: CellRef<'_>) -> Result<Option<MoneyReading>, MoneyError> {
    match cell {
        CellRef::Empty => Ok(None),
        CellRef::Text(t) if !super::is_trimmed(t) && t.trim_matches(is_space).is_empty() => {
            Ok(None)
        }
        CellRef::Text(t) => read_money(t).map(Some),
        CellRef::Number(n) => Ok(Some(MoneyReading::neutral(n.cents()?))),
        CellRef::Bool(b) => Err(MoneyError::WrongCellType(
            if b { "TRUE" } else { "FALSE" }.to_string(),
            "true/false",
        )),
        CellRef::DateTime(dt) => Err(MoneyError::WrongCellType(
            crate::source::datetime_text(dt),
            "date",
        )),
        CellRef::Error(e) => Err(MoneyError::FormulaError(e.to_string())),
        CellRef::Uncalculated => Err(MoneyError::Uncalculated),
    }
}

/// Counts a column's evidence; resolves its decimal separator after the pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeparatorVote {
    point: u64,
    comma: u64,
    ambiguous: u64,
}

/// A column whose decimal separator can't be told from its values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AmbiguousSeparator {
    pub point: u64,
    pub comma: u64,
    pub ambiguous: u64,
    /// The separator a flag or the config gave, which every amount that tells says is wrong:
    /// then each amount that is not a whole number fails, not just those that read either way.
    pub forced: Option<DecimalSeparator>,
}

impl fmt::Display for AmbiguousSeparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(sep) = self.forced {
            let (flag, told, other) = match sep {
                DecimalSeparator::Point => ("--decimal-point", self.comma, "comma (10,50)"),
                DecimalSeparator::Comma => ("--decimal-comma", self.point, "point (10.50)"),
            };
            return write!(
                f,
                "{flag} was given (or the config's decimal), but this column writes its amounts \
                 with a decimal {other}: {told} of them {says} so and none says otherwise; an \
                 amount like 1{}500 would be read 1,000 times too large; check the setting",
                sep.other().char(),
                says = if told == 1 { "says" } else { "say" },
            );
        }
        if self.point > 0 && self.point == self.comma {
            write!(
                f,
                "as many amounts use '.' for cents ({}) as use ',' ({}); ",
                self.point, self.comma
            )?;
        } else {
            write!(
                f,
                "can't tell the decimal separator: {} like 1,234 or 1.234 read{} either way; ",
                crate::report::counted(self.ambiguous, "amount", "amounts"),
                if self.ambiguous == 1 { "s" } else { "" },
            )?;
        }
        write!(f, "pass --decimal-comma or --decimal-point")
    }
}

impl SeparatorVote {
    pub fn observe(&mut self, reading: &MoneyReading) {
        match reading.evidence {
            Evidence::Neutral => {}
            Evidence::Point => self.point += 1,
            Evidence::Comma => self.comma += 1,
            Evidence::Ambiguous => self.ambiguous += 1,
        }
    }

    pub fn merge(&mut self, other: SeparatorVote) {
        self.point += other.point;
        self.comma += other.comma;
        self.ambiguous += other.ambiguous;
    }

    /// `forced` wins; else the majority of values with evidence (the minority then fail in
    /// `cents`); no evidence at all is Point unless ambiguous values make it matter.
    pub fn resolve(
        &self,
        forced: Option<DecimalSeparator>,
    ) -> Result<DecimalSeparator, AmbiguousSeparator> {
        let ambiguous = || AmbiguousSeparator {
            point: self.point,
            comma: self.comma,
            ambiguous: self.ambiguous,
            forced: None,
        };
        let (said, against) = match forced {
            Some(DecimalSeparator::Point) => (self.point, self.comma),
            Some(DecimalSeparator::Comma) => (self.comma, self.point),
            None => (0, 0),
        };
        match forced {
            Some(_) if against > 0 && said == 0 => Err(AmbiguousSeparator {
                forced,
                ..ambiguous()
            }),
            Some(sep) => Ok(sep),
            None if self.point > self.comma => Ok(DecimalSeparator::Point),
            None if self.comma > self.point => Ok(DecimalSeparator::Comma),
            None if self.point == 0 && self.ambiguous == 0 => Ok(DecimalSeparator::Point),
            None => Err(ambiguous()),
        }
    }
}

/// "1,234.56" (Point) or "1.234,56" (Comma), with thousands separators.
pub fn format_cents(cents: i64, sep: DecimalSeparator) -> String {
    let abs = cents.unsigned_abs();
    let (int, frac) = (abs / 100, abs % 100);
    let digits = int.to_string();
    let thousands = sep.other().char();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 4);
    if cents < 0 {
        out.push('-');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(thousands);
        }
        out.push(d);
    }
    out.push(sep.char());
    out.push_str(&format!("{frac:02}"));
    out
}

#[cfg(test)]
// Literals like 2.5499999999999998 are Excel's own <v> text, kept verbatim on purpose.
#[allow(clippy::excessive_precision)]
mod tests {

    fn is_sep(b: u8) -> bool {
        b == b'.' || b == b','
    }

    // The multi-pass reading `read_body` replaced, kept as the oracle of the property test
    // `one_pass_body_reads_as_the_multi_pass_one`.
    fn digits_value(digits: &[u8], text: &str) -> Result<i64, MoneyError> {
        digits
            .iter()
            .filter(|b| b.is_ascii_digit())
            .try_fold(0i64, |acc, &b| {
                acc.checked_mul(10)?.checked_add(i64::from(b - b'0'))
            })
            .ok_or_else(|| MoneyError::TooLarge(text.trim().to_string()))
    }

    /// Whether `int` (digits and `sep`) is a valid thousands grouping like "1.234.567".
    fn grouped(int: &[u8], sep: u8) -> bool {
        let mut groups = int.split(|&b| b == sep);
        let first_ok = groups.next().is_some_and(|g| {
            // "0.500" or "012,345" is not a grouped thousand.
            (1..=3).contains(&g.len())
                && g.iter().all(u8::is_ascii_digit)
                && g.first() != Some(&b'0')
        });
        first_ok && groups.all(|g| g.len() == 3 && g.iter().all(u8::is_ascii_digit))
    }

    fn to_cents(int: i64, frac_digits: &[u8], text: &str) -> Result<i64, MoneyError> {
        let frac = digits_value(frac_digits, text)?;
        let frac = if frac_digits.len() == 1 {
            frac * 10
        } else {
            frac
        };
        int.checked_mul(100)
            .and_then(|c| c.checked_add(frac))
            .ok_or_else(|| MoneyError::TooLarge(text.trim().to_string()))
    }

    fn read_body_reference(body: &[u8], text: &str) -> Result<MoneyReading, MoneyError> {
        let not_amount = || MoneyError::NotAnAmount(text.trim().to_string());
        if !body.iter().any(u8::is_ascii_digit) {
            return Err(not_amount());
        }
        let Some(last_pos) = body.iter().rposition(|&b| is_sep(b)) else {
            return Ok(MoneyReading::neutral(to_cents(
                digits_value(body, text)?,
                &[],
                text,
            )?));
        };
        // A value may start with its decimal separator (",50"), never end with one.
        if body.last().is_none_or(|&b| is_sep(b))
            || body.windows(2).any(|w| is_sep(w[0]) && is_sep(w[1]))
        {
            return Err(not_amount());
        }
        // rposition found last_pos inside body, so these slices are in bounds.
        let last = body[last_pos];
        let other = if last == b'.' { b',' } else { b'.' };
        let (int, frac) = (&body[..last_pos], &body[last_pos + 1..]);
        let last_count = body.iter().filter(|&&b| b == last).count();
        let other_count = body.iter().filter(|&&b| b == other).count();
        let last_sep = if last == b'.' {
            DecimalSeparator::Point
        } else {
            DecimalSeparator::Comma
        };

        // Decimal separator `dec` with cents `cents`; the other reading doesn't fit.
        let definite = |dec: DecimalSeparator, cents: i64| {
            let (point_bad, comma_bad) = match dec {
                DecimalSeparator::Point => (Bad::None, Bad::OtherSeparator),
                DecimalSeparator::Comma => (Bad::OtherSeparator, Bad::None),
            };
            MoneyReading {
                cents,
                point_bad,
                comma_bad,
                evidence: match dec {
                    DecimalSeparator::Point => Evidence::Point,
                    DecimalSeparator::Comma => Evidence::Comma,
                },
            }
        };

        if other_count > 0 {
            // Both kinds: the last is the decimal separator, the other groups thousands.
            if last_count > 1 || !grouped(int, other) {
                return Err(MoneyError::BadGrouping(text.trim().to_string()));
            }
            if frac.len() > 2 {
                return Err(MoneyError::TooManyDecimals(text.trim().to_string()));
            }
            let cents = to_cents(digits_value(int, text)?, frac, text)?;
            return Ok(definite(last_sep, cents));
        }
        if last_count > 1 {
            // "1.234.567": only thousands separators, so the decimal separator is the other one.
            if !grouped(body, last) {
                return Err(MoneyError::BadGrouping(text.trim().to_string()));
            }
            let cents = to_cents(digits_value(body, text)?, &[], text)?;
            return Ok(definite(last_sep.other(), cents));
        }
        match frac.len() {
            1 | 2 => {
                let cents = to_cents(digits_value(int, text)?, frac, text)?;
                Ok(definite(last_sep, cents))
            }
            3 if grouped(body, last) => {
                // "1,234": a thousands separator, or a decimal one with three places (an error).
                let cents = to_cents(digits_value(body, text)?, &[], text)?;
                let mut reading = MoneyReading {
                    cents,
                    point_bad: Bad::None,
                    comma_bad: Bad::None,
                    evidence: Evidence::Ambiguous,
                };
                match last_sep {
                    DecimalSeparator::Point => reading.point_bad = Bad::ThreeDecimals,
                    DecimalSeparator::Comma => reading.comma_bad = Bad::ThreeDecimals,
                }
                Ok(reading)
            }
            _ => Err(MoneyError::TooManyDecimals(text.trim().to_string())),
        }
    }
    use super::*;

    #[test]
    fn pack_round_trips() {
        let texts = [
            "1234.56",
            "1.234,56",
            "1,234",
            "1.234",
            "12",
            ",5",
            "-1.234.567",
            "R$ 10,00",
        ];
        for text in texts {
            let r = read_money(text).unwrap();
            let (cents, packed) = r.pack();
            assert_eq!(MoneyReading::unpack(cents, packed), r, "{text}");
        }
        let r = MoneyReading::neutral(-7);
        assert_eq!(MoneyReading::unpack(r.pack().0, r.pack().1), r);
    }
    use crate::source::SheetNumber;
    use DecimalSeparator::{Comma, Point};
    use proptest::prelude::*;

    fn cents(text: &str, sep: DecimalSeparator) -> Result<i64, MoneyError> {
        read_money(text)?.cents(sep)
    }

    #[test]
    fn plain_and_grouped_forms() {
        assert_eq!(cents("1234.56", Point), Ok(123_456));
        assert_eq!(cents("1,234.56", Point), Ok(123_456));
        assert_eq!(cents("1.234,56", Comma), Ok(123_456));
        assert_eq!(cents("1234,56", Comma), Ok(123_456));
        assert_eq!(cents("10", Point), Ok(1000));
        assert_eq!(cents("10", Comma), Ok(1000));
        assert_eq!(cents("12,5", Comma), Ok(1250));
        assert_eq!(cents("1.234.567", Comma), Ok(123_456_700));
        assert_eq!(cents("1,234,567", Point), Ok(123_456_700));
        assert_eq!(cents(",50", Comma), Ok(50));
        assert_eq!(cents("0.05", Point), Ok(5));
    }

    /// Found by a review: a space typed for the decimal comma (`10 50`) was dropped, and the
    /// price sent 100 times too large; spaces inside digits must group thousands.
    #[test]
    fn spaces_inside_digits_group_thousands_or_are_an_error() {
        assert_eq!(cents("1 234,56", Comma), Ok(123_456));
        assert_eq!(cents("1 234 567.89", Point), Ok(123_456_789));
        assert_eq!(cents("R$ 12 345", Comma), Ok(1_234_500));
        assert_eq!(cents("-1\u{a0}234,56", Comma), Ok(-123_456));
        for bad in [
            "10 50", "1 0,50", "12 34.50", "1 2 3", "2 00", "1234 567", "1 234 56", "10 ,50",
            "10, 50",
        ] {
            assert!(
                matches!(read_money(bad), Err(MoneyError::SpaceInDigits(_))),
                "{bad}: {:?}",
                read_money(bad)
            );
        }
    }

    #[test]
    fn currency_signs_and_spaces() {
        assert_eq!(cents("R$ 1.234,56", Comma), Ok(123_456));
        assert_eq!(cents("$12.00", Point), Ok(1200));
        assert_eq!(cents("BRL 10", Point), Ok(1000));
        assert_eq!(cents("10 brl", Point), Ok(1000));
        assert_eq!(cents("US$ 5.10", Point), Ok(510));
        assert_eq!(cents("12,00 €", Comma), Ok(1200));
        assert_eq!(cents("  R$\u{a0}1\u{a0}234,56 ", Comma), Ok(123_456));
        assert_eq!(cents("-R$ 10,00", Comma), Ok(-1000));
        assert_eq!(cents("R$ -10,00", Comma), Ok(-1000));
        assert_eq!(cents("(10.00)", Point), Ok(-1000));
        assert_eq!(cents("10,00-", Comma), Ok(-1000));
        assert_eq!(cents("+7", Point), Ok(700));
    }

    #[test]
    fn errors_that_do_not_depend_on_the_separator() {
        assert_eq!(read_money("  "), Err(MoneyError::Empty));
        assert!(matches!(read_money("abc"), Err(MoneyError::NotAnAmount(_))));
        // Found by a review: Excel's accounting zero, saved as shown, was not an amount.
        for dash in ["-", " - ", "R$ -", "R$ - ", "$ -", "- €"] {
            let r = read_money(dash).unwrap_or_else(|e| panic!("{dash}: {e}"));
            assert_eq!(r.cents(DecimalSeparator::Comma), Ok(0), "{dash}");
            assert_eq!(r.cents(DecimalSeparator::Point), Ok(0), "{dash}");
        }
        for not in ["()", "--", "R$", "- -", "+"] {
            assert!(read_money(not).is_err(), "{not}");
        }
        assert!(matches!(read_money("R$"), Err(MoneyError::NotAnAmount(_))));
        assert!(matches!(
            read_money("10.00 XYZ"),
            Err(MoneyError::NotAnAmount(_))
        ));
        assert!(matches!(read_money("--5"), Err(MoneyError::TwoSigns(_))));
        assert!(read_money("-(5)").is_err());
        assert!(read_money("12.345").is_ok()); // ambiguous, not an error yet
        assert!(matches!(
            read_money("12.3456"),
            Err(MoneyError::TooManyDecimals(_))
        ));
        assert!(matches!(
            read_money("0,500"),
            Err(MoneyError::TooManyDecimals(_))
        ));
        assert!(matches!(
            read_money("1,2,3"),
            Err(MoneyError::BadGrouping(_))
        ));
        assert!(matches!(
            read_money("1.234,5.6"),
            Err(MoneyError::BadGrouping(_))
        ));
        assert!(matches!(read_money("10."), Err(MoneyError::NotAnAmount(_))));
        assert!(matches!(
            read_money("1..0"),
            Err(MoneyError::NotAnAmount(_))
        ));
        assert!(matches!(
            read_money("99999999999999999999"),
            Err(MoneyError::TooLarge(_))
        ));
    }

    #[test]
    fn ambiguous_and_minority_values() {
        let r = read_money("1,234").unwrap();
        assert_eq!(r.evidence(), Evidence::Ambiguous);
        assert_eq!(r.cents(Point), Ok(123_400));
        assert_eq!(r.cents(Comma), Err(MoneyError::ThreeDecimalsUnder(',')));
        let r = read_money("12,50").unwrap();
        assert_eq!(r.evidence(), Evidence::Comma);
        assert!(matches!(
            r.cents(Point),
            Err(MoneyError::OtherSeparator {
                column: '.',
                value: ','
            })
        ));
        assert_eq!(read_money("10").unwrap().evidence(), Evidence::Neutral);
        assert_eq!(read_money("1.234,56").unwrap().evidence(), Evidence::Comma);
        assert_eq!(read_money("12.50").unwrap().evidence(), Evidence::Point);
    }

    #[test]
    fn votes() {
        let vote = |texts: &[&str]| {
            let mut v = SeparatorVote::default();
            for t in texts {
                v.observe(&read_money(t).unwrap());
            }
            v
        };
        assert_eq!(vote(&["10", "20"]).resolve(None), Ok(Point));
        assert!(vote(&["1,234", "10"]).resolve(None).is_err());
        assert_eq!(vote(&["1,234"]).resolve(Some(Comma)), Ok(Comma));
        assert_eq!(vote(&["1,234", "12,50"]).resolve(None), Ok(Comma));
        assert_eq!(vote(&["1.50", "2.50", "12,50"]).resolve(None), Ok(Point));
        assert!(vote(&["1.50", "12,50"]).resolve(None).is_err());
        let mut a = vote(&["1,50"]);
        a.merge(vote(&["2,50"]));
        assert_eq!(a.resolve(None), Ok(Comma));
        let msg = vote(&["1,234"]).resolve(None).unwrap_err().to_string();
        assert!(msg.contains("--decimal-comma"), "{msg}");
    }

    #[test]
    fn cells() {
        assert_eq!(money_from_cell(CellRef::Empty), Ok(None));
        assert_eq!(money_from_cell(CellRef::Text("  ")), Ok(None));
        let r = money_from_cell(CellRef::Number(SheetNumber(2.5499999999999998)))
            .unwrap()
            .unwrap();
        assert_eq!((r.evidence(), r.cents(Comma)), (Evidence::Neutral, Ok(255)));
        assert!(money_from_cell(CellRef::Number(SheetNumber(12.345))).is_err());
        let err = money_from_cell(CellRef::Error("#N/A")).unwrap_err();
        assert_eq!(err.to_string(), "#N/A is a formula error, not an amount");
        assert!(money_from_cell(CellRef::Bool(true)).is_err());
    }

    #[test]
    fn formatting() {
        assert_eq!(format_cents(123_456, Point), "1,234.56");
        assert_eq!(format_cents(123_456, Comma), "1.234,56");
        assert_eq!(format_cents(5, Point), "0.05");
        assert_eq!(format_cents(-100_000_000, Comma), "-1.000.000,00");
        assert_eq!(format_cents(i64::MIN, Point), "-92,233,720,368,547,758.08");
    }

    #[test]
    fn reading_is_compact() {
        assert!(std::mem::size_of::<MoneyReading>() <= 24);
    }

    proptest! {
        // Many cases: the shapes that tell quick's checks apart are a small share of these.
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn the_quick_reading_is_the_shape_reading_for_grouped_shapes(
            body in "0?[0-9]{0,4}([.,][0-9]{2,4}){0,3}[.,][0-9]{1,3}|[0-9]{1,20}",
        ) {
            // Shapes near the grouped amounts quick reads: runs of about three digits, a
            // leading zero, two decimals or not; and whole numbers up to past an i64's cents.
            if let Some(quick) = quick(body.as_bytes()) {
                prop_assert_eq!(Ok(quick), read_body(body.as_bytes(), &body), "{}", body);
            }
        }
    }

    proptest! {
        #[test]
        fn a_currency_before_a_bare_amount_reads_as_the_long_way_does(
            currency in prop::sample::select(vec!["R$", "$", "US$", "€", "BRL", "usd", "R", ""]),
            space in prop::sample::select(vec!["", " ", "  ", "\u{a0}"]),
            body in "[0-9.,-]{0,14}",
        ) {
            // A leading space is trimmed by the long way only, so it gives the reference.
            let text = format!("{currency}{space}{body}");
            let long_way = read_money(&format!(" {text}"));
            prop_assert_eq!(format!("{:?}", read_money(&text)), format!("{long_way:?}"));
        }

        #[test]
        fn the_quick_reading_is_the_shape_reading(body in "[0-9.,]{0,24}") {
            if let Some(quick) = quick(body.as_bytes()) {
                prop_assert_eq!(Ok(quick), read_body(body.as_bytes(), &body), "{}", body);
            }
        }

        #[test]
        fn the_quick_reading_covers_plain_amounts(
            c in 0i64..100_000_000_000_000,
            sep in prop::sample::select(vec![Point, Comma]),
            grouped in any::<bool>(),
        ) {
            // As ERPs write amounts: always two decimals, grouped or not.
            let mut text = format_cents(c, sep);
            if !grouped {
                let group = if sep == Point { ',' } else { '.' };
                text.retain(|ch| ch != group);
            }
            let quick = quick(text.as_bytes());
            prop_assert!(quick.is_some(), "{}", text);
            prop_assert_eq!(quick.map(|r| r.cents(sep)), Some(Ok(c)));
            prop_assert_eq!(Ok(quick.unwrap()), read_body(text.as_bytes(), &text));
        }

        #[test]
        fn one_pass_body_reads_as_the_multi_pass_one(body in "[0-9.,]{0,40}") {
            let old = read_body_reference(body.as_bytes(), &body);
            let new = read_body(body.as_bytes(), &body);
            prop_assert_eq!(format!("{new:?}"), format!("{old:?}"));
        }

        #[test]
        fn one_pass_body_agrees_on_amount_like_text(
            int in "[0-9]{0,22}",
            grouping in prop::sample::select(vec!["", ".", ","]),
            decimal in prop::sample::select(vec!["", ".", ","]),
            frac in "[0-9]{0,4}",
        ) {
            // Digits grouped by threes, as amounts are written, then a fraction.
            let mut body = String::new();
            for (i, c) in int.chars().enumerate() {
                if i > 0 && (int.len() - i) % 3 == 0 {
                    body.push_str(grouping);
                }
                body.push(c);
            }
            body.push_str(decimal);
            body.push_str(&frac);
            let old = read_body_reference(body.as_bytes(), &body);
            let new = read_body(body.as_bytes(), &body);
            prop_assert_eq!(format!("{new:?}"), format!("{old:?}"));
        }
        #[test]
        fn round_trips_in_both_locales(c in -1_000_000_000_000_000i64..1_000_000_000_000_000) {
            for sep in [Point, Comma] {
                let text = format_cents(c, sep);
                let r = read_money(&text).unwrap();
                prop_assert_eq!(r.cents(sep), Ok(c), "{}", text);
                let mut vote = SeparatorVote::default();
                vote.observe(&r);
                prop_assert_eq!(vote.resolve(None), Ok(sep));
            }
        }

        #[test]
        fn garbage_never_panics(s in "\\PC{0,40}") {
            if let Ok(r) = read_money(&s) {
                let _ = r.cents(Point);
                let _ = r.cents(Comma);
            }
        }

        #[test]
        fn money_like_garbage_never_panics(s in "[-+( )R$€0-9.,\u{a0}BRLusd]{0,30}") {
            if let Ok(r) = read_money(&s) {
                let _ = r.cents(Point);
                let _ = r.cents(Comma);
            }
        }
    }
}
