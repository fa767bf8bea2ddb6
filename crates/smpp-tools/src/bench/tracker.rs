//! Receipt matching, kept apart from the sockets so it can be tested directly.
//!
//! An acked message's id goes in; a receipt's id (from the receipted_message_id TLV, else the
//! `id:` of its text, compared byte for byte — never as a number) is looked up. Receipts can
//! arrive before the ack that gives their id (carriers do that), so an unknown id waits in a
//! bounded "early" table and is matched when the ack comes. Both tables are bounded.

use std::collections::{BTreeMap, HashMap};
use tokio::time::Instant;

use bytes::Bytes;
use hdrhistogram::Histogram;
use smpp_pdu::MessageState;

use super::report::{Percentiles, ReceiptReport};

/// Receipts that came before their ack, kept at most this many.
const EARLY_LIMIT: usize = 100_000;

struct Sent {
    at: Instant,
    matched: bool,
}

/// The matching state of one run.
pub(crate) struct Tracker {
    limit: usize,
    sent: HashMap<Bytes, Sent>,
    early: HashMap<Bytes, (Instant, Option<MessageState>)>,
    report: ReceiptReport,
    latency: Histogram<u64>,
}

pub(crate) fn histogram() -> Histogram<u64> {
    // 1 µs to 1 hour, 3 significant digits; bounds are constants, so this cannot fail.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant, valid bounds")
}

fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

fn state_name(state: Option<MessageState>) -> String {
    match state {
        Some(s) => s
            .stat_text()
            .map_or_else(|| format!("STATE_{}", s.0), str::to_owned),
        None => "UNKNOWN".to_owned(),
    }
}

impl Tracker {
    /// Tracks at most `limit` acked messages.
    pub(crate) fn new(limit: usize) -> Self {
        Tracker {
            limit,
            sent: HashMap::new(),
            early: HashMap::new(),
            report: ReceiptReport::default(),
            latency: histogram(),
        }
    }

    /// An ack with `id` for a message submitted at `at`.
    pub(crate) fn acked(&mut self, id: Bytes, at: Instant) {
        if let Some((when, state)) = self.early.remove(&id) {
            self.report.expected += 1;
            self.report.early += 1;
            self.sent.insert(id, Sent { at, matched: true });
            self.matched(when.saturating_duration_since(at), state);
            return;
        }
        if self.sent.len() >= self.limit {
            self.report.untracked += 1;
            return;
        }
        self.report.expected += 1;
        if self.sent.insert(id, Sent { at, matched: false }).is_some() {
            // The SMSC gave the same id twice; the second takes the place of the first.
            self.report.expected -= 1;
        }
    }

    /// A receipt for `id` (`None`: it named no id) in `state`, received at `now`.
    pub(crate) fn receipt(&mut self, id: Option<&[u8]>, state: Option<MessageState>, now: Instant) {
        let Some(id) = id else {
            self.report.unparsable += 1;
            return;
        };
        match self.sent.get_mut(id) {
            Some(s) if s.matched => self.report.duplicate += 1,
            Some(s) => {
                s.matched = true;
                let took = now.saturating_duration_since(s.at);
                self.matched(took, state);
            }
            None => {
                if self.early.len() >= EARLY_LIMIT {
                    self.report.unmatched += 1;
                } else if self
                    .early
                    .insert(Bytes::copy_from_slice(id), (now, state))
                    .is_some()
                {
                    self.report.duplicate += 1;
                }
            }
        }
    }

    fn matched(&mut self, took: std::time::Duration, state: Option<MessageState>) {
        self.report.matched += 1;
        *self.report.by_state.entry(state_name(state)).or_default() += 1;
        let _ = self.latency.record(micros(took));
    }

    /// Acked messages still waiting for their receipt.
    pub(crate) fn missing(&self) -> u64 {
        self.report.expected - self.report.matched
    }

    /// Matched receipts so far.
    pub(crate) fn matched_count(&self) -> u64 {
        self.report.matched
    }

    /// The final numbers.
    pub(crate) fn report(&self) -> ReceiptReport {
        let mut r = self.report.clone();
        r.missing = self.missing();
        r.unmatched += self.early.len() as u64;
        r.latency_ms = Percentiles::from_micros(&self.latency);
        r.by_state = r.by_state.into_iter().collect::<BTreeMap<_, _>>();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_late_early_duplicate_and_unknown_receipts() {
        let t0 = Instant::now();
        let mut t = Tracker::new(10);
        t.acked(Bytes::from_static(b"0001"), t0);
        t.acked(Bytes::from_static(b"0002"), t0);
        // Leading zeros matter: "1" is not "0001".
        t.receipt(Some(b"1"), Some(MessageState::DELIVERED), t0);
        t.receipt(Some(b"0001"), Some(MessageState::DELIVERED), t0);
        t.receipt(Some(b"0001"), Some(MessageState::DELIVERED), t0);
        // Early: the receipt comes first.
        t.receipt(Some(b"0003"), Some(MessageState::UNDELIVERABLE), t0);
        t.acked(Bytes::from_static(b"0003"), t0);
        t.receipt(None, None, t0);
        let r = t.report();
        assert_eq!(r.expected, 3);
        assert_eq!(r.matched, 2);
        assert_eq!(r.early, 1);
        assert_eq!(r.duplicate, 1);
        assert_eq!(r.unmatched, 1);
        assert_eq!(r.unparsable, 1);
        assert_eq!(r.missing, 1);
        assert_eq!(r.by_state.get("DELIVRD"), Some(&1));
        assert_eq!(r.by_state.get("UNDELIV"), Some(&1));
    }

    #[test]
    fn tracking_is_bounded() {
        let t0 = Instant::now();
        let mut t = Tracker::new(2);
        for i in 0..5u8 {
            t.acked(Bytes::from(vec![i]), t0);
        }
        let r = t.report();
        assert_eq!((r.expected, r.untracked), (2, 3));
    }
}
