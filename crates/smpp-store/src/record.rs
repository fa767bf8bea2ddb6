//! What the store keeps, and how it is laid out as bytes.
//!
//! Ids are bytes exactly as they were given: a carrier's message id is never parsed, trimmed or
//! converted between hex and decimal here (Jasmin's DLRMapNotFound is what happens otherwise),
//! and our own message id is kept in its canonical form; rendering it per account is the
//! router's job at the edge.
//!
//! Times are wall-clock [`SystemTime`]s stored as milliseconds since the Unix epoch, because a
//! record written on one node may be read, and expired, on another: a monotonic `Instant` means
//! nothing outside its process. Every operation that depends on time takes `now` from the
//! caller, so tests inject the clock and nothing in the store sleeps.
//!
//! The byte layouts (keys sort the way the store scans them):
//! - correlation key: `len(connector) u8 | connector | carrier_id`
//! - correlation value: `1 | expires_ms u64 | submitted_ms u64 | part u8 | parts u8 |`
//!   `message_id, account, source, destination` (each `len u8 | bytes`)
//! - expiry index key: `expires_ms u64 BE | correlation key` (empty value)
//! - pending key: `len(account) u8 | account | seq u64 BE`;
//!   pending value: `1 | enqueued_ms u64 | expires_ms u64 | payload`
//! - queue metadata (key = account): `1 | next_seq u64 | len u64`

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::error::{Result, StoreError};

/// Identifies one correlation record: the connector (carrier) and the message id that carrier
/// returned in submit_sm_resp, byte for byte. A receipt may come back on any bind of the
/// connector, so the bind is not part of the key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CorrelationKey {
    /// The connector's configured name (at most 255 bytes).
    pub connector: String,
    /// The carrier's message id as the carrier gave it (at most 255 bytes).
    pub carrier_id: Bytes,
}

impl CorrelationKey {
    /// A key from a connector name and a carrier message id.
    pub fn new(connector: impl Into<String>, carrier_id: impl Into<Bytes>) -> Self {
        Self {
            connector: connector.into(),
            carrier_id: carrier_id.into(),
        }
    }
}

/// One submitted part, as the carrier acknowledged it: what a receipt needs to find its way
/// back to the customer with our id, and what MO conversation routing needs later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correlation {
    /// Connector and carrier message id.
    pub key: CorrelationKey,
    /// Our message id, canonical bytes (at most 255).
    pub message_id: Bytes,
    /// The account that submitted it (at most 255 bytes).
    pub account: String,
    /// This part's index, 1-based (1 for a single-part message).
    pub part: u8,
    /// How many parts the message has (1 for a single-part message).
    pub parts: u8,
    /// When the customer submitted it.
    pub submitted_at: SystemTime,
    /// When the record may be dropped if no final receipt came: submit time plus the
    /// connector's retention. The caller computes it, so retention is per connector and a
    /// changed retention applies to new records.
    pub expires_at: SystemTime,
    /// Source address as submitted (at most 255 bytes).
    pub source: Bytes,
    /// Destination address as submitted (at most 255 bytes).
    pub destination: Bytes,
}

/// One entry of an account's pending queue (a receipt or MO waiting for a bind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEntry {
    /// Position in the account's queue: increasing, never reused, the handle for
    /// [`ack_pending`](crate::Store::ack_pending).
    pub seq: u64,
    /// When it was appended.
    pub enqueued_at: SystemTime,
    /// When expiry may drop it.
    pub expires_at: SystemTime,
    /// What the router stored (opaque to the store).
    pub payload: Bytes,
}

/// The bounds of one account's pending queue, given with every append so that each account
/// can have its own (and a reloaded config applies at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuePolicy {
    /// At most this many entries; an append that would exceed it is refused whole.
    pub max_len: u64,
    /// Entries expire this long after they were appended.
    pub ttl: Duration,
}

pub(crate) const VERSION: u8 = 1;
const MAX_FIELD: usize = u8::MAX as usize;

