//! One WebRTC peer of the engine: its str0m `Rtc`, who opened it, and for a
//! viewer the outgoing tracks with their rewriters.

use std::net::SocketAddr;
use std::time::Instant;

use orgallery_media_gate::{Rewriter, TrackKind};
use str0m::format::Codec as StrCodec;
use str0m::media::{MediaKind, Mid};
use str0m::rtp::{RtpWrite, Ssrc};
use str0m::{Event, Input, Output, Rtc};

use super::{MediaCounters, PeerAuth, Side};

/// The codecs the engine forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Vp8,
    H264,
    Opus,
}

impl Codec {
    pub fn from_str0m(c: StrCodec) -> Option<Self> {
        match c {
            StrCodec::Vp8 => Some(Codec::Vp8),
            StrCodec::H264 => Some(Codec::H264),
            StrCodec::Opus => Some(Codec::Opus),
            _ => None,
        }
    }

    pub fn kind(self) -> TrackKind {
        match self {
            Codec::Opus => TrackKind::Audio,
            _ => TrackKind::Video,
        }
    }
}

/// A packet from the publisher, as it waits in the delay buffer.
#[derive(Debug, Clone)]
pub struct Pkt {
    pub codec: Codec,
    pub seq: u64,
    pub ts: u32,
    pub marker: bool,
    pub payload: std::sync::Arc<[u8]>,
    /// Which publisher sent it (a new publisher is a new stream).
    pub generation: u32,
}

/// An outgoing track of a viewer.
pub struct OutTrack {
    pub mid: Mid,
    pub ssrc: Option<Ssrc>,
    /// (codec, the viewer's payload type for it).
    pub pts: Vec<(Codec, str0m::media::Pt)>,
    pub rewriter: Rewriter,
}

impl OutTrack {
    pub fn pt_for(&self, c: Codec) -> Option<str0m::media::Pt> {
        self.pts.iter().find(|(k, _)| *k == c).map(|(_, pt)| *pt)
    }
}

pub struct Peer {
    pub id: u64,
    pub resource: String,
    pub session: String,
    pub side: Side,
    pub rtc: Rtc,
    pub auth: PeerAuth,
    pub etag: String,
    pub created: Instant,
    pub timeout: Instant,
    pub remote: Option<SocketAddr>,
    pub connected: bool,
    /// Publisher: the video section, for keyframe requests.
    pub video_mid: Option<Mid>,
    pub video: Option<OutTrack>,
    pub audio: Option<OutTrack>,
    /// Output is pending (something was written or input arrived).
    pub dirty: bool,
    /// Set once the peer must go (DELETE, revoked, failed).
    pub closing: bool,
    /// A WHEP viewer's place in its address's count (given back on drop).
    pub _place: Option<crate::api::edge::AddrGuard>,
}

impl Peer {
    /// The negotiated payload types of a section, by codec.
    pub fn pts_of(&self, mid: Mid) -> Vec<(Codec, str0m::media::Pt)> {
        let Some(media) = self.rtc.media(mid) else { return Vec::new() };
        let remote = media.remote_pts().to_vec();
        let mut out = Vec::new();
        for p in self.rtc.codec_config().params() {
            if let Some(c) = Codec::from_str0m(p.spec().codec) {
                if (remote.is_empty() || remote.contains(&p.pt())) && !out.iter().any(|(k, _)| *k == c) {
                    out.push((c, p.pt()));
                }
            }
        }
        out
    }

    /// Codec of an incoming payload type.
    pub fn codec_of(&self, pt: str0m::media::Pt) -> Option<Codec> {
        self.rtc.codec_config().params().iter().find(|p| p.pt() == pt).and_then(|p| Codec::from_str0m(p.spec().codec))
    }

    /// A section was negotiated: remember what a viewer sends on it.
    pub fn media_added(&mut self, mid: Mid, kind: MediaKind, first_seq: u64, first_ts: u32) {
        match (self.side, kind) {
            (Side::Publisher, MediaKind::Video) => self.video_mid = Some(mid),
            (Side::Publisher, MediaKind::Audio) => {}
            (Side::Viewer, kind) => {
                let pts = self.pts_of(mid);
                let ssrc = self.rtc.direct_api().stream_tx_by_mid(mid, None).map(|s| s.ssrc());
                let (tk, rate) = match kind {
                    MediaKind::Video => (TrackKind::Video, 90_000),
                    MediaKind::Audio => (TrackKind::Audio, 48_000),
                };
                let t = OutTrack { mid, ssrc, pts, rewriter: Rewriter::new(tk, rate, first_seq, first_ts) };
                match kind {
                    MediaKind::Video => self.video = Some(t),
                    MediaKind::Audio => self.audio = Some(t),
                }
            }
        }
    }

    /// Poll until the peer has nothing more to say: send its datagrams,
    /// hand its events to `on_event`, remember its next timeout.
    pub fn drain(
        &mut self,
        now: Instant,
        socket: &std::net::UdpSocket,
        counters: &MediaCounters,
        mut on_event: impl FnMut(Event),
    ) {
        if now >= self.timeout && self.rtc.handle_input(Input::Timeout(now)).is_err() {
            self.closing = true;
        }
        // Its datagrams (a keyframe's burst, mostly) leave in as few sends as GSO allows.
        let errors = super::udp::with_batch(|batch| {
            let mut errors = 0;
            loop {
                if !self.rtc.is_alive() {
                    self.closing = true;
                    break;
                }
                match self.rtc.poll_output() {
                    Ok(Output::Transmit(t)) => errors += batch.push(socket, &t.contents, t.destination),
                    Ok(Output::Timeout(t)) => {
                        self.timeout = t;
                        break;
                    }
                    Ok(Output::Event(e)) => on_event(e),
                    Err(_) => {
                        self.closing = true;
                        break;
                    }
                }
            }
            errors + batch.flush(socket)
        });
        if errors > 0 {
            counters.send_errors.fetch_add(errors, std::sync::atomic::Ordering::Relaxed);
        }
        self.dirty = false;
    }

    /// Write one released packet to this viewer. Returns whether it was sent.
    pub fn forward(&mut self, now: Instant, epoch: u32, pkt: &Pkt, keyframe: bool) -> bool {
        if !self.connected || self.closing {
            return false;
        }
        let track = match pkt.codec.kind() {
            TrackKind::Video => self.video.as_mut(),
            TrackKind::Audio => self.audio.as_mut(),
        };
        let Some(track) = track else { return false };
        let Some(pt) = track.pt_for(pkt.codec) else { return false };
        let Some((seq, ts)) = track.rewriter.rewrite(now, epoch, pkt.seq, pkt.ts, keyframe) else { return false };
        if track.ssrc.is_none() {
            track.ssrc = self.rtc.direct_api().stream_tx_by_mid(track.mid, None).map(|s| s.ssrc());
        }
        let Some(ssrc) = track.ssrc else { return false };
        let nackable = pkt.codec.kind() == TrackKind::Video;
        let mut api = self.rtc.direct_api();
        let Some(stream) = api.stream_tx(&ssrc) else { return false };
        stream.write_rtp(
            RtpWrite::new(pt, seq.into(), ts, now, pkt.payload.clone()).marker(pkt.marker).nackable(nackable),
        );
        self.dirty = true;
        true
    }
}
