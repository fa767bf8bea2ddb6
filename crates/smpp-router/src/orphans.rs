//! Receipts that came before the record they name, parked until it lands: the in-memory index
//! of a connector's durable orphan queue.
//!
//! A carrier may send a receipt before its submit_sm_resp (or on a faster bind), so its
//! correlation record is not written yet. The receipt is appended to the connector's durable
//! orphan queue (a restart does not lose it) and indexed here by carrier message id, so that
//! the record's landing finds it with one hash lookup. A parked receipt whose record has not
//! landed within the grace period, or that newer ones push past the bound, is given up as
//! unknown.
//!
//! (It was a scan of the queue's head before: with 256 truly unknown receipts in front — a
//! carrier sending receipts for messages that are not ours — the receipts behind them were not
//! looked at until those expired, ten minutes on, and every record that landed meanwhile
//! started another scan of the same 256.)

use std::collections::BTreeMap;

use foldhash::HashMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

/// A parked receipt: its seq in the durable queue and the deliver_sm as queued (encoded, so
/// it holds no slice of the read buffer it came in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// Its seq in the connector's orphan queue.
    pub seq: u64,
    /// The encoded deliver_sm.
    pub payload: Bytes,
}

#[derive(Debug)]
struct Entry {
    id: Bytes,
    payload: Bytes,
    parked_at: SystemTime,
}

/// The parked receipts of one connector, by carrier message id and by age.
#[derive(Debug)]
pub struct Parked {
    by_id: HashMap<Bytes, Vec<u64>>,
    /// By seq: the oldest first.
    entries: BTreeMap<u64, Entry>,
    /// The ids' and payloads' bytes.
    bytes: usize,
    cap: usize,
    cap_bytes: usize,
}

impl Parked {
    /// An index of at most `cap` receipts and `cap_bytes` of them (beyond either the oldest
    /// are given up first: a carrier may send receipts with large TLVs).
    pub fn new(cap: usize, cap_bytes: usize) -> Self {
        Parked {
            by_id: HashMap::default(),
            entries: BTreeMap::new(),
            bytes: 0,
            cap: cap.max(1),
            cap_bytes,
        }
    }

    /// Parks the receipt for carrier message `id`, queued durably as `seq`.
    pub fn park(&mut self, seq: u64, id: Bytes, payload: Bytes, parked_at: SystemTime) {
        if self.entries.contains_key(&seq) {
            // Parked already (a restart's recovery may read what was parked meanwhile).
            return;
        }
        self.bytes += id.len() + payload.len();
        self.by_id.entry(id.clone()).or_default().push(seq);
        self.entries.insert(
            seq,
            Entry {
                id,
                payload,
                parked_at,
            },
        );
    }

    /// Takes the receipts parked for `id`, oldest first (an intermediate before its final).
    pub fn take(&mut self, id: &[u8]) -> Vec<Orphan> {
        let Some(mut seqs) = self.by_id.remove(id) else {
            return Vec::new();
        };
        seqs.sort_unstable();
        seqs.into_iter()
            .filter_map(|seq| {
                let e = self.entries.remove(&seq)?;
                self.bytes -= e.id.len() + e.payload.len();
                Some(Orphan {
                    seq,
                    payload: e.payload,
                })
            })
            .collect()
    }

    /// Gives up the receipts parked longer than `grace` at `now`, and the oldest while more
    /// than the bound are parked; returns them as (seq, carrier id).
    pub fn expire(&mut self, now: SystemTime, grace: Duration) -> Vec<(u64, Bytes)> {
        let mut gone = Vec::new();
        loop {
            let over = self.entries.len() > self.cap || self.bytes > self.cap_bytes;
            let Some(entry) = self.entries.first_entry() else {
                break;
            };
            let old = now
                .duration_since(entry.get().parked_at)
                .unwrap_or_default()
                > grace;
            if !old && !over {
                break;
            }
            let (seq, e) = entry.remove_entry();
            self.bytes -= e.id.len() + e.payload.len();
            if let Some(seqs) = self.by_id.get_mut(&e.id) {
                seqs.retain(|&s| s != seq);
                if seqs.is_empty() {
                    self.by_id.remove(&e.id);
                }
            }
            gone.push((seq, e.id));
        }
        gone
    }

    /// Receipts parked.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when none is parked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> Bytes {
        Bytes::from_static(s.as_bytes())
    }

    #[test]
    fn a_receipt_is_found_by_its_id_behind_any_number_of_unknown_ones() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut p = Parked::new(10_000, usize::MAX);
        for seq in 0..5000 {
            p.park(seq, Bytes::from(format!("unknown-{seq}")), b("x"), t0);
        }
        p.park(5000, b("abc"), b("final"), t0);
        p.park(4_999_999, b("abc"), b("late"), t0);
        p.park(5001, b("abc"), b("intermediate?"), t0);
        assert_eq!(p.len(), 5003);
        let found = p.take(b"abc");
        let seqs: Vec<u64> = found.iter().map(|o| o.seq).collect();
        assert_eq!(seqs, [5000, 5001, 4_999_999], "oldest first");
        assert!(p.take(b"abc").is_empty(), "taken once");
        assert_eq!(p.len(), 5000);
    }

    #[test]
    fn old_receipts_and_those_past_the_bound_are_given_up_oldest_first() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let grace = Duration::from_secs(600);
        let mut p = Parked::new(3, usize::MAX);
        p.park(1, b("a"), b("1"), t0);
        p.park(2, b("b"), b("2"), t0 + Duration::from_secs(100));
        p.park(3, b("a"), b("3"), t0 + Duration::from_secs(200));
        assert!(p.expire(t0 + Duration::from_secs(600), grace).is_empty());
        assert_eq!(
            p.expire(t0 + Duration::from_secs(601), grace),
            [(1, b("a"))]
        );
        // Past the bound: the oldest goes, however young.
        p.park(4, b("c"), b("4"), t0 + Duration::from_secs(650));
        p.park(5, b("d"), b("5"), t0 + Duration::from_secs(650));
        assert_eq!(
            p.expire(t0 + Duration::from_secs(650), grace),
            [(2, b("b"))]
        );
        assert_eq!(p.len(), 3);
        // What is left of "a" is still found; what was given up is not.
        assert_eq!(
            p.take(b"a"),
            [Orphan {
                seq: 3,
                payload: b("3")
            }]
        );
        assert!(p.take(b"b").is_empty());
        assert!(!p.is_empty());
    }

    #[test]
    fn large_receipts_are_bounded_by_their_bytes() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut p = Parked::new(1000, 10_000);
        for seq in 0..5 {
            p.park(
                seq,
                Bytes::from(format!("{seq}")),
                Bytes::from(vec![0; 3000]),
                t0,
            );
        }
        let gone: Vec<u64> = p
            .expire(t0, Duration::from_secs(600))
            .iter()
            .map(|g| g.0)
            .collect();
        assert_eq!(gone, [0, 1]);
        assert_eq!(p.len(), 3);
        assert_eq!(p.take(b"4").len(), 1);
        assert!(p.expire(t0, Duration::from_secs(600)).is_empty());
    }
}
