//! One HTTP request to the OMS at a time: where to send it (`Target`), with which keys
//! (`Credentials`), and what came back, classified (`CallError`) so the scheduler can tell a
//! final answer from a retriable one and a "may have been applied" one.
//!
//! Secrets: the app key and token live only in header values marked sensitive; no `Display` or
//! `Debug` here prints them, and error messages are built from statuses, bodies and transport
//! errors, never from the request headers.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HOST, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT};
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rustls::pki_types::ServerName;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;
use url::{Host, Url};

use super::api::{InvoiceRequest, Json, Order, Receipt, TrackingRequest};

/// Everything outside RFC 3986's unreserved set is encoded, so an order id like `a/b` can never
/// change which resource a request addresses.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Longest error body text kept in a message; VTEX error pages can be large HTML.
const MAX_ERROR_TEXT: usize = 500;

/// Where requests go: `https://{account}.{environment}.com.br` or an explicit base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Scheme, host, port and optional path prefix, without a trailing slash.
    base: Url,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("invalid account name {name:?}: VTEX account names use only letters, digits and '-'")]
    InvalidAccount { name: String },
    #[error(
        "invalid environment {name:?}: expected something like vtexcommercestable (letters, digits, '-', '.')"
    )]
    InvalidEnvironment { name: String },
    #[error("invalid base URL {url:?}: {message}")]
    InvalidUrl { url: String, message: String },
    #[error("base URL {url:?} must use https:// (or http:// on a loopback host)")]
    UnsupportedScheme { url: String },
    #[error(
        "refusing plain http:// to {host}: credentials would travel unencrypted; use https:// (http:// is only allowed for loopback hosts)"
    )]
    PlainHttp { host: String },
}

