//! Viewer threads: each runs a current-thread runtime with one task per
//! viewer (its own socket and `Rtc`), and keeps the thread's statistics.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use str0m::Event;

use super::peer::{Client, Role};
use super::stream::{read_tag, read_vp8};
use super::Shared;

/// Packet indices at most (a bitmap per viewer): about 20 minutes of stream.
const MAX_INDEX: u32 = 1 << 18;
/// Datagram sizes kept from the first viewer of a thread, for the floor.
const SIZES_KEPT: usize = 4000;

pub struct ThreadConfig {
    pub base: String,
    pub session: String,
    pub token: String,
    pub viewers: usize,
    /// The first this many viewers of the thread decrypt and time every packet; the rest are sinks.
    pub probes: usize,
    pub open_concurrency: usize,
    pub recv_buffer: usize,
    pub limit: Duration,
}

/// One viewer's record.
pub struct ViewerRecord {
    /// Bitmap of packet indices received.
    pub seen: Vec<u64>,
    pub packets: u64,
    pub duplicates: u64,
    pub video_frames: u64,
    pub first_keyframe: bool,
    /// Frames that started with a PictureID lower than the previous one.
    pub out_of_order: u64,
    last_pid: Option<u16>,
    /// A sink viewer (not a probe): its RTP is counted by sequence number
    /// from the clear SRTP header and never decrypted.
    pub sink: bool,
    /// Per SSRC: (ssrc, first extended seq, last extended seq, datagrams).
    pub seqs: Vec<(u32, u64, u64, u64)>,
}

impl ViewerRecord {
    fn new() -> Self {
        Self {
            seen: Vec::new(),
            packets: 0,
            duplicates: 0,
            video_frames: 0,
            first_keyframe: false,
            out_of_order: 0,
            last_pid: None,
            sink: false,
            seqs: Vec::new(),
        }
    }

    fn mark(&mut self, index: u32) -> bool {
        if index >= MAX_INDEX {
            return false;
        }
        let (w, b) = ((index / 64) as usize, index % 64);
        if self.seen.len() <= w {
            self.seen.resize(w + 1, 0);
        }
        let fresh = self.seen[w] & (1 << b) == 0;
        self.seen[w] |= 1 << b;
        fresh
    }

    /// A sink's SRTP datagram, from its clear header.
    fn count_seq(&mut self, ssrc: u32, seq: u16) -> bool {
        let first = self.seqs.is_empty();
        let e = match self.seqs.iter_mut().find(|e| e.0 == ssrc) {
            Some(e) => e,
            None => {
                self.seqs.push((ssrc, u64::from(seq) + (1 << 16), u64::from(seq) + (1 << 16), 0));
                let n = self.seqs.len() - 1;
                &mut self.seqs[n]
            }
        };
        // Extend to 64 bits around the last one (forward or a little back).
        let last = e.2;
        let cand = (last & !0xffff) | u64::from(seq);
        let ext = if cand + 0x8000 < last {
            cand + (1 << 16)
        } else if cand > last + 0x8000 && cand >= 1 << 16 {
            cand - (1 << 16)
        } else {
            cand
        };
        e.1 = e.1.min(ext);
        e.2 = e.2.max(ext);
        e.3 += 1;
        first
    }

    /// A sink's (expected, received) datagrams from its sequence numbers.
    pub fn seq_counts(&self) -> (u64, u64) {
        self.seqs.iter().fold((0, 0), |(x, r), e| (x + e.2 - e.1 + 1, r + e.3))
    }

    /// Indices in `from..to` received.
    pub fn count_in(&self, from: u32, to: u32) -> u64 {
        (from..to.min(MAX_INDEX))
            .filter(|i| self.seen.get((*i / 64) as usize).is_some_and(|w| w & (1 << (i % 64)) != 0))
            .count() as u64
    }
}

/// What a thread hands back.
pub struct ThreadStats {
    /// Receive − send, microseconds, video and audio packets.
    pub video_us: Histogram<u64>,
    pub audio_us: Histogram<u64>,
    pub viewers: Vec<ViewerRecord>,
    pub sizes: Vec<usize>,
    pub datagrams: u64,
    pub send_errors: u64,
    pub open_errors: Vec<String>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 20 minutes, 4 significant figures (0.2 ms at a 2 s delay).
    Histogram::new_with_bounds(1, 1_200_000_000, 4).expect("constant, valid bounds")
}

