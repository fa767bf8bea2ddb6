//! The consent gate every customer submit passes before it is sent: opted-out recipients are
//! refused, marketing waits for the recipient's daytime (held, or refused, as configured) and
//! stops at its frequency caps. Transactional traffic meets only the opt-out check.
//!
//! Settings come from the account ([`AccountConsent`]) and may be overridden by the route the
//! message takes ([`RouteConsent`]): a route for a campaign short code can make everything on
//! it marketing, a route for OTPs can make it transactional, and either can set its own quiet
//! hours or caps. The gate is synchronous and allocation-free for transactional traffic; it
//! reads the wall clock through [`Clock`] so tests can move time.
//!
//! The parts of one concatenated message get one decision on quiet hours and caps (the first
//! part's, kept for [`PART_MEMORY`]): a cap counted per part would send the first two parts of
//! a three-part message and refuse the third, and parts either side of the window's edge would
//! be split between sent and held. The opt-out check stays per part: a STOP between two parts
//! is honoured at once.
//!
//! Numbers are compared in international form ([`crate::numbering`]), read with the account's
//! home country: a STOP from `+447700900123` blocks a submit to `07700900123`.

use std::collections::VecDeque;

use foldhash::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use smpp_pdu::{CommandStatus, SubmitSm, TlvTag};

use crate::caps::{day_of, Caps, Limits};
use crate::clock::Clock;
use crate::config::Account;
use crate::consent::{account_scope, AccountConsent, Consent};
use crate::local_time::{Window, ZoneMap};
use crate::numbering;
use crate::policy::pack_number;

/// What happens to marketing outside the recipient's daytime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuietAction {
    /// Accepted (the customer gets our message id), kept durably and sent when the window
    /// opens; its receipt follows then.
    #[default]
    Hold,
    /// Refused with ESME_RX_T_APPN (a temporary error: the customer may try again later).
    Refuse,
}

/// What a route changes of its accounts' consent settings; each `None` keeps the account's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteConsent {
    /// Refuse submits to opted-out recipients.
    pub enforce: Option<bool>,
    /// `true`: everything on the route is marketing; `false`: everything is transactional.
    pub marketing: Option<bool>,
    /// The daytime window (`Some(None)`: no quiet hours on this route).
    pub quiet_hours: Option<Option<Window>>,
    /// Hold or refuse outside it.
    pub quiet_action: Option<QuietAction>,
    /// Marketing per recipient per day (`Some(None)`: no cap on this route).
    pub max_per_day: Option<Option<u32>>,
    /// Marketing per recipient per seven days (`Some(None)`: no cap on this route).
    pub max_per_week: Option<Option<u32>>,
}

/// The gate's answer for one submit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it now.
    Send,
    /// Refuse it with `status`; `reason` labels the refusal in metrics.
    Refuse {
        /// The customer's command_status.
        status: CommandStatus,
        /// `opted_out`, `quiet_hours` or `frequency_cap`.
        reason: &'static str,
    },
    /// Accept it and send it at `until`, when the recipient's window opens.
    Hold {
        /// When the window opens.
        until: SystemTime,
    },
}

/// The settings that apply to one submit: the account's, with the route's overrides.
#[derive(Debug, Clone, Copy)]
struct Effective {
    enforce: bool,
    marketing: bool,
    window: Option<Window>,
    action: QuietAction,
    caps: Limits,
}

impl Effective {
    fn of(account: &AccountConsent, route: &RouteConsent, sm: &SubmitSm) -> Effective {
        Effective {
            enforce: route.enforce.unwrap_or(account.enforce),
            marketing: route.marketing.unwrap_or_else(|| is_marketing(account, sm)),
            window: route.quiet_hours.unwrap_or(account.quiet_hours),
            action: route.quiet_action.unwrap_or(account.quiet_action),
            caps: Limits {
                per_day: route.max_per_day.unwrap_or(account.caps.per_day),
                per_week: route.max_per_week.unwrap_or(account.caps.per_week),
            },
        }
    }
}

