//! The OMS client against a small scripted server on 127.0.0.1:0: what goes on the wire
//! (headers, encoded paths, bodies) and how each kind of failure is classified, with the app
//! token never showing up in any error text.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use invoice_import::vtex::{
    CallError, Client, ClientOptions, Credentials, InvoiceItem, InvoiceRequest, Target,
    TrackingRequest,
};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

const KEY: &str = "vtexappkey-acme-KEYSECRET";
const TOKEN: &str = "TOKEN-9f8e7d6c5b4a-SECRET";

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

type Log = Arc<Mutex<Vec<Seen>>>;

async fn handler(log: Log, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    log.lock().unwrap().push(Seen {
        method: method.clone(),
        path: path.clone(),
        headers,
        body,
    });
    let json_body = |status: StatusCode, v: Value| (status, axum::Json(v)).into_response();
    let order = path
        .strip_prefix("/api/oms/pvt/orders/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("");
    match order {
        "e429" => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "3")],
            r#"{"error":{"code":"429","message":"slow down","exception":null}}"#,
        )
            .into_response(),
        "e429date" => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")],
            "",
        )
            .into_response(),
        "e401" => (StatusCode::UNAUTHORIZED, "Unauthorized").into_response(),
        "e403" => json_body(StatusCode::FORBIDDEN, json!({"message": "Forbidden"})),
        "e400" => json_body(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": "1", "message": "Invalid invoice value", "exception": null}}),
        ),
        "e404" => json_body(StatusCode::NOT_FOUND, json!({"message": "Order not found"})),
        "e500" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            StatusCode::OK.into_response()
        }
        "badjson" => (StatusCode::OK, "<html>surprise</html>").into_response(),
        _ if method == Method::GET => json_body(
            StatusCode::OK,
            json!({
                "orderId": order, "status": "invoiced", "value": 2499, "unknownField": {"a": 1},
                "packageAttachment": {"packages": [
                    {"invoiceNumber": "000123", "invoiceValue": 2499, "type": "Output",
                     "courier": null, "trackingNumber": null}
                ]}
            }),
        ),
        _ => json_body(
            StatusCode::OK,
            json!({"date": "2024-01-31T18:25:43+00:00", "orderId": order, "receipt": "r-1"}),
        ),
    }
}

async fn server() -> (String, Log) {
    let log: Log = Arc::default();
    let state = log.clone();
    let app = Router::new().fallback(move |m: Method, u: Uri, h: HeaderMap, b: Bytes| {
        handler(state.clone(), m, u, h, b)
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), log)
}

fn client(base: &str, timeout: Duration) -> Client {
    let opts = ClientOptions {
        timeout,
        ..ClientOptions::default()
    };
    Client::new(
        &Target::base_url(base).unwrap(),
        &Credentials::new(KEY, TOKEN),
        &opts,
    )
    .unwrap()
}

fn invoice() -> InvoiceRequest {
    InvoiceRequest {
        kind: "Output".into(),
        issuance_date: "2024-01-31T18:25:43-03:00".into(),
        invoice_number: "000123".into(),
        invoice_value: "2499".into(),
        invoice_key: None,
        invoice_url: None,
        courier: None,
        tracking_number: None,
        tracking_url: None,
        dispatched_date: None,
        items: vec![InvoiceItem {
            id: "0042".into(),
            price: 2499,
            quantity: 1,
            description: None,
        }],
    }
}

fn assert_no_secrets(err: &CallError) {
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(TOKEN), "token leaked: {text}");
        assert!(!text.contains(KEY), "app key leaked: {text}");
    }
}

