//! The whole router over TCP on 127.0.0.1: customers (smpp-bench and our ESME) → router
//! (in-process daemon with its embedded store in a temp dir) → simulated carriers (smpp-sim).
//! Every acked message gets exactly its receipt with our id; the customer may be offline or
//! the router restarted between ack and receipt; refusals carry the right status.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use smpp_pdu::{Body, CommandStatus, Npi, SubmitSm, Ton};
use smpp_router::daemon::Daemon;
use smpp_session::BindKind;
use smpp_tokio::{Esme, EsmeConfig, Incoming, NoObserver};
use smpp_tools::bench::{self, BenchConfig};
use smpp_tools::sim::{MsRange, SimConfig, SimHandle};
use tokio::sync::mpsc;

use support::*;

/// Submits `n` and returns our ids from the acks.
async fn submit_n(esme: &Esme, n: u32, receipt: bool) -> HashSet<Bytes> {
    let mut ids = HashSet::new();
    for i in 0..n {
        let r = esme.send(submit(i, "ACME", receipt)).await.unwrap();
        assert_eq!(r.command_status, CommandStatus::OK, "{r:?}");
        let Body::SubmitSmResp(resp) = r.body else {
            panic!("{r:?}")
        };
        assert!(ids.insert(resp.message_id));
    }
    ids
}

/// Waits (up to 5 s) until `count` reaches `n`; what it is then.
async fn count_reaching(count: impl Fn() -> u64, n: u64) -> u64 {
    for _ in 0..500 {
        if count() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    count()
}

/// Waits (up to 5 s) until the carriers have handed the router `n` receipts between them;
/// the number they have.
async fn receipts_handed_over(a: &SimHandle, b: &SimHandle, n: u64) -> u64 {
    count_reaching(
        || a.counts().receipts_delivered + b.counts().receipts_delivered,
        n,
    )
    .await
}

/// Takes `n` receipts, answers them, and checks each names one of `ids` (removing it).
async fn take_receipts(rx: &mut mpsc::Receiver<Incoming>, ids: &mut HashSet<Bytes>, n: usize) {
    for _ in 0..n {
        let inc = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a receipt in time")
            .unwrap();
        let Body::DeliverSm(d) = &inc.pdu.body else {
            panic!("{:?}", inc.pdu)
        };
        assert!(d.esm_class.is_receipt());
        let r = smpp_router::receipts::read(d).unwrap();
        let text = smpp_pdu::receipt::Receipt::parse(&d.short_message).unwrap();
        assert_eq!(text.id, Some(r.carrier_id), "text and TLV agree");
        assert!(
            ids.remove(r.carrier_id),
            "receipt for an id we were not given: {:?}",
            r.carrier_id
        );
        inc.responder.respond_status(CommandStatus::OK).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acked_message_gets_exactly_its_receipt_with_our_id() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        sim(SimConfig::default()).await,
        sim(SimConfig::default()).await,
    );
    let d = daemon(dir.path(), &config_text(dir.path(), &a, &b, "", SPLIT)).await;
    let mut cfg = BenchConfig::new(&d.smpp_addr.to_string(), "demo", "demo");
    cfg.sessions = 2;
    cfg.window = 50;
    cfg.count = Some(2000);
    cfg.registered_delivery = true;
    cfg.receipt_wait = Duration::from_secs(10);
    let report = bench::run(cfg).await.unwrap();
    assert_eq!(report.ok, 2000, "{report:#?}");
    let r = report.receipts.unwrap();
    assert_eq!(
        (r.matched, r.missing, r.duplicate, r.unmatched),
        (2000, 0, 0, 0),
        "{r:#?}"
    );
    // Both carriers took a share, and every receipt they made was delivered to the router.
    let (ca, cb) = (a.counts(), b.counts());
    assert_eq!(ca.accepted + cb.accepted, 2000);
    assert!(ca.accepted > 0 && cb.accepted > 0, "{ca:?} {cb:?}");
    assert_eq!(ca.binds + cb.binds, 6);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_wait_for_a_customer_that_is_away() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        sim(SimConfig::default()).await,
        sim(SimConfig::default()).await,
    );
    let d = daemon(dir.path(), &config_text(dir.path(), &a, &b, "", SPLIT)).await;
    // A transmitter submits; nobody can take receipts yet.
    let (tx, _) = customer(&d, "demo", BindKind::Transmitter);
    tx.wait_bound(Duration::from_secs(5)).await.unwrap();
    let mut ids = submit_n(&tx, 50, true).await;
    // The carriers hand every receipt to the router, which keeps them.
    assert_eq!(receipts_handed_over(&a, &b, 50).await, 50);
    // The customer's receiver binds: every receipt arrives, each with one of our ids.
    let (rx, mut receipts) = customer(&d, "demo", BindKind::Receiver);
    rx.wait_bound(Duration::from_secs(5)).await.unwrap();
    take_receipts(&mut receipts, &mut ids, 50).await;
    assert!(ids.is_empty());
    tx.shutdown().await;
    rx.shutdown().await;
    d.shutdown().await;
}

/// An account with `receipts = "always"`: a submit that asks for no receipt goes to the carrier
/// changed, asking for one (encoded again, not forwarded as the customer's bytes); one that
/// asks goes on as it came. Either way the carrier is asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_that_always_wants_receipts_asks_the_carrier_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        sim(SimConfig::default()).await,
        sim(SimConfig::default()).await,
    );
    let text = config_text(dir.path(), &a, &b, "receipts = \"always\"", SPLIT);
    let d = daemon(dir.path(), &text).await;
    let (tx, _) = customer(&d, "demo", BindKind::Transmitter);
    tx.wait_bound(Duration::from_secs(5)).await.unwrap();
    submit_n(&tx, 10, false).await;
    submit_n(&tx, 10, true).await;
    let asked = || a.counts().receipts_scheduled + b.counts().receipts_scheduled;
    assert_eq!(
        count_reaching(asked, 20).await,
        20,
        "the carriers were asked for every receipt"
    );
    tx.shutdown().await;
    d.shutdown().await;
}

/// The next receipt on `rx`, with the carrier id it names.
async fn next_receipt(rx: &mut mpsc::Receiver<Incoming>) -> (Bytes, Incoming) {
    let inc = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a receipt in time")
        .unwrap();
    let Body::DeliverSm(d) = &inc.pdu.body else {
        panic!("{:?}", inc.pdu)
    };
    let id = Bytes::copy_from_slice(smpp_router::receipts::read(d).unwrap().carrier_id);
    (id, inc)
}

