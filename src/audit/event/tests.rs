use super::*;
use crate::{
    contract::{parse, pb},
    domain::{gate, policy::Policy},
    verification::inputs::Verify,
};

fn ids() -> DecidedIds {
    DecidedIds {
        occurred_at: SystemTime::UNIX_EPOCH,
        caller: "bulk".into(),
        insurer_number: "32130011".into(),
        subject_id: "S-1".into(),
        subject_kind: SubjectKind::Member,
        request_id: "r-1".into(),
        verification_id: "v-1".into(),
        policy_version: "p-1".into(),
        register_by: None,
        request_fingerprint: None,
    }
}

fn decided(example: &str) -> (Decided, Decision, Verify, FingerprintKey) {
    let text = std::fs::read_to_string(format!("examples/{example}.json")).unwrap();
    let request: pb::VerifyRequest = serde_json::from_str(&text).unwrap();
    let parsed = parse::parse_verify(&request).unwrap();
    let decision = gate::decide(&parsed.case, &Policy::default());
    let key = FingerprintKey::from_secret(vec![7; 32]);
    let event = Decided::from_decision(ids(), &decision, &parsed.case, &key);
    (event, decision, parsed, key)
}

#[test]
fn a_register_decision_keeps_its_ids_and_only_the_selected_numbers_fingerprint() {
    let (event, decision, parsed, key) = decided("register");
    assert_eq!(event.decision, DecisionKind::Register);
    assert_eq!(
        (event.caller.as_str(), event.verification_id.as_str()),
        ("bulk", "v-1")
    );
    assert_eq!(event.comparisons.len(), decision.comparisons.len());
    let selected = decision.selected_candidate.unwrap();
    assert_eq!(event.selected_candidate, Some(selected as u32));
    let number = parsed.case.candidates[selected].number.as_ref().unwrap();
    assert_eq!(
        event.number_fingerprint,
        Some(key.fingerprint_number(number))
    );
}

#[test]
fn a_hold_has_no_number_fingerprint_and_keeps_its_reasons() {
    let (event, decision, _, _) = decided("hold");
    assert_eq!(event.decision, DecisionKind::Hold);
    assert_eq!(event.hold_reasons, decision.hold_reasons);
    assert_eq!(event.number_fingerprint, None);
    assert_eq!(event.risk_class(), decision.risk_class());
}

#[test]
fn a_hold_keeps_every_candidates_fingerprint_and_a_register_none() {
    let (event, _, parsed, key) = decided("hold");
    assert!(!parsed.case.candidates.is_empty());
    let expected: Vec<_> = parsed
        .case
        .candidates
        .iter()
        .map(|c| c.number.as_ref().ok().map(|n| key.fingerprint_number(n)))
        .collect();
    assert_eq!(event.candidate_fingerprints, expected);
    assert!(expected.iter().all(Option::is_some));
    let (register, ..) = decided("register");
    assert!(register.candidate_fingerprints.is_empty());
}
