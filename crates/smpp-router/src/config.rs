//! The router's configuration: one TOML file, read into raw structs that keep each value's
//! place in the file, then checked and turned into typed settings.
//!
//! Every error names the key as a dotted path (`connectors[1].window`) and the line, and says
//! what is expected, so `smpp-router check` can point at the mistake. Unknown keys are errors:
//! a misspelt setting silently ignored is worse than a refusal to start.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use smpp_pdu::CommandStatus;

use crate::consent::{AccountConsent, OptOutScope, Replies};
use crate::gate::{QuietAction, RouteConsent};
use crate::ids::{IdFormat, MAX_NODE};
use crate::numbering::Numbering;
use crate::policy::Keywords;
use crate::routes::{ConnectorId, Rule, Target};
use crate::Error;

/// The most `node.workers` a config may ask for.
const MAX_WORKERS: i64 = 1024;

/// The whole, checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// This node's id (part of every message id) and data directory.
    pub node: Node,
    /// The SMPP side customers bind to.
    pub smpp: Smpp,
    /// The metrics and admin HTTP listener.
    pub metrics_listen: SocketAddr,
    /// Customers, by system_id.
    pub accounts: Vec<Account>,
    /// Carriers; a [`ConnectorId`] is an index into this list.
    pub connectors: Vec<Connector>,
    /// Route rules, in file order.
    pub routes: Vec<Rule>,
    /// How replies (MO) find their account.
    pub mo: Mo,
    /// Suppression lists (CSV) loaded at start, each into a scope.
    pub suppression_imports: Vec<SuppressionImport>,
}

/// A suppression list loaded at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppressionImport {
    /// The CSV file (relative: to the config file).
    pub file: PathBuf,
    /// Where its numbers go.
    pub scope: crate::policy::Scope,
}

/// This node.
#[derive(Debug, Clone)]
pub struct Node {
    /// 0–1023, unique in a cluster.
    pub id: u16,
    /// Where the embedded store keeps its files (relative paths: to the config file).
    pub data_dir: PathBuf,
    /// Threads that run the router's tasks. With 1 the runtime is single-threaded: no work
    /// stealing, and no wake-up crosses threads (the store's committer has a thread of its own
    /// either way).
    pub workers: usize,
    /// How long a busy store waits for more writes before a group commit (see
    /// `smpp_store::Options::commit_delay`). Read at start, like `workers`.
    pub commit_delay: Duration,
    /// How numbers are written where nothing more particular is said (accounts and
    /// connectors inherit it).
    pub numbering: Numbering,
}

/// `node.commit_delay` when the config says nothing: off. The wait saves fsyncs and, at
/// moderate rates, CPU, but a router whose customers keep full windows is held by latency as
/// much as by CPU, and there it cost throughput (benches/e2e/README.md).
const DEFAULT_COMMIT_DELAY: Duration = Duration::ZERO;
/// The longest `node.commit_delay`: each acknowledgement of a busy router waits for it.
const MAX_COMMIT_DELAY: Duration = Duration::from_millis(10);

/// One thread fewer than the machine has, at least one: the store's committer is the other.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

/// The customer-facing SMPP listener.
#[derive(Debug, Clone)]
pub struct Smpp {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Most customer connections at once.
    pub max_connections: usize,
    /// A connection that has not bound after this long is closed.
    pub bind_timeout: Duration,
    /// enquire_link after this much silence.
    pub enquire_link: Duration,
    /// deliver_sm outstanding per customer bind.
    pub window: usize,
    /// How long a customer's submit may wait for a carrier's answer before it gets an error.
    pub response_budget: Duration,
    /// Requests (submits) one customer bind may have unanswered; beyond it ESME_RTHROTTLED.
    pub max_in_flight: usize,
}

/// A customer account.
#[derive(Debug, Clone)]
pub struct Account {
    /// The system_id it binds with.
    pub system_id: String,
    /// Argon2 PHC string of the password.
    pub password_hash: String,
    /// Networks binds may come from.
    pub networks: Vec<Cidr>,
    /// Most binds at once.
    pub max_binds: usize,
    /// Submits per second over all its binds (`None`: no limit).
    pub tps: Option<u32>,
    /// How its message ids are written.
    pub id_format: IdFormat,
    /// Which receipts are asked of the carrier.
    pub receipts: ReceiptPolicy,
    /// Numbers it owns: MO to them is its own.
    pub numbers: Vec<String>,
    /// Keywords on shared numbers: MO to `number` starting with `keyword` is its own.
    pub keywords: Vec<Keyword>,
    /// Opt-outs: what STOP/START/HELP do and whether submits to opted-out people are refused.
    pub consent: AccountConsent,
    /// Receipts and MO waiting for the customer: at most this many (beyond it, the carrier's
    /// deliver_sm gets a temporary error and is sent again later).
    pub pending_max: u64,
    /// … kept at most this long.
    pub pending_ttl: Duration,
    /// How its submits write numbers (national ones: in which country).
    pub numbering: Numbering,
}

/// A keyword on a shared number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyword {
    /// The shared number.
    pub number: String,
    /// The first word of the MO, compared without case.
    pub keyword: String,
}

/// Which receipts the router asks carriers for on an account's behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptPolicy {
    /// What the customer's registered_delivery asks.
    #[default]
    AsRequested,
    /// Always ask for final receipts (and pass them on only when the customer asked).
    Always,
}

