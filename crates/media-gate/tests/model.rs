//! Property tests of the DelayBuffer with an injected clock.
//!
//! Random operation sequences are applied to the buffer. Two checks run on
//! every step:
//!
//! * **Safety**, judged from what was pushed and what came out, whatever the
//!   byte bound: never released before its deadline nor while the curtain is
//!   down; nothing pushed before a dump or a curtain-down is released after
//!   it; releases in push order with non-decreasing deadlines; within an
//!   epoch nothing of the same kind is missing; the first video released in
//!   every epoch (so after every gap) is a keyframe start; bytes within the
//!   bound; the counters add up.
//! * **Exact agreement** with a naive reference model, for runs where the
//!   byte bound is never reached: the same answer to every push, the same
//!   releases at the same deadlines, the same epoch boundaries.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use orgallery_media_gate::buffer::VIDEO_IDLE;
use orgallery_media_gate::{DelayBuffer, Packet, Pushed, Release, TrackKind};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Push { kind: TrackKind, keyframe: bool, size: usize },
    Advance(u64),
    Poll,
    Curtain(bool),
    Dump,
    SetDelay(u64),
}

fn op(max_size: usize) -> impl Strategy<Value = Op> {
    let kind = prop_oneof![Just(TrackKind::Video), Just(TrackKind::Audio)];
    prop_oneof![
        12 => (kind, prop::bool::weighted(0.2), 1..max_size).prop_map(|(kind, keyframe, size)| Op::Push { kind, keyframe, size }),
        6 => prop_oneof![Just(0u64), 1u64..50, 0u64..3_000].prop_map(Op::Advance),
        5 => Just(Op::Poll),
        1 => any::<bool>().prop_map(Op::Curtain),
        1 => Just(Op::Dump),
        1 => prop_oneof![Just(0u64), 0u64..3_000].prop_map(Op::SetDelay),
    ]
}

/// What the test knows about a pushed packet.
#[derive(Debug, Clone, Copy)]
struct Sent {
    kind: TrackKind,
    keyframe: bool,
    captured: Instant,
    buffered: bool,
    /// Audio discarded for being larger than the bound: a loss the buffer
    /// does not hide (it looks like upstream loss).
    oversize_audio: bool,
}

/// Judge of the safety properties; knows nothing of the implementation.
struct Judge {
    now: Instant,
    curtain_down: bool,
    max_bytes: usize,
    /// Every delay ever in force or set; a deadline is `captured + one of these`
    /// (or later, never earlier than the smallest).
    min_delay: Duration,
    pushed: Vec<Sent>,
    /// Ids pushed before the latest dump or curtain-down are below this.
    barrier: u32,
    released: HashSet<u32>,
    last: Option<Release<u32>>,
    last_of_kind: HashMap<TrackKind, Release<u32>>,
}

impl Judge {
    fn check_release(&mut self, r: &Release<u32>) -> Result<(), TestCaseError> {
        let id = r.packet.data;
        let p = self.pushed[id as usize];
        prop_assert!(!self.curtain_down, "released while the curtain is down");
        prop_assert!(p.buffered, "released a packet the push discarded");
        prop_assert!(r.deadline <= self.now, "released before its deadline");
        prop_assert!(r.deadline >= p.captured + self.min_delay, "deadline earlier than any delay allows");
        prop_assert_eq!(r.captured, p.captured);
        prop_assert!(id >= self.barrier, "released across a dump or curtain");
        prop_assert!(self.released.insert(id), "released twice");
        if let Some(prev) = &self.last {
            prop_assert!(id > prev.packet.data, "out of push order");
            prop_assert!(r.deadline >= prev.deadline, "deadlines went back");
        }
        match self.last_of_kind.get(&p.kind) {
            Some(prev) if prev.epoch == r.epoch => {
                // Same epoch: nothing of this kind pushed in between is missing.
                let between = (prev.packet.data + 1)..id;
                let missing = between
                    .filter(|&i| self.pushed[i as usize].kind == p.kind && !self.pushed[i as usize].oversize_audio)
                    .count();
                prop_assert_eq!(missing, 0, "a hole inside one epoch");
            }
            _ => {
                if p.kind == TrackKind::Video {
                    prop_assert!(p.keyframe, "video resumed at a non-keyframe");
                }
            }
        }
        self.last = Some(r.clone());
        self.last_of_kind.insert(p.kind, r.clone());
        Ok(())
    }

