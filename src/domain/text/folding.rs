//! The generic comparison of two folded strings, shared by the name and address fields.
//!
//! A field supplies one fold function that applies an enabled set of rules and reports which of
//! them changed something. Comparison then climbs the classes: the raw strings equal → exact;
//! equal under the notation rules → notation; equal under notation and variant rules (and,
//! where the field allows it, substitute marks matching one character) → variant; otherwise
//! mismatch.
//!
//! The rules reported are those *needed*: a rule that changed one side only is needed; a rule
//! that changed both sides is re-checked by folding without it (it may have done the same thing
//! on both sides, as half-width input on both sides does). This costs extra folds only for
//! values that were not exact.

use std::cell::OnceCell;

use crate::domain::{Comparison, MatchClass, Rule, RuleSet, text::chars};

/// A fold: applies the `enabled` rules to `raw`, appends the key to `out`, and returns the rules
/// that changed something.
pub type FoldFn = fn(raw: &str, enabled: RuleSet, out: &mut String) -> RuleSet;

/// How a field folds and which of its rules are notation and which variant.
#[derive(Clone, Copy)]
pub struct Folding {
    /// The field's fold function.
    pub fold: FoldFn,
    /// Rules that lose nothing.
    pub notation: RuleSet,
    /// Rules that lose information; applied on top of `notation`.
    pub variant: RuleSet,
    /// Whether substitute marks (外字 placeholders) may match one character, as variant.
    pub wildcard: bool,
}

/// A value with its comparison keys, computed once so that a record compared at several stages
/// is folded once.
#[derive(Clone)]
pub struct FoldedKey {
    raw: String,
    empty: bool,
    notation: String,
    notation_fired: RuleSet,
    /// The variant key and the rules that made it (notation and variant), folded the first
    /// time a comparison needs it: values that are exact or equal under notation (most of
    /// them) never do.
    variant: OnceCell<(String, RuleSet)>,
    /// Whether a whole word (a family or a given name) is substitute marks: it then identifies
    /// nothing, and substitute marks may not carry a match.
    substitute_word: bool,
}

impl FoldedKey {
    /// Folds `raw` under `folding`.
    pub fn new(raw: &str, folding: &Folding) -> Self {
        let mut notation = String::with_capacity(raw.len());
        let notation_fired = (folding.fold)(raw, folding.notation, &mut notation);
        FoldedKey {
            // Only fields that let substitutes match need to know, and only when one occurs.
            substitute_word: folding.wildcard
                && raw.chars().any(chars::is_substitute)
                && raw
                    .split(|c: char| chars::is_space(c) || chars::is_name_separator(c))
                    .any(|word| !word.is_empty() && word.chars().all(chars::is_substitute)),
            raw: raw.to_owned(),
            empty: raw.chars().all(chars::is_space),
            notation,
            notation_fired,
            variant: OnceCell::new(),
        }
    }

    /// The key under every rule (notation and variant) and the rules that changed something.
    ///
    /// The variant rules act on what the notation rules left, so the variant key is the
    /// notation key folded further: one pass over the notation key instead of the raw text.
    fn variant(&self, folding: &Folding) -> (&str, RuleSet) {
        let (key, fired) = self.variant.get_or_init(|| {
            let mut variant = String::with_capacity(self.notation.len());
            let fired = (folding.fold)(&self.notation, folding.variant, &mut variant);
            (variant, self.notation_fired.union(fired))
        });
        (key, *fired)
    }

    /// The key under every rule (notation and variant), for tests and idempotence checks.
    /// `folding` is the one the key was made with.
    pub fn variant_key(&self, folding: &Folding) -> &str {
        self.variant(folding).0
    }

    /// The key under the notation rules only.
    pub fn notation_key(&self) -> &str {
        &self.notation
    }

    /// Whether the value is empty or only whitespace.
    pub fn is_empty(&self) -> bool {
        self.empty
    }
}

impl std::fmt::Debug for FoldedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Personal data: never print the text.
        f.debug_struct("FoldedKey")
            .field("len", &self.raw.chars().count())
            .finish_non_exhaustive()
    }
}

