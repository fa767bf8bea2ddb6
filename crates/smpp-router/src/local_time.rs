//! A recipient's local time, from the number alone, for quiet hours: marketing waits until it
//! is daytime where the person is.
//!
//! Numbers map to time zones by their longest known prefix (country code, and the area code
//! where a country spans zones), from libphonenumber's table (`data/phone_timezones.txt`). A
//! prefix may name several zones: when the account's fallback zone is among them it decides,
//! otherwise the message may go only when it is inside the window in every one of them — the
//! rule errs on the side of not waking anyone. A number with no known prefix uses the fallback.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

const TABLE: &str = include_str!("../data/phone_timezones.txt");

/// The allowed window in local time, `start` inclusive, `end` exclusive (08:00–21:00 by
/// default). A window whose end is before its start runs over midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// When sending may start.
    pub start: Time,
    /// When it must stop.
    pub end: Time,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            start: Time::constant(8, 0, 0, 0),
            end: Time::constant(21, 0, 0, 0),
        }
    }
}

impl Window {
    /// Whether `minute` of the day (0–1439) is inside; windows are whole minutes.
    fn contains_minute(&self, minute: i64) -> bool {
        let at = |t: Time| i64::from(t.hour()) * 60 + i64::from(t.minute());
        let (start, end) = (at(self.start), at(self.end));
        if start <= end {
            start <= minute && minute < end
        } else {
            minute >= start || minute < end
        }
    }

