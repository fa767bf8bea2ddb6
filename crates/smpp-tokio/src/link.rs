//! The application's handle on a connection: send requests within the window, answer inbound
//! requests, unbind. Shared by the ESME client and the SMSC server's connections.
//!
//! The window is a semaphore with one permit per outstanding request: `send` waits for a
//! permit, `try_send` reports [`Error::Full`]. The permit travels with the request and is
//! released when its response, timeout or failure comes back.

use std::sync::Arc;

use smpp_pdu::{Body, CommandId, CommandStatus, Pdu};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use crate::Error;

/// A request on its way to the connection task, and where its outcome goes.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) body: Body,
    /// Slots it takes against a TPS limit (parts of a concatenated message).
    pub(crate) parts: u32,
    pub(crate) reply: oneshot::Sender<Result<Pdu, Error>>,
    pub(crate) throttle_retries: u32,
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
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) window: Arc<Semaphore>,
}

impl Link {
    pub(crate) fn new(window: usize) -> (Link, mpsc::Receiver<Command>) {
        // Room for a full window of requests plus responses to inbound requests.
        let (tx, rx) = mpsc::channel(window.max(1) * 2 + 64);
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
    pub async fn send(&self, body: Body) -> Result<Pdu, Error> {
        self.send_parts(body, 1).await
    }

    /// As [`Link::send`], counting `parts` against the TPS limit (a concatenated message's
    /// segments each count).
    pub async fn send_parts(&self, body: Body, parts: u32) -> Result<Pdu, Error> {
        let permit = self
            .window
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Stopped)?;
        self.dispatch(body, parts, permit)?.await
    }

    /// Sends a request if the window has room, returning a future for its response.
    ///
    /// # Errors
    /// [`Error::Full`] when the window is full.
    pub fn try_send(
        &self,
        body: Body,
    ) -> Result<impl std::future::Future<Output = Result<Pdu, Error>>, Error> {
        let permit = self
            .window
            .clone()
            .try_acquire_owned()
            .map_err(|_| Error::Full)?;
        self.dispatch(body, 1, permit)
    }

    fn dispatch(
        &self,
        body: Body,
        parts: u32,
        permit: OwnedSemaphorePermit,
    ) -> Result<impl std::future::Future<Output = Result<Pdu, Error>>, Error> {
        let (reply, rx) = oneshot::channel();
        let pending = Pending {
            body,
            parts,
            reply,
            throttle_retries: 0,
            _permit: permit,
        };
        self.commands
            .try_send(Command::Send(pending))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Closed(_) => Error::Stopped,
                // The channel holds twice the window, and a permit is held: only a flood of
                // responses to inbound requests can fill it.
                mpsc::error::TrySendError::Full(_) => Error::Full,
            })?;
        Ok(async move { rx.await.unwrap_or(Err(Error::Stopped)) })
    }

    /// Starts an orderly unbind of the current connection.
    pub async fn unbind(&self) {
        let _ = self.commands.send(Command::Unbind).await;
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
    /// Where the answer goes.
    pub responder: Responder,
}

/// Answers one inbound request. Dropping it unanswered answers `ESME_RX_T_APPN` (temporary
/// application error), so the peer retries rather than waits for a timeout.
#[derive(Debug)]
pub struct Responder {
    commands: mpsc::Sender<Command>,
    /// The connection the request came on; an ESME's link outlives its connections.
    connection: u64,
    sequence: u32,
    request: CommandId,
    answered: bool,
}

impl Responder {
    pub(crate) fn new(
        commands: mpsc::Sender<Command>,
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
        let _ = self
            .commands
            .send(Command::Respond {
                connection: self.connection,
                sequence: self.sequence,
                status,
                body,
            })
            .await;
    }

    /// Answers with a status and no body.
    pub async fn respond_status(mut self, status: CommandStatus) {
        self.answered = true;
        let _ = self
            .commands
            .send(Command::RespondStatus {
                connection: self.connection,
                sequence: self.sequence,
                request: self.request,
                status,
            })
            .await;
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if !self.answered {
            let _ = self.commands.try_send(Command::RespondStatus {
                connection: self.connection,
                sequence: self.sequence,
                request: self.request,
                status: CommandStatus::X_T_APPN,
            });
        }
    }
}
