//! Marketing held for quiet hours: accepted now, kept durably, sent when the recipient's
//! daytime begins.
//!
//! **Layout.** Held messages wait in the store's ordinary pending queues, one queue per release
//! minute (`held/<unix ms>`): every message in a queue is due at the same instant, so releasing
//! is draining queues in order of their names, and a queue needs no sorting. Windows open on
//! whole minutes in each zone, so a night's traffic lands in a few dozen queues. The queues'
//! names are kept in one more queue, the index (`held-index`, one 8-byte entry per minute), so
//! a restarted router finds them: the store cannot list queues, and must not need to (a
//! networked store cannot either, cheaply).
//!
//! **Durability.** A message is acknowledged to the customer only after both its entry and its
//! minute's index entry are durable (the two appends go out together, in one group commit when
//! the embedded store groups them). An index entry may be written twice for one minute (two
//! first holds at once); recovery folds duplicates. Entries leave their queue only when the
//! release is settled (sent, or refused with a receipt to the customer), so a crash during a
//! release sends a message again rather than never (at-least-once, as everywhere else).
//!
//! **Closing a minute.** Once a due queue is empty, its index entries are acknowledged. A hold
//! that raced the release (it computed the minute just before it came due) is either seen by
//! the release (counted as a writer, so the minute is not closed under it), or told the minute
//! is closed, and then its window is open: the caller sends the message at once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use smpp_pdu::{Body, CommandStatus, DecodeOptions, Pdu, SubmitSm};
use smpp_store::{PendingEntry, QueuePolicy, Store, StoreError};

use crate::clock::Clock;

/// The queue that names the minutes with held messages.
const INDEX: &str = "held-index";
/// Index entries read at start (one per minute with held messages: a few dozen a day).
const INDEX_MAX: usize = 1_000_000;
const VERSION: u8 = 1;

/// One held message: who sent it, the id it was acknowledged with, and the submit itself.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldMessage {
    /// The account's system_id.
    pub account: String,
    /// Our message id, given to the customer when it was held.
    pub message_id: u64,
    /// A receipt is owed (the customer asked, or its account always gets one).
    pub wants_receipt: bool,
    /// When the customer submitted it.
    pub submitted_at: SystemTime,
    /// The submit as it will go to the carrier.
    pub submit: SubmitSm,
}

impl HeldMessage {
    /// `1 | message_id u64 | wants_receipt u8 | submitted_ms u64 | len u8 | account |
    /// submit_sm PDU`.
    fn encode(&self) -> Option<Bytes> {
        let account = u8::try_from(self.account.len()).ok()?;
        let mut buf = BytesMut::with_capacity(256);
        buf.put_u8(VERSION);
        buf.put_u64(self.message_id);
        buf.put_u8(u8::from(self.wants_receipt));
        buf.put_u64(millis(self.submitted_at));
        buf.put_u8(account);
        buf.put_slice(self.account.as_bytes());
        Body::SubmitSm(Box::new(self.submit.clone()))
            .encode(0, CommandStatus::OK, &mut buf)
            .ok()?;
        Some(buf.freeze())
    }

    /// Reads what [`HeldMessage::encode`] wrote; `None` for anything else.
    fn decode(mut b: Bytes) -> Option<HeldMessage> {
        if b.len() < 19 || b.get_u8() != VERSION {
            return None;
        }
        let message_id = b.get_u64();
        let wants_receipt = b.get_u8() != 0;
        let submitted_at = UNIX_EPOCH + Duration::from_millis(b.get_u64());
        let len = usize::from(b.get_u8());
        if b.len() < len {
            return None;
        }
        let account = String::from_utf8(b.split_to(len).to_vec()).ok()?;
        let Ok(Pdu {
            body: Body::SubmitSm(submit),
            ..
        }) = Pdu::decode(b, &DecodeOptions::LENIENT)
        else {
            return None;
        };
        Some(HeldMessage {
            account,
            message_id,
            wants_receipt,
            submitted_at,
            submit: *submit,
        })
    }
}

/// Why a message could not be held.
#[derive(Debug)]
pub enum HoldError {
    /// Its minute is being closed: the window has opened, send it now.
    Due,
    /// The store refused it (full, or failing); the customer gets a temporary error.
    Store(StoreError),
    /// Too large to keep (an account name over 255 bytes, an unencodable submit).
    Unencodable,
}

/// A held message read back: its place in its queue, and what it holds (`None`: unreadable).
#[derive(Debug)]
pub struct Entry {
    /// Its seq in the minute's queue, for [`Held::done`].
    pub seq: u64,
    /// The message, when it could be read.
    pub message: Option<HeldMessage>,
}

