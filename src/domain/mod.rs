//! The pure domain core: no I/O, no async runtime, no database or transport types.
//!
//! Everything here is synchronous and deterministic so that it can be tested exhaustively and
//! benchmarked on one core. The service and the command line convert their inputs into these
//! types at the edge ([`crate::contract::parse`]).

pub mod compare;
pub mod deadline;
pub mod fields;
pub mod gate;
pub mod hold_cause;
pub mod ids;
pub mod number;
pub mod outcomes;
pub mod policy;
#[cfg(test)]
mod properties;
pub mod registration;
pub mod risk;
pub mod rules;
#[cfg(test)]
mod stable_ids;
pub mod subject;
pub mod text;
pub mod violation;

pub use rules::{Rule, RuleSet};

/// How two values of one field compare, from best to worst.
///
/// The order matters: `a < b` means `a` is the better match. The gate accepts a prefix of this
/// order per field and stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchClass {
    /// The same string.
    Exact,
    /// Equal after purely typographic folding: nothing was lost.
    Notation,
    /// Equal only after folding that loses information (異体字, small kana, substitutes …).
    Variant,
    /// Different.
    Mismatch,
    /// Empty on one side or both.
    Missing,
    /// A date or sex code that cannot be read, or a date with an unknown part.
    Unparseable,
}

impl MatchClass {
    /// The name used in policy files and documentation.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchClass::Exact => "exact",
            MatchClass::Notation => "notation",
            MatchClass::Variant => "variant",
            MatchClass::Mismatch => "mismatch",
            MatchClass::Missing => "missing",
            MatchClass::Unparseable => "unparseable",
        }
    }

    /// Every class, best first.
    pub const ALL: [MatchClass; 6] = [
        MatchClass::Exact,
        MatchClass::Notation,
        MatchClass::Variant,
        MatchClass::Mismatch,
        MatchClass::Missing,
        MatchClass::Unparseable,
    ];

    /// The class with this id, if any.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == id)
    }
}

/// The outcome of comparing two values of one field: the class and the folding rules that
/// were needed to reach it.
///
/// It holds no text from the input, so it can be logged and audited freely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comparison {
    /// The class.
    pub class: MatchClass,
    /// The folding rules needed (empty for exact, mismatch, missing and unparseable).
    pub rules: RuleSet,
}

impl Comparison {
    /// A comparison of the given class that needed no rule.
    pub const fn of(class: MatchClass) -> Self {
        Comparison {
            class,
            rules: RuleSet::EMPTY,
        }
    }

    /// A comparison of the given class reached with these rules.
    pub const fn with(class: MatchClass, rules: RuleSet) -> Self {
        Comparison { class, rules }
    }
}

/// One of the five identity fields (5情報).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// 漢字氏名.
    KanjiName,
    /// カナ氏名.
    KanaName,
    /// 生年月日.
    BirthDate,
    /// 性別.
    Sex,
    /// 住所.
    Address,
}

impl Field {
    /// All five, in contract order.
    pub const ALL: [Field; 5] = [
        Field::KanjiName,
        Field::KanaName,
        Field::BirthDate,
        Field::Sex,
        Field::Address,
    ];

    /// The name used in policy files and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::KanjiName => "kanji_name",
            Field::KanaName => "kana_name",
            Field::BirthDate => "birth_date",
            Field::Sex => "sex",
            Field::Address => "address",
        }
    }

    /// The field with this id, if any.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == id)
    }
}

/// Which two records a comparison was between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// The form against the J-LIS query.
    DeclaredVsQuery,
    /// The J-LIS query against one result.
    QueryVsCandidate,
    /// The form against one result directly.
    DeclaredVsCandidate,
}

impl Stage {
    /// All three, in the order the gate runs them.
    pub const ALL: [Stage; 3] = [
        Stage::DeclaredVsQuery,
        Stage::QueryVsCandidate,
        Stage::DeclaredVsCandidate,
    ];

    /// The name used in policy files.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::DeclaredVsQuery => "declared_vs_query",
            Stage::QueryVsCandidate => "query_vs_candidate",
            Stage::DeclaredVsCandidate => "declared_vs_candidate",
        }
    }

    /// The stage with this id, if any.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == id)
    }
}
