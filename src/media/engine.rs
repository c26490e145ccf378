//! The media engine: one task owning the node's UDP socket and every peer.
//!
//! The loop reads datagrams (routed to a peer by its remote address, or by
//! `Rtc::accepts` for the first STUN request), commands from handlers and
//! writers, and timers; it feeds the publishers' RTP into each session's
//! [`DelayBuffer`], releases what is due to every viewer through its
//! rewriter, and drains every peer's output to the socket.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use orgallery_media_gate::{keyframe, DelayBuffer, Packet, Pushed, TrackKind};
use rand::Rng;
use str0m::change::SdpOffer;
use str0m::media::{KeyframeRequestKind, MediaKind};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, IceCreds, Input, Output, Rtc};

use super::fanout::{self, Batch, Pool, Release};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::peer::{Codec, Peer, Pkt};
use super::recorder::Recorder;
use super::sdp::{self, SdpError};
use super::{Command, Control, Created, MediaCounters, MediaHandle, Patched, PeerAuth, SessionMeta, Side, VideoStatus};
use crate::error::ApiError;
use crate::state::AppState;

/// Most bytes of media one session may buffer (600 s at 3 Mbit/s).
const MAX_BUFFER_BYTES: usize = 256 * 1024 * 1024;
/// A peer that has not connected by then is dropped.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How often tokens and connection health are checked.
const CHECK_EVERY: Duration = Duration::from_millis(200);
/// Keyframe requests to the publisher are repeated this often until one comes.
const KEYFRAME_RETRY: Duration = Duration::from_millis(400);

/// Bind the socket, start the engine on its own thread, return the handle.
pub fn spawn(config: &crate::config::Config) -> std::io::Result<(MediaHandle, Starter)> {
    let bind_ip = config.listen.ip();
    let std_socket = bind_udp(SocketAddr::new(bind_ip, config.rtc.port))?;
    let local_addr = std_socket.local_addr()?;
    let candidate_addr = SocketAddr::new(config.rtc.candidate_ip(bind_ip), local_addr.port());
    let (tx, rx) = mpsc::unbounded_channel();
    let counters = Arc::new(MediaCounters::default());
    let handle = MediaHandle { tx, local_addr, candidate_addr, counters: counters.clone() };
    Ok((handle, Starter { socket: std_socket, rx, candidate_addr, counters }))
}

/// What the engine needs once the state exists.
pub struct Starter {
    socket: std::net::UdpSocket,
    rx: mpsc::UnboundedReceiver<Command>,
    candidate_addr: SocketAddr,
    counters: Arc<MediaCounters>,
}

impl Starter {
    /// Run the engine on its own OS thread (a current-thread runtime): media
    /// deadlines never queue behind HTTP or WebSocket work.
    pub fn start(self, state: AppState) -> std::io::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new().name("orgallery-media".into()).spawn(move || {
            rt.block_on(async move {
                let sender = match self.socket.try_clone() {
                    Ok(s) => Arc::new(s),
                    Err(e) => {
                        tracing::error!(error = %e, "media socket unusable; WebRTC is off");
                        self.counters.stopped.store(true, Relaxed);
                        return;
                    }
                };
                let socket = match UdpSocket::from_std(self.socket) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(error = %e, "media socket unusable; WebRTC is off");
                        self.counters.stopped.store(true, Relaxed);
                        return;
                    }
                };
                let threads = match state.config.rtc.threads {
                    0 => fanout::default_threads(),
                    n => n,
                };
                let pool = Pool::new(threads, state.config.rtc.spread_from, sender, self.counters.clone());
                let engine = Engine {
                    state,
                    socket,
                    pool,
                    local: self.candidate_addr,
                    peers: HashMap::new(),
                    by_addr: HashMap::new(),
                    by_resource: HashMap::new(),
                    sessions: HashMap::new(),
                    next_id: 1,
                    counters: self.counters,
                };
                engine.run(self.rx).instrument(tracing::info_span!("media")).await;
            })
        })?;
        Ok(())
    }
}

fn bind_udp(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, None)?;
    // Room for bursts: a keyframe fanned out to hundreds of viewers.
    let _ = s.set_send_buffer_size(8 * 1024 * 1024);
    let _ = s.set_recv_buffer_size(4 * 1024 * 1024);
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    Ok(s.into())
}

