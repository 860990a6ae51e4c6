//! The text of `holds history`: a subject's events (SubjectHistory), one line each, oldest
//! first, in the words of [`crate::words`] (the console's), with the stable ids beside them.

use std::fmt::Write as _;

use jiff::tz::TimeZone;

use crate::{
    cli::times::minutes,
    contract::pb::{self, subject_history_event::Event},
    domain::{
        gate::{DecisionKind, Resolution},
        hold_cause::HoldCause,
        outcomes::CommitRefusal,
    },
    words::{self, HistoryWord, Lang},
};

use super::text::{reason_words, risk_words};

/// One line per event: time, what happened, its details, the verification and who acted.
pub(super) fn render(history: &pb::SubjectHistoryResponse, zone: &TimeZone, lang: Lang) -> String {
    let mut out = String::new();
    for e in &history.events {
        let when = e
            .occurred_at
            .as_ref()
            .map_or("-".into(), |t| minutes(t.seconds, zone));
        let (word, details) = match &e.event {
            Some(Event::Decided(d)) => {
                let decision = match d.decision() {
                    pb::Decision::Register => Some(DecisionKind::Register),
                    pb::Decision::Hold => Some(DecisionKind::Hold),
                    pb::Decision::Return => Some(DecisionKind::Return),
                    pb::Decision::Unspecified => None,
                };
                let mut details = decision
                    .map_or("?", |d| words::decision(d, lang))
                    .to_owned();
                if d.risk_class() != pb::RiskClass::Unspecified {
                    let _ = write!(details, " / {}", risk_words(d.risk_class(), lang));
                }
                let reasons: Vec<&str> = d.hold_reasons().map(|r| reason_words(r, lang)).collect();
                if !reasons.is_empty() {
                    let _ = write!(details, " / {}", reasons.join(lang.pick("、", "; ")));
                }
                (HistoryWord::Decided, details)
            }
            Some(Event::Assigned(a)) if a.assignee.is_empty() => {
                (HistoryWord::Released, String::new())
            }
            Some(Event::Assigned(a)) => (HistoryWord::Assigned, a.assignee.clone()),
            Some(Event::Resolved(r)) => {
                let mut details = Resolution::try_from(r.resolution())
                    .map_or("?", |how| words::resolution(how, lang))
                    .to_owned();
                if let Ok(cause) = HoldCause::try_from(r.cause()) {
                    let _ = write!(details, " / {}", words::cause(cause, lang));
                }
                if !r.replaced_by_verification_id.is_empty() {
                    let _ = write!(
                        details,
                        " / {} {}",
                        lang.pick("再照会", "replaced by"),
                        r.replaced_by_verification_id
                    );
                }
                (HistoryWord::Resolved, details)
            }
            Some(Event::CommitAccepted(c)) => (HistoryWord::CommitAccepted, c.commit_id.clone()),
            Some(Event::CommitRefused(c)) => {
                let why = CommitRefusal::from_id(&c.reason.to_ascii_lowercase())
                    .map_or(c.reason.as_str(), |r| words::commit_refusal(r, lang));
                (HistoryWord::CommitRefused, why.to_owned())
            }
            None => continue,
        };
        let _ = writeln!(
            out,
            "{when}  {} ({})  {details}  {}  {}",
            words::history(word, lang),
            word.id(),
            e.verification_id,
            e.actor
        );
    }
    if history.truncated {
        let _ = writeln!(
            out,
            "{}",
            lang.pick(
                "（古い方から1,000件まで表示）",
                "(the oldest 1,000 events are shown)"
            )
        );
    }
    out
}
