//! The router's durable state behind one trait.
//!
//! Two things must survive a crash or restart, because the router has promised something to a
//! customer when it writes them:
//! - **correlation records** — the carrier's message id → our message id, account, part, times,
//!   addresses. Written when the carrier acks a submit and durable *before* the customer gets
//!   its submit_sm_resp, so a receipt that arrives days later still finds its way back.
//! - **pending queues** — receipts and MO per account, waiting for the customer to bind,
//!   delivered in order, removed only when acked (at-least-once), bounded, and expiring.
//!
//! [`Store`] is the trait the router programs against: async, batched, object-safe, and free of
//! any assumption that the node reading a record is the node that wrote it, so Redis and NATS
//! JetStream implementations can sit behind it later. [`EmbeddedStore`] is the single-node
//! implementation: a data directory with a fjall keyspace and a group-commit thread (one fsync
//! per batch of concurrent writes), chosen by measurement (`benches/engines.rs`, README).

mod embedded;
mod error;
mod recent;
mod record;
mod store;
mod wal;

pub use embedded::{
    CommitHook, CommitStats, EmbeddedStore, EngineStats, Options, BUSY_GROUP, LOCK_FILE,
    MARKER_FILE,
};
pub use error::{Result, StoreError};
pub use record::{Correlation, CorrelationKey, PendingEntry, QueuePolicy};
pub use store::{Store, StoreFuture};
