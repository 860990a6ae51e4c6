//! The console's style sheet and script, in the binary: no CDN, no network, no file to deploy.

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

/// The style sheet.
const CSS: &str = include_str!("assets/console.css");
/// The script: live countdowns and keyboard shortcuts; every page works without it.
const JS: &str = include_str!("assets/console.js");

/// `GET /static/{file}`.
pub(super) async fn serve(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "private, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
