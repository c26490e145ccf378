//! `orgallery-rtc-load`: one synthetic ~1.5 Mbit/s VP8 stream with Opus
//! published over WHIP, N viewers over WHEP on real loopback UDP (each its
//! own socket; str0m clients, many per thread), and a report of the
//! server's CPU per forwarded packet per viewer, packets lost inside the
//! server and on the way to the viewers, release accuracy against
//! `delay_seconds` and receive − send latency, beside a UDP loopback floor
//! (same datagram sizes, same packet rate, same N) measured in the same run.
//!
//! Phases, each bounded: publisher connects → viewers open and connect →
//! every viewer has a keyframe → settle → measured window → the publisher
//! stops and the buffer drains (delay + 1.5 s) → floor. The tool always
//! stops by itself.

mod rtc;

use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use serde_json::json;

use rtc::floor::{self, Mode};
use rtc::peer::{Client, Role};
use rtc::proc::{scrape, server_cpu, MediaCounters, ServerCpu};
use rtc::publisher::{self, PublisherStats};
use rtc::viewers::{self, ThreadConfig, ThreadStats};
use rtc::Shared;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "orgallery-rtc-load",
    version,
    about = "Load live video: one WHIP publisher (synthetic VP8 + Opus), N WHEP viewers over loopback UDP, and a UDP floor."
)]
struct Args {
    /// Server base URL (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A live session with video and audio consent.
    #[arg(long)]
    session: String,
    /// Bearer token that may publish (WHIP).
    #[arg(long, env = "RTC_LOAD_PUBLISHER_TOKEN", hide_env_values = true)]
    publisher_token: String,
    /// Bearer token every viewer uses (WHEP).
    #[arg(long, env = "RTC_LOAD_VIEWER_TOKEN", hide_env_values = true)]
    viewer_token: String,
    /// Bearer token for /metrics (admin or --metrics-token).
    #[arg(long, env = "RTC_LOAD_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: String,
    /// The server process (its `orgallery-media` thread's CPU is measured).
    #[arg(long)]
    server_pid: u32,
    /// The session's delay_seconds (release accuracy is measured against it).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=20))]
    delay: u32,
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=2000))]
    viewers: u32,
    /// Length of the measured window, in seconds.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=60))]
    duration: u32,
    /// Viewers that decrypt and time every packet (latency, per-index loss);
    /// the others are sinks: ICE, DTLS and RTCP through str0m, SRTP media
    /// counted by its clear sequence numbers and dropped, so that the tool
    /// stays cheaper than the server it measures.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=2000))]
    probes: u32,
    /// Threads the viewers run on (each a current-thread runtime).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    viewer_threads: u32,
    /// WHEP requests in flight per viewer thread while opening.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=128))]
    open_concurrency: u32,
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=60))]
    fps: u32,
    /// Video bits per second.
    #[arg(long, default_value_t = 1_500_000, value_parser = clap::value_parser!(u32).range(100_000..=20_000_000))]
    bitrate: u32,
    /// Opus payload bytes per 20 ms packet.
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u32).range(10..=1000))]
    opus_bytes: u32,
    /// Seconds per floor measurement (0 = skip the floor).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(0..=20))]
    floor_secs: u32,
    /// SO_RCVBUF of each viewer's socket.
    #[arg(long, default_value_t = 2 << 20)]
    recv_buffer: usize,
    /// Also print the report as one JSON line on stdout.
    #[arg(long)]
    json: bool,
}

fn log(msg: impl AsRef<str>) {
    eprintln!("[orgallery-rtc-load] {}", msg.as_ref());
}

fn check_loopback(url: &str) -> Result<(), String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("bad --url: {e}"))?;
    let host = u.host_str().unwrap_or("");
    let ok = host.eq_ignore_ascii_case("localhost")
        || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if u.scheme() != "http" || !ok {
        return Err(format!("refusing {url}: only http:// on loopback"));
    }
    Ok(())
}

/// Wait until `done()` or `limit`; whether it was done.
async fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

