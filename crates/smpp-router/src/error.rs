//! The router's one error type.

use std::path::PathBuf;

/// What can go wrong in the router.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file cannot be read.
    #[error("cannot read {path}: {source}")]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration is wrong; `key` is its dotted path (`connectors[1].window`).
    #[error("config line {line}: `{key}`: {message}")]
    Config {
        /// The dotted path of the offending key.
        key: String,
        /// 1-based line in the file (0 when unknown).
        line: usize,
        /// What is wrong, and what is expected.
        message: String,
    },
    /// Something the daemon needs could not be started (store, listener, simulated carrier).
    #[error("cannot start: {0}")]
    Start(String),
}
