//! What the router's end-to-end tests share: simulated carriers, a config with two accounts
//! and two connectors, an in-process daemon, customers, submits, and the admin listener.
#![allow(dead_code)] // each test binary uses its own part
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use smpp_pdu::{Address, Body, CommandStatus, Npi, RegisteredDelivery, SubmitSm, Ton};
use smpp_router::clock::Clock;
use smpp_router::daemon::Daemon;
use smpp_session::BindKind;
use smpp_tokio::{Esme, EsmeConfig, Incoming, NoObserver};
use smpp_tools::sim::{Sim, SimConfig, SimHandle};
use tokio::sync::mpsc;

pub(crate) const DEMO_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$b+DAhawJI5qHaSXx+Fj70Q$lax3FtbQz/Dd1xsMg24H71bxvqcpE6Gw9jsUHEgkvMg";

pub(crate) async fn sim(config: SimConfig) -> SimHandle {
    Sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..config
    })
    .await
    .unwrap()
}

/// A config with accounts `demo` (password demo) and `other`, connectors `a` and `b` (three
/// binds each) at the given carriers, and `routes` as given.
pub(crate) fn config_text(
    dir: &Path,
    a: &SimHandle,
    b: &SimHandle,
    accounts_extra: &str,
    routes: &str,
) -> String {
    format!(
        r#"
[node]
id = 3
data_dir = "{data}"

[smpp]
listen = "127.0.0.1:0"
response_budget = "5s"

[metrics]
listen = "127.0.0.1:0"

[[accounts]]
system_id = "demo"
password_hash = "{DEMO_HASH}"
max_binds = 4
numbers = ["15550100"]
{accounts_extra}

[[accounts]]
system_id = "other"
password_hash = "{DEMO_HASH}"
id_format = "decimal"
keywords = [{{ number = "12345", keyword = "PIZZA" }}]

[[connectors]]
name = "a"
hosts = ["{a}"]
system_id = "router"
password = "pw"
binds = 3
reconnect_initial = "50ms"
reconnect_max = "500ms"

[[connectors]]
name = "b"
hosts = ["{b}"]
system_id = "router"
password = "pw"
binds = 3
reconnect_initial = "50ms"
reconnect_max = "500ms"

{routes}
"#,
        data = dir.join("data").display(),
        a = a.local_addr(),
        b = b.local_addr(),
    )
}

pub(crate) const SPLIT: &str = "[[routes]]\nname = \"split\"\nsplit = { a = 1, b = 1 }\n";

pub(crate) async fn daemon(dir: &Path, text: &str) -> Daemon {
    daemon_with_clock(dir, text, Arc::new(Clock::system())).await
}

/// [`daemon`] with a clock the test moves.
pub(crate) async fn daemon_with_clock(dir: &Path, text: &str, clock: Arc<Clock>) -> Daemon {
    let path = dir.join("router.toml");
    std::fs::write(&path, text).unwrap();
    let d = Daemon::start_with_clock(&path, clock).await.unwrap();
    // Wait for every connector's binds.
    for _ in 0..500 {
        if d.router().ready()
            && d.router()
                .connectors()
                .iter()
                .all(|c| c.status().iter().all(|s| s.bound))
        {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("connectors did not bind");
}

pub(crate) fn customer(
    d: &Daemon,
    system_id: &str,
    kind: BindKind,
) -> (Esme, mpsc::Receiver<Incoming>) {
    let mut c = EsmeConfig::new(d.smpp_addr.to_string(), system_id, "demo");
    c.kind = kind;
    c.backoff.initial = Duration::from_millis(50);
    Esme::start(c, Arc::new(NoObserver))
}

pub(crate) fn submit(i: u32, source: &str, receipt: bool) -> Body {
    Body::SubmitSm(Box::new(SubmitSm {
        source: Address::new(Ton(1), Npi(1), Bytes::from(source.to_owned())),
        dest: Address::new(Ton(1), Npi(1), Bytes::from(format!("1555{i:07}"))),
        registered_delivery: RegisteredDelivery(u8::from(receipt)),
        short_message: Bytes::from(format!("hello {i}")),
        ..Default::default()
    }))
}

/// The next MO a customer gets (answered), as (destination, text).
pub(crate) async fn next_mo(rx: &mut mpsc::Receiver<Incoming>) -> (Bytes, Bytes) {
    let inc = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let m = match &inc.pdu.body {
        Body::DeliverSm(d) if !d.esm_class.is_receipt() => {
            (d.dest.addr.clone(), d.short_message.clone())
        }
        other => panic!("not an MO: {other:?}"),
    };
    inc.responder.respond_status(CommandStatus::OK).await;
    m
}

/// GET `path` from the admin listener: (status code, body).
pub(crate) async fn get(d: &Daemon, path: &str) -> (u16, String) {
    request(d, "GET", path, "").await
}

/// Sends `method path` with `body` to the admin listener: (status code, body).
pub(crate) async fn request(d: &Daemon, method: &str, path: &str, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(d.admin_addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let code = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (code, body)
}

/// A submit with a service_type.
pub(crate) fn submit_as(i: u32, source: &str, service_type: &str) -> Body {
    let Body::SubmitSm(mut sm) = submit(i, source, false) else {
        unreachable!()
    };
    sm.service_type = Bytes::from(service_type.to_owned());
    Body::SubmitSm(sm)
}
