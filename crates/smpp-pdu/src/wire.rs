//! The PDU header and the primitive readers and writers every body is built from.
//!
//! Decoding is generic over [`Storage`] so one set of types serves both uses: `Pdu<&[u8]>`
//! borrows from a buffer the caller keeps (the fastest, nothing is counted), and `Pdu<Bytes>`
//! holds reference-counted slices of the frame so it can outlive the read buffer. Either way
//! no field is copied.

use std::ops::Range;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::tlv::Tlvs;
use crate::{CommandId, CommandStatus, Error, Field};

/// The length of the PDU header: command_length, command_id, command_status, sequence_number.
pub const HEADER_LEN: usize = 16;

/// Where decoded fields live: a slice of the frame.
pub trait Storage: AsRef<[u8]> + Sized {
    /// The sub-slice `range` of `self`, sharing its memory.
    fn slice(&self, range: Range<usize>) -> Self;

    /// The octets from `start` to the end, made from `self` itself rather than from a copy of
    /// the handle. The decoder gives its frame to the last field this way (the TLV region), so
    /// a `Bytes` frame costs one reference count fewer to decode and to drop.
    fn into_suffix(self, start: usize) -> Self {
        self.slice(start..self.as_ref().len())
    }
}

impl Storage for Bytes {
    #[inline]
    fn slice(&self, range: Range<usize>) -> Self {
        Bytes::slice(self, range)
    }

    #[inline]
    fn into_suffix(mut self, start: usize) -> Self {
        if start >= self.len() {
            // An empty region keeps nothing alive: the frame is released here.
            return Bytes::new();
        }
        self.advance(start);
        self
    }
}

impl Storage for &[u8] {
    #[inline]
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

    /// The header's 16 octets.
    #[inline(always)]
    pub(crate) fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0; HEADER_LEN];
        let words = [
            self.command_length,
            self.command_id.0,
            self.command_status.0,
            self.sequence_number,
        ];
        for (o, w) in out.chunks_exact_mut(4).zip(words) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
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
///
/// Every read is `#[inline]` and every error is built in a `#[cold]` function, so a body's
/// reader compiles to straight-line loads with one predictable branch per field (or per run of
/// fixed-size fields, see [`Reader::fixed`]); the checks are the same as ever, only the
/// error-path code is moved out of the way.
pub(crate) struct Reader<B> {
    /// The whole frame, owned so that the last field can take it (see [`Reader::tlvs`]).
    frame: B,
    pos: usize,
    strict: bool,
}

impl<B: Storage> Reader<B> {
    /// A reader over the body of `frame` (which starts with the header).
    #[inline]
    pub(crate) fn new(frame: B, strict: bool) -> Self {
        Reader {
            frame,
            pos: HEADER_LEN,
            strict,
        }
    }

    #[inline]
    pub(crate) fn strict(&self) -> bool {
        self.strict
    }

