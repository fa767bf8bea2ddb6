//! Opt-outs at run time: who replied STOP (or was imported from a list), kept durably, checked
//! on every submit, and the replies STOP, START and HELP get.
//!
//! The list lives in memory ([`Suppressions`]) and in an append-only log in the data
//! directory, one line per change, fsync'd before the change counts: an opt-out that was
//! confirmed to the person is never forgotten by a restart. Replaying the log at start rebuilds
//! the set; when the log holds more than twice the live entries (and at least 64k lines) it is
//! rewritten to the live set (temp file, fsync, rename). (A cluster will keep this in its shared
//! store; the embedded store has no set type yet, so the embedded node keeps its own file.)
//!
//! Scopes are stable across restarts and reloads: an account is named by a hash of its
//! system_id, a sender by its packed number.
//!
//! Every STOP, START and HELP is acted on, but the same confirmation is not sent to the same
//! person from the same number again within [`Confirmed::interval`]: an auto-responder that
//! answers "You are unsubscribed" with STOP would otherwise loop at the carrier's MO rate,
//! every turn a billed SMS (CTIA asks for one opt-out confirmation).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::numbering::Numbering;
use crate::pairs::Recent;
use crate::policy::{pack_number, parse_csv, BadRow, Intent, Keywords, Scope, Suppressions};
use crate::Error;

/// Where an opt-out applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptOutScope {
    /// Only the number the person replied to.
    #[default]
    Sender,
    /// Every sender of the account.
    Account,
    /// Every account.
    Global,
}

/// A stable id for an account's scope: FNV-1a of its system_id.
pub fn account_scope(system_id: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in system_id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// A scope as the admin API and the config write it: `global`, `account:SYSTEM_ID` or
/// `sender:NUMBER`.
///
/// # Errors
/// A message saying what is expected.
pub fn parse_scope_name(text: &str) -> Result<Scope, String> {
    match text.split_once(':') {
        None if text == "global" => Ok(Scope::Global),
        Some(("account", id)) if !id.is_empty() => Ok(Scope::Account(account_scope(id))),
        Some(("sender", n)) => pack_number(n.as_bytes())
            .map(Scope::Sender)
            .ok_or_else(|| format!("{n:?} is not a phone number")),
        _ => Err(format!(
            "{text:?} is not a scope: global, account:SYSTEM_ID or sender:NUMBER"
        )),
    }
}

/// What an MO asks of the router besides being passed to the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// What the MO was.
    pub intent: Intent,
    /// The text to send back (from the number the person wrote to, to the person).
    pub text: String,
}

/// The confirmations sent lately, per (our number, the person): the last one's intent and
/// when it went.
#[derive(Debug)]
pub struct Confirmed(Recent<Intent>);

impl Confirmed {
    /// Remembers the last confirmation of up to `capacity` people.
    pub fn new(capacity: usize) -> Self {
        Confirmed(Recent::new(Self::interval(Intent::Stop), capacity))
    }

    /// How long the same confirmation is not sent again: a day for STOP and START (the
    /// person's state has not changed since), an hour for HELP (a person may ask again).
    pub fn interval(intent: Intent) -> Duration {
        match intent {
            Intent::Stop | Intent::Start => Duration::from_secs(24 * 3600),
            Intent::Help => Duration::from_secs(3600),
        }
    }

    /// Whether `person` is owed the confirmation of `intent` from `number` (both in
    /// international form) at `now`: not when the last one sent to them from there was the
    /// same, within its interval. A `true` is remembered as sent.
    pub fn due(&mut self, number: &[u8], person: &[u8], intent: Intent, now: Instant) -> bool {
        let (Some(number), Some(person)) = (pack_number(number), pack_number(person)) else {
            return true;
        };
        let pair = (number, person);
        let repeated = self
            .0
            .get_since(pair, now)
            .is_some_and(|(&last, age)| last == intent && age < Self::interval(intent));
        if !repeated {
            self.0.put(pair, intent, now);
        }
        !repeated
    }

    /// Forgets the last confirmation to `person` from `number`: it could not be sent, and the
    /// next STOP, START or HELP is owed one.
    pub fn forget(&mut self, number: &[u8], person: &[u8]) {
        if let (Some(number), Some(person)) = (pack_number(number), pack_number(person)) {
            self.0.remove((number, person));
        }
    }
}

