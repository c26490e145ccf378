//! Preprocessing before Tesseract: the image is already grayscale (the
//! caller converts once); small images are scaled up so 12 px text reaches the
//! x-height Tesseract's LSTM model was trained on; an inverted copy is read
//! too so light-on-dark monitor text is found. Measured in docs/REDACTION.md.

use image::imageops::{self, FilterType};
use image::GrayImage;

use crate::{OcrError, Rect, Word};

/// Which preprocessing passes run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preprocess {
    /// Scale by 2 when the longer side is at most this many pixels (0: never).
    pub upscale_below: u32,
    /// Also read the inverted image and merge the words.
    pub invert: bool,
    /// Instead of a second, inverted pass: one pass on an image whose
    /// light-on-dark regions are inverted (where the local background,
    /// the mean over a window of this many pixels, is dark). 0: off.
    pub normalize_window: u32,
    /// With `normalize_window`: estimate the text's skew and read the image
    /// turned upright when it is at least [`crate::deskew::MIN_DEGREES`].
    pub deskew: bool,
}

impl Default for Preprocess {
    fn default() -> Self {
        // One pass on a polarity-normalised, deskewed image: on the generated
        // set recall 0.979 / 0.963 against 0.904 / 0.855 for two passes
        // (plain and inverted) and less than half the CPU (docs/REDACTION.md).
        Preprocess { upscale_below: 1600, invert: true, normalize_window: 41, deskew: true }
    }
}

impl Preprocess {
    pub const NONE: Preprocess = Preprocess { upscale_below: 0, invert: false, normalize_window: 0, deskew: false };

    pub(crate) fn run(
        &self,
        gray: &GrayImage,
        recognize: &mut dyn FnMut(&GrayImage) -> Result<Vec<Word>, OcrError>,
    ) -> Result<Vec<Word>, OcrError> {
        // Polarity and skew at the original size; then the upscale. No copy
        // of the picture is made that a pass does not need.
        let norm = (self.normalize_window > 0).then(|| normalize_polarity(gray, self.normalize_window));
        let rotated = match &norm {
            Some(n) if self.deskew => {
                let skew = crate::deskew::estimate(n);
                // The new corners take the background's value: a white frame
                // around a light grey picture would split Tesseract's global
                // threshold between the two and lose the text.
                (skew.abs() >= crate::deskew::MIN_DEGREES).then(|| crate::deskew::Rotated::new(n, skew, median(n)))
            }
            _ => None,
        };
        let upright: &GrayImage = match (&rotated, &norm) {
            (Some(r), _) => &r.image,
            (None, Some(n)) => n,
            (None, None) => gray,
        };
        let long = upright.width().max(upright.height());
        let scale = if self.upscale_below > 0 && long <= self.upscale_below { 2 } else { 1 };
        let scaled = (scale > 1).then(|| {
            imageops::resize(upright, upright.width() * scale, upright.height() * scale, FilterType::Triangle)
        });
        let base = scaled.as_ref().unwrap_or(upright);
        let mut words = recognize(base)?;
        if self.invert && norm.is_none() {
            let mut inv = base.clone();
            imageops::invert(&mut inv);
            let more = recognize(&inv)?;
            words = merge(words, more);
        }
        for w in &mut words {
            w.rect = unscale(w.rect, scale, upright.width(), upright.height());
            if let Some(r) = &rotated {
                w.rect = r.rect_to_original(w.rect);
            }
        }
        Ok(words)
    }
}

/// How much darker than its local background a pixel must be to stay ink.
const WHITEN_BELOW_BACKGROUND: i32 = 12;

/// Dark text on light everywhere: a pixel whose local background (the mean
/// over a `window`-pixel square, from an integral image) is dark is inverted.
pub(crate) fn normalize_polarity(img: &GrayImage, window: u32) -> GrayImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let src = img.as_raw();
    let mut integral = vec![0u64; (w + 1) * (h + 1)];
    for y in 0..h {
        let mut row = 0u64;
        for x in 0..w {
            row += u64::from(src[y * w + x]);
            integral[(y + 1) * (w + 1) + x + 1] = integral[y * (w + 1) + x + 1] + row;
        }
    }
    let r = (window / 2).max(1) as usize;
    let mut out = img.clone();
    let dst: &mut [u8] = &mut out;
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
            let sum = integral[y1 * (w + 1) + x1] + integral[y0 * (w + 1) + x0]
                - integral[y0 * (w + 1) + x1]
                - integral[y1 * (w + 1) + x0];
            let n = ((y1 - y0) * (x1 - x0)) as u64;
            let mean = (sum / n.max(1)) as i32;
            let (v, bg) = if mean < 128 {
                (255 - i32::from(src[y * w + x]), 255 - mean)
            } else {
                (i32::from(src[y * w + x]), mean)
            };
            // Not clearly darker than its background: background (white).
            // Sensor and JPEG noise would otherwise be read as thousands of
            // specks (one noisy dark photo took 24 s of Tesseract).
            dst[y * w + x] = if v + WHITEN_BELOW_BACKGROUND > bg { 255 } else { v as u8 };
        }
    }
    out
}

/// The median pixel value.
fn median(img: &GrayImage) -> u8 {
    let mut hist = [0u64; 256];
    for p in img.as_raw() {
        hist[usize::from(*p)] += 1;
    }
    let half = img.as_raw().len() as u64 / 2;
    let mut seen = 0;
    for (v, n) in hist.iter().enumerate() {
        seen += n;
        if seen > half {
            return v as u8;
        }
    }
    255
}

