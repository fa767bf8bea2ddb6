//! The Python `smpplib` package (an ESME others wrote) binds to our SMSC, submits, and gets
//! its acks and receipts. The package comes from `smpp-testkit` (a virtualenv made on first
//! use).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::sync::Arc;

use bytes::Bytes;
use smpp_pdu::{Body, CommandStatus, EsmClass, MessageIdResp, SubmitSm};
use smpp_tokio::*;
use tokio::net::TcpListener;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smpplib_submits_and_gets_receipts() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let auth: Arc<Authenticate> = Arc::new(|req: &BindRequest| {
        if &req.bind.system_id[..] == b"esme" && &req.bind.password[..] == b"pw" {
            Ok(b"SMSC".to_vec())
        } else {
            Err(CommandStatus::INVPASWD)
        }
    });
    let on_connection = |mut conn: Connection| {
        tokio::spawn(async move {
            let mut n = 0u32;
            while let Some(inc) = conn.incoming.recv().await {
                let Body::SubmitSm(sm) = &inc.pdu.body else {
                    continue;
                };
                n += 1;
                let id = format!("{n:08X}");
                let text = format!(
                    "id:{id} sub:001 dlvrd:001 submit date:2301011200 done date:2301011201 stat:DELIVRD err:000 text:{}",
                    String::from_utf8_lossy(&sm.short_message)
                );
                let source = sm.dest.clone();
                inc.responder
                    .respond(
                        CommandStatus::OK,
                        Body::SubmitSmResp(MessageIdResp {
                            message_id: Bytes::from(id),
                            ..Default::default()
                        }),
                    )
                    .await;
                let link = conn.link.clone();
                tokio::spawn(async move {
                    let receipt = Body::DeliverSm(Box::new(SubmitSm {
                        source,
                        esm_class: EsmClass(EsmClass::DELIVERY_RECEIPT),
                        short_message: Bytes::from(text),
                        ..Default::default()
                    }));
                    let r = link.send(receipt).await.unwrap();
                    assert_eq!(r.command_status, CommandStatus::OK);
                });
            }
        });
    };
    tokio::spawn(serve(
        listener,
        SmscConfig::default(),
        auth,
        on_connection,
        Arc::new(NoObserver),
    ));

    let py = smpp_testkit::python_with_smpplib().await;
    let script = smpp_testkit::peer_script("smpplib_esme.py");
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tokio::process::Command::new(py)
            .arg(script)
            .args(["127.0.0.1", &port.to_string(), "20"])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("smpplib finished in time")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "smpplib failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("\"bound\": true"), "{stdout}");
    for n in 1..=20 {
        assert!(
            stdout.contains(&format!("\"{n:08X}\"")),
            "ack {n} missing: {stdout}"
        );
        assert!(
            stdout.contains(&format!("id:{n:08X} sub:001")),
            "receipt {n} missing"
        );
    }
    assert!(
        !stdout.contains("\"statuses\": [1"),
        "all acks OK: {stdout}"
    );
}
