//! A streaming WebM (Matroska) muxer for the session recording: VP8 video
//! and Opus audio as SimpleBlocks in Clusters, written as the session runs
//! (H.264 too, as Matroska, via [`WebmWriter::with_codec_private`]).
//!
//! **Why by hand.** Checked on crates.io (December 2026): `webm` 2.2.1 wraps
//! the C++ libwebm (not pure Rust, needs a C++ toolchain); `matroska` 0.30
//! only parses; `mkv` 0.0.8 is an early, unmaintained experiment;
//! `webm-iterable` 0.7.1 (on `ebml-iterable`) writes tags but leaves the
//! live-recording policy (unknown-size segment, complete clusters, when to
//! cut them) to the caller, which is most of this module. What remains, EBML
//! framing of a dozen element types, is about a hundred lines here, with no
//! dependency to keep current.
//!
//! **Kill-safety.** The Segment has unknown size (written once, never
//! patched, so the output needs only [`std::io::Write`]). Each Cluster is
//! kept in memory until the next one starts, then written whole with its
//! size and flushed. Whatever is on disk is therefore the header plus
//! complete clusters (and at worst one cluster cut by the kill, which
//! demuxers skip), so a recording stays playable up to its last complete
//! cluster. A cluster starts at each video key frame (unless it holds no video yet:
//! audio captured just before the first key frame shares its cluster), after at most
//! [`MAX_CLUSTER_MS`], or past [`MAX_CLUSTER_BYTES`], so at most a few
//! seconds are at risk. There are no Cues (a live file cannot place them
//! without seeking); players still play it, and seeking is by scanning.
//!
//! Check a recording with
//! `ffprobe -v error -show_entries stream=codec_name,width,height:format=format_name -of compact FILE.webm`
//! (see the ignored test `ffprobe_reads_a_recording` in `tests/webm.rs`).

use std::io::{self, Write};

/// A cluster never spans more than this many milliseconds.
pub const MAX_CLUSTER_MS: u64 = 5_000;
/// A cluster is closed once its blocks reach this many bytes.
pub const MAX_CLUSTER_BYTES: usize = 8 << 20;

/// Opus encoder delay written as OpusHead pre-skip: libopus's 6.5 ms at 48 kHz.
const OPUS_PRE_SKIP: u16 = 312;
/// Recommended Opus seek pre-roll, 80 ms, in nanoseconds.
const OPUS_SEEK_PRE_ROLL_NS: u64 = 80_000_000;

// Element IDs (Matroska / WebM), with their marker bits.
const EBML: u32 = 0x1A45_DFA3;
const EBML_VERSION: u32 = 0x4286;
const EBML_READ_VERSION: u32 = 0x42F7;
const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
const DOC_TYPE: u32 = 0x4282;
const DOC_TYPE_VERSION: u32 = 0x4287;
const DOC_TYPE_READ_VERSION: u32 = 0x4285;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TIMECODE_SCALE: u32 = 0x2A_D7B1;
const MUXING_APP: u32 = 0x4D80;
const WRITING_APP: u32 = 0x5741;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_NUMBER: u32 = 0xD7;
const TRACK_UID: u32 = 0x73C5;
const TRACK_TYPE: u32 = 0x83;
const FLAG_LACING: u32 = 0x9C;
const CODEC_ID: u32 = 0x86;
const CODEC_PRIVATE: u32 = 0x63A2;
const CODEC_DELAY: u32 = 0x56AA;
const SEEK_PRE_ROLL: u32 = 0x56BB;
const VIDEO: u32 = 0xE0;
const PIXEL_WIDTH: u32 = 0xB0;
const PIXEL_HEIGHT: u32 = 0xBA;
const AUDIO: u32 = 0xE1;
const SAMPLING_FREQUENCY: u32 = 0xB5;
const CHANNELS: u32 = 0x9F;
const CLUSTER: u32 = 0x1F43_B675;
const TIMECODE: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;

/// An EBML size of all ones: "unknown" (8 bytes).
const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

/// The video track of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoTrack {
    /// Matroska codec ID: `"V_VP8"`, or `"V_MPEG4/ISO/AVC"` (see
    /// [`WebmWriter::with_codec_private`]).
    pub codec: &'static str,
    /// Width in pixels (from the first key frame: [`crate::keyframe::vp8_frame_size`]).
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
}

