//! One viewer's WebSocket from the upgrade to the hand-over to the fan-out:
//! the state message and the backlog after `after`, written here; then the
//! viewer joins a shard for live frames, and a small reader task answers
//! what the client sends. Close codes: 4008 too slow, 4003 revoked or not
//! allowed, 4001 unauthenticated or token expired, 1001 going away, 1000
//! session ended. A socket closes with 4001 when its token expires unless
//! the client renewed it with `{"type":"auth","token":"…"}` (same `sub`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
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
use crate::audience::{qa, Sight};
use crate::auth::{authorize, Permission, Principal};
use crate::error::ApiError;
use crate::model::Session;
use crate::state::AppState;
use crate::store::StoredUpdate;

pub use super::shard::{REVOKED, TOO_SLOW};
pub const UNAUTHENTICATED: u16 = 4001;
pub const GOING_AWAY: u16 = 1001;
/// The socket's token expired (and was not renewed on it).
pub const EXPIRED: u16 = UNAUTHENTICATED;

/// A write that makes no progress in this time means the client stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);
const BACKLOG_PAGE: u32 = 500;
/// Client messages are small: a question is at most a few KiB.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// The reader's buffer (it grows for a longer message): every idle viewer has one.
const READ_CHUNK: usize = 512;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMsg {
    Ping,
    Ask {
        text: String,
    },
    Upvote {
        question_id: String,
    },
    /// Take an upvote back (the socket's `DELETE .../upvote`).
    Unvote {
        question_id: String,
    },
    Pulse {
        value: String,
    },
    /// Renew the socket's token (a fresh one of the same subject).
    Auth {
        token: String,
    },
}

