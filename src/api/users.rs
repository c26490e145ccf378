//! Account management (admin): create accounts, kick a user (revokes every
//! token issued to them so far and closes their live connections).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;
use serde_json::json;

use super::extract::{Json, Path};
use crate::auth::{authorize, Permission, Principal};
use crate::error::ApiError;
use crate::state::AppState;
use crate::users::{self, NewUser};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/users", post(create)).route("/api/users/{sub}/kick", post(kick))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    username: String,
    password: String,
    role: String,
    name: Option<String>,
}

async fn create(State(state): State<AppState>, who: Principal, Json(b): Json<Body>) -> Result<Response, ApiError> {
    authorize(&who, Permission::AccountsManage, None)?;
    let role = crate::model::Role::parse(&b.role).ok_or_else(|| ApiError::invalid("invalid_role", "unknown role"))?;
    let user =
        users::add(state.store.as_ref(), NewUser { username: b.username, password: b.password, role, name: b.name })
            .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"sub": user.sub, "username": user.username, "name": user.name, "role": user.role})),
    )
        .into_response())
}

async fn kick(State(state): State<AppState>, who: Principal, Path(sub): Path<String>) -> Result<Response, ApiError> {
    authorize(&who, Permission::UserKick, None)?;
    let now = chrono::Utc::now().timestamp();
    state.store.revoke_subject(&sub, now).await?;
    state.revocations.revoke_subject(&sub, now);
    tracing::info!(target_user = %sub, "user kicked");
    Ok(StatusCode::NO_CONTENT.into_response())
}