#[tokio::test]
async fn post_sends_the_spec_headers_encoded_path_and_body() {
    let (base, log) = server().await;
    let c = client(&base, Duration::from_secs(5));
    let receipt = c.post_invoice("a/b c", &invoice()).await.unwrap();
    assert_eq!(receipt.receipt, "r-1");

    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(seen.method, Method::POST);
    assert_eq!(seen.path, "/api/oms/pvt/orders/a%2Fb%20c/invoice");
    let h = |name: &str| {
        seen.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    assert_eq!(h("accept"), "application/json");
    assert_eq!(h("content-type"), "application/json");
    assert_eq!(seen.headers.get_all("content-type").iter().count(), 1);
    assert_eq!(seen.headers.get_all("accept").iter().count(), 1);
    assert_eq!(h("x-vtex-api-appkey"), KEY);
    assert_eq!(h("x-vtex-api-apptoken"), TOKEN);
    assert!(h("user-agent").starts_with("invoice-import/"));
    let body: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(
        body,
        json!({
            "type": "Output", "issuanceDate": "2024-01-31T18:25:43-03:00",
            "invoiceNumber": "000123", "invoiceValue": "2499",
            "items": [{"id": "0042", "price": 2499, "quantity": 1}]
        })
    );
}

#[tokio::test]
async fn patch_and_get() {
    let (base, log) = server().await;
    let c = client(&format!("{base}/"), Duration::from_secs(5));
    let tracking = TrackingRequest {
        tracking_number: "TRK 1".into(),
        tracking_url: None,
        courier: Some("Correios".into()),
        dispatched_date: None,
    };
    c.patch_tracking("1-01", "000/123", &tracking)
        .await
        .unwrap();
    let order = c.get_order("1-01").await.unwrap();
    assert_eq!(order.order_id, "1-01");
    assert_eq!(order.invoice("000123").map(|p| p.invoice_value), Some(2499));

    let seen = log.lock().unwrap().clone();
    assert_eq!(seen[0].method, Method::PATCH);
    assert_eq!(seen[0].path, "/api/oms/pvt/orders/1-01/invoice/000%2F123");
    let body: Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(
        body,
        json!({"trackingNumber": "TRK 1", "trackingUrl": null, "courier": "Correios", "dispatchedDate": null})
    );
    assert_eq!(seen[1].method, Method::GET);
    assert_eq!(seen[1].path, "/api/oms/pvt/orders/1-01");
}

#[tokio::test]
async fn statuses_are_classified() {
    let (base, _log) = server().await;
    let c = client(&base, Duration::from_secs(5));

    let e = c.post_invoice("e429", &invoice()).await.unwrap_err();
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    assert!(e.is_retriable() && !e.may_have_applied());
    assert!(e.to_string().contains("slow down"), "{e}");
    assert_no_secrets(&e);

    let e = c.post_invoice("e429date", &invoice()).await.unwrap_err();
    assert_eq!(
        e.retry_after(),
        Some(Duration::ZERO),
        "a past date means no wait"
    );

    for (id, status) in [("e401", 401), ("e403", 403)] {
        let e = c.post_invoice(id, &invoice()).await.unwrap_err();
        assert_eq!(e.status(), Some(status));
        assert!(e.is_auth() && !e.is_retriable());
        assert_no_secrets(&e);
    }

    let e = c.post_invoice("e400", &invoice()).await.unwrap_err();
    match &e {
        CallError::Status {
            status,
            code,
            message,
            ..
        } => {
            assert_eq!(*status, 400);
            assert_eq!(code.as_deref(), Some("1"));
            assert_eq!(message, "Invalid invoice value");
        }
        other => panic!("{other:?}"),
    }
    assert!(!e.is_retriable());
    assert_no_secrets(&e);

    let e = c.get_order("e404").await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert!(e.to_string().contains("Order not found"));

    let e = c.post_invoice("e500", &invoice()).await.unwrap_err();
    assert!(e.is_retriable() && e.may_have_applied());
    assert_no_secrets(&e);

    let e = c.post_invoice("badjson", &invoice()).await.unwrap_err();
    assert!(matches!(e, CallError::Decode { status: 200, .. }), "{e:?}");
    assert!(e.may_have_applied());
    assert_no_secrets(&e);
}

#[tokio::test]
async fn a_timeout_may_have_applied() {
    let (base, _log) = server().await;
    let c = client(&base, Duration::from_millis(300));
    let e = c.post_invoice("slow", &invoice()).await.unwrap_err();
    assert!(matches!(e, CallError::Timeout { .. }), "{e:?}");
    assert!(e.may_have_applied() && e.is_retriable());
    assert_no_secrets(&e);
}

#[tokio::test]
async fn refused_connection_was_not_applied() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = client(&format!("http://{addr}"), Duration::from_secs(5));
    let e = c.post_invoice("1-01", &invoice()).await.unwrap_err();
    assert!(matches!(e, CallError::Connect { .. }), "{e:?}");
    assert!(!e.may_have_applied() && e.is_retriable());
    assert_no_secrets(&e);
}

