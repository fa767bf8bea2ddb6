//! `e2e-relay LISTEN UPSTREAM SECONDS`: the benchmark's do-nothing proxy
//! ([`smpp_testkit::Relay`]) as a process, on one thread as the benchmark runs the router.
//! Prints `e2e-relay listening on ADDR` on stderr once it accepts, then runs until it is killed
//! or SECONDS have passed (so it ends by itself even if the script that started it is killed).

use std::net::SocketAddr;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, upstream, seconds] = &args[..] else {
        eprintln!("usage: e2e-relay LISTEN UPSTREAM SECONDS (addresses as IP:port)");
        return ExitCode::from(2);
    };
    let (Ok(listen), Ok(upstream), Ok(seconds)) = (
        listen.parse::<SocketAddr>(),
        upstream.parse::<SocketAddr>(),
        seconds.parse::<u64>(),
    ) else {
        eprintln!("e2e-relay: not IP:port IP:port SECONDS: {args:?}");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("e2e-relay: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match smpp_testkit::Relay::start(listen, upstream).await {
            Ok(relay) => {
                eprintln!("e2e-relay listening on {}", relay.addr());
                tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("e2e-relay: cannot listen on {listen}: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
