//! The bench's library entry point against the simulator's, in-process over real TCP on
//! 127.0.0.1: every receipt matched with the outcome mix, and each fault mode seen from the
//! bench's side — refusals by status, throttling retried, receipts before their ack, dropped
//! connections with consistent counts, silence as timeouts, MO traffic, held receipts.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use smpp_pdu::{Body, CommandStatus, MessageIdResp};
use smpp_session::BindKind;
use smpp_tokio::{Esme, EsmeConfig, NoObserver};
use smpp_tools::bench::{
    run, run_until, BenchConfig, BenchError, MessageKind, ReceiptReport, Report,
};
use smpp_tools::sim::{Account, IdFormat, MsRange, Sim, SimConfig, SimCounts, SimHandle};

async fn sim(config: SimConfig) -> SimHandle {
    Sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        dlr_delay: MsRange { min: 1, max: 20 },
        ..config
    })
    .await
    .unwrap()
}

fn bench(sim: &SimHandle, count: u64) -> BenchConfig {
    let mut c = BenchConfig::new(&sim.local_addr().to_string(), "acme", "pw");
    c.count = Some(count);
    c.sessions = 2;
    c.window = 10;
    c.receipt_wait = Duration::from_secs(10);
    c.bind_timeout = Duration::from_secs(5);
    c
}

