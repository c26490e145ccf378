//! Per-packet cost of the media gate's hot path.
//!
//! `cargo bench -p orgallery-media-gate --bench media`
//!
//! * `buffer/push_poll`: one push and one release per packet with a 5 s
//!   delay, the buffer in steady state (about 2 000 packets held: 1.5 Mbps
//!   of video in 1 200-byte packets plus 50 Opus packets a second).
//! * `rewrite/video` and `rewrite/audio`: one per-viewer rewrite of an
//!   in-order packet inside a run (the per-viewer cost of fan-out).
//! * `buffer/vecdeque_floor` and `rewrite/offset_floor`: the least either
//!   could do (a FIFO of deadlines; two offset additions), for ratios.
//! * `depack/vp8_frame`: joining one 8-packet VP8 frame for the recording.
//! * `webm/frame`: muxing one video frame into an in-memory WebM.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use orgallery_media_gate::{DelayBuffer, Packet, TrackKind};
use orgallery_media_gate::{Rewriter, Vp8Depacketizer, WebmWriter};

/// Packet `i` of a synthetic session: 156 video packets a second (a keyframe
/// start every 2 s) with an audio packet after every third one.
fn packet(i: u64) -> Packet<u64> {
    if i % 4 == 3 {
        Packet { kind: TrackKind::Audio, keyframe: false, size: 120, data: i }
    } else {
        Packet { kind: TrackKind::Video, keyframe: i.is_multiple_of(832), size: 1_200, data: i }
    }
}

const PACKET_INTERVAL: Duration = Duration::from_micros(4_800);

fn buffer(c: &mut Criterion) {
    let mut g = c.benchmark_group("buffer");
    g.throughput(Throughput::Elements(1));
    g.bench_function("push_poll", |b| {
        let t0 = Instant::now();
        let mut buf = DelayBuffer::new(Duration::from_secs(5), 64 << 20);
        let mut i = 0u64;
        let mut now = t0;
        // Steady state: 5 s of packets held.
        while now < t0 + Duration::from_secs(5) {
            buf.push(now, packet(i));
            i += 1;
            now += PACKET_INTERVAL;
        }
        b.iter(|| {
            buf.push(now, packet(i));
            i += 1;
            now += PACKET_INTERVAL;
            while let Some(r) = buf.poll(now) {
                black_box(r);
            }
        });
        black_box(buf.stats());
    });
    // The floor: the least a delay buffer does, a FIFO of (deadline, packet).
    g.bench_function("vecdeque_floor", |b| {
        let t0 = Instant::now();
        let delay = Duration::from_secs(5);
        let mut q: std::collections::VecDeque<(Instant, Packet<u64>)> = std::collections::VecDeque::new();
        let mut i = 0u64;
        let mut now = t0;
        while now < t0 + delay {
            q.push_back((now + delay, packet(i)));
            i += 1;
            now += PACKET_INTERVAL;
        }
        b.iter(|| {
            q.push_back((now + delay, packet(i)));
            i += 1;
            now += PACKET_INTERVAL;
            while q.front().is_some_and(|(d, _)| *d <= now) {
                black_box(q.pop_front());
            }
        });
    });
    g.finish();
}

fn rewrite(c: &mut Criterion) {
    let mut g = c.benchmark_group("rewrite");
    g.throughput(Throughput::Elements(1));
    for (name, kind, clock, ts_step) in
        [("video", TrackKind::Video, 90_000, 3_000u32), ("audio", TrackKind::Audio, 48_000, 960)]
    {
        g.bench_function(name, |b| {
            let t0 = Instant::now();
            let mut r = Rewriter::new(kind, clock, 4_242, 123_456);
            let (mut seq, mut ts) = (70_000u64, u32::MAX - 100_000);
            let _ = r.rewrite(t0, 1, seq, ts, true);
            b.iter(|| {
                seq += 1;
                ts = ts.wrapping_add(ts_step);
                black_box(r.rewrite(t0, 1, black_box(seq), black_box(ts), false))
            });
        });
    }
    // The floor: two offset additions per packet.
    g.bench_function("offset_floor", |b| {
        let (mut seq, mut ts) = (70_000u64, u32::MAX - 100_000);
        let (so, to) = (black_box(1_234u64), black_box(987_654u32));
        b.iter(|| {
            seq += 1;
            ts = ts.wrapping_add(3_000);
            black_box((black_box(seq) + so, black_box(ts).wrapping_add(to)))
        });
    });
    g.finish();
}

fn depack(c: &mut Criterion) {
    let mut g = c.benchmark_group("depack");
    g.throughput(Throughput::Elements(1));
    g.bench_function("vp8_frame", |b| {
        let mut d = Vp8Depacketizer::new();
        let body = vec![0x5au8; 1_150];
        let mut first = vec![0x90, 0x80, 0x81, 0x00, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
        first.extend_from_slice(&body);
        let mut rest = vec![0x80, 0x80, 0x81, 0x00];
        rest.extend_from_slice(&body);
        let (mut seq, mut ts) = (0u64, 0u32);
        b.iter(|| {
            ts = ts.wrapping_add(3_000);
            let mut out = None;
            for k in 0..8 {
                let payload = if k == 0 { &first } else { &rest };
                out = d.push(seq, ts, k == 7, payload);
                seq += 1;
            }
            black_box(out)
        });
    });
    g.finish();
}

fn webm(c: &mut Criterion) {
    let mut g = c.benchmark_group("webm");
    g.throughput(Throughput::Elements(1));
    g.bench_function("frame", |b| {
        let video = orgallery_media_gate::webm::VideoTrack { codec: "V_VP8", width: 640, height: 480 };
        let mut w = WebmWriter::new(std::io::sink(), Some(video), None).expect("sink");
        let frame = vec![0x11u8; 9_000];
        let mut ts = 0u64;
        b.iter(|| {
            ts += 33;
            w.write_video(ts, ts % 2_000 < 33, black_box(&frame)).expect("sink");
        });
    });
    g.finish();
}

criterion_group!(benches, buffer, rewrite, depack, webm);
criterion_main!(benches);
