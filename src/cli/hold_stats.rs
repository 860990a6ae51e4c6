//! `verify-identity holds stats`: how the holds of a period ended, per what held them, and
//! what that suggests — through the server's HoldStats, printed as an aligned table on a
//! terminal, proto3 JSON in a pipe, or CSV with `--csv`.
//!
//! Only counts, ids, durations and policy settings are printed: the answer holds no personal
//! value to print.

use std::fmt::Write as _;

use crate::{
    contract::pb,
    domain::{Field, MatchClass, Stage, gate::HoldReason, hold_cause::HoldCause, risk::RiskClass},
    terminal::display_width,
    words::{self, Lang},
};

/// How to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsFormat {
    /// An aligned table and the suggestions in words.
    Table,
    /// The HoldStatsResponse as proto3 JSON.
    Json,
    /// One CSV line per row, with a header.
    Csv,
}

/// Days `holds stats` reads without `--from`: the console's 統計 page's default too.
pub const DEFAULT_DAYS: u64 = 90;

/// The request the flags ask for; `--from`/`--to` as RFC 3339 or a date (`2026-11-01`, UTC);
/// no `--from`: [`DEFAULT_DAYS`] before now.
pub fn request(
    insurers: &[String],
    from: Option<&str>,
    to: Option<&str>,
    min_closed: u32,
) -> Result<pb::HoldStatsRequest, String> {
    let time = |flag: &str, text: &str| {
        let text = if text.len() == 10 {
            format!("{text}T00:00:00Z")
        } else {
            text.to_owned()
        };
        serde_json::from_value::<pbjson_types::Timestamp>(serde_json::Value::String(text))
            .map_err(|_| format!("{flag} must be RFC 3339 (2026-11-01T00:00:00Z) or a date"))
    };
    Ok(pb::HoldStatsRequest {
        insurer_numbers: insurers.to_vec(),
        from: Some(match from {
            Some(from) => time("--from", from)?,
            None => days_ago(DEFAULT_DAYS),
        }),
        to: to.map(|t| time("--to", t)).transpose()?,
        min_closed,
    })
}

/// The time `days` days before now.
fn days_ago(days: u64) -> pbjson_types::Timestamp {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    pbjson_types::Timestamp {
        seconds: i64::try_from(now.saturating_sub(days * 86_400)).unwrap_or(0),
        nanos: 0,
    }
}

/// `response` in `format`; the table names stages, fields, classes, reasons and risk classes in
/// the shared words of `lang` (JSON and CSV keep the stable ids: they are a contract).
pub fn render(response: &pb::HoldStatsResponse, format: StatsFormat, lang: Lang) -> String {
    match format {
        StatsFormat::Json => {
            let mut s = serde_json::to_string_pretty(response).expect("responses serialize");
            s.push('\n');
            s
        }
        StatsFormat::Csv => csv(response),
        StatsFormat::Table => table(response, lang),
    }
}

const HEADER: [&str; 19] = [
    "insurer",
    "stage",
    "field",
    "class",
    "reason",
    "risk",
    "holds",
    "open",
    "open_overdue",
    "requeried",
    "number_from_person",
    "withdrawn",
    "same_number_back",
    "other_number_back",
    "cause_notation_or_variant",
    "cause_different_person",
    "overdue_share",
    "resolve_median_h",
    "resolve_p90_h",
];