pub(crate) fn millis(t: SystemTime) -> u64 {
    // Times before 1970 clamp to 0; times past u64 millis (year 584 million) saturate.
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

pub(crate) fn from_millis(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

fn check_len(field: &'static str, len: usize) -> Result<u8> {
    u8::try_from(len).map_err(|_| StoreError::TooLong {
        field,
        len,
        max: MAX_FIELD,
    })
}

fn put_field(out: &mut Vec<u8>, field: &'static str, bytes: &[u8]) -> Result<()> {
    out.push(check_len(field, bytes.len())?);
    out.extend_from_slice(bytes);
    Ok(())
}

/// `len(name) | name | suffix`: the shape of correlation and pending keys.
fn prefixed_key(field: &'static str, name: &[u8], suffix: &[u8]) -> Result<Vec<u8>> {
    let mut k = Vec::with_capacity(1 + name.len() + suffix.len());
    put_field(&mut k, field, name)?;
    k.extend_from_slice(suffix);
    Ok(k)
}

pub(crate) fn correlation_key(key: &CorrelationKey) -> Result<Vec<u8>> {
    check_len("carrier message id", key.carrier_id.len())?;
    prefixed_key("connector name", key.connector.as_bytes(), &key.carrier_id)
}

pub(crate) fn expiry_key(expires_ms: u64, corr_key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + corr_key.len());
    k.extend_from_slice(&expires_ms.to_be_bytes());
    k.extend_from_slice(corr_key);
    k
}

/// Splits an expiry index key into its deadline and the correlation key it points at.
pub(crate) fn split_expiry_key(k: &[u8]) -> Option<(u64, &[u8])> {
    let (ms, rest) = k.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*ms), rest))
}

pub(crate) fn encode_correlation(c: &Correlation) -> Result<Vec<u8>> {
    let mut v = Vec::with_capacity(
        19 + 4 + c.message_id.len() + c.account.len() + c.source.len() + c.destination.len(),
    );
    v.push(VERSION);
    v.extend_from_slice(&millis(c.expires_at).to_be_bytes());
    v.extend_from_slice(&millis(c.submitted_at).to_be_bytes());
    v.push(c.part);
    v.push(c.parts);
    put_field(&mut v, "message id", &c.message_id)?;
    put_field(&mut v, "account name", c.account.as_bytes())?;
    put_field(&mut v, "source address", &c.source)?;
    put_field(&mut v, "destination address", &c.destination)?;
    Ok(v)
}

/// A cursor over a stored value; every read is checked, so a short or garbled value becomes a
/// [`Decode`] error instead of a panic.
struct Reader<'a> {
    buf: &'a [u8],
}

/// Why a stored value did not decode (turned into [`StoreError::Corrupt`] by the caller, who
/// knows the path).
#[derive(Debug)]
pub(crate) struct Decode(pub(crate) String);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Decode> {
        if self.buf.len() < n {
            return Err(Decode(format!(
                "{what}: needs {n} bytes, {} left",
                self.buf.len()
            )));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
    fn u8(&mut self, what: &str) -> Result<u8, Decode> {
        Ok(self.take(1, what)?[0])
    }
    fn u64(&mut self, what: &str) -> Result<u64, Decode> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn field(&mut self, what: &str) -> Result<&'a [u8], Decode> {
        let n = self.u8(what)?;
        self.take(usize::from(n), what)
    }
    fn version(&mut self) -> Result<(), Decode> {
        match self.u8("version")? {
            VERSION => Ok(()),
            v => Err(Decode(format!("unknown format version {v}"))),
        }
    }
    fn end(&self) -> Result<(), Decode> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(Decode(format!("{} trailing bytes", self.buf.len())))
        }
    }
}

fn utf8(b: &[u8], what: &str) -> Result<String, Decode> {
    String::from_utf8(b.to_vec()).map_err(|_| Decode(format!("{what} is not UTF-8")))
}

/// The deadline of a stored correlation value, without decoding the rest.
pub(crate) fn correlation_expires_ms(value: &[u8]) -> Result<u64, Decode> {
    let mut r = Reader { buf: value };
    r.version()?;
    r.u64("expires_at")
}

/// Decodes a stored value; the message id and addresses share `value` (no copies).
pub(crate) fn decode_correlation(
    key: &CorrelationKey,
    value: &Bytes,
) -> Result<Correlation, Decode> {
    let mut r = Reader { buf: value };
    r.version()?;
    let expires_ms = r.u64("expires_at")?;
    let submitted_ms = r.u64("submitted_at")?;
    let part = r.u8("part")?;
    let parts = r.u8("parts")?;
    let message_id = value.slice_ref(r.field("message id")?);
    let account = utf8(r.field("account")?, "account")?;
    let source = value.slice_ref(r.field("source")?);
    let destination = value.slice_ref(r.field("destination")?);
    r.end()?;
    Ok(Correlation {
        key: key.clone(),
        message_id,
        account,
        part,
        parts,
        submitted_at: from_millis(submitted_ms),
        expires_at: from_millis(expires_ms),
        source,
        destination,
    })
}

