//! End-to-end tests of `orgallery_imaging::clean` on hand-built hostile inputs.

use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageDecoder, ImageEncoder, RgbImage, RgbaImage};
use orgallery_imaging::{
    clean, sniff, verify_clean, CleanError, CleanImage, InputFormat, Limits, Mask, OutputFormat, MAX_MASKS,
};
use proptest::prelude::*;

// ---------------------------------------------------------------- helpers

/// A gradient with no dark pixels (every channel >= 40), so painted black is
/// unambiguous.
fn gradient(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(40 + (x * 200 / w.max(1))) as u8, (40 + (y * 200 / h.max(1))) as u8, (140 + ((x + y) % 50)) as u8])
    })
}

fn encode_jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 95).encode_image(img).unwrap();
    out
}

fn encode_png(raw: &[u8], w: u32, h: u32, color: ExtendedColorType) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out).write_image(raw, w, h, color).unwrap();
    out
}

fn encode_webp(raw: &[u8], w: u32, h: u32, color: ExtendedColorType) -> Vec<u8> {
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out).encode(raw, w, h, color).unwrap();
    out
}

fn jpeg_segment(marker: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0xFF, marker];
    v.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// Insert `segments` right after SOI of `jpeg`.
fn splice_after_soi(jpeg: &[u8], segments: &[Vec<u8>]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    let mut v = jpeg[..2].to_vec();
    for s in segments {
        v.extend_from_slice(s);
    }
    v.extend_from_slice(&jpeg[2..]);
    v
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

const SERIAL: &[u8] = b"SN-4471-PATIENT";

fn rationals(vals: &[(u32, u32)]) -> Vec<u8> {
    vals.iter().flat_map(|(n, d)| n.to_le_bytes().into_iter().chain(d.to_le_bytes())).collect()
}

fn gps_latitude() -> Vec<u8> {
    rationals(&[(41, 1), (24, 1), (123_456, 10_000)])
}

fn gps_longitude() -> Vec<u8> {
    rationals(&[(2, 1), (10, 1), (987_654, 100_000)])
}

fn ifd_entry(tag: u16, ty: u16, count: u32, value: [u8; 4]) -> Vec<u8> {
    let mut v = tag.to_le_bytes().to_vec();
    v.extend_from_slice(&ty.to_le_bytes());
    v.extend_from_slice(&count.to_le_bytes());
    v.extend_from_slice(&value);
    v
}

fn ifd(entries: &[Vec<u8>], next: u32) -> Vec<u8> {
    let mut v = u16::try_from(entries.len()).unwrap().to_le_bytes().to_vec();
    for e in entries {
        v.extend_from_slice(e);
    }
    v.extend_from_slice(&next.to_le_bytes());
    v
}

fn ifd_len(n: u32) -> u32 {
    2 + 12 * n + 4
}

/// The 12-byte IFD0 entry pointing at the GPS IFD, for searching the output.
fn gps_pointer_entry(gps_off: u32) -> Vec<u8> {
    ifd_entry(0x8825, 4, 1, gps_off.to_le_bytes())
}

/// A little-endian TIFF (the body of an Exif APP1 after "Exif\0\0"):
/// IFD0 (Orientation, ExifIFD pointer, GPS pointer) -> IFD1 (thumbnail),
/// Exif IFD (BodySerialNumber), GPS IFD (lat/lon). Returns (tiff, gps_offset).
fn exif_tiff(orientation: u16, thumbnail: &[u8]) -> (Vec<u8>, u32) {
    let ifd0_off = 8;
    let exif_off = ifd0_off + ifd_len(3);
    let gps_off = exif_off + ifd_len(1);
    let ifd1_off = gps_off + ifd_len(5);
    let serial_off = ifd1_off + ifd_len(3);
    let lat_off = serial_off + 16;
    let lon_off = lat_off + 24;
    let thumb_off = lon_off + 24;

    let mut short = [0u8; 4];
    short[..2].copy_from_slice(&orientation.to_le_bytes());
    let mut t = b"II\x2a\x00".to_vec();
    t.extend_from_slice(&ifd0_off.to_le_bytes());
    t.extend(ifd(
        &[
            ifd_entry(0x0112, 3, 1, short),
            ifd_entry(0x8769, 4, 1, exif_off.to_le_bytes()),
            ifd_entry(0x8825, 4, 1, gps_off.to_le_bytes()),
        ],
        ifd1_off,
    ));
    t.extend(ifd(&[ifd_entry(0xA431, 2, 16, serial_off.to_le_bytes())], 0));
    t.extend(ifd(
        &[
            ifd_entry(0x0000, 1, 4, [2, 3, 0, 0]),
            ifd_entry(0x0001, 2, 2, *b"N\0\0\0"),
            ifd_entry(0x0002, 5, 3, lat_off.to_le_bytes()),
            ifd_entry(0x0003, 2, 2, *b"E\0\0\0"),
            ifd_entry(0x0004, 5, 3, lon_off.to_le_bytes()),
        ],
        0,
    ));
    t.extend(ifd(
        &[
            ifd_entry(0x0103, 3, 1, [6, 0, 0, 0]),
            ifd_entry(0x0201, 4, 1, thumb_off.to_le_bytes()),
            ifd_entry(0x0202, 4, 1, u32::try_from(thumbnail.len()).unwrap().to_le_bytes()),
        ],
        0,
    ));
    assert_eq!(t.len() as u32, serial_off);
    t.extend_from_slice(SERIAL);
    t.push(0);
    t.extend(gps_latitude());
    t.extend(gps_longitude());
    assert_eq!(t.len() as u32, thumb_off);
    t.extend_from_slice(thumbnail);
    (t, gps_off)
}

fn exif_app1(orientation: u16, thumbnail: &[u8]) -> (Vec<u8>, u32) {
    let (tiff, gps_off) = exif_tiff(orientation, thumbnail);
    let mut body = b"Exif\0\0".to_vec();
    body.extend(tiff);
    (jpeg_segment(0xE1, &body), gps_off)
}

/// A thumbnail JPEG that carries its own secret comment.
fn thumbnail() -> Vec<u8> {
    let thumb = encode_jpeg(&gradient(16, 16));
    splice_after_soi(&thumb, &[jpeg_segment(0xFE, b"THUMBNAIL-SECRET")])
}

fn xmp_app1() -> Vec<u8> {
    let mut body = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    body.extend_from_slice(
        br#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>Jane Q. Patient</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#,
    );
    jpeg_segment(0xE1, &body)
}

fn iptc_app13() -> Vec<u8> {
    let name = b"IPTC-PATIENT-JOHN-DOE";
    let mut iptc = vec![0x1C, 0x02, 0x05];
    iptc.extend_from_slice(&u16::try_from(name.len()).unwrap().to_be_bytes());
    iptc.extend_from_slice(name);
    if iptc.len() % 2 == 1 {
        iptc.push(0);
    }
    let mut body = b"Photoshop 3.0\0".to_vec();
    body.extend_from_slice(b"8BIM");
    body.extend_from_slice(&[0x04, 0x04, 0, 0]);
    body.extend_from_slice(&u32::try_from(iptc.len()).unwrap().to_be_bytes());
    body.extend(iptc);
    jpeg_segment(0xED, &body)
}

fn icc_app2() -> Vec<u8> {
    let mut profile = vec![0u8; 128];
    profile[..4].copy_from_slice(&160u32.to_be_bytes());
    profile.extend_from_slice(b"desc ICC-SECRET-DESC ....");
    profile.resize(160, 0);
    let mut body = b"ICC_PROFILE\0\x01\x01".to_vec();
    body.extend(profile);
    jpeg_segment(0xE2, &body)
}

/// Every byte string that must not survive cleaning of `hostile_jpeg`.
fn forbidden_needles(gps_off: u32) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("Exif header", b"Exif".to_vec()),
        ("TIFF header", b"II\x2a\x00".to_vec()),
        ("GPS IFD pointer", gps_pointer_entry(gps_off)),
        ("GPS latitude", gps_latitude()),
        ("GPS longitude", gps_longitude()),
        ("serial", SERIAL.to_vec()),
        ("thumbnail comment", b"THUMBNAIL-SECRET".to_vec()),
        ("XMP namespace", b"http://ns.adobe.com/xap".to_vec()),
        ("XMP patient", b"Jane Q. Patient".to_vec()),
        ("Photoshop", b"Photoshop 3.0".to_vec()),
        ("8BIM", b"8BIM".to_vec()),
        ("IPTC name", b"IPTC-PATIENT-JOHN-DOE".to_vec()),
        ("ICC", b"ICC_PROFILE".to_vec()),
        ("ICC desc", b"ICC-SECRET-DESC".to_vec()),
        ("comment", b"MRN 12345678".to_vec()),
        ("trailer", b"TRAILER-SECRET".to_vec()),
    ]
}