/// An address range, `10.0.0.0/8` or `::1/128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network address.
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub bits: u8,
}

impl Cidr {
    /// Parses `addr/bits` (or a bare address, a single host).
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, bits) = match s.split_once('/') {
            Some((a, b)) => (a.parse::<IpAddr>().ok()?, Some(b.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        (bits <= max).then_some(Cidr { addr, bits })
    }

    /// True when `ip` is inside (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// How a connector binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindMode {
    /// One transceiver per shard.
    Transceiver,
    /// A transmitter and a receiver per shard.
    TransmitterReceiver,
}

/// A carrier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connector {
    /// Its name in routes and metrics.
    pub name: String,
    /// SMSC addresses (`host:port`); shards are spread over them in turn.
    pub hosts: Vec<String>,
    /// Credentials at the carrier.
    pub system_id: String,
    /// Credentials at the carrier.
    pub password: String,
    /// Often empty.
    pub system_type: String,
    /// Transceiver, or transmitter + receiver.
    pub bind: BindMode,
    /// Shards: binds (or tx+rx pairs) kept up at once.
    pub binds: usize,
    /// Outstanding requests per shard.
    pub window: usize,
    /// Submits per second per shard.
    pub bind_tps: Option<u32>,
    /// Submits per second over the whole connector.
    pub tps: Option<u32>,
    /// enquire_link after this much silence.
    pub enquire_link: Duration,
    /// How long a submit waits for the carrier's answer.
    pub response_timeout: Duration,
    /// Reconnect backoff: first delay and ceiling.
    pub reconnect: (Duration, Duration),
    /// Connect with TLS.
    pub tls: bool,
    /// PEM file of the CAs that sign the carrier's certificate (default: the system's store).
    pub tls_ca: Option<PathBuf>,
    /// The name the carrier's certificate must carry (default: the host of each address).
    pub tls_name: Option<String>,
    /// Messages queued for the connector before customers get ESME_RMSGQFUL.
    pub queue: usize,
    /// How long correlation records are kept waiting for their receipt.
    pub retention: Duration,
    /// Start a simulated carrier in-process at `hosts[0]` (the quickstart's carrier).
    pub simulate: bool,
    /// How its carrier writes the numbers of the MO it delivers.
    pub numbering: Numbering,
}

impl Connector {
    /// Whether `other` keeps the same binds: everything but how MO numbers are read (a
    /// reload that changes only that must not drop the carrier's binds).
    pub fn same_binds(&self, other: &Connector) -> bool {
        *other
            == Connector {
                numbering: other.numbering.clone(),
                ..self.clone()
            }
    }
}

/// How MO finds its account, beyond owned numbers and keywords.
#[derive(Debug, Clone)]
pub struct Mo {
    /// A reply belongs to the account that last texted its sender from its number, within
    /// this long.
    pub conversation_window: Duration,
    /// Where MO goes when nothing else matches (`None`: counted as unroutable).
    pub default_account: Option<String>,
}

