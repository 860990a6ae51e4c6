//! What the audit examples share: the service's own decision events for realistic requests.

use std::time::{Duration, SystemTime};

use prost::Message;
use verify_identity::{
    audit::{Decided, DecidedIds, FingerprintKey, NewEvent},
    contract::parse::{self, Identifiers},
    contract::pb,
    domain::{gate, policy::Policy},
};

/// The three example requests (`examples/{register,hold,return}.json`).
pub(crate) fn example_requests() -> anyhow::Result<Vec<pb::VerifyRequest>> {
    ["register", "hold", "return"]
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(format!("examples/{name}.json"))?;
            Ok(serde_json::from_str(&text)?)
        })
        .collect()
}

/// The `n`th event of a realistic stream: 14 of 20 register, 5 hold, 1 return, each under its
/// own request id, subject id, verification id (UUID v7) and time, with real fingerprints.
pub(crate) fn nth_event(
    n: usize,
    requests: &[pb::VerifyRequest],
    policy: &Policy,
    key: &FingerprintKey,
) -> anyhow::Result<NewEvent> {
    let template = match n % 20 {
        0..=13 => &requests[0],
        14..=18 => &requests[1],
        _ => &requests[2],
    };
    let mut request = template.clone();
    request.request_id = format!("lg-6f1c2a9e-{n}");
    request.subject_id = format!("{:04}-{:03}-{:02}", n % 9973, n % 997, n % 6);
    Ok(NewEvent::Decided(decided(&request, policy, key)?))
}

/// The event the service writes for `request`.
fn decided(
    request: &pb::VerifyRequest,
    policy: &Policy,
    key: &FingerprintKey,
) -> anyhow::Result<Decided> {
    let case = parse::case_from_request(request, Identifiers::Required)
        .map_err(|v| anyhow::anyhow!("invalid example: {v:?}"))?;
    let decision = gate::decide(&case, policy);
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH)?;
    let occurred_at = SystemTime::UNIX_EPOCH + Duration::from_micros(now.as_micros() as u64);
    let ids = DecidedIds {
        occurred_at,
        caller: "registration-system".into(),
        insurer_number: request.insurer_number.clone(),
        subject_id: request.subject_id.clone(),
        subject_kind: request.subject_kind().into(),
        request_id: request.request_id.clone(),
        verification_id: uuid::Uuid::now_v7().to_string(),
        policy_version: policy.version.clone(),
        register_by: parse::register_by(request),
        request_fingerprint: Some(key.fingerprint(&request.encode_to_vec())),
    };
    Ok(Decided::from_decision(ids, &decision, &case, key))
}
