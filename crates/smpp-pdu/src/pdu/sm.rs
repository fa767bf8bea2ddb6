//! The message-carrying PDUs: submit_sm and deliver_sm (one layout), data_sm, replace_sm, and
//! the responses that carry a message_id.

use bytes::{BufMut, Bytes, BytesMut};

use crate::text::DataCoding;
use crate::tlv::Tlvs;
use crate::types::{Address, EsmClass, Npi, RegisteredDelivery, Ton};
use crate::wire::{put_cstr, put_short_message, Header, Reader, SliceWriter, Storage, HEADER_LEN};
use crate::{Error, Field};

/// The body of submit_sm and of deliver_sm, which share one layout.
///
/// In a deliver_sm, `schedule_delivery_time` and `validity_period` are empty, and a delivery
/// receipt has [`EsmClass::is_receipt`] set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubmitSm<B = Bytes> {
    /// The service (at most 5 characters), often empty.
    pub service_type: B,
    /// The sender.
    pub source: Address<B>,
    /// The recipient.
    pub dest: Address<B>,
    /// Message mode, type and UDH flag.
    pub esm_class: EsmClass,
    /// GSM protocol identifier.
    pub protocol_id: u8,
    /// Priority, 0 (lowest) to 3.
    pub priority_flag: u8,
    /// When to deliver: empty for now, or `YYMMDDhhmmsstnnp`.
    pub schedule_delivery_time: B,
    /// When to give up: empty for the SMSC default, or `YYMMDDhhmmsstnnp`.
    pub validity_period: B,
    /// Which receipts are asked for.
    pub registered_delivery: RegisteredDelivery,
    /// Replace an earlier message from the same source to the same destination.
    pub replace_if_present_flag: u8,
    /// The alphabet and message class of `short_message`.
    pub data_coding: DataCoding,
    /// A canned message's id, or 0.
    pub sm_default_msg_id: u8,
    /// Up to 254 (255 on the wire) octets of user data; empty when `message_payload` is used.
    pub short_message: B,
    /// Optional parameters.
    pub tlvs: Tlvs<B>,
}

/// deliver_sm has the same body as submit_sm.
pub type DeliverSm<B = Bytes> = SubmitSm<B>;

impl<B: Storage> SubmitSm<B> {
    /// The hot path of a router: each run of one-octet fields is read with one bounds check,
    /// and the whole read is inlined into [`Pdu::decode`](crate::Pdu::decode) so the fields are
    /// written straight into the result instead of being copied out of a temporary.
    #[inline(always)]
    pub(crate) fn read(r: &mut Reader<B>) -> Result<Self, Error> {
        let service_type = r.cstr(Field::ServiceType, 6)?;
        let source = read_address(r, SOURCE, 21)?;
        let dest = read_address(r, DEST, 21)?;
        let [esm_class, protocol_id, priority_flag] =
            r.fixed([Field::EsmClass, Field::ProtocolId, Field::PriorityFlag])?;
        let schedule_delivery_time = r.time(Field::ScheduleDeliveryTime)?;
        let validity_period = r.time(Field::ValidityPeriod)?;
        let [registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id, sm_length] =
            r.fixed([
                Field::RegisteredDelivery,
                Field::ReplaceIfPresentFlag,
                Field::DataCoding,
                Field::SmDefaultMsgId,
                Field::SmLength,
            ])?;
        Ok(SubmitSm {
            service_type,
            source,
            dest,
            esm_class: EsmClass(esm_class),
            protocol_id,
            priority_flag,
            schedule_delivery_time,
            validity_period,
            registered_delivery: RegisteredDelivery(registered_delivery),
            replace_if_present_flag,
            data_coding: DataCoding(data_coding),
            sm_default_msg_id,
            short_message: r.short_message_of(sm_length)?,
            tlvs: r.tlvs()?,
        })
    }
}

