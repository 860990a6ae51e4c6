//! The hold facts tables (migrations 0011) on the writer's connection: the same statements as
//! `store::hold_facts::apply`, through rusqlite.

use rusqlite::{Connection, OptionalExtension};

use super::WriteError;
use crate::{
    audit::{
        micros_since_epoch,
        store::hold_facts::{self, DecisionColumns, HoldFactChange},
    },
    domain::gate::Resolution,
};

/// Applies `changes` in the writer's open transaction, in order.
pub(super) fn apply(conn: &Connection, changes: &[HoldFactChange<'_>]) -> Result<(), WriteError> {
    for change in changes {
        match change {
            HoldFactChange::Hold(row) => {
                let mut stmt = conn.prepare_cached(hold_facts::INSERT)?;
                stmt.execute(rusqlite::params![
                    row.insurer_number,
                    row.verification_id,
                    row.hold_id,
                    row.subject_id,
                    row.decided_at_us,
                    row.register_by_ns,
                    row.comparisons,
                    row.reasons,
                    row.risk_rank,
                ])?;
                let mut stmt = conn.prepare_cached(hold_facts::INSERT_CANDIDATE)?;
                for (key_id, mac) in &row.candidates {
                    stmt.execute(rusqlite::params![row.hold_id, key_id, mac])?;
                }
            }
            HoldFactChange::Resolve(r) => {
                let back = if r.resolution == Resolution::Requeried {
                    let mut stmt = conn.prepare_cached(hold_facts::SELECT_DECISION)?;
                    stmt.query_row(
                        rusqlite::params![r.insurer_number, r.replaced_by_verification_id],
                        |row| {
                            Ok(DecisionColumns {
                                format: row.get(0)?,
                                event_type: row.get(1)?,
                                occurred_at_us: row.get(2)?,
                                insurer_number: row.get(3)?,
                                verification_id: row.get(4)?,
                                decision: row.get(5)?,
                                body: row.get(6)?,
                                number_fp_key_id: row.get(7)?,
                                number_fp: row.get(8)?,
                            })
                        },
                    )
                    .optional()?
                    .and_then(hold_facts::decision_number)
                } else {
                    None
                };
                let mut stmt = conn.prepare_cached(hold_facts::RESOLVE)?;
                stmt.execute(rusqlite::params![
                    r.resolution.id(),
                    r.cause.map(|c| c.id()),
                    micros_since_epoch(r.occurred_at),
                    back.as_ref().map(|b| b.key_id.as_str()),
                    back.as_ref().map(|b| b.mac_hex.as_str()),
                    r.insurer_number,
                    r.verification_id,
                ])?;
            }
        }
    }
    Ok(())
}
