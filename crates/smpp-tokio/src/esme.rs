//! The ESME (client) driver: connect, bind, keep the link up with reconnects.
//!
//! A supervisor task owns the connection. It connects (TCP, optionally TLS), binds, runs the
//! connection loop until it ends, then waits an exponential backoff with jitter and starts over
//! — always with a fresh socket and a fresh bind, never a second bind on a live one. While no
//! connection is bound, requests fail at once with [`Error::NotConnected`], so a router can
//! send them elsewhere instead of waiting.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use smpp_pdu::{Bind, Npi, Pdu, Ton};
use smpp_session::{BindKind, CloseReason, Config, Role, Session};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};
use tokio_rustls::TlsConnector;
use tracing::Instrument;

use crate::conn::{run, BoundInfo, Ctx, DriverOptions};
use crate::link::{Command, Incoming, Link};
use crate::{Error, Observer};

/// Reconnect delays: `initial`, doubling up to `max`, each with ±20 % jitter so that many
/// binds dropped together do not return together.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The first delay.
    pub initial: Duration,
    /// The longest delay; a bind that lasted this long starts the delays again from the first.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The delay before attempt `n` (0-based), jittered.
    pub fn delay(&self, n: u32) -> Duration {
        let base = self.initial.saturating_mul(1u32 << n.min(16)).min(self.max);
        base.mul_f64(0.8 + 0.4 * fastrand::f64())
    }
}