#[tokio::test]
async fn a_dropped_connection_may_have_applied() {
    // A server that reads the request and hangs up without answering.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = vec![0u8; 65536];
            let _ = sock.read(&mut buf).await;
            drop(sock);
        }
    });
    let c = client(&format!("http://{addr}"), Duration::from_secs(5));
    let e = c.post_invoice("1-01", &invoice()).await.unwrap_err();
    assert!(matches!(e, CallError::Transport { .. }), "{e:?}");
    assert!(e.may_have_applied() && e.is_retriable());
    assert_no_secrets(&e);
}

#[tokio::test]
async fn ids_that_cannot_be_path_segments_are_refused_before_sending() {
    let (base, log) = server().await;
    let c = client(&base, Duration::from_secs(5));
    for id in ["", ".", ".."] {
        let e = c.post_invoice(id, &invoice()).await.unwrap_err();
        assert!(matches!(e, CallError::Invalid { .. }), "{e:?}");
        assert!(!e.is_retriable() && !e.may_have_applied());
    }
    assert!(log.lock().unwrap().is_empty());
}

#[test]
fn debug_output_hides_credentials() {
    let c = client("http://127.0.0.1:9", Duration::from_secs(1));
    let text = format!("{c:?} {:?}", Credentials::new(KEY, TOKEN));
    assert!(!text.contains(TOKEN) && !text.contains(KEY), "{text}");
}

/// A bare HTTP/1.1 server: answers each request with a receipt on a keep-alive connection, and
/// closes each connection `close_after` its first answer (a server's keep-alive timeout) when
/// given. Returns its base URL and the count of connections it accepted.
async fn keep_alive_server(close_after: Option<Duration>) -> (String, Arc<Mutex<usize>>) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted: Arc<Mutex<usize>> = Arc::default();
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            *count.lock().unwrap() += 1;
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // One request: headers, then Content-Length bytes of body.
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map(|v| v.trim().parse().unwrap())
                        .unwrap_or(0);
                    while buf.len() < head_end + length {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..head_end + length);
                    let body =
                        r#"{"date":"2024-01-31T18:25:43+00:00","orderId":"1-01","receipt":"r-1"}"#;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if sock.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                    if let Some(after) = close_after {
                        tokio::time::sleep(after).await;
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), accepted)
}

#[tokio::test]
async fn a_kept_alive_connection_is_reused() {
    let (base, accepted) = keep_alive_server(None).await;
    let c = client(&base, Duration::from_secs(5));
    for _ in 0..5 {
        c.post_invoice("1-01", &invoice()).await.unwrap();
    }
    assert_eq!(*accepted.lock().unwrap(), 1);
}

