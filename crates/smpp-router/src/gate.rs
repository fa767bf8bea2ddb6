//! The consent gate every customer submit passes before it is sent: opted-out recipients are
//! refused, marketing waits for the recipient's daytime (held, or refused, as configured) and
//! stops at its frequency caps. Transactional traffic meets only the opt-out check.
//!
//! Settings come from the account ([`AccountConsent`]) and may be overridden by the route the
//! message takes ([`RouteConsent`]): a route for a campaign short code can make everything on
//! it marketing, a route for OTPs can make it transactional, and either can set its own quiet
//! hours or caps. The gate is synchronous and allocation-free for transactional traffic; it
//! reads the wall clock through [`Clock`] so tests can move time.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use smpp_pdu::{CommandStatus, SubmitSm, TlvTag};

use crate::caps::{day_of, Caps, Limits};
use crate::clock::Clock;
use crate::config::Account;
use crate::consent::{account_scope, AccountConsent, Consent};
use crate::local_time::{Window, ZoneMap};
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

/// The opt-out list, the zone table, the caps' counts and the clock, together.
#[derive(Debug)]
pub struct Gate {
    consent: Arc<Consent>,
    zones: ZoneMap,
    caps: Mutex<Caps>,
    clock: Arc<Clock>,
}

impl Gate {
    /// A gate over the opt-out list; `capped_pairs` bounds the caps' memory.
    pub fn new(consent: Arc<Consent>, clock: Arc<Clock>, capped_pairs: usize) -> Gate {
        Gate {
            consent,
            zones: ZoneMap::new(),
            caps: Mutex::new(Caps::new(capped_pairs)),
            clock,
        }
    }

    /// The clock the gate reads.
    pub fn clock(&self) -> &Arc<Clock> {
        &self.clock
    }

    /// Decides a submit from `account` that takes a route with `route`'s overrides. A
    /// message that is let through (sent or held) is counted against its caps.
    pub fn check(&self, account: &Account, route: &RouteConsent, sm: &SubmitSm) -> Verdict {
        let policy = &account.consent;
        let e = Effective::of(policy, route, sm);
        let scope = account_scope(&account.system_id);
        if e.enforce && pack_number(&sm.dest.addr).is_none() {
            // Not a number the lists can be checked against (`1-555-…`, letters): written so,
            // an opted-out person would be texted.
            return Verdict::Refuse {
                status: CommandStatus::INVDSTADR,
                reason: "bad_destination",
            };
        }
        if e.enforce && self.consent.blocks(scope, &sm.source.addr, &sm.dest.addr) {
            return Verdict::Refuse {
                status: policy.refuse_status,
                reason: "opted_out",
            };
        }
        if !e.marketing {
            return Verdict::Send;
        }
        let now = self.clock.now();
        let mut verdict = Verdict::Send;
        if let Some(window) = e.window {
            let ts = jiff::Timestamp::try_from(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            if let Err(opens) = self
                .zones
                .check(&sm.dest.addr, &policy.timezone, window, ts)
            {
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
        let Some(recipient) = pack_number(&sm.dest.addr) else {
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
        self.zones
            .check(&sm.dest.addr, &account.consent.timezone, window, ts)
            .err()
            .map(SystemTime::from)
    }

    /// Whether a held message may still go when its window opens: the recipient may have
    /// opted out overnight. (Caps were settled when it was held; the window is
    /// [`Gate::closed_until`].)
    pub fn still_wanted(&self, account: &Account, route: &RouteConsent, sm: &SubmitSm) -> bool {
        let e = Effective::of(&account.consent, route, sm);
        !(e.enforce
            && self.consent.blocks(
                account_scope(&account.system_id),
                &sm.source.addr,
                &sm.dest.addr,
            ))
    }
}