impl Target {
    /// `https://{account}.{environment}.com.br`.
    pub fn account(name: &str, environment: &str) -> Result<Target, TargetError> {
        let valid_label = |s: &str, extra: &[char]| {
            !s.is_empty()
                && s.len() <= 63
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || extra.contains(&c))
                && !s.starts_with(['-', '.'])
                && !s.ends_with(['-', '.'])
        };
        if !valid_label(name, &[]) {
            return Err(TargetError::InvalidAccount { name: name.into() });
        }
        if !valid_label(environment, &['.']) || environment.contains("..") {
            return Err(TargetError::InvalidEnvironment {
                name: environment.into(),
            });
        }
        let url = format!(
            "https://{}.{}.com.br",
            name.to_ascii_lowercase(),
            environment.to_ascii_lowercase()
        );
        Target::base_url(&url)
    }

    /// An explicit base URL (a proxy, the sandbox, another VTEX host). Plain `http://` is
    /// refused unless the host is loopback, before any request is made.
    pub fn base_url(url: &str) -> Result<Target, TargetError> {
        let invalid = |message: &str| TargetError::InvalidUrl {
            url: url.into(),
            message: message.into(),
        };
        let mut base = Url::parse(url.trim()).map_err(|e| invalid(&e.to_string()))?;
        if !base.username().is_empty() || base.password().is_some() {
            // A URL with user:pass would end up in messages and ledger names.
            return Err(invalid("credentials in the URL are not supported"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(invalid("a base URL cannot have a query or fragment"));
        }
        let host = base
            .host_str()
            .ok_or_else(|| invalid("no host"))?
            .to_string();
        match base.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => return Err(TargetError::PlainHttp { host }),
            _ => return Err(TargetError::UnsupportedScheme { url: url.into() }),
        }
        let path = base.path().trim_end_matches('/').to_string();
        base.set_path(&path);
        Ok(Target { base })
    }

    /// The base URL, e.g. `https://acme.vtexcommercestable.com.br`.
    pub fn url(&self) -> &Url {
        &self.base
    }

    /// What the ledger is kept for: the account VTEX serves at this URL, however the URL spells
    /// it. `{account}.myvtex.com` and `{account}.{environment}.com.br` are one account's, kept
    /// as `https://{account}.vtexcommercestable.com.br`, the `--account` URL; a loopback host
    /// (`localhost`, `::1`) is `127.0.0.1`. Any other URL is its own. (Bug: another spelling of
    /// one store had a ledger of its own, and the invoices the first had sent went again.)
    pub fn ledger_scope(&self) -> String {
        let host = self
            .base
            .host_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let bare_path = self.base.path().trim_matches('/').is_empty();
        let account = host
            .strip_suffix(".myvtex.com")
            .or_else(|| {
                let (account, rest) = host.split_once('.')?;
                let environment = rest.strip_suffix(".com.br")?;
                environment.starts_with("vtexcommerce").then_some(account)
            })
            .filter(|a| !a.is_empty() && !a.contains('.'));
        match account {
            Some(account) if bare_path && self.base.scheme() == "https" => {
                format!(
                    "https://{account}.{}.com.br",
                    crate::config::DEFAULT_ENVIRONMENT
                )
            }
            _ if is_loopback(&host) => {
                let mut url = self.base.clone();
                // Always a valid host, so this cannot fail.
                let _ = url.set_host(Some("127.0.0.1"));
                url.as_str().trim_end_matches('/').to_string()
            }
            _ => self.as_str().to_string(),
        }
    }

    /// Base URL text without a trailing slash.
    pub fn as_str(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// `{base}/api/oms/pvt/orders/{segments…}`; the segments must be encoded already.
    #[cfg(test)]
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.set_path(&self.endpoint_path(segments));
        url
    }

    /// The path (origin form) of `{base}/api/oms/pvt/orders/{segments…}`, as the request line
    /// carries it; the segments must be encoded already, so nothing here needs parsing.
    fn endpoint_path(&self, segments: &[&str]) -> String {
        let prefix = self.base.path().trim_end_matches('/');
        let mut path = String::with_capacity(
            prefix.len() + 20 + segments.iter().map(|s| s.len() + 1).sum::<usize>(),
        );
        path.push_str(prefix);
        path.push_str("/api/oms/pvt/orders");
        for seg in segments {
            path.push('/');
            path.push_str(seg);
        }
        path
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.eq_ignore_ascii_case("localhost") {
        return true;
    }
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Encodes one path segment. Empty and dot segments are refused: a URL parser would drop or
/// resolve them, silently addressing another resource.
fn segment(what: &str, value: &str) -> Result<String, CallError> {
    if value.is_empty() || value == "." || value == ".." {
        return Err(CallError::Invalid {
            message: format!("{what} {value:?} cannot be used in a URL path"),
        });
    }
    Ok(utf8_percent_encode(value, PATH_SEGMENT).to_string())
}

/// The app key and token. Never printed: `Debug` redacts them and there is no `Display`.
#[derive(Clone)]
pub struct Credentials {
    app_key: String,
    app_token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("{variable} is not set (VTEX needs both VTEX_APP_KEY and VTEX_APP_TOKEN)")]
    Missing { variable: String },
    #[error("{variable} contains characters that cannot go in an HTTP header")]
    Invalid { variable: String },
}

impl Credentials {
    pub fn new(app_key: impl Into<String>, app_token: impl Into<String>) -> Credentials {
        Credentials {
            app_key: app_key.into(),
            app_token: app_token.into(),
        }
    }

    /// The app key, for a masked display (`config show`); the token has no accessor.
    pub fn app_key(&self) -> &str {
        &self.app_key
    }

    /// From `VTEX_APP_KEY` and `VTEX_APP_TOKEN`.
    pub fn from_env() -> Result<Credentials, CredentialsError> {
        Credentials::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like `from_env` with any variable source (tests, a config file's table).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Credentials, CredentialsError> {
        let get = |variable: &str| {
            let value = lookup(variable).map(|v| v.trim().to_string());
            match value {
                Some(v) if !v.is_empty() => {
                    if HeaderValue::from_str(&v).is_err() {
                        Err(CredentialsError::Invalid {
                            variable: variable.into(),
                        })
                    } else {
                        Ok(v)
                    }
                }
                _ => Err(CredentialsError::Missing {
                    variable: variable.into(),
                }),
            }
        };
        Ok(Credentials::new(
            get("VTEX_APP_KEY")?,
            get("VTEX_APP_TOKEN")?,
        ))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("app_key", &"<redacted>")
            .field("app_token", &"<redacted>")
            .finish()
    }
}

/// Connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Whole-request timeout (connect, send, wait, read).
    pub timeout: Duration,
    /// Upper bound on idle keep-alive connections kept; should be ≥ the concurrency.
    pub pool_max_idle_per_host: usize,
    /// Idle connections are dropped after this; kept below the usual 60 s server keep-alive so
    /// we do not reuse a connection the server is about to close.
    pub pool_idle_timeout: Duration,
    pub user_agent: String,
    /// DER certificates trusted beside the system's roots for https (a test server, a
    /// TLS-inspecting proxy); empty normally.
    pub extra_roots: Vec<Vec<u8>>,
    /// `http://[user:password@]host:port` of a proxy that https requests are tunnelled through
    /// (HTTP CONNECT); see [`ClientOptions::proxy_from_env`].
    pub proxy: Option<String>,
}

impl ClientOptions {
    /// The proxy the usual environment variables name for `target` (`HTTPS_PROXY`, then
    /// `ALL_PROXY`, upper or lower case), unless `NO_PROXY` lists its host (a name, a
    /// `.suffix` or `*`). Plain http goes only to loopback hosts and is never proxied.
    pub fn proxy_from_env(target: &Target) -> Option<String> {
        proxy_for(target, |name| std::env::var(name).ok())
    }
}

fn proxy_for(target: &Target, var: impl Fn(&str) -> Option<String>) -> Option<String> {
    if target.url().scheme() != "https" {
        return None;
    }
    let get = |name: &str| {
        var(name)
            .or_else(|| var(&name.to_ascii_lowercase()))
            .filter(|v| !v.trim().is_empty())
    };
    let proxy = get("HTTPS_PROXY").or_else(|| get("ALL_PROXY"))?;
    let host = target.url().host_str()?.to_ascii_lowercase();
    let bypass = get("NO_PROXY").is_some_and(|list| {
        list.split(',').map(str::trim).any(|entry| {
            let entry = entry.to_ascii_lowercase();
            let bare = entry.trim_start_matches('.');
            entry == "*"
                || (!bare.is_empty() && (host == bare || host.ends_with(&format!(".{bare}"))))
        })
    });
    (!bypass).then(|| proxy.trim().to_string())
}

/// Where a tunnel is asked for, and with which credentials (a sensitive header value).
struct Proxy {
    host: Host<String>,
    port: u16,
    authorization: Option<HeaderValue>,
}

impl Proxy {
    fn parse(text: &str) -> Result<Proxy, ClientError> {
        let build = |message: String| ClientError::Build { message };
        // A bare `host:port` is read as http://host:port, as curl does.
        let with_scheme = if text.contains("://") {
            text.to_string()
        } else {
            format!("http://{text}")
        };
        let url = Url::parse(&with_scheme)
            .map_err(|e| build(format!("the proxy setting is not a URL: {e}")))?;
        if url.scheme() != "http" {
            return Err(build(format!(
                "proxy scheme {}:// is not supported (use http://host:port)",
                url.scheme()
            )));
        }
        let host = url
            .host()
            .ok_or_else(|| build(String::from("the proxy setting has no host")))?
            .to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        let authorization = if url.username().is_empty() {
            None
        } else {
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            let pair = format!(
                "{}:{}",
                decode(url.username()),
                decode(url.password().unwrap_or(""))
            );
            let mut value = HeaderValue::from_str(&format!("Basic {}", base64(pair.as_bytes())))
                .map_err(|_| build(String::from("the proxy credentials cannot go in a header")))?;
            value.set_sensitive(true);
            Some(value)
        };
        Ok(Proxy {
            host,
            port,
            authorization,
        })
    }
}

/// Standard base64 with padding (RFC 4648), for a proxy's Basic credentials.
fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            pool_max_idle_per_host: 64,
            pool_idle_timeout: Duration::from_secs(20),
            user_agent: format!("invoice-import/{}", env!("CARGO_PKG_VERSION")),
            extra_roots: Vec::new(),
            proxy: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("credentials cannot be sent as HTTP headers: {0}")]
    Credentials(#[from] CredentialsError),
    #[error("cannot build the HTTP client: {message}")]
    Build { message: String },
}

