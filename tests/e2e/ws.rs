//! A real WebSocket viewer (tokio-tungstenite) for the live channel.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::TestServer;

pub struct Viewer {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the socket produced next.
#[derive(Debug)]
pub enum Next {
    Frame(Value),
    Closed(Option<u16>),
    Timeout,
}

pub fn ws_url(ts: &TestServer, path: &str) -> String {
    format!("{}{}", ts.server.url.replace("http://", "ws://"), path)
}

pub async fn connect_with(
    url: &str,
    headers: &[(&str, &str)],
) -> Result<Viewer, tokio_tungstenite::tungstenite::Error> {
    let mut req = url.into_client_request()?;
    for (k, v) in headers {
        req.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
            http::HeaderValue::from_str(v).expect("value"),
        );
    }
    let (ws, _) = tokio_tungstenite::connect_async(req).await?;
    Ok(Viewer { ws })
}

pub async fn viewer(ts: &TestServer, session: &str, token: &str, after: u64) -> Viewer {
    let url = ws_url(ts, &format!("/api/sessions/{session}/live?after={after}"));
    connect_with(&url, &[("authorization", &format!("Bearer {token}"))]).await.expect("connect")
}

impl Viewer {
    pub async fn next(&mut self, wait: Duration) -> Next {
        loop {
            match tokio::time::timeout(wait, self.ws.next()).await {
                Err(_) => return Next::Timeout,
                Ok(None) => return Next::Closed(None),
                Ok(Some(Err(_))) => return Next::Closed(None),
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Next::Frame(serde_json::from_str(t.as_str()).expect("json frame"))
                }
                Ok(Some(Ok(Message::Close(c)))) => return Next::Closed(c.map(|f| u16::from(f.code))),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next frame of `kind` (skipping others), or panic after `wait`.
    pub async fn expect(&mut self, kind: &str, wait: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Next::Frame(f) if f["type"] == kind => return f,
                Next::Frame(_) => continue,
                other => panic!("expected a {kind} frame, got {other:?}"),
            }
        }
    }

    /// Collect frames of `kind` until `quiet` passes with nothing new.
    pub async fn drain(&mut self, kind: &str, quiet: Duration) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            match self.next(quiet).await {
                Next::Frame(f) if f["type"] == kind => out.push(f),
                Next::Frame(_) => continue,
                _ => return out,
            }
        }
    }

    /// The close code the server sends next (skipping frames).
    pub async fn close_code(&mut self, wait: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Next::Frame(_) => continue,
                Next::Closed(c) => return c,
                Next::Timeout => return None,
            }
        }
    }

    pub async fn send(&mut self, v: &str) {
        self.ws.send(Message::Text(v.into())).await.expect("send");
    }
}
