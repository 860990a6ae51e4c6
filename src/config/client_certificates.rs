//! How a `client_cert_sha256` or `client_cert_cn` setting names a client certificate, for a
//! gRPC caller (`[[callers]]`) and a clerk of the console (`[[console_users]]`) alike. The TLS
//! layer has verified the chain against `tls_client_ca` before either is asked.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The 32 bytes of a hex SHA-256 setting; `None` unless it is exactly 64 hex digits.
pub fn decode_sha256(hex_digits: &str) -> Option<[u8; 32]> {
    hex::decode(hex_digits.trim()).ok()?.try_into().ok()
}

/// The SHA-256 of a DER certificate: what a `client_cert_sha256` pin is compared with.
pub fn digest(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// Whether `pin` names the certificate whose [`digest`] is `presented`, compared in constant
/// time.
pub fn pinned(pin: &[u8; 32], presented: &[u8; 32]) -> bool {
    bool::from(pin.ct_eq(presented))
}

/// The first subject common name of a DER certificate.
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}
