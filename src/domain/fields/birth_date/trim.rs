//! What forms write around a date that is not the date: a weekday in brackets, a midnight time.

/// `text` without a weekday in brackets at its end (`(火)`, `（火曜）`, `(火曜日)`), and the
/// weekday (0 for 日 … 6 for 土), or `None` when it has none.
pub(super) fn strip_weekday(text: &str) -> Option<(&str, u8)> {
    let trimmed = text.trim_end();
    let inner = trimmed
        .strip_suffix(')')
        .or_else(|| trimmed.strip_suffix('）'))?;
    let open = inner.rfind(['(', '（'])?;
    let (date, bracket) = inner.split_at(open);
    let name = bracket.trim_start_matches(['(', '（']);
    let name = name
        .strip_suffix("曜日")
        .or_else(|| name.strip_suffix('曜'))
        .unwrap_or(name);
    let mut chars = name.chars();
    let first = chars.next()?;
    let day = "日月火水木金土".chars().position(|w| w == first)?;
    (chars.next().is_none() && !date.trim().is_empty()).then(|| (date.trim_end(), day as u8))
}

/// `text` without a trailing midnight time (` 00:00`, ` 0:00:00`, `T00:00:00.000Z`, in either
/// width), or `None` when it has none.
pub(super) fn strip_midnight(text: &str) -> Option<&str> {
    let trimmed = text.trim_end();
    let cut = trimmed.rfind(|c: char| c.is_whitespace() || c == 'T')?;
    let (date, time) = trimmed.split_at(cut);
    let time: String = time
        .chars()
        .skip(1)
        .map(|c| match c {
            '０' => '0',
            '：' => ':',
            '．' => '.',
            other => other,
        })
        .collect();
    let time = time.strip_suffix('Z').unwrap_or(&time);
    let (clock, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let parts: Vec<&str> = clock.split(':').collect();
    let zero =
        |p: &str, max: usize| !p.is_empty() && p.len() <= max && p.bytes().all(|b| b == b'0');
    let midnight = matches!(parts.len(), 2 | 3)
        && zero(parts[0], 2)
        && parts[1..].iter().all(|p| p.len() == 2 && zero(p, 2))
        && (parts.len() == 3 || fraction == "0")
        && zero(fraction, 9);
    (midnight && !date.trim_end().is_empty()).then(|| date.trim_end())
}
