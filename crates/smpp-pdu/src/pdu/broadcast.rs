//! SMPP 5.0 cell broadcast: broadcast_sm, query_broadcast_sm and cancel_broadcast_sm. Their
//! areas, content type and repetition travel in TLVs, which stay in the raw region.

use bytes::{BufMut, Bytes, BytesMut};

use crate::pdu::sm::{put_address, read_address, SOURCE};
use crate::text::DataCoding;
use crate::tlv::Tlvs;
use crate::types::Address;
use crate::wire::{put_cstr, Reader, Storage};
use crate::{Error, Field};

/// The body of broadcast_sm.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BroadcastSm<B = Bytes> {
    /// The service, often empty.
    pub service_type: B,
    /// The sender.
    pub source: Address<B>,
    /// The id of a broadcast to replace, or empty.
    pub message_id: B,
    /// Priority.
    pub priority_flag: u8,
    /// When to start.
    pub schedule_delivery_time: B,
    /// When to stop.
    pub validity_period: B,
    /// Replace the broadcast named by `message_id`.
    pub replace_if_present_flag: u8,
    /// The alphabet of the content.
    pub data_coding: DataCoding,
    /// A canned message's id, or 0.
    pub sm_default_msg_id: u8,
    /// Optional parameters: `broadcast_area_identifier`, `broadcast_content_type`,
    /// `broadcast_rep_num`, `broadcast_frequency_interval`, `message_payload`, …
    pub tlvs: Tlvs<B>,
}

impl<B: Storage> BroadcastSm<B> {
    pub(crate) fn read(r: &mut Reader<B>) -> Result<Self, Error> {
        Ok(BroadcastSm {
            service_type: r.cstr(Field::ServiceType, 6)?,
            source: read_address(r, SOURCE, 21)?,
            message_id: r.cstr(Field::MessageId, 65)?,
            priority_flag: r.u8(Field::PriorityFlag)?,
            schedule_delivery_time: r.time(Field::ScheduleDeliveryTime)?,
            validity_period: r.time(Field::ValidityPeriod)?,
            replace_if_present_flag: r.u8(Field::ReplaceIfPresentFlag)?,
            data_coding: DataCoding(r.u8(Field::DataCoding)?),
            sm_default_msg_id: r.u8(Field::SmDefaultMsgId)?,
            tlvs: r.tlvs()?,
        })
    }
}

impl<B: AsRef<[u8]>> BroadcastSm<B> {
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
        put_cstr(buf, Field::ServiceType, self.service_type.as_ref())?;
        put_address(buf, &self.source, Field::SourceAddr)?;
        put_cstr(buf, Field::MessageId, self.message_id.as_ref())?;
        buf.put_u8(self.priority_flag);
        put_cstr(
            buf,
            Field::ScheduleDeliveryTime,
            self.schedule_delivery_time.as_ref(),
        )?;
        put_cstr(buf, Field::ValidityPeriod, self.validity_period.as_ref())?;
        buf.put_u8(self.replace_if_present_flag);
        buf.put_u8(self.data_coding.0);
        buf.put_u8(self.sm_default_msg_id);
        buf.put_slice(self.tlvs.as_bytes());
        Ok(())
    }
}

/// The body of query_broadcast_sm.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryBroadcastSm<B = Bytes> {
    /// The broadcast's id.
    pub message_id: B,
    /// The original sender.
    pub source: Address<B>,
    /// Optional parameters: `user_message_reference`.
    pub tlvs: Tlvs<B>,
}

impl<B: Storage> QueryBroadcastSm<B> {
    pub(crate) fn read(r: &mut Reader<B>) -> Result<Self, Error> {
        Ok(QueryBroadcastSm {
            message_id: r.cstr(Field::MessageId, 65)?,
            source: read_address(r, SOURCE, 21)?,
            tlvs: r.tlvs()?,
        })
    }
}

impl<B: AsRef<[u8]>> QueryBroadcastSm<B> {
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
        put_cstr(buf, Field::MessageId, self.message_id.as_ref())?;
        put_address(buf, &self.source, Field::SourceAddr)?;
        buf.put_slice(self.tlvs.as_bytes());
        Ok(())
    }
}

/// The body of cancel_broadcast_sm.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CancelBroadcastSm<B = Bytes> {
    /// Cancel broadcasts of this service type (with an empty message_id).
    pub service_type: B,
    /// The broadcast to cancel.
    pub message_id: B,
    /// The original sender.
    pub source: Address<B>,
    /// Optional parameters: `broadcast_content_type`, `user_message_reference`.
    pub tlvs: Tlvs<B>,
}

impl<B: Storage> CancelBroadcastSm<B> {
    pub(crate) fn read(r: &mut Reader<B>) -> Result<Self, Error> {
        Ok(CancelBroadcastSm {
            service_type: r.cstr(Field::ServiceType, 6)?,
            message_id: r.cstr(Field::MessageId, 65)?,
            source: read_address(r, SOURCE, 21)?,
            tlvs: r.tlvs()?,
        })
    }
}

impl<B: AsRef<[u8]>> CancelBroadcastSm<B> {
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
        put_cstr(buf, Field::ServiceType, self.service_type.as_ref())?;
        put_cstr(buf, Field::MessageId, self.message_id.as_ref())?;
        put_address(buf, &self.source, Field::SourceAddr)?;
        buf.put_slice(self.tlvs.as_bytes());
        Ok(())
    }
}
