//! The archive: timeline offsets, recordings with range requests, the
//! streamed and signed export (nothing retracted or dumped in it), no
//! archive without consent, retention on an injected clock, the admin's
//! purge, and an export of a 1 GiB recording with bounded server memory.

use std::io::Read;
use std::time::Duration;

use orgallery::model::Role;
use orgallery_media_gate::webm::{AudioTrack, VideoTrack, WebmWriter};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, TestServer};

/// Write a playable recording of `ms` milliseconds where the media engine would.
fn write_recording(dir: &std::path::Path, name: &str, ms: u64) -> Vec<u8> {
    std::fs::create_dir_all(dir).expect("dir");
    let video = VideoTrack { codec: "V_VP8", width: 64, height: 48 };
    let audio = AudioTrack { codec: "A_OPUS", sample_rate: 48_000, channels: 2 };
    let mut w = WebmWriter::new(Vec::new(), Some(video), Some(audio)).expect("writer");
    let mut ts = 0;
    while ts <= ms {
        w.write_video(ts, ts % 2000 == 0, &[7u8; 200]).expect("video");
        w.write_audio(ts, &[3u8; 40]).expect("audio");
        ts += 20;
    }
    let bytes = w.finish().expect("finish");
    std::fs::write(dir.join(name), &bytes).expect("write");
    bytes
}

async fn publish(ts: &TestServer, id: &str, token: &str, body: Value) -> String {
    let (s, v) = ts.post(&format!("/api/sessions/{id}/updates"), token, body).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    v["id"].as_str().expect("id").to_string()
}

async fn released(ts: &TestServer, id: &str, token: &str, n: usize) -> Vec<Value> {
    for _ in 0..400 {
        let (_, v) = ts.get(&format!("/api/sessions/{id}/updates"), token).await;
        if v.as_array().is_some_and(|a| a.len() >= n) {
            return v.as_array().cloned().unwrap_or_default();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{n} items were not released");
}

fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 120]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("png");
    out.into_inner()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A live session with every kind released, one item retracted and one
/// dumped, a recording, then ended: (id, surgeon token, released items).
async fn ended_session(ts: &TestServer) -> (String, String, Vec<Value>) {
    let (id, surgeon, _) = ts.live().await;
    let rec_dir = ts.dir.path().join("media").join(&id);
    publish(ts, &id, &surgeon, json!({"kind": "text", "text": "first look at the field"})).await;
    released(ts, &id, &surgeon, 1).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    write_recording(&rec_dir, "recording-1.webm", 3000);
    tokio::time::sleep(Duration::from_millis(30)).await;
    publish(ts, &id, &surgeon, json!({"kind": "marker", "label": "incision"})).await;
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(png()).file_name("p.png").mime_str("image/png").expect("mime"))
        .text("caption", "the gallbladder");
    let r = ts.http.post(ts.url(&format!("/api/sessions/{id}/images"))).bearer_auth(&surgeon).multipart(form);
    assert_eq!(r.send().await.expect("upload").status(), StatusCode::ACCEPTED);
    released(ts, &id, &surgeon, 3).await;
    // Held items that never reach anyone: one retracted, one dumped.
    assert_eq!(
        ts.patch(&format!("/api/sessions/{id}"), &surgeon, json!({"delay_seconds": 60})).await.0,
        StatusCode::OK
    );
    let r1 = publish(ts, &id, &surgeon, json!({"kind": "text", "text": "RETRACTED-SECRET wrong patient"})).await;
    assert_eq!(
        ts.post(&format!("/api/sessions/{id}/updates/{r1}/retract"), &surgeon, json!({})).await.0,
        StatusCode::OK
    );
    publish(ts, &id, &surgeon, json!({"kind": "text", "text": "DUMPED-SECRET never shown"})).await;
    assert_eq!(ts.post(&format!("/api/sessions/{id}/dump"), &surgeon, json!({})).await.0, StatusCode::OK);
    assert_eq!(ts.patch(&format!("/api/sessions/{id}"), &surgeon, json!({"delay_seconds": 0})).await.0, StatusCode::OK);
    publish(ts, &id, &surgeon, json!({"kind": "marker", "label": "closure"})).await;
    let items = released(ts, &id, &surgeon, 4).await;
    write_recording(&rec_dir, "recording-2.webm", 1000);
    assert_eq!(ts.post(&format!("/api/sessions/{id}/end"), &surgeon, json!({})).await.0, StatusCode::OK);
    (id, surgeon, items)
}

