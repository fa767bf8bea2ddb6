//! The decoder against a model: a plain byte-at-a-time reader of the submit_sm/deliver_sm
//! layout, written from the spec's field table with none of the decoder's shortcuts (word-wise
//! NUL search, one bounds check per run of fields, cold error paths, TLV checks folded into one
//! pass). On bodies built to sit on every boundary — C-strings at, under and over their limits,
//! with and without NUL, bodies cut at any octet, sm_length that lies, TLVs cut or mis-sized —
//! both must agree on every field and on every error, in strict and in lenient mode.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;
use smpp_pdu::tlv::TlvKind;
use smpp_pdu::*;

/// The fields the model reads, in wire order.
#[derive(Debug, PartialEq, Eq)]
struct Fields<'a> {
    service_type: &'a [u8],
    source: (u8, u8, &'a [u8]),
    dest: (u8, u8, &'a [u8]),
    esm_class: u8,
    protocol_id: u8,
    priority_flag: u8,
    schedule_delivery_time: &'a [u8],
    validity_period: &'a [u8],
    registered_delivery: u8,
    replace_if_present_flag: u8,
    data_coding: u8,
    sm_default_msg_id: u8,
    short_message: &'a [u8],
    tlvs: &'a [u8],
}

struct Model<'a> {
    body: &'a [u8],
    pos: usize,
    strict: bool,
}

impl<'a> Model<'a> {
    fn u8(&mut self, field: Field) -> Result<u8, Error> {
        let v = *self.body.get(self.pos).ok_or(Error::Truncated(field))?;
        self.pos += 1;
        Ok(v)
    }

    /// One octet at a time: a NUL within the first `limit` octets ends the string; octets
    /// still there at `limit` make it too long; running out first leaves it unterminated.
    fn cstr(&mut self, field: Field, max: u16) -> Result<&'a [u8], Error> {
        let limit = if self.strict {
            usize::from(max)
        } else {
            usize::from(max).max(256)
        };
        let mut i = 0;
        loop {
            match self.body.get(self.pos + i) {
                None => return Err(Error::Unterminated(field)),
                Some(_) if i == limit => return Err(Error::TooLong { field, max }),
                Some(0) => {
                    let s = &self.body[self.pos..self.pos + i];
                    self.pos += i + 1;
                    return Ok(s);
                }
                Some(_) => i += 1,
            }
        }
    }

    fn time(&mut self, field: Field) -> Result<&'a [u8], Error> {
        let t = self.cstr(field, 17)?;
        let valid = t.is_empty()
            || (t.len() == 16
                && t[..15].iter().all(u8::is_ascii_digit)
                && matches!(t[15], b'+' | b'-' | b'R'));
        if self.strict && !valid {
            return Err(Error::InvalidValue(field));
        }
        Ok(t)
    }

    fn tlvs(&mut self) -> Result<&'a [u8], Error> {
        let region = &self.body[self.pos..];
        let mut at = 0;
        while at < region.len() {
            let left = &region[at..];
            if left.len() < 4 {
                let tag = if left.len() >= 2 {
                    u16::from_be_bytes([left[0], left[1]])
                } else {
                    0
                };
                return Err(Error::TlvTruncated(TlvTag(tag)));
            }
            let tag = TlvTag(u16::from_be_bytes([left[0], left[1]]));
            let len = usize::from(u16::from_be_bytes([left[2], left[3]]));
            if left.len() - 4 < len {
                return Err(Error::TlvTruncated(tag));
            }
            let value = &left[4..4 + len];
            if self.strict {
                check_tlv(tag, value)?;
            }
            at += 4 + len;
        }
        self.pos = self.body.len();
        Ok(region)
    }

    fn submit_sm(&mut self) -> Result<Fields<'a>, Error> {
        Ok(Fields {
            service_type: self.cstr(Field::ServiceType, 6)?,
            source: (
                self.u8(Field::SourceAddrTon)?,
                self.u8(Field::SourceAddrNpi)?,
                self.cstr(Field::SourceAddr, 21)?,
            ),
            dest: (
                self.u8(Field::DestAddrTon)?,
                self.u8(Field::DestAddrNpi)?,
                self.cstr(Field::DestinationAddr, 21)?,
            ),
            esm_class: self.u8(Field::EsmClass)?,
            protocol_id: self.u8(Field::ProtocolId)?,
            priority_flag: self.u8(Field::PriorityFlag)?,
            schedule_delivery_time: self.time(Field::ScheduleDeliveryTime)?,
            validity_period: self.time(Field::ValidityPeriod)?,
            registered_delivery: self.u8(Field::RegisteredDelivery)?,
            replace_if_present_flag: self.u8(Field::ReplaceIfPresentFlag)?,
            data_coding: self.u8(Field::DataCoding)?,
            sm_default_msg_id: self.u8(Field::SmDefaultMsgId)?,
            short_message: {
                let sm_length = self.u8(Field::SmLength)?;
                let available = self.body.len() - self.pos;
                if usize::from(sm_length) > available {
                    return Err(Error::SmLength {
                        sm_length,
                        available,
                    });
                }
                let sm = &self.body[self.pos..self.pos + usize::from(sm_length)];
                self.pos += usize::from(sm_length);
                sm
            },
            tlvs: self.tlvs()?,
        })
    }
}