    #[inline(always)]
    fn bytes(&self) -> &[u8] {
        self.frame.as_ref()
    }

    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.bytes().len() - self.pos
    }

    /// The octets not read yet.
    #[inline(always)]
    fn rest(&self) -> &[u8] {
        // `pos` never passes the end: every read checks before it advances.
        self.bytes().get(self.pos..).unwrap_or_default()
    }

    #[inline(always)]
    pub(crate) fn u8(&mut self, field: Field) -> Result<u8, Error> {
        let [v] = self.fixed([field])?;
        Ok(v)
    }

    #[inline]
    pub(crate) fn u32(&mut self, field: Field) -> Result<u32, Error> {
        let v = self.fixed([field; 4])?;
        Ok(u32::from_be_bytes(v))
    }

    /// A run of `N` one-octet fields with one bounds check. When the body ends inside the run,
    /// the error names the first field that is missing, as reading them one by one would.
    #[inline(always)]
    pub(crate) fn fixed<const N: usize>(&mut self, fields: [Field; N]) -> Result<[u8; N], Error> {
        const { assert!(N > 0, "a run names at least one field") };
        match self.rest().first_chunk::<N>() {
            Some(&v) => {
                self.pos += N;
                Ok(v)
            }
            None => Err(truncated_in(&fields, self.remaining())),
        }
    }

    /// The `len` octets at `start`; an empty field is made without touching the frame's storage
    /// (for `Bytes`, no reference count).
    #[inline(always)]
    fn slice(&self, start: usize, len: usize) -> B {
        self.frame.slice(start..start + len)
    }

    /// A C-Octet string of at most `max` octets including its NUL; returns it without the NUL.
    #[inline(always)]
    pub(crate) fn cstr(&mut self, field: Field, max: u16) -> Result<B, Error> {
        let rest = self.rest();
        let limit = if self.strict {
            usize::from(max)
        } else {
            LENIENT_CSTR_MAX.max(usize::from(max))
        };
        match find_nul(rest, limit) {
            Some(n) => {
                let start = self.pos;
                self.pos += n + 1;
                Ok(self.slice(start, n))
            }
            None => Err(cstr_error(field, max, self.remaining() > limit)),
        }
    }

    /// The last C-string of a body: lenient mode also accepts it without a NUL, up to the end.
    pub(crate) fn last_cstr(&mut self, field: Field, max: u16) -> Result<B, Error> {
        match self.cstr(field, max) {
            Err(Error::Unterminated(_)) if !self.strict => {
                let start = self.pos;
                self.pos = self.bytes().len();
                Ok(self.slice(start, self.pos - start))
            }
            other => other,
        }
    }

    /// The first field of a response body, which may be absent altogether: SMPP 3.4 omits the
    /// body of a response with an error status, and some peers omit it always.
    pub(crate) fn last_cstr_or_empty(&mut self, field: Field, max: u16) -> Result<B, Error> {
        if self.remaining() == 0 {
            return Ok(self.slice(self.pos, 0));
        }
        self.last_cstr(field, max)
    }

    /// An SMPP time field: empty, or 16 characters `YYMMDDhhmmsstnnp` (absolute with `+`/`-`,
    /// relative with `R`).
    #[inline(always)]
    pub(crate) fn time(&mut self, field: Field) -> Result<B, Error> {
        let value = self.cstr(field, 17)?;
        if self.strict && !is_valid_time(value.as_ref()) {
            return Err(invalid(field));
        }
        Ok(value)
    }

    /// `short_message` once its `sm_length` has been read.
    #[inline(always)]
    pub(crate) fn short_message_of(&mut self, sm_length: u8) -> Result<B, Error> {
        let available = self.remaining();
        if usize::from(sm_length) > available {
            return Err(sm_length_error(sm_length, available));
        }
        let start = self.pos;
        self.pos += usize::from(sm_length);
        Ok(self.slice(start, usize::from(sm_length)))
    }

    /// `sm_length` followed by `short_message`.
    #[inline]
    pub(crate) fn short_message(&mut self) -> Result<B, Error> {
        let sm_length = self.u8(Field::SmLength)?;
        self.short_message_of(sm_length)
    }

    /// Everything left, as the TLV region: the last field of a body, so it takes the frame
    /// itself (see [`Storage::into_suffix`]); the reader is left empty and at its end.
    #[inline]
    pub(crate) fn tlvs(&mut self) -> Result<Tlvs<B>, Error> {
        let start = self.pos;
        let empty = self.frame.slice(0..0);
        let frame = std::mem::replace(&mut self.frame, empty);
        self.pos = 0;
        Tlvs::parse(frame.into_suffix(start), self.strict)
    }

    /// The end of a body without TLVs: strict mode rejects leftover octets.
    #[inline]
    pub(crate) fn finish(&self) -> Result<(), Error> {
        match self.remaining() {
            0 => Ok(()),
            n if self.strict => Err(trailing(n)),
            _ => Ok(()),
        }
    }
}

/// The index of the first NUL among the first `limit` octets of `s`, eight octets at a time.
///
/// C-strings in SMPP are short (at most 65 octets, mostly under 22), so a word-at-a-time scan
/// beats both a byte loop and a call into a SIMD search. The scan may look past `limit` (never
/// past `s`), but a NUL found there is not returned.
#[inline(always)]
fn find_nul(s: &[u8], limit: usize) -> Option<usize> {
    // Empty strings (service_type, the two times) are the most common of all.
    if limit > 0 && *s.first()? == 0 {
        return Some(0);
    }
    let mut at = 0;
    while at < limit {
        let Some(word) = s.get(at..).and_then(<[u8]>::first_chunk::<8>) else {
            let end = s.len().min(limit);
            return s.get(at..end)?.iter().position(|&b| b == 0).map(|n| at + n);
        };
        // The high bit of the first zero octet is set (and possibly of later ones, never of
        // an earlier one): the lowest set bit marks the first NUL.
        let zeros = zero_octets(u64::from_le_bytes(*word));
        if zeros != 0 {
            let n = at + (zeros.trailing_zeros() / 8) as usize;
            return (n < limit).then_some(n);
        }
        at += 8;
    }
    None
}

