//! WebRTC peers for the media tests, built on webrtc-rs (an implementation
//! independent of the server's str0m): a WHIP publisher that sends a real
//! VP8 stream (frames from a fixture, each carrying its index in the VP8
//! PictureID) with Opus audio, and WHEP viewers that record what arrives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use tokio::sync::Notify;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::media_stream::Track;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceGatheringState, RTCPeerConnectionState, RTCSessionDescription, Registry,
};

use super::support::{fixture, TestServer};

pub const VP8_PT: u8 = 96;
pub const OPUS_PT: u8 = 111;
/// A 20 ms Opus frame of silence (CELT, TOC 0xF8).
pub const OPUS_SILENCE: [u8; 3] = [0xF8, 0xFF, 0xFE];

/// The fixture's frames: (keyframe, data). 96×64 VP8 at 30 fps, a keyframe every 10 frames.
pub fn vp8_frames() -> Vec<(bool, Vec<u8>)> {
    let raw = std::fs::read(fixture("vp8-96x64-30fps.ivf")).expect("fixture");
    let mut out = Vec::new();
    let mut at = 32;
    while at + 12 <= raw.len() {
        let len = u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]) as usize;
        at += 12;
        let frame = raw[at..at + len].to_vec();
        at += len;
        out.push((frame[0] & 1 == 0, frame));
    }
    out
}

/// The H.264 fixture's access units (Annex B, an AUD before each): the
/// NAL units of each frame, AUDs left out. Baseline, a keyframe every 10.
pub fn h264_frames() -> Vec<Vec<Vec<u8>>> {
    let raw = std::fs::read(fixture("h264-96x64-30fps.h264")).expect("fixture");
    let mut nals: Vec<&[u8]> = Vec::new();
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= raw.len() {
        if raw[i] == 0 && raw[i + 1] == 0 && raw[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    for (k, &st) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map(|n| n - 3).unwrap_or(raw.len());
        while end > st && raw[end - 1] == 0 {
            end -= 1;
        }
        nals.push(&raw[st..end]);
    }
    let mut frames: Vec<Vec<Vec<u8>>> = Vec::new();
    for nal in nals {
        if nal.first().map(|b| b & 0x1f) == Some(9) {
            frames.push(Vec::new());
        } else if let Some(f) = frames.last_mut() {
            f.push(nal.to_vec());
        }
    }
    frames.retain(|f| !f.is_empty());
    frames
}

/// RTP payloads of one H.264 frame (RFC 6184: single NAL units, FU-A above 1000 bytes).
pub fn h264_packetize(frame: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for nal in frame {
        if nal.len() <= 1000 {
            out.push(nal.clone());
            continue;
        }
        let (head, body) = (nal[0], &nal[1..]);
        let chunks: Vec<&[u8]> = body.chunks(1000).collect();
        for (i, c) in chunks.iter().enumerate() {
            let mut p = vec![(head & 0xe0) | 28, head & 0x1f];
            if i == 0 {
                p[1] |= 0x80;
            }
            if i + 1 == chunks.len() {
                p[1] |= 0x40;
            }
            p.extend_from_slice(c);
            out.push(p);
        }
    }
    out
}

pub const H264_PT: u8 = 102;

fn h264_codec(pt: u8) -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: "video/H264".into(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".into(),
            rtcp_feedback: vec![],
        },
        payload_type: pt,
    }
}

fn codecs() -> (RTCRtpCodecParameters, RTCRtpCodecParameters) {
    let video = RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: "video/VP8".into(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
        payload_type: VP8_PT,
    };
    let audio = RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: "audio/opus".into(),
            clock_rate: 48_000,
            channels: 2,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
        payload_type: OPUS_PT,
    };
    (video, audio)
}

type OnTrack = Arc<dyn Fn(Arc<dyn TrackRemote>) + Send + Sync>;

#[derive(Clone, Default)]
struct Handler {
    gathered: Arc<Notify>,
    connected: Arc<Notify>,
    is_connected: Arc<std::sync::atomic::AtomicBool>,
    on_track: Option<OnTrack>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.notify_one();
        }
    }
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if state == RTCPeerConnectionState::Connected {
            self.is_connected.store(true, std::sync::atomic::Ordering::SeqCst);
            self.connected.notify_one();
        }
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        if let Some(f) = &self.on_track {
            f(track);
        }
    }
}

async fn build(handler: Handler) -> Arc<dyn PeerConnection> {
    let (video, _) = codecs();
    build_with(handler, vec![video]).await
}

