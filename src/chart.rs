//! Simple charts as inline SVG, drawn on the server: the bulk run's HTML report and the
//! console's 統計 page draw their bars with the same code, so that both read alike.
//!
//! An SVG here needs no script and no style of its own: positions and colours are
//! presentation attributes (`fill`, `x` …), which a Content-Security-Policy without
//! `'unsafe-inline'` allows, and the text's font and weight come from the page's stylesheet
//! through the classes `n` (a figure) and `id` (a stable id). Every chart has a `<title>`, its
//! accessible name, and every bar says in words what it counts, so a screen reader or a printed
//! page needs no colour to be read. Only counts, ids and words go in: never a person's value.

use std::fmt::Write as _;

/// `1,234,567`: a count as people read it.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut s = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            s.push(',');
        }
        s.push(c);
    }
    s
}

/// `93.0%` of `of`, or nothing when there is nothing to be a share of.
pub fn share(n: u64, of: u64) -> String {
    if of == 0 {
        String::new()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / of as f64)
    }
}

/// A figure with its share, `9,304 (93.0%)`: a count alone does not say whether it is much.
pub fn count_and_share(n: u64, of: u64) -> String {
    if of == 0 {
        return thousands(n);
    }
    format!("{} ({})", thousands(n), share(n, of))
}

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One bar: what it counts in words, the stable id beneath it, the count, its colour (a CSS
/// colour, written as the `fill` attribute).
#[derive(Debug, Clone, Copy)]
pub struct Bar<'a> {
    /// What the bar counts, in words.
    pub label: &'a str,
    /// The stable id a reader finds in the result file or the command's output.
    pub id: &'a str,
    /// The count.
    pub n: u64,
    /// The bar's colour.
    pub colour: &'a str,
}

/// A horizontal bar chart of labelled counts named `title`. Each bar is labelled in words with
/// its id beneath (so a reader can find the rows), and carries its count and its share of `of`.
pub fn bars(title: &str, rows: &[Bar<'_>], of: u64) -> String {
    let max = rows.iter().map(|r| r.n).max().unwrap_or(0).max(1);
    let (label_w, bar_w, row_h) = (330.0, 380.0, 36.0);
    let height = row_h * rows.len() as f64 + 4.0;
    let width = label_w + bar_w + 130.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\"><title>{}</title>",
        esc(title)
    );
    for (i, bar) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let w = bar_w * (bar.n as f64) / (max as f64);
        let _ = write!(
            s,
            "<text x=\"{lx}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <text x=\"{lx}\" y=\"{:.1}\" text-anchor=\"end\" class=\"id\">{}</text>\
             <rect x=\"{label_w}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"20\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"n\">{}</text>",
            y + 12.0,
            esc(bar.label),
            y + 26.0,
            esc(bar.id),
            y + 3.0,
            esc(bar.colour),
            label_w + w + 6.0,
            y + 18.0,
            count_and_share(bar.n, of),
            lx = label_w - 10.0,
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn a_chart_is_named_escapes_its_words_and_has_no_style_or_script() {
        let svg = bars(
            "結末 <all>",
            &[
                Bar {
                    label: "再照会済",
                    id: "requeried",
                    n: 3,
                    colour: "#2e8540",
                },
                Bar {
                    label: "a<b",
                    id: "x",
                    n: 1,
                    colour: "#000",
                },
            ],
            4,
        );
        assert!(svg.contains("role=\"img\"><title>結末 &lt;all&gt;</title>"));
        assert!(svg.contains(">再照会済</text>"));
        assert!(svg.contains(">3 (75.0%)</text>"));
        assert!(svg.contains(">a&lt;b</text>"));
        for forbidden in ["style", "<script", "href"] {
            assert!(!svg.contains(forbidden), "{forbidden}");
        }
    }
}
