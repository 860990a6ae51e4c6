//! The risk class of held cases through real calls: on Verify and GetVerification for every
//! class, as a ListHolds filter, and as the triage order across pages.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tonic::Code;
use tonic_types::StatusExt;
use verify_identity::{
    contract::pb,
    domain::risk::RiskClass,
    words::{self, Lang},
};

use crate::helpers::{Backend, TestApp, hold_request, register_request, return_request, spawn_app};

on_both_backends!(
    every_risk_class_is_on_verify_and_get_verification,
    list_holds_filters_by_risk_class_and_refuses_an_unspecified_one,
    triage_order_pages_overdue_first_then_by_risk_then_oldest,
    a_hold_that_becomes_overdue_while_paging_keeps_its_place_until_the_next_listing,
    the_holds_command_shows_the_risk_class_filters_by_it_and_orders_by_it,
);

const INSURER: &str = "32130011";

/// A hold of `class`: the helpers' person, registered by `register_request`, with the
/// registry's answer (or the query) changed the way that class goes wrong.
fn held_as(class: pb::RiskClass, request_id: &str) -> pb::VerifyRequest {
    let mut r = register_request(request_id);
    let candidate = r.candidates[0].fields.as_mut().unwrap();
    match class {
        pb::RiskClass::BirthOrSex => candidate.birth_date = "昭和50年1月2日".into(),
        pb::RiskClass::Structural => r.candidates.clear(),
        pb::RiskClass::Names => {
            candidate.kanji_name = "佐藤 一郎".into();
            candidate.kana_name = "サトウ イチロウ".into();
        }
        pb::RiskClass::NameAndAddress => {
            candidate.kanji_name = "髙橋 一朗".into();
            candidate.address = "東京都新宿区西新宿二丁目8番2号".into();
        }
        pb::RiskClass::AddressOnly => {
            candidate.address = "東京都新宿区西新宿二丁目8番2号".into();
        }
        pb::RiskClass::OneNameOnly => return hold_request(request_id),
        pb::RiskClass::NotationOrVariantOnly => {
            // The query was keyed wrongly from the form (高島 for 髙橋), and the registry,
            // lacking the glyph, prints 外字 as ●: the registry agrees with both, so nothing
            // differs from it, yet the form and the query disagree.
            candidate.kanji_name = "高● 一郎".into();
            r.query.as_mut().unwrap().kanji_name = "高島 一郎".into();
        }
        // J-LIS has not recorded the person's reading yet (issue 28).
        pb::RiskClass::KanaNotRecorded => candidate.kana_name = "＊＊＊＊ ＊＊＊".into(),
        pb::RiskClass::Unspecified => {}
    }
    r
}

/// Every class, most urgent first.
const CLASSES: [pb::RiskClass; 8] = [
    pb::RiskClass::BirthOrSex,
    pb::RiskClass::Structural,
    pb::RiskClass::Names,
    pb::RiskClass::NameAndAddress,
    pb::RiskClass::AddressOnly,
    pb::RiskClass::OneNameOnly,
    pb::RiskClass::NotationOrVariantOnly,
    pb::RiskClass::KanaNotRecorded,
];

async fn verify(app: &TestApp, request: pb::VerifyRequest) -> pb::VerifyResponse {
    app.client
        .clone()
        .verify(request)
        .await
        .unwrap()
        .into_inner()
}

async fn list(app: &TestApp, request: pb::ListHoldsRequest) -> pb::ListHoldsResponse {
    app.client
        .clone()
        .list_holds(request)
        .await
        .unwrap()
        .into_inner()
}

/// Every page of a listing, page by page.
async fn pages(app: &TestApp, request: pb::ListHoldsRequest) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(
            app,
            pb::ListHoldsRequest {
                page_token: token.clone(),
                ..request.clone()
            },
        )
        .await;
        pages.push(ids(&page));
        if page.next_page_token.is_empty() {
            return pages;
        }
        token = page.next_page_token;
    }
}

