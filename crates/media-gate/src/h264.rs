//! H.264 for the recording: an RTP depacketizer (RFC 6184, packetization
//! modes 0 and 1: single NAL units, STAP-A, FU-A) producing access units in
//! the length-prefixed form Matroska stores (`V_MPEG4/ISO/AVC`), the
//! `AVCDecoderConfigurationRecord` for its CodecPrivate, and the frame size
//! from a sequence parameter set.
//!
//! Like [`crate::Vp8Depacketizer`], it expects packets in sequence order; a
//! missing sequence number discards the access unit in progress and
//! everything up to the next one holding an IDR slice.

use crate::depack::{Frame, MAX_FRAME_BYTES};

const IDR: u8 = 5;
const SPS: u8 = 7;
const PPS: u8 = 8;
const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// Joins the RTP packets of each H.264 access unit. `Frame::data` holds its
/// NAL units, each preceded by its length as 4 bytes big-endian;
/// `Frame::keyframe` says it holds an IDR slice.
#[derive(Debug, Clone, Default)]
pub struct H264Depacketizer {
    expected: Option<u64>,
    /// The access unit being assembled (keyframe = has an IDR slice).
    current: Option<Frame>,
    /// Where the length of the NAL unit being reassembled from FU-A sits in
    /// `current.data`.
    fragment: Option<usize>,
    need_keyframe: bool,
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
    dropped_frames: u64,
}

impl H264Depacketizer {
    /// A depacketizer that waits for the first access unit with an IDR slice.
    pub fn new() -> Self {
        Self { need_keyframe: true, ..Self::default() }
    }

    /// Feed one released packet; returns an access unit when `marker`
    /// completes one (and it can be decoded: it holds an IDR slice, or
    /// nothing was lost since the last one that did).
    pub fn push(&mut self, seq: u64, rtp_ts: u32, marker: bool, payload: &[u8]) -> Option<Frame> {
        if let Some(expected) = self.expected {
            if seq < expected {
                return None;
            }
            if seq > expected {
                self.lose();
            }
        }
        self.expected = seq.checked_add(1);
        if self.current.as_ref().is_some_and(|f| f.rtp_ts != rtp_ts) {
            // A new access unit without the last one's marker.
            self.lose();
        }
        let Some(&header) = payload.first() else {
            self.lose();
            return None;
        };
        let ok = match header & 0x1f {
            0 | 30 | 31 => false,
            STAP_A => self.stap_a(rtp_ts, &payload[1..]),
            FU_A => self.fu_a(rtp_ts, header, &payload[1..]),
            25..=29 => false, // STAP-B, MTAP, FU-B: interleaved mode only
            _ => self.nal(rtp_ts, payload),
        };
        if !ok {
            self.lose();
            return None;
        }
        if !marker || self.fragment.is_some() {
            return None;
        }
        let frame = self.current.take()?;
        if self.need_keyframe && !frame.keyframe {
            return None;
        }
        self.need_keyframe = false;
        Some(frame)
    }

    /// The last SPS and PPS seen (for [`avc_decoder_config`]).
    pub fn parameter_sets(&self) -> Option<(&[u8], &[u8])> {
        Some((self.sps.as_deref()?, self.pps.as_deref()?))
    }

    /// Access units discarded so far (incomplete, or after a loss).
    pub fn dropped_frames(&self) -> u64 {
        self.dropped_frames
    }

    fn lose(&mut self) {
        if self.current.take().is_some() {
            self.dropped_frames += 1;
        }
        self.fragment = None;
        self.need_keyframe = true;
    }

    fn frame(&mut self, rtp_ts: u32) -> &mut Frame {
        self.current.get_or_insert_with(|| Frame { rtp_ts, keyframe: false, data: Vec::new() })
    }

    /// Append one whole NAL unit. False if it breaks the stream.
    fn nal(&mut self, rtp_ts: u32, nal: &[u8]) -> bool {
        if self.fragment.is_some() || nal.is_empty() {
            return false;
        }
        match nal[0] & 0x1f {
            SPS => self.sps = Some(nal.to_vec()),
            PPS => self.pps = Some(nal.to_vec()),
            _ => {}
        }
        let frame = self.frame(rtp_ts);
        if frame.data.len() + 4 + nal.len() > MAX_FRAME_BYTES {
            return false;
        }
        frame.keyframe |= nal[0] & 0x1f == IDR;
        frame.data.extend_from_slice(&(nal.len() as u32).to_be_bytes());
        frame.data.extend_from_slice(nal);
        true
    }