/// Marketing by the account's settings: the whole account, its service_types, or a TLV the
/// customer sets (present with a non-zero first octet).
fn is_marketing(account: &AccountConsent, sm: &SubmitSm) -> bool {
    account.is_marketing(&sm.service_type)
        || account.marketing_tlv.is_some_and(|tag| {
            sm.tlvs
                .get(TlvTag(tag))
                .and_then(|v| v.first())
                .is_some_and(|&b| b != 0)
        })
}

/// How long the decision on a concatenated message's first part applies to its other parts:
/// they come within seconds, and a short memory keeps a later message that reuses the
/// (8-bit) reference for the same person from inheriting an old decision.
pub const PART_MEMORY: Duration = Duration::from_secs(60);

/// The decisions on recent concatenated messages, by message key, oldest first out; bounded.
#[derive(Debug, Default)]
struct Parts {
    verdicts: HashMap<u64, Verdict>,
    order: VecDeque<(u64, SystemTime)>,
}

impl Parts {
    fn get(&self, key: u64) -> Option<Verdict> {
        self.verdicts.get(&key).copied()
    }

    fn put(&mut self, key: u64, verdict: Verdict, now: SystemTime, cap: usize) {
        while let Some(&(old, at)) = self.order.front() {
            let stale = now.duration_since(at).unwrap_or_default() > PART_MEMORY;
            if !stale && self.order.len() < cap.max(1) {
                break;
            }
            self.verdicts.remove(&old);
            self.order.pop_front();
        }
        if self.verdicts.insert(key, verdict).is_none() {
            self.order.push_back((key, now));
        }
    }
}

/// The opt-out list, the zone table, the caps' counts and the clock, together.
#[derive(Debug)]
pub struct Gate {
    consent: Arc<Consent>,
    zones: ZoneMap,
    caps: Mutex<Caps>,
    clock: Arc<Clock>,
    parts: Mutex<Parts>,
    /// Most concatenated messages remembered in `parts`.
    parts_cap: usize,
}

impl Gate {
    /// A gate over the opt-out list; `capped_pairs` bounds the caps' memory.
    pub fn new(consent: Arc<Consent>, clock: Arc<Clock>, capped_pairs: usize) -> Gate {
        Gate {
            consent,
            zones: ZoneMap::new(),
            caps: Mutex::new(Caps::new(capped_pairs)),
            clock,
            parts: Mutex::new(Parts::default()),
            parts_cap: capped_pairs,
        }
    }

    /// The clock the gate reads.
    pub fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    /// Decides a submit from `account` that takes a route with `route`'s overrides. A
    /// message that is let through (sent or held) is counted against its caps. `message`
    /// names the concatenated message `sm` is a part of (`None`: a whole message); it is
    /// asked for marketing only, so transactional traffic never parses a UDH here.
    pub fn check(
        &self,
        account: &Account,
        route: &RouteConsent,
        sm: &SubmitSm,
        message: impl FnOnce() -> Option<u64>,
    ) -> Verdict {
        let policy = &account.consent;
        let e = Effective::of(policy, route, sm);
        let scope = account_scope(&account.system_id);
        let (mut dest, mut source) = ([0; numbering::MAX], [0; numbering::MAX]);
        let dest = account
            .numbering
            .international(sm.dest.ton, &sm.dest.addr, &mut dest);
        let source = account
            .numbering
            .international(sm.source.ton, &sm.source.addr, &mut source);
        if e.enforce && pack_number(dest).is_none() {
            // Not a number the lists can be checked against (`1-555-…`, letters): written so,
            // an opted-out person would be texted.
            return Verdict::Refuse {
                status: CommandStatus::INVDSTADR,
                reason: "bad_destination",
            };
        }
        if e.enforce && self.blocked(scope, sm, source, dest) {
            return Verdict::Refuse {
                status: policy.refuse_status,
                reason: "opted_out",
            };
        }
        if !e.marketing {
            return Verdict::Send;
        }
        let Some(key) = message() else {
            return self.decide(scope, &e, policy, dest);
        };
        // Held across the decision, so that two parts checked at once get one decision.
        let Ok(mut parts) = self.parts.lock() else {
            return self.decide(scope, &e, policy, dest);
        };
        if let Some(verdict) = parts.get(key) {
            return verdict;
        }
        let verdict = self.decide(scope, &e, policy, dest);
        parts.put(key, verdict, self.clock.now(), self.parts_cap);
        verdict
    }

