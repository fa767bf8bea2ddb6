//! Consent end to end, over TCP on 127.0.0.1 (customer → in-process router → smpp-sim):
//! STOP/START/HELP, suppression lists, quiet hours (held and released on a clock the test
//! moves, across a restart), frequency caps, and the per-route and per-TLV settings.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use smpp_pdu::{
    Address, Body, CommandStatus, MessageState, Npi, Pdu, RegisteredDelivery, SubmitSm, TlvTag,
    TlvsBuilder, Ton,
};
use smpp_router::clock::Clock;
use smpp_session::BindKind;
use smpp_tokio::Incoming;
use smpp_tools::sim::{SimConfig, SimHandle};
use tokio::sync::mpsc;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suppression_lists_are_imported_at_start_and_managed_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        sim(SimConfig::default()).await,
        sim(SimConfig::default()).await,
    );
    std::fs::write(
        dir.path().join("dnc.csv"),
        "number,source\n+15550001,carrier\nbogus,x\n15550002\n",
    )
    .unwrap();
    let text = format!(
        "{}\n[[suppression_imports]]\nfile = \"dnc.csv\"\nscope = \"global\"\n",
        config_text(dir.path(), &a, &b, "", SPLIT)
    );
    let d = daemon(dir.path(), &text).await;
    let numbers = |body: &str| {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        let mut n: Vec<String> = v["numbers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect();
        n.sort();
        n
    };
    let (code, body) = request(&d, "GET", "/v1/suppressions?scope=global", "").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(numbers(&body), ["15550001", "15550002"]);

    // An upload: good rows added, bad rows reported by line.
    let (code, body) = request(
        &d,
        "POST",
        "/v1/suppressions?scope=account:demo",
        "15550003\n12x\n+15550004\n",
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["added"], 2);
    assert_eq!(v["bad_rows"][0]["line"], 2);
    let (code, _) = request(
        &d,
        "DELETE",
        "/v1/suppressions?scope=account:demo&number=15550003",
        "",
    )
    .await;
    assert_eq!(code, 200);
    let (code, body) = request(&d, "GET", "/v1/suppressions?scope=account:ghost", "").await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("ghost"));
    d.shutdown().await;

    // The list outlives the process.
    let d = daemon(dir.path(), &text).await;
    let (_, body) = request(&d, "GET", "/v1/suppressions?scope=account:demo", "").await;
    assert_eq!(numbers(&body), ["15550004"]);
    assert!(d.consent().blocks(
        smpp_router::consent::account_scope("demo"),
        b"ACME",
        b"15550004"
    ));
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_is_honoured_help_is_answered_and_the_reply_still_reaches_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let chatty = |text: &str| replying(text, 5.0);
    // Carrier a: the person replies STOP; carrier b: they reply HELP.
    let (a, b) = (sim(chatty("stop")).await, sim(chatty("HELP")).await);
    let routes = "[[routes]]\nsources = [\"15550100\"]\nconnector = \"a\"\n\
                  [[routes]]\nsources = [\"12345\", \"15550199\"]\nconnector = \"b\"\n";
    let d = daemon(dir.path(), &config_text(dir.path(), &a, &b, "", routes)).await;
    let (demo, mut demo_in) = customer(&d, "demo", BindKind::Transceiver);
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();

    // Text 1555…0001 from 15550100; they answer STOP. The account still gets the reply.
    let status = |r: Result<smpp_pdu::Pdu, smpp_tokio::Error>| r.unwrap().command_status;
    assert_eq!(
        status(demo.send(submit(1, "15550100", false)).await),
        CommandStatus::OK
    );
    let (to, text) = next_mo(&mut demo_in).await;
    assert_eq!((&to[..], &text[..]), (&b"15550100"[..], &b"stop"[..]));
    // The person got the confirmation (a second submit reached carrier a) …
    for _ in 0..200 {
        if a.counts().accepted >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let confirmed = a.counts().accepted;
    assert!(confirmed >= 2, "no confirmation was sent");
    // … and is not texted again from that number: refused, never reaching the carrier.
    assert_eq!(
        status(demo.send(submit(1, "15550100", false)).await),
        CommandStatus::X_R_APPN
    );
    // Nor when the number is written another way the lists cannot be checked against.
    let Body::SubmitSm(mut dashed) = submit(1, "15550100", false) else {
        unreachable!()
    };
    dashed.dest.addr = Bytes::from_static(b"1-555-000-0001");
    assert_eq!(
        status(demo.send(Body::SubmitSm(dashed)).await),
        CommandStatus::INVDSTADR
    );
    // From another number of the account they may be texted (opt-out per sender by default).
    assert_eq!(
        status(demo.send(submit(1, "15550199", false)).await),
        CommandStatus::OK
    );

    // HELP from someone texted from 12345 is answered with the help text.
    assert_eq!(
        status(demo.send(submit(2, "12345", false)).await),
        CommandStatus::OK
    );
    for _ in 0..300 {
        let (_, text) = next_mo(&mut demo_in).await;
        if &text[..] == b"HELP" {
            break;
        }
    }
    // Read before the metrics: every submit that reached carrier a after the first text was
    // the confirmation of a STOP counted before it was sent (the simulated person answers
    // each confirmation with another STOP, so there are several).
    let reached_a = a.counts().accepted;
    let metrics = get(&d, "/metrics").await.1;
    let stops = metric_value(
        &metrics,
        "smpp_consent_total{account=\"demo\",kind=\"opt_out\"}",
    );
    assert!(stops.is_some_and(|n| n >= 1.0), "{metrics}");
    // Counted once the reply is queued, which may be just after the account got it.
    assert!(
        metric_at_least(
            &d,
            "smpp_consent_total{account=\"demo\",kind=\"help\"}",
            1.0
        )
        .await
    );
    assert!(metrics.contains("smpp_refused_total{account=\"demo\",reason=\"opted_out\"} 1"));
    assert!(
        stops.is_some_and(|n| reached_a as f64 <= 1.0 + n),
        "nothing but confirmations reached carrier a for that person: {reached_a} submits, {stops:?} STOPs"
    );
    demo.shutdown().await;
    d.shutdown().await;
}

