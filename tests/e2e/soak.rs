//! The short soak (issue 12): the `orgallery` binary as a child process,
//! ~200 viewers and 10 updates/s for SOAK_SECONDS (default 60), a quarter of
//! the viewers churning (connect, stay 0.5–3 s, leave with a close frame or
//! by dropping the TCP connection, resume with `after=<last seq>`). Asserts
//! by counts: every viewer slot got every seq exactly once and in order, and
//! after everyone left the server's open descriptors (/proc/PID/fd) and its
//! alive tasks (/metrics) are back to what they were before the viewers.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::process::{run, start};
use crate::ws::{connect_with, Viewer};

const STEADY: usize = 150;
const CHURN: usize = 50;
const RATE: u64 = 10;

fn client() -> reqwest::Client {
    // No pooled connections: each request's socket closes, so descriptor
    // counts on the server are not blurred by idle keep-alives.
    reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client")
}

async fn login(base: &str, user: &str, pass: &str) -> String {
    let r = client()
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": user, "password": pass}))
        .send()
        .await
        .expect("login");
    assert!(r.status().is_success(), "login {user}: {}", r.status());
    let v: Value = r.json().await.expect("login body");
    v["access_token"].as_str().or(v["token"].as_str()).expect("token").to_string()
}

async fn call(method: reqwest::Method, url: String, token: &str, body: Value) -> (u16, Value) {
    let r = client().request(method, url).bearer_auth(token).json(&body).send().await.expect("request");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// The server's open descriptors: sockets, and the other descriptors' targets.
fn descriptors(pid: u32) -> (usize, Vec<String>) {
    let mut sockets = 0;
    let mut files = Vec::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/fd")).expect("server fds").flatten() {
        // A descriptor closed between the listing and the read is skipped.
        let Ok(target) = std::fs::read_link(e.path()) else { continue };
        let target = target.display().to_string();
        if target.starts_with("socket:") {
            sockets += 1;
        } else {
            files.push(target);
        }
    }
    files.sort();
    (sockets, files)
}

/// (open sockets of the server, alive tasks on its main runtime, open viewers).
/// Sockets are counted before the /metrics request, whose own connection
/// would otherwise be one of them.
async fn counts(base: &str, pid: u32, metrics_token: &str) -> (usize, u64, i64) {
    let sockets = descriptors(pid).0;
    let body = client()
        .get(format!("{base}/metrics"))
        .bearer_auth(metrics_token)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    let gauge = |name: &str| -> Option<f64> {
        body.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.trim().parse().ok()))
    };
    let tasks = gauge("orgallery_runtime_alive_tasks{runtime=\"main\"}").expect("task gauge") as u64;
    let viewers = gauge("orgallery_viewers").expect("viewers gauge") as i64;
    (sockets, tasks, viewers)
}

