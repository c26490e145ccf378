//! Property tests of the per-viewer Rewriter with an injected clock: random
//! streams with upstream loss, reordering, epoch changes, gaps and
//! wraparound; the outgoing stream must be contiguous across resumes,
//! resume video only at keyframes, keep gaps and timestamp differences
//! within a run, and have monotonic timestamps.

use std::time::{Duration, Instant};

use orgallery_media_gate::{Rewriter, TrackKind};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Ev {
    /// The next packet in input order.
    Next {
        seq_step: u64,
        ts_step: u32,
        keyframe: bool,
        advance_ms: u64,
    },
    /// A packet from `back` positions earlier arrives again (late or duplicate).
    Late {
        back: usize,
    },
    NewEpoch,
    Gap,
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        20 => (prop_oneof![8 => Just(1u64), 1 => 1u64..5, 1 => 5u64..70_000], prop_oneof![Just(0u32), 0u32..6_000, any::<u32>().prop_map(|t| t >> 4)], prop::bool::weighted(0.15), prop_oneof![Just(0u64), 0u64..100, 0u64..5_000])
            .prop_map(|(seq_step, ts_step, keyframe, advance_ms)| Ev::Next { seq_step, ts_step, keyframe, advance_ms }),
        2 => (1usize..6).prop_map(|back| Ev::Late { back }),
        1 => Just(Ev::NewEpoch),
        1 => Just(Ev::Gap),
    ]
}

/// A run as the test sees it: the first forwarded packet after a resume.
#[derive(Debug, Clone, Copy)]
struct Run {
    in_seq: u64,
    in_ts: u32,
    out_seq: u64,
    out_ts: u32,
}

/// A packet the test sent: (in seq, in ts, what it mapped to, in which run).
type Seen = (u64, u32, Option<(u64, u32)>, usize);

fn serial_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

fn run(
    video: bool,
    first_seq: u64,
    first_ts: u32,
    in_seq0: u64,
    in_ts0: u32,
    evs: Vec<Ev>,
) -> Result<(), TestCaseError> {
    let kind = if video { TrackKind::Video } else { TrackKind::Audio };
    let clock = if video { 90_000 } else { 48_000 };
    let mut r = Rewriter::new(kind, clock, first_seq, first_ts);
    let mut now = Instant::now();
    let (mut in_seq, mut in_ts) = (in_seq0, in_ts0);
    let mut epoch = 0u32;
    // What the test expects of the next in-order packet.
    let mut need_resume = true;
    let mut current: Option<Run> = None;
    // Highest outgoing seq and its ts (the resume point of the next run).
    let mut last_out: Option<(u64, u32, Instant)> = None;
    let mut history: Vec<Seen> = Vec::new();
    let mut runs = 0usize;

    for e in evs {
        match e {
            Ev::NewEpoch => {
                epoch = epoch.wrapping_add(1);
                need_resume = true;
            }
            Ev::Gap => {
                r.gap();
                need_resume = true;
                prop_assert_eq!(r.waiting_keyframe(), video);
            }
            Ev::Late { back } => {
                let Some(&(seq, ts, out, out_run)) = history.len().checked_sub(back).and_then(|i| history.get(i))
                else {
                    continue;
                };
                let got = r.rewrite(now, epoch, seq, ts, false);
                match (current, need_resume) {
                    (Some(run), false) if seq >= run.in_seq => {
                        let expected =
                            (run.out_seq + (seq - run.in_seq), ts.wrapping_add(run.out_ts.wrapping_sub(run.in_ts)));
                        prop_assert_eq!(got, Some(expected), "late packet maps consistently");
                        if let Some(out) = out.filter(|_| out_run == runs) {
                            prop_assert_eq!(out, expected, "same packet, same mapping");
                        }
                        // After an audio run resumed at a late packet, a later "late" one is the newest.
                        if last_out.is_none_or(|(s, ..)| expected.0 > s) {
                            last_out = Some((expected.0, expected.1, now));
                        }
                    }
                    (Some(_), false) => prop_assert_eq!(got, None, "older than the resume point"),
                    // A late packet after an epoch change or gap: audio resumes
                    // with it; video skips it (it is not a keyframe).
                    _ => {
                        if video {
                            prop_assert_eq!(got, None);
                        } else {
                            let Some((seq_out, ts_out)) = got else {
                                return Err(TestCaseError::fail("audio skipped a resume point"));
                            };
                            let resume =
                                Resume { clock, first_seq, first_ts, now, in_seq: seq, in_ts: ts, seq_out, ts_out };
                            check_resume(&mut current, &mut last_out, &mut need_resume, resume)?;
                            runs += 1;
                        }
                    }
                }
            }
            Ev::Next { seq_step, ts_step, keyframe, advance_ms } => {
                now += Duration::from_millis(advance_ms);
                in_seq = in_seq.saturating_add(seq_step);
                in_ts = in_ts.wrapping_add(ts_step);
                let got = r.rewrite(now, epoch, in_seq, in_ts, keyframe);
                history.push((in_seq, in_ts, got, runs + usize::from(need_resume)));
                if need_resume {
                    if video && !keyframe {
                        prop_assert_eq!(got, None, "video resumed at a non-keyframe");
                        prop_assert!(r.waiting_keyframe());
                        continue;
                    }
                    let Some((seq_out, ts_out)) = got else {
                        return Err(TestCaseError::fail("a resume point was skipped"));
                    };
                    let resume = Resume { clock, first_seq, first_ts, now, in_seq, in_ts, seq_out, ts_out };
                    check_resume(&mut current, &mut last_out, &mut need_resume, resume)?;
                    runs += 1;
                } else {
                    let run = current.expect("a run is in progress");
                    if in_seq < run.in_seq {
                        prop_assert_eq!(got, None);
                        continue;
                    }
                    let Some((seq_out, ts_out)) = got else {
                        return Err(TestCaseError::fail("a packet inside a run was skipped"));
                    };
                    // Gaps and timestamp differences are kept within a run.
                    prop_assert_eq!(seq_out - run.out_seq, in_seq - run.in_seq);
                    prop_assert_eq!(ts_out.wrapping_sub(run.out_ts), in_ts.wrapping_sub(run.in_ts));
                    let (prev_seq, prev_ts, _) = last_out.expect("forwarded before");
                    if seq_out > prev_seq {
                        // In order: timestamps do not go back (steps stay below 2^31).
                        prop_assert!(serial_diff(ts_out, prev_ts) >= 0, "timestamp went back");
                        last_out = Some((seq_out, ts_out, now));
                    }
                }
                prop_assert!(!r.waiting_keyframe());
            }
        }
        prop_assert_eq!(r.last_out(), last_out.map(|(s, t, _)| (s, t)));
    }
    Ok(())
}

