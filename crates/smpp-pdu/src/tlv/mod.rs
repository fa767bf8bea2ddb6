//! Optional parameters (TLVs): the raw region of a PDU after its mandatory fields.
//!
//! A router forwards most TLVs without reading them, so decoding keeps the region as one slice
//! of the frame and walks it lazily; typed getters read the parameters people use. Unknown and
//! vendor TLVs stay byte for byte, in order, and re-encode unchanged. [`TlvsBuilder`] writes new
//! ones for PDUs the application creates.

mod tag;

pub use tag::{TlvKind, TlvTag};

use bytes::{BufMut, Bytes, BytesMut};

use crate::receipt::MessageState;
use crate::Error;

/// One TLV as it stands in the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag.
    pub tag: TlvTag,
    /// The value octets (length given by their count).
    pub value: &'a [u8],
}

/// The `network_error_code` TLV: which network reported the error, and its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetworkErrorCode {
    /// 1 ANSI-136, 2 IS-95, 3 GSM, 4 ANSI-41 (3.4); 5.0 adds more.
    pub network_type: u8,
    /// The network's error code.
    pub error_code: u16,
}

/// The optional-parameter region of a PDU, validated when decoded.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Tlvs<B = Bytes>(B);

impl<B: AsRef<[u8]>> Tlvs<B> {
    /// Wraps a region after checking that its TLVs are well formed: each header complete, each
    /// value inside the region, and (when `strict`) each standard TLV's length as the spec says.
    #[inline]
    pub fn parse(raw: B, strict: bool) -> Result<Self, Error> {
        validate(raw.as_ref(), strict)?;
        Ok(Tlvs(raw))
    }

    /// The raw region, as it was on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_ref()
    }

    /// The region's storage.
    pub fn into_inner(self) -> B {
        self.0
    }

    /// True when there are no TLVs.
    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_empty()
    }

    /// Every TLV in wire order.
    pub fn iter(&self) -> TlvIter<'_> {
        TlvIter {
            rest: self.0.as_ref(),
        }
    }

    /// The value of the first TLV with this tag.
    pub fn get(&self, tag: TlvTag) -> Option<&[u8]> {
        self.iter().find(|t| t.tag == tag).map(|t| t.value)
    }

    /// An integer TLV of 1, 2 or 4 octets, big-endian.
    pub fn get_int(&self, tag: TlvTag) -> Option<u32> {
        match *self.get(tag)? {
            [a] => Some(u32::from(a)),
            [a, b] => Some(u32::from(u16::from_be_bytes([a, b]))),
            [a, b, c, d] => Some(u32::from_be_bytes([a, b, c, d])),
            _ => None,
        }
    }

    fn get_u8(&self, tag: TlvTag) -> Option<u8> {
        match *self.get(tag)? {
            [a] => Some(a),
            _ => None,
        }
    }

    fn get_u16(&self, tag: TlvTag) -> Option<u16> {
        match *self.get(tag)? {
            [a, b] => Some(u16::from_be_bytes([a, b])),
            _ => None,
        }
    }

    /// A C-string TLV without its NUL (also accepts a value that lacks the NUL).
    pub fn get_cstr(&self, tag: TlvTag) -> Option<&[u8]> {
        let v = self.get(tag)?;
        Some(v.strip_suffix(&[0]).unwrap_or(v))
    }

    /// `message_payload`: the message body when it does not fit `short_message`.
    pub fn message_payload(&self) -> Option<&[u8]> {
        self.get(TlvTag::MESSAGE_PAYLOAD)
    }

    /// `receipted_message_id`: the SMSC's id of the message a receipt is about, exactly as sent.
    pub fn receipted_message_id(&self) -> Option<&[u8]> {
        self.get_cstr(TlvTag::RECEIPTED_MESSAGE_ID)
    }

    /// `message_state` of a receipt or query.
    pub fn message_state(&self) -> Option<MessageState> {
        self.get_u8(TlvTag::MESSAGE_STATE).map(MessageState)
    }

    /// `network_error_code`.
    pub fn network_error_code(&self) -> Option<NetworkErrorCode> {
        match *self.get(TlvTag::NETWORK_ERROR_CODE)? {
            [network_type, a, b] => Some(NetworkErrorCode {
                network_type,
                error_code: u16::from_be_bytes([a, b]),
            }),
            _ => None,
        }
    }

    /// `sar_msg_ref_num`: the reference shared by the parts of a concatenated message.
    pub fn sar_msg_ref_num(&self) -> Option<u16> {
        self.get_u16(TlvTag::SAR_MSG_REF_NUM)
    }

    /// `sar_total_segments`.
    pub fn sar_total_segments(&self) -> Option<u8> {
        self.get_u8(TlvTag::SAR_TOTAL_SEGMENTS)
    }

    /// `sar_segment_seqnum` (1-based).
    pub fn sar_segment_seqnum(&self) -> Option<u8> {
        self.get_u8(TlvTag::SAR_SEGMENT_SEQNUM)
    }

    /// `user_message_reference`.
    pub fn user_message_reference(&self) -> Option<u16> {
        self.get_u16(TlvTag::USER_MESSAGE_REFERENCE)
    }

    /// `source_port` (WAP/application port addressing).
    pub fn source_port(&self) -> Option<u16> {
        self.get_u16(TlvTag::SOURCE_PORT)
    }

    /// `destination_port`.
    pub fn destination_port(&self) -> Option<u16> {
        self.get_u16(TlvTag::DESTINATION_PORT)
    }

    /// `more_messages_to_send`: 1 when the sender has more messages for the same recipient.
    pub fn more_messages_to_send(&self) -> Option<bool> {
        self.get_u8(TlvTag::MORE_MESSAGES_TO_SEND).map(|v| v != 0)
    }

    /// `callback_num`: digit mode, TON, NPI and the number's digits.
    pub fn callback_num(&self) -> Option<&[u8]> {
        self.get(TlvTag::CALLBACK_NUM)
    }

    /// `sc_interface_version` of a bind response.
    pub fn sc_interface_version(&self) -> Option<u8> {
        self.get_u8(TlvTag::SC_INTERFACE_VERSION)
    }

    /// `payload_type`.
    pub fn payload_type(&self) -> Option<u8> {
        self.get_u8(TlvTag::PAYLOAD_TYPE)
    }

    /// `delivery_failure_reason`.
    pub fn delivery_failure_reason(&self) -> Option<u8> {
        self.get_u8(TlvTag::DELIVERY_FAILURE_REASON)
    }

    /// `additional_status_info_text`.
    pub fn additional_status_info_text(&self) -> Option<&[u8]> {
        self.get_cstr(TlvTag::ADDITIONAL_STATUS_INFO_TEXT)
    }

    /// `ms_availability_status` of an alert_notification.
    pub fn ms_availability_status(&self) -> Option<u8> {
        self.get_u8(TlvTag::MS_AVAILABILITY_STATUS)
    }

    /// Converts the storage, e.g. a borrowed region into an owned one.
    pub fn map<C>(self, f: impl FnOnce(B) -> C) -> Tlvs<C> {
        Tlvs(f(self.0))
    }
}

