//! Ids, invoice numbers, free text and URLs: text that must come through exactly as the user
//! meant it (leading zeros kept, no ".0", no scientific notation).
//!
//! Quantities and invoice types live in their own files and are re-exported here, so callers
//! find every "cell → small typed value" function under `values::id`.

use std::borrow::Cow;

use super::{ValueError, trim};
use crate::source::CellRef;

pub use super::kind::{InvoiceType, invoice_type_from_cell};
pub use super::quantity::quantity_from_cell;

/// Id errors share [`ValueError`]: one vocabulary for every small-value cell.
pub type IdError = ValueError;

/// Spreadsheet numbers keep 15 significant digits; a numeric id at or past this was rounded.
const MAX_EXACT_ID: f64 = 1e15;

/// Longest id accepted, in characters. VTEX order ids are about 16; a sane invoice number or SKU
/// is under 60. A longer cell is a pasted paragraph or a hostile file, not an id, and would
/// only be echoed into URLs and reports.
const MAX_ID_CHARS: usize = 100;

/// An order or item id: trimmed text, or a whole number cell written without ".0". `Ok(None)`
/// when blank. Text cells are borrowed: grouping reads millions of ids and keeps few of them.
pub fn id_from_cell(cell: CellRef<'_>) -> Result<Option<Cow<'_, str>>, IdError> {
    let id = any_id_from_cell(cell)?;
    // Bug: `123.0` in a CSV (a program that read the id column as numbers wrote it back) was
    // sent as the id `123.0`, another SKU or order than 123; then (a review of the fix)
    // `4.501,00` and `1.000`. Invoice numbers have their own message for it.
    if let Some(id) = &id
        && id.bytes().any(|b| b == b'.' || b == b',')
        && let Some(digits) = formatted_number(id)
    {
        return Err(ValueError::DecimalId {
            value: id.to_string(),
            digits,
        });
    }
    Ok(id)
}

/// An id by the rules every id follows: trimmed text, or a whole number cell written without
/// ".0".
fn any_id_from_cell(cell: CellRef<'_>) -> Result<Option<Cow<'_, str>>, IdError> {
    match cell {
        CellRef::Empty => Ok(None),
        CellRef::Text(t) => {
            // Excel's mark of text (`'1172452900000-01`) is never part of an id; before digits
            // alone it was taken off with the other marks (`source::unescape_formula`).
            let t = trim(t);
            let t = t.strip_prefix('\'').map_or(t, trim);
            if t.is_empty() {
                Ok(None)
            } else if t.len() > MAX_ID_CHARS && t.chars().nth(MAX_ID_CHARS).is_some() {
                let head: String = t.chars().take(20).collect();
                Err(ValueError::IdTooLong(head, t.chars().count()))
            } else if let Some((maybe_scientific, control)) = scan_ascii_id(t)
                && !control
                && !maybe_scientific
                && !t.starts_with('=')
            {
                Ok(Some(Cow::Borrowed(t)))
            } else if t.starts_with('=') {
                // `="000123"` was read as its text already (`source::unescape_formula`); what
                // is left would be computed by a spreadsheet, and sent as written here.
                Err(ValueError::FormulaId(t.to_string()))
            } else if has_control(t) {
                Err(ValueError::ControlChar(t.to_string()))
            } else if let Some(c) = t.chars().find(|&c| is_invisible(c)) {
                let name = format!("U+{:04X}", u32::from(c));
                Err(ValueError::InvisibleChar(t.to_string(), name))
            } else if let Some(c) = t.chars().find(|c| c.is_numeric() && !c.is_ascii_digit()) {
                Err(ValueError::ForeignDigit(t.to_string(), c))
            } else if looks_scientific(t) {
                Err(ValueError::ScientificNotation(t.to_string()))
            } else {
                Ok(Some(Cow::Borrowed(t)))
            }
        }
        CellRef::Number(n) => match n.whole() {
            // `-4505`: a sum or a difference, not an id anyone typed.
            Some(v) if v < 0 && (v as f64) > -MAX_EXACT_ID => {
                Err(ValueError::NegativeId(n.to_text()))
            }
            Some(v) if (v as f64).abs() < MAX_EXACT_ID => Ok(Some(Cow::Owned(v.to_string()))),
            // Past 2^53 a number has no decimals to speak of: its trouble is its digits.
            Some(_) => Err(ValueError::TooManyDigits(n.to_text())),
            None if n.0.abs() >= MAX_EXACT_ID => Err(ValueError::TooManyDigits(n.to_text())),
            None => Err(ValueError::FractionalId(n.to_text())),
        },
        CellRef::DateTime(dt) => Err(ValueError::WrongCellType(
            crate::source::datetime_text(dt),
            "date",
            "an id",
        )),
        CellRef::Bool(b) => Err(ValueError::WrongCellType(
            if b { "TRUE" } else { "FALSE" }.to_string(),
            "true/false",
            "an id",
        )),
        CellRef::Error(e) => Err(ValueError::FormulaError(e.to_string())),
        CellRef::Uncalculated => Err(ValueError::Uncalculated),
    }
}

fn has_control(t: &str) -> bool {
    if t.is_ascii() {
        t.bytes().any(|b| b.is_ascii_control())
    } else {
        t.chars().any(char::is_control)
    }
}

/// A format character (Unicode's Cf: zero-width spaces and joiners, a soft hyphen, direction
/// marks, a byte-order mark inside text): it shows as nothing, so two ids that look the same
/// would differ.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{600}'..='\u{605}'
            | '\u{61c}'
            | '\u{6dd}'
            | '\u{70f}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    )
}

/// What one pass over an id's bytes tells: whether it may be scientific notation (has an 'e'
/// or 'E'), and whether it has a control character; most ids are short ASCII and are judged
/// here without walking chars.
fn scan_ascii_id(t: &str) -> Option<(bool, bool)> {
    // No early exit: the loop then runs on whole vectors of bytes.
    let (mut high, mut e, mut control) = (0u8, false, false);
    for b in t.bytes() {
        high |= b;
        e |= (b | 0x20) == b'e';
        control |= b < 0x20 || b == 0x7f;
    }
    high.is_ascii().then_some((e, control))
}

/// "1.17245E+12", "1,17245E+12" (Brazilian Excel): what Excel shows for a long number. The
/// "+" is required: Excel always writes it, and ids like "2E5" exist.
fn looks_scientific(t: &str) -> bool {
    let Some((mantissa, exp)) = t.split_once(['e', 'E']) else {
        return false;
    };
    let Some(exp) = exp.strip_prefix('+') else {
        return false;
    };
    let (int, frac) = mantissa.split_once(['.', ',']).unwrap_or((mantissa, ""));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !exp.is_empty()
        && exp.bytes().all(|b| b.is_ascii_digit())
}

/// An invoice number without its leading zeros: `000123` and `123` are one invoice to a person,
/// and two to VTEX.
pub fn unpadded(number: &str) -> &str {
    number.trim_start_matches('0')
}

/// The digits of an invoice number written as a formatted number: `4.501` (pt-BR thousands),
/// `000.004.501` (as an invoice print shows it), `4501.0` or `4501,00` (a float export), which
/// are `4501` or `000004501` to a person and another invoice to VTEX. `None` for anything else,
/// `2024.00123` and `1.2` included: not how a whole number is formatted.
fn formatted_number(id: &str) -> Option<String> {
    let is_sep = |b: u8| b == b'.' || b == b',';
    let bytes = id.as_bytes();
    if !bytes.iter().any(|&b| is_sep(b)) || !bytes.iter().all(|&b| b.is_ascii_digit() || is_sep(b))
    {
        return None;
    }
    // 1–3 digits, then groups of three after each separator.
    let grouped = |s: &str| {
        let mut parts = s.split(['.', ',']);
        let first = parts.next().unwrap_or_default();
        let mut groups = 0;
        (1..=3).contains(&first.len())
            && parts.all(|p| {
                groups += 1;
                p.len() == 3
            })
            && groups > 0
    };
    let whole = match id.rfind(['.', ',']) {
        _ if grouped(id) => id,
        Some(i) => {
            let (int, zeros) = (&id[..i], &id[i + 1..]);
            let whole_int = !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit());
            let zero_decimals = !zeros.is_empty() && zeros.bytes().all(|b| b == b'0');
            if !(zero_decimals && (whole_int || grouped(int))) {
                return None;
            }
            int
        }
        None => return None,
    };
    Some(whole.chars().filter(char::is_ascii_digit).collect())
}