/// Compares two folded values.
pub fn compare_keys(a: &FoldedKey, b: &FoldedKey, folding: &Folding) -> Comparison {
    if a.empty || b.empty {
        return Comparison::of(MatchClass::Missing);
    }
    if a.raw == b.raw {
        return Comparison::of(MatchClass::Exact);
    }
    if a.notation == b.notation {
        let rules = needed(
            a,
            b,
            folding,
            folding.notation,
            a.notation_fired,
            b.notation_fired,
            false,
        );
        return Comparison::with(MatchClass::Notation, rules);
    }
    let all = folding.notation.union(folding.variant);
    let (a_variant, a_fired) = a.variant(folding);
    let (b_variant, b_fired) = b.variant(folding);
    if a_variant == b_variant {
        let rules = needed(a, b, folding, all, a_fired, b_fired, false);
        return Comparison::with(MatchClass::Variant, rules);
    }
    if folding.wildcard
        && wildcard_equal(a_variant, b_variant)
        && !a.substitute_word
        && !b.substitute_word
    {
        let rules = needed(a, b, folding, all, a_fired, b_fired, true);
        return Comparison::with(MatchClass::Variant, rules.with(Rule::Wildcard));
    }
    Comparison::of(MatchClass::Mismatch)
}

fn needed(
    a: &FoldedKey,
    b: &FoldedKey,
    folding: &Folding,
    enabled: RuleSet,
    fired_a: RuleSet,
    fired_b: RuleSet,
    wildcard: bool,
) -> RuleSet {
    let fired = fired_a.union(fired_b);
    // A rule that changed one side only was needed (the folds are written so that no two
    // rules rewrite the same character). A rule that changed both sides may have done the
    // same thing on both, so it is re-checked; with substitute marks in play every rule is.
    let suspects = if wildcard {
        fired
    } else {
        fired_a.intersection(fired_b)
    };
    if suspects.is_empty() {
        return fired;
    }
    // Greedy ablation: drop each suspect that the others (and, where allowed, substitute
    // marks) can do without. What remains is sufficient and has no rule to spare.
    let mut kept = enabled;
    let (mut ka, mut kb) = (String::new(), String::new());
    for rule in suspects.iter() {
        let without = kept.without(rule);
        ka.clear();
        kb.clear();
        (folding.fold)(&a.raw, without, &mut ka);
        (folding.fold)(&b.raw, without, &mut kb);
        if ka == kb || (wildcard && wildcard_equal(&ka, &kb)) {
            kept = without;
        }
    }
    kept.intersection(fired)
}

/// Whether two keys are equal when a substitute mark on either side may stand for any one
/// character. Guarded so that placeholders cannot carry a match on their own: the keys must
/// have the same length, at least two characters, substitutes at no more than half of the
/// positions, and no two substituted positions side by side (●● stands for a whole name more
/// often than for two 外字 in a row).
pub fn wildcard_equal(a: &str, b: &str) -> bool {
    let (mut len, mut substituted) = (0usize, 0usize);
    let mut previous_substituted = false;
    let mut ai = a.chars();
    let mut bi = b.chars();
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => break,
            (Some(x), Some(y)) => {
                len += 1;
                let here = chars::is_substitute(x) || chars::is_substitute(y);
                if here && previous_substituted {
                    return false;
                }
                previous_substituted = here;
                if here {
                    substituted += 1;
                } else if x != y {
                    return false;
                }
            }
            _ => return false,
        }
    }
    substituted > 0 && len >= 2 && substituted * 2 <= len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_substitute_matches_one_character_but_not_a_whole_name() {
        assert!(wildcard_equal("●田太郎", "吉田太郎"));
        assert!(wildcard_equal("〓田", "吉田"));
        assert!(!wildcard_equal("●●", "吉田"));
        assert!(!wildcard_equal("●", "吉"));
        assert!(!wildcard_equal("●田太郎", "吉田太"));
        assert!(!wildcard_equal("●田太郎", "吉田次郎"));
        assert!(!wildcard_equal("●●花子", "渡辺花子"));
        assert!(wildcard_equal("●田花●", "吉田花子"));
    }
}