    fn contains(&self, t: Time) -> bool {
        if self.start <= self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

/// Number prefixes to zones.
///
/// A message is checked against every zone of its prefix — dozens for a North American number
/// whose area code the table does not know — on every marketing submit, so the common answer
/// ("inside the window") takes no time-zone arithmetic: each zone's UTC offset is kept for the
/// current minute (offsets change only at daylight-saving transitions, and windows are whole
/// minutes), and a local time is the UTC minute plus that offset.
#[derive(Debug)]
pub struct ZoneMap {
    /// Every zone the table names, once.
    zones: Vec<TimeZone>,
    /// Zone ids by IANA name.
    by_name: HashMap<String, u16>,
    /// Prefix → the ids of its zones.
    prefixes: HashMap<u64, Vec<u16>>,
    longest: usize,
    /// Per zone: `minute << 20 | (offset seconds + OFFSET_BIAS)`, the offset valid in that
    /// minute (0: not known yet).
    offsets: Vec<AtomicU64>,
}

/// Offsets are within ±26 hours: biased into 20 bits.
const OFFSET_BIAS: i64 = 1 << 18;

impl ZoneMap {
    /// The table compiled into the router. Zones the bundled tz database lacks are skipped.
    pub fn new() -> Self {
        let mut zones: Vec<TimeZone> = Vec::new();
        let mut by_name: HashMap<String, u16> = HashMap::new();
        let mut prefixes = HashMap::new();
        let mut longest = 0;
        for line in TABLE.lines() {
            let Some((prefix, names)) = line.split_once('|') else {
                continue;
            };
            let Ok(p) = prefix.parse::<u64>() else {
                continue;
            };
            let mut ids = Vec::new();
            for name in names.split('&') {
                let id = match by_name.get(name) {
                    Some(&id) => id,
                    None => {
                        let (Ok(z), Ok(id)) = (TimeZone::get(name), u16::try_from(zones.len()))
                        else {
                            continue;
                        };
                        zones.push(z);
                        by_name.insert(name.to_owned(), id);
                        id
                    }
                };
                ids.push(id);
            }
            if !ids.is_empty() {
                longest = longest.max(prefix.len());
                prefixes.insert(p, ids);
            }
        }
        let offsets = zones.iter().map(|_| AtomicU64::new(0)).collect();
        ZoneMap {
            zones,
            by_name,
            prefixes,
            longest,
            offsets,
        }
    }

    /// The zone ids of the longest known prefix of `number` (digits, optional `+`).
    fn ids(&self, number: &[u8]) -> &[u16] {
        let digits = number.strip_prefix(b"+").unwrap_or(number);
        let digits = &digits[..digits.iter().take_while(|b| b.is_ascii_digit()).count()];
        for len in (1..=digits.len().min(self.longest)).rev() {
            let p = digits[..len]
                .iter()
                .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
            if let Some(z) = self.prefixes.get(&p) {
                return z;
            }
        }
        &[]
    }

    /// The zones of the longest known prefix of `number` (digits, optional `+`).
    pub fn zones(&self, number: &[u8]) -> impl Iterator<Item = &TimeZone> {
        self.ids(number)
            .iter()
            .filter_map(|&id| self.zones.get(usize::from(id)))
    }

    /// The local minute of the day in zone `id` at `now`.
    fn local_minute(&self, id: u16, now: Timestamp) -> Option<i64> {
        let slot = self.offsets.get(usize::from(id))?;
        let secs = now.as_second();
        let minute = secs.div_euclid(60);
        let cached = slot.load(Ordering::Relaxed);
        let offset = if cached != 0 && (cached >> 20) as i64 == minute {
            (cached & 0xF_FFFF) as i64 - OFFSET_BIAS
        } else {
            let offset = i64::from(self.zones[usize::from(id)].to_offset(now).seconds());
            if let Ok(m) = u64::try_from(minute) {
                let packed = (m << 20) | ((offset + OFFSET_BIAS) as u64 & 0xF_FFFF);
                slot.store(packed, Ordering::Relaxed);
            }
            offset
        };
        Some((secs + offset).div_euclid(60).rem_euclid(24 * 60))
    }

    /// Whether a message to `number` may go at `now` in `window`: `Ok(())`, or the earliest
    /// instant after `now` when it may.
    ///
    /// # Errors
    /// The instant the window next opens for this number.
    pub fn check(
        &self,
        number: &[u8],
        fallback: &TimeZone,
        window: Window,
        now: Timestamp,
    ) -> Result<(), Timestamp> {
        let ids = self.ids(number);
        let fallback_id = fallback.iana_name().and_then(|n| self.by_name.get(n));
        let by_fallback = ids.is_empty() || fallback_id.is_some_and(|f| ids.contains(f));
        let inside_now = if by_fallback {
            window.contains(now.to_zoned(fallback.clone()).time())
        } else {
            ids.iter().all(|&id| {
                self.local_minute(id, now)
                    .is_some_and(|m| window.contains_minute(m))
            })
        };
        if inside_now {
            return Ok(());
        }
        let decide: Vec<&TimeZone> = if by_fallback {
            vec![fallback]
        } else {
            ids.iter()
                .filter_map(|&id| self.zones.get(usize::from(id)))
                .collect()
        };
        let inside = |t: Timestamp| {
            decide
                .iter()
                .all(|z| window.contains(t.to_zoned((*z).clone()).time()))
        };
        // The first instant inside every zone's window is where one of them opens: try each
        // zone's next opening, earliest first.
        let mut openings: Vec<Timestamp> = decide
            .iter()
            .filter_map(|z| next_opening(now, z, window.start))
            .collect();
        openings.sort_unstable();
        if let Some(&t) = openings.iter().find(|&&t| inside(t)) {
            return Err(t);
        }
        // The windows do not overlap on the next opening (zones far apart): step forward a
        // minute at a time (at most two days); quiet hours are set in whole minutes.
        let mut t = now;
        for _ in 0..(2 * 24 * 60) {
            t = t.checked_add(1.minute()).unwrap_or(t);
            if inside(t) {
                return Err(t);
            }
        }
        Err(t)
    }
}

impl Default for ZoneMap {
    fn default() -> Self {
        ZoneMap::new()
    }
}

/// The next instant after `now` when the local time in `zone` is `start` (a time skipped by a
/// daylight-saving change opens at the first instant after the gap).
fn next_opening(now: Timestamp, zone: &TimeZone, start: Time) -> Option<Timestamp> {
    let today = now.to_zoned(zone.clone()).date();
    [Some(today), today.tomorrow().ok()]
        .into_iter()
        .flatten()
        .filter_map(|d| d.to_datetime(start).to_zoned(zone.clone()).ok())
        .map(|z| z.timestamp())
        .find(|&t| t > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn numbers_find_their_zones_by_longest_prefix() {
        let m = ZoneMap::new();
        let names = |n: &str| -> Vec<String> {
            m.zones(n.as_bytes())
                .filter_map(|z| z.iana_name().map(str::to_owned))
                .collect()
        };
        assert_eq!(names("+12065550100"), ["America/Los_Angeles"]);
        assert_eq!(names("12125550100"), ["America/New_York"]);
        assert_eq!(names("33612345678"), ["Europe/Paris"]);
        assert!(names("447700900123").contains(&"Europe/London".to_string()));
        assert!(names("").is_empty());
    }

    #[test]
    fn the_window_is_checked_in_the_recipients_local_time() {
        let m = ZoneMap::new();
        let w = Window::default();
        let utc = tz("UTC");
        // 23:00 in New York (04:00 UTC in November): held until 08:00 there, 13:00 UTC.
        let night = at("2026-11-23T04:00:00Z");
        assert_eq!(
            m.check(b"12125550100", &utc, w, night),
            Err(at("2026-11-23T13:00:00Z"))
        );
        // The same instant is noon in Tokyo.
        assert_eq!(m.check(b"81312345678", &utc, w, night), Ok(()));
        // Los Angeles at 20:59 is fine, at 21:00 it waits for the morning.
        assert_eq!(
            m.check(b"12065550100", &utc, w, at("2026-11-24T04:59:00Z")),
            Ok(())
        );
        assert_eq!(
            m.check(b"12065550100", &utc, w, at("2026-11-24T05:00:00Z")),
            Err(at("2026-11-24T16:00:00Z"))
        );
        // An unknown prefix uses the account's fallback zone.
        assert_eq!(
            m.check(b"999", &tz("Europe/Berlin"), w, at("2026-11-23T06:30:00Z")),
            Err(at("2026-11-23T07:00:00Z"))
        );
    }

    #[test]
    fn the_cached_offsets_agree_with_full_time_zone_arithmetic_all_year() {
        let m = ZoneMap::new();
        let utc = tz("UTC");
        let windows = [
            Window::default(),
            Window {
                start: Time::constant(22, 30, 0, 0),
                end: Time::constant(6, 15, 0, 0),
            },
        ];
        // Numbers of one zone, of dozens (+1 with an unknown area code), of a country over
        // eleven zones, with a half-hour zone (India) and a 45-minute one (Nepal).
        let numbers: [&[u8]; 5] = [
            b"12125550100",
            b"15550000001",
            b"7",
            b"919812345678",
            b"9771",
        ];
        // Through the year every 997 minutes, and minute by minute across the US and EU
        // daylight-saving changes (where a cached offset could go stale).
        let mut instants: Vec<Timestamp> = (0..(365 * 24 * 60 / 997))
            .map(|i| {
                at("2026-01-01T00:00:00Z")
                    .checked_add((i * 997).minutes())
                    .unwrap()
            })
            .collect();
        for change in ["2026-03-08T07:00:00Z", "2026-03-29T01:00:00Z"] {
            let c = at(change);
            instants.extend((-3i64..3).map(|i| c.checked_add(i.minutes()).unwrap()));
        }
        for t in instants {
            for number in numbers {
                for w in windows {
                    let zones: Vec<&TimeZone> = m.zones(number).collect();
                    let expected = zones
                        .iter()
                        .all(|z| w.contains(t.to_zoned((*z).clone()).time()));
                    assert_eq!(
                        m.check(number, &utc, w, t).is_ok(),
                        expected,
                        "{} at {t}",
                        String::from_utf8_lossy(number)
                    );
                }
            }
        }
    }

    #[test]
    fn a_prefix_with_several_zones_waits_for_all_unless_the_fallback_is_one() {
        let m = ZoneMap::new();
        let w = Window::default();
        // +7 alone spans Kaliningrad to Kamchatka: 13:00 UTC is 16:00 in Moscow, 01:00 in
        // Kamchatka.
        let t = at("2026-11-23T13:00:00Z");
        assert!(m.check(b"7", &tz("UTC"), w, t).is_err());
        assert_eq!(m.check(b"7", &tz("Europe/Moscow"), w, t), Ok(()));
        // A window over midnight.
        let night = Window {
            start: Time::constant(22, 0, 0, 0),
            end: Time::constant(6, 0, 0, 0),
        };
        assert!(night.contains(Time::constant(23, 0, 0, 0)));
        assert!(night.contains(Time::constant(5, 59, 0, 0)));
        assert!(!night.contains(Time::constant(12, 0, 0, 0)));
    }
}
