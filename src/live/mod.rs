//! Live sessions: hooks the session API calls when a session changes. The
//! per-session writer task and the viewer fan-out hang off these.

use crate::error::ApiError;
use crate::model::Session;
use crate::state::AppState;

/// A session's settings changed (delay, policy, moderators, consent, state).
pub async fn on_session_changed(_state: &AppState, _s: &Session) {}

/// The patient's identifiers changed: recompile the redaction matcher.
pub async fn on_identifiers_changed(_state: &AppState, _session_id: &str) {}

/// The session went live: start its writer task.
pub async fn on_started(_state: &AppState, _s: &Session) -> Result<(), ApiError> {
    Ok(())
}

/// The session is ending: drop everything held, stop the writer.
pub async fn on_ending(_state: &AppState, _s: &Session) {}