#[derive(Debug, Default)]
struct Minute {
    /// The minute's entries in the index, to acknowledge when it is drained.
    index_seqs: Vec<u64>,
    /// An index entry is durable.
    indexed: bool,
    /// Holds appending to this minute now.
    writers: usize,
    /// The release is checking that the queue is empty: new holds must not land here.
    closing: bool,
}

/// The held messages' queues and their index.
pub struct Held {
    store: Arc<dyn Store>,
    clock: Arc<Clock>,
    minutes: Mutex<BTreeMap<u64, Minute>>,
    policy: QueuePolicy,
    /// Written for the whole of [`Held::recover`], read for the whole of a hold: a recovery
    /// that read a new minute's index entry before its message had landed would take the
    /// minute for empty and remove the entry, and the next restart would forget the minute.
    recovering: tokio::sync::RwLock<()>,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held").finish_non_exhaustive()
    }
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn queue(minute: u64) -> String {
    format!("held/{minute}")
}

impl Held {
    /// Held messages over `store`; each minute's queue holds at most `max_per_minute` and
    /// keeps a message at most `ttl` (beyond the longest night).
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<Clock>,
        max_per_minute: u64,
        ttl: Duration,
    ) -> Held {
        Held {
            store,
            clock,
            minutes: Mutex::new(BTreeMap::new()),
            policy: QueuePolicy {
                max_len: max_per_minute,
                ttl,
            },
            recovering: tokio::sync::RwLock::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Minute>> {
        self.minutes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the index after a start: every minute that still holds messages. Returns how many
    /// messages are held.
    ///
    /// # Errors
    /// The store's error.
    pub async fn recover(&self) -> Result<u64, StoreError> {
        let _recovering = self.recovering.write().await;
        let entries = self.store.peek_pending(INDEX, INDEX_MAX).await?;
        let mut found: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        let mut unreadable = Vec::new();
        for e in entries {
            match <[u8; 8]>::try_from(&e.payload[..]) {
                Ok(m) => found.entry(u64::from_be_bytes(m)).or_default().push(e.seq),
                Err(_) => unreadable.push(e.seq),
            }
        }
        let mut total = 0;
        let mut empty = unreadable;
        for (minute, seqs) in found {
            let n = self.store.pending_len(&queue(minute)).await?;
            if n == 0 {
                empty.extend(seqs);
                continue;
            }
            total += n;
            let mut m = self.lock();
            let slot = m.entry(minute).or_default();
            slot.index_seqs.extend(seqs);
            slot.indexed = true;
        }
        if !empty.is_empty() {
            self.store.ack_pending(INDEX, &empty).await?;
        }
        Ok(total)
    }

    /// Keeps `message` until `until` (rounded up to the minute). Returns once it is durable.
    ///
    /// # Errors
    /// [`HoldError::Due`] when that minute is already being released (send it now), or the
    /// store's refusal.
    pub async fn hold(&self, until: SystemTime, message: &HeldMessage) -> Result<(), HoldError> {
        let payload = message.encode().ok_or(HoldError::Unencodable)?;
        let _recovered = self.recovering.read().await;
        let minute = millis(until).div_ceil(60_000) * 60_000;
        let index = {
            let mut m = self.lock();
            let slot = m.entry(minute).or_default();
            if slot.closing {
                return Err(HoldError::Due);
            }
            slot.writers += 1;
            !slot.indexed
        };
        let now = self.clock.now();
        let name = queue(minute);
        let index_payload = [Bytes::copy_from_slice(&minute.to_be_bytes())];
        let payloads = [payload];
        let index_policy = QueuePolicy {
            max_len: INDEX_MAX as u64,
            ttl: self.policy.ttl,
        };
        let (indexed, appended) = tokio::join!(
            async {
                if index {
                    self.store
                        .append_pending(INDEX, &index_payload, now, index_policy)
                        .await
                        .map(Some)
                } else {
                    Ok(None)
                }
            },
            self.store
                .append_pending(&name, &payloads, now, self.policy)
        );
        let mut m = self.lock();
        let slot = m.entry(minute).or_default();
        slot.writers -= 1;
        if let Ok(Some(seqs)) = &indexed {
            slot.index_seqs.extend(seqs.clone());
            slot.indexed = true;
        }
        drop(m);
        indexed.map_err(HoldError::Store)?;
        appended.map_err(HoldError::Store)?;
        Ok(())
    }

    /// The earliest minute with held messages, due or not.
    pub fn next(&self) -> Option<SystemTime> {
        self.lock()
            .keys()
            .next()
            .map(|&ms| UNIX_EPOCH + Duration::from_millis(ms))
    }

    /// The minutes that are due now, earliest first.
    pub fn due(&self) -> Vec<u64> {
        let now = millis(self.clock.now());
        self.lock().range(..=now).map(|(&m, _)| m).collect()
    }

    /// Up to `max` messages of a due minute, oldest first.
    ///
    /// # Errors
    /// The store's error.
    pub async fn batch(&self, minute: u64, max: usize) -> Result<Vec<Entry>, StoreError> {
        let entries = self.store.peek_pending(&queue(minute), max).await?;
        Ok(entries
            .into_iter()
            .map(|PendingEntry { seq, payload, .. }| Entry {
                seq,
                message: HeldMessage::decode(payload),
            })
            .collect())
    }

    /// Removes settled messages from their minute.
    ///
    /// # Errors
    /// The store's error (they will be released again).
    pub async fn done(&self, minute: u64, seqs: &[u64]) -> Result<(), StoreError> {
        if seqs.is_empty() {
            return Ok(());
        }
        self.store.ack_pending(&queue(minute), seqs).await.map(drop)
    }

    /// Forgets a due minute once its queue is empty and no hold is writing to it; false when
    /// something is (still) there.
    ///
    /// # Errors
    /// The store's error.
    pub async fn close(&self, minute: u64) -> Result<bool, StoreError> {
        {
            let mut m = self.lock();
            let Some(slot) = m.get_mut(&minute) else {
                return Ok(true);
            };
            if slot.writers > 0 {
                return Ok(false);
            }
            slot.closing = true;
        }
        // No hold can land here now; one that landed before is in the queue.
        let left = self.store.pending_len(&queue(minute)).await;
        let drained = {
            let mut m = self.lock();
            if matches!(left, Ok(0)) {
                m.remove(&minute).map(|s| s.index_seqs)
            } else {
                if let Some(slot) = m.get_mut(&minute) {
                    slot.closing = false;
                }
                None
            }
        };
        match (left, drained) {
            (Ok(0), seqs) => {
                self.store
                    .ack_pending(INDEX, &seqs.unwrap_or_default())
                    .await?;
                Ok(true)
            }
            (other, _) => other.map(|_| false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smpp_pdu::{Address, Npi, Ton};
    use smpp_store::{EmbeddedStore, Options};

    fn message(n: u64) -> HeldMessage {
        HeldMessage {
            account: "demo".into(),
            message_id: n,
            wants_receipt: n % 2 == 0,
            submitted_at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            submit: SubmitSm {
                source: Address::new(Ton(1), Npi(1), Bytes::from_static(b"15550100")),
                dest: Address::new(Ton(1), Npi(1), Bytes::from(format!("1212555{n:04}"))),
                short_message: Bytes::from_static(b"Sale today"),
                ..Default::default()
            },
        }
    }

    fn open(dir: &std::path::Path) -> Arc<dyn Store> {
        Arc::new(
            EmbeddedStore::open(
                dir,
                Options {
                    create_dir: true,
                    ..Options::default()
                },
            )
            .unwrap(),
        )
    }

    /// A store whose index peeks wait 100 ms and whose held-message appends wait 300 ms
    /// before they start: a recovery then reads a new minute's index entry before the
    /// message it indexes has landed, unless holds wait for the recovery.
    struct Lagging(Arc<dyn Store>);

    impl Store for Lagging {
        fn put_correlations<'a>(
            &'a self,
            records: &'a [smpp_store::Correlation],
        ) -> smpp_store::StoreFuture<'a, ()> {
            self.0.put_correlations(records)
        }
        fn get_correlations<'a>(
            &'a self,
            keys: &'a [smpp_store::CorrelationKey],
        ) -> smpp_store::StoreFuture<'a, Vec<Option<smpp_store::Correlation>>> {
            self.0.get_correlations(keys)
        }
        fn delete_correlations<'a>(
            &'a self,
            keys: &'a [smpp_store::CorrelationKey],
        ) -> smpp_store::StoreFuture<'a, ()> {
            self.0.delete_correlations(keys)
        }
        fn expire_correlations(
            &self,
            now: SystemTime,
            limit: usize,
        ) -> smpp_store::StoreFuture<'_, usize> {
            self.0.expire_correlations(now, limit)
        }
        fn append_pending<'a>(
            &'a self,
            account: &'a str,
            payloads: &'a [Bytes],
            now: SystemTime,
            policy: QueuePolicy,
        ) -> smpp_store::StoreFuture<'a, std::ops::Range<u64>> {
            Box::pin(async move {
                if account.starts_with("held/") {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                self.0.append_pending(account, payloads, now, policy).await
            })
        }
        fn peek_pending<'a>(
            &'a self,
            account: &'a str,
            max: usize,
        ) -> smpp_store::StoreFuture<'a, Vec<PendingEntry>> {
            Box::pin(async move {
                if account == INDEX {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                self.0.peek_pending(account, max).await
            })
        }
        fn ack_pending<'a>(
            &'a self,
            account: &'a str,
            seqs: &'a [u64],
        ) -> smpp_store::StoreFuture<'a, usize> {
            self.0.ack_pending(account, seqs)
        }
        fn pending_len<'a>(&'a self, account: &'a str) -> smpp_store::StoreFuture<'a, u64> {
            self.0.pending_len(account)
        }
        fn expire_pending(
            &self,
            now: SystemTime,
            limit: usize,
        ) -> smpp_store::StoreFuture<'_, usize> {
            self.0.expire_pending(now, limit)
        }
    }

    /// A message held while the start's recovery runs is still found after the next restart.
    #[tokio::test]
    async fn a_hold_during_the_recovery_keeps_its_index_entry() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(Clock::system());
        let at = clock.now() + Duration::from_secs(3600);
        {
            let held = Arc::new(Held::new(
                Arc::new(Lagging(open(dir.path()))),
                clock.clone(),
                1000,
                Duration::from_secs(86400),
            ));
            let recovery = tokio::spawn({
                let held = held.clone();
                async move { held.recover().await.unwrap() }
            });
            tokio::time::sleep(Duration::from_millis(10)).await;
            held.hold(at, &message(1)).await.unwrap();
            assert_eq!(recovery.await.unwrap(), 0);
        }
        let held = Held::new(
            open(dir.path()),
            clock.clone(),
            1000,
            Duration::from_secs(86400),
        );
        assert_eq!(
            held.recover().await.unwrap(),
            1,
            "the held message's minute is known"
        );
    }

    #[test]
    fn a_held_message_reads_back_as_written_and_garbage_does_not() {
        let m = message(7);
        assert_eq!(HeldMessage::decode(m.encode().unwrap()), Some(m));
        assert_eq!(HeldMessage::decode(Bytes::from_static(b"\x01short")), None);
        assert_eq!(HeldMessage::decode(Bytes::new()), None);
    }

    #[tokio::test]
    async fn messages_wait_for_their_minute_survive_a_restart_and_close_it_when_drained() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(Clock::system());
        let at = clock.now() + Duration::from_secs(3600);
        let later = at + Duration::from_secs(1800);
        {
            let held = Held::new(
                open(dir.path()),
                clock.clone(),
                1000,
                Duration::from_secs(86400),
            );
            for n in 0..3 {
                held.hold(at, &message(n)).await.unwrap();
            }
            held.hold(later, &message(9)).await.unwrap();
            assert!(held.due().is_empty(), "nothing is due before its minute");
        }
        // Restarted: the index finds both minutes.
        let held = Held::new(
            open(dir.path()),
            clock.clone(),
            1000,
            Duration::from_secs(86400),
        );
        assert_eq!(held.recover().await.unwrap(), 4);
        assert!(held.due().is_empty());
        clock.advance_to(at + Duration::from_secs(60));
        let minute = held.due()[0];
        assert!(minute >= millis(at) && minute < millis(at) + 60_000);
        let batch = held.batch(minute, 10).await.unwrap();
        let ids: Vec<u64> = batch
            .iter()
            .map(|e| e.message.as_ref().unwrap().message_id)
            .collect();
        assert_eq!(ids, [0, 1, 2], "in the order they were held");
        assert!(!held.close(minute).await.unwrap(), "not drained yet");
        let seqs: Vec<u64> = batch.iter().map(|e| e.seq).collect();
        held.done(minute, &seqs).await.unwrap();
        assert!(held.close(minute).await.unwrap());
        assert!(held.due().is_empty(), "the later minute is not due yet");
        // A hold aimed at a minute being closed is told to send now.
        // (Simulated: mark the later minute closing by hand.)
        let later_minute = millis(later).div_ceil(60_000) * 60_000;
        held.lock().get_mut(&later_minute).unwrap().closing = true;
        assert!(matches!(
            held.hold(later, &message(10)).await,
            Err(HoldError::Due)
        ));
        held.lock().get_mut(&later_minute).unwrap().closing = false;
        // Restarted again: only the later minute is left, with its one message.
        drop(held);
        let held = Held::new(
            open(dir.path()),
            clock.clone(),
            1000,
            Duration::from_secs(86400),
        );
        assert_eq!(held.recover().await.unwrap(), 1);
        assert_eq!(
            held.next(),
            Some(UNIX_EPOCH + Duration::from_millis(later_minute))
        );
    }
}
