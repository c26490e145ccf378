//! The command line: `user add`, `token`, `certs`, `serve --tls`, `demo`, and
//! a clean stop on SIGTERM.

use reqwest::StatusCode;
use serde_json::{json, Value};

use std::process::Command;

use crate::process::{run, start};

fn client() -> reqwest::Client {
    reqwest::Client::builder().danger_accept_invalid_certs(true).build().expect("client")
}

#[tokio::test]
async fn user_add_token_and_serve() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (code, out, err) = run(d, &["user", "add", "--username", "carla", "--role", "surgeon"], "stdin-password-1\n");
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) =
        run(d, &["user", "add", "--username", "carla", "--role", "surgeon", "--password", "another-one"], "");
    assert_ne!(code, 0);
    assert!(err.contains("taken"), "{err}");
    let (code, _, _) = run(d, &["user", "add", "--username", "x", "--role", "wizard", "--password", "another-one"], "");
    assert_ne!(code, 0, "unknown role refused");
    let (code, token, err) = run(d, &["token", "--sub", "ops-bot", "--role", "admin", "--ttl", "10m"], "");
    assert_eq!(code, 0, "{err}");
    let token = token.trim().to_string();
    let (code, _, _) = run(d, &["token", "--sub", "x", "--role", "admin", "--ttl", "forever"], "");
    assert_ne!(code, 0, "bad ttl refused");

    let mut p = start(d, &["serve", "--listen", "127.0.0.1:0"], &[]);
    let http = client();
    let me: Value =
        http.get(format!("{}/api/me", p.url)).bearer_auth(&token).send().await.expect("me").json().await.expect("json");
    assert_eq!(me["sub"], "ops-bot");
    assert_eq!(me["role"], "admin");
    let r = http
        .post(format!("{}/api/auth/login", p.url))
        .json(&json!({"username": "carla", "password": "stdin-password-1"}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(http.get(format!("{}/healthz", p.url)).send().await.expect("h").status(), StatusCode::OK);
    assert_eq!(p.terminate(), Some(0), "clean exit on SIGTERM: {}", p.output());
}

#[tokio::test]
async fn certs_and_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let certs = dir.path().join("certs");
    let (code, out, err) = run(dir.path(), &["certs", "--out", certs.to_str().expect("utf8")], "");
    assert_eq!(code, 0, "{out}{err}");
    let cert = std::fs::read_to_string(certs.join("cert.pem")).expect("cert");
    assert!(cert.contains("BEGIN CERTIFICATE"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(certs.join("key.pem")).expect("key").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let cert_arg = certs.join("cert.pem");
    let key_arg = certs.join("key.pem");
    let mut p = start(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls",
            "--cert",
            cert_arg.to_str().expect("u"),
            "--key",
            key_arg.to_str().expect("u"),
        ],
        &[],
    );
    assert!(p.url.starts_with("https://"), "{}", p.url);
    // Trust exactly the generated certificate.
    let ca = reqwest::Certificate::from_pem(cert.as_bytes()).expect("ca");
    let http = reqwest::Client::builder().add_root_certificate(ca).build().expect("client");
    let url = p.url.replace("127.0.0.1", "localhost");
    let r = http.get(format!("{url}/healthz")).send().await.expect("https");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(p.terminate(), Some(0));
}

#[tokio::test]
async fn demo_prints_how_to_sign_in_as_every_role() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut p = start(dir.path(), &["demo", "--listen", "127.0.0.1:0"], &[]);
    let http = client();
    let out = p.output();
    for role in ["surgeon", "moderator", "student", "clinician", "educator", "admin"] {
        let pw = format!("{role}-demo");
        assert!(out.contains(&pw), "banner lacks {role}: {out}");
        let r = http
            .post(format!("{}/api/auth/login", p.url))
            .json(&json!({"username": role, "password": pw}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), StatusCode::OK, "{role}");
        let body: Value = r.json().await.expect("json");
        let list: Value = http
            .get(format!("{}/api/sessions", p.url))
            .bearer_auth(body["access_token"].as_str().expect("t"))
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        assert_eq!(list.as_array().map(Vec::len), Some(1), "{role} sees the demo session: {list}");
    }
    assert_eq!(p.terminate(), Some(0));
    // A second start reuses the accounts and the session.
    let mut p = start(dir.path(), &["demo", "--listen", "127.0.0.1:0"], &[]);
    assert_eq!(p.terminate(), Some(0), "{}", p.output());
}

