//! The conformance suite: what every audit backend must do, written once.
//!
//! Each test takes an `Arc<dyn TestBackend>` on a fresh, empty store. The runners at the end
//! (`sqlite_suite`, always; `postgres_suite`, ignored unless asked for) are generated from one
//! list, so both backends always run the same tests.
//!
//! The tests live by concern: `append` (batches, the writer, failures), `idempotency`,
//! `chains` (tampering, several writers), `gate` (registrations, refusals, holds), `formats`
//! (logs mixing format 1 and format 2 rows), `keys` (the fingerprint keys a store adopts),
//! `tables` (the gate's tables against the chain), `subjects` (the history of a subject); `harness` builds the fresh stores and holds
//! the tests only one backend can express. This file: the synthetic events they share.

use std::{
    sync::Arc,
    time::{Duration, UNIX_EPOCH},
};

use crate::audit::store::tamper::Tamper;
use crate::audit::{
    AppendOutcome, AuditBackend, AuditError, AuditWriter, ChainState, CommitAccepted,
    CommitRefused, Decided, FingerprintKey, HoldResolved, NewEvent, verify_store,
};
use crate::domain::{
    gate::{CommitRefusal, DecisionKind, HoldReason, Resolution},
    number::IndividualNumber,
};

mod append;
mod chains;
mod formats;
mod gate;
mod hold_facts;
mod idempotency;
mod keys;
mod subjects;
mod tables;

use append::*;
use chains::*;
use formats::*;
use gate::*;
use hold_facts::*;
use idempotency::*;
use keys::*;
use subjects::*;
use tables::*;

/// What every conformance test gets: a fresh store, and the tamperer's access to it.
trait TestBackend: AuditBackend + Tamper {}

impl<T: AuditBackend + Tamper> TestBackend for T {}

const INSURER: &str = "12345678";
const OTHER_INSURER: &str = "87654321";

/// A register decision for a synthetic case, with fingerprints of a synthetic number.
fn decided(insurer: &str, request_id: &str, verification_id: &str) -> Decided {
    let key = FingerprintKey::from_secret(vec![0x42; 32]);
    let number = IndividualNumber::parse("123456789018").expect("a synthetic valid number");
    // The comparisons and the rest of a register decision as the unit tests use them.
    Decided {
        insurer_number: insurer.into(),
        subject_id: format!("subject-of-{request_id}"),
        request_id: request_id.into(),
        verification_id: verification_id.into(),
        register_by: Some(UNIX_EPOCH + Duration::new(1_750_432_000, 5)),
        number_fingerprint: Some(key.fingerprint_number(&number)),
        request_fingerprint: Some(key.fingerprint(request_id.as_bytes())),
        ..crate::audit::tests_support::decided()
    }
}

/// [`decided`] as an event.
fn decision(insurer: &str, request_id: &str, verification_id: &str) -> NewEvent {
    NewEvent::Decided(decided(insurer, request_id, verification_id))
}

/// A hold of `d`.
fn held(d: Decided) -> NewEvent {
    NewEvent::Decided(Decided {
        decision: DecisionKind::Hold,
        hold_reasons: vec![HoldReason::FieldDiffers],
        selected_candidate: None,
        number_fingerprint: None,
        ..d
    })
}

/// An event that is neither a decision, a commit nor a resolution (it never claims an
/// idempotency key, a registration or a hold), about `verification_id`.
fn other_event(caller: &str, verification_id: &str) -> NewEvent {
    let d = decided(INSURER, "", verification_id);
    NewEvent::CommitRefused(CommitRefused {
        occurred_at: d.occurred_at,
        caller: caller.into(),
        insurer_number: d.insurer_number,
        subject_id: d.subject_id,
        verification_id: d.verification_id,
        reason: CommitRefusal::NumberMismatch,
        number_fingerprint: d.number_fingerprint,
        request_fingerprint: None,
    })
}

fn appended_id(outcome: &AppendOutcome) -> i64 {
    match outcome {
        AppendOutcome::Appended { id } => *id,
        other => panic!("expected an append, got {other:?}"),
    }
}

fn duplicate_of(verification_id: &str) -> AppendOutcome {
    AppendOutcome::DuplicateRequest {
        existing_verification_id: verification_id.into(),
    }
}

async fn count_events(backend: &dyn TestBackend) -> usize {
    backend.read_chains().await.expect("read chains").len()
}

