//! The real Tesseract engine on a rendered monitor banner.

mod synth;

use orgallery_ocr::{find_phi, Config, Identifiers, OcrPatient, Pool, Redactor};

#[test]
fn reads_and_masks_a_rendered_monitor_banner() {
    let (img, labels) = synth::monitor_banner();
    let pool = Pool::new(&Config { engines: 1, ..Config::default() }).expect("tesseract-ocr and tesseract-ocr-eng");
    let gray = image::DynamicImage::ImageRgb8(img.clone()).into_luma8();
    let t = std::time::Instant::now();
    let words = pool.recognize(&gray).expect("recognize");
    eprintln!(
        "{} words in {:?}: {:?}",
        words.len(),
        t.elapsed(),
        words.iter().map(|w| (&w.text, w.conf as i32)).collect::<Vec<_>>()
    );
    let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
    assert!(texts.contains(&"Propofol"), "{texts:?}");
    let ids =
        Identifiers { names: vec!["John Doe".into()], mrns: vec!["12345678".into()], dates: vec![], other: vec![] };
    let patient = OcrPatient::new(&ids);
    let masks = find_phi(words, &Redactor::new(Default::default()), Some(&patient), img.width(), img.height());
    for (text, r, phi) in &labels {
        let covered: u64 = masks.iter().map(|m| m.rect.overlap(r)).sum::<u64>().min(r.area());
        if *phi {
            assert!(covered * 10 >= r.area() * 9, "{text} not masked: {masks:?}");
        } else if text == "Propofol" {
            assert_eq!(covered, 0, "{text} masked: {masks:?}");
        }
    }
}

#[test]
fn missing_language_pack_is_a_clear_error() {
    let err = Pool::new(&Config { engines: 1, lang: "xyz".into(), ..Config::default() }).err().expect("must fail");
    assert!(err.to_string().contains("tesseract-ocr-xyz"), "{err}");
    let err = Pool::new(&Config { engines: 1, library: "libtesseract-missing.so.9".into(), ..Config::default() })
        .err()
        .expect("must fail");
    assert!(err.to_string().contains("install tesseract-ocr"), "{err}");
}

/// The scorer on a fixed slice of the generated set (seed 14: the first ten
/// images, with PHI, and two PHI-free ones), through the server's own upload
/// path: the counts docs/REDACTION.md records for this slice, reproduced.
#[test]
fn the_scorer_reproduces_the_documented_slice() {
    let pool = Pool::new(&Config { engines: 1, ..Config::default() }).expect("tesseract-ocr and tesseract-ocr-eng");
    let redactor = Redactor::new(Default::default());
    let mut t = synth::score::Totals::default();
    for i in (0..10).chain([20, 21]) {
        let s = synth::set::sample(14, i);
        let score = synth::score::score_image(&pool, &redactor, &s.labels, &s.bytes).expect("scored");
        t.add(&score);
    }
    eprintln!("{}", t.report());
    assert_eq!(
        (t.images, t.phi_words, t.masked_with, t.masked_without, t.phi_free, t.flagged),
        (12, 36, 36, 36, 2, 0),
        "{}",
        t.report()
    );
}
