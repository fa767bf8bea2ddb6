//! The requests of one customer connection, run on the connection's own task in slots that
//! are reused from request to request.
//!
//! **Why not `FuturesUnordered`.** It allocates a task (the request's future and its waker
//! bookkeeping) for every request and frees it when the request is answered: for a submit that
//! was a large allocation, a move of the future into it and reference-counting on every wake,
//! ~5 % of the router's instructions per message (benches/e2e/README.md). Here a slot keeps its
//! allocation and its waker when its request is done, and the next request is written into it
//! in place (`Pin::set`). A connection never holds more slots than it ever had requests in
//! flight at once, which the router bounds (`smpp.max_in_flight`), and when all its requests
//! are done it keeps at most [`KEEP_IDLE`] (a submit's future is ~1.2 KB).
//!
//! **Waking.** Each slot has one waker for its life. Waking it queues the slot's index (once:
//! a flag keeps it from being queued twice) and wakes the connection's task, which polls only
//! the queued slots. A waker kept by a request that has finished may still fire; the slot is
//! then polled for nothing (or found empty), which futures allow.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// Slots kept once every request is done; past a burst, the rest are freed.
const KEEP_IDLE: usize = 64;

/// Polls per call at most, then the task yields (as `FuturesUnordered` does), so a connection
/// with a thousand requests woken at once does not hold the runtime thread from the others.
const BUDGET: usize = 32;

/// Futures of one type, each run to completion; see the module docs.
pub(crate) struct Requests<F> {
    slots: Vec<Slot<F>>,
    /// Slots whose request is done, to be reused.
    free: Vec<usize>,
    /// Slots holding a request.
    len: usize,
    shared: Arc<Shared>,
    /// Queued indexes taken from `shared`, polled from `next_in_batch` on.
    batch: Vec<usize>,
    next_in_batch: usize,
}

struct Slot<F> {
    future: Pin<Box<Option<F>>>,
    waker: Waker,
    wake: Arc<SlotWake>,
}

/// What the slots' wakers share with the owner.
#[derive(Default)]
struct Shared {
    queued: Mutex<Vec<usize>>,
    owner: AtomicWaker,
}

struct SlotWake {
    index: usize,
    queued: AtomicBool,
    shared: Arc<Shared>,
}

impl Wake for SlotWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.shared
                .queued
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(self.index);
            self.shared.owner.wake();
        }
    }
}

impl<F: Future<Output = ()>> Requests<F> {
    pub(crate) fn new() -> Self {
        Requests {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
            shared: Arc::new(Shared::default()),
            batch: Vec::new(),
            next_in_batch: 0,
        }
    }

    /// Requests not yet done.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Starts `future`: it is polled at the next [`Requests::next`].
    pub(crate) fn push(&mut self, future: F) {
        let index = match self.free.pop() {
            Some(i) => {
                self.slots[i].future.as_mut().set(Some(future));
                i
            }
            None => {
                let i = self.slots.len();
                let wake = Arc::new(SlotWake {
                    index: i,
                    queued: AtomicBool::new(false),
                    shared: self.shared.clone(),
                });
                self.slots.push(Slot {
                    future: Box::pin(Some(future)),
                    waker: Waker::from(wake.clone()),
                    wake,
                });
                i
            }
        };
        self.len += 1;
        self.slots[index].wake.wake_by_ref();
    }