/// A queued receipt the customer refuses for good (ESME_RX_P_APPN) is dropped and counted,
/// not sent again for ever; one it refuses for now (ESME_RX_T_APPN) comes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_refused_for_good_is_dropped_and_one_refused_for_now_comes_again() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        sim(SimConfig::default()).await,
        sim(SimConfig::default()).await,
    );
    let d = daemon(dir.path(), &config_text(dir.path(), &a, &b, "", SPLIT)).await;
    let (tx, _) = customer(&d, "demo", BindKind::Transmitter);
    tx.wait_bound(Duration::from_secs(5)).await.unwrap();
    let ids = submit_n(&tx, 5, true).await;
    assert_eq!(receipts_handed_over(&a, &b, 5).await, 5);
    let (rx, mut incoming) = customer(&d, "demo", BindKind::Receiver);
    rx.wait_bound(Duration::from_secs(5)).await.unwrap();
    let (refused, inc) = next_receipt(&mut incoming).await;
    inc.responder.respond_status(CommandStatus::X_P_APPN).await;
    let (later, inc) = next_receipt(&mut incoming).await;
    inc.responder.respond_status(CommandStatus::X_T_APPN).await;
    let mut rest = Vec::new();
    for _ in 0..4 {
        let (id, inc) = next_receipt(&mut incoming).await;
        inc.responder.respond_status(CommandStatus::OK).await;
        rest.push(id);
    }
    assert!(
        rest.contains(&later),
        "the one refused for now came again: {rest:?}"
    );
    assert!(
        !rest.contains(&refused),
        "the one refused for good did not: {rest:?}"
    );
    let seen: HashSet<Bytes> = rest.into_iter().chain([refused, later]).collect();
    assert_eq!(seen, ids);
    // Nothing more comes: the queue is empty.
    let more = tokio::time::timeout(Duration::from_millis(1500), incoming.recv()).await;
    assert!(more.is_err(), "{more:?}");
    let metrics = get(&d, "/metrics").await.1;
    assert!(
        metrics.contains("smpp_deliver_refused_total{account=\"demo\"} 1"),
        "{metrics}"
    );
    tx.shutdown().await;
    rx.shutdown().await;
    d.shutdown().await;
}

/// A bound customer gets a receipt straight away; one it does not answer in time is queued
/// (and the carrier answered), then sent again: at least once, never lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_the_customer_does_not_answer_is_queued_and_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        sim(SimConfig::default()).await,
        sim(SimConfig::default()).await,
    );
    let d = daemon(dir.path(), &config_text(dir.path(), &a, &b, "", SPLIT)).await;
    let (trx, mut incoming) = customer(&d, "demo", BindKind::Transceiver);
    trx.wait_bound(Duration::from_secs(5)).await.unwrap();
    let ids = submit_n(&trx, 5, true).await;
    // Each receipt comes straight to the bind; none is answered for now.
    let mut unanswered = Vec::new();
    let mut seen = HashSet::new();
    for _ in 0..5 {
        let inc = tokio::time::timeout(Duration::from_secs(10), incoming.recv())
            .await
            .expect("a receipt in time")
            .unwrap();
        let Body::DeliverSm(dsm) = &inc.pdu.body else {
            panic!("{:?}", inc.pdu)
        };
        seen.insert(Bytes::copy_from_slice(
            smpp_router::receipts::read(dsm).unwrap().carrier_id,
        ));
        unanswered.push(inc);
    }
    assert_eq!(seen, ids);
    // The carriers still get their answers, ESME_ROK: the router queued what waited.
    receipts_handed_over(&a, &b, 5).await;
    let (ca, cb) = (a.counts(), b.counts());
    assert_eq!(
        ca.receipts_delivered + cb.receipts_delivered,
        5,
        "{ca:?} {cb:?}"
    );
    assert_eq!(
        ca.receipts_refused + cb.receipts_refused,
        0,
        "{ca:?} {cb:?}"
    );
    // Late answers change nothing; each receipt comes again from the queue.
    for inc in unanswered {
        inc.responder.respond_status(CommandStatus::OK).await;
    }
    let mut again = ids.clone();
    take_receipts(&mut incoming, &mut again, 5).await;
    assert!(again.is_empty());
    trx.shutdown().await;
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_away_customers_queue_is_bounded_by_its_pending_max() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        sim(SimConfig::default()).await,
        sim(SimConfig::default()).await,
    );
    let text = config_text(dir.path(), &a, &b, "pending_max = 20", SPLIT);
    let d = daemon(dir.path(), &text).await;
    let (tx, _) = customer(&d, "demo", BindKind::Transmitter);
    tx.wait_bound(Duration::from_secs(5)).await.unwrap();
    let mut ids = submit_n(&tx, 30, true).await;
    // Twenty receipts are kept; the carriers are told to try the other ten later (and give
    // up after their attempts).
    let settled = || {
        let (ca, cb) = (a.counts(), b.counts());
        (
            ca.receipts_delivered + cb.receipts_delivered,
            ca.resends + cb.resends,
        )
    };
    for _ in 0..500 {
        if settled().0 == 20 && settled().1 >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (delivered, resends) = settled();
    assert_eq!(delivered, 20);
    assert!(resends >= 10, "{resends}");
    let (rx, mut receipts) = customer(&d, "demo", BindKind::Receiver);
    rx.wait_bound(Duration::from_secs(5)).await.unwrap();
    take_receipts(&mut receipts, &mut ids, 20).await;
    assert_eq!(ids.len(), 10);
    tx.shutdown().await;
    rx.shutdown().await;
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_between_ack_and_receipt_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let slow = SimConfig {
        dlr_delay: MsRange {
            min: 4000,
            max: 4000,
        },
        ..SimConfig::default()
    };
    let a = sim(slow.clone()).await;
    let b = sim(slow).await;
    let text = config_text(dir.path(), &a, &b, "", SPLIT);
    let d = daemon(dir.path(), &text).await;
    let (esme, _) = customer(&d, "demo", BindKind::Transmitter);
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    let mut ids = submit_n(&esme, 40, true).await;
    esme.shutdown().await;
    // Stop the router before any receipt is due (they come 4 s after each submit) …
    d.shutdown().await;
    assert_eq!(
        a.counts().receipts_delivered + b.counts().receipts_delivered,
        0
    );
    // … and start it again on the same store. The carriers deliver the receipts when the
    // router's binds come back; the records are still there.
    let d = daemon(dir.path(), &text).await;
    let (rx, mut receipts) = customer(&d, "demo", BindKind::Receiver);
    rx.wait_bound(Duration::from_secs(5)).await.unwrap();
    take_receipts(&mut receipts, &mut ids, 40).await;
    assert!(ids.is_empty());
    rx.shutdown().await;
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_that_come_before_the_ack_are_held_until_it_lands() {
    let dir = tempfile::tempdir().unwrap();
    let early = SimConfig {
        early_dlr_share: 1.0,
        ..SimConfig::default()
    };
    let (a, b) = (sim(early.clone()).await, sim(early).await);
    let d = daemon(dir.path(), &config_text(dir.path(), &a, &b, "", SPLIT)).await;
    let (esme, mut receipts) = customer(&d, "demo", BindKind::Transceiver);
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    let mut ids = submit_n(&esme, 30, true).await;
    assert!(a.counts().receipts_early + b.counts().receipts_early >= 30);
    take_receipts(&mut receipts, &mut ids, 30).await;
    assert!(ids.is_empty());
    esme.shutdown().await;
    d.shutdown().await;
}

/// Keeps the status of a refused bind (the connection's close reason).
#[derive(Default)]
struct BindOutcome(std::sync::Mutex<Option<CommandStatus>>);

impl smpp_tokio::Observer for BindOutcome {
    fn closed(&self, reason: smpp_session::CloseReason) {
        if let smpp_session::CloseReason::BindRejected(status) = reason {
            *self.0.lock().unwrap() = Some(status);
        }
    }
}

/// A customer bind's outcome: `Ok`, or the bind_resp status it was refused with.
async fn bind_status(d: &Daemon, system_id: &str, password: &str) -> Result<(), CommandStatus> {
    let mut c = EsmeConfig::new(d.smpp_addr.to_string(), system_id, password);
    c.backoff.initial = Duration::from_secs(30);
    let outcome = Arc::new(BindOutcome::default());
    let (esme, _) = Esme::start(c, outcome.clone());
    let r = esme.wait_bound(Duration::from_secs(2)).await.map(|_| ());
    esme.shutdown().await;
    let refused = *outcome.0.lock().unwrap();
    r.map_err(|_| refused.unwrap_or(CommandStatus::SYSERR))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binds_are_refused_for_a_wrong_password_a_foreign_address_and_too_many() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        sim(SimConfig::default()).await,
        sim(SimConfig::default()).await,
    );
    let extra = "";
    let mut text = config_text(dir.path(), &a, &b, extra, SPLIT);
    text = text.replacen("max_binds = 4", "max_binds = 1", 1);
    text = text.replacen(
        "id_format = \"decimal\"",
        "id_format = \"decimal\"\nnetworks = [\"10.0.0.0/8\"]",
        1,
    );
    let d = daemon(dir.path(), &text).await;
    assert_eq!(
        bind_status(&d, "demo", "wrong").await,
        Err(CommandStatus::INVPASWD)
    );
    assert_eq!(
        bind_status(&d, "other", "demo").await,
        Err(CommandStatus::BINDFAIL),
        "address outside 10/8"
    );
    let (first, _) = customer(&d, "demo", BindKind::Transceiver);
    first.wait_bound(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        bind_status(&d, "demo", "demo").await,
        Err(CommandStatus::BINDFAIL),
        "second bind over max_binds = 1"
    );
    // Each refusal is counted by its reason.
    let (_, metrics) = get(&d, "/metrics").await;
    for reason in ["wrong_password", "address_not_allowed", "too_many_binds"] {
        let line = format!("smpp_failed_binds_total{{reason=\"{reason}\"}} 1");
        assert!(metrics.contains(&line), "{line} not in\n{metrics}");
    }
    first.shutdown().await;
    // The slot is free again once the first bind is gone.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(bind_status(&d, "demo", "demo").await.is_ok());
    d.shutdown().await;
}