#[tokio::test]
async fn timeline_offsets_match_the_released_items_and_recordings_seek() {
    let ts = TestServer::start().await;
    let (id, surgeon, items) = ended_session(&ts).await;
    let (educator, _) = ts.token(Role::Educator).await;
    let (s, t) = ts.get(&format!("/api/sessions/{id}/timeline"), &educator).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["archived"], true);
    assert_eq!(t["origin_kind"], "recording");
    let recs = t["recordings"].as_array().expect("recordings");
    assert_eq!(recs.len(), 2, "{t}");
    assert_eq!(recs[0]["name"], "recording-1.webm");
    assert_eq!(recs[0]["media_type"], "video/webm");
    assert_eq!(recs[0]["duration_ms"], 3000);
    assert_eq!(recs[1]["duration_ms"], 1000);
    let origin = chrono::DateTime::parse_from_rfc3339(t["origin"].as_str().expect("origin")).expect("time");
    assert_eq!(t["origin"], recs[0]["started_at"]);
    let got = t["items"].as_array().expect("items");
    assert_eq!(got.len(), 4);
    for (g, want) in got.iter().zip(&items) {
        assert_eq!(g["seq"], want["seq"]);
        assert_eq!(g["id"], want["id"]);
        let released = chrono::DateTime::parse_from_rfc3339(want["released_at"].as_str().expect("t")).expect("t");
        assert_eq!(g["offset_ms"].as_i64(), Some((released - origin).num_milliseconds()), "{g}");
    }
    // The first text was released before the recording started; the others after.
    assert!(got[0]["offset_ms"].as_i64().expect("offset") <= 0);
    assert!(got[1]["offset_ms"].as_i64().expect("offset") > 0);
    let markers: Vec<&str> = t["markers"].as_array().expect("m").iter().filter_map(|m| m["label"].as_str()).collect();
    assert_eq!(markers, vec!["incision", "closure"]);
    let text = t.to_string();
    assert!(!text.contains("SECRET") && !text.contains("F-1"), "{text}");
    // The owner and admins read it too; viewers and other surgeons do not.
    assert_eq!(ts.get(&format!("/api/sessions/{id}/timeline"), &surgeon).await.0, StatusCode::OK);
    assert_eq!(ts.get(&format!("/api/sessions/{id}/timeline"), &ts.token(Role::Admin).await.0).await.0, StatusCode::OK);
    let (student, _) = ts.token(Role::Student).await;
    assert_error(&ts.get(&format!("/api/sessions/{id}/timeline"), &student).await, StatusCode::FORBIDDEN, "forbidden");
    let (other, _) = ts.token(Role::Surgeon).await;
    assert_error(&ts.get(&format!("/api/sessions/{id}/timeline"), &other).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&ts.get("/api/sessions/nope/timeline", &educator).await, StatusCode::NOT_FOUND, "not_found");

    // Range requests on the recording.
    let url = ts.url(recs[0]["url"].as_str().expect("url"));
    let whole = std::fs::read(ts.dir.path().join("media").join(&id).join("recording-1.webm")).expect("file");
    let len = whole.len();
    let r = ts.http.get(&url).bearer_auth(&educator).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["accept-ranges"], "bytes");
    assert_eq!(r.headers()["content-type"], "video/webm");
    assert_eq!(r.bytes().await.expect("body").as_ref(), whole.as_slice());
    for (range, from, to) in [("bytes=0-99", 0, 99), ("bytes=100-", 100, len - 1), ("bytes=-50", len - 50, len - 1)] {
        let r = ts.http.get(&url).bearer_auth(&educator).header("range", range).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(r.headers()["content-range"].to_str().expect("cr"), format!("bytes {from}-{to}/{len}"));
        assert_eq!(r.headers()["accept-ranges"], "bytes");
        assert_eq!(r.bytes().await.expect("body").as_ref(), &whole[from..=to], "{range}");
    }
    for bad in [format!("bytes={len}-"), "bytes=9-3".into(), "bytes=abc".into(), "pages".into()] {
        let r = ts.http.get(&url).bearer_auth(&educator).header("range", &bad).send().await.expect("get");
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE, "{bad}");
        assert_eq!(r.headers()["content-range"].to_str().expect("cr"), format!("bytes */{len}"));
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["error"]["code"], "range_not_satisfiable");
    }
    for name in ["recording-9.webm", "..%2Forgallery.db", "orgallery.db"] {
        let got = ts.get(&format!("/api/sessions/{id}/recordings/{name}"), &educator).await;
        assert_eq!(got.0, StatusCode::NOT_FOUND, "{name}");
    }
    let r = ts.http.get(&url).bearer_auth(&student).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Released images take ranges too.
    let image_url = items.iter().find_map(|i| i["image_url"].as_str()).expect("image");
    let r = ts.http.get(ts.url(image_url)).bearer_auth(&student).header("range", "bytes=0-7").send().await.expect("i");
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.expect("b").len(), 8);
}