impl<B: AsRef<[u8]>> SubmitSm<B> {
    /// The body alone, for [`Body::write`](crate::Body); the hot path is
    /// [`SubmitSm::encode`], which writes the header in the same pass. Kept out of line so that
    /// `Body::write` stays small enough to be inlined for the other bodies.
    #[inline(never)]
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
        self.put(None, buf)
    }

    /// The whole PDU, header included, appended to `buf`; on error `buf` is left as it was
    /// (`header.command_length` is ignored: it is computed here).
    #[inline(never)]
    pub(crate) fn encode(&self, header: Header, buf: &mut BytesMut) -> Result<(), Error> {
        self.put(Some(header), buf)
    }

    /// The hot path of a router, so it is written in one pass: size the PDU (or the body
    /// alone when `header` is `None`) exactly, grow the buffer once, then copy into that region,
    /// checking the C-strings for NUL on the way (see [`SliceWriter::cstr`]). Every error is
    /// named by [`SubmitSm::unencodable`], out of the way, in the order the fields come.
    #[inline(always)]
    fn put(&self, header: Option<Header>, buf: &mut BytesMut) -> Result<(), Error> {
        let service_type = self.service_type.as_ref();
        let source = self.source.addr.as_ref();
        let dest = self.dest.addr.as_ref();
        let schedule = self.schedule_delivery_time.as_ref();
        let validity = self.validity_period.as_ref();
        let sm = self.short_message.as_ref();
        let tlvs = self.tlvs.as_bytes();
        let Ok(sm_length) = u8::try_from(sm.len()) else {
            return Err(self.unencodable());
        };
        // ton/npi ×2, esm..priority, registered..default_msg_id, sm_length, and five NULs.
        let header_len = if header.is_some() { HEADER_LEN } else { 0 };
        let len = header_len
            + (2 + 2 + 3 + 4 + 1 + 5)
            + service_type.len()
            + source.len()
            + dest.len()
            + schedule.len()
            + validity.len()
            + sm.len()
            + tlvs.len();
        let Ok(command_length) = u32::try_from(len) else {
            return Err(self.unencodable());
        };

        let start = buf.len();
        buf.resize(start + len, 0);
        let mut w = SliceWriter::new(&mut buf[start..]);
        if let Some(h) = header {
            w.fixed(
                Header {
                    command_length,
                    ..h
                }
                .to_bytes(),
            );
        }
        w.cstr(service_type);
        w.fixed([self.source.ton.0, self.source.npi.0]);
        w.cstr(source);
        w.fixed([self.dest.ton.0, self.dest.npi.0]);
        w.cstr(dest);
        w.fixed([self.esm_class.0, self.protocol_id, self.priority_flag]);
        w.cstr(schedule);
        w.cstr(validity);
        w.fixed([
            self.registered_delivery.0,
            self.replace_if_present_flag,
            self.data_coding.0,
            self.sm_default_msg_id,
            sm_length,
        ]);
        w.octets(sm);
        w.octets(tlvs);
        if w.saw_nul() {
            buf.truncate(start);
            return Err(self.unencodable());
        }
        Ok(())
    }

    /// The first field that cannot be encoded, in the order of the body: a C-string holding a
    /// NUL, then a short_message over 255 octets; a PDU over 4 GiB is blamed on short_message.
    #[cold]
    #[inline(never)]
    fn unencodable(&self) -> Error {
        let strings = [
            (Field::ServiceType, self.service_type.as_ref()),
            (Field::SourceAddr, self.source.addr.as_ref()),
            (Field::DestinationAddr, self.dest.addr.as_ref()),
            (
                Field::ScheduleDeliveryTime,
                self.schedule_delivery_time.as_ref(),
            ),
            (Field::ValidityPeriod, self.validity_period.as_ref()),
        ];
        for (field, value) in strings {
            if value.contains(&0) {
                return Error::Unencodable(field);
            }
        }
        Error::Unencodable(Field::ShortMessage)
    }

    /// The user data: `short_message`, or the `message_payload` TLV when that is used instead.
    pub fn payload(&self) -> &[u8] {
        let sm = self.short_message.as_ref();
        if sm.is_empty() {
            if let Some(p) = self.tlvs.message_payload() {
                return p;
            }
        }
        sm
    }
}

