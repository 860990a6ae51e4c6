//! The clerks who may sign in: each a person with a name, a password kept only as an argon2id
//! hash, roles and insurers, as `[[console_users]]` of the settings file says.
//!
//! Roles mean what they mean for a gRPC caller ([`crate::config::Role`]): an `operator` lists,
//! reads and resolves the holds of its insurers, an `auditor` lists and reads them. Sign-in
//! goes through [`Users::authenticate`] alone, so that another method (OIDC, SAML through the
//! insurer's directory) can hand the pages the same [`User`] without touching them.

use std::{collections::HashMap, sync::Arc};

use argon2::{PasswordHash, PasswordVerifier};

use crate::config::{ConsoleUserConfig, argon2id, hash_password};

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
}

impl Users {
    /// The clerks of the settings; refuses an entry without a name, with an unreadable or
    /// non-argon2id hash, without a console role or without insurers.
    pub fn new(entries: &[ConsoleUserConfig]) -> Result<Self, UserError> {
        let mut by_name = HashMap::new();
        for e in entries {
            e.check().map_err(UserError)?;
            let who = &e.name;
            let operator = e.is_operator();
            let user = Arc::new(User {
                name: who.clone(),
                insurers: e.insurers.clone(),
                operator,
            });
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
    /// tens of milliseconds of CPU on purpose.
    pub async fn authenticate(&self, name: &str, password: String) -> Option<Arc<User>> {
        let (user, hash) = match self.by_name.get(name) {
            Some((user, hash)) => (Some(user.clone()), hash.clone()),
            None => (None, self.decoy.clone()),
        };
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .is_ok_and(|h| argon2id().verify_password(password.as_bytes(), &h).is_ok())
        })
        .await
        .unwrap_or(false);
        if ok { user } else { None }
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
}
