//! The archive: what an ended session keeps (per its consent), the replay
//! timeline, the streamed and signed export, retention and purge.
//!
//! - At the end of a session whose consent allows `archive`, its released
//!   timeline, clean images and recording stay; otherwise all of it is purged
//!   at once (the session row and its audit trail stay).
//! - [`retention`] purges archived sessions `retention_days` after their end.
//! - An admin's `DELETE /api/sessions/{id}` removes the session entirely.
//!
//! Only released items are ever stored (held, retracted and dumped items
//! live in memory only), so nothing here needs to filter them out again.

pub mod export;
pub mod probe;
pub mod retention;
pub mod timeline;

use std::path::PathBuf;

use chrono::Utc;
use serde_json::{json, Value};

use crate::audit::Entry;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::model::Session;
use crate::state::AppState;
use crate::store::ArchiveState;

/// The archive key that signs export manifests, in the data directory.
pub const KEY_FILE: &str = "archive.key";

/// A session's media folder: its released images and its recordings.
pub fn media_dir(state: &AppState, session_id: &str) -> PathBuf {
    state.config.data_dir.join("media").join(session_id)
}

/// The session has just ended: keep its archive, or purge it per consent.
pub async fn on_ended(state: &AppState, s: &Session) -> Result<(), ApiError> {
    let archive = s.consent.as_ref().is_some_and(|c| c.scope.archive);
    if archive {
        let st = ArchiveState { archived: true, purged_at: None, reason: None };
        state.store.set_archive_state(&s.id, &st).await?;
        return Ok(());
    }
    purge_content(state, &s.id, "no_archive_consent", None, json!({"reason": "no_archive_consent"})).await?;
    Ok(())
}

/// Remove a session's folder (images and recordings); returns files removed.
async fn remove_files(state: &AppState, session_id: &str) -> Result<usize, ApiError> {
    let dir = media_dir(state, session_id);
    tokio::task::spawn_blocking(move || -> std::io::Result<usize> {
        let n = match std::fs::read_dir(&dir) {
            Ok(entries) => entries.count(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        std::fs::remove_dir_all(&dir)?;
        Ok(n)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// Purge a session's stored content (timeline, images, recordings,
/// invites); the row stays, marked purged, and the purge is audited.
pub async fn purge_content(
    state: &AppState,
    session_id: &str,
    reason: &str,
    who: Option<(&Principal, Option<std::net::IpAddr>)>,
    mut detail: Value,
) -> Result<usize, ApiError> {
    state.store.purge_session_content(session_id).await?;
    let files = remove_files(state, session_id).await?;
    let st = ArchiveState { archived: false, purged_at: Some(Utc::now()), reason: Some(reason.to_string()) };
    state.store.set_archive_state(session_id, &st).await?;
    detail["files"] = json!(files);
    let mut e = Entry::new("purge").session(session_id).detail(detail);
    if let Some((who, addr)) = who {
        e = e.by(who).from(addr);
    }
    state.audit.append(e);
    tracing::info!(session = %session_id, reason, files, "session content purged");
    Ok(files)
}

/// Remove everything stored for a session except its audit events.
pub async fn delete_session(
    state: &AppState,
    s: &Session,
    who: &Principal,
    addr: Option<std::net::IpAddr>,
) -> Result<(), ApiError> {
    state.store.purge_session_content(&s.id).await?;
    let files = remove_files(state, &s.id).await?;
    state.store.delete_session(&s.id).await?;
    state.identifiers.forget(state.store.as_ref(), &s.id).await?;
    state.audit.append(
        Entry::new("purge").by(who).from(addr).session(&s.id).detail(json!({"reason": "admin", "files": files})),
    );
    tracing::info!(session = %s.id, files, "session deleted");
    Ok(())
}

/// The session as an archive shows it: the consent's scope, not its
/// reference or notes (free text that never passed the redaction gate).
pub fn session_summary(s: &Session) -> Value {
    json!({
        "id": s.id,
        "title": s.title,
        "procedure": s.procedure,
        "owner": s.owner,
        "state": s.state,
        "delay_seconds": s.delay_seconds,
        "audience": s.audience,
        "consent": s.consent.as_ref().map(|c| json!({"scope": c.scope, "recorded_at": c.recorded_at})),
        "created_at": s.created_at,
        "started_at": s.started_at,
        "ended_at": s.ended_at,
    })
}
