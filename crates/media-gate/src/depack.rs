//! VP8 depacketizing (RFC 7741) for the recording: released RTP payloads in,
//! whole frames out. Opus needs none: each RTP payload is one frame.
//!
//! Packets are expected in sequence order, as the delay buffer releases
//! them. A missing sequence number (upstream loss, or a gap in what was
//! released) discards the frame in progress and everything up to the next
//! key frame, so the recording never holds a frame its decoder cannot
//! decode. There is no jitter buffer: a packet arriving after a later one
//! counts as a loss.

use crate::keyframe::vp8_descriptor;

/// A frame larger than this is discarded (it would be a broken stream, and
/// memory stays bounded).
pub const MAX_FRAME_BYTES: usize = 4 << 20;

/// A depacketized VP8 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The RTP timestamp shared by its packets.
    pub rtp_ts: u32,
    /// Whether it is a key frame.
    pub keyframe: bool,
    /// The VP8 frame (payload descriptors stripped).
    pub data: Vec<u8>,
}

/// Joins the RTP packets of each VP8 frame. See the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct Vp8Depacketizer {
    /// The sequence number the next packet must have.
    expected: Option<u64>,
    /// The frame being assembled.
    current: Option<Frame>,
    /// Discard until a key frame starts (initially: a recording starts at one).
    need_keyframe: bool,
    dropped_frames: u64,
}

impl Vp8Depacketizer {
    /// A depacketizer that waits for the first key frame.
    pub fn new() -> Self {
        Self { need_keyframe: true, ..Self::default() }
    }

    /// Feed one released packet: its extended sequence number, RTP
    /// timestamp, marker bit and payload. Returns a frame when `marker`
    /// completes one.
    pub fn push(&mut self, seq: u64, rtp_ts: u32, marker: bool, payload: &[u8]) -> Option<Frame> {
        if let Some(expected) = self.expected {
            if seq < expected {
                return None; // duplicate or late: already counted as lost
            }
            if seq > expected {
                self.lose();
            }
        }
        self.expected = seq.checked_add(1);
        let Some(desc) = vp8_descriptor(payload) else {
            self.lose();
            return None;
        };
        let body = &payload[desc.len..];
        if desc.start && desc.partition == 0 {
            if self.current.take().is_some() {
                // A new frame began before the last one's marker.
                self.dropped_frames += 1;
            }
            let Some(&header) = body.first() else {
                self.lose();
                return None;
            };
            let keyframe = header & 0x01 == 0;
            if self.need_keyframe && !keyframe {
                return None;
            }
            self.need_keyframe = false;
            self.current = Some(Frame { rtp_ts, keyframe, data: body.to_vec() });
        } else {
            match &mut self.current {
                Some(frame) if frame.rtp_ts == rtp_ts && frame.data.len() + body.len() <= MAX_FRAME_BYTES => {
                    frame.data.extend_from_slice(body);
                }
                Some(_) => {
                    self.lose();
                    return None;
                }
                None => return None, // skipping until a key frame starts
            }
        }
        if marker {
            return self.current.take();
        }
        None
    }

    /// Frames discarded so far (incomplete, or after a loss).
    pub fn dropped_frames(&self) -> u64 {
        self.dropped_frames
    }

    /// Whether frames are being skipped until the next key frame.
    pub fn waiting_keyframe(&self) -> bool {
        self.need_keyframe
    }

    fn lose(&mut self) {
        if self.current.take().is_some() {
            self.dropped_frames += 1;
        }
        self.need_keyframe = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 10] = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];

    fn start(vp8: &[u8]) -> Vec<u8> {
        [&[0x90, 0x80, 0x81, 0x23][..], vp8].concat()
    }

    fn cont(bytes: &[u8]) -> Vec<u8> {
        [&[0x80, 0x80, 0x81, 0x23][..], bytes].concat()
    }

    #[test]
    fn joins_packets_of_a_frame_and_emits_on_the_marker() {
        let mut d = Vp8Depacketizer::new();
        assert_eq!(d.push(10, 900, false, &start(&KEY)), None);
        assert_eq!(d.push(11, 900, false, &cont(&[1, 2])), None);
        let f = d.push(12, 900, true, &cont(&[3])).unwrap();
        assert_eq!(f, Frame { rtp_ts: 900, keyframe: true, data: [&KEY[..], &[1, 2, 3]].concat() });
        // A one-packet inter frame.
        let f = d.push(13, 3900, true, &start(&[0x31, 0x02, 0x00, 7])).unwrap();
        assert!(!f.keyframe);
        assert_eq!(f.data, vec![0x31, 0x02, 0x00, 7]);
    }

    #[test]
    fn starts_at_a_key_frame() {
        let mut d = Vp8Depacketizer::new();
        assert!(d.waiting_keyframe());
        assert_eq!(d.push(1, 0, true, &start(&[0x31, 0, 0])), None);
        assert_eq!(d.push(2, 0, true, &cont(&[1])), None);
        assert!(d.push(3, 10, true, &start(&KEY)).is_some());
        assert!(!d.waiting_keyframe());
    }

    #[test]
    fn a_missing_packet_discards_until_the_next_key_frame() {
        let mut d = Vp8Depacketizer::new();
        d.push(1, 0, false, &start(&KEY));
        // 2 is lost.
        assert_eq!(d.push(3, 0, true, &cont(&[9])), None);
        assert_eq!(d.push(4, 3000, true, &start(&[0x31, 0, 0])), None);
        assert_eq!(d.dropped_frames(), 1);
        assert!(d.push(5, 6000, true, &start(&KEY)).is_some());
        // A late duplicate changes nothing.
        assert_eq!(d.push(4, 3000, true, &start(&[0x31, 0, 0])), None);
        assert!(d.push(6, 9000, true, &start(&[0x31, 0, 0])).is_some());
    }

    #[test]
    fn a_frame_without_its_marker_is_dropped() {
        let mut d = Vp8Depacketizer::new();
        d.push(1, 0, false, &start(&KEY));
        // Next frame begins (contiguous seq) without the marker of the first.
        let f = d.push(2, 3000, true, &start(&KEY)).unwrap();
        assert_eq!(f.rtp_ts, 3000);
        assert_eq!(d.dropped_frames(), 1);
        // A continuation with another timestamp is corrupt.
        d.push(3, 6000, false, &start(&KEY));
        assert_eq!(d.push(4, 9000, true, &cont(&[1])), None);
        assert!(d.waiting_keyframe());
    }

    #[test]
    fn malformed_payloads_are_losses_not_panics() {
        let mut d = Vp8Depacketizer::new();
        d.push(1, 0, false, &start(&KEY));
        assert_eq!(d.push(2, 0, true, &[0x90]), None);
        assert!(d.waiting_keyframe());
        assert_eq!(d.push(3, 0, true, &[0x10]), None); // start with no VP8 header
        assert_eq!(d.push(u64::MAX, 0, true, &[]), None);
        // After the last representable sequence number nothing can be checked; no panic.
        assert!(d.push(u64::MAX, 0, true, &start(&KEY)).is_some());
    }
}
