//! Property tests: every PDU and every TLV survives encode → decode unchanged, and decoding
//! arbitrary bytes — random, or a valid PDU with bytes flipped or cut — never panics.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use smpp_pdu::tlv::TlvKind;
use smpp_pdu::*;

fn cstr(max: usize) -> impl Strategy<Value = Bytes> {
    // max counts the NUL, as in the spec's tables.
    proptest::collection::vec(1u8..=255, 0..max).prop_map(Bytes::from)
}

fn octets(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

fn time() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        Just(Bytes::new()),
        ("[0-9]{15}", prop_oneof![Just('+'), Just('-'), Just('R')])
            .prop_map(|(d, p)| Bytes::from(format!("{d}{p}"))),
    ]
}

fn address(max: usize) -> impl Strategy<Value = Address> {
    (any::<u8>(), any::<u8>(), cstr(max)).prop_map(|(t, n, a)| Address::new(Ton(t), Npi(n), a))
}

/// A value valid for a standard tag's definition, or any octets for an unknown one.
fn tlv_value(tag: TlvTag) -> BoxedStrategy<Vec<u8>> {
    match tag.kind() {
        Some(TlvKind::Empty) => Just(Vec::new()).boxed(),
        Some(TlvKind::Int(n)) => proptest::collection::vec(any::<u8>(), usize::from(n)).boxed(),
        Some(TlvKind::CString { max }) => proptest::collection::vec(1u8..=255, 0..usize::from(max))
            .prop_map(|mut v| {
                v.push(0);
                v
            })
            .boxed(),
        Some(TlvKind::Octets { min, max }) => {
            proptest::collection::vec(any::<u8>(), usize::from(min)..=usize::from(max.min(300)))
                .boxed()
        }
        None => proptest::collection::vec(any::<u8>(), 0..40).boxed(),
    }
}

fn tlv() -> impl Strategy<Value = (TlvTag, Vec<u8>)> {
    prop_oneof![
        3 => proptest::sample::select(TlvTag::ALL),
        1 => (0x1400u16..=0x3FFF).prop_map(TlvTag),
        1 => any::<u16>().prop_map(TlvTag),
    ]
    .prop_flat_map(|tag| tlv_value(tag).prop_map(move |v| (tag, v)))
}

fn tlvs() -> impl Strategy<Value = Tlvs> {
    proptest::collection::vec(tlv(), 0..5).prop_map(|list| {
        let mut b = TlvsBuilder::new();
        for (tag, value) in list {
            b.octets(tag, &value).expect("value fits");
        }
        b.build()
    })
}

prop_compose! {
    fn submit_sm()(
        service_type in cstr(6), source in address(21), dest in address(21),
        flags in any::<[u8; 7]>(), schedule in time(), validity in time(),
        short_message in octets(254), tlvs in tlvs(),
    ) -> SubmitSm {
        SubmitSm {
            service_type, source, dest,
            esm_class: EsmClass(flags[0]), protocol_id: flags[1], priority_flag: flags[2],
            schedule_delivery_time: schedule, validity_period: validity,
            registered_delivery: RegisteredDelivery(flags[3]), replace_if_present_flag: flags[4],
            data_coding: DataCoding(flags[5]), sm_default_msg_id: flags[6],
            short_message, tlvs,
        }
    }
}

prop_compose! {
    fn bind()(system_id in cstr(16), password in cstr(9), system_type in cstr(13),
              v in any::<[u8; 3]>(), address_range in cstr(41)) -> Bind {
        Bind { system_id, password, system_type, interface_version: v[0],
               addr_ton: Ton(v[1]), addr_npi: Npi(v[2]), address_range }
    }
}

prop_compose! {
    fn message_id_resp()(message_id in cstr(65), tlvs in tlvs()) -> MessageIdResp {
        MessageIdResp { message_id, tlvs }
    }
}

