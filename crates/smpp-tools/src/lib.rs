//! Tools around the SMPP router: [`sim`], a simulated carrier SMSC, and [`bench`], a
//! load-generating ESME. Both binaries (`smpp-sim`, `smpp-bench`) are thin shells over these
//! modules, so tests — and the router's own tests and quickstart — run them in-process.

pub mod bench;
pub mod sim;

use std::time::Duration;

/// Parses a duration as the tools' command lines write it: `10` or `10s` (seconds, fractions
/// allowed), `250ms`, `2m`.
///
/// # Errors
/// A message naming the value when it is not such a duration.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (10, 10s, 250ms, 2m)"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{s:?} is not a duration (10, 10s, 250ms, 2m)"));
    }
    Duration::try_from_secs_f64(v * scale).map_err(|e| format!("{s:?}: {e}"))
}

/// The runtime for a tool's `--workers`: `None` (or 0), tokio's default (one worker per CPU,
/// or `TOKIO_WORKER_THREADS`); 1, tokio's single-threaded scheduler on the calling thread;
/// more, that many worker threads. Blocking work (bind checks) has tokio's blocking pool
/// either way.
///
/// On a machine the tool shares with what it measures, fewer threads leave more of it to the
/// system under test: the scheduler shares CPU time out by thread, so each of a tool's threads
/// competes with the router's one on equal terms (benches/e2e/README.md).
///
/// # Errors
/// When the runtime cannot start (no threads, no epoll).
pub fn runtime(workers: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match workers {
        Some(0) | None => tokio::runtime::Builder::new_multi_thread(),
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
    };
    builder.enable_all().build()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn runtimes_by_workers() {
        use tokio::runtime::RuntimeFlavor;
        let flavor = |w| runtime(w).unwrap().handle().runtime_flavor();
        assert_eq!(flavor(Some(1)), RuntimeFlavor::CurrentThread);
        assert_eq!(flavor(Some(3)), RuntimeFlavor::MultiThread);
        assert_eq!(flavor(None), RuntimeFlavor::MultiThread);
        assert_eq!(flavor(Some(0)), RuntimeFlavor::MultiThread);
        let threads = runtime(Some(3)).unwrap().metrics().num_workers();
        assert_eq!(threads, 3);
    }
}
