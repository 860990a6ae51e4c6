//! What [`plan`] decides for each state of a store and each set of keys given.

use std::{
    path::{Path, PathBuf},
    time::UNIX_EPOCH,
};

use super::*;

fn key(byte: u8) -> FingerprintKey {
    let mut secret = vec![byte; 32];
    secret[31] = 0;
    FingerprintKey::from_secret(secret)
}

/// A key the store adopted under `id`.
fn adopted(k: &FingerprintKey, id: &str) -> Recorded {
    Recorded {
        key_id: id.into(),
        key_check: Some(k.check()),
        adopted_at: Some(UNIX_EPOCH),
    }
}

/// A key id found only in the events of a store written before the table.
fn scanned(id: &str) -> Recorded {
    Recorded {
        key_id: id.into(),
        key_check: None,
        adopted_at: None,
    }
}

fn file() -> &'static Path {
    Path::new("/srv/vi/audit-hmac.key")
}

fn previous(keys: &[&FingerprintKey]) -> Vec<(FingerprintKey, PathBuf)> {
    keys.iter()
        .enumerate()
        .map(|(i, k)| ((*k).clone(), PathBuf::from(format!("/srv/vi/old-{i}.key"))))
        .collect()
}

fn adopting(plan: &Plan) -> Vec<&str> {
    plan.to_adopt.iter().map(|k| k.key_id.as_str()).collect()
}

fn ids(keys: &[FingerprintKey]) -> Vec<&str> {
    keys.iter().map(|k| k.id.as_str()).collect()
}

#[test]
fn an_empty_store_adopts_the_current_key_under_its_derived_or_configured_id() {
    let a = key(1);
    let plan = plan(&[], a.clone(), file(), None, &[]).unwrap();
    assert_eq!(adopting(&plan), [a.id.as_str()]);
    assert_eq!(plan.to_adopt[0].key_check, a.check());
    assert_eq!(plan.ring.current().id, a.id);
    let plan = super::plan(&[], a, file(), Some("prod-2026"), &[]).unwrap();
    assert_eq!(adopting(&plan), ["prod-2026"]);
    assert_eq!(plan.ring.current().id, "prod-2026");
}

#[test]
fn a_store_that_knows_the_key_adopts_nothing_and_keeps_its_id() {
    let a = key(1);
    let plan = plan(&[adopted(&a, "prod")], a.clone(), file(), None, &[]).unwrap();
    assert!(plan.to_adopt.is_empty());
    assert_eq!(plan.ring.current().id, "prod");
    let plan = super::plan(&[adopted(&a, "prod")], a, file(), Some("prod"), &[]).unwrap();
    assert_eq!(plan.ring.current().id, "prod");
}

