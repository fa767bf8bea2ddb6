//! What the simulator has done, counted with atomics from every connection task, and the
//! snapshot it prints on exit (a table, or one JSON object).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::outbox::Kind;

/// Live counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) connections: AtomicU64,
    pub(crate) binds: AtomicU64,
    pub(crate) binds_refused: AtomicU64,
    pub(crate) submits: AtomicU64,
    pub(crate) accepted: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) unanswered: AtomicU64,
    pub(crate) dropped_connections: AtomicU64,
    pub(crate) receipts_scheduled: AtomicU64,
    pub(crate) receipts_early: AtomicU64,
    pub(crate) receipts_stray: AtomicU64,
    pub(crate) receipts_delivered: AtomicU64,
    pub(crate) receipts_refused: AtomicU64,
    pub(crate) receipts_dropped: AtomicU64,
    pub(crate) mo_delivered: AtomicU64,
    pub(crate) mo_refused: AtomicU64,
    pub(crate) mo_dropped: AtomicU64,
    pub(crate) resends: AtomicU64,
}

fn add(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn delivered(&self, kind: Kind) {
        add(match kind {
            Kind::Receipt => &self.receipts_delivered,
            Kind::Mo => &self.mo_delivered,
        });
    }

    pub(crate) fn refused(&self, kind: Kind) {
        add(match kind {
            Kind::Receipt => &self.receipts_refused,
            Kind::Mo => &self.mo_refused,
        });
    }

    pub(crate) fn dropped(&self, kind: Kind) {
        add(match kind {
            Kind::Receipt => &self.receipts_dropped,
            Kind::Mo => &self.mo_dropped,
        });
    }

    pub(crate) fn snapshot(&self, receipts_waiting: usize) -> SimCounts {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SimCounts {
            connections: g(&self.connections),
            binds: g(&self.binds),
            binds_refused: g(&self.binds_refused),
            submits: g(&self.submits),
            accepted: g(&self.accepted),
            rejected: g(&self.rejected),
            throttled: g(&self.throttled),
            unanswered: g(&self.unanswered),
            dropped_connections: g(&self.dropped_connections),
            receipts_scheduled: g(&self.receipts_scheduled),
            receipts_early: g(&self.receipts_early),
            receipts_stray: g(&self.receipts_stray),
            receipts_delivered: g(&self.receipts_delivered),
            receipts_refused: g(&self.receipts_refused),
            receipts_dropped: g(&self.receipts_dropped),
            receipts_waiting: receipts_waiting as u64,
            mo_delivered: g(&self.mo_delivered),
            mo_refused: g(&self.mo_refused),
            mo_dropped: g(&self.mo_dropped),
            resends: g(&self.resends),
        }
    }
}

/// A snapshot of the simulator's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SimCounts {
    /// TCP connections accepted.
    pub connections: u64,
    /// Binds accepted.
    pub binds: u64,
    /// Binds refused (bad credentials).
    pub binds_refused: u64,
    /// submit_sm, data_sm and submit_multi received.
    pub submits: u64,
    /// Answered ESME_ROK.
    pub accepted: u64,
    /// Refused with the reject status (`--reject-share`).
    pub rejected: u64,
    /// Answered ESME_RTHROTTLED (`--throttle-tps`).
    pub throttled: u64,
    /// Never answered (`--silent`).
    pub unanswered: u64,
    /// Connections closed by `--drop-after`.
    pub dropped_connections: u64,
    /// Receipts made for accepted messages.
    pub receipts_scheduled: u64,
    /// Of those, sent before the submit_sm_resp.
    pub receipts_early: u64,
    /// Stray receipts made, for ids never given out (`--stray-dlr-share`).
    pub receipts_stray: u64,
    /// Receipts the ESME answered with ESME_ROK.
    pub receipts_delivered: u64,
    /// Receipts the ESME answered with an error (not resent).
    pub receipts_refused: u64,
    /// Receipts dropped because a bounded queue was full.
    pub receipts_dropped: u64,
    /// Receipts and MO still waiting (for their delay or for a receiver) at the snapshot.
    pub receipts_waiting: u64,
    /// MO messages the ESME answered with ESME_ROK.
    pub mo_delivered: u64,
    /// MO messages the ESME refused.
    pub mo_refused: u64,
    /// MO messages dropped because a queue was full.
    pub mo_dropped: u64,
    /// deliver_sm put back in the queue after a lost connection or a timeout.
    pub resends: u64,
}

impl fmt::Display for SimCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: [(&str, u64); 20] = [
            ("connections", self.connections),
            ("binds", self.binds),
            ("binds refused", self.binds_refused),
            ("submits", self.submits),
            ("accepted", self.accepted),
            ("rejected", self.rejected),
            ("throttled", self.throttled),
            ("unanswered (silent)", self.unanswered),
            ("dropped connections", self.dropped_connections),
            ("receipts scheduled", self.receipts_scheduled),
            ("receipts early", self.receipts_early),
            ("receipts stray", self.receipts_stray),
            ("receipts delivered", self.receipts_delivered),
            ("receipts refused", self.receipts_refused),
            ("receipts dropped", self.receipts_dropped),
            ("receipts/MO waiting", self.receipts_waiting),
            ("MO delivered", self.mo_delivered),
            ("MO refused", self.mo_refused),
            ("MO dropped", self.mo_dropped),
            ("resends", self.resends),
        ];
        for (name, v) in rows {
            writeln!(f, "{name:<22}{v:>12}")?;
        }
        Ok(())
    }
}
