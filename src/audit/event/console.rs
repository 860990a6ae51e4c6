//! The clerks' console's own events: a sign-in and the end of a session. They name the clerk
//! and how they signed in, never a password, a certificate or a session's token.

use std::time::SystemTime;

#[allow(unused_imports)] // for the doc links
use super::EventType;

/// How a clerk proved who they are at the console. The ids are stored in sign-in and sign-out
/// events and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignInMethod {
    /// A name and a password (checked against its argon2id hash).
    Password,
    /// A client certificate under mutual TLS.
    ClientCertificate,
}

impl SignInMethod {
    /// Every method.
    pub const ALL: [SignInMethod; 2] = [SignInMethod::Password, SignInMethod::ClientCertificate];

    /// The stable id.
    pub fn id(self) -> &'static str {
        match self {
            SignInMethod::Password => "password",
            SignInMethod::ClientCertificate => "client_certificate",
        }
    }

    /// The method with this id, if any.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.id() == id)
    }
}

/// Why a console session ended. The ids are stored in sign-out events and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionEnding {
    /// The clerk signed out.
    SignedOut,
    /// No request for longer than the idle timeout.
    Idle,
    /// Older than the absolute timeout.
    Absolute,
    /// The clerk is no longer in the settings' `[[console_users]]`.
    UserRemoved,
}

impl SessionEnding {
    /// Every ending.
    pub const ALL: [SessionEnding; 4] = [
        SessionEnding::SignedOut,
        SessionEnding::Idle,
        SessionEnding::Absolute,
        SessionEnding::UserRemoved,
    ];

    /// The stable id.
    pub fn id(self) -> &'static str {
        match self {
            SessionEnding::SignedOut => "signed_out",
            SessionEnding::Idle => "idle_timeout",
            SessionEnding::Absolute => "absolute_timeout",
            SessionEnding::UserRemoved => "user_removed",
        }
    }

    /// The ending with this id, if any.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.id() == id)
    }
}

/// A clerk signed in to the console ([`EventType::ConsoleSignedIn`]). Never the password, the
/// certificate or the session's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSignedIn {
    /// When.
    pub occurred_at: SystemTime,
    /// The clerk (the `[[console_users]]` name, also the caller of every event they cause).
    pub caller: String,
    /// How.
    pub method: SignInMethod,
}

/// A clerk's console session ended ([`EventType::ConsoleSignedOut`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSignedOut {
    /// When the session was ended (for a timeout: when a replica found it expired).
    pub occurred_at: SystemTime,
    /// The clerk.
    pub caller: String,
    /// How the clerk had signed in.
    pub method: SignInMethod,
    /// Why it ended: by the clerk, or by a timeout.
    pub ending: SessionEnding,
    /// When the session began: the time of its sign-in event.
    pub signed_in_at: SystemTime,
}
