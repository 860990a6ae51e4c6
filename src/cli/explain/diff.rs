//! Which characters of two values differ: a character-level longest common subsequence, so
//! "鈴木 智子" against "鈴木 知子" marks only 智 and 知 and the clerk sees the difference
//! instead of hunting for it.

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

/// Both sides of `left` against `right`, each as runs of common and differing characters.
///
/// The common prefix and suffix are split off first (cheap, and most values differ in a
/// character or two); only the middle goes through the LCS table.
pub fn diff(left: &str, right: &str) -> (Vec<Segment>, Vec<Segment>) {
    let a: Vec<char> = left.chars().collect();
    let b: Vec<char> = right.chars().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let (mut a_common, mut b_common) = (vec![true; prefix], vec![true; prefix]);
    let (a_mid, b_mid) = common_in_middle(am, bm);
    a_common.extend(a_mid);
    b_common.extend(b_mid);
    a_common.extend(std::iter::repeat_n(true, suffix));
    b_common.extend(std::iter::repeat_n(true, suffix));
    (segments(&a, &a_common), segments(&b, &b_common))
}

/// For each character of `a` and of `b`, whether it belongs to one longest common
/// subsequence of the two.
fn common_in_middle(a: &[char], b: &[char]) -> (Vec<bool>, Vec<bool>) {
    let (n, m) = (a.len(), b.len());
    if n.saturating_mul(m) > MAX_CELLS {
        return (vec![false; n], vec![false; m]);
    }
    // lcs[i][j]: the LCS length of a[i..] and b[j..], in one flat table.
    let width = m + 1;
    let mut lcs = vec![0u32; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * width + j] = if a[i] == b[j] {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let (mut ac, mut bc) = (vec![false; n], vec![false; m]);
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i] == b[j] {
            ac[i] = true;
            bc[j] = true;
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * width + j] >= lcs[i * width + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    (ac, bc)
}

/// Groups characters into runs of equal `common` flags.
fn segments(chars: &[char], common: &[bool]) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for (&c, &same) in chars.iter().zip(common) {
        match out.last_mut() {
            Some(last) if last.differs != same => last.text.push(c),
            _ => out.push(Segment {
                text: c.to_string(),
                differs: !same,
            }),
        }
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

    fn marked(left: &str, right: &str) -> (String, String) {
        let (l, r) = diff(left, right);
        (mark(&l, false), mark(&r, false))
    }

    #[test]
    fn one_differing_kanji_is_marked_on_both_sides() {
        assert_eq!(
            marked("鈴木 智子", "鈴木 知子"),
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

    #[test]
    fn very_long_values_are_marked_whole_without_a_quadratic_table() {
        let a = "あ".repeat(2000) + "い";
        let b = "う".repeat(2000);
        let (l, r) = diff(&a, &b);
        assert_eq!((l.len(), r.len()), (1, 1));
        assert!(l[0].differs && r[0].differs);
    }
}
