//! The words of the hold statistics (HoldStats): what each figure counts, how long a
//! resolution took, and what a suggestion says — for the console's 統計 page, with the ids that
//! `holds stats` prints as its columns.

use std::time::Duration;

use crate::domain::{Field, MatchClass, Stage, gate::Resolution};

use super::{Lang, class, field, resolution, stage};

/// A figure of a statistics row; its [`id`](Figure::id) is the column of `holds stats --csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    /// Holds counted.
    Holds,
    /// Closed (re-queried, number from the person or withdrawn).
    Closed,
    /// Still open.
    Open,
    /// Still open and past the deadline.
    OpenOverdue,
    /// Resolved as re-queried.
    Requeried,
    /// Resolved with a number from the person.
    NumberFromPerson,
    /// Withdrawn.
    Withdrawn,
    /// The number that came back was a candidate's.
    SameNumberBack,
    /// … and it was none of them.
    OtherNumberBack,
    /// Closed without a cause.
    NoCause,
    /// Closed after the deadline.
    OverdueAtClose,
    /// (Overdue at close + open overdue) / holds.
    OverdueShare,
    /// Median time from decision to resolution.
    ResolveMedian,
    /// 90th percentile of it.
    ResolveP90,
}

impl Figure {
    /// Every figure, in the order the page shows them.
    pub const ALL: [Figure; 14] = [
        Figure::Holds,
        Figure::Closed,
        Figure::Open,
        Figure::OpenOverdue,
        Figure::Requeried,
        Figure::NumberFromPerson,
        Figure::Withdrawn,
        Figure::SameNumberBack,
        Figure::OtherNumberBack,
        Figure::NoCause,
        Figure::OverdueAtClose,
        Figure::OverdueShare,
        Figure::ResolveMedian,
        Figure::ResolveP90,
    ];

    /// The stable id (the CSV column of `holds stats`).
    pub const fn id(self) -> &'static str {
        match self {
            Figure::Holds => "holds",
            Figure::Closed => "closed",
            Figure::Open => "open",
            Figure::OpenOverdue => "open_overdue",
            Figure::Requeried => "requeried",
            Figure::NumberFromPerson => "number_from_person",
            Figure::Withdrawn => "withdrawn",
            Figure::SameNumberBack => "same_number_back",
            Figure::OtherNumberBack => "other_number_back",
            Figure::NoCause => "no_cause",
            Figure::OverdueAtClose => "overdue_at_close",
            Figure::OverdueShare => "overdue_share",
            Figure::ResolveMedian => "resolve_median_h",
            Figure::ResolveP90 => "resolve_p90_h",
        }
    }
}

/// A figure in words.
pub const fn figure(f: Figure, lang: Lang) -> &'static str {
    match f {
        Figure::Holds => lang.pick("保留件数", "Holds"),
        Figure::Closed => lang.pick("解決済", "Closed"),
        Figure::Open => lang.pick("未解決", "Still open"),
        Figure::OpenOverdue => lang.pick("未解決のうち期限超過", "Open and overdue"),
        Figure::Requeried => resolution(Resolution::Requeried, lang),
        Figure::NumberFromPerson => resolution(Resolution::NumberFromPerson, lang),
        Figure::Withdrawn => resolution(Resolution::Withdrawn, lang),
        Figure::SameNumberBack => lang.pick("同じ番号が戻った", "Same number back"),
        Figure::OtherNumberBack => lang.pick("別の番号が戻った", "Another number back"),
        Figure::NoCause => lang.pick("原因の記録なし", "No cause given"),
        Figure::OverdueAtClose => lang.pick("期限後に解決", "Closed after the deadline"),
        Figure::OverdueShare => lang.pick("期限超過の割合", "Overdue share"),
        Figure::ResolveMedian => lang.pick("解決までの時間（中央値）", "Time to resolve (median)"),
        Figure::ResolveP90 => lang.pick("解決までの時間（90%点）", "Time to resolve (90th pct.)"),
    }
}

