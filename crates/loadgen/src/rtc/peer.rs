//! A light WebRTC client: a str0m `Rtc` (RTP mode, full ICE as the
//! controlling side against the server's ICE-lite) on its own UDP socket,
//! driven sans-IO by whoever owns it. Many of them share one thread.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use str0m::change::SdpAnswer;
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Which endpoint a client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// WHIP: sends video and audio.
    Publisher,
    /// WHEP: receives them.
    Viewer,
}

pub struct Client {
    pub rtc: Rtc,
    pub socket: UdpSocket,
    pub local: SocketAddr,
    pub video_mid: Mid,
    pub audio_mid: Mid,
    pub vp8_pt: Option<Pt>,
    pub opus_pt: Option<Pt>,
    /// Datagrams the socket refused.
    pub send_errors: u64,
}

/// A loopback UDP socket with room for bursts (a keyframe arrives as a train).
fn bind_loopback(recv_buffer: usize) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::DGRAM, None)?;
    let _ = s.set_recv_buffer_size(recv_buffer);
    let _ = s.set_send_buffer_size(1 << 20);
    s.set_nonblocking(true)?;
    let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
    s.bind(&addr.into())?;
    Ok(s.into())
}

impl Client {
    /// Offer, POST it to `{base}/api/sessions/{session}/whip|whep`, accept
    /// the answer. Must run inside a tokio runtime (the socket registers with it).
    pub async fn open(
        http: &reqwest::Client,
        base: &str,
        session: &str,
        token: &str,
        role: Role,
        recv_buffer: usize,
    ) -> Result<Self, Error> {
        let std_socket = bind_loopback(recv_buffer)?;
        let local = std_socket.local_addr()?;
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_vp8(true)
            .enable_opus(true, false)
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp")?);
        let dir = match role {
            Role::Publisher => Direction::SendOnly,
            Role::Viewer => Direction::RecvOnly,
        };
        let mut api = rtc.sdp_api();
        let video_mid = api.add_media(MediaKind::Video, dir, None, None, None);
        let audio_mid = api.add_media(MediaKind::Audio, dir, None, None, None);
        let (offer, pending) = api.apply().ok_or("str0m made no offer")?;
        let path = match role {
            Role::Publisher => "whip",
            Role::Viewer => "whep",
        };
        let url = format!("{}/api/sessions/{session}/{path}", base.trim_end_matches('/'));
        let mut attempt = 0;
        let resp = loop {
            let resp = http
                .post(&url)
                .bearer_auth(token)
                .header("content-type", "application/sdp")
                .body(offer.to_sdp_string())
                .send()
                .await?;
            // 409 + Retry-After while there is no publisher, 429 past the limit: a few retries.
            if matches!(resp.status(), StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS) && attempt < 3 {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            break resp;
        };
        let status = resp.status();
        let body = resp.text().await?;
        if status != StatusCode::CREATED {
            let body: String = body.chars().take(300).collect();
            return Err(format!("{path}: HTTP {status}: {body}").into());
        }
        let answer = SdpAnswer::from_sdp_string(&body)?;
        rtc.sdp_api().accept_answer(pending, answer)?;
        let pt_of = |codec: Codec| rtc.codec_config().params().iter().find(|p| p.spec().codec == codec).map(|p| p.pt());
        let (vp8_pt, opus_pt) = (pt_of(Codec::Vp8), pt_of(Codec::Opus));
        let socket = UdpSocket::from_std(std_socket)?;
        Ok(Self { rtc, socket, local, video_mid, audio_mid, vp8_pt, opus_pt, send_errors: 0 })
    }

    /// Feed one datagram received at `now`.
    pub fn input(&mut self, now: Instant, source: SocketAddr, data: &[u8]) {
        let Ok(contents) = data.try_into() else { return };
        let input = Input::Receive(now, Receive { proto: Protocol::Udp, source, destination: self.local, contents });
        let _ = self.rtc.handle_input(input);
    }

    pub fn tick(&mut self, now: Instant) {
        let _ = self.rtc.handle_input(Input::Timeout(now));
    }

    /// Send everything str0m has to send; hand events to `on_event`;
    /// return when str0m next wants time (None once it is dead).
    pub fn pump(&mut self, mut on_event: impl FnMut(&mut Self, Event)) -> Option<Instant> {
        loop {
            if !self.rtc.is_alive() {
                return None;
            }
            match self.rtc.poll_output() {
                Ok(Output::Transmit(t)) => {
                    if self.socket.try_send_to(&t.contents, t.destination).is_err() {
                        self.send_errors += 1;
                    }
                }
                Ok(Output::Timeout(t)) => return Some(t),
                Ok(Output::Event(e)) => on_event(self, e),
                Err(_) => return None,
            }
        }
    }
}