/// A shutdown answers the submits in flight before it unbinds the customer (who would
/// otherwise send them again: the person texted twice), and refuses new ones for later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_answers_the_submits_in_flight_before_the_unbind() {
    let dir = tempfile::tempdir().unwrap();
    let slow = SimConfig {
        resp_delay: Duration::from_millis(800),
        ..SimConfig::default()
    };
    let (a, b) = (sim(slow).await, sim(SimConfig::default()).await);
    let routes = "[[routes]]\nconnector = \"a\"\n";
    let d = daemon(dir.path(), &config_text(dir.path(), &a, &b, "", routes)).await;
    let mut c = EsmeConfig::new(d.smpp_addr.to_string(), "demo", "demo");
    c.driver.max_throttle_retries = 0;
    let (demo, _) = Esme::start(c, Arc::new(NoObserver));
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();
    let send = |i: u32| {
        let link = demo.link().clone();
        tokio::spawn(async move {
            match link.send(submit(i, "ACME", true)).await {
                Ok(r) => Ok(r.command_status),
                Err(smpp_tokio::Error::Throttled(_)) => Ok(CommandStatus::THROTTLED),
                Err(e) => Err(e.to_string()),
            }
        })
    };
    let in_flight: Vec<_> = (0..10).map(send).collect();
    // The carrier holds them for 800 ms; the shutdown starts meanwhile.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = tokio::spawn(d.shutdown());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let late = send(10).await.unwrap();
    for s in in_flight {
        assert_eq!(s.await.unwrap(), Ok(CommandStatus::OK));
    }
    assert_eq!(late, Ok(CommandStatus::THROTTLED));
    stopping.await.unwrap();
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_a_full_queue_and_the_tps_limit_get_their_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let a = sim(SimConfig {
        resp_delay: Duration::from_millis(400),
        ..SimConfig::default()
    })
    .await;
    let b = sim(SimConfig::default()).await;
    let routes = "[[routes]]\nname = \"uk\"\nprefixes = [\"44\"]\nconnector = \"b\"\n\
                  [[routes]]\nname = \"us\"\nprefixes = [\"1555\"]\naccounts = [\"demo\"]\nconnector = \"a\"\n";
    let mut text = config_text(dir.path(), &a, &b, "tps = 5", routes);
    text = text.replacen("name = \"a\"\n", "name = \"a\"\nqueue = 3\n", 1);
    let d = daemon(dir.path(), &text).await;

    // No route: `other` may not use the 1555 route, and there is no default.
    let (other, _) = customer(&d, "other", BindKind::Transceiver);
    other.wait_bound(Duration::from_secs(5)).await.unwrap();
    let r = other.send(submit(1, "ACME", false)).await.unwrap();
    assert_eq!(r.command_status, CommandStatus::INVDSTADR);
    other.shutdown().await;

    // demo: 5 TPS with a burst of 5, and connector a holds 3 at a time (answers take 400 ms).
    // The customer's driver must not retry ESME_RTHROTTLED here, so the test sees it.
    let mut c = EsmeConfig::new(d.smpp_addr.to_string(), "demo", "demo");
    c.driver.max_throttle_retries = 0;
    let (demo, _) = Esme::start(c, Arc::new(NoObserver));
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();
    let sends: Vec<_> = (0..10)
        .map(|i| {
            let link = demo.link().clone();
            tokio::spawn(async move {
                match link.send(submit(i, "ACME", false)).await {
                    Ok(r) => r.command_status,
                    // The driver reports a throttled answer it may not retry as an error.
                    Err(smpp_tokio::Error::Throttled(_)) => CommandStatus::THROTTLED,
                    Err(e) => panic!("{e}"),
                }
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for s in sends {
        statuses.push(s.await.unwrap());
    }
    let count = |s: CommandStatus| statuses.iter().filter(|&&x| x == s).count();
    assert!(count(CommandStatus::THROTTLED) >= 5, "{statuses:?}");
    assert!(count(CommandStatus::MSGQFUL) >= 1, "{statuses:?}");
    assert_eq!(count(CommandStatus::OK), 3, "{statuses:?}");
    // Each refusal is counted where ops look for it.
    let (_, metrics) = get(&d, "/metrics").await;
    let value = |series: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert_eq!(value(r#"smpp_no_route_total{account="other"}"#), 1);
    assert_eq!(
        value(r#"smpp_customer_throttled_total{account="demo"}"#),
        count(CommandStatus::THROTTLED) as u64
    );
    assert_eq!(
        value(r#"smpp_queue_full_total{connector="a"}"#),
        count(CommandStatus::MSGQFUL) as u64
    );
    demo.shutdown().await;
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_changes_routes_and_keeps_unchanged_binds() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        sim(SimConfig::default()).await,
        sim(SimConfig::default()).await,
    );
    let to_a = "[[routes]]\nconnector = \"a\"\n";
    let d = daemon(dir.path(), &config_text(dir.path(), &a, &b, "", to_a)).await;
    let (esme, _) = customer(&d, "demo", BindKind::Transceiver);
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    submit_n(&esme, 5, false).await;
    assert_eq!((a.counts().accepted, b.counts().accepted), (5, 0));

    let to_b = "[[routes]]\nconnector = \"b\"\n";
    std::fs::write(
        dir.path().join("router.toml"),
        config_text(dir.path(), &a, &b, "", to_b),
    )
    .unwrap();
    d.reload().await.unwrap();
    submit_n(&esme, 5, false).await;
    assert_eq!((a.counts().accepted, b.counts().accepted), (5, 5));
    // Neither connector changed, so no bind was made again; the customer stayed bound.
    assert_eq!((a.counts().binds, b.counts().binds), (3, 3));
    assert!(esme.bound().is_some());

    // A broken config is refused and the running one kept.
    std::fs::write(
        dir.path().join("router.toml"),
        "[[routes]]\nconnector = \"nope\"\n",
    )
    .unwrap();
    assert!(d.reload().await.is_err());
    submit_n(&esme, 1, false).await;
    assert_eq!(b.counts().accepted, 6);
    esme.shutdown().await;
    d.shutdown().await;
}

/// A reload that drops a connector stops it: its binds unbind and it does not reconnect,
/// while the connector that stays keeps its binds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_drops_a_connector_stops_its_binds() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        sim(SimConfig::default()).await,
        sim(SimConfig::default()).await,
    );
    let d = daemon(dir.path(), &config_text(dir.path(), &a, &b, "", SPLIT)).await;
    assert_eq!((a.open_connections(), b.open_connections()), (3, 3));
    // A customer stays bound throughout (a customer connection once kept the tables it bound
    // under, and with them every connector they named, for its whole life).
    let (esme, _) = customer(&d, "demo", BindKind::Transceiver);
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    submit_n(&esme, 4, false).await;
    // The same config without connector "b" (and routes only to "a").
    let text = config_text(dir.path(), &a, &b, "", "[[routes]]\nconnector = \"a\"\n");
    let start = text.find("[[connectors]]\nname = \"b\"").unwrap();
    let end = start + text[start..].find("\n\n").unwrap();
    let without_b = format!("{}{}", &text[..start], &text[end..]);
    assert!(!without_b.contains("name = \"b\""));
    std::fs::write(dir.path().join("router.toml"), without_b).unwrap();
    d.reload().await.unwrap();
    // Well within the response budget (5 s), the longest it would wait for a submit in flight.
    for _ in 0..200 {
        if b.open_connections() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        b.open_connections(),
        0,
        "the dropped connector's binds stay up"
    );
    // It stays down (no reconnect after its backoff of at most 500 ms); "a" was untouched.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(b.open_connections(), 0);
    assert_eq!(b.counts().binds, 3);
    assert_eq!((a.open_connections(), a.counts().binds), (3, 3));
    submit_n(&esme, 2, false).await;
    assert!(esme.bound().is_some());
    esme.shutdown().await;
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_go_to_the_owner_of_the_number_the_keyword_or_the_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let chatty = |text: &str| SimConfig {
        mo_rate: 20.0,
        mo_texts: vec![text.to_owned()],
        ..SimConfig::default()
    };
    // Carrier a replies "STOP" to whatever it was sent; b replies "pizza tonight?".
    let (a, b) = (
        sim(chatty("STOP")).await,
        sim(chatty("pizza tonight?")).await,
    );
    let routes = "[[routes]]\nsources = [\"15550100\", \"777\"]\nconnector = \"a\"\n\
                  [[routes]]\nsources = [\"12345\"]\nconnector = \"b\"\n";
    let d = daemon(dir.path(), &config_text(dir.path(), &a, &b, "", routes)).await;
    let (demo, mut demo_in) = customer(&d, "demo", BindKind::Transceiver);
    let (other, mut other_in) = customer(&d, "other", BindKind::Transceiver);
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();
    other.wait_bound(Duration::from_secs(5)).await.unwrap();
    let ok = |r: Result<smpp_pdu::Pdu, smpp_tokio::Error>| {
        r.unwrap().command_status == CommandStatus::OK
    };
    // From demo's own number: the reply is demo's. From the shared short code 12345: a reply
    // starting "pizza" is other's by keyword. From 777, which nobody owns: the reply belongs to
    // the account that texted that recipient from 777 — other.
    assert!(ok(demo.send(submit(1, "15550100", false)).await));
    assert!(ok(demo.send(submit(2, "12345", false)).await));
    assert!(ok(other.send(submit(3, "777", false)).await));
    // The carriers keep replying (20 a second, from the numbers they were sent to): every
    // reply demo gets is its own, and other gets both of its kinds.
    for _ in 0..3 {
        assert_eq!(
            next_mo(&mut demo_in).await,
            (Bytes::from_static(b"15550100"), Bytes::from_static(b"STOP"))
        );
    }
    // From here demo answers what it gets, as a customer does: its replies left unanswered
    // would fill its window and queue, and carrier a would be refused and resend them.
    let drain = tokio::spawn(async move {
        while let Some(inc) = demo_in.recv().await {
            inc.responder.respond_status(CommandStatus::OK).await;
        }
    });
    let want = [
        (
            Bytes::from_static(b"12345"),
            Bytes::from_static(b"pizza tonight?"),
        ),
        (Bytes::from_static(b"777"), Bytes::from_static(b"STOP")),
    ];
    let mut seen = HashSet::new();
    for _ in 0..100 {
        let m = next_mo(&mut other_in).await;
        assert!(want.contains(&m), "{m:?} is not other's");
        seen.insert(m);
        if seen.len() == want.len() {
            break;
        }
    }
    assert_eq!(seen.len(), want.len(), "{seen:?}");
    demo.shutdown().await;
    drain.abort();
    other.shutdown().await;
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_admin_show_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        sim(SimConfig::default()).await,
        sim(SimConfig::default()).await,
    );
    let routes = "[[routes]]\nname = \"to-a\"\nconnector = \"a\"\n";
    let d = daemon(dir.path(), &config_text(dir.path(), &a, &b, "", routes)).await;
    let (esme, mut receipts) = customer(&d, "demo", BindKind::Transceiver);
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    let mut ids = submit_n(&esme, 10, true).await;
    take_receipts(&mut receipts, &mut ids, 10).await;
    assert!(bind_status(&d, "demo", "wrong").await.is_err());

    let (code, text) = get(&d, "/metrics").await;
    assert_eq!(code, 200);
    for sample in [
        "smpp_submits_total{account=\"demo\",connector=\"a\",status=\"ESME_ROK\"} 10",
        "smpp_bind_up{connector=\"a\",bind=\"0\"} 1",
        "smpp_bind_up{connector=\"b\",bind=\"2\"} 1",
        "smpp_receipts_total{connector=\"a\",state=\"DELIVRD\"}",
        "smpp_failed_binds_total{reason=\"wrong_password\"} 1",
        "smpp_customer_binds{account=\"demo\"} 1",
        "smpp_submit_latency_seconds_count{account=\"demo\"} 10",
        "smpp_receipt_time_seconds_count{connector=\"a\"}",
        "smpp_store_commit_seconds_count",
    ] {
        assert!(text.contains(sample), "{sample} missing from\n{text}");
    }
    // The store's gauges are read at the scrape: ten records and their deletes have been
    // written to the correlation log; fjall has its journal and tables. (Its memtables may
    // be empty: records answered by their receipt never reach them.)
    assert!(text.contains("\nsmpp_store_write_buffer_bytes "), "{text}");
    for gauge in [
        "smpp_store_journal_files",
        "smpp_store_disk_bytes",
        "smpp_store_log_segments",
        "smpp_store_log_bytes",
    ] {
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(gauge)?.strip_prefix(' '))
            .and_then(|v| v.parse::<f64>().ok());
        assert!(
            value.is_some_and(|v| v > 0.0),
            "{gauge}: {value:?} in\n{text}"
        );
    }
    assert_eq!(get(&d, "/readyz").await.0, 200);
    let (code, binds) = get(&d, "/v1/binds").await;
    assert_eq!(code, 200);
    let binds: serde_json::Value = serde_json::from_str(&binds).unwrap();
    assert_eq!(binds["connectors"][1]["connector"], "b");
    assert_eq!(binds["connectors"][1]["binds"][2]["state"], "bound");
    let (code, resolved) = get(&d, "/v1/routes/resolve?account=demo&dst=%2B447700900123").await;
    assert_eq!(code, 200);
    let resolved: serde_json::Value = serde_json::from_str(&resolved).unwrap();
    assert_eq!(resolved["route"], "to-a");
    assert_eq!(resolved["connectors"][0], "a");
    // With a carrier gone, the router is not ready.
    b.shutdown().await;
    for _ in 0..200 {
        if get(&d, "/readyz").await.0 == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(get(&d, "/readyz").await.0, 503);
    esme.shutdown().await;
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_removes_an_account_unbinds_its_customers() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        sim(SimConfig::default()).await,
        sim(SimConfig::default()).await,
    );
    let text = config_text(dir.path(), &a, &b, "", SPLIT);
    let d = daemon(dir.path(), &text).await;
    let (other, _) = customer(&d, "other", BindKind::Transceiver);
    let (demo, _) = customer(&d, "demo", BindKind::Transceiver);
    other.wait_bound(Duration::from_secs(5)).await.unwrap();
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();
    let renamed = text.replacen("system_id = \"other\"", "system_id = \"other2\"", 1);
    std::fs::write(dir.path().join("router.toml"), renamed).unwrap();
    d.reload().await.unwrap();
    let mut gone = false;
    for _ in 0..300 {
        if other.bound().is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(gone, "the removed account's customer is still bound");
    // It cannot bind again; the other account was not touched.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(other.bound().is_none());
    assert!(demo.bound().is_some());
    other.shutdown().await;
    demo.shutdown().await;
    d.shutdown().await;
}

/// A receipt for `id` as a carrier writes it: Appendix B text and the TLVs.
fn carrier_receipt(id: &str) -> Body {
    let mut tlvs = smpp_pdu::TlvsBuilder::new();
    tlvs.receipted_message_id(id.as_bytes()).unwrap();
    tlvs.message_state(smpp_pdu::MessageState::DELIVERED);
    Body::DeliverSm(Box::new(smpp_pdu::SubmitSm {
        esm_class: smpp_pdu::EsmClass(0x04),
        short_message: Bytes::from(format!(
            "id:{id} sub:001 dlvrd:001 submit date:2611230000 done date:2611230000 stat:DELIVRD err:000 text:"
        )),
        tlvs: tlvs.build(),
        ..Default::default()
    }))
}

/// Serves a scripted carrier on a free port of 127.0.0.1 (any credentials bind) and returns
/// its address; `on_connection` gets each connection.
async fn scripted_carrier(
    on_connection: impl Fn(smpp_tokio::Connection) + Send + Sync + 'static,
) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let auth: Arc<smpp_tokio::Authenticate> =
        Arc::new(|_: &smpp_tokio::BindRequest| Ok(b"CARRIER".to_vec()));
    tokio::spawn(smpp_tokio::serve(
        listener,
        smpp_tokio::SmscConfig::default(),
        auth,
        on_connection,
        Arc::new(NoObserver),
    ));
    addr
}

/// A config with the account `demo` (and `account_extra`), one connector `c` at `carrier`
/// (and `connector_extra`) that the one route sends to, then `extra`.
fn one_carrier_config(
    dir: &std::path::Path,
    carrier: &str,
    account_extra: &str,
    connector_extra: &str,
    extra: &str,
) -> String {
    format!(
        "[node]\ndata_dir = \"{}\"\n[smpp]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n\
         [[accounts]]\nsystem_id = \"demo\"\npassword_hash = \"{DEMO_HASH}\"\n{account_extra}\
         [[connectors]]\nname = \"c\"\nhosts = [\"{carrier}\"]\nsystem_id = \"router\"\npassword = \"pw\"\n\
         {connector_extra}[[routes]]\nconnector = \"c\"\n{extra}",
        dir.join("data").display()
    )
}

/// A carrier that first sends `unknown` receipts for messages that are not the router's,
/// then answers each submit only after sending its receipt: every receipt of ours comes
/// before its ack, behind a crowd of receipts nobody will ever claim.
/// (Only on its first connection: a router that comes back is not sent the crowd again.)
async fn crowded_carrier(unknown: usize) -> String {
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    // Message ids unique over its connections, as a carrier's are.
    let next_id = Arc::new(std::sync::atomic::AtomicUsize::new(1));
    let on_connection = move |mut conn: smpp_tokio::Connection| {
        let (first, next_id) = (first.clone(), next_id.clone());
        tokio::spawn(async move {
            if conn.bound.wait_for(Option::is_some).await.is_err() {
                return;
            }
            let crowd = if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                unknown
            } else {
                0
            };
            for i in 0..crowd {
                let r = conn
                    .link
                    .send(carrier_receipt(&format!("nobody-{i}")))
                    .await;
                assert_eq!(r.unwrap().command_status, CommandStatus::OK);
            }
            while let Some(inc) = conn.incoming.recv().await {
                let n = next_id.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let id = format!("ours-{n}");
                let r = conn.link.send(carrier_receipt(&id)).await;
                assert_eq!(r.unwrap().command_status, CommandStatus::OK);
                let resp = smpp_pdu::MessageIdResp {
                    message_id: Bytes::from(id),
                    ..Default::default()
                };
                inc.responder
                    .respond(CommandStatus::OK, Body::SubmitSmResp(resp))
                    .await;
            }
        });
    };
    let addr = scripted_carrier(on_connection).await;
    addr
}

/// Receipts that come before their acks are matched when the record lands, however many
/// receipts that are not ours were parked before them (they used to wait behind the first
/// 256 of those until they were given up, ten minutes on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_receipt_is_matched_behind_many_unknown_ones() {
    let dir = tempfile::tempdir().unwrap();
    let carrier = crowded_carrier(600).await;
    let text = one_carrier_config(dir.path(), &carrier, "", "", "");
    let d = daemon(dir.path(), &text).await;
    let (esme, mut receipts) = customer(&d, "demo", BindKind::Transceiver);
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    // The crowd is parked first.
    for _ in 0..500 {
        if d.router().parked("c") >= 600 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(d.router().parked("c"), 600);
    let mut ids = submit_n(&esme, 5, true).await;
    take_receipts(&mut receipts, &mut ids, 5).await;
    assert!(ids.is_empty());
    assert_eq!(d.router().parked("c"), 600, "the crowd is still waiting");
    esme.shutdown().await;
    d.shutdown().await;

    // After a restart the crowd is parked again, from the durable queue (the carrier does
    // not send it twice), and receipts behind it are still matched.
    let d = daemon(dir.path(), &text).await;
    for _ in 0..500 {
        if d.router().parked("c") >= 600 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(d.router().parked("c"), 600);
    let (esme, mut receipts) = customer(&d, "demo", BindKind::Transceiver);
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    let mut ids = submit_n(&esme, 3, true).await;
    take_receipts(&mut receipts, &mut ids, 3).await;
    assert!(ids.is_empty());
    esme.shutdown().await;
    d.shutdown().await;
}

/// A customer bind with more submits unanswered than `smpp.max_in_flight` is answered
/// ESME_RTHROTTLED for the rest at once (and counted), while those within it go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submits_past_a_binds_in_flight_limit_are_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let slow = SimConfig {
        resp_delay: Duration::from_secs(1),
        ..SimConfig::default()
    };
    let (a, b) = (sim(slow.clone()).await, sim(slow).await);
    let text = config_text(dir.path(), &a, &b, "", SPLIT).replacen(
        "response_budget = \"5s\"",
        "response_budget = \"5s\"\nmax_in_flight = 10",
        1,
    );
    let d = daemon(dir.path(), &text).await;
    let mut c = EsmeConfig::new(d.smpp_addr.to_string(), "demo", "demo");
    c.session.window = 50;
    // Our driver pauses and resends throttled requests; here the answer itself is wanted.
    c.driver.max_throttle_retries = 0;
    let (esme, _) = Esme::start(c, Arc::new(NoObserver));
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    let answers =
        futures_util::future::join_all((0..30).map(|i| esme.send(submit(i, "ACME", false)))).await;
    let ok = answers
        .iter()
        .filter(|r| {
            r.as_ref()
                .is_ok_and(|p| p.command_status == CommandStatus::OK)
        })
        .count();
    let throttled = answers
        .iter()
        .filter(|r| matches!(r, Err(smpp_tokio::Error::Throttled(_))))
        .count();
    assert_eq!((ok, throttled), (10, 20), "{answers:?}");
    let metrics = get(&d, "/metrics").await.1;
    assert!(
        metrics.contains("smpp_customer_throttled_total{account=\"demo\"} 20"),
        "{metrics}"
    );
    esme.shutdown().await;
    d.shutdown().await;
}

