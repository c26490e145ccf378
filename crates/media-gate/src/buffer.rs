//! The [`DelayBuffer`]: holds every media packet of a session for the delay,
//! applies the curtain and the dump, and bounds memory.
//!
//! One buffer per session holds the packets of every track in arrival order
//! (the publisher's audio and video interleaved), so releases are in push
//! order with non-decreasing deadlines and audio stays in step with video.
//!
//! # Epochs
//!
//! Every buffered packet carries an **epoch**: two releases with the same
//! epoch were pushed with nothing dropped or discarded between them (other
//! than what the network lost before the packets reached the buffer). Every
//! discontinuity (dump, curtain, overflow, a shortened delay, the first
//! keyframe after a wait) gives the packets after it a new epoch, and after
//! it the first video packet released is a keyframe start. (An audio
//! packet discarded for being larger than the bound is the one exception:
//! it looks like upstream loss, which audio decoders conceal.) A per-viewer
//! [`crate::Rewriter`] re-bases its sequence numbers and timestamps
//! when the epoch changes. Epochs are compared for equality only (they wrap).
//!
//! # Curtain
//!
//! The issue describes a lowered curtain as "held media keeps waiting and is
//! dropped when the curtain goes up". This buffer drops held media when the
//! curtain goes **down** and discards packets pushed while it is down. What
//! viewers see is the same (nothing held across a curtain is ever released,
//! and they resume at the first keyframe captured after the curtain went up),
//! but memory stays bounded however long the curtain stays down.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Without a video packet for this long, a session counts as audio-only and
/// a pending delay change applies from the next packet of any kind.
pub const VIDEO_IDLE: Duration = Duration::from_secs(2);

/// Which kind of track a packet belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// Video: decodable only from a keyframe on.
    Video,
    /// Audio: every packet is decodable on its own.
    Audio,
}

/// A media packet entering the buffer. `data` is whatever the server needs
/// to forward it (typically the RTP header fields and a `Bytes` payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T> {
    /// The track kind.
    pub kind: TrackKind,
    /// Video: this packet starts a keyframe (see [`crate::keyframe`]).
    /// Ignored for audio.
    pub keyframe: bool,
    /// Size in bytes, counted against the buffer's `max_bytes`.
    pub size: usize,
    /// The caller's payload.
    pub data: T,
}

/// A packet leaving the buffer towards viewers (and the recording).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release<T> {
    /// The packet as pushed.
    pub packet: Packet<T>,
    /// The `now` of the push.
    pub captured: Instant,
    /// When it became due (`captured + delay`, or later; see [`DelayBuffer::push`]).
    pub deadline: Instant,
    /// Its continuity epoch (see the [module docs](self)).
    pub epoch: u32,
}

/// What [`DelayBuffer::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pushed {
    /// Held; it will be released at its deadline unless dropped first.
    Buffered,
    /// Discarded: the curtain is down.
    DiscardedCurtain,
    /// Discarded: a video packet that is not a keyframe start while the
    /// buffer waits for a keyframe (after a gap, or at the very start).
    DiscardedAwaitingKeyframe,
    /// Discarded: larger than `max_bytes` on its own, a video packet that is
    /// not a keyframe start and does not fit (video then waits for a
    /// keyframe), or a deadline not representable as an [`Instant`].
    DiscardedOverflow,
}

/// Counters since the buffer was created. Every pushed packet is counted
/// exactly once as buffered or discarded, and every buffered packet ends up
/// released, dropped, or still buffered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Calls to [`DelayBuffer::push`].
    pub pushed: u64,
    /// Pushes answered [`Pushed::Buffered`].
    pub buffered: u64,
    /// Packets returned by [`DelayBuffer::poll`].
    pub released: u64,
    /// Pushes answered [`Pushed::DiscardedCurtain`].
    pub discarded_curtain: u64,
    /// Pushes answered [`Pushed::DiscardedAwaitingKeyframe`].
    pub discarded_awaiting_keyframe: u64,
    /// Pushes answered [`Pushed::DiscardedOverflow`].
    pub discarded_overflow: u64,
    /// Buffered packets dropped when the curtain went down.
    pub dropped_curtain: u64,
    /// Buffered packets dropped by [`DelayBuffer::dump`].
    pub dropped_dump: u64,
    /// Buffered packets dropped to stay within `max_bytes` (the oldest, and
    /// video left undecodable by that).
    pub dropped_overflow: u64,
    /// Buffered packets dropped because a shorter delay took effect.
    pub dropped_delay: u64,
}

