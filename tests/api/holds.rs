//! Held cases through real calls: ResolveHold closes a hold once, ListHolds pages and
//! filters the open ones, GetVerification shows where each stands.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tonic::{Code, Status};
use tonic_types::StatusExt;
use verify_identity::{audit::EventType, contract::pb};

use crate::helpers::{Backend, TestApp, hold_request, register_for, register_request, spawn_app};

on_both_backends!(
    a_hold_is_resolved_once_and_get_verification_shows_how,
    a_resolution_is_refused_for_bad_input_and_for_anything_but_an_open_hold,
    list_holds_pages_through_open_holds_oldest_first,
    list_holds_filters_by_reason_and_by_deadline,
    the_holds_command_lists_and_resolves_through_the_server,
    a_replacement_must_be_a_later_decision_about_the_same_subject_of_the_same_insurer,
    a_note_may_span_lines_but_is_bounded_and_the_operator_id_is_one_line,
    a_page_token_is_opaque_and_good_only_for_its_insurer_on_any_replica,
    an_unknown_or_unspecified_reason_filter_is_refused_never_dropped,
    the_holds_summary_counts_open_holds_per_insurer_class_and_deadline,
    a_resolution_keeps_its_cause_in_the_log_and_an_unknown_cause_is_named,
    a_hold_is_claimed_taken_over_and_released_and_only_while_it_is_open,
    list_holds_filters_by_assignee_and_by_nobody_in_both_orders,
);

const INSURER: &str = "32130011";

async fn verified(app: &TestApp, request: pb::VerifyRequest) -> String {
    let response = app.client.clone().verify(request).await.unwrap();
    response.into_inner().verification_id
}

fn resolve(
    verification_id: &str,
    how: pb::Resolution,
    replaced_by: &str,
) -> pb::ResolveHoldRequest {
    pb::ResolveHoldRequest {
        verification_id: verification_id.into(),
        insurer_number: INSURER.into(),
        resolution: how.into(),
        operator_id: "operator-7".into(),
        note: "confirmed by phone".into(),
        replaced_by_verification_id: replaced_by.into(),
        ..Default::default()
    }
}

async fn resolved(
    app: &TestApp,
    request: pb::ResolveHoldRequest,
) -> Result<pb::VerificationRecord, Status> {
    let response = app.client.clone().resolve_hold(request).await?;
    Ok(response.into_inner().record.expect("a record"))
}

async fn list(app: &TestApp, request: pb::ListHoldsRequest) -> pb::ListHoldsResponse {
    app.client
        .clone()
        .list_holds(request)
        .await
        .unwrap()
        .into_inner()
}

fn ids(response: &pb::ListHoldsResponse) -> Vec<String> {
    response
        .holds
        .iter()
        .map(|h| h.verification.as_ref().unwrap().verification_id.clone())
        .collect()
}

fn reason(status: &Status) -> String {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    status
        .get_error_details()
        .error_info()
        .unwrap()
        .reason
        .clone()
}