async fn build_with(handler: Handler, videos: Vec<RTCRtpCodecParameters>) -> Arc<dyn PeerConnection> {
    let (_, audio) = codecs();
    let mut me = MediaEngine::default();
    for video in videos {
        me.register_codec(video, RtpCodecKind::Video).expect("video codec");
    }
    me.register_codec(audio, RtpCodecKind::Audio).expect("opus");
    let registry = register_default_interceptors(Registry::new(), &mut me).expect("interceptors");
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(me)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(handler))
        .with_udp_addrs(vec!["127.0.0.1:0"])
        .build()
        .await
        .expect("peer connection");
    Arc::new(pc)
}

/// A complete offer (ICE gathered), as a WHIP/WHEP client sends it.
async fn offer(pc: &Arc<dyn PeerConnection>, handler: &Handler) -> String {
    let offer = pc.create_offer(None).await.expect("offer");
    pc.set_local_description(offer).await.expect("local description");
    let _ = tokio::time::timeout(Duration::from_secs(5), handler.gathered.notified()).await;
    pc.local_description().await.expect("local description").sdp
}

/// POST an offer; (status, headers, body).
pub async fn post_offer(
    ts: &TestServer,
    path: &str,
    token: &str,
    content_type: &str,
    sdp: &str,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, String) {
    let resp = ts
        .http
        .post(ts.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(sdp.to_string())
        .send()
        .await
        .expect("request");
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.text().await.unwrap_or_default())
}

/// Offers made by real peers, for tests that only need the SDP.
pub async fn publisher_offer() -> (Arc<dyn PeerConnection>, String) {
    let handler = Handler::default();
    let pc = build(handler.clone()).await;
    let (video, audio) = tracks();
    pc.add_track(video as Arc<dyn TrackLocal>).await.expect("video track");
    pc.add_track(audio as Arc<dyn TrackLocal>).await.expect("audio track");
    let sdp = offer(&pc, &handler).await;
    (pc, sdp)
}

pub async fn viewer_offer() -> (Arc<dyn PeerConnection>, String) {
    let handler = Handler::default();
    let pc = build(handler.clone()).await;
    recvonly(&pc).await;
    let sdp = offer(&pc, &handler).await;
    (pc, sdp)
}

fn tracks() -> (Arc<TrackLocalStaticRTP>, Arc<TrackLocalStaticRTP>) {
    let (video, audio) = codecs();
    let make = |kind: RtpCodecKind, codec: RTCRtpCodec, ssrc: u32| {
        Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            "or-camera".to_string(),
            format!("or-{kind}"),
            format!("or-{kind}"),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
                codec,
                ..Default::default()
            }],
        )))
    };
    (
        make(RtpCodecKind::Video, video.rtp_codec, rand::random()),
        make(RtpCodecKind::Audio, audio.rtp_codec, rand::random()),
    )
}

async fn recvonly(pc: &Arc<dyn PeerConnection>) {
    for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
        pc.add_transceiver_from_kind(
            kind,
            Some(RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Recvonly, ..Default::default() }),
        )
        .await
        .expect("transceiver");
    }
}

/// A resource the server created.
pub struct Resource {
    pub location: String,
}

/// The OR camera: a WHIP publisher.
pub struct Publisher {
    pub pc: Arc<dyn PeerConnection>,
    pub resource: Resource,
    video: Arc<TrackLocalStaticRTP>,
    audio: Arc<TrackLocalStaticRTP>,
    frames: Vec<(bool, Vec<u8>)>,
    /// Frame index → when it was handed to the network.
    pub sent: HashMap<u32, Instant>,
    next: u32,
    seq_v: u16,
    seq_a: u16,
    audio_ts: u32,
    ssrc_v: u32,
    ssrc_a: u32,
}

/// Offer (ICE gathered), POST it to `/api/sessions/{session}/{side}`, apply the answer, wait until connected.
async fn negotiate(
    ts: &TestServer,
    pc: &Arc<dyn PeerConnection>,
    handler: &Handler,
    session: &str,
    side: &str,
    token: &str,
) -> Resource {
    let sdp = offer(pc, handler).await;
    let (status, headers, body) =
        post_offer(ts, &format!("/api/sessions/{session}/{side}"), token, "application/sdp", &sdp).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{side}: {body}");
    let resource = resource(&headers);
    connect(pc, handler, body).await;
    resource
}

async fn connect(pc: &Arc<dyn PeerConnection>, handler: &Handler, answer: String) {
    pc.set_remote_description(RTCSessionDescription::answer(answer).expect("answer"))
        .await
        .expect("remote description");
    if !handler.is_connected.load(std::sync::atomic::Ordering::SeqCst) {
        tokio::time::timeout(Duration::from_secs(10), handler.connected.notified())
            .await
            .expect("the peer connects to the server");
    }
}

