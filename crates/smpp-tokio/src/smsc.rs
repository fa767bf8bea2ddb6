//! The SMSC (server) driver: accept connections (plain or TLS), authenticate binds through a
//! callback, and hand each bound connection to the application as a [`Connection`].
//!
//! Limits: at most `max_connections` at once (more are closed on accept), a connection that
//! does not bind within the session's bind timeout is closed, and the session's idle timeout
//! applies. Each connection runs in its own task, so one bad peer never stalls another.

use std::net::SocketAddr;
use std::sync::Arc;

use smpp_session::{Config, Role, Session};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use crate::conn::{run, Authenticate, BindChecks, BoundInfo, Ctx, DriverOptions};
use crate::link::{Incoming, Link};
use crate::Observer;
use tracing::Instrument;

/// How an SMSC serves.
#[derive(Clone)]
pub struct SmscConfig {
    /// Session timers and the window for what we send (deliver_sm); role forced to SMSC.
    pub session: Config,
    /// TPS and throttling for what we send.
    pub driver: DriverOptions,
    /// Most connections at once.
    pub max_connections: usize,
    /// TLS: every connection is TLS when set.
    pub tls: Option<TlsAcceptor>,
    /// Inbound requests buffered per connection before reading pauses.
    pub incoming_capacity: usize,
    /// Most bind checks running at once over all connections (each may hold a memory-hard
    /// hash's memory); more wait their turn.
    pub max_bind_checks: usize,
}

impl std::fmt::Debug for SmscConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmscConfig")
            .field("max_connections", &self.max_connections)
            .field("max_bind_checks", &self.max_bind_checks)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for SmscConfig {
    fn default() -> Self {
        SmscConfig {
            session: Config::new(Role::Smsc),
            driver: DriverOptions::default(),
            max_connections: 1024,
            tls: None,
            incoming_capacity: 1024,
            max_bind_checks: std::thread::available_parallelism().map_or(2, usize::from),
        }
    }
}

/// One accepted connection, handed to the application before it binds.
#[derive(Debug)]
pub struct Connection {
    /// Sends requests (deliver_sm) to the peer once bound.
    pub link: Link,
    /// The peer's requests (submit_sm, …), each with its responder.
    pub incoming: mpsc::Receiver<Incoming>,
    /// Who bound, once someone has (`None` before the bind and after the close).
    pub bound: watch::Receiver<Option<BoundInfo>>,
    /// The peer's address.
    pub peer: SocketAddr,
}

/// Accepts connections forever (until the listener fails), calling `authenticate` for each
/// bind and `on_connection` for each accepted connection.
///
/// # Errors
/// When accepting fails in a way that will not recover.
pub async fn serve(
    listener: TcpListener,
    mut config: SmscConfig,
    authenticate: Arc<Authenticate>,
    on_connection: impl Fn(Connection) + Send + Sync + 'static,
    observer: Arc<dyn Observer>,
) -> std::io::Result<()> {
    config.session.role = Role::Smsc;
    let config = Arc::new(config);
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let checks = BindChecks {
        authenticate,
        permits: Arc::new(Semaphore::new(config.max_bind_checks.max(1))),
    };
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(x) => x,
            // Out of file descriptors and the like: back off briefly rather than spin.
            Err(e) if is_transient(&e) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "connection limit reached; closing");
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let window = config.session.window;
        let (link, commands) = Link::new(window);
        let (incoming_tx, incoming_rx) = mpsc::channel(config.incoming_capacity.max(1));
        let (bound_tx, bound_rx) = watch::channel(None);
        on_connection(Connection {
            link: link.clone(),
            incoming: incoming_rx,
            bound: bound_rx,
            peer,
        });
        let config = config.clone();
        let checks = checks.clone();
        let observer = observer.clone();
        // One span per connection, inside the caller's (so the server's) span.
        let span = tracing::info_span!("smsc_connection", %peer);
        tokio::spawn(
            async move {
                let _slot = slot;
                let mut commands = commands;
                serve_one(
                    tcp,
                    peer,
                    &config,
                    checks,
                    &mut commands,
                    link,
                    incoming_tx,
                    &bound_tx,
                    observer,
                )
                .await;
            }
            .instrument(span),
        );
    }
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock | OutOfMemory | Other
    )
}

#[allow(clippy::too_many_arguments)]
async fn serve_one(
    tcp: TcpStream,
    peer: SocketAddr,
    config: &SmscConfig,
    checks: BindChecks,
    commands: &mut mpsc::UnboundedReceiver<crate::link::Command>,
    link: Link,
    incoming: mpsc::Sender<Incoming>,
    bound: &watch::Sender<Option<BoundInfo>>,
    observer: Arc<dyn Observer>,
) {
    let session = Session::new(config.session.clone(), Instant::now().into_std());
    let ctx = Ctx {
        commands,
        commands_tx: link.commands.clone(),
        incoming,
        options: &config.driver,
        observer,
        authenticate: Some((checks, peer)),
        bound,
    };
    let (reason, _) = match &config.tls {
        None => run(tcp, session, ctx).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(config.session.bind_timeout, acceptor.accept(tcp));
            match handshake.await {
                Ok(Ok(tls)) => run(tls, session, ctx).await,
                _ => {
                    tracing::info!(%peer, "TLS handshake failed");
                    return;
                }
            }
        }
    };
    tracing::debug!(%peer, ?reason, "SMPP connection closed");
}
