//! The metrics text: every family with its labels, in a format Prometheus's own checker
//! (`promtool check metrics`) accepts.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use smpp_pdu::{CommandId, CommandStatus, MessageState};
use smpp_router::metrics::{Direction, Metrics};
use smpp_router::mo::Reason;
use smpp_session::CloseReason;

/// A metrics registry with something in every family.
fn sample() -> Arc<Metrics> {
    let m = Arc::new(Metrics::new());
    m.pdu(Direction::In, CommandId::SUBMIT_SM, CommandStatus::OK);
    m.pdu(
        Direction::Out,
        CommandId::SUBMIT_SM_RESP,
        CommandStatus::THROTTLED,
    );
    m.pdu(
        Direction::Out,
        CommandId::SUBMIT_SM_RESP,
        CommandStatus(0x0000_0412),
    );
    m.submit("acme", "carrier-a", CommandStatus::OK);
    m.submit("acme", "carrier-a", CommandStatus::OK);
    m.submit("acme", "", CommandStatus::INVDSTADR);
    m.submit_latency("acme", Duration::from_micros(1500));
    m.carrier_latency("carrier-a", Duration::from_millis(20));
    m.set_window("carrier-a", 0, 100);
    m.set_bind_up("carrier-a", 1, false);
    m.reconnect("carrier-a");
    m.throttled("carrier-a");
    m.customer_throttled("acme");
    m.queue_full("carrier-a");
    m.receipt("carrier-a", Some(MessageState::DELIVERED));
    m.receipt("carrier-a", Some(MessageState::UNDELIVERABLE));
    m.receipt("carrier-a", None);
    m.receipt_time("carrier-a", Duration::from_secs(7));
    m.unknown_receipt("carrier-a");
    m.set_pending("acme", 3);
    m.store_commit(Duration::from_micros(800));
    m.mo(Reason::OwnedNumber);
    m.mo(Reason::Unroutable);
    m.failed_bind("bad_password");
    m.no_route("acme");
    m.set_customer_binds("acme", 2);

    // A carrier bind, through the hooks smpp-tokio calls.
    let o = m.observer("carrier-a", 0);
    o.bound();
    o.request_sent(CommandId::SUBMIT_SM, 1);
    o.request_sent(CommandId::SUBMIT_SM, 2);
    o.request_sent(CommandId::ENQUIRE_LINK, 3);
    o.response(
        CommandId::SUBMIT_SM,
        CommandStatus::OK,
        Duration::from_millis(3),
    );
    o.response(
        CommandId::ENQUIRE_LINK,
        CommandStatus::OK,
        Duration::from_millis(1),
    );
    o.response(
        CommandId::SUBMIT_SM,
        CommandStatus::THROTTLED,
        Duration::from_millis(2),
    );
    o.throttled();
    o.request_sent(CommandId::SUBMIT_SM, 1);
    o.incoming(CommandId::DELIVER_SM);
    o.request_failed(CommandId::SUBMIT_SM);
    o.closed(CloseReason::ConnectionLost);
    o.reconnecting(Duration::from_secs(1));
    let b = m.observer("carrier-a", 1);
    b.bound();

    let c = m.pdu_observer();
    c.incoming(CommandId::BIND_TRANSCEIVER);
    c.request_sent(CommandId::DELIVER_SM, 1);
    c.response(
        CommandId::DELIVER_SM,
        CommandStatus::OK,
        Duration::from_millis(4),
    );
    m
}

fn has(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "missing line {line:?} in:\n{text}"
    );
}