/// Boxes of an image scaled by `s`, back in the original's pixels (grown
/// outward, clipped).
fn unscale(r: Rect, s: u32, width: u32, height: u32) -> Rect {
    if s == 1 {
        return r;
    }
    let x0 = r.x / s;
    let y0 = r.y / s;
    let x1 = r.right().div_ceil(s).min(width);
    let y1 = r.bottom().div_ceil(s).min(height);
    Rect { x: x0, y: y0, w: x1.saturating_sub(x0).max(1), h: y1.saturating_sub(y0).max(1) }
}

/// Union of two passes: a word of `b` that overlaps a word of `a` by more than
/// half of the smaller box replaces it only if more confident.
pub(crate) fn merge(mut a: Vec<Word>, b: Vec<Word>) -> Vec<Word> {
    for w in b {
        let hit = a.iter().position(|x| {
            let small = x.rect.area().min(w.rect.area()).max(1);
            x.rect.overlap(&w.rect) * 2 > small
        });
        match hit {
            Some(i) if a[i].conf < w.conf => a[i] = w,
            Some(_) => {}
            None => a.push(w),
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(t: &str, conf: f32, x: u32, y: u32, ww: u32, h: u32) -> Word {
        Word { text: t.into(), conf, rect: Rect { x, y, w: ww, h } }
    }

    #[test]
    fn unscale_grows_outward_and_clips() {
        assert_eq!(unscale(Rect { x: 3, y: 5, w: 4, h: 4 }, 2, 100, 100), Rect { x: 1, y: 2, w: 3, h: 3 });
        assert_eq!(unscale(Rect { x: 190, y: 0, w: 20, h: 2 }, 2, 100, 100), Rect { x: 95, y: 0, w: 5, h: 1 });
    }

    #[test]
    fn merge_keeps_the_more_confident_duplicate_and_adds_new_words() {
        let a = vec![w("D0E", 40.0, 0, 0, 30, 10), w("MRN", 90.0, 50, 0, 30, 10)];
        let b = vec![w("DOE", 91.0, 2, 1, 30, 10), w("MRM", 10.0, 50, 0, 30, 10), w("x", 50.0, 0, 50, 5, 5)];
        let m = merge(a, b);
        let texts: Vec<&str> = m.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["DOE", "MRN", "x"]);
    }

    #[test]
    fn passes_run_and_boxes_come_back_in_original_pixels() {
        let img = GrayImage::new(100, 50);
        let mut sizes = Vec::new();
        let mut fake = |g: &GrayImage| {
            sizes.push((g.width(), g.height(), g.get_pixel(0, 0).0[0]));
            Ok(vec![w("A", 50.0, 20, 20, 40, 20)])
        };
        let two = Preprocess { normalize_window: 0, deskew: false, ..Preprocess::default() };
        let words = two.run(&img, &mut fake).unwrap_or_default();
        assert_eq!(sizes, [(200, 100, 0), (200, 100, 255)]);
        assert_eq!(words, vec![w("A", 50.0, 10, 10, 20, 10)]);
        let mut n = 0;
        let words = Preprocess::NONE
            .run(&img, &mut |_| {
                n += 1;
                Ok(vec![w("A", 50.0, 20, 20, 40, 20)])
            })
            .unwrap_or_default();
        assert_eq!((n, words[0].rect), (1, Rect { x: 20, y: 20, w: 40, h: 20 }));
    }

    #[test]
    fn the_default_reads_once_with_dark_regions_inverted() {
        // A dark monitor background with a light stroke (no skew to find).
        let mut img = GrayImage::from_pixel(200, 100, image::Luma([20]));
        for x in 20..180 {
            img.put_pixel(x, 50, image::Luma([25]));
        }
        let mut seen = Vec::new();
        let words = Preprocess::default()
            .run(&img, &mut |g| {
                seen.push((g.width(), g.get_pixel(10, 10).0[0], g.get_pixel(390, 10).0[0]));
                Ok(vec![w("A", 50.0, 20, 20, 40, 20)])
            })
            .unwrap_or_default();
        assert_eq!(seen, [(400, 255, 255)], "one pass, 2x, the dark background inverted and whitened");
        assert_eq!(words, vec![w("A", 50.0, 10, 10, 20, 10)]);
    }

    #[test]
    fn polarity_follows_the_local_background() {
        let mut img = GrayImage::from_pixel(120, 60, image::Luma([10]));
        img.put_pixel(60, 30, image::Luma([250])); // a light stroke on dark
        let n = normalize_polarity(&img, 41);
        assert_eq!((n.get_pixel(5, 5).0[0], n.get_pixel(60, 30).0[0]), (255, 5), "dark on light after");
        // On a light background ink is kept, noise close to the background goes.
        let mut light = GrayImage::from_pixel(50, 50, image::Luma([200]));
        light.put_pixel(10, 10, image::Luma([195])); // noise
        light.put_pixel(20, 20, image::Luma([60])); // ink
        let n = normalize_polarity(&light, 41);
        assert_eq!((n.get_pixel(1, 1).0[0], n.get_pixel(10, 10).0[0], n.get_pixel(20, 20).0[0]), (255, 255, 60));
    }
}
