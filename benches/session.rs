//! Session throughput benchmark: submit_sm → submit_sm_resp over real TCP on 127.0.0.1, our
//! drivers beside the `smpp34` crate's, in one process and one run.
//!
//! Three pairings, each at windows 1, 10, 100 and 1000, with 1 and 4 sessions:
//! - `ours→ours`: `smpp_tokio::Esme` against `smpp_tokio::serve` — the whole of our stack;
//! - `smpp34→ours`: smpp34's `SmppClient` against our SMSC — our server under a foreign client;
//! - `smpp34→smpp34`: smpp34's client against its own `SmppServer` — the baseline.
//!
//! Each session keeps its window full: one task holds up to `window` requests in flight (a
//! `FuturesUnordered` of sends), starting a new one as each answer arrives. At window 1 the task
//! simply awaits one request after another: a `FuturesUnordered` holding one future yields to
//! the scheduler each time it has polled it, and that extra wake-up (which may land on the
//! other worker thread) was in every window-1 round trip of every pair before. smpp34's client has
//! no window of its own (its `window_size` is only logged), so for it the window is exactly that
//! number of concurrent requests. Both SMSCs answer every submit_sm with status 0 and a message id
//! made from a counter. Every answer is checked: anything but an OK submit_sm_resp is a failure,
//! counted and printed — a run that loses requests reports it rather than a rate.
//!
//! Reported per run: submit_sm/s (requests over wall time, all sessions together) and the
//! round-trip latency p50/p99 of single requests (from the moment a request is started to its
//! answer, window queueing included). Absolute numbers on a 2-core machine are noisy; the ratios
//! in one run are what to compare (DESIGN.md, "How we measure"). Nothing here asserts a timing.
//!
//! `cargo bench -p smpp-conformance --bench session`; `SESSION_BENCH_COUNT` sets the requests
//! per windowed run (default 200000; window-1 runs use a tenth of it); `SESSION_BENCH_FILTER`
//! keeps only the runs whose name (e.g. `ours→ours w100 s1`) contains it.
#![allow(missing_docs, clippy::unwrap_used)] // a benchmark: a failed unwrap is a broken setup

use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::{FuturesUnordered, StreamExt};
use smpp34::client::{SmppClient, SmppClientListener, BIND_TYPE, SMSC};
use smpp34::{
    bind_transceiver, bind_transceiver_resp, submit_sm, submit_sm_resp, SmppConnectionInformation,
    SmppServer, SmppServerListener,
};
use smpp_pdu::{Address, Body, CommandStatus, MessageIdResp, Npi, SubmitSm, Ton};
use smpp_tokio::{Authenticate, BindRequest, Connection, Esme, EsmeConfig, NoObserver, SmscConfig};
use tokio::net::TcpListener;

const WINDOWS: [usize; 4] = [1, 10, 100, 1000];
const SESSIONS: [usize; 2] = [1, 4];
/// The same submit_sm content on both stacks (smpp34's own perf example sends this).
const SOURCE: &str = "12345";
const DEST: &str = "31600000000";
const TEXT: &[u8] = b"perf test message";

// ---- measurement ------------------------------------------------------------------------

/// What one session's loop saw.
#[derive(Default)]
struct SessionResult {
    /// Round trips in nanoseconds, one per OK answer.
    latencies: Vec<u64>,
    failures: u64,
    /// The first few failures, to print.
    examples: Vec<String>,
}

/// Keeps up to `window` requests in flight until `count` have been started; `start(i)` begins
/// request `i` and resolves to `Ok(())` for an OK answer.
async fn pipelined<F, Fut>(window: usize, count: u64, mut start: F) -> SessionResult
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut result = SessionResult {
        latencies: Vec::with_capacity(count as usize),
        ..Default::default()
    };
    if window == 1 {
        // One at a time needs no set of futures; `FuturesUnordered` would also yield to the
        // scheduler after polling its only future, a hop no window-1 caller makes.
        for i in 0..count {
            let t = Instant::now();
            let outcome = start(i).await;
            result.record(t.elapsed(), outcome);
        }
        return result;
    }
    let mut in_flight = FuturesUnordered::new();
    let mut started = 0u64;
    loop {
        while in_flight.len() < window && started < count {
            let request = start(started);
            in_flight.push(async move {
                let t = Instant::now();
                let outcome = request.await;
                (t.elapsed(), outcome)
            });
            started += 1;
        }
        let Some((elapsed, outcome)) = in_flight.next().await else {
            break;
        };
        result.record(elapsed, outcome);
    }
    result
}

