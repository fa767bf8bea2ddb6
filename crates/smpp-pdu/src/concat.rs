//! Long messages: splitting a text into parts (with a User Data Header or with SAR TLVs),
//! reading a UDH, and reassembling parts that arrive in any order.
//!
//! With data_coding 0 SMPP carries GSM text unpacked, and a part is the UDH octets followed by
//! one septet per octet; the SMSC packs it. The 6-octet header (7 with a 16-bit reference)
//! takes 7 (8) septets with its fill bits, which is why a part holds 153 (152) septets.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use bytes::BufMut;

use crate::text::{self, gsm7, limits, Alphabet, DataCoding, RefSize};
use crate::Error;

/// How parts of one message are tied together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// A UDH with IE 0x00 (8-bit reference).
    Udh8(u8),
    /// A UDH with IE 0x08 (16-bit reference).
    Udh16(u16),
    /// The `sar_msg_ref_num` / `sar_total_segments` / `sar_segment_seqnum` TLVs.
    Sar(u16),
}

impl Method {
    fn ref_size(self) -> RefSize {
        match self {
            Method::Udh16(_) => RefSize::Bits16,
            Method::Udh8(_) | Method::Sar(_) => RefSize::Bits8,
        }
    }
}

/// The SAR values of one part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sar {
    /// `sar_msg_ref_num`.
    pub reference: u16,
    /// `sar_total_segments`.
    pub total: u8,
    /// `sar_segment_seqnum` (1-based).
    pub seqnum: u8,
}

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The exact `short_message` (UDH first, when `udhi`).
    pub short_message: Vec<u8>,
    /// Set the UDHI bit (0x40) in `esm_class`.
    pub udhi: bool,
    /// The SAR TLVs to add, for [`Method::Sar`].
    pub sar: Option<Sar>,
}

/// A text split for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The `data_coding` every part is sent with.
    pub data_coding: DataCoding,
    /// The parts in order (one when the text fits a single message).
    pub parts: Vec<Part>,
}

/// Splits `text` into parts, choosing GSM 7-bit or UCS-2 unless `alphabet` is given.
///
/// # Errors
/// [`Error::UnencodableChar`] when `alphabet` cannot carry the text; [`Error::TooManyParts`]
/// beyond 255 parts.
pub fn split(text: &str, alphabet: Option<Alphabet>, method: Method) -> Result<Split, Error> {
    let alphabet = alphabet.unwrap_or_else(|| text::choose(text).alphabet);
    let (single, per_part) = limits(alphabet, method.ref_size());
    // Encode each character once, remembering where characters end so no cut splits one.
    let mut encoded = Vec::with_capacity(text.len() * 2);
    let mut ends = Vec::with_capacity(text.len());
    let mut units = 0;
    for (c, cost) in text.chars().zip(text::unit_costs(text, alphabet)) {
        let cost = cost?;
        let mut buf = [0u8; 4];
        text::encode(c.encode_utf8(&mut buf), alphabet, &mut encoded)?;
        units += cost;
        ends.push((units, encoded.len()));
    }
    let data_coding = DataCoding::for_alphabet(alphabet);
    if units <= single {
        return Ok(Split {
            data_coding,
            parts: vec![Part {
                short_message: encoded,
                udhi: false,
                sar: None,
            }],
        });
    }
    // Cut points: the last character end that fits each part.
    let mut cuts = Vec::new();
    let (mut start_units, mut start_byte) = (0, 0);
    let mut last_fit = (0, 0);
    for &(u, b) in &ends {
        if u - start_units > per_part {
            cuts.push((start_byte, last_fit.1));
            start_units = last_fit.0;
            start_byte = last_fit.1;
        }
        last_fit = (u, b);
    }
    cuts.push((start_byte, encoded.len()));
    let total = u8::try_from(cuts.len()).map_err(|_| Error::TooManyParts(cuts.len()))?;
    let parts = cuts
        .iter()
        .zip(1u8..)
        .map(|(&(from, to), seq)| part(&encoded[from..to], method, total, seq))
        .collect();
    Ok(Split { data_coding, parts })
}

