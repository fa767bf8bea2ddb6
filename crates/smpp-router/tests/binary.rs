//! The `smpp-router` binary as a process, as an operator runs it: it starts on a config with
//! a simulated carrier, SIGHUP reloads a changed route, SIGTERM stops it with exit status 0.
//! (The other tests drive `Daemon` in-process; these signals reach only the real binary.)
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;
use support::DEMO_HASH;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

/// `GET path` on the admin listener: (status, body), or `None` while nothing answers.
fn get(admin: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&admin, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// Polls `what` every 50 ms until it holds, for `limit` at most.
fn wait_for(limit: Duration, mut what: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if what() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Kills the process if the test fails before it stopped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_reloads_on_sighup_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (smpp, admin, carrier) = (free_addr(), free_addr(), free_addr());
    let config = |route: &str| {
        format!(
            "[node]\ndata_dir = \"{data}\"\n[smpp]\nlisten = \"{smpp}\"\n[metrics]\nlisten = \"{admin}\"\n\
             [[accounts]]\nsystem_id = \"demo\"\npassword_hash = \"{DEMO_HASH}\"\n\
             [[connectors]]\nname = \"sim\"\nhosts = [\"{carrier}\"]\nsystem_id = \"router\"\n\
             password = \"pw\"\nsimulate = true\n\
             [[routes]]\nname = \"{route}\"\nconnector = \"sim\"\n",
            data = dir.path().join("data").display(),
        )
    };
    let path = dir.path().join("router.toml");
    std::fs::write(&path, config("first")).unwrap();
    // Its log goes to stdout.
    let log = std::fs::File::create(dir.path().join("router.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_smpp-router"))
        .arg("--config")
        .arg(&path)
        .stdout(log)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut router = Running(child);
    let logs = || std::fs::read_to_string(dir.path().join("router.log")).unwrap_or_default();
    assert!(
        wait_for(Duration::from_secs(20), || get(admin, "/readyz")
            .is_some_and(|(status, _)| status == 200)),
        "never ready:\n{}",
        logs()
    );
    let resolve = "/v1/routes/resolve?account=demo&dst=15551234567";
    let (status, body) = get(admin, resolve).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"first\""), "{body}");

    // SIGHUP with a changed route: the running process takes it.
    std::fs::write(&path, config("second")).unwrap();
    signal(&router.0, "HUP");
    assert!(
        wait_for(Duration::from_secs(10), || get(admin, resolve)
            .is_some_and(|(_, body)| body.contains("\"second\""))),
        "the reload did not apply:\n{}",
        logs()
    );

    // SIGTERM: it stops by itself, with status 0.
    signal(&router.0, "TERM");
    let mut exit = None;
    assert!(
        wait_for(Duration::from_secs(20), || {
            exit = router.0.try_wait().unwrap();
            exit.is_some()
        }),
        "still running after SIGTERM:\n{}",
        logs()
    );
    assert!(exit.unwrap().success(), "{exit:?}:\n{}", logs());
    assert!(logs().contains("configuration reloaded"), "{}", logs());
}
