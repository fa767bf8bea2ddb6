//! The embedded store against the `Store` contract: correlation records (put, get, delete,
//! expiry, ids kept byte for byte), durability across reopen, group commit, pending queues
//! (order, bound, ack, expiry, reopen), and the errors a bad data directory gives.
//! Time is injected (`now` arguments); nothing here sleeps (the commit delay's test waits on the
//! store's counters, not a clock).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use smpp_store::{
    Correlation, CorrelationKey, EmbeddedStore, Options, QueuePolicy, Store, StoreError,
    MARKER_FILE,
};

fn t(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_790_000_000 + secs)
}

fn create() -> Options {
    Options {
        create_dir: true,
        ..Options::default()
    }
}

fn record(connector: &str, carrier_id: &[u8], n: u32, expires: SystemTime) -> Correlation {
    Correlation {
        key: CorrelationKey::new(connector, carrier_id.to_vec()),
        message_id: Bytes::from(format!("n1-{n:08}")),
        account: "acme".into(),
        part: 1,
        parts: 1,
        submitted_at: t(0),
        expires_at: expires,
        source: Bytes::from_static(b"ACME"),
        destination: Bytes::from_static(b"447700900123"),
    }
}

#[tokio::test]
async fn put_get_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), create()).unwrap();
    let a = record("carrier-a", b"0x1F", 1, t(3600));
    let b = record("carrier-a", b"31", 2, t(3600));
    let c = record("carrier-b", b"0x1F", 3, t(3600));
    store
        .put_correlations(&[a.clone(), b.clone(), c.clone()])
        .await
        .unwrap();

    let missing = CorrelationKey::new("carrier-a", &b"1F"[..]);
    let got = store
        .get_correlations(&[a.key.clone(), missing.clone(), c.key.clone(), b.key.clone()])
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![Some(a.clone()), None, Some(c.clone()), Some(b.clone())]
    );

    store
        .delete_correlations(&[a.key.clone(), missing])
        .await
        .unwrap();
    let got = store
        .get_correlations(&[a.key.clone(), b.key.clone(), c.key.clone()])
        .await
        .unwrap();
    assert_eq!(got, vec![None, Some(b), Some(c)]);
}

/// Lookups answer the same whether a record is among the recently written ones kept in memory
/// or only in the engine: none kept, two kept (most of them only on disk), the default.
#[tokio::test]
async fn lookups_agree_whether_or_not_a_record_is_kept_in_memory() {
    for recent_records in [0, 2, Options::default().recent_records] {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            recent_records,
            ..create()
        };
        let store = EmbeddedStore::open(dir.path(), options).unwrap();
        let recs: Vec<_> = (0..6u32)
            .map(|i| record("c", format!("id{i}").as_bytes(), i, t(60 + u64::from(i))))
            .collect();
        for r in &recs {
            store
                .put_correlations(std::slice::from_ref(r))
                .await
                .unwrap();
        }
        let keys: Vec<_> = recs.iter().map(|r| r.key.clone()).collect();
        let got = store.get_correlations(&keys).await.unwrap();
        let all: Vec<_> = recs.iter().cloned().map(Some).collect();
        assert_eq!(got, all, "recent_records {recent_records}");

        // Deleted (the newest, kept in memory if any is; and the oldest), then one replaced,
        // then expired: the newest by its deadline, while it is still kept in memory.
        store
            .delete_correlations(&[keys[5].clone(), keys[0].clone()])
            .await
            .unwrap();
        let replaced = record("c", b"id1", 100, t(7200));
        store
            .put_correlations(std::slice::from_ref(&replaced))
            .await
            .unwrap();
        let late = record("c", b"late", 7, t(30));
        store
            .put_correlations(std::slice::from_ref(&late))
            .await
            .unwrap();
        let got = store
            .get_correlations(&[
                keys[5].clone(),
                keys[0].clone(),
                keys[1].clone(),
                late.key.clone(),
            ])
            .await
            .unwrap();
        assert_eq!(
            got,
            vec![None, None, Some(replaced.clone()), Some(late.clone())],
            "recent_records {recent_records}"
        );
        assert_eq!(store.expire_correlations(t(63), 100).await.unwrap(), 3);
        let got = store.get_correlations(&keys[1..5]).await.unwrap();
        assert_eq!(
            got,
            vec![Some(replaced), None, None, Some(recs[4].clone())],
            "recent_records {recent_records}"
        );
        assert_eq!(
            store.get_correlations(&[late.key]).await.unwrap(),
            vec![None],
            "recent_records {recent_records}"
        );
    }
}