/// The audio track of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioTrack {
    /// Matroska codec ID, `"A_OPUS"` (gets an OpusHead, CodecDelay and SeekPreRoll).
    pub codec: &'static str,
    /// Sampling rate in Hz (48 000 for Opus).
    pub sample_rate: u32,
    /// Channel count (1 or 2).
    pub channels: u8,
}

/// Streams a WebM file to `W`. See the [module docs](self).
#[derive(Debug)]
pub struct WebmWriter<W: Write> {
    out: W,
    video: Option<u64>,
    audio: Option<u64>,
    /// Timecode (ms) of the open cluster, if one is open.
    cluster_ts: Option<u64>,
    /// Timecode of the last cluster written; cluster timecodes never go back.
    last_cluster_ts: u64,
    /// SimpleBlocks of the open cluster.
    blocks: Vec<u8>,
    /// Whether the open cluster holds a video frame (a key frame then starts a new one).
    cluster_has_video: bool,
    last_video_ts: u64,
    last_audio_ts: u64,
    video_started: bool,
}

impl<W: Write> WebmWriter<W> {
    /// Write the EBML header, the start of a Segment of unknown size, Info
    /// (1 ms timecodes, "orgallery") and Tracks (video is track 1, audio
    /// the next number), and flush.
    pub fn new(out: W, video: Option<VideoTrack>, audio: Option<AudioTrack>) -> io::Result<Self> {
        Self::with_codec_private(out, video, None, audio)
    }

    /// Like [`WebmWriter::new`], with a CodecPrivate for the video track:
    /// for H.264 (`"V_MPEG4/ISO/AVC"`) the record from
    /// [`crate::h264::avc_decoder_config`], frames from
    /// [`crate::H264Depacketizer`]. A codec WebM does not allow makes the
    /// file Matroska (DocType `"matroska"`; name it `.mkv`).
    pub fn with_codec_private(
        mut out: W,
        video: Option<VideoTrack>,
        video_codec_private: Option<&[u8]>,
        audio: Option<AudioTrack>,
    ) -> io::Result<Self> {
        let webm = video.as_ref().is_none_or(|v| matches!(v.codec, "V_VP8" | "V_VP9" | "V_AV1"))
            && audio.as_ref().is_none_or(|a| matches!(a.codec, "A_OPUS" | "A_VORBIS"));
        let mut head = Vec::with_capacity(256);
        let mut ebml = Vec::new();
        uint(&mut ebml, EBML_VERSION, 1);
        uint(&mut ebml, EBML_READ_VERSION, 1);
        uint(&mut ebml, EBML_MAX_ID_LENGTH, 4);
        uint(&mut ebml, EBML_MAX_SIZE_LENGTH, 8);
        string(&mut ebml, DOC_TYPE, if webm { "webm" } else { "matroska" });
        uint(&mut ebml, DOC_TYPE_VERSION, 4);
        uint(&mut ebml, DOC_TYPE_READ_VERSION, 2);
        master(&mut head, EBML, &ebml);

        write_id(&mut head, SEGMENT);
        head.extend_from_slice(&UNKNOWN_SIZE);

        let mut info = Vec::new();
        uint(&mut info, TIMECODE_SCALE, 1_000_000);
        string(&mut info, MUXING_APP, "orgallery");
        string(&mut info, WRITING_APP, "orgallery");
        master(&mut head, INFO, &info);

        let mut tracks = Vec::new();
        let mut next_track = 1;
        let video_track = video.map(|v| {
            let n = next_track;
            next_track += 1;
            let mut entry = track_entry(n, 1, v.codec);
            if let Some(private) = video_codec_private {
                bytes(&mut entry, CODEC_PRIVATE, private);
            }
            let mut dims = Vec::new();
            uint(&mut dims, PIXEL_WIDTH, u64::from(v.width));
            uint(&mut dims, PIXEL_HEIGHT, u64::from(v.height));
            master(&mut entry, VIDEO, &dims);
            master(&mut tracks, TRACK_ENTRY, &entry);
            n
        });
        let audio_track = audio.map(|a| {
            let n = next_track;
            let mut entry = track_entry(n, 2, a.codec);
            if a.codec == "A_OPUS" {
                bytes(&mut entry, CODEC_PRIVATE, &opus_head(a.channels, a.sample_rate));
                uint(&mut entry, CODEC_DELAY, u64::from(OPUS_PRE_SKIP) * 1_000_000_000 / 48_000);
                uint(&mut entry, SEEK_PRE_ROLL, OPUS_SEEK_PRE_ROLL_NS);
            }
            let mut params = Vec::new();
            float(&mut params, SAMPLING_FREQUENCY, f64::from(a.sample_rate));
            uint(&mut params, CHANNELS, u64::from(a.channels));
            master(&mut entry, AUDIO, &params);
            master(&mut tracks, TRACK_ENTRY, &entry);
            n
        });
        master(&mut head, TRACKS, &tracks);

        out.write_all(&head)?;
        out.flush()?;
        Ok(Self {
            out,
            video: video_track,
            audio: audio_track,
            cluster_ts: None,
            last_cluster_ts: 0,
            blocks: Vec::new(),
            cluster_has_video: false,
            last_video_ts: 0,
            last_audio_ts: 0,
            video_started: false,
        })
    }