/// A standard TLV's value against its definition, spelled out case by case.
fn check_tlv(tag: TlvTag, value: &[u8]) -> Result<(), Error> {
    let len = value.len();
    let length_error = Error::TlvLength {
        tag,
        length: len as u16,
    };
    match tag.kind() {
        None => Ok(()),
        Some(TlvKind::Empty) if len == 0 => Ok(()),
        Some(TlvKind::Int(n)) if len == usize::from(n) => Ok(()),
        Some(TlvKind::Octets { min, max })
            if len >= usize::from(min) && len <= usize::from(max) =>
        {
            Ok(())
        }
        Some(TlvKind::CString { max }) if len >= 1 && len <= usize::from(max) => {
            let nul_only_at_end = value[len - 1] == 0 && !value[..len - 1].contains(&0);
            if nul_only_at_end {
                Ok(())
            } else {
                Err(Error::TlvValue(tag))
            }
        }
        _ => Err(length_error),
    }
}

/// What the decoder found, in the model's terms.
fn fields<B: AsRef<[u8]>>(s: &SubmitSm<B>) -> Fields<'_> {
    Fields {
        service_type: s.service_type.as_ref(),
        source: (s.source.ton.0, s.source.npi.0, s.source.addr.as_ref()),
        dest: (s.dest.ton.0, s.dest.npi.0, s.dest.addr.as_ref()),
        esm_class: s.esm_class.0,
        protocol_id: s.protocol_id,
        priority_flag: s.priority_flag,
        schedule_delivery_time: s.schedule_delivery_time.as_ref(),
        validity_period: s.validity_period.as_ref(),
        registered_delivery: s.registered_delivery.0,
        replace_if_present_flag: s.replace_if_present_flag,
        data_coding: s.data_coding.0,
        sm_default_msg_id: s.sm_default_msg_id,
        short_message: s.short_message.as_ref(),
        tlvs: s.tlvs.as_bytes(),
    }
}

/// A C-string of a length near the interesting limits (6, 17, 21, 256), usually terminated.
fn cstr() -> impl Strategy<Value = Vec<u8>> {
    let len = prop_oneof![0usize..=24, 250usize..=260, Just(5), Just(16)];
    (len, any::<bool>(), 0u8..10).prop_flat_map(|(len, terminated, chance)| {
        proptest::collection::vec(1u8..=255, len).prop_map(move |mut v| {
            if terminated || chance > 0 {
                v.push(0);
            }
            v
        })
    })
}

/// A time field: empty, well formed, or wrong in some way.
fn time() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => Just(b"\0".to_vec()),
        2 => Just(b"260101120000004+\0".to_vec()),
        1 => Just(b"26010112000000R\0".to_vec()),
        1 => Just(b"2601011200000x4-\0".to_vec()),
        1 => cstr(),
    ]
}