/// The durable opt-out list.
#[derive(Debug)]
pub struct Consent {
    set: RwLock<Suppressions>,
    log: Mutex<Log>,
}

#[derive(Debug)]
struct Log {
    path: PathBuf,
    file: File,
    lines: usize,
}

/// Appends one log line: `+ SCOPE NUMBER` (added) or `- SCOPE NUMBER` (removed).
fn log_line(out: &mut String, add: bool, scope: Scope, number: u64) {
    use std::fmt::Write as _;
    out.push_str(if add { "+ " } else { "- " });
    // Writing to a String cannot fail.
    let _ = match scope {
        Scope::Global => writeln!(out, "g {number}"),
        Scope::Account(a) => writeln!(out, "a{a} {number}"),
        Scope::Sender(n) => writeln!(out, "s{n} {number}"),
    };
}

fn parse_scope(s: &str) -> Option<Scope> {
    match s.split_at_checked(1)? {
        ("g", "") => Some(Scope::Global),
        ("a", n) => n.parse().ok().map(Scope::Account),
        ("s", n) => n.parse().ok().map(Scope::Sender),
        _ => None,
    }
}

impl Consent {
    /// Opens (or creates) the list in `dir/opt-outs.log` and replays it.
    ///
    /// # Errors
    /// [`Error::Start`] naming the file when it cannot be read or written.
    pub fn open(dir: &Path) -> Result<Consent, Error> {
        let path = dir.join("opt-outs.log");
        let err = |e: std::io::Error| Error::Start(format!("{}: {e}", path.display()));
        std::fs::create_dir_all(dir).map_err(err)?;
        let mut set = Suppressions::new();
        let mut lines = 0;
        // Bytes of whole lines (ending in a newline): what follows is a line torn by a crash.
        let mut whole: u64 = 0;
        let mut torn = false;
        if path.exists() {
            let file = File::open(&path).map_err(err)?;
            // About 16 bytes a line: room for the whole list at once, not a rehash per doubling.
            let size = file.metadata().map_err(err)?.len();
            set.reserve(usize::try_from(size / 16).unwrap_or(0));
            let mut reader = BufReader::with_capacity(1 << 20, file);
            let mut line = String::new();
            loop {
                line.clear();
                let n = reader.read_line(&mut line).map_err(err)?;
                if n == 0 {
                    break;
                }
                if !line.ends_with('\n') {
                    // Torn mid-write: the change was never confirmed, and what was written of
                    // it may even read as another number (`115550001` cut to `1155`).
                    torn = true;
                    break;
                }
                whole += n as u64;
                lines += 1;
                let mut parts = line.trim_end().split(' ');
                let (Some(op), Some(scope), Some(number)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                let (Some(scope), Ok(number)) = (parse_scope(scope), number.parse::<u64>()) else {
                    continue;
                };
                match op {
                    "+" => set.add(scope, number),
                    "-" => set.remove(scope, number),
                    _ => false,
                };
            }
        }
        if torn {
            // Cut the torn tail, or the next change would be appended to it and lost with it.
            let f = OpenOptions::new().write(true).open(&path).map_err(err)?;
            f.set_len(whole).map_err(err)?;
            f.sync_all().map_err(err)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(err)?;
        Ok(Consent {
            set: RwLock::new(set),
            log: Mutex::new(Log { path, file, lines }),
        })
    }

    /// True when a message from `sender` of the account `scope_id` to `recipient` must not go.
    pub fn blocks(&self, scope_id: u32, sender: &[u8], recipient: &[u8]) -> bool {
        self.set
            .read()
            .map(|s| s.blocks(scope_id, sender, recipient))
            .unwrap_or(false)
    }

    /// Entries on the list.
    pub fn len(&self) -> usize {
        self.set.read().map(|s| s.len()).unwrap_or(0)
    }

    /// True when the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds (`add`) or removes entries, durably: the log line is written and synced before the
    /// set changes. Returns how many entries changed.
    ///
    /// # Errors
    /// When the log cannot be written; the set is then unchanged.
    pub fn change(&self, add: bool, entries: &[(Scope, u64)]) -> std::io::Result<usize> {
        let mut log = self
            .log
            .lock()
            .map_err(|_| std::io::Error::other("opt-out log poisoned"))?;
        // Only what changes is logged: re-importing a list at every start writes nothing.
        let entries: Vec<(Scope, u64)> = {
            let set = self
                .set
                .read()
                .map_err(|_| std::io::Error::other("opt-out set poisoned"))?;
            entries
                .iter()
                .filter(|(scope, n)| set.contains(*scope, *n) != add)
                .copied()
                .collect()
        };
        if entries.is_empty() {
            return Ok(0);
        }
        let mut text = String::with_capacity(entries.len() * 24);
        for (scope, number) in &entries {
            log_line(&mut text, add, *scope, *number);
        }
        log.file.write_all(text.as_bytes())?;
        log.file.sync_data()?;
        log.lines += entries.len();
        let mut set = self
            .set
            .write()
            .map_err(|_| std::io::Error::other("opt-out set poisoned"))?;
        if add {
            set.reserve(entries.len());
        }
        let changed = entries
            .iter()
            .filter(|(scope, n)| {
                if add {
                    set.add(*scope, *n)
                } else {
                    set.remove(*scope, *n)
                }
            })
            .count();
        if log.lines > 65_536 && log.lines > 2 * set.len() {
            let live = set.entries();
            drop(set);
            if let Err(e) = log.rewrite(&live) {
                tracing::warn!(error = %e, "opt-out log not compacted; it keeps growing");
            }
        }
        Ok(changed)
    }

    /// Imports a CSV list into `scope`: the numbers it could read are added (durably), the
    /// rows it could not are returned with their lines.
    ///
    /// # Errors
    /// When the log cannot be written.
    pub fn import_csv(
        &self,
        scope: Scope,
        text: &str,
        numbering: &Numbering,
    ) -> std::io::Result<(usize, Vec<BadRow>)> {
        let (numbers, bad) = parse_csv(text, numbering);
        let entries: Vec<_> = numbers.into_iter().map(|n| (scope, n)).collect();
        let added = self.change(true, &entries)?;
        Ok((added, bad))
    }

    /// Applies what an MO to `number` from `person` asks, for the account `scope_id` whose
    /// opt-outs apply as `opt_out`; returns the reply to send, if any.
    ///
    /// # Errors
    /// When a STOP or START could not be made durable; no reply is due then (the person is
    /// told nothing that is not true).
    pub fn on_mo(
        &self,
        policy: &AccountConsent,
        scope_id: u32,
        number: &[u8],
        person: &[u8],
        text: &[u8],
    ) -> std::io::Result<Option<Reply>> {
        let Some(intent) = policy.keywords.intent(text) else {
            return Ok(None);
        };
        let Some(who) = pack_number(person) else {
            return Ok(None);
        };
        let scope = match policy.opt_out {
            OptOutScope::Global => Scope::Global,
            OptOutScope::Account => Scope::Account(scope_id),
            OptOutScope::Sender => match pack_number(number) {
                Some(n) => Scope::Sender(n),
                None => Scope::Account(scope_id),
            },
        };
        let text = match intent {
            Intent::Stop => {
                self.change(true, &[(scope, who)])?;
                &policy.replies.stop
            }
            Intent::Start => {
                // START lifts every opt-out of this person from this account's reach.
                let all = [(scope, who), (Scope::Account(scope_id), who)];
                self.change(false, &all)?;
                &policy.replies.start
            }
            Intent::Help => &policy.replies.help,
        };
        Ok(Some(Reply {
            intent,
            text: text.clone(),
        }))
    }

    /// Applies a STOP in a reply that no account could be found for (a number nobody owns, a
    /// conversation forgotten): the person is opted out of texts from that number, whichever
    /// account sends them. Only the standard stop words count (no account, no extras).
    /// Returns whether it was a STOP.
    ///
    /// # Errors
    /// When the opt-out could not be made durable.
    pub fn on_unroutable_mo(
        &self,
        number: &[u8],
        person: &[u8],
        text: &[u8],
    ) -> std::io::Result<bool> {
        if Keywords::default().intent(text) != Some(Intent::Stop) {
            return Ok(false);
        }
        let (Some(number), Some(who)) = (pack_number(number), pack_number(person)) else {
            return Ok(false);
        };
        self.change(true, &[(Scope::Sender(number), who)])?;
        Ok(true)
    }

    /// The entries of `scope` (for the admin API), at most `limit`, as numbers.
    pub fn list(&self, scope: Scope, limit: usize) -> Vec<u64> {
        self.set
            .read()
            .map(|s| s.numbers(scope, limit))
            .unwrap_or_default()
    }
}

impl Log {
    /// Replaces the log with the live entries: a temp file, synced, renamed over the log.
    fn rewrite(&mut self, live: &[(Scope, u64)]) -> std::io::Result<()> {
        let tmp = self.path.with_extension("log.tmp");
        let mut f = File::create(&tmp)?;
        let mut text = String::with_capacity(live.len() * 24);
        for (scope, number) in live {
            log_line(&mut text, true, *scope, *number);
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        self.lines = live.len();
        Ok(())
    }
}

/// One account's consent settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountConsent {
    /// Refuse submits to people on its opt-out lists (transactional-only accounts may not).
    pub enforce: bool,
    /// Where a STOP applies.
    pub opt_out: OptOutScope,
    /// The status a refused submit gets.
    pub refuse_status: smpp_pdu::CommandStatus,
    /// Its extra keywords.
    pub keywords: Keywords,
    /// Its replies.
    pub replies: Replies,
    /// All its traffic is marketing.
    pub marketing: bool,
    /// Submits with one of these service_types are marketing.
    pub marketing_service_types: Vec<String>,
    /// A TLV tag the customer sets (non-zero first octet) on submits that are marketing.
    pub marketing_tlv: Option<u16>,
    /// Marketing goes only inside this window of the recipient's local time (`None`: any time).
    pub quiet_hours: Option<crate::local_time::Window>,
    /// What happens to marketing outside that window.
    pub quiet_action: crate::gate::QuietAction,
    /// The zone for numbers whose prefix names no zone (or several, one of them this).
    pub timezone: jiff::tz::TimeZone,
    /// Marketing messages per recipient per day and per week.
    pub caps: crate::caps::Limits,
}

impl AccountConsent {
    /// True when a submit with this service_type is marketing.
    pub fn is_marketing(&self, service_type: &[u8]) -> bool {
        self.marketing
            || self
                .marketing_service_types
                .iter()
                .any(|s| s.as_bytes() == service_type)
    }
}

impl Default for AccountConsent {
    fn default() -> Self {
        AccountConsent {
            enforce: true,
            opt_out: OptOutScope::Sender,
            refuse_status: smpp_pdu::CommandStatus::X_R_APPN,
            keywords: Keywords::default(),
            replies: Replies::default(),
            marketing: false,
            marketing_service_types: Vec::new(),
            marketing_tlv: None,
            quiet_hours: Some(crate::local_time::Window::default()),
            quiet_action: crate::gate::QuietAction::Hold,
            timezone: jiff::tz::TimeZone::UTC,
            caps: crate::caps::Limits::default(),
        }
    }
}

/// The submit_sm that answers an MO with `text`: from the number the person wrote to, to the
/// person, in GSM 7-bit when it can carry the text, else UCS-2, cut to one message (a reply
/// is short; a cut is better than a second part that may arrive alone). No receipt is asked.
pub fn reply_submit(mo: &smpp_pdu::DeliverSm, text: &str) -> smpp_pdu::SubmitSm {
    use smpp_pdu::text::{self, Alphabet};
    let plan = text::choose(text);
    let limit = match plan.alphabet {
        Alphabet::Gsm7 => 160,
        _ => 70,
    };
    // Cut on a character boundary, counting the alphabet's units (a GSM escape counts two,
    // a character outside the BMP two UTF-16 units).
    let mut cut = String::new();
    let mut units = 0;
    for ch in text.chars() {
        let mut one = [0u8; 4];
        let cost = match plan.alphabet {
            Alphabet::Gsm7 => {
                smpp_pdu::text::gsm7::septet_len(ch.encode_utf8(&mut one)).unwrap_or(2)
            }
            _ => ch.len_utf16(),
        };
        if units + cost > limit {
            break;
        }
        units += cost;
        cut.push(ch);
    }
    let mut body = bytes::BytesMut::new();
    let data_coding = match text::encode(&cut, plan.alphabet, &mut body) {
        Ok(_) => plan.data_coding,
        Err(_) => {
            body.clear();
            let _ = text::encode(&cut, Alphabet::Ucs2, &mut body);
            smpp_pdu::DataCoding::UCS2
        }
    };
    smpp_pdu::SubmitSm {
        source: mo.dest.clone(),
        dest: mo.source.clone(),
        data_coding,
        short_message: body.freeze(),
        ..Default::default()
    }
}

/// What STOP, START and HELP are answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replies {
    /// After STOP.
    pub stop: String,
    /// After START.
    pub start: String,
    /// After HELP.
    pub help: String,
}

impl Default for Replies {
    fn default() -> Self {
        Replies {
            stop: "You are unsubscribed and will get no more messages from this number. Reply START to resubscribe.".into(),
            start: "You are subscribed again. Reply STOP to unsubscribe, HELP for help.".into(),
            help: "Reply STOP to unsubscribe, START to resubscribe.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> u64 {
        pack_number(s.as_bytes()).unwrap_or(0)
    }

    #[test]
    fn stop_blocks_start_unblocks_and_a_restart_remembers() {
        let dir = std::env::temp_dir().join(format!("consent-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let acme = account_scope("acme");
        let policy = AccountConsent::default();
        let replies = &policy.replies;
        {
            let c = Consent::open(&dir).unwrap_or_else(|e| panic!("{e}"));
            let r = c
                .on_mo(&policy, acme, b"12345", b"+15550001", b" Stop ")
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(r.map(|r| r.intent), Some(Intent::Stop));
            assert!(c.blocks(acme, b"12345", b"15550001"));
            assert!(!c.blocks(acme, b"67890", b"15550001"), "only that sender");
            let help = c
                .on_mo(&policy, acme, b"12345", b"15550002", b"help")
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(help.map(|r| r.text), Some(replies.help.clone()));
            assert!(
                !c.blocks(acme, b"12345", b"15550002"),
                "HELP is not an opt-out"
            );
            let (added, bad) = c
                .import_csv(
                    Scope::Global,
                    "number\n15550003\nxyz\n",
                    &Numbering::default(),
                )
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((added, bad.len()), (1, 1));
        }
        // A new process: the log is replayed.
        let c = Consent::open(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.blocks(acme, b"12345", b"15550001"));
        assert!(
            c.blocks(account_scope("other"), b"1", b"15550003"),
            "global import"
        );
        let r = c
            .on_mo(&policy, acme, b"12345", b"15550001", b"START")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.map(|r| r.intent), Some(Intent::Start));
        assert!(!c.blocks(acme, b"12345", b"15550001"));
        assert_eq!(c.list(Scope::Global, 10), vec![n("15550003")]);
        drop(c);
        let c = Consent::open(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !c.blocks(acme, b"12345", b"15550001"),
            "START survives a restart too"
        );
        assert_eq!(c.len(), 1);
        // Importing the same list again (as every start does) changes and writes nothing.
        let log_len = || std::fs::metadata(dir.join("opt-outs.log")).map_or(0, |m| m.len());
        let before = log_len();
        let (added, _) = c
            .import_csv(Scope::Global, "15550003\n", &Numbering::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((added, log_len()), (0, before));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A line torn by a crash is neither read (not even as the shorter number it starts
    /// with) nor left for the next change to be appended to: that change survives a restart.
    #[test]
    fn a_torn_last_line_is_cut_and_the_next_stop_survives() {
        let dir = std::env::temp_dir().join(format!("consent-torn-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let acme = account_scope("acme");
        let policy = AccountConsent::default();
        {
            let c = Consent::open(&dir).unwrap_or_else(|e| panic!("{e}"));
            c.on_mo(&policy, acme, b"12345", b"15550001", b"STOP")
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let log = dir.join("opt-outs.log");
        let whole = std::fs::read_to_string(&log).unwrap_or_default();
        // The crash: the next line written up to `…155`, its last five digits and newline lost.
        let torn = format!("{whole}{}", &whole[..whole.len() - 6]);
        std::fs::write(&log, &torn).unwrap_or_else(|e| panic!("{e}"));
        {
            let c = Consent::open(&dir).unwrap_or_else(|e| panic!("{e}"));
            assert!(c.blocks(acme, b"12345", b"15550001"));
            assert_eq!(c.len(), 1, "the torn line is not read as another number");
            c.on_mo(&policy, acme, b"12345", b"15550003", b"STOP")
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let c = Consent::open(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            c.blocks(acme, b"12345", b"15550003"),
            "the STOP after the crash"
        );
        assert!(c.blocks(acme, b"12345", b"15550001"));
        assert_eq!(c.len(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_same_confirmation_is_not_sent_again_within_its_interval() {
        let mut c = Confirmed::new(100);
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let (ours, them) = (&b"15550100"[..], &b"15550000001"[..]);
        assert!(c.due(ours, them, Intent::Stop, at(0)));
        // An auto-responder answering the confirmation with STOP, again and again.
        assert!(!c.due(ours, them, Intent::Stop, at(1)));
        assert!(!c.due(ours, them, Intent::Stop, at(3600)));
        // Someone else, or another of our numbers, is confirmed.
        assert!(c.due(ours, b"15550000002", Intent::Stop, at(1)));
        assert!(c.due(b"15550199", them, Intent::Stop, at(1)));
        // A change of mind is confirmed each time.
        assert!(c.due(ours, them, Intent::Start, at(2)));
        assert!(c.due(ours, them, Intent::Stop, at(3)));
        // HELP is answered again after an hour; STOP after a day.
        assert!(c.due(ours, them, Intent::Help, at(10)));
        assert!(!c.due(ours, them, Intent::Help, at(20)));
        assert!(c.due(ours, them, Intent::Help, at(3700)));
        assert!(c.due(ours, them, Intent::Stop, at(3701)));
        assert!(!c.due(ours, them, Intent::Stop, at(3701 + 23 * 3600)));
        assert!(c.due(ours, them, Intent::Stop, at(3702 + 24 * 3600)));
        // One that could not be sent is owed again.
        c.forget(ours, them);
        assert!(c.due(ours, them, Intent::Stop, at(3703 + 24 * 3600)));
        // A sender that is not a number is not remembered: nothing to compare.
        assert!(c.due(b"ACME", them, Intent::Help, at(0)));
        assert!(c.due(b"ACME", them, Intent::Help, at(1)));
    }

    #[test]
    fn a_reply_goes_back_to_the_person_in_one_message() {
        use bytes::Bytes;
        use smpp_pdu::{Address, DeliverSm, Npi, Ton};
        let mo = DeliverSm {
            source: Address::new(Ton(1), Npi(1), Bytes::from_static(b"15550001")),
            dest: Address::new(Ton(3), Npi(0), Bytes::from_static(b"12345")),
            short_message: Bytes::from_static(b"STOP"),
            ..Default::default()
        };
        let r = reply_submit(&mo, "You are unsubscribed {ACME}.");
        assert_eq!(
            (&r.source.addr[..], &r.dest.addr[..]),
            (&b"12345"[..], &b"15550001"[..])
        );
        assert_eq!(r.data_coding, smpp_pdu::DataCoding(0));
        let mut back = String::new();
        smpp_pdu::text::decode(&r.short_message, r.data_coding, &mut back);
        assert_eq!(back, "You are unsubscribed {ACME}.");
        let long = "x".repeat(300);
        assert_eq!(reply_submit(&mo, &long).short_message.len(), 160);
        let ucs = "Désinscrit ✓ ".repeat(10);
        let r = reply_submit(&mo, &ucs);
        assert_eq!(r.data_coding, smpp_pdu::DataCoding::UCS2);
        assert!(r.short_message.len() <= 140);
    }

    #[test]
    fn scopes_round_trip_through_the_log_format() {
        for s in [Scope::Global, Scope::Account(7), Scope::Sender(n("12345"))] {
            let mut line = String::new();
            log_line(&mut line, true, s, 15550001);
            let scope = line.split(' ').nth(1).unwrap_or_default();
            assert_eq!(parse_scope(scope), Some(s), "{line:?}");
        }
        assert_eq!(parse_scope("x1"), None);
        assert_ne!(account_scope("acme"), account_scope("acmf"));
        assert_eq!(parse_scope_name("global"), Ok(Scope::Global));
        assert_eq!(
            parse_scope_name("account:acme"),
            Ok(Scope::Account(account_scope("acme")))
        );
        assert_eq!(
            parse_scope_name("sender:+12345"),
            Ok(Scope::Sender(n("12345")))
        );
        assert!(parse_scope_name("sender:abc").is_err());
        assert!(parse_scope_name("planet").is_err());
    }
}