/// Writes TON, NPI and the address C-string.
pub(crate) fn put_address<B: AsRef<[u8]>>(
    buf: &mut BytesMut,
    a: &Address<B>,
    field: Field,
) -> Result<(), Error> {
    buf.put_u8(a.ton.0);
    buf.put_u8(a.npi.0);
    put_cstr(buf, field, a.addr.as_ref())
}

/// Reads TON, NPI and an address C-string of at most `max` octets.
#[inline(always)]
pub(crate) fn read_address<B: Storage>(
    r: &mut Reader<B>,
    [ton, npi, addr]: [Field; 3],
    max: u16,
) -> Result<Address<B>, Error> {
    let [t, n] = r.fixed([ton, npi])?;
    Ok(Address {
        ton: Ton(t),
        npi: Npi(n),
        addr: r.cstr(addr, max)?,
    })
}

pub(crate) const SOURCE: [Field; 3] = [
    Field::SourceAddrTon,
    Field::SourceAddrNpi,
    Field::SourceAddr,
];
pub(crate) const DEST: [Field; 3] = [
    Field::DestAddrTon,
    Field::DestAddrNpi,
    Field::DestinationAddr,
];

/// The body of data_sm: a message whose content travels in TLVs (`message_payload`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataSm<B = Bytes> {
    /// The service, often empty.
    pub service_type: B,
    /// The sender (up to 64 characters in data_sm).
    pub source: Address<B>,
    /// The recipient (up to 64 characters).
    pub dest: Address<B>,
    /// Message mode, type and UDH flag.
    pub esm_class: EsmClass,
    /// Which receipts are asked for.
    pub registered_delivery: RegisteredDelivery,
    /// The alphabet of the payload.
    pub data_coding: DataCoding,
    /// Optional parameters, `message_payload` among them.
    pub tlvs: Tlvs<B>,
}

impl<B: Storage> DataSm<B> {
    pub(crate) fn read(r: &mut Reader<B>) -> Result<Self, Error> {
        Ok(DataSm {
            service_type: r.cstr(Field::ServiceType, 6)?,
            source: read_address(r, SOURCE, 65)?,
            dest: read_address(r, DEST, 65)?,
            esm_class: EsmClass(r.u8(Field::EsmClass)?),
            registered_delivery: RegisteredDelivery(r.u8(Field::RegisteredDelivery)?),
            data_coding: DataCoding(r.u8(Field::DataCoding)?),
            tlvs: r.tlvs()?,
        })
    }
}

impl<B: AsRef<[u8]>> DataSm<B> {
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
        put_cstr(buf, Field::ServiceType, self.service_type.as_ref())?;
        put_address(buf, &self.source, Field::SourceAddr)?;
        put_address(buf, &self.dest, Field::DestinationAddr)?;
        buf.put_u8(self.esm_class.0);
        buf.put_u8(self.registered_delivery.0);
        buf.put_u8(self.data_coding.0);
        buf.put_slice(self.tlvs.as_bytes());
        Ok(())
    }
}

/// The body of replace_sm: new content for a message still held by the SMSC.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplaceSm<B = Bytes> {
    /// The SMSC's id of the message to replace.
    pub message_id: B,
    /// The original sender.
    pub source: Address<B>,
    /// New schedule, or empty to keep it.
    pub schedule_delivery_time: B,
    /// New validity, or empty to keep it.
    pub validity_period: B,
    /// New receipt request.
    pub registered_delivery: RegisteredDelivery,
    /// A canned message's id, or 0.
    pub sm_default_msg_id: u8,
    /// The new user data.
    pub short_message: B,
    /// Optional parameters (SMPP 5.0 allows `message_payload`).
    pub tlvs: Tlvs<B>,
}

impl<B: Storage> ReplaceSm<B> {
    pub(crate) fn read(r: &mut Reader<B>) -> Result<Self, Error> {
        Ok(ReplaceSm {
            message_id: r.cstr(Field::MessageId, 65)?,
            source: read_address(r, SOURCE, 21)?,
            schedule_delivery_time: r.time(Field::ScheduleDeliveryTime)?,
            validity_period: r.time(Field::ValidityPeriod)?,
            registered_delivery: RegisteredDelivery(r.u8(Field::RegisteredDelivery)?),
            sm_default_msg_id: r.u8(Field::SmDefaultMsgId)?,
            short_message: r.short_message()?,
            tlvs: r.tlvs()?,
        })
    }
}

