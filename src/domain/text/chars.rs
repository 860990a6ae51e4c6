//! Character classes shared by several fields: whitespace, separators, hyphen look-alikes,
//! substitute marks.

/// Whitespace of any kind, including U+3000 (ideographic space) and zero-width characters that
/// leak in from copy-and-paste.
pub fn is_space(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
        )
}

/// Separators written between family and given name: ・ ･ and their look-alikes, and the comma
/// and full stop of Latin names (`SMITH, JOHN`, `JOHN A. SMITH`), in either width. None of them
/// tells two people apart; the letters around them still must match.
pub fn is_name_separator(c: char) -> bool {
    matches!(
        c,
        '・' | '･' | '\u{00B7}' | '\u{2027}' | '\u{2219}' | '\u{22C5}' | ',' | '，' | '.' | '．'
    )
}

/// Hyphen, dash, minus and long-vowel look-alikes. Forms and registries use them
/// interchangeably for the katakana long vowel and for address number separators.
pub fn is_hyphen_like(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'
            | '\u{2011}'
            | '\u{2012}'
            | '\u{2013}'
            | '\u{2014}'
            | '\u{2015}'
            | '\u{2043}'
            | '\u{2212}'
            | '\u{02D7}'
            | '\u{2500}'
            | '\u{2501}'
            | '\u{FE58}'
            | '\u{FE63}'
            | '\u{FF0D}'
            | '\u{FF70}'
            | '\u{30FC}'
            | '\u{301C}'
            | '\u{FF5E}'
    )
}

/// A substitute mark standing for one character that the source system could not represent
/// (外字): ●, 〓, U+FFFD, or a private-use code point.
pub fn is_substitute(c: char) -> bool {
    matches!(c, '●' | '〓' | '\u{FFFD}')
        || ('\u{E000}'..='\u{F8FF}').contains(&c)
        || ('\u{F0000}'..='\u{FFFFD}').contains(&c)
        || ('\u{100000}'..='\u{10FFFD}').contains(&c)
}

/// An upper-case Latin letter (ASCII or Latin-1/Extended-A/B, as foreign residents' names use).
/// Checked by range first: asking Unicode tables about every kana and kanji is the single most
/// expensive thing a name fold would otherwise do.
pub fn is_latin_upper(c: char) -> bool {
    c.is_ascii_uppercase() || (('\u{00C0}'..'\u{0250}').contains(&c) && c.is_uppercase())
}

/// A control character (C0, C1, DEL) that is not whitespace. Such characters never belong in a
/// field; the service rejects them at the edge.
///
/// Tabs and line breaks (`\t`, `\n`, `\r`, U+0085) are whitespace, not control characters
/// here: multi-line cells come from forms keyed in spreadsheets and from CSV exports, and every
/// field folds whitespace away as notation. Rejecting them was rejected because it turned a
/// notation difference into bad input.
pub fn is_control(c: char) -> bool {
    c.is_control() && !c.is_whitespace()
}

/// A bidirectional formatting character: the embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069) and the directional marks (U+200E, U+200F, U+061C).
///
/// None of them occurs in real identity data (foreign residents' names reach the registry in
/// Latin letters or katakana, left to right), and they can make an operator's screen show a
/// value in an order other than the one that was compared (the "Trojan Source" trick). The
/// service refuses them at the edge, like control characters, instead of folding them away.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// A character that shows nothing or changes how its neighbours show, other than whitespace
/// and the bidirectional controls: zero-width spaces and joiners, the soft hyphen, the byte
/// order mark, tag characters, invisible fillers and variation selectors.
///
/// An id holding one looks the same as the id without it and compares different: `S10` and
/// `S10` + U+200B were two people to the store, so one person could get two numbers. Ids
/// refuse them at the edge rather than strip them, so that what a caller sent and what was
/// stored can never be two different strings that print alike. (Fields fold zero-width spaces
/// as whitespace: there, a value is compared, not used as a key.)
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'..='\u{2064}'
            | '\u{206A}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ideographic_space_is_space() {
        assert!(is_space('\u{3000}'));
        assert!(is_space(' '));
        assert!(!is_space('ー'));
    }

    #[test]
    fn private_use_and_geta_are_substitutes() {
        for c in ['●', '〓', '\u{FFFD}', '\u{E001}', '\u{F0000}'] {
            assert!(is_substitute(c));
        }
        assert!(!is_substitute('○'));
        assert!(!is_substitute('田'));
    }

    #[test]
    fn tabs_and_line_breaks_are_whitespace_not_control_characters() {
        for c in ['\t', '\n', '\r', '\u{0B}', '\u{0C}', '\u{85}'] {
            assert!(is_space(c), "{:04X}", c as u32);
            assert!(!is_control(c), "{:04X}", c as u32);
        }
        for c in ['\0', '\u{07}', '\u{1B}', '\u{7F}', '\u{9B}'] {
            assert!(is_control(c), "{:04X}", c as u32);
        }
    }

    #[test]
    fn bidi_controls_are_their_own_class() {
        for c in ['\u{202E}', '\u{2066}', '\u{2069}', '\u{200F}', '\u{061C}'] {
            assert!(is_bidi_control(c), "{:04X}", c as u32);
            assert!(!is_space(c), "{:04X}", c as u32);
        }
        for c in ['山', 'A', '\u{200B}', '\u{3099}', '\u{FE00}'] {
            assert!(!is_bidi_control(c), "{:04X}", c as u32);
        }
    }

    #[test]
    fn long_vowel_and_minus_are_hyphen_like() {
        for c in ['ー', 'ｰ', '－', '‐', '−', '―', '-'] {
            assert!(is_hyphen_like(c), "{:04X}", c as u32);
        }
    }
}
