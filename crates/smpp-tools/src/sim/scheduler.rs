//! Receipts waiting for their delivery delay: one bounded heap ordered by due time and one task
//! that moves each receipt to its system_id's outbox when it falls due — not a sleeping task
//! per receipt, so a million waiting receipts cost a million heap entries and nothing more.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::counts::Counters;
use super::outbox::{Outboxes, Outgoing};

struct Entry {
    due: Instant,
    seq: u64,
    system_id: Bytes,
    item: Outgoing,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    // Reversed: BinaryHeap is a max-heap and the earliest entry must come out first.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

/// The delay heap.
pub(crate) struct Scheduler {
    heap: Mutex<(BinaryHeap<Entry>, u64)>,
    notify: Notify,
    limit: usize,
    counts: Arc<Counters>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    pub(crate) fn new(limit: usize, counts: Arc<Counters>) -> Self {
        Scheduler {
            heap: Mutex::new((BinaryHeap::new(), 0)),
            notify: Notify::new(),
            limit,
            counts,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (BinaryHeap<Entry>, u64)> {
        self.heap
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().0.len()
    }

    /// Queues `item` for `system_id` after `delay`; drops and counts it when the heap is full.
    pub(crate) fn schedule(&self, delay: Duration, system_id: Bytes, item: Outgoing) {
        let mut g = self.lock();
        if g.0.len() >= self.limit.max(1) {
            drop(g);
            self.counts.dropped(item.kind);
            return;
        }
        g.1 += 1;
        let seq = g.1;
        let due = Instant::now() + delay;
        let earliest = g.0.peek().is_none_or(|e| due < e.due);
        g.0.push(Entry {
            due,
            seq,
            system_id,
            item,
        });
        drop(g);
        if earliest {
            self.notify.notify_one();
        }
    }

    /// Moves due entries to the outboxes, forever.
    pub(crate) async fn run(self: Arc<Self>, outboxes: Arc<Outboxes>) {
        loop {
            let now = Instant::now();
            let mut due = Vec::new();
            let next = {
                let mut g = self.lock();
                while g.0.peek().is_some_and(|e| e.due <= now) {
                    if let Some(e) = g.0.pop() {
                        due.push(e);
                    }
                }
                g.0.peek().map(|e| e.due)
            };
            for e in due {
                outboxes.push(&e.system_id, e.item);
            }
            let wake = next.unwrap_or_else(|| now + Duration::from_secs(3600));
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                () = self.notify.notified() => {}
            }
        }
    }
}
