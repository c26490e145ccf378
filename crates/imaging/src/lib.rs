//! Image sanitizer for orgallery.
//!
//! Every still image passes [`clean`] before any viewer or disk sees it:
//!
//! 1. size check ([`Limits::max_bytes`]) and mask pre-check (count, zero area);
//! 2. format detection from magic bytes ([`sniff`]) — JPEG, PNG, WebP only;
//! 3. header-only dimension read and decompression-bomb guard
//!    ([`Limits::max_pixels`]), plus a structural walk that rejects truncated
//!    files; decoder resource limits are set as a second line of defence;
//! 4. EXIF orientation is read and masks are validated against the *upright*
//!    size (partly outside → clipped, entirely outside → [`CleanError::BadMask`]);
//! 5. pixels are decoded, oriented, masks painted opaque black;
//! 6. pixels are re-encoded with no metadata (JPEG q85 if fully opaque, PNG if any
//!    pixel is not opaque);
//! 7. the output is checked against a marker/chunk allow-list ([`verify_clean`]);
//!    bytes that fail are never returned.

mod decode;
mod encode;
mod mask;
mod sniff;
mod verify;

use image::DynamicImage;

pub use encode::JPEG_QUALITY;
pub use mask::{Mask, MAX_MASKS};
pub use sniff::{sniff, InputFormat};

/// Resource limits for one [`clean`] call.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted upload in bytes. Default 20 MiB.
    pub max_bytes: usize,
    /// Largest accepted `width * height` as declared by the header. Default 50
    /// megapixels.
    pub max_pixels: u64,
}

impl Limits {
    pub const DEFAULT_MAX_BYTES: usize = 20 * 1024 * 1024;
    pub const DEFAULT_MAX_PIXELS: u64 = 50_000_000;
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: Self::DEFAULT_MAX_BYTES, max_pixels: Self::DEFAULT_MAX_PIXELS }
    }
}

/// Format of a cleaned image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    Jpeg,
    Png,
}

impl OutputFormat {
    /// `image/jpeg` or `image/png`.
    pub fn content_type(&self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Png => "image/png",
        }
    }

    /// `jpg` or `png` (no dot).
    pub fn extension(&self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpg",
            OutputFormat::Png => "png",
        }
    }
}

/// A sanitized image. `bytes` has passed [`verify_clean`] for `format`.
#[derive(Debug)]
pub struct CleanImage {
    pub bytes: Vec<u8>,
    pub format: OutputFormat,
    /// Upright width (after EXIF orientation).
    pub width: u32,
    /// Upright height (after EXIF orientation).
    pub height: u32,
    /// The rectangles actually painted, one per input mask in the same order:
    /// clipped to the image and, for JPEG output, grown outward to the 8×8 block
    /// grid (so masked pixels decode to exact black). Useful for audit logs.
    pub painted: Vec<Mask>,
}

/// Why an image was refused. Suggested HTTP status: [`CleanError::http_status`].
#[derive(Debug, thiserror::Error)]
pub enum CleanError {
    /// Upload larger than [`Limits::max_bytes`].
    #[error("upload is {size} bytes; the limit is {max} bytes")]
    TooLarge { size: usize, max: usize },
    /// Declared dimensions exceed [`Limits::max_pixels`].
    #[error("image is {width}x{height} pixels; the limit is {max_pixels} pixels")]
    PixelLimit { width: u32, height: u32, max_pixels: u64 },
    /// Not JPEG, PNG or WebP (by magic bytes).
    #[error("unsupported image format; accepted: JPEG, PNG, WebP")]
    Unsupported,
    /// Recognised format, but truncated, corrupt or using an unsupported feature.
    #[error("image could not be decoded: {0}")]
    Undecodable(String),
    /// A mask has zero area, lies entirely outside the image, or there are too many.
    #[error("bad mask: {0}")]
    BadMask(String),
    /// Encoding or output verification failed. Never accompanied by bytes.
    #[error("internal image error: {0}")]
    Internal(String),
}