/// An invoice number: id rules, and none of '/', '#', '?', '%' or inner whitespace, which
/// break the URLs of VTEX's later invoice calls.
pub fn invoice_number_from_cell(cell: CellRef<'_>) -> Result<Option<Cow<'_, str>>, IdError> {
    let Some(id) = any_id_from_cell(cell)? else {
        return Ok(None);
    };
    // Without an early exit, so that it runs on whole vectors of bytes.
    let clean_ascii = id.bytes().fold(true, |ok, b| {
        ok & b.is_ascii_graphic() & (b != b'/') & (b != b'#') & (b != b'?') & (b != b'%')
    });
    if clean_ascii {
        if let Some(digits) = formatted_number(&id) {
            return Err(ValueError::FormattedInvoiceNumber {
                value: id.into_owned(),
                digits,
            });
        }
        return Ok(Some(id));
    }
    let bad = id.chars().find_map(|c| match c {
        '/' => Some("a slash '/'".to_string()),
        '#' => Some("'#'".to_string()),
        '?' => Some("'?'".to_string()),
        '%' => Some("'%'".to_string()),
        c if c.is_whitespace() => Some("a space".to_string()),
        _ => None,
    });
    match bad {
        Some(what) => Err(ValueError::BadInvoiceChar {
            value: id.into_owned(),
            what,
        }),
        None => Ok(Some(id)),
    }
}

/// Free text (description, courier, tracking number, invoice key): trimmed, `None` when blank;
/// number cells as their shortest text, dates as ISO, booleans as TRUE/FALSE.
pub fn text_from_cell(cell: CellRef<'_>) -> Result<Option<Cow<'_, str>>, ValueError> {
    let text = match cell {
        CellRef::Empty => return Ok(None),
        CellRef::Text(t) => Cow::Borrowed(trim(t)),
        CellRef::Number(n) => Cow::Owned(n.to_text()),
        CellRef::DateTime(dt) => Cow::Owned(crate::source::datetime_text(dt)),
        CellRef::Bool(b) => Cow::Borrowed(if b { "TRUE" } else { "FALSE" }),
        CellRef::Error(e) => return Err(ValueError::FormulaError(e.to_string())),
        CellRef::Uncalculated => return Err(ValueError::Uncalculated),
    };
    Ok((!text.is_empty()).then_some(text))
}

/// A code that identifies something (an invoice's access key, a tracking number): free text,
/// but not a spreadsheet formula, which a spreadsheet would show computed and this tool would
/// send as written (`="…"` was read as its text already), nor a long number a spreadsheet has
/// rounded: a 44-digit access key in a number cell keeps 15 of its digits, and as text it
/// reads `3.52611E+43`.
pub fn code_from_cell(cell: CellRef<'_>) -> Result<Option<Cow<'_, str>>, ValueError> {
    if let CellRef::Number(_) = cell {
        return id_from_cell(cell);
    }
    match text_from_cell(cell)? {
        Some(code) if code.starts_with('=') => Err(ValueError::FormulaId(code.into_owned())),
        Some(code) if code.contains('+') && looks_scientific(&code) => {
            Err(ValueError::ScientificNotation(code.into_owned()))
        }
        Some(code) if rounded_by_a_spreadsheet(&code) => {
            let zeros = code.len() - SPREADSHEET_DIGITS;
            Err(ValueError::RoundedCode(code.into_owned(), zeros))
        }
        code => Ok(code),
    }
}

/// The significant digits a spreadsheet number keeps.
const SPREADSHEET_DIGITS: usize = 15;

/// Whether `code` is a long number as a spreadsheet writes it out once it has rounded it: 15
/// digits, then only zeros (found by a review: a 44-digit access key so cut passed as text).
/// At least five zeros, which a real code of 20 digits or more ends in about once in 100,000.
fn rounded_by_a_spreadsheet(code: &str) -> bool {
    code.len() >= SPREADSHEET_DIGITS + 5
        && code.bytes().all(|b| b.is_ascii_digit())
        && code
            .as_bytes()
            .get(SPREADSHEET_DIGITS..)
            .is_some_and(|rest| rest.iter().all(|&b| b == b'0'))
}

/// An absolute http(s) URL (a tracking link), `None` when blank.
pub fn url_from_cell(cell: CellRef<'_>) -> Result<Option<Cow<'_, str>>, ValueError> {
    let Some(text) = text_from_cell(cell)? else {
        return Ok(None);
    };
    match url::Url::parse(&text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(Some(text)),
        _ => Err(ValueError::NotAUrl(text.into_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SheetNumber;
    use proptest::prelude::*;

    #[test]
    fn codes_a_spreadsheet_rounded_are_refused() {
        let cut = format!("35261112345678{}", "0".repeat(30));
        assert_eq!(cut.len(), 44);
        let e = code_from_cell(CellRef::Text(&cut)).unwrap_err();
        assert!(e.to_string().contains("15 digits and then 29 zeros"), "{e}");
        // A real key, a short code ending in zeros, and a code with letters pass.
        let key = "35261112345678000190550010000001231000001230";
        assert_eq!(code_from_cell(CellRef::Text(key)), Ok(Some(key.into())));
        assert!(code_from_cell(CellRef::Text("1234567890123450000")).is_ok());
        assert!(code_from_cell(CellRef::Text("BR123456789012345000000")).is_ok());
    }

    /// Found by a review: `123.0` as a CSV's item or order id was sent as written.
    #[test]
    fn ids_a_program_wrote_as_decimals_are_refused() {
        for (text, digits) in [
            ("123.0", "123"),
            ("4501,00", "4501"),
            (" 0042.000 ", "0042"),
            ("4.501,00", "4501"),
            ("1.000", "1000"),
            ("123.000", "123000"),
        ] {
            let e = id_from_cell(CellRef::Text(text)).unwrap_err();
            assert_eq!(
                e,
                ValueError::DecimalId {
                    value: text.trim().to_string(),
                    digits: digits.to_string()
                }
            );
            assert!(
                e.to_string().contains(&format!("digits alone, {digits},")),
                "{e}"
            );
        }
        for fine in ["12.5", "1.25", "A1.0", "1.0.0", ".0", "123.", "SKU-1,00A"] {
            assert_eq!(
                id_from_cell(CellRef::Text(fine)),
                Ok(Some(fine.into())),
                "{fine}"
            );
        }
        // Invoice numbers keep their own message for it.
        assert!(matches!(
            invoice_number_from_cell(CellRef::Text("4501.0")),
            Err(ValueError::FormattedInvoiceNumber { .. })
        ));
    }

    #[test]
    fn ids() {
        assert_eq!(id_from_cell(CellRef::Text(" 007 ")), Ok(Some("007".into())));
        assert_eq!(
            id_from_cell(CellRef::Text("C536379")),
            Ok(Some("C536379".into()))
        );
        assert_eq!(
            id_from_cell(CellRef::Number(SheetNumber(536365.0))),
            Ok(Some("536365".into()))
        );
        assert_eq!(id_from_cell(CellRef::Text("  ")), Ok(None));
        assert_eq!(id_from_cell(CellRef::Empty), Ok(None));
        let e = id_from_cell(CellRef::Text("1.17245E+12")).unwrap_err();
        assert!(e.to_string().contains("scientific notation"), "{e}");
        assert!(id_from_cell(CellRef::Text("1,17245E+12")).is_err());
        assert!(id_from_cell(CellRef::Text("1E+15")).is_err());
        assert!(id_from_cell(CellRef::Text("2e5")).is_ok());
        // Real ids that merely contain an E are fine.
        assert!(id_from_cell(CellRef::Text("E123")).is_ok());
        assert!(id_from_cell(CellRef::Text("12E")).is_ok());
        assert!(id_from_cell(CellRef::Text("85123A")).is_ok());
        assert!(id_from_cell(CellRef::Number(SheetNumber(1.5))).is_err());
        assert!(id_from_cell(CellRef::Number(SheetNumber(1.17245e16))).is_err());
        // Found by a review: a 19-digit id cell was said to have decimals; it has too many
        // digits, like any number past 15.
        for big in [1_172_452_900_123_456_789.0, 1e15, -2e17] {
            let e = id_from_cell(CellRef::Number(SheetNumber(big))).unwrap_err();
            assert!(matches!(e, ValueError::TooManyDigits(_)), "{big}: {e}");
        }
        assert!(matches!(
            id_from_cell(CellRef::Number(SheetNumber(12.5))),
            Err(ValueError::FractionalId(_))
        ));
        assert!(id_from_cell(CellRef::Error("#N/A")).is_err());
        assert!(id_from_cell(CellRef::Bool(true)).is_err());
        // Found by a review: Excel's text mark before an id that is not digits alone was sent.
        assert_eq!(
            id_from_cell(CellRef::Text("'1172452900000-01")),
            Ok(Some("1172452900000-01".into()))
        );
        assert_eq!(
            id_from_cell(CellRef::Text(" ' NF-1 ")),
            Ok(Some("NF-1".into()))
        );
        assert_eq!(id_from_cell(CellRef::Text("'")), Ok(None));
        // Found by a review: a number cell -4505 was sent as invoice number "-4505".
        assert_eq!(
            id_from_cell(CellRef::Number(SheetNumber(-4505.0))),
            Err(ValueError::NegativeId("-4505".into()))
        );
        assert_eq!(
            id_from_cell(CellRef::Number(SheetNumber(0.0))),
            Ok(Some("0".into()))
        );
    }

    /// Found by a review: a 44-digit access key that a spreadsheet had rounded was sent as
    /// `35261112345678000000000000000000000000000000` from a number cell and as `3.52611E+43`
    /// from a CSV.
    #[test]
    fn codes_a_spreadsheet_rounded_are_errors() {
        let key = 3.526_111_234_567_8e43;
        assert!(matches!(
            code_from_cell(CellRef::Number(SheetNumber(key))),
            Err(ValueError::TooManyDigits(_))
        ));
        assert!(matches!(
            code_from_cell(CellRef::Text("3.52611E+43")),
            Err(ValueError::ScientificNotation(_))
        ));
        assert!(matches!(
            code_from_cell(CellRef::Text("3,52611E+43")),
            Err(ValueError::ScientificNotation(_))
        ));
        assert_eq!(
            code_from_cell(CellRef::Number(SheetNumber(123456.0))),
            Ok(Some("123456".into()))
        );
        for code in [
            "BR123456789E+X",
            "AA123456789BR",
            "1E5",
            "35261112345678000199550010000045011221408380",
        ] {
            assert_eq!(code_from_cell(CellRef::Text(code)), Ok(Some(code.into())));
        }
        assert!(matches!(
            code_from_cell(CellRef::Text("=A1")),
            Err(ValueError::FormulaId(_))
        ));
    }

    #[test]
    fn invoice_numbers() {
        assert_eq!(
            invoice_number_from_cell(CellRef::Text("NF-000123")),
            Ok(Some("NF-000123".into()))
        );
        for bad in ["12/34", "12#3", "a?b", "50%", "12 34"] {
            let e = invoice_number_from_cell(CellRef::Text(bad)).unwrap_err();
            assert!(matches!(e, ValueError::BadInvoiceChar { .. }), "{bad}: {e}");
        }
        assert_eq!(
            invoice_number_from_cell(CellRef::Text(" 12 ")),
            Ok(Some("12".into()))
        );
        // A whole number formatted, by a spreadsheet or as an invoice print shows it: the
        // digits alone are its number.
        for (formatted, digits) in [
            ("4.501", "4501"),
            ("000.004.501", "000004501"),
            ("4501.0", "4501"),
            ("4501,00", "4501"),
            ("4.501,00", "4501"),
            ("1,234,567", "1234567"),
            ("4.000", "4000"),
        ] {
            assert_eq!(
                invoice_number_from_cell(CellRef::Text(formatted)),
                Err(ValueError::FormattedInvoiceNumber {
                    value: formatted.into(),
                    digits: digits.into()
                }),
                "{formatted}"
            );
        }
        // Not how a whole number is formatted: kept as written.
        for kept in [
            "2024.00123",
            "1.2",
            "12.34",
            "NF-4.501",
            "4.5.1",
            "4501.",
            ".501",
        ] {
            assert_eq!(
                invoice_number_from_cell(CellRef::Text(kept)),
                Ok(Some(kept.into())),
                "{kept}"
            );
        }
    }

    #[test]
    fn text_and_urls() {
        assert_eq!(
            text_from_cell(CellRef::Text(" Correios ")),
            Ok(Some("Correios".into()))
        );
        assert_eq!(
            text_from_cell(CellRef::Number(SheetNumber(2.5))),
            Ok(Some("2.5".into()))
        );
        assert_eq!(text_from_cell(CellRef::Text("")), Ok(None));
        assert_eq!(
            url_from_cell(CellRef::Text("https://track.example/x?id=1")),
            Ok(Some("https://track.example/x?id=1".into()))
        );
        assert!(url_from_cell(CellRef::Text("track.example/x")).is_err());
        assert!(url_from_cell(CellRef::Text("ftp://x.example/")).is_err());
    }

    proptest! {
        #[test]
        fn ids_keep_leading_zeros(s in "0{1,5}[0-9A-Za-z-]{0,12}") {
            let padded = format!("  {s} ");
            prop_assert_eq!(id_from_cell(CellRef::Text(&padded)), Ok(Some(s.clone().into())));
        }

        #[test]
        fn garbage_never_panics(s in "\\PC{0,40}") {
            let _ = id_from_cell(CellRef::Text(&s));
            let _ = invoice_number_from_cell(CellRef::Text(&s));
            let _ = url_from_cell(CellRef::Text(&s));
        }
    }

    #[test]
    fn control_characters_and_huge_cells_are_not_ids() {
        for bad in ["NF\u{0}1", "12\u{7}3", "A\u{1b}[31mB"] {
            let e = id_from_cell(CellRef::Text(bad)).unwrap_err();
            assert!(matches!(e, ValueError::ControlChar(_)), "{bad:?}: {e}");
        }
        // Found by a review: ids that look alike were two invoices on one order, and VTEX got
        // the invisible characters.
        for (bad, shown) in [
            ("3003\u{200b}", "U+200B"),
            ("id\u{ad}G", "U+00AD"),
            ("1009\u{2060}", "U+2060"),
            ("S\u{feff}1", "U+FEFF"),
        ] {
            let e = id_from_cell(CellRef::Text(bad)).unwrap_err();
            assert!(matches!(e, ValueError::InvisibleChar(_, _)), "{bad:?}: {e}");
            assert!(e.to_string().contains(shown), "{e}");
        }
        let e = id_from_cell(CellRef::Text("３００２")).unwrap_err();
        assert!(matches!(e, ValueError::ForeignDigit(_, '３')), "{e}");
        assert_eq!(
            id_from_cell(CellRef::Text("Pedido-São-01")).unwrap(),
            Some("Pedido-São-01".into())
        );
        let huge = "9".repeat(1 << 20);
        let e = id_from_cell(CellRef::Text(&huge)).unwrap_err();
        assert!(
            matches!(e, ValueError::IdTooLong(_, n) if n == 1 << 20),
            "{e}"
        );
        assert!(e.to_string().len() < 100);
        assert_eq!(
            id_from_cell(CellRef::Text(&"7".repeat(100))).unwrap(),
            Some("7".repeat(100).into())
        );
    }
}
