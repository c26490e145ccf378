//! One WebSocket viewer: connect (bounded concurrency, retries), read frames,
//! track seqs and latency, resume after 4008, close when told.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use tokio::sync::{watch, Semaphore};

use crate::frame::{classify, Frame};
use crate::track::SeqTracker;
use crate::ws::{self, Conn, ConnectError, Msg};

/// Reconnects a viewer may make in one run (4008 resumes and drops together).
const MAX_RECONNECTS: u32 = 50;
/// Latency samples kept locally before they go into the shared histogram.
const BATCH: usize = 256;

/// What all viewers share.
pub struct Shared {
    /// ws://host:port/api/sessions/{id}/live, one per node the viewers are
    /// spread over (round-robin by viewer index).
    pub live_urls: Vec<String>,
    /// The viewers' current access token: renewed by the coordinator while
    /// the run lasts, handed to open sockets as an auth frame and used by
    /// every reconnect (a browser does the same; sockets otherwise close
    /// with 4001 when their token expires).
    pub token: watch::Receiver<String>,
    pub connect_gate: Semaphore,
    pub connect_retries: u32,
    pub seq_cap: u64,
    /// Release-to-receipt latency, microseconds.
    pub latency: Mutex<Histogram<u64>>,
    /// The same, per entry of `live_urls`.
    pub latency_by_url: Vec<Mutex<Histogram<u64>>>,
    /// Viewers whose first connect finished (ok or given up).
    pub settled: AtomicUsize,
    pub connected: AtomicUsize,
    /// Update frames received, all viewers (including duplicates).
    pub update_frames: AtomicU64,
    /// Distinct seqs received, all viewers: the tail wait watches this.
    pub unique_updates: AtomicU64,
    /// Largest `viewers` any state frame announced.
    pub max_viewers_announced: AtomicU64,
    /// Per seq (index = seq, up to `seq_cap`): when it was released and when
    /// the first and the last viewer got it, Unix ns. Splits latency into
    /// "first copy" (store + first write + read) and the fan-out spread.
    pub per_seq: Vec<SeqTimes>,
}

pub struct SeqTimes {
    pub released: AtomicI64,
    pub first: AtomicI64,
    pub last: AtomicI64,
}

impl SeqTimes {
    pub fn new() -> Self {
        Self { released: AtomicI64::new(0), first: AtomicI64::new(i64::MAX), last: AtomicI64::new(i64::MIN) }
    }
}

impl Shared {
    fn flush(&self, batch: &mut Vec<u64>, group: usize) {
        if batch.is_empty() {
            return;
        }
        for h in [Some(&self.latency), self.latency_by_url.get(group)].into_iter().flatten() {
            if let Ok(mut h) = h.lock() {
                for &v in batch.iter() {
                    h.saturating_record(v);
                }
            }
        }
        batch.clear();
    }
}

/// One viewer's account of the run.
#[derive(Debug, Default, Clone)]
pub struct ViewerStats {
    pub connected: bool,
    pub connect_attempts: u32,
    pub connect_error: Option<String>,
    pub tracker: Option<SeqTracker>,
    pub update_frames: u64,
    pub state_frames: u64,
    pub other_frames: u64,
    pub malformed_frames: u64,
    pub bad_timestamps: u64,
    pub negative_latency: u64,
    pub closes_4008: u64,
    /// Renewed tokens handed to the open socket (`{"type":"auth"}` frames).
    pub renewals: u64,
    pub resumes_ok: u64,
    pub closes_1001: u64,
    pub closes_4003: u64,
    pub closes_4001: u64,
    pub closes_1000: u64,
    pub closes_other: u64,
    pub drops: u64,
    pub reconnects_other: u64,
    pub reconnect_failures: u64,
}

/// A failed connect: its description, and whether trying again makes sense.
fn connect_error(e: &ConnectError) -> (String, bool) {
    let retry = !matches!(e, ConnectError::Status(400 | 401 | 403 | 404));
    (e.to_string(), retry)
}

async fn connect_once(shared: &Shared, live_url: &str, after: u64) -> Result<Conn, ConnectError> {
    let url = format!("{live_url}?after={after}");
    let auth = format!("Bearer {}", *shared.token.borrow());
    tokio::time::timeout(Duration::from_secs(15), ws::connect(&url, &auth))
        .await
        .map_err(|_| ConnectError::Io(std::io::ErrorKind::TimedOut.into()))?
}

async fn connect(
    shared: &Shared,
    live_url: &str,
    after: u64,
    stats: &mut ViewerStats,
    gate: bool,
) -> Result<Conn, String> {
    let mut last = String::new();
    for attempt in 0..=shared.connect_retries {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt.min(20)))).await;
        }
        stats.connect_attempts += 1;
        let permit = if gate { shared.connect_gate.acquire().await.ok() } else { None };
        let r = connect_once(shared, live_url, after).await;
        drop(permit);
        match r {
            Ok(ws) => return Ok(ws),
            Err(e) => {
                let (msg, retry) = connect_error(&e);
                last = msg;
                if !retry {
                    break;
                }
            }
        }
    }
    Err(last)
}

fn now_ns() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

enum Next {
    /// Reconnect with after=last seq; `resume` is true for a 4008.
    Reconnect {
        resume: bool,
    },
    Done,
}

