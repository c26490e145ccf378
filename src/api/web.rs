//! The browser app (plain ES modules in `web/`) and the OpenAPI document, embedded in the binary.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::state::AppState;

const CSP: &str =
    "default-src 'self'; img-src 'self' blob:; media-src 'self' blob: mediastream:; connect-src 'self'; style-src 'self'; frame-ancestors 'none'";

fn page(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type), (header::CONTENT_SECURITY_POLICY, CSP)], body)
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { page("text/html; charset=utf-8", include_str!("../../web/index.html")) }))
        .route("/join", get(|| async { page("text/html; charset=utf-8", include_str!("../../web/index.html")) }))
        .route("/app.js", get(|| async { page("text/javascript; charset=utf-8", include_str!("../../web/app.js")) }))
        .route(
            "/media.js",
            get(|| async { page("text/javascript; charset=utf-8", include_str!("../../web/media.js")) }),
        )
        .route(
            "/api/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], include_str!("../../docs/openapi.json")) }),
        )
        .route("/app.css", get(|| async { page("text/css; charset=utf-8", include_str!("../../web/app.css")) }))
}
