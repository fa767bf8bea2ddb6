//! A connector against simulated carriers (smpp-sim, in-process) over TCP on 127.0.0.1:
//! spreading over shards, a bind dropped mid-load, a full queue, tx+rx binds, and the parts
//! of long messages.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;
use support::sim;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use smpp_pdu::{Address, Body, CommandStatus, Npi, RegisteredDelivery, SubmitSm, Ton};
use smpp_router::config::{BindMode, Config};
use smpp_router::connector::{Connector, SubmitError};
use smpp_tokio::{NoObserver, Observer};
use smpp_tools::sim::{SimConfig, SimHandle};
use tokio::time::Instant;

/// A connector's settings from a config snippet, pointed at `hosts`.
fn connector_config(hosts: &[&SimHandle], extra: &str) -> smpp_router::config::Connector {
    let hosts: Vec<String> = hosts
        .iter()
        .map(|s| format!("\"{}\"", s.local_addr()))
        .collect();
    let text = format!(
        "[[connectors]]\nname = \"c\"\nhosts = [{}]\nsystem_id = \"router\"\npassword = \"pw\"\n\
         reconnect_initial = \"50ms\"\nreconnect_max = \"200ms\"\n{extra}",
        hosts.join(", ")
    );
    Config::parse(&text).unwrap().connectors.remove(0)
}

fn submit(i: u32, receipt: bool) -> SubmitSm {
    SubmitSm {
        source: Address::new(Ton(5), Npi(0), Bytes::from_static(b"ACME")),
        dest: Address::new(Ton(1), Npi(1), Bytes::from(format!("1555{i:07}"))),
        registered_delivery: RegisteredDelivery(u8::from(receipt)),
        short_message: Bytes::from(format!("message {i}")),
        ..Default::default()
    }
}

