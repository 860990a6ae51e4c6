//! The safety of every answer: the headers a browser obeys, and the refusal of any request
//! that changes something but was not sent by the console's own pages.
//!
//! Cross-site request forgery is refused twice over: here, by where the browser says the
//! request comes from (`Sec-Fetch-Site`, else `Origin`, compared with the `Host` the request
//! was sent to), and in each form handler by the session's token, which a page of another site
//! cannot read. The session cookie is `SameSite=Strict` besides.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::Console;

/// The Content-Security-Policy of every answer: only the console's own script and style, no
/// inline code, no framing, forms only to the console, nothing loaded from elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                       base-uri 'none'";

/// Refuses a request that changes something unless it comes from the console's own pages,
/// and sets the security headers on every answer.
pub async fn guard(State(console): State<Arc<Console>>, request: Request, next: Next) -> Response {
    let changes = !matches!(*request.method(), Method::GET | Method::HEAD);
    let mut response = if changes && !same_origin(request.headers(), console.tls) {
        tracing::info!(path = %request.uri().path(), "console: cross-site request refused");
        metrics::counter!("console_cross_site_refused_total").increment(1);
        (
            StatusCode::FORBIDDEN,
            "この操作は受け付けられません（別のサイトからの送信）。 / Refused: not sent from the console's own page.",
        )
            .into_response()
    } else {
        next.run(request).await
    };
    let is_asset = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| {
            t.as_bytes().starts_with(b"text/css") || t.as_bytes().starts_with(b"text/javascript")
        });
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    if console.tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if !is_asset {
        // Pages hold case ids and notes: never kept by the browser or a proxy.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Whether a request that changes something comes from a page of this console: the browser's
/// `Sec-Fetch-Site` says `same-origin`, or (older browsers) its `Origin` is this host. A
/// request with neither is refused: every browser the console supports sends one.
pub fn same_origin(headers: &HeaderMap, tls: bool) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    let (Some(origin), Some(host)) = (headers.get(header::ORIGIN), headers.get(header::HOST))
    else {
        return false;
    };
    let scheme = if tls { "https://" } else { "http://" };
    origin
        .to_str()
        .ok()
        .and_then(|o| o.strip_prefix(scheme))
        .is_some_and(|o| host.to_str().is_ok_and(|h| h.eq_ignore_ascii_case(o)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn a_post_from_another_site_or_from_nowhere_is_refused() {
        assert!(same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            false
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            false
        ));
        assert!(!same_origin(
            &headers(&[("sec-fetch-site", "same-site")]),
            false
        ));
        assert!(same_origin(
            &headers(&[
                ("origin", "http://127.0.0.1:8080"),
                ("host", "127.0.0.1:8080")
            ]),
            false
        ));
        assert!(!same_origin(
            &headers(&[
                ("origin", "http://evil.example"),
                ("host", "127.0.0.1:8080")
            ]),
            false
        ));
        assert!(!same_origin(
            &headers(&[
                ("origin", "http://127.0.0.1:8080"),
                ("host", "127.0.0.1:8080")
            ]),
            true
        ));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:8080")]), false));
    }
}
