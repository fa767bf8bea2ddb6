//! The Python `smpplib` package (an ESME others wrote) against the simulator, started in-process
//! on a free port of 127.0.0.1: it binds as a transceiver, submits a GSM message with an
//! extension character, a long message split by smpplib's own `make_parts` (one submit_sm and
//! one receipt per part) and a UCS-2 message, and reads its receipts. The script
//! (`crates/smpp-testkit/peers/smpplib_trx.py`) prints JSON lines; every acked message id must come back in
//! exactly one receipt, in the `receipted_message_id` TLV and in the text's `id:`, and the
//! receipt's `text:` shows that the simulator decoded each part as smpplib encoded it.
//!
//! The package comes from `smpp-testkit` (a virtualenv made on first use).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::HashMap;

use std::time::Duration;

use serde_json::Value;
use smpp_tools::sim::{Account, IdFormat, MsRange, Sim, SimConfig};
use tokio::process::Command;
use tokio::time::timeout;

/// What the simulator writes in a receipt's `text:`: the first 20 printable ASCII characters.
fn snippet(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(20)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smpplib_gets_a_receipt_for_every_acked_part() {
    let sim = Sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        accounts: vec![Account {
            system_id: "pyesme".into(),
            password: "pw".into(),
        }],
        id_format: IdFormat::Decimal,
        dlr_delay: MsRange { min: 1, max: 50 },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let port = sim.local_addr().port().to_string();

    let script = smpp_testkit::peer_script("smpplib_trx.py");
    let out = timeout(
        Duration::from_secs(60),
        Command::new(smpp_testkit::python_with_smpplib().await)
            .arg(script)
            .args(["127.0.0.1", &port, "pyesme", "pw", "30"])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the smpplib script finished within 60 s")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "smpplib script failed:\n{stdout}\n{stderr}"
    );

    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let with = |key: &'static str| lines.iter().filter(move |l| !l[key].is_null());
    assert_eq!(lines.first().unwrap()["bound"], true, "{stdout}");
    assert_eq!(lines.last().unwrap()["done"], true, "{stdout}");

    // The submits: one GSM, three parts with a UDH, one UCS-2.
    let submits: Vec<&Value> = with("submit").collect();
    let shape: Vec<(&str, u64, u64)> = submits
        .iter()
        .map(|s| {
            let label = s["submit"].as_str().unwrap();
            (
                label,
                s["data_coding"].as_u64().unwrap(),
                s["esm_class"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("gsm", 0, 0),
            ("long", 0, 0x40),
            ("long", 0, 0x40),
            ("long", 0, 0x40),
            ("ucs2", 8, 0),
        ],
        "{stdout}"
    );

    // Every submit acked ESME_ROK with a message id; ids are unique.
    let acks: HashMap<u64, &Value> = with("ack")
        .map(|a| (a["seq"].as_u64().unwrap(), a))
        .collect();
    assert_eq!(acks.len(), submits.len(), "{stdout}");
    let mut ids = HashMap::new();
    for s in &submits {
        let ack = acks[&s["seq"].as_u64().unwrap()];
        assert_eq!(ack["status"], 0, "{ack}");
        assert_eq!(ack["ack"], s["submit"], "{ack}");
        let id = ack["message_id"].as_str().unwrap();
        assert_eq!(
            id.len(),
            20,
            "decimal ids are 20 digits, leading zeros kept: {id}"
        );
        assert!(
            ids.insert(id.to_owned(), *s).is_none(),
            "id {id} given twice"
        );
    }

    // Every acked id gets exactly one receipt, naming it in the TLV and in the text, whose
    // `text:` is the start of that part as the simulator decoded it.
    let receipts: Vec<&Value> = with("receipt").collect();
    assert_eq!(receipts.len(), ids.len(), "{stdout}");
    let mut seen = HashMap::new();
    for r in receipts {
        let id = r["receipt"].as_str().unwrap();
        let submit = ids
            .get(id)
            .unwrap_or_else(|| panic!("receipt for unknown id: {r}"));
        assert!(seen.insert(id, r).is_none(), "second receipt for {id}");
        assert_eq!(r["esm_class"], 4, "{r}");
        let text = r["text"].as_str().unwrap();
        assert!(text.starts_with(&format!("id:{id} sub:001 ")), "{text}");
        let stat = text.split("stat:").nth(1).unwrap().get(..7).unwrap();
        assert!(
            ["DELIVRD", "UNDELIV", "EXPIRED", "REJECTD"].contains(&stat),
            "{text}"
        );
        let part = snippet(submit["text"].as_str().unwrap());
        assert!(!part.trim().is_empty());
        assert!(
            text.ends_with(&format!(" text:{part}")),
            "{text} / {submit}"
        );
    }

    let counts = sim.shutdown().await;
    assert_eq!((counts.binds, counts.submits, counts.accepted), (1, 5, 5));
    assert_eq!(counts.receipts_scheduled, 5);
    assert_eq!(counts.receipts_refused, 0);
}
