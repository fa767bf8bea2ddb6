//! `smpp-bench`: a load-generating ESME, to measure an SMSC or the router — how many submits
//! per second it takes, how long each takes to be acked, and whether every acked message's
//! delivery receipt comes back with the id the ack gave.
//!
//! S transceiver sessions, each with up to W requests outstanding (W workers per session),
//! send N messages or run for D seconds, flat out or paced evenly at R submits per second over
//! all sessions. Every outcome lands in exactly one bucket ([`Report::is_consistent`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), smpp_tools::bench::BenchError> {
//! use smpp_tools::bench::{run, BenchConfig};
//!
//! let mut config = BenchConfig::new("127.0.0.1:2776", "bench", "pw");
//! config.count = Some(1000);
//! config.registered_delivery = true;
//! let report = run(config).await?;
//! println!("{report}");
//! # Ok(()) }
//! ```

mod report;
mod tls;
mod tracker;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use hdrhistogram::Histogram;
use smpp_pdu::concat::{self, Method};
use smpp_pdu::receipt::Receipt;
use smpp_pdu::text::Alphabet;
use smpp_pdu::{
    Address, Body, CommandStatus, DataCoding, EsmClass, MessageIdResp, MessageState, Npi, Pdu,
    RegisteredDelivery, SubmitSm, Ton,
};
use smpp_tokio::{Backoff, Error, Esme, EsmeConfig, Incoming, Observer};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use report::{Percentiles, ReceiptReport, Report};
pub use tls::TlsOptions;

use tracker::Tracker;

/// A long GSM text: three concatenated parts.
const LONG_TEXT: &str = "This is a long message from smpp-bench. It is longer than one SMS, so it \
    travels as a concatenated message whose parts carry a user data header with a reference, \
    the number of parts and the part's own number; the handset puts them back together. \
    Routers must count each part against a carrier's TPS limit and match each part's receipt, \
    which is exactly what this message is here to exercise. End.";
/// A UCS-2 text (Cyrillic, a check mark and an emoji that needs a surrogate pair).
const UCS2_TEXT: &str = "Привет! Ваш код: 4711 ✓ 👍";

/// What each message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageKind {
    /// This text, in GSM 7-bit when it can be, else UCS-2 (split when long).
    Text(String),
    /// A built-in long GSM text sent as three concatenated parts (UDH).
    Long,
    /// A built-in UCS-2 text.
    Ucs2,
}

/// A range of destination numbers, written `1555000000-1555999999` (or one number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestRange {
    /// Lowest.
    pub lo: u64,
    /// Highest (inclusive).
    pub hi: u64,
}

impl FromStr for DestRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let num = |t: &str| {
            let t = t.trim();
            if t.is_empty() || t.len() > 20 {
                return Err(format!("{t:?} is not a phone number"));
            }
            t.parse::<u64>()
                .map_err(|_| format!("{t:?} is not a phone number"))
        };
        let (lo, hi) = match s.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(s)?, num(s)?),
        };
        if lo > hi {
            return Err(format!("{s:?}: the first number is larger than the second"));
        }
        Ok(DestRange { lo, hi })
    }
}

/// How a bench run goes.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// `host:port` of the SMSC or router.
    pub connect: String,
    /// Credentials.
    pub system_id: String,
    /// Credentials.
    pub password: String,
    /// Transceiver sessions.
    pub sessions: usize,
    /// Requests outstanding per session.
    pub window: usize,
    /// Send this many messages…
    pub count: Option<u64>,
    /// …or send for this long (when `count` is `None`; 1000 messages when both are).
    pub duration: Option<Duration>,
    /// Submits per second over all sessions, evenly spaced (`None`: flat out).
    pub rate: Option<f64>,
    /// Destinations are drawn uniformly from this range.
    pub dest: DestRange,
    /// The sender address (alphanumeric when it has letters).
    pub source: String,
    /// What the messages say.
    pub message: MessageKind,
    /// Ask for delivery receipts and match them.
    pub registered_delivery: bool,
    /// After the last ack, wait at most this long for missing receipts.
    pub receipt_wait: Duration,
    /// TLS, when set.
    pub tls: Option<TlsOptions>,
    /// A submit with no response for this long counts as a timeout.
    pub response_timeout: Duration,
    /// After ESME_RTHROTTLED, pause this long and resend.
    pub throttle_pause: Duration,
    /// Resend a throttled submit at most this many times.
    pub max_throttle_retries: u32,
    /// How long to wait for a session to (re)bind before giving up on a message.
    pub bind_timeout: Duration,
    /// Acked messages tracked for receipt matching at most.
    pub max_tracked: usize,
    /// Print a progress line on stderr while running.
    pub progress: bool,
}

