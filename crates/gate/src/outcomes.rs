//! Bounded memory of what recently happened to ids that left the gate.
//!
//! The gate must answer "you approved/edited/retracted something that was
//! already released (or already dropped)" differently from "I have never heard
//! of that id". Remembering every id forever would grow without bound, so we
//! keep the last `capacity` outcomes in FIFO order; older ones are forgotten
//! and their ids become [`crate::GateError::Unknown`] again.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

use crate::DropReason;

/// What finally happened to an id that is no longer held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Released to viewers with this sequence number.
    Released {
        /// The `seq` the release was assigned.
        seq: u64,
    },
    /// Dropped (never released) for this reason.
    Dropped(DropReason),
}

/// FIFO-bounded map id → outcome. All operations are O(1) amortised.
#[derive(Debug, Clone)]
pub(crate) struct Outcomes<K> {
    capacity: usize,
    /// id → (outcome, generation of the record that wrote it).
    map: HashMap<K, (Outcome, u64)>,
    /// Insertion order, for eviction. The generation lets eviction skip a
    /// stale queue entry if the same id was recorded again later.
    order: VecDeque<(K, u64)>,
    generation: u64,
}

impl<K: Clone + Eq + Hash> Outcomes<K> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { capacity, map: HashMap::new(), order: VecDeque::new(), generation: 0 }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        self.evict();
    }

    pub(crate) fn get(&self, id: &K) -> Option<Outcome> {
        self.map.get(id).map(|(outcome, _)| *outcome)
    }

    pub(crate) fn record(&mut self, id: K, outcome: Outcome) {
        if self.capacity == 0 {
            return;
        }
        let generation = self.generation;
        self.generation = self.generation.wrapping_add(1);
        self.map.insert(id.clone(), (outcome, generation));
        self.order.push_back((id, generation));
        self.evict();
    }

    fn evict(&mut self) {
        while self.order.len() > self.capacity {
            let Some((id, generation)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&id).is_some_and(|(_, g)| *g == generation) {
                self.map.remove(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_oldest_beyond_capacity() {
        let mut o = Outcomes::new(2);
        o.record(1, Outcome::Released { seq: 1 });
        o.record(2, Outcome::Dropped(DropReason::Retracted));
        o.record(3, Outcome::Dropped(DropReason::Dumped));
        assert_eq!(o.get(&1), None);
        assert_eq!(o.get(&2), Some(Outcome::Dropped(DropReason::Retracted)));
        assert_eq!(o.get(&3), Some(Outcome::Dropped(DropReason::Dumped)));
    }

    #[test]
    fn re_recorded_id_survives_eviction_of_its_old_entry() {
        let mut o = Outcomes::new(2);
        o.record(1, Outcome::Released { seq: 1 });
        o.record(1, Outcome::Released { seq: 2 });
        o.record(2, Outcome::Released { seq: 3 });
        // The first (stale) record of id 1 was evicted, the newer one stays.
        assert_eq!(o.get(&1), Some(Outcome::Released { seq: 2 }));
        o.record(3, Outcome::Released { seq: 4 });
        assert_eq!(o.get(&1), None);
    }

    #[test]
    fn zero_capacity_remembers_nothing_and_shrinking_evicts() {
        let mut o = Outcomes::new(0);
        o.record(1, Outcome::Released { seq: 1 });
        assert_eq!(o.get(&1), None);
        let mut o = Outcomes::new(3);
        for i in 0..3 {
            o.record(i, Outcome::Released { seq: i });
        }
        o.set_capacity(1);
        assert_eq!(o.get(&0), None);
        assert_eq!(o.get(&1), None);
        assert_eq!(o.get(&2), Some(Outcome::Released { seq: 2 }));
    }
}