#[tokio::test]
async fn an_export_is_complete_signed_and_holds_nothing_retracted_or_dumped() {
    let ts = TestServer::start().await;
    let (id, surgeon, items) = ended_session(&ts).await;
    let (educator, _) = ts.token(Role::Educator).await;
    let r = ts.http.get(ts.url(&format!("/api/sessions/{id}/export"))).bearer_auth(&educator).send().await.expect("x");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/zip");
    assert!(r.headers().get("content-length").is_none(), "streamed, not sized in advance");
    let zip_bytes = r.bytes().await.expect("zip").to_vec();
    assert!(!contains(&zip_bytes, b"RETRACTED-SECRET") && !contains(&zip_bytes, b"DUMPED-SECRET"));
    assert!(!contains(&zip_bytes, b"F-1\""), "the consent reference stays out");
    let path = ts.dir.path().join("export.zip");
    std::fs::write(&path, &zip_bytes).expect("write");

    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).expect("open")).expect("zip");
    let mut manifest = String::new();
    zip.by_name("manifest.json").expect("manifest").read_to_string(&mut manifest).expect("read");
    let manifest: Value = serde_json::from_str(&manifest).expect("json");
    assert_eq!(manifest["session"]["id"], id.as_str());
    let files = manifest["files"].as_array().expect("files");
    let paths: Vec<&str> = files.iter().filter_map(|f| f["path"].as_str()).collect();
    assert!(paths.contains(&"timeline.json"));
    assert!(paths.contains(&"recording/recording-1.webm") && paths.contains(&"recording/recording-2.webm"));
    assert_eq!(paths.iter().filter(|p| p.starts_with("media/")).count(), 1, "{paths:?}");
    for f in files {
        let mut data = Vec::new();
        zip.by_name(f["path"].as_str().expect("p")).expect("entry").read_to_end(&mut data).expect("read");
        assert_eq!(f["bytes"].as_u64(), Some(data.len() as u64));
        use sha2::Digest;
        assert_eq!(f["sha256"].as_str(), Some(hex::encode(sha2::Sha256::digest(&data)).as_str()));
    }
    let mut timeline = String::new();
    zip.by_name("timeline.json").expect("timeline").read_to_string(&mut timeline).expect("read");
    let timeline: Value = serde_json::from_str(&timeline).expect("json");
    let ids: Vec<&Value> = timeline["items"].as_array().expect("items").iter().map(|i| &i["id"]).collect();
    assert_eq!(ids, items.iter().map(|i| &i["id"]).collect::<Vec<_>>());
    // The signature verifies with the published key, by the CLI.
    let (s, key) = ts.call(Method::GET, "/api/archive/key", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let key = key["public_key"].as_str().expect("key").to_string();
    let zip_path = path.to_str().expect("path");
    let (code, out, err) =
        crate::process::run(ts.dir.path(), &["archive", "verify", zip_path, "--public-key", &key], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("signature valid"), "{out}");
    // Without --public-key the data dir's archive key is used.
    let (code, out, err) = crate::process::run(ts.dir.path(), &["archive", "verify", zip_path], "");
    assert_eq!(code, 0, "{out}{err}");
    // A flipped byte in a recording, or another key, fails.
    let at = zip_bytes.windows(4).position(|w| w == [0x1F, 0x43, 0xB6, 0x75]).expect("a cluster") + 40;
    let mut bad = zip_bytes.clone();
    bad[at] ^= 0xFF;
    let bad_path = ts.dir.path().join("bad.zip");
    std::fs::write(&bad_path, &bad).expect("write");
    let (code, out, err) = crate::process::run(
        ts.dir.path(),
        &["archive", "verify", bad_path.to_str().expect("p"), "--public-key", &key],
        "",
    );
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("differ") || err.contains("checksum"), "{err}");
    let other = hex::encode([9u8; 32]);
    let other = orgallery::signing::public_from_hex(&other).map(|_| other).unwrap_or_else(|| "00".repeat(32));
    let (code, _, err) =
        crate::process::run(ts.dir.path(), &["archive", "verify", zip_path, "--public-key", &other], "");
    assert_ne!(code, 0, "{err}");

    // Who may export what.
    let (student, _) = ts.token(Role::Student).await;
    assert_error(&ts.get(&format!("/api/sessions/{id}/export"), &student).await, StatusCode::FORBIDDEN, "forbidden");
    let (admin, _) = ts.token(Role::Admin).await;
    assert_error(&ts.get(&format!("/api/sessions/{id}/export"), &admin).await, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        ts.http
            .get(ts.url(&format!("/api/sessions/{id}/export")))
            .bearer_auth(&surgeon)
            .send()
            .await
            .expect("x")
            .status(),
        StatusCode::OK
    );
    assert_error(&ts.get("/api/sessions/unknown/export", &educator).await, StatusCode::NOT_FOUND, "not_found");
    let (live, _, _) = ts.live().await;
    assert_error(&ts.get(&format!("/api/sessions/{live}/export"), &educator).await, StatusCode::CONFLICT, "not_ended");
}

