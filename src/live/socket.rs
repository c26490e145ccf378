//! One viewer's WebSocket from the upgrade to the hand-over to the fan-out:
//! the state message and the backlog after `after`, written here; then the
//! viewer joins a shard for live frames, and a small reader task answers
//! what the client sends. Close codes: 4008 too slow, 4003 revoked or not
//! allowed, 4001 unauthenticated, 1001 going away, 1000 session ended.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;
use tracing::Instrument;

use super::shard::{ShardMsg, ShardTx};
use super::slot::Slot;
use super::upgrade::{Conn, ReadOnly, Reader};
use super::wire::{self, Wire};
use super::Hub;
use crate::auth::Principal;
use crate::state::AppState;
use crate::store::StoredUpdate;

pub use super::shard::{REVOKED, TOO_SLOW};
pub const UNAUTHENTICATED: u16 = 4001;
pub const GOING_AWAY: u16 = 1001;

/// A write that makes no progress in this time means the client stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);
const BACKLOG_PAGE: u32 = 500;
/// Client messages are small: a question is at most a few KiB.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// The reader's buffer (it grows for a longer message): every idle viewer has one.
const READ_CHUNK: usize = 2 * 1024;

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
pub async fn close_now(mut conn: Conn, code: u16, reason: &'static str) {
    let frame = wire::close(code, reason);
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        conn.write.write_all(&frame).await?;
        conn.write.shutdown().await
    })
    .await;
}

/// Serve one authenticated, authorized viewer: state and backlog here, then
/// hand it to a fan-out shard and start its reader.
pub async fn serve(conn: Conn, state: AppState, hub: Arc<Hub>, who: Principal, controller: bool, after: u64) {
    let span = tracing::info_span!("viewer", session = %hub.session_id, user = %who.sub);
    async move {
        let Conn { read, write, early } = conn;
        let (mut slot, stopped) = Slot::new(write, who, controller, after, hub.clone(), state.clone());
        let Some(shard) = hub.shard_for(slot.id).cloned() else { return };
        // From here the shard keeps what this viewer would miss while it reads the backlog.
        let id = slot.id;
        let _ = shard.send(ShardMsg::Expect { id, controller });
        slot.outbox.enqueue(hub.state_frame());
        if backlog(&state, &hub.session_id, &mut slot).await.is_err() {
            let _ = shard.send(ShardMsg::Lost { id });
            return;
        }
        // An ended session has nothing more to send: the backlog, then goodbye.
        // (If it ends after this check, the shard closes the viewer on joining.)
        if hub.is_ended() {
            let _ = shard.send(ShardMsg::Lost { id });
            slot.outbox.enqueue(wire::close(1000, "session ended"));
            let _ = slot.outbox.drain(Duration::from_secs(2)).await;
            return;
        }
        tokio::spawn(read_client(read, early, shard.clone(), id, stopped).in_current_span());
        let _ = shard.send(ShardMsg::Join(Box::new(slot)));
    }
    .instrument(span)
    .await
}

/// Write what the viewer has queued, then every stored update after its
/// last `seq`, page by page. Used on joining and to fill a gap.
pub async fn backlog(state: &AppState, session_id: &str, slot: &mut Slot) -> Result<(), ()> {
    slot.outbox.drain(SEND_TIMEOUT).await?;
    loop {
        let page = match state.store.updates_after(session_id, slot.last, BACKLOG_PAGE).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "backlog read failed");
                return Err(());
            }
        };
        let n = page.len();
        for StoredUpdate { seq, body, .. } in page {
            if seq != slot.last + 1 {
                tracing::error!(seq, last = slot.last, "gap in the stored log");
            }
            slot.outbox.enqueue(wire::text(super::item::update_frame(seq, &body)));
            slot.last = seq;
        }
        slot.outbox.drain(SEND_TIMEOUT).await?;
        if n < BACKLOG_PAGE as usize {
            return Ok(());
        }
    }
}

/// The answer to one client text message.
fn client_reply(text: &str) -> Wire {
    let json: &'static str = match serde_json::from_str::<ClientMsg>(text) {
        Ok(ClientMsg::Ping) => r#"{"type":"pong"}"#,
        Ok(ClientMsg::Ask { .. } | ClientMsg::Upvote { .. }) => {
            r#"{"type":"error","error":{"code":"unsupported","message":"questions are not available yet"}}"#
        }
        Err(_) => r#"{"type":"error","error":{"code":"bad_message","message":"unknown or malformed message"}}"#,
    };
    wire::text(Bytes::from_static(json.as_bytes()))
}

/// Read what the client sends until it leaves or the fan-out drops it
/// (`stopped`). Replies go through the shard, in order with live frames.
async fn read_client(read: Reader, early: Bytes, shard: ShardTx, id: u64, mut stopped: oneshot::Receiver<()>) {
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_CHUNK)
        .max_message_size(Some(MAX_CLIENT_MESSAGE))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE));
    // Consume `early`: it may share the HTTP layer's whole read buffer.
    let mut ws =
        WebSocketStream::from_partially_read(ReadOnly(read), Vec::from(early), Role::Server, Some(config)).await;
    loop {
        let msg = tokio::select! {
            _ = &mut stopped => return,
            m = ws.next() => m,
        };
        let reply = match msg {
            Some(Ok(Message::Text(t))) => client_reply(t.as_str()),
            Some(Ok(Message::Ping(p))) => wire::pong(p),
            Some(Ok(Message::Close(c))) => {
                let code = c.map(|c| u16::from(c.code)).filter(|c| *c != 1005).unwrap_or(1000);
                let _ = shard.send(ShardMsg::Leave { id, echo: Some(wire::close(code, "")) });
                return;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                let (code, reason) = match e {
                    WsError::Capacity(_) => (1009, "message too big"),
                    WsError::Utf8(_) => (1007, "invalid UTF-8"),
                    _ => (1002, "protocol error"),
                };
                tracing::debug!(error = %e, "client protocol error");
                let _ = shard.send(ShardMsg::Leave { id, echo: Some(wire::close(code, reason)) });
                return;
            }
            None => {
                let _ = shard.send(ShardMsg::Leave { id, echo: None });
                return;
            }
        };
        if shard.send(ShardMsg::Direct { id, frame: reply }).is_err() {
            return;
        }
    }
}
