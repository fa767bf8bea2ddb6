//! The crate's error type: why the application's call on a session was refused.

use smpp_pdu::CommandId;

use crate::state::{BindKind, State};

/// Why a session refused to send something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The window is full: wait for a response or a timeout and try again.
    #[error("window full ({0} requests outstanding)")]
    WindowFull(usize),
    /// The request needs a bound session.
    #[error("not bound (session is {0:?})")]
    NotBound(State),
    /// The bind's direction does not allow this request (submit_sm on a receiver, …).
    #[error("{command} is not allowed on a {} bind", kind.as_str())]
    NotAllowed {
        /// The request.
        command: CommandId,
        /// The bind.
        kind: BindKind,
    },
    /// The operation belongs to the other role (an SMSC binding, an ESME accepting binds).
    #[error("{0} is not for this side of the session")]
    WrongRole(&'static str),
    /// The body given to `respond` is not a response, or to `send_request` not a request.
    #[error("{0} cannot be sent this way")]
    WrongCommand(CommandId),
    /// The session has closed.
    #[error("session closed")]
    Closed,
    /// The PDU could not be encoded.
    #[error("cannot encode: {0}")]
    Encode(#[from] smpp_pdu::Error),
}

/// A refused request, with the caller's token handed back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct Rejected<T> {
    /// Why.
    pub error: SessionError,
    /// The token given with the request.
    pub token: T,
}
