//! The **delay gate** of orgallery: a pure, sans-IO state machine that holds
//! every item a surgeon publishes for the session's delay before any viewer
//! may receive it, so the surgical team can retract it, pull the curtain, or
//! dump everything held.
//!
//! **Safety property:** nothing retracted, dumped or dropped by [`Gate::end`]
//! is ever released. Every held item leaves the gate exactly once, either as a
//! [`Released`] (from [`Gate::poll`]) or as a [`Dropped`] (from
//! [`Gate::retract`], [`Gate::dump`] or [`Gate::end`]).
//!
//! The gate performs no IO, reads no clock and never sleeps: time is always
//! passed in as a [`std::time::Instant`]. The owner (a per-session writer task)
//! feeds inputs, calls [`Gate::poll`] to collect releases, and uses
//! [`Gate::next_deadline`] to know when to poll next.
//!
//! # Semantics in short
//!
//! * [`Gate::publish`] holds an item until `release_at = now + delay`, using
//!   the delay in force at publish time.
//! * [`Gate::poll`] releases everything due, ordered by `(release_at, publish
//!   order)`, and assigns gap-free, strictly increasing `seq` numbers starting
//!   at the `first_seq` given to [`Gate::new`]. "Due" means: the curtain is up
//!   and either the item was approved, or `release_at <= now` and the item is
//!   not held back by [`Policy::Hold`].
//! * [`Gate::approve`] makes an item due immediately; it comes out of the next
//!   `poll` (and [`Gate::next_deadline`] says to poll now). Approval never
//!   bypasses the curtain.
//! * [`Gate::edit`] replaces the payload and the flag, keeps the deadline, and
//!   **clears any earlier approval** (the controller approved another text).
//! * While the curtain is down ([`Gate::set_curtain`]) nothing is released.
//! * After [`Gate::end`] every fallible input returns [`GateError::Ended`].
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, Instant};
//! use orgallery_gate::{DropReason, Gate, GateError, Policy};
//!
//! let t0 = Instant::now(); // in production: the writer task's clock
//! let mut gate: Gate<u64, &str> = Gate::new(Duration::from_secs(10), Policy::Hold, 1);
//!
//! gate.publish(t0, 1, "incision", false)?;
//! gate.publish(t0, 2, "patient name visible", true)?; // flagged: waits for a human
//! gate.publish(t0, 3, "oops", false)?;
//! gate.retract(&3)?;
//!
//! assert_eq!(gate.next_deadline(), Some(t0 + Duration::from_secs(10)));
//! assert!(gate.poll(t0 + Duration::from_secs(9)).is_empty());
//!
//! let out = gate.poll(t0 + Duration::from_secs(10));
//! assert_eq!(out.len(), 1);
//! assert_eq!((out[0].seq, out[0].id, out[0].payload), (1, 1, "incision"));
//!
//! // The flagged item is not released by time alone under Policy::Hold.
//! assert_eq!(gate.next_deadline(), None);
//! let dropped = gate.end();
//! assert_eq!(dropped[0].reason, DropReason::Ended);
//! assert_eq!(gate.approve(t0, &2), Err(GateError::Ended));
//! # Ok::<(), GateError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod gate;
mod outcomes;

use std::fmt;
use std::time::Instant;

pub use gate::{Gate, DEFAULT_OUTCOME_CAPACITY};
pub use outcomes::Outcome;

/// What to do with items the redaction gate flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// Flagged items are treated like any other: released at their deadline
    /// (the payload is assumed to be masked upstream).
    Mask,
    /// Flagged items are never released by time alone: they wait for
    /// [`Gate::approve`] (or are dropped by retract / dump / end).
    Hold,
}

/// An item leaving the gate towards viewers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released<K, T> {
    /// Per-session sequence number: gap-free, strictly increasing.
    pub seq: u64,
    /// The id given at publish time.
    pub id: K,
    /// The payload (the latest edit, if any).
    pub payload: T,
    /// The deadline computed at publish time (`publish now + delay`).
    /// An approved item may be released before it.
    pub release_at: Instant,
    /// The `now` of the [`Gate::poll`] that released the item.
    pub released_at: Instant,
}

/// Why an item was dropped. A dropped item is never released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// [`Gate::retract`].
    Retracted,
    /// [`Gate::dump`].
    Dumped,
    /// [`Gate::end`].
    Ended,
}

/// An item dropped from the gate; it will never be released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped<K, T> {
    /// The id given at publish time.
    pub id: K,
    /// The payload it held when dropped (the latest edit, if any).
    pub payload: T,
    /// Why it was dropped.
    pub reason: DropReason,
}

/// A read-only view of an item currently held by the gate.
#[derive(Debug, PartialEq, Eq)]
pub struct HeldView<'a, K, T> {
    /// The id given at publish time.
    pub id: &'a K,
    /// The current payload.
    pub payload: &'a T,
    /// The deadline computed at publish time.
    pub release_at: Instant,
    /// Whether the redaction gate flagged the current payload.
    pub flagged: bool,
    /// Whether the current payload has been approved.
    pub approved: bool,
}

impl<K, T> Clone for HeldView<'_, K, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, T> Copy for HeldView<'_, K, T> {}

/// Why an input was refused. The gate state is unchanged when an error is
/// returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GateError {
    /// The id is not held and no recent outcome is remembered for it (never
    /// published, or its outcome was forgotten; see
    /// [`Gate::with_outcome_capacity`]).
    Unknown,
    /// The id was already released to viewers.
    AlreadyReleased,
    /// The id was already dropped (retracted, dumped or ended).
    AlreadyDropped,
    /// The gate has ended; every input is refused.
    Ended,
    /// `publish` with an id that is held, or whose outcome is still
    /// remembered (so a retried publish cannot resurrect a retracted item).
    Duplicate,
    /// `now + delay` is not representable as an [`Instant`] (absurd delay or
    /// clock value), or the publish counter is exhausted. Nothing was held.
    Overflow,
}

impl fmt::Display for GateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GateError::Unknown => "unknown item id",
            GateError::AlreadyReleased => "item was already released",
            GateError::AlreadyDropped => "item was already dropped",
            GateError::Ended => "the gate has ended",
            GateError::Duplicate => "an item with this id was already published",
            GateError::Overflow => "release deadline or counter overflow",
        })
    }
}

impl std::error::Error for GateError {}