fn multi_dest() -> impl Strategy<Value = MultiDest> {
    prop_oneof![
        address(21).prop_map(MultiDest::Sme),
        cstr(21).prop_map(MultiDest::DistributionList),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        bind().prop_map(|b| Body::BindTransmitter(Box::new(b))),
        bind().prop_map(|b| Body::BindReceiver(Box::new(b))),
        bind().prop_map(|b| Body::BindTransceiver(Box::new(b))),
        (cstr(16), tlvs())
            .prop_map(|(system_id, tlvs)| Body::BindTransmitterResp(BindResp { system_id, tlvs })),
        (cstr(16), tlvs())
            .prop_map(|(system_id, tlvs)| Body::BindReceiverResp(BindResp { system_id, tlvs })),
        (cstr(16), tlvs())
            .prop_map(|(system_id, tlvs)| Body::BindTransceiverResp(BindResp { system_id, tlvs })),
        (cstr(16), cstr(9)).prop_map(|(system_id, password)| Body::Outbind(Outbind {
            system_id,
            password
        })),
        Just(Body::GenericNack),
        Just(Body::Unbind),
        Just(Body::UnbindResp),
        Just(Body::EnquireLink),
        Just(Body::EnquireLinkResp),
        Just(Body::CancelSmResp),
        Just(Body::ReplaceSmResp),
        Just(Body::CancelBroadcastSmResp),
        submit_sm().prop_map(|b| Body::SubmitSm(Box::new(b))),
        submit_sm().prop_map(|b| Body::DeliverSm(Box::new(b))),
        message_id_resp().prop_map(Body::SubmitSmResp),
        message_id_resp().prop_map(Body::DeliverSmResp),
        message_id_resp().prop_map(Body::DataSmResp),
        message_id_resp().prop_map(Body::BroadcastSmResp),
        message_id_resp().prop_map(Body::QueryBroadcastSmResp),
        (submit_sm(), proptest::collection::vec(multi_dest(), 1..6)).prop_map(|(s, dests)| {
            Body::SubmitMulti(Box::new(SubmitMulti {
                service_type: s.service_type,
                source: s.source,
                dests,
                esm_class: s.esm_class,
                protocol_id: s.protocol_id,
                priority_flag: s.priority_flag,
                schedule_delivery_time: s.schedule_delivery_time,
                validity_period: s.validity_period,
                registered_delivery: s.registered_delivery,
                replace_if_present_flag: s.replace_if_present_flag,
                data_coding: s.data_coding,
                sm_default_msg_id: s.sm_default_msg_id,
                short_message: s.short_message,
                tlvs: s.tlvs,
            }))
        }),
        (
            cstr(65),
            proptest::collection::vec((address(21), any::<u32>()), 0..5),
            tlvs()
        )
            .prop_map(|(message_id, list, tlvs)| Body::SubmitMultiResp(Box::new(
                SubmitMultiResp {
                    message_id,
                    unsuccess: list
                        .into_iter()
                        .map(|(address, s)| UnsuccessSme {
                            address,
                            error_status: CommandStatus(s)
                        })
                        .collect(),
                    tlvs,
                }
            ))),
        (cstr(6), address(65), address(65), any::<[u8; 3]>(), tlvs()).prop_map(
            |(service_type, source, dest, f, tlvs)| Body::DataSm(Box::new(DataSm {
                service_type,
                source,
                dest,
                esm_class: EsmClass(f[0]),
                registered_delivery: RegisteredDelivery(f[1]),
                data_coding: DataCoding(f[2]),
                tlvs,
            }))
        ),
        (cstr(65), address(21))
            .prop_map(|(message_id, source)| Body::QuerySm(QuerySm { message_id, source })),
        (cstr(65), time(), any::<[u8; 2]>()).prop_map(|(message_id, final_date, f)| {
            Body::QuerySmResp(QuerySmResp {
                message_id,
                final_date,
                message_state: MessageState(f[0]),
                error_code: f[1],
            })
        }),
        (cstr(6), cstr(65), address(21), address(21)).prop_map(
            |(service_type, message_id, source, dest)| {
                Body::CancelSm(Box::new(CancelSm {
                    service_type,
                    message_id,
                    source,
                    dest,
                }))
            }
        ),
        (
            cstr(65),
            address(21),
            time(),
            time(),
            any::<[u8; 2]>(),
            octets(254),
            tlvs()
        )
            .prop_map(
                |(message_id, source, s, v, f, short_message, tlvs)| Body::ReplaceSm(Box::new(
                    ReplaceSm {
                        message_id,
                        source,
                        schedule_delivery_time: s,
                        validity_period: v,
                        registered_delivery: RegisteredDelivery(f[0]),
                        sm_default_msg_id: f[1],
                        short_message,
                        tlvs,
                    }
                ))
            ),
        (address(65), address(65), tlvs()).prop_map(|(source, esme, tlvs)| {
            Body::AlertNotification(Box::new(AlertNotification { source, esme, tlvs }))
        }),
        (
            cstr(6),
            address(21),
            cstr(65),
            any::<[u8; 4]>(),
            time(),
            time(),
            tlvs()
        )
            .prop_map(|(service_type, source, message_id, f, s, v, tlvs)| {
                Body::BroadcastSm(Box::new(BroadcastSm {
                    service_type,
                    source,
                    message_id,
                    priority_flag: f[0],
                    schedule_delivery_time: s,
                    validity_period: v,
                    replace_if_present_flag: f[1],
                    data_coding: DataCoding(f[2]),
                    sm_default_msg_id: f[3],
                    tlvs,
                }))
            }),
        (cstr(65), address(21), tlvs()).prop_map(|(message_id, source, tlvs)| {
            Body::QueryBroadcastSm(Box::new(QueryBroadcastSm {
                message_id,
                source,
                tlvs,
            }))
        }),
        (cstr(6), cstr(65), address(21), tlvs()).prop_map(
            |(service_type, message_id, source, tlvs)| {
                Body::CancelBroadcastSm(Box::new(CancelBroadcastSm {
                    service_type,
                    message_id,
                    source,
                    tlvs,
                }))
            }
        ),
    ]
}

