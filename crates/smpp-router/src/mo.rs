//! Mobile-originated messages (replies): which account a deliver_sm that is not a receipt
//! belongs to.
//!
//! In order: a number an account owns (its long codes, short codes, text-enabled landlines),
//! a keyword on a shared number (the reply's first word), the conversation it answers (the
//! account that last texted this sender from this number, looked up by the caller in the store
//! within the configured window), then the default account; otherwise it is unroutable and
//! counted. The reason is kept for metrics.

use foldhash::HashMap;
use std::time::{Duration, Instant};

use smpp_pdu::Ton;

use crate::config::{Account, Mo};
use crate::numbering;
use crate::pairs::Recent;
use crate::policy::pack_number;

/// Why an MO went where it went (a metrics label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The destination is an account's own number.
    OwnedNumber,
    /// The first word is an account's keyword on this shared number.
    Keyword,
    /// It answers the account that last texted this sender from this number.
    Conversation,
    /// Nothing matched; the default account takes it.
    Default,
    /// Nothing matched and there is no default.
    Unroutable,
}

impl Reason {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::OwnedNumber => "owned_number",
            Reason::Keyword => "keyword",
            Reason::Conversation => "conversation",
            Reason::Default => "default",
            Reason::Unroutable => "unroutable",
        }
    }
}

/// The MO routing table, built from the accounts' numbers and keywords.
#[derive(Debug, Clone, Default)]
pub struct MoTable {
    /// Number → account index.
    numbers: HashMap<Vec<u8>, usize>,
    /// (shared number, upper-case keyword) → account index.
    keywords: HashMap<(Vec<u8>, Vec<u8>), usize>,
    default: Option<usize>,
}

impl MoTable {
    /// Builds the table; accounts are named by their index in `accounts`. Their numbers are
    /// read as written in their home country ([`Account::numbering`]).
    pub fn new(accounts: &[Account], mo: &Mo) -> Self {
        let mut t = MoTable::default();
        let mut buf = [0; numbering::MAX];
        for (i, a) in accounts.iter().enumerate() {
            let mut international = |n: &str| {
                a.numbering
                    .international(Ton::UNKNOWN, n.as_bytes(), &mut buf)
                    .to_vec()
            };
            for n in &a.numbers {
                t.numbers.insert(international(n), i);
            }
            for k in &a.keywords {
                let key = (
                    international(&k.number),
                    k.keyword.to_ascii_uppercase().into_bytes(),
                );
                t.keywords.insert(key, i);
            }
        }
        t.default = mo
            .default_account
            .as_ref()
            .and_then(|d| accounts.iter().position(|a| &a.system_id == d));
        t
    }

    /// The account for an MO to `dest` (in international form: [`crate::numbering`]) with
    /// `text`. `conversation` is asked only when neither a number nor a keyword decides: it
    /// returns the account that last texted the sender from `dest` within the window, if any.
    pub fn route(
        &self,
        dest: &[u8],
        text: &[u8],
        conversation: impl FnOnce() -> Option<usize>,
    ) -> (Option<usize>, Reason) {
        if let Some(&a) = self.numbers.get(dest) {
            return (Some(a), Reason::OwnedNumber);
        }
        if !self.keywords.is_empty() {
            let word: Vec<u8> = text
                .trim_ascii_start()
                .iter()
                .take_while(|b| !b.is_ascii_whitespace())
                .map(u8::to_ascii_uppercase)
                .collect();
            if let Some(&a) = self.keywords.get(&(dest.to_vec(), word)) {
                return (Some(a), Reason::Keyword);
            }
        }
        if let Some(a) = conversation() {
            return (Some(a), Reason::Conversation);
        }
        match self.default {
            Some(a) => (Some(a), Reason::Default),
            None => (None, Reason::Unroutable),
        }
    }
}

/// Who last texted whom: (our sender number, the recipient) → the account, for routing the
/// recipient's reply. Kept in memory, bounded: when full, the oldest conversations go first.
/// (A cluster keeps this in the shared store; a restarted node forgets it, and replies then
/// fall through to the default account.)
///
/// Numbers are kept packed ([`crate::pairs`], international form). A sender that is not a
/// number (an alphanumeric sender id such as `ACME`) cannot be replied to, so it starts no
/// conversation and takes no room.
#[derive(Debug)]
pub struct Conversations(Recent<usize>);

impl Conversations {
    /// Remembers up to `capacity` conversations for `window` each.
    pub fn new(window: Duration, capacity: usize) -> Self {
        Conversations(Recent::new(window, capacity))
    }

    /// `account` texted `recipient` from `sender` (both in international form) at `now`.
    pub fn texted(&mut self, sender: &[u8], recipient: &[u8], account: usize, now: Instant) {
        if let (Some(sender), Some(recipient)) = (pack_number(sender), pack_number(recipient)) {
            self.0.put((sender, recipient), account, now);
        }
    }

