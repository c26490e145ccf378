//! State-machine property test: random operation sequences are applied to the
//! gate and to a naive reference model; safety invariants are checked on every
//! output, and the gate must agree exactly with the model after every step.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use orgallery_gate::{DropReason, Dropped, Gate, GateError, Policy, Released};
use proptest::prelude::*;

/// Ids come from a small pool so duplicates, unknown ids and re-publishing
/// forgotten ids all happen.
type Id = u8;
/// (incarnation = unique publish serial, edit version)
type Payload = (u64, u32);

#[derive(Debug, Clone)]
enum Op {
    Publish { id: Id, flagged: bool },
    Approve(Id),
    Retract(Id),
    Edit { id: Id, flagged: bool },
    Curtain(bool),
    Dump,
    End,
    AdvanceAndPoll(u64),
    SetDelay(u64),
    SetPolicy(Policy),
}

fn id() -> impl Strategy<Value = Id> {
    0u8..16
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (id(), any::<bool>()).prop_map(|(id, flagged)| Op::Publish { id, flagged }),
        3 => id().prop_map(Op::Approve),
        2 => id().prop_map(Op::Retract),
        2 => (id(), any::<bool>()).prop_map(|(id, flagged)| Op::Edit { id, flagged }),
        2 => any::<bool>().prop_map(Op::Curtain),
        1 => Just(Op::Dump),
        1 => Just(Op::End),
        8 => prop_oneof![Just(0u64), 0u64..4_000].prop_map(Op::AdvanceAndPoll),
        1 => prop_oneof![Just(0u64), 0u64..3_000].prop_map(Op::SetDelay),
        1 => prop_oneof![Just(Policy::Mask), Just(Policy::Hold)].prop_map(Op::SetPolicy),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Released,
    Dropped,
}

#[derive(Debug, Clone)]
struct MItem {
    inc: u64,
    version: u32,
    release_at: Instant,
    order: u64,
    flagged: bool,
    approved: bool,
}

struct Model {
    now: Instant,
    delay: Duration,
    policy: Policy,
    curtain_down: bool,
    ended: bool,
    next_seq: u64,
    order: u64,
    held: HashMap<Id, MItem>,
    /// id → (kind, position in the global outcome sequence)
    finished: HashMap<Id, (Kind, u64)>,
    outcome_count: u64,
    cap: u64,
    next_inc: u64,
    released_incs: HashSet<u64>,
    dropped_incs: HashSet<u64>,
}

impl Model {
    fn finish(&mut self, id: Id, kind: Kind) {
        self.finished.insert(id, (kind, self.outcome_count));
        self.outcome_count += 1;
    }

    /// The error the gate must give for an id that is not held.
    fn not_held_error(&self, id: Id) -> GateError {
        if self.ended {
            return GateError::Ended;
        }
        match self.finished.get(&id) {
            Some((kind, pos)) if self.outcome_count - pos <= self.cap => match kind {
                Kind::Released => GateError::AlreadyReleased,
                Kind::Dropped => GateError::AlreadyDropped,
            },
            _ => GateError::Unknown,
        }
    }

    fn held_error(&self, id: Id) -> Option<GateError> {
        if self.ended {
            Some(GateError::Ended)
        } else if self.held.contains_key(&id) {
            None
        } else {
            Some(self.not_held_error(id))
        }
    }

    fn blocked_by_hold(&self, it: &MItem) -> bool {
        self.policy == Policy::Hold && it.flagged && !it.approved
    }

    fn sorted_held(&self) -> Vec<(Id, &MItem)> {
        let mut v: Vec<_> = self.held.iter().map(|(id, it)| (*id, it)).collect();
        v.sort_by_key(|(_, it)| (it.release_at, it.order));
        v
    }

    /// Account for dropped items: safety checks + bookkeeping.
    fn apply_drops(&mut self, dropped: &[Dropped<Id, Payload>], reason: DropReason) -> Result<(), TestCaseError> {
        let expected: Vec<Id> = self.sorted_held().into_iter().map(|(id, _)| id).collect();
        let got: Vec<Id> = dropped.iter().map(|d| d.id).collect();
        prop_assert_eq!(got, expected);
        for d in dropped {
            prop_assert_eq!(d.reason, reason);
            let it = self.held.remove(&d.id).expect("checked above");
            prop_assert_eq!(d.payload, (it.inc, it.version));
            prop_assert!(!self.released_incs.contains(&it.inc));
            prop_assert!(self.dropped_incs.insert(it.inc));
            self.finish(d.id, Kind::Dropped);
        }
        Ok(())
    }

