//! The one writer of a live session: owns the delay gate, redacts what enters
//! it, assigns `seq` on release, stores each released item before anyone is
//! sent it, and fans it out. Everything else talks to it through commands.
//!
//! Redaction runs on the bounded redaction pool, never on the writers' thread
//! (one thread for every session's gate): while a text is redacted the writer
//! keeps releasing what is due, and takes its next command only once that
//! text has entered the gate, so commands keep their order and the session's
//! name memory sees its messages in the order they were sent.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use orgallery_gate::{DropReason, Dropped, Gate, GateError, Policy, Released};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::item::{update_frame, HeldImage, Item, Kind};
use super::{Event, Hub, To};
use crate::error::ApiError;
use crate::model::{ConsentScope, RedactionPolicy, Session, SessionState};
use crate::redaction::{Patient, Pooled, SessionMemory};
use crate::session::identifiers::PatientIdentifiers;
use crate::state::AppState;
use crate::store::{Lease, StoreError, StoredUpdate};

/// While the store fails, how often the writer tries again to store what the
/// gate released (a publish tries at once).
const STORE_RETRY: Duration = Duration::from_secs(1);

/// Longest marker label, in characters.
pub const MAX_LABEL_CHARS: usize = 200;

/// What a publisher hands in, before redaction.
pub struct Draft {
    pub kind: Kind,
    pub text: Option<String>,
    pub image: Option<HeldImage>,
    pub author: String,
}

/// Where the writer answers a command.
pub type Reply<T> = oneshot::Sender<Result<T, ApiError>>;

pub enum Command {
    Publish {
        draft: Draft,
        reply: Reply<Value>,
    },
    Approve {
        id: String,
        reply: Reply<Value>,
    },
    Retract {
        id: String,
        reply: Reply<Value>,
    },
    Edit {
        id: String,
        text: String,
        reply: Reply<Value>,
    },
    Curtain {
        down: bool,
        reply: Reply<Value>,
    },
    Dump {
        reply: Reply<usize>,
    },
    Queue {
        reply: Reply<Value>,
    },
    /// The held image of an item (controllers' preview and re-masking).
    HeldImage {
        id: String,
        reply: Reply<HeldImage>,
    },
    /// Replace a held item's image with a re-masked copy of `base` (the
    /// image it had when the re-masking started); the deadline is kept.
    Remask {
        id: String,
        base: Bytes,
        image: HeldImage,
        reply: Reply<Value>,
    },
    Settings {
        delay: u32,
        policy: RedactionPolicy,
        scope: ConsentScope,
    },
    Identifiers(Option<Arc<PatientIdentifiers>>),
    /// A copy of what the writer redacts with (the compiled identifiers and
    /// the names learned so far), for the composer's preview: the copy is
    /// used and dropped, so a preview never teaches the memory.
    Redaction {
        reply: Reply<(Option<Arc<Patient>>, SessionMemory)>,
    },
    End {
        reply: oneshot::Sender<usize>,
    },
}

fn policy(p: RedactionPolicy) -> Policy {
    match p {
        RedactionPolicy::Mask => Policy::Mask,
        RedactionPolicy::Hold => Policy::Hold,
    }
}

fn gate_error(e: GateError) -> ApiError {
    match e {
        GateError::Unknown => ApiError::not_found("update"),
        GateError::AlreadyReleased => ApiError::conflict("already_released", "the item was already released"),
        GateError::AlreadyDropped => ApiError::conflict("already_dropped", "the item was already dropped"),
        GateError::Ended => ApiError::conflict("not_live", "the session is not live"),
        GateError::Duplicate => ApiError::conflict("duplicate", "an item with this id exists"),
        GateError::Overflow => ApiError::invalid("invalid_delay", "the delay cannot be represented"),
    }
}

