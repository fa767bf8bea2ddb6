//! A smooth rate limiter: messages leave evenly spaced, not in a burst at each second boundary.
//!
//! It is GCRA (the generic cell rate algorithm, a virtual-scheduling token bucket): each message
//! pushes a theoretical arrival time forward by `1/rate`; a message may go when that time is no
//! further ahead of now than the allowed burst. Sans-IO like the session: `now` is given.

use std::time::{Duration, Instant};

/// Limits a flow to `rate` messages per second with a small burst allowance.
#[derive(Debug, Clone)]
pub struct Throttle {
    interval: Duration,
    burst: Duration,
    tat: Option<Instant>,
}

impl Throttle {
    /// `rate` messages per second (at least 1), allowing `burst` messages at once after a pause
    /// (1 means perfectly even spacing).
    pub fn new(rate: u32, burst: u32) -> Self {
        let interval = Duration::from_secs(1) / rate.max(1);
        Throttle {
            interval,
            burst: interval * burst.saturating_sub(1),
            tat: None,
        }
    }

    /// The spacing between messages at the full rate.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Takes `n` slots (e.g. the parts of a concatenated message) if they fit now; otherwise
    /// returns the instant to try again.
    pub fn try_acquire(&mut self, now: Instant, n: u32) -> Result<(), Instant> {
        let tat = self.tat.map_or(now, |t| t.max(now));
        let earliest = tat.checked_sub(self.burst).unwrap_or(now);
        if earliest > now {
            return Err(earliest);
        }
        self.tat = Some(tat + self.interval * n.max(1));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_is_even_without_bursts_at_second_boundaries() {
        let t0 = Instant::now();
        let mut t = Throttle::new(100, 1);
        let mut now = t0;
        let mut sent = Vec::new();
        while now < t0 + Duration::from_secs(2) {
            match t.try_acquire(now, 1) {
                Ok(()) => sent.push(now),
                Err(next) => now = next,
            }
        }
        assert_eq!(sent.len(), 200);
        for w in sent.windows(2) {
            assert_eq!(w[1] - w[0], Duration::from_millis(10));
        }
    }

    #[test]
    fn a_burst_is_allowed_after_a_pause_and_parts_count() {
        let t0 = Instant::now();
        let mut t = Throttle::new(10, 3);
        assert!(t.try_acquire(t0, 1).is_ok());
        assert!(t.try_acquire(t0, 1).is_ok());
        assert!(t.try_acquire(t0, 1).is_ok());
        assert_eq!(t.try_acquire(t0, 1), Err(t0 + Duration::from_millis(100)));
        // A three-part message takes three slots.
        let later = t0 + Duration::from_secs(10);
        assert!(t.try_acquire(later, 3).is_ok());
        assert_eq!(
            t.try_acquire(later, 1),
            Err(later + Duration::from_millis(100))
        );
    }
}
