//! The text explanation of a decision, for the clerk who must act on it: the decision, why,
//! what to do next, a stage × field table, and for each field that does not pass the two
//! values side by side with the differing characters marked.
//!
//! The values shown are the ones the operator supplied (the request file or stdin): the
//! response carries only classes and rule ids. This text goes to the operator's own standard
//! output and nowhere else — `check` and `verify` install no log subscriber, and nothing here
//! calls `tracing` — so values never reach logs, traces, metrics or the audit log.

mod stored_ja;

pub(crate) use stored_ja::state_id;

use std::fmt::Write as _;

use jiff::tz::TimeZone;

use crate::{
    cli::times::{deadline_note, minutes},
    contract::pb,
    domain::{Field, MatchClass, Stage, diff, policy::Policy, risk::RiskClass},
    words::{self, Lang},
};

/// Renders `response` (the decision on `request`) as text. `policy` says which rows pass;
/// `colour` chooses escape codes or `[…]` markers.
pub fn render(
    request: &pb::VerifyRequest,
    response: &pb::VerifyResponse,
    policy: &Policy,
    colour: bool,
) -> String {
    let mut out = String::new();
    let now = crate::cli::times::now_seconds();
    summary(
        &mut out,
        request,
        response,
        colour,
        (now, &TimeZone::system()),
    );
    let rows: Vec<Row<'_>> = response
        .comparisons
        .iter()
        .map(|c| Row::new(c, policy))
        .collect();
    table(&mut out, &rows, colour, Lang::En);
    differences(&mut out, request, &rows, colour);
    out
}

/// A stored verification (`holds show`): its state, then the decision as `render` shows it,
/// without the values (the audit log keeps none: the clerk opens the form in their own system
/// by the subject id). All in `lang` (the CLI's language rule): in Japanese the lines above the
/// table are the console's words with times in JST (`stored_ja`).
pub fn render_stored(
    record: &pb::VerificationRecord,
    policy: &Policy,
    colour: bool,
    lang: Lang,
) -> String {
    let zone = TimeZone::system();
    let response = record.verification.clone().unwrap_or_default();
    let request = pb::VerifyRequest {
        request_id: record.request_id.clone(),
        insurer_number: record.insurer_number.clone(),
        subject_id: record.subject_id.clone(),
        subject_kind: record.subject_kind,
        ..Default::default()
    };
    let mut out = String::new();
    let now = crate::cli::times::now_seconds();
    if lang == Lang::Ja {
        stored_ja::summary(&mut out, record, now);
    } else {
        stored_summary_en(&mut out, record, &request, &response, colour, (now, &zone));
    }
    let rows: Vec<Row<'_>> = response
        .comparisons
        .iter()
        .map(|c| Row::new(c, policy))
        .collect();
    table(&mut out, &rows, colour, lang);
    if lang == Lang::Ja {
        let _ = writeln!(out, "{}", stored_ja::NO_VALUES);
    } else {
        let _ = writeln!(
            out,
            "\nThe audit log keeps no names, dates, addresses or numbers: open the form in your own \
             system by the subject id to see the values."
        );
    }
    out
}

/// The English lines above the table of a stored verification: its state, resolution and
/// times, then the decision as `check` and `verify` summarise it.
fn stored_summary_en(
    out: &mut String,
    record: &pb::VerificationRecord,
    request: &pb::VerifyRequest,
    response: &pb::VerifyResponse,
    colour: bool,
    (now, zone): (i64, &TimeZone),
) {
    let state = record.state();
    let _ = writeln!(
        out,
        "state:      {}",
        state
            .as_str_name()
            .trim_start_matches("VERIFICATION_STATE_")
    );
    if let Some(r) = &record.resolution {
        let when = r
            .resolved_at
            .as_ref()
            .map_or_else(|| "-".to_owned(), |t| minutes(t.seconds, zone));
        let _ = writeln!(
            out,
            "resolved:   {} by {} at {when}",
            r.resolution()
                .as_str_name()
                .trim_start_matches("RESOLUTION_"),
            r.operator_id
        );
        if !r.replaced_by_verification_id.is_empty() {
            let _ = writeln!(out, "replaced by {}", r.replaced_by_verification_id);
        }
    }
    if let Some(t) = &record.committed_at {
        let _ = writeln!(out, "committed:  {}", minutes(t.seconds, zone));
    }
    if let Some(t) = &response.decided_at {
        let _ = writeln!(out, "decided:    {}", minutes(t.seconds, zone));
    }
    summary(out, request, response, colour, (now, zone));
}

