//! The correlation log: where a correlation record is made durable while it is young, so that
//! a record answered by its receipt within seconds never touches the engine.
//!
//! **Why.** Nearly every record is deleted by its receipt seconds after it is written. Put in
//! fjall, each one cost a memtable insert and its tombstone another, both journalled, then
//! flushed into tables that compaction merged again and again until the tombstone met the
//! record — the largest share of the committer's CPU and, as the tree deepened, of the
//! router's memory (compaction's writers and filters). Here a record costs one append to a
//! file the committer fsyncs with the group anyway, and its delete a second, shorter one.
//!
//! **What is where.** A young record lives in the recent-records map ([`Recent`](crate::recent))
//! and in this log, nowhere else. It moves into fjall (with its expiry-index entry) only if it
//! is still alive when it leaves the map: pushed out by newer records, spilled because the log
//! grew past [`MAX_SEGMENTS`], or at a clean close. Every correlation put and delete, whatever
//! the record's age, is appended here, in commit order.
//!
//! **Segments.** The log is a series of files, `<id>.log`, each rotated at
//! [`SEGMENT_BYTES`]. Each is made full-size before use: zero-filled to the segment size and
//! fsynced, so an append never grows the file and the group's fdatasync writes the data alone,
//! not the inode's new size as well (on this project's machines that halved both the
//! fdatasync's time and its CPU: 110–125 µs instead of 210–320 µs for 8 KiB). The first is made
//! at open; each next one ahead of time by a helper thread, as the file [`SPARE`], which
//! becomes the next segment by a rename (a plain empty segment is started if it is not ready). Each segment counts its records still alive in the map; the oldest
//! segments are removed once their counts are zero (a record that left the map alive was
//! written to fjall in a batch that this group's fsync covered, before the removal). Only the
//! oldest go, so a delete is never forgotten while the put it cancels is still on disk.
//!
//! **Recovery.** Opening the store replays every segment in order (a put sets a key, a delete
//! clears it), writes the survivors into fjall with their index entries and the deletes as
//! removes, syncs, and removes the segments: the log always starts empty. In the last segment,
//! a bad frame ends the replay: it is the write the crash tore, before its fsync, so nobody
//! was answered for it (each group is one write, fsynced before anyone is answered). In a
//! sealed segment it is corruption and fails the open.
//!
//! **Frame.** `len u32 LE | xxh3(body) low 32 bits u32 LE | body`, where body is
//! `kind u8 | key_len u16 LE | key | value` (kind 1: put, whose value is the encoded record;
//! kind 2: delete, no value).

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

/// A segment is closed and a new one started once it holds this many bytes.
pub(crate) const SEGMENT_BYTES: u64 = 16 * 1024 * 1024;
/// When the log holds more segments than this, the records of the oldest still alive in the
/// map are moved into fjall, so a few records that never get a receipt cannot keep the log
/// growing (the committer does this after each group; see `Shared::spill`).
pub(crate) const MAX_SEGMENTS: usize = 4;

/// The next segment while it is being made (see the module docs); never replayed.
const SPARE: &str = "next.spare";

const PUT: u8 = 1;
const DELETE: u8 = 2;
const HEADER: usize = 8;

/// Identifies a segment; ids only grow.
pub(crate) type SegmentId = u64;

/// The log's state: its segments, the active one's file, and the frames not yet written.
pub(crate) struct Wal {
    dir: PathBuf,
    /// Oldest first; the last is the active one. Each with its records alive in the map.
    segments: VecDeque<(SegmentId, u64)>,
    file: File,
    /// Bytes in the active segment, written or buffered.
    bytes: u64,
    /// Bytes in the sealed segments, each with its id.
    sealed: VecDeque<(SegmentId, u64)>,
    /// Frames appended since the last sync.
    buf: Vec<u8>,
    segment_bytes: u64,
    /// The helper making the next segment (zero-filled and fsynced, as [`SPARE`]).
    spare: Option<std::thread::JoinHandle<std::io::Result<File>>>,
}

