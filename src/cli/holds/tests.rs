use super::text::{reason_words, risk_words, table};
use super::*;
use crate::{
    cli::hold_stats::risk_id,
    domain::{gate::HoldReason, risk::RiskClass},
    words,
};

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
    let narrow = table(&rows, Some(120), Lang::En);
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
    for wide in [
        table(&rows, Some(250), Lang::En),
        table(&rows, None, Lang::En),
    ] {
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

/// A held case as the server lists it: decided 2026-11-18 09:00 UTC, due 2026-11-23 15:00 UTC,
/// held for a differing field and a number registered to another, risk class ①.
fn known_hold() -> pb::VerificationRecord {
    let at = |seconds| pbjson_types::Timestamp { seconds, nanos: 0 };
    pb::VerificationRecord {
        subject_id: "1234-567-01".to_owned(),
        verification: Some(pb::VerifyResponse {
            verification_id: "01930000-0000-7000-8000-000000000001".to_owned(),
            decided_at: Some(at(1_794_992_400)),
            register_by: Some(at(1_795_446_000)),
            hold_reasons: vec![
                pb::HoldReason::FieldDiffers as i32,
                pb::HoldReason::NumberRegisteredToAnotherSubject as i32,
            ],
            risk_class: pb::RiskClass::BirthOrSex as i32,
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn the_holds_list_speaks_japanese_or_english_in_the_shared_words() {
    let zone = TimeZone::get("Asia/Tokyo").expect("the zone database has Tokyo");
    let after_the_deadline = 1_795_446_000 + 86_400;
    let ja = render_list(&[known_hold()], after_the_deadline, &zone, Lang::Ja, None);
    let lines: Vec<&str> = ja.lines().collect();
    assert_eq!(
        lines[0],
        "verification_id                       記号番号 subject_id  判定日時              \
         登録期限              期限超過  リスク区分              保留理由"
    );
    assert_eq!(
        lines[1],
        "01930000-0000-7000-8000-000000000001  1234-567-01          2026-11-18 18:00 JST  \
         2026-11-24 00:00 JST  期限超過  ① 生年月日・性別の相違  \
         項目がJ-LISと相違、番号が別の加入者に登録済"
    );
    assert_eq!(lines[2], "未解決の保留 1 件");
    // The words are the console's and the report's, never the CLI's own.
    assert!(ja.contains(words::risk(RiskClass::BirthOrSex, Lang::Ja)));
    assert!(ja.contains(words::reason(HoldReason::FieldDiffers, Lang::Ja)));

    let en = render_list(&[known_hold()], after_the_deadline, &zone, Lang::En, None);
    let lines: Vec<&str> = en.lines().collect();
    assert_eq!(
        lines[1],
        "01930000-0000-7000-8000-000000000001  1234-567-01  2026-11-18 18:00 JST  \
         2026-11-24 00:00 JST  OVERDUE  ① Birth date or sex differs  \
         A field differs from J-LIS; Number already registered to another"
    );
    assert_eq!(lines[2], "1 open hold(s)");
    // Not yet due: no overdue mark in either language.
    let early = render_list(&[known_hold()], 1_794_992_400, &zone, Lang::Ja, None);
    assert!(
        !early.lines().nth(1).unwrap().contains("期限超過"),
        "{early}"
    );
}

#[test]
fn japanese_columns_line_up_by_terminal_columns_not_characters() {
    let zone = TimeZone::get("Asia/Tokyo").expect("the zone database has Tokyo");
    let mut other = known_hold();
    other.subject_id = "S-2".to_owned();
    if let Some(v) = other.verification.as_mut() {
        v.risk_class = pb::RiskClass::AddressOnly as i32;
        v.hold_reasons = vec![pb::HoldReason::NoCandidate as i32];
    }
    for width in [None, Some(120)] {
        let text = render_list(&[known_hold(), other.clone()], 0, &zone, Lang::Ja, width);
        // The column after the risk class starts at the same terminal column on every line
        // that has one (the header and both holds).
        let starts: Vec<usize> = text
            .lines()
            .filter_map(|l| {
                let at = ["保留理由", "項目が", "J-LISの該当者なし"]
                    .iter()
                    .find_map(|w| l.find(w))?;
                Some(crate::terminal::display_width(&l[..at]))
            })
            .collect();
        assert_eq!(starts.len(), 3, "{text}");
        assert!(starts.iter().all(|s| *s == starts[0]), "{starts:?}\n{text}");
        if let Some(w) = width {
            for l in text.lines() {
                assert!(crate::terminal::display_width(l) <= w, "{l}");
            }
        }
    }
}

#[test]
fn every_reason_and_risk_class_the_list_can_print_has_words_in_both_languages() {
    for reason in HoldReason::ALL {
        let pb_reason = pb::HoldReason::from(reason);
        for lang in [Lang::Ja, Lang::En] {
            assert_eq!(reason_words(pb_reason, lang), words::reason(reason, lang));
            assert_ne!(reason_words(pb_reason, lang), pb_reason.as_str_name());
        }
    }
    for class in RiskClass::ALL {
        let pb_class = pb::RiskClass::from(Some(class));
        for lang in [Lang::Ja, Lang::En] {
            assert_eq!(risk_words(pb_class, lang), words::risk(class, lang));
        }
    }
    assert_eq!(risk_words(pb::RiskClass::Unspecified, Lang::Ja), "-");
}

#[test]
fn the_language_is_the_flag_else_a_japanese_locale_else_english() {
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(lang_of_locale([None, None, some("ja_JP.UTF-8")]), Lang::Ja);
    assert_eq!(lang_of_locale([None, None, some("C.UTF-8")]), Lang::En);
    assert_eq!(lang_of_locale([None, None, None]), Lang::En);
    // LC_ALL over LC_MESSAGES over LANG; an empty one is as if unset.
    assert_eq!(
        lang_of_locale([some("en_US.UTF-8"), None, some("ja_JP.UTF-8")]),
        Lang::En
    );
    assert_eq!(
        lang_of_locale([some(""), some("ja_JP.UTF-8"), some("C")]),
        Lang::Ja
    );
    assert_eq!(text_lang(Some(Lang::En)), Lang::En);
    assert_eq!(text_lang(Some(Lang::Ja)), Lang::Ja);
    assert_eq!(parse_lang("ja"), Ok(Lang::Ja));
    assert_eq!(parse_lang("en-US"), Ok(Lang::En));
    assert!(parse_lang("fr").unwrap_err().contains("`ja`"));
}

#[test]
fn a_resolution_keeps_the_state_s_contract_name_and_adds_its_words() {
    let resolved = pb::VerificationState::HoldResolved as i32;
    assert_eq!(
        resolved_line("v-1", resolved, Lang::Ja),
        "v-1 VERIFICATION_STATE_HOLD_RESOLVED (解決済)"
    );
    assert_eq!(
        resolved_line("v-1", resolved, Lang::En),
        "v-1 VERIFICATION_STATE_HOLD_RESOLVED (resolved)"
    );
    for state in [
        pb::VerificationState::Decided,
        pb::VerificationState::Held,
        pb::VerificationState::Committed,
    ] {
        assert!(
            !resolved_line("v", state as i32, Lang::Ja).ends_with("(?)"),
            "{state:?}"
        );
    }
}
