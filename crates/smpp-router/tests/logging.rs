//! A connector's binds over TCP on 127.0.0.1 with a log subscriber: a bind whose host is down
//! goes on to the next host, and its log lines name the connector and the bind.
//!
//! Alone in its test binary: tracing caches which subscribers want a callsite, and a test on
//! another thread of the same process can leave this test's (thread-local) subscriber
//! without the bind's span.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;
use support::sim;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use smpp_pdu::{Address, CommandStatus, Npi, SubmitSm, Ton};
use smpp_router::config::Config;
use smpp_router::connector::Connector;
use smpp_tokio::{NoObserver, Observer};
use smpp_tools::sim::SimConfig;
use tokio::time::Instant;

/// Log lines written while a test runs (a tracing subscriber's writer).
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A bind whose host is down goes on to the connector's next host and binds there (it stayed
/// on its host for ever before), and what it logs names its connector and bind.
#[tokio::test] // one thread: the test's log subscriber sees the bind's task
async fn a_bind_whose_host_is_down_goes_on_to_the_next_and_logs_under_its_name() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    // A port nothing listens on any more.
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down_addr = down.local_addr().unwrap();
    drop(down);
    let s = sim(SimConfig::default()).await;
    let text = format!(
        "[[connectors]]\nname = \"c\"\nhosts = [\"{down_addr}\", \"{}\"]\nsystem_id = \"router\"\n\
         password = \"pw\"\nbinds = 1\nreconnect_initial = \"50ms\"\nreconnect_max = \"200ms\"\n",
        s.local_addr()
    );
    let c = Config::parse(&text).unwrap().connectors.remove(0);
    // The one bind starts at the host that is down.
    let (connector, _incoming) =
        Connector::start(&c, |_| Arc::new(NoObserver) as Arc<dyn Observer>);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !connector.status()[0].bound {
        assert!(
            Instant::now() < deadline,
            "the bind never went to the next host"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sm = SubmitSm {
        source: Address::new(Ton(5), Npi(0), Bytes::from_static(b"ACME")),
        dest: Address::new(Ton(1), Npi(1), Bytes::from_static(b"15550000001")),
        short_message: Bytes::from_static(b"hello"),
        ..Default::default()
    };
    let r = connector
        .submit_one(&sm, None, Instant::now() + Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(r.command_status, CommandStatus::OK);
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let failed = logs
        .lines()
        .find(|l| l.contains("connect failed"))
        .unwrap_or_else(|| panic!("no failed connect logged:\n{logs}"));
    assert!(
        failed.contains("bind{connector=c bind=0}") && failed.contains(&down_addr.to_string()),
        "{failed}"
    );
    connector.shutdown().await;
    s.shutdown().await;
}
