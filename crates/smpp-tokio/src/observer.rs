//! Hooks for metrics: the router implements [`Observer`] to export per-command counts,
//! latencies, in-flight gauges and connection changes; every method defaults to doing nothing.

use std::time::Duration;

use smpp_pdu::{CommandId, CommandStatus};
use smpp_session::CloseReason;

/// Receives what happens on a connection. Called from the connection's task: keep it cheap.
pub trait Observer: Send + Sync + 'static {
    /// A request of ours got its response after `latency`.
    fn response(&self, _request: CommandId, _status: CommandStatus, _latency: Duration) {}
    /// A request of ours was sent; `in_flight` counts the window after it.
    fn request_sent(&self, _request: CommandId, _in_flight: usize) {}
    /// A request of ours ended without a response (timeout, lost connection).
    fn request_failed(&self, _request: CommandId) {}
    /// The peer sent a request for the application.
    fn incoming(&self, _request: CommandId) {}
    /// The peer answered ESME_RTHROTTLED; the request will be retried after a pause.
    fn throttled(&self) {}
    /// The connection bound.
    fn bound(&self) {}
    /// The connection closed.
    fn closed(&self, _reason: CloseReason) {}
    /// The ESME will reconnect after `delay`.
    fn reconnecting(&self, _delay: Duration) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {}
