//! Kana folding: script (hiragana → katakana, notation) and the lossy folds of legacy systems
//! (small → large, ヂ/ジ, ヅ/ズ, ヲ/オ, ヰ/イ, ヱ/エ, ヴ → バ行; variant).

use crate::domain::Rule;

/// Hiragana to katakana, or `None` when `c` is not hiragana.
pub fn hiragana_to_katakana(c: char) -> Option<char> {
    match c {
        // ぁ..ゖ and the iteration marks ゝ ゞ map 0x60 up.
        '\u{3041}'..='\u{3096}' | '\u{309D}' | '\u{309E}' => char::from_u32(c as u32 + 0x60),
        _ => None,
    }
}

/// The lossy fold of one katakana character and the rule it needs, or `None` when the
/// character has none. Applied only after [`hiragana_to_katakana`].
pub fn variant_fold(c: char) -> Option<(char, Rule)> {
    let small = |l| Some((l, Rule::KanaSmall));
    match c {
        'ァ' => small('ア'),
        'ィ' => small('イ'),
        'ゥ' => small('ウ'),
        'ェ' => small('エ'),
        'ォ' => small('オ'),
        'ッ' => small('ツ'),
        'ャ' => small('ヤ'),
        'ュ' => small('ユ'),
        'ョ' => small('ヨ'),
        'ヮ' => small('ワ'),
        'ヵ' => small('カ'),
        'ヶ' => small('ケ'),
        'ㇰ'..='ㇿ' => small(small_extension(c)),
        // Half-width small kana fold to half-width large ones, so that two half-width values
        // differ only in what the small-kana rule explains.
        'ｧ' => small('ｱ'),
        'ｨ' => small('ｲ'),
        'ｩ' => small('ｳ'),
        'ｪ' => small('ｴ'),
        'ｫ' => small('ｵ'),
        'ｯ' => small('ﾂ'),
        'ｬ' => small('ﾔ'),
        'ｭ' => small('ﾕ'),
        'ｮ' => small('ﾖ'),
        'ｦ' => Some(('ｵ', Rule::KanaObsolete)),
        'ヂ' => Some(('ジ', Rule::KanaJiZu)),
        'ヅ' => Some(('ズ', Rule::KanaJiZu)),
        'ヲ' => Some(('オ', Rule::KanaObsolete)),
        'ヰ' => Some(('イ', Rule::KanaObsolete)),
        'ヱ' => Some(('エ', Rule::KanaObsolete)),
        'ヴ' => Some(('ブ', Rule::KanaVu)),
        'ヷ' => Some(('バ', Rule::KanaVu)),
        'ヸ' => Some(('ビ', Rule::KanaVu)),
        'ヹ' => Some(('ベ', Rule::KanaVu)),
        'ヺ' => Some(('ボ', Rule::KanaVu)),
        _ => None,
    }
}

/// Large forms of the Ainu small katakana extension (U+31F0..U+31FF).
fn small_extension(c: char) -> char {
    const LARGE: [char; 16] = [
        'ク', 'シ', 'ス', 'ト', 'ヌ', 'ハ', 'ヒ', 'フ', 'ヘ', 'ホ', 'ム', 'ラ', 'リ', 'ル', 'レ',
        'ロ',
    ];
    LARGE[(c as u32 - 0x31F0) as usize]
}

/// Whether `c` is a katakana letter or the long-vowel mark.
pub fn is_katakana(c: char) -> bool {
    matches!(c, '\u{30A1}'..='\u{30FA}' | 'ー' | 'ヽ' | 'ヾ' | '\u{31F0}'..='\u{31FF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hiragana_maps_to_katakana() {
        let k: String = "やまだ たろう"
            .chars()
            .map(|c| hiragana_to_katakana(c).unwrap_or(c))
            .collect();
        assert_eq!(k, "ヤマダ タロウ");
    }

    #[test]
    fn small_kana_fold_to_large_as_legacy_systems_store_them() {
        let k: String = "ショウイチ"
            .chars()
            .map(|c| variant_fold(c).map_or(c, |(l, _)| l))
            .collect();
        assert_eq!(k, "シヨウイチ");
    }
}
