//! WHIP (RFC 9725) and WHEP: `POST /api/sessions/{id}/whip|whep` with an
//! `application/sdp` offer → 201, `Location`, `ETag`, the answer; `PATCH`
//! on the resource for trickle ICE and ICE restarts (`If-Match` required),
//! `DELETE` to stop, `OPTIONS` for CORS preflight and `Accept-Post`.
//! Thin: authorize and check the request here, the engine does the rest.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;

use super::extract::Path;
use super::live::origin_allowed;
use crate::auth::principal::{authenticate, token_from_headers};
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::media::sdp::MAX_SDP_BYTES;
use crate::media::{PeerAuth, SessionMeta, Side};
use crate::model::{Session, SessionState};
use crate::state::AppState;

const SDP: &str = "application/sdp";
const SDPFRAG: &str = "application/trickle-ice-sdpfrag";
const EXPOSE: &str = "Location, ETag, Link, Accept-Patch, Accept-Post";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/sessions/{id}/whip", post(whip).options(options_endpoint))
        .route("/api/sessions/{id}/whep", post(whep).options(options_endpoint))
        .route(
            "/api/sessions/{id}/whip/{resource}",
            axum::routing::patch(patch_whip).delete(delete_whip).options(options_resource),
        )
        .route(
            "/api/sessions/{id}/whep/{resource}",
            axum::routing::patch(patch_whep).delete(delete_whep).options(options_resource),
        )
}

#[derive(Deserialize)]
struct TicketQuery {
    ticket: Option<String>,
}

/// Bearer, cookie, or a one-use ticket (`?ticket=`).
async fn caller(state: &AppState, headers: &HeaderMap, ticket: Option<&str>) -> Result<Principal, ApiError> {
    if let Some(t) = ticket {
        return state.tickets.take(t, Instant::now()).ok_or(ApiError::Unauthenticated { message: "invalid ticket" });
    }
    let (token, _) =
        token_from_headers(headers).ok_or(ApiError::Unauthenticated { message: "authentication required" })?;
    authenticate(state, &token).await
}

fn content_type_is(headers: &HeaderMap, want: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(want))
}

fn meta(s: &Session) -> SessionMeta {
    let scope = s.consent.as_ref().map(|c| c.scope).unwrap_or_default();
    SessionMeta {
        id: s.id.clone(),
        delay_seconds: s.delay_seconds,
        curtain: s.curtain,
        allow_video: scope.video,
        allow_audio: scope.audio,
        archive: scope.archive,
    }
}

async fn whip(
    state: State<AppState>,
    super::extract::ClientAddr(addr): super::extract::ClientAddr,
    id: Path<String>,
    q: Query<TicketQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    open(state, addr, id, q, headers, body, Side::Publisher).await
}

async fn whep(
    state: State<AppState>,
    super::extract::ClientAddr(addr): super::extract::ClientAddr,
    id: Path<String>,
    q: Query<TicketQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    open(state, addr, id, q, headers, body, Side::Viewer).await
}

