//! The HTTP side: routes, the order of checks VTEX applies (rate limit, credentials, headers,
//! order, body), fault injection around the point where a request is applied, and a
//! connection loop of our own so a fault can close a TCP connection without any response.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, patch, post};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use super::faults::{FaultKind, Plan, Route};
use super::limit::{TokenBucket, retry_after_secs};
use super::state::{Outcome, Store, StoreError};
use super::validate::{self, Invalid};
use super::{RetryAfter, SandboxConfig};

/// What the handlers share: the configuration, the one lock around the store, and the bucket.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: SandboxConfig,
    pub store: Mutex<Store>,
    pub bucket: Option<Mutex<TokenBucket>>,
}

impl Shared {
    pub fn new(config: SandboxConfig) -> Self {
        let store = Mutex::new(Store::new(&config.orders));
        let bucket = config
            .rate
            .map(|rate| Mutex::new(TokenBucket::new(rate, config.burst, Instant::now())));
        Shared {
            config,
            store,
            bucket,
        }
    }

    /// The store. A poisoned lock only means a handler panicked mid-update; the data is
    /// still the best record we have, so keep serving it rather than panic in turn.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Closes the connection the request came in on (handed to handlers as an extension).
#[derive(Debug, Clone)]
pub(crate) struct ConnKill(Arc<Notify>);

const ORDER: &str = "/api/oms/pvt/orders/{order_id}";
const INVOICE: &str = "/api/oms/pvt/orders/{order_id}/invoice";
const TRACKING: &str = "/api/oms/pvt/orders/{order_id}/invoice/{invoice_number}";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(INVOICE, post(post_invoice))
        .route(TRACKING, patch(patch_tracking))
        .route(ORDER, get(get_order))
        .route("/_sandbox/state", get(get_state))
        .route("/_sandbox/script", post(post_script))
        .fallback(no_route)
        // Embedded XML invoices can be large; VTEX takes a few megabytes.
        .layer(DefaultBodyLimit::max(16 << 20))
        .with_state(shared)
}

/// Accepts connections until `shutdown` turns true (or its sender is dropped), then aborts
/// every connection, stalled ones included.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, router.clone()));
                    while connections.try_join_next().is_some() {}
                }
                // Out of file descriptors and the like: wait a little instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            // The guard `wait_for` returns is not Send: drop it inside the block.
            () = async { drop(shutdown.wait_for(|stop| *stop).await) } => break,
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, router: Router) {
    // Latency matters more than packet count for small JSON answers.
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let handle = ConnKill(Arc::clone(&kill));
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(handle.clone());
        tower::Service::call(&mut router.clone(), request)
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    // Dropping the connection future drops the socket: the client sees the connection
    // closed with no response, which is what a dropped-connection fault must look like.
    tokio::select! {
        _ = connection => {}
        () = kill.notified() => {}
    }
}

fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    // Serializing plain data (strings, numbers, maps with string keys) cannot fail.
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// VTEX's error envelope: `{"error":{"code":…,"message":…,"exception":null}}`.
fn vtex_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    json_response(
        status,
        &json!({"error": {"code": code, "message": message.into(), "exception": null}}),
    )
}

/// Code VTEX's OMS uses for generic request errors.
const CODE_BAD_REQUEST: &str = "1";
/// VTEX's code for an unknown order.
const CODE_ORDER_NOT_FOUND: &str = "OMS007";

fn bad_request(invalid: &Invalid) -> Response {
    vtex_error(
        StatusCode::BAD_REQUEST,
        CODE_BAD_REQUEST,
        invalid.message.clone(),
    )
}

fn store_error(err: &StoreError) -> Response {
    match err {
        StoreError::OrderNotFound => {
            vtex_error(StatusCode::NOT_FOUND, CODE_ORDER_NOT_FOUND, err.to_string())
        }
        StoreError::InvoiceNotFound { .. } => {
            vtex_error(StatusCode::NOT_FOUND, CODE_BAD_REQUEST, err.to_string())
        }
        StoreError::ValueExceeded { .. } => {
            vtex_error(StatusCode::BAD_REQUEST, CODE_BAD_REQUEST, err.to_string())
        }
    }
}

async fn drop_connection(conn: &ConnKill) -> Response {
    conn.0.notify_one();
    // The connection task drops this future together with the socket.
    std::future::pending().await
}

fn path_error(rejection: &PathRejection) -> Response {
    vtex_error(
        StatusCode::BAD_REQUEST,
        CODE_BAD_REQUEST,
        format!("Invalid path: {rejection}"),
    )
}

