//! The HTTP edge: one router per resource, merged here, then the layers that
//! every request passes: request id, tracing span, body limit, security
//! headers, and the normalizer that gives every error the contract's body.

mod archive;
mod audit;
pub(crate) mod auth;
pub mod edge;
pub mod extract;
mod feedback;
mod live;
mod media;
mod ops;
mod pulse;
mod questions;
mod range;
mod redact;
mod sessions;
pub(crate) mod updates;
mod users;
mod web;

pub use sessions::load as load_session;

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tracing::Instrument;

use crate::error::error_body;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    let cap = edge::LiveCap { counts: Default::default(), limit: state.config.edge.live_per_address };
    Router::new()
        .merge(auth::router())
        .merge(archive::router())
        .merge(audit::router())
        .merge(sessions::router())
        .merge(users::router())
        .merge(live::router())
        .merge(media::router())
        .merge(updates::router())
        .merge(redact::router())
        .merge(questions::router())
        .merge(pulse::router())
        .merge(feedback::router())
        .merge(ops::router())
        .merge(web::router())
        .fallback(|| async { error_body(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state((state.clone(), cap), edge::edge))
        .layer(middleware::from_fn(normalize_errors))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Request id, tracing span (method, path without query, user, session) and metrics.
async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert("x-request-id", v);
    }
    // The path only: query strings may carry one-use tickets.
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
        user = tracing::field::Empty,
        session = tracing::field::Empty,
    );
    let started = Instant::now();
    let mut resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    state.metrics.count_status(status);
    span.in_scope(|| tracing::info!(status, elapsed_ms = started.elapsed().as_millis() as u64, "response"));
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

/// Any error response that is not already the contract's JSON body (axum's
/// own 405, 413, 415 and rejections) is rewritten into it.
async fn normalize_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => ("bad_request", "the request is malformed"),
        StatusCode::NOT_FOUND => ("not_found", "not found"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this method is not allowed here"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the body is too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "unsupported content type"),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid", "the request is well-formed but invalid"),
        StatusCode::REQUEST_TIMEOUT => ("timeout", "the request took too long"),
        s if s.is_client_error() => ("bad_request", "the request was refused"),
        _ => ("internal", "internal error"),
    };
    let mut out = error_body(status, code, message);
    for (k, v) in resp.headers() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out.into_response()
}
