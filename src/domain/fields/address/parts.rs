//! Pass 3 of reading an address: the parts (prefecture, 郡, number block, building) and the
//! variant keys of 大字/字, ケ/ノ/ツ and 々.

use super::atoms::{
    AZA, Atom, EMPTY, INNER_AZA_MARK, ITERATION, KE, Kind, NO, NUM, Structure, TSU, UnitClass,
    WEAK_AZA,
};
use super::characters::{is_kanji, is_name_char};
use super::places;
use crate::domain::text::marks;

/// The index of the first atom at or after `k` that is not whitespace.
pub(super) fn next_significant(atoms: &[Atom], mut k: usize) -> usize {
    while k < atoms.len() && atoms[k].kind == Kind::Space {
        k += 1;
    }
    k
}

/// Finds the parts. Returns them, where the town name starts and where the number block starts.
pub(super) fn structure(atoms: &[Atom], raw: &str, has_gun: bool) -> (Structure, usize, usize) {
    let n = atoms.len();
    let postcode_end = postcode_end(atoms, raw);
    let letters = Letters::at(atoms, postcode_end, 4);
    let (prefecture, prefecture_end) = places::prefecture_at(letters.chars())
        .map_or((0, postcode_end), |(code, chars)| {
            (code, letters.after[chars - 1])
        });
    let body = next_significant(atoms, prefecture_end);
    let inferred_prefecture = if prefecture == 0 {
        places::prefecture_of_municipality(Letters::at(atoms, body, 5).chars()).unwrap_or(0)
    } else {
        0
    };
    let county = if has_gun {
        county_at(atoms, body)
    } else {
        None
    };
    let town = county.map_or(prefecture_end, |(_, end)| end);
    let (block_start, building_start) = main_block(atoms, town).unwrap_or((n, n));
    let structure = Structure {
        prefecture,
        prefecture_end,
        postcode_end,
        inferred_prefecture,
        county,
        building_start,
        has_building: atoms[building_start..].iter().any(|a| a.nkey != EMPTY),
        building_is_short_number: {
            let mut rest = atoms[building_start..].iter().filter(|a| a.nkey != EMPTY);
            match (rest.next(), rest.next()) {
                (Some(a), None) => a.kind == Kind::Num && a.nkey & !NUM < 100,
                _ => false,
            }
        },
        has_aza: false,
        has_weak_aza: false,
        has_inner_aza: false,
        signature: 0,
    };
    (structure, town, block_start)
}

/// Where the address starts after a postal code written before it, or 0: `〒` (or `〶`) and
/// seven digits, or three digits, a hyphen and four digits with or without the mark
/// (`〒100-8926`, `１００－８９２６`, `〒1008926`), then the name of a place. A postal code is derived
/// from the address and names no place of its own; anything else before the name (six digits, a
/// number with a unit) is left as text.
fn postcode_end(atoms: &[Atom], raw: &str) -> usize {
    let digits = |k: usize| {
        atoms
            .get(k)
            .filter(|a| a.kind == Kind::Num)
            .and_then(|a| raw.get(a.start as usize..a.end as usize))
            .map(|s| s.chars().count())
    };
    let mut k = next_significant(atoms, 0);
    let mark = atoms
        .get(k)
        .and_then(Atom::ch)
        .is_some_and(|c| matches!(c, '〒' | '〶'));
    if mark {
        k = next_significant(atoms, k + 1);
    }
    let hyphen = |k: usize| {
        atoms
            .get(k)
            .is_some_and(|a| a.kind == Kind::Sep && a.end - a.start <= 3)
            && atoms[k - 1].unit == UnitClass::Unstated
    };
    let end = match (digits(k), digits(k + 2)) {
        (Some(3), Some(4)) if hyphen(k + 1) => k + 3,
        (Some(7), _) if mark => k + 1,
        _ => return 0,
    };
    let name = next_significant(atoms, end);
    if atoms.get(name).and_then(Atom::ch).is_some_and(is_name_char) {
        name
    } else {
        0
    }
}

/// Up to [`Letters::MAX`] characters of text from an atom on, skipping whitespace, so that place
/// names are recognised even where a form puts spaces inside them (`千 代 田 区`).
pub(super) struct Letters {
    chars: [char; Letters::MAX],
    /// The index of the atom after each character.
    after: [usize; Letters::MAX],
    len: usize,
}

impl Letters {
    const MAX: usize = 13;

    /// The first `max` characters of text at or after atom `k`, up to the first atom that is not
    /// text.
    fn at(atoms: &[Atom], mut k: usize, max: usize) -> Letters {
        let mut letters = Letters {
            chars: ['\0'; Letters::MAX],
            after: [0; Letters::MAX],
            len: 0,
        };
        while letters.len < max.min(Letters::MAX) {
            k = next_significant(atoms, k);
            let Some(c) = atoms.get(k).and_then(Atom::ch) else {
                break;
            };
            letters.chars[letters.len] = c;
            letters.after[letters.len] = k + 1;
            letters.len += 1;
            k += 1;
        }
        letters
    }

