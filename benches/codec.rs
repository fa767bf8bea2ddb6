//! Codec benchmark: our decoder and encoder beside two independent Rust SMPP codecs, `rusmpp`
//! (owned and borrowed decoders) and `smpp34`, on the same octets in the same run.
//!
//! Three PDUs, the ones a router handles most: a submit_sm with a 160-character GSM text and two
//! TLVs, a deliver_sm carrying a delivery receipt (text and TLVs), and an enquire_link.
//! Each peer's work is what a caller of its public API does: decode a whole frame into its PDU
//! type; encode a PDU value into octets (into a reused buffer where the API allows it).
//!
//! Every timed closure treats its codec alike: the input goes through `black_box`, a reference
//! to the result is handed to `std::hint::black_box` (the result must exist in memory, but is
//! not copied: moving a value into `black_box` would charge each codec a memcpy of its result
//! type's size — 16 octets for smpp34's enquire_link, 152 for our `Pdu`), the result is dropped
//! inside the timed region (freeing what the codec allocated is part of using it), and the
//! closure returns `()`. criterion's own `black_box`
//! (applied to whatever a closure returns) is a volatile read of the whole value, which would
//! charge each codec for the size of its result type rather than for its work.
//!
//! `cargo bench -p smpp-conformance --bench codec` — criterion prints ns per PDU for each;
//! the ratios go in the README's performance section.
#![allow(missing_docs, clippy::unwrap_used)] // a benchmark: a failed unwrap is a broken setup

use bytes::{Bytes, BytesMut};
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rusmpp::decode::DecodeWithLength as _;
use rusmpp::encode::{Encode as _, Length as _};
use rusmpp_core::decode::borrowed::DecodeWithLength as _;
use smpp_pdu::receipt::{self, ReceiptFields};
use smpp_pdu::text::gsm7;
use smpp_pdu::{
    Address, Body, DataCoding, DecodeOptions, EsmClass, MessageState, Npi, Pdu, RegisteredDelivery,
    SubmitSm, TlvTag, TlvsBuilder, Ton,
};

/// One frame of each kind, written by our encoder (the interop tests show both peers read them
/// as we do).
struct Frames {
    submit_sm: Bytes,
    deliver_sm: Bytes,
    enquire_link: Bytes,
}

fn frames() -> Frames {
    let text = "Your verification code is 482913. It expires in 10 minutes. Never share this code \
                with anyone, not even our staff. Questions about your account? Reply HELP now.";
    assert_eq!(text.len(), 160);
    let mut septets = BytesMut::new();
    gsm7::encode_unpacked(text, &mut septets).unwrap();
    assert_eq!(septets.len(), 160);
    let mut tlvs = TlvsBuilder::new();
    tlvs.u16(TlvTag::USER_MESSAGE_REFERENCE, 0x1234)
        .u16(TlvTag::SOURCE_PORT, 9200);
    let submit = SubmitSm {
        source: Address::new(Ton(5), Npi(0), Bytes::from_static(b"ACME")),
        dest: Address::new(Ton(1), Npi(1), Bytes::from_static(b"447700900123")),
        registered_delivery: RegisteredDelivery(1),
        data_coding: DataCoding(0),
        short_message: septets.freeze(),
        tlvs: tlvs.build(),
        ..Default::default()
    };

    let mut text = BytesMut::new();
    receipt::format(
        &ReceiptFields {
            id: b"0A1B2C3D4E",
            sub: 1,
            dlvrd: 1,
            submit_date: b"2611230412",
            done_date: b"2611230413",
            state: MessageState::DELIVERED,
            err: 0,
            text: b"Your verification c",
        },
        &mut text,
    );
    let mut tlvs = TlvsBuilder::new();
    tlvs.receipted_message_id(b"0A1B2C3D4E")
        .unwrap()
        .message_state(MessageState::DELIVERED);
    let deliver = SubmitSm {
        source: Address::new(Ton(1), Npi(1), Bytes::from_static(b"447700900123")),
        dest: Address::new(Ton(5), Npi(0), Bytes::from_static(b"ACME")),
        esm_class: EsmClass(0x04),
        short_message: text.freeze(),
        tlvs: tlvs.build(),
        ..Default::default()
    };

    let encode = |body: Body| {
        let mut out = BytesMut::new();
        Pdu::new(0x0102_0304, body).encode(&mut out).unwrap();
        out.freeze()
    };
    Frames {
        submit_sm: encode(Body::SubmitSm(Box::new(submit))),
        deliver_sm: encode(Body::DeliverSm(Box::new(deliver))),
        enquire_link: encode(Body::EnquireLink),
    }
}

fn rusmpp_owned(frame: &[u8]) -> rusmpp::Command {
    let mut buf = BytesMut::from(&frame[4..]);
    rusmpp::Command::decode(&mut buf, frame.len() - 4)
        .unwrap()
        .0
}

type RusmppBorrowed<'a> = rusmpp_core::command::borrowed::Command<'a, 16>;

