//! The simulator seen PDU by PDU through our own ESME driver over TCP on 127.0.0.1: data_sm and
//! submit_multi answered and receipted, receipt text agreeing with its TLVs, registered_delivery
//! "failures only" respected, slow answers still answered.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use smpp_pdu::receipt::Receipt;
use smpp_pdu::{
    Address, Body, CommandStatus, DataSm, MessageIdResp, MessageState, MultiDest, Npi,
    RegisteredDelivery, SubmitMulti, SubmitSm, TlvsBuilder, Ton,
};
use smpp_tokio::{Esme, EsmeConfig, Incoming, NoObserver};
use smpp_tools::sim::{MsRange, Sim, SimConfig, SimHandle};
use tokio::sync::mpsc;

async fn start(config: SimConfig) -> (SimHandle, Esme, mpsc::Receiver<Incoming>) {
    let sim = Sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        dlr_delay: MsRange { min: 1, max: 5 },
        ..config
    })
    .await
    .unwrap();
    let (esme, rx) = Esme::start(
        EsmeConfig::new(sim.local_addr().to_string(), "acme", "pw"),
        Arc::new(NoObserver),
    );
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    (sim, esme, rx)
}

fn addr(n: &str) -> Address {
    Address::new(Ton(1), Npi(1), Bytes::from(n.to_owned()))
}

/// Takes one receipt, answers it, and returns (TLV id, TLV state, text).
async fn receipt(rx: &mut mpsc::Receiver<Incoming>) -> (Vec<u8>, MessageState, Bytes) {
    let inc = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let Body::DeliverSm(d) = &inc.pdu.body else {
        panic!("{:?}", inc.pdu)
    };
    assert!(d.esm_class.is_receipt());
    let out = (
        d.tlvs.receipted_message_id().unwrap().to_vec(),
        d.tlvs.message_state().unwrap(),
        d.short_message.clone(),
    );
    inc.responder
        .respond(
            CommandStatus::OK,
            Body::DeliverSmResp(MessageIdResp::default()),
        )
        .await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_sm_and_submit_multi_are_answered_and_receipted() {
    let (sim, esme, mut rx) = start(SimConfig {
        dlr_mix: "UNDELIV=1".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;

    let mut payload = TlvsBuilder::new();
    payload
        .octets(smpp_pdu::TlvTag::MESSAGE_PAYLOAD, b"hello by data sm")
        .unwrap();
    let resp = esme
        .send(Body::DataSm(Box::new(DataSm {
            source: addr("15550000001"),
            dest: addr("15550000002"),
            registered_delivery: RegisteredDelivery::FINAL,
            tlvs: payload.build(),
            ..Default::default()
        })))
        .await
        .unwrap();
    assert_eq!(resp.command_status, CommandStatus::OK);
    let Body::DataSmResp(r) = resp.body else {
        panic!("{resp:?}")
    };
    let data_id = r.message_id.to_vec();
    assert_eq!(data_id.len(), 16, "hex ids are 16 digits");
    let (id, state, text) = receipt(&mut rx).await;
    assert_eq!(id, data_id);
    assert_eq!(state, MessageState::UNDELIVERABLE);
    // The text says what the TLVs say.
    let parsed = Receipt::parse(&text).unwrap();
    assert_eq!(parsed.id, Some(&data_id[..]));
    assert_eq!(parsed.state(), Some(MessageState::UNDELIVERABLE));
    assert_eq!(parsed.text, Some(&b"hello by data sm"[..]));

    let resp = esme
        .send(Body::SubmitMulti(Box::new(SubmitMulti {
            source: addr("15550000001"),
            dests: vec![
                MultiDest::Sme(addr("15550000010")),
                MultiDest::Sme(addr("15550000011")),
                MultiDest::Sme(addr("15550000012")),
            ],
            registered_delivery: RegisteredDelivery::FINAL,
            short_message: Bytes::from_static(b"to three"),
            ..Default::default()
        })))
        .await
        .unwrap();
    let Body::SubmitMultiResp(r) = resp.body else {
        panic!("{resp:?}")
    };
    assert!(r.unsuccess.is_empty());
    for _ in 0..3 {
        let (id, _, _) = receipt(&mut rx).await;
        assert_eq!(id, r.message_id.to_vec());
    }
    esme.shutdown().await;
    let counts = sim.shutdown().await;
    assert_eq!((counts.submits, counts.accepted), (2, 2));
    assert_eq!(counts.receipts_scheduled, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_only_receipts_skip_delivered_messages_and_slow_answers_arrive() {
    let (sim, esme, mut rx) = start(SimConfig {
        resp_delay: Duration::from_millis(20),
        ..SimConfig::default()
    })
    .await;
    let submit = |rd: RegisteredDelivery| {
        Body::SubmitSm(Box::new(SubmitSm {
            source: addr("15550000001"),
            dest: addr("15550000002"),
            registered_delivery: rd,
            short_message: Bytes::from_static(b"hi"),
            ..Default::default()
        }))
    };
    // Every outcome is DELIVRD, and only failures are asked for: no receipt.
    let resp = esme
        .send(submit(RegisteredDelivery::FAILURE))
        .await
        .unwrap();
    assert_eq!(resp.command_status, CommandStatus::OK);
    // A final receipt is asked for: it comes (and is the only one).
    let resp = esme.send(submit(RegisteredDelivery::FINAL)).await.unwrap();
    let Body::SubmitSmResp(r) = resp.body else {
        panic!("{resp:?}")
    };
    let (id, state, _) = receipt(&mut rx).await;
    assert_eq!(
        (id, state),
        (r.message_id.to_vec(), MessageState::DELIVERED)
    );
    esme.shutdown().await;
    let counts = sim.shutdown().await;
    assert_eq!(counts.receipts_scheduled, 1);
    assert_eq!(counts.accepted, 2);
}
