//! Live sessions. Each session has a [`Hub`]: its fan-out shards, which
//! write released items to the viewers (framed once, shared by all), its
//! viewer count, and — while live — the command channel of its single writer
//! task, which owns the gates and assigns `seq`.

mod follower;
mod item;
mod outbox;
mod shard;
mod slot;
pub mod socket;
pub mod tickets;
pub mod upgrade;
pub mod wire;
mod writer;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::sync::{broadcast, mpsc, oneshot};

pub use item::{HeldImage, ImageMask, Item, Kind};
pub use shard::{REVOKED, TOO_SLOW};
pub use wire::Wire;
pub use writer::{Command, Draft, Reply, MAX_LABEL_CHARS};

use crate::auth::revocation::Revoked;
use crate::cluster::events::For;
use crate::cluster::{Bus, BusEvent};
use crate::error::ApiError;
use crate::media::{Control, VideoStatus};
use crate::model::{Session, SessionState};
use crate::state::AppState;

/// Who receives an event.
#[derive(Debug, Clone)]
pub enum To {
    All,
    Controllers,
    /// Those who moderate questions and read the pulse (controllers and
    /// educators): hidden questions, pulse aggregates.
    Staff,
    /// Everyone else: a hidden question's stub that removes it.
    Audience,
    /// Close every socket with this code after what came before.
    Close(u16),
    /// Close the sockets this revocation hits with 4003.
    Revoke(Arc<Revoked>),
    /// Revocations were missed: every socket re-checks its own token.
    RecheckRevocations,
}

/// One frame for the fan-out, already framed for the wire. `seq` is set for
/// released updates only; for `To::Close` the frame is the close frame.
#[derive(Debug, Clone)]
pub struct Event {
    pub seq: u64,
    pub to: To,
    pub frame: Wire,
}

impl To {
    /// Does a frame for `self` reach a viewer with these flags? (Signals
    /// and closes are not frames for some viewers: false.)
    pub fn reaches(&self, controller: bool, staff: bool) -> bool {
        match self {
            To::All => true,
            To::Controllers => controller,
            To::Staff => staff,
            To::Audience => !staff,
            To::Close(_) | To::Revoke(_) | To::RecheckRevocations => false,
        }
    }
}

impl Event {
    fn signal(to: To) -> Self {
        Event { seq: 0, to, frame: Wire::new() }
    }
}

pub struct Hub {
    pub session_id: String,
    shards: Vec<shard::ShardTx>,
    next_viewer: AtomicU64,
    pub viewers: AtomicUsize,
    /// The writer's command channel while the session is live.
    writer: Mutex<Option<mpsc::Sender<Command>>>,
    /// (state, curtain, delay) as last announced. std Mutex: no `.await` under it.
    status: Mutex<(SessionState, bool, u32)>,
    /// The media engine's [`VideoStatus`] (0 none, 1 live, 2 paused).
    video: AtomicU8,
    /// Connected WHEP viewers (all on the writer's node, where media is).
    video_viewers: AtomicUsize,
    /// The bus to the other nodes (`--nats-url`), if any.
    bus: Option<Arc<Bus>>,
    /// Viewers on the other nodes: node -> (count, when it was told).
    remote_viewers: Mutex<HashMap<String, (usize, std::time::Instant)>>,
    /// Has a follower task (see `follower`)?
    following: AtomicBool,
}

/// A node's viewer count counts this long after it was last told.
const REMOTE_VIEWERS_FRESH: std::time::Duration = std::time::Duration::from_secs(5);

impl To {
    fn share(&self) -> Option<For> {
        match self {
            To::All => Some(For::All),
            To::Controllers => Some(For::Controllers),
            To::Staff => Some(For::Staff),
            To::Audience => Some(For::Audience),
            To::Close(_) | To::Revoke(_) | To::RecheckRevocations => None,
        }
    }
}

impl From<For> for To {
    fn from(f: For) -> Self {
        match f {
            For::All => To::All,
            For::Controllers => To::Controllers,
            For::Staff => To::Staff,
            For::Audience => To::Audience,
        }
    }
}

impl Hub {
    pub fn state_frame(&self) -> Wire {
        let (state, curtain, delay) = self.status.lock().map(|s| *s).unwrap_or((SessionState::Ended, true, 0));
        let video = match self.video.load(Ordering::Relaxed) {
            1 if state == SessionState::Live && !curtain => VideoStatus::Live,
            1 | 2 if state == SessionState::Live => VideoStatus::Paused,
            _ => VideoStatus::None,
        };
        let v = json!({"type": "state", "state": state, "curtain": curtain, "delay_seconds": delay,
                       "viewers": self.total_viewers(), "video": video,
                       "video_viewers": self.video_viewers.load(Ordering::Relaxed)});
        wire::text(v.to_string())
    }