struct Local {
    video_us: Histogram<u64>,
    audio_us: Histogram<u64>,
    sizes: Vec<usize>,
    datagrams: u64,
}

/// One viewer's state beside its client: what its events update.
struct View {
    rec: ViewerRecord,
    shared: Arc<Shared>,
    local: Rc<RefCell<Local>>,
    keep_sizes: bool,
    connected: bool,
    vp8: Option<str0m::media::Pt>,
    opus: Option<str0m::media::Pt>,
    timeout: Option<Instant>,
}

impl View {
    fn event(&mut self, e: Event) {
        match e {
            Event::Connected if !self.connected => {
                self.connected = true;
                self.shared.viewers_connected.fetch_add(1, Relaxed);
            }
            Event::RtpPacket(p) => self.packet(&p),
            _ => {}
        }
    }

    fn packet(&mut self, p: &str0m::rtp::RtpPacket) {
        let Some((index, sent_ns)) = read_tag(&p.payload) else { return };
        let rec = &mut self.rec;
        if !rec.mark(index) {
            rec.duplicates += 1;
            return;
        }
        rec.packets += 1;
        let us = self.shared.ns(p.timestamp).saturating_sub(sent_ns) / 1000;
        let timed = index >= self.shared.window_from.load(Relaxed);
        let mut l = self.local.borrow_mut();
        if Some(p.header.payload_type) == self.vp8 {
            if timed {
                let _ = l.video_us.record(us.max(1));
            }
            if let Some((true, pid, keyframe)) = read_vp8(&p.payload) {
                rec.video_frames += 1;
                if let (Some(last), Some(pid)) = (rec.last_pid, pid) {
                    // Older by the 15-bit wrap-around distance.
                    if pid.wrapping_sub(last) & 0x7fff > 0x4000 {
                        rec.out_of_order += 1;
                    }
                }
                rec.last_pid = pid;
                if keyframe && !rec.first_keyframe {
                    rec.first_keyframe = true;
                    self.shared.viewers_keyed.fetch_add(1, Relaxed);
                }
            }
        } else if timed && Some(p.header.payload_type) == self.opus {
            let _ = l.audio_us.record(us.max(1));
        }
    }

    /// One datagram in; str0m is polled after each (in RTP mode it holds
    /// one received packet at a time). Returns str0m's next timeout.
    fn datagram(&mut self, c: &mut Client, now: Instant, src: std::net::SocketAddr, data: &[u8]) -> Option<Instant> {
        {
            let mut l = self.local.borrow_mut();
            l.datagrams += 1;
            if self.keep_sizes && l.sizes.len() < SIZES_KEPT && data.first().is_some_and(|b| (128..192).contains(b)) {
                l.sizes.push(data.len());
            }
        }
        if self.rec.sink && data.len() >= 12 && data[0] & 0xc0 == 0x80 && !(72..=79).contains(&(data[1] & 0x7f)) {
            // SRTP (not SRTCP): count it by its clear header, skip the decryption.
            let seq = u16::from_be_bytes([data[2], data[3]]);
            let ssrc = u32::from_be_bytes([data[8], data[9], data[10], data[11]]);
            if self.rec.count_seq(ssrc, seq) {
                self.shared.viewers_keyed.fetch_add(1, Relaxed);
            }
            return self.timeout;
        }
        c.input(now, src, data);
        self.timeout = c.pump(|_, e| self.event(e));
        self.timeout
    }
}