/// A STOP whose reply the account's full queue cannot take is refused to the carrier (which
/// sends it again) and the person is confirmed only for the one that was queued: never once
/// per try.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_is_confirmed_once_even_while_the_accounts_queue_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let stops = replying("stop", 5.0);
    let (a, b) = (sim(stops).await, sim(SimConfig::default()).await);
    let routes = "[[routes]]\nsources = [\"15550100\"]\nconnector = \"a\"\n\
                  [[routes]]\nconnector = \"b\"\n";
    let text = config_text(dir.path(), &a, &b, "pending_max = 1", routes);
    let d = daemon(dir.path(), &text).await;
    // A transmitter only: the replies wait in the account's queue, which holds one.
    let (demo, _) = customer(&d, "demo", BindKind::Transmitter);
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();
    message_id(demo.send(submit(1, "15550100", false)).await);
    for _ in 0..500 {
        if a.counts().mo_refused >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let counts = a.counts();
    assert!(
        counts.mo_refused >= 3,
        "the full queue refused replies: {counts}"
    );
    // Room for any confirmation of those to reach the carrier.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counts = a.counts();
    assert_eq!(
        counts.accepted, 2,
        "the account's message and one confirmation: {counts}"
    );
    assert!(
        metric(
            &d,
            "smpp_consent_total{account=\"demo\",kind=\"opt_out\"} 1"
        )
        .await
    );
    demo.shutdown().await;
    d.shutdown().await;
}

