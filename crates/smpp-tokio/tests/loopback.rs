//! Our ESME against our SMSC over real TCP on 127.0.0.1: bind, windowed submits, receipts
//! delivered back, refused binds, throttling with retry, reconnect after a drop, and a peer
//! that closes mid-window.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use smpp_pdu::{Body, CommandStatus, MessageIdResp, SubmitSm};
use smpp_session::{BindKind, CloseReason};
use smpp_tokio::*;
use tokio::net::TcpListener;

/// How long the test SMSC takes to check the bind of system_id "slow".
const SLOW_CHECK: Duration = Duration::from_secs(2);

/// How the test SMSC behaves.
#[derive(Clone, Default)]
struct Behaviour {
    /// Answer this many submits with ESME_RTHROTTLED first.
    throttle_first: Arc<AtomicU32>,
    /// Hold those answers until the last of them is due, then send them last first (an SMSC
    /// that answers out of order).
    throttle_in_reverse: bool,
    /// Never answer submits.
    silent: bool,
    /// Unbind the ESME after this many submits on a connection (0: never).
    unbind_after: usize,
    /// The destinations of the submits answered OK, in the order they came.
    accepted: Arc<std::sync::Mutex<Vec<Bytes>>>,
    /// How long each receipt (deliver_sm) took to be answered.
    receipt_answered_in: Arc<std::sync::Mutex<Vec<Duration>>>,
}

#[derive(Default)]
struct Counts {
    throttled: AtomicUsize,
    bound: AtomicUsize,
    reconnecting: AtomicUsize,
    rejected: AtomicUsize,
}

struct Watch(Arc<Counts>);