struct Sample {
    at: Instant,
    counters: MediaCounters,
    cpu: ServerCpu,
    /// This tool's own CPU, to show it costs less than what it measures.
    tool: ServerCpu,
    index: u32,
}

async fn sample(http: &reqwest::Client, args: &Args, shared: &Shared) -> Result<Sample, String> {
    let counters = scrape(http, &args.url, &args.metrics_token).await?;
    let cpu = server_cpu(args.server_pid, "orgallery-media").ok_or("cannot read the server's /proc/PID/task")?;
    let tool = server_cpu(std::process::id(), "rtc-load-viewers-0").unwrap_or_default();
    Ok(Sample { at: Instant::now(), counters, cpu, tool, index: shared.next_index.load(Relaxed) })
}

fn pct(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(e) = check_loopback(&args.url) {
        log(e);
        return ExitCode::from(2);
    }
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            log(format!("runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(3),
        Err(e) => {
            log(format!("error: {e}"));
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<bool, String> {
    let shared = Arc::new(Shared::new());
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("http client: {e}"))?;
    let delay = Duration::from_secs(u64::from(args.delay));
    // Everything a thread does is bounded by this.
    let budget = Duration::from_secs(u64::from(args.duration + args.delay * 2) + 150);

    // Publisher: its own thread, so its pacing never waits behind viewers.
    let before = sample(&http, &args, &shared).await?;
    if !before.cpu.found_thread {
        return Err(format!("no orgallery-media thread in process {}", args.server_pid));
    }
    let pub_thread = {
        let (shared, args) = (shared.clone(), args.clone());
        std::thread::Builder::new()
            .name("rtc-load-publisher".into())
            .spawn(move || -> Result<PublisherStats, String> {
                let rt =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
                rt.block_on(async move {
                    let http = reqwest::Client::builder()
                        .no_proxy()
                        .timeout(Duration::from_secs(10))
                        .build()
                        .map_err(|e| e.to_string())?;
                    let c =
                        Client::open(&http, &args.url, &args.session, &args.publisher_token, Role::Publisher, 1 << 20)
                            .await
                            .map_err(|e| {
                                shared.stop.store(true, Relaxed);
                                e.to_string()
                            })?;
                    shared.sending.store(true, Relaxed);
                    let cfg = publisher::Config {
                        fps: args.fps,
                        bitrate: args.bitrate,
                        opus_bytes: args.opus_bytes as usize,
                    };
                    Ok(publisher::run(c, shared, cfg, budget).await)
                })
            })
            .map_err(|e| e.to_string())?
    };
    if !wait_for(Duration::from_secs(15), || shared.publisher_connected.load(Relaxed) || shared.stop.load(Relaxed))
        .await
        || shared.stop.load(Relaxed)
    {
        shared.stop.store(true, Relaxed);
        let e = pub_thread.join().map_err(|_| "publisher panicked")?.err().unwrap_or_default();
        return Err(format!("the publisher did not connect: {e}"));
    }
    log("publisher connected");

    // Viewers.
    let n = args.viewers as usize;
    let threads = (args.viewer_threads as usize).min(n);
    let t_open = Instant::now();
    let mut handles = Vec::new();
    for t in 0..threads {
        let count = n / threads + usize::from(t < n % threads);
        let cfg = ThreadConfig {
            base: args.url.clone(),
            session: args.session.clone(),
            token: args.viewer_token.clone(),
            viewers: count,
            probes: if t == 0 { args.probes as usize } else { 0 },
            open_concurrency: args.open_concurrency as usize,
            recv_buffer: args.recv_buffer,
            limit: budget,
        };
        let shared = shared.clone();
        let h = std::thread::Builder::new()
            .name(format!("rtc-load-viewers-{t}"))
            .spawn(move || viewers::thread_main(cfg, shared, t == 0))
            .map_err(|e| e.to_string())?;
        handles.push(h);
    }
    let opened = wait_for(Duration::from_secs(90), || {
        shared.viewers_opened.load(Relaxed) + shared.viewers_failed.load(Relaxed) >= n
    })
    .await;
    let open_secs = t_open.elapsed().as_secs_f64();
    let connected = wait_for(Duration::from_secs(20), || {
        shared.viewers_connected.load(Relaxed) >= shared.viewers_opened.load(Relaxed)
    })
    .await;
    log(format!(
        "viewers: {} opened, {} failed, {} connected in {open_secs:.1} s{}",
        shared.viewers_opened.load(Relaxed),
        shared.viewers_failed.load(Relaxed),
        shared.viewers_connected.load(Relaxed),
        if opened && connected { "" } else { " (gave up waiting)" }
    ));
    let keyed = wait_for(delay + Duration::from_secs(10), || {
        shared.viewers_keyed.load(Relaxed) >= shared.viewers_connected.load(Relaxed)
    })
    .await;
    log(format!(
        "{} viewers have a keyframe{}",
        shared.viewers_keyed.load(Relaxed),
        if keyed { "" } else { " (not all; measuring anyway)" }
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The measured window.
    let viewers_in = shared.viewers_connected.load(Relaxed) as u64;
    let a = sample(&http, &args, &shared).await?;
    shared.window_from.store(a.index, Relaxed);
    log(format!("measuring {} s with {viewers_in} viewers", args.duration));
    tokio::time::sleep(Duration::from_secs(u64::from(args.duration))).await;
    let idx_to = shared.next_index.load(Relaxed);
    let send_secs = a.at.elapsed().as_secs_f64();
    shared.sending.store(false, Relaxed);
    // Let the buffer drain: what was captured last leaves after the delay.
    tokio::time::sleep(delay + Duration::from_millis(1500)).await;
    let b = sample(&http, &args, &shared).await?;
    let window_secs = b.at.duration_since(a.at).as_secs_f64();
    shared.stop.store(true, Relaxed);

    let pstats = match pub_thread.join() {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(format!("publisher: {e}")),
        Err(_) => return Err("publisher panicked".into()),
    };
    let mut stats: Vec<ThreadStats> = Vec::new();
    for h in handles {
        match h.join() {
            Ok(s) => stats.push(s),
            Err(_) => return Err("a viewer thread panicked".into()),
        }
    }

    // Server numbers over the window.
    let d = b.counters.minus(a.counters);
    let media_ns = b.cpu.thread_ns.saturating_sub(a.cpu.thread_ns);
    let process_ns = b.cpu.process_ns.saturating_sub(a.cpu.process_ns);
    let per_pkt_ns = media_ns as f64 / d.forwarded.max(1) as f64;
    let per_pkt_process_ns = process_ns as f64 / d.forwarded.max(1) as f64;
    // A sample may land in the middle of one packet's fan-out, so this is
    // exact to within ±viewers; the viewers' own counts below are exact.
    let server_lost = (d.released * viewers_in) as i64 - d.forwarded as i64;
    let tool_ns = b.tool.process_ns.saturating_sub(a.tool.process_ns);
    let switches = b.cpu.thread_switches.saturating_sub(a.cpu.thread_switches);

    // Viewers over the window: every index sent in it should have arrived.
    let window_sent = u64::from(idx_to.saturating_sub(a.index));
    let mut missing = 0u64;
    let mut worst_missing = 0u64;
    let mut dup = 0u64;
    let mut ooo = 0u64;
    let mut keyed_count = 0u64;
    let mut errors = Vec::new();
    let mut video_us = Histogram::<u64>::new_with_bounds(1, 1_200_000_000, 4).map_err(|e| e.to_string())?;
    let mut audio_us = video_us.clone();
    let mut sizes = Vec::new();
    let mut datagrams = 0u64;
    let mut viewer_send_errors = 0u64;
    let mut viewer_records = 0u64;
    let (mut sink_expected, mut sink_received, mut sinks, mut probes) = (0u64, 0u64, 0u64, 0u64);
    for s in &stats {
        let _ = video_us.add(&s.video_us);
        let _ = audio_us.add(&s.audio_us);
        if sizes.is_empty() {
            sizes = s.sizes.clone();
        }
        datagrams += s.datagrams;
        viewer_send_errors += s.send_errors;
        errors.extend(s.open_errors.iter().cloned());
        for v in &s.viewers {
            viewer_records += 1;
            if v.sink {
                let (x, r) = v.seq_counts();
                sink_expected += x;
                sink_received += r;
                sinks += 1;
                continue;
            }
            probes += 1;
            keyed_count += u64::from(v.first_keyframe);
            let got = v.count_in(a.index, idx_to);
            let m = window_sent.saturating_sub(got);
            missing += m;
            worst_missing = worst_missing.max(m);
            dup += v.duplicates;
            ooo += v.out_of_order;
        }
    }
    for e in errors.iter().take(5) {
        log(format!("viewer open error: {e}"));
    }

    // The floor: the same sizes at the same packet rate to as many sockets.
    let pps = window_sent as f64 / send_secs.max(0.001);
    let mut floors = Vec::new();
    if args.floor_secs > 0 {
        for mode in [Mode::SendTo, Mode::Sendmmsg] {
            let sz = sizes.clone();
            let nv = viewers_in.max(1) as usize;
            let secs = f64::from(args.floor_secs);
            let r = tokio::task::spawn_blocking(move || floor::measure(nv, &sz, pps, secs, mode))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("floor: {e}"))?;
            floors.push((mode, r));
        }
    }

    let mean_size = if sizes.is_empty() { 0.0 } else { sizes.iter().sum::<usize>() as f64 / sizes.len() as f64 };
    let dms = f64::from(args.delay) * 1000.0;
    let lat = |h: &Histogram<u64>| {
        json!({
            "count": h.len(),
            "min_ms": h.min() as f64 / 1000.0,
            "p50_ms": pct(h, 0.5),
            "p99_ms": pct(h, 0.99),
            "max_ms": h.max() as f64 / 1000.0,
            "error_vs_delay_ms": {
                "min": h.min() as f64 / 1000.0 - dms,
                "p50": pct(h, 0.5) - dms,
                "p99": pct(h, 0.99) - dms,
                "max": h.max() as f64 / 1000.0 - dms,
            },
        })
    };
    let floor_json: Vec<_> = floors
        .iter()
        .map(|(m, r)| {
            json!({
                "mode": m.name(),
                "datagrams": r.datagrams,
                "errors": r.errors,
                "received": r.received,
                "ns_per_datagram": r.ns_per_datagram(),
                "ratio_server_to_floor": per_pkt_ns / r.ns_per_datagram().max(0.001),
            })
        })
        .collect();
    let report = json!({
        "viewers_requested": n,
        "viewers_connected": viewers_in,
        "probes_keyed": keyed_count,
        "viewer_records": viewer_records,
        "viewers_open_seconds": open_secs,
        "delay_seconds": args.delay,
        "window_seconds": window_secs,
        "send_seconds": send_secs,
        "stream": {
            "packets_per_second": pps,
            "frames": pstats.frames,
            "keyframes": pstats.keyframes,
            "video_packets": pstats.video_packets,
            "audio_packets": pstats.audio_packets,
            "payload_bitrate_bps": pstats.bytes as f64 * 8.0 / pstats.sending_secs.max(1e-9),
            "keyframe_requests_seen": shared.publisher_keyframe_requests.load(Relaxed),
            "pacing_stalls": pstats.stalls,
            "mean_datagram_bytes": mean_size,
        },
        "server": {
            "packets_in": d.packets_in,
            "released": d.released,
            "forwarded": d.forwarded,
            "dropped_gate": d.dropped_gate,
            "send_errors": d.send_errors,
            "lost_inside": server_lost,
            "media_thread_cpu_s": media_ns as f64 / 1e9,
            "process_cpu_s": process_ns as f64 / 1e9,
            "media_thread_context_switches": switches,
            "media_thread_cores": media_ns as f64 / 1e9 / window_secs.max(1e-9),
            "ns_per_forwarded_packet_media_thread": per_pkt_ns,
            "ns_per_forwarded_packet_process": per_pkt_process_ns,
        },
        "tool_cpu_s": tool_ns as f64 / 1e9,
        "viewers": {
            "probes": probes,
            "sinks": sinks,
            "sink_datagrams_expected": sink_expected,
            "sink_datagrams_received": sink_received,
            "sink_missing": sink_expected.saturating_sub(sink_received),
            "window_packets_sent": window_sent,
            "missing_total": missing,
            "missing_worst_viewer": worst_missing,
            "duplicates": dup,
            "frames_out_of_order": ooo,
            "datagrams_received": datagrams,
            "send_errors": viewer_send_errors,
        },
        "latency_video": lat(&video_us),
        "latency_audio": lat(&audio_us),
        "floor": floor_json,
    });

    // The human report.
    log("==== report ====");
    log(format!(
        "{viewers_in}/{n} viewers, delay {} s, window {window_secs:.1} s, {pps:.0} packets/s from the publisher (mean datagram {mean_size:.0} B)",
        args.delay
    ));
    log(format!(
        "server: released {} → forwarded {} (×{viewers_in} = {}); lost inside {server_lost} (±{viewers_in}: samples may split a fan-out), send errors {}, gate drops {}",
        d.released,
        d.forwarded,
        d.released * viewers_in,
        d.send_errors,
        d.dropped_gate
    ));
    log(format!(
        "server CPU: media thread {:.3} s ({:.1}% of a core, {switches} context switches = {:.0}/s), process {:.3} s → {:.0} ns (media thread), {:.0} ns (process) per forwarded packet per viewer",
        media_ns as f64 / 1e9,
        media_ns as f64 / 1e7 / window_secs.max(1e-9),
        switches as f64 / window_secs.max(1e-9),
        process_ns as f64 / 1e9,
        per_pkt_ns,
        per_pkt_process_ns
    ));
    log(format!(
        "this tool: {:.3} s of CPU in the window ({:.1}% of a core)",
        tool_ns as f64 / 1e9,
        tool_ns as f64 / 1e7 / window_secs.max(1e-9)
    ));
    for (m, r) in &floors {
        log(format!(
            "floor {}: {:.0} ns per datagram ({} sent, {} errors, {} received) → server/floor {:.2}×",
            m.name(),
            r.ns_per_datagram(),
            r.datagrams,
            r.errors,
            r.received,
            per_pkt_ns / r.ns_per_datagram().max(0.001)
        ));
    }
    log(format!(
        "probe viewers ({probes}): {window_sent} packets sent in the window each; missing {missing} in all (worst viewer {worst_missing}), {dup} duplicates, {ooo} frames out of order"
    ));
    log(format!(
        "sink viewers ({sinks}): {sink_received} of {sink_expected} SRTP datagrams by sequence number over the whole run, missing {}",
        sink_expected.saturating_sub(sink_received)
    ));
    for (name, h) in [("video", &video_us), ("audio", &audio_us)] {
        log(format!(
            "{name} receive − send: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, min {:.1} ms (n={}); vs delay: p50 {:+.1} ms, p99 {:+.1} ms, max {:+.1} ms, min {:+.1} ms",
            pct(h, 0.5),
            pct(h, 0.99),
            h.max() as f64 / 1000.0,
            h.min() as f64 / 1000.0,
            h.len(),
            pct(h, 0.5) - dms,
            pct(h, 0.99) - dms,
            h.max() as f64 / 1000.0 - dms,
            h.min() as f64 / 1000.0 - dms,
        ));
    }
    if args.json {
        println!("{report}");
    }
    let clean = viewers_in == n as u64
        && server_lost <= viewers_in as i64
        && d.send_errors == 0
        && missing == 0
        && sink_expected == sink_received;
    Ok(clean)
}
