//! Date text → timestamps: detected and forced day orders, `--date-format` patterns (the input
//! can carry its own pattern), named time zones including ones with DST, and date cells at any
//! instant chrono can hold.
#![no_main]

use chrono::DateTime;
use chrono_tz::Tz;
use invoice_import::source::CellRef;
use invoice_import::values::date::{self, DateFormat, DayOrder, DayOrderVote};
use libfuzzer_sys::fuzz_target;

const ZONES: [Tz; 4] = [
    chrono_tz::America::Sao_Paulo,
    chrono_tz::UTC,
    chrono_tz::America::Noronha,
    chrono_tz::Pacific::Kiritimati,
];

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, rest)) = data.split_first() else {
        return;
    };
    let tz = ZONES[usize::from(knobs) % ZONES.len()];
    let text = String::from_utf8_lossy(rest);
    // "pattern\u{1}value" tests a user's --date-format pattern against a value.
    let (pattern, value) = match text.split_once('\u{1}') {
        Some((p, v)) => (Some(p), v),
        None => (None, text.as_ref()),
    };
    let mut formats = vec![
        None,
        Some(DateFormat::Order(DayOrder::DayFirst)),
        Some(DateFormat::Order(DayOrder::MonthFirst)),
    ];
    if let Some(Ok(f)) = pattern.map(date::parse_date_format) {
        formats.push(Some(f));
    }
    let mut vote = DayOrderVote::default();
    for format in &formats {
        if let Ok(reading) = date::read_date(value, tz, format.as_ref()) {
            vote.observe(&reading);
            for order in [DayOrder::DayFirst, DayOrder::MonthFirst] {
                if let Ok(ts) = reading.timestamp(order) {
                    let _ = date::to_api(&ts);
                }
            }
        }
        let _ = date::date_from_cell(CellRef::Text(value), tz, format.as_ref());
    }
    let _ = vote.resolve(None);
    // A date cell: the first eight bytes as seconds, where chrono can hold them.
    if let Some(secs) = rest
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(i64::from_le_bytes)
        && let Some(dt) = DateTime::from_timestamp(secs, 0)
        && let Ok(Some(reading)) = date::date_from_cell(CellRef::DateTime(dt.naive_utc()), tz, None)
        && let Ok(ts) = reading.timestamp(DayOrder::DayFirst)
    {
        let _ = date::to_api(&ts);
    }
});