struct Writer {
    state: AppState,
    hub: Arc<Hub>,
    session_id: String,
    gate: Gate<String, Item>,
    patient: Option<Arc<Patient>>,
    /// Names the gate found in this session's earlier items (in memory only).
    /// Shared with the one redaction in flight, never with two at once.
    names: Arc<Mutex<SessionMemory>>,
    curtain: bool,
    delay: u32,
    /// Viewer count last announced, to coalesce count changes.
    announced_viewers: usize,
    /// The `seq` the next stored release gets (the store's last + 1). The
    /// writer, not the gate, numbers releases: an item is numbered when it
    /// is stored, so an item that is never stored leaves no gap.
    next_seq: u64,
    /// Released by the gate but not stored yet because the store failed:
    /// sent to nobody until stored, in order.
    unstored: VecDeque<Released<String, Item>>,
    /// Set while the store fails: when to try again.
    retry_at: Option<Instant>,
    /// This node's writer lease on the session: every release is stored
    /// under it, and a newer epoch elsewhere stops this writer.
    lease: Lease,
    /// Another node took the lease: this writer stops.
    lost: bool,
}

pub fn spawn(state: AppState, hub: Arc<Hub>, s: &Session, lease: Lease) -> mpsc::Sender<Command> {
    let first_seq = lease.last_seq + 1;
    let (tx, rx) = mpsc::channel(256);
    let mut gate = Gate::new(Duration::from_secs(u64::from(s.delay_seconds)), policy(s.redaction_policy), first_seq);
    gate.set_curtain(s.curtain);
    let w = Writer {
        patient: state.identifiers.get(&s.id).map(|ids| Arc::new(Patient::compile(ids))),
        names: Arc::new(Mutex::new(SessionMemory::new())),
        state,
        hub,
        session_id: s.id.clone(),
        gate,
        curtain: s.curtain,
        delay: s.delay_seconds,
        announced_viewers: usize::MAX,
        next_seq: first_seq,
        unstored: VecDeque::new(),
        retry_at: None,
        lease,
        lost: false,
    };
    // The media engine follows this writer's gate from the start.
    w.state.media.control(&s.id, crate::media::Control::Sync { curtain: s.curtain, delay_seconds: s.delay_seconds });
    let span = tracing::info_span!("writer", session = %s.id);
    // On the gate runtime: deadlines fire on time however many viewer tasks
    // the main runtime is busy with.
    state_rt(&w.state).spawn(w.run(rx).instrument(span));
    tx
}

/// A text on the redaction pool, and what to do with it once redacted.
struct Redacting {
    job: Pin<Box<dyn Future<Output = Pooled> + Send>>,
    then: AfterRedaction,
}

