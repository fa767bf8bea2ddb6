//! Cross-checks with the `rusmpp` crate, an SMPP 5.0 codec written independently of ours:
//! it decodes what we encode to the same fields (and re-encodes the same octets), and we decode
//! what it encodes.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use bytes::{Bytes, BytesMut};
use rusmpp::decode::DecodeWithLength;
use rusmpp::encode::{Encode, Length};
use rusmpp::Command;
use smpp_pdu::{Body, DecodeOptions, Pdu};

/// Decodes a whole frame with rusmpp.
fn rusmpp_decode(frame: &[u8]) -> Command {
    let mut buf = BytesMut::from(&frame[4..]);
    let (command, size) = Command::decode(&mut buf, frame.len() - 4)
        .unwrap_or_else(|e| panic!("rusmpp rejects {frame:02x?}: {e:?}"));
    assert_eq!(size, frame.len() - 4);
    command
}

/// Encodes a command with rusmpp, length prefix included.
fn rusmpp_encode(command: &Command) -> Vec<u8> {
    let len = command.length();
    let mut out = vec![0u8; 4 + len];
    out[..4].copy_from_slice(&((4 + len) as u32).to_be_bytes());
    let written = command.encode(&mut out[4..]);
    assert_eq!(written, len);
    out
}

/// Where rusmpp reads the spec differently: it takes `broadcast_rep_num` (0x0604) as one
/// octet, where SMPP 5.0 (and node-smpp, among others) has a 2-octet integer.
const RUSMPP_DIVERGES: &[&str] = &["broadcast_sm"];

#[test]
fn rusmpp_reads_every_vector_as_we_wrote_it() {
    let mut checked = 0;
    for (name, frame) in support::vectors() {
        if RUSMPP_DIVERGES.contains(&name.as_str()) {
            continue;
        }
        let command = rusmpp_decode(&frame);
        assert_eq!(
            command.sequence_number,
            u32::from_be_bytes([frame[12], frame[13], frame[14], frame[15]])
        );
        assert_eq!(
            u32::from(command.id()),
            u32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]),
            "{name}"
        );
        // Re-encoding what rusmpp read gives our octets back: every field was read the same.
        assert_eq!(rusmpp_encode(&command), &frame[..], "{name}");
        checked += 1;
    }
    assert_eq!(checked, 34);
}

#[test]
fn fields_agree_on_submit_sm_and_receipt() {
    let vectors = support::vectors();
    let find = |n: &str| {
        vectors
            .iter()
            .find(|(name, _)| name == n)
            .unwrap()
            .1
            .clone()
    };

    let frame = find("submit_sm");
    let ours = Pdu::decode(frame.clone(), &DecodeOptions::STRICT).unwrap();
    let Body::SubmitSm(ours) = ours.body else {
        panic!()
    };
    let Some(rusmpp::Pdu::SubmitSm(theirs)) = rusmpp_decode(&frame).pdu().cloned() else {
        panic!()
    };
    // rusmpp keeps a C-string's NUL in its bytes; ours are the characters alone.
    let cstr = |b: &[u8]| b.strip_suffix(&[0]).unwrap_or(b).to_vec();
    assert_eq!(cstr(theirs.source_addr.as_ref()), &ours.source.addr[..]);
    assert_eq!(cstr(theirs.destination_addr.as_ref()), &ours.dest.addr[..]);
    assert_eq!(theirs.short_message().as_ref(), &ours.short_message[..]);
    assert_eq!(theirs.tlvs().len(), ours.tlvs.iter().count());

    let frame = find("deliver_sm_receipt");
    let ours = Pdu::decode(frame.clone(), &DecodeOptions::STRICT).unwrap();
    let Body::DeliverSm(ours) = ours.body else {
        panic!()
    };
    let Some(rusmpp::Pdu::DeliverSm(theirs)) = rusmpp_decode(&frame).pdu().cloned() else {
        panic!()
    };
    assert_eq!(theirs.short_message().as_ref(), &ours.short_message[..]);
    let tags: Vec<u16> = theirs.tlvs().iter().map(|t| u16::from(t.tag())).collect();
    let our_tags: Vec<u16> = ours.tlvs.iter().map(|t| t.tag.0).collect();
    assert_eq!(tags, our_tags);
}