#[test]
fn another_key_than_the_stores_is_refused_naming_the_stores_key_and_the_file() {
    let (a, b) = (key(1), key(2));
    let err = plan(&[adopted(&a, &a.id)], b.clone(), file(), None, &[]).unwrap_err();
    let KeyError::UnknownKeys { missing, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(missing[0].key_id, a.id);
    let message = err.to_string();
    assert!(message.contains(&a.id), "{message}");
    assert!(message.contains(&b.id), "{message}");
    assert!(message.contains("/srv/vi/audit-hmac.key"), "{message}");
    assert!(message.contains("--hmac-previous-key-file"), "{message}");
}

#[test]
fn a_rotation_with_the_old_key_kept_adopts_the_new_key_and_matches_under_both() {
    let (a, b) = (key(1), key(2));
    let plan = plan(
        &[adopted(&a, "k-old")],
        b.clone(),
        file(),
        None,
        &previous(&[&a]),
    )
    .unwrap();
    assert_eq!(adopting(&plan), [b.id.as_str()]);
    assert_eq!(plan.ring.current().id, b.id);
    // The previous key goes by the id the store recorded it under, whatever it derives.
    assert_eq!(ids(plan.ring.previous()), ["k-old"]);
    let number = crate::domain::number::IndividualNumber::parse("123456789018").unwrap();
    let old = a.with_id("k-old").fingerprint_number(&number);
    assert!(plan.ring.matches_number(&old, &number));
}

#[test]
fn a_replaced_key_given_as_current_is_refused_naming_the_newer_key() {
    let (a, b) = (key(1), key(2));
    let store = [adopted(&a, &a.id), adopted(&b, &b.id)];
    let err = plan(&store, a.clone(), file(), None, &previous(&[&b])).unwrap_err();
    assert!(
        matches!(&err, KeyError::CurrentKeyRetired { newest, .. } if newest.key_id == b.id),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.contains(&format!("replaced in this audit store by key {}", b.id)));
    assert!(message.contains("(adopted 1970-01-01)"), "{message}");
    // With the newer key current and the replaced one kept, it starts.
    let plan = super::plan(&store, b, file(), None, &previous(&[&a])).unwrap();
    assert!(plan.to_adopt.is_empty());
}

#[test]
fn a_configured_id_must_agree_with_the_store() {
    let (a, b) = (key(1), key(2));
    let err = plan(&[adopted(&a, "prod")], a, file(), Some("other"), &[]).unwrap_err();
    assert!(
        matches!(&err, KeyError::IdConflict { recorded, .. } if recorded == "prod"),
        "{err}"
    );
    // A new key may not take the id of a key the store holds.
    let err = plan(
        &[adopted(&key(1), "prod")],
        b,
        file(),
        Some("prod"),
        &previous(&[&key(1)]),
    )
    .unwrap_err();
    assert!(matches!(err, KeyError::IdTaken { .. }), "{err}");
}

#[test]
fn a_key_file_swapped_under_a_configured_id_is_refused_as_another_secret() {
    let (a, b) = (key(1), key(2));
    let err = plan(&[adopted(&a, "prod")], b, file(), Some("prod"), &[]).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, KeyError::UnknownKeys { .. }), "{message}");
    assert!(message.contains("another secret"), "{message}");
}

#[test]
fn key_ids_found_only_in_events_are_adopted_with_the_current_key_last() {
    let (a, c) = (key(1), key(3));
    let plan = plan(&[scanned(&a.id)], a.clone(), file(), None, &[]).unwrap();
    assert_eq!(adopting(&plan), [a.id.as_str()]);
    let plan = super::plan(
        &[scanned(&a.id), scanned(&c.id)],
        a.clone(),
        file(),
        None,
        &previous(&[&c]),
    )
    .unwrap();
    assert_eq!(adopting(&plan), [c.id.as_str(), a.id.as_str()]);
    assert_eq!(plan.to_adopt[0].key_check, c.check());
    // A configured id found in the events is trusted for a key of that id.
    let plan = super::plan(&[scanned("prod")], c, file(), Some("prod"), &[]).unwrap();
    assert_eq!(adopting(&plan), ["prod"]);
}

#[test]
fn a_derived_key_id_found_in_events_is_not_matched_by_another_key_configured_with_it() {
    let (a, b) = (key(1), key(2));
    let err = plan(&[scanned(&a.id)], b, file(), Some(&a.id), &[]).unwrap_err();
    assert!(matches!(err, KeyError::UnknownKeys { .. }), "{err}");
}

#[test]
fn the_key_file_is_beside_a_sqlite_database_and_required_for_postgresql() {
    let at = |url: &str| key_file(url, None).unwrap();
    assert_eq!(
        at("sqlite:var/audit.sqlite"),
        Path::new("var/audit-hmac.key")
    );
    assert_eq!(
        at("sqlite:///data/vi/audit.sqlite?mode=rwc"),
        Path::new("/data/vi/audit-hmac.key")
    );
    assert_eq!(at("sqlite:audit.sqlite"), Path::new("./audit-hmac.key"));
    assert_eq!(
        key_file("postgres://db/vi", Some(Path::new("/etc/vi/k"))).unwrap(),
        Path::new("/etc/vi/k")
    );
    let err = key_file("postgres://db/vi", None).unwrap_err().to_string();
    assert!(err.contains("--hmac-key-file"), "{err}");
}