/// Everything before a request can be applied: rate limit, credentials, then the fault and
/// latency plan (so a 401 or 429 never consumes a scripted fault).
async fn gate(
    sh: &Shared,
    route: Route,
    order_id: &str,
    headers: &HeaderMap,
    conn: &ConnKill,
) -> Result<Plan, Response> {
    let config = &sh.config;
    if let Some(bucket) = &sh.bucket {
        let taken = bucket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .try_take(Instant::now());
        if let Err(wait) = taken {
            {
                let mut store = sh.store();
                store.record_rate_limited();
                store.record(route, Outcome::Status(429));
            }
            let mut response = vtex_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests: the account's rate limit was exceeded",
            );
            let secs = match config.retry_after {
                RetryAfter::Auto => Some(retry_after_secs(wait)),
                RetryAfter::Fixed(d) => Some(d.as_secs() + u64::from(d.subsec_nanos() > 0)),
                RetryAfter::Omit => None,
            };
            if let Some(secs) = secs {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            return Err(response);
        }
    }

    let key = headers.get("x-vtex-api-appkey").map(HeaderValue::as_bytes);
    let token = headers
        .get("x-vtex-api-apptoken")
        .map(HeaderValue::as_bytes);
    if key != Some(config.app_key.as_bytes()) || token != Some(config.app_token.as_bytes()) {
        sh.store().record(route, Outcome::Status(401));
        return Err(vtex_error(
            StatusCode::UNAUTHORIZED,
            CODE_BAD_REQUEST,
            "Unauthorized: X-VTEX-API-AppKey and X-VTEX-API-AppToken are missing or invalid",
        ));
    }
    if config.forbidden {
        sh.store().record(route, Outcome::Status(403));
        return Err(vtex_error(
            StatusCode::FORBIDDEN,
            CODE_BAD_REQUEST,
            "Forbidden: the application key lacks the OMS resource needed for this request",
        ));
    }

    let plan = sh.store().planner.next(
        route,
        order_id,
        config.seed,
        &config.faults,
        config.latency_ms,
    );
    if plan.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(plan.latency_ms)).await;
    }
    match plan.fault {
        Some(FaultKind::Unavailable503) => {
            {
                let mut store = sh.store();
                store.record_fault(FaultKind::Unavailable503);
                store.record(route, Outcome::Status(503));
            }
            Err(vtex_error(
                StatusCode::SERVICE_UNAVAILABLE,
                CODE_BAD_REQUEST,
                "Service Unavailable",
            ))
        }
        Some(FaultKind::DropBeforeApply) => {
            {
                let mut store = sh.store();
                store.record_fault(FaultKind::DropBeforeApply);
                store.record(route, Outcome::Dropped);
            }
            Err(drop_connection(conn).await)
        }
        _ => Ok(plan),
    }
}

/// Counts the answer and applies the faults that strike after the request was applied.
async fn finish(
    sh: &Shared,
    route: Route,
    plan: Plan,
    conn: &ConnKill,
    response: Response,
) -> Response {
    let status = Outcome::Status(response.status().as_u16());
    match plan.fault {
        Some(kind @ FaultKind::DropAfterApply) => {
            {
                let mut store = sh.store();
                store.record_fault(kind);
                store.record(route, Outcome::Dropped);
            }
            drop_connection(conn).await
        }
        Some(kind @ FaultKind::ErrorAfterApply500) => {
            {
                let mut store = sh.store();
                store.record_fault(kind);
                store.record(route, Outcome::Status(500));
            }
            vtex_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                CODE_BAD_REQUEST,
                "Internal Server Error",
            )
        }
        Some(kind @ FaultKind::StallAfterApply) => {
            {
                let mut store = sh.store();
                store.record_fault(kind);
                store.record(route, status);
            }
            tokio::time::sleep(sh.config.stall).await;
            response
        }
        _ => {
            sh.store().record(route, status);
            response
        }
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).map(|v| v.to_str().unwrap_or(""))
}

