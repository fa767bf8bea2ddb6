//! A TCP relay: every connection it accepts is joined to a new connection to one upstream
//! address, and bytes are copied both ways untouched.
//!
//! Two uses. The router's tests put it between the router and a carrier to cut every
//! connection at once, the way a network fault or a crashed carrier process ends them (no
//! unbind; the sockets just close). The end-to-end benchmark (`benches/e2e/run.sh`, through the
//! `e2e-relay` binary) puts it where the router would be: a proxy that does no SMPP work at
//! all, so the bench → relay → sim leg is the most any process in the middle could let through
//! on the same machine, measured in the same run as the router.
//!
//! Each direction reads and writes up to 64 KiB at a time (the router's read size) and both
//! sockets have Nagle's algorithm off, as the router's do, so the relay batches no worse than
//! the router.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Bytes read (and written) at most per syscall, each direction.
const CHUNK: usize = 64 * 1024;

type Conns = Arc<Mutex<Vec<JoinHandle<()>>>>;

/// A running relay; dropping it closes the listener and every relayed connection.
#[derive(Debug)]
pub struct Relay {
    addr: SocketAddr,
    conns: Conns,
    accept: JoinHandle<()>,
}

impl Relay {
    /// Listens on `listen` and relays each connection to `upstream`. A connection whose
    /// upstream cannot be reached is closed.
    pub async fn start(listen: SocketAddr, upstream: SocketAddr) -> std::io::Result<Relay> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let conns = Conns::default();
        let kept = conns.clone();
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let task = tokio::spawn(pipe(inbound, outbound));
                let mut conns = kept.lock().unwrap_or_else(|p| p.into_inner());
                conns.retain(|c| !c.is_finished());
                conns.push(task);
            }
        });
        Ok(Relay {
            addr,
            conns,
            accept,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every connection open now (no unbind, no FIN from either peer first) and says
    /// how many there were; new connections are relayed again.
    pub fn cut(&self) -> usize {
        let conns = std::mem::take(&mut *self.conns.lock().unwrap_or_else(|p| p.into_inner()));
        let n = conns.iter().filter(|c| !c.is_finished()).count();
        for c in conns {
            c.abort();
        }
        n
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

async fn pipe(mut inbound: TcpStream, mut outbound: TcpStream) {
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let _ =
        tokio::io::copy_bidirectional_with_sizes(&mut inbound, &mut outbound, CHUNK, CHUNK).await;
}