/// Prints the raw region; [`Tlvs::iter`] lists the TLVs one by one.
impl<B: std::fmt::Debug> std::fmt::Debug for Tlvs<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Tlvs").field(&self.0).finish()
    }
}

/// Iterates the TLVs of a validated region.
#[derive(Debug, Clone)]
pub struct TlvIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Tlv<'a>;

    fn next(&mut self) -> Option<Tlv<'a>> {
        // The region was validated, but stay total: a short tail simply ends the walk.
        let [t0, t1, l0, l1, rest @ ..] = self.rest else {
            return None;
        };
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        let value = rest.get(..len)?;
        self.rest = &rest[len..];
        Some(Tlv {
            tag: TlvTag(u16::from_be_bytes([*t0, *t1])),
            value,
        })
    }
}

/// Walks the region once: each header complete, each value inside the region, and (strict)
/// each standard value as its definition says. Inlined into the body readers, so an empty
/// region costs one comparison.
#[inline]
fn validate(mut rest: &[u8], strict: bool) -> Result<(), Error> {
    while let Some((head, after)) = rest.split_first_chunk::<4>() {
        let tag = TlvTag(u16::from_be_bytes([head[0], head[1]]));
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let Some((value, next)) = after.split_at_checked(len) else {
            return Err(tlv_truncated(tag));
        };
        if strict {
            check_value(tag, value)?;
        }
        rest = next;
    }
    if rest.is_empty() {
        Ok(())
    } else {
        Err(tlv_header_truncated(rest))
    }
}

#[cold]
#[inline(never)]
fn tlv_truncated(tag: TlvTag) -> Error {
    Error::TlvTruncated(tag)
}

