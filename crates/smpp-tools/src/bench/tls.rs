//! TLS for the bench's sessions (`--tls`): verify the server against a CA file when one is
//! given, otherwise accept any certificate — a load generator is pointed at test servers with
//! self-signed certificates far more often than at production, and it sends no secrets.

use std::path::PathBuf;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use smpp_tokio::tokio_rustls::rustls::{self, client::danger, crypto, DigitallySignedStruct};
use smpp_tokio::tokio_rustls::TlsConnector;

use super::BenchError;

/// How to connect with TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM file of the CA(s) to trust; `None` accepts any server certificate.
    pub ca_file: Option<PathBuf>,
    /// The name to verify (default: the host part of the address).
    pub server_name: Option<String>,
}

impl TlsOptions {
    /// The connector and server name for `address` (`host:port`).
    pub(crate) fn connector(
        &self,
        address: &str,
    ) -> Result<(TlsConnector, ServerName<'static>), BenchError> {
        let tls = |e: &dyn std::fmt::Display| BenchError::Tls(e.to_string());
        let provider = Arc::new(crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls(&e))?;
        let config = match &self.ca_file {
            Some(path) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_file_iter(path).map_err(|e| tls(&e))? {
                    roots.add(cert.map_err(|e| tls(&e))?).map_err(|e| tls(&e))?;
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth(),
        };
        let host = match &self.server_name {
            Some(n) => n.clone(),
            None => address
                .rsplit_once(':')
                .map_or(address, |(h, _)| h)
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        };
        let name = ServerName::try_from(host).map_err(|e| tls(&e))?;
        Ok((TlsConnector::from(Arc::new(config)), name))
    }
}

/// Accepts any certificate, still checking that the handshake signatures are valid.
#[derive(Debug)]
struct AnyCertificate(Arc<crypto::CryptoProvider>);

impl danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<danger::ServerCertVerified, rustls::Error> {
        Ok(danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<danger::HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<danger::HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
