//! The sandbox over real HTTP on loopback: spec strictness, VTEX's semantics, rate limit,
//! each fault on demand, the state endpoint, and the real binary.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use invoice_import::sandbox::{
    self, DEFAULT_APP_KEY, DEFAULT_APP_TOKEN, FaultKind, FaultRates, Orders, Route, Sandbox,
    SandboxConfig, StateSnapshot,
};
use serde_json::{Value, json};

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Tests use a short propagation delay; everything else is the default.
fn config() -> SandboxConfig {
    SandboxConfig {
        propagation_delay: Duration::from_millis(200),
        ..SandboxConfig::default()
    }
}

async fn start(config: SandboxConfig) -> Sandbox {
    sandbox::start(config, loopback())
        .await
        .expect("sandbox starts")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client builds")
}

fn example(name: &str) -> Value {
    let path = format!(
        "{}/tests/data/vtex_examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("example file");
    serde_json::from_str(&text).expect("example is JSON")
}

fn invoice(number: &str, cents: i64) -> Value {
    json!({
        "type": "Output",
        "issuanceDate": "2024-01-31T18:25:43-05:00",
        "invoiceNumber": number,
        "invoiceValue": cents.to_string(),
        "courier": "",
        "trackingNumber": "",
        "trackingUrl": "",
        "items": [{"id": "123", "price": cents, "quantity": 1, "description": "thing"}]
    })
}

fn enc(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn authed(rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    rb.header("X-VTEX-API-AppKey", DEFAULT_APP_KEY)
        .header("X-VTEX-API-AppToken", DEFAULT_APP_TOKEN)
        .header("Accept", "application/json")
}

async fn post(
    client: &reqwest::Client,
    sb: &Sandbox,
    order: &str,
    body: &Value,
) -> reqwest::Result<reqwest::Response> {
    let url = format!("{}/api/oms/pvt/orders/{}/invoice", sb.url(), enc(order));
    authed(client.post(url)).json(body).send().await
}

async fn get_order(
    client: &reqwest::Client,
    sb: &Sandbox,
    order: &str,
) -> reqwest::Result<reqwest::Response> {
    let url = format!("{}/api/oms/pvt/orders/{}", sb.url(), enc(order));
    authed(client.get(url)).send().await
}

/// Asserts a VTEX-style error body and returns its message.
async fn error_message(response: reqwest::Response) -> (String, String) {
    let body: Value = response.json().await.expect("error body is JSON");
    let error = &body["error"];
    assert!(error["exception"].is_null(), "{body}");
    (
        error["code"].as_str().expect("code").to_string(),
        error["message"].as_str().expect("message").to_string(),
    )
}

fn is_receipt(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn spec_examples_are_accepted() {
    let sb = start(config()).await;
    let c = client();
    let body = example("invoice_post_request.json");
    let number = body["invoiceNumber"].as_str().unwrap().to_string();
    let response = post(&c, &sb, "1172452900788-01", &body).await.unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["orderId"], "1172452900788-01");
    assert!(is_receipt(answer["receipt"].as_str().unwrap()), "{answer}");
    assert!(chrono::DateTime::parse_from_rfc3339(answer["date"].as_str().unwrap()).is_ok());

    let url = format!(
        "{}/api/oms/pvt/orders/1172452900788-01/invoice/{}",
        sb.url(),
        enc(&number)
    );
    let response = authed(c.patch(url))
        .json(&example("tracking_patch_request.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert!(is_receipt(answer["receipt"].as_str().unwrap()));

    let state = sb.shutdown().await;
    let inv = state.invoice("1172452900788-01", &number).expect("stored");
    assert_eq!(inv.value, 2499);
    assert_eq!(inv.tracking_number.as_deref(), Some("87658"));
    assert_eq!(state.counters.applied, 1);
    assert_eq!(state.counters.tracking_updates, 1);
}

#[tokio::test]
async fn malformed_requests_get_400_naming_the_field() {
    let sb = start(config()).await;
    let c = client();
    let good = invoice("NF-1", 2499);
    let mut cases: Vec<(Value, &str)> = Vec::new();
    for key in [
        "type",
        "issuanceDate",
        "invoiceNumber",
        "invoiceValue",
        "items",
    ] {
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove(key);
        cases.push((v, key));
    }
    for key in ["id", "price", "quantity"] {
        let mut v = good.clone();
        v["items"][0].as_object_mut().unwrap().remove(key);
        cases.push((v, key));
    }
    let mutations: Vec<(&str, Value, &str)> = vec![
        ("invoiceValue", json!(2499), "invoiceValue"),
        ("courier", json!(null), "courier"),
        ("type", json!("Sale"), "type"),
        ("issuanceDate", json!("2024-01-31"), "issuanceDate"),
        ("invoiceNumber", json!(null), "invoiceNumber"),
    ];
    for (key, value, field) in mutations {
        let mut v = good.clone();
        v[key] = value;
        cases.push((v, field));
    }
    let mut v = good.clone();
    v["items"][0]["price"] = json!("2499");
    cases.push((v, "items[0].price"));
    let mut v = good.clone();
    v["items"][0]["quantity"] = json!(1.5);
    cases.push((v, "items[0].quantity"));

    for (body, field) in cases {
        let response = post(&c, &sb, "o-1", &body).await.unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let (code, message) = error_message(response).await;
        assert_eq!(code, "1");
        assert!(message.contains(field), "{field}: {message}");
    }

    // Missing Content-Type: a body sent without the header.
    let url = format!("{}/api/oms/pvt/orders/o-1/invoice", sb.url());
    let response = authed(c.post(&url))
        .body(good.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(error_message(response).await.1.contains("Content-Type"));

    // Missing Accept: reqwest always sends one, so write the request by hand.
    let addr = sb.addr();
    let body = good.to_string();
    let raw = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "POST /api/oms/pvt/orders/o-1/invoice HTTP/1.1\r\nHost: localhost\r\n\
             X-VTEX-API-AppKey: {DEFAULT_APP_KEY}\r\nX-VTEX-API-AppToken: {DEFAULT_APP_TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap();
    assert!(raw.starts_with("HTTP/1.1 400"), "{raw}");
    assert!(raw.contains("Missing required header 'Accept'"), "{raw}");

    // PATCH: all four keys are required.
    post(&c, &sb, "o-1", &good).await.unwrap();
    let mut patch = example("tracking_patch_request.json");
    patch.as_object_mut().unwrap().remove("dispatchedDate");
    let url = format!("{}/api/oms/pvt/orders/o-1/invoice/NF-1", sb.url());
    let response = authed(c.patch(url)).json(&patch).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(error_message(response).await.1.contains("dispatchedDate"));

    let state = sb.shutdown().await;
    assert_eq!(state.counters.applied, 1);
    assert_eq!(state.counters.tracking_updates, 0);
}

#[tokio::test]
async fn credentials_are_checked() {
    let sb = start(config()).await;
    let c = client();
    let url = format!("{}/api/oms/pvt/orders/o/invoice", sb.url());
    let response = c.post(&url).json(&invoice("1", 1)).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = c
        .post(&url)
        .header("X-VTEX-API-AppKey", DEFAULT_APP_KEY)
        .header("X-VTEX-API-AppToken", "wrong")
        .json(&invoice("1", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(sb.shutdown().await.counters.applied, 0);

    let sb = start(SandboxConfig {
        forbidden: true,
        ..config()
    })
    .await;
    let response = post(&c, &sb, "o", &invoice("1", 1)).await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(sb.shutdown().await.counters.applied, 0);
}

#[tokio::test]
async fn unknown_orders_and_invoices_are_404() {
    let known = HashMap::from([
        ("v1-01".to_string(), Some(1000)),
        ("0042".to_string(), None),
    ]);
    let sb = start(SandboxConfig {
        orders: Orders::Known(known),
        ..config()
    })
    .await;
    let c = client();
    let response = post(&c, &sb, "v2-01", &invoice("1", 1)).await.unwrap();
    assert_eq!(response.status(), 404);
    let (code, message) = error_message(response).await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("OMS007", "Order Not Found")
    );
    let response = get_order(&c, &sb, "v2-01").await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(error_message(response).await.0, "OMS007");
    // Ids are text: "42" is not "0042".
    assert_eq!(
        post(&c, &sb, "42", &invoice("1", 1))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        post(&c, &sb, "0042", &invoice("1", 1))
            .await
            .unwrap()
            .status(),
        200
    );

    let url = format!("{}/api/oms/pvt/orders/0042/invoice/nope", sb.url());
    let response = authed(c.patch(url))
        .json(&example("tracking_patch_request.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    // The order value caps Output invoices.
    assert_eq!(
        post(&c, &sb, "v1-01", &invoice("A", 600))
            .await
            .unwrap()
            .status(),
        200
    );
    let response = post(&c, &sb, "v1-01", &invoice("B", 401)).await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        error_message(response)
            .await
            .1
            .contains("exceeds the order value")
    );
    let state = sb.shutdown().await;
    assert!(state.invoice("v1-01", "B").is_none());
    assert_eq!(state.counters.applied, 2);
}

#[tokio::test]
async fn repost_gives_a_new_receipt_and_changes_nothing_else() {
    let sb = start(config()).await;
    let c = client();
    let first: Value = post(&c, &sb, "o", &invoice("NF-7", 100))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = post(&c, &sb, "o", &invoice("NF-7", 999)).await.unwrap();
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await.unwrap();
    assert_ne!(first["receipt"], second["receipt"]);
    let state = sb.shutdown().await;
    let inv = state.invoice("o", "NF-7").unwrap();
    assert_eq!(inv.value, 100);
    assert_eq!(inv.receipt, second["receipt"].as_str().unwrap());
    assert_eq!(inv.history.len(), 2);
    assert_eq!(state.counters.applied, 1);
    assert_eq!(state.counters.reposts, 1);
    assert_eq!(state.requests("POST post_invoice 200"), 2);
}

#[tokio::test]
async fn invoices_appear_on_get_after_the_propagation_delay() {
    let sb = start(config()).await;
    let c = client();
    // Percent-encoded path segments are decoded: ids with spaces, slashes and accents.
    let (order, number) = ("pedido ç/1", "NF 1/ã");
    assert_eq!(
        post(&c, &sb, order, &invoice(number, 2499))
            .await
            .unwrap()
            .status(),
        200
    );
    let before: Value = get_order(&c, &sb, order)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(before["orderId"], order);
    assert_eq!(before["status"], "handling");
    assert_eq!(before["packageAttachment"]["packages"], json!([]));

    tokio::time::sleep(Duration::from_millis(300)).await;
    let after: Value = get_order(&c, &sb, order)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["status"], "invoiced");
    let package = &after["packageAttachment"]["packages"][0];
    assert_eq!(package["invoiceNumber"], number);
    assert_eq!(package["invoiceValue"], 2499);
    assert_eq!(package["type"], "Output");
    assert_eq!(package["items"][0]["quantity"], 1);
    assert_eq!(package["items"][0]["price"], 2499);

    let url = format!(
        "{}/api/oms/pvt/orders/{}/invoice/{}",
        sb.url(),
        enc(order),
        enc(number)
    );
    let response = authed(c.patch(url))
        .json(&example("tracking_patch_request.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let after: Value = get_order(&c, &sb, order)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        after["packageAttachment"]["packages"][0]["trackingNumber"],
        "87658"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let sb = start(SandboxConfig {
        rate: Some(0.5),
        burst: 2,
        ..config()
    })
    .await;
    let c = client();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..3 {
        let response = post(&c, &sb, "o", &invoice(&i.to_string(), 1))
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            retry_after = response.headers().get("retry-after").cloned();
        }
    }
    assert_eq!(statuses, [200, 200, 429]);
    // At 0.5/s the next token is about 2 s away.
    assert_eq!(retry_after.unwrap().to_str().unwrap(), "2");
    let state = sb.shutdown().await;
    assert_eq!(state.counters.rate_limited, 1);
    assert_eq!(state.counters.applied, 2);
    assert_eq!(state.requests("POST post_invoice 429"), 1);
}

#[tokio::test]
async fn faults_before_apply_leave_nothing_applied() {
    let sb = start(config()).await;
    let c = client();
    sb.script(
        Route::PostInvoice,
        "o",
        vec![FaultKind::Unavailable503, FaultKind::DropBeforeApply],
    );

    let response = post(&c, &sb, "o", &invoice("1", 1)).await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(sb.state().invoice("o", "1").is_none());

    let err = post(&c, &sb, "o", &invoice("1", 1))
        .await
        .expect_err("connection dropped");
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    assert!(sb.state().invoice("o", "1").is_none());

    // The queue is used up: the next one goes through.
    assert_eq!(
        post(&c, &sb, "o", &invoice("1", 1)).await.unwrap().status(),
        200
    );
    let state = sb.shutdown().await;
    assert_eq!(state.faults(FaultKind::Unavailable503), 1);
    assert_eq!(state.faults(FaultKind::DropBeforeApply), 1);
    assert_eq!(state.requests("POST post_invoice dropped"), 1);
    assert_eq!(state.counters.applied, 1);
}

#[tokio::test]
async fn faults_after_apply_still_apply() {
    let sb = start(config()).await;
    let c = client();
    sb.script(Route::PostInvoice, "a", vec![FaultKind::DropAfterApply]);
    sb.script(Route::PostInvoice, "b", vec![FaultKind::ErrorAfterApply500]);

    let err = post(&c, &sb, "a", &invoice("1", 1))
        .await
        .expect_err("connection dropped");
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    assert!(sb.state().invoice("a", "1").is_some());

    let response = post(&c, &sb, "b", &invoice("1", 1)).await.unwrap();
    assert_eq!(response.status(), 500);
    assert!(sb.state().invoice("b", "1").is_some());

    // A client that retries after either sees a re-post, not a second invoice.
    assert_eq!(
        post(&c, &sb, "a", &invoice("1", 1)).await.unwrap().status(),
        200
    );
    let state = sb.shutdown().await;
    assert_eq!(state.counters.applied, 2);
    assert_eq!(state.counters.reposts, 1);
    assert_eq!(state.faults(FaultKind::DropAfterApply), 1);
    assert_eq!(state.faults(FaultKind::ErrorAfterApply500), 1);
}

#[tokio::test]
async fn stall_after_apply_times_the_client_out_and_does_not_block_shutdown() {
    let sb = start(config()).await;
    sb.script(Route::PostInvoice, "o", vec![FaultKind::StallAfterApply]);
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = post(&impatient, &sb, "o", &invoice("1", 1))
        .await
        .expect_err("stalled");
    assert!(err.is_timeout(), "{err:?}");
    assert!(sb.state().invoice("o", "1").is_some());

    // A second stalled request is still being held when we shut down.
    sb.script(Route::PostInvoice, "o", vec![FaultKind::StallAfterApply]);
    let url = sb.url();
    let held = tokio::spawn(async move {
        let c = client();
        authed(c.post(format!("{url}/api/oms/pvt/orders/o/invoice")))
            .json(&invoice("2", 1))
            .send()
            .await
    });
    while sb.state().invoice("o", "2").is_none() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The guard only keeps a broken shutdown from hanging the suite; stall is 600 s.
    let state = tokio::time::timeout(Duration::from_secs(30), sb.shutdown())
        .await
        .expect("shutdown does not wait for stalled requests");
    assert_eq!(state.faults(FaultKind::StallAfterApply), 2);
    assert!(held.await.unwrap().is_err());
}

#[tokio::test]
async fn script_endpoint_queues_faults_for_get() {
    let sb = start(config()).await;
    let c = client();
    let response = c
        .post(format!("{}/_sandbox/script", sb.url()))
        .json(&json!({"route": "get_order", "orderId": "o", "faults": ["503", "500-after"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(get_order(&c, &sb, "o").await.unwrap().status(), 503);
    assert_eq!(get_order(&c, &sb, "o").await.unwrap().status(), 500);
    assert_eq!(get_order(&c, &sb, "o").await.unwrap().status(), 200);

    let response = c
        .post(format!("{}/_sandbox/script", sb.url()))
        .json(&json!({"route": "get_order", "orderId": "o", "faults": ["explode"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    sb.shutdown().await;
}

/// What a client saw for each of a fixed sequence of requests.
async fn outcomes(seed: u64) -> Vec<String> {
    let mut faults = FaultRates::none();
    faults.set(FaultKind::Unavailable503, 0.25);
    faults.set(FaultKind::DropBeforeApply, 0.15);
    faults.set(FaultKind::ErrorAfterApply500, 0.15);
    let sb = start(SandboxConfig {
        faults,
        seed,
        latency_ms: (0, 3),
        ..config()
    })
    .await;
    let c = client();
    let mut seen = Vec::new();
    for i in 0..40 {
        let order = format!("o{}", i % 4);
        let outcome = match post(&c, &sb, &order, &invoice(&i.to_string(), 1)).await {
            Ok(response) => response.status().as_str().to_string(),
            Err(_) => "error".to_string(),
        };
        seen.push(outcome);
    }
    let state = sb.shutdown().await;
    let faults: u64 = state.counters.faults.values().sum();
    assert_eq!(faults as usize, seen.iter().filter(|s| *s != "200").count());
    seen
}

#[tokio::test]
async fn seeded_faults_are_reproducible() {
    let first = outcomes(11).await;
    assert_eq!(first, outcomes(11).await);
    assert!(first.iter().any(|s| s == "200"));
    assert!(first.iter().any(|s| s != "200"));
    assert_ne!(first, outcomes(12).await);
}

#[tokio::test]
async fn state_endpoint_matches_the_library_snapshot() {
    let sb = start(config()).await;
    let c = client();
    post(&c, &sb, "o", &invoice("1", 5)).await.unwrap();
    post(&c, &sb, "o", &invoice("1", 5)).await.unwrap();
    get_order(&c, &sb, "o").await.unwrap();
    c.post(format!("{}/api/oms/pvt/orders/o/invoice", sb.url()))
        .send()
        .await
        .unwrap();

    let over_http: StateSnapshot = c
        .get(format!("{}/_sandbox/state", sb.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(over_http, sb.state());
    let counters = &over_http.counters;
    assert_eq!(over_http.requests("POST post_invoice 200"), 2);
    assert_eq!(over_http.requests("GET get_order 200"), 1);
    assert_eq!(over_http.requests("POST post_invoice 401"), 1);
    assert_eq!((counters.applied, counters.reposts), (1, 1));
    // The control routes are not counted.
    assert_eq!(counters.requests.values().sum::<u64>(), 4);
    sb.shutdown().await;
}

/// Kills the child even when an assertion fails.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_until_terminated_and_dumps_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let state_out = dir.path().join("state.json");
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_invoice-import"))
            .args([
                "sandbox",
                "--port",
                "0",
                "--propagation-ms",
                "0",
                "--state-out",
            ])
            .arg(&state_out)
            .env_remove("VTEX_APP_KEY")
            .env_remove("VTEX_APP_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts"),
    );
    let stdout = child.0.stdout.take().unwrap();
    // Keep the reader (and so the pipe) open while the child runs.
    let (first_line, _reader) = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).map(|_| (line, reader))
    })
    .await
    .unwrap()
    .unwrap();
    let url = first_line
        .trim()
        .strip_prefix("sandbox listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first_line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let c = client();
    let response = authed(c.post(format!("{url}/api/oms/pvt/orders/o/invoice")))
        .json(&invoice("1", 100))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let state: StateSnapshot = c
        .get(format!("{url}/_sandbox/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state.counters.applied, 1);

    // SIGTERM stops it like Ctrl-C does, and the final state lands in --state-out.
    #[cfg(unix)]
    {
        let pid = child.0.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let status = tokio::task::spawn_blocking(move || {
            let status = child.0.wait();
            (child, status)
        })
        .await
        .unwrap()
        .1
        .unwrap();
        assert!(status.success(), "{status:?}");
        let dumped: StateSnapshot =
            serde_json::from_slice(&std::fs::read(&state_out).unwrap()).unwrap();
        assert_eq!(dumped.counters.applied, 1);
        assert!(dumped.invoice("o", "1").is_some());
    }
}

/// Found by a review: with real credentials in the environment, the sandbox printed the app key
/// whole and the token's first characters; the README says credentials are never printed.
#[test]
fn the_banner_shows_no_credentials_from_the_environment() {
    let (key, token) = ("vtexappkey-SECRETKEY-XYZZY", "SECRETTOKEN-PLUGH-123");
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_invoice-import"))
            .args(["sandbox", "--port", "0"])
            .env("VTEX_APP_KEY", key)
            .env("VTEX_APP_TOKEN", token)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts"),
    );
    let mut reader = BufReader::new(child.0.stdout.take().unwrap());
    let mut banner = String::new();
    for _ in 0..4 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        banner.push_str(&line);
    }
    assert!(
        banner.contains("app key:   vtex… (26 characters)"),
        "{banner}"
    );
    assert!(
        banner.contains("app token: (21 characters, hidden)"),
        "{banner}"
    );
    for secret in ["SECRETKEY", "XYZZY", "SECR", "PLUGH"] {
        assert!(!banner.contains(secret), "{secret} in {banner}");
    }
}
