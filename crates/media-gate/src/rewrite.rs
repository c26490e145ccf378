//! The [`Rewriter`]: one per viewer per track, it maps the publisher's RTP
//! sequence numbers and timestamps into the viewer's own outgoing stream, so
//! that gaps (curtain, dump, a late join, a send-queue overflow) are seamless
//! to the viewer's jitter buffer and decoder.
//!
//! A **run** is a stretch of forwarded packets with fixed offsets: outgoing
//! `seq = in_seq + seq_offset` and `ts = in_ts + ts_offset` (wrapping). Within
//! a run, upstream loss shows as the same sequence gap (so the viewer can
//! NACK, and the server answers from what it released) and timestamp
//! differences are kept. A new run starts (video: only at a keyframe start)
//! for a new rewriter, when the buffer's epoch changes, and after
//! [`Rewriter::gap`]; it continues the outgoing sequence at `last + 1` and
//! advances the timestamp by the wall time since the last forwarded packet.

use std::time::Instant;

use crate::buffer::TrackKind;

/// The largest timestamp step a resume makes (about 3.3 hours at 90 kHz);
/// larger steps would read as going backwards in 32-bit serial arithmetic.
const MAX_TS_STEP: u64 = 1 << 30;

#[derive(Debug, Clone, Copy)]
struct Run {
    epoch: u32,
    /// The input sequence number the run started at; older packets are skipped.
    first_in: u64,
    /// The outgoing sequence number of `first_in`.
    first_out: u64,
    /// Added (wrapping) to input timestamps.
    ts_offset: u32,
}

/// Per-viewer, per-track RTP sequence/timestamp rewriting. See the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct Rewriter {
    kind: TrackKind,
    clock_rate: u32,
    run: Option<Run>,
    /// Set by [`Rewriter::gap`]: the next packet must start a new run.
    broken: bool,
    /// A video packet was skipped while waiting for a keyframe start.
    waiting: bool,
    /// The outgoing sequence number of the next run's first packet.
    next_out: u64,
    /// Highest outgoing sequence number so far, with its timestamp and the
    /// wall time it was forwarded; `None` before the first packet.
    last: Option<(u64, u32, Instant)>,
    first_ts: u32,
}

impl Rewriter {
    /// A rewriter whose first outgoing packet gets sequence number
    /// `first_seq` and timestamp `first_ts` (the server picks them at
    /// random). `clock_rate` is the track's RTP clock (90 000 for video,
    /// 48 000 for Opus).
    pub fn new(kind: TrackKind, clock_rate: u32, first_seq: u64, first_ts: u32) -> Self {
        Self { kind, clock_rate, run: None, broken: false, waiting: false, next_out: first_seq, last: None, first_ts }
    }

    /// The outgoing `(extended sequence number, RTP timestamp)` for a
    /// released packet, or `None` to skip it.
    ///
    /// `now` is best the release's [`crate::Release::deadline`] (it is
    /// spaced like the capture, free of poll jitter), or the send time.
    /// `epoch` is [`crate::Release::epoch`], `in_seq` the publisher's
    /// extended sequence number, `in_ts` its RTP timestamp, `keyframe`
    /// whether the packet starts a keyframe (ignored for audio). Video skips
    /// packets until a keyframe start whenever a new run is needed; audio
    /// starts a new run at any packet. Within a run, packets older than the
    /// run's first packet are skipped; reordered ones map consistently.
    pub fn rewrite(&mut self, now: Instant, epoch: u32, in_seq: u64, in_ts: u32, keyframe: bool) -> Option<(u64, u32)> {
        let run = match self.run {
            Some(run) if run.epoch == epoch && !self.broken => {
                if in_seq < run.first_in {
                    return None;
                }
                run
            }
            _ => {
                if self.kind == TrackKind::Video && !keyframe {
                    self.waiting = true;
                    return None;
                }
                self.start_run(now, epoch, in_seq, in_ts)
            }
        };
        let seq = run.first_out.wrapping_add(in_seq - run.first_in);
        let ts = in_ts.wrapping_add(run.ts_offset);
        if self.last.is_none_or(|(last, ..)| seq > last) {
            self.last = Some((seq, ts, now));
            self.next_out = seq.wrapping_add(1);
        }
        Some((seq, ts))
    }

    /// Mark a discontinuity in what this viewer received (for example its
    /// send queue overflowed): the next packet starts a new run (video: at
    /// the next keyframe start).
    pub fn gap(&mut self) {
        self.broken = true;
    }

    /// Whether this video rewriter cannot forward until a keyframe start
    /// arrives: it never forwarded, [`Rewriter::gap`] was called, or it
    /// skipped a packet for want of one. Always false for audio.
    pub fn waiting_keyframe(&self) -> bool {
        self.kind == TrackKind::Video && (self.run.is_none() || self.broken || self.waiting)
    }

    /// The track kind given to [`Rewriter::new`].
    pub fn kind(&self) -> TrackKind {
        self.kind
    }

    /// The highest outgoing `(sequence number, timestamp)` so far.
    pub fn last_out(&self) -> Option<(u64, u32)> {
        self.last.map(|(seq, ts, _)| (seq, ts))
    }

