//! A carrier connector at run time: its shards (binds, or transmitter + receiver pairs) kept
//! up by the ESME driver, which shard takes a message, and what happens when a bind drops.
//!
//! - Traffic goes to the bound shard with the most free window (ties in turn), so a slow or
//!   dropped bind stops getting work at once.
//! - All parts of a concatenated message go through one shard, in order.
//! - A request whose bind dropped before its answer is retried on another bound shard. When
//!   no shard is left, or the deadline passes, the caller is told, so the route's failover
//!   connector can take over or the customer gets an error status — never silence.
//! - Bounded: at most `queue` messages wait for or occupy the connector; beyond it a submit is
//!   refused at once ([`SubmitError::QueueFull`], `ESME_RMSGQFUL` for the customer).
//! - A TPS limit for the carrier as a whole spaces messages evenly (parts count); each shard
//!   also has its own limit in its driver.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use smpp_pdu::{Body, CommandId, Encoded, Pdu, SubmitSm};
use smpp_session::{BindKind, Role};
use smpp_tokio::{Backoff, Esme, EsmeConfig, Incoming, Observer, Throttle};
use tokio::sync::{mpsc, Mutex};
use tokio::time::Instant;

use crate::config::{self, BindMode};

/// A submit_sm for [`Connector::submit_one`]: its fields, and the frame it arrived in when it
/// goes on exactly as it came. Then that frame's body is sent as it is (the carrier gets the
/// customer's bytes under a new header) instead of a copy of the fields encoded again; a
/// retry on another shard sends it again.
#[derive(Debug, Clone, Copy)]
pub struct Submit<'a> {
    /// The message.
    pub sm: &'a SubmitSm,
    /// The customer's submit_sm frame that decoded as `sm`, when nothing in it was changed.
    pub frame: Option<&'a Bytes>,
}

impl Submit<'_> {
    /// The request body to send.
    fn body(&self) -> Body {
        match self.frame.and_then(Encoded::of_frame) {
            Some(e) if e.command_id == CommandId::SUBMIT_SM => Body::Encoded(e),
            _ => Body::SubmitSm(Box::new(self.sm.clone())),
        }
    }
}

impl<'a> From<&'a SubmitSm> for Submit<'a> {
    fn from(sm: &'a SubmitSm) -> Self {
        Submit { sm, frame: None }
    }
}

/// Why a connector did not get a carrier's answer for a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The connector's queue is full.
    #[error("connector queue full")]
    QueueFull,
    /// No shard is bound, or every shard that was tried dropped.
    #[error("no bind up")]
    NoBind,
    /// The deadline passed before the carrier answered.
    #[error("no answer before the deadline")]
    Timeout,
    /// The carrier kept answering ESME_RTHROTTLED.
    #[error("throttled by the carrier")]
    Throttled,
    /// The request could not be sent as it is (unencodable, refused by the session).
    #[error("not sendable: {0}")]
    Invalid(String),
}

/// The connector's queue bound: messages waiting for or occupying it. Taken without waiting
/// (full means ESME_RMSGQFUL at once), so a counter does what a semaphore did without its
/// lock on every release.
#[derive(Debug)]
struct Slots {
    taken: AtomicUsize,
    max: usize,
}

impl Slots {
    fn new(max: usize) -> Self {
        Slots {
            taken: AtomicUsize::new(0),
            max,
        }
    }

    /// A slot, or `None` when all are taken; it is given back when the guard drops.
    fn take(&self) -> Option<Slot<'_>> {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(&self.taken))
    }
}

/// A taken [`Slots`] slot.
struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One shard: the link that carries submits, and the receiver when the mode is tx+rx.
#[derive(Debug)]
struct Shard {
    tx: Esme,
    rx: Option<Esme>,
}

impl Shard {
    fn bound(&self) -> bool {
        self.tx.is_bound()
    }
}

/// A running connector.
#[derive(Debug)]
pub struct Connector {
    name: String,
    bind_tps: Option<u32>,
    tps_limit: Option<u32>,
    shards: Vec<Shard>,
    window: usize,
    tps: Option<Mutex<Throttle>>,
    queue: Slots,
    turn: AtomicUsize,
}

/// A bind's state, for `/v1/binds` and `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardStatus {
    /// Its index in the connector.
    pub index: usize,
    /// The transmitting (or transceiving) bind is up.
    pub bound: bool,
    /// The receiving bind is up (tx+rx mode only).
    pub receiver_bound: Option<bool>,
    /// Requests outstanding.
    pub in_flight: usize,
    /// Its window.
    pub window: usize,
}