/// Splits binary data (data_coding 4 or similar) into parts of at most 134 (133) octets.
///
/// # Errors
/// [`Error::TooManyParts`] beyond 255 parts.
pub fn split_bytes(data: &[u8], method: Method) -> Result<Vec<Part>, Error> {
    let (single, per_part) = limits(Alphabet::Binary, method.ref_size());
    if data.len() <= single {
        return Ok(vec![Part {
            short_message: data.to_vec(),
            udhi: false,
            sar: None,
        }]);
    }
    let chunks: Vec<&[u8]> = data.chunks(per_part).collect();
    let total = u8::try_from(chunks.len()).map_err(|_| Error::TooManyParts(chunks.len()))?;
    Ok(chunks
        .into_iter()
        .zip(1u8..)
        .map(|(c, seq)| part(c, method, total, seq))
        .collect())
}

fn part(body: &[u8], method: Method, total: u8, seqnum: u8) -> Part {
    let mut short_message = Vec::with_capacity(body.len() + 7);
    match method {
        Method::Udh8(reference) => {
            short_message.extend_from_slice(&[0x05, 0x00, 0x03, reference, total, seqnum]);
        }
        Method::Udh16(reference) => {
            short_message.extend_from_slice(&[0x06, 0x08, 0x04]);
            short_message.put_u16(reference);
            short_message.extend_from_slice(&[total, seqnum]);
        }
        Method::Sar(_) => {}
    }
    short_message.extend_from_slice(body);
    Part {
        short_message,
        udhi: !matches!(method, Method::Sar(_)),
        sar: match method {
            Method::Sar(reference) => Some(Sar {
                reference,
                total,
                seqnum,
            }),
            _ => None,
        },
    }
}

/// What a User Data Header says about concatenation and ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Udh {
    /// (reference, total, seqnum) from IE 0x00 or 0x08.
    pub concat: Option<(u16, u8, u8)>,
    /// (destination, source) application ports from IE 0x04 or 0x05.
    pub ports: Option<(u16, u16)>,
}

impl Udh {
    /// Reads the UDH at the start of `data` (when esm_class has UDHI) and returns it with the
    /// user data after it. Unknown information elements are skipped.
    ///
    /// # Errors
    /// [`Error::InvalidUdh`] when a length runs past the header or the data.
    pub fn parse(data: &[u8]) -> Result<(Udh, &[u8]), Error> {
        let (&udhl, rest) = data.split_first().ok_or(Error::InvalidUdh)?;
        let udhl = usize::from(udhl);
        let (mut ies, user_data) = (rest.get(..udhl), rest.get(udhl..));
        let (Some(mut header), Some(user_data)) = (ies.take(), user_data) else {
            return Err(Error::InvalidUdh);
        };
        let mut udh = Udh::default();
        while let [iei, len, after @ ..] = header {
            let len = usize::from(*len);
            let value = after.get(..len).ok_or(Error::InvalidUdh)?;
            match (*iei, value) {
                (0x00, &[r, total, seq]) => udh.concat = Some((u16::from(r), total, seq)),
                (0x08, &[r0, r1, total, seq]) => {
                    udh.concat = Some((u16::from_be_bytes([r0, r1]), total, seq));
                }
                (0x04, &[d, s]) => udh.ports = Some((u16::from(d), u16::from(s))),
                (0x05, &[d0, d1, s0, s1]) => {
                    udh.ports = Some((u16::from_be_bytes([d0, d1]), u16::from_be_bytes([s0, s1])));
                }
                (0x00 | 0x08 | 0x04 | 0x05, _) => return Err(Error::InvalidUdh),
                _ => {}
            }
            header = &after[len..];
        }
        if !header.is_empty() {
            return Err(Error::InvalidUdh);
        }
        Ok((udh, user_data))
    }
}

