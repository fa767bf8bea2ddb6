//! The running router: customers' submits routed to carriers, receipts and replies back.
//!
//! The paths, in the order DESIGN.md draws them:
//! 1. A customer binds ([`Access`] decides); its submit_sm is checked against its TPS limit,
//!    routed ([`RouteTable`]), and sent through a connector, trying the route's plan in order.
//! 2. When the carrier acks, the correlation record (carrier id → our id, account, times) is
//!    made durable, and only then does the customer get submit_sm_resp with our id — an ack is
//!    a promise that its receipt will come. A record is written only when a receipt was asked
//!    for; nothing else needs one.
//! 3. A receipt from any bind of the carrier is looked up by (connector, carrier id as
//!    written) and rewritten to our id in the account's format. The carrier gets its
//!    deliver_sm_resp only once the receipt is the customer's or safe on disk: when the
//!    account has a bind up and nothing queued, it is sent straight to the customer, and
//!    queued only if the customer does not take it within [`DIRECT_WAIT`]; otherwise it is
//!    appended to the account's durable pending queue. (A crash in between costs at most a
//!    duplicate: the carrier sends what it has no answer for again.) A final receipt's
//!    record is then deleted, many at once by a background task (late is harmless: records
//!    expire anyway). A receipt that comes before the ack that names it is parked in the
//!    connector's durable orphan queue (and the carrier answered) until the record lands or a
//!    grace period ends; then it is counted as unknown.
//! 4. Replies (MO) are routed to an account ([`MoTable`]) and queued the same way.
//! 5. One deliverer task per account drains its queue, oldest first, over the account's bound
//!    receiver and transceiver binds (each bind's window bounds what is unanswered); an entry
//!    leaves the queue only when the customer answered ESME_ROK, so a customer that is away,
//!    slow or disconnects mid-way loses nothing.
//!
//! The tables (accounts, routes, connectors) sit behind one lock as an `Arc` swapped whole on
//! reload; connectors whose settings did not change are carried over with their binds up.

use foldhash::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use futures_util::future::join_all;
use futures_util::stream::{FuturesUnordered, StreamExt};
use smpp_pdu::concat::Udh;
use smpp_pdu::{Body, CommandStatus, DecodeOptions, DeliverSm, MessageIdResp, Pdu, SubmitSm, Ton};
use smpp_session::BindKind;
use smpp_store::{Correlation, CorrelationKey, PendingEntry, QueuePolicy, Store};
use smpp_tokio::{Connection, Incoming, Link, Throttle};
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio::time::Instant;

use crate::access::{Access, Brake};
use crate::clock::Clock;
use crate::config::{self, Account, Config, ReceiptPolicy};
use crate::connector::{Connector, Submit, SubmitError};
use crate::consent::{account_scope, reply_submit, Confirmed, Consent};
use crate::gate::{Gate, Verdict};
use crate::held::{Entry, Held, HeldMessage, HoldError};
use crate::ids::{IdBuf, IdGenerator, MessageId};
use crate::metrics::Metrics;
use crate::mo::{Conversations, MoTable};
use crate::numbering::{self, Numbering};
use crate::orphans::{Orphan, Parked};
use crate::policy::Intent;
use crate::receipts;
use crate::requests::Requests;
use crate::routes::{Message, Resolved, RouteTable};

/// How long a parked receipt that names no known message waits for its record.
const ORPHAN_GRACE: Duration = Duration::from_secs(600);
/// Most receipts one connector keeps parked (~400 bytes each); beyond it the oldest are given
/// up as unknown.
const ORPHANS_PARKED: usize = 100_000;
/// … and at most this many bytes of them.
const ORPHANS_PARKED_BYTES: usize = 64 << 20;
/// Entries a deliverer sends before waiting for their answers.
const DELIVER_BATCH: usize = 1024;
/// Carrier deliver_sm (receipts, MO) handled at once per connector; beyond it reading pauses.
const CARRIER_REQUESTS_PER_CONNECTOR: usize = 4096;
/// Carrier deliver_sm taken from the connector's channel at once and handled as one batch
/// (at most what is there already: a lone receipt is not kept waiting for company).
const CARRIER_BATCH: usize = 256;
/// How long parked receipts may wait (an account's queue has its own `pending_ttl`).
const PENDING_TTL: Duration = Duration::from_secs(72 * 3600);
/// (account, recipient) pairs whose marketing counts are kept.
const CAPPED_PAIRS: usize = 1_000_000;
/// Conversations remembered for reply routing.
const CONVERSATIONS: usize = 1_000_000;
/// People whose last confirmation is remembered (~80 bytes each).
const CONFIRMED: usize = 100_000;
/// Most receipts one connector parks (an account's queue has its own `pending_max`).
const PENDING_MAX: u64 = 1_000_000;
/// Messages one release minute holds at most (beyond it, holds get ESME_RMSGQFUL).
const HELD_MAX: u64 = 10_000_000;
/// How long a held message is kept at most (nights are shorter; this bounds a stuck one).
const HELD_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// How often due held messages are looked for.
const RELEASE_TICK: Duration = Duration::from_secs(1);
/// Held messages released at once (the connectors' windows bound what is in flight).
const RELEASE_BATCH: usize = 512;
/// How long a due message that meets temporary errors (no bind, throttled) is retried before
/// it is given up with a receipt.
const RELEASE_GIVE_UP: Duration = Duration::from_secs(3600);
/// How often the records of delivered final receipts are deleted, in one batch.
const DELETE_EVERY: Duration = Duration::from_millis(50);
/// Deletes gathered before they are written at once, whatever the time.
const DELETE_BATCH: usize = 4096;
/// How long a receipt sent straight to a bound customer may wait for its answer (and the
/// carrier's deliver_sm with it) before it is queued instead. Longer than a healthy
/// customer's answer, far shorter than a carrier's response timeout.
const DIRECT_WAIT: Duration = Duration::from_secs(1);

/// A submit's outcome: the status for the customer, our message id when accepted, and the
/// connector that answered (for metrics).
type Submitted = (CommandStatus, Option<Bytes>, Option<Arc<Connector>>);

/// What [`Router::send`] made of a message: the customer's answer, and whether a carrier
/// took it — true also when the router failed it afterwards (its record not stored: the
/// customer gets ESME_RSYSERR, yet sending it again would text the person twice).
struct Sent {
    answer: Submitted,
    taken: bool,
}

impl Sent {
    /// `connector` answered `status` (not ESME_ROK), or could not take the message.
    fn refused(status: CommandStatus, connector: &Arc<Connector>) -> Self {
        Sent {
            answer: (status, None, Some(connector.clone())),
            taken: false,
        }
    }

    /// `connector` took the message, but the router could not keep its side of it.
    fn failed_after_taken(connector: &Arc<Connector>) -> Self {
        Sent {
            answer: (CommandStatus::SYSERR, None, Some(connector.clone())),
            taken: true,
        }
    }
}

/// A connector's parked receipts ([`crate::orphans`]) and the work of its orphan task.
struct OrphanSlot {
    /// Wakes the orphan task: a parked receipt's record landed, or more were parked.
    notify: Notify,
    /// Something is parked: read on every record that lands, without taking the lock.
    any: AtomicBool,
    parked: Mutex<Parked>,
    /// Parked receipts whose record landed, with it: for the orphan task to deliver.
    ready: Mutex<Vec<(Correlation, Vec<Orphan>)>>,
    /// Parked receipts whose record lookup failed: looked up again by the next pass.
    unchecked: Mutex<Vec<CorrelationKey>>,
    /// Held (written) until the task has indexed what a restart left parked: a receipt parked
    /// meanwhile waits, or the recovery would read and index it a second time.
    recovering: Arc<tokio::sync::RwLock<()>>,
    /// The write guard, for the task to take and drop.
    recovery: Mutex<Option<tokio::sync::OwnedRwLockWriteGuard<()>>>,
    /// The task runs (it is started once per connector name).
    started: AtomicBool,
}

/// Locks a mutex whose holders never leave it half-changed (a panic there is a bug, not a
/// reason to stop delivering receipts).
fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What changes on reload.
struct Tables {
    access: Arc<Access>,
    routes: RouteTable,
    mo: MoTable,
    connectors: Vec<Arc<Connector>>,
    connector_configs: Vec<config::Connector>,
    tps: Vec<Option<Mutex<Throttle>>>,
    smpp: config::Smpp,
    /// How the node writes numbers (`[node]`), for a connector retired by a reload.
    numbering: Numbering,
}

impl Tables {
    /// The rule a submit from `account` to `dest` (as written in the submit) matches: the
    /// destination is read in the account's home country ([`crate::numbering`]).
    fn route(
        &self,
        account: &Account,
        (ton, dest): (Ton, &[u8]),
        source: &[u8],
        service_type: &[u8],
    ) -> Option<Resolved<'_>> {
        let mut buf = [0; numbering::MAX];
        self.routes.resolve(&Message {
            account: account.system_id.as_bytes(),
            dest: account.numbering.international(ton, dest, &mut buf),
            source,
            service_type,
        })
    }
}

/// A bound customer link that can take deliver_sm.
#[derive(Clone)]
struct Receiver {
    peer: SocketAddr,
    link: Link,
}

