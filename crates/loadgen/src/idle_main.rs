//! `orgallery-idle`: N idle WebSocket viewers on one server, the server's
//! memory per connection (VmRSS before and after), and one ping per viewer
//! that must come back as a pong.
//!
//! Against orgallery (`--url` with accounts) the viewers join one live
//! session of the tool's own; against any other WebSocket server (`--ws-url`,
//! e.g. the Node `ws` peer in scripts/peer/) they open that URL. The client
//! is the same in both cases, so the two numbers compare servers only.
//! Loopback only; every phase is bounded in time.

#[allow(dead_code)] // the publishing side is orgallery-load's
mod api;
#[allow(dead_code)]
mod sys;
mod ws;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use reqwest::Url;
use serde_json::json;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::api::{split_credentials, Api, Error};
use crate::ws::{ConnectError, Msg};

const PING_PAYLOAD: &[u8] = b"orgallery-idle";

#[derive(Debug, Clone, Parser)]
#[command(
    name = "orgallery-idle",
    version,
    about = "Idle WebSocket viewers: server memory per connection, pings answered."
)]
struct Args {
    /// orgallery base URL (loopback only); needs --surgeon and --viewer.
    #[arg(long)]
    url: Option<String>,
    /// Surgeon account that creates the session, USER:PASS.
    #[arg(long, value_parser = split_credentials)]
    surgeon: Option<(String, String)>,
    /// Viewer account used by every socket, USER:PASS.
    #[arg(long, value_parser = split_credentials)]
    viewer: Option<(String, String)>,
    /// A plain WebSocket URL to open instead (ws://127.x.x.x:PORT/path), no API.
    #[arg(long)]
    ws_url: Option<String>,
    /// Number of viewers.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=200_000))]
    viewers: u32,
    /// Local addresses to connect from, round robin (e.g. 127.0.0.2,127.0.0.3):
    /// each has its own ephemeral ports.
    #[arg(long, value_delimiter = ',')]
    source_ips: Vec<IpAddr>,
    /// Server process to sample VmRSS from (/proc/PID/status).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Idle time after all viewers connected before sampling memory (seconds).
    #[arg(long, default_value_t = 5)]
    idle: u64,
    /// Concurrent handshakes.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// Give up connecting after this many seconds.
    #[arg(long, default_value_t = 300)]
    connect_timeout: u64,
    /// Wait this many seconds at most for every pong.
    #[arg(long, default_value_t = 60)]
    ping_timeout: u64,
    /// Also print the report as one JSON line on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Default)]
struct Counts {
    settled: AtomicUsize,
    connected: AtomicUsize,
    pongs: AtomicUsize,
    /// Connections the server closed or dropped before the tool's close.
    lost: AtomicUsize,
    errors: Mutex<BTreeMap<String, u64>>,
}

fn log(msg: impl AsRef<str>) {
    eprintln!("[orgallery-idle] {}", msg.as_ref());
}

async fn connect(url: &str, auth: &str, source: Option<IpAddr>, gate: &Semaphore) -> Result<ws::Conn, ConnectError> {
    let mut last = ConnectError::Protocol("not tried");
    for attempt in 0..4u64 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
        }
        let permit = gate.acquire().await.ok();
        let r = tokio::time::timeout(Duration::from_secs(20), ws::connect_from(url, auth, source)).await;
        drop(permit);
        match r {
            Ok(Ok(c)) => return Ok(c),
            Ok(Err(ConnectError::Status(s))) if (400..500).contains(&s) => return Err(ConnectError::Status(s)),
            Ok(Err(e)) => last = e,
            Err(_) => last = ConnectError::Io(std::io::ErrorKind::TimedOut.into()),
        }
    }
    Err(last)
}

