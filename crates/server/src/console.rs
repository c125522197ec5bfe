//! The console: static files (HTML, JS, CSS) compiled into the binary and served at `/`. It
//! talks to the native API with an admin token, so it needs nothing the API does not give, and
//! loads nothing from anywhere else (the Content-Security-Policy says so to the browser).

use axum::http::header;
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../console/index.html");
const SCRIPT: &str = include_str!("../console/console.js");
const STYLE: &str = include_str!("../console/console.css");

/// Inline `style` attributes size the bars; everything else comes from this server only.
const CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn file(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// `GET /`: the console page.
pub async fn index() -> Response {
    file(INDEX, "text/html; charset=utf-8")
}

/// `GET /console/console.js`.
pub async fn script() -> Response {
    file(SCRIPT, "text/javascript; charset=utf-8")
}

/// `GET /console/console.css`.
pub async fn style() -> Response {
    file(STYLE, "text/css; charset=utf-8")
}