/// What a replay found: each key's last state (`Some(value)`: put, `None`: deleted), in the
/// order the keys were first seen.
pub(crate) struct Replayed {
    pub(crate) keys: Vec<Vec<u8>>,
    pub(crate) state: HashMap<Vec<u8>, Option<Vec<u8>>>,
    /// The segments read, to be removed once their contents are in the engine.
    pub(crate) segments: Vec<PathBuf>,
    pub(crate) next_id: SegmentId,
}

impl Wal {
    /// Reads the log in `dir` (creating the directory if needed) without changing it.
    pub(crate) fn replay(dir: &Path) -> Result<Replayed> {
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| StoreError::Io { path: p, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            let name = entry.file_name();
            if name == SPARE {
                // Half-made, perhaps: never a segment. `create` replaces it.
                continue;
            }
            let id = name
                .to_str()
                .and_then(|n| n.strip_suffix(".log"))
                .and_then(|n| n.parse::<SegmentId>().ok());
            match id {
                Some(id) => ids.push(id),
                None => {
                    return Err(StoreError::Directory {
                        path: dir.to_path_buf(),
                        reason: format!(
                            "holds {:?}, which is not a log segment (<number>.log)",
                            name
                        ),
                    })
                }
            }
        }
        ids.sort_unstable();
        let mut out = Replayed {
            keys: Vec::new(),
            state: HashMap::new(),
            segments: Vec::new(),
            next_id: ids.last().map_or(1, |last| last + 1),
        };
        for (i, id) in ids.iter().enumerate() {
            let path = segment_path(dir, *id);
            let data = std::fs::read(&path).map_err(io(&path))?;
            let last = i + 1 == ids.len();
            let mut at = 0;
            while at < data.len() {
                match frame(&data[at..]) {
                    Some((kind, key, value, len)) => {
                        let v = match kind {
                            PUT => Some(value.to_vec()),
                            _ => None,
                        };
                        if out.state.insert(key.to_vec(), v).is_none() {
                            out.keys.push(key.to_vec());
                        }
                        at += len;
                    }
                    None if last => break,
                    None => {
                        return Err(StoreError::Corrupt {
                            path: path.clone(),
                            what: "correlation log",
                            detail: format!("bad frame at byte {at} of a sealed segment"),
                        })
                    }
                }
            }
            out.segments.push(path);
        }
        Ok(out)
    }

    /// Starts an empty log in `dir` with segment `id` (after the replay's segments are gone).
    pub(crate) fn create(dir: &Path, id: SegmentId, segment_bytes: u64) -> Result<Self> {
        let spare = dir.join(SPARE);
        let file = make_spare(&spare, segment_bytes)
            .and_then(|file| adopt_spare(dir, id, file))
            .map_err(|source| StoreError::Io {
                path: spare,
                source,
            })?;
        let mut wal = Self {
            dir: dir.to_path_buf(),
            segments: VecDeque::from([(id, 0)]),
            file,
            bytes: 0,
            sealed: VecDeque::new(),
            buf: Vec::with_capacity(64 * 1024),
            segment_bytes,
            spare: None,
        };
        wal.start_spare();
        Ok(wal)
    }

    /// Appends a put of a record that the map now holds; returns its segment.
    pub(crate) fn put(&mut self, key: &[u8], value: &[u8]) -> SegmentId {
        self.append(PUT, key, value);
        let active = self
            .segments
            .back_mut()
            .expect("the log always has a segment");
        active.1 += 1;
        active.0
    }

    /// Appends a delete (of a record in the map, in fjall, or nowhere).
    pub(crate) fn delete(&mut self, key: &[u8]) {
        self.append(DELETE, key, &[]);
    }

    /// A record of segment `id` left the map: deleted, replaced, expired, or written to fjall.
    pub(crate) fn release(&mut self, id: SegmentId) {
        if let Some(seg) = self.segments.iter_mut().find(|(s, _)| *s == id) {
            seg.1 = seg.1.saturating_sub(1);
        }
    }

