//! The **media delay gate** of orgallery: pure, sans-IO building blocks for
//! live video and narration. No async runtime, no sockets, no WebRTC library;
//! time is always passed in as a [`std::time::Instant`].
//!
//! | module | owns |
//! | --- | --- |
//! | [`keyframe`] | does this RTP payload start a keyframe (VP8, H.264); VP8 frame size |
//! | [`buffer`] | [`DelayBuffer`]: the per-session delay, curtain, dump, byte bound, epochs |
//! | [`rewrite`] | [`Rewriter`]: per viewer and track, a seamless outgoing sequence/timestamp space |
//! | [`depack`] | [`Vp8Depacketizer`]: released VP8 RTP payloads → whole frames, for the recording |
//! | [`h264`] | [`H264Depacketizer`] (→ Matroska's length-prefixed form), avcC, SPS frame size |
//! | [`webm`] | [`WebmWriter`]: a streaming, kill-safe WebM (VP8 + Opus) muxer |
//! | [`timeline`] | [`TrackTimeline`]: a track's RTP timestamps → recording milliseconds |
//!
//! # How the server uses it
//!
//! ```text
//! publisher RTP ──► keyframe::*_keyframe_start ──► DelayBuffer::push
//!                                                      │ (poll at next_deadline)
//!                                                      ▼
//!                         Release { packet, epoch } ──► per viewer: Rewriter::rewrite ──► send
//! ```
//!
//! The recording takes the same releases: VP8 payloads through
//! [`Vp8Depacketizer`], Opus payloads as they are, timed by
//! [`TrackTimeline`], into [`WebmWriter`], so only released media is ever
//! written.
//!
//! While [`DelayBuffer::awaiting_keyframe`] (or any viewer's
//! [`Rewriter::waiting_keyframe`]) is true, the server asks the publisher for
//! a keyframe (PLI, then FIR), repeatedly until one arrives.

//!
//! # Semantics in short
//!
//! * **Delay.** Every packet is held until `captured + delay`; releases are in
//!   push order with non-decreasing deadlines, and nothing leaves before its
//!   deadline. A new delay applies from the next video keyframe start (an
//!   audio-only session: the next packet); shortening it drops the buffered
//!   packets that would be due after that keyframe, lengthening it freezes
//!   viewers for the difference.
//! * **Curtain.** Down: everything buffered is dropped and everything pushed is
//!   discarded (the issue's "held media waits and is dropped when the curtain
//!   goes up", with bounded memory). Up: audio at once, video from the first
//!   keyframe start captured after it.
//! * **Dump.** Everything buffered is dropped; video resumes at the next
//!   keyframe start.
//! * **Bound.** Past `max_bytes` the oldest packets are dropped (never
//!   released early) and video resumes at a keyframe start.
//! * **Epochs.** Every discontinuity gives later packets a new
//!   [`Release::epoch`]; within an epoch nothing is missing, and the first
//!   video of an epoch is a keyframe start. Each viewer's [`Rewriter`]
//!   re-bases at an epoch change (and after [`Rewriter::gap`], and when the
//!   viewer joins), so its outgoing sequence numbers stay contiguous and its
//!   timestamps advance by the wall time of the pause.
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, Instant};
//! use orgallery_media_gate::{DelayBuffer, Packet, Pushed, Rewriter, TrackKind};
//!
//! let t0 = Instant::now(); // in production: the media task's clock
//! let mut buffer = DelayBuffer::new(Duration::from_secs(5), 64 << 20);
//! // (seq, rtp ts, starts a keyframe); `data` would be the RTP packet.
//! let video = |seq: u64, ts: u32, keyframe| Packet { kind: TrackKind::Video, keyframe, size: 1200, data: (seq, ts) };
//!
//! assert_eq!(buffer.push(t0, video(1, 0, false)), Pushed::DiscardedAwaitingKeyframe);
//! assert!(buffer.awaiting_keyframe()); // the server sends PLI/FIR
//! assert_eq!(buffer.push(t0, video(2, 0, true)), Pushed::Buffered);
//! buffer.push(t0 + Duration::from_millis(33), video(3, 3000, false));
//!
//! let mut viewer = Rewriter::new(TrackKind::Video, 90_000, 17_000, 99);
//! assert_eq!(buffer.next_deadline(), Some(t0 + Duration::from_secs(5)));
//! let now = t0 + Duration::from_secs(6);
//! let mut sent = Vec::new();
//! while let Some(r) = buffer.poll(now) {
//!     let (seq, ts) = r.packet.data;
//!     if let Some(out) = viewer.rewrite(r.deadline, r.epoch, seq, ts, r.packet.keyframe) {
//!         sent.push(out);
//!     }
//! }
//! assert_eq!(sent, vec![(17_000, 99), (17_001, 3099)]);
//!
//! // The surgeon dumps: nothing buffered is ever released, video waits for a keyframe.
//! buffer.push(now, video(4, 6000, false));
//! assert_eq!(buffer.dump(now), 1);
//! assert_eq!(buffer.push(now, video(5, 9000, false)), Pushed::DiscardedAwaitingKeyframe);
//! ```
//!
//! # Wiring notes for the server
//!
//! * Feed [`DelayBuffer::push`] with `keyframe` from
//!   [`keyframe::vp8_keyframe_start`] / [`keyframe::h264_keyframe_start`] on
//!   the RTP payload, `size` the packet's byte length, and the arrival
//!   instant on the same clock as the text gate; poll at
//!   [`DelayBuffer::next_deadline`].
//! * Give each viewer one [`Rewriter`] per track, with random starting values.
//!   Pass the release's [`Release::deadline`] as `now` (its spacing is the
//!   capture spacing, free of poll jitter). Call [`Rewriter::gap`] when a
//!   packet for that viewer is dropped (queue full). Request a keyframe while
//!   [`DelayBuffer::awaiting_keyframe`] or any viewer's
//!   [`Rewriter::waiting_keyframe`] holds, coalesced.
//! * Keep the outgoing `(seq, ts)` per viewer with the packet to answer NACKs
//!   from what was released.
//! * Recording: per track a [`TrackTimeline`] gives `ts_ms` from the release's
//!   `captured` and RTP timestamp; create the [`WebmWriter`] at the first key
//!   frame, with its size from [`keyframe::vp8_frame_size`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod buffer;
pub mod depack;
pub mod h264;
pub mod keyframe;
pub mod rewrite;
pub mod timeline;
pub mod webm;

pub use buffer::{DelayBuffer, Packet, Pushed, Release, Stats, TrackKind};
pub use depack::{Frame, Vp8Depacketizer};
pub use h264::H264Depacketizer;
pub use rewrite::Rewriter;
pub use timeline::TrackTimeline;
pub use webm::{AudioTrack, VideoTrack, WebmWriter};
