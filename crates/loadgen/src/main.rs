//! `orgallery-load`: N real WebSocket viewers on one live session, updates
//! published at a fixed rate through the API, and a report of
//! release-to-receipt latency, deliveries, gaps, duplicates, slow-consumer
//! closes and server memory per idle viewer.
//!
//! Loopback only; every phase is bounded in time and the tool stops by itself.

mod api;
mod frame;
mod report;
mod sys;
mod track;
mod viewer;
mod ws;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use reqwest::Url;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::api::{split_credentials, Api, Error};
use crate::report::{Percentiles, Report};
use crate::viewer::{SeqTimes, Shared, ViewerStats};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "orgallery-load",
    version,
    about = "Load the live channel: N WebSocket viewers on one session, paced publishing, latency and integrity report."
)]
pub struct Args {
    /// Server base URL (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Spread the viewers round-robin over these base URLs (the nodes of a
    /// cluster; repeat the flag), with latency reported per URL. Default:
    /// every viewer on --url, where the session is created and published.
    #[arg(long = "viewer-url")]
    viewer_urls: Vec<String>,
    /// Surgeon account that creates the session and publishes, USER:PASS.
    #[arg(long, value_parser = split_credentials)]
    surgeon: (String, String),
    /// Viewer account (e.g. a student) used by every socket, USER:PASS.
    #[arg(long, value_parser = split_credentials)]
    viewer: (String, String),
    /// Number of WebSocket viewers.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    viewers: u32,
    /// Updates published per second.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Bytes of text per update (1..=16384).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=16_384))]
    size: u32,
    /// How long to publish, e.g. 30s, 2m, 500ms.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Concurrent WebSocket handshakes while connecting viewers.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    connect_concurrency: u32,
    /// Retries per viewer when a connect fails (not for 401/403/404).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=50))]
    connect_retries: u32,
    /// Give up waiting for viewers to connect after this long.
    #[arg(long, default_value = "180s", value_parser = parse_duration)]
    connect_timeout: Duration,
    /// Server process to sample VmRSS from (/proc/PID/status).
    #[arg(long)]
    server_pid: Option<u32>,
    /// The session's delay_seconds (0..=600).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=600))]
    delay: u32,
    /// Idle time after all viewers connected before sampling memory.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    idle: Duration,
    /// How long to wait for the tail after the last publish (plus --delay).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    tail: Duration,
    /// Renew both accounts' access tokens this often (POST /api/auth/refresh)
    /// and hand the viewer's to every open socket: a run longer than the
    /// token lifetime (15 min by default) would otherwise be cut off.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    renew_every: Duration,
    /// Publish requests in flight at most.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1024))]
    max_in_flight: u32,
    /// Runtime worker threads; 1 = current-thread runtime (leaves the server a core).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    threads: u32,
    /// Run the viewers on this many extra threads, each with its own
    /// current-thread runtime (cheaper per frame than a work-stealing
    /// runtime); 0 = on the main runtime with the publisher.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=64))]
    viewer_threads: u32,
    /// Print the report as one JSON line on stdout (the human report goes to stderr).
    #[arg(long)]
    json: bool,
}

