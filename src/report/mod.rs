//! What the user reads: the check report, the results CSV, the failed-rows file, the summary.

pub mod check;
pub mod html;
pub mod progress;
pub mod results;
pub mod summary;
pub mod workbook;

/// `n` and its noun, singular for one: "1 row", "26 rows".
pub fn counted(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Formats cents for people: `1,234.56`. Currency is not known (VTEX amounts are in the store's
/// currency), so none is shown.
pub fn money(cents: i64) -> String {
    money_in(cents, false)
}

/// Formats cents for people as an input writes its amounts: `1.234,56` with `decimal_comma`,
/// else `1,234.56`.
pub fn money_in(cents: i64, decimal_comma: bool) -> String {
    use crate::values::money::{DecimalSeparator, format_cents};
    let sep = match decimal_comma {
        true => DecimalSeparator::Comma,
        false => DecimalSeparator::Point,
    };
    format_cents(cents, sep)
}

/// Formats cents for machines and spreadsheets: `1234.56`, `-0.05`; no thousands separator.
pub fn money_plain(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_money() {
        assert_eq!(super::money_plain(123456), "1234.56");
        assert_eq!(super::money_plain(-5), "-0.05");
        assert_eq!(super::money_plain(0), "0.00");
        assert_eq!(super::money_plain(i64::MIN), "-92233720368547758.08");
    }
}