impl<B: AsRef<[u8]>> ReplaceSm<B> {
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
        put_cstr(buf, Field::MessageId, self.message_id.as_ref())?;
        put_address(buf, &self.source, Field::SourceAddr)?;
        put_cstr(
            buf,
            Field::ScheduleDeliveryTime,
            self.schedule_delivery_time.as_ref(),
        )?;
        put_cstr(buf, Field::ValidityPeriod, self.validity_period.as_ref())?;
        buf.put_u8(self.registered_delivery.0);
        buf.put_u8(self.sm_default_msg_id);
        put_short_message(buf, self.short_message.as_ref())?;
        buf.put_slice(self.tlvs.as_bytes());
        Ok(())
    }
}

/// A response that carries a message_id and optional TLVs: submit_sm_resp, deliver_sm_resp,
/// data_sm_resp, broadcast_sm_resp and query_broadcast_sm_resp.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageIdResp<B = Bytes> {
    /// The SMSC's id for the message (empty in deliver_sm_resp, and when the body was omitted).
    pub message_id: B,
    /// Optional parameters (SMPP 5.0: `additional_status_info_text`, `network_error_code`, …).
    pub tlvs: Tlvs<B>,
}

impl<B: Storage> MessageIdResp<B> {
    pub(crate) fn read(r: &mut Reader<B>) -> Result<Self, Error> {
        Ok(MessageIdResp {
            message_id: r.last_cstr_or_empty(Field::MessageId, 65)?,
            tlvs: r.tlvs()?,
        })
    }
}

impl<B: AsRef<[u8]>> MessageIdResp<B> {
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
        put_cstr(buf, Field::MessageId, self.message_id.as_ref())?;
        buf.put_slice(self.tlvs.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Body, CommandStatus, Pdu, TlvTag, TlvsBuilder};

    /// The five C-strings in the order of the body, with their fields.
    fn strings_mut(s: &mut SubmitSm<Vec<u8>>) -> [(Field, &mut Vec<u8>); 5] {
        [
            (Field::ServiceType, &mut s.service_type),
            (Field::SourceAddr, &mut s.source.addr),
            (Field::DestinationAddr, &mut s.dest.addr),
            (Field::ScheduleDeliveryTime, &mut s.schedule_delivery_time),
            (Field::ValidityPeriod, &mut s.validity_period),
        ]
    }

    fn sample(len: usize) -> SubmitSm<Vec<u8>> {
        let text = |seed: u8| (0..len).map(|i| b'0' + (seed + i as u8) % 10).collect();
        let mut tlvs = TlvsBuilder::new();
        tlvs.u16(TlvTag::USER_MESSAGE_REFERENCE, 0x1234);
        SubmitSm {
            service_type: text(1),
            source: Address::new(Ton(5), Npi(0), text(2)),
            dest: Address::new(Ton(1), Npi(1), text(3)),
            esm_class: EsmClass(0x40),
            protocol_id: 0x7F,
            priority_flag: 2,
            schedule_delivery_time: text(4),
            validity_period: text(5),
            registered_delivery: RegisteredDelivery(1),
            replace_if_present_flag: 1,
            data_coding: DataCoding(8),
            sm_default_msg_id: 9,
            short_message: text(6),
            tlvs: tlvs.build().map(|b| b.to_vec()),
        }
    }