/// A real JPEG of a `w`×`h` gradient with EXIF (GPS, serial, thumbnail,
/// orientation), XMP, IPTC, COM, ICC spliced in after SOI and a trailer after EOI.
fn hostile_jpeg(w: u32, h: u32, orientation: u16) -> (Vec<u8>, RgbImage, u32) {
    let img = gradient(w, h);
    let base = encode_jpeg(&img);
    let (exif, gps_off) = exif_app1(orientation, &thumbnail());
    let mut jpeg =
        splice_after_soi(&base, &[exif, xmp_app1(), iptc_app13(), jpeg_segment(0xFE, b"MRN 12345678"), icc_app2()]);
    jpeg.extend_from_slice(b"TRAILER-SECRET");
    (jpeg, img, gps_off)
}

fn decode_rgba(bytes: &[u8]) -> RgbaImage {
    image::load_from_memory(bytes).unwrap().to_rgba8()
}

fn inside(m: &Mask, x: u32, y: u32) -> bool {
    x >= m.x && x < m.x + m.w && y >= m.y && y < m.y + m.h
}

fn assert_clean_output(out: &CleanImage, needles: &[(&str, Vec<u8>)]) {
    verify_clean(&out.bytes, out.format).unwrap();
    for (what, needle) in needles {
        assert!(!contains(&out.bytes, needle), "{what} survived cleaning: {:?}", String::from_utf8_lossy(needle));
    }
}

