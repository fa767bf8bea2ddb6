//! The `smpp-router` process: read the config, open the store, start the simulated carriers the
//! config asks for, the router, the SMPP listener and the admin listener; then wait for a
//! signal. SIGHUP reloads accounts, routes and connectors (unchanged connectors keep their
//! binds); SIGTERM or SIGINT stops accepting, unbinds customers, lets requests in flight finish
//! within a deadline, closes the store (its last group commit included) and returns.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use smpp_pdu::Ton;
use smpp_session::Role;
use smpp_store::{CommitHook, EmbeddedStore, Options, Store};
use smpp_tokio::{Authenticate, Observer, SmscConfig};
use smpp_tools::sim::{Sim, SimConfig, SimHandle};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admin::{self, AdminState};
use crate::clock::Clock;
use crate::config::Config;
use crate::consent::{account_scope, Consent};
use crate::ids;
use crate::metrics::Metrics;
use crate::numbering::Numbering;
use crate::policy::Scope;
use crate::router::Router;
use crate::Error;

/// How long requests in flight may take to finish at shutdown.
const DRAIN: Duration = Duration::from_secs(10);
/// How often expired records and queue entries are swept.
const SWEEP: Duration = Duration::from_secs(60);

/// A running daemon, for `main` and for tests that start one in-process.
pub struct Daemon {
    /// Where customers bind.
    pub smpp_addr: std::net::SocketAddr,
    /// Where `/metrics` and the admin API answer.
    pub admin_addr: std::net::SocketAddr,
    config_path: PathBuf,
    router: Arc<Router>,
    store: Arc<EmbeddedStore>,
    /// The simulated carriers running for connectors with `simulate = true`.
    sims: std::sync::Mutex<Vec<Simulated>>,
    stop: watch::Sender<bool>,
    accounts: Accounts,
    consent: Arc<Consent>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("smpp_addr", &self.smpp_addr)
            .finish_non_exhaustive()
    }
}

impl Daemon {
    /// Starts everything the config at `path` describes.
    ///
    /// # Errors
    /// A config error naming the key, or a store or listener that cannot be opened.
    pub async fn start(path: &Path) -> Result<Daemon, Error> {
        Self::start_with_clock(path, Arc::new(Clock::system())).await
    }

