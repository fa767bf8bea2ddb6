//! Operations on a message the SMSC holds — query_sm, cancel_sm — and alert_notification.

use bytes::{BufMut, Bytes, BytesMut};

use crate::pdu::sm::{put_address, read_address, DEST, SOURCE};
use crate::receipt::MessageState;
use crate::tlv::Tlvs;
use crate::types::Address;
use crate::wire::{put_cstr, Reader, Storage};
use crate::{Error, Field};

/// The body of query_sm.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QuerySm<B = Bytes> {
    /// The SMSC's id of the message.
    pub message_id: B,
    /// The original sender.
    pub source: Address<B>,
}

impl<B: Storage> QuerySm<B> {
    pub(crate) fn read(r: &mut Reader<B>) -> Result<Self, Error> {
        let q = QuerySm {
            message_id: r.cstr(Field::MessageId, 65)?,
            source: read_address(r, SOURCE, 21)?,
        };
        r.finish()?;
        Ok(q)
    }
}

impl<B: AsRef<[u8]>> QuerySm<B> {
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
        put_cstr(buf, Field::MessageId, self.message_id.as_ref())?;
        put_address(buf, &self.source, Field::SourceAddr)
    }
}

/// The body of query_sm_resp.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QuerySmResp<B = Bytes> {
    /// The SMSC's id of the message.
    pub message_id: B,
    /// When the message reached its final state, or empty.
    pub final_date: B,
    /// Its state.
    pub message_state: MessageState,
    /// A network error code, or 0.
    pub error_code: u8,
}

impl<B: Storage> QuerySmResp<B> {
    pub(crate) fn read(r: &mut Reader<B>) -> Result<Self, Error> {
        if r.remaining() == 0 {
            return Ok(QuerySmResp {
                message_id: r.last_cstr_or_empty(Field::MessageId, 65)?,
                final_date: r.last_cstr_or_empty(Field::FinalDate, 17)?,
                message_state: MessageState(0),
                error_code: 0,
            });
        }
        let q = QuerySmResp {
            message_id: r.cstr(Field::MessageId, 65)?,
            final_date: r.time(Field::FinalDate)?,
            message_state: MessageState(r.u8(Field::MessageState)?),
            error_code: r.u8(Field::ErrorCode)?,
        };
        r.finish()?;
        Ok(q)
    }
}

impl<B: AsRef<[u8]>> QuerySmResp<B> {
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
        put_cstr(buf, Field::MessageId, self.message_id.as_ref())?;
        put_cstr(buf, Field::FinalDate, self.final_date.as_ref())?;
        buf.put_u8(self.message_state.0);
        buf.put_u8(self.error_code);
        Ok(())
    }
}

/// The body of cancel_sm.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CancelSm<B = Bytes> {
    /// Cancel messages of this service type (with an empty message_id).
    pub service_type: B,
    /// The message to cancel, or empty for all matching the addresses.
    pub message_id: B,
    /// The original sender.
    pub source: Address<B>,
    /// The original recipient.
    pub dest: Address<B>,
}

impl<B: Storage> CancelSm<B> {
    pub(crate) fn read(r: &mut Reader<B>) -> Result<Self, Error> {
        let c = CancelSm {
            service_type: r.cstr(Field::ServiceType, 6)?,
            message_id: r.cstr(Field::MessageId, 65)?,
            source: read_address(r, SOURCE, 21)?,
            dest: read_address(r, DEST, 21)?,
        };
        r.finish()?;
        Ok(c)
    }
}

impl<B: AsRef<[u8]>> CancelSm<B> {
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
        put_cstr(buf, Field::ServiceType, self.service_type.as_ref())?;
        put_cstr(buf, Field::MessageId, self.message_id.as_ref())?;
        put_address(buf, &self.source, Field::SourceAddr)?;
        put_address(buf, &self.dest, Field::DestinationAddr)
    }
}

/// The body of alert_notification: a mobile that was unreachable is available again.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertNotification<B = Bytes> {
    /// The mobile now available.
    pub source: Address<B>,
    /// The ESME that asked to be alerted.
    pub esme: Address<B>,
    /// Optional parameters: `ms_availability_status`.
    pub tlvs: Tlvs<B>,
}

impl<B: Storage> AlertNotification<B> {
    pub(crate) fn read(r: &mut Reader<B>) -> Result<Self, Error> {
        Ok(AlertNotification {
            source: read_address(r, SOURCE, 65)?,
            esme: read_address(
                r,
                [Field::EsmeAddrTon, Field::EsmeAddrNpi, Field::EsmeAddr],
                65,
            )?,
            tlvs: r.tlvs()?,
        })
    }
}

impl<B: AsRef<[u8]>> AlertNotification<B> {
    pub(crate) fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
        put_address(buf, &self.source, Field::SourceAddr)?;
        put_address(buf, &self.esme, Field::EsmeAddr)?;
        buf.put_slice(self.tlvs.as_bytes());
        Ok(())
    }
}
