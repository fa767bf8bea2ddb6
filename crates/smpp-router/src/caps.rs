//! Frequency caps: at most N marketing messages per recipient per account per day, and M per
//! rolling week.
//!
//! Counts are kept per (account, recipient) in seven day-buckets (days since the Unix epoch,
//! UTC), so a day's cap and a week's cap are both one small array lookup, and memory is bounded:
//! beyond `capacity` pairs, the pair used longest ago is forgotten (its person may then get up
//! to one extra message — the cap errs toward the count kept, not toward refusing). Counts live
//! in memory; a restart starts them afresh.

use std::collections::VecDeque;

use foldhash::HashMap;

/// The limits of one account (`None`: no cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Per recipient per UTC day.
    pub per_day: Option<u32>,
    /// Per recipient over the last seven UTC days (today included).
    pub per_week: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    /// (day, count) for the last seven days used, by `day % 7`.
    days: [(u32, u32); 7],
    /// The stamp of this pair's latest position in [`Caps::order`].
    stamp: u64,
}

impl Counts {
    fn on(&self, day: u32) -> u32 {
        let (d, n) = self.days[(day % 7) as usize];
        if d == day {
            n
        } else {
            0
        }
    }

    fn week(&self, day: u32) -> u32 {
        self.days
            .iter()
            .filter(|(d, _)| *d <= day && day - *d < 7)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Why a message is over its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// The day's cap is reached.
    Day,
    /// The week's cap is reached.
    Week,
}

/// The counts of every (account, recipient) pair.
#[derive(Debug)]
pub struct Caps {
    capacity: usize,
    counts: HashMap<(u32, u64), Counts>,
    /// Pairs in the order they were counted, with a stamp; a position whose stamp is not the
    /// pair's latest is stale and skipped.
    order: VecDeque<((u32, u64), u64)>,
    next_stamp: u64,
}

impl Caps {
    /// Remembers at most `capacity` pairs.
    pub fn new(capacity: usize) -> Self {
        Caps {
            capacity: capacity.max(1),
            counts: HashMap::default(),
            order: VecDeque::new(),
            next_stamp: 0,
        }
    }

    /// Counts one message from `account` to `recipient` on `day` (days since the epoch) when it
    /// is within `limits`; otherwise counts nothing and says which cap it hit.
    ///
    /// # Errors
    /// [`Over`] when the message would exceed a cap.
    pub fn take(
        &mut self,
        account: u32,
        recipient: u64,
        day: u32,
        limits: Limits,
    ) -> Result<(), Over> {
        if limits.per_day.is_none() && limits.per_week.is_none() {
            return Ok(());
        }
        let key = (account, recipient);
        let c = self.counts.entry(key).or_default();
        if limits.per_day.is_some_and(|max| c.on(day) >= max) {
            return Err(Over::Day);
        }
        if limits.per_week.is_some_and(|max| c.week(day) >= max) {
            return Err(Over::Week);
        }
        let slot = &mut c.days[(day % 7) as usize];
        if slot.0 != day {
            *slot = (day, 0);
        }
        slot.1 += 1;
        self.next_stamp += 1;
        c.stamp = self.next_stamp;
        self.order.push_back((key, self.next_stamp));
        while self.counts.len() > self.capacity || self.order.len() > self.capacity * 4 {
            let Some((k, stamp)) = self.order.pop_front() else {
                break;
            };
            // Forget a pair only at its latest position: it was used longest ago.
            if self.counts.get(&k).is_some_and(|c| c.stamp == stamp) {
                self.counts.remove(&k);
            }
        }
        Ok(())
    }
}

/// Days since the Unix epoch, UTC.
pub fn day_of(t: std::time::SystemTime) -> u32 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| (d.as_secs() / 86_400) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_and_week_caps_refuse_the_next_one() {
        let mut caps = Caps::new(100);
        let l = Limits {
            per_day: Some(2),
            per_week: Some(3),
        };
        assert_eq!(caps.take(1, 555, 100, l), Ok(()));
        assert_eq!(caps.take(1, 555, 100, l), Ok(()));
        assert_eq!(caps.take(1, 555, 100, l), Err(Over::Day));
        // Another recipient, or another account, has its own counts.
        assert_eq!(caps.take(1, 556, 100, l), Ok(()));
        assert_eq!(caps.take(2, 555, 100, l), Ok(()));
        // Next day: the day's cap is fresh but the week holds 2 + 1 = 3.
        assert_eq!(caps.take(1, 555, 101, l), Ok(()));
        assert_eq!(caps.take(1, 555, 102, l), Err(Over::Week));
        // A week after the first two, they no longer count.
        assert_eq!(caps.take(1, 555, 107, l), Ok(()));
        assert_eq!(caps.take(1, 555, 107, l), Ok(()));
        assert_eq!(caps.take(1, 555, 107, l), Err(Over::Day));
        // No limits: nothing counted, nothing refused.
        for _ in 0..10 {
            assert_eq!(caps.take(3, 1, 1, Limits::default()), Ok(()));
        }
    }

    #[test]
    fn memory_stays_bounded() {
        let mut caps = Caps::new(10);
        let l = Limits {
            per_day: Some(1),
            per_week: None,
        };
        for n in 0..1000 {
            assert_eq!(caps.take(1, n, 5, l), Ok(()));
        }
        assert!(caps.counts.len() <= 10);
        assert!(caps.order.len() <= 40);
        assert_eq!(
            day_of(std::time::UNIX_EPOCH + std::time::Duration::from_secs(86_400 * 3 + 5)),
            3
        );
    }
}
