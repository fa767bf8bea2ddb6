//! Known-answer vectors: one hand-written PDU per command of SMPP 3.4 and 5.0 (`vectors/*.hex`,
//! a comment per field, written from the spec's field tables). Each must decode to the fields
//! written there and re-encode to the same octets.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use bytes::{Bytes, BytesMut};
use smpp_pdu::{
    Body, CommandId, CommandStatus, DecodeOptions, MessageState, MultiDest, Npi, Pdu, TlvTag, Ton,
};

fn load(text: &str) -> Bytes {
    let hex: String = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("")
        .split_whitespace()
        .collect();
    Bytes::from(hex::decode(hex).expect("vector is hex"))
}

macro_rules! vector {
    ($name:literal) => {
        load(include_str!(concat!("vectors/", $name, ".hex")))
    };
}

/// Decodes strictly (owned and borrowed), checks the command and re-encodes byte for byte.
fn roundtrip(frame: &Bytes, id: CommandId) -> Pdu {
    let pdu = Pdu::decode(frame.clone(), &DecodeOptions::STRICT).expect("vector decodes");
    assert_eq!(pdu.command_id(), id);
    let borrowed = Pdu::decode(&frame[..], &DecodeOptions::STRICT).expect("borrowed decodes");
    assert_eq!(borrowed.command_id(), id);
    let mut out = BytesMut::new();
    pdu.encode(&mut out).expect("encodes");
    assert_eq!(&out[..], &frame[..], "{id} re-encodes to the vector");
    let mut out2 = BytesMut::new();
    borrowed.encode(&mut out2).expect("encodes");
    assert_eq!(&out2[..], &frame[..]);
    pdu
}

#[test]
fn binds() {
    for (frame, id, seq) in [
        (vector!("bind_transmitter"), CommandId::BIND_TRANSMITTER, 1),
        (vector!("bind_receiver"), CommandId::BIND_RECEIVER, 2),
        (vector!("bind_transceiver"), CommandId::BIND_TRANSCEIVER, 3),
    ] {
        let pdu = roundtrip(&frame, id);
        assert_eq!(pdu.sequence_number, seq);
        let (Body::BindTransmitter(b) | Body::BindReceiver(b) | Body::BindTransceiver(b)) =
            pdu.body
        else {
            panic!("not a bind: {:?}", pdu.body);
        };
        assert_eq!(&b.system_id[..], b"SMPP3TEST");
        assert_eq!(&b.password[..], b"secret08");
        assert_eq!(&b.system_type[..], b"SUBMIT1");
        assert_eq!(b.interface_version, 0x34);
        assert_eq!((b.addr_ton, b.addr_npi), (Ton::INTERNATIONAL, Npi::ISDN));
        assert!(b.address_range.is_empty());
    }
    for (frame, id) in [
        (
            vector!("bind_transmitter_resp"),
            CommandId::BIND_TRANSMITTER_RESP,
        ),
        (vector!("bind_receiver_resp"), CommandId::BIND_RECEIVER_RESP),
        (
            vector!("bind_transceiver_resp"),
            CommandId::BIND_TRANSCEIVER_RESP,
        ),
    ] {
        let pdu = roundtrip(&frame, id);
        let (Body::BindTransmitterResp(r)
        | Body::BindReceiverResp(r)
        | Body::BindTransceiverResp(r)) = pdu.body
        else {
            panic!("not a bind resp");
        };
        assert_eq!(&r.system_id[..], b"SMSC");
        assert_eq!(r.tlvs.sc_interface_version(), Some(0x34));
    }
}

#[test]
fn bind_resp_with_error_has_no_body() {
    let frame = vector!("bind_transceiver_resp_error");
    let pdu = Pdu::decode(frame.clone(), &DecodeOptions::STRICT).unwrap();
    assert_eq!(pdu.command_status, CommandStatus::INVPASWD);
    let Body::BindTransceiverResp(r) = &pdu.body else {
        panic!()
    };
    assert!(r.system_id.is_empty() && r.tlvs.is_empty());
    assert_eq!(frame.len(), 16);
}