/// Someone (or their auto-responder) who answers every text with STOP is opted out at the
/// first and confirmed once: the confirmation, answered with STOP again, is not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_responder_answering_stop_is_confirmed_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = sim(replying("STOP", 20.0)).await;
    let b = sim(SimConfig::default()).await;
    let routes = "[[routes]]\nconnector = \"a\"\n";
    let d = daemon(dir.path(), &config_text(dir.path(), &a, &b, "", routes)).await;
    let (demo, mut demo_in) = customer(&d, "demo", BindKind::Transceiver);
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();
    message_id(demo.send(submit(1, "15550100", false)).await);
    // Every STOP reaches the account and is counted.
    for _ in 0..6 {
        let (_, text) = next_mo(&mut demo_in).await;
        assert_eq!(&text[..], b"STOP");
    }
    assert!(
        metric_at_least(
            &d,
            "smpp_consent_total{account=\"demo\",kind=\"opt_out\"}",
            5.0
        )
        .await
    );
    // The first confirmation reaches the carrier; then room for any other to follow.
    for _ in 0..500 {
        if a.counts().accepted >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let counts = a.counts();
    assert_eq!(
        counts.accepted, 2,
        "the account's message and one confirmation: {counts}"
    );
    demo.shutdown().await;
    d.shutdown().await;
}

/// A STOP no account can be found for (here: the conversation it answers has expired, and
/// there is no default account) is still honoured: the number it went to texts them no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_that_no_account_is_found_for_is_still_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let routes = "[[routes]]\nconnector = \"a\"\n\n[mo]\nconversation_window = \"1ms\"\n";
    let a = sim(replying("STOP", 20.0)).await;
    let b = sim(SimConfig::default()).await;
    let d = daemon(dir.path(), &config_text(dir.path(), &a, &b, "", routes)).await;
    let (demo, _) = customer(&d, "demo", BindKind::Transceiver);
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();
    let person: &[u8] = b"15550000001";
    let blocked = || {
        d.consent()
            .blocks(smpp_router::consent::account_scope("other"), b"777", person)
    };
    assert_eq!(
        status(demo.send(submit(1, "777", false)).await),
        CommandStatus::OK
    );
    for _ in 0..500 {
        if blocked() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(blocked(), "opted out of 777, for every account");
    assert!(metric_at_least(&d, "smpp_mo_total{reason=\"unroutable\"}", 1.0).await);
    assert!(
        metric_at_least(
            &d,
            "smpp_consent_total{account=\"none\",kind=\"opt_out\"}",
            1.0
        )
        .await
    );
    assert_eq!(
        status(demo.send(submit(1, "777", false)).await),
        CommandStatus::X_R_APPN
    );
    demo.shutdown().await;
    d.shutdown().await;
}

/// A carrier whose people answer every text they get with `text`, `rate` times a second.
fn replying(text: &str, rate: f64) -> SimConfig {
    SimConfig {
        mo_rate: rate,
        mo_texts: vec![text.to_owned()],
        ..SimConfig::default()
    }
}

/// A submit to `number` written with `ton`, from 15550100.
fn submit_to(ton: u8, number: &'static str) -> Body {
    Body::SubmitSm(Box::new(SubmitSm {
        source: Address::new(Ton(1), Npi(1), Bytes::from_static(b"15550100")),
        dest: Address::new(Ton(ton), Npi(1), Bytes::from_static(number.as_bytes())),
        short_message: Bytes::from_static(b"hello"),
        ..Default::default()
    }))
}

