//! The audit log as JSON for auditors: one object per event, decoded, with its chain position
//! and hash. What `verify-identity audit export` writes, one object per line (JSON Lines).
//!
//! It exports what is stored and nothing more: fingerprints stay fingerprints (key id and MAC),
//! and ids stay the domain's stable ids.

use serde_json::{Map, Value, json};

use crate::audit::{Fingerprint, NewEvent, StoredEvent, micros_since_epoch};

/// One stored event as a JSON object.
pub fn to_json(stored: &StoredEvent) -> Value {
    let e = &stored.event;
    let mut o = Map::new();
    o.insert("id".into(), json!(stored.id));
    o.insert("format".into(), json!(stored.format()));
    o.insert("writer_id".into(), json!(stored.writer_id));
    o.insert("seq".into(), json!(stored.seq));
    o.insert("hash".into(), json!(hex::encode(stored.hash)));
    o.insert("kind".into(), json!(e.event_type().as_str()));
    o.insert("occurred_at".into(), time(e.occurred_at()));
    o.insert("caller".into(), json!(e.caller()));
    o.insert("insurer_number".into(), json!(e.insurer_number()));
    match e {
        NewEvent::Decided(d) => {
            o.insert("verification_id".into(), json!(d.verification_id));
            o.insert("request_id".into(), json!(d.request_id));
            o.insert("subject_id".into(), json!(d.subject_id));
            o.insert("subject_kind".into(), json!(d.subject_kind.id()));
            o.insert("decision".into(), json!(d.decision.id()));
            o.insert("policy_version".into(), json!(d.policy_version));
            let comparisons: Vec<Value> = d
                .comparisons
                .iter()
                .map(|c| {
                    json!({
                        "stage": c.stage.as_str(),
                        "field": c.field.as_str(),
                        "class": c.class.as_str(),
                        "rules": c.rules,
                        "candidate_index": c.candidate_index,
                    })
                })
                .collect();
            o.insert("comparisons".into(), Value::Array(comparisons));
            let reasons: Vec<&str> = d.hold_reasons.iter().map(|r| r.id()).collect();
            o.insert("hold_reasons".into(), json!(reasons));
            let fields: Vec<&str> = d.fields_to_complete.iter().map(|f| f.as_str()).collect();
            o.insert("fields_to_complete".into(), json!(fields));
            o.insert("selected_candidate".into(), json!(d.selected_candidate));
            o.insert(
                "register_by".into(),
                d.register_by.map_or(Value::Null, time),
            );
        }
        NewEvent::CommitAccepted(c) => {
            o.insert("verification_id".into(), json!(c.verification_id));
            o.insert("subject_id".into(), json!(c.subject_id));
            o.insert("commit_id".into(), json!(c.commit_id));
        }
        NewEvent::CommitRefused(c) => {
            o.insert("verification_id".into(), json!(c.verification_id));
            o.insert("subject_id".into(), json!(c.subject_id));
            o.insert("reason".into(), json!(c.reason.id()));
        }
        NewEvent::HoldResolved(r) => {
            o.insert("verification_id".into(), json!(r.verification_id));
            o.insert("subject_id".into(), json!(r.subject_id));
            o.insert("resolution".into(), json!(r.resolution.id()));
            o.insert("operator_id".into(), json!(r.operator_id));
            o.insert("note".into(), json!(r.note));
            o.insert(
                "replaced_by_verification_id".into(),
                json!(r.replaced_by_verification_id),
            );
            if let Some(cause) = r.cause {
                o.insert("cause".into(), json!(cause.id()));
            }
        }
        NewEvent::HoldAssigned(a) => {
            o.insert("verification_id".into(), json!(a.verification_id));
            o.insert("subject_id".into(), json!(a.subject_id));
            o.insert("assignee".into(), json!(a.assignee));
        }
        NewEvent::ConsoleSignedIn(i) => {
            o.insert("method".into(), json!(i.method.id()));
        }
        NewEvent::ConsoleSignedOut(so) => {
            o.insert("method".into(), json!(so.method.id()));
            o.insert("ending".into(), json!(so.ending.id()));
            o.insert(
                "signed_in_at_us".into(),
                json!(micros_since_epoch(so.signed_in_at)),
            );
        }
        NewEvent::AccessDenied(a) => {
            o.insert("rpc".into(), json!(a.rpc));
            o.insert("reason".into(), json!(a.reason));
            o.insert("count".into(), json!(a.count));
            o.insert("peer".into(), json!(a.peer));
        }
    }
    o.insert(
        "number_fingerprint".into(),
        fingerprint(e.number_fingerprint()),
    );
    o.insert(
        "request_fingerprint".into(),
        fingerprint(e.request_fingerprint()),
    );
    Value::Object(o)
}

fn fingerprint(f: Option<&Fingerprint>) -> Value {
    f.map_or(
        Value::Null,
        |f| json!({"key_id": f.key_id, "mac": f.mac_hex}),
    )
}

/// RFC 3339 in UTC (`2026-12-01T09:30:00.123456+00:00`).
fn time(t: std::time::SystemTime) -> Value {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let ts = pbjson_types::Timestamp {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    };
    serde_json::to_value(ts).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::tests_support;

    #[test]
    fn every_kind_exports_its_ids_and_fingerprints_as_stored() {
        for (n, e) in tests_support::one_of_each().into_iter().enumerate() {
            let stored = StoredEvent {
                id: n as i64,
                writer_id: "w".into(),
                seq: n as i64 + 1,
                hash: [7; 32],
                event: e,
                legacy: None,
            };
            let v = to_json(&stored);
            assert_eq!(v["kind"], stored.event.event_type().as_str());
            assert_eq!(v["hash"], "07".repeat(32));
            if let Some(fp) = stored.event.number_fingerprint() {
                assert_eq!(v["number_fingerprint"]["mac"], fp.mac_hex.as_str());
            }
        }
        let d = to_json(&StoredEvent {
            id: 1,
            writer_id: "w".into(),
            seq: 1,
            hash: [0; 32],
            event: tests_support::one_of_each().remove(1),
            legacy: None,
        });
        assert_eq!(d["decision"], "hold");
        assert_eq!(
            d["hold_reasons"],
            json!(["field_differs", "multiple_candidates"])
        );
        assert_eq!(
            d["comparisons"][0]["rules"],
            json!(["kanji.variant", "space"])
        );
        assert_eq!(d["occurred_at"], "2025-06-15T15:06:40.123456+00:00");
    }
}
