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

/// CPU time (user and system, all threads) this process has used so far, in seconds, for
/// the tools' reports: the end-to-end benchmark divides it by the messages to compare what
/// each process costs per message (benches/e2e/README.md). `None` where the platform has no
/// process CPU clock.
pub fn cpu_secs() -> Option<f64> {
    cpu_time::ProcessTime::try_now()
        .ok()
        .map(|t| t.as_duration().as_secs_f64())
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
    fn cpu_time_counts_work_and_not_sleep() {
        let start = cpu_secs().unwrap();
        // Asleep, this thread uses no CPU: less than the 200 ms a wall clock would count (the
        // other tests of this binary run meanwhile, briefly).
        std::thread::sleep(Duration::from_millis(200));
        let slept = cpu_secs().unwrap() - start;
        assert!(slept < 0.15, "{slept} s of CPU while asleep");
        // Busy, it grows: spin until it has counted 50 ms (on a loaded machine that takes
        // longer in wall time; 10 s at most).
        let give_up = std::time::Instant::now() + Duration::from_secs(10);
        let before = cpu_secs().unwrap();
        let mut x = 1u64;
        let worked = loop {
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
            let worked = cpu_secs().unwrap() - before;
            if worked >= 0.05 || std::time::Instant::now() > give_up {
                break worked;
            }
        };
        assert!(worked >= 0.05, "{worked} s of CPU in 10 s of work");
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
