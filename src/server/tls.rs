//! The server's TLS configuration (rustls, ring), read from the PEM files of the settings.
//!
//! The connection layer ([`super::connections`]) accepts TLS itself, so that the handshake
//! counts against `connections.handshake_timeout` and a connection still in its handshake is
//! one of the connections the limits count. tonic's `ServerTlsConfig` cannot be handed to an
//! acceptor of our own, so this builds what it builds: the certificate chain and key, a client
//! verifier when `tls_client_ca` is set (a client certificate is then mandatory), and ALPN
//! `h2`, which tonic's clients require. The console's configuration asks browsers for a
//! certificate without requiring one.

use std::{path::Path, sync::Arc};

use tokio_rustls::rustls::{
    RootCertStore, ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::{WebPkiClientVerifier, danger::ClientCertVerifier},
};

use crate::config::{ConfigError, TlsSettings};

/// Reads the PEM files of `tls` into the gRPC service's rustls configuration: a client
/// certificate is mandatory when `tls_client_ca` is set, and ALPN `h2`.
pub(super) fn server_config(tls: &TlsSettings) -> Result<Arc<ServerConfig>, ConfigError> {
    config(tls, Mandatory::Yes, b"h2")
}

/// The console's TLS configuration: the service's certificate and key, HTTP/1.1, and, when
/// `tls_client_ca` is set, a client certificate asked for but not required: a clerk whose
/// browser presents one that the settings name may sign in with it, every other clerk signs in
/// with a password (a certificate the CA did not sign ends the handshake).
pub(super) fn console_config(tls: &TlsSettings) -> Result<Arc<ServerConfig>, ConfigError> {
    config(tls, Mandatory::No, b"http/1.1")
}

/// The certificate chain and key of `tls`, a client verifier when `tls_client_ca` is set
/// (`client` says whether a certificate is then required), and the one ALPN protocol.
fn config(
    tls: &TlsSettings,
    client: Mandatory,
    alpn: &[u8],
) -> Result<Arc<ServerConfig>, ConfigError> {
    let chain = certificates(&tls.cert, "tls_cert")?;
    let key = PrivateKeyDer::from_pem_slice(&read(&tls.key)?).map_err(|e| {
        ConfigError::Invalid(format!(
            "tls_key {}: no readable PEM private key ({e})",
            tls.key.display()
        ))
    })?;
    let builder = ServerConfig::builder();
    let builder = match &tls.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => builder.with_client_cert_verifier(client_verifier(ca, client)?),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        ConfigError::Invalid(format!(
            "tls_cert {} and tls_key {}: {e}",
            tls.cert.display(),
            tls.key.display()
        ))
    })?;
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(Arc::new(config))
}

/// Whether a client must present a certificate.
#[derive(PartialEq)]
enum Mandatory {
    Yes,
    No,
}

/// Verifies client certificates against the CA certificates of `ca` (`tls_client_ca`).
fn client_verifier(
    ca: &Path,
    mandatory: Mandatory,
) -> Result<Arc<dyn ClientCertVerifier>, ConfigError> {
    let invalid = |e: &dyn std::fmt::Display| {
        ConfigError::Invalid(format!("tls_client_ca {}: {e}", ca.display()))
    };
    let mut roots = RootCertStore::empty();
    for certificate in certificates(ca, "tls_client_ca")? {
        roots.add(certificate).map_err(|e| invalid(&e))?;
    }
    let builder = WebPkiClientVerifier::builder(roots.into());
    let builder = if mandatory == Mandatory::No {
        builder.allow_unauthenticated()
    } else {
        builder
    };
    builder.build().map_err(|e| invalid(&e))
}

/// The certificates of a PEM file; none is an error naming `setting`.
fn certificates(path: &Path, setting: &str) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let pem = read(path)?;
    let invalid =
        |why: String| ConfigError::Invalid(format!("{setting} {}: {why}", path.display()));
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("not a PEM certificate file ({e})")))?;
    if certificates.is_empty() {
        return Err(invalid("holds no PEM certificate".into()));
    }
    Ok(certificates)
}

fn read(path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })
}
