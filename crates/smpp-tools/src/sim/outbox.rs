//! Where receipts and MO messages wait for a receiver, and the pump that sends them.
//!
//! A receipt belongs to the system_id that submitted the message, not to the connection it came
//! on: it goes out on any receiver or transceiver bind of that system_id, and waits — in a
//! bounded queue — while none is bound, as a carrier's SMSC does. Each receiver-capable
//! connection runs a pump that keeps its window full from the queue; what a lost connection
//! did not deliver goes back to the front of the queue for the next bind.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use smpp_pdu::{Body, CommandStatus};
use smpp_tokio::{BoundInfo, Error, Link};
use tokio::sync::{oneshot, watch, Notify};

use super::counts::Counters;

/// Most system_ids with a queue; items for others are dropped and counted.
const MAX_SYSTEM_IDS: usize = 10_000;
/// A deliver_sm is tried at most this many times (lost connections, temporary refusals).
const MAX_ATTEMPTS: u32 = 10;

/// What an outgoing deliver_sm is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Receipt,
    Mo,
}

/// One deliver_sm waiting to be sent.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) kind: Kind,
    pub(crate) body: Body,
    /// Told when the send has ended, whatever its outcome (early receipts wait for it).
    pub(crate) done: Option<oneshot::Sender<()>>,
    /// Sends tried so far.
    pub(crate) attempts: u32,
}

/// The queue of one system_id.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    queue: Mutex<VecDeque<Outgoing>>,
    notify: Notify,
    /// Receiver-capable connections bound now.
    receivers: std::sync::atomic::AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Outbox {
    /// True when some receiver or transceiver of this system_id is bound.
    pub(crate) fn has_receiver(&self) -> bool {
        self.receivers.load(Ordering::SeqCst) > 0
    }

    fn push(&self, item: Outgoing, front: bool, limit: usize, counts: &Counters) {
        let mut q = lock(&self.queue);
        if q.len() >= limit.max(1) {
            if front {
                // Full: what came back loses to what is already queued.
                counts.dropped(item.kind);
                return;
            }
            if let Some(d) = q.pop_front() {
                counts.dropped(d.kind);
            }
        }
        if front {
            q.push_front(item);
        } else {
            q.push_back(item);
        }
        drop(q);
        self.notify.notify_one();
    }

    async fn pop(&self) -> Outgoing {
        loop {
            if let Some(item) = lock(&self.queue).pop_front() {
                return item;
            }
            // The timeout is a backstop only: a push always notifies.
            let _ = tokio::time::timeout(
                std::time::Duration::from_millis(200),
                self.notify.notified(),
            )
            .await;
        }
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.queue).len()
    }
}

/// All queues, by system_id.
#[derive(Debug)]
pub(crate) struct Outboxes {
    map: Mutex<HashMap<Bytes, Arc<Outbox>>>,
    limit: usize,
    counts: Arc<Counters>,
}

impl Outboxes {
    pub(crate) fn new(limit: usize, counts: Arc<Counters>) -> Self {
        Outboxes {
            map: Mutex::new(HashMap::new()),
            limit,
            counts,
        }
    }

    /// The queue of `system_id`, made on first use (`None` past [`MAX_SYSTEM_IDS`]).
    pub(crate) fn get(&self, system_id: &Bytes) -> Option<Arc<Outbox>> {
        let mut map = lock(&self.map);
        if let Some(o) = map.get(system_id) {
            return Some(o.clone());
        }
        if map.len() >= MAX_SYSTEM_IDS {
            return None;
        }
        let o = Arc::new(Outbox::default());
        map.insert(system_id.clone(), o.clone());
        Some(o)
    }

    /// Queues a deliver_sm for `system_id`.
    pub(crate) fn push(&self, system_id: &Bytes, item: Outgoing) {
        match self.get(system_id) {
            Some(o) => o.push(item, false, self.limit, &self.counts),
            None => self.counts.dropped(item.kind),
        }
    }

    /// Everything waiting, over all system_ids.
    pub(crate) fn queued(&self) -> usize {
        lock(&self.map).values().map(|o| o.len()).sum()
    }

    /// Sends from `outbox` over `link` until the connection closes, at most `window` at once.
    pub(crate) async fn pump(
        self: Arc<Self>,
        outbox: Arc<Outbox>,
        link: Link,
        window: usize,
        mut bound: watch::Receiver<Option<BoundInfo>>,
        mut drain: watch::Receiver<bool>,
    ) {
        outbox.receivers.fetch_add(1, Ordering::SeqCst);
        // Wake a pump for what waited while nobody was bound.
        outbox.notify.notify_one();
        // The sends in flight, polled here rather than spawned: a task per receipt was the
        // largest cost of the simulator's receipt path.
        let send = |item: Outgoing| {
            let link = &link;
            async move {
                let r = link.send(item.body.clone()).await;
                (r, item)
            }
        };
        let mut inflight = FuturesUnordered::new();
        // Stop when the connection closes, or when asked to drain before it is closed (so
        // that no deliver_sm is outstanding when the unbind goes out).
        let closed = async move {
            tokio::select! {
                _ = bound.wait_for(Option::is_none) => {}
                _ = drain.wait_for(|d| *d) => {}
            }
        };
        tokio::pin!(closed);
        loop {
            tokio::select! {
                biased;
                () = &mut closed => break,
                Some((result, item)) = inflight.next(), if !inflight.is_empty() => {
                    self.settle(&outbox, result, item);
                }
                item = outbox.pop(), if inflight.len() < window.max(1) => {
                    inflight.push(send(item));
                }
            }
        }
        outbox.receivers.fetch_sub(1, Ordering::SeqCst);
        // What was in flight ends now: answered, or failed with the connection and put back.
        while let Some((result, item)) = inflight.next().await {
            self.settle(&outbox, result, item);
        }
        // Another pump of this system_id may take what came back.
        outbox.notify.notify_one();
    }

    fn settle(&self, outbox: &Outbox, result: Result<smpp_pdu::Pdu, Error>, mut item: Outgoing) {
        let c = &self.counts;
        let resend = match &result {
            Ok(resp) if resp.command_status == CommandStatus::OK => {
                c.delivered(item.kind);
                false
            }
            // A temporary refusal, or a connection that was unbinding: try again later.
            Ok(resp) => {
                resp.command_status.is_transient()
                    || resp.command_status == CommandStatus::INVBNDSTS
            }
            // Never reached the peer, or may not have: keep it for the next bind (a timed-out
            // one may arrive twice, as carriers' receipts do).
            // (A session that refused the send — it was unbinding — counts the same.)
            Err(_) => true,
        };
        let done = item.done.take();
        if resend && item.attempts < MAX_ATTEMPTS {
            item.attempts += 1;
            c.resends.fetch_add(1, Ordering::Relaxed);
            outbox.push(item, true, self.limit, c);
        } else if result
            .as_ref()
            .map_or(true, |r| r.command_status != CommandStatus::OK)
        {
            c.refused(item.kind);
        }
        if let Some(d) = done {
            let _ = d.send(());
        }
    }
}
