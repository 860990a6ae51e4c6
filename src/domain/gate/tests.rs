use super::*;

fn rec(kanji: &str, kana: &str, birth: &str, sex: &str, address: &str) -> Record {
    Record {
        kanji_name: kanji.into(),
        kana_name: kana.into(),
        birth_date: birth.into(),
        sex: sex.into(),
        address: address.into(),
    }
}

fn person() -> Record {
    rec(
        "山田 太郎",
        "ヤマダ タロウ",
        "昭和55年3月14日",
        "男",
        "埼玉県さいたま市浦和区高砂三丁目15番1号",
    )
}

fn candidate(record: Record, number: &str) -> Candidate {
    Candidate {
        record,
        number: IndividualNumber::parse(number),
    }
}

fn case(declared: Record, query: Option<Record>, candidates: Vec<Candidate>) -> Case {
    Case {
        declared,
        query,
        candidates,
        declared_number: None,
    }
}

fn decide_default(c: &Case) -> Decision {
    decide(c, &Policy::default())
}

fn unrecorded(kana: &str) -> Record {
    let mut r = person();
    r.kana_name = kana.into();
    r
}

#[test]
fn a_reading_jlis_has_not_recorded_holds_with_a_reason_of_its_own() {
    for placeholder in ["＊＊＊＊ ＊＊＊", "*******", "", "\u{3000}"] {
        let c = case(
            person(),
            Some(person()),
            vec![candidate(unrecorded(placeholder), "123456789018")],
        );
        let d = decide_default(&c);
        assert_eq!(d.kind, DecisionKind::Hold, "{placeholder:?}");
        assert_eq!(
            d.hold_reasons,
            [HoldReason::KanaNotRecorded],
            "{placeholder:?}"
        );
        let kana: Vec<_> = d
            .comparisons
            .iter()
            .filter(|c| c.field == Field::KanaName && c.stage != Stage::DeclaredVsQuery)
            .map(|c| (c.comparison.class, c.comparison.rules))
            .collect();
        let want = (MatchClass::NotRecorded, RuleSet::one(Rule::KanaNotRecorded));
        assert_eq!(kana, [want, want], "{placeholder:?}");
        assert_eq!(d.risk_class(), Some(RiskClass::KanaNotRecorded));
    }
}

#[test]
fn a_policy_may_let_a_reading_not_recorded_register_and_nothing_else() {
    let mut policy = Policy::default();
    policy.register_when_kana_not_recorded = true;
    let c = case(
        person(),
        Some(person()),
        vec![candidate(unrecorded("＊＊＊＊"), "123456789018")],
    );
    assert_eq!(decide(&c, &policy).kind, DecisionKind::Register);
    // A recorded reading that differs, or another field, still holds.
    let mut other = unrecorded("ヤマダ ジロウ");
    let c = case(
        person(),
        Some(person()),
        vec![candidate(other.clone(), "123456789018")],
    );
    assert_eq!(decide(&c, &policy).hold_reasons, [HoldReason::FieldDiffers]);
    other.kana_name = "＊＊＊＊".into();
    other.birth_date = "昭和55年3月15日".into();
    let c = case(
        person(),
        Some(person()),
        vec![candidate(other, "123456789018")],
    );
    assert_eq!(decide(&c, &policy).hold_reasons, [HoldReason::FieldDiffers]);
    // A form without a reading is returned, whatever J-LIS says.
    let c = case(
        unrecorded(""),
        Some(unrecorded("")),
        vec![candidate(unrecorded("＊＊＊＊"), "123456789018")],
    );
    assert_eq!(decide(&c, &policy).kind, DecisionKind::Return);
}

#[test]
fn a_clean_case_registers_the_one_candidate() {
    let d = decide_default(&case(
        person(),
        Some(rec(
            "山田太郎",
            "ﾔﾏﾀﾞ ﾀﾛｳ",
            "S55.3.14",
            "1",
            "埼玉県さいたま市浦和区高砂3-15-1",
        )),
        vec![candidate(person(), "123456789018")],
    ));
    assert_eq!(d.kind, DecisionKind::Register, "{:?}", d.comparisons);
    assert_eq!(d.selected_candidate, Some(0));
    assert!(d.hold_reasons.is_empty());
    assert_eq!(d.comparisons.len(), 15);
}

#[test]
fn every_stage_and_field_is_reported_once_per_candidate() {
    let d = decide_default(&case(
        person(),
        Some(person()),
        vec![
            candidate(person(), "123456789018"),
            candidate(person(), "983205673214"),
        ],
    ));
    assert_eq!(d.comparisons.len(), 5 * (1 + 2 + 2));
    assert_eq!(
        d.comparisons
            .iter()
            .filter(|c| c.stage == Stage::DeclaredVsCandidate && c.candidate_index == 1)
            .count(),
        5
    );
}

#[test]
fn several_candidates_hold_even_when_only_one_matches() {
    let mut sibling = person();
    sibling.kanji_name = "山田 次郎".into();
    sibling.kana_name = "ヤマダ ジロウ".into();
    let d = decide_default(&case(
        person(),
        Some(person()),
        vec![
            candidate(person(), "123456789018"),
            candidate(sibling, "983205673214"),
        ],
    ));
    assert_eq!(d.kind, DecisionKind::Hold);
    assert!(d.hold_reasons.contains(&HoldReason::MultipleCandidates));
    assert_eq!(d.selected_candidate, None);
}

