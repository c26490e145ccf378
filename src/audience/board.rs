//! A live session's question board: one task per session that owns every
//! change to its questions and its pulse, so that each change is stored
//! before it is announced and announcements leave in the order of the
//! changes. HTTP handlers and socket readers talk to it through [`Cmd`]s.
//!
//! Question events never pass the delay gate: they come from the audience,
//! not from the operating room. They go straight to the fan-out, each to
//! those who may see that question.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::pulse::{Mood, PulseMeter};
use super::question::{parse_tags, Answer, Question, Status};
use crate::auth::ratelimit::FailureLimiter;
use crate::error::ApiError;
use crate::live::To;
use crate::redaction::{Finding, Patient, SessionMemory};
use crate::session::identifiers::PatientIdentifiers;
use crate::state::AppState;

pub type Reply<T> = oneshot::Sender<Result<T, ApiError>>;

/// Who asks: the account (kept for limits and votes) and the display name.
pub struct Author {
    pub sub: String,
    pub name: String,
}

/// A moderation step on a published question.
pub enum Action {
    Answer { text: String, by: String },
    Pin(bool),
    Hide(bool),
}

/// What the board does. No `Debug`: a question's text must never be printed.
pub enum Cmd {
    Ask {
        author: Author,
        text: String,
        hold: bool,
        reply: Reply<Question>,
    },
    Vote {
        sub: String,
        id: String,
        up: bool,
        reply: Reply<(Question, bool)>,
    },
    Moderate {
        id: String,
        action: Action,
        reply: Reply<Question>,
    },
    Review {
        id: String,
        approve: bool,
        reply: Reply<Question>,
    },
    /// Held questions, with the original text and findings while they are in memory.
    Queue {
        reply: Reply<Vec<Value>>,
    },
    Pulse {
        sub: String,
        mood: Mood,
        reply: Reply<i64>,
    },
}

/// The boards of live sessions, created on first use.
#[derive(Default)]
pub struct Boards {
    /// std Mutex: no `.await` under it.
    map: Mutex<HashMap<String, mpsc::Sender<Cmd>>>,
}

impl Boards {
    fn sender(&self, state: &AppState, session_id: &str) -> mpsc::Sender<Cmd> {
        let mut map = match self.map.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        if let Some(tx) = map.get(session_id).filter(|tx| !tx.is_closed()) {
            return tx.clone();
        }
        let tx = spawn(state.clone(), session_id.to_string());
        map.insert(session_id.to_string(), tx.clone());
        tx
    }

    /// The session ended: its board finishes what it was asked and stops.
    pub fn remove(&self, session_id: &str) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(session_id);
        }
    }

    fn remove_if(&self, session_id: &str, tx: &mpsc::WeakSender<Cmd>) {
        if let Ok(mut m) = self.map.lock() {
            if m.get(session_id).is_some_and(|cur| tx.upgrade().is_some_and(|t| t.same_channel(cur))) {
                m.remove(session_id);
            }
        }
    }
}

fn not_live() -> ApiError {
    ApiError::conflict("not_live", "the session is not live")
}

/// Send a command to the session's board and wait for its answer.
pub async fn call<T>(state: &AppState, session_id: &str, make: impl FnOnce(Reply<T>) -> Cmd) -> Result<T, ApiError> {
    let tx = state.audience.boards.sender(state, session_id);
    let (reply, rx) = oneshot::channel();
    tx.send(make(reply)).await.map_err(|_| not_live())?;
    rx.await.map_err(|_| not_live())?
}

fn retry_after(d: Duration) -> ApiError {
    ApiError::RateLimited { retry_after_secs: d.as_millis().div_ceil(1000).max(1) as u64 }
}

struct Board {
    state: AppState,
    session_id: String,
    /// Number of the last question (its session's own order).
    last_number: u64,
    /// Held questions' original text and findings: memory only, for the
    /// controllers' queue; gone with the review or the session.
    originals: HashMap<String, (String, Vec<Finding>)>,
    patient: Option<(Arc<PatientIdentifiers>, Patient)>,
    /// Names the gate found in this session's earlier questions and
    /// answers, masked in later ones too (memory only).
    names: SessionMemory,
    asks: FailureLimiter,
    votes: FailureLimiter,
    pulse: PulseMeter,
}

fn spawn(state: AppState, session_id: String) -> mpsc::Sender<Cmd> {
    let (tx, rx) = mpsc::channel(256);
    let limits = state.config.audience.clone();
    let board = Board {
        asks: FailureLimiter::new(limits.asks_per_minute, Duration::from_secs(60)),
        votes: FailureLimiter::new(limits.votes_per_minute, Duration::from_secs(60)),
        pulse: PulseMeter::new(limits.pulse_bucket.as_millis() as i64, limits.pulse_gap.as_millis() as i64),
        state,
        session_id: session_id.clone(),
        last_number: 0,
        originals: HashMap::new(),
        patient: None,
        names: SessionMemory::new(),
    };
    let span = tracing::info_span!("questions", session = %session_id);
    let weak = tx.downgrade();
    tokio::spawn(board.run(rx, weak).instrument(span));
    tx
}

