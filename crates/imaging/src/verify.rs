//! Hand-written JPEG marker and PNG chunk walkers.
//!
//! Two uses:
//! * **strict** (`verify_jpeg` / `verify_png`): the allow-list check run on every
//!   output before it leaves the crate. Anything not explicitly allowed is an error.
//! * **lenient** (`inspect_jpeg` / `inspect_png`): structural check of *uploads*,
//!   used to reject truncated files (no EOI / IEND) and to read the declared
//!   dimensions before any decoder allocates pixels.
//!
//! All functions are pure, index only through checked accessors and never panic.

/// Walk the marker structure of a JPEG.
///
/// `on_segment(marker, body)` is called for every marker in file order (after
/// SOI), with `body` being the segment payload after the 2-byte length (empty for
/// standalone markers such as EOI). Restart markers inside entropy-coded data are
/// not reported. In `strict` mode fill bytes (`FF FF …`) are rejected.
///
/// Returns the offset just past EOI.
fn walk_jpeg<F>(bytes: &[u8], strict: bool, mut on_segment: F) -> Result<usize, String>
where
    F: FnMut(u8, &[u8]) -> Result<(), String>,
{
    if bytes.get(..2) != Some(&[0xFF, 0xD8][..]) {
        return Err("missing JPEG SOI".into());
    }
    let mut pos = 2usize;
    loop {
        match bytes.get(pos) {
            None => return Err("truncated JPEG: no EOI".into()),
            Some(0xFF) => pos += 1,
            Some(b) => return Err(format!("expected marker at offset {pos}, found 0x{b:02X}")),
        }
        while bytes.get(pos) == Some(&0xFF) {
            if strict {
                return Err(format!("fill bytes before marker at offset {pos}"));
            }
            pos += 1;
        }
        let marker = *bytes.get(pos).ok_or_else(|| "truncated JPEG: no EOI".to_string())?;
        pos += 1;
        match marker {
            0x00 => return Err(format!("stuffed byte outside scan at offset {pos}")),
            0xD8 => return Err("repeated SOI".into()),
            0xD9 => {
                on_segment(marker, &[])?;
                return Ok(pos);
            }
            0x01 | 0xD0..=0xD7 => on_segment(marker, &[])?,
            _ => {
                let len_bytes = bytes
                    .get(pos..pos.saturating_add(2))
                    .ok_or_else(|| format!("truncated length of marker 0x{marker:02X}"))?;
                let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
                if len < 2 {
                    return Err(format!("marker 0x{marker:02X} has length {len} < 2"));
                }
                let end = pos.saturating_add(len);
                let body = bytes.get(pos + 2..end).ok_or_else(|| format!("truncated segment 0x{marker:02X}"))?;
                on_segment(marker, body)?;
                pos = end;
                if marker == 0xDA {
                    pos = skip_entropy_data(bytes, pos)?;
                }
            }
        }
    }
}

/// Skip entropy-coded data starting at `pos`; returns the offset of the `FF`
/// that starts the next real marker. Byte stuffing (`FF 00`) and restart markers
/// (`FF D0`..`FF D7`) belong to the scan.
fn skip_entropy_data(bytes: &[u8], mut pos: usize) -> Result<usize, String> {
    loop {
        let rest = bytes.get(pos..).ok_or_else(|| "truncated JPEG scan".to_string())?;
        let rel = rest.iter().position(|&b| b == 0xFF).ok_or_else(|| "truncated JPEG scan: no EOI".to_string())?;
        let ff = pos + rel;
        match bytes.get(ff + 1) {
            None => return Err("truncated JPEG scan: no EOI".into()),
            Some(0x00) | Some(0xD0..=0xD7) => pos = ff + 2,
            Some(_) => return Ok(ff),
        }
    }
}

/// Facts about a JPEG gathered by the lenient walk of an upload.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JpegInfo {
    /// `(width, height)` from the first SOFn, if one was found.
    pub dims: Option<(u32, u32)>,
    /// Result of the walk: `Ok` if EOI was reached.
    pub complete: bool,
}