/// A region that ends inside a TLV header: the tag when both of its octets are there.
#[cold]
#[inline(never)]
fn tlv_header_truncated(rest: &[u8]) -> Error {
    Error::TlvTruncated(TlvTag(match rest {
        [t0, t1, ..] => u16::from_be_bytes([*t0, *t1]),
        _ => 0,
    }))
}

/// Checks a standard TLV's value against the shape the spec gives it.
#[inline]
fn check_value(tag: TlvTag, value: &[u8]) -> Result<(), Error> {
    let len = value.len();
    let ok = match tag.kind() {
        None => true,
        Some(TlvKind::Empty) => len == 0,
        Some(TlvKind::Int(n)) => len == usize::from(n),
        Some(TlvKind::Octets { min, max }) => (usize::from(min)..=usize::from(max)).contains(&len),
        Some(TlvKind::CString { max }) => match value.split_last() {
            Some((&0, text)) => len <= usize::from(max) && !text.contains(&0),
            _ => false,
        },
    };
    if ok {
        Ok(())
    } else {
        Err(bad_value(tag, value))
    }
}

/// Why `value` failed [`check_value`]: a C-string of an allowed length with a misplaced or
/// missing NUL is a bad value; anything else is a bad length.
#[cold]
#[inline(never)]
fn bad_value(tag: TlvTag, value: &[u8]) -> Error {
    let len = value.len();
    match tag.kind() {
        Some(TlvKind::CString { max }) if len != 0 && len <= usize::from(max) => {
            Error::TlvValue(tag)
        }
        _ => Error::TlvLength {
            tag,
            length: u16::try_from(len).unwrap_or(u16::MAX),
        },
    }
}

/// Writes TLVs for a PDU the application builds.
#[derive(Debug, Default, Clone)]
pub struct TlvsBuilder {
    buf: BytesMut,
}

