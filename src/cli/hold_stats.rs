//! `verify-identity holds stats`: how the holds of a period ended, per what held them, and
//! what that suggests — through the server's HoldStats, printed as an aligned table on a
//! terminal, proto3 JSON in a pipe, or CSV with `--csv`.
//!
//! Only counts, ids, durations and policy settings are printed: the answer holds no personal
//! value to print.

use std::fmt::Write as _;

use crate::{
    cli::holds::risk_id,
    contract::pb,
    domain::{Field, MatchClass, Stage, gate::HoldReason, hold_cause::HoldCause},
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

/// The request the flags ask for; `--from`/`--to` as RFC 3339 or a date (`2026-11-01`, UTC).
pub fn request(
    insurers: &[String],
    from: &str,
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
        from: Some(time("--from", from)?),
        to: to.map(|t| time("--to", t)).transpose()?,
        min_closed,
    })
}

/// `response` in `format`.
pub fn render(response: &pb::HoldStatsResponse, format: StatsFormat) -> String {
    match format {
        StatsFormat::Json => {
            let mut s = serde_json::to_string_pretty(response).expect("responses serialize");
            s.push('\n');
            s
        }
        StatsFormat::Csv => csv(response),
        StatsFormat::Table => table(response),
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

/// The cells of one row (the totals row has the insurer `total` and no key).
fn cells(insurer: &str, key: Option<&pb::HoldStatsRow>, o: &pb::HoldStatsOutcomes) -> Vec<String> {
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
                .map(Stage::as_str)
        })),
        id_or(key.and_then(|k| {
            Field::try_from(pb::Field::try_from(k.field).ok()?)
                .ok()
                .map(Field::as_str)
        })),
        id_or(key.and_then(|k| {
            MatchClass::try_from(pb::MatchClass::try_from(k.match_class).ok()?)
                .ok()
                .map(MatchClass::as_str)
        })),
        id_or(key.and_then(|k| {
            HoldReason::try_from(pb::HoldReason::try_from(k.reason).ok()?)
                .ok()
                .map(HoldReason::id)
        })),
        key.map_or("-".to_owned(), |k| {
            risk_id(pb::RiskClass::try_from(k.risk_class).unwrap_or_default()).to_owned()
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

fn all_rows(r: &pb::HoldStatsResponse) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            cells(
                &row.insurer_number,
                Some(row),
                &row.outcomes.clone().unwrap_or_default(),
            )
        })
        .collect();
    rows.push(cells("total", None, &r.totals.clone().unwrap_or_default()));
    rows
}

fn csv(r: &pb::HoldStatsResponse) -> String {
    // No cell holds a comma, quote or line break: ids, counts and numbers only.
    let mut s = HEADER.join(",");
    s.push('\n');
    for row in all_rows(r) {
        s.push_str(&row.join(","));
        s.push('\n');
    }
    s
}

fn table(r: &pb::HoldStatsResponse) -> String {
    let rows = all_rows(r);
    let mut widths: Vec<usize> = HEADER.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut s = String::new();
    let line = |s: &mut String, cells: &[&str]| {
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w - cell.chars().count();
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
    let _ = writeln!(
        s,
        "\npolicy {}; suggestions need at least {} closed holds, ≥ 95 % the same person",
        r.policy_version, r.min_closed
    );
    if r.suggestions.is_empty() {
        s.push_str("no suggestions\n");
    }
    for g in &r.suggestions {
        let name = |x: Option<&'static str>| x.unwrap_or("?");
        let _ = writeln!(
            s,
            "suggestion: {} {} {}: {} of {} closed holds were the same person ({:.1}%), {} another; {}",
            name(
                pb::Stage::try_from(g.stage)
                    .ok()
                    .and_then(|x| Stage::try_from(x).ok())
                    .map(Stage::as_str)
            ),
            name(
                pb::Field::try_from(g.field)
                    .ok()
                    .and_then(|x| Field::try_from(x).ok())
                    .map(Field::as_str)
            ),
            name(
                pb::MatchClass::try_from(g.match_class)
                    .ok()
                    .and_then(|x| MatchClass::try_from(x).ok())
                    .map(MatchClass::as_str)
            ),
            g.same_person,
            g.closed,
            f64::from(g.same_person_per_mille) / 10.0,
            g.different_person,
            if g.policy_can {
                format!(
                    "the policy setting that would have allowed them: {}",
                    g.setting
                )
            } else {
                g.setting.clone()
            }
        );
    }
    s
}
