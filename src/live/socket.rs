//! One viewer's WebSocket: the backlog after `after`, then live frames from
//! the session's broadcast, in `seq` order without gaps or duplicates. A
//! viewer that falls behind the bounded queue is closed with 4008 and resumes
//! from the store; revocation closes with 4003, shutdown with 1001.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::SinkExt;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::{Hub, To};
use crate::auth::Principal;
use crate::state::AppState;
use crate::store::StoredUpdate;

pub const TOO_SLOW: u16 = 4008;
pub const REVOKED: u16 = 4003;
pub const UNAUTHENTICATED: u16 = 4001;
pub const GOING_AWAY: u16 = 1001;

/// A send that does not complete in this time means the client stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);
const BACKLOG_PAGE: u32 = 500;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMsg {
    Ping,
    Ask {
        #[allow(dead_code)]
        text: String,
    },
    Upvote {
        #[allow(dead_code)]
        question_id: String,
    },
}

/// Close right after the upgrade (browsers cannot read an HTTP status).
pub async fn close_now(mut ws: WebSocket, code: u16, reason: &'static str) {
    let _ = ws.send(Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }))).await;
}

struct Viewer<'a> {
    ws: WebSocket,
    state: &'a AppState,
    hub: &'a Hub,
    last: u64,
}

enum Flow {
    Continue,
    Stop,
}