    /// [`Daemon::start`] with the clock consent reads (quiet hours, caps, held messages'
    /// release): tests pass one they move forward.
    ///
    /// # Errors
    /// As [`Daemon::start`].
    pub async fn start_with_clock(path: &Path, clock: Arc<Clock>) -> Result<Daemon, Error> {
        let config = Config::load(path)?;
        let dir = &config.node.data_dir;
        let metrics = Arc::new(Metrics::new());
        let commit_metrics = metrics.clone();
        let store = EmbeddedStore::open(
            dir,
            Options {
                create_dir: true,
                commit_delay: config.node.commit_delay,
                on_commit: Some(CommitHook(Arc::new(move |d| {
                    commit_metrics.store_commit(d)
                }))),
                ..Options::default()
            },
        )
        .map_err(|e| Error::Start(format!("store at {}: {e}", dir.display())))?;
        let store = Arc::new(store);
        metrics.watch_store(&store);

        let (sims, _) = simulate(Vec::new(), &config).await.map_err(|(_, e)| e)?;

        let consent = Arc::new(Consent::open(dir)?);
        let known = Known::of(&config);
        for imp in &config.suppression_imports {
            let text = std::fs::read_to_string(&imp.file).map_err(|e| {
                Error::Start(format!("suppression import {}: {e}", imp.file.display()))
            })?;
            let (added, bad) = consent
                .import_csv(imp.scope, &text, known.numbering_for(imp.scope))
                .map_err(|e| Error::Start(format!("opt-out list: {e}")))?;
            for b in &bad {
                tracing::warn!(file = %imp.file.display(), line = b.line, reason = %b.reason, "suppression row skipped");
            }
            tracing::info!(file = %imp.file.display(), added, skipped = bad.len(), "suppression list imported");
        }
        let accounts: Accounts = Arc::new(RwLock::new(known));
        let router = Router::start(
            &config,
            store.clone() as Arc<dyn Store>,
            metrics.clone(),
            consent.clone(),
            clock,
        );
        // Ids go on above the floor the last run kept, and a new floor is durable before the
        // first id is given (see `ids`).
        let floor_path = dir.join(ids::FLOOR_FILE);
        if let Some(floor) = ids::load_floor(&floor_path).map_err(Error::Start)? {
            router.resume_ids_above(floor);
        }
        ids::save_floor(&floor_path, router.id_floor())
            .map_err(|e| Error::Start(format!("{}: {e}", floor_path.display())))?;
        let admin = TcpListener::bind(config.metrics_listen)
            .await
            .map_err(|e| Error::Start(format!("metrics.listen {}: {e}", config.metrics_listen)))?;
        let admin_addr = admin
            .local_addr()
            .map_err(|e| Error::Start(e.to_string()))?;
        let listener = TcpListener::bind(config.smpp.listen)
            .await
            .map_err(|e| Error::Start(format!("smpp.listen {}: {e}", config.smpp.listen)))?;
        let smpp_addr = listener
            .local_addr()
            .map_err(|e| Error::Start(e.to_string()))?;
        let (stop, stopped) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(serve_smpp(
                listener,
                smsc_config(&config),
                router.clone(),
                metrics.pdu_observer(),
                stopped.clone(),
            )),
            tokio::spawn(serve_admin(
                admin,
                metrics,
                router.clone(),
                consent.clone(),
                accounts.clone(),
            )),
            tokio::spawn(sweep(store.clone(), stopped.clone())),
            tokio::spawn(keep_id_floor(router.clone(), floor_path, stopped)),
        ];
        tracing::info!(%smpp_addr, %admin_addr, "smpp-router started");
        Ok(Daemon {
            smpp_addr,
            admin_addr,
            config_path: path.to_owned(),
            router,
            store,
            sims: std::sync::Mutex::new(sims),
            stop,
            accounts,
            consent,
            tasks,
        })
    }

    /// Re-reads the config and applies accounts, routes and connectors, with their simulated
    /// carriers: one a connector now asks for is started, one no longer asked for is stopped.
    ///
    /// # Errors
    /// The config error, or a simulated carrier that could not start; the running
    /// configuration stays as it was.
    pub async fn reload(&self) -> Result<(), Error> {
        let config = Config::load(&self.config_path)?;
        let running = std::mem::take(&mut *lock_sims(&self.sims));
        let (sims, retired) = match simulate(running, &config).await {
            Ok(done) => done,
            Err((running, e)) => {
                *lock_sims(&self.sims) = running;
                return Err(e);
            }
        };
        *lock_sims(&self.sims) = sims;
        self.router.apply(&config);
        for s in retired {
            tracing::info!(connector = %s.connector, "simulated carrier stopped");
            s.sim.shutdown().await;
        }
        if let Ok(mut a) = self.accounts.write() {
            *a = Known::of(&config);
        }
        tracing::info!("configuration reloaded");
        Ok(())
    }

    /// The opt-out list.
    pub fn consent(&self) -> &Arc<Consent> {
        &self.consent
    }

    /// The router, for the admin listener and tests.
    pub fn router(&self) -> &Arc<Router> {
        &self.router
    }

    /// Stops accepting, unbinds customers, drains, stops carriers and closes the store.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        // Customers get the answers to what they sent before their unbind; requests in flight
        // upstream finish (or time out) within the drain deadline; then the carrier binds are
        // unbound.
        let deadline = tokio::time::Instant::now() + DRAIN;
        self.router.unbind_customers(deadline).await;
        for connector in self.router.take_connectors() {
            let mut connector = connector;
            let owned = loop {
                match Arc::try_unwrap(connector) {
                    Ok(c) => break Some(c),
                    Err(still_shared) if tokio::time::Instant::now() < deadline => {
                        connector = still_shared;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(_) => break None,
                }
            };
            match owned {
                Some(c) => c.shutdown().await,
                None => tracing::warn!("a connector was still busy at the drain deadline"),
            }
        }
        for t in self.tasks {
            t.abort();
        }
        let sims = match self.sims.into_inner() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        for s in sims {
            s.sim.shutdown().await;
        }
        drop(self.router);
        // The store closes (after its final group commit) when the last task using it is gone.
        let store = self.store;
        let deadline = tokio::time::Instant::now() + DRAIN;
        while Arc::strong_count(&store) > 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        drop(store);
    }
}

/// A simulated carrier the daemon runs for a connector (`simulate = true`).
struct Simulated {
    connector: String,
    listen: std::net::SocketAddr,
    sim: SimHandle,
}