impl TlvsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty builder with room for `octets` of TLVs (headers included), so a PDU built
    /// from another's TLVs is written without growing the buffer step by step.
    pub fn with_capacity(octets: usize) -> Self {
        TlvsBuilder {
            buf: BytesMut::with_capacity(octets),
        }
    }

    /// Appends a TLV with raw value octets.
    ///
    /// # Errors
    /// [`Error::TlvLength`] when the value exceeds 65535 octets.
    pub fn octets(&mut self, tag: TlvTag, value: &[u8]) -> Result<&mut Self, Error> {
        let len = u16::try_from(value.len()).map_err(|_| Error::TlvLength {
            tag,
            length: u16::MAX,
        })?;
        self.buf.reserve(4 + value.len());
        self.buf.put_u16(tag.0);
        self.buf.put_u16(len);
        self.buf.put_slice(value);
        Ok(self)
    }

    /// Appends a 1-octet integer TLV.
    pub fn u8(&mut self, tag: TlvTag, value: u8) -> &mut Self {
        self.buf.put_u16(tag.0);
        self.buf.put_u16(1);
        self.buf.put_u8(value);
        self
    }

    /// Appends a 2-octet integer TLV.
    pub fn u16(&mut self, tag: TlvTag, value: u16) -> &mut Self {
        self.buf.put_u16(tag.0);
        self.buf.put_u16(2);
        self.buf.put_u16(value);
        self
    }

    /// Appends a 4-octet integer TLV.
    pub fn u32(&mut self, tag: TlvTag, value: u32) -> &mut Self {
        self.buf.put_u16(tag.0);
        self.buf.put_u16(4);
        self.buf.put_u32(value);
        self
    }

    /// Appends a C-string TLV, adding the NUL.
    ///
    /// # Errors
    /// [`Error::TlvValue`] when the value holds a NUL; [`Error::TlvLength`] when too long.
    pub fn cstr(&mut self, tag: TlvTag, value: &[u8]) -> Result<&mut Self, Error> {
        if value.contains(&0) {
            return Err(Error::TlvValue(tag));
        }
        let len = u16::try_from(value.len() + 1).map_err(|_| Error::TlvLength {
            tag,
            length: u16::MAX,
        })?;
        self.buf.put_u16(tag.0);
        self.buf.put_u16(len);
        self.buf.put_slice(value);
        self.buf.put_u8(0);
        Ok(self)
    }

    /// Appends `receipted_message_id`.
    pub fn receipted_message_id(&mut self, id: &[u8]) -> Result<&mut Self, Error> {
        self.cstr(TlvTag::RECEIPTED_MESSAGE_ID, id)
    }

    /// Appends `message_state`.
    pub fn message_state(&mut self, state: MessageState) -> &mut Self {
        self.u8(TlvTag::MESSAGE_STATE, state.0)
    }

    /// Appends `network_error_code`.
    pub fn network_error_code(&mut self, code: NetworkErrorCode) -> &mut Self {
        self.buf.put_u16(TlvTag::NETWORK_ERROR_CODE.0);
        self.buf.put_u16(3);
        self.buf.put_u8(code.network_type);
        self.buf.put_u16(code.error_code);
        self
    }

    /// Appends the three SAR TLVs of one part of a concatenated message.
    pub fn sar(&mut self, reference: u16, total: u8, seqnum: u8) -> &mut Self {
        self.u16(TlvTag::SAR_MSG_REF_NUM, reference)
            .u8(TlvTag::SAR_TOTAL_SEGMENTS, total)
            .u8(TlvTag::SAR_SEGMENT_SEQNUM, seqnum)
    }

    /// Appends every TLV of an existing region unchanged (to forward what was received).
    pub fn extend<B: AsRef<[u8]>>(&mut self, tlvs: &Tlvs<B>) -> &mut Self {
        self.buf.put_slice(tlvs.as_bytes());
        self
    }

    /// The region, ready to put in a PDU.
    pub fn build(self) -> Tlvs<Bytes> {
        Tlvs(self.buf.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_getters_read_what_the_builder_wrote() {
        let mut b = TlvsBuilder::new();
        b.u16(TlvTag::USER_MESSAGE_REFERENCE, 7)
            .u16(TlvTag::SOURCE_PORT, 1234)
            .message_state(MessageState::DELIVERED)
            .network_error_code(NetworkErrorCode {
                network_type: 3,
                error_code: 0x0102,
            })
            .sar(0xBEEF, 3, 2);
        b.receipted_message_id(b"0A1B").unwrap();
        b.octets(TlvTag(0x1401), b"vendor").unwrap();
        let t = Tlvs::parse(b.build().into_inner(), true).unwrap();
        assert_eq!(t.user_message_reference(), Some(7));
        assert_eq!(t.source_port(), Some(1234));
        assert_eq!(t.message_state(), Some(MessageState::DELIVERED));
        assert_eq!(t.network_error_code().map(|n| n.error_code), Some(0x0102));
        assert_eq!(t.sar_msg_ref_num(), Some(0xBEEF));
        assert_eq!(t.sar_total_segments(), Some(3));
        assert_eq!(t.sar_segment_seqnum(), Some(2));
        assert_eq!(t.receipted_message_id(), Some(&b"0A1B"[..]));
        assert_eq!(t.get(TlvTag(0x1401)), Some(&b"vendor"[..]));
        assert_eq!(t.iter().count(), 9);
        assert_eq!(t.destination_port(), None);
    }

    #[test]
    fn malformed_regions_are_rejected() {
        // Header cut short.
        assert_eq!(
            Tlvs::parse(&[0x02, 0x04, 0x00][..], false),
            Err(Error::TlvTruncated(TlvTag::USER_MESSAGE_REFERENCE))
        );
        // Value runs past the end.
        assert_eq!(
            Tlvs::parse(&[0x02, 0x04, 0x00, 0x03, 0x00, 0x01][..], false),
            Err(Error::TlvTruncated(TlvTag::USER_MESSAGE_REFERENCE))
        );
        // Wrong length for a 2-octet value: strict rejects, lenient keeps it.
        let raw = &[0x02, 0x04, 0x00, 0x01, 0x07][..];
        assert_eq!(
            Tlvs::parse(raw, true),
            Err(Error::TlvLength {
                tag: TlvTag::USER_MESSAGE_REFERENCE,
                length: 1
            })
        );
        let lenient = Tlvs::parse(raw, false).unwrap();
        assert_eq!(lenient.user_message_reference(), None);
        // A receipted_message_id without its NUL.
        let raw = &[0x00, 0x1E, 0x00, 0x02, b'a', b'b'][..];
        assert_eq!(
            Tlvs::parse(raw, true),
            Err(Error::TlvValue(TlvTag::RECEIPTED_MESSAGE_ID))
        );
        assert_eq!(
            Tlvs::parse(raw, false).unwrap().receipted_message_id(),
            Some(&b"ab"[..])
        );
    }

    #[test]
    fn table_is_sorted() {
        assert!(TlvTag::ALL.windows(2).all(|w| w[0] < w[1]));
        assert!(TlvTag::ALL.iter().all(|t| t.kind().is_some()));
        assert!(TlvTag(0x1400).is_vendor());
    }
}