/// A failed call, classified by what it means for exactly-once delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The server answered with a non-2xx status.
    #[error("HTTP {status}{}: {message}", code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Status {
        status: u16,
        code: Option<String>,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The request never reached the server: certainly not applied.
    #[error("cannot connect: {message}")]
    Connect { message: String },
    /// No answer in time: the request may have been applied.
    #[error("timed out: {message}")]
    Timeout { message: String },
    /// The connection failed after the request was (possibly) written: may have been applied.
    #[error("connection failed: {message}")]
    Transport { message: String },
    /// A 2xx whose body we cannot read: the request was most likely applied.
    #[error("HTTP {status} with an unreadable body: {message}")]
    Decode { status: u16, message: String },
    /// We refused to build the request (e.g. an id that cannot be a path segment); nothing sent.
    #[error("invalid request: {message}")]
    Invalid { message: String },
}

impl CallError {
    /// Whether the server may have applied the request, so it must be looked up (GET) before
    /// sending it again.
    pub fn may_have_applied(&self) -> bool {
        match self {
            CallError::Timeout { .. } | CallError::Transport { .. } | CallError::Decode { .. } => {
                true
            }
            CallError::Status { status, .. } => *status >= 500 || *status == 408,
            CallError::Connect { .. } | CallError::Invalid { .. } => false,
        }
    }

    /// Whether trying again can help. `Decode` counts: the retry path looks the order up first
    /// (it may have been applied) instead of leaving a likely-accepted invoice marked failed.
    pub fn is_retriable(&self) -> bool {
        match self {
            CallError::Status { status, .. } => *status == 429 || *status == 408 || *status >= 500,
            CallError::Connect { .. }
            | CallError::Timeout { .. }
            | CallError::Transport { .. }
            | CallError::Decode { .. } => true,
            CallError::Invalid { .. } => false,
        }
    }

    /// 401/403: the keys are wrong or lack permission; the whole run must stop.
    pub fn is_auth(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }

    pub fn is_throttled(&self) -> bool {
        self.status() == Some(429)
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            CallError::Status { status, .. } | CallError::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CallError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The OMS client. Cheap to clone (the connection pool is shared).
///
/// HTTP/1.1 over hyper's connection API, with its own small pool of keep-alive connections:
/// a request through a general-purpose client (redirect layer, URL parsed again on each send,
/// per-request header merging) cost about three times the instructions, and a run is thousands
/// of the same request to one host.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    target: Target,
    host: Host<String>,
    port: u16,
    /// For https targets: the TLS settings and the name the certificate must carry.
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    /// For https through a proxy: the tunnel's end and the `CONNECT` request's authority.
    proxy: Option<(Proxy, String)>,
    /// Sent on every request: Host, Accept, Content-Type, User-Agent, and the two keys (marked
    /// sensitive, so no debug output of hyper's shows them).
    headers: HeaderMap,
    timeout: Duration,
    idle_timeout: Duration,
    max_idle: usize,
    /// Connections between requests, the most recently used last.
    idle: Mutex<Vec<Idle>>,
}

struct Idle {
    sender: SendRequest<Full<Bytes>>,
    since: Instant,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("target", &self.inner.target.as_str())
            .finish_non_exhaustive()
    }
}

