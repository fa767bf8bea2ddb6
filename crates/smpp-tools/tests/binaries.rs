//! The two binaries end to end: `smpp-sim` started as a process on a free port of 127.0.0.1,
//! `smpp-bench --json` run against it; the JSON is parsed and the exit status checked — 0
//! when every receipt came, non-zero when receipts were asked for and the simulator sends none.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

/// A running `smpp-sim`, killed on drop.
struct SimProcess {
    child: Child,
    addr: String,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `smpp-sim` on port 0 and reads the address it prints.
fn start_sim(extra: &[&str]) -> SimProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_smpp-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--json",
            "--dlr-delay-ms",
            "1-20",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("smpp-sim listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    SimProcess { child, addr }
}

fn bench(addr: &str, extra: &[&str]) -> (Output, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_smpp-bench"))
        .args(["--connect", addr, "--system-id", "acme", "--password", "pw"])
        .args(["--json", "--sessions", "2", "--window", "8"])
        .args(extra)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {:?} stderr {:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, json)
}

#[test]
fn bench_against_sim_matches_every_receipt_and_exits_zero() {
    let mut sim = start_sim(&["--account", "acme:pw", "--id-format", "decimal"]);
    let (out, report) = bench(
        &sim.addr,
        &[
            "--count",
            "200",
            "--registered-delivery",
            "--receipt-wait",
            "10",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(report["messages"], 200);
    assert_eq!(report["sent"], 200);
    assert_eq!(report["ok"], 200);
    assert_eq!(report["acked"]["ESME_ROK"], 200);
    assert_eq!(report["receipts"]["matched"], 200);
    assert_eq!(report["receipts"]["missing"], 0);
    assert_eq!(report["submit_latency_ms"]["count"], 200);
    assert!(report["submit_latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    // Its own CPU time, for the end-to-end benchmark's per-message figures.
    assert!(report["cpu_secs"].as_f64().unwrap() > 0.0);

    // ctrl-c: the simulator prints its counts as JSON and exits 0.
    let status = Command::new("kill")
        .args(["-INT", &sim.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = sim.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let mut stdout = String::new();
    sim.child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let counts: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(counts["submits"], 200);
    assert_eq!(counts["accepted"], 200);
    assert_eq!(counts["binds"], 2);
    assert!(counts["cpu_secs"].as_f64().unwrap() > 0.0);
}

#[test]
fn missing_receipts_make_the_bench_exit_non_zero() {
    let sim = start_sim(&["--no-receipts"]);
    let (out, report) = bench(
        &sim.addr,
        &[
            "--count",
            "20",
            "--registered-delivery",
            "--receipt-wait",
            "200ms",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(report["ok"], 20);
    assert_eq!(report["receipts"]["missing"], 20);
    assert_eq!(report["receipts"]["matched"], 0);

    // Without --registered-delivery nothing is awaited: exit 0.
    let (out, report) = bench(&sim.addr, &["--count", "20", "--long"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(report["sent"], 60);
    assert!(report["receipts"].is_null());
}

#[test]
fn a_bench_that_cannot_bind_says_so() {
    let sim = start_sim(&["--account", "other:secret"]);
    let out = Command::new(env!("CARGO_BIN_EXE_smpp-bench"))
        .args([
            "--connect",
            &sim.addr,
            "--system-id",
            "acme",
            "--count",
            "1",
        ])
        .args(["--bind-timeout", "300ms"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not bind"));
}
