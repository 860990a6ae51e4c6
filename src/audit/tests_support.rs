//! Synthetic events shared by the audit module's tests. No real personal data: subjects are
//! made-up ids and fingerprints are of synthetic numbers or plain bytes.

use std::time::{Duration, UNIX_EPOCH};

use crate::{
    audit::{
        AccessDenied, CommitAccepted, CommitRefused, ComparisonRow, ConsoleSignedIn,
        ConsoleSignedOut, Decided, Fingerprint, HoldAssigned, HoldResolved, NewEvent,
        SessionEnding, SignInMethod,
    },
    domain::{
        Field, MatchClass, Stage,
        gate::{CommitRefusal, DecisionKind, HoldReason, Resolution},
        subject::SubjectKind,
    },
};

/// A fingerprint whose MAC is 32 bytes of `byte`.
pub(crate) fn fingerprint(byte: u8) -> Fingerprint {
    Fingerprint {
        key_id: "k-1".into(),
        mac_hex: hex::encode([byte; 32]),
    }
}

/// A register decision with two comparisons, in whole microseconds (so it reads back equal).
pub(crate) fn decided() -> Decided {
    Decided {
        occurred_at: UNIX_EPOCH + Duration::from_micros(1_750_000_000_123_456),
        caller: "registration-service".into(),
        insurer_number: "12345678".into(),
        subject_id: "subject-1".into(),
        subject_kind: SubjectKind::Dependent,
        request_id: "request-1".into(),
        verification_id: "verification-1".into(),
        policy_version: "default-2023-05".into(),
        decision: DecisionKind::Register,
        comparisons: vec![
            ComparisonRow {
                stage: Stage::DeclaredVsQuery,
                field: Field::KanjiName,
                class: MatchClass::Variant,
                rules: vec!["kanji.variant".into(), "space".into()],
                candidate_index: 0,
            },
            ComparisonRow {
                stage: Stage::QueryVsCandidate,
                field: Field::BirthDate,
                class: MatchClass::Notation,
                rules: vec!["date.era".into()],
                candidate_index: 0,
            },
        ],
        hold_reasons: vec![],
        fields_to_complete: vec![],
        selected_candidate: Some(0),
        register_by: Some(UNIX_EPOCH + Duration::new(1_750_432_000, 123_456_789)),
        number_fingerprint: Some(fingerprint(0xab)),
        request_fingerprint: Some(fingerprint(0xcd)),
        candidate_fingerprints: Vec::new(),
    }
}

/// One event of every kind, each with every field it has set.
pub(crate) fn one_of_each() -> Vec<NewEvent> {
    let d = decided();
    let at = d.occurred_at + Duration::from_secs(60);
    vec![
        NewEvent::Decided(d.clone()),
        NewEvent::Decided(Decided {
            decision: DecisionKind::Hold,
            hold_reasons: vec![HoldReason::FieldDiffers, HoldReason::MultipleCandidates],
            selected_candidate: None,
            number_fingerprint: None,
            register_by: None,
            subject_kind: SubjectKind::Unspecified,
            ..d.clone()
        }),
        NewEvent::Decided(Decided {
            decision: DecisionKind::Return,
            fields_to_complete: vec![Field::KanaName, Field::Address],
            selected_candidate: None,
            number_fingerprint: None,
            ..d.clone()
        }),
        NewEvent::CommitAccepted(CommitAccepted {
            occurred_at: at,
            caller: d.caller.clone(),
            insurer_number: d.insurer_number.clone(),
            subject_id: d.subject_id.clone(),
            verification_id: d.verification_id.clone(),
            commit_id: "commit-1".into(),
            number_fingerprint: fingerprint(0xab),
            request_fingerprint: Some(fingerprint(0xef)),
        }),
        NewEvent::CommitRefused(CommitRefused {
            occurred_at: at,
            caller: d.caller.clone(),
            insurer_number: d.insurer_number.clone(),
            subject_id: d.subject_id.clone(),
            verification_id: d.verification_id.clone(),
            reason: CommitRefusal::NumberMismatch,
            number_fingerprint: Some(fingerprint(0x01)),
            request_fingerprint: Some(fingerprint(0x02)),
        }),
        NewEvent::HoldResolved(HoldResolved {
            occurred_at: at,
            caller: "operator-desk".into(),
            insurer_number: d.insurer_number.clone(),
            subject_id: d.subject_id.clone(),
            verification_id: d.verification_id.clone(),
            resolution: Resolution::Requeried,
            operator_id: "op-tanaka".into(),
            note: "re-queried with the address".into(),
            replaced_by_verification_id: "verification-2".into(),
            cause: None,
        }),
        NewEvent::AccessDenied(AccessDenied {
            occurred_at: at,
            caller: "unauthenticated".into(),
            insurer_number: String::new(),
            rpc: "Verify".into(),
            reason: "UNAUTHENTICATED".into(),
            count: 1,
            peer: String::new(),
            first_occurred_at: None,
        }),
        NewEvent::HoldAssigned(HoldAssigned {
            occurred_at: at,
            caller: "sato".into(),
            insurer_number: d.insurer_number.clone(),
            subject_id: d.subject_id.clone(),
            verification_id: d.verification_id.clone(),
            assignee: "sato".into(),
        }),
        NewEvent::ConsoleSignedIn(ConsoleSignedIn {
            occurred_at: at,
            caller: "sato".into(),
            method: SignInMethod::Password,
        }),
        NewEvent::ConsoleSignedOut(ConsoleSignedOut {
            occurred_at: at,
            caller: "sato".into(),
            method: SignInMethod::Password,
            ending: SessionEnding::Idle,
            signed_in_at: at - std::time::Duration::from_secs(900),
        }),
    ]
}
