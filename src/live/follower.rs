//! Every node with a live session's hub runs one follower for it. While
//! another node writes the session, the follower hands this node's viewers
//! every release: from the bus's JetStream stream when there is one (a
//! `seq` ahead of the next expected is filled from the store first, one
//! behind is dropped), and from the store by polling, which alone fills
//! what the bus lost. The shards drop what a viewer already has and fill
//! what it missed, so viewers get every `seq` once and in order whatever
//! the bus does: the store is the source of truth.
//!
//! On every node, writer's included, it also carries the bus's events
//! (frames from other nodes, the writer's curtain and video, viewer counts,
//! "read the session again") and tells the others this node's viewer count.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};

use super::item::update_frame;
use super::{Event, Hub, To};
use crate::cluster::{self, BusEvent};
use crate::model::SessionState;
use crate::state::AppState;

/// How often a follower reads new releases from the store without a bus.
const POLL: Duration = Duration::from_millis(200);
/// With a bus, the store is read this often, to fill what the bus lost.
const POLL_WITH_BUS: Duration = Duration::from_secs(1);
/// The session's state and curtain are read from the store this often.
const STATE_EVERY: Duration = Duration::from_secs(1);
/// This node's viewer count is told at least this often (and on change).
const VIEWERS_EVERY: Duration = Duration::from_secs(2);
/// Releases read per store read, at most.
const BATCH: u32 = 500;

pub fn spawn(state: AppState, hub: Arc<Hub>) {
    if hub.following.swap(true, Ordering::AcqRel) {
        return;
    }
    tokio::spawn(async move {
        Follower::new(state, hub).run().await;
    });
}

struct Follower {
    state: AppState,
    hub: Arc<Hub>,
    id: String,
    bus: Option<Arc<cluster::Bus>>,
    /// The last `seq` this node's viewers were handed (None: ask the store).
    last: Option<u64>,
    told_viewers: Option<(usize, Instant)>,
    announced_total: usize,
    state_at: Instant,
}

/// What a release from the bus means after `last` was handed out.
#[derive(Debug, PartialEq, Eq)]
enum Take {
    /// Already handed out (a redelivery, or the store was faster).
    Drop,
    /// The next one: hand it out.
    Next,
    /// Ahead: the missing range comes from the store first.
    FillFirst,
}

fn take(last: u64, seq: u64) -> Take {
    match seq.checked_sub(last) {
        None | Some(0) => Take::Drop,
        Some(1) => Take::Next,
        Some(_) => Take::FillFirst,
    }
}

/// The next change of a watch that may not exist (or whose sender is gone).
async fn changed(w: &mut Option<tokio::sync::watch::Receiver<u64>>) {
    let ok = match w.as_mut() {
        Some(w) => w.changed().await.is_ok(),
        None => false,
    };
    if !ok {
        std::future::pending::<()>().await;
    }
}

