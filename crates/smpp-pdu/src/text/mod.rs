//! Text in SMS: the alphabets SMPP carries, choosing the cheapest one for a text, and counting
//! the segments it needs.
//!
//! Limits (3GPP 23.040): one message holds 160 GSM septets, 140 octets or 70 UCS-2 units. A
//! concatenated part loses room to its User Data Header — 6 octets with an 8-bit reference
//! (153 / 134 / 67 left), 7 with a 16-bit one (152 / 133 / 66). Counting walks the text so an
//! escaped GSM character or a surrogate pair is never split across two parts.

mod data_coding;
pub mod gsm7;
pub mod latin1;
pub mod ucs2;

pub use data_coding::{Alphabet, DataCoding};

use crate::Error;

/// The concatenation reference size, which decides how much room a part's header takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RefSize {
    /// 8-bit reference (IE 0x00), 6-octet header; also the room left for SAR-based parts, which
    /// the SMSC turns into such headers.
    #[default]
    Bits8,
    /// 16-bit reference (IE 0x08), 7-octet header.
    Bits16,
}

/// How a text would be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The alphabet chosen.
    pub alphabet: Alphabet,
    /// The `data_coding` to send with.
    pub data_coding: DataCoding,
    /// Length in the alphabet's units: septets, octets or UTF-16 code units.
    pub units: usize,
    /// Messages needed (1 when it fits a single message).
    pub segments: usize,
}

/// Capacity of one message and of one concatenated part, in the alphabet's units.
pub const fn limits(alphabet: Alphabet, reference: RefSize) -> (usize, usize) {
    let (single, udh8, udh16) = match alphabet {
        Alphabet::Gsm7 => (160, 153, 152),
        Alphabet::Ucs2 => (70, 67, 66),
        Alphabet::Ascii | Alphabet::Latin1 | Alphabet::Binary => (140, 134, 133),
    };
    match reference {
        RefSize::Bits8 => (single, udh8),
        RefSize::Bits16 => (single, udh16),
    }
}

/// The cost of each character of `text` in `alphabet`'s units, or the first character the
/// alphabet lacks.
pub(crate) fn unit_costs(
    text: &str,
    alphabet: Alphabet,
) -> impl Iterator<Item = Result<usize, Error>> + '_ {
    text.chars().map(move |c| match alphabet {
        Alphabet::Gsm7 => gsm7::lookup(c)
            .map(gsm7::Septets::len)
            .ok_or(Error::UnencodableChar(c)),
        Alphabet::Ucs2 => Ok(c.len_utf16()),
        Alphabet::Latin1 if u32::from(c) <= 0xFF => Ok(1),
        Alphabet::Ascii if c.is_ascii() => Ok(1),
        Alphabet::Binary => Ok(c.len_utf8()),
        _ => Err(Error::UnencodableChar(c)),
    })
}

/// Segments `text` needs in `alphabet`.
///
/// # Errors
/// [`Error::UnencodableChar`] when the alphabet cannot carry the text.
pub fn segments(text: &str, alphabet: Alphabet, reference: RefSize) -> Result<usize, Error> {
    let (single, part) = limits(alphabet, reference);
    let mut total = 0;
    let mut count = 1;
    let mut in_part = 0;
    for cost in unit_costs(text, alphabet) {
        let cost = cost?;
        total += cost;
        if in_part + cost > part {
            count += 1;
            in_part = 0;
        }
        in_part += cost;
    }
    Ok(if total <= single { 1 } else { count })
}

/// Picks GSM 7-bit when it can carry `text`, otherwise UCS-2. Latin-1 is not considered:
/// carriers' support for data_coding 3 is patchy (see [`choose_with`]).
pub fn choose(text: &str) -> Plan {
    choose_with(text, false, RefSize::Bits8)
}

/// Picks the cheapest alphabet that can carry `text`: GSM 7-bit, then Latin-1 when allowed
/// and cheaper, then UCS-2; and counts segments with `reference`.
pub fn choose_with(text: &str, allow_latin1: bool, reference: RefSize) -> Plan {
    let candidates = [
        Some(Alphabet::Gsm7),
        allow_latin1.then_some(Alphabet::Latin1),
        Some(Alphabet::Ucs2),
    ];
    let plans = candidates.into_iter().flatten().filter_map(|alphabet| {
        let units: usize = unit_costs(text, alphabet)
            .sum::<Result<usize, Error>>()
            .ok()?;
        let segments = segments(text, alphabet, reference).ok()?;
        Some(Plan {
            alphabet,
            data_coding: DataCoding::for_alphabet(alphabet),
            units,
            segments,
        })
    });
    // Fewest segments wins; GSM before Latin-1 before UCS-2 on a tie (candidates' order).
    plans.min_by_key(|p| p.segments).unwrap_or(Plan {
        alphabet: Alphabet::Ucs2,
        data_coding: DataCoding::UCS2,
        units: ucs2::unit_len(text),
        segments: segments(text, Alphabet::Ucs2, reference).unwrap_or(1),
    })
}

