//! smpp-bench against an SMSC written with the `rusmpp` crate's own codec, which shares no
//! code with ours, over real TCP on 127.0.0.1. The SMSC's receipts carry the id only in their
//! text (no TLV), and its ids have leading zeros, so matching by `id:` is what is tested.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::str::FromStr as _;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rusmpp::pdus::{BindTransceiverResp, DeliverSm, SubmitSmResp};
use rusmpp::tokio_codec::CommandCodec;
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::EsmClass;
use rusmpp::{Command, CommandStatus, Pdu};
use smpp_tools::bench::{run, BenchConfig};
use tokio::net::TcpListener;
use tokio_util::codec::Framed;

fn cstr<const N: usize>(s: &str) -> COctetString<1, N> {
    s.parse().unwrap()
}

/// Accepts connections; answers each submit with `000<n>` and sends its receipt right after.
async fn rusmpp_smsc() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut next_id = 0u32;
        loop {
            let (sock, _) = listener.accept().await.unwrap();
            let mut framed = Framed::new(sock, CommandCodec::new());
            let mut deliver_seq = 1000u32;
            while let Some(Ok(command)) = framed.next().await {
                let seq = command.sequence_number();
                let mut receipt_for = None;
                let reply = match command.pdu() {
                    Some(Pdu::BindTransceiver(_)) => Some(Pdu::BindTransceiverResp(
                        BindTransceiverResp::builder()
                            .system_id(cstr("RUSMPP"))
                            .build(),
                    )),
                    Some(Pdu::SubmitSm(_)) => {
                        next_id += 1;
                        let id = format!("000{next_id}");
                        receipt_for = Some(id.clone());
                        Some(Pdu::SubmitSmResp(
                            SubmitSmResp::builder().message_id(cstr(&id)).build(),
                        ))
                    }
                    Some(Pdu::EnquireLink) => Some(Pdu::EnquireLinkResp),
                    Some(Pdu::Unbind) => Some(Pdu::UnbindResp),
                    _ => None,
                };
                if let Some(pdu) = reply {
                    framed
                        .send(Command::new(CommandStatus::EsmeRok, seq, pdu))
                        .await
                        .unwrap();
                }
                if let Some(id) = receipt_for {
                    let text = format!(
                        "id:{id} sub:001 dlvrd:001 submit date:2611230412 \
                         done date:2611230413 stat:DELIVRD err:000 text:hello"
                    );
                    let receipt = DeliverSm::builder()
                        .source_addr(cstr("15550001"))
                        .destination_addr(cstr("BENCH"))
                        .esm_class(EsmClass::from(0x04))
                        .short_message(OctetString::from_str(&text).unwrap())
                        .build();
                    deliver_seq += 1;
                    framed
                        .send(Command::new(CommandStatus::EsmeRok, deliver_seq, receipt))
                        .await
                        .unwrap();
                }
                if matches!(command.pdu(), Some(Pdu::Unbind)) {
                    break;
                }
            }
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_matches_receipts_from_a_rusmpp_smsc_by_their_text() {
    let addr = rusmpp_smsc().await;
    let mut config = BenchConfig::new(&addr, "acme", "pw");
    config.count = Some(100);
    config.window = 8;
    config.registered_delivery = true;
    config.receipt_wait = Duration::from_secs(10);
    let r = run(config).await.unwrap();
    assert!(r.is_consistent(), "{r:#?}");
    assert_eq!(r.ok, 100);
    let receipts = r.receipts.unwrap();
    assert_eq!(receipts.matched, 100, "{receipts:#?}");
    assert_eq!((receipts.missing, receipts.unmatched), (0, 0));
    assert_eq!(receipts.by_state.get("DELIVRD"), Some(&100));
}