#[tokio::test]
async fn a_connection_the_server_closed_while_idle_is_replaced_without_an_error() {
    let (base, accepted) = keep_alive_server(Some(Duration::from_millis(20))).await;
    let c = client(&base, Duration::from_secs(5));
    for _ in 0..3 {
        c.post_invoice("1-01", &invoice()).await.unwrap();
        // Past the server's keep-alive: the pooled connection is closed by the time it is used.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(*accepted.lock().unwrap(), 3);
}

#[tokio::test]
async fn connections_idle_past_the_pool_timeout_are_not_reused() {
    let (base, accepted) = keep_alive_server(None).await;
    let opts = ClientOptions {
        timeout: Duration::from_secs(5),
        pool_idle_timeout: Duration::from_millis(50),
        ..ClientOptions::default()
    };
    let c = Client::new(
        &Target::base_url(&base).unwrap(),
        &Credentials::new(KEY, TOKEN),
        &opts,
    )
    .unwrap();
    c.post_invoice("1-01", &invoice()).await.unwrap();
    c.post_invoice("1-01", &invoice()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    c.post_invoice("1-01", &invoice()).await.unwrap();
    assert_eq!(*accepted.lock().unwrap(), 2);
}

/// An https server on 127.0.0.1:0 with the test certificate in tests/data/tls (issued by the
/// test CA there to `localhost` and 127.0.0.1; the key is a throwaway made for these tests),
/// answering every request with a receipt over HTTP/1.1.
async fn tls_server() -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    let certs = vec![CertificateDer::from_pem_file(dir.join("server.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(sock).await else {
                    return;
                };
                let service = hyper::service::service_fn(|_req| async {
                    let body = r#"{"date":"2024-01-31T18:25:43+00:00","orderId":"1-01","receipt":"tls-1"}"#;
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(
                        http_body_util::Full::new(Bytes::from(body)),
                    ))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    port
}

fn tls_client(base: &str, trust_test_ca: bool) -> Client {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let ca = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls/ca.pem");
    let extra_roots = if trust_test_ca {
        vec![CertificateDer::from_pem_file(ca).unwrap().to_vec()]
    } else {
        Vec::new()
    };
    let opts = ClientOptions {
        timeout: Duration::from_secs(5),
        extra_roots,
        ..ClientOptions::default()
    };
    Client::new(
        &Target::base_url(base).unwrap(),
        &Credentials::new(KEY, TOKEN),
        &opts,
    )
    .unwrap()
}

#[tokio::test]
async fn https_with_a_trusted_certificate_works_by_name_and_by_address() {
    let port = tls_server().await;
    for base in [
        format!("https://localhost:{port}"),
        format!("https://127.0.0.1:{port}"),
    ] {
        let c = tls_client(&base, true);
        for _ in 0..3 {
            let receipt = c.post_invoice("1-01", &invoice()).await.unwrap();
            assert_eq!(receipt.receipt, "tls-1", "{base}");
        }
    }
}

#[tokio::test]
async fn https_with_an_untrusted_certificate_is_refused_before_sending() {
    let port = tls_server().await;
    let c = tls_client(&format!("https://localhost:{port}"), false);
    let e = c.post_invoice("1-01", &invoice()).await.unwrap_err();
    assert!(matches!(e, CallError::Connect { .. }), "{e:?}");
    assert!(e.to_string().contains("TLS"), "{e}");
    assert!(!e.may_have_applied() && e.is_retriable());
    assert_no_secrets(&e);
}

/// A CONNECT proxy on 127.0.0.1:0: records each request head, then either refuses with a 407
/// or opens the tunnel to the port asked for.
async fn connect_proxy(refuse: bool) -> (u16, Arc<Mutex<Vec<String>>>) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let heads: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&heads);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if sock.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                seen.lock().unwrap().push(head.clone());
                if refuse {
                    let _ = sock
                        .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
                        .await;
                    return;
                }
                let target_port: u16 = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|a| a.rsplit(':').next())
                    .and_then(|p| p.parse().ok())
                    .unwrap();
                let mut upstream = tokio::net::TcpStream::connect(("127.0.0.1", target_port))
                    .await
                    .unwrap();
                sock.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut sock, &mut upstream).await;
            });
        }
    });
    (port, heads)
}

fn proxied_client(base: &str, proxy: String) -> Client {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let ca = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls/ca.pem");
    let opts = ClientOptions {
        timeout: Duration::from_secs(5),
        extra_roots: vec![CertificateDer::from_pem_file(ca).unwrap().to_vec()],
        proxy: Some(proxy),
        ..ClientOptions::default()
    };
    Client::new(
        &Target::base_url(base).unwrap(),
        &Credentials::new(KEY, TOKEN),
        &opts,
    )
    .unwrap()
}

#[tokio::test]
async fn https_goes_through_a_connect_proxy_with_its_credentials() {
    let tls_port = tls_server().await;
    let (proxy_port, heads) = connect_proxy(false).await;
    let c = proxied_client(
        &format!("https://localhost:{tls_port}"),
        format!("http://bob:s%20cret@127.0.0.1:{proxy_port}"),
    );
    for _ in 0..3 {
        assert_eq!(
            c.post_invoice("1-01", &invoice()).await.unwrap().receipt,
            "tls-1"
        );
    }
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 1, "one tunnel, kept alive: {heads:?}");
    assert!(
        heads[0].starts_with(&format!("CONNECT localhost:{tls_port} HTTP/1.1\r\n")),
        "{heads:?}"
    );
    // base64("bob:s cret")
    assert!(
        heads[0].contains("Proxy-Authorization: Basic Ym9iOnMgY3JldA==\r\n"),
        "{heads:?}"
    );
    // The proxy sees only the tunnel request: the app keys travel inside TLS.
    assert!(!heads[0].contains(TOKEN) && !heads[0].contains(KEY));
}

#[tokio::test]
async fn a_proxy_that_refuses_the_tunnel_is_a_connect_error_without_its_password() {
    let (proxy_port, _heads) = connect_proxy(true).await;
    let c = proxied_client(
        "https://localhost:1",
        format!("http://bob:hunter2@127.0.0.1:{proxy_port}"),
    );
    let e = c.post_invoice("1-01", &invoice()).await.unwrap_err();
    assert!(matches!(e, CallError::Connect { .. }), "{e:?}");
    assert!(e.to_string().contains("407"), "{e}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(!e.may_have_applied());
    assert_no_secrets(&e);
}