/// The first of `fields` (never empty) that `remaining` octets do not reach.
#[cold]
#[inline(never)]
fn truncated_in(fields: &[Field], remaining: usize) -> Error {
    Error::Truncated(fields[remaining.min(fields.len() - 1)])
}

#[cold]
#[inline(never)]
fn cstr_error(field: Field, max: u16, too_long: bool) -> Error {
    if too_long {
        Error::TooLong { field, max }
    } else {
        Error::Unterminated(field)
    }
}

#[cold]
#[inline(never)]
fn invalid(field: Field) -> Error {
    Error::InvalidValue(field)
}

#[cold]
#[inline(never)]
fn sm_length_error(sm_length: u8, available: usize) -> Error {
    Error::SmLength {
        sm_length,
        available,
    }
}

#[cold]
#[inline(never)]
fn trailing(n: usize) -> Error {
    Error::TrailingBytes(n)
}

/// True for an empty time or a well-formed `YYMMDDhhmmsstnnp`.
#[inline]
pub(crate) fn is_valid_time(t: &[u8]) -> bool {
    match t {
        [] => true,
        [digits @ .., p] if digits.len() == 15 => {
            digits.iter().all(u8::is_ascii_digit) && matches!(p, b'+' | b'-' | b'R')
        }
        _ => false,
    }
}

/// Writes into a region already sized to fit and zeroed, for bodies whose length is known up
/// front. The caller sized the region exactly; the writer's indexing checks stay as a safety
/// net.
///
/// C-strings are checked for NUL as they are copied, from the same word loads (see
/// [`copy_cstr`]); the caller asks [`SliceWriter::saw_nul`] once at the end and, when a string
/// held one, discards the region and finds which field it was on a cold path.
pub(crate) struct SliceWriter<'a> {
    out: &'a mut [u8],
    pos: usize,
    nul: bool,
}

impl<'a> SliceWriter<'a> {
    #[inline(always)]
    pub(crate) fn new(out: &'a mut [u8]) -> Self {
        SliceWriter {
            out,
            pos: 0,
            nul: false,
        }
    }

    /// A run of one-octet fields (or any fixed-size field) with one bounds check.
    #[inline(always)]
    pub(crate) fn fixed<const N: usize>(&mut self, v: [u8; N]) {
        self.out[self.pos..self.pos + N].copy_from_slice(&v);
        self.pos += N;
    }

    #[inline(always)]
    pub(crate) fn octets(&mut self, v: &[u8]) {
        self.out[self.pos..self.pos + v.len()].copy_from_slice(v);
        self.pos += v.len();
    }

    /// The octets and a NUL (the region is zeroed, so the NUL is a skip). A NUL inside `v` is
    /// remembered for [`SliceWriter::saw_nul`].
    #[inline(always)]
    pub(crate) fn cstr(&mut self, v: &[u8]) {
        let dst = &mut self.out[self.pos..self.pos + v.len()];
        self.nul |= copy_cstr(dst, v);
        self.pos += v.len() + 1;
    }

    /// Whether any string given to [`SliceWriter::cstr`] held a NUL.
    #[inline(always)]
    pub(crate) fn saw_nul(&self) -> bool {
        self.nul
    }
}

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// Non-zero exactly when some octet of `v` is zero; its lowest set bit is the high bit of the
/// first zero octet (little-endian).
#[inline(always)]
const fn zero_octets(v: u64) -> u64 {
    v.wrapping_sub(ONES) & !v & HIGHS
}

/// Non-zero exactly when some octet of `v` is zero.
#[inline(always)]
const fn zero_octets32(v: u32) -> u32 {
    v.wrapping_sub(0x0101_0101) & !v & 0x8080_8080
}

/// Copies `src` into `dst` (of the same length) and says whether `src` holds a NUL.
///
/// C-strings are short (SMPP's longest is 65 octets, most are under 22, many are empty), so up
/// to 16 octets are moved as two overlapping words (or three octets) instead of a call to
/// `memcpy`, and the NUL test uses those same words: word-at-a-time, no loop, no call.
#[inline(always)]
fn copy_cstr(dst: &mut [u8], src: &[u8]) -> bool {
    debug_assert_eq!(dst.len(), src.len());
    let n = src.len();
    match n {
        0 => false,
        1..=3 => {
            // Octets 0, n/2 and n-1 cover every octet of a string this short.
            let (a, b, c) = (src[0], src[n / 2], src[n - 1]);
            dst[0] = a;
            dst[n / 2] = b;
            dst[n - 1] = c;
            (a == 0) | (b == 0) | (c == 0)
        }
        4..=7 => match copy_ends::<4>(dst, src) {
            Some((a, b)) => {
                (zero_octets32(u32::from_le_bytes(a)) | zero_octets32(u32::from_le_bytes(b))) != 0
            }
            None => src.contains(&0),
        },
        8..=16 => match copy_ends::<8>(dst, src) {
            Some((a, b)) => {
                (zero_octets(u64::from_le_bytes(a)) | zero_octets(u64::from_le_bytes(b))) != 0
            }
            None => src.contains(&0),
        },
        _ => {
            dst.copy_from_slice(src);
            has_nul(src)
        }
    }
}

