//! 保留一覧: the open holds of the clerk's insurer in triage order (overdue first, then risk
//! class, then oldest), filtered by what the URL says, so a filtered queue can be shared as a
//! link.

use std::{sync::Arc, time::SystemTime};

use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};
use serde::Deserialize;

use crate::{
    domain::{
        gate::HoldReason,
        ids::{InsurerNumber, OperatorId},
        risk::RiskClass,
    },
    verification::{
        VerificationError, VerificationRecord, holds::HoldCounts, holds_cursor::HoldsOrder,
        inputs::ListHolds, page_token::MAX_TOKEN_CHARS,
    },
    words::{self, Lang},
};

use super::{
    Console, errors,
    layout::{self, Signed, urlencode},
};

/// Holds per page.
pub(super) const PAGE_SIZE: usize = 50;

/// The queue's filters, as the URL carries them (stable ids).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Filters {
    /// 保険者番号; the clerk's first insurer when absent.
    pub(super) insurer: Option<String>,
    /// A risk class id (`birth_or_sex` …).
    pub(super) risk: Option<String>,
    /// A hold reason id (`field_differs` …).
    pub(super) reason: Option<String>,
    /// `1`: overdue only.
    pub(super) overdue: Option<String>,
    /// `me`: only the holds the signed-in clerk works; `none`: only holds nobody works.
    pub(super) assigned: Option<String>,
    /// The sealed token of the page after the previous one.
    pub(super) page: Option<String>,
}

/// `GET /`: the queue.
pub(super) async fn home() -> Redirect {
    Redirect::to("/holds")
}

fn seconds(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Seconds since the epoch of a stored time (for the pages and the countdown).
pub(super) fn epoch(t: SystemTime) -> i64 {
    seconds(t)
}

/// The filters of the URL, checked: unknown ids are refused rather than dropped, since
/// dropping the only one would turn a filter into "all".
fn parse(f: &Filters, insurer: InsurerNumber, user: &str) -> Result<ListHolds, &'static str> {
    let risk = match f.risk.as_deref().filter(|s| !s.is_empty()) {
        None => vec![],
        Some(id) => vec![
            RiskClass::ALL
                .into_iter()
                .find(|c| c.id() == id)
                .ok_or("risk")?,
        ],
    };
    let reasons = match f.reason.as_deref().filter(|s| !s.is_empty()) {
        None => vec![],
        Some(id) => vec![HoldReason::from_id(id).ok_or("reason")?],
    };
    // "Mine" is the name a claim on the case page records: the signed-in user's.
    let (assignee, unassigned_only) = match f.assigned.as_deref().unwrap_or_default() {
        "" => (None, false),
        "me" => (
            Some(OperatorId::parse(user).map_err(|_| "assigned")?),
            false,
        ),
        "none" => (None, true),
        _ => return Err("assigned"),
    };
    let page_token = f.page.clone().filter(|t| !t.is_empty());
    if page_token
        .as_deref()
        .is_some_and(|t| t.len() > MAX_TOKEN_CHARS || !t.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err("page");
    }
    Ok(ListHolds {
        insurer,
        page_size: PAGE_SIZE,
        page_token,
        reasons,
        risk_classes: risk,
        overdue_only: f.overdue.as_deref() == Some("1"),
        assignee,
        unassigned_only,
        order: HoldsOrder::Triage,
    })
}