    /// The oldest segment if the log holds more than `max` (its live records should move to
    /// fjall), else None.
    pub(crate) fn over(&self, max: usize) -> Option<SegmentId> {
        (self.segments.len() > max)
            .then(|| self.segments.front().map(|s| s.0))
            .flatten()
    }

    /// Segments on disk, and their bytes (the active one's buffered frames included).
    pub(crate) fn size(&self) -> (u64, u64) {
        let sealed: u64 = self.sealed.iter().map(|s| s.1).sum();
        (self.segments.len() as u64, sealed + self.bytes)
    }

    /// Writes the buffered frames and fsyncs them; then, if the active segment is full, starts
    /// the next.
    pub(crate) fn sync(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            self.file.write_all(&self.buf)?;
            self.buf.clear();
            self.file.sync_data()?;
        }
        if self.bytes >= self.segment_bytes {
            let next = self.segments.back().map_or(1, |s| s.0 + 1);
            self.file = self.next_segment(next)?;
            self.segments.push_back((next, 0));
            self.sealed.push_back((next - 1, self.bytes));
            self.bytes = 0;
        }
        Ok(())
    }

    /// Removes the oldest segments that hold no live record (never the active one). Call only
    /// once the fjall writes of records that left the map are durable.
    pub(crate) fn drop_dead(&mut self) -> std::io::Result<()> {
        let mut removed = false;
        while self.segments.len() > 1 && self.segments.front().is_some_and(|s| s.1 == 0) {
            if let Some((id, _)) = self.segments.pop_front() {
                std::fs::remove_file(segment_path(&self.dir, id))?;
                self.sealed.retain(|s| s.0 != id);
                removed = true;
            }
        }
        if removed {
            // Or a crash could bring a removed segment back, and with it the puts of records
            // whose deletes were in segments removed before it.
            File::open(&self.dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Removes every segment (at a clean close, once everything alive is in fjall and synced).
    pub(crate) fn remove_all(&mut self) -> std::io::Result<()> {
        self.finish_spare();
        match std::fs::remove_file(self.dir.join(SPARE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        while let Some((id, _)) = self.segments.pop_front() {
            std::fs::remove_file(segment_path(&self.dir, id))?;
        }
        self.sealed.clear();
        self.bytes = 0;
        File::open(&self.dir)?.sync_all()
    }

    /// Segment `id`'s file: the spare if it is ready, else a plain empty one.
    fn next_segment(&mut self, id: SegmentId) -> std::io::Result<File> {
        let made = match self.spare.take() {
            Some(helper) if helper.is_finished() => helper.join().ok(),
            not_ready => {
                self.spare = not_ready;
                None
            }
        };
        let file = match made {
            Some(Ok(file)) => adopt_spare(&self.dir, id, file)?,
            Some(Err(e)) => {
                tracing::warn!(error = %e, "the next log segment could not be made ahead");
                new_segment(&self.dir, id).map_err(std::io::Error::other)?
            }
            None => new_segment(&self.dir, id).map_err(std::io::Error::other)?,
        };
        self.start_spare();
        Ok(file)
    }

    /// Starts making the next segment, unless a helper is at it already.
    fn start_spare(&mut self) {
        if self.spare.is_some() {
            return;
        }
        let (path, bytes) = (self.dir.join(SPARE), self.segment_bytes);
        self.spare = std::thread::Builder::new()
            .name("smpp-store-spare".into())
            .spawn(move || make_spare(&path, bytes))
            .ok();
    }

    /// Waits for the helper, so that no writer of [`SPARE`] outlives the log.
    fn finish_spare(&mut self) {
        if let Some(helper) = self.spare.take() {
            let _ = helper.join();
        }
    }

    fn append(&mut self, kind: u8, key: &[u8], value: &[u8]) {
        let key_len = u16::try_from(key.len()).expect("correlation keys are at most 511 bytes");
        let body_len = 3 + key.len() + value.len();
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0; HEADER]);
        self.buf.push(kind);
        self.buf.extend_from_slice(&key_len.to_le_bytes());
        self.buf.extend_from_slice(key);
        self.buf.extend_from_slice(value);
        let sum = xxhash_rust::xxh3::xxh3_64(&self.buf[start + HEADER..]) as u32;
        let len = u32::try_from(body_len).expect("correlation records are small");
        self.buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
        self.buf[start + 4..start + HEADER].copy_from_slice(&sum.to_le_bytes());
        self.bytes += (HEADER + body_len) as u64;
    }
}

impl Drop for Wal {
    fn drop(&mut self) {
        self.finish_spare();
    }
}

fn segment_path(dir: &Path, id: SegmentId) -> PathBuf {
    dir.join(format!("{id:012}.log"))
}

/// Makes `path` a file of `bytes` zeros, fsynced, positioned at its start.
fn make_spare(path: &Path, bytes: u64) -> std::io::Result<File> {
    use std::io::{Seek, SeekFrom};
    static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];
    let mut file = File::create(path)?;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(ZEROS.len() as u64) as usize;
        file.write_all(&ZEROS[..n])?;
        left -= n as u64;
    }
    file.sync_all()?;
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

/// Renames a made spare to segment `id` and makes the rename durable.
fn adopt_spare(dir: &Path, id: SegmentId, file: File) -> std::io::Result<File> {
    std::fs::rename(dir.join(SPARE), segment_path(dir, id))?;
    File::open(dir)?.sync_all()?;
    Ok(file)
}

fn new_segment(dir: &Path, id: SegmentId) -> Result<File> {
    let path = segment_path(dir, id);
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| StoreError::Io { path: p, source }
    };
    let file = std::fs::OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&path)
        .map_err(io(&path))?;
    // The new file's name must be durable before anything in it is acknowledged.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(file)
}

