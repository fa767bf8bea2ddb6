//! Mobile-originated messages (replies): which account a deliver_sm that is not a receipt
//! belongs to.
//!
//! In order: a number an account owns (its long codes, short codes, text-enabled landlines),
//! a keyword on a shared number (the reply's first word), the conversation it answers (the
//! account that last texted this sender from this number, looked up by the caller in the store
//! within the configured window), then the default account; otherwise it is unroutable and
//! counted. The reason is kept for metrics.

use std::collections::HashMap;

use crate::config::{Account, Mo};

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

/// A number without its leading `+`.
fn bare(number: &[u8]) -> &[u8] {
    number.strip_prefix(b"+").unwrap_or(number)
}

impl MoTable {
    /// Builds the table; accounts are named by their index in `accounts`.
    pub fn new(accounts: &[Account], mo: &Mo) -> Self {
        let mut t = MoTable::default();
        for (i, a) in accounts.iter().enumerate() {
            for n in &a.numbers {
                t.numbers.insert(bare(n.as_bytes()).to_vec(), i);
            }
            for k in &a.keywords {
                let key = (
                    bare(k.number.as_bytes()).to_vec(),
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

    /// The account for an MO to `dest` with `text`. `conversation` is asked only when neither
    /// a number nor a keyword decides: it returns the account that last texted the sender
    /// from `dest` within the window, if any.
    pub fn route(
        &self,
        dest: &[u8],
        text: &[u8],
        conversation: impl FnOnce() -> Option<usize>,
    ) -> (Option<usize>, Reason) {
        let dest = bare(dest);
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
            t.route(b"+15550100", b"hi", || Some(1)),
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
        let no_default = Config::parse(&CONFIG.replace("default_account = \"fallback\"", ""))
            .unwrap_or_else(|e| panic!("{e}"));
        let t = MoTable::new(&no_default.accounts, &no_default.mo);
        assert_eq!(
            t.route(b"99999", b"hello", none),
            (None, Reason::Unroutable)
        );
    }
}
