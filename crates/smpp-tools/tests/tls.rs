//! smpp-bench over TLS to smpp-sim over TLS, with a certificate the test makes: verified
//! against the CA file, accepted without one, and refused under the wrong name.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Duration;

use smpp_tools::bench::{run, BenchConfig, BenchError, TlsOptions};
use smpp_tools::sim::{tls_acceptor, Sim, SimConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_and_sim_over_tls() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = std::env::temp_dir().join(format!("smpp-tools-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();

    let sim = Sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        tls: Some(tls_acceptor(&cert_file, &key_file).unwrap()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut c = BenchConfig::new(&sim.local_addr().to_string(), "acme", "pw");
    c.count = Some(20);
    c.registered_delivery = true;
    c.bind_timeout = Duration::from_secs(5);

    // Verified against the CA file, by name.
    c.tls = Some(TlsOptions {
        ca_file: Some(cert_file.clone()),
        server_name: Some("localhost".into()),
    });
    let r = run(c.clone()).await.unwrap();
    assert_eq!((r.ok, r.receipts.unwrap().matched), (20, 20));

    // No CA: any certificate is accepted.
    c.tls = Some(TlsOptions::default());
    assert_eq!(run(c.clone()).await.unwrap().ok, 20);

    // The wrong name never binds.
    c.tls = Some(TlsOptions {
        ca_file: Some(cert_file),
        server_name: Some("elsewhere".into()),
    });
    c.bind_timeout = Duration::from_millis(300);
    assert!(matches!(run(c).await, Err(BenchError::Bind { .. })));

    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
