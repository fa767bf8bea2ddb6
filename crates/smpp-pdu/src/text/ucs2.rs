//! UCS-2 (data_coding 8), read and written as UTF-16BE so that characters outside the Basic
//! Multilingual Plane (emoji) travel as surrogate pairs, as handsets send them.

use bytes::BufMut;

use crate::Error;

/// Writes `text` as UTF-16BE. Returns the number of 16-bit code units.
pub fn encode(text: &str, out: &mut impl BufMut) -> usize {
    let mut n = 0;
    for unit in text.encode_utf16() {
        out.put_u16(unit);
        n += 1;
    }
    n
}

/// UTF-16 code units of `text` (a surrogate pair counts two).
pub fn unit_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// Reads UTF-16BE strictly.
///
/// # Errors
/// [`Error::InvalidUcs2`] for an odd length or an unpaired surrogate.
pub fn decode(data: &[u8], out: &mut String) -> Result<(), Error> {
    if data.len() % 2 != 0 {
        return Err(Error::InvalidUcs2);
    }
    let units = data
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]));
    for c in char::decode_utf16(units) {
        out.push(c.map_err(|_| Error::InvalidUcs2)?);
    }
    Ok(())
}

/// Reads UTF-16BE, replacing unpaired surrogates with U+FFFD and ignoring a trailing odd octet.
pub fn decode_lossy(data: &[u8], out: &mut String) {
    let units = data
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]));
    out.extend(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn surrogate_pairs() {
        let mut v = Vec::new();
        assert_eq!(encode("a😀", &mut v), 3);
        assert_eq!(v, [0x00, 0x61, 0xD8, 0x3D, 0xDE, 0x00]);
        let mut s = String::new();
        decode(&v, &mut s).unwrap();
        assert_eq!(s, "a😀");
        assert_eq!(decode(&v[..4], &mut s), Err(Error::InvalidUcs2));
        assert_eq!(decode(&v[..3], &mut s), Err(Error::InvalidUcs2));
        s.clear();
        decode_lossy(&v[..4], &mut s);
        assert_eq!(s, "a\u{FFFD}");
    }

    proptest! {
        #[test]
        fn round_trip(text in any::<String>()) {
            let mut v = Vec::new();
            prop_assert_eq!(encode(&text, &mut v), unit_len(&text));
            let mut back = String::new();
            decode(&v, &mut back).unwrap();
            prop_assert_eq!(back, text);
        }

        #[test]
        fn lossy_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut s = String::new();
            decode_lossy(&data, &mut s);
            let _ = decode(&data, &mut s);
        }
    }
}