    /// Polls the slots that were woken, [`BUDGET`] at most; ready with `Some(n)` when `n > 0`
    /// requests finished, with `None` when none is left.
    fn poll_done(&mut self, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        self.shared.owner.register(cx.waker());
        if self.next_in_batch >= self.batch.len() {
            self.batch.clear();
            self.next_in_batch = 0;
            std::mem::swap(
                &mut *self
                    .shared
                    .queued
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
                &mut self.batch,
            );
        }
        let end = self.batch.len().min(self.next_in_batch + BUDGET);
        let mut done = 0;
        for &i in &self.batch[self.next_in_batch..end] {
            let Some(slot) = self.slots.get_mut(i) else {
                continue;
            };
            // Cleared before the poll: a wake during it queues the slot again.
            slot.wake.queued.store(false, Ordering::Release);
            let Some(future) = slot.future.as_mut().as_pin_mut() else {
                continue;
            };
            if future
                .poll(&mut Context::from_waker(&slot.waker))
                .is_ready()
            {
                slot.future.as_mut().set(None);
                self.free.push(i);
                self.len -= 1;
                done += 1;
            }
        }
        self.next_in_batch = end;
        if end < self.batch.len() {
            // The rest on the next turn, after the runtime's other tasks.
            cx.waker().wake_by_ref();
        }
        if self.len == 0 && self.slots.len() > KEEP_IDLE {
            // A waker of a dropped slot may still fire: its index is then skipped, or polls
            // a later slot of that index for nothing.
            self.slots.truncate(KEEP_IDLE);
            self.free.clear();
            self.free.extend((0..KEEP_IDLE).rev());
        }
        if done > 0 {
            Poll::Ready(Some(done))
        } else if self.len == 0 {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }

    /// Waits until at least one request finishes (`Some(how many)`), or `None` when none is
    /// left.
    pub(crate) async fn next(&mut self) -> Option<usize> {
        std::future::poll_fn(|cx| self.poll_done(cx)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::sync::oneshot;

    #[tokio::test]
    async fn every_future_runs_to_completion_and_slots_are_reused() {
        let mut running = Requests::new();
        assert!(running.is_empty());
        assert_eq!(running.next().await, None);

        let (txs, rxs): (Vec<_>, Vec<_>) = (0..3).map(|_| oneshot::channel::<u32>()).unzip();
        let (out_tx, mut out_rx) = tokio::sync::mpsc::unbounded_channel();
        for rx in rxs {
            let out = out_tx.clone();
            running.push(Box::pin(async move {
                let _ = out.send(rx.await.unwrap_or(0));
            }) as Pin<Box<dyn Future<Output = ()>>>);
        }
        assert_eq!(running.len(), 3);
        // Nothing is done until woken: the first poll leaves all three waiting.
        let nothing = tokio::time::timeout(Duration::from_millis(20), running.next()).await;
        assert!(nothing.is_err(), "finished without being answered");

        let mut txs = txs;
        let _ = txs.remove(1).send(7);
        assert_eq!(running.next().await, Some(1));
        assert_eq!(out_rx.recv().await, Some(7));
        assert_eq!(running.len(), 2);

        // A new request takes the freed slot instead of growing the pool.
        let (tx, rx) = oneshot::channel::<u32>();
        let out = out_tx.clone();
        running.push(Box::pin(async move {
            let _ = out.send(rx.await.unwrap_or(0));
        }));
        assert_eq!(running.slots.len(), 3);
        let _ = tx.send(9);
        for tx in txs {
            let _ = tx.send(1);
        }
        let mut finished = 0;
        while let Some(n) = running.next().await {
            finished += n;
        }
        assert_eq!(finished, 3);
        assert!(running.is_empty());
        let mut got = Vec::new();
        while let Ok(v) = out_rx.try_recv() {
            got.push(v);
        }
        got.sort_unstable();
        assert_eq!(got, vec![1, 1, 9]);
    }

    /// After a burst, an idle connection keeps a few slots, not one per request of the burst;
    /// a waker of a dropped slot firing later does no harm.
    #[tokio::test]
    async fn a_burst_leaves_at_most_the_idle_slots_behind() {
        let mut running = Requests::new();
        let mut senders = Vec::new();
        let mut wakers = Vec::new();
        for _ in 0..(KEEP_IDLE + 50) {
            let (tx, rx) = oneshot::channel::<()>();
            senders.push(tx);
            running.push(Box::pin(async move {
                let _ = rx.await;
            }) as Pin<Box<dyn Future<Output = ()> + Send>>);
        }
        assert!(
            tokio::time::timeout(Duration::from_millis(20), running.next())
                .await
                .is_err()
        );
        wakers.extend(running.slots.iter().map(|s| s.waker.clone()));
        assert_eq!(running.slots.len(), KEEP_IDLE + 50);
        drop(senders);
        let mut finished = 0;
        while let Some(n) = running.next().await {
            finished += n;
        }
        assert_eq!(finished, KEEP_IDLE + 50);
        assert_eq!(running.slots.len(), KEEP_IDLE);
        // Stale wakers, then new work in the kept slots: it all still runs.
        for w in &wakers {
            w.wake_by_ref();
        }
        let (tx, rx) = oneshot::channel::<()>();
        running.push(Box::pin(async move {
            let _ = rx.await;
        }));
        let _ = tx.send(());
        let done = tokio::time::timeout(Duration::from_secs(5), running.next()).await;
        assert_eq!(done.ok().flatten(), Some(1));
        assert_eq!(running.slots.len(), KEEP_IDLE);
    }

    /// Many requests woken at once are polled [`BUDGET`] per turn, and all of them finish.
    #[tokio::test]
    async fn a_turn_polls_at_most_the_budget() {
        let mut running = Requests::new();
        for _ in 0..(3 * BUDGET + 5) {
            running.push(std::future::ready(()));
        }
        let mut turns = Vec::new();
        while let Some(n) = running.next().await {
            turns.push(n);
        }
        assert!(turns.iter().all(|&n| n <= BUDGET), "{turns:?}");
        assert_eq!(turns.iter().sum::<usize>(), 3 * BUDGET + 5);
        assert_eq!(turns.len(), 4, "{turns:?}");
    }

    /// A future that wakes itself while being polled is polled again, not forgotten.
    #[tokio::test]
    async fn a_future_woken_during_its_own_poll_runs_again() {
        let mut running = Requests::new();
        running.push(async {
            for _ in 0..5 {
                tokio::task::yield_now().await;
            }
        });
        let done = tokio::time::timeout(Duration::from_secs(5), running.next()).await;
        assert_eq!(done.ok().flatten(), Some(1));
    }
}