/// The cells of one row (the totals row has the insurer `total` and no key): the key by its
/// stable ids, or in the words of `lang` when given.
fn cells(
    insurer: &str,
    key: Option<&pb::HoldStatsRow>,
    o: &pb::HoldStatsOutcomes,
    lang: Option<Lang>,
) -> Vec<String> {
    let id_or = |s: Option<&'static str>| s.unwrap_or("-").to_owned();
    let cause = |c: HoldCause| {
        o.causes
            .iter()
            .find(|n| n.cause == pb::HoldCause::from(c) as i32)
            .map_or(0, |n| n.count)
            .to_string()
    };
    let hours = |d: &Option<pbjson_types::Duration>| {
        d.as_ref().map_or("-".to_owned(), |d| {
            format!("{:.1}", d.seconds as f64 / 3600.0)
        })
    };
    vec![
        insurer.to_owned(),
        id_or(key.and_then(|k| {
            Stage::try_from(pb::Stage::try_from(k.stage).ok()?)
                .ok()
                .map(|x| lang.map_or(x.as_str(), |l| words::stage(x, l)))
        })),
        id_or(key.and_then(|k| {
            Field::try_from(pb::Field::try_from(k.field).ok()?)
                .ok()
                .map(|x| lang.map_or(x.as_str(), |l| words::field(x, l)))
        })),
        id_or(key.and_then(|k| {
            MatchClass::try_from(pb::MatchClass::try_from(k.match_class).ok()?)
                .ok()
                .map(|x| lang.map_or(x.as_str(), |l| words::class(x, l)))
        })),
        id_or(key.and_then(|k| {
            HoldReason::try_from(pb::HoldReason::try_from(k.reason).ok()?)
                .ok()
                .map(|x| lang.map_or(x.id(), |l| words::reason(x, l)))
        })),
        key.map_or("-".to_owned(), |k| {
            let class = pb::RiskClass::try_from(k.risk_class).unwrap_or_default();
            match (lang, RiskClass::try_from(class)) {
                (Some(l), Ok(c)) => words::risk(c, l).to_owned(),
                _ => risk_id(class).to_owned(),
            }
        }),
        o.holds.to_string(),
        o.open.to_string(),
        o.open_overdue.to_string(),
        o.requeried.to_string(),
        o.number_from_person.to_string(),
        o.withdrawn.to_string(),
        o.same_number_back.to_string(),
        o.other_number_back.to_string(),
        cause(HoldCause::NotationOrVariant),
        cause(HoldCause::DifferentPerson),
        format!("{:.1}%", f64::from(o.overdue_per_mille) / 10.0),
        hours(&o.resolve_median),
        hours(&o.resolve_p90),
    ]
}

fn all_rows(r: &pb::HoldStatsResponse, lang: Option<Lang>) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            cells(
                &row.insurer_number,
                Some(row),
                &row.outcomes.clone().unwrap_or_default(),
                lang,
            )
        })
        .collect();
    rows.push(cells(
        "total",
        None,
        &r.totals.clone().unwrap_or_default(),
        lang,
    ));
    rows
}

fn csv(r: &pb::HoldStatsResponse) -> String {
    // No cell holds a comma, quote or line break: ids, counts and numbers only.
    let mut s = HEADER.join(",");
    s.push('\n');
    for row in all_rows(r, None) {
        s.push_str(&row.join(","));
        s.push('\n');
    }
    s
}

fn table(r: &pb::HoldStatsResponse, lang: Lang) -> String {
    let rows = all_rows(r, Some(lang));
    // Columns, not characters: 漢字 and かな take two.
    let mut widths: Vec<usize> = HEADER.iter().map(|h| display_width(h)).collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(display_width(c));
        }
    }
    let mut s = String::new();
    let line = |s: &mut String, cells: &[&str]| {
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w - display_width(cell);
            // Text left, counts right.
            if i < 6 {
                let _ = write!(s, "{cell}{}", " ".repeat(pad));
            } else {
                let _ = write!(s, "{}{cell}", " ".repeat(pad));
            }
            if i + 1 < cells.len() {
                s.push_str("  ");
            }
        }
        s.push('\n');
    };
    line(&mut s, &HEADER);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&mut s, &cells);
    }
    let _ = match lang {
        Lang::Ja => writeln!(
            s,
            "\n方針 {}。提案には解決した保留が {} 件以上必要で、その 95 % 以上が同じ人であること",
            r.policy_version, r.min_closed
        ),
        Lang::En => writeln!(
            s,
            "\npolicy {}; suggestions need at least {} closed holds, ≥ 95 % the same person",
            r.policy_version, r.min_closed
        ),
    };
    if r.suggestions.is_empty() {
        s.push_str(lang.pick("提案なし\n", "no suggestions\n"));
    }
    for g in &r.suggestions {
        let key = pb::Stage::try_from(g.stage)
            .ok()
            .and_then(|x| Stage::try_from(x).ok())
            .zip(
                pb::Field::try_from(g.field)
                    .ok()
                    .and_then(|x| Field::try_from(x).ok()),
            )
            .zip(
                pb::MatchClass::try_from(g.match_class)
                    .ok()
                    .and_then(|x| MatchClass::try_from(x).ok()),
            );
        let Some(((stage, field), class)) = key else {
            continue;
        };
        // The console's sentences (words::suggestion), so the two say the same.
        let (evidence, change) = words::suggestion(
            (stage, field, class),
            g.closed,
            g.same_person,
            g.policy_can.then_some(g.setting.as_str()),
            lang,
        );
        let _ = writeln!(
            s,
            "{} {evidence} {change}",
            lang.pick("提案:", "suggestion:")
        );
    }
    if !r.suggestions.is_empty() {
        let _ = writeln!(s, "{}", words::by_hand(lang));
    }
    s
}