/// A commit of `number` for `subject` under `verification_id`.
fn commit(insurer: &str, subject: &str, number: &str, verification_id: &str) -> NewEvent {
    let key = FingerprintKey::from_secret(vec![0x42; 32]);
    let number = IndividualNumber::parse(number).expect("a synthetic valid number");
    let d = decided(insurer, "", verification_id);
    NewEvent::CommitAccepted(CommitAccepted {
        occurred_at: d.occurred_at,
        caller: d.caller,
        insurer_number: d.insurer_number,
        subject_id: subject.into(),
        verification_id: d.verification_id,
        commit_id: format!("commit-of-{verification_id}"),
        number_fingerprint: key.fingerprint_number(&number),
        request_fingerprint: d.request_fingerprint,
    })
}

/// A register decision for `subject` with a synthetic `number`.
fn register_decision(subject: &str, number: &str, request_id: &str) -> Decided {
    let key = FingerprintKey::from_secret(vec![0x42; 32]);
    let number = IndividualNumber::parse(number).expect("a synthetic valid number");
    Decided {
        subject_id: subject.into(),
        number_fingerprint: Some(key.fingerprint_number(&number)),
        ..decided(INSURER, request_id, &format!("v-{request_id}"))
    }
}

/// A resolution of the hold `verification_id`.
fn resolution(insurer: &str, verification_id: &str) -> NewEvent {
    let d = decided(insurer, "", verification_id);
    NewEvent::HoldResolved(HoldResolved {
        occurred_at: d.occurred_at,
        caller: "operator-desk".into(),
        insurer_number: d.insurer_number,
        subject_id: d.subject_id,
        verification_id: d.verification_id,
        resolution: Resolution::Withdrawn,
        operator_id: "op-1".into(),
        note: "withdrawn by the employer".into(),
        replaced_by_verification_id: String::new(),
        cause: None,
    })
}

/// Generates one runner module per backend from one list of tests.
///
/// Each runner builds a fresh store, runs the test, cleans up even if it panicked, then
/// re-raises the panic.
macro_rules! runners {
    ($($test:ident),* $(,)?) => {
        mod sqlite_suite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let db = super::harness::SqliteDb::new().await;
                    let backend = db.backend.clone();
                    db.run(super::$test(backend)).await;
                }
            )*
        }

        mod postgres_suite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL"]
                async fn $test() {
                    let db = super::harness::PostgresDb::new().await;
                    let backend = db.backend.clone();
                    db.run(super::$test(backend)).await;
                }
            )*
        }
    };
}

runners!(
    events_are_appended_and_read_back_unchanged,
    unknown_ids_are_not_found,
    concurrent_callers_are_each_answered_after_their_batch_commits,
    dropping_every_handle_flushes_the_queue_before_the_writer_stops,
    an_invalid_event_fails_alone_and_its_batch_mates_are_stored,
    a_repeated_request_is_a_duplicate_of_the_original_and_writes_nothing,
    duplicates_within_one_batch_and_across_batches_name_the_first_decision,
    only_decisions_claim_request_ids,
    different_insurers_may_reuse_a_request_id,
    lookups_never_cross_insurers,
    a_batch_larger_than_one_statement_is_stored_whole,
    the_database_refuses_updates_and_deletes,
    verification_names_exactly_the_event_edited_behind_the_stores_back,
    a_deleted_event_is_detected_at_the_next_one,
    two_writers_interleaving_on_one_database_both_verify,
    chain_heads_name_the_newest_event_of_every_chain,
    replicas_racing_on_one_request_id_store_exactly_one_decision,
    a_failed_transaction_commits_nothing_and_the_chain_stays_usable,
    a_closed_store_fails_closed,
    a_number_or_subject_is_registered_once_per_insurer,
    a_register_decision_contradicting_a_registration_is_not_written,
    a_refusal_reason_is_stored_and_covered_by_the_chain,
    the_database_refuses_changes_to_registrations,
    replicas_racing_to_commit_one_number_register_it_exactly_once,
    open_holds_are_listed_oldest_first_until_resolved_once,
    a_log_mixing_both_formats_loads_verifies_and_is_continued,
    keys_are_adopted_in_order_only_over_what_was_read_and_never_changed,
    a_number_is_registered_under_the_current_key_only,
    a_registration_under_another_key_is_left_to_the_caller_to_judge,
    a_store_written_before_the_key_table_is_opened_only_with_the_key_of_its_events,
    processes_starting_at_once_with_two_keys_on_an_empty_store_adopt_one,
    deleted_rows_let_no_second_decision_commit_or_resolution_through,
    no_conflict_clause_rewrites_a_row_of_the_gates_tables,
    a_subjects_history_is_its_decisions_and_what_followed_each_in_order,
    hold_groups_tell_whether_the_candidates_number_came_back,
    verify_names_hold_facts_that_are_not_what_the_chain_says,
);

mod harness;