#[tokio::test]
async fn carrier_ids_are_kept_byte_for_byte() {
    // Leading zeros, hex and decimal spellings of "the same number" are different ids.
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), create()).unwrap();
    let ids: [&[u8]; 4] = [b"00ab", b"ab", b"0171", b"171"];
    let recs: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| record("c", id, i as u32, t(60)))
        .collect();
    store.put_correlations(&recs).await.unwrap();
    let keys: Vec<_> = recs.iter().map(|r| r.key.clone()).collect();
    let got = store.get_correlations(&keys).await.unwrap();
    for (r, g) in recs.iter().zip(got) {
        assert_eq!(g.as_ref(), Some(r));
    }
}

#[tokio::test]
async fn a_later_put_of_the_same_key_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), create()).unwrap();
    let first = record("c", b"42", 1, t(60));
    let second = record("c", b"42", 2, t(7200));
    store
        .put_correlations(&[first.clone(), second.clone()])
        .await
        .unwrap();
    let got = store
        .get_correlations(std::slice::from_ref(&first.key))
        .await
        .unwrap();
    assert_eq!(got, vec![Some(second.clone())]);
    // The replaced record's deadline does not drop the new one.
    assert_eq!(store.expire_correlations(t(100), 100).await.unwrap(), 0);
    let got = store
        .get_correlations(std::slice::from_ref(&first.key))
        .await
        .unwrap();
    assert_eq!(got, vec![Some(second)]);
}

#[tokio::test]
async fn records_survive_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let recs: Vec<_> = (0..500u32)
        .map(|i| record("carrier-a", format!("{i:010}").as_bytes(), i, t(3600)))
        .collect();
    {
        let store = EmbeddedStore::open(dir.path(), create()).unwrap();
        store.put_correlations(&recs).await.unwrap();
        store
            .delete_correlations(&[recs[7].key.clone()])
            .await
            .unwrap();
    }
    let store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
    let keys: Vec<_> = recs.iter().map(|r| r.key.clone()).collect();
    let got = store.get_correlations(&keys).await.unwrap();
    for (i, (r, g)) in recs.iter().zip(got).enumerate() {
        if i == 7 {
            assert_eq!(g, None);
        } else {
            assert_eq!(g.as_ref(), Some(r), "record {i}");
        }
    }
}

