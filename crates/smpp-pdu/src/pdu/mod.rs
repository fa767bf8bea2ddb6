//! Whole PDUs: the [`Pdu`] type, decoding a frame into one and encoding one into a buffer.
//!
//! One file per family of bodies (as h2 keeps one per frame type). [`Body`] is an enum with a
//! variant per command, so a `match` covers the protocol and the command_id can never disagree
//! with the body. Decoding a bad body yields [`Malformed`], which still carries the header so
//! the session can answer that sequence number.

mod bind;
mod broadcast;
mod multi;
mod query;
mod sm;

pub use bind::{Bind, BindResp, Outbind};
pub use broadcast::{BroadcastSm, CancelBroadcastSm, QueryBroadcastSm};
pub use multi::{MultiDest, SubmitMulti, SubmitMultiResp, UnsuccessSme};
pub use query::{AlertNotification, CancelSm, QuerySm, QuerySmResp};
pub use sm::{DataSm, DeliverSm, MessageIdResp, ReplaceSm, SubmitSm};

use bytes::{Bytes, BytesMut};

use crate::wire::{DecodeOptions, Header, Reader, Storage, HEADER_LEN};
use crate::{CommandId, CommandStatus, Error};

macro_rules! bodies {
    (
        boxed { $($bvariant:ident($bty:ident) = $bid:ident;)* }
        with body { $($variant:ident($ty:ident) = $id:ident;)* }
        empty { $($evariant:ident = $eid:ident;)* }
    ) => {
        /// The body of a PDU: one variant per command of SMPP 3.4 and 5.0.
        ///
        /// Bodies larger than a message_id response are boxed, so a `Body` is 80 bytes, not
        /// the 256 of a submit_sm: a PDU is moved several times on its way through an
        /// application (into an event, a channel, a task), and each move of the large form
        /// was a `memmove` call (14 % of the router's instructions, benches/e2e/README.md).
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[allow(missing_docs)] // each variant is the command of the same name
        pub enum Body<B = Bytes> {
            $($bvariant(Box<$bty<B>>),)*
            $($variant($ty<B>),)*
            $($evariant,)*
            /// A body sent as the bytes it arrived in (see [`Encoded`]); never decoded.
            Encoded(Encoded<B>),
        }

        impl<B> Body<B> {
            /// The command_id this body is sent with.
            pub const fn command_id(&self) -> CommandId {
                match self {
                    $(Body::$bvariant(_) => CommandId::$bid,)*
                    $(Body::$variant(_) => CommandId::$id,)*
                    $(Body::$evariant => CommandId::$eid,)*
                    Body::Encoded(e) => e.command_id,
                }
            }
        }

        impl<B: Storage> Body<B> {
            /// The body of a header-only command (enquire_link, unbind, …), or `None` for a
            /// command that has fields.
            const fn header_only(id: CommandId) -> Option<Self> {
                match id {
                    $(CommandId::$eid => Some(Body::$evariant),)*
                    _ => None,
                }
            }

            #[inline(always)]
            fn read(id: CommandId, r: &mut Reader<B>) -> Result<Self, Error> {
                Ok(match id {
                    $(CommandId::$bid => Body::$bvariant(Box::new($bty::read(r)?)),)*
                    $(CommandId::$id => Body::$variant($ty::read(r)?),)*
                    $(CommandId::$eid => {
                        // Some peers pad empty bodies; lenient mode lets that pass.
                        r.finish()?;
                        Body::$evariant
                    })*
                    other => return Err(Error::UnknownCommandId(other)),
                })
            }
        }

        impl<B: AsRef<[u8]>> Body<B> {
            fn write(&self, buf: &mut BytesMut) -> Result<(), Error> {
                match self {
                    $(Body::$bvariant(b) => b.write(buf),)*
                    $(Body::$variant(b) => b.write(buf),)*
                    $(Body::$evariant => Ok(()),)*
                    Body::Encoded(e) => {
                        buf.extend_from_slice(e.body.as_ref());
                        Ok(())
                    }
                }
            }
        }
    };
}

