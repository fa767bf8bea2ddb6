//! submit_multi (one message to up to 255 addresses or distribution lists) and its response,
//! which lists the destinations that failed.

use bytes::{BufMut, Bytes, BytesMut};

use crate::pdu::sm::{put_address, read_address, DEST, SOURCE};
use crate::text::DataCoding;
use crate::tlv::Tlvs;
use crate::types::{Address, EsmClass, RegisteredDelivery};
use crate::wire::{put_cstr, put_short_message, Reader, Storage};
use crate::{CommandStatus, Error, Field};

/// One destination of a submit_multi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiDest<B = Bytes> {
    /// dest_flag 1: an SME address.
    Sme(Address<B>),
    /// dest_flag 2: the name of a distribution list held by the SMSC.
    DistributionList(B),
}

/// The body of submit_multi.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubmitMulti<B = Bytes> {
    /// The service, often empty.
    pub service_type: B,
    /// The sender.
    pub source: Address<B>,
    /// The destinations (1 to 255).
    pub dests: Vec<MultiDest<B>>,
    /// Message mode, type and UDH flag.
    pub esm_class: EsmClass,
    /// GSM protocol identifier.
    pub protocol_id: u8,
    /// Priority.
    pub priority_flag: u8,
    /// When to deliver.
    pub schedule_delivery_time: B,
    /// When to give up.
    pub validity_period: B,
    /// Which receipts are asked for.
    pub registered_delivery: RegisteredDelivery,
    /// Replace an earlier message.
    pub replace_if_present_flag: u8,
    /// The alphabet of `short_message`.
    pub data_coding: DataCoding,
    /// A canned message's id, or 0.
    pub sm_default_msg_id: u8,
    /// The user data.
    pub short_message: B,
    /// Optional parameters.
    pub tlvs: Tlvs<B>,
}

impl<B: Storage> SubmitMulti<B> {
    pub(crate) fn read(r: &mut Reader<B>) -> Result<Self, Error> {
        let service_type = r.cstr(Field::ServiceType, 6)?;
        let source = read_address(r, SOURCE, 21)?;
        let count = r.u8(Field::NumberOfDests)?;
        if count == 0 && r.strict() {
            return Err(Error::InvalidValue(Field::NumberOfDests));
        }
        // Each destination takes at least 2 octets, so the count is bounded by the frame.
        if usize::from(count) * 2 > r.remaining() {
            return Err(Error::Truncated(Field::NumberOfDests));
        }
        let mut dests = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            dests.push(match r.u8(Field::DestFlag)? {
                1 => MultiDest::Sme(read_address(r, DEST, 21)?),
                2 => MultiDest::DistributionList(r.cstr(Field::DlName, 21)?),
                _ => return Err(Error::InvalidValue(Field::DestFlag)),
            });
        }
        Ok(SubmitMulti {
            service_type,
            source,
            dests,
            esm_class: EsmClass(r.u8(Field::EsmClass)?),
            protocol_id: r.u8(Field::ProtocolId)?,
            priority_flag: r.u8(Field::PriorityFlag)?,
            schedule_delivery_time: r.time(Field::ScheduleDeliveryTime)?,
            validity_period: r.time(Field::ValidityPeriod)?,
            registered_delivery: RegisteredDelivery(r.u8(Field::RegisteredDelivery)?),
            replace_if_present_flag: r.u8(Field::ReplaceIfPresentFlag)?,
            data_coding: DataCoding(r.u8(Field::DataCoding)?),
            sm_default_msg_id: r.u8(Field::SmDefaultMsgId)?,
            short_message: r.short_message()?,
            tlvs: r.tlvs()?,
        })
    }
}

impl<B: AsRef<[u8]>> SubmitMulti<B> {
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
        put_cstr(buf, Field::ServiceType, self.service_type.as_ref())?;
        put_address(buf, &self.source, Field::SourceAddr)?;
        let count =
            u8::try_from(self.dests.len()).map_err(|_| Error::Unencodable(Field::NumberOfDests))?;
        buf.put_u8(count);
        for d in &self.dests {
            match d {
                MultiDest::Sme(a) => {
                    buf.put_u8(1);
                    put_address(buf, a, Field::DestinationAddr)?;
                }
                MultiDest::DistributionList(name) => {
                    buf.put_u8(2);
                    put_cstr(buf, Field::DlName, name.as_ref())?;
                }
            }
        }
        buf.put_u8(self.esm_class.0);
        buf.put_u8(self.protocol_id);
        buf.put_u8(self.priority_flag);
        put_cstr(
            buf,
            Field::ScheduleDeliveryTime,
            self.schedule_delivery_time.as_ref(),
        )?;
        put_cstr(buf, Field::ValidityPeriod, self.validity_period.as_ref())?;
        buf.put_u8(self.registered_delivery.0);
        buf.put_u8(self.replace_if_present_flag);
        buf.put_u8(self.data_coding.0);
        buf.put_u8(self.sm_default_msg_id);
        put_short_message(buf, self.short_message.as_ref())?;
        buf.put_slice(self.tlvs.as_bytes());
        Ok(())
    }
}

/// A destination of a submit_multi that the SMSC could not accept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UnsuccessSme<B = Bytes> {
    /// The destination.
    pub address: Address<B>,
    /// Why it failed.
    pub error_status: CommandStatus,
}

/// The body of submit_multi_resp.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubmitMultiResp<B = Bytes> {
    /// The SMSC's id for the message.
    pub message_id: B,
    /// The destinations that failed.
    pub unsuccess: Vec<UnsuccessSme<B>>,
    /// Optional parameters (SMPP 5.0).
    pub tlvs: Tlvs<B>,
}

impl<B: Storage> SubmitMultiResp<B> {
    pub(crate) fn read(r: &mut Reader<B>) -> Result<Self, Error> {
        let message_id = r.last_cstr_or_empty(Field::MessageId, 65)?;
        if r.remaining() == 0 {
            // The body after message_id was omitted (an error response, or a lenient peer).
            return Ok(SubmitMultiResp {
                message_id,
                unsuccess: Vec::new(),
                tlvs: r.tlvs()?,
            });
        }
        let count = r.u8(Field::NoUnsuccess)?;
        // Each entry takes at least 7 octets.
        if usize::from(count) * 7 > r.remaining() {
            return Err(Error::Truncated(Field::NoUnsuccess));
        }
        let mut unsuccess = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            unsuccess.push(UnsuccessSme {
                address: read_address(r, DEST, 21)?,
                error_status: CommandStatus(r.u32(Field::ErrorStatusCode)?),
            });
        }
        Ok(SubmitMultiResp {
            message_id,
            unsuccess,
            tlvs: r.tlvs()?,
        })
    }
}

impl<B: AsRef<[u8]>> SubmitMultiResp<B> {
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
        put_cstr(buf, Field::MessageId, self.message_id.as_ref())?;
        let count = u8::try_from(self.unsuccess.len())
            .map_err(|_| Error::Unencodable(Field::NoUnsuccess))?;
        buf.put_u8(count);
        for u in &self.unsuccess {
            put_address(buf, &u.address, Field::DestinationAddr)?;
            buf.put_u32(u.error_status.0);
        }
        buf.put_slice(self.tlvs.as_bytes());
        Ok(())
    }
}
