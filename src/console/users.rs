//! The clerks who may sign in: each a person with a name, a password kept only as an argon2id
//! hash, roles and insurers, as `[[console_users]]` of the settings file says.
//!
//! Roles mean what they mean for a gRPC caller ([`crate::config::Role`]): an `operator` lists,
//! reads and resolves the holds of its insurers, an `auditor` lists and reads them. Sign-in
//! goes through [`Users::authenticate`] alone, so that another method (OIDC, SAML through the
//! insurer's directory) can hand the pages the same [`User`] without touching them.

use std::{collections::HashMap, sync::Arc};

use argon2::{PasswordHash, PasswordVerifier};

use crate::config::{
    ConsoleUserConfig, argon2id,
    client_certificates::{common_name, decode_sha256, digest, pinned},
    hash_password,
};

/// A clerk, signed in.
#[derive(Debug)]
pub struct User {
    /// The sign-in name, recorded in every audit event the clerk causes.
    pub name: String,
    /// The insurer numbers the clerk works for, in the settings' order.
    pub insurers: Vec<String>,
    /// Whether the clerk may act (claim, resolve) and not only read.
    pub operator: bool,
}

impl User {
    /// Whether the clerk works for `insurer`.
    pub fn serves(&self, insurer: &str) -> bool {
        self.insurers.iter().any(|i| i == insurer)
    }
}

/// A settings entry that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("console_users: {0}")]
pub struct UserError(pub String);

/// Every clerk of the settings, by name.
pub struct Users {
    /// Each clerk and the PHC string of their password's hash.
    by_name: HashMap<String, (Arc<User>, String)>,
    /// A hash checked for a name nobody has, so that the answer takes as long as for a clerk
    /// with a wrong password and does not tell which names exist.
    decoy: String,
    /// The clerks who may sign in by client certificate.
    by_certificate: Vec<CertificateHolder>,
}

/// A clerk who may sign in by client certificate, and how the settings name it.
struct CertificateHolder {
    /// The SHA-256 of the certificate's DER (`client_cert_sha256`).
    pin: Option<[u8; 32]>,
    /// Its subject common name (`client_cert_cn`).
    cn: Option<String>,
    user: Arc<User>,
}

impl Users {
    /// The clerks of the settings; refuses an entry without a name, with an unreadable or
    /// non-argon2id hash, without a console role or without insurers.
    pub fn new(entries: &[ConsoleUserConfig]) -> Result<Self, UserError> {
        let mut by_name = HashMap::new();
        let mut by_certificate = Vec::new();
        for e in entries {
            e.check().map_err(UserError)?;
            let who = &e.name;
            let operator = e.is_operator();
            let user = Arc::new(User {
                name: who.clone(),
                insurers: e.insurers.clone(),
                operator,
            });
            let pin = e.client_cert_sha256.as_deref().and_then(decode_sha256);
            if pin.is_some() || e.client_cert_cn.is_some() {
                // One certificate for two clerks would sign in as whichever came first.
                let taken = by_certificate.iter().any(|h: &CertificateHolder| {
                    (pin.is_some() && h.pin == pin)
                        || (e.client_cert_cn.is_some() && h.cn == e.client_cert_cn)
                });
                if taken {
                    return Err(UserError(format!(
                        "{who}: the client certificate is given to another clerk too"
                    )));
                }
                by_certificate.push(CertificateHolder {
                    pin,
                    cn: e.client_cert_cn.clone(),
                    user: user.clone(),
                });
            }
            if by_name
                .insert(who.clone(), (user, e.password_argon2id.clone()))
                .is_some()
            {
                return Err(UserError(format!("{who}: the name is given twice")));
            }
        }
        Ok(Users {
            by_name,
            decoy: hash_password("a password nobody has"),
            by_certificate,
        })
    }

    /// Whether no clerk is configured.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Whether `name` is a configured clerk (the refusal counts name only those).
    pub fn knows(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The clerk `name`, as the settings say now (a session names its clerk; their roles and
    /// insurers are read here at each request).
    pub fn get(&self, name: &str) -> Option<Arc<User>> {
        self.by_name.get(name).map(|(user, _)| user.clone())
    }

    /// The clerk `name` if `password` is theirs. Checked on a blocking thread: argon2id takes
    /// tens of milliseconds of CPU on purpose. A clerk without a password (certificate only)
    /// never signs in this way; the decoy is checked for them too, so the time says nothing.
    pub async fn authenticate(&self, name: &str, password: String) -> Option<Arc<User>> {
        let (user, hash) = match self.by_name.get(name) {
            Some((user, hash)) if !hash.is_empty() => (Some(user.clone()), hash.clone()),
            _ => (None, self.decoy.clone()),
        };
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .is_ok_and(|h| argon2id().verify_password(password.as_bytes(), &h).is_ok())
        })
        .await
        .unwrap_or(false);
        if ok { user } else { None }
    }

