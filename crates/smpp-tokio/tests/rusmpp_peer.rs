//! Our ESME against an SMSC written in the test with the `rusmpp` crate's own codec — an
//! implementation that shares no code with ours — over real TCP on 127.0.0.1: bind, windowed
//! submits, a receipt delivered back, enquire_link, and the unbind at shutdown.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use rusmpp::pdus::{BindTransceiverResp, DeliverSm, SubmitSmResp};
use rusmpp::tokio_codec::CommandCodec;
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::EsmClass;
use rusmpp::{Command, CommandId, CommandStatus, Pdu};
use smpp_pdu::{Body, MessageIdResp, SubmitSm};
use smpp_tokio::{Esme, EsmeConfig, NoObserver};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::codec::Framed;

/// What the rusmpp SMSC saw, in order.
#[derive(Debug, PartialEq)]
enum Seen {
    Bind(String, String),
    Submit(String, Vec<u8>),
    DeliverResp(u32),
    EnquireLink,
    Unbind,
}

fn cstr<const N: usize>(s: &str) -> COctetString<1, N> {
    s.parse().unwrap()
}

/// A one-connection SMSC built on rusmpp's codec. It answers submits with `msg-<n>` and, after
/// the first one, sends a receipt for it.
async fn rusmpp_smsc(seen: mpsc::UnboundedSender<Seen>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(sock, CommandCodec::new());
        let mut submits = 0u32;
        while let Some(Ok(command)) = framed.next().await {
            let seq = command.sequence_number();
            let reply = match command.pdu() {
                Some(Pdu::BindTransceiver(b)) => {
                    seen.send(Seen::Bind(b.system_id.to_string(), b.password.to_string()))
                        .unwrap();
                    Some(Pdu::BindTransceiverResp(
                        BindTransceiverResp::builder()
                            .system_id(cstr("RUSMPP"))
                            .build(),
                    ))
                }
                Some(Pdu::SubmitSm(s)) => {
                    submits += 1;
                    seen.send(Seen::Submit(
                        s.destination_addr.to_string(),
                        s.short_message().as_ref().to_vec(),
                    ))
                    .unwrap();
                    Some(Pdu::SubmitSmResp(
                        SubmitSmResp::builder()
                            .message_id(cstr(&format!("msg-{submits}")))
                            .build(),
                    ))
                }
                Some(Pdu::EnquireLink) => {
                    seen.send(Seen::EnquireLink).unwrap();
                    Some(Pdu::EnquireLinkResp)
                }
                Some(Pdu::Unbind) => {
                    seen.send(Seen::Unbind).unwrap();
                    Some(Pdu::UnbindResp)
                }
                Some(Pdu::DeliverSmResp(_)) => {
                    seen.send(Seen::DeliverResp(seq)).unwrap();
                    None
                }
                other => panic!("unexpected {other:?}"),
            };
            if let Some(pdu) = reply {
                let resp = Command::new(CommandStatus::EsmeRok, seq, pdu);
                framed.send(resp).await.unwrap();
            }
            if command.id() == CommandId::SubmitSm && submits == 1 {
                let receipt = DeliverSm::builder()
                    .source_addr(cstr("15550001"))
                    .destination_addr(cstr("ACME"))
                    .esm_class(EsmClass::from(0x04))
                    .short_message(
                        OctetString::from_str(
                            "id:msg-1 sub:001 dlvrd:001 submit date:2611230412 \
                             done date:2611230413 stat:DELIVRD err:000 text:hi",
                        )
                        .unwrap(),
                    )
                    .build();
                let deliver = Command::new(CommandStatus::EsmeRok, 900, receipt);
                framed.send(deliver).await.unwrap();
            }
            if command.id() == CommandId::Unbind {
                break;
            }
        }
    });
    addr
}

#[tokio::test]
async fn our_esme_binds_submits_and_takes_receipts_from_a_rusmpp_smsc() {
    let (tx, mut seen) = mpsc::unbounded_channel();
    let addr = rusmpp_smsc(tx).await;
    let mut config = EsmeConfig::new(&addr, "acme", "s3cret");
    config.session.window = 8;
    config.session.enquire_link_interval = Duration::from_millis(150);
    let (esme, mut deliveries) = Esme::start(config, Arc::new(NoObserver));
    let info = esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    assert_eq!(&info.system_id[..], b"RUSMPP");
    assert_eq!(
        seen.recv().await.unwrap(),
        Seen::Bind("acme".into(), "s3cret".into())
    );

    // Twenty submits, eight at a time at most: every one answered with rusmpp's id.
    let mut tasks = Vec::new();
    for i in 0..20u32 {
        let link = esme.link().clone();
        tasks.push(tokio::spawn(async move {
            link.send(Body::SubmitSm(Box::new(SubmitSm {
                dest: smpp_pdu::Address::new(
                    smpp_pdu::Ton(1),
                    smpp_pdu::Npi(1),
                    Bytes::from(format!("1555000{i:04}")),
                ),
                short_message: Bytes::from(format!("hello {i}")),
                ..Default::default()
            })))
            .await
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        let resp = t.await.unwrap().unwrap();
        assert_eq!(resp.command_status, smpp_pdu::CommandStatus::OK);
        let Body::SubmitSmResp(r) = resp.body else {
            panic!("{resp:?}")
        };
        ids.push(String::from_utf8(r.message_id.to_vec()).unwrap());
    }
    ids.sort();
    let mut want: Vec<_> = (1..=20).map(|n| format!("msg-{n}")).collect();
    want.sort();
    assert_eq!(ids, want);

    // The receipt rusmpp wrote arrives as a deliver_sm we can read, and our answer reaches it.
    let inc = tokio::time::timeout(Duration::from_secs(5), deliveries.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inc.pdu.sequence_number, 900);
    let Body::DeliverSm(d) = &inc.pdu.body else {
        panic!("{:?}", inc.pdu)
    };
    assert!(d.esm_class.is_receipt());
    let receipt = smpp_pdu::receipt::Receipt::parse(&d.short_message).unwrap();
    assert_eq!(receipt.id, Some(&b"msg-1"[..]));
    assert_eq!(
        receipt.state(),
        Some(smpp_pdu::receipt::MessageState::DELIVERED)
    );
    inc.responder
        .respond(
            smpp_pdu::CommandStatus::OK,
            Body::DeliverSmResp(MessageIdResp::default()),
        )
        .await;

    // Keepalive goes out while idle.
    tokio::time::sleep(Duration::from_millis(400)).await;
    esme.shutdown().await;

    let mut log = Vec::new();
    while let Ok(s) = seen.try_recv() {
        log.push(s);
    }
    let submits: Vec<_> = log
        .iter()
        .filter_map(|s| match s {
            Seen::Submit(dst, text) => Some((dst.clone(), text.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(submits.len(), 20);
    assert!(submits.contains(&("15550000007".into(), b"hello 7".to_vec())));
    assert!(log.contains(&Seen::DeliverResp(900)));
    assert!(log.contains(&Seen::EnquireLink), "{log:?}");
    assert_eq!(log.last(), Some(&Seen::Unbind));
}