/// A session as the engine sees it.
struct SessionMedia {
    meta: SessionMeta,
    buffer: DelayBuffer<Pkt>,
    publisher: Option<u64>,
    viewers: Vec<u64>,
    generation: u32,
    /// A keyframe is wanted from the publisher (a viewer joined or asked):
    /// set until one is pushed into the buffer after this instant.
    keyframe_wanted: Option<Instant>,
    last_keyframe_request: Option<Instant>,
    keyframe_requests: u32,
    recorder: Option<Recorder>,
    status: VideoStatus,
    /// Connected WHEP viewers, as last announced.
    watching: usize,
}

impl SessionMedia {
    fn new(meta: SessionMeta) -> Self {
        let mut buffer = DelayBuffer::new(Duration::from_secs(u64::from(meta.delay_seconds)), MAX_BUFFER_BYTES);
        if meta.curtain {
            buffer.set_curtain(Instant::now(), true);
        }
        Self {
            meta,
            buffer,
            publisher: None,
            viewers: Vec::new(),
            generation: 0,
            keyframe_wanted: None,
            last_keyframe_request: None,
            keyframe_requests: 0,
            recorder: None,
            status: VideoStatus::None,
            watching: 0,
        }
    }
}

impl SessionMedia {
    /// A new delay: at once while nothing is buffered or published (no
    /// packet could leave under the old one), else from the next keyframe.
    fn set_delay(&mut self, seconds: u32) {
        self.meta.delay_seconds = seconds;
        let d = Duration::from_secs(u64::from(seconds));
        if self.publisher.is_none() && self.buffer.is_empty() {
            let mut b = DelayBuffer::new(d, MAX_BUFFER_BYTES);
            if self.buffer.is_curtain_down() {
                b.set_curtain(Instant::now(), true);
            }
            self.buffer = b;
        } else {
            self.buffer.set_delay(d);
        }
    }
}

struct Engine {
    state: AppState,
    /// Receives; sending goes through the pool's clone of it.
    socket: UdpSocket,
    pool: Pool,
    local: SocketAddr,
    peers: HashMap<u64, Box<Peer>>,
    by_addr: HashMap<SocketAddr, u64>,
    by_resource: HashMap<String, u64>,
    sessions: HashMap<String, SessionMedia>,
    next_id: u64,
    counters: Arc<MediaCounters>,
}

/// Mix the buffer's epoch with the publisher's generation: a rewriter sees
/// a new epoch whenever either changes.
fn epoch_of(buffer_epoch: u32, generation: u32) -> u32 {
    buffer_epoch ^ generation.wrapping_mul(0x9E37_79B9)
}