/// A status line and headers arrived; the body may not have.
struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    body: Result<Bytes, CallError>,
}

impl Client {
    pub fn new(
        target: &Target,
        creds: &Credentials,
        opts: &ClientOptions,
    ) -> Result<Client, ClientError> {
        let secret = |value: &str, variable: &str| {
            let mut v = HeaderValue::from_str(value).map_err(|_| CredentialsError::Invalid {
                variable: variable.into(),
            })?;
            // Keeps the value out of hyper's own debug output.
            v.set_sensitive(true);
            Ok::<_, CredentialsError>(v)
        };
        let build = |message: String| ClientError::Build { message };
        let base = target.url();
        let host = base
            .host()
            .ok_or_else(|| build(format!("no host in {target}")))?
            .to_owned();
        let https = base.scheme() == "https";
        let port = base
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        // `host[:port]`, the port only when it is not the scheme's default, as browsers send it.
        let authority = match base.port() {
            Some(p) => format!("{}:{p}", base.host_str().unwrap_or_default()),
            None => base.host_str().unwrap_or_default().to_string(),
        };

        let mut headers = HeaderMap::new();
        headers.insert(
            HOST,
            HeaderValue::from_str(&authority)
                .map_err(|e| build(format!("host {authority:?}: {e}")))?,
        );
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_str(&opts.user_agent)
                .map_err(|e| build(format!("user agent {:?}: {e}", opts.user_agent)))?,
        );
        headers.insert("X-VTEX-API-AppKey", secret(&creds.app_key, "VTEX_APP_KEY")?);
        headers.insert(
            "X-VTEX-API-AppToken",
            secret(&creds.app_token, "VTEX_APP_TOKEN")?,
        );