/// The stable id of a risk class (`birth_or_sex`), as the table shows it; `-` for none.
pub fn risk_id(class: pb::RiskClass) -> &'static str {
    RiskClass::try_from(class).map_or("-", RiskClass::id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_from_the_last_90_days_are_asked_for_and_a_bad_from_names_its_flag() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let asked = request(&[], None, None, 0).unwrap().from.unwrap().seconds;
        let expected = now - 90 * 86_400;
        assert!(
            (expected - 5..=expected + 5).contains(&asked),
            "{asked} vs {expected}"
        );
        let given = request(&[], Some("2026-11-01"), None, 0).unwrap();
        assert_eq!(given.from.unwrap().seconds, 1_793_491_200);
        let bad = request(&[], Some("11/01"), None, 0).unwrap_err();
        assert!(bad.starts_with("--from"), "{bad}");
    }

    fn response() -> pb::HoldStatsResponse {
        let outcomes = pb::HoldStatsOutcomes {
            holds: 4,
            ..Default::default()
        };
        pb::HoldStatsResponse {
            rows: vec![pb::HoldStatsRow {
                insurer_number: "32130011".to_owned(),
                stage: pb::Stage::QueryVsCandidate as i32,
                field: pb::Field::KanjiName as i32,
                match_class: pb::MatchClass::Variant as i32,
                reason: pb::HoldReason::FieldDiffers as i32,
                risk_class: pb::RiskClass::OneNameOnly as i32,
                outcomes: Some(outcomes.clone()),
            }],
            totals: Some(outcomes),
            ..Default::default()
        }
    }

    #[test]
    fn the_table_speaks_the_shared_words_and_the_csv_keeps_the_ids() {
        let r = response();
        let ja = render(&r, StatsFormat::Table, Lang::Ja);
        let row = ja.lines().nth(1).unwrap();
        for w in [
            "照会↔候補",
            "漢字氏名",
            "異体字等",
            "項目がJ-LISと相違",
            "氏名の一方のみの相違",
        ] {
            assert!(row.contains(w), "{w}: {row}");
        }
        // The counts line up under their header (right-aligned) despite the wide words.
        let header = ja.lines().next().unwrap();
        let end_of = |line: &str, at: usize| display_width(&line[..at]);
        let holds_end = end_of(header, header.find("holds").unwrap() + "holds".len());
        let row_end = end_of(row, row.find("  4").unwrap() + 3);
        assert_eq!(holds_end, row_end, "{ja}");
        let en = render(&r, StatsFormat::Table, Lang::En);
        assert!(en.contains("Query vs J-LIS record"), "{en}");
        for lang in [Lang::Ja, Lang::En] {
            assert!(render(&r, StatsFormat::Csv, lang).contains(
                "32130011,query_vs_candidate,kanji_name,variant,field_differs,one_name_only,4,"
            ),);
        }
    }
}
