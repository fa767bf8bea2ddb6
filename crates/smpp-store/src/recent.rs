//! The correlation records written most recently, in a hash map beside the engine: the only
//! place a young record lives besides the correlation log.
//!
//! **Why a map.** A receipt follows its submit by seconds. This map answers its lookup with
//! one hash probe, and because a record here is durable in the correlation log
//! ([`wal`](crate::wal)), it need not be in fjall at all: most records are deleted by their
//! receipt while here, and never cost fjall a memtable insert, a tombstone, a flush or a
//! compaction.
//!
//! **Leaving the map alive.** A record pushed out by newer ones (at most `cap` are kept),
//! spilled because its log segment is among the oldest, or still here at a clean close is
//! handed to the caller, which writes it and its expiry-index entry into fjall. The sweep
//! expires records kept here straight from the map.
//!
//! **What it holds.** The very key and value slices written to the log (shared, not copied),
//! each with its deadline and its log segment, so the log knows when a segment holds nothing
//! alive. Only the committer writes it.

use std::collections::VecDeque;

use foldhash::HashMap;

use bytes::Bytes;

use crate::wal::SegmentId;

/// A record kept in the map: its encoded value, its deadline (ms since the epoch), and the log
/// segment its put is in.
pub(crate) struct Kept {
    pub(crate) value: Bytes,
    pub(crate) expires_ms: u64,
    pub(crate) seg: SegmentId,
}

/// Recently written correlation records, by encoded key (see the module docs).
pub(crate) struct Recent {
    map: HashMap<Bytes, Kept>,
    /// Keys in the order they were put, oldest first, with the segment of that put. A key
    /// deleted or put again meanwhile may be here twice or no longer be in `map`; an entry
    /// whose segment is not the kept record's is skipped when it comes up.
    order: VecDeque<(Bytes, SegmentId)>,
    cap: usize,
}

impl Recent {
    /// A map of at most `cap` records (0: none, every record goes to the engine at once).
    pub(crate) fn new(cap: usize) -> Self {
        Recent {
            map: HashMap::default(),
            order: VecDeque::new(),
            cap,
        }
    }

    /// Whether records are kept at all.
    pub(crate) fn keeps(&self) -> bool {
        self.cap > 0
    }

    /// Keeps a record that is being put, and returns the one it replaces. Each record pushed
    /// out to make room is given to `pushed_out`: it must go to the engine now.
    pub(crate) fn insert(
        &mut self,
        key: Bytes,
        kept: Kept,
        mut pushed_out: impl FnMut(Bytes, Kept),
    ) -> Option<Kept> {
        while self.order.len() >= self.cap.max(1) {
            let Some((old, seg)) = self.order.pop_front() else {
                break;
            };
            self.take_if_current(&old, seg, &mut pushed_out);
        }
        self.order.push_back((key.clone(), kept.seg));
        self.map.insert(key, kept)
    }

    /// Hands every record whose put is in segment `seg` or an older one to `pushed_out`.
    pub(crate) fn spill(&mut self, seg: SegmentId, mut pushed_out: impl FnMut(Bytes, Kept)) {
        while self.order.front().is_some_and(|(_, s)| *s <= seg) {
            if let Some((old, s)) = self.order.pop_front() {
                self.take_if_current(&old, s, &mut pushed_out);
            }
        }
    }

    fn take_if_current(&mut self, key: &[u8], seg: SegmentId, out: &mut impl FnMut(Bytes, Kept)) {
        if self.map.get(key).is_some_and(|k| k.seg == seg) {
            if let Some((k, kept)) = self.map.remove_entry(key) {
                out(k, kept);
            }
        }
    }

