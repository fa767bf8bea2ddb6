//! `smpp-sim`: a simulated carrier SMSC. Parses the command line, starts
//! [`smpp_tools::sim::Sim`], waits for ctrl-c or `--duration`, prints the counts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use smpp_tools::parse_duration;
use smpp_tools::sim::{tls_acceptor, Account, DlrMix, IdFormat, MsRange, Sim, SimConfig, Status};

// mimalloc, as smpp-router uses: with glibc's malloc, allocation was a fifth of this tool's
// instructions per message, CPU that the benchmark's three processes share
// (benches/e2e/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A simulated carrier SMSC: binds, carrier-like message ids, delivery receipts with a delay
/// and an outcome mix, MO messages, and fault modes.
#[derive(Debug, Parser)]
#[command(name = "smpp-sim", version)]
struct Args {
    /// Address to listen on (port 0 picks a free one; the address is printed on stderr).
    #[arg(long, default_value = "127.0.0.1:2776")]
    listen: SocketAddr,
    /// Accept only this account, `system_id:password` (repeat for more; none accepts any).
    #[arg(long = "account", value_name = "ID:PASSWORD")]
    accounts: Vec<Account>,
    /// Message id form: hex or decimal.
    #[arg(long, default_value = "hex")]
    id_format: IdFormat,
    /// Delay before a receipt, uniform in MIN-MAX milliseconds.
    #[arg(long, value_name = "MIN-MAX", default_value = "10-100")]
    dlr_delay_ms: MsRange,
    /// Receipt outcomes and weights.
    #[arg(
        long,
        value_name = "STATE=W,…",
        default_value = "DELIVRD=95,UNDELIV=3,EXPIRED=1,REJECTD=1"
    )]
    dlr_mix: DlrMix,
    /// Never send receipts, even when asked for.
    #[arg(long)]
    no_receipts: bool,
    /// Share of submits to refuse (0.0–1.0).
    #[arg(long, default_value_t = 0.0)]
    reject_share: f64,
    /// Status of refused submits (hex or decimal).
    #[arg(long, default_value = "0x45")]
    reject_status: Status,
    /// Answer ESME_RTHROTTLED above this many submits per second.
    #[arg(long, value_name = "N")]
    throttle_tps: Option<u32>,
    /// Share of receipts sent before the submit_sm_resp (0.0–1.0).
    #[arg(long, default_value_t = 0.0)]
    early_dlr_share: f64,
    /// Share of receipts followed by a receipt for an id never given out (0.0–1.0).
    #[arg(long, default_value_t = 0.0)]
    stray_dlr_share: f64,
    /// Unbind a connection after this many submits on it.
    #[arg(long, value_name = "N")]
    drop_after: Option<u64>,
    /// Never answer submits.
    #[arg(long)]
    silent: bool,
    /// Wait this many milliseconds before answering each submit.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    resp_delay_ms: u64,
    /// MO messages per second, each a reply in one of the last 10,000 distinct conversations the
    /// ESMEs started (phone and sender number), all equally likely.
    #[arg(long, value_name = "R", default_value_t = 0.0)]
    mo_rate: f64,
    /// Texts of MO messages.
    #[arg(long, value_delimiter = ',', default_value = "STOP,HELP,hello")]
    mo_text: Vec<String>,
    /// deliver_sm outstanding per connection.
    #[arg(long, default_value_t = 100)]
    window: usize,
    /// Serve TLS with this PEM certificate chain (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Stop after this long (10, 10s, 500ms, 2m) instead of waiting for ctrl-c.
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Print the counts as one JSON object.
    #[arg(long)]
    json: bool,
    /// Runtime threads: 1 runs everything on one thread (default: one per CPU).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
}

impl Args {
    fn config(self) -> Result<SimConfig, String> {
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(tls_acceptor(cert, key)?),
            _ => None,
        };
        Ok(SimConfig {
            tls,
            listen: self.listen,
            accounts: self.accounts,
            id_format: self.id_format,
            receipts: !self.no_receipts,
            dlr_delay: self.dlr_delay_ms,
            dlr_mix: self.dlr_mix,
            reject_share: self.reject_share.clamp(0.0, 1.0),
            reject_status: self.reject_status.0,
            throttle_tps: self.throttle_tps,
            early_dlr_share: self.early_dlr_share.clamp(0.0, 1.0),
            stray_dlr_share: self.stray_dlr_share.clamp(0.0, 1.0),
            drop_after: self.drop_after.filter(|n| *n > 0),
            silent: self.silent,
            resp_delay: Duration::from_millis(self.resp_delay_ms),
            mo_rate: self.mo_rate.max(0.0),
            mo_texts: self.mo_text,
            window: self.window.max(1),
            ..SimConfig::default()
        })
    }
}

/// What `--json` prints at exit: the counts, and the CPU time the simulator used.
#[derive(serde::Serialize)]
struct SimReport<'a> {
    #[serde(flatten)]
    counts: &'a smpp_tools::sim::SimCounts,
    cpu_secs: Option<f64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let (json, duration, workers) = (args.json, args.duration, args.workers);
    let config = match args.config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("smpp-sim: TLS: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match smpp_tools::runtime(workers.map(usize::from)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("smpp-sim: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async move {
        let sim = match Sim::start(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("smpp-sim: cannot listen: {e}");
                return ExitCode::from(2);
            }
        };
        eprintln!("smpp-sim listening on {}", sim.local_addr());
        match duration {
            Some(d) => tokio::select! {
                () = tokio::time::sleep(d) => {}
                _ = tokio::signal::ctrl_c() => {}
            },
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        let counts = sim.shutdown().await;
        if json {
            let report = SimReport {
                counts: &counts,
                cpu_secs: smpp_tools::cpu_secs(),
            };
            match serde_json::to_string(&report) {
                Ok(s) => println!("{s}"),
                Err(e) => eprintln!("smpp-sim: {e}"),
            }
        } else {
            print!("{counts}");
        }
        ExitCode::SUCCESS
    })
}