#[tokio::test]
async fn without_archive_consent_everything_is_purged_at_the_end() {
    let ts = TestServer::start().await;
    let (id, surgeon, _) = ts.draft().await;
    let scope = json!({"text": true, "images": true, "video": true, "audio": true, "archive": false});
    ts.put(&format!("/api/sessions/{id}/consent"), &surgeon, json!({"reference": "F-2", "scope": scope})).await;
    assert_eq!(ts.post(&format!("/api/sessions/{id}/start"), &surgeon, json!({})).await.0, StatusCode::OK);
    publish(&ts, &id, &surgeon, json!({"kind": "text", "text": "hello"})).await;
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(png()).file_name("p.png").mime_str("image/png").expect("mime"));
    let r = ts.http.post(ts.url(&format!("/api/sessions/{id}/images"))).bearer_auth(&surgeon).multipart(form);
    assert_eq!(r.send().await.expect("upload").status(), StatusCode::ACCEPTED);
    let items = released(&ts, &id, &surgeon, 2).await;
    let media_dir = ts.dir.path().join("media").join(&id);
    assert!(media_dir.exists());
    assert_eq!(ts.post(&format!("/api/sessions/{id}/end"), &surgeon, json!({})).await.0, StatusCode::OK);
    assert!(!media_dir.exists(), "images and recordings are gone");
    let (educator, _) = ts.token(Role::Educator).await;
    let (s, t) = ts.get(&format!("/api/sessions/{id}/timeline"), &educator).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((t["archived"].as_bool(), t["items"].as_array().map(Vec::len)), (Some(false), Some(0)), "{t}");
    assert!(t["purged_at"].is_string());
    let (_, updates) = ts.get(&format!("/api/sessions/{id}/updates"), &educator).await;
    assert_eq!(updates, json!([]));
    let image_url = items.iter().find_map(|i| i["image_url"].as_str()).expect("image");
    assert_eq!(ts.get(image_url, &educator).await.0, StatusCode::NOT_FOUND);
    assert_error(&ts.get(&format!("/api/sessions/{id}/export"), &educator).await, StatusCode::GONE, "archive_purged");
    // The session row stays, and so does its audit trail, with the purge.
    assert_eq!(ts.get(&format!("/api/sessions/{id}"), &educator).await.0, StatusCode::OK);
    let (admin, _) = ts.token(Role::Admin).await;
    let events = crate::audit::wait_for(&ts, &admin, "purge", &format!("&session={id}")).await;
    let purge = events.iter().find(|e| e["action"] == "purge").expect("purge");
    assert_eq!(purge["detail"]["reason"], "no_archive_consent");
    assert!(events.iter().any(|e| e["action"] == "start"));
}

