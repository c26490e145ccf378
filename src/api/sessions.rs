//! `/api/sessions`: create, list, get, patch, moderators, consent, patient
//! identifiers, start/end, invites. Thin: parse, authorize, call the owner.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::extract::{ClientAddr, Json, Path};
use crate::audit::Entry;
use crate::auth::{authorize, Permission, Principal};
use crate::error::ApiError;
use crate::model::{Invite, Role, Session, SessionState};
use crate::session::identifiers::PatientIdentifiers;
use crate::session::lifecycle::{self, ConsentBody, NewSession, SessionPatch};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/sessions", post(create).get(list))
        .route("/api/sessions/{id}", get(read).patch(patch).delete(super::archive::purge))
        .route("/api/sessions/{id}/moderators", put(moderators))
        .route("/api/sessions/{id}/consent", put(consent))
        .route("/api/sessions/{id}/identifiers", put(identifiers))
        .route("/api/sessions/{id}/start", post(start))
        .route("/api/sessions/{id}/end", post(end))
        .route("/api/sessions/{id}/invites", post(invite))
}

/// Load a session and check `perm` against it; records the session on the span.
pub async fn load(state: &AppState, who: &Principal, id: &str, perm: Permission) -> Result<Session, ApiError> {
    tracing::Span::current().record("session", id);
    if id.len() > 64 {
        return Err(ApiError::not_found("session"));
    }
    let s = state.store.session(id).await?.ok_or_else(|| ApiError::not_found("session"))?;
    authorize(who, perm, Some(&s))?;
    Ok(s)
}

async fn create(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Json(req): Json<NewSession>,
) -> Result<Response, ApiError> {
    authorize(&who, Permission::SessionCreate, None)?;
    let s = lifecycle::create(uuid::Uuid::new_v4().to_string(), &who.sub, req, Utc::now())?;
    tracing::Span::current().record("session", s.id.as_str());
    state.store.create_session(&s).await?;
    tracing::info!(session = %s.id, "session created");
    state.audit.append(Entry::new("session_create").by(&who).from(addr).session(&s.id));
    Ok((StatusCode::CREATED, axum::Json(s)).into_response())
}

async fn list(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    authorize(&who, Permission::SessionRead, None)?;
    let all = state.store.sessions().await?;
    let visible: Vec<Session> = all.into_iter().filter(|s| crate::auth::permissions::can_see(&who, s)).collect();
    Ok(axum::Json(visible).into_response())
}

async fn read(State(state): State<AppState>, who: Principal, Path(id): Path<String>) -> Result<Response, ApiError> {
    let s = load(&state, &who, &id, Permission::SessionRead).await?;
    Ok(axum::Json(s).into_response())
}

