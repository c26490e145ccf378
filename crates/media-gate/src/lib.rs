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
//! | [`webm`] | [`WebmWriter`]: a streaming, kill-safe WebM (VP8 + Opus) muxer |
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
//! [`Vp8Depacketizer`], Opus payloads as they are, into [`WebmWriter`], so
//! only released media is ever written.
//!
//! While [`DelayBuffer::awaiting_keyframe`] (or any viewer's
//! [`Rewriter::waiting_keyframe`]) is true, the server asks the publisher for
//! a keyframe (PLI, then FIR), repeatedly until one arrives.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod buffer;
pub mod depack;
pub mod keyframe;
pub mod rewrite;
pub mod webm;

pub use buffer::{DelayBuffer, Packet, Pushed, Release, Stats, TrackKind};
pub use depack::{Frame, Vp8Depacketizer};
pub use rewrite::Rewriter;
pub use webm::{AudioTrack, VideoTrack, WebmWriter};