bodies! {
    boxed {
        BindTransmitter(Bind) = BIND_TRANSMITTER;
        BindReceiver(Bind) = BIND_RECEIVER;
        BindTransceiver(Bind) = BIND_TRANSCEIVER;
        SubmitSm(SubmitSm) = SUBMIT_SM;
        DeliverSm(SubmitSm) = DELIVER_SM;
        SubmitMulti(SubmitMulti) = SUBMIT_MULTI;
        SubmitMultiResp(SubmitMultiResp) = SUBMIT_MULTI_RESP;
        DataSm(DataSm) = DATA_SM;
        CancelSm(CancelSm) = CANCEL_SM;
        ReplaceSm(ReplaceSm) = REPLACE_SM;
        AlertNotification(AlertNotification) = ALERT_NOTIFICATION;
        BroadcastSm(BroadcastSm) = BROADCAST_SM;
        QueryBroadcastSm(QueryBroadcastSm) = QUERY_BROADCAST_SM;
        CancelBroadcastSm(CancelBroadcastSm) = CANCEL_BROADCAST_SM;
    }
    with body {
        BindTransmitterResp(BindResp) = BIND_TRANSMITTER_RESP;
        BindReceiverResp(BindResp) = BIND_RECEIVER_RESP;
        BindTransceiverResp(BindResp) = BIND_TRANSCEIVER_RESP;
        Outbind(Outbind) = OUTBIND;
        SubmitSmResp(MessageIdResp) = SUBMIT_SM_RESP;
        DeliverSmResp(MessageIdResp) = DELIVER_SM_RESP;
        DataSmResp(MessageIdResp) = DATA_SM_RESP;
        QuerySm(QuerySm) = QUERY_SM;
        QuerySmResp(QuerySmResp) = QUERY_SM_RESP;
        BroadcastSmResp(MessageIdResp) = BROADCAST_SM_RESP;
        QueryBroadcastSmResp(MessageIdResp) = QUERY_BROADCAST_SM_RESP;
    }
    empty {
        GenericNack = GENERIC_NACK;
        Unbind = UNBIND;
        UnbindResp = UNBIND_RESP;
        EnquireLink = ENQUIRE_LINK;
        EnquireLinkResp = ENQUIRE_LINK_RESP;
        CancelSmResp = CANCEL_SM_RESP;
        ReplaceSmResp = REPLACE_SM_RESP;
        CancelBroadcastSmResp = CANCEL_BROADCAST_SM_RESP;
    }
}

/// A body kept as the bytes it arrived in, to be sent on unchanged under a new header.
///
/// A router that forwards a customer's submit_sm as it came sends these bytes instead of
/// cloning the decoded fields and encoding them again (~1.2k of its ~28k instructions per
/// message, benches/e2e/README.md). Decoding never yields it. The bytes are trusted to be a
/// valid body of `command_id`, as they are when they are the body of a frame that decoded as
/// that command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded<B = Bytes> {
    /// The command the bytes are the body of.
    pub command_id: CommandId,
    /// The body: everything after the 16-octet header, as it goes on the wire.
    pub body: B,
}

impl<B: Storage> Encoded<B> {
    /// The body of `frame`, a whole PDU as received (header included): the bytes after its
    /// header, under its command_id, sharing `frame`'s memory. `None` when `frame` is shorter
    /// than a header.
    pub fn of_frame(frame: &B) -> Option<Self> {
        let header = Header::parse(frame.as_ref())?;
        Some(Encoded {
            command_id: header.command_id,
            body: frame.slice(HEADER_LEN..frame.as_ref().len()),
        })
    }
}

/// A PDU: header fields and body. `B` is where its fields live (see [`Storage`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu<B = Bytes> {
    /// Pairs a response with its request.
    pub sequence_number: u32,
    /// The outcome, in responses; `ESME_ROK` in requests.
    pub command_status: CommandStatus,
    /// The command and its fields.
    pub body: Body<B>,
}

/// A frame whose header was read but whose body was not acceptable.
///
/// The header is kept so the receiver can still answer the request: see
/// [`Malformed::reply_header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{} (sequence {}): {error}", header.command_id, header.sequence_number)]
pub struct Malformed {
    /// The frame's header.
    pub header: Header,
    /// What was wrong.
    pub error: Error,
}

