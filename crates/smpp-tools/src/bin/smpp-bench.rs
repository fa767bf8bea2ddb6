//! `smpp-bench`: a load-generating ESME. Parses the command line, runs
//! [`smpp_tools::bench::run_until`] (until done or ctrl-c), prints the report; exits non-zero when receipts were asked for
//! and some acked message's receipt never came.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use smpp_tools::bench::{run_until, BenchConfig, DestRange, MessageKind, TlsOptions};
use smpp_tools::parse_duration;

// mimalloc, as smpp-router uses: with glibc's malloc, allocation was a tenth of this tool's
// instructions per message, CPU that the benchmark's three processes share
// (benches/e2e/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Load generator: S transceiver sessions with W requests outstanding each, N messages or D
/// seconds, paced or flat out; latency percentiles and receipt matching at the end.
#[derive(Debug, Parser)]
#[command(name = "smpp-bench", version)]
struct Args {
    /// SMSC or router, host:port.
    #[arg(long, default_value = "127.0.0.1:2775")]
    connect: String,
    /// Bind credentials.
    #[arg(long, default_value = "bench")]
    system_id: String,
    /// Bind credentials.
    #[arg(long, default_value = "")]
    password: String,
    /// Transceiver sessions.
    #[arg(long, default_value_t = 1)]
    sessions: usize,
    /// Requests outstanding per session.
    #[arg(long, default_value_t = 10)]
    window: usize,
    /// Messages to send (default 1000 when no --duration).
    #[arg(long, conflicts_with = "duration")]
    count: Option<u64>,
    /// Send for this long (10, 10s, 500ms, 2m).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Submits per second over all sessions, evenly spaced (default: flat out).
    #[arg(long)]
    rate: Option<f64>,
    /// Destination numbers, drawn uniformly.
    #[arg(long, value_name = "LO-HI", default_value = "1555000000-1555999999")]
    dest: DestRange,
    /// Sender address.
    #[arg(long, default_value = "BENCH")]
    source: String,
    /// Message text.
    #[arg(long, conflicts_with_all = ["long", "ucs2"])]
    text: Option<String>,
    /// Send a long message (three concatenated parts with a UDH).
    #[arg(long, conflicts_with = "ucs2")]
    long: bool,
    /// Send a UCS-2 text.
    #[arg(long)]
    ucs2: bool,
    /// Ask for delivery receipts and match them to the acks.
    #[arg(long)]
    registered_delivery: bool,
    /// After the last ack, wait this many seconds for missing receipts.
    #[arg(long, value_name = "SECS", value_parser = parse_duration, default_value = "10")]
    receipt_wait: Duration,
    /// A submit unanswered this long counts as a timeout.
    #[arg(long, value_parser = parse_duration, default_value = "10")]
    response_timeout: Duration,
    /// Pause after ESME_RTHROTTLED before resending.
    #[arg(long, value_parser = parse_duration, default_value = "200ms")]
    throttle_pause: Duration,
    /// Give up when a session is not bound within this long.
    #[arg(long, value_parser = parse_duration, default_value = "10")]
    bind_timeout: Duration,
    /// Connect with TLS.
    #[arg(long)]
    tls: bool,
    /// With --tls: PEM file of the CA to verify the server with (default: accept any
    /// certificate).
    #[arg(long, requires = "tls")]
    tls_ca: Option<PathBuf>,
    /// With --tls: the server name to verify (default: the host of --connect).
    #[arg(long, requires = "tls")]
    tls_name: Option<String>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Runtime threads: 1 runs everything on one thread (default: one per CPU).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
}

impl Args {
    fn config(self) -> BenchConfig {
        let mut c = BenchConfig::new(&self.connect, &self.system_id, &self.password);
        c.sessions = self.sessions.max(1);
        c.window = self.window.max(1);
        c.count = self.count;
        c.duration = self.duration;
        c.rate = self.rate.filter(|r| *r > 0.0);
        c.dest = self.dest;
        c.source = self.source;
        c.message = if self.long {
            MessageKind::Long
        } else if self.ucs2 {
            MessageKind::Ucs2
        } else {
            MessageKind::Text(self.text.unwrap_or_else(|| "hello from smpp-bench".into()))
        };
        c.registered_delivery = self.registered_delivery;
        c.receipt_wait = self.receipt_wait;
        c.response_timeout = self.response_timeout;
        c.throttle_pause = self.throttle_pause;
        c.bind_timeout = self.bind_timeout;
        c.tls = self.tls.then_some(TlsOptions {
            ca_file: self.tls_ca,
            server_name: self.tls_name,
        });
        c.progress = !self.json && std::io::stderr().is_terminal();
        c
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let (json, workers) = (args.json, args.workers);
    let config = args.config();
    let receipts = config.registered_delivery;
    let runtime = match smpp_tools::runtime(workers.map(usize::from)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("smpp-bench: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    // ctrl-c stops starting messages and reports what was done.
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let report = match runtime.block_on(run_until(config, interrupt)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("smpp-bench: {e}");
            return ExitCode::from(2);
        }
    };
    if json {
        match serde_json::to_string(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("smpp-bench: {e}"),
        }
    } else {
        print!("{report}");
    }
    let missing = report.receipts.as_ref().map_or(0, |r| r.missing);
    if receipts && missing > 0 {
        eprintln!("smpp-bench: {missing} acked messages have no receipt");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
