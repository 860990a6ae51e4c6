//! HoldStats through real calls: a log built from a known sequence of decisions and
//! resolutions gives exactly the expected rows and the expected suggestion (and none below the
//! threshold), through gRPC and `holds stats`, with no personal value in any output.

use verify_identity::contract::pb;

use crate::helpers::{
    Backend, TestApp, TestDatabase, hold_request, register_for, register_request, spawn_on,
};

on_both_backends!(
    hold_stats_count_how_a_known_sequence_of_holds_ended_and_suggest_only_above_the_threshold,
    hold_stats_refuse_a_missing_period_and_an_insurer_the_caller_may_not_see,
);

const INSURER: &str = "32130011";
const NUMBER: &str = "402718593027";
const OTHER_NUMBER: &str = "123456789018";

/// A server whose policy refuses variant kanji names (so the helpers' variant 髙/高 holds).
async fn strict_app(backend: Backend) -> TestApp {
    let db = TestDatabase::new(backend).await;
    let policy = db.dir.join("policy.toml");
    std::fs::write(
        &policy,
        "version = \"strict-kanji\"\n[fields]\nkanji_name = \"notation\"\n",
    )
    .unwrap();
    spawn_on(db, |s| s.policy = Some(policy)).await
}

/// Held under the strict policy by variant kanji names only (declared vs query, query vs
/// candidate), candidate number [`NUMBER`].
fn variant_hold(request_id: &str, subject: &str) -> pb::VerifyRequest {
    let mut r = register_request(request_id);
    r.subject_id = subject.into();
    r
}

/// A re-query of `subject` that registers `number` under the strict policy.
fn clean(request_id: &str, subject: &str, number: &str) -> pb::VerifyRequest {
    let mut r = register_for(request_id, subject, number);
    r.query.as_mut().unwrap().kanji_name = "髙橋 一郎".into();
    r
}

async fn verify(app: &TestApp, request: pb::VerifyRequest) -> pb::VerifyResponse {
    app.client
        .clone()
        .verify(request)
        .await
        .unwrap()
        .into_inner()
}

async fn resolve(
    app: &TestApp,
    held: &str,
    how: pb::Resolution,
    replaced_by: &str,
    cause: pb::HoldCause,
) {
    app.client
        .clone()
        .resolve_hold(pb::ResolveHoldRequest {
            verification_id: held.into(),
            insurer_number: INSURER.into(),
            resolution: how.into(),
            operator_id: "operator-7".into(),
            replaced_by_verification_id: replaced_by.into(),
            cause: cause.into(),
            ..Default::default()
        })
        .await
        .unwrap();
}

fn request(min_closed: u32) -> pb::HoldStatsRequest {
    pb::HoldStatsRequest {
        insurer_numbers: vec![INSURER.into()],
        from: Some(pbjson_types::Timestamp {
            seconds: 946_684_800, // 2000-01-01
            nanos: 0,
        }),
        to: None,
        min_closed,
    }
}

fn row(
    stats: &pb::HoldStatsResponse,
    stage: pb::Stage,
    class: pb::MatchClass,
    risk: pb::RiskClass,
) -> &pb::HoldStatsOutcomes {
    stats
        .rows
        .iter()
        .find(|r| {
            r.stage() == stage
                && r.field() == pb::Field::KanjiName
                && r.match_class() == class
                && r.risk_class() == risk
        })
        .unwrap_or_else(|| panic!("no row {stage:?} {class:?} {risk:?} in {stats:#?}"))
        .outcomes
        .as_ref()
        .unwrap()
}

fn cause(o: &pb::HoldStatsOutcomes, c: pb::HoldCause) -> u64 {
    o.causes
        .iter()
        .find(|n| n.cause() == c)
        .map_or(0, |n| n.count)
}

