//! The message-carrying PDUs: submit_sm and deliver_sm (one layout), data_sm, replace_sm, and
//! the responses that carry a message_id.

use bytes::{BufMut, Bytes, BytesMut};

use crate::text::DataCoding;
use crate::tlv::Tlvs;
use crate::types::{Address, EsmClass, Npi, RegisteredDelivery, Ton};
use crate::wire::{put_cstr, put_short_message, Reader, SliceWriter, Storage};
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
    /// The hot path of a router, so it is written in one pass: check the fields, size the
    /// body exactly, grow the buffer once, then copy into that region.
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
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
        let mut len = 2 + 2 + 3 + 4 + 1; // ton/npi ×2, esm..priority, registered..default_msg_id, sm_length
        for (field, value) in strings {
            if value.contains(&0) {
                return Err(Error::Unencodable(field));
            }
            len += value.len() + 1;
        }
        let sm = self.short_message.as_ref();
        let sm_length =
            u8::try_from(sm.len()).map_err(|_| Error::Unencodable(Field::ShortMessage))?;
        let tlvs = self.tlvs.as_bytes();
        len += sm.len() + tlvs.len();

        let start = buf.len();
        buf.resize(start + len, 0);
        let mut w = SliceWriter::new(&mut buf[start..]);
        w.cstr(strings[0].1);
        w.u8(self.source.ton.0);
        w.u8(self.source.npi.0);
        w.cstr(strings[1].1);
        w.u8(self.dest.ton.0);
        w.u8(self.dest.npi.0);
        w.cstr(strings[2].1);
        w.u8(self.esm_class.0);
        w.u8(self.protocol_id);
        w.u8(self.priority_flag);
        w.cstr(strings[3].1);
        w.cstr(strings[4].1);
        w.u8(self.registered_delivery.0);
        w.u8(self.replace_if_present_flag);
        w.u8(self.data_coding.0);
        w.u8(self.sm_default_msg_id);
        w.u8(sm_length);
        w.octets(sm);
        w.octets(tlvs);
        Ok(())
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
