//! Score the OCR redaction path on a labelled set written by `ocr_set`:
//! `cargo run --release -p orgallery-ocr --example ocr_score -- DIR [--misses]`
//! Prints recall with/without identifiers, PHI-free images flagged, and
//! process CPU per image and per 1920×1080 photo (one engine, one thread).

#[path = "../tests/synth/mod.rs"]
mod synth;

use orgallery_ocr::{Config, Pool, Redactor};
use synth::score::{score_image, Totals};
use synth::set::Labels;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: ocr_score DIR [--misses]")?);
    let misses = args.next().as_deref() == Some("--misses");
    let labels: Vec<Labels> = serde_json::from_slice(&std::fs::read(dir.join("labels.json"))?)?;
    let pool = Pool::new(&Config { engines: 1, ..Config::default() })?;
    let redactor = Redactor::new(Default::default());
    let mut totals = Totals::default();
    let mut by_kind: std::collections::BTreeMap<String, Totals> = Default::default();
    for l in &labels {
        let bytes = std::fs::read(dir.join(&l.file))?;
        let s = score_image(&pool, &redactor, l, &bytes)?;
        if misses && (!s.missed.is_empty() || s.flagged) {
            eprintln!("{}: missed {:?} flagged {}", s.file, s.missed, s.flagged);
        }
        totals.add(&s);
        by_kind.entry(s.kind.clone()).or_default().add(&s);
    }
    for (k, t) in &by_kind {
        println!("{k:>12}: {}", t.report());
    }
    println!("{:>12}: {}", "all", totals.report());
    Ok(())
}