    /// Forgets a deleted record, returning it.
    pub(crate) fn remove(&mut self, key: &[u8]) -> Option<Kept> {
        self.map.remove(key)
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<&Kept> {
        self.map.get(key)
    }

    /// Removes and returns up to `limit` records whose deadline is at or before `now_ms`.
    pub(crate) fn take_due(&mut self, now_ms: u64, limit: usize) -> Vec<(Bytes, Kept)> {
        let due: Vec<Bytes> = self
            .map
            .iter()
            .filter(|(_, kept)| kept.expires_ms <= now_ms)
            .take(limit)
            .map(|(k, _)| k.clone())
            .collect();
        due.into_iter()
            .filter_map(|k| self.map.remove_entry(&k))
            .collect()
    }

    /// Removes every record (for a clean close: they go to the engine then).
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (Bytes, Kept)> + '_ {
        self.order.clear();
        self.map.drain()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Bytes {
        Bytes::copy_from_slice(v.as_bytes())
    }

    fn kept(v: &str, expires_ms: u64, seg: SegmentId) -> Kept {
        Kept {
            value: s(v),
            expires_ms,
            seg,
        }
    }

    fn value(r: &Recent, k: &str) -> Option<Vec<u8>> {
        r.get(k.as_bytes()).map(|kept| kept.value.to_vec())
    }

    fn none(_: Bytes, _: Kept) {
        unreachable!("nothing is pushed out here")
    }

    #[test]
    fn holds_at_most_cap_and_pushes_out_the_oldest_with_its_deadline() {
        let mut r = Recent::new(3);
        let mut out = Vec::new();
        for (i, k) in ["a", "b", "c", "d"].into_iter().enumerate() {
            let replaced = r.insert(s(k), kept(&k.repeat(2), i as u64, 1), |k, kept| {
                out.push((k.to_vec(), kept.value.to_vec(), kept.expires_ms));
            });
            assert!(replaced.is_none());
        }
        assert_eq!(r.len(), 3);
        assert_eq!(value(&r, "a"), None);
        assert_eq!(value(&r, "d"), Some(b"dd".to_vec()));
        assert_eq!(out, vec![(b"a".to_vec(), b"aa".to_vec(), 0)]);
    }

    #[test]
    fn a_replaced_key_is_returned_and_its_old_place_in_the_order_is_skipped() {
        let mut r = Recent::new(2);
        let mut out = Vec::new();
        r.insert(s("a"), kept("1", 1, 1), none);
        let old = r.insert(s("a"), kept("2", 2, 2), none).expect("replaced");
        assert_eq!((old.value.to_vec(), old.seg), (b"1".to_vec(), 1));
        assert_eq!(value(&r, "a"), Some(b"2".to_vec()));
        // The first "a" in the order (segment 1) no longer names the kept record: making room
        // for "b" skips it, and both fit; making room for "c" pushes out the current "a".
        r.insert(s("b"), kept("3", 3, 2), none);
        assert_eq!(value(&r, "a"), Some(b"2".to_vec()));
        r.insert(s("c"), kept("4", 4, 2), |k, kept| {
            out.push((k.to_vec(), kept.expires_ms))
        });
        assert_eq!(out, vec![(b"a".to_vec(), 2)]);
        assert!(r.get(b"a").is_none());
        assert_eq!(value(&r, "b"), Some(b"3".to_vec()));
    }

    #[test]
    fn a_deleted_record_is_never_pushed_out() {
        let mut r = Recent::new(1);
        r.insert(s("a"), kept("1", 1, 1), none);
        assert_eq!(r.remove(b"a").map(|k| k.seg), Some(1));
        r.insert(s("b"), kept("2", 2, 1), |_, _| panic!("a was deleted"));
        assert_eq!(value(&r, "b"), Some(b"2".to_vec()));
    }

    #[test]
    fn spill_hands_over_the_records_of_old_segments_only() {
        let mut r = Recent::new(10);
        for (k, seg) in [("a", 1), ("b", 1), ("c", 2), ("d", 3)] {
            r.insert(s(k), kept(k, 0, seg), none);
        }
        r.remove(b"b");
        let mut out = Vec::new();
        r.spill(2, |k, kept| out.push((k.to_vec(), kept.seg)));
        assert_eq!(out, vec![(b"a".to_vec(), 1), (b"c".to_vec(), 2)]);
        assert_eq!(value(&r, "d"), Some(b"d".to_vec()));
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn due_records_are_taken_by_deadline_and_limit() {
        let mut r = Recent::new(10);
        for (k, ms) in [("a", 5), ("b", 10), ("c", 15), ("d", 7)] {
            r.insert(s(k), kept(k, ms, 1), none);
        }
        assert!(r.take_due(4, 10).is_empty());
        let mut due: Vec<_> = r.take_due(10, 10).iter().map(|(k, _)| k.to_vec()).collect();
        due.sort();
        assert_eq!(due, vec![b"a".to_vec(), b"b".to_vec(), b"d".to_vec()]);
        assert_eq!(r.take_due(100, 0).len(), 0);
        assert_eq!(r.take_due(100, 10).len(), 1);
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn cap_zero_keeps_nothing() {
        assert!(!Recent::new(0).keeps());
        assert!(Recent::new(1).keeps());
    }

    #[test]
    fn drain_gives_every_record() {
        let mut r = Recent::new(10);
        r.insert(s("a"), kept("1", 1, 1), none);
        r.insert(s("b"), kept("2", 2, 1), none);
        let mut all: Vec<_> = r
            .drain()
            .map(|(k, kept)| (k.to_vec(), kept.expires_ms))
            .collect();
        all.sort();
        assert_eq!(all, vec![(b"a".to_vec(), 1), (b"b".to_vec(), 2)]);
        assert_eq!(r.len(), 0);
    }
}
