//! Pins every id the audit log stores. These ids are covered by the hash chain and read back by
//! later versions, so a rename must fail here rather than silently change what new rows say.

use crate::domain::{
    Field, MatchClass, Stage,
    gate::{CommitRefusal, DecisionKind, HoldReason, Resolution},
    risk::RiskClass,
    subject::SubjectKind,
};

fn ids<T: Copy>(all: &[T], id: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|&t| id(t)).collect()
}

#[test]
fn every_stored_id_is_pinned_and_reads_back() {
    assert_eq!(
        ids(&DecisionKind::ALL, DecisionKind::id),
        ["register", "hold", "return"]
    );
    assert_eq!(
        ids(&HoldReason::ALL, HoldReason::id),
        [
            "field_differs",
            "no_candidate",
            "multiple_candidates",
            "invalid_check_digit",
            "declared_number_differs",
            "query_incomplete",
            "number_registered_to_another_subject",
            "subject_has_another_number",
            "kana_not_recorded",
        ]
    );
    // Not stored (derived on read), but shown in result files and exports that outlive a
    // release.
    assert_eq!(
        ids(&RiskClass::ALL, RiskClass::id),
        [
            "birth_or_sex",
            "structural",
            "names",
            "name_and_address",
            "address_only",
            "one_name_only",
            "notation_or_variant_only",
            "kana_not_recorded",
        ]
    );
    assert_eq!(
        ids(&Resolution::ALL, Resolution::id),
        ["requeried", "number_from_person", "withdrawn"]
    );
    assert_eq!(
        ids(&CommitRefusal::ALL, CommitRefusal::id),
        [
            "verification_not_found",
            "subject_mismatch",
            "not_register",
            "number_mismatch",
            "expired",
            "number_registered_to_another_subject",
            "subject_has_another_number",
        ]
    );
    assert_eq!(
        ids(&SubjectKind::ALL, SubjectKind::id),
        ["", "member", "dependent"]
    );
    assert_eq!(
        ids(&Stage::ALL, Stage::as_str),
        [
            "declared_vs_query",
            "query_vs_candidate",
            "declared_vs_candidate"
        ]
    );
    assert_eq!(
        ids(&Field::ALL, Field::as_str),
        ["kanji_name", "kana_name", "birth_date", "sex", "address"]
    );
    assert_eq!(
        ids(&MatchClass::ALL, MatchClass::as_str),
        [
            "exact",
            "notation",
            "variant",
            "mismatch",
            "missing",
            "unparseable",
            "not_recorded"
        ]
    );

    for k in DecisionKind::ALL {
        assert_eq!(DecisionKind::from_id(k.id()), Some(k));
    }
    for r in HoldReason::ALL {
        assert_eq!(HoldReason::from_id(r.id()), Some(r));
    }
    for r in Resolution::ALL {
        assert_eq!(Resolution::from_id(r.id()), Some(r));
    }
    for r in CommitRefusal::ALL {
        assert_eq!(CommitRefusal::from_id(r.id()), Some(r));
    }
    for k in SubjectKind::ALL {
        assert_eq!(SubjectKind::from_id(k.id()), Some(k));
    }
    for s in Stage::ALL {
        assert_eq!(Stage::from_id(s.as_str()), Some(s));
    }
    for f in Field::ALL {
        assert_eq!(Field::from_id(f.as_str()), Some(f));
    }
    for c in MatchClass::ALL {
        assert_eq!(MatchClass::from_id(c.as_str()), Some(c));
    }
    assert_eq!(HoldReason::from_id("HOLD_REASON_NO_CANDIDATE"), None);
}
