//! The HTTP edge's own rules, as one middleware: security headers on every
//! response, CSRF (a cookie-authenticated state-changing request must carry
//! a same-origin `Origin`), and the per-address count of live sockets that
//! the WebSocket upgrade consults.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::principal::{token_from_headers, Source};
use crate::error::ApiError;
use crate::state::AppState;

/// The CSP of API responses (the web app sets its own on `/` and its files).
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Open live sockets per client address, shared by one server's requests.
#[derive(Default)]
pub struct AddrCounts {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted socket; dropping it gives the place back.
pub struct AddrGuard {
    counts: Arc<AddrCounts>,
    ip: IpAddr,
}

impl AddrCounts {
    /// Count one more socket from `ip`, unless it already has `limit`.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr, limit: usize) -> Option<AddrGuard> {
        let mut open = self.open.lock().ok()?;
        let n = open.entry(ip).or_insert(0);
        if *n >= limit {
            return None;
        }
        *n += 1;
        Some(AddrGuard { counts: self.clone(), ip })
    }
}

impl Drop for AddrGuard {
    fn drop(&mut self) {
        if let Ok(mut open) = self.counts.open.lock() {
            if let Some(n) = open.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.remove(&self.ip);
                }
            }
        }
    }
}

/// What the upgrade needs to apply the per-address cap.
#[derive(Clone)]
pub struct LiveCap {
    pub counts: Arc<AddrCounts>,
    pub limit: usize,
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// CSRF, the live-socket counter, and the security headers.
pub async fn edge(State((state, cap)): State<(AppState, LiveCap)>, mut req: Request, next: Next) -> Response {
    if !is_safe(req.method()) {
        if let Some((_, Source::Cookie)) = token_from_headers(req.headers()) {
            let origin = req.headers().get(header::ORIGIN).and_then(|o| o.to_str().ok());
            let same = origin.is_some_and(|o| super::live::origin_allowed(&state, req.headers(), o));
            if !same {
                let ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
                tracing::warn!(address = ?ip, path = %req.uri().path(), "cookie request without a same-origin Origin refused");
                let e = ApiError::Forbidden {
                    code: "cross_origin",
                    message: "a cookie-authenticated request must come from this server's origin (Origin header)"
                        .into(),
                };
                let mut resp = e.into_response();
                headers(&state, req.uri().path(), &mut resp);
                return resp;
            }
        }
    }
    let api = !is_app_path(req.uri().path());
    req.extensions_mut().insert(cap);
    let mut resp = next.run(req).await;
    // API responses are not cached, unless the handler chose otherwise
    // (authenticated media files say `private`).
    if api && !resp.headers().contains_key(header::CACHE_CONTROL) {
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers(&state, "", &mut resp);
    resp
}

/// API, auth, live, media and the JWKS are "API"; the web app's pages and files are not.
fn is_app_path(path: &str) -> bool {
    !(path.starts_with("/api/") || path.starts_with("/.well-known/") || path == "/metrics")
}

fn headers(state: &AppState, api_path: &str, resp: &mut Response) {
    let h = resp.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(API_CSP));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !api_path.is_empty() {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.config.tls {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address_cap_counts_and_gives_back() {
        let c = Arc::new(AddrCounts::default());
        let ip: IpAddr = [10, 0, 0, 1].into();
        let a = c.acquire(ip, 2).expect("first");
        let b = c.acquire(ip, 2).expect("second");
        assert!(c.acquire(ip, 2).is_none(), "third is over the cap");
        assert!(c.acquire([10, 0, 0, 2].into(), 2).is_some(), "another address has its own count");
        drop(a);
        let _c = c.acquire(ip, 2).expect("a place was given back");
        drop(b);
    }

    #[test]
    fn app_paths_are_not_api() {
        assert!(is_app_path("/"));
        assert!(is_app_path("/app.js"));
        assert!(!is_app_path("/api/me"));
        assert!(!is_app_path("/.well-known/jwks.json"));
    }
}
