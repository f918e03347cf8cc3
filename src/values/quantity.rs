//! Item quantities: positive whole numbers, from number cells or text.

use super::{ValueError, trim};
use crate::source::CellRef;

/// A positive whole quantity, `None` when blank. "2" and a 2.0 number cell are 2; "2.5" is an
/// error. Text with a separator is only accepted as "N.0"/"N,0"/"N.00": "1.000" could be a
/// thousand or one, and guessing a quantity wrong ships the wrong number of items.
pub fn quantity_from_cell(cell: CellRef<'_>) -> Result<Option<i64>, ValueError> {
    // The cell as the user wrote it is only needed for an error; most rows don't pay for it.
    let value = match cell {
        CellRef::Empty => return Ok(None),
        CellRef::Number(n) => n.whole().ok_or_else(|| ValueError::NotWhole(n.to_text()))?,
        CellRef::Text(t) => {
            let t = trim(t);
            if t.is_empty() {
                return Ok(None);
            }
            read_quantity(t)?
        }
        CellRef::DateTime(dt) => {
            return Err(ValueError::WrongCellType(
                crate::source::datetime_text(dt),
                "date",
                "a quantity",
            ));
        }
        CellRef::Bool(b) => {
            return Err(ValueError::WrongCellType(
                if b { "TRUE" } else { "FALSE" }.to_string(),
                "true/false",
                "a quantity",
            ));
        }
        CellRef::Error(e) => return Err(ValueError::FormulaError(e.to_string())),
        CellRef::Uncalculated => return Err(ValueError::Uncalculated),
    };
    if value < 1 {
        let shown = match cell {
            CellRef::Number(n) => n.to_text(),
            CellRef::Text(t) => trim(t).to_string(),
            _ => value.to_string(),
        };
        return Err(ValueError::NotPositive(shown));
    }
    Ok(Some(value))
}

fn read_quantity(t: &str) -> Result<i64, ValueError> {
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = match body.split_once(['.', ',']) {
        Some((int, frac)) => (int, Some(frac)),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) {
        return Err(ValueError::NotWhole(t.to_string()));
    }
    match frac {
        None => {}
        Some(f) if digits(f) && f.bytes().all(|b| b == b'0') && f.len() <= 2 => {}
        Some(f) if digits(f) && f.len() == 3 => {
            return Err(ValueError::AmbiguousQuantity(t.to_string()));
        }
        Some(_) => return Err(ValueError::NotWhole(t.to_string())),
    }
    let v: i64 = int
        .parse()
        .map_err(|_| ValueError::QuantityTooLarge(t.to_string()))?;
    Ok(if negative { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SheetNumber;

    #[test]
    fn quantities() {
        let q = |t| quantity_from_cell(CellRef::Text(t));
        assert_eq!(q("2"), Ok(Some(2)));
        assert_eq!(q(" 12 "), Ok(Some(12)));
        assert_eq!(q("2.0"), Ok(Some(2)));
        assert_eq!(q("2,00"), Ok(Some(2)));
        assert_eq!(q(""), Ok(None));
        assert!(matches!(q("2.5"), Err(ValueError::NotWhole(_))));
        assert!(matches!(q("1.000"), Err(ValueError::AmbiguousQuantity(_))));
        assert!(matches!(q("0"), Err(ValueError::NotPositive(_))));
        assert!(matches!(q("-6"), Err(ValueError::NotPositive(_))));
        assert!(matches!(q("abc"), Err(ValueError::NotWhole(_))));
        assert!(matches!(
            q("99999999999999999999"),
            Err(ValueError::QuantityTooLarge(_))
        ));
        let n = |x| quantity_from_cell(CellRef::Number(SheetNumber(x)));
        assert_eq!(n(2.0), Ok(Some(2)));
        assert!(n(2.5).is_err());
        assert!(n(0.0).is_err());
        assert!(n(f64::NAN).is_err());
        assert!(quantity_from_cell(CellRef::Error("#VALUE!")).is_err());
    }
}