    /// The media engine's view of the session's video.
    pub fn set_video(&self, v: VideoStatus) {
        let n = match v {
            VideoStatus::None => 0,
            VideoStatus::Live => 1,
            VideoStatus::Paused => 2,
        };
        self.video.store(n, Ordering::Relaxed);
    }

    /// Viewers of the session on every node (this one's, plus the counts
    /// the other nodes told recently).
    pub fn total_viewers(&self) -> usize {
        let here = self.viewers.load(Ordering::Relaxed);
        let now = std::time::Instant::now();
        let there: usize = self
            .remote_viewers
            .lock()
            .map(|m| m.values().filter(|(_, at)| now.duration_since(*at) < REMOTE_VIEWERS_FRESH).map(|(n, _)| n).sum())
            .unwrap_or(0);
        here + there
    }

    fn set_remote_viewers(&self, node: String, count: usize) {
        if let Ok(mut m) = self.remote_viewers.lock() {
            m.insert(node, (count, std::time::Instant::now()));
        }
    }

    /// A frame for some viewers, on this node and on every other one.
    pub fn share(&self, to: To, text: String) {
        if let (Some(bus), Some(f)) = (&self.bus, to.share()) {
            bus.publish_event(&self.session_id, &BusEvent::Frame { to: f, frame: text.clone() });
        }
        self.send(Event { seq: 0, to, frame: wire::text(text) });
    }

    /// Tell the other nodes this node's writer's curtain, delay and video.
    pub fn share_status(&self) {
        let Some(bus) = &self.bus else { return };
        let (_, curtain, delay_seconds) = self.status.lock().map(|s| *s).unwrap_or((SessionState::Ended, true, 0));
        let video = self.video.load(Ordering::Relaxed);
        let video_viewers = self.video_viewers.load(Ordering::Relaxed);
        bus.publish_event(&self.session_id, &BusEvent::Status { curtain, delay_seconds, video, video_viewers });
    }

    /// How many WHEP viewers the media engine has connected.
    pub fn set_video_viewers(&self, n: usize) {
        self.video_viewers.store(n, Ordering::Relaxed);
    }

    /// Hand an event to every shard (each writes it to its viewers).
    pub fn send(&self, ev: Event) {
        let ev = Arc::new(ev);
        for s in &self.shards {
            let _ = s.send(shard::ShardMsg::Event(ev.clone()));
        }
    }

    /// Close every viewer with `code` after what was sent before.
    pub fn close_all(&self, code: u16, reason: &str) {
        self.send(Event { seq: 0, to: To::Close(code), frame: wire::close(code, reason) });
    }

    fn next_viewer_id(&self) -> u64 {
        self.next_viewer.fetch_add(1, Ordering::Relaxed)
    }

    fn shard_for(&self, viewer: u64) -> Option<&shard::ShardTx> {
        self.shards.get((viewer % self.shards.len().max(1) as u64) as usize)
    }

    /// Live as this node knows it (written here or on another node).
    pub fn is_live(&self) -> bool {
        self.status.lock().map(|s| s.0 == SessionState::Live).unwrap_or(false)
    }

    pub fn is_ended(&self) -> bool {
        self.status.lock().map(|s| s.0 == SessionState::Ended).unwrap_or(true)
    }

    fn set_status(&self, s: SessionState, curtain: bool, delay: u32) {
        if let Ok(mut st) = self.status.lock() {
            *st = (s, curtain, delay);
        }
    }

    pub fn announce_state(&self) {
        self.send(Event { seq: 0, to: To::All, frame: self.state_frame() });
    }

    pub fn writer(&self) -> Option<mpsc::Sender<Command>> {
        self.writer.lock().ok().and_then(|w| w.clone())
    }
}

#[derive(Default)]
pub struct Registry {
    hubs: Mutex<HashMap<String, Arc<Hub>>>,
}

/// Fan-out shards per session: one per core (at least one, at most eight).
fn shard_count() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8)
}

impl Registry {
    /// The hub of a session, created (with its shard tasks) on first use.
    /// Must be called on the server's main runtime.
    pub fn hub(&self, state: &AppState, s: &Session) -> Arc<Hub> {
        let mut hubs = match self.hubs.lock() {
            Ok(h) => h,
            Err(p) => p.into_inner(),
        };
        let mut created = false;
        let hub = hubs
            .entry(s.id.clone())
            .or_insert_with(|| {
                created = true;
                let queue = state.config.viewer_queue;
                Arc::new(Hub {
                    session_id: s.id.clone(),
                    shards: (0..shard_count()).map(|_| shard::spawn(state.clone(), s.id.clone(), queue)).collect(),
                    next_viewer: AtomicU64::new(1),
                    viewers: AtomicUsize::new(0),
                    writer: Mutex::new(None),
                    status: Mutex::new((s.state, s.curtain, s.delay_seconds)),
                    video: AtomicU8::new(0),
                    video_viewers: AtomicUsize::new(0),
                    bus: state.bus.clone(),
                    remote_viewers: Mutex::new(HashMap::new()),
                    following: AtomicBool::new(false),
                })
            })
            .clone();
        drop(hubs);
        // A live session may be written by another node: follow it.
        if created && s.state == SessionState::Live {
            follower::spawn(state.clone(), hub.clone());
        }
        hub
    }

