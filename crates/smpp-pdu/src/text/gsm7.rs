//! GSM 03.38 default alphabet with its basic extension table, unpacked (one septet per octet,
//! as SMPP carries data_coding 0) and packed (eight septets in seven octets, as on the air and
//! in some carriers' SMPP).
//!
//! Decoding is tolerant, as 03.38 recommends: an unknown escape reads as the base character, a
//! lone trailing escape as a space, and the top bit of an unpacked octet is ignored.

use bytes::BufMut;

use crate::Error;

/// The escape septet that introduces the extension table.
pub const ESCAPE: u8 = 0x1B;

/// The default alphabet, indexed by septet. 0x1B (escape) maps to NBSP as a placeholder; it is
/// never produced by decoding.
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{a0}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The basic extension table: (septet after the escape, character).
const EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];

/// How a character is written: one septet, or the escape and one septet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Septets {
    /// A character of the default alphabet.
    One(u8),
    /// A character of the extension table (escape, then this septet).
    Escaped(u8),
}

impl Septets {
    /// How many septets the character takes.
    pub const fn len(self) -> usize {
        match self {
            Septets::One(_) => 1,
            Septets::Escaped(_) => 2,
        }
    }

    /// Always false: a character takes at least one septet.
    pub const fn is_empty(self) -> bool {
        false
    }
}

/// The septet(s) for `c`, or `None` when the alphabet lacks it.
pub fn lookup(c: char) -> Option<Septets> {
    // Most text is ASCII letters and digits, which sit at their ASCII positions.
    if c.is_ascii_alphanumeric() {
        return Some(Septets::One(c as u8));
    }
    if let Some(&(s, _)) = EXTENSION.iter().find(|&&(_, e)| e == c) {
        return Some(Septets::Escaped(s));
    }
    BASIC
        .iter()
        .position(|&b| b == c)
        .filter(|&i| i != usize::from(ESCAPE))
        .map(|i| Septets::One(i as u8))
}

/// Septets `text` needs (extension characters count two), or `None` when a character is
/// not in the alphabet.
pub fn septet_len(text: &str) -> Option<usize> {
    text.chars().map(|c| lookup(c).map(Septets::len)).sum()
}

/// Writes `text` as unpacked septets (one per octet). Returns the septet count.
///
/// # Errors
/// [`Error::Unencodable`] naming the first character the alphabet lacks.
pub fn encode_unpacked(text: &str, out: &mut impl BufMut) -> Result<usize, Error> {
    let mut n = 0;
    for c in text.chars() {
        match lookup(c).ok_or(Error::UnencodableChar(c))? {
            Septets::One(s) => {
                out.put_u8(s);
                n += 1;
            }
            Septets::Escaped(s) => {
                out.put_u8(ESCAPE);
                out.put_u8(s);
                n += 2;
            }
        }
    }
    Ok(n)
}

/// Reads unpacked septets into `out`, tolerantly (see the module docs).
pub fn decode_unpacked(septets: &[u8], out: &mut String) {
    let mut iter = septets.iter().map(|b| b & 0x7F);
    while let Some(s) = iter.next() {
        if s != ESCAPE {
            out.push(BASIC[usize::from(s)]);
            continue;
        }
        match iter.next() {
            Some(e) => match EXTENSION.iter().find(|&&(x, _)| x == e) {
                Some(&(_, c)) => out.push(c),
                // 03.38: an unknown extension reads as the basic character.
                None if e == ESCAPE => out.push(' '),
                None => out.push(BASIC[usize::from(e)]),
            },
            None => out.push(' '),
        }
    }
}

