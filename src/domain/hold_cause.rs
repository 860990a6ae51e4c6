//! Why a held case was what it was, in the clerk's judgement: the structured cause a clerk may
//! give with a resolution, from a fixed list.
//!
//! The list is what the statistics count ([`crate::verification::hold_stats`]): which holds were
//! the same person written differently (the gate was stricter than it needed to be) and which
//! caught a real error. It is fixed and documented (docs/hold-stats.md) so that counts mean the
//! same thing across insurers and releases; free text stays in the note. Ids are stored in the
//! audit log and never change; the Japanese words are what clerks see.

/// The clerk's cause of one hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HoldCause {
    /// The values were the same person written differently (表記ゆれ・異体字): a notation or
    /// variant the gate did not fold, or a policy stricter than needed.
    NotationOrVariant,
    /// The form (届書) was wrong: the employer or the person wrote a value in error.
    FormError,
    /// The registry (J-LIS) differed, e.g. a move not yet recorded there.
    RegistryDiffers,
    /// The candidate was a different person (別人): the gate caught a wrong number.
    DifferentPerson,
    /// The person could not be confirmed (本人確認できず).
    NotConfirmed,
    /// Anything else (その他); the note says what.
    Other,
}

impl HoldCause {
    /// Every cause, in contract order.
    pub const ALL: [HoldCause; 6] = [
        HoldCause::NotationOrVariant,
        HoldCause::FormError,
        HoldCause::RegistryDiffers,
        HoldCause::DifferentPerson,
        HoldCause::NotConfirmed,
        HoldCause::Other,
    ];

    /// The stable id stored in the audit log. Never changes.
    pub const fn id(self) -> &'static str {
        match self {
            HoldCause::NotationOrVariant => "notation_or_variant",
            HoldCause::FormError => "form_error",
            HoldCause::RegistryDiffers => "registry_differs",
            HoldCause::DifferentPerson => "different_person",
            HoldCause::NotConfirmed => "not_confirmed",
            HoldCause::Other => "other",
        }
    }

    /// The words clerks see.
    pub const fn label_ja(self) -> &'static str {
        match self {
            HoldCause::NotationOrVariant => "表記ゆれ・異体字",
            HoldCause::FormError => "届書の誤記",
            HoldCause::RegistryDiffers => "J-LIS側の相違",
            HoldCause::DifferentPerson => "別人",
            HoldCause::NotConfirmed => "本人確認できず",
            HoldCause::Other => "その他",
        }
    }

    /// The cause with this id, if any.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id() == id)
    }

    /// Whether the clerk found the held values to be the same person's: the evidence that a
    /// hold was stricter than it needed to be.
    pub const fn same_person(self) -> bool {
        matches!(self, HoldCause::NotationOrVariant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_reads_back_from_its_id_and_has_distinct_words() {
        // Pinned: these ids are stored in the audit log and covered by the hash chain.
        let ids: Vec<_> = HoldCause::ALL.iter().map(|c| c.id()).collect();
        assert_eq!(
            ids,
            [
                "notation_or_variant",
                "form_error",
                "registry_differs",
                "different_person",
                "not_confirmed",
                "other"
            ]
        );
        for c in HoldCause::ALL {
            assert_eq!(HoldCause::from_id(c.id()), Some(c));
        }
        let mut labels: Vec<_> = HoldCause::ALL.iter().map(|c| c.label_ja()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), HoldCause::ALL.len());
        assert_eq!(HoldCause::from_id("表記ゆれ・異体字"), None);
    }
}
