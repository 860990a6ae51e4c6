//! 統計: how the holds of a period ended, per what held them, and what that suggests — the
//! HoldStats use case as a page, for operators and auditors alike.
//!
//! Scoped exactly like the rpc: the clerk's insurers (one of them when the URL names it; one
//! the clerk does not serve is not found, as in the queue). The period is in the URL as JST
//! days (`from`, `to`, both included), so that a view can be shared as a link; without them,
//! the last 90 days. The page shows only classes, ids, counts and durations: HoldStats reads
//! no personal value, and the page adds none.

use std::{sync::Arc, time::SystemTime};

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use jiff::{ToSpan, civil::Date};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use crate::{
    chart,
    domain::{hold_cause::HoldCause, ids::InsurerNumber},
    verification::hold_stats::{
        DEFAULT_MIN_CLOSED, HeldBy, HoldStats, HoldStatsQuery, InsurerScope, Outcomes,
    },
    words::{self, Figure, Lang},
};

mod charts;

use super::{
    Console, errors,
    layout::{self, Signed},
};

/// Days shown when the URL names no period (today included).
const DEFAULT_DAYS: i32 = 90;
/// The most closed holds a suggestion may be asked to need.
const MAX_MIN_CLOSED: u32 = 1_000_000;

/// The page's parameters, as the URL carries them.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Params {
    /// 保険者番号; every insurer of the clerk when absent.
    insurer: Option<String>,
    /// The first day (JST), `YYYY-MM-DD`.
    from: Option<String>,
    /// The last day (JST), included.
    to: Option<String>,
    /// Closed holds a comparison needs before it is suggested.
    min: Option<String>,
}

/// A parameter the clerk has to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    /// `from` is not a date.
    From,
    /// `to` is not a date.
    To,
    /// `to` is before `from`.
    Order,
    /// `min` is not a whole number in range.
    Min,
}

impl Bad {
    /// The form field to fix.
    fn field(self) -> &'static str {
        match self {
            Bad::From => "from",
            Bad::To | Bad::Order => "to",
            Bad::Min => "min",
        }
    }

    /// What to do, naming the field.
    fn text(self, lang: Lang) -> &'static str {
        match self {
            Bad::From => lang.pick(
                "開始日が読めません。2026-09-01 のように 年-月-日 で入力してください。",
                "Start date: not a date. Write it as year-month-day, e.g. 2026-09-01.",
            ),
            Bad::To => lang.pick(
                "終了日が読めません。2026-12-01 のように 年-月-日 で入力してください。",
                "End date: not a date. Write it as year-month-day, e.g. 2026-12-01.",
            ),
            Bad::Order => lang.pick(
                "終了日を開始日と同じ日か、それより後にしてください。",
                "End date: make it the start date or later.",
            ),
            Bad::Min => lang.pick(
                "提案に必要な解決件数は 1 から 1000000 までの整数で入力してください。",
                "Closed holds for a suggestion: a whole number from 1 to 1000000.",
            ),
        }
    }
}

/// The period and threshold asked for, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Asked {
    from: Date,
    to: Date,
    min_closed: u32,
}

/// The URL's period (JST days) and threshold; every problem, so that all can be fixed at once.
fn parse(p: &Params, today: Date) -> (Asked, Vec<Bad>) {
    let mut bad = Vec::new();
    fn text(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    let default_from = today
        .checked_sub((DEFAULT_DAYS - 1).days())
        .unwrap_or(today);
    let mut date = |v: &Option<String>, default: Date, problem: Bad| match text(v) {
        None => default,
        // Years a log can hold: not before the epoch, and far from the calendar's end.
        Some(s) => match s.parse::<Date>() {
            Ok(d) if (1970..=2999).contains(&d.year()) => d,
            _ => {
                bad.push(problem);
                default
            }
        },
    };
    let from = date(&p.from, default_from, Bad::From);
    let to = date(&p.to, today, Bad::To);
    if to < from && bad.is_empty() {
        bad.push(Bad::Order);
    }
    let min_closed = match text(&p.min) {
        None => DEFAULT_MIN_CLOSED,
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=MAX_MIN_CLOSED).contains(&n) => n,
            _ => {
                bad.push(Bad::Min);
                DEFAULT_MIN_CLOSED
            }
        },
    };
    (
        Asked {
            from,
            to,
            min_closed,
        },
        bad,
    )
}

