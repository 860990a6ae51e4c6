//! Transport: the generated gRPC contract (quarantined in [`pb`]) and, from the service issue
//! on, request conversion and the service itself.

pub mod auth;
pub mod pb;
pub mod service;
pub mod status;
