//! A viewer's outgoing side: the write half of its socket and the frames
//! waiting for room in the kernel buffer, bounded in frames and bytes.
//! Writing never waits: a frame goes straight to the socket when nothing is
//! queued before it, otherwise it queues; `poll_drain` writes the queue when
//! the socket has room. A frame is never cut: closing after a partial write
//! finishes that frame first.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::io::AsyncWrite;

use super::upgrade::Writer;
use super::wire::Wire;

/// How long a queued close frame may wait for room before the socket is dropped.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Bytes a viewer may have queued (besides the kernel's socket buffer)
/// before it counts as too slow, whatever the frame count.
pub const MAX_QUEUED_BYTES: usize = 1024 * 1024;

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

pub struct Outbox {
    out: Writer,
    queue: VecDeque<Wire>,
    /// Total length of the frames in `queue`.
    queued_bytes: usize,
    /// Bytes of `queue.front()` already written.
    front_written: usize,
    needs_flush: bool,
    /// Set once a close frame is queued: nothing more is sent, and the
    /// socket is dropped when the frame is out or at this deadline.
    pub closing: Option<Instant>,
    /// Since when the queue has been waiting without progress.
    pub stalled_since: Option<Instant>,
}

impl Outbox {
    pub fn new(out: Writer) -> Self {
        Outbox {
            out,
            queue: VecDeque::new(),
            queued_bytes: 0,
            front_written: 0,
            needs_flush: false,
            closing: None,
            stalled_since: None,
        }
    }

    pub fn is_blocked(&self) -> bool {
        !self.queue.is_empty() || self.needs_flush
    }

    /// Offer a frame: written at once when nothing waits before it, queued
    /// otherwise. `limit` bounds the queue in frames, MAX_QUEUED_BYTES in bytes.
    pub fn push(&mut self, frame: Wire, limit: usize) -> Push {
        if self.is_blocked() {
            if self.queue.len() >= limit || self.queued_bytes + frame.len() > MAX_QUEUED_BYTES {
                return Push::Full;
            }
            self.enqueue(frame);
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
                self.enqueue(frame);
                self.front_written = n;
                self.stalled_since = Some(Instant::now());
                Push::Queued
            }
            Poll::Pending => {
                self.enqueue(frame);
                self.stalled_since = Some(Instant::now());
                Push::Queued
            }
        }
    }

    /// Append without trying the socket (for a backlog written in one go).
    pub fn enqueue(&mut self, frame: Wire) {
        self.queued_bytes += frame.len();
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
                        self.queued_bytes -= front.len();
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
            self.queued_bytes = self.queue.iter().map(|f| f.len()).sum();
        }
        self.enqueue(frame);
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

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use tokio::io::{AsyncReadExt, DuplexStream};

    /// An outbox writing into an in-memory pipe holding at most `room` bytes.
    fn outbox(room: usize) -> (Outbox, DuplexStream) {
        let (ours, theirs) = tokio::io::duplex(room);
        (Outbox::new(Box::new(ours)), theirs)
    }

    fn frame(byte: u8, len: usize) -> Wire {
        Bytes::from(vec![byte; len])
    }

    async fn read_exactly(r: &mut DuplexStream, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        r.read_exact(&mut buf).await.expect("read");
        buf
    }

    #[tokio::test]
    async fn writes_at_once_when_nothing_waits() {
        let (mut o, mut peer) = outbox(1024);
        assert_eq!(o.push(frame(b'a', 100), 4), Push::Sent);
        assert!(!o.is_blocked());
        assert_eq!(read_exactly(&mut peer, 100).await, vec![b'a'; 100]);
    }

    #[tokio::test]
    async fn a_full_socket_queues_up_to_the_frame_bound_then_reports_full() {
        let (mut o, mut peer) = outbox(64);
        assert_eq!(o.push(frame(b'a', 100), 3), Push::Queued, "64 bytes went out, the rest waits");
        assert_eq!(o.push(frame(b'b', 10), 3), Push::Queued);
        assert_eq!(o.push(frame(b'c', 10), 3), Push::Queued);
        assert_eq!(o.push(frame(b'd', 10), 3), Push::Full);
        // The reader catches up: everything queued arrives, in order, uncut.
        let reader = tokio::spawn(async move { read_exactly(&mut peer, 120).await });
        o.drain(Duration::from_secs(5)).await.expect("drained");
        let got = reader.await.expect("reader");
        assert_eq!(&got[..100], &[b'a'; 100][..]);
        assert_eq!(&got[100..110], &[b'b'; 10][..]);
        assert_eq!(&got[110..], &[b'c'; 10][..]);
        assert!(!o.is_blocked());
    }

    #[tokio::test]
    async fn queued_bytes_are_bounded_whatever_the_frame_count() {
        let (mut o, _peer) = outbox(16);
        let big = MAX_QUEUED_BYTES / 3 + 1;
        assert_eq!(o.push(frame(b'a', big), 1000), Push::Queued);
        assert_eq!(o.push(frame(b'b', big), 1000), Push::Queued);
        assert_eq!(o.push(frame(b'c', big), 1000), Push::Full);
    }

    #[tokio::test]
    async fn closing_drops_queued_frames_but_never_cuts_one() {
        let (mut o, mut peer) = outbox(64);
        assert_eq!(o.push(frame(b'a', 100), 8), Push::Queued);
        assert_eq!(o.push(frame(b'b', 50), 8), Push::Queued);
        o.begin_close(frame(b'z', 4), true, Instant::now());
        assert!(o.closing.is_some());
        let reader = tokio::spawn(async move { read_exactly(&mut peer, 104).await });
        o.drain(Duration::from_secs(5)).await.expect("drained");
        let got = reader.await.expect("reader");
        assert_eq!(&got[..100], &[b'a'; 100][..], "the partly written frame is finished");
        assert_eq!(&got[100..], b"zzzz", "then the close; the queued frame is gone");
    }

    #[tokio::test]
    async fn a_closed_peer_is_dead() {
        let (mut o, peer) = outbox(64);
        drop(peer);
        assert_eq!(o.push(frame(b'a', 10), 4), Push::Dead);
    }
}