impl Board {
    async fn run(mut self, mut rx: mpsc::Receiver<Cmd>, me: mpsc::WeakSender<Cmd>) {
        match self.state.store.last_question_number(&self.session_id).await {
            Ok(n) => self.last_number = n,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the questions; the board stops");
                self.state.audience.boards.remove_if(&self.session_id, &me);
                return;
            }
        }
        let bucket = self.state.config.audience.pulse_bucket;
        let mut tick = tokio::time::interval((bucket / 10).clamp(Duration::from_millis(50), Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let shutdown = self.state.shutdown.clone();
        let stop = shutdown.wait();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.handle(cmd).await,
                    None => break,
                },
                _ = tick.tick(), if self.pulse.has_open() => self.announce_pulse(),
            }
            if !self.is_live() {
                // The session is over: nothing more to change or announce.
                self.state.audience.boards.remove_if(&self.session_id, &me);
                break;
            }
        }
    }

    /// Questions, votes and pulses only while the session is live.
    /// Live here: this node has the session's hub and it has not ended
    /// (another node may write the session).
    fn is_live(&self) -> bool {
        self.state.live.get(&self.session_id).is_some_and(|h| h.is_live())
    }

    async fn handle(&mut self, cmd: Cmd) {
        if !self.is_live() {
            match cmd {
                Cmd::Ask { reply, .. } | Cmd::Moderate { reply, .. } | Cmd::Review { reply, .. } => {
                    let _ = reply.send(Err(not_live()));
                }
                Cmd::Vote { reply, .. } => {
                    let _ = reply.send(Err(not_live()));
                }
                Cmd::Queue { reply } => {
                    let _ = reply.send(Err(not_live()));
                }
                Cmd::Pulse { reply, .. } => {
                    let _ = reply.send(Err(not_live()));
                }
            }
            return;
        }
        match cmd {
            Cmd::Ask { author, text, hold, reply } => {
                let _ = reply.send(self.ask(author, text, hold).await);
            }
            Cmd::Vote { sub, id, up, reply } => {
                let _ = reply.send(self.vote(&sub, &id, up).await);
            }
            Cmd::Moderate { id, action, reply } => {
                let _ = reply.send(self.moderate(&id, action).await);
            }
            Cmd::Review { id, approve, reply } => {
                let _ = reply.send(self.review(&id, approve).await);
            }
            Cmd::Queue { reply } => {
                let _ = reply.send(self.queue().await);
            }
            Cmd::Pulse { sub, mood, reply } => {
                let _ = reply.send(self.record_pulse(&sub, mood).await);
            }
        }
    }

    /// The session's compiled identifiers, recompiled when they changed.
    fn refresh_patient(&mut self) {
        match self.state.identifiers.get(&self.session_id) {
            None => self.patient = None,
            Some(ids) if self.patient.as_ref().is_some_and(|(cur, _)| Arc::ptr_eq(cur, &ids)) => {}
            Some(ids) => self.patient = Some((ids.clone(), Patient::compile(ids))),
        }
    }

    fn redact(&mut self, text: &str) -> crate::redaction::Redacted {
        self.refresh_patient();
        let patient = self.patient.as_ref().map(|(_, p)| p);
        self.state.redactor.redact_in_session(text, patient, &mut self.names)
    }

    async fn ask(&mut self, author: Author, text: String, hold: bool) -> Result<Question, ApiError> {
        let now = Instant::now();
        self.asks.check(&author.sub, now).map_err(retry_after)?;
        let r = self.redact(&text);
        let flagged = r.found_any();
        let status = if hold && flagged { Status::Pending } else { Status::Published };
        let q = Question {
            id: uuid::Uuid::new_v4().to_string(),
            session_id: self.session_id.clone(),
            number: self.last_number + 1,
            author_sub: author.sub,
            author_name: author.name,
            tags: parse_tags(&r.text),
            text: r.text,
            redactions: r.spans,
            flagged,
            status,
            votes: 0,
            pinned: false,
            hidden: false,
            answer: None,
            created_at: Utc::now(),
            version: 1,
        };
        self.state.store.insert_question(&q).await?;
        self.last_number = q.number;
        self.asks.fail(&q.author_sub, now);
        if status == Status::Pending {
            self.originals.insert(q.id.clone(), (text, r.findings));
        }
        tracing::info!(question = %q.id, user = %q.author_sub, flagged, status = status.as_str(), "question asked");
        self.announce(&q);
        Ok(q)
    }

    /// The question `id` of this session, or 404.
    async fn load(&self, id: &str) -> Result<Question, ApiError> {
        self.state.store.question(&self.session_id, id).await?.ok_or_else(|| ApiError::not_found("question"))
    }

    async fn vote(&mut self, sub: &str, id: &str, up: bool) -> Result<(Question, bool), ApiError> {
        let q = self.load(id).await?;
        if !q.is_open() {
            // Voters are viewers: a hidden or held question does not exist for them.
            return Err(ApiError::not_found("question"));
        }
        let now = Instant::now();
        self.votes.check(sub, now).map_err(retry_after)?;
        let changed = self.state.store.set_vote(id, sub, up).await?;
        self.votes.fail(sub, now);
        if !changed {
            return Ok((q, up));
        }
        let q = self.load(id).await?;
        tracing::info!(question = %q.id, user = %sub, up, votes = q.votes, "vote");
        self.announce(&q);
        Ok((q, up))
    }

    async fn moderate(&mut self, id: &str, action: Action) -> Result<Question, ApiError> {
        let mut q = self.load(id).await?;
        match q.status {
            Status::Published => {}
            Status::Pending => return Err(ApiError::conflict("question_pending", "the question awaits review")),
            Status::Rejected => return Err(ApiError::conflict("question_rejected", "the question was rejected")),
        }
        let what = match action {
            Action::Answer { text, by } => {
                let r = self.redact(&text);
                q.answer = Some(Answer { text: r.text, redactions: r.spans, by, at: Utc::now() });
                "answer"
            }
            Action::Pin(p) if p == q.pinned => return Ok(q),
            Action::Hide(h) if h == q.hidden => return Ok(q),
            Action::Pin(p) => {
                q.pinned = p;
                if p {
                    "pin"
                } else {
                    "unpin"
                }
            }
            Action::Hide(h) => {
                q.hidden = h;
                if h {
                    "hide"
                } else {
                    "unhide"
                }
            }
        };
        q.version += 1;
        self.state.store.save_question(&q).await?;
        tracing::info!(question = %q.id, action = what, "question moderated");
        self.announce(&q);
        Ok(q)
    }

    async fn review(&mut self, id: &str, approve: bool) -> Result<Question, ApiError> {
        let mut q = self.load(id).await?;
        if q.status != Status::Pending {
            return Err(ApiError::conflict("not_pending", "the question is not awaiting review"));
        }
        q.status = if approve { Status::Published } else { Status::Rejected };
        q.version += 1;
        self.state.store.save_question(&q).await?;
        self.originals.remove(&q.id);
        tracing::info!(question = %q.id, approve, "question reviewed");
        self.announce(&q);
        Ok(q)
    }

    async fn queue(&self) -> Result<Vec<Value>, ApiError> {
        let held = self.state.store.questions(&self.session_id, None).await?;
        Ok(held
            .iter()
            .filter(|q| q.status == Status::Pending)
            .map(|q| {
                let mut v = q.json();
                // After a restart the original is gone: only the masked text remains.
                let original = self.originals.get(&q.id);
                v["original"] = json!(original.map(|o| &o.0));
                v["findings"] = json!(original.map(|o| &o.1));
                v
            })
            .collect())
    }

    async fn record_pulse(&mut self, sub: &str, mood: Mood) -> Result<i64, ApiError> {
        let now = Utc::now().timestamp_millis();
        self.pulse.check(sub, now).map_err(|ms| retry_after(Duration::from_millis(ms.max(0) as u64)))?;
        self.state.store.insert_pulse(&self.session_id, sub, mood, now).await?;
        self.pulse.record(sub, mood, now);
        tracing::debug!(user = %sub, mood = mood.as_str(), "pulse");
        Ok(now)
    }

    /// Hand the finished pulse buckets to the controllers and educators.
    fn announce_pulse(&mut self) {
        let done = self.pulse.due(Utc::now().timestamp_millis());
        let Some(hub) = self.state.live.get(&self.session_id) else { return };
        for b in done {
            let mut v = b.json();
            v["type"] = json!("pulse");
            hub.share(To::Staff, v.to_string());
        }
    }

    /// Send a question's new state to everyone who may see it; those who
    /// may no longer see it (hidden) get a stub that removes it.
    fn announce(&self, q: &Question) {
        let Some(hub) = self.state.live.get(&self.session_id) else { return };
        let send = |to: To, v: Value| hub.share(to, Question::frame(v));
        match q.status {
            Status::Pending | Status::Rejected => send(To::Controllers, q.json()),
            Status::Published if !q.hidden => send(To::All, q.json()),
            Status::Published => {
                send(To::Staff, q.json());
                send(To::Audience, q.hidden_stub());
            }
        }
    }
}
