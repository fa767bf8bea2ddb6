//! TLS toward carriers: the server certificate is verified against the CAs in `tls_ca` when
//! given, otherwise against the system's trust store, and under `tls_name` (default: the host
//! of the address). Unlike the load generator, the router never accepts an unverified carrier:
//! it sends customers' messages there.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use smpp_tokio::tokio_rustls::rustls::{self, crypto};
use smpp_tokio::tokio_rustls::TlsConnector;

/// A connector and the name to verify, for a carrier at `address` (`host:port`).
///
/// # Errors
/// A message saying what is wrong with the CA file, the trust store or the name.
pub fn connector(
    ca_file: Option<&Path>,
    name: Option<&str>,
    address: &str,
) -> Result<(TlsConnector, ServerName<'static>), String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("{}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!("{}: no certificate in it", path.display()));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // A system store may hold certificates rustls cannot use; skip those.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err("the system trust store is empty; give tls_ca".into());
            }
        }
    }
    let provider = Arc::new(crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let host = match name {
        Some(n) => n.to_owned(),
        None => address
            .rsplit_once(':')
            .map_or(address, |(h, _)| h)
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
    };
    let name = ServerName::try_from(host.clone()).map_err(|e| format!("{host:?}: {e}"))?;
    Ok((TlsConnector::from(Arc::new(config)), name))
}
