//! Several nodes on one PostgreSQL store (real processes, real PostgreSQL):
//! one writer per session, fenced by its lease. A writer frozen past its
//! lease (SIGSTOP) is replaced and, once resumed, can store nothing; a
//! writer killed (SIGKILL) is replaced within seconds; what either held is
//! dropped, never released late, and every `seq` is stored once, in order.

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::process::{run, start, Proc};
use super::store::fresh_postgres_database;
use super::ws::{connect_with, Next, Viewer};

pub struct Node {
    pub proc: Proc,
    http: reqwest::Client,
}

impl Node {
    pub fn start(data: &std::path::Path, db: &str, id: &str) -> Self {
        Self::start_with(data, db, id, &[])
    }

    /// A node with more flags (e.g. `--nats-url`).
    pub fn start_with(data: &std::path::Path, db: &str, id: &str, more: &[&str]) -> Self {
        let mut args = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--rtc-port",
            "0",
            "--rtc-public-ip",
            "127.0.0.1",
            "--image-ocr",
            "off",
            "--node-id",
            id,
            "--database-url",
            db,
            "--metrics-token",
            "scrape-me-please",
        ];
        args.extend_from_slice(more);
        Node { proc: start(data, &args, &[]), http: reqwest::Client::new() }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut rb = self.http.request(method, format!("{}{path}", self.proc.url)).bearer_auth(token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.timeout(Duration::from_secs(10)).send().await.expect("request");
        let status = resp.status();
        let v = resp.json::<Value>().await.unwrap_or(Value::Null);
        (status, v)
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body)).await
    }

    pub async fn writers(&self) -> u64 {
        let v: Value = self
            .http
            .get(format!("{}/readyz", self.proc.url))
            .send()
            .await
            .expect("readyz")
            .json()
            .await
            .expect("json");
        assert_eq!(v["store"], "postgres", "{v}");
        v["writers"].as_u64().expect("writers")
    }

    /// Writer leases this node (taken, lost), from its Prometheus metrics.
    pub async fn leases(&self) -> (u64, u64) {
        let text = self
            .http
            .get(format!("{}/metrics", self.proc.url))
            .bearer_auth("scrape-me-please")
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        let value = |event: &str| {
            let series = format!("orgallery_writer_leases_total{{event=\"{event}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(&series))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {series} in {text}"))
        };
        (value("taken"), value("lost"))
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        let (s, v) = self
            .call(
                reqwest::Method::POST,
                "/api/auth/login",
                "",
                Some(json!({"username": username, "password": password})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["access_token"].as_str().or(v["token"].as_str()).expect("token").to_string()
    }

    pub async fn viewer(&self, id: &str, token: &str) -> Viewer {
        let url = format!("{}/api/sessions/{id}/live?after=0", self.proc.url.replace("http://", "ws://"));
        connect_with(&url, &[("authorization", &format!("Bearer {token}"))]).await.expect("connect")
    }

    pub fn signal(&self, sig: &str) {
        let ok =
            Command::new("kill").arg(format!("-{sig}")).arg(self.proc.child.id().to_string()).status().expect("kill");
        assert!(ok.success());
    }
}

