//! Engine comparison for the correlation workload (issue 5: "pick the embedded store by
//! measuring"). For each candidate engine, in one run on the same data:
//!
//! 1. insert N correlation records in batches, each batch one atomic commit followed by one
//!    fsync (what the group committer does), writing the record and its expiry-index entry;
//! 2. look every record up by key (point reads, in a different order from insertion);
//! 3. delete every record in fsync'd batches (the record only: the store's expiry index is
//!    cleaned lazily by the expiry sweep, so a delete needs no read — as `delete_correlations`).
//!
//! The key and value shapes mirror the store's encoding (length-prefixed connector name +
//! carrier id as the carrier gave it; a ~100-byte value) so the engines see realistic sizes,
//! but this file does not use the store itself: the adapters are thin and bench-only.
//!
//! Then the store itself ([`EmbeddedStore`] through the [`Store`] trait): `TASKS` concurrent
//! tokio tasks each put, look up and delete their share of the records **one record per call**,
//! so all batching comes from the group committer — the figure the router will see.
//!
//! Run: `cargo bench -p smpp-store --bench engines` (env `N`, `BATCH` override the sizes).
//! Timings belong here and in the README, never in pass/fail tests.

#![allow(missing_docs, clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use smpp_store::{Correlation, CorrelationKey, EmbeddedStore, Store};

type Kv = (Vec<u8>, Vec<u8>, Vec<u8>);

/// What both engines must do; one instance per engine and data directory.
trait Engine {
    fn name(&self) -> &'static str;
    fn insert_batch(&mut self, batch: &[Kv]);
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
    fn delete_batch(&mut self, keys: &[&[u8]]);
    fn files(&self) -> (usize, u64);
}

/// The expiry-index key of a record: the deadline first (big-endian), so expiry is a range scan.
fn expiry_key(value: &[u8], key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + key.len());
    k.extend_from_slice(&value[..8]);
    k.extend_from_slice(key);
    k
}

struct Fjall {
    ks: fjall::Keyspace,
    corr: fjall::PartitionHandle,
    exp: fjall::PartitionHandle,
    dir: std::path::PathBuf,
}

impl Fjall {
    fn open(dir: &Path) -> Self {
        let ks = fjall::Config::new(dir)
            .manual_journal_persist(true)
            .open()
            .unwrap();
        let corr = ks
            .open_partition("corr", fjall::PartitionCreateOptions::default())
            .unwrap();
        let exp = ks
            .open_partition("corr_exp", fjall::PartitionCreateOptions::default())
            .unwrap();
        Self {
            ks,
            corr,
            exp,
            dir: dir.to_owned(),
        }
    }
}

impl Engine for Fjall {
    fn name(&self) -> &'static str {
        "fjall 2.11"
    }
    fn insert_batch(&mut self, batch: &[Kv]) {
        let mut b = self.ks.batch();
        for (k, v, e) in batch {
            b.insert(&self.corr, k.as_slice(), v.as_slice());
            b.insert(&self.exp, e.as_slice(), []);
        }
        b.commit().unwrap();
        self.ks.persist(fjall::PersistMode::SyncData).unwrap();
    }
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.corr.get(key).unwrap().map(|v| v.to_vec())
    }
    fn delete_batch(&mut self, keys: &[&[u8]]) {
        let mut b = self.ks.batch();
        for k in keys {
            b.remove(&self.corr, *k);
        }
        b.commit().unwrap();
        self.ks.persist(fjall::PersistMode::SyncData).unwrap();
    }
    fn files(&self) -> (usize, u64) {
        dir_stats(&self.dir)
    }
}

const REDB_CORR: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("corr");
const REDB_EXP: redb::TableDefinition<&[u8], ()> = redb::TableDefinition::new("corr_exp");

struct Redb {
    db: redb::Database,
    dir: std::path::PathBuf,
}

impl Redb {
    fn open(dir: &Path) -> Self {
        let db = redb::Database::create(dir.join("store.redb")).unwrap();
        Self {
            db,
            dir: dir.to_owned(),
        }
    }
}