/// A carrier that answers every submit_sm OK and records the SAR reference of each, in
/// `parts` (the parts of long messages it was given).
async fn recording_carrier(parts: Arc<std::sync::Mutex<Vec<u16>>>) -> String {
    let next_id = Arc::new(std::sync::atomic::AtomicUsize::new(1));
    let on_connection = move |mut conn: smpp_tokio::Connection| {
        let (parts, next_id) = (parts.clone(), next_id.clone());
        tokio::spawn(async move {
            while let Some(inc) = conn.incoming.recv().await {
                if let Body::SubmitSm(sm) = &inc.pdu.body {
                    if let Some(reference) = sm.tlvs.sar_msg_ref_num() {
                        parts.lock().unwrap().push(reference);
                    }
                }
                let n = next_id.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let resp = smpp_pdu::MessageIdResp {
                    message_id: Bytes::from(format!("m{n}")),
                    ..Default::default()
                };
                inc.responder
                    .respond(CommandStatus::OK, Body::SubmitSmResp(resp))
                    .await;
            }
        });
    };
    let addr = scripted_carrier(on_connection).await;
    addr
}

/// On a route split between two carriers, every part of a long message goes to the same
/// carrier (and there to the same bind), while whole messages are spread over both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parts_of_a_long_message_go_to_one_carrier_of_a_split() {
    let dir = tempfile::tempdir().unwrap();
    let (to_a, to_b) = (Arc::default(), Arc::default());
    let (a, b) = (
        recording_carrier(Arc::clone(&to_a)).await,
        recording_carrier(Arc::clone(&to_b)).await,
    );
    let carrier = |name: &str, addr: &str| {
        format!(
            "[[connectors]]\nname = \"{name}\"\nhosts = [\"{addr}\"]\nsystem_id = \"router\"\n\
             password = \"pw\"\nbinds = 3\n"
        )
    };
    let text = format!(
        "[node]\ndata_dir = \"{}\"\n[smpp]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n\
         [[accounts]]\nsystem_id = \"demo\"\npassword_hash = \"{DEMO_HASH}\"\n{}{}{SPLIT}",
        dir.path().join("data").display(),
        carrier("a", &a),
        carrier("b", &b),
    );
    let d = daemon(dir.path(), &text).await;
    let (esme, _rx) = customer(&d, "demo", BindKind::Transceiver);
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    // 30 messages of 3 parts, each part sent as the customer would: one submit_sm with the
    // message's SAR reference. All parts of all messages are in flight together.
    let link = esme.link().clone();
    let pending: Vec<_> = (1..=30u16)
        .flat_map(|reference| (1..=3u8).map(move |seq| (reference, seq)))
        .map(|(reference, seq)| {
            let mut tlvs = smpp_pdu::TlvsBuilder::new();
            tlvs.sar(reference, 3, seq);
            let body = Body::SubmitSm(Box::new(SubmitSm {
                source: smpp_pdu::Address::new(Ton(1), Npi(1), Bytes::from_static(b"15550100")),
                dest: smpp_pdu::Address::new(Ton(1), Npi(1), Bytes::from_static(b"15557654321")),
                short_message: Bytes::from(format!("part {seq} of message {reference}")),
                tlvs: tlvs.build(),
                ..Default::default()
            }));
            let link = link.clone();
            async move { link.send(body).await }
        })
        .collect();
    for answer in futures_util::future::join_all(pending).await {
        assert_eq!(answer.unwrap().command_status, CommandStatus::OK);
    }
    let (to_a, to_b) = (to_a.lock().unwrap().clone(), to_b.lock().unwrap().clone());
    assert_eq!(to_a.len() + to_b.len(), 90);
    for reference in 1..=30u16 {
        let n_a = to_a.iter().filter(|&&r| r == reference).count();
        let n_b = to_b.iter().filter(|&&r| r == reference).count();
        assert!(
            (n_a, n_b) == (3, 0) || (n_a, n_b) == (0, 3),
            "message {reference}: {n_a} parts to a, {n_b} to b"
        );
    }
    // The split still splits: 30 messages to one carrier is a 1 in 2^29 chance.
    assert!(!to_a.is_empty() && !to_b.is_empty(), "{} to a", to_a.len());
    esme.shutdown().await;
    d.shutdown().await;
}

