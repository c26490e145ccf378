//! Publishes and gate controls that arrive at a node which does not write
//! the session go to the node that does, over NATS request/reply on
//! `orgallery.commands.{session}`. The writer's node answers each request
//! through its writer's command channel, exactly as for a local request,
//! so the gate and its `seq` stay with one writer. Held images cross as
//! base64 in the request (the NATS server's `max_payload` bounds them).
//!
//! Not forwarded (answered 409 `not_live` on other nodes): the held image
//! preview and re-masking, and the redaction preview with the session's
//! name memory, which stay on the writer's node.

use base64::Engine;
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

use super::{commands_subject, Bus};
use crate::error::ApiError;
use crate::live::{Command, Draft, HeldImage, ImageMask, Kind};

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Remote {
    Publish { kind: Kind, text: Option<String>, image: Option<WireImage>, author: String },
    Approve { id: String },
    Retract { id: String },
    Edit { id: String, text: String },
    Curtain { down: bool },
    Dump,
    Queue,
}

#[derive(Serialize, Deserialize)]
struct WireImage {
    media_id: String,
    /// Base64 of the cleaned image.
    bytes: String,
    content_type: String,
    width: u32,
    height: u32,
    masks: Vec<WireMask>,
}

#[derive(Serialize, Deserialize)]
struct WireMask {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    kind: String,
    source: String,
}

/// The writer's answer: `{"ok": …}` or `{"error": {status, code, message}}`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Answer {
    Ok(Value),
    Error { status: u16, code: String, message: String },
}

fn elsewhere() -> ApiError {
    ApiError::conflict("not_live", "this is done on the node that writes the session")
}

fn no_writer() -> ApiError {
    ApiError::conflict("not_live", "no node writes the session right now; try again in a few seconds")
}

impl WireImage {
    fn from_held(i: &HeldImage) -> Self {
        WireImage {
            media_id: i.media_id.clone(),
            bytes: base64::engine::general_purpose::STANDARD.encode(&i.bytes),
            content_type: i.content_type.to_string(),
            width: i.width,
            height: i.height,
            masks: i
                .masks
                .iter()
                .map(|m| WireMask { x: m.x, y: m.y, w: m.w, h: m.h, kind: m.kind.into(), source: m.source.into() })
                .collect(),
        }
    }

    fn into_held(self) -> Option<HeldImage> {
        let (content_type, extension) = match self.content_type.as_str() {
            "image/jpeg" => ("image/jpeg", "jpg"),
            "image/png" => ("image/png", "png"),
            _ => return None,
        };
        let bytes = base64::engine::general_purpose::STANDARD.decode(self.bytes).ok()?;
        let masks = self
            .masks
            .into_iter()
            .map(|m| ImageMask {
                x: m.x,
                y: m.y,
                w: m.w,
                h: m.h,
                kind: orgallery_redact::PhiType::ALL
                    .into_iter()
                    .map(|t| t.as_str())
                    .find(|t| *t == m.kind)
                    .unwrap_or("manual"),
                source: match m.source.as_str() {
                    "caller" => "caller",
                    "ocr" => "ocr",
                    _ => "review",
                },
            })
            .collect();
        Some(HeldImage {
            media_id: self.media_id,
            bytes: Bytes::from(bytes),
            content_type,
            extension,
            width: self.width,
            height: self.height,
            masks,
        })
    }
}

/// Send `cmd` to the writer's node and hand its answer to the command's
/// own reply channel, as the local writer would.
pub async fn forward(bus: &Bus, session: &str, cmd: Command) {
    match cmd {
        Command::Publish { draft, reply } => {
            let r = Remote::Publish {
                kind: draft.kind,
                text: draft.text,
                image: draft.image.as_ref().map(WireImage::from_held),
                author: draft.author,
            };
            let _ = reply.send(request(bus, session, &r).await);
        }
        Command::Approve { id, reply } => {
            let _ = reply.send(request(bus, session, &Remote::Approve { id }).await);
        }
        Command::Retract { id, reply } => {
            let _ = reply.send(request(bus, session, &Remote::Retract { id }).await);
        }
        Command::Edit { id, text, reply } => {
            let _ = reply.send(request(bus, session, &Remote::Edit { id, text }).await);
        }
        Command::Curtain { down, reply } => {
            let _ = reply.send(request(bus, session, &Remote::Curtain { down }).await);
        }
        Command::Queue { reply } => {
            let _ = reply.send(request(bus, session, &Remote::Queue).await);
        }
        Command::Dump { reply } => {
            let n = request(bus, session, &Remote::Dump).await.map(|v| v.as_u64().unwrap_or(0) as usize);
            let _ = reply.send(n);
        }
        Command::HeldImage { reply, .. } => {
            let _ = reply.send(Err(elsewhere()));
        }
        Command::Remask { reply, .. } => {
            let _ = reply.send(Err(elsewhere()));
        }
        Command::Redaction { reply } => {
            let _ = reply.send(Err(elsewhere()));
        }
        Command::Settings { .. } | Command::Identifiers(_) | Command::End { .. } => {}
    }
}

