//! Times (or, under callgrind, counts) redaction of the adversarial shapes of
//! `benches/shapes.rs`.
//!
//! ```text
//! cargo run --release -p orgallery-redact --example worst_case -- [SHAPE|all] [BYTES] [PASSES] [--ids]
//! ```
//! Prints one line per shape: bytes, ms per call, ns per byte.

#[path = "../benches/shapes/mod.rs"]
mod shapes;

use orgallery_redact::{Identifiers, PatientMatcher, Redactor};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--ids").collect();
    let with_ids = std::env::args().any(|a| a == "--ids");
    let which = args.first().cloned().unwrap_or_else(|| "all".into());
    let len: usize = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(16 * 1024);
    let passes: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(20);
    let r = Redactor::default();
    let pm = PatientMatcher::new(&Identifiers {
        names: vec!["Ming Fan".into()],
        mrns: vec!["43111520".into()],
        dates: vec!["1957-03-14".into()],
        other: vec!["(415) 822-6155".into()],
    });
    let patient = if with_ids { Some(&pm) } else { None };
    for (name, unit) in shapes::SHAPES {
        if which != "all" && which != *name {
            continue;
        }
        let text = shapes::make(unit, len);
        let t = Instant::now();
        for _ in 0..passes {
            black_box(r.redact(black_box(&text), patient));
        }
        let per = t.elapsed().as_secs_f64() / passes.max(1) as f64;
        println!("{name:16} {:6} B {:8.3} ms {:7.1} ns/B", text.len(), per * 1e3, per * 1e9 / text.len() as f64);
    }
}