impl Publisher {
    pub async fn connect(ts: &TestServer, session: &str, token: &str) -> Publisher {
        let handler = Handler::default();
        let pc = build(handler.clone()).await;
        let (video, audio) = tracks();
        pc.add_track(video.clone() as Arc<dyn TrackLocal>).await.expect("video track");
        pc.add_track(audio.clone() as Arc<dyn TrackLocal>).await.expect("audio track");
        let resource = negotiate(ts, &pc, &handler, session, "whip", token).await;
        let ssrc_v = video.codings().await.first().and_then(|c| c.rtp_coding_parameters.ssrc).unwrap_or(1);
        let ssrc_a = audio.codings().await.first().and_then(|c| c.rtp_coding_parameters.ssrc).unwrap_or(2);
        Publisher {
            pc,
            resource,
            video,
            audio,
            frames: vp8_frames(),
            sent: HashMap::new(),
            next: 0,
            seq_v: rand::random(),
            seq_a: rand::random(),
            audio_ts: rand::random(),
            ssrc_v,
            ssrc_a,
        }
    }

    /// Send the next frame (and 33 ms of audio in two Opus packets).
    pub async fn send_frame(&mut self) -> u32 {
        let index = self.next;
        self.next += 1;
        let (_, data) = &self.frames[index as usize % self.frames.len()];
        let ts = index.wrapping_mul(3000);
        let chunks: Vec<&[u8]> = data.chunks(1000).collect();
        self.sent.insert(index, Instant::now());
        for (i, chunk) in chunks.iter().enumerate() {
            // VP8 payload descriptor: X=1, S on the first packet, PID 0; I=1; M=1, 15-bit PictureID.
            let pid = (index & 0x7fff) as u16;
            let mut payload = vec![0x80 | if i == 0 { 0x10 } else { 0 }, 0x80, 0x80 | (pid >> 8) as u8, pid as u8];
            payload.extend_from_slice(chunk);
            self.seq_v = self.seq_v.wrapping_add(1);
            let packet = rtp::Packet {
                header: rtp::Header {
                    version: 2,
                    marker: i + 1 == chunks.len(),
                    payload_type: VP8_PT,
                    sequence_number: self.seq_v,
                    timestamp: ts,
                    ssrc: self.ssrc_v,
                    ..Default::default()
                },
                payload: Bytes::from(payload),
            };
            let _ = self.video.write_rtp(packet).await;
        }
        for _ in 0..2 {
            self.seq_a = self.seq_a.wrapping_add(1);
            self.audio_ts = self.audio_ts.wrapping_add(960);
            let packet = rtp::Packet {
                header: rtp::Header {
                    version: 2,
                    payload_type: OPUS_PT,
                    sequence_number: self.seq_a,
                    timestamp: self.audio_ts,
                    ssrc: self.ssrc_a,
                    ..Default::default()
                },
                payload: Bytes::from_static(&OPUS_SILENCE),
            };
            let _ = self.audio.write_rtp(packet).await;
        }
        index
    }

    /// Send frames at 30 fps for `d`.
    pub async fn run_for(&mut self, d: Duration) {
        let end = Instant::now() + d;
        let mut tick = tokio::time::interval(Duration::from_micros(33_333));
        while Instant::now() < end {
            tick.tick().await;
            self.send_frame().await;
        }
    }

    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }

    /// The fixture frame of an index.
    pub fn frame(&self, index: u32) -> &[u8] {
        &self.frames[index as usize % self.frames.len()].1
    }
}

fn resource(headers: &reqwest::header::HeaderMap) -> Resource {
    let location = headers.get("location").and_then(|v| v.to_str().ok()).expect("Location").to_string();
    assert!(headers.get("etag").is_some(), "an ETag");
    Resource { location }
}

/// What one viewer received.
#[derive(Default)]
pub struct Received {
    /// (frame index from the PictureID, arrival, starts a keyframe) per first packet of a frame.
    pub frames: Vec<(u32, Instant, bool)>,
    pub audio: Vec<Instant>,
    pub video_packets: usize,
    /// The payload of the first video packet (where the picture starts).
    pub first_video: Option<Vec<u8>>,
    /// Last video packet arrival.
    pub last: Option<Instant>,
}

/// A student's browser: a WHEP viewer.
pub struct Viewer {
    pub pc: Arc<dyn PeerConnection>,
    pub resource: Resource,
    pub got: Arc<Mutex<Received>>,
}

impl Viewer {
    pub async fn connect(ts: &TestServer, session: &str, token: &str) -> Viewer {
        let (video, _) = codecs();
        Self::connect_with(ts, session, token, vec![video]).await
    }

    /// A viewer that can decode H.264 (at payload type 106, unlike the
    /// publisher's 102) as well as VP8.
    pub async fn connect_h264(ts: &TestServer, session: &str, token: &str) -> Viewer {
        let (video, _) = codecs();
        Self::connect_with(ts, session, token, vec![h264_codec(106), video]).await
    }