/// A receipt with no message id (none in its text, no receipted_message_id) can never be
/// matched: it is answered OK, so the carrier does not send it again, and counted as unknown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_without_a_message_id_is_answered_and_counted_as_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let (answered_tx, mut answered) = mpsc::channel(1);
    let on_connection = move |conn: smpp_tokio::Connection| {
        let answered_tx = answered_tx.clone();
        tokio::spawn(async move {
            let mut bound = conn.bound.clone();
            if bound.wait_for(Option::is_some).await.is_err() {
                return;
            }
            let receipt = Body::DeliverSm(Box::new(SubmitSm {
                esm_class: smpp_pdu::EsmClass(0x04),
                short_message: Bytes::from_static(b"sub:001 dlvrd:001 stat:DELIVRD err:000"),
                ..Default::default()
            }));
            let answer = conn.link.send(receipt).await.map(|p| p.command_status);
            let _ = answered_tx.send(answer).await;
            // Kept open until the test ends.
            let mut incoming = conn.incoming;
            while incoming.recv().await.is_some() {}
        });
    };
    let carrier = scripted_carrier(on_connection).await;
    let text = one_carrier_config(dir.path(), &carrier, "", "", "");
    let d = daemon(dir.path(), &text).await;
    let answer = tokio::time::timeout(Duration::from_secs(10), answered.recv())
        .await
        .expect("the receipt was answered")
        .unwrap();
    assert_eq!(answer.unwrap(), CommandStatus::OK);
    let (code, metrics) = get(&d, "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains(r#"smpp_unknown_receipts_total{connector="c"} 1"#),
        "{metrics}"
    );
    d.shutdown().await;
}