fn ids(page: &pb::ListHoldsResponse) -> Vec<String> {
    page.holds
        .iter()
        .map(|h| h.verification.as_ref().unwrap().verification_id.clone())
        .collect()
}

/// A form received `ago` before now (its deadline is five days after).
fn received(ago: Duration) -> Option<pbjson_types::Timestamp> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    Some(pbjson_types::Timestamp {
        seconds: i64::try_from((now - ago).as_secs()).unwrap(),
        nanos: 0,
    })
}

/// Appends the service's own decision event for `request` (a hold), with `register_by` as its
/// deadline, through a chain of its own on the app's database; returns its verification id.
async fn append_hold_due_at(
    app: &TestApp,
    request: pb::VerifyRequest,
    register_by: SystemTime,
) -> String {
    use prost::Message as _;
    use verify_identity::{
        audit::{self, ChainState, Decided, DecidedIds, FingerprintKey, NewEvent},
        contract::parse::{self, Identifiers},
        domain::{gate, policy::Policy},
    };
    let (key, _) = FingerprintKey::load_or_create(&app.db.dir.join("hmac.key")).unwrap();
    let case = parse::case_from_request(&request, Identifiers::Required).unwrap();
    let policy = Policy::default();
    let decision = gate::decide(&case, &policy);
    assert_eq!(decision.kind, gate::DecisionKind::Hold);
    let verification_id = uuid::Uuid::now_v7().to_string();
    let ids = DecidedIds {
        occurred_at: whole_micros(SystemTime::now()),
        caller: "registration-system".into(),
        insurer_number: request.insurer_number.clone(),
        subject_id: request.subject_id.clone(),
        subject_kind: request.subject_kind().into(),
        request_id: request.request_id.clone(),
        verification_id: verification_id.clone(),
        policy_version: policy.version.clone(),
        register_by: Some(whole_micros(register_by)),
        request_fingerprint: Some(key.fingerprint(&request.encode_to_vec())),
    };
    let event = NewEvent::Decided(Decided::from_decision(ids, &decision, &case, &key));
    let store = audit::connect(&app.db.url).await.unwrap();
    store
        .append_batch(&mut ChainState::new(), &[event])
        .await
        .unwrap();
    store.close().await;
    verification_id
}

/// `t` to whole microseconds, as the audit log stores times.
fn whole_micros(t: SystemTime) -> SystemTime {
    let since = t.duration_since(UNIX_EPOCH).unwrap();
    UNIX_EPOCH + Duration::from_micros(u64::try_from(since.as_micros()).unwrap())
}

/// Received today: the deadline is days away.
fn fresh(mut r: pb::VerifyRequest) -> pb::VerifyRequest {
    r.received_at = received(Duration::ZERO);
    r
}

