//! The subject's history on the case page (every decision about the subject at this insurer
//! and what followed each, from SubjectHistory's use case), and the picker of a re-query's
//! replacement: the subject's other decisions, only those ResolveHold would accept choosable.

use maud::{Markup, html};

use crate::{
    verification::history::{HistoryKind, ReplacementCandidate, SubjectHistoryPage},
    words::{self, HistoryWord, Lang},
};

use super::super::{layout::urlencode, queue::epoch};

/// The history section: one row per event, oldest first; the rows of this case marked.
pub(super) fn section(
    lang: Lang,
    insurer: &str,
    this_case: &str,
    page: &SubjectHistoryPage,
) -> Markup {
    html! {
        section.history {
            h2 id="history" { (lang.pick("この記号番号の履歴", "This subject's history")) }
            p.hint {
                (lang.pick(
                    "この保険者での、同じ記号番号のすべての照合と、その担当・解決・登録です（古い順）。",
                    "Every verification of this subject at this insurer, with its claims, resolutions and commits, oldest first.",
                ))
            }
            table.history {
                thead { tr {
                    th scope="col" { (lang.pick("日時", "When")) }
                    th scope="col" { (lang.pick("出来事", "What")) }
                    th scope="col" { (lang.pick("内容", "Details")) }
                    th scope="col" { (lang.pick("照合ID", "Verification")) }
                    th scope="col" { (lang.pick("実施者", "By")) }
                } }
                tbody {
                    @for e in &page.events {
                        @let (word, details) = described(&e.kind, lang);
                        tr.this[e.verification_id == this_case] {
                            td { (words::minutes_jst(epoch(e.occurred_at), lang)) }
                            td { (words::history(word, lang)) " " small.id { (word.id()) } }
                            td.details { (details) }
                            td {
                                @if e.verification_id == this_case {
                                    (lang.pick("この案件", "this case")) br;
                                    small.id { (e.verification_id) }
                                } @else {
                                    a href={ "/holds/" (urlencode(insurer)) "/" (urlencode(&e.verification_id)) } {
                                        small.id { (e.verification_id) }
                                    }
                                }
                            }
                            td { (e.actor) }
                        }
                    }
                }
            }
            @if page.truncated {
                p.hint { (lang.pick("古い方から1,000件まで表示しています。", "The oldest 1,000 events are shown.")) }
            }
        }
    }
}

/// The word of an event and its details, in words with the ids small.
fn described(kind: &HistoryKind, lang: Lang) -> (HistoryWord, Markup) {
    match kind {
        HistoryKind::Decided {
            decision,
            hold_reasons,
            risk_class,
        } => (
            HistoryWord::Decided,
            html! {
                strong { (words::decision(*decision, lang)) } " " small.id { (decision.id()) }
                @if let Some(c) = risk_class {
                    br; (words::risk(*c, lang)) " " small.id { (c.id()) }
                }
                @if !hold_reasons.is_empty() {
                    ul.reasons { @for r in hold_reasons {
                        li { (words::reason(*r, lang)) " " small.id { (r.id()) } }
                    } }
                }
            },
        ),
        HistoryKind::HoldAssigned {
            assignee: Some(who),
        } => (HistoryWord::Assigned, html! { (who) }),
        HistoryKind::HoldAssigned { assignee: None } => (HistoryWord::Released, html! {}),
        HistoryKind::HoldResolved {
            resolution,
            cause,
            replaced_by,
        } => (
            HistoryWord::Resolved,
            html! {
                strong { (words::resolution(*resolution, lang)) } " " small.id { (resolution.id()) }
                @if let Some(c) = cause {
                    br; (lang.pick("原因：", "Cause: ")) (words::cause(*c, lang)) " " small.id { (c.id()) }
                }
                @if let Some(id) = replaced_by {
                    br; (lang.pick("再照会：", "Replaced by: ")) small.id { (id) }
                }
            },
        ),
        HistoryKind::CommitAccepted { commit_id } => (
            HistoryWord::CommitAccepted,
            html! { small.id { (commit_id) } },
        ),
        HistoryKind::CommitRefused { reason } => (
            HistoryWord::CommitRefused,
            html! { (words::commit_refusal(*reason, lang)) " " small.id { (reason.id()) } },
        ),
    }
}

/// The choice of a re-query's replacement, inside the resolution form: "none" (for the other
/// resolutions), then each of the subject's other decisions with its decision and time; the
/// ones ResolveHold would refuse are shown but cannot be chosen, with the reason beside them.
pub(super) fn picker(lang: Lang, candidates: &[ReplacementCandidate], chosen: &str) -> Markup {
    let choosable = candidates.iter().any(|c| c.refusal.is_none());
    html! {
        fieldset.replacement id="replacement" {
            legend { (lang.pick("再照会の照合（再照会済のとき選びます）", "The re-query (for re-queried)")) }
            label.choice {
                input type="radio" name="replaced_by" value="" checked[chosen.is_empty()];
                (lang.pick("選択しない", "None"))
            }
            @for c in candidates {
                label.choice.unavailable[c.refusal.is_some()] {
                    input type="radio" name="replaced_by" value=(c.verification_id)
                        checked[c.refusal.is_none() && c.verification_id == chosen]
                        disabled[c.refusal.is_some()];
                    strong { (words::decision(c.decision, lang)) } " "
                    (words::minutes_jst(epoch(c.decided_at), lang)) " "
                    small.id { (c.verification_id) }
                    @if let Some(why) = c.refusal {
                        " " span.why { "（" (words::replacement_refusal(why, lang)) "）" }
                    }
                }
            }
            @if !choosable {
                p.hint {
                    (lang.pick(
                        "この保留の後の照会はまだありません。再照会を行うと、ここに表示されます。",
                        "No verification of this subject since the hold yet: a re-query will be listed here.",
                    ))
                }
            }
        }
    }
}
