//! Carrier-like message ids and receipt dates.
//!
//! Ids are unique within a run (a counter) and differ between runs (a random run tag in the
//! high digits), in the two forms carriers use: 16 upper-case hex digits, or 20 decimal digits
//! with leading zeros — the form that exposes routers which store ids as numbers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::config::IdFormat;

/// Hands out message ids.
#[derive(Debug)]
pub(crate) struct IdGen {
    format: IdFormat,
    run: u64,
    next: AtomicU64,
}

impl IdGen {
    pub(crate) fn new(format: IdFormat) -> Self {
        IdGen {
            format,
            run: fastrand::u64(..),
            next: AtomicU64::new(1),
        }
    }

    /// The next id.
    pub(crate) fn next(&self) -> Vec<u8> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // Written digit by digit: `format!` was a visible share of the simulator's CPU.
        let mut id = Vec::with_capacity(20);
        match self.format {
            // 24 bits of run tag, 40 bits of counter.
            IdFormat::Hex => {
                let v = ((self.run & 0xFF_FFFF) << 40) | (n & ((1 << 40) - 1));
                id.extend(
                    (0..16)
                        .rev()
                        .map(|i| b"0123456789ABCDEF"[(v >> (4 * i)) as usize & 15]),
                );
            }
            // 6 digits of run tag (leading zeros kept), 14 of counter.
            IdFormat::Decimal => {
                push_decimal(&mut id, self.run % 1_000_000, 6);
                push_decimal(&mut id, n % 10u64.pow(14), 14);
            }
        }
        id
    }
}

/// Appends `v` in `width` decimal digits, with leading zeros (`v` must fit).
fn push_decimal(out: &mut Vec<u8>, v: u64, width: u32) {
    debug_assert!(v < 10u64.pow(width), "{v} has more than {width} digits");
    out.extend(
        (0..width)
            .rev()
            .map(|i| b'0' + (v / 10u64.pow(i) % 10) as u8),
    );
}

/// `YYMMDDhhmm` (UTC) for a receipt's dates.
pub(crate) fn receipt_date(t: SystemTime) -> [u8; 10] {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let parts = [
        y.rem_euclid(100) as u64,
        m.into(),
        d.into(),
        rem / 3600,
        rem % 3600 / 60,
    ];
    let mut out = [0u8; 10];
    for (pair, p) in out.chunks_exact_mut(2).zip(parts) {
        pair[0] = b'0' + (p / 10 % 10) as u8;
        pair[1] = b'0' + (p % 10) as u8;
    }
    out
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ids_are_unique_and_shaped() {
        let hex = IdGen::new(IdFormat::Hex);
        let (a, b) = (hex.next(), hex.next());
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert!(a
            .iter()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
        let dec = IdGen::new(IdFormat::Decimal);
        let d = dec.next();
        assert_eq!(d.len(), 20);
        assert!(d.iter().all(u8::is_ascii_digit));
    }

    #[test]
    fn receipt_dates() {
        // 2026-11-23 02:06 UTC.
        let t = UNIX_EPOCH + Duration::from_secs(1_795_399_560);
        assert_eq!(&receipt_date(t), b"2611230206");
        assert_eq!(&receipt_date(UNIX_EPOCH), b"7001010000");
        // 2024-02-29 23:59.
        let leap = UNIX_EPOCH + Duration::from_secs(1_709_251_140);
        assert_eq!(&receipt_date(leap), b"2402292359");
    }
}
