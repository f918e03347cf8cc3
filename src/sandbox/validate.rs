//! Spec strictness: turns a request body into a typed invoice or tracking update, or into the
//! 400 VTEX would give, naming the offending field. Follows the OpenAPI schemas of
//! `InvoiceNotification` and `Updatepartialinvoice.SendTrackingNumber` (required keys, types,
//! `nullable`), plus the rules their descriptions state in prose (a date *and time*, a value
//! in cents greater than 0). Unknown keys are ignored, as VTEX does.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `type` of an invoice: a sale (`Output`) or a return (`Input`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvoiceType {
    Output,
    Input,
}

impl InvoiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceType::Output => "Output",
            InvoiceType::Input => "Input",
        }
    }
}

/// One SKU line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceItem {
    pub id: String,
    /// Unit price in cents.
    pub price: i64,
    pub quantity: i64,
    pub description: Option<String>,
}

/// A POST body that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoicePost {
    pub invoice_type: InvoiceType,
    pub issuance_date: String,
    pub invoice_number: String,
    /// In cents, > 0.
    pub invoice_value: i64,
    pub invoice_key: Option<String>,
    pub invoice_url: Option<String>,
    pub embedded_invoice: Option<String>,
    pub courier: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub dispatched_date: Option<String>,
    pub items: Vec<InvoiceItem>,
}

/// A PATCH body that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingPatch {
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub courier: Option<String>,
    pub dispatched_date: Option<String>,
}

/// Why a body was rejected; `field` is a JSON path like `items[0].price` (empty for the body
/// as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        message: message.into(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn wrong_type(field: &str, expected: &str, got: &Value) -> Invalid {
    invalid(
        field,
        format!("Field '{field}' must be {expected}, got {}", type_name(got)),
    )
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, Invalid> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(invalid(
            "",
            format!(
                "Request body must be a JSON object, got {}",
                type_name(&other)
            ),
        )),
        Err(err) => Err(invalid(
            "",
            format!("Request body is not valid JSON: {err}"),
        )),
    }
}

fn required<'a>(obj: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a Value, Invalid> {
    obj.get(key)
        .ok_or_else(|| invalid(path, format!("Field '{path}' is required")))
}

/// A string that the spec does not let be null.
fn string(v: &Value, path: &str) -> Result<String, Invalid> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Err(invalid(path, format!("Field '{path}' must not be null"))),
        other => Err(wrong_type(path, "a string", other)),
    }
}

/// A string the spec marks `nullable: true`.
fn nullable_string(v: &Value, path: &str) -> Result<Option<String>, Invalid> {
    match v {
        Value::Null => Ok(None),
        other => string(other, path).map(Some),
    }
}

fn optional<T>(
    obj: &Map<String, Value>,
    key: &str,
    parse: impl Fn(&Value, &str) -> Result<T, Invalid>,
) -> Result<Option<T>, Invalid> {
    obj.get(key).map(|v| parse(v, key)).transpose()
}

fn integer(v: &Value, path: &str) -> Result<i64, Invalid> {
    match v {
        Value::Number(n) => n.as_i64().ok_or_else(|| {
            if n.is_u64() {
                invalid(path, format!("Field '{path}' is too large"))
            } else {
                wrong_type(path, "an integer", v)
            }
        }),
        Value::Null => Err(invalid(path, format!("Field '{path}' must not be null"))),
        other => Err(wrong_type(path, "an integer", other)),
    }
}

/// "You must add date and time in this field": an RFC 3339 date-time with an offset.
fn date_time(v: &Value, path: &str) -> Result<String, Invalid> {
    let s = string(v, path)?;
    if chrono::DateTime::parse_from_rfc3339(s.trim()).is_err() {
        return Err(invalid(
            path,
            format!(
                "Field '{path}' must be a date and time with offset, like 2024-01-31T18:25:43-05:00; got {s:?}"
            ),
        ));
    }
    Ok(s)
}

/// "Total amount being invoiced in cents. Must be greater than 0. Do not use any decimal
/// separator."
fn cents_string(v: &Value, path: &str) -> Result<i64, Invalid> {
    let s = match v {
        Value::String(s) => s,
        Value::Null => return Err(invalid(path, format!("Field '{path}' must not be null"))),
        other => return Err(wrong_type(path, "a string of cents", other)),
    };
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            path,
            format!("Field '{path}' must be a whole number of cents without separators, got {s:?}"),
        ));
    }
    let cents: i64 = s
        .parse()
        .map_err(|_| invalid(path, format!("Field '{path}' is too large: {s:?}")))?;
    if cents <= 0 {
        return Err(invalid(
            path,
            format!("Field '{path}' must be greater than 0"),
        ));
    }
    Ok(cents)
}