impl Stats {
    /// Buffered packets dropped for any reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_curtain + self.dropped_dump + self.dropped_overflow + self.dropped_delay
    }

    /// Pushes discarded for any reason.
    pub fn discarded(&self) -> u64 {
        self.discarded_curtain + self.discarded_awaiting_keyframe + self.discarded_overflow
    }
}

#[derive(Debug, Clone)]
struct Entry<T> {
    packet: Packet<T>,
    captured: Instant,
    deadline: Instant,
    epoch: u32,
}

/// The per-session media delay buffer. See the [module docs](self).
///
/// `push` and `poll` are O(1) amortised; a dump, the curtain, a shortened
/// delay and an overflow cost O(dropped packets), and an overflow also walks
/// the oldest run of packets left after the drop.
#[derive(Debug, Clone)]
pub struct DelayBuffer<T> {
    delay: Duration,
    /// A delay set while live, waiting for the packet it applies from.
    pending_delay: Option<Duration>,
    max_bytes: usize,
    queue: VecDeque<Entry<T>>,
    bytes: usize,
    curtain_down: bool,
    /// Video is accepted only from the next keyframe start.
    need_keyframe: bool,
    /// The epoch given to the packets pushed now.
    epoch: u32,
    /// The last epoch handed out (epochs are allocated from here).
    last_epoch: u32,
    last_video: Option<Instant>,
    /// The deadline of the last released packet, so deadlines never go back
    /// even if the caller's clock does.
    last_released_deadline: Option<Instant>,
    stats: Stats,
}

impl<T> DelayBuffer<T> {
    /// An empty buffer with the curtain up, holding packets for `delay` and
    /// at most `max_bytes` bytes of them. Video is accepted from the first
    /// keyframe start.
    pub fn new(delay: Duration, max_bytes: usize) -> Self {
        Self {
            delay,
            pending_delay: None,
            max_bytes,
            queue: VecDeque::new(),
            bytes: 0,
            curtain_down: false,
            need_keyframe: true,
            epoch: 0,
            last_epoch: 0,
            last_video: None,
            last_released_deadline: None,
            stats: Stats::default(),
        }
    }

