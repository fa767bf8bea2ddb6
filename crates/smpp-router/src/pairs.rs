//! What happened lately between two numbers, remembered for a while in bounded memory: who
//! texted a person (to route their reply, [`crate::mo::Conversations`]) and which
//! confirmation a person was sent (so an auto-responder is not answered for ever,
//! [`crate::consent::Confirmed`]).
//!
//! A pair is two packed numbers ([`crate::policy::pack_number`]): sixteen bytes, and nothing
//! that holds on to a PDU's frame. Entries are forgotten once older than the window, and the
//! oldest first when more than `capacity` are kept.

use std::collections::VecDeque;

use foldhash::HashMap;
use std::time::{Duration, Instant};

/// Two packed numbers: ours (the sender) and the person's.
pub type Pair = (u64, u64);

/// The latest `V` per pair, each for `window`.
#[derive(Debug)]
pub struct Recent<V> {
    window: Duration,
    capacity: usize,
    map: HashMap<Pair, (V, Instant)>,
    order: VecDeque<(Pair, Instant)>,
}

impl<V> Recent<V> {
    /// Remembers up to `capacity` pairs for `window` each.
    pub fn new(window: Duration, capacity: usize) -> Self {
        Recent {
            window,
            capacity: capacity.max(1),
            map: HashMap::default(),
            order: VecDeque::new(),
        }
    }

    /// `value` is the latest for `pair`, as of `now`.
    pub fn put(&mut self, pair: Pair, value: V, now: Instant) {
        self.map.insert(pair, (value, now));
        self.order.push_back((pair, now));
        // Drop what is too old, and the oldest while over capacity; an entry refreshed since
        // its queue position was written is left alone.
        while let Some((k, t)) = self.order.front() {
            let stale =
                now.duration_since(*t) > self.window || self.order.len() > self.capacity * 2;
            if !stale && self.map.len() <= self.capacity {
                break;
            }
            if self.map.get(k).is_some_and(|(_, last)| last == t) {
                self.map.remove(k);
            }
            self.order.pop_front();
        }
    }

    /// The latest value for `pair`, if it is within the window at `now`.
    pub fn get(&self, pair: Pair, now: Instant) -> Option<&V> {
        self.get_since(pair, now).map(|(v, _)| v)
    }

    /// [`Recent::get`], with how long ago it was put.
    pub fn get_since(&self, pair: Pair, now: Instant) -> Option<(&V, Duration)> {
        self.map
            .get(&pair)
            .map(|(v, t)| (v, now.duration_since(*t)))
            .filter(|(_, age)| *age <= self.window)
    }

    /// Forgets `pair`.
    pub fn remove(&mut self, pair: Pair) {
        self.map.remove(&pair);
    }

    /// Pairs remembered (some may be past the window until the next `put`).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_value_is_kept_for_the_window_and_the_oldest_goes_when_full() {
        let mut r = Recent::new(Duration::from_secs(60), 2);
        let t0 = Instant::now();
        r.put((1, 10), 'a', t0);
        assert_eq!(r.get((1, 10), t0), Some(&'a'));
        assert_eq!(r.get((1, 11), t0), None);
        assert_eq!(r.get((1, 10), t0 + Duration::from_secs(61)), None);
        assert_eq!(
            r.get_since((1, 10), t0 + Duration::from_secs(5)),
            Some((&'a', Duration::from_secs(5)))
        );
        r.put((1, 10), 'b', t0 + Duration::from_secs(1));
        assert_eq!(r.get((1, 10), t0 + Duration::from_secs(1)), Some(&'b'));
        for i in 0..5 {
            r.put((2, i), 'c', t0 + Duration::from_secs(2));
        }
        assert!(r.len() <= 2);
        assert!(!r.is_empty());
        r.remove((2, 4));
        assert_eq!(r.get((2, 4), t0 + Duration::from_secs(2)), None);
    }
}
