//! The HTTP side: login, the run's own session, publishing.

use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde_json::{json, Value};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Only loopback targets: this tool is never pointed at another machine.
pub fn check_loopback(url: &Url) -> Result<(), Error> {
    if url.scheme() != "http" {
        return Err(format!("only http:// URLs are supported (got {})", url.scheme()).into());
    }
    let host = url.host_str().unwrap_or("");
    let ok = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !ok {
        return Err(format!("refusing {url}: only 127.0.0.0/8, [::1] or localhost may be targeted").into());
    }
    Ok(())
}

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: Url,
}

/// "USER:PASS" → (user, pass).
pub fn split_credentials(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((u, p)) if !u.is_empty() && !p.is_empty() => Ok((u.to_string(), p.to_string())),
        _ => Err("expected USER:PASS".into()),
    }
}

impl Api {
    pub fn new(base: Url) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(64)
            .build()?;
        Ok(Self { http, base })
    }

    fn url(&self, path: &str) -> Result<Url, Error> {
        Ok(self.base.join(path)?)
    }

    async fn expect(resp: reqwest::Response, want: &[StatusCode], what: &str) -> Result<Value, Error> {
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        if !want.contains(&status) {
            let body: String = body.chars().take(300).collect();
            return Err(format!("{what}: HTTP {status}: {body}").into());
        }
        if body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&body).map_err(|e| format!("{what}: bad JSON in answer: {e}").into())
    }

    pub async fn login(&self, user: &str, pass: &str) -> Result<String, Error> {
        let resp = self
            .http
            .post(self.url("/api/auth/login")?)
            .json(&json!({"username": user, "password": pass}))
            .send()
            .await?;
        let v = Self::expect(resp, &[StatusCode::OK], &format!("login as {user}")).await?;
        v.get("access_token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| "login: no access_token in answer".into())
    }

    /// A fresh access token for a still valid one (POST /api/auth/refresh).
    pub async fn refresh(&self, token: &str) -> Result<String, Error> {
        let resp = self.http.post(self.url("/api/auth/refresh")?).bearer_auth(token).json(&json!({})).send().await?;
        let v = Self::expect(resp, &[StatusCode::OK], "refresh").await?;
        v.get("access_token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| "refresh: no access_token in answer".into())
    }

    /// Create, consent and start a session; returns its id.
    pub async fn live_session(&self, token: &str, delay: u32) -> Result<String, Error> {
        let resp = self
            .http
            .post(self.url("/api/sessions")?)
            .bearer_auth(token)
            .json(&json!({
                "title": "orgallery-load run",
                "delay_seconds": delay,
                "audience": ["student", "clinician"],
            }))
            .send()
            .await?;
        let v = Self::expect(resp, &[StatusCode::CREATED, StatusCode::OK], "create session").await?;
        let id = v.get("id").and_then(Value::as_str).ok_or("create session: no id in answer")?.to_string();
        let resp = self
            .http
            .put(self.url(&format!("/api/sessions/{id}/consent"))?)
            .bearer_auth(token)
            .json(&json!({
                "reference": "LOAD-1",
                "scope": {"text": true, "images": true, "video": true, "audio": true, "archive": true},
            }))
            .send()
            .await?;
        Self::expect(resp, &[StatusCode::OK, StatusCode::NO_CONTENT], "consent").await?;
        let resp = self.http.post(self.url(&format!("/api/sessions/{id}/start"))?).bearer_auth(token).send().await?;
        Self::expect(resp, &[StatusCode::OK, StatusCode::NO_CONTENT], "start").await?;
        Ok(id)
    }

    /// Publish one text update. Ok(()) on 202; Err(kind) names the failure
    /// for the report ("HTTP 429", "timeout", "connect", ...).
    pub async fn publish(&self, token: &str, session: &str, text: &str) -> Result<(), String> {
        let url = self.url(&format!("/api/sessions/{session}/updates")).map_err(|e| e.to_string())?;
        let resp =
            self.http.post(url).bearer_auth(token).json(&json!({"kind": "text", "text": text})).send().await.map_err(
                |e| {
                    if e.is_timeout() {
                        "timeout".to_string()
                    } else if e.is_connect() {
                        "connect".to_string()
                    } else {
                        "transport".to_string()
                    }
                },
            )?;
        let status = resp.status();
        // Drain the body so the connection goes back to the pool.
        let _ = resp.bytes().await;
        if status == StatusCode::ACCEPTED || status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", status.as_u16()))
        }
    }
}