async fn viewer(
    url: Arc<String>,
    auth: Arc<String>,
    source: Option<IpAddr>,
    gate: Arc<Semaphore>,
    counts: Arc<Counts>,
    mut ping: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let conn = connect(&url, &auth, source, &gate).await;
    counts.settled.fetch_add(1, Relaxed);
    let mut conn = match conn {
        Ok(c) => c,
        Err(e) => {
            if let Ok(mut m) = counts.errors.lock() {
                *m.entry(e.to_string()).or_default() += 1;
            }
            return;
        }
    };
    counts.connected.fetch_add(1, Relaxed);
    let mut pinged = false;
    loop {
        tokio::select! {
            m = conn.next() => match m {
                Ok(Some(Msg::Pong(p))) if p == PING_PAYLOAD => {
                    counts.pongs.fetch_add(1, Relaxed);
                }
                Ok(Some(Msg::Close(_))) | Ok(None) | Err(_) => {
                    counts.lost.fetch_add(1, Relaxed);
                    return;
                }
                Ok(Some(_)) => {}
            },
            r = ping.changed(), if !pinged => {
                pinged = true;
                if r.is_ok() && conn.send_ping(PING_PAYLOAD).await.is_err() {
                    counts.lost.fetch_add(1, Relaxed);
                    return;
                }
            },
            _ = stop.changed() => {
                let _ = tokio::time::timeout(Duration::from_secs(3), async {
                    let _ = conn.send_close().await;
                    while let Ok(Some(m)) = conn.next().await {
                        if matches!(m, Msg::Close(_)) {
                            break;
                        }
                    }
                })
                .await;
                return;
            }
        }
    }
}

async fn run(args: Args) -> Result<serde_json::Value, Error> {
    let (live_url, auth) = match (&args.ws_url, &args.url) {
        (Some(w), None) => {
            let u = Url::parse(&w.replacen("ws://", "http://", 1))?;
            api::check_loopback(&u)?;
            (w.clone(), "Bearer none".to_string())
        }
        (None, Some(base)) => {
            let base = Url::parse(base)?;
            api::check_loopback(&base)?;
            let (Some(s), Some(v)) = (&args.surgeon, &args.viewer) else {
                return Err("--url needs --surgeon and --viewer".into());
            };
            let api = Api::new(base.clone())?;
            let surgeon = api.login(&s.0, &s.1).await?;
            let viewer = api.login(&v.0, &v.1).await?;
            let session = api.live_session(&surgeon, 0).await?;
            let host = base.host_str().unwrap_or("127.0.0.1");
            let port = base.port().map(|p| format!(":{p}")).unwrap_or_default();
            (format!("ws://{host}{port}/api/sessions/{session}/live?after=0"), format!("Bearer {viewer}"))
        }
        _ => return Err("give exactly one of --url and --ws-url".into()),
    };
    for ip in &args.source_ips {
        if !ip.is_loopback() {
            return Err(format!("--source-ips: {ip} is not a loopback address").into());
        }
    }
    let rss = |field: &str| args.server_pid.and_then(|p| sys::status_kib(p, field));
    let rss_before = rss("VmRSS");
    let n = args.viewers as usize;
    let counts = Arc::new(Counts::default());
    let gate = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let (ping_tx, ping_rx) = watch::channel(false);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (url, auth) = (Arc::new(live_url), Arc::new(auth));
    let mut tasks = JoinSet::new();
    let t0 = Instant::now();
    for i in 0..n {
        let source = if args.source_ips.is_empty() { None } else { Some(args.source_ips[i % args.source_ips.len()]) };
        tasks.spawn(viewer(
            url.clone(),
            auth.clone(),
            source,
            gate.clone(),
            counts.clone(),
            ping_rx.clone(),
            stop_rx.clone(),
        ));
    }
    let mut last_log = Instant::now();
    while counts.settled.load(Relaxed) < n && t0.elapsed() < Duration::from_secs(args.connect_timeout) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if last_log.elapsed() >= Duration::from_secs(5) {
            last_log = Instant::now();
            log(format!("connecting: {}/{n}", counts.connected.load(Relaxed)));
        }
    }
    let connect_secs = t0.elapsed().as_secs_f64();
    let connected = counts.connected.load(Relaxed);
    log(format!("{connected}/{n} connected in {connect_secs:.1} s; idle {} s", args.idle));
    tokio::time::sleep(Duration::from_secs(args.idle)).await;
    let rss_idle = rss("VmRSS");
    let still_open = connected - counts.lost.load(Relaxed).min(connected);

    let _ = ping_tx.send(true);
    let t_ping = Instant::now();
    while counts.pongs.load(Relaxed) < still_open && t_ping.elapsed() < Duration::from_secs(args.ping_timeout) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ping_secs = t_ping.elapsed().as_secs_f64();
    let pongs = counts.pongs.load(Relaxed);
    let rss_after_ping = rss("VmRSS");
    let hwm = rss("VmHWM");

    let _ = stop_tx.send(true);
    let closing = Instant::now();
    while let Ok(Some(_)) =
        tokio::time::timeout(Duration::from_secs(20).saturating_sub(closing.elapsed()), tasks.join_next()).await
    {}
    tasks.abort_all();
    let per_conn = match (rss_before, rss_idle) {
        (Some(b), Some(i)) if connected > 0 => Some((i.saturating_sub(b)) as f64 / connected as f64),
        _ => None,
    };
    let errors = counts.errors.lock().map(|m| m.clone()).unwrap_or_default();
    Ok(json!({
        "viewers": n,
        "connected": connected,
        "connect_seconds": connect_secs,
        "connect_errors": errors,
        "lost_before_close": counts.lost.load(Relaxed),
        "open_at_ping": still_open,
        "pongs": pongs,
        "ping_round_seconds": ping_secs,
        "rss_before_kib": rss_before,
        "rss_idle_kib": rss_idle,
        "rss_after_ping_kib": rss_after_ping,
        "hwm_kib": hwm,
        "kib_per_connection": per_conn,
        "source_ips": args.source_ips.len().max(1),
    }))
}

