//! Signing in and out.

use std::sync::Arc;

use axum::{
    Extension, Form,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use maud::{Markup, html};
use serde::Deserialize;

use crate::{audit::SignInMethod, words::Lang};

use super::{
    Console, Peer, PresentedCertificate,
    layout::{self, Signed, cookie, lang_of, session_cookie},
    users::User,
};

/// The sign-in form's fields.
#[derive(Deserialize)]
pub(super) struct SignIn {
    /// The clerk's name.
    name: String,
    /// The password; never logged, never echoed back.
    password: String,
}

/// Why a sign-in page is shown again.
#[derive(Clone, Copy)]
enum Problem {
    /// Wrong name or password (which, is not said).
    Wrong,
    /// Too many failures lately.
    Limited,
    /// The sessions' database did not answer.
    Unavailable,
    /// A certificate sign-in without a certificate the settings name.
    NoCertificate,
}

/// The sign-in page; `holder`: the clerk the browser's client certificate names, who may sign
/// in with it.
fn sign_in_page(lang: Lang, problem: Option<Problem>, holder: Option<&str>) -> Markup {
    let title = lang.pick("サインイン", "Sign in");
    layout::page(
        lang,
        title,
        None,
        html! {
            section.signin {
                h1 { (title) }
                @match problem {
                    Some(Problem::Wrong) => p.error role="alert" {
                        (lang.pick("名前またはパスワードが違います。", "Wrong name or password."))
                    },
                    Some(Problem::Limited) => p.error role="alert" {
                        (lang.pick(
                            "失敗が続いたため、しばらくサインインできません。15分ほど待ってから試すか、管理者に連絡してください。",
                            "Too many failed sign-ins: wait about 15 minutes, or ask your administrator.",
                        ))
                    },
                    Some(Problem::Unavailable) => p.error role="alert" {
                        (lang.pick(
                            "ただいまサインインできません。しばらくしてから試してください。",
                            "Signing in is not possible right now: try again shortly.",
                        ))
                    },
                    Some(Problem::NoCertificate) => p.error role="alert" {
                        (lang.pick(
                            "この端末の証明書ではサインインできません。名前とパスワードでサインインしてください。",
                            "This device's certificate does not sign anyone in: use your name and password.",
                        ))
                    },
                    None => {},
                }
                @if let Some(name) = holder {
                    form.certificate method="post" action="/signin/certificate" {
                        p {
                            (lang.pick("この端末の証明書でサインインできます: ", "This device's certificate signs you in as "))
                            strong { (name) }
                        }
                        button type="submit" { (lang.pick("証明書でサインイン", "Sign in with the certificate")) }
                    }
                    p { (lang.pick("または、名前とパスワードで:", "Or with your name and password:")) }
                }
                form method="post" action="/signin" {
                    label for="name" { (lang.pick("名前", "Name")) }
                    input id="name" name="name" type="text" autocomplete="username" required autofocus;
                    label for="password" { (lang.pick("パスワード", "Password")) }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                    button type="submit" { (title) }
                }
                p.note {
                    (lang.pick(
                        "この画面は保留案件の確認用です。個人の氏名・生年月日・住所・番号は表示されません。",
                        "This console works the held cases. No person's name, birth date, address or number is shown.",
                    ))
                }
            }
        },
    )
}

/// `GET /signin`: the form, and the certificate's clerk when the browser presented one.
pub(super) async fn form(
    State(console): State<Arc<Console>>,
    certificate: Option<Extension<PresentedCertificate>>,
    headers: HeaderMap,
) -> Markup {
    let holder = holder(&console, certificate);
    sign_in_page(
        lang_of(&headers),
        None,
        holder.as_ref().map(|u| u.name.as_str()),
    )
}

/// The clerk the presented client certificate names, if any.
fn holder(
    console: &Console,
    certificate: Option<Extension<PresentedCertificate>>,
) -> Option<Arc<User>> {
    let Extension(PresentedCertificate(der)) = certificate?;
    console.users.by_certificate(&der)
}

/// `POST /signin/certificate`: a session for the clerk the connection's verified client
/// certificate names (mutual TLS); refused, and counted as a refusal, otherwise. Like every
/// POST it must come from a page of this console (`security::guard`): a browser presents its
/// certificate to any page that asks, so another site must not be able to sign it in.
pub(super) async fn by_certificate(
    State(console): State<Arc<Console>>,
    Extension(Peer(peer)): Extension<Peer>,
    certificate: Option<Extension<PresentedCertificate>>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(&headers);
    let Some(user) = holder(&console, certificate) else {
        console.refusals.count(
            peer.ip(),
            "unauthenticated",
            "ConsoleSignIn",
            "UNAUTHENTICATED",
        );
        return (
            StatusCode::UNAUTHORIZED,
            sign_in_page(lang, Some(Problem::NoCertificate), None),
        )
            .into_response();
    };
    open_session(&console, &user, SignInMethod::ClientCertificate, lang).await
}

/// `POST /signin`: a session on the right password, the form again otherwise.
pub(super) async fn submit(
    State(console): State<Arc<Console>>,
    Extension(Peer(peer)): Extension<Peer>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    let lang = lang_of(&headers);
    let address = peer.ip();
    let known = console.users.knows(&form.name);
    let recorded = if known {
        form.name.as_str()
    } else {
        "unauthenticated"
    };
    if !console.limiter.allows(&form.name, address) {
        console
            .refusals
            .count(address, recorded, "ConsoleSignIn", "RATE_LIMITED");
        return (
            StatusCode::TOO_MANY_REQUESTS,
            sign_in_page(lang, Some(Problem::Limited), None),
        )
            .into_response();
    }
    let Some(user) = console.users.authenticate(&form.name, form.password).await else {
        console.limiter.failed(&form.name, address);
        console
            .refusals
            .count(address, recorded, "ConsoleSignIn", "UNAUTHENTICATED");
        return (
            StatusCode::UNAUTHORIZED,
            sign_in_page(lang, Some(Problem::Wrong), None),
        )
            .into_response();
    };
    console.limiter.succeeded(&user.name);
    open_session(&console, &user, SignInMethod::Password, lang).await
}

/// Opens a session for `user` (recorded as signed in by `method`) and sends the clerk to the
/// queue with its cookie.
async fn open_session(
    console: &Console,
    user: &User,
    method: SignInMethod,
    lang: Lang,
) -> Response {
    let token = match console.sessions.open(user, method).await {
        Ok(token) => token,
        Err(e) => {
            tracing::error!(error = %e, "console: sign-in not recorded; refused");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                sign_in_page(lang, Some(Problem::Unavailable), None),
            )
                .into_response();
        }
    };
    tracing::info!(clerk = %user.name, "console: signed in");
    metrics::counter!("console_sign_ins_total").increment(1);
    (
        [(header::SET_COOKIE, set_cookie(console, &token, false))],
        Redirect::to("/holds"),
    )
        .into_response()
}

