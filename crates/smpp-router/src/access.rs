//! Who may bind: credentials, source networks, the number of binds per account, and a brake
//! on guessing.
//!
//! Checks run in the driver's bind callback (synchronous, on the connection's task). An
//! address that fails `max_failures` binds within `window` is refused without checking its
//! password for a lock-out time that doubles with each further lock-out (up to `max_lockout`),
//! so guessing at line rate gets nowhere and costs no hashing. The table of addresses is
//! bounded; when it is full the stalest entry goes.
//!
//! A successful check reserves a bind slot for the peer's address and port; the connection
//! claims it once bound (see [`Access::claim`]) and gives it back when it closes ([`BindSlot`]
//! drops). A reservation nobody claims within [`UNCLAIMED`] is released at the next check
//! (the check runs on the blocking pool, so a connection can close between the check and the
//! bind it would have made), so a bind that never completes cannot leak a slot.

use foldhash::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use smpp_pdu::CommandStatus;

use crate::accounts::verify_password;
use crate::config::Account;

/// How long a reserved bind slot waits for its connection to claim it.
pub const UNCLAIMED: Duration = Duration::from_secs(30);

/// Why a bind was refused (a metrics label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No account has this system_id.
    UnknownSystemId,
    /// The password is wrong.
    WrongPassword,
    /// The address is outside the account's networks.
    AddressNotAllowed,
    /// The account has its maximum of binds.
    TooManyBinds,
    /// The address failed too often and is locked out for now.
    LockedOut,
}

impl Refusal {
    /// The bind_resp status.
    pub fn status(self) -> CommandStatus {
        match self {
            Refusal::UnknownSystemId => CommandStatus::INVSYSID,
            Refusal::WrongPassword => CommandStatus::INVPASWD,
            Refusal::AddressNotAllowed | Refusal::TooManyBinds | Refusal::LockedOut => {
                CommandStatus::BINDFAIL
            }
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::UnknownSystemId => "unknown_system_id",
            Refusal::WrongPassword => "wrong_password",
            Refusal::AddressNotAllowed => "address_not_allowed",
            Refusal::TooManyBinds => "too_many_binds",
            Refusal::LockedOut => "locked_out",
        }
    }
}

/// Limits on failed binds per address.
#[derive(Debug, Clone, Copy)]
pub struct Brake {
    /// Failures allowed within `window` before a lock-out.
    pub max_failures: u32,
    /// The window failures are counted in.
    pub window: Duration,
    /// The first lock-out; each further one doubles.
    pub lockout: Duration,
    /// The longest lock-out.
    pub max_lockout: Duration,
    /// Addresses remembered at most.
    pub capacity: usize,
}