/// The router.
pub struct Router {
    tables: RwLock<Arc<Tables>>,
    ids: IdGenerator,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    /// Bound receivers per account system_id.
    receivers: Mutex<HashMap<String, Vec<Receiver>>>,
    /// Every bound customer connection, to unbind at shutdown.
    customers: Mutex<HashMap<SocketAddr, (String, Link)>>,
    /// Per account: wakes its deliverer (a bind came, an entry was queued).
    wake: Mutex<HashMap<String, Arc<Notify>>>,
    /// Accounts whose deliverer runs.
    deliverers: Mutex<HashSet<String>>,
    /// The confirmations sent lately, so an auto-responder is not answered for ever.
    confirmed: Arc<Mutex<Confirmed>>,
    /// Who texted whom, for routing replies.
    conversations: Mutex<Conversations>,
    /// The opt-out list.
    consent: Arc<Consent>,
    /// Opt-outs, quiet hours and caps, checked on every submit.
    gate: Gate,
    /// Marketing waiting for daytime.
    held: Held,
    /// Per connector: its parked receipts and its orphan task's work.
    orphans: Mutex<HashMap<String, Arc<OrphanSlot>>>,
    /// Records whose final receipt is queued for the customer, to delete in one batch.
    doomed: Mutex<Vec<CorrelationKey>>,
    /// Wakes the deleter early when `doomed` is large.
    doomed_full: Arc<Notify>,
    /// Shutting down: new submits are refused (ESME_RTHROTTLED), those in flight finish.
    stopping: AtomicBool,
    /// Customer submits being handled now, over all connections.
    submits_running: AtomicUsize,
}

/// Counts a customer submit as running for as long as it lives (see [`Router::unbind_customers`]).
struct Running<'a>(&'a AtomicUsize);

impl<'a> Running<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Running(counter)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router").finish_non_exhaustive()
    }
}

fn now_instant() -> Instant {
    Instant::now()
}

impl Router {
    /// Builds the router over `store` and starts its connectors. Call [`Router::serve_customer`]
    /// for every customer connection.
    pub fn start(
        config: &Config,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        consent: Arc<Consent>,
        clock: Arc<Clock>,
    ) -> Arc<Router> {
        let router = Arc::new(Router {
            tables: RwLock::new(Arc::new(Tables {
                access: Arc::new(Access::new(Vec::new(), Brake::default())),
                routes: RouteTable::new(Vec::new()),
                mo: MoTable::default(),
                connectors: Vec::new(),
                connector_configs: Vec::new(),
                tps: Vec::new(),
                smpp: config.smpp.clone(),
                numbering: config.node.numbering.clone(),
            })),
            ids: IdGenerator::new(config.node.id),
            held: Held::new(store.clone(), clock.clone(), HELD_MAX, HELD_TTL),
            store,
            metrics,
            receivers: Mutex::new(HashMap::default()),
            customers: Mutex::new(HashMap::default()),
            wake: Mutex::new(HashMap::default()),
            deliverers: Mutex::new(HashSet::default()),
            orphans: Mutex::new(HashMap::default()),
            doomed: Mutex::new(Vec::new()),
            doomed_full: Arc::new(Notify::new()),
            stopping: AtomicBool::new(false),
            submits_running: AtomicUsize::new(0),
            confirmed: Arc::new(Mutex::new(Confirmed::new(CONFIRMED))),
            conversations: Mutex::new(Conversations::new(
                config.mo.conversation_window,
                CONVERSATIONS,
            )),
            gate: Gate::new(consent.clone(), clock, CAPPED_PAIRS),
            consent,
        });
        router.apply(config);
        router.spawn_deleter();
        router.spawn_releaser();
        router
    }

    /// The task that deletes the records of delivered final receipts, every
    /// [`DELETE_EVERY`] (or sooner when [`DELETE_BATCH`] gathered) in one store call: one
    /// commit for many receipts instead of one each. A record deleted late, or never (its
    /// delete was pending at a crash), is harmless: it expires after its retention, and a
    /// repeated receipt it would still match is delivered again, as at-least-once allows.
    fn spawn_deleter(self: &Arc<Self>) {
        let router = Arc::downgrade(self);
        let full = self.doomed_full.clone();
        tokio::spawn(async move {
            let mut keys = Vec::new();
            loop {
                // Waits without holding the router, so it never keeps a stopped one alive.
                let _ = tokio::time::timeout(DELETE_EVERY, full.notified()).await;
                let Some(r) = router.upgrade() else {
                    return;
                };
                std::mem::swap(
                    &mut keys,
                    &mut *r
                        .doomed
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                );
                if !keys.is_empty() {
                    if let Err(e) = r.store.delete_correlations(&keys).await {
                        tracing::warn!(error = %e, "correlation records not deleted; they will expire");
                    }
                    keys.clear();
                }
            }
        });
    }

    /// Applies a (re)loaded configuration: accounts, routes and connectors. Connectors whose
    /// settings are unchanged keep their binds; the others are started anew, and the old ones
    /// stopped once no route points at them.
    pub fn apply(self: &Arc<Self>, config: &Config) {
        let old = self.tables();
        let mut connectors = Vec::with_capacity(config.connectors.len());
        for c in &config.connectors {
            let kept = old
                .connector_configs
                .iter()
                .position(|o| o.same_binds(c))
                .map(|i| old.connectors[i].clone());
            let connector = kept.unwrap_or_else(|| {
                let metrics = self.metrics.clone();
                let name = c.name.clone();
                let (connector, incoming) =
                    Connector::start(c, |bind| metrics.observer(&name, bind));
                for bind in 0..c.binds {
                    metrics.set_window(&name, bind, c.window);
                }
                let connector = Arc::new(connector);
                self.clone()
                    .spawn_carrier_inbound(connector.clone(), incoming);
                connector
            });
            connectors.push(connector);
        }
        let tables = Tables {
            access: Arc::new(old.access.reload(config.accounts.clone())),
            routes: RouteTable::new(config.routes.clone()),
            mo: MoTable::new(&config.accounts, &config.mo),
            tps: config
                .accounts
                .iter()
                .map(|a| a.tps.map(|r| Mutex::new(Throttle::new(r, r.clamp(1, 100)))))
                .collect(),
            connectors,
            connector_configs: config.connectors.clone(),
            smpp: config.smpp.clone(),
            numbering: config.node.numbering.clone(),
        };
        let same_accounts = old.access.accounts().len() == config.accounts.len()
            && old
                .access
                .accounts()
                .iter()
                .zip(&config.accounts)
                .all(|(a, b)| a.system_id == b.system_id);
        if !same_accounts {
            // Conversations name accounts by position; a changed list makes them wrong.
            if let Ok(mut c) = self.conversations.lock() {
                *c = Conversations::new(config.mo.conversation_window, CONVERSATIONS);
            }
        }
        let retired: Vec<Arc<Connector>> = old
            .connectors
            .iter()
            .filter(|c| !tables.connectors.iter().any(|n| Arc::ptr_eq(n, c)))
            .cloned()
            .collect();
        if let Ok(mut t) = self.tables.write() {
            *t = Arc::new(tables);
        }
        for account in &config.accounts {
            self.ensure_deliverer(&account.system_id);
        }
        // Customers of accounts the new config no longer has are unbound.
        let gone: Vec<Link> = self
            .customers
            .lock()
            .map(|c| {
                c.values()
                    .filter(|(id, _)| !config.accounts.iter().any(|a| &a.system_id == id))
                    .map(|(_, l)| l.clone())
                    .collect()
            })
            .unwrap_or_default();
        if !gone.is_empty() {
            tokio::spawn(async move {
                for link in gone {
                    link.unbind().await;
                }
            });
        }
        let grace = config.smpp.response_budget;
        for c in retired {
            tokio::spawn(retire(c, grace));
        }
    }