/// Bounds on what a [`Reassembler`] holds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Messages being assembled at once; the oldest is dropped to make room.
    pub max_messages: usize,
    /// Octets held across all partial messages; the oldest are dropped to make room.
    pub max_bytes: usize,
    /// A partial message older than this is dropped by [`Reassembler::expire`].
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_messages: 10_000,
            max_bytes: 16 * 1024 * 1024,
            timeout: Duration::from_secs(300),
        }
    }
}

/// What happened to a pushed part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push {
    /// Kept; more parts are due.
    Incomplete,
    /// The last part arrived: the whole message, parts in order.
    Complete(Vec<u8>),
    /// A part already held: ignored.
    Duplicate,
    /// Not acceptable (seqnum 0 or above total, total 0, a total disagreeing with earlier
    /// parts, or larger than the byte limit alone).
    Rejected,
}

#[derive(Debug)]
struct Partial {
    total: u8,
    parts: Vec<Option<Vec<u8>>>,
    received: u8,
    bytes: usize,
    first_seen: Instant,
}

/// Joins the parts of concatenated messages, in any order, in bounded memory. Sans-IO: the
/// caller gives `now`.
#[derive(Debug)]
pub struct Reassembler<K> {
    limits: Limits,
    partials: HashMap<(K, u16), Partial>,
    bytes: usize,
}

impl<K: Hash + Eq + Clone> Reassembler<K> {
    /// An empty reassembler.
    pub fn new(limits: Limits) -> Self {
        Reassembler {
            limits,
            partials: HashMap::new(),
            bytes: 0,
        }
    }

    /// Messages in progress.
    pub fn len(&self) -> usize {
        self.partials.len()
    }

    /// True when nothing is in progress.
    pub fn is_empty(&self) -> bool {
        self.partials.is_empty()
    }

    /// Octets held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Adds part `seqnum` of `total` of message `reference` from `key` (the caller's choice,
    /// typically source and destination address).
    pub fn push(
        &mut self,
        now: Instant,
        key: K,
        reference: u16,
        total: u8,
        seqnum: u8,
        payload: &[u8],
    ) -> Push {
        if total == 0 || seqnum == 0 || seqnum > total || payload.len() > self.limits.max_bytes {
            return Push::Rejected;
        }
        let id = (key, reference);
        if let Some(p) = self.partials.get(&id) {
            if p.total != total {
                return Push::Rejected;
            }
            if p.parts[usize::from(seqnum - 1)].is_some() {
                return Push::Duplicate;
            }
        } else {
            if total == 1 {
                return Push::Complete(payload.to_vec());
            }
            while self.partials.len() >= self.limits.max_messages.max(1) {
                self.evict_oldest();
            }
            self.partials.insert(
                id.clone(),
                Partial {
                    total,
                    parts: vec![None; usize::from(total)],
                    received: 0,
                    bytes: 0,
                    first_seen: now,
                },
            );
        }
        while self.bytes + payload.len() > self.limits.max_bytes {
            let Some(oldest) = self.oldest() else { break };
            if oldest == id {
                // This message alone would pass the limit: drop it.
                self.remove(&id);
                return Push::Rejected;
            }
            self.remove(&oldest);
        }
        let Some(p) = self.partials.get_mut(&id) else {
            return Push::Rejected;
        };
        p.parts[usize::from(seqnum - 1)] = Some(payload.to_vec());
        p.received += 1;
        p.bytes += payload.len();
        self.bytes += payload.len();
        if p.received < p.total {
            return Push::Incomplete;
        }
        let Some(p) = self.remove(&id) else {
            return Push::Rejected;
        };
        Push::Complete(p.parts.into_iter().flatten().flatten().collect())
    }