async fn open(
    State(state): State<AppState>,
    addr: Option<std::net::IpAddr>,
    Path(id): Path<String>,
    Query(q): Query<TicketQuery>,
    headers: HeaderMap,
    body: Bytes,
    side: Side,
) -> Result<Response, ApiError> {
    let who = caller(&state, &headers, q.ticket.as_deref()).await?;
    let perm = match side {
        Side::Publisher => Permission::MediaPublish,
        Side::Viewer => Permission::Watch,
    };
    let s = match super::load_session(&state, &who, &id, perm).await {
        Err(ApiError::NotFound { .. }) if side == Side::Viewer => return Err(not_in_audience(&state, &who, &id).await),
        other => other?,
    };
    if !content_type_is(&headers, SDP) {
        return Err(ApiError::UnsupportedMedia { message: format!("the offer must be {SDP}") });
    }
    if s.state != SessionState::Live {
        return Err(ApiError::conflict("not_live", "the session is not live"));
    }
    // Media is pinned to the node that writes the session: its media gate
    // follows that writer's curtain, dump and delay, and no other node's.
    if state.live.hub(&state, &s).writer().is_none() {
        return Err(ApiError::conflict("not_live", "the session's media is served by the node that writes it"));
    }
    if body.len() > MAX_SDP_BYTES {
        return Err(ApiError::TooLarge { message: "the offer is too large".into() });
    }
    let offer = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("malformed_sdp", "the offer is not UTF-8 text"))?
        .to_string();
    let auth = PeerAuth::of(&who, s.is_controller(&who.sub));
    // The per-address cap on WHEP resources: 429 before any media work.
    let place = match (side, addr) {
        (Side::Viewer, Some(ip)) => {
            let limit = state.config.edge.whep_per_address;
            match state.whep_places.acquire(ip, limit) {
                Some(g) => Some(g),
                None => {
                    tracing::warn!(address = %ip, limit, "WHEP resources per address: refused");
                    return Err(ApiError::RateLimited { retry_after_secs: 10 });
                }
            }
        }
        _ => None,
    };
    let created = state.media.open(side, meta(&s), auth, offer, place).await?;
    state.audit.append(
        crate::audit::Entry::new("join")
            .by(&who)
            .from(addr)
            .session(&s.id)
            .detail(serde_json::json!({"channel": side.path()})),
    );
    let location = format!("/api/sessions/{}/{}/{}", s.id, side.path(), created.resource);
    let mut resp = (StatusCode::CREATED, created.answer).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SDP));
    put(h, header::LOCATION, &location);
    put(h, header::ETAG, &created.etag);
    h.insert("accept-patch", HeaderValue::from_static(SDPFRAG));
    for link in ice_links(&state) {
        if let Ok(v) = HeaderValue::from_str(&link) {
            h.append(header::LINK, v);
        }
    }
    cors(&state, &headers, h);
    Ok(resp)
}

/// A viewer role the live session's audience leaves out gets 403 (the
/// issue's WHEP contract) rather than the 404 of an invisible session; any
/// other caller who may not see it still gets 404.
async fn not_in_audience(state: &AppState, who: &Principal, id: &str) -> ApiError {
    let not_found = ApiError::not_found("session");
    if id.len() > 64 || !who.role.is_viewer() || who.sessions.as_ref().is_some_and(|l| !l.iter().any(|s| s == id)) {
        return not_found;
    }
    match state.store.session(id).await {
        Ok(Some(s)) if s.state == SessionState::Live && !s.audience.contains(&who.role) => ApiError::Forbidden {
            code: "not_in_audience",
            message: format!("this session is not open to the {} role", who.role),
        },
        _ => not_found,
    }
}

fn put(h: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// `Link: <stun:…>; rel="ice-server"` per configured server; a TURN entry
/// may carry `username=U credential=P` after its URL.
pub fn ice_links(state: &AppState) -> Vec<String> {
    state
        .config
        .rtc
        .ice_servers
        .iter()
        .map(|entry| {
            let mut parts = entry.split_whitespace();
            let url = parts.next().unwrap_or("");
            let mut link = format!("<{url}>; rel=\"ice-server\"");
            for kv in parts {
                if let Some((k, v)) = kv.split_once('=') {
                    if matches!(k, "username" | "credential") {
                        link.push_str(&format!("; {k}=\"{}\"", v.replace('"', "")));
                    }
                }
            }
            if link.contains("credential=") {
                link.push_str("; credential-type=\"password\"");
            }
            link
        })
        .collect()
}

/// CORS headers for an allowed cross-origin caller.
fn cors(state: &AppState, req: &HeaderMap, h: &mut HeaderMap) {
    let Some(origin) = req.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else { return };
    if !origin_allowed(state, req, origin) {
        return;
    }
    put(h, header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE));
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
}

