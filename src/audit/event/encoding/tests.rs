use super::*;

fn comparison(stage: Stage, field: Field, rules: &[&str], candidate: u32) -> ComparisonRow {
    ComparisonRow {
        stage,
        field,
        class: MatchClass::Variant,
        rules: rules.iter().map(|r| r.to_string()).collect(),
        candidate_index: candidate,
    }
}

#[test]
fn comparisons_read_back_with_each_rule_list_in_its_own_order() {
    let rows = vec![
        comparison(Stage::DeclaredVsQuery, Field::KanjiName, &["space"], 0),
        comparison(
            Stage::QueryVsCandidate,
            Field::Address,
            &["width", "space"],
            3,
        ),
        comparison(Stage::DeclaredVsCandidate, Field::Sex, &[], 19),
    ];
    let d = Decided {
        comparisons: rows.clone(),
        ..crate::audit::tests_support::decided()
    };
    let pb = decided_to_pb(&d);
    assert!(pb.rules.is_empty(), "well-known rules go by number");
    assert_eq!(
        comparisons_from_pb(&pb.rules, &pb.comparisons).unwrap(),
        rows
    );
    let renamed = vec![comparison(
        Stage::DeclaredVsQuery,
        Field::Sex,
        &["x.new", "space", "x.old"],
        0,
    )];
    let d = Decided {
        comparisons: renamed.clone(),
        ..d
    };
    let pb = decided_to_pb(&d);
    assert_eq!(pb.rules, ["x.new", "x.old"]);
    assert_eq!(
        comparisons_from_pb(&pb.rules, &pb.comparisons).unwrap(),
        renamed
    );
}

#[test]
fn a_counted_denial_reads_back_and_a_single_one_encodes_as_earlier_releases_did() {
    let at = time_from_micros(1_800_000_000_000_000);
    let single = AccessDenied {
        occurred_at: at,
        caller: "unauthenticated".into(),
        insurer_number: String::new(),
        rpc: "Verify".into(),
        reason: "UNAUTHENTICATED".into(),
        count: 1,
        peer: String::new(),
        first_occurred_at: None,
    };
    let counted = AccessDenied {
        count: 20_000,
        peer: "192.0.2.7".into(),
        first_occurred_at: Some(time_from_micros(1_799_999_990_000_000)),
        ..single.clone()
    };
    let columns = Columns {
        kind: EventType::AccessDenied.as_str(),
        occurred_at_us: 1_800_000_000_000_000,
        insurer_number: "",
        verification_id: "",
        decision: "",
    };
    for event in [single.clone(), counted] {
        let event = NewEvent::AccessDenied(event);
        assert_eq!(decode(&columns, &body(&event)).unwrap(), event);
    }
    // The body of a single refusal holds exactly the two fields events had before the
    // count existed, so the hashes of stored events do not change.
    let before = pb::Event {
        caller: "unauthenticated".into(),
        detail: Some(pb::event::Detail::AccessDenied(pb::AccessDenied {
            rpc: "Verify".into(),
            reason: "UNAUTHENTICATED".into(),
            ..Default::default()
        })),
        ..Default::default()
    }
    .encode_to_vec();
    assert_eq!(body(&NewEvent::AccessDenied(single)), before);
}

#[test]
fn a_holds_candidate_fingerprints_read_back_and_cost_34_bytes_each_under_the_requests_key() {
    let base = crate::audit::tests_support::decided();
    let key = base.request_fingerprint.clone().unwrap().key_id;
    let fp = |key_id: &str, byte: &str| Fingerprint {
        key_id: key_id.into(),
        mac_hex: byte.repeat(32),
    };
    let hold = |candidates: Vec<Option<Fingerprint>>| Decided {
        decision: DecisionKind::Hold,
        hold_reasons: vec![HoldReason::FieldDiffers],
        selected_candidate: None,
        number_fingerprint: None,
        candidate_fingerprints: candidates,
        ..base.clone()
    };
    let columns = Columns {
        kind: EventType::VerificationDecided.as_str(),
        occurred_at_us: micros_since_epoch(base.occurred_at),
        insurer_number: &base.insurer_number,
        verification_id: &base.verification_id,
        decision: "hold",
    };
    let none = NewEvent::Decided(hold(Vec::new()));
    let two = NewEvent::Decided(hold(vec![Some(fp(&key, "0a")), None]));
    let other_key = NewEvent::Decided(hold(vec![Some(fp("k-old", "0b"))]));
    for event in [&none, &two, &other_key] {
        assert_eq!(&decode(&columns, &body(event)).unwrap(), event);
    }
    // Under the request's key: 34 bytes per readable candidate (tag, length, MAC), 2 for
    // an unreadable one; another key adds its id once (tag, length, id). The length of the
    // enclosing `Decided` may take one byte more.
    let grown = |e: &NewEvent| body(e).len() - body(&none).len();
    assert!((36..=37).contains(&grown(&two)), "{}", grown(&two));
    let other = 34 + 2 + "k-old".len();
    assert!((other..=other + 1).contains(&grown(&other_key)));
}