/// Decodes a message body into text according to its `data_coding` (unpacked GSM for
/// GSM 7-bit; lossy for UCS-2; binary bodies as Latin-1 so no octet is lost).
pub fn decode(data: &[u8], coding: DataCoding, out: &mut String) {
    match coding.alphabet() {
        Alphabet::Gsm7 => gsm7::decode_unpacked(data, out),
        Alphabet::Ascii => latin1::decode_ascii(data, out),
        Alphabet::Ucs2 => ucs2::decode_lossy(data, out),
        Alphabet::Latin1 | Alphabet::Binary => latin1::decode(data, out),
    }
}

/// Encodes `text` in `alphabet` (GSM unpacked), returning the units written.
///
/// # Errors
/// [`Error::UnencodableChar`] when the alphabet cannot carry the text.
pub fn encode(
    text: &str,
    alphabet: Alphabet,
    out: &mut impl bytes::BufMut,
) -> Result<usize, Error> {
    match alphabet {
        Alphabet::Gsm7 => gsm7::encode_unpacked(text, out),
        Alphabet::Ascii => latin1::encode_ascii(text, out),
        Alphabet::Latin1 => latin1::encode(text, out),
        Alphabet::Ucs2 => Ok(ucs2::encode(text, out)),
        Alphabet::Binary => {
            out.put_slice(text.as_bytes());
            Ok(text.len())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_concatenated_limits() {
        let a160 = "a".repeat(160);
        assert_eq!(choose(&a160).segments, 1);
        assert_eq!(choose(&"a".repeat(161)).segments, 2);
        assert_eq!(choose(&"a".repeat(306)).segments, 2);
        assert_eq!(choose(&"a".repeat(307)).segments, 3);
        let p = choose(&"ж".repeat(70));
        assert_eq!((p.alphabet, p.segments, p.units), (Alphabet::Ucs2, 1, 70));
        assert_eq!(choose(&"ж".repeat(71)).segments, 2);
        assert_eq!(choose(&"ж".repeat(134)).segments, 2);
        assert_eq!(choose(&"ж".repeat(135)).segments, 3);
        // 16-bit references leave one unit less per part.
        assert_eq!(
            segments(&"a".repeat(304), Alphabet::Gsm7, RefSize::Bits16),
            Ok(2)
        );
        assert_eq!(
            segments(&"a".repeat(305), Alphabet::Gsm7, RefSize::Bits16),
            Ok(3)
        );
    }

    #[test]
    fn an_escape_is_never_split() {
        // 152 plain septets, then '€' (two septets) would straddle 153: it moves to part two.
        let text = format!("{}€{}", "a".repeat(152), "b".repeat(152));
        // 152 + 2 + 152 = 306 septets, which would fit two parts of 153 if split anywhere.
        assert_eq!(gsm7::septet_len(&text), Some(306));
        assert_eq!(segments(&text, Alphabet::Gsm7, RefSize::Bits8), Ok(3));
    }

    #[test]
    fn a_surrogate_pair_is_never_split() {
        let text = format!("{}😀{}", "ж".repeat(66), "ж".repeat(66));
        assert_eq!(ucs2::unit_len(&text), 134);
        assert_eq!(segments(&text, Alphabet::Ucs2, RefSize::Bits8), Ok(3));
    }

    #[test]
    fn latin1_only_when_allowed_and_cheaper() {
        let text = "é".repeat(100); // é is in GSM: stays GSM
        assert_eq!(choose(&text).alphabet, Alphabet::Gsm7);
        let text = "ï".repeat(100); // not in GSM
        assert_eq!(choose(&text).alphabet, Alphabet::Ucs2);
        let p = choose_with(&text, true, RefSize::Bits8);
        assert_eq!((p.alphabet, p.segments), (Alphabet::Latin1, 1));
        assert_eq!(p.data_coding, DataCoding::LATIN1);
    }

    #[test]
    fn decode_by_coding() {
        let mut s = String::new();
        decode(&[0x00, 0x48, 0x00, 0x69], DataCoding::UCS2, &mut s);
        assert_eq!(s, "Hi");
        s.clear();
        decode(&[0x1B, 0x65], DataCoding::DEFAULT, &mut s);
        assert_eq!(s, "€");
    }
}