impl Connector {
    /// Starts every shard binding in the background. Receipts and MO from any shard arrive
    /// on the returned receiver.
    /// `observer(bind)` gives each shard's observer (metrics per bind).
    pub fn start(
        c: &config::Connector,
        observer: impl Fn(usize) -> Arc<dyn Observer>,
    ) -> (Connector, mpsc::Receiver<Incoming>) {
        let (merged_tx, merged_rx) = mpsc::channel(c.window.max(64) * c.binds);
        let mut shards = Vec::with_capacity(c.binds);
        for i in 0..c.binds {
            // Each bind's span, entered while it starts: its connection task's span (address,
            // system_id, kind) is made inside it, so every line the bind logs names the
            // connector and the bind.
            let _span = tracing::info_span!("bind", connector = %c.name, bind = i).entered();
            let n = c.hosts.len();
            let mut e = EsmeConfig::new(c.hosts[i % n].clone(), &c.system_id, &c.password);
            // Binds start spread over the hosts and, when one fails, go on to the next. Under
            // TLS without `tls_name` each host is verified under its own name, which the
            // bind's one TLS setting cannot follow: such a bind keeps to its host.
            if !c.tls || c.tls_name.is_some() {
                e.alternates = (1..n).map(|k| c.hosts[(i + k) % n].clone()).collect();
            }
            e.system_type.clone_from(&c.system_type);
            e.session.role = Role::Esme;
            e.session.window = c.window;
            e.session.response_timeout = c.response_timeout;
            e.session.enquire_link_interval = c.enquire_link;
            e.driver.tps = c.bind_tps;
            e.backoff = Backoff {
                initial: c.reconnect.0,
                max: c.reconnect.1,
            };
            if c.tls {
                // Checked when the config was loaded. Should it fail now (the CA file changed
                // since), the shard must not fall back to plain TCP: it gets an address that
                // cannot connect, so it keeps failing to bind, and the reason is logged.
                match crate::tls::connector(c.tls_ca.as_deref(), c.tls_name.as_deref(), &e.address)
                {
                    Ok(t) => e.tls = Some(t),
                    Err(err) => {
                        tracing::error!(connector = %c.name, error = %err, "TLS settings unusable");
                        e.address = String::from("tls-settings-unusable:0");
                    }
                }
            }
            // Every bind's receipts and MO go straight into the connector's one channel.
            let shard = match c.bind {
                BindMode::Transceiver => {
                    e.kind = BindKind::Transceiver;
                    let tx = Esme::start_sending_to(e, observer(i), merged_tx.clone());
                    Shard { tx, rx: None }
                }
                BindMode::TransmitterReceiver => {
                    let (tx, rx) = Esme::start_split_sending_to(e, observer(i), merged_tx.clone());
                    Shard { tx, rx: Some(rx) }
                }
            };
            shards.push(shard);
        }
        let connector = Connector {
            name: c.name.clone(),
            bind_tps: c.bind_tps,
            tps_limit: c.tps,
            shards,
            window: c.window,
            tps: c.tps.map(|r| Mutex::new(Throttle::new(r, 1))),
            queue: Slots::new(c.queue),
            turn: AtomicUsize::new(0),
        };
        (connector, merged_rx)
    }

    /// The connector's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The TPS limit of each bind, if any.
    pub fn bind_tps(&self) -> Option<u32> {
        self.bind_tps
    }

    /// The TPS limit of the connector as a whole, if any.
    pub fn tps(&self) -> Option<u32> {
        self.tps_limit
    }

    /// True when at least one shard can take traffic.
    pub fn is_up(&self) -> bool {
        self.shards.iter().any(Shard::bound)
    }

    /// Every shard's state.
    pub fn status(&self) -> Vec<ShardStatus> {
        self.shards
            .iter()
            .enumerate()
            .map(|(index, s)| ShardStatus {
                index,
                bound: s.bound(),
                receiver_bound: s.rx.as_ref().map(Esme::is_bound),
                in_flight: s.tx.link().in_flight(self.window),
                window: self.window,
            })
            .collect()
    }

