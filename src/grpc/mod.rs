//! Transport: the generated gRPC contract (quarantined in [`pb`]), who may call what
//! ([`auth`]), the service itself, and the one error → status map ([`status`]).

pub mod auth;
pub mod pb;
pub mod service;
pub mod status;