#[test]
fn no_candidate_holds() {
    let d = decide_default(&case(person(), Some(person()), vec![]));
    assert_eq!(d.kind, DecisionKind::Hold);
    assert_eq!(d.hold_reasons, [HoldReason::NoCandidate]);
}

#[test]
fn a_sibling_at_the_same_address_is_held() {
    let mut sibling = person();
    sibling.kanji_name = "山田 花子".into();
    sibling.kana_name = "ヤマダ ハナコ".into();
    sibling.sex = "2".into();
    let d = decide_default(&case(
        person(),
        Some(person()),
        vec![candidate(sibling, "123456789018")],
    ));
    assert_eq!(d.kind, DecisionKind::Hold);
    assert_eq!(d.hold_reasons, [HoldReason::FieldDiffers]);
}

#[test]
fn a_parent_returned_for_a_child_is_held() {
    let child = rec(
        "山田 翔太",
        "ヤマダ ショウタ",
        "平成27年6月1日",
        "1",
        "埼玉県さいたま市浦和区高砂三丁目15番1号",
    );
    let parent = rec(
        "山田 翔太",
        "ヤマダ ショウタ",
        "昭和58年6月1日",
        "1",
        "埼玉県さいたま市浦和区高砂三丁目15番1号",
    );
    let d = decide_default(&case(
        child.clone(),
        Some(child),
        vec![candidate(parent, "123456789018")],
    ));
    assert_eq!(d.kind, DecisionKind::Hold);
    let birth: Vec<_> = d
        .comparisons
        .iter()
        .filter(|c| c.field == Field::BirthDate && c.stage != Stage::DeclaredVsQuery)
        .map(|c| c.comparison.class)
        .collect();
    assert_eq!(birth, [MatchClass::Mismatch, MatchClass::Mismatch]);
}

#[test]
fn a_query_without_address_is_incomplete_even_if_the_result_matches() {
    let mut weak = person();
    weak.address.clear();
    weak.kanji_name.clear();
    let d = decide_default(&case(
        person(),
        Some(weak),
        vec![candidate(person(), "123456789018")],
    ));
    assert_eq!(d.kind, DecisionKind::Hold);
    assert_eq!(d.hold_reasons, [HoldReason::QueryIncomplete]);
}

#[test]
fn a_declared_form_missing_a_field_is_returned_whatever_else_is_wrong() {
    let mut form = person();
    form.address = "  ".into();
    form.sex.clear();
    let d = decide_default(&case(form, None, vec![]));
    assert_eq!(d.kind, DecisionKind::Return);
    assert_eq!(d.fields_to_complete, [Field::Sex, Field::Address]);
    assert!(d.hold_reasons.is_empty());
    assert_eq!(d.selected_candidate, None);
}

#[test]
fn a_bad_check_digit_on_the_candidate_holds() {
    let d = decide_default(&case(
        person(),
        Some(person()),
        vec![candidate(person(), "983205673210")],
    ));
    assert_eq!(d.kind, DecisionKind::Hold);
    assert_eq!(d.hold_reasons, [HoldReason::InvalidCheckDigit]);
}

#[test]
fn a_number_on_the_form_must_equal_the_candidates() {
    let mut c = case(person(), None, vec![candidate(person(), "123456789018")]);
    c.declared_number = Some(IndividualNumber::parse("983205673214"));
    assert_eq!(
        decide_default(&c).hold_reasons,
        [HoldReason::DeclaredNumberDiffers]
    );
    c.declared_number = Some(IndividualNumber::parse("1234 5678 9018"));
    let d = decide_default(&c);
    assert_eq!(d.kind, DecisionKind::Register);
    assert!(
        d.comparisons
            .iter()
            .all(|c| c.stage == Stage::DeclaredVsCandidate)
    );
    c.declared_number = Some(IndividualNumber::parse("123456789019"));
    assert_eq!(
        decide_default(&c).hold_reasons,
        [HoldReason::DeclaredNumberDiffers]
    );
}

#[test]
fn a_variant_birth_date_class_never_passes_the_default_policy() {
    let mut other = person();
    other.birth_date = "昭和55年3月15日".into();
    let d = decide_default(&case(
        person(),
        Some(person()),
        vec![candidate(other, "123456789018")],
    ));
    assert_eq!(d.kind, DecisionKind::Hold);
}

#[test]
fn a_stricter_policy_holds_what_the_default_registers() {
    let c = case(
        rec(
            "髙田 太郎",
            "タカダ タロウ",
            "昭和55年3月14日",
            "男",
            "埼玉県さいたま市浦和区高砂三丁目15番1号",
        ),
        None,
        vec![candidate(
            rec(
                "高田 太郎",
                "タカダ タロウ",
                "昭和55年3月14日",
                "男",
                "埼玉県さいたま市浦和区高砂三丁目15番1号",
            ),
            "123456789018",
        )],
    );
    assert_eq!(decide_default(&c).kind, DecisionKind::Register);
    let strict =
        Policy::from_toml("version = \"strict\"\n[fields]\nkanji_name = \"notation\"\n").unwrap();
    assert_eq!(decide(&c, &strict).kind, DecisionKind::Hold);
}
