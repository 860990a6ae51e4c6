//! Whole requests: the proto3 JSON reader of `check` and the validation every RPC runs at the
//! edge. The field folds are fuzzed one by one in the parent module; these targets fuzz what
//! stands in front of them.
//!
//! Checked on every input, beside no panic and bounded time and memory: an error never quotes a
//! value from the input (values are personal data); a request that validates respects every
//! limit the edge promises (candidates, field lengths, no control or bidi characters); a request
//! that reads is decided, and reads back the same after a round trip through JSON; a field
//! violation names a real path of the request.

use proptest::prelude::*;
use verify_identity::{
    cli::check,
    contract::{
        parse::{self, FieldViolation, Identifiers, MAX_CANDIDATES, MAX_FIELD_CHARS},
        pb,
    },
    domain::{
        gate::{self, DecisionKind},
        number::check_digit,
        policy::Policy,
        text::chars,
    },
};

use super::{fuzz_for, measured, text};

// ---- generators ----

/// An identifier as callers send them: well-formed, Japanese, oversized, or with control and
/// bidi characters.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[A-Za-z0-9._:-]{1,40}",
        2 => value(),
        1 => (1usize..400).prop_map(|n| "v".repeat(n)),
        1 => "[a-z]{0,5}[\u{0}-\u{1f}\u{7f}\u{85}\u{202a}-\u{202e}\u{2066}-\u{2069}][a-z]{0,5}",
        1 => Just(String::new()),
    ]
}

/// A 保険者番号, or something that is not one.
fn insurer() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[0-9]{8}",
        1 => "[0-9０-９]{0,12}",
        1 => value(),
    ]
}

/// An individual number: valid, one digit off, written with separators, or anything.
fn number() -> impl Strategy<Value = String> {
    let valid = proptest::array::uniform11(0u8..10).prop_map(|base| {
        let mut digits: String = base.iter().map(|d| char::from(b'0' + d)).collect();
        digits.push(char::from(b'0' + check_digit(&base)));
        digits
    });
    prop_oneof![
        5 => valid.clone(),
        1 => valid.clone().prop_map(|d| format!("{} {} {}", &d[..4], &d[4..8], &d[8..])),
        1 => valid.prop_map(|d| {
            let last = (d.as_bytes()[11] - b'0' + 1) % 10;
            format!("{}{last}", &d[..11])
        }),
        1 => "[0-9０-９ -]{0,16}",
        1 => value(),
    ]
}

/// Values a real roster holds, in the notations forms and registries use: most fields of a
/// fuzzed request are one of these, so that each request spends its hostile input on a few
/// fields and a run reaches millions of requests.
const PLAIN: &[&str] = &[
    "髙橋 一郎",
    "高橋　一郎",
    "タカハシ イチロウ",
    "ﾀｶﾊｼ ｲﾁﾛｳ",
    "渡邊 智子",
    "渡辺 知子",
    "ワタナベ トモコ",
    "SMITH, JOHN",
    "昭和50年1月1日",
    "S50.1.1",
    "3500101",
    "1975-01-01",
    "平成元年1月8日",
    "1",
    "2",
    "男",
    "女性",
    "東京都新宿区西新宿二丁目8番1号",
    "東京都新宿区西新宿2-8-1",
    "大阪府大阪市北区梅田一丁目1番1号 梅田ビル101号室",
    "",
];

/// One field value: mostly a plain value, sometimes hostile text.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(PLAIN).prop_map(str::to_owned),
        2 => text(),
    ]
}

fn five_fields() -> impl Strategy<Value = pb::FiveFields> {
    (value(), value(), value(), value(), value()).prop_map(
        |(kanji_name, kana_name, birth_date, sex, address)| pb::FiveFields {
            kanji_name,
            kana_name,
            birth_date,
            sex,
            address,
        },
    )
}