        let tls = if https {
            let name = match &host {
                Host::Domain(d) => ServerName::try_from(d.clone()).map_err(|e| {
                    build(format!(
                        "host {d:?} cannot be checked against a certificate: {e}"
                    ))
                })?,
                Host::Ipv4(ip) => ServerName::IpAddress(IpAddr::V4(*ip).into()),
                Host::Ipv6(ip) => ServerName::IpAddress(IpAddr::V6(*ip).into()),
            };
            Some((tls_connector(&opts.extra_roots)?, name))
        } else {
            None
        };
        let proxy = match (&opts.proxy, https) {
            (Some(text), true) => Some((
                Proxy::parse(text)?,
                format!("{}:{port}", base.host_str().unwrap_or_default()),
            )),
            _ => None,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                target: target.clone(),
                host,
                port,
                tls,
                proxy,
                headers,
                timeout: opts.timeout,
                idle_timeout: opts.pool_idle_timeout,
                max_idle: opts.pool_max_idle_per_host,
                idle: Mutex::new(Vec::new()),
            }),
        })
    }

    pub fn target(&self) -> &Target {
        &self.inner.target
    }

    /// `POST /api/oms/pvt/orders/{orderId}/invoice`.
    pub async fn post_invoice(
        &self,
        order_id: &str,
        body: &InvoiceRequest,
    ) -> Result<Receipt, CallError> {
        self.post_invoice_json(order_id, &Json::new(body)).await
    }

    /// [`Client::post_invoice`] with a body serialized beforehand.
    pub async fn post_invoice_json(
        &self,
        order_id: &str,
        body: &Json<InvoiceRequest>,
    ) -> Result<Receipt, CallError> {
        let path = self
            .inner
            .target
            .endpoint_path(&[&segment("order id", order_id)?, "invoice"]);
        self.send(Method::POST, path, body.to_bytes()).await
    }

    /// `PATCH /api/oms/pvt/orders/{orderId}/invoice/{invoiceNumber}`.
    pub async fn patch_tracking(
        &self,
        order_id: &str,
        invoice_number: &str,
        body: &TrackingRequest,
    ) -> Result<Receipt, CallError> {
        self.patch_tracking_json(order_id, invoice_number, &Json::new(body))
            .await
    }

    /// [`Client::patch_tracking`] with a body serialized beforehand.
    pub async fn patch_tracking_json(
        &self,
        order_id: &str,
        invoice_number: &str,
        body: &Json<TrackingRequest>,
    ) -> Result<Receipt, CallError> {
        let path = self.inner.target.endpoint_path(&[
            &segment("order id", order_id)?,
            "invoice",
            &segment("invoice number", invoice_number)?,
        ]);
        self.send(Method::PATCH, path, body.to_bytes()).await
    }

    /// `GET /api/oms/pvt/orders/{orderId}`.
    pub async fn get_order(&self, order_id: &str) -> Result<Order, CallError> {
        let path = self
            .inner
            .target
            .endpoint_path(&[&segment("order id", order_id)?]);
        self.send(Method::GET, path, Bytes::new()).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        body: Bytes,
    ) -> Result<T, CallError> {
        // The whole exchange (connect, send, wait, read) has one deadline.
        let deadline = Instant::now() + self.inner.timeout;
        let uri = Uri::try_from(path).map_err(|e| CallError::Invalid {
            message: format!("cannot make a request path: {e}"),
        })?;
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = self.inner.headers.clone();
        let Answer {
            status,
            retry_after,
            body,
        } = self.exchange(request, deadline).await?;
        if (200..300).contains(&status) {
            let body = body?;
            return serde_json::from_slice(&body).map_err(|e| CallError::Decode {
                status,
                message: format!("{e}; body: {}", snippet(&body)),
            });
        }
        let body = body.unwrap_or_default();
        let (code, message) = error_message(&body);
        Err(CallError::Status {
            status,
            code,
            message,
            retry_after,
        })
    }

    /// Sends `request` on a pooled connection, or a new one, and reads the answer. Each error
    /// is classified by how far the request got: not written (`Connect`), written and then
    /// lost (`Transport`), or no answer by the deadline (`Timeout`).
    async fn exchange(
        &self,
        mut request: Request<Full<Bytes>>,
        deadline: Instant,
    ) -> Result<Answer, CallError> {
        let timed_out = || CallError::Timeout {
            message: format!(
                "no complete answer within {} s",
                self.inner.timeout.as_secs_f64()
            ),
        };
        // Each round takes a pooled connection out of the pool for good, so this ends.
        loop {
            let (mut sender, pooled) = match self.checkout() {
                Some(sender) => (sender, true),
                None => (self.connect(deadline).await?, false),
            };
            match tokio::time::timeout_at(deadline, sender.ready()).await {
                Ok(Ok(())) => {}
                // The server closed it while it sat in the pool; nothing was written.
                Ok(Err(_)) if pooled => continue,
                Ok(Err(e)) => {
                    return Err(CallError::Connect {
                        message: error_chain(&e),
                    });
                }
                Err(_) => {
                    return Err(CallError::Connect {
                        message: String::from("no usable connection before the deadline"),
                    });
                }
            }
            let response =
                match tokio::time::timeout_at(deadline, sender.try_send_request(request)).await {
                    Ok(Ok(response)) => response,
                    Ok(Err(mut e)) => match e.take_message() {
                        // Handed back unwritten: the connection closed under it (the keep-alive
                        // race), so another connection may take it.
                        Some(unsent) if pooled => {
                            request = unsent;
                            continue;
                        }
                        Some(_) => {
                            return Err(CallError::Connect {
                                message: error_chain(e.error()),
                            });
                        }
                        None => {
                            return Err(CallError::Transport {
                                message: error_chain(e.error()),
                            });
                        }
                    },
                    Err(_) => return Err(timed_out()),
                };
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
            let body = match tokio::time::timeout_at(deadline, response.into_body().collect()).await
            {
                Ok(Ok(collected)) => {
                    self.check_in(sender);
                    Ok(collected.to_bytes())
                }
                // The status line arrived, so the request was received; only the body was lost.
                Ok(Err(e)) => Err(CallError::Transport {
                    message: error_chain(&e),
                }),
                Err(_) => Err(timed_out()),
            };
            return Ok(Answer {
                status,
                retry_after,
                body,
            });
        }
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Idle>> {
        // Pushing to or popping a Vec cannot leave it half-changed: a poisoned lock is fine.
        self.inner
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The most recently used idle connection that is still open and not idle for too long:
    /// past `pool_idle_timeout` the server may be about to close it.
    fn checkout(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle();
        while let Some(conn) = idle.pop() {
            if conn.since.elapsed() < self.inner.idle_timeout && !conn.sender.is_closed() {
                return Some(conn.sender);
            }
        }
        None
    }

    fn check_in(&self, sender: SendRequest<Full<Bytes>>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle();
        if idle.len() < self.inner.max_idle {
            idle.push(Idle {
                sender,
                since: Instant::now(),
            });
        }
    }

    /// A new connection (TCP, then TLS for https), or `Connect`: nothing was sent on it.
    async fn connect(&self, deadline: Instant) -> Result<SendRequest<Full<Bytes>>, CallError> {
        let inner = &self.inner;
        let connecting = async {
            let tcp = match &inner.proxy {
                Some((proxy, authority)) => {
                    let at = show(&proxy.host, proxy.port);
                    let mut tcp = tcp_connect(&proxy.host, proxy.port)
                        .await
                        .map_err(|e| format!("tcp connect to the proxy {at}: {e}"))?;
                    tunnel(&mut tcp, authority, proxy.authorization.as_ref())
                        .await
                        .map_err(|e| format!("proxy {at}: {e}"))?;
                    tcp
                }
                None => tcp_connect(&inner.host, inner.port)
                    .await
                    .map_err(|e| format!("tcp connect to {}: {e}", inner.target))?,
            };
            match &inner.tls {
                Some((connector, name)) => {
                    let stream = connector
                        .connect(name.clone(), tcp)
                        .await
                        .map_err(|e| format!("TLS handshake with {}: {e}", inner.target))?;
                    handshake(stream).await
                }
                None => handshake(tcp).await,
            }
        };
        match tokio::time::timeout_at(deadline, connecting).await {
            Ok(Ok(sender)) => Ok(sender),
            Ok(Err(message)) => Err(CallError::Connect { message }),
            Err(_) => Err(CallError::Connect {
                message: format!(
                    "no connection to {} within {} s",
                    inner.target,
                    inner.timeout.as_secs_f64()
                ),
            }),
        }
    }
}

/// A TCP connection with Nagle off: a request is written whole, so its last segment must not
/// wait for an ACK.
async fn tcp_connect(host: &Host<String>, port: u16) -> std::io::Result<TcpStream> {
    let tcp = match host {
        Host::Domain(d) => TcpStream::connect((d.as_str(), port)).await,
        Host::Ipv4(ip) => TcpStream::connect(SocketAddr::new(IpAddr::V4(*ip), port)).await,
        Host::Ipv6(ip) => TcpStream::connect(SocketAddr::new(IpAddr::V6(*ip), port)).await,
    }?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

/// `host:port` for messages (never a proxy's credentials).
fn show(host: &Host<String>, port: u16) -> String {
    match host {
        Host::Ipv6(ip) => format!("[{ip}]:{port}"),
        other => format!("{other}:{port}"),
    }
}

/// Asks the proxy on `tcp` for a tunnel to `authority` (HTTP CONNECT) and reads its answer; on
/// a 2xx the stream is then a byte pipe to the target, ready for TLS.
async fn tunnel(
    tcp: &mut TcpStream,
    authority: &str,
    authorization: Option<&HeaderValue>,
) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").into_bytes();
    if let Some(value) = authorization {
        request.extend_from_slice(b"Proxy-Authorization: ");
        request.extend_from_slice(value.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    tcp.write_all(&request).await.map_err(|e| e.to_string())?;
    // The answer's head, read a byte at a time so nothing of the tunnel is consumed; it is
    // short and read once per connection.
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= 8192 {
            return Err(String::from("answered CONNECT with an oversized header"));
        }
        let mut byte = [0u8; 1];
        match tcp.read(&mut byte).await.map_err(|e| e.to_string())? {
            0 => {
                return Err(String::from(
                    "closed the connection instead of answering CONNECT",
                ));
            }
            _ => head.extend_from_slice(&byte),
        }
    }
    let status_line = String::from_utf8_lossy(&head);
    let status_line = status_line.lines().next().unwrap_or_default();
    let status = status_line.split_whitespace().nth(1).unwrap_or_default();
    if status.starts_with('2') && status.len() == 3 {
        Ok(())
    } else {
        Err(format!("refused the tunnel: {}", status_line.trim()))
    }
}

/// HTTP/1.1 on a connected stream; the connection is driven by a task of its own (reads,
/// writes, keep-alive) until its last sender is dropped or the peer closes it.
async fn handshake<S>(io: S) -> Result<SendRequest<Full<Bytes>>, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| error_chain(&e))?;
    tokio::spawn(async move {
        // Its end (closed by either side, or failed) shows to the sender as a closed connection.
        let _ = connection.await;
    });
    Ok(sender)
}

