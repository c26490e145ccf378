//! Three nodes on one PostgreSQL store and one NATS JetStream server (real
//! processes): releases reach every node's viewers through the bus, and a
//! publish made at any node is forwarded to the writer's node. The NATS
//! server is restarted mid-session, the writer's node is frozen past its
//! lease and resumed (refused), and then killed; viewers whose node died or
//! stood down reconnect to another node. Every viewer still receives every
//! released `seq` exactly once and in order, PostgreSQL holds each item
//! once, and no held item of a dead or stale writer is ever released.

use std::collections::HashSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::cluster::{live_session, released, until_released, until_writers, Node};
use super::process::run;
use super::store::fresh_postgres_database;
use super::ws::{connect_with, Next};

/// A nats-server of this test's own (restarting the shared one would
/// disturb the other tests).
struct Nats {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

fn nats_binary() -> String {
    std::env::var("ORGALLERY_TEST_NATS_SERVER").unwrap_or_else(|_| {
        ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("nats-server")
            .to_string()
    })
}

impl Nats {
    fn start(dir: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let mut n = Nats { child: None, port, dir: dir.to_path_buf() };
        n.spawn();
        n
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new(nats_binary())
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(self.dir.join("store"))
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server (apt-get install nats-server)");
        self.child = Some(child);
        let t0 = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(10), "nats-server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop the server (SIGTERM, as systemd would) and wait for it.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// What one viewer received, in order.
type Seen = Arc<Mutex<Vec<u64>>>;

/// A viewer that reconnects, with `after` = the last `seq` it has, to the
/// next node in `urls` whenever its node closes it or dies.
fn reconnecting_viewer(urls: Vec<String>, first: usize, id: String, token: String, done: Arc<Mutex<bool>>) -> Seen {
    let seen: Seen = Arc::default();
    let out = seen.clone();
    tokio::spawn(async move {
        let mut at = first;
        let mut reconnects = 0;
        while !*done.lock().expect("lock") {
            let last = out.lock().expect("lock").last().copied().unwrap_or(0);
            let url = format!("{}/api/sessions/{id}/live?after={last}", urls[at].replace("http://", "ws://"));
            let Ok(mut v) = connect_with(&url, &[("authorization", &format!("Bearer {token}"))]).await else {
                at = (at + 1) % urls.len();
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            };
            loop {
                match v.next(Duration::from_millis(500)).await {
                    Next::Frame(f) if f["type"] == "update" => {
                        out.lock().expect("lock").push(f["seq"].as_u64().expect("seq"));
                    }
                    Next::Frame(_) => {}
                    Next::Timeout if *done.lock().expect("lock") => break,
                    Next::Timeout => {}
                    Next::Closed(_) => {
                        reconnects += 1;
                        at = (at + 1) % urls.len();
                        break;
                    }
                }
            }
            assert!(reconnects < 50, "a viewer reconnected too often");
        }
    });
    seen
}

async fn publish_at(node: &Node, id: &str, token: &str, text: &str) -> Value {
    let (s, v) = node.post(&format!("/api/sessions/{id}/updates"), token, json!({"kind": "text", "text": text})).await;
    assert!(s.is_success(), "publish of {text:?}: {s} {v}");
    v
}

async fn nats_state(node: &Node) -> String {
    let v: Value = match reqwest::get(format!("{}/readyz", node.proc.url)).await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    v["nats"].as_str().unwrap_or("").to_string()
}

/// Bus counter `event` of `node`'s `orgallery_bus_releases_total`.
async fn bus_counter(node: &Node, event: &str) -> u64 {
    let text = reqwest::Client::new()
        .get(format!("{}/metrics", node.proc.url))
        .bearer_auth("scrape-me-please")
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let series = format!("orgallery_bus_releases_total{{event=\"{event}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(&series)).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

async fn until<F: std::future::Future<Output = bool>>(what: &str, within: Duration, mut f: impl FnMut() -> F) {
    let t0 = Instant::now();
    while !f().await {
        assert!(t0.elapsed() < within, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn a_node_without_its_nats_server_does_not_start() {
    let data = tempfile::tempdir().expect("tempdir");
    let closed = TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let url = format!("nats://127.0.0.1:{closed}");
    let args = ["serve", "--listen", "127.0.0.1:0", "--rtc-port", "0", "--image-ocr", "off", "--nats-url", &url];
    let (code, out, err) = run(data.path(), &args, "");
    assert_ne!(code, 0, "{out}{err}");
    assert!(err.contains("cannot connect to NATS"), "{err}");
    assert!(!out.contains("listening on"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_through_nats_lose_nothing_when_nats_restarts_or_the_writer_dies() {
    let db = fresh_postgres_database().await;
    let data = tempfile::tempdir().expect("tempdir");
    let d = data.path();
    let nats_dir = tempfile::tempdir().expect("tempdir");
    let mut nats = Nats::start(nats_dir.path());
    for (user, role) in [("surgeon", "surgeon"), ("educator", "educator"), ("student", "student")] {
        let (code, _, err) = run(
            d,
            &["--database-url", &db, "user", "add", "--username", user, "--role", role, "--password", "pw-123456789"],
            "",
        );
        assert_eq!(code, 0, "{err}");
    }
    let url = nats.url();
    // The killed node stays in the list (its process is gone).
    let nodes: Vec<Node> = ["node-a", "node-b", "node-c"]
        .into_iter()
        .map(|n| Node::start_with(d, &db, n, &["--nats-url", &url]))
        .collect();
    let n = |i: usize| &nodes[i];
    let (a, b, c) = (n(0), n(1), n(2));
    for x in [a, b, c] {
        assert_eq!(nats_state(x).await, "connected");
    }
    let surgeon = a.login("surgeon", "pw-123456789").await;
    let educator = b.login("educator", "pw-123456789").await;
    let id = live_session(a, &surgeon).await;
    assert_eq!((a.writers().await, b.writers().await, c.writers().await), (1, 0, 0));

    // Two reconnecting viewers per node.
    let urls: Vec<String> = [a, b, c].iter().map(|x| x.proc.url.clone()).collect();
    let done = Arc::new(Mutex::new(false));
    let viewers: Vec<Seen> =
        (0..6).map(|i| reconnecting_viewer(urls.clone(), i % 3, id.clone(), educator.clone(), done.clone())).collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Publishes at B and C go to A, which writes the session.
    let mut expected = 0;
    for (i, at) in [a, b, c, b, c].into_iter().enumerate() {
        let v = publish_at(at, &id, &surgeon, &format!("step {}", i + 1)).await;
        assert_eq!(v["state"], "held", "{v}");
        expected += 1;
    }
    until_released(a, &id, &surgeon, expected).await;
    // The curtain from C, an unknown id retracted at B: both answered by A.
    let (s, v) = c.post(&format!("/api/sessions/{id}/curtain"), &surgeon, json!({"down": true})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = c.post(&format!("/api/sessions/{id}/curtain"), &surgeon, json!({"down": false})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let missing = "00000000-0000-4000-8000-000000000000";
    let (s, v) = b.post(&format!("/api/sessions/{id}/updates/{missing}/retract"), &surgeon, json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the writer's own answer, forwarded: {v}");
    // Media is pinned to the writer's node: WHIP and WHEP elsewhere are refused.
    for side in ["whip", "whep"] {
        let resp = reqwest::Client::new()
            .post(format!("{}/api/sessions/{id}/{side}", b.proc.url))
            .bearer_auth(&surgeon)
            .header("content-type", "application/sdp")
            .body("v=0\r\n")
            .send()
            .await
            .expect("post");
        assert_eq!(resp.status(), StatusCode::CONFLICT, "{side} on a node that does not write the session");
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["error"]["code"], "not_live", "{v}");
    }
    // The releases reached B and C through the bus.
    until("the bus carried releases to B and C", Duration::from_secs(10), || async {
        bus_counter(b, "received").await >= expected as u64 && bus_counter(c, "received").await >= expected as u64
    })
    .await;

    // The audience's side crosses nodes too: a question asked at C reaches
    // the surgeon's socket on A; the viewer count on A counts every node's
    // viewers; a logout at C closes the student's socket on B (4003) and B
    // refuses the token.
    let mut surgeon_on_a = a.viewer(&id, &surgeon).await;
    let student = c.login("student", "pw-123456789").await;
    let mut student_on_b = b.viewer(&id, &student).await;
    let (s, v) =
        c.post(&format!("/api/sessions/{id}/questions"), &student, json!({"text": "Why a 30 degree scope?"})).await;
    assert!(s.is_success(), "{s} {v}");
    let (mut asked, mut counted) = (false, 0);
    let t0 = Instant::now();
    while !(asked && counted == 8) {
        assert!(t0.elapsed() < Duration::from_secs(10), "asked {asked}, viewers counted {counted}");
        if let Next::Frame(f) = surgeon_on_a.next(Duration::from_millis(500)).await {
            if f["type"] == "question" && f["question"]["text"] == "Why a 30 degree scope?" {
                asked = true;
            }
            if f["type"] == "state" {
                counted = f["viewers"].as_u64().unwrap_or(0);
            }
        }
    }
    let (s, _) = c.post("/api/auth/logout", &student, json!({})).await;
    assert!(s.is_success(), "logout: {s}");
    assert_eq!(student_on_b.close_code(Duration::from_secs(3)).await, Some(4003), "revoked on every node");
    let (s, _) = b.call(reqwest::Method::GET, "/api/sessions", &student, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "another node refuses the revoked token");
    drop(surgeon_on_a);

    // NATS goes away and comes back: releases go on (the store fills in).
    nats.stop();
    for i in 0..2 {
        publish_at(a, &id, &surgeon, &format!("while nats is down {i}")).await;
        expected += 1;
    }
    until_released(a, &id, &surgeon, expected).await;
    nats.spawn();
    until("every node reconnected to NATS", Duration::from_secs(15), || async {
        nats_state(a).await == "connected" && nats_state(b).await == "connected" && nats_state(c).await == "connected"
    })
    .await;
    let heard = (bus_counter(b, "received").await, bus_counter(c, "received").await);
    for i in 0..2 {
        publish_at(b, &id, &surgeon, &format!("after nats restarted {i}")).await;
        expected += 1;
    }
    until_released(a, &id, &surgeon, expected).await;
    // The bus carries releases again (the ordered consumers recreated themselves).
    let t0 = Instant::now();
    until("B and C hear releases through the restarted NATS", Duration::from_secs(30), || async {
        bus_counter(b, "received").await > heard.0 && bus_counter(c, "received").await > heard.1
    })
    .await;
    eprintln!("releases through NATS again {:?} after its restart's first publish", t0.elapsed());

    // Freeze A with an item held: B or C takes the lease.
    publish_at(a, &id, &surgeon, "held on the frozen node").await;
    a.signal("STOP");
    let t0 = Instant::now();
    let next = loop {
        if b.writers().await == 1 {
            break 1;
        }
        if c.writers().await == 1 {
            break 2;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "nobody took the frozen writer's lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("takeover after SIGSTOP: {:?} by node {next}", t0.elapsed());
    let w = n(next);
    publish_at(w, &id, &surgeon, "after the freeze").await;
    expected += 1;
    a.signal("CONT");
    until_writers(a, 0, Duration::from_secs(10)).await;
    assert_eq!(a.leases().await.1, 1, "the resumed writer was refused and stood down");
    let other = 3 - next; // the node that is neither A nor the new writer
    publish_at(n(other), &id, &surgeon, "forwarded to the new writer").await;
    expected += 1;
    until_released(w, &id, &surgeon, expected).await;

    // Kill the new writer with an item held: another node takes over.
    publish_at(w, &id, &surgeon, "held on the killed node").await;
    w.signal("KILL");
    let t0 = Instant::now();
    let survivors = [0, other];
    let taker = loop {
        let mut found = None;
        for &i in &survivors {
            if n(i).writers().await == 1 {
                found = Some(i);
            }
        }
        if let Some(i) = found {
            break i;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "nobody took the killed writer's lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let giver = survivors.into_iter().find(|&i| i != taker).expect("two survivors");
    publish_at(n(giver), &id, &surgeon, "after the kill").await;
    expected += 1;
    until_released(n(taker), &id, &surgeon, expected).await;
    eprintln!("failover after SIGKILL to the first new release: {:?}", t0.elapsed());

    // Every viewer has every seq, once, in order (past the held deadlines).
    let want: Vec<u64> = (1..=expected as u64).collect();
    let t0 = Instant::now();
    loop {
        let all = viewers.iter().all(|v| v.lock().expect("lock").len() >= expected);
        if all || t0.elapsed() > Duration::from_secs(20) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    *done.lock().expect("lock") = true;
    for (i, v) in viewers.iter().enumerate() {
        assert_eq!(*v.lock().expect("lock"), want, "viewer {i}: every seq once, in order");
    }
    let stored = released(n(taker), &id, &surgeon).await;
    let seqs: Vec<u64> = stored.iter().map(|u| u["seq"].as_u64().expect("seq")).collect();
    assert_eq!(seqs, want, "PostgreSQL holds each seq once");
    let ids: HashSet<&str> = stored.iter().map(|u| u["id"].as_str().expect("id")).collect();
    assert_eq!(ids.len(), expected, "each item stored once");
    let texts: Vec<&str> = stored.iter().map(|u| u["text"].as_str().unwrap_or("")).collect();
    assert!(
        !texts.iter().any(|t| t.starts_with("held on")),
        "a dead or stale writer's held item was released: {texts:?}"
    );
}
