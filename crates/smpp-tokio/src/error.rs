//! The crate's error type: what a caller of the ESME or SMSC driver is told.

use smpp_pdu::CommandStatus;
use smpp_session::{CloseReason, SessionError};

/// Why a driver operation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The window is full (only from `try_send`; `send` waits instead).
    #[error("window full")]
    Full,
    /// No bound connection: the link is connecting, reconnecting or closed.
    #[error("not connected")]
    NotConnected,
    /// The request was sent but the connection went away before its response.
    #[error("connection lost before the response ({0:?})")]
    ConnectionLost(CloseReason),
    /// No response within the response timeout.
    #[error("no response within the response timeout")]
    Timeout,
    /// The response arrived but could not be decoded.
    #[error("malformed response: {0}")]
    MalformedResponse(smpp_pdu::Error),
    /// The peer kept answering ESME_RTHROTTLED after every retry.
    #[error("throttled by the peer after {0} retries")]
    Throttled(u32),
    /// The bind was refused.
    #[error("bind refused: {0}")]
    BindRefused(CommandStatus),
    /// The session refused the request (wrong state, direction, unencodable).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// A socket or TLS error.
    #[error("I/O: {0}")]
    Io(String),
    /// The driver task is gone.
    #[error("driver stopped")]
    Stopped,
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}