impl CleanError {
    /// 413 for TooLarge/PixelLimit, 415 for Unsupported/Undecodable, 422 for
    /// BadMask, 500 for Internal.
    pub fn http_status(&self) -> u16 {
        match self {
            CleanError::TooLarge { .. } | CleanError::PixelLimit { .. } => 413,
            CleanError::Unsupported | CleanError::Undecodable(_) => 415,
            CleanError::BadMask(_) => 422,
            CleanError::Internal(_) => 500,
        }
    }
}

/// Check `bytes` against the output allow-list for `format`.
///
/// JPEG: SOI, optional bare JFIF APP0 (no thumbnail) directly after SOI, DQT,
/// DHT, exactly one SOF0 or SOF2, DRI, SOS + entropy data (with RSTn), EOI, and
/// nothing after EOI. PNG: IHDR first, PLTE, tRNS, consecutive IDAT, empty IEND,
/// valid CRCs, nothing after IEND. Everything else (APPn, COM, tEXt, iCCP, eXIf,
/// gAMA, sRGB, …) is rejected. Pure; never panics.
pub fn verify_clean(bytes: &[u8], format: OutputFormat) -> Result<(), String> {
    verify_dims(bytes, format).map(|_| ())
}

fn verify_dims(bytes: &[u8], format: OutputFormat) -> Result<(u32, u32), String> {
    match format {
        OutputFormat::Jpeg => verify::verify_jpeg(bytes),
        OutputFormat::Png => verify::verify_png(bytes),
    }
}

fn check_pixels(width: u32, height: u32, limits: &Limits) -> Result<(), CleanError> {
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(CleanError::PixelLimit { width, height, max_pixels: limits.max_pixels });
    }
    if width == 0 || height == 0 {
        return Err(CleanError::Undecodable("image has a zero dimension".into()));
    }
    Ok(())
}

/// Sanitize one uploaded image: decode, apply EXIF orientation, paint `masks`
/// (pixel rectangles of the upright image) opaque black, re-encode without any
/// metadata, and verify the result. See the crate docs for the full pipeline.
pub fn clean(input: &[u8], masks: &[Mask], limits: &Limits) -> Result<CleanImage, CleanError> {
    clean_with(input, masks, limits, |_| Ok(Vec::new())).map(|(c, _)| c)
}

/// [`clean`] with a hook that sees the decoded, upright pixels before any mask
/// is painted and proposes more masks (OCR). Proposed masks are clipped to the
/// image (those entirely outside are dropped) and painted with the caller's;
/// the second value is the proposed masks as painted (clipped and, for JPEG,
/// grid-aligned). An error from the hook fails the whole call: an image whose
/// text could not be checked is never returned.
pub fn clean_with(
    input: &[u8],
    masks: &[Mask],
    limits: &Limits,
    propose: impl FnOnce(&DynamicImage) -> Result<Vec<Mask>, CleanError>,
) -> Result<(CleanImage, Vec<Mask>), CleanError> {
    if input.len() > limits.max_bytes {
        return Err(CleanError::TooLarge { size: input.len(), max: limits.max_bytes });
    }
    mask::precheck(masks).map_err(CleanError::BadMask)?;
    let format = sniff(input).ok_or(CleanError::Unsupported)?;

    // Bomb guard from the header alone, before any decoder runs.
    let header = sniff::header(input, format);
    if let Some((w, h)) = header.dims {
        check_pixels(w, h, limits)?;
    }
    header.structure.map_err(CleanError::Undecodable)?;
    if header.dims.is_none() {
        return Err(CleanError::Undecodable("no image dimensions in header".into()));
    }

    let mut decoder = decode::open(input, format, limits)?;
    let (dw, dh) = image::ImageDecoder::dimensions(&decoder);
    check_pixels(dw, dh, limits)?;
    let orientation = decode::orientation(&mut decoder)?;
    let (width, height) = if decode::swaps_axes(orientation) { (dh, dw) } else { (dw, dh) };
    let clipped = mask::clip_all(masks, width, height).map_err(CleanError::BadMask)?;

    let mut img = decode::pixels(decoder)?;
    if (img.width(), img.height()) != (dw, dh) {
        return Err(CleanError::Internal("decoded size differs from header".into()));
    }
    decode::orient(&mut img, orientation)?;
    if (img.width(), img.height()) != (width, height) {
        return Err(CleanError::Internal("unexpected size after orientation".into()));
    }
    let proposed = propose(&img)?;
    let mut clipped = clipped;
    let own = clipped.len();
    clipped.extend(
        proposed
            .iter()
            .filter(|m| m.w > 0 && m.h > 0)
            .filter_map(|m| mask::clip_all(&[*m], width, height).ok())
            .flatten(),
    );

    let (bytes, out_format, mut painted) = render(img, &clipped)?;
    let verified = verify_dims(&bytes, out_format)
        .map_err(|e| CleanError::Internal(format!("output failed verification: {e}")))?;
    if verified != (width, height) {
        return Err(CleanError::Internal("output dimensions differ from input".into()));
    }
    let extra = painted.split_off(own);
    Ok((CleanImage { bytes, format: out_format, width, height, painted }, extra))
}

