//! The correlation records written most recently, in a hash map beside the engine.
//!
//! **Why.** A receipt follows its submit by seconds, so its record is nearly always still in
//! fjall's memtable; but finding it there is a skiplist search among every put, delete and
//! queue entry of those seconds, which profiled at ~10 % of the router's CPU under load. This
//! map answers the same lookup with one hash probe.
//!
//! **What it holds.** The very key and value slices handed to the engine (shared, not copied),
//! at most `cap` of them; beyond that the oldest are forgotten, and their lookups go to the
//! engine as before. It never holds a record the engine does not: the committer, the only
//! writer, inserts a put as it adds it to a batch, removes a key as it deletes it (by receipt
//! or by expiry), and empties the map when a commit fails.

use std::collections::{HashMap, VecDeque};

use fjall::Slice;

/// Recently written correlation records, by encoded key (see the module docs).
pub(crate) struct Recent {
    map: HashMap<Slice, Slice>,
    /// Keys in the order they were put, oldest first. A key deleted or put again meanwhile
    /// may be here twice or no longer be in `map`: forgetting it then costs a lookup in the
    /// engine, never a wrong answer.
    order: VecDeque<Slice>,
    cap: usize,
}

impl Recent {
    /// A map of at most `cap` records (0: none, every lookup goes to the engine).
    pub(crate) fn new(cap: usize) -> Self {
        Recent {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    pub(crate) fn insert(&mut self, key: Slice, value: Slice) {
        if self.cap == 0 {
            return;
        }
        while self.order.len() >= self.cap {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
        self.order.push_back(key.clone());
        self.map.insert(key, value);
    }

    pub(crate) fn remove(&mut self, key: &[u8]) {
        self.map.remove(key);
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<&Slice> {
        self.map.get(key)
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

    #[test]
    fn holds_at_most_cap_and_forgets_the_oldest() {
        let mut r = Recent::new(3);
        for k in ["a", "b", "c", "d"] {
            r.insert(s(k), s(&k.repeat(2)));
        }
        assert_eq!(r.len(), 3);
        assert!(r.get(b"a").is_none());
        assert_eq!(r.get(b"d").map(|v| &v[..]), Some(&b"dd"[..]));
    }

    #[test]
    fn a_removed_or_replaced_key_never_answers_with_an_old_value() {
        let mut r = Recent::new(2);
        r.insert(s("a"), s("1"));
        r.remove(b"a");
        assert!(r.get(b"a").is_none());
        r.insert(s("a"), s("2"));
        assert_eq!(r.get(b"a").map(|v| &v[..]), Some(&b"2"[..]));
        // The first "a" in the order is forgotten first, taking the newer value with it: a
        // lookup in the engine then, not a stale answer.
        r.insert(s("b"), s("3"));
        assert!(r.get(b"a").is_none());
        assert_eq!(r.get(b"b").map(|v| &v[..]), Some(&b"3"[..]));
    }

    #[test]
    fn cap_zero_holds_nothing() {
        let mut r = Recent::new(0);
        r.insert(s("a"), s("1"));
        assert!(r.get(b"a").is_none());
    }
}
