//! Hostile and broken input: each kind of damage gets a typed error naming the field and the
//! status the peer should be answered with; lenient mode accepts what real carriers send.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use bytes::{BufMut, BytesMut};
use smpp_pdu::*;

/// Builds a frame from a command, a sequence number and body octets.
fn frame(id: CommandId, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut b = BytesMut::new();
    b.put_u32(16 + body.len() as u32);
    b.put_u32(id.0);
    b.put_u32(0);
    b.put_u32(seq);
    b.put_slice(body);
    b.to_vec()
}

/// A submit_sm body with the given addresses and message, no TLVs.
fn submit_body(source: &[u8], dest: &[u8], sm_length: u8, sm: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 1, 1];
    b.extend_from_slice(source);
    b.extend_from_slice(&[1, 1]);
    b.extend_from_slice(dest);
    // esm_class, protocol_id, priority_flag, schedule, validity, registered_delivery,
    // replace_if_present_flag, data_coding, sm_default_msg_id, sm_length
    b.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 0, 0, sm_length]);
    b.extend_from_slice(sm);
    b
}

fn decode_err(f: &[u8], opts: &DecodeOptions) -> Malformed {
    Pdu::decode(f, opts).expect_err("must be rejected")
}

#[test]
fn unknown_command_keeps_the_sequence_for_generic_nack() {
    let f = frame(CommandId(0x0000_0099), 42, b"whatever");
    let m = decode_err(&f, &DecodeOptions::STRICT);
    assert_eq!(m.error, Error::UnknownCommandId(CommandId(0x99)));
    let reply = m.reply_header().unwrap();
    assert_eq!(reply.command_id, CommandId::GENERIC_NACK);
    assert_eq!(reply.command_status, CommandStatus::INVCMDID);
    assert_eq!(reply.sequence_number, 42);
    let mut out = BytesMut::new();
    encode_header_only(&reply, &mut out);
    let nack = Pdu::decode(&out[..], &DecodeOptions::STRICT).unwrap();
    assert_eq!(
        (nack.body, nack.command_status, nack.sequence_number),
        (Body::GenericNack, CommandStatus::INVCMDID, 42)
    );
}

#[test]
fn overlong_destination_is_named_and_answered_with_invdstadr() {
    let dest = [b'1'; 30].iter().chain(&[0]).copied().collect::<Vec<_>>();
    let f = frame(
        CommandId::SUBMIT_SM,
        7,
        &submit_body(b"123\0", &dest, 2, b"hi"),
    );
    let m = decode_err(&f, &DecodeOptions::STRICT);
    assert_eq!(
        m.error,
        Error::TooLong {
            field: Field::DestinationAddr,
            max: 21
        }
    );
    let reply = m.reply_header().unwrap();
    assert_eq!(reply.command_id, CommandId::SUBMIT_SM_RESP);
    assert_eq!(reply.command_status, CommandStatus::INVDSTADR);
    // Lenient mode accepts the long address.
    let pdu = Pdu::decode(&f[..], &DecodeOptions::LENIENT).unwrap();
    let Body::SubmitSm(s) = pdu.body else {
        panic!()
    };
    assert_eq!(s.dest.addr.len(), 30);
}

#[test]
fn missing_nul_is_unterminated() {
    let f = frame(CommandId::SUBMIT_SM, 1, b"\0\x01\x0112345");
    assert_eq!(
        decode_err(&f, &DecodeOptions::STRICT).error,
        Error::Unterminated(Field::SourceAddr)
    );
}

#[test]
fn sm_length_disagreeing_with_the_body() {
    let f = frame(
        CommandId::SUBMIT_SM,
        1,
        &submit_body(b"1\0", b"2\0", 200, b"short"),
    );
    let m = decode_err(&f, &DecodeOptions::LENIENT);
    assert_eq!(
        m.error,
        Error::SmLength {
            sm_length: 200,
            available: 5
        }
    );
    assert_eq!(
        m.reply_header().unwrap().command_status,
        CommandStatus::INVMSGLEN
    );
}

#[test]
fn fields_past_the_end() {
    // The body stops after source_addr.
    let f = frame(CommandId::SUBMIT_SM, 1, b"\0\x01\x01123\0");
    assert_eq!(
        decode_err(&f, &DecodeOptions::STRICT).error,
        Error::Truncated(Field::DestAddrTon)
    );
    // A TLV header cut short after a valid body.
    let mut body = submit_body(b"1\0", b"2\0", 0, b"");
    body.extend_from_slice(&[0x02, 0x04, 0x00]);
    let f = frame(CommandId::SUBMIT_SM, 1, &body);
    let m = decode_err(&f, &DecodeOptions::LENIENT);
    assert_eq!(m.error, Error::TlvTruncated(TlvTag::USER_MESSAGE_REFERENCE));
    assert_eq!(
        m.reply_header().unwrap().command_status,
        CommandStatus::INVTLVSTREAM
    );
}