#[tokio::test]
async fn retention_purges_archived_sessions_on_schedule() {
    let ts = TestServer::start_with(|c| c.retention_days = 30).await;
    let (id, surgeon, _) = ts.live().await;
    publish(&ts, &id, &surgeon, json!({"kind": "text", "text": "kept for a while"})).await;
    released(&ts, &id, &surgeon, 1).await;
    write_recording(&ts.dir.path().join("media").join(&id), "recording-1.webm", 500);
    assert_eq!(ts.post(&format!("/api/sessions/{id}/end"), &surgeon, json!({})).await.0, StatusCode::OK);
    let state = &ts.server.state;
    let now = chrono::Utc::now();
    let purged = orgallery::archive::retention::run_once(state, now + chrono::Duration::days(29)).await.expect("run");
    assert!(purged.is_empty());
    let (_, t) = ts.get(&format!("/api/sessions/{id}/timeline"), &surgeon).await;
    assert_eq!((t["archived"].as_bool(), t["items"].as_array().map(Vec::len)), (Some(true), Some(1)));
    let purged = orgallery::archive::retention::run_once(state, now + chrono::Duration::days(31)).await.expect("run");
    assert_eq!(purged, vec![id.clone()]);
    let (_, t) = ts.get(&format!("/api/sessions/{id}/timeline"), &surgeon).await;
    assert_eq!((t["archived"].as_bool(), t["items"].as_array().map(Vec::len)), (Some(false), Some(0)), "{t}");
    assert!(!ts.dir.path().join("media").join(&id).exists());
    // Once purged, never again.
    let again = orgallery::archive::retention::run_once(state, now + chrono::Duration::days(400)).await.expect("run");
    assert!(again.is_empty());
    let (admin, _) = ts.token(Role::Admin).await;
    let events = crate::audit::wait_for(&ts, &admin, "purge", &format!("&session={id}")).await;
    let purges: Vec<&Value> = events.iter().filter(|e| e["action"] == "purge").collect();
    assert_eq!(purges.len(), 1);
    assert_eq!(purges[0]["detail"]["reason"], "retention");
    assert_eq!(purges[0]["detail"]["retention_days"], 30);
}

