//! The text `holds list` and `holds resolve` print on a terminal: the table, aligned by
//! terminal columns, in the words of [`crate::words`] (shared with the console and the report).

use std::fmt::Write as _;

use jiff::tz::TimeZone;

use crate::{
    cli::times::minutes,
    contract::pb,
    domain::{gate::HoldReason, risk::RiskClass},
    words::{self, Lang},
};

/// The holds table: columns as wide as their widest cell (ids are never cut: they are typed
/// into `holds resolve`). When a line would be wider than the terminal, the risk class and the
/// reasons go on a second, indented line, so that nothing wraps mid-word.
pub(super) fn table(rows: &[[String; 7]], terminal_width: Option<usize>, lang: Lang) -> String {
    // The id columns keep their ids as headers: they name what `holds resolve` takes.
    let header: [&str; 7] = [
        "verification_id",
        lang.pick("記号番号 subject_id", "subject_id"),
        lang.pick("判定日時", "decided"),
        lang.pick("登録期限", "register_by"),
        lang.pick("期限超過", "overdue"),
        lang.pick("リスク区分", "risk"),
        lang.pick("保留理由", "reasons"),
    ];
    // Columns, not characters: 漢字 and かな take two.
    let chars = crate::terminal::display_width;
    let mut widths = header.map(chars);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(chars(cell));
        }
    }
    let line = |cells: &[&str], widths: &[usize]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                let _ = write!(s, "{cell}{}  ", " ".repeat(w - chars(cell)));
            }
        }
        s.trim_end().to_owned()
    };
    let full: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
    let two_lines = terminal_width.is_some_and(|w| full > w);
    let mut out = String::new();
    if two_lines {
        let _ = writeln!(out, "{}", line(&header[..5], &widths[..5]));
        let _ = writeln!(out, "    {}", line(&header[5..], &widths[5..]));
        for row in rows {
            let cells: Vec<&str> = row.iter().map(String::as_str).collect();
            let _ = writeln!(out, "{}", line(&cells[..5], &widths[..5]));
            let _ = writeln!(out, "    {}", line(&cells[5..], &widths[5..]));
        }
    } else {
        let _ = writeln!(out, "{}", line(&header, &widths));
        for row in rows {
            let cells: Vec<&str> = row.iter().map(String::as_str).collect();
            let _ = writeln!(out, "{}", line(&cells, &widths));
        }
    }
    out
}

/// The text of `holds list`: the table and the count, with risk classes and hold reasons in
/// the words of [`crate::words`] (the console's and the report's), in `lang`. `now` is in
/// seconds since the epoch, to mark the overdue.
pub(super) fn render_list(
    holds: &[pb::VerificationRecord],
    now: i64,
    zone: &TimeZone,
    lang: Lang,
    terminal_width: Option<usize>,
) -> String {
    let deadline = |r: &pb::VerificationRecord| {
        r.verification
            .as_ref()
            .and_then(|v| v.register_by.as_ref())
            .map(|t| t.seconds)
    };
    let rows: Vec<[String; 7]> = holds
        .iter()
        .map(|r| {
            let v = r.verification.clone().unwrap_or_default();
            let reasons: Vec<&str> = v.hold_reasons().map(|h| reason_words(h, lang)).collect();
            let overdue = deadline(r).is_some_and(|d| d < now);
            [
                v.verification_id.clone(),
                r.subject_id.clone(),
                v.decided_at
                    .as_ref()
                    .map_or("-".into(), |t| minutes(t.seconds, zone)),
                deadline(r).map_or("-".into(), |d| minutes(d, zone)),
                if overdue {
                    lang.pick("期限超過", "OVERDUE")
                } else {
                    ""
                }
                .to_owned(),
                risk_words(v.risk_class(), lang).to_owned(),
                reasons.join(lang.pick("、", "; ")),
            ]
        })
        .collect();
    let mut text = table(&rows, terminal_width, lang);
    match lang {
        Lang::Ja => {
            let _ = writeln!(text, "未解決の保留 {} 件", holds.len());
        }
        Lang::En => {
            let _ = writeln!(text, "{} open hold(s)", holds.len());
        }
    }
    text
}

/// What `holds resolve` prints: the id and the new state's contract name (which scripts match),
/// then the state in the shared words.
pub(super) fn resolved_line(verification_id: &str, state: i32, lang: Lang) -> String {
    let Ok(known) = pb::VerificationState::try_from(state) else {
        return format!("{verification_id} ? ({})", words::state("?", lang));
    };
    let id = crate::cli::explain::state_id(known);
    let name = known.as_str_name();
    format!("{verification_id} {name} ({})", words::state(&id, lang))
}

/// A risk class in the shared words; `-` for none.
pub(super) fn risk_words(class: pb::RiskClass, lang: Lang) -> &'static str {
    RiskClass::try_from(class).map_or("-", |c| words::risk(c, lang))
}

/// A hold reason in the shared words; its contract name for one this build does not know.
pub(super) fn reason_words(reason: pb::HoldReason, lang: Lang) -> &'static str {
    HoldReason::try_from(reason).map_or(reason.as_str_name(), |r| words::reason(r, lang))
}