enum AfterRedaction {
    /// `now`: when the publish arrived (its delay runs from then).
    Publish {
        item: Item,
        now: Instant,
        reply: Reply<Value>,
    },
    Edit {
        id: String,
        item: Item,
        reply: Reply<Value>,
    },
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        self.state.metrics.live_sessions.fetch_add(1, Relaxed);
        let shutdown = self.state.shutdown.clone();
        let stop = shutdown.wait();
        tokio::pin!(stop);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut redacting: Option<Redacting> = None;
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = self.gate.next_deadline().map(tokio::time::Instant::from_std);
            tokio::select! {
                biased;
                _ = &mut stop => {
                    // Items still held are dropped, never released later.
                    let mut dropped = self.gate.end();
                    dropped.extend(self.drop_unstored(DropReason::Ended));
                    self.announce_dropped(&dropped);
                    // Another node may take the session over at once.
                    let _ = self.state.store.release_writer(&self.session_id, &self.lease).await;
                    break;
                }
                done = async { match redacting.as_mut() { Some(r) => r.job.as_mut().await, None => std::future::pending().await } }, if redacting.is_some() => {
                    if let Some(r) = redacting.take() {
                        self.after_redaction(r.then, done);
                    }
                }
                // The next command waits until the text in flight is in the gate.
                cmd = rx.recv(), if redacting.is_none() => match cmd {
                    Some(Command::End { reply }) => {
                        let mut dropped = self.gate.end();
                        dropped.extend(self.drop_unstored(DropReason::Ended));
                        self.announce_dropped(&dropped);
                        let _ = self.state.store.release_writer(&self.session_id, &self.lease).await;
                        let _ = reply.send(dropped.len());
                        break;
                    }
                    Some(cmd) => redacting = self.handle(cmd).await,
                    None => break,
                },
                _ = async { if let Some(d) = deadline { tokio::time::sleep_until(d).await } }, if deadline.is_some() => {}
                _ = tick.tick() => {
                    self.renew().await;
                    self.maybe_announce_viewers();
                }
            }
            if !self.lost {
                self.release_due().await;
            }
            if self.lost {
                self.stand_down();
                break;
            }
        }
        self.drop_unstored(DropReason::Ended);
        self.state.metrics.live_sessions.fetch_sub(1, Relaxed);
    }

    /// Items released but never stored are dropped (never sent); the store
    /// no longer blocks this writer.
    fn drop_unstored(&mut self, reason: DropReason) -> Vec<Dropped<String, Item>> {
        self.set_blocked(false);
        self.unstored.drain(..).map(|r| Dropped { id: r.id, payload: r.payload, reason }).collect()
    }

    /// Extend the lease (every second). A store that fails is retried at
    /// the next tick: while the lease is expired its releases are refused
    /// by the store, and taken again if no other node took the lease.
    async fn renew(&mut self) {
        match self.state.store.renew_writer(&self.session_id, &self.lease, self.state.config.cluster.lease).await {
            Ok(true) => {}
            Ok(false) => self.lost = true,
            Err(e) => tracing::warn!(error = %e, "could not renew the writer lease"),
        }
    }

    /// Another node writes the session now: what this writer held is
    /// dropped (never released late), the controllers are told, and this
    /// node's viewers are closed with 1012 so they reconnect to a node
    /// that receives the session's releases.
    fn stand_down(&mut self) {
        let mut dropped = self.gate.end();
        dropped.extend(self.drop_unstored(DropReason::Ended));
        tracing::warn!(epoch = self.lease.epoch, dropped = dropped.len(), "another node took the writer lease");
        self.state.metrics.writer_leases_lost.fetch_add(1, Relaxed);
        self.announce_dropped(&dropped);
        self.send(To::Controllers, json!({"type": "writer_moved", "dropped": dropped.len()}));
        if let Ok(mut w) = self.hub.writer.lock() {
            *w = None;
        }
        self.hub.close_all(1012, "the session moved to another node");
    }

    fn set_blocked(&mut self, blocked: bool) {
        match (self.retry_at.is_some(), blocked) {
            (false, true) => {
                self.state.metrics.writers_store_blocked.fetch_add(1, Relaxed);
                self.retry_at = Some(Instant::now() + STORE_RETRY);
            }
            (true, true) => self.retry_at = Some(Instant::now() + STORE_RETRY),
            (true, false) => {
                self.state.metrics.writers_store_blocked.fetch_sub(1, Relaxed);
                self.retry_at = None;
            }
            (false, false) => {}
        }
    }

    fn maybe_announce_viewers(&mut self) {
        let n = self.hub.total_viewers();
        if n != self.announced_viewers {
            self.announced_viewers = n;
            self.hub.announce_state();
        }
    }

    /// A frame for some viewers, on every node.
    fn send(&self, to: To, v: Value) {
        self.hub.share(to, v.to_string());
    }

    fn announce_dropped(&self, dropped: &[Dropped<String, Item>]) {
        self.state.metrics.updates_dropped.fetch_add(dropped.len() as u64, Relaxed);
        for d in dropped {
            let reason = match d.reason {
                DropReason::Retracted => "retracted",
                DropReason::Dumped => "dumped",
                DropReason::Ended => "ended",
            };
            self.send(To::Controllers, json!({"type": "dropped", "id": d.id, "reason": reason}));
        }
    }

    fn held_view(&self, id: &str, with_original: bool) -> Option<Value> {
        self.gate.get(&id.to_string()).map(|h| h.payload.held_json(h.approved, with_original))
    }

    /// Starts redacting `text` on the pool; `then` finishes the command.
    fn redact(&self, text: String, then: AfterRedaction) -> Redacting {
        let job = self.state.redactor.redact_in_session_pooled(text, self.patient.clone(), self.names.clone());
        Redacting { job: Box::pin(job), then }
    }

    /// The text in flight is redacted: it enters the gate (or the edit is applied).
    fn after_redaction(&mut self, then: AfterRedaction, done: Pooled) {
        let (r, raw) = match done {
            Ok(d) => d,
            Err(e) => {
                // Fail closed: nothing unredacted enters the gate.
                tracing::error!(error = %e, "redaction failed; the item was refused");
                let reply = match then {
                    AfterRedaction::Publish { reply, .. } | AfterRedaction::Edit { reply, .. } => reply,
                };
                let _ = reply.send(Err(ApiError::internal(e)));
                return;
            }
        };
        let fill = |item: &mut Item| {
            item.text = Some(r.text);
            item.redactions = r.spans;
            item.findings = r.findings;
            item.original = Some(raw);
        };
        match then {
            AfterRedaction::Publish { mut item, now, reply } => {
                fill(&mut item);
                self.publish(item, now, reply);
            }
            AfterRedaction::Edit { id, mut item, reply } => {
                fill(&mut item);
                // The item may have been released or dropped while its new text was redacted.
                let flagged = item.flagged();
                let r = self.gate.edit(&id, item, flagged).map_err(gate_error).map(|_| {
                    tracing::info!(update = %id, "edited");
                    let view = self.held_view(&id, false).unwrap_or(Value::Null);
                    self.send(To::Controllers, json!({"type": "held", "item": view}));
                    view
                });
                let _ = reply.send(r);
            }
        }
    }

    /// A redacted item enters the gate.
    fn publish(&mut self, item: Item, now: Instant, reply: Reply<Value>) {
        let id = item.id.clone();
        let flagged = item.flagged();
        let r = self.gate.publish(now, id.clone(), item, flagged).map_err(gate_error);
        let r = r.map(|_| {
            self.state.metrics.updates_published.fetch_add(1, Relaxed);
            let view = self.held_view(&id, false).unwrap_or(Value::Null);
            self.send(To::Controllers, json!({"type": "held", "item": view}));
            tracing::info!(update = %id, flagged, "published");
            view
        });
        let _ = reply.send(r);
    }

    /// Handles one command; a publish or an edit with text returns the redaction to await.
    async fn handle(&mut self, cmd: Command) -> Option<Redacting> {
        match cmd {
            Command::Publish { draft, reply } => {
                // While released items wait for the store, nothing new is
                // accepted: the publisher hears 503 and can try again.
                if self.retry_at.is_some() && !self.flush().await {
                    let _ = reply.send(Err(ApiError::StoreUnavailable("released items wait for the store".into())));
                    return None;
                }
                let (now, now_wall) = (Instant::now(), Utc::now());
                let item = Item {
                    id: uuid::Uuid::new_v4().to_string(),
                    kind: draft.kind,
                    text: None,
                    redactions: Vec::new(),
                    original: None,
                    findings: Vec::new(),
                    image: draft.image,
                    author: draft.author,
                    created_at: now_wall,
                    release_at: now_wall + chrono::Duration::seconds(i64::from(self.delay)),
                };
                match draft.text {
                    Some(text) => return Some(self.redact(text, AfterRedaction::Publish { item, now, reply })),
                    None => self.publish(item, now, reply),
                }
            }
            Command::Approve { id, reply } => {
                let r = self.gate.approve(Instant::now(), &id).map_err(gate_error).map(|_| {
                    tracing::info!(update = %id, "approved");
                    json!({"id": id, "state": if self.curtain { "approved" } else { "released" }})
                });
                let _ = reply.send(r);
            }
            Command::Retract { id, reply } => {
                let r = self.gate.retract(&id).map_err(gate_error).map(|d| {
                    tracing::info!(update = %id, "retracted");
                    self.announce_dropped(std::slice::from_ref(&d));
                    json!({"id": id, "state": "dropped"})
                });
                let _ = reply.send(r);
            }
            Command::Edit { id, text, reply } => {
                let r = match self.gate.get(&id).map(|h| h.payload.clone()) {
                    None => Err(missing(&self.gate, &id)),
                    Some(item) if item.kind == Kind::Marker && text.chars().count() > MAX_LABEL_CHARS => {
                        Err(ApiError::invalid(
                            "label_too_long",
                            format!("label is longer than {MAX_LABEL_CHARS} characters"),
                        ))
                    }
                    Some(item) => return Some(self.redact(text, AfterRedaction::Edit { id, item, reply })),
                };
                let _ = reply.send(r);
            }
            Command::Curtain { down, reply } => {
                self.gate.set_curtain(down);
                self.curtain = down;
                self.state.media.control(&self.session_id, crate::media::Control::Curtain(down));
                let r = self.state.store.set_curtain(&self.session_id, down).await.map_err(ApiError::from);
                self.hub.set_status(SessionState::Live, down, self.delay);
                self.hub.announce_state();
                self.hub.share_status();
                tracing::info!(down, "curtain");
                let _ = reply.send(r.map(|_| json!({"curtain": down})));
            }
            Command::Dump { reply } => {
                let mut dropped = self.gate.dump();
                // What the gate released but the store has not taken was sent
                // to nobody: it goes too.
                dropped.extend(self.drop_unstored(DropReason::Dumped));
                // Media first: the buffered seconds of video and audio go too.
                let media = self.state.media.dump(&self.session_id).await;
                tracing::info!(count = dropped.len(), media_packets = media, "dump");
                self.announce_dropped(&dropped);
                let _ = reply.send(Ok(dropped.len()));
            }
            Command::HeldImage { id, reply } => {
                let r = match self.gate.get(&id).map(|h| h.payload.image.clone()) {
                    None => Err(missing(&self.gate, &id)),
                    Some(None) => Err(ApiError::invalid("not_an_image", "the update is not an image")),
                    Some(Some(img)) => Ok(img),
                };
                let _ = reply.send(r);
            }
            Command::Remask { id, base, image, reply } => {
                let r = match self.gate.get(&id).map(|h| h.payload.clone()) {
                    None => Err(missing(&self.gate, &id)),
                    Some(item) if item.image.as_ref().is_none_or(|i| i.bytes != base) => {
                        Err(ApiError::conflict("changed", "the image changed meanwhile; try again"))
                    }
                    Some(mut item) => {
                        item.image = Some(image);
                        let flagged = item.flagged();
                        self.gate.edit(&id, item, flagged).map_err(gate_error).map(|_| {
                            tracing::info!(update = %id, "re-masked");
                            let view = self.held_view(&id, false).unwrap_or(Value::Null);
                            self.send(To::Controllers, json!({"type": "held", "item": view}));
                            view
                        })
                    }
                };
                let _ = reply.send(r);
            }
            Command::Queue { reply } => {
                let items: Vec<Value> = self.gate.held().map(|h| h.payload.held_json(h.approved, true)).collect();
                let _ = reply.send(Ok(json!({"curtain": self.curtain, "items": items})));
            }
            Command::Settings { delay, policy: p, scope: _ } => {
                if delay != self.delay {
                    self.state.media.control(&self.session_id, crate::media::Control::Delay(delay));
                }
                self.delay = delay;
                self.gate.set_delay(Duration::from_secs(u64::from(delay)));
                self.gate.set_policy(policy(p));
            }
            Command::Identifiers(ids) => {
                self.patient = ids.map(|ids| Arc::new(Patient::compile(ids)));
            }
            Command::Redaction { reply } => {
                let memory = self.names.lock().map(|m| m.clone()).unwrap_or_else(|p| p.into_inner().clone());
                let _ = reply.send(Ok((self.patient.clone(), memory)));
            }
            Command::End { reply } => {
                let _ = reply.send(0);
            }
        }
        None
    }

    /// Release what is due: store first, then fan out the shared frame.
    async fn release_due(&mut self) {
        let now = Instant::now();
        for r in self.gate.poll(now) {
            if let Some(late) = now.checked_duration_since(r.release_at) {
                self.state.metrics.gate_lateness.observe(late);
            }
            self.unstored.push_back(r);
        }
        if !self.unstored.is_empty() && self.retry_at.is_none_or(|t| now >= t) {
            self.flush().await;
        }
    }

    /// Store and send what the gate released, in order, until the store
    /// fails; true when nothing is left unstored.
    async fn flush(&mut self) -> bool {
        while let Some(r) = self.unstored.front() {
            match self.store(r, self.next_seq).await {
                Ok(body) => {
                    let seq = self.next_seq;
                    self.next_seq += 1;
                    let id = r.id.clone();
                    self.unstored.pop_front();
                    self.state.metrics.updates_released.fetch_add(1, Relaxed);
                    // Stored first: the other nodes fill from the store what the bus loses.
                    if let Some(bus) = &self.state.bus {
                        bus.publish_released(&self.session_id, seq, &body);
                    }
                    self.hub.send(Event { seq, to: To::All, frame: super::wire::text(update_frame(seq, &body)) });
                    tracing::debug!(update = %id, seq, "released");
                }
                Err(StoreFailure::Lost) => {
                    self.lost = true;
                    return false;
                }
                Err(StoreFailure::Failed(e)) => {
                    if self.retry_at.is_none() {
                        tracing::error!(error = %e, waiting = self.unstored.len(),
                            "could not store a released item; nothing is sent until the store takes it");
                    }
                    self.set_blocked(true);
                    return false;
                }
            }
        }
        if self.retry_at.is_some() {
            tracing::info!("the store takes releases again");
        }
        self.set_blocked(false);
        true
    }

    /// Store one release as `seq` (its image file first); returns its body.
    /// Safe to repeat after a failure.
    async fn store(&self, r: &Released<String, Item>, seq: u64) -> Result<String, StoreFailure> {
        let released_at = Utc::now();
        if let Some(img) = &r.payload.image {
            let dir = self.state.config.data_dir.join("media").join(&self.session_id);
            let file = dir.join(format!("{}.{}", img.media_id, img.extension));
            let bytes = img.bytes.clone();
            let f = file.clone();
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                std::fs::create_dir_all(&dir)?;
                std::fs::write(&f, &bytes)
            })
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| ApiError::StoreUnavailable(e.to_string()))?;
            let rel = file.strip_prefix(&self.state.config.data_dir).unwrap_or(&file).display().to_string();
            match self.state.store.put_media(&img.media_id, &self.session_id, img.content_type, &rel).await {
                // An earlier attempt stored the row and then failed on the update.
                Ok(()) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let body = r.payload.released_json(seq, released_at);
        let update = StoredUpdate { seq, id: r.id.clone(), body: body.clone() };
        match self.state.store.append_update(&self.session_id, &update, &self.lease).await {
            Ok(()) => {}
            // Expired while the store was away, or taken: renew tells which.
            Err(StoreError::Fenced) => {
                let ttl = self.state.config.cluster.lease;
                if !self.state.store.renew_writer(&self.session_id, &self.lease, ttl).await? {
                    return Err(StoreFailure::Lost);
                }
                self.state.store.append_update(&self.session_id, &update, &self.lease).await?;
            }
            Err(e) => return Err(e.into()),
        }
        Ok(body)
    }
}

/// Why a release was not stored.
enum StoreFailure {
    /// Another node holds the session's writer lease now.
    Lost,
    /// The store failed; the same release is tried again.
    Failed(ApiError),
}

impl From<ApiError> for StoreFailure {
    fn from(e: ApiError) -> Self {
        StoreFailure::Failed(e)
    }
}

impl From<StoreError> for StoreFailure {
    fn from(e: StoreError) -> Self {
        StoreFailure::Failed(e.into())
    }
}

fn state_rt(state: &AppState) -> tokio::runtime::Handle {
    state.gate_runtime.clone()
}

/// Why an id is not held: unknown, or already released or dropped.
fn missing(gate: &Gate<String, Item>, id: &str) -> ApiError {
    match gate.outcome(&id.to_string()) {
        Some(orgallery_gate::Outcome::Released { .. }) => gate_error(GateError::AlreadyReleased),
        Some(orgallery_gate::Outcome::Dropped(_)) => gate_error(GateError::AlreadyDropped),
        None if gate.is_ended() => gate_error(GateError::Ended),
        None => gate_error(GateError::Unknown),
    }
}
