//! The invoice type column: Output (a sale, "Saída") or Input (a return, "Entrada").

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

use super::{ValueError, trim};
use crate::source::CellRef;

/// VTEX's invoice type; serialized as "Output" / "Input".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum InvoiceType {
    Output,
    Input,
}

impl std::fmt::Display for InvoiceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InvoiceType::Output => "Output",
            InvoiceType::Input => "Input",
        })
    }
}

/// Output/Input or Saída/Saida/Entrada, any case; `None` when blank (the caller defaults to
/// Output). Single letters and 0/1 codes are refused: "S" reads as "Sim" as easily as "Saída".
pub fn invoice_type_from_cell(cell: CellRef<'_>) -> Result<Option<InvoiceType>, ValueError> {
    let text = match cell {
        CellRef::Empty => return Ok(None),
        CellRef::Text(t) => trim(t),
        CellRef::Error(e) => return Err(ValueError::FormulaError(e.to_string())),
        CellRef::Uncalculated => return Err(ValueError::Uncalculated),
        CellRef::Number(n) => return Err(ValueError::NotAType(n.to_text())),
        CellRef::Bool(b) => {
            return Err(ValueError::NotAType(
                if b { "TRUE" } else { "FALSE" }.into(),
            ));
        }
        CellRef::DateTime(dt) => {
            return Err(ValueError::NotAType(crate::source::datetime_text(dt)));
        }
    };
    if text.is_empty() {
        return Ok(None);
    }
    // NFC first: "Saída" typed on a Mac may arrive as 'i' + combining accent.
    let key: String = text.nfc().flat_map(char::to_lowercase).collect();
    match key.as_str() {
        "output" | "saída" | "saida" => Ok(Some(InvoiceType::Output)),
        "input" | "entrada" => Ok(Some(InvoiceType::Input)),
        _ => Err(ValueError::NotAType(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        let t = |s| invoice_type_from_cell(CellRef::Text(s));
        assert_eq!(t("Output"), Ok(Some(InvoiceType::Output)));
        assert_eq!(t(" INPUT "), Ok(Some(InvoiceType::Input)));
        assert_eq!(t("SAÍDA"), Ok(Some(InvoiceType::Output)));
        assert_eq!(t("Sai\u{301}da"), Ok(Some(InvoiceType::Output)));
        assert_eq!(t("saida"), Ok(Some(InvoiceType::Output)));
        assert_eq!(t("Entrada"), Ok(Some(InvoiceType::Input)));
        assert_eq!(t(""), Ok(None));
        assert_eq!(invoice_type_from_cell(CellRef::Empty), Ok(None));
        assert!(t("S").is_err());
        assert!(t("sale").is_err());
        assert_eq!(
            serde_json::to_string(&InvoiceType::Input).unwrap(),
            "\"Input\""
        );
    }
}