/// One viewer slot: connects (again and again when `churn`), resuming after
/// the last seq it holds, until it holds `final` (once known). Returns every
/// seq received, in arrival order, and how many connections it opened.
async fn slot(url: String, token: String, churn: Option<u64>, mut last_seq: watch::Receiver<u64>) -> (Vec<u64>, u64) {
    let mut got: Vec<u64> = Vec::new();
    let mut connections = 0u64;
    let mut rng_state = churn.unwrap_or(1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let hard_stop = Instant::now() + Duration::from_secs(300);
    loop {
        let after = got.last().copied().unwrap_or(0);
        let fin = *last_seq.borrow();
        if fin > 0 && after >= fin {
            return (got, connections);
        }
        assert!(Instant::now() < hard_stop, "viewer slot never finished: has {after}, want {fin}");
        let mut v: Viewer =
            match connect_with(&format!("{url}?after={after}"), &[("authorization", &format!("Bearer {token}"))]).await
            {
                Ok(v) => v,
                Err(e) => panic!("connect after={after}: {e}"),
            };
        connections += 1;
        // xorshift: a stay of 0.5–3 s for churners, and which way they leave.
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        let stay = churn.map(|_| Duration::from_millis(500 + rng_state % 2500));
        let polite = rng_state.is_multiple_of(2);
        let until = stay.map(|s| Instant::now() + s);
        loop {
            let fin = *last_seq.borrow();
            if fin > 0 && got.last().copied().unwrap_or(0) >= fin {
                let _ = v.ws.close(None).await;
                break;
            }
            if until.is_some_and(|u| Instant::now() >= u) {
                if polite {
                    let _ = v.ws.close(None).await;
                }
                break; // dropping the stream closes the TCP connection
            }
            let frame = tokio::select! {
                f = tokio::time::timeout(Duration::from_millis(200), v.ws.next()) => f,
                _ = last_seq.changed() => continue,
            };
            match frame {
                Err(_) => {}
                Ok(Some(Ok(Message::Text(t)))) => {
                    let f: Value = serde_json::from_str(&t).expect("JSON frame");
                    if f["type"] == "update" {
                        got.push(f["seq"].as_u64().expect("seq"));
                    }
                }
                Ok(Some(Ok(Message::Close(c)))) => panic!("server closed a viewer: {c:?}"),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => panic!("viewer socket error: {e}"),
                Ok(None) => panic!("server dropped a viewer"),
            }
        }
        drop(v);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churning_viewers_get_every_seq_and_nothing_leaks() {
    let secs: u64 = std::env::var("SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    for (name, role, pass) in
        [("soak-surgeon", "surgeon", "soak-surgeon-pass-1"), ("soak-student", "student", "soak-student-pass-1")]
    {
        let (code, _, err) = run(d, &["user", "add", "--username", name, "--role", role, "--password", pass], "");
        assert_eq!(code, 0, "{err}");
    }
    let metrics_token = format!("soak-{}", uuid::Uuid::new_v4().simple());
    let mut server = start(
        d,
        &["serve", "--listen", "127.0.0.1:0", "--metrics-token", &metrics_token],
        &[("ORGALLERY_LOG", "warn")],
    );
    let base = server.url.trim_end_matches('/').to_string();
    let pid = server.child.id();
    let surgeon = login(&base, "soak-surgeon", "soak-surgeon-pass-1").await;
    let student = login(&base, "soak-student", "soak-student-pass-1").await;
    let (s, v) = call(
        reqwest::Method::POST,
        format!("{base}/api/sessions"),
        &surgeon,
        json!({"title": "Soak", "procedure": "soak", "delay_seconds": 0}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().expect("id").to_string();
    let scope = json!({"text": true, "images": true, "video": true, "audio": true, "archive": true});
    let (s, v) = call(
        reqwest::Method::PUT,
        format!("{base}/api/sessions/{id}/consent"),
        &surgeon,
        json!({"reference": "F-1", "scope": scope}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = call(reqwest::Method::POST, format!("{base}/api/sessions/{id}/start"), &surgeon, json!({})).await;
    assert_eq!(s, 200, "{v}");
    let url = format!("{}/api/sessions/{id}/live", base.replace("http://", "ws://"));

    // Warm-up: one viewer in and out, so that whatever a session starts once
    // for its first viewer is already in the baseline.
    {
        let (_tx, rx) = watch::channel(0u64);
        let warm = tokio::spawn(slot(url.clone(), student.clone(), Some(7), rx));
        tokio::time::sleep(Duration::from_millis(100)).await;
        warm.abort();
        let _ = warm.await;
    }
    let settle = |want_viewers: i64| {
        let base = base.clone();
        let token = metrics_token.clone();
        async move {
            // Counts, not times: poll (bounded) until the viewers gauge is
            // what we expect and fds/tasks stop changing.
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut prev = counts(&base, pid, &token).await;
            loop {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let now = counts(&base, pid, &token).await;
                if (now == prev && now.2 == want_viewers) || Instant::now() > deadline {
                    return now;
                }
                prev = now;
            }
        }
    };
    let (fds0, tasks0, viewers0) = settle(0).await;
    let files0 = descriptors(pid).1;
    assert_eq!(viewers0, 0);

    let (fin_tx, fin_rx) = watch::channel(0u64);
    let mut slots = Vec::new();
    for i in 0..(STEADY + CHURN) {
        let churn = (i >= STEADY).then_some(i as u64);
        slots.push(tokio::spawn(slot(url.clone(), student.clone(), churn, fin_rx.clone())));
    }
    // Publish RATE per second for `secs`, sampling the counts every 5 s.
    let total = RATE * secs;
    let published = Arc::new(AtomicU64::new(0));
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / RATE));
    let mut peak_fds = 0usize;
    let mut peak_tasks = 0u64;
    for n in 1..=total {
        tick.tick().await;
        let (s, v) = call(
            reqwest::Method::POST,
            format!("{base}/api/sessions/{id}/updates"),
            &surgeon,
            json!({"kind": "text", "text": format!("soak update {n}")}),
        )
        .await;
        assert_eq!(s, 202, "publish {n}: {v}");
        published.fetch_add(1, Relaxed);
        if n % (RATE * 5) == 0 {
            let (f, t, _) = counts(&base, pid, &metrics_token).await;
            peak_fds = peak_fds.max(f);
            peak_tasks = peak_tasks.max(t);
        }
    }
    let _ = fin_tx.send(total);
    let mut connections = 0u64;
    for (i, h) in slots.into_iter().enumerate() {
        let (got, c) = tokio::time::timeout(Duration::from_secs(60), h).await.expect("slot finishes").expect("slot");
        connections += c;
        assert_eq!(got.len() as u64, total, "slot {i}: {} seqs of {total}", got.len());
        assert!(got.iter().copied().eq(1..=total), "slot {i}: seqs not 1..={total} in order");
    }
    // The churners really churned: far more connections than slots.
    assert!(connections >= (STEADY + CHURN * 4) as u64, "only {connections} connections");

    let (fds1, tasks1, viewers1) = settle(0).await;
    eprintln!(
        "soak {secs}s: {total} updates, {connections} connections; fds {fds0} → peak {peak_fds} → {fds1}; \
         tasks {tasks0} → peak {peak_tasks} → {tasks1}"
    );
    assert_eq!(viewers1, 0, "viewers gauge after everyone left");
    assert!(peak_fds >= fds0 + STEADY, "the sample saw the viewers' sockets ({fds0} → {peak_fds})");
    assert_eq!(fds1, fds0, "server sockets before and after the viewers");
    // Other descriptors: the store's pool may have opened more connections
    // (database, WAL and shared-memory files each) under load, up to its
    // bound; anything else is a leak.
    let files1 = descriptors(pid).1;
    let store_file =
        |f: &String| ["orgallery.db", "orgallery.db-wal", "orgallery.db-shm"].iter().any(|n| f.ends_with(n));
    let grown: Vec<&String> = files1.iter().filter(|f| !files0.contains(f)).collect();
    assert!(
        files1.len() <= files0.len() + 3 * 8
            && files1.iter().filter(|f| !store_file(f)).count() == files0.iter().filter(|f| !store_file(f)).count(),
        "descriptors other than sockets and the store's: before {files0:?}, after {files1:?} ({grown:?})"
    );
    assert_eq!(tasks1, tasks0, "server tasks before and after the viewers");
    assert_eq!(server.terminate(), Some(0), "{}", server.output());
}