    /// Drops partial messages older than the timeout; returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        let timeout = self.limits.timeout;
        let stale: Vec<_> = self
            .partials
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.first_seen) >= timeout)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &stale {
            self.remove(k);
        }
        stale.len()
    }

    fn oldest(&self) -> Option<(K, u16)> {
        self.partials
            .iter()
            .min_by_key(|(_, p)| p.first_seen)
            .map(|(k, _)| k.clone())
    }

    fn evict_oldest(&mut self) {
        if let Some(k) = self.oldest() {
            self.remove(&k);
        }
    }

    fn remove(&mut self, id: &(K, u16)) -> Option<Partial> {
        let p = self.partials.remove(id)?;
        self.bytes -= p.bytes;
        Some(p)
    }
}

/// Encodes the text of a part again for checks: GSM unpacked septets of `short_message` after
/// its UDH, decoded to text.
pub fn part_text(part: &Part, coding: DataCoding) -> Result<String, Error> {
    let body = if part.udhi {
        Udh::parse(&part.short_message)?.1
    } else {
        &part.short_message[..]
    };
    let mut s = String::new();
    match coding.alphabet() {
        Alphabet::Gsm7 => gsm7::decode_unpacked(body, &mut s),
        Alphabet::Ucs2 => text::ucs2::decode(body, &mut s)?,
        _ => text::decode(body, coding, &mut s),
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rejoin(split: &Split) -> String {
        split
            .parts
            .iter()
            .map(|p| part_text(p, split.data_coding).unwrap())
            .collect()
    }

    #[test]
    fn short_text_is_one_plain_part() {
        let s = split("hello", None, Method::Udh8(1)).unwrap();
        assert_eq!(s.parts.len(), 1);
        assert!(!s.parts[0].udhi && s.parts[0].sar.is_none());
        assert_eq!(s.data_coding, DataCoding::DEFAULT);
    }

    #[test]
    fn udh8_parts() {
        let text = "x".repeat(200);
        let s = split(&text, None, Method::Udh8(0x42)).unwrap();
        assert_eq!(s.parts.len(), 2);
        assert_eq!(&s.parts[0].short_message[..6], &[5, 0, 3, 0x42, 2, 1]);
        assert_eq!(s.parts[0].short_message.len(), 6 + 153);
        assert_eq!(&s.parts[1].short_message[..6], &[5, 0, 3, 0x42, 2, 2]);
        assert_eq!(rejoin(&s), text);
        let (udh, rest) = Udh::parse(&s.parts[1].short_message).unwrap();
        assert_eq!(udh.concat, Some((0x42, 2, 2)));
        assert_eq!(rest.len(), 47);
    }

    #[test]
    fn udh16_and_sar_parts() {
        let text = "ж".repeat(100);
        let s = split(&text, None, Method::Udh16(0xBEEF)).unwrap();
        assert_eq!(s.data_coding, DataCoding::UCS2);
        assert_eq!(&s.parts[0].short_message[..7], &[6, 8, 4, 0xBE, 0xEF, 2, 1]);
        assert_eq!(s.parts[0].short_message.len(), 7 + 66 * 2);
        assert_eq!(rejoin(&s), text);
        let s = split(&text, None, Method::Sar(7)).unwrap();
        assert_eq!(s.parts.len(), 2);
        assert_eq!(
            s.parts[1].sar,
            Some(Sar {
                reference: 7,
                total: 2,
                seqnum: 2
            })
        );
        assert!(!s.parts[1].udhi);
        assert_eq!(s.parts[0].short_message.len(), 67 * 2);
    }

    #[test]
    fn escapes_and_surrogates_stay_whole() {
        let text = format!("{}€tail", "a".repeat(152));
        let s = split(&text, None, Method::Udh8(1)).unwrap();
        assert_eq!(
            s.parts[0].short_message.len(),
            6 + 152,
            "€ moved to part two"
        );
        assert_eq!(rejoin(&s), text);
        let text = format!("{}😀tail", "ж".repeat(66));
        let s = split(&text, None, Method::Udh8(1)).unwrap();
        assert_eq!(s.parts[0].short_message.len(), 6 + 66 * 2);
        assert_eq!(rejoin(&s), text);
    }

    #[test]
    fn udh_errors() {
        assert_eq!(Udh::parse(&[]), Err(Error::InvalidUdh));
        assert_eq!(Udh::parse(&[5, 0, 3, 1]), Err(Error::InvalidUdh));
        assert_eq!(Udh::parse(&[3, 0, 2, 1]), Err(Error::InvalidUdh));
        let (udh, rest) =
            Udh::parse(&[9, 0x24, 1, 9, 0x05, 4, 0x0B, 0x84, 0x23, 0xF0, b'x']).unwrap();
        assert_eq!(udh.ports, Some((0x0B84, 0x23F0)));
        assert_eq!(rest, b"x");
    }

    #[test]
    fn reassembler_limits_and_expiry() {
        let t0 = Instant::now();
        let limits = Limits {
            max_messages: 2,
            max_bytes: 10,
            timeout: Duration::from_secs(60),
        };
        let mut r = Reassembler::new(limits);
        assert_eq!(r.push(t0, "a", 1, 2, 1, b"1234"), Push::Incomplete);
        assert_eq!(r.push(t0, "a", 1, 2, 1, b"1234"), Push::Duplicate);
        assert_eq!(r.push(t0, "a", 1, 3, 2, b"x"), Push::Rejected);
        assert_eq!(r.push(t0, "a", 1, 2, 3, b"x"), Push::Rejected);
        assert_eq!(r.push(t0, "a", 1, 0, 0, b"x"), Push::Rejected);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(r.push(t1, "b", 1, 2, 1, b"1234"), Push::Incomplete);
        // A third message evicts the oldest ("a").
        let t2 = t0 + Duration::from_secs(2);
        assert_eq!(r.push(t2, "c", 1, 2, 2, b"12"), Push::Incomplete);
        assert_eq!(r.len(), 2);
        assert_eq!(
            r.push(t2, "a", 1, 2, 2, b"zz"),
            Push::Incomplete,
            "a starts over"
        );
        assert!(r.bytes() <= 10);
        assert_eq!(r.expire(t0 + Duration::from_secs(62)), 2);
        assert!(r.is_empty() && r.bytes() == 0);
    }

    proptest! {
        #[test]
        fn any_order_with_duplicates_reassembles(
            text in "[a-zA-Z0-9 €ж😀]{1,600}",
            order in proptest::collection::vec(any::<prop::sample::Index>(), 0..20),
        ) {
            let s = split(&text, None, Method::Udh16(9)).unwrap();
            let mut parts: Vec<&Part> = s.parts.iter().collect();
            // Shuffle by the drawn indices and add duplicates.
            for i in &order {
                let j = i.index(parts.len());
                parts.swap(0, j);
                parts.push(parts[j]);
            }
            let mut r = Reassembler::new(Limits::default());
            let mut done = None;
            for p in parts {
                let (udh, body) = if p.udhi {
                    Udh::parse(&p.short_message).unwrap()
                } else {
                    (Udh { concat: Some((9, 1, 1)), ports: None }, &p.short_message[..])
                };
                let (reference, total, seq) = udh.concat.unwrap();
                match r.push(Instant::now(), 0u8, reference, total, seq, body) {
                    // Duplicates arriving after completion start a new message; keep the first.
                    Push::Complete(m) => { done.get_or_insert(m); }
                    Push::Rejected => prop_assert!(false, "rejected"),
                    _ => {}
                }
            }
            let joined = done.unwrap();
            let mut back = String::new();
            text::decode(&joined, s.data_coding, &mut back);
            prop_assert_eq!(back, text);
        }
    }
}