    fn stap_a(&mut self, rtp_ts: u32, mut body: &[u8]) -> bool {
        if body.is_empty() {
            return false;
        }
        while !body.is_empty() {
            let [hi, lo, rest @ ..] = body else {
                return false;
            };
            let size = usize::from(u16::from_be_bytes([*hi, *lo]));
            let (Some(nal), Some(after)) = (rest.get(..size), rest.get(size..)) else {
                return false;
            };
            if !self.nal(rtp_ts, nal) {
                return false;
            }
            body = after;
        }
        true
    }

    fn fu_a(&mut self, rtp_ts: u32, indicator: u8, body: &[u8]) -> bool {
        let [fu, data @ ..] = body else {
            return false;
        };
        let (start, end) = (fu & 0x80 != 0, fu & 0x40 != 0);
        let nal_header = (indicator & 0xe0) | (fu & 0x1f);
        match (start, self.fragment) {
            (true, None) => {
                let frame = self.frame(rtp_ts);
                frame.keyframe |= nal_header & 0x1f == IDR;
                let at = frame.data.len();
                frame.data.extend_from_slice(&[0, 0, 0, 0, nal_header]);
                self.fragment = Some(at);
            }
            (false, Some(_)) => {}
            _ => return false,
        }
        let Some(at) = self.fragment else {
            return false;
        };
        let Some(frame) = self.current.as_mut() else {
            return false;
        };
        if frame.data.len() + data.len() > MAX_FRAME_BYTES {
            return false;
        }
        frame.data.extend_from_slice(data);
        if end {
            let len = frame.data.len() - at - 4;
            frame.data[at..at + 4].copy_from_slice(&(len as u32).to_be_bytes());
            self.fragment = None;
            let nal = frame.data[at + 4..].to_vec();
            match nal_header & 0x1f {
                SPS => self.sps = Some(nal),
                PPS => self.pps = Some(nal),
                _ => {}
            }
        }
        true
    }
}

/// The `AVCDecoderConfigurationRecord` (ISO/IEC 14496-15 §5.2.4.1) for one
/// SPS and one PPS, with 4-byte NAL lengths: Matroska's CodecPrivate for
/// `V_MPEG4/ISO/AVC`. `None` if the SPS is too short or either is too long.
pub fn avc_decoder_config(sps: &[u8], pps: &[u8]) -> Option<Vec<u8>> {
    let [_, profile, compat, level, ..] = *sps else {
        return None;
    };
    let (sps_len, pps_len) = (u16::try_from(sps.len()).ok()?, u16::try_from(pps.len()).ok()?);
    let mut c = vec![1, profile, compat, level, 0xfc | 3, 0xe0 | 1];
    c.extend_from_slice(&sps_len.to_be_bytes());
    c.extend_from_slice(sps);
    c.push(1);
    c.extend_from_slice(&pps_len.to_be_bytes());
    c.extend_from_slice(pps);
    Some(c)
}