/// The decision, which case it is (its verification id, the person, the risk class, the
/// deadline and how it stands at `now`), the hold reasons and the next step, one line each.
/// `(now, zone)`: the time to judge the deadline at, and the zone to show times in.
fn summary(
    out: &mut String,
    request: &pb::VerifyRequest,
    response: &pb::VerifyResponse,
    colour: bool,
    (now, zone): (i64, &TimeZone),
) {
    let decision = response.decision();
    let (word, paint) = match decision {
        pb::Decision::Register => ("REGISTER", "32"),
        pb::Decision::Hold => ("HOLD", "33"),
        pb::Decision::Return => ("RETURN", "31"),
        pb::Decision::Unspecified => ("UNSPECIFIED", "31"),
    };
    let word = if colour {
        format!("\x1b[1;{paint}m{word}\x1b[0m")
    } else {
        word.to_owned()
    };
    let reasons: Vec<&str> = response
        .hold_reasons()
        .map(|r| r.as_str_name().trim_start_matches("HOLD_REASON_"))
        .collect();
    let id = &response.verification_id;
    let next = match decision {
        pb::Decision::Register if id.is_empty() => format!(
            "the number of candidate {} may be registered (only that candidate's number)",
            response.selected_candidate
        ),
        pb::Decision::Register => format!(
            "the number of candidate {} may be registered (only that candidate's number): \
             commit it with CommitRegistration and this verification id",
            response.selected_candidate
        ),
        pb::Decision::Hold if id.is_empty() => {
            "do not take the number; confirm the identity with the person (本人確認)".to_owned()
        }
        pb::Decision::Hold => format!(
            "do not take the number; confirm the identity with the person (本人確認), then \
             close the case: verify-identity holds resolve --insurer {} --verification-id {id} …",
            request.insurer_number
        ),
        pb::Decision::Return => {
            let fields: Vec<&str> = response
                .fields_to_complete()
                .filter_map(|f| Field::try_from(f).ok())
                .map(Field::as_str)
                .collect();
            format!(
                "send the form back to the employer (事業主) to complete: {}",
                fields.join(", ")
            )
        }
        pb::Decision::Unspecified => "none: the server gave no decision".to_owned(),
    };
    let _ = writeln!(out, "decision:   {word}");
    let _ = writeln!(
        out,
        "id:         {}",
        if id.is_empty() {
            "- (decided locally: nothing was stored, nothing can be committed)"
        } else {
            id
        }
    );
    let kind = match request.subject_kind() {
        pb::SubjectKind::Member => " (member)",
        pb::SubjectKind::Dependent => " (dependent)",
        pb::SubjectKind::Unspecified => "",
    };
    let subject = if request.subject_id.is_empty() {
        "-".to_owned()
    } else {
        format!("{}{kind}", request.subject_id)
    };
    let insurer = if request.insurer_number.is_empty() {
        String::new()
    } else {
        format!(", insurer {}", request.insurer_number)
    };
    let _ = writeln!(out, "subject:    {subject}{insurer}");
    if decision == pb::Decision::Hold {
        let _ = writeln!(
            out,
            "risk:       {}",
            RiskClass::try_from(response.risk_class()).map_or("-", RiskClass::id)
        );
    }
    let deadline = match &response.register_by {
        Some(t) => format!(
            "{} ({})",
            minutes(t.seconds, zone),
            deadline_note(t.seconds, now)
        ),
        None => "- (the request has no received_at)".to_owned(),
    };
    let _ = writeln!(out, "deadline:   {deadline}");
    let _ = writeln!(
        out,
        "reasons:    {}",
        if reasons.is_empty() {
            "-".to_owned()
        } else {
            reasons.join(", ")
        }
    );
    let _ = writeln!(out, "next step:  {next}");
}

/// One comparison, with what the table and the differences need.
struct Row<'a> {
    /// The comparison as the response gave it.
    comparison: &'a pb::FieldComparison,
    /// Which two records, in domain terms (None for a value this binary does not know).
    stage: Option<Stage>,
    /// The field, in domain terms.
    field: Option<Field>,
    /// Whether `policy` accepts this class for this field at this stage.
    passes: bool,
}

impl<'a> Row<'a> {
    fn new(comparison: &'a pb::FieldComparison, policy: &Policy) -> Self {
        let stage = Stage::try_from(comparison.stage()).ok();
        let field = Field::try_from(comparison.field()).ok();
        let class = MatchClass::try_from(comparison.match_class()).ok();
        let passes = match (stage, field, class) {
            (Some(s), Some(f), Some(c)) => policy.accepts(s, f, c),
            _ => false,
        };
        Row {
            comparison,
            stage,
            field,
            passes,
        }
    }

    /// `query vs candidate 0`.
    fn stage_label(&self) -> String {
        let i = self.comparison.candidate_index;
        match self.stage {
            Some(Stage::DeclaredVsQuery) => "declared vs query".to_owned(),
            Some(Stage::QueryVsCandidate) => format!("query vs candidate {i}"),
            Some(Stage::DeclaredVsCandidate) => format!("declared vs candidate {i}"),
            None => "?".to_owned(),
        }
    }
}