#[test]
fn we_read_what_rusmpp_writes() {
    use rusmpp::pdus::{BindTransceiver, SubmitSm};
    use rusmpp::types::{COctetString, OctetString};
    use rusmpp::values::{InterfaceVersion, Npi, RegisteredDelivery, Ton};
    use rusmpp::CommandStatus;
    use std::str::FromStr;

    let bind = Command::builder()
        .status(CommandStatus::EsmeRok)
        .sequence_number(7)
        .pdu(
            BindTransceiver::builder()
                .system_id(COctetString::from_str("esme").unwrap())
                .password(COctetString::from_str("secret").unwrap())
                .system_type(COctetString::empty())
                .interface_version(InterfaceVersion::Smpp3_4)
                .addr_ton(Ton::International)
                .addr_npi(Npi::Isdn)
                .address_range(COctetString::empty())
                .build(),
        );
    let wire = Bytes::from(rusmpp_encode(&bind));
    let pdu = Pdu::decode(wire.clone(), &DecodeOptions::STRICT).unwrap();
    assert_eq!(pdu.sequence_number, 7);
    let Body::BindTransceiver(b) = &pdu.body else {
        panic!("{pdu:?}")
    };
    assert_eq!(
        (&b.system_id[..], &b.password[..]),
        (&b"esme"[..], &b"secret"[..])
    );
    assert_eq!(b.interface_version, 0x34);
    let mut again = BytesMut::new();
    pdu.encode(&mut again).unwrap();
    assert_eq!(&again[..], &wire[..]);

    let submit = Command::builder()
        .status(CommandStatus::EsmeRok)
        .sequence_number(8)
        .pdu(
            SubmitSm::builder()
                .source_addr(COctetString::from_str("12345").unwrap())
                .dest_addr_ton(Ton::International)
                .destination_addr(COctetString::from_str("447700900123").unwrap())
                .registered_delivery(RegisteredDelivery::request_all())
                .short_message(OctetString::from_str("Hello from rusmpp").unwrap())
                .build(),
        );
    let wire = Bytes::from(rusmpp_encode(&submit));
    let pdu = Pdu::decode(wire.clone(), &DecodeOptions::STRICT).unwrap();
    let Body::SubmitSm(s) = &pdu.body else {
        panic!()
    };
    assert_eq!(&s.source.addr[..], b"12345");
    assert_eq!(&s.dest.addr[..], b"447700900123");
    assert_eq!(&s.short_message[..], b"Hello from rusmpp");
    assert!(s.registered_delivery.wants_receipt());
    let mut again = BytesMut::new();
    pdu.encode(&mut again).unwrap();
    assert_eq!(&again[..], &wire[..]);
}

mod generated {
    use super::*;
    use proptest::prelude::*;
    use smpp_pdu::{
        Address, DataCoding, EsmClass, Npi, RegisteredDelivery, SubmitSm, TlvTag, TlvsBuilder, Ton,
    };

    fn cstr(max: usize) -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(0x20u8..0x7f, 0..max).prop_map(Bytes::from)
    }

    prop_compose! {
        fn submit()(
            src in cstr(21), dst in cstr(21), ton in 0u8..7, npi in prop_oneof![Just(0u8), Just(1), Just(8)],
            esm in prop_oneof![Just(0u8), Just(0x40), Just(0x04)], dc in prop_oneof![Just(0u8), Just(8), Just(4)],
            sm in proptest::collection::vec(any::<u8>(), 0..=254),
            umr in proptest::option::of(any::<u16>()), sar in proptest::option::of((any::<u16>(), 1u8..5)),
        ) -> SubmitSm {
            let mut t = TlvsBuilder::new();
            if let Some(v) = umr { t.u16(TlvTag::USER_MESSAGE_REFERENCE, v); }
            if let Some((r, n)) = sar { t.sar(r, n, 1); }
            SubmitSm {
                source: Address::new(Ton(ton), Npi(npi), src),
                dest: Address::new(Ton(ton), Npi(npi), dst),
                esm_class: EsmClass(esm),
                registered_delivery: RegisteredDelivery(1),
                data_coding: DataCoding(dc),
                short_message: Bytes::from(sm),
                tlvs: t.build(),
                ..Default::default()
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        /// rusmpp reads every submit_sm and deliver_sm we write and writes back our octets.
        #[test]
        fn rusmpp_agrees_on_generated_messages(s in submit(), deliver in any::<bool>(), seq in 1u32..0x7FFF_FFFF) {
            let body = if deliver { Body::DeliverSm(Box::new(s)) } else { Body::SubmitSm(Box::new(s)) };
            let mut wire = BytesMut::new();
            Pdu::new(seq, body).encode(&mut wire).unwrap();
            let command = rusmpp_decode(&wire);
            prop_assert_eq!(command.sequence_number, seq);
            prop_assert_eq!(rusmpp_encode(&command), &wire[..]);
        }
    }
}
