//! Score the OCR redaction path on a labelled set written by `ocr_set`:
//! `cargo run --release -p orgallery-ocr --example ocr_score -- DIR [--misses] [--boxes FILE] [--normalize N] [--no-deskew] [--per-image]`
//! Prints recall with/without identifiers, PHI-free images flagged, and
//! process CPU per image and per 1920×1080 photo (one engine, one thread).
//! With `--boxes FILE` (scripts/presidio_anchor.py's output) it scores those
//! boxes instead, by the same rule, with that engine's CPU.

#[path = "../tests/synth/mod.rs"]
mod synth;

use orgallery_ocr::{Config, Pool, Redactor};
use synth::score::{score_image, Totals};
use synth::set::Labels;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // SAFETY: first thing in main, no other thread yet.
    unsafe { orgallery_ocr::limit_openmp_threads() };
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: ocr_score DIR [--misses]")?);
    let rest: Vec<String> = args.collect();
    let misses = rest.iter().any(|a| a == "--misses");
    let boxes: Option<serde_json::Value> = match rest.iter().position(|a| a == "--boxes") {
        Some(i) => Some(serde_json::from_slice(&std::fs::read(rest.get(i + 1).ok_or("--boxes FILE")?)?)?),
        None => None,
    };
    let labels: Vec<Labels> = serde_json::from_slice(&std::fs::read(dir.join("labels.json"))?)?;
    // The server's preprocessing unless told otherwise (for measurements):
    // `--normalize N` sets the polarity window (0: two passes, plain and
    // inverted), `--no-deskew` reads the image as it is.
    let mut preprocess = orgallery_ocr::Preprocess::default();
    if let Some(i) = rest.iter().position(|a| a == "--normalize") {
        preprocess.normalize_window = rest.get(i + 1).ok_or("--normalize N")?.parse()?;
    }
    if rest.iter().any(|a| a == "--no-deskew") {
        preprocess.deskew = false;
    }
    let pool = Pool::new(&Config { engines: 1, preprocess, ..Config::default() })?;
    let redactor = Redactor::new(Default::default());
    let mut totals = Totals::default();
    let mut by_kind: std::collections::BTreeMap<String, Totals> = Default::default();
    for l in &labels {
        let s = match &boxes {
            Some(b) => {
                let entry = &b["images"][&l.file];
                let list: Vec<[u32; 4]> = serde_json::from_value(entry["boxes"].clone()).unwrap_or_default();
                synth::score::score_boxes(l, &list, entry["cpu_s"].as_f64().unwrap_or(0.0))
            }
            None => score_image(&pool, &redactor, l, &std::fs::read(dir.join(&l.file))?)?,
        };
        if rest.iter().any(|a| a == "--per-image") {
            eprintln!("{} {:.0} ms", s.file, s.cpu * 1000.0);
        }
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