async fn request(bus: &Bus, session: &str, r: &Remote) -> Result<Value, ApiError> {
    let payload = serde_json::to_vec(r).map_err(ApiError::internal)?;
    let msg = match bus.client.request(commands_subject(session), payload.into()).await {
        Ok(m) => m,
        Err(e) => {
            return Err(match e.kind() {
                async_nats::client::RequestErrorKind::NoResponders => no_writer(),
                async_nats::client::RequestErrorKind::MaxPayloadExceeded => {
                    ApiError::TooLarge { message: "the image is too large to forward to the writer's node".into() }
                }
                async_nats::client::RequestErrorKind::TimedOut
                | async_nats::client::RequestErrorKind::InvalidSubject
                | async_nats::client::RequestErrorKind::Other => ApiError::Unavailable,
            })
        }
    };
    match serde_json::from_slice::<Answer>(&msg.payload) {
        Ok(Answer::Ok(v)) => Ok(v),
        Ok(Answer::Error { status, code, message }) => Err(from_remote(status, &code, message)),
        Err(e) => Err(ApiError::internal(format!("a malformed answer from the writer's node: {e}"))),
    }
}

/// The writer's node's error, as this node's.
fn from_remote(status: u16, code: &str, message: String) -> ApiError {
    const CODES: [&str; 9] = [
        "not_live",
        "already_released",
        "already_dropped",
        "duplicate",
        "changed",
        "invalid_delay",
        "label_too_long",
        "not_an_image",
        "conflict",
    ];
    let code = CODES.into_iter().find(|c| *c == code).unwrap_or("conflict");
    match status {
        404 => ApiError::NotFound { code: "not_found", message },
        409 => ApiError::Conflict { code, message },
        422 => ApiError::Invalid { code, message },
        503 => ApiError::StoreUnavailable(message),
        _ => ApiError::Internal(message),
    }
}

/// Answer the session's forwarded commands through `writer` until the
/// writer stops (its channel closes). Run on the writer's node.
pub fn serve(bus: std::sync::Arc<Bus>, session: String, writer: mpsc::Sender<Command>) {
    tokio::spawn(async move {
        let mut sub = match bus.client.subscribe(commands_subject(&session)).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(session = %session, error = %e, "cannot take forwarded commands");
                return;
            }
        };
        loop {
            let msg = tokio::select! {
                _ = writer.closed() => break,
                m = sub.next() => match m { Some(m) => m, None => break },
            };
            let Some(reply_to) = msg.reply.clone() else { continue };
            let answer = match serde_json::from_slice::<Remote>(&msg.payload) {
                Ok(r) => answer(&writer, r).await,
                Err(e) => Err(ApiError::bad_request("bad_request", format!("malformed forwarded command: {e}"))),
            };
            let a = match answer {
                Ok(v) => Answer::Ok(v),
                Err(e) => {
                    Answer::Error { status: e.status().as_u16(), code: e.code().into(), message: e.public_message() }
                }
            };
            if let Ok(bytes) = serde_json::to_vec(&a) {
                let _ = bus.client.publish(reply_to, bytes.into()).await;
            }
        }
        let _ = sub.unsubscribe().await;
    });
}

async fn answer(writer: &mpsc::Sender<Command>, r: Remote) -> Result<Value, ApiError> {
    let gone = || ApiError::conflict("not_live", "the session is not live");
    macro_rules! ask {
        ($make:expr) => {{
            let (reply, rx) = oneshot::channel();
            writer.send($make(reply)).await.map_err(|_| gone())?;
            rx.await.map_err(|_| gone())?
        }};
    }
    match r {
        Remote::Publish { kind, text, image, author } => {
            let image = match image {
                Some(i) => Some(i.into_held().ok_or_else(|| ApiError::bad_request("bad_request", "bad image"))?),
                None => None,
            };
            let draft = Draft { kind, text, image, author };
            ask!(|reply| Command::Publish { draft, reply })
        }
        Remote::Approve { id } => ask!(|reply| Command::Approve { id, reply }),
        Remote::Retract { id } => ask!(|reply| Command::Retract { id, reply }),
        Remote::Edit { id, text } => ask!(|reply| Command::Edit { id, text, reply }),
        Remote::Curtain { down } => ask!(|reply| Command::Curtain { down, reply }),
        Remote::Queue => ask!(|reply| Command::Queue { reply }),
        Remote::Dump => {
            let n: usize = ask!(|reply| Command::Dump { reply })?;
            Ok(json!(n))
        }
    }
}