impl Malformed {
    /// The header of the response that answers the bad PDU: the command's own response with
    /// the error's status when the command is a known request, otherwise `generic_nack`.
    /// Returns `None` for a bad response to a known request, which is not answered.
    pub fn reply_header(&self) -> Option<Header> {
        let id = self.header.command_id;
        let reply = match (self.error, id.response()) {
            (Error::UnknownCommandId(_), _) => CommandId::GENERIC_NACK,
            (_, Some(resp)) => resp,
            // A known response, or a request with none (outbind, alert_notification): the
            // spec's answer to an unusable PDU without a response of its own is generic_nack,
            // but a response is never answered.
            (_, None) if id.is_response() && id.is_known() => return None,
            (_, None) => CommandId::GENERIC_NACK,
        };
        Some(Header {
            command_length: HEADER_LEN as u32,
            command_id: reply,
            command_status: self.error.status(),
            sequence_number: self.header.sequence_number,
        })
    }
}

impl<B: Storage> Pdu<B> {
    /// Decodes one whole frame (header included), as the framer delivers it.
    ///
    /// Strings and payloads of the result are slices of `frame`; nothing is copied.
    ///
    /// # Errors
    /// [`Malformed`] with the header and the first problem found.
    pub fn decode(frame: B, opts: &DecodeOptions) -> Result<Self, Malformed> {
        let bytes = frame.as_ref();
        let Some(header) = Header::parse(bytes) else {
            let len = bytes.len() as u32;
            return Err(Malformed {
                header: Header {
                    command_length: len,
                    command_id: CommandId(0),
                    command_status: CommandStatus::OK,
                    sequence_number: 0,
                },
                error: Error::CommandLengthTooShort(len),
            });
        };
        let malformed = |error| Malformed { header, error };
        if header.command_length as usize != bytes.len() {
            return Err(malformed(Error::FrameLength {
                length: header.command_length,
                actual: bytes.len(),
            }));
        }
        if header.command_length > opts.max_command_length {
            return Err(malformed(Error::CommandLengthTooLong {
                length: header.command_length,
                max: opts.max_command_length,
            }));
        }
        // Keepalives and unbinds are a large share of small PDUs: answer them without a reader.
        if bytes.len() == HEADER_LEN {
            if let Some(body) = Body::header_only(header.command_id) {
                return Ok(Pdu {
                    sequence_number: header.sequence_number,
                    command_status: header.command_status,
                    body,
                });
            }
        }
        let mut reader = Reader::new(frame, opts.strict);
        let body = Body::read(header.command_id, &mut reader).map_err(malformed)?;
        Ok(Pdu {
            sequence_number: header.sequence_number,
            command_status: header.command_status,
            body,
        })
    }
}

impl<B> Pdu<B> {
    /// A request (or any PDU) with `ESME_ROK`.
    pub fn new(sequence_number: u32, body: Body<B>) -> Self {
        Pdu {
            sequence_number,
            command_status: CommandStatus::OK,
            body,
        }
    }

    /// The command_id of the body.
    pub const fn command_id(&self) -> CommandId {
        self.body.command_id()
    }
}

impl<B: AsRef<[u8]>> Body<B> {
    /// Appends a whole PDU with this body to `buf`, without needing a [`Pdu`] to own it.
    /// On error `buf` is left as it was.
    ///
    /// # Errors
    /// [`Error::Unencodable`] when a field cannot be represented (a C-string holding a NUL, a
    /// short_message over 255 octets, more than 255 destinations).
    #[inline]
    pub fn encode(
        &self,
        sequence_number: u32,
        command_status: CommandStatus,
        buf: &mut BytesMut,
    ) -> Result<(), Error> {
        // The messages, a router's hot path, size the whole PDU and write it in one pass. The
        // two paths are separate functions so that neither pays for the other's registers.
        if let Body::SubmitSm(b) | Body::DeliverSm(b) = self {
            let header = Header {
                command_length: 0,
                command_id: self.command_id(),
                command_status,
                sequence_number,
            };
            return b.encode(header, buf);
        }
        self.encode_other(sequence_number, command_status, buf)
    }