async fn started(
    c: &smpp_router::config::Connector,
) -> (
    Arc<Connector>,
    tokio::sync::mpsc::Receiver<smpp_tokio::Incoming>,
) {
    let (connector, incoming) = Connector::start(c, |_| Arc::new(NoObserver) as Arc<dyn Observer>);
    let deadline = Instant::now() + Duration::from_secs(5);
    while connector.status().iter().any(|s| !s.bound) {
        assert!(
            Instant::now() < deadline,
            "shards did not bind: {:?}",
            connector.status()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (Arc::new(connector), incoming)
}

/// Sends `n` messages at once, each with `sticky` as its key, and returns the answers.
async fn submit_all(
    connector: &Arc<Connector>,
    n: u32,
    sticky: Option<u64>,
) -> Vec<Result<smpp_pdu::Pdu, SubmitError>> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let c = connector.clone();
            tokio::spawn(async move {
                let deadline = Instant::now() + Duration::from_secs(10);
                c.submit_one(&submit(i, false), sticky, deadline).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_share_the_traffic_and_every_message_is_answered() {
    let s = sim(SimConfig::default()).await;
    let c = connector_config(&[&s], "binds = 3\nwindow = 10\n");
    let (connector, _incoming) = started(&c).await;
    assert!(connector.is_up());
    let results = submit_all(&connector, 300, None).await;
    let mut ids = std::collections::HashSet::new();
    for r in results {
        let answer = r.unwrap();
        assert_eq!(answer.command_status, CommandStatus::OK);
        let Body::SubmitSmResp(resp) = &answer.body else {
            panic!("{answer:?}")
        };
        assert!(ids.insert(resp.message_id.clone()));
    }
    let counts = s.counts();
    assert_eq!(counts.binds, 3);
    assert_eq!(counts.accepted, 300);
    Arc::try_unwrap(connector).unwrap().shutdown().await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bind_dropped_mid_load_hands_its_messages_to_another() {
    // Shard 0 binds to a carrier that drops every connection after 25 messages; shard 1 to a
    // steady one. Nothing is lost: requests caught in a drop are retried on shard 1.
    let flaky = sim(SimConfig {
        drop_after: Some(25),
        ..SimConfig::default()
    })
    .await;
    let steady = sim(SimConfig::default()).await;
    let c = connector_config(&[&flaky, &steady], "binds = 2\nwindow = 20\n");
    let (connector, _incoming) = started(&c).await;
    let results = submit_all(&connector, 400, None).await;
    let ok = results
        .iter()
        .filter(|r| matches!(r, Ok(a) if a.command_status == CommandStatus::OK))
        .count();
    let errors: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(ok, 400);
    let f = flaky.counts();
    assert!(f.dropped_connections >= 1, "{f:?}");
    // The steady carrier took the rest, and what the flaky one accepted before dropping.
    assert!(steady.counts().accepted + f.accepted >= 400);
    Arc::try_unwrap(connector).unwrap().shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_at_once_and_no_bind_is_said() {
    let slow = sim(SimConfig {
        resp_delay: Duration::from_millis(500),
        ..SimConfig::default()
    })
    .await;
    let c = connector_config(&[&slow], "binds = 1\nwindow = 10\nqueue = 4\n");
    let (connector, _incoming) = started(&c).await;
    let results = submit_all(&connector, 10, None).await;
    let full = results
        .iter()
        .filter(|r| matches!(r, Err(SubmitError::QueueFull)))
        .count();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!((full, ok), (6, 4));
    Arc::try_unwrap(connector).unwrap().shutdown().await;
    slow.shutdown().await;

    // No carrier at all: the caller hears NoBind at once, not after the deadline.
    let mut gone = c.clone();
    gone.hosts = vec!["127.0.0.1:1".into()];
    let (connector, _incoming) =
        Connector::start(&gone, |_| Arc::new(NoObserver) as Arc<dyn Observer>);
    let r = connector
        .submit_one(
            &submit(1, false),
            None,
            Instant::now() + Duration::from_secs(30),
        )
        .await;
    assert_eq!(r.unwrap_err(), SubmitError::NoBind);
    connector.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tx_rx_shards_send_on_one_bind_and_take_receipts_on_the_other() {
    let s = sim(SimConfig {
        dlr_delay: smpp_tools::sim::MsRange { min: 1, max: 5 },
        ..SimConfig::default()
    })
    .await;
    let c = connector_config(&[&s], "bind = \"tx+rx\"\nbinds = 2\n");
    assert_eq!(c.bind, BindMode::TransmitterReceiver);
    let (connector, mut incoming) = started(&c).await;
    assert!(connector
        .status()
        .iter()
        .all(|s| s.receiver_bound == Some(true)));
    let mut ids = std::collections::HashSet::new();
    for i in 0..20 {
        let a = connector
            .submit_one(
                &submit(i, true),
                None,
                Instant::now() + Duration::from_secs(5),
            )
            .await
            .unwrap();
        let Body::SubmitSmResp(r) = &a.body else {
            panic!()
        };
        ids.insert(r.message_id.clone());
    }
    for _ in 0..20 {
        let inc = tokio::time::timeout(Duration::from_secs(5), incoming.recv())
            .await
            .unwrap()
            .unwrap();
        let Body::DeliverSm(d) = &inc.pdu.body else {
            panic!()
        };
        let r = smpp_router::receipts::read(d).unwrap();
        assert!(
            ids.remove(r.carrier_id),
            "unknown receipt id {:?}",
            r.carrier_id
        );
        inc.responder.respond_status(CommandStatus::OK).await;
    }
    assert_eq!(s.counts().binds, 4);
    Arc::try_unwrap(connector).unwrap().shutdown().await;
    s.shutdown().await;
}

/// The parts of a long message (one sticky key) all go through one shard, where other
/// messages spread over the shards with the most room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parts_of_a_long_message_share_one_shard() {
    let s = sim(SimConfig {
        resp_delay: Duration::from_secs(2),
        ..SimConfig::default()
    })
    .await;
    let c = connector_config(&[&s], "binds = 3\n");
    let (connector, _incoming) = started(&c).await;
    for (sticky, want) in [(Some(7), vec![0, 0, 3]), (None, vec![1, 1, 1])] {
        let sending = {
            let connector = connector.clone();
            tokio::spawn(async move { submit_all(&connector, 3, sticky).await })
        };
        // While the carrier sits on them (2 s): where are they?
        let in_flight = || {
            connector
                .status()
                .iter()
                .map(|s| s.in_flight)
                .collect::<Vec<_>>()
        };
        for _ in 0..150 {
            if in_flight().iter().sum::<usize>() == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut in_flight = in_flight();
        in_flight.sort_unstable();
        assert_eq!(in_flight, want, "sticky {sticky:?}");
        for r in sending.await.unwrap() {
            assert_eq!(r.unwrap().command_status, CommandStatus::OK);
        }
    }
    assert_eq!(s.counts().accepted, 6);
    Arc::try_unwrap(connector).unwrap().shutdown().await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_connector_verifies_the_carrier() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["carrier.test".to_string()]).unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
    let s = sim(SimConfig {
        tls: Some(smpp_tools::sim::tls_acceptor(&cert_file, &key_file).unwrap()),
        ..SimConfig::default()
    })
    .await;
    let tls = format!(
        "tls = true\ntls_ca = \"{}\"\ntls_name = \"carrier.test\"\n",
        cert_file.display()
    );
    let c = connector_config(&[&s], &tls);
    let (connector, _incoming) = started(&c).await;
    let a = connector
        .submit_one(
            &submit(1, false),
            None,
            Instant::now() + Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(a.command_status, CommandStatus::OK);
    Arc::try_unwrap(connector).unwrap().shutdown().await;

    // The wrong name is refused at the handshake: the shard never binds.
    let mut wrong = c.clone();
    wrong.tls_name = Some("someone-else.test".into());
    let (connector, _incoming) =
        Connector::start(&wrong, |_| Arc::new(NoObserver) as Arc<dyn Observer>);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!connector.is_up());
    connector.shutdown().await;
    assert_eq!(s.counts().binds, 1);

    // A CA file that is not there is a config error naming the key.
    let bad = format!(
        "[[connectors]]\nname = \"c\"\nhosts = [\"127.0.0.1:1\"]\nsystem_id = \"r\"\npassword = \"p\"\n\
         tls = true\ntls_ca = \"{}\"\n",
        dir.path().join("missing.pem").display()
    );
    let Err(smpp_router::Error::Config { key, .. }) = Config::parse(&bad) else {
        panic!("a missing CA file was accepted")
    };
    assert_eq!(key, "connectors[0].tls_ca");
    s.shutdown().await;
}