#[test]
fn bad_time_format_is_strict_only() {
    let mut body = vec![0, 1, 1, b'1', 0, 1, 1, b'2', 0, 0, 0, 0];
    body.extend_from_slice(b"tomorrow\0"); // schedule_delivery_time
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let f = frame(CommandId::SUBMIT_SM, 3, &body);
    let m = decode_err(&f, &DecodeOptions::STRICT);
    assert_eq!(m.error, Error::InvalidValue(Field::ScheduleDeliveryTime));
    assert_eq!(
        m.reply_header().unwrap().command_status,
        CommandStatus::INVSCHED
    );
    assert!(Pdu::decode(&f[..], &DecodeOptions::LENIENT).is_ok());
}

#[test]
fn lenient_accepts_a_resp_message_id_without_nul_and_padding() {
    let f = frame(CommandId::SUBMIT_SM_RESP, 9, b"ABC123");
    assert_eq!(
        decode_err(&f, &DecodeOptions::STRICT).error,
        Error::Unterminated(Field::MessageId)
    );
    let pdu = Pdu::decode(&f[..], &DecodeOptions::LENIENT).unwrap();
    assert!(matches!(pdu.body, Body::SubmitSmResp(ref r) if r.message_id == b"ABC123"));
    // enquire_link padded with zeros.
    let f = frame(CommandId::ENQUIRE_LINK, 1, &[0, 0, 0, 0]);
    assert_eq!(
        decode_err(&f, &DecodeOptions::STRICT).error,
        Error::TrailingBytes(4)
    );
    assert!(Pdu::decode(&f[..], &DecodeOptions::LENIENT).is_ok());
}

#[test]
fn a_bad_response_is_not_answered() {
    let f = frame(CommandId::QUERY_SM_RESP, 1, b"Q1\0\0");
    let m = decode_err(&f, &DecodeOptions::STRICT);
    assert_eq!(m.error, Error::Truncated(Field::MessageState));
    assert_eq!(m.reply_header(), None);
}

#[test]
fn submit_multi_count_cannot_outrun_the_frame() {
    let f = frame(CommandId::SUBMIT_MULTI, 1, b"\0\x01\x011\0\xFF\x01");
    assert_eq!(
        decode_err(&f, &DecodeOptions::STRICT).error,
        Error::Truncated(Field::NumberOfDests)
    );
    let f = frame(CommandId::SUBMIT_MULTI, 1, b"\0\x01\x011\0\x01\x07\0\0");
    let m = decode_err(&f, &DecodeOptions::STRICT);
    assert_eq!(m.error, Error::InvalidValue(Field::DestFlag));
    assert_eq!(
        m.reply_header().unwrap().command_status,
        CommandStatus::INVDESTFLAG
    );
}

#[test]
fn frame_length_must_match_and_respect_the_maximum() {
    let mut f = frame(CommandId::ENQUIRE_LINK, 1, &[]);
    f.push(0);
    assert!(matches!(
        decode_err(&f, &DecodeOptions::STRICT).error,
        Error::FrameLength {
            length: 16,
            actual: 17
        }
    ));
    let big = frame(CommandId::SUBMIT_SM, 1, &[0; 100]);
    let opts = DecodeOptions {
        strict: true,
        max_command_length: 64,
    };
    let m = decode_err(&big, &opts);
    assert!(m.error.is_fatal());
    let short = decode_err(&[0, 0, 0, 3], &DecodeOptions::STRICT);
    assert_eq!(short.error, Error::CommandLengthTooShort(4));
}

#[test]
fn encode_refuses_what_the_wire_cannot_carry() {
    let mut s = SubmitSm::<&[u8]>::default();
    let long = [b'x'; 300];
    s.short_message = &long;
    let mut buf = BytesMut::from(&b"keep"[..]);
    let pdu = Pdu::new(1, Body::SubmitSm(Box::new(s)));
    assert_eq!(
        pdu.encode(&mut buf),
        Err(Error::Unencodable(Field::ShortMessage))
    );
    assert_eq!(&buf[..], b"keep", "buffer left as it was");
    let mut s = SubmitSm::<&[u8]>::default();
    s.source.addr = b"12\x003";
    assert_eq!(
        Pdu::new(1, Body::SubmitSm(Box::new(s))).encode(&mut buf),
        Err(Error::Unencodable(Field::SourceAddr))
    );
}

#[test]
fn every_error_names_its_field_in_its_message() {
    let e = Error::TooLong {
        field: Field::DestinationAddr,
        max: 21,
    };
    assert_eq!(e.to_string(), "destination_addr is longer than 21 octets");
    assert_eq!(
        Error::Unterminated(Field::SystemId).to_string(),
        "system_id has no NUL terminator"
    );
}
