//! The composer's pre-send preview (extension): `POST /api/sessions/{id}/redact`
//! gives a controller the text exactly as the gallery would see it, masked by
//! the same redactor with the session's registered identifiers and the names
//! the session has learned so far. The learned names are copied, never fed:
//! previewing a draft teaches the session nothing, and nothing is stored,
//! held, audited with its text or logged.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;
use serde_json::json;

use super::extract::{Json, Path};
use super::load_session;
use super::updates::{check_text, MAX_TEXT_BYTES};
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::live::{self, Command};
use crate::model::SessionState;
use crate::redaction::{Patient, SessionMemory};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/sessions/{id}/redact", post(preview))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Draft {
    text: String,
}

async fn preview(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(body): Json<Draft>,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::Publish).await?;
    check_text(&body.text, MAX_TEXT_BYTES, "text")?;
    // A live session's writer holds the compiled identifiers and the learned
    // names; otherwise (draft, or the writer just stopped) the registered
    // identifiers alone.
    let from_writer = if s.state == SessionState::Live {
        live::ask(&state, &s, |reply| Command::Redaction { reply }).await.ok().and_then(Result::ok)
    } else {
        None
    };
    let (patient, memory) = match from_writer {
        Some(p) => p,
        None => (state.identifiers.get(&s.id).map(|ids| Arc::new(Patient::compile(ids))), SessionMemory::default()),
    };
    let (r, _) = state
        .redactor
        .redact_in_session_pooled(body.text, patient, Arc::new(Mutex::new(memory)))
        .await
        .map_err(ApiError::internal)?;
    Ok(axum::Json(json!({"text": r.text, "redactions": r.spans})).into_response())
}