    fn chars(&self) -> &[char] {
        &self.chars[..self.len]
    }
}

/// The `…郡` segment at `start` when a town or village (…町, …村) follows it: 虻田郡 in
/// 虻田郡倶知安町. Cities whose names contain 郡 (大和郡山市, 小郡市, 蒲郡市) are not counties.
pub(super) fn county_at(atoms: &[Atom], start: usize) -> Option<(usize, usize)> {
    const CITIES_WITH_GUN: [&str; 3] = ["大和郡山市", "小郡市", "蒲郡市"];
    let letters = Letters::at(atoms, start, Letters::MAX);
    let chars = letters.chars();
    // County names are one to five characters (余市郡, 西村山郡).
    let gun = chars
        .iter()
        .position(|&c| c == '郡')
        .filter(|&g| (1..=5).contains(&g))?;
    let county_name =
        |c: char| is_name_char(c) && !matches!(c, '都' | '道' | '府' | '県' | '区' | '町' | '村');
    if !chars[..gun].iter().all(|&c| county_name(c)) {
        return None;
    }
    let is_city = |city: &str| {
        city.chars().zip(chars).all(|(x, &y)| x == y) && city.chars().count() <= chars.len()
    };
    if CITIES_WITH_GUN.iter().any(|city| is_city(city)) {
        return None;
    }
    // The town or village name: one to six characters before 町 or 村 (倶知安, 市川三郷).
    let rest = &chars[gun + 1..];
    let end = rest
        .iter()
        .position(|&c| matches!(c, '町' | '村'))
        .filter(|&e| (1..=6).contains(&e))?;
    let town_name =
        |c: char| is_name_char(c) && !matches!(c, '郡' | '区' | '都' | '道' | '府' | '県');
    rest[..end]
        .iter()
        .all(|&c| town_name(c))
        .then_some((start, letters.after[gun]))
}

/// Units that, after a number, show the number is part of a place name rather than the end of
/// the address: 北3条, 東2線, 第2地割, 1区. Even after whitespace (`北3 条`).
pub(super) fn is_place_unit(c: char) -> bool {
    matches!(
        c,
        '条' | '條'
            | '線'
            | '地'
            | '割'
            | '区'
            | '丁'
            | '番'
            | '号'
            | '町'
            | '村'
            | '組'
            | '班'
            | '里'
            | '通'
            | '軒'
            | '目'
    )
}

/// Characters that, directly after a number, show the number is part of a place name: the
/// units, and the words that continue one (南1西2, 四条下ル, 1の宮, 2ヶ所). After whitespace
/// they start a building name instead (`1-2-3 東ビル`).
pub(super) fn continues_place(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || is_place_unit(c)
        || matches!(
            c,
            'の' | 'ノ'
                | '之'
                | '東'
                | '西'
                | '南'
                | '北'
                | '上'
                | '下'
                | 'ケ'
                | 'ヶ'
                | 'ヵ'
                | 'が'
                | 'ガ'
        )
}

/// The address number block: the first run of numbers joined by separators (with its trailing
/// unit) that a place name precedes and that ends the address proper: the end of the text
/// follows it, or text that cannot continue a place name ([`continues_place`], or after
/// whitespace [`is_place_unit`]). What follows it is building and room text (方書).
///
/// A bare number after whitespace ends the block only when the block is structured
/// (`1-2-3 405`): after a single number (`東1 2-3`) it is more likely the rest of the lot.
/// Numbers before any place name (a postal code) are never the block.
pub(super) fn main_block(atoms: &[Atom], from: usize) -> Option<(usize, usize)> {
    let n = atoms.len();
    let mut named = false;
    let mut k = from;
    while k < n {
        let atom = &atoms[k];
        if atom.kind != Kind::Num {
            named = named || atom.ch().is_some_and(is_name_char);
            k += 1;
            continue;
        }
        let start = k;
        let (mut end, mut structured) = (k + 1, false);
        loop {
            let p = next_significant(atoms, end);
            if p < n && atoms[p].kind == Kind::Sep {
                let q = next_significant(atoms, p + 1);
                if q < n && atoms[q].kind == Kind::Num {
                    (end, structured) = (q + 1, true);
                    continue;
                }
            }
            break;
        }
        let p = next_significant(atoms, end);
        if p < n && matches!(atoms[p].kind, Kind::Trailing | Kind::Chome) {
            (end, structured) = (p + 1, true);
        }
        let q = next_significant(atoms, end);
        let spaced = q > end;
        let terminal = q == n
            || match atoms[q].kind {
                Kind::Num => spaced && structured,
                Kind::Text if spaced => !atoms[q].ch().is_some_and(is_place_unit),
                Kind::Text => !atoms[q].ch().is_some_and(continues_place),
                _ => false,
            };
        if named && terminal {
            return Some((start, end));
        }
        k = end;
    }
    None
}

