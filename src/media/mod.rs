//! Live video and audio over WebRTC: WHIP ingest from the operating room,
//! WHEP egress to the gallery, through the same delay gate as the text.
//!
//! One task ([`engine`]) owns one UDP socket and every peer of the node
//! (str0m `Rtc`s in RTP mode with ICE-lite). Per session it keeps the media
//! delay buffer (`orgallery-media-gate`), the publisher and the viewers;
//! per viewer and track a rewriter turns the publisher's stream into a
//! seamless one that starts at a keyframe after every gap. HTTP handlers and
//! the session writer talk to it only through [`MediaHandle`] commands.

mod engine;
mod fanout;
mod peer;
mod recorder;
pub mod sdp;
mod udp;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;

pub use engine::spawn;

/// Which side of the gate a peer is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// WHIP: the operating room's camera and microphone.
    Publisher,
    /// WHEP: a viewer (or a controller watching what the gallery sees).
    Viewer,
}

impl Side {
    pub fn path(self) -> &'static str {
        match self {
            Side::Publisher => "whip",
            Side::Viewer => "whep",
        }
    }
}

/// What the engine needs to know of a session when a peer joins it.
#[derive(Debug, Clone)]
pub struct SessionMeta {
    pub id: String,
    pub delay_seconds: u32,
    pub curtain: bool,
    pub allow_video: bool,
    pub allow_audio: bool,
    pub archive: bool,
}

/// Who opened a media resource: their token ends or is revoked → media stops.
#[derive(Debug, Clone)]
pub struct PeerAuth {
    pub sub: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub controller: bool,
}

impl PeerAuth {
    pub fn of(who: &Principal, controller: bool) -> Self {
        Self { sub: who.sub.clone(), jti: who.jti.clone(), iat: who.iat, exp: who.exp, controller }
    }
}

/// A created resource: where it lives and the SDP answer.
#[derive(Debug)]
pub struct Created {
    pub resource: String,
    pub etag: String,
    pub answer: String,
}

/// The answer to a PATCH: the new ETag and, for an ICE restart, the
/// server's new credentials as an sdpfrag.
#[derive(Debug)]
pub struct Patched {
    pub etag: String,
    pub fragment: Option<String>,
}

/// Gate controls the session writer forwards so media follows the text gate.
#[derive(Debug, Clone, Copy)]
pub enum Control {
    /// The writer's state when it starts or changes anything.
    Sync {
        curtain: bool,
        delay_seconds: u32,
    },
    Curtain(bool),
    Dump,
    Delay(u32),
    End,
}

pub(crate) type Reply<T> = oneshot::Sender<Result<T, ApiError>>;

pub(crate) enum Command {
    Open {
        side: Side,
        session: SessionMeta,
        auth: PeerAuth,
        offer: String,
        place: Option<crate::api::edge::AddrGuard>,
        reply: Reply<Created>,
    },
    Patch {
        session: String,
        side: Side,
        resource: String,
        auth: PeerAuth,
        if_match: String,
        frag: String,
        reply: Reply<Patched>,
    },
    Delete {
        session: String,
        side: Side,
        resource: String,
        auth: PeerAuth,
        reply: Reply<()>,
    },
    Control {
        session: String,
        control: Control,
        reply: Option<oneshot::Sender<usize>>,
    },
    Status {
        session: String,
        reply: oneshot::Sender<VideoStatus>,
    },
}

/// The `video` field of the live channel's state frame (an extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoStatus {
    /// A publisher is sending and the curtain is up.
    Live,
    /// A publisher is sending but the curtain is down.
    Paused,
    /// Nobody publishes.
    None,
}

/// Counters the engine keeps (served on /metrics).
#[derive(Debug, Default)]
pub struct MediaCounters {
    pub packets_in: AtomicU64,
    pub packets_released: AtomicU64,
    pub packets_forwarded: AtomicU64,
    pub packets_dropped_gate: AtomicU64,
    pub send_errors: AtomicU64,
    /// Release batches spread over the fan-out threads.
    pub batches_spread: AtomicU64,
    pub peers: AtomicU64,
    /// Set once the engine has stopped (peers closed, recordings on disk).
    pub stopped: std::sync::atomic::AtomicBool,
}

