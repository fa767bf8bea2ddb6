//! The embedded store: a data directory holding a fjall keyspace, written by one committer
//! thread with group commit.
//!
//! **Why fjall.** benches/engines.rs ran the correlation workload on fjall and redb; the README
//! has the figures. fjall (an LSM tree) appends a batch to its journal, so a commit costs one
//! sequential write and one fsync whatever the keys; redb (a copy-on-write B-tree) rewrites
//! every leaf page the batch touches, which for random carrier ids means most of a batch's
//! pages, and its file does not shrink after deletes without an exclusive `compact()`. Writes
//! are the hot, latency-critical path here (every ack waits for one), so the LSM fits.
//!
//! **Group commit.** Callers encode their records on their own task, send an operation to the
//! committer thread and await a oneshot. The committer takes the first operation, then
//! everything else already queued (up to a cap), writes consecutive correlation puts, deletes
//! and queue appends as one atomic fjall batch (one journal append, no fsync; a repeated key
//! starts a new batch), applies each other operation as its own batch, then fsyncs the journal
//! once and only then answers every caller in the group. Under load groups grow by themselves,
//! so throughput is bounded by the disk's sequential bandwidth, not by its fsync latency; an
//! idle store commits a lone write at once. A busy store can also wait a little before each
//! commit ([`Options::commit_delay`], PostgreSQL's `commit_delay`): each fsync then serves more
//! operations. It is the fsync and the thread wake-ups around it, not the bytes, that cost CPU
//! and I/O operations, so this saves both for a bounded wait; a caller that waits for its
//! answer before sending more (a full window) pays for it in rate, so it is off by default.
//! Operations that read before they write (queue bounds, acks, expiry sweeps) run on the
//! committer too, so they never race a concurrent write and need no locks of their own; an
//! append's bound check reads only the in-memory queue state, which a batch updates only once
//! it is written. A read on another task may see a write a few hundred microseconds before its
//! fsync; that is harmless (nobody was told it was durable yet) and saves a second copy of the
//! data.
//!
//! **Young correlation records** are not written to fjall at all: a put is appended to the
//! correlation log ([`wal`](crate::wal)), fsynced with the group, and kept in the
//! recent-records map ([`Recent`]); a receipt's delete removes it from the map and appends a
//! delete. Only a record still alive when it leaves the map goes into fjall. The committer
//! fsyncs the log, and fjall's journal only if fjall was written since its last fsync.
//!
//! **Reads** (lookups, peeks) run on the caller's task: a correlation lookup is answered from
//! the map of recently written records ([`Recent`], one hash probe) almost always, else from
//! the memtable or the block cache (receipts follow submits by seconds); a miss costs one
//! block read — less than a hop to a blocking pool would, per receipt.
//!
//! **Failure.** If a commit fails, fjall marks the keyspace poisoned; every caller of that
//! group, and every later writer, gets [`StoreError::Commit`]. Nothing is retried: the router
//! must not ack what may not be on disk, and a restart recovers from the journal.
//!
//! **Expiry index.** A correlation record in fjall has an index entry keyed by its deadline,
//! written in the same batch, so expiry is a range scan from the start of time to `now`, plus
//! a look through the map (whose records have no entry). Deletes do not touch the index (a
//! delete needs no read); the sweep drops index entries whose record is gone or was replaced
//! with another deadline. Stale entries cost ~60 bytes for at most one retention period.
//!
//! **Clean close and recovery.** Closing moves the records still in the map into fjall, syncs
//! and empties the log. Opening replays whatever log is left (after a crash) into fjall before
//! it serves, in time proportional to the log's size: at most [`wal::MAX_SEGMENTS`] + 1
//! segments.

use foldhash::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use fjall::{PartitionCreateOptions, PartitionHandle, PersistMode};
use tokio::sync::oneshot;

use crate::error::{Result, StoreError};
use crate::recent::{Kept, Recent};
use crate::record::{self, Correlation, CorrelationKey, PendingEntry, QueueMeta, QueuePolicy};
use crate::store::{Store, StoreFuture};
use crate::wal::{self, Wal};

/// The file that marks a directory as a store of this format.
pub const MARKER_FILE: &str = "SMPP-STORE";
/// The file an open store holds an exclusive lock on (unix), so a second process — or a second
/// open in this one — is refused instead of corrupting the first.
pub const LOCK_FILE: &str = "LOCK";
const MARKER: &str = "smpp-store format 2, engine fjall 2\n";
/// Format 1 kept every correlation record in fjall and had no log; its partitions are the
/// same, so a cleanly closed one is upgraded in place (see [`upgrade_v1`]).
const MARKER_V1: &str = "smpp-store format 1, engine fjall 2\n";
/// Format 1's mark of a clean close, in its `store_state` partition.
const V1_CLEAN: &[u8] = b"correlation_index_complete";
const ENGINE_DIR: &str = "fjall";
const LOG_DIR: &str = "correlation-log";

/// How to open an [`EmbeddedStore`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Create the directory (and its parents) if it does not exist. Off by default, so a
    /// mistyped path is an error rather than a new, empty store.
    pub create_dir: bool,
    /// Block cache size in bytes (fjall's default is 32 MiB).
    pub cache_bytes: u64,
    /// At most this many operations in one group commit.
    pub max_group: usize,
    /// When at least [`BUSY_GROUP`] operations are already queued as a commit starts, wait
    /// this long for more before taking the group, so that one fsync serves them too. A
    /// quieter store commits at once. Zero (the default) never waits.
    pub commit_delay: std::time::Duration,
    /// The most recently written correlation records kept in a hash map beside the engine, so
    /// a receipt's lookup is one hash probe instead of a search of the memtable (0: none).
    /// About 150 bytes each.
    pub recent_records: usize,
    /// The correlation log starts a new segment file at this size (see [`wal`](crate::wal)).
    pub log_segment_bytes: u64,
    /// Called on the committer thread with each group commit's time (apply and fsync), for
    /// a latency histogram; keep it cheap.
    pub on_commit: Option<CommitHook>,
}

/// A function told each group commit's duration (see [`Options::on_commit`]).
#[derive(Clone)]
pub struct CommitHook(pub Arc<dyn Fn(std::time::Duration) + Send + Sync>);

impl std::fmt::Debug for CommitHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommitHook")
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            create_dir: false,
            cache_bytes: 64 * 1024 * 1024,
            max_group: 4096,
            commit_delay: std::time::Duration::ZERO,
            recent_records: 100_000,
            log_segment_bytes: wal::SEGMENT_BYTES,
            on_commit: None,
        }
    }
}

/// Counters of the committer, for metrics and for tests that check grouping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Operations handed to the committer.
    pub submitted: u64,
    /// Group commits (each one fsync).
    pub commits: u64,
    /// Operations completed by those commits.
    pub ops: u64,
    /// The most operations one commit has covered.
    pub largest_group: u64,
    /// Time spent applying operations to the engine (journal append, memtable), in total.
    pub apply_time: Duration,
    /// Time spent in fsync, in total (`sync_time / commits` is the mean commit latency floor).
    pub sync_time: Duration,
}