impl SessionResult {
    fn record(&mut self, elapsed: Duration, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => self.latencies.push(elapsed.as_nanos() as u64),
            Err(e) => {
                self.failures += 1;
                if self.examples.len() < 5 {
                    self.examples.push(e);
                }
            }
        }
    }
}

/// One row of the table.
struct Row {
    pair: &'static str,
    window: usize,
    sessions: usize,
    count: u64,
    per_sec: f64,
    p50_us: f64,
    p99_us: f64,
    failures: u64,
    examples: Vec<String>,
}

fn row(
    pair: &'static str,
    window: usize,
    sessions: usize,
    wall: Duration,
    results: Vec<SessionResult>,
) -> Row {
    let mut latencies = Vec::new();
    let mut failures = 0;
    let mut examples = Vec::new();
    for r in results {
        latencies.extend_from_slice(&r.latencies);
        failures += r.failures;
        examples.extend(r.examples);
    }
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i] as f64 / 1000.0
    };
    let count = latencies.len() as u64 + failures;
    Row {
        pair,
        window,
        sessions,
        count,
        per_sec: latencies.len() as f64 / wall.as_secs_f64(),
        p50_us: pct(0.50),
        p99_us: pct(0.99),
        failures,
        examples,
    }
}

// ---- our SMSC and ESME ------------------------------------------------------------------

/// Starts our SMSC on an ephemeral port: every submit_sm gets OK and a counter as its id.
async fn our_smsc() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let auth: Arc<Authenticate> = Arc::new(|_: &BindRequest| Ok(b"OURSMSC".to_vec()));
    let ids = Arc::new(AtomicU64::new(0));
    let on_connection = move |mut conn: Connection| {
        let ids = ids.clone();
        tokio::spawn(async move {
            while let Some(inc) = conn.incoming.recv().await {
                if !matches!(inc.pdu.body, Body::SubmitSm(_)) {
                    continue; // dropping the responder answers with a temporary error
                }
                let id = ids.fetch_add(1, Ordering::Relaxed);
                inc.responder
                    .respond(
                        CommandStatus::OK,
                        Body::SubmitSmResp(MessageIdResp {
                            message_id: Bytes::from(id.to_string()),
                            ..Default::default()
                        }),
                    )
                    .await;
            }
        });
    };
    let mut config = SmscConfig::default();
    let most = WINDOWS.iter().copied().max().unwrap_or(1);
    // Room for a whole window of inbound submits, and for a window of answers on their way to
    // the connection task (the command channel is sized from the session window).
    config.incoming_capacity = 2 * most;
    config.session.window = most;
    tokio::spawn(smpp_tokio::serve(
        listener,
        config,
        auth,
        on_connection,
        Arc::new(NoObserver),
    ));
    addr
}

fn our_submit() -> Body {
    Body::SubmitSm(Box::new(SubmitSm {
        source: Address {
            ton: Ton(1),
            npi: Npi(1),
            addr: Bytes::from_static(SOURCE.as_bytes()),
        },
        dest: Address {
            ton: Ton(1),
            npi: Npi(1),
            addr: Bytes::from_static(DEST.as_bytes()),
        },
        short_message: Bytes::from_static(TEXT),
        ..Default::default()
    }))
}

