//! A write that returned is on disk, not in a userspace buffer: a child process writes through
//! the store, then aborts (no destructor, no flush, no clean close); the parent reopens the
//! directory and finds everything the child was told is durable. (The page cache survives a
//! process abort, so this checks the write path up to the kernel, not the fsync itself.) The
//! child keeps only the newest records in its map, so some records are in fjall and the
//! youngest only in the correlation log when it dies: the open replays the log, and every
//! record — whichever of the two held it, deleted or put again since — comes back as the child
//! last left it, and still expires at its deadline.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use smpp_store::{Correlation, CorrelationKey, EmbeddedStore, Options, QueuePolicy, Store};

const CHILD_ENV: &str = "SMPP_STORE_CRASH_CHILD_DIR";
const RECORDS: u32 = 300;
/// The child's map keeps this many: the older records went to fjall before it died.
const KEPT: usize = 100;
/// Deleted by the child: one that had gone to fjall, one still only in the log.
const DELETED: [u32; 2] = [0, RECORDS - 1];
/// Put again by the child with another message id, after the first put went to fjall.
const PUT_AGAIN: u32 = 5;

fn put_again() -> Correlation {
    Correlation {
        message_id: Bytes::from_static(b"n1-again"),
        ..record(PUT_AGAIN)
    }
}

fn record(i: u32) -> Correlation {
    let t = UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    Correlation {
        key: CorrelationKey::new("carrier-a", format!("{i:020}").into_bytes()),
        message_id: Bytes::from(format!("n1-{i}")),
        account: "acme".into(),
        part: 1,
        parts: 1,
        submitted_at: t,
        expires_at: t + Duration::from_secs(3600),
        source: Bytes::from_static(b"ACME"),
        destination: Bytes::from_static(b"447700900123"),
    }
}

fn policy() -> QueuePolicy {
    QueuePolicy {
        max_len: 100,
        ttl: Duration::from_secs(3600),
    }
}

/// The child: write, report, abort.
fn child(dir: &str) -> ! {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = EmbeddedStore::open(
        dir,
        Options {
            create_dir: true,
            recent_records: KEPT,
            ..Options::default()
        },
    )
    .unwrap();
    rt.block_on(async {
        for chunk in (0..RECORDS).collect::<Vec<_>>().chunks(7) {
            let recs: Vec<_> = chunk.iter().map(|i| record(*i)).collect();
            store.put_correlations(&recs).await.unwrap();
        }
        store.put_correlations(&[put_again()]).await.unwrap();
        let deleted: Vec<_> = DELETED.iter().map(|i| record(*i).key).collect();
        store.delete_correlations(&deleted).await.unwrap();
        let payloads = [Bytes::from_static(b"dlr-a"), Bytes::from_static(b"dlr-b")];
        store
            .append_pending("acme", &payloads, UNIX_EPOCH, policy())
            .await
            .unwrap();
        store.ack_pending("acme", &[0]).await.unwrap();
    });
    std::process::abort();
}

#[test]
fn acked_writes_survive_a_process_abort() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
    }
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "acked_writes_survive_a_process_abort",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD_ENV, dir.path())
        .status()
        .unwrap();
    assert!(!status.success(), "the child must die by abort");

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = EmbeddedStore::open(dir.path(), Options::default()).unwrap();
    rt.block_on(async {
        let keys: Vec<_> = (0..RECORDS).map(|i| record(i).key).collect();
        let got = store.get_correlations(&keys).await.unwrap();
        for (i, g) in got.iter().enumerate() {
            let i = i as u32;
            let want = if DELETED.contains(&i) {
                None
            } else if i == PUT_AGAIN {
                Some(put_again())
            } else {
                Some(record(i))
            };
            assert_eq!(g.as_ref(), want.as_ref(), "record {i}");
        }
        let left: Vec<_> = store
            .peek_pending("acme", 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.seq, e.payload))
            .collect();
        assert_eq!(left, vec![(1, Bytes::from_static(b"dlr-b"))]);
        assert_eq!(store.pending_len("acme").await.unwrap(), 1);

        let deadline = record(0).expires_at;
        let before = deadline - Duration::from_millis(1);
        assert_eq!(store.expire_correlations(before, 1000).await.unwrap(), 0);
        assert_eq!(
            store.expire_correlations(deadline, 1000).await.unwrap(),
            RECORDS as usize - DELETED.len(),
            "every record left expires at its deadline"
        );
        assert!(store
            .get_correlations(&keys)
            .await
            .unwrap()
            .iter()
            .all(Option::is_none));
    });
}