/// `GET /holds`.
pub(super) async fn page(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Query(filters): Query<Filters>,
) -> Response {
    let lang = signed.lang;
    let user = &signed.session.user;
    let insurer = filters
        .insurer
        .clone()
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| user.insurers[0].clone());
    // Another insurer's queue is answered like one that does not exist.
    if !user.serves(&insurer) {
        return errors::not_found_in(lang);
    }
    let Ok(insurer_number) = InsurerNumber::parse(&insurer) else {
        return errors::not_found_in(lang);
    };
    let request = match parse(&filters, insurer_number, &user.name) {
        Ok(r) => r,
        Err(_) => return bad_filter(lang),
    };
    let listed = console.verifications.list_holds(request).await;
    let page = match listed {
        Ok(page) => page,
        Err(VerificationError::InvalidArgument(_)) => return bad_filter(lang),
        Err(e) => return errors::failure(lang, &e),
    };
    // Triage order comes with the counts.
    let counts = match page.counts.clone() {
        Some(c) => c,
        None => match console.verifications.hold_counts(&insurer).await {
            Ok(c) => c,
            Err(e) => return errors::failure(lang, &e),
        },
    };
    let now = seconds(SystemTime::now());
    let title = lang.pick("保留一覧", "Held cases");
    let body = html! {
        h1 { (title) " " small.id { (insurer) } }
        (summary(lang, &counts, &insurer))
        (filter_form(lang, &filters, &insurer, &user.insurers))
        @if page.holds.is_empty() {
            p.empty { (lang.pick("この条件の保留案件はありません。", "No held case matches.")) }
        } @else {
            table.queue {
                caption { (lang.pick(
                    "期限超過を先頭に、危険度の高い順、古い順に並んでいます。",
                    "Overdue first, then by risk, then oldest first.",
                )) }
                thead { tr {
                    th scope="col" { (lang.pick("期限", "Deadline")) }
                    th scope="col" { (lang.pick("危険度", "Risk")) }
                    th scope="col" { (lang.pick("保留理由", "Reasons")) }
                    th scope="col" { (lang.pick("記号番号", "Subject id")) }
                    th scope="col" { (lang.pick("判定日時", "Decided")) }
                    th scope="col" { (lang.pick("担当", "Assignee")) }
                    th scope="col" { (lang.pick("案件", "Case")) }
                } }
                tbody {
                    @for record in &page.holds {
                        (row(lang, record, &insurer, now))
                    }
                }
            }
        }
        nav.paging aria-label=(lang.pick("ページ", "Pages")) {
            @if filters.page.as_deref().is_some_and(|p| !p.is_empty()) {
                a href=(link(&filters, &insurer, None)) { (lang.pick("« 最初のページ", "« First page")) }
            }
            @if !page.next_page_token.is_empty() {
                a rel="next" accesskey="n" href=(link(&filters, &insurer, Some(&page.next_page_token))) {
                    (lang.pick("次のページ »", "Next page »"))
                }
            }
        }
    };
    layout::page(lang, title, Some(&signed), body).into_response()
}

fn bad_filter(lang: Lang) -> Response {
    errors::message(
        lang,
        axum::http::StatusCode::BAD_REQUEST,
        lang.pick("条件が読めません", "Unreadable filter"),
        lang.pick(
            "絞り込みの条件またはページの指定が正しくありません。保留一覧を開き直してください。",
            "A filter or the page link is not valid: open the queue again.",
        ),
    )
}

/// The counts at the top: open, overdue, and per risk class, each a link to that filter.
fn summary(lang: Lang, counts: &HoldCounts, insurer: &str) -> Markup {
    let base = format!("/holds?insurer={}", urlencode(insurer));
    html! {
        ul.counts aria-label=(lang.pick("件数", "Counts")) {
            li { a href=(base) { span.n { (counts.open) } (lang.pick("件 保留中", " open")) } }
            li.overdue[counts.overdue > 0] {
                a href={ (base) "&overdue=1" } { span.n { (counts.overdue) } (lang.pick("件 期限超過", " overdue")) }
            }
            @for (risk, n) in &counts.by_risk {
                li { a href={ (base) "&risk=" (risk.id()) } { span.n { (n) } (lang.pick("件 ", " ")) (words::risk(*risk, lang)) } }
            }
        }
    }
}

/// The URL of the queue with `filters` and `page`.
fn link(f: &Filters, insurer: &str, page: Option<&str>) -> String {
    let mut url = format!("/holds?insurer={}", urlencode(insurer));
    for (k, v) in [
        ("risk", &f.risk),
        ("reason", &f.reason),
        ("overdue", &f.overdue),
        ("assigned", &f.assigned),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            url.push_str(&format!("&{k}={}", urlencode(v)));
        }
    }
    if let Some(p) = page {
        url.push_str(&format!("&page={p}"));
    }
    url
}

