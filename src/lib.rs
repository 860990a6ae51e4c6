//! verify-identity: the five-field check before an individual number (個人番号) is registered.
//!
//! # Layout
//!
//! The pipeline reads top to bottom: text → normalize → compare → gate → (audit) → transport.
//!
//! - [`domain`]: pure and synchronous, no I/O.
//!   - [`domain::text`]: typographic and variant folding of Japanese text; every rule has a
//!     stable [`domain::Rule`].
//!   - [`domain::fields`]: one module per field — kanji name, kana name, birth date, sex,
//!     address — each parsing and comparing two values into a [`domain::Comparison`].
//!   - [`domain::number`]: the individual number, its check digit, and a `Debug` that never
//!     shows the digits.
//!   - [`domain::compare`]: two five-field records → five comparisons.
//!   - [`domain::gate`]: policy + records + candidates → register / hold / return with reasons.
//!   - [`domain::policy`]: which classes each field accepts at each stage; loadable from TOML.
//! - [`audit`]: the append-only, hash-chained audit store (SQLite, PostgreSQL), its
//!   group-commit writer, and the fingerprint keys it records (a process whose keys lack one
//!   it holds fingerprints under does not start).
//! - [`grpc`]: the generated contract (quarantined), the one edge between its messages and the
//!   domain ([`grpc::convert`]), the service, who may call what ([`grpc::auth`]), what refused
//!   calls may cost ([`grpc::refusals`], [`grpc::limit`]), sealed page tokens
//!   ([`grpc::page_token`]), and the one error → status map.
//! - [`roster`]: roster files for `bulk` — columns, CP932/UTF-8, rows → requests, result and
//!   error files, summary and HTML report. Depends on `domain` and the contract types only.
//! - [`server`]: wiring — store, writer, service, health, reflection — and the connection
//!   layer: connection limits per address and in total, handshake, body, idle and keepalive
//!   timeouts, TLS, and a graceful shutdown with a deadline.
//! - [`synthetic`]: invented people and their notations, for the load and roster generators.
//! - [`cli`]: the command line, one module per subcommand.
//! - [`config`]: settings from defaults, file, environment and flags, each bounded
//!   ([`config::connections`]: what connections may hold, and the stop's grace).
//! - [`telemetry`]: logging and metrics setup (no personal data, by construction).

pub mod audit;
pub mod cli;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod roster;
pub mod server;
pub mod synthetic;
pub mod telemetry;
