//! Per-viewer bookkeeping of the seqs received: which arrived, which twice,
//! which behind a later one. One bit per seq, so a viewer that should see
//! 1..=N costs N/8 bytes, whatever order things arrive in.

/// What one receipt was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// The next seq, or later than everything so far (a gap shows at the end).
    InOrder,
    /// Already received.
    Duplicate,
    /// New, but behind a seq received before it.
    OutOfOrder,
    /// Zero, or beyond the cap: not a seq the run can have produced.
    Invalid,
}

#[derive(Debug, Clone)]
pub struct SeqTracker {
    bits: Vec<u64>,
    cap: u64,
    max_seen: u64,
    unique: u64,
    duplicates: u64,
    out_of_order: u64,
    invalid: u64,
}

impl SeqTracker {
    /// `cap`: the largest seq worth tracking (seqs above it count as invalid).
    pub fn new(cap: u64) -> Self {
        Self { bits: Vec::new(), cap, max_seen: 0, unique: 0, duplicates: 0, out_of_order: 0, invalid: 0 }
    }

    pub fn record(&mut self, seq: u64) -> Receipt {
        if seq == 0 || seq > self.cap {
            self.invalid += 1;
            return Receipt::Invalid;
        }
        let i = (seq - 1) as usize;
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        if self.bits[word] & bit != 0 {
            self.duplicates += 1;
            return Receipt::Duplicate;
        }
        self.bits[word] |= bit;
        self.unique += 1;
        if seq < self.max_seen {
            self.out_of_order += 1;
            return Receipt::OutOfOrder;
        }
        self.max_seen = seq;
        Receipt::InOrder
    }

    fn has(&self, seq: u64) -> bool {
        let i = (seq - 1) as usize;
        self.bits.get(i / 64).is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }

    /// The highest seq received (what `after=` resumes from).
    pub fn last_seq(&self) -> u64 {
        self.max_seen
    }

    /// How many distinct seqs arrived.
    pub fn unique(&self) -> u64 {
        self.unique
    }

    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    pub fn out_of_order(&self) -> u64 {
        self.out_of_order
    }

    pub fn invalid(&self) -> u64 {
        self.invalid
    }

    /// Seqs in 1..=expected that never arrived.
    pub fn missing(&self, expected: u64) -> u64 {
        let expected = expected.min(self.cap);
        let full_words = (expected / 64) as usize;
        let mut have: u64 = self.bits.iter().take(full_words).map(|w| u64::from(w.count_ones())).sum();
        for seq in (full_words as u64 * 64 + 1)..=expected {
            have += u64::from(self.has(seq));
        }
        expected - have
    }

    /// Distinct seqs received above `expected` (released but not counted as
    /// published, e.g. a publish whose answer timed out).
    pub fn beyond(&self, expected: u64) -> u64 {
        self.unique - (expected.min(self.cap) - self.missing(expected))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_run_is_clean() {
        let mut t = SeqTracker::new(1000);
        for s in 1..=300 {
            assert_eq!(t.record(s), Receipt::InOrder);
        }
        assert_eq!(t.last_seq(), 300);
        assert_eq!(t.unique(), 300);
        assert_eq!(t.missing(300), 0);
        assert_eq!(t.beyond(300), 0);
        assert_eq!((t.duplicates(), t.out_of_order(), t.invalid()), (0, 0, 0));
        // Published more than arrived: the tail is missing.
        assert_eq!(t.missing(310), 10);
    }

    #[test]
    fn gaps_duplicates_and_late_arrivals() {
        let mut t = SeqTracker::new(1000);
        for s in [1, 2, 3, 6, 7] {
            t.record(s);
        }
        assert_eq!(t.missing(7), 2); // 4 and 5
        assert_eq!(t.record(3), Receipt::Duplicate);
        assert_eq!(t.record(7), Receipt::Duplicate);
        assert_eq!(t.record(4), Receipt::OutOfOrder);
        assert_eq!(t.missing(7), 1);
        assert_eq!(t.last_seq(), 7);
        assert_eq!((t.unique(), t.duplicates(), t.out_of_order()), (6, 2, 1));
    }

    #[test]
    fn resume_after_slow_close_counts_only_real_repeats() {
        // 4008 after seq 130; the backlog resumes at after=130.
        let mut t = SeqTracker::new(1000);
        for s in 1..=130 {
            t.record(s);
        }
        let after = t.last_seq();
        for s in after + 1..=200 {
            assert_eq!(t.record(s), Receipt::InOrder);
        }
        assert_eq!((t.missing(200), t.duplicates()), (0, 0));
        // A server that resumed one too early is caught.
        assert_eq!(t.record(200), Receipt::Duplicate);
    }

    #[test]
    fn word_boundaries_and_invalid() {
        let mut t = SeqTracker::new(200);
        for s in (1..=200).filter(|s| s % 64 != 0) {
            t.record(s);
        }
        assert_eq!(t.missing(200), 3); // 64, 128, 192
        assert_eq!(t.missing(63), 0);
        assert_eq!(t.missing(64), 1);
        assert_eq!(t.record(0), Receipt::Invalid);
        assert_eq!(t.record(201), Receipt::Invalid);
        assert_eq!(t.invalid(), 2);
        // Beyond: seqs released past what the publisher counted.
        assert_eq!(t.beyond(150), 200 - 150 - 1);
    }
}