fn lock_sims(sims: &std::sync::Mutex<Vec<Simulated>>) -> std::sync::MutexGuard<'_, Vec<Simulated>> {
    sims.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The simulated carriers `config` asks for: those of `running` it still asks for (same
/// connector, same address) are kept, the others are started. Returns them, and those of
/// `running` it no longer asks for (for the caller to stop once the connectors have moved
/// off them). On an error, the carriers started here are stopped and the rest of `running`
/// comes back (one whose address another connector took over was stopped to free it).
async fn simulate(
    mut running: Vec<Simulated>,
    config: &Config,
) -> Result<(Vec<Simulated>, Vec<Simulated>), (Vec<Simulated>, Error)> {
    let mut kept = Vec::new();
    let mut started = Vec::new();
    for c in config.connectors.iter().filter(|c| c.simulate) {
        // Checked when the config was read.
        let Ok(listen) = c.hosts[0].parse::<std::net::SocketAddr>() else {
            continue;
        };
        if let Some(i) = running
            .iter()
            .position(|s| s.connector == c.name && s.listen == listen)
        {
            kept.push(running.swap_remove(i));
            continue;
        }
        // A carrier on that address for another connector goes first (a rename).
        let mut moved = Vec::new();
        while let Some(i) = running.iter().position(|s| s.listen == listen) {
            moved.push(running.swap_remove(i));
        }
        for s in moved {
            s.sim.shutdown().await;
        }
        match Sim::start(SimConfig {
            listen,
            ..SimConfig::default()
        })
        .await
        {
            Ok(sim) => {
                tracing::info!(connector = %c.name, addr = %sim.local_addr(), "simulated carrier started");
                started.push(Simulated {
                    connector: c.name.clone(),
                    listen,
                    sim,
                });
            }
            Err(e) => {
                let e = Error::Start(format!("simulated carrier {:?} at {listen}: {e}", c.name));
                for s in started {
                    s.sim.shutdown().await;
                }
                running.extend(kept);
                return Err((running, e));
            }
        }
    }
    kept.extend(started);
    Ok((kept, running))
}

/// Rewrites the id floor every second (off the runtime's threads: it fsyncs), so that it stays
/// [`ids::FLOOR_AHEAD`] past the clock and above every id given.
async fn keep_id_floor(router: Arc<Router>, path: PathBuf, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => return,
        }
        let (floor, path) = (router.id_floor(), path.clone());
        match tokio::task::spawn_blocking(move || ids::save_floor(&path, floor)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "id floor not written"),
            Err(e) => tracing::error!(error = %e, "id floor writer stopped"),
        }
    }
}

fn smsc_config(config: &Config) -> SmscConfig {
    let mut smsc = SmscConfig::default();
    smsc.session.role = Role::Smsc;
    smsc.session.window = config.smpp.window;
    smsc.session.bind_timeout = config.smpp.bind_timeout;
    smsc.session.enquire_link_interval = config.smpp.enquire_link;
    smsc.max_connections = config.smpp.max_connections;
    smsc
}

async fn serve_smpp(
    listener: TcpListener,
    smsc: SmscConfig,
    router: Arc<Router>,
    observer: Arc<dyn Observer>,
    mut stopped: watch::Receiver<bool>,
) {
    let auth_router = router.clone();
    let auth: Arc<Authenticate> = Arc::new(move |req| auth_router.authenticate(req));
    let on_connection = move |conn: smpp_tokio::Connection| {
        tokio::spawn(router.clone().serve_customer(conn));
    };
    tokio::select! {
        r = smpp_tokio::serve(listener, smsc, auth, on_connection, observer) => {
            if let Err(e) = r {
                tracing::error!(error = %e, "SMPP listener failed");
            }
        }
        _ = stopped.wait_for(|s| *s) => {}
    }
}

async fn serve_admin(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    router: Arc<Router>,
    consent: Arc<Consent>,
    accounts: Accounts,
) {
    let view = AdminView {
        router,
        consent,
        accounts,
    };
    if let Err(e) = admin::serve(listener, metrics, Arc::new(view)).await {
        tracing::error!(error = %e, "admin listener failed");
    }
}

/// What the admin endpoints show of the router.
struct AdminView {
    router: Arc<Router>,
    consent: Arc<Consent>,
    /// The configured system_ids and the node's numbering, kept current by reloads.
    accounts: Accounts,
}

/// What the admin API needs of the config, kept current by reloads.
type Accounts = Arc<RwLock<Known>>;

/// The configured system_ids, and how the numbers of suppression lists are written.
struct Known {
    ids: HashSet<String>,
    /// Each account's numbering, by its scope id.
    numbering: HashMap<u32, Numbering>,
    /// The node's.
    node: Numbering,
}

impl Known {
    fn of(config: &Config) -> Known {
        Known {
            ids: config
                .accounts
                .iter()
                .map(|a| a.system_id.clone())
                .collect(),
            numbering: config
                .accounts
                .iter()
                .map(|a| (account_scope(&a.system_id), a.numbering.clone()))
                .collect(),
            node: config.node.numbering.clone(),
        }
    }

    /// How a list for `scope` writes its numbers: an account's list as the account does,
    /// any other as the node does.
    fn numbering_for(&self, scope: Scope) -> &Numbering {
        match scope {
            Scope::Account(id) => self.numbering.get(&id).unwrap_or(&self.node),
            Scope::Global | Scope::Sender(_) => &self.node,
        }
    }
}

