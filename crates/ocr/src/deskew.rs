//! Skew of the text in an image and its correction before Tesseract, which
//! reads lines rotated by more than a degree or two poorly in sparse mode.
//! Sans-IO pixel work: estimate by projection profiles, rotate on a canvas
//! that keeps the whole picture, map word boxes back to the original.

use image::{GrayImage, Luma};

use crate::Rect;

/// Angles tried, in degrees either side of horizontal.
const MAX_DEGREES: f32 = 12.0;
const STEP_DEGREES: f32 = 0.5;
/// Below this the image is read as it is.
pub const MIN_DEGREES: f32 = 1.0;

/// The text lines' angle in degrees (image coordinates, y down: positive
/// means lines fall to the right), from dark pixels of a dark-on-light image:
/// the angle whose perpendicular projection has the sharpest peaks.
pub fn estimate(img: &GrayImage) -> f32 {
    let step = (img.width().max(img.height()) / 640).max(1);
    let mut ink = Vec::new();
    for y in (0..img.height()).step_by(step as usize) {
        for x in (0..img.width()).step_by(step as usize) {
            if img.get_pixel(x, y).0[0] < 96 {
                ink.push(((x / step) as f32, (y / step) as f32));
            }
        }
    }
    // Too little ink, or mostly ink (a dark photo): nothing to learn.
    let cells = (img.width() / step) as usize * (img.height() / step) as usize;
    if ink.len() < 50 || ink.len() * 3 > cells {
        return 0.0;
    }
    let diag = ((img.width() / step) as f32).hypot((img.height() / step) as f32) as usize + 2;
    let mut bins = vec![0u32; 2 * diag];
    let (mut best, mut best_score, mut level) = (0.0f32, 0u64, 0u64);
    let steps = (MAX_DEGREES / STEP_DEGREES) as i32;
    for i in -steps..=steps {
        let deg = i as f32 * STEP_DEGREES;
        let (s, c) = deg.to_radians().sin_cos();
        bins.iter_mut().for_each(|b| *b = 0);
        for &(x, y) in &ink {
            let t = (y * c - x * s) as isize + diag as isize;
            if let Some(b) = bins.get_mut(t.max(0) as usize) {
                *b += 1;
            }
        }
        let score: u64 = bins.iter().map(|&b| u64::from(b) * u64::from(b)).sum();
        if i == 0 {
            level = score;
        }
        // Ties go to the angle nearer zero.
        if score > best_score || (score == best_score && deg.abs() < best.abs()) {
            best = deg;
            best_score = score;
        }
    }
    // A profile no sharper than the upright one leaves the image alone.
    if best_score <= level {
        return 0.0;
    }
    best
}

/// An image rotated so that lines at `degrees` become horizontal, on a
/// canvas large enough for the whole picture (new area filled with `fill`).
pub struct Rotated {
    pub image: GrayImage,
    cos: f32,
    sin: f32,
    /// Centres of the original and of the rotated canvas.
    c: (f32, f32),
    c2: (f32, f32),
    width: u32,
    height: u32,
}

impl Rotated {
    pub fn new(img: &GrayImage, degrees: f32, fill: u8) -> Rotated {
        let (sin, cos) = degrees.to_radians().sin_cos();
        let (w, h) = (img.width() as f32, img.height() as f32);
        let w2 = (w * cos.abs() + h * sin.abs()).ceil() as u32;
        let h2 = (w * sin.abs() + h * cos.abs()).ceil() as u32;
        let mut r = Rotated {
            image: GrayImage::from_pixel(w2.max(1), h2.max(1), Luma([fill])),
            cos,
            sin,
            c: (w / 2.0, h / 2.0),
            c2: (w2 as f32 / 2.0, h2 as f32 / 2.0),
            width: img.width(),
            height: img.height(),
        };
        for y in 0..r.image.height() {
            for x in 0..r.image.width() {
                let (sx, sy) = r.to_original(x as f32 + 0.5, y as f32 + 0.5);
                if let Some(v) = bilinear(img, sx - 0.5, sy - 0.5) {
                    r.image.put_pixel(x, y, Luma([v]));
                }
            }
        }
        r
    }

