//! The fan-out. A session's viewers are spread over a few shard tasks (one
//! per core); each owns its viewers' write halves and, for every event,
//! walks them and writes the shared, pre-framed bytes straight to each
//! socket. One wake-up per shard per event instead of one per viewer.
//!
//! A viewer whose socket is full queues (bounded by `viewer_queue`); past
//! the bound it is closed with 4008 and resumes from the store. A viewer
//! that missed a `seq` (it joined while an item was being released) is
//! handed to a catch-up task that writes the gap from the store and brings
//! it back: nobody ever sees a gap or a duplicate, and nobody waits on
//! anyone else's socket.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tracing::Instrument;

use super::outbox::Push;
use super::slot::Slot;
use super::wire::{self, Wire};
use super::{Event, To};
use crate::state::AppState;

pub const TOO_SLOW: u16 = 4008;
pub const REVOKED: u16 = 4003;

/// A queue that has not moved for this long means the client stopped reading.
const STALL_LIMIT: Duration = Duration::from_secs(20);
/// Sockets written between two yields to the runtime during one fan-out.
const YIELD_EVERY: usize = 256;

pub enum ShardMsg {
    Event(Arc<Event>),
    /// A viewer is about to read its backlog: keep what it would miss
    /// meanwhile (state, held/dropped for controllers, replies).
    Expect {
        id: u64,
        controller: bool,
        staff: bool,
    },
    /// A viewer that has its backlog and is ready for live frames.
    Join(Box<Slot>),
    /// An expected viewer will not join after all (its connection failed).
    Lost {
        id: u64,
    },
    /// A reply to one viewer (pong, error), in order with the rest.
    Direct {
        id: u64,
        frame: Wire,
    },
    /// The viewer presented a fresh token of the same subject: revocations
    /// are checked against it from now on.
    Renew {
        id: u64,
        who: Box<crate::auth::Principal>,
    },
    /// The client left; `echo` answers its close frame.
    Leave {
        id: u64,
        echo: Option<Wire>,
    },
}

pub type ShardTx = mpsc::UnboundedSender<ShardMsg>;

/// Start one shard task on the current runtime.
pub fn spawn(state: AppState, session_id: String, limit: usize) -> ShardTx {
    let (tx, rx) = mpsc::unbounded_channel();
    let span = tracing::info_span!("fanout", session = %session_id);
    let shard = Shard {
        state,
        session_id,
        limit: limit.max(1),
        slots: Vec::new(),
        index: HashMap::new(),
        blocked: Vec::new(),
        last_seq: 0,
        final_close: None,
        away: HashMap::new(),
        me: tx.downgrade(),
    };
    // Unconstrained: the shard yields on its own every YIELD_EVERY sockets;
    // tokio's per-task budget would otherwise fail writes after 128.
    tokio::spawn(tokio::task::unconstrained(shard.run(rx)).instrument(span));
    tx
}

struct Shard {
    state: AppState,
    session_id: String,
    limit: usize,
    slots: Vec<Slot>,
    /// viewer id -> position in `slots`.
    index: HashMap<u64, usize>,
    /// Viewers with queued bytes.
    blocked: Vec<u64>,
    /// Highest `seq` this shard has fanned out.
    last_seq: u64,
    /// Once the session ended or the server is going away, late joiners get this.
    final_close: Option<Wire>,
    /// Viewers reading their backlog (joining, or catching up on a gap):
    /// the frames without a `seq` they would otherwise miss.
    away: HashMap<u64, Away>,
    /// For catch-up tasks to bring viewers back. Weak, so that the channel
    /// closes (and the shard stops) once the hub is gone.
    me: mpsc::WeakUnboundedSender<ShardMsg>,
}

/// What a viewer away from the shard missed.
struct Away {
    controller: bool,
    staff: bool,
    missed: Vec<Wire>,
    /// More than `limit` frames were missed: it is too slow, close with 4008.
    overflow: bool,
    /// The client left meanwhile (with the close frame to echo, if any).
    left: Option<Option<Wire>>,
    /// A renewal that arrived meanwhile.
    renewed: Option<Box<crate::auth::Principal>>,
}

impl Away {
    fn new(controller: bool, staff: bool) -> Self {
        Away { controller, staff, missed: Vec::new(), overflow: false, left: None, renewed: None }
    }

    fn keep(&mut self, frame: Wire, limit: usize) {
        if self.missed.len() < limit {
            self.missed.push(frame);
        } else {
            self.overflow = true;
        }
    }
}

enum Verdict {
    Keep,
    Remove,
    CatchUp,
}

