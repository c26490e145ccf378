//! The recording of what was released: a WebM file (VP8 + Opus) per
//! publisher, written as the session runs on its own thread so the engine
//! never waits on the disk. Clusters are written whole and flushed, so a
//! file cut off by a crash plays up to its last cluster. Only packets that
//! left the delay buffer reach it: nothing held, dumped or behind the
//! curtain is ever on disk.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Instant;

use orgallery_media_gate::depack::{Frame, Vp8Depacketizer};
use orgallery_media_gate::h264::{avc_decoder_config, sps_frame_size};
use orgallery_media_gate::keyframe::vp8_frame_size;
use orgallery_media_gate::timeline::TrackTimeline;
use orgallery_media_gate::webm::{AudioTrack, VideoTrack, WebmWriter};
use orgallery_media_gate::H264Depacketizer;

use super::peer::{Codec, Pkt};

enum Msg {
    Packet(Pkt, Instant),
    Finish,
}

/// A handle to a recording thread.
pub struct Recorder {
    tx: mpsc::Sender<Msg>,
    thread: std::thread::JoinHandle<()>,
}

impl Recorder {
    /// Start recording into `dir/recording-{generation}.webm`.
    pub fn start(dir: PathBuf, generation: u32, video: bool, audio: bool) -> Option<Recorder> {
        let (tx, rx) = mpsc::channel();
        let spawned = std::thread::Builder::new().name("orgallery-recorder".into()).spawn(move || {
            let mut w = Writer { dir, generation, expect_video: video, expect_audio: audio, ..Default::default() };
            while let Ok(msg) = rx.recv() {
                match msg {
                    Msg::Packet(p, at) => {
                        if let Err(e) = w.packet(&p, at) {
                            tracing::error!(error = %e, "recording stopped: cannot write");
                            return;
                        }
                    }
                    Msg::Finish => break,
                }
            }
            w.finish();
        });
        match spawned {
            Ok(thread) => Some(Recorder { tx, thread }),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the recorder");
                None
            }
        }
    }

    pub fn write(&self, p: &Pkt, captured: Instant) {
        let _ = self.tx.send(Msg::Packet(p.clone(), captured));
    }

    /// Close the file (its last cluster written) in the background.
    pub fn finish(self) {
        let _ = self.tx.send(Msg::Finish);
    }

    /// Close the file and wait until it is on disk (server shutdown).
    pub fn finish_and_wait(self) {
        let _ = self.tx.send(Msg::Finish);
        let _ = self.thread.join();
    }
}

#[derive(Default)]
struct Writer {
    dir: PathBuf,
    generation: u32,
    expect_video: bool,
    expect_audio: bool,
    out: Option<WebmWriter<BufWriter<File>>>,
    depack: Vp8Depacketizer,
    depack_h264: H264Depacketizer,
    /// Capture time of the first packet written: time zero of the file.
    origin: Option<Instant>,
    video_clock: Option<TrackTimeline>,
    audio_clock: Option<TrackTimeline>,
    last_video_ms: u64,
}

impl Writer {
    fn packet(&mut self, p: &Pkt, captured: Instant) -> std::io::Result<()> {
        match p.codec {
            Codec::Vp8 => {
                let Some(frame) = self.depack.push(p.seq, p.ts, p.marker, &p.payload) else { return Ok(()) };
                if self.out.is_none() {
                    if !frame.keyframe {
                        return Ok(());
                    }
                    let (w, h) = vp8_frame_size(&frame.data).unwrap_or((640, 480));
                    let track = VideoTrack { codec: "V_VP8", width: w, height: h };
                    self.open(Some(track), None, "webm", captured)?;
                }
                self.video(frame, captured)?;
            }
            Codec::H264 => {
                let Some(frame) = self.depack_h264.push(p.seq, p.ts, p.marker, &p.payload) else { return Ok(()) };
                if self.out.is_none() {
                    // Matroska with the avcC record from the stream's SPS/PPS.
                    let Some((sps, pps)) = self.depack_h264.parameter_sets() else { return Ok(()) };
                    let (Some(avcc), true) = (avc_decoder_config(sps, pps), frame.keyframe) else { return Ok(()) };
                    let (w, h) = sps_frame_size(sps).unwrap_or((640, 480));
                    let track = VideoTrack { codec: "V_MPEG4/ISO/AVC", width: w, height: h };
                    self.open(Some(track), Some(&avcc), "mkv", captured)?;
                }
                self.video(frame, captured)?;
            }
            Codec::Opus => {
                if self.out.is_none() {
                    if self.expect_video {
                        // The file starts at the first video keyframe.
                        return Ok(());
                    }
                    self.open(None, None, "webm", captured)?;
                }
                let origin = self.origin.unwrap_or(captured);
                let clock = self.audio_clock.get_or_insert_with(|| TrackTimeline::new(48_000));
                let ms = clock.ms(origin, captured, p.ts);
                if let Some(out) = self.out.as_mut() {
                    out.write_audio(ms, &p.payload)?;
                }
            }
        }
        Ok(())
    }

    fn video(&mut self, frame: Frame, captured: Instant) -> std::io::Result<()> {
        let origin = self.origin.unwrap_or(captured);
        let clock = self.video_clock.get_or_insert_with(|| TrackTimeline::new(90_000));
        let ms = clock.ms(origin, captured, frame.rtp_ts).max(self.last_video_ms);
        self.last_video_ms = ms;
        match self.out.as_mut() {
            Some(out) => out.write_video(ms, frame.keyframe, &frame.data),
            None => Ok(()),
        }
    }

    fn open(
        &mut self,
        video: Option<VideoTrack>,
        codec_private: Option<&[u8]>,
        ext: &str,
        captured: Instant,
    ) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.dir.join(format!("recording-{}.{ext}", self.generation));
        let file = BufWriter::new(File::create(&path)?);
        let audio = self.expect_audio.then_some(AudioTrack { codec: "A_OPUS", sample_rate: 48_000, channels: 2 });
        self.out = Some(WebmWriter::with_codec_private(file, video, codec_private, audio)?);
        self.origin = Some(captured);
        tracing::info!(file = %path.display(), "recording started");
        Ok(())
    }

    fn finish(&mut self) {
        if let Some(out) = self.out.take() {
            if let Err(e) = out.finish() {
                tracing::error!(error = %e, "cannot finish the recording");
            }
        }
    }
}
