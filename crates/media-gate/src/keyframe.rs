//! Keyframe detection on RTP payloads (VP8 per RFC 7741, H.264 per RFC 6184)
//! and the frame size of a VP8 key frame.
//!
//! Every function here looks at a few bytes, never allocates and never panics:
//! a payload too short to hold what it announces is "not a keyframe" (or
//! `None`).

/// The parsed VP8 payload descriptor (RFC 7741 §4.2) at the front of an RTP
/// payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Descriptor {
    /// S: this packet starts a VP8 partition.
    pub start: bool,
    /// PID: the partition index (0..=7).
    pub partition: u8,
    /// Length of the descriptor in bytes; the VP8 payload follows it.
    pub len: usize,
}

const VP8_X: u8 = 0x80;
const VP8_S: u8 = 0x10;
const VP8_PID: u8 = 0x07;
const VP8_I: u8 = 0x80;
const VP8_L: u8 = 0x40;
const VP8_T: u8 = 0x20;
const VP8_K: u8 = 0x10;
const VP8_M: u8 = 0x80;

/// Parse the VP8 payload descriptor:
///
/// ```text
///   X|R|N|S|R|PID        required
///   I|L|T|K|RSV          if X
///   M|PictureID(7)       if I  (a second PictureID byte if M)
///   TL0PICIDX            if L
///   TID|Y|KEYIDX         if T or K
/// ```
///
/// `None` if the payload ends inside the descriptor.
pub fn vp8_descriptor(payload: &[u8]) -> Option<Vp8Descriptor> {
    let first = *payload.first()?;
    let mut len = 1;
    if first & VP8_X != 0 {
        let ext = *payload.get(len)?;
        len += 1;
        if ext & VP8_I != 0 {
            let picture_id = *payload.get(len)?;
            len += if picture_id & VP8_M != 0 { 2 } else { 1 };
        }
        if ext & VP8_L != 0 {
            len += 1;
        }
        if ext & (VP8_T | VP8_K) != 0 {
            len += 1;
        }
        if len > payload.len() {
            return None;
        }
    }
    Some(Vp8Descriptor { start: first & VP8_S != 0, partition: first & VP8_PID, len })
}

/// Whether this VP8 RTP payload starts a key frame: the descriptor says
/// start of partition 0, and the VP8 payload header's P bit (bit 0 of its
/// first byte, the inverse key frame flag) is 0.
pub fn vp8_keyframe_start(payload: &[u8]) -> bool {
    let Some(d) = vp8_descriptor(payload) else {
        return false;
    };
    d.start && d.partition == 0 && payload.get(d.len).is_some_and(|header| header & 0x01 == 0)
}

const H264_IDR: u8 = 5;
const H264_SPS: u8 = 7;
const H264_STAP_A: u8 = 24;
const H264_FU_A: u8 = 28;

fn h264_starts_keyframe(nal_type: u8) -> bool {
    nal_type == H264_IDR || nal_type == H264_SPS
}

/// Whether this H.264 RTP payload (packetization mode 0 or 1) starts a key
/// frame: a single NAL unit of type 5 (IDR slice) or 7 (SPS); a STAP-A
/// aggregating one of those; or the first fragment (S bit) of an FU-A whose
/// original NAL type is one of those. An encoder sends SPS (and PPS) right
/// before an IDR, so the SPS packet is where a decoder can start.
pub fn h264_keyframe_start(payload: &[u8]) -> bool {
    let Some(&header) = payload.first() else {
        return false;
    };
    match header & 0x1f {
        H264_STAP_A => stap_a_has_keyframe(&payload[1..]),
        H264_FU_A => payload.get(1).is_some_and(|fu| fu & 0x80 != 0 && h264_starts_keyframe(fu & 0x1f)),
        t => h264_starts_keyframe(t),
    }
}

/// STAP-A body: a sequence of (16-bit big-endian size, NAL unit). A truncated
/// last unit still counts if its header byte is present.
fn stap_a_has_keyframe(mut body: &[u8]) -> bool {
    while let [hi, lo, rest @ ..] = body {
        let size = usize::from(u16::from_be_bytes([*hi, *lo]));
        let Some(&nal_header) = rest.first() else {
            return false;
        };
        if size > 0 && h264_starts_keyframe(nal_header & 0x1f) {
            return true;
        }
        body = rest.get(size..).unwrap_or(&[]);
    }
    false
}

