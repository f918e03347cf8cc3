//! Request and response bodies of the three OMS endpoints we use, shaped by VTEX's OpenAPI spec
//! (`VTEX - Orders API`): POST invoice, PATCH tracking, GET order.
//!
//! Requests are written strictly (types and nullability as the spec says; the unit tests walk
//! the spec's own JSON schema). Responses are read tolerantly: only the fields we use, unknown
//! fields ignored, `null` accepted wherever a real server might send one.

use serde::{Deserialize, Deserializer, Serialize};

/// A request body serialized once, up front: sent as is on every attempt (no re-serializing per
/// request), and hashed as is for the ledger's fingerprint, so what is recorded is byte for byte
/// what is sent. The type parameter keeps an invoice body from going to the tracking endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Json<T> {
    /// Shared, so each attempt hands the same buffer to the connection without a copy.
    bytes: bytes::Bytes,
    _body: std::marker::PhantomData<fn() -> T>,
}

impl<T: Serialize> Json<T> {
    pub fn new(body: &T) -> Json<T> {
        // Serializing our own plain structs (strings, integers, options, vectors; no maps, no
        // custom serializers) into memory cannot fail; should it ever, an empty body is refused
        // by the server, never mistaken for another invoice.
        let bytes = serde_json::to_vec(body).unwrap_or_default().into();
        Json {
            bytes,
            _body: std::marker::PhantomData,
        }
    }
}

impl<T> Json<T> {
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The body as the connection takes it (a reference count, not a copy).
    pub(crate) fn to_bytes(&self) -> bytes::Bytes {
        self.bytes.clone()
    }
}

/// Body of `POST /api/oms/pvt/orders/{orderId}/invoice`.
///
/// Optional fields are *omitted* when `None`: `courier` is not nullable in the spec, and the
/// tracking fields are to be left empty when a request sends only the invoice. A file that has
/// the tracking already sends it with the invoice, as the spec's own example does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceRequest {
    /// `"Output"` (a sale) or `"Input"` (a return).
    #[serde(rename = "type")]
    pub kind: String,
    /// Date-time with offset, e.g. `2024-01-31T18:25:43-03:00`.
    pub issuance_date: String,
    /// Text, leading zeros kept.
    pub invoice_number: String,
    /// Total in cents, as a *string* (the spec's type), e.g. `"2499"`.
    pub invoice_value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub courier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispatched_date: Option<String>,
    pub items: Vec<InvoiceItem>,
}

/// One invoiced SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceItem {
    /// SKU id, text.
    pub id: String,
    /// UNIT price in cents: VTEX multiplies it by `quantity` itself.
    pub price: i64,
    pub quantity: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Body of `PATCH /api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}`.
///
/// All four keys are required by the spec, so absent values are sent as `null`, never omitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackingRequest {
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub courier: Option<String>,
    pub dispatched_date: Option<String>,
}

/// What POST invoice and PATCH tracking answer with on success.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub order_id: Option<String>,
    /// VTEX's receipt code; a new one is issued every time the same invoice is posted again.
    #[serde(default, deserialize_with = "null_as_default")]
    pub receipt: String,
}

/// The parts of `GET /api/oms/pvt/orders/{orderId}` that reconciliation needs: which invoices
/// the order already carries, and with what values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub order_id: String,
    pub status: Option<String>,
    /// Order total in cents.
    pub value: Option<i64>,
    /// `packageAttachment.packages`, flattened; empty when the attachment is `null` or absent.
    pub packages: Vec<Package>,
}

/// One invoice (a "package") already attached to an order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    #[serde(default, deserialize_with = "null_as_default")]
    pub invoice_number: String,
    /// Cents. An integer here, unlike the POST body's string.
    #[serde(default, deserialize_with = "lenient_cents")]
    pub invoice_value: i64,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub issuance_date: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub courier: Option<String>,
    #[serde(default)]
    pub tracking_url: Option<String>,
    /// Not in the spec's package schema, but kept when a server sends it.
    #[serde(default)]
    pub dispatched_date: Option<String>,
    #[serde(default)]
    pub invoice_key: Option<String>,
}

