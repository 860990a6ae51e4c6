//! Pass 2 of reading an address: numbers and their units.

use super::atoms::{
    Atom, CHO, CHOME, EMPTY, FORMAL_NUMERAL, Kind, NUM, NUMBERS, SELECTOR_SHIFT, SEP, SPACE,
    STREET_DIRECTION, TOWN_NUMBER, UnitClass,
};
use super::characters::{NChar, is_kanji, is_numeral, parse_kanji};
use crate::domain::text::numerals;

/// A unit after a number.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    Chome,
    Banchi,
    Ban,
    Go,
    /// 号室: a room, never a separator.
    Room,
    Hyphen,
    /// の/ノ/之: a separator only between two numbers.
    No,
}

pub(super) struct Tokens<'a> {
    pub(super) nc: &'a [NChar],
    pub(super) atoms: &'a mut Vec<Atom>,
    /// `SEEN_*` bits: which later passes have anything to do.
    pub(super) seen: u8,
    /// See [`Structure::signature`].
    pub(super) signature: u64,
}

/// ケ/ヶ/ガ/が, 之/ノ/の or ツ/ッ/つ/っ occurred.
pub(super) const SEEN_KE_NO: u8 = 1;
/// 字 occurred.
pub(super) const SEEN_AZA: u8 = 2;
/// 郡 occurred.
pub(super) const SEEN_GUN: u8 = 4;
/// 々 occurred.
pub(super) const SEEN_ITERATION: u8 = 8;