/// One viewer, on `shared.live_urls[group]`.
pub async fn run(shared: Arc<Shared>, stop: watch::Receiver<bool>, group: usize) -> ViewerStats {
    let mut stats = ViewerStats::default();
    let live_url = shared.live_urls.get(group).or(shared.live_urls.first()).cloned().unwrap_or_default();
    let first = connect(&shared, &live_url, 0, &mut stats, true).await;
    shared.settled.fetch_add(1, Relaxed);
    let mut ws = match first {
        Ok(ws) => ws,
        Err(e) => {
            stats.connect_error = Some(e);
            return stats;
        }
    };
    stats.connected = true;
    shared.connected.fetch_add(1, Relaxed);
    let mut tracker = SeqTracker::new(shared.seq_cap);
    let mut batch = Vec::with_capacity(BATCH);
    let mut reconnects = 0u32;
    // One stop future for the viewer's whole life (re-creating it for every
    // frame cost the tool as much as reading the frame).
    let mut stop_watch = stop.clone();
    let stopped = stop_watch.changed();
    tokio::pin!(stopped);
    let mut token = shared.token.clone();

    'outer: loop {
        let next = loop {
            let msg = tokio::select! {
                // Frames first: the stop future is only polled when the socket has nothing.
                biased;
                m = ws.next() => m,
                Ok(()) = token.changed() => {
                    let frame = serde_json::json!({"type": "auth", "token": *token.borrow_and_update()}).to_string();
                    if ws.send_text(&frame).await.is_err() {
                        stats.drops += 1;
                        break Next::Reconnect { resume: false };
                    }
                    stats.renewals += 1;
                    continue;
                }
                r = &mut stopped => {
                    // Stop (or the coordinator is gone): close cleanly, bounded.
                    let _ = r;
                    let _ = tokio::time::timeout(Duration::from_secs(3), async {
                        let _ = ws.send_close().await;
                        while let Ok(Some(m)) = ws.next().await {
                            if matches!(m, Msg::Close(_)) {
                                break;
                            }
                        }
                    })
                    .await;
                    break Next::Done;
                }
            };
            match msg {
                Ok(Some(Msg::Text(t))) => match classify(t) {
                    Frame::Update { seq, released_at_ns } => {
                        stats.update_frames += 1;
                        shared.update_frames.fetch_add(1, Relaxed);
                        let before = tracker.unique();
                        tracker.record(seq);
                        if tracker.unique() > before {
                            shared.unique_updates.fetch_add(1, Relaxed);
                        }
                        match released_at_ns {
                            Some(rel) => {
                                let now = now_ns();
                                if let Some(t) = shared.per_seq.get(seq as usize) {
                                    t.released.store(rel, Relaxed);
                                    t.first.fetch_min(now, Relaxed);
                                    t.last.fetch_max(now, Relaxed);
                                }
                                let lat = now - rel;
                                if lat < 0 {
                                    stats.negative_latency += 1;
                                }
                                batch.push((lat.max(0) / 1000) as u64);
                                if batch.len() >= BATCH {
                                    shared.flush(&mut batch, group);
                                }
                            }
                            None => stats.bad_timestamps += 1,
                        }
                    }
                    Frame::State { viewers } => {
                        stats.state_frames += 1;
                        if let Some(v) = viewers {
                            shared.max_viewers_announced.fetch_max(v, Relaxed);
                        }
                    }
                    Frame::Other => stats.other_frames += 1,
                    Frame::Malformed => stats.malformed_frames += 1,
                },
                Ok(Some(Msg::Close(code))) => match code {
                    Some(4008) => {
                        stats.closes_4008 += 1;
                        break Next::Reconnect { resume: true };
                    }
                    Some(1001) => {
                        stats.closes_1001 += 1;
                        break Next::Done;
                    }
                    Some(4003) => {
                        stats.closes_4003 += 1;
                        break Next::Done;
                    }
                    Some(4001) => {
                        stats.closes_4001 += 1;
                        break Next::Done;
                    }
                    Some(1000) => {
                        stats.closes_1000 += 1;
                        break Next::Done;
                    }
                    _ => {
                        stats.closes_other += 1;
                        break Next::Reconnect { resume: false };
                    }
                },
                Ok(Some(Msg::Other | Msg::Pong(_))) => {} // binary, ping, pong
                Err(_) | Ok(None) => {
                    stats.drops += 1;
                    break Next::Reconnect { resume: false };
                }
            }
        };
        match next {
            Next::Done => break 'outer,
            Next::Reconnect { resume } => {
                if *stop.borrow() || reconnects >= MAX_RECONNECTS {
                    break 'outer;
                }
                reconnects += 1;
                if !resume {
                    stats.reconnects_other += 1;
                }
                match connect(&shared, &live_url, tracker.last_seq(), &mut stats, false).await {
                    Ok(w) => {
                        if resume {
                            stats.resumes_ok += 1;
                        }
                        ws = w;
                    }
                    Err(_) => {
                        stats.reconnect_failures += 1;
                        break 'outer;
                    }
                }
            }
        }
    }
    shared.flush(&mut batch, group);
    stats.tracker = Some(tracker);
    stats
}