impl Default for Brake {
    fn default() -> Self {
        Brake {
            max_failures: 5,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(10),
            max_lockout: Duration::from_secs(600),
            capacity: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
    lockouts: u32,
    locked_until: Option<Instant>,
    last: Instant,
}

/// A bind slot held by a bound connection; dropping it frees the slot.
#[derive(Debug)]
pub struct BindSlot {
    system_id: Arc<str>,
    count: Arc<AtomicUsize>,
}

impl BindSlot {
    /// The account it belongs to.
    pub fn system_id(&self) -> &str {
        &self.system_id
    }
}

impl Drop for BindSlot {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The bind checker for one set of accounts.
#[derive(Debug)]
pub struct Access {
    accounts: Vec<Account>,
    by_id: HashMap<String, usize>,
    /// Binds held per account. Shared with the checker a reload replaces, account by account,
    /// so counts (and the slots of bound connections) carry over.
    binds: Vec<Arc<AtomicUsize>>,
    /// Slots reserved at the bind check (with when), claimed once bound; shared across
    /// reloads.
    reserved: Arc<Mutex<HashMap<SocketAddr, (BindSlot, Instant)>>>,
    /// Failed binds per address; shared across reloads, so a reload lifts no lock-out.
    failures: Arc<Mutex<HashMap<IpAddr, Failures>>>,
    brake: Brake,
}

impl Access {
    /// A checker for `accounts`.
    pub fn new(accounts: Vec<Account>, brake: Brake) -> Self {
        let by_id = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.system_id.clone(), i))
            .collect();
        let binds = accounts.iter().map(|_| Arc::default()).collect();
        Access {
            accounts,
            by_id,
            binds,
            reserved: Arc::default(),
            failures: Arc::default(),
            brake,
        }
    }

    /// The checker for a reloaded account list: accounts that stay keep their bind counts,
    /// and reserved slots and lock-outs carry over.
    pub fn reload(&self, accounts: Vec<Account>) -> Self {
        let mut next = Access::new(accounts, self.brake);
        for (i, a) in next.accounts.iter().enumerate() {
            if let Some(&old) = self.by_id.get(&a.system_id) {
                next.binds[i] = self.binds[old].clone();
            }
        }
        next.reserved = self.reserved.clone();
        next.failures = self.failures.clone();
        next
    }

    /// The accounts, by index.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// The index of the account with this system_id.
    pub fn index_of(&self, system_id: &[u8]) -> Option<usize> {
        std::str::from_utf8(system_id)
            .ok()
            .and_then(|s| self.by_id.get(s).copied())
    }

    /// Binds the account holds now.
    pub fn binds(&self, account: usize) -> usize {
        self.binds
            .get(account)
            .map_or(0, |b| b.load(Ordering::Acquire))
    }

    /// Checks a bind from `peer` and reserves a slot for it.
    ///
    /// # Errors
    /// The refusal, whose [`Refusal::status`] answers the bind.
    pub fn check(
        &self,
        system_id: &[u8],
        password: &[u8],
        peer: SocketAddr,
        now: Instant,
    ) -> Result<usize, Refusal> {
        let ip = peer.ip();
        if self.locked(ip, now) {
            return Err(Refusal::LockedOut);
        }
        let outcome = self.check_credentials(system_id, password, ip);
        match outcome {
            Err(r @ (Refusal::UnknownSystemId | Refusal::WrongPassword)) => {
                self.failed(ip, now);
                return Err(r);
            }
            Err(r) => return Err(r),
            Ok(_) => self.succeeded(ip),
        }
        let account = outcome?;
        // Reservations left unclaimed go first (their slots freed), so they cannot fill the
        // account.
        if let Ok(mut r) = self.reserved.lock() {
            r.retain(|_, (_, at)| now.saturating_duration_since(*at) < UNCLAIMED);
        }
        let max = self.accounts[account].max_binds;
        let taken = self.binds[account].fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        });
        if taken.is_err() {
            return Err(Refusal::TooManyBinds);
        }
        let slot = BindSlot {
            system_id: self.accounts[account].system_id.as_str().into(),
            count: self.binds[account].clone(),
        };
        // A second bind from the same address and port replaces (and frees) a stale one.
        if let Ok(mut r) = self.reserved.lock() {
            r.insert(peer, (slot, now));
        }
        Ok(account)
    }

    /// The slot reserved for `peer`, for its connection to hold while bound.
    pub fn claim(&self, peer: SocketAddr) -> Option<BindSlot> {
        self.reserved
            .lock()
            .ok()?
            .remove(&peer)
            .map(|(slot, _)| slot)
    }

    fn check_credentials(
        &self,
        system_id: &[u8],
        password: &[u8],
        ip: IpAddr,
    ) -> Result<usize, Refusal> {
        let account = self.index_of(system_id).ok_or(Refusal::UnknownSystemId)?;
        let a = &self.accounts[account];
        if !a.networks.iter().any(|n| n.contains(ip)) {
            return Err(Refusal::AddressNotAllowed);
        }
        if !verify_password(&a.password_hash, password) {
            return Err(Refusal::WrongPassword);
        }
        Ok(account)
    }

    fn locked(&self, ip: IpAddr, now: Instant) -> bool {
        let Ok(f) = self.failures.lock() else {
            return false;
        };
        f.get(&ip)
            .and_then(|f| f.locked_until)
            .is_some_and(|t| now < t)
    }

    fn failed(&self, ip: IpAddr, now: Instant) {
        let Ok(mut table) = self.failures.lock() else {
            return;
        };
        if table.len() >= self.brake.capacity && !table.contains_key(&ip) {
            if let Some(stalest) = table.iter().min_by_key(|(_, f)| f.last).map(|(ip, _)| *ip) {
                table.remove(&stalest);
            }
        }
        let b = self.brake;
        let f = table.entry(ip).or_insert(Failures {
            count: 0,
            since: now,
            lockouts: 0,
            locked_until: None,
            last: now,
        });
        if now.duration_since(f.since) > b.window {
            f.count = 0;
            f.since = now;
        }
        f.count += 1;
        f.last = now;
        if f.count >= b.max_failures {
            let lockout = b
                .lockout
                .saturating_mul(1 << f.lockouts.min(16))
                .min(b.max_lockout);
            f.locked_until = Some(now + lockout);
            f.lockouts += 1;
            f.count = 0;
            f.since = now;
        }
    }

    fn succeeded(&self, ip: IpAddr) {
        if let Ok(mut t) = self.failures.lock() {
            t.remove(&ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const DEMO_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$b+DAhawJI5qHaSXx+Fj70Q$lax3FtbQz/Dd1xsMg24H71bxvqcpE6Gw9jsUHEgkvMg";

    fn access(brake: Brake) -> Access {
        let text = format!(
            "[[accounts]]\nsystem_id = \"demo\"\npassword_hash = \"{DEMO_HASH}\"\nmax_binds = 2\nnetworks = [\"10.0.0.0/8\", \"127.0.0.1\"]\n"
        );
        let c = Config::parse(&text).unwrap_or_else(|e| panic!("{e}"));
        Access::new(c.accounts, brake)
    }

    fn peer(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn credentials_networks_and_bind_count() {
        let a = access(Brake::default());
        let now = Instant::now();
        assert_eq!(
            a.check(b"nobody", b"demo", peer("10.1.1.1:1"), now),
            Err(Refusal::UnknownSystemId)
        );
        assert_eq!(
            a.check(b"demo", b"nope", peer("10.1.1.1:1"), now),
            Err(Refusal::WrongPassword)
        );
        assert_eq!(
            a.check(b"demo", b"demo", peer("192.168.1.1:1"), now),
            Err(Refusal::AddressNotAllowed)
        );
        assert_eq!(
            a.check(b"demo", b"demo", peer("[::ffff:10.2.3.4]:1"), now),
            Ok(0)
        );
        assert_eq!(a.check(b"demo", b"demo", peer("127.0.0.1:2"), now), Ok(0));
        assert_eq!(a.binds(0), 2);
        assert_eq!(
            a.check(b"demo", b"demo", peer("127.0.0.1:3"), now),
            Err(Refusal::TooManyBinds)
        );
        // A connection that bound holds its slot; when it closes, the slot is free again.
        let slot = a.claim(peer("127.0.0.1:2"));
        assert!(slot.is_some());
        drop(slot);
        assert_eq!(a.binds(0), 1);
        assert_eq!(a.check(b"demo", b"demo", peer("127.0.0.1:3"), now), Ok(0));
        assert_eq!(Refusal::TooManyBinds.status(), CommandStatus::BINDFAIL);
    }

    #[test]
    fn a_slot_nobody_claims_is_freed_by_a_later_check() {
        let a = access(Brake::default());
        let now = Instant::now();
        // Two checks pass, and their connections close before binding: nothing claims them.
        assert_eq!(a.check(b"demo", b"demo", peer("127.0.0.1:2"), now), Ok(0));
        assert_eq!(a.check(b"demo", b"demo", peer("127.0.0.1:3"), now), Ok(0));
        assert_eq!(
            a.check(b"demo", b"demo", peer("127.0.0.1:4"), now),
            Err(Refusal::TooManyBinds)
        );
        // Later, their reservations are let go and the account can bind again.
        let later = now + UNCLAIMED;
        assert_eq!(a.check(b"demo", b"demo", peer("127.0.0.1:4"), later), Ok(0));
        assert_eq!(a.binds(0), 1);
        assert!(a.claim(peer("127.0.0.1:2")).is_none());
        assert!(a.claim(peer("127.0.0.1:4")).is_some());
    }

    #[test]
    fn a_reload_keeps_counts_slots_and_lockouts() {
        let a = access(Brake {
            max_failures: 1,
            ..Brake::default()
        });
        let now = Instant::now();
        assert_eq!(a.check(b"demo", b"demo", peer("127.0.0.1:2"), now), Ok(0));
        assert_eq!(
            a.check(b"demo", b"bad", peer("10.9.9.9:1"), now),
            Err(Refusal::WrongPassword)
        );
        let b = a.reload(a.accounts().to_vec());
        assert_eq!(b.binds(0), 1, "the count carried over");
        let slot = b.claim(peer("127.0.0.1:2"));
        assert_eq!(slot.as_ref().map(BindSlot::system_id), Some("demo"));
        assert_eq!(
            b.check(b"demo", b"demo", peer("10.9.9.9:1"), now),
            Err(Refusal::LockedOut)
        );
        drop(slot);
        assert_eq!((a.binds(0), b.binds(0)), (0, 0));
        // An account that is gone takes nothing with it; a new one starts at zero.
        let c = b.reload(Vec::new());
        assert_eq!(c.binds(0), 0);
    }

    #[test]
    fn guessing_locks_the_address_out_and_the_lockout_grows() {
        let brake = Brake {
            max_failures: 3,
            window: Duration::from_secs(60),
            lockout: Duration::from_secs(10),
            max_lockout: Duration::from_secs(15),
            capacity: 2,
        };
        let a = access(brake);
        let t0 = Instant::now();
        let guesser = peer("10.9.9.9:5");
        for _ in 0..3 {
            assert_eq!(
                a.check(b"demo", b"guess", guesser, t0),
                Err(Refusal::WrongPassword)
            );
        }
        // Locked: even the right password is refused, without being checked.
        assert_eq!(
            a.check(b"demo", b"demo", guesser, t0),
            Err(Refusal::LockedOut)
        );
        // Another address is not affected.
        assert_eq!(a.check(b"demo", b"demo", peer("10.1.1.1:1"), t0), Ok(0));
        let t1 = t0 + Duration::from_secs(11);
        for _ in 0..3 {
            assert_eq!(
                a.check(b"demo", b"guess", guesser, t1),
                Err(Refusal::WrongPassword)
            );
        }
        // The second lock-out is longer (doubled, capped at 15 s).
        assert_eq!(
            a.check(b"demo", b"demo", guesser, t1 + Duration::from_secs(12)),
            Err(Refusal::LockedOut)
        );
        assert_eq!(
            a.check(b"demo", b"demo", guesser, t1 + Duration::from_secs(16)),
            Ok(0)
        );
        // The table stays within its capacity.
        for i in 0..10u8 {
            let _ = a.check(b"demo", b"x", peer(&format!("10.0.0.{i}:1")), t1);
        }
        assert!(a.failures.lock().map(|f| f.len()).unwrap_or(0) <= 2);
    }
}
