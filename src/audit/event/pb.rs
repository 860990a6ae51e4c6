//! Code generated from `proto/verifyidentity/audit/v1/event.proto` by prost: the stored event's
//! canonical form. Quarantined here so its lint exceptions stay local.

#![allow(
    missing_docs,
    unreachable_pub,
    rust_2018_idioms,
    clippy::all,
    clippy::pedantic,
    clippy::uninlined_format_args
)]

include!(concat!(env!("OUT_DIR"), "/verifyidentity.audit.v1.rs"));
