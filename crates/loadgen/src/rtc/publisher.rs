//! The publisher: 30 fps VP8-shaped frames (a keyframe every second and
//! whenever the server asks) and 20 ms Opus packets, over WHIP.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::rtp::RtpWrite;
use str0m::Event;

use super::peer::Client;
use super::stream::{frame_size, make_tag, opus_packet, vp8_frame};
use super::Shared;

pub struct Config {
    pub fps: u32,
    pub bitrate: u32,
    pub opus_bytes: usize,
}

#[derive(Debug, Default, Clone)]
pub struct PublisherStats {
    pub frames: u64,
    pub keyframes: u64,
    pub video_packets: u64,
    pub audio_packets: u64,
    pub bytes: u64,
    pub send_errors: u64,
    /// Times the pacing loop fell more than 200 ms behind and skipped ahead.
    pub stalls: u64,
    /// From the first media packet to the last.
    pub sending_secs: f64,
}

struct State {
    frame: u64,
    video_seq: u64,
    audio_seq: u64,
    audio_ts: u32,
    want_keyframe: bool,
    stats: PublisherStats,
}

fn write_video(c: &mut Client, shared: &Shared, cfg: &Config, st: &mut State) {
    let Some(pt) = c.vp8_pt else { return };
    let keyframe = st.want_keyframe || st.frame.is_multiple_of(u64::from(cfg.fps.max(1)));
    st.want_keyframe = false;
    let size = frame_size(keyframe, cfg.fps, cfg.bitrate);
    let ts = (st.frame as u32).wrapping_mul(90_000 / cfg.fps.max(1));
    let now = Instant::now();
    let payloads = vp8_frame(st.frame as u16, keyframe, size, || {
        let index = shared.next_index.fetch_add(1, Relaxed);
        make_tag(index, shared.ns(Instant::now()))
    });
    let count = payloads.len();
    let mut api = c.rtc.direct_api();
    let Some(tx) = api.stream_tx_by_mid(c.video_mid, None) else { return };
    for (i, p) in payloads.into_iter().enumerate() {
        st.stats.bytes += p.len() as u64;
        tx.write_rtp(RtpWrite::new(pt, st.video_seq.into(), ts, now, p).marker(i + 1 == count).nackable(true));
        st.video_seq += 1;
        st.stats.video_packets += 1;
    }
    st.stats.frames += 1;
    st.stats.keyframes += u64::from(keyframe);
    st.frame += 1;
}

fn write_audio(c: &mut Client, shared: &Shared, cfg: &Config, st: &mut State) {
    let Some(pt) = c.opus_pt else { return };
    let now = Instant::now();
    let index = shared.next_index.fetch_add(1, Relaxed);
    let p = opus_packet(cfg.opus_bytes, make_tag(index, shared.ns(now)));
    st.stats.bytes += p.len() as u64;
    let mut api = c.rtc.direct_api();
    let Some(tx) = api.stream_tx_by_mid(c.audio_mid, None) else { return };
    tx.write_rtp(RtpWrite::new(pt, st.audio_seq.into(), st.audio_ts, now, p).marker(false));
    st.audio_seq += 1;
    st.audio_ts = st.audio_ts.wrapping_add(960);
    st.stats.audio_packets += 1;
}

/// Run until `shared.stop`, sending while `shared.sending`. Bounded by `limit`.
pub async fn run(mut c: Client, shared: Arc<Shared>, cfg: Config, limit: Duration) -> PublisherStats {
    let started = Instant::now();
    let frame_every = Duration::from_secs_f64(1.0 / f64::from(cfg.fps.max(1)));
    let audio_every = Duration::from_millis(20);
    let mut st = State {
        frame: 0,
        video_seq: 1000,
        audio_seq: 5000,
        audio_ts: 0,
        want_keyframe: true,
        stats: Default::default(),
    };
    let mut next_video = Instant::now();
    let mut next_audio = next_video;
    let mut buf = vec![0u8; 2048];
    let mut connected = false;
    let mut span: Option<(Instant, Instant)> = None;
    while !shared.stop.load(Relaxed) && started.elapsed() < limit {
        let timeout = c.pump(|_, e| match e {
            Event::Connected => connected = true,
            Event::KeyframeRequest(_) => {
                st.want_keyframe = true;
                shared.publisher_keyframe_requests.fetch_add(1, Relaxed);
            }
            _ => {}
        });
        let Some(timeout) = timeout else { break };
        if connected {
            shared.publisher_connected.store(true, Relaxed);
        }
        let sending = connected && shared.sending.load(Relaxed);
        let mut wake = timeout.min(Instant::now() + Duration::from_millis(50));
        if sending {
            wake = wake.min(next_video).min(next_audio);
        }
        tokio::select! {
            r = c.socket.recv_from(&mut buf) => {
                if let Ok((n, src)) = r {
                    c.input(Instant::now(), src, &buf[..n]);
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {}
        }
        let now = Instant::now();
        if now >= timeout {
            c.tick(now);
        }
        if sending {
            if now.saturating_duration_since(next_video) > Duration::from_millis(200) {
                st.stats.stalls += 1;
                next_video = now;
                next_audio = now;
            }
            while now >= next_video {
                write_video(&mut c, &shared, &cfg, &mut st);
                next_video += frame_every;
            }
            while now >= next_audio {
                write_audio(&mut c, &shared, &cfg, &mut st);
                next_audio += audio_every;
            }
            span = Some((span.map_or(now, |s| s.0), now));
        } else {
            next_video = now;
            next_audio = now;
        }
    }
    let _ = c.pump(|_, _| {});
    st.stats.send_errors = c.send_errors;
    st.stats.sending_secs = span.map_or(0.0, |(a, b)| b.duration_since(a).as_secs_f64());
    st.stats
}
