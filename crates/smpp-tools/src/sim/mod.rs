//! `smpp-sim`: a simulated carrier SMSC, to test a router (or an ESME) against something that
//! behaves like a carrier — carrier-form message ids, receipts after a realistic delay with a
//! mix of outcomes, MO replies — and misbehaves on demand: refusals, throttling, receipts
//! before the submit_sm_resp, dropped connections, silence, slow answers.
//!
//! It is a library first, so tests and the router's quickstart can start one in-process:
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use smpp_tools::sim::{Sim, SimConfig};
//!
//! let sim = Sim::start(SimConfig {
//!     listen: "127.0.0.1:0".parse().unwrap(),
//!     ..SimConfig::default()
//! })
//! .await?;
//! println!("carrier on {}", sim.local_addr());
//! let counts = sim.shutdown().await;
//! println!("{counts}");
//! # Ok(()) }
//! ```
//!
//! The SMPP session itself (binds, enquire_link, windows, unbind) is `smpp-tokio`'s SMSC
//! driver; this module decides how each submit is answered and what is sent back.

mod config;
mod conversations;
mod counts;
mod ids;
mod outbox;
mod scheduler;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use smpp_pdu::receipt::{self, ReceiptFields};
use smpp_pdu::{
    Address, Body, CommandStatus, DataCoding, EsmClass, MessageIdResp, MessageState, MultiDest,
    RegisteredDelivery, SubmitMultiResp, SubmitSm, TlvsBuilder,
};
use smpp_session::BindKind;
use smpp_tokio::{
    serve, Authenticate, BindRequest, Connection, Incoming, Link, NoObserver, Responder, SmscConfig,
};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use config::{tls_acceptor, Account, DlrMix, IdFormat, MsRange, SimConfig, Status};
pub use counts::SimCounts;

use conversations::Conversations;
use counts::Counters;
use ids::IdGen;
use outbox::{Kind, Outboxes, Outgoing};
use scheduler::Scheduler;

/// Recipients remembered for MO replies.
const CONVERSATIONS: usize = 10_000;
/// Unanswered submits held per connection in silent mode; past it the connection is closed.
const SILENT_HOLD: usize = 100_000;
/// Delayed answers in flight per connection.
const DELAYED_ANSWERS: usize = 4096;
/// How long an early receipt may hold back its submit_sm_resp.
const EARLY_WAIT: Duration = Duration::from_secs(5);

/// Starts simulators.
#[derive(Debug)]
pub struct Sim;

impl Sim {
    /// Binds `config.listen` and starts serving.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn start(config: SimConfig) -> std::io::Result<SimHandle> {
        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        let counts = Arc::new(Counters::default());
        let outboxes = Arc::new(Outboxes::new(config.outbox_limit, counts.clone()));
        let scheduler = Arc::new(Scheduler::new(config.scheduled_limit, counts.clone()));
        let shared = Arc::new(Shared {
            ids: IdGen::new(config.id_format),
            counts,
            outboxes: outboxes.clone(),
            scheduler: scheduler.clone(),
            throttle: Mutex::new((Instant::now(), 0)),
            conversations: Mutex::new(Conversations::new(CONVERSATIONS)),
            links: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
            config,
        });

        let mut smsc = SmscConfig::default();
        smsc.session.window = shared.config.window.max(1);
        smsc.session.response_timeout = shared.config.response_timeout;
        smsc.tls.clone_from(&shared.config.tls);
        let auth_shared = shared.clone();
        let authenticate: Arc<Authenticate> =
            Arc::new(move |req: &BindRequest| auth_shared.authenticate(req));
        let conn_shared = shared.clone();
        let on_connection = move |conn: Connection| {
            tokio::spawn(handle_connection(conn_shared.clone(), conn));
        };
        let mut tasks = vec![
            tokio::spawn(async move {
                if let Err(e) = serve(
                    listener,
                    smsc,
                    authenticate,
                    on_connection,
                    Arc::new(NoObserver),
                )
                .await
                {
                    eprintln!("smpp-sim: accept failed: {e}");
                }
            }),
            tokio::spawn(scheduler.run(outboxes)),
        ];
        if shared.config.mo_rate > 0.0 {
            tasks.push(tokio::spawn(mo_loop(shared.clone())));
        }
        Ok(SimHandle {
            local_addr,
            shared,
            tasks,
        })
    }
}