async fn patch(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    Json(p): Json<SessionPatch>,
) -> Result<Response, ApiError> {
    let mut s = load(&state, &who, &id, Permission::SessionPatch).await?;
    let detail = json!({"delay_seconds": p.delay_seconds, "redaction_policy": p.redaction_policy});
    lifecycle::patch(&mut s, p)?;
    state.audit.append(Entry::new("session_patch").by(&who).from(addr).session(&s.id).detail(detail));
    state.store.save_session(&s).await?;
    crate::live::on_session_changed(&state, &s).await;
    Ok(axum::Json(s).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModeratorsBody {
    #[serde(default)]
    users: Vec<String>,
    /// Extension: moderators by username (the console's form), resolved to subs here.
    #[serde(default)]
    usernames: Vec<String>,
}

async fn moderators(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    Json(body): Json<ModeratorsBody>,
) -> Result<Response, ApiError> {
    let mut s = load(&state, &who, &id, Permission::ModeratorsSet).await?;
    if body.users.len() + body.usernames.len() > 50 {
        return Err(ApiError::invalid("invalid_moderators", "at most 50 moderators"));
    }
    let mut body = body;
    for name in std::mem::take(&mut body.usernames) {
        let found = if name.len() <= 64 { state.store.user_by_username(&name).await? } else { None };
        match found {
            Some(u) if u.role == Role::Moderator => body.users.push(u.sub),
            _ => {
                return Err(ApiError::invalid(
                    "invalid_moderators",
                    "every username must be an existing moderator account",
                ))
            }
        }
    }
    for sub in &body.users {
        let ok = sub.len() <= 64 && state.store.user_by_sub(sub).await?.is_some_and(|u| u.role == Role::Moderator);
        if !ok {
            return Err(ApiError::invalid("invalid_moderators", "every user must be an existing moderator account"));
        }
    }
    state.store.set_moderators(&s.id, &body.users).await?;
    s.moderators = body.users;
    s.moderators.sort();
    s.moderators.dedup();
    state.audit.append(
        Entry::new("moderators_set").by(&who).from(addr).session(&s.id).detail(json!({"moderators": s.moderators})),
    );
    crate::live::on_session_changed(&state, &s).await;
    Ok(axum::Json(s).into_response())
}

async fn consent(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    Json(body): Json<ConsentBody>,
) -> Result<Response, ApiError> {
    let mut s = load(&state, &who, &id, Permission::ConsentRecord).await?;
    lifecycle::record_consent(&mut s, body, &who.sub, Utc::now())?;
    state.store.save_session(&s).await?;
    crate::live::on_session_changed(&state, &s).await;
    tracing::info!("consent recorded");
    // The scope only: the reference and notes stay out of the log.
    let scope = s.consent.as_ref().map(|c| c.scope);
    state.audit.append(Entry::new("consent").by(&who).from(addr).session(&s.id).detail(json!({"scope": scope})));
    Ok(axum::Json(s).into_response())
}

async fn identifiers(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    Json(body): Json<PatientIdentifiers>,
) -> Result<Response, ApiError> {
    let s = load(&state, &who, &id, Permission::IdentifiersSet).await?;
    if s.state == SessionState::Ended {
        return Err(ApiError::conflict("session_ended", "the session has ended"));
    }
    let too_long = [&body.names, &body.mrns, &body.dates, &body.other]
        .iter()
        .any(|v| v.len() > 100 || v.iter().any(|x| x.chars().count() > 200));
    if too_long {
        return Err(ApiError::invalid("invalid_identifiers", "at most 100 entries per list of 200 characters each"));
    }
    let count = body.count();
    // Counts per list, never the values.
    let detail = json!({"names": body.names.len(), "mrns": body.mrns.len(), "dates": body.dates.len(),
                        "other": body.other.len()});
    state.identifiers.set(state.store.as_ref(), &s.id, body).await?;
    crate::live::on_identifiers_changed(&state, &s.id).await;
    tracing::info!(count, "patient identifiers registered");
    state.audit.append(Entry::new("identifiers_set").by(&who).from(addr).session(&s.id).detail(detail));
    Ok(axum::Json(json!({"registered": count})).into_response())
}

async fn start(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut s = load(&state, &who, &id, Permission::SessionStart).await?;
    lifecycle::start(&mut s, Utc::now())?;
    state.store.save_session(&s).await?;
    crate::live::on_started(&state, &s).await?;
    tracing::info!("session started");
    state.audit.append(Entry::new("start").by(&who).from(addr).session(&s.id));
    Ok(axum::Json(s).into_response())
}

async fn end(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut s = load(&state, &who, &id, Permission::SessionEnd).await?;
    lifecycle::end(&mut s, Utc::now())?;
    let dropped = crate::live::on_ending(&state, &s).await;
    crate::audience::on_ending(&state, &s.id);
    state.store.save_session(&s).await?;
    state.identifiers.forget(state.store.as_ref(), &s.id).await?;
    crate::live::on_session_changed(&state, &s).await;
    tracing::info!("session ended");
    let archive = s.consent.as_ref().is_some_and(|c| c.scope.archive);
    state.audit.append(
        Entry::new("end").by(&who).from(addr).session(&s.id).detail(json!({"dropped": dropped, "archive": archive})),
    );
    crate::archive::on_ended(&state, &s).await?;
    Ok(axum::Json(s).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    role: String,
    ttl_seconds: Option<u64>,
    max_uses: Option<u32>,
}

async fn invite(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    Json(body): Json<InviteBody>,
) -> Result<Response, ApiError> {
    let s = load(&state, &who, &id, Permission::InviteCreate).await?;
    if s.state == SessionState::Ended {
        return Err(ApiError::conflict("session_ended", "the session has ended"));
    }
    let role = Role::parse(&body.role)
        .filter(|r| r.is_viewer() && s.audience.contains(r))
        .ok_or_else(|| ApiError::invalid("invalid_role", "role must be a viewer role in the session's audience"))?;
    let ttl = body.ttl_seconds.unwrap_or(3600);
    if !(60..=7 * 24 * 3600).contains(&ttl) {
        return Err(ApiError::invalid("invalid_ttl", "ttl_seconds must be 60..=604800"));
    }
    let max_uses = body.max_uses.unwrap_or(30);
    if !(1..=1000).contains(&max_uses) {
        return Err(ApiError::invalid("invalid_max_uses", "max_uses must be 1..=1000"));
    }
    let mut raw = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut raw);
    let code = hex::encode(raw);
    let expires_at = Utc::now() + chrono::Duration::seconds(i64::try_from(ttl).unwrap_or(3600));
    let inv = Invite {
        code_hash: super::auth::hash_code(&code),
        session_id: s.id.clone(),
        role,
        expires_at,
        max_uses,
        uses: 0,
        created_by: who.sub.clone(),
    };
    state.store.create_invite(&inv).await?;
    state.audit.append(
        Entry::new("invite_create")
            .by(&who)
            .from(addr)
            .session(&s.id)
            .detail(json!({"role": role, "max_uses": max_uses, "ttl_seconds": ttl})),
    );
    let base = state.public_base();
    let url = format!("{base}/join?code={code}");
    Ok((StatusCode::CREATED, axum::Json(json!({"code": code, "url": url, "expires_at": expires_at}))).into_response())
}
