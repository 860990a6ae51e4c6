//! The clerks of the console (`[[console_users]]`): who they are, and their passwords as
//! argon2id hashes. Here, beside the other settings, so that the command that writes an entry
//! (`console-user add`) and the console that reads it check it alike without one interface
//! importing the other.

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, Version, password_hash::SaltString,
};
use serde::Deserialize;

use super::Role;

/// One `[[console_users]]` entry of the settings file: a clerk who signs in to the console.
/// Roles and insurers mean what they mean for a gRPC caller (an `operator` works the holds of
/// its insurers, an `auditor` reads them); `registrar` gives nothing in the console.
#[derive(Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleUserConfig {
    /// The sign-in name, recorded as `caller` (and as the operator) in every audit event the
    /// clerk causes.
    pub name: String,
    /// The password's argon2id hash in PHC form (`$argon2id$v=19$…`), as `console-user add`
    /// writes it. Only the hash is configured. Empty (left out) for a clerk who signs in by
    /// client certificate only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password_argon2id: String,
    /// Hex SHA-256 of the DER of a client certificate the clerk may sign in with under mutual
    /// TLS (`tls_client_ca`), as for a gRPC caller: a pin, the stronger way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert_sha256: Option<String>,
    /// The subject common name of such a certificate. Weaker than the pin: it trusts the CA to
    /// give each name to one person only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert_cn: Option<String>,
    /// The insurer numbers (保険者番号) the clerk works for.
    #[serde(default)]
    pub insurers: Vec<String>,
    /// `operator` or `auditor`.
    #[serde(default)]
    pub roles: Vec<Role>,
}

impl std::fmt::Debug for ConsoleUserConfig {
    /// The name, insurers and roles; the hash is left out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleUserConfig")
            .field("name", &self.name)
            .field("insurers", &self.insurers)
            .field("roles", &self.roles)
            .field("client_cert_cn", &self.client_cert_cn)
            .finish_non_exhaustive()
    }
}

/// The argon2id parameters of new hashes: OWASP's minimum (19 MiB, 2 passes, 1 lane).
pub fn argon2id() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("valid parameters"),
    )
}

/// The argon2id hash (PHC string) of `password` with a fresh random salt.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2id()
        .hash_password(password.as_bytes(), &salt)
        .expect("hashing with valid parameters succeeds")
        .to_string()
}

impl ConsoleUserConfig {
    /// Whether the clerk may act (claim, resolve) and not only read.
    pub fn is_operator(&self) -> bool {
        self.roles.contains(&Role::Operator)
    }

    /// Refuses an entry without a usable name, with an unreadable or non-argon2id hash,
    /// without a console role or without insurers; the message names the entry.
    pub fn check(&self) -> Result<(), String> {
        let who = &self.name;
        if who.is_empty() || who.len() > 128 || who.chars().any(char::is_control) {
            return Err("a name must be 1..=128 printable characters".into());
        }
        if let Some(pin) = &self.client_cert_sha256
            && super::client_certificates::decode_sha256(pin).is_none()
        {
            return Err(format!("{who}: client_cert_sha256 must be 64 hex digits"));
        }
        if self
            .client_cert_cn
            .as_deref()
            .is_some_and(|cn| cn.trim().is_empty())
        {
            return Err(format!("{who}: client_cert_cn is empty"));
        }
        let by_certificate = self.client_cert_sha256.is_some() || self.client_cert_cn.is_some();
        if self.password_argon2id.is_empty() && !by_certificate {
            return Err(format!(
                "{who}: needs password_argon2id (write it with `verify-identity console-user \
                 add`), client_cert_sha256 or client_cert_cn"
            ));
        }
        if !self.password_argon2id.is_empty() {
            let hash = PasswordHash::new(&self.password_argon2id).map_err(|_| {
                format!(
                    "{who}: password_argon2id is not a PHC hash string (write it with \
                     `verify-identity console-user add`)"
                )
            })?;
            if hash.algorithm.as_str() != "argon2id" {
                return Err(format!("{who}: the password hash must be argon2id"));
            }
        }
        if !self.is_operator() && !self.roles.contains(&Role::Auditor) {
            return Err(format!(
                "{who}: roles must include operator or auditor (registrar gives nothing in the \
                 console)"
            ));
        }
        if self.insurers.is_empty()
            || self
                .insurers
                .iter()
                .any(|i| i.len() != 8 || !i.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!(
                "{who}: insurers must list 8-digit insurer numbers (保険者番号)"
            ));
        }
        Ok(())
    }
}
