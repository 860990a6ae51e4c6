//! The gate policy: which classes each field accepts at each stage.
//!
//! The default (docs/rules.md): birth date and sex must be exact or notation at every stage;
//! names and address may also be variant. Anything mismatched, missing or unparseable never
//! passes, whatever a policy file says, so a deployment can tighten the gate but cannot open it
//! to differences the service cannot explain.
//!
//! A policy file is TOML:
//!
//! ```toml
//! version = "insurer-2026-01"
//! [fields]                       # the worst class accepted at every stage
//! kanji_name = "variant"
//! birth_date = "notation"
//! [stages.query_vs_candidate]    # optional per-stage overrides
//! address = "notation"
//! ```
//!
//! One more key, off by default: `register_when_kana_not_recorded = true` lets a case whose
//! J-LIS record has no reading yet (class `not_recorded`) register when every other comparison
//! passes. A kana name that is recorded and differs still holds.
//!
//! Fields not named keep the default.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::{Field, MatchClass, Stage};

/// Which classes pass, per stage and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Recorded with every decision so an auditor can tell which policy allowed it.
    pub version: String,
    /// `worst[stage][field]`: the worst class that still passes.
    worst: [[MatchClass; 5]; 3],
    /// Whether a kana name J-LIS has not recorded yet passes (off by default: it holds, with
    /// the reason `kana_not_recorded` and the lowest urgency).
    pub register_when_kana_not_recorded: bool,
}

/// A policy file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Not valid TOML or not the expected shape.
    #[error("policy file is not valid: {0}")]
    Syntax(#[from] toml::de::Error),
    /// A key that is not a field or stage.
    #[error("policy file names an unknown {kind} `{name}`")]
    Unknown {
        /// "field" or "stage".
        kind: &'static str,
        /// The name as written.
        name: String,
    },
    /// A class that is not exact, notation or variant.
    #[error("policy for {field} accepts `{class}`; only exact, notation or variant can pass")]
    TooLoose {
        /// The field.
        field: &'static str,
        /// The class as written.
        class: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    version: String,
    #[serde(default)]
    register_when_kana_not_recorded: bool,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    #[serde(default)]
    stages: BTreeMap<String, BTreeMap<String, String>>,
}

impl Default for Policy {
    fn default() -> Self {
        let per_field = Field::ALL.map(Self::default_worst);
        Policy {
            version: "default-1".to_owned(),
            worst: [per_field; 3],
            register_when_kana_not_recorded: false,
        }
    }
}

impl Policy {
    fn default_worst(field: Field) -> MatchClass {
        match field {
            Field::BirthDate | Field::Sex => MatchClass::Notation,
            Field::KanjiName | Field::KanaName | Field::Address => MatchClass::Variant,
        }
    }

    /// Whether a comparison of `class` passes for `field` at `stage`.
    pub fn accepts(&self, stage: Stage, field: Field, class: MatchClass) -> bool {
        if class == MatchClass::NotRecorded {
            return self.register_when_kana_not_recorded && field == Field::KanaName;
        }
        class <= MatchClass::Variant && class <= self.worst[stage as usize][field as usize]
    }

    /// The worst class that passes for `field` at `stage`.
    pub fn worst(&self, stage: Stage, field: Field) -> MatchClass {
        self.worst[stage as usize][field as usize]
    }

    /// Reads a policy from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        let file: PolicyFile = toml::from_str(text)?;
        let mut policy = Policy {
            version: file.version,
            register_when_kana_not_recorded: file.register_when_kana_not_recorded,
            ..Policy::default()
        };
        for (name, class) in &file.fields {
            let field = parse_field(name)?;
            let class = parse_class(field, class)?;
            for stage in Stage::ALL {
                policy.worst[stage as usize][field as usize] = class;
            }
        }
        for (stage_name, fields) in &file.stages {
            let stage = Stage::ALL
                .into_iter()
                .find(|s| s.as_str() == stage_name)
                .ok_or_else(|| PolicyError::Unknown {
                    kind: "stage",
                    name: stage_name.clone(),
                })?;
            for (name, class) in fields {
                let field = parse_field(name)?;
                policy.worst[stage as usize][field as usize] = parse_class(field, class)?;
            }
        }
        Ok(policy)
    }
}

fn parse_field(name: &str) -> Result<Field, PolicyError> {
    Field::ALL
        .into_iter()
        .find(|f| f.as_str() == name)
        .ok_or_else(|| PolicyError::Unknown {
            kind: "field",
            name: name.to_owned(),
        })
}

fn parse_class(field: Field, class: &str) -> Result<MatchClass, PolicyError> {
    match class {
        "exact" => Ok(MatchClass::Exact),
        "notation" => Ok(MatchClass::Notation),
        "variant" => Ok(MatchClass::Variant),
        _ => Err(PolicyError::TooLoose {
            field: field.as_str(),
            class: class.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reading_not_recorded_passes_only_when_the_policy_file_says_so() {
        let off = Policy::default();
        let on = Policy::from_toml("version = \"k\"\nregister_when_kana_not_recorded = true\n")
            .expect("valid");
        for stage in Stage::ALL {
            assert!(!off.accepts(stage, Field::KanaName, MatchClass::NotRecorded));
            assert!(on.accepts(stage, Field::KanaName, MatchClass::NotRecorded));
            for field in [
                Field::KanjiName,
                Field::BirthDate,
                Field::Sex,
                Field::Address,
            ] {
                assert!(!on.accepts(stage, field, MatchClass::NotRecorded));
            }
            assert!(!on.accepts(stage, Field::KanaName, MatchClass::Mismatch));
        }
    }

    #[test]
    fn the_default_accepts_variant_names_but_only_notation_dates() {
        let p = Policy::default();
        for stage in Stage::ALL {
            assert!(p.accepts(stage, Field::KanjiName, MatchClass::Variant));
            assert!(p.accepts(stage, Field::Address, MatchClass::Variant));
            assert!(p.accepts(stage, Field::BirthDate, MatchClass::Notation));
            assert!(!p.accepts(stage, Field::BirthDate, MatchClass::Variant));
            assert!(!p.accepts(stage, Field::Sex, MatchClass::Variant));
            for field in Field::ALL {
                assert!(!p.accepts(stage, field, MatchClass::Mismatch));
                assert!(!p.accepts(stage, field, MatchClass::Missing));
                assert!(!p.accepts(stage, field, MatchClass::Unparseable));
            }
        }
    }

    #[test]
    fn a_policy_file_can_tighten_one_stage() {
        let p = Policy::from_toml(
            "version = \"t-1\"\n[fields]\nkana_name = \"notation\"\n[stages.query_vs_candidate]\naddress = \"exact\"\n",
        )
        .unwrap();
        assert_eq!(p.version, "t-1");
        assert!(!p.accepts(Stage::DeclaredVsQuery, Field::KanaName, MatchClass::Variant));
        assert!(!p.accepts(
            Stage::QueryVsCandidate,
            Field::Address,
            MatchClass::Notation
        ));
        assert!(p.accepts(Stage::DeclaredVsQuery, Field::Address, MatchClass::Variant));
    }

    #[test]
    fn a_policy_file_cannot_accept_mismatches_or_unknown_names() {
        for text in [
            "version = \"x\"\n[fields]\nsex = \"mismatch\"\n",
            "version = \"x\"\n[fields]\nnickname = \"exact\"\n",
            "version = \"x\"\n[stages.later]\nsex = \"exact\"\n",
            "[fields]\nsex = \"exact\"\n",
        ] {
            assert!(Policy::from_toml(text).is_err(), "{text}");
        }
    }
}
