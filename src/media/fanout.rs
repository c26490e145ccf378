//! Fan-out of released media over several threads.
//!
//! The engine thread owns every peer. When a release batch is large (many
//! viewers, or a keyframe's burst of packets), it lends some viewers — moved
//! by value, boxed — to worker threads, writes its own share meanwhile, and
//! takes them back before it touches anything else. Each viewer is written
//! and drained (SRTP, send) by exactly one thread, in order, so a viewer's
//! stream is the same as with one thread; only the last viewer of a burst
//! is reached sooner. Workers send on a clone of the engine's socket.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;

use str0m::Event;

use super::peer::{Peer, Pkt};
use super::MediaCounters;

/// One released packet, as every viewer of its session gets it.
pub struct Release {
    /// Its release deadline: the time written into the viewer's stream.
    pub deadline: Instant,
    pub epoch: u32,
    pub pkt: Pkt,
    pub keyframe: bool,
}

/// Released packets by session, one batch of the engine's loop.
pub type Batch = HashMap<String, Vec<Release>>;

/// What writing a share of viewers produced.
#[derive(Default)]
pub struct Outcome {
    pub events: Vec<(u64, Event)>,
    pub forwarded: u64,
}

/// Write a batch to some viewers and drain them.
pub fn write(
    peers: &mut [Box<Peer>],
    batch: &Batch,
    now: Instant,
    socket: &std::net::UdpSocket,
    counters: &MediaCounters,
    out: &mut Outcome,
) {
    for p in peers.iter_mut() {
        if let Some(rels) = batch.get(&p.session) {
            for r in rels {
                if p.forward(r.deadline, r.epoch, &r.pkt, r.keyframe) {
                    out.forwarded += 1;
                }
            }
        }
        let id = p.id;
        let events = &mut out.events;
        p.drain(now, socket, counters, |e| events.push((id, e)));
    }
}

struct Job {
    peers: Vec<Box<Peer>>,
    batch: Arc<Batch>,
    now: Instant,
    reply: mpsc::Sender<(Vec<Box<Peer>>, Outcome)>,
}

/// Worker threads that write shares of a batch.
pub struct Pool {
    workers: Vec<mpsc::Sender<Job>>,
    /// Below this many packet writes a batch stays on the engine thread:
    /// the hand-off (~10 µs) would cost more than it saves.
    spread_from: usize,
    socket: Arc<std::net::UdpSocket>,
    counters: Arc<MediaCounters>,
}

impl Pool {
    /// `threads` counts the engine thread: 1 means no workers.
    pub fn new(
        threads: usize,
        spread_from: usize,
        socket: Arc<std::net::UdpSocket>,
        counters: Arc<MediaCounters>,
    ) -> Self {
        let mut workers = Vec::new();
        for i in 1..threads.max(1) {
            let (tx, rx) = mpsc::channel::<Job>();
            let (socket, counters) = (socket.clone(), counters.clone());
            // "orgallery-media" + suffix: the kernel keeps 15 bytes, so
            // every fan-out thread is counted as the media thread.
            let spawned = std::thread::Builder::new()
                .name(format!("orgallery-media-{i}"))
                .spawn(move || worker(rx, &socket, &counters));
            match spawned {
                Ok(_) => workers.push(tx),
                Err(e) => tracing::warn!(error = %e, "media fan-out thread not started; fewer threads"),
            }
        }
        Self { workers, spread_from, socket, counters }
    }

    pub fn socket(&self) -> &std::net::UdpSocket {
        &self.socket
    }

    /// Write `batch` to `viewers` and drain them, spread over the workers
    /// when it is worth it; every viewer is handed back in `viewers`.
    pub fn run(&self, viewers: &mut Vec<Box<Peer>>, batch: Batch, now: Instant) -> Outcome {
        let writes: usize = viewers.iter().map(|p| batch.get(&p.session).map_or(0, Vec::len)).sum();
        let mut out = Outcome::default();
        let shares = self.workers.len() + 1;
        if self.workers.is_empty() || writes < self.spread_from || viewers.len() < 2 {
            write(viewers, &batch, now, &self.socket, &self.counters, &mut out);
            return out;
        }
        let batch = Arc::new(batch);
        let (reply, replies) = mpsc::channel();
        let per = viewers.len().div_ceil(shares);
        let mut lent = 0;
        for w in &self.workers {
            if viewers.len() <= per {
                break;
            }
            let share = viewers.split_off(viewers.len() - per);
            let job = Job { peers: share, batch: batch.clone(), now, reply: reply.clone() };
            match w.send(job) {
                Ok(()) => lent += 1,
                // A worker that is gone: its share comes back to this thread.
                Err(mpsc::SendError(job)) => viewers.extend(job.peers),
            }
        }
        drop(reply);
        if lent > 0 {
            self.counters.batches_spread.fetch_add(1, Relaxed);
        }
        write(viewers, &batch, now, &self.socket, &self.counters, &mut out);
        for _ in 0..lent {
            match replies.recv() {
                Ok((peers, o)) => {
                    viewers.extend(peers);
                    out.events.extend(o.events);
                    out.forwarded += o.forwarded;
                }
                // A worker died with its share: the engine forgets those peers.
                Err(_) => break,
            }
        }
        out
    }
}

fn worker(rx: mpsc::Receiver<Job>, socket: &std::net::UdpSocket, counters: &MediaCounters) {
    while let Ok(mut job) = rx.recv() {
        let mut out = Outcome::default();
        write(&mut job.peers, &job.batch, job.now, socket, counters, &mut out);
        let _ = job.reply.send((job.peers, out));
    }
}

/// Default thread count: the cores, at most 4.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(4)
}

/// Keep the counter in one place.
pub fn count_forwarded(counters: &MediaCounters, n: u64) {
    if n > 0 {
        counters.packets_forwarded.fetch_add(n, Relaxed);
    }
}
