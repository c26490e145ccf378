//! One viewer as the fan-out holds it: its [`Outbox`], and what decides
//! which events it gets (its last `seq`, whether it controls the session,
//! its token for revocations). Counted as a viewer from creation to drop.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::outbox::Outbox;
use super::upgrade::Writer;
use super::Hub;
use crate::auth::Principal;
use crate::state::AppState;

pub struct Slot {
    pub id: u64,
    pub outbox: Outbox,
    /// The last `seq` this viewer has been sent (or queued).
    pub last: u64,
    pub who: Principal,
    pub controller: bool,
    /// Moderates questions and reads the pulse (controllers, educators).
    pub staff: bool,
    /// Whether the fan-out has it on its list of blocked slots.
    pub listed_blocked: bool,
    /// Dropping this stops the viewer's reader task.
    _stop_reader: oneshot::Sender<()>,
    hub: Arc<Hub>,
    state: AppState,
    joined: std::time::Instant,
}

impl Slot {
    /// A new viewer: counted from here until the slot is dropped.
    pub fn new(
        out: Writer,
        who: Principal,
        controller: bool,
        staff: bool,
        last: u64,
        hub: Arc<Hub>,
        state: AppState,
    ) -> (Self, oneshot::Receiver<()>) {
        let (stop, stopped) = oneshot::channel();
        hub.viewers.fetch_add(1, Relaxed);
        state.metrics.viewers.fetch_add(1, Relaxed);
        tracing::info!(user = %who.sub, controller, after = last, "join");
        state.audit.append(
            crate::audit::Entry::new("join")
                .by(&who)
                .session(&hub.session_id)
                .detail(serde_json::json!({"channel": "live", "controller": controller})),
        );
        let id = hub.next_viewer_id();
        let slot = Slot {
            id,
            outbox: Outbox::new(out),
            last,
            who,
            controller,
            staff,
            listed_blocked: false,
            _stop_reader: stop,
            hub,
            state,
            joined: std::time::Instant::now(),
        };
        (slot, stopped)
    }

    pub fn is_revoked(&self) -> bool {
        self.state.revocations.is_revoked_parts(&self.who.jti, &self.who.sub, self.who.iat)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.hub.viewers.fetch_sub(1, Relaxed);
        self.state.metrics.viewers.fetch_sub(1, Relaxed);
        tracing::info!(user = %self.who.sub, last = self.last, "leave");
        self.state.audit.append(
            crate::audit::Entry::new("leave")
                .by(&self.who)
                .session(&self.hub.session_id)
                .detail(serde_json::json!({"channel": "live", "seconds": self.joined.elapsed().as_secs()})),
        );
    }
}
