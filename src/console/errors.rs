//! The answers of what went wrong, as pages in the clerk's language.

use axum::{
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use maud::html;

use crate::{verification::VerificationError, words::Lang};

use super::layout::{self, lang_of};

/// A short page with `status`, a title and one sentence.
pub(super) fn message(lang: Lang, status: StatusCode, title: &str, text: &str) -> Response {
    (
        status,
        layout::page(
            lang,
            title,
            None,
            html! {
                h1 { (title) }
                p { (text) }
                p { a href="/holds" { (lang.pick("保留一覧へ戻る", "Back to the queue")) } }
            },
        ),
    )
        .into_response()
}

/// 404, the same for a case of another insurer as for one that does not exist.
pub(super) fn not_found_in(lang: Lang) -> Response {
    message(
        lang,
        StatusCode::NOT_FOUND,
        lang.pick("見つかりません", "Not found"),
        lang.pick(
            "この案件はないか、あなたの担当保険者のものではありません。",
            "No such case for the insurers you work for.",
        ),
    )
}

/// The fallback route.
pub(super) async fn not_found(headers: HeaderMap) -> Response {
    not_found_in(lang_of(&headers))
}

/// A form whose CSRF token is not the session's.
pub(super) fn csrf_refused(lang: Lang) -> Response {
    message(
        lang,
        StatusCode::FORBIDDEN,
        lang.pick("受け付けられません", "Refused"),
        lang.pick(
            "画面が古くなっています。ページを開き直してからもう一度操作してください。",
            "The page is out of date: open it again and repeat the action.",
        ),
    )
}

/// An action the clerk's role does not grant.
pub(super) fn not_granted(lang: Lang) -> Response {
    message(
        lang,
        StatusCode::FORBIDDEN,
        lang.pick("権限がありません", "Not allowed"),
        lang.pick(
            "監査の役割では案件を変更できません。",
            "The auditor role cannot change a case.",
        ),
    )
}

/// A use case failed for a reason that is not the clerk's input.
pub(super) fn failure(lang: Lang, e: &VerificationError) -> Response {
    match e {
        VerificationError::NotFound(_) => not_found_in(lang),
        VerificationError::Unavailable => message(
            lang,
            StatusCode::SERVICE_UNAVAILABLE,
            lang.pick("一時的に利用できません", "Unavailable"),
            lang.pick(
                "監査ログに書き込めないため、何も記録していません。しばらくしてからやり直してください。",
                "The audit log cannot be written: nothing was recorded. Try again shortly.",
            ),
        ),
        _ => {
            tracing::error!(error = %e, "console: use case failed");
            message(
                lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                lang.pick("エラー", "Error"),
                lang.pick(
                    "処理できませんでした。管理者に連絡してください。",
                    "This could not be done: tell your administrator.",
                ),
            )
        }
    }
}
