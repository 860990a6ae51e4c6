//! Each page continues the caller's W3C trace, as a gRPC call does: an insurer's system that
//! links a clerk to a case keeps one trace across both, and every log line of the page names
//! its trace id.

use axum::{extract::Request, middleware::Next, response::Response};
use tracing::{Instrument as _, field::Empty};

/// Wraps one request in a span that continues its `traceparent` (or starts a trace).
///
/// The span names the page by the first segment of its path (`/holds`, `/signin`), never the
/// whole path a clerk opened: it says which kind of page, not which case, and keeps the span
/// names few (the middleware runs before routing, so the route's template is not known yet).
pub(super) async fn continue_trace(request: Request, next: Next) -> Response {
    let first = request.uri().path().split('/').nth(1).unwrap_or_default();
    // A path nobody routes is named as such: its text is the caller's, not the console's.
    let route = match first {
        "" | "signin" | "signout" | "lang" | "holds" | "check" | "static" => format!("/{first}"),
        _ => "/(unknown)".to_owned(),
    };
    let method = request.method().as_str().to_owned();
    let span = tracing::info_span!(
        "page",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = Empty,
        trace_id = Empty,
    );
    if !span.is_disabled() {
        crate::telemetry::traces::continue_trace(&span, request.headers());
    }
    let response = next.run(request).instrument(span.clone()).await;
    span.record("http.response.status_code", response.status().as_u16());
    response
}
