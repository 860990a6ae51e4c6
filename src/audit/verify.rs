//! Recomputing every chain of a store: what `verify-identity audit verify` runs.

use crate::audit::{
    AuditBackend, AuditError, VerifyReport, chain,
    checkpoint::check::Expectations,
    invariants::{Facts, TablesReport},
};

/// Reads every event of `backend` and verifies every writer's chain.
///
/// `Ok` with [`VerifyReport::first_broken`] set when an event does not verify; `Err(Corrupt)`
/// (naming the row id) when a row cannot even be read back as an event, which is a break too.
pub async fn verify_store(backend: &dyn AuditBackend) -> Result<VerifyReport, AuditError> {
    verify_store_against(backend, &mut Expectations::default()).await
}

/// [`verify_store`], showing every event to `checkpoints` on the way (one pass over the
/// events); their [`findings`](Expectations::findings) are then the checkpoint verdict.
pub async fn verify_store_against(
    backend: &dyn AuditBackend,
    checkpoints: &mut Expectations,
) -> Result<VerifyReport, AuditError> {
    let events = backend.read_chains().await?;
    Ok(chain::verify(
        events.into_iter().inspect(|e| checkpoints.observe(e)),
    ))
}

/// [`verify_store_against`], and the gate's tables held against the chain
/// ([`crate::audit::invariants`]): events and rows read in one snapshot, the facts gathered in
/// the same pass as the chain walk.
pub async fn verify_store_and_tables(
    backend: &dyn AuditBackend,
    checkpoints: &mut Expectations,
) -> Result<(VerifyReport, TablesReport), AuditError> {
    let (events, tables) = backend.read_chains_and_tables().await?;
    let mut facts = Facts::default();
    let chains = chain::verify(events.into_iter().inspect(|e| {
        checkpoints.observe(e);
        facts.observe(e);
    }));
    Ok((chains, facts.check(tables)))
}