/// TLS as a browser would check it: the operating system's roots and verifier, HTTP/1.1 by ALPN.
fn tls_connector(extra_roots: &[Vec<u8>]) -> Result<tokio_rustls::TlsConnector, ClientError> {
    let build = |message: String| ClientError::Build { message };
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let verifier = if extra_roots.is_empty() {
        rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
    } else {
        let extra = extra_roots
            .iter()
            .map(|der| rustls::pki_types::CertificateDer::from(der.clone()));
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, Arc::clone(&provider))
    }
    .map_err(|e| build(format!("cannot load the system's certificate roots: {e}")))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| build(format!("TLS settings: {e}")))?
        // "dangerous" is rustls's name for any verifier of one's own choosing; this one is the
        // platform's full certificate verification.
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// "outer: inner: root cause", so "connection refused" is visible and not hidden in a source.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// VTEX's `{"error":{"code","message"}}`, or `{"message"}` / `{"Message"}`, or plain text.
fn error_message(body: &[u8]) -> (Option<String>, String) {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let text = |v: Option<&serde_json::Value>| {
            v.and_then(|x| x.as_str())
                .map(str::to_string)
                .or_else(|| v.filter(|x| x.is_number()).map(|x| x.to_string()))
        };
        if let Some(e) = v.get("error").filter(|e| e.is_object()) {
            let code = text(e.get("code"));
            if let Some(m) = text(e.get("message")) {
                return (code, truncate(&m));
            }
        }
        if let Some(m) = text(v.get("message")).or_else(|| text(v.get("Message"))) {
            return (text(v.get("code")), truncate(&m));
        }
        if let Some(m) = v.get("error").and_then(|e| e.as_str()) {
            return (None, truncate(m));
        }
    }
    let plain = snippet(body);
    if plain.is_empty() {
        (None, "(no message)".into())
    } else {
        (None, plain)
    }
}

fn snippet(body: &[u8]) -> String {
    truncate(String::from_utf8_lossy(body).trim())
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= MAX_ERROR_TEXT {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX_ERROR_TEXT).collect();
        format!("{cut}…")
    }
}

