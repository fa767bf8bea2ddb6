//! `data_coding`: which alphabet `short_message` is in.
//!
//! SMPP's own values (0–14) and the GSM 03.38 data coding scheme groups that carriers also send
//! (general coding with an alphabet in bits 3–2, message class, message waiting) map to the
//! handful of alphabets a router has to read.

use std::fmt;

/// The alphabet a message body is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alphabet {
    /// GSM 03.38 default alphabet (with its extension table); SMPP carries one septet per
    /// octet unless told otherwise.
    Gsm7,
    /// IA5 / ASCII.
    Ascii,
    /// ISO-8859-1.
    Latin1,
    /// UCS-2 (read as UTF-16BE, so surrogate pairs survive).
    Ucs2,
    /// 8-bit data, or an alphabet this crate does not convert (JIS, Cyrillic, KS C 5601, …).
    Binary,
}

/// The SMPP `data_coding` field.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DataCoding(pub u8);

macro_rules! codings {
    ($($name:ident = $v:expr, $text:literal;)*) => {
        impl DataCoding {
            $(
                #[doc = $text]
                pub const $name: DataCoding = DataCoding($v);
            )*

            /// The value's name, when SMPP names it.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($v => Some($text),)*
                    _ => None,
                }
            }
        }
    };
}

codings! {
    DEFAULT = 0, "SMSC default alphabet (GSM 03.38 in practice)";
    IA5 = 1, "IA5 (CCITT T.50) / ASCII";
    OCTET_UNSPECIFIED = 2, "Octet unspecified (8-bit binary)";
    LATIN1 = 3, "Latin 1 (ISO-8859-1)";
    BINARY = 4, "Octet unspecified (8-bit binary)";
    JIS = 5, "JIS (X 0208-1990)";
    CYRILLIC = 6, "Cyrillic (ISO-8859-5)";
    LATIN_HEBREW = 7, "Latin/Hebrew (ISO-8859-8)";
    UCS2 = 8, "UCS2 (ISO/IEC-10646)";
    PICTOGRAM = 9, "Pictogram encoding";
    ISO_2022_JP = 10, "ISO-2022-JP (music codes)";
    EXTENDED_KANJI = 13, "Extended Kanji JIS (X 0212-1990)";
    KS_C_5601 = 14, "KS C 5601";
}

impl DataCoding {
    /// The alphabet of a body with this coding.
    ///
    /// Values 0–14 are SMPP's; 0x10–0x3F are GSM 03.38 general coding (bits 3–2: 00 GSM 7-bit,
    /// 01 8-bit, 10 UCS-2); 0xC0–0xDF message waiting (GSM 7-bit), 0xE0–0xEF message waiting
    /// (UCS-2); 0xF0–0xFF message class (bit 2 set: 8-bit, else GSM 7-bit). Anything else reads
    /// as binary.
    pub const fn alphabet(self) -> Alphabet {
        match self.0 {
            0 => Alphabet::Gsm7,
            1 => Alphabet::Ascii,
            3 => Alphabet::Latin1,
            8 => Alphabet::Ucs2,
            0x10..=0x3F => match (self.0 >> 2) & 0b11 {
                0b00 => Alphabet::Gsm7,
                0b10 => Alphabet::Ucs2,
                _ => Alphabet::Binary,
            },
            0xC0..=0xDF => Alphabet::Gsm7,
            0xE0..=0xEF => Alphabet::Ucs2,
            0xF0..=0xFF if self.0 & 0x04 != 0 => Alphabet::Binary,
            0xF0..=0xFF => Alphabet::Gsm7,
            _ => Alphabet::Binary,
        }
    }

    /// The SMPP value to send a body in `alphabet` with.
    pub const fn for_alphabet(alphabet: Alphabet) -> DataCoding {
        match alphabet {
            Alphabet::Gsm7 => DataCoding::DEFAULT,
            Alphabet::Ascii => DataCoding::IA5,
            Alphabet::Latin1 => DataCoding::LATIN1,
            Alphabet::Ucs2 => DataCoding::UCS2,
            Alphabet::Binary => DataCoding::BINARY,
        }
    }
}

impl fmt::Debug for DataCoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(_) => write!(f, "DataCoding({}: {:?})", self.0, self.alphabet()),
            None => write!(f, "DataCoding({:#04x}: {:?})", self.0, self.alphabet()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smpp_values_and_dcs_groups() {
        assert_eq!(DataCoding(0).alphabet(), Alphabet::Gsm7);
        assert_eq!(DataCoding(8).alphabet(), Alphabet::Ucs2);
        assert_eq!(DataCoding(3).alphabet(), Alphabet::Latin1);
        assert_eq!(DataCoding(4).alphabet(), Alphabet::Binary);
        assert_eq!(DataCoding(0x18).alphabet(), Alphabet::Ucs2); // general, UCS2, class bits
        assert_eq!(DataCoding(0x14).alphabet(), Alphabet::Binary);
        assert_eq!(DataCoding(0x11).alphabet(), Alphabet::Gsm7);
        assert_eq!(DataCoding(0xF0).alphabet(), Alphabet::Gsm7); // class 0 (flash), GSM
        assert_eq!(DataCoding(0xF4).alphabet(), Alphabet::Binary);
        assert_eq!(DataCoding(0xE0).alphabet(), Alphabet::Ucs2);
        assert_eq!(DataCoding(0xC8).alphabet(), Alphabet::Gsm7);
        assert_eq!(DataCoding::for_alphabet(Alphabet::Ucs2), DataCoding::UCS2);
    }
}
