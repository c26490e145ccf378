//! `/api/auth/*` and `/api/me`: login with throttling, logout (revocation),
//! invite redemption, and the caller's identity.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::extract::{ClientAddr, Json};
use crate::audit::Entry;
use crate::auth::jwt::KeyError;
use crate::auth::principal::COOKIE;
use crate::auth::{password, Principal};
use crate::error::ApiError;
use crate::model::Role;
use crate::state::AppState;
use crate::store::Redeem;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/login", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/invite", post(redeem_invite))
        .route("/api/me", get(me))
        .route("/.well-known/jwks.json", get(jwks))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
}

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        ApiError::internal(e)
    }
}

/// The token response and the `HttpOnly; Secure; SameSite=Strict` cookie.
pub fn token_response(status: StatusCode, token: &str, expires_in: u64, role: Role) -> Response {
    let body = json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in, "role": role});
    let mut resp = (status, axum::Json(body)).into_response();
    let cookie = format!("{COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={expires_in}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn throttled(state: &AppState, user_key: &str, addr_key: &str, now: Instant) -> Option<u64> {
    let mut limits = state.login_limits.lock().ok()?;
    let (by_user, by_addr) = &mut *limits;
    let a = by_user.check(user_key, now).err();
    let b = by_addr.check(addr_key, now).err();
    a.max(b).map(|d| d.as_secs().max(1))
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(body): Json<LoginBody>,
) -> Result<Response, ApiError> {
    use std::sync::atomic::Ordering::Relaxed;
    let user_key = format!("u:{}", body.username.to_lowercase());
    let addr_key = format!("a:{}", peer.ip());
    let now = Instant::now();
    if let Some(retry) = throttled(&state, &user_key, &addr_key, now) {
        state.metrics.logins_throttled.fetch_add(1, Relaxed);
        tracing::warn!(address = %peer.ip(), "login throttled");
        state.audit.append(Entry::new("login_failed").from(Some(peer.ip())).detail(json!({"reason": "throttled"})));
        return Err(ApiError::RateLimited { retry_after_secs: retry });
    }
    let user = if body.username.len() <= 128 { state.store.user_by_username(&body.username).await? } else { None };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let known = user.as_ref().map(|u| (u.sub.clone(), u.role));
    let pw = body.password;
    let ok = tokio::task::spawn_blocking(move || password::verify(&pw, stored.as_deref()))
        .await
        .map_err(ApiError::internal)?;
    let user = match (ok, user) {
        (true, Some(u)) => u,
        _ => {
            if let Ok(mut limits) = state.login_limits.lock() {
                limits.0.fail(&user_key, now);
                limits.1.fail(&addr_key, now);
            }
            state.metrics.logins_failed.fetch_add(1, Relaxed);
            tracing::info!(address = %peer.ip(), "login failed");
            // The actor only when the account exists: never what was typed.
            let mut e = Entry::new("login_failed").from(Some(peer.ip()));
            if let Some(u) = &known {
                e = e.by_sub(&u.0, Some(u.1));
            }
            state.audit.append(e.detail(json!({"reason": "invalid_credentials"})));
            return Err(ApiError::Unauthenticated { message: "invalid username or password" });
        }
    };
    if let Ok(mut limits) = state.login_limits.lock() {
        limits.0.clear(&user_key);
    }
    let (token, _claims) = state.tokens.issue(&user.sub, user.role, &user.name, None, None)?;
    state.metrics.logins_ok.fetch_add(1, Relaxed);
    tracing::info!(user = %user.sub, role = %user.role, "login");
    state.audit.append(Entry::new("login").by_sub(&user.sub, Some(user.role)).from(Some(peer.ip())));
    Ok(token_response(StatusCode::OK, &token, state.tokens.default_ttl().as_secs(), user.role))
}

