//! The Python `smpplib` client (an ESME others wrote) submits through the router to a simulated
//! carrier and gets its receipts back with the router's ids: a GSM message, a long message split
//! by smpplib's own `make_parts`, and a UCS-2 message (script:
//! `crates/smpp-testkit/peers/smpplib_trx.py`, which prints JSON lines).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;
use support::DEMO_HASH;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use smpp_router::daemon::Daemon;
use smpp_tools::sim::{Sim, SimConfig};
use tokio::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smpplib_submits_through_the_router_and_gets_receipts_with_our_ids() {
    let sim = Sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[node]\ndata_dir = \"{}\"\n[smpp]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \"127.0.0.1:0\"\n\
         [[accounts]]\nsystem_id = \"demo\"\npassword_hash = \"{DEMO_HASH}\"\n\
         [[connectors]]\nname = \"sim\"\nhosts = [\"{}\"]\nsystem_id = \"router\"\npassword = \"pw\"\nbinds = 2\n\
         [[routes]]\nconnector = \"sim\"\n",
        dir.path().join("data").display(),
        sim.local_addr()
    );
    let path = dir.path().join("router.toml");
    std::fs::write(&path, config).unwrap();
    let d = Daemon::start(&path).await.unwrap();
    for _ in 0..500 {
        if d.router().ready() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let out = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(smpp_testkit::python_with_smpplib().await)
            .arg(smpp_testkit::peer_script("smpplib_trx.py"))
            .args([
                "127.0.0.1",
                &d.smpp_addr.port().to_string(),
                "demo",
                "demo",
                "30",
            ])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the smpplib script finished in time")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let with = |key: &'static str| lines.iter().filter(move |l| !l[key].is_null());

    // Five submits (one GSM, three parts, one UCS-2), each acked with one of our hex ids.
    let mut ids: HashMap<String, usize> = HashMap::new();
    for ack in with("ack") {
        assert_eq!(ack["status"], 0, "{ack}");
        let id = ack["message_id"].as_str().unwrap().to_owned();
        assert_eq!(id.len(), 16, "our hex ids: {id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        assert!(ids.insert(id, 0).is_none(), "an id given twice");
    }
    assert_eq!(ids.len(), 5, "{stdout}");
    // Exactly one receipt per id, naming it in the TLV and in the text.
    for r in with("receipt") {
        let id = r["receipt"].as_str().unwrap();
        *ids.get_mut(id)
            .unwrap_or_else(|| panic!("receipt for an id we did not give: {r}")) += 1;
        let text = r["text"].as_str().unwrap();
        assert!(text.starts_with(&format!("id:{id} ")), "{text}");
    }
    assert!(ids.values().all(|&n| n == 1), "{ids:?}");
    d.shutdown().await;
}