impl Tokens<'_> {
    pub(super) fn run(&mut self) {
        let n = self.nc.len();
        let (mut i, mut after_sep) = (0, false);
        while i < n {
            self.space_before(i);
            let c = self.nc[i].c;
            if c.is_ascii_digit() {
                let j = self.run_end(i, |c| c.is_ascii_digit());
                if self.push_digits(i, j) {
                    (i, after_sep) = self.after_number(j);
                } else {
                    (i, after_sep) = (j, false);
                }
            } else if is_numeral(c) {
                let j = self.run_end(i, is_numeral);
                if let Some(v) = self.kanji_number(i, j, after_sep) {
                    let flags = self.kanji_flags(i, j);
                    self.push(Kind::Num, NUM | v, i, j, flags);
                    (i, after_sep) = self.after_number(j);
                } else {
                    // The whole run is text: a place name such as 九十九里 keeps every numeral.
                    for k in i..j {
                        self.push_char(k);
                    }
                    (i, after_sep) = (j, false);
                }
            } else {
                self.push_char(i);
                (i, after_sep) = (i + 1, false);
            }
        }
    }

    /// The end of a run of characters matching `f` that starts at `i`. Whitespace ends a run:
    /// `1-2-3 405` is two numbers, not 3405.
    fn run_end(&self, i: usize, f: fn(char) -> bool) -> usize {
        let mut j = i + 1;
        while j < self.nc.len() && f(self.nc[j].c) && !self.nc[j].spaced() {
            j += 1;
        }
        j
    }

    fn space_before(&mut self, k: usize) {
        let x = &self.nc[k];
        if x.spaced() {
            self.atoms.push(Atom {
                nkey: EMPTY,
                vkey: EMPTY,
                start: x.space_start,
                end: x.start,
                flags: SPACE,
                kind: Kind::Space,
                unit: UnitClass::Unstated,
            });
        }
    }

    /// Pushes character `k` as a text atom.
    fn push_char(&mut self, k: usize) {
        let x = &self.nc[k];
        self.seen |= match x.c {
            'ケ' | 'ヶ' | 'ヵ' | 'ガ' | 'が' | 'ノ' | 'の' | '之' | 'ツ' | 'ッ' | 'つ' | 'っ' => {
                SEEN_KE_NO
            }
            '字' => SEEN_AZA,
            '郡' => SEEN_GUN,
            '々' | '〻' => SEEN_ITERATION,
            _ => 0,
        };
        let (mut vkey, mut flags) = (x.c as u32, x.flags);
        let mut nkey = vkey | x.selector << SELECTOR_SHIFT;
        // Only six kana can be the okurigana of a Kyoto street part (上る, 上がる, 西入ル, 通り): the
        // look-around is paid by them alone.
        let okurigana = match x.c {
            'る' | 'ル' | 'が' | 'ガ' => self.direction_okurigana(k),
            'り' | 'リ' if self.street_okurigana(k) => Some(EMPTY),
            _ => None,
        };
        if let Some(key) = okurigana {
            if key != nkey {
                flags |= STREET_DIRECTION;
            }
            (nkey, vkey) = (key, key);
        }
        if nkey != EMPTY {
            self.sign(nkey);
        }
        self.atoms.push(Atom {
            nkey,
            vkey,
            start: x.start,
            end: x.end,
            flags,
            kind: Kind::Text,
            unit: UnitClass::Unstated,
        });
    }

    /// The key of character `k` when it is the okurigana of a Kyoto street direction, or
    /// `None`. Kyoto's addresses say where a place lies from a crossing of two streets: `寺町通
    /// 御池上る` (north of it), `下る` (south), `西入` (west), `東入` (east), and forms write the
    /// okurigana three ways (`上る`, `上ル`, `上がる`; `西入`, `西入ル`, `西入る`). The direction
    /// itself stays in the key; only its okurigana is notation:
    ///
    /// - after 上 or 下, る/ル and がる/ガル are one key, ル (the が dropped). Never nothing: a bare
    ///   `上` may begin the town's name (`御池上本能寺前町` could be 御池 + 上本能寺前町), so
    ///   `上る` and `上` stay different;
    /// - after 西入 or 東入, ル/る are dropped: 入 needs no okurigana to be read, and no town name
    ///   begins with ル.
    ///
    /// Only inside one word (no whitespace in it), after a kanji (the crossing street, `御池`,
    /// `四条`) and before a kanji (the town, `上本能寺前町`, or `東側`).
    fn direction_okurigana(&self, k: usize) -> Option<u32> {
        let at = |m: usize| self.nc.get(m).map(|x| x.c);
        let before = |m: usize| m.checked_sub(1).and_then(at);
        let (head, last, key) = match self.nc[k].c {
            'る' | 'ル' => match (before(k)?, before(k - 1)) {
                ('上' | '下', _) => (k - 1, k, 'ル' as u32),
                ('が' | 'ガ', Some('上' | '下')) => (k - 2, k, 'ル' as u32),
                ('入', Some('西' | '東')) => (k - 2, k, EMPTY),
                _ => return None,
            },
            // が/ガ of 上がる/下がる: dropped, the る after it carries the key.
            _ if matches!(before(k), Some('上' | '下'))
                && matches!(at(k + 1), Some('る' | 'ル')) =>
            {
                (k - 1, k + 1, EMPTY)
            }
            _ => return None,
        };
        let one_word = self.nc[head + 1..=last].iter().all(|x| !x.spaced());
        let street = before(head).is_some_and(is_kanji);
        let town = at(last + 1).is_some_and(is_kanji);
        (one_word && street && town).then_some(key)
    }

    /// Whether character `k` is the り of a street name written `通り` in a Kyoto street part
    /// (`寺町通り御池上ル`): after 通 and a kanji before it, before the crossing street, which the
    /// direction follows within a few characters. Only there: 通 also ends town names elsewhere
    /// (新潟市 本町通, 旭川市 4条通), where a り is not known to be okurigana.
    fn street_okurigana(&self, k: usize) -> bool {
        let at = |m: usize| self.nc.get(m).map(|x| x.c);
        let joined = |m: usize| self.nc.get(m).is_some_and(|x| !x.spaced());
        if k < 2 || at(k - 1) != Some('通') || !joined(k) || !at(k - 2).is_some_and(is_kanji) {
            return false;
        }
        // The crossing street (kanji, or digits of 7条), then the direction.
        let mut m = k + 1;
        while m < self.nc.len() && m <= k + 9 && joined(m) {
            let direction = matches!(
                (at(m), at(m + 1)),
                (Some('上' | '下'), Some('る' | 'ル' | 'が' | 'ガ'))
                    | (Some('西' | '東'), Some('入'))
            );
            if direction {
                return m > k + 1;
            }
            if !at(m).is_some_and(|c| is_kanji(c) || c.is_ascii_digit()) {
                return false;
            }
            m += 1;
        }
        false
    }

    /// Adds a notation key to the signature (FxHash's step).
    fn sign(&mut self, key: u32) {
        self.signature = (self.signature.rotate_left(5) ^ u64::from(key))
            .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    /// Pushes one atom made of characters `from..to`.
    fn push(&mut self, kind: Kind, key: u32, from: usize, to: usize, mut flags: u32) {
        for (m, x) in self.nc[from..to].iter().enumerate() {
            flags |= x.flags;
            if m > 0 && x.spaced() {
                flags |= SPACE;
            }
        }
        if key != EMPTY {
            self.sign(key);
        }
        self.atoms.push(Atom {
            nkey: key,
            vkey: key,
            start: self.nc[from].start,
            end: self.nc[to - 1].end,
            flags,
            kind,
            unit: UnitClass::Unstated,
        });
    }

    /// Pushes the digits `i..j` as a number; longer than nine significant digits they stay text
    /// (no address number is that long, and no two long numbers may collapse into one value).
    fn push_digits(&mut self, i: usize, j: usize) -> bool {
        let digits = &self.nc[i..j];
        let zeros = digits.iter().take_while(|x| x.c == '0').count();
        if digits.len() - zeros > 9 {
            for k in i..j {
                self.push_char(k);
            }
            return false;
        }
        let v = digits
            .iter()
            .fold(0u32, |v, x| v * 10 + (x.c as u32 - '0' as u32));
        let leading_zero = if zeros > 0 && digits.len() > 1 {
            NUMBERS
        } else {
            0
        };
        self.push(Kind::Num, NUM | v, i, j, leading_zero);
        true
    }

    /// The value of the 漢数字 `i..j` when the context makes them a number.
    fn kanji_number(&self, i: usize, j: usize, after_sep: bool) -> Option<u32> {
        let v = parse_kanji(&self.nc[i..j])?;
        let is_number = if j == self.nc.len() {
            after_sep
        } else {
            match self.unit_at(j) {
                Some((Unit::Hyphen, _)) => after_sep || self.number_char_at(j + 1),
                Some((Unit::No, _)) => {
                    (after_sep && self.number_char_at(j + 1)) || self.name_unit_at(j) != 0
                }
                Some(_) => true,
                None => {
                    self.place_unit_at(j)
                        || self.name_unit_at(j) != 0
                        || (after_sep && (self.nc[j].spaced() || !is_kanji(self.nc[j].c)))
                }
            }
        };
        is_number.then_some(v)
    }

    fn number_char_at(&self, k: usize) -> bool {
        self.nc
            .get(k)
            .is_some_and(|x| x.c.is_ascii_digit() || is_numeral(x.c))
    }

    /// Whether a number starts at `k`, right after a unit.
    fn number_starts(&self, k: usize) -> bool {
        match self.nc.get(k) {
            Some(x) if x.c.is_ascii_digit() => true,
            Some(x) if is_numeral(x.c) => self
                .kanji_number(k, self.run_end(k, is_numeral), true)
                .is_some(),
            _ => false,
        }
    }

    /// Whether a number starting at `k` is followed by a unit of the address block (丁目, 番地,
    /// 番, 号, but not 号室): `2号` after `1番 ` continues the block, `405` or `2号室` is a room.
    fn block_number_at(&self, k: usize) -> bool {
        let Some(x) = self.nc.get(k) else {
            return false;
        };
        let end = if x.c.is_ascii_digit() {
            self.run_end(k, |c| c.is_ascii_digit())
        } else if is_numeral(x.c) {
            self.run_end(k, is_numeral)
        } else {
            return false;
        };
        end < self.nc.len()
            && !self.nc[end].spaced()
            && matches!(
                self.unit_at(end),
                Some((Unit::Chome | Unit::Banchi | Unit::Ban | Unit::Go, _))
            )
    }

    /// A unit that can follow a number, and where it ends.
    fn unit_at(&self, k: usize) -> Option<(Unit, usize)> {
        let next = self.nc.get(k + 1).map(|x| x.c);
        Some(match self.nc[k].c {
            '丁' if next == Some('目') => (Unit::Chome, k + 2),
            '番' if next == Some('地') => (Unit::Banchi, k + 2),
            // 一番町, 番丁, 一番館: part of a name.
            '番' if !matches!(next, Some('町' | '丁' | '館' | '組' | '線' | '目')) => {
                (Unit::Ban, k + 1)
            }
            '号' if next == Some('室') => (Unit::Room, k + 2),
            // 号棟, 号館, 号線: part of a name.
            '号' if !matches!(next, Some('棟' | '館' | '線' | '車' | '機' | '地')) => {
                (Unit::Go, k + 1)
            }
            '-' => (Unit::Hyphen, k + 1),
            'の' | 'ノ' | '之' => (Unit::No, k + 1),
            _ => return None,
        })
    }

    /// The rules that made the 漢数字 `i..j` a number: [`NUMBERS`], or the rule of the name
    /// unit after them ([`Tokens::name_unit_at`]); and [`FORMAL_NUMERAL`] when a formal numeral
    /// (壱 弐 参 拾) is among them.
    fn kanji_flags(&self, i: usize, j: usize) -> u32 {
        // Only where no number unit follows (or の, which a name unit may begin: 一ノ町).
        let no_unit = j < self.nc.len() && self.unit_at(j).is_none_or(|(u, _)| u == Unit::No);
        let name_unit = if no_unit { self.name_unit_at(j) } else { 0 };
        let base = if name_unit != 0 { name_unit } else { NUMBERS };
        let formal = self.nc[i..j].iter().any(|x| numerals::is_formal(x.c));
        base | if formal { FORMAL_NUMERAL } else { 0 }
    }

    /// A unit of a place name that makes the numeral before it a number, and the rule that then
    /// reads it, or 0:
    ///
    /// - 丁 without 目, as 堺市 names its areas (`南花田口町二丁` = `南花田口町2丁`): [`CHO`]. It
    ///   stays text, so `2丁` and `2丁目` still differ.
    /// - 番丁 and 番町, and の/ノ/之 before 町, that end a town's name (`和歌山市十二番丁`,
    ///   `十一番町`, `一ノ町`): [`TOWN_NUMBER`]. The number is the town's, not a lot: `十二番丁` and
    ///   `十一番丁` are two towns and differ.
    ///
    /// Only the numeral before such a unit: a numeral elsewhere in a name (九十九里, 八王子) stays
    /// text.
    fn name_unit_at(&self, k: usize) -> u32 {
        let at = |m: usize| self.nc.get(m).filter(|x| !x.spaced()).map(|x| x.c);
        match (at(k), at(k + 1)) {
            (Some('丁'), next) if next != Some('目') => CHO,
            (Some('番'), Some('丁' | '町')) => TOWN_NUMBER,
            (Some('の' | 'ノ' | '之'), Some('町')) => TOWN_NUMBER,
            _ => 0,
        }
    }

    /// 条, 線, 地割: units that stay in the text but make the numeral before them a number
    /// (北三条 = 北3条, 第二地割 = 第2地割).
    fn place_unit_at(&self, k: usize) -> bool {
        match self.nc[k].c {
            // 條 is the old form of 条 (北一條 as older registers write it).
            '条' | '條' | '線' => true,
            '地' => self.nc.get(k + 1).is_some_and(|x| x.c == '割'),
            _ => false,
        }
    }

    /// After a number ending at `j`: pushes a separator, a trailing unit or nothing. Returns where
    /// to go on and whether a separator was pushed.
    fn after_number(&mut self, j: usize) -> (usize, bool) {
        let Some((unit, unit_end)) = self.nc.get(j).and_then(|_| self.unit_at(j)) else {
            return (j, false);
        };
        let class = match unit {
            Unit::Chome => UnitClass::Chome,
            Unit::Banchi | Unit::Ban => UnitClass::Lot,
            Unit::Go | Unit::Room => UnitClass::Go,
            Unit::No => UnitClass::No,
            Unit::Hyphen => UnitClass::Unstated,
        };
        // Only when the unit is taken as this number's (`1の宮` is a place name, not 1番地の).
        let number = self.atoms.len() - 1;
        debug_assert_eq!(self.atoms[number].kind, Kind::Num);
        let mut end = unit_end;
        // 番地の3, 丁目-2: a joiner after a unit belongs to the separator.
        if matches!(unit, Unit::Chome | Unit::Banchi | Unit::Ban | Unit::Go)
            && self
                .nc
                .get(end)
                .is_some_and(|x| matches!(x.c, 'の' | 'ノ' | '之' | '-'))
            && self.number_starts(end + 1)
        {
            end += 1;
        }
        // A unit that can end an address (番地, 番, 号) followed by whitespace ends it: the number
        // after the whitespace is a room (`1-2-3号 405`, `5番地の3 101`), as a room after a plain
        // number block is. Only 丁目 and joiners (`-`, の) reach across whitespace (`2丁目 8-1`).
        // Not when that number carries a unit of the block itself (`1番 2号`: whitespace between
        // the blocks of one address), nor when the block so far is a single number: `13番地 2`
        // is more likely 13番地の2 keyed with a space than room 2, and taken as a room it would
        // let `13番地` match as a variant, where taken as a branch number the difference holds.
        let can_end = matches!(unit, Unit::Banchi | Unit::Ban | Unit::Go) && end == unit_end;
        let structured = self.atoms[..number]
            .iter()
            .rev()
            .find(|a| a.kind != Kind::Space)
            .is_some_and(|a| a.kind == Kind::Sep);
        let room_follows = can_end
            && structured
            && self.nc.get(end).is_some_and(NChar::spaced)
            && !self.block_number_at(end);
        if unit != Unit::Room && !room_follows && self.number_starts(end) {
            self.atoms[number].unit = class;
            self.space_before(j);
            let flags = if unit == Unit::Hyphen { 0 } else { NUMBERS };
            self.push(Kind::Sep, SEP, j, end, flags);
            return (end, true);
        }
        if unit != Unit::No {
            self.atoms[number].unit = class;
        }
        match unit {
            Unit::No => (j, false),
            Unit::Chome => {
                self.space_before(j);
                self.push(Kind::Chome, CHOME, j, unit_end, 0);
                (unit_end, false)
            }
            _ => {
                self.space_before(j);
                self.push(Kind::Trailing, EMPTY, j, unit_end, NUMBERS);
                (unit_end, false)
            }
        }
    }
}