/// `sessions` of our ESMEs, each keeping `window` submits in flight, `count` in all.
async fn run_ours(
    addr: &str,
    window: usize,
    sessions: usize,
    count: u64,
) -> (Duration, Vec<SessionResult>) {
    let mut esmes = Vec::new();
    for _ in 0..sessions {
        let mut config = EsmeConfig::new(addr, "bench", "bench");
        config.session.window = window;
        let (esme, _deliveries) = Esme::start(config, Arc::new(NoObserver));
        esme.wait_bound(Duration::from_secs(5)).await.unwrap();
        esmes.push(esme);
    }
    let body = our_submit();
    let t = Instant::now();
    let tasks: Vec<_> = esmes
        .iter()
        .map(|esme| {
            let link = esme.link().clone();
            let body = body.clone();
            tokio::spawn(pipelined(window, count / sessions as u64, move |_| {
                let link = link.clone();
                let body = body.clone();
                async move {
                    match link.send(body).await {
                        Ok(pdu)
                            if pdu.command_status == CommandStatus::OK
                                && matches!(pdu.body, Body::SubmitSmResp(_)) =>
                        {
                            Ok(())
                        }
                        Ok(pdu) => Err(format!(
                            "answer {:?} status {:?}",
                            pdu.command_id(),
                            pdu.command_status
                        )),
                        Err(e) => Err(e.to_string()),
                    }
                }
            }))
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let wall = t.elapsed();
    for esme in esmes {
        esme.shutdown().await;
    }
    (wall, results)
}

// ---- smpp34's server and client ---------------------------------------------------------

struct Smpp34Smsc {
    ids: AtomicU64,
}

#[async_trait]
impl SmppServerListener for Smpp34Smsc {
    async fn on_bind_transceiver(
        &self,
        req: bind_transceiver,
        _: &SmppConnectionInformation,
        _: &String,
    ) -> bind_transceiver_resp {
        req.accept("SMPP34SMSC".to_string(), Some(0x34))
    }

    async fn on_submit_sm(
        &self,
        req: submit_sm,
        _: &SmppConnectionInformation,
        _: &String,
    ) -> submit_sm_resp {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        req.accept(id.to_string())
    }
}

/// Hands over the bound session (smpp34 gives it to a listener callback).
struct Bound(std::sync::Mutex<Option<tokio::sync::oneshot::Sender<SMSC>>>);

#[async_trait]
impl SmppClientListener for Bound {
    async fn on_smsc_bound(&self, smsc: SMSC, _: &String) {
        let tx = self.0.lock().unwrap().take();
        if let Some(tx) = tx {
            let _ = tx.send(smsc);
        }
    }
}

/// `sessions` of smpp34 clients, each keeping `window` submits in flight, `count` in all.
async fn run_smpp34(
    port: u16,
    window: usize,
    sessions: usize,
    count: u64,
) -> (Duration, Vec<SessionResult>) {
    let mut clients = Vec::new();
    let mut smscs = Vec::new();
    for _ in 0..sessions {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let mut client = SmppClient::new(
            "127.0.0.1".to_string(),
            port,
            false,
            BIND_TYPE::TRX,
            "bench".to_string(),
            "bench".to_string(),
            String::new(),
            1,
            1,
            String::new(),
            Arc::new(Bound(std::sync::Mutex::new(Some(tx)))),
            window,
        );
        client.start().await;
        let smsc = tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .expect("smpp34 client bound in time")
            .unwrap();
        smscs.push(Arc::new(smsc));
        clients.push(client);
    }
    let t = Instant::now();
    let tasks: Vec<_> = smscs
        .iter()
        .map(|smsc| {
            let smsc = smsc.clone();
            tokio::spawn(async move {
                pipelined(window, count / sessions as u64, |_| {
                    let smsc = smsc.clone();
                    async move {
                        match smsc
                            .submit_sm()
                            .source_addr_ton(1)
                            .source_addr_npi(1)
                            .source_addr(SOURCE)
                            .dest_addr_ton(1)
                            .dest_addr_npi(1)
                            .destination_addr(DEST)
                            .short_message(TEXT)
                            .send()
                            .await
                        {
                            Ok(resp) if resp.is_success() => Ok(()),
                            Ok(resp) => Err(format!("status {:#x}", resp.command_status())),
                            Err(e) => Err(format!("{e:?}")),
                        }
                    }
                })
                .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let wall = t.elapsed();
    for smsc in smscs {
        let _ = smsc.send_unbind().await;
    }
    for mut client in clients {
        client.stop().await;
    }
    (wall, results)
}

// ---- the run ----------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Pair {
    Ours,
    Smpp34ToOurs,
    Smpp34,
}

impl Pair {
    fn name(self) -> &'static str {
        match self {
            Pair::Ours => "ours→ours",
            Pair::Smpp34ToOurs => "smpp34→ours",
            Pair::Smpp34 => "smpp34→smpp34",
        }
    }
}

async fn run_pair(
    pair: Pair,
    our_addr: &str,
    our_port: u16,
    smpp34_port: u16,
    window: usize,
    sessions: usize,
    n: u64,
) -> (Duration, Vec<SessionResult>) {
    match pair {
        Pair::Ours => run_ours(our_addr, window, sessions, n).await,
        Pair::Smpp34ToOurs => run_smpp34(our_port, window, sessions, n).await,
        Pair::Smpp34 => run_smpp34(smpp34_port, window, sessions, n).await,
    }
}

fn env_u64(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; arguments are ignored (see SESSION_BENCH_FILTER).
    let count = env_u64("SESSION_BENCH_COUNT", 200_000).max(100);
    // Runs only the runs whose name ("ours→ours w100 s1", …) contains this.
    let filter = std::env::var("SESSION_BENCH_FILTER").ok();
    // Other work on the machine moves every number here; say how busy it was.
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{} CPUs, load average at start: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows = runtime.block_on(async move {
        let our_addr = our_smsc().await;
        let smpp34_port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let mut smpp34_server = SmppServer::new(
            IpAddr::from([127, 0, 0, 1]),
            smpp34_port,
            Arc::new(Smpp34Smsc {
                ids: AtomicU64::new(0),
            }),
        );
        smpp34_server.start().await;
        let our_port: u16 = our_addr.rsplit(':').next().unwrap().parse().unwrap();

        let mut rows = Vec::new();
        // The three pairs for one window and session count run back to back, so that the
        // ratios compare runs made under the same background load.
        for sessions in SESSIONS {
            for window in WINDOWS {
                for pair in [Pair::Ours, Pair::Smpp34ToOurs, Pair::Smpp34] {
                    let name = format!("{} w{window} s{sessions}", pair.name());
                    if !filter.as_deref().is_none_or(|f| name.contains(f)) {
                        continue;
                    }
                    let n = if window == 1 { count / 10 } else { count };
                    let n = n - n % sessions as u64;
                    let go = |n: u64| run_pair(pair, &our_addr, our_port, smpp34_port, window, sessions, n);
                    // Warm up (connections, allocator, caches), then measure on fresh sessions.
                    let _ = go((n / 20).max(sessions as u64 * 100)).await;
                    let (wall, results) = go(n).await;
                    let r = row(pair.name(), window, sessions, wall, results);
                    eprintln!(
                        "{:<14} window {:>4} × {} sessions: {:>9.0} submit_sm/s  p50 {:>8.1} µs  p99 {:>8.1} µs  ({} requests, {} failed)",
                        r.pair, r.window, r.sessions, r.per_sec, r.p50_us, r.p99_us, r.count, r.failures
                    );
                    rows.push(r);
                }
            }
        }
        smpp34_server.stop().await;
        rows
    });
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average at end: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    print_tables(&rows);
    runtime.shutdown_timeout(Duration::from_secs(1));
}

fn print_tables(rows: &[Row]) {
    println!();
    println!("| pair | window | sessions | requests | submit_sm/s | p50 µs | p99 µs | failed |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {:.0} | {:.1} | {:.1} | {} |",
            r.pair, r.window, r.sessions, r.count, r.per_sec, r.p50_us, r.p99_us, r.failures
        );
    }
    let find = |pair: &str, window: usize, sessions: usize| {
        rows.iter()
            .find(|r| r.pair == pair && r.window == window && r.sessions == sessions)
    };
    println!();
    println!(
        "| window | sessions | ours/smpp34 submit_sm/s | smpp34 p50 / ours p50 | our SMSC / smpp34's (smpp34 client) submit_sm/s |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for sessions in SESSIONS {
        for window in WINDOWS {
            let (Some(o), Some(x), Some(s)) = (
                find(Pair::Ours.name(), window, sessions),
                find(Pair::Smpp34ToOurs.name(), window, sessions),
                find(Pair::Smpp34.name(), window, sessions),
            ) else {
                continue;
            };
            println!(
                "| {} | {} | {:.2}× | {:.2}× | {:.2}× |",
                window,
                sessions,
                o.per_sec / s.per_sec,
                s.p50_us / o.p50_us,
                x.per_sec / s.per_sec
            );
        }
    }
    let failed: Vec<_> = rows.iter().filter(|r| r.failures > 0).collect();
    println!();
    if failed.is_empty() {
        println!("Every request got an OK submit_sm_resp.");
    } else {
        for r in failed {
            println!(
                "FAILURES: {} window {} × {}: {} of {} requests failed, e.g. {:?}",
                r.pair, r.window, r.sessions, r.failures, r.count, r.examples
            );
        }
    }
}