impl Engine for Redb {
    fn name(&self) -> &'static str {
        "redb 2.6"
    }
    fn insert_batch(&mut self, batch: &[Kv]) {
        let tx = self.db.begin_write().unwrap(); // Durability::Immediate: fsync on commit
        {
            let mut corr = tx.open_table(REDB_CORR).unwrap();
            let mut exp = tx.open_table(REDB_EXP).unwrap();
            for (k, v, e) in batch {
                corr.insert(k.as_slice(), v.as_slice()).unwrap();
                exp.insert(e.as_slice(), ()).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        // One read transaction per lookup, as a store serving independent callers would do.
        let tx = self.db.begin_read().unwrap();
        let corr = tx.open_table(REDB_CORR).unwrap();
        corr.get(key).unwrap().map(|v| v.value().to_vec())
    }
    fn delete_batch(&mut self, keys: &[&[u8]]) {
        let tx = self.db.begin_write().unwrap();
        {
            let mut corr = tx.open_table(REDB_CORR).unwrap();
            for k in keys {
                corr.remove(*k).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    fn files(&self) -> (usize, u64) {
        dir_stats(&self.dir)
    }
}

fn dir_stats(dir: &Path) -> (usize, u64) {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let md = e.metadata().unwrap();
            if md.is_dir() {
                stack.push(e.path());
            } else {
                files += 1;
                bytes += md.len();
            }
        }
    }
    (files, bytes)
}

/// A deterministic xorshift, so both engines get the same data without a rand dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// N records: carrier ids as carriers give them (hex strings, some decimal with leading
/// zeros), spread over 4 connectors; values ~100 bytes starting with the expiry deadline.
fn records(n: usize) -> Vec<Kv> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let base_ms: u64 = 1_790_000_000_000;
    (0..n)
        .map(|i| {
            let connector = format!("carrier-{}", i % 4);
            let carrier_id = if i % 2 == 0 {
                format!("{:016x}", rng.next())
            } else {
                format!("{:020}", rng.next() % 10u64.pow(15))
            };
            let mut key = vec![connector.len() as u8];
            key.extend_from_slice(connector.as_bytes());
            key.extend_from_slice(carrier_id.as_bytes());
            let expires = base_ms + 72 * 3600 * 1000 + i as u64;
            let mut value = expires.to_be_bytes().to_vec();
            value.extend_from_slice(format!("n01-{:016x}-{:08}", rng.next(), i).as_bytes());
            value.extend_from_slice(b"\x0aaccount-42\x01\x01");
            value.extend_from_slice(&(base_ms + i as u64).to_be_bytes());
            value.extend_from_slice(b"\x0b447700900123\x0bACME-ALERTS");
            while value.len() < 100 {
                value.push(0);
            }
            let exp = expiry_key(&value, &key);
            (key, value, exp)
        })
        .collect()
}

struct Phases {
    insert: f64,
    get: f64,
    delete: f64,
    files_after_insert: (usize, u64),
    files_after_delete: (usize, u64),
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn run(engine: &mut dyn Engine, data: &[Kv], batch: usize) -> Phases {
    let t = Instant::now();
    for chunk in data.chunks(batch) {
        engine.insert_batch(chunk);
    }
    let insert = rate(data.len(), t.elapsed());
    let files_after_insert = engine.files();

    // Look up in a different order from insertion (stride through the data).
    let stride = 7919;
    let t = Instant::now();
    let mut found = 0usize;
    for j in 0..data.len() {
        let (k, v, _) = &data[(j * stride) % data.len()];
        if engine.get(k).as_deref() == Some(v.as_slice()) {
            found += 1;
        }
    }
    let get = rate(data.len(), t.elapsed());
    assert_eq!(
        found,
        data.len(),
        "{}: lookups must find every record",
        engine.name()
    );

    let keys: Vec<&[u8]> = data.iter().map(|(k, _, _)| k.as_slice()).collect();
    let t = Instant::now();
    for chunk in keys.chunks(batch) {
        engine.delete_batch(chunk);
    }
    let delete = rate(data.len(), t.elapsed());
    assert!(engine.get(&data[0].0).is_none());
    let files_after_delete = engine.files();
    Phases {
        insert,
        get,
        delete,
        files_after_insert,
        files_after_delete,
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too, so keep that small.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = env_usize("N", if quick { 2_000 } else { 200_000 });
    let batch = env_usize("BATCH", 256);
    let data = records(n);
    println!("correlation workload: {n} records, {batch} per fsync'd commit");

    // ROUNDS=0 skips the engine comparison (only the store bench below runs).
    let rounds = env_usize("ROUNDS", 1);
    if rounds > 0 {
        println!(
            "{:<6} {:<12} {:>10} {:>10} {:>10} {:>20} {:>20}",
            "round", "engine", "insert/s", "get/s", "delete/s", "after insert", "after delete"
        );
    }
    for round in 1..=rounds {
        let tmp = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into()))
            .unwrap();
        let fjall_dir = tmp.path().join("fjall");
        let redb_dir = tmp.path().join("redb");
        std::fs::create_dir_all(&fjall_dir).unwrap();
        std::fs::create_dir_all(&redb_dir).unwrap();

        let mut results = Vec::new();
        {
            let mut e = Fjall::open(&fjall_dir);
            results.push((e.name(), run(&mut e, &data, batch)));
        }
        {
            let mut e = Redb::open(&redb_dir);
            results.push((e.name(), run(&mut e, &data, batch)));
        }
        for (name, p) in &results {
            println!(
                "{:<6} {:<12} {:>10.0} {:>10.0} {:>10.0} {:>4} files {:>5} MB {:>4} files {:>5} MB",
                round,
                name,
                p.insert,
                p.get,
                p.delete,
                p.files_after_insert.0,
                p.files_after_insert.1 / 1_000_000,
                p.files_after_delete.0,
                p.files_after_delete.1 / 1_000_000,
            );
        }
        let (a, b) = (&results[0].1, &results[1].1);
        println!(
            "{:<6} ratio {}/{}: insert {:.2}  get {:.2}  delete {:.2}",
            round,
            results[0].0,
            results[1].0,
            a.insert / b.insert,
            a.get / b.get,
            a.delete / b.delete
        );
    }

    // 400 in flight: the end-to-end shape, 4 sessions × window 100.
    store_bench(n, env_usize("TASKS", 400));
}

/// The store through its trait, one record per call from many tasks: group commit at work.
fn store_bench(n: usize, tasks: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let tmp =
        tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into())).unwrap();
    let store = Arc::new(
        EmbeddedStore::open(
            tmp.path(),
            smpp_store::Options {
                create_dir: true,
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let base = UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    let records: Arc<Vec<Correlation>> = Arc::new(
        records(n)
            .into_iter()
            .enumerate()
            .map(|(i, (k, _, _))| Correlation {
                key: CorrelationKey::new(
                    format!("carrier-{}", i % 4),
                    k[usize::from(k[0]) + 1..].to_vec(),
                ),
                message_id: format!("n01-{i:016x}").into(),
                account: "account-42".into(),
                part: 1,
                parts: 1,
                submitted_at: base,
                expires_at: base + Duration::from_secs(72 * 3600),
                source: "ACME-ALERTS".into(),
                destination: "447700900123".into(),
            })
            .collect(),
    );

    // Runs `f(store, record)` for every record, spread over `tasks` tasks; returns ops/s.
    fn phase<F, Fut>(
        rt: &tokio::runtime::Runtime,
        store: &Arc<EmbeddedStore>,
        records: &Arc<Vec<Correlation>>,
        tasks: usize,
        f: F,
    ) -> f64
    where
        F: Fn(Arc<EmbeddedStore>, Correlation) -> Fut + Send + Sync + Copy + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let t = Instant::now();
        rt.block_on(async {
            let handles: Vec<_> = (0..tasks)
                .map(|w| {
                    let store = Arc::clone(store);
                    let records = Arc::clone(records);
                    tokio::spawn(async move {
                        for r in records.iter().skip(w).step_by(tasks) {
                            f(Arc::clone(&store), r.clone()).await;
                        }
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
        });
        rate(records.len(), t.elapsed())
    }

    let s0 = store.stats();
    let insert = phase(&rt, &store, &records, tasks, |s, r| async move {
        s.put_correlations(&[r]).await.unwrap();
    });
    let s1 = store.stats();
    let get = phase(&rt, &store, &records, tasks, |s, r| async move {
        let got = s
            .get_correlations(std::slice::from_ref(&r.key))
            .await
            .unwrap();
        assert_eq!(got[0].as_ref(), Some(&r));
    });
    let s2 = store.stats();
    let delete = phase(&rt, &store, &records, tasks, |s, r| async move {
        s.delete_correlations(&[r.key]).await.unwrap();
    });
    let s3 = store.stats();
    println!(
        "smpp-store EmbeddedStore, {tasks} tasks, one record per call: \
         insert {insert:.0}/s ({} commits, {:.0} per fsync), get {get:.0}/s, \
         delete {delete:.0}/s ({} commits, {:.0} per fsync), largest group {}",
        s1.commits - s0.commits,
        (s1.ops - s0.ops) as f64 / (s1.commits - s0.commits).max(1) as f64,
        s3.commits - s2.commits,
        (s3.ops - s2.ops) as f64 / (s3.commits - s2.commits).max(1) as f64,
        s3.largest_group,
    );
    println!(
        "  committer: insert apply {:?} + fsync {:?}; delete apply {:?} + fsync {:?}",
        s1.apply_time - s0.apply_time,
        s1.sync_time - s0.sync_time,
        s3.apply_time - s2.apply_time,
        s3.sync_time - s2.sync_time,
    );
}