/// Who is on the other end, for what the client sends.
struct Peer {
    state: AppState,
    session_id: String,
    who: Principal,
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
pub async fn serve(conn: Conn, state: AppState, hub: Arc<Hub>, who: Principal, sight: Sight, after: u64) {
    let span = tracing::info_span!("viewer", session = %hub.session_id, user = %who.sub);
    async move {
        let Conn { read, write, early, place } = conn;
        let (controller, staff) = (sight.controller, sight.staff);
        let peer = Peer { state: state.clone(), session_id: hub.session_id.clone(), who: who.clone() };
        let (mut slot, stopped) = Slot::new(write, who, controller, staff, after, hub.clone(), state.clone());
        let Some(shard) = hub.shard_for(slot.id).cloned() else { return };
        // From here the shard keeps what this viewer would miss while it reads the backlog.
        let id = slot.id;
        let _ = shard.send(ShardMsg::Expect { id, controller, staff });
        if !hub.is_ended() {
            // Feedback is for those who joined while it was live. (After
            // `Expect`: nothing sent meanwhile is missed.)
            if let Err(e) = state.store.record_join(&hub.session_id, &peer.who.sub, chrono::Utc::now()).await {
                tracing::error!(error = %e, "could not record the join");
            }
        }
        slot.outbox.enqueue(hub.state_frame());
        if backlog(&state, &hub.session_id, &mut slot).await.is_err()
            || replay_questions(&state, &hub.session_id, sight, &mut slot).await.is_err()
        {
            let _ = shard.send(ShardMsg::Lost { id });
            return;
        }
        // An ended session has nothing more to send: the backlog, then goodbye.
        // (If it ends after this check, the shard closes the viewer on joining.)
        if hub.is_ended() {
            // What the shard kept meanwhile is dropped with `Lost`; if the end
            // came while this viewer read its backlog, that included the
            // "ended" state: say it again before the close.
            let _ = shard.send(ShardMsg::Lost { id });
            slot.outbox.enqueue(hub.state_frame());
            slot.outbox.enqueue(wire::close(1000, "session ended"));
            let _ = slot.outbox.drain(Duration::from_secs(2)).await;
            return;
        }
        let to_shard = shard.clone();
        tokio::spawn(
            async move {
                // The address's place is held as long as the reader (the socket) lives.
                let _place = place;
                read_client(read, early, to_shard, id, stopped, peer).await
            }
            .in_current_span(),
        );
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

/// The current state of every question the viewer may see (after the
/// backlog: changes made meanwhile follow from the shard, in order).
async fn replay_questions(state: &AppState, session_id: &str, sight: Sight, slot: &mut Slot) -> Result<(), ()> {
    let frames = crate::audience::qa::replay(state, session_id, sight).await.map_err(|e| {
        tracing::error!(error = %e, "question replay failed");
    })?;
    for f in frames {
        slot.outbox.enqueue(f);
    }
    slot.outbox.drain(SEND_TIMEOUT).await
}

fn static_frame(json: &'static str) -> Wire {
    wire::text(Bytes::from_static(json.as_bytes()))
}

/// The error frame for a refused client message (`of`: what it was).
fn error_frame(of: &str, e: &ApiError) -> Wire {
    if let ApiError::Internal(cause) = e {
        tracing::error!(%cause, "internal error");
    }
    let mut v = json!({"type": "error", "of": of, "error": {"code": e.code(), "message": e.public_message()}});
    if let ApiError::RateLimited { retry_after_secs } = e {
        v["retry_after"] = json!(retry_after_secs.max(&1));
    }
    wire::text(v.to_string())
}

/// What the client asked for, checked like the HTTP endpoint: its
/// permission against the session as it is now.
async fn session_for(peer: &Peer, perm: Permission) -> Result<Session, ApiError> {
    let leeway = peer.state.config.jwt.leeway as i64;
    if peer.who.exp + leeway < chrono::Utc::now().timestamp() {
        return Err(ApiError::Unauthenticated { message: "token expired; reconnect with a fresh one" });
    }
    let s = peer.state.store.session(&peer.session_id).await?.ok_or_else(|| ApiError::not_found("session"))?;
    authorize(&peer.who, perm, Some(&s))?;
    Ok(s)
}

/// The answer to one client text message: a pong, an `ack` carrying the
/// result (the change itself reaches everyone as a `question` frame), or
/// an `error` frame. Nothing the client sent is logged.
async fn client_reply(peer: &Peer, text: &str) -> Wire {
    let msg = match serde_json::from_str::<ClientMsg>(text) {
        Ok(m) => m,
        Err(_) => {
            return static_frame(
                r#"{"type":"error","error":{"code":"bad_message","message":"unknown or malformed message"}}"#,
            )
        }
    };
    let (of, result) = match msg {
        ClientMsg::Ping => return static_frame(r#"{"type":"pong"}"#),
        ClientMsg::Auth { .. } => {
            return static_frame(
                r#"{"type":"error","of":"auth","error":{"code":"bad_message","message":"unexpected auth"}}"#,
            )
        }
        ClientMsg::Ask { text } => {
            let r = match session_for(peer, Permission::QuestionAsk).await {
                Ok(s) => qa::ask(&peer.state, &s, &peer.who, text).await.map(|q| json!({"question": q.json()})),
                Err(e) => Err(e),
            };
            ("ask", r)
        }
        ClientMsg::Upvote { question_id } => ("upvote", vote(peer, &question_id, true).await),
        ClientMsg::Unvote { question_id } => ("unvote", vote(peer, &question_id, false).await),
        ClientMsg::Pulse { value } => {
            let r = match session_for(peer, Permission::PulseSend).await {
                Ok(s) => qa::pulse(&peer.state, &s, &peer.who, &value)
                    .await
                    .map(|at| json!({"value": value, "at": chrono::DateTime::from_timestamp_millis(at)})),
                Err(e) => Err(e),
            };
            ("pulse", r)
        }
    };
    match result {
        Ok(mut v) => {
            v["type"] = json!("ack");
            v["of"] = json!(of);
            wire::text(v.to_string())
        }
        Err(e) => error_frame(of, &e),
    }
}

async fn vote(peer: &Peer, question_id: &str, up: bool) -> Result<serde_json::Value, ApiError> {
    let s = session_for(peer, Permission::QuestionVote).await?;
    let (q, voted) = qa::vote(&peer.state, &s, &peer.who, question_id, up).await?;
    Ok(json!({"question": q.json(), "voted": voted}))
}

/// Read what the client sends until it leaves or the fan-out drops it
/// (`stopped`). Replies go through the shard, in order with live frames.
async fn read_client(
    read: Reader,
    early: Bytes,
    shard: ShardTx,
    id: u64,
    mut stopped: oneshot::Receiver<()>,
    mut peer: Peer,
) {
    let config = client_ws_config();
    // Copy `early` (usually empty) and let it go: it shares the HTTP layer's
    // whole 8 KiB read buffer, and `Vec::from` would keep that allocation
    // as the socket's frame buffer for its lifetime (measured: 8 KiB of each
    // idle viewer's cost, docs/PERFORMANCE.md "Capacity").
    let part = early.to_vec();
    drop(early);
    let mut ws = WebSocketStream::from_partially_read(ReadOnly(read), part, Role::Server, Some(config)).await;
    let leeway = peer.state.config.jwt.leeway as i64;
    let expiry = tokio::time::sleep_until(expiry_instant(peer.who.exp, leeway));
    tokio::pin!(expiry);
    loop {
        let msg = tokio::select! {
            _ = &mut stopped => return,
            _ = &mut expiry => {
                tracing::info!("token expired: closing");
                let _ = shard.send(ShardMsg::Leave { id, echo: Some(wire::close(EXPIRED, "token expired")) });
                return;
            }
            m = ws.next() => m,
        };
        let reply = match msg {
            Some(Ok(Message::Text(t))) => match auth_frame(t.as_str()) {
                // Boxed: the rare replies' futures stay out of the idle socket's task.
                Some(token) => match Box::pin(renew(&mut peer, &token)).await {
                    Renewal::Renewed(frame) => {
                        expiry.as_mut().reset(expiry_instant(peer.who.exp, leeway));
                        let who = Box::new(peer.who.clone());
                        if shard.send(ShardMsg::Renew { id, who }).is_err() {
                            return;
                        }
                        frame
                    }
                    Renewal::Refused(frame) => frame,
                    Renewal::WrongSubject => {
                        let frame = wire::close(REVOKED, "token of another user");
                        let _ = shard.send(ShardMsg::Leave { id, echo: Some(frame) });
                        return;
                    }
                },
                None => Box::pin(client_reply(&peer, t.as_str())).await,
            },
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

/// When a token that expires at `exp` (Unix seconds) stops being accepted.
fn expiry_instant(exp: i64, leeway: i64) -> tokio::time::Instant {
    let left = exp.saturating_add(leeway).saturating_sub(chrono::Utc::now().timestamp()).max(0);
    tokio::time::Instant::now() + Duration::from_secs(u64::try_from(left).unwrap_or(0))
}

/// The token of an `{"type":"auth","token":…}` frame, if that is what it is.
/// The limits on what a client sends: 64 KiB per message and per frame.
pub fn client_ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_CHUNK)
        .max_message_size(Some(MAX_CLIENT_MESSAGE))
        .max_frame_size(Some(MAX_CLIENT_MESSAGE))
}

/// Whether `text` is a client frame the channel understands (fuzzing entry).
pub fn parses_as_client_frame(text: &str) -> bool {
    serde_json::from_str::<ClientMsg>(text).is_ok()
}

fn auth_frame(text: &str) -> Option<String> {
    match serde_json::from_str::<ClientMsg>(text) {
        Ok(ClientMsg::Auth { token }) => Some(token),
        _ => None,
    }
}

enum Renewal {
    Renewed(Wire),
    /// Invalid, expired or revoked: an error frame, the socket keeps its old
    /// token (and closes when that expires).
    Refused(Wire),
    /// A valid token of someone else: the socket closes with 4003.
    WrongSubject,
}

/// Check a renewal token like a request's (signature, claims, revocation)
/// and that it names the same user.
async fn renew(peer: &mut Peer, token: &str) -> Renewal {
    let who = match crate::auth::principal::authenticate(&peer.state, token).await {
        Ok(w) => w,
        Err(e) => return Renewal::Refused(error_frame("auth", &e)),
    };
    if who.sub != peer.who.sub {
        tracing::warn!(other = %who.sub, "renewal with another user's token: closing");
        return Renewal::WrongSubject;
    }
    tracing::info!("token renewed on the socket");
    let frame = wire::text(json!({"type": "ack", "of": "auth", "exp": who.exp}).to_string());
    peer.who = who;
    Renewal::Renewed(frame)
}
