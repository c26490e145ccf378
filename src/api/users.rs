//! Account management (admin): create accounts, kick a user (revokes every
//! token issued to them so far and closes their live connections).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::Router;
use serde::Deserialize;
use serde_json::json;

use super::extract::{ClientAddr, Json, Path};
use crate::audit::Entry;
use crate::auth::{authorize, Permission, Principal};
use crate::error::ApiError;
use crate::state::AppState;
use crate::users::{self, NewUser};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/users", post(create))
        .route("/api/users/{sub}/kick", post(kick))
        .route("/api/users/{sub}/role", put(set_role))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    username: String,
    password: String,
    role: String,
    name: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Json(b): Json<Body>,
) -> Result<Response, ApiError> {
    authorize(&who, Permission::AccountsManage, None)?;
    let role = crate::model::Role::parse(&b.role).ok_or_else(|| ApiError::invalid("invalid_role", "unknown role"))?;
    let user =
        users::add(state.store.as_ref(), NewUser { username: b.username, password: b.password, role, name: b.name })
            .await?;
    state
        .audit
        .append(Entry::new("user_create").by(&who).from(addr).detail(json!({"user": user.sub, "role": user.role})));
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"sub": user.sub, "username": user.username, "name": user.name, "role": user.role})),
    )
        .into_response())
}

async fn kick(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path(sub): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&who, Permission::UserKick, None)?;
    if sub.len() > 128 {
        return Err(ApiError::invalid("invalid_user", "no such user"));
    }
    let now = chrono::Utc::now().timestamp();
    state.store.revoke_subject(&sub, now).await?;
    state.revocations.revoke_subject(&sub, now);
    tracing::info!(target_user = %sub, "user kicked");
    state.audit.append(Entry::new("kick").by(&who).from(addr).detail(json!({"user": sub})));
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: String,
}

/// Change an account's role. Tokens issued before carry the old role, so
/// they are revoked (as by a kick): the user signs in again.
async fn set_role(
    State(state): State<AppState>,
    who: Principal,
    ClientAddr(addr): ClientAddr,
    Path(sub): Path<String>,
    Json(b): Json<RoleBody>,
) -> Result<Response, ApiError> {
    authorize(&who, Permission::RoleChange, None)?;
    let role = crate::model::Role::parse(&b.role).ok_or_else(|| ApiError::invalid("invalid_role", "unknown role"))?;
    let user = match sub.len() {
        0..=128 => state.store.user_by_sub(&sub).await?,
        _ => None,
    };
    let user = user.ok_or_else(|| ApiError::not_found("user"))?;
    state.store.set_user_role(&user.sub, role).await?;
    let now = chrono::Utc::now().timestamp();
    state.store.revoke_subject(&user.sub, now).await?;
    state.revocations.revoke_subject(&user.sub, now);
    state.audit.append(
        Entry::new("role_change").by(&who).from(addr).detail(json!({"user": user.sub, "from": user.role, "to": role})),
    );
    Ok(axum::Json(json!({"sub": user.sub, "username": user.username, "name": user.name, "role": role})).into_response())
}