#[tokio::test]
async fn config_file_and_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("orgallery.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\n[jwt]\njwt_ttl = 120\n").expect("write");
    let mut p =
        start(dir.path(), &["--config", file.to_str().expect("u"), "serve"], &[("ORGALLERY_JWT_ISSUER", "env-issuer")]);
    let (code, _, _) =
        run(dir.path(), &["user", "add", "--username", "envy", "--role", "student", "--password", "password-1"], "");
    assert_eq!(code, 0);
    let r: Value = client()
        .post(format!("{}/api/auth/login", p.url))
        .json(&json!({"username": "envy", "password": "password-1"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    assert_eq!(r["expires_in"], 120, "ttl from the file");
    let tok = r["access_token"].as_str().expect("t");
    use base64::Engine;
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(tok.split('.').nth(1).expect("p")).expect("b64"),
    )
    .expect("json");
    assert_eq!(payload["iss"], "env-issuer", "issuer from the environment");
    assert_eq!(p.terminate(), Some(0));
    std::fs::write(&file, "listne = 1\n").expect("write");
    let (code, _, err) =
        run(dir.path(), &["--config", file.to_str().expect("u"), "token", "--sub", "a", "--role", "admin"], "");
    assert_ne!(code, 0);
    assert!(err.contains("invalid config"), "{err}");
}

#[tokio::test]
async fn sigterm_sends_1001_keeps_released_items_and_drops_held_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    assert_eq!(run(d, &["user", "add", "--username", "doc", "--role", "surgeon", "--password", "password-1"], "").0, 0);
    let mut p = start(d, &["serve", "--listen", "127.0.0.1:0"], &[]);
    let http = client();
    let login: Value = http
        .post(format!("{}/api/auth/login", p.url))
        .json(&json!({"username": "doc", "password": "password-1"}))
        .send()
        .await
        .expect("l")
        .json()
        .await
        .expect("j");
    let t = login["access_token"].as_str().expect("t").to_string();
    let call = |m: reqwest::Method, path: String, body: Value| {
        let req = http.request(m, format!("{}{path}", p.url)).bearer_auth(&t).json(&body);
        async move { req.send().await.expect("send").json::<Value>().await.unwrap_or(Value::Null) }
    };
    use reqwest::Method;
    let s = call(Method::POST, "/api/sessions".into(), json!({"title": "t", "delay_seconds": 0})).await;
    let id = s["id"].as_str().expect("id").to_string();
    let scope = json!({"text": true, "images": true, "video": true, "audio": true, "archive": true});
    call(Method::PUT, format!("/api/sessions/{id}/consent"), json!({"reference": "R", "scope": scope})).await;
    call(Method::POST, format!("/api/sessions/{id}/start"), json!({})).await;
    let url = format!("{}/api/sessions/{id}/live", p.url.replace("http://", "ws://"));
    let mut v = crate::ws::connect_with(&url, &[("authorization", &format!("Bearer {t}"))]).await.expect("ws");
    call(
        Method::POST,
        format!("/api/sessions/{id}/updates"),
        json!({"kind": "text", "text": "released before the stop"}),
    )
    .await;
    v.expect("update", std::time::Duration::from_secs(10)).await;
    call(Method::PATCH, format!("/api/sessions/{id}"), json!({"delay_seconds": 600})).await;
    call(
        Method::POST,
        format!("/api/sessions/{id}/updates"),
        json!({"kind": "text", "text": "still held at the stop"}),
    )
    .await;
    let _ = Command::new("kill").arg("-TERM").arg(p.child.id().to_string()).status();
    assert_eq!(v.close_code(std::time::Duration::from_secs(10)).await, Some(1001));
    assert_eq!(p.terminate(), Some(0));

    let p2 = start(d, &["serve", "--listen", "127.0.0.1:0"], &[]);
    let list: Value = http
        .get(format!("{}/api/sessions/{id}/updates", p2.url))
        .bearer_auth(&t)
        .send()
        .await
        .expect("g")
        .json()
        .await
        .expect("j");
    let texts: Vec<&str> = list.as_array().expect("a").iter().filter_map(|u| u["text"].as_str()).collect();
    assert_eq!(texts, vec!["released before the stop"], "held items are dropped, never released later");
    let q: Value = http
        .get(format!("{}/api/sessions/{id}/queue", p2.url))
        .bearer_auth(&t)
        .send()
        .await
        .expect("q")
        .json()
        .await
        .expect("j");
    assert_eq!(q["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn redact_eval_reproduces_the_documented_numbers() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/phi-dev/dev.jsonl");
    if !corpus.exists() {
        eprintln!("skipping: {} is not here", corpus.display());
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let preds = dir.path().join("preds.jsonl");
    let c = corpus.to_str().expect("utf8");
    let (code, out, err) = run(dir.path(), &["redact-eval", c, "--predictions", preds.to_str().expect("u")], "");
    assert_eq!(code, 0, "{err}");
    assert!(recall_of(&out) >= 0.99, "{out}");
    assert!(std::fs::read_to_string(&preds).expect("preds").lines().count() >= 400);
    let (code, out, _) = run(dir.path(), &["redact-eval", c, "--no-identifiers"], "");
    assert_eq!(code, 0);
    assert!(recall_of(&out) >= 0.95, "{out}");
    let (code, _, _) = run(dir.path(), &["redact-eval", "/no/such/file.jsonl"], "");
    assert_ne!(code, 0);
}

/// The recall on the scorer's last line `recall=R precision=P f2=F`.
fn recall_of(out: &str) -> f64 {
    let last = out.lines().rev().find(|l| l.starts_with("recall=")).expect("summary line");
    last.split_whitespace().next().and_then(|t| t.strip_prefix("recall=")).and_then(|v| v.parse().ok()).expect("recall")
}

#[tokio::test]
async fn serve_takes_the_rtc_flags_and_puts_the_public_ip_and_port_in_the_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // A free UDP port: bind, note, release.
    let port = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp").local_addr().expect("addr").port();
    let (code, _, err) = run(d, &["serve", "--listen", "127.0.0.1:0", "--ice-server", "http://nope"], "");
    assert_ne!(code, 0, "a bad --ice-server is refused");
    assert!(err.contains("--ice-server"), "{err}");
    let (code, surgeon, err) = run(d, &["token", "--sub", "dr-a", "--role", "surgeon", "--ttl", "10m"], "");
    assert_eq!(code, 0, "{err}");
    let (code, student, err) = run(d, &["token", "--sub", "stu", "--role", "student", "--ttl", "10m"], "");
    assert_eq!(code, 0, "{err}");
    let (surgeon, student) = (surgeon.trim().to_string(), student.trim().to_string());
    let port_s = port.to_string();
    let mut p = start(
        d,
        &["serve", "--listen", "127.0.0.1:0", "--rtc-port", &port_s, "--rtc-public-ip", "127.0.0.1"],
        &[("ORGALLERY_ICE_SERVER", "stun:stun.example.org:3478")],
    );
    let http = client();
    let v: Value = http
        .post(format!("{}/api/sessions", p.url))
        .bearer_auth(&surgeon)
        .json(&json!({"title": "T", "procedure": "P", "delay_seconds": 0}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let id = v["id"].as_str().expect("id").to_string();
    let scope = json!({"text": true, "images": true, "video": true, "audio": true, "archive": false});
    let r = http
        .put(format!("{}/api/sessions/{id}/consent", p.url))
        .bearer_auth(&surgeon)
        .json(&json!({"reference": "F", "scope": scope}))
        .send()
        .await
        .expect("consent");
    assert_eq!(r.status(), StatusCode::OK);
    let r = http.post(format!("{}/api/sessions/{id}/start", p.url)).bearer_auth(&surgeon).send().await.expect("start");
    assert_eq!(r.status(), StatusCode::OK);
    let (_pc, offer) = super::rtc_peer::viewer_offer().await;
    let r = http
        .post(format!("{}/api/sessions/{id}/whep", p.url))
        .bearer_auth(&student)
        .header("content-type", "application/sdp")
        .body(offer)
        .send()
        .await
        .expect("whep");
    assert_eq!(r.status(), StatusCode::CREATED);
    let link = r.headers().get("link").and_then(|l| l.to_str().ok()).unwrap_or("").to_string();
    assert!(link.contains("stun:stun.example.org:3478"), "{link}");
    let answer = r.text().await.expect("answer");
    assert!(answer.contains(&format!("127.0.0.1 {port} typ host")), "{answer}");
    // The port is taken now: a second server on it fails with a clear message.
    let (code, _, err) = run(d, &["serve", "--listen", "127.0.0.1:0", "--rtc-port", &port_s], "");
    assert_ne!(code, 0);
    assert!(err.contains("UDP port"), "{err}");
    assert_eq!(p.terminate(), Some(0), "clean exit on SIGTERM: {}", p.output());
}