/// What the engine holds now, for gauges: where the store's memory and disk go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Bytes in memtables, active and sealed (not yet flushed), as the engine counts them.
    pub write_buffer_bytes: u64,
    /// Journal files on disk (sealed ones wait for their memtables to be flushed).
    pub journal_files: u64,
    /// Bytes on disk: journals and table files.
    pub disk_bytes: u64,
    /// Segment files of the correlation log (see [`wal`](crate::wal)).
    pub log_segments: u64,
    /// Bytes in those segments.
    pub log_bytes: u64,
}

/// The single-node store: one directory, one committer thread. See the module docs.
pub struct EmbeddedStore {
    shared: Arc<Shared>,
    tx: Option<mpsc::Sender<Op>>,
    committer: Option<JoinHandle<()>>,
    /// Dropped last (fields drop in order), after the keyspace is released.
    _lock: std::fs::File,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

struct Shared {
    path: PathBuf,
    keyspace: fjall::Keyspace,
    corr: PartitionHandle,
    corr_exp: PartitionHandle,
    pending: PartitionHandle,
    meta: PartitionHandle,
    queues: Mutex<HashMap<String, QueueState>>,
    /// Correlation records written lately (see [`Recent`]); only the committer writes it.
    recent: Mutex<Recent>,
    /// The correlation log; only the committer uses it (locked after `recent`).
    wal: Mutex<Wal>,
    /// fjall was written since its journal was last fsynced (committer only). Kept across
    /// groups, not per group: a group that syncs only the log must not remove a segment whose
    /// records an earlier, unsynced group moved into fjall.
    engine_unsynced: AtomicBool,
    /// Held by [`EmbeddedStore::hold_commits`]; the committer takes it before each group.
    hold: Mutex<()>,
    failed: Mutex<Option<String>>,
    /// No expiry-index entry has a deadline below this (committer only): sweeps start here
    /// instead of wading through the tombstones of earlier sweeps.
    expiry_floor: AtomicU64,
    submitted: AtomicU64,
    commits: AtomicU64,
    ops: AtomicU64,
    largest_group: AtomicU64,
    apply_nanos: AtomicU64,
    sync_nanos: AtomicU64,
    on_commit: Option<CommitHook>,
}

#[derive(Debug, Clone, Copy, Default)]
struct QueueState {
    meta: QueueMeta,
    /// No live entry has a seq below this: scans start here, not at the tombstones of entries
    /// acked long ago.
    head: u64,
}

type Done<T> = oneshot::Sender<Result<T>>;

/// Writes of several operations in one fjall batch: correlation puts and deletes, and queue
/// appends (whose only read is the in-memory queue state).
#[derive(Default)]
struct Merged {
    batch: Option<fjall::Batch>,
    /// Hashes of the correlation keys in `batch`. A collision only costs an extra batch.
    keys: HashSet<u64>,
    hasher: foldhash::fast::RandomState,
    /// Indexes of the replies whose writes are in `batch`.
    members: Vec<usize>,
    /// Queue metadata after the appends in `batch`, written once per queue when the batch is
    /// committed (a batch must not hold one key twice), and only then made visible in
    /// `Shared::queues`, so a peek never sees a length or seq whose entries are not written.
    metas: HashMap<String, QueueMeta>,
}

impl Merged {
    fn hash(&self, key: &[u8]) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one(key)
    }

    fn conflicts<'k>(&self, mut keys: impl Iterator<Item = &'k [u8]>) -> bool {
        !self.keys.is_empty() && keys.any(|k| self.keys.contains(&self.hash(k)))
    }

    fn note(&mut self, key: &[u8]) {
        let h = self.hash(key);
        self.keys.insert(h);
    }
}

/// One caller's request, already encoded.
enum Op {
    /// (key, value, deadline in ms) of each record.
    PutCorr {
        items: Vec<(Vec<u8>, Vec<u8>, u64)>,
        done: Done<()>,
    },
    DelCorr {
        keys: Vec<Vec<u8>>,
        done: Done<()>,
    },
    ExpireCorr {
        now_ms: u64,
        limit: usize,
        done: Done<usize>,
    },
    Append {
        account: String,
        prefix: Vec<u8>,
        payloads: Vec<Bytes>,
        now_ms: u64,
        expires_ms: u64,
        max_len: u64,
        done: Done<Range<u64>>,
    },
    Ack {
        account: String,
        prefix: Vec<u8>,
        seqs: Vec<u64>,
        done: Done<usize>,
    },
    ExpirePending {
        now_ms: u64,
        limit: usize,
        done: Done<usize>,
    },
}

/// An applied operation's answer, sent once the group is durable.
enum Reply {
    Unit(Done<()>, Result<()>),
    Count(Done<usize>, Result<usize>),
    Seqs(Done<Range<u64>>, Result<Range<u64>>),
}

impl Reply {
    fn is_ok(&self) -> bool {
        match self {
            Reply::Unit(_, r) => r.is_ok(),
            Reply::Count(_, r) => r.is_ok(),
            Reply::Seqs(_, r) => r.is_ok(),
        }
    }

    /// Answers the caller; if the commit failed, a result that was going to be a success
    /// becomes `fail` instead (errors such as QueueFull stand: they wrote nothing).
    fn send(self, fail: Option<&dyn Fn() -> StoreError>) {
        fn pick<T>(r: Result<T>, fail: Option<&dyn Fn() -> StoreError>) -> Result<T> {
            match (r, fail) {
                (Ok(_), Some(f)) => Err(f()),
                (r, _) => r,
            }
        }
        // A caller that stopped waiting (its future was dropped) is not an error.
        match self {
            Reply::Unit(d, r) => drop(d.send(pick(r, fail))),
            Reply::Count(d, r) => drop(d.send(pick(r, fail))),
            Reply::Seqs(d, r) => drop(d.send(pick(r, fail))),
        }
    }
}

