//! TLS on both sides with a certificate the test makes, and hostile peers against our SMSC:
//! garbage, a 4 GiB command_length, half a PDU then silence, a peer that never reads — while
//! another ESME keeps being served.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use smpp_pdu::{Body, CommandStatus, MessageIdResp, SubmitSm};
use smpp_tokio::tokio_rustls::rustls;
use smpp_tokio::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn accept_all() -> Arc<Authenticate> {
    Arc::new(|_req: &BindRequest| Ok(b"SMSC".to_vec()))
}

/// Answers every submit_sm with OK.
fn echo_server(mut conn: Connection) {
    tokio::spawn(async move {
        while let Some(inc) = conn.incoming.recv().await {
            inc.responder
                .respond(
                    CommandStatus::OK,
                    Body::SubmitSmResp(MessageIdResp {
                        message_id: Bytes::from_static(b"ok"),
                        ..Default::default()
                    }),
                )
                .await;
        }
    });
}

async fn start(config: SmscConfig) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve(
        listener,
        config,
        accept_all(),
        echo_server,
        Arc::new(NoObserver),
    ));
    addr
}

fn submit() -> Body {
    Body::SubmitSm(Box::new(SubmitSm {
        short_message: Bytes::from_static(b"hi"),
        ..Default::default()
    }))
}

#[tokio::test]
async fn tls_on_both_sides() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_der = cert.cert.der().clone();
    let key_der =
        rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    let server = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key_der)
        .unwrap();
    let config = SmscConfig {
        tls: Some(tokio_rustls::TlsAcceptor::from(Arc::new(server))),
        ..Default::default()
    };
    let addr = start(config).await;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der).unwrap();
    let client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut cfg = EsmeConfig::new(addr.clone(), "esme", "pw");
    cfg.tls = Some((
        tokio_rustls::TlsConnector::from(Arc::new(client)),
        rustls::pki_types::ServerName::try_from("localhost").unwrap(),
    ));
    let (esme, _rx) = Esme::start(cfg, Arc::new(NoObserver));
    esme.wait_bound(Duration::from_secs(5)).await.unwrap();
    for _ in 0..50 {
        let r = esme.send(submit()).await.unwrap();
        assert_eq!(r.command_status, CommandStatus::OK);
    }
    esme.shutdown().await;

    // A plain-text client cannot bind to the TLS port.
    let (plain, _rx) = Esme::start(EsmeConfig::new(addr, "esme", "pw"), Arc::new(NoObserver));
    assert!(plain.wait_bound(Duration::from_millis(500)).await.is_err());
    plain.shutdown().await;
}

/// Reads until the peer closes or `limit` passes; returns whether it closed.
async fn closed_within(sock: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn hostile_peers_are_cut_off_and_others_keep_being_served() {
    let mut config = SmscConfig::default();
    config.session.bind_timeout = Duration::from_millis(300);
    config.driver.write_timeout = Duration::from_millis(500);
    let addr = start(config).await;

    // A well-behaved ESME, kept busy throughout.
    let (good, _rx) = Esme::start(
        EsmeConfig::new(addr.clone(), "esme", "pw"),
        Arc::new(NoObserver),
    );
    good.wait_bound(Duration::from_secs(5)).await.unwrap();

    // Garbage: a command_length of 4 GiB. The server closes at once, allocating nothing.
    let mut g = TcpStream::connect(&addr).await.unwrap();
    g.write_all(&[
        0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ])
    .await
    .unwrap();
    assert!(closed_within(&mut g, Duration::from_secs(2)).await);

    // Random bytes with a small length prefix: answered or closed, never a hang or a crash.
    let mut r = TcpStream::connect(&addr).await.unwrap();
    r.write_all(&[
        0, 0, 0, 20, 0x00, 0x00, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 9, 1, 2, 3, 4,
    ])
    .await
    .unwrap();
    let mut nack = [0u8; 16];
    r.read_exact(&mut nack).await.unwrap();
    assert_eq!(&nack[4..8], &[0x80, 0, 0, 0], "generic_nack");
    assert_eq!(&nack[8..12], &[0, 0, 0, 3], "ESME_RINVCMDID");
    assert_eq!(&nack[12..16], &[0, 0, 0, 9], "same sequence number");

    // Half a PDU, then silence: closed by the bind timeout.
    let mut h = TcpStream::connect(&addr).await.unwrap();
    h.write_all(&[0, 0, 0, 40, 0, 0, 0, 9]).await.unwrap();
    assert!(closed_within(&mut h, Duration::from_secs(2)).await);

    // A peer that binds, floods enquire_links and never reads: our writes must not grow
    // without bound; the write timeout closes it.
    let mut flood = TcpStream::connect(&addr).await.unwrap();
    flood.set_nodelay(true).unwrap();
    let mut bind = bytes::BytesMut::new();
    Body::BindTransceiver(Box::new(smpp_pdu::Bind::<&[u8]> {
        system_id: b"x",
        password: b"y",
        interface_version: 0x34,
        ..Default::default()
    }))
    .encode(1, CommandStatus::OK, &mut bind)
    .unwrap();
    flood.write_all(&bind).await.unwrap();
    let enquire: Vec<u8> = (0..2000u32)
        .flat_map(|i| {
            let mut e = vec![0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0];
            e.extend_from_slice(&(i + 2).to_be_bytes());
            e
        })
        .collect();
    let flooded = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if flood.write_all(&enquire).await.is_err() {
                return;
            }
        }
    })
    .await;
    assert!(
        flooded.is_ok(),
        "the server stopped accepting our flood and closed"
    );

    // Meanwhile the good ESME is still served.
    for _ in 0..20 {
        assert_eq!(
            good.send(submit()).await.unwrap().command_status,
            CommandStatus::OK
        );
    }
    good.shutdown().await;
}

#[tokio::test]
async fn connection_limit() {
    let config = SmscConfig {
        max_connections: 1,
        ..Default::default()
    };
    let addr = start(config).await;
    let (first, _rx) = Esme::start(
        EsmeConfig::new(addr.clone(), "a", "b"),
        Arc::new(NoObserver),
    );
    first.wait_bound(Duration::from_secs(5)).await.unwrap();
    let mut second = TcpStream::connect(&addr).await.unwrap();
    assert!(closed_within(&mut second, Duration::from_secs(2)).await);
    first.shutdown().await;
}
