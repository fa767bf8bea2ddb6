//! The correlation records written most recently, in a hash map beside the engine, and the
//! expiry-index entries they have not needed yet.
//!
//! **Why a map.** A receipt follows its submit by seconds, so its record is nearly always
//! still in fjall's memtable; but finding it there is a skiplist search among every put,
//! delete and queue entry of those seconds, which profiled at ~10 % of the router's CPU under
//! load. This map answers the same lookup with one hash probe.
//!
//! **Why deferred index entries.** Expiry reads an index keyed by deadline (see the
//! [`embedded`](crate::embedded) module docs), one entry per record. Most records are deleted
//! within seconds, when their receipt comes, and an index entry written for them is a
//! memtable insert, journal bytes and a later sweep's work for nothing. So a record kept here
//! has no index entry yet: it gets one only when it leaves the map still alive (pushed out by
//! newer records, or at a clean close); one deleted while here never gets one. The sweep
//! expires records kept here straight from the map. A crash loses the deferred entries; the
//! store's open then rebuilds the index from the records (see `EmbeddedStore::open`).
//!
//! **What it holds.** The very key and value slices handed to the engine (shared, not copied),
//! at most `cap` of them; beyond that the oldest are pushed out, and their lookups go to the
//! engine as before. It never holds a record the engine does not: the committer, the only
//! writer, inserts a put as it adds it to a batch, removes a key as it deletes it (by receipt
//! or by expiry), and empties the map when a commit fails.

use std::collections::{HashMap, VecDeque};

use fjall::Slice;

/// A record kept in the map: its encoded value and its deadline (ms since the epoch).
pub(crate) struct Kept {
    pub(crate) value: Slice,
    pub(crate) expires_ms: u64,
}

/// Recently written correlation records, by encoded key (see the module docs).
pub(crate) struct Recent {
    map: HashMap<Slice, Kept>,
    /// Keys in the order they were put, oldest first. A key deleted or put again meanwhile
    /// may be here twice or no longer be in `map`: pushing it out then costs a lookup in the
    /// engine (and an index entry written early), never a wrong answer.
    order: VecDeque<Slice>,
    cap: usize,
}

