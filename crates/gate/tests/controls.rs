//! One test per control, with an injected clock (`base + Duration`).

use std::time::{Duration, Instant};

use orgallery_gate::{DropReason, Dropped, Gate, GateError, Outcome, Policy, Released};

const NS: Duration = Duration::from_nanos(1);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn gate(policy: Policy) -> (Gate<u32, String>, Instant) {
    (Gate::new(secs(10), policy, 1), Instant::now())
}

fn ids(rel: &[Released<u32, String>]) -> Vec<u32> {
    rel.iter().map(|r| r.id).collect()
}

fn seqs(rel: &[Released<u32, String>]) -> Vec<u64> {
    rel.iter().map(|r| r.seq).collect()
}

#[test]
fn releases_exactly_at_deadline_not_one_ns_before() {
    let (mut g, t0) = gate(Policy::Mask);
    let at = g.publish(t0, 1, "a".into(), false).unwrap();
    assert_eq!(at, t0 + secs(10));
    assert_eq!(g.next_deadline(), Some(at));
    assert!(g.poll(at - NS).is_empty());
    assert_eq!(g.len(), 1);
    let out = g.poll(at);
    assert_eq!(out, vec![Released { seq: 1, id: 1, payload: "a".to_string(), release_at: at, released_at: at }]);
    assert!(g.is_empty());
    assert_eq!(g.next_deadline(), None);
    assert_eq!(g.next_seq(), 2);
    // Polling again releases nothing more.
    assert!(g.poll(at + secs(100)).is_empty());
}

#[test]
fn late_poll_reports_both_instants() {
    let (mut g, t0) = gate(Policy::Mask);
    g.publish(t0, 1, "a".into(), false).unwrap();
    let out = g.poll(t0 + secs(15));
    assert_eq!(out[0].release_at, t0 + secs(10));
    assert_eq!(out[0].released_at, t0 + secs(15));
}

#[test]
fn same_poll_orders_by_release_at_then_publish_order() {
    let (mut g, t0) = gate(Policy::Mask);
    g.publish(t0 + secs(1), 1, "a".into(), false).unwrap(); // due 11
    g.publish(t0, 2, "b".into(), false).unwrap(); // due 10
    g.publish(t0, 3, "c".into(), false).unwrap(); // due 10, after 2
    g.publish(t0 + secs(1), 4, "d".into(), true).unwrap(); // due 11, flagged (mask)
    let out = g.poll(t0 + secs(30));
    assert_eq!(ids(&out), vec![2, 3, 1, 4]);
    assert_eq!(seqs(&out), vec![1, 2, 3, 4]);
}

#[test]
fn approve_releases_early_at_next_poll() {
    let (mut g, t0) = gate(Policy::Mask);
    g.publish(t0, 1, "a".into(), false).unwrap();
    g.publish(t0, 2, "b".into(), false).unwrap();
    g.approve(t0 + secs(2), &2).unwrap();
    assert!(g.get(&2).unwrap().approved);
    // The owner is told to poll right away.
    assert!(g.next_deadline().unwrap() <= t0 + secs(2));
    let out = g.poll(t0 + secs(2));
    assert_eq!(ids(&out), vec![2]);
    assert_eq!(out[0].release_at, t0 + secs(10));
    assert_eq!(out[0].released_at, t0 + secs(2));
    assert_eq!(g.next_deadline(), Some(t0 + secs(10)));
    // Approving twice is fine while held; after release it is an error.
    g.approve(t0 + secs(3), &1).unwrap();
    g.approve(t0 + secs(3), &1).unwrap();
    assert_eq!(ids(&g.poll(t0 + secs(3))), vec![1]);
    assert_eq!(g.approve(t0, &1), Err(GateError::AlreadyReleased));
}

#[test]
fn approve_under_curtain_waits_for_raise() {
    let (mut g, t0) = gate(Policy::Mask);
    g.publish(t0, 1, "a".into(), false).unwrap();
    g.set_curtain(true);
    assert!(g.curtain());
    g.approve(t0 + secs(1), &1).unwrap();
    assert_eq!(g.next_deadline(), None);
    assert!(g.poll(t0 + secs(1)).is_empty());
    assert!(g.get(&1).unwrap().approved);
    g.set_curtain(false);
    assert!(g.next_deadline().unwrap() <= t0 + secs(1));
    let out = g.poll(t0 + secs(2));
    assert_eq!(ids(&out), vec![1]);
}

