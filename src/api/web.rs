//! The browser app (plain ES modules in `web/`) and the OpenAPI document, embedded in the binary.
//!
//! Every response of the app itself carries the strict Content-Security-Policy below: scripts,
//! styles, images, media and connections only from this origin (plus `blob:`/`data:` images and
//! `blob:` media the app makes itself), no plugins, no framing.

use axum::http::header;
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

/// The app's Content-Security-Policy, exactly as issue 11 specifies it.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The app's files: path, media type, body.
const FILES: &[(&str, &str, &str)] = &[
    ("/", HTML, include_str!("../../web/index.html")),
    ("/index.html", HTML, include_str!("../../web/index.html")),
    ("/join", HTML, include_str!("../../web/index.html")),
    ("/app.css", CSS, include_str!("../../web/app.css")),
    ("/app.js", JS, include_str!("../../web/app.js")),
    ("/api.js", JS, include_str!("../../web/api.js")),
    ("/dom.js", JS, include_str!("../../web/dom.js")),
    ("/signin.js", JS, include_str!("../../web/signin.js")),
    ("/sessions.js", JS, include_str!("../../web/sessions.js")),
    ("/live.js", JS, include_str!("../../web/live.js")),
    ("/viewer.js", JS, include_str!("../../web/viewer.js")),
    ("/console.js", JS, include_str!("../../web/console.js")),
    ("/qa.js", JS, include_str!("../../web/qa.js")),
    ("/archive.js", JS, include_str!("../../web/archive.js")),
    ("/media.js", JS, include_str!("../../web/media.js")),
];

pub fn router() -> Router<AppState> {
    let mut r = Router::new().route(
        "/api/openapi.json",
        get(|| async { ([(header::CONTENT_TYPE, "application/json")], include_str!("../../docs/openapi.json")) }),
    );
    for &(path, content_type, body) in FILES {
        r = r.route(
            path,
            get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, content_type),
                        (header::CONTENT_SECURITY_POLICY, CSP),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    body,
                )
            }),
        );
    }
    r
}