/// A reload starts the simulated carrier of a connector it adds with `simulate = true` (its
/// binds come up and take traffic) and stops the one of a connector it removes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_starts_and_stops_simulated_carriers() {
    let dir = tempfile::tempdir().unwrap();
    let free_port = || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (at_a, at_b) = (free_port(), free_port());
    let simulated = |name: &str, at: std::net::SocketAddr| {
        format!(
            "[[connectors]]\nname = \"{name}\"\nhosts = [\"{at}\"]\nsystem_id = \"router\"\n\
             password = \"pw\"\nbinds = 2\nsimulate = true\n\
             reconnect_initial = \"50ms\"\nreconnect_max = \"500ms\"\n"
        )
    };
    let text = |connectors: &str, route_to: &str| {
        format!(
            "[node]\ndata_dir = \"{}\"\n[smpp]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n\
             [[accounts]]\nsystem_id = \"demo\"\npassword_hash = \"{DEMO_HASH}\"\n\
             {connectors}[[routes]]\nconnector = \"{route_to}\"\n",
            dir.path().join("data").display()
        )
    };
    let d = daemon(dir.path(), &text(&simulated("a", at_a), "a")).await;
    let (esme, _) = customer(&d, "demo", BindKind::Transceiver);
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    assert!(tokio::net::TcpStream::connect(at_b).await.is_err());

    // Connector b is added, simulated, and the route moves to it.
    let both = simulated("a", at_a) + &simulated("b", at_b);
    std::fs::write(dir.path().join("router.toml"), text(&both, "b")).unwrap();
    d.reload().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let b_bound = || {
        d.router()
            .connectors()
            .iter()
            .find(|c| c.name() == "b")
            .is_some_and(|c| c.status().iter().all(|s| s.bound))
    };
    while !b_bound() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "b's binds never came up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(submit_n(&esme, 3, false).await.len(), 3);
    let (code, ready) = get(&d, "/readyz").await;
    assert_eq!(code, 200, "{ready}");

    // Connector b is removed again: its simulated carrier stops listening; a stays.
    std::fs::write(
        dir.path().join("router.toml"),
        text(&simulated("a", at_a), "a"),
    )
    .unwrap();
    d.reload().await.unwrap();
    assert!(tokio::net::TcpStream::connect(at_b).await.is_err());
    assert!(tokio::net::TcpStream::connect(at_a).await.is_ok());
    assert_eq!(submit_n(&esme, 2, false).await.len(), 2);
    esme.shutdown().await;
    d.shutdown().await;
}