    fn check_state(&self, b: &DelayBuffer<u32>) -> Result<(), TestCaseError> {
        prop_assert!(b.bytes() <= self.max_bytes);
        prop_assert_eq!(b.is_curtain_down(), self.curtain_down);
        if self.curtain_down {
            prop_assert_eq!(b.next_deadline(), None);
        }
        prop_assert_eq!(b.next_deadline().is_none(), self.curtain_down || b.is_empty());
        let s = b.stats();
        prop_assert_eq!(s.pushed, self.pushed.len() as u64);
        prop_assert_eq!(s.pushed, s.buffered + s.discarded());
        prop_assert_eq!(s.buffered, s.released + s.dropped() + b.len() as u64);
        prop_assert_eq!(s.released, self.released.len() as u64);
        Ok(())
    }
}

/// A naive reference model of the buffer when the byte bound is never hit.
struct Model {
    delay: Duration,
    pending: Option<Duration>,
    curtain_down: bool,
    need_keyframe: bool,
    last_video: Option<Instant>,
    /// (id, kind, deadline, run): `run` numbers the continuity runs.
    queue: Vec<(u32, TrackKind, Instant, u64)>,
    run: u64,
    last_deadline: Option<Instant>,
    /// model run → buffer epoch, learned on first release, then enforced.
    epochs: HashMap<u64, u32>,
}

impl Model {
    fn gap(&mut self) {
        self.run += 1;
        self.need_keyframe = true;
    }

    fn push(&mut self, now: Instant, id: u32, kind: TrackKind, keyframe: bool) -> Pushed {
        if self.curtain_down {
            return Pushed::DiscardedCurtain;
        }
        let video = kind == TrackKind::Video;
        let key = video && keyframe;
        let idle = match self.last_video {
            None => true,
            Some(t) => now.saturating_duration_since(t) >= VIDEO_IDLE,
        };
        if video {
            self.last_video = Some(now);
        }
        if video && !key && self.need_keyframe {
            return Pushed::DiscardedAwaitingKeyframe;
        }
        let mut new_run = false;
        if let Some(d) = self.pending.filter(|_| key || (!video && idle)) {
            self.delay = d;
            self.pending = None;
            let deadline = now + d;
            let before = self.queue.len();
            let cut_video = self.queue.iter().any(|e| e.2 > deadline && e.1 == TrackKind::Video);
            self.queue.retain(|e| e.2 <= deadline);
            if self.queue.len() != before {
                new_run = true;
                self.need_keyframe |= cut_video;
            }
        }
        if key && self.need_keyframe {
            self.need_keyframe = false;
            new_run = true;
        }
        if new_run {
            self.run += 1;
            if !key {
                self.need_keyframe = true;
            }
        }
        let floor = self.queue.last().map(|e| e.2).or(self.last_deadline);
        let deadline = floor.map_or(now + self.delay, |f| f.max(now + self.delay));
        self.queue.push((id, kind, deadline, self.run));
        Pushed::Buffered
    }

    fn poll(&mut self, now: Instant) -> Option<(u32, Instant, u64)> {
        if self.curtain_down || self.queue.first()?.2 > now {
            return None;
        }
        let (id, _, deadline, run) = self.queue.remove(0);
        self.last_deadline = Some(deadline);
        Some((id, deadline, run))
    }
}

