//! Time `clean()` on a synthetic 12-megapixel (4000x3000) photo-like JPEG.
//!
//! cargo run --release -p orgallery-imaging --example bench_clean

use std::time::Instant;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbImage};
use orgallery_imaging::{clean, Limits, Mask};

fn main() {
    let (w, h) = (4000u32, 3000u32);
    // Smooth gradients plus deterministic pseudo-noise: compresses like a photo.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let img = RgbImage::from_fn(w, h, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = (seed & 0x1F) as u32;
        image::Rgb([(x * 200 / w + n) as u8, (y * 200 / h + n) as u8, ((x + y) % 256) as u8])
    });
    let mut input = Vec::new();
    JpegEncoder::new_with_quality(&mut input, 90).encode_image(&img).expect("encode input");
    println!("input: {w}x{h} JPEG, {} bytes", input.len());

    let masks = [Mask { x: 100, y: 100, w: 800, h: 400 }, Mask { x: 3500, y: 2500, w: 1000, h: 1000 }];
    let limits = Limits::default();
    for run in 1..=3 {
        let start = Instant::now();
        let out = clean(&input, &masks, &limits).expect("clean");
        println!(
            "run {run}: clean() took {:?}; output {:?} {}x{} {} bytes",
            start.elapsed(),
            out.format,
            out.width,
            out.height,
            out.bytes.len()
        );
    }

    // Same pixels as a PNG with an alpha channel (one translucent pixel), which
    // takes the lossless PNG output path.
    let mut rgba = image::DynamicImage::ImageRgb8(img).to_rgba8();
    rgba.get_pixel_mut(0, 0).0[3] = 128;
    let mut png = Vec::new();
    PngEncoder::new(&mut png).write_image(rgba.as_raw(), w, h, ExtendedColorType::Rgba8).expect("encode png");
    println!("input: {w}x{h} RGBA PNG, {} bytes", png.len());
    let big = Limits { max_bytes: png.len(), ..Limits::default() };
    let start = Instant::now();
    let out = clean(&png, &masks, &big).expect("clean png");
    println!("png: clean() took {:?}; output {:?} {} bytes", start.elapsed(), out.format, out.bytes.len());
}
