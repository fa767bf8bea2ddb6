//! Our message ids: the ids customers get in submit_sm_resp and see again in their receipts.
//!
//! An id is 63 bits: milliseconds since 2025-01-01 (41 bits, ~69 years), a per-millisecond
//! sequence (12 bits) and the node id (10 bits, lowest). The time-and-sequence part is one
//! counter that only moves forward: each id takes `max(previous + 1, now)`, so a burst of more
//! than 4096 ids in a millisecond borrows from the next millisecond instead of waiting, and a
//! clock stepping back does not repeat ids while the process runs. Across restarts uniqueness
//! rests on the clock: a node that restarts within the few milliseconds it had borrowed ahead
//! could repeat one, which at the router's rates (4M ids/s before any borrowing) does not happen.
//! The node id keeps nodes of a cluster apart.
//!
//! Rendered per account as 16 upper-case hex digits or as a decimal number (at most 19 digits),
//! both far inside SMPP's 64-character message_id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 2025-01-01T00:00:00Z in Unix milliseconds.
const EPOCH_MS: u64 = 1_735_689_600_000;
const NODE_BITS: u32 = 10;
const SEQ_BITS: u32 = 12;

/// The largest node id.
pub const MAX_NODE: u16 = (1 << NODE_BITS) - 1;

/// How an account wants its ids written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdFormat {
    /// 16 upper-case hex digits, zero-padded.
    #[default]
    Hex,
    /// A decimal number without padding.
    Decimal,
}

/// One of our message ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub u64);

/// Room for any rendered id.
pub type IdBuf = [u8; 20];

impl MessageId {
    /// The node that made it.
    pub fn node(self) -> u16 {
        (self.0 & u64::from(MAX_NODE)) as u16
    }

    /// When it was made (to the millisecond, or slightly later under a burst).
    pub fn time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis((self.0 >> (NODE_BITS + SEQ_BITS)) + EPOCH_MS)
    }

    /// Writes the id into `buf` and returns the written part; allocates nothing.
    pub fn render(self, format: IdFormat, buf: &mut IdBuf) -> &[u8] {
        match format {
            IdFormat::Hex => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                for (i, b) in buf[..16].iter_mut().enumerate() {
                    *b = HEX[((self.0 >> (60 - 4 * i)) & 0xF) as usize];
                }
                &buf[..16]
            }
            IdFormat::Decimal => {
                let mut v = self.0;
                let mut at = buf.len();
                loop {
                    at -= 1;
                    buf[at] = b'0' + (v % 10) as u8;
                    v /= 10;
                    if v == 0 {
                        break;
                    }
                }
                &buf[at..]
            }
        }
    }

    /// Reads an id written by [`MessageId::render`] in `format`.
    pub fn parse(format: IdFormat, text: &[u8]) -> Option<MessageId> {
        let text = std::str::from_utf8(text).ok()?;
        match format {
            IdFormat::Hex if text.len() == 16 => u64::from_str_radix(text, 16).ok(),
            IdFormat::Decimal if !text.is_empty() && text.len() <= 19 => text.parse().ok(),
            _ => None,
        }
        .filter(|v| v >> 63 == 0)
        .map(MessageId)
    }
}

/// Hands out ids for one node; shared by every session of the process.
#[derive(Debug)]
pub struct IdGenerator {
    node: u64,
    /// The time-and-sequence counter of the last id given.
    last: AtomicU64,
}

impl IdGenerator {
    /// A generator for `node` (at most [`MAX_NODE`]; larger values are masked).
    pub fn new(node: u16) -> Self {
        IdGenerator {
            node: u64::from(node & MAX_NODE),
            last: AtomicU64::new(0),
        }
    }

    /// The next id, made at `now`.
    pub fn next_at(&self, now: SystemTime) -> MessageId {
        let ms = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
            .saturating_sub(EPOCH_MS);
        let floor = ms << SEQ_BITS;
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let next = floor.max(last + 1);
            match self
                .last
                .compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return MessageId((next << NODE_BITS) | self.node),
                Err(seen) => last = seen,
            }
        }
    }

    /// The next id, made now.
    pub fn next(&self) -> MessageId {
        self.next_at(SystemTime::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_ordered_and_carry_node_and_time() {
        let g = IdGenerator::new(5);
        let t = UNIX_EPOCH + Duration::from_millis(EPOCH_MS + 1_000_000);
        // A burst far over 4096 in one millisecond borrows ahead, never repeats.
        let ids: Vec<_> = (0..10_000).map(|_| g.next_at(t)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids.iter().all(|i| i.node() == 5));
        assert_eq!(ids[0].time(), t);
        // The clock stepping back does not repeat either.
        let back = g.next_at(t - Duration::from_secs(10));
        assert!(back > ids[9_999]);
        // Another node's ids at the same instant differ.
        let other = IdGenerator::new(6).next_at(t);
        assert_ne!(other, ids[0]);
        assert_eq!(other.node(), 6);
    }

    #[test]
    fn unique_across_threads() {
        let g = std::sync::Arc::new(IdGenerator::new(1));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let g = g.clone();
                std::thread::spawn(move || (0..20_000).map(|_| g.next()).collect::<Vec<_>>())
            })
            .collect();
        let mut all = HashSet::new();
        for h in handles {
            for id in h.join().unwrap_or_default() {
                assert!(all.insert(id));
            }
        }
        assert_eq!(all.len(), 80_000);
    }

    #[test]
    fn rendering_round_trips_in_both_formats() {
        let mut buf = IdBuf::default();
        for v in [0u64, 1, 0xABCDEF, (1 << 63) - 1] {
            let id = MessageId(v);
            let hex = id.render(IdFormat::Hex, &mut buf).to_vec();
            assert_eq!(hex.len(), 16);
            assert_eq!(MessageId::parse(IdFormat::Hex, &hex), Some(id));
            let dec = id.render(IdFormat::Decimal, &mut buf).to_vec();
            assert_eq!(dec, v.to_string().into_bytes());
            assert_eq!(MessageId::parse(IdFormat::Decimal, &dec), Some(id));
        }
        assert_eq!(
            MessageId(0x1F).render(IdFormat::Hex, &mut buf),
            b"000000000000001F"
        );
        assert_eq!(MessageId::parse(IdFormat::Hex, b"1F"), None);
        assert_eq!(MessageId::parse(IdFormat::Decimal, b"12a"), None);
    }
}