// ---- the file as written -------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    node: Option<RawNode>,
    smpp: Option<RawSmpp>,
    metrics: Option<RawMetrics>,
    #[serde(default)]
    accounts: Vec<Spanned<RawAccount>>,
    #[serde(default)]
    connectors: Vec<Spanned<RawConnector>>,
    #[serde(default)]
    routes: Vec<Spanned<RawRoute>>,
    mo: Option<RawMo>,
    #[serde(default)]
    suppression_imports: Vec<Spanned<RawImport>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImport {
    file: String,
    scope: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    id: Option<Spanned<i64>>,
    data_dir: Option<String>,
    workers: Option<Spanned<i64>>,
    commit_delay: Option<Spanned<String>>,
    country_code: Option<Spanned<String>>,
    trunk_prefix: Option<Spanned<String>>,
    international_prefix: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmpp {
    listen: Option<Spanned<String>>,
    max_connections: Option<Spanned<i64>>,
    bind_timeout: Option<Spanned<String>>,
    enquire_link: Option<Spanned<String>>,
    window: Option<Spanned<i64>>,
    response_budget: Option<Spanned<String>>,
    max_in_flight: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    system_id: Spanned<String>,
    password_hash: Spanned<String>,
    #[serde(default)]
    networks: Vec<Spanned<String>>,
    max_binds: Option<Spanned<i64>>,
    tps: Option<Spanned<i64>>,
    #[serde(default)]
    id_format: IdFormat,
    #[serde(default)]
    receipts: ReceiptPolicy,
    #[serde(default)]
    numbers: Vec<Spanned<String>>,
    #[serde(default)]
    keywords: Vec<Spanned<RawKeyword>>,
    consent: Option<RawConsent>,
    pending_max: Option<Spanned<i64>>,
    pending_ttl: Option<Spanned<String>>,
    country_code: Option<Spanned<String>>,
    trunk_prefix: Option<Spanned<String>>,
    international_prefix: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsent {
    enforce: Option<bool>,
    #[serde(default)]
    opt_out: OptOutScope,
    refuse_status: Option<Spanned<i64>>,
    stop_reply: Option<String>,
    start_reply: Option<String>,
    help_reply: Option<String>,
    #[serde(default)]
    stop_words: Vec<String>,
    #[serde(default)]
    start_words: Vec<String>,
    #[serde(default)]
    help_words: Vec<String>,
    marketing: Option<bool>,
    #[serde(default)]
    marketing_service_types: Vec<String>,
    marketing_tlv: Option<Spanned<i64>>,
    quiet_hours: Option<Spanned<String>>,
    quiet_action: Option<QuietAction>,
    timezone: Option<Spanned<String>>,
    max_per_day: Option<Spanned<i64>>,
    max_per_week: Option<Spanned<i64>>,
}

/// A route's consent overrides (`[routes.consent]`); absent keys keep the account's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouteConsent {
    enforce: Option<bool>,
    marketing: Option<bool>,
    quiet_hours: Option<Spanned<String>>,
    quiet_action: Option<QuietAction>,
    max_per_day: Option<Spanned<i64>>,
    max_per_week: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeyword {
    number: String,
    keyword: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnector {
    name: Spanned<String>,
    hosts: Spanned<Vec<String>>,
    system_id: Spanned<String>,
    password: Spanned<String>,
    #[serde(default)]
    system_type: String,
    bind: Option<Spanned<String>>,
    binds: Option<Spanned<i64>>,
    window: Option<Spanned<i64>>,
    bind_tps: Option<Spanned<i64>>,
    tps: Option<Spanned<i64>>,
    enquire_link: Option<Spanned<String>>,
    response_timeout: Option<Spanned<String>>,
    reconnect_initial: Option<Spanned<String>>,
    reconnect_max: Option<Spanned<String>>,
    #[serde(default)]
    tls: bool,
    tls_ca: Option<Spanned<String>>,
    tls_name: Option<String>,
    queue: Option<Spanned<i64>>,
    retention: Option<Spanned<String>>,
    #[serde(default)]
    simulate: bool,
    country_code: Option<Spanned<String>>,
    trunk_prefix: Option<Spanned<String>>,
    international_prefix: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    name: Option<String>,
    #[serde(default)]
    accounts: Vec<Spanned<String>>,
    #[serde(default)]
    prefixes: Vec<Spanned<String>>,
    #[serde(default)]
    sources: Vec<String>,
    #[serde(default)]
    service_types: Vec<String>,
    connector: Option<Spanned<String>>,
    split: Option<Spanned<HashMap<String, i64>>>,
    failover: Option<Spanned<Vec<String>>>,
    consent: Option<RawRouteConsent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMo {
    conversation_window: Option<Spanned<String>>,
    default_account: Option<Spanned<String>>,
}

// ---- checking -------------------------------------------------------------------------

/// Turns byte offsets into lines and builds errors.
struct Checker<'a> {
    text: &'a str,
}

impl Checker<'_> {
    fn line(&self, span: &Range<usize>) -> usize {
        let at = span.start.min(self.text.len());
        self.text.as_bytes()[..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn err(
        &self,
        key: impl Into<String>,
        span: &Range<usize>,
        message: impl Into<String>,
    ) -> Error {
        Error::Config {
            key: key.into(),
            line: self.line(span),
            message: message.into(),
        }
    }

    fn duration(
        &self,
        key: &str,
        v: Option<&Spanned<String>>,
        default: Duration,
    ) -> Result<Duration, Error> {
        match v {
            None => Ok(default),
            Some(s) => parse_duration(s.get_ref()).ok_or_else(|| {
                self.err(
                    key,
                    &s.span(),
                    format!(
                        "{:?} is not a duration (e.g. 250ms, 30s, 5m, 72h, 7d)",
                        s.get_ref()
                    ),
                )
            }),
        }
    }

    /// A duration that must not be zero: a timer of 0 would close every connection, fail
    /// every request, expire every record or reconnect in a loop.
    fn positive(
        &self,
        key: &str,
        v: Option<&Spanned<String>>,
        default: Duration,
    ) -> Result<Duration, Error> {
        let d = self.duration(key, v, default)?;
        match v {
            Some(s) if d.is_zero() => Err(self.err(key, &s.span(), "must be more than 0")),
            _ => Ok(d),
        }
    }

    fn int(
        &self,
        key: &str,
        v: Option<&Spanned<i64>>,
        range: Range<i64>,
        default: i64,
    ) -> Result<i64, Error> {
        match v {
            None => Ok(default),
            Some(s) if range.contains(s.get_ref()) => Ok(*s.get_ref()),
            Some(s) => Err(self.err(
                key,
                &s.span(),
                format!(
                    "{} is out of range ({}..={})",
                    s.get_ref(),
                    range.start,
                    range.end - 1
                ),
            )),
        }
    }

    fn opt_int(
        &self,
        key: &str,
        v: Option<&Spanned<i64>>,
        range: Range<i64>,
    ) -> Result<Option<u32>, Error> {
        v.map(|s| self.int(key, Some(s), range.clone(), 0).map(|n| n as u32))
            .transpose()
    }

    fn addr(
        &self,
        key: &str,
        v: Option<&Spanned<String>>,
        default: &str,
    ) -> Result<SocketAddr, Error> {
        let (text, span) = match v {
            Some(s) => (s.get_ref().as_str(), s.span()),
            None => (default, 0..0),
        };
        text.parse().map_err(|_| {
            self.err(
                key,
                &span,
                format!("{text:?} is not an address:port such as 127.0.0.1:2775"),
            )
        })
    }
}

/// Parses `250ms`, `30s`, `5m`, `72h`, `7d` (a number, fractions allowed, and a unit).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().ok()?;
    let scale = match unit {
        "us" => 0.000_001,
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(v * scale).ok()
}

/// The dotted path of the key a toml error points at, as the checks after parsing write it
/// (`connectors[0].binds`): the tables opened before the span, then the key on the span's
/// line (or, inside a value that spans lines, the nearest key above it). For a missing field
/// (the span is its table) the field is appended.
fn key_at(text: &str, span: Option<Range<usize>>, message: &str) -> String {
    let Some(span) = span else {
        return String::new();
    };
    let at = span.start.min(text.len());
    // The table open at each line, and how many of each array of tables were seen.
    let mut table = String::new();
    let mut arrays: HashMap<String, usize> = HashMap::new();
    let mut key = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        offset += line.len();
        let t = line.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split_once("]]")) {
            let name = name.0.trim().to_owned();
            let n = arrays
                .entry(name.clone())
                .and_modify(|n| *n += 1)
                .or_insert(0);
            table = format!("{name}[{n}]");
            key = None;
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split_once(']')) {
            // A sub-table of the last element of an array of tables (`[routes.consent]`).
            let name = name.0.trim();
            table = match name.split_once('.') {
                Some((head, rest)) => match arrays.get(head) {
                    Some(n) => format!("{head}[{n}].{rest}"),
                    None => name.to_owned(),
                },
                None => name.to_owned(),
            };
            key = None;
        } else if let Some((k, _)) = t.split_once('=') {
            let k = k.trim();
            if !k.is_empty() && !k.starts_with('#') && !k.contains(['"', '[', ']', '{', '}']) {
                key = Some(k.to_owned());
            }
        }
        if at < offset || offset == text.len() {
            // The span's line (a header's `key` is none: the path is the table itself).
            let mut path = table.clone();
            if let Some(k) = &key {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
            }
            if let Some(field) = message
                .strip_prefix("missing field `")
                .and_then(|r| r.split_once('`'))
            {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(field.0);
            }
            return path;
        }
    }
    table
}

impl Config {
    /// Reads and checks `path`. Relative `data_dir` is taken from the file's folder.
    ///
    /// # Errors
    /// [`Error::ConfigRead`] when it cannot be read, [`Error::Config`] naming the first bad key.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
        let mut config = Config::parse(&text)?;
        if let Some(dir) = path.parent() {
            if config.node.data_dir.is_relative() {
                config.node.data_dir = dir.join(&config.node.data_dir);
            }
            for imp in &mut config.suppression_imports {
                if imp.file.is_relative() {
                    imp.file = dir.join(&imp.file);
                }
            }
        }
        Ok(config)
    }

    /// Checks a configuration's text.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first bad key, its line, and what is expected.
    pub fn parse(text: &str) -> Result<Config, Error> {
        let c = Checker { text };
        let raw: RawConfig = toml::from_str(text).map_err(|e| Error::Config {
            key: key_at(text, e.span(), e.message()),
            line: e.span().map_or(0, |s| c.line(&s)),
            message: e.message().to_owned(),
        })?;

        let node = match raw.node {
            None => Node {
                id: 0,
                data_dir: PathBuf::from("data"),
                workers: default_workers(),
                commit_delay: DEFAULT_COMMIT_DELAY,
                numbering: Numbering::default(),
            },
            Some(n) => Node {
                numbering: numbering(
                    &c,
                    "node.",
                    [&n.country_code, &n.trunk_prefix, &n.international_prefix],
                    &Numbering::default(),
                )?,
                id: c.int("node.id", n.id.as_ref(), 0..i64::from(MAX_NODE) + 1, 0)? as u16,
                data_dir: PathBuf::from(n.data_dir.unwrap_or_else(|| "data".into())),
                workers: c.int(
                    "node.workers",
                    n.workers.as_ref(),
                    1..MAX_WORKERS + 1,
                    default_workers() as i64,
                )? as usize,
                commit_delay: match c.duration(
                    "node.commit_delay",
                    n.commit_delay.as_ref(),
                    DEFAULT_COMMIT_DELAY,
                )? {
                    d if d > MAX_COMMIT_DELAY => {
                        let span = n.commit_delay.as_ref().map_or(0..0, Spanned::span);
                        return Err(c.err(
                            "node.commit_delay",
                            &span,
                            format!(
                                "{d:?} is too long: every acknowledgement waits for it \
                                 (at most {MAX_COMMIT_DELAY:?})"
                            ),
                        ));
                    }
                    d => d,
                },
            },
        };

        let s = raw.smpp.unwrap_or(RawSmpp {
            listen: None,
            max_connections: None,
            bind_timeout: None,
            enquire_link: None,
            window: None,
            response_budget: None,
            max_in_flight: None,
        });
        let smpp = Smpp {
            listen: c.addr("smpp.listen", s.listen.as_ref(), "127.0.0.1:2775")?,
            max_connections: c.int(
                "smpp.max_connections",
                s.max_connections.as_ref(),
                1..1_000_001,
                1024,
            )? as usize,
            bind_timeout: c.positive(
                "smpp.bind_timeout",
                s.bind_timeout.as_ref(),
                Duration::from_secs(10),
            )?,
            enquire_link: c.positive(
                "smpp.enquire_link",
                s.enquire_link.as_ref(),
                Duration::from_secs(30),
            )?,
            window: c.int("smpp.window", s.window.as_ref(), 1..10_001, 100)? as usize,
            max_in_flight: c.int(
                "smpp.max_in_flight",
                s.max_in_flight.as_ref(),
                1..100_001,
                1024,
            )? as usize,
            response_budget: c.positive(
                "smpp.response_budget",
                s.response_budget.as_ref(),
                Duration::from_secs(5),
            )?,
        };
        let metrics_listen = c.addr(
            "metrics.listen",
            raw.metrics.as_ref().and_then(|m| m.listen.as_ref()),
            "127.0.0.1:9775",
        )?;

        let mut accounts = Vec::new();
        let mut seen = HashSet::new();
        for (i, a) in raw.accounts.iter().enumerate() {
            let key = |k: &str| format!("accounts[{i}].{k}");
            let a = a.get_ref();
            let id = a.system_id.get_ref();
            if id.is_empty() || id.len() > 15 || !id.is_ascii() {
                return Err(c.err(
                    key("system_id"),
                    &a.system_id.span(),
                    "must be 1 to 15 ASCII characters (SMPP's system_id)",
                ));
            }
            if !seen.insert(id.clone()) {
                return Err(c.err(
                    key("system_id"),
                    &a.system_id.span(),
                    format!("{id:?} is defined twice"),
                ));
            }
            if !crate::accounts::is_password_hash(a.password_hash.get_ref()) {
                return Err(c.err(
                    key("password_hash"),
                    &a.password_hash.span(),
                    "must be an Argon2 PHC string ($argon2id$...); make one with `smpp-router hash-password`",
                ));
            }
            let mut networks = Vec::new();
            for (j, n) in a.networks.iter().enumerate() {
                networks.push(Cidr::parse(n.get_ref()).ok_or_else(|| {
                    c.err(
                        format!("accounts[{i}].networks[{j}]"),
                        &n.span(),
                        format!("{:?} is not a network such as 10.0.0.0/8", n.get_ref()),
                    )
                })?);
            }
            if networks.is_empty() {
                // Nothing said: loopback only, so an example config is never open to the world.
                networks = vec![
                    Cidr {
                        addr: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)),
                        bits: 8,
                    },
                    Cidr {
                        addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
                        bits: 128,
                    },
                ];
            }
            for (j, n) in a.numbers.iter().enumerate() {
                check_digits(&c, &format!("accounts[{i}].numbers[{j}]"), n)?;
            }
            let consent = match &a.consent {
                None => AccountConsent::default(),
                Some(r) => {
                    let d = AccountConsent::default();
                    let upper = |v: &[String]| v.iter().map(|w| w.to_ascii_uppercase()).collect();
                    AccountConsent {
                        enforce: r.enforce.unwrap_or(d.enforce),
                        opt_out: r.opt_out,
                        refuse_status: match &r.refuse_status {
                            None => d.refuse_status,
                            Some(s) => CommandStatus(c.int(
                                &key("consent.refuse_status"),
                                Some(s),
                                1..0x1_0000_0000,
                                0,
                            )? as u32),
                        },
                        keywords: Keywords {
                            stop: upper(&r.stop_words),
                            start: upper(&r.start_words),
                            help: upper(&r.help_words),
                        },
                        replies: Replies {
                            stop: r.stop_reply.clone().unwrap_or(d.replies.stop),
                            start: r.start_reply.clone().unwrap_or(d.replies.start),
                            help: r.help_reply.clone().unwrap_or(d.replies.help),
                        },
                        marketing: r.marketing.unwrap_or(d.marketing),
                        marketing_service_types: r.marketing_service_types.clone(),
                        marketing_tlv: c
                            .opt_int(&key("consent.marketing_tlv"), r.marketing_tlv.as_ref(), 1..0x1_0000)?
                            .map(|t| t as u16),
                        quiet_hours: match &r.quiet_hours {
                            None => d.quiet_hours,
                            Some(q) => quiet_hours(&c, key("consent.quiet_hours"), q)?,
                        },
                        quiet_action: r.quiet_action.unwrap_or(d.quiet_action),
                        timezone: match &r.timezone {
                            None => d.timezone,
                            Some(z) => jiff::tz::TimeZone::get(z.get_ref()).map_err(|_| {
                                c.err(
                                    key("consent.timezone"),
                                    &z.span(),
                                    format!("{:?} is not an IANA time zone such as \"America/New_York\"", z.get_ref()),
                                )
                            })?,
                        },
                        caps: crate::caps::Limits {
                            per_day: c.opt_int(&key("consent.max_per_day"), r.max_per_day.as_ref(), 1..1_000_001)?,
                            per_week: c.opt_int(&key("consent.max_per_week"), r.max_per_week.as_ref(), 1..1_000_001)?,
                        },
                    }
                }
            };
            accounts.push(Account {
                system_id: id.clone(),
                consent,
                password_hash: a.password_hash.get_ref().clone(),
                networks,
                max_binds: c.int(&key("max_binds"), a.max_binds.as_ref(), 1..1001, 4)? as usize,
                tps: c.opt_int(&key("tps"), a.tps.as_ref(), 1..1_000_001)?,
                id_format: a.id_format,
                receipts: a.receipts,
                pending_max: c.int(
                    &key("pending_max"),
                    a.pending_max.as_ref(),
                    1..1_000_000_001,
                    1_000_000,
                )? as u64,
                pending_ttl: match c.positive(
                    &key("pending_ttl"),
                    a.pending_ttl.as_ref(),
                    Duration::from_secs(72 * 3600),
                )? {
                    d if d.is_zero() => {
                        let span = a
                            .pending_ttl
                            .as_ref()
                            .map(Spanned::span)
                            .unwrap_or_default();
                        return Err(c.err(key("pending_ttl"), &span, "must be more than zero"));
                    }
                    d => d,
                },
                numbers: a.numbers.iter().map(|n| n.get_ref().clone()).collect(),
                keywords: a
                    .keywords
                    .iter()
                    .map(|k| Keyword {
                        number: k.get_ref().number.clone(),
                        keyword: k.get_ref().keyword.to_ascii_uppercase(),
                    })
                    .collect(),
                numbering: numbering(
                    &c,
                    &key(""),
                    [&a.country_code, &a.trunk_prefix, &a.international_prefix],
                    &node.numbering,
                )?,
            });
        }

        let mut connectors = Vec::new();
        let mut names: HashMap<String, ConnectorId> = HashMap::new();
        for (i, raw_c) in raw.connectors.iter().enumerate() {
            let key = |k: &str| format!("connectors[{i}].{k}");
            let r = raw_c.get_ref();
            let name = r.name.get_ref();
            if name.is_empty() {
                return Err(c.err(key("name"), &r.name.span(), "must not be empty"));
            }
            let id = ConnectorId(
                u16::try_from(i)
                    .map_err(|_| c.err(key("name"), &r.name.span(), "too many connectors"))?,
            );
            if names.insert(name.clone(), id).is_some() {
                return Err(c.err(
                    key("name"),
                    &r.name.span(),
                    format!("{name:?} is defined twice"),
                ));
            }
            if r.hosts.get_ref().is_empty() {
                return Err(c.err(
                    key("hosts"),
                    &r.hosts.span(),
                    "needs at least one host:port",
                ));
            }
            for h in r.hosts.get_ref() {
                if h.rsplit_once(':')
                    .and_then(|(_, p)| p.parse::<u16>().ok())
                    .is_none()
                {
                    return Err(c.err(
                        key("hosts"),
                        &r.hosts.span(),
                        format!("{h:?} is not host:port"),
                    ));
                }
            }
            if r.simulate && r.hosts.get_ref()[0].parse::<SocketAddr>().is_err() {
                return Err(c.err(
                    key("hosts"),
                    &r.hosts.span(),
                    format!(
                        "{:?}: with simulate = true the first host is where the simulated \
                         carrier listens, an IP:port",
                        r.hosts.get_ref()[0]
                    ),
                ));
            }
            let bind = match r.bind.as_ref().map(|b| b.get_ref().as_str()) {
                None | Some("trx") => BindMode::Transceiver,
                Some("tx+rx") => BindMode::TransmitterReceiver,
                Some(other) => {
                    return Err(c.err(
                        key("bind"),
                        &r.bind.as_ref().map_or(0..0, Spanned::span),
                        format!("{other:?} is not a bind mode: \"trx\" or \"tx+rx\""),
                    ))
                }
            };
            if r.system_id.get_ref().is_empty() || r.system_id.get_ref().len() > 15 {
                return Err(c.err(
                    key("system_id"),
                    &r.system_id.span(),
                    "must be 1 to 15 characters",
                ));
            }
            if r.password.get_ref().len() > 8 {
                return Err(c.err(
                    key("password"),
                    &r.password.span(),
                    "SMPP passwords have at most 8 characters",
                ));
            }
            let initial = c.positive(
                &key("reconnect_initial"),
                r.reconnect_initial.as_ref(),
                Duration::from_millis(200),
            )?;
            let max = c.duration(
                &key("reconnect_max"),
                r.reconnect_max.as_ref(),
                Duration::from_secs(30),
            )?;
            if max < initial {
                return Err(c.err(
                    key("reconnect_max"),
                    &r.reconnect_max.as_ref().map_or(0..0, Spanned::span),
                    "must not be shorter than reconnect_initial",
                ));
            }
            if r.tls {
                let ca = r.tls_ca.as_ref().map(|p| PathBuf::from(p.get_ref()));
                for h in r.hosts.get_ref() {
                    if let Err(e) = crate::tls::connector(ca.as_deref(), r.tls_name.as_deref(), h) {
                        let (k, span) = match &r.tls_ca {
                            Some(p) => (key("tls_ca"), p.span()),
                            None => (key("tls"), raw_c.span()),
                        };
                        return Err(c.err(k, &span, e));
                    }
                }
            } else if let Some(p) = &r.tls_ca {
                return Err(c.err(key("tls_ca"), &p.span(), "set tls = true to use it"));
            }
            connectors.push(Connector {
                name: name.clone(),
                hosts: r.hosts.get_ref().clone(),
                system_id: r.system_id.get_ref().clone(),
                password: r.password.get_ref().clone(),
                system_type: r.system_type.clone(),
                bind,
                binds: c.int(&key("binds"), r.binds.as_ref(), 1..257, 1)? as usize,
                window: c.int(&key("window"), r.window.as_ref(), 1..10_001, 100)? as usize,
                bind_tps: c.opt_int(&key("bind_tps"), r.bind_tps.as_ref(), 1..1_000_001)?,
                tps: c.opt_int(&key("tps"), r.tps.as_ref(), 1..10_000_001)?,
                enquire_link: c.positive(
                    &key("enquire_link"),
                    r.enquire_link.as_ref(),
                    Duration::from_secs(30),
                )?,
                response_timeout: c.positive(
                    &key("response_timeout"),
                    r.response_timeout.as_ref(),
                    Duration::from_secs(10),
                )?,
                reconnect: (initial, max),
                tls: r.tls,
                tls_ca: r.tls_ca.as_ref().map(|p| PathBuf::from(p.get_ref())),
                tls_name: r.tls_name.clone(),
                queue: c.int(&key("queue"), r.queue.as_ref(), 1..10_000_001, 10_000)? as usize,
                retention: c.positive(
                    &key("retention"),
                    r.retention.as_ref(),
                    Duration::from_secs(72 * 3600),
                )?,
                simulate: r.simulate,
                numbering: numbering(
                    &c,
                    &key(""),
                    [&r.country_code, &r.trunk_prefix, &r.international_prefix],
                    &node.numbering,
                )?,
            });
        }

        let account_ids: HashSet<&str> = accounts.iter().map(|a| a.system_id.as_str()).collect();
        let connector =
            |key: String, name: &str, span: &Range<usize>| -> Result<ConnectorId, Error> {
                names
                    .get(name)
                    .copied()
                    .ok_or_else(|| c.err(key, span, format!("no connector is named {name:?}")))
            };
        let mut routes = Vec::new();
        for (i, raw_r) in raw.routes.iter().enumerate() {
            let key = |k: &str| format!("routes[{i}].{k}");
            let r = raw_r.get_ref();
            for (j, a) in r.accounts.iter().enumerate() {
                if !account_ids.contains(a.get_ref().as_str()) {
                    return Err(c.err(
                        format!("routes[{i}].accounts[{j}]"),
                        &a.span(),
                        format!("no account has system_id {:?}", a.get_ref()),
                    ));
                }
            }
            for (j, p) in r.prefixes.iter().enumerate() {
                check_digits(&c, &format!("routes[{i}].prefixes[{j}]"), p)?;
            }
            let target = match (&r.connector, &r.split, &r.failover) {
                (Some(name), None, None) => {
                    Target::One(connector(key("connector"), name.get_ref(), &name.span())?)
                }
                (None, Some(split), None) => {
                    let mut entries: Vec<_> = split.get_ref().iter().collect();
                    entries.sort();
                    if entries.is_empty() {
                        return Err(c.err(
                            key("split"),
                            &split.span(),
                            "needs at least one connector = weight",
                        ));
                    }
                    let mut out = Vec::new();
                    for (name, &w) in entries {
                        if !(1..=1_000_000).contains(&w) {
                            return Err(c.err(
                                format!("routes[{i}].split.{name}"),
                                &split.span(),
                                "weight must be 1..=1000000",
                            ));
                        }
                        out.push((
                            connector(format!("routes[{i}].split.{name}"), name, &split.span())?,
                            w as u32,
                        ));
                    }
                    Target::Split(out)
                }
                (None, None, Some(list)) => {
                    if list.get_ref().is_empty() {
                        return Err(c.err(
                            key("failover"),
                            &list.span(),
                            "needs at least one connector",
                        ));
                    }
                    Target::Failover(
                        list.get_ref()
                            .iter()
                            .map(|n| connector(key("failover"), n, &list.span()))
                            .collect::<Result<_, _>>()?,
                    )
                }
                _ => {
                    return Err(c.err(
                        format!("routes[{i}]"),
                        &raw_r.span(),
                        "needs exactly one of connector, split or failover",
                    ))
                }
            };
            let consent = match &r.consent {
                None => RouteConsent::default(),
                Some(rc) => RouteConsent {
                    enforce: rc.enforce,
                    marketing: rc.marketing,
                    quiet_hours: rc
                        .quiet_hours
                        .as_ref()
                        .map(|q| quiet_hours(&c, key("consent.quiet_hours"), q))
                        .transpose()?,
                    quiet_action: rc.quiet_action,
                    max_per_day: cap_override(
                        &c,
                        key("consent.max_per_day"),
                        rc.max_per_day.as_ref(),
                    )?,
                    max_per_week: cap_override(
                        &c,
                        key("consent.max_per_week"),
                        rc.max_per_week.as_ref(),
                    )?,
                },
            };
            routes.push(Rule {
                consent,
                name: r.name.clone().unwrap_or_else(|| format!("route{i}")),
                accounts: r.accounts.iter().map(|a| a.get_ref().clone()).collect(),
                prefixes: r.prefixes.iter().map(|p| p.get_ref().clone()).collect(),
                sources: r.sources.clone(),
                service_types: r.service_types.clone(),
                target,
            });
        }

        let mo = match raw.mo {
            None => Mo {
                conversation_window: Duration::from_secs(24 * 3600),
                default_account: None,
            },
            Some(m) => {
                if let Some(a) = &m.default_account {
                    if !account_ids.contains(a.get_ref().as_str()) {
                        return Err(c.err(
                            "mo.default_account",
                            &a.span(),
                            format!("no account has system_id {:?}", a.get_ref()),
                        ));
                    }
                }
                Mo {
                    conversation_window: c.duration(
                        "mo.conversation_window",
                        m.conversation_window.as_ref(),
                        Duration::from_secs(24 * 3600),
                    )?,
                    default_account: m.default_account.map(Spanned::into_inner),
                }
            }
        };

        let mut suppression_imports = Vec::new();
        for (i, imp) in raw.suppression_imports.iter().enumerate() {
            let imp = imp.get_ref();
            let scope = crate::consent::parse_scope_name(imp.scope.get_ref()).map_err(|e| {
                c.err(
                    format!("suppression_imports[{i}].scope"),
                    &imp.scope.span(),
                    e,
                )
            })?;
            if let crate::policy::Scope::Account(_) = scope {
                let id = imp.scope.get_ref().trim_start_matches("account:");
                if !account_ids.contains(id) {
                    return Err(c.err(
                        format!("suppression_imports[{i}].scope"),
                        &imp.scope.span(),
                        format!("no account has system_id {id:?}"),
                    ));
                }
            }
            suppression_imports.push(SuppressionImport {
                file: PathBuf::from(&imp.file),
                scope,
            });
        }

        Ok(Config {
            suppression_imports,
            node,
            smpp,
            metrics_listen,
            accounts,
            connectors,
            routes,
            mo,
        })
    }
}

