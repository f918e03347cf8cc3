//! Money text → cents under both decimal separators, as the mapping stage reads a column.
//! Beyond "no panic": an amount this tool reads, formatted back, reads as the same cents.
#![no_main]

use invoice_import::source::CellRef;
use invoice_import::values::money::{self, DecimalSeparator, SeparatorVote};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut vote = SeparatorVote::default();
    if let Ok(reading) = money::read_money(&text) {
        vote.observe(&reading);
        let _ = reading.evidence();
        for sep in [DecimalSeparator::Point, DecimalSeparator::Comma] {
            if let Ok(cents) = reading.cents(sep) {
                let shown = money::format_cents(cents, sep);
                let back = money::read_money(&shown).and_then(|r| r.cents(sep));
                assert_eq!(
                    back,
                    Ok(cents),
                    "{text:?} read as {cents} cents, written as {shown:?}, which reads back differently"
                );
            }
        }
    }
    let _ = vote.resolve(None);
    if let Ok(Some(reading)) = money::money_from_cell(CellRef::Text(&text)) {
        let _ = reading.cents(DecimalSeparator::Comma);
    }
});
