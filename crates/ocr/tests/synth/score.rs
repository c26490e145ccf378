//! The scorer: each labelled image through the server's own upload path
//! (`orgallery_imaging::clean_with` with `orgallery_ocr::propose_masks` as
//! its hook, exactly as `src/api/updates.rs` calls it), with and without
//! the image's identifiers registered. A PHI word counts as masked when at
//! least 90 % of its labelled box is painted.

use orgallery_imaging::{clean_with, Limits, Mask};
use orgallery_ocr::{find_phi, propose_masks, Identifiers, OcrPatient, Pool, Rect, Redactor};

use super::set::Labels;

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
}

/// Linux's `CLOCK_PROCESS_CPUTIME_ID`.
const PROCESS_CPU: i32 = 2;

/// Process CPU time (all threads, Tesseract's included), in seconds.
pub fn cpu_seconds() -> f64 {
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid out-pointer to a 64-bit Linux timespec.
    let rc = unsafe { clock_gettime(PROCESS_CPU, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Fraction of `r` covered by the union of `masks`.
pub fn covered(r: Rect, masks: &[Mask]) -> f64 {
    if r.area() == 0 {
        return 1.0;
    }
    let mut grid = vec![false; r.area() as usize];
    for m in masks {
        let x0 = m.x.max(r.x);
        let y0 = m.y.max(r.y);
        let x1 = (m.x + m.w).min(r.right());
        let y1 = (m.y + m.h).min(r.bottom());
        for y in y0..y1 {
            for x in x0..x1 {
                grid[((y - r.y) * r.w + (x - r.x)) as usize] = true;
            }
        }
    }
    grid.iter().filter(|&&b| b).count() as f64 / grid.len() as f64
}

/// One image's outcome.
#[derive(Debug, Clone)]
pub struct ImageScore {
    pub file: String,
    pub kind: String,
    pub pixels: u64,
    pub phi_words: usize,
    /// PHI words ≥ 90 % painted, identifiers registered / not.
    pub masked_with: usize,
    pub masked_without: usize,
    /// PHI-free image: any OCR mask (with the empty registration).
    pub phi_free: bool,
    pub flagged: bool,
    /// Process CPU seconds of the upload path (decode, OCR, gate, paint,
    /// encode), identifiers registered.
    pub cpu: f64,
    /// PHI words missed with identifiers registered (for the report).
    pub missed: Vec<String>,
}

pub fn score_image(pool: &Pool, redactor: &Redactor, labels: &Labels, bytes: &[u8]) -> Result<ImageScore, String> {
    let ids = &labels.identifiers;
    let registered =
        Identifiers { names: ids.names.clone(), mrns: ids.mrns.clone(), dates: ids.dates.clone(), other: vec![] };
    let patient = (!labels.phi_free()).then(|| OcrPatient::new(&registered));
    let t0 = cpu_seconds();
    let (clean, with) = clean_with(bytes, &[], &Limits::default(), |img| {
        let found = propose_masks(pool, redactor, patient.as_ref(), img)
            .map_err(|e| orgallery_imaging::CleanError::Internal(e.to_string()))?;
        Ok(found.iter().map(|m| Mask { x: m.rect.x, y: m.rect.y, w: m.rect.w, h: m.rect.h }).collect())
    })
    .map_err(|e| format!("{}: {e}", labels.file))?;
    let cpu = cpu_seconds() - t0;
    // Without identifiers: the same path again with no patient.
    let (_, without) = clean_with(bytes, &[], &Limits::default(), |img| {
        let words = pool.read_image(img).map_err(|e| orgallery_imaging::CleanError::Internal(e.to_string()))?;
        Ok(find_phi(words, redactor, None, img.width(), img.height())
            .iter()
            .map(|m| Mask { x: m.rect.x, y: m.rect.y, w: m.rect.w, h: m.rect.h })
            .collect())
    })
    .map_err(|e| format!("{}: {e}", labels.file))?;
    let phi: Vec<_> = labels.words.iter().filter(|w| w.phi.is_some()).collect();
    let ok = |w: &&super::set::LabelWord, m: &[Mask]| covered(w.rect(), m) >= 0.9;
    Ok(ImageScore {
        file: labels.file.clone(),
        kind: labels.kind.clone(),
        pixels: u64::from(clean.width) * u64::from(clean.height),
        phi_words: phi.len(),
        masked_with: phi.iter().filter(|w| ok(w, &with)).count(),
        masked_without: phi.iter().filter(|w| ok(w, &without)).count(),
        phi_free: phi.is_empty(),
        flagged: phi.is_empty() && !with.is_empty(),
        cpu,
        missed: phi.iter().filter(|w| !ok(w, &with)).map(|w| w.text.clone()).collect(),
    })
}

/// One image scored on boxes another engine would paint (the Presidio
/// anchor's JSON): the same coverage rule; CPU as that engine measured it.
pub fn score_boxes(labels: &Labels, boxes: &[[u32; 4]], cpu: f64) -> ImageScore {
    let masks: Vec<Mask> = boxes.iter().map(|b| Mask { x: b[0], y: b[1], w: b[2], h: b[3] }).collect();
    let phi: Vec<_> = labels.words.iter().filter(|w| w.phi.is_some()).collect();
    let ok = |w: &&super::set::LabelWord| covered(w.rect(), &masks) >= 0.9;
    let masked = phi.iter().filter(|w| ok(w)).count();
    ImageScore {
        file: labels.file.clone(),
        kind: labels.kind.clone(),
        pixels: u64::from(labels.width) * u64::from(labels.height),
        phi_words: phi.len(),
        masked_with: masked,
        masked_without: masked,
        phi_free: phi.is_empty(),
        flagged: phi.is_empty() && !masks.is_empty(),
        cpu,
        missed: phi.iter().filter(|w| !ok(w)).map(|w| w.text.clone()).collect(),
    }
}

/// Totals over a run.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    pub images: usize,
    pub phi_words: usize,
    pub masked_with: usize,
    pub masked_without: usize,
    pub phi_free: usize,
    pub flagged: usize,
    pub cpu: f64,
    pub photos: usize,
    pub photo_cpu: f64,
}

impl Totals {
    pub fn add(&mut self, s: &ImageScore) {
        self.images += 1;
        self.phi_words += s.phi_words;
        self.masked_with += s.masked_with;
        self.masked_without += s.masked_without;
        self.phi_free += usize::from(s.phi_free);
        self.flagged += usize::from(s.flagged);
        self.cpu += s.cpu;
        if s.pixels == 1920 * 1080 {
            self.photos += 1;
            self.photo_cpu += s.cpu;
        }
    }
    pub fn report(&self) -> String {
        let r = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
        format!(
            "images {}  PHI words {}  recall with identifiers {:.3} ({}/{})  without {:.3} ({}/{})  \
             PHI-free flagged {:.1}% ({}/{})  CPU/image {:.0} ms  CPU/1920x1080 photo {:.0} ms ({} photos)",
            self.images,
            self.phi_words,
            r(self.masked_with, self.phi_words),
            self.masked_with,
            self.phi_words,
            r(self.masked_without, self.phi_words),
            self.masked_without,
            self.phi_words,
            100.0 * r(self.flagged, self.phi_free),
            self.flagged,
            self.phi_free,
            1000.0 * self.cpu / self.images.max(1) as f64,
            1000.0 * self.photo_cpu / self.photos.max(1) as f64,
            self.photos
        )
    }
}
