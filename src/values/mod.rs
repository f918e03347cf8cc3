//! Text → typed values (money in cents, timestamps, ids, quantities), with precise errors.
//!
//! Every function here takes one cell and says exactly what is wrong with it; messages stand
//! alone after the caller's "file, sheet, row, column: " prefix.

pub mod date;
pub mod id;
mod kind;
pub mod money;
mod quantity;

/// Why a free-text, URL, quantity, type or id cell is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("{0} is a formula error, not a value")]
    FormulaError(String),
    #[error("{}", crate::source::UNCALCULATED)]
    Uncalculated,
    #[error("'{0}' is a {1} cell; expected {2}")]
    WrongCellType(String, &'static str, &'static str),
    #[error(
        "'{0}' looks like Excel has mangled this id into scientific notation; format the column as \
         Text and re-export"
    )]
    ScientificNotation(String),
    #[error(
        "{0} has more digits than a spreadsheet number keeps (15), so digits were probably lost; \
         format the column as Text and re-export"
    )]
    TooManyDigits(String),
    #[error(
        "{0} is 15 digits and then {1} zeros, as a spreadsheet writes a long number it has \
         rounded to the 15 digits it keeps: the digits after the 15th were lost; format the \
         column as Text and re-export"
    )]
    RoundedCode(String, usize),
    #[error("id '{0}…' is {1} characters long; ids are at most 100")]
    IdTooLong(String, usize),
    #[error("id {0:?} contains a control character (NUL, tab, line break…)")]
    ControlChar(String),
    #[error(
        "id {0:?} contains an invisible character ({1}) that no one sees but VTEX would keep, \
         so the same id would be two; retype the id"
    )]
    InvisibleChar(String, String),
    #[error(
        "id '{0}' has a digit that is not 0-9 ('{1}', as a full-width font writes it); retype it"
    )]
    ForeignDigit(String, char),
    #[error(
        "'{0}' is a spreadsheet formula, not an id; put the id itself in the cell (or \
         =\"000123\" to keep its zeros)"
    )]
    FormulaId(String),
    #[error("{0} is a number with decimals, not an id")]
    FractionalId(String),
    #[error(
        "id '{value}' is written as a formatted number (a decimal part or thousands \
         separators, as a program that read the column as numbers writes it back): write the \
         digits alone, {digits}, or VTEX gets another id"
    )]
    DecimalId { value: String, digits: String },
    #[error("{0} is a negative number, not an id")]
    NegativeId(String),
    #[error("invoice number '{value}' contains {what}, which VTEX's later steps can't handle")]
    BadInvoiceChar { value: String, what: String },
    #[error(
        "invoice number '{value}' is written as a formatted number (thousands separators or a \
         decimal part, as a spreadsheet or an invoice print shows it): write the digits alone, \
         {digits}, or VTEX books it as another invoice"
    )]
    FormattedInvoiceNumber { value: String, digits: String },
    #[error("'{0}' is not an absolute http(s) URL")]
    NotAUrl(String),
    #[error("quantity '{0}' is not a whole number")]
    NotWhole(String),
    #[error(
        "quantity '{0}' is ambiguous: thousands separator or decimal point? write it without separators"
    )]
    AmbiguousQuantity(String),
    #[error("quantity {0} must be at least 1")]
    NotPositive(String),
    #[error("quantity '{0}' is too large")]
    QuantityTooLarge(String),
    #[error("'{0}' is not an invoice type; use Output (Saída) or Input (Entrada)")]
    NotAType(String),
}

/// Trims cell text, with the space characters spreadsheets insert.
pub(crate) fn trim(text: &str) -> &str {
    if is_trimmed(text) {
        return text;
    }
    text.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '\u{a0}' | '\u{202f}' | '\u{2009}' | '\u{feff}')
    })
}

/// True when `text` starts and ends with a visible ASCII character, so no trimming can change
/// it: every space character, ASCII or not, is either at most `' '` or outside ASCII. Most cells
/// are like this, and this costs two comparisons where a trim walks chars.
pub(crate) fn is_trimmed(text: &str) -> bool {
    fn visible(b: u8) -> bool {
        b > b' ' && b.is_ascii()
    }
    let bytes = text.as_bytes();
    matches!((bytes.first(), bytes.last()), (Some(&a), Some(&z)) if visible(a) && visible(z))
}
