//! Opening a store: the backend is picked from the URL, and the rest of the service sees only
//! the trait.

use std::sync::Arc;

use crate::audit::{
    AuditError,
    store::{AuditBackend, postgres, sqlite},
};

/// Opens the audit store named by `url` (`sqlite:…`, `postgres:…` or `postgresql:…`) and
/// applies its migrations.
///
/// The service holds the result as `Arc<dyn AuditBackend>` so that nothing above this module
/// knows which database it runs on.
pub async fn connect(url: &str) -> Result<Arc<dyn AuditBackend>, AuditError> {
    connect_with(url, sqlite::PageMemory::SERVER).await
}

/// [`connect`] with the page memory of `memory` on SQLite (PostgreSQL's is the server's own).
pub async fn connect_with(
    url: &str,
    memory: sqlite::PageMemory,
) -> Result<Arc<dyn AuditBackend>, AuditError> {
    let scheme = url.split_once(':').map(|(scheme, _)| scheme);
    match scheme {
        Some("sqlite") => Ok(Arc::new(
            sqlite::SqliteBackend::connect_with(url, memory).await?,
        )),
        Some("postgres" | "postgresql") => {
            Ok(Arc::new(postgres::PostgresBackend::connect(url).await?))
        }
        _ => Err(AuditError::Config(
            "the audit database URL must start with sqlite:, postgres: or postgresql:".into(),
        )),
    }
}