    fn tables(&self) -> Arc<Tables> {
        match self.tables.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The bind callback for the SMPP listener.
    pub fn authenticate(&self, req: &smpp_tokio::BindRequest) -> Result<Vec<u8>, CommandStatus> {
        let tables = self.tables();
        tables
            .access
            .check(
                &req.bind.system_id,
                &req.bind.password,
                req.peer,
                std::time::Instant::now(),
            )
            .map(|_| b"smpp-router".to_vec())
            .map_err(|refusal| {
                self.metrics.failed_bind(refusal.as_str());
                tracing::info!(peer = %req.peer, reason = refusal.as_str(), "bind refused");
                refusal.status()
            })
    }

    /// Takes the connectors out of service (at shutdown): new submits find no route, and the
    /// caller stops the connectors once their last submits are done.
    pub fn take_connectors(&self) -> Vec<Arc<Connector>> {
        let Ok(mut t) = self.tables.write() else {
            return Vec::new();
        };
        let old = t.clone();
        *t = Arc::new(Tables {
            access: old.access.clone(),
            routes: RouteTable::new(Vec::new()),
            mo: old.mo.clone(),
            connectors: Vec::new(),
            connector_configs: Vec::new(),
            tps: Vec::new(),
            smpp: old.smpp.clone(),
            numbering: old.numbering.clone(),
        });
        old.connectors.clone()
    }

    /// Unbinds every customer (at shutdown), once the submits in flight have their answers (or `deadline`
    /// passed): a customer whose unbind came first would never see those answers, would send
    /// the messages again, and the people would get them twice. From the call on, new submits
    /// are answered ESME_RTHROTTLED (not taken: the customer sends them again later, to a node
    /// that is up).
    pub async fn unbind_customers(&self, deadline: Instant) {
        self.stopping.store(true, Ordering::SeqCst);
        while self.submits_running.load(Ordering::SeqCst) > 0 && now_instant() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let links: Vec<Link> = self
            .customers
            .lock()
            .map(|c| c.values().map(|(_, l)| l.clone()).collect())
            .unwrap_or_default();
        for link in links {
            link.unbind().await;
        }
    }

    /// Every connector is up (for `/readyz`).
    pub fn ready(&self) -> bool {
        self.tables().connectors.iter().all(|c| c.is_up())
    }

    /// The connectors, for status pages.
    pub fn connectors(&self) -> Vec<Arc<Connector>> {
        self.tables().connectors.clone()
    }

    /// The rule and connector names a message would take (for the resolve API).
    pub fn resolve(&self, account: &str, dst: &str) -> Option<(String, Vec<String>)> {
        let t = self.tables();
        let r = match t.access.index_of(account.as_bytes()) {
            Some(i) => t.route(
                t.access.accounts().get(i)?,
                (Ton::UNKNOWN, dst.as_bytes()),
                b"",
                b"",
            )?,
            // An unknown account matches the rules that name no account.
            None => t.routes.resolve(&Message {
                account: account.as_bytes(),
                dest: dst.as_bytes(),
                source: b"",
                service_type: b"",
            })?,
        };
        let names = r
            .rule
            .target
            .plan(0)
            .filter_map(|c| t.connectors.get(usize::from(c.0)))
            .map(|c| c.name().to_owned())
            .collect();
        Some((r.rule.name.clone(), names))
    }

    /// Runs one customer connection until it closes.
    pub async fn serve_customer(self: Arc<Self>, mut conn: Connection) {
        let info = conn
            .bound
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|b| b.clone());
        // The tables as they are now: reserved slots carry over a reload, so a bind checked
        // just before one still finds its slot.
        let tables = self.tables();
        let slot = tables.access.claim(conn.peer);
        let (Some(info), Some(slot)) = (info, slot) else {
            return;
        };
        let Some(index) = tables.access.index_of(slot.system_id().as_bytes()) else {
            // The account was removed by a reload between its bind and now.
            conn.link.unbind().await;
            return;
        };
        let account = tables.access.accounts()[index].clone();
        self.metrics
            .set_customer_binds(&account.system_id, tables.access.binds(index));
        if let Ok(mut c) = self.customers.lock() {
            c.insert(conn.peer, (account.system_id.clone(), conn.link.clone()));
        }
        let max_in_flight = tables.smpp.max_in_flight;
        // Not held while the connection lasts: a reload must be able to retire (and stop) the
        // connectors these tables name.
        drop(tables);
        let receives = matches!(info.kind, BindKind::Receiver | BindKind::Transceiver);
        if receives {
            self.add_receiver(&account.system_id, conn.peer, conn.link.clone());
        }
        tracing::info!(account = %account.system_id, peer = %conn.peer, kind = ?info.kind, "customer bound");
        // The connection's requests run on this task, in slots reused from request to request
        // (`requests.rs`): no task is allocated per submit. The binds of one account still
        // spread over the workers. Past `max_in_flight` unanswered, a request is answered
        // ESME_RTHROTTLED at once: the customer hears why, and its enquire_links are still
        // read; it also bounds the slots.
        let mut running = Requests::new();
        loop {
            tokio::select! {
                biased;
                Some(_) = running.next(), if !running.is_empty() => {}
                inc = conn.incoming.recv() => match inc {
                    Some(inc) if running.len() >= max_in_flight => {
                        self.metrics.customer_throttled(&account.system_id);
                        inc.responder.respond_status(CommandStatus::THROTTLED).await;
                    }
                    Some(inc) => running.push(self.handle_request(&account, inc)),
                    None => break,
                }
            }
        }
        if receives {
            self.remove_receiver(&account.system_id, conn.peer);
        }
        if let Ok(mut c) = self.customers.lock() {
            c.remove(&conn.peer);
        }
        drop(slot);
        let tables = self.tables();
        if let Some(i) = tables.access.index_of(account.system_id.as_bytes()) {
            self.metrics
                .set_customer_binds(&account.system_id, tables.access.binds(i));
        }
        // Submits the carrier has taken still get their records (their receipts may come).
        while running.next().await.is_some() {}
    }

    async fn handle_request(&self, account: &Account, inc: Incoming) {
        match &inc.pdu.body {
            Body::SubmitSm(_) if self.stopping.load(Ordering::SeqCst) => {
                inc.responder.respond_status(CommandStatus::THROTTLED).await;
            }
            Body::SubmitSm(sm) => {
                let _running = Running::new(&self.submits_running);
                let started = now_instant();
                let (status, id, connector) = self.submit(account, sm, &inc.frame, started).await;
                let connector = connector.as_ref().map_or("", |c| c.name());
                self.metrics.submit(&account.system_id, connector, status);
                self.metrics
                    .submit_latency(&account.system_id, started.elapsed());
                match id {
                    Some(id) => {
                        inc.responder
                            .respond(
                                status,
                                Body::SubmitSmResp(MessageIdResp {
                                    message_id: id,
                                    ..Default::default()
                                }),
                            )
                            .await;
                    }
                    None => inc.responder.respond_status(status).await,
                }
            }
            _ => inc.responder.respond_status(CommandStatus::INVCMDID).await,
        }
    }

    /// Routes one submit_sm, passes it through the consent gate, and sends it (or holds it
    /// for the recipient's daytime); returns the status and, on success, our message id.
    async fn submit(
        &self,
        account: &Account,
        sm: &SubmitSm,
        frame: &Bytes,
        started: Instant,
    ) -> Submitted {
        let tables = self.tables();
        let index = tables.access.index_of(account.system_id.as_bytes());
        // The account's settings as last (re)loaded, not as they were when it bound.
        let account = index
            .and_then(|i| tables.access.accounts().get(i))
            .unwrap_or(account);
        if let Some(Some(tps)) = index.and_then(|i| tables.tps.get(i)) {
            let allowed = tps
                .lock()
                .map(|mut t| t.try_acquire(started.into_std(), 1).is_ok())
                .unwrap_or(true);
            if !allowed {
                self.metrics.customer_throttled(&account.system_id);
                return (CommandStatus::THROTTLED, None, None);
            }
        }
        let dest = (sm.dest.ton, &sm.dest.addr[..]);
        let Some(route) = tables.route(account, dest, &sm.source.addr, &sm.service_type) else {
            tracing::debug!(account = %account.system_id, "no route");
            self.metrics.no_route(&account.system_id);
            return (CommandStatus::INVDSTADR, None, None);
        };
        let wants_receipt =
            sm.registered_delivery.wants_receipt() || account.receipts == ReceiptPolicy::Always;
        // A copy only when the router asks for a receipt the customer did not.
        let adjusted = (wants_receipt && !sm.registered_delivery.wants_receipt()).then(|| {
            Box::new(SubmitSm {
                registered_delivery: smpp_pdu::RegisteredDelivery(1),
                ..sm.clone()
            })
        });
        // Unchanged, it goes on as the customer's bytes.
        let outgoing = match adjusted.as_deref() {
            Some(changed) => Submit::from(changed),
            None => Submit {
                sm,
                frame: Some(frame),
            },
        };
        let message = || concat_of(sm, &account.system_id).2;
        match self.gate.check(account, &route.rule.consent, sm, message) {
            Verdict::Send => {}
            Verdict::Refuse { status, reason } => {
                self.metrics.refused(&account.system_id, reason);
                return (status, None, None);
            }
            Verdict::Hold { until } => {
                // Boxed: the rare path's state would otherwise make every submit's future
                // larger (and each is moved, whole, when it starts).
                let held = Box::pin(self.hold(account, outgoing.sm, wants_receipt, until)).await;
                if let Some(answer) = held {
                    return answer;
                }
            }
        }
        let deadline = started + tables.smpp.response_budget;
        self.send(
            &tables, account, index, sm, outgoing, &route, None, deadline,
        )
        .await
        .answer
    }

    /// Holds a marketing message for the recipient's daytime; the answer for the customer,
    /// or `None` when its window opened meanwhile (send it now).
    async fn hold(
        &self,
        account: &Account,
        outgoing: &SubmitSm,
        wants_receipt: bool,
        until: SystemTime,
    ) -> Option<Submitted> {
        let id = self.ids.next();
        let held = HeldMessage {
            account: account.system_id.clone(),
            message_id: id.0,
            wants_receipt,
            submitted_at: self.gate.clock().now(),
            submit: outgoing.clone(),
        };
        match self.held.hold(until, &held).await {
            Ok(()) => {
                self.metrics.held(&account.system_id);
                let mut buf = IdBuf::default();
                let rendered = Bytes::copy_from_slice(id.render(account.id_format, &mut buf));
                Some((CommandStatus::OK, Some(rendered), None))
            }
            Err(HoldError::Due) => None,
            Err(HoldError::Store(smpp_store::StoreError::QueueFull { .. })) => {
                Some((CommandStatus::MSGQFUL, None, None))
            }
            Err(e) => {
                tracing::error!(error = ?e, "message not held");
                Some((CommandStatus::X_T_APPN, None, None))
            }
        }
    }