/// Records kept in memory have no expiry-index entry yet: a clean close writes theirs, so they
/// expire at their deadline after a reopen like the records pushed out of memory earlier (and
/// one deleted while in memory stays deleted). None kept, two kept, the default.
#[tokio::test]
async fn records_kept_in_memory_still_expire_after_a_clean_close() {
    for recent_records in [0, 2, Options::default().recent_records] {
        let dir = tempfile::tempdir().unwrap();
        let recs: Vec<_> = (0..5u32)
            .map(|i| record("c", format!("id{i}").as_bytes(), i, t(10 + u64::from(i))))
            .collect();
        {
            let options = Options {
                recent_records,
                ..create()
            };
            let store = EmbeddedStore::open(dir.path(), options).unwrap();
            for r in &recs {
                store
                    .put_correlations(std::slice::from_ref(r))
                    .await
                    .unwrap();
            }
            store
                .delete_correlations(&[recs[4].key.clone()])
                .await
                .unwrap();
        }
        let options = Options {
            recent_records,
            ..Options::default()
        };
        let store = EmbeddedStore::open(dir.path(), options).unwrap();
        let n = |now| store.expire_correlations(now, 100);
        assert_eq!(n(t(9)).await.unwrap(), 0, "recent_records {recent_records}");
        assert_eq!(
            n(t(12)).await.unwrap(),
            3,
            "recent_records {recent_records}"
        );
        assert_eq!(
            n(t(100)).await.unwrap(),
            1,
            "recent_records {recent_records}"
        );
        let keys: Vec<_> = recs.iter().map(|r| r.key.clone()).collect();
        let got = store.get_correlations(&keys).await.unwrap();
        assert!(
            got.iter().all(Option::is_none),
            "recent_records {recent_records}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_one_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path(), create()).unwrap());
    let writers = 200u32;
    let before = store.stats();
    let handles = {
        let _hold = store.hold_commits();
        let handles: Vec<_> = (0..writers)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let r = record("c", format!("id-{i}").as_bytes(), i, t(60));
                    store.put_correlations(&[r]).await
                })
            })
            .collect();
        // Wait (without sleeping on a clock) until every writer has queued its operation. The
        // writers run on the runtime's workers; this test body is not one of them.
        while store.stats().submitted < before.submitted + u64::from(writers) {
            std::thread::yield_now();
        }
        handles
    };
    for h in handles {
        h.await.unwrap().unwrap();
    }
    let after = store.stats();
    assert_eq!(after.ops - before.ops, u64::from(writers));
    assert_eq!(after.commits - before.commits, 1, "{after:?}");
    assert_eq!(after.largest_group, u64::from(writers));

    // And the records are all there.
    let keys: Vec<_> = (0..writers)
        .map(|i| CorrelationKey::new("c", format!("id-{i}").into_bytes()))
        .collect();
    let got = store.get_correlations(&keys).await.unwrap();
    assert!(got.iter().all(Option::is_some));
}

/// Spawns one `put_correlations` writer per id, each with its own key.
fn writers(
    store: &Arc<EmbeddedStore>,
    ids: std::ops::Range<u32>,
) -> Vec<tokio::task::JoinHandle<smpp_store::Result<()>>> {
    ids.map(|i| {
        let store = Arc::clone(store);
        tokio::spawn(async move {
            let r = record("c", format!("id-{i}").as_bytes(), i, t(60));
            store.put_correlations(&[r]).await
        })
    })
    .collect()
}