/// The key prefix of an account's queue (its entries follow, in seq order).
pub(crate) fn pending_prefix(account: &str) -> Result<Vec<u8>> {
    prefixed_key("account name", account.as_bytes(), &[])
}

pub(crate) fn pending_key(prefix: &[u8], seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 8);
    k.extend_from_slice(prefix);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The seq at the end of a pending key.
pub(crate) fn pending_seq(key: &[u8]) -> Result<u64, Decode> {
    key.last_chunk::<8>()
        .map(|s| u64::from_be_bytes(*s))
        .ok_or_else(|| Decode(format!("pending key of {} bytes", key.len())))
}

pub(crate) fn encode_pending(enqueued_ms: u64, expires_ms: u64, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(17 + payload.len());
    v.push(VERSION);
    v.extend_from_slice(&enqueued_ms.to_be_bytes());
    v.extend_from_slice(&expires_ms.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// `(enqueued_ms, expires_ms, payload)` of a stored pending value.
pub(crate) fn decode_pending(value: &[u8]) -> Result<(u64, u64, &[u8]), Decode> {
    let mut r = Reader { buf: value };
    r.version()?;
    let enqueued = r.u64("enqueued_at")?;
    let expires = r.u64("expires_at")?;
    Ok((enqueued, expires, r.buf))
}

/// What the store remembers about one account's queue between restarts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct QueueMeta {
    /// The seq the next append gets.
    pub(crate) next_seq: u64,
    /// Live entries.
    pub(crate) len: u64,
}

pub(crate) fn encode_meta(m: QueueMeta) -> Vec<u8> {
    let mut v = Vec::with_capacity(17);
    v.push(VERSION);
    v.extend_from_slice(&m.next_seq.to_be_bytes());
    v.extend_from_slice(&m.len.to_be_bytes());
    v
}

pub(crate) fn decode_meta(value: &[u8]) -> Result<QueueMeta, Decode> {
    let mut r = Reader { buf: value };
    r.version()?;
    let next_seq = r.u64("next_seq")?;
    let len = r.u64("len")?;
    r.end()?;
    if len > next_seq {
        return Err(Decode(format!("{len} entries but next seq {next_seq}")));
    }
    Ok(QueueMeta { next_seq, len })
}

pub(crate) fn decode_account(key: &[u8]) -> Result<String, Decode> {
    utf8(key, "account")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Correlation {
        Correlation {
            key: CorrelationKey::new("carrier-a", &b"00ab12"[..]),
            message_id: Bytes::from_static(b"n1-0001"),
            account: "acme".into(),
            part: 2,
            parts: 3,
            submitted_at: from_millis(1_790_000_000_123),
            expires_at: from_millis(1_790_259_200_123),
            source: Bytes::from_static(b"ACME"),
            destination: Bytes::from_static(b"447700900123"),
        }
    }

    #[test]
    fn correlation_round_trips_and_truncations_are_errors() {
        let c = sample();
        let v = encode_correlation(&c).expect("encodes");
        assert_eq!(
            decode_correlation(&c.key, &Bytes::from(v.clone())).expect("decodes"),
            c
        );
        assert_eq!(
            correlation_expires_ms(&v).expect("deadline"),
            1_790_259_200_123
        );
        for cut in 0..v.len() {
            assert!(
                decode_correlation(&c.key, &Bytes::copy_from_slice(&v[..cut])).is_err(),
                "cut at {cut}"
            );
        }
        let mut bad = v.clone();
        bad[0] = 9;
        assert!(decode_correlation(&c.key, &Bytes::from(bad)).is_err());
    }

    #[test]
    fn long_fields_are_refused_by_name() {
        let mut c = sample();
        c.account = "a".repeat(256);
        let e = encode_correlation(&c).expect_err("too long");
        assert!(e.to_string().contains("account name"), "{e}");
        let k = CorrelationKey::new("c", vec![b'1'; 300]);
        assert!(correlation_key(&k).is_err());
    }

    #[test]
    fn keys_of_one_connector_do_not_collide_with_another() {
        // "ab" + "c1" and "a" + "bc1" must differ: the length prefix keeps them apart.
        let a = correlation_key(&CorrelationKey::new("ab", &b"c1"[..])).expect("key");
        let b = correlation_key(&CorrelationKey::new("a", &b"bc1"[..])).expect("key");
        assert_ne!(a, b);
    }
}