    /// [`Body::encode`] for every body but submit_sm and deliver_sm: the header, the body
    /// appended after it, then command_length patched in.
    #[inline(never)]
    fn encode_other(
        &self,
        sequence_number: u32,
        command_status: CommandStatus,
        buf: &mut BytesMut,
    ) -> Result<(), Error> {
        let start = buf.len();
        buf.reserve(64);
        let header = Header {
            command_length: 0, // patched below
            command_id: self.command_id(),
            command_status,
            sequence_number,
        };
        buf.extend_from_slice(&header.to_bytes());
        if let Err(e) = self.write(buf) {
            buf.truncate(start);
            return Err(e);
        }
        let Ok(len) = u32::try_from(buf.len() - start) else {
            buf.truncate(start);
            return Err(Error::Unencodable(crate::Field::ShortMessage));
        };
        buf[start..start + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }
}

impl<B: AsRef<[u8]>> Pdu<B> {
    /// Appends the encoded PDU to `buf`. On error `buf` is left as it was.
    ///
    /// # Errors
    /// As [`Body::encode`].
    pub fn encode(&self, buf: &mut BytesMut) -> Result<(), Error> {
        self.body
            .encode(self.sequence_number, self.command_status, buf)
    }

    /// The encoded length of the PDU, header included, by encoding it into a scratch buffer.
    pub fn encoded_len(&self) -> Result<usize, Error> {
        let mut buf = BytesMut::new();
        self.encode(&mut buf)?;
        Ok(buf.len())
    }
}

/// Writes a header-only PDU: a generic_nack, an error response without a body, an
/// enquire_link. Returns nothing to check, so it suits the hot path of a session.
pub fn encode_header_only(header: &Header, buf: &mut BytesMut) {
    Header {
        command_length: HEADER_LEN as u32,
        ..*header
    }
    .write(buf);
}

impl From<Malformed> for Error {
    fn from(m: Malformed) -> Self {
        m.error
    }
}

/// Decodes `Bytes` into an owned PDU with the default (strict) options.
impl TryFrom<Bytes> for Pdu<Bytes> {
    type Error = Malformed;

    fn try_from(frame: Bytes) -> Result<Self, Malformed> {
        Pdu::decode(frame, &DecodeOptions::STRICT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The point of boxing the large bodies: a PDU costs little to move, whatever its command.
    #[test]
    fn a_body_is_no_larger_than_a_message_id_response_and_its_tag() {
        assert!(
            std::mem::size_of::<Body>() <= 80,
            "{}",
            std::mem::size_of::<Body>()
        );
        assert!(std::mem::size_of::<Pdu>() <= 88);
        assert!(std::mem::size_of::<Body<&[u8]>>() <= 48);
    }

    /// A received body sent on as it came is the same PDU as its fields encoded again, under
    /// the new header.
    #[test]
    fn an_encoded_body_goes_out_as_the_received_one_under_a_new_header() {
        let sm = SubmitSm {
            service_type: Bytes::from_static(b"CMT"),
            short_message: Bytes::from_static(b"hello"),
            registered_delivery: crate::RegisteredDelivery(1),
            ..SubmitSm::default()
        };
        let mut frame = BytesMut::new();
        Pdu::new(41, Body::SubmitSm(Box::new(sm)))
            .encode(&mut frame)
            .unwrap();
        let frame = frame.freeze();
        let decoded = Pdu::decode(frame.clone(), &DecodeOptions::STRICT).unwrap();

        let encoded = Encoded::of_frame(&frame).unwrap();
        assert_eq!(encoded.command_id, CommandId::SUBMIT_SM);
        assert_eq!(encoded.body, frame.slice(HEADER_LEN..));
        let forwarded = Pdu::new(7, Body::Encoded(encoded));
        assert_eq!(forwarded.command_id(), CommandId::SUBMIT_SM);
        let (mut a, mut b) = (BytesMut::new(), BytesMut::new());
        forwarded.encode(&mut a).unwrap();
        Pdu::new(7, decoded.body).encode(&mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(&a[12..16], &7u32.to_be_bytes());

        assert_eq!(Encoded::of_frame(&frame.slice(..15)), None);
    }
}
