//! A live session written by another node: this node's viewers still get
//! every release, read from the shared store in `seq` order (the shards
//! drop what a viewer already has and fill what it missed), and the
//! session's curtain and end as the store records them. This is the slow
//! path that NATS JetStream will speed up; the store stays the source of
//! truth. While this node writes the session itself, the follower idles.

use std::sync::Arc;
use std::time::Duration;

use super::item::update_frame;
use super::{Event, Hub, To};
use crate::model::SessionState;
use crate::state::AppState;

/// How often a follower reads new releases from the store.
const POLL: Duration = Duration::from_millis(200);
/// Every this many polls it also reads the session's state and curtain.
const STATE_EVERY: u32 = 5;
/// Releases read per poll, at most.
const BATCH: u32 = 500;

pub fn spawn(state: AppState, hub: Arc<Hub>) {
    tokio::spawn(async move {
        let shutdown = state.shutdown.clone();
        let stop = shutdown.wait();
        tokio::pin!(stop);
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let id = hub.session_id.clone();
        // The last seq this node's viewers were handed (None: ask the store).
        let mut last: Option<u64> = None;
        let mut polls: u32 = 0;
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = tick.tick() => {}
            }
            // The hub was forgotten (the session ended here).
            if !state.live.get(&id).is_some_and(|h| Arc::ptr_eq(&h, &hub)) {
                break;
            }
            if hub.writer().is_some() {
                last = None;
                continue;
            }
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(STATE_EVERY) && !follow_state(&state, &hub).await {
                break;
            }
            let after = match last {
                Some(l) => l,
                None => match state.store.last_seq(&id).await {
                    Ok(l) => l,
                    Err(_) => continue,
                },
            };
            match state.store.updates_after(&id, after, BATCH).await {
                Ok(rows) => {
                    for r in rows {
                        last = Some(r.seq);
                        hub.send(Event {
                            seq: r.seq,
                            to: To::All,
                            frame: super::wire::text(update_frame(r.seq, &r.body)),
                        });
                    }
                    if last.is_none() {
                        last = Some(after);
                    }
                }
                Err(e) => tracing::debug!(session = %id, error = %e, "follower cannot read the store"),
            }
        }
    });
}

/// Mirror the session's curtain and end from the store; false once it ended.
async fn follow_state(state: &AppState, hub: &Arc<Hub>) -> bool {
    let s = match state.store.session(&hub.session_id).await {
        Ok(Some(s)) => s,
        Ok(None) => return true,
        Err(_) => return true,
    };
    let before = hub.status.lock().map(|st| *st).ok();
    if s.state != SessionState::Live {
        hub.set_status(SessionState::Ended, false, s.delay_seconds);
        hub.announce_state();
        hub.close_all(1000, "session ended");
        state.live.remove(&hub.session_id);
        return false;
    }
    if before != Some((s.state, s.curtain, s.delay_seconds)) {
        hub.set_status(s.state, s.curtain, s.delay_seconds);
        hub.announce_state();
    }
    true
}