    /// Sends `outgoing` (the customer's `sm`, adjusted) over the route's connectors in order
    /// and, when a receipt is owed, makes its correlation record durable; `id` is our message
    /// id when it was given already (a held message), else a new one is made on the ack.
    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        tables: &Tables,
        account: &Account,
        index: Option<usize>,
        sm: &SubmitSm,
        outgoing: Submit<'_>,
        route: &Resolved<'_>,
        id: Option<MessageId>,
        deadline: Instant,
    ) -> Sent {
        let wants_receipt = outgoing.sm.registered_delivery.wants_receipt();
        let (part, parts, sticky) = concat_of(sm, &account.system_id);
        let mut status = CommandStatus::SUBMITFAIL;
        // The parts of a long message go to one connector as they go to one bind there: a
        // split draws its connector from the parts' shared key (its high half; the bind is
        // chosen from the key modulo the binds), other messages at random.
        let roll = sticky.map_or_else(|| fastrand::u32(..), |key| (key >> 32) as u32);
        for cid in route.rule.target.plan(roll) {
            let Some(connector) = tables.connectors.get(usize::from(cid.0)) else {
                continue;
            };
            let answer = connector.submit_one(outgoing, sticky, deadline).await;
            let answer = match answer {
                Ok(a) => a,
                Err(SubmitError::NoBind) => continue,
                Err(SubmitError::QueueFull) => {
                    self.metrics.queue_full(connector.name());
                    status = CommandStatus::MSGQFUL;
                    continue;
                }
                Err(SubmitError::Throttled) => {
                    return Sent::refused(CommandStatus::THROTTLED, connector)
                }
                Err(SubmitError::Timeout | SubmitError::Invalid(_)) => {
                    return Sent::refused(CommandStatus::SUBMITFAIL, connector)
                }
            };
            if answer.command_status != CommandStatus::OK {
                return Sent::refused(answer.command_status, connector);
            }
            let Body::SubmitSmResp(resp) = answer.body else {
                return Sent::failed_after_taken(connector);
            };
            let id = id.unwrap_or_else(|| self.ids.next());
            if let Some(i) = index {
                let (mut from, mut to) = ([0; numbering::MAX], [0; numbering::MAX]);
                let n = &account.numbering;
                let from = n.international(sm.source.ton, &sm.source.addr, &mut from);
                let to = n.international(sm.dest.ton, &sm.dest.addr, &mut to);
                if let Ok(mut c) = self.conversations.lock() {
                    c.texted(from, to, i, std::time::Instant::now());
                }
            }
            if wants_receipt {
                let retention = tables
                    .connector_configs
                    .get(usize::from(cid.0))
                    .map_or(Duration::from_secs(72 * 3600), |c| c.retention);
                let now = SystemTime::now();
                let record = Correlation {
                    key: CorrelationKey::new(connector.name(), resp.message_id.clone()),
                    message_id: Bytes::copy_from_slice(&id.0.to_be_bytes()),
                    account: account.system_id.clone(),
                    part,
                    parts,
                    submitted_at: now,
                    expires_at: now + retention,
                    source: sm.source.addr.clone(),
                    destination: sm.dest.addr.clone(),
                };
                if let Err(e) = self
                    .store
                    .put_correlations(std::slice::from_ref(&record))
                    .await
                {
                    // Without the record its receipt could not find its way back: no ack.
                    tracing::error!(error = %e, "correlation record not stored");
                    return Sent::failed_after_taken(connector);
                }
                self.record_landed(&record);
            }
            let mut buf = IdBuf::default();
            let rendered = Bytes::copy_from_slice(id.render(account.id_format, &mut buf));
            return Sent {
                answer: (CommandStatus::OK, Some(rendered), Some(connector.clone())),
                taken: true,
            };
        }
        Sent {
            answer: (status, None, None),
            taken: false,
        }
    }

    // ---- held marketing -----------------------------------------------------------------

    /// The task that finds the held messages a restart left, then releases each minute's
    /// messages when it comes (looking every [`RELEASE_TICK`]).
    fn spawn_releaser(self: &Arc<Self>) {
        let router = Arc::downgrade(self);
        tokio::spawn(async move {
            if let Some(r) = router.upgrade() {
                match r.held.recover().await {
                    Ok(n) => r.metrics.set_held(n),
                    Err(e) => {
                        tracing::error!(error = %e, "held messages not found; they wait for the next start")
                    }
                }
            }
            loop {
                tokio::time::sleep(RELEASE_TICK).await;
                let Some(r) = router.upgrade() else {
                    return;
                };
                r.release_due().await;
            }
        });
    }

    /// Releases every due minute's messages; a minute whose messages meet temporary errors is
    /// tried again on the next tick.
    async fn release_due(&self) {
        for minute in self.held.due() {
            loop {
                let batch = match self.held.batch(minute, RELEASE_BATCH).await {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::error!(error = %e, "held messages unreadable");
                        return;
                    }
                };
                if batch.is_empty() {
                    if let Err(e) = self.held.close(minute).await {
                        tracing::warn!(error = %e, "held minute not closed; it is looked at again");
                    }
                    break;
                }
                let settled = join_all(batch.iter().map(|e| self.release(minute, e))).await;
                let done: Vec<u64> = batch
                    .iter()
                    .zip(&settled)
                    .filter(|(_, &ok)| ok)
                    .map(|(e, _)| e.seq)
                    .collect();
                if let Err(e) = self.held.done(minute, &done).await {
                    tracing::warn!(error = %e, "released messages not removed; they may go twice");
                    return;
                }
                if done.len() < batch.len() {
                    break;
                }
            }
        }
    }

    /// Sends one held message whose minute came; true when it is settled (sent, or given up
    /// with a receipt to the customer), false to try again later.
    async fn release(&self, minute: u64, e: &Entry) -> bool {
        let Some(m) = &e.message else {
            tracing::warn!("an unreadable held message was dropped");
            self.metrics.released("", "dropped");
            return true;
        };
        let tables = self.tables();
        let index = tables.access.index_of(m.account.as_bytes());
        let Some(account) = index.and_then(|i| tables.access.accounts().get(i)) else {
            tracing::warn!(account = %m.account, "a held message of an account no longer configured was dropped");
            self.metrics.released(&m.account, "dropped");
            return true;
        };
        let sm = &m.submit;
        let dest = (sm.dest.ton, &sm.dest.addr[..]);
        let (status, taken) = match tables.route(account, dest, &sm.source.addr, &sm.service_type) {
            None => (CommandStatus::INVDSTADR, false),
            Some(route) if !self.gate.still_wanted(account, &route.rule.consent, sm) => {
                (account.consent.refuse_status, false)
            }
            Some(route) => {
                if let Some(opens) = self.gate.closed_until(account, &route.rule.consent, sm) {
                    // Its minute passed while the router was down, into the recipient's
                    // evening: it waits for their next morning.
                    return match self.held.hold(opens, m).await {
                        Ok(()) => {
                            tracing::info!(account = %account.system_id, "a late held message waits for the next window");
                            true
                        }
                        Err(e) => {
                            tracing::warn!(error = ?e, "a late held message could not be held again; tried later");
                            false
                        }
                    };
                }
                let deadline = now_instant() + tables.smpp.response_budget;
                let Sent {
                    answer: (status, _, connector),
                    taken,
                } = self
                    .send(
                        &tables,
                        account,
                        index,
                        sm,
                        sm.into(),
                        &route,
                        Some(MessageId(m.message_id)),
                        deadline,
                    )
                    .await;
                let connector = connector.as_ref().map_or("", |c| c.name());
                self.metrics.submit(&account.system_id, connector, status);
                (status, taken)
            }
        };
        let outcome = release_outcome(status, taken);
        if outcome == Release::Sent {
            if status != CommandStatus::OK {
                tracing::error!(account = %account.system_id, status = ?status,
                    "a held message went to the carrier, but its record was not stored: its receipt will be unknown");
            }
            self.metrics.released(&account.system_id, "sent");
            return true;
        }
        let temporary = outcome == Release::TryAgain;
        let due_since = self
            .gate
            .clock()
            .now()
            .duration_since(UNIX_EPOCH + Duration::from_millis(minute))
            .unwrap_or_default();
        if temporary && due_since < RELEASE_GIVE_UP {
            return false;
        }
        tracing::info!(account = %account.system_id, status = ?status, "a held message was not sent");
        if m.wants_receipt {
            let receipt = failure_receipt(m, account, status, self.gate.clock().now());
            if !self
                .enqueue(&account.system_id, Body::DeliverSm(Box::new(receipt)))
                .await
            {
                return false;
            }
        }
        self.metrics.released(&account.system_id, "refused");
        true
    }

    // ---- carriers' deliver_sm -----------------------------------------------------------

    fn spawn_carrier_inbound(
        self: Arc<Self>,
        connector: Arc<Connector>,
        mut incoming: mpsc::Receiver<Incoming>,
    ) {
        let name: Arc<str> = connector.name().into();
        drop(connector);
        self.spawn_orphans(name.clone());
        tokio::spawn(async move {
            let busy = Arc::new(Semaphore::new(CARRIER_REQUESTS_PER_CONNECTOR));
            let mut batch = Vec::with_capacity(CARRIER_BATCH);
            while incoming.recv_many(&mut batch, CARRIER_BATCH).await > 0 {
                // CARRIER_BATCH is below the semaphore's size, so this is always granted.
                let n = u32::try_from(batch.len()).unwrap_or(u32::MAX);
                let Ok(permit) = busy.clone().acquire_many_owned(n).await else {
                    return;
                };
                let requests = std::mem::replace(&mut batch, Vec::with_capacity(CARRIER_BATCH));
                let router = self.clone();
                let name = name.clone();
                tokio::spawn(async move {
                    router.carrier_requests(&name, requests).await;
                    drop(permit);
                });
            }
        });
    }

    /// Handles a batch of a carrier's deliver_sm and answers each: the receipts' records are
    /// looked up in one store call and their customers' copies queued with one append per
    /// queue ([`Router::receipts`]); replies (MO) are handled one by one, alongside. One task
    /// and a share of two store operations per receipt, instead of a task and two operations
    /// each.
    async fn carrier_requests(&self, connector: &str, requests: Vec<Incoming>) {
        let mut status = vec![CommandStatus::OK; requests.len()];
        // Sized for the batch: growing them a push at a time showed in the profile.
        let mut receipts = Vec::with_capacity(requests.len());
        let mut keys = Vec::with_capacity(requests.len());
        let mut mos = Vec::new();
        for (i, inc) in requests.iter().enumerate() {
            match &inc.pdu.body {
                Body::DeliverSm(d) if d.esm_class.is_receipt() => match receipts::read(d) {
                    Some(r) => {
                        let id = Bytes::copy_from_slice(r.carrier_id);
                        keys.push(CorrelationKey::new(connector, id));
                        receipts.push((i, &**d, r.state));
                    }
                    None => {
                        // Acked (the carrier must not send it again) and counted: nothing can
                        // ever claim it.
                        tracing::warn!(connector, "receipt without a message id");
                        self.metrics.unknown_receipt(connector);
                    }
                },
                Body::DeliverSm(d) => mos.push((i, &**d)),
                _ => status[i] = CommandStatus::INVCMDID,
            }
        }
        let replies = join_all(
            mos.iter()
                .map(|&(i, d)| async move { (i, self.mo(connector, d).await) }),
        );
        let (replies, queued) =
            futures_util::future::join(replies, self.receipts(connector, &receipts, &keys)).await;
        for (i, s) in replies {
            status[i] = s;
        }
        for ((i, _, _), queued) in receipts.iter().zip(queued) {
            if !queued {
                // A temporary error: the carrier sends it again.
                status[*i] = CommandStatus::X_T_APPN;
            }
        }
        for (inc, status) in requests.into_iter().zip(status) {
            match status {
                CommandStatus::INVCMDID => inc.responder.respond_status(status).await,
                _ => {
                    inc.responder
                        .respond(status, Body::DeliverSmResp(MessageIdResp::default()))
                        .await;
                }
            }
        }
    }

    /// Handles a carrier's receipts (`keys[j]` names `receipts[j]`'s message); true for each
    /// one that is safely queued (or that there is nothing to deliver for), false for those
    /// the carrier must send again.
    ///
    /// A receipt whose record is not there yet (it came before the ack that names it, or
    /// names nothing of ours) is parked in the connector's durable orphan queue and the
    /// carrier answered at once: holding the deliver_sm_resp instead would stall carriers that
    /// answer a submit only after their receipt is acknowledged. The connector's orphan task
    /// matches it when the record lands, or gives up after [`ORPHAN_GRACE`].
    async fn receipts(
        &self,
        connector: &str,
        receipts: &[(usize, &DeliverSm, Option<smpp_pdu::MessageState>)],
        keys: &[CorrelationKey],
    ) -> Vec<bool> {
        if keys.is_empty() {
            return Vec::new();
        }
        let found = match self.store.get_correlations(keys).await {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "correlation lookup failed");
                return vec![false; keys.len()];
            }
        };
        let tables = self.tables();
        let n = keys.len();
        let mut queued = vec![false; n];
        // (queue, receipts, which receipts they are); usually one account's queue, so each
        // is given room for all.
        let mut groups: Vec<(&str, Vec<DeliverSm>, Vec<usize>)> = Vec::new();
        // The receipts whose record is not there (yet).
        let mut orphans = Vec::new();
        for (j, ((_, d, state), record)) in receipts.iter().zip(&found).enumerate() {
            let Some(record) = record else {
                orphans.push(j);
                continue;
            };
            let Some(receipt) = self.prepare_receipt(&tables, d, &keys[j], *state, record) else {
                queued[j] = true;
                continue;
            };
            let queue = record.account.as_str();
            match groups.iter_mut().find(|g| g.0 == queue) {
                Some(g) => {
                    g.1.push(receipt);
                    g.2.push(j);
                }
                None => {
                    let (mut r, mut js) = (Vec::with_capacity(n), Vec::with_capacity(n));
                    r.push(receipt);
                    js.push(j);
                    groups.push((queue, r, js));
                }
            }
        }
        drop(tables);
        let handing = join_all(groups.iter().map(|(q, r, _)| self.hand_over(q, r)));
        let parking = self.park(connector, receipts, keys, &orphans);
        let (handed, parked) = futures_util::future::join(handing, parking).await;
        for (&j, ok) in orphans.iter().zip(parked) {
            queued[j] = ok;
        }
        let mut finals = Vec::with_capacity(n);
        for ((queue, _, members), handed) in groups.iter().zip(handed) {
            for (&j, ok) in members.iter().zip(&handed.done) {
                queued[j] = *ok;
                let (_, _, state) = receipts[j];
                if *ok && state.is_some_and(smpp_pdu::MessageState::is_final) {
                    finals.push(keys[j].clone());
                }
            }
            if handed.queued {
                self.wake(queue).notify_one();
            }
        }
        if !finals.is_empty() {
            self.doom(finals.into_iter());
        }
        queued
    }

    /// The customer's copy of a receipt whose record was found; `None` when there is nothing
    /// to deliver (its account is gone or its record unreadable: it is let go). Counts it in
    /// the metrics.
    fn prepare_receipt(
        &self,
        tables: &Tables,
        d: &DeliverSm,
        key: &CorrelationKey,
        state: Option<smpp_pdu::MessageState>,
        record: &Correlation,
    ) -> Option<DeliverSm> {
        self.metrics.receipt(&key.connector, state);
        if state.is_some_and(smpp_pdu::MessageState::is_final) {
            let took = SystemTime::now()
                .duration_since(record.submitted_at)
                .unwrap_or_default();
            self.metrics.receipt_time(&key.connector, took);
        }
        let format = tables
            .access
            .index_of(record.account.as_bytes())
            .and_then(|i| tables.access.accounts().get(i))
            .map(|a| a.id_format);
        let Some(format) = format else {
            tracing::warn!(account = %record.account, "receipt for an account no longer configured");
            return None;
        };
        let Ok(raw) = <[u8; 8]>::try_from(&record.message_id[..]) else {
            return None;
        };
        let mut buf = IdBuf::default();
        let ours = MessageId(u64::from_be_bytes(raw)).render(format, &mut buf);
        Some(receipts::rewrite(d, ours))
    }

    /// Gives receipts to their queue's account: straight to a bound customer when the account
    /// has a bind that takes deliver_sm and nothing is queued before them (the order the
    /// customer sees is kept); whatever the customer did not take within [`DIRECT_WAIT`] is
    /// appended to the queue.
    async fn hand_over(&self, queue: &str, receipts: &[DeliverSm]) -> HandedOver {
        let mut done = vec![false; receipts.len()];
        let links = if matches!(self.store.pending_len(queue).await, Ok(0)) {
            self.links(queue)
        } else {
            Vec::new()
        };
        if !links.is_empty() {
            // One deadline for the group (a timer per receipt was a visible cost); whatever
            // has not been answered by then is queued.
            let mut sends: FuturesUnordered<_> = receipts
                .iter()
                .enumerate()
                .map(|(i, r)| send_direct(&links[i % links.len()], r, i))
                .collect();
            let deadline = tokio::time::sleep(DIRECT_WAIT);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    next = sends.next() => match next {
                        Some((i, ok)) => done[i] = ok,
                        None => break,
                    },
                    () = &mut deadline => break,
                }
            }
        }
        let mut left = Vec::new();
        let mut which = Vec::new();
        for (i, r) in receipts.iter().enumerate() {
            if done[i] {
                continue;
            }
            // One that cannot be encoded is refused to the carrier (it sends it again).
            if let Some(p) = encode_entry(Body::DeliverSm(Box::new(r.clone()))) {
                left.push(p);
                which.push(i);
            }
        }
        let mut queued = false;
        if !left.is_empty() {
            for (i, ok) in which.into_iter().zip(self.append_all(queue, &left).await) {
                done[i] = ok;
                queued |= ok;
            }
        }
        HandedOver { done, queued }
    }

    /// The account's binds that take deliver_sm.
    fn links(&self, account: &str) -> Vec<Link> {
        self.receivers
            .lock()
            .ok()
            .and_then(|r| {
                r.get(account)
                    .map(|v| v.iter().map(|x| x.link.clone()).collect())
            })
            .unwrap_or_default()
    }

    /// Records whose final receipt is queued: deleted in a batch by the deleter task (see
    /// `spawn_deleter`).
    fn doom(&self, keys: impl Iterator<Item = CorrelationKey>) {
        let mut doomed = self
            .doomed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        doomed.extend(keys);
        if doomed.len() >= DELETE_BATCH {
            self.doomed_full.notify_one();
        }
    }

    /// Gives the customer its copy of a parked receipt whose record was found (see
    /// [`Router::hand_over`]), and deletes the record when the state is final. False when it
    /// could be neither delivered nor queued.
    async fn deliver_receipt(
        &self,
        d: &DeliverSm,
        key: &CorrelationKey,
        state: Option<smpp_pdu::MessageState>,
        record: &Correlation,
    ) -> bool {
        let Some(receipt) = self.prepare_receipt(&self.tables(), d, key, state, record) else {
            return true;
        };
        let handed = self
            .hand_over(&record.account, std::slice::from_ref(&receipt))
            .await;
        if handed.done != [true] {
            return false;
        }
        if handed.queued {
            self.wake(&record.account).notify_one();
        }
        if state.is_some_and(smpp_pdu::MessageState::is_final) {
            self.doom(std::iter::once(key.clone()));
        }
        true
    }

    /// Parks receipts whose record is not there (yet): appended to the connector's durable
    /// orphan queue, then indexed ([`crate::orphans`]) for the record's landing to find. True
    /// for each one parked; the carrier sends the others again.
    async fn park(
        &self,
        connector: &str,
        receipts: &[(usize, &DeliverSm, Option<smpp_pdu::MessageState>)],
        keys: &[CorrelationKey],
        which: &[usize],
    ) -> Vec<bool> {
        if which.is_empty() {
            return Vec::new();
        }
        // One that cannot be encoded is refused to the carrier (it sends it again).
        let payloads: Vec<Option<Bytes>> = which
            .iter()
            .map(|&j| encode_entry(Body::DeliverSm(Box::new(receipts[j].1.clone()))))
            .collect();
        let encoded: Vec<Bytes> = payloads.iter().flatten().cloned().collect();
        let slot = self.orphans(connector);
        let _recovered = slot.recovering.read().await;
        let queue = orphan_queue(connector);
        let now = SystemTime::now();
        let policy = self.queue_policy(&queue);
        let seqs = match self
            .store
            .append_pending(&queue, &encoded, now, policy)
            .await
        {
            Ok(seqs) => seqs,
            Err(e) => {
                tracing::error!(connector, error = %e, "receipts not parked");
                return vec![false; which.len()];
            }
        };
        {
            let mut parked = locked(&slot.parked);
            let mut seqs = seqs;
            for (&j, payload) in which.iter().zip(&payloads) {
                if let (Some(payload), Some(seq)) = (payload, seqs.next()) {
                    parked.park(seq, keys[j].carrier_id.clone(), payload.clone(), now);
                }
            }
            // SeqCst, as in `record_landed`: this store and the store's read below, against
            // its write of the record and its load of this flag, must not both miss.
            slot.any.store(true, Ordering::SeqCst);
        }
        // A record that landed while these were being parked found nothing to match: look
        // again now that they are indexed (whichever of the two finds them takes them).
        let parked_keys: Vec<CorrelationKey> = which.iter().map(|&j| keys[j].clone()).collect();
        self.look_up_parked(&slot, parked_keys).await;
        // Past its bound, the index gives up its oldest: the task does that.
        slot.notify.notify_one();
        payloads.iter().map(Option::is_some).collect()
    }

    /// `record` landed: its parked receipts, if any, go to the orphan task to be delivered.
    fn orphan_found(&self, slot: &OrphanSlot, record: &Correlation) {
        let orphans = locked(&slot.parked).take(&record.key.carrier_id);
        if !orphans.is_empty() {
            locked(&slot.ready).push((record.clone(), orphans));
            slot.notify.notify_one();
        }
    }

    /// The connector's orphan task: indexes what a restart left parked, then delivers parked
    /// receipts as their records land and gives up those that waited past [`ORPHAN_GRACE`].
    /// One per connector name: a connector restarted by a reload keeps the task it had (two
    /// would deliver the same receipts twice).
    fn spawn_orphans(self: &Arc<Self>, connector: Arc<str>) {
        let slot = self.orphans(&connector);
        if slot.started.swap(true, Ordering::AcqRel) {
            return;
        }
        // Exported from the start (the task sets it after each pass).
        self.metrics.set_parked(&connector, 0);
        let router = Arc::downgrade(self);
        tokio::spawn(async move {
            let recovery = locked(&slot.recovery).take();
            if let Some(r) = router.upgrade() {
                r.recover_orphans(&connector, &slot).await;
            }
            drop(recovery);
            loop {
                let _ = tokio::time::timeout(Duration::from_secs(1), slot.notify.notified()).await;
                let Some(r) = router.upgrade() else {
                    return;
                };
                r.orphan_pass(&connector, &slot).await;
            }
        });
    }

    /// Indexes the receipts a restart left in the connector's orphan queue, and matches those
    /// whose record is there.
    async fn recover_orphans(&self, connector: &str, slot: &OrphanSlot) {
        let queue = orphan_queue(connector);
        let entries = match self.store.peek_pending(&queue, ORPHANS_PARKED).await {
            Ok(entries) => entries,
            Err(e) => {
                tracing::error!(connector, error = %e, "parked receipts not read; they wait for the next start");
                return;
            }
        };
        if entries.is_empty() {
            return;
        }
        let mut keys = Vec::new();
        let mut unreadable = Vec::new();
        {
            let mut parked = locked(&slot.parked);
            for e in &entries {
                let id = Pdu::decode(e.payload.clone(), &DecodeOptions::LENIENT)
                    .ok()
                    .and_then(|pdu| match &pdu.body {
                        Body::DeliverSm(d) => {
                            receipts::read(d).map(|r| Bytes::copy_from_slice(r.carrier_id))
                        }
                        _ => None,
                    });
                match id {
                    Some(id) => {
                        parked.park(e.seq, id.clone(), e.payload.clone(), e.enqueued_at);
                        keys.push(CorrelationKey::new(connector, id));
                    }
                    None => unreadable.push(e.seq),
                }
            }
            slot.any.store(!parked.is_empty(), Ordering::SeqCst);
        }
        tracing::info!(connector, parked = keys.len(), "parked receipts recovered");
        if !unreadable.is_empty() {
            tracing::warn!(
                connector,
                count = unreadable.len(),
                "unreadable parked receipts dropped"
            );
            let _ = self.store.ack_pending(&queue, &unreadable).await;
        }
        self.look_up_parked(slot, keys).await;
    }

    /// Looks up the records of parked receipts (`keys`) and hands over those found. No landing
    /// will announce a record that is there already, so keys whose lookup failed are looked up
    /// again by the next pass: a failed lookup must not leave a receipt to be given up.
    async fn look_up_parked(&self, slot: &OrphanSlot, keys: Vec<CorrelationKey>) {
        if keys.is_empty() {
            return;
        }
        match self.store.get_correlations(&keys).await {
            Ok(found) => {
                for record in found.iter().flatten() {
                    self.orphan_found(slot, record);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "parked receipts' records not looked up; again next pass");
                locked(&slot.unchecked).extend(keys);
            }
        }
    }

    /// Delivers the parked receipts whose records landed (those that could not be delivered
    /// wait for the next pass, in order), and gives up those parked too long or past the
    /// bound; their entries leave the durable queue.
    async fn orphan_pass(&self, connector: &str, slot: &OrphanSlot) {
        let unchecked = std::mem::take(&mut *locked(&slot.unchecked));
        self.look_up_parked(slot, unchecked).await;
        let ready = std::mem::take(&mut *locked(&slot.ready));
        let delivered = join_all(ready.into_iter().map(|(record, orphans)| async move {
            let mut done = Vec::new();
            let mut left = Vec::new();
            for o in orphans {
                // After one fails, the later ones of the same message wait too (in order).
                if !left.is_empty() {
                    left.push(o);
                    continue;
                }
                let d = match Pdu::decode(o.payload.clone(), &DecodeOptions::LENIENT) {
                    Ok(Pdu {
                        body: Body::DeliverSm(d),
                        ..
                    }) => d,
                    // It was encoded here: unreadable means it can never be delivered.
                    _ => {
                        done.push(o.seq);
                        continue;
                    }
                };
                let state = receipts::read(&d).and_then(|r| r.state);
                if self.deliver_receipt(&d, &record.key, state, &record).await {
                    done.push(o.seq);
                } else {
                    left.push(o);
                }
            }
            (record, done, left)
        }))
        .await;
        let mut done = Vec::new();
        let mut set_aside = 0;
        {
            let mut ready = locked(&slot.ready);
            let mut waiting: usize = ready.iter().map(|(_, o)| o.len()).sum();
            for (record, delivered, left) in delivered {
                done.extend(delivered);
                if left.is_empty() {
                    continue;
                }
                // Bounded like the parked ones: past it, the receipts whose account's queue
                // stays full leave memory but not the durable orphan queue (they are not
                // acked), so the next start parks and matches them again.
                if waiting + left.len() > ORPHANS_PARKED {
                    set_aside += left.len();
                    continue;
                }
                waiting += left.len();
                ready.push((record, left));
            }
        }
        if set_aside > 0 {
            tracing::error!(
                connector,
                set_aside,
                "matched receipts set aside until the next start: their accounts' queues stayed full"
            );
        }
        let gone = {
            let mut parked = locked(&slot.parked);
            let gone = parked.expire(SystemTime::now(), ORPHAN_GRACE);
            slot.any.store(!parked.is_empty(), Ordering::SeqCst);
            self.metrics.set_parked(connector, parked.len());
            gone
        };
        if let Some((_, first)) = gone.first() {
            for _ in &gone {
                self.metrics.unknown_receipt(connector);
            }
            tracing::warn!(
                connector,
                count = gone.len(),
                first = %String::from_utf8_lossy(first),
                "unknown receipts given up"
            );
            done.extend(gone.iter().map(|(seq, _)| *seq));
        }
        if !done.is_empty() {
            if let Err(e) = self
                .store
                .ack_pending(&orphan_queue(connector), &done)
                .await
            {
                tracing::warn!(error = %e, "parked receipts not acked; a restart parks them again");
            }
        }
    }

    /// Our message ids go on above `floor`, a value [`Router::id_floor`] gave in an earlier
    /// run (see [`crate::ids`]).
    pub fn resume_ids_above(&self, floor: u64) {
        self.ids.resume_above(floor);
    }

    /// The id floor to keep durably now: above every id given and the next few seconds'.
    pub fn id_floor(&self) -> u64 {
        self.ids.reserve(SystemTime::now())
    }

    /// Receipts of `connector` parked until their record lands (or they are given up).
    pub fn parked(&self, connector: &str) -> usize {
        locked(&self.orphans(connector).parked).len()
    }

    /// The connector's parked receipts. Looked up before anything is allocated: every submit
    /// that wants a receipt comes here.
    fn orphans(&self, connector: &str) -> Arc<OrphanSlot> {
        let mut o = locked(&self.orphans);
        if let Some(e) = o.get(connector) {
            return e.clone();
        }
        let recovering = Arc::new(tokio::sync::RwLock::new(()));
        let e = Arc::new(OrphanSlot {
            notify: Notify::new(),
            any: AtomicBool::new(false),
            parked: Mutex::new(Parked::new(ORPHANS_PARKED, ORPHANS_PARKED_BYTES)),
            ready: Mutex::new(Vec::new()),
            unchecked: Mutex::new(Vec::new()),
            // A fresh lock: the write guard is had at once.
            recovery: Mutex::new(recovering.clone().try_write_owned().ok()),
            recovering,
            started: AtomicBool::new(false),
        });
        o.insert(connector.to_owned(), e.clone());
        e
    }

    /// Applies a STOP, START or HELP in a reply to the account's consent list (durably, before
    /// anything else) and returns the confirmation the person is owed, to be sent once the
    /// reply itself is queued for the account ([`Confirmation::send`]); `Err` when the change
    /// was not stored (the carrier must send the reply again).
    fn consent_reply(
        &self,
        tables: &Tables,
        account: &Account,
        d: &DeliverSm,
        [number, person]: [&[u8]; 2],
    ) -> Result<Option<Confirmation>, ()> {
        let mut text = String::new();
        smpp_pdu::text::decode(d.payload(), d.data_coding, &mut text);
        let scope = account_scope(&account.system_id);
        let reply =
            match self
                .consent
                .on_mo(&account.consent, scope, number, person, text.as_bytes())
            {
                Ok(Some(r)) => r,
                Ok(None) => return Ok(None),
                Err(e) => {
                    tracing::error!(error = %e, "opt-out not stored");
                    return Err(());
                }
            };
        let submit = reply_submit(d, &reply.text);
        // The person's number as the lists know it: international, read in the carrier's
        // country (the account's numbering is for what the account writes).
        let m = Message {
            account: account.system_id.as_bytes(),
            dest: person,
            source: &submit.source.addr,
            service_type: b"",
        };
        let connectors: Vec<Arc<Connector>> = tables
            .routes
            .resolve(&m)
            .map(|r| {
                r.rule
                    .target
                    .plan(fastrand::u32(..))
                    .filter_map(|c| tables.connectors.get(usize::from(c.0)).cloned())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(Confirmation {
            intent: reply.intent,
            submit,
            connectors,
            deadline: now_instant() + tables.smpp.response_budget,
        }))
    }

    /// Handles a reply; the status answers the carrier.
    async fn mo(&self, connector: &str, d: &DeliverSm) -> CommandStatus {
        let tables = self.tables();
        let text = d.payload();
        // Its numbers as the carrier writes them, made international.
        let numbering = tables
            .connector_configs
            .iter()
            .find(|c| c.name == connector)
            // Retired by a reload while its MO was handled: the node's.
            .map_or(&tables.numbering, |c| &c.numbering);
        let (mut number, mut person) = ([0; numbering::MAX], [0; numbering::MAX]);
        let number = numbering.international(d.dest.ton, &d.dest.addr, &mut number);
        let person = numbering.international(d.source.ton, &d.source.addr, &mut person);
        let conversation = || {
            self.conversations
                .lock()
                .ok()?
                .answered(number, person, std::time::Instant::now())
        };
        let (account, reason) = tables.mo.route(number, text, conversation);
        self.metrics.mo(reason);
        let Some(account) = account.and_then(|i| tables.access.accounts().get(i)) else {
            // Nobody to hand it to, but a STOP is still a STOP: that number texts them no more.
            let mut text = String::new();
            smpp_pdu::text::decode(d.payload(), d.data_coding, &mut text);
            return match self
                .consent
                .on_unroutable_mo(number, person, text.as_bytes())
            {
                Ok(true) => {
                    self.metrics.consent("", "opt_out");
                    CommandStatus::OK
                }
                Ok(false) => CommandStatus::OK,
                Err(e) => {
                    tracing::error!(error = %e, "opt-out not stored");
                    CommandStatus::X_T_APPN
                }
            };
        };
        let Ok(confirmation) = self.consent_reply(&tables, account, d, [number, person]) else {
            return CommandStatus::X_T_APPN;
        };
        if !self
            .enqueue(&account.system_id, Body::DeliverSm(Box::new(d.clone())))
            .await
        {
            // A temporary error: the carrier sends it again, and the person is confirmed
            // then, once (the consent change itself is stored already, and is idempotent).
            return CommandStatus::X_T_APPN;
        }
        if let Some(c) = confirmation {
            self.metrics.consent(&account.system_id, c.kind());
            let now = std::time::Instant::now();
            if self
                .confirmed
                .lock()
                .map_or(true, |mut m| m.due(number, person, c.intent, now))
            {
                let confirmed = self.confirmed.clone();
                let (number, person) = (
                    Bytes::copy_from_slice(number),
                    Bytes::copy_from_slice(person),
                );
                c.send(move || {
                    if let Ok(mut m) = confirmed.lock() {
                        m.forget(&number, &person);
                    }
                });
            } else {
                tracing::debug!(kind = c.kind(), "confirmed lately; not sent again");
            }
        }
        CommandStatus::OK
    }

    /// A record landed: receipts parked for it, if any, are delivered now.
    fn record_landed(&self, record: &Correlation) {
        let slot = self.orphans(&record.key.connector);
        if slot.any.load(Ordering::SeqCst) {
            self.orphan_found(&slot, record);
        }
    }

    // ---- the customers' queues ------------------------------------------------------------

    /// Appends a deliver_sm to the account's durable queue and wakes its deliverer.
    async fn enqueue(&self, account: &str, body: Body) -> bool {
        let queued = self.enqueue_raw(account, body).await;
        if queued {
            self.wake(account).notify_one();
        }
        queued
    }

    /// Appends a deliver_sm to a durable queue.
    async fn enqueue_raw(&self, queue: &str, body: Body) -> bool {
        match encode_entry(body) {
            Some(p) => self.append_all(queue, &[p]).await == [true],
            None => false,
        }
    }

    /// Appends entries to a durable queue; whether each one is queued. Together in one store
    /// operation; when that would overfill the queue, one by one, so what fits still goes.
    async fn append_all(&self, queue: &str, payloads: &[Bytes]) -> Vec<bool> {
        let policy = self.queue_policy(queue);
        let now = SystemTime::now();
        match self
            .store
            .append_pending(queue, payloads, now, policy)
            .await
        {
            Ok(_) => vec![true; payloads.len()],
            Err(smpp_store::StoreError::QueueFull { .. }) if payloads.len() > 1 => {
                let mut queued = Vec::with_capacity(payloads.len());
                for p in payloads {
                    let one = self
                        .store
                        .append_pending(queue, std::slice::from_ref(p), now, policy)
                        .await;
                    if let Err(e) = &one {
                        tracing::error!(queue, error = %e, "not queued");
                    }
                    queued.push(one.is_ok());
                }
                queued
            }
            Err(e) => {
                tracing::error!(queue, error = %e, "not queued");
                vec![false; payloads.len()]
            }
        }
    }

    /// The bounds of a queue: its account's `pending_max` and `pending_ttl` as last
    /// (re)loaded, or the parked-receipt defaults for a queue that is not an account's.
    fn queue_policy(&self, queue: &str) -> QueuePolicy {
        let t = self.tables();
        t.access
            .index_of(queue.as_bytes())
            .and_then(|i| t.access.accounts().get(i))
            .map_or(
                QueuePolicy {
                    max_len: PENDING_MAX,
                    ttl: PENDING_TTL,
                },
                |a| QueuePolicy {
                    max_len: a.pending_max,
                    ttl: a.pending_ttl,
                },
            )
    }

    fn wake(&self, account: &str) -> Arc<Notify> {
        let mut w = self
            .wake
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = w.get(account) {
            return n.clone();
        }
        w.entry(account.to_owned()).or_default().clone()
    }

    fn add_receiver(&self, account: &str, peer: SocketAddr, link: Link) {
        if let Ok(mut r) = self.receivers.lock() {
            r.entry(account.to_owned())
                .or_default()
                .push(Receiver { peer, link });
        }
        self.wake(account).notify_one();
    }

    fn remove_receiver(&self, account: &str, peer: SocketAddr) {
        if let Ok(mut r) = self.receivers.lock() {
            if let Some(v) = r.get_mut(account) {
                v.retain(|x| x.peer != peer);
            }
        }
    }

    fn ensure_deliverer(self: &Arc<Self>, account: &str) {
        let started = self
            .deliverers
            .lock()
            .map(|mut d| d.insert(account.to_owned()))
            .unwrap_or(false);
        if !started {
            return;
        }
        let notify = self.wake(account);
        let router = Arc::downgrade(self);
        let account = account.to_owned();
        tokio::spawn(async move {
            loop {
                let Some(r) = router.upgrade() else {
                    return;
                };
                let more = r.deliver_some(&account).await;
                drop(r);
                if !more {
                    // Woken by a bind or an append; a periodic look catches anything missed.
                    let _ = tokio::time::timeout(Duration::from_secs(1), notify.notified()).await;
                }
            }
        });
    }

    /// Sends a batch from the head of the account's queue; true when it should go on at once.
    async fn deliver_some(&self, account: &str) -> bool {
        let links = self.links(account);
        if links.is_empty() {
            return false;
        }
        let entries = match self.store.peek_pending(account, DELIVER_BATCH).await {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(account, error = %e, "queue unreadable");
                return false;
            }
        };
        if entries.is_empty() {
            return false;
        }
        // Entry i goes over link i % links; the entries of one link go out in queue order.
        let per_link = links
            .iter()
            .enumerate()
            .map(|(k, link)| deliver_over(link, &entries, k, links.len()));
        let outcomes = join_all(per_link).await.concat();
        let mut done = Vec::with_capacity(outcomes.len());
        for (seq, outcome) in outcomes {
            match outcome {
                Delivered::Taken => done.push(seq),
                Delivered::RefusedForGood(status) => {
                    // Sending it again would be refused again, for ever: it goes, counted.
                    tracing::warn!(account, seq, status = ?status, "the customer refused a queued deliver_sm for good; dropped");
                    self.metrics.deliver_refused(account);
                    done.push(seq);
                }
                Delivered::Again => {}
            }
        }
        let all = done.len() == entries.len();
        if !done.is_empty() {
            if let Err(e) = self.store.ack_pending(account, &done).await {
                tracing::error!(account, error = %e, "acks not stored; entries will be sent again");
            }
        }
        if let Ok(n) = self.store.pending_len(account).await {
            self.metrics.set_pending(account, n);
        }
        if !all {
            // The customer refused or did not answer some: try again a little later.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        true
    }
}

