//! Registrations made under the keys a rotation replaced.
//!
//! A registration's fingerprint matches only under its own key, so the store's duplicate
//! checks inside the append (and its unique constraints) see the registrations of the current
//! key only. The ones made before a rotation are read here, before the append, recomputing the
//! number's MAC under each previous key. A read outside the transaction is enough for them: no
//! process registers under a replaced key any more (the registrations trigger admits the
//! store's current key only), so what is read cannot change before the append.

use crate::{
    audit::{AuditBackend, AuditError, KeyRing},
    domain::{gate, number::IndividualNumber},
};

/// What the registrations under the ring's previous keys say about registering `number` for
/// `subject_id` with `insurer_number`. Costs one indexed read per previous key; none without a
/// rotation.
pub(super) async fn registrations_under_previous_keys(
    store: &dyn AuditBackend,
    keys: &KeyRing,
    insurer_number: &str,
    subject_id: &str,
    number: &IndividualNumber,
) -> Result<gate::Registrations, AuditError> {
    let mut found = gate::Registrations::default();
    for key in keys.previous() {
        let fingerprint = key.fingerprint_number(number);
        let registrations = store
            .find_registrations(insurer_number, &fingerprint, subject_id)
            .await?;
        // Each registration is judged under its own key: those of the current key are the
        // append's to check, those of another previous key that key's turn of the loop.
        for r in registrations
            .iter()
            .filter(|r| r.number_fingerprint.key_id == key.id)
        {
            let same_number = r.number_fingerprint.mac_hex == fingerprint.mac_hex;
            let same_subject = r.subject_id == subject_id;
            found.number_registered_to_another_subject |= same_number && !same_subject;
            found.subject_has_another_number |= same_subject && !same_number;
        }
    }
    Ok(found)
}