fn tlv() -> impl Strategy<Value = Vec<u8>> {
    let tag = prop_oneof![
        3 => proptest::sample::select(TlvTag::ALL).prop_map(|t| t.0),
        1 => any::<u16>(),
    ];
    let value = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..=5),
        proptest::collection::vec(1u8..=255, 0..70).prop_map(|mut v| {
            v.push(0);
            v
        }),
    ];
    (tag, value, 0u8..8).prop_map(|(tag, value, lie)| {
        let mut v = tag.to_be_bytes().to_vec();
        // Now and then the length says more than the value holds.
        let len = value.len() as u16 + u16::from(lie == 0) * 3;
        v.extend_from_slice(&len.to_be_bytes());
        v.extend_from_slice(&value);
        v
    })
}

prop_compose! {
    fn body()(
        service_type in cstr(),
        addrs in (any::<[u8; 2]>(), cstr(), any::<[u8; 2]>(), cstr()),
        flags in any::<[u8; 3]>(),
        times in (time(), time()),
        more in any::<[u8; 4]>(),
        sm in proptest::collection::vec(any::<u8>(), 0..=170),
        sm_length_lies in 0u8..6,
        tlvs in proptest::collection::vec(tlv(), 0..4),
    ) -> Vec<u8> {
        let mut b = service_type;
        b.extend_from_slice(&addrs.0);
        b.extend_from_slice(&addrs.1);
        b.extend_from_slice(&addrs.2);
        b.extend_from_slice(&addrs.3);
        b.extend_from_slice(&flags);
        b.extend_from_slice(&times.0);
        b.extend_from_slice(&times.1);
        b.extend_from_slice(&more);
        let sm_length = if sm_length_lies == 0 { sm.len() as u8 ^ 0x21 } else { sm.len() as u8 };
        b.push(sm_length);
        b.extend_from_slice(&sm);
        for t in tlvs {
            b.extend_from_slice(&t);
        }
        b
    }
}

fn frame(id: CommandId, body: &[u8]) -> Vec<u8> {
    let mut f = BytesMut::new();
    f.put_u32(16 + body.len() as u32);
    f.put_u32(id.0);
    f.put_u32(0);
    f.put_u32(1);
    f.put_slice(body);
    f.to_vec()
}

/// Decodes `body` both ways (borrowed and `Bytes`) and checks both against the model.
fn agree(id: CommandId, body: &[u8], strict: bool) -> Result<(), TestCaseError> {
    let opts = if strict {
        DecodeOptions::STRICT
    } else {
        DecodeOptions::LENIENT
    };
    let f = frame(id, body);
    let expected = Model {
        body,
        pos: 0,
        strict,
    }
    .submit_sm();
    let borrowed = Pdu::decode(&f[..], &opts).map_err(|m| m.error);
    let shared = Bytes::from(f.clone());
    let owned = Pdu::decode(shared.clone(), &opts).map_err(|m| m.error);
    match (&expected, borrowed) {
        (
            Ok(want),
            Ok(Pdu {
                body: Body::SubmitSm(s) | Body::DeliverSm(s),
                ..
            }),
        ) => prop_assert_eq!(want, &fields(&s)),
        (Err(want), Err(got)) => prop_assert_eq!(want, &got),
        (want, got) => prop_assert!(false, "model {:?}, decoder {:?}", want, got),
    }
    match (&expected, owned) {
        (
            Ok(want),
            Ok(Pdu {
                body: Body::SubmitSm(s) | Body::DeliverSm(s),
                ..
            }),
        ) => prop_assert_eq!(want, &fields(&s)),
        (Err(want), Err(got)) => prop_assert_eq!(want, &got),
        (want, got) => prop_assert!(false, "model {:?}, Bytes decoder {:?}", want, got),
    }
    // The decoded PDU is gone: no reference to the frame may be left behind.
    prop_assert!(shared.is_unique());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decoder_agrees_with_the_model(
        body in body(),
        cut in any::<prop::sample::Index>(),
        whole in any::<bool>(),
        strict in any::<bool>(),
        deliver in any::<bool>(),
    ) {
        let id = if deliver { CommandId::DELIVER_SM } else { CommandId::SUBMIT_SM };
        let body = if whole { &body[..] } else { &body[..cut.index(body.len() + 1)] };
        agree(id, body, strict)?;
    }
}
