//! `holds show` in Japanese: the lines above the stage × field table in the console's words
//! (`crate::words`), times in JST, for a clerk whose terminal speaks Japanese (the CLI's
//! language rule). `check` and `verify`, which show the operator's own values, keep the English
//! summary of `super::summary`.

use std::fmt::Write as _;

use crate::{
    contract::pb,
    domain::{
        gate::{DecisionKind, HoldReason, Resolution},
        risk::RiskClass,
    },
    words::{self, Lang, deadline_jst, deadline_note, minutes_jst},
};

const JA: Lang = Lang::Ja;

/// The summary of a stored verification, one labelled line each, the stable ids beside the
/// words (as the console shows them small).
pub(super) fn summary(out: &mut String, record: &pb::VerificationRecord, now: i64) {
    let response = record.verification.clone().unwrap_or_default();
    let state_id = state_id(record.state());
    let state_words = words::state(&state_id, JA);
    line(out, "状態", format_args!("{state_words} ({state_id})"));
    if let Some(r) = &record.resolution {
        let how = Resolution::try_from(r.resolution())
            .map_or(r.resolution().as_str_name(), |x| words::resolution(x, JA));
        let when = r
            .resolved_at
            .as_ref()
            .map_or_else(|| "-".to_owned(), |t| minutes_jst(t.seconds, JA));
        line(
            out,
            "解決",
            format_args!("{how}（{}、{when}）", r.operator_id),
        );
        if !r.replaced_by_verification_id.is_empty() {
            line(
                out,
                "再照会",
                format_args!("{}", r.replaced_by_verification_id),
            );
        }
    }
    if let Some(t) = &record.committed_at {
        line(out, "登録", format_args!("{}", minutes_jst(t.seconds, JA)));
    }
    if let Some(t) = &response.decided_at {
        line(
            out,
            "判定日時",
            format_args!("{}", minutes_jst(t.seconds, JA)),
        );
    }
    let decision = match response.decision() {
        pb::Decision::Register => Some(DecisionKind::Register),
        pb::Decision::Hold => Some(DecisionKind::Hold),
        pb::Decision::Return => Some(DecisionKind::Return),
        pb::Decision::Unspecified => None,
    };
    let decision_words = decision.map_or("-", |d| words::decision(d, JA));
    line(out, "判定", format_args!("{decision_words}"));
    line(out, "照合ID", format_args!("{}", response.verification_id));
    let (subject, insurer) = (&record.subject_id, &record.insurer_number);
    line(
        out,
        "記号番号",
        format_args!("{subject}（保険者番号 {insurer}）"),
    );
    if decision == Some(DecisionKind::Hold) {
        let risk = RiskClass::try_from(response.risk_class()).map_or_else(
            |_| "-".to_owned(),
            |c| format!("{} ({})", words::risk(c, JA), c.id()),
        );
        line(out, "危険度", format_args!("{risk}"));
    }
    let deadline = match &response.register_by {
        Some(t) => format!(
            "{}（{}）",
            deadline_jst(t.seconds, JA),
            deadline_note(t.seconds, now, JA)
        ),
        None => "-（届書の受付日がありません）".to_owned(),
    };
    line(out, "登録期限", format_args!("{deadline}"));
    let reasons: Vec<HoldReason> = response
        .hold_reasons()
        .filter_map(|r| HoldReason::try_from(r).ok())
        .collect();
    if !reasons.is_empty() {
        let _ = writeln!(out, "保留理由と次の作業:");
        for r in reasons {
            let _ = writeln!(out, "  - {} ({})", words::reason(r, JA), r.id());
            let _ = writeln!(out, "    {}", words::next_step(r, JA));
        }
    }
}

/// The stable id of a verification state as the shared words name it (`held`, `hold_resolved`
/// …): its contract name without the prefix, in lower case.
pub(crate) fn state_id(state: pb::VerificationState) -> String {
    let name = state.as_str_name();
    name.strip_prefix("VERIFICATION_STATE_")
        .unwrap_or(name)
        .to_ascii_lowercase()
}

/// One labelled line, the values aligned by terminal columns (a kanji label is two columns a
/// character).
fn line(out: &mut String, label: &str, value: std::fmt::Arguments<'_>) {
    let pad = 12usize.saturating_sub(crate::terminal::display_width(label) + 1);
    let _ = writeln!(out, "{label}:{:pad$}{value}", "");
}

/// The closing line: why no value is shown, and where the clerk finds them.
pub(super) const NO_VALUES: &str = "\n監査ログには氏名・生年月日・住所・番号を記録していません。値は、ご自分の業務システムで記号番号から届書を開いて確認してください。";