// ------------------------------------------------------------- PNG helpers

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { 0xEDB8_8320 ^ (crc >> 1) } else { crc >> 1 };
        }
    }
    !crc
}

fn png_chunk(ty: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut v = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    v.extend_from_slice(ty);
    v.extend_from_slice(data);
    let mut crc_in = ty.to_vec();
    crc_in.extend_from_slice(data);
    v.extend_from_slice(&crc32(&crc_in).to_be_bytes());
    v
}

/// zlib stream using one stored (uncompressed) deflate block.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).unwrap();
    let mut v = vec![0x78, 0x01, 0x01];
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(&(!len).to_le_bytes());
    v.extend_from_slice(data);
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    v.extend_from_slice(&((b << 16) | a).to_be_bytes());
    v
}

/// Insert chunks right after IHDR (signature 8 + IHDR 25 bytes).
fn splice_after_ihdr(png: &[u8], chunks: &[Vec<u8>]) -> Vec<u8> {
    assert_eq!(&png[12..16], b"IHDR");
    let mut v = png[..33].to_vec();
    for c in chunks {
        v.extend_from_slice(c);
    }
    v.extend_from_slice(&png[33..]);
    v
}

fn png_metadata_chunks() -> Vec<Vec<u8>> {
    let mut ztxt = b"Author\0\0".to_vec();
    ztxt.extend(zlib_stored(b"ZTXT-SECRET Dr. House"));
    let mut itxt = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
    itxt.extend_from_slice(b"<x:xmpmeta>http://ns.adobe.com/xap/1.0/ ITXT-SECRET</x:xmpmeta>");
    let mut iccp = b"ICC-SECRET-NAME\0\0".to_vec();
    iccp.extend(zlib_stored(&[7u8; 200]));
    let (tiff, _) = exif_tiff(1, b"");
    vec![
        png_chunk(b"tEXt", b"Comment\0TEXT-SECRET MRN 12345678"),
        png_chunk(b"zTXt", &ztxt),
        png_chunk(b"iTXt", &itxt),
        png_chunk(b"iCCP", &iccp),
        png_chunk(b"eXIf", &tiff),
        png_chunk(b"tIME", &[0x07, 0xE8, 1, 2, 3, 4, 5]),
    ]
}

fn png_needles() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("tEXt", b"tEXt".to_vec()),
        ("zTXt", b"zTXt".to_vec()),
        ("iTXt", b"iTXt".to_vec()),
        ("eXIf", b"eXIf".to_vec()),
        ("iCCP", b"iCCP".to_vec()),
        ("tIME", b"tIME".to_vec()),
        ("text", b"TEXT-SECRET".to_vec()),
        ("mrn", b"MRN 12345678".to_vec()),
        ("ztxt", b"ZTXT-SECRET".to_vec()),
        ("itxt", b"ITXT-SECRET".to_vec()),
        ("xmp", b"http://ns.adobe.com/xap".to_vec()),
        ("icc", b"ICC-SECRET-NAME".to_vec()),
        ("serial", SERIAL.to_vec()),
        ("trailer", b"TRAILER-SECRET".to_vec()),
    ]
}

// ------------------------------------------------------------------ tests