/// A time to resolve: under a minute, minutes under an hour, hours under two days, else days, one decimal.
pub fn duration(d: Duration, lang: Lang) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        return lang.pick("1分未満", "under 1 min").to_owned();
    }
    let (n, ja, en) = if s < 3_600.0 {
        (s / 60.0, "分", " min")
    } else if s < 172_800.0 {
        (s / 3_600.0, "時間", " h")
    } else {
        (s / 86_400.0, "日", " days")
    };
    format!("{n:.1}{}", lang.pick(ja, en))
}

/// What a suggestion says: the comparison, the evidence, and what would have let them through.
/// `setting` is the policy line when a policy can pass the class (`None`: only a folding rule
/// of the field could).
pub fn suggestion(
    (s, f, c): (Stage, Field, MatchClass),
    closed: u64,
    same_person: u64,
    setting: Option<&str>,
    lang: Lang,
) -> (String, String) {
    let pct = if closed == 0 {
        0.0
    } else {
        100.0 * same_person as f64 / closed as f64
    };
    let evidence = match lang {
        Lang::Ja => format!(
            "{}の{}が「{}」で保留になり解決した{closed}件のうち{same_person}件（{pct:.1}%）は同じ人でした（同じ番号が戻った、または原因が表記ゆれ・異体字）。",
            stage(s, lang),
            field(f, lang),
            class(c, lang)
        ),
        Lang::En => format!(
            "{} held at {} as “{}”: {same_person} of {closed} closed holds ({pct:.1}%) were the same person (same number back, or cause notation or variant).",
            field(f, lang),
            stage(s, lang),
            class(c, lang)
        ),
    };
    let change = match (setting, lang) {
        (Some(line), Lang::Ja) => format!("これらを通した方針の設定: {line}"),
        (Some(line), Lang::En) => {
            format!("The policy setting that would have let them through: {line}")
        }
        (None, Lang::Ja) => format!(
            "方針の設定では通せません。通すには{}の読み替え規則（docs/rules.md）を見直す必要があります。",
            field(f, lang)
        ),
        (None, Lang::En) => format!(
            "No policy setting can pass this class: only a folding rule of {} (docs/rules.md) could.",
            field(f, lang)
        ),
    };
    (evidence, change)
}

/// What every list of suggestions says: nothing is applied.
pub const fn by_hand(lang: Lang) -> &'static str {
    lang.pick(
        "これは提案です。自動では何も変わりません。方針ファイルは担当者が手で変更し、新しい version を付けてください。各判定には、それを下した方針の版が監査ログに記録されています。",
        "These are suggestions: nothing changes by itself. The policy file changes only by hand, with a new version; the audit log records which policy version decided each case.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_figure_has_words_in_both_languages_and_a_distinct_id() {
        let mut ids = std::collections::HashSet::new();
        for f in Figure::ALL {
            assert_ne!(figure(f, Lang::Ja), figure(f, Lang::En));
            assert!(ids.insert(f.id()), "{}", f.id());
        }
    }

    #[test]
    fn durations_are_in_minutes_hours_or_days() {
        assert_eq!(duration(Duration::from_secs(59), Lang::Ja), "1分未満");
        assert_eq!(duration(Duration::from_secs(90), Lang::Ja), "1.5分");
        assert_eq!(duration(Duration::from_secs(5_400), Lang::En), "1.5 h");
        assert_eq!(duration(Duration::from_secs(3 * 86_400), Lang::Ja), "3.0日");
    }

    #[test]
    fn a_suggestion_names_the_comparison_the_evidence_and_the_setting() {
        let key = (
            Stage::QueryVsCandidate,
            Field::KanjiName,
            MatchClass::Variant,
        );
        let line = "[stages.query_vs_candidate] kanji_name = \"variant\"";
        let (evidence, change) = suggestion(key, 4, 4, Some(line), Lang::Ja);
        assert_eq!(
            evidence,
            "照会↔候補の漢字氏名が「異体字等」で保留になり解決した4件のうち4件（100.0%）は同じ人でした（同じ番号が戻った、または原因が表記ゆれ・異体字）。"
        );
        assert!(change.ends_with(line));
        let (_, change) = suggestion(key, 4, 4, None, Lang::En);
        assert!(change.contains("Name (kanji)"), "{change}");
    }
}