    /// Hold a packet captured at `now`; its deadline is `now + delay` (never
    /// earlier than the deadline of the packet before it, should the caller's
    /// clock go backwards).
    ///
    /// Discarded (and counted) instead while the curtain is down, for video
    /// that is not a keyframe start while a keyframe is awaited, and for a
    /// packet larger than `max_bytes`. If an audio packet or a video keyframe
    /// start does not fit, the oldest packets are dropped to make room (never
    /// released early), buffered video left without its keyframe is dropped
    /// too, and video is then accepted only from the next keyframe start. A
    /// video packet that is not a keyframe start and does not fit is
    /// discarded instead (evicting for it would only start a keyframe wait
    /// that discards it), and video waits for the next keyframe start.
    pub fn push(&mut self, now: Instant, packet: Packet<T>) -> Pushed {
        self.stats.pushed += 1;
        if self.curtain_down {
            self.stats.discarded_curtain += 1;
            return Pushed::DiscardedCurtain;
        }
        let video = packet.kind == TrackKind::Video;
        let key = video && packet.keyframe;
        let video_idle = self.last_video.is_none_or(|t| now.saturating_duration_since(t) >= VIDEO_IDLE);
        if video {
            self.last_video = Some(now);
        }
        if video && !key && self.need_keyframe {
            self.stats.discarded_awaiting_keyframe += 1;
            return Pushed::DiscardedAwaitingKeyframe;
        }
        let new_delay = self.pending_delay.filter(|_| key || (!video && video_idle));
        let delay = new_delay.unwrap_or(self.delay);
        let deadline = match now.checked_add(delay) {
            Some(deadline) if packet.size <= self.max_bytes => deadline,
            _ => return self.discard_overflow(video),
        };

        let mut new_epoch = false;
        if let Some(d) = new_delay {
            self.delay = d;
            self.pending_delay = None;
            if self.cut_after(deadline) {
                new_epoch = true;
            }
        }
        if self.bytes.saturating_add(packet.size) > self.max_bytes {
            if video && !key {
                // Making room would force a keyframe wait, and then this packet
                // would be discarded anyway: discard it and keep what is held.
                return self.discard_overflow(true);
            }
            self.make_room(packet.size);
        }
        if key && self.need_keyframe {
            self.need_keyframe = false;
            new_epoch = true;
        }
        if new_epoch {
            self.epoch = self.next_epoch();
            // A viewer resumes video in a new epoch only at a keyframe start.
            if !key {
                self.need_keyframe = true;
            }
        }

        let floor = self.queue.back().map(|e| e.deadline).or(self.last_released_deadline);
        let deadline = floor.map_or(deadline, |f| f.max(deadline));
        self.bytes += packet.size;
        self.queue.push_back(Entry { packet, captured: now, deadline, epoch: self.epoch });
        self.stats.buffered += 1;
        Pushed::Buffered
    }

    /// The oldest packet, if it is due at `now` and the curtain is up. Call
    /// repeatedly until `None`.
    pub fn poll(&mut self, now: Instant) -> Option<Release<T>> {
        if self.curtain_down || self.queue.front()?.deadline > now {
            return None;
        }
        let e = self.queue.pop_front()?;
        self.bytes -= e.packet.size;
        self.last_released_deadline = Some(e.deadline);
        self.stats.released += 1;
        Some(Release { packet: e.packet, captured: e.captured, deadline: e.deadline, epoch: e.epoch })
    }

