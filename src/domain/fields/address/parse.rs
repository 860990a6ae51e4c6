//! Reading an address into atoms, once.
//!
//! One pass folds width, hyphen look-alikes and whitespace per character; a second reads numbers
//! and their units; a third finds the parts that the variant comparison may drop (prefecture,
//! 郡, 大字/字, building). Each atom keeps its byte range in the raw text and the rules that made
//! it, so that a comparison can tell which rules it needed without folding again: two aligned
//! atoms with the same key and the same raw text needed nothing, otherwise they needed what made
//! them.
//!
//! 漢数字 are read as numbers only where a number unit says they are one (`一丁目`, `五番地の三`,
//! `二-八-一`, `三条`), never inside a place name (三鷹市, 八王子市, 四日市市, 一番町, 九十九里町).

pub(super) use super::characters::is_space_like;
use super::characters::{NChar, normalize};
use super::parts::{fold_iteration_marks, fold_variants, mark_aza, structure};
use super::tokens::{SEEN_AZA, SEEN_GUN, SEEN_ITERATION, SEEN_KE_NO, Tokens};
use crate::domain::{Rule, text::kanji};

pub(super) use super::atoms::*;

/// Parses `raw` into `atoms` (cleared first) and finds its parts.
pub(super) fn parse(raw: &str, atoms: &mut Vec<Atom>) -> Structure {
    thread_local! {
        // Reused between parses: a verification parses a handful of addresses, and allocating
        // this buffer each time cost more than the parse itself.
        static SCRATCH: std::cell::RefCell<Vec<NChar>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut nc) => parse_with(raw, &mut nc, atoms),
        // Not reachable (parsing does not re-enter), but never worth a panic.
        Err(_) => parse_with(raw, &mut Vec::new(), atoms),
    })
}

pub(super) fn parse_with(raw: &str, nc: &mut Vec<NChar>, atoms: &mut Vec<Atom>) -> Structure {
    nc.clear();
    atoms.clear();
    let trailing_space = normalize(raw, nc);
    // At most one atom per character and one whitespace atom before each, plus a trailing one.
    atoms.reserve(2 * nc.len() + 1);
    let mut tokens = Tokens {
        nc,
        atoms,
        seen: 0,
        signature: 0,
    };
    tokens.run();
    let (seen, signature) = (tokens.seen, tokens.signature);
    if (trailing_space as usize) < raw.len() {
        atoms.push(Atom {
            nkey: EMPTY,
            vkey: EMPTY,
            start: trailing_space,
            end: raw.len() as u32,
            flags: SPACE,
            kind: Kind::Space,
            unit: UnitClass::Unstated,
        });
    }
    let (mut structure, town, block_start) = structure(atoms, raw, seen & SEEN_GUN != 0);
    structure.signature = signature;
    // Passes that only matter when their characters occur.
    if seen & SEEN_KE_NO != 0 {
        fold_variants(atoms);
    }
    if seen & SEEN_ITERATION != 0 {
        fold_iteration_marks(atoms);
    }
    if seen & SEEN_AZA != 0 {
        (
            structure.has_aza,
            structure.has_weak_aza,
            structure.has_inner_aza,
        ) = mark_aza(atoms, town, block_start);
    }
    structure
}

/// The flags of two different variant keys that fold to the same standard kanji, or `None`.
pub(super) fn kanji_variants(x: u32, y: u32) -> Option<u32> {
    let fold = |key: u32| {
        let c = char::from_u32(key)?;
        Some(match kanji::standard_form(c) {
            Some((s, Rule::KanjiVariantJis)) => (s, KANJI_JIS),
            Some((s, Rule::KanjiVariantJisRevision)) => (s, KANJI_JIS_REVISION),
            Some((s, _)) => (s, KANJI_MOJ),
            None => (c, 0),
        })
    };
    let ((sx, fx), (sy, fy)) = (fold(x)?, fold(y)?);
    (sx == sy).then_some(fx | fy)
}