/// The start of `day` in JST.
fn start_of(day: Date) -> SystemTime {
    day.to_zoned_datetime(words::jst())
        .ok()
        .and_then(|z| SystemTime::try_from(z.timestamp()).ok())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// `GET /stats`.
pub(super) async fn page(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Query(params): Query<Params>,
) -> Response {
    let lang = signed.lang;
    let user = &signed.session.user;
    let chosen = params.insurer.clone().filter(|i| !i.is_empty());
    // Another insurer's statistics are answered like a queue that does not exist.
    if chosen.as_deref().is_some_and(|i| !user.serves(i)) {
        return errors::not_found_in(lang);
    }
    let insurers: Vec<InsurerNumber> = match &chosen {
        Some(i) => InsurerNumber::parse(i).into_iter().collect(),
        None => user
            .insurers
            .iter()
            .filter_map(|i| InsurerNumber::parse(i).ok())
            .collect(),
    };
    if insurers.is_empty() {
        return errors::not_found_in(lang);
    }
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(words::jst())
        .date();
    let (asked, bad) = parse(&params, today);
    let title = lang.pick("統計", "Statistics");
    if !bad.is_empty() {
        let body = html! {
            h1 { (title) }
            div.error role="alert" {
                p { (lang.pick("次の項目を直してください。", "Fix the following:")) }
                ul { @for b in &bad { li { (b.text(lang)) } } }
            }
            (form(lang, &params, &asked, &user.insurers, chosen.as_deref(), &bad))
        };
        return (
            StatusCode::BAD_REQUEST,
            layout::page(lang, title, Some(&signed), body),
        )
            .into_response();
    }
    let next_day = asked.to.checked_add(1.day()).unwrap_or(asked.to);
    let query = HoldStatsQuery {
        insurers: InsurerScope::Only(insurers.clone()),
        from: start_of(asked.from),
        to: start_of(next_day),
        min_closed: asked.min_closed,
    };
    let stats = match console
        .verifications
        .hold_stats(query, SystemTime::now())
        .await
    {
        Ok(s) => s,
        Err(e) => return errors::failure(lang, &e),
    };
    let scope: Vec<&str> = insurers.iter().map(InsurerNumber::as_str).collect();
    let body = html! {
        h1 { (title) " " small { (lang.pick("保留がどう終わったか", "how holds ended")) } }
        p.note {
            (words::date_jst(asked.from, lang)) " 〜 " (words::date_jst(asked.to, lang))
            (lang.pick("（日本時間）に保留になった案件。保険者: ", " (JST): cases held in this period. Insurers: "))
            (scope.join(", "))
            (lang.pick("。方針 ", ". Policy "))
            code { (stats.policy_version) }
            (lang.pick(" で判定した比較を数えています。", " judges which comparisons held them."))
        }
        (form(lang, &params, &asked, &user.insurers, chosen.as_deref(), &[]))
        (result(lang, &stats, scope.len() > 1))
        p.privacy {
            (lang.pick(
                "この画面は件数・区分・IDだけを表示します。氏名・生年月日・住所・個人番号・記号番号は表示しません。",
                "This page shows counts, classes and ids only: no name, birth date, address, number or subject id.",
            ))
        }
    };
    layout::page(lang, title, Some(&signed), body).into_response()
}

/// The filters: a GET form, so that the view is a link.
fn form(
    lang: Lang,
    p: &Params,
    asked: &Asked,
    insurers: &[String],
    chosen: Option<&str>,
    bad: &[Bad],
) -> Markup {
    // A value the clerk typed is given back as typed, so that it can be fixed.
    let typed = |v: &Option<String>, fallback: String| v.clone().unwrap_or(fallback);
    let invalid = |field: &str| bad.iter().any(|b| b.field() == field);
    let default_from = asked.from.to_string();
    html! {
        form.filters method="get" action="/stats" role="search" {
            @if insurers.len() > 1 {
                label for="s-insurer" { (lang.pick("保険者", "Insurer")) }
                select id="s-insurer" name="insurer" {
                    option value="" { (lang.pick("担当のすべて", "All mine")) }
                    @for i in insurers {
                        option value=(i) selected[chosen == Some(i.as_str())] { (i) }
                    }
                }
            }
            label for="s-from" { (lang.pick("開始日", "Start date")) }
            input id="s-from" type=(date_type(invalid("from"))) name="from"
                value=(typed(&p.from, default_from)) aria-invalid=[invalid("from").then_some("true")];
            label for="s-to" { (lang.pick("終了日（含む）", "End date (included)")) }
            input id="s-to" type=(date_type(invalid("to"))) name="to"
                value=(typed(&p.to, asked.to.to_string())) aria-invalid=[invalid("to").then_some("true")];
            label for="s-min" { (lang.pick("提案に必要な解決件数", "Closed holds for a suggestion")) }
            input.narrow id="s-min" type="number" name="min" min="1" max=(MAX_MIN_CLOSED)
                value=(typed(&p.min, asked.min_closed.to_string()))
                aria-invalid=[invalid("min").then_some("true")];
            button type="submit" { (lang.pick("表示する", "Show")) }
            a href="/stats" { (lang.pick("直近90日に戻す", "Last 90 days")) }
        }
    }
}

/// A date field's type: a date picker, or plain text while it holds what the clerk typed and
/// cannot be a date (a date picker would show it empty, hiding what to fix).
fn date_type(invalid: bool) -> &'static str {
    if invalid { "text" } else { "date" }
}

