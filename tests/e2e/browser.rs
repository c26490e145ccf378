//! The browser app in real Chromium (playwright-core, tests/browser/app.mjs)
//! against a real server: sign in, OR console, live viewer, masks, curtain.

use std::process::Command;

use orgallery::model::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::TestServer;

#[tokio::test]
async fn surgeon_console_and_student_viewer_in_chromium() {
    let ts = TestServer::start().await;
    let add = |u: &str, p: &str, role| {
        orgallery::users::add(
            ts.server.state.store.as_ref(),
            orgallery::users::NewUser { username: u.into(), password: p.into(), role, name: None },
        )
    };
    let surgeon = add("surgeon1", "surgeon-password", Role::Surgeon).await.expect("surgeon");
    add("student1", "student-password", Role::Student).await.expect("student");
    let (token, _) = ts.server.state.tokens.issue(&surgeon.sub, Role::Surgeon, "s", None, None).expect("token");
    let (s, v) = ts.post("/api/sessions", &token, json!({"title": "Browser lap chole", "delay_seconds": 600})).await;
    assert_eq!(s, StatusCode::CREATED);
    let id = v["id"].as_str().expect("id").to_string();
    let scope = json!({"text": true, "images": true, "video": true, "audio": true, "archive": true});
    ts.put(&format!("/api/sessions/{id}/consent"), &token, json!({"reference": "R", "scope": scope})).await;
    ts.post(&format!("/api/sessions/{id}/start"), &token, json!({})).await;
    ts.put(&format!("/api/sessions/{id}/identifiers"), &token, json!({"names": ["Adaeze Okafor"]})).await;
    // A second session for live video (a short delay).
    let (s, v) = ts.post("/api/sessions", &token, json!({"title": "Browser video", "delay_seconds": 1})).await;
    assert_eq!(s, StatusCode::CREATED);
    let vid = v["id"].as_str().expect("id").to_string();
    ts.put(&format!("/api/sessions/{vid}/consent"), &token, json!({"reference": "R", "scope": scope})).await;
    ts.post(&format!("/api/sessions/{vid}/start"), &token, json!({})).await;

    let root = env!("CARGO_MANIFEST_DIR");
    let shots = std::path::Path::new(root).join("target/browser-shots");
    let _ = std::fs::create_dir_all(&shots);
    let url = ts.server.url.replace("127.0.0.1", "localhost");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(format!("{root}/tests/browser/app.mjs"))
            .env("ORG_URL", url)
            .env("ORG_SESSION_TITLE", "Browser lap chole")
            .env("ORG_VIDEO_TITLE", "Browser video")
            .env("ORG_SHOT_DIR", shots)
            .output()
    })
    .await
    .expect("join")
    .expect("node runs (install: tests/browser npm ci, Debian chromium)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "browser test failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("browser: 1 passed"), "{stdout}");
    assert!(stdout.contains("video: playing"), "{stdout}");
}
