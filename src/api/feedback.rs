//! `/api/sessions/{id}/feedback`: a viewer's rating and comment, once; the
//! summary for the owner, educators and admins.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;

use super::extract::{Json, Path};
use super::load_session;
use crate::audience::feedback;
use crate::auth::{Permission, Principal};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/sessions/{id}/feedback", post(submit).get(read))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    rating: i64,
    #[serde(default)]
    comment: Option<String>,
}

async fn submit(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    Json(body): Json<FeedbackBody>,
) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::FeedbackCreate).await?;
    let v = feedback::submit(&state, &s, &who, body.rating, body.comment).await?;
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

async fn read(State(state): State<AppState>, who: Principal, Path(id): Path<String>) -> Result<Response, ApiError> {
    let s = load_session(&state, &who, &id, Permission::FeedbackRead).await?;
    Ok(axum::Json(feedback::read(&state, &s).await?).into_response())
}