/// Packs septets eight to seven octets, after `fill_bits` (0–6) zero bits that align the
/// text after a User Data Header.
pub fn pack_with_fill(septets: &[u8], fill_bits: u8, out: &mut impl BufMut) {
    let mut acc: u32 = 0;
    let mut bits = u32::from(fill_bits.min(7));
    for &s in septets {
        acc |= u32::from(s & 0x7F) << bits;
        bits += 7;
        while bits >= 8 {
            out.put_u8(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        out.put_u8(acc as u8);
    }
}

/// Packs septets with no fill.
pub fn pack(septets: &[u8], out: &mut impl BufMut) {
    pack_with_fill(septets, 0, out);
}

/// Unpacks `count` septets from `packed`, starting after `fill_bits` bits. Stops early if the
/// data runs out.
pub fn unpack_with_fill(packed: &[u8], count: usize, fill_bits: u8, out: &mut impl BufMut) {
    let mut acc: u32 = 0;
    let mut bits: u32 = 0;
    let mut bytes = packed.iter();
    let mut skip = u32::from(fill_bits.min(7));
    let mut produced = 0;
    while produced < count {
        while bits < 7 + skip {
            match bytes.next() {
                Some(&b) => {
                    acc |= u32::from(b) << bits;
                    bits += 8;
                }
                None => return,
            }
        }
        acc >>= skip;
        bits -= skip;
        skip = 0;
        out.put_u8((acc & 0x7F) as u8);
        acc >>= 7;
        bits -= 7;
        produced += 1;
    }
}

/// Unpacks `count` septets with no fill.
pub fn unpack(packed: &[u8], count: usize, out: &mut impl BufMut) {
    unpack_with_fill(packed, count, 0, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(s: &str) -> Vec<u8> {
        let mut v = Vec::new();
        encode_unpacked(s, &mut v).unwrap();
        v
    }

    #[test]
    fn known_vectors() {
        assert_eq!(enc("@£$¥"), [0, 1, 2, 3]);
        assert_eq!(enc("€"), [0x1B, 0x65]);
        assert_eq!(enc("["), [0x1B, 0x3C]);
        assert_eq!(enc("Hi!"), [0x48, 0x69, 0x21]);
        assert_eq!(septet_len("a€b"), Some(4));
        assert_eq!(septet_len("a😀"), None);
        assert_eq!(
            encode_unpacked("naïve", &mut Vec::new()),
            Err(Error::UnencodableChar('ï'))
        );
        let mut packed = Vec::new();
        pack(&enc("hellohello"), &mut packed);
        assert_eq!(
            packed,
            [0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37]
        );
        let mut back = Vec::new();
        unpack(&packed, 10, &mut back);
        assert_eq!(back, enc("hellohello"));
    }

    #[test]
    fn tolerant_decoding() {
        let mut s = String::new();
        decode_unpacked(&[0x1B, 0x41, 0x1B], &mut s);
        assert_eq!(s, "A ");
        s.clear();
        decode_unpacked(&[0xC1], &mut s); // top bit ignored
        assert_eq!(s, "A");
    }

    fn gsm_text() -> impl Strategy<Value = String> {
        let chars: Vec<char> = BASIC
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != usize::from(ESCAPE))
            .map(|(_, &c)| c)
            .chain(EXTENSION.iter().map(|&(_, c)| c))
            .collect();
        proptest::collection::vec(proptest::sample::select(chars), 0..200)
            .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn unpacked_round_trip(text in gsm_text()) {
            let septets = enc(&text);
            prop_assert_eq!(Some(septets.len()), septet_len(&text));
            let mut back = String::new();
            decode_unpacked(&septets, &mut back);
            prop_assert_eq!(back, text);
        }

        #[test]
        fn packed_round_trip(septets in proptest::collection::vec(0u8..128, 0..300), fill in 0u8..7) {
            let mut packed = Vec::new();
            pack_with_fill(&septets, fill, &mut packed);
            prop_assert_eq!(packed.len(), (septets.len() * 7 + usize::from(fill)).div_ceil(8));
            let mut back = Vec::new();
            unpack_with_fill(&packed, septets.len(), fill, &mut back);
            prop_assert_eq!(back, septets);
        }

        #[test]
        fn decoding_anything_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300), n in 0usize..400, fill in any::<u8>()) {
            let mut s = String::new();
            decode_unpacked(&data, &mut s);
            let mut v = Vec::new();
            unpack_with_fill(&data, n, fill, &mut v);
        }
    }
}
