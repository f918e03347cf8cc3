//! Ids, invoice numbers, quantities, URLs, invoice types and free text from any cell text.
//! Beyond "no panic": an id the tool accepts holds what RELIABILITY.md promises (not empty, at
//! most 100 characters, no control character).
#![no_main]

use invoice_import::source::CellRef;
use invoice_import::values::id;
use libfuzzer_sys::fuzz_target;

fn check_id(text: &str, got: Option<std::borrow::Cow<'_, str>>) {
    if let Some(v) = got {
        assert!(!v.is_empty(), "{text:?} gave an empty id");
        assert!(
            v.chars().count() <= 100,
            "{text:?} gave an id over 100 characters"
        );
        assert!(
            !v.chars().any(char::is_control),
            "{text:?} gave an id with a control character: {v:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for cell in [CellRef::Text(&text), CellRef::Error(&text)] {
        if let Ok(got) = id::id_from_cell(cell) {
            check_id(&text, got);
        }
        if let Ok(got) = id::invoice_number_from_cell(cell) {
            check_id(&text, got);
        }
        let _ = id::text_from_cell(cell);
        let _ = id::url_from_cell(cell);
        let _ = id::quantity_from_cell(cell);
        let _ = id::invoice_type_from_cell(cell);
    }
});
