//! One test per control of the DelayBuffer, with an injected clock
//! (`base + Duration`, never sleeping).

use std::time::{Duration, Instant};

use orgallery_media_gate::{DelayBuffer, Packet, Pushed, Release, TrackKind};

const NS: Duration = Duration::from_nanos(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn key(id: u32) -> Packet<u32> {
    Packet { kind: TrackKind::Video, keyframe: true, size: 100, data: id }
}

fn inter(id: u32) -> Packet<u32> {
    Packet { kind: TrackKind::Video, keyframe: false, size: 100, data: id }
}

fn audio(id: u32) -> Packet<u32> {
    Packet { kind: TrackKind::Audio, keyframe: false, size: 10, data: id }
}

fn buffer(delay_ms: u64) -> (DelayBuffer<u32>, Instant) {
    (DelayBuffer::new(ms(delay_ms), 1 << 20), Instant::now())
}

fn drain(b: &mut DelayBuffer<u32>, now: Instant) -> Vec<Release<u32>> {
    std::iter::from_fn(|| b.poll(now)).collect()
}

fn ids(r: &[Release<u32>]) -> Vec<u32> {
    r.iter().map(|r| r.packet.data).collect()
}

#[test]
fn releases_at_the_deadline_not_one_ns_before() {
    let (mut b, t0) = buffer(2000);
    assert_eq!(b.push(t0, key(1)), Pushed::Buffered);
    let at = t0 + ms(2000);
    assert_eq!(b.next_deadline(), Some(at));
    assert_eq!(b.poll(at - NS), None);
    let r = b.poll(at).unwrap();
    assert_eq!((r.packet.data, r.captured, r.deadline), (1, t0, at));
    assert_eq!(b.poll(at + ms(10_000)), None);
    assert_eq!(b.next_deadline(), None);
    assert!(b.is_empty());
    assert_eq!(b.bytes(), 0);
}

#[test]
fn releases_in_push_order_with_one_epoch() {
    let (mut b, t0) = buffer(1000);
    b.push(t0, key(1));
    b.push(t0, audio(2));
    b.push(t0 + ms(20), inter(3));
    b.push(t0 + ms(20), audio(4));
    b.push(t0 + ms(40), inter(5));
    assert_eq!(ids(&drain(&mut b, t0 + ms(1020))), vec![1, 2, 3, 4]);
    let rest = drain(&mut b, t0 + ms(5000));
    assert_eq!(ids(&rest), vec![5]);
    assert_eq!(rest[0].deadline, t0 + ms(1040));
    assert_eq!(rest[0].epoch, b.epoch());
    let s = b.stats();
    assert_eq!((s.pushed, s.buffered, s.released, s.dropped(), s.discarded()), (5, 5, 5, 0, 0));
}

#[test]
fn video_starts_at_the_first_keyframe_audio_at_once() {
    let (mut b, t0) = buffer(0);
    assert!(!b.awaiting_keyframe(), "no video seen yet");
    assert_eq!(b.push(t0, audio(1)), Pushed::Buffered);
    assert!(!b.awaiting_keyframe());
    assert_eq!(b.push(t0, inter(2)), Pushed::DiscardedAwaitingKeyframe);
    assert!(b.awaiting_keyframe());
    assert_eq!(b.push(t0, key(3)), Pushed::Buffered);
    assert!(!b.awaiting_keyframe());
    assert_eq!(b.push(t0, inter(4)), Pushed::Buffered);
    let out = drain(&mut b, t0);
    assert_eq!(ids(&out), vec![1, 3, 4]);
    // The keyframe after the wait starts a new epoch; its run continues.
    assert_ne!(out[0].epoch, out[1].epoch);
    assert_eq!(out[1].epoch, out[2].epoch);
}

#[test]
fn curtain_drops_held_media_and_resumes_at_a_keyframe_after_it() {
    let (mut b, t0) = buffer(1000);
    b.push(t0, key(1));
    b.push(t0, inter(2));
    b.push(t0, audio(3));
    let e0 = b.epoch();
    b.set_curtain(t0 + ms(100), true);
    assert!(b.is_curtain_down());
    assert_eq!(b.next_deadline(), None);
    assert_eq!(b.len(), 0);
    assert!(!b.awaiting_keyframe(), "no point asking for a keyframe behind the curtain");
    assert_eq!(b.push(t0 + ms(200), key(4)), Pushed::DiscardedCurtain);
    assert_eq!(b.push(t0 + ms(200), audio(5)), Pushed::DiscardedCurtain);
    assert_eq!(b.poll(t0 + ms(5000)), None);
    // Down twice changes nothing.
    let e1 = b.epoch();
    b.set_curtain(t0 + ms(300), true);
    assert_eq!(b.epoch(), e1);

    b.set_curtain(t0 + ms(3000), false);
    assert!(b.awaiting_keyframe());
    assert_ne!(b.epoch(), e0);
    assert_eq!(b.push(t0 + ms(3000), audio(6)), Pushed::Buffered);
    assert_eq!(b.push(t0 + ms(3000), inter(7)), Pushed::DiscardedAwaitingKeyframe);
    assert_eq!(b.push(t0 + ms(3020), key(8)), Pushed::Buffered);
    let out = drain(&mut b, t0 + ms(9000));
    assert_eq!(ids(&out), vec![6, 8]);
    assert!(out.iter().all(|r| r.epoch != e0));
    let s = b.stats();
    assert_eq!((s.dropped_curtain, s.discarded_curtain, s.discarded_awaiting_keyframe), (3, 2, 1));
}

#[test]
fn dump_drops_everything_buffered_and_waits_for_a_keyframe() {
    let (mut b, t0) = buffer(1000);
    b.push(t0, key(1));
    b.push(t0 + ms(10), inter(2));
    b.push(t0 + ms(10), audio(3));
    assert_eq!(drain(&mut b, t0 + ms(1000)).len(), 1);
    let e = b.epoch();
    assert_eq!(b.dump(t0 + ms(1005)), 2);
    assert_eq!(b.len(), 0);
    assert_ne!(b.epoch(), e);
    assert_eq!(b.push(t0 + ms(1010), inter(4)), Pushed::DiscardedAwaitingKeyframe);
    assert_eq!(b.push(t0 + ms(1010), audio(5)), Pushed::Buffered);
    assert_eq!(b.push(t0 + ms(1020), key(6)), Pushed::Buffered);
    assert_eq!(ids(&drain(&mut b, t0 + ms(9000))), vec![5, 6]);
    assert_eq!(b.stats().dropped_dump, 2);
    // An empty dump still forces a keyframe.
    assert_eq!(b.dump(t0 + ms(9000)), 0);
    assert_eq!(b.push(t0 + ms(9000), inter(7)), Pushed::DiscardedAwaitingKeyframe);
}

#[test]
fn shorter_delay_applies_at_the_next_keyframe_and_cuts_what_would_come_after_it() {
    let (mut b, t0) = buffer(3000);
    b.push(t0, key(1)); // due 3000
    b.push(t0 + ms(500), inter(2)); // due 3500
    b.push(t0 + ms(1000), inter(3)); // due 4000
    b.set_delay(ms(1000));
    assert_eq!(b.pending_delay(), Some(ms(1000)));
    // Audio in a session with video: still the old delay.
    b.push(t0 + ms(1100), audio(4)); // due 4100
    assert_eq!(b.delay(), ms(3000));
    let e = b.epoch();
    // The keyframe at 2000 is due at 3000: everything due after that is cut.
    assert_eq!(b.push(t0 + ms(2000), key(5)), Pushed::Buffered);
    assert_eq!(b.delay(), ms(1000));
    assert_eq!(b.pending_delay(), None);
    assert_ne!(b.epoch(), e);
    let out = drain(&mut b, t0 + ms(10_000));
    assert_eq!(ids(&out), vec![1, 5]);
    assert_eq!(out[1].deadline, t0 + ms(3000));
    assert_ne!(out[0].epoch, out[1].epoch);
    assert_eq!(b.stats().dropped_delay, 3);
}

#[test]
fn shorter_delay_that_cuts_nothing_keeps_the_epoch() {
    let (mut b, t0) = buffer(3000);
    b.push(t0, key(1));
    drain(&mut b, t0 + ms(3000));
    b.set_delay(ms(1000));
    let e = b.epoch();
    b.push(t0 + ms(5000), key(2));
    assert_eq!(b.epoch(), e);
    assert_eq!(b.next_deadline(), Some(t0 + ms(6000)));
}

#[test]
fn longer_delay_drops_nothing() {
    let (mut b, t0) = buffer(1000);
    b.push(t0, key(1));
    b.push(t0 + ms(500), inter(2));
    b.set_delay(ms(4000));
    b.push(t0 + ms(600), inter(3)); // not a keyframe: old delay
    b.push(t0 + ms(700), key(4)); // new delay: due 4700
    b.push(t0 + ms(800), inter(5));
    let out = drain(&mut b, t0 + ms(20_000));
    assert_eq!(ids(&out), vec![1, 2, 3, 4, 5]);
    let deadlines: Vec<_> = out.iter().map(|r| r.deadline - t0).collect();
    assert_eq!(deadlines, vec![ms(1000), ms(1500), ms(1600), ms(4700), ms(4800)]);
    assert!(out.windows(2).all(|w| w[0].epoch == w[1].epoch));
}

#[test]
fn audio_only_sessions_change_delay_at_the_next_packet() {
    let (mut b, t0) = buffer(2000);
    b.push(t0, audio(1));
    b.push(t0 + ms(20), audio(2));
    b.set_delay(ms(500));
    b.push(t0 + ms(40), audio(3));
    assert_eq!(b.delay(), ms(500));
    let out = drain(&mut b, t0 + ms(10_000));
    // 1 and 2 were due after 3's new deadline (540): cut.
    assert_eq!(ids(&out), vec![3]);
    assert_eq!(out[0].deadline, t0 + ms(540));
    // Video that stopped for VIDEO_IDLE counts as audio-only.
    let (mut b, t0) = buffer(2000);
    b.push(t0, key(1));
    b.set_delay(ms(3000));
    b.push(t0 + ms(100), audio(2));
    assert_eq!(b.delay(), ms(2000));
    b.push(t0 + ms(2100), audio(3));
    assert_eq!(b.delay(), ms(3000));
}

#[test]
fn overflow_drops_the_oldest_never_releases_early_and_waits_for_a_keyframe() {
    let t0 = Instant::now();
    let mut b = DelayBuffer::new(ms(1000), 350);
    b.push(t0, key(1));
    b.push(t0 + ms(10), inter(2));
    b.push(t0 + ms(20), audio(3));
    b.push(t0 + ms(30), inter(4)); // 310 bytes
    let e = b.epoch();
    // An audio packet of 50 bytes does not fit: the oldest (key 1) goes, then
    // the video left without its keyframe (2 and 4); audio 3 stays.
    assert_eq!(
        b.push(t0 + ms(40), Packet { kind: TrackKind::Audio, keyframe: false, size: 50, data: 5 }),
        Pushed::Buffered
    );
    assert!(b.bytes() <= 350);
    assert!(b.awaiting_keyframe());
    assert_ne!(b.epoch(), e);
    assert_eq!(b.push(t0 + ms(50), inter(6)), Pushed::DiscardedAwaitingKeyframe);
    assert_eq!(b.push(t0 + ms(60), key(7)), Pushed::Buffered);
    assert_eq!(b.poll(t0 + ms(1019)), None, "never early");
    let out = drain(&mut b, t0 + ms(5000));
    assert_eq!(ids(&out), vec![3, 5, 7]);
    assert_eq!(out[0].epoch, out[1].epoch);
    assert_ne!(out[1].epoch, out[2].epoch);
    assert_eq!(b.stats().dropped_overflow, 3);
}

#[test]
fn overflow_keeps_video_from_a_buffered_keyframe_in_a_fresh_epoch() {
    let t0 = Instant::now();
    let mut b = DelayBuffer::new(ms(1000), 400);
    b.push(t0, key(1));
    b.push(t0 + ms(10), inter(2));
    assert_eq!(b.poll(t0 + ms(1000)).map(|r| r.packet.data), Some(1));
    let released_epoch = b.epoch();
    b.push(t0 + ms(20), key(3));
    b.push(t0 + ms(30), inter(4)); // 2, 3, 4 buffered: 300 bytes
                                   // A video keyframe of 200 bytes: 2 is dropped; 3 (a keyframe) and 4 stay.
    assert_eq!(
        b.push(t0 + ms(40), Packet { kind: TrackKind::Video, keyframe: true, size: 200, data: 5 }),
        Pushed::Buffered
    );
    let out = drain(&mut b, t0 + ms(5000));
    assert_eq!(ids(&out), vec![3, 4, 5]);
    assert_ne!(out[0].epoch, released_epoch, "3 follows a hole");
    assert!(out[0].packet.keyframe);
}

#[test]
fn packets_larger_than_the_bound_are_discarded() {
    let t0 = Instant::now();
    let mut b = DelayBuffer::new(ms(0), 150);
    b.push(t0, key(1));
    let big = Packet { kind: TrackKind::Video, keyframe: false, size: 151, data: 2 };
    assert_eq!(b.push(t0, big), Pushed::DiscardedOverflow);
    assert_eq!(b.len(), 1, "nothing dropped for a packet that can never fit");
    assert_eq!(b.push(t0, inter(3)), Pushed::DiscardedAwaitingKeyframe);
    assert_eq!(b.stats().discarded_overflow, 1);
}

#[test]
fn a_clock_going_backwards_never_makes_deadlines_decrease() {
    let (mut b, t0) = buffer(1000);
    let t0 = t0 + ms(10_000);
    b.push(t0, key(1));
    b.push(t0 - ms(500), inter(2));
    let out = drain(&mut b, t0 + ms(1000));
    assert_eq!(ids(&out), vec![1, 2]);
    assert_eq!(out[1].deadline, out[0].deadline);
    // An absurd delay is a discard, not a panic.
    let mut b: DelayBuffer<u32> = DelayBuffer::new(Duration::MAX, 1000);
    assert_eq!(b.push(t0, key(1)), Pushed::DiscardedOverflow);
}

#[test]
fn a_video_non_keyframe_that_does_not_fit_evicts_nothing() {
    let t0 = Instant::now();
    let mut b = DelayBuffer::new(ms(1000), 250);
    b.push(t0, key(1));
    b.push(t0, inter(2));
    assert_eq!(b.push(t0, inter(3)), Pushed::DiscardedOverflow);
    assert_eq!(b.len(), 2, "held media kept");
    assert!(b.awaiting_keyframe());
    assert_eq!(b.push(t0, inter(4)), Pushed::DiscardedAwaitingKeyframe);
    // The next keyframe makes room: the oldest goes, and with it the video
    // that needed it.
    let e = b.epoch();
    assert_eq!(b.push(t0, key(5)), Pushed::Buffered);
    assert_ne!(b.epoch(), e);
    assert_eq!(ids(&drain(&mut b, t0 + ms(1000))), vec![5]);
    assert_eq!(b.stats().dropped_overflow, 2);
}
