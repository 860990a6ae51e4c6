//! Which characters of two names differ: a longest common subsequence over the characters'
//! folded keys, so "髙橋　智子" against "高橋 知子" marks only 智 and 知 (not 髙/高, nor the
//! spaces) and the clerk sees the difference instead of hunting for it. Addresses are marked by
//! the domain's own alignment (`domain::fields::address::differing_spans`), not here.

use crate::domain::{
    Field, Rule, RuleSet,
    fields::{
        address::{self, Address},
        kana_name, kanji_name,
    },
    text::{chars, folding::FoldFn, marks},
};

/// Both values of `field` as runs, marked only where the comparison found them to differ: a
/// name's characters after folding (not its width, spaces, small kana or 異体字), an address's
/// parts as the address comparison aligns them (not its number notation, nor a prefecture or
/// building on one side only), and a birth date or sex code whole (a different day is the
/// difference; a character diff of `S50.1.1` against `1975-01-02` would mean nothing). What
/// `check --format text` and the console's 照合の確認 page show.
pub fn differing(field: Field, left: &str, right: &str) -> (Vec<Segment>, Vec<Segment>) {
    match field {
        Field::KanjiName => diff_folded(left, right, kanji_name::fold),
        Field::KanaName => diff_folded(left, right, kana_name::fold),
        Field::Address => {
            let (a, b) = (Address::parse(left), Address::parse(right));
            let (sa, sb) = address::differing_spans(&a, &b);
            (from_spans(left, &sa), from_spans(right, &sb))
        }
        Field::BirthDate | Field::Sex => {
            let whole = |raw: &str| from_spans(raw, std::slice::from_ref(&(0..raw.len())));
            (whole(left), whole(right))
        }
    }
}

/// A run of characters of one side, common to both sides or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The characters, as written in the input.
    pub text: String,
    /// Whether these characters are missing from, or different on, the other side.
    pub differs: bool,
}

/// Above this many cells (left × right characters) the LCS table is not built: both middles
/// are marked whole. Real fields are tens of characters; a request is at most 256 KiB, and a
/// quadratic table over that would take gigabytes for a diff nobody reads.
const MAX_CELLS: usize = 1 << 20;

/// Both sides of two names, marked where their characters differ *after folding*: width,
/// spaces, case, small kana, 異体字 and iteration marks do not count, and a substitute mark
/// (●, 〓) stands for any one character. `fold` is the field's fold (all its rules enabled).
///
/// The raw text is cut into clusters (a character with the voicing and variation marks that
/// follow it), each cluster's key is what `fold` makes of it in its place (so 々 is the kanji
/// it repeats), and clusters whose key is empty (whitespace) are never marked.
pub fn diff_folded(left: &str, right: &str, fold: FoldFn) -> (Vec<Segment>, Vec<Segment>) {
    let (a, b) = (clusters(left, fold), clusters(right, fold));
    let keyed = |cs: &[Cluster<'_>]| -> Vec<usize> {
        (0..cs.len()).filter(|&i| !cs[i].key.is_empty()).collect()
    };
    let (ka, kb) = (keyed(&a), keyed(&b));
    let (n, m) = (ka.len(), kb.len());
    let mut same_a = vec![true; a.len()];
    let mut same_b = vec![true; b.len()];
    if n.saturating_mul(m) > MAX_CELLS {
        ka.iter().for_each(|&i| same_a[i] = false);
        kb.iter().for_each(|&j| same_b[j] = false);
    } else {
        let eq = |i: usize, j: usize| {
            let (x, y) = (&a[ka[i]], &b[kb[j]]);
            x.key == y.key || x.substitute || y.substitute
        };
        let width = m + 1;
        let mut lcs = vec![0u32; (n + 1) * width];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * width + j] = if eq(i, j) {
                    lcs[(i + 1) * width + j + 1] + 1
                } else {
                    lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
                };
            }
        }
        ka.iter().for_each(|&i| same_a[i] = false);
        kb.iter().for_each(|&j| same_b[j] = false);
        let (mut i, mut j) = (0, 0);
        while i < n && j < m {
            if eq(i, j) && lcs[i * width + j] == lcs[(i + 1) * width + j + 1] + 1 {
                same_a[ka[i]] = true;
                same_b[kb[j]] = true;
                i += 1;
                j += 1;
            } else if lcs[(i + 1) * width + j] >= lcs[i * width + j + 1] {
                i += 1;
            } else {
                j += 1;
            }
        }
    }
    let runs = |cs: &[Cluster<'_>], same: &[bool]| {
        let mut out: Vec<Segment> = Vec::new();
        for (c, &same) in cs.iter().zip(same) {
            match out.last_mut() {
                Some(last) if last.differs != same => last.text.push_str(c.raw),
                _ => out.push(Segment {
                    text: c.raw.to_owned(),
                    differs: !same,
                }),
            }
        }
        out
    };
    (runs(&a, &same_a), runs(&b, &same_b))
}

