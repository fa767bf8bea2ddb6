//! Consent: what a reply asks for (STOP, START, HELP), who must not be texted, and the
//! suppression lists carriers and compliance teams hand over as CSV.
//!
//! Opt-outs are kept in memory as one hash set of (scope, number) — a number as digits packed
//! into a `u64`, so ten million entries fit in a few hundred MB and a lookup on the submit path
//! is one hash probe. A scope is the sender number the recipient replied to, the account, or
//! everything, as the account's policy says.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};

use smpp_pdu::Ton;

use crate::numbering::Numbering;

/// What a reply's text asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Stop texting me (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, and configured extras).
    Stop,
    /// Text me again (START, UNSTOP, and configured extras).
    Start,
    /// Who is this and how do I stop it (HELP, INFO, and configured extras).
    Help,
}

/// The standard keywords, upper case.
const STOP: &[&str] = &["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"];
const START: &[&str] = &["START", "UNSTOP"];
const HELP: &[&str] = &["HELP", "INFO"];

/// The keywords one account answers to: the standard ones and its extras.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keywords {
    /// Extra stop words, upper case.
    pub stop: Vec<String>,
    /// Extra start words, upper case.
    pub start: Vec<String>,
    /// Extra help words, upper case.
    pub help: Vec<String>,
}

impl Keywords {
    /// What `text` asks for: the whole message, case and surrounding white space ignored, is
    /// one keyword. ("Stop by at 5" is a message, not an opt-out.)
    pub fn intent(&self, text: &[u8]) -> Option<Intent> {
        let word = text.trim_ascii();
        if word.is_empty() || word.len() > 32 || word.iter().any(u8::is_ascii_whitespace) {
            return None;
        }
        let is = |list: &[&str], extra: &[String]| {
            list.iter().any(|k| word.eq_ignore_ascii_case(k.as_bytes()))
                || extra
                    .iter()
                    .any(|k| word.eq_ignore_ascii_case(k.as_bytes()))
        };
        if is(STOP, &self.stop) {
            Some(Intent::Stop)
        } else if is(START, &self.start) {
            Some(Intent::Start)
        } else if is(HELP, &self.help) {
            Some(Intent::Help)
        } else {
            None
        }
    }
}

/// A phone number as digits packed into a `u64`: a leading `1` then the digits, so leading
/// zeros are kept (`"0044…"` and `"44…"` differ). At most 18 digits; `None` for anything else.
pub fn pack_number(number: &[u8]) -> Option<u64> {
    let digits = number.strip_prefix(b"+").unwrap_or(number);
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(1u64, |acc, d| acc * 10 + u64::from(d - b'0')),
    )
}

/// The digits of a packed number (see [`pack_number`]).
pub fn unpack_number(packed: u64) -> String {
    let s = packed.to_string();
    s.get(1..).unwrap_or("").to_owned()
}

/// Whose opt-out list an entry is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Every sender of every account.
    Global,
    /// One account (by a stable id the caller gives each account).
    Account(u32),
    /// One sender number (packed).
    Sender(u64),
}

impl Scope {
    /// The scope as one word: its kind in the top two bits, its id below (an account id is 32
    /// bits, a packed sender number under 2^61).
    fn key(self) -> u64 {
        match self {
            Scope::Global => 0,
            Scope::Account(a) => 1 << 62 | u64::from(a),
            Scope::Sender(n) => 2 << 62 | (n & ((1 << 62) - 1)),
        }
    }

    fn from_key(k: u64) -> Option<Scope> {
        let id = k & ((1 << 62) - 1);
        match k >> 62 {
            0 => Some(Scope::Global),
            1 => u32::try_from(id).ok().map(Scope::Account),
            2 => Some(Scope::Sender(id)),
            _ => None,
        }
    }
}

/// Hashes the list's keys (two integers) with a multiply-xorshift mix under a per-process
/// random seed: several times cheaper than SipHash on a 10-million-entry set checked on every
/// submit, and the seed keeps collisions from being chosen in advance.
#[derive(Clone)]
struct NumberHash(u64);

impl Default for NumberHash {
    fn default() -> Self {
        NumberHash(std::collections::hash_map::RandomState::new().hash_one(0u64) | 1)
    }
}

impl BuildHasher for NumberHash {
    type Hasher = NumberHasher;
    fn build_hasher(&self) -> NumberHasher {
        NumberHasher(self.0)
    }
}

struct NumberHasher(u64);

impl Hasher for NumberHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0 ^ x)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }

    fn finish(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 32;
        x = x.wrapping_mul(0xD6E8_FEB8_6659_FD93);
        x ^ (x >> 32)
    }
}

/// Numbers that must not be texted, by scope.
#[derive(Debug, Default)]
pub struct Suppressions {
    /// (scope key, packed number).
    set: HashSet<(u64, u64), NumberHash>,
}

impl std::fmt::Debug for NumberHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NumberHash")
    }
}

impl Suppressions {
    /// An empty list.
    pub fn new() -> Self {
        Suppressions::default()
    }

