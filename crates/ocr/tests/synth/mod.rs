//! Text rendering for the labelled OCR image set (tests, generator, scorer).
#![allow(dead_code)]

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use image::{Rgb, RgbImage};
use orgallery_ocr::Rect;

pub const FONT_DIR: &str = "/usr/share/fonts/truetype/dejavu";
pub const FONTS: &[&str] =
    &["DejaVuSans.ttf", "DejaVuSansMono.ttf", "DejaVuSerif.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansCondensed.ttf"];

pub fn font(name: &str) -> FontVec {
    let bytes = std::fs::read(format!("{FONT_DIR}/{name}"))
        .unwrap_or_else(|e| panic!("font {name}: {e} (apt-get install fonts-dejavu-core)"));
    FontVec::try_from_vec(bytes).expect("a TrueType font")
}

/// Draw `text` with its top-left at (x, y), `px` pixels high; returns each
/// word's box (advance width × line height).
pub fn draw(
    img: &mut RgbImage,
    f: &FontVec,
    px: f32,
    x: f32,
    y: f32,
    text: &str,
    color: [u8; 3],
) -> Vec<(String, Rect)> {
    let sf = f.as_scaled(PxScale::from(px));
    let baseline = y + sf.ascent();
    let mut pen = x;
    let mut words = Vec::new();
    let mut cur: Option<(String, f32)> = None;
    let mut prev = None;
    for ch in text.chars() {
        let id = sf.glyph_id(ch);
        if let Some(p) = prev {
            pen += sf.kern(p, id);
        }
        if ch == ' ' {
            if let Some((w, x0)) = cur.take() {
                words.push((w, rect(x0, y, pen, y + sf.ascent() - sf.descent())));
            }
        } else {
            let e = cur.get_or_insert_with(|| (String::new(), pen));
            e.0.push(ch);
            let g = id.with_scale_and_position(PxScale::from(px), ab_glyph::point(pen, baseline));
            if let Some(o) = f.outline_glyph(g) {
                let b = o.px_bounds();
                o.draw(|gx, gy, c| {
                    let (px_, py_) = (b.min.x as i64 + i64::from(gx), b.min.y as i64 + i64::from(gy));
                    if px_ >= 0 && py_ >= 0 && (px_ as u32) < img.width() && (py_ as u32) < img.height() {
                        let p = img.get_pixel_mut(px_ as u32, py_ as u32);
                        for (v, &t) in p.0.iter_mut().zip(&color) {
                            *v = (f32::from(*v) * (1.0 - c) + f32::from(t) * c).round() as u8;
                        }
                    }
                });
            }
        }
        pen += sf.h_advance(id);
        prev = Some(id);
    }
    if let Some((w, x0)) = cur.take() {
        words.push((w, rect(x0, y, pen, y + sf.ascent() - sf.descent())));
    }
    words
}

fn rect(x0: f32, y0: f32, x1: f32, y1: f32) -> Rect {
    let (x0, y0) = (x0.max(0.0).floor() as u32, y0.max(0.0).floor() as u32);
    let (x1, y1) = (x1.ceil() as u32, y1.ceil() as u32);
    Rect { x: x0, y: y0, w: x1.saturating_sub(x0).max(1), h: y1.saturating_sub(y0).max(1) }
}

pub fn fill(img: &mut RgbImage, r: Rect, c: [u8; 3]) {
    for y in r.y..r.bottom().min(img.height()) {
        for x in r.x..r.right().min(img.width()) {
            img.put_pixel(x, y, Rgb(c));
        }
    }
}

/// The monitor banner used by the engine test and the e2e fixture: a dark
/// anaesthesia-monitor header with the patient's name, MRN and DOB in light
/// text, vitals in green and a drug infusion line in dark-on-light.
/// Returns the image and labelled word boxes: (text, box, is_phi).
pub fn monitor_banner() -> (RgbImage, Vec<(String, Rect, bool)>) {
    let (w, h) = (960, 540);
    let mut img = RgbImage::from_pixel(w, h, Rgb([12, 16, 28]));
    let sans = font("DejaVuSans.ttf");
    let mono = font("DejaVuSansMono.ttf");
    let mut out = Vec::new();
    let mut add = |v: Vec<(String, Rect)>, phi: &dyn Fn(&str) -> bool| {
        for (t, r) in v {
            let p = phi(&t);
            out.push((t, r, p));
        }
    };
    let phi_words = ["DOE,", "JOHN", "12-345-678", "03/14/1961"];
    let is_phi = |t: &str| phi_words.contains(&t);
    add(draw(&mut img, &sans, 30.0, 24.0, 20.0, "Patient: DOE, JOHN", [235, 235, 235]), &is_phi);
    add(draw(&mut img, &sans, 30.0, 520.0, 20.0, "MRN: 12-345-678", [235, 235, 235]), &is_phi);
    add(draw(&mut img, &sans, 24.0, 24.0, 70.0, "DOB: 03/14/1961", [200, 200, 200]), &is_phi);
    add(draw(&mut img, &mono, 44.0, 24.0, 180.0, "HR 72   SpO2 98%", [60, 230, 90]), &|_| false);
    add(draw(&mut img, &mono, 36.0, 24.0, 260.0, "NIBP 118/76", [230, 60, 60]), &|_| false);
    fill(&mut img, Rect { x: 0, y: 400, w, h: 140 }, [236, 236, 228]);
    add(draw(&mut img, &sans, 34.0, 24.0, 440.0, "Propofol 150 mg/h", [20, 20, 20]), &|_| false);
    (img, out)
}
pub mod score;
pub mod set;