/// "30s", "2m", "500ms", "1h" or a bare number of seconds; at most one hour.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("invalid duration unit in {s:?} (use ms, s, m or h)")),
    };
    if !secs.is_finite() || secs <= 0.0 || secs > 3600.0 {
        return Err("duration must be more than 0 and at most 1h".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

fn log(msg: impl AsRef<str>) {
    eprintln!("[orgallery-load] {}", msg.as_ref());
}

/// `size` bytes of plain surgical prose (no digits, no names: nothing the
/// redaction gate should need to touch), varied by `n`.
pub fn update_text(n: u64, size: usize) -> String {
    const WORDS: &[&str] = &[
        "suture",
        "retract",
        "irrigate",
        "cautery",
        "clamp",
        "incision",
        "fascia",
        "closure",
        "hemostasis",
        "dissect",
        "mobilize",
        "ligate",
        "drain",
        "inspect",
        "approximate",
        "layer",
        "tension",
        "vessel",
        "tissue",
        "plane",
    ];
    let mut s = String::with_capacity(size + 16);
    let mut i = n as usize;
    while s.len() < size {
        s.push_str(WORDS[i % WORDS.len()]);
        s.push(' ');
        i = i.wrapping_add(7);
    }
    s.truncate(size);
    s
}

fn histogram() -> Histogram<u64> {
    // 1 µs .. 1 h, 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static histogram bounds are valid")
}

struct PublishOutcome {
    ok: u64,
    errors: BTreeMap<String, u64>,
    window: Duration,
    rtt: Histogram<u64>,
}

async fn publish(api: &Api, token: &watch::Receiver<String>, session: &str, args: &Args) -> PublishOutcome {
    let total = (args.rate * args.duration.as_secs_f64()).round().max(1.0) as u64;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let gate = Arc::new(Semaphore::new(args.max_in_flight as usize));
    let rtt = Arc::new(Mutex::new(histogram()));
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let hard_stop = args.duration + Duration::from_secs(5);
    let mut tasks = JoinSet::new();
    let start = Instant::now();
    for n in 0..total {
        tick.tick().await;
        if start.elapsed() > hard_stop {
            log(format!("publisher fell behind; stopped after {n} of {total}"));
            break;
        }
        let Ok(permit) = gate.clone().acquire_owned().await else {
            break;
        };
        let (api, token, session) = (api.clone(), token.borrow().clone(), session.to_string());
        let text = update_text(n, args.size as usize);
        let (rtt, ok, errors) = (rtt.clone(), ok.clone(), errors.clone());
        tasks.spawn(async move {
            let t = Instant::now();
            let r = api.publish(&token, &session, &text).await;
            let us = t.elapsed().as_micros() as u64;
            drop(permit);
            if let Ok(mut h) = rtt.lock() {
                h.saturating_record(us.max(1));
            }
            match r {
                Ok(()) => {
                    ok.fetch_add(1, Relaxed);
                }
                Err(kind) => {
                    if let Ok(mut e) = errors.lock() {
                        *e.entry(kind).or_default() += 1;
                    }
                }
            }
        });
        // Reap finished tasks as we go so the set stays small.
        while tasks.try_join_next().is_some() {}
    }
    // Requests time out after 10 s, so this is bounded.
    while tasks.join_next().await.is_some() {}
    let window = start.elapsed();
    let rtt = rtt.lock().map(|h| h.clone()).unwrap_or_else(|_| histogram());
    let errors = errors.lock().map(|e| e.clone()).unwrap_or_default();
    PublishOutcome { ok: ok.load(Relaxed), errors, window, rtt }
}

/// Scheduling lag of this process's own runtime: how late a 10 ms timer
/// fires. Large values mean the tool, not the server, delayed receipts.
/// Threads that each drive a current-thread runtime for a share of the viewers.
struct ViewerPool {
    handles: Vec<tokio::runtime::Handle>,
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl ViewerPool {
    fn start(k: usize) -> std::io::Result<Self> {
        let mut pool = ViewerPool { handles: Vec::new(), stops: Vec::new(), threads: Vec::new() };
        for i in 0..k {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            pool.handles.push(rt.handle().clone());
            pool.stops.push(stop);
            pool.threads.push(std::thread::Builder::new().name(format!("viewers-{i}")).spawn(move || {
                let _ = rt.block_on(stopped);
                rt.shutdown_timeout(Duration::from_secs(1));
            })?);
        }
        Ok(pool)
    }
}

impl Drop for ViewerPool {
    fn drop(&mut self) {
        self.stops.clear();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn spawn_lag_probe(running: Arc<AtomicBool>) -> tokio::task::JoinHandle<Histogram<u64>> {
    tokio::spawn(async move {
        let mut h = histogram();
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // Bounded: the coordinator clears `running`; 2 h is a backstop.
        let backstop = Instant::now() + Duration::from_secs(7200);
        while running.load(Relaxed) && Instant::now() < backstop {
            let due = tick.tick().await;
            let lag = tokio::time::Instant::now().saturating_duration_since(due);
            h.saturating_record((lag.as_micros() as u64).max(1));
        }
        h
    })
}

async fn run(args: Args, nofile: Option<u64>) -> Result<Report, Error> {
    let base = Url::parse(&args.url)?;
    api::check_loopback(&base)?;
    if !(args.rate > 0.0 && args.rate <= 10_000.0) {
        return Err("--rate must be in (0, 10000]".into());
    }
    let api = Api::new(base.clone())?;
    let surgeon = api.login(&args.surgeon.0, &args.surgeon.1).await?;
    let viewer_token = api.login(&args.viewer.0, &args.viewer.1).await?;
    let session = api.live_session(&surgeon, args.delay).await?;
    log(format!("session {session} is live"));

    let pid = args.server_pid;
    let rss = |field: &str| pid.and_then(|p| sys::status_kib(p, field));
    let rss_before = rss("VmRSS");

    let n = args.viewers as usize;
    let expected_total = (args.rate * args.duration.as_secs_f64()).round().max(1.0) as u64;
    let ws_base = |base: &Url| {
        format!(
            "ws://{}{}",
            base.host_str().unwrap_or("127.0.0.1"),
            base.port().map(|p| format!(":{p}")).unwrap_or_default()
        )
    };
    let mut viewer_bases = Vec::new();
    for u in &args.viewer_urls {
        let u = Url::parse(u)?;
        api::check_loopback(&u)?;
        viewer_bases.push(u);
    }
    if viewer_bases.is_empty() {
        viewer_bases.push(base.clone());
    }
    let live_urls: Vec<String> =
        viewer_bases.iter().map(|b| format!("{}/api/sessions/{session}/live", ws_base(b))).collect();
    // Both tokens renewed while the run lasts (the task ends with the run).
    let (surgeon_tx, surgeon_rx) = watch::channel(surgeon.clone());
    let (viewer_tx, viewer_rx) = watch::channel(viewer_token.clone());
    let renewer = {
        let (api, every) = (api.clone(), args.renew_every);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tick.tick().await;
                for tx in [&surgeon_tx, &viewer_tx] {
                    let current = tx.borrow().clone();
                    match api.refresh(&current).await {
                        Ok(t) => {
                            let _ = tx.send(t);
                        }
                        Err(e) => log(format!("token renewal failed: {e}")),
                    }
                }
            }
        })
    };
    let shared = Arc::new(Shared {
        latency_by_url: live_urls.iter().map(|_| Mutex::new(histogram())).collect(),
        live_urls,
        token: viewer_rx,
        connect_gate: Semaphore::new(args.connect_concurrency as usize),
        connect_retries: args.connect_retries,
        seq_cap: expected_total * 2 + 1000,
        latency: Mutex::new(histogram()),
        settled: AtomicUsize::new(0),
        connected: AtomicUsize::new(0),
        update_frames: AtomicU64::new(0),
        unique_updates: AtomicU64::new(0),
        max_viewers_announced: AtomicU64::new(0),
        per_seq: (0..=expected_total * 2 + 1000).map(|_| SeqTimes::new()).collect(),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut viewers = JoinSet::new();
    let pool = ViewerPool::start(args.viewer_threads as usize)?;
    let t_connect = Instant::now();
    for i in 0..n {
        let v = viewer::run(shared.clone(), stop_rx.clone(), i % shared.live_urls.len().max(1));
        match pool.handles.get(i % pool.handles.len().max(1)) {
            Some(h) => viewers.spawn_on(v, h),
            None => viewers.spawn(v),
        };
    }
    let mut last_log = Instant::now();
    while shared.settled.load(Relaxed) < n && t_connect.elapsed() < args.connect_timeout {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if last_log.elapsed() >= Duration::from_secs(2) {
            last_log = Instant::now();
            log(format!(
                "connecting: {}/{} connected, {} settled",
                shared.connected.load(Relaxed),
                n,
                shared.settled.load(Relaxed)
            ));
        }
    }
    let connect_secs = t_connect.elapsed().as_secs_f64();
    let connected = shared.connected.load(Relaxed);
    log(format!("{connected}/{n} viewers connected in {connect_secs:.1} s; idle {:.1} s", args.idle.as_secs_f64()));
    tokio::time::sleep(args.idle).await;
    let rss_idle = rss("VmRSS");

    // Publish, measuring CPU of both processes and this runtime's lag.
    let server_cpu = pid.map(|p| sys::CpuMeter::start(p.to_string()));
    let machine_cpu = sys::MachineMeter::start();
    let self_cpu = sys::CpuMeter::start("self".to_string());
    let probing = Arc::new(AtomicBool::new(true));
    let probe = spawn_lag_probe(probing.clone());
    log(format!("publishing {expected_total} updates of {} B at {}/s", args.size, args.rate));
    let published = publish(&api, &surgeon_rx, &session, &args).await;
    let server_cpu_pct = server_cpu.and_then(|m| m.percent());
    let self_cpu_pct = self_cpu.percent();
    let machine_cpu_pct = machine_cpu.percent();
    let loadavg = sys::loadavg();
    let rss_after_publish = rss("VmRSS");

    // Tail: until every connected viewer has every accepted update, or timeout.
    let want = published.ok * connected as u64;
    let tail_limit = args.tail + Duration::from_secs(u64::from(args.delay));
    let t_tail = Instant::now();
    while shared.unique_updates.load(Relaxed) < want && t_tail.elapsed() < tail_limit {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let tail_secs = t_tail.elapsed().as_secs_f64();
    probing.store(false, Relaxed);
    let lag = probe.await.unwrap_or_else(|_| histogram());
    let server_hwm = rss("VmHWM");

    // Close everything; viewers close within 3 s, this waits 15 s at most.
    log("closing viewers");
    let _ = stop_tx.send(true);
    let mut stats: Vec<ViewerStats> = Vec::with_capacity(n);
    let closing = Instant::now();
    while let Ok(Some(r)) =
        tokio::time::timeout(Duration::from_secs(15).saturating_sub(closing.elapsed()), viewers.join_next()).await
    {
        if let Ok(s) = r {
            stats.push(s);
        }
    }
    let unfinished = viewers.len();
    viewers.abort_all();
    renewer.abort();
    let renewals: u64 = stats.iter().map(|s| s.renewals).sum();
    if renewals > 0 {
        log(format!("{renewals} token renewals handed to open sockets"));
    }

    let latency = shared.latency.lock().map(|h| h.clone()).unwrap_or_else(|_| histogram());
    let latency_by_url: Vec<(String, Percentiles)> = viewer_bases
        .iter()
        .zip(&shared.latency_by_url)
        .map(|(b, h)| {
            let h = h.lock().map(|h| h.clone()).unwrap_or_else(|_| histogram());
            (b.to_string(), Percentiles::from_us(&h))
        })
        .collect();
    let (mut first, mut spread) = (histogram(), histogram());
    for t in shared.per_seq.iter().take(published.ok as usize + 1).skip(1) {
        let (rel, f, l) = (t.released.load(Relaxed), t.first.load(Relaxed), t.last.load(Relaxed));
        if f != i64::MAX && l != i64::MIN {
            first.saturating_record(((f - rel).max(0) / 1000) as u64);
            spread.saturating_record(((l - f).max(0) / 1000) as u64);
        }
    }
    Ok(report::build(report::Inputs {
        args: &args,
        nofile,
        session,
        stats: &stats,
        unfinished,
        connect_secs,
        published_ok: published.ok,
        publish_errors: published.errors,
        publish_window: published.window,
        publish_rtt: Percentiles::from_us(&published.rtt),
        latency: Percentiles::from_us(&latency),
        latency_by_url,
        loop_lag: Percentiles::from_us(&lag),
        first_receipt: Percentiles::from_us(&first),
        fanout_spread: Percentiles::from_us(&spread),
        machine_cpu_pct,
        loadavg,
        tail_secs,
        rss_before,
        rss_idle,
        rss_after_publish,
        server_hwm,
        server_cpu_pct,
        self_cpu_pct,
        max_viewers_announced: shared.max_viewers_announced.load(Relaxed),
    }))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let nofile = match sys::raise_nofile() {
        Ok(n) => Some(n),
        Err(e) => {
            log(format!("could not raise RLIMIT_NOFILE: {e}"));
            None
        }
    };
    if let Some(limit) = nofile {
        if limit < u64::from(args.viewers) + 100 {
            log(format!("warning: file-descriptor limit {limit} is below --viewers {} + 100", args.viewers));
        }
    }
    let rt = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads as usize).enable_all().build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            log(format!("cannot start the runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(run(args.clone(), nofile));
    // Anything still running (it should not be) is dropped without waiting.
    rt.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(report) => {
            let human = report.human();
            if args.json {
                eprintln!("{human}");
                match serde_json::to_string(&report) {
                    Ok(line) => println!("{line}"),
                    Err(e) => log(format!("cannot encode the report: {e}")),
                }
            } else {
                println!("{human}");
            }
            if report.clean() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn text_has_the_exact_size_and_no_digits() {
        for size in [1, 7, 1024, 16_384] {
            let t = update_text(3, size);
            assert_eq!(t.len(), size);
            assert!(!t.chars().any(|c| c.is_ascii_digit()));
        }
        assert_ne!(update_text(0, 64), update_text(1, 64));
    }

    #[test]
    fn loopback_only_and_credentials() {
        for ok in ["http://127.0.0.1:8080", "http://localhost:1", "http://127.3.2.1/", "http://[::1]:80"] {
            assert!(api::check_loopback(&Url::parse(ok).unwrap()).is_ok(), "{ok}");
        }
        for bad in ["http://10.0.0.1:8080", "http://example.org", "https://127.0.0.1", "http://0.0.0.0:80"] {
            assert!(api::check_loopback(&Url::parse(bad).unwrap()).is_err(), "{bad}");
        }
        assert_eq!(split_credentials("a:b:c"), Ok(("a".into(), "b:c".into())));
        assert!(split_credentials("nopass").is_err());
        assert!(split_credentials(":x").is_err());
    }
}