#[test]
fn retract_drops_forever() {
    let (mut g, t0) = gate(Policy::Mask);
    g.publish(t0, 1, "a".into(), false).unwrap();
    g.publish(t0, 2, "b".into(), false).unwrap();
    g.approve(t0, &1).unwrap();
    let d = g.retract(&1).unwrap();
    assert_eq!(d, Dropped { id: 1, payload: "a".into(), reason: DropReason::Retracted });
    // The approval wake is gone with the item.
    assert_eq!(g.next_deadline(), Some(t0 + secs(10)));
    let out = g.poll(t0 + secs(100));
    assert_eq!(ids(&out), vec![2]);
    assert_eq!(out[0].seq, 1);
    assert_eq!(g.retract(&1), Err(GateError::AlreadyDropped));
    assert_eq!(g.outcome(&1), Some(Outcome::Dropped(DropReason::Retracted)));
    assert_eq!(g.outcome(&2), Some(Outcome::Released { seq: 1 }));
}

#[test]
fn edit_keeps_deadline_and_clears_approval() {
    let (mut g, t0) = gate(Policy::Hold);
    let at = g.publish(t0, 1, "v1".into(), false).unwrap();
    g.approve(t0 + secs(1), &1).unwrap();
    assert_eq!(g.edit(&1, "v2".into(), false), Ok(at));
    let v = g.get(&1).unwrap();
    assert_eq!((v.payload.as_str(), v.approved, v.flagged), ("v2", false, false));
    assert_eq!(v.release_at, at);
    // Approval cleared: not released early any more.
    assert_eq!(g.next_deadline(), Some(at));
    assert!(g.poll(t0 + secs(2)).is_empty());
    assert!(g.poll(at - NS).is_empty());
    let out = g.poll(at);
    assert_eq!(out[0].payload, "v2");
    assert_eq!(g.edit(&1, "v3".into(), false), Err(GateError::AlreadyReleased));
}

#[test]
fn edit_to_flagged_under_hold_needs_new_approval() {
    let (mut g, t0) = gate(Policy::Hold);
    g.publish(t0, 1, "v1".into(), true).unwrap();
    g.approve(t0, &1).unwrap();
    g.edit(&1, "v2".into(), true).unwrap();
    assert!(g.poll(t0 + secs(100)).is_empty());
    assert_eq!(g.next_deadline(), None);
    g.approve(t0 + secs(100), &1).unwrap();
    assert_eq!(g.poll(t0 + secs(100))[0].payload, "v2");
}

#[test]
fn curtain_holds_past_deadlines_then_releases_in_order() {
    let (mut g, t0) = gate(Policy::Mask);
    g.set_curtain(true);
    g.publish(t0 + secs(2), 1, "a".into(), false).unwrap();
    g.publish(t0, 2, "b".into(), false).unwrap();
    g.publish(t0 + secs(1), 3, "c".into(), false).unwrap();
    g.publish(t0 + secs(50), 4, "later".into(), false).unwrap();
    assert_eq!(g.next_deadline(), None);
    assert!(g.poll(t0 + secs(30)).is_empty());
    assert_eq!(g.len(), 4);
    g.set_curtain(false);
    assert_eq!(g.next_deadline(), Some(t0 + secs(10)));
    let out = g.poll(t0 + secs(30));
    assert_eq!(ids(&out), vec![2, 3, 1]);
    assert_eq!(seqs(&out), vec![1, 2, 3]);
    assert_eq!(g.next_deadline(), Some(t0 + secs(60)));
}