impl MediaCounters {
    /// Prometheus text for /metrics.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        use std::sync::atomic::Ordering::Relaxed;
        let mut out = String::new();
        for (name, help, v) in [
            ("orgallery_media_packets_in_total", "RTP packets received from publishers", &self.packets_in),
            (
                "orgallery_media_packets_released_total",
                "RTP packets that left the media delay buffer",
                &self.packets_released,
            ),
            ("orgallery_media_packets_forwarded_total", "RTP packets written to viewers", &self.packets_forwarded),
            (
                "orgallery_media_packets_dropped_gate_total",
                "RTP packets dropped by curtain, dump or bounds",
                &self.packets_dropped_gate,
            ),
            ("orgallery_media_send_errors_total", "datagrams the UDP socket refused", &self.send_errors),
            (
                "orgallery_media_batches_spread_total",
                "release batches written by several fan-out threads",
                &self.batches_spread,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", v.load(Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP orgallery_media_peers WebRTC peers (publishers and viewers)\n# TYPE orgallery_media_peers gauge\norgallery_media_peers {}",
            self.peers.load(Relaxed)
        );
        out
    }
}

/// The handle every handler and writer holds.
pub struct MediaHandle {
    tx: mpsc::UnboundedSender<Command>,
    /// The UDP socket every peer uses.
    pub local_addr: SocketAddr,
    /// The address put in ICE candidates.
    pub candidate_addr: SocketAddr,
    pub counters: Arc<MediaCounters>,
}

impl MediaHandle {
    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, ApiError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(make(tx)).map_err(|_| ApiError::Unavailable)?;
        rx.await.map_err(|_| ApiError::Unavailable)?
    }

    pub async fn open(
        &self,
        side: Side,
        session: SessionMeta,
        auth: PeerAuth,
        offer: String,
        place: Option<crate::api::edge::AddrGuard>,
    ) -> Result<Created, ApiError> {
        self.ask(|reply| Command::Open { side, session, auth, offer, place, reply }).await
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn patch(
        &self,
        session: &str,
        side: Side,
        resource: &str,
        auth: PeerAuth,
        if_match: String,
        frag: String,
    ) -> Result<Patched, ApiError> {
        self.ask(|reply| Command::Patch {
            session: session.to_string(),
            side,
            resource: resource.to_string(),
            auth,
            if_match,
            frag,
            reply,
        })
        .await
    }

    pub async fn delete(&self, session: &str, side: Side, resource: &str, auth: PeerAuth) -> Result<(), ApiError> {
        self.ask(|reply| Command::Delete {
            session: session.to_string(),
            side,
            resource: resource.to_string(),
            auth,
            reply,
        })
        .await
    }

    /// Forward a gate control; never blocks the writer.
    pub fn control(&self, session: &str, control: Control) {
        let _ = self.tx.send(Command::Control { session: session.to_string(), control, reply: None });
    }

    /// Dump the session's buffered media; the number of packets dropped.
    pub async fn dump(&self, session: &str) -> usize {
        let (tx, rx) = oneshot::channel();
        if self
            .tx
            .send(Command::Control { session: session.to_string(), control: Control::Dump, reply: Some(tx) })
            .is_err()
        {
            return 0;
        }
        rx.await.unwrap_or(0)
    }

    pub async fn status(&self, session: &str) -> VideoStatus {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::Status { session: session.to_string(), reply: tx }).is_err() {
            return VideoStatus::None;
        }
        rx.await.unwrap_or(VideoStatus::None)
    }
}

/// Random hex identifier (128 bits): resource URLs and ETags are unguessable.
pub(crate) fn random_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Shorthand for handlers.
pub fn handle(state: &AppState) -> &MediaHandle {
    &state.media
}
