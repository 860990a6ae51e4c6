//! The fingerprint keys a store holds fingerprints under: adopted in order, one adoption at a
//! time, append-only, registrations under the current key only, and found in the events of a
//! store written before the table.

use std::{os::unix::fs::PermissionsExt, path::PathBuf};

use super::*;
use crate::audit::{
    Fingerprint,
    key_adoption::{self, KeyError, KeySettings},
    store::adopted_keys::{Adoption, KeyToAdopt},
};

/// The key every synthetic event of the suite is fingerprinted with.
const SUITE_SECRET: [u8; 32] = [0x42; 32];

fn to_adopt(id: &str) -> KeyToAdopt {
    KeyToAdopt {
        key_id: id.into(),
        key_check: format!("{:032x}", id.len()),
    }
}

fn ids(keys: &[crate::audit::store::adopted_keys::AdoptedKey]) -> Vec<&str> {
    keys.iter().map(|k| k.key_id.as_str()).collect()
}

pub(super) async fn keys_are_adopted_in_order_only_over_what_was_read_and_never_changed(
    backend: Arc<dyn TestBackend>,
) {
    assert!(backend.adopted_keys().await.unwrap().is_empty());
    let Adoption::Done(first) = backend.adopt_keys(&[], &[to_adopt("k-a")]).await.unwrap() else {
        panic!("an empty store adopts");
    };
    assert_eq!(ids(&first), ["k-a"]);
    // A process that read the store while it was still empty adopts nothing.
    let stale = backend.adopt_keys(&[], &[to_adopt("k-b")]).await.unwrap();
    assert_eq!(stale, Adoption::Changed(first.clone()));
    let Adoption::Done(both) = backend
        .adopt_keys(&first, &[to_adopt("k-b")])
        .await
        .unwrap()
    else {
        panic!("a rotation over what was read adopts");
    };
    assert_eq!(ids(&both), ["k-a", "k-b"]);
    assert!(both[0].seq < both[1].seq);
    assert_eq!(backend.adopted_keys().await.unwrap(), both);
    for sql in [
        "DELETE FROM fingerprint_keys",
        "UPDATE fingerprint_keys SET key_check = 'x'",
    ] {
        assert!(backend.execute_raw(sql).await.is_err(), "{sql} was allowed");
    }
    assert_eq!(backend.adopted_keys().await.unwrap(), both);
}

pub(super) async fn a_number_is_registered_under_the_current_key_only(
    backend: Arc<dyn TestBackend>,
) {
    let suite_key = FingerprintKey::from_secret(SUITE_SECRET.to_vec());
    let mut chain = ChainState::new();
    backend
        .adopt_keys(&[], &[to_adopt(&suite_key.id)])
        .await
        .unwrap();
    let first = backend
        .append_batch(&mut chain, &[commit(INSURER, "s-1", "123456789018", "v-1")])
        .await
        .unwrap();
    appended_id(&first[0]);

    // Another process rotates to a newer key: this one's key is no longer current.
    let adopted = backend.adopted_keys().await.unwrap();
    backend
        .adopt_keys(&adopted, &[to_adopt("k-newer")])
        .await
        .unwrap();
    let stale = backend
        .append_batch(&mut chain, &[commit(INSURER, "s-2", "983205673214", "v-2")])
        .await
        .unwrap_err();
    assert!(
        stale.to_string().contains("no longer the current key"),
        "{stale}"
    );
    // Nothing of the refused batch was stored; a commit under the newer key is.
    let NewEvent::CommitAccepted(mut newer) = commit(INSURER, "s-2", "983205673214", "v-2") else {
        unreachable!()
    };
    newer.number_fingerprint = Fingerprint {
        key_id: "k-newer".into(),
        ..newer.number_fingerprint
    };
    let stored = backend
        .append_batch(&mut chain, &[NewEvent::CommitAccepted(newer)])
        .await
        .unwrap();
    appended_id(&stored[0]);
    assert_eq!(count_events(&*backend).await, 2);
}