/// Everything below the filters.
fn result(lang: Lang, stats: &HoldStats, several_insurers: bool) -> Markup {
    let t = &stats.totals;
    if t.holds == 0 {
        return html! {
            p.empty { (lang.pick(
                "この期間に保留になった案件はありません。期間を広げてください。",
                "No case was held in this period: widen it.",
            )) }
        };
    }
    html! {
        @if t.closed() == 0 {
            p.empty { (lang.pick(
                "この期間の保留は、まだ1件も解決していません。結末・原因・解決までの時間・提案は、解決した保留から数えます。",
                "None of this period's holds is closed yet: endings, causes, times to resolve and suggestions count closed holds.",
            )) }
        }
        (tiles(lang, t))
        section {
            h2 { (lang.pick("結末", "How they ended")) }
            p.note { (lang.pick("保留件数に対する割合です。", "Shares of all holds.")) }
            (PreEscaped(charts::endings_chart(lang, t)))
        }
        @if t.closed() > 0 {
            section {
                h2 { (lang.pick("解決の原因（担当者の判断）", "Causes (the clerk's judgement)")) }
                p.note { (lang.pick("解決済の保留に対する割合です。", "Shares of closed holds.")) }
                (PreEscaped(charts::causes_chart(lang, t)))
            }
        }
        section {
            h2 { (lang.pick("何で保留になったか", "What held them")) }
            p.note { (lang.pick(
                "比較（段階・項目・判定）または保留理由ごとの件数です。複数の比較で保留になった案件は、それぞれに数えます。",
                "Holds per comparison (stage, field, class) or hold reason; a case held by several comparisons counts in each.",
            )) }
            (PreEscaped(charts::held_by_chart(lang, stats)))
        }
        (suggestions(lang, stats))
        (endings_table(lang, stats, several_insurers))
        @if t.closed() > 0 {
            (causes_table(lang, stats, several_insurers))
        }
    }
}

/// Per mille as a percentage with one decimal.
fn per_mille_text(n: u64) -> String {
    format!("{}.{}%", n / 10, n % 10)
}

/// A duration, or a dash when there is none (no closed hold).
fn took(d: Option<std::time::Duration>, lang: Lang) -> String {
    d.map_or_else(|| "—".to_owned(), |d| words::duration(d, lang))
}