/// Wait (bounded) until `node` writes `n` sessions; returns how long it took.
/// A session with consent, started on `node` (delay 1 s); its id.
pub async fn live_session(node: &Node, surgeon: &str) -> String {
    let (s, v) = node.post("/api/sessions", surgeon, json!({"title": "Lap chole", "delay_seconds": 1})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().expect("id").to_string();
    let scope = json!({"text": true, "images": true, "video": true, "audio": true, "archive": true});
    let consent = json!({"reference": "F-1", "scope": scope});
    let (s, v) = node.call(reqwest::Method::PUT, &format!("/api/sessions/{id}/consent"), surgeon, Some(consent)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = node.post(&format!("/api/sessions/{id}/start"), surgeon, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    id
}

pub async fn until_writers(node: &Node, n: u64, within: Duration) -> Duration {
    let t0 = Instant::now();
    while node.writers().await != n {
        assert!(t0.elapsed() < within, "node did not reach {n} writers within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    t0.elapsed()
}

/// Every released update of the session, as any node reads it from the store.
pub async fn released(node: &Node, id: &str, token: &str) -> Vec<Value> {
    let (s, v) = node.call(reqwest::Method::GET, &format!("/api/sessions/{id}/updates?limit=1000"), token, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v.as_array().expect("array").clone()
}

pub async fn publish(node: &Node, id: &str, token: &str, text: &str) {
    let (s, v) = node.post(&format!("/api/sessions/{id}/updates"), token, json!({"kind": "text", "text": text})).await;
    assert!(s.is_success(), "publish at a node that writes the session: {s} {v}");
}

pub async fn until_released(node: &Node, id: &str, token: &str, n: usize) -> Vec<Value> {
    let t0 = Instant::now();
    loop {
        let got = released(node, id, token).await;
        if got.len() >= n {
            return got;
        }
        assert!(t0.elapsed() < Duration::from_secs(15), "only {} of {n} released", got.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_writer_is_fenced_and_a_killed_one_replaced() {
    let db = fresh_postgres_database().await;
    let data = tempfile::tempdir().expect("tempdir");
    let d = data.path();
    // The nodes share the data directory (keys) and the database.
    for (user, role) in [("surgeon", "surgeon"), ("educator", "educator")] {
        let (code, _, err) = run(
            d,
            &["--database-url", &db, "user", "add", "--username", user, "--role", role, "--password", "pw-123456789"],
            "",
        );
        assert_eq!(code, 0, "{err}");
    }
    let a = Node::start(d, &db, "node-a");
    let b = Node::start(d, &db, "node-b");
    let surgeon = a.login("surgeon", "pw-123456789").await;
    let educator = b.login("educator", "pw-123456789").await;

    let id = live_session(&a, &surgeon).await;
    assert_eq!((a.writers().await, b.writers().await), (1, 0), "the node that started it writes it");
    // A viewer on each node; B's follows A's releases through the store.
    let mut on_a = a.viewer(&id, &educator).await;
    let mut on_b = b.viewer(&id, &educator).await;

    for i in 1..=3 {
        publish(&a, &id, &surgeon, &format!("step {i}")).await;
    }
    until_released(&b, &id, &educator, 3).await;
    let seqs_of = |frames: Vec<Value>| frames.iter().map(|f| f["seq"].as_u64().expect("seq")).collect::<Vec<_>>();
    let mut seen_b = Vec::new();
    for _ in 0..3 {
        seen_b.push(on_b.expect("update", Duration::from_secs(5)).await);
    }
    assert_eq!(seqs_of(on_a.drain("update", Duration::from_millis(500)).await), [1, 2, 3]);

    // Freeze A with an item held (delay 1 s): B takes the lease once it expires.
    publish(&a, &id, &surgeon, "held on the frozen node").await;
    a.signal("STOP");
    let took = until_writers(&b, 1, Duration::from_secs(10)).await;
    eprintln!("takeover after SIGSTOP: {took:?}");
    publish(&b, &id, &surgeon, "step 4 by node b").await;
    until_released(&b, &id, &educator, 4).await;
    // A wakes: its lease is gone, so it stores nothing and stands down.
    a.signal("CONT");
    until_writers(&a, 0, Duration::from_secs(10)).await;
    // Its viewers are sent elsewhere (1012: reconnect), having seen nothing held.
    let mut after_freeze = Vec::new();
    let code = loop {
        match on_a.next(Duration::from_secs(5)).await {
            Next::Frame(f) if f["type"] == "update" => after_freeze.push(f),
            Next::Frame(_) => continue,
            Next::Closed(c) => break c,
            Next::Timeout => panic!("the stale node's viewer was not closed"),
        }
    };
    assert_eq!(code, Some(1012));
    assert!(after_freeze.iter().all(|f| f["text"] != "held on the frozen node"), "{after_freeze:?}");
    publish(&b, &id, &surgeon, "step 5 by node b").await;
    until_released(&b, &id, &educator, 5).await;
    for _ in 0..2 {
        seen_b.push(on_b.expect("update", Duration::from_secs(5)).await);
    }
    assert_eq!(seqs_of(seen_b), [1, 2, 3, 4, 5], "B's viewer: followed, then B's own writer, each seq once");

    // Kill B outright: A takes the session back.
    publish(&b, &id, &surgeon, "held on the killed node").await;
    b.signal("KILL");
    let t0 = Instant::now();
    until_writers(&a, 1, Duration::from_secs(10)).await;
    publish(&a, &id, &surgeon, "step 6 by node a").await;
    until_released(&a, &id, &surgeon, 6).await;
    eprintln!("failover after SIGKILL to the first new release: {:?}", t0.elapsed());
    assert_eq!(a.leases().await, (2, 1), "A: started it, lost it while frozen, took it back");

    // Past the held items' deadlines: still exactly these six.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = released(&a, &id, &surgeon).await;
    let seqs: Vec<u64> = got.iter().map(|u| u["seq"].as_u64().expect("seq")).collect();
    assert_eq!(seqs, (1..=6).collect::<Vec<_>>(), "every seq once, in order");
    let texts: Vec<&str> = got.iter().map(|u| u["text"].as_str().unwrap_or("")).collect();
    assert_eq!(texts, ["step 1", "step 2", "step 3", "step 4 by node b", "step 5 by node b", "step 6 by node a"]);
    let ids: HashSet<&str> = got.iter().map(|u| u["id"].as_str().expect("id")).collect();
    assert_eq!(ids.len(), 6, "each item stored once");

    // Both nodes wrote one audit chain into the shared store (the sign-in
    // on each node is there), and it verifies.
    let mut a = a;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let logins: i64 = {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&db).await.expect("connect");
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'login'")
            .fetch_one(&mut c)
            .await
            .expect("count")
    };
    assert_eq!(logins, 2, "one sign-in on each node");
    assert_eq!(a.proc.terminate(), Some(0), "{}", a.proc.output());
    let (code, out, err) = run(d, &["--database-url", &db, "audit", "verify"], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("audit chain intact"), "{out}");
}