/// Lenient walk of an uploaded JPEG: any marker is accepted, fill bytes and
/// trailing data are tolerated. Records the first frame's dimensions (even when
/// the walk later fails, so a decompression bomb is reported as such) and whether
/// EOI was found.
pub(crate) fn inspect_jpeg(bytes: &[u8]) -> (JpegInfo, Result<(), String>) {
    let mut info = JpegInfo::default();
    let walk = walk_jpeg(bytes, false, |marker, body| {
        if is_sof(marker) && info.dims.is_none() {
            // P(1) Y(2) X(2) Nf(1)
            let h = body.get(1..3).map(|b| u16::from_be_bytes([b[0], b[1]]));
            let w = body.get(3..5).map(|b| u16::from_be_bytes([b[0], b[1]]));
            match (w, h) {
                (Some(w), Some(h)) => info.dims = Some((u32::from(w), u32::from(h))),
                _ => return Err("short SOF segment".into()),
            }
        }
        if marker == 0xDA && info.dims.is_none() {
            return Err("scan before frame header".into());
        }
        Ok(())
    });
    info.complete = walk.is_ok();
    (info, walk.map(|_| ()))
}

fn is_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// Strict allow-list verification of an encoded JPEG. Returns `(width, height)`.
pub(crate) fn verify_jpeg(bytes: &[u8]) -> Result<(u32, u32), String> {
    let mut index = 0usize;
    let mut dims: Option<(u32, u32)> = None;
    let mut scans = 0usize;
    let mut eoi = false;
    let end = walk_jpeg(bytes, true, |marker, body| {
        let this = index;
        index += 1;
        match marker {
            0xE0 => {
                if this != 0 {
                    return Err("APP0 not directly after SOI".into());
                }
                check_jfif(body)
            }
            0xDB => check_dqt(body),
            0xC4 => check_dht(body),
            0xDD => {
                if body.len() == 2 {
                    Ok(())
                } else {
                    Err("DRI segment has wrong length".into())
                }
            }
            0xC0 | 0xC2 => {
                if dims.is_some() {
                    return Err("more than one frame header".into());
                }
                dims = Some(check_sof(body)?);
                Ok(())
            }
            0xDA => {
                let Some(_) = dims else {
                    return Err("SOS before SOF".into());
                };
                check_sos(body)?;
                scans += 1;
                Ok(())
            }
            0xD9 => {
                if scans == 0 {
                    return Err("EOI without any scan".into());
                }
                eoi = true;
                Ok(())
            }
            other => Err(format!("marker 0x{other:02X} not allowed")),
        }
    })?;
    if !eoi {
        return Err("no EOI".into());
    }
    if end != bytes.len() {
        return Err(format!("{} bytes after EOI", bytes.len().saturating_sub(end)));
    }
    dims.ok_or_else(|| "no frame header".to_string())
}

/// APP0 must be a bare JFIF header: "JFIF\0", version, units, densities, and a
/// zero-sized thumbnail (JFIF can embed one; we never allow it).
fn check_jfif(body: &[u8]) -> Result<(), String> {
    if body.len() != 14 || body.get(..5) != Some(&b"JFIF\0"[..]) {
        return Err("APP0 is not a bare JFIF header".into());
    }
    if body.get(12..14) != Some(&[0, 0][..]) {
        return Err("JFIF header carries a thumbnail".into());
    }
    Ok(())
}

/// DQT: one or more tables, each `PqTq` + 64 (8-bit) or 128 (16-bit) bytes, with
/// nothing left over.
fn check_dqt(mut body: &[u8]) -> Result<(), String> {
    if body.is_empty() {
        return Err("empty DQT".into());
    }
    while let Some((&pq_tq, rest)) = body.split_first() {
        let size = match (pq_tq >> 4, pq_tq & 0x0F) {
            (0, 0..=3) => 64,
            (1, 0..=3) => 128,
            _ => return Err("bad DQT table header".into()),
        };
        body = rest.get(size..).ok_or_else(|| "short DQT".to_string())?;
    }
    Ok(())
}

/// DHT: one or more tables, each `TcTh` + 16 counts + sum(counts) values, with
/// nothing left over.
fn check_dht(mut body: &[u8]) -> Result<(), String> {
    if body.is_empty() {
        return Err("empty DHT".into());
    }
    while let Some((&tc_th, rest)) = body.split_first() {
        if tc_th >> 4 > 1 || tc_th & 0x0F > 3 {
            return Err("bad DHT table header".into());
        }
        let counts = rest.get(..16).ok_or_else(|| "short DHT".to_string())?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if total > 256 {
            return Err("DHT declares too many codes".into());
        }
        body = rest.get(16 + total..).ok_or_else(|| "short DHT".to_string())?;
    }
    Ok(())
}