#[test]
fn curtain_then_dump_releases_nothing() {
    let (mut g, t0) = gate(Policy::Mask);
    g.publish(t0, 1, "a".into(), false).unwrap();
    g.publish(t0, 2, "b".into(), true).unwrap();
    g.set_curtain(true);
    g.approve(t0, &2).unwrap();
    let dropped = g.dump();
    assert_eq!(
        dropped.iter().map(|d| (d.id, d.reason)).collect::<Vec<_>>(),
        vec![(1, DropReason::Dumped), (2, DropReason::Dumped)]
    );
    assert!(g.is_empty());
    g.set_curtain(false);
    assert!(g.poll(t0 + secs(100)).is_empty());
    assert_eq!(g.next_deadline(), None);
    assert_eq!(g.approve(t0, &2), Err(GateError::AlreadyDropped));
    // The gate stays live after a dump.
    g.publish(t0 + secs(100), 3, "c".into(), false).unwrap();
    assert_eq!(g.poll(t0 + secs(110))[0].seq, 1);
}

#[test]
fn end_drops_everything_and_refuses_inputs() {
    let (mut g, t0) = gate(Policy::Hold);
    g.publish(t0, 1, "a".into(), false).unwrap();
    g.publish(t0, 2, "b".into(), true).unwrap();
    g.approve(t0, &1).unwrap();
    let dropped = g.end();
    assert!(g.is_ended());
    assert_eq!(dropped.len(), 2);
    assert!(dropped.iter().all(|d| d.reason == DropReason::Ended));
    assert!(g.is_empty());
    assert_eq!(g.next_deadline(), None);
    assert!(g.poll(t0 + secs(100)).is_empty());
    assert_eq!(g.publish(t0, 3, "c".into(), false), Err(GateError::Ended));
    assert_eq!(g.approve(t0, &1), Err(GateError::Ended));
    assert_eq!(g.retract(&2), Err(GateError::Ended));
    assert_eq!(g.edit(&99, "x".into(), false), Err(GateError::Ended));
    assert!(g.dump().is_empty());
    assert!(g.end().is_empty());
    // Setters are ignored after end.
    g.set_curtain(true);
    assert!(!g.curtain());
    g.set_delay(secs(1));
    assert_eq!(g.delay(), secs(10));
    g.set_policy(Policy::Mask);
    assert_eq!(g.policy(), Policy::Hold);
    assert_eq!(g.outcome(&1), Some(Outcome::Dropped(DropReason::Ended)));
}

#[test]
fn hold_policy_waits_for_approval_and_next_deadline_ignores_it() {
    let (mut g, t0) = gate(Policy::Hold);
    g.publish(t0, 1, "flagged".into(), true).unwrap();
    assert_eq!(g.next_deadline(), None);
    g.publish(t0 + secs(5), 2, "plain".into(), false).unwrap();
    assert_eq!(g.next_deadline(), Some(t0 + secs(15)));
    let out = g.poll(t0 + secs(1000));
    assert_eq!(ids(&out), vec![2]);
    assert_eq!(g.next_deadline(), None);
    assert!(g.get(&1).unwrap().flagged);
    g.approve(t0 + secs(1000), &1).unwrap();
    assert_eq!(g.next_deadline(), Some(t0 + secs(1000)));
    let out = g.poll(t0 + secs(1000));
    assert_eq!((out[0].id, out[0].seq), (1, 2));
}

#[test]
fn hold_flagged_can_be_retracted_and_approval_before_deadline_releases() {
    let (mut g, t0) = gate(Policy::Hold);
    g.publish(t0, 1, "x".into(), true).unwrap();
    g.publish(t0, 2, "y".into(), true).unwrap();
    assert_eq!(g.retract(&1).unwrap().reason, DropReason::Retracted);
    g.approve(t0 + secs(1), &2).unwrap();
    assert_eq!(ids(&g.poll(t0 + secs(1))), vec![2]);
}

#[test]
fn policy_change_applies_to_held_items() {
    let (mut g, t0) = gate(Policy::Hold);
    g.publish(t0, 1, "x".into(), true).unwrap();
    assert!(g.poll(t0 + secs(20)).is_empty());
    g.set_policy(Policy::Mask);
    assert_eq!(g.next_deadline(), Some(t0 + secs(10)));
    assert_eq!(ids(&g.poll(t0 + secs(20))), vec![1]);

    let (mut g, t0) = gate(Policy::Mask);
    g.publish(t0, 1, "x".into(), true).unwrap();
    g.set_policy(Policy::Hold);
    assert_eq!(g.next_deadline(), None);
    assert!(g.poll(t0 + secs(20)).is_empty());
}