/// A quiet-hours value: `"HH:MM-HH:MM"`, or `"off"` for none.
fn quiet_hours(
    c: &Checker<'_>,
    key: String,
    q: &Spanned<String>,
) -> Result<Option<crate::local_time::Window>, Error> {
    if q.get_ref() == "off" {
        return Ok(None);
    }
    parse_window(q.get_ref()).map(Some).ok_or_else(|| {
        c.err(
            key,
            &q.span(),
            format!(
                "{:?} is not a window such as \"08:00-21:00\" (or \"off\")",
                q.get_ref()
            ),
        )
    })
}

/// A route's cap: absent keeps the account's, 0 lifts it, 1..=1000000 sets it.
fn cap_override(
    c: &Checker<'_>,
    key: String,
    v: Option<&Spanned<i64>>,
) -> Result<Option<Option<u32>>, Error> {
    v.map(|n| {
        c.int(&key, Some(n), 0..1_000_001, 0)
            .map(|n| (n > 0).then_some(n as u32))
    })
    .transpose()
}

/// Reads `HH:MM-HH:MM`.
fn parse_window(s: &str) -> Option<crate::local_time::Window> {
    let (a, b) = s.split_once('-')?;
    let time = |t: &str| {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
        jiff::civil::Time::new(h, m, 0, 0).ok()
    };
    Some(crate::local_time::Window {
        start: time(a)?,
        end: time(b)?,
    })
}

