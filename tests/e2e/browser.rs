//! The browser app in real Chromium (playwright-core, tests/browser/app.mjs)
//! against a real server: the whole flow of issue 11 through the page, and
//! the app's Content-Security-Policy.

use std::process::Command;

use orgallery::model::Role;

use crate::support::TestServer;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

#[tokio::test]
async fn app_responses_carry_the_exact_csp() {
    let ts = TestServer::start().await;
    let http = reqwest::Client::new();
    let files = [
        "/",
        "/index.html",
        "/join",
        "/app.css",
        "/app.js",
        "/api.js",
        "/dom.js",
        "/signin.js",
        "/sessions.js",
        "/live.js",
        "/viewer.js",
        "/console.js",
        "/qa.js",
        "/archive.js",
        "/media.js",
    ];
    for path in files {
        let r = http.get(ts.url(path)).send().await.expect("get");
        assert_eq!(r.status(), reqwest::StatusCode::OK, "{path}");
        let csp = r.headers().get("content-security-policy").map(|v| v.to_str().unwrap_or("").to_string());
        assert_eq!(csp.as_deref(), Some(CSP), "{path}");
        let body = r.text().await.expect("body");
        if path == "/" {
            // Nothing inline for the CSP to refuse: no inline script, no style attribute.
            assert!(!body.contains(" style="), "no inline style attributes");
            assert!(!body.contains("<script>"), "no inline script");
        }
    }
    // Every module the app imports is served (a missing route would break the app at load).
    for path in files.iter().filter(|p| p.ends_with(".js")) {
        let body = http.get(ts.url(path)).send().await.expect("get").text().await.expect("body");
        for line in body.lines().filter(|l| l.starts_with("import ")) {
            let Some(spec) = line.split('"').nth(1) else { continue };
            let served = spec.trim_start_matches('.');
            assert!(files.contains(&served), "{path} imports {spec}, which is not served");
        }
    }
}

#[tokio::test]
async fn whole_flow_in_chromium() {
    let ts = TestServer::start().await;
    let add = |u: &str, p: &str, role| {
        orgallery::users::add(
            ts.server.state.store.as_ref(),
            orgallery::users::NewUser { username: u.into(), password: p.into(), role, name: None },
        )
    };
    add("surgeon1", "surgeon-password", Role::Surgeon).await.expect("surgeon");
    let moderator = add("moderator1", "moderator-password", Role::Moderator).await.expect("moderator");
    add("student1", "student-password", Role::Student).await.expect("student");
    add("educator1", "educator-password", Role::Educator).await.expect("educator");

    let root = env!("CARGO_MANIFEST_DIR");
    // SCREENSHOTS=docs/screenshots regenerates the README's pictures.
    let shots = match std::env::var("SCREENSHOTS") {
        Ok(dir) if !dir.is_empty() => std::path::Path::new(root).join(dir),
        _ => std::path::Path::new(root).join("target/browser-shots"),
    };
    let _ = std::fs::create_dir_all(&shots);
    let url = ts.server.url.replace("127.0.0.1", "localhost");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(format!("{root}/tests/browser/app.mjs"))
            .env("ORG_URL", url)
            .env("ORG_MODERATOR_SUB", moderator.sub)
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
    assert!(stdout.contains("axe: "), "{stdout}");
}
