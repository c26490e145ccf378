//! `GET /api/audit` (admins): the audit log with filters and cursor paging,
//! and `GET /api/audit/key`, the public key of its signed checkpoints.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::audit::format_at;
use crate::auth::{authorize, Permission, Principal};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::AuditQuery;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/audit", get(list)).route("/api/audit/key", get(key))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    session: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

fn time(field: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    v.map(|t| {
        DateTime::parse_from_rfc3339(&t)
            .map(|d| format_at(d.with_timezone(&Utc)))
            .map_err(|_| ApiError::bad_request("invalid_time", format!("{field} must be an RFC 3339 time")))
    })
    .transpose()
}

fn short(field: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    match v {
        Some(s) if s.len() > 128 => Err(ApiError::bad_request("invalid_filter", format!("{field} is too long"))),
        other => Ok(other),
    }
}

async fn list(
    State(state): State<AppState>,
    who: Principal,
    q: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    authorize(&who, Permission::AuditRead, None)?;
    let Query(p) = q.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("invalid_limit", "limit must be 1..=1000"));
    }
    // The cursor is the id of the last event of the previous page.
    let after = match p.cursor.as_deref() {
        None => 0,
        Some(c) => {
            c.parse::<u64>().ok().filter(|_| c.len() <= 20 && c.bytes().all(|b| b.is_ascii_digit())).ok_or_else(
                || ApiError::bad_request("invalid_cursor", "cursor must be a next_cursor from this endpoint"),
            )?
        }
    };
    let query = AuditQuery {
        after,
        session: short("session", p.session)?,
        actor: short("actor", p.actor)?,
        action: short("action", p.action)?,
        from: time("from", p.from)?,
        to: time("to", p.to)?,
    };
    let events = state.store.audit_events(&query, limit).await?;
    let next = if events.len() == limit as usize { events.last().map(|e| e.id.to_string()) } else { None };
    Ok(axum::Json(json!({"events": events, "next_cursor": next})).into_response())
}

async fn key(State(state): State<AppState>) -> Response {
    axum::Json(json!({"algorithm": "Ed25519", "public_key": state.audit.public_key()})).into_response()
}