/// A failover route sends to its first connector while it has a bind up, and to the next
/// when none of the first's binds is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_route_moves_to_the_next_connector_when_the_first_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        sim(SimConfig::default()).await,
        sim(SimConfig::default()).await,
    );
    let failover = "[[routes]]\nfailover = [\"a\", \"b\"]\n";
    let d = daemon(dir.path(), &config_text(dir.path(), &a, &b, "", failover)).await;
    let (esme, _) = customer(&d, "demo", BindKind::Transceiver);
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    assert_eq!(submit_n(&esme, 3, false).await.len(), 3);
    assert_eq!((a.counts().accepted, b.counts().accepted), (3, 0));

    // Carrier a goes away: once none of a's binds is up, b takes the traffic.
    a.shutdown().await;
    let a_down = || {
        d.router()
            .connectors()
            .iter()
            .find(|c| c.name() == "a")
            .is_some_and(|c| c.status().iter().all(|s| !s.bound))
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !a_down() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a's binds stayed up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(submit_n(&esme, 5, false).await.len(), 5);
    assert_eq!(b.counts().accepted, 5);
    esme.shutdown().await;
    d.shutdown().await;
}

/// A carrier that, once bound, sends one MO (a reply from `from` to `to`), then answers
/// submits; the MO's answer status goes to `answered`.
async fn replying_carrier(
    from: &'static str,
    to: &'static str,
    answered: mpsc::Sender<CommandStatus>,
) -> String {
    let on_connection = move |conn: smpp_tokio::Connection| {
        let answered = answered.clone();
        tokio::spawn(async move {
            let mut bound = conn.bound.clone();
            if bound.wait_for(Option::is_some).await.is_err() {
                return;
            }
            let mo = Body::DeliverSm(Box::new(SubmitSm {
                source: smpp_pdu::Address::new(Ton(1), Npi(1), Bytes::from_static(from.as_bytes())),
                dest: smpp_pdu::Address::new(Ton(1), Npi(1), Bytes::from_static(to.as_bytes())),
                short_message: Bytes::from_static(b"who is this?"),
                ..Default::default()
            }));
            if let Ok(answer) = conn.link.send(mo).await {
                let _ = answered.send(answer.command_status).await;
            }
            let mut incoming = conn.incoming;
            while incoming.recv().await.is_some() {}
        });
    };
    let addr = scripted_carrier(on_connection).await;
    addr
}

/// A reply to a number nobody owns, with no keyword and no conversation, goes to
/// `mo.default_account`; without one it is answered OK, dropped and counted unroutable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_nobody_claims_goes_to_the_default_account_or_is_counted_unroutable() {
    for default in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let (answered_tx, mut answered) = mpsc::channel(1);
        let carrier = replying_carrier("447700900123", "99999", answered_tx).await;
        let mo = if default {
            "[mo]\ndefault_account = \"demo\"\n"
        } else {
            ""
        };
        let text = one_carrier_config(dir.path(), &carrier, "numbers = [\"15550100\"]\n", "", mo);
        // The customer binds first, so that the reply finds it (or is queued for it).
        let d = daemon(dir.path(), &text).await;
        let (demo, mut demo_in) = customer(&d, "demo", BindKind::Transceiver);
        demo.wait_bound(Duration::from_secs(5)).await.unwrap();
        let status = tokio::time::timeout(Duration::from_secs(10), answered.recv())
            .await
            .expect("the reply was answered")
            .unwrap();
        assert_eq!(status, CommandStatus::OK, "default account: {default}");
        let (_, metrics) = get(&d, "/metrics").await;
        let reason = if default { "default" } else { "unroutable" };
        let line = format!("smpp_mo_total{{reason=\"{reason}\"}} 1");
        assert!(metrics.contains(&line), "{line} not in\n{metrics}");
        if default {
            assert_eq!(
                next_mo(&mut demo_in).await,
                (
                    Bytes::from_static(b"99999"),
                    Bytes::from_static(b"who is this?")
                )
            );
        } else {
            let nothing = tokio::time::timeout(Duration::from_millis(300), demo_in.recv()).await;
            assert!(nothing.is_err(), "an unroutable reply reached demo");
        }
        demo.shutdown().await;
        d.shutdown().await;
    }
}