/// Width and height (after cropping) from an SPS NAL unit (with its header
/// byte). `None` if it is malformed or uses features this reader skips
/// (scaling matrices, separate colour planes).
pub fn sps_frame_size(sps: &[u8]) -> Option<(u16, u16)> {
    if sps.first()? & 0x1f != SPS {
        return None;
    }
    let rbsp = unescape(sps.get(1..)?);
    let mut r = Bits { data: &rbsp, pos: 0 };
    let profile = r.bits(8)?;
    r.bits(16)?; // constraint flags, level
    r.ue()?; // seq_parameter_set_id
    let mut chroma_format = 1;
    if matches!(profile, 100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135) {
        chroma_format = r.ue()?;
        if chroma_format == 3 && r.bits(1)? == 1 {
            return None; // separate_colour_plane_flag
        }
        r.ue()?; // bit_depth_luma_minus8
        r.ue()?; // bit_depth_chroma_minus8
        r.bits(1)?; // qpprime_y_zero_transform_bypass_flag
        if r.bits(1)? == 1 {
            return None; // seq_scaling_matrix_present_flag
        }
    }
    r.ue()?; // log2_max_frame_num_minus4
    match r.ue()? {
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.bits(1)?;
            r.se()?;
            r.se()?;
            for _ in 0..r.ue()?.min(255) {
                r.se()?;
            }
        }
        _ => {}
    }
    r.ue()?; // max_num_ref_frames
    r.bits(1)?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = r.ue()?.checked_add(1)?;
    let height_units = r.ue()?.checked_add(1)?;
    let frame_mbs_only = r.bits(1)?;
    if frame_mbs_only == 0 {
        r.bits(1)?; // mb_adaptive_frame_field_flag
    }
    r.bits(1)?; // direct_8x8_inference_flag
    let (mut cl, mut cr, mut ct, mut cb) = (0, 0, 0, 0);
    if r.bits(1)? == 1 {
        (cl, cr, ct, cb) = (r.ue()?, r.ue()?, r.ue()?, r.ue()?);
    }
    let (crop_x, crop_y): (u32, u32) = match chroma_format {
        0 => (1, 2 - frame_mbs_only),
        1 => (2, 2 * (2 - frame_mbs_only)),
        2 => (2, 2 - frame_mbs_only),
        _ => (1, 2 - frame_mbs_only),
    };
    // In u64: every factor is below 2^32, so no product overflows.
    let (crop_x, crop_y) = (u64::from(crop_x), u64::from(crop_y));
    let crop_w = crop_x * (u64::from(cl) + u64::from(cr));
    let crop_h = crop_y * (u64::from(ct) + u64::from(cb));
    let width = (u64::from(width_mbs) * 16).checked_sub(crop_w)?;
    let height = (u64::from(height_units) * 16 * u64::from(2 - frame_mbs_only)).checked_sub(crop_h)?;
    Some((u16::try_from(width).ok()?, u16::try_from(height).ok()?))
}