fn preflight(state: &AppState, req: &HeaderMap, methods: &'static str, h: &mut HeaderMap) {
    cors(state, req, h);
    if h.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(methods));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type, If-Match"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
}

async fn options_endpoint(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert(header::ALLOW, HeaderValue::from_static("OPTIONS, POST"));
    h.insert("accept-post", HeaderValue::from_static(SDP));
    let is_preflight = headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    preflight(&state, &headers, "OPTIONS, POST", h);
    // RFC 9725 §4.4: ICE servers on OPTIONS only when it is not a preflight.
    if !is_preflight {
        for link in ice_links(&state) {
            if let Ok(v) = HeaderValue::from_str(&link) {
                h.append(header::LINK, v);
            }
        }
    }
    resp
}

async fn options_resource(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    h.insert(header::ALLOW, HeaderValue::from_static("OPTIONS, PATCH, DELETE"));
    h.insert("accept-patch", HeaderValue::from_static(SDPFRAG));
    preflight(&state, &headers, "OPTIONS, PATCH, DELETE", h);
    resp
}

async fn patch_whip(state: State<AppState>, p: Path<(String, String)>, headers: HeaderMap, body: Bytes) -> Response {
    patch(state, p, headers, body, Side::Publisher).await.unwrap_or_else(IntoResponse::into_response)
}

async fn patch_whep(state: State<AppState>, p: Path<(String, String)>, headers: HeaderMap, body: Bytes) -> Response {
    patch(state, p, headers, body, Side::Viewer).await.unwrap_or_else(IntoResponse::into_response)
}

async fn patch(
    State(state): State<AppState>,
    Path((id, resource)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
    side: Side,
) -> Result<Response, ApiError> {
    let who = caller(&state, &headers, None).await?;
    let s = super::load_session(&state, &who, &id, Permission::Watch).await?;
    if !content_type_is(&headers, SDPFRAG) {
        return Err(ApiError::UnsupportedMedia { message: format!("a PATCH must be {SDPFRAG}") });
    }
    let if_match =
        headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()).ok_or(ApiError::PreconditionRequired)?.to_string();
    let frag = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("malformed_sdp", "the fragment is not UTF-8 text"))?
        .to_string();
    let auth = PeerAuth::of(&who, s.is_controller(&who.sub));
    let patched = state.media.patch(&s.id, side, &resource, auth, if_match, frag).await?;
    let mut resp = match patched.fragment {
        Some(f) => {
            let mut r = (StatusCode::OK, f).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SDPFRAG));
            r
        }
        None => StatusCode::NO_CONTENT.into_response(),
    };
    put(resp.headers_mut(), header::ETAG, &patched.etag);
    cors(&state, &headers, resp.headers_mut());
    Ok(resp)
}

async fn delete_whip(state: State<AppState>, p: Path<(String, String)>, headers: HeaderMap) -> Response {
    delete(state, p, headers, Side::Publisher).await.unwrap_or_else(IntoResponse::into_response)
}

async fn delete_whep(state: State<AppState>, p: Path<(String, String)>, headers: HeaderMap) -> Response {
    delete(state, p, headers, Side::Viewer).await.unwrap_or_else(IntoResponse::into_response)
}

async fn delete(
    State(state): State<AppState>,
    Path((id, resource)): Path<(String, String)>,
    headers: HeaderMap,
    side: Side,
) -> Result<Response, ApiError> {
    let who = caller(&state, &headers, None).await?;
    let s = super::load_session(&state, &who, &id, Permission::Watch).await?;
    let auth = PeerAuth::of(&who, s.is_controller(&who.sub));
    state.media.delete(&s.id, side, &resource, auth).await?;
    let mut resp = (StatusCode::OK, axum::Json(serde_json::json!({"stopped": true}))).into_response();
    cors(&state, &headers, resp.headers_mut());
    Ok(resp)
}
