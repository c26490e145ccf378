//! `/api/sessions/{id}/pulse`: a viewer's pulse (also the `pulse` frame),
//! and the whole series on the released timeline for presenters.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;
use serde_json::json;

use super::extract::{Json, Path};
use super::load_session;
use crate::audience::{pulse_timeline, qa};
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/sessions/{id}/pulse", post(send).get(series))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PulseBody {
    value: String,
}

async fn send(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(body): Json<PulseBody>,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::PulseSend).await?;
    let at = qa::pulse(&state, &s, &who, &body.value).await?;
    let at = chrono::DateTime::from_timestamp_millis(at);
    Ok((StatusCode::CREATED, axum::Json(json!({"value": body.value, "at": at}))).into_response())
}

async fn series(State(state): State<AppState>, who: Principal, Path(id): Path<String>) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::PulseRead).await?;
    Ok(axum::Json(pulse_timeline::report(&state, &s).await?).into_response())
}
