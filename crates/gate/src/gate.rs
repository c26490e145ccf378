//! The [`Gate`] state machine.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;
use std::time::{Duration, Instant};

use crate::outcomes::{Outcome, Outcomes};
use crate::{DropReason, Dropped, GateError, HeldView, Policy, Released};

/// How many outcomes of ids that left the gate are remembered by default
/// (to tell [`GateError::AlreadyReleased`] / [`GateError::AlreadyDropped`]
/// from [`GateError::Unknown`]).
pub const DEFAULT_OUTCOME_CAPACITY: usize = 10_000;

/// Ordering key of a held item: `(release_at, publish counter)`.
type Key = (Instant, u64);

#[derive(Debug, Clone)]
struct Entry<K, T> {
    id: K,
    payload: T,
    flagged: bool,
    approved: bool,
}

/// Which release queue a held item sits in. Every held item is in exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Not flagged, not approved: released at its deadline.
    Plain,
    /// Flagged, not approved: released at its deadline under
    /// [`Policy::Mask`], never by time under [`Policy::Hold`].
    Flagged,
    /// Approved: released at the next poll with the curtain up.
    Approved,
}

impl<K, T> Entry<K, T> {
    fn class(&self) -> Class {
        if self.approved {
            Class::Approved
        } else if self.flagged {
            Class::Flagged
        } else {
            Class::Plain
        }
    }
}

/// The per-session delay gate. See the [crate docs](crate) for semantics.
///
/// `K` is the item id chosen by the server, `T` the payload. All operations
/// are `O(log n)` in the number of held items (plus the size of the output
/// for `poll`, `dump` and `end`); a `poll` with nothing due only peeks at the
/// head of three ordered sets.
#[derive(Debug, Clone)]
pub struct Gate<K, T> {
    delay: Duration,
    policy: Policy,
    curtain_down: bool,
    ended: bool,
    /// `None` once `u64::MAX` has been assigned (nothing more is released).
    next_seq: Option<u64>,
    publish_counter: u64,
    /// All held items, in release order.
    items: BTreeMap<Key, Entry<K, T>>,
    /// id → key in `items`.
    index: HashMap<K, Key>,
    plain: BTreeSet<Key>,
    flagged: BTreeSet<Key>,
    approved: BTreeSet<Key>,
    /// A lower bound of the `now` passed to `approve` for the items in
    /// `approved`; `None` when `approved` is empty.
    approval_wake: Option<Instant>,
    outcomes: Outcomes<K>,
}

impl<K: Clone + Eq + Hash, T> Gate<K, T> {
    /// A live gate with the curtain up, nothing held, and releases numbered
    /// from `first_seq` (the server resumes with `max stored seq + 1`).
    pub fn new(delay: Duration, policy: Policy, first_seq: u64) -> Self {
        Self {
            delay,
            policy,
            curtain_down: false,
            ended: false,
            next_seq: Some(first_seq),
            publish_counter: 0,
            items: BTreeMap::new(),
            index: HashMap::new(),
            plain: BTreeSet::new(),
            flagged: BTreeSet::new(),
            approved: BTreeSet::new(),
            approval_wake: None,
            outcomes: Outcomes::new(DEFAULT_OUTCOME_CAPACITY),
        }
    }

    /// Remember the outcomes of the last `capacity` ids that left the gate
    /// (default [`DEFAULT_OUTCOME_CAPACITY`]); older ids become
    /// [`GateError::Unknown`] and may be published again.
    pub fn with_outcome_capacity(mut self, capacity: usize) -> Self {
        self.outcomes.set_capacity(capacity);
        self
    }

    /// How many outcomes are remembered.
    pub fn outcome_capacity(&self) -> usize {
        self.outcomes.capacity()
    }

    /// The remembered outcome of an id that left the gate, if any.
    pub fn outcome(&self, id: &K) -> Option<Outcome> {
        self.outcomes.get(id)
    }

    /// Set the delay for items published from now on. Items already held keep
    /// their deadline. Ignored after [`Gate::end`].
    pub fn set_delay(&mut self, d: Duration) {
        if !self.ended {
            self.delay = d;
        }
    }

    /// The delay applied to the next publish.
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// Change the policy. It applies immediately to every held item (an
    /// unapproved flagged item whose deadline passed under `Hold` becomes due
    /// when switching to `Mask`). Ignored after [`Gate::end`].
    pub fn set_policy(&mut self, p: Policy) {
        if !self.ended {
            self.policy = p;
        }
    }

