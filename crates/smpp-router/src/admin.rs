//! The admin HTTP listener (default 127.0.0.1:9775): metrics for Prometheus, probes for the
//! orchestrator, and read-only views for an operator.
//!
//! | path | answer |
//! |---|---|
//! | `GET /metrics` | the metrics; OpenMetrics when the `Accept` header asks for it (Prometheus does), else the Prometheus text format 0.0.4 |
//! | `GET /healthz` | 200 `ok`: the process is alive and serving |
//! | `GET /readyz` | 200 `ready` when [`AdminState::ready`] (every connector has a bind up), else 503 |
//! | `GET /v1/binds` | 200, JSON from [`AdminState::binds`] |
//! | `GET /v1/routes/resolve?account=…&dst=…` | 200 JSON, 404 JSON when no route matches, 400 JSON when a parameter is missing or badly encoded |
//! | `GET /v1/suppressions?scope=…[&limit=N]` | the opt-out list of a scope: `global`, `account:SYSTEM_ID` or `sender:NUMBER` |
//! | `POST /v1/suppressions?scope=…` | adds the numbers of the CSV body (one per line; a header and extra columns allowed); answers how many were added and the bad rows by line |
//! | `DELETE /v1/suppressions?scope=…&number=…` | takes a number off a list |
//!
//! Anything else is 404; another method on a known path is 405 (HEAD is served as GET). A
//! suppression upload may be at most [`MAX_UPLOAD_BYTES`].
//! Query values are percent-decoded; `+` stays `+` (numbers are written `+4477…`), a space
//! is `%20`.
//!
//! Why it is built this way: it is a small hyper 1 HTTP/1.1 server rather than a framework
//! (nothing else in the router needs one). It must never hurt the SMPP traffic it watches, so
//! it is bounded: at most [`MAX_CONNECTIONS`] connections (more wait in the listen backlog),
//! [`HEADER_TIMEOUT`] to send a request head (idle keep-alive connections close after it too),
//! headers of at most [`MAX_HEADER_BYTES`], and a connection lives at most
//! [`CONNECTION_LIFETIME`], then closes gracefully after its current request.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::metrics::{Metrics, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Time for a client to send a request's head, and the most a keep-alive connection idles.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The read buffer, which bounds a request head.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// After this, a connection closes once its current request is answered.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(120);
/// What a connection gets to finish its request after its lifetime.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";

/// What the admin endpoints show of the running router.
pub trait AdminState: Send + Sync + 'static {
    /// Ready for traffic: every connector has a bind up.
    fn ready(&self) -> bool;
    /// Every bind: connector, shard, state, window, TPS.
    fn binds(&self) -> serde_json::Value;
    /// The route and connector a message from `account` to `dst` would take, or `None`.
    fn resolve(&self, account: &str, dst: &str) -> Option<serde_json::Value>;
    /// Up to `limit` numbers on `scope`'s opt-out list; `Err` says what is wrong with the scope.
    fn suppressions(&self, _scope: &str, _limit: usize) -> Result<serde_json::Value, String> {
        Err("no opt-out list here".into())
    }
    /// Adds the numbers of a CSV text to `scope`'s list.
    fn add_suppressions(&self, _scope: &str, _csv: &str) -> Result<serde_json::Value, String> {
        Err("no opt-out list here".into())
    }
    /// Takes `number` off `scope`'s list.
    fn remove_suppression(&self, _scope: &str, _number: &str) -> Result<serde_json::Value, String> {
        Err("no opt-out list here".into())
    }
}

/// The largest suppression CSV accepted in one upload (about 4 million numbers).
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// Serves the admin endpoints on `listener`, one task per connection, until the future is
/// dropped (connections already open finish on their own, within their lifetime). Errors
/// accepting a connection (too many open files, …) are logged and retried after a pause, so
/// this returns only by being dropped.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    state: Arc<dyn AdminState>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES)
        .keep_alive(true);
    let http = Arc::new(http);
    loop {
        // Wait for a free slot before accepting: excess clients wait in the backlog.
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "admin: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let metrics = metrics.clone();
        let state = state.clone();
        let http = http.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = service_fn(move |req: Request<Incoming>| {
                let metrics = metrics.clone();
                let state = state.clone();
                async move {
                    let response = if req.uri().path() == "/v1/suppressions" {
                        suppressions(req, state.as_ref()).await
                    } else {
                        handle(&req, &metrics, state.as_ref())
                    };
                    Ok::<_, Infallible>(response)
                }
            });
            let conn = http.serve_connection(TokioIo::new(stream), service);
            let mut conn = std::pin::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                () = tokio::time::sleep(CONNECTION_LIFETIME) => {
                    conn.as_mut().graceful_shutdown();
                    match tokio::time::timeout(SHUTDOWN_GRACE, conn.as_mut()).await {
                        Ok(r) => r,
                        Err(_) => Ok(()),
                    }
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "admin: connection ended with an error");
            }
        });
    }
}

