//! The synthetic stream: VP8-shaped video (payload descriptor with the S bit
//! and a 15-bit PictureID carrying the frame index, a frame tag whose P bit
//! says keyframe or interframe) and Opus-sized audio. Every RTP payload ends
//! with a 12-byte tag (the publisher's packet index and its send time in
//! nanoseconds since the run's epoch), so a viewer can tell which packets it
//! got and how long each took, without any table shared with the publisher.

/// Largest RTP payload the publisher writes.
pub const MAX_PAYLOAD: usize = 1100;
/// Bytes of the trailing tag: u32 packet index, u64 send time (ns), big-endian.
pub const TAG_LEN: usize = 12;
/// The VP8 payload descriptor the publisher writes: X, I with M (15-bit PictureID).
const VP8_DESCRIPTOR_LEN: usize = 4;

/// Frame sizes of the synthetic stream: about 1.5 Mbit/s at 30 fps with a
/// keyframe twice the size of an interframe every second.
pub fn frame_size(keyframe: bool, fps: u32, bitrate: u32) -> usize {
    let fps = fps.max(1) as usize;
    // One keyframe (2 units) and fps - 1 interframes (1 unit each) per second.
    let unit = bitrate as usize / 8 / (fps + 1);
    if keyframe {
        2 * unit
    } else {
        unit
    }
}

/// Split one video frame of `size` bytes into RTP payloads of at most
/// [`MAX_PAYLOAD`] bytes. `tag(i)` is called once per payload for its
/// trailing tag (packet index and send time).
pub fn vp8_frame(picture_id: u16, keyframe: bool, size: usize, mut tag: impl FnMut() -> [u8; TAG_LEN]) -> Vec<Vec<u8>> {
    let room = MAX_PAYLOAD - VP8_DESCRIPTOR_LEN - TAG_LEN;
    let size = size.max(1);
    let count = size.div_ceil(room);
    let each = size.div_ceil(count);
    let pid = picture_id & 0x7fff;
    let mut out = Vec::with_capacity(count);
    let mut left = size;
    for i in 0..count {
        let body = each.min(left);
        left -= body;
        let mut p = Vec::with_capacity(VP8_DESCRIPTOR_LEN + body + TAG_LEN);
        // X=1, N=0, S on the first packet of the frame, partition 0.
        p.push(0x80 | if i == 0 { 0x10 } else { 0 });
        // I=1: a PictureID follows; M=1: 15 bits.
        p.push(0x80);
        p.push(0x80 | (pid >> 8) as u8);
        p.push(pid as u8);
        let start = p.len();
        if i == 0 {
            // Frame tag: P bit (0 = keyframe), version 0, show_frame, a first partition size.
            let first_part: u32 = 100;
            let b0 = (if keyframe { 0 } else { 1 }) | 0x10 | ((first_part & 0x7) << 5) as u8;
            p.extend_from_slice(&[b0, (first_part >> 3) as u8, (first_part >> 11) as u8]);
            if keyframe {
                // Start code and 640x360.
                p.extend_from_slice(&[0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]);
            }
        }
        let filled = p.len() - start;
        p.extend((filled..body).map(|k| (k as u8).wrapping_mul(31).wrapping_add(i as u8)));
        p.extend_from_slice(&tag());
        out.push(p);
    }
    out
}

/// One Opus-sized audio payload: a TOC byte (CELT fullband 20 ms), filler, the tag.
pub fn opus_packet(size: usize, tag: [u8; TAG_LEN]) -> Vec<u8> {
    let body = size.max(1);
    let mut p = Vec::with_capacity(body + TAG_LEN);
    p.push(0xf8);
    p.extend((1..body).map(|k| k as u8));
    p.extend_from_slice(&tag);
    p
}

pub fn make_tag(index: u32, sent_ns: u64) -> [u8; TAG_LEN] {
    let mut t = [0u8; TAG_LEN];
    t[..4].copy_from_slice(&index.to_be_bytes());
    t[4..].copy_from_slice(&sent_ns.to_be_bytes());
    t
}

/// The trailing tag of a payload: (packet index, send time in ns).
pub fn read_tag(payload: &[u8]) -> Option<(u32, u64)> {
    let at = payload.len().checked_sub(TAG_LEN)?;
    let t = &payload[at..];
    let index = u32::from_be_bytes(t[..4].try_into().ok()?);
    let sent = u64::from_be_bytes(t[4..].try_into().ok()?);
    Some((index, sent))
}

/// What a viewer reads of a VP8 payload: (start of frame, PictureID, keyframe start).
pub fn read_vp8(payload: &[u8]) -> Option<(bool, Option<u16>, bool)> {
    let b0 = *payload.first()?;
    let start = b0 & 0x10 != 0 && b0 & 0x07 == 0;
    let mut at = 1;
    let mut pid = None;
    if b0 & 0x80 != 0 {
        let x = *payload.get(at)?;
        at += 1;
        if x & 0x80 != 0 {
            let p0 = *payload.get(at)?;
            if p0 & 0x80 != 0 {
                let p1 = *payload.get(at + 1)?;
                pid = Some(u16::from(p0 & 0x7f) << 8 | u16::from(p1));
                at += 2;
            } else {
                pid = Some(u16::from(p0 & 0x7f));
                at += 1;
            }
        }
        if x & 0x40 != 0 {
            at += 1;
        }
        if x & 0x30 != 0 {
            at += 1;
        }
    }
    let keyframe = start && payload.get(at).is_some_and(|h| h & 0x01 == 0);
    Some((start, pid, keyframe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_split_tagged_and_readable() {
        let mut n = 0u32;
        let key = vp8_frame(0x1234, true, frame_size(true, 30, 1_500_000), || {
            n += 1;
            make_tag(n, 77)
        });
        assert!(key.len() > 1);
        assert!(key.iter().all(|p| p.len() <= MAX_PAYLOAD));
        assert_eq!(read_vp8(&key[0]), Some((true, Some(0x1234), true)));
        assert_eq!(read_vp8(&key[1]), Some((false, Some(0x1234), false)));
        assert_eq!(read_tag(&key[1]), Some((2, 77)));
        let inter = vp8_frame(5, false, 6000, || make_tag(9, 1));
        assert_eq!(read_vp8(&inter[0]), Some((true, Some(5), false)));
        let total: usize = inter.iter().map(|p| p.len() - VP8_DESCRIPTOR_LEN - TAG_LEN).sum();
        assert_eq!(total, 6000);
        let a = opus_packet(80, make_tag(3, 4));
        assert_eq!(read_tag(&a), Some((3, 4)));
        assert_eq!(read_tag(&[1, 2]), None);
        assert_eq!(read_vp8(&[]), None);
        // 1.5 Mbit/s at 30 fps: 29 interframes and one keyframe of twice the size.
        let per_second = 29 * frame_size(false, 30, 1_500_000) + frame_size(true, 30, 1_500_000);
        assert!((180_000..=190_000).contains(&per_second), "{per_second}");
    }

    #[test]
    fn media_gate_agrees_on_keyframes() {
        // The server's own check: S bit, partition 0, P bit clear.
        let key = vp8_frame(1, true, 3000, || make_tag(0, 0));
        let inter = vp8_frame(2, false, 3000, || make_tag(0, 0));
        assert!(orgallery_media_gate::keyframe::vp8_keyframe_start(&key[0]));
        assert!(!orgallery_media_gate::keyframe::vp8_keyframe_start(&key[1]));
        assert!(!orgallery_media_gate::keyframe::vp8_keyframe_start(&inter[0]));
    }
}
