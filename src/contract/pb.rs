//! Code generated from `proto/verifyidentity/v1/verify_identity.proto` by prost, tonic and
//! pbjson (proto3 JSON serde impls). Quarantined here so its lint exceptions stay local.

#![allow(
    missing_docs,
    unreachable_pub,
    rust_2018_idioms,
    clippy::all,
    clippy::pedantic,
    clippy::uninlined_format_args
)]

tonic::include_proto!("verifyidentity.v1");
include!(concat!(env!("OUT_DIR"), "/verifyidentity.v1.serde.rs"));

/// The encoded `FileDescriptorSet` of the contract, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    tonic::include_file_descriptor_set!("verifyidentity_descriptor");