pub(super) async fn a_registration_under_another_key_is_left_to_the_caller_to_judge(
    backend: Arc<dyn TestBackend>,
) {
    let mut chain = ChainState::new();
    backend
        .append_batch(&mut chain, &[commit(INSURER, "s-1", "123456789018", "v-1")])
        .await
        .unwrap();
    // The same subject and number, fingerprinted under a key that replaced the suite's: the
    // MACs differ, so the store cannot tell whether it is the same number and does not refuse
    // (the service reads registrations of previous keys before the append).
    let newer = FingerprintKey::from_secret(vec![0x43; 32]);
    let number = IndividualNumber::parse("123456789018").unwrap();
    let decision = Decided {
        number_fingerprint: Some(newer.fingerprint_number(&number)),
        ..register_decision("s-1", "123456789018", "r-2")
    };
    let outcomes = backend
        .append_batch(&mut chain, &[NewEvent::Decided(decision)])
        .await
        .unwrap();
    appended_id(&outcomes[0]);
}

/// A key file holding `secret`, private, in a directory of its own.
fn key_file(secret: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vi-keys-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("audit-hmac.key");
    std::fs::write(&path, hex::encode(secret)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn remove(file: &std::path::Path) {
    let _ = std::fs::remove_dir_all(file.parent().unwrap());
}

pub(super) async fn a_store_written_before_the_key_table_is_opened_only_with_the_key_of_its_events(
    backend: Arc<dyn TestBackend>,
) {
    // A key a file can hold (the suite's own is one byte repeated, which no file may be).
    let secret: Vec<u8> = (1..=32).collect();
    let old_key = FingerprintKey::from_secret(secret.clone());
    let number = IndividualNumber::parse("123456789018").unwrap();
    let written_before = Decided {
        number_fingerprint: Some(old_key.fingerprint_number(&number)),
        request_fingerprint: Some(old_key.fingerprint(b"r-1")),
        ..decided(INSURER, "r-1", "v-1")
    };
    let mut chain = ChainState::new();
    backend
        .append_batch(&mut chain, &[NewEvent::Decided(written_before)])
        .await
        .unwrap();
    let other = key_file(&(101..=132).collect::<Vec<u8>>());
    let refused = key_adoption::open(backend.as_ref(), &other, &KeySettings::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, KeyError::UnknownKeys { missing, .. } if missing[0].key_id == old_key.id),
        "{refused}"
    );
    assert!(backend.adopted_keys().await.unwrap().is_empty());

    let right = key_file(&secret);
    let opened = key_adoption::open(backend.as_ref(), &right, &KeySettings::default())
        .await
        .unwrap();
    assert_eq!(opened.adopted, std::slice::from_ref(&old_key.id));
    assert!(!opened.created);
    let adopted = backend.adopted_keys().await.unwrap();
    assert_eq!(ids(&adopted), [old_key.id.as_str()]);
    assert_eq!(adopted[0].key_check, old_key.check());
    remove(&other);
    remove(&right);
}

pub(super) async fn processes_starting_at_once_with_two_keys_on_an_empty_store_adopt_one(
    backend: Arc<dyn TestBackend>,
) {
    // Two files that do not exist yet: each process would create its own key.
    let files: Vec<PathBuf> = (0..2)
        .map(|i| {
            let f = key_file(&(i..i + 32).collect::<Vec<u8>>());
            std::fs::remove_file(&f).unwrap();
            f
        })
        .collect();
    let opened = futures::future::join_all(files.iter().map(|f| {
        let backend = backend.clone();
        async move { key_adoption::open(backend.as_ref(), f, &KeySettings::default()).await }
    }))
    .await;
    let winners: Vec<_> = opened.iter().filter(|o| o.is_ok()).collect();
    assert_eq!(winners.len(), 1, "{opened:?}");
    let (won, lost) = if opened[0].is_ok() {
        (&files[0], &files[1])
    } else {
        (&files[1], &files[0])
    };
    assert!(won.exists());
    assert!(!lost.exists(), "the loser's unused key file is removed");
    let adopted = backend.adopted_keys().await.unwrap();
    assert_eq!(adopted.len(), 1);
    for f in &files {
        remove(f);
    }
}
