//! A recipient's local time, from the number alone, for quiet hours: marketing waits until it
//! is daytime where the person is.
//!
//! Numbers map to time zones by their longest known prefix (country code, and the area code
//! where a country spans zones), from libphonenumber's table (`data/phone_timezones.txt`). A
//! prefix may name several zones: when the account's fallback zone is among them it decides,
//! otherwise the message may go only when it is inside the window in every one of them — the
//! rule errs on the side of not waking anyone. A number with no known prefix uses the fallback.

use std::collections::HashMap;

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
    fn contains(&self, t: Time) -> bool {
        if self.start <= self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

/// Number prefixes to zones.
#[derive(Debug)]
pub struct ZoneMap {
    prefixes: HashMap<u64, Vec<TimeZone>>,
    longest: usize,
}

impl ZoneMap {
    /// The table compiled into the router. Zones the bundled tz database lacks are skipped.
    pub fn new() -> Self {
        let mut prefixes = HashMap::new();
        let mut longest = 0;
        for line in TABLE.lines() {
            let Some((prefix, zones)) = line.split_once('|') else {
                continue;
            };
            let Ok(p) = prefix.parse::<u64>() else {
                continue;
            };
            let zones: Vec<TimeZone> = zones
                .split('&')
                .filter_map(|z| TimeZone::get(z).ok())
                .collect();
            if !zones.is_empty() {
                longest = longest.max(prefix.len());
                prefixes.insert(p, zones);
            }
        }
        ZoneMap { prefixes, longest }
    }

    /// The zones of the longest known prefix of `number` (digits, optional `+`).
    pub fn zones(&self, number: &[u8]) -> &[TimeZone] {
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
        let zones = self.zones(number);
        let decide: Vec<&TimeZone> = if zones.is_empty() || zones.iter().any(|z| same(z, fallback))
        {
            vec![fallback]
        } else {
            zones.iter().collect()
        };
        let inside = |t: Timestamp| {
            decide
                .iter()
                .all(|z| window.contains(t.to_zoned((*z).clone()).time()))
        };
        if inside(now) {
            return Ok(());
        }
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

fn same(a: &TimeZone, b: &TimeZone) -> bool {
    a.iana_name().is_some() && a.iana_name() == b.iana_name()
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
                .iter()
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
