//! Format detection from magic bytes and header-only dimension parsing.
//!
//! Nothing here allocates in proportion to the image: dimensions are read from
//! the container header so a decompression bomb is refused before a decoder
//! sees it.

use crate::verify;

/// An accepted upload format, detected from magic bytes only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputFormat {
    Jpeg,
    Png,
    WebP,
}

impl InputFormat {
    /// Short lower-case name ("jpeg", "png", "webp"), e.g. for logs.
    pub fn name(&self) -> &'static str {
        match self {
            InputFormat::Jpeg => "jpeg",
            InputFormat::Png => "png",
            InputFormat::WebP => "webp",
        }
    }
}

/// Detect the format of `input` from its leading bytes. Never trusts a file
/// name or a client-supplied content type. Returns `None` for anything that is
/// not JPEG, PNG or WebP (GIF, BMP, TIFF, HEIC, text, empty input…).
pub fn sniff(input: &[u8]) -> Option<InputFormat> {
    if input.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(InputFormat::Jpeg)
    } else if input.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(InputFormat::Png)
    } else if input.get(..4) == Some(b"RIFF") && input.get(8..12) == Some(b"WEBP") {
        Some(InputFormat::WebP)
    } else {
        None
    }
}

/// What the header says about an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// Declared `(width, height)`, if the header could be read that far.
    pub dims: Option<(u32, u32)>,
    /// `Err` if the container structure is broken or truncated.
    pub structure: Result<(), String>,
}

/// Read declared dimensions and check the container structure of an upload.
pub(crate) fn header(input: &[u8], format: InputFormat) -> Header {
    match format {
        InputFormat::Jpeg => {
            let (info, structure) = verify::inspect_jpeg(input);
            Header { dims: info.dims, structure }
        }
        InputFormat::Png => match verify::png_header_dims(input) {
            Ok(dims) => Header { dims: Some(dims), structure: verify::inspect_png(input) },
            Err(e) => Header { dims: None, structure: Err(e) },
        },
        InputFormat::WebP => webp_header(input),
    }
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 2).map(|s| u32::from(u16::from_le_bytes([s[0], s[1]])))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 3).map(|s| u32::from_le_bytes([s[0], s[1], s[2], 0]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn webp_header(input: &[u8]) -> Header {
    let dims = webp_dims(input);
    let structure = match le32(input, 4) {
        None => Err("truncated RIFF header".to_string()),
        Some(riff) if (riff as usize).saturating_add(8) > input.len() => {
            Err("truncated WebP: RIFF size exceeds input".to_string())
        }
        Some(_) if dims.is_none() => Err("unreadable WebP header".to_string()),
        Some(_) => Ok(()),
    };
    Header { dims, structure }
}

/// Dimensions from the first chunk: VP8 (lossy), VP8L (lossless) or VP8X
/// (extended; canvas size).
fn webp_dims(input: &[u8]) -> Option<(u32, u32)> {
    let fourcc = input.get(12..16)?;
    let p = 20usize; // payload start
    match fourcc {
        b"VP8 " => {
            if input.get(p + 3..p + 6)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            let w = le16(input, p + 6)? & 0x3FFF;
            let h = le16(input, p + 8)? & 0x3FFF;
            Some((w, h))
        }
        b"VP8L" => {
            if *input.get(p)? != 0x2F {
                return None;
            }
            let bits = le32(input, p + 1)?;
            let w = (bits & 0x3FFF) + 1;
            let h = ((bits >> 14) & 0x3FFF) + 1;
            Some((w, h))
        }
        b"VP8X" => {
            let w = le24(input, p + 4)? + 1;
            let h = le24(input, p + 7)? + 1;
            Some((w, h))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(InputFormat::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some(InputFormat::Png));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(InputFormat::WebP));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"BM"), None);
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(&[0xFF, 0xD8]), None);
        assert_eq!(sniff(b"<svg xmlns="), None);
    }

    #[test]
    fn webp_vp8x_canvas_dims() {
        let mut v = b"RIFF\x1e\0\0\0WEBPVP8X\x0a\0\0\0".to_vec();
        v.extend_from_slice(&[0, 0, 0, 0]);
        v.extend_from_slice(&[0x9F, 0x86, 0x01]); // 99999 + 1
        v.extend_from_slice(&[0x9F, 0x86, 0x01]);
        let h = header(&v, InputFormat::WebP);
        assert_eq!(h.dims, Some((100_000, 100_000)));
    }

    #[test]
    fn webp_truncated_riff() {
        let v = b"RIFF\xff\xff\0\0WEBPVP8L\x05\0\0\0\x2f\0\0\0\0".to_vec();
        let h = header(&v, InputFormat::WebP);
        assert_eq!(h.dims, Some((1, 1)));
        assert!(h.structure.is_err());
    }
}
