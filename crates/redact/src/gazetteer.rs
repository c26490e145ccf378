//! Embedded gazetteers built from real data by `scripts/build-gazetteers.py` (sources and
//! licences: docs/REDACTION.md): ordinary English words, places of at least 1,000 people and
//! regions that are not PHI. The names table is left empty on purpose (names-dataset is drawn
//! from a leaked social-network dump, unfit for a privacy product); names come from the Faker
//! lists in `data/` and from context. Each table is a
//! sorted list of folded lowercase entries, one per line. Once per process the entries are put
//! into one hash map from entry to the tables holding it, so a word costs one lookup.

use crate::text::FastMap;
use std::sync::OnceLock;

static ENGLISH: &str = include_str!("../data/gaz/english.txt");
static NAMES: &str = include_str!("../data/gaz/names.txt");
static PLACES: &str = include_str!("../data/gaz/places.txt");
static REGIONS: &str = include_str!("../data/gaz/regions.txt");

/// A sorted, newline-separated list of entries and the byte range of each line (bisected; the
/// build script's output format, checked by the tests).
#[cfg(test)]
#[derive(Debug)]
pub struct Table {
    blob: &'static str,
    /// (start, end) byte range of each entry in `blob`
    starts: Vec<(u32, u32)>,
}

#[cfg(test)]
impl Table {
    /// Indexes `blob` (entries sorted by bytes, one per line). Unsorted input only makes lookups
    /// miss; it never panics.
    pub fn new(blob: &'static str) -> Table {
        let mut starts = Vec::with_capacity(blob.len() / 8);
        let mut at = 0usize;
        for line in blob.split_inclusive('\n') {
            if line.trim_end().is_empty() {
                at += line.len();
                continue;
            }
            let end = at + line.trim_end_matches(['\n', '\r']).len();
            if let (Ok(a), Ok(e)) = (u32::try_from(at), u32::try_from(end)) {
                starts.push((a, e));
            }
            at += line.len();
        }
        Table { blob, starts }
    }

    fn entry(&self, i: usize) -> &'static str {
        let (s, e) = self.starts.get(i).map_or((0, 0), |&(a, b)| (a as usize, b as usize));
        self.blob.get(s..e).unwrap_or("")
    }

    /// True if `key` (folded lowercase) is an entry.
    pub fn contains(&self, key: &str) -> bool {
        if key.is_empty() {
            return false;
        }
        let (mut lo, mut hi) = (0usize, self.starts.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.entry(mid).as_bytes().cmp(key.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    /// Number of entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.starts.len()
    }
}

/// Bits of [`Gazetteers::lookup`].
pub mod bit {
    pub const ENGLISH: u8 = 1;
    pub const NAME: u8 = 1 << 1;
    pub const PLACE: u8 = 1 << 2;
    /// Countries, states and provinces: places that are not PHI.
    pub const REGION: u8 = 1 << 3;
}

/// The tables, merged on first use and shared by every [`crate::Redactor`].
#[derive(Debug)]
pub struct Gazetteers {
    map: FastMap<&'static str, u8>,
}

impl Gazetteers {
    fn build() -> Gazetteers {
        let mut map: FastMap<&'static str, u8> = FastMap::default();
        map.reserve(300_000);
        for (blob, b) in [(ENGLISH, bit::ENGLISH), (NAMES, bit::NAME), (PLACES, bit::PLACE), (REGIONS, bit::REGION)] {
            for line in blob.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
                *map.entry(line).or_insert(0) |= b;
            }
        }
        Gazetteers { map }
    }

    /// The tables holding `key` (folded lowercase), as [`bit`]s.
    pub fn lookup(&self, key: &str) -> u8 {
        self.map.get(key).copied().unwrap_or(0)
    }

    pub fn is_english(&self, key: &str) -> bool {
        self.lookup(key) & bit::ENGLISH != 0
    }

    pub fn is_place(&self, key: &str) -> bool {
        self.lookup(key) & bit::PLACE != 0
    }

    pub fn is_region(&self, key: &str) -> bool {
        self.lookup(key) & bit::REGION != 0
    }
}

pub fn get() -> &'static Gazetteers {
    static G: OnceLock<Gazetteers> = OnceLock::new();
    G.get_or_init(Gazetteers::build)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lookup() {
        let t = Table::new("alpha\nbeta\ngamma ray\nzeta\n");
        assert_eq!(t.len(), 4);
        for k in ["alpha", "beta", "gamma ray", "zeta"] {
            assert!(t.contains(k), "{k}");
        }
        for k in ["", "alph", "betas", "gamma", "omega", "zzz"] {
            assert!(!t.contains(k), "{k}");
        }
        assert!(!Table::new("").contains("a"));
    }

    #[test]
    fn built_tables_are_sorted_and_hold_real_data() {
        assert!(NAMES.trim().is_empty(), "no names-dataset table is embedded");
        for blob in [ENGLISH, PLACES] {
            let t = Table::new(blob);
            assert!(t.len() > 10_000);
            for i in 1..t.len() {
                assert!(t.entry(i - 1).as_bytes() < t.entry(i).as_bytes(), "unsorted at {}", t.entry(i));
            }
        }
        let g = get();
        assert!(g.is_english("retractor") && g.is_english("tolerated"));
        assert!(!g.is_english("okonkwo"));
        assert!(g.is_place("toowoomba") && g.is_place("silver spring"));
        assert!(!g.is_place("canada") && !g.is_place("texas"));
        assert_eq!(g.lookup("retractor") & bit::NAME, 0);
        assert!(g.is_region("kerala") && g.is_region("canada") && !g.is_region("toowoomba"));
        assert_eq!(g.lookup(""), 0);
    }
}