impl Order {
    /// The package carrying invoice `number`, compared as text (leading zeros matter).
    pub fn invoice(&self, number: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.invoice_number == number)
    }

    /// A package whose invoice number is `number` with other leading zeros (`000123` for
    /// `123`): to a person the same invoice, to VTEX another one.
    pub fn invoice_written_otherwise(&self, number: &str) -> Option<&Package> {
        let bare = crate::values::id::unpadded(number);
        self.packages.iter().find(|p| {
            p.invoice_number != number && crate::values::id::unpadded(&p.invoice_number) == bare
        })
    }
}

impl<'de> Deserialize<'de> for Order {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct RawOrder {
            order_id: String,
            #[serde(default)]
            status: Option<String>,
            #[serde(default, deserialize_with = "lenient_opt_cents")]
            value: Option<i64>,
            #[serde(default)]
            package_attachment: Option<RawAttachment>,
        }
        #[derive(Deserialize)]
        struct RawAttachment {
            #[serde(default)]
            packages: Option<Vec<Package>>,
        }
        let raw = RawOrder::deserialize(deserializer)?;
        Ok(Order {
            order_id: raw.order_id,
            status: raw.status,
            value: raw.value,
            packages: raw
                .package_attachment
                .and_then(|a| a.packages)
                .unwrap_or_default(),
        })
    }
}

/// `null` reads as the type's default, so one odd field does not lose a whole order.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Cents as the spec says (an integer), but also as a numeric string or an integral float, which
/// servers have been seen to send; anything else is an error rather than a guess.
#[derive(Deserialize)]
#[serde(untagged)]
enum CentsRepr {
    Int(i64),
    Float(f64),
    Text(String),
}

fn cents_from(repr: CentsRepr) -> Result<i64, String> {
    match repr {
        CentsRepr::Int(v) => Ok(v),
        // An integral float within i64 range converts exactly; anything else is refused.
        CentsRepr::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        CentsRepr::Float(f) => Err(format!("cents value {f} is not a whole number")),
        CentsRepr::Text(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("cents value {s:?} is not an integer")),
    }
}

fn lenient_cents<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    Ok(lenient_opt_cents(deserializer)?.unwrap_or_default())
}