#[test]
fn jpeg_with_all_metadata_is_scrubbed_and_masked() {
    let (input, original, gps_off) = hostile_jpeg(96, 64, 1);
    let needles = forbidden_needles(gps_off);

    // The test input really carries every secret, and is a valid JPEG whose
    // EXIF the decoder can see (so this test can fail).
    for (what, needle) in &needles {
        assert!(contains(&input, needle), "test input lacks {what}");
    }
    let mut dec = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(&input)).unwrap();
    let exif = dec.exif_metadata().unwrap().expect("decoder sees EXIF");
    assert!(contains(&exif, SERIAL));
    assert!(dec.icc_profile().unwrap().is_some(), "decoder sees ICC");
    assert!(verify_clean(&input, OutputFormat::Jpeg).is_err());

    let masks = [
        Mask { x: 10, y: 5, w: 20, h: 12 },
        Mask { x: 80, y: 50, w: 100, h: 100 }, // partly outside: clipped
    ];
    let out = clean(&input, &masks, &Limits::default()).unwrap();
    assert_eq!(out.format, OutputFormat::Jpeg);
    assert_eq!((out.width, out.height), (96, 64));
    assert_clean_output(&out, &needles);
    assert!(!contains(&out.bytes, b"\xFF\xE1"), "APP1 marker present");
    assert!(!contains(&out.bytes, b"\xFF\xFE"), "COM marker present");

    // Painted regions: clipped, then grown to the 8x8 grid.
    assert_eq!(out.painted, vec![Mask { x: 8, y: 0, w: 24, h: 24 }, Mask { x: 80, y: 48, w: 16, h: 16 },]);

    let decoded = decode_rgba(&out.bytes);
    assert_eq!(decoded.dimensions(), (96, 64));
    let clipped = [masks[0], Mask { x: 80, y: 50, w: 16, h: 14 }];
    let mut outside_diff = 0u64;
    let mut outside_n = 0u64;
    for (x, y, p) in decoded.enumerate_pixels() {
        if clipped.iter().any(|m| inside(m, x, y)) {
            assert_eq!(p.0, [0, 0, 0, 255], "masked pixel ({x},{y}) not black");
        }
        if !out.painted.iter().any(|m| inside(m, x, y)) {
            assert!(
                p.0[..3].iter().map(|&c| u32::from(c)).sum::<u32>() > 60,
                "unmasked pixel ({x},{y}) is dark: {:?}",
                p.0
            );
            let o = original.get_pixel(x, y).0;
            outside_diff += (0..3).map(|i| u64::from(p.0[i].abs_diff(o[i]))).sum::<u64>();
            outside_n += 3;
        }
    }
    let mean = outside_diff as f64 / outside_n as f64;
    assert!(mean < 4.0, "unmasked content changed too much: {mean}");
}

#[test]
fn output_is_stable_under_reclean() {
    let (input, _, _) = hostile_jpeg(40, 24, 1);
    let once = clean(&input, &[], &Limits::default()).unwrap();
    let twice = clean(&once.bytes, &[], &Limits::default()).unwrap();
    verify_clean(&twice.bytes, twice.format).unwrap();
    assert_eq!((twice.width, twice.height), (40, 24));
}

#[test]
fn exif_orientation_6_rotates_and_masks_use_upright_coordinates() {
    // Stored 64 wide x 32 high, with a red 8x8 block at the stored top-left.
    let mut stored = gradient(64, 32);
    for y in 0..8 {
        for x in 0..8 {
            stored.put_pixel(x, y, image::Rgb([250, 10, 10]));
        }
    }
    let (exif, _) = exif_app1(6, &thumbnail());
    let input = splice_after_soi(&encode_jpeg(&stored), &[exif]);

    // y = 48 only exists in the upright (32x64) image.
    let mask = Mask { x: 0, y: 48, w: 32, h: 16 };
    let out = clean(&input, &[mask], &Limits::default()).unwrap();
    assert_eq!((out.width, out.height), (32, 64));
    let decoded = decode_rgba(&out.bytes);
    assert_eq!(decoded.dimensions(), (32, 64));

    // Orientation 6 = rotate 90° clockwise: stored top-left -> upright top-right.
    let tr = decoded.get_pixel(28, 3).0;
    let tl = decoded.get_pixel(3, 3).0;
    assert!(tr[0] > 200 && tr[1] < 60, "top-right should be red: {tr:?}");
    assert!(tl[0] < 200 || tl[1] > 60, "top-left should not be red: {tl:?}");
    for (x, y, p) in decoded.enumerate_pixels() {
        if inside(&mask, x, y) {
            assert_eq!(p.0, [0, 0, 0, 255]);
        }
    }
    // The output carries no orientation tag (no EXIF at all).
    assert!(!contains(&out.bytes, b"Exif"));
    let mut dec = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(&out.bytes)).unwrap();
    assert_eq!(dec.orientation().unwrap(), image::metadata::Orientation::NoTransforms);

    // The same mask is entirely outside the stored (unrotated) frame, so
    // without the EXIF tag it is refused.
    let plain = encode_jpeg(&stored);
    assert!(matches!(clean(&plain, &[mask], &Limits::default()), Err(CleanError::BadMask(_))));
}

#[test]
fn opaque_png_with_text_chunks_becomes_clean_jpeg() {
    let img = gradient(50, 30);
    let png = encode_png(img.as_raw(), 50, 30, ExtendedColorType::Rgb8);
    let mut input = splice_after_ihdr(&png, &png_metadata_chunks());
    input.extend_from_slice(b"TRAILER-SECRET");
    let needles = png_needles();
    for (what, needle) in &needles {
        assert!(contains(&input, needle), "test input lacks {what}");
    }
    // The decoder accepts the hand-built chunks.
    assert_eq!(image::load_from_memory(&input).unwrap().width(), 50);

    let out = clean(&input, &[Mask { x: 0, y: 0, w: 5, h: 5 }], &Limits::default()).unwrap();
    assert_eq!(out.format, OutputFormat::Jpeg);
    assert_eq!((out.width, out.height), (50, 30));
    assert_clean_output(&out, &needles);
    let decoded = decode_rgba(&out.bytes);
    for y in 0..5 {
        for x in 0..5 {
            assert_eq!(decoded.get_pixel(x, y).0, [0, 0, 0, 255]);
        }
    }

    // RGBA PNG whose alpha is all 255 is opaque too.
    let rgba = image::DynamicImage::ImageRgb8(img).to_rgba8();
    let input = encode_png(rgba.as_raw(), 50, 30, ExtendedColorType::Rgba8);
    let out = clean(&input, &[], &Limits::default()).unwrap();
    assert_eq!(out.format, OutputFormat::Jpeg);
}

