//! Who may do what: callers authenticate with a bearer token or a client certificate, and each
//! may use the RPCs of its roles for its insurers only.
//!
//! Checked in one place, [`Callers::authorize`], which every handler calls first with the
//! insurer its request names. An interceptor was rejected because it runs before the message is
//! decoded and so cannot see the insurer (nor, for VerifyBatch, each item's insurer).
//!
//! Tokens are configured only as SHA-256 hashes. A presented token is hashed and compared with
//! every configured hash in constant time, so neither the settings file nor response timing
//! gives a token away. Nothing here logs or returns a token.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tonic::{Request, metadata::MetadataMap};

use crate::config::{
    CallerConfig, ConfigError, Role,
    client_certificates::{common_name, decode_sha256},
};

/// The caller name recorded when no callers are configured (open loopback mode).
pub const OPEN_CALLER: &str = "local";
/// The caller name recorded when a request carried no valid credentials.
pub const UNAUTHENTICATED_CALLER: &str = "unauthenticated";

/// The RPCs that need authorization (health and reflection stay open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rpc {
    /// One verification.
    Verify,
    /// A stream of verifications.
    VerifyBatch,
    /// Binding a register decision.
    CommitRegistration,
    /// Closing a hold.
    ResolveHold,
    /// The operators' queue.
    ListHolds,
    /// Reading one verification.
    GetVerification,
    /// How holds ended, and what that suggests.
    HoldStats,
    /// Claiming or releasing a hold.
    AssignHold,
    /// Reading the history of one subject.
    SubjectHistory,
}

impl Rpc {
    /// Every RPC that needs authorization.
    pub const ALL: [Rpc; 9] = [
        Rpc::Verify,
        Rpc::VerifyBatch,
        Rpc::CommitRegistration,
        Rpc::ResolveHold,
        Rpc::ListHolds,
        Rpc::GetVerification,
        Rpc::HoldStats,
        Rpc::AssignHold,
        Rpc::SubjectHistory,
    ];

    /// The RPC of a method name (the last segment of a gRPC path).
    pub fn from_method(method: &str) -> Option<Rpc> {
        Rpc::ALL.into_iter().find(|r| r.as_str() == method)
    }

    /// The method name, as audit events record it.
    pub fn as_str(self) -> &'static str {
        match self {
            Rpc::Verify => "Verify",
            Rpc::VerifyBatch => "VerifyBatch",
            Rpc::CommitRegistration => "CommitRegistration",
            Rpc::ResolveHold => "ResolveHold",
            Rpc::ListHolds => "ListHolds",
            Rpc::GetVerification => "GetVerification",
            Rpc::HoldStats => "HoldStats",
            Rpc::AssignHold => "AssignHold",
            Rpc::SubjectHistory => "SubjectHistory",
        }
    }

    /// Whether `role` grants this RPC.
    pub fn granted_to(self, role: Role) -> bool {
        match role {
            Role::Registrar => matches!(
                self,
                Rpc::Verify | Rpc::VerifyBatch | Rpc::CommitRegistration
            ),
            Role::Operator => matches!(
                self,
                Rpc::ResolveHold
                    | Rpc::ListHolds
                    | Rpc::GetVerification
                    | Rpc::AssignHold
                    | Rpc::HoldStats
                    | Rpc::SubjectHistory
            ),
            Role::Auditor => matches!(
                self,
                Rpc::GetVerification | Rpc::ListHolds | Rpc::HoldStats | Rpc::SubjectHistory
            ),
        }
    }
}

/// Why a call was refused. The `Display` carries no credential and no request content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials, or credentials matching no configured caller.
    #[error("missing or unknown credentials")]
    Unauthenticated,
    /// A known caller without a role granting this RPC.
    #[error("caller {caller} may not call {rpc}")]
    RoleNotGranted {
        /// The caller's configured name.
        caller: String,
        /// The RPC refused.
        rpc: &'static str,
    },
    /// A known caller acting for an insurer it was not given.
    #[error("caller {caller} may not act for this insurer")]
    InsurerNotGranted {
        /// The caller's configured name.
        caller: String,
    },
}

