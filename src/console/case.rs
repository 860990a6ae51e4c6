//! 案件: one held case — its header, the stage × field grid of comparisons, the hold reasons
//! with the clerk's next step, and (for an operator, while it is open) the resolution form,
//! which goes through the same use case and the same validation as ResolveHold.

use std::{sync::Arc, time::SystemTime};

use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};
use serde::Deserialize;

use crate::{
    contract::{parse, pb},
    domain::{
        Field, MatchClass, Stage, gate::Resolution, hold_cause::HoldCause,
        violation::FieldViolation,
    },
    verification::{
        State as RecordState, VerificationError, VerificationRecord, history::CaseHistory,
    },
    words::{self, Lang},
};

mod assign;
mod history;

pub(super) use assign::assign;
use assign::assign_form;

use super::{
    Console, Peer, errors,
    layout::{self, Signed, urlencode},
    queue::epoch,
};

/// A form that carries nothing but the session's CSRF token (sign-out).
#[derive(Deserialize)]
pub(super) struct CsrfOnly {
    /// The session's CSRF token.
    pub(super) csrf: String,
}

/// The resolution form.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ResolveForm {
    /// The session's CSRF token.
    #[serde(default)]
    csrf: String,
    /// `requeried`, `number_from_person` or `withdrawn`.
    #[serde(default)]
    resolution: String,
    /// For `requeried`: the verification that replaces the held one.
    #[serde(default)]
    replaced_by: String,
    /// The clerk's cause (a `HoldCause` id), or empty for none.
    #[serde(default)]
    cause: String,
    /// The clerk's note.
    #[serde(default)]
    note: String,
    /// The confirmation box.
    #[serde(default)]
    confirm: Option<String>,
}

/// `?done=1` after a resolution.
#[derive(Deserialize)]
pub(super) struct Done {
    /// Set after the redirect of a successful resolution.
    done: Option<String>,
}

/// What went wrong with a resolution, shown above the form.
enum Problems {
    /// Field by field, from the same validation as ResolveHold: the field, what to fix, and
    /// the contract's own words (shown small, to quote to an administrator).
    Fields(Vec<(String, String, String)>),
    /// One sentence.
    Refused(String),
}