#[tokio::test]
async fn an_admin_purge_removes_everything_but_the_audit_events() {
    let ts = TestServer::start().await;
    let (id, surgeon, _) = ts.live().await;
    let (admin, _) = ts.token(Role::Admin).await;
    publish(&ts, &id, &surgeon, json!({"kind": "text", "text": "to be purged"})).await;
    released(&ts, &id, &surgeon, 1).await;
    write_recording(&ts.dir.path().join("media").join(&id), "recording-1.webm", 200);
    let path = format!("/api/sessions/{id}");
    assert_error(&ts.call(Method::DELETE, &path, Some(&surgeon), None).await, StatusCode::FORBIDDEN, "forbidden");
    assert_error(&ts.call(Method::DELETE, &path, Some(&admin), None).await, StatusCode::CONFLICT, "session_live");
    assert_eq!(ts.get(&path, &surgeon).await.0, StatusCode::OK, "a refused purge changes nothing");
    assert_eq!(ts.post(&format!("{path}/end"), &surgeon, json!({})).await.0, StatusCode::OK);
    assert_eq!(ts.call(Method::DELETE, &path, Some(&admin), None).await.0, StatusCode::NO_CONTENT);
    assert_error(&ts.get(&path, &surgeon).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&ts.get(&path, &admin).await, StatusCode::NOT_FOUND, "not_found");
    assert!(!ts.dir.path().join("media").join(&id).exists());
    assert_error(&ts.call(Method::DELETE, &path, Some(&admin), None).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(
        &ts.call(Method::DELETE, "/api/sessions/unknown", Some(&admin), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let events = crate::audit::wait_for(&ts, &admin, "purge", &format!("&session={id}")).await;
    assert!(events.iter().any(|e| e["action"] == "start") && events.iter().any(|e| e["action"] == "publish"));
    let purge = events.iter().find(|e| e["action"] == "purge").expect("purge");
    assert_eq!(purge["detail"]["reason"], "admin");
    assert_eq!(purge["role"], "admin");
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field).map(|v| v.trim().trim_end_matches("kB").trim().parse().expect("kB")))
        .expect("field")
}

#[tokio::test]
async fn exporting_a_1_gib_recording_streams_with_bounded_server_memory() {
    const SIZE: u64 = 1 << 30;
    let dir = tempfile::tempdir().expect("dir");
    let mut proc = crate::process::start(dir.path(), &["serve", "--listen", "127.0.0.1:0"], &[]);
    let token = |role: &str| {
        let (code, out, err) = crate::process::run(dir.path(), &["token", "--sub", "big-1", "--role", role], "");
        assert_eq!(code, 0, "{err}");
        out.trim().to_string()
    };
    let (surgeon, educator) = (token("surgeon"), token("educator"));
    let http = reqwest::Client::new();
    let call = |path: String, body: Value| {
        let req = http.post(format!("{}{path}", proc.url)).bearer_auth(&surgeon).json(&body);
        async move {
            let r = req.send().await.expect("call");
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<Value>().await.expect("json")
        }
    };
    let s = call("/api/sessions".into(), json!({"title": "Long case", "delay_seconds": 0})).await;
    let id = s["id"].as_str().expect("id").to_string();
    let scope = json!({"text": true, "images": true, "video": true, "audio": true, "archive": true});
    let r = http
        .put(format!("{}/api/sessions/{id}/consent", proc.url))
        .bearer_auth(&surgeon)
        .json(&json!({"reference": "F-9", "scope": scope}))
        .send()
        .await
        .expect("consent");
    assert_eq!(r.status(), StatusCode::OK);
    call(format!("/api/sessions/{id}/start"), json!({})).await;
    call(format!("/api/sessions/{id}/end"), json!({})).await;
    // A sparse 1 GiB recording: fast to make, read back as zeros.
    let media = dir.path().join("media").join(&id);
    std::fs::create_dir_all(&media).expect("dir");
    let f = std::fs::File::create(media.join("recording-1.webm")).expect("create");
    f.set_len(SIZE).expect("sparse");
    drop(f);

    let pid = proc.child.id();
    let before = rss_kib(pid, "VmRSS:");
    let mut r =
        http.get(format!("{}/api/sessions/{id}/export", proc.url)).bearer_auth(&educator).send().await.expect("export");
    assert_eq!(r.status(), StatusCode::OK);
    let (mut total, mut peak) = (0u64, before);
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let mut tail: Vec<u8> = Vec::new();
    let mut n = 0u64;
    while let Some(chunk) = r.chunk().await.expect("chunk") {
        total += chunk.len() as u64;
        sha2::Digest::update(&mut hasher, &chunk);
        tail.extend_from_slice(&chunk);
        if tail.len() > 64 * 1024 {
            tail.drain(..tail.len() - 64 * 1024);
        }
        n += 1;
        if n.is_multiple_of(256) {
            peak = peak.max(rss_kib(pid, "VmRSS:"));
        }
    }
    peak = peak.max(rss_kib(pid, "VmRSS:"));
    assert!(total > SIZE, "the whole recording went out ({total} bytes)");
    let growth_mib = peak.saturating_sub(before) / 1024;
    eprintln!("export of {} MiB: server RSS {} MiB before, peak {} MiB", SIZE >> 20, before / 1024, peak / 1024);
    assert!(growth_mib < 64, "server RSS grew {growth_mib} MiB while streaming 1024 MiB");
    // The manifest (near the end) lists the recording with the hash of 1 GiB of zeros.
    let text = String::from_utf8_lossy(&tail);
    assert!(text.contains("\"recording/recording-1.webm\""), "{text}");
    assert!(text.contains(&format!("\"bytes\": {SIZE}")), "{text}");
    assert!(
        text.contains("49bc20df15e412a64472421e13fe86ff1c5165e18b2afccf160d4dc19fe68a14"),
        "SHA-256 of 1 GiB of zeros"
    );
    assert_eq!(proc.terminate(), Some(0), "{}", proc.output());
}