impl Observer for Watch {
    fn throttled(&self) {
        self.0.throttled.fetch_add(1, Ordering::SeqCst);
    }
    fn bound(&self) {
        self.0.bound.fetch_add(1, Ordering::SeqCst);
    }
    fn reconnecting(&self, _: Duration) {
        self.0.reconnecting.fetch_add(1, Ordering::SeqCst);
    }
    fn closed(&self, reason: CloseReason) {
        if matches!(reason, CloseReason::BindRejected(_)) {
            self.0.rejected.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Serves SMPP on a fresh port of 127.0.0.1 with `auth` and `on_connection`; its address.
async fn serving(
    config: SmscConfig,
    auth: Arc<Authenticate>,
    on_connection: impl Fn(Connection) + Send + Sync + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve(
        listener,
        config,
        auth,
        on_connection,
        Arc::new(NoObserver),
    ));
    addr
}

async fn smsc(behaviour: Behaviour) -> String {
    smsc_with(behaviour, SmscConfig::default()).await
}

async fn smsc_with(behaviour: Behaviour, config: SmscConfig) -> String {
    let auth: Arc<Authenticate> = Arc::new(|req: &BindRequest| {
        if &req.bind.system_id[..] == b"slow" {
            // A check as slow as a password hash can be made to be.
            std::thread::sleep(SLOW_CHECK);
            return Ok(b"TESTSMSC".to_vec());
        }
        if &req.bind.system_id[..] == b"esme" && &req.bind.password[..] == b"pw" {
            Ok(b"TESTSMSC".to_vec())
        } else {
            Err(CommandStatus::INVPASWD)
        }
    });
    let on_connection = move |mut conn: Connection| {
        let b = behaviour.clone();
        tokio::spawn(async move {
            let mut n = 0usize;
            let mut throttled = Vec::new();
            while let Some(inc) = conn.incoming.recv().await {
                let Body::SubmitSm(sm) = &inc.pdu.body else {
                    continue;
                };
                n += 1;
                if b.unbind_after > 0 && n > b.unbind_after {
                    // Refuse this one and unbind: the ESME must come back on its own.
                    inc.responder.respond_status(CommandStatus::SYSERR).await;
                    conn.link.unbind().await;
                    return;
                }
                if b.silent {
                    std::mem::forget(inc.responder);
                    continue;
                }
                if let Ok(left) =
                    b.throttle_first
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
                {
                    throttled.push(inc.responder);
                    if !b.throttle_in_reverse || left == 1 {
                        while let Some(r) = throttled.pop() {
                            r.respond_status(CommandStatus::THROTTLED).await;
                        }
                    }
                    continue;
                }
                b.accepted.lock().unwrap().push(sm.dest.addr.clone());
                let id = Bytes::from(format!("m{n}"));
                let wants = sm.registered_delivery.wants_receipt();
                let dest = sm.dest.clone();
                inc.responder
                    .respond(
                        CommandStatus::OK,
                        Body::SubmitSmResp(MessageIdResp {
                            message_id: id.clone(),
                            ..Default::default()
                        }),
                    )
                    .await;
                if wants {
                    let link = conn.link.clone();
                    let answered_in = b.receipt_answered_in.clone();
                    tokio::spawn(async move {
                        let text = format!("id:{} sub:001 dlvrd:001 submit date:2301011200 done date:2301011201 stat:DELIVRD err:000 text:", String::from_utf8_lossy(&id));
                        let receipt = Body::DeliverSm(Box::new(SubmitSm {
                            source: dest,
                            esm_class: smpp_pdu::EsmClass(0x04),
                            short_message: Bytes::from(text),
                            ..Default::default()
                        }));
                        let sent = std::time::Instant::now();
                        if link.send(receipt).await.is_ok() {
                            answered_in.lock().unwrap().push(sent.elapsed());
                        }
                    });
                }
            }
        });
    };
    serving(config, auth, on_connection).await
}

fn submit(i: u32, receipt: bool) -> Body {
    Body::SubmitSm(Box::new(SubmitSm {
        dest: smpp_pdu::Address::new(
            smpp_pdu::Ton(1),
            smpp_pdu::Npi(1),
            Bytes::from(format!("1555{i:07}")),
        ),
        registered_delivery: smpp_pdu::RegisteredDelivery(u8::from(receipt)),
        short_message: Bytes::from_static(b"hello"),
        ..Default::default()
    }))
}

fn esme_config(addr: &str) -> EsmeConfig {
    let mut c = EsmeConfig::new(addr, "esme", "pw");
    c.session.window = 10;
    c.backoff = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
    };
    c
}

#[tokio::test]
async fn submits_with_a_window_and_receipts_come_back() {
    let addr = smsc(Behaviour::default()).await;
    let (esme, mut deliveries) = Esme::start(esme_config(&addr), Arc::new(NoObserver));
    let info = esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    assert_eq!(info.kind, BindKind::Transceiver);
    assert_eq!(&info.system_id[..], b"TESTSMSC");

    let link = esme.link().clone();
    let mut tasks = Vec::new();
    for i in 0..500 {
        let link = link.clone();
        tasks.push(tokio::spawn(
            async move { link.send(submit(i, true)).await },
        ));
    }
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let resp = t.await.unwrap().unwrap();
        assert_eq!(resp.command_status, CommandStatus::OK);
        let Body::SubmitSmResp(r) = resp.body else {
            panic!()
        };
        ids.insert(r.message_id);
    }
    assert_eq!(ids.len(), 500);
    // Every receipt arrives, answered by us.
    let mut receipts = 0;
    while receipts < 500 {
        let inc = tokio::time::timeout(Duration::from_secs(5), deliveries.recv())
            .await
            .expect("receipt in time")
            .unwrap();
        let Body::DeliverSm(d) = &inc.pdu.body else {
            panic!()
        };
        assert!(d.esm_class.is_receipt());
        inc.responder
            .respond(
                CommandStatus::OK,
                Body::DeliverSmResp(MessageIdResp::default()),
            )
            .await;
        receipts += 1;
    }
    esme.shutdown().await;
}