/// A running simulator. Dropping it stops accepting and sending; [`SimHandle::shutdown`]
/// also unbinds every connection.
#[derive(Debug)]
pub struct SimHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What it has done so far.
    pub fn counts(&self) -> SimCounts {
        self.shared.snapshot()
    }

    /// Connections open now (binding or bound), unlike the running totals of [`SimCounts`]:
    /// a test can see a peer's binds go away.
    pub fn open_connections(&self) -> usize {
        lock(&self.shared.links).len()
    }

    /// Stops accepting, unbinds every connection (waiting briefly for them to close), and
    /// returns the final counts.
    pub async fn shutdown(mut self) -> SimCounts {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        let links: Vec<Link> = lock(&self.shared.links).values().cloned().collect();
        for link in links {
            let _ = tokio::time::timeout(Duration::from_millis(500), link.unbind()).await;
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while !lock(&self.shared.links).is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.shared.snapshot()
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

struct Shared {
    config: SimConfig,
    counts: Arc<Counters>,
    ids: IdGen,
    outboxes: Arc<Outboxes>,
    scheduler: Arc<Scheduler>,
    /// Start of the current second and submits accepted in it (`--throttle-tps`).
    throttle: Mutex<(Instant, u32)>,
    conversations: Mutex<Conversations>,
    /// Every open connection, to unbind at shutdown.
    links: Mutex<HashMap<u64, Link>>,
    next_conn: AtomicU64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn snapshot(&self) -> SimCounts {
        self.counts
            .snapshot(self.scheduler.len() + self.outboxes.queued())
    }

    fn authenticate(&self, req: &BindRequest) -> Result<Vec<u8>, CommandStatus> {
        let accounts = &self.config.accounts;
        if !accounts.is_empty() {
            let Some(account) = accounts
                .iter()
                .find(|a| a.system_id.as_bytes() == &req.bind.system_id[..])
            else {
                self.counts.binds_refused.fetch_add(1, Ordering::Relaxed);
                return Err(CommandStatus::INVSYSID);
            };
            if account.password.as_bytes() != &req.bind.password[..] {
                self.counts.binds_refused.fetch_add(1, Ordering::Relaxed);
                return Err(CommandStatus::INVPASWD);
            }
        }
        self.counts.binds.fetch_add(1, Ordering::Relaxed);
        Ok(b"SMPPSIM".to_vec())
    }

    /// True when this submit is over `--throttle-tps` (a fixed one-second window).
    fn over_rate(&self) -> bool {
        let Some(tps) = self.config.throttle_tps else {
            return false;
        };
        let mut g = lock(&self.throttle);
        let now = Instant::now();
        if now.duration_since(g.0) >= Duration::from_secs(1) {
            *g = (now, 0);
        }
        if g.1 >= tps {
            return true;
        }
        g.1 += 1;
        false
    }

    fn remember(&self, system_id: &Bytes, phone: &Address, sender: &Address) {
        if self.config.mo_rate <= 0.0 {
            return;
        }
        lock(&self.conversations).remember(system_id, phone, sender);
    }
}

/// Per-connection state.
struct ConnState {
    submits: u64,
    /// Unanswered responders in silent mode (dropping one answers it, so they are kept).
    held: Vec<Responder>,
    /// Bounds the answers waiting for a delay or an early receipt.
    slots: Arc<Semaphore>,
    closing: bool,
    /// The receipt pump of this connection: ask it to drain, and wait for it.
    pump: Option<(watch::Sender<bool>, JoinHandle<()>)>,
}

impl ConnState {
    /// Closes the connection the way a carrier that means it does: no new deliver_sm, wait
    /// (briefly) for those outstanding to be answered, then unbind. Unbinding with
    /// deliver_sm outstanding would let their answers arrive on the ESME's next connection.
    async fn close(&mut self, link: &Link) {
        self.closing = true;
        if let Some((drain, task)) = self.pump.take() {
            let _ = drain.send(true);
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        link.unbind().await;
    }
}

async fn handle_connection(shared: Arc<Shared>, conn: Connection) {
    let Connection {
        link,
        mut incoming,
        bound,
        ..
    } = conn;
    shared.counts.connections.fetch_add(1, Ordering::Relaxed);
    let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    lock(&shared.links).insert(id, link.clone());
    let info = {
        let mut b = bound.clone();
        b.wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|i| i.clone())
    };
    if let Some(info) = info {
        let mut pump = None;
        if matches!(info.kind, BindKind::Receiver | BindKind::Transceiver) {
            if let Some(outbox) = shared.outboxes.get(&info.system_id) {
                let (drain_tx, drain_rx) = watch::channel(false);
                let task = tokio::spawn(shared.outboxes.clone().pump(
                    outbox,
                    link.clone(),
                    shared.config.window,
                    bound.clone(),
                    drain_rx,
                ));
                pump = Some((drain_tx, task));
            }
        }
        let mut state = ConnState {
            submits: 0,
            held: Vec::new(),
            slots: Arc::new(Semaphore::new(DELAYED_ANSWERS)),
            closing: false,
            pump,
        };
        while let Some(inc) = incoming.recv().await {
            handle_request(&shared, &info.system_id, &link, &mut state, inc).await;
        }
        // Silent mode's held responders answer X_T_APPN on drop; the connection is gone, so
        // nothing is sent.
        drop(state);
    }
    lock(&shared.links).remove(&id);
}

/// What a message submit asks for, whatever PDU carried it.
struct Submit<'a> {
    dests: Vec<Address>,
    source: Address,
    registered: RegisteredDelivery,
    payload: &'a [u8],
    data_coding: DataCoding,
    udhi: bool,
}

/// How the submit is answered. A temporary moved once into the answering future.
enum Answer {
    Status(CommandStatus),
    Body(Body),
}

async fn handle_request(
    shared: &Arc<Shared>,
    system_id: &Bytes,
    link: &Link,
    state: &mut ConnState,
    inc: Incoming,
) {
    let Incoming { pdu, responder, .. } = inc;
    let submit = match &pdu.body {
        Body::SubmitSm(sm) => Submit {
            dests: vec![sm.dest.clone()],
            source: sm.source.clone(),
            registered: sm.registered_delivery,
            payload: sm.payload(),
            data_coding: sm.data_coding,
            udhi: sm.esm_class.has_udh(),
        },
        Body::DataSm(d) => Submit {
            dests: vec![d.dest.clone()],
            source: d.source.clone(),
            registered: d.registered_delivery,
            payload: d.tlvs.message_payload().unwrap_or_default(),
            data_coding: d.data_coding,
            udhi: d.esm_class.has_udh(),
        },
        Body::SubmitMulti(m) => Submit {
            dests: m
                .dests
                .iter()
                .filter_map(|d| match d {
                    MultiDest::Sme(a) => Some(a.clone()),
                    MultiDest::DistributionList(_) => None,
                })
                .collect(),
            source: m.source.clone(),
            registered: m.registered_delivery,
            payload: &m.short_message,
            data_coding: m.data_coding,
            udhi: m.esm_class.has_udh(),
        },
        // query_sm, cancel_sm, replace_sm, broadcasts…: not simulated.
        _ => {
            responder.respond_status(CommandStatus::INVCMDID).await;
            return;
        }
    };
    let c = &shared.counts;
    let cfg = &shared.config;
    c.submits.fetch_add(1, Ordering::Relaxed);
    state.submits += 1;
    if state.closing {
        // Unbinding: the dropped responder answers ESME_RX_T_APPN if the link still carries.
        return;
    }
    if cfg.silent {
        c.unanswered.fetch_add(1, Ordering::Relaxed);
        state.held.push(responder);
        if state.held.len() >= SILENT_HOLD {
            state.close(link).await;
        }
        return;
    }

    let mut early: Option<oneshot::Receiver<()>> = None;
    let answer = if shared.over_rate() {
        c.throttled.fetch_add(1, Ordering::Relaxed);
        Answer::Status(CommandStatus::THROTTLED)
    } else if cfg.reject_share > 0.0 && fastrand::f64() < cfg.reject_share {
        c.rejected.fetch_add(1, Ordering::Relaxed);
        Answer::Status(cfg.reject_status)
    } else {
        c.accepted.fetch_add(1, Ordering::Relaxed);
        let id = shared.ids.next();
        for dest in &submit.dests {
            shared.remember(system_id, dest, &submit.source);
        }
        if cfg.receipts && submit.registered.wants_receipt() {
            early = send_receipts(shared, system_id, &id, &submit);
        }
        let message_id = Bytes::from(id);
        Answer::Body(match &pdu.body {
            Body::DataSm(_) => Body::DataSmResp(MessageIdResp {
                message_id,
                ..Default::default()
            }),
            Body::SubmitMulti(_) => Body::SubmitMultiResp(Box::new(SubmitMultiResp {
                message_id,
                unsuccess: Vec::new(),
                tlvs: Default::default(),
            })),
            _ => Body::SubmitSmResp(MessageIdResp {
                message_id,
                ..Default::default()
            }),
        })
    };

    let delay = cfg.resp_delay;
    let waits = early.is_some() || !delay.is_zero();
    let respond = async move {
        if let Some(rx) = early {
            let _ = tokio::time::timeout(EARLY_WAIT, rx).await;
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match answer {
            Answer::Status(s) => responder.respond_status(s).await,
            Answer::Body(b) => responder.respond(CommandStatus::OK, b).await,
        }
    };
    if !waits {
        respond.await;
    } else if let Ok(permit) = state.slots.clone().acquire_owned().await {
        tokio::spawn(async move {
            respond.await;
            drop(permit);
        });
    }

    if cfg.drop_after.is_some_and(|n| state.submits >= n) {
        c.dropped_connections.fetch_add(1, Ordering::Relaxed);
        state.close(link).await;
    }
}

/// Makes the receipts of an accepted message (one per destination) and schedules them; an
/// early one (`--early-dlr-share`) goes to the outbox at once, and the returned receiver says
/// when it has been sent, so the submit_sm_resp can wait for it.
fn send_receipts(
    shared: &Shared,
    system_id: &Bytes,
    id: &[u8],
    submit: &Submit<'_>,
) -> Option<oneshot::Receiver<()>> {
    let cfg = &shared.config;
    let mut early = None;
    let snippet = snippet(submit);
    let submitted = SystemTime::now();
    for dest in &submit.dests {
        let state = cfg.dlr_mix.draw();
        // registered_delivery 2 asks for failures only, 3 (SMPP 5.0) for successes only.
        let wanted = match submit.registered.smsc_receipt() {
            2 => state != MessageState::DELIVERED,
            3 => state == MessageState::DELIVERED,
            _ => true,
        };
        if !wanted {
            continue;
        }
        let outbox_has_receiver = shared
            .outboxes
            .get(system_id)
            .is_some_and(|o| o.has_receiver());
        let go_early = early.is_none()
            && cfg.early_dlr_share > 0.0
            && outbox_has_receiver
            && fastrand::f64() < cfg.early_dlr_share;
        let delay = if go_early {
            Duration::ZERO
        } else {
            cfg.dlr_delay.draw()
        };
        // A receipt sent after `delay`, when a receiver of the system_id is bound.
        let later = |body| {
            shared.scheduler.schedule(
                delay,
                system_id.clone(),
                Outgoing {
                    kind: Kind::Receipt,
                    body,
                    done: None,
                    attempts: 0,
                },
            );
        };
        let Some(body) = receipt_body(id, dest, &submit.source, state, submitted, delay, &snippet)
        else {
            continue;
        };
        shared
            .counts
            .receipts_scheduled
            .fetch_add(1, Ordering::Relaxed);
        if go_early {
            shared.counts.receipts_early.fetch_add(1, Ordering::Relaxed);
            let (tx, rx) = oneshot::channel();
            shared.outboxes.push(
                system_id,
                Outgoing {
                    kind: Kind::Receipt,
                    body,
                    done: Some(tx),
                    attempts: 0,
                },
            );
            early = Some(rx);
        } else {
            later(body);
        }
        if cfg.stray_dlr_share > 0.0 && fastrand::f64() < cfg.stray_dlr_share {
            let n = shared.counts.receipts_stray.fetch_add(1, Ordering::Relaxed);
            let stray = format!("STRAY{n:011}");
            if let Some(body) = receipt_body(
                stray.as_bytes(),
                dest,
                &submit.source,
                state,
                submitted,
                delay,
                &snippet,
            ) {
                later(body);
            }
        }
    }
    early
}

/// The first characters of a text message for the receipt's `text:` field (printable ASCII
/// only; nothing for binary bodies).
fn snippet(submit: &Submit<'_>) -> Vec<u8> {
    use smpp_pdu::text::Alphabet;
    let mut data = submit.payload;
    if submit.udhi {
        match smpp_pdu::concat::Udh::parse(data) {
            Ok((_, rest)) => data = rest,
            Err(_) => return Vec::new(),
        }
    }
    if submit.data_coding.alphabet() == Alphabet::Binary {
        return Vec::new();
    }
    let mut text = String::new();
    smpp_pdu::text::decode(data, submit.data_coding, &mut text);
    text.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(20)
        .map(|c| c as u8)
        .collect()
}

/// A delivery receipt: Appendix B text plus the receipted_message_id and message_state TLVs.
fn receipt_body(
    id: &[u8],
    phone: &Address,
    sender: &Address,
    state: MessageState,
    submitted: SystemTime,
    delay: Duration,
    snippet: &[u8],
) -> Option<Body> {
    let delivered = state == MessageState::DELIVERED;
    let submit_date = ids::receipt_date(submitted);
    let done_date = ids::receipt_date(submitted + delay);
    let mut text = BytesMut::with_capacity(160);
    receipt::format(
        &ReceiptFields {
            id,
            sub: 1,
            dlvrd: u16::from(delivered),
            submit_date: &submit_date,
            done_date: &done_date,
            state,
            err: if delivered { 0 } else { 1 },
            text: snippet,
        },
        &mut text,
    );
    let mut tlvs = TlvsBuilder::new();
    tlvs.receipted_message_id(id).ok()?;
    tlvs.message_state(state);
    Some(Body::DeliverSm(Box::new(SubmitSm {
        source: phone.clone(),
        dest: sender.clone(),
        esm_class: EsmClass(0x04),
        short_message: text.freeze(),
        tlvs: tlvs.build(),
        ..Default::default()
    })))
}

/// Sends MO messages at `--mo-rate`, each from a number someone has texted, to the address
/// that texted it, on that system_id's receivers.
async fn mo_loop(shared: Arc<Shared>) {
    let cfg = &shared.config;
    // Timers tick at most every millisecond; faster rates send several per tick.
    let period =
        Duration::from_secs_f64(1.0 / cfg.mo_rate.max(0.001)).max(Duration::from_millis(1));
    let per_tick = (cfg.mo_rate * period.as_secs_f64()).max(1.0);
    let mut owed = 0.0f64;
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        owed += per_tick;
        while owed >= 1.0 {
            owed -= 1.0;
            let Some(conv) = lock(&shared.conversations).pick() else {
                owed = 0.0;
                break;
            };
            let text = if cfg.mo_texts.is_empty() {
                "hello"
            } else {
                cfg.mo_texts[fastrand::usize(..cfg.mo_texts.len())].as_str()
            };
            let plan = smpp_pdu::text::choose(text);
            let mut data = Vec::with_capacity(text.len() * 2);
            if smpp_pdu::text::encode(text, plan.alphabet, &mut data).is_err() {
                continue;
            }
            let body = Body::DeliverSm(Box::new(SubmitSm {
                source: conv.phone,
                dest: conv.sender,
                esm_class: EsmClass(0),
                data_coding: plan.data_coding,
                short_message: Bytes::from(data),
                ..Default::default()
            }));
            shared.outboxes.push(
                &conv.system_id,
                Outgoing {
                    kind: Kind::Mo,
                    body,
                    done: None,
                    attempts: 0,
                },
            );
        }
    }
}
