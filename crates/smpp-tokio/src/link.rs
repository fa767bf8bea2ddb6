//! The application's handle on a connection: send requests within the window, answer inbound
//! requests, unbind. Shared by the ESME client and the SMSC server's connections.
//!
//! The window is a semaphore with one permit per outstanding request: `send` waits for a
//! permit, `try_send` reports [`Error::Full`]. The permit travels with the request and is
//! released when its response, timeout or failure comes back.
//!
//! The command channel to the connection task has no capacity of its own: what it can hold is
//! bounded by what puts commands in it. A request needs a window permit first; an answer needs
//! a [`Responder`], which exists only for an inbound request that the connection handed over
//! (and it stops reading while the application does not take them). So a peer cannot grow it,
//! and neither a request nor an answer ever waits for room: a bounded channel's slot semaphore
//! cost a lock per command on the receiving side, four times per routed message.
//!
//! What moves between the application and the connection task is kept small: a request's body
//! lives in its [`call`](crate::call) cell and travels as a pointer, and an answer's `Body` is
//! small (smpp-pdu boxes the large bodies).

use std::future::Future;
use std::sync::Arc;

use smpp_pdu::{Body, CommandId, CommandStatus, Pdu};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::call::{call, Reply, Response};
use crate::Error;

/// A request on its way to the connection task: its cell (body and answer), the window slot
/// it holds, and what the driver counts against it. A few words, however large the body.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The request's body, and where its outcome goes.
    pub(crate) reply: Reply,
    /// Slots it takes against a TPS limit (parts of a concatenated message).
    pub(crate) parts: u32,
    pub(crate) throttle_retries: u32,
    /// The order it was first sent in on its connection (set by the connection task): a
    /// throttled request goes back among the others by it.
    pub(crate) first_sent: u64,
    pub(crate) _permit: OwnedSemaphorePermit,
}

/// What the application asks of the connection task.
#[derive(Debug)]
pub(crate) enum Command {
    Send(Pending),
    /// Answers carry the connection they answer: a sequence number means nothing on another.
    Respond {
        connection: u64,
        sequence: u32,
        status: CommandStatus,
        body: Body,
    },
    RespondStatus {
        connection: u64,
        sequence: u32,
        request: CommandId,
        status: CommandStatus,
    },
    Unbind,
}

/// Sends requests over a bound connection (or, for an ESME, whichever connection is current).
#[derive(Debug, Clone)]
pub struct Link {
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    pub(crate) window: Arc<Semaphore>,
}

impl Link {
    pub(crate) fn new(window: usize) -> (Link, mpsc::UnboundedReceiver<Command>) {
        // Bounded by the window and the inbound requests handed over (module docs).
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Link {
                commands: tx,
                window: Arc::new(Semaphore::new(window.max(1))),
            },
            rx,
        )
    }

    /// Sends a request and waits for its response, first waiting for room in the window.
    ///
    /// # Errors
    /// [`Error::NotConnected`], [`Error::Timeout`], [`Error::ConnectionLost`], … — a response
    /// with an error status is `Ok`, with that status in the PDU.
    pub fn send(&self, body: Body) -> impl Future<Output = Result<Pdu, Error>> + Send + '_ {
        self.send_parts(body, 1)
    }

    /// As [`Link::send`], counting `parts` against the TPS limit (a concatenated message's
    /// segments each count).
    pub fn send_parts(
        &self,
        body: Body,
        parts: u32,
    ) -> impl Future<Output = Result<Pdu, Error>> + Send + '_ {
        // The body goes into its cell now, so the future holds a pointer while it waits for
        // room, not the body (an `async fn` would keep its argument in the future).
        let (reply, response) = call(body);
        async move {
            let permit = self
                .window
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| Error::Stopped)?;
            let pending = Pending {
                reply,
                parts,
                throttle_retries: 0,
                first_sent: 0,
                _permit: permit,
            };
            self.commands
                .send(Command::Send(pending))
                .map_err(|_| Error::Stopped)?;
            response.await
        }
    }

    /// Sends a request if the window has room, returning a future for its response.
    ///
    /// # Errors
    /// [`Error::Full`] when the window is full; [`Error::Stopped`] when the link is stopped.
    pub fn try_send(&self, body: Body) -> Result<impl Future<Output = Result<Pdu, Error>>, Error> {
        let permit = self
            .window
            .clone()
            .try_acquire_owned()
            .map_err(|_| Error::Full)?;
        let (reply, response) = call(body);
        self.dispatch(reply, response, 1, permit)
    }

    fn dispatch(
        &self,
        reply: Reply,
        response: Response,
        parts: u32,
        permit: OwnedSemaphorePermit,
    ) -> Result<Response, Error> {
        let pending = Pending {
            reply,
            parts,
            throttle_retries: 0,
            first_sent: 0,
            _permit: permit,
        };
        self.commands
            .send(Command::Send(pending))
            .map_err(|_| Error::Stopped)?;
        Ok(response)
    }

    /// Starts an orderly unbind of the current connection.
    pub async fn unbind(&self) {
        let _ = self.commands.send(Command::Unbind);
    }

    /// Requests outstanding or waiting to be sent.
    pub fn in_flight(&self, window: usize) -> usize {
        window - self.window.available_permits().min(window)
    }
}

/// A request from the peer that the application must answer (or, for outbind and
/// alert_notification, just read).
#[derive(Debug)]
pub struct Incoming {
    /// The request.
    pub pdu: Pdu,
    /// The request as it arrived, header included; `pdu`'s fields share its memory. To pass
    /// the request on unchanged, send `smpp_pdu::Encoded::of_frame(&frame)` as the body.
    pub frame: bytes::Bytes,
    /// Where the answer goes.
    pub responder: Responder,
}

/// Answers one inbound request. Dropping it unanswered answers `ESME_RX_T_APPN` (temporary
/// application error), so the peer retries rather than waits for a timeout.
#[derive(Debug)]
pub struct Responder {
    commands: mpsc::UnboundedSender<Command>,
    /// The connection the request came on; an ESME's link outlives its connections.
    connection: u64,
    sequence: u32,
    request: CommandId,
    answered: bool,
}

impl Responder {
    pub(crate) fn new(
        commands: mpsc::UnboundedSender<Command>,
        connection: u64,
        sequence: u32,
        request: CommandId,
    ) -> Self {
        Responder {
            commands,
            connection,
            sequence,
            request,
            // Requests without a response need no answer.
            answered: request.response().is_none(),
        }
    }

    /// Answers with a response body (`submit_sm_resp` with our message_id, …).
    pub async fn respond(mut self, status: CommandStatus, body: Body) {
        self.answered = true;
        let _ = self.commands.send(Command::Respond {
            connection: self.connection,
            sequence: self.sequence,
            status,
            body,
        });
    }

    /// Answers with a status and no body.
    pub async fn respond_status(mut self, status: CommandStatus) {
        self.answered = true;
        let _ = self.commands.send(Command::RespondStatus {
            connection: self.connection,
            sequence: self.sequence,
            request: self.request,
            status,
        });
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if !self.answered {
            let _ = self.commands.send(Command::RespondStatus {
                connection: self.connection,
                sequence: self.sequence,
                request: self.request,
                status: CommandStatus::X_T_APPN,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command is moved into and out of a channel slot for every request and answer.
    #[test]
    fn commands_stay_small() {
        assert!(std::mem::size_of::<Command>() <= 112);
        assert!(std::mem::size_of::<Pending>() <= 64);
    }
}