    /// Quiet hours and caps for a marketing message to `dest` (international form).
    fn decide(&self, scope: u32, e: &Effective, policy: &AccountConsent, dest: &[u8]) -> Verdict {
        let now = self.clock.now();
        let mut verdict = Verdict::Send;
        if let Some(window) = e.window {
            let ts = jiff::Timestamp::try_from(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            if let Err(opens) = self.zones.check(dest, &policy.timezone, window, ts) {
                verdict = match e.action {
                    QuietAction::Hold => Verdict::Hold {
                        until: SystemTime::from(opens),
                    },
                    QuietAction::Refuse => {
                        return Verdict::Refuse {
                            // Temporary: the customer may try again once it is daytime there.
                            status: CommandStatus::X_T_APPN,
                            reason: "quiet_hours",
                        };
                    }
                };
            }
        }
        let Some(recipient) = pack_number(dest) else {
            return verdict;
        };
        let over = self
            .caps
            .lock()
            .map(|mut c| c.take(scope, recipient, day_of(now), e.caps).is_err())
            .unwrap_or(false);
        if over {
            return Verdict::Refuse {
                status: CommandStatus::X_R_APPN,
                reason: "frequency_cap",
            };
        }
        verdict
    }

    /// When a held message whose minute has come may go after all, if not now: its window is
    /// closed again when the minute passed while the router was down and the recipient's
    /// evening has begun since. `None`: it may go now. (Caps were counted when it was held.)
    pub fn closed_until(
        &self,
        account: &Account,
        route: &RouteConsent,
        sm: &SubmitSm,
    ) -> Option<SystemTime> {
        let e = Effective::of(&account.consent, route, sm);
        let window = e.window.filter(|_| e.marketing)?;
        let ts = jiff::Timestamp::try_from(self.clock.now()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let mut dest = [0; numbering::MAX];
        let dest = account
            .numbering
            .international(sm.dest.ton, &sm.dest.addr, &mut dest);
        self.zones
            .check(dest, &account.consent.timezone, window, ts)
            .err()
            .map(SystemTime::from)
    }

    /// Whether a held message may still go when its window opens: the recipient may have
    /// opted out overnight. (Caps were settled when it was held; the window is
    /// [`Gate::closed_until`].)
    pub fn still_wanted(&self, account: &Account, route: &RouteConsent, sm: &SubmitSm) -> bool {
        let e = Effective::of(&account.consent, route, sm);
        let (mut dest, mut source) = ([0; numbering::MAX], [0; numbering::MAX]);
        let n = &account.numbering;
        !(e.enforce
            && self.blocked(
                account_scope(&account.system_id),
                sm,
                n.international(sm.source.ton, &sm.source.addr, &mut source),
                n.international(sm.dest.ton, &sm.dest.addr, &mut dest),
            ))
    }

    /// Whether the lists block `sm` from the account `scope`: its numbers in international
    /// form (`source`, `dest`), or as written when that differs — an entry stored before
    /// numbers were made international, or read with another home country, still holds.
    fn blocked(&self, scope: u32, sm: &SubmitSm, source: &[u8], dest: &[u8]) -> bool {
        let differs =
            |written: &[u8], intl: &[u8]| written.strip_prefix(b"+").unwrap_or(written) != intl;
        self.consent.blocks(scope, source, dest)
            || ((differs(&sm.source.addr, source) || differs(&sm.dest.addr, dest))
                && self.consent.blocks(scope, &sm.source.addr, &sm.dest.addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use smpp_pdu::{Address, Npi, Ton};

    fn account() -> Account {
        let text = "[[accounts]]\nsystem_id = \"shop\"\npassword_hash = \"$argon2id$v=19$m=19456,t=2,p=1$b+DAhawJI5qHaSXx+Fj70Q$lax3FtbQz/Dd1xsMg24H71bxvqcpE6Gw9jsUHEgkvMg\"\n\
             consent = { marketing = true, quiet_hours = \"off\", max_per_day = 2 }\n\
             [[connectors]]\nname = \"c\"\nhosts = [\"127.0.0.1:1\"]\nsystem_id = \"r\"\npassword = \"r\"\n\
             [[routes]]\nconnector = \"c\"\n";
        crate::config::Config::parse(text)
            .unwrap_or_else(|e| panic!("{e}"))
            .accounts
            .remove(0)
    }

    /// An opt-out stored as the number was written before numbers were made international
    /// (`07700900123`, from a national MO) still blocks a submit written that way.
    #[test]
    fn an_entry_stored_as_written_still_blocks() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let consent = Arc::new(Consent::open(dir.path()).unwrap_or_else(|e| panic!("{e}")));
        let old = crate::policy::pack_number(b"07700900123").unwrap_or(0);
        let scope = crate::policy::Scope::Account(account_scope("shop"));
        consent
            .change(true, &[(scope, old)])
            .unwrap_or_else(|e| panic!("{e}"));
        let gate = Gate::new(consent, Arc::new(Clock::system()), 1000);
        let mut account = account();
        account.numbering = crate::numbering::Numbering::new("44", None, None);
        let to = |ton: u8, number: &'static [u8]| SubmitSm {
            source: Address::new(Ton(1), Npi(1), Bytes::from_static(b"15550100")),
            dest: Address::new(Ton(ton), Npi(1), Bytes::from_static(number)),
            ..Default::default()
        };
        let route = RouteConsent::default();
        let refused = |sm: &SubmitSm| {
            matches!(
                gate.check(&account, &route, sm, || None),
                Verdict::Refuse {
                    reason: "opted_out",
                    ..
                }
            )
        };
        assert!(refused(&to(2, b"07700900123")));
        assert!(gate.still_wanted(&account, &route, &to(1, b"447700900124")));
        assert!(!gate.still_wanted(&account, &route, &to(2, b"07700900123")));
    }

    /// A cap counts messages, not parts: two three-part messages go whole, the third is
    /// refused whole.
    #[test]
    fn the_parts_of_one_message_get_one_decision() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let consent = Arc::new(Consent::open(dir.path()).unwrap_or_else(|e| panic!("{e}")));
        let gate = Gate::new(consent, Arc::new(Clock::system()), 1000);
        let account = account();
        let sm = SubmitSm {
            source: Address::new(Ton(1), Npi(1), Bytes::from_static(b"15550100")),
            dest: Address::new(Ton(1), Npi(1), Bytes::from_static(b"15550000001")),
            ..Default::default()
        };
        let route = RouteConsent::default();
        let verdicts: Vec<Vec<Verdict>> = (1..=3u64)
            .map(|message| {
                (0..3)
                    .map(|_| gate.check(&account, &route, &sm, || Some(message)))
                    .collect()
            })
            .collect();
        assert_eq!(verdicts[0], [Verdict::Send; 3]);
        assert_eq!(verdicts[1], [Verdict::Send; 3]);
        let capped = Verdict::Refuse {
            status: CommandStatus::X_R_APPN,
            reason: "frequency_cap",
        };
        assert_eq!(verdicts[2], [capped; 3]);
        // A whole message is counted on its own.
        assert_eq!(gate.check(&account, &route, &sm, || None), capped);
    }
}