    fn check_releases(&mut self, out: &[Released<Id, Payload>]) -> Result<(), TestCaseError> {
        // Safety invariants, checked on the gate's output alone.
        if self.ended || self.curtain_down {
            prop_assert!(out.is_empty(), "released while curtain down / ended");
        }
        for r in out {
            prop_assert_eq!(r.seq, self.next_seq, "seq must be gap-free and increasing");
            self.next_seq += 1;
            prop_assert_eq!(r.released_at, self.now);
            let it = self.held.get(&r.id);
            prop_assert!(it.is_some(), "released an id that is not held: {:?}", r.id);
            let it = it.expect("checked").clone();
            prop_assert_eq!(r.payload, (it.inc, it.version), "stale payload");
            prop_assert!(!self.dropped_incs.contains(&it.inc), "dropped item released");
            prop_assert!(self.released_incs.insert(it.inc), "released twice");
            prop_assert!(!self.blocked_by_hold(&it), "hold-flagged item released");
            prop_assert!(it.approved || r.release_at <= self.now, "released before deadline without approval");
            prop_assert_eq!(r.release_at, it.release_at);
        }
        // Exact agreement with the model: everything due, in order.
        let expected: Vec<Id> = if self.ended || self.curtain_down {
            vec![]
        } else {
            self.sorted_held()
                .into_iter()
                .filter(|(_, it)| it.approved || (it.release_at <= self.now && !self.blocked_by_hold(it)))
                .map(|(id, _)| id)
                .collect()
        };
        let got: Vec<Id> = out.iter().map(|r| r.id).collect();
        prop_assert_eq!(got, expected);
        for r in out {
            self.held.remove(&r.id);
            self.finish(r.id, Kind::Released);
        }
        Ok(())
    }

    fn check_state(&self, g: &Gate<Id, Payload>) -> Result<(), TestCaseError> {
        prop_assert_eq!(g.len(), self.held.len());
        prop_assert_eq!(g.is_empty(), self.held.is_empty());
        prop_assert_eq!(g.curtain(), self.curtain_down);
        prop_assert_eq!(g.is_ended(), self.ended);
        prop_assert_eq!(g.next_seq(), self.next_seq);
        prop_assert_eq!(g.delay(), self.delay);
        prop_assert_eq!(g.policy(), self.policy);
        let held: Vec<_> = g.held().map(|h| (*h.id, *h.payload, h.release_at, h.flagged, h.approved)).collect();
        let expected: Vec<_> = self
            .sorted_held()
            .into_iter()
            .map(|(id, it)| (id, (it.inc, it.version), it.release_at, it.flagged, it.approved))
            .collect();
        prop_assert_eq!(&held, &expected);
        for (id, ..) in &expected {
            prop_assert_eq!(g.get(id).map(|h| *h.id), Some(*id));
        }
        // next_deadline
        let nd = g.next_deadline();
        if self.ended || self.curtain_down {
            prop_assert_eq!(nd, None);
        } else if self.held.values().any(|it| it.approved) {
            prop_assert!(nd.is_some_and(|t| t <= self.now), "approved item waits");
        } else {
            let expected = self.held.values().filter(|it| !self.blocked_by_hold(it)).map(|it| it.release_at).min();
            prop_assert_eq!(nd, expected);
        }
        Ok(())
    }
}