    /// The current policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// Hold `payload` until `now + delay` and return that deadline.
    ///
    /// Errors: [`GateError::Ended`]; [`GateError::Duplicate`] if `id` is held
    /// or its outcome is still remembered; [`GateError::Overflow`] if the
    /// deadline is not representable.
    pub fn publish(&mut self, now: Instant, id: K, payload: T, flagged: bool) -> Result<Instant, GateError> {
        if self.ended {
            return Err(GateError::Ended);
        }
        if self.index.contains_key(&id) || self.outcomes.get(&id).is_some() {
            return Err(GateError::Duplicate);
        }
        let release_at = now.checked_add(self.delay).ok_or(GateError::Overflow)?;
        let counter = self.publish_counter;
        self.publish_counter = counter.checked_add(1).ok_or(GateError::Overflow)?;
        let key = (release_at, counter);
        let entry = Entry { id: id.clone(), payload, flagged, approved: false };
        self.set_mut(entry.class()).insert(key);
        self.items.insert(key, entry);
        self.index.insert(id, key);
        Ok(release_at)
    }

    /// Approve a held item: it becomes due immediately and is released by the
    /// next [`Gate::poll`] with the curtain up (while the curtain is down it
    /// stays approved and is released once the curtain goes up). Approving an
    /// approved item is a no-op. Approval overrides [`Policy::Hold`].
    ///
    /// `now` is the approval time; [`Gate::next_deadline`] returns at most it
    /// so the owner polls right away.
    pub fn approve(&mut self, now: Instant, id: &K) -> Result<(), GateError> {
        let key = self.lookup(id)?;
        let Some(entry) = self.items.get_mut(&key) else {
            return Err(GateError::Unknown); // unreachable: index and items agree
        };
        if entry.approved {
            return Ok(());
        }
        let old = entry.class();
        entry.approved = true;
        self.set_mut(old).remove(&key);
        self.approved.insert(key);
        self.approval_wake = Some(self.approval_wake.map_or(now, |w| w.min(now)));
        Ok(())
    }

    /// Drop a held item; it will never be released.
    pub fn retract(&mut self, id: &K) -> Result<Dropped<K, T>, GateError> {
        let key = self.lookup(id)?;
        let entry = self.remove(key).ok_or(GateError::Unknown)?;
        Ok(self.drop_entry(entry, DropReason::Retracted))
    }

    /// Replace the payload and flag of a held item and return its unchanged
    /// deadline. **An edit clears an earlier approval**: the controller
    /// approved a different text, so the new one waits for its deadline (or,
    /// flagged under [`Policy::Hold`], for a new approval).
    pub fn edit(&mut self, id: &K, payload: T, flagged: bool) -> Result<Instant, GateError> {
        let key = self.lookup(id)?;
        let Some(entry) = self.items.get_mut(&key) else {
            return Err(GateError::Unknown); // unreachable: index and items agree
        };
        let old = entry.class();
        entry.payload = payload;
        entry.flagged = flagged;
        entry.approved = false;
        let new = entry.class();
        self.set_mut(old).remove(&key);
        self.set_mut(new).insert(key);
        self.refresh_wake();
        Ok(key.0)
    }

    /// Lower (`true`) or raise (`false`) the curtain. While it is down nothing
    /// is released; items whose deadline passed are released by the first
    /// poll after it goes up, in `(release_at, publish order)`. Ignored after
    /// [`Gate::end`].
    pub fn set_curtain(&mut self, down: bool) {
        if !self.ended {
            self.curtain_down = down;
        }
    }

    /// Whether the curtain is down.
    pub fn curtain(&self) -> bool {
        self.curtain_down
    }

    /// Drop everything held (in `(release_at, publish order)`); none of it
    /// will ever be released. The gate stays live.
    pub fn dump(&mut self) -> Vec<Dropped<K, T>> {
        self.drop_all(DropReason::Dumped)
    }

    /// Drop everything held and end the gate: afterwards every fallible input
    /// returns [`GateError::Ended`], setters are ignored and `poll` releases
    /// nothing. Calling it again returns an empty vector.
    pub fn end(&mut self) -> Vec<Dropped<K, T>> {
        let dropped = self.drop_all(DropReason::Ended);
        self.ended = true;
        dropped
    }