/// Answers one request.
fn handle<B>(req: &Request<B>, metrics: &Metrics, state: &dyn AdminState) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let known = matches!(
        path,
        "/metrics" | "/healthz" | "/readyz" | "/v1/binds" | "/v1/routes/resolve"
    );
    if !known {
        return text(StatusCode::NOT_FOUND, "not found\n");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    match path {
        "/metrics" => {
            if wants_openmetrics(req) {
                respond(
                    StatusCode::OK,
                    OPENMETRICS_CONTENT_TYPE,
                    metrics.encode_openmetrics(),
                )
            } else {
                respond(StatusCode::OK, TEXT_CONTENT_TYPE, metrics.encode())
            }
        }
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" => {
            if state.ready() {
                text(StatusCode::OK, "ready\n")
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
            }
        }
        "/v1/binds" => json(StatusCode::OK, &state.binds()),
        _ => resolve(req.uri().query().unwrap_or(""), state),
    }
}

/// The opt-out list endpoints.
async fn suppressions(req: Request<Incoming>, state: &dyn AdminState) -> Response<Full<Bytes>> {
    let query = req.uri().query().unwrap_or("").to_owned();
    let bad = |msg: String| {
        json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({ "error": msg }),
        )
    };
    let Ok(Some(scope)) = param(&query, "scope") else {
        return bad(
            "missing query parameter `scope` (global, account:SYSTEM_ID or sender:NUMBER)".into(),
        );
    };
    let answer = |r: Result<serde_json::Value, String>| match r {
        Ok(v) => json(StatusCode::OK, &v),
        Err(e) => bad(e),
    };
    match *req.method() {
        Method::GET | Method::HEAD => {
            let limit = match param(&query, "limit") {
                Ok(Some(l)) => l.parse().unwrap_or(1000),
                _ => 1000,
            };
            answer(state.suppressions(&scope, limit))
        }
        Method::POST => {
            let body = http_body_util::Limited::new(req.into_body(), MAX_UPLOAD_BYTES);
            let bytes = match http_body_util::BodyExt::collect(body).await {
                Ok(b) => b.to_bytes(),
                Err(e) => return bad(format!("body not read: {e}")),
            };
            let Ok(csv) = std::str::from_utf8(&bytes) else {
                return bad("the body is not UTF-8 text".into());
            };
            answer(state.add_suppressions(&scope, csv))
        }
        Method::DELETE => match param(&query, "number") {
            Ok(Some(n)) => answer(state.remove_suppression(&scope, &n)),
            _ => bad("missing query parameter `number`".into()),
        },
        _ => {
            let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD, POST, DELETE"));
            r
        }
    }
}

fn resolve(query: &str, state: &dyn AdminState) -> Response<Full<Bytes>> {
    let (account, dst) = match (param(query, "account"), param(query, "dst")) {
        (Ok(Some(a)), Ok(Some(d))) => (a, d),
        (Err(()), _) | (_, Err(())) => {
            return json(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({ "error": "a query parameter is not valid percent-encoded UTF-8" }),
            )
        }
        (a, _) => {
            let missing = if matches!(a, Ok(None)) {
                "account"
            } else {
                "dst"
            };
            return json(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({
                    "error": format!("missing query parameter `{missing}`"),
                    "usage": "/v1/routes/resolve?account=ACCOUNT&dst=NUMBER",
                }),
            );
        }
    };
    match state.resolve(&account, &dst) {
        Some(v) => json(StatusCode::OK, &v),
        None => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "error": "no route", "account": account, "dst": dst }),
        ),
    }
}

/// The first value of `key` in `query`, percent-decoded; `Ok(None)` when absent or empty,
/// `Err` when not valid percent-encoded UTF-8.
fn param(query: &str, key: &str) -> Result<Option<String>, ()> {
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(k)? == key {
            let v = percent_decode(v)?;
            return Ok((!v.is_empty()).then_some(v));
        }
    }
    Ok(None)
}

/// Decodes `%XX` escapes; `Err` on a bad escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Result<String, ()> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hi = b.get(i + 1).and_then(|c| (*c as char).to_digit(16));
            let lo = b.get(i + 2).and_then(|c| (*c as char).to_digit(16));
            match (hi, lo) {
                // Two hex digits make at most 0xFF.
                (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                _ => return Err(()),
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

/// Prometheus asks for OpenMetrics in `Accept`; curl and browsers get the text format.
fn wants_openmetrics<B>(req: &Request<B>) -> bool {
    req.headers()
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"))
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    respond(status, TEXT, body)
}

fn json(status: StatusCode, v: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut body = v.to_string();
    body.push('\n');
    respond(status, JSON, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_decoded() {
        let q = "account=acme%20co&dst=+44%37700&x";
        assert_eq!(param(q, "account"), Ok(Some("acme co".to_string())));
        assert_eq!(param(q, "dst"), Ok(Some("+447700".to_string())));
        assert_eq!(param(q, "x"), Ok(None));
        assert_eq!(param(q, "y"), Ok(None));
        assert_eq!(param("dst=%4", "dst"), Err(()));
        assert_eq!(param("dst=%zz", "dst"), Err(()));
        assert_eq!(param("dst=%ff", "dst"), Err(()));
        assert_eq!(param("dst=%C3%A9", "dst"), Ok(Some("é".to_string())));
    }
}
