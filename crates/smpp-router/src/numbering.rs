//! Phone numbers in one form, so that the opt-out lists, quiet hours, caps, routes and reply
//! routing compare like with like.
//!
//! Customers and carriers write the same person's number in several ways: `+447700900123`,
//! `447700900123` (TON international), `07700900123` (TON national, or unknown with the trunk
//! prefix) and `00447700900123` (the international dialling prefix). A STOP stored from one
//! form must block a submit written in another, so every number the router compares is first
//! made international (the country code and the national number, digits only). A national
//! form can only be read with a home country, which accounts (for what they submit) and
//! connectors (for what their carrier delivers) name in the config, as Kannel's
//! `unified-prefix` does per SMSC. Without one, only `+` and the international prefix are
//! taken off.
//!
//! Short codes are left as they are, whatever their TON says: a number of at most
//! [`SHORT_CODE_MAX`] digits never gets a country code (carriers send short codes as
//! national as often as network-specific, and an opt-out from `12345` must stay on `12345`).
//!
//! A national number is taken to carry its trunk prefix when it starts with it. Where the
//! prefix is `0` (most countries) or the country code (North America's `1`) no national
//! number starts with it otherwise; Russia's `8` is also the first digit of its 8-800
//! free-phone numbers, which are then misread (no mobile number starts so).

use smpp_pdu::Ton;

/// The most digits a short code has; longer national numbers get the country code.
pub const SHORT_CODE_MAX: usize = 6;

/// Room for any number we compare: a country code and a national number of up to 17 digits.
/// The buffer [`Numbering::international`] writes into is `[0; MAX]`.
pub const MAX: usize = 20;

/// How numbers are written where they come from: the home country of national numbers and
/// its dialling prefixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbering {
    /// Digits of the home country code (`44`); empty: national numbers cannot be read.
    country_code: String,
    /// The prefix a national number is dialled with and that is dropped after the country code
    /// (`0` in most countries, `1` in North America, `8` in Russia, none in Italy).
    trunk_prefix: String,
    /// The prefix that starts an international number dialled from the home country (`00` in
    /// most, `011` in North America).
    international_prefix: String,
}

impl Default for Numbering {
    /// No home country; `00` is taken as the international prefix (ITU-T E.164's recommended
    /// one, and never the start of a North American number).
    fn default() -> Self {
        Numbering {
            country_code: String::new(),
            trunk_prefix: String::new(),
            international_prefix: "00".into(),
        }
    }
}

/// Countries whose prefixes are not the common `0` (trunk) and `00` (international).
const PREFIXES: &[(&str, &str, &str)] = &[
    // (country code, trunk prefix, international prefix)
    ("1", "1", "011"),
    ("7", "8", "810"),
    ("30", "", "00"),
    ("34", "", "00"),
    ("36", "06", "00"),
    ("39", "", "00"),
    ("45", "", "00"),
    ("47", "", "00"),
    ("52", "", "00"),
    ("61", "0", "0011"),
    ("62", "0", "001"),
    ("65", "", "000"),
    ("66", "0", "001"),
    ("81", "0", "010"),
    ("82", "0", "001"),
    ("351", "", "00"),
    ("352", "", "00"),
    ("376", "", "00"),
    ("378", "", "00"),
    ("852", "", "001"),
];

impl Numbering {
    /// The home country `country_code`, with its usual prefixes unless given.
    pub fn new(country_code: &str, trunk: Option<&str>, international: Option<&str>) -> Self {
        let (usual_trunk, usual_international) = Self::usual_prefixes(country_code);
        Numbering {
            country_code: country_code.to_owned(),
            trunk_prefix: trunk.unwrap_or(usual_trunk).to_owned(),
            international_prefix: international.unwrap_or(usual_international).to_owned(),
        }
    }

    /// A country's trunk and international prefixes, as most of the world has them unless it
    /// is in [`PREFIXES`].
    pub fn usual_prefixes(country_code: &str) -> (&'static str, &'static str) {
        PREFIXES
            .iter()
            .find(|(cc, _, _)| *cc == country_code)
            .map_or(("0", "00"), |&(_, t, i)| (t, i))
    }

    /// This numbering with other prefixes where given.
    pub fn with_prefixes(mut self, trunk: Option<&str>, international: Option<&str>) -> Self {
        if let Some(t) = trunk {
            t.clone_into(&mut self.trunk_prefix);
        }
        if let Some(i) = international {
            i.clone_into(&mut self.international_prefix);
        }
        self
    }

    /// The home country code, if any.
    pub fn country_code(&self) -> Option<&str> {
        (!self.country_code.is_empty()).then_some(self.country_code.as_str())
    }