impl BenchConfig {
    /// One session, window 10, 1000 messages of "hello", flat out, no receipts.
    pub fn new(connect: &str, system_id: &str, password: &str) -> Self {
        BenchConfig {
            connect: connect.to_owned(),
            system_id: system_id.to_owned(),
            password: password.to_owned(),
            sessions: 1,
            window: 10,
            count: None,
            duration: None,
            rate: None,
            dest: DestRange {
                lo: 1_555_000_000,
                hi: 1_555_999_999,
            },
            source: "BENCH".to_owned(),
            message: MessageKind::Text("hello from smpp-bench".to_owned()),
            registered_delivery: false,
            receipt_wait: Duration::from_secs(10),
            tls: None,
            response_timeout: Duration::from_secs(10),
            throttle_pause: Duration::from_millis(200),
            max_throttle_retries: 10,
            bind_timeout: Duration::from_secs(10),
            max_tracked: 2_000_000,
            progress: false,
        }
    }
}

/// Why a run could not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// A session did not bind in time (wrong address or credentials, SMSC down).
    #[error("session {session} did not bind to {address} within {timeout:?}")]
    Bind {
        /// Which session.
        session: usize,
        /// Where to.
        address: String,
        /// How long it tried.
        timeout: Duration,
    },
    /// The message text cannot be encoded.
    #[error("cannot encode the message text: {0}")]
    Text(smpp_pdu::Error),
    /// The TLS settings are unusable.
    #[error("TLS: {0}")]
    Tls(String),
}

/// Counts ESME_RTHROTTLED retries and binds.
#[derive(Debug, Default)]
struct Watch {
    throttled: AtomicU64,
    binds: AtomicU64,
}

impl Observer for Watch {
    fn throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }
    fn bound(&self) {
        self.binds.fetch_add(1, Ordering::Relaxed);
    }
}

/// Outcome counts and submit latencies.
struct Stats {
    acked: BTreeMap<String, u64>,
    timeouts: u64,
    connection_lost: u64,
    errors: u64,
    error_kinds: BTreeMap<String, u64>,
    not_sent: u64,
    latency: Histogram<u64>,
}

/// What every task of a run shares.
struct Run {
    config: BenchConfig,
    deadline: Option<Instant>,
    limit: Option<u64>,
    /// Messages started.
    next: AtomicU64,
    sent: AtomicU64,
    ok: AtomicU64,
    mo: AtomicU64,
    stopping: AtomicBool,
    pacer: Option<Pacer>,
    stats: Mutex<Stats>,
    tracker: Mutex<Tracker>,
    messages: Messages,
}