fn run(first_seq: u64, cap: usize, hold: bool, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let base = Instant::now();
    let policy = if hold { Policy::Hold } else { Policy::Mask };
    let delay = Duration::from_millis(1_000);
    let mut g: Gate<Id, Payload> = Gate::new(delay, policy, first_seq).with_outcome_capacity(cap);
    let mut m = Model {
        now: base,
        delay,
        policy,
        curtain_down: false,
        ended: false,
        next_seq: first_seq,
        order: 0,
        held: HashMap::new(),
        finished: HashMap::new(),
        outcome_count: 0,
        cap: cap as u64,
        next_inc: 0,
        released_incs: HashSet::new(),
        dropped_incs: HashSet::new(),
    };

    for op in ops {
        match op {
            Op::Publish { id, flagged } => {
                let inc = m.next_inc;
                let res = g.publish(m.now, id, (inc, 0), flagged);
                let expected = if m.ended {
                    Err(GateError::Ended)
                } else if m.held.contains_key(&id) || m.not_held_error(id) != GateError::Unknown {
                    // Held, or its outcome is still remembered.
                    Err(GateError::Duplicate)
                } else {
                    Ok(m.now + m.delay)
                };
                prop_assert_eq!(res, expected);
                if let Ok(release_at) = res {
                    m.next_inc += 1;
                    m.held.insert(id, MItem { inc, version: 0, release_at, order: m.order, flagged, approved: false });
                    m.order += 1;
                }
            }
            Op::Approve(id) => {
                let res = g.approve(m.now, &id);
                match m.held_error(id) {
                    Some(e) => prop_assert_eq!(res, Err(e)),
                    None => {
                        prop_assert_eq!(res, Ok(()));
                        m.held.get_mut(&id).expect("held").approved = true;
                    }
                }
            }
            Op::Retract(id) => {
                let res = g.retract(&id);
                match m.held_error(id) {
                    Some(e) => prop_assert_eq!(res, Err(e)),
                    None => {
                        let d = res.map_err(|e| TestCaseError::fail(format!("{e}")))?;
                        prop_assert_eq!(d.id, id);
                        prop_assert_eq!(d.reason, DropReason::Retracted);
                        let it = m.held.remove(&id).expect("held");
                        prop_assert_eq!(d.payload, (it.inc, it.version));
                        prop_assert!(!m.released_incs.contains(&it.inc));
                        prop_assert!(m.dropped_incs.insert(it.inc));
                        m.finish(id, Kind::Dropped);
                    }
                }
            }
            Op::Edit { id, flagged } => {
                let version = m.held.get(&id).map_or(0, |it| it.version + 1);
                let inc = m.held.get(&id).map_or(u64::MAX, |it| it.inc);
                let res = g.edit(&id, (inc, version), flagged);
                match m.held_error(id) {
                    Some(e) => prop_assert_eq!(res, Err(e)),
                    None => {
                        let it = m.held.get_mut(&id).expect("held");
                        prop_assert_eq!(res, Ok(it.release_at));
                        it.version = version;
                        it.flagged = flagged;
                        it.approved = false;
                    }
                }
            }
            Op::Curtain(down) => {
                g.set_curtain(down);
                if !m.ended {
                    m.curtain_down = down;
                }
            }
            Op::Dump => {
                let dropped = g.dump();
                m.apply_drops(&dropped, DropReason::Dumped)?;
            }
            Op::End => {
                let dropped = g.end();
                m.apply_drops(&dropped, DropReason::Ended)?;
                m.ended = true;
            }
            Op::AdvanceAndPoll(ms) => {
                m.now += Duration::from_millis(ms);
                let out = g.poll(m.now);
                m.check_releases(&out)?;
            }
            Op::SetDelay(ms) => {
                g.set_delay(Duration::from_millis(ms));
                if !m.ended {
                    m.delay = Duration::from_millis(ms);
                }
            }
            Op::SetPolicy(p) => {
                g.set_policy(p);
                if !m.ended {
                    m.policy = p;
                }
            }
        }
        m.check_state(&g)?;
    }

    // Drain: raise the curtain, approve everything, poll far in the future.
    g.set_curtain(false);
    if !m.ended {
        m.curtain_down = false;
    }
    let ids: Vec<Id> = m.held.keys().copied().collect();
    for id in ids {
        prop_assert_eq!(g.approve(m.now, &id), Ok(()));
        m.held.get_mut(&id).expect("held").approved = true;
    }
    m.now += Duration::from_secs(3_600);
    let out = g.poll(m.now);
    m.check_releases(&out)?;
    m.check_state(&g)?;
    prop_assert!(g.is_empty());
    prop_assert_eq!(g.next_deadline(), None);
    // Every publish ended up exactly once in released or dropped.
    prop_assert!(m.released_incs.is_disjoint(&m.dropped_incs));
    prop_assert_eq!((m.released_incs.len() + m.dropped_incs.len()) as u64, m.next_inc);
    prop_assert_eq!(m.next_seq - first_seq, m.released_incs.len() as u64);
    Ok(())
}

proptest! {
    // 1000 cases by default; PROPTEST_CASES=N overrides for longer soak runs.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000),
        ..ProptestConfig::default()
    })]

    #[test]
    fn gate_matches_model_and_never_leaks(
        first_seq in prop_oneof![Just(1u64), 0u64..1_000_000],
        cap in prop_oneof![Just(0usize), Just(3usize), Just(10_000usize)],
        hold in any::<bool>(),
        ops in proptest::collection::vec(op(), 0..80),
    ) {
        run(first_seq, cap, hold, ops)?;
    }
}