/// `country_code`, `trunk_prefix` and `international_prefix` under `at` (`"node."`,
/// `"accounts[2]."`); what is not given is `inherited` (a country code given brings its own
/// country's prefixes).
fn numbering(
    c: &Checker<'_>,
    at: &str,
    [cc, trunk, intl]: [&Option<Spanned<String>>; 3],
    inherited: &Numbering,
) -> Result<Numbering, Error> {
    fn digits<'v>(
        c: &Checker<'_>,
        key: String,
        v: &'v Option<Spanned<String>>,
        len: Range<usize>,
        what: &str,
    ) -> Result<Option<&'v str>, Error> {
        let Some(v) = v else { return Ok(None) };
        let s = v.get_ref();
        if !len.contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(c.err(key, &v.span(), format!("{s:?} is not {what}")));
        }
        Ok(Some(s.as_str()))
    }
    let country = digits(
        c,
        format!("{at}country_code"),
        cc,
        1..4,
        "a country calling code (1 to 3 digits, such as \"44\")",
    )?;
    if let (Some(code), Some(v)) = (country, cc) {
        if code.starts_with('0') {
            return Err(c.err(
                format!("{at}country_code"),
                &v.span(),
                "a country calling code does not start with 0",
            ));
        }
    }
    let trunk = digits(
        c,
        format!("{at}trunk_prefix"),
        trunk,
        0..4,
        "a trunk prefix (up to 3 digits, such as \"0\"; \"\" for none)",
    )?;
    let international = digits(
        c,
        format!("{at}international_prefix"),
        intl,
        1..5,
        "an international prefix (1 to 4 digits, such as \"00\")",
    )?;
    Ok(match country {
        Some(code) => Numbering::new(code, trunk, international),
        None => inherited.clone().with_prefixes(trunk, international),
    })
}

/// A phone number or prefix: digits, an optional leading `+`, at most 20.
fn check_digits(c: &Checker<'_>, key: &str, v: &Spanned<String>) -> Result<(), Error> {
    let s = v.get_ref();
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(c.err(
            key,
            &v.span(),
            format!("{s:?} is not a number or prefix (digits, optional leading +)"),
        ));
    }
    Ok(())
}
