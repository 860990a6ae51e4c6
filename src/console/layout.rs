//! What every page shares: the language, the signed-in clerk, and the frame around a page
//! (title, clerk, sign-out, language switch).

use std::sync::Arc;

use axum::{
    extract::{FromRequestParts, Path, Query},
    http::{HeaderMap, header, request::Parts},
    response::{IntoResponse, Redirect, Response},
};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use crate::words::Lang;

use super::{Console, sessions::Session};

/// The cookie that keeps a clerk's language choice (not a secret).
const LANG_COOKIE: &str = "vi_lang";

/// The session cookie's name: `__Host-` over TLS, so that no other host or path can set it.
pub(super) fn session_cookie(tls: bool) -> &'static str {
    if tls {
        "__Host-vi_session"
    } else {
        "vi_session"
    }
}

/// The value of cookie `name` in the request's headers.
pub(super) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// The page's language: the clerk's choice (the switch), else the browser's Accept-Language,
/// else Japanese.
pub(super) fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(Lang::from_tag)
        .unwrap_or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map_or(Lang::Ja, Lang::from_accept_language)
        })
}

/// Where the language switch sends the clerk back to.
#[derive(Deserialize)]
pub(super) struct Back {
    /// A path of this console.
    next: Option<String>,
}

/// `GET /lang/{ja|en}?next=/…`: keeps the choice in a cookie and goes back.
pub(super) async fn switch_language(Path(tag): Path<String>, Query(back): Query<Back>) -> Response {
    let lang = Lang::from_tag(&tag).unwrap_or_default();
    // Only a path of this console: never an open redirect to another site.
    let next = back
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/holds".to_owned());
    (
        [(
            header::SET_COOKIE,
            format!(
                "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                lang.tag()
            ),
        )],
        Redirect::to(&next),
    )
        .into_response()
}

/// A signed-in clerk's request: the session and the page language. A request without a live
/// session is sent to the sign-in page.
pub(super) struct Signed {
    /// The session.
    pub(super) session: Session,
    /// The page language.
    pub(super) lang: Lang,
    /// The path and query asked for, for the language switch.
    pub(super) here: String,
}

impl FromRequestParts<Arc<Console>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> Result<Self, Self::Rejection> {
        let session = match cookie(&parts.headers, session_cookie(console.tls)) {
            None => None,
            // Fails closed: a session that cannot be read is no session.
            Some(token) => console
                .sessions
                .touch(token, &console.users)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "console: session not read; signed out");
                    None
                }),
        };
        match session {
            Some(session) => Ok(Signed {
                session,
                lang: lang_of(&parts.headers),
                here: parts
                    .uri
                    .path_and_query()
                    .map_or_else(|| "/holds".to_owned(), |p| p.as_str().to_owned()),
            }),
            None => Err(Redirect::to("/signin").into_response()),
        }
    }
}

/// A whole page: `title`, the clerk's bar (when signed in) and `body`.
pub(super) fn page(lang: Lang, title: &str, signed: Option<&Signed>, body: Markup) -> Markup {
    let here = signed.map_or("/signin", |s| s.here.as_str());
    let other = match lang {
        Lang::Ja => Lang::En,
        Lang::En => Lang::Ja,
    };
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " — " (lang.pick("保留案件コンソール", "Hold console")) }
                link rel="stylesheet" href="/static/console.css";
                script src="/static/console.js" defer {}
            }
            body {
                header.bar {
                    a.brand href="/holds" { (lang.pick("保留案件コンソール", "Hold console")) }
                    nav {
                        a lang=(other.tag()) href={ "/lang/" (other.tag()) "?next=" (urlencode(here)) } {
                            (other.pick("日本語", "English"))
                        }
                        @if let Some(s) = signed {
                            a href="/holds" { (lang.pick("保留一覧", "Queue")) }
                            a href="/check" { (lang.pick("照合の確認", "Compare values")) }
                            a href="/stats" { (lang.pick("統計", "Statistics")) }
                            span.who {
                                (s.session.user.name)
                                " "
                                span.role {
                                    @if s.session.user.operator {
                                        (lang.pick("担当者", "operator")) small.id { "operator" }
                                    } @else {
                                        (lang.pick("監査", "auditor")) small.id { "auditor" }
                                    }
                                }
                            }
                            form.inline method="post" action="/signout" {
                                input type="hidden" name="csrf" value=(s.session.csrf);
                                button type="submit" { (lang.pick("サインアウト", "Sign out")) }
                            }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}

/// Percent-encodes a path for a query value.
pub(super) fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