#[test]
fn transparent_png_stays_png_with_alpha() {
    let (w, h) = (40u32, 20u32);
    let src = RgbaImage::from_fn(w, h, |x, y| {
        let a = match x {
            0..=9 => 0,
            10..=19 => 128,
            _ => 255,
        };
        image::Rgba([(60 + x * 4) as u8, (60 + y * 8) as u8, 200, a])
    });
    let png = encode_png(src.as_raw(), w, h, ExtendedColorType::Rgba8);
    let mut input = splice_after_ihdr(&png, &png_metadata_chunks());
    input.extend_from_slice(b"TRAILER-SECRET");

    let mask = Mask { x: 15, y: 2, w: 10, h: 5 };
    let out = clean(&input, &[mask], &Limits::default()).unwrap();
    assert_eq!(out.format, OutputFormat::Png);
    assert_eq!(out.painted, vec![mask], "PNG masks are not grid-aligned");
    assert_clean_output(&out, &png_needles());

    let decoded = decode_rgba(&out.bytes);
    assert_eq!(decoded.dimensions(), (w, h));
    for (x, y, p) in decoded.enumerate_pixels() {
        let s = src.get_pixel(x, y).0;
        if inside(&mask, x, y) {
            assert_eq!(p.0, [0, 0, 0, 255], "({x},{y})");
        } else if s[3] == 0 {
            // Invisible pixels keep alpha 0 but lose any hidden colour.
            assert_eq!(p.0, [0, 0, 0, 0], "({x},{y})");
        } else {
            assert_eq!(p.0, s, "PNG output must be lossless at ({x},{y})");
        }
    }
}

#[test]
fn png_with_only_safe_chunks_round_trips_verification() {
    // Palette + tRNS input (expanded by the decoder) still yields a valid PNG.
    let mut input = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    input.extend(png_chunk(b"IHDR", &[0, 0, 0, 2, 0, 0, 0, 1, 8, 3, 0, 0, 0]));
    input.extend(png_chunk(b"PLTE", &[255, 0, 0, 0, 255, 0]));
    input.extend(png_chunk(b"tRNS", &[0, 255]));
    input.extend(png_chunk(b"IDAT", &zlib_stored(&[0, 0, 1])));
    input.extend(png_chunk(b"IEND", b""));
    let out = clean(&input, &[], &Limits::default()).unwrap();
    assert_eq!(out.format, OutputFormat::Png);
    let d = decode_rgba(&out.bytes);
    assert_eq!(d.get_pixel(0, 0).0, [0, 0, 0, 0]);
    assert_eq!(d.get_pixel(1, 0).0, [0, 255, 0, 255]);
}

/// Wrap a lossless VP8L bitstream in an extended (VP8X) WebP with EXIF and XMP.
fn webp_with_metadata(w: u32, h: u32, plain: &[u8], alpha: bool) -> Vec<u8> {
    assert_eq!(&plain[12..16], b"VP8L");
    let image_chunk = &plain[12..];
    let mut flags = 0x08 | 0x04; // EXIF | XMP
    if alpha {
        flags |= 0x10;
    }
    let mut vp8x = vec![flags, 0, 0, 0];
    vp8x.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
    vp8x.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
    let chunk = |ty: &[u8; 4], data: &[u8]| {
        let mut v = ty.to_vec();
        v.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
        v.extend_from_slice(data);
        if data.len() % 2 == 1 {
            v.push(0);
        }
        v
    };
    let (tiff, _) = exif_tiff(1, b"");
    let mut body = b"WEBP".to_vec();
    body.extend(chunk(b"VP8X", &vp8x));
    body.extend_from_slice(image_chunk);
    body.extend(chunk(b"EXIF", &tiff));
    body.extend(chunk(b"XMP ", b"<x:xmpmeta>http://ns.adobe.com/xap/1.0/ Jane Q. Patient</x:xmpmeta>"));
    let mut v = b"RIFF".to_vec();
    v.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
    v.extend(body);
    v
}

