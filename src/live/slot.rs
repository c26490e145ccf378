//! One viewer as the fan-out holds it: the write half of its socket, the
//! frames waiting for room in the kernel buffer (bounded), and what decides
//! which events it gets (its last `seq`, whether it controls the session,
//! its token for revocations). Writing never waits: a frame goes straight to
//! the socket when nothing is queued before it, otherwise it queues.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::io::AsyncWrite;
use tokio::sync::oneshot;

use super::upgrade::Writer;
use super::wire::Wire;
use super::Hub;
use crate::auth::Principal;
use crate::state::AppState;

/// How long a queued close frame may wait for room before the socket is dropped.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The result of offering a frame to a viewer.
#[derive(Debug, PartialEq, Eq)]
pub enum Push {
    /// Written to the socket in full.
    Sent,
    /// Queued behind earlier frames or a full socket buffer.
    Queued,
    /// The queue is at its bound: the viewer is too slow.
    Full,
    /// The connection failed.
    Dead,
}

pub struct Slot {
    pub id: u64,
    out: Writer,
    queue: VecDeque<Wire>,
    /// Bytes of `queue.front()` already written.
    front_written: usize,
    needs_flush: bool,
    /// The last `seq` this viewer has been sent (or queued).
    pub last: u64,
    pub who: Principal,
    pub controller: bool,
    /// Set once a close frame is queued: nothing more is sent, and the
    /// socket is dropped when the frame is out or at this deadline.
    pub closing: Option<Instant>,
    /// Since when the queue has been waiting without progress.
    pub stalled_since: Option<Instant>,
    /// Whether the fan-out has it on its list of blocked slots.
    pub listed_blocked: bool,
    /// Dropping this stops the viewer's reader task.
    _stop_reader: oneshot::Sender<()>,
    hub: Arc<Hub>,
    state: AppState,
}

impl Slot {
    /// A new viewer: counted from here until the slot is dropped.
    pub fn new(
        out: Writer,
        who: Principal,
        controller: bool,
        last: u64,
        hub: Arc<Hub>,
        state: AppState,
    ) -> (Self, oneshot::Receiver<()>) {
        let (stop, stopped) = oneshot::channel();
        hub.viewers.fetch_add(1, Relaxed);
        state.metrics.viewers.fetch_add(1, Relaxed);
        tracing::info!(user = %who.sub, controller, after = last, "join");
        let id = hub.next_viewer_id();
        let slot = Slot {
            id,
            out,
            queue: VecDeque::new(),
            front_written: 0,
            needs_flush: false,
            last,
            who,
            controller,
            closing: None,
            stalled_since: None,
            listed_blocked: false,
            _stop_reader: stop,
            hub,
            state,
        };
        (slot, stopped)
    }

    pub fn is_blocked(&self) -> bool {
        !self.queue.is_empty() || self.needs_flush
    }

    pub fn is_revoked(&self) -> bool {
        self.state.revocations.is_revoked_parts(&self.who.jti, &self.who.sub, self.who.iat)
    }

    /// Offer a frame: written at once when nothing waits before it, queued
    /// otherwise. `limit` bounds the queue (in frames).
    pub fn push(&mut self, frame: Wire, limit: usize) -> Push {
        if self.is_blocked() {
            if self.queue.len() >= limit {
                return Push::Full;
            }
            self.queue.push_back(frame);
            return Push::Queued;
        }
        // Nothing queued: try the socket now. The no-op waker is fine: if the
        // socket is full, the fan-out polls the queue again with its own waker.
        let mut cx = Context::from_waker(Waker::noop());
        match Pin::new(&mut self.out).poll_write(&mut cx, &frame) {
            Poll::Ready(Ok(n)) if n == frame.len() => match Pin::new(&mut self.out).poll_flush(&mut cx) {
                Poll::Ready(Ok(())) => Push::Sent,
                Poll::Ready(Err(_)) => Push::Dead,
                Poll::Pending => {
                    self.needs_flush = true;
                    self.stalled_since = Some(Instant::now());
                    Push::Queued
                }
            },
            Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => Push::Dead,
            Poll::Ready(Ok(n)) => {
                self.queue.push_back(frame);
                self.front_written = n;
                self.stalled_since = Some(Instant::now());
                Push::Queued
            }
            Poll::Pending => {
                self.queue.push_back(frame);
                self.stalled_since = Some(Instant::now());
                Push::Queued
            }
        }
    }

    /// Append without trying the socket (for a backlog written in one go).
    pub fn enqueue(&mut self, frame: Wire) {
        self.queue.push_back(frame);
    }

    /// Write what is queued. Ready(Ok) once everything is out and flushed;
    /// Pending registers `cx` to be woken when the socket has room.
    pub fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        while let Some(front) = self.queue.front() {
            match Pin::new(&mut self.out).poll_write(cx, &front[self.front_written..]) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(Err(())),
                Poll::Ready(Ok(n)) => {
                    self.front_written += n;
                    self.stalled_since = Some(Instant::now());
                    self.needs_flush = true;
                    if self.front_written == front.len() {
                        self.queue.pop_front();
                        self.front_written = 0;
                    }
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        if self.needs_flush {
            match Pin::new(&mut self.out).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.needs_flush = false,
                Poll::Ready(Err(_)) => return Poll::Ready(Err(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.stalled_since = None;
        Poll::Ready(Ok(()))
    }

    /// Write what is queued, waiting at most `limit`.
    pub async fn drain(&mut self, limit: Duration) -> Result<(), ()> {
        match tokio::time::timeout(limit, std::future::poll_fn(|cx| self.poll_drain(cx))).await {
            Ok(r) => r,
            Err(_) => Err(()),
        }
    }

    /// Queue a close frame after what is queued (or, with `discard`, after
    /// only the part of a frame already on the wire: a frame is never cut).
    pub fn begin_close(&mut self, frame: Wire, discard: bool, now: Instant) {
        if self.closing.is_some() {
            return;
        }
        if discard {
            self.queue.truncate(usize::from(self.front_written > 0));
        }
        self.queue.push_back(frame);
        self.closing = Some(now + CLOSE_GRACE);
        if self.stalled_since.is_none() {
            self.stalled_since = Some(now);
        }
    }

    /// Try to get queued bytes out without waiting; true when all is out.
    pub fn try_drain(&mut self) -> Result<bool, ()> {
        let mut cx = Context::from_waker(Waker::noop());
        match self.poll_drain(&mut cx) {
            Poll::Ready(Ok(())) => Ok(true),
            Poll::Ready(Err(())) => Err(()),
            Poll::Pending => Ok(false),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.hub.viewers.fetch_sub(1, Relaxed);
        self.state.metrics.viewers.fetch_sub(1, Relaxed);
        tracing::info!(user = %self.who.sub, last = self.last, "leave");
    }
}