impl Shard {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<ShardMsg>) {
        let mut sweep = tokio::time::interval(Duration::from_secs(1));
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut open = true;
        loop {
            tokio::select! {
                msg = rx.recv(), if open => match msg {
                    Some(m) => self.on_msg(m).await,
                    // The hub is gone (session ended): finish the closes under way.
                    None => open = false,
                },
                _ = std::future::poll_fn(|cx| self.poll_blocked(cx)), if !self.blocked.is_empty() => {}
                // Only viewers with queued bytes can stall; an idle shard has no timer.
                _ = sweep.tick(), if !self.blocked.is_empty() => self.sweep(Instant::now()),
                else => break,
            }
            if !open && self.blocked.is_empty() {
                break;
            }
        }
    }

    async fn on_msg(&mut self, msg: ShardMsg) {
        match msg {
            ShardMsg::Event(ev) => self.fan_out(&ev).await,
            ShardMsg::Expect { id, controller, staff } => {
                self.away.insert(id, Away::new(controller, staff));
            }
            ShardMsg::Join(slot) => self.join(*slot),
            ShardMsg::Lost { id } => {
                self.away.remove(&id);
            }
            ShardMsg::Renew { id, who } => {
                if let Some(a) = self.away.get_mut(&id) {
                    a.renewed = Some(who);
                } else if let Some(&i) = self.index.get(&id) {
                    self.slots[i].who = *who;
                }
            }
            ShardMsg::Direct { id, frame } => {
                if let Some(&i) = self.index.get(&id) {
                    if self.slots[i].outbox.closing.is_none() {
                        let v = self.offer(i, frame);
                        self.apply(i, v);
                    }
                } else if let Some(a) = self.away.get_mut(&id) {
                    a.keep(frame, self.limit);
                }
            }
            ShardMsg::Leave { id, echo } => {
                if let Some(a) = self.away.get_mut(&id) {
                    a.left = Some(echo);
                } else if let Some(&i) = self.index.get(&id) {
                    match echo {
                        Some(frame) => {
                            self.slots[i].outbox.begin_close(frame, true, Instant::now());
                            let v = self.settle(i);
                            self.apply(i, v);
                        }
                        None => self.remove(i),
                    }
                }
            }
        }
    }

    async fn fan_out(&mut self, ev: &Event) {
        if ev.seq > self.last_seq {
            self.last_seq = ev.seq;
        }
        if let To::Close(_) = ev.to {
            self.final_close = Some(ev.frame.clone());
        }
        if ev.seq == 0 {
            for a in self.away.values_mut().filter(|a| ev.to.reaches(a.controller, a.staff)) {
                a.keep(ev.frame.clone(), self.limit);
            }
        }
        let mut i = 0;
        let mut written = 0;
        while i < self.slots.len() {
            let v = self.decide(i, ev);
            if self.apply(i, v) {
                i += 1;
            }
            written += 1;
            if written % YIELD_EVERY == 0 {
                tokio::task::yield_now().await;
            }
        }
    }

    /// What one event means for one viewer.
    fn decide(&mut self, i: usize, ev: &Event) -> Verdict {
        let s = &mut self.slots[i];
        if s.outbox.closing.is_some() {
            return Verdict::Keep;
        }
        match &ev.to {
            To::All if ev.seq == 0 => self.offer(i, ev.frame.clone()),
            To::All if ev.seq <= s.last => Verdict::Keep,
            To::All if ev.seq == s.last + 1 => {
                s.last = ev.seq;
                self.offer(i, ev.frame.clone())
            }
            To::All => Verdict::CatchUp,
            To::Controllers | To::Staff | To::Audience if ev.to.reaches(s.controller, s.staff) => {
                self.offer(i, ev.frame.clone())
            }
            To::Controllers | To::Staff | To::Audience => Verdict::Keep,
            To::Close(_) => {
                s.outbox.begin_close(ev.frame.clone(), false, Instant::now());
                self.settle(i)
            }
            To::Revoke(r) if r.hits(&s.who.jti, &s.who.sub, s.who.iat) => self.revoke(i),
            To::RecheckRevocations if s.is_revoked() => self.revoke(i),
            To::Revoke(_) | To::RecheckRevocations => Verdict::Keep,
        }
    }

    fn revoke(&mut self, i: usize) -> Verdict {
        tracing::info!(user = %self.slots[i].who.sub, "access revoked: closing");
        self.slots[i].outbox.begin_close(wire::close(REVOKED, "access revoked"), true, Instant::now());
        self.settle(i)
    }

    /// Give a frame to viewer `i`, closing it with 4008 when it is too far behind.
    fn offer(&mut self, i: usize, frame: Wire) -> Verdict {
        let s = &mut self.slots[i];
        match s.outbox.push(frame, self.limit) {
            Push::Sent => Verdict::Keep,
            Push::Queued => {
                self.list_blocked(i);
                Verdict::Keep
            }
            Push::Dead => Verdict::Remove,
            Push::Full => self.too_slow(i),
        }
    }

    /// Close viewer `i` with 4008. Frames dropped from its queue are in the
    /// store: the client resumes with after = the last seq it received.
    fn too_slow(&mut self, i: usize) -> Verdict {
        let s = &mut self.slots[i];
        self.state.metrics.viewers_too_slow.fetch_add(1, Relaxed);
        tracing::info!(user = %s.who.sub, last = s.last, "viewer too slow");
        s.outbox.begin_close(wire::close(TOO_SLOW, "too slow: reconnect with after=last seq"), true, Instant::now());
        self.settle(i)
    }

    /// After a close frame was queued: drop the viewer if it is already out.
    fn settle(&mut self, i: usize) -> Verdict {
        match self.slots[i].outbox.try_drain() {
            Ok(true) => Verdict::Remove,
            Ok(false) => {
                self.list_blocked(i);
                Verdict::Keep
            }
            Err(()) => Verdict::Remove,
        }
    }

    fn list_blocked(&mut self, i: usize) {
        let s = &mut self.slots[i];
        if !s.listed_blocked {
            s.listed_blocked = true;
            self.blocked.push(s.id);
        }
    }

    /// Carry out a verdict; true when slot `i` is still the same viewer.
    fn apply(&mut self, i: usize, v: Verdict) -> bool {
        match v {
            Verdict::Keep => true,
            Verdict::Remove => {
                self.remove(i);
                false
            }
            Verdict::CatchUp => {
                let slot = self.take(i);
                self.catch_up(slot);
                false
            }
        }
    }

    fn take(&mut self, i: usize) -> Slot {
        let mut slot = self.slots.swap_remove(i);
        self.index.remove(&slot.id);
        if let Some(moved) = self.slots.get(i) {
            self.index.insert(moved.id, i);
        }
        slot.listed_blocked = false;
        slot
    }

    fn remove(&mut self, i: usize) {
        drop(self.take(i));
    }

    fn join(&mut self, mut slot: Slot) {
        let now = Instant::now();
        let mut away = self.away.remove(&slot.id).unwrap_or_else(|| Away::new(slot.controller, slot.staff));
        if let Some(who) = away.renewed.take() {
            slot.who = *who;
        }
        if let Some(frame) = &self.final_close {
            slot.outbox.begin_close(frame.clone(), false, now);
        } else if slot.is_revoked() {
            slot.outbox.begin_close(wire::close(REVOKED, "access revoked"), true, now);
        } else if let Some(echo) = away.left {
            match echo {
                Some(frame) => slot.outbox.begin_close(frame, true, now),
                None => return,
            }
        } else if slot.last < self.last_seq {
            self.away.insert(slot.id, away);
            self.catch_up(slot);
            return;
        }
        if slot.outbox.closing.is_some() && slot.outbox.try_drain() != Ok(false) {
            return;
        }
        let i = self.slots.len();
        self.index.insert(slot.id, i);
        let blocked = slot.outbox.is_blocked();
        self.slots.push(slot);
        if blocked {
            self.list_blocked(i);
        }
        if self.slots[i].outbox.closing.is_some() {
            return;
        }
        // What it missed while away, then live frames as usual.
        let verdict = if away.overflow {
            self.too_slow(i)
        } else {
            let mut v = Verdict::Keep;
            for frame in away.missed {
                v = self.offer(i, frame);
                if !matches!(v, Verdict::Keep) {
                    break;
                }
            }
            v
        };
        self.apply(i, verdict);
    }

    /// Write the viewer's gap from the store on its own task, then rejoin.
    fn catch_up(&mut self, slot: Slot) {
        // No hub any more: the session is over and the viewer is let go.
        let Some(me) = self.me.upgrade() else {
            self.away.remove(&slot.id);
            return;
        };
        self.away.entry(slot.id).or_insert_with(|| Away::new(slot.controller, slot.staff));
        let (state, session) = (self.state.clone(), self.session_id.clone());
        tokio::spawn(
            async move {
                let mut slot = slot;
                let id = slot.id;
                let msg = match super::socket::backlog(&state, &session, &mut slot).await {
                    Ok(()) => ShardMsg::Join(Box::new(slot)),
                    Err(()) => ShardMsg::Lost { id },
                };
                let _ = me.send(msg);
            }
            .in_current_span(),
        );
    }

    /// Write queued bytes of blocked viewers; called when a socket has room.
    fn poll_blocked(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut k = 0;
        while k < self.blocked.len() {
            let id = self.blocked[k];
            let Some(&i) = self.index.get(&id) else {
                self.blocked.swap_remove(k);
                continue;
            };
            match self.slots[i].outbox.poll_drain(cx) {
                Poll::Pending => k += 1,
                Poll::Ready(r) => {
                    self.blocked.swap_remove(k);
                    self.slots[i].listed_blocked = false;
                    if r.is_err() || self.slots[i].outbox.closing.is_some() {
                        self.remove(i);
                    }
                }
            }
        }
        Poll::Pending
    }

    /// Drop viewers whose queue has not moved for too long, and closing
    /// viewers past their grace period.
    fn sweep(&mut self, now: Instant) {
        let mut k = 0;
        while k < self.blocked.len() {
            let id = self.blocked[k];
            let stale = self.index.get(&id).map(|&i| {
                let s = &self.slots[i];
                let closing_late = s.outbox.closing.is_some_and(|d| now >= d);
                let stalled = s.outbox.stalled_since.is_some_and(|t| now.duration_since(t) >= STALL_LIMIT);
                (i, closing_late || stalled)
            });
            match stale {
                Some((i, true)) => {
                    self.blocked.swap_remove(k);
                    tracing::info!(user = %self.slots[i].who.sub, "dropping a viewer that stopped reading");
                    self.remove(i);
                }
                Some((_, false)) => k += 1,
                None => {
                    self.blocked.swap_remove(k);
                }
            }
        }
    }
}
