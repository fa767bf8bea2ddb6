//! Splitting a byte stream into PDU frames, and (with the `tokio-codec` feature) a tokio-util
//! codec that yields decoded PDUs.
//!
//! The length is checked before anything is allocated: a `command_length` under 16 or over the
//! limit is fatal to the stream, because nothing after it can be framed. A frame whose body is
//! bad is *not* fatal: the codec yields it as `Err(Malformed)` item so the session can answer it
//! and carry on (the tokio-util contract for skippable messages).

use bytes::{Bytes, BytesMut};

use crate::wire::{DecodeOptions, HEADER_LEN};
use crate::Error;

/// Checks the length prefix at the start of `buf`.
///
/// Returns `Ok(None)` when fewer than 4 octets are there, otherwise the frame's full length.
///
/// # Errors
/// [`Error::CommandLengthTooShort`] or [`Error::CommandLengthTooLong`]: the stream is unusable.
pub fn frame_length(buf: &[u8], max_command_length: u32) -> Result<Option<usize>, Error> {
    let Some(prefix) = buf.get(..4) else {
        return Ok(None);
    };
    let length = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    if (length as usize) < HEADER_LEN {
        return Err(Error::CommandLengthTooShort(length));
    }
    if length > max_command_length {
        return Err(Error::CommandLengthTooLong {
            length,
            max: max_command_length,
        });
    }
    Ok(Some(length as usize))
}

/// Splits the next whole frame off the front of a read buffer.
///
/// Returns `Ok(None)` when more bytes are needed, after reserving room for the rest of the
/// frame (so the next read fills it in one go).
///
/// # Errors
/// A fatal length error, as [`frame_length`].
pub fn split_frame(buf: &mut BytesMut, max_command_length: u32) -> Result<Option<Bytes>, Error> {
    match frame_length(buf, max_command_length)? {
        Some(len) if buf.len() >= len => Ok(Some(buf.split_to(len).freeze())),
        Some(len) => {
            buf.reserve(len - buf.len());
            Ok(None)
        }
        None => Ok(None),
    }
}

#[cfg(feature = "tokio-codec")]
mod codec {
    use bytes::BytesMut;
    use tokio_util::codec::{Decoder, Encoder};

    use super::split_frame;
    use crate::pdu::{Malformed, Pdu};
    use crate::wire::DecodeOptions;
    use crate::Error;

    /// A tokio-util codec for SMPP: decodes frames into `Result<Pdu, Malformed>` items and
    /// encodes PDUs. Only length errors and I/O errors end the stream.
    #[derive(Debug, Clone, Default)]
    pub struct PduCodec {
        /// How frames are checked.
        pub options: DecodeOptions,
    }

    impl Decoder for PduCodec {
        type Item = Result<Pdu, Malformed>;
        type Error = Error;

        fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Error> {
            Ok(split_frame(src, self.options.max_command_length)?
                .map(|frame| Pdu::decode(frame, &self.options)))
        }
    }

    impl<B: AsRef<[u8]>> Encoder<&Pdu<B>> for PduCodec {
        type Error = Error;

        fn encode(&mut self, pdu: &Pdu<B>, dst: &mut BytesMut) -> Result<(), Error> {
            pdu.encode(dst)
        }
    }
}

#[cfg(feature = "tokio-codec")]
pub use codec::PduCodec;

/// A frame splitter that holds its options: call [`Framer::next_frame`] after each read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Framer {
    /// Limits applied to each frame.
    pub options: DecodeOptions,
}

impl Framer {
    /// The next whole frame in `buf`, if any.
    ///
    /// # Errors
    /// A fatal length error.
    pub fn next_frame(&self, buf: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        split_frame(buf, self.options.max_command_length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_checked_before_allocating() {
        assert_eq!(frame_length(&[0, 0, 0], 100), Ok(None));
        assert_eq!(
            frame_length(&[0, 0, 0, 15], 100),
            Err(Error::CommandLengthTooShort(15))
        );
        assert_eq!(
            frame_length(&[0xFF, 0xFF, 0xFF, 0xFF], 65536),
            Err(Error::CommandLengthTooLong {
                length: u32::MAX,
                max: 65536
            })
        );
        let mut buf = BytesMut::from(&[0xFF, 0xFF, 0xFF, 0xFF, 0, 0][..]);
        assert!(split_frame(&mut buf, 65536).is_err());
        assert!(
            buf.capacity() < 1024,
            "nothing reserved for a hostile length"
        );
    }

    #[test]
    fn splits_frames_from_a_stream() {
        let enquire = [0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 1];
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&enquire);
        buf.extend_from_slice(&enquire[..10]);
        let f = split_frame(&mut buf, 65536).unwrap().unwrap();
        assert_eq!(&f[..], &enquire[..]);
        assert_eq!(split_frame(&mut buf, 65536).unwrap(), None);
        buf.extend_from_slice(&enquire[10..]);
        assert_eq!(
            &split_frame(&mut buf, 65536).unwrap().unwrap()[..],
            &enquire[..]
        );
        assert!(buf.is_empty());
    }
}