/// Makes each message's submit_sm bodies. What every message shares is worked out once: the
/// source address, and the text as sent when it fits one message (a concatenated text's
/// parts carry a reference that changes from message to message, so it is split for each).
/// Splitting the text for every message was the bench's largest cost per message.
struct Messages {
    kind: MessageKind,
    dest: DestRange,
    registered: RegisteredDelivery,
    source: Address,
    single: Option<(DataCoding, Bytes)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Spaces submits evenly: each takes the next slot `1/rate` after the previous one.
struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    async fn wait(&self) {
        let at = {
            let mut next = lock(&self.next);
            let now = Instant::now();
            // After a stall, do not burst to catch up more than a few slots.
            let at = (*next).max(now.checked_sub(self.interval * 4).unwrap_or(now));
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// Runs a bench and reports.
///
/// # Errors
/// [`BenchError`] when a session does not bind, or the settings are unusable.
pub async fn run(config: BenchConfig) -> Result<Report, BenchError> {
    run_until(config, std::future::pending()).await
}

/// As [`run`], but when `interrupt` completes (ctrl-c) no new message is started, receipts are
/// not waited for, and the report covers what was done.
///
/// # Errors
/// As [`run`].
pub async fn run_until(
    config: BenchConfig,
    interrupt: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<Report, BenchError> {
    let sessions = config.sessions.max(1);
    let window = config.window.max(1);
    // Check the text once, before connecting.
    parts(&config.message, 0).map_err(BenchError::Text)?;
    let tls = match &config.tls {
        Some(t) => Some(t.connector(&config.connect)?),
        None => None,
    };

    let watch = Arc::new(Watch::default());
    let mut esmes = Vec::with_capacity(sessions);
    let mut deliveries = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        let mut ec = EsmeConfig::new(&config.connect, &config.system_id, &config.password);
        ec.session.window = window;
        ec.session.response_timeout = config.response_timeout;
        ec.driver.throttle_pause = config.throttle_pause;
        ec.driver.max_throttle_retries = config.max_throttle_retries;
        ec.backoff = Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(2),
        };
        ec.tls.clone_from(&tls);
        let (esme, rx) = Esme::start(ec, watch.clone());
        esmes.push(Arc::new(esme));
        deliveries.push(rx);
    }
    for (i, esme) in esmes.iter().enumerate() {
        if esme.wait_bound(config.bind_timeout).await.is_err() {
            for e in esmes {
                if let Ok(e) = Arc::try_unwrap(e) {
                    e.shutdown().await;
                }
            }
            return Err(BenchError::Bind {
                session: i,
                address: config.connect.clone(),
                timeout: config.bind_timeout,
            });
        }
    }

    let limit = match (config.count, config.duration) {
        (Some(n), _) => Some(n),
        (None, Some(_)) => None,
        (None, None) => Some(1000),
    };
    let started = Instant::now();
    let run = Arc::new(Run {
        deadline: if limit.is_none() {
            config.duration.map(|d| started + d)
        } else {
            None
        },
        limit,
        next: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        ok: AtomicU64::new(0),
        mo: AtomicU64::new(0),
        stopping: AtomicBool::new(false),
        pacer: config.rate.filter(|r| *r > 0.0).map(|r| Pacer {
            interval: Duration::from_secs_f64(1.0 / r),
            next: Mutex::new(started),
        }),
        stats: Mutex::new(Stats {
            acked: BTreeMap::new(),
            timeouts: 0,
            connection_lost: 0,
            errors: 0,
            error_kinds: BTreeMap::new(),
            not_sent: 0,
            latency: tracker::histogram(),
        }),
        tracker: Mutex::new(Tracker::new(config.max_tracked)),
        messages: Messages::new(&config),
        config,
    });

    let interrupted = {
        let run = run.clone();
        tokio::spawn(async move {
            interrupt.await;
            run.stopping.store(true, Ordering::SeqCst);
        })
    };
    let mut takers = JoinSet::new();
    for rx in deliveries {
        takers.spawn(take_deliveries(run.clone(), rx));
    }
    let progress = run
        .config
        .progress
        .then(|| tokio::spawn(progress(run.clone(), started)));

    let mut workers = JoinSet::new();
    for esme in &esmes {
        for _ in 0..window {
            workers.spawn(worker(run.clone(), esme.clone()));
        }
    }
    while workers.join_next().await.is_some() {}
    let elapsed = started.elapsed();

    if run.config.registered_delivery {
        let deadline = Instant::now() + run.config.receipt_wait;
        while lock(&run.tracker).missing() > 0
            && Instant::now() < deadline
            && !run.stopping.load(Ordering::SeqCst)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    run.stopping.store(true, Ordering::SeqCst);
    interrupted.abort();
    if let Some(p) = progress {
        p.abort();
        let _ = p.await;
        eprint!("\r\x1b[2K");
    }
    let mut closing = JoinSet::new();
    for e in esmes {
        if let Ok(e) = Arc::try_unwrap(e) {
            closing.spawn(e.shutdown());
        }
    }
    while closing.join_next().await.is_some() {}
    takers.abort_all();

    let stats = lock(&run.stats);
    let sent = run.sent.load(Ordering::Relaxed);
    let secs = elapsed.as_secs_f64();
    Ok(Report {
        sessions,
        window,
        messages: run
            .next
            .load(Ordering::Relaxed)
            .min(run.limit.unwrap_or(u64::MAX)),
        sent,
        acked: stats.acked.clone(),
        ok: run.ok.load(Ordering::Relaxed),
        timeouts: stats.timeouts,
        connection_lost: stats.connection_lost,
        errors: stats.errors,
        error_kinds: stats.error_kinds.clone(),
        not_sent: stats.not_sent,
        throttled_retries: watch.throttled.load(Ordering::Relaxed),
        reconnects: watch
            .binds
            .load(Ordering::Relaxed)
            .saturating_sub(sessions as u64),
        elapsed_secs: secs,
        throughput: if secs > 0.0 {
            (sent - stats.timeouts - stats.connection_lost - stats.errors) as f64 / secs
        } else {
            0.0
        },
        submit_latency_ms: Percentiles::from_micros(&stats.latency),
        receipts: run
            .config
            .registered_delivery
            .then(|| lock(&run.tracker).report()),
        mo_received: run.mo.load(Ordering::Relaxed),
        cpu_secs: crate::cpu_secs(),
    })
}

impl Messages {
    fn new(config: &BenchConfig) -> Self {
        let single = parts(&config.message, 0).ok().and_then(|mut s| {
            let part = s.parts.pop()?;
            let alone = s.parts.is_empty() && !part.udhi && part.sar.is_none();
            alone.then(|| (s.data_coding, Bytes::from(part.short_message)))
        });
        Messages {
            kind: config.message.clone(),
            dest: config.dest,
            registered: if config.registered_delivery {
                RegisteredDelivery::FINAL
            } else {
                RegisteredDelivery::NONE
            },
            source: source_address(&config.source),
            single,
        }
    }

    /// The bodies of message `idx`: one, or a concatenated message's parts.
    fn bodies(&self, idx: u64) -> Vec<Body> {
        let range = self.dest;
        let dest = Address::new(
            Ton(1),
            Npi(1),
            Bytes::from(fastrand::u64(range.lo..=range.hi).to_string()),
        );
        let submit = |data_coding, esm_class, short_message| SubmitSm {
            source: self.source.clone(),
            dest: dest.clone(),
            esm_class,
            registered_delivery: self.registered,
            data_coding,
            short_message,
            ..Default::default()
        };
        if let Some((data_coding, text)) = &self.single {
            let sm = submit(*data_coding, EsmClass(0), text.clone());
            return vec![Body::SubmitSm(Box::new(sm))];
        }
        let Ok(split) = parts(&self.kind, idx) else {
            return Vec::new();
        };
        split
            .parts
            .into_iter()
            .map(|p| {
                let esm_class = if p.udhi {
                    EsmClass(0).with_udh()
                } else {
                    EsmClass(0)
                };
                let mut sm = submit(split.data_coding, esm_class, Bytes::from(p.short_message));
                if let Some(sar) = p.sar {
                    let mut t = smpp_pdu::TlvsBuilder::new();
                    t.sar(sar.reference, sar.total, sar.seqnum);
                    sm.tlvs = t.build();
                }
                Body::SubmitSm(Box::new(sm))
            })
            .collect()
    }
}

/// The source address: alphanumeric (TON 5) when it holds a letter, else international.
fn source_address(source: &str) -> Address {
    let alpha = source.bytes().any(|b| b.is_ascii_alphabetic());
    Address::new(
        if alpha { Ton(5) } else { Ton(1) },
        if alpha { Npi(0) } else { Npi(1) },
        Bytes::from(source.to_owned()),
    )
}

/// The text of message `idx` split for sending (several parts for a long message, with a
/// reference that changes from message to message).
fn parts(kind: &MessageKind, idx: u64) -> Result<concat::Split, smpp_pdu::Error> {
    let reference = Method::Udh8((idx % 256) as u8);
    match kind {
        MessageKind::Text(t) => concat::split(t, None, reference),
        MessageKind::Long => concat::split(LONG_TEXT, None, reference),
        MessageKind::Ucs2 => concat::split(UCS2_TEXT, Some(Alphabet::Ucs2), reference),
    }
}

impl Run {
    /// The index of the next message, or `None` when the run is over.
    fn next_message(&self) -> Option<u64> {
        if self.stopping.load(Ordering::Relaxed) {
            return None;
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return None;
        }
        let idx = self.next.fetch_add(1, Ordering::Relaxed);
        if self.limit.is_some_and(|n| idx >= n) {
            return None;
        }
        Some(idx)
    }

    fn record(&self, result: Result<Pdu, Error>, at: Instant) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let mut stats = lock(&self.stats);
        match result {
            Ok(pdu) => {
                let _ = stats.latency.record(micros(at.elapsed()));
                *stats
                    .acked
                    .entry(status_name(pdu.command_status))
                    .or_default() += 1;
                drop(stats);
                if pdu.command_status == CommandStatus::OK {
                    self.ok.fetch_add(1, Ordering::Relaxed);
                    if self.config.registered_delivery {
                        if let Body::SubmitSmResp(MessageIdResp { message_id, .. }) = pdu.body {
                            lock(&self.tracker).acked(message_id, at);
                        }
                    }
                }
            }
            Err(Error::Throttled(_)) => {
                *stats
                    .acked
                    .entry(status_name(CommandStatus::THROTTLED))
                    .or_default() += 1;
            }
            Err(Error::Timeout) => stats.timeouts += 1,
            Err(Error::ConnectionLost(_)) => stats.connection_lost += 1,
            Err(e) => {
                stats.errors += 1;
                let kind = if stats.error_kinds.len() < 32 {
                    e.to_string()
                } else {
                    "other".to_owned()
                };
                *stats.error_kinds.entry(kind).or_default() += 1;
            }
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

fn status_name(s: CommandStatus) -> String {
    s.name()
        .map_or_else(|| format!("0x{:08X}", s.0), str::to_owned)
}

/// One of a session's W workers: takes messages until the run is over, one request at a time.
async fn worker(run: Arc<Run>, esme: Arc<Esme>) {
    let link = esme.link().clone();
    while let Some(idx) = run.next_message() {
        for body in run.messages.bodies(idx) {
            if let Some(p) = &run.pacer {
                p.wait().await;
            }
            let mut waited = Duration::ZERO;
            loop {
                let at = Instant::now();
                match link.send(body.clone()).await {
                    // Not bound (reconnecting): nothing was sent, so wait and try again.
                    Err(Error::NotConnected) => {
                        if waited >= run.config.bind_timeout || run.stopping.load(Ordering::Relaxed)
                        {
                            lock(&run.stats).not_sent += 1;
                            break;
                        }
                        let left = run.config.bind_timeout.saturating_sub(waited);
                        let _ = esme.wait_bound(left).await;
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        waited += at.elapsed();
                    }
                    result => {
                        run.record(result, at);
                        break;
                    }
                }
            }
        }
    }
}

/// Answers deliver_sm: matches receipts, counts MO.
async fn take_deliveries(run: Arc<Run>, mut rx: mpsc::Receiver<Incoming>) {
    while let Some(Incoming { pdu, responder, .. }) = rx.recv().await {
        match &pdu.body {
            Body::DeliverSm(d) => {
                if d.esm_class.is_receipt() {
                    let (id, state) = receipt_of(d);
                    lock(&run.tracker).receipt(id.as_deref(), state, Instant::now());
                } else {
                    run.mo.fetch_add(1, Ordering::Relaxed);
                }
                responder
                    .respond(
                        CommandStatus::OK,
                        Body::DeliverSmResp(MessageIdResp::default()),
                    )
                    .await;
            }
            Body::DataSm(_) => {
                run.mo.fetch_add(1, Ordering::Relaxed);
                responder
                    .respond(
                        CommandStatus::OK,
                        Body::DataSmResp(MessageIdResp::default()),
                    )
                    .await;
            }
            // Anything else is answered by the responder's drop (ESME_RX_T_APPN).
            _ => {}
        }
    }
}

/// A receipt's message id (TLV first, then the text) and state (TLV first, then `stat:`).
fn receipt_of(d: &SubmitSm) -> (Option<Vec<u8>>, Option<MessageState>) {
    let parsed = Receipt::parse(d.payload()).ok();
    let id = d
        .tlvs
        .receipted_message_id()
        .filter(|id| !id.is_empty())
        .or_else(|| parsed.and_then(|r| r.id))
        .map(<[u8]>::to_vec);
    let state = d
        .tlvs
        .message_state()
        .or_else(|| parsed.and_then(|r| r.state()));
    (id, state)
}

/// The live progress line on stderr.
async fn progress(run: Arc<Run>, started: Instant) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut last_sent, mut last_at) = (0u64, Instant::now());
    loop {
        tick.tick().await;
        let now = Instant::now();
        let sent = run.sent.load(Ordering::Relaxed);
        let dt = now.duration_since(last_at).as_secs_f64();
        let rate = if dt > 0.0 {
            (sent - last_sent) as f64 / dt
        } else {
            0.0
        };
        (last_sent, last_at) = (sent, now);
        let receipts = lock(&run.tracker).matched_count();
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{:>7.1}s  sent {sent}  ok {}  {rate:.0}/s  receipts {receipts}  MO {}",
            started.elapsed().as_secs_f64(),
            run.ok.load(Ordering::Relaxed),
            run.mo.load(Ordering::Relaxed),
        );
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smpp_pdu::concat::Udh;

    fn submits(m: &Messages, idx: u64) -> Vec<SubmitSm> {
        m.bodies(idx)
            .into_iter()
            .map(|b| match b {
                Body::SubmitSm(sm) => *sm,
                other => panic!("not a submit_sm: {other:?}"),
            })
            .collect()
    }

    fn text_of(sm: &SubmitSm) -> String {
        let mut data = &sm.short_message[..];
        if sm.esm_class.has_udh() {
            data = Udh::parse(data).expect("a valid UDH").1;
        }
        let mut text = String::new();
        smpp_pdu::text::decode(data, sm.data_coding, &mut text);
        text
    }

    #[test]
    fn a_short_text_is_made_once_and_sent_whole() {
        let config = BenchConfig {
            message: MessageKind::Text("héllo from the bench".to_owned()),
            registered_delivery: true,
            dest: DestRange { lo: 100, hi: 199 },
            ..BenchConfig::new("127.0.0.1:1", "id", "pw")
        };
        let m = Messages::new(&config);
        assert!(m.single.is_some());
        for idx in [0, 1, 300] {
            let sms = submits(&m, idx);
            assert_eq!(sms.len(), 1);
            let sm = &sms[0];
            assert_eq!(text_of(sm), "héllo from the bench");
            assert!(!sm.esm_class.has_udh());
            assert_eq!(sm.registered_delivery, RegisteredDelivery::FINAL);
            assert_eq!(&sm.source.addr[..], b"BENCH");
            assert_eq!(sm.source.ton, Ton(5));
            let dest: u64 = std::str::from_utf8(&sm.dest.addr).unwrap().parse().unwrap();
            assert!((100..=199).contains(&dest));
        }
        let ucs2 = Messages::new(&BenchConfig {
            message: MessageKind::Ucs2,
            ..config
        });
        let sms = submits(&ucs2, 7);
        assert_eq!(sms.len(), 1);
        assert_eq!(text_of(&sms[0]), UCS2_TEXT);
        assert_eq!(sms[0].data_coding.alphabet(), Alphabet::Ucs2);
    }

    #[test]
    fn a_long_text_is_split_with_a_reference_per_message() {
        for kind in [MessageKind::Long, MessageKind::Text("Привет! ".repeat(20))] {
            let config = BenchConfig {
                message: kind.clone(),
                source: "4479".to_owned(),
                ..BenchConfig::new("127.0.0.1:1", "id", "pw")
            };
            let m = Messages::new(&config);
            assert!(m.single.is_none(), "{kind:?}");
            let reference = |idx| {
                let sms = submits(&m, idx);
                assert!(sms.len() > 1, "{kind:?}");
                let refs: Vec<u16> = sms
                    .iter()
                    .map(|sm| Udh::parse(&sm.short_message).unwrap().0.concat.unwrap().0)
                    .collect();
                assert!(refs.iter().all(|r| *r == refs[0]), "{kind:?}: {refs:?}");
                assert_eq!(sms[0].source.ton, Ton(1));
                assert_eq!(sms[0].registered_delivery, RegisteredDelivery::NONE);
                refs[0]
            };
            assert_ne!(reference(1), reference(2), "{kind:?}");
        }
    }
}
