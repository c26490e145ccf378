//! The plain-HTTP listener: HTTP/1.1 only, served by hyper directly (rather
//! than `axum::serve`, whose protocol sniffing wraps every connection) so a
//! WebSocket upgrade hands the live channel the bare `TcpStream`.
//! Connections get TCP_NODELAY and a header-read timeout (which also ends a
//! keep-alive connection idle that long); at most `max_connections` are
//! open at once (the next gets a bare 503 and is closed); on shutdown the
//! listener closes and open requests get up to 10 s to finish.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::state::AppState;

/// Sent, then closed, to a connection over the global limit.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 70\r\nRetry-After: 5\r\nConnection: close\r\n\r\n{\"error\":{\"code\":\"unavailable\",\"message\":\"too many open connections\"}}";
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

pub async fn serve(listener: TcpListener, app: Router, state: AppState) -> std::io::Result<()> {
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
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let mut tcp = tcp;
                let _ = tokio::time::timeout(Duration::from_secs(2), async {
                    tcp.write_all(BUSY).await?;
                    tcp.shutdown().await
                })
                .await;
            });
            continue;
        };
        let app = app.clone();
        let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(edge.header_read_timeout)
            .serve_connection(TokioIo::new(tcp), svc)
            .with_upgrades();
        let (alive, state) = (alive.clone(), state.clone());
        tokio::spawn(async move {
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
            drop(alive);
            drop(permit);
        });
    }
    drop(listener);
    drop(alive);
    let _ = tokio::time::timeout(DRAIN_LIMIT, all_done.recv()).await;
    Ok(())
}