/// Width and height of a depacketized VP8 key frame (RFC 6386 §9.1): a
/// 3-byte frame tag with P = 0, the start code `9d 01 2a`, then 14-bit
/// width and height (little-endian; the top 2 bits are the scaling mode).
/// `None` for an inter frame or a frame too short to hold the header.
pub fn vp8_frame_size(frame: &[u8]) -> Option<(u16, u16)> {
    match frame {
        [tag, _, _, 0x9d, 0x01, 0x2a, w0, w1, h0, h1, ..] if tag & 0x01 == 0 => {
            Some((u16::from_le_bytes([*w0, *w1]) & 0x3fff, u16::from_le_bytes([*h0, *h1]) & 0x3fff))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key frame's VP8 payload header (P = 0) with the start code and 640×480.
    const KEY: [u8; 10] = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
    /// An inter frame's payload header (P = 1).
    const INTER: [u8; 3] = [0x31, 0x02, 0x00];

    fn with(desc: &[u8], vp8: &[u8]) -> Vec<u8> {
        [desc, vp8].concat()
    }

    #[test]
    fn vp8_minimal_descriptor() {
        assert!(vp8_keyframe_start(&with(&[0x10], &KEY)));
        assert!(!vp8_keyframe_start(&with(&[0x10], &INTER)));
        // S = 0: a continuation packet, even if its first byte happens to be even.
        assert!(!vp8_keyframe_start(&with(&[0x00], &KEY)));
        // S = 1 but partition 1.
        assert!(!vp8_keyframe_start(&with(&[0x11], &KEY)));
        // N (non-reference) does not matter.
        assert!(vp8_keyframe_start(&with(&[0x30], &KEY)));
    }

    #[test]
    fn vp8_extensions_and_picture_ids() {
        // X, I with a 7-bit PictureID.
        assert!(vp8_keyframe_start(&with(&[0x90, 0x80, 0x05], &KEY)));
        // X, I with a 15-bit PictureID whose low byte is odd: must not be read as P.
        assert!(vp8_keyframe_start(&with(&[0x90, 0x80, 0x81, 0x23], &KEY)));
        assert!(!vp8_keyframe_start(&with(&[0x90, 0x80, 0x81, 0x22], &INTER)));
        // X, I (15-bit), L, T/K: every optional byte.
        let desc = [0x90, 0xf0, 0x80, 0x01, 0x07, 0x40];
        assert!(vp8_keyframe_start(&with(&desc, &KEY)));
        assert_eq!(vp8_descriptor(&with(&desc, &KEY)).map(|d| d.len), Some(6));
        // Only K set (no T): still one TID/KEYIDX byte.
        assert_eq!(vp8_descriptor(&[0x90, 0x10, 0x00, 0x00]).map(|d| d.len), Some(3));
        // X with nothing set.
        assert!(vp8_keyframe_start(&with(&[0x90, 0x00], &KEY)));
    }

    #[test]
    fn vp8_short_input_is_not_a_keyframe() {
        for bytes in [&[][..], &[0x10], &[0x90], &[0x90, 0x80], &[0x90, 0x80, 0x80], &[0x90, 0xf0, 0x80, 0x01, 0x07]] {
            assert!(!vp8_keyframe_start(bytes), "{bytes:02x?}");
        }
        assert_eq!(vp8_descriptor(&[0x90, 0x80, 0x80]), None);
        assert_eq!(vp8_descriptor(&[0x90, 0x80, 0x80, 0x00]).map(|d| d.len), Some(4));
    }

    #[test]
    fn vp8_size_of_key_frame() {
        assert_eq!(vp8_frame_size(&KEY), Some((640, 480)));
        // The scaling bits are masked off.
        let mut scaled = KEY;
        scaled[7] |= 0xc0;
        scaled[9] |= 0x40;
        assert_eq!(vp8_frame_size(&scaled), Some((640, 480)));
        assert_eq!(vp8_frame_size(&INTER), None);
        assert_eq!(vp8_frame_size(&KEY[..9]), None);
        let mut bad_code = KEY;
        bad_code[4] = 0;
        assert_eq!(vp8_frame_size(&bad_code), None);
        assert_eq!(vp8_frame_size(&[]), None);
    }

    #[test]
    fn h264_single_nal_units() {
        assert!(h264_keyframe_start(&[0x65, 0x88])); // IDR, NRI 3
        assert!(h264_keyframe_start(&[0x67, 0x42])); // SPS
        assert!(h264_keyframe_start(&[0x05])); // IDR with only its header
        assert!(!h264_keyframe_start(&[0x68, 0xce])); // PPS
        assert!(!h264_keyframe_start(&[0x41, 0x9a])); // non-IDR slice
        assert!(!h264_keyframe_start(&[0x06, 0x05])); // SEI
        assert!(!h264_keyframe_start(&[]));
    }

    #[test]
    fn h264_stap_a() {
        // STAP-A: SPS (3 bytes), PPS (2 bytes).
        assert!(h264_keyframe_start(&[0x78, 0x00, 0x03, 0x67, 0x42, 0x00, 0x00, 0x02, 0x68, 0xce]));
        // PPS first, then IDR.
        assert!(h264_keyframe_start(&[0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x65, 0x88]));
        // Only non-key units.
        assert!(!h264_keyframe_start(&[0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x41, 0x9a]));
        // A size running past the end, a zero size, truncation after the size.
        assert!(!h264_keyframe_start(&[0x78, 0x00, 0x09, 0x68, 0xce]));
        assert!(!h264_keyframe_start(&[0x78, 0x00, 0x00]));
        assert!(!h264_keyframe_start(&[0x78, 0x00, 0x00, 0x00]));
        assert!(!h264_keyframe_start(&[0x78, 0x00]));
        assert!(!h264_keyframe_start(&[0x78]));
        // The unit after a zero-size one is still found.
        assert!(h264_keyframe_start(&[0x78, 0x00, 0x00, 0x00, 0x01, 0x67]));
    }

    #[test]
    fn h264_fu_a() {
        assert!(h264_keyframe_start(&[0x7c, 0x85, 0x88])); // start of IDR
        assert!(h264_keyframe_start(&[0x7c, 0x87])); // start of SPS
        assert!(!h264_keyframe_start(&[0x7c, 0x05, 0x88])); // middle of IDR
        assert!(!h264_keyframe_start(&[0x7c, 0x45, 0x88])); // end of IDR
        assert!(!h264_keyframe_start(&[0x7c, 0x81, 0x9a])); // start of a non-IDR slice
        assert!(!h264_keyframe_start(&[0x7c]));
    }
}