/// `Retry-After` as delta-seconds (fractions tolerated) or an HTTP date; past dates mean zero.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::try_from_secs_f64(secs).ok())
            .flatten();
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_clients_build_and_host_headers_omit_default_ports() {
        let creds = Credentials::new("k", "t");
        let opts = ClientOptions::default();
        for (url, host) in [
            (
                "https://acme.vtexcommercestable.com.br",
                "acme.vtexcommercestable.com.br",
            ),
            ("https://127.0.0.1:8443/x", "127.0.0.1:8443"),
            ("http://[::1]:9000", "[::1]:9000"),
            ("http://localhost", "localhost"),
        ] {
            let c = Client::new(&Target::base_url(url).unwrap(), &creds, &opts).unwrap();
            assert_eq!(c.inner.headers[HOST], host, "{url}");
            assert_eq!(c.inner.tls.is_some(), url.starts_with("https"), "{url}");
        }
    }

    #[test]
    fn proxies_from_the_environment() {
        let vtex = Target::account("acme", "vtexcommercestable").unwrap();
        let env = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            }
        };
        assert_eq!(proxy_for(&vtex, env(&[])), None);
        assert_eq!(
            proxy_for(&vtex, env(&[("https_proxy", "http://p:3128")])).as_deref(),
            Some("http://p:3128")
        );
        assert_eq!(
            proxy_for(&vtex, env(&[("ALL_PROXY", "p:1"), ("HTTPS_PROXY", "p:2")])).as_deref(),
            Some("p:2")
        );
        for no in [
            "*",
            "vtexcommercestable.com.br",
            ".com.br",
            "x, acme.vtexcommercestable.com.br",
        ] {
            let found = proxy_for(&vtex, env(&[("HTTPS_PROXY", "p:2"), ("NO_PROXY", no)]));
            assert_eq!(found, None, "{no}");
        }
        let pairs = [
            ("HTTPS_PROXY", "p:2"),
            ("NO_PROXY", "me.com.br,cme.vtexcommercestable.com.br"),
        ];
        assert!(
            proxy_for(&vtex, env(&pairs)).is_some(),
            "a suffix is matched on a dot"
        );
        // Plain http only ever goes to loopback: not proxied.
        let local = Target::base_url("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            proxy_for(&local, env(&[("HTTPS_PROXY", "p:2"), ("ALL_PROXY", "p:3")])),
            None
        );
    }

    #[test]
    fn proxy_settings_and_credentials() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        let p = Proxy::parse("http://us%40er:p%3Ass@proxy.local:3128").unwrap();
        assert_eq!((show(&p.host, p.port)), "proxy.local:3128");
        let auth = p.authorization.unwrap();
        assert!(auth.is_sensitive());
        assert_eq!(auth, format!("Basic {}", base64(b"us@er:p:ss")).as_str());
        let p = Proxy::parse("10.0.0.1:8080").unwrap();
        assert_eq!(
            (show(&p.host, p.port), p.authorization),
            (String::from("10.0.0.1:8080"), None)
        );
        assert!(Proxy::parse("socks5://p:1080").is_err());
        assert!(Proxy::parse("http://").is_err());
    }

    #[test]
    fn account_targets() {
        let t = Target::account("acme", "vtexcommercestable").unwrap();
        assert_eq!(t.to_string(), "https://acme.vtexcommercestable.com.br");
        assert!(Target::account("ac me", "vtexcommercestable").is_err());
        assert!(Target::account("acme.evil.com/x", "vtexcommercestable").is_err());
        assert!(Target::account("", "vtexcommercestable").is_err());
        assert!(Target::account("acme", "a/b").is_err());
        assert!(Target::account("acme", "").is_err());
    }

    #[test]
    fn plain_http_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3/",
            "http://localhost:1",
            "http://[::1]:9000/prefix/",
            "https://example.com",
        ] {
            assert!(Target::base_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://10.0.0.1",
            "http://localhost.evil.com",
            "ftp://127.0.0.1",
            "https://user:pw@example.com",
            "https://example.com/?q=1",
            "not a url",
        ] {
            assert!(Target::base_url(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            Target::base_url("http://example.com"),
            Err(TargetError::PlainHttp { .. })
        ));
        let t = Target::base_url("http://[::1]:9000/prefix/").unwrap();
        assert_eq!(t.to_string(), "http://[::1]:9000/prefix");
        let url = t.endpoint(&["a%2Fb", "invoice"]);
        assert_eq!(url.path(), "/prefix/api/oms/pvt/orders/a%2Fb/invoice");
        // Every encoded segment survives `set_path` as is, with nothing encoded twice.
        let odd = segment("id", "a/b c?#%é..").unwrap();
        let url = t.endpoint(&[&odd]);
        assert_eq!(
            url.as_str(),
            "http://[::1]:9000/prefix/api/oms/pvt/orders/a%2Fb%20c%3F%23%25%C3%A9.."
        );
        let bare = Target::base_url("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            bare.endpoint(&["1-01", "invoice"]).as_str(),
            "http://127.0.0.1:8080/api/oms/pvt/orders/1-01/invoice"
        );
    }

    #[test]
    fn one_account_has_one_ledger_scope_however_its_url_is_spelled() {
        let scope = |url: &str| Target::base_url(url).unwrap().ledger_scope();
        let stable = "https://acme.vtexcommercestable.com.br";
        assert_eq!(
            Target::account("acme", "vtexcommercestable")
                .unwrap()
                .ledger_scope(),
            stable
        );
        assert_eq!(
            Target::account("ACME", "vtexcommercebeta")
                .unwrap()
                .ledger_scope(),
            stable
        );
        for url in [
            "https://acme.myvtex.com",
            "https://ACME.myvtex.com/",
            "https://acme.vtexcommercestable.com.br/",
        ] {
            assert_eq!(scope(url), stable, "{url}");
        }
        // Another account, a path prefix (a proxy), another host: each its own.
        assert_eq!(
            scope("https://other.myvtex.com"),
            "https://other.vtexcommercestable.com.br"
        );
        assert_eq!(
            scope("https://acme.myvtex.com/proxy"),
            "https://acme.myvtex.com/proxy"
        );
        assert_eq!(scope("https://oms.example.com"), "https://oms.example.com");
        assert_eq!(scope("https://a.b.myvtex.com"), "https://a.b.myvtex.com");
        // Loopback, however it is named.
        for url in [
            "http://localhost:8080",
            "http://127.0.0.1:8080/",
            "http://[::1]:8080",
        ] {
            assert_eq!(scope(url), "http://127.0.0.1:8080", "{url}");
        }
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(
            segment("id", "1172452900788-01").unwrap(),
            "1172452900788-01"
        );
        assert_eq!(
            segment("id", "a/b c?#%é").unwrap(),
            "a%2Fb%20c%3F%23%25%C3%A9"
        );
        assert_eq!(segment("id", "A.z_~").unwrap(), "A.z_~");
        assert!(segment("id", "..").is_err());
        assert!(segment("id", "").is_err());
    }

    #[test]
    fn retry_after_forms() {
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("0.5", now),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn error_bodies() {
        let (c, m) = error_message(
            br#"{"error":{"code":"1","message":"Order not found","exception":null}}"#,
        );
        assert_eq!((c.as_deref(), m.as_str()), (Some("1"), "Order not found"));
        let (c, m) = error_message(br#"{"message":"Too many"}"#);
        assert_eq!((c, m.as_str()), (None, "Too many"));
        let (_, m) = error_message(b"Bad Gateway");
        assert_eq!(m, "Bad Gateway");
        let (_, m) = error_message(b"");
        assert_eq!(m, "(no message)");
        let long = "x".repeat(5000);
        assert!(error_message(long.as_bytes()).1.chars().count() <= MAX_ERROR_TEXT + 1);
    }

    #[test]
    fn classification() {
        let status = |s: u16| CallError::Status {
            status: s,
            code: None,
            message: String::new(),
            retry_after: None,
        };
        assert!(status(500).may_have_applied() && status(500).is_retriable());
        assert!(status(408).may_have_applied() && status(408).is_retriable());
        assert!(!status(429).may_have_applied() && status(429).is_retriable());
        assert!(!status(400).is_retriable() && !status(404).is_retriable());
        assert!(status(401).is_auth() && status(403).is_auth() && !status(404).is_auth());
        let connect = CallError::Connect {
            message: String::new(),
        };
        assert!(connect.is_retriable() && !connect.may_have_applied());
        let timeout = CallError::Timeout {
            message: String::new(),
        };
        assert!(timeout.is_retriable() && timeout.may_have_applied());
    }

    proptest::proptest! {
        #[test]
        fn retry_after_never_panics(s in "\\PC{0,40}") {
            let _ = parse_retry_after(&s, chrono::Utc::now());
        }

        #[test]
        fn retry_after_seconds_round_trip(n in 0u64..10_000_000) {
            proptest::prop_assert_eq!(
                parse_retry_after(&n.to_string(), chrono::Utc::now()),
                Some(Duration::from_secs(n))
            );
        }

        #[test]
        fn error_messages_are_bounded(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
            let (_, m) = error_message(&body);
            proptest::prop_assert!(m.chars().count() <= MAX_ERROR_TEXT + 1);
        }

        #[test]
        fn encoded_segments_are_safe_and_reversible(s in "\\PC{1,30}") {
            if let Ok(enc) = segment("id", &s) {
                proptest::prop_assert!(enc.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
                let back = percent_encoding::percent_decode_str(&enc).decode_utf8().unwrap();
                proptest::prop_assert_eq!(back, s.as_str());
            }
        }
    }

    #[test]
    fn credentials_from_lookup_and_redaction() {
        let err = Credentials::from_lookup(|k| (k == "VTEX_APP_KEY").then(|| "k".to_string()))
            .unwrap_err();
        assert_eq!(
            err,
            CredentialsError::Missing {
                variable: "VTEX_APP_TOKEN".into()
            }
        );
        assert!(err.to_string().contains("VTEX_APP_TOKEN"));
        let err = Credentials::from_lookup(|_| Some("  ".into())).unwrap_err();
        assert!(err.to_string().contains("VTEX_APP_KEY"));
        let c = Credentials::from_lookup(|k| Some(format!("secret-{k}"))).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("secret-"), "{shown}");
        assert!(Credentials::from_lookup(|_| Some("a\nb".into())).is_err());
    }
}