    /// Makes room for `more` entries at once (a large import).
    pub fn reserve(&mut self, more: usize) {
        self.set.reserve(more);
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Puts `number` on `scope`'s list; false when it was there already.
    pub fn add(&mut self, scope: Scope, number: u64) -> bool {
        self.set.insert((scope.key(), number))
    }

    /// True when `number` is on `scope`'s list.
    pub fn contains(&self, scope: Scope, number: u64) -> bool {
        self.set.contains(&(scope.key(), number))
    }

    /// Takes `number` off `scope`'s list; false when it was not there.
    pub fn remove(&mut self, scope: Scope, number: u64) -> bool {
        self.set.remove(&(scope.key(), number))
    }

    /// Every entry, for rewriting a log.
    pub fn entries(&self) -> Vec<(Scope, u64)> {
        self.set
            .iter()
            .filter_map(|&(k, n)| Some((Scope::from_key(k)?, n)))
            .collect()
    }

    /// Up to `limit` numbers on `scope`'s list, in no particular order.
    pub fn numbers(&self, scope: Scope, limit: usize) -> Vec<u64> {
        let k = scope.key();
        self.set
            .iter()
            .filter(|&&(sk, _)| sk == k)
            .map(|&(_, n)| n)
            .take(limit)
            .collect()
    }

    /// True when a message from `sender` of `account` to `recipient` must not go: the recipient
    /// opted out of that sender, of that account, or of everything.
    pub fn blocks(&self, account: u32, sender: &[u8], recipient: &[u8]) -> bool {
        let Some(r) = pack_number(recipient) else {
            return false;
        };
        let on = |s: Scope| self.set.contains(&(s.key(), r));
        on(Scope::Global)
            || on(Scope::Account(account))
            || pack_number(sender).is_some_and(|s| on(Scope::Sender(s)))
    }
}

/// A row of a suppression CSV that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// 1-based line in the file.
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// Reads a suppression list: one number per line, optionally followed by a comma and more
/// columns (ignored), written as `numbering` says. A first line that is not a number is taken as a header; blank lines and
/// lines starting with `#` are skipped. Returns the numbers and the rows that were refused,
/// each with its line.
pub fn parse_csv(text: &str, numbering: &Numbering) -> (Vec<u64>, Vec<BadRow>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line
            .split(',')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        match numbering.pack(Ton::UNKNOWN, first.as_bytes()) {
            Some(n) => good.push(n),
            None if i == 0 => {} // a header such as `number,reason`
            None => bad.push(BadRow {
                line: i + 1,
                reason: format!("{first:?} is not a phone number (digits, optional leading +)"),
            }),
        }
    }
    (good, bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_the_whole_message_in_any_case() {
        let k = Keywords {
            stop: vec!["ARRET".into()],
            ..Keywords::default()
        };
        for (text, want) in [
            (&b"STOP"[..], Some(Intent::Stop)),
            (b"  stop \r\n", Some(Intent::Stop)),
            (b"Unsubscribe", Some(Intent::Stop)),
            (b"quit", Some(Intent::Stop)),
            (b"arret", Some(Intent::Stop)),
            (b"START", Some(Intent::Start)),
            (b"unstop", Some(Intent::Start)),
            (b"help", Some(Intent::Help)),
            (b"INFO", Some(Intent::Help)),
            (b"Stop by at 5", None),
            (b"stopp", None),
            (b"", None),
        ] {
            assert_eq!(k.intent(text), want, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn numbers_pack_with_their_leading_zeros() {
        assert_eq!(pack_number(b"+15551234567"), pack_number(b"15551234567"));
        assert_ne!(pack_number(b"0044"), pack_number(b"44"));
        assert_eq!(pack_number(b"12a"), None);
        assert_eq!(pack_number(b"1234567890123456789"), None);
        assert!(pack_number(b"123456789012345678").is_some());
        assert_eq!(
            pack_number(b"0044").map(unpack_number).as_deref(),
            Some("0044")
        );
    }

    #[test]
    fn scopes_block_what_they_should() {
        let mut s = Suppressions::new();
        let r = pack_number(b"15550001").unwrap_or(0);
        assert!(s.add(Scope::Sender(pack_number(b"12345").unwrap_or(0)), r));
        assert!(s.blocks(1, b"12345", b"+15550001"));
        assert!(
            !s.blocks(1, b"67890", b"15550001"),
            "another sender may text"
        );
        s.add(Scope::Account(2), r);
        assert!(s.blocks(2, b"67890", b"15550001"));
        assert!(!s.blocks(3, b"67890", b"15550001"));
        s.add(Scope::Global, pack_number(b"15550002").unwrap_or(0));
        assert!(s.blocks(9, b"1", b"15550002"));
        assert!(s.remove(Scope::Global, pack_number(b"15550002").unwrap_or(0)));
        assert!(!s.blocks(9, b"1", b"15550002"));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn csv_keeps_good_rows_and_names_bad_ones_by_line() {
        let text = "number,reason\n+15550001,complaint\n\n# carrier list\n15550002\nnot-a-number,x\n\"15550003\"\n12 34\n";
        let (good, bad) = parse_csv(text, &Numbering::default());
        assert_eq!(
            good,
            [b"15550001", b"15550002", b"15550003"]
                .iter()
                .filter_map(|n| pack_number(&n[..]))
                .collect::<Vec<_>>()
        );
        assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), vec![6, 8]);
        assert!(bad[0].reason.contains("not-a-number"));
    }
}