type Rendered = (Vec<u8>, OutputFormat, Vec<Mask>);

/// Convert to 8-bit, paint masks and encode. PNG (RGBA) if any pixel is not
/// fully opaque, otherwise JPEG (or RGB PNG if a side exceeds JPEG's 65535).
fn render(img: DynamicImage, masks: &[Mask]) -> Result<Rendered, CleanError> {
    let internal = CleanError::Internal;
    if img.color().has_alpha() {
        let mut rgba = img.into_rgba8();
        if rgba.pixels().any(|p| p.0[3] != 255) {
            // Fully transparent pixels are invisible but keep their colour
            // values, which can hold "erased" content. Zero them.
            for p in rgba.pixels_mut() {
                if p.0[3] == 0 {
                    p.0 = [0, 0, 0, 0];
                }
            }
            mask::paint_rgba(&mut rgba, masks);
            let bytes = encode::png_rgba(&rgba).map_err(internal)?;
            return Ok((bytes, OutputFormat::Png, masks.to_vec()));
        }
        return render_opaque(DynamicImage::ImageRgba8(rgba).into_rgb8(), masks);
    }
    render_opaque(img.into_rgb8(), masks)
}

fn render_opaque(mut rgb: image::RgbImage, masks: &[Mask]) -> Result<Rendered, CleanError> {
    let (w, h) = rgb.dimensions();
    if w > encode::JPEG_MAX_SIDE || h > encode::JPEG_MAX_SIDE {
        mask::paint_rgb(&mut rgb, masks);
        let bytes = encode::png_rgb(&rgb).map_err(CleanError::Internal)?;
        return Ok((bytes, OutputFormat::Png, masks.to_vec()));
    }
    let aligned: Vec<Mask> = masks.iter().map(|m| mask::align_to_grid(m, encode::JPEG_BLOCK, w, h)).collect();
    mask::paint_rgb(&mut rgb, &aligned);
    let bytes = encode::jpeg(&rgb).map_err(CleanError::Internal)?;
    Ok((bytes, OutputFormat::Jpeg, aligned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_names() {
        let l = Limits::default();
        assert_eq!(l.max_bytes, 20 * 1024 * 1024);
        assert_eq!(l.max_pixels, 50_000_000);
        assert_eq!(OutputFormat::Jpeg.content_type(), "image/jpeg");
        assert_eq!(OutputFormat::Png.content_type(), "image/png");
        assert_eq!(OutputFormat::Jpeg.extension(), "jpg");
        assert_eq!(OutputFormat::Png.extension(), "png");
        assert_eq!(CleanError::Unsupported.http_status(), 415);
        assert_eq!(CleanError::BadMask(String::new()).http_status(), 422);
    }
}