/// `Accept` (and, with a body, `Content-Type`) are required parameters in the spec.
fn check_headers(headers: &HeaderMap, with_body: bool) -> Result<(), Box<Response>> {
    let missing = |name: &str| {
        vtex_error(
            StatusCode::BAD_REQUEST,
            CODE_BAD_REQUEST,
            format!("Missing required header '{name}'"),
        )
    };
    match header_text(headers, header::ACCEPT) {
        None => return Err(Box::new(missing("Accept"))),
        Some(accept) => {
            let accept = accept.to_ascii_lowercase();
            let ok = accept.contains("application/json")
                || accept.contains("*/*")
                || accept.contains("application/*");
            if !ok {
                return Err(Box::new(vtex_error(
                    StatusCode::BAD_REQUEST,
                    CODE_BAD_REQUEST,
                    format!("Header 'Accept' must allow application/json, got {accept:?}"),
                )));
            }
        }
    }
    if with_body {
        match header_text(headers, header::CONTENT_TYPE) {
            None => return Err(Box::new(missing("Content-Type"))),
            Some(ct) => {
                let media = ct.split(';').next().unwrap_or("").trim();
                if !media.eq_ignore_ascii_case("application/json") {
                    return Err(Box::new(vtex_error(
                        StatusCode::BAD_REQUEST,
                        CODE_BAD_REQUEST,
                        format!("Header 'Content-Type' must be application/json, got {ct:?}"),
                    )));
                }
            }
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct ReceiptBody<'a> {
    date: String,
    #[serde(rename = "orderId")]
    order_id: &'a str,
    receipt: &'a str,
}

fn receipt_response(order_id: &str, receipt: &super::state::Receipt) -> Response {
    json_response(
        StatusCode::OK,
        &ReceiptBody {
            date: receipt
                .date
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
            order_id,
            receipt: &receipt.receipt,
        },
    )
}

async fn post_invoice(
    State(sh): State<Arc<Shared>>,
    Extension(conn): Extension<ConnKill>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let route = Route::PostInvoice;
    let order_id = match path {
        Ok(Path(order_id)) => order_id,
        Err(rejection) => return path_error(&rejection),
    };
    let plan = match gate(&sh, route, &order_id, &headers, &conn).await {
        Ok(plan) => plan,
        Err(response) => return response,
    };
    let response = apply_post(&sh, &order_id, &headers, &body);
    finish(&sh, route, plan, &conn, response).await
}

fn apply_post(sh: &Shared, order_id: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    if let Err(response) = check_headers(headers, true) {
        return *response;
    }
    if !sh.store().order_exists(order_id) {
        return store_error(&StoreError::OrderNotFound);
    }
    let invoice = match validate::invoice_post(body) {
        Ok(invoice) => invoice,
        Err(invalid) => return bad_request(&invalid),
    };
    let applied = sh.store().post_invoice(
        order_id,
        invoice,
        Instant::now(),
        sh.config.propagation_delay,
    );
    match applied {
        Ok(receipt) => receipt_response(order_id, &receipt),
        Err(err) => store_error(&err),
    }
}

async fn patch_tracking(
    State(sh): State<Arc<Shared>>,
    Extension(conn): Extension<ConnKill>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let route = Route::PatchTracking;
    let (order_id, invoice_number) = match path {
        Ok(Path(ids)) => ids,
        Err(rejection) => return path_error(&rejection),
    };
    let plan = match gate(&sh, route, &order_id, &headers, &conn).await {
        Ok(plan) => plan,
        Err(response) => return response,
    };
    let response = apply_patch(&sh, &order_id, &invoice_number, &headers, &body);
    finish(&sh, route, plan, &conn, response).await
}

fn apply_patch(
    sh: &Shared,
    order_id: &str,
    invoice_number: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    if let Err(response) = check_headers(headers, true) {
        return *response;
    }
    if !sh.store().order_exists(order_id) {
        return store_error(&StoreError::OrderNotFound);
    }
    let patch = match validate::tracking_patch(body) {
        Ok(patch) => patch,
        Err(invalid) => return bad_request(&invalid),
    };
    let applied = sh.store().patch_tracking(order_id, invoice_number, patch);
    match applied {
        Ok(receipt) => receipt_response(order_id, &receipt),
        Err(err) => store_error(&err),
    }
}

async fn get_order(
    State(sh): State<Arc<Shared>>,
    Extension(conn): Extension<ConnKill>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let route = Route::GetOrder;
    let order_id = match path {
        Ok(Path(order_id)) => order_id,
        Err(rejection) => return path_error(&rejection),
    };
    let plan = match gate(&sh, route, &order_id, &headers, &conn).await {
        Ok(plan) => plan,
        Err(response) => return response,
    };
    let response = match check_headers(&headers, false) {
        Err(response) => *response,
        Ok(()) => {
            let view = sh.store().order_view(&order_id, Instant::now());
            match view {
                Ok(view) => json_response(StatusCode::OK, &view),
                Err(err) => store_error(&err),
            }
        }
    };
    finish(&sh, route, plan, &conn, response).await
}

async fn get_state(State(sh): State<Arc<Shared>>) -> Response {
    let snapshot = sh.store().snapshot();
    json_response(StatusCode::OK, &snapshot)
}

/// Body of `POST /_sandbox/script`.
#[derive(Debug, Deserialize)]
struct ScriptRequest {
    route: Route,
    #[serde(rename = "orderId")]
    order_id: String,
    faults: Vec<FaultKind>,
}

async fn post_script(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<ScriptRequest>(&body) {
        Ok(script) => {
            let queued = script.faults.len();
            sh.store()
                .planner
                .script(script.route, &script.order_id, script.faults);
            json_response(StatusCode::OK, &json!({"queued": queued}))
        }
        Err(err) => vtex_error(
            StatusCode::BAD_REQUEST,
            CODE_BAD_REQUEST,
            format!("Invalid script: {err}"),
        ),
    }
}

async fn no_route(method: Method, uri: Uri) -> Result<Response, Infallible> {
    Ok(vtex_error(
        StatusCode::NOT_FOUND,
        CODE_BAD_REQUEST,
        format!("No route for {method} {}", uri.path()),
    ))
}