    /// The clerk whose settings name the client certificate `der` (DER, its chain already
    /// verified by the TLS layer against `tls_client_ca`): by its pin first, every pin compared
    /// in constant time, then by its subject common name.
    pub fn by_certificate(&self, der: &[u8]) -> Option<Arc<User>> {
        // Hashed once; every pin is compared with it.
        let presented = digest(der);
        let mut found = None;
        for holder in &self.by_certificate {
            if holder.pin.as_ref().is_some_and(|p| pinned(p, &presented)) && found.is_none() {
                found = Some(holder.user.clone());
            }
        }
        if found.is_some() {
            return found;
        }
        let cn = common_name(der)?;
        self.by_certificate
            .iter()
            .find(|h| h.cn.as_deref() == Some(cn.as_str()))
            .map(|h| h.user.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Role;

    fn entry(name: &str, hash: String, roles: Vec<Role>) -> ConsoleUserConfig {
        ConsoleUserConfig {
            name: name.into(),
            password_argon2id: hash,
            client_cert_sha256: None,
            client_cert_cn: None,
            insurers: vec!["32130011".into()],
            roles,
        }
    }

    #[tokio::test]
    async fn a_clerk_signs_in_with_their_password_only() {
        let users = Users::new(&[entry(
            "sato",
            hash_password("correct horse"),
            vec![Role::Operator],
        )])
        .unwrap();
        assert!(
            users
                .authenticate("sato", "correct horse".into())
                .await
                .is_some()
        );
        assert!(users.authenticate("sato", "wrong".into()).await.is_none());
        assert!(
            users
                .authenticate("nobody", "correct horse".into())
                .await
                .is_none()
        );
    }

    #[test]
    fn unusable_entries_are_refused_by_name() {
        let bad = Users::new(&[entry("a", "plain".into(), vec![Role::Operator])])
            .err()
            .unwrap();
        assert!(bad.to_string().contains("console-user add"), "{bad}");
        let registrar = Users::new(&[entry("b", hash_password("x"), vec![Role::Registrar])])
            .err()
            .unwrap();
        assert!(
            registrar.to_string().contains("operator or auditor"),
            "{registrar}"
        );
        assert!(hash_password("x").starts_with("$argon2id$v=19$"));
    }

    /// A self-signed certificate (DER) with the subject common name `cn`.
    fn certificate(cn: &str) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[tokio::test]
    async fn a_certificate_names_its_clerk_by_pin_or_by_common_name_and_no_one_else() {
        use sha2::{Digest, Sha256};

        let pinned = certificate("card-0001");
        let named = certificate("kato");
        let mut by_pin = entry("sato", String::new(), vec![Role::Operator]);
        by_pin.client_cert_sha256 = Some(hex::encode(Sha256::digest(&pinned)));
        let mut by_name = entry("kato", hash_password("x"), vec![Role::Auditor]);
        by_name.client_cert_cn = Some("kato".into());
        let users = Users::new(&[by_pin, by_name]).unwrap();
        assert_eq!(users.by_certificate(&pinned).unwrap().name, "sato");
        assert_eq!(users.by_certificate(&named).unwrap().name, "kato");
        // The same common name on another certificate than the pinned one names nobody.
        assert!(users.by_certificate(&certificate("card-0001")).is_none());
        assert!(users.by_certificate(&certificate("sato")).is_none());
        assert!(users.by_certificate(b"not a certificate").is_none());
        // Without a password, no password signs the certificate's clerk in.
        assert!(users.authenticate("sato", String::new()).await.is_none());
        assert!(
            users
                .authenticate("sato", "a password nobody has".into())
                .await
                .is_none()
        );
    }

    #[test]
    fn a_clerk_needs_a_way_to_sign_in_and_a_certificate_names_one_clerk() {
        let neither = Users::new(&[entry("a", String::new(), vec![Role::Operator])])
            .err()
            .unwrap();
        assert!(neither.to_string().contains("client_cert_cn"), "{neither}");
        let mut first = entry("a", String::new(), vec![Role::Operator]);
        first.client_cert_cn = Some("shared".into());
        let mut second = entry("b", String::new(), vec![Role::Operator]);
        second.client_cert_cn = Some("shared".into());
        let twice = Users::new(&[first, second]).err().unwrap();
        assert!(twice.to_string().contains("another clerk"), "{twice}");
        let mut bad_pin = entry("c", String::new(), vec![Role::Operator]);
        bad_pin.client_cert_sha256 = Some("abc".into());
        let bad = Users::new(&[bad_pin]).err().unwrap();
        assert!(bad.to_string().contains("64 hex digits"), "{bad}");
    }
}
