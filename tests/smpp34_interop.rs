//! Cross-checks with the `smpp34` crate, an SMPP 3.4 codec written independently of ours: it
//! decodes our vectors and writes back the same octets, and we decode what it encodes.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use bytes::{Bytes, BytesMut};
use smpp34::CommandHeader;
use smpp_pdu::{Body, DecodeOptions, Pdu};

/// Decodes `frame` with smpp34's type for it and encodes that back.
macro_rules! through_smpp34 {
    ($ty:ty, $frame:expr) => {{
        let header = CommandHeader::decode($frame).unwrap();
        <$ty>::decode(header, $frame).unwrap().encode()
    }};
}

#[test]
fn smpp34_reads_our_vectors_and_writes_them_back() {
    let vectors = support::vectors();
    let mut checked = 0;
    for (name, frame) in &vectors {
        let f = &frame[..];
        let back: Vec<u8> = match name.as_str() {
            "alert_notification" => through_smpp34!(smpp34::alert_notification, f),
            "bind_receiver" => through_smpp34!(smpp34::bind_receiver, f),
            "bind_transceiver" => through_smpp34!(smpp34::bind_transceiver, f),
            "bind_transmitter" => through_smpp34!(smpp34::bind_transmitter, f),
            // smpp34 1.5.1's cancel_sm decoder, unlike its others, takes the body alone.
            "cancel_sm" => smpp34::cancel_sm::decode(CommandHeader::decode(f).unwrap(), &f[16..])
                .unwrap()
                .encode(),
            "data_sm" => through_smpp34!(smpp34::data_sm, f),
            "data_sm_resp" => through_smpp34!(smpp34::data_sm_resp, f),
            "deliver_sm_receipt" => through_smpp34!(smpp34::deliver_sm, f),
            "enquire_link" => through_smpp34!(smpp34::enquire_link, f),
            "generic_nack" => through_smpp34!(smpp34::generic_nack, f),
            "outbind" => through_smpp34!(smpp34::outbind, f),
            "query_sm" => through_smpp34!(smpp34::query_sm, f),
            "query_sm_resp" => through_smpp34!(smpp34::query_sm_resp, f),
            "replace_sm" => through_smpp34!(smpp34::replace_sm, f),
            "submit_sm" => through_smpp34!(smpp34::submit_sm, f),
            "submit_sm_resp" => through_smpp34!(smpp34::submit_sm_resp, f),
            "submit_multi" => through_smpp34!(smpp34::submit_sm_multi, f),
            "submit_multi_resp" => through_smpp34!(smpp34::submit_sm_multi_resp, f),
            "unbind_resp" => through_smpp34!(smpp34::unbind_resp, f),
            _ => continue,
        };
        assert_eq!(back, f, "{name}: smpp34 wrote back different octets");
        checked += 1;
    }
    assert_eq!(checked, 19);
}

#[test]
fn fields_agree_on_submit_sm() {
    let vectors = support::vectors();
    let frame = &vectors.iter().find(|(n, _)| n == "submit_sm").unwrap().1;
    let theirs = smpp34::submit_sm::decode(CommandHeader::decode(frame).unwrap(), frame).unwrap();
    let Body::SubmitSm(ours) = Pdu::decode(frame.clone(), &DecodeOptions::STRICT)
        .unwrap()
        .body
    else {
        panic!()
    };
    assert_eq!(theirs.source_addr.as_bytes(), &ours.source.addr[..]);
    assert_eq!(theirs.destination_addr.as_bytes(), &ours.dest.addr[..]);
    assert_eq!(theirs.validity_period.as_bytes(), &ours.validity_period[..]);
    assert_eq!(&theirs.short_message[..], &ours.short_message[..]);
    let tags: Vec<u16> = theirs.tlvs.iter().map(|t| t.tag).collect();
    assert_eq!(tags, ours.tlvs.iter().map(|t| t.tag.0).collect::<Vec<_>>());
}

#[test]
fn we_read_what_smpp34_writes() {
    let mut resp = smpp34::submit_sm_resp::decode(
        CommandHeader {
            command_length: 16 + 9,
            command_id: 0x8000_0004,
            command_status: 0,
            sequence_number: 42,
        },
        b"\0\0\0\x19\x80\0\0\x04\0\0\0\0\0\0\0\x2a0A1B2C3D\0",
    )
    .unwrap();
    resp.message_id = Some("FFEE0011".into());
    let wire = Bytes::from(resp.encode());
    let pdu = Pdu::decode(wire.clone(), &DecodeOptions::STRICT).unwrap();
    assert_eq!(pdu.sequence_number, 42);
    assert!(matches!(&pdu.body, Body::SubmitSmResp(r) if &r.message_id[..] == b"FFEE0011"));

    let wire = Bytes::from(smpp34::enquire_link::new(99).encode());
    let pdu = Pdu::decode(wire.clone(), &DecodeOptions::STRICT).unwrap();
    assert_eq!(
        (pdu.body.clone(), pdu.sequence_number),
        (Body::EnquireLink, 99)
    );
    let mut again = BytesMut::new();
    pdu.encode(&mut again).unwrap();
    assert_eq!(&again[..], &wire[..]);
}