    /// A point of the rotated canvas in the original's coordinates.
    fn to_original(&self, x: f32, y: f32) -> (f32, f32) {
        let (dx, dy) = (x - self.c2.0, y - self.c2.1);
        (self.c.0 + self.cos * dx - self.sin * dy, self.c.1 + self.sin * dx + self.cos * dy)
    }

    /// A box of the rotated canvas as the upright box covering it in the
    /// original (grown outward, clipped).
    pub fn rect_to_original(&self, r: Rect) -> Rect {
        let corners = [(r.x, r.y), (r.right(), r.y), (r.x, r.bottom()), (r.right(), r.bottom())]
            .map(|(x, y)| self.to_original(x as f32, y as f32));
        let min_x = corners.iter().map(|p| p.0).fold(f32::INFINITY, f32::min).floor().max(0.0);
        let min_y = corners.iter().map(|p| p.1).fold(f32::INFINITY, f32::min).floor().max(0.0);
        let max_x = corners.iter().map(|p| p.0).fold(f32::NEG_INFINITY, f32::max).ceil().min(self.width as f32);
        let max_y = corners.iter().map(|p| p.1).fold(f32::NEG_INFINITY, f32::max).ceil().min(self.height as f32);
        let (x, y) = (min_x as u32, min_y as u32);
        Rect { x, y, w: ((max_x - min_x).max(1.0)) as u32, h: ((max_y - min_y).max(1.0)) as u32 }
    }
}

fn bilinear(img: &GrayImage, x: f32, y: f32) -> Option<u8> {
    if img.width() == 0 || img.height() == 0 || x < 0.0 || y < 0.0 {
        return None;
    }
    if x > (img.width() - 1) as f32 || y > (img.height() - 1) as f32 {
        return None;
    }
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(img.width() - 1), (y0 + 1).min(img.height() - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let p = |x, y| f32::from(img.get_pixel(x, y).0[0]);
    let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
    let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
    Some((top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dark horizontal bars (text lines) on white, rotated by `deg` with the
    /// module's own rotation (so the sign convention is the module's).
    fn lines_at(deg: f32) -> GrayImage {
        let mut img = GrayImage::from_pixel(400, 300, Luma([255]));
        for row in 0..6 {
            for y in 40 + row * 40..48 + row * 40 {
                for x in 60..340 {
                    img.put_pixel(x, y, Luma([0]));
                }
            }
        }
        Rotated::new(&img, -deg, 255).image
    }

    #[test]
    fn finds_the_angle_of_the_lines() {
        for deg in [-8.0, -3.0, 0.0, 2.5, 7.0] {
            let got = estimate(&lines_at(deg));
            assert!((got - deg).abs() <= 0.5, "lines at {deg}°: estimated {got}°");
        }
    }

    #[test]
    fn too_little_or_too_much_ink_is_no_skew() {
        assert_eq!(estimate(&GrayImage::from_pixel(200, 100, Luma([255]))), 0.0);
        assert_eq!(estimate(&GrayImage::from_pixel(200, 100, Luma([0]))), 0.0);
    }

    #[test]
    fn boxes_map_back_covering_what_they_covered() {
        let img = GrayImage::from_pixel(300, 200, Luma([255]));
        let r = Rotated::new(&img, 5.0, 255);
        assert!(r.image.width() > 300 && r.image.height() > 200, "the canvas grows");
        // The rotated canvas's centre maps to the original's centre.
        let b = r.rect_to_original(Rect { x: r.image.width() / 2 - 10, y: r.image.height() / 2 - 5, w: 20, h: 10 });
        assert!(b.x <= 140 && b.right() >= 160 && b.y <= 95 && b.bottom() >= 105, "{b:?}");
        // A box past the picture is clipped to it.
        let edge = r.rect_to_original(Rect { x: 0, y: 0, w: 5, h: 5 });
        assert!(edge.right() <= 300 && edge.bottom() <= 200, "{edge:?}");
        // With zero rotation boxes are unchanged.
        let z = Rotated::new(&img, 0.0, 255);
        assert_eq!(z.rect_to_original(Rect { x: 10, y: 20, w: 30, h: 40 }), Rect { x: 10, y: 20, w: 30, h: 40 });
    }
}
