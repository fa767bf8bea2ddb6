//! The [`Store`] trait: everything the router keeps durably, as batched async operations.
//!
//! **Object-safe, by boxed futures.** The router picks its store from the config at start
//! (embedded today, Redis + NATS JetStream later), so it holds an `Arc<dyn Store>`; native
//! `async fn` in traits is not object-safe, and a generic parameter would thread the store type
//! through every router type. The price is one boxed future per call — per *batch*, next to a
//! commit measured in milliseconds — so it is not worth a dependency (`async-trait`) or a
//! generic. Futures are `Send` so calls can be awaited from any tokio task.
//!
//! **Batches everywhere.** Each method takes a slice: the embedded store groups concurrent
//! calls into one fsync anyway, and a networked store turns a slice into one pipeline (Redis)
//! or one publish batch (JetStream), where a call per record would cost a round trip each.
//!
//! **No node affinity.** Keys carry everything needed to find a record (connector + carrier id;
//! account + seq), times are wall-clock and passed in by the caller, and queue positions are
//! handed out by the store, not by the node — so a receipt can be looked up, and a queue
//! drained, on a node other than the one that wrote it.
//!
//! **Contract.** A write returns only once it is durable (the router acks the customer after
//! `put_correlations` returns). Writes to the same key are applied in the order the calls
//! complete. Deletes and acks of records that are already gone succeed (at-least-once callers
//! retry). Queues are at-least-once: an entry leaves only by ack or expiry.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::time::SystemTime;

use bytes::Bytes;

use crate::error::Result;
use crate::record::{Correlation, CorrelationKey, PendingEntry, QueuePolicy};

/// The future every [`Store`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// The router's durable state: receipt correlation records and per-account pending queues.
pub trait Store: Send + Sync {
    /// Stores correlation records (a record with an existing key replaces it). Returns once
    /// every record is durable.
    fn put_correlations<'a>(&'a self, records: &'a [Correlation]) -> StoreFuture<'a, ()>;

    /// Looks records up; the answer has one slot per key, in order.
    fn get_correlations<'a>(
        &'a self,
        keys: &'a [CorrelationKey],
    ) -> StoreFuture<'a, Vec<Option<Correlation>>>;

    /// Deletes records (after their final receipt was delivered). Absent keys are not an
    /// error. Returns once the deletes are durable.
    fn delete_correlations<'a>(&'a self, keys: &'a [CorrelationKey]) -> StoreFuture<'a, ()>;

    /// Drops records whose `expires_at` is at or before `now`, at most `limit` index entries
    /// per call (call again while it returns `limit`). Returns how many records it dropped.
    fn expire_correlations(&self, now: SystemTime, limit: usize) -> StoreFuture<'_, usize>;

    /// Appends to `account`'s queue, all or nothing: if the queue would exceed
    /// `policy.max_len`, nothing is appended and the error is
    /// [`StoreError::QueueFull`](crate::StoreError::QueueFull). Returns the seqs given to the
    /// payloads (consecutive, increasing) once they are durable.
    fn append_pending<'a>(
        &'a self,
        account: &'a str,
        payloads: &'a [Bytes],
        now: SystemTime,
        policy: QueuePolicy,
    ) -> StoreFuture<'a, Range<u64>>;

    /// Up to `max` entries from the head of `account`'s queue, oldest first, without removing
    /// them.
    fn peek_pending<'a>(
        &'a self,
        account: &'a str,
        max: usize,
    ) -> StoreFuture<'a, Vec<PendingEntry>>;

    /// Removes entries by seq, in any order (a customer may answer deliver_sm out of order).
    /// Seqs that are not in the queue are ignored. Returns how many were removed, once durable.
    fn ack_pending<'a>(&'a self, account: &'a str, seqs: &'a [u64]) -> StoreFuture<'a, usize>;

    /// How many entries `account`'s queue holds.
    fn pending_len<'a>(&'a self, account: &'a str) -> StoreFuture<'a, u64>;

    /// Drops expired entries (`expires_at` at or before `now`) from the head of every queue,
    /// at most `limit` in all per call. An entry is dropped only once every entry ahead of it
    /// in its queue is gone: order is kept, and with one TTL per account deadlines increase
    /// along the queue anyway. Returns how many it dropped.
    fn expire_pending(&self, now: SystemTime, limit: usize) -> StoreFuture<'_, usize>;
}