#[test]
fn mask_policy_ignores_flag() {
    let (mut g, t0) = gate(Policy::Mask);
    g.publish(t0, 1, "x".into(), true).unwrap();
    assert_eq!(g.next_deadline(), Some(t0 + secs(10)));
    assert!(g.poll(t0 + secs(10) - NS).is_empty());
    assert_eq!(ids(&g.poll(t0 + secs(10))), vec![1]);
}

#[test]
fn delay_change_affects_only_later_items() {
    let (mut g, t0) = gate(Policy::Mask);
    g.publish(t0, 1, "a".into(), false).unwrap();
    g.set_delay(secs(2));
    assert_eq!(g.delay(), secs(2));
    let at2 = g.publish(t0 + secs(1), 2, "b".into(), false).unwrap();
    assert_eq!(at2, t0 + secs(3));
    assert_eq!(g.get(&1).unwrap().release_at, t0 + secs(10));
    assert_eq!(ids(&g.poll(t0 + secs(3))), vec![2]);
    assert!(g.poll(t0 + secs(9)).is_empty());
    assert_eq!(ids(&g.poll(t0 + secs(10))), vec![1]);
    g.set_delay(Duration::ZERO);
    g.publish(t0 + secs(20), 3, "c".into(), false).unwrap();
    assert_eq!(g.next_deadline(), Some(t0 + secs(20)));
    assert_eq!(ids(&g.poll(t0 + secs(20))), vec![3]);
}

#[test]
fn errors_for_unknown_released_dropped_and_duplicate_ids() {
    let (mut g, t0) = gate(Policy::Mask);
    assert_eq!(g.approve(t0, &7), Err(GateError::Unknown));
    assert_eq!(g.retract(&7).unwrap_err(), GateError::Unknown);
    assert_eq!(g.edit(&7, "x".into(), false), Err(GateError::Unknown));

    g.publish(t0, 1, "a".into(), false).unwrap();
    assert_eq!(g.publish(t0, 1, "again".into(), false), Err(GateError::Duplicate));
    assert_eq!(g.get(&1).unwrap().payload, "a");
    g.poll(t0 + secs(10));
    assert_eq!(g.approve(t0, &1), Err(GateError::AlreadyReleased));
    assert_eq!(g.retract(&1).unwrap_err(), GateError::AlreadyReleased);
    assert_eq!(g.edit(&1, "x".into(), false), Err(GateError::AlreadyReleased));
    assert_eq!(g.publish(t0, 1, "x".into(), false), Err(GateError::Duplicate));

    g.publish(t0, 2, "b".into(), false).unwrap();
    g.retract(&2).unwrap();
    assert_eq!(g.approve(t0, &2), Err(GateError::AlreadyDropped));
    assert_eq!(g.retract(&2).unwrap_err(), GateError::AlreadyDropped);
    assert_eq!(g.edit(&2, "x".into(), false), Err(GateError::AlreadyDropped));
    // A retried publish cannot resurrect a retracted item.
    assert_eq!(g.publish(t0, 2, "b".into(), false), Err(GateError::Duplicate));
    assert!(g.poll(t0 + secs(100)).is_empty());
    assert_eq!(GateError::AlreadyDropped.to_string(), "item was already dropped");
}

#[test]
fn outcome_memory_is_bounded() {
    let mut g: Gate<u32, ()> = Gate::new(Duration::ZERO, Policy::Mask, 1).with_outcome_capacity(3);
    assert_eq!(g.outcome_capacity(), 3);
    let t0 = Instant::now();
    for id in 0..5 {
        g.publish(t0, id, (), false).unwrap();
    }
    assert_eq!(g.poll(t0).len(), 5);
    assert_eq!(g.approve(t0, &0), Err(GateError::Unknown));
    assert_eq!(g.approve(t0, &1), Err(GateError::Unknown));
    assert_eq!(g.approve(t0, &2), Err(GateError::AlreadyReleased));
    assert_eq!(g.approve(t0, &4), Err(GateError::AlreadyReleased));
    // A forgotten id may be published again.
    g.publish(t0, 0, (), false).unwrap();
    assert_eq!(g.poll(t0)[0].seq, 6);
    assert_eq!(g.outcome(&0), Some(Outcome::Released { seq: 6 }));

    let mut g: Gate<u32, ()> = Gate::new(Duration::ZERO, Policy::Mask, 1);
    assert_eq!(g.outcome_capacity(), orgallery_gate::DEFAULT_OUTCOME_CAPACITY);
    for id in 0..10_001 {
        g.publish(t0, id, (), false).unwrap();
    }
    assert_eq!(g.poll(t0).len(), 10_001);
    assert_eq!(g.retract(&0).unwrap_err(), GateError::Unknown);
    assert_eq!(g.retract(&1).unwrap_err(), GateError::AlreadyReleased);
}