/// `POST /signout`: ends the session (its form carries the CSRF token).
pub(super) async fn sign_out(
    State(console): State<Arc<Console>>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<super::case::CsrfOnly>,
) -> Response {
    if !signed.session.csrf_matches(&form.csrf) {
        return super::errors::csrf_refused(signed.lang);
    }
    if let Some(token) = cookie(&headers, session_cookie(console.tls))
        && let Err(e) = console.sessions.close(token).await
    {
        // The cookie is kept, so that the clerk can try again: the session is still open on
        // every replica until its row is deleted.
        tracing::error!(error = %e, "console: sign-out failed");
        let lang = signed.lang;
        return super::errors::message(
            lang,
            StatusCode::SERVICE_UNAVAILABLE,
            lang.pick("サインアウトできませんでした", "Not signed out"),
            lang.pick(
                "サインアウトを記録できませんでした。しばらくしてからもう一度サインアウトしてください。",
                "The sign-out could not be recorded: sign out again shortly.",
            ),
        );
    }
    tracing::info!(clerk = %signed.session.user.name, "console: signed out");
    (
        [(header::SET_COOKIE, set_cookie(&console, "", true))],
        Redirect::to("/signin"),
    )
        .into_response()
}

/// The session cookie: HttpOnly, SameSite=Strict, Secure over TLS; `clear` removes it.
fn set_cookie(console: &Console, token: &str, clear: bool) -> String {
    let name = session_cookie(console.tls);
    let secure = if console.tls { "; Secure" } else { "" };
    let age = if clear { "; Max-Age=0" } else { "" };
    format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict{secure}{age}")
}
