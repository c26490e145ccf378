//! The authenticated caller. An axum extractor reads `Authorization: Bearer`
//! or the session cookie, verifies the token with the server's keys and its
//! revocation list, and records the user on the request span. A bad token is
//! an error, never silently anonymous.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use super::jwt::{Claims, VerifyError};
use crate::error::ApiError;
use crate::model::Role;
use crate::state::AppState;

pub const COOKIE: &str = "orgallery_token";

#[derive(Clone)]
pub struct Principal {
    pub sub: String,
    pub role: Role,
    pub name: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    /// When the user signed in (renewals keep it).
    pub auth_time: i64,
    /// Sessions the token is limited to (invite tokens), if any.
    pub sessions: Option<Vec<String>>,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal").field("sub", &self.sub).field("role", &self.role).finish_non_exhaustive()
    }
}

impl From<Claims> for Principal {
    fn from(c: Claims) -> Self {
        Self {
            auth_time: c.auth_time.unwrap_or(c.iat),
            sub: c.sub,
            role: c.role,
            name: c.name,
            jti: c.jti,
            iat: c.iat,
            exp: c.exp,
            sessions: c.sessions,
        }
    }
}

/// Where the credential came from; WebSocket upgrades care (cookie alone is
/// not enough without a matching Origin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Bearer,
    Cookie,
}

/// The raw token of a request, if any. Bearer wins over the cookie.
pub fn token_from_headers(headers: &HeaderMap) -> Option<(String, Source)> {
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
            return Some((v[7..].trim().to_string(), Source::Bearer));
        }
    }
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(';') {
            if let Some((k, val)) = part.trim().split_once('=') {
                if k == COOKIE && !val.is_empty() {
                    return Some((val.to_string(), Source::Cookie));
                }
            }
        }
    }
    None
}

/// Verify a token completely: signature, claims and revocation.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let claims = state.tokens.verify(token).await.map_err(|e| ApiError::Unauthenticated {
        message: match e {
            VerifyError::Expired => "token expired",
            VerifyError::Revoked => "token revoked",
            VerifyError::Invalid => "invalid token",
        },
    })?;
    if state.revocations.is_revoked(&claims) {
        return Err(ApiError::Unauthenticated { message: "token revoked" });
    }
    let p = Principal::from(claims);
    let span = tracing::Span::current();
    span.record("user", p.sub.as_str());
    Ok(p)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (token, _) = token_from_headers(&parts.headers)
            .ok_or(ApiError::Unauthenticated { message: "authentication required" })?;
        authenticate(state, &token).await
    }
}