/// The filters: a GET form, so the result is a link.
fn filter_form(lang: Lang, f: &Filters, insurer: &str, insurers: &[String]) -> Markup {
    let risk = f.risk.as_deref().unwrap_or_default();
    let reason = f.reason.as_deref().unwrap_or_default();
    let assigned = f.assigned.as_deref().unwrap_or_default();
    html! {
        form.filters method="get" action="/holds" role="search" {
            @if insurers.len() > 1 {
                label for="f-insurer" { (lang.pick("保険者", "Insurer")) }
                select id="f-insurer" name="insurer" {
                    @for i in insurers {
                        option value=(i) selected[i == insurer] { (i) }
                    }
                }
            } @else {
                input type="hidden" name="insurer" value=(insurer);
            }
            label for="f-risk" { (lang.pick("危険度", "Risk")) }
            select id="f-risk" name="risk" {
                option value="" { (lang.pick("すべて", "All")) }
                @for c in RiskClass::ALL {
                    option value=(c.id()) selected[c.id() == risk] { (words::risk(c, lang)) }
                }
            }
            label for="f-reason" { (lang.pick("保留理由", "Reason")) }
            select id="f-reason" name="reason" {
                option value="" { (lang.pick("すべて", "All")) }
                @for r in HoldReason::ALL {
                    option value=(r.id()) selected[r.id() == reason] { (words::reason(r, lang)) }
                }
            }
            label for="f-assigned" { (lang.pick("担当", "Assignee")) }
            select id="f-assigned" name="assigned" {
                option value="" { (lang.pick("すべて", "All")) }
                option value="me" selected[assigned == "me"] { (lang.pick("自分の担当", "Assigned to me")) }
                option value="none" selected[assigned == "none"] { (lang.pick("未割当", "Unassigned")) }
            }
            label.check for="f-overdue" {
                input id="f-overdue" type="checkbox" name="overdue" value="1"
                    checked[f.overdue.as_deref() == Some("1")];
                (lang.pick("期限超過のみ", "Overdue only"))
            }
            button type="submit" { (lang.pick("絞り込む", "Filter")) }
            a href={ "/holds?insurer=" (urlencode(insurer)) } { (lang.pick("条件を解除", "Clear")) }
        }
    }
}

/// One hold in the queue.
fn row(lang: Lang, record: &VerificationRecord, insurer: &str, now: i64) -> Markup {
    let d = &record.decided;
    let deadline = d.register_by.map(seconds);
    let overdue = deadline.is_some_and(|by| by < now);
    let href = format!(
        "/holds/{}/{}",
        urlencode(insurer),
        urlencode(&d.verification_id)
    );
    html! {
        tr.overdue[overdue] {
            td.deadline {
                @match deadline {
                    Some(by) => {
                        (words::deadline_jst(by, lang))
                        br;
                        span.left data-deadline=(by) data-lang=(lang.tag()) {
                            (words::deadline_note(by, now, lang))
                        }
                    },
                    None => (lang.pick("期限なし（受付日不明）", "none (receipt unknown)")),
                }
            }
            td {
                @match d.risk_class() {
                    Some(c) => { (words::risk(c, lang)) " " small.id { (c.id()) } },
                    None => "-",
                }
            }
            td {
                ul.reasons {
                    @for r in &d.hold_reasons {
                        li { (words::reason(*r, lang)) " " small.id { (r.id()) } }
                    }
                }
            }
            td.subject { (d.subject_id) }
            td.decided { (words::minutes_jst(seconds(d.occurred_at), lang)) }
            td.assignee {
                @match &record.assignee {
                    Some(a) => (a),
                    None => span.none { (lang.pick("未割当", "unassigned")) },
                }
            }
            td { a href=(href) { (lang.pick("開く", "Open")) span.vid { (d.verification_id) } } }
        }
    }
}