/// Copies the first and the last `N` octets of `src` to the same places in `dst` (of the same
/// length) and returns them: all of `src` when it holds `N` to `2N` octets. `None` (nothing
/// copied) when it is shorter than `N`.
#[inline(always)]
fn copy_ends<const N: usize>(dst: &mut [u8], src: &[u8]) -> Option<([u8; N], [u8; N])> {
    let (&a, &b) = (src.first_chunk::<N>()?, src.last_chunk::<N>()?);
    if let Some(d) = dst.first_chunk_mut::<N>() {
        *d = a;
    }
    if let Some(d) = dst.last_chunk_mut::<N>() {
        *d = b;
    }
    Some((a, b))
}

/// Whether `s` holds a NUL, eight octets at a time (the last word overlaps the one before).
#[inline]
fn has_nul(s: &[u8]) -> bool {
    let Some(&last) = s.last_chunk::<8>() else {
        return s.contains(&0);
    };
    let mut zeros = zero_octets(u64::from_le_bytes(last));
    for w in s.chunks_exact(8) {
        if let Some(&w) = w.first_chunk::<8>() {
            zeros |= zero_octets(u64::from_le_bytes(w));
        }
    }
    zeros != 0
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

    /// Every string length, NUL position and limit around the word size, against a byte loop.
    #[test]
    fn find_nul_agrees_with_a_byte_loop() {
        for len in 0..=40 {
            for nul in (0..len).map(Some).chain([None]) {
                for second in [None, Some(3), Some(9), Some(17)] {
                    let mut s = vec![b'x'; len];
                    for at in [nul, second].into_iter().flatten() {
                        if at < len {
                            s[at] = 0;
                        }
                    }
                    for limit in 0..=45 {
                        let window = &s[..len.min(limit)];
                        let expected = window.iter().position(|&b| b == 0);
                        assert_eq!(find_nul(&s, limit), expected, "{s:?} limit {limit}");
                    }
                }
            }
        }
    }

    /// Every length across the word sizes, with no NUL, one NUL anywhere, or two: the copy is
    /// exact and the answer is that of a byte loop.
    #[test]
    fn copy_cstr_copies_exactly_and_finds_every_nul() {
        for len in 0..=40 {
            for nul in (0..len).map(Some).chain([None]) {
                for second in [None, Some(2), Some(7), Some(15), Some(16), Some(33)] {
                    let mut s: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                    for at in [nul, second].into_iter().flatten() {
                        if at < len {
                            s[at] = 0;
                        }
                    }
                    let expected = s.contains(&0);
                    // A dirty destination, so a missed octet shows.
                    let mut dst = vec![0xEE; len];
                    assert_eq!(copy_cstr(&mut dst, &s), expected, "{s:?}");
                    assert_eq!(dst, s);
                    assert_eq!(has_nul(&s), expected, "{s:?}");
                }
            }
        }
    }

    #[test]
    fn a_header_is_four_big_endian_words() {
        let h = Header {
            command_length: 0x0102_0304,
            command_id: CommandId(0x8000_0004),
            command_status: CommandStatus(0x0000_0045),
            sequence_number: 0x7FFF_FFFF,
        };
        let mut buf = BytesMut::new();
        h.write(&mut buf);
        assert_eq!(h.to_bytes()[..], buf[..]);
    }

    #[test]
    fn a_bytes_frame_becomes_its_own_suffix() {
        let frame = Bytes::from(b"0123456789".to_vec());
        for start in 0..=frame.len() {
            let suffix = frame.clone().into_suffix(start);
            assert_eq!(&suffix[..], &frame[start..]);
            if start < frame.len() {
                assert!(!suffix.is_unique(), "shares the frame's memory");
            }
            drop(suffix);
            assert!(frame.is_unique(), "no reference left behind");
        }
        let borrowed: &[u8] = &frame;
        assert_eq!(borrowed.into_suffix(4), b"456789");
    }

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
