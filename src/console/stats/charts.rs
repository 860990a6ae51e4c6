//! The 統計 page's three charts, drawn on the server as inline SVG by the bar chart the bulk
//! report also uses ([`crate::chart`]): how the holds ended, the clerks' causes, and what held
//! them.

use std::collections::BTreeMap;

use crate::{
    chart::{self, Bar},
    domain::{
        Field, MatchClass, Stage,
        gate::{HoldReason, Resolution},
        hold_cause::HoldCause,
    },
    verification::hold_stats::{HeldBy, HoldStats, Outcomes},
    words::{self, Figure, Lang},
};

/// Comparisons and reasons drawn in the chart of what held the cases.
const CHART_ROWS: usize = 12;

/// How the holds ended, as bars: each way of closing, and still open.
pub(super) fn endings_chart(lang: Lang, t: &Outcomes) -> String {
    let rows = [
        Bar {
            label: words::resolution(Resolution::Requeried, lang),
            id: Figure::Requeried.id(),
            n: t.requeried,
            colour: "#2e8540",
        },
        Bar {
            label: words::resolution(Resolution::NumberFromPerson, lang),
            id: Figure::NumberFromPerson.id(),
            n: t.number_from_person,
            colour: "#2a5d9f",
        },
        Bar {
            label: words::resolution(Resolution::Withdrawn, lang),
            id: Figure::Withdrawn.id(),
            n: t.withdrawn,
            colour: "#6b6b6b",
        },
        Bar {
            label: words::figure(Figure::Open, lang),
            id: Figure::Open.id(),
            n: t.open,
            colour: "#c46a00",
        },
        Bar {
            label: words::figure(Figure::SameNumberBack, lang),
            id: Figure::SameNumberBack.id(),
            n: t.same_number_back,
            colour: "#1b7a6e",
        },
        Bar {
            label: words::figure(Figure::OtherNumberBack, lang),
            id: Figure::OtherNumberBack.id(),
            n: t.other_number_back,
            colour: "#b00020",
        },
    ];
    chart::bars(lang.pick("結末", "How they ended"), &rows, t.holds)
}

/// The clerks' causes of the closed holds, as bars.
pub(super) fn causes_chart(lang: Lang, t: &Outcomes) -> String {
    let mut rows: Vec<Bar<'_>> = HoldCause::ALL
        .iter()
        .zip(t.causes)
        .map(|(c, n)| Bar {
            label: words::cause(*c, lang),
            id: c.id(),
            n,
            colour: "#6a51a3",
        })
        .collect();
    rows.push(Bar {
        label: words::figure(Figure::NoCause, lang),
        id: Figure::NoCause.id(),
        n: t.no_cause,
        colour: "#9e9e9e",
    });
    chart::bars(
        lang.pick("解決の原因", "Causes of closed holds"),
        &rows,
        t.closed(),
    )
}

/// What held a row, without insurer and risk: a comparison, or a reason without one.
type Held = (Option<(Stage, Field, MatchClass)>, HoldReason);

fn held_of(k: &HeldBy) -> Held {
    let comparison = match (k.stage, k.field, k.class) {
        (Some(s), Some(f), Some(c)) => Some((s, f, c)),
        _ => None,
    };
    (comparison, k.reason)
}

/// The words and id of what held a row.
fn held_words(h: &Held, lang: Lang) -> (String, String) {
    match h {
        (Some((s, f, c)), _) => (
            format!(
                "{} {} {}",
                words::stage(*s, lang),
                words::field(*f, lang),
                words::class(*c, lang)
            ),
            format!("{}/{}/{}", s.as_str(), f.as_str(), c.as_str()),
        ),
        (None, r) => (words::reason(*r, lang).to_owned(), r.id().to_owned()),
    }
}

/// The comparisons and reasons that held the most cases, as bars (all insurers and risk
/// classes of the query together).
pub(super) fn held_by_chart(lang: Lang, stats: &HoldStats) -> String {
    let mut counts: BTreeMap<Held, u64> = BTreeMap::new();
    for row in &stats.rows {
        *counts.entry(held_of(&row.held_by)).or_default() += row.outcomes.holds;
    }
    let mut counts: Vec<(Held, u64)> = counts.into_iter().collect();
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    counts.truncate(CHART_ROWS);
    let labels: Vec<(String, String, u64)> = counts
        .iter()
        .map(|(h, n)| {
            let (label, id) = held_words(h, lang);
            (label, id, *n)
        })
        .collect();
    let rows: Vec<Bar<'_>> = labels
        .iter()
        .map(|(label, id, n)| Bar {
            label,
            id,
            n: *n,
            colour: "#b54a4a",
        })
        .collect();
    chart::bars(
        lang.pick("何で保留になったか", "What held them"),
        &rows,
        stats.totals.holds,
    )
}