/// A character of a name with the marks that belong to it, and its folded key.
struct Cluster<'a> {
    /// As written.
    raw: &'a str,
    /// What the fold makes of it in its place; empty for whitespace.
    key: String,
    /// Whether it is a substitute mark (外字 placeholder).
    substitute: bool,
}

/// Cuts `raw` into clusters and folds each in its place: the key of a cluster is what folding
/// the text up to its end adds to folding the text before it.
fn clusters(raw: &str, fold: FoldFn) -> Vec<Cluster<'_>> {
    let all = RuleSet::of(Rule::ALL);
    let mut bounds: Vec<usize> = Vec::new();
    for (i, c) in raw.char_indices() {
        let joins = matches!(c, '\u{3099}' | '\u{309A}' | '\u{FF9E}' | '\u{FF9F}')
            || marks::is_variation_selector(c);
        if !joins || bounds.is_empty() {
            bounds.push(i);
        }
    }
    bounds.push(raw.len());
    let folded = |upto: usize| {
        let mut out = String::new();
        fold(&raw[..upto], all, &mut out);
        out
    };
    let mut before = String::new();
    bounds
        .windows(2)
        .map(|w| {
            let text = &raw[w[0]..w[1]];
            let now = folded(w[1]);
            let key = match now.strip_prefix(before.as_str()) {
                Some(added) => added.to_owned(),
                None => {
                    let mut alone = String::new();
                    fold(text, all, &mut alone);
                    alone
                }
            };
            before = now;
            Cluster {
                raw: text,
                substitute: text.chars().next().is_some_and(chars::is_substitute),
                key,
            }
        })
        .collect()
}

/// `raw` as runs, the byte ranges `spans` (in order, not overlapping) marked as differing.
pub fn from_spans(raw: &str, spans: &[std::ops::Range<usize>]) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut at = 0;
    for span in spans {
        if span.start > at {
            out.push(Segment {
                text: raw[at..span.start].to_owned(),
                differs: false,
            });
        }
        out.push(Segment {
            text: raw[span.clone()].to_owned(),
            differs: true,
        });
        at = span.end;
    }
    if at < raw.len() {
        out.push(Segment {
            text: raw[at..].to_owned(),
            differs: false,
        });
    }
    out
}

