//! Write the labelled OCR image set to a directory:
//! `cargo run --release -p orgallery-ocr --example ocr_set -- DIR [COUNT] [SEED]`
//! (defaults: 300 images, seed 14). Each image is `NNNN-kind.jpg|png`;
//! `labels.json` holds every image's word boxes, PHI types and identifiers.

#[path = "../tests/synth/mod.rs"]
mod synth;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: ocr_set DIR [COUNT] [SEED]")?);
    let count: u32 = args.next().map_or(Ok(300), |a| a.parse())?;
    let seed: u64 = args.next().map_or(Ok(14), |a| a.parse())?;
    std::fs::create_dir_all(&dir)?;
    let mut all = Vec::new();
    for i in 0..count {
        let s = synth::set::sample(seed, i);
        std::fs::write(dir.join(&s.labels.file), &s.bytes)?;
        all.push(s.labels);
    }
    std::fs::write(dir.join("labels.json"), serde_json::to_vec_pretty(&all)?)?;
    eprintln!("{count} images in {}", dir.display());
    Ok(())
}
