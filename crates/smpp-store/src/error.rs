//! The crate's one error type. It says who is at fault: the caller (`TooLong`, `QueueFull`),
//! the data directory (`Directory`, `Corrupt`), or the machine (`Io`, `Engine`, `Commit`), and
//! always names the path when one is involved, so an operator can act on the message alone.
//! Engine errors are carried as boxed sources so the engine's types stay out of the trait.

use std::path::PathBuf;

/// Everything a [`Store`](crate::Store) operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The data directory is absent, not a directory, or not a store of this format.
    #[error("store directory {path}: {reason}")]
    Directory {
        /// The directory the store was asked to open.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An I/O error outside the engine (the directory, its marker file).
    #[error("store directory {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The embedded engine failed (opening, reading, writing).
    #[error("store engine at {path}: {source}")]
    Engine {
        /// The store's directory.
        path: PathBuf,
        /// The engine's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A group commit failed (or one failed earlier): nothing in the group is durable, and the
    /// store refuses further writes rather than guess what reached the disk.
    #[error("store at {path}: commit failed: {message}")]
    Commit {
        /// The store's directory.
        path: PathBuf,
        /// The engine's account of the failure.
        message: String,
    },
    /// A stored value could not be decoded: the store holds data this build cannot read.
    #[error("store at {path}: corrupt {what}: {detail}")]
    Corrupt {
        /// The store's directory.
        path: PathBuf,
        /// Which kind of record (`correlation record`, `pending entry`, `queue metadata`).
        what: &'static str,
        /// What was wrong with it.
        detail: String,
    },
    /// The account's pending queue holds as many entries as it may: nothing was appended.
    #[error("pending queue of account {account:?} is full ({len} entries, at most {max_len}; {adding} more refused)")]
    QueueFull {
        /// The account.
        account: String,
        /// Entries in the queue now.
        len: u64,
        /// The bound the caller gave.
        max_len: u64,
        /// How many the refused append would have added.
        adding: usize,
    },
    /// A field is longer than the store's encoding allows (names and ids: 255 bytes).
    #[error("{field} is {len} bytes; at most {max} are stored")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The store was closed (or its committer stopped) before the operation completed.
    #[error("store is closed")]
    Closed,
}

/// Shorthand for results of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