impl AuthError {
    /// The stable id stored as the reason of the `access.denied` audit event.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Unauthenticated => "UNAUTHENTICATED",
            AuthError::RoleNotGranted { .. } => "ROLE_NOT_GRANTED",
            AuthError::InsurerNotGranted { .. } => "INSURER_NOT_GRANTED",
        }
    }

    /// The caller name the audit event records.
    pub fn caller(&self) -> &str {
        match self {
            AuthError::Unauthenticated => UNAUTHENTICATED_CALLER,
            AuthError::RoleNotGranted { caller, .. } | AuthError::InsurerNotGranted { caller } => {
                caller
            }
        }
    }
}

/// An authenticated caller.
#[derive(Debug)]
pub struct Caller {
    /// Recorded as `caller` in every audit event.
    pub name: String,
    /// Insurers it may act for; `None` in open mode (any).
    insurers: Option<Vec<String>>,
    /// What it may do; every role in open mode.
    roles: Vec<Role>,
}

impl Caller {
    /// The insurers it may act for; `None` for any (open mode).
    pub fn insurers(&self) -> Option<&[String]> {
        self.insurers.as_deref()
    }

    /// Whether this caller may act for `insurer`.
    pub fn may_act_for(&self, insurer: &str) -> bool {
        self.insurers
            .as_ref()
            .is_none_or(|list| list.iter().any(|i| i == insurer))
    }

    /// Refuses `insurer` unless granted.
    pub fn check_insurer(&self, insurer: &str) -> Result<(), AuthError> {
        if self.may_act_for(insurer) {
            Ok(())
        } else {
            Err(AuthError::InsurerNotGranted {
                caller: self.name.clone(),
            })
        }
    }
}

/// One configured caller with its credentials decoded.
struct Entry {
    caller: Arc<Caller>,
    token_sha256: Option<[u8; 32]>,
    cert_sha256: Option<[u8; 32]>,
    cert_cn: Option<String>,
}

/// The configured callers; empty means open mode.
pub struct Callers {
    entries: Vec<Entry>,
    /// The caller every request is in open mode.
    open: Arc<Caller>,
}

impl Callers {
    /// Decodes the configured callers, refusing malformed hashes and empty entries at start
    /// rather than at the first call.
    pub fn new(configs: &[CallerConfig]) -> Result<Self, ConfigError> {
        let mut entries = Vec::with_capacity(configs.len());
        for c in configs {
            let invalid =
                |what: &str| ConfigError::Invalid(format!("callers: {what} (caller {:?})", c.name));
            if c.name.trim().is_empty() {
                return Err(ConfigError::Invalid("callers: a caller has no name".into()));
            }
            let token_sha256 = c
                .token_sha256
                .as_deref()
                .map(|h| {
                    decode_sha256(h).ok_or_else(|| invalid("token_sha256 must be 64 hex digits"))
                })
                .transpose()?;
            let cert_sha256 = c
                .client_cert_sha256
                .as_deref()
                .map(|h| {
                    decode_sha256(h)
                        .ok_or_else(|| invalid("client_cert_sha256 must be 64 hex digits"))
                })
                .transpose()?;
            let cert_cn = c.client_cert_cn.clone().filter(|cn| !cn.trim().is_empty());
            if token_sha256.is_none() && cert_sha256.is_none() && cert_cn.is_none() {
                return Err(invalid(
                    "needs token_sha256, client_cert_sha256 or client_cert_cn",
                ));
            }
            if c.roles.is_empty() || c.insurers.is_empty() {
                return Err(invalid("needs at least one role and one insurer"));
            }
            if let Some(bad) = c
                .insurers
                .iter()
                .position(|i| !crate::domain::ids::InsurerNumber::is_valid(i))
            {
                return Err(invalid(&format!(
                    "insurers[{bad}] is not an insurer number (8 digits)"
                )));
            }
            // With two entries for one name or one credential the first would win silently,
            // and an operator reading the file could not tell which roles a caller has.
            if entries.iter().any(|e: &Entry| e.caller.name == c.name) {
                return Err(invalid("the name is given to two callers"));
            }
            let same_credential = |e: &Entry| {
                (token_sha256.is_some() && e.token_sha256 == token_sha256)
                    || (cert_sha256.is_some() && e.cert_sha256 == cert_sha256)
                    || (cert_cn.is_some() && e.cert_cn == cert_cn)
            };
            if let Some(other) = entries.iter().find(|e| same_credential(e)) {
                return Err(invalid(&format!(
                    "its credential is also caller {:?}'s",
                    other.caller.name
                )));
            }
            entries.push(Entry {
                caller: Arc::new(Caller {
                    name: c.name.clone(),
                    insurers: Some(c.insurers.clone()),
                    roles: c.roles.clone(),
                }),
                token_sha256,
                cert_sha256,
                cert_cn,
            });
        }
        Ok(Callers {
            entries,
            open: Arc::new(Caller {
                name: OPEN_CALLER.to_owned(),
                insurers: None,
                roles: vec![Role::Registrar, Role::Operator, Role::Auditor],
            }),
        })
    }