/// Spins (without a clock) until the store's counters reach `pred`.
fn until(store: &EmbeddedStore, pred: impl Fn(&smpp_store::CommitStats) -> bool) {
    while !pred(&store.stats()) {
        std::thread::yield_now();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_store_waits_the_commit_delay_and_commits_what_came_meanwhile_with_its_group() {
    // Groups of at most 12. The delay is long, so the writes that arrive during it certainly
    // arrive in time; only the second group waits for it.
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        max_group: 12,
        commit_delay: Duration::from_secs(2),
        ..create()
    };
    let store = Arc::new(EmbeddedStore::open(dir.path(), options).unwrap());
    let busy = smpp_store::BUSY_GROUP as u32;
    let mut handles = {
        let _hold = store.hold_commits();
        let handles = writers(&store, 0..12 + busy);
        until(&store, |s| s.submitted == u64::from(12 + busy));
        handles
    };
    // The first group (12) commits; the next finds `busy` queued and waits; three more come.
    until(&store, |s| s.commits == 1);
    handles.extend(writers(&store, 100..103));
    for h in handles {
        h.await.unwrap().unwrap();
    }
    let after = store.stats();
    assert_eq!(after.ops, u64::from(12 + busy + 3));
    assert_eq!(
        after.commits, 2,
        "the late three joined the waiting group: {after:?}"
    );
    assert_eq!(after.largest_group, 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_store_commits_a_lone_write_without_the_commit_delay() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        commit_delay: Duration::from_secs(20),
        ..create()
    };
    let store = EmbeddedStore::open(dir.path(), options).unwrap();
    for i in 0..3 {
        let r = record("c", format!("lone-{i}").as_bytes(), i, t(60));
        tokio::time::timeout(Duration::from_secs(10), store.put_correlations(&[r]))
            .await
            .expect("a lone write does not wait for the delay")
            .unwrap();
    }
    assert_eq!(store.stats().commits, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_writers_without_a_hold_all_complete() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedStore::open(dir.path(), create()).unwrap());
    let handles: Vec<_> = (0..64u32)
        .map(|w| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..50u32 {
                    let r = record("c", format!("{w}-{i}").as_bytes(), i, t(60));
                    store.put_correlations(&[r]).await?;
                }
                Ok::<_, StoreError>(())
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap().unwrap();
    }
    let s = store.stats();
    assert_eq!(s.ops, 64 * 50);
    assert!(s.commits <= s.ops, "{s:?}");
}

#[tokio::test]
async fn correlations_expire_at_their_own_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), create()).unwrap();
    // Per-connector retention: the caller sets each record's deadline.
    let short = record("fast-carrier", b"1", 1, t(60));
    let long = record("slow-carrier", b"1", 2, t(72 * 3600));
    let deleted = record("fast-carrier", b"2", 3, t(60));
    store
        .put_correlations(&[short.clone(), long.clone(), deleted.clone()])
        .await
        .unwrap();
    store
        .delete_correlations(std::slice::from_ref(&deleted.key))
        .await
        .unwrap();

    assert_eq!(store.expire_correlations(t(59), 100).await.unwrap(), 0);
    // At the deadline: the short one goes (the deleted one's index entry goes too, uncounted).
    assert_eq!(store.expire_correlations(t(60), 100).await.unwrap(), 1);
    let got = store
        .get_correlations(&[short.key.clone(), long.key.clone()])
        .await
        .unwrap();
    assert_eq!(got, vec![None, Some(long.clone())]);
    assert_eq!(store.expire_correlations(t(3600), 100).await.unwrap(), 0);
    assert_eq!(
        store.expire_correlations(t(72 * 3600), 100).await.unwrap(),
        1
    );
    assert_eq!(
        store.get_correlations(&[long.key]).await.unwrap(),
        vec![None]
    );

    // A record whose deadline is already behind the last sweep is still swept.
    let late = record("fast-carrier", b"3", 4, t(30));
    store
        .put_correlations(std::slice::from_ref(&late))
        .await
        .unwrap();
    assert_eq!(
        store.expire_correlations(t(72 * 3600), 100).await.unwrap(),
        1
    );
    assert_eq!(
        store.get_correlations(&[late.key]).await.unwrap(),
        vec![None]
    );
}

#[tokio::test]
async fn correlation_expiry_works_in_limited_slices() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), create()).unwrap();
    let recs: Vec<_> = (0..25u32)
        .map(|i| record("c", format!("{i}").as_bytes(), i, t(u64::from(i))))
        .collect();
    store.put_correlations(&recs).await.unwrap();
    let mut total = 0;
    loop {
        let n = store.expire_correlations(t(1000), 10).await.unwrap();
        total += n;
        if n < 10 {
            break;
        }
    }
    assert_eq!(total, 25);
}

#[tokio::test]
async fn too_long_fields_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), create()).unwrap();
    let mut r = record("c", b"1", 1, t(60));
    r.destination = Bytes::from(vec![b'9'; 300]);
    let ok = record("c", b"2", 2, t(60));
    let e = store.put_correlations(&[ok.clone(), r]).await.unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::TooLong {
                field: "destination address",
                len: 300,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(store.get_correlations(&[ok.key]).await.unwrap(), vec![None]);
}

// ---- pending queues ----

fn policy(max_len: u64) -> QueuePolicy {
    QueuePolicy {
        max_len,
        ttl: Duration::from_secs(3600),
    }
}

fn payloads(range: std::ops::Range<u32>) -> Vec<Bytes> {
    range.map(|i| Bytes::from(format!("dlr-{i}"))).collect()
}