    /// `number` (as written with `ton`) in international form: digits, country code first.
    /// What cannot be read as a number (an alphanumeric sender, a national number without a
    /// home country) is returned as it is, without a leading `+`. Borrows `number` unless
    /// the country code has to be put in front, which is written into `buf`.
    pub fn international<'a>(
        &self,
        ton: Ton,
        number: &'a [u8],
        buf: &'a mut [u8; MAX],
    ) -> &'a [u8] {
        if let Some(digits) = number.strip_prefix(b"+") {
            return digits;
        }
        let intl = self.international_prefix.as_bytes();
        let after_intl = (!intl.is_empty())
            .then(|| number.strip_prefix(intl))
            .flatten()
            .filter(|rest| !rest.is_empty());
        let national = match ton {
            // Marked international yet dialled with the prefix (`0044…`): the prefix goes,
            // when no country code starts like it (Russia's `810` is also Japan's `81` then 0).
            Ton::INTERNATIONAL => {
                return after_intl
                    .filter(|_| intl.first() == Some(&b'0'))
                    .unwrap_or(number)
            }
            Ton::NATIONAL => {
                let trunk = self.trunk_prefix.as_bytes();
                match number.strip_prefix(trunk) {
                    Some(rest) if !trunk.is_empty() => rest,
                    _ => number,
                }
            }
            Ton::UNKNOWN => {
                if let Some(rest) = after_intl {
                    return rest;
                }
                let trunk = self.trunk_prefix.as_bytes();
                match number.strip_prefix(trunk) {
                    // Only a trunk prefix no country code starts with (`0`, `06`) tells a
                    // national number from an international one; with Russia's `8`, `852…` is
                    // Hong Kong, so an unknown-TON number starting with 8 is left international.
                    // North America's `1` is its own country code: either reading is the same.
                    Some(rest)
                        if !trunk.is_empty()
                            && (trunk[0] == b'0' || trunk == self.country_code.as_bytes()) =>
                    {
                        rest
                    }
                    // North America's ten-digit national numbers (area code 2–9) are how its
                    // customers write them; no international number is read that way there.
                    _ if self.country_code == "1"
                        && number.len() == 10
                        && matches!(number[0], b'2'..=b'9') =>
                    {
                        number
                    }
                    _ => return number,
                }
            }
            // Network-specific, subscriber, alphanumeric, abbreviated and unassigned TONs.
            _ => return number,
        };
        let cc = self.country_code.as_bytes();
        if cc.is_empty()
            || national.len() <= SHORT_CODE_MAX
            || cc.len() + national.len() > MAX
            || !national.iter().all(u8::is_ascii_digit)
        {
            return number;
        }
        buf[..cc.len()].copy_from_slice(cc);
        buf[cc.len()..cc.len() + national.len()].copy_from_slice(national);
        &buf[..cc.len() + national.len()]
    }

    /// [`Numbering::international`] packed (see [`crate::policy::pack_number`]).
    pub fn pack(&self, ton: Ton, number: &[u8]) -> Option<u64> {
        let mut buf = [0; MAX];
        crate::policy::pack_number(self.international(ton, number, &mut buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intl(n: &Numbering, ton: u8, number: &str) -> String {
        let mut buf = [0; MAX];
        String::from_utf8_lossy(n.international(Ton(ton), number.as_bytes(), &mut buf)).into()
    }

    #[test]
    fn every_way_of_writing_a_uk_mobile_is_one_number() {
        let uk = Numbering::new("44", None, None);
        for (ton, written) in [
            (1, "447700900123"),
            (1, "+447700900123"),
            (0, "+447700900123"),
            (0, "00447700900123"),
            (1, "00447700900123"),
            (2, "07700900123"),
            (2, "7700900123"),
            (0, "07700900123"),
        ] {
            assert_eq!(
                intl(&uk, ton, written),
                "447700900123",
                "TON {ton} {written}"
            );
        }
        // Unknown TON without a prefix: already international.
        assert_eq!(intl(&uk, 0, "447700900123"), "447700900123");
    }

    #[test]
    fn north_america_has_its_own_prefixes() {
        let us = Numbering::new("1", None, None);
        assert_eq!(intl(&us, 2, "2125550123"), "12125550123");
        assert_eq!(intl(&us, 2, "12125550123"), "12125550123");
        assert_eq!(intl(&us, 0, "12125550123"), "12125550123");
        assert_eq!(intl(&us, 0, "011447700900123"), "447700900123");
        // Ten digits, area code first: how North Americans write their numbers.
        assert_eq!(intl(&us, 0, "2125550123"), "12125550123");
        assert_eq!(intl(&us, 0, "447700900123"), "447700900123");
        // 00 is not an international prefix there; nothing to strip, nothing to add.
        assert_eq!(intl(&us, 0, "00447700900123"), "00447700900123");
        // Italy keeps its leading 0 after the country code: it has no trunk prefix.
        let it = Numbering::new("39", None, None);
        assert_eq!(intl(&it, 2, "0612345678"), "390612345678");
        assert_eq!(intl(&it, 0, "0612345678"), "0612345678");
        assert_eq!(intl(&it, 0, "00447700900123"), "447700900123");
    }

    #[test]
    fn short_codes_and_names_stay_as_they_are() {
        let uk = Numbering::new("44", None, None);
        for (ton, written) in [
            (2, "12345"),
            (3, "12345"),
            (6, "65015"),
            (0, "012345"),
            (5, "ACME"),
            (2, "07700ABC123"),
            (4, "7700900123"),
        ] {
            assert_eq!(intl(&uk, ton, written), written, "TON {ton} {written}");
        }
    }

    #[test]
    fn without_a_home_country_national_numbers_are_left_alone() {
        let none = Numbering::default();
        assert_eq!(none.country_code(), None);
        assert_eq!(intl(&none, 2, "07700900123"), "07700900123");
        assert_eq!(intl(&none, 0, "07700900123"), "07700900123");
        assert_eq!(intl(&none, 0, "00447700900123"), "447700900123");
        assert_eq!(intl(&none, 1, "+447700900123"), "447700900123");
        assert_eq!(
            none.pack(Ton::NATIONAL, b"07700900123"),
            crate::policy::pack_number(b"07700900123")
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Digits that start with one of `first`.
        fn digits(
            first: &'static str,
            len: std::ops::Range<usize>,
        ) -> impl Strategy<Value = String> {
            (
                proptest::sample::select(first.as_bytes().to_vec()),
                proptest::collection::vec(0u8..10, len),
            )
                .prop_map(|(f, rest)| {
                    let mut s = String::from(f as char);
                    s.extend(rest.into_iter().map(|d| char::from(b'0' + d)));
                    s
                })
        }

        fn home() -> impl Strategy<Value = Numbering> {
            proptest::sample::select(vec![
                "1", "7", "33", "39", "44", "49", "61", "81", "852", "971",
            ])
            .prop_map(|cc| Numbering::new(cc, None, None))
        }

        proptest! {
            /// An international number stays itself, however it is marked, in any home country.
            #[test]
            fn an_international_number_is_itself(n in home(), d in digits("123456789", 7..14)) {
                let mut buf = [0; MAX];
                let plus = format!("+{d}");
                prop_assert_eq!(n.international(Ton::INTERNATIONAL, d.as_bytes(), &mut buf), d.as_bytes());
                prop_assert_eq!(n.international(Ton::INTERNATIONAL, plus.as_bytes(), &mut buf), d.as_bytes());
                prop_assert_eq!(n.international(Ton::UNKNOWN, plus.as_bytes(), &mut buf), d.as_bytes());
                prop_assert_eq!(n.international(Ton::NETWORK_SPECIFIC, plus.as_bytes(), &mut buf), d.as_bytes());
            }

            /// A national number, with or without its trunk prefix, gets the country code;
            /// written with the international prefix it is the same number. (One that itself
            /// starts with the trunk prefix, as Russia's 8-800 numbers do, is read as written
            /// with it: see the module's doc.)
            #[test]
            fn a_national_number_gets_its_country_code(n in home(), m in digits("23456789", 7..11)) {
                let cc = n.country_code().unwrap_or_default().to_owned();
                let (trunk, intl) = Numbering::usual_prefixes(&cc);
                prop_assume!(trunk.is_empty() || !m.starts_with(trunk));
                let want = format!("{cc}{m}");
                let mut buf = [0; MAX];
                prop_assert_eq!(n.international(Ton::NATIONAL, m.as_bytes(), &mut buf), want.as_bytes());
                let with_trunk = format!("{trunk}{m}");
                prop_assert_eq!(n.international(Ton::NATIONAL, with_trunk.as_bytes(), &mut buf), want.as_bytes());
                let dialled = format!("{intl}{cc}{m}");
                prop_assert_eq!(n.international(Ton::UNKNOWN, dialled.as_bytes(), &mut buf), want.as_bytes());
            }

            /// A short code is never rewritten, whatever its TON.
            #[test]
            fn a_short_code_stays(n in home(), c in digits("123456789", 2..6), ton in 0u8..7) {
                let mut buf = [0; MAX];
                prop_assert_eq!(n.international(Ton(ton), c.as_bytes(), &mut buf), c.as_bytes());
            }
        }
    }

    #[test]
    fn prefixes_can_be_set() {
        let au = Numbering::new("61", None, None);
        assert_eq!(intl(&au, 0, "0011447700900123"), "447700900123");
        assert_eq!(intl(&au, 0, "0412345678"), "61412345678");
        let custom = Numbering::new("44", Some(""), Some("00"));
        assert_eq!(intl(&custom, 2, "07700900123"), "4407700900123");
        let ru = Numbering::new("7", None, None);
        assert_eq!(intl(&ru, 2, "89161234567"), "79161234567");
        assert_eq!(intl(&ru, 0, "81044770090012"), "44770090012");
        // An unknown TON cannot tell Russia's trunk prefix 8 from Hong Kong's 852: left as
        // international.
        assert_eq!(intl(&ru, 0, "85291234567"), "85291234567");
        assert_eq!(intl(&ru, 0, "89161234567"), "89161234567");
        let ru00 = ru.with_prefixes(None, Some("00"));
        assert_eq!(intl(&ru00, 0, "0044770090012"), "44770090012");
    }
}