#[test]
fn webp_is_decoded_and_cleaned() {
    let img = gradient(48, 40);
    let plain = encode_webp(img.as_raw(), 48, 40, ExtendedColorType::Rgb8);
    assert_eq!(sniff(&plain), Some(InputFormat::WebP));
    let out = clean(&plain, &[], &Limits::default()).unwrap();
    assert_eq!(out.format, OutputFormat::Jpeg);
    assert_eq!((out.width, out.height), (48, 40));
    verify_clean(&out.bytes, out.format).unwrap();
    let d = decode_rgba(&out.bytes);
    let p = d.get_pixel(20, 20).0;
    let o = img.get_pixel(20, 20).0;
    for i in 0..3 {
        assert!(p[i].abs_diff(o[i]) < 12, "{p:?} vs {o:?}");
    }

    // Extended WebP with EXIF + XMP chunks.
    let input = webp_with_metadata(48, 40, &plain, false);
    assert!(contains(&input, SERIAL));
    let out = clean(&input, &[Mask { x: 40, y: 32, w: 8, h: 8 }], &Limits::default()).unwrap();
    assert_clean_output(
        &out,
        &[
            ("serial", SERIAL.to_vec()),
            ("xmp", b"http://ns.adobe.com/xap".to_vec()),
            ("name", b"Jane Q. Patient".to_vec()),
            ("gps", gps_latitude()),
        ],
    );
    let d = decode_rgba(&out.bytes);
    assert_eq!(d.get_pixel(47, 39).0, [0, 0, 0, 255]);

    // WebP with real transparency becomes PNG.
    let rgba = RgbaImage::from_fn(16, 16, |x, _| image::Rgba([100, 150, 200, (x * 16) as u8]));
    let webp = encode_webp(rgba.as_raw(), 16, 16, ExtendedColorType::Rgba8);
    let out = clean(&webp, &[], &Limits::default()).unwrap();
    assert_eq!(out.format, OutputFormat::Png);
    assert_eq!(decode_rgba(&out.bytes).get_pixel(5, 5).0[3], 80);
}

fn assert_fast(start: Instant) {
    assert!(start.elapsed() < Duration::from_millis(500), "bomb rejection took {:?}", start.elapsed());
}

#[test]
fn png_bomb_header_is_refused_before_decoding() {
    let mut input = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = 100_000u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    input.extend(png_chunk(b"IHDR", &ihdr));
    input.extend(png_chunk(b"IDAT", &zlib_stored(&[0; 64])));
    input.extend(png_chunk(b"IEND", b""));
    let start = Instant::now();
    let err = clean(&input, &[], &Limits::default()).unwrap_err();
    assert_fast(start);
    assert!(
        matches!(err, CleanError::PixelLimit { width: 100_000, height: 100_000, max_pixels: 50_000_000 }),
        "{err:?}"
    );
    assert_eq!(err.http_status(), 413);
}

#[test]
fn jpeg_and_webp_bomb_headers_are_refused() {
    // SOF0 declaring 65535x65535, nothing else (not even EOI).
    let mut jpeg = vec![0xFF, 0xD8];
    jpeg.extend(jpeg_segment(0xC0, &[8, 0xFF, 0xFF, 0xFF, 0xFF, 1, 1, 0x11, 0]));
    let start = Instant::now();
    let err = clean(&jpeg, &[], &Limits::default()).unwrap_err();
    assert_fast(start);
    assert!(matches!(err, CleanError::PixelLimit { width: 65535, height: 65535, .. }), "{err:?}");

    let mut webp = b"RIFF\x1e\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0".to_vec();
    webp.extend_from_slice(&[0xFF, 0xFF, 0x00, 0xFF, 0xFF, 0x00]);
    let err = clean(&webp, &[], &Limits::default()).unwrap_err();
    assert!(matches!(err, CleanError::PixelLimit { width: 65536, height: 65536, .. }), "{err:?}");

    // The limit is configurable.
    let small = encode_jpeg(&gradient(64, 32));
    let limits = Limits { max_pixels: 64 * 32 - 1, ..Limits::default() };
    assert!(matches!(clean(&small, &[], &limits), Err(CleanError::PixelLimit { .. })));
    let limits = Limits { max_pixels: 64 * 32, ..Limits::default() };
    assert!(clean(&small, &[], &limits).is_ok());
}

#[test]
fn truncated_inputs_are_undecodable() {
    let jpeg = encode_jpeg(&gradient(64, 48));
    for cut in [jpeg.len() / 2, jpeg.len() - 2, 20, 3] {
        let err = clean(&jpeg[..cut], &[], &Limits::default()).unwrap_err();
        assert!(matches!(err, CleanError::Undecodable(_)), "cut {cut}: {err:?}");
    }
    let img = gradient(64, 48);
    let png = encode_png(img.as_raw(), 64, 48, ExtendedColorType::Rgb8);
    for cut in [png.len() / 2, png.len() - 12, png.len() - 1, 30] {
        let err = clean(&png[..cut], &[], &Limits::default()).unwrap_err();
        assert!(matches!(err, CleanError::Undecodable(_)), "cut {cut}: {err:?}");
    }
    let webp = encode_webp(img.as_raw(), 64, 48, ExtendedColorType::Rgb8);
    for cut in [webp.len() / 2, webp.len() - 1, 16] {
        let err = clean(&webp[..cut], &[], &Limits::default()).unwrap_err();
        assert!(matches!(err, CleanError::Undecodable(_)), "cut {cut}: {err:?}");
    }
}