#[test]
fn outbind_and_empty_bodies() {
    let pdu = roundtrip(&vector!("outbind"), CommandId::OUTBIND);
    let Body::Outbind(o) = pdu.body else { panic!() };
    assert_eq!(
        (&o.system_id[..], &o.password[..]),
        (&b"SMSC"[..], &b"pw"[..])
    );
    for (frame, id) in [
        (vector!("unbind"), CommandId::UNBIND),
        (vector!("unbind_resp"), CommandId::UNBIND_RESP),
        (vector!("enquire_link"), CommandId::ENQUIRE_LINK),
        (vector!("enquire_link_resp"), CommandId::ENQUIRE_LINK_RESP),
        (vector!("cancel_sm_resp"), CommandId::CANCEL_SM_RESP),
        (vector!("replace_sm_resp"), CommandId::REPLACE_SM_RESP),
        (
            vector!("cancel_broadcast_sm_resp"),
            CommandId::CANCEL_BROADCAST_SM_RESP,
        ),
    ] {
        assert_eq!(frame.len(), 16);
        roundtrip(&frame, id);
    }
    let nack = roundtrip(&vector!("generic_nack"), CommandId::GENERIC_NACK);
    assert_eq!(nack.command_status, CommandStatus::INVCMDID);
}

#[test]
fn submit_sm() {
    let pdu = roundtrip(&vector!("submit_sm"), CommandId::SUBMIT_SM);
    assert_eq!(pdu.sequence_number, 0x10);
    let Body::SubmitSm(s) = pdu.body else {
        panic!()
    };
    assert_eq!(&s.source.addr[..], b"12345");
    assert_eq!(&s.dest.addr[..], b"447700900123");
    assert_eq!(s.dest.ton, Ton::INTERNATIONAL);
    assert_eq!(s.priority_flag, 1);
    assert_eq!(&s.validity_period[..], b"000001000000000R");
    assert!(s.registered_delivery.wants_receipt());
    assert_eq!(&s.short_message[..], b"Hello world");
    assert_eq!(s.tlvs.user_message_reference(), Some(7));
    assert_eq!(s.tlvs.source_port(), Some(1234));
    assert_eq!(s.payload(), b"Hello world");
}

#[test]
fn message_id_responses() {
    let pdu = roundtrip(&vector!("submit_sm_resp"), CommandId::SUBMIT_SM_RESP);
    let Body::SubmitSmResp(r) = pdu.body else {
        panic!()
    };
    assert_eq!(&r.message_id[..], b"0A1B2C3D");

    let pdu = Pdu::decode(vector!("submit_sm_resp_throttled"), &DecodeOptions::STRICT).unwrap();
    assert_eq!(pdu.command_status, CommandStatus::THROTTLED);
    assert!(matches!(pdu.body, Body::SubmitSmResp(ref r) if r.message_id.is_empty()));

    let pdu = roundtrip(&vector!("deliver_sm_resp"), CommandId::DELIVER_SM_RESP);
    assert!(matches!(pdu.body, Body::DeliverSmResp(ref r) if r.message_id.is_empty()));
    let pdu = roundtrip(&vector!("data_sm_resp"), CommandId::DATA_SM_RESP);
    assert!(matches!(pdu.body, Body::DataSmResp(ref r) if &r.message_id[..] == b"D1"));
    let pdu = roundtrip(&vector!("broadcast_sm_resp"), CommandId::BROADCAST_SM_RESP);
    assert!(matches!(pdu.body, Body::BroadcastSmResp(ref r) if &r.message_id[..] == b"B1"));
}

#[test]
fn deliver_sm_receipt() {
    let pdu = roundtrip(&vector!("deliver_sm_receipt"), CommandId::DELIVER_SM);
    let Body::DeliverSm(d) = pdu.body else {
        panic!()
    };
    assert!(d.esm_class.is_receipt());
    assert!(d.short_message.starts_with(b"id:0123456789 sub:001"));
    assert_eq!(d.tlvs.receipted_message_id(), Some(&b"0123456789"[..]));
    assert_eq!(d.tlvs.message_state(), Some(MessageState::DELIVERED));
    let nec = d.tlvs.network_error_code().unwrap();
    assert_eq!((nec.network_type, nec.error_code), (3, 0));
}