async fn run_one(
    mut c: Client,
    shared: Arc<Shared>,
    local: Rc<RefCell<Local>>,
    keep_sizes: bool,
    sink: bool,
    deadline: Instant,
) -> (ViewerRecord, u64) {
    let (vp8, opus) = (c.vp8_pt, c.opus_pt);
    let mut rec = ViewerRecord::new();
    rec.sink = sink;
    let mut v = View { rec, shared: shared.clone(), local, keep_sizes, connected: false, vp8, opus, timeout: None };
    let mut buf = vec![0u8; 2048];
    let mut timeout = c.pump(|_, e| v.event(e));
    while let Some(t) = timeout {
        if shared.stop.load(Relaxed) || Instant::now() >= deadline {
            break;
        }
        let wake = t.min(Instant::now() + Duration::from_millis(100));
        tokio::select! {
            r = c.socket.recv_from(&mut buf) => {
                if let Ok((n, src)) = r {
                    timeout = v.datagram(&mut c, Instant::now(), src, &buf[..n]);
                    // What else is queued, before waiting again.
                    for _ in 0..32 {
                        if timeout.is_none() {
                            break;
                        }
                        match c.socket.try_recv_from(&mut buf) {
                            Ok((n, src)) => timeout = v.datagram(&mut c, Instant::now(), src, &buf[..n]),
                            Err(_) => break,
                        }
                    }
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {}
        }
        let now = Instant::now();
        if timeout.is_some_and(|t| now >= t) {
            c.tick(now);
        }
        if timeout.is_some() {
            timeout = c.pump(|_, e| v.event(e));
            v.timeout = timeout;
        }
    }
    c.rtc.disconnect();
    let _ = c.pump(|_, _| {});
    (v.rec, c.send_errors)
}

/// Open `cfg.viewers` viewers and run them until `shared.stop` (or the limit).
pub fn thread_main(cfg: ThreadConfig, shared: Arc<Shared>, first: bool) -> ThreadStats {
    let mut out = ThreadStats {
        video_us: histogram(),
        audio_us: histogram(),
        viewers: Vec::new(),
        sizes: Vec::new(),
        datagrams: 0,
        send_errors: 0,
        open_errors: Vec::new(),
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            out.open_errors.push(format!("runtime: {e}"));
            return out;
        }
    };
    let local =
        Rc::new(RefCell::new(Local { video_us: histogram(), audio_us: histogram(), sizes: Vec::new(), datagrams: 0 }));
    let deadline = Instant::now() + cfg.limit;
    let set = tokio::task::LocalSet::new();
    let results = set.block_on(&rt, async {
        let http = match reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build() {
            Ok(h) => h,
            Err(e) => return (Vec::new(), vec![format!("http client: {e}")]),
        };
        let mut tasks = Vec::with_capacity(cfg.viewers);
        let mut errors = Vec::new();
        let mut opening = tokio::task::JoinSet::new();
        let mut next = 0;
        while next < cfg.viewers || !opening.is_empty() {
            if shared.stop.load(Relaxed) || Instant::now() >= deadline {
                break;
            }
            while next < cfg.viewers && opening.len() < cfg.open_concurrency {
                let (http, base, session, token) =
                    (http.clone(), cfg.base.clone(), cfg.session.clone(), cfg.token.clone());
                let rb = cfg.recv_buffer;
                let i = next;
                opening.spawn_local(async move {
                    (i, Client::open(&http, &base, &session, &token, Role::Viewer, rb).await)
                });
                next += 1;
            }
            match opening.join_next().await {
                Some(Ok((i, Ok(c)))) => {
                    shared.viewers_opened.fetch_add(1, Relaxed);
                    let keep = first && i == 0;
                    let sink = i >= cfg.probes;
                    tasks.push(tokio::task::spawn_local(run_one(
                        c,
                        shared.clone(),
                        local.clone(),
                        keep,
                        sink,
                        deadline,
                    )));
                }
                Some(Ok((_, Err(e)))) => {
                    shared.viewers_failed.fetch_add(1, Relaxed);
                    if errors.len() < 5 {
                        errors.push(e.to_string());
                    }
                }
                Some(Err(e)) => {
                    shared.viewers_failed.fetch_add(1, Relaxed);
                    errors.push(e.to_string());
                }
                None => break,
            }
        }
        let mut recs = Vec::with_capacity(tasks.len());
        for t in tasks {
            if let Ok(r) = t.await {
                recs.push(r);
            }
        }
        (recs, errors)
    });
    let (recs, errors) = results;
    out.open_errors = errors;
    for (rec, errs) in recs {
        out.send_errors += errs;
        out.viewers.push(rec);
    }
    let l = local.borrow();
    out.video_us = l.video_us.clone();
    out.audio_us = l.audio_us.clone();
    out.sizes = l.sizes.clone();
    out.datagrams = l.datagrams;
    out
}
