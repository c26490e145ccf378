//! Operations: liveness, readiness, Prometheus metrics, the permission table.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::auth::principal::{authenticate, token_from_headers};
use crate::auth::{authorize, permissions, Permission};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/permissions", get(table))
}

async fn healthz() -> impl IntoResponse {
    axum::Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    if state.shutdown.is_triggered() {
        return Err(ApiError::Unavailable);
    }
    // A live session's writer that cannot store what it releases (disk
    // full, say) makes the node unready too, until it has stored them.
    if state.metrics.writers_store_blocked.load(std::sync::atomic::Ordering::Relaxed) > 0 {
        return Err(ApiError::StoreUnavailable("a live session cannot store its releases".into()));
    }
    state.store.ping().await.map_err(ApiError::from).map_err(|e| match e {
        ApiError::StoreUnavailable(c) => ApiError::StoreUnavailable(c),
        other => {
            tracing::warn!(error = %other, "readiness: store check failed");
            ApiError::Unavailable
        }
    })?;
    // Which node this is, on which store, writing how many live sessions
    // (the sessions whose writer lease it holds).
    let store = match state.config.store_location() {
        Ok(crate::store::Location::Postgres(_)) => "postgres",
        _ => "sqlite",
    };
    // The bus is not needed to serve (the store fills in): reported, not required.
    let nats = match &state.bus {
        None => "off",
        Some(b) if b.connected() => "connected",
        Some(_) => "disconnected",
    };
    Ok(axum::Json(json!({"status": "ready", "node": state.config.cluster.node_id, "store": store,
                         "nats": nats, "writers": state.live.live_count()}))
    .into_response())
}

/// An admin token or the configured scrape token.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (token, _) =
        token_from_headers(&headers).ok_or(ApiError::Unauthenticated { message: "authentication required" })?;
    let scrape_ok = state.config.metrics_token.as_ref().is_some_and(|t| {
        let a = t.expose().as_bytes();
        let b = token.as_bytes();
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    });
    if !scrape_ok {
        let who = authenticate(&state, &token).await?;
        authorize(&who, Permission::MetricsRead, None)?;
    }
    let mut body = state.metrics.render();
    body.push_str(&state.media.counters.render());
    state.audit.render_metrics(&mut body);
    if let Some(bus) = &state.bus {
        bus.render_metrics(&mut body);
    }
    let main = tokio::runtime::Handle::current();
    crate::metrics::render_process(&mut body, &[("main", &main), ("gates", &state.gate_runtime)]);
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response())
}

async fn table() -> impl IntoResponse {
    axum::Json(permissions::TABLE)
}