    fn start_run(&mut self, now: Instant, epoch: u32, in_seq: u64, in_ts: u32) -> Run {
        let out_ts = match self.last {
            None => self.first_ts,
            Some((_, ts, at)) => {
                let elapsed = now.saturating_duration_since(at);
                let ticks = elapsed.as_nanos().saturating_mul(u128::from(self.clock_rate)) / 1_000_000_000;
                let step = u64::try_from(ticks).unwrap_or(u64::MAX).clamp(1, MAX_TS_STEP);
                // `step` fits in 31 bits, so the cast is lossless.
                ts.wrapping_add(step as u32)
            }
        };
        let run = Run { epoch, first_in: in_seq, first_out: self.next_out, ts_offset: out_ts.wrapping_sub(in_ts) };
        self.run = Some(run);
        self.broken = false;
        self.waiting = false;
        run
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn video_waits_for_a_keyframe_then_keeps_gaps_and_ts_differences() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(TrackKind::Video, 90_000, 1000, 5000);
        assert!(r.waiting_keyframe());
        assert_eq!(r.rewrite(t0, 1, 10, 100, false), None);
        assert!(r.waiting_keyframe());
        assert_eq!(r.rewrite(t0, 1, 11, 3100, true), Some((1000, 5000)));
        assert!(!r.waiting_keyframe());
        assert_eq!(r.rewrite(t0, 1, 12, 3100, false), Some((1001, 5000)));
        // Upstream loss of 13 and 14: the same gap outside.
        assert_eq!(r.rewrite(t0, 1, 15, 6100, false), Some((1004, 8000)));
        // 13 arrives late: consistent mapping; last_out does not go back.
        assert_eq!(r.rewrite(t0, 1, 13, 6100, false), Some((1002, 8000)));
        assert_eq!(r.last_out(), Some((1004, 8000)));
        // Older than the run's start: skipped.
        assert_eq!(r.rewrite(t0, 1, 10, 100, false), None);
    }

    #[test]
    fn resume_after_epoch_change_is_contiguous_and_advances_by_wall_time() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(TrackKind::Video, 90_000, 7, 0);
        assert_eq!(r.rewrite(t0, 1, 100, 1_000_000, true), Some((7, 0)));
        assert_eq!(r.rewrite(t0, 1, 101, 1_000_000, false), Some((8, 0)));
        // New epoch: non-keyframes are skipped, the keyframe resumes at last + 1
        // with the timestamp advanced by 2 s of 90 kHz.
        assert_eq!(r.rewrite(t0 + ms(1000), 2, 500, 42, false), None);
        assert!(r.waiting_keyframe());
        assert_eq!(r.rewrite(t0 + ms(2000), 2, 501, 42, true), Some((9, 180_000)));
        assert_eq!(r.rewrite(t0 + ms(2000), 2, 502, 42 + 3000, false), Some((10, 183_000)));
    }

    #[test]
    fn gap_forces_a_new_run_at_the_next_keyframe() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(TrackKind::Video, 90_000, 0, 0);
        r.rewrite(t0, 3, 1, 0, true);
        r.gap();
        assert!(r.waiting_keyframe());
        assert_eq!(r.rewrite(t0, 3, 2, 0, false), None);
        // Same epoch, same instant: still a fresh run, ts advances by at least 1.
        assert_eq!(r.rewrite(t0, 3, 9, 0, true), Some((1, 1)));
        assert_eq!(r.rewrite(t0, 3, 10, 0, false), Some((2, 1)));
    }

    #[test]
    fn audio_rebases_without_waiting() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(TrackKind::Audio, 48_000, 50, 10);
        assert!(!r.waiting_keyframe());
        assert_eq!(r.rewrite(t0, 0, 1, 960, false), Some((50, 10)));
        assert_eq!(r.rewrite(t0 + ms(20), 0, 2, 1920, false), Some((51, 970)));
        assert_eq!(r.rewrite(t0 + ms(520), 1, 900, 7, false), Some((52, 970 + 24_000)));
    }

    #[test]
    fn wraps_timestamps_and_large_sequence_numbers() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(TrackKind::Video, 90_000, u64::from(u16::MAX) - 1, u32::MAX - 10);
        assert_eq!(r.rewrite(t0, 0, 70_000, 5, true), Some((65_534, u32::MAX - 10)));
        assert_eq!(r.rewrite(t0, 0, 70_001, 3005, false), Some((65_535, 2989)));
        assert_eq!(r.rewrite(t0, 0, 70_002, 3005, false), Some((65_536, 2989)));
        // Input timestamp wrapping.
        let mut r = Rewriter::new(TrackKind::Audio, 48_000, 0, 100);
        assert_eq!(r.rewrite(t0, 0, 1, u32::MAX - 479, false), Some((0, 100)));
        assert_eq!(r.rewrite(t0, 0, 2, 480, false), Some((1, 1060)));
    }

    #[test]
    fn a_clock_going_back_or_huge_pauses_stay_forward() {
        let t0 = Instant::now() + Duration::from_secs(100_000);
        let mut r = Rewriter::new(TrackKind::Audio, 48_000, 0, 0);
        r.rewrite(t0, 0, 1, 0, false);
        assert_eq!(r.rewrite(t0 - ms(500), 1, 5, 0, false), Some((1, 1)));
        let (_, ts) = r.rewrite(t0 + Duration::from_secs(90_000), 2, 9, 0, false).unwrap();
        assert_eq!(ts, 1 + (1 << 30));
    }
}