fn run(delay_ms: u64, max_bytes: usize, exact: bool, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let base = Instant::now();
    let delay = Duration::from_millis(delay_ms);
    let mut b: DelayBuffer<u32> = DelayBuffer::new(delay, max_bytes);
    let mut judge = Judge {
        now: base,
        curtain_down: false,
        max_bytes,
        min_delay: delay,
        pushed: Vec::new(),
        barrier: 0,
        released: HashSet::new(),
        last: None,
        last_of_kind: HashMap::new(),
    };
    let mut m = Model {
        delay,
        pending: None,
        curtain_down: false,
        need_keyframe: true,
        last_video: None,
        queue: Vec::new(),
        run: 0,
        last_deadline: None,
        epochs: HashMap::new(),
    };
    let poll = |b: &mut DelayBuffer<u32>, judge: &mut Judge, m: &mut Model| -> Result<(), TestCaseError> {
        while let Some(r) = b.poll(judge.now) {
            judge.check_release(&r)?;
            if exact {
                let expected = m.poll(judge.now);
                prop_assert_eq!(expected.map(|e| (e.0, e.1)), Some((r.packet.data, r.deadline)));
                let run = expected.map_or(0, |e| e.2);
                // Runs and epochs must correspond one to one.
                let epoch = *m.epochs.entry(run).or_insert(r.epoch);
                prop_assert_eq!(epoch, r.epoch, "epoch boundaries differ from the model");
                prop_assert_eq!(m.epochs.values().filter(|&&e| e == r.epoch).count(), 1);
            }
        }
        if exact {
            prop_assert_eq!(m.poll(judge.now), None);
        }
        Ok(())
    };

    for op in ops {
        match op {
            Op::Push { kind, keyframe, size } => {
                let id = judge.pushed.len() as u32;
                let res = b.push(judge.now, Packet { kind, keyframe, size, data: id });
                if exact {
                    prop_assert_eq!(res, m.push(judge.now, id, kind, keyframe));
                }
                judge.pushed.push(Sent {
                    kind,
                    keyframe,
                    captured: judge.now,
                    buffered: res == Pushed::Buffered,
                    oversize_audio: kind == TrackKind::Audio && size > max_bytes,
                });
            }
            Op::Advance(ms) => judge.now += Duration::from_millis(ms),
            Op::Poll => poll(&mut b, &mut judge, &mut m)?,
            Op::Curtain(down) => {
                b.set_curtain(judge.now, down);
                if down && !judge.curtain_down {
                    judge.barrier = judge.pushed.len() as u32;
                }
                if down != m.curtain_down {
                    m.curtain_down = down;
                    if down {
                        m.queue.clear();
                    }
                    m.gap();
                }
                judge.curtain_down = down;
            }
            Op::Dump => {
                let n = b.dump(judge.now);
                judge.barrier = judge.pushed.len() as u32;
                if exact {
                    prop_assert_eq!(n, m.queue.len());
                }
                m.queue.clear();
                m.gap();
            }
            Op::SetDelay(ms) => {
                let d = Duration::from_millis(ms);
                b.set_delay(d);
                judge.min_delay = judge.min_delay.min(d);
                m.pending = if d == m.delay { None } else { Some(d) };
            }
        }
        if exact {
            prop_assert_eq!(b.len(), m.queue.len());
            prop_assert_eq!(b.delay(), m.delay);
            prop_assert_eq!(b.pending_delay(), m.pending);
            prop_assert_eq!(b.next_deadline(), if m.curtain_down { None } else { m.queue.first().map(|e| e.2) });
        }
        judge.check_state(&b)?;
    }
    // Drain: curtain up, far future; everything still buffered comes out, safely.
    b.set_curtain(judge.now, false);
    judge.curtain_down = false;
    judge.now += Duration::from_secs(3_600);
    let before = b.len();
    let mut drained = 0;
    while let Some(r) = b.poll(judge.now) {
        judge.check_release(&r)?;
        drained += 1;
    }
    prop_assert_eq!(drained, before);
    judge.check_state(&b)?;
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// A roomy bound: the buffer must agree exactly with the model.
    #[test]
    fn buffer_matches_model(delay_ms in prop_oneof![Just(0u64), 0u64..3_000], ops in prop::collection::vec(op(1_500), 0..150)) {
        run(delay_ms, usize::MAX / 2, true, ops)?;
    }

    /// A tight bound (often hit, sometimes below one packet): safety only.
    #[test]
    fn buffer_is_safe_under_overflow(
        delay_ms in prop_oneof![Just(0u64), 0u64..3_000],
        max_bytes in prop_oneof![Just(0usize), 1usize..3_000, 3_000usize..20_000],
        ops in prop::collection::vec(op(1_500), 0..200),
    ) {
        run(delay_ms, max_bytes, false, ops)?;
    }
}