fn item(v: &Value, index: usize) -> Result<InvoiceItem, Invalid> {
    let base = format!("items[{index}]");
    let obj = match v {
        Value::Object(obj) => obj,
        other => return Err(wrong_type(&base, "an object", other)),
    };
    let path = |key: &str| format!("{base}.{key}");
    let id = string(required(obj, "id", &path("id"))?, &path("id"))?;
    let price = integer(required(obj, "price", &path("price"))?, &path("price"))?;
    if price < 0 {
        return Err(invalid(
            path("price"),
            format!("Field '{}' must not be negative", path("price")),
        ));
    }
    let quantity = integer(
        required(obj, "quantity", &path("quantity"))?,
        &path("quantity"),
    )?;
    if quantity <= 0 {
        return Err(invalid(
            path("quantity"),
            format!("Field '{}' must be greater than 0", path("quantity")),
        ));
    }
    let description = obj
        .get("description")
        .map(|v| string(v, &path("description")))
        .transpose()?;
    Ok(InvoiceItem {
        id,
        price,
        quantity,
        description,
    })
}

/// Checks a POST `/api/oms/pvt/orders/{orderId}/invoice` body.
pub fn invoice_post(body: &[u8]) -> Result<InvoicePost, Invalid> {
    let obj = parse_object(body)?;

    let invoice_type = match required(&obj, "type", "type")? {
        Value::String(s) if s == "Output" => InvoiceType::Output,
        Value::String(s) if s == "Input" => InvoiceType::Input,
        Value::String(s) => {
            return Err(invalid(
                "type",
                format!("Field 'type' must be Output or Input, got {s:?}"),
            ));
        }
        other => return Err(wrong_type("type", "a string (Output or Input)", other)),
    };
    let issuance_date = date_time(
        required(&obj, "issuanceDate", "issuanceDate")?,
        "issuanceDate",
    )?;
    // The schema says nullable, but an invoice without a number cannot be stored or tracked.
    let invoice_number = string(
        required(&obj, "invoiceNumber", "invoiceNumber")?,
        "invoiceNumber",
    )?;
    if invoice_number.trim().is_empty() {
        return Err(invalid(
            "invoiceNumber",
            "Field 'invoiceNumber' must not be empty",
        ));
    }
    let invoice_value = cents_string(
        required(&obj, "invoiceValue", "invoiceValue")?,
        "invoiceValue",
    )?;
    let items = match required(&obj, "items", "items")? {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| item(v, i))
            .collect::<Result<Vec<_>, _>>()?,
        other => return Err(wrong_type("items", "an array", other)),
    };

    Ok(InvoicePost {
        invoice_type,
        issuance_date,
        invoice_number,
        invoice_value,
        invoice_key: optional(&obj, "invoiceKey", nullable_string)?.flatten(),
        invoice_url: optional(&obj, "invoiceUrl", nullable_string)?.flatten(),
        embedded_invoice: optional(&obj, "embeddedInvoice", nullable_string)?.flatten(),
        // `courier` is `nullable: false` in the POST schema.
        courier: optional(&obj, "courier", string)?,
        tracking_number: optional(&obj, "trackingNumber", nullable_string)?.flatten(),
        tracking_url: optional(&obj, "trackingUrl", nullable_string)?.flatten(),
        dispatched_date: optional(&obj, "dispatchedDate", nullable_string)?.flatten(),
        items,
    })
}

