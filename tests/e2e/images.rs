//! Images through the gates: metadata gone, masks opaque, caption gated,
//! media served only once released and only to those who may see it; and
//! every bad input refused with nothing stored.

use std::io::Cursor;
use std::time::Duration;

use orgallery::model::Role;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{assert_error, TestServer};
use crate::ws::viewer;

/// A real JPEG (a colour gradient) carrying EXIF GPS and a serial, XMP, a
/// comment, and bytes after the end of the image.
fn jpeg_with_metadata() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 200]));
    let mut plain = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut plain), image::ImageFormat::Jpeg)
        .expect("encode");
    let seg = |marker: u8, payload: &[u8]| {
        let len = u16::try_from(payload.len() + 2).expect("len");
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&len.to_be_bytes());
        s.extend_from_slice(payload);
        s
    };
    // Minimal little-endian TIFF: IFD0 with a GPS IFD pointer; GPS IFD with
    // a latitude ref; an ASCII serial in IFD0.
    let mut tiff = b"II*\x00\x08\x00\x00\x00".to_vec();
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&[0x25, 0x88, 4, 0, 1, 0, 0, 0]); // GPSInfo, LONG, 1
    tiff.extend_from_slice(&38u32.to_le_bytes());
    tiff.extend_from_slice(&[0x31, 0xA4, 2, 0, 16, 0, 0, 0]); // BodySerialNumber, ASCII, 16
    tiff.extend_from_slice(&56u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes()); // GPS IFD at 38
    tiff.extend_from_slice(&[1, 0, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(b"SN-4471-PATIENT\0"); // at 56
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend_from_slice(&tiff);
    let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><dc:creator>Jane Q Patient</dc:creator></x:xmpmeta>";
    let mut out = plain[..2].to_vec();
    out.extend(seg(0xE1, &exif));
    out.extend(seg(0xE1, xmp));
    out.extend(seg(0xFE, b"MRN 12345678"));
    out.extend_from_slice(&plain[2..]);
    out.extend_from_slice(b"TRAILER-SECRET");
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

pub(crate) async fn upload(
    ts: &TestServer,
    id: &str,
    token: &str,
    bytes: Vec<u8>,
    caption: Option<&str>,
    masks: Option<&str>,
) -> (StatusCode, Value) {
    let mut form =
        Form::new().part("file", Part::bytes(bytes).file_name("photo.jpg").mime_str("image/jpeg").expect("mime"));
    if let Some(c) = caption {
        form = form.text("caption", c.to_string());
    }
    if let Some(m) = masks {
        form = form.text("masks", m.to_string());
    }
    let r = ts
        .http
        .post(ts.url(&format!("/api/sessions/{id}/images")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn media_files(ts: &TestServer) -> usize {
    let dir = ts.dir.path().join("media");
    walk(&dir)
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
        .unwrap_or(0)
}

#[tokio::test]
async fn metadata_never_survives_and_masks_are_opaque() {
    let ts = TestServer::start().await;
    let (id, surgeon, _) = ts.live().await;
    ts.patch(&format!("/api/sessions/{id}"), &surgeon, json!({"delay_seconds": 600})).await;
    let (student, _) = ts.token(Role::Student).await;
    let mut v = viewer(&ts, &id, &student, 0).await;
    let input = jpeg_with_metadata();
    for secret in [&b"SN-4471-PATIENT"[..], b"Jane Q Patient", b"MRN 12345678", b"TRAILER-SECRET", b"Exif\0\0"] {
        assert!(contains(&input, secret), "the test input carries its secret");
    }
    let (s, held) = upload(
        &ts,
        &id,
        &surgeon,
        input,
        Some("view of the hepatocystic triangle"),
        Some(r#"[{"x":0,"y":0,"w":16,"h":16}]"#),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{held}");
    assert_eq!(held["kind"], "image");
    assert_eq!(held["caption"], "view of the hepatocystic triangle");
    assert_eq!(media_files(&ts), 0, "nothing is written to disk while held");
    // Held media is not served.
    let url = held["image_url"].as_str().expect("url").to_string();
    assert_eq!(
        ts.http.get(ts.url(&url)).bearer_auth(&student).send().await.expect("get").status(),
        StatusCode::NOT_FOUND
    );

    let uid = held["id"].as_str().expect("id");
    assert_eq!(
        ts.post(&format!("/api/sessions/{id}/updates/{uid}/approve"), &surgeon, json!({})).await.0,
        StatusCode::OK
    );
    let f = v.expect("update", Duration::from_secs(10)).await;
    assert_eq!(f["update"]["kind"], "image");
    assert_eq!(f["update"]["image_url"], url.as_str());
    let r = ts.http.get(ts.url(&url)).bearer_auth(&student).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let out = r.bytes().await.expect("bytes").to_vec();
    for secret in [
        &b"SN-4471-PATIENT"[..],
        b"Jane Q Patient",
        b"MRN 12345678",
        b"TRAILER-SECRET",
        b"Exif",
        b"http://ns.adobe.com",
        b"GPS",
    ] {
        assert!(!contains(&out, secret), "{} survived", String::from_utf8_lossy(secret));
    }
    assert_eq!(&out[out.len() - 2..], &[0xFF, 0xD9], "nothing after the end of the image");
    let img = image::load_from_memory(&out).expect("decodes").to_rgba8();
    assert_eq!((img.width(), img.height()), (64, 48));
    for y in 0..16 {
        for x in 0..16 {
            assert_eq!(img.get_pixel(x, y).0, [0, 0, 0, 255], "masked pixel ({x},{y}) is opaque black");
        }
    }
    assert!(img.get_pixel(60, 40).0[2] > 100, "unmasked pixels keep their colour");
    assert_eq!(media_files(&ts), 1, "only the clean image is stored");
    // Someone who may not see the session gets a 404.
    let (other_surgeon, _) = ts.token(Role::Surgeon).await;
    assert_eq!(
        ts.http.get(ts.url(&url)).bearer_auth(&other_surgeon).send().await.expect("get").status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bad_images_and_updates_are_refused_and_store_nothing() {
    let ts = TestServer::start().await;
    let (id, surgeon, _) = ts.live().await;
    let good = jpeg_with_metadata();
    assert_error(
        &upload(&ts, &id, &surgeon, b"GIF89a not really".to_vec(), None, None).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    assert_error(
        &upload(&ts, &id, &surgeon, good[..good.len() / 2].to_vec(), None, None).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    assert_error(
        &upload(&ts, &id, &surgeon, b"random bytes".to_vec(), None, None).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    // A PNG header declaring 100000 x 100000 pixels: a decompression bomb.
    let mut bomb = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    bomb.extend_from_slice(&100_000u32.to_be_bytes());
    bomb.extend_from_slice(&100_000u32.to_be_bytes());
    bomb.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    assert_error(
        &upload(&ts, &id, &surgeon, bomb, None, None).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    let huge = vec![0u8; 21 * 1024 * 1024];
    let (s, _) = upload(&ts, &id, &surgeon, huge, None, None).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(
        &upload(&ts, &id, &surgeon, good.clone(), None, Some("not json")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_masks",
    );
    assert_error(
        &upload(&ts, &id, &surgeon, good.clone(), None, Some(r#"[{"x":1000,"y":1000,"w":5,"h":5}]"#)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_masks",
    );
    let r = ts
        .http
        .post(ts.url(&format!("/api/sessions/{id}/images")))
        .bearer_auth(&surgeon)
        .multipart(Form::new().text("caption", "no file"))
        .send()
        .await
        .expect("x");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = ts
        .http
        .post(ts.url(&format!("/api/sessions/{id}/images")))
        .bearer_auth(&surgeon)
        .json(&json!({}))
        .send()
        .await
        .expect("x");
    assert!(r.status().is_client_error());
    assert_eq!(
        r.json::<Value>().await.expect("json body")["error"]["code"].as_str().map(|c| !c.is_empty()),
        Some(true)
    );

    // Text updates.
    let p = format!("/api/sessions/{id}/updates");
    assert_error(
        &ts.post(&p, &surgeon, json!({"kind": "text", "text": "x".repeat(16 * 1024 + 1)})).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    assert_error(
        &ts.post(&p, &surgeon, json!({"kind": "text", "text": "   "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "empty_text",
    );
    assert_error(
        &ts.post(&p, &surgeon, json!({"kind": "video", "text": "x"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    assert_error(
        &ts.post(&p, &surgeon, json!({"kind": "text", "text": 5})).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    );
    assert_error(
        &ts.post(&p, &surgeon, json!({"kind": "marker", "label": "l".repeat(201)})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "label_too_long",
    );
    ts.patch(&format!("/api/sessions/{id}"), &surgeon, json!({"delay_seconds": 600})).await;
    let (_, m) = ts.post(&p, &surgeon, json!({"kind": "marker", "label": "closure"})).await;
    let marker = format!("{p}/{}", m["id"].as_str().expect("id"));
    let long = json!({"text": "l".repeat(201)});
    assert_error(&ts.patch(&marker, &surgeon, long).await, StatusCode::UNPROCESSABLE_ENTITY, "label_too_long");
    assert_eq!(ts.post(&format!("{marker}/retract"), &surgeon, json!({})).await.0, StatusCode::OK);
    assert_error(&ts.get(&format!("{p}?limit=0"), &surgeon).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit");
    assert_error(&ts.get(&format!("{p}?after=-1"), &surgeon).await, StatusCode::BAD_REQUEST, "bad_request");
    assert_error(&ts.get("/api/media/no-such-media", &surgeon).await, StatusCode::NOT_FOUND, "not_found");

    // Wrong state and outside consent.
    let (draft, dt, _) = ts.draft().await;
    assert_error(
        &ts.post(&format!("/api/sessions/{draft}/updates"), &dt, json!({"kind": "text", "text": "x"})).await,
        StatusCode::CONFLICT,
        "not_live",
    );
    let scope = json!({"text": true, "images": false, "video": false, "audio": false, "archive": false});
    ts.put(&format!("/api/sessions/{draft}/consent"), &dt, json!({"reference": "R", "scope": scope})).await;
    ts.post(&format!("/api/sessions/{draft}/start"), &dt, json!({})).await;
    assert_error(&upload(&ts, &draft, &dt, good, None, None).await, StatusCode::FORBIDDEN, "outside_consent");

    let (_, q) = ts.get(&format!("/api/sessions/{id}/queue"), &surgeon).await;
    assert_eq!(q["items"].as_array().map(Vec::len), Some(0), "no bad request put anything in the gate: {q}");
    assert_eq!(media_files(&ts), 0);
}

#[tokio::test]
async fn large_photographs_within_the_limit_are_accepted() {
    let ts = TestServer::start().await;
    let (id, surgeon, _) = ts.live().await;
    // ~1.5 MB of noise: far above the JSON body limit, well under 20 MiB.
    let mut seed = 0x2545F491u32;
    let img = image::RgbImage::from_fn(1024, 512, |_, _| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        image::Rgb([seed as u8, (seed >> 8) as u8, (seed >> 16) as u8])
    });
    let mut png = Vec::new();
    image::DynamicImage::ImageRgb8(img).write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).expect("png");
    assert!(png.len() > 1_000_000, "{}", png.len());
    let (s, v) = upload(&ts, &id, &surgeon, png, None, None).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
}
