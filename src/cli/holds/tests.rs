use super::*;

fn row(subject: &str, reasons: &str) -> [String; 7] {
    [
        "01930000-0000-7000-8000-000000000001",
        subject,
        "2026-11-18 18:00 JST",
        "2026-11-24 00:00 JST",
        "OVERDUE",
        "birth_or_sex",
        reasons,
    ]
    .map(str::to_owned)
}

#[test]
fn the_holds_table_fits_a_120_column_terminal_without_cutting_an_id() {
    let rows = [
        row("1234-567-01", "FIELD_DIFFERS"),
        row("S-2", "FIELD_DIFFERS,NUMBER_REGISTERED_TO_ANOTHER_SUBJECT"),
    ];
    let narrow = table(&rows, Some(120));
    for l in narrow.lines() {
        assert!(
            l.chars().count() <= 120,
            "{} columns: {l}",
            l.chars().count()
        );
    }
    assert!(narrow.contains("01930000-0000-7000-8000-000000000001  1234-567-01"));
    assert!(narrow.contains("\n    birth_or_sex  FIELD_DIFFERS,NUMBER_REGISTERED"));
    // A wide terminal or a pipe: one line per hold.
    for wide in [table(&rows, Some(250)), table(&rows, None)] {
        assert_eq!(wide.lines().count(), 3, "{wide}");
    }
}

#[test]
fn hold_reasons_are_accepted_with_or_without_their_prefix() {
    assert_eq!(
        parse_reason("field_differs"),
        Some(pb::HoldReason::FieldDiffers)
    );
    assert_eq!(
        parse_reason("HOLD_REASON_NO_CANDIDATE"),
        Some(pb::HoldReason::NoCandidate)
    );
    assert_eq!(
        parse_reason("multiple-candidates"),
        Some(pb::HoldReason::MultipleCandidates)
    );
    assert_eq!(parse_reason("unspecified"), None);
    assert_eq!(parse_reason("nonsense"), None);
}

#[test]
fn risk_classes_are_accepted_by_stable_id_or_contract_name_and_shown_by_id() {
    assert_eq!(parse_risk("birth_or_sex"), Some(pb::RiskClass::BirthOrSex));
    assert_eq!(
        parse_risk("RISK_CLASS_ADDRESS_ONLY"),
        Some(pb::RiskClass::AddressOnly)
    );
    assert_eq!(
        parse_risk("notation-or-variant-only"),
        Some(pb::RiskClass::NotationOrVariantOnly)
    );
    assert_eq!(parse_risk("unspecified"), None);
    assert_eq!(parse_risk("high"), None);
    // The table shows the domain's stable ids.
    for class in RiskClass::ALL {
        let pb_class = pb::RiskClass::from(Some(class));
        assert_eq!(risk_id(pb_class), class.id());
        assert_eq!(parse_risk(class.id()), Some(pb_class));
    }
    assert_eq!(risk_id(pb::RiskClass::Unspecified), "-");
}
