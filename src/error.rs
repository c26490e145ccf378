//! One error type for the HTTP edge. Every variant maps to a status and the
//! contract's body `{"error":{"code","message"}}`. Internal causes are logged
//! with the request span and never sent to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("authentication required")]
    Unauthenticated { message: &'static str },
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("not found")]
    NotFound { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    #[error("{message}")]
    TooLarge { message: String },
    #[error("{message}")]
    UnsupportedMedia { message: String },
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("{message}")]
    NotAcceptable { message: String },
    #[error("the resource changed (ETag mismatch)")]
    PreconditionFailed,
    #[error("If-Match is required")]
    PreconditionRequired,
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    #[error("service unavailable")]
    Unavailable,
    /// The store cannot take writes now (disk full, locked, I/O error).
    #[error("store unavailable: {0}")]
    StoreUnavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest { code, message: message.into() }
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden { code: "forbidden", message: message.into() }
    }
    pub fn not_found(what: &str) -> Self {
        Self::NotFound { code: "not_found", message: format!("{what} not found") }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict { code, message: message.into() }
    }
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { code, message: message.into() }
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Gone { .. } => StatusCode::GONE,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMedia { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotAcceptable { .. } => StatusCode::NOT_ACCEPTABLE,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable | Self::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::Gone { code, .. }
            | Self::Invalid { code, .. } => code,
            Self::Unauthenticated { .. } => "unauthenticated",
            Self::TooLarge { .. } => "payload_too_large",
            Self::UnsupportedMedia { .. } => "unsupported_media_type",
            Self::NotAcceptable { .. } => "no_supported_codec",
            Self::PreconditionFailed => "etag_mismatch",
            Self::PreconditionRequired => "if_match_required",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::StoreUnavailable(_) => "store_unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// The message a client may read (internal causes never are).
    pub fn public_message(&self) -> String {
        match self {
            Self::Unauthenticated { message } => (*message).to_string(),
            Self::RateLimited { retry_after_secs } => {
                format!("too many attempts; retry in {retry_after_secs} s")
            }
            Self::Unavailable => "the service is not ready".into(),
            Self::StoreUnavailable(_) => "the store cannot take writes now; try again shortly".into(),
            Self::Internal(_) => "internal error".into(),
            other => other.to_string(),
        }
    }
}

/// The contract's error body.
pub fn error_body(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        if let Self::StoreUnavailable(cause) = &self {
            tracing::warn!(%cause, "store unavailable");
        }
        let mut resp = error_body(self.status(), self.code(), &self.public_message());
        if let Self::RateLimited { retry_after_secs } = self {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.max(1).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if let Self::StoreUnavailable(_) = self {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::NotFound => ApiError::not_found("resource"),
            crate::store::StoreError::Conflict(what) => ApiError::conflict("conflict", what),
            crate::store::StoreError::Backend(cause) => ApiError::Internal(cause),
            crate::store::StoreError::Unavailable(cause) => ApiError::StoreUnavailable(cause),
            crate::store::StoreError::Fenced => {
                ApiError::StoreUnavailable("this node no longer writes the session".into())
            }
        }
    }
}