/// A person who replied STOP from `+447700900123` is not texted at `07700900123` (national),
/// `00447700900123` or `447700900123` by an account whose numbers are British; a short code
/// and another person still are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opt_out_holds_however_the_number_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let routes = "[[routes]]\nconnector = \"a\"\n";
    let a = sim(replying("STOP", 20.0)).await;
    let b = sim(SimConfig::default()).await;
    let british = "country_code = \"44\"";
    let d = daemon(
        dir.path(),
        &config_text(dir.path(), &a, &b, british, routes),
    )
    .await;
    let (demo, mut demo_in) = customer(&d, "demo", BindKind::Transceiver);
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        status(demo.send(submit_to(1, "+447700900123")).await),
        CommandStatus::OK
    );
    // The STOP comes back from the number as it was texted, `+447700900123`.
    let (_, text) = next_mo(&mut demo_in).await;
    assert_eq!(&text[..], b"STOP");
    let scope = smpp_router::consent::account_scope("demo");
    assert!(d.consent().blocks(scope, b"15550100", b"447700900123"));
    for (ton, written) in [
        (2, "07700900123"),
        (0, "07700900123"),
        (0, "00447700900123"),
        (1, "447700900123"),
    ] {
        assert_eq!(
            status(demo.send(submit_to(ton, written)).await),
            CommandStatus::X_R_APPN,
            "TON {ton} {written}"
        );
    }
    for (ton, written) in [(2, "07700900124"), (2, "60006")] {
        assert_eq!(
            status(demo.send(submit_to(ton, written)).await),
            CommandStatus::OK,
            "TON {ton} {written}"
        );
    }
    // The account's list, uploaded in national form, is read in the account's country.
    let (code, body) = request(
        &d,
        "POST",
        "/v1/suppressions?scope=account:demo",
        "07700900125\n",
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        status(demo.send(submit_to(1, "447700900125")).await),
        CommandStatus::X_R_APPN
    );
    // An entry kept as written before the account had a country (here put straight into
    // the list) still blocks that writing, and is lifted by a delete written the same way.
    let old = smpp_router::policy::pack_number(b"07700900126").unwrap();
    let account = smpp_router::policy::Scope::Account(scope);
    d.consent().change(true, &[(account, old)]).unwrap();
    assert_eq!(
        status(demo.send(submit_to(2, "07700900126")).await),
        CommandStatus::X_R_APPN
    );
    let path = "/v1/suppressions?scope=account:demo&number=07700900126";
    let (code, body) = request(&d, "DELETE", path, "").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        status(demo.send(submit_to(2, "07700900126")).await),
        CommandStatus::OK
    );
    demo.shutdown().await;
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_lifts_an_opt_out_and_the_person_can_be_texted_again() {
    let dir = tempfile::tempdir().unwrap();
    let routes = "[[routes]]\nsources = [\"15550100\"]\nconnector = \"a\"\n\
                  [[routes]]\nconnector = \"b\"\n";
    let chatty = |text: &str| replying(text, 5.0);
    let person: &[u8] = b"15550000001";
    let blocked = |d: &smpp_router::daemon::Daemon| {
        d.consent().blocks(
            smpp_router::consent::account_scope("demo"),
            b"15550100",
            person,
        )
    };
    // The person replies STOP.
    let (a, b) = (sim(chatty("stop")).await, sim(SimConfig::default()).await);
    let d = daemon(dir.path(), &config_text(dir.path(), &a, &b, "", routes)).await;
    let (demo, mut demo_in) = customer(&d, "demo", BindKind::Transceiver);
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();
    message_id(demo.send(submit(1, "15550100", false)).await);
    next_mo(&mut demo_in).await;
    assert!(blocked(&d));
    demo.shutdown().await;
    d.shutdown().await;

    // Later, on a carrier where they reply START: the account texts them without enforcing
    // its list (the only way to reach someone who opted out), they answer START, and the
    // opt-out is lifted and confirmed.
    let a2 = sim(chatty("  Start ")).await;
    let lenient = config_text(dir.path(), &a2, &b, "consent = { enforce = false }", routes);
    let d = daemon(dir.path(), &lenient).await;
    assert!(blocked(&d), "the opt-out outlived the restart");
    let (demo, mut demo_in) = customer(&d, "demo", BindKind::Transceiver);
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();
    message_id(demo.send(submit(1, "15550100", false)).await);
    // A STOP that carrier a sent after the first customer unbound waited in the queue and
    // may come first.
    let mut texts = Vec::new();
    while texts.len() < 20 {
        let (_, text) = next_mo(&mut demo_in).await;
        texts.push(text.clone());
        if &text[..] != b"stop" {
            break;
        }
    }
    assert_eq!(
        texts.last().map(|t| &t[..]),
        Some(&b"  Start "[..]),
        "the account still gets the reply: {texts:?}"
    );
    assert!(!blocked(&d));
    for _ in 0..200 {
        if a2.counts().accepted >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(a2.counts().accepted >= 2, "the confirmation was sent");
    // The simulated person keeps texting START (5 a second), and each is handled and
    // confirmed again: at least one, not exactly one.
    assert!(
        metric_at_least(
            &d,
            "smpp_consent_total{account=\"demo\",kind=\"opt_in\"}",
            1.0
        )
        .await
    );
    // With the list enforced again (a reload), the person is texted like anyone else.
    std::fs::write(
        dir.path().join("router.toml"),
        config_text(dir.path(), &a2, &b, "", routes),
    )
    .unwrap();
    d.reload().await.unwrap();
    assert_eq!(
        status(demo.send(submit(1, "15550100", false)).await),
        CommandStatus::OK
    );
    demo.shutdown().await;
    d.shutdown().await;
}

/// The next `hh:00` UTC after now by `clock`.
fn next_utc_hour(clock: &Clock, hour: i8) -> SystemTime {
    let now = clock.timestamp();
    let day = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let at = |d: jiff::civil::Date| {
        d.at(hour, 0, 0, 0)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .unwrap()
            .timestamp()
    };
    let mut t = at(day);
    if t <= now {
        t = at(day.tomorrow().unwrap());
    }
    SystemTime::from(t)
}

/// A submit to a number whose prefix names no zone (so the account's zone, UTC, decides),
/// asking for a receipt, with `service_type`, optionally carrying the marketing TLV 0x1400.
fn night_submit(source: &str, service_type: &str, tlv: bool) -> Body {
    let Body::SubmitSm(mut sm) = submit_as(1, source, service_type) else {
        unreachable!()
    };
    sm.dest.addr = Bytes::from_static(b"999000111");
    sm.registered_delivery = RegisteredDelivery(1);
    if tlv {
        let mut t = TlvsBuilder::new();
        t.octets(TlvTag(0x1400), &[1]).unwrap();
        sm.tlvs = t.build();
    }
    Body::SubmitSm(sm)
}

fn message_id(r: Result<Pdu, smpp_tokio::Error>) -> Bytes {
    let r = r.unwrap();
    assert_eq!(r.command_status, CommandStatus::OK, "{r:?}");
    let Body::SubmitSmResp(resp) = r.body else {
        panic!("{r:?}")
    };
    resp.message_id
}

fn status(r: Result<Pdu, smpp_tokio::Error>) -> CommandStatus {
    r.unwrap().command_status
}

/// Waits for the next receipt (answering it): (our id it names, its state).
async fn next_receipt(rx: &mut mpsc::Receiver<Incoming>) -> (Bytes, MessageState) {
    loop {
        let inc = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a receipt in time")
            .unwrap();
        inc.responder.respond_status(CommandStatus::OK).await;
        if let Body::DeliverSm(d) = &inc.pdu.body {
            if d.esm_class.is_receipt() {
                let r = smpp_router::receipts::read(d).unwrap();
                return (Bytes::copy_from_slice(r.carrier_id), r.state.unwrap());
            }
        }
    }
}

fn accepted(a: &SimHandle, b: &SimHandle) -> u64 {
    a.counts().accepted + b.counts().accepted
}

/// Two carriers, and a clock moved to the next `hour`:00 UTC.
async fn night(hour: i8) -> (SimHandle, SimHandle, Arc<Clock>) {
    let (a, b) = (
        sim(SimConfig::default()).await,
        sim(SimConfig::default()).await,
    );
    let clock = Arc::new(Clock::system());
    clock.advance_to(next_utc_hour(&clock, hour));
    (a, b, clock)
}

/// The value of `series` (name and labels, exactly) in a Prometheus text page.
fn metric_value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|v| v.trim().parse::<f64>().ok())
    })
}

