//! How tests play the tamperer: raw SQL behind a store's back, on the store's own pool (so that
//! a test can also read the settings of the connections the service uses). Test-only, and not
//! part of [`AuditBackend`](super::AuditBackend): the product never reaches behind its store.
//! Each backend implements it beside its own code, where its pool is visible.

use async_trait::async_trait;

/// Raw access to a store's database, for the conformance suite's tampering tests.
#[async_trait]
pub(crate) trait Tamper: Send + Sync {
    /// Runs raw SQL behind the store's back: how tests play the tamperer.
    async fn execute_raw(&self, sql: &str) -> Result<u64, String>;

    /// Removes the append-only triggers, as a tamperer with schema rights could.
    async fn drop_append_only_triggers(&self);

    /// `bytes` as an SQL literal of this database's byte-string type.
    fn blob_literal(&self, bytes: &[u8]) -> String;

    /// The first column of the first row of `sql`, as text: how tests read settings.
    async fn fetch_text(&self, sql: &str) -> Result<String, String>;
}