    /// Whether some caller authenticates with a client certificate (which needs mTLS).
    pub fn any_by_certificate(&self) -> bool {
        self.entries
            .iter()
            .any(|e| e.cert_sha256.is_some() || e.cert_cn.is_some())
    }

    /// Whether no callers are configured: every request is [`OPEN_CALLER`].
    pub fn is_open(&self) -> bool {
        self.entries.is_empty()
    }

    /// Authenticates the request and checks that its caller may call `rpc` for `insurer`.
    pub fn authorize<T>(
        &self,
        request: &Request<T>,
        rpc: Rpc,
        insurer: &str,
    ) -> Result<Arc<Caller>, AuthError> {
        let caller = self.authorize_role(request, rpc)?;
        caller.check_insurer(insurer)?;
        Ok(caller)
    }

    /// Authenticates the request and checks that its caller may call `rpc`, for a call whose
    /// insurers are checked one by one later (VerifyBatch).
    pub fn authorize_role<T>(
        &self,
        request: &Request<T>,
        rpc: Rpc,
    ) -> Result<Arc<Caller>, AuthError> {
        let caller = self.authenticate(request.metadata(), request.peer_certs().as_deref())?;
        if !caller.roles.iter().any(|r| rpc.granted_to(*r)) {
            return Err(AuthError::RoleNotGranted {
                caller: caller.name.clone(),
                rpc: rpc.as_str(),
            });
        }
        Ok(caller)
    }

    /// The caller a bearer token or a verified client certificate names.
    fn authenticate(
        &self,
        metadata: &MetadataMap,
        peer_certs: Option<&Vec<tonic::transport::CertificateDer<'static>>>,
    ) -> Result<Arc<Caller>, AuthError> {
        if self.is_open() {
            return Ok(self.open.clone());
        }
        if let Some(token) = bearer_token(metadata) {
            let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            return self
                .find(|e| e.token_sha256.as_ref(), &presented)
                .ok_or(AuthError::Unauthenticated);
        }
        // The TLS layer has already verified the chain against `tls_client_ca`; the leaf's
        // hash (or, for `client_cert_cn` callers, its subject name) says which caller it is.
        if let Some(leaf) = peer_certs.and_then(|certs| certs.first()) {
            let presented: [u8; 32] = Sha256::digest(leaf.as_ref()).into();
            if let Some(caller) = self.find(|e| e.cert_sha256.as_ref(), &presented) {
                return Ok(caller);
            }
            let cn = common_name(leaf.as_ref()).ok_or(AuthError::Unauthenticated)?;
            return self
                .entries
                .iter()
                .find(|e| e.cert_cn.as_deref() == Some(cn.as_str()))
                .map(|e| e.caller.clone())
                .ok_or(AuthError::Unauthenticated);
        }
        Err(AuthError::Unauthenticated)
    }

    /// The entry whose hash equals `presented`. Every entry is compared, in constant time, so
    /// the time taken does not say which (or how much of a) hash matched.
    fn find(
        &self,
        hash: impl Fn(&Entry) -> Option<&[u8; 32]>,
        presented: &[u8; 32],
    ) -> Option<Arc<Caller>> {
        let mut found = None;
        for entry in &self.entries {
            if let Some(h) = hash(entry)
                && bool::from(h.ct_eq(presented))
                && found.is_none()
            {
                found = Some(entry.caller.clone());
            }
        }
        found
    }
}