    /// The account that last texted `sender` (the reply's source) from `number` (the reply's
    /// destination) within the window.
    pub fn answered(&self, number: &[u8], sender: &[u8], now: Instant) -> Option<usize> {
        let pair = (pack_number(number)?, pack_number(sender)?);
        self.0.get(pair, now).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const CONFIG: &str = r#"
[[accounts]]
system_id = "pizza"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$b+DAhawJI5qHaSXx+Fj70Q$lax3FtbQz/Dd1xsMg24H71bxvqcpE6Gw9jsUHEgkvMg"
numbers = ["+15550100"]
keywords = [{ number = "12345", keyword = "pizza" }]

[[accounts]]
system_id = "tacos"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$b+DAhawJI5qHaSXx+Fj70Q$lax3FtbQz/Dd1xsMg24H71bxvqcpE6Gw9jsUHEgkvMg"
keywords = [{ number = "12345", keyword = "TACO" }]

[[accounts]]
system_id = "fallback"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$b+DAhawJI5qHaSXx+Fj70Q$lax3FtbQz/Dd1xsMg24H71bxvqcpE6Gw9jsUHEgkvMg"

[mo]
default_account = "fallback"
"#;

    #[test]
    fn each_rule_in_its_order() {
        let c = Config::parse(CONFIG).unwrap_or_else(|e| panic!("{e}"));
        let t = MoTable::new(&c.accounts, &c.mo);
        let none = || None;
        assert_eq!(
            t.route(b"15550100", b"STOP", none),
            (Some(0), Reason::OwnedNumber)
        );
        assert_eq!(
            t.route(b"15550100", b"hi", || Some(1)),
            (Some(0), Reason::OwnedNumber)
        );
        assert_eq!(
            t.route(b"12345", b"  taco tuesday?", none),
            (Some(1), Reason::Keyword)
        );
        assert_eq!(
            t.route(b"12345", b"Pizza", none),
            (Some(0), Reason::Keyword)
        );
        assert_eq!(
            t.route(b"12345", b"burger", || Some(1)),
            (Some(1), Reason::Conversation)
        );
        assert_eq!(
            t.route(b"99999", b"hello", none),
            (Some(2), Reason::Default)
        );
        let mut conv = Conversations::new(Duration::from_secs(60), 2);
        let t0 = Instant::now();
        let (ours, them): (&[u8], &[u8]) = (b"12345", b"+15550001");
        conv.texted(ours, them, 1, t0);
        assert_eq!(conv.answered(b"12345", b"15550001", t0), Some(1));
        assert_eq!(conv.answered(b"12345", b"15550002", t0), None);
        assert_eq!(
            conv.answered(b"12345", b"15550001", t0 + Duration::from_secs(61)),
            None
        );
        // The latest sender wins; the oldest goes when full.
        conv.texted(ours, them, 0, t0 + Duration::from_secs(1));
        assert_eq!(
            conv.answered(b"12345", b"15550001", t0 + Duration::from_secs(1)),
            Some(0)
        );
        for i in 0..5u8 {
            conv.texted(ours, &[b'9', b'0' + i], 2, t0 + Duration::from_secs(2));
        }
        assert!(conv.0.len() <= 2);
        let no_default = Config::parse(&CONFIG.replace("default_account = \"fallback\"", ""))
            .unwrap_or_else(|e| panic!("{e}"));
        let t = MoTable::new(&no_default.accounts, &no_default.mo);
        assert_eq!(
            t.route(b"99999", b"hello", none),
            (None, Reason::Unroutable)
        );
    }

    /// Numbers in the config are read as the account writes them: a national number is its
    /// country's, a short code stays a short code.
    #[test]
    fn owned_numbers_are_read_in_the_accounts_country() {
        let text = CONFIG.replace(
            "numbers = [\"+15550100\"]",
            "numbers = [\"07700900123\", \"60006\"]\ncountry_code = \"44\"",
        );
        let c = Config::parse(&text).unwrap_or_else(|e| panic!("{e}"));
        let t = MoTable::new(&c.accounts, &c.mo);
        let none = || None;
        assert_eq!(
            t.route(b"447700900123", b"hi", none),
            (Some(0), Reason::OwnedNumber)
        );
        assert_eq!(
            t.route(b"60006", b"hi", none),
            (Some(0), Reason::OwnedNumber)
        );
        assert_eq!(
            t.route(b"07700900123", b"hi", none),
            (Some(2), Reason::Default)
        );
    }

    #[test]
    fn a_sender_that_cannot_be_answered_takes_no_room() {
        let mut conv = Conversations::new(Duration::from_secs(60), 1);
        let t0 = Instant::now();
        conv.texted(b"12345", b"15550001", 0, t0);
        // An alphanumeric sender id: no reply can come to it, so it must not push the
        // conversation above out of a table that holds one.
        conv.texted(b"ACME", b"15550002", 1, t0);
        assert_eq!(conv.answered(b"12345", b"15550001", t0), Some(0));
        assert_eq!(conv.answered(b"ACME", b"15550002", t0), None);
        assert_eq!(conv.0.len(), 1);
    }
}