fn verify_request() -> impl Strategy<Value = pb::VerifyRequest> {
    let candidate = || {
        (prop::option::weighted(0.95, five_fields()), number()).prop_map(
            |(fields, individual_number)| pb::Candidate {
                fields,
                individual_number,
            },
        )
    };
    let candidates = prop_oneof![
        20 => prop::collection::vec(candidate(), 0..4),
        1 => prop::collection::vec(candidate(), MAX_CANDIDATES - 1..MAX_CANDIDATES + 3),
    ];
    let received_at =
        prop::option::of(
            (any::<i64>(), any::<i32>()).prop_map(|(s, n)| pbjson_types::Timestamp {
                seconds: s % 300_000_000_000,
                nanos: n,
            }),
        );
    (
        (id(), insurer(), id(), -2i32..5),
        (
            prop::option::weighted(0.95, five_fields()),
            prop::option::weighted(0.8, five_fields()),
        ),
        candidates,
        (
            prop_oneof![3 => Just(String::new()), 1 => number()],
            received_at,
        ),
    )
        .prop_map(
            |(
                (request_id, insurer_number, subject_id, subject_kind),
                (declared, query),
                candidates,
                (declared_individual_number, received_at),
            )| pb::VerifyRequest {
                request_id,
                insurer_number,
                subject_id,
                subject_kind,
                declared,
                query,
                candidates,
                declared_individual_number,
                received_at,
            },
        )
}

/// Every string value of a request: what an error must never quote.
fn values(r: &pb::VerifyRequest) -> Vec<&str> {
    let mut out = vec![
        r.request_id.as_str(),
        &r.insurer_number,
        &r.subject_id,
        &r.declared_individual_number,
    ];
    let records = r
        .declared
        .iter()
        .chain(r.query.iter())
        .chain(r.candidates.iter().filter_map(|c| c.fields.as_ref()));
    for f in records {
        out.extend([
            f.kanji_name.as_str(),
            &f.kana_name,
            &f.birth_date,
            &f.sex,
            &f.address,
        ]);
    }
    out.extend(r.candidates.iter().map(|c| c.individual_number.as_str()));
    out
}

