//! The routing core of `smpp-router`: what the daemon decides for each message, kept
//! synchronous and testable without sockets.
//!
//! - [`access`]: who may bind — credentials, networks, binds per account, a brake on guessing.
//! - [`accounts`]: password hashing and checking.
//! - [`config`]: the TOML file, validated into typed settings; errors name the key and line.
//! - [`daemon`]: the process — store, simulated carriers, listeners, signals.
//! - [`connector`]: a carrier's shards at run time — which bind takes a message, retries.
//! - [`router`]: the running router — submits out, receipts and replies back, queues.
//! - [`tls`]: TLS toward carriers, verified.
//! - [`routes`]: the route table — ordered rules over a destination-prefix trie.
//! - [`ids`]: our message ids, unique across nodes and restarts.
//! - [`receipts`]: a carrier's receipt read, and rewritten to our id for the customer.
//! - [`mo`]: which account a reply (MO) belongs to.
//! - [`consent`]: the durable opt-out list and what STOP, START and HELP do.
//! - [`local_time`]: a recipient's local time from the number, for quiet hours.
//! - [`caps`]: frequency caps on marketing per recipient and account.
//! - [`gate`]: the consent gate every submit passes — opt-out, quiet hours, caps.
//! - [`held`]: marketing held for the recipient's daytime, durably, and released on time.
//! - [`clock`]: the wall clock consent reads (tests move it).
//! - [`policy`]: consent — STOP/START/HELP replies, suppression lists and their CSV import.

pub mod access;
pub mod accounts;
pub mod admin;
pub mod caps;
pub mod clock;
pub mod config;
pub mod connector;
pub mod consent;
pub mod daemon;
mod error;
pub mod gate;
pub mod held;
pub mod ids;
pub mod local_time;
pub mod metrics;
pub mod mo;
pub mod numbering;
pub mod orphans;
pub mod pairs;
pub mod policy;
pub mod receipts;
mod requests;
pub mod router;
pub mod routes;
pub mod tls;

pub use error::Error;
