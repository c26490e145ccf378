//! The **media delay gate** of orgallery: pure, sans-IO building blocks for
//! live video and narration. No async runtime, no sockets, no WebRTC library;
//! time is always passed in as a [`std::time::Instant`].
//!
//! | module | owns |
//! | --- | --- |
//! | [`keyframe`] | does this RTP payload start a keyframe (VP8, H.264); VP8 frame size |
//! | [`buffer`] | [`DelayBuffer`]: the per-session delay, curtain, dump, byte bound, epochs |
//! | [`rewrite`] | [`Rewriter`]: per viewer and track, a seamless outgoing sequence/timestamp space |
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
//! While [`DelayBuffer::awaiting_keyframe`] (or any viewer's
//! [`Rewriter::waiting_keyframe`]) is true, the server asks the publisher for
//! a keyframe (PLI, then FIR), repeatedly until one arrives.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod buffer;
pub mod keyframe;
pub mod rewrite;

pub use buffer::{DelayBuffer, Packet, Pushed, Release, Stats, TrackKind};
pub use rewrite::Rewriter;