impl Engine {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        let mut buf = vec![0u8; 2048];
        let mut next_check = Instant::now() + CHECK_EVERY;
        let shutdown = self.state.shutdown.clone();
        let stop = shutdown.wait();
        tokio::pin!(stop);
        loop {
            let now = Instant::now();
            self.release_due(now);
            self.request_keyframes(now);
            self.drain_all(now);
            if now >= next_check {
                self.check_peers(now);
                next_check = now + CHECK_EVERY;
            }
            let wake = self.next_wake(now).min(next_check);
            let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(wake));
            tokio::select! {
                biased;
                _ = &mut stop => break,
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.command(cmd),
                    None => break,
                },
                r = self.socket.recv_from(&mut buf) => {
                    if let Ok((n, source)) = r {
                        self.datagram(&buf[..n], source);
                        // Drain what else is queued before polling everyone.
                        for _ in 0..64 {
                            match self.socket.try_recv_from(&mut buf) {
                                Ok((n, source)) => self.datagram(&buf[..n], source),
                                Err(_) => break,
                            }
                        }
                    }
                }
                _ = sleep => {}
            }
        }
        let ids: Vec<u64> = self.peers.keys().copied().collect();
        for id in ids {
            self.remove_peer(id, "shutdown");
        }
        for (_, s) in self.sessions.drain() {
            if let Some(r) = s.recorder {
                r.finish_and_wait();
            }
        }
        self.counters.stopped.store(true, Relaxed);
    }

    fn next_wake(&self, now: Instant) -> Instant {
        let mut wake = now + Duration::from_millis(500);
        for p in self.peers.values() {
            wake = wake.min(p.timeout);
        }
        for s in self.sessions.values() {
            if let Some(d) = s.buffer.next_deadline() {
                wake = wake.min(d);
            }
            if s.keyframe_wanted.is_some() || s.buffer.awaiting_keyframe() {
                if let Some(last) = s.last_keyframe_request {
                    wake = wake.min(last + KEYFRAME_RETRY);
                }
            }
        }
        wake.max(now)
    }

    // ---- commands -------------------------------------------------------

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Open { side, session, auth, offer, place, reply } => {
                let _ = reply.send(self.open(side, session, auth, &offer, place));
            }
            Command::Patch { session, side, resource, auth, if_match, frag, reply } => {
                let _ = reply.send(self.patch(&session, side, &resource, &auth, &if_match, &frag));
            }
            Command::Delete { session, side, resource, auth, reply } => {
                let r = self.find(&session, side, &resource, &auth).map(|id| self.remove_peer(id, "deleted"));
                let _ = reply.send(r);
            }
            Command::Control { session, control, reply } => {
                let n = self.control(&session, control);
                if let Some(r) = reply {
                    let _ = r.send(n);
                }
            }
            Command::Status { session, reply } => {
                let _ = reply.send(self.sessions.get(&session).map(|s| s.status).unwrap_or(VideoStatus::None));
            }
        }
    }

    fn open(
        &mut self,
        side: Side,
        meta: SessionMeta,
        auth: PeerAuth,
        offer: &str,
        place: Option<crate::api::edge::AddrGuard>,
    ) -> Result<Created, ApiError> {
        let summary = sdp::summarize(offer).map_err(sdp_error)?;
        if side == Side::Publisher {
            if summary.video && !meta.allow_video || summary.audio && !meta.allow_audio {
                return Err(ApiError::Forbidden {
                    code: "outside_consent",
                    message: "the patient's consent does not cover this kind of media".into(),
                });
            }
            let busy =
                self.sessions.get(&meta.id).and_then(|s| s.publisher).is_some_and(|p| self.peers.contains_key(&p));
            if busy {
                return Err(ApiError::conflict(
                    "publisher_active",
                    "another publisher is already sending to this session",
                ));
            }
        } else {
            if !(summary.video && meta.allow_video || summary.audio && meta.allow_audio) {
                return Err(ApiError::Forbidden {
                    code: "outside_consent",
                    message: "the patient's consent covers none of the media this offer asks for".into(),
                });
            }
            let max = self.state.config.rtc.max_viewers;
            let count = self.sessions.get(&meta.id).map(|s| s.viewers.len()).unwrap_or(0);
            if count >= max {
                return Err(ApiError::RateLimited { retry_after_secs: 10 });
            }
        }
        let offer =
            SdpOffer::from_sdp_string(offer).map_err(|e| ApiError::bad_request("malformed_sdp", e.to_string()))?;
        let now = Instant::now();
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .set_ice_lite(true)
            .clear_codecs()
            .enable_vp8(true)
            .enable_h264(true)
            .enable_opus(true, false)
            .build(now);
        let candidate = Candidate::host(self.local, "udp").map_err(ApiError::internal)?;
        rtc.add_local_candidate(candidate);
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| ApiError::bad_request("malformed_sdp", format!("the offer cannot be answered: {e}")))?;
        let id = self.next_id;
        self.next_id += 1;
        let resource = super::random_id();
        let etag = format!("\"{}\"", super::random_id());
        let session_id = meta.id.clone();
        let s = self.sessions.entry(session_id.clone()).or_insert_with(|| SessionMedia::new(meta.clone()));
        s.meta.allow_video = meta.allow_video;
        s.meta.allow_audio = meta.allow_audio;
        s.meta.archive = meta.archive;
        match side {
            Side::Publisher => {
                s.publisher = Some(id);
                s.generation = s.generation.wrapping_add(1);
                s.keyframe_wanted = Some(now);
                if s.meta.archive && self.state.config.rtc.recording {
                    if let Some(old) = s.recorder.take() {
                        old.finish();
                    }
                    let dir = self.state.config.data_dir.join("media").join(&session_id);
                    s.recorder = Recorder::start(dir, s.generation, summary.video, summary.audio);
                }
            }
            Side::Viewer => s.viewers.push(id),
        }
        let peer = Peer {
            id,
            resource: resource.clone(),
            session: session_id.clone(),
            side,
            rtc,
            auth,
            etag: etag.clone(),
            created: now,
            timeout: now,
            remote: None,
            connected: false,
            video_mid: None,
            video: None,
            audio: None,
            dirty: true,
            closing: false,
            _place: place,
        };
        tracing::info!(session = %session_id, user = %peer.auth.sub, side = side.path(), "media peer opened");
        self.by_resource.insert(resource.clone(), id);
        self.peers.insert(id, Box::new(peer));
        self.counters.peers.store(self.peers.len() as u64, Relaxed);
        Ok(Created { resource, etag, answer: answer.to_sdp_string() })
    }

    fn find(&self, session: &str, side: Side, resource: &str, auth: &PeerAuth) -> Result<u64, ApiError> {
        let id = *self.by_resource.get(resource).ok_or_else(|| ApiError::not_found("resource"))?;
        let p = self.peers.get(&id).ok_or_else(|| ApiError::not_found("resource"))?;
        if p.session != session || p.side != side {
            return Err(ApiError::not_found("resource"));
        }
        if p.auth.sub != auth.sub && !auth.controller {
            return Err(ApiError::forbidden("only whoever opened this resource may change it"));
        }
        Ok(id)
    }

    fn patch(
        &mut self,
        session: &str,
        side: Side,
        resource: &str,
        auth: &PeerAuth,
        if_match: &str,
        frag: &str,
    ) -> Result<Patched, ApiError> {
        let id = self.find(session, side, resource, auth)?;
        let frag = sdp::parse_fragment(frag).map_err(sdp_error)?;
        let Some(p) = self.peers.get_mut(&id) else { return Err(ApiError::not_found("resource")) };
        if if_match.trim() != "*" && if_match.trim() != p.etag {
            return Err(ApiError::PreconditionFailed);
        }
        let mut fragment = None;
        if let (Some(ufrag), Some(pwd)) = (frag.ufrag, frag.pwd) {
            // An ICE restart: the client's new credentials, and ours.
            let mut api = p.rtc.direct_api();
            api.set_remote_ice_credentials(IceCreds { ufrag, pass: pwd });
            let ours = IceCreds::new();
            api.set_local_ice_credentials(ours.clone());
            p.etag = format!("\"{}\"", super::random_id());
            fragment = Some(format!(
                "a=ice-lite\r\na=ice-ufrag:{}\r\na=ice-pwd:{}\r\na=candidate:1 1 udp 2130706431 {} {} typ host\r\na=end-of-candidates\r\n",
                ours.ufrag,
                ours.pass,
                self.local.ip(),
                self.local.port()
            ));
        }
        for c in &frag.candidates {
            match Candidate::from_sdp_string(c) {
                Ok(c) => p.rtc.add_remote_candidate(c),
                Err(_) => return Err(ApiError::bad_request("malformed_sdp", "a candidate line cannot be read")),
            }
        }
        p.dirty = true;
        Ok(Patched { etag: p.etag.clone(), fragment })
    }

    fn control(&mut self, session: &str, control: Control) -> usize {
        let now = Instant::now();
        if let Control::End = control {
            let ids: Vec<u64> = self.peers.values().filter(|p| p.session == session).map(|p| p.id).collect();
            for id in ids {
                self.remove_peer(id, "session ended");
            }
            if let Some(s) = self.sessions.remove(session) {
                if let Some(r) = s.recorder {
                    r.finish();
                }
            }
            return 0;
        }
        // Controls create the entry, so a peer joining later sees the state.
        let (curtain0, delay0) = match control {
            Control::Sync { curtain, delay_seconds } => (curtain, delay_seconds),
            Control::Curtain(down) => (down, 0),
            Control::Delay(d) => (false, d),
            _ => (false, 0),
        };
        let s = self.sessions.entry(session.to_string()).or_insert_with(|| {
            SessionMedia::new(SessionMeta {
                id: session.to_string(),
                delay_seconds: delay0,
                curtain: curtain0,
                allow_video: false,
                allow_audio: false,
                archive: false,
            })
        });
        let n = match control {
            Control::Sync { curtain, delay_seconds } => {
                if s.buffer.is_curtain_down() != curtain {
                    s.buffer.set_curtain(now, curtain);
                }
                s.meta.curtain = curtain;
                s.set_delay(delay_seconds);
                0
            }
            Control::Curtain(down) => {
                s.buffer.set_curtain(now, down);
                s.meta.curtain = down;
                if !down {
                    s.keyframe_wanted = Some(now);
                }
                0
            }
            Control::Dump => {
                let n = s.buffer.dump(now);
                s.keyframe_wanted = Some(now);
                self.counters.packets_dropped_gate.fetch_add(n as u64, Relaxed);
                tracing::info!(session, dropped = n, "media dumped");
                n
            }
            Control::Delay(d) => {
                s.set_delay(d);
                0
            }
            Control::End => 0,
        };
        self.update_status(session);
        n
    }

    // ---- network --------------------------------------------------------

    fn datagram(&mut self, data: &[u8], source: SocketAddr) {
        let now = Instant::now();
        let Ok(contents) = data.try_into() else { return };
        let input = Input::Receive(now, Receive { proto: Protocol::Udp, source, destination: self.local, contents });
        let id = match self.by_addr.get(&source) {
            Some(id) if self.peers.get(id).is_some_and(|p| p.rtc.accepts(&input)) => Some(*id),
            _ => self.peers.values().find(|p| !p.closing && p.rtc.accepts(&input)).map(|p| p.id),
        };
        let Some(id) = id else { return };
        let Some(p) = self.peers.get_mut(&id) else { return };
        if p.remote != Some(source) {
            if let Some(old) = p.remote.replace(source) {
                self.by_addr.remove(&old);
            }
            self.by_addr.insert(source, id);
        }
        if p.rtc.handle_input(input).is_err() {
            p.closing = true;
        }
        p.dirty = true;
        self.drain_peer(id, now);
    }

    /// Poll a peer until it has nothing more to say; act on its events.
    fn drain_peer(&mut self, id: u64, now: Instant) {
        let mut events = Vec::new();
        {
            let Some(p) = self.peers.get_mut(&id) else { return };
            p.drain(now, self.pool.socket(), &self.counters, |e| events.push(e));
        }
        for e in events {
            self.event(id, now, e);
        }
    }

    fn drain_all(&mut self, now: Instant) {
        let ids: Vec<u64> =
            self.peers.values().filter(|p| p.dirty || now >= p.timeout || p.closing).map(|p| p.id).collect();
        for id in ids {
            self.drain_peer(id, now);
            if self.peers.get(&id).is_some_and(|p| p.closing) {
                self.remove_peer(id, "closed");
            }
        }
    }

    fn event(&mut self, id: u64, now: Instant, e: Event) {
        match e {
            Event::Connected => {
                let Some(p) = self.peers.get_mut(&id) else { return };
                p.connected = true;
                let (session, side) = (p.session.clone(), p.side);
                tracing::info!(session = %session, side = side.path(), "media peer connected");
                if let Some(s) = self.sessions.get_mut(&session) {
                    s.keyframe_wanted.get_or_insert(now);
                }
                self.update_status(&session);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                if let Some(p) = self.peers.get_mut(&id) {
                    p.closing = true;
                }
            }
            Event::Closed => {
                if let Some(p) = self.peers.get_mut(&id) {
                    p.closing = true;
                }
            }
            Event::MediaAdded(m) => {
                let mut rng = rand::thread_rng();
                let (seq, ts) = (u64::from(rng.gen::<u16>() & 0x7fff), rng.gen::<u32>());
                if let Some(p) = self.peers.get_mut(&id) {
                    p.media_added(m.mid, m.kind, seq, ts);
                    if p.side == Side::Viewer && m.kind == MediaKind::Video {
                        if let Some(s) = self.sessions.get_mut(&p.session) {
                            s.keyframe_wanted.get_or_insert(now);
                        }
                    }
                }
            }
            Event::RtpPacket(rtp) => self.ingest(id, now, rtp),
            Event::KeyframeRequest(_) => {
                // A viewer lost its picture: coalesced into one request upstream.
                let Some(p) = self.peers.get(&id) else { return };
                if let Some(s) = self.sessions.get_mut(&p.session) {
                    s.keyframe_wanted.get_or_insert(now);
                }
            }
            _ => {}
        }
    }

    /// A packet from a publisher enters its session's delay buffer.
    fn ingest(&mut self, id: u64, now: Instant, rtp: str0m::rtp::RtpPacket) {
        let Some(p) = self.peers.get(&id) else { return };
        if p.side != Side::Publisher {
            return;
        }
        let Some(codec) = p.codec_of(rtp.header.payload_type) else { return };
        let Some(s) = self.sessions.get_mut(&p.session) else { return };
        if s.publisher != Some(id) {
            return;
        }
        self.counters.packets_in.fetch_add(1, Relaxed);
        let keyframe = match codec {
            Codec::Vp8 => keyframe::vp8_keyframe_start(&rtp.payload),
            Codec::H264 => keyframe::h264_keyframe_start(&rtp.payload),
            Codec::Opus => false,
        };
        let kind = codec.kind();
        let size = rtp.payload.len() + 12;
        let pkt = Pkt {
            codec,
            seq: *rtp.seq_no,
            ts: rtp.header.timestamp,
            marker: rtp.header.marker,
            payload: rtp.payload.clone(),
            generation: s.generation,
        };
        let pushed = s.buffer.push(now, Packet { kind, keyframe, size, data: pkt });
        match pushed {
            Pushed::Buffered => {
                if keyframe && kind == TrackKind::Video && s.keyframe_wanted.is_some_and(|t| t <= now) {
                    s.keyframe_wanted = None;
                    s.keyframe_requests = 0;
                }
            }
            _ => {
                self.counters.packets_dropped_gate.fetch_add(1, Relaxed);
            }
        }
    }

    /// Ask publishers for a keyframe where one is wanted: PLI, then FIR.
    fn request_keyframes(&mut self, now: Instant) {
        for s in self.sessions.values_mut() {
            let wanted = s.keyframe_wanted.is_some() || s.buffer.awaiting_keyframe();
            if !wanted || s.buffer.is_curtain_down() {
                continue;
            }
            if s.last_keyframe_request.is_some_and(|t| now < t + KEYFRAME_RETRY) {
                continue;
            }
            let Some(pid) = s.publisher else { continue };
            let Some(p) = self.peers.get_mut(&pid) else { continue };
            let Some(mid) = p.video_mid else { continue };
            if !p.connected {
                continue;
            }
            let kind = if s.keyframe_requests < 2 { KeyframeRequestKind::Pli } else { KeyframeRequestKind::Fir };
            if let Some(rx) = p.rtc.direct_api().stream_rx_by_mid(mid, None) {
                rx.request_keyframe(kind);
                p.dirty = true;
            }
            s.keyframe_requests = s.keyframe_requests.saturating_add(1);
            s.last_keyframe_request = Some(now);
        }
    }

    /// Release what is due in every session to its viewers and recording.
    fn release_due(&mut self, now: Instant) {
        let mut batch = Batch::new();
        for (id, s) in self.sessions.iter_mut() {
            let mut rels = Vec::new();
            while let Some(r) = s.buffer.poll(now) {
                self.counters.packets_released.fetch_add(1, Relaxed);
                let pkt = r.packet.data;
                if let Some(rec) = &s.recorder {
                    if pkt.generation == s.generation {
                        rec.write(&pkt, r.captured);
                    }
                }
                if !s.viewers.is_empty() {
                    // The deadline, not the poll time: spaced like the captures.
                    let epoch = epoch_of(r.epoch, pkt.generation);
                    rels.push(Release { deadline: r.deadline, epoch, pkt, keyframe: r.packet.keyframe });
                }
            }
            if !rels.is_empty() {
                batch.insert(id.clone(), rels);
            }
        }
        if batch.is_empty() {
            return;
        }
        let ids: Vec<u64> = batch.keys().filter_map(|k| self.sessions.get(k)).flat_map(|s| s.viewers.clone()).collect();
        let mut viewers: Vec<Box<Peer>> = ids.iter().filter_map(|id| self.peers.remove(id)).collect();
        let out = self.pool.run(&mut viewers, batch, now);
        fanout::count_forwarded(&self.counters, out.forwarded);
        for p in viewers {
            self.peers.insert(p.id, p);
        }
        for id in ids {
            if !self.peers.contains_key(&id) {
                self.forget(id);
            }
        }
        for (id, e) in out.events {
            self.event(id, now, e);
        }
    }

    /// A peer lost without its goodbye (a fan-out thread died with it).
    fn forget(&mut self, id: u64) {
        tracing::error!(peer = id, "media peer lost by a fan-out thread");
        self.by_addr.retain(|_, v| *v != id);
        self.by_resource.retain(|_, v| *v != id);
        for s in self.sessions.values_mut() {
            s.viewers.retain(|v| *v != id);
        }
        self.counters.peers.store(self.peers.len() as u64, Relaxed);
    }

    /// Revoked or expired tokens (logout, kick, `exp` + leeway passed) and
    /// peers that never connected.
    fn check_peers(&mut self, now: Instant) {
        let mut gone = Vec::new();
        let expired_before = chrono::Utc::now().timestamp() - self.state.config.jwt.leeway as i64;
        for p in self.peers.values() {
            let a = &p.auth;
            if self.state.revocations.is_revoked_parts(&a.jti, &a.sub, a.iat) {
                gone.push((p.id, "token revoked"));
            } else if a.exp < expired_before {
                gone.push((p.id, "token expired"));
            } else if !p.connected && now.duration_since(p.created) > CONNECT_TIMEOUT {
                gone.push((p.id, "never connected"));
            }
        }
        for (id, why) in gone {
            self.remove_peer(id, why);
        }
    }

    fn remove_peer(&mut self, id: u64, why: &str) {
        let Some(mut p) = self.peers.remove(&id) else { return };
        p.rtc.disconnect();
        // Say goodbye (DTLS close) if the peer is still there.
        while let Ok(Output::Transmit(t)) = p.rtc.poll_output() {
            let _ = self.pool.socket().send_to(&t.contents, t.destination);
        }
        if let Some(a) = p.remote {
            self.by_addr.remove(&a);
        }
        self.by_resource.remove(&p.resource);
        self.counters.peers.store(self.peers.len() as u64, Relaxed);
        tracing::info!(session = %p.session, user = %p.auth.sub, side = p.side.path(),
            seconds = p.created.elapsed().as_secs(), why, "media peer closed");
        // Audit hook: the WHIP/WHEP leave, with how long the peer stayed.
        self.state.audit.append(
            crate::audit::Entry::new("leave").by_sub(&p.auth.sub, None).session(&p.session).detail(
                serde_json::json!({"channel": p.side.path(), "seconds": p.created.elapsed().as_secs(), "why": why}),
            ),
        );
        if let Some(s) = self.sessions.get_mut(&p.session) {
            match p.side {
                Side::Publisher if s.publisher == Some(id) => {
                    s.publisher = None;
                    if let Some(r) = s.recorder.take() {
                        r.finish();
                    }
                }
                Side::Publisher => {}
                Side::Viewer => s.viewers.retain(|v| *v != id),
            }
        }
        self.update_status(&p.session);
    }

    /// Recompute the session's video status and announce a change.
    fn update_status(&mut self, session: &str) {
        let Some(s) = self.sessions.get_mut(session) else { return };
        let publishing = s.publisher.and_then(|id| self.peers.get(&id)).is_some_and(|p| p.connected);
        let status = match (publishing, s.buffer.is_curtain_down()) {
            (false, _) => VideoStatus::None,
            (true, true) => VideoStatus::Paused,
            (true, false) => VideoStatus::Live,
        };
        let watching = s.viewers.iter().filter(|id| self.peers.get(id).is_some_and(|p| p.connected)).count();
        if status != s.status || watching != s.watching {
            s.status = status;
            s.watching = watching;
            if let Some(hub) = self.state.live.get(session) {
                hub.set_video(status);
                hub.set_video_viewers(watching);
                hub.announce_state();
                hub.share_status();
            }
        }
    }
}

fn sdp_error(e: SdpError) -> ApiError {
    match e {
        SdpError::Malformed(m) => ApiError::bad_request("malformed_sdp", m),
        SdpError::NoCodec => ApiError::NotAcceptable {
            message: "the offer has no supported codec (VP8, H.264 packetization-mode 1, Opus)".into(),
        },
    }
}