/// What came of sending one queued entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivered {
    /// Answered ESME_ROK (or unreadable, and let go).
    Taken,
    /// Answered with a status that will not change on another try.
    RefusedForGood(CommandStatus),
    /// Not answered, or answered with a status that asks for another try: it stays queued.
    Again,
}

impl Delivered {
    /// The customer's answer (`None`: none came, or the connection was lost) read as an
    /// experienced gateway reads it: throttling, a full queue, a temporary application error,
    /// a system error or a bind state error (the bind was going away as it came) ask for
    /// another try; any other error status is the customer's final word on this PDU.
    fn of(status: Option<CommandStatus>) -> Self {
        match status {
            Some(CommandStatus::OK) => Delivered::Taken,
            None
            | Some(
                CommandStatus::THROTTLED
                | CommandStatus::MSGQFUL
                | CommandStatus::X_T_APPN
                | CommandStatus::SYSERR
                | CommandStatus::INVBNDSTS,
            ) => Delivered::Again,
            Some(other) => Delivered::RefusedForGood(other),
        }
    }
}

/// Sends `entries[start]`, `entries[start + step]`, … over `link`, in order; the link's window
/// (`smpp.window`) bounds how many are unanswered. Returns each one's seq and what came of it.
async fn deliver_over(
    link: &Link,
    entries: &[PendingEntry],
    start: usize,
    step: usize,
) -> Vec<(u64, Delivered)> {
    // join_all polls in order, so the sends take window room, and go out, in queue order.
    let sends = entries
        .iter()
        .skip(start)
        .step_by(step)
        .map(|e| deliver_one(link, e));
    join_all(sends).await
}

