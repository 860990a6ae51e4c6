//! The contract's enums and the domain's, one `From` each way: the one table of which
//! contract value means which domain value.
//!
//! Going in, a contract value that names nothing in the domain (`…_UNSPECIFIED`, or a number
//! a newer client sent) is [`Unspecified`]; the parser turns that into a violation naming the
//! field, never into a default.

use crate::{
    contract::pb,
    domain::{
        Field, MatchClass, Stage,
        gate::{DecisionKind, HoldReason, Resolution},
        hold_cause::HoldCause,
        risk::RiskClass,
        subject::SubjectKind,
    },
};

/// A contract value with no domain meaning (`…_UNSPECIFIED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unspecified;

impl From<DecisionKind> for pb::Decision {
    fn from(kind: DecisionKind) -> Self {
        match kind {
            DecisionKind::Register => pb::Decision::Register,
            DecisionKind::Hold => pb::Decision::Hold,
            DecisionKind::Return => pb::Decision::Return,
        }
    }
}

impl From<Field> for pb::Field {
    fn from(field: Field) -> Self {
        match field {
            Field::KanjiName => pb::Field::KanjiName,
            Field::KanaName => pb::Field::KanaName,
            Field::BirthDate => pb::Field::BirthDate,
            Field::Sex => pb::Field::Sex,
            Field::Address => pb::Field::Address,
        }
    }
}

impl From<Stage> for pb::Stage {
    fn from(stage: Stage) -> Self {
        match stage {
            Stage::DeclaredVsQuery => pb::Stage::DeclaredVsQuery,
            Stage::QueryVsCandidate => pb::Stage::QueryVsCandidate,
            Stage::DeclaredVsCandidate => pb::Stage::DeclaredVsCandidate,
        }
    }
}

impl From<MatchClass> for pb::MatchClass {
    fn from(class: MatchClass) -> Self {
        match class {
            MatchClass::Exact => pb::MatchClass::Exact,
            MatchClass::Notation => pb::MatchClass::Notation,
            MatchClass::Variant => pb::MatchClass::Variant,
            MatchClass::Mismatch => pb::MatchClass::Mismatch,
            MatchClass::Missing => pb::MatchClass::Missing,
            MatchClass::Unparseable => pb::MatchClass::Unparseable,
        }
    }
}

impl From<HoldReason> for pb::HoldReason {
    fn from(reason: HoldReason) -> Self {
        match reason {
            HoldReason::FieldDiffers => pb::HoldReason::FieldDiffers,
            HoldReason::NoCandidate => pb::HoldReason::NoCandidate,
            HoldReason::MultipleCandidates => pb::HoldReason::MultipleCandidates,
            HoldReason::InvalidCheckDigit => pb::HoldReason::InvalidCheckDigit,
            HoldReason::DeclaredNumberDiffers => pb::HoldReason::DeclaredNumberDiffers,
            HoldReason::QueryIncomplete => pb::HoldReason::QueryIncomplete,
            HoldReason::NumberRegisteredToAnotherSubject => {
                pb::HoldReason::NumberRegisteredToAnotherSubject
            }
            HoldReason::SubjectHasAnotherNumber => pb::HoldReason::SubjectHasAnotherNumber,
        }
    }
}

/// `UNSPECIFIED` when there is no risk class (the decision is not a hold).
impl From<Option<RiskClass>> for pb::RiskClass {
    fn from(class: Option<RiskClass>) -> Self {
        match class {
            None => pb::RiskClass::Unspecified,
            Some(RiskClass::BirthOrSex) => pb::RiskClass::BirthOrSex,
            Some(RiskClass::Structural) => pb::RiskClass::Structural,
            Some(RiskClass::Names) => pb::RiskClass::Names,
            Some(RiskClass::NameAndAddress) => pb::RiskClass::NameAndAddress,
            Some(RiskClass::AddressOnly) => pb::RiskClass::AddressOnly,
            Some(RiskClass::OneNameOnly) => pb::RiskClass::OneNameOnly,
            Some(RiskClass::NotationOrVariantOnly) => pb::RiskClass::NotationOrVariantOnly,
        }
    }
}

impl From<Resolution> for pb::Resolution {
    fn from(r: Resolution) -> Self {
        match r {
            Resolution::Requeried => pb::Resolution::Requeried,
            Resolution::NumberFromPerson => pb::Resolution::NumberFromPerson,
            Resolution::Withdrawn => pb::Resolution::Withdrawn,
        }
    }
}

