//! Archive endpoints: the replay timeline, recordings with range requests,
//! the streamed export, the archive's public key, and an admin's purge.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::extract::{ClientAddr, Path};
use super::load_session;
use crate::archive::export::{ExportFile, Source};
use crate::archive::{self, timeline};
use crate::audit::Entry;
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::model::SessionState;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/sessions/{id}/timeline", get(read_timeline))
        .route("/api/sessions/{id}/recordings/{name}", get(recording))
        .route("/api/sessions/{id}/export", get(export))
        .route("/api/archive/key", get(key))
}

async fn read_timeline(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::ArchiveRead).await?;
    let (doc, _) = timeline::build(&state, &s).await?;
    Ok(axum::Json(doc).into_response())
}

async fn recording(
    State(state): State<AppState>,
    who: Principal,
    Path((id, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::ArchiveRead).await?;
    let media_type = timeline::recording_media_type(&name).ok_or_else(|| ApiError::not_found("recording"))?;
    let path = archive::media_dir(&state, &s.id).join(&name);
    match super::range::serve_file(&path, media_type, &headers, &[(header::CACHE_CONTROL, "private")]).await {
        Ok(r) => Ok(r),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ApiError::not_found("recording")),
        Err(e) => Err(ApiError::internal(e)),
    }
}

async fn export(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::ArchiveExport).await?;
    if s.state != SessionState::Ended {
        return Err(ApiError::conflict("not_ended", "only an ended session can be exported"));
    }
    let (doc, recordings) = timeline::build(&state, &s).await?;
    if doc["archived"] != true {
        return Err(ApiError::Gone { code: "archive_purged", message: "this session's archive was not kept".into() });
    }
    let mut files = vec![ExportFile {
        path: "timeline.json".into(),
        source: Source::Bytes(serde_json::to_vec_pretty(&doc).map_err(ApiError::internal)?),
    }];
    for m in state.store.session_media(&s.id).await? {
        let path = state.config.data_dir.join(&m.file);
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { continue };
        if path.is_file() {
            files.push(ExportFile { path: format!("media/{name}"), source: Source::File(path) });
        }
    }
    for r in recordings {
        files.push(ExportFile { path: format!("recording/{}", r.name), source: Source::File(r.path) });
    }
    state
        .audit
        .append(Entry::new("export").by(&who).from(addr).session(&s.id).detail(json!({"files": files.len() + 2})));
    tracing::info!(files = files.len(), "export started");
    let body = Body::from_stream(archive::export::stream(state.clone(), archive::session_summary(&s), files));
    let disposition = format!("attachment; filename=\"session-{}.zip\"", s.id);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

async fn key(State(state): State<AppState>) -> Response {
    axum::Json(json!({"algorithm": "Ed25519", "public_key": state.archive_key.public_hex()})).into_response()
}

/// `DELETE /api/sessions/{id}` (admin): everything but the audit events.
pub(super) async fn purge(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::SessionPurge).await?;
    if s.state == SessionState::Live {
        return Err(ApiError::conflict("session_live", "end the session before purging it"));
    }
    archive::delete_session(&state, &s, &who, addr).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