    /// Whether [`Gate::end`] was called.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Release everything due at `now`, ordered by `(release_at, publish
    /// order)`: approved items, plus items whose `release_at <= now` unless
    /// they are flagged and unapproved under [`Policy::Hold`]. Releases
    /// nothing while the curtain is down or after [`Gate::end`].
    pub fn poll(&mut self, now: Instant) -> Vec<Released<K, T>> {
        let mut out = Vec::new();
        if self.ended || self.curtain_down {
            return out;
        }
        while let Some(seq) = self.next_seq {
            let due = |set: &BTreeSet<Key>| set.first().copied().filter(|k| k.0 <= now);
            let approved = self.approved.first().copied();
            let plain = due(&self.plain);
            let flagged = match self.policy {
                Policy::Mask => due(&self.flagged),
                Policy::Hold => None,
            };
            let Some(key) = [approved, plain, flagged].into_iter().flatten().min() else {
                break;
            };
            let Some(entry) = self.remove(key) else {
                break; // unreachable: the sets only hold keys of held items
            };
            self.next_seq = seq.checked_add(1);
            self.outcomes.record(entry.id.clone(), Outcome::Released { seq });
            out.push(Released { seq, id: entry.id, payload: entry.payload, release_at: key.0, released_at: now });
        }
        out
    }

    /// When [`Gate::poll`] should next be called: the earliest deadline of an
    /// item that can become due by time, or (at most) the approval time if an
    /// approved item is waiting. `None` if nothing can become due by time
    /// alone: curtain down, ended, nothing held, or only hold-flagged items.
    /// The returned instant may be in the past: poll immediately.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.ended || self.curtain_down || self.next_seq.is_none() {
            return None;
        }
        // Only `approve` inserts into `approved` and it always sets
        // `approval_wake`, so this is `Some` whenever an approval waits.
        let wake = if self.approved.is_empty() { None } else { self.approval_wake };
        let plain = self.plain.first().map(|k| k.0);
        let flagged = match self.policy {
            Policy::Mask => self.flagged.first().map(|k| k.0),
            Policy::Hold => None,
        };
        [wake, plain, flagged].into_iter().flatten().min()
    }

    /// The held items, ordered by `release_at` then publish order.
    pub fn held(&self) -> impl Iterator<Item = HeldView<'_, K, T>> {
        self.items.iter().map(|(key, entry)| view(key, entry))
    }

    /// The held item with this id, if any.
    pub fn get(&self, id: &K) -> Option<HeldView<'_, K, T>> {
        let key = self.index.get(id)?;
        self.items.get(key).map(|entry| view(key, entry))
    }

    /// Number of held items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The `seq` the next release will get. (If `u64::MAX` has already been
    /// assigned the gate releases nothing more and this returns `u64::MAX`.)
    pub fn next_seq(&self) -> u64 {
        self.next_seq.unwrap_or(u64::MAX)
    }

    // ---- internals ----

    fn set_mut(&mut self, class: Class) -> &mut BTreeSet<Key> {
        match class {
            Class::Plain => &mut self.plain,
            Class::Flagged => &mut self.flagged,
            Class::Approved => &mut self.approved,
        }
    }

    /// Key of a held id, or the error explaining why it is not held.
    fn lookup(&self, id: &K) -> Result<Key, GateError> {
        if self.ended {
            return Err(GateError::Ended);
        }
        if let Some(key) = self.index.get(id) {
            return Ok(*key);
        }
        Err(match self.outcomes.get(id) {
            Some(Outcome::Released { .. }) => GateError::AlreadyReleased,
            Some(Outcome::Dropped(_)) => GateError::AlreadyDropped,
            None => GateError::Unknown,
        })
    }

    /// Remove a held item from every structure (no outcome recorded).
    fn remove(&mut self, key: Key) -> Option<Entry<K, T>> {
        let entry = self.items.remove(&key)?;
        self.index.remove(&entry.id);
        let class = entry.class();
        self.set_mut(class).remove(&key);
        self.refresh_wake();
        Some(entry)
    }

    fn refresh_wake(&mut self) {
        if self.approved.is_empty() {
            self.approval_wake = None;
        }
    }

    fn drop_entry(&mut self, entry: Entry<K, T>, reason: DropReason) -> Dropped<K, T> {
        self.outcomes.record(entry.id.clone(), Outcome::Dropped(reason));
        Dropped { id: entry.id, payload: entry.payload, reason }
    }

    fn drop_all(&mut self, reason: DropReason) -> Vec<Dropped<K, T>> {
        let items = std::mem::take(&mut self.items);
        self.index.clear();
        self.plain.clear();
        self.flagged.clear();
        self.approved.clear();
        self.approval_wake = None;
        items.into_values().map(|entry| self.drop_entry(entry, reason)).collect()
    }
}

fn view<'a, K, T>(key: &Key, entry: &'a Entry<K, T>) -> HeldView<'a, K, T> {
    HeldView {
        id: &entry.id,
        payload: &entry.payload,
        release_at: key.0,
        flagged: entry.flagged,
        approved: entry.approved,
    }
}