/// How an ESME connects and binds.
#[derive(Clone)]
pub struct EsmeConfig {
    /// `host:port` of the SMSC.
    pub address: String,
    /// Other addresses of the same SMSC. After an attempt that failed (no connection, a
    /// refused bind, a connection that did not last `backoff.max`), the next attempt goes to
    /// the next address in turn, `address` first again after the last. With TLS every
    /// address is verified under the one server name in `tls`.
    pub alternates: Vec<String>,
    /// Transmitter, receiver or transceiver.
    pub kind: BindKind,
    /// Credentials.
    pub system_id: String,
    /// Credentials.
    pub password: String,
    /// Often empty.
    pub system_type: String,
    /// 0x34 for SMPP 3.4 (the default), 0x50 for 5.0.
    pub interface_version: u8,
    /// Session timers and window (its role is forced to ESME).
    pub session: Config,
    /// TPS and throttling behaviour.
    pub driver: DriverOptions,
    /// Reconnect delays.
    pub backoff: Backoff,
    /// Give up a connection attempt after this long.
    pub connect_timeout: Duration,
    /// TLS: the connector and the server name to verify.
    pub tls: Option<(TlsConnector, rustls_pki_types::ServerName<'static>)>,
    /// Inbound requests (deliver_sm) buffered for the application before reading pauses.
    pub incoming_capacity: usize,
}

impl std::fmt::Debug for EsmeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsmeConfig")
            .field("address", &self.address)
            .field("alternates", &self.alternates)
            .field("kind", &self.kind)
            .field("system_id", &self.system_id)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl EsmeConfig {
    /// A transceiver bind to `address` with default timers, window 100, no TPS limit.
    pub fn new(address: impl Into<String>, system_id: &str, password: &str) -> Self {
        EsmeConfig {
            address: address.into(),
            alternates: Vec::new(),
            kind: BindKind::Transceiver,
            system_id: system_id.to_owned(),
            password: password.to_owned(),
            system_type: String::new(),
            interface_version: 0x34,
            session: Config::new(Role::Esme),
            driver: DriverOptions::default(),
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(5),
            tls: None,
            incoming_capacity: 1024,
        }
    }
}

/// A running ESME: a link that reconnects by itself.
#[derive(Debug)]
pub struct Esme {
    link: Link,
    bound: watch::Receiver<Option<BoundInfo>>,
    stopping: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Esme {
    /// Starts connecting and binding in the background. Inbound requests (deliver_sm:
    /// receipts and MO) arrive on the returned receiver.
    pub fn start(
        config: EsmeConfig,
        observer: Arc<dyn Observer>,
    ) -> (Esme, mpsc::Receiver<Incoming>) {
        let (incoming_tx, incoming_rx) = mpsc::channel(config.incoming_capacity.max(1));
        (
            Esme::start_sending_to(config, observer, incoming_tx),
            incoming_rx,
        )
    }

    /// As [`Esme::start`], with inbound requests sent to `incoming`: several binds to one
    /// carrier can share a channel, with no task to merge theirs (`incoming_capacity` is then
    /// the caller's to choose).
    pub fn start_sending_to(
        mut config: EsmeConfig,
        observer: Arc<dyn Observer>,
        incoming: mpsc::Sender<Incoming>,
    ) -> Esme {
        config.session.role = Role::Esme;
        let (link, commands) = Link::new(config.session.window);
        let (bound_tx, bound_rx) = watch::channel(None);
        let stopping = Arc::new(AtomicBool::new(false));
        // One span per bind: the caller's span (the router names connector and shard) with
        // the address and direction inside it, so every log line of this bind carries them.
        let span = tracing::info_span!(
            "esme",
            address = %config.address,
            system_id = %config.system_id,
            kind = ?config.kind,
        );
        let task = tokio::spawn(
            supervise(
                config,
                commands,
                link.commands.clone(),
                incoming,
                bound_tx,
                observer,
                stopping.clone(),
            )
            .instrument(span),
        );
        Esme {
            link,
            bound: bound_rx,
            stopping,
            task,
        }
    }

    /// Two binds to one SMSC, for carriers that take no transceiver: a transmitter that
    /// carries the requests and a receiver for what the SMSC sends (receipts, MO), each
    /// reconnecting on its own. Inbound requests of the receiver arrive on the returned
    /// receiver; `config.kind` is ignored.
    pub fn start_split(
        config: EsmeConfig,
        observer: Arc<dyn Observer>,
    ) -> (Esme, Esme, mpsc::Receiver<Incoming>) {
        let (incoming_tx, incoming_rx) = mpsc::channel(config.incoming_capacity.max(1));
        let (transmitter, receiver) = Esme::start_split_sending_to(config, observer, incoming_tx);
        (transmitter, receiver, incoming_rx)
    }

    /// As [`Esme::start_split`], with inbound requests sent to `incoming`.
    pub fn start_split_sending_to(
        config: EsmeConfig,
        observer: Arc<dyn Observer>,
        incoming: mpsc::Sender<Incoming>,
    ) -> (Esme, Esme) {
        let transmitter = EsmeConfig {
            kind: BindKind::Transmitter,
            ..config.clone()
        };
        let receiver = EsmeConfig {
            kind: BindKind::Receiver,
            ..config
        };
        (
            Esme::start_sending_to(transmitter, observer.clone(), incoming.clone()),
            Esme::start_sending_to(receiver, observer, incoming),
        )
    }

    /// The link, to send requests (clone it freely).
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// Sends a request and waits for its response (see [`Link::send`]).
    pub fn send(
        &self,
        body: smpp_pdu::Body,
    ) -> impl std::future::Future<Output = Result<Pdu, Error>> + Send + '_ {
        self.link.send(body)
    }

    /// Who the link is bound to now, if anyone.
    pub fn bound(&self) -> Option<BoundInfo> {
        self.bound.borrow().clone()
    }

    /// Whether the link is bound now: [`Esme::bound`] without copying who to (a router asks
    /// this of every bind for every message it places).
    pub fn is_bound(&self) -> bool {
        self.bound.borrow().is_some()
    }

    /// Waits until the link is bound, at most `limit`.
    ///
    /// # Errors
    /// [`Error::NotConnected`] when it did not bind in time.
    pub async fn wait_bound(&self, limit: Duration) -> Result<BoundInfo, Error> {
        let mut rx = self.bound.clone();
        let result = timeout(limit, async {
            rx.wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|info| info.clone())
        })
        .await;
        result.ok().flatten().ok_or(Error::NotConnected)
    }

    /// Unbinds, stops reconnecting, and waits for the supervisor to finish.
    pub async fn shutdown(self) {
        self.stop().await;
        let _ = timeout(Duration::from_secs(10), self.task).await;
    }

    /// Unbinds and stops reconnecting, without waiting for the supervisor: for an ESME that
    /// others still hold a reference to (their requests fail with [`Error::NotConnected`]).
    pub async fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.link.unbind().await;
    }
}

