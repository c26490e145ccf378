//! Live video through the gates: a webrtc-rs publisher over WHIP, webrtc-rs
//! viewers over WHEP, the delay, curtain, dump, late joiners, revocation and
//! the recording (checked with ffprobe).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use orgallery::media::VideoStatus;
use orgallery::model::Role;
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::rtc_peer::{H264Publisher, Publisher, Viewer};
use super::support::TestServer;

/// A live session with full consent and this delay: (id, surgeon token).
pub async fn live_with_delay(ts: &TestServer, delay: u32) -> (String, String) {
    let (t, _) = ts.token(Role::Surgeon).await;
    let (s, v) = ts
        .post(
            "/api/sessions",
            &t,
            json!({"title": "Lap chole", "procedure": "cholecystectomy", "delay_seconds": delay,
                   "audience": ["student", "clinician"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().expect("id").to_string();
    let scope = json!({"text": true, "images": true, "video": true, "audio": true, "archive": true});
    let (s, v) = ts.put(&format!("/api/sessions/{id}/consent"), &t, json!({"reference": "F-1", "scope": scope})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = ts.post(&format!("/api/sessions/{id}/start"), &t, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    (id, t)
}

/// Frames a viewer received, checked against when they were sent.
fn check_delay(publisher: &Publisher, frames: &[(u32, Instant, bool)], delay: Duration) {
    for (index, at, _) in frames {
        let sent = publisher.sent.get(index).expect("a frame that was sent");
        assert!(
            at.duration_since(*sent) >= delay,
            "frame {index} arrived {:?} after it was sent, before the delay {delay:?}",
            at.duration_since(*sent)
        );
    }
}

fn indices(frames: &[(u32, Instant, bool)]) -> Vec<u32> {
    frames.iter().map(|f| f.0).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_viewers_get_the_video_no_earlier_than_the_delay_and_a_late_joiner_starts_at_a_keyframe() {
    let ts = TestServer::start().await;
    let (id, surgeon) = live_with_delay(&ts, 1).await;
    let (student, _) = ts.token(Role::Student).await;
    let (clinician, _) = ts.token(Role::Clinician).await;
    let v1 = Viewer::connect(&ts, &id, &student).await;
    let mut publisher = Publisher::connect(&ts, &id, &surgeon).await;
    publisher.run_for(Duration::from_millis(1500)).await;
    // A late joiner: media is already flowing when it arrives.
    let v2 = Viewer::connect(&ts, &id, &clinician).await;
    publisher.run_for(Duration::from_millis(2500)).await;
    assert_eq!(ts.server.state.media.status(&id).await, VideoStatus::Live);
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let f1 = v1.frames();
    let f2 = v2.frames();
    assert!(f1.len() >= 60, "viewer 1 got {} frames", f1.len());
    assert!(f2.len() >= 20, "viewer 2 got {} frames", f2.len());
    check_delay(&publisher, &f1, Duration::from_secs(1));
    check_delay(&publisher, &f2, Duration::from_secs(1));
    for f in [&f1, &f2] {
        assert!(f[0].2, "a viewer starts at a keyframe, got frame {} first", f[0].0);
        let idx = indices(f);
        assert!(idx.windows(2).all(|w| w[0] < w[1]), "frames in order: {idx:?}");
    }
    // The late joiner started mid-stream, at a keyframe released after it joined.
    assert!(f2[0].0 >= 20 && f2[0].0 % 10 == 0, "the late joiner's first frame is {}", f2[0].0);
    // Nearly every frame reached the first viewer (loopback; allow a few for loss).
    let sent_before = publisher.sent.len() as u32 - 45;
    let got: HashSet<u32> = indices(&f1).into_iter().collect();
    let missing = (f1[0].0..sent_before).filter(|i| !got.contains(i)).count();
    assert!(missing <= 3, "{missing} frames missing at viewer 1");
}

fn ffprobe_video_hashes(path: &std::path::Path) -> (serde_json::Value, Vec<String>) {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_streams", "-show_packets", "-show_data_hash", "sha256", "-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe runs (apt-get install ffmpeg)");
    assert!(out.status.success(), "ffprobe failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
    let hashes = v["packets"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|p| p["codec_type"] == "video")
                .filter_map(|p| p["data_hash"].as_str().map(|h| h.trim_start_matches("SHA256:").to_lowercase()))
                .collect()
        })
        .unwrap_or_default();
    (v, hashes)
}

/// End the session, wait for its recording to be closed, and probe it.
async fn end_and_probe(ts: &TestServer, id: &str, surgeon: &str, name: &str) -> (serde_json::Value, Vec<String>) {
    let (s, v) = ts.post(&format!("/api/sessions/{id}/end"), surgeon, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let file = ts.dir.path().join("media").join(id).join(name);
    for _ in 0..50 {
        if file.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The recorder thread finishes the last cluster after the end.
    tokio::time::sleep(Duration::from_millis(300)).await;
    ffprobe_video_hashes(&file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curtain_and_dump_keep_media_from_viewers_and_from_the_recording() {
    // Every release batch is spread over three fan-out threads here, so the
    // gap and keyframe rules are shown on that path too (the other tests
    // keep the default, where small batches stay on the engine thread).
    let ts = TestServer::start_with(|c| {
        c.rtc.threads = 3;
        c.rtc.spread_from = 1;
    })
    .await;
    let delay = Duration::from_secs(1);
    let (id, surgeon) = live_with_delay(&ts, 1).await;
    let (student, _) = ts.token(Role::Student).await;
    let viewer = Viewer::connect(&ts, &id, &student).await;
    let second = Viewer::connect(&ts, &id, &student).await;
    let mut publisher = Publisher::connect(&ts, &id, &surgeon).await;
    publisher.run_for(Duration::from_secs(2)).await;

    let curtain_down = Instant::now();
    let (s, v) = ts.post(&format!("/api/sessions/{id}/curtain"), &surgeon, json!({"down": true})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    publisher.run_for(Duration::from_millis(1500)).await;
    assert_eq!(ts.server.state.media.status(&id).await, VideoStatus::Paused);
    let (s, v) = ts.post(&format!("/api/sessions/{id}/curtain"), &surgeon, json!({"down": false})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let curtain_up = Instant::now();
    publisher.run_for(Duration::from_secs(2)).await;

    let dump_at = Instant::now();
    let (s, v) = ts.post(&format!("/api/sessions/{id}/dump"), &surgeon, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    publisher.run_for(Duration::from_millis(1500)).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;

    let margin = Duration::from_millis(60);
    // Frames sent in these windows were held when the curtain fell or the
    // dump came, or were captured behind the curtain: never delivered.
    let forbidden = |sent: Instant| {
        (sent > curtain_down - delay + margin && sent < curtain_up)
            || (sent > dump_at - delay + margin && sent < dump_at)
    };
    let banned: HashSet<u32> = publisher.sent.iter().filter(|(_, t)| forbidden(**t)).map(|(i, _)| *i).collect();
    assert!(banned.len() > 50, "the test covers held frames ({})", banned.len());
    for frames in [second.frames(), viewer.frames()] {
        check_delay(&publisher, &frames, delay);
        for (index, at, _) in &frames {
            assert!(!banned.contains(index), "frame {index} (held at the curtain or dumped) reached a viewer");
            assert!(
                !(*at > curtain_down + margin && *at < curtain_up),
                "frame {index} arrived while the curtain was down"
            );
        }
        // After the curtain and after the dump, the viewer resumes at a keyframe
        // captured after the control.
        for control in [curtain_up, dump_at] {
            let first = frames.iter().find(|(i, _, _)| publisher.sent[i] > control).expect("frames after the control");
            assert!(first.2, "resumption at frame {} is a keyframe", first.0);
            let before = frames.iter().rfind(|(i, _, _)| publisher.sent[i] < control).expect("frames before");
            assert!(
                publisher.sent[&before.0] <= control - delay + margin,
                "frame {} was held at the control",
                before.0
            );
        }
        let after_dump = frames.iter().filter(|(i, _, _)| publisher.sent[i] > dump_at).count();
        assert!(after_dump > 5, "media flows again after the dump ({after_dump} frames)");
    }
    let spread = ts.server.state.media.counters.batches_spread.load(std::sync::atomic::Ordering::Relaxed);
    assert!(spread > 50, "release batches went through the fan-out threads ({spread})");
    let frames = viewer.frames();

    // The recording: ffprobe reads it, and it holds only released frames.
    let (probe, hashes) = end_and_probe(&ts, &id, &surgeon, "recording-1.webm").await;
    let streams = probe["streams"].as_array().expect("streams");
    assert!(streams.iter().any(|s| s["codec_name"] == "vp8" && s["width"] == 96), "{probe}");
    assert!(streams.iter().any(|s| s["codec_name"] == "opus"), "{probe}");
    let by_hash: std::collections::HashMap<String, u32> =
        publisher.sent.keys().map(|i| (hex::encode(Sha256::digest(publisher.frame(*i))), *i)).collect();
    let recorded: Vec<u32> = hashes.iter().filter_map(|h| by_hash.get(h).copied()).collect();
    assert_eq!(recorded.len(), hashes.len(), "every recorded frame is one the publisher sent");
    assert!(recorded.len() > 60, "the recording holds the released frames ({})", recorded.len());
    for i in &recorded {
        assert!(!banned.contains(i), "frame {i} (held or dumped) is in the recording");
    }
    let delivered: HashSet<u32> = indices(&frames).into_iter().collect();
    let not_delivered = recorded.iter().filter(|i| !delivered.contains(i)).count();
    assert!(not_delivered <= 3, "the recording is what viewers got ({not_delivered} frames differ)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_viewer_stops_receiving_within_a_second_and_delete_ends_the_publisher() {
    let ts = TestServer::start().await;
    let (id, surgeon) = live_with_delay(&ts, 0).await;
    let (student, _) = ts.token(Role::Student).await;
    let (other, _) = ts.token(Role::Student).await;
    let kicked = Viewer::connect(&ts, &id, &student).await;
    let stays = Viewer::connect(&ts, &id, &other).await;
    // A viewer that vanishes without a DELETE (its network is gone): the
    // server keeps sending into the void and nobody else notices.
    let (vanish, _) = ts.token(Role::Student).await;
    let vanished = Viewer::connect(&ts, &id, &vanish).await;
    let mut ws = super::ws::viewer(&ts, &id, &other, 0).await;
    let mut publisher = Publisher::connect(&ts, &id, &surgeon).await;
    // The live channel's state frames say when video is live and how many
    // WHEP viewers watch it (an extension: `video_viewers`).
    let mut state = ws.expect("state", Duration::from_secs(2)).await;
    while state["video"] != "live" || state["video_viewers"] != 3 {
        state = ws.expect("state", Duration::from_secs(3)).await;
    }
    vanished.pc.close().await.ok();
    publisher.run_for(Duration::from_secs(1)).await;
    assert!(kicked.last_packet().is_some(), "media flows before the logout");
    let (s, _) = ts.post("/api/auth/logout", &student, json!({})).await;
    assert!(s.is_success());
    let revoked_at = Instant::now();
    publisher.run_for(Duration::from_secs(2)).await;
    let last = kicked.last_packet().expect("packets");
    assert!(last < revoked_at + Duration::from_secs(1), "media stopped {:?} after logout", last - revoked_at);
    assert!(stays.last_packet().is_some_and(|t| t > revoked_at + Duration::from_millis(1500)), "others keep watching");
    let mut watching = 3;
    while watching >= 3 {
        watching = ws.expect("state", Duration::from_secs(3)).await["video_viewers"].as_u64().expect("video_viewers");
    }

    // The publisher's DELETE ends media for everyone, and the status says so.
    let resp = ts.http.delete(ts.url(&publisher.resource.location)).bearer_auth(&surgeon).send().await.expect("delete");
    assert_eq!(resp.status(), StatusCode::OK);
    let deleted_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ts.server.state.media.status(&id).await, VideoStatus::None);
    // The live channel says so too.
    let mut video = serde_json::Value::Null;
    while video != "none" {
        video = ws.expect("state", Duration::from_secs(3)).await["video"].clone();
    }
    publisher.run_for(Duration::from_millis(700)).await;
    let last = stays.last_packet().expect("packets");
    assert!(last < deleted_at + Duration::from_millis(200), "no media after the publisher left");
    // The resource is gone.
    let resp = ts.http.delete(ts.url(&publisher.resource.location)).bearer_auth(&surgeon).send().await.expect("delete");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    publisher.close().await;
    assert_eq!(stays.leave(&ts, &other).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_is_forwarded_at_the_viewers_payload_type_and_recorded_as_matroska() {
    let ts = TestServer::start().await;
    let (id, surgeon) = live_with_delay(&ts, 0).await;
    let (student, _) = ts.token(Role::Student).await;
    let viewer = Viewer::connect_h264(&ts, &id, &student).await;
    let mut publisher = H264Publisher::connect(&ts, &id, &surgeon).await;
    publisher.run_for(Duration::from_secs(3)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(viewer.video_packets() > 60, "H.264 reached the viewer ({} packets)", viewer.video_packets());
    let first = viewer.first_video().expect("a first packet");
    let nal = first[0] & 0x1f;
    let starts_keyframe = matches!(nal, 5 | 7)
        || (nal == 28 && first.len() > 1 && first[1] & 0x80 != 0 && matches!(first[1] & 0x1f, 5 | 7));
    assert!(starts_keyframe, "the viewer's first H.264 packet starts a keyframe (NAL {nal})");
    let (probe, hashes) = end_and_probe(&ts, &id, &surgeon, "recording-1.mkv").await;
    let streams = probe["streams"].as_array().expect("streams");
    assert!(streams.iter().any(|s| s["codec_name"] == "h264" && s["width"] == 96 && s["height"] == 64), "{probe}");
    assert!(hashes.len() > 60, "frames recorded: {}", hashes.len());
    publisher.pc.close().await.ok();
}