async fn logout(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
) -> Result<Response, ApiError> {
    state.store.revoke_token(&who.jti, who.exp).await?;
    state.revocations.revoke_token(&who.jti, who.exp);
    tracing::info!(user = %who.sub, "logout");
    state.audit.append(Entry::new("logout").by(&who).from(addr));
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let clear = format!("{COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// A new access token for the caller's still valid, unrevoked token (bearer or
/// cookie; a cookie is renewed too), up to the absolute session lifetime.
/// The presented token stays valid until its own `exp`.
async fn refresh(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
) -> Result<Response, ApiError> {
    use crate::auth::jwt::RenewError;
    let (token, claims) = match state.tokens.renew(&who) {
        Ok(t) => t,
        Err(RenewError::SessionOver) => {
            tracing::info!(user = %who.sub, "renewal refused: session lifetime reached");
            return Err(ApiError::Unauthenticated { message: "session lifetime reached: sign in again" });
        }
        Err(RenewError::Key(KeyError::NoSigningKey)) => {
            return Err(ApiError::Conflict {
                code: "no_signing_key",
                message: "this server verifies an external issuer's tokens and cannot renew them".into(),
            })
        }
        Err(RenewError::Key(e)) => return Err(e.into()),
    };
    tracing::info!(user = %who.sub, "token renewed");
    state.audit.append(
        Entry::new("token_refresh").by(&who).from(addr).detail(json!({"exp": claims.exp, "auth_time": who.auth_time})),
    );
    let expires_in = u64::try_from(claims.exp - claims.iat).unwrap_or(0);
    Ok(token_response(StatusCode::OK, &token, expires_in, who.role))
}

/// The public keys of this server's EdDSA key ring (404 for HS256 or keys
/// managed outside the data directory).
async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    let set = state
        .tokens
        .jwks()
        .ok_or(ApiError::not_found("a JWK set (this server signs with HS256 or an external key)"))?;
    Ok(axum::Json(set).into_response())
}

/// How often the key ring file is checked for a rotation.
pub const KEY_WATCH: std::time::Duration = std::time::Duration::from_secs(1);

/// Pick up `orgallery keys rotate` while running: re-read the key ring when
/// its file changes, and audit each rotation the command noted.
pub fn spawn_key_watch(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let shutdown = state.shutdown.clone();
        let mut tick = tokio::time::interval(KEY_WATCH);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.wait() => break,
                _ = tick.tick() => {
                    match state.tokens.reload_keys() {
                        Ok(Some(change)) => {
                            tracing::info!(kid = %change.kid, previous = %change.previous, "JWT signing key rotated");
                        }
                        Ok(None) => {}
                        Err(e) => tracing::error!(error = %e, "the JWT key ring did not load; keeping the keys in use"),
                    }
                    // Rotations by `orgallery keys rotate`, also those made while stopped.
                    match crate::auth::keyring::take_notices(&state.config.data_dir) {
                        Ok(notices) => {
                            for n in notices {
                                state.audit.append(Entry::new("key_rotated").detail(n));
                            }
                        }
                        Err(e) => tracing::error!(error = %e, "cannot read key rotation notices"),
                    }
                }
            }
        }
    });
}

async fn me(who: Principal) -> impl IntoResponse {
    axum::Json(json!({"sub": who.sub, "name": who.name, "role": who.role, "sessions": who.sessions}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    code: String,
    name: String,
}

pub fn hash_code(code: &str) -> String {
    hex::encode(Sha256::digest(code.trim().as_bytes()))
}

async fn redeem_invite(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Json(body): Json<InviteBody>,
) -> Result<Response, ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ApiError::invalid("invalid_name", "name must be 1..=80 characters"));
    }
    if body.code.len() > 128 {
        return Err(ApiError::NotFound { code: "invite_not_found", message: "no such invite".into() });
    }
    let invite = match state.store.redeem_invite(&hash_code(&body.code), chrono::Utc::now()).await? {
        Redeem::Ok(i) => i,
        Redeem::Unknown => {
            return Err(ApiError::NotFound { code: "invite_not_found", message: "no such invite".into() })
        }
        Redeem::Gone => {
            return Err(ApiError::Gone { code: "invite_gone", message: "this invite expired or was used up".into() })
        }
    };
    let sub = format!("invite-{}", uuid::Uuid::new_v4());
    let (token, _) = state.tokens.issue(&sub, invite.role, name, Some(vec![invite.session_id.clone()]), None)?;
    tracing::info!(user = %sub, session = %invite.session_id, "invite redeemed");
    state.audit.append(
        Entry::new("invite_redeem")
            .by_sub(&sub, Some(invite.role))
            .session(&invite.session_id)
            .from(addr)
            .detail(json!({"uses": invite.uses, "max_uses": invite.max_uses})),
    );
    Ok(token_response(StatusCode::OK, &token, state.tokens.default_ttl().as_secs(), invite.role))
}
