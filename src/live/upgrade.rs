//! The WebSocket handshake (RFC 6455 §4.2), done here rather than through
//! axum's `WebSocketUpgrade` so that the live channel gets the raw
//! connection: the fan-out writes pre-framed bytes straight to the socket
//! and a small reader task parses what the client sends.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::error::ApiError;

pub type Reader = Box<dyn AsyncRead + Send + Unpin>;
pub type Writer = Box<dyn AsyncWrite + Send + Unpin>;

/// An upgraded connection, split: the write half goes to the fan-out, the
/// read half (with bytes the HTTP layer already read) to the reader task.
pub struct Conn {
    pub read: Reader,
    pub write: Writer,
    pub early: Bytes,
    /// This socket's places in its address's count and under the global
    /// connection limit (given back on drop).
    pub place: Places,
}

/// What an open socket holds until it closes.
#[derive(Default)]
pub struct Places {
    pub addr: Option<crate::api::edge::AddrGuard>,
    pub conn: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Conn {
    fn from_upgraded(up: hyper::upgrade::Upgraded, place: Places) -> Self {
        // Plain TCP (our own HTTP/1 server): split without a lock.
        match up.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => {
                let (r, w) = parts.io.into_inner().into_split();
                Conn { read: Box::new(r), write: Box::new(w), early: parts.read_buf, place }
            }
            // TLS or any other transport: a locked split of the upgraded IO.
            Err(up) => {
                let (r, w) = tokio::io::split(TokioIo::new(up));
                Conn { read: Box::new(r), write: Box::new(w), early: Bytes::new(), place }
            }
        }
    }
}

/// A valid upgrade request. Missing or wrong headers answer 400
/// `not_websocket`, before any credential is looked at.
pub struct WsUpgrade {
    accept: HeaderValue,
    on_upgrade: OnUpgrade,
    addr_place: Option<crate::api::edge::AddrGuard>,
    conn_place: Option<crate::http1::ConnPlace>,
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

impl<S: Send + Sync> FromRequestParts<S> for WsUpgrade {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let bad = |m: &str| ApiError::bad_request("not_websocket", m.to_string());
        if parts.method != Method::GET {
            return Err(bad("a WebSocket upgrade must use GET"));
        }
        if !has_token(&parts.headers, header::UPGRADE, "websocket")
            || !has_token(&parts.headers, header::CONNECTION, "upgrade")
        {
            return Err(bad("expected a WebSocket upgrade (Connection: upgrade, Upgrade: websocket)"));
        }
        if parts.headers.get(header::SEC_WEBSOCKET_VERSION).and_then(|v| v.to_str().ok()) != Some("13") {
            return Err(bad("Sec-WebSocket-Version must be 13"));
        }
        let key = parts.headers.get(header::SEC_WEBSOCKET_KEY).ok_or_else(|| bad("Sec-WebSocket-Key is missing"))?;
        let accept = HeaderValue::from_str(&derive_accept_key(key.as_bytes())).map_err(|_| bad("bad key"))?;
        // The per-address cap on open live sockets: 429 before the upgrade.
        let ip = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        let place = match (parts.extensions.get::<crate::api::edge::LiveCap>(), ip) {
            (Some(cap), Some(ip)) => match cap.counts.acquire(ip, cap.limit) {
                Some(g) => Some(g),
                None => {
                    tracing::warn!(address = %ip, limit = cap.limit, "live sockets per address: upgrade refused");
                    return Err(ApiError::RateLimited { retry_after_secs: 10 });
                }
            },
            _ => None,
        };
        let on_upgrade =
            parts.extensions.remove::<OnUpgrade>().ok_or_else(|| bad("this connection cannot be upgraded"))?;
        let conn_place = parts.extensions.get::<crate::http1::ConnPlace>().cloned();
        Ok(WsUpgrade { accept, on_upgrade, addr_place: place, conn_place })
    }
}

impl WsUpgrade {
    /// Answer 101 and run `f` on the connection once the upgrade completes.
    pub fn on_upgrade<F, Fut>(self, f: F) -> Response
    where
        F: FnOnce(Conn) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        // The connection's place under the global limit moves to the socket
        // (taken only now: a request refused before this keeps it with hyper).
        let conn = self.conn_place.and_then(|p| p.take());
        let (on_upgrade, place) = (self.on_upgrade, Places { addr: self.addr_place, conn });
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(up) => f(Conn::from_upgraded(up, place)).await,
                Err(e) => tracing::debug!(error = %e, "upgrade failed"),
            }
        });
        let mut res = Response::new(axum::body::Body::empty());
        *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let h = res.headers_mut();
        h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(header::SEC_WEBSOCKET_ACCEPT, self.accept);
        res
    }
}

/// The read half for tungstenite's frame parser. The parser may queue
/// automatic replies (pong, close); they are discarded here because every
/// write to the client goes through the fan-out, in order with the rest.
pub struct ReadOnly(pub Reader);

impl AsyncRead for ReadOnly {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ReadOnly {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
