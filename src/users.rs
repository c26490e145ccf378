//! Creating accounts, shared by the admin API, `orgallery user add` and the demo.

use chrono::Utc;

use crate::auth::password;
use crate::error::ApiError;
use crate::model::{Role, User};
use crate::store::{Store, StoreError};

pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
    pub name: Option<String>,
}

fn valid_username(u: &str) -> bool {
    (2..=64).contains(&u.len()) && u.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

pub async fn add(store: &dyn Store, n: NewUser) -> Result<User, ApiError> {
    if !valid_username(&n.username) {
        return Err(ApiError::invalid("invalid_username", "username: 2..=64 of letters, digits, '.', '_', '-'"));
    }
    if n.password.chars().count() < password::MIN_PASSWORD_LEN || n.password.len() > 1024 {
        return Err(ApiError::invalid("weak_password", "password must be 8..=1024 characters"));
    }
    let name = n.name.unwrap_or_else(|| n.username.clone());
    if name.chars().count() > 80 {
        return Err(ApiError::invalid("invalid_name", "name must be at most 80 characters"));
    }
    let pw = n.password;
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw)).await.map_err(ApiError::internal)??;
    let user = User {
        sub: uuid::Uuid::new_v4().to_string(),
        username: n.username,
        name,
        role: n.role,
        password_hash: hash,
        created_at: Utc::now(),
    };
    match store.create_user(&user).await {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict(_)) => Err(ApiError::conflict("username_taken", "that username is taken")),
        Err(e) => Err(e.into()),
    }
}