/// The figures at the top.
fn tiles(lang: Lang, t: &Outcomes) -> Markup {
    let tile = |f: Figure, value: String| {
        html! {
            li data-figure=(f.id()) { span.n { (value) } " " (words::figure(f, lang)) }
        }
    };
    html! {
        ul.counts.tiles aria-label=(lang.pick("合計", "Totals")) {
            (tile(Figure::Holds, chart::thousands(t.holds)))
            (tile(Figure::Closed, chart::thousands(t.closed())))
            (tile(Figure::Open, chart::thousands(t.open)))
            (tile(Figure::OpenOverdue, chart::thousands(t.open_overdue)))
            (tile(Figure::SameNumberBack, chart::thousands(t.same_number_back)))
            (tile(Figure::OverdueShare, per_mille_text(t.overdue_per_mille())))
            (tile(Figure::ResolveMedian, took(t.resolve_median, lang)))
            (tile(Figure::ResolveP90, took(t.resolve_p90, lang)))
        }
    }
}

/// The suggestions, in words, with what only a person may do about them.
fn suggestions(lang: Lang, stats: &HoldStats) -> Markup {
    html! {
        section.suggestions {
            h2 { (lang.pick("提案（方針は自動では変わりません）", "Suggestions (the policy never changes by itself)")) }
            @if stats.suggestions.is_empty() {
                p { (match lang {
                    Lang::Ja => format!(
                        "提案はありません。同じ比較で解決済の保留が{}件以上あり、その95%以上が同じ人だったときに表示します。",
                        stats.min_closed
                    ),
                    Lang::En => format!(
                        "No suggestion: one is shown when at least {} closed holds of one comparison were the same person 95% of the time or more.",
                        stats.min_closed
                    ),
                }) }
            } @else {
                ul {
                    @for s in &stats.suggestions {
                        @let setting = s.policy_can.then_some(s.setting.as_str());
                        @let (evidence, change) = words::suggestion((s.stage, s.field, s.class), s.closed, s.same_person, setting, lang);
                        li {
                            p { (evidence) " " small.id { (s.stage.as_str()) " " (s.field.as_str()) " " (s.class.as_str()) } }
                            @if s.different_person > 0 {
                                p.note { (match lang {
                                    Lang::Ja => format!("別人だったもの（別の番号、または原因が別人）: {}件", s.different_person),
                                    Lang::En => format!("A different person (another number, or cause different person): {}", s.different_person),
                                }) }
                            }
                            @match setting {
                                Some(line) => p { (change.trim_end_matches(line)) code { (line) } },
                                None => p { (change) },
                            }
                        }
                    }
                }
                p.privacy { (words::by_hand(lang)) }
            }
        }
    }
}

/// The header cells of what held a row (and its insurer when the page has several).
fn key_headers(lang: Lang, several_insurers: bool) -> Markup {
    html! {
        @if several_insurers { th scope="col" { (lang.pick("保険者", "Insurer")) } }
        th scope="col" { (lang.pick("段階", "Stage")) }
        th scope="col" { (lang.pick("項目", "Field")) }
        th scope="col" { (lang.pick("判定", "Class")) }
        th scope="col" { (lang.pick("保留理由", "Hold reason")) }
        th scope="col" { (lang.pick("危険度", "Risk")) }
    }
}

/// The key cells of a row: words, with the id beneath.
fn key_cells(lang: Lang, insurer: Option<&str>, k: &HeldBy) -> Markup {
    let dash = || html! { span.none { "—" } };
    html! {
        @if let Some(i) = insurer { td { (i) } }
        td { @match k.stage { Some(s) => { (words::stage(s, lang)) br; small.id { (s.as_str()) } }, None => (dash()) } }
        td { @match k.field { Some(f) => { (words::field(f, lang)) br; small.id { (f.as_str()) } }, None => (dash()) } }
        td { @match k.class { Some(c) => { (words::class(c, lang)) br; small.id { (c.as_str()) } }, None => (dash()) } }
        td { (words::reason(k.reason, lang)) br; small.id { (k.reason.id()) } }
        td { @match k.risk { Some(r) => { (words::risk(r, lang)) br; small.id { (r.id()) } }, None => (dash()) } }
    }
}

/// The figures of the endings table, in its column order.
const ENDING_FIGURES: [Figure; 12] = [
    Figure::Holds,
    Figure::Open,
    Figure::OpenOverdue,
    Figure::Requeried,
    Figure::NumberFromPerson,
    Figure::Withdrawn,
    Figure::SameNumberBack,
    Figure::OtherNumberBack,
    Figure::OverdueAtClose,
    Figure::OverdueShare,
    Figure::ResolveMedian,
    Figure::ResolveP90,
];