/// The next item of a stream that may not exist yet.
async fn next_of<S: Stream + Unpin>(s: &mut Option<S>) -> Option<S::Item> {
    match s.as_mut() {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

impl Follower {
    fn new(state: AppState, hub: Arc<Hub>) -> Self {
        let id = hub.session_id.clone();
        let bus = state.bus.clone().filter(|_| cluster::subject_token(&id));
        Follower {
            state,
            hub,
            id,
            bus,
            last: None,
            told_viewers: None,
            announced_total: usize::MAX,
            state_at: Instant::now(),
        }
    }

    async fn run(mut self) {
        let shutdown = self.state.shutdown.clone();
        let stop = shutdown.wait();
        tokio::pin!(stop);
        // Subscribe before the store is first read: nothing falls between.
        let mut events = match &self.bus {
            Some(b) => b.client.subscribe(cluster::events_subject(&self.id)).await.ok(),
            None => None,
        };
        let mut reconnected = self.bus.as_ref().map(|b| b.reconnections());
        let mut released = self.subscribe_released().await;
        let mut tick = tokio::time::interval(if self.bus.is_some() { POLL_WITH_BUS } else { POLL });
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                m = next_of(&mut released) => match m {
                    Some(Ok(msg)) => {
                        if let Some(stats) = self.bus.as_ref().map(|b| &b.stats) {
                            stats.received.fetch_add(1, Ordering::Relaxed);
                        }
                        if let Some((seq, body)) = cluster::released_item(&msg) {
                            self.on_release(seq, body).await;
                        }
                    }
                    Some(Err(e)) => {
                        tracing::debug!(session = %self.id, error = %e, "the bus's release stream failed; following it again");
                        released = self.subscribe_released().await;
                    }
                    None => released = None,
                },
                // NATS came back: the consumer it forgot is made again (what
                // was released meanwhile comes from the store, as a gap).
                _ = changed(&mut reconnected) => released = self.subscribe_released().await,
                e = next_of(&mut events) => match e {
                    Some(msg) => {
                        if let Some((node, ev)) = cluster::events::decode(&msg.payload) {
                            if self.bus.as_ref().is_some_and(|b| b.node != node) && !self.on_event(node, ev).await {
                                break;
                            }
                        }
                    }
                    None => events = None,
                },
                _ = tick.tick() => {
                    if !self.housekeeping().await {
                        break;
                    }
                    if self.bus.is_some() && released.is_none() {
                        released = self.subscribe_released().await;
                    }
                }
            }
        }
        self.hub.following.store(false, Ordering::Release);
    }

    async fn subscribe_released(&self) -> Option<async_nats::jetstream::consumer::pull::Ordered> {
        let bus = self.bus.as_ref()?;
        match bus.released(&self.id).await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::debug!(session = %self.id, error = %e, "cannot follow the bus's releases yet");
                None
            }
        }
    }

    /// Is this hub still the session's hub here, and the session live?
    fn current(&self) -> bool {
        self.state.live.get(&self.id).is_some_and(|h| Arc::ptr_eq(&h, &self.hub)) && !self.hub.is_ended()
    }

    /// Every tick: the store's releases (the gap-filler), the session's
    /// state, and the viewer counts. False once the session is over here.
    async fn housekeeping(&mut self) -> bool {
        if !self.current() {
            return false;
        }
        self.tell_viewers();
        if self.hub.writer().is_some() {
            self.last = None;
            return true;
        }
        let total = self.hub.total_viewers();
        if total != self.announced_total {
            self.announced_total = total;
            self.hub.announce_state();
        }
        if self.state_at.elapsed() >= STATE_EVERY {
            self.state_at = Instant::now();
            if !self.follow_state().await {
                return false;
            }
        }
        self.fill(None).await;
        true
    }

    fn tell_viewers(&mut self) {
        let Some(bus) = &self.bus else { return };
        let n = self.hub.viewers.load(Ordering::Relaxed);
        let due = self.told_viewers.is_none_or(|(was, at)| was != n || at.elapsed() >= VIEWERS_EVERY);
        if due {
            self.told_viewers = Some((n, Instant::now()));
            bus.publish_event(&self.id, &BusEvent::Viewers { count: n });
        }
    }

    /// A release from the bus: what lies before it is filled from the
    /// store first; what this node already handed out is dropped.
    async fn on_release(&mut self, seq: u64, body: String) {
        if self.hub.writer().is_some() {
            self.last = None;
            return;
        }
        let Some(last) = self.last().await else { return };
        match take(last, seq) {
            Take::Drop => return,
            Take::Next => {}
            Take::FillFirst => {
                self.fill(Some(seq - 1)).await;
                if let Some(s) = &self.bus {
                    s.stats.gap_filled.fetch_add(1, Ordering::Relaxed);
                }
                if self.last.is_none_or(|l| l + 1 != seq) {
                    return;
                }
            }
        }
        self.hand_out(seq, body);
    }

    async fn last(&mut self) -> Option<u64> {
        if self.last.is_none() {
            self.last = self.state.store.last_seq(&self.id).await.ok();
        }
        self.last
    }

    fn hand_out(&mut self, seq: u64, body: String) {
        self.last = Some(seq);
        self.hub.send(Event { seq, to: To::All, frame: super::wire::text(update_frame(seq, &body)) });
    }

    /// Hand out what the store holds past `last` (up to `until`).
    async fn fill(&mut self, until: Option<u64>) {
        let Some(after) = self.last().await else { return };
        let limit = match until {
            Some(u) if u <= after => return,
            Some(u) => (u - after).min(u64::from(BATCH)) as u32,
            None => BATCH,
        };
        match self.state.store.updates_after(&self.id, after, limit).await {
            Ok(rows) => {
                for r in rows {
                    if r.seq == self.last.unwrap_or(0) + 1 {
                        self.hand_out(r.seq, r.body);
                    }
                }
            }
            Err(e) => tracing::debug!(session = %self.id, error = %e, "follower cannot read the store"),
        }
    }

    /// An event from another node; false once the session is over here.
    async fn on_event(&mut self, node: String, ev: BusEvent) -> bool {
        match ev {
            BusEvent::Frame { to, frame } => {
                self.hub.send(Event { seq: 0, to: to.into(), frame: super::wire::text(frame) });
            }
            BusEvent::Status { curtain, delay_seconds, video, video_viewers } => {
                if self.hub.writer().is_none() {
                    self.hub.set_status(SessionState::Live, curtain, delay_seconds);
                    self.hub.video.store(video, Ordering::Relaxed);
                    self.hub.set_video_viewers(video_viewers);
                    self.hub.announce_state();
                }
            }
            BusEvent::Viewers { count } => self.hub.set_remote_viewers(node, count),
            BusEvent::Changed => return self.follow_state().await,
            BusEvent::Identifiers => {
                if self.hub.writer().is_some() {
                    if let Err(e) = self.state.identifiers.load(self.state.store.as_ref(), &self.id).await {
                        tracing::warn!(session = %self.id, error = %e, "cannot reload the patient's identifiers");
                    }
                    super::apply_identifiers_changed(&self.state, &self.id).await;
                }
            }
        }
        true
    }

    /// Follow the session's row in the store: settings, curtain, end.
    /// False once it ended (this node's writer, if any, drops what it held).
    async fn follow_state(&mut self) -> bool {
        let s = match self.state.store.session(&self.id).await {
            Ok(Some(s)) => s,
            Ok(None) | Err(_) => return true,
        };
        if s.state != SessionState::Live {
            super::on_ending(&self.state, &s).await;
            crate::audience::on_ending(&self.state, &s.id);
            return false;
        }
        if self.hub.writer().is_some() {
            super::apply_session_changed(&self.state, &s).await;
            return true;
        }
        let before = self.hub.status.lock().map(|st| *st).ok();
        if before != Some((s.state, s.curtain, s.delay_seconds)) {
            self.hub.set_status(s.state, s.curtain, s.delay_seconds);
            self.hub.announce_state();
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::{take, Take};

    #[test]
    fn releases_behind_are_dropped_and_ahead_are_filled_first() {
        assert_eq!(take(5, 6), Take::Next);
        assert_eq!(take(5, 5), Take::Drop);
        assert_eq!(take(5, 1), Take::Drop);
        assert_eq!(take(5, 7), Take::FillFirst);
        assert_eq!(take(0, 1), Take::Next);
        assert_eq!(take(0, u64::MAX), Take::FillFirst);
        assert_eq!(take(u64::MAX, 0), Take::Drop);
    }
}