/// The token of an `authorization: Bearer <token>` header, if there is one.
fn bearer_token(metadata: &MetadataMap) -> Option<&str> {
    let value = metadata.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn callers() -> Callers {
        Callers::new(&[CallerConfig {
            name: "registration-system".into(),
            token_sha256: Some(hex::encode(Sha256::digest(b"s3cret"))),
            client_cert_sha256: None,
            client_cert_cn: None,
            insurers: vec!["32130011".into()],
            roles: vec![Role::Registrar],
        }])
        .unwrap()
    }

    fn request(token: Option<&str>) -> Request<()> {
        let mut r = Request::new(());
        if let Some(t) = token {
            r.metadata_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        r
    }

    #[test]
    fn a_registrar_may_verify_for_its_insurer() {
        let caller = callers()
            .authorize(&request(Some("s3cret")), Rpc::Verify, "32130011")
            .unwrap();
        assert_eq!(caller.name, "registration-system");
    }

    #[test]
    fn a_wrong_or_missing_token_is_unauthenticated() {
        for token in [Some("wrong"), None] {
            let err = callers()
                .authorize(&request(token), Rpc::Verify, "32130011")
                .unwrap_err();
            assert_eq!(err, AuthError::Unauthenticated);
        }
    }

    #[test]
    fn a_registrar_may_not_resolve_holds_nor_act_for_another_insurer() {
        let c = callers();
        let role = c
            .authorize(&request(Some("s3cret")), Rpc::ResolveHold, "32130011")
            .unwrap_err();
        assert_eq!(role.reason(), "ROLE_NOT_GRANTED");
        let insurer = c
            .authorize(&request(Some("s3cret")), Rpc::Verify, "99999999")
            .unwrap_err();
        assert_eq!(insurer.reason(), "INSURER_NOT_GRANTED");
    }

    #[test]
    fn a_settings_file_with_two_callers_sharing_a_name_or_credential_is_refused() {
        let base = CallerConfig {
            name: "registration-system".into(),
            token_sha256: Some(hex::encode(Sha256::digest(b"s3cret"))),
            client_cert_sha256: None,
            client_cert_cn: None,
            insurers: vec!["32130011".into()],
            roles: vec![Role::Registrar],
        };
        let refused = |configs: &[CallerConfig], why: &str| match Callers::new(configs) {
            Err(ConfigError::Invalid(message)) => assert!(message.contains(why), "{message}"),
            Ok(_) => panic!("accepted"),
            Err(other) => panic!("{other:?}"),
        };
        let mut same_name = base.clone();
        same_name.token_sha256 = Some(hex::encode(Sha256::digest(b"other")));
        refused(&[base.clone(), same_name], "name is given to two callers");
        let mut same_token = base.clone();
        same_token.name = "operator-desk".into();
        refused(
            &[base.clone(), same_token],
            "also caller \"registration-system\"",
        );
        let mut bad_insurer = base.clone();
        bad_insurer.insurers = vec!["32130011".into(), "3213-0011".into()];
        refused(&[bad_insurer], "insurers[1] is not an insurer number");
        let mut other = base.clone();
        other.name = "operator-desk".into();
        other.token_sha256 = Some(hex::encode(Sha256::digest(b"other")));
        assert!(Callers::new(&[base, other]).is_ok());
    }

    #[test]
    fn no_callers_is_open_mode_as_local() {
        let c = Callers::new(&[]).unwrap();
        assert!(c.is_open());
        let caller = c
            .authorize(&request(None), Rpc::ResolveHold, "99999999")
            .unwrap();
        assert_eq!(caller.name, OPEN_CALLER);
    }

    #[test]
    fn a_malformed_hash_is_refused_at_start() {
        let mut config = CallerConfig {
            name: "x".into(),
            token_sha256: Some("abc".into()),
            client_cert_sha256: None,
            client_cert_cn: None,
            insurers: vec!["32130011".into()],
            roles: vec![Role::Auditor],
        };
        assert!(Callers::new(std::slice::from_ref(&config)).is_err());
        config.token_sha256 = None;
        assert!(Callers::new(&[config]).is_err());
    }

    #[test]
    fn the_error_never_shows_the_token() {
        let err = callers()
            .authorize(&request(Some("s3cret-wrong")), Rpc::Verify, "32130011")
            .unwrap_err();
        assert!(!format!("{err} {err:?}").contains("s3cret"));
    }
}
