//! Decoder construction (with resource limits), orientation and pixel decoding.
//!
//! Every call into a third-party decoder runs under `catch_unwind`: a panic in a
//! codec on hostile input becomes `Undecodable` instead of taking the request
//! (or, without a runtime that isolates tasks, the server) down.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use image::codecs::{jpeg::JpegDecoder, png::PngDecoder, webp::WebPDecoder};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError};

use crate::{CleanError, InputFormat, Limits};

/// Worst-case bytes per decoded pixel we allow for (RGBA, 16 bits per channel).
const MAX_BYTES_PER_PIXEL: u64 = 8;
/// Slack on top of the pixel buffer for decoder-internal state.
const ALLOC_SLACK: u64 = 64 * 1024 * 1024;

pub(crate) type BoxDecoder<'a> = Box<dyn ImageDecoder + 'a>;

fn image_limits(limits: &Limits) -> image::Limits {
    let side = u32::try_from(limits.max_pixels).unwrap_or(u32::MAX);
    let mut l = image::Limits::default();
    l.max_image_width = Some(side);
    l.max_image_height = Some(side);
    l.max_alloc = Some(limits.max_pixels.saturating_mul(MAX_BYTES_PER_PIXEL).saturating_add(ALLOC_SLACK));
    l
}

fn map_err(e: ImageError) -> CleanError {
    match e {
        ImageError::Unsupported(u) => CleanError::Undecodable(format!("unsupported feature: {u}")),
        ImageError::Limits(l) => CleanError::Undecodable(format!("decoder limit: {l}")),
        other => CleanError::Undecodable(other.to_string()),
    }
}

fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, CleanError>) -> Result<T, CleanError> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(CleanError::Undecodable(format!("decoder panicked during {what}"))))
}

/// Build a decoder for `input` (headers only are parsed here) with limits set.
pub(crate) fn open<'a>(input: &'a [u8], format: InputFormat, limits: &Limits) -> Result<BoxDecoder<'a>, CleanError> {
    let il = image_limits(limits);
    guarded("header parsing", || {
        let cursor = Cursor::new(input);
        let mut decoder: BoxDecoder<'a> = match format {
            InputFormat::Jpeg => Box::new(JpegDecoder::new(cursor).map_err(map_err)?),
            InputFormat::Png => Box::new(PngDecoder::with_limits(cursor, il.clone()).map_err(map_err)?),
            InputFormat::WebP => Box::new(WebPDecoder::new(cursor).map_err(map_err)?),
        };
        decoder.set_limits(il).map_err(map_err)?;
        Ok(decoder)
    })
}

/// EXIF orientation as reported by the decoder. An unreadable EXIF block means
/// "no transform" (the decoder already treats a malformed tag that way).
pub(crate) fn orientation(decoder: &mut BoxDecoder<'_>) -> Result<Orientation, CleanError> {
    guarded("orientation lookup", || decoder.orientation().map_err(map_err))
}

/// Whether applying `o` swaps width and height.
pub(crate) fn swaps_axes(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90 | Orientation::Rotate270 | Orientation::Rotate90FlipH | Orientation::Rotate270FlipH
    )
}

/// Decode all pixels.
pub(crate) fn pixels(decoder: BoxDecoder<'_>) -> Result<DynamicImage, CleanError> {
    guarded("pixel decoding", || DynamicImage::from_decoder(decoder).map_err(map_err))
}

/// Apply orientation (may reallocate for 90° rotations).
pub(crate) fn orient(img: &mut DynamicImage, o: Orientation) -> Result<(), CleanError> {
    guarded("orientation", || {
        img.apply_orientation(o);
        Ok(())
    })
    .map_err(|_| CleanError::Internal("applying orientation failed".into()))
}