/// Remove emulation-prevention bytes (`00 00 03` → `00 00`).
fn unescape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut zeros = 0;
    for &b in data {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// A big-endian bit reader with Exp-Golomb codes; `None` past the end.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let b = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(b))
    }

    fn bits(&mut self, n: u32) -> Option<u32> {
        (0..n).try_fold(0u32, |acc, _| Some((acc << 1) | self.bit()?))
    }

    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let rest = self.bits(zeros)?;
        // zeros <= 31, so this fits in u64 and, for valid streams, in u32.
        u32::try_from((1u64 << zeros) - 1 + u64::from(rest)).ok()
    }

    fn se(&mut self) -> Option<i64> {
        let k = i64::from(self.ue()?);
        Some(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPS from libx264 (baseline 1280×720, 1920×1080 and 322×242 with
    /// cropping, high 640×360).
    const SPS_720P: [u8; 25] = [
        0x67, 0x42, 0xc0, 0x1f, 0xd9, 0x00, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00,
        0x03, 0x03, 0xc0, 0xf1, 0x83, 0x24, 0x80,
    ];
    const SPS_1080P: [u8; 26] = [
        0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0xc0, 0x44, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00,
        0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20,
    ];
    const SPS_322X242: [u8; 26] = [
        0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x50, 0x87, 0x88, 0x88, 0xc0, 0x44, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00,
        0x00, 0x03, 0x00, 0xf0, 0x3c, 0x50, 0xa9, 0x20,
    ];
    const SPS_HIGH_360P: [u8; 26] = [
        0x67, 0x64, 0x00, 0x1e, 0xac, 0xd9, 0x40, 0xa0, 0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00,
        0x00, 0x03, 0x00, 0x3c, 0x0f, 0x16, 0x2d, 0x96,
    ];

    #[test]
    fn exp_golomb() {
        // 1 → 0, 010 → 1, 011 → 2, 00100 → 3
        let data = [0b1010_0110, 0b0100_0000];
        let mut r = Bits { data: &data, pos: 0 };
        assert_eq!((r.ue(), r.ue(), r.ue(), r.ue()), (Some(0), Some(1), Some(2), Some(3)));
        let mut r = Bits { data: &[0, 0, 0, 0, 0], pos: 0 };
        assert_eq!(r.ue(), None);
        assert_eq!(unescape(&[1, 0, 0, 3, 1, 0, 0, 3, 0, 3]), vec![1, 0, 0, 1, 0, 0, 0, 3]);
    }

    #[test]
    fn decoder_config_layout() {
        let c = avc_decoder_config(&SPS_720P, &[0x68, 0xce, 0x3c, 0x80]).unwrap();
        assert_eq!(&c[..8], &[1, 0x42, 0xc0, 0x1f, 0xff, 0xe1, 0, 25]);
        assert_eq!(&c[8..33], &SPS_720P);
        assert_eq!(&c[33..], &[1, 0, 4, 0x68, 0xce, 0x3c, 0x80]);
        assert_eq!(avc_decoder_config(&[0x67, 0x42], &[0x68]), None);
    }

    #[test]
    fn depacketizes_single_stap_a_and_fu_a() {
        let mut d = H264Depacketizer::new();
        // Non-IDR before any IDR: skipped.
        assert_eq!(d.push(1, 0, true, &[0x41, 0x9a]), None);
        // STAP-A with SPS and PPS, then an IDR in three FU-A fragments.
        assert_eq!(d.push(2, 3000, false, &[0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce]), None);
        assert_eq!(d.push(3, 3000, false, &[0x7c, 0x85, 1, 2]), None);
        assert_eq!(d.push(4, 3000, false, &[0x7c, 0x05, 3]), None);
        let f = d.push(5, 3000, true, &[0x7c, 0x45, 4]).unwrap();
        assert!(f.keyframe);
        assert_eq!(f.data, vec![0, 0, 0, 2, 0x67, 0x42, 0, 0, 0, 2, 0x68, 0xce, 0, 0, 0, 5, 0x65, 1, 2, 3, 4]);
        assert_eq!(d.parameter_sets(), Some((&[0x67, 0x42][..], &[0x68, 0xce][..])));
        // A single-NAL P frame.
        let f = d.push(6, 6000, true, &[0x41, 0x9a, 0x01]).unwrap();
        assert!(!f.keyframe);
        assert_eq!(f.data, vec![0, 0, 0, 3, 0x41, 0x9a, 0x01]);
    }

    #[test]
    fn loss_waits_for_the_next_idr() {
        let mut d = H264Depacketizer::new();
        assert!(d.push(1, 0, true, &[0x65, 1]).is_some());
        // 3 lost inside an FU-A.
        assert_eq!(d.push(2, 3000, false, &[0x7c, 0x81, 1]), None);
        assert_eq!(d.push(4, 3000, true, &[0x7c, 0x41, 3]), None);
        assert_eq!(d.push(5, 6000, true, &[0x41, 1]), None);
        assert!(d.push(6, 9000, true, &[0x65, 2]).is_some());
        assert_eq!(d.dropped_frames(), 1);
        // Malformed: an FU-A end without a start, a STAP-A running past its end.
        assert_eq!(d.push(7, 12000, true, &[0x7c, 0x41, 3]), None);
        assert_eq!(d.push(8, 15000, true, &[0x78, 0, 9, 0x65]), None);
        assert_eq!(d.push(9, 15000, true, &[]), None);
        assert!(d.push(10, 18000, true, &[0x65, 3]).is_some());
    }

    #[test]
    fn frame_size_from_sps() {
        assert_eq!(sps_frame_size(&SPS_720P), Some((1280, 720)));
        assert_eq!(sps_frame_size(&SPS_1080P), Some((1920, 1080)));
        assert_eq!(sps_frame_size(&SPS_322X242), Some((322, 242)));
        assert_eq!(sps_frame_size(&SPS_HIGH_360P), Some((640, 360)));
        assert_eq!(sps_frame_size(&SPS_720P[..6]), None);
        assert_eq!(sps_frame_size(&[0x68, 0x42]), None);
        assert_eq!(sps_frame_size(&[]), None);
        // pic_width_in_mbs_minus1 = 2^32 - 2 (31 leading zeros): no overflow.
        let huge = [0x67, 0x42, 0, 0, 0xdc, 0, 0, 3, 0, 3, 0xff, 0xff, 0xff, 0xff, 0xa0];
        assert_eq!(sps_frame_size(&huge), None);
    }
}
