//! The wall clock that consent decisions read: quiet hours, the day a frequency cap counts in,
//! and when held marketing is released.
//!
//! In production it is the system clock. Tests start a daemon with a clock they can move
//! forward ([`Clock::advance`]), so "held at 23:00, released at 08:00" runs in a second instead
//! of a night; nothing else about the router changes. Only consent reads this clock: receipt
//! correlation and queue expiry keep the system clock, since records cross nodes and restarts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// The system clock, shifted forward by a settable offset (zero outside tests).
#[derive(Debug, Default)]
pub struct Clock {
    /// Milliseconds added to the system clock.
    ahead_ms: AtomicU64,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// Now, by this clock.
    pub fn now(&self) -> SystemTime {
        SystemTime::now() + Duration::from_millis(self.ahead_ms.load(Ordering::Relaxed))
    }

    /// Now, as a jiff timestamp (for local-time arithmetic).
    pub fn timestamp(&self) -> jiff::Timestamp {
        jiff::Timestamp::try_from(self.now()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }

    /// Moves the clock forward by `by`, rounded up to the millisecond (tests).
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
        self.ahead_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Moves the clock forward to `at` (tests); a time already past leaves it as it is.
    pub fn advance_to(&self, at: SystemTime) {
        if let Ok(by) = at.duration_since(self.now()) {
            self.advance(by);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward_and_never_back() {
        let c = Clock::system();
        let before = c.now();
        c.advance(Duration::from_secs(3600));
        let after = c.now();
        assert!(after.duration_since(before).unwrap() >= Duration::from_secs(3600));
        c.advance_to(before);
        assert!(c.now() >= after);
        let target = after + Duration::from_secs(7200);
        c.advance_to(target);
        assert!(c.now() >= target);
        assert!(c.now().duration_since(target).unwrap() < Duration::from_secs(5));
    }
}
