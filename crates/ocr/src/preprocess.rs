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
}

impl Default for Preprocess {
    fn default() -> Self {
        Preprocess { upscale_below: 1600, invert: true }
    }
}

impl Preprocess {
    pub const NONE: Preprocess = Preprocess { upscale_below: 0, invert: false };

    pub(crate) fn run(
        &self,
        gray: &GrayImage,
        recognize: &mut dyn FnMut(&GrayImage) -> Result<Vec<Word>, OcrError>,
    ) -> Result<Vec<Word>, OcrError> {
        let long = gray.width().max(gray.height());
        let scale = if self.upscale_below > 0 && long <= self.upscale_below { 2 } else { 1 };
        let base = if scale > 1 {
            imageops::resize(gray, gray.width() * scale, gray.height() * scale, FilterType::Triangle)
        } else {
            gray.clone()
        };
        let mut words = recognize(&base)?;
        if self.invert {
            let mut inv = base;
            imageops::invert(&mut inv);
            let more = recognize(&inv)?;
            words = merge(words, more);
        }
        for w in &mut words {
            w.rect = unscale(w.rect, scale, gray.width(), gray.height());
        }
        Ok(words)
    }
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
        let words = Preprocess::default().run(&img, &mut fake).unwrap_or_default();
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
}
