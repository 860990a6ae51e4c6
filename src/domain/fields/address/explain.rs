//! Which parts of two addresses differ, for a person looking at both: the byte ranges of each
//! raw text that the comparison could not align.
//!
//! A character diff of the raw text marks notation as difference (`西新宿[2-]8[-1]` against
//! `西新宿[二丁目]8[番2号]`, where only 1 against 2 differs). This aligns the atoms the comparison
//! compares instead — numbers by value and unit, characters by their variant keys, substitute
//! marks against any character — and leaves out what the comparison drops without a difference
//! (whitespace, a trailing 号, a prefecture or 郡 or building written on one side only).

use std::ops::Range;

use super::{Address, parse, substitutes};
use parse::{Atom, Kind};

/// The byte ranges of `a`'s and of `b`'s raw text that differ, each list in order and with
/// adjacent ranges merged. Both empty when the addresses agree atom for atom.
pub fn differing_spans(a: &Address, b: &Address) -> (Vec<Range<usize>>, Vec<Range<usize>>) {
    let (wa, wb) = windows(a, b);
    let xs: Vec<&Atom> = wa.iter().map(|&i| &a.atoms[i]).collect();
    let ys: Vec<&Atom> = wb.iter().map(|&i| &b.atoms[i]).collect();
    let (common_x, common_y) = common(&xs, &ys);
    (spans(&xs, &common_x), spans(&ys, &common_y))
}

/// The atoms of each side that take part: those with a key, less the prefecture, 郡 and
/// building that only one side writes (the comparison drops them without a difference).
fn windows(a: &Address, b: &Address) -> (Vec<usize>, Vec<usize>) {
    let (sa, sb) = (&a.structure, &b.structure);
    let drop_prefecture = |s: &parse::Structure, other: &parse::Structure| {
        s.prefecture != 0 && other.prefecture == 0 && other.inferred_prefecture == s.prefecture
    };
    let postcode = |s: &parse::Structure, other: &parse::Structure| {
        if other.postcode_end == 0 {
            s.postcode_end
        } else {
            0
        }
    };
    let from_a = if drop_prefecture(sa, sb) {
        sa.prefecture_end
    } else {
        postcode(sa, sb)
    };
    let from_b = if drop_prefecture(sb, sa) {
        sb.prefecture_end
    } else {
        postcode(sb, sa)
    };
    let county_a = if sb.county.is_none() { sa.county } else { None };
    let county_b = if sa.county.is_none() { sb.county } else { None };
    let one_building = sa.has_building != sb.has_building
        && !(sa.building_is_short_number || sb.building_is_short_number);
    let to_a = if one_building && sa.has_building {
        sa.building_start
    } else {
        a.atoms.len()
    };
    let to_b = if one_building && sb.has_building {
        sb.building_start
    } else {
        b.atoms.len()
    };
    let window = |atoms: &[Atom], from: usize, to: usize, county: Option<(usize, usize)>| {
        (from..to)
            .filter(|i| !county.is_some_and(|(s, e)| (s..e).contains(i)))
            .filter(|&i| atoms[i].vkey != parse::EMPTY)
            .collect::<Vec<_>>()
    };
    (
        window(&a.atoms, from_a, to_a, county_a),
        window(&b.atoms, from_b, to_b, county_b),
    )
}

/// Whether two atoms agree as the variant comparison aligns them.
fn agree(x: &Atom, y: &Atom) -> bool {
    if x.vkey == y.vkey {
        return x.kind != Kind::Num || parse::units_agree(x.unit, y.unit);
    }
    parse::kanji_variants(x.vkey, y.vkey).is_some() || substitutes(x, y)
}

/// For each atom of `xs` and of `ys`, whether it belongs to one longest common subsequence
/// under [`agree`]. Addresses are short (tens of atoms), so the quadratic table is small; the
/// contract bounds an address at 300 characters.
fn common(xs: &[&Atom], ys: &[&Atom]) -> (Vec<bool>, Vec<bool>) {
    let (n, m) = (xs.len(), ys.len());
    let width = m + 1;
    let mut lcs = vec![0u16; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * width + j] = if agree(xs[i], ys[j]) {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let (mut cx, mut cy) = (vec![false; n], vec![false; m]);
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if agree(xs[i], ys[j]) && lcs[i * width + j] == lcs[(i + 1) * width + j + 1] + 1 {
            cx[i] = true;
            cy[j] = true;
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * width + j] >= lcs[i * width + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    (cx, cy)
}

/// The byte ranges of the atoms not in common, adjacent ones merged.
fn spans(atoms: &[&Atom], common: &[bool]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for (atom, &same) in atoms.iter().zip(common) {
        if same {
            continue;
        }
        let range = atom.start as usize..atom.end as usize;
        match out.last_mut() {
            Some(last) if last.end == range.start => last.end = range.end,
            _ => out.push(range),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The differing parts of each side, as text.
    fn differing(a: &str, b: &str) -> (Vec<&'static str>, Vec<&'static str>) {
        let (x, y) = (Address::parse(a), Address::parse(b));
        let (sx, sy) = differing_spans(&x, &y);
        let text = |raw: &str, spans: Vec<Range<usize>>| {
            spans
                .into_iter()
                .map(|r| &*Box::leak(raw[r].to_owned().into_boxed_str()))
                .collect()
        };
        (text(a, sx), text(b, sy))
    }

    #[test]
    fn only_the_number_that_differs_is_marked_not_the_notation_around_it() {
        let (a, b) = differing("東京都新宿区西新宿2-8-1", "東京都新宿区西新宿二丁目8番2号");
        assert_eq!(a, ["1"]);
        assert_eq!(b, ["2"]);
    }

    #[test]
    fn another_chome_is_marked_and_a_prefecture_on_one_side_only_is_not() {
        let (a, b) = differing("新宿区西新宿3丁目8番1号", "東京都新宿区西新宿二丁目8番1号");
        assert_eq!(a, ["3"]);
        assert_eq!(b, ["二"]);
    }

    #[test]
    fn another_town_is_marked_and_variant_kanji_and_a_building_on_one_side_are_not() {
        let (a, b) = differing(
            "大阪府大阪市北区梅田1-1-1 梅田ビル3階",
            "大阪府大阪市北区曾根崎1丁目1番1号",
        );
        assert_eq!(a, ["梅田"]);
        assert_eq!(b, ["曾根崎"]);
        let (a, b) = differing("東京都渋谷区代々木1-2-3", "東京都渋谷区代代木一丁目2番4号");
        assert_eq!((a, b), (vec!["3"], vec!["4"]));
    }

    #[test]
    fn equal_addresses_have_nothing_to_mark() {
        let (a, b) = differing(
            "東京都千代田区霞が関2丁目1番1号",
            "東京都千代田区霞が関2-1-1",
        );
        assert!(a.is_empty() && b.is_empty(), "{a:?} {b:?}");
    }
}
