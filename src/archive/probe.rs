//! What a recording file says about itself: its duration, read from the
//! Matroska/WebM structure that `crates/media-gate` writes (an EBML header,
//! a Segment of unknown size, Info, Tracks, then Clusters written whole with
//! their size). Clusters are skipped by size, so a long recording costs a
//! few small reads; only the last cluster's block headers are read.

use std::io::{Read, Seek, SeekFrom};

const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TIMECODE_SCALE: u32 = 0x2A_D7B1;
const CLUSTER: u32 = 0x1F43_B675;
const TIMECODE: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;
const UNKNOWN: u64 = u64::MAX;

/// Read an element id (1–4 bytes, marker bits kept).
fn read_id(r: &mut impl Read) -> Option<(u32, u64)> {
    let mut first = [0u8; 1];
    r.read_exact(&mut first).ok()?;
    let len = first[0].leading_zeros() as usize + 1;
    if len > 4 {
        return None;
    }
    let mut id = u32::from(first[0]);
    for _ in 1..len {
        let mut b = [0u8; 1];
        r.read_exact(&mut b).ok()?;
        id = (id << 8) | u32::from(b[0]);
    }
    Some((id, len as u64))
}

/// Read a size vint; all-ones means unknown.
fn read_size(r: &mut impl Read) -> Option<(u64, u64)> {
    let mut first = [0u8; 1];
    r.read_exact(&mut first).ok()?;
    let len = first[0].leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let mask = if len == 8 { 0 } else { 0xFFu8 >> len };
    let mut v = u64::from(first[0] & mask);
    let mut all_ones = v == u64::from(mask);
    for _ in 1..len {
        let mut b = [0u8; 1];
        r.read_exact(&mut b).ok()?;
        all_ones &= b[0] == 0xFF;
        v = (v << 8) | u64::from(b[0]);
    }
    Some((if all_ones { UNKNOWN } else { v }, len as u64))
}

fn read_uint(r: &mut impl Read, size: u64) -> Option<u64> {
    if size > 8 {
        return None;
    }
    let mut v = 0u64;
    for _ in 0..size {
        let mut b = [0u8; 1];
        r.read_exact(&mut b).ok()?;
        v = (v << 8) | u64::from(b[0]);
    }
    Some(v)
}

/// The duration in milliseconds of a recording (`None` if it is not one).
pub fn duration_ms(r: &mut (impl Read + Seek)) -> Option<u64> {
    let len = r.seek(SeekFrom::End(0)).ok()?;
    r.seek(SeekFrom::Start(0)).ok()?;
    // EBML header.
    let (id, _) = read_id(r)?;
    if id != 0x1A45_DFA3 {
        return None;
    }
    let (size, _) = read_size(r)?;
    r.seek(SeekFrom::Current(i64::try_from(size).ok()?)).ok()?;
    let (id, _) = read_id(r)?;
    if id != SEGMENT {
        return None;
    }
    read_size(r)?;
    let mut scale_ns: u64 = 1_000_000;
    let mut last_cluster: Option<(u64, u64, u64)> = None; // (body start, size, timecode)
    while let Ok(pos) = r.stream_position() {
        if pos >= len {
            break;
        }
        let Some((id, _)) = read_id(r) else { break };
        let Some((size, _)) = read_size(r) else { break };
        let body = r.stream_position().ok()?;
        if size == UNKNOWN || body.saturating_add(size) > len {
            // A cluster cut off by a crash: demuxers skip it, so do we.
            break;
        }
        match id {
            INFO => {
                let end = body + size;
                while r.stream_position().ok()? < end {
                    let (cid, _) = read_id(r)?;
                    let (csize, _) = read_size(r)?;
                    if cid == TIMECODE_SCALE {
                        scale_ns = read_uint(r, csize)?.max(1);
                    } else {
                        r.seek(SeekFrom::Current(i64::try_from(csize).ok()?)).ok()?;
                    }
                }
            }
            CLUSTER => {
                let (cid, _) = read_id(r)?;
                let (csize, _) = read_size(r)?;
                if cid == TIMECODE {
                    last_cluster = Some((body, size, read_uint(r, csize)?));
                }
            }
            _ => {}
        }
        r.seek(SeekFrom::Start(body + size)).ok()?;
    }
    let (body, size, timecode) = last_cluster?;
    // The last block's relative timecode within the last cluster.
    r.seek(SeekFrom::Start(body)).ok()?;
    let end = body + size;
    let mut last_rel: i64 = 0;
    while r.stream_position().ok()? < end {
        let (id, _) = read_id(r)?;
        let (size, _) = read_size(r)?;
        let start = r.stream_position().ok()?;
        if id == SIMPLE_BLOCK {
            read_size(r)?; // track number
            let mut rel = [0u8; 2];
            r.read_exact(&mut rel).ok()?;
            last_rel = last_rel.max(i64::from(i16::from_be_bytes(rel)));
        }
        r.seek(SeekFrom::Start(start + size)).ok()?;
    }
    let ticks = timecode.saturating_add(u64::try_from(last_rel).unwrap_or(0));
    Some(ticks.saturating_mul(scale_ns) / 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use orgallery_media_gate::webm::{AudioTrack, VideoTrack, WebmWriter};

    #[test]
    fn the_duration_of_a_written_recording() {
        let video = VideoTrack { codec: "V_VP8", width: 64, height: 48 };
        let audio = AudioTrack { codec: "A_OPUS", sample_rate: 48_000, channels: 2 };
        let mut w = WebmWriter::new(Vec::new(), Some(video), Some(audio)).expect("writer");
        for i in 0..400u64 {
            let ts = i * 33;
            w.write_video(ts, i % 60 == 0, &[0u8; 100]).expect("video");
            w.write_audio(ts, &[1u8; 20]).expect("audio");
        }
        let bytes = w.finish().expect("finish");
        let d = duration_ms(&mut std::io::Cursor::new(bytes)).expect("a recording");
        assert_eq!(d, 399 * 33);
    }

    #[test]
    fn not_a_recording() {
        assert_eq!(duration_ms(&mut std::io::Cursor::new(vec![0u8; 1000])), None);
        assert_eq!(duration_ms(&mut std::io::Cursor::new(Vec::new())), None);
    }
}