/// SOF0/SOF2: 8-bit precision, non-zero size, 1 or 3 components, exact length.
fn check_sof(body: &[u8]) -> Result<(u32, u32), String> {
    let header = body.get(..6).ok_or_else(|| "short SOF".to_string())?;
    if header[0] != 8 {
        return Err("SOF precision is not 8".into());
    }
    let h = u16::from_be_bytes([header[1], header[2]]);
    let w = u16::from_be_bytes([header[3], header[4]]);
    let nf = usize::from(header[5]);
    if w == 0 || h == 0 {
        return Err("SOF with zero dimension".into());
    }
    if nf != 1 && nf != 3 {
        return Err("SOF component count is not 1 or 3".into());
    }
    if body.len() != 6 + 3 * nf {
        return Err("SOF has wrong length".into());
    }
    Ok((u32::from(w), u32::from(h)))
}

/// SOS header: Ns components (1..=4), exact length.
fn check_sos(body: &[u8]) -> Result<(), String> {
    let ns = usize::from(*body.first().ok_or_else(|| "empty SOS".to_string())?);
    if !(1..=4).contains(&ns) || body.len() != 1 + 2 * ns + 3 {
        return Err("malformed SOS header".into());
    }
    Ok(())
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Walk PNG chunks. `on_chunk(type, data)` is called for each chunk in order.
/// Returns the offset just past IEND's CRC.
fn walk_png<F>(bytes: &[u8], check_crc: bool, mut on_chunk: F) -> Result<usize, String>
where
    F: FnMut([u8; 4], &[u8]) -> Result<(), String>,
{
    if bytes.get(..8) != Some(&PNG_SIGNATURE[..]) {
        return Err("missing PNG signature".into());
    }
    let mut pos = 8usize;
    loop {
        let head = bytes.get(pos..pos.saturating_add(8)).ok_or_else(|| "truncated PNG: no IEND".to_string())?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        if len > 0x7FFF_FFFF {
            return Err("PNG chunk length out of range".into());
        }
        let ty = [head[4], head[5], head[6], head[7]];
        let data_start = pos + 8;
        let data_end = data_start.saturating_add(len as usize);
        let data =
            bytes.get(data_start..data_end).ok_or_else(|| format!("truncated PNG chunk {}", ty.escape_ascii()))?;
        let crc = bytes
            .get(data_end..data_end.saturating_add(4))
            .ok_or_else(|| format!("truncated PNG chunk {}", ty.escape_ascii()))?;
        if check_crc {
            let stored = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
            if crc32(&[&ty, data]) != stored {
                return Err(format!("bad CRC in PNG chunk {}", ty.escape_ascii()));
            }
        }
        on_chunk(ty, data)?;
        pos = data_end + 4;
        if &ty == b"IEND" {
            return Ok(pos);
        }
    }
}

/// Lenient walk of an uploaded PNG: any chunk type, no CRC check, trailing data
/// tolerated; fails only if the chunk structure is broken before IEND.
pub(crate) fn inspect_png(bytes: &[u8]) -> Result<(), String> {
    walk_png(bytes, false, |_, _| Ok(())).map(|_| ())
}

/// Strict allow-list verification of an encoded PNG. Returns `(width, height)`.
pub(crate) fn verify_png(bytes: &[u8]) -> Result<(u32, u32), String> {
    let mut index = 0usize;
    let mut dims: Option<(u32, u32)> = None;
    let mut seen_plte = false;
    let mut seen_trns = false;
    let mut idat_state = 0u8; // 0 = none yet, 1 = in IDAT run, 2 = run ended
    let mut iend = false;
    let end = walk_png(bytes, true, |ty, data| {
        let this = index;
        index += 1;
        if this == 0 && &ty != b"IHDR" {
            return Err("first chunk is not IHDR".into());
        }
        if idat_state == 1 && &ty != b"IDAT" {
            idat_state = 2;
        }
        match &ty {
            b"IHDR" => {
                if this != 0 {
                    return Err("repeated IHDR".into());
                }
                dims = Some(check_ihdr(data)?);
                Ok(())
            }
            b"PLTE" => {
                if seen_plte || seen_trns || idat_state != 0 {
                    return Err("PLTE out of order".into());
                }
                if data.is_empty() || data.len() % 3 != 0 || data.len() > 768 {
                    return Err("PLTE has bad length".into());
                }
                seen_plte = true;
                Ok(())
            }
            b"tRNS" => {
                if seen_trns || idat_state != 0 || data.len() > 256 {
                    return Err("tRNS out of order or too long".into());
                }
                seen_trns = true;
                Ok(())
            }
            b"IDAT" => match idat_state {
                0 | 1 => {
                    idat_state = 1;
                    Ok(())
                }
                _ => Err("non-consecutive IDAT chunks".into()),
            },
            b"IEND" => {
                if idat_state == 0 {
                    return Err("IEND without IDAT".into());
                }
                if !data.is_empty() {
                    return Err("IEND carries data".into());
                }
                iend = true;
                Ok(())
            }
            other => Err(format!("chunk {} not allowed", other.escape_ascii())),
        }
    })?;
    if !iend {
        return Err("no IEND".into());
    }
    if end != bytes.len() {
        return Err(format!("{} bytes after IEND", bytes.len().saturating_sub(end)));
    }
    dims.ok_or_else(|| "no IHDR".to_string())
}

fn check_ihdr(data: &[u8]) -> Result<(u32, u32), String> {
    if data.len() != 13 {
        return Err("IHDR has wrong length".into());
    }
    let w = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    let h = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
    if w == 0 || h == 0 {
        return Err("IHDR with zero dimension".into());
    }
    // compression method, filter method, interlace method
    if data[10] != 0 || data[11] != 0 || data[12] > 1 {
        return Err("IHDR has unknown methods".into());
    }
    Ok((w, h))
}

/// Parse the IHDR dimensions of a PNG without walking the whole file.
pub(crate) fn png_header_dims(bytes: &[u8]) -> Result<(u32, u32), String> {
    if bytes.get(..8) != Some(&PNG_SIGNATURE[..]) {
        return Err("missing PNG signature".into());
    }
    if bytes.get(8..16) != Some(&[0, 0, 0, 13, b'I', b'H', b'D', b'R'][..]) {
        return Err("first PNG chunk is not IHDR".into());
    }
    let data = bytes.get(16..29).ok_or_else(|| "truncated IHDR".to_string())?;
    check_ihdr(data)
}

/// CRC-32 (ISO-HDLC, as used by PNG) over the concatenation of `parts`.
fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for part in parts {
        for &b in *part {
            crc = CRC_TABLE[usize::from((crc as u8) ^ b)] ^ (crc >> 8);
        }
    }
    crc ^ 0xFFFF_FFFF
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(marker: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, marker];
        v.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    fn jfif() -> Vec<u8> {
        seg(0xE0, b"JFIF\0\x01\x02\x00\x00\x01\x00\x01\x00\x00")
    }

    /// Minimal structurally valid JPEG: SOI APP0 DQT SOF0 DHT SOS data EOI.
    fn minimal_jpeg(extra_before_sof: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        v.extend(jfif());
        v.extend(seg(0xDB, &[0u8; 65]));
        v.extend_from_slice(extra_before_sof);
        v.extend(seg(0xC0, &[8, 0, 16, 0, 32, 1, 1, 0x11, 0]));
        let mut dht = vec![0u8; 17];
        dht[1] = 1; // one code of length 1
        dht.push(0);
        v.extend(seg(0xC4, &dht));
        v.extend(seg(0xDA, &[1, 1, 0, 0, 63, 0]));
        v.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        v.extend_from_slice(&[0xFF, 0xD9]);
        v
    }

    #[test]
    fn accepts_minimal_jpeg() {
        assert_eq!(verify_jpeg(&minimal_jpeg(&[])), Ok((32, 16)));
    }

    #[test]
    fn rejects_metadata_segments_in_jpeg() {
        for (marker, body) in [
            (0xE1u8, &b"Exif\0\0II*\0"[..]),
            (0xE1, &b"http://ns.adobe.com/xap/1.0/\0"[..]),
            (0xE2, &b"ICC_PROFILE\0\x01\x01"[..]),
            (0xED, &b"Photoshop 3.0\0"[..]),
            (0xFE, &b"MRN 12345678"[..]),
            (0xEF, &b""[..]),
        ] {
            let j = minimal_jpeg(&seg(marker, body));
            assert!(verify_jpeg(&j).is_err(), "marker {marker:02X} accepted");
            // The lenient walk still accepts it (that is for uploads).
            assert!(inspect_jpeg(&j).1.is_ok());
        }
    }

    #[test]
    fn rejects_trailing_bytes_and_truncation() {
        let mut j = minimal_jpeg(&[]);
        j.extend_from_slice(b"TRAILER");
        assert!(verify_jpeg(&j).unwrap_err().contains("after EOI"));
        let j = minimal_jpeg(&[]);
        for cut in 0..j.len() {
            assert!(verify_jpeg(&j[..cut]).is_err(), "cut at {cut}");
            assert!(inspect_jpeg(&j[..cut]).1.is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn rejects_jfif_thumbnail_and_misplaced_app0() {
        let mut j = minimal_jpeg(&[]);
        // set thumbnail width to 1
        j[2 + 4 + 12] = 1;
        assert!(verify_jpeg(&j).is_err());
        let j = minimal_jpeg(&jfif());
        assert!(verify_jpeg(&j).is_err());
    }

    #[test]
    fn rejects_oversized_dqt_and_sof1() {
        let j = minimal_jpeg(&seg(0xDB, &[0u8; 66]));
        assert!(verify_jpeg(&j).is_err());
        let mut j = minimal_jpeg(&[]);
        let sof = j.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        j[sof + 1] = 0xC1;
        assert!(verify_jpeg(&j).is_err());
    }

    #[test]
    fn inspect_reads_dims() {
        let (info, res) = inspect_jpeg(&minimal_jpeg(&[]));
        assert!(res.is_ok());
        assert_eq!(info.dims, Some((32, 16)));
        assert!(info.complete);
    }

    fn chunk(ty: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut v = (data.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(ty);
        v.extend_from_slice(data);
        v.extend_from_slice(&crc32(&[ty, data]).to_be_bytes());
        v
    }

    fn minimal_png(extra: &[u8]) -> Vec<u8> {
        let mut v = PNG_SIGNATURE.to_vec();
        v.extend(chunk(b"IHDR", &[0, 0, 0, 3, 0, 0, 0, 2, 8, 2, 0, 0, 0]));
        v.extend_from_slice(extra);
        v.extend(chunk(b"IDAT", b"xx"));
        v.extend(chunk(b"IEND", b""));
        v
    }

    #[test]
    fn crc_matches_known_value() {
        // CRC of the IEND chunk type is the well-known AE 42 60 82.
        assert_eq!(crc32(&[b"IEND"]), 0xAE42_6082);
    }

    #[test]
    fn accepts_minimal_png_and_rejects_metadata() {
        assert_eq!(verify_png(&minimal_png(&[])), Ok((3, 2)));
        for ty in [b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"gAMA", b"sRGB", b"tIME"] {
            let p = minimal_png(&chunk(ty, b"Comment\0secret"));
            assert!(verify_png(&p).is_err());
            assert!(inspect_png(&p).is_ok());
        }
        let mut p = minimal_png(&[]);
        p.extend_from_slice(b"TRAILER");
        assert!(verify_png(&p).unwrap_err().contains("after IEND"));
        // Bad CRC
        let mut p = minimal_png(&[]);
        let n = p.len();
        p[n - 13] ^= 1; // inside IDAT crc
        assert!(verify_png(&p).is_err());
    }

    #[test]
    fn png_truncation_rejected() {
        let p = minimal_png(&[]);
        for cut in 0..p.len() {
            assert!(verify_png(&p[..cut]).is_err());
            assert!(inspect_png(&p[..cut]).is_err());
        }
    }

    #[test]
    fn png_header_dims_parses() {
        assert_eq!(png_header_dims(&minimal_png(&[])), Ok((3, 2)));
        assert!(png_header_dims(b"\x89PNG\r\n\x1a\n").is_err());
    }
}