#[test]
fn first_seq_resume() {
    let t0 = Instant::now();
    let mut g: Gate<&str, ()> = Gate::new(secs(1), Policy::Mask, 42);
    assert_eq!(g.next_seq(), 42);
    g.publish(t0, "a", (), false).unwrap();
    g.publish(t0, "b", (), false).unwrap();
    g.publish(t0 + secs(1), "c", (), false).unwrap();
    let mut all = g.poll(t0 + secs(1));
    // Retracting an item does not consume a seq: releases stay gap-free.
    g.retract(&"c").unwrap();
    all.extend(g.poll(t0 + secs(5)));
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![42, 43]);
    assert_eq!(g.next_seq(), 44);
    all.extend(g.poll(t0 + secs(2)));
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![42, 43]);
}

#[test]
fn seq_exhaustion_stops_releases_without_panicking() {
    let t0 = Instant::now();
    let mut g: Gate<u8, ()> = Gate::new(Duration::ZERO, Policy::Mask, u64::MAX - 1);
    for id in 0..3 {
        g.publish(t0, id, (), false).unwrap();
    }
    let out = g.poll(t0);
    assert_eq!(out.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![u64::MAX - 1, u64::MAX]);
    assert_eq!(g.len(), 1);
    assert_eq!(g.next_deadline(), None);
    assert!(g.poll(t0 + secs(1)).is_empty());
    assert_eq!(g.dump().len(), 1);
}

#[test]
fn absurd_delay_is_refused_not_panicking() {
    let t0 = Instant::now();
    let mut g: Gate<u8, ()> = Gate::new(Duration::MAX, Policy::Mask, 1);
    assert_eq!(g.publish(t0, 1, (), false), Err(GateError::Overflow));
    assert!(g.is_empty());
    assert_eq!(g.approve(t0, &1), Err(GateError::Unknown));
    g.set_delay(secs(1));
    assert!(g.publish(t0, 1, (), false).is_ok());
}

#[test]
fn held_and_get_views() {
    let (mut g, t0) = gate(Policy::Hold);
    g.publish(t0 + secs(1), 1, "a".into(), true).unwrap();
    g.publish(t0, 2, "b".into(), false).unwrap();
    g.publish(t0, 3, "c".into(), false).unwrap();
    g.approve(t0, &3).unwrap();
    let v: Vec<_> = g.held().map(|h| (*h.id, h.payload.clone(), h.release_at, h.flagged, h.approved)).collect();
    assert_eq!(
        v,
        vec![
            (2, "b".to_string(), t0 + secs(10), false, false),
            (3, "c".to_string(), t0 + secs(10), false, true),
            (1, "a".to_string(), t0 + secs(11), true, false),
        ]
    );
    assert_eq!(g.len(), 3);
    assert!(!g.is_empty());
    assert!(g.get(&9).is_none());
    assert_eq!(g.get(&1).unwrap().payload, "a");
}

#[test]
fn approved_items_interleave_with_due_items_by_release_at() {
    let (mut g, t0) = gate(Policy::Mask);
    g.publish(t0, 1, "a".into(), false).unwrap(); // due 10
    g.publish(t0 + secs(5), 2, "b".into(), false).unwrap(); // due 15
    g.publish(t0 + secs(8), 3, "c".into(), false).unwrap(); // due 18
    g.approve(t0 + secs(12), &3).unwrap();
    let out = g.poll(t0 + secs(12));
    assert_eq!(ids(&out), vec![1, 3]);
}