#[test]
fn text_has_every_family_with_its_labels() {
    let t = sample().encode();
    for family in [
        "smpp_pdus_total counter",
        "smpp_submits_total counter",
        "smpp_submit_latency_seconds histogram",
        "smpp_carrier_latency_seconds histogram",
        "smpp_in_flight gauge",
        "smpp_window gauge",
        "smpp_bind_up gauge",
        "smpp_reconnects_total counter",
        "smpp_disconnects_total counter",
        "smpp_requests_failed_total counter",
        "smpp_throttled_total counter",
        "smpp_customer_throttled_total counter",
        "smpp_queue_full_total counter",
        "smpp_receipts_total counter",
        "smpp_receipt_time_seconds histogram",
        "smpp_unknown_receipts_total counter",
        "smpp_pending gauge",
        "smpp_store_commit_seconds histogram",
        "smpp_mo_total counter",
        "smpp_failed_binds_total counter",
        "smpp_no_route_total counter",
        "smpp_customer_binds gauge",
        "smpp_build_info gauge",
    ] {
        has(&t, &format!("# TYPE {family}"));
    }
    assert!(!t.contains("# EOF") && !t.contains("# UNIT"), "{t}");

    // PDUs: the router's own counts, the carrier bind's and the customer side's hooks.
    has(
        &t,
        r#"smpp_pdus_total{direction="in",command="submit_sm",status="ESME_ROK"} 1"#,
    );
    has(
        &t,
        r#"smpp_pdus_total{direction="out",command="submit_sm_resp",status="ESME_RTHROTTLED"} 1"#,
    );
    has(
        &t,
        r#"smpp_pdus_total{direction="out",command="submit_sm_resp",status="0x00000412"} 1"#,
    );
    has(
        &t,
        r#"smpp_pdus_total{direction="out",command="submit_sm",status="ESME_ROK"} 3"#,
    );
    has(
        &t,
        r#"smpp_pdus_total{direction="in",command="submit_sm_resp",status="ESME_ROK"} 1"#,
    );
    has(
        &t,
        r#"smpp_pdus_total{direction="in",command="submit_sm_resp",status="ESME_RTHROTTLED"} 1"#,
    );
    has(
        &t,
        r#"smpp_pdus_total{direction="out",command="enquire_link",status="ESME_ROK"} 1"#,
    );
    has(
        &t,
        r#"smpp_pdus_total{direction="in",command="enquire_link_resp",status="ESME_ROK"} 1"#,
    );
    has(
        &t,
        r#"smpp_pdus_total{direction="in",command="deliver_sm",status="ESME_ROK"} 1"#,
    );
    has(
        &t,
        r#"smpp_pdus_total{direction="in",command="bind_transceiver",status="ESME_ROK"} 1"#,
    );
    has(
        &t,
        r#"smpp_pdus_total{direction="out",command="deliver_sm",status="ESME_ROK"} 1"#,
    );
    has(
        &t,
        r#"smpp_pdus_total{direction="in",command="deliver_sm_resp",status="ESME_ROK"} 1"#,
    );

    has(
        &t,
        r#"smpp_submits_total{account="acme",connector="carrier-a",status="ESME_ROK"} 2"#,
    );
    has(
        &t,
        r#"smpp_submits_total{account="acme",connector="none",status="ESME_RINVDSTADR"} 1"#,
    );
    has(&t, r#"smpp_submit_latency_seconds_count{account="acme"} 1"#);
    has(
        &t,
        r#"smpp_submit_latency_seconds_bucket{le="0.001",account="acme"} 0"#,
    );
    has(
        &t,
        r#"smpp_submit_latency_seconds_bucket{le="0.0025",account="acme"} 1"#,
    );
    has(
        &t,
        r#"smpp_submit_latency_seconds_bucket{le="+Inf",account="acme"} 1"#,
    );
    // 20 ms from the router, 3 and 2 ms from the bind's submits; not the enquire_link.
    has(
        &t,
        r#"smpp_carrier_latency_seconds_count{connector="carrier-a"} 3"#,
    );
    has(
        &t,
        r#"smpp_carrier_latency_seconds_bucket{le="0.0001",connector="carrier-a"} 0"#,
    );
    has(
        &t,
        r#"smpp_carrier_latency_seconds_bucket{le="10.0",connector="carrier-a"} 3"#,
    );

    // Two submits out, one answered, one throttled (answered), one resent, which failed.
    has(&t, r#"smpp_in_flight{connector="carrier-a",bind="0"} 0"#);
    has(&t, r#"smpp_window{connector="carrier-a",bind="0"} 100"#);
    has(&t, r#"smpp_bind_up{connector="carrier-a",bind="0"} 0"#);
    has(&t, r#"smpp_bind_up{connector="carrier-a",bind="1"} 1"#);
    has(&t, r#"smpp_reconnects_total{connector="carrier-a"} 2"#);
    has(
        &t,
        r#"smpp_disconnects_total{connector="carrier-a",reason="connection_lost"} 1"#,
    );
    has(
        &t,
        r#"smpp_requests_failed_total{connector="carrier-a",command="submit_sm"} 1"#,
    );
    has(&t, r#"smpp_throttled_total{connector="carrier-a"} 2"#);
    has(&t, r#"smpp_customer_throttled_total{account="acme"} 1"#);
    has(&t, r#"smpp_queue_full_total{connector="carrier-a"} 1"#);

    has(
        &t,
        r#"smpp_receipts_total{connector="carrier-a",state="DELIVRD"} 1"#,
    );
    has(
        &t,
        r#"smpp_receipts_total{connector="carrier-a",state="UNDELIV"} 1"#,
    );
    has(
        &t,
        r#"smpp_receipts_total{connector="carrier-a",state="none"} 1"#,
    );
    has(
        &t,
        r#"smpp_receipt_time_seconds_bucket{le="5.0",connector="carrier-a"} 0"#,
    );
    has(
        &t,
        r#"smpp_receipt_time_seconds_bucket{le="10.0",connector="carrier-a"} 1"#,
    );
    has(
        &t,
        r#"smpp_receipt_time_seconds_bucket{le="259200.0",connector="carrier-a"} 1"#,
    );
    has(
        &t,
        r#"smpp_unknown_receipts_total{connector="carrier-a"} 1"#,
    );

    has(&t, r#"smpp_pending{account="acme"} 3"#);
    has(&t, "smpp_store_commit_seconds_count 1");
    has(&t, r#"smpp_mo_total{reason="owned_number"} 1"#);
    has(&t, r#"smpp_mo_total{reason="unroutable"} 1"#);
    has(&t, r#"smpp_failed_binds_total{reason="bad_password"} 1"#);
    has(&t, r#"smpp_no_route_total{account="acme"} 1"#);
    has(&t, r#"smpp_customer_binds{account="acme"} 2"#);
}

#[test]
fn openmetrics_names_counters_without_total_and_ends_with_eof() {
    let t = sample().encode_openmetrics();
    has(&t, "# TYPE smpp_pdus counter");
    has(&t, "# UNIT smpp_submit_latency_seconds seconds");
    has(
        &t,
        r#"smpp_submits_total{account="acme",connector="carrier-a",status="ESME_ROK"} 2"#,
    );
    assert!(t.ends_with("# EOF\n"), "{t}");
}

#[test]
fn label_values_are_escaped() {
    let m = Metrics::new();
    m.no_route("we\"ird\\name\n");
    has(
        &m.encode(),
        r#"smpp_no_route_total{account="we\"ird\\name\n"} 1"#,
    );
}

/// Runs `promtool check metrics` on `text`; `None` when promtool is not installed.
fn promtool_check(text: &str) -> Option<(bool, String)> {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("running promtool: {e}"),
    };
    child
        .stdin
        .take()
        .expect("stdin piped")
        .write_all(text.as_bytes())
        .expect("writing to promtool");
    let out = child.wait_with_output().expect("waiting for promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), said))
}

#[test]
fn promtool_accepts_the_text() {
    let m = sample();
    for (what, text) in [
        ("with samples", m.encode()),
        ("empty", Metrics::new().encode()),
    ] {
        match promtool_check(&text) {
            None => {
                println!(
                    "note: promtool not installed (Debian package `prometheus`); check skipped"
                );
                return;
            }
            Some((ok, said)) => {
                assert!(
                    ok,
                    "promtool check metrics ({what}) said:\n{said}\non:\n{text}"
                )
            }
        }
    }
}

#[test]
fn concurrent_updates_all_count() {
    let m = Arc::new(Metrics::new());
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let m = m.clone();
            std::thread::spawn(move || {
                for i in 0..10_000u32 {
                    let connector = ["a", "b"][(i % 2) as usize];
                    m.submit("acme", connector, CommandStatus::OK);
                    m.submit_latency("acme", Duration::from_micros(t * 100 + 50));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let t = m.encode();
    has(
        &t,
        r#"smpp_submits_total{account="acme",connector="a",status="ESME_ROK"} 20000"#,
    );
    has(
        &t,
        r#"smpp_submits_total{account="acme",connector="b",status="ESME_ROK"} 20000"#,
    );
    has(
        &t,
        r#"smpp_submit_latency_seconds_count{account="acme"} 40000"#,
    );
    has(
        &t,
        r#"smpp_submit_latency_seconds_bucket{le="0.0001",account="acme"} 10000"#,
    );
    has(
        &t,
        r#"smpp_submit_latency_seconds_bucket{le="0.00025",account="acme"} 30000"#,
    );
    has(
        &t,
        r#"smpp_submit_latency_seconds_bucket{le="0.0005",account="acme"} 40000"#,
    );
    // 10 000 each of 50, 150, 250 and 350 µs; a bucket's bound is inclusive (`le`).
    let sum: f64 = t
        .lines()
        .find_map(|l| l.strip_prefix(r#"smpp_submit_latency_seconds_sum{account="acme"} "#))
        .and_then(|v| v.parse().ok())
        .expect("a sum");
    assert!((sum - 8.0).abs() < 1e-6, "{sum}");
}

#[test]
fn codes_a_peer_chooses_cannot_grow_the_series_without_bound() {
    let m = Metrics::new();
    for code in 0x1000..0x2000u32 {
        m.pdu(
            Direction::In,
            CommandId::SUBMIT_SM_RESP,
            CommandStatus(code),
        );
    }
    let t = m.encode();
    let series = t
        .lines()
        .filter(|l| l.starts_with("smpp_pdus_total{"))
        .count();
    assert_eq!(series, smpp_router::metrics::MAX_UNKNOWN_CODES + 1, "{t}");
    let other = 0x1000 - smpp_router::metrics::MAX_UNKNOWN_CODES;
    has(
        &t,
        &format!(
            r#"smpp_pdus_total{{direction="in",command="submit_sm_resp",status="other"}} {other}"#
        ),
    );
}