#[tokio::test]
async fn pending_queue_keeps_order_and_acks_by_position() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), create()).unwrap();
    let seqs = store
        .append_pending("acme", &payloads(0..3), t(0), policy(100))
        .await
        .unwrap();
    assert_eq!(seqs, 0..3);
    let seqs = store
        .append_pending("acme", &payloads(3..5), t(1), policy(100))
        .await
        .unwrap();
    assert_eq!(seqs, 3..5);
    // Another account's queue is separate, and its name is not a prefix trap.
    store
        .append_pending("acm", &payloads(100..101), t(0), policy(100))
        .await
        .unwrap();

    let head = store.peek_pending("acme", 3).await.unwrap();
    let got: Vec<_> = head.iter().map(|e| (e.seq, e.payload.clone())).collect();
    assert_eq!(
        got,
        vec![
            (0, "dlr-0".into()),
            (1, "dlr-1".into()),
            (2, "dlr-2".into())
        ]
    );
    assert_eq!(head[0].enqueued_at, t(0));
    assert_eq!(head[0].expires_at, t(3600));

    // Peek does not remove; acks may come out of order; unknown and repeated seqs are ignored.
    assert_eq!(store.peek_pending("acme", 10).await.unwrap().len(), 5);
    assert_eq!(store.ack_pending("acme", &[1, 1, 99]).await.unwrap(), 1);
    assert_eq!(store.ack_pending("acme", &[1]).await.unwrap(), 0);
    assert_eq!(store.ack_pending("acme", &[0, 3]).await.unwrap(), 2);
    let left: Vec<_> = store
        .peek_pending("acme", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(left, vec![2, 4]);
    assert_eq!(store.pending_len("acme").await.unwrap(), 2);
    assert_eq!(store.pending_len("acm").await.unwrap(), 1);
    assert_eq!(store.pending_len("nobody").await.unwrap(), 0);
    assert!(store.peek_pending("nobody", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_full_queue_refuses_the_whole_append() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), create()).unwrap();
    store
        .append_pending("acme", &payloads(0..3), t(0), policy(4))
        .await
        .unwrap();
    let e = store
        .append_pending("acme", &payloads(3..5), t(0), policy(4))
        .await
        .unwrap_err();
    match e {
        StoreError::QueueFull {
            account,
            len,
            max_len,
            adding,
        } => assert_eq!((account.as_str(), len, max_len, adding), ("acme", 3, 4, 2)),
        other => panic!("expected QueueFull, got {other}"),
    }
    assert_eq!(store.pending_len("acme").await.unwrap(), 3);
    // One still fits; after an ack, another.
    assert_eq!(
        store
            .append_pending("acme", &payloads(5..6), t(0), policy(4))
            .await
            .unwrap(),
        3..4
    );
    assert!(store
        .append_pending("acme", &payloads(6..7), t(0), policy(4))
        .await
        .is_err());
    store.ack_pending("acme", &[0]).await.unwrap();
    assert_eq!(
        store
            .append_pending("acme", &payloads(6..7), t(0), policy(4))
            .await
            .unwrap(),
        4..5
    );
}

#[tokio::test]
async fn pending_entries_expire_from_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path(), create()).unwrap();
    let p = QueuePolicy {
        max_len: 100,
        ttl: Duration::from_secs(60),
    };
    store
        .append_pending("acme", &payloads(0..2), t(0), p)
        .await
        .unwrap();
    store
        .append_pending("acme", &payloads(2..3), t(30), p)
        .await
        .unwrap();
    store
        .append_pending("other", &payloads(0..1), t(10), p)
        .await
        .unwrap();

    assert_eq!(store.expire_pending(t(59), 100).await.unwrap(), 0);
    assert_eq!(store.expire_pending(t(60), 100).await.unwrap(), 2);
    let left: Vec<_> = store
        .peek_pending("acme", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(left, vec![2]);
    assert_eq!(store.pending_len("other").await.unwrap(), 1);
    // The limit bounds the work per call.
    assert_eq!(store.expire_pending(t(1000), 1).await.unwrap(), 1);
    assert_eq!(store.expire_pending(t(1000), 1).await.unwrap(), 1);
    assert_eq!(store.expire_pending(t(1000), 1).await.unwrap(), 0);
    assert_eq!(store.pending_len("acme").await.unwrap(), 0);
}

