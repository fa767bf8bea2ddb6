//! What several crates' tests share (a `publish = false` crate, as DESIGN.md lays out): the
//! Python `smpplib` package as an independent SMPP peer, and the scripts that drive it; and a
//! TCP [`Relay`] (also the end-to-end benchmark's do-nothing proxy, `e2e-relay`).
//!
//! The package lives in one virtualenv under the workspace's `target/py-peers`, made on first
//! use (`python3 -m venv`, `pip install smpplib==2.2.4` from PyPI), or in the interpreter named
//! by `SMPP_PYTHON`. Every step is bounded in time and killed when its test gives up.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;
use tokio::time::timeout;

mod relay;
pub use relay::Relay;

/// The smpplib version the scripts are written against.
pub const SMPPLIB: &str = "smpplib==2.2.4";

/// Runs `cmd` to completion within three minutes (pip may download); true when it succeeded.
async fn succeeds(cmd: &mut Command) -> bool {
    let status = timeout(Duration::from_secs(180), cmd.kill_on_drop(true).status()).await;
    matches!(status, Ok(Ok(s)) if s.success())
}

/// A Python interpreter that can `import smpplib`, making the virtualenv when needed.
///
/// # Panics
/// When no such interpreter can be had (no `python3`, or pip fails): the calling test fails
/// with that reason.
pub async fn python_with_smpplib() -> PathBuf {
    if let Some(p) = std::env::var_os("SMPP_PYTHON") {
        return p.into();
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/py-peers");
    let py = venv.join("bin/python");
    if !succeeds(Command::new(&py).args(["-c", "import smpplib"])).await {
        let made = succeeds(Command::new("python3").arg("-m").arg("venv").arg(&venv)).await;
        assert!(
            made,
            "python3 -m venv failed (python3 is needed for this test)"
        );
        let pip = ["-m", "pip", "install", "--quiet", SMPPLIB];
        assert!(
            succeeds(Command::new(&py).args(pip)).await,
            "pip install {SMPPLIB} failed"
        );
    }
    py
}

/// The path of a peer script in `crates/smpp-testkit/peers/`.
pub fn peer_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("peers")
        .join(name)
}
