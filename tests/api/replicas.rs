//! Two replicas (two server processes) on one database under concurrent load from one client:
//! every decision durable and readable from either replica, every chain intact, and of two
//! concurrent commits of one number for two subjects exactly one admitted — many times over,
//! while verifications keep flowing.

use std::time::Duration;

use futures::future::join_all;
use verify_identity::{
    contract::pb::{self, verify_identity_client::VerifyIdentityClient},
    domain::number::IndividualNumber,
};

use crate::{
    helpers::{Backend, TestDatabase, hold_request, register_for, register_request},
    process::{serve, sigterm, wait},
};

on_both_backends_process!(two_replicas_under_concurrent_load_lose_nothing_and_admit_one_commit);

/// Verifications sent in all, spread over both replicas.
const VERIFICATIONS: usize = 400;
/// Pairs of subjects racing to commit one number, one on each replica.
const RACES: usize = 40;

/// A synthetic number with a valid check digit, distinct per `serial`.
fn synthetic_number(serial: usize) -> String {
    let mut base = [0u8; 11];
    let mut n = 70_000_000_000 + serial as u64;
    for d in base.iter_mut().rev() {
        *d = (n % 10) as u8;
        n /= 10;
    }
    let digits = IndividualNumber::from_base(base).expose_digits();
    String::from_utf8(digits.to_vec()).unwrap()
}

pub(crate) async fn two_replicas_under_concurrent_load_lose_nothing_and_admit_one_commit(
    backend: Backend,
) {
    let db = TestDatabase::new(backend).await;
    let mut replicas = [serve(&db, "info"), serve(&db, "info")];
    let mut clients = Vec::new();
    for replica in &replicas {
        clients.push(
            VerifyIdentityClient::connect(format!("http://{}", replica.addr))
                .await
                .unwrap(),
        );
    }

    // Verifications: eight callers, each alternating between the replicas.
    let load = (0..8).map(|caller| {
        let mut clients = clients.clone();
        tokio::spawn(async move {
            let mut answers = Vec::new();
            for i in (caller..VERIFICATIONS).step_by(8) {
                let id = format!("rep-{i}");
                let mut request = if i % 2 == 0 {
                    register_request(&id)
                } else {
                    hold_request(&id)
                };
                request.subject_id = format!("S-{i}");
                let answer = clients[i % 2].verify(request).await.unwrap().into_inner();
                answers.push((i, answer));
            }
            answers
        })
    });

    // Commit races at the same time: two subjects, one number, one commit on each replica.
    let races = (0..RACES).map(|race| {
        let mut clients = clients.clone();
        tokio::spawn(async move {
            let number = synthetic_number(race);
            let requests = [
                register_for(&format!("race-{race}-a"), &format!("R-{race}-A"), &number),
                register_for(&format!("race-{race}-b"), &format!("R-{race}-B"), &number),
            ];
            let mut commits = Vec::new();
            for (side, request) in requests.iter().enumerate() {
                let decided = clients[side].verify(request.clone()).await.unwrap();
                let decided = decided.into_inner();
                assert_eq!(decided.decision(), pb::Decision::Register);
                commits.push(pb::CommitRegistrationRequest {
                    verification_id: decided.verification_id,
                    insurer_number: request.insurer_number.clone(),
                    subject_id: request.subject_id.clone(),
                    individual_number: number.clone(),
                });
            }
            let (mut a, mut b) = (clients[0].clone(), clients[1].clone());
            let (ca, cb) = (commits[0].clone(), commits[1].clone());
            let (ra, rb) = tokio::join!(a.commit_registration(ca), b.commit_registration(cb));
            let wins = usize::from(ra.is_ok()) + usize::from(rb.is_ok());
            assert_eq!(
                wins, 1,
                "race {race}: exactly one commit wins: {ra:?} {rb:?}"
            );
            let loser = ra.err().or(rb.err()).unwrap();
            assert_eq!(loser.code(), tonic::Code::FailedPrecondition);
        })
    });

    let (answers, races) = tokio::join!(join_all(load), join_all(races));
    for race in races {
        race.expect("a race held");
    }
    let answers: Vec<(usize, pb::VerifyResponse)> =
        answers.into_iter().flat_map(|a| a.unwrap()).collect();
    assert_eq!(answers.len(), VERIFICATIONS);

    // Every decision is readable, unchanged, from the replica that did not make it.
    for (i, answer) in &answers {
        let record = clients[(i + 1) % 2]
            .get_verification(pb::GetVerificationRequest {
                verification_id: answer.verification_id.clone(),
                insurer_number: "32130011".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(record.verification.as_ref(), Some(answer), "rep-{i}");
    }

    for replica in &replicas {
        sigterm(&replica.child);
    }
    let statuses = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || replicas.each_mut().map(|r| wait(&mut r.child))),
    )
    .await
    .expect("both replicas stop")
    .unwrap();
    assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");

    // Two chains, intact; one event per verification and per commit (won or refused).
    let store = verify_identity::audit::connect(&db.url).await.unwrap();
    let report = verify_identity::audit::verify::verify_store(store.as_ref())
        .await
        .unwrap();
    assert!(report.first_broken.is_none(), "{:?}", report.first_broken);
    assert_eq!(report.chains, 2);
    assert_eq!(
        report.events_checked as usize,
        VERIFICATIONS + RACES * 2 + RACES * 2
    );
    eprintln!(
        "{backend:?}: two replicas, {VERIFICATIONS} verifications and {RACES} commit races: \
         {} events in 2 intact chains, exactly one commit admitted per race",
        report.events_checked
    );
    db.drop().await;
}