    fn remove(&self, id: &str) {
        if let Ok(mut h) = self.hubs.lock() {
            h.remove(id);
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<Hub>> {
        self.hubs.lock().ok().and_then(|h| h.get(id).cloned())
    }

    fn all(&self) -> Vec<Arc<Hub>> {
        self.hubs.lock().map(|h| h.values().cloned().collect()).unwrap_or_default()
    }

    fn to_every_hub(&self, to: To) {
        for hub in self.all() {
            hub.send(Event::signal(to.clone()));
        }
    }

    pub fn live_count(&self) -> usize {
        self.hubs.lock().map(|h| h.values().filter(|h| h.writer().is_some()).count()).unwrap_or(0)
    }
}

/// Send a command to the session's writer and wait for its answer.
pub async fn ask<R>(
    state: &AppState,
    s: &Session,
    make: impl FnOnce(oneshot::Sender<R>) -> Command,
) -> Result<R, ApiError> {
    if s.state != SessionState::Live {
        return Err(ApiError::conflict("not_live", "the session is not live"));
    }
    let hub = state.live.hub(state, s);
    let (reply, rx) = oneshot::channel();
    let cmd = make(reply);
    match (hub.writer(), &state.bus) {
        (Some(tx), _) => tx.send(cmd).await.map_err(|_| ApiError::conflict("not_live", "the session is not live"))?,
        // Another node writes the session: the command goes there.
        (None, Some(bus)) if crate::cluster::subject_token(&s.id) => {
            crate::cluster::forward::forward(bus, &s.id, cmd).await
        }
        (None, _) => return Err(ApiError::conflict("not_live", "the session is not live")),
    }
    rx.await.map_err(|_| ApiError::conflict("not_live", "the session is not live"))
}

/// A session's settings changed (delay, policy, moderators, consent, state):
/// here, and the other nodes are told to read it again.
pub async fn on_session_changed(state: &AppState, s: &Session) {
    if let Some(bus) = &state.bus {
        bus.publish_event(&s.id, &BusEvent::Changed);
    }
    apply_session_changed(state, s).await;
}

/// A session's settings changed: this node's hub and writer follow.
async fn apply_session_changed(state: &AppState, s: &Session) {
    let hub = state.live.hub(state, s);
    let curtain = hub.status.lock().map(|st| st.1).unwrap_or(false);
    hub.set_status(s.state, curtain && s.state == SessionState::Live, s.delay_seconds);
    if let Some(tx) = hub.writer() {
        let scope = s.consent.as_ref().map(|c| c.scope).unwrap_or_default();
        let _ = tx.send(Command::Settings { delay: s.delay_seconds, policy: s.redaction_policy, scope }).await;
        hub.share_status();
    }
    hub.announce_state();
}

/// The patient's identifiers changed: the writer recompiles its matcher
/// (here, or on the writer's node, told through the bus).
pub async fn on_identifiers_changed(state: &AppState, session_id: &str) {
    if let Some(bus) = &state.bus {
        bus.publish_event(session_id, &BusEvent::Identifiers);
    }
    apply_identifiers_changed(state, session_id).await;
}

async fn apply_identifiers_changed(state: &AppState, session_id: &str) {
    if let Some(tx) = state.live.get(session_id).and_then(|h| h.writer()) {
        let _ = tx.send(Command::Identifiers(state.identifiers.get(session_id))).await;
    }
}

/// The session went live (or is live at start-up): start its writer task,
/// with the patient's identifiers unsealed first (after a restart).
pub async fn on_started(state: &AppState, s: &Session) -> Result<(), ApiError> {
    if state.identifiers.get(&s.id).is_none() {
        state.identifiers.load(state.store.as_ref(), &s.id).await?;
    }
    let hub = state.live.hub(state, s);
    hub.set_status(s.state, s.curtain, s.delay_seconds);
    if hub.writer().is_some_and(|tx| !tx.is_closed()) {
        return Ok(());
    }
    // The writer runs where the lease is: here only if this node takes it.
    let cluster = &state.config.cluster;
    let Some(lease) = state.store.acquire_writer(&s.id, &cluster.node_id, cluster.lease).await? else {
        tracing::info!(session = %s.id, "another node writes this session");
        return Ok(());
    };
    let mut w = match hub.writer.lock() {
        Ok(w) => w,
        Err(p) => p.into_inner(),
    };
    if w.as_ref().is_some_and(|tx| !tx.is_closed()) {
        return Ok(());
    }
    tracing::info!(session = %s.id, epoch = lease.epoch, last_seq = lease.last_seq, "writer lease taken");
    state.metrics.writer_leases_taken.fetch_add(1, Ordering::Relaxed);
    let tx = writer::spawn(state.clone(), hub.clone(), s, lease);
    *w = Some(tx.clone());
    drop(w);
    // Publishes and gate controls from the other nodes come here now.
    if let Some(bus) = state.bus.clone().filter(|_| crate::cluster::subject_token(&s.id)) {
        crate::cluster::forward::serve(bus, s.id.clone(), tx);
    }
    follower::spawn(state.clone(), hub.clone());
    hub.announce_state();
    hub.share_status();
    Ok(())
}

/// The session is ending: held items are dropped, never released.
/// Returns how many were dropped.
pub async fn on_ending(state: &AppState, s: &Session) -> usize {
    let Some(hub) = state.live.get(&s.id) else { return 0 };
    let tx = hub.writer.lock().ok().and_then(|mut w| w.take());
    let mut dropped = 0;
    if let Some(tx) = tx {
        let (reply, rx) = oneshot::channel();
        if tx.send(Command::End { reply }).await.is_ok() {
            dropped = rx.await.unwrap_or(0);
        }
    }
    // Media ends with the session: viewers' and the publisher's peers close.
    state.media.control(&s.id, Control::End);
    hub.set_video(VideoStatus::None);
    hub.set_status(SessionState::Ended, false, s.delay_seconds);
    hub.announce_state();
    hub.close_all(1000, "session ended");
    // Forget the hub: its shards finish the closes and stop. A viewer who
    // comes later gets a fresh hub that sends the archive and closes.
    state.live.remove(&s.id);
    dropped
}

/// Relay revocations and shutdown into every session's broadcast, so that a
/// viewer waits on one channel (plus its socket) instead of three.
pub fn spawn_relay(state: &AppState) {
    let state = state.clone();
    let mut revocations = state.revocations.subscribe();
    tokio::spawn(async move {
        let shutdown = state.shutdown.clone();
        let stop = shutdown.wait();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => {
                    for hub in state.live.all() {
                        hub.close_all(socket::GOING_AWAY, "server going away");
                    }
                    break;
                }
                r = revocations.recv() => match r {
                    Ok(r) => state.live.to_every_hub(To::Revoke(Arc::new(r))),
                    Err(broadcast::error::RecvError::Lagged(_)) => state.live.to_every_hub(To::RecheckRevocations),
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
    });
}

/// At start-up: sessions left live by a previous run get their writers back
/// (nothing held survives a restart: held items were in memory only).
pub async fn resume_live_sessions(state: &AppState) -> Result<(), ApiError> {
    for s in state.store.sessions().await? {
        if s.state == SessionState::Live {
            on_started(state, &s).await?;
        }
    }
    Ok(())
}

/// Every second: live sessions whose writer lease is missing or expired
/// (their node died or stopped) get a writer here, if this node takes the
/// lease first. What the dead writer held is gone; releases go on from the
/// last stored `seq`.
pub fn spawn_takeover(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let shutdown = state.shutdown.clone();
        let stop = shutdown.wait();
        tokio::pin!(stop);
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = tick.tick() => {}
            }
            let ids = match state.store.unwritten_live_sessions().await {
                Ok(ids) => ids,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the writer leases");
                    continue;
                }
            };
            for id in ids {
                if state.live.get(&id).and_then(|h| h.writer()).is_some_and(|tx| !tx.is_closed()) {
                    continue;
                }
                match state.store.session(&id).await {
                    Ok(Some(s)) if s.state == SessionState::Live => {
                        if let Err(e) = on_started(&state, &s).await {
                            tracing::warn!(session = %id, error = %e, "cannot take the session over");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(session = %id, error = %e, "cannot read the session"),
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::To;

    #[test]
    fn frames_reach_the_viewers_they_are_for() {
        // (controller, staff): a student, an educator, a surgeon owner.
        let (viewer, educator, owner) = ((false, false), (false, true), (true, true));
        let reach = |to: &To| [viewer, educator, owner].map(|(c, s)| to.reaches(c, s));
        assert_eq!(reach(&To::All), [true, true, true]);
        assert_eq!(reach(&To::Controllers), [false, false, true]);
        assert_eq!(reach(&To::Staff), [false, true, true]);
        assert_eq!(reach(&To::Audience), [true, false, false]);
        assert_eq!(reach(&To::Close(1000)), [false, false, false]);
    }
}