fn pdu() -> impl Strategy<Value = Pdu> {
    (any::<u32>(), any::<u32>(), body()).prop_map(|(seq, status, body)| Pdu {
        sequence_number: seq,
        command_status: CommandStatus(status),
        body,
    })
}

/// A response with an error status and an empty body decodes with empty fields, which
/// re-encode differently (a NUL for the message_id); compare what survives on the wire.
fn encode(p: &Pdu) -> Bytes {
    let mut buf = BytesMut::new();
    p.encode(&mut buf).expect("generated PDUs are encodable");
    buf.freeze()
}

proptest! {
    // PROPTEST_CASES raises the count for longer runs (CI's fuzz fallback).
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
    ))]

    #[test]
    fn every_pdu_round_trips(p in pdu()) {
        let wire = encode(&p);
        let back = Pdu::decode(wire.clone(), &DecodeOptions::STRICT)
            .map_err(|e| TestCaseError::fail(format!("{e} for {p:?}")))?;
        prop_assert_eq!(&back, &p);
        let borrowed = Pdu::decode(&wire[..], &DecodeOptions::STRICT)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(encode_borrowed(&borrowed), wire);
    }

    #[test]
    fn every_tlv_round_trips(list in proptest::collection::vec(tlv(), 0..8)) {
        let mut b = TlvsBuilder::new();
        for (tag, value) in &list {
            b.octets(*tag, value).expect("fits");
        }
        let tlvs = Tlvs::parse(b.build().into_inner(), true).expect("valid TLVs parse strictly");
        let back: Vec<(TlvTag, Vec<u8>)> = tlvs.iter().map(|t| (t.tag, t.value.to_vec())).collect();
        prop_assert_eq!(back, list);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Pdu::decode(&data[..], &DecodeOptions::STRICT);
        let _ = Pdu::decode(&data[..], &DecodeOptions::LENIENT);
        let mut buf = BytesMut::from(&data[..]);
        while let Ok(Some(frame)) = smpp_pdu::frame::split_frame(&mut buf, 65536) {
            let _ = Pdu::decode(frame, &DecodeOptions::LENIENT);
        }
    }

    #[test]
    fn mutated_pdus_never_panic_and_reencode_stably(
        p in pdu(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut wire = encode(&p).to_vec();
        for (i, v) in flips {
            // Keep the length prefix honest so the body decoder, not the framer, is exercised.
            let i = 4 + i.index(wire.len() - 4);
            wire[i] = v;
        }
        let cut = 16 + cut.index(wire.len() - 15);
        wire.truncate(cut);
        let len = (wire.len() as u32).to_be_bytes();
        wire[..4].copy_from_slice(&len);
        for opts in [DecodeOptions::STRICT, DecodeOptions::LENIENT] {
            if let Ok(d) = Pdu::decode(&wire[..], &opts) {
                // Whatever decodes re-encodes to something that decodes to the same PDU.
                let mut again = BytesMut::new();
                if d.encode(&mut again).is_ok() {
                    let d2 = Pdu::decode(&again[..], &DecodeOptions::LENIENT)
                        .map_err(|e| TestCaseError::fail(format!("re-decode: {e}")))?;
                    prop_assert_eq!(encode_borrowed(&d2), again.freeze());
                }
            }
        }
    }
}

fn encode_borrowed(p: &Pdu<&[u8]>) -> Bytes {
    let mut buf = BytesMut::new();
    p.encode(&mut buf).expect("decoded PDUs re-encode");
    buf.freeze()
}
