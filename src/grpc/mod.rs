//! Transport: the generated gRPC contract (quarantined in [`pb`]), the edge between its messages
//! and the domain ([`convert`]), who may call what ([`auth`]), what refused calls may cost
//! ([`refusals`], enforced at the door by [`limit`]), the sealed ListHolds cursors
//! ([`page_token`]), the service itself, and the one error → status map ([`status`]).

pub mod auth;
pub mod codec;
pub mod convert;
pub mod holds_cursor;
pub mod limit;
pub mod page_token;
pub mod pb;
pub mod refusals;
pub mod service;
pub mod status;
