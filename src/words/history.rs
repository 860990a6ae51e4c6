//! The words of a subject's history (the case page, `holds history`): what each kind of event
//! is called, why a commit was refused, and why a decision cannot replace a hold.

use super::Lang;
use crate::domain::{outcomes::CommitRefusal, registration::ReplacementRefusal};

/// The kind of a history event (`decided`, `assigned`, `released`, `resolved`,
/// `commit_accepted`, `commit_refused`), in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryWord {
    /// A decision.
    Decided,
    /// A hold claimed.
    Assigned,
    /// A hold released.
    Released,
    /// A hold closed.
    Resolved,
    /// A number committed.
    CommitAccepted,
    /// A commit refused.
    CommitRefused,
}

impl HistoryWord {
    /// Every kind, in the order a history usually shows them.
    pub const ALL: [HistoryWord; 6] = [
        HistoryWord::Decided,
        HistoryWord::Assigned,
        HistoryWord::Released,
        HistoryWord::Resolved,
        HistoryWord::CommitAccepted,
        HistoryWord::CommitRefused,
    ];

    /// The stable id.
    pub const fn id(self) -> &'static str {
        match self {
            HistoryWord::Decided => "decided",
            HistoryWord::Assigned => "assigned",
            HistoryWord::Released => "released",
            HistoryWord::Resolved => "resolved",
            HistoryWord::CommitAccepted => "commit_accepted",
            HistoryWord::CommitRefused => "commit_refused",
        }
    }
}

/// A kind of history event, in words.
pub const fn history(kind: HistoryWord, lang: Lang) -> &'static str {
    match kind {
        HistoryWord::Decided => lang.pick("照合の判定", "Decided"),
        HistoryWord::Assigned => lang.pick("担当", "Claimed"),
        HistoryWord::Released => lang.pick("担当の解除", "Released"),
        HistoryWord::Resolved => lang.pick("保留の解決", "Hold resolved"),
        HistoryWord::CommitAccepted => lang.pick("番号の登録", "Number committed"),
        HistoryWord::CommitRefused => lang.pick("登録の拒否", "Commit refused"),
    }
}

/// Why a commit was refused, in words.
pub const fn commit_refusal(r: CommitRefusal, lang: Lang) -> &'static str {
    match r {
        CommitRefusal::VerificationNotFound => {
            lang.pick("照合が見つからない", "No such verification")
        }
        CommitRefusal::SubjectMismatch => lang.pick("別の記号番号", "Another subject"),
        CommitRefusal::NotRegister => lang.pick("登録可の判定ではない", "Not a register decision"),
        CommitRefusal::NumberMismatch => {
            lang.pick("番号が候補と違う", "Not the candidate's number")
        }
        CommitRefusal::Expired => lang.pick("判定の有効期限切れ", "The decision expired"),
        CommitRefusal::NumberRegisteredToAnotherSubject => lang.pick(
            "番号は別の人に登録済",
            "Number registered to another subject",
        ),
        CommitRefusal::SubjectHasAnotherNumber => {
            lang.pick("別の番号で登録済", "Subject has another number")
        }
    }
}

/// Why a decision cannot replace a hold, in words (what the picker says beside it).
pub const fn replacement_refusal(r: ReplacementRefusal, lang: Lang) -> &'static str {
    match r {
        ReplacementRefusal::OtherSubject => {
            lang.pick("別の記号番号の照会", "About another subject")
        }
        ReplacementRefusal::NotLater => lang.pick(
            "保留より前の照会のため選べません",
            "Decided before the hold: cannot replace it",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_history_word_refusal_and_replacement_refusal_has_two_languages() {
        for k in HistoryWord::ALL {
            assert_ne!(history(k, Lang::Ja), history(k, Lang::En), "{}", k.id());
        }
        for r in CommitRefusal::ALL {
            assert_ne!(commit_refusal(r, Lang::Ja), commit_refusal(r, Lang::En));
        }
        for r in [
            ReplacementRefusal::OtherSubject,
            ReplacementRefusal::NotLater,
        ] {
            assert_ne!(
                replacement_refusal(r, Lang::Ja),
                replacement_refusal(r, Lang::En)
            );
        }
    }
}