    async fn connect_with(ts: &TestServer, session: &str, token: &str, videos: Vec<RTCRtpCodecParameters>) -> Viewer {
        let got = Arc::new(Mutex::new(Received::default()));
        let sink = got.clone();
        let on_track: OnTrack = Arc::new(move |track| {
            let sink = sink.clone();
            tokio::spawn(async move {
                let kind = track.kind().await;
                while let Some(ev) = track.poll().await {
                    let TrackRemoteEvent::OnRtpPacket(p) = ev else { continue };
                    let now = Instant::now();
                    let Ok(mut g) = sink.lock() else { return };
                    if kind == RtpCodecKind::Audio {
                        g.audio.push(now);
                        continue;
                    }
                    g.video_packets += 1;
                    g.last = Some(now);
                    if g.first_video.is_none() {
                        g.first_video = Some(p.payload.to_vec());
                    }
                    let b = &p.payload;
                    if b.len() >= 5 && b[0] & 0x10 != 0 && b[0] & 0x80 != 0 && b[1] & 0x80 != 0 && b[2] & 0x80 != 0 {
                        let index = (u32::from(b[2] & 0x7f) << 8) | u32::from(b[3]);
                        let keyframe = b[4] & 1 == 0;
                        g.frames.push((index, now, keyframe));
                    }
                }
            });
        });
        let handler = Handler { on_track: Some(on_track), ..Default::default() };
        let pc = build_with(handler.clone(), videos).await;
        recvonly(&pc).await;
        let resource = negotiate(ts, &pc, &handler, session, "whep", token).await;
        Viewer { pc, resource, got }
    }

    /// Leave as a browser does: DELETE the resource, close the connection.
    pub async fn leave(self, ts: &TestServer, token: &str) -> reqwest::StatusCode {
        let r = ts.http.delete(ts.url(&self.resource.location)).bearer_auth(token).send().await.expect("delete");
        let _ = self.pc.close().await;
        r.status()
    }

    pub fn first_video(&self) -> Option<Vec<u8>> {
        self.got.lock().ok().and_then(|g| g.first_video.clone())
    }

    pub fn video_packets(&self) -> usize {
        self.got.lock().map(|g| g.video_packets).unwrap_or(0)
    }

    pub fn frames(&self) -> Vec<(u32, Instant, bool)> {
        self.got.lock().map(|g| g.frames.clone()).unwrap_or_default()
    }

    pub fn last_packet(&self) -> Option<Instant> {
        self.got.lock().ok().and_then(|g| g.last)
    }
}

/// An encoder that speaks H.264 (constrained baseline, packetization-mode 1), video only.
pub struct H264Publisher {
    pub pc: Arc<dyn PeerConnection>,
    video: Arc<TrackLocalStaticRTP>,
    frames: Vec<Vec<Vec<u8>>>,
    next: u32,
    seq: u16,
    ssrc: u32,
}

impl H264Publisher {
    pub async fn connect(ts: &TestServer, session: &str, token: &str) -> H264Publisher {
        let handler = Handler::default();
        let pc = build_with(handler.clone(), vec![h264_codec(H264_PT)]).await;
        let ssrc: u32 = rand::random();
        let video = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            "or-camera".to_string(),
            "or-h264".to_string(),
            "or-h264".to_string(),
            RtpCodecKind::Video,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
                codec: h264_codec(H264_PT).rtp_codec,
                ..Default::default()
            }],
        )));
        pc.add_track(video.clone() as Arc<dyn TrackLocal>).await.expect("video track");
        negotiate(ts, &pc, &handler, session, "whip", token).await;
        H264Publisher { pc, video, frames: h264_frames(), next: 0, seq: rand::random(), ssrc }
    }

    pub async fn run_for(&mut self, d: Duration) {
        let end = Instant::now() + d;
        let mut tick = tokio::time::interval(Duration::from_micros(33_333));
        while Instant::now() < end {
            tick.tick().await;
            let index = self.next;
            self.next += 1;
            let payloads = h264_packetize(&self.frames[index as usize % self.frames.len()]);
            let n = payloads.len();
            for (i, payload) in payloads.into_iter().enumerate() {
                self.seq = self.seq.wrapping_add(1);
                let packet = rtp::Packet {
                    header: rtp::Header {
                        version: 2,
                        marker: i + 1 == n,
                        payload_type: H264_PT,
                        sequence_number: self.seq,
                        timestamp: index.wrapping_mul(3000),
                        ssrc: self.ssrc,
                        ..Default::default()
                    },
                    payload: Bytes::from(payload),
                };
                let _ = self.video.write_rtp(packet).await;
            }
        }
    }
}
