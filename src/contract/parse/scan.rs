//! Counting a value's characters and finding control and bidirectional characters in it, eight
//! bytes at a time: every field of every request passes through here.

use crate::domain::text::chars;

/// The length of `value` in characters, and whether it holds a control character and a
/// bidirectional formatting character.
///
/// Every such character is encoded with a lead byte below 0x20, 0x7F (C0 and DEL), 0xC2 (C1),
/// 0xD8 (U+061C) or 0xE2 (U+200E–U+2069): a value without those bytes, as almost every name
/// and address is, is counted eight bytes at a time without decoding a character.
pub(super) fn scan(value: &str) -> (usize, bool, bool) {
    let bytes = value.as_bytes();
    let (mut continuations, mut suspect) = (0, false);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let w = u64::from_ne_bytes(word.try_into().expect("eight bytes"));
        continuations += swar::continuation_bytes(w);
        suspect |= swar::may_start_a_control(w);
    }
    for &b in words.remainder() {
        continuations += usize::from((b as i8) < -0x40);
        suspect |= b < 0x20 || matches!(b, 0x7F | 0xC2 | 0xD8 | 0xE2);
    }
    if !suspect {
        return (bytes.len() - continuations, false, false);
    }
    value
        .chars()
        .fold((0, false, false), |(n, control, bidi), c| {
            (
                n + 1,
                control || chars::is_control(c),
                bidi || chars::is_bidi_control(c),
            )
        })
}

/// Tests on eight bytes at once (the bit tricks of "Bit Twiddling Hacks"), exact for the word
/// as a whole.
mod swar {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;

    /// How many of the bytes are UTF-8 continuation bytes (`10xxxxxx`).
    pub(super) fn continuation_bytes(w: u64) -> usize {
        // Bit 7 set and bit 6 clear; the shift moves each byte's bit 6 onto its bit 7.
        // The flags moved to each byte's bit 0 and summed by one multiplication (no byte sum
        // exceeds 8, so nothing carries); `count_ones` is no faster without a POPCNT target.
        let flags = (w & !(w << 1) & HIGHS) >> 7;
        (flags.wrapping_mul(ONES) >> 56) as usize
    }

    /// Whether some byte is below 0x20 or is 0x7F, 0xC2, 0xD8 or 0xE2.
    pub(super) fn may_start_a_control(w: u64) -> bool {
        let below_0x20 = w.wrapping_sub(ONES * 0x20) & !w;
        let equal = |b: u64| {
            let x = w ^ (ONES * b);
            x.wrapping_sub(ONES) & !x
        };
        (below_0x20 | equal(0x7F) | equal(0xC2) | equal(0xD8) | equal(0xE2)) & HIGHS != 0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn scan_by_characters(value: &str) -> (usize, bool, bool) {
        (
            value.chars().count(),
            value.chars().any(chars::is_control),
            value.chars().any(chars::is_bidi_control),
        )
    }

    #[test]
    fn the_byte_scan_finds_every_control_and_bidirectional_character() {
        // Every offset in an eight-byte word, and across the boundary of two.
        for prefix in ["", "a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg"] {
            for c in (0..0x3000u32).filter_map(char::from_u32) {
                let value = format!("{prefix}山田{c}太郎");
                assert_eq!(
                    scan(&value),
                    scan_by_characters(&value),
                    "U+{:04X} after {prefix:?}",
                    c as u32
                );
            }
        }
    }

    proptest! {
        #[test]
        fn the_byte_scan_agrees_with_a_scan_by_characters(value in "\\PC{0,12}|.{0,12}|[\u{0}-\u{3000}]{0,12}") {
            prop_assert_eq!(scan(&value), scan_by_characters(&value));
        }
    }
}