fn smpp34_decode(name: &str, f: &[u8]) -> Vec<u8> {
    let header = smpp34::CommandHeader::decode(f).unwrap();
    match name {
        "submit_sm" => smpp34::submit_sm::decode(header, f).unwrap().encode(),
        "deliver_sm" => smpp34::deliver_sm::decode(header, f).unwrap().encode(),
        _ => smpp34::enquire_link::decode(header, f).unwrap().encode(),
    }
}

fn smpp34_encode<T: Clone + Smpp34Encode>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    pdu: T,
) {
    g.bench_function("smpp34", |b| {
        b.iter_batched(
            || pdu.clone(),
            |pdu| {
                black_box(pdu.encode());
            },
            BatchSize::SmallInput,
        )
    });
}

/// smpp34's PDU types each have an inherent `encode(self) -> Vec<u8>`; this names it once.
trait Smpp34Encode {
    fn encode(self) -> Vec<u8>;
}

macro_rules! smpp34_encode {
    ($($ty:ty),*) => {$(
        impl Smpp34Encode for $ty {
            fn encode(self) -> Vec<u8> {
                <$ty>::encode(self)
            }
        }
    )*};
}
smpp34_encode!(smpp34::submit_sm, smpp34::deliver_sm, smpp34::enquire_link);

fn bench(c: &mut Criterion) {
    let frames = frames();
    let opts = DecodeOptions::STRICT;
    for (name, frame) in [
        ("submit_sm", &frames.submit_sm),
        ("deliver_sm", &frames.deliver_sm),
        ("enquire_link", &frames.enquire_link),
    ] {
        // Every decoder must read the frame whole, or the comparison means nothing.
        assert_eq!(smpp34_decode(name, frame), &frame[..], "{name}: smpp34");
        let owned = rusmpp_owned(frame);
        let mut theirs = vec![0u8; 4 + owned.length()];
        owned.encode(&mut theirs[4..]);
        assert_eq!(&theirs[4..], &frame[4..], "{name}: rusmpp");

        let mut g = c.benchmark_group(format!("decode/{name}"));
        g.bench_function("smpp-pdu (Bytes)", |b| {
            b.iter(|| {
                let r = Pdu::decode(black_box(frame).clone(), &opts);
                black_box(&r);
            })
        });
        g.bench_function("smpp-pdu (&[u8])", |b| {
            b.iter(|| {
                let r = Pdu::decode(black_box(&frame[..]), &opts);
                black_box(&r);
            })
        });
        g.bench_function("rusmpp (borrowed)", |b| {
            b.iter(|| {
                let f = black_box(&frame[..]);
                let r = RusmppBorrowed::decode(&f[4..], f.len() - 4);
                black_box(&r);
            })
        });
        // rusmpp's owned decoder consumes a BytesMut; making it is setup, not timed (dropping
        // the decoded command is, as for the others).
        g.bench_function("rusmpp (owned)", |b| {
            b.iter_batched_ref(
                || BytesMut::from(&frame[4..]),
                |buf| {
                    let r = rusmpp::Command::decode(buf, frame.len() - 4);
                    black_box(&r);
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_function("smpp34", |b| {
            b.iter(|| {
                let f = black_box(&frame[..]);
                // smpp34 has a decoder per type: dispatch on command_id as its server does.
                let header = smpp34::CommandHeader::decode(f).unwrap();
                match header.command_id {
                    0x0000_0004 => {
                        let r = smpp34::submit_sm::decode(header, f);
                        black_box(&r);
                    }
                    0x0000_0005 => {
                        let r = smpp34::deliver_sm::decode(header, f);
                        black_box(&r);
                    }
                    0x0000_0015 => {
                        let r = smpp34::enquire_link::decode(header, f);
                        black_box(&r);
                    }
                    other => panic!("no decoder for {other:#x}"),
                }
            })
        });
        g.finish();

        let ours = Pdu::decode(frame.clone(), &opts).unwrap();
        let header = smpp34::CommandHeader::decode(frame).unwrap();
        let mut g = c.benchmark_group(format!("encode/{name}"));
        g.bench_function("smpp-pdu", |b| {
            let mut buf = BytesMut::with_capacity(512);
            b.iter(|| {
                buf.clear();
                black_box(&ours).encode(&mut buf).unwrap();
            })
        });
        g.bench_function("rusmpp", |b| {
            let mut buf = vec![0u8; 512];
            b.iter(|| {
                let c = black_box(&owned);
                let len = c.length();
                buf[..4].copy_from_slice(&(4 + len as u32).to_be_bytes());
                black_box(c.encode(&mut buf[4..4 + len]));
            })
        });
        // smpp34's encode consumes the PDU: the clone is setup, not timed.
        match name {
            "submit_sm" => {
                let pdu = smpp34::submit_sm::decode(header, frame).unwrap();
                smpp34_encode(&mut g, pdu);
            }
            "deliver_sm" => {
                let pdu = smpp34::deliver_sm::decode(header, frame).unwrap();
                smpp34_encode(&mut g, pdu);
            }
            _ => {
                let pdu = smpp34::enquire_link::decode(header, frame).unwrap();
                smpp34_encode(&mut g, pdu);
            }
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