/// Stage × field with class and rule ids; rows that do not pass are marked `✗`. In Japanese
/// the stage, field and class are in the shared words ([`crate::words`]) with the class id
/// beside them; English keeps the ids, as `check` and `verify` print them.
fn table(out: &mut String, rows: &[Row<'_>], colour: bool, lang: Lang) {
    if rows.is_empty() {
        return;
    }
    if lang == Lang::Ja {
        return table_in_words(out, rows, colour, lang);
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "   {:<24} {:<11} {:<12} rules",
        "stage", "field", "class"
    );
    for row in rows {
        let marker = match (row.passes, colour) {
            (true, _) => " ",
            (false, true) => "\x1b[1;31m✗\x1b[0m",
            (false, false) => "✗",
        };
        let rules = &row.comparison.rules;
        let _ = writeln!(
            out,
            " {marker} {:<24} {:<11} {:<12} {}",
            row.stage_label(),
            row.field.map_or("?", Field::as_str),
            row.comparison
                .match_class()
                .as_str_name()
                .trim_start_matches("MATCH_CLASS_"),
            if rules.is_empty() {
                "-".to_owned()
            } else {
                rules.join(", ")
            }
        );
    }
}

/// [`table`] in the words of `lang`, padded by terminal columns (漢字 take two).
fn table_in_words(out: &mut String, rows: &[Row<'_>], colour: bool, lang: Lang) {
    let width = crate::terminal::display_width;
    let cells: Vec<[String; 4]> = rows
        .iter()
        .map(|row| {
            let stage = match row.stage {
                Some(Stage::DeclaredVsQuery) => {
                    words::stage(Stage::DeclaredVsQuery, lang).to_owned()
                }
                Some(s) => format!(
                    "{} #{}",
                    words::stage(s, lang),
                    row.comparison.candidate_index
                ),
                None => "?".to_owned(),
            };
            let field = row.field.map_or("?", |f| words::field(f, lang)).to_owned();
            let class = MatchClass::try_from(row.comparison.match_class())
                .map_or("?".to_owned(), |c| {
                    format!("{} ({})", words::class(c, lang), c.as_str())
                });
            let rules = &row.comparison.rules;
            let rules = if rules.is_empty() {
                "-".to_owned()
            } else {
                rules.join(", ")
            };
            [stage, field, class, rules]
        })
        .collect();
    let header = [
        lang.pick("段階", "stage"),
        lang.pick("項目", "field"),
        lang.pick("判定", "class"),
        lang.pick("規則", "rules"),
    ];
    let mut widths = header.map(width);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let pad = |cell: &str, w: usize| format!("{cell}{}", " ".repeat(w - width(cell)));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "   {} {} {} {}",
        pad(header[0], widths[0]),
        pad(header[1], widths[1]),
        pad(header[2], widths[2]),
        header[3]
    );
    for (row, cell) in rows.iter().zip(&cells) {
        let marker = match (row.passes, colour) {
            (true, _) => " ",
            (false, true) => "\x1b[1;31m✗\x1b[0m",
            (false, false) => "✗",
        };
        let _ = writeln!(
            out,
            " {marker} {} {} {} {}",
            pad(&cell[0], widths[0]),
            pad(&cell[1], widths[1]),
            pad(&cell[2], widths[2]),
            cell[3]
        );
    }
}

/// For each row that does not pass: both values, differing characters marked.
fn differences(out: &mut String, request: &pb::VerifyRequest, rows: &[Row<'_>], colour: bool) {
    let failing: Vec<&Row<'_>> = rows.iter().filter(|r| !r.passes).collect();
    if failing.is_empty() {
        return;
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "differences:");
    for row in failing {
        let (Some(stage), Some(field)) = (row.stage, row.field) else {
            continue;
        };
        let i = row.comparison.candidate_index as usize;
        let candidate = || request.candidates.get(i).and_then(|c| c.fields.as_ref());
        let (left_name, left, right_name, right) = match stage {
            Stage::DeclaredVsQuery => (
                "declared".to_owned(),
                request.declared.as_ref(),
                "query".to_owned(),
                request.query.as_ref(),
            ),
            Stage::QueryVsCandidate => (
                "query".to_owned(),
                request.query.as_ref(),
                format!("candidate {i}"),
                candidate(),
            ),
            Stage::DeclaredVsCandidate => (
                "declared".to_owned(),
                request.declared.as_ref(),
                format!("candidate {i}"),
                candidate(),
            ),
        };
        let (left, right) = (value(left, field), value(right, field));
        let (l, r) = diff::differing(field, left, right);
        let _ = writeln!(
            out,
            "  {}, {} ({}):",
            field.as_str(),
            row.stage_label(),
            row.comparison
                .match_class()
                .as_str_name()
                .trim_start_matches("MATCH_CLASS_")
        );
        let width = left_name.len().max(right_name.len());
        for (name, raw, segments) in [(left_name, left, l), (right_name, right, r)] {
            let shown = if raw.is_empty() {
                "(empty)".to_owned()
            } else {
                diff::mark(&segments, colour)
            };
            let _ = writeln!(out, "    {name:<width$}  {shown}");
        }
    }
}

/// The raw value of `field` in a record (empty when the record or the value is absent).
fn value(record: Option<&pb::FiveFields>, field: Field) -> &str {
    let Some(r) = record else { return "" };
    match field {
        Field::KanjiName => &r.kanji_name,
        Field::KanaName => &r.kana_name,
        Field::BirthDate => &r.birth_date,
        Field::Sex => &r.sex,
        Field::Address => &r.address,
    }
}
