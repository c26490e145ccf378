//! Mask validation, clipping and painting.

use image::{RgbImage, RgbaImage};
use serde::{Deserialize, Serialize};

/// A rectangle to black out, in pixels of the *upright* image (after EXIF
/// orientation is applied). JSON: `{"x":10,"y":20,"w":100,"h":50}`; unknown
/// fields are rejected so a typo cannot silently drop a mask.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[serde(deny_unknown_fields)]
pub struct Mask {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// Upper bound on masks per image (bounds painting work per request).
pub const MAX_MASKS: usize = 1024;

/// Checks that need no image: count and non-zero area.
pub(crate) fn precheck(masks: &[Mask]) -> Result<(), String> {
    if masks.len() > MAX_MASKS {
        return Err(format!("{} masks given; at most {MAX_MASKS} allowed", masks.len()));
    }
    for (i, m) in masks.iter().enumerate() {
        if m.w == 0 || m.h == 0 {
            return Err(format!("mask {i} has zero area ({}x{})", m.w, m.h));
        }
    }
    Ok(())
}

/// Clip every mask to a `width`×`height` image. A mask that lies entirely
/// outside the image (or has zero area) is an error: whoever drew it believed it
/// covered something.
pub(crate) fn clip_all(masks: &[Mask], width: u32, height: u32) -> Result<Vec<Mask>, String> {
    precheck(masks)?;
    masks
        .iter()
        .enumerate()
        .map(|(i, m)| {
            clip(m, width, height).ok_or_else(|| {
                format!("mask {i} ({},{} {}x{}) lies entirely outside the {width}x{height} image", m.x, m.y, m.w, m.h)
            })
        })
        .collect()
}

fn clip(m: &Mask, width: u32, height: u32) -> Option<Mask> {
    let x1 = (u64::from(m.x) + u64::from(m.w)).min(u64::from(width));
    let y1 = (u64::from(m.y) + u64::from(m.h)).min(u64::from(height));
    let (x0, y0) = (u64::from(m.x), u64::from(m.y));
    if x0 >= x1 || y0 >= y1 {
        return None;
    }
    // x1, y1 <= width/height, so the conversions are lossless.
    Some(Mask { x: m.x, y: m.y, w: u32::try_from(x1 - x0).ok()?, h: u32::try_from(y1 - y0).ok()? })
}

/// Grow a (clipped) mask outward to the `block`×`block` grid, clipped to the
/// image. Used for JPEG output so every masked pixel sits in an all-black DCT
/// block and decodes to exactly (0,0,0) instead of a near-black ringing edge.
pub(crate) fn align_to_grid(m: &Mask, block: u32, width: u32, height: u32) -> Mask {
    let x0 = m.x - m.x % block;
    let y0 = m.y - m.y % block;
    let round_up = |v: u64| v.div_ceil(u64::from(block)) * u64::from(block);
    let x1 = round_up(u64::from(m.x) + u64::from(m.w)).min(u64::from(width));
    let y1 = round_up(u64::from(m.y) + u64::from(m.h)).min(u64::from(height));
    Mask {
        x: x0,
        y: y0,
        w: u32::try_from(x1 - u64::from(x0)).unwrap_or(0),
        h: u32::try_from(y1 - u64::from(y0)).unwrap_or(0),
    }
}

/// Paint opaque black; masks must already be clipped to the image.
pub(crate) fn paint_rgb(img: &mut RgbImage, masks: &[Mask]) {
    let width = img.width() as usize;
    paint(img, width, &[0, 0, 0], masks);
}

/// Paint opaque black (alpha 255); masks must already be clipped to the image.
pub(crate) fn paint_rgba(img: &mut RgbaImage, masks: &[Mask]) {
    let width = img.width() as usize;
    paint(img, width, &[0, 0, 0, 255], masks);
}

/// Fill every masked pixel of a packed buffer with `pixel` (one value per channel).
fn paint(buf: &mut [u8], width: usize, pixel: &[u8], masks: &[Mask]) {
    let channels = pixel.len();
    let stride = width * channels;
    for m in masks {
        for row in m.y as usize..(m.y as usize + m.h as usize) {
            let start = row * stride + m.x as usize * channels;
            let end = start + m.w as usize * channels;
            if let Some(px) = buf.get_mut(start..end) {
                for p in px.chunks_exact_mut(channels) {
                    p.copy_from_slice(pixel);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(x: u32, y: u32, w: u32, h: u32) -> Mask {
        Mask { x, y, w, h }
    }

    #[test]
    fn clips_partial_masks() {
        assert_eq!(clip_all(&[m(90, 40, 50, 50)], 100, 50), Ok(vec![m(90, 40, 10, 10)]));
        assert_eq!(clip_all(&[m(0, 0, u32::MAX, u32::MAX)], 100, 50), Ok(vec![m(0, 0, 100, 50)]));
    }

    #[test]
    fn rejects_outside_and_empty() {
        assert!(clip_all(&[m(100, 0, 5, 5)], 100, 50).is_err());
        assert!(clip_all(&[m(0, 50, 5, 5)], 100, 50).is_err());
        assert!(clip_all(&[m(u32::MAX, u32::MAX, u32::MAX, u32::MAX)], 100, 50).is_err());
        assert!(clip_all(&[m(1, 1, 0, 5)], 100, 50).is_err());
        assert!(clip_all(&[m(1, 1, 5, 0)], 100, 50).is_err());
        assert!(precheck(&vec![m(0, 0, 1, 1); MAX_MASKS + 1]).is_err());
    }

    #[test]
    fn grid_alignment_grows_and_clips() {
        assert_eq!(align_to_grid(&m(3, 9, 2, 2), 8, 100, 50), m(0, 8, 8, 8));
        assert_eq!(align_to_grid(&m(8, 8, 8, 8), 8, 100, 50), m(8, 8, 8, 8));
        assert_eq!(align_to_grid(&m(97, 45, 3, 5), 8, 100, 50), m(96, 40, 4, 10));
    }

    #[test]
    fn paints_only_inside() {
        let mut img = RgbaImage::from_pixel(4, 3, image::Rgba([9, 9, 9, 10]));
        paint_rgba(&mut img, &[m(1, 1, 2, 1)]);
        for (x, y, p) in img.enumerate_pixels() {
            let inside = (1..3).contains(&x) && y == 1;
            assert_eq!(p.0 == [0, 0, 0, 255], inside, "{x},{y}");
        }
        let mut img = RgbImage::from_pixel(4, 3, image::Rgb([9, 9, 9]));
        paint_rgb(&mut img, &[m(3, 0, 1, 3)]);
        for (x, _, p) in img.enumerate_pixels() {
            assert_eq!(p.0 == [0, 0, 0], x == 3);
        }
    }
}