/// On one thread (a current-thread runtime: the SMSC and both ESMEs), a bind whose check takes
/// seconds does not hold up the traffic of a connection that is bound already.
#[tokio::test]
async fn a_slow_bind_check_does_not_stall_other_connections() {
    let addr = smsc(Behaviour::default()).await;
    let (esme, _rx) = Esme::start(esme_config(&addr), Arc::new(NoObserver));
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    let mut slow_cfg = esme_config(&addr);
    slow_cfg.system_id = "slow".into();
    let (slow, _slow_rx) = Esme::start(slow_cfg, Arc::new(NoObserver));
    // Submits one at a time while its bind is sent and checked: none waits for the check.
    let mut slowest = Duration::ZERO;
    for i in 0..40 {
        let started = std::time::Instant::now();
        let resp = esme.send(submit(i, false)).await.unwrap();
        assert_eq!(resp.command_status, CommandStatus::OK);
        slowest = slowest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        slowest < SLOW_CHECK / 2,
        "a submit waited {slowest:?} for another connection's bind check"
    );
    assert!(slow.bound().is_none(), "still being checked");
    let info = slow.wait_bound(SLOW_CHECK * 3).await.unwrap();
    assert_eq!(&info.system_id[..], b"TESTSMSC");
    slow.shutdown().await;
    esme.shutdown().await;
}

/// Bind checks run side by side up to `max_bind_checks` over all connections, and never more:
/// each may hold a memory-hard hash's memory, so a burst of binds must not multiply it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_checks_at_once_are_bounded_over_all_connections() {
    const BINDS: usize = 6;
    let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (r, m) = (running.clone(), most.clone());
    let auth: Arc<Authenticate> = Arc::new(move |_: &BindRequest| {
        m.fetch_max(r.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
        // Each check lasts until more than two have run at once, or half a second: unbounded,
        // the burst below would take them all at once.
        let until = std::time::Instant::now() + Duration::from_millis(500);
        while m.load(Ordering::SeqCst) <= 2 && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        r.fetch_sub(1, Ordering::SeqCst);
        Ok(b"TESTSMSC".to_vec())
    });
    let on_connection = |mut conn: Connection| {
        tokio::spawn(async move { while conn.incoming.recv().await.is_some() {} });
    };
    let config = SmscConfig {
        max_bind_checks: 2,
        ..SmscConfig::default()
    };
    let addr = serving(config, auth, on_connection).await;
    let esmes: Vec<_> = (0..BINDS)
        .map(|_| Esme::start(esme_config(&addr), Arc::new(NoObserver)))
        .collect();
    for (esme, _) in &esmes {
        esme.wait_bound(Duration::from_secs(10)).await.unwrap();
    }
    assert_eq!(most.load(Ordering::SeqCst), 2, "checks at once");
    for (esme, _) in esmes {
        esme.shutdown().await;
    }
}

/// A peer that accepts the bind and drops it at once is backed off like a refusal: the delays
/// double (50, 100, 200, 400 ms… give at most six binds in 1.5 s) instead of rebinding at the
/// first delay for ever (about thirty).
#[tokio::test]
async fn a_bind_dropped_at_once_backs_off() {
    let binds = Arc::new(AtomicUsize::new(0));
    let counted = binds.clone();
    let auth: Arc<Authenticate> = Arc::new(move |_: &BindRequest| {
        counted.fetch_add(1, Ordering::SeqCst);
        Ok(b"TESTSMSC".to_vec())
    });
    let on_connection = |mut conn: Connection| {
        tokio::spawn(async move {
            if conn.bound.wait_for(Option::is_some).await.is_ok() {
                conn.link.unbind().await;
            }
            while conn.incoming.recv().await.is_some() {}
        });
    };
    let addr = serving(SmscConfig::default(), auth, on_connection).await;
    let mut cfg = esme_config(&addr);
    cfg.backoff = Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_secs(2),
    };
    let (esme, _rx) = Esme::start(cfg, Arc::new(NoObserver));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    esme.shutdown().await;
    let n = binds.load(Ordering::SeqCst);
    assert!((2..=6).contains(&n), "{n} binds in 1.5 s");
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_backs_off() {
    let addr = smsc(Behaviour::default()).await;
    let counts = Arc::new(Counts::default());
    let mut cfg = esme_config(&addr);
    cfg.password = "wrong".into();
    let (esme, _rx) = Esme::start(cfg, Arc::new(Watch(counts.clone())));
    assert!(esme.wait_bound(Duration::from_millis(500)).await.is_err());
    assert!(counts.rejected.load(Ordering::SeqCst) >= 1);
    assert_eq!(counts.bound.load(Ordering::SeqCst), 0);
    // While not bound, requests fail at once.
    let started = std::time::Instant::now();
    assert!(matches!(
        esme.send(submit(1, false)).await,
        Err(Error::NotConnected)
    ));
    assert!(started.elapsed() < Duration::from_secs(1));
    esme.shutdown().await;
}

