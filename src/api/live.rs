//! `GET /api/sessions/{id}/live` (WebSocket) and `POST /api/ws-ticket`.
//! Authorization happens before the upgrade; credential failures after a
//! valid upgrade close with 4001/4003 (browsers cannot read HTTP statuses),
//! cross-origin upgrades are refused outright.

use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;

use super::extract::Path;
use crate::auth::principal::{authenticate, token_from_headers, Source};
use crate::auth::{authorize, Permission, Principal};
use crate::error::ApiError;
use crate::live::socket;
use crate::live::tickets::TICKET_TTL;
use crate::live::upgrade::WsUpgrade;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/sessions/{id}/live", get(live)).route("/api/ws-ticket", post(ticket))
}

async fn ticket(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    authorize(&who, Permission::Watch, None)?;
    let t = state.tickets.issue(&who, Instant::now()).ok_or(ApiError::Unavailable)?;
    Ok(axum::Json(json!({"ticket": t, "expires_in": TICKET_TTL.as_secs()})).into_response())
}

#[derive(Deserialize)]
struct LiveQuery {
    after: Option<u64>,
    ticket: Option<String>,
}

/// Same origin (scheme-less host match against `Host`) or the allow-list.
pub(crate) fn origin_allowed(state: &AppState, headers: &HeaderMap, origin: &str) -> bool {
    if state.config.allowed_origins.iter().any(|o| o == origin) {
        return true;
    }
    if state.config.public_url.as_deref().is_some_and(|u| u.trim_end_matches('/') == origin) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let scheme = if state.config.tls { "https" } else { "http" };
    !host.is_empty() && origin == format!("{scheme}://{host}")
}

async fn live(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<LiveQuery>,
    headers: HeaderMap,
    upgrade: WsUpgrade,
) -> Result<Response, ApiError> {
    tracing::Span::current().record("session", id.as_str());
    let origin = headers.get(header::ORIGIN).map(|o| o.to_str().unwrap_or("invalid"));
    if let Some(o) = origin {
        if !origin_allowed(&state, &headers, o) {
            return Err(ApiError::Forbidden { code: "cross_origin", message: "cross-origin upgrade refused".into() });
        }
    }
    // Credentials: a one-use ticket, or Bearer, or the cookie (only with an Origin).
    let who = match (&q.ticket, token_from_headers(&headers)) {
        (Some(t), _) => state.tickets.take(t, Instant::now()).ok_or("ticket"),
        (None, Some((token, src))) if src == Source::Bearer || origin.is_some() => {
            authenticate(&state, &token).await.map_err(|_| "token")
        }
        _ => Err("none"),
    };
    let who = match who {
        Ok(w) => w,
        Err(_) => {
            return Ok(upgrade.on_upgrade(|ws| socket::close_now(ws, socket::UNAUTHENTICATED, "unauthenticated")));
        }
    };
    if state.revocations.is_revoked_parts(&who.jti, &who.sub, who.iat) {
        return Ok(upgrade.on_upgrade(|ws| socket::close_now(ws, socket::REVOKED, "access revoked")));
    }
    let session = match state.store.session(&id).await? {
        Some(s) if authorize(&who, Permission::Watch, Some(&s)).is_ok() => s,
        _ => return Ok(upgrade.on_upgrade(|ws| socket::close_now(ws, socket::REVOKED, "not allowed"))),
    };
    // Controllers get held items; staff (controllers, educators) hidden questions and the pulse.
    let sight = crate::audience::Sight {
        controller: session.is_controller(&who.sub),
        staff: crate::audience::sight(&who, &session).staff,
    };
    let hub = state.live.hub(&state, &session);
    let after = q.after.unwrap_or(0);
    Ok(upgrade.on_upgrade(move |ws| socket::serve(ws, state, hub, who, sight, after)))
}
