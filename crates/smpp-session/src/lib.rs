//! The SMPP session as a sans-IO state machine: bytes and `now` in; events, bytes to send and
//! the next deadline out. No sockets, no clock, no runtime — the tokio driver (`smpp-tokio`)
//! is a thin loop around it, and every rule here is tested on a fake clock.
//!
//! See [`Session`] for the calling contract.

mod error;
mod sequence;
mod session;
mod state;
mod window;

pub use error::{Rejected, SessionError};
pub use sequence::MAX_SEQUENCE;
pub use session::{CloseReason, Config, Event, FailReason, Session, Stats};
pub use state::{allowed_on, BindKind, Role, State};