impl From<HoldCause> for pb::HoldCause {
    fn from(c: HoldCause) -> Self {
        match c {
            HoldCause::NotationOrVariant => pb::HoldCause::NotationOrVariant,
            HoldCause::FormError => pb::HoldCause::FormError,
            HoldCause::RegistryDiffers => pb::HoldCause::RegistryDiffers,
            HoldCause::DifferentPerson => pb::HoldCause::DifferentPerson,
            HoldCause::NotConfirmed => pb::HoldCause::NotConfirmed,
            HoldCause::Other => pb::HoldCause::Other,
        }
    }
}

impl TryFrom<pb::HoldCause> for HoldCause {
    type Error = Unspecified;
    fn try_from(c: pb::HoldCause) -> Result<Self, Unspecified> {
        inverse(&HoldCause::ALL, c)
    }
}

impl From<SubjectKind> for pb::SubjectKind {
    fn from(kind: SubjectKind) -> Self {
        match kind {
            SubjectKind::Unspecified => pb::SubjectKind::Unspecified,
            SubjectKind::Member => pb::SubjectKind::Member,
            SubjectKind::Dependent => pb::SubjectKind::Dependent,
        }
    }
}

impl From<pb::SubjectKind> for SubjectKind {
    fn from(kind: pb::SubjectKind) -> Self {
        match kind {
            pb::SubjectKind::Unspecified => SubjectKind::Unspecified,
            pb::SubjectKind::Member => SubjectKind::Member,
            pb::SubjectKind::Dependent => SubjectKind::Dependent,
        }
    }
}

/// The domain value whose contract value is `value`: the inverse of the `From` impls above,
/// found by search so that each table is written once.
fn inverse<D: Copy, P: PartialEq + From<D>>(all: &[D], value: P) -> Result<D, Unspecified> {
    all.iter()
        .copied()
        .find(|&d| P::from(d) == value)
        .ok_or(Unspecified)
}

impl TryFrom<pb::RiskClass> for RiskClass {
    type Error = Unspecified;
    fn try_from(class: pb::RiskClass) -> Result<Self, Unspecified> {
        let all: Vec<Option<RiskClass>> = RiskClass::ALL.into_iter().map(Some).collect();
        inverse(&all, class)?.ok_or(Unspecified)
    }
}

impl TryFrom<pb::HoldReason> for HoldReason {
    type Error = Unspecified;
    fn try_from(reason: pb::HoldReason) -> Result<Self, Unspecified> {
        inverse(&HoldReason::ALL, reason)
    }
}

impl TryFrom<pb::Resolution> for Resolution {
    type Error = Unspecified;
    fn try_from(r: pb::Resolution) -> Result<Self, Unspecified> {
        inverse(&Resolution::ALL, r)
    }
}

impl TryFrom<pb::Stage> for Stage {
    type Error = Unspecified;
    fn try_from(stage: pb::Stage) -> Result<Self, Unspecified> {
        inverse(&Stage::ALL, stage)
    }
}

impl TryFrom<pb::Field> for Field {
    type Error = Unspecified;
    fn try_from(field: pb::Field) -> Result<Self, Unspecified> {
        inverse(&Field::ALL, field)
    }
}

impl TryFrom<pb::MatchClass> for MatchClass {
    type Error = Unspecified;
    fn try_from(class: pb::MatchClass) -> Result<Self, Unspecified> {
        inverse(&MatchClass::ALL, class)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_value_goes_out_and_comes_back_as_itself() {
        for c in RiskClass::ALL {
            assert_eq!(RiskClass::try_from(pb::RiskClass::from(Some(c))), Ok(c));
        }
        for r in HoldReason::ALL {
            assert_eq!(HoldReason::try_from(pb::HoldReason::from(r)), Ok(r));
        }
        for r in Resolution::ALL {
            assert_eq!(Resolution::try_from(pb::Resolution::from(r)), Ok(r));
        }
        for s in Stage::ALL {
            assert_eq!(Stage::try_from(pb::Stage::from(s)), Ok(s));
        }
        for f in Field::ALL {
            assert_eq!(Field::try_from(pb::Field::from(f)), Ok(f));
        }
        for c in MatchClass::ALL {
            assert_eq!(MatchClass::try_from(pb::MatchClass::from(c)), Ok(c));
        }
        assert_eq!(
            RiskClass::try_from(pb::RiskClass::Unspecified),
            Err(Unspecified)
        );
        assert_eq!(
            HoldReason::try_from(pb::HoldReason::Unspecified),
            Err(Unspecified)
        );
    }
}