impl Recent {
    /// A map of at most `cap` records (0: none, every lookup goes to the engine and every
    /// record gets its index entry at once).
    pub(crate) fn new(cap: usize) -> Self {
        Recent {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    /// Keeps a record that is being put, replacing any kept under its key. Returns false when
    /// it is not kept (`cap` 0): its index entry is due now. Each record pushed out to make
    /// room is given to `pushed_out` with its deadline: its index entry is due now.
    pub(crate) fn insert(
        &mut self,
        key: Slice,
        value: Slice,
        expires_ms: u64,
        mut pushed_out: impl FnMut(Slice, u64),
    ) -> bool {
        if self.cap == 0 {
            return false;
        }
        while self.order.len() >= self.cap {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some((k, kept)) = self.map.remove_entry(&old) {
                pushed_out(k, kept.expires_ms);
            }
        }
        self.order.push_back(key.clone());
        self.map.insert(key, Kept { value, expires_ms });
        true
    }

    /// Forgets a deleted record (its index entry, if it had none yet, is never written).
    pub(crate) fn remove(&mut self, key: &[u8]) {
        self.map.remove(key);
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<&Kept> {
        self.map.get(key)
    }

    /// Removes and returns up to `limit` keys whose deadline is at or before `now_ms`.
    pub(crate) fn take_due(&mut self, now_ms: u64, limit: usize) -> Vec<Slice> {
        let due: Vec<Slice> = self
            .map
            .iter()
            .filter(|(_, kept)| kept.expires_ms <= now_ms)
            .take(limit)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &due {
            self.map.remove(k);
        }
        due
    }

    /// Removes every record, each with its deadline (for a clean close: their index entries
    /// are written then).
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (Slice, u64)> + '_ {
        self.order.clear();
        self.map.drain().map(|(k, kept)| (k, kept.expires_ms))
    }

    /// Forgets everything (after a failed commit, when the map may hold what was not written).
    pub(crate) fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Slice {
        Slice::from(v.as_bytes())
    }

    fn value(r: &Recent, k: &str) -> Option<Vec<u8>> {
        r.get(k.as_bytes()).map(|kept| kept.value.to_vec())
    }

    #[test]
    fn holds_at_most_cap_and_pushes_out_the_oldest_with_its_deadline() {
        let mut r = Recent::new(3);
        let mut out = Vec::new();
        for (i, k) in ["a", "b", "c", "d"].into_iter().enumerate() {
            let kept = r.insert(s(k), s(&k.repeat(2)), i as u64, |k, ms| {
                out.push((k.to_vec(), ms));
            });
            assert!(kept);
        }
        assert_eq!(r.len(), 3);
        assert_eq!(value(&r, "a"), None);
        assert_eq!(value(&r, "d"), Some(b"dd".to_vec()));
        assert_eq!(out, vec![(b"a".to_vec(), 0)]);
    }

    #[test]
    fn a_removed_or_replaced_key_never_answers_with_an_old_value() {
        let mut r = Recent::new(2);
        let mut out = Vec::new();
        r.insert(s("a"), s("1"), 1, |_, _| unreachable!());
        r.remove(b"a");
        assert!(r.get(b"a").is_none());
        r.insert(s("a"), s("2"), 2, |_, _| unreachable!());
        assert_eq!(value(&r, "a"), Some(b"2".to_vec()));
        // The first "a" in the order is pushed out first, taking the newer value with it
        // (with the newer deadline): a lookup in the engine then, not a stale answer.
        r.insert(s("b"), s("3"), 3, |k, ms| out.push((k.to_vec(), ms)));
        assert!(r.get(b"a").is_none());
        assert_eq!(value(&r, "b"), Some(b"3".to_vec()));
        assert_eq!(out, vec![(b"a".to_vec(), 2)]);
    }

    #[test]
    fn a_deleted_record_is_never_pushed_out() {
        let mut r = Recent::new(1);
        r.insert(s("a"), s("1"), 1, |_, _| unreachable!());
        r.remove(b"a");
        r.insert(s("b"), s("2"), 2, |_, _| panic!("a was deleted"));
        assert_eq!(value(&r, "b"), Some(b"2".to_vec()));
    }

    #[test]
    fn due_records_are_taken_by_deadline_and_limit() {
        let mut r = Recent::new(10);
        for (k, ms) in [("a", 5), ("b", 10), ("c", 15), ("d", 7)] {
            r.insert(s(k), s(k), ms, |_, _| unreachable!());
        }
        assert!(r.take_due(4, 10).is_empty());
        let mut due: Vec<_> = r.take_due(10, 10).iter().map(|k| k.to_vec()).collect();
        due.sort();
        assert_eq!(due, vec![b"a".to_vec(), b"b".to_vec(), b"d".to_vec()]);
        assert_eq!(r.take_due(100, 0).len(), 0);
        assert_eq!(r.take_due(100, 10).len(), 1);
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn cap_zero_holds_nothing() {
        let mut r = Recent::new(0);
        assert!(!r.insert(s("a"), s("1"), 1, |_, _| unreachable!()));
        assert!(r.get(b"a").is_none());
    }

    #[test]
    fn drain_gives_every_record_with_its_deadline() {
        let mut r = Recent::new(10);
        r.insert(s("a"), s("1"), 1, |_, _| unreachable!());
        r.insert(s("b"), s("2"), 2, |_, _| unreachable!());
        let mut all: Vec<_> = r.drain().map(|(k, ms)| (k.to_vec(), ms)).collect();
        all.sort();
        assert_eq!(all, vec![(b"a".to_vec(), 1), (b"b".to_vec(), 2)]);
        assert_eq!(r.len(), 0);
    }
}