async fn a_hold_is_resolved_once_and_get_verification_shows_how(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let held = verified(&app, hold_request("h-1")).await;
    let replacement = verified(&app, register_request("r-1")).await;
    let record = resolved(
        &app,
        resolve(&held, pb::Resolution::Requeried, &replacement),
    )
    .await
    .unwrap();
    assert_eq!(record.state(), pb::VerificationState::HoldResolved);
    let resolution = record.resolution.clone().unwrap();
    assert_eq!(resolution.resolution(), pb::Resolution::Requeried);
    assert_eq!(resolution.operator_id, "operator-7");
    assert_eq!(resolution.replaced_by_verification_id, replacement);
    assert!(resolution.resolved_at.is_some());

    let fetched = app
        .client
        .clone()
        .get_verification(pb::GetVerificationRequest {
            verification_id: held.clone(),
            insurer_number: INSURER.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fetched, record);

    let again = resolved(&app, resolve(&held, pb::Resolution::Withdrawn, ""))
        .await
        .unwrap_err();
    assert_eq!(reason(&again), "HOLD_NOT_OPEN");
    // A resolved hold is not committable either: it never decided register.
    let commit = app
        .client
        .clone()
        .commit_registration(pb::CommitRegistrationRequest {
            verification_id: held.clone(),
            insurer_number: INSURER.into(),
            subject_id: "1234-567-01".into(),
            individual_number: "402718593027".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&commit), "NOT_REGISTER");

    app.stop().await;
    let report = crate::audit_report(&app.db.url).await;
    assert!(report.first_broken.is_none());
    let store = verify_identity::audit::connect(&app.db.url).await.unwrap();
    let events = store.read_chains().await.unwrap();
    store.close().await;
    let resolutions = events
        .iter()
        .filter(|e| e.event.event_type() == EventType::HoldResolved)
        .count();
    assert_eq!(resolutions, 1);
    app.finish().await;
}

async fn a_resolution_is_refused_for_bad_input_and_for_anything_but_an_open_hold(backend: Backend) {
    let app = spawn_app(backend).await;
    let held = verified(&app, hold_request("h-1")).await;
    let registered = verified(&app, register_request("r-1")).await;

    let mut no_operator = resolve(&held, pb::Resolution::Withdrawn, "");
    no_operator.operator_id.clear();
    let bad = [
        (no_operator, "operator_id"),
        (
            resolve(&held, pb::Resolution::Requeried, ""),
            "replaced_by_verification_id",
        ),
        (
            resolve(&held, pb::Resolution::Unspecified, ""),
            "resolution",
        ),
    ];
    for (request, field) in bad {
        let status = resolved(&app, request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        assert_eq!(
            details.bad_request().unwrap().field_violations[0].field,
            field
        );
    }
    let unknown = resolved(&app, resolve("no-such", pb::Resolution::Withdrawn, ""))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let not_held = resolved(&app, resolve(&registered, pb::Resolution::Withdrawn, ""))
        .await
        .unwrap_err();
    assert_eq!(reason(&not_held), "NOT_HELD");
    let no_replacement = resolved(&app, resolve(&held, pb::Resolution::Requeried, "no-such"))
        .await
        .unwrap_err();
    assert_eq!(reason(&no_replacement), "REPLACEMENT_NOT_FOUND");
    // None of that closed the hold.
    let record = resolved(&app, resolve(&held, pb::Resolution::NumberFromPerson, ""))
        .await
        .unwrap();
    assert_eq!(
        record.resolution.unwrap().resolution(),
        pb::Resolution::NumberFromPerson
    );
    app.finish().await;
}

async fn list_holds_pages_through_open_holds_oldest_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut held = Vec::new();
    for i in 0..5 {
        held.push(verified(&app, hold_request(&format!("h-{i}"))).await);
    }
    verified(&app, register_request("r-1")).await;
    let mut elsewhere = hold_request("h-other");
    elsewhere.insurer_number = "06139999".into();
    verified(&app, elsewhere).await;
    resolved(&app, resolve(&held[1], pb::Resolution::Withdrawn, ""))
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = list(
            &app,
            pb::ListHoldsRequest {
                insurer_number: INSURER.into(),
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            },
        )
        .await;
        pages += 1;
        assert!(page.holds.len() <= 2);
        for h in &page.holds {
            assert_eq!(h.state(), pb::VerificationState::Held);
            assert!(h.verification.as_ref().unwrap().register_by.is_some());
            assert!(!h.verification.as_ref().unwrap().hold_reasons.is_empty());
        }
        seen.extend(ids(&page));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 2);
    let open: Vec<String> = [0, 2, 3, 4].iter().map(|&i| held[i].clone()).collect();
    assert_eq!(seen, open);

    let bad = app
        .client
        .clone()
        .list_holds(pb::ListHoldsRequest {
            insurer_number: INSURER.into(),
            page_token: "not-a-token".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    app.finish().await;
}

async fn list_holds_filters_by_reason_and_by_deadline(backend: Backend) {
    let app = spawn_app(backend).await;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let received = |ago: Duration| pbjson_types::Timestamp {
        seconds: i64::try_from((now - ago).as_secs()).unwrap(),
        nanos: 0,
    };
    let mut overdue = hold_request("late");
    overdue.received_at = Some(received(Duration::from_secs(10 * 86_400)));
    let overdue = verified(&app, overdue).await;
    let mut fresh = hold_request("fresh");
    fresh.received_at = Some(received(Duration::ZERO));
    let fresh = verified(&app, fresh).await;
    let mut nobody = hold_request("nobody");
    nobody.received_at = Some(received(Duration::ZERO));
    nobody.candidates.clear();
    let nobody = verified(&app, nobody).await;

    let all = list(
        &app,
        pb::ListHoldsRequest {
            insurer_number: INSURER.into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&all), [overdue.clone(), fresh.clone(), nobody.clone()]);
    assert!(all.next_page_token.is_empty());
    let late = list(
        &app,
        pb::ListHoldsRequest {
            insurer_number: INSURER.into(),
            overdue_only: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&late), [overdue]);
    let no_candidate = list(
        &app,
        pb::ListHoldsRequest {
            insurer_number: INSURER.into(),
            reasons: vec![pb::HoldReason::NoCandidate.into()],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&no_candidate), [nobody]);
    app.finish().await;
}

async fn the_holds_command_lists_and_resolves_through_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let held = verified(&app, hold_request("cli-hold-1")).await;
    let server = format!("http://{}", app.addr);
    let holds = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_verify-identity"))
            .arg("holds")
            .args(["--server", &server, "--lang", "en"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, table) = holds(&["list", "--insurer", INSURER]);
    assert_eq!(code, Some(0), "{table}");
    assert!(
        table.contains(&held) && table.contains("A field differs from J-LIS"),
        "{table}"
    );
    assert!(table.contains("1 open hold(s)"), "{table}");
    let (code, json) = holds(&[
        "list",
        "--insurer",
        INSURER,
        "--json",
        "--reason",
        "field_differs",
    ]);
    assert_eq!(code, Some(0));
    let record: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(record["verification"]["verificationId"], held.as_str());
    let (code, out) = holds(&[
        "resolve",
        "--insurer",
        INSURER,
        "--verification-id",
        &held,
        "--resolution",
        "withdrawn",
        "--operator",
        "op-7",
        "--cause",
        "届書の誤記",
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("VERIFICATION_STATE_HOLD_RESOLVED"), "{out}");
    let stored = app
        .client
        .clone()
        .get_verification(pb::GetVerificationRequest {
            verification_id: held.clone(),
            insurer_number: INSURER.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored.resolution.unwrap().cause(), pb::HoldCause::FormError);
    // Closed once: a second resolve is refused with its reason.
    let (code, _) = holds(&[
        "resolve",
        "--insurer",
        INSURER,
        "--verification-id",
        &held,
        "--resolution",
        "withdrawn",
        "--operator",
        "op-7",
    ]);
    assert_eq!(code, Some(2));
    let (_, table) = holds(&["list", "--insurer", INSURER]);
    assert!(table.contains("0 open hold(s)"), "{table}");
    app.finish().await;
}

async fn a_replacement_must_be_a_later_decision_about_the_same_subject_of_the_same_insurer(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let earlier = verified(&app, register_request("r-early")).await;
    let held = verified(&app, hold_request("h-1")).await;
    let sibling = verified(
        &app,
        register_for("r-sibling", "1234-567-02", "402718593027"),
    )
    .await;
    let mut elsewhere = register_request("r-elsewhere");
    elsewhere.insurer_number = "06139999".into();
    let elsewhere = verified(&app, elsewhere).await;
    for (replacement, expected) in [
        (&sibling, "REPLACEMENT_OTHER_SUBJECT"),
        (&earlier, "REPLACEMENT_NOT_LATER"),
        (&elsewhere, "REPLACEMENT_NOT_FOUND"),
    ] {
        let status = resolved(&app, resolve(&held, pb::Resolution::Requeried, replacement))
            .await
            .unwrap_err();
        assert_eq!(reason(&status), expected);
    }
    let later = verified(&app, register_request("r-later")).await;
    let record = resolved(&app, resolve(&held, pb::Resolution::Requeried, &later))
        .await
        .unwrap();
    assert_eq!(
        record.resolution.unwrap().replaced_by_verification_id,
        later
    );
    app.finish().await;
}

async fn a_note_may_span_lines_but_is_bounded_and_the_operator_id_is_one_line(backend: Backend) {
    let app = spawn_app(backend).await;
    let held = verified(&app, hold_request("h-1")).await;
    let with = |operator: &str, note: &str| pb::ResolveHoldRequest {
        operator_id: operator.into(),
        note: note.into(),
        ..resolve(&held, pb::Resolution::Withdrawn, "")
    };
    let long_note = "あ".repeat(2001);
    for (request, field) in [
        (with("operator-7\nforged line", ""), "operator_id"),
        (with(&"o".repeat(129), ""), "operator_id"),
        (with("operator-7", &long_note), "note"),
        (with("operator-7", "called\rback"), "note"),
        (with("operator-7", "called\u{1b}[2Jback"), "note"),
    ] {
        let status = resolved(&app, request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let fields: Vec<&str> = details
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .map(|v| v.field.as_str())
            .collect();
        assert_eq!(fields, [field]);
    }
    let note = format!("called back\nconfirmed the address\n{}", "あ".repeat(1900));
    let record = resolved(&app, with("operator-7", &note)).await.unwrap();
    assert_eq!(record.resolution.unwrap().note, note);
    app.finish().await;
}

async fn a_page_token_is_opaque_and_good_only_for_its_insurer_on_any_replica(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..3 {
        verified(&app, hold_request(&format!("h-{i}"))).await;
    }
    let first = |insurer: &str, token: &str| pb::ListHoldsRequest {
        insurer_number: insurer.into(),
        page_size: 1,
        page_token: token.into(),
        ..Default::default()
    };
    let page = list(&app, first(INSURER, "")).await;
    let token = page.next_page_token.clone();
    assert!(!token.is_empty());
    // Nothing in it reads as a row id.
    let bytes = hex::decode(&token).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("holds-after"));

    // Another server on the same database and key continues the listing.
    let mut replica = app.spawn_replica().await;
    let next = replica
        .client
        .clone()
        .list_holds(first(INSURER, &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next.holds.len(), 1);
    assert_ne!(ids(&next), ids(&page));
    replica.stop().await;

    let mut tampered = bytes.clone();
    tampered[5] ^= 1;
    for (insurer, bad) in [
        ("06139999", token.clone()),
        (INSURER, hex::encode(tampered)),
        (INSURER, hex::encode("holds-after:2")),
        (INSURER, "zz".into()),
    ] {
        let status = app
            .client
            .clone()
            .list_holds(first(insurer, &bad))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{insurer} {bad}");
        let details = status.get_error_details();
        assert_eq!(
            details.bad_request().unwrap().field_violations[0].field,
            "page_token"
        );
    }
    app.finish().await;
}

async fn an_unknown_or_unspecified_reason_filter_is_refused_never_dropped(backend: Backend) {
    let app = spawn_app(backend).await;
    app.client
        .clone()
        .verify(hold_request("r-1"))
        .await
        .unwrap();
    for reasons in [vec![999], vec![pb::HoldReason::Unspecified as i32]] {
        let status = app
            .client
            .clone()
            .list_holds(pb::ListHoldsRequest {
                insurer_number: "32130011".into(),
                reasons: reasons.clone(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{reasons:?}");
        assert_eq!(crate::helpers::violated_fields(&status), ["reasons[0]"]);
    }
    app.finish().await;
}

/// The managers' gauges' numbers: open holds per insurer, risk class and overdue, and the age
/// of each insurer's oldest, read by a second set of use cases on the same database (as a
/// replica would).
async fn the_holds_summary_counts_open_holds_per_insurer_class_and_deadline(backend: Backend) {
    use verify_identity::{
        audit::{self, AuditWriter, FingerprintKey, KeyRing},
        domain::policy::Policy,
        verification::Verifications,
    };
    let app = spawn_app(backend).await;
    // The helpers' forms were received long ago: their deadlines have passed.
    let overdue = verified(&app, hold_request("sum-1")).await;
    let mut fresh = hold_request("sum-2");
    fresh.received_at = Some(pbjson_types::Timestamp {
        seconds: i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        )
        .unwrap(),
        nanos: 0,
    });
    let fresh_id = verified(&app, fresh).await;
    let closed = verified(&app, hold_request("sum-3")).await;
    resolved(&app, resolve(&closed, pb::Resolution::Withdrawn, ""))
        .await
        .unwrap();
    verified(&app, register_request("sum-4")).await;
    let mut other = hold_request("sum-5");
    other.insurer_number = "87654321".into();
    verified(&app, other).await;

    let store = audit::connect(&app.db.url).await.unwrap();
    let (handle, _writer) = AuditWriter::spawn(store.clone(), 4, 4);
    let uses = Verifications::new(
        Policy::default(),
        handle,
        store,
        KeyRing::single(FingerprintKey::from_secret(vec![7; 32])),
        Duration::from_secs(3600),
        std::sync::Arc::new(|| {}),
    );
    let an_hour_on = SystemTime::now() + Duration::from_secs(3600);
    let summary = uses.holds_summary(an_hour_on).await.unwrap();
    let mut counted: Vec<(String, bool, u64)> = summary
        .open
        .iter()
        .map(|((insurer, class, overdue), n)| {
            assert!(class.is_some(), "every hold has a risk class");
            (insurer.clone(), *overdue, *n)
        })
        .collect();
    counted.sort();
    assert_eq!(
        counted,
        [
            ("32130011".to_owned(), false, 1),
            ("32130011".to_owned(), true, 1),
            ("87654321".to_owned(), true, 1),
        ],
        "the resolved hold and the registration are not counted ({overdue}, {fresh_id})"
    );
    for insurer in ["32130011", "87654321"] {
        let age = summary.oldest_age_seconds[insurer];
        assert!((3600.0..3700.0).contains(&age), "{insurer}: {age}");
    }
    app.finish().await;
}

async fn a_resolution_keeps_its_cause_in_the_log_and_an_unknown_cause_is_named(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let held = verified(&app, hold_request("h-cause")).await;
    let without = verified(&app, hold_request("h-no-cause")).await;
    let mut unknown = resolve(&held, pb::Resolution::Withdrawn, "");
    unknown.cause = 99;
    let status = resolved(&app, unknown).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let violations = status.get_error_details().bad_request().unwrap().clone();
    assert_eq!(violations.field_violations[0].field, "cause");

    let mut with_cause = resolve(&held, pb::Resolution::Withdrawn, "");
    with_cause.cause = pb::HoldCause::NotationOrVariant.into();
    let record = resolved(&app, with_cause).await.unwrap();
    assert_eq!(
        record.resolution.unwrap().cause(),
        pb::HoldCause::NotationOrVariant
    );
    // The cause is optional: none is UNSPECIFIED, and reads back so.
    let record = resolved(&app, resolve(&without, pb::Resolution::Withdrawn, ""))
        .await
        .unwrap();
    assert_eq!(
        record.resolution.unwrap().cause(),
        pb::HoldCause::Unspecified
    );

    // The stored event keeps it (by its stable id) in the chain.
    app.stop().await;
    let store = verify_identity::audit::connect(&app.db.url).await.unwrap();
    let events = store.read_chains().await.unwrap();
    store.close().await;
    let causes: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event {
            verify_identity::audit::NewEvent::HoldResolved(r) => Some(r.cause),
            _ => None,
        })
        .collect();
    assert_eq!(
        causes,
        [
            Some(verify_identity::domain::hold_cause::HoldCause::NotationOrVariant),
            None
        ]
    );
    app.finish().await;
}

async fn assigned(
    app: &TestApp,
    verification_id: &str,
    assignee: &str,
) -> Result<pb::VerificationRecord, Status> {
    let response = app
        .client
        .clone()
        .assign_hold(pb::AssignHoldRequest {
            verification_id: verification_id.into(),
            insurer_number: INSURER.into(),
            assignee: assignee.into(),
        })
        .await?;
    Ok(response.into_inner().record.expect("a record"))
}

async fn a_hold_is_claimed_taken_over_and_released_and_only_while_it_is_open(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let held = verified(&app, hold_request("h-1")).await;
    let registered = verified(&app, register_request("r-1")).await;
    assert_eq!(
        assigned(&app, &held, "sato").await.unwrap().assignee,
        "sato"
    );
    // The queue shows who works each hold.
    let listed = list(
        &app,
        pb::ListHoldsRequest {
            insurer_number: INSURER.into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(listed.holds[0].assignee, "sato");
    assert_eq!(
        assigned(&app, &held, "tanaka").await.unwrap().assignee,
        "tanaka"
    );
    assert_eq!(assigned(&app, &held, "").await.unwrap().assignee, "");
    let bad = assigned(&app, &held, "two\nlines").await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(crate::helpers::violated_fields(&bad), ["assignee"]);
    assert_eq!(
        reason(&assigned(&app, &registered, "sato").await.unwrap_err()),
        "NOT_HELD"
    );
    resolved(&app, resolve(&held, pb::Resolution::Withdrawn, ""))
        .await
        .unwrap();
    assert_eq!(
        reason(&assigned(&app, &held, "sato").await.unwrap_err()),
        "HOLD_NOT_OPEN"
    );
    let missing = assigned(&app, "01900000-0000-7000-8000-000000000000", "sato")
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    app.stop().await;
    let report = crate::audit_report(&app.db.url).await;
    assert!(report.first_broken.is_none());
    let store = verify_identity::audit::connect(&app.db.url).await.unwrap();
    let events = store.read_chains().await.unwrap();
    store.close().await;
    let assignments = events
        .iter()
        .filter(|e| e.event.event_type() == EventType::HoldAssigned)
        .count();
    assert_eq!(assignments, 3);
    app.finish().await;
}

async fn list_holds_filters_by_assignee_and_by_nobody_in_both_orders(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let mut held = Vec::new();
    for n in 1..=4 {
        held.push(verified(&app, hold_request(&format!("h-{n}"))).await);
    }
    assigned(&app, &held[0], "sato").await.unwrap();
    assigned(&app, &held[1], "ito").await.unwrap();
    assigned(&app, &held[2], "sato").await.unwrap();
    assigned(&app, &held[2], "").await.unwrap();
    let listed =
        |assignee: &str, unassigned_only: bool, order: pb::HoldsOrder| pb::ListHoldsRequest {
            insurer_number: INSURER.into(),
            assignee: assignee.into(),
            unassigned_only,
            order: order.into(),
            ..Default::default()
        };
    for order in [pb::HoldsOrder::OldestFirst, pb::HoldsOrder::Triage] {
        let mine = list(&app, listed("sato", false, order)).await;
        assert_eq!(ids(&mine), [held[0].clone()], "{order:?}");
        assert_eq!(mine.holds[0].assignee, "sato");
        let nobody = list(&app, listed("", true, order)).await;
        assert_eq!(
            ids(&nobody),
            [held[2].clone(), held[3].clone()],
            "{order:?}"
        );
        assert_eq!(ids(&list(&app, listed("", false, order)).await).len(), 4);
        assert!(ids(&list(&app, listed("suzuki", false, order)).await).is_empty());
    }
    let both = app
        .client
        .clone()
        .list_holds(listed("sato", true, pb::HoldsOrder::Triage))
        .await
        .unwrap_err();
    assert_eq!(both.code(), Code::InvalidArgument);
    assert_eq!(crate::helpers::violated_fields(&both), ["unassigned_only"]);
    let bad = app
        .client
        .clone()
        .list_holds(listed("two\nlines", false, pb::HoldsOrder::Triage))
        .await
        .unwrap_err();
    assert_eq!(crate::helpers::violated_fields(&bad), ["assignee"]);
    // A resolved hold leaves its assignee's list.
    resolved(&app, resolve(&held[0], pb::Resolution::Withdrawn, ""))
        .await
        .unwrap();
    assert!(ids(&list(&app, listed("sato", false, pb::HoldsOrder::Triage)).await).is_empty());

    // The table the filters read is what the events say.
    app.stop().await;
    let store = verify_identity::audit::connect(&app.db.url).await.unwrap();
    let mut none = verify_identity::audit::checkpoint::check::Expectations::default();
    let (chains, tables) =
        verify_identity::audit::verify::verify_store_and_tables(store.as_ref(), &mut none)
            .await
            .unwrap();
    store.close().await;
    assert!(chains.is_intact());
    assert!(tables.is_intact(), "{:?}", tables.findings);
    app.finish().await;
}