fn add_nanos(counter: &AtomicU64, d: Duration) {
    counter.fetch_add(
        u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding one of these locks leaves plain data behind; go on.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl EmbeddedStore {
    /// Opens the store in `dir`: an existing store, or a new one in an empty directory.
    ///
    /// Fails, naming the path, if the directory is absent (unless
    /// [`Options::create_dir`]), is not a directory, holds other files but no store marker,
    /// holds a store of another format, or the engine cannot recover it.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Self> {
        let path = dir.as_ref().to_path_buf();
        let v1 = prepare_dir(&path, options.create_dir)?;
        let lock = lock_dir(&path)?;
        let engine_err = |e: fjall::Error| StoreError::Engine {
            path: path.clone(),
            source: Box::new(e),
        };
        let keyspace = fjall::Config::new(path.join(ENGINE_DIR))
            .manual_journal_persist(true)
            .cache_size(options.cache_bytes)
            .open()
            .map_err(engine_err)?;
        let part = |name: &str| {
            keyspace
                .open_partition(name, PartitionCreateOptions::default())
                .map_err(engine_err)
        };
        let corr = part("correlation")?;
        let corr_exp = part("correlation_expiry")?;
        let pending = part("pending")?;
        let meta = part("queue_meta")?;
        if v1 {
            upgrade_v1(&path, &keyspace)?;
        }
        let wal = recover_log(&path, &options, &keyspace, &corr, &corr_exp)?;

        let mut queues = HashMap::default();
        for kv in meta.iter() {
            let (k, v) = kv.map_err(engine_err)?;
            let corrupt = |e: record::Decode| StoreError::Corrupt {
                path: path.clone(),
                what: "queue metadata",
                detail: e.0,
            };
            let account = record::decode_account(&k).map_err(corrupt)?;
            let meta = record::decode_meta(&v).map_err(corrupt)?;
            queues.insert(account, QueueState { meta, head: 0 });
        }

        let shared = Arc::new(Shared {
            path,
            keyspace,
            corr,
            corr_exp,
            pending,
            meta,
            queues: Mutex::new(queues),
            recent: Mutex::new(Recent::new(options.recent_records)),
            wal: Mutex::new(wal),
            engine_unsynced: AtomicBool::new(false),
            hold: Mutex::new(()),
            failed: Mutex::new(None),
            expiry_floor: AtomicU64::new(0),
            submitted: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            ops: AtomicU64::new(0),
            largest_group: AtomicU64::new(0),
            apply_nanos: AtomicU64::new(0),
            sync_nanos: AtomicU64::new(0),
            on_commit: options.on_commit.clone(),
        });
        let (tx, rx) = mpsc::channel();
        let committer = {
            let for_thread = Arc::clone(&shared);
            let grouping = Grouping {
                max: options.max_group.max(1),
                delay: options.commit_delay,
            };
            std::thread::Builder::new()
                .name("smpp-store-commit".into())
                .spawn(move || committer(&for_thread, &rx, grouping))
                .map_err(|source| StoreError::Io {
                    path: shared.path.clone(),
                    source,
                })?
        };
        Ok(Self {
            shared,
            tx: Some(tx),
            committer: Some(committer),
            _lock: lock,
        })
    }

    /// The store's directory.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The committer's counters.
    pub fn stats(&self) -> CommitStats {
        let s = &self.shared;
        CommitStats {
            submitted: s.submitted.load(Ordering::Relaxed),
            commits: s.commits.load(Ordering::Relaxed),
            ops: s.ops.load(Ordering::Relaxed),
            largest_group: s.largest_group.load(Ordering::Relaxed),
            apply_time: Duration::from_nanos(s.apply_nanos.load(Ordering::Relaxed)),
            sync_time: Duration::from_nanos(s.sync_nanos.load(Ordering::Relaxed)),
        }
    }

    /// The engine's memory and disk use now (an atomic read and a walk of the partitions'
    /// table lists under their read locks: meant for a scrape, not for every operation).
    pub fn engine_stats(&self) -> EngineStats {
        let k = &self.shared.keyspace;
        let (log_segments, log_bytes) = lock(&self.shared.wal).size();
        EngineStats {
            write_buffer_bytes: k.write_buffer_size(),
            journal_files: k.journal_count() as u64,
            disk_bytes: k.disk_space(),
            log_segments,
            log_bytes,
        }
    }

    /// Stops the committer before its next group until the guard is dropped; operations queue
    /// up meanwhile. For tests that need a deterministic group (and for pausing writes).
    pub fn hold_commits(&self) -> MutexGuard<'_, ()> {
        lock(&self.shared.hold)
    }

    /// Sends an operation to the committer and waits for its answer.
    async fn submit<T>(&self, make: impl FnOnce(Done<T>) -> Op) -> Result<T> {
        let (done, answer) = oneshot::channel();
        let tx = self.tx.as_ref().ok_or(StoreError::Closed)?;
        self.shared.submitted.fetch_add(1, Ordering::Relaxed);
        tx.send(make(done)).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        // Closing the channel lets the committer finish what is queued and exit; joining it
        // releases the keyspace before a reopen of the same directory.
        drop(self.tx.take());
        if let Some(c) = self.committer.take() {
            let _ = c.join();
        }
    }
}

/// Checks (or creates) the directory and its marker, before the engine touches anything;
/// true when it holds a format-1 store (to be upgraded once the engine is open).
fn prepare_dir(path: &Path, create: bool) -> Result<bool> {
    let dir_err = |reason: String| StoreError::Directory {
        path: path.to_path_buf(),
        reason,
    };
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| StoreError::Io { path: p, source }
    };
    match std::fs::metadata(path) {
        Ok(md) if md.is_dir() => {}
        Ok(_) => return Err(dir_err("is not a directory".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !create {
                return Err(dir_err(
                    "does not exist (create it, or open with create_dir)".into(),
                ));
            }
            std::fs::create_dir_all(path).map_err(io_err(path))?;
        }
        Err(e) => return Err(io_err(path)(e)),
    }
    let marker = path.join(MARKER_FILE);
    match std::fs::read(&marker) {
        Ok(found) if found == MARKER.as_bytes() => Ok(false),
        Ok(found) if found == MARKER_V1.as_bytes() => Ok(true),
        Ok(found) => Err(dir_err(format!(
            "{MARKER_FILE} says {:?}, this build reads {:?}",
            String::from_utf8_lossy(&found[..found.len().min(80)]),
            MARKER.trim_end()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut entries = std::fs::read_dir(path).map_err(io_err(path))?;
            if entries.next().is_some() {
                return Err(dir_err(format!(
                    "is not empty and has no {MARKER_FILE} file: not a store directory"
                )));
            }
            write_marker(&marker).map_err(io_err(&marker))?;
            Ok(false)
        }
        Err(e) => Err(io_err(&marker)(e)),
    }
}

/// Opens (creating) the lock file and takes an exclusive, non-blocking lock on it. The lock
/// goes with the file handle, so a crashed process leaves no stale lock behind.
fn lock_dir(path: &Path) -> Result<std::fs::File> {
    let lock_path = path.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| StoreError::Io {
            path: lock_path.clone(),
            source,
        })?;
    #[cfg(unix)]
    {
        use rustix::fs::{flock, FlockOperation};
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                return Err(StoreError::Directory {
                    path: path.to_path_buf(),
                    reason: format!(
                        "is in use: another store holds the lock on {LOCK_FILE} \
                         (another router process, or a second open in this one)"
                    ),
                })
            }
            Err(e) => {
                return Err(StoreError::Io {
                    path: lock_path,
                    source: e.into(),
                })
            }
        }
    }
    Ok(file)
}