#[tokio::test]
async fn queues_survive_reopen_and_never_reuse_a_seq() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = EmbeddedStore::open(dir.path(), create()).unwrap();
        store
            .append_pending("acme", &payloads(0..4), t(0), policy(10))
            .await
            .unwrap();
        store.ack_pending("acme", &[0, 3]).await.unwrap();
    }
    let store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
    assert_eq!(store.pending_len("acme").await.unwrap(), 2);
    let left: Vec<_> = store
        .peek_pending("acme", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.payload))
        .collect();
    assert_eq!(left, vec![(1, "dlr-1".into()), (2, "dlr-2".into())]);
    // Seq 3 was acked before the restart; the next append continues after it.
    assert_eq!(
        store
            .append_pending("acme", &payloads(4..5), t(1), policy(10))
            .await
            .unwrap(),
        4..5
    );
}

// ---- the data directory ----

#[test]
fn an_absent_directory_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir");
    let e = EmbeddedStore::open(&missing, Options::default()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, StoreError::Directory { .. }), "{msg}");
    assert!(msg.contains(&missing.display().to_string()), "{msg}");
    assert!(msg.contains("does not exist"), "{msg}");
    // With create_dir it is created.
    EmbeddedStore::open(&missing, create()).unwrap();
}

#[test]
fn a_file_or_a_foreign_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"hello").unwrap();
    let e = EmbeddedStore::open(&file, create()).unwrap_err();
    assert!(e.to_string().contains("is not a directory"), "{e}");
    assert!(e.to_string().contains(&file.display().to_string()), "{e}");

    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), b"mine").unwrap();
    let e = EmbeddedStore::open(&foreign, create()).unwrap_err();
    assert!(e.to_string().contains("not a store directory"), "{e}");
    assert!(
        e.to_string().contains(&foreign.display().to_string()),
        "{e}"
    );
}

#[test]
fn a_corrupt_store_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    drop(EmbeddedStore::open(dir.path(), create()).unwrap());

    // A marker from another format (or overwritten) is refused before the engine runs.
    let marker = dir.path().join(MARKER_FILE);
    let good = std::fs::read(&marker).unwrap();
    std::fs::write(&marker, b"\x00\x01garbage").unwrap();
    let e = EmbeddedStore::open(dir.path(), Options::default()).unwrap_err();
    assert!(matches!(e, StoreError::Directory { .. }), "{e}");
    assert!(
        e.to_string().contains(&dir.path().display().to_string()),
        "{e}"
    );
    std::fs::write(&marker, good).unwrap();

    // Garbage in the engine's own files: the engine refuses, and the error names the path.
    let engine_dir = dir.path().join("fjall");
    for entry in std::fs::read_dir(&engine_dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            std::fs::write(&p, b"\xff\xfe not what fjall wrote").unwrap();
        }
    }
    let e = EmbeddedStore::open(dir.path(), Options::default()).unwrap_err();
    assert!(matches!(e, StoreError::Engine { .. }), "{e:?}");
    assert!(
        e.to_string().contains(&dir.path().display().to_string()),
        "{e}"
    );
}

#[test]
fn a_directory_in_use_is_refused_until_released() {
    let dir = tempfile::tempdir().unwrap();
    let first = EmbeddedStore::open(dir.path(), create()).unwrap();
    let e = EmbeddedStore::open(dir.path(), Options::default()).unwrap_err();
    assert!(matches!(e, StoreError::Directory { .. }), "{e}");
    assert!(e.to_string().contains("in use"), "{e}");
    assert!(
        e.to_string().contains(&dir.path().display().to_string()),
        "{e}"
    );
    drop(first);
    EmbeddedStore::open(dir.path(), Options::default()).unwrap();
}

#[tokio::test]
async fn the_commit_hook_hears_every_group_commit() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let heard = Arc::new(AtomicU64::new(0));
    let h = heard.clone();
    let options = Options {
        on_commit: Some(smpp_store::CommitHook(Arc::new(move |_| {
            h.fetch_add(1, Ordering::SeqCst);
        }))),
        ..create()
    };
    let store = EmbeddedStore::open(dir.path(), options).unwrap();
    for n in 0..3 {
        store
            .put_correlations(&[record("c", format!("{n}").as_bytes(), n, t(60))])
            .await
            .unwrap();
    }
    assert_eq!(heard.load(Ordering::SeqCst), store.stats().commits);
    assert!(heard.load(Ordering::SeqCst) >= 3);
}