fn lenient_opt_cents<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    match Option::<CentsRepr>::deserialize(deserializer)? {
        None => Ok(None),
        Some(repr) => cents_from(repr).map(Some).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn an_invoice_number_is_found_as_written_and_with_other_leading_zeros() {
        let order: Order = serde_json::from_value(json!({
            "orderId": "o1",
            "packageAttachment": {"packages": [
                {"invoiceNumber": "000123", "invoiceValue": 100},
                {"invoiceNumber": "1230", "invoiceValue": 200},
            ]}
        }))
        .unwrap();
        assert_eq!(order.invoice("000123").map(|p| p.invoice_value), Some(100));
        assert!(order.invoice("123").is_none());
        let other = |n: &str| {
            order
                .invoice_written_otherwise(n)
                .map(|p| p.invoice_number.as_str())
        };
        assert_eq!(other("123"), Some("000123"));
        assert_eq!(other("0123"), Some("000123"));
        assert_eq!(other("000123"), None, "as written is not otherwise");
        assert_eq!(other("01230"), Some("1230"));
        assert_eq!(other("12"), None);
    }

    const SPEC: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/vtex/VTEX_-_Orders_API.json"
    );

    /// The spec, or `None` (with a note) when the shared folder is not next to the repo.
    fn spec() -> Option<Value> {
        let candidates = [SPEC, "/work/shared/vtex/VTEX_-_Orders_API.json"];
        for path in candidates {
            if let Ok(text) = std::fs::read_to_string(path) {
                return serde_json::from_str(&text).ok();
            }
        }
        eprintln!("note: VTEX spec not found at {SPEC}; skipping the schema check");
        None
    }

    fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let pointer = r.trim_start_matches('#');
                spec.pointer(pointer).unwrap_or(schema)
            }
            None => schema,
        }
    }

    /// Walks `value` against an OpenAPI 3.0 schema: required keys present, declared types
    /// matched, `null` only where `nullable: true`, enums respected. Returns every violation.
    fn check(spec: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = resolve(spec, schema);
        if value.is_null() {
            if schema.get("nullable").and_then(Value::as_bool) != Some(true) {
                errors.push(format!("{at}: null where the spec does not allow it"));
            }
            return;
        }
        let ty = schema.get("type").and_then(Value::as_str);
        let ok = match ty {
            Some("string") => value.is_string(),
            Some("integer") => value.is_i64() || value.is_u64(),
            Some("number") => value.is_number(),
            Some("boolean") => value.is_boolean(),
            Some("array") => value.is_array(),
            Some("object") => value.is_object(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{at}: expected {ty:?}, got {value}"));
            return;
        }
        if let Some(choices) = schema.get("enum").and_then(Value::as_array)
            && !choices.contains(value)
        {
            errors.push(format!("{at}: {value} not in {choices:?}"));
        }
        if let Some(obj) = value.as_object() {
            let props = schema.get("properties").and_then(Value::as_object);
            for req in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !obj.contains_key(req) {
                    errors.push(format!("{at}: required key {req:?} missing"));
                }
            }
            for (k, v) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(sub) => check(spec, sub, v, &format!("{at}.{k}"), errors),
                    None => errors.push(format!("{at}: key {k:?} not in the spec")),
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
            for (i, v) in arr.iter().enumerate() {
                check(spec, items, v, &format!("{at}[{i}]"), errors);
            }
        }
    }

    fn post_schema(spec: &Value) -> Value {
        spec.pointer("/paths/~1api~1oms~1pvt~1orders~1{orderId}~1invoice/post/requestBody/content/application~1json/schema")
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn patch_schema(spec: &Value) -> Value {
        spec.pointer("/paths/~1api~1oms~1pvt~1orders~1{orderId}~1invoice~1{invoiceNumber}/patch/requestBody/content/application~1json/schema")
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn full_invoice() -> InvoiceRequest {
        InvoiceRequest {
            kind: "Output".into(),
            issuance_date: "2024-01-31T18:25:43-03:00".into(),
            invoice_number: "000123".into(),
            invoice_value: "2499".into(),
            invoice_key: Some("CFe352011".into()),
            invoice_url: Some("https://example.com/i.pdf".into()),
            courier: Some("Correios".into()),
            tracking_number: Some("TRK1".into()),
            tracking_url: Some("https://t.example/1".into()),
            dispatched_date: Some("2024-02-01T10:00:00-03:00".into()),
            items: vec![InvoiceItem {
                id: "0042".into(),
                price: 1250,
                quantity: 2,
                description: Some("Camiseta".into()),
            }],
        }
    }

    fn minimal_invoice() -> InvoiceRequest {
        InvoiceRequest {
            invoice_key: None,
            invoice_url: None,
            courier: None,
            tracking_number: None,
            tracking_url: None,
            dispatched_date: None,
            items: vec![InvoiceItem {
                id: "1".into(),
                price: 2499,
                quantity: 1,
                description: None,
            }],
            ..full_invoice()
        }
    }

    #[test]
    fn invoice_bodies_match_the_spec_schema() {
        let Some(spec) = spec() else { return };
        let schema = post_schema(&spec);
        assert!(schema.is_object(), "POST invoice schema not found in spec");
        for req in [full_invoice(), minimal_invoice()] {
            let value = serde_json::to_value(&req).unwrap();
            let mut errors = Vec::new();
            check(&spec, &schema, &value, "$", &mut errors);
            assert!(errors.is_empty(), "{errors:#?}\n{value}");
        }
    }

    #[test]
    fn tracking_bodies_match_the_spec_schema() {
        let Some(spec) = spec() else { return };
        let schema = patch_schema(&spec);
        assert!(schema.is_object(), "PATCH schema not found in spec");
        let full = TrackingRequest {
            tracking_number: "TRK1".into(),
            tracking_url: Some("https://t.example/1".into()),
            courier: Some("Correios".into()),
            dispatched_date: Some("2024-02-01T10:00:00-03:00".into()),
        };
        let bare = TrackingRequest {
            tracking_number: "TRK1".into(),
            tracking_url: None,
            courier: None,
            dispatched_date: None,
        };
        for req in [full, bare] {
            let value = serde_json::to_value(&req).unwrap();
            let mut errors = Vec::new();
            check(&spec, &schema, &value, "$", &mut errors);
            assert!(errors.is_empty(), "{errors:#?}\n{value}");
        }
    }

    #[test]
    fn the_checker_catches_what_the_spec_forbids() {
        let Some(spec) = spec() else { return };
        let schema = post_schema(&spec);
        let mut bad = serde_json::to_value(full_invoice()).unwrap();
        bad["invoiceValue"] = json!(2499);
        bad["courier"] = Value::Null;
        bad.as_object_mut().unwrap().remove("items");
        let mut errors = Vec::new();
        check(&spec, &schema, &bad, "$", &mut errors);
        assert_eq!(errors.len(), 3, "{errors:#?}");
    }

    #[test]
    fn none_fields_are_omitted_from_the_invoice_and_null_in_tracking() {
        let v = serde_json::to_value(minimal_invoice()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys.len(),
            5,
            "only the required keys are sent when the rest is None: {keys:?}"
        );
        assert_eq!(v["type"], "Output");
        assert_eq!(v["invoiceValue"], "2499");
        assert_eq!(v["invoiceNumber"], "000123");
        assert_eq!(
            v["items"][0],
            json!({"id": "1", "price": 2499, "quantity": 1})
        );

        let t = serde_json::to_value(TrackingRequest {
            tracking_number: "X".into(),
            tracking_url: None,
            courier: None,
            dispatched_date: None,
        })
        .unwrap();
        assert_eq!(
            t,
            json!({"trackingNumber": "X", "trackingUrl": null, "courier": null, "dispatchedDate": null})
        );
    }

    #[test]
    fn parses_the_spec_get_order_example() {
        let Some(spec) = spec() else { return };
        let example = spec
            .pointer("/paths/~1api~1oms~1pvt~1orders~1{orderId}/get/responses/200/content/application~1json/example")
            .cloned()
            .expect("GET order example in spec");
        let order: Order = serde_json::from_value(example).unwrap();
        assert_eq!(order.order_id, "1172452900788-01");
        assert_eq!(order.status.as_deref(), Some("handling"));
        assert_eq!(order.value, Some(1160));
        let p = order.invoice("24382").expect("package 24382");
        assert_eq!(p.invoice_value, 1015);
        assert_eq!(p.kind.as_deref(), Some("Input"));
        assert_eq!(p.tracking_number.as_deref(), Some("TRK-48960684"));
        assert_eq!(p.courier.as_deref(), Some("PAC Correios"));
        assert!(order.invoice("024382").is_none(), "numbers compare as text");
    }

    #[test]
    fn parses_orders_tolerantly() {
        let o: Order = serde_json::from_value(json!({
            "orderId": "1-01", "status": null, "value": null, "packageAttachment": null, "extra": [1]
        }))
        .unwrap();
        assert!(o.packages.is_empty());
        assert_eq!(o.value, None);

        let o: Order = serde_json::from_value(json!({
            "orderId": "1-01", "packageAttachment": {"packages": [
                {"invoiceNumber": "007", "invoiceValue": "2499", "courier": null},
                {"invoiceNumber": null, "invoiceValue": 12.0}
            ]}
        }))
        .unwrap();
        assert_eq!(o.invoice("007").map(|p| p.invoice_value), Some(2499));
        assert_eq!(o.packages[1].invoice_value, 12);

        let bad = serde_json::from_value::<Order>(json!({
            "orderId": "1-01", "packageAttachment": {"packages": [{"invoiceNumber": "1", "invoiceValue": 1.5}]}
        }));
        assert!(
            bad.is_err(),
            "a fractional cents value is an error, not a guess"
        );
        assert!(serde_json::from_value::<Order>(json!({"status": "x"})).is_err());
    }

    #[test]
    fn parses_receipts() {
        let r: Receipt = serde_json::from_value(json!({
            "date": "2019-02-08T13:16:13.4617653+00:00", "orderId": "00-v5195004lux-01",
            "receipt": "527b1ae251264ef1b7a9b597cd8f16b9"
        }))
        .unwrap();
        assert_eq!(r.receipt, "527b1ae251264ef1b7a9b597cd8f16b9");
        assert_eq!(r.order_id.as_deref(), Some("00-v5195004lux-01"));
    }
}
