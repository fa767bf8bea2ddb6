//! The PDU header and the primitive readers and writers every body is built from.
//!
//! Decoding is generic over [`Storage`] so one set of types serves both uses: `Pdu<&[u8]>`
//! borrows from a buffer the caller keeps (the fastest, nothing is counted), and `Pdu<Bytes>`
//! holds reference-counted slices of the frame so it can outlive the read buffer. Either way
//! no field is copied.

use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};

use crate::tlv::Tlvs;
use crate::{CommandId, CommandStatus, Error, Field};

/// The length of the PDU header: command_length, command_id, command_status, sequence_number.
pub const HEADER_LEN: usize = 16;

/// Where decoded fields live: a slice of the frame.
pub trait Storage: AsRef<[u8]> + Sized {
    /// The sub-slice `range` of `self`, sharing its memory.
    fn slice(&self, range: Range<usize>) -> Self;
}

impl Storage for Bytes {
    fn slice(&self, range: Range<usize>) -> Self {
        Bytes::slice(self, range)
    }
}

impl Storage for &[u8] {
    fn slice(&self, range: Range<usize>) -> Self {
        &self[range]
    }
}

/// The 16-octet header in front of every PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// The whole PDU's length, header included.
    pub command_length: u32,
    /// The operation.
    pub command_id: CommandId,
    /// The outcome, in responses; 0 in requests.
    pub command_status: CommandStatus,
    /// Pairs a response with its request.
    pub sequence_number: u32,
}

impl Header {
    /// Reads the header from the first 16 octets of `buf`, or `None` when fewer are there.
    #[inline]
    pub fn parse(buf: &[u8]) -> Option<Header> {
        let h: &[u8; HEADER_LEN] = buf.get(..HEADER_LEN)?.try_into().ok()?;
        let word = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        Some(Header {
            command_length: word(0),
            command_id: CommandId(word(4)),
            command_status: CommandStatus(word(8)),
            sequence_number: word(12),
        })
    }

    /// Writes the header.
    pub fn write(&self, buf: &mut BytesMut) {
        buf.put_u32(self.command_length);
        buf.put_u32(self.command_id.0);
        buf.put_u32(self.command_status.0);
        buf.put_u32(self.sequence_number);
    }
}

/// How strictly a body is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Reject anything the spec does not allow. When false, accept the ways real carriers are
    /// known to break the rules: C-strings longer than their field's maximum (up to 255 octets),
    /// a last C-string without its NUL, time fields in a wrong format, octets after the body of
    /// a PDU without TLVs, and TLVs whose length disagrees with their definition.
    pub strict: bool,
    /// The largest `command_length` accepted by the framer (default 64 KiB).
    pub max_command_length: u32,
}

impl DecodeOptions {
    /// Strict checking, 64 KiB frames.
    pub const STRICT: DecodeOptions = DecodeOptions {
        strict: true,
        max_command_length: 64 * 1024,
    };
    /// Lenient checking, 64 KiB frames.
    pub const LENIENT: DecodeOptions = DecodeOptions {
        strict: false,
        max_command_length: 64 * 1024,
    };
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self::STRICT
    }
}

/// Longest C-string accepted in lenient mode, NUL included.
const LENIENT_CSTR_MAX: usize = 256;

/// Reads body fields from a frame, slicing instead of copying.
pub(crate) struct Reader<'a, B> {
    frame: &'a B,
    bytes: &'a [u8],
    pos: usize,
    strict: bool,
}

impl<'a, B: Storage> Reader<'a, B> {
    /// A reader over the body of `frame` (which starts with the header).
    pub(crate) fn new(frame: &'a B, strict: bool) -> Self {
        Reader {
            frame,
            bytes: frame.as_ref(),
            pos: HEADER_LEN,
            strict,
        }
    }