/// Whether `series` reaches `min` within 3 s.
async fn metric_at_least(d: &smpp_router::daemon::Daemon, series: &str, min: f64) -> bool {
    for _ in 0..60 {
        let text = get(d, "/metrics").await.1;
        if metric_value(&text, series).is_some_and(|v| v >= min) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Whether `/metrics` shows `line` within 3 s (a counter may be bumped by a task that ends a
/// moment after the effect the test saw, e.g. the release task after the receipt it caused).
async fn metric(d: &smpp_router::daemon::Daemon, line: &str) -> bool {
    for _ in 0..60 {
        if get(d, "/metrics").await.1.lines().any(|l| l == line) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marketing_at_night_is_held_survives_a_restart_and_goes_in_the_morning() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, clock) = night(23).await;
    let text = config_text(
        dir.path(),
        &a,
        &b,
        "consent = { marketing_service_types = [\"MKT\"] }",
        SPLIT,
    );
    let d = daemon_with_clock(dir.path(), &text, clock.clone()).await;
    let (demo, _) = customer(&d, "demo", BindKind::Transceiver);
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();
    // 23:00 where the person is: the marketing message is accepted but does not go …
    let held_id = message_id(demo.send(night_submit("ACME", "MKT", false)).await);
    // … while a transactional one goes at once.
    message_id(demo.send(night_submit("ACME", "OTP", false)).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(accepted(&a, &b), 1, "only the transactional message went");
    assert!(metric(&d, "smpp_held_total{account=\"demo\"} 1").await);
    assert!(metric(&d, "smpp_held_messages 1").await);
    demo.shutdown().await;
    d.shutdown().await;

    // Restarted during the night: still held.
    let d = daemon_with_clock(dir.path(), &text, clock.clone()).await;
    let (demo, mut demo_in) = customer(&d, "demo", BindKind::Transceiver);
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(accepted(&a, &b), 1);
    // Morning comes. (The transactional message's receipt may come first.)
    clock.advance_to(next_utc_hour(&clock, 8));
    let mut ids = vec![next_receipt(&mut demo_in).await.0];
    if ids[0] != held_id {
        ids.push(next_receipt(&mut demo_in).await.0);
    }
    assert!(
        ids.contains(&held_id),
        "the held message's receipt names the id it was acked with: {ids:?} vs {held_id:?}"
    );
    assert_eq!(accepted(&a, &b), 2);
    assert!(
        metric(
            &d,
            "smpp_released_total{account=\"demo\",outcome=\"sent\"} 1"
        )
        .await
    );
    assert!(metric(&d, "smpp_held_messages 0").await);
    demo.shutdown().await;
    d.shutdown().await;
}

/// A held message whose morning passed while the router was down is not sent when it comes
/// back in the recipient's evening: it waits for their next morning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_message_whose_morning_passed_during_downtime_waits_for_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, clock) = night(23).await;
    let text = config_text(dir.path(), &a, &b, "consent = { marketing = true }", SPLIT);
    let d = daemon_with_clock(dir.path(), &text, clock.clone()).await;
    let (demo, _) = customer(&d, "demo", BindKind::Transceiver);
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();
    let held_id = message_id(demo.send(night_submit("ACME", "", false)).await);
    assert!(metric(&d, "smpp_held_messages 1").await);
    demo.shutdown().await;
    d.shutdown().await;

    // Down through the next day: back at 22:00, after the 08:00-21:00 window.
    clock.advance_to(next_utc_hour(&clock, 22));
    let d = daemon_with_clock(dir.path(), &text, clock.clone()).await;
    let (demo, mut demo_in) = customer(&d, "demo", BindKind::Transceiver);
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(accepted(&a, &b), 0, "not sent in the evening");
    assert!(metric(&d, "smpp_held_messages 1").await);
    clock.advance_to(next_utc_hour(&clock, 8));
    let (id, _) = next_receipt(&mut demo_in).await;
    assert_eq!(id, held_id);
    assert_eq!(accepted(&a, &b), 1);
    demo.shutdown().await;
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_who_opts_out_overnight_is_not_texted_in_the_morning() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, clock) = night(22).await;
    let text = config_text(
        dir.path(),
        &a,
        &b,
        "consent = { marketing = true, opt_out = \"account\" }",
        SPLIT,
    );
    let d = daemon_with_clock(dir.path(), &text, clock.clone()).await;
    let (demo, mut demo_in) = customer(&d, "demo", BindKind::Transceiver);
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();
    let held_id = message_id(demo.send(night_submit("ACME", "", false)).await);
    let (code, body) = request(
        &d,
        "POST",
        "/v1/suppressions?scope=account:demo",
        "999000111\n",
    )
    .await;
    assert_eq!(code, 200, "{body}");
    clock.advance_to(next_utc_hour(&clock, 9));
    let (id, state) = next_receipt(&mut demo_in).await;
    assert_eq!((id, state), (held_id, MessageState::REJECTED));
    assert_eq!(accepted(&a, &b), 0, "nothing reached a carrier");
    assert!(
        metric(
            &d,
            "smpp_released_total{account=\"demo\",outcome=\"refused\"} 1"
        )
        .await
    );
    demo.shutdown().await;
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_and_a_tlv_say_what_is_marketing_and_the_cap_refuses_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, clock) = night(23).await;
    // Campaigns from 15550199 are marketing and refused at night on their route; the account
    // marks marketing with TLV 0x1400 elsewhere; OTPs are transactional on their route even
    // though they carry the TLV.
    let routes = "[[routes]]\nsources = [\"15550199\"]\nconnector = \"a\"\n\
                  consent = { marketing = true, quiet_action = \"refuse\" }\n\
                  [[routes]]\nservice_types = [\"OTP\"]\nconnector = \"b\"\n\
                  consent = { marketing = false }\n\
                  [[routes]]\nconnector = \"a\"\n";
    let text = config_text(
        dir.path(),
        &a,
        &b,
        "consent = { marketing_tlv = 0x1400, max_per_day = 2 }",
        routes,
    );
    let d = daemon_with_clock(dir.path(), &text, clock.clone()).await;
    let (demo, _) = customer(&d, "demo", BindKind::Transceiver);
    demo.wait_bound(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        status(demo.send(night_submit("15550199", "", false)).await),
        CommandStatus::X_T_APPN,
        "the campaign route refuses at night"
    );
    message_id(demo.send(night_submit("ACME", "", false)).await);
    message_id(demo.send(night_submit("ACME", "OTP", true)).await);
    message_id(demo.send(night_submit("ACME", "", true)).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        accepted(&a, &b),
        2,
        "the plain and the OTP went; the one with the TLV is held"
    );
    assert!(
        metric(
            &d,
            "smpp_refused_total{account=\"demo\",reason=\"quiet_hours\"} 1"
        )
        .await
    );
    assert!(metric(&d, "smpp_held_total{account=\"demo\"} 1").await);
    // Held messages count against the day's cap: one more is held, then the cap refuses.
    message_id(demo.send(night_submit("ACME", "", true)).await);
    assert_eq!(
        status(demo.send(night_submit("ACME", "", true)).await),
        CommandStatus::X_R_APPN
    );
    assert!(
        metric(
            &d,
            "smpp_refused_total{account=\"demo\",reason=\"frequency_cap\"} 1"
        )
        .await
    );
    // Both held ones go in the morning.
    clock.advance_to(next_utc_hour(&clock, 10));
    for _ in 0..100 {
        if accepted(&a, &b) == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(accepted(&a, &b), 4, "released in the morning");
    demo.shutdown().await;
    d.shutdown().await;
}
