//! A real server on an ephemeral port with a fresh data directory, and a
//! small HTTP client around reqwest.

use std::path::PathBuf;

use orgallery::config::Config;
use orgallery::model::Role;
use orgallery::server::Server;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub struct TestServer {
    pub server: Server,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub fn config(dir: &std::path::Path) -> Config {
    let mut c = Config::defaults(dir);
    c.listen = "127.0.0.1:0".parse().expect("addr");
    c
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = config(dir.path());
        tweak(&mut c);
        let server = Server::start(c).await.expect("server starts");
        let http = reqwest::Client::builder().danger_accept_invalid_certs(true).build().expect("client");
        Self { server, dir, http }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.url, path)
    }

    /// Create an account and return (username, password, sub).
    pub async fn user(&self, role: Role) -> (String, String, String) {
        let username = format!("{}-{}", role.as_str(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let password = format!("pw-{}", uuid::Uuid::new_v4());
        let u = orgallery::users::add(
            self.server.state.store.as_ref(),
            orgallery::users::NewUser { username: username.clone(), password: password.clone(), role, name: None },
        )
        .await
        .expect("user created");
        (username, password, u.sub)
    }

    /// A signed token for a new account of `role`: (token, sub).
    pub async fn token(&self, role: Role) -> (String, String) {
        let (username, _, sub) = self.user(role).await;
        let (t, _) = self.server.state.tokens.issue(&sub, role, &username, None, None).expect("issue");
        (t, sub)
    }

    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/api/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login request")
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self.http.request(method, self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let v = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, v)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body)).await
    }

    /// A draft session owned by a new surgeon: (session id, surgeon token, surgeon sub).
    pub async fn draft(&self) -> (String, String, String) {
        let (t, sub) = self.token(Role::Surgeon).await;
        let (s, v) = self
            .post(
                "/api/sessions",
                &t,
                json!({"title": "Lap chole", "procedure": "cholecystectomy", "delay_seconds": 0}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        (v["id"].as_str().expect("id").to_string(), t, sub)
    }

    /// A live session with full consent: (session id, surgeon token, surgeon sub).
    pub async fn live(&self) -> (String, String, String) {
        let (id, t, sub) = self.draft().await;
        let scope = json!({"text": true, "images": true, "video": true, "audio": true, "archive": true});
        let (s, v) =
            self.put(&format!("/api/sessions/{id}/consent"), &t, json!({"reference": "F-1", "scope": scope})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = self.post(&format!("/api/sessions/{id}/start"), &t, json!({})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        (id, t, sub)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.shutdown();
    }
}

/// Assert the contract's error body with this status and code.
#[track_caller]
pub fn assert_error(got: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(got.0, status, "body: {}", got.1);
    assert_eq!(got.1["error"]["code"], code, "body: {}", got.1);
    assert!(got.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "message: {}", got.1);
}