async fn hold_stats_count_how_a_known_sequence_of_holds_ended_and_suggest_only_above_the_threshold(
    backend: Backend,
) {
    let app = strict_app(backend).await;
    use pb::{HoldCause as C, Resolution as R};
    // S-1, S-2: re-queried, and the re-query registered the same number.
    for s in ["S-1", "S-2"] {
        let held = verify(&app, variant_hold(&format!("h-{s}"), s)).await;
        assert_eq!(held.decision(), pb::Decision::Hold);
        let again = verify(&app, clean(&format!("r-{s}"), s, NUMBER)).await;
        assert_eq!(again.decision(), pb::Decision::Register);
        resolve(
            &app,
            &held.verification_id,
            R::Requeried,
            &again.verification_id,
            C::Unspecified,
        )
        .await;
    }
    // S-3: withdrawn, the clerk says 表記ゆれ・異体字.
    let s3 = verify(&app, variant_hold("h-S-3", "S-3")).await;
    resolve(
        &app,
        &s3.verification_id,
        R::Withdrawn,
        "",
        C::NotationOrVariant,
    )
    .await;
    // S-4: still open.
    verify(&app, variant_hold("h-S-4", "S-4")).await;
    // S-5: another person (一朗 for 一郎): re-queried, another number registered; 別人.
    let mut s5 = hold_request("h-S-5");
    s5.subject_id = "S-5".into();
    let s5 = verify(&app, s5).await;
    let s5_again = verify(&app, clean("r-S-5", "S-5", OTHER_NUMBER)).await;
    resolve(
        &app,
        &s5.verification_id,
        R::Requeried,
        &s5_again.verification_id,
        C::DifferentPerson,
    )
    .await;
    // S-6: the number came from the person, and was then committed: the candidate's.
    let s6 = verify(&app, variant_hold("h-S-6", "S-6")).await;
    resolve(
        &app,
        &s6.verification_id,
        R::NumberFromPerson,
        "",
        C::Unspecified,
    )
    .await;
    let s6_again = verify(&app, clean("r-S-6", "S-6", NUMBER)).await;
    app.client
        .clone()
        .commit_registration(pb::CommitRegistrationRequest {
            verification_id: s6_again.verification_id.clone(),
            insurer_number: INSURER.into(),
            subject_id: "S-6".into(),
            individual_number: NUMBER.into(),
        })
        .await
        .unwrap();

    let stats = app
        .client
        .clone()
        .hold_stats(request(3))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.policy_version, "strict-kanji");
    let totals = stats.totals.clone().unwrap();
    assert_eq!(
        (
            totals.holds,
            totals.open,
            totals.requeried,
            totals.number_from_person,
            totals.withdrawn,
            totals.same_number_back,
            totals.other_number_back,
            totals.no_cause,
        ),
        (6, 1, 3, 1, 1, 3, 1, 3)
    );
    assert!(totals.resolve_median.is_some() && totals.resolve_p90.is_some());
    use pb::{MatchClass as M, RiskClass as K, Stage as S};
    let variant_only = K::NotationOrVariantOnly;
    // Query vs candidate, variant: S-1, S-2, S-3, S-6 closed, all the same person; S-4 open.
    let qc = row(&stats, S::QueryVsCandidate, M::Variant, variant_only);
    assert_eq!(
        (
            qc.holds,
            qc.open,
            qc.requeried,
            qc.withdrawn,
            qc.number_from_person
        ),
        (5, 1, 2, 1, 1)
    );
    assert_eq!((qc.same_number_back, qc.other_number_back), (3, 0));
    assert_eq!(cause(qc, C::NotationOrVariant), 1);
    // Declared vs query, variant: the same five, and S-5 in a row of its own risk class.
    let dq = row(&stats, S::DeclaredVsQuery, M::Variant, variant_only);
    assert_eq!((dq.holds, dq.same_number_back), (5, 3));
    let s5_risk = pb::RiskClass::try_from(s5.risk_class).unwrap();
    let dq5 = row(&stats, S::DeclaredVsQuery, M::Variant, s5_risk);
    assert_eq!((dq5.holds, dq5.other_number_back), (1, 1));
    let mismatch = row(&stats, S::QueryVsCandidate, M::Mismatch, s5_risk);
    assert_eq!((mismatch.holds, mismatch.requeried), (1, 1));
    assert_eq!(cause(mismatch, C::DifferentPerson), 1);
    assert!(stats.rows.iter().all(|r| r.insurer_number == INSURER));

    // One suggestion: query vs candidate (4 of 4 the same person). Declared vs query is held
    // too, but S-5 makes it 4 of 5 (80 %): below 95 %.
    assert_eq!(stats.suggestions.len(), 1, "{:#?}", stats.suggestions);
    let s = &stats.suggestions[0];
    assert_eq!(
        (s.stage(), s.field(), s.match_class()),
        (S::QueryVsCandidate, pb::Field::KanjiName, M::Variant)
    );
    assert_eq!(
        (s.closed, s.same_person, s.same_person_per_mille),
        (4, 4, 1000)
    );
    assert_eq!(
        s.setting,
        "[stages.query_vs_candidate] kanji_name = \"variant\""
    );
    assert!(s.policy_can);
    // Below the threshold: nothing.
    let strict = app
        .client
        .clone()
        .hold_stats(request(5))
        .await
        .unwrap()
        .into_inner();
    assert!(strict.suggestions.is_empty());
    assert_eq!(strict.rows, stats.rows);

    // The command: JSON in a pipe, CSV, the table; no personal value in any of them.
    let server = format!("http://{}", app.addr);
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_verify-identity"))
            .args(["holds", "--server", &server, "stats", "--insurer", INSURER])
            .args(["--from", "2000-01-01", "--min-closed", "3"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let json = run(&[]);
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["totals"]["holds"], "6");
    let csv = run(&["--csv"]);
    assert!(
        csv.lines()
            .any(|l| l.starts_with("32130011,query_vs_candidate,kanji_name,variant,field_differs,")),
        "{csv}"
    );
    assert!(csv.lines().last().unwrap().starts_with("total,"), "{csv}");
    let table = run(&["--table", "--lang", "en"]);
    assert!(
        table.contains(
            "suggestion: Name (kanji) held at Query vs J-LIS record as “variant”: 4 of 4 closed holds (100.0%) were the same person"
        ),
        "{table}"
    );
    let japanese = run(&["--table", "--lang", "ja"]);
    assert!(
        japanese.contains("提案: 照会↔候補の漢字氏名が「異体字等」で保留になり解決した4件のうち4件（100.0%）は同じ人でした"),
        "{japanese}"
    );
    // CSV keeps the stable ids in every language.
    assert_eq!(run(&["--csv", "--lang", "ja"]), csv);
    for output in [&json, &csv, &table, &japanese] {
        for personal in [
            NUMBER,
            OTHER_NUMBER,
            "髙橋",
            "高橋",
            "ﾀｶﾊｼ",
            "一朗",
            "S-1",
            "S-5",
        ] {
            assert!(!output.contains(personal), "{personal} in {output}");
        }
    }
    app.finish().await;
}