/// Parses one frame at the start of `data`: (kind, key, value, frame length), or None if it is
/// torn or corrupt.
fn frame(data: &[u8]) -> Option<(u8, &[u8], &[u8], usize)> {
    let len = u32::from_le_bytes(data.get(0..4)?.try_into().ok()?) as usize;
    let sum = u32::from_le_bytes(data.get(4..HEADER)?.try_into().ok()?);
    let body = data.get(HEADER..HEADER.checked_add(len)?)?;
    if xxhash_rust::xxh3::xxh3_64(body) as u32 != sum {
        return None;
    }
    let (&kind, rest) = body.split_first()?;
    let key_len = u16::from_le_bytes(rest.get(0..2)?.try_into().ok()?) as usize;
    let key = rest.get(2..2 + key_len)?;
    let value = &rest[2 + key_len..];
    match kind {
        PUT if !value.is_empty() => Some((kind, key, value, HEADER + len)),
        DELETE if value.is_empty() => Some((kind, key, value, HEADER + len)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(dir: &Path) -> Wal {
        let r = Wal::replay(dir).unwrap();
        for p in &r.segments {
            std::fs::remove_file(p).unwrap();
        }
        Wal::create(dir, r.next_id, 256).unwrap()
    }

    #[test]
    fn replay_gives_each_keys_last_state() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = log(tmp.path());
        w.put(b"a", b"1");
        w.put(b"b", b"2");
        w.delete(b"a");
        w.put(b"b", b"3");
        w.delete(b"c");
        w.sync().unwrap();
        drop(w);
        let r = Wal::replay(tmp.path()).unwrap();
        assert_eq!(r.keys, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        assert_eq!(r.state[&b"a".to_vec()], None);
        assert_eq!(r.state[&b"b".to_vec()], Some(b"3".to_vec()));
        assert_eq!(r.state[&b"c".to_vec()], None);
        assert_eq!(r.next_id, 2);
    }

    #[test]
    fn unsynced_frames_are_not_on_disk_and_a_torn_tail_ends_the_replay() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = log(tmp.path());
        w.put(b"a", b"1");
        w.sync().unwrap();
        w.put(b"b", b"2");
        drop(w); // never synced
        let seg = segment_path(tmp.path(), 1);
        let mut data = std::fs::read(&seg).unwrap();
        assert_eq!(data.len(), 256, "made full-size");
        // Half a frame right after the synced one, as a crash in the middle of a write
        // leaves it (the rest of the segment is its zeros).
        let frame = HEADER + 3 + 1 + 1;
        assert!(data[frame..].iter().all(|b| *b == 0));
        let half = data[..frame / 2].to_vec();
        data[frame..frame + half.len()].copy_from_slice(&half);
        std::fs::write(&seg, &data).unwrap();
        let r = Wal::replay(tmp.path()).unwrap();
        assert_eq!(r.keys, vec![b"a".to_vec()]);
    }

    #[test]
    fn a_bad_frame_in_a_sealed_segment_fails_the_replay() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = log(tmp.path());
        for i in 0..40u8 {
            w.put(&[i], &[i; 16]);
            w.sync().unwrap();
        }
        drop(w);
        let first = segment_path(tmp.path(), 1);
        assert!(segment_path(tmp.path(), 2).exists(), "rotated at 256 bytes");
        let mut data = std::fs::read(&first).unwrap();
        data[HEADER + 4] ^= 0xff;
        std::fs::write(&first, &data).unwrap();
        let err = Wal::replay(tmp.path()).err().expect("corrupt");
        assert!(err.to_string().contains("correlation log"), "{err}");
    }

    #[test]
    fn only_the_oldest_dead_segments_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = log(tmp.path());
        let mut segs = Vec::new();
        for i in 0..60u8 {
            segs.push(w.put(&[i], &[i; 16]));
            w.sync().unwrap();
        }
        let first = segs[0];
        let second = *segs.iter().find(|s| **s != first).unwrap();
        // Everything in the second segment dies; the first still holds a live record.
        for s in segs.iter().filter(|s| **s == second) {
            w.release(*s);
        }
        for s in segs.iter().filter(|s| **s == first).skip(1) {
            w.release(*s);
        }
        w.drop_dead().unwrap();
        assert!(segment_path(tmp.path(), first).exists());
        assert!(
            segment_path(tmp.path(), second).exists(),
            "kept: an older one lives"
        );
        assert!(w.over(1).is_some_and(|s| s == first));
        w.release(first);
        w.drop_dead().unwrap();
        assert!(!segment_path(tmp.path(), first).exists());
        assert!(!segment_path(tmp.path(), second).exists());
        assert!(segment_path(tmp.path(), *segs.last().unwrap()).exists());
    }

    #[test]
    fn segments_are_made_full_size_ahead_and_a_left_spare_is_no_segment() {
        let tmp = tempfile::tempdir().unwrap();
        let mut w = log(tmp.path());
        w.finish_spare();
        let spare = tmp.path().join(SPARE);
        assert_eq!(std::fs::metadata(&spare).unwrap().len(), 256);
        for i in 0..40u8 {
            w.put(&[i], &[i; 16]);
            w.sync().unwrap();
            w.finish_spare();
        }
        // Every sealed segment was a spare: full-size from the start, and filled.
        let r = Wal::replay(tmp.path()).unwrap();
        assert!(r.segments.len() > 2);
        for seg in &r.segments[..r.segments.len() - 1] {
            assert!(std::fs::metadata(seg).unwrap().len() >= 256);
        }
        assert_eq!(r.keys.len(), 40, "every put replayed, none from the spare");
        assert!(spare.exists());
        drop(w);
        w = log(tmp.path());
        w.remove_all().unwrap();
        assert!(!spare.exists(), "a clean close leaves no spare");
    }

    #[test]
    fn a_stray_file_in_the_log_directory_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("notes.txt"), b"hi").unwrap();
        let err = Wal::replay(tmp.path()).err().expect("refused");
        assert!(err.to_string().contains("notes.txt"), "{err}");
    }
}
