//! ISO-8859-1 (data_coding 3) and IA5/ASCII (data_coding 1): one octet per character.

use bytes::BufMut;

use crate::Error;

/// Writes `text` as Latin-1.
///
/// # Errors
/// [`Error::UnencodableChar`] for a character above U+00FF.
pub fn encode(text: &str, out: &mut impl BufMut) -> Result<usize, Error> {
    let mut n = 0;
    for c in text.chars() {
        let b = u8::try_from(u32::from(c)).map_err(|_| Error::UnencodableChar(c))?;
        out.put_u8(b);
        n += 1;
    }
    Ok(n)
}

/// Reads Latin-1 (every octet is a character).
pub fn decode(data: &[u8], out: &mut String) {
    out.extend(data.iter().map(|&b| char::from(b)));
}

/// Writes `text` as 7-bit ASCII.
///
/// # Errors
/// [`Error::UnencodableChar`] for a non-ASCII character.
pub fn encode_ascii(text: &str, out: &mut impl BufMut) -> Result<usize, Error> {
    match text.chars().find(|c| !c.is_ascii()) {
        Some(c) => Err(Error::UnencodableChar(c)),
        None => {
            out.put_slice(text.as_bytes());
            Ok(text.len())
        }
    }
}

/// Reads ASCII; octets above 0x7F read as U+FFFD.
pub fn decode_ascii(data: &[u8], out: &mut String) {
    out.extend(data.iter().map(|&b| {
        if b.is_ascii() {
            char::from(b)
        } else {
            char::REPLACEMENT_CHARACTER
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vectors() {
        let mut v = Vec::new();
        encode("café", &mut v).unwrap();
        assert_eq!(v, b"caf\xe9");
        assert_eq!(encode("€", &mut v), Err(Error::UnencodableChar('€')));
        assert_eq!(encode_ascii("é", &mut v), Err(Error::UnencodableChar('é')));
    }

    proptest! {
        #[test]
        fn round_trip(text in "[\\x00-\\xff]{0,200}") {
            let mut v = Vec::new();
            encode(&text, &mut v).unwrap();
            let mut back = String::new();
            decode(&v, &mut back);
            prop_assert_eq!(back, text);
        }
    }
}