/// The values of `r` that an error quoting them would reveal. Short or plain-ASCII values are
/// left out: "1" or "request" occur in messages by themselves.
fn personal(r: &pb::VerifyRequest) -> Vec<&str> {
    let mut out: Vec<&str> = values(r)
        .into_iter()
        .filter(|v| {
            (!v.is_ascii() && v.chars().count() >= 4)
                || (v.len() >= 12 && v.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The first of `values` that `message` quotes.
fn quoted<'a>(message: &str, values: &[&'a str]) -> Option<&'a str> {
    values.iter().copied().find(|v| message.contains(v))
}

/// Whether `path` is a field of a VerifyRequest, in the spelling violations use.
fn is_verify_path(path: &str) -> bool {
    const TOP: [&str; 7] = [
        "request_id",
        "insurer_number",
        "subject_id",
        "subject_kind",
        "candidates",
        "declared_individual_number",
        "received_at",
    ];
    const FIVE: [&str; 5] = ["kanji_name", "kana_name", "birth_date", "sex", "address"];
    if TOP.contains(&path) {
        return true;
    }
    let five = |rest: &str| FIVE.contains(&rest);
    if let Some(rest) = path
        .strip_prefix("declared.")
        .or_else(|| path.strip_prefix("query."))
    {
        return five(rest);
    }
    let Some(rest) = path.strip_prefix("candidates[") else {
        return false;
    };
    let Some((index, rest)) = rest.split_once("].") else {
        return false;
    };
    index.parse::<usize>().is_ok_and(|i| i < MAX_CANDIDATES)
        && (rest == "individual_number" || rest.strip_prefix("fields.").is_some_and(five))
}

fn check_violations(violations: &[FieldViolation], personal: &[&str]) -> Result<(), TestCaseError> {
    prop_assert!(!violations.is_empty(), "an error without a violation");
    for v in violations {
        prop_assert!(is_verify_path(&v.field), "unknown path {}", v.field);
        prop_assert!(v.description.len() < 200, "{}", v.description);
        let leaked = quoted(&v.description, personal);
        prop_assert!(leaked.is_none(), "{v} quotes {leaked:?}");
    }
    Ok(())
}

/// The limits a request that passed validation respects.
fn check_limits(r: &pb::VerifyRequest) -> Result<(), TestCaseError> {
    prop_assert!(r.candidates.len() <= MAX_CANDIDATES);
    let records = r
        .declared
        .iter()
        .chain(r.query.iter())
        .chain(r.candidates.iter().filter_map(|c| c.fields.as_ref()));
    for f in records {
        for (i, value) in [
            &f.kanji_name,
            &f.kana_name,
            &f.birth_date,
            &f.sex,
            &f.address,
        ]
        .into_iter()
        .enumerate()
        {
            prop_assert!(value.chars().count() <= MAX_FIELD_CHARS[i]);
            prop_assert!(
                !value
                    .chars()
                    .any(|c| chars::is_control(c) || chars::is_bidi_control(c)),
                "a control or bidi character passed"
            );
        }
    }
    Ok(())
}

// ---- targets ----

#[test]
fn fuzz_request_validation() {
    let policy = Policy::default();
    fuzz_for("request_validation", 300, verify_request(), |r| {
        let chars: usize = values(&r).iter().map(|v| v.chars().count()).sum();
        let (parsed, elapsed, peak) = measured(|| parse::parse_verify(&r));
        super::within_limits(chars, elapsed, peak)?;
        let local = parse::case_from_request(&r, Identifiers::Optional);
        let personal = personal(&r);
        match parsed {
            Err(violations) => check_violations(&violations, &personal)?,
            Ok(verify) => {
                check_limits(&r)?;
                prop_assert!(
                    local.is_ok(),
                    "the service accepts what a local check refuses"
                );
                let decision = gate::decide(&verify.case, &policy);
                let missing = !verify.case.declared.missing_fields().is_empty();
                prop_assert_eq!(decision.kind == DecisionKind::Return, missing);
                if decision.kind == DecisionKind::Register {
                    prop_assert_eq!(verify.case.candidates.len(), 1);
                    prop_assert!(verify.case.candidates[0].number.is_ok());
                }
                prop_assert_eq!(
                    decision.risk_class().is_some(),
                    decision.kind == DecisionKind::Hold
                );
            }
        }
        if let Err(violations) = local {
            check_violations(&violations, &personal)?;
        }

        // The other RPCs' edges, on the same hostile ids.
        let commit = pb::CommitRegistrationRequest {
            verification_id: r.request_id.clone(),
            insurer_number: r.insurer_number.clone(),
            subject_id: r.subject_id.clone(),
            individual_number: r.declared_individual_number.clone(),
        };
        if let Err(v) = parse::parse_commit(&commit) {
            for v in v {
                prop_assert!(
                    [
                        "verification_id",
                        "insurer_number",
                        "subject_id",
                        "individual_number"
                    ]
                    .contains(&v.field.as_str()),
                    "{}",
                    v.field
                );
            }
        }
        let get = pb::GetVerificationRequest {
            verification_id: r.subject_id.clone(),
            insurer_number: r.insurer_number.clone(),
        };
        if let Err(v) = parse::parse_get_verification(&get) {
            prop_assert!(
                v.iter()
                    .all(|v| v.field == "verification_id" || v.field == "insurer_number")
            );
        }
        let list = pb::ListHoldsRequest {
            insurer_number: r.insurer_number.clone(),
            page_token: r.request_id.clone(),
            page_size: r.subject_kind * 200,
            ..Default::default()
        };
        let _ = parse::parse_list_holds(&list);
        Ok(())
    });
}

/// A JSON string literal for `value`, each character written as itself or as an escape
/// (`\uXXXX`, surrogate pairs for astral characters) as `styles` picks; sometimes a lone
/// surrogate is slipped in.
fn json_literal(value: &str, styles: &[u8]) -> String {
    let mut out = String::from("\"");
    for (i, c) in value.chars().enumerate() {
        let style = styles.get(i % styles.len().max(1)).copied().unwrap_or(0);
        match (c, style % 8) {
            ('"' | '\\', _) => {
                out.push('\\');
                out.push(c);
            }
            (c, _) if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            (c, 1 | 2) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            (_, 3) if style > 250 => {
                out.push_str("\\ud83d");
                out.push(c);
            }
            (_, 4) if style > 250 => {
                out.push(c);
                out.push_str("\\udc00");
            }
            (c, _) => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A `check` input: a VerifyRequest in proto3 JSON with either key spelling, escapes, odd enum
/// spellings, unknown keys and wrong types, sometimes cut short or nested deep.
fn check_input() -> impl Strategy<Value = (String, pb::VerifyRequest)> {
    (
        verify_request(),
        prop::collection::vec(any::<u8>(), 1..16),
        any::<bool>(),
        0u8..12,
        any::<usize>(),
    )
        .prop_map(|(r, styles, camel, oddity, at)| {
            let key = |snake: &'static str, camel_case: &'static str| {
                if camel { camel_case } else { snake }
            };
            let s = |v: &str| json_literal(v, &styles);
            let five = |f: &pb::FiveFields| {
                format!(
                    "{{\"{}\":{},\"{}\":{},\"{}\":{},\"sex\":{},\"address\":{}}}",
                    key("kanji_name", "kanjiName"),
                    s(&f.kanji_name),
                    key("kana_name", "kanaName"),
                    s(&f.kana_name),
                    key("birth_date", "birthDate"),
                    s(&f.birth_date),
                    s(&f.sex),
                    s(&f.address),
                )
            };
            let mut parts = vec![
                format!(
                    "\"{}\":{}",
                    key("request_id", "requestId"),
                    s(&r.request_id)
                ),
                format!(
                    "\"{}\":{}",
                    key("insurer_number", "insurerNumber"),
                    s(&r.insurer_number)
                ),
                format!(
                    "\"{}\":{}",
                    key("subject_id", "subjectId"),
                    s(&r.subject_id)
                ),
            ];
            let kind = match oddity {
                0 => r.subject_kind.to_string(),
                1 => "\"SUBJECT_KIND_DEPENDENT\"".to_owned(),
                2 => "\"member\"".to_owned(),
                _ => "\"SUBJECT_KIND_MEMBER\"".to_owned(),
            };
            parts.push(format!("\"{}\":{kind}", key("subject_kind", "subjectKind")));
            if let Some(d) = &r.declared {
                parts.push(format!("\"declared\":{}", five(d)));
            }
            if let Some(q) = &r.query {
                parts.push(format!("\"query\":{}", five(q)));
            }
            let candidates: Vec<String> = r
                .candidates
                .iter()
                .map(|c| {
                    let fields = c.fields.as_ref().map(five).unwrap_or_else(|| "null".into());
                    format!(
                        "{{\"fields\":{fields},\"{}\":{}}}",
                        key("individual_number", "individualNumber"),
                        s(&c.individual_number)
                    )
                })
                .collect();
            parts.push(format!("\"candidates\":[{}]", candidates.join(",")));
            match oddity {
                3 => parts.push("\"unknown_field\":1".into()),
                4 => parts.push("\"declared\":5".into()),
                5 => parts.push(format!(
                    "\"received_at\":\"{}\"",
                    [
                        "2026-11-20T09:00:00Z",
                        "2026-13-01T00:00:00Z",
                        "yesterday",
                        ""
                    ][at % 4]
                )),
                6 => parts.push(format!(
                    "\"junk\":{}1{}",
                    "[".repeat(at % 400),
                    "]".repeat(at % 400)
                )),
                _ => {}
            }
            let mut json = format!("{{{}}}", parts.join(","));
            if oddity == 7 {
                // Cut short at a character boundary.
                let cut = json
                    .char_indices()
                    .map(|(i, _)| i)
                    .nth(at % json.chars().count().max(1))
                    .unwrap_or(0);
                json.truncate(cut);
            }
            (json, r)
        })
}

#[test]
fn fuzz_check_json_reader() {
    let policy = Policy::default();
    fuzz_for("check_json", 300, check_input(), |(json, r)| {
        let chars = json.chars().count();
        let (read, elapsed, peak) = measured(|| check::parse_request(&json));
        super::within_limits(chars, elapsed, peak)?;
        match read {
            Err(e) => {
                let message = e.to_string();
                prop_assert!(message.len() < 400, "{message}");
                let leaked = quoted(&message, &personal(&r));
                prop_assert!(leaked.is_none(), "{message} quotes {leaked:?}");
            }
            Ok(request) => {
                // What was read reads back the same after a round trip through JSON (an enum
                // number outside the contract cannot be written back by name: validation
                // refuses it below).
                let Ok(written) = serde_json::to_string(&request) else {
                    prop_assert!(check::decide(&request, &policy).is_err());
                    return Ok(());
                };
                let again = check::parse_request(&written);
                prop_assert!(again.is_ok(), "its own JSON does not read back");
                prop_assert_eq!(again.ok(), Some(request.clone()));
                match check::decide(&request, &policy) {
                    Ok(response) => {
                        prop_assert!(response.decision() != pb::Decision::Unspecified);
                        prop_assert_eq!(
                            response.risk_class() != pb::RiskClass::Unspecified,
                            response.decision() == pb::Decision::Hold
                        );
                    }
                    Err(e) => {
                        let message = e.to_string();
                        let leaked = quoted(&message, &personal(&request));
                        prop_assert!(leaked.is_none(), "{message} quotes {leaked:?}");
                    }
                }
            }
        }
        Ok(())
    });
}