/// The first packet of a new run, as seen by the test.
struct Resume {
    clock: u32,
    first_seq: u64,
    first_ts: u32,
    now: Instant,
    in_seq: u64,
    in_ts: u32,
    seq_out: u64,
    ts_out: u32,
}

/// The first packet of a new run: contiguous with everything before it, and
/// its timestamp advanced by the wall time since the last forwarded packet
/// (in clock ticks, at least 1).
fn check_resume(
    current: &mut Option<Run>,
    last_out: &mut Option<(u64, u32, Instant)>,
    need_resume: &mut bool,
    r: Resume,
) -> Result<(), TestCaseError> {
    match *last_out {
        None => prop_assert_eq!((r.seq_out, r.ts_out), (r.first_seq, r.first_ts)),
        Some((prev_seq, prev_ts, at)) => {
            prop_assert_eq!(r.seq_out, prev_seq + 1, "outgoing seq not contiguous across a resume");
            let ticks = r.now.duration_since(at).as_nanos() * u128::from(r.clock) / 1_000_000_000;
            let expected = (ticks as u64).clamp(1, 1 << 30) as u32;
            prop_assert_eq!(r.ts_out.wrapping_sub(prev_ts), expected, "timestamp step at a resume");
        }
    }
    *current = Some(Run { in_seq: r.in_seq, in_ts: r.in_ts, out_seq: r.seq_out, out_ts: r.ts_out });
    *last_out = Some((r.seq_out, r.ts_out, r.now));
    *need_resume = false;
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn rewriter_is_contiguous_keyframe_only_and_monotonic(
        video in any::<bool>(),
        first_seq in prop_oneof![Just(0u64), Just(65_530u64), 0u64..(1 << 40)],
        first_ts in prop_oneof![Just(0u32), Just(u32::MAX - 1000), any::<u32>()],
        in_seq0 in prop_oneof![Just(0u64), Just(65_530u64), 0u64..(1 << 40)],
        in_ts0 in prop_oneof![Just(u32::MAX - 3000), any::<u32>()],
        evs in prop::collection::vec(ev(), 0..200),
    ) {
        run(video, first_seq, first_ts, in_seq0, in_ts0, evs)?;
    }

    /// Arbitrary calls never panic.
    #[test]
    fn rewriter_never_panics(
        calls in prop::collection::vec((any::<u32>(), any::<u64>(), any::<u32>(), any::<bool>(), 0u64..10_000_000, any::<bool>()), 0..100),
        first_seq in any::<u64>(),
        first_ts in any::<u32>(),
    ) {
        let t0 = Instant::now();
        for video in [true, false] {
            let kind = if video { TrackKind::Video } else { TrackKind::Audio };
            let mut r = Rewriter::new(kind, 90_000, first_seq, first_ts);
            for &(epoch, seq, ts, key, at_ms, gap) in &calls {
                if gap {
                    r.gap();
                }
                let _ = r.rewrite(t0 + Duration::from_millis(at_ms), epoch, seq, ts, key);
            }
        }
    }
}
