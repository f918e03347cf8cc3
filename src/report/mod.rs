//! What the user reads: the check report, the results CSV, the failed-rows file, the summary.

pub mod check;

/// Formats cents for people: `1,234.56`. Currency is not known (VTEX amounts are in the store's
/// currency), so none is shown.
pub fn money(cents: i64) -> String {
    crate::values::money::format_cents(cents, crate::values::money::DecimalSeparator::Point)
}