#[test]
fn submit_multi_and_resp() {
    let pdu = roundtrip(&vector!("submit_multi"), CommandId::SUBMIT_MULTI);
    let Body::SubmitMulti(m) = pdu.body else {
        panic!()
    };
    assert_eq!(&m.service_type[..], b"CMT");
    assert_eq!(m.source.ton, Ton::ALPHANUMERIC);
    assert_eq!(m.dests.len(), 2);
    assert!(matches!(&m.dests[0], MultiDest::Sme(a) if &a.addr[..] == b"15550001"));
    assert!(matches!(&m.dests[1], MultiDest::DistributionList(n) if &n[..] == b"staff"));
    assert_eq!(&m.schedule_delivery_time[..], b"230101120000004+");
    assert_eq!(m.data_coding.0, 8);
    assert_eq!(&m.short_message[..], &[0, b'H', 0, b'i']);

    let pdu = roundtrip(&vector!("submit_multi_resp"), CommandId::SUBMIT_MULTI_RESP);
    let Body::SubmitMultiResp(r) = pdu.body else {
        panic!()
    };
    assert_eq!(&r.message_id[..], b"M1");
    assert_eq!(r.unsuccess.len(), 1);
    assert_eq!(&r.unsuccess[0].address.addr[..], b"15550001");
    assert_eq!(r.unsuccess[0].error_status, CommandStatus::INVDSTADR);
}

#[test]
fn data_sm() {
    let pdu = roundtrip(&vector!("data_sm"), CommandId::DATA_SM);
    let Body::DataSm(d) = pdu.body else { panic!() };
    assert_eq!(&d.dest.addr[..], b"447700900123");
    assert_eq!(d.tlvs.message_payload(), Some(&b"payload"[..]));
}

#[test]
fn query_cancel_replace_alert() {
    let pdu = roundtrip(&vector!("query_sm"), CommandId::QUERY_SM);
    assert!(
        matches!(pdu.body, Body::QuerySm(ref q) if &q.message_id[..] == b"Q1" && &q.source.addr[..] == b"12345")
    );
    let pdu = roundtrip(&vector!("query_sm_resp"), CommandId::QUERY_SM_RESP);
    let Body::QuerySmResp(q) = pdu.body else {
        panic!()
    };
    assert_eq!(&q.final_date[..], b"230101120000000+");
    assert_eq!(q.message_state, MessageState::DELIVERED);
    let pdu = roundtrip(&vector!("cancel_sm"), CommandId::CANCEL_SM);
    assert!(
        matches!(pdu.body, Body::CancelSm(ref c) if &c.message_id[..] == b"C1" && &c.dest.addr[..] == b"15550001")
    );
    let pdu = roundtrip(&vector!("replace_sm"), CommandId::REPLACE_SM);
    assert!(
        matches!(pdu.body, Body::ReplaceSm(ref r) if &r.short_message[..] == b"new" && r.registered_delivery.wants_receipt())
    );
    let pdu = roundtrip(
        &vector!("alert_notification"),
        CommandId::ALERT_NOTIFICATION,
    );
    let Body::AlertNotification(a) = pdu.body else {
        panic!()
    };
    assert_eq!(&a.esme.addr[..], b"12345");
    assert_eq!(a.tlvs.ms_availability_status(), Some(0));
}

#[test]
fn broadcast() {
    let pdu = roundtrip(&vector!("broadcast_sm"), CommandId::BROADCAST_SM);
    let Body::BroadcastSm(b) = pdu.body else {
        panic!()
    };
    assert_eq!(
        b.tlvs.get(TlvTag::BROADCAST_AREA_IDENTIFIER),
        Some(&b"\x00AREA"[..])
    );
    assert_eq!(b.tlvs.get_int(TlvTag::BROADCAST_REP_NUM), Some(1));
    assert_eq!(b.tlvs.message_payload(), Some(&b"alert"[..]));
    let pdu = roundtrip(
        &vector!("query_broadcast_sm"),
        CommandId::QUERY_BROADCAST_SM,
    );
    assert!(matches!(pdu.body, Body::QueryBroadcastSm(ref q) if &q.message_id[..] == b"B1"));
    let pdu = roundtrip(
        &vector!("query_broadcast_sm_resp"),
        CommandId::QUERY_BROADCAST_SM_RESP,
    );
    let Body::QueryBroadcastSmResp(r) = pdu.body else {
        panic!()
    };
    assert_eq!(r.tlvs.message_state(), Some(MessageState(1)));
    assert_eq!(r.tlvs.get_int(TlvTag::BROADCAST_AREA_SUCCESS), Some(100));
    let pdu = roundtrip(
        &vector!("cancel_broadcast_sm"),
        CommandId::CANCEL_BROADCAST_SM,
    );
    assert!(matches!(pdu.body, Body::CancelBroadcastSm(ref c) if &c.message_id[..] == b"B1"));
}