/// Marks 大字/字 prefixes of town names in `from..to` (after the municipality, before the number
/// block) as dropped at the variant level: after a municipality (川俣町大字鶴沢, 伊達市字大泉) or
/// after the name that a 大字 or 字 began (大字鶴沢字東). Returns whether it found any, and whether
/// it found a weak one.
///
/// A 字 between two name characters elsewhere in the town part (鶴沢字東 written without 大字) is
/// only marked weak: it may be part of a word (文字ヶ関, 十文字), so the comparison drops it only
/// against an address that writes 大字/字 prefixes, where it is a prefix beyond reasonable doubt.
pub(super) fn mark_aza(atoms: &mut [Atom], from: usize, to: usize) -> (bool, bool, bool) {
    let name_at = |atoms: &[Atom], k: usize| k < to && atoms[k].ch().is_some_and(is_name_char);
    let (mut prev, mut in_aza, mut municipality) = (None, false, false);
    let (mut found, mut weak, mut inner) = (false, false, false);
    let mut k = next_significant(atoms, from);
    while k < to {
        let next = next_significant(atoms, k + 1);
        let Some(c) = atoms[k].ch() else {
            (prev, in_aza) = (None, false);
            k = next;
            continue;
        };
        let after_municipality = matches!(prev, Some('市' | '区' | '町' | '村'));
        let (prefix, resume) = if c == '大'
            && atoms.get(next).and_then(Atom::ch) == Some('字')
            && after_municipality
            && name_at(atoms, next_significant(atoms, next + 1))
        {
            ([k, next], next_significant(atoms, next + 1))
        } else if c == '字'
            && (after_municipality || (in_aza && prev.is_some_and(|p| p != '字')))
            && name_at(atoms, next)
        {
            ([k, k], next)
        } else {
            if c == '字' && municipality && prev.is_some_and(is_name_char) && name_at(atoms, next)
            {
                atoms[k].flags |= AZA | WEAK_AZA;
                weak = true;
                if prev != Some('文') && koaza_before_block(atoms, next, to) {
                    atoms[k].flags |= INNER_AZA_MARK;
                    inner = true;
                }
            }
            municipality |= matches!(c, '市' | '区' | '町' | '村');
            prev = Some(c);
            k = next;
            continue;
        };
        for i in prefix {
            atoms[i].vkey = EMPTY;
            atoms[i].flags |= AZA;
        }
        (prev, in_aza, found) = (Some('字'), true, true);
        k = resume;
    }
    (found, weak, inner)
}

/// Whether the atoms `from..to` are one to six name characters that end where the number block
/// starts (`to`), with no 字, 町 or 村 among them: the 小字 of `横芝字真砂482`. A 字 before a longer
/// or a structured name is left weak.
fn koaza_before_block(atoms: &[Atom], from: usize, to: usize) -> bool {
    let mut n = 0;
    let mut k = next_significant(atoms, from);
    while k < to {
        match atoms[k].ch() {
            Some('字' | '町' | '村') | None => return false,
            Some(c) if !is_name_char(c) => return false,
            Some(_) => n += 1,
        }
        k = next_significant(atoms, k + 1);
    }
    to < atoms.len() && atoms[to].kind == Kind::Num && (1..=6).contains(&n)
}

/// Sets the variant keys of ケ/ヶ/ガ/が, 之/ノ/の and ツ/ッ/つ/っ between kanji. Variant kanji are folded by
/// the comparison, only for the atoms whose keys differ: most comparisons never need the table.
pub(super) fn fold_variants(atoms: &mut [Atom]) {
    let kanji_at = |atoms: &[Atom], k: usize| atoms.get(k).and_then(Atom::ch).is_some_and(is_kanji);
    let mut prev = None;
    for k in 0..atoms.len() {
        if atoms[k].kind == Kind::Space {
            continue;
        }
        let (v, flag) = match atoms[k].ch() {
            Some('ケ' | 'ヶ' | 'ヵ' | 'ガ' | 'が') => ('ケ', KE),
            Some('ノ' | 'の' | '之') => ('ノ', NO),
            Some('ツ' | 'ッ' | 'つ' | 'っ') => ('ツ', TSU),
            _ => {
                prev = Some(k);
                continue;
            }
        };
        let between_kanji = prev.is_some_and(|p| kanji_at(atoms, p))
            && kanji_at(atoms, next_significant(atoms, k + 1));
        if between_kanji && atoms[k].nkey != v as u32 {
            atoms[k].vkey = v as u32;
            atoms[k].flags |= flag;
        }
        prev = Some(k);
    }
}

/// Sets the variant key of a 々 after a kanji to that kanji's: 代々木 and 代代木 are one name
/// written two ways. A 々 with no kanji before it keeps its own key.
pub(super) fn fold_iteration_marks(atoms: &mut [Atom]) {
    let mut prev: Option<usize> = None;
    for k in 0..atoms.len() {
        if atoms[k].kind == Kind::Space {
            continue;
        }
        if let (Some(c), Some(p)) = (atoms[k].ch(), prev) {
            let before = atoms[p].ch().filter(|&b| b != '々' && b != '〻');
            if matches!(c, '々' | '〻') && before.is_some_and(marks::is_ideograph) {
                atoms[k].vkey = atoms[p].vkey;
                atoms[k].flags |= ITERATION;
            }
        }
        prev = Some(k);
    }
}