/// Sends one queued entry.
async fn deliver_one(link: &Link, e: &PendingEntry) -> (u64, Delivered) {
    let outcome = match Pdu::decode(e.payload.clone(), &DecodeOptions::LENIENT) {
        Ok(pdu) => Delivered::of(link.send(pdu.body).await.ok().map(|r| r.command_status)),
        // Not ours to read any more (a format change): let it go.
        Err(_) => Delivered::Taken,
    };
    (e.seq, outcome)
}

/// What the release of a held message makes of the status its send got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Release {
    /// The carrier has it: settled.
    Sent,
    /// Worth another try on a later tick (until `RELEASE_GIVE_UP`).
    TryAgain,
    /// Not sent, for good: the customer gets a failure receipt.
    Refused,
}

fn release_outcome(status: CommandStatus, taken: bool) -> Release {
    if taken {
        // A carrier has it, even if `Router::send` failed it afterwards (its record could not
        // be stored, or the answer was not a submit_sm_resp): another try would text the
        // person twice.
        return Release::Sent;
    }
    match status {
        CommandStatus::OK => Release::Sent,
        // A carrier's own ESME_RSYSERR is a refusal for now, like the others here.
        CommandStatus::THROTTLED
        | CommandStatus::MSGQFUL
        | CommandStatus::SUBMITFAIL
        | CommandStatus::SYSERR
        | CommandStatus::X_T_APPN => Release::TryAgain,
        _ => Release::Refused,
    }
}

