//! Throughput of the gate on ~200-byte OR messages (dev corpus texts if present, else synthetic).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use orgallery_redact::{Identifiers, PatientMatcher, Redactor};

fn messages() -> Vec<String> {
    let path = format!("{}/../../../shared/phi-dev/dev.jsonl", env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    if let Ok(text) = std::fs::read_to_string(path) {
        for line in text.lines() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
                if let Some(t) = v["text"].as_str() {
                    out.push(t.to_string());
                }
            }
        }
    }
    if out.is_empty() {
        out = vec![
            "Okay everyone, Yong Pan, 100-year-old, ACDF C5-6, with Dr. Whipple and Brian in the room.".into(),
            "Demographics: 832 Young Knolls Suite 548, Dukemouth, AK 53021; ph (916) 670-9231".into(),
            "Closing the fascia with 6-0 Prolene, skin with 5-0 Prolene. sharps 8/8.".into(),
            "Registration says MRN 96746027 but the band reads 33457799, hold on.".into(),
        ];
    }
    // concatenate following messages up to ~200 bytes per message
    let n = out.len();
    (0..n)
        .map(|i| {
            let mut s = out[i].clone();
            let mut j = i + 1;
            while s.len() < 200 {
                s.push(' ');
                s.push_str(&out[j % n]);
                j += 1;
            }
            let mut cut = s.len().min(200);
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let r = Redactor::default();
    let msgs = messages();
    let bytes: usize = msgs.iter().map(String::len).sum();
    let pm = PatientMatcher::new(&Identifiers {
        names: vec!["Ming Fan".into()],
        mrns: vec!["43111520".into()],
        dates: vec!["1957-03-14".into()],
        other: vec!["(415) 822-6155".into()],
    });
    let mut g = c.benchmark_group("redact");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.bench_function(format!("{} msgs, avg {} bytes, no identifiers", msgs.len(), bytes / msgs.len().max(1)), |b| {
        b.iter(|| {
            for m in &msgs {
                black_box(r.redact(black_box(m), None));
            }
        })
    });
    g.bench_function("with identifiers", |b| {
        b.iter(|| {
            for m in &msgs {
                black_box(r.redact(black_box(m), Some(&pm)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