#[test]
fn a_cause_reads_back_and_a_resolution_without_one_encodes_as_earlier_releases_did() {
    let resolved = |cause| HoldResolved {
        occurred_at: time_from_micros(1_800_000_000_000_000),
        caller: "desk".into(),
        insurer_number: "32130011".into(),
        subject_id: "S-1".into(),
        verification_id: "v-1".into(),
        resolution: Resolution::Withdrawn,
        operator_id: "op".into(),
        note: String::new(),
        replaced_by_verification_id: String::new(),
        cause,
    };
    let columns = Columns {
        kind: EventType::HoldResolved.as_str(),
        occurred_at_us: 1_800_000_000_000_000,
        insurer_number: "32130011",
        verification_id: "v-1",
        decision: "",
    };
    for cause in HoldCause::ALL.map(Some).into_iter().chain([None]) {
        let event = NewEvent::HoldResolved(resolved(cause));
        assert_eq!(decode(&columns, &body(&event)).unwrap(), event);
    }
    let mut unknown = pb::Event::decode(
        body(&NewEvent::HoldResolved(resolved(Some(HoldCause::Other)))).as_slice(),
    )
    .unwrap();
    if let Some(pb::event::Detail::HoldResolved(r)) = unknown.detail.as_mut() {
        r.cause = "not_a_cause".into();
    }
    assert_eq!(
        decode(&columns, &unknown.encode_to_vec()).unwrap_err(),
        "unknown hold cause"
    );
    // No cause, no bytes: the hashes of events stored before causes existed do not change.
    let before = pb::Event {
        caller: "desk".into(),
        subject_id: "S-1".into(),
        detail: Some(pb::event::Detail::HoldResolved(pb::HoldResolved {
            resolution: "withdrawn".into(),
            operator_id: "op".into(),
            ..Default::default()
        })),
        ..Default::default()
    }
    .encode_to_vec();
    assert_eq!(body(&NewEvent::HoldResolved(resolved(None))), before);
}

#[test]
fn the_numbered_rules_are_pinned_and_distinct() {
    assert_eq!(KNOWN_RULES[0], "width");
    assert_eq!(KNOWN_RULES[13], "kanji.variant.mj.jis");
    assert_eq!(KNOWN_RULES[21], "address.prefecture");
    let distinct: std::collections::HashSet<_> = KNOWN_RULES.iter().collect();
    assert_eq!(distinct.len(), KNOWN_RULES.len());
    assert!(KNOWN_RULES.len() < NAMED_RULES as usize);
}

#[test]
fn the_comparison_codes_are_pinned() {
    let codes: Vec<u32> = Stage::ALL.into_iter().map(stage_code).collect();
    assert_eq!(codes, [0, 1, 2]);
    let codes: Vec<u32> = Field::ALL.into_iter().map(field_code).collect();
    assert_eq!(codes, [0, 1, 2, 3, 4]);
    let codes: Vec<u32> = MatchClass::ALL.into_iter().map(class_code).collect();
    assert_eq!(codes, [0, 1, 2, 3, 4, 5, 6]);
}

#[test]
fn a_truncated_or_out_of_range_stream_is_an_error() {
    let rules = vec!["x.named".to_string()];
    for bad in [
        vec![1 << 8],
        vec![(1 << 8), 65],
        vec![(1 << 8), 30],
        vec![3],
        vec![7 << 5],
    ] {
        assert!(comparisons_from_pb(&rules, &bad).is_err(), "{bad:?}");
    }
}