/// The receipt a customer gets for a held message that was not sent in the end: `REJECTD`
/// when the router refused it (opted out overnight, no route any more), `UNDELIV` when the
/// carrier did; `err` carries the command_status's low three digits.
fn failure_receipt(
    m: &HeldMessage,
    account: &Account,
    status: CommandStatus,
    now: SystemTime,
) -> DeliverSm {
    let mut buf = IdBuf::default();
    let id = MessageId(m.message_id).render(account.id_format, &mut buf);
    let state =
        if matches!(status, CommandStatus::INVDSTADR) || status == account.consent.refuse_status {
            smpp_pdu::MessageState::REJECTED
        } else {
            smpp_pdu::MessageState::UNDELIVERABLE
        };
    let date = |t: SystemTime| {
        jiff::Timestamp::try_from(t)
            .map(|t| t.strftime("%y%m%d%H%M").to_string())
            .unwrap_or_default()
    };
    let mut text = BytesMut::with_capacity(160);
    smpp_pdu::receipt::format(
        &smpp_pdu::receipt::ReceiptFields {
            id,
            sub: 1,
            dlvrd: 0,
            submit_date: date(m.submitted_at).as_bytes(),
            done_date: date(now).as_bytes(),
            state,
            err: (status.0 % 1000) as u16,
            text: b"",
        },
        &mut text,
    );
    let mut tlvs = smpp_pdu::TlvsBuilder::new();
    // Our ids are at most 20 digits, well inside the TLV's 65 octets.
    let _ = tlvs.receipted_message_id(id);
    tlvs.message_state(state);
    DeliverSm {
        source: m.submit.dest.clone(),
        dest: m.submit.source.clone(),
        esm_class: smpp_pdu::EsmClass(smpp_pdu::EsmClass::DELIVERY_RECEIPT),
        short_message: text.freeze(),
        tlvs: tlvs.build(),
        ..Default::default()
    }
}

