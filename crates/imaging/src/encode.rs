//! Re-encoding from raw pixels. Neither encoder is given any metadata, so the
//! output can only contain what the encoders write unprompted; `verify` then
//! checks exactly that.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder, RgbImage, RgbaImage};

/// JPEG quality used for all opaque output.
pub const JPEG_QUALITY: u8 = 85;

/// zlib level for PNG output. Measured (release, whole `clean()` of a 12 MP
/// noisy RGBA PNG): level 2 ~0.9 s → 14.3 MB; library default ~6 s → 12.3 MB;
/// "fast" ~0.45 s → 26.5 MB.
const PNG_DEFLATE_LEVEL: u8 = 2;

/// The JPEG encoder samples all three components 1×1 (no chroma subsampling),
/// so one MCU is one 8×8 block.
pub(crate) const JPEG_BLOCK: u32 = 8;

/// JPEG cannot represent sides longer than this.
pub(crate) const JPEG_MAX_SIDE: u32 = 65_535;

pub(crate) fn jpeg(img: &RgbImage) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(img.as_raw().len() / 8 + 1024);
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(img)
        .map_err(|e| format!("JPEG encoding failed: {e}"))?;
    Ok(out)
}

pub(crate) fn png_rgba(img: &RgbaImage) -> Result<Vec<u8>, String> {
    png(img.as_raw(), img.width(), img.height(), ExtendedColorType::Rgba8, 4)
}

pub(crate) fn png_rgb(img: &RgbImage) -> Result<Vec<u8>, String> {
    png(img.as_raw(), img.width(), img.height(), ExtendedColorType::Rgb8, 3)
}

fn png(raw: &[u8], w: u32, h: u32, color: ExtendedColorType, bytes_per_pixel: u64) -> Result<Vec<u8>, String> {
    // `write_image` panics on a size mismatch; make that impossible.
    if u64::from(w) * u64::from(h) * bytes_per_pixel != raw.len() as u64 {
        return Err("pixel buffer size mismatch".into());
    }
    let mut out = Vec::with_capacity(raw.len() / 2 + 1024);
    PngEncoder::new_with_quality(&mut out, CompressionType::Level(PNG_DEFLATE_LEVEL), FilterType::Adaptive)
        .write_image(raw, w, h, color)
        .map_err(|e| format!("PNG encoding failed: {e}"))?;
    Ok(out)
}
