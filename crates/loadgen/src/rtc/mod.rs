//! Live video load: one synthetic VP8 + Opus publisher over WHIP, N viewers
//! over WHEP on real loopback UDP, and a UDP floor measured in the same run.

pub mod floor;
pub mod peer;
pub mod proc;
pub mod publisher;
pub mod stream;
pub mod viewers;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize};
use std::time::Instant;

/// What the run's threads share: the clock and the phase.
pub struct Shared {
    /// Every send and receive time is measured from here.
    pub epoch: Instant,
    /// Everyone stops (bounded phases end here).
    pub stop: AtomicBool,
    /// The publisher sends media while set.
    pub sending: AtomicBool,
    /// The publisher's next packet index (the window is a range of these).
    pub next_index: AtomicU32,
    /// Viewers record latencies of packets from this index on (the measured window).
    pub window_from: AtomicU32,
    pub publisher_connected: AtomicBool,
    pub publisher_keyframe_requests: AtomicU64,
    pub viewers_opened: AtomicUsize,
    pub viewers_failed: AtomicUsize,
    pub viewers_connected: AtomicUsize,
    /// Viewers that have received the start of a keyframe.
    pub viewers_keyed: AtomicUsize,
}

impl Shared {
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            stop: AtomicBool::new(false),
            sending: AtomicBool::new(false),
            next_index: AtomicU32::new(0),
            window_from: AtomicU32::new(u32::MAX),
            publisher_connected: AtomicBool::new(false),
            publisher_keyframe_requests: AtomicU64::new(0),
            viewers_opened: AtomicUsize::new(0),
            viewers_failed: AtomicUsize::new(0),
            viewers_connected: AtomicUsize::new(0),
            viewers_keyed: AtomicUsize::new(0),
        }
    }

    /// Nanoseconds since the epoch.
    pub fn ns(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_nanos() as u64
    }
}

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}