    /// When the oldest packet becomes due (possibly in the past: poll now);
    /// `None` when nothing is buffered or the curtain is down.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.curtain_down {
            return None;
        }
        self.queue.front().map(|e| e.deadline)
    }

    /// Lower (`down = true`) or raise the curtain; setting it to its current
    /// state does nothing.
    ///
    /// Down: everything buffered is dropped, nothing is released and every
    /// push is discarded. Up: audio is accepted again at once, video from
    /// the first keyframe start pushed after this call. Either way the epoch
    /// increments. `now` is when the control took effect (reserved; the
    /// outcome does not depend on it).
    pub fn set_curtain(&mut self, now: Instant, down: bool) {
        let _ = now;
        if self.curtain_down == down {
            return;
        }
        self.curtain_down = down;
        if down {
            self.stats.dropped_curtain += self.clear() as u64;
        }
        self.gap();
    }

    /// Drop everything buffered and return how many packets that was; none
    /// of them will ever be released. Video is then accepted only from the
    /// next keyframe start, and the epoch increments. `now` is when the dump
    /// took effect (reserved; the outcome does not depend on it).
    pub fn dump(&mut self, now: Instant) -> usize {
        let _ = now;
        let n = self.clear();
        self.stats.dropped_dump += n as u64;
        self.gap();
        n
    }

    /// Change the delay while live. It applies from the next video keyframe
    /// start pushed (so viewers switch at a frame they can decode), or, if no
    /// video was pushed for [`VIDEO_IDLE`], from the next packet.
    ///
    /// Shorter: when it applies, buffered packets whose deadline falls after
    /// that packet's new deadline are dropped (so releases stay in push order
    /// with non-decreasing deadlines) and, if any were, the epoch
    /// increments (if that packet is audio, video then resumes at the next
    /// keyframe start, as after any epoch change). Longer: nothing is dropped; viewers see a freeze of the
    /// difference. A second call before the first applied replaces it.
    pub fn set_delay(&mut self, delay: Duration) {
        if delay == self.delay {
            self.pending_delay = None;
        } else {
            self.pending_delay = Some(delay);
        }
    }

    /// The delay applied to packets pushed now.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// A delay set by [`DelayBuffer::set_delay`] that has not applied yet.
    pub fn pending_delay(&self) -> Option<Duration> {
        self.pending_delay
    }

    /// Whether video is being discarded until a keyframe arrives: the server
    /// should ask the publisher for one (PLI, then FIR), repeatedly, while
    /// this is true. False before any video packet was pushed and while the
    /// curtain is down.
    pub fn awaiting_keyframe(&self) -> bool {
        self.need_keyframe && self.last_video.is_some() && !self.curtain_down
    }

    /// Whether the curtain is down.
    pub fn is_curtain_down(&self) -> bool {
        self.curtain_down
    }

    /// The epoch given to packets pushed now.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Number of buffered packets.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Bytes buffered (the sum of [`Packet::size`]), at most `max_bytes`.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The byte bound given to [`DelayBuffer::new`].
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Counters since creation.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    // ---- internals ----

    fn next_epoch(&mut self) -> u32 {
        self.last_epoch = self.last_epoch.wrapping_add(1);
        self.last_epoch
    }

    /// A discontinuity: new epoch, video only from the next keyframe.
    fn gap(&mut self) {
        self.epoch = self.next_epoch();
        self.need_keyframe = true;
    }

    fn discard_overflow(&mut self, video: bool) -> Pushed {
        // A lost video packet breaks decoding until the next keyframe.
        if video {
            self.need_keyframe = true;
        }
        self.stats.discarded_overflow += 1;
        Pushed::DiscardedOverflow
    }

    fn clear(&mut self) -> usize {
        let n = self.queue.len();
        self.queue.clear();
        self.bytes = 0;
        n
    }

    /// Drop buffered packets with a deadline after `deadline` (the newest
    /// ones). If video was among them, the next video must be a keyframe.
    /// Whether anything was dropped.
    fn cut_after(&mut self, deadline: Instant) -> bool {
        let mut cut = false;
        while let Some(e) = self.queue.back().filter(|e| e.deadline > deadline) {
            if e.packet.kind == TrackKind::Video {
                self.need_keyframe = true;
            }
            self.bytes -= e.packet.size;
            self.queue.pop_back();
            self.stats.dropped_delay += 1;
            cut = true;
        }
        cut
    }

    /// Drop the oldest packets until `incoming` more bytes fit, then repair
    /// the run of packets left at the head: it follows a hole, so it gets a
    /// fresh epoch, and its video before its first keyframe start (which
    /// needs the dropped frames to decode) is dropped as well. Later runs
    /// already start with their own keyframe and epoch. Video is then
    /// accepted only from the next keyframe start.
    fn make_room(&mut self, incoming: usize) {
        while self.bytes.saturating_add(incoming) > self.max_bytes {
            let Some(e) = self.queue.pop_front() else {
                break;
            };
            self.bytes -= e.packet.size;
            self.stats.dropped_overflow += 1;
        }
        self.need_keyframe = true;
        let Some(head_epoch) = self.queue.front().map(|e| e.epoch) else {
            self.epoch = self.next_epoch();
            return;
        };
        let fresh = self.next_epoch();
        if head_epoch == self.epoch {
            self.epoch = fresh;
        }
        let run = self.queue.iter().take_while(|e| e.epoch == head_epoch).count();
        let mut seen_key = false;
        let mut dropped_bytes = 0;
        let mut dropped = 0;
        let mut i = 0;
        self.queue.retain_mut(|e| {
            let in_run = i < run;
            i += 1;
            if !in_run {
                return true;
            }
            e.epoch = fresh;
            if e.packet.kind == TrackKind::Video {
                seen_key |= e.packet.keyframe;
                if !seen_key {
                    dropped_bytes += e.packet.size;
                    dropped += 1;
                    return false;
                }
            }
            true
        });
        self.bytes -= dropped_bytes;
        self.stats.dropped_overflow += dropped;
    }
}
