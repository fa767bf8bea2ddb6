//! The window: requests sent and not yet answered, each with its deadline.
//!
//! Every request gets the same response timeout, so deadlines arrive in send order and a
//! `VecDeque` of (deadline, sequence) is the whole timer structure (as quinn-proto keeps its
//! timers). Answered requests leave a stale deque entry behind; the deque is compacted when
//! stale entries outnumber live ones, so its length stays within twice the window.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

/// Who is waiting for a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owner<T> {
    /// The application, with the token it gave.
    App(T),
    /// The session's own bind request.
    Bind,
    /// The session's keepalive.
    EnquireLink,
    /// The session's unbind.
    Unbind,
}

/// One outstanding request.
#[derive(Debug)]
pub(crate) struct Entry<T> {
    pub(crate) owner: Owner<T>,
    pub(crate) sent_at: Instant,
}

/// Hashes sequence numbers (already well spread) with one multiply instead of SipHash.
#[derive(Default)]
pub(crate) struct SeqHasher(u64);

impl Hasher for SeqHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Outstanding requests keyed by sequence number, with send-ordered deadlines.
#[derive(Debug)]
pub(crate) struct Window<T> {
    entries: HashMap<u32, Entry<T>, BuildHasherDefault<SeqHasher>>,
    deadlines: VecDeque<(Instant, u32)>,
}

impl<T> Window<T> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Window {
            entries: HashMap::with_capacity_and_hasher(capacity + 4, Default::default()),
            deadlines: VecDeque::with_capacity(2 * capacity + 72),
        }
    }

    /// Requests in flight.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn contains(&self, seq: u32) -> bool {
        self.entries.contains_key(&seq)
    }

    pub(crate) fn insert(&mut self, seq: u32, deadline: Instant, entry: Entry<T>) {
        self.entries.insert(seq, entry);
        self.deadlines.push_back((deadline, seq));
    }

    pub(crate) fn remove(&mut self, seq: u32) -> Option<Entry<T>> {
        let entry = self.entries.remove(&seq)?;
        if self.deadlines.front().is_some_and(|&(_, s)| s == seq) {
            self.deadlines.pop_front();
        } else if self.deadlines.len() > 2 * self.entries.len() + 64 {
            let live = &self.entries;
            self.deadlines.retain(|(_, s)| live.contains_key(s));
        }
        Some(entry)
    }

    /// The earliest deadline of a request still outstanding.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        self.drop_stale_front();
        self.deadlines.front().map(|&(d, _)| d)
    }

    /// Removes and returns one request whose deadline is at or before `now`.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<(u32, Entry<T>)> {
        self.drop_stale_front();
        let &(deadline, seq) = self.deadlines.front()?;
        if deadline > now {
            return None;
        }
        self.deadlines.pop_front();
        self.entries.remove(&seq).map(|e| (seq, e))
    }

    /// Removes every outstanding request (the connection is gone).
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (u32, Entry<T>)> + '_ {
        self.deadlines.clear();
        self.entries.drain()
    }

    fn drop_stale_front(&mut self) {
        while let Some(&(_, seq)) = self.deadlines.front() {
            if self.entries.contains_key(&seq) {
                break;
            }
            self.deadlines.pop_front();
        }
    }

    #[cfg(test)]
    pub(crate) fn deadline_queue_len(&self) -> usize {
        self.deadlines.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry(t: Instant) -> Entry<u32> {
        Entry {
            owner: Owner::App(0),
            sent_at: t,
        }
    }

    #[test]
    fn stale_deadlines_stay_bounded_behind_a_stuck_request() {
        let t0 = Instant::now();
        let mut w = Window::with_capacity(10);
        // Request 1 never gets an answer; a million others do.
        w.insert(1, t0 + Duration::from_secs(60), entry(t0));
        for seq in 2..1_000_000u32 {
            w.insert(seq, t0 + Duration::from_secs(60), entry(t0));
            assert!(w.remove(seq).is_some());
            assert!(w.deadline_queue_len() <= 2 * w.len() + 65);
        }
        assert_eq!(w.next_deadline(), Some(t0 + Duration::from_secs(60)));
        assert!(w.pop_expired(t0 + Duration::from_secs(59)).is_none());
        let (seq, _) = w.pop_expired(t0 + Duration::from_secs(60)).unwrap();
        assert_eq!(seq, 1);
        assert_eq!(w.len(), 0);
        assert_eq!(w.next_deadline(), None);
    }
}