impl AdminView {
    fn scope(&self, text: &str) -> Result<crate::policy::Scope, String> {
        let scope = crate::consent::parse_scope_name(text)?;
        if let Some(id) = text.strip_prefix("account:") {
            let known = self
                .accounts
                .read()
                .map(|a| a.ids.contains(id))
                .unwrap_or(false);
            if !known {
                return Err(format!("no account has system_id {id:?}"));
            }
        }
        Ok(scope)
    }

    /// How the numbers of a list for `scope` are written (see [`Known::numbering_for`]).
    fn numbering(&self, scope: Scope) -> Numbering {
        self.accounts
            .read()
            .map(|a| a.numbering_for(scope).clone())
            .unwrap_or_default()
    }
}

impl AdminState for AdminView {
    fn ready(&self) -> bool {
        self.router.ready()
    }

    fn suppressions(&self, scope: &str, limit: usize) -> Result<serde_json::Value, String> {
        let numbers: Vec<String> = self
            .consent
            .list(self.scope(scope)?, limit)
            .into_iter()
            .map(crate::policy::unpack_number)
            .collect();
        Ok(serde_json::json!({ "scope": scope, "numbers": numbers }))
    }

    fn add_suppressions(&self, scope: &str, csv: &str) -> Result<serde_json::Value, String> {
        let scope_v = self.scope(scope)?;
        let (added, bad) = self
            .consent
            .import_csv(scope_v, csv, &self.numbering(scope_v))
            .map_err(|e| format!("not stored: {e}"))?;
        let bad: Vec<_> = bad
            .iter()
            .map(|b| serde_json::json!({ "line": b.line, "reason": b.reason }))
            .collect();
        Ok(serde_json::json!({ "scope": scope, "added": added, "bad_rows": bad }))
    }

    fn remove_suppression(&self, scope: &str, number: &str) -> Result<serde_json::Value, String> {
        let scope_v = self.scope(scope)?;
        let n = self
            .numbering(scope_v)
            .pack(Ton::UNKNOWN, number.as_bytes())
            .ok_or_else(|| format!("{number:?} is not a phone number"))?;
        // The number as written too: an entry stored before the numbering was set is kept so
        // (and still blocks; see the gate).
        let mut entries = vec![(scope_v, n)];
        if let Some(written) = crate::policy::pack_number(number.as_bytes()).filter(|&w| w != n) {
            entries.push((scope_v, written));
        }
        let removed = self
            .consent
            .change(false, &entries)
            .map_err(|e| format!("not stored: {e}"))?;
        Ok(serde_json::json!({ "scope": scope, "number": number, "removed": removed >= 1 }))
    }

    fn binds(&self) -> serde_json::Value {
        let connectors: Vec<_> = self.router.connectors()
            .iter()
            .map(|c| {
                let shards: Vec<_> = c
                    .status()
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "bind": s.index,
                            "state": if s.bound { "bound" } else { "down" },
                            "receiver": s.receiver_bound.map(|up| if up { "bound" } else { "down" }),
                            "in_flight": s.in_flight,
                            "window": s.window,
                            "tps": c.bind_tps(),
                        })
                    })
                    .collect();
                serde_json::json!({
                    "connector": c.name(),
                    "up": c.is_up(),
                    "tps": c.tps(),
                    "binds": shards,
                })
            })
            .collect();
        serde_json::json!({ "connectors": connectors })
    }

    fn resolve(&self, account: &str, dst: &str) -> Option<serde_json::Value> {
        let (route, connectors) = self.router.resolve(account, dst)?;
        Some(serde_json::json!({
            "account": account,
            "dst": dst,
            "route": route,
            "connectors": connectors,
        }))
    }
}

async fn sweep(store: Arc<EmbeddedStore>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(SWEEP) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        let now = SystemTime::now();
        while let Ok(n) = store.expire_correlations(now, 10_000).await {
            if n < 10_000 {
                break;
            }
        }
        while let Ok(n) = store.expire_pending(now, 10_000).await {
            if n < 10_000 {
                break;
            }
        }
    }
}

/// Runs the daemon until SIGTERM or SIGINT, reloading on SIGHUP.
///
/// # Errors
/// What [`Daemon::start`] reports.
pub async fn run(path: &Path) -> Result<(), Error> {
    use tokio::signal::unix::{signal, SignalKind};
    let daemon = Daemon::start(path).await?;
    let sig = |k| signal(k).map_err(|e| Error::Start(format!("signal handler: {e}")));
    let mut term = sig(SignalKind::terminate())?;
    let mut int = sig(SignalKind::interrupt())?;
    let mut hup = sig(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                if let Err(e) = daemon.reload().await {
                    tracing::error!(error = %e, "reload refused; running configuration kept");
                }
            }
        }
    }
    tracing::info!("stopping");
    daemon.shutdown().await;
    Ok(())
}
