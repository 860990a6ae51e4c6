//! verify-identity: the five-field check before an individual number (個人番号) is registered.
//!
//! # Layout
//!
//! The pipeline reads top to bottom: text → normalize → compare → gate → audit → use cases →
//! interfaces. Each layer depends only on the layers above it in this list; the test
//! `tests/layers.rs` fails when an import runs the other way.
//!
//! 1. [`domain`]: pure and synchronous, no I/O, no async runtime, nothing below imported.
//!    - [`domain::text`]: typographic and variant folding of Japanese text, and the one reader
//!      of 漢数字 (`numerals`); every rule has a stable [`domain::Rule`]. The fields call it
//!      rather than writing a character range again.
//!    - [`domain::fields`]: one module per field — kanji name, kana name, birth date, sex,
//!      address — each parsing and comparing two values into a [`domain::Comparison`].
//!    - [`domain::number`]: the individual number, its check digit, and a `Debug` that never
//!      shows the digits.
//!    - [`domain::compare`]: two five-field records → five comparisons.
//!    - [`domain::gate`]: policy + records + candidates → register / hold / return with reasons.
//!    - [`domain::registration`]: which decision a number may be committed against, which
//!      decision may replace a hold.
//!    - [`domain::policy`]: which classes each field accepts at each stage; loadable from TOML.
//! 2. [`audit`]: the append-only, hash-chained audit store (SQLite, PostgreSQL), its
//!    group-commit writer, and the fingerprint keys it records (a process whose keys lack one
//!    it holds fingerprints under does not start). Rooms: `event/` (the format), `chain`,
//!    `store/` (the append algorithm once; the reads once for any sqlx pool; one file per
//!    backend; the conformance suite both run), `checkpoint/`, `invariants/` (the tables
//!    against the chain), `export`.
//! 3. [`verification`]: the use cases — decide and append, commit, the holds queue, resolution,
//!    a verification's state — over the domain and the audit store, with their own error type.
//!    No transport, no generated message, no HTML.
//! 4. [`contract`]: the generated messages of the contract (quarantined) and the one edge
//!    between them and the use cases: parsed in, answered out.
//! 5. Interfaces, which never import each other's internals:
//!    - [`grpc`]: the service's handlers, who may call what ([`grpc::auth`]), what refused
//!      calls may cost ([`grpc::refusals`], [`grpc::limit`]), and the one error → status map.
//!    - [`roster`]: roster files for `bulk` — columns, CP932/UTF-8, rows → requests, result and
//!      error files, summary and HTML report.
//!    - [`console`]: the clerks' web pages (the hold queue, a case, resolving and claiming it,
//!      照合の確認, 統計), signed-in clerks with the roles and insurers of gRPC callers, their
//!      sessions in the store's database; only the use cases.
//!    - [`cli`]: the command line, one module per subcommand.
//!    - [`loadgen`]: the load generator (`verify-identity loadgen`), a client of the contract
//!      like the integrators' own: its own room, which no other module imports (`main.rs`
//!      mounts it; kept in the one binary so that integrators load-test with the tool they
//!      already have).
//! 6. [`server`]: wiring — store, writer, use cases, service, health, reflection — and the
//!    connection layer (limits per address and in total, handshake, body, idle and keepalive
//!    timeouts, TLS, a graceful shutdown with a deadline); with `main.rs` the only place that
//!    knows every layer.
//!
//! Beside them: [`words`] (the one table of words, Japanese and English, for every id a person
//! reads: the console, the HTML report and the command line share it), [`chart`] (bar charts as
//! inline SVG, shared by the bulk report and the console's 統計 page), [`config`] (settings from defaults, file, environment and flags, each bounded),
//! [`telemetry`] (logging and metrics, no personal data by construction), [`terminal`] (when to
//! write colour, how wide the terminal is: one rule for the log and the commands) and [`synthetic`]
//! (invented people and their notations, for the load and roster generators).

pub mod audit;
pub mod chart;
pub mod cli;
pub mod config;
pub mod console;
pub mod contract;
pub mod domain;
pub mod grpc;
pub mod loadgen;
pub mod roster;
pub mod server;
pub mod synthetic;
pub mod telemetry;
pub mod terminal;
pub mod verification;
pub mod words;