/// Writes the marker whole or not at all (a temporary file renamed over it, then the directory
/// synced), so a crash cannot leave half a marker that no build reads.
fn write_marker(marker: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = marker.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(MARKER.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, marker)?;
    match marker.parent() {
        Some(dir) => std::fs::File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

/// Upgrades a format-1 store in place. Its records and queues are where format 2 keeps them;
/// what it may lack is expiry-index entries, which format 1 deferred for records in memory
/// and wrote only at a clean close. So a cleanly closed one (its mark present) only loses the
/// mark and gets the new marker; one that was not is refused, naming what to do.
fn upgrade_v1(path: &Path, keyspace: &fjall::Keyspace) -> Result<()> {
    let engine = |e: fjall::Error| StoreError::Engine {
        path: path.to_path_buf(),
        source: Box::new(e),
    };
    let state = keyspace
        .open_partition("store_state", PartitionCreateOptions::default())
        .map_err(engine)?;
    if !state.contains_key(V1_CLEAN).map_err(engine)? {
        return Err(StoreError::Directory {
            path: path.to_path_buf(),
            reason: "holds a format-1 store that was not closed cleanly: start the previous \
                     build on it once and stop it with SIGTERM, then start this one"
                .into(),
        });
    }
    state.remove(V1_CLEAN).map_err(engine)?;
    keyspace.persist(PersistMode::SyncAll).map_err(engine)?;
    let marker = path.join(MARKER_FILE);
    write_marker(&marker).map_err(|source| StoreError::Io {
        path: marker.clone(),
        source,
    })?;
    tracing::info!(path = %path.display(), "store upgraded from format 1 to format 2");
    Ok(())
}

/// With [`Options::commit_delay`], the committer waits for more operations only when at least
/// this many were already queued: the store is busy, so more are on their way and the wait
/// saves fsyncs; a lone write (a quiet store) is committed at once.
pub const BUSY_GROUP: usize = 8;

/// How the committer forms groups.
#[derive(Debug, Clone, Copy)]
struct Grouping {
    max: usize,
    delay: std::time::Duration,
}

/// The committer thread: groups queued operations, commits each group with one fsync.
fn committer(shared: &Shared, rx: &mpsc::Receiver<Op>, grouping: Grouping) {
    let mut group = Vec::with_capacity(grouping.max.min(1024));
    // Kept from group to group, so its key set keeps the room it grew to.
    let mut merged = Merged::default();
    let take_queued = |group: &mut Vec<Op>| {
        while group.len() < grouping.max {
            match rx.try_recv() {
                Ok(op) => group.push(op),
                Err(_) => break,
            }
        }
    };
    while let Ok(first) = rx.recv() {
        group.push(first);
        if !grouping.delay.is_zero() {
            take_queued(&mut group);
            if (BUSY_GROUP..grouping.max).contains(&group.len()) {
                std::thread::sleep(grouping.delay);
            }
        }
        let held = lock(&shared.hold);
        take_queued(&mut group);
        drop(held);
        shared.commit_group(&mut group, &mut merged);
    }
    shared.close_clean();
}

/// Replays the correlation log left by the last run (none after a clean close) into fjall:
/// each surviving record with its index entry, each deleted key removed. Then syncs, removes
/// the old segments and starts an empty log.
fn recover_log(
    path: &Path,
    options: &Options,
    keyspace: &fjall::Keyspace,
    corr: &PartitionHandle,
    corr_exp: &PartitionHandle,
) -> Result<Wal> {
    const BATCH: usize = 10_000;
    let dir = path.join(LOG_DIR);
    let engine = |e: fjall::Error| StoreError::Engine {
        path: path.to_path_buf(),
        source: Box::new(e),
    };
    let mut replayed = Wal::replay(&dir)?;
    let (mut live, mut gone) = (0usize, 0usize);
    let mut batch = keyspace.batch();
    for (n, k) in replayed.keys.iter().enumerate() {
        match replayed.state.remove(k).flatten() {
            Some(v) => {
                let ms = record::correlation_expires_ms(&v).map_err(|e| StoreError::Corrupt {
                    path: dir.clone(),
                    what: "correlation record in the log",
                    detail: e.0,
                })?;
                batch.insert(corr_exp, record::expiry_key(ms, k), []);
                batch.insert(corr, k.as_slice(), v);
                live += 1;
            }
            None => {
                batch.remove(corr, k.as_slice());
                gone += 1;
            }
        }
        if (n + 1) % BATCH == 0 {
            std::mem::replace(&mut batch, keyspace.batch())
                .commit()
                .map_err(engine)?;
        }
    }
    batch.commit().map_err(engine)?;
    keyspace.persist(PersistMode::SyncAll).map_err(engine)?;
    for seg in &replayed.segments {
        std::fs::remove_file(seg).map_err(|source| StoreError::Io {
            path: seg.clone(),
            source,
        })?;
    }
    if live + gone > 0 {
        tracing::info!(
            records = live,
            deletes = gone,
            segments = replayed.segments.len(),
            "correlation log replayed after an unclean close"
        );
    }
    Wal::create(&dir, replayed.next_id, options.log_segment_bytes.max(1))
}

impl Shared {
    fn corrupt(&self, what: &'static str) -> impl Fn(record::Decode) -> StoreError + '_ {
        move |e| StoreError::Corrupt {
            path: self.path.clone(),
            what,
            detail: e.0,
        }
    }

    fn engine(&self) -> impl Fn(fjall::Error) -> StoreError + '_ {
        move |e| StoreError::Engine {
            path: self.path.clone(),
            source: Box::new(e),
        }
    }

    /// Adds `key`'s index entry for deadline `ms` to `batch`.
    fn index_entry(&self, batch: &mut fjall::Batch, key: &[u8], ms: u64) {
        // A deadline already behind the sweep (a short retention, a skewed clock) pulls the
        // sweep's starting point back to it.
        self.expiry_floor.fetch_min(ms, Ordering::Relaxed);
        batch.insert(&self.corr_exp, record::expiry_key(ms, key), []);
    }

    /// Writes a record that leaves the map alive (and its index entry) into `batch`, and tells
    /// the log its segment no longer needs to keep it.
    fn to_engine(&self, batch: &mut fjall::Batch, wal: &mut Wal, key: Bytes, kept: Kept) {
        self.index_entry(batch, &key, kept.expires_ms);
        batch.insert(&self.corr, &key[..], &kept.value[..]);
        wal.release(kept.seg);
    }

    /// Removes a correlation record wherever it is: logs the delete, forgets it in the map,
    /// and removes it from fjall unless it was only in the map. (A key put again after it
    /// went to fjall is in both; `contains_key` tells, and is cheap while fjall holds few
    /// records, which is when most deletes find theirs in the map.)
    fn remove_corr(&self, batch: &mut fjall::Batch, recent: &mut Recent, wal: &mut Wal, k: &[u8]) {
        let kept = recent.remove(k);
        self.forget(batch, wal, k, kept);
    }

    /// The rest of [`Shared::remove_corr`], for a record already taken out of the map (`kept`)
    /// or not found there.
    fn forget(&self, batch: &mut fjall::Batch, wal: &mut Wal, k: &[u8], kept: Option<Kept>) {
        wal.delete(k);
        let in_engine = match kept {
            Some(kept) => {
                wal.release(kept.seg);
                // A failed read cannot tell: remove it anyway.
                self.corr.contains_key(k).unwrap_or(true)
            }
            None => true,
        };
        if in_engine {
            batch.remove(&self.corr, k);
        }
    }

    /// When the log holds too many segments, moves the records of the oldest that are still
    /// in the map into fjall, so its segment can go once this group is durable. Returns
    /// whether it wrote anything.
    fn spill(&self) -> Result<bool> {
        let mut recent = lock(&self.recent);
        let mut wal = lock(&self.wal);
        let Some(oldest) = wal.over(wal::MAX_SEGMENTS) else {
            return Ok(false);
        };
        let mut batch = self.keyspace.batch();
        recent.spill(oldest, |k, kept| {
            self.to_engine(&mut batch, &mut wal, k, kept)
        });
        if batch.is_empty() {
            return Ok(false);
        }
        batch.commit().map_err(self.engine())?;
        Ok(true)
    }

    /// At the committer's exit: moves the records still in the map into fjall, syncs, and
    /// empties the log, unless a commit failed (then the next open replays the log).
    fn close_clean(&self) {
        if lock(&self.failed).is_some() {
            return;
        }
        let mut recent = lock(&self.recent);
        let mut wal = lock(&self.wal);
        let mut batch = self.keyspace.batch();
        for (k, kept) in recent.drain() {
            self.to_engine(&mut batch, &mut wal, k, kept);
        }
        let done = batch
            .commit()
            .and_then(|()| self.keyspace.persist(PersistMode::SyncAll))
            .map_err(|e| e.to_string())
            .and_then(|()| wal.remove_all().map_err(|e| e.to_string()));
        if let Err(e) = done {
            tracing::warn!(error = %e, path = %self.path.display(),
                "store: closing cleanly failed; the next open replays the correlation log");
        }
    }

    /// Commits a group; `merged` is empty before and after (flushed), and only lends its room.
    fn commit_group(&self, group: &mut Vec<Op>, merged: &mut Merged) {
        let n = group.len() as u64;
        let failed = lock(&self.failed).clone();
        let mut replies: Vec<Reply> = Vec::with_capacity(group.len());
        // Whether this group wrote to fjall (see `engine_unsynced`).
        let mut engine_dirty = false;
        let started = Instant::now();
        for op in group.drain(..) {
            if let Some(msg) = &failed {
                replies.push(self.refuse(op, msg));
                continue;
            }
            if let Some(op) = self.merge(op, merged, &mut replies) {
                // Everything else reads what the writes before it wrote.
                self.flush(merged, &mut replies);
                // They write to fjall, or may.
                engine_dirty = true;
                replies.push(self.apply(op));
            }
        }
        engine_dirty |= self.flush(merged, &mut replies);
        if failed.is_none() {
            match self.spill() {
                Ok(wrote) => engine_dirty |= wrote,
                Err(e) => *lock(&self.failed) = Some(e.to_string()),
            }
        }
        if engine_dirty {
            self.engine_unsynced.store(true, Ordering::Relaxed);
        }
        let applied = Instant::now();
        add_nanos(&self.apply_nanos, applied - started);
        // A failed batch in this group poisoned the store: nothing of the group is synced.
        let mut error = lock(&self.failed).clone();
        if error.is_none() && replies.iter().any(Reply::is_ok) {
            let synced = self.sync();
            add_nanos(&self.sync_nanos, applied.elapsed());
            if let Err(msg) = synced {
                *lock(&self.failed) = Some(msg.clone());
                error = Some(msg);
            }
        }
        if let Some(hook) = &self.on_commit {
            (hook.0)(started.elapsed());
        }
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.ops.fetch_add(n, Ordering::Relaxed);
        self.largest_group.fetch_max(n, Ordering::Relaxed);
        let fail = error.map(|message| {
            move || StoreError::Commit {
                path: self.path.clone(),
                message: message.clone(),
            }
        });
        for r in replies {
            r.send(fail.as_ref().map(|f| f as &dyn Fn() -> StoreError));
        }
    }

    /// Makes the group durable: fjall's journal (if written since its last fsync) and the
    /// log; then removes the log segments that nothing alive needs any more.
    fn sync(&self) -> std::result::Result<(), String> {
        if self.engine_unsynced.load(Ordering::Relaxed) {
            self.keyspace
                .persist(PersistMode::SyncAll)
                .map_err(|e| e.to_string())?;
            self.engine_unsynced.store(false, Ordering::Relaxed);
        }
        let mut wal = lock(&self.wal);
        wal.sync()
            .and_then(|()| wal.drop_dead())
            .map_err(|e| format!("correlation log: {e}"))
    }

    /// The answer for an operation after an earlier commit failed.
    fn refuse(&self, op: Op, msg: &str) -> Reply {
        let e = || StoreError::Commit {
            path: self.path.clone(),
            message: format!("an earlier commit failed: {msg}"),
        };
        match op {
            Op::PutCorr { done, .. } | Op::DelCorr { done, .. } => Reply::Unit(done, Err(e())),
            Op::ExpireCorr { done, .. } | Op::Ack { done, .. } | Op::ExpirePending { done, .. } => {
                Reply::Count(done, Err(e()))
            }
            Op::Append { done, .. } => Reply::Seqs(done, Err(e())),
        }
    }

    fn apply(&self, op: Op) -> Reply {
        match op {
            // `commit_group` merges these; alone, they are a batch of one.
            op @ (Op::PutCorr { .. } | Op::DelCorr { .. } | Op::Append { .. }) => {
                let mut merged = Merged::default();
                let mut replies = Vec::with_capacity(1);
                let _ = self.merge(op, &mut merged, &mut replies);
                self.flush(&mut merged, &mut replies);
                match replies.pop() {
                    Some(reply) => reply,
                    None => unreachable!("merge always replies to a mergeable write"),
                }
            }
            Op::ExpireCorr {
                now_ms,
                limit,
                done,
            } => Reply::Count(done, self.expire_corr(now_ms, limit)),
            Op::Ack {
                account,
                prefix,
                seqs,
                done,
            } => Reply::Count(done, self.ack(&account, &prefix, seqs)),
            Op::ExpirePending {
                now_ms,
                limit,
                done,
            } => Reply::Count(done, self.expire_pending(now_ms, limit)),
        }
    }

    /// Adds a mergeable write (correlation put or delete, queue append) to the merged batch and
    /// its reply to `replies`; gives any other operation back. These writes of many callers
    /// share one fjall batch (one journal append) as long as no key repeats in it: a fjall
    /// batch gives all its items one seqno, so a repeated key would have no defined winner.
    /// Appends read only the in-memory queue state (their bound check and seqs); each queue's
    /// metadata is written once, at the flush.
    fn merge(&self, op: Op, merged: &mut Merged, replies: &mut Vec<Reply>) -> Option<Op> {
        match op {
            Op::PutCorr { items, done } => {
                if merged.conflicts(items.iter().map(|(k, _, _)| k.as_slice())) {
                    self.flush(merged, replies);
                }
                let mut batch = merged.batch.take().unwrap_or_else(|| self.keyspace.batch());
                let mut recent = lock(&self.recent);
                let mut wal = lock(&self.wal);
                for (k, v, ms) in items {
                    merged.note(&k);
                    let (k, v) = (Bytes::from(k), Bytes::from(v));
                    let seg = wal.put(&k, &v);
                    let kept = Kept {
                        value: v,
                        expires_ms: ms,
                        seg,
                    };
                    if !recent.keeps() {
                        self.to_engine(&mut batch, &mut wal, k, kept);
                        continue;
                    }
                    let replaced = recent.insert(k, kept, |old, kept| {
                        self.to_engine(&mut batch, &mut wal, old, kept);
                    });
                    if let Some(old) = replaced {
                        wal.release(old.seg);
                    }
                }
                merged.batch = Some(batch);
                merged.members.push(replies.len());
                replies.push(Reply::Unit(done, Ok(())));
                None
            }
            Op::DelCorr { keys, done } => {
                if merged.conflicts(keys.iter().map(Vec::as_slice)) {
                    self.flush(merged, replies);
                }
                let mut batch = merged.batch.take().unwrap_or_else(|| self.keyspace.batch());
                let mut recent = lock(&self.recent);
                let mut wal = lock(&self.wal);
                for k in keys {
                    merged.note(&k);
                    self.remove_corr(&mut batch, &mut recent, &mut wal, &k);
                }
                merged.batch = Some(batch);
                merged.members.push(replies.len());
                replies.push(Reply::Unit(done, Ok(())));
                None
            }
            Op::Append {
                account,
                prefix,
                payloads,
                now_ms,
                expires_ms,
                max_len,
                done,
            } => {
                // The queue as the appends already in this batch left it.
                let meta = match merged.metas.get(&account) {
                    Some(m) => *m,
                    None => lock(&self.queues)
                        .get(&account)
                        .map(|s| s.meta)
                        .unwrap_or_default(),
                };
                let adding = payloads.len() as u64;
                if meta.len.saturating_add(adding) > max_len {
                    let full = StoreError::QueueFull {
                        account,
                        len: meta.len,
                        max_len,
                        adding: payloads.len(),
                    };
                    replies.push(Reply::Seqs(done, Err(full)));
                    return None;
                }
                let seqs = meta.next_seq..meta.next_seq + adding;
                let mut batch = merged.batch.take().unwrap_or_else(|| self.keyspace.batch());
                for (seq, p) in seqs.clone().zip(&payloads) {
                    batch.insert(
                        &self.pending,
                        record::pending_key(&prefix, seq),
                        record::encode_pending(now_ms, expires_ms, p),
                    );
                }
                merged.batch = Some(batch);
                merged.metas.insert(
                    account,
                    QueueMeta {
                        next_seq: seqs.end,
                        len: meta.len + adding,
                    },
                );
                merged.members.push(replies.len());
                replies.push(Reply::Seqs(done, Ok(seqs)));
                None
            }
            op => Some(op),
        }
    }

    /// Commits the merged writes (returns whether fjall got any); if that fails, each of their
    /// callers gets the error, the queues keep the state they had (their seqs were not used),
    /// and the store refuses everything after.
    fn flush(&self, merged: &mut Merged, replies: &mut [Reply]) -> bool {
        merged.keys.clear();
        let members = std::mem::take(&mut merged.members);
        let metas = std::mem::take(&mut merged.metas);
        let Some(mut batch) = merged.batch.take() else {
            return false;
        };
        for (account, meta) in &metas {
            batch.insert(&self.meta, account.as_bytes(), record::encode_meta(*meta));
        }
        if batch.is_empty() {
            // Only the log and the map were written.
            return false;
        }
        match batch.commit() {
            Ok(()) => {
                let mut queues = lock(&self.queues);
                for (account, meta) in metas {
                    queues.entry(account).or_default().meta = meta;
                }
                true
            }
            Err(e) => {
                let message = e.to_string();
                *lock(&self.failed) = Some(message.clone());
                let err = || StoreError::Commit {
                    path: self.path.clone(),
                    message: message.clone(),
                };
                for i in members {
                    match replies.get_mut(i) {
                        Some(Reply::Unit(_, r)) => *r = Err(err()),
                        Some(Reply::Seqs(_, r)) => *r = Err(err()),
                        _ => {}
                    }
                }
                false
            }
        }
    }

    fn expire_corr(&self, now_ms: u64, limit: usize) -> Result<usize> {
        let start = self.expiry_floor.load(Ordering::Relaxed).to_be_bytes();
        let end = now_ms.saturating_add(1).to_be_bytes();
        let mut batch = self.keyspace.batch();
        // Records still in the recent map have no index entry: they expire from the map.
        let kept_due = lock(&self.recent).take_due(now_ms, limit);
        let mut dropped = kept_due.len();
        {
            let mut wal = lock(&self.wal);
            for (k, kept) in kept_due {
                self.forget(&mut batch, &mut wal, &k, Some(kept));
            }
        }
        let limit = limit - dropped;
        let mut swept = 0;
        let mut last_ms = None;
        for kv in self
            .corr_exp
            .range(start.as_slice()..end.as_slice())
            .take(limit)
        {
            swept += 1;
            let (ek, _) = kv.map_err(self.engine())?;
            let Some((ms, ck)) = record::split_expiry_key(&ek) else {
                return Err(self.corrupt("correlation expiry index")(record::Decode(
                    format!("key of {} bytes", ek.len()),
                )));
            };
            if let Some(v) = self.corr.get(ck).map_err(self.engine())? {
                let deadline = record::correlation_expires_ms(&v)
                    .map_err(self.corrupt("correlation record"))?;
                if deadline == ms {
                    batch.remove(&self.corr, ck);
                    // If the key was put again since, the map holds the newer record, which
                    // lives on: only this stale copy goes, unlogged (a logged delete would
                    // take the newer one at a replay).
                    if lock(&self.recent).get(ck).is_none() {
                        lock(&self.wal).delete(ck);
                        dropped += 1;
                    }
                }
            }
            last_ms = Some(ms);
            batch.remove(&self.corr_exp, ek);
        }
        batch.commit().map_err(self.engine())?;
        // Everything before the last deadline swept is gone; if the sweep stopped short of its
        // limit, everything up to `now` is.
        let floor = if swept < limit {
            Some(now_ms.saturating_add(1))
        } else {
            last_ms
        };
        if let Some(f) = floor {
            self.expiry_floor.fetch_max(f, Ordering::Relaxed);
        }
        Ok(dropped)
    }

    fn ack(&self, account: &str, prefix: &[u8], mut seqs: Vec<u64>) -> Result<usize> {
        let mut queues = lock(&self.queues);
        let Some(mut state) = queues.get(account).copied() else {
            return Ok(0);
        };
        seqs.sort_unstable();
        seqs.dedup();
        let mut batch = self.keyspace.batch();
        let mut removed = 0u64;
        for seq in seqs {
            if seq < state.head || seq >= state.meta.next_seq {
                continue;
            }
            let key = record::pending_key(prefix, seq);
            if self.pending.contains_key(&key).map_err(self.engine())? {
                batch.remove(&self.pending, key);
                removed += 1;
                if seq == state.head {
                    state.head = seq + 1;
                }
            }
        }
        if removed == 0 {
            return Ok(0);
        }
        state.meta.len = state.meta.len.saturating_sub(removed);
        batch.insert(
            &self.meta,
            account.as_bytes(),
            record::encode_meta(state.meta),
        );
        batch.commit().map_err(self.engine())?;
        queues.insert(account.to_owned(), state);
        Ok(removed as usize)
    }

    fn expire_pending(&self, now_ms: u64, limit: usize) -> Result<usize> {
        let mut queues = lock(&self.queues);
        let mut batch = self.keyspace.batch();
        let mut dropped = 0usize;
        let mut changed = Vec::new();
        for (account, state) in queues.iter() {
            if dropped >= limit {
                break;
            }
            if state.meta.len == 0 {
                continue;
            }
            let prefix = record::pending_prefix(account)?;
            let from = record::pending_key(&prefix, state.head);
            let to = record::pending_key(&prefix, u64::MAX);
            let mut st = *state;
            for kv in self.pending.range(from..=to) {
                if dropped >= limit {
                    break;
                }
                let (k, v) = kv.map_err(self.engine())?;
                let seq = record::pending_seq(&k).map_err(self.corrupt("pending entry"))?;
                let (_, expires, _) =
                    record::decode_pending(&v).map_err(self.corrupt("pending entry"))?;
                if expires > now_ms {
                    st.head = st.head.max(seq);
                    break;
                }
                batch.remove(&self.pending, k);
                st.meta.len = st.meta.len.saturating_sub(1);
                st.head = seq + 1;
                dropped += 1;
            }
            if st.meta != state.meta || st.head != state.head {
                if st.meta != state.meta {
                    batch.insert(&self.meta, account.as_bytes(), record::encode_meta(st.meta));
                }
                changed.push((account.clone(), st));
            }
        }
        batch.commit().map_err(self.engine())?;
        queues.extend(changed);
        Ok(dropped)
    }

    fn get_corr(&self, keys: &[CorrelationKey]) -> Result<Vec<Option<Correlation>>> {
        // Sized up front: collecting through `?` would grow it by reallocation, which for a
        // batch of lookups was a visible share of the router's CPU (fresh pages each time).
        let mut found = Vec::with_capacity(keys.len());
        let mut encoded = Vec::with_capacity(keys.len());
        for key in keys {
            encoded.push(record::correlation_key(key)?);
        }
        // Hits first, under the lock; the misses go to the engine after it is released, so a
        // lookup that reads from disk never holds up the committer.
        let hits: Vec<Option<Bytes>> = {
            let recent = lock(&self.recent);
            encoded
                .iter()
                .map(|k| recent.get(k).map(|kept| kept.value.clone()))
                .collect()
        };
        for ((key, k), hit) in keys.iter().zip(&encoded).zip(hits) {
            let value = match hit {
                Some(v) => Some(v),
                // One copy out of the engine's slice; the fields then share it.
                None => self
                    .corr
                    .get(k)
                    .map_err(self.engine())?
                    .map(|v| Bytes::copy_from_slice(&v)),
            };
            found.push(match value {
                None => None,
                Some(v) => Some(
                    record::decode_correlation(key, &v)
                        .map_err(self.corrupt("correlation record"))?,
                ),
            });
        }
        Ok(found)
    }

    fn peek(&self, account: &str, max: usize) -> Result<Vec<PendingEntry>> {
        let prefix = record::pending_prefix(account)?;
        let Some(before) = lock(&self.queues).get(account).copied() else {
            return Ok(Vec::new());
        };
        if max == 0 || before.meta.len == 0 {
            return Ok(Vec::new());
        }
        let from = record::pending_key(&prefix, before.head);
        let to = record::pending_key(&prefix, u64::MAX);
        let mut out = Vec::with_capacity(max.min(before.meta.len as usize));
        for kv in self.pending.range(from..=to).take(max) {
            let (k, v) = kv.map_err(self.engine())?;
            let seq = record::pending_seq(&k).map_err(self.corrupt("pending entry"))?;
            let (enq, exp, payload) =
                record::decode_pending(&v).map_err(self.corrupt("pending entry"))?;
            out.push(PendingEntry {
                seq,
                enqueued_at: record::from_millis(enq),
                expires_at: record::from_millis(exp),
                payload: Bytes::copy_from_slice(payload),
            });
        }
        // Nothing below the first live seq seen in this snapshot can come back (seqs only
        // grow), so later scans may start there.
        let first = out.first().map_or(before.meta.next_seq, |e| e.seq);
        if let Some(s) = lock(&self.queues).get_mut(account) {
            s.head = s.head.max(first);
        }
        Ok(out)
    }
}

impl Store for EmbeddedStore {
    fn put_correlations<'a>(&'a self, records: &'a [Correlation]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if records.is_empty() {
                return Ok(());
            }
            // A key given twice in one call keeps its last record (one fjall batch must not
            // hold the same key twice).
            let mut seen = HashSet::with_capacity_and_hasher(
                if records.len() > 1 { records.len() } else { 0 },
                Default::default(),
            );
            let mut items = Vec::with_capacity(records.len());
            for r in records.iter().rev() {
                let k = record::correlation_key(&r.key)?;
                let v = record::encode_correlation(r)?;
                if records.len() == 1 || seen.insert(k.clone()) {
                    items.push((k, v, record::millis(r.expires_at)));
                }
            }
            self.submit(|done| Op::PutCorr { items, done }).await
        })
    }

    fn get_correlations<'a>(
        &'a self,
        keys: &'a [CorrelationKey],
    ) -> StoreFuture<'a, Vec<Option<Correlation>>> {
        Box::pin(async move { self.shared.get_corr(keys) })
    }

    fn delete_correlations<'a>(&'a self, keys: &'a [CorrelationKey]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(());
            }
            let mut encoded = Vec::with_capacity(keys.len());
            for k in keys {
                encoded.push(record::correlation_key(k)?);
            }
            self.submit(|done| Op::DelCorr {
                keys: encoded,
                done,
            })
            .await
        })
    }

    fn expire_correlations(&self, now: SystemTime, limit: usize) -> StoreFuture<'_, usize> {
        let now_ms = record::millis(now);
        Box::pin(async move {
            self.submit(|done| Op::ExpireCorr {
                now_ms,
                limit,
                done,
            })
            .await
        })
    }

    fn append_pending<'a>(
        &'a self,
        account: &'a str,
        payloads: &'a [Bytes],
        now: SystemTime,
        policy: QueuePolicy,
    ) -> StoreFuture<'a, Range<u64>> {
        Box::pin(async move {
            let prefix = record::pending_prefix(account)?;
            if payloads.is_empty() {
                let next = lock(&self.shared.queues)
                    .get(account)
                    .map_or(0, |s| s.meta.next_seq);
                return Ok(next..next);
            }
            let now_ms = record::millis(now);
            let expires_ms = record::millis(now.checked_add(policy.ttl).unwrap_or(now));
            let payloads = payloads.to_vec();
            self.submit(|done| Op::Append {
                account: account.to_owned(),
                prefix,
                payloads,
                now_ms,
                expires_ms,
                max_len: policy.max_len,
                done,
            })
            .await
        })
    }

    fn peek_pending<'a>(
        &'a self,
        account: &'a str,
        max: usize,
    ) -> StoreFuture<'a, Vec<PendingEntry>> {
        Box::pin(async move { self.shared.peek(account, max) })
    }

    fn ack_pending<'a>(&'a self, account: &'a str, seqs: &'a [u64]) -> StoreFuture<'a, usize> {
        Box::pin(async move {
            let prefix = record::pending_prefix(account)?;
            if seqs.is_empty() {
                return Ok(0);
            }
            self.submit(|done| Op::Ack {
                account: account.to_owned(),
                prefix,
                seqs: seqs.to_vec(),
                done,
            })
            .await
        })
    }

    fn pending_len<'a>(&'a self, account: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            Ok(lock(&self.shared.queues)
                .get(account)
                .map_or(0, |s| s.meta.len))
        })
    }

    fn expire_pending(&self, now: SystemTime, limit: usize) -> StoreFuture<'_, usize> {
        let now_ms = record::millis(now);
        Box::pin(async move {
            self.submit(|done| Op::ExpirePending {
                now_ms,
                limit,
                done,
            })
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn record(id: &str) -> Correlation {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        Correlation {
            key: CorrelationKey::new("c", id.as_bytes().to_vec()),
            message_id: Bytes::from_static(b"n1"),
            account: "acme".into(),
            part: 1,
            parts: 1,
            submitted_at: at,
            expires_at: at + Duration::from_secs(60),
            source: Bytes::new(),
            destination: Bytes::new(),
        }
    }

    /// The log's segment files (the spare being made is not one).
    fn log_segments(dir: &Path) -> usize {
        std::fs::read_dir(dir.join(LOG_DIR))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "log")
            })
            .count()
    }

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// A young record is only in the map and the log; one deleted there never reaches fjall;
    /// a clean close moves the survivors into fjall, each with its index entry, and empties
    /// the log.
    #[test]
    fn young_records_stay_out_of_fjall_until_a_clean_close() {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            create_dir: true,
            ..Options::default()
        };
        let store = EmbeddedStore::open(dir.path(), options.clone()).unwrap();
        block_on(async {
            store
                .put_correlations(&[record("a"), record("b")])
                .await
                .unwrap();
            store.delete_correlations(&[record("a").key]).await.unwrap();
        });
        assert_eq!(store.shared.corr.len().unwrap(), 0);
        assert_eq!(store.shared.corr_exp.len().unwrap(), 0);
        assert_eq!(store.stats().commits, 2);
        drop(store);
        assert_eq!(log_segments(dir.path()), 0, "a clean close empties the log");
        let store = EmbeddedStore::open(dir.path(), options).unwrap();
        let index: Vec<_> = store
            .shared
            .corr_exp
            .iter()
            .map(|kv| kv.unwrap().0.to_vec())
            .collect();
        let b = record::correlation_key(&record("b").key).unwrap();
        assert_eq!(
            index,
            vec![record::expiry_key(
                record::millis(record("b").expires_at),
                &b
            )]
        );
        assert_eq!(store.shared.corr.len().unwrap(), 1);
        assert_eq!(log_segments(dir.path()), 1);
    }

    /// Records that never get their receipt cannot keep the log growing: past
    /// `MAX_SEGMENTS`, the oldest segment's records move into fjall and the segment goes.
    #[test]
    fn the_log_spills_old_records_into_fjall_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(
            dir.path(),
            Options {
                create_dir: true,
                log_segment_bytes: 1024,
                ..Options::default()
            },
        )
        .unwrap();
        let ids: Vec<String> = (0..200).map(|i| format!("id-{i:04}")).collect();
        block_on(async {
            for id in &ids {
                store.put_correlations(&[record(id)]).await.unwrap();
                assert!(log_segments(dir.path()) <= wal::MAX_SEGMENTS + 1);
            }
        });
        let in_fjall = store.shared.corr.len().unwrap();
        assert!(in_fjall > 0 && in_fjall < ids.len(), "{in_fjall}");
        assert_eq!(store.shared.corr_exp.len().unwrap(), in_fjall);
        // Whichever holds it, every record is found.
        let keys: Vec<_> = ids.iter().map(|id| record(id).key).collect();
        let got = block_on(store.get_correlations(&keys)).unwrap();
        assert!(got.iter().all(Option::is_some));
    }

    /// A delete of a key put again after its first record went to fjall removes both.
    #[test]
    fn a_delete_removes_the_older_record_in_fjall_too() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(
            dir.path(),
            Options {
                create_dir: true,
                recent_records: 1,
                ..Options::default()
            },
        )
        .unwrap();
        let again = Correlation {
            message_id: Bytes::from_static(b"n2"),
            ..record("a")
        };
        block_on(async {
            store.put_correlations(&[record("a")]).await.unwrap();
            store.put_correlations(&[record("b")]).await.unwrap(); // pushes "a" out
            store
                .put_correlations(std::slice::from_ref(&again))
                .await
                .unwrap(); // pushes "b" out
            assert_eq!(store.shared.corr.len().unwrap(), 2);
            let got = store.get_correlations(&[record("a").key]).await.unwrap();
            assert_eq!(got, vec![Some(again)]);
            store.delete_correlations(&[record("a").key]).await.unwrap();
            let got = store.get_correlations(&[record("a").key]).await.unwrap();
            assert_eq!(got, vec![None]);
        });
        assert_eq!(store.shared.corr.len().unwrap(), 1);
    }

    /// A format-1 store closed cleanly is upgraded in place, its records kept; one that was
    /// not is refused, naming what to do, and left as it was.
    #[test]
    fn a_cleanly_closed_format_1_store_is_upgraded_and_an_unclean_one_refused() {
        let as_v1 = |dir: &Path, clean: bool| {
            std::fs::remove_dir_all(dir.join(LOG_DIR)).unwrap();
            let keyspace = fjall::Config::new(dir.join(ENGINE_DIR)).open().unwrap();
            let state = keyspace
                .open_partition("store_state", PartitionCreateOptions::default())
                .unwrap();
            if clean {
                state.insert(V1_CLEAN, []).unwrap();
            }
            keyspace.persist(PersistMode::SyncAll).unwrap();
            drop((state, keyspace));
            std::fs::write(dir.join(MARKER_FILE), MARKER_V1).unwrap();
        };
        for clean in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let options = Options {
                create_dir: true,
                ..Options::default()
            };
            let store = EmbeddedStore::open(dir.path(), options.clone()).unwrap();
            block_on(store.put_correlations(&[record("a")])).unwrap();
            drop(store);
            as_v1(dir.path(), clean);
            let marker = || std::fs::read_to_string(dir.path().join(MARKER_FILE)).unwrap();
            match EmbeddedStore::open(dir.path(), options) {
                Ok(store) => {
                    assert!(clean);
                    assert_eq!(marker(), MARKER);
                    let got = block_on(store.get_correlations(&[record("a").key])).unwrap();
                    assert_eq!(got, vec![Some(record("a"))]);
                }
                Err(e) => {
                    assert!(!clean, "{e}");
                    assert!(e.to_string().contains("not closed cleanly"), "{e}");
                    assert_eq!(marker(), MARKER_V1);
                }
            }
        }
    }
}