/// Every carrier connection cut mid-load, without an unbind: the binds come back, and every
/// message the customer got an ack for still gets exactly its receipt, with our id. (What
/// was in flight when the connections went is retried or refused with an error status.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carrier_connections_cut_mid_load_lose_no_acked_messages_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let carrier = sim(SimConfig::default()).await;
    let relay = smpp_testkit::Relay::start("127.0.0.1:0".parse().unwrap(), carrier.local_addr())
        .await
        .unwrap();
    let text = one_carrier_config(
        dir.path(),
        &relay.addr().to_string(),
        "",
        "binds = 3\nreconnect_initial = \"50ms\"\nreconnect_max = \"500ms\"\n",
        "",
    );
    let d = daemon(dir.path(), &text).await;
    let mut cfg = BenchConfig::new(&d.smpp_addr.to_string(), "demo", "demo");
    cfg.sessions = 2;
    cfg.window = 50;
    cfg.count = Some(4000);
    cfg.rate = Some(2000.0);
    cfg.registered_delivery = true;
    cfg.receipt_wait = Duration::from_secs(15);
    let load = tokio::spawn(bench::run(cfg));
    // A quarter of the way in, every carrier connection goes at once.
    assert!(count_reaching(|| carrier.counts().accepted, 1000).await >= 1000);
    assert_eq!(relay.cut(), 3, "three binds were relayed");
    let report = tokio::time::timeout(Duration::from_secs(60), load)
        .await
        .expect("the bench finished")
        .unwrap()
        .unwrap();
    let r = report.receipts.clone().unwrap();
    assert!(report.ok >= 3000, "{report:#?}");
    assert_eq!(
        (r.matched, r.missing, r.duplicate, r.unmatched),
        (report.ok, 0, 0, 0),
        "{report:#?}"
    );
    // The binds came back through the relay.
    assert!(carrier.counts().binds >= 6, "{:?}", carrier.counts());
    d.shutdown().await;
}

/// A carrier that answers each submit and then, at once, sends its receipt: on one bind,
/// receipts reach the router in the order the messages were submitted. Counts the receipts
/// the router answered.
async fn prompt_carrier() -> (String, Arc<std::sync::atomic::AtomicU64>) {
    let next_id = Arc::new(std::sync::atomic::AtomicUsize::new(1));
    let answered = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = answered.clone();
    let on_connection = move |mut conn: smpp_tokio::Connection| {
        let (next_id, counted) = (next_id.clone(), counted.clone());
        tokio::spawn(async move {
            while let Some(inc) = conn.incoming.recv().await {
                let id = format!(
                    "p{}",
                    next_id.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                );
                let resp = smpp_pdu::MessageIdResp {
                    message_id: Bytes::from(id.clone()),
                    ..Default::default()
                };
                inc.responder
                    .respond(CommandStatus::OK, Body::SubmitSmResp(resp))
                    .await;
                let r = conn.link.send(carrier_receipt(&id)).await;
                assert_eq!(r.unwrap().command_status, CommandStatus::OK);
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
    };
    let addr = scripted_carrier(on_connection).await;
    (addr, answered)
}

/// Receipts kept for a customer that is away go out in the order they came when its
/// receiver binds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_kept_for_an_away_customer_go_out_in_the_order_they_came() {
    let dir = tempfile::tempdir().unwrap();
    let (carrier, receipts_answered) = prompt_carrier().await;
    let text = one_carrier_config(dir.path(), &carrier, "", "binds = 1\n", "");
    let d = daemon(dir.path(), &text).await;
    // A transmitter submits one message at a time; nobody can take receipts yet.
    let (tx, _) = customer(&d, "demo", BindKind::Transmitter);
    tx.wait_bound(Duration::from_secs(5)).await.unwrap();
    let mut acked = Vec::new();
    for i in 0..30 {
        let r = tx.send(submit(i, "ACME", true)).await.unwrap();
        let Body::SubmitSmResp(resp) = r.body else {
            panic!("{r:?}")
        };
        acked.push(resp.message_id);
    }
    // Every receipt is queued for demo (the router answers the carrier once it is) before
    // its receiver binds.
    let answered = || receipts_answered.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(count_reaching(answered, 30).await, 30);
    let (rx, mut receipts) = customer(&d, "demo", BindKind::Receiver);
    rx.wait_bound(Duration::from_secs(5)).await.unwrap();
    let mut order = Vec::new();
    for _ in 0..30 {
        let inc = tokio::time::timeout(Duration::from_secs(10), receipts.recv())
            .await
            .expect("a receipt in time")
            .unwrap();
        let Body::DeliverSm(d) = &inc.pdu.body else {
            panic!("{:?}", inc.pdu)
        };
        order.push(Bytes::copy_from_slice(
            smpp_router::receipts::read(d).unwrap().carrier_id,
        ));
        inc.responder.respond_status(CommandStatus::OK).await;
    }
    assert_eq!(order, acked);
    tx.shutdown().await;
    rx.shutdown().await;
    d.shutdown().await;
}

/// Message ids go on above the floor the last run kept in the data directory, so a restart
/// with the clock stepped back repeats none: here the floor says a day ahead, as if the
/// clock had been put back a day since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_after_a_restart_go_on_above_the_kept_floor() {
    use smpp_router::ids::{self, IdFormat, IdGenerator, MessageId};
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        sim(SimConfig::default()).await,
        sim(SimConfig::default()).await,
    );
    let text = config_text(dir.path(), &a, &b, "", SPLIT);
    let floor_path = dir.path().join("data").join(ids::FLOOR_FILE);
    let id_of = |ids: HashSet<Bytes>| {
        let id = ids.into_iter().next().unwrap();
        MessageId::parse(IdFormat::Hex, &id).unwrap()
    };
    let d = daemon(dir.path(), &text).await;
    let (esme, _) = customer(&d, "demo", BindKind::Transceiver);
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    let first = id_of(submit_n(&esme, 1, false).await);
    // The floor kept on disk is above the id just given.
    let kept = ids::load_floor(&floor_path).unwrap().unwrap();
    let covered = IdGenerator::new(0);
    covered.resume_above(kept);
    assert!(covered.next_at(first.time()).0 >> 10 > first.0 >> 10);
    esme.shutdown().await;
    d.shutdown().await;

    // A day's worth of ids were given after the clock read now.
    let day = Duration::from_secs(86_400);
    let future = IdGenerator::new(0).reserve(std::time::SystemTime::now() + day);
    ids::save_floor(&floor_path, future).unwrap();
    let d = daemon(dir.path(), &text).await;
    let (esme, _) = customer(&d, "demo", BindKind::Transceiver);
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    let after = id_of(submit_n(&esme, 1, false).await);
    assert!(after > first);
    assert!(
        after.time() >= std::time::SystemTime::now() + day,
        "{after:?} is not above the floor"
    );
    esme.shutdown().await;
    d.shutdown().await;
}