fn ending_value(f: Figure, o: &Outcomes, lang: Lang) -> String {
    let n = match f {
        Figure::Holds => o.holds,
        Figure::Closed => o.closed(),
        Figure::Open => o.open,
        Figure::OpenOverdue => o.open_overdue,
        Figure::Requeried => o.requeried,
        Figure::NumberFromPerson => o.number_from_person,
        Figure::Withdrawn => o.withdrawn,
        Figure::SameNumberBack => o.same_number_back,
        Figure::OtherNumberBack => o.other_number_back,
        Figure::NoCause => o.no_cause,
        Figure::OverdueAtClose => o.overdue_at_close,
        Figure::OverdueShare => return per_mille_text(o.overdue_per_mille()),
        Figure::ResolveMedian => return took(o.resolve_median, lang),
        Figure::ResolveP90 => return took(o.resolve_p90, lang),
    };
    chart::thousands(n)
}

/// A table that may be wider than the page scrolls on its own, and can be scrolled by keyboard.
fn scroll(label: &str, table: Markup) -> Markup {
    html! { div.scroll tabindex="0" role="region" aria-label=(label) { (table) } }
}

/// Every row against how its holds ended, then the totals.
fn endings_table(lang: Lang, stats: &HoldStats, several: bool) -> Markup {
    let title = lang.pick(
        "保留の結末（比較・理由・危険度ごと）",
        "How holds ended, per row",
    );
    let span = if several { 6 } else { 5 };
    html! {
        h2 { (title) }
        (scroll(title, html! {
            table.stats.endings {
                thead { tr {
                    (key_headers(lang, several))
                    @for f in ENDING_FIGURES { th scope="col" data-figure=(f.id()) { (words::figure(f, lang)) } }
                } }
                tbody {
                    @for row in &stats.rows {
                        tr {
                            (key_cells(lang, several.then_some(row.insurer.as_str()), &row.held_by))
                            @for f in ENDING_FIGURES { td.n data-figure=(f.id()) { (ending_value(f, &row.outcomes, lang)) } }
                        }
                    }
                }
                tfoot { tr {
                    th scope="row" colspan=(span) { (lang.pick("合計（1件を1回）", "Total (each hold once)")) }
                    @for f in ENDING_FIGURES { td.n data-figure=(f.id()) { (ending_value(f, &stats.totals, lang)) } }
                } }
            }
        }))
    }
}

/// Every row against the clerks' causes of its closed holds, then the totals.
fn causes_table(lang: Lang, stats: &HoldStats, several: bool) -> Markup {
    let title = lang.pick("解決の原因（比較・理由・危険度ごと）", "Causes, per row");
    let span = if several { 6 } else { 5 };
    let cells = |o: &Outcomes| {
        html! {
            td.n data-figure=(Figure::Closed.id()) { (chart::thousands(o.closed())) }
            @for (c, n) in HoldCause::ALL.iter().zip(o.causes) { td.n data-cause=(c.id()) { (chart::thousands(n)) } }
            td.n data-figure=(Figure::NoCause.id()) { (chart::thousands(o.no_cause)) }
        }
    };
    html! {
        h2 { (title) }
        (scroll(title, html! {
            table.stats.causes {
                thead { tr {
                    (key_headers(lang, several))
                    th scope="col" { (words::figure(Figure::Closed, lang)) }
                    @for c in HoldCause::ALL { th scope="col" { (words::cause(c, lang)) } }
                    th scope="col" { (words::figure(Figure::NoCause, lang)) }
                } }
                tbody {
                    @for row in stats.rows.iter().filter(|r| r.outcomes.closed() > 0) {
                        tr {
                            (key_cells(lang, several.then_some(row.insurer.as_str()), &row.held_by))
                            (cells(&row.outcomes))
                        }
                    }
                }
                tfoot { tr {
                    th scope="row" colspan=(span) { (lang.pick("合計（1件を1回）", "Total (each hold once)")) }
                    (cells(&stats.totals))
                } }
            }
        }))
    }
}

#[cfg(test)]
mod tests;
