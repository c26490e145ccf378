//! Worst-case inputs (issue 12): adversarial shapes at 1, 4 and 16 KiB, so that cost per byte
//! across lengths shows linearity and the 16 KiB figures show the 2 ms bound. `clinical` is
//! ordinary OR text, the per-byte floor the other shapes are compared with.
//!
//! ```text
//! cargo bench -p orgallery-redact --bench worst_case            # all shapes
//! cargo bench -p orgallery-redact --bench worst_case -- dates   # one shape
//! ```

mod shapes;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use orgallery_redact::{Identifiers, PatientMatcher, Redactor};
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let r = Redactor::default();
    let pm = PatientMatcher::new(&Identifiers {
        names: vec!["Ming Fan".into()],
        mrns: vec!["43111520".into()],
        dates: vec!["1957-03-14".into()],
        other: vec!["(415) 822-6155".into()],
    });
    let mut g = c.benchmark_group("worst_case");
    g.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    for (name, unit) in shapes::SHAPES {
        for kib in [1usize, 4, 16] {
            let text = shapes::make(unit, kib * 1024);
            g.throughput(Throughput::Bytes(text.len() as u64));
            g.bench_with_input(BenchmarkId::new(*name, format!("{kib}KiB")), &text, |b, t| {
                b.iter(|| black_box(r.redact(black_box(t), Some(&pm))))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
