//! The admin listener over real TCP on 127.0.0.1, with a tiny HTTP/1.1 client: every endpoint's
//! status, content type and body, and the 400/404/405 answers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use smpp_pdu::CommandStatus;
use smpp_router::admin::{serve, AdminState};
use smpp_router::metrics::Metrics;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A router as the admin endpoints see it: one route, for `acme` to `+44…`.
struct Fake {
    ready: AtomicBool,
}

impl AdminState for Fake {
    fn ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    fn binds(&self) -> Value {
        json!([{ "connector": "carrier-a", "bind": 0, "state": "bound", "in_flight": 3, "window": 100 }])
    }

    fn resolve(&self, account: &str, dst: &str) -> Option<Value> {
        (account == "acme co" && dst.starts_with("+44")).then(
            || json!({ "route": 0, "connector": "carrier-a", "account": account, "dst": dst }),
        )
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        assert_eq!(self.header("content-type"), Some("application/json"));
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// Sends one request (`Connection: close`) and reads the whole answer.
async fn request(addr: std::net::SocketAddr, method: &str, target: &str, extra: &str) -> Reply {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req =
        format!("{method} {target} HTTP/1.1\r\nHost: test\r\n{extra}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw))
        .await
        .expect("an answer within 10 s")
        .expect("read");
    let text = String::from_utf8(raw).expect("UTF-8 answer");
    let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("a status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

async fn start() -> (std::net::SocketAddr, Arc<Fake>, Arc<Metrics>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let metrics = Arc::new(Metrics::new());
    let state = Arc::new(Fake {
        ready: AtomicBool::new(false),
    });
    tokio::spawn(serve(listener, metrics.clone(), state.clone()));
    (addr, state, metrics)
}

#[tokio::test]
async fn metrics_in_both_formats() {
    let (addr, _, metrics) = start().await;
    metrics.submit("acme", "carrier-a", CommandStatus::OK);

    let r = request(addr, "GET", "/metrics", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(
        r.body.contains("# TYPE smpp_submits_total counter\n"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(
            r#"smpp_submits_total{account="acme",connector="carrier-a",status="ESME_ROK"} 1"#
        ),
        "{}",
        r.body
    );

    // What Prometheus sends.
    let accept = "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n";
    let r = request(addr, "GET", "/metrics", accept).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(
        r.body.contains("# TYPE smpp_submits counter\n"),
        "{}",
        r.body
    );
    assert!(r.body.ends_with("# EOF\n"), "{}", r.body);
}

#[tokio::test]
async fn health_and_readiness() {
    let (addr, state, _) = start().await;
    let r = request(addr, "GET", "/healthz", "").await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok\n"));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));

    let r = request(addr, "GET", "/readyz", "").await;
    assert_eq!(r.status, 503);
    state.ready.store(true, Ordering::SeqCst);
    let r = request(addr, "GET", "/readyz", "").await;
    assert_eq!((r.status, r.body.as_str()), (200, "ready\n"));

    // HEAD is served like GET, without a body.
    let r = request(addr, "HEAD", "/healthz", "").await;
    assert_eq!((r.status, r.body.as_str()), (200, ""));
}

#[tokio::test]
async fn binds_and_route_resolution() {
    let (addr, _, _) = start().await;
    let r = request(addr, "GET", "/v1/binds", "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()[0]["connector"], "carrier-a");
    assert_eq!(r.json()[0]["window"], 100);

    // Percent-encoding is decoded; `+` stays a plus.
    let r = request(
        addr,
        "GET",
        "/v1/routes/resolve?account=acme%20co&dst=+447700900123",
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["connector"], "carrier-a");
    assert_eq!(v["account"], "acme co");
    assert_eq!(v["dst"], "+447700900123");
    let r = request(
        addr,
        "GET",
        "/v1/routes/resolve?dst=%2B4477&account=acme%20co",
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let r = request(
        addr,
        "GET",
        "/v1/routes/resolve?account=acme%20co&dst=+33612345678",
        "",
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "no route");

    for bad in [
        "/v1/routes/resolve",
        "/v1/routes/resolve?account=acme",
        "/v1/routes/resolve?dst=%2B44",
        "/v1/routes/resolve?account=&dst=%2B44",
        "/v1/routes/resolve?account=acme&dst=%zz",
        "/v1/routes/resolve?account=acme&dst=%FF",
    ] {
        let r = request(addr, "GET", bad, "").await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(r.json()["error"].is_string(), "{bad}");
    }
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let (addr, _, _) = start().await;
    for path in ["/", "/metric", "/v1/binds/x", "/healthz/"] {
        let r = request(addr, "GET", path, "").await;
        assert_eq!(r.status, 404, "{path}");
    }
    for method in ["POST", "PUT", "DELETE"] {
        let r = request(addr, method, "/metrics", "Content-Length: 0\r\n").await;
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
    }
    let r = request(addr, "POST", "/nowhere", "Content-Length: 0\r\n").await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn garbage_gets_an_error_and_the_server_keeps_serving() {
    let (addr, _, _) = start().await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"\x00\x01 not http at all\r\n\r\n")
        .await
        .expect("write");
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 400"),
        "{text}"
    );

    // A head larger than the limit is refused, not buffered.
    let big = format!("X-Big: {}\r\n", "a".repeat(64 * 1024));
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET /healthz HTTP/1.1\r\nHost: t\r\n{big}\r\n");
    let _ = s.write_all(req.as_bytes()).await;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(!text.starts_with("HTTP/1.1 200"), "{text}");

    let r = request(addr, "GET", "/healthz", "").await;
    assert_eq!(r.status, 200);
}