/// The answer a person is owed for a STOP, START or HELP (see [`Router::consent_reply`]).
struct Confirmation {
    /// What it confirms.
    intent: Intent,
    submit: SubmitSm,
    /// The route's connectors for it, in the order to try.
    connectors: Vec<Arc<Connector>>,
    deadline: Instant,
}

impl Confirmation {
    /// `opt_out`, `opt_in` or `help`, for the metric.
    fn kind(&self) -> &'static str {
        match self.intent {
            Intent::Stop => "opt_out",
            Intent::Start => "opt_in",
            Intent::Help => "help",
        }
    }

    /// Sends it in the background (the carrier's deliver_sm_resp does not wait for it);
    /// `unsent` runs when no connector took it.
    fn send(self, unsent: impl FnOnce() + Send + 'static) {
        tokio::spawn(async move {
            for c in self.connectors {
                match c.submit_one(&self.submit, None, self.deadline).await {
                    Ok(_) => return,
                    Err(e) => {
                        tracing::debug!(connector = %c.name(), error = %e, "consent reply not sent here")
                    }
                }
            }
            tracing::warn!("consent reply not sent: no connector took it");
            unsent();
        });
    }
}

/// What [`Router::hand_over`] did with a group of receipts.
struct HandedOver {
    /// For each: the customer took it, or it is safely queued.
    done: Vec<bool>,
    /// Some were queued (the queue's deliverer must be woken).
    queued: bool,
}

/// Stops a connector a reload dropped: at once when nothing else holds it, else once the
/// submits in flight on it (which hold it) are done, or after `grace` (the response budget,
/// the longest a submit waits) whatever is still holding it.
async fn retire(mut connector: Arc<Connector>, grace: Duration) {
    let give_up = now_instant() + grace;
    loop {
        match Arc::try_unwrap(connector) {
            Ok(c) => return c.shutdown().await,
            Err(shared) if now_instant() >= give_up => return shared.stop().await,
            Err(shared) => connector = shared,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends receipt `i` straight to a customer's bind: `(i, true)` when the customer answered
/// ESME_ROK. [`Router::hand_over`] gives up waiting after [`DIRECT_WAIT`]; if the customer
/// answers later, the copy queued meanwhile makes a duplicate: at least once, never lost.
async fn send_direct(link: &Link, receipt: &DeliverSm, i: usize) -> (usize, bool) {
    let answer = link.send(Body::DeliverSm(Box::new(receipt.clone()))).await;
    let ok = matches!(answer, Ok(pdu) if pdu.command_status == CommandStatus::OK);
    (i, ok)
}

/// A deliver_sm as a queue entry (the PDU's bytes, sequence number 0).
fn encode_entry(body: Body) -> Option<Bytes> {
    let mut buf = BytesMut::with_capacity(512);
    body.encode(0, CommandStatus::OK, &mut buf).ok()?;
    Some(buf.freeze())
}

/// The durable queue where a connector's receipts wait for their record. Its name is longer
/// than any system_id (at most 15 characters), so it cannot be an account's queue.
fn orphan_queue(connector: &str) -> String {
    format!("orphan-receipts/{connector}")
}

/// (part, parts, sticky key) of a customer's submit_sm: from its UDH or SAR TLVs. The key is
/// the same for every part of one message, so they all take one shard.
fn concat_of(sm: &SubmitSm, account: &str) -> (u8, u8, Option<u64>) {
    let from_udh = if sm.esm_class.has_udh() {
        Udh::parse(&sm.short_message)
            .ok()
            .and_then(|(u, _)| u.concat)
    } else {
        None
    };
    let concat = from_udh.or_else(|| {
        Some((
            sm.tlvs.sar_msg_ref_num()?,
            sm.tlvs.sar_total_segments()?,
            sm.tlvs.sar_segment_seqnum()?,
        ))
    });
    match concat {
        Some((reference, total, seq)) => {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (account, &sm.dest.addr[..], reference).hash(&mut h);
            (seq, total, Some(h.finish()))
        }
        None => (1, 1, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A held message the carrier took is never sent again, even when its record could not
    /// be stored; temporary refusals (a carrier's own ESME_RSYSERR among them) are tried
    /// again; the rest are final.
    #[test]
    fn a_release_is_retried_only_when_the_carrier_did_not_take_it() {
        for (status, taken, want) in [
            (CommandStatus::OK, true, Release::Sent),
            (CommandStatus::SYSERR, true, Release::Sent),
            (CommandStatus::SYSERR, false, Release::TryAgain),
            (CommandStatus::THROTTLED, false, Release::TryAgain),
            (CommandStatus::MSGQFUL, false, Release::TryAgain),
            (CommandStatus::SUBMITFAIL, false, Release::TryAgain),
            (CommandStatus::X_T_APPN, false, Release::TryAgain),
            (CommandStatus::INVDSTADR, false, Release::Refused),
            (CommandStatus::X_R_APPN, false, Release::Refused),
        ] {
            assert_eq!(release_outcome(status, taken), want, "{status:?} {taken}");
        }
    }

    /// A queued receipt or MO leaves the queue when the customer took it or refused it for
    /// good; a customer that was unbinding, busy or failing gets it again later.
    #[test]
    fn a_queued_entry_stays_unless_taken_or_refused_for_good() {
        for (status, want) in [
            (Some(CommandStatus::OK), Delivered::Taken),
            (None, Delivered::Again),
            (Some(CommandStatus::INVBNDSTS), Delivered::Again),
            (Some(CommandStatus::THROTTLED), Delivered::Again),
            (Some(CommandStatus::MSGQFUL), Delivered::Again),
            (Some(CommandStatus::X_T_APPN), Delivered::Again),
            (Some(CommandStatus::SYSERR), Delivered::Again),
            (
                Some(CommandStatus::X_P_APPN),
                Delivered::RefusedForGood(CommandStatus::X_P_APPN),
            ),
            (
                Some(CommandStatus::X_R_APPN),
                Delivered::RefusedForGood(CommandStatus::X_R_APPN),
            ),
        ] {
            assert_eq!(Delivered::of(status), want, "{status:?}");
        }
    }
}
