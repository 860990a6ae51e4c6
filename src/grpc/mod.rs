//! Transport: the generated gRPC contract (quarantined in [`pb`]), the edge between its messages
//! and the domain ([`convert`]), who may call what ([`auth`]), the service itself, and the one
//! error → status map ([`status`]).

pub mod auth;
pub mod codec;
pub mod convert;
pub mod holds_cursor;
pub mod pb;
pub mod service;
pub mod status;