    /// Add a video frame at `ts_ms` (milliseconds from the recording's
    /// start). A key frame starts a new cluster. Frames before the first key
    /// frame are skipped (nothing could decode them); a timestamp earlier
    /// than the previous video frame's is raised to it. Ignored if the
    /// writer has no video track.
    pub fn write_video(&mut self, ts_ms: u64, keyframe: bool, frame: &[u8]) -> io::Result<()> {
        let Some(track) = self.video else {
            return Ok(());
        };
        if !keyframe && !self.video_started {
            return Ok(());
        }
        self.video_started = true;
        let ts = ts_ms.max(self.last_video_ts);
        self.last_video_ts = ts;
        self.block(track, ts, keyframe, frame)
    }

    /// Add an audio frame (one Opus packet) at `ts_ms`; a timestamp earlier
    /// than the previous audio frame's is raised to it. Ignored if the writer
    /// has no audio track.
    pub fn write_audio(&mut self, ts_ms: u64, frame: &[u8]) -> io::Result<()> {
        let Some(track) = self.audio else {
            return Ok(());
        };
        let ts = ts_ms.max(self.last_audio_ts);
        self.last_audio_ts = ts;
        self.block(track, ts, false, frame)
    }

    /// Write the open cluster, flush, and return the output. Without this
    /// the open cluster (at most [`MAX_CLUSTER_MS`]) is lost, as if killed.
    pub fn finish(mut self) -> io::Result<W> {
        self.close_cluster()?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// The output (what was written so far: header and complete clusters).
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    fn block(&mut self, track: u64, ts: u64, keyframe: bool, frame: &[u8]) -> io::Result<()> {
        let is_video = Some(track) == self.video;
        let starts_cluster = match self.cluster_ts {
            None => true,
            Some(start) => {
                (keyframe && is_video && self.cluster_has_video)
                    || ts.saturating_sub(start) > MAX_CLUSTER_MS
                    || self.blocks.len() >= MAX_CLUSTER_BYTES
            }
        };
        if starts_cluster {
            self.close_cluster()?;
            // Audio running ahead of video may have opened the last cluster
            // later than this frame: clusters still never go back in time.
            self.cluster_ts = Some(ts.max(self.last_cluster_ts));
        }
        self.cluster_has_video |= is_video;
        let start = self.cluster_ts.unwrap_or(ts);
        // A frame slightly older than the cluster (audio just before the key
        // frame that opened it) is placed at the cluster's start.
        let relative = ts.saturating_sub(start).min(MAX_CLUSTER_MS) as i16;
        let flags = if keyframe || Some(track) == self.audio { 0x80 } else { 0x00 };
        write_id(&mut self.blocks, SIMPLE_BLOCK);
        write_size(&mut self.blocks, (vint_len(track) + 3 + frame.len()) as u64);
        write_vint(&mut self.blocks, track);
        self.blocks.extend_from_slice(&relative.to_be_bytes());
        self.blocks.push(flags);
        self.blocks.extend_from_slice(frame);
        Ok(())
    }

    fn close_cluster(&mut self) -> io::Result<()> {
        let Some(start) = self.cluster_ts.take() else {
            return Ok(());
        };
        self.last_cluster_ts = start;
        let mut timecode = Vec::with_capacity(10);
        uint(&mut timecode, TIMECODE, start);
        let mut header = Vec::with_capacity(16);
        write_id(&mut header, CLUSTER);
        write_size(&mut header, (timecode.len() + self.blocks.len()) as u64);
        header.extend_from_slice(&timecode);
        self.out.write_all(&header)?;
        self.out.write_all(&self.blocks)?;
        self.out.flush()?;
        self.blocks.clear();
        self.cluster_has_video = false;
        Ok(())
    }
}

fn track_entry(number: u64, kind: u64, codec: &str) -> Vec<u8> {
    let mut e = Vec::new();
    uint(&mut e, TRACK_NUMBER, number);
    uint(&mut e, TRACK_UID, number);
    uint(&mut e, TRACK_TYPE, kind);
    uint(&mut e, FLAG_LACING, 0);
    string(&mut e, CODEC_ID, codec);
    e
}

/// The Ogg Opus identification header (RFC 7845 §5.1), mapping family 0.
fn opus_head(channels: u8, sample_rate: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(19);
    h.extend_from_slice(b"OpusHead");
    h.push(1);
    h.push(channels);
    h.extend_from_slice(&OPUS_PRE_SKIP.to_le_bytes());
    h.extend_from_slice(&sample_rate.to_le_bytes());
    h.extend_from_slice(&0i16.to_le_bytes());
    h.push(0);
    h
}

// ---- EBML framing ----

fn write_id(out: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = (id.leading_zeros() / 8) as usize;
    out.extend_from_slice(&bytes[skip.min(3)..]);
}

/// Length of the shortest EBML variable-size integer holding `n` (the all-ones
/// value of each length is reserved).
fn vint_len(n: u64) -> usize {
    (1..8).find(|&len| n < (1u64 << (7 * len)) - 1).unwrap_or(8)
}

fn write_vint(out: &mut Vec<u8>, n: u64) {
    let len = vint_len(n);
    let marked = n | (1u64 << (7 * len));
    out.extend_from_slice(&marked.to_be_bytes()[8 - len..]);
}

fn write_size(out: &mut Vec<u8>, n: u64) {
    write_vint(out, n);
}

fn master(out: &mut Vec<u8>, id: u32, body: &[u8]) {
    bytes(out, id, body);
}

fn bytes(out: &mut Vec<u8>, id: u32, body: &[u8]) {
    write_id(out, id);
    write_size(out, body.len() as u64);
    out.extend_from_slice(body);
}

fn uint(out: &mut Vec<u8>, id: u32, v: u64) {
    let be = v.to_be_bytes();
    let skip = ((v.leading_zeros() / 8) as usize).min(7);
    bytes(out, id, &be[skip..]);
}

fn float(out: &mut Vec<u8>, id: u32, v: f64) {
    bytes(out, id, &v.to_be_bytes());
}

fn string(out: &mut Vec<u8>, id: u32, s: &str) {
    bytes(out, id, s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vints_are_shortest_and_avoid_the_reserved_value() {
        let enc = |n| {
            let mut v = Vec::new();
            write_vint(&mut v, n);
            v
        };
        assert_eq!(enc(0), vec![0x80]);
        assert_eq!(enc(1), vec![0x81]);
        assert_eq!(enc(126), vec![0xFE]);
        assert_eq!(enc(127), vec![0x40, 0x7F]); // 0xFF would mean "unknown"
        assert_eq!(enc(16_382), vec![0x7F, 0xFE]);
        assert_eq!(enc(16_383), vec![0x20, 0x3F, 0xFF]);
        assert_eq!(enc(1 << 40).len(), 6);
    }

    #[test]
    fn ids_and_uints_are_minimal() {
        let mut v = Vec::new();
        write_id(&mut v, TRACK_ENTRY);
        write_id(&mut v, CODEC_PRIVATE);
        write_id(&mut v, TIMECODE_SCALE);
        write_id(&mut v, SEGMENT);
        assert_eq!(v, vec![0xAE, 0x63, 0xA2, 0x2A, 0xD7, 0xB1, 0x18, 0x53, 0x80, 0x67]);
        let mut v = Vec::new();
        uint(&mut v, TIMECODE, 0);
        uint(&mut v, TIMECODE, 300);
        assert_eq!(v, vec![0xE7, 0x81, 0x00, 0xE7, 0x82, 0x01, 0x2C]);
    }

    #[test]
    fn opus_head_layout() {
        let h = opus_head(2, 48_000);
        assert_eq!(h.len(), 19);
        assert_eq!(&h[..8], b"OpusHead");
        assert_eq!(h[9], 2);
        assert_eq!(u16::from_le_bytes([h[10], h[11]]), 312);
        assert_eq!(u32::from_le_bytes([h[12], h[13], h[14], h[15]]), 48_000);
    }
}