/// `GET /holds/{insurer}/{id}`.
pub(super) async fn page(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Path((insurer, id)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Response {
    let lang = signed.lang;
    if !signed.session.user.serves(&insurer) {
        return errors::not_found_in(lang);
    }
    match console.verifications.get(&insurer, &id).await {
        Ok(record) => {
            let notice = done
                .done
                .is_some()
                .then(|| lang.pick("解決を記録しました。", "The resolution was recorded."));
            let form = ResolveForm::default();
            match show(&console, &signed, &record, notice, None, &form).await {
                Ok(page) => page.into_response(),
                Err(failed) => failed,
            }
        }
        Err(VerificationError::InvalidArgument(_)) => errors::not_found_in(lang),
        Err(e) => errors::failure(lang, &e),
    }
}

/// The case page of `record` with its subject's history, read for it (one statement).
async fn show(
    console: &Console,
    signed: &Signed,
    record: &VerificationRecord,
    notice: Option<&str>,
    problems: Option<Problems>,
    form: &ResolveForm,
) -> Result<Markup, Response> {
    let lang = signed.lang;
    let case = console
        .verifications
        .case_history(&record.decided)
        .await
        .map_err(|e| errors::failure(lang, &e))?;
    Ok(render(lang, signed, record, &case, notice, problems, form))
}

/// The case page again, with `status` (a form to fix, a refusal).
async fn again(
    console: &Console,
    signed: &Signed,
    record: &VerificationRecord,
    status: StatusCode,
    problems: Problems,
    form: &ResolveForm,
) -> Response {
    match show(console, signed, record, None, Some(problems), form).await {
        Ok(page) => (status, page).into_response(),
        Err(failed) => failed,
    }
}

/// The refusal of an action, if any. What every action of a case checks first, in this order: the form came from this session
/// (its CSRF token), the case is of an insurer the clerk serves (else it does not exist for
/// them), and the clerk is an operator (else the refusal is counted under `rpc`, as gRPC does).
fn action_refused(
    console: &Console,
    peer: std::net::SocketAddr,
    signed: &Signed,
    insurer: &str,
    csrf: &str,
    rpc: &'static str,
) -> Option<Response> {
    let (lang, user) = (signed.lang, &signed.session.user);
    if !signed.session.csrf_matches(csrf) {
        return Some(errors::csrf_refused(lang));
    }
    if !user.serves(insurer) {
        return Some(errors::not_found_in(lang));
    }
    if !user.operator {
        console
            .refusals
            .count(peer.ip(), &user.name, rpc, "ROLE_NOT_GRANTED");
        return Some(errors::not_granted(lang));
    }
    None
}

/// `POST /holds/{insurer}/{id}/resolve`.
pub(super) async fn resolve(
    State(console): State<Arc<Console>>,
    axum::Extension(Peer(peer)): axum::Extension<Peer>,
    signed: Signed,
    Path((insurer, id)): Path<(String, String)>,
    Form(form): Form<ResolveForm>,
) -> Response {
    let lang = signed.lang;
    let user = &signed.session.user;
    if let Some(refused) =
        action_refused(&console, peer, &signed, &insurer, &form.csrf, "ResolveHold")
    {
        return refused;
    }
    let record = match console.verifications.get(&insurer, &id).await {
        Ok(r) => r,
        Err(e) => return errors::failure(lang, &e),
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    if form.confirm.as_deref() != Some("1") {
        let problems = Problems::Fields(vec![(
            lang.pick("確認", "Confirmation").to_owned(),
            lang.pick(
                "内容を確かめたら「記録する内容を確認しました」にチェックしてください。",
                "Tick the confirmation box once you have checked what will be recorded.",
            )
            .to_owned(),
            String::new(),
        )]);
        return again(&console, &signed, &record, unprocessable, problems, &form).await;
    }
    let resolution = Resolution::from_id(&form.resolution).map(pb::Resolution::from);
    let request = pb::ResolveHoldRequest {
        verification_id: id.clone(),
        insurer_number: insurer.clone(),
        resolution: resolution.map_or(0, |r| r as i32),
        operator_id: user.name.clone(),
        note: form.note.clone(),
        replaced_by_verification_id: form.replaced_by.trim().to_owned(),
        // None is 0 (UNSPECIFIED); an id this release does not know is refused by the parse,
        // which names `cause`, rather than recorded as none.
        cause: match form.cause.as_str() {
            "" => 0,
            id => HoldCause::from_id(id).map_or(-1, |c| pb::HoldCause::from(c) as i32),
        },
    };
    let parsed = match parse::parse_resolve_hold(&request) {
        Ok(p) => p,
        Err(violations) => {
            let problems = Problems::Fields(in_words(&violations, lang));
            return again(&console, &signed, &record, unprocessable, problems, &form).await;
        }
    };
    match console.verifications.resolve_hold(parsed, &user.name).await {
        Ok(_) => Redirect::to(&format!(
            "/holds/{}/{}?done=1",
            urlencode(&insurer),
            urlencode(&id)
        ))
        .into_response(),
        Err(VerificationError::Refused { reason, .. }) => {
            // The record again: closed by someone else meanwhile shows as closed.
            let record = console
                .verifications
                .get(&insurer, &id)
                .await
                .unwrap_or(record);
            let problems = Problems::Refused(refusal(reason, lang).to_owned());
            again(
                &console,
                &signed,
                &record,
                StatusCode::CONFLICT,
                problems,
                &form,
            )
            .await
        }
        Err(VerificationError::InvalidArgument(violations)) => {
            let problems = Problems::Fields(in_words(&violations, lang));
            again(&console, &signed, &record, unprocessable, problems, &form).await
        }
        Err(e) => errors::failure(lang, &e),
    }
}

/// A refusal of ResolveHold, in words that say what to do.
fn refusal(reason: &str, lang: Lang) -> &'static str {
    match reason {
        "HOLD_NOT_OPEN" => lang.pick(
            "この案件は他の担当者がすでに解決しています。二重に記録はしていません。",
            "Someone else already resolved this case; nothing more was recorded.",
        ),
        "NOT_HELD" => lang.pick("この案件は保留ではありません。", "This case was not held."),
        "REPLACEMENT_NOT_FOUND" => lang.pick(
            "選んだ再照会はこの保険者の照合にありません。一覧から選び直してください。",
            "The chosen re-query is not one of this insurer's verifications: choose again from the list.",
        ),
        "REPLACEMENT_OTHER_SUBJECT" => lang.pick(
            "再照会の照合IDは別の記号番号のものです。同じ人の再照会を選んでください。",
            "The re-query is about another subject: choose the re-query of this person.",
        ),
        "REPLACEMENT_NOT_LATER" => lang.pick(
            "再照会の照合IDはこの保留より前の判定です。保留の後に行った照会を選んでください。",
            "The re-query was decided before this hold: choose one made after it.",
        ),
        _ => lang.pick("記録できませんでした。", "This could not be recorded."),
    }
}

/// The field violations of ResolveHold's validation, as (field, what to fix) in words.
fn in_words(violations: &[FieldViolation], lang: Lang) -> Vec<(String, String, String)> {
    violations
        .iter()
        .map(|v| {
            let (field, fix) = match v.field.as_str() {
                "resolution" => (
                    lang.pick("解決方法", "How it was resolved"),
                    lang.pick(
                        "再照会済・本人から番号取得・取下げのどれかを選んでください。",
                        "Choose re-queried, number from the person or withdrawn.",
                    ),
                ),
                "replaced_by_verification_id" => (
                    lang.pick("再照会の照合ID", "Re-query's verification id"),
                    lang.pick(
                        "再照会済のときは、「再照会の照合」の一覧から再照会を選んでください。",
                        "For re-queried, choose the re-query from the list of this subject's verifications.",
                    ),
                ),
                "cause" => (
                    lang.pick("原因", "Cause"),
                    lang.pick(
                        "原因は一覧から選ぶか、「選択しない」のままにしてください。",
                        "Choose a cause from the list, or leave it unchosen.",
                    ),
                ),
                "note" => (
                    lang.pick("メモ", "Note"),
                    lang.pick(
                        "メモは2,000文字以内で、制御文字を含めないでください。",
                        "A note is at most 2,000 characters, without control characters.",
                    ),
                ),
                "operator_id" => (
                    lang.pick("担当者", "Operator"),
                    lang.pick(
                        "担当者名が使えません。管理者に連絡してください。",
                        "Your clerk name cannot be recorded: tell your administrator.",
                    ),
                ),
                _ => (
                    lang.pick("案件", "Case"),
                    lang.pick(
                        "案件のIDが正しくありません。一覧から開き直してください。",
                        "The case id is not valid: open it again from the queue.",
                    ),
                ),
            };
            (
                field.to_owned(),
                fix.to_owned(),
                format!("{}: {}", v.field, v.description),
            )
        })
        .collect()
}

/// The colour class of a match class.
fn class_css(c: MatchClass) -> &'static str {
    match c {
        MatchClass::Exact => "c-exact",
        MatchClass::Notation => "c-notation",
        MatchClass::Variant => "c-variant",
        MatchClass::Mismatch => "c-mismatch",
        MatchClass::Missing => "c-missing",
        MatchClass::Unparseable => "c-unparseable",
        MatchClass::NotRecorded => "c-missing",
    }
}

fn render(
    lang: Lang,
    signed: &Signed,
    record: &VerificationRecord,
    case: &CaseHistory,
    notice: Option<&str>,
    problems: Option<Problems>,
    form: &ResolveForm,
) -> Markup {
    let d = &record.decided;
    let now = epoch(SystemTime::now());
    let title = lang.pick("案件", "Case");
    // The stage columns: declared vs query, then each candidate's two stages.
    let mut columns: Vec<(Stage, u32)> = vec![];
    for c in &d.comparisons {
        let col = (
            c.stage,
            if c.stage == Stage::DeclaredVsQuery {
                0
            } else {
                c.candidate_index
            },
        );
        if !columns.contains(&col) {
            columns.push(col);
        }
    }
    columns.sort_by_key(|(s, i)| (*i, Stage::ALL.iter().position(|x| x == s)));
    let body = html! {
        h1 { (title) " " small.id { (d.verification_id) } }
        @if let Some(n) = notice { p.notice role="status" { (n) } }
        p.privacy {
            strong { (lang.pick("個人の値は表示しません。", "No personal values are shown.")) }
            " "
            (lang.pick(
                "監査ログには氏名・生年月日・住所・番号を記録していないため、この画面にも出ません。届書や照会結果は、ご自分の業務システムで記号番号から開いてください。",
                "The audit log holds no names, dates, addresses or numbers, so neither does this page. Open the form and the J-LIS result in your own system by the subject id.",
            ))
        }
        dl.header {
            dt { (lang.pick("記号番号", "Subject id")) } dd.subject { (d.subject_id) }
            dt { (lang.pick("保険者番号", "Insurer")) } dd { (d.insurer_number) }
            dt { (lang.pick("状態", "State")) } dd { (words::state(record.state.id(), lang)) " " small.id { (record.state.id()) } }
            dt { (lang.pick("判定日時", "Decided")) } dd { (words::minutes_jst(epoch(d.occurred_at), lang)) }
            dt { (lang.pick("登録期限", "Register by")) }
            dd {
                @match d.register_by.map(epoch) {
                    Some(by) => {
                        (words::deadline_jst(by, lang)) " "
                        span.left.overdue[by < now] data-deadline=(by) data-lang=(lang.tag()) {
                            "（" (words::deadline_note(by, now, lang)) "）"
                        }
                    },
                    None => (lang.pick("なし（受付日不明）", "none (receipt unknown)")),
                }
            }
            dt { (lang.pick("担当", "Assignee")) }
            dd.assignee {
                @match &record.assignee {
                    Some(a) => (a),
                    None => (lang.pick("未割当", "unassigned")),
                }
                @if record.state == RecordState::Held && signed.session.user.operator {
                    (assign_form(lang, signed, record))
                }
            }
            dt { (lang.pick("危険度", "Risk")) }
            dd { @match d.risk_class() { Some(c) => { (words::risk(c, lang)) " " small.id { (c.id()) } }, None => "-", } }
            dt { (lang.pick("判定", "Decision")) } dd { (words::decision(d.decision, lang)) " " small.id { (d.decision.id()) } }
        }
        section {
            h2 { (lang.pick("保留理由と次の作業", "Why it is held, and what to do")) }
            ol.steps {
                @for r in &d.hold_reasons {
                    li {
                        strong { (words::reason(*r, lang)) } " " small.id { (r.id()) }
                        p { (words::next_step(*r, lang)) }
                    }
                }
            }
        }
        section {
            h2 { (lang.pick("項目ごとの照合結果", "Each field at each stage")) }
            @if columns.is_empty() {
                p { (lang.pick("照合の記録はありません（該当者なしなど）。", "No comparison was made (no candidate …).")) }
            } @else {
                table.grid {
                    thead { tr {
                        th scope="col" { (lang.pick("項目", "Field")) }
                        @for (stage, i) in &columns {
                            th scope="col" {
                                (words::stage(*stage, lang))
                                @if *stage != Stage::DeclaredVsQuery { " #" (i + 1) }
                                br; small.id { (stage.as_str()) }
                            }
                        }
                    } }
                    tbody {
                        @for field in Field::ALL {
                            tr {
                                th scope="row" { (words::field(field, lang)) br; small.id { (field.as_str()) } }
                                @for (stage, i) in &columns {
                                    @let cell = d.comparisons.iter().find(|c| c.field == field && c.stage == *stage
                                        && (*stage == Stage::DeclaredVsQuery || c.candidate_index == *i));
                                    @match cell {
                                        Some(c) => td class=(class_css(c.class)) title=(words::class_meaning(c.class, lang)) {
                                            strong { (words::class(c.class, lang)) } " " small.id { (c.class.as_str()) }
                                            @if !c.rules.is_empty() {
                                                ul.rules {
                                                    @for rule in &c.rules {
                                                        li { (words::rule(rule, lang).unwrap_or("")) " " small.id { (rule) } }
                                                    }
                                                }
                                            }
                                        },
                                        None => td { "-" },
                                    }
                                }
                            }
                        }
                    }
                }
                p.legend {
                    @for c in MatchClass::ALL {
                        span class=(class_css(c)) { (words::class(c, lang)) } " " (words::class_meaning(c, lang)) " "
                    }
                }
            }
        }
        @if let Some(r) = &record.resolution {
            section {
                h2 { (lang.pick("解決", "Resolution")) }
                dl.header {
                    dt { (lang.pick("方法", "How")) } dd { (words::resolution(r.resolution, lang)) " " small.id { (r.resolution.id()) } }
                    @if let Some(c) = r.cause {
                        dt { (lang.pick("原因", "Cause")) } dd { (words::cause(c, lang)) " " small.id { (c.id()) } }
                    }
                    dt { (lang.pick("担当者", "By")) } dd { (r.operator_id) }
                    dt { (lang.pick("日時", "When")) } dd { (words::minutes_jst(epoch(r.occurred_at), lang)) }
                    @if !r.replaced_by_verification_id.is_empty() {
                        dt { (lang.pick("再照会の照合ID", "Replaced by")) }
                        dd { a href={ "/holds/" (urlencode(&d.insurer_number)) "/" (urlencode(&r.replaced_by_verification_id)) } { (r.replaced_by_verification_id) } }
                    }
                    dt { (lang.pick("メモ", "Note")) } dd.note { (r.note) }
                }
            }
        }
        @if record.state == RecordState::Held {
            @if signed.session.user.operator {
                (resolve_form(lang, signed, record, case, problems, form))
            } @else {
                p.readonly { (lang.pick("監査の役割のため、操作はできません（閲覧のみ）。", "Auditor: read only.")) }
            }
        } @else if let Some(Problems::Refused(text)) = problems {
            p.error role="alert" { (text) }
        }
        (history::section(lang, &d.insurer_number, &d.verification_id, &case.history))
        p { a href="/holds" accesskey="q" { (lang.pick("« 保留一覧へ戻る", "« Back to the queue")) } }
    };
    layout::page(lang, title, Some(signed), body)
}

fn resolve_form(
    lang: Lang,
    signed: &Signed,
    record: &VerificationRecord,
    case: &CaseHistory,
    problems: Option<Problems>,
    form: &ResolveForm,
) -> Markup {
    let (insurer, id) = (
        &record.decided.insurer_number,
        &record.decided.verification_id,
    );
    let chosen = form.resolution.as_str();
    html! {
        section.resolve {
            h2 id="resolve" { (lang.pick("解決を記録する", "Record the resolution")) }
            @match problems {
                Some(Problems::Fields(list)) => div.error role="alert" {
                    p { (lang.pick("次の点を直してください：", "Please fix:")) }
                    ul { @for (field, fix, detail) in list {
                        li { strong { (field) } "：" (fix) @if !detail.is_empty() { " " small.id { (detail) } } }
                    } }
                },
                Some(Problems::Refused(text)) => p.error role="alert" { (text) },
                None => {},
            }
            form method="post" action={ "/holds/" (urlencode(insurer)) "/" (urlencode(id)) "/resolve" } {
                input type="hidden" name="csrf" value=(signed.session.csrf);
                fieldset {
                    legend { (lang.pick("解決方法", "How it was resolved")) }
                    @for r in Resolution::ALL {
                        label.choice {
                            input type="radio" name="resolution" value=(r.id()) checked[r.id() == chosen] required;
                            (words::resolution(r, lang)) " " small.id { (r.id()) }
                        }
                    }
                }
                label for="cause" {
                    (lang.pick("原因（任意。保留の判定を見直す統計に使います）", "Cause (optional; the hold statistics count it)"))
                }
                select id="cause" name="cause" {
                    option value="" selected[form.cause.is_empty()] { (lang.pick("選択しない", "Not chosen")) }
                    @for c in HoldCause::ALL {
                        option value=(c.id()) selected[c.id() == form.cause] { (words::cause(c, lang)) }
                    }
                }
                (history::picker(lang, &case.candidates, form.replaced_by.trim()))
                label for="note" { (lang.pick("メモ（個人の値は書かないでください）", "Note (no personal values)")) }
                textarea id="note" name="note" rows="3" maxlength="2000" { (form.note) }
                label.check {
                    input type="checkbox" name="confirm" value="1";
                    (lang.pick("記録する内容を確認しました（取り消せません）", "I have checked what will be recorded (it cannot be undone)"))
                }
                button type="submit" { (lang.pick("記録する", "Record")) }
            }
        }
    }
}