async fn hold_stats_refuse_a_missing_period_and_an_insurer_the_caller_may_not_see(
    backend: Backend,
) {
    let app = strict_app(backend).await;
    let mut no_from = request(0);
    no_from.from = None;
    let status = app.client.clone().hold_stats(no_from).await.unwrap_err();
    assert_eq!(crate::helpers::violated_fields(&status), ["from"]);
    let mut bad = request(0);
    bad.insurer_numbers.push("not-an-insurer".into());
    let status = app.client.clone().hold_stats(bad).await.unwrap_err();
    assert_eq!(
        crate::helpers::violated_fields(&status),
        ["insurer_numbers[1]"]
    );
    // No insurer named: every one the caller may see (the open mode: all).
    verify(&app, variant_hold("h-1", "S-1")).await;
    let mut other = variant_hold("h-2", "S-2");
    other.insurer_number = "99999999".into();
    verify(&app, other).await;
    let mut all = request(0);
    all.insurer_numbers.clear();
    let stats = app
        .client
        .clone()
        .hold_stats(all)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.totals.unwrap().holds, 2);
    let insurers: std::collections::BTreeSet<&str> = stats
        .rows
        .iter()
        .map(|r| r.insurer_number.as_str())
        .collect();
    assert_eq!(
        insurers.into_iter().collect::<Vec<_>>(),
        ["32130011", "99999999"]
    );
    assert_eq!(stats.min_closed, 50);
    app.finish().await;
}