/// One side written out with its differing runs marked: reverse red on a terminal that takes
/// colour, `[…]` otherwise (so a pipe, a file or `NO_COLOR` still shows where).
pub fn mark(segments: &[Segment], colour: bool) -> String {
    let mut out = String::new();
    for s in segments {
        match (s.differs, colour) {
            (false, _) => out.push_str(&s.text),
            (true, true) => {
                out.push_str("\x1b[1;31;7m");
                out.push_str(&s.text);
                out.push_str("\x1b[0m");
            }
            (true, false) => {
                out.push('[');
                out.push_str(&s.text);
                out.push(']');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::fields::{kana_name, kanji_name};

    fn marked(left: &str, right: &str) -> (String, String) {
        marked_folded(left, right, kana_name::fold)
    }

    fn diff(left: &str, right: &str) -> (Vec<Segment>, Vec<Segment>) {
        diff_folded(left, right, kanji_name::fold)
    }

    #[test]
    fn one_differing_kanji_is_marked_on_both_sides() {
        assert_eq!(
            marked_folded("鈴木 智子", "鈴木 知子", kanji_name::fold),
            ("鈴木 [智]子".to_owned(), "鈴木 [知]子".to_owned())
        );
    }

    #[test]
    fn kana_that_differ_in_the_middle_and_in_length_are_marked_as_runs() {
        assert_eq!(
            marked("スズキ トモコ", "スズキ トシコ"),
            ("スズキ ト[モ]コ".to_owned(), "スズキ ト[シ]コ".to_owned())
        );
        assert_eq!(
            marked("タカハシ", "タカハシヨ"),
            ("タカハシ".to_owned(), "タカハシ[ヨ]".to_owned())
        );
        assert_eq!(
            marked("サトウ ハナコ", "サイトウ ハナ"),
            ("サトウ ハナ[コ]".to_owned(), "サ[イ]トウ ハナ".to_owned())
        );
    }

    #[test]
    fn against_an_empty_side_everything_differs() {
        let (l, r) = diff("", "大阪府大阪市");
        assert!(l.is_empty());
        assert_eq!(mark(&r, false), "[大阪府大阪市]");
    }

    #[test]
    fn equal_values_have_nothing_marked() {
        let (l, r) = diff("梅田一丁目", "梅田一丁目");
        assert_eq!(l, r);
        assert!(l.iter().all(|s| !s.differs));
        assert_eq!(mark(&l, true), "梅田一丁目");
    }

    #[test]
    fn colour_marks_with_escape_codes_instead_of_brackets() {
        let (l, _) = diff("智", "知");
        assert_eq!(mark(&l, true), "\x1b[1;31;7m智\x1b[0m");
    }

    fn marked_folded(left: &str, right: &str, fold: FoldFn) -> (String, String) {
        let (l, r) = diff_folded(left, right, fold);
        (mark(&l, false), mark(&r, false))
    }

    #[test]
    fn name_notation_and_variants_are_not_marked_only_the_character_that_differs() {
        assert_eq!(
            marked_folded("髙橋　智子", "高橋 知子", kanji_name::fold),
            ("髙橋　[智]子".to_owned(), "高橋 [知]子".to_owned())
        );
        assert_eq!(
            marked_folded("佐々木 ●子", "佐佐木 花代", kanji_name::fold),
            ("佐々木 ●[子]".to_owned(), "佐佐木 花[代]".to_owned())
        );
        assert_eq!(
            marked_folded("ｽｽﾞｷ ﾄﾓｺ", "スズキ トシコ", kana_name::fold),
            ("ｽｽﾞｷ ﾄ[ﾓ]ｺ".to_owned(), "スズキ ト[シ]コ".to_owned())
        );
        assert_eq!(
            marked_folded("シヨウイチ", "ショウジ", kana_name::fold),
            ("シヨウ[イチ]".to_owned(), "ショウ[ジ]".to_owned())
        );
    }

    #[test]
    fn spans_become_marked_runs() {
        let raw = "西新宿2-8-1";
        let at = raw.len() - 1;
        assert_eq!(
            mark(
                &from_spans(raw, std::slice::from_ref(&(at..raw.len()))),
                false
            ),
            "西新宿2-8-[1]"
        );
        assert_eq!(mark(&from_spans(raw, &[]), false), raw);
    }

    #[test]
    fn very_long_values_are_marked_whole_without_a_quadratic_table() {
        let a = "あ".repeat(2000) + "い";
        let b = "う".repeat(2000);
        let (l, r) = diff(&a, &b);
        assert_eq!((l.len(), r.len()), (1, 1));
        assert!(l[0].differs && r[0].differs);
    }
}