    /// Sends one submit_sm (a short message, or one part of a long one) and returns the
    /// carrier's answer. An answer with an error status is an answer: the caller passes it on.
    /// The message is borrowed and copied (its fields are shared slices) only into the
    /// request that goes out, so the future carries no `Body` of its own.
    ///
    /// `sticky` keeps the parts of a concatenated message, which the customer sends as
    /// separate PDUs, on one shard: every PDU with the same key goes to the same bound shard
    /// while it is up, so the parts reach the carrier over one bind, in the order sent.
    ///
    /// # Errors
    /// See [`SubmitError`]; on [`SubmitError::NoBind`] no shard answered it, and the caller
    /// may try another connector.
    pub async fn submit_one<'a>(
        &self,
        submit: impl Into<Submit<'a>>,
        sticky: Option<u64>,
        deadline: Instant,
    ) -> Result<Pdu, SubmitError> {
        let submit = submit.into();
        let Some(_slot) = self.queue.take() else {
            return Err(SubmitError::QueueFull);
        };
        self.wait_for_tps(deadline).await?;
        // Allocated only when a bind drops under the message.
        let mut tried: Vec<bool> = Vec::new();
        loop {
            let Some(shard) = self.pick(&tried, sticky) else {
                return Err(SubmitError::NoBind);
            };
            let link = self.shards[shard].tx.link();
            let request = submit.body();
            let Ok(result) = tokio::time::timeout_at(deadline, link.send(request)).await else {
                return Err(SubmitError::Timeout);
            };
            match result {
                Ok(pdu) => return Ok(pdu),
                Err(
                    smpp_tokio::Error::ConnectionLost(_)
                    | smpp_tokio::Error::NotConnected
                    | smpp_tokio::Error::Stopped,
                ) => {}
                Err(smpp_tokio::Error::Timeout) => return Err(SubmitError::Timeout),
                Err(smpp_tokio::Error::Throttled(_)) => return Err(SubmitError::Throttled),
                Err(other) => return Err(SubmitError::Invalid(other.to_string())),
            }
            if tried.is_empty() {
                tried = vec![false; self.shards.len()];
            }
            tried[shard] = true;
            tracing::debug!(connector = %self.name, shard, "bind dropped mid-message; trying another");
        }
    }

    /// Waits for room under the connector-wide TPS limit.
    async fn wait_for_tps(&self, deadline: Instant) -> Result<(), SubmitError> {
        let Some(tps) = &self.tps else {
            return Ok(());
        };
        loop {
            let at = {
                let mut t = tps.lock().await;
                match t.try_acquire(Instant::now().into_std(), 1) {
                    Ok(()) => return Ok(()),
                    Err(at) => Instant::from_std(at),
                }
            };
            if at > deadline {
                return Err(SubmitError::Timeout);
            }
            tokio::time::sleep_until(at).await;
        }
    }

    /// The shard for `sticky` when it is bound and untried; otherwise the bound shard not yet
    /// tried with the most free window, ties going round in turn. `tried` may be empty (none
    /// tried yet).
    fn pick(&self, tried: &[bool], sticky: Option<u64>) -> Option<usize> {
        let n = self.shards.len();
        let tried = |i: usize| tried.get(i).copied().unwrap_or(false);
        if let Some(key) = sticky {
            let i = (key % n as u64) as usize;
            if !tried(i) && self.shards[i].bound() {
                return Some(i);
            }
        }
        let start = self.turn.fetch_add(1, Ordering::Relaxed);
        let mut best: Option<(usize, usize)> = None;
        for i in (0..n).map(|k| (start + k) % n) {
            if tried(i) || !self.shards[i].bound() {
                continue;
            }
            let free = self.window - self.shards[i].tx.link().in_flight(self.window);
            if best.is_none_or(|(f, _)| free > f) {
                best = Some((free, i));
            }
        }
        best.map(|(_, i)| i)
    }

    /// Unbinds every shard and stops reconnecting, while others may still hold the connector
    /// (what they send fails with [`SubmitError::NoBind`]).
    pub async fn stop(&self) {
        for s in &self.shards {
            s.tx.stop().await;
            if let Some(rx) = &s.rx {
                rx.stop().await;
            }
        }
    }

    /// Unbinds every shard and stops reconnecting, and waits for their tasks to end.
    pub async fn shutdown(self) {
        for s in self.shards {
            s.tx.shutdown().await;
            if let Some(rx) = s.rx {
                rx.shutdown().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_taken_up_to_the_bound_and_given_back_on_drop() {
        let slots = Slots::new(2);
        let a = slots.take();
        let b = slots.take();
        assert!(a.is_some() && b.is_some());
        assert!(slots.take().is_none(), "a third slot past the bound of 2");
        drop(a);
        let c = slots.take();
        assert!(c.is_some(), "a dropped slot was not given back");
        assert!(slots.take().is_none());
        drop((b, c));
        assert_eq!(slots.taken.load(Ordering::Relaxed), 0);
    }

    fn frame_of(body: Body) -> Bytes {
        let mut buf = bytes::BytesMut::new();
        Pdu::new(9, body).encode(&mut buf).unwrap();
        buf.freeze()
    }

    #[test]
    fn an_unchanged_submit_goes_as_the_customers_bytes_and_a_changed_one_is_encoded() {
        let sm = SubmitSm {
            short_message: Bytes::from_static(b"hi"),
            ..SubmitSm::default()
        };
        let frame = frame_of(Body::SubmitSm(Box::new(sm.clone())));
        let unchanged = Submit {
            sm: &sm,
            frame: Some(&frame),
        };
        match unchanged.body() {
            Body::Encoded(e) => {
                assert_eq!(e.command_id, CommandId::SUBMIT_SM);
                assert_eq!(e.body, frame.slice(smpp_pdu::HEADER_LEN..));
            }
            other => panic!("sent as {other:?}"),
        }
        // Changed by the router (no frame), or a frame of another command: the fields.
        let deliver = frame_of(Body::DeliverSm(Box::new(sm.clone())));
        for submit in [
            Submit::from(&sm),
            Submit {
                sm: &sm,
                frame: Some(&deliver),
            },
        ] {
            assert_eq!(submit.body(), Body::SubmitSm(Box::new(sm.clone())));
        }
    }
}