impl Viewer<'_> {
    async fn send(&mut self, frame: Utf8Bytes) -> Flow {
        match tokio::time::timeout(SEND_TIMEOUT, self.ws.send(Message::Text(frame))).await {
            Ok(Ok(())) => Flow::Continue,
            _ => Flow::Stop,
        }
    }

    async fn close(&mut self, code: u16, reason: &'static str) {
        let frame = Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }));
        let _ = tokio::time::timeout(Duration::from_secs(2), self.ws.send(frame)).await;
    }

    /// Send stored updates with last < seq <= upto (all if `upto` is None).
    async fn catch_up(&mut self, upto: Option<u64>) -> Flow {
        loop {
            let page = match self.state.store.updates_after(&self.hub.session_id, self.last, BACKLOG_PAGE).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "backlog read failed");
                    return Flow::Stop;
                }
            };
            let n = page.len();
            for StoredUpdate { seq, body, .. } in page {
                if upto.is_some_and(|u| seq > u) {
                    return Flow::Continue;
                }
                if seq != self.last + 1 {
                    tracing::error!(seq, last = self.last, "gap in the stored log");
                }
                if let Flow::Stop = self.send(super::item::update_frame(seq, &body)).await {
                    return Flow::Stop;
                }
                self.last = seq;
            }
            if n < BACKLOG_PAGE as usize || upto.is_some_and(|u| self.last >= u) {
                return Flow::Continue;
            }
        }
    }

    async fn on_client(&mut self, msg: Message) -> Flow {
        match msg {
            Message::Text(t) => match serde_json::from_str::<ClientMsg>(t.as_str()) {
                Ok(ClientMsg::Ping) => self.send(Utf8Bytes::from_static(r#"{"type":"pong"}"#)).await,
                Ok(ClientMsg::Ask { .. } | ClientMsg::Upvote { .. }) => {
                    self.send(Utf8Bytes::from_static(
                        r#"{"type":"error","error":{"code":"unsupported","message":"questions are not available yet"}}"#,
                    ))
                    .await
                }
                Err(_) => {
                    self.send(Utf8Bytes::from_static(
                        r#"{"type":"error","error":{"code":"bad_message","message":"unknown or malformed message"}}"#,
                    ))
                    .await
                }
            },
            Message::Close(_) => Flow::Stop,
            _ => Flow::Continue,
        }
    }
}

/// Most frames written before one flush when a viewer has several waiting.
const BATCH: usize = 64;

/// Serve one authenticated, authorized viewer until it leaves or is closed.
pub async fn serve(ws: WebSocket, state: AppState, hub: Arc<Hub>, who: Principal, controller: bool, after: u64) {
    // Subscribe before reading the backlog: anything released later is either
    // in the backlog read or arrives here; seq numbers remove the overlap.
    let mut events = hub.events.subscribe();
    hub.viewers.fetch_add(1, Relaxed);
    state.metrics.viewers.fetch_add(1, Relaxed);
    tracing::info!(user = %who.sub, controller, after, "join");
    let mut v = Viewer { ws, state: &state, hub: &hub, last: after };
    let mut flow = v.send(hub.state_frame()).await;
    if let Flow::Continue = flow {
        flow = v.catch_up(None).await;
    }
    if matches!(flow, Flow::Continue) && hub.is_ended() {
        // An ended session has nothing more to send: the backlog, then goodbye.
        v.close(1000, "session ended").await;
        flow = Flow::Stop;
    }
    while let Flow::Continue = flow {
        flow = tokio::select! {
            ev = events.recv() => match ev {
                Ok(ev) => v.deliver(ev, &mut events, &who, controller).await,
                Err(RecvError::Lagged(_)) => {
                    state.metrics.viewers_too_slow.fetch_add(1, Relaxed);
                    tracing::info!(user = %who.sub, last = v.last, "viewer too slow");
                    v.close(TOO_SLOW, "too slow: reconnect with after=last seq").await;
                    Flow::Stop
                }
                Err(RecvError::Closed) => { v.close(GOING_AWAY, "going away").await; Flow::Stop }
            },
            msg = v.ws.recv() => match msg {
                Some(Ok(m)) => v.on_client(m).await,
                _ => Flow::Stop,
            },
        };
    }
    hub.viewers.fetch_sub(1, Relaxed);
    state.metrics.viewers.fetch_sub(1, Relaxed);
    tracing::info!(user = %who.sub, last = v.last, "leave");
}

impl Viewer<'_> {
    /// Queue a frame without flushing.
    async fn feed(&mut self, frame: Utf8Bytes) -> Flow {
        match tokio::time::timeout(SEND_TIMEOUT, self.ws.feed(Message::Text(frame))).await {
            Ok(Ok(())) => Flow::Continue,
            _ => Flow::Stop,
        }
    }

    async fn flush(&mut self) -> Flow {
        match tokio::time::timeout(SEND_TIMEOUT, self.ws.flush()).await {
            Ok(Ok(())) => Flow::Continue,
            _ => Flow::Stop,
        }
    }

    /// Handle one event and whatever else is already waiting (up to BATCH),
    /// writing the frames with a single flush.
    async fn deliver(
        &mut self,
        first: super::Event,
        events: &mut tokio::sync::broadcast::Receiver<super::Event>,
        who: &Principal,
        controller: bool,
    ) -> Flow {
        let mut next = Some(first);
        let mut n = 0;
        while let Some(ev) = next.take() {
            n += 1;
            let flow = match ev.to {
                To::Close(code) => {
                    let _ = self.flush().await;
                    self.close(code, if code == GOING_AWAY { "server going away" } else { "session ended" }).await;
                    return Flow::Stop;
                }
                To::Revoke(r) if r.hits(&who.jti, &who.sub, who.iat) => Flow::Stop,
                To::RecheckRevocations if self.state.revocations.is_revoked_parts(&who.jti, &who.sub, who.iat) => {
                    Flow::Stop
                }
                To::Revoke(_) | To::RecheckRevocations => Flow::Continue,
                To::Controllers if !controller => Flow::Continue,
                _ if ev.seq == 0 => self.feed(ev.frame).await,
                _ if ev.seq <= self.last => Flow::Continue,
                _ => {
                    let mut f = Flow::Continue;
                    if ev.seq > self.last + 1 {
                        f = self.catch_up(Some(ev.seq - 1)).await;
                    }
                    if let Flow::Continue = f {
                        f = self.feed(ev.frame).await;
                        self.last = ev.seq;
                    }
                    f
                }
            };
            if let Flow::Stop = flow {
                if self.state.revocations.is_revoked_parts(&who.jti, &who.sub, who.iat) {
                    let _ = self.flush().await;
                    self.close(REVOKED, "access revoked").await;
                }
                return Flow::Stop;
            }
            if n < BATCH {
                // Lagged or empty: the outer loop sees it on the next recv.
                next = events.try_recv().ok();
            }
        }
        self.flush().await
    }
}