    /// The body as the spec lays it out, one field after the other.
    fn reference_body(s: &SubmitSm<Vec<u8>>) -> Vec<u8> {
        let mut v = Vec::new();
        let cstr = |v: &mut Vec<u8>, s: &[u8]| {
            v.extend_from_slice(s);
            v.push(0);
        };
        cstr(&mut v, &s.service_type);
        v.extend([s.source.ton.0, s.source.npi.0]);
        cstr(&mut v, &s.source.addr);
        v.extend([s.dest.ton.0, s.dest.npi.0]);
        cstr(&mut v, &s.dest.addr);
        v.extend([s.esm_class.0, s.protocol_id, s.priority_flag]);
        cstr(&mut v, &s.schedule_delivery_time);
        cstr(&mut v, &s.validity_period);
        v.extend([
            s.registered_delivery.0,
            s.replace_if_present_flag,
            s.data_coding.0,
            s.sm_default_msg_id,
            s.short_message.len() as u8,
        ]);
        v.extend_from_slice(&s.short_message);
        v.extend_from_slice(s.tlvs.as_bytes());
        v
    }

    /// Strings of every length around the word sizes come out octet for octet as the spec
    /// lays them out, after what the buffer held, with or without the header.
    #[test]
    fn the_one_pass_encoder_writes_the_spec_layout() {
        for len in 0..=40 {
            let s = sample(len);
            let body = reference_body(&s);
            for (pdu, id) in [
                (Body::SubmitSm(Box::new(s.clone())), 4u32),
                (Body::DeliverSm(Box::new(s.clone())), 5),
            ] {
                let mut buf = BytesMut::from(&b"keep"[..]);
                pdu.encode(0x0102_0304, CommandStatus(0x45), &mut buf)
                    .expect("encodes");
                let mut expected = b"keep".to_vec();
                expected.extend_from_slice(&(16 + body.len() as u32).to_be_bytes());
                expected.extend_from_slice(&id.to_be_bytes());
                expected.extend_from_slice(&0x45u32.to_be_bytes());
                expected.extend_from_slice(&0x0102_0304u32.to_be_bytes());
                expected.extend_from_slice(&body);
                assert_eq!(buf[..], expected[..], "strings of {len}");
            }
            let mut buf = BytesMut::from(&b"keep"[..]);
            s.write(&mut buf).expect("encodes");
            assert_eq!(buf[4..], body[..], "body alone, strings of {len}");
        }
    }

    /// A NUL anywhere in any C-string is refused naming that field (the first such field when
    /// there are several, even when short_message is also too long), and the buffer is left as
    /// it was.
    #[test]
    fn a_nul_in_any_c_string_is_refused_naming_its_field() {
        for len in 1..=40 {
            for at in 0..len {
                for bad in 0..5 {
                    let mut s = sample(len);
                    let field = {
                        let mut strings = strings_mut(&mut s);
                        strings[bad].1[at] = 0;
                        // A later field with a NUL too does not change the answer.
                        if let Some((_, later)) = strings.get_mut(bad + 1) {
                            later[len / 2] = 0;
                        }
                        strings[bad].0
                    };
                    for too_long in [false, true] {
                        if too_long {
                            s.short_message = vec![b'x'; 256];
                        }
                        let pdu = Pdu::new(7, Body::SubmitSm(Box::new(s.clone())));
                        let mut buf = BytesMut::from(&b"keep"[..]);
                        assert_eq!(pdu.encode(&mut buf), Err(Error::Unencodable(field)));
                        assert_eq!(&buf[..], b"keep", "buffer left as it was");
                        let mut buf = BytesMut::from(&b"keep"[..]);
                        assert_eq!(s.write(&mut buf), Err(Error::Unencodable(field)));
                        assert_eq!(&buf[..], b"keep", "buffer left as it was");
                    }
                }
            }
        }
    }

    #[test]
    fn a_short_message_over_255_octets_is_refused() {
        let mut s = sample(3);
        s.short_message = vec![b'x'; 255];
        let mut buf = BytesMut::new();
        Pdu::new(7, Body::DeliverSm(Box::new(s.clone())))
            .encode(&mut buf)
            .expect("255 fits");
        s.short_message.push(b'x');
        let mut buf = BytesMut::from(&b"keep"[..]);
        assert_eq!(
            Pdu::new(7, Body::DeliverSm(Box::new(s))).encode(&mut buf),
            Err(Error::Unencodable(Field::ShortMessage))
        );
        assert_eq!(&buf[..], b"keep", "buffer left as it was");
    }
}
