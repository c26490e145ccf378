//! The replay timeline: released items in `seq` order with their offset
//! from the start of the recording, the recording files (media type, size,
//! duration) and the markers, so a player can jump to "incision".

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::model::Session;
use crate::state::AppState;

const PAGE: u32 = 1000;

/// One recording file of a session.
#[derive(Debug, Clone, Serialize)]
pub struct Recording {
    pub name: String,
    #[serde(skip)]
    pub path: PathBuf,
    pub media_type: &'static str,
    pub bytes: u64,
    pub duration_ms: Option<u64>,
    /// When its first frame was released (the file's creation).
    pub started_at: Option<DateTime<Utc>>,
}

/// `recording-N.webm` or `recording-N.mkv` → its media type.
pub fn recording_media_type(name: &str) -> Option<&'static str> {
    let (stem, ext) = name.rsplit_once('.')?;
    let n = stem.strip_prefix("recording-")?;
    if n.is_empty() || n.len() > 9 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match ext {
        "webm" => Some("video/webm"),
        "mkv" => Some("video/x-matroska"),
        _ => None,
    }
}

fn generation(name: &str) -> u64 {
    name.trim_start_matches("recording-").split('.').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// The recordings in a session's folder, in generation order.
pub fn recordings(dir: &Path) -> std::io::Result<Vec<Recording>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(media_type) = recording_media_type(&name) else { continue };
        let meta = entry.metadata()?;
        if !meta.is_file() {
            continue;
        }
        let path = entry.path();
        let duration_ms = std::fs::File::open(&path).ok().and_then(|mut f| super::probe::duration_ms(&mut f));
        let started_at = meta.created().ok().map(DateTime::<Utc>::from).or_else(|| {
            let modified = DateTime::<Utc>::from(meta.modified().ok()?);
            Some(modified - chrono::Duration::milliseconds(i64::try_from(duration_ms?).ok()?))
        });
        out.push(Recording { name, path, media_type, bytes: meta.len(), duration_ms, started_at });
    }
    out.sort_by_key(|r| generation(&r.name));
    Ok(out)
}

/// Every released update of a session, parsed, in `seq` order.
pub async fn released(state: &AppState, session_id: &str) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = state.store.updates_after(session_id, after, PAGE).await?;
        let n = page.len();
        for u in page {
            after = u.seq;
            out.push(serde_json::from_str(&u.body).map_err(ApiError::internal)?);
        }
        if n < PAGE as usize {
            return Ok(out);
        }
    }
}

fn offset_ms(v: &Value, origin: Option<DateTime<Utc>>) -> Value {
    let released = v["released_at"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    match (released, origin) {
        (Some(r), Some(o)) => json!((r.with_timezone(&Utc) - o).num_milliseconds()),
        _ => Value::Null,
    }
}

/// The timeline document (also `timeline.json` in an export).
pub async fn build(state: &AppState, s: &Session) -> Result<(Value, Vec<Recording>), ApiError> {
    let dir = super::media_dir(state, &s.id);
    let recs = tokio::task::spawn_blocking(move || recordings(&dir))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let (origin, origin_kind) = match recs.iter().find_map(|r| r.started_at) {
        Some(t) => (Some(t), "recording"),
        None => (s.started_at, "session_start"),
    };
    let mut items = released(state, &s.id).await?;
    let mut markers = Vec::new();
    for item in &mut items {
        let off = offset_ms(item, origin);
        if item["kind"] == "marker" {
            markers.push(json!({"seq": item["seq"], "id": item["id"], "label": item["label"],
                                "released_at": item["released_at"], "offset_ms": off}));
        }
        item["offset_ms"] = off;
    }
    let recordings: Vec<Value> = recs
        .iter()
        .map(|r| {
            let offset = match (r.started_at, origin) {
                (Some(t), Some(o)) => json!((t - o).num_milliseconds()),
                _ => Value::Null,
            };
            json!({"name": r.name, "url": format!("/api/sessions/{}/recordings/{}", s.id, r.name),
                   "media_type": r.media_type, "bytes": r.bytes, "duration_ms": r.duration_ms,
                   "started_at": r.started_at, "offset_ms": offset})
        })
        .collect();
    let archive = state.store.archive_state(&s.id).await?;
    let doc = json!({
        "session": super::session_summary(s),
        "archived": archive.as_ref().map(|a| a.archived && a.purged_at.is_none())
            .unwrap_or_else(|| s.consent.as_ref().is_some_and(|c| c.scope.archive)),
        "purged_at": archive.as_ref().and_then(|a| a.purged_at),
        "origin": origin,
        "origin_kind": origin_kind,
        "items": items,
        "recordings": recordings,
        "markers": markers,
    });
    Ok((doc, recs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_names() {
        assert_eq!(recording_media_type("recording-1.webm"), Some("video/webm"));
        assert_eq!(recording_media_type("recording-12.mkv"), Some("video/x-matroska"));
        for bad in ["recording-.webm", "recording-1.mp4", "../recording-1.webm", "recording-1a.webm", "x.webm"] {
            assert_eq!(recording_media_type(bad), None, "{bad}");
        }
    }
}
