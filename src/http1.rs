//! The listener, plain HTTP or TLS: HTTP/1.1 only, served by hyper directly
//! (rather than `axum::serve`, whose protocol sniffing wraps every
//! connection) so a plain WebSocket upgrade hands the live channel the bare
//! `TcpStream`. Both transports get the same edge: TCP_NODELAY, a
//! header-read timeout (which also bounds the TLS handshake and ends a
//! keep-alive connection idle that long), and at most `max_connections`
//! open at once, upgraded WebSockets included (the next gets a bare 503 and
//! is closed); on shutdown the listener closes and open requests get up to
//! 10 s to finish. A TLS connection that ends is closed with `close_notify`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OwnedSemaphorePermit;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::state::AppState;

/// Sent, then closed, to a connection over the global limit.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 70\r\nRetry-After: 5\r\nConnection: close\r\n\r\n{\"error\":{\"code\":\"unavailable\",\"message\":\"too many open connections\"}}";
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// A connection's place under the global limit, put in each request's
/// extensions: a WebSocket upgrade takes the permit, so the socket keeps
/// counting after hyper lets go of the connection.
#[derive(Clone, Default)]
pub struct ConnPlace(std::sync::Arc<std::sync::Mutex<Option<OwnedSemaphorePermit>>>);

impl ConnPlace {
    fn new(permit: OwnedSemaphorePermit) -> Self {
        Self(std::sync::Arc::new(std::sync::Mutex::new(Some(permit))))
    }
    /// Take the permit (once); it is given back when the taker drops it.
    pub fn take(&self) -> Option<OwnedSemaphorePermit> {
        self.0.lock().ok()?.take()
    }
}

/// Serve `listener` until shutdown; with `tls`, every connection first
/// completes a TLS handshake (within the header-read timeout).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    state: AppState,
    tls: Option<TlsAcceptor>,
) -> std::io::Result<()> {
    // Every connection task holds a clone; all dropped = all connections done.
    let (alive, mut all_done) = tokio::sync::mpsc::channel::<()>(1);
    let stop = state.shutdown.wait();
    tokio::pin!(stop);
    let edge = state.config.edge.clone();
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(edge.max_connections.max(1)));
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: back off, go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = tcp.set_nodelay(true);
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(address = %peer.ip(), limit = edge.max_connections, "connection limit reached: refused");
            // Under TLS the client expects a handshake, not an HTTP answer: just close.
            if tls.is_none() {
                tokio::spawn(refuse(tcp));
            }
            continue;
        };
        let (app, alive, state, tls) = (app.clone(), alive.clone(), state.clone(), tls.clone());
        tokio::spawn(async move {
            let place = ConnPlace::new(permit);
            let timeout = state.config.edge.header_read_timeout;
            match tls {
                None => connection(tcp, peer, app, &state, place.clone()).await,
                Some(acceptor) => match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => connection(stream, peer, app, &state, place.clone()).await,
                    Ok(Err(e)) => tracing::debug!(address = %peer.ip(), error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(address = %peer.ip(), "TLS handshake timed out"),
                },
            }
            drop(alive);
            drop(place);
        });
    }
    drop(listener);
    drop(alive);
    let _ = tokio::time::timeout(DRAIN_LIMIT, all_done.recv()).await;
    Ok(())
}

/// Serve one connection (plain or TLS) until it ends or the server stops.
async fn connection<IO>(io: IO, peer: SocketAddr, app: Router, state: &AppState, place: ConnPlace)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
        req.extensions_mut().insert(place.clone());
        app.clone().oneshot(req.map(axum::body::Body::new))
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(state.config.edge.header_read_timeout)
        .serve_connection(TokioIo::new(io), svc)
        .with_upgrades();
    tokio::pin!(conn);
    let r = tokio::select! {
        r = conn.as_mut() => r,
        _ = state.shutdown.wait() => {
            // Finish the request in flight, then close.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = r {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Write `BUSY` and close, bounded.
async fn refuse(mut tcp: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        tcp.write_all(BUSY).await?;
        tcp.shutdown().await
    })
    .await;
}