    pub(crate) fn strict(&self) -> bool {
        self.strict
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub(crate) fn u8(&mut self, field: Field) -> Result<u8, Error> {
        let b = *self.bytes.get(self.pos).ok_or(Error::Truncated(field))?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn u32(&mut self, field: Field) -> Result<u32, Error> {
        let b = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or(Error::Truncated(field))?;
        self.pos += 4;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// `n` octets.
    pub(crate) fn octets(&mut self, field: Field, n: usize) -> Result<B, Error> {
        if self.remaining() < n {
            return Err(Error::Truncated(field));
        }
        let start = self.pos;
        self.pos += n;
        Ok(self.slice(start..self.pos))
    }

    fn slice(&self, range: Range<usize>) -> B {
        self.frame.slice(range)
    }

    /// A C-Octet string of at most `max` octets including its NUL; returns it without the NUL.
    pub(crate) fn cstr(&mut self, field: Field, max: u16) -> Result<B, Error> {
        let rest = &self.bytes[self.pos..];
        let limit = if self.strict {
            usize::from(max)
        } else {
            LENIENT_CSTR_MAX.max(usize::from(max))
        };
        let window = &rest[..rest.len().min(limit)];
        match window.iter().position(|&b| b == 0) {
            Some(n) => {
                let start = self.pos;
                self.pos += n + 1;
                Ok(self.slice(start..start + n))
            }
            None if rest.len() > window.len() => Err(Error::TooLong { field, max }),
            None => Err(Error::Unterminated(field)),
        }
    }

    /// The last C-string of a body: lenient mode also accepts it without a NUL, up to the end.
    pub(crate) fn last_cstr(&mut self, field: Field, max: u16) -> Result<B, Error> {
        match self.cstr(field, max) {
            Err(Error::Unterminated(_)) if !self.strict => {
                let start = self.pos;
                self.pos = self.bytes.len();
                Ok(self.slice(start..self.pos))
            }
            other => other,
        }
    }

    /// The first field of a response body, which may be absent altogether: SMPP 3.4 omits the
    /// body of a response with an error status, and some peers omit it always.
    pub(crate) fn last_cstr_or_empty(&mut self, field: Field, max: u16) -> Result<B, Error> {
        if self.remaining() == 0 {
            return Ok(self.frame.slice(self.pos..self.pos));
        }
        self.last_cstr(field, max)
    }

    /// An SMPP time field: empty, or 16 characters `YYMMDDhhmmsstnnp` (absolute with `+`/`-`,
    /// relative with `R`).
    pub(crate) fn time(&mut self, field: Field) -> Result<B, Error> {
        let value = self.cstr(field, 17)?;
        if self.strict && !is_valid_time(value.as_ref()) {
            return Err(Error::InvalidValue(field));
        }
        Ok(value)
    }

    /// `sm_length` followed by `short_message`.
    pub(crate) fn short_message(&mut self) -> Result<B, Error> {
        let sm_length = self.u8(Field::SmLength)?;
        let available = self.remaining();
        if usize::from(sm_length) > available {
            return Err(Error::SmLength {
                sm_length,
                available,
            });
        }
        self.octets(Field::ShortMessage, usize::from(sm_length))
    }

    /// Everything left, as the TLV region.
    pub(crate) fn tlvs(&mut self) -> Result<Tlvs<B>, Error> {
        let start = self.pos;
        self.pos = self.bytes.len();
        let raw = if start == self.pos {
            // Skip the slice (and its reference count) for the common empty region.
            self.frame.slice(start..start)
        } else {
            self.slice(start..self.pos)
        };
        Tlvs::parse(raw, self.strict)
    }

    /// The end of a body without TLVs: strict mode rejects leftover octets.
    pub(crate) fn finish(&self) -> Result<(), Error> {
        match self.remaining() {
            0 => Ok(()),
            n if self.strict => Err(Error::TrailingBytes(n)),
            _ => Ok(()),
        }
    }
}

/// True for an empty time or a well-formed `YYMMDDhhmmsstnnp`.
pub(crate) fn is_valid_time(t: &[u8]) -> bool {
    match t {
        [] => true,
        [digits @ .., p] if digits.len() == 15 => {
            digits.iter().all(u8::is_ascii_digit) && matches!(p, b'+' | b'-' | b'R')
        }
        _ => false,
    }
}

/// Writes into a region already sized to fit, for bodies whose length is known up front.
/// The caller sized the region exactly; the writer's indexing checks stay as a safety net.
pub(crate) struct SliceWriter<'a> {
    out: &'a mut [u8],
    pos: usize,
}

impl<'a> SliceWriter<'a> {
    pub(crate) fn new(out: &'a mut [u8]) -> Self {
        SliceWriter { out, pos: 0 }
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.out[self.pos] = v;
        self.pos += 1;
    }

    pub(crate) fn octets(&mut self, v: &[u8]) {
        self.out[self.pos..self.pos + v.len()].copy_from_slice(v);
        self.pos += v.len();
    }

    /// The octets and a NUL (the region is zeroed, so the NUL is a skip).
    pub(crate) fn cstr(&mut self, v: &[u8]) {
        self.octets(v);
        self.pos += 1;
    }
}

/// Writes a C-Octet string and its NUL.
pub(crate) fn put_cstr(buf: &mut BytesMut, field: Field, value: &[u8]) -> Result<(), Error> {
    if value.contains(&0) {
        return Err(Error::Unencodable(field));
    }
    buf.put_slice(value);
    buf.put_u8(0);
    Ok(())
}

/// Writes `sm_length` and `short_message`.
pub(crate) fn put_short_message(buf: &mut BytesMut, sm: &[u8]) -> Result<(), Error> {
    let len = u8::try_from(sm.len()).map_err(|_| Error::Unencodable(Field::ShortMessage))?;
    buf.put_u8(len);
    buf.put_slice(sm);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        assert!(is_valid_time(b""));
        assert!(is_valid_time(b"230101120000004+"));
        assert!(is_valid_time(b"000001000000000R"));
        assert!(!is_valid_time(b"230101120000004"));
        assert!(!is_valid_time(b"23010112000000X+"));
        assert!(!is_valid_time(b"230101120000004*"));
    }
}