#[tokio::test]
async fn throttled_requests_pause_and_retry() {
    let behaviour = Behaviour {
        throttle_first: Arc::new(AtomicU32::new(3)),
        ..Default::default()
    };
    let addr = smsc(behaviour).await;
    let counts = Arc::new(Counts::default());
    let mut cfg = esme_config(&addr);
    cfg.driver.throttle_pause = Duration::from_millis(50);
    let (esme, _rx) = Esme::start(cfg, Arc::new(Watch(counts.clone())));
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    for i in 0..5 {
        let r = esme.send(submit(i, false)).await.unwrap();
        assert_eq!(r.command_status, CommandStatus::OK);
    }
    assert_eq!(counts.throttled.load(Ordering::SeqCst), 3);
    esme.shutdown().await;
}

/// Waits for each answer (10 s at most) and checks that it is ESME_ROK.
async fn all_answered_ok(
    pending: Vec<impl std::future::Future<Output = Result<smpp_pdu::Pdu, Error>>>,
) {
    for p in pending {
        let answer = tokio::time::timeout(Duration::from_secs(10), p).await;
        let pdu = answer.expect("answered").unwrap();
        assert_eq!(pdu.command_status, CommandStatus::OK);
    }
}

/// Sends five requests in a row to an SMSC that throttles the first three, and returns the
/// order in which it then accepted all five.
async fn order_accepted_after_throttling(
    in_reverse: bool,
    pause: Duration,
    enquire_link: Option<Duration>,
) -> Vec<u32> {
    let behaviour = Behaviour {
        throttle_first: Arc::new(AtomicU32::new(3)),
        throttle_in_reverse: in_reverse,
        ..Default::default()
    };
    let accepted = behaviour.accepted.clone();
    let addr = smsc(behaviour).await;
    let mut cfg = esme_config(&addr);
    cfg.driver.throttle_pause = pause;
    if let Some(interval) = enquire_link {
        cfg.session.enquire_link_interval = interval;
    }
    let (esme, _rx) = Esme::start(cfg, Arc::new(NoObserver));
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    let link = esme.link().clone();
    let pending: Vec<_> = (0..5)
        .map(|i| link.try_send(submit(i, false)).unwrap())
        .collect();
    all_answered_ok(pending).await;
    esme.shutdown().await;
    let order = accepted.lock().unwrap().clone();
    order
        .iter()
        .map(|d| std::str::from_utf8(&d[4..]).unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn throttled_requests_are_sent_again_in_their_original_order() {
    // Keepalives every 10 ms wake the connection during the 200 ms pause: each wake-up tries
    // the throttled requests again and finds the pause still on.
    let order = order_accepted_after_throttling(
        false,
        Duration::from_millis(200),
        Some(Duration::from_millis(10)),
    )
    .await;
    // The last two go through at once; the throttled three come back after the pause in the
    // order they were first sent (the parts of a long message must not be swapped).
    assert_eq!(order, [3, 4, 0, 1, 2]);
}

#[tokio::test]
async fn throttled_requests_keep_their_order_when_the_peer_answers_out_of_order() {
    // The throttling answers come 2, 1, 0.
    let order = order_accepted_after_throttling(true, Duration::from_millis(100), None).await;
    // Resent in the order they were first sent, not the order the throttling answers came.
    assert_eq!(order, [3, 4, 0, 1, 2]);
}

#[tokio::test]
async fn answers_do_not_wait_behind_requests_held_by_a_tps_limit() {
    let behaviour = Behaviour::default();
    let answered_in = behaviour.receipt_answered_in.clone();
    let addr = smsc(behaviour).await;
    let mut cfg = esme_config(&addr);
    // One request a second: the four after the first wait about four seconds in all.
    cfg.driver.tps = Some(1);
    let (esme, mut deliveries) = Esme::start(cfg, Arc::new(NoObserver));
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    let link = esme.link().clone();
    let pending: Vec<_> = (0..5)
        .map(|i| link.try_send(submit(i, i == 0)).unwrap())
        .collect();
    // The first one's receipt comes while the other four wait; it is answered at once.
    let receipt = tokio::time::timeout(Duration::from_secs(10), deliveries.recv())
        .await
        .expect("a receipt")
        .expect("the link is up");
    receipt.responder.respond_status(CommandStatus::OK).await;
    let waiting = std::time::Instant::now() + Duration::from_secs(10);
    let took = loop {
        if let Some(d) = answered_in.lock().unwrap().first() {
            break *d;
        }
        assert!(
            std::time::Instant::now() < waiting,
            "the receipt was never answered"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(
        took < Duration::from_millis(1500),
        "the answer waited {took:?}"
    );
    all_answered_ok(pending).await;
    esme.shutdown().await;
}

/// CPU time of the calling thread so far, in clock ticks (Linux).
fn thread_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[tokio::test]
async fn a_pause_after_throttling_under_a_tps_limit_does_not_spin() {
    let addr = smsc(Behaviour {
        throttle_first: Arc::new(AtomicU32::new(1)),
        ..Default::default()
    })
    .await;
    let counts = Arc::new(Counts::default());
    let mut cfg = esme_config(&addr);
    cfg.driver.tps = Some(10);
    cfg.driver.throttle_pause = Duration::from_secs(1);
    let (esme, _rx) = Esme::start(cfg, Arc::new(Watch(counts.clone())));
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    let link = esme.link().clone();
    // The first goes out and is throttled; the second waits for TPS room (100 ms), which comes
    // during the one-second pause.
    let pending: Vec<_> = (0..2)
        .map(|i| link.try_send(submit(i, false)).unwrap())
        .collect();
    let waiting = std::time::Instant::now() + Duration::from_secs(5);
    while counts.throttled.load(Ordering::SeqCst) == 0 {
        assert!(std::time::Instant::now() < waiting, "never throttled");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The connection runs on this test's thread: waiting out the pause costs it next to no CPU
    // (a loop woken over and over by the TPS time that has passed would spend all of it).
    let before = thread_cpu_ticks();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let spent = thread_cpu_ticks() - before;
    assert!(
        spent < 20,
        "{spent} ticks of CPU while the connection waited"
    );
    all_answered_ok(pending).await;
    esme.shutdown().await;
}

#[tokio::test]
async fn reconnects_and_rebinds_after_the_peer_unbinds() {
    let addr = smsc(Behaviour {
        unbind_after: 3,
        ..Default::default()
    })
    .await;
    let counts = Arc::new(Counts::default());
    let (esme, _rx) = Esme::start(esme_config(&addr), Arc::new(Watch(counts.clone())));
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    for i in 0..3 {
        assert_eq!(
            esme.send(submit(i, false)).await.unwrap().command_status,
            CommandStatus::OK
        );
    }
    let r = esme.send(submit(4, false)).await.unwrap();
    assert_eq!(r.command_status, CommandStatus::SYSERR);
    // Unbound by the peer, the ESME reconnects and binds again by itself.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while counts.bound.load(Ordering::SeqCst) < 2 {
        assert!(std::time::Instant::now() < deadline, "never re-bound");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        esme.send(submit(5, false)).await.unwrap().command_status,
        CommandStatus::OK
    );
    assert!(counts.reconnecting.load(Ordering::SeqCst) >= 1);
    esme.shutdown().await;
}

#[tokio::test]
async fn a_silent_peer_fills_the_window_and_times_out() {
    let addr = smsc(Behaviour {
        silent: true,
        ..Default::default()
    })
    .await;
    let mut cfg = esme_config(&addr);
    cfg.session.window = 4;
    cfg.session.response_timeout = Duration::from_millis(300);
    let (esme, _rx) = Esme::start(cfg, Arc::new(NoObserver));
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    let link = esme.link().clone();
    let pending: Vec<_> = (0..4)
        .map(|i| link.try_send(submit(i, false)).unwrap())
        .collect();
    assert!(matches!(link.try_send(submit(9, false)), Err(Error::Full)));
    for p in pending {
        assert!(matches!(p.await, Err(Error::Timeout)));
    }
    // The window has room again.
    assert!(link.try_send(submit(10, false)).is_ok());
    esme.shutdown().await;
}

#[tokio::test]
async fn a_closed_connection_fails_every_outstanding_request_promptly() {
    // A raw server that binds, swallows submits and closes after three.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = bytes::BytesMut::new();
        let mut submits = 0;
        loop {
            if sock.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                return;
            }
            while let Ok(Some(f)) = smpp_pdu::frame::split_frame(&mut buf, 65536) {
                let pdu = smpp_pdu::Pdu::decode(f, &Default::default()).unwrap();
                if pdu.command_id() == smpp_pdu::CommandId::BIND_TRANSCEIVER {
                    let mut out = bytes::BytesMut::new();
                    Body::BindTransceiverResp(smpp_pdu::BindResp::<&[u8]>::default())
                        .encode(pdu.sequence_number, CommandStatus::OK, &mut out)
                        .unwrap();
                    sock.write_all(&out).await.unwrap();
                } else {
                    submits += 1;
                    if submits == 3 {
                        return; // drops the socket with three requests outstanding
                    }
                }
            }
        }
    });
    let mut cfg = esme_config(&addr);
    cfg.session.response_timeout = Duration::from_secs(30);
    let (esme, _rx) = Esme::start(cfg, Arc::new(NoObserver));
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    let started = std::time::Instant::now();
    let link = esme.link().clone();
    let sends = (1..=3).map(|i| {
        let link = link.clone();
        async move { link.send(submit(i, false)).await }
    });
    let results = futures_join(sends.collect()).await;
    for r in results {
        assert!(matches!(r, Err(Error::ConnectionLost(_))), "{r:?}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "failed promptly, not at timeout"
    );
    esme.shutdown().await;
}

/// Awaits all futures concurrently (a tiny join_all).
async fn futures_join<F>(fs: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = fs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// A carrier that takes no transceiver: submits come on the transmitter bind, and their
/// receipts go out on the receiver bind of the same system_id.
#[tokio::test]
async fn a_split_transmitter_and_receiver_pair() {
    let auth: Arc<Authenticate> = Arc::new(|req: &BindRequest| match req.kind {
        BindKind::Transceiver => Err(CommandStatus::INVCMDID),
        _ => Ok(b"SPLIT".to_vec()),
    });
    // The receiver's link, once it binds; and what kinds bound.
    let (rx_link_tx, rx_link) = tokio::sync::watch::channel::<Option<Link>>(None);
    let kinds = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen_kinds = kinds.clone();
    let on_connection = move |mut conn: Connection| {
        let rx_link_tx = rx_link_tx.clone();
        let mut rx_link = rx_link.clone();
        let kinds = seen_kinds.clone();
        tokio::spawn(async move {
            let info = conn
                .bound
                .wait_for(Option::is_some)
                .await
                .unwrap()
                .clone()
                .unwrap();
            kinds.lock().unwrap().push(info.kind);
            if info.kind == BindKind::Receiver {
                rx_link_tx.send_replace(Some(conn.link.clone()));
            }
            let mut n = 0;
            while let Some(inc) = conn.incoming.recv().await {
                let Body::SubmitSm(_) = &inc.pdu.body else {
                    continue;
                };
                n += 1;
                let id = format!("s{n}");
                inc.responder
                    .respond(
                        CommandStatus::OK,
                        Body::SubmitSmResp(MessageIdResp {
                            message_id: Bytes::from(id.clone()),
                            ..Default::default()
                        }),
                    )
                    .await;
                let link = rx_link
                    .wait_for(Option::is_some)
                    .await
                    .unwrap()
                    .clone()
                    .unwrap();
                let text = format!("id:{id} sub:001 dlvrd:001 submit date:2301011200 done date:2301011201 stat:DELIVRD err:000 text:");
                tokio::spawn(async move {
                    let receipt = Body::DeliverSm(Box::new(SubmitSm {
                        esm_class: smpp_pdu::EsmClass(0x04),
                        short_message: Bytes::from(text),
                        ..Default::default()
                    }));
                    link.send(receipt).await.unwrap();
                });
            }
        });
    };
    let addr = serving(SmscConfig::default(), auth, on_connection).await;

    let (tx, rx, mut deliveries) = Esme::start_split(esme_config(&addr), Arc::new(NoObserver));
    assert_eq!(
        tx.wait_bound(Duration::from_secs(5)).await.unwrap().kind,
        BindKind::Transmitter
    );
    assert_eq!(
        rx.wait_bound(Duration::from_secs(5)).await.unwrap().kind,
        BindKind::Receiver
    );
    // A receiver cannot submit: refused here, before it reaches the wire.
    let refused = rx.send(submit(0, false)).await.unwrap_err();
    assert!(matches!(refused, Error::Session(_)), "{refused:?}");

    let mut ids = std::collections::HashSet::new();
    for i in 0..20 {
        let resp = tx.send(submit(i, true)).await.unwrap();
        let Body::SubmitSmResp(r) = resp.body else {
            panic!("{resp:?}")
        };
        ids.insert(String::from_utf8(r.message_id.to_vec()).unwrap());
    }
    for _ in 0..20 {
        let inc = tokio::time::timeout(Duration::from_secs(5), deliveries.recv())
            .await
            .unwrap()
            .unwrap();
        let Body::DeliverSm(d) = &inc.pdu.body else {
            panic!()
        };
        let r = smpp_pdu::receipt::Receipt::parse(&d.short_message).unwrap();
        assert!(ids.remove(std::str::from_utf8(r.id.unwrap()).unwrap()));
        inc.responder
            .respond(
                CommandStatus::OK,
                Body::DeliverSmResp(MessageIdResp::default()),
            )
            .await;
    }
    assert!(ids.is_empty());
    let mut kinds = kinds.lock().unwrap().clone();
    kinds.sort_by_key(|k| format!("{k:?}"));
    assert_eq!(kinds, vec![BindKind::Receiver, BindKind::Transmitter]);
    tx.shutdown().await;
    rx.shutdown().await;
}

/// Many requests in flight throttled while others wait for TPS room: every one is paused,
/// resent in order, and answered — none is lost while another waits its turn.
#[tokio::test]
async fn a_burst_of_throttled_requests_all_complete() {
    let behaviour = Behaviour {
        throttle_first: Arc::new(AtomicU32::new(15)),
        ..Default::default()
    };
    let addr = smsc(behaviour).await;
    let counts = Arc::new(Counts::default());
    let mut cfg = esme_config(&addr);
    cfg.driver.throttle_pause = Duration::from_millis(20);
    cfg.driver.max_throttle_retries = 20;
    // A request waiting for TPS room holds the staged slot when throttled ones come back.
    cfg.driver.tps = Some(100);
    let (esme, _rx) = Esme::start(cfg, Arc::new(Watch(counts.clone())));
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let link = esme.link().clone();
            tokio::spawn(async move { link.send(submit(i, false)).await })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap().unwrap();
        assert_eq!(r.command_status, CommandStatus::OK);
    }
    assert_eq!(counts.throttled.load(Ordering::SeqCst), 15);
    esme.shutdown().await;
}

/// An answer to a deliver_sm of a connection that has since dropped must not go out on the
/// next connection, where the same sequence number names another deliver_sm.
#[tokio::test]
async fn a_late_answer_never_reaches_the_next_connection() {
    let auth: Arc<Authenticate> = Arc::new(|_: &BindRequest| Ok(b"SMSC".to_vec()));
    let connections = Arc::new(AtomicUsize::new(0));
    // The outcome of the second connection's deliver_sm.
    let (second_tx, second_rx) = tokio::sync::oneshot::channel();
    let second_tx = Arc::new(std::sync::Mutex::new(Some(second_tx)));
    let on_connection = move |mut conn: Connection| {
        let n = connections.fetch_add(1, Ordering::SeqCst);
        let second_tx = second_tx.clone();
        tokio::spawn(async move {
            conn.bound.wait_for(Option::is_some).await.unwrap();
            let deliver = Body::DeliverSm(Box::new(SubmitSm {
                short_message: Bytes::from(format!("mo {n}")),
                ..Default::default()
            }));
            let link = conn.link.clone();
            let sent = tokio::spawn(async move { link.send(deliver).await });
            if n == 0 {
                // Let the ESME take the request, then drop the connection.
                tokio::time::sleep(Duration::from_millis(100)).await;
                conn.link.unbind().await;
            } else {
                let outcome = sent.await.unwrap();
                let tx = second_tx.lock().unwrap().take();
                if let Some(tx) = tx {
                    let _ = tx.send(outcome);
                }
            }
            while conn.incoming.recv().await.is_some() {}
        });
    };
    let addr = serving(SmscConfig::default(), auth, on_connection).await;

    // The first deliver_sm is left unanswered, so the ESME answers the unbind only when its
    // unbind timeout ends (it waits for its own answers first).
    let mut cfg = esme_config(&addr);
    cfg.session.unbind_timeout = Duration::from_millis(200);
    let (esme, mut deliveries) = Esme::start(cfg, Arc::new(NoObserver));
    let first = tokio::time::timeout(Duration::from_secs(5), deliveries.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&first.pdu.body_short_message()[..], b"mo 0");
    let second = tokio::time::timeout(Duration::from_secs(5), deliveries.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&second.pdu.body_short_message()[..], b"mo 1");
    assert_eq!(first.pdu.sequence_number, second.pdu.sequence_number);

    // The stale answer goes nowhere: the second deliver_sm is still waiting.
    first.responder.respond_status(CommandStatus::OK).await;
    let mut second_rx = second_rx;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut second_rx)
            .await
            .is_err(),
        "the first connection's answer completed the second connection's request"
    );
    second.responder.respond_status(CommandStatus::SYSERR).await;
    let outcome = tokio::time::timeout(Duration::from_secs(5), second_rx)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(outcome.command_status, CommandStatus::SYSERR);
    esme.shutdown().await;
}

trait ShortMessage {
    fn body_short_message(&self) -> Bytes;
}

impl ShortMessage for smpp_pdu::Pdu {
    fn body_short_message(&self) -> Bytes {
        match &self.body {
            Body::DeliverSm(d) => d.short_message.clone(),
            other => panic!("not a deliver_sm: {other:?}"),
        }
    }
}
