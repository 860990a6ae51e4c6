//! The gRPC transport of the use cases: the service's handlers ([`service`]), who may call what
//! ([`auth`]), what refused calls may cost ([`refusals`], enforced at the door by [`limit`]),
//! the body codec ([`codec`]), and the one error → status map ([`status`]). The contract's
//! messages and their edge conversions are [`crate::contract`]'s; the use cases are
//! [`crate::verification`]'s.

pub mod auth;
pub mod codec;
pub mod limit;
pub mod refusals;
pub mod service;
pub mod status;