#[test]
fn corrupt_entropy_data_is_refused_or_cleaned_never_panics() {
    let jpeg = encode_jpeg(&gradient(64, 48));
    let mut bad = jpeg.clone();
    let sos = bad.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    for b in &mut bad[sos + 14..sos + 200] {
        *b = 0xA5;
    }
    if let Ok(out) = clean(&bad, &[], &Limits::default()) {
        verify_clean(&out.bytes, out.format).unwrap();
    }
}

#[test]
fn unsupported_and_garbage_inputs() {
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    let bmp = b"BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00";
    let cases: [(&str, &[u8]); 6] = [
        ("gif", gif),
        ("bmp", bmp),
        ("text", b"hello, this is not an image"),
        ("svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
        ("empty", b""),
        ("random", &[0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]),
    ];
    for (what, input) in cases {
        let err = clean(input, &[], &Limits::default()).unwrap_err();
        assert!(matches!(err, CleanError::Unsupported), "{what}: {err:?}");
        assert_eq!(err.http_status(), 415);
    }
    // Correct magic, garbage after it.
    for input in
        [&b"\xFF\xD8\xFF\xE0garbage"[..], b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", b"RIFF\x10\0\0\0WEBPVP8 \x04\0\0\0abcd"]
    {
        let err = clean(input, &[], &Limits::default()).unwrap_err();
        assert!(matches!(err, CleanError::Undecodable(_)), "{err:?}");
    }
    // A client-supplied name/content type cannot matter: the API does not
    // take one, and a PNG is detected as PNG whatever it is called.
    let png = encode_png(gradient(4, 4).as_raw(), 4, 4, ExtendedColorType::Rgb8);
    assert_eq!(sniff(&png), Some(InputFormat::Png));
}

#[test]
fn oversized_input_is_too_large() {
    let input = vec![0u8; Limits::default().max_bytes + 1];
    let err = clean(&input, &[], &Limits::default()).unwrap_err();
    assert!(matches!(err, CleanError::TooLarge { size, max } if size == max + 1), "{err:?}");
    assert_eq!(err.http_status(), 413);

    let jpeg = encode_jpeg(&gradient(32, 32));
    let limits = Limits { max_bytes: jpeg.len() - 1, ..Limits::default() };
    assert!(matches!(clean(&jpeg, &[], &limits), Err(CleanError::TooLarge { .. })));
    let limits = Limits { max_bytes: jpeg.len(), ..Limits::default() };
    assert!(clean(&jpeg, &[], &limits).is_ok());
}

#[test]
fn bad_masks_are_rejected() {
    let jpeg = encode_jpeg(&gradient(64, 32));
    let l = Limits::default();
    let bad = [
        Mask { x: 0, y: 0, w: 0, h: 10 },
        Mask { x: 0, y: 0, w: 10, h: 0 },
        Mask { x: 64, y: 0, w: 10, h: 10 },
        Mask { x: 0, y: 32, w: 10, h: 10 },
        Mask { x: u32::MAX, y: u32::MAX, w: u32::MAX, h: u32::MAX },
    ];
    for m in bad {
        let err = clean(&jpeg, &[Mask { x: 0, y: 0, w: 1, h: 1 }, m], &l).unwrap_err();
        assert!(matches!(err, CleanError::BadMask(_)), "{m:?}: {err:?}");
        assert_eq!(err.http_status(), 422);
    }
    let many = vec![Mask { x: 0, y: 0, w: 1, h: 1 }; MAX_MASKS + 1];
    assert!(matches!(clean(&jpeg, &many, &l), Err(CleanError::BadMask(_))));
    // Zero-area masks are refused before the input is even looked at.
    let err = clean(b"not an image", &[Mask { x: 0, y: 0, w: 0, h: 0 }], &l).unwrap_err();
    assert!(matches!(err, CleanError::BadMask(_)), "{err:?}");
    // Edge-touching masks are fine and fully clipped masks cover the image.
    let out =
        clean(&jpeg, &[Mask { x: 63, y: 31, w: 1, h: 1 }, Mask { x: 0, y: 0, w: u32::MAX, h: u32::MAX }], &l).unwrap();
    assert!(decode_rgba(&out.bytes).pixels().all(|p| p.0 == [0, 0, 0, 255]));
}

#[test]
fn masks_deserialize_from_contract_json() {
    let masks: Vec<Mask> = serde_json::from_str(r#"[{"x":1,"y":2,"w":3,"h":4}]"#).unwrap();
    assert_eq!(masks, vec![Mask { x: 1, y: 2, w: 3, h: 4 }]);
    assert!(serde_json::from_str::<Vec<Mask>>(r#"[{"x":1,"y":2,"w":3}]"#).is_err());
    assert!(serde_json::from_str::<Vec<Mask>>(r#"[{"x":-1,"y":2,"w":3,"h":4}]"#).is_err());
    assert!(serde_json::from_str::<Vec<Mask>>(r#"[{"x":1,"y":2,"w":3,"h":4,"width":9}]"#).is_err());
}

#[test]
fn grayscale_and_16_bit_inputs_are_handled() {
    let gray = image::GrayImage::from_fn(20, 10, |x, _| image::Luma([(50 + x * 5) as u8]));
    let png = encode_png(gray.as_raw(), 20, 10, ExtendedColorType::L8);
    let out = clean(&png, &[], &Limits::default()).unwrap();
    assert_eq!(out.format, OutputFormat::Jpeg);
    verify_clean(&out.bytes, out.format).unwrap();

    let gray_jpeg = {
        let mut v = Vec::new();
        JpegEncoder::new_with_quality(&mut v, 90).encode_image(&gray).unwrap();
        v
    };
    let out = clean(&gray_jpeg, &[Mask { x: 0, y: 0, w: 8, h: 8 }], &Limits::default()).unwrap();
    assert_eq!(decode_rgba(&out.bytes).get_pixel(4, 4).0, [0, 0, 0, 255]);

    let rgba16: Vec<u8> = (0..(8 * 8))
        .flat_map(|i: u16| {
            let v = (i * 1000).to_ne_bytes();
            let a = if i & 1 == 0 { 65535u16 } else { 30000 };
            [v, v, v, a.to_ne_bytes()].concat()
        })
        .collect();
    let png16 = encode_png(&rgba16, 8, 8, ExtendedColorType::Rgba16);
    let out = clean(&png16, &[], &Limits::default()).unwrap();
    assert_eq!(out.format, OutputFormat::Png);
    verify_clean(&out.bytes, out.format).unwrap();
}

#[test]
fn verify_clean_rejects_raw_uploads() {
    let (input, _, _) = hostile_jpeg(16, 16, 1);
    assert!(verify_clean(&input, OutputFormat::Jpeg).is_err());
    assert!(verify_clean(&input, OutputFormat::Png).is_err());
    let img = gradient(8, 8);
    let png = encode_png(img.as_raw(), 8, 8, ExtendedColorType::Rgb8);
    assert!(verify_clean(&splice_after_ihdr(&png, &png_metadata_chunks()), OutputFormat::Png).is_err());
    assert!(verify_clean(&png, OutputFormat::Png).is_ok());
    assert!(verify_clean(&png, OutputFormat::Jpeg).is_err());
}

// -------------------------------------------------------------- proptests

fn small_valid_inputs() -> Vec<Vec<u8>> {
    let img = gradient(24, 16);
    let (hostile, _, _) = hostile_jpeg(24, 16, 6);
    let mut png = splice_after_ihdr(&encode_png(img.as_raw(), 24, 16, ExtendedColorType::Rgb8), &png_metadata_chunks());
    png.extend_from_slice(b"trailer");
    vec![hostile, png, encode_webp(img.as_raw(), 24, 16, ExtendedColorType::Rgb8)]
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(out) = clean(&bytes, &[], &Limits::default()) {
            prop_assert!(verify_clean(&out.bytes, out.format).is_ok());
        }
        let _ = verify_clean(&bytes, OutputFormat::Jpeg);
        let _ = verify_clean(&bytes, OutputFormat::Png);
    }

    #[test]
    fn random_bytes_behind_magic_never_panic(
        which in 0usize..3,
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let magic: &[u8] = match which {
            0 => b"\xFF\xD8\xFF",
            1 => b"\x89PNG\r\n\x1a\n",
            _ => b"RIFF\x00\x10\x00\x00WEBP",
        };
        let mut bytes = magic.to_vec();
        bytes.extend(tail);
        if let Ok(out) = clean(&bytes, &[], &Limits::default()) {
            prop_assert!(verify_clean(&out.bytes, out.format).is_ok());
        }
        let _ = verify_clean(&bytes, OutputFormat::Jpeg);
        let _ = verify_clean(&bytes, OutputFormat::Png);
    }

    #[test]
    fn mutated_real_images_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
        do_cut in any::<bool>(),
        mask in (0u32..40, 0u32..40, 0u32..40, 0u32..40),
    ) {
        let inputs = small_valid_inputs();
        let mut bytes = inputs[which].clone();
        for (pos, val) in edits {
            let i = pos % bytes.len();
            bytes[i] = val;
        }
        if do_cut {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        let m = Mask { x: mask.0, y: mask.1, w: mask.2, h: mask.3 };
        if let Ok(out) = clean(&bytes, &[m], &Limits::default()) {
            prop_assert!(verify_clean(&out.bytes, out.format).is_ok());
            prop_assert!(!contains(&out.bytes, SERIAL));
            prop_assert!(!contains(&out.bytes, b"MRN 12345678"));
        }
        let _ = verify_clean(&bytes, OutputFormat::Jpeg);
        let _ = verify_clean(&bytes, OutputFormat::Png);
    }
}
