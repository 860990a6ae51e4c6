//! A throwaway certificate authority for the TLS tests: a CA, a server certificate for
//! 127.0.0.1 and localhost, and a client certificate, written as PEM files to a scratch dir.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use sha2::{Digest, Sha256};
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

/// PEM files and what the tests need to know about them.
pub(crate) struct Pki {
    pub(crate) ca: PathBuf,
    pub(crate) server_cert: PathBuf,
    pub(crate) server_key: PathBuf,
    client_cert_pem: String,
    client_key_pem: String,
    ca_pem: String,
    /// Hex SHA-256 of the client certificate's DER, as `client_cert_sha256` pins it.
    pub(crate) client_cert_sha256: String,
}

impl Pki {
    pub(crate) fn generate(dir: &Path) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "verify-identity test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().unwrap();
        let server_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        client_params
            .distinguished_name
            .push(DnType::CommonName, "registration-system");
        let client_cert = client_params.signed_by(&client_key, &issuer).unwrap();

        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        Pki {
            ca: write("ca.pem", &ca_cert.pem()),
            server_cert: write("server.pem", &server_cert.pem()),
            server_key: write("server.key", &server_key.serialize_pem()),
            client_cert_sha256: hex::encode(Sha256::digest(client_cert.der())),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
            ca_pem: ca_cert.pem(),
        }
    }

    /// A client that trusts the test CA and presents no certificate.
    pub(crate) fn client(&self) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca_pem))
            .domain_name("localhost")
    }

    /// A client that trusts the test CA and presents the client certificate.
    pub(crate) fn client_with_certificate(&self) -> ClientTlsConfig {
        self.client().identity(Identity::from_pem(
            &self.client_cert_pem,
            &self.client_key_pem,
        ))
    }

    /// A rustls client (for HTTPS to the console) that trusts the test CA and presents the
    /// client certificate when `with_certificate`.
    pub(crate) fn rustls_client(
        &self,
        with_certificate: bool,
    ) -> std::sync::Arc<tokio_rustls::rustls::ClientConfig> {
        use tokio_rustls::rustls::{
            ClientConfig, RootCertStore,
            pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
        };
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(self.ca_pem.as_bytes()).unwrap())
            .unwrap();
        let builder = ClientConfig::builder().with_root_certificates(roots);
        let config = if with_certificate {
            let chain =
                vec![CertificateDer::from_pem_slice(self.client_cert_pem.as_bytes()).unwrap()];
            let key = PrivateKeyDer::from_pem_slice(self.client_key_pem.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        } else {
            builder.with_no_client_auth()
        };
        std::sync::Arc::new(config)
    }
}
