//! A random sequence of pending-queue operations — appends (some refused as full), peeks, acks
//! in any order (including unknown and repeated seqs), expiry sweeps as the injected clock moves,
//! and close/reopen — must leave the store exactly where a `VecDeque` model says.

#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use proptest::prelude::*;
use smpp_store::{EmbeddedStore, Options, QueuePolicy, Store, StoreError};

const MAX_LEN: u64 = 6;
const TTL_S: u64 = 50;
const ACCOUNTS: [&str; 2] = ["acme", "acme-2"];

#[derive(Debug, Clone)]
enum Op {
    Append {
        account: usize,
        n: usize,
    },
    Peek {
        account: usize,
        max: usize,
    },
    /// Ack the entries at these positions of the model's queue (taken modulo its length),
    /// plus a seq that is not there.
    Ack {
        account: usize,
        picks: Vec<usize>,
        bogus: u64,
    },
    Tick {
        secs: u64,
    },
    Expire {
        limit: usize,
    },
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2usize, 1..4usize).prop_map(|(account, n)| Op::Append { account, n }),
        2 => (0..2usize, 0..8usize).prop_map(|(account, max)| Op::Peek { account, max }),
        3 => (0..2usize, prop::collection::vec(0..8usize, 0..4), 0..40u64)
            .prop_map(|(account, picks, bogus)| Op::Ack { account, picks, bogus }),
        2 => (0..40u64).prop_map(|secs| Op::Tick { secs }),
        2 => (1..5usize).prop_map(|limit| Op::Expire { limit }),
        1 => Just(Op::Reopen),
    ]
}

#[derive(Debug, Default)]
struct Queue {
    next_seq: u64,
    /// (seq, expires_at seconds, payload)
    entries: VecDeque<(u64, u64, Bytes)>,
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_790_000_000 + secs)
}

fn options() -> Options {
    Options {
        create_dir: true,
        ..Options::default()
    }
}

async fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Some(EmbeddedStore::open(dir.path(), options()).unwrap());
    let mut model: Vec<Queue> = ACCOUNTS.iter().map(|_| Queue::default()).collect();
    let mut now = 0u64;
    let mut payload_no = 0u32;
    let policy = QueuePolicy {
        max_len: MAX_LEN,
        ttl: Duration::from_secs(TTL_S),
    };
    for op in ops {
        let s = store.as_ref().unwrap();
        match op {
            Op::Append { account, n } => {
                let payloads: Vec<Bytes> = (0..n)
                    .map(|_| {
                        payload_no += 1;
                        Bytes::from(format!("p{payload_no}"))
                    })
                    .collect();
                let got = s
                    .append_pending(ACCOUNTS[account], &payloads, at(now), policy)
                    .await;
                let q = &mut model[account];
                if q.entries.len() + n > MAX_LEN as usize {
                    assert!(matches!(got, Err(StoreError::QueueFull { .. })), "{got:?}");
                } else {
                    let seqs = got.unwrap();
                    assert_eq!(seqs, q.next_seq..q.next_seq + n as u64);
                    for (seq, p) in seqs.zip(payloads) {
                        q.entries.push_back((seq, now + TTL_S, p));
                    }
                    q.next_seq += n as u64;
                }
            }
            Op::Peek { account, max } => {
                let got: Vec<_> = s
                    .peek_pending(ACCOUNTS[account], max)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|e| (e.seq, e.expires_at, e.payload))
                    .collect();
                let want: Vec<_> = model[account]
                    .entries
                    .iter()
                    .take(max)
                    .map(|(seq, exp, p)| (*seq, at(*exp), p.clone()))
                    .collect();
                assert_eq!(got, want);
            }
            Op::Ack {
                account,
                picks,
                bogus,
            } => {
                let q = &mut model[account];
                let mut seqs: Vec<u64> = if q.entries.is_empty() {
                    Vec::new()
                } else {
                    picks
                        .iter()
                        .map(|i| q.entries[i % q.entries.len()].0)
                        .collect()
                };
                let bogus = q.next_seq + bogus; // never handed out yet
                seqs.push(bogus);
                let before = q.entries.len();
                q.entries.retain(|(seq, _, _)| !seqs.contains(seq));
                let removed = s.ack_pending(ACCOUNTS[account], &seqs).await.unwrap();
                assert_eq!(removed, before - q.entries.len());
            }
            Op::Tick { secs } => now += secs,
            Op::Expire { limit } => {
                let mut want = 0;
                for q in &mut model {
                    // The store sweeps accounts in its own order; with a limit, which account
                    // loses entries first is unspecified, so the model sweeps with no limit and
                    // the store is called until it has nothing left.
                    while q.entries.front().is_some_and(|(_, exp, _)| *exp <= now) {
                        q.entries.pop_front();
                        want += 1;
                    }
                }
                let mut got = 0;
                loop {
                    let n = s.expire_pending(at(now), limit).await.unwrap();
                    assert!(n <= limit);
                    got += n;
                    if n < limit {
                        break;
                    }
                }
                assert_eq!(got, want);
            }
            Op::Reopen => {
                drop(store.take());
                store = Some(EmbeddedStore::open(dir.path(), Options::default()).unwrap());
            }
        }
        let s = store.as_ref().unwrap();
        for (account, q) in ACCOUNTS.iter().zip(&model) {
            assert_eq!(
                s.pending_len(account).await.unwrap(),
                q.entries.len() as u64,
                "{account}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn queue_matches_a_vecdeque_model(ops in prop::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        rt.block_on(run(ops));
    }
}
