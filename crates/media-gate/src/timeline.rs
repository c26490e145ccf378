//! [`TrackTimeline`]: turns one track's 32-bit RTP timestamps into
//! milliseconds on the recording's timeline, for [`crate::WebmWriter`].
//!
//! Each track is anchored at its first packet's capture instant (relative to
//! the recording's start), so audio and video line up as they arrived at the
//! server; from there the track's own RTP clock gives smooth spacing, with
//! 32-bit wraparound unwrapped. The publisher's RTP clock keeps running
//! through a dump or curtain, so a gap in what was released is a gap in the
//! recording's timeline too.

use std::time::Instant;

/// One track's RTP-timestamp → recording-millisecond mapping.
#[derive(Debug, Clone)]
pub struct TrackTimeline {
    clock_rate: u32,
    /// (extended timestamp, milliseconds) of the first packet.
    anchor: Option<(i64, u64)>,
    /// The last timestamp seen, and its extended value.
    last: (u32, i64),
}

impl TrackTimeline {
    /// A timeline for a track with this RTP clock rate (90 000 for video,
    /// 48 000 for Opus). A rate of 0 is treated as 1.
    pub fn new(clock_rate: u32) -> Self {
        Self { clock_rate: clock_rate.max(1), anchor: None, last: (0, 0) }
    }

    /// Milliseconds since `start` (the recording's start) for a released
    /// packet captured at `captured` with RTP timestamp `rtp_ts`. Timestamps
    /// are unwrapped by serial arithmetic (a step of less than 2^31 ticks
    /// either way); one earlier than the track's first packet maps to that
    /// packet's time.
    pub fn ms(&mut self, start: Instant, captured: Instant, rtp_ts: u32) -> u64 {
        let Some((anchor_ext, anchor_ms)) = self.anchor else {
            let ms = u64::try_from(captured.saturating_duration_since(start).as_millis()).unwrap_or(u64::MAX);
            self.anchor = Some((0, ms));
            self.last = (rtp_ts, 0);
            return ms;
        };
        let (last_ts, last_ext) = self.last;
        let ext = last_ext.saturating_add(i64::from(rtp_ts.wrapping_sub(last_ts) as i32));
        self.last = (rtp_ts, ext);
        let ticks = ext.saturating_sub(anchor_ext).max(0);
        let offset = i128::from(ticks) * 1000 / i128::from(self.clock_rate);
        anchor_ms.saturating_add(u64::try_from(offset).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn anchors_at_capture_then_follows_the_rtp_clock_across_wraparound() {
        let start = Instant::now();
        let mut v = TrackTimeline::new(90_000);
        assert_eq!(v.ms(start, start + Duration::from_millis(250), u32::MAX - 44_999), 250);
        // Capture jitter does not matter after the anchor; the RTP clock does.
        assert_eq!(v.ms(start, start + Duration::from_millis(900), u32::MAX - 14_999), 583);
        assert_eq!(v.ms(start, start, 45_000), 1_250); // wrapped: 90 000 ticks later
                                                       // A reordered, older timestamp maps back, but never before the anchor.
        assert_eq!(v.ms(start, start, 0), 750);
        assert_eq!(v.ms(start, start, u32::MAX - 90_000), 250);
    }

    #[test]
    fn tracks_line_up_by_their_first_capture() {
        let start = Instant::now();
        let mut audio = TrackTimeline::new(48_000);
        let mut video = TrackTimeline::new(90_000);
        assert_eq!(audio.ms(start, start + Duration::from_millis(20), 123), 20);
        assert_eq!(video.ms(start, start + Duration::from_millis(40), 9_999), 40);
        assert_eq!(audio.ms(start, start, 123 + 48_000), 1_020);
        assert_eq!(video.ms(start, start, 9_999 + 90_000), 1_040);
        // Degenerate inputs do not panic.
        let mut z = TrackTimeline::new(0);
        assert_eq!(z.ms(start + Duration::from_secs(1), start, 0), 0);
        assert_eq!(z.ms(start, start, u32::MAX / 2), u64::from(u32::MAX / 2) * 1000);
    }
}