fn status(r: &Report, s: &str) -> u64 {
    r.acked.get(s).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_receipt_is_matched_with_the_outcome_mix() {
    let sim = sim(SimConfig {
        id_format: IdFormat::Decimal,
        dlr_mix: "DELIVRD=2,UNDELIV=1,EXPIRED=1".parse().unwrap(),
        accounts: vec![Account {
            system_id: "acme".into(),
            password: "pw".into(),
        }],
        ..SimConfig::default()
    })
    .await;
    let mut c = bench(&sim, 300);
    c.registered_delivery = true;
    let r = run(c).await.unwrap();
    assert!(r.is_consistent(), "{r:#?}");
    assert_eq!((r.messages, r.sent, r.ok), (300, 300, 300));
    let receipts = r.receipts.as_ref().unwrap();
    assert_eq!(receipts.expected, 300);
    assert_eq!(receipts.matched, 300);
    assert_eq!(
        (receipts.missing, receipts.unmatched, receipts.duplicate),
        (0, 0, 0)
    );
    assert_eq!(receipts.by_state.values().sum::<u64>(), 300);
    for state in ["DELIVRD", "UNDELIV", "EXPIRED"] {
        assert!(
            receipts.by_state.get(state).copied().unwrap_or(0) > 0,
            "{receipts:#?}"
        );
    }
    assert_eq!(receipts.by_state.len(), 3);
    assert_eq!(r.submit_latency_ms.count, 300);
    assert_eq!(receipts.latency_ms.count, 300);
    let counts = sim.shutdown().await;
    assert_eq!(counts.accepted, 300);
    assert_eq!(counts.receipts_scheduled, 300);
    // The bench may leave before the last deliver_sm_resp reaches the simulator.
    assert!(counts.receipts_delivered <= 300);
    assert_eq!(counts.binds, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_and_ucs2_messages_get_a_receipt_per_part() {
    let sim = sim(SimConfig::default()).await;
    let mut c = bench(&sim, 20);
    c.registered_delivery = true;
    c.message = MessageKind::Long;
    let r = run(c.clone()).await.unwrap();
    assert_eq!(r.messages, 20);
    assert_eq!(r.sent, 60, "three parts each");
    assert_eq!(r.receipts.as_ref().unwrap().matched, 60);
    c.message = MessageKind::Ucs2;
    let r = run(c).await.unwrap();
    assert_eq!((r.sent, r.ok), (20, 20));
    assert_eq!(r.receipts.as_ref().unwrap().matched, 20);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_are_counted_by_status() {
    let sim = sim(SimConfig {
        reject_share: 0.3,
        reject_status: CommandStatus::SUBMITFAIL,
        ..SimConfig::default()
    })
    .await;
    let mut c = bench(&sim, 200);
    c.registered_delivery = true;
    let r = run(c).await.unwrap();
    let counts = sim.shutdown().await;
    assert!(r.is_consistent());
    assert_eq!(r.sent, 200);
    assert_eq!(status(&r, "ESME_RSUBMITFAIL"), counts.rejected);
    assert_eq!(r.ok, counts.accepted);
    assert!(counts.rejected > 0 && counts.accepted > 0, "{counts:?}");
    // Refused messages get no receipt, and none is missing.
    let receipts = r.receipts.unwrap();
    assert_eq!((receipts.matched, receipts.missing), (r.ok, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_answered_and_retried() {
    let sim = sim(SimConfig {
        throttle_tps: Some(100),
        ..SimConfig::default()
    })
    .await;
    let mut c = bench(&sim, 150);
    c.throttle_pause = Duration::from_millis(200);
    let r = run(c).await.unwrap();
    let counts = sim.shutdown().await;
    assert!(r.is_consistent());
    assert!(counts.throttled > 0, "{counts:?}");
    assert!(r.throttled_retries > 0, "{r:#?}");
    // Every throttled answer was either retried or is counted as the final status.
    assert_eq!(
        counts.throttled,
        r.throttled_retries + status(&r, "ESME_RTHROTTLED")
    );
    // Every throttled request is resent until answered or out of retries; none is lost.
    assert_eq!(r.errors, 0, "{r:#?}");
    assert_eq!(r.ok + status(&r, "ESME_RTHROTTLED"), 150, "{r:#?}");
    assert_eq!(r.ok, counts.accepted);
}

/// 200 messages with receipts through a simulator set up as `config`: what the bench made of
/// the receipts, and the simulator's counts.
async fn receipts_from(config: SimConfig) -> (ReceiptReport, SimCounts) {
    let sim = sim(config).await;
    let mut c = bench(&sim, 200);
    c.registered_delivery = true;
    let r = run(c).await.unwrap();
    let counts = sim.shutdown().await;
    (r.receipts.unwrap(), counts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_before_the_ack_are_still_matched() {
    let (receipts, counts) = receipts_from(SimConfig {
        early_dlr_share: 0.5,
        ..SimConfig::default()
    })
    .await;
    assert!(counts.receipts_early > 0);
    // Some late ones may also beat the ack through the bench's tasks.
    assert!(receipts.early >= counts.receipts_early);
    assert_eq!(receipts.matched, 200);
    assert_eq!((receipts.unmatched, receipts.missing), (0, 0));
}

/// Stray receipts (ids never given out) reach the ESME as receipts it cannot match, and the
/// real ones are all matched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stray_receipts_come_besides_the_real_ones() {
    let (receipts, counts) = receipts_from(SimConfig {
        stray_dlr_share: 0.5,
        ..SimConfig::default()
    })
    .await;
    assert!(counts.receipts_stray > 50, "{counts}");
    assert_eq!(receipts.matched, 200);
    assert_eq!(receipts.missing, 0);
    assert_eq!(receipts.unmatched, counts.receipts_stray);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_reconnect_and_counts_stay_consistent() {
    let sim = sim(SimConfig {
        drop_after: Some(40),
        ..SimConfig::default()
    })
    .await;
    let mut c = bench(&sim, 200);
    c.sessions = 1;
    c.window = 5;
    c.registered_delivery = true;
    let r = run(c).await.unwrap();
    let counts = sim.shutdown().await;
    assert!(r.is_consistent(), "{r:#?}");
    assert!(counts.dropped_connections >= 1);
    assert!(r.reconnects >= 1, "{r:#?}");
    assert_eq!(r.messages, 200);
    assert_eq!(r.sent + r.not_sent, 200);
    // An ack lost with its connection is counted as lost by the bench, accepted by the sim.
    assert!(r.ok <= counts.accepted);
    assert!(
        counts.accepted <= r.ok + r.connection_lost,
        "{r:#?} {counts:?}"
    );
    // Receipts of acked messages survive the drops (held and sent on the next bind).
    let receipts = r.receipts.unwrap();
    assert_eq!(receipts.missing, 0, "{receipts:#?} {counts:?}");
    assert_eq!(receipts.matched, r.ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_smsc_shows_as_timeouts() {
    let sim = sim(SimConfig {
        silent: true,
        ..SimConfig::default()
    })
    .await;
    let mut c = bench(&sim, 20);
    c.sessions = 1;
    c.response_timeout = Duration::from_millis(200);
    let r = run(c).await.unwrap();
    let counts = sim.shutdown().await;
    assert!(r.is_consistent());
    assert_eq!((r.sent, r.timeouts, r.ok), (20, 20, 0));
    assert_eq!(counts.unanswered, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mo_messages_reach_the_bench() {
    let sim = sim(SimConfig {
        mo_rate: 200.0,
        mo_texts: vec!["STOP".into(), "Привет".into()],
        ..SimConfig::default()
    })
    .await;
    let mut c = bench(&sim, 0);
    c.count = None;
    c.duration = Some(Duration::from_millis(600));
    c.rate = Some(100.0);
    let r = run(c).await.unwrap();
    let counts = sim.shutdown().await;
    assert!(r.mo_received > 0, "{r:#?}");
    assert!(counts.mo_delivered > 0 || counts.resends > 0, "{counts:?}");
    assert!(r.sent > 0 && r.is_consistent());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_fails_the_bind() {
    let sim = sim(SimConfig {
        accounts: vec!["acme:right".parse().unwrap()],
        ..SimConfig::default()
    })
    .await;
    let mut c = bench(&sim, 1);
    c.bind_timeout = Duration::from_millis(300);
    assert!(matches!(run(c).await, Err(BenchError::Bind { .. })));
    assert!(sim.shutdown().await.binds_refused >= 1);
}

/// Receipts for a transmitter-only bind wait in the outbox until a receiver of the same
/// system_id binds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_wait_for_a_receiver_bind() {
    let sim = sim(SimConfig::default()).await;
    let addr = sim.local_addr().to_string();
    let mut tx_config = EsmeConfig::new(&addr, "acme", "pw");
    tx_config.kind = BindKind::Transmitter;
    let (tx, _none) = Esme::start(tx_config, Arc::new(NoObserver));
    tx.wait_bound(Duration::from_secs(5)).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let resp = tx
            .send(Body::SubmitSm(Box::new(smpp_pdu::SubmitSm {
                dest: smpp_pdu::Address::new(
                    smpp_pdu::Ton(1),
                    smpp_pdu::Npi(1),
                    bytes::Bytes::from(format!("1555000000{i}")),
                ),
                registered_delivery: smpp_pdu::RegisteredDelivery::FINAL,
                short_message: bytes::Bytes::from_static(b"hi"),
                ..Default::default()
            })))
            .await
            .unwrap();
        let Body::SubmitSmResp(MessageIdResp { message_id, .. }) = resp.body else {
            panic!("{resp:?}")
        };
        ids.push(message_id);
    }
    // Let the receipts fall due (the delay is at most 20 ms) with nobody to take them.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let waiting = sim.counts();
    assert_eq!(
        (waiting.receipts_waiting, waiting.receipts_delivered),
        (5, 0)
    );
    let mut rx_config = EsmeConfig::new(&addr, "acme", "pw");
    rx_config.kind = BindKind::Receiver;
    let (rx, mut deliveries) = Esme::start(rx_config, Arc::new(NoObserver));
    let mut got = Vec::new();
    while got.len() < 5 {
        let inc = tokio::time::timeout(Duration::from_secs(5), deliveries.recv())
            .await
            .unwrap()
            .unwrap();
        let Body::DeliverSm(d) = &inc.pdu.body else {
            panic!()
        };
        assert!(d.esm_class.is_receipt());
        got.push(bytes::Bytes::copy_from_slice(
            d.tlvs.receipted_message_id().unwrap(),
        ));
        inc.responder
            .respond(
                CommandStatus::OK,
                Body::DeliverSmResp(MessageIdResp::default()),
            )
            .await;
    }
    got.sort();
    ids.sort();
    assert_eq!(got, ids);
    // The simulator counts a receipt when its task sees the answer, which may be a moment
    // after the answer left here; its shutdown aborts tasks, so wait for the count first.
    let counted = tokio::time::timeout(Duration::from_secs(5), async {
        while sim.counts().receipts_delivered < 5 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(counted.is_ok(), "{:?}", sim.counts());
    tx.shutdown().await;
    rx.shutdown().await;
    let counts = sim.shutdown().await;
    assert_eq!(counts.receipts_delivered, 5);
}

/// ctrl-c (here: a timer) stops a run that would never end by itself, and still reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_reports_what_it_did() {
    let sim = sim(SimConfig::default()).await;
    let mut c = bench(&sim, u64::MAX);
    c.rate = Some(200.0);
    c.registered_delivery = true;
    let r = run_until(c, tokio::time::sleep(Duration::from_millis(300)))
        .await
        .unwrap();
    let counts = sim.shutdown().await;
    assert!(r.is_consistent());
    assert!(r.sent > 0 && r.messages < 1000, "{r:#?}");
    assert_eq!(r.ok, counts.accepted);
}
