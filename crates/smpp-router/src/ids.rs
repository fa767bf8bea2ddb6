//! Our message ids: the ids customers get in submit_sm_resp and see again in their receipts.
//!
//! An id is 63 bits: milliseconds since 2025-01-01 (41 bits, ~69 years), a per-millisecond
//! sequence (12 bits) and the node id (10 bits, lowest). The time-and-sequence part is one
//! counter that only moves forward: each id takes `max(previous + 1, now)`, so a burst of more
//! than 4096 ids in a millisecond borrows from the next millisecond instead of waiting, and a
//! clock stepping back does not repeat ids while the process runs. Across restarts the daemon
//! keeps a floor in the data directory ([`FLOOR_FILE`]): every second it writes, durably, a
//! counter value above every id given so far and [`FLOOR_AHEAD`] past the clock, and on start
//! the counter resumes above the floor it finds. So a restart repeats no id even when the clock
//! stepped back in between (a VM restored from a snapshot, a wrong time fixed by hand); the
//! ids after such a restart just read as made a little later than they were.
//! The node id keeps nodes of a cluster apart.
//!
//! Rendered per account as 16 upper-case hex digits or as a decimal number (at most 19 digits),
//! both far inside SMPP's 64-character message_id.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 2025-01-01T00:00:00Z in Unix milliseconds.
const EPOCH_MS: u64 = 1_735_689_600_000;
const NODE_BITS: u32 = 10;
const SEQ_BITS: u32 = 12;

/// The largest node id.
pub const MAX_NODE: u16 = (1 << NODE_BITS) - 1;

/// The file in the data directory that holds the id floor.
pub const FLOOR_FILE: &str = "ID-FLOOR";
/// How far past the clock the floor is written; the daemon rewrites it every second, well
/// inside this.
pub const FLOOR_AHEAD: Duration = Duration::from_secs(5);

/// The time-and-sequence counter value of the first id of the millisecond `now`.
fn counter_at(now: SystemTime) -> u64 {
    let ms = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
        .saturating_sub(EPOCH_MS);
    ms << SEQ_BITS
}

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
        let floor = counter_at(now);
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

    /// Makes every later id larger than any `floor` covered (a value [`IdGenerator::reserve`]
    /// gave in an earlier run).
    pub fn resume_above(&self, floor: u64) {
        self.last.fetch_max(floor, Ordering::Relaxed);
    }

    /// A floor to keep durably at `now`: above every id given so far and every id the clock
    /// gives for the next [`FLOOR_AHEAD`].
    pub fn reserve(&self, now: SystemTime) -> u64 {
        self.last
            .load(Ordering::Relaxed)
            .max(counter_at(now + FLOOR_AHEAD))
    }
}

/// Reads the floor at `path`; `None` when there is none yet (a new data directory).
///
/// # Errors
/// When it cannot be read, or does not hold a floor (which would risk repeating ids: the
/// message says what to check).
pub fn load_floor(path: &Path) -> Result<Option<u64>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.trim().parse().map(Some).map_err(|_| {
            format!(
                "{}: not an id floor ({:?}); if the clock is right, deleting it is safe",
                path.display(),
                text.trim()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes `floor` to `path` durably: a new file synced, renamed over the old, and the
/// directory synced, so a crash leaves the old floor or the new one.
///
/// # Errors
/// The I/O error.
pub fn save_floor(path: &Path, floor: u64) -> std::io::Result<()> {
    let tmp = path.with_extension("new");
    let mut f = std::fs::File::create(&tmp)?;
    writeln!(f, "{floor}")?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
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
    fn ids_resume_above_a_floor_kept_from_an_earlier_run() {
        let t = UNIX_EPOCH + Duration::from_millis(EPOCH_MS + 5_000_000);
        let before = IdGenerator::new(3);
        let last = (0..100).map(|_| before.next_at(t)).last().unwrap();
        let floor = before.reserve(t);
        // The floor covers what was given and the next FLOOR_AHEAD of the clock.
        assert!(floor > last.0 >> NODE_BITS);
        let later = t + FLOOR_AHEAD - Duration::from_millis(1);
        assert!(floor >= before.next_at(later).0 >> NODE_BITS);
        // After a restart with the clock an hour behind, ids still go on above every old one.
        let after = IdGenerator::new(3);
        after.resume_above(floor);
        let back = t - Duration::from_secs(3600);
        let first = after.next_at(back);
        assert!(first > last && first.0 >> NODE_BITS > floor);
        // Without the floor the same clock would have repeated the past.
        assert!(IdGenerator::new(3).next_at(back) < last);
    }

    #[test]
    fn the_floor_is_saved_and_read_back_and_a_bad_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FLOOR_FILE);
        assert_eq!(load_floor(&path).unwrap(), None);
        save_floor(&path, 12_345_678_901).unwrap();
        assert_eq!(load_floor(&path).unwrap(), Some(12_345_678_901));
        save_floor(&path, 12_345_678_999).unwrap();
        assert_eq!(load_floor(&path).unwrap(), Some(12_345_678_999));
        std::fs::write(&path, "garbage").unwrap();
        let e = load_floor(&path).unwrap_err();
        assert!(e.contains("not an id floor"), "{e}");
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
