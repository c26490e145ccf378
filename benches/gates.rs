//! Criterion benches of the hot path pieces: the delay gate (publish + poll
//! per item, at different queue depths), the redaction gate on a 200-byte
//! message, and building the shared live frame.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use orgallery_gate::{Gate, Policy};

fn gate(c: &mut Criterion) {
    let mut g = c.benchmark_group("delay_gate");
    for depth in [10usize, 1_000, 10_000] {
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::new("publish_then_release_one", depth), &depth, |b, &depth| {
            let t0 = Instant::now();
            let mut gate: Gate<u64, u64> = Gate::new(Duration::from_secs(10), Policy::Mask, 1);
            let mut id = 0u64;
            // `depth` items stay held ahead of the measured one.
            for _ in 0..depth {
                id += 1;
                let _ = gate.publish(t0 + Duration::from_secs(3600), id, id, false);
            }
            let mut now = t0;
            b.iter(|| {
                id += 1;
                now += Duration::from_micros(1);
                let _ = gate.publish(now - Duration::from_secs(10), id, id, false);
                black_box(gate.poll(now));
            });
        });
    }
    g.bench_function("poll_with_nothing_due_10k_held", |b| {
        let t0 = Instant::now();
        let mut gate: Gate<u64, u64> = Gate::new(Duration::from_secs(10), Policy::Mask, 1);
        for id in 0..10_000 {
            let _ = gate.publish(t0, id, id, false);
        }
        b.iter(|| black_box(gate.poll(t0 + Duration::from_secs(1))));
    });
    g.finish();
}

fn redaction(c: &mut Criterion) {
    let r = orgallery::redaction::Redactor::new();
    let msg = "Pt stable after induction, BP 118/76, HR 72. Call daughter at 415-555-0142 re: Mrs Okafor, \
               MRN 4471-9920, DOB 03/14/1957. Whipple anastomosis complete, Foley in place, 2/0 silk.";
    let mut g = c.benchmark_group("redaction_gate");
    g.throughput(Throughput::Bytes(msg.len() as u64));
    g.bench_function("redact_200_byte_message", |b| b.iter(|| black_box(r.redact(black_box(msg), None))));
    g.finish();
}

fn frame(c: &mut Criterion) {
    let body = format!(r#"{{"seq":1,"id":"x","kind":"text","text":"{}","redactions":[]}}"#, "a".repeat(1024));
    c.bench_function("live_frame_build_1KiB", |b| {
        b.iter(|| black_box(format!("{{\"type\":\"update\",\"seq\":{},\"update\":{}}}", 1, black_box(&body))))
    });
}

criterion_group!(benches, gate, redaction, frame);
criterion_main!(benches);