async fn every_risk_class_is_on_verify_and_get_verification(backend: Backend) {
    let app = spawn_app(backend).await;
    for (i, class) in CLASSES.into_iter().enumerate() {
        let response = verify(&app, held_as(class, &format!("risk-{i}"))).await;
        assert_eq!(response.decision(), pb::Decision::Hold, "{class:?}");
        assert_eq!(response.risk_class(), class, "{:?}", response.comparisons);
        let stored = app
            .client
            .clone()
            .get_verification(pb::GetVerificationRequest {
                verification_id: response.verification_id.clone(),
                insurer_number: INSURER.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(stored.verification.unwrap().risk_class(), class);
    }
    for request in [register_request("r-1"), return_request("t-1")] {
        let response = verify(&app, request).await;
        assert_ne!(response.decision(), pb::Decision::Hold);
        assert_eq!(response.risk_class(), pb::RiskClass::Unspecified);
    }
    app.finish().await;
}

async fn list_holds_filters_by_risk_class_and_refuses_an_unspecified_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut by_class = Vec::new();
    for (i, class) in CLASSES.into_iter().enumerate() {
        let id = verify(&app, held_as(class, &format!("risk-{i}")))
            .await
            .verification_id;
        by_class.push((class, id));
    }
    let wanted = [pb::RiskClass::AddressOnly, pb::RiskClass::BirthOrSex];
    let filtered = list(
        &app,
        pb::ListHoldsRequest {
            insurer_number: INSURER.into(),
            risk_classes: wanted.iter().map(|&c| c.into()).collect(),
            ..Default::default()
        },
    )
    .await;
    // Oldest first: BIRTH_OR_SEX was decided before ADDRESS_ONLY.
    let expected: Vec<String> = by_class
        .iter()
        .filter(|(c, _)| wanted.contains(c))
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(ids(&filtered), expected);
    for hold in &filtered.holds {
        let class = hold.verification.as_ref().unwrap().risk_class();
        assert!(wanted.contains(&class), "{class:?}");
    }

    let status = app
        .client
        .clone()
        .list_holds(pb::ListHoldsRequest {
            insurer_number: INSURER.into(),
            risk_classes: vec![pb::RiskClass::Unspecified.into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let violations = status
        .get_error_details()
        .bad_request()
        .unwrap()
        .field_violations
        .clone();
    assert_eq!(violations[0].field, "risk_classes[0]");
    app.finish().await;
}

async fn triage_order_pages_overdue_first_then_by_risk_then_oldest(backend: Backend) {
    let app = spawn_app(backend).await;
    // Decided in this order; the helpers' forms were received long ago (overdue) unless fresh.
    let plan = [
        (pb::RiskClass::AddressOnly, false),
        (pb::RiskClass::BirthOrSex, true),
        (pb::RiskClass::OneNameOnly, false),
        (pb::RiskClass::AddressOnly, true),
        (pb::RiskClass::Structural, false),
        (pb::RiskClass::BirthOrSex, false),
        (pb::RiskClass::NotationOrVariantOnly, true),
        (pb::RiskClass::Names, false),
        (pb::RiskClass::AddressOnly, false),
    ];
    let mut decided = Vec::new();
    for (i, (class, overdue)) in plan.into_iter().enumerate() {
        let request = held_as(class, &format!("t-{i}"));
        let request = if overdue { request } else { fresh(request) };
        decided.push((overdue, class, verify(&app, request).await.verification_id));
    }
    let mut expected = decided.clone();
    // Overdue first, then by class (CLASSES order is the enum's), then oldest: a stable sort
    // keeps the decision order within equal keys.
    expected.sort_by_key(|(overdue, class, _)| (!overdue, *class as i32));
    let expected: Vec<String> = expected.into_iter().map(|(_, _, id)| id).collect();

    let triage = pb::ListHoldsRequest {
        insurer_number: INSURER.into(),
        order: pb::HoldsOrder::Triage.into(),
        page_size: 2,
        ..Default::default()
    };
    let paged = pages(&app, triage.clone()).await;
    assert_eq!(paged.len(), 5);
    assert!(paged.iter().all(|p| p.len() <= 2));
    assert_eq!(paged.concat(), expected);

    // One page holds the same order.
    let whole = list(
        &app,
        pb::ListHoldsRequest {
            page_size: 100,
            ..triage.clone()
        },
    )
    .await;
    assert_eq!(ids(&whole), expected);

    // A hold closed between two pages shifts nothing: the next page starts after the cursor.
    let first = list(&app, triage.clone()).await;
    let closed = &expected[3];
    app.client
        .clone()
        .resolve_hold(pb::ResolveHoldRequest {
            verification_id: closed.clone(),
            insurer_number: INSURER.into(),
            resolution: pb::Resolution::Withdrawn.into(),
            operator_id: "operator-7".into(),
            note: String::new(),
            replaced_by_verification_id: String::new(),
            ..Default::default()
        })
        .await
        .unwrap();
    let second = list(
        &app,
        pb::ListHoldsRequest {
            page_token: first.next_page_token.clone(),
            ..triage.clone()
        },
    )
    .await;
    assert_eq!(ids(&first), expected[..2]);
    assert_eq!(ids(&second), [expected[2].clone(), expected[4].clone()]);

    // A token continues only a listing in its own order.
    let status = app
        .client
        .clone()
        .list_holds(pb::ListHoldsRequest {
            page_token: first.next_page_token,
            order: pb::HoldsOrder::OldestFirst.into(),
            ..triage
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    app.finish().await;
}

async fn a_hold_that_becomes_overdue_while_paging_keeps_its_place_until_the_next_listing(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let mut ids_in_order = Vec::new();
    for i in 0..3 {
        let r = fresh(held_as(pb::RiskClass::AddressOnly, &format!("f-{i}")));
        ids_in_order.push(verify(&app, r).await.verification_id);
    }
    // Its deadline passes two seconds from now. Deadlines fall on midnight in Japan, so no
    // receipt time gives one two seconds away: the hold is written as the service writes it,
    // with that deadline, as a second replica on the same log would.
    let soon = append_hold_due_at(
        &app,
        held_as(pb::RiskClass::BirthOrSex, "soon"),
        SystemTime::now() + Duration::from_secs(2),
    )
    .await;
    let triage = pb::ListHoldsRequest {
        insurer_number: INSURER.into(),
        order: pb::HoldsOrder::Triage.into(),
        page_size: 2,
        ..Default::default()
    };
    // Nothing is overdue yet: the most urgent class first.
    let first = list(&app, triage.clone()).await;
    assert_eq!(ids(&first), [soon.clone(), ids_in_order[0].clone()]);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Now it is overdue, but this listing judges "overdue" as of its first page: no hold is
    // repeated or skipped.
    let second = list(
        &app,
        pb::ListHoldsRequest {
            page_token: first.next_page_token,
            ..triage.clone()
        },
    )
    .await;
    assert_eq!(ids(&second), ids_in_order[1..]);
    assert!(second.next_page_token.is_empty());
    // A new listing puts it among the overdue, first.
    let again = list(&app, triage).await;
    assert_eq!(ids(&again)[0], soon);
    let overdue_only = list(
        &app,
        pb::ListHoldsRequest {
            insurer_number: INSURER.into(),
            overdue_only: true,
            order: pb::HoldsOrder::Triage.into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&overdue_only), [soon]);
    app.finish().await;
}

async fn the_holds_command_shows_the_risk_class_filters_by_it_and_orders_by_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let address = verify(&app, held_as(pb::RiskClass::AddressOnly, "cli-a"))
        .await
        .verification_id;
    let birth = verify(&app, held_as(pb::RiskClass::BirthOrSex, "cli-b"))
        .await
        .verification_id;
    let server = format!("http://{}", app.addr);
    let holds = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_verify-identity"))
            .args(["holds", "list", "--server", &server, "--insurer", INSURER])
            .args(["--lang", "en"])
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code(), stdout)
    };
    // Triage by default: both overdue, so the more urgent class first.
    let (code, table) = holds(&[]);
    assert_eq!(code, Some(0), "{table}");
    assert!(table.lines().next().unwrap().contains("risk"), "{table}");
    let rows: Vec<&str> = table.lines().skip(1).take(2).collect();
    assert!(
        rows[0].contains(&birth) && rows[0].contains(words::risk(RiskClass::BirthOrSex, Lang::En)),
        "{table}"
    );
    assert!(
        rows[1].contains(&address)
            && rows[1].contains(words::risk(RiskClass::AddressOnly, Lang::En)),
        "{table}"
    );
    let (_, oldest) = holds(&["--order", "oldest"]);
    assert!(
        oldest.lines().nth(1).unwrap().contains(&address),
        "{oldest}"
    );

    let (code, json) = holds(&["--risk", "address_only", "--json"]);
    assert_eq!(code, Some(0), "{json}");
    let records: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0]["verification"]["verificationId"],
        address.as_str()
    );
    assert_eq!(
        records[0]["verification"]["riskClass"],
        "RISK_CLASS_ADDRESS_ONLY"
    );
    let (code, _) = holds(&["--risk", "high"]);
    assert_eq!(code, Some(2));
    app.finish().await;
}
