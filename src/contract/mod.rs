//! The contract: the generated messages of `verifyidentity.v1` (quarantined in [`pb`]) and the
//! one edge between them and the rest — parsed in ([`parse`]), answered out ([`respond`]), the
//! enums both ways ([`enums`]).
//!
//! Its own room, apart from the gRPC transport, because every interface speaks these shapes:
//! the server's handlers, the client commands (`verify`, `holds`, `bulk --server`), `check`
//! and `bulk`'s rows (embedded and dry runs parse exactly as the server does, so a refusal
//! names the same field whichever way a row went).

pub mod enums;
pub mod parse;
pub mod pb;
pub mod respond;