fn main() -> ExitCode {
    let args = Args::parse();
    match sys::raise_nofile() {
        Ok(l) if l < u64::from(args.viewers) + 50 => {
            log(format!("warning: file-descriptor limit {l} is below --viewers {} + 50", args.viewers))
        }
        Ok(_) => {}
        Err(e) => log(format!("could not raise RLIMIT_NOFILE: {e}")),
    }
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            log(format!("cannot start the runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    let json_out = args.json;
    let r = rt.block_on(run(args));
    rt.shutdown_timeout(Duration::from_secs(1));
    match r {
        Ok(v) => {
            let get = |k: &str| v.get(k).cloned().unwrap_or(serde_json::Value::Null);
            eprintln!(
                "orgallery-idle report\n  viewers      {} connected of {} in {:.1} s, errors {}, lost before close {}\n  pings        {} pongs of {} open, round {:.2} s\n  server mem   VmRSS before {} KiB, idle {} KiB, after the pings {} KiB, VmHWM {} KiB → {} KiB per connection",
                get("connected"),
                get("viewers"),
                get("connect_seconds").as_f64().unwrap_or(0.0),
                get("connect_errors"),
                get("lost_before_close"),
                get("pongs"),
                get("open_at_ping"),
                get("ping_round_seconds").as_f64().unwrap_or(0.0),
                get("rss_before_kib"),
                get("rss_idle_kib"),
                get("rss_after_ping_kib"),
                get("hwm_kib"),
                get("kib_per_connection").as_f64().map(|x| format!("{x:.2}")).unwrap_or_else(|| "?".into()),
            );
            if json_out {
                println!("{v}");
            }
            let clean = get("connected") == get("viewers")
                && get("pongs") == get("open_at_ping")
                && get("lost_before_close").as_u64() == Some(0);
            if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            }
        }
        Err(e) => {
            log(format!("error: {e}"));
            ExitCode::from(1)
        }
    }
}