/// Checks a PATCH `/api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}` body: all four
/// keys are required; only `trackingNumber` may not be null.
pub fn tracking_patch(body: &[u8]) -> Result<TrackingPatch, Invalid> {
    let obj = parse_object(body)?;
    let tracking_number = string(
        required(&obj, "trackingNumber", "trackingNumber")?,
        "trackingNumber",
    )?;
    let tracking_url =
        nullable_string(required(&obj, "trackingUrl", "trackingUrl")?, "trackingUrl")?;
    let courier = nullable_string(required(&obj, "courier", "courier")?, "courier")?;
    let dispatched_date = nullable_string(
        required(&obj, "dispatchedDate", "dispatchedDate")?,
        "dispatchedDate",
    )?;
    Ok(TrackingPatch {
        tracking_number,
        tracking_url,
        courier,
        dispatched_date,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn good() -> Value {
        json!({
            "type": "Output",
            "issuanceDate": "2024-01-31T18:25:43-05:00",
            "invoiceNumber": "DFG-v7731485plzv-01",
            "invoiceValue": "2499",
            "courier": "carrierOne",
            "trackingNumber": null,
            "items": [{"id": "123", "price": 2499, "quantity": 2, "description": "335"}]
        })
    }

    fn post(v: &Value) -> Result<InvoicePost, Invalid> {
        invoice_post(v.to_string().as_bytes())
    }

    fn rejected_field(v: &Value) -> String {
        match post(v) {
            Ok(ok) => panic!("accepted {ok:?}"),
            Err(e) => {
                assert!(e.message.contains(&e.field), "{e:?}");
                e.field
            }
        }
    }

    #[test]
    fn accepts_a_good_body() {
        let p = post(&good()).unwrap();
        assert_eq!(p.invoice_value, 2499);
        assert_eq!(p.invoice_type, InvoiceType::Output);
        assert_eq!(p.items[0].description.as_deref(), Some("335"));
        assert_eq!(p.tracking_number, None);
    }

    #[test]
    fn accepts_seven_fraction_digits_and_zulu() {
        let mut v = good();
        v["issuanceDate"] = json!("2019-02-08T13:16:13.4617653+00:00");
        assert!(post(&v).is_ok());
        v["issuanceDate"] = json!("2019-02-08T13:16:13Z");
        assert!(post(&v).is_ok());
    }

    #[test]
    fn each_missing_required_field_is_named() {
        for key in [
            "type",
            "issuanceDate",
            "invoiceNumber",
            "invoiceValue",
            "items",
        ] {
            let mut v = good();
            v.as_object_mut().unwrap().remove(key);
            assert_eq!(rejected_field(&v), key);
        }
        for key in ["id", "price", "quantity"] {
            let mut v = good();
            v["items"][0].as_object_mut().unwrap().remove(key);
            assert_eq!(rejected_field(&v), format!("items[0].{key}"));
        }
    }

    #[test]
    fn wrong_types_are_named() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("invoiceValue", json!(2499), "invoiceValue"),
            ("invoiceValue", json!("24.99"), "invoiceValue"),
            ("invoiceValue", json!("0"), "invoiceValue"),
            ("invoiceValue", json!("-5"), "invoiceValue"),
            (
                "invoiceValue",
                json!("99999999999999999999"),
                "invoiceValue",
            ),
            ("invoiceNumber", json!(null), "invoiceNumber"),
            ("invoiceNumber", json!(""), "invoiceNumber"),
            ("invoiceNumber", json!(123), "invoiceNumber"),
            ("courier", json!(null), "courier"),
            ("type", json!("Sale"), "type"),
            ("type", json!(1), "type"),
            ("issuanceDate", json!("2024-01-31"), "issuanceDate"),
            ("issuanceDate", json!("31/01/2024 10:00"), "issuanceDate"),
            ("invoiceKey", json!(5), "invoiceKey"),
            ("items", json!({}), "items"),
        ];
        for (key, value, field) in cases {
            let mut v = good();
            v[key] = value.clone();
            assert_eq!(rejected_field(&v), field, "{key} = {value}");
        }
        let item_cases: Vec<(&str, Value)> = vec![
            ("price", json!("2499")),
            ("price", json!(24.99)),
            ("quantity", json!(1.5)),
            ("quantity", json!(2.0)),
            ("quantity", json!(0)),
            ("id", json!(123)),
            ("id", json!(null)),
            ("description", json!(null)),
        ];
        for (key, value) in item_cases {
            let mut v = good();
            v["items"][0][key] = value.clone();
            assert_eq!(
                rejected_field(&v),
                format!("items[0].{key}"),
                "{key} = {value}"
            );
        }
    }

    #[test]
    fn unknown_keys_and_nullable_fields_are_accepted() {
        let mut v = good();
        v["somethingElse"] = json!({"x": 1});
        for key in [
            "invoiceKey",
            "invoiceUrl",
            "embeddedInvoice",
            "trackingUrl",
            "dispatchedDate",
        ] {
            v[key] = Value::Null;
        }
        assert!(post(&v).is_ok());
    }

    #[test]
    fn body_must_be_a_json_object() {
        assert_eq!(invoice_post(b"not json").unwrap_err().field, "");
        assert_eq!(invoice_post(b"[]").unwrap_err().field, "");
    }

    #[test]
    fn patch_requires_all_four_keys() {
        let good = json!({"trackingNumber": "1", "trackingUrl": null, "courier": null, "dispatchedDate": null});
        assert!(tracking_patch(good.to_string().as_bytes()).is_ok());
        for key in ["trackingNumber", "trackingUrl", "courier", "dispatchedDate"] {
            let mut v = good.clone();
            v.as_object_mut().unwrap().remove(key);
            let err = tracking_patch(v.to_string().as_bytes()).unwrap_err();
            assert_eq!(err.field, key);
        }
        let mut v = good.clone();
        v["trackingNumber"] = Value::Null;
        assert_eq!(
            tracking_patch(v.to_string().as_bytes()).unwrap_err().field,
            "trackingNumber"
        );
        v["trackingNumber"] = json!(42);
        assert_eq!(
            tracking_patch(v.to_string().as_bytes()).unwrap_err().field,
            "trackingNumber"
        );
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = invoice_post(&bytes);
            let _ = tracking_patch(&bytes);
        }

        #[test]
        fn invoice_value_accepts_exactly_positive_digit_strings(s in "[0-9+.,-]{0,20}") {
            let mut v = good();
            v["invoiceValue"] = json!(s.clone());
            let expected = s.bytes().all(|b| b.is_ascii_digit())
                && s.parse::<i64>().map(|n| n > 0).unwrap_or(false);
            prop_assert_eq!(post(&v).is_ok(), expected);
        }
    }
}