async fn supervise(
    config: EsmeConfig,
    mut commands: mpsc::UnboundedReceiver<Command>,
    commands_tx: mpsc::UnboundedSender<Command>,
    incoming: mpsc::Sender<Incoming>,
    bound: watch::Sender<Option<BoundInfo>>,
    observer: Arc<dyn Observer>,
    stopping: Arc<AtomicBool>,
) {
    let mut attempt = 0u32;
    // Which of the addresses (`address`, then the alternates) the next attempt goes to.
    let mut turn = 0usize;
    while !stopping.load(Ordering::SeqCst) {
        let mut was_bound = false;
        let mut refused = false;
        let started = Instant::now();
        let address = match turn {
            0 => &config.address,
            n => &config.alternates[n - 1],
        };
        match connect(&config, address).await {
            Ok(stream) => {
                let now = Instant::now().into_std();
                let mut session = Session::new(config.session.clone(), now);
                let bind = Bind {
                    system_id: Bytes::from(config.system_id.clone()),
                    password: Bytes::from(config.password.clone()),
                    system_type: Bytes::from(config.system_type.clone()),
                    interface_version: config.interface_version,
                    addr_ton: Ton::UNKNOWN,
                    addr_npi: Npi::UNKNOWN,
                    address_range: Bytes::new(),
                };
                if session.bind(now, config.kind, bind).is_err() {
                    return;
                }
                let ctx = Ctx {
                    commands: &mut commands,
                    commands_tx: commands_tx.clone(),
                    incoming: incoming.clone(),
                    options: &config.driver,
                    observer: observer.clone(),
                    authenticate: None,
                    bound: &bound,
                };
                let (reason, b) = match stream {
                    Stream::Plain(s) => run(s, session, ctx).await,
                    Stream::Tls(s) => run(*s, session, ctx).await,
                };
                was_bound = b;
                refused = matches!(reason, CloseReason::BindRejected(_));
                tracing::info!(%address, ?reason, "SMPP connection closed");
            }
            Err(e) => tracing::warn!(%address, error = %e, "connect failed"),
        }
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        // Only a bind that lasted starts the count again: a peer that accepts the bind and
        // drops it at once (a session limit, a licence check) is a failed attempt, or the
        // link would rebind at the first delay for ever.
        let lasted = was_bound && started.elapsed() >= config.backoff.max;
        attempt = if lasted { 0 } else { attempt + 1 };
        if !lasted {
            turn = (turn + 1) % (config.alternates.len() + 1);
        }
        // A refused bind backs off at least as long as a failed connect: no storms.
        let delay = config
            .backoff
            .delay(if refused { attempt.max(3) } else { attempt });
        observer.reconnecting(delay);
        refuse_until(&mut commands, Instant::now() + delay, &stopping).await;
    }
    // Stopped: refuse whatever is still queued.
    commands.close();
    while let Ok(c) = commands.try_recv() {
        refuse(c);
    }
}

/// Answers queued requests with NotConnected until `deadline`.
async fn refuse_until(
    commands: &mut mpsc::UnboundedReceiver<Command>,
    deadline: Instant,
    stopping: &AtomicBool,
) {
    loop {
        tokio::select! {
            c = commands.recv() => match c {
                Some(c) => refuse(c),
                None => return,
            },
            () = tokio::time::sleep_until(deadline) => return,
        }
        if stopping.load(Ordering::SeqCst) {
            return;
        }
    }
}

fn refuse(c: Command) {
    if let Command::Send(p) = c {
        p.reply.send(Err(Error::NotConnected));
    }
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

async fn connect(config: &EsmeConfig, address: &str) -> Result<Stream, Error> {
    let tcp = timeout(config.connect_timeout, TcpStream::connect(address))
        .await
        .map_err(|_| Error::Io("connect timed out".into()))??;
    tcp.set_nodelay(true)?;
    match &config.tls {
        None => Ok(Stream::Plain(tcp)),
        Some((connector, name)) => {
            let tls = timeout(config.connect_timeout, connector.connect(name.clone(), tcp))
                .await
                .map_err(|_| Error::Io("TLS handshake timed out".into()))??;
            Ok(Stream::Tls(Box::new(tls)))
        }
    }
}
