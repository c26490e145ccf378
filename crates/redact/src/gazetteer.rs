//! Embedded gazetteers built from real data by `scripts/build-gazetteers.py` (sources and
//! licences: docs/REDACTION.md): ordinary English words, given names and surnames of 105
//! countries, and places of at least 1,000 people. Each table is a sorted list of folded
//! lowercase entries, one per line, searched by bisection over an index built once per process.

use std::sync::OnceLock;

static ENGLISH: &str = include_str!("../data/gaz/english.txt");
static NAMES: &str = include_str!("../data/gaz/names.txt");
static PLACES: &str = include_str!("../data/gaz/places.txt");
static REGIONS: &str = include_str!("../data/gaz/regions.txt");

/// A sorted, newline-separated list of entries and the byte offset of each line.
#[derive(Debug)]
pub struct Table {
    blob: &'static str,
    starts: Vec<u32>,
}

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
            if let Ok(v) = u32::try_from(at) {
                starts.push(v);
            }
            at += line.len();
        }
        Table { blob, starts }
    }

    fn entry(&self, i: usize) -> &'static str {
        let s = self.starts.get(i).map_or(0, |&v| v as usize);
        let rest = self.blob.get(s..).unwrap_or("");
        rest.split('\n').next().unwrap_or("")
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

/// The three tables, indexed on first use and shared by every [`crate::Redactor`].
#[derive(Debug)]
pub struct Gazetteers {
    pub english: Table,
    pub names: Table,
    pub places: Table,
    /// Countries, states and provinces: places that are not PHI.
    pub regions: Table,
}

pub fn get() -> &'static Gazetteers {
    static G: OnceLock<Gazetteers> = OnceLock::new();
    G.get_or_init(|| Gazetteers {
        english: Table::new(ENGLISH),
        names: Table::new(NAMES),
        places: Table::new(PLACES),
        regions: Table::new(REGIONS),
    })
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
        let g = get();
        for t in [&g.english, &g.names, &g.places] {
            assert!(t.len() > 10_000);
            for i in 1..t.len() {
                assert!(t.entry(i - 1).as_bytes() < t.entry(i).as_bytes(), "unsorted at {}", t.entry(i));
            }
        }
        assert!(g.english.contains("retractor") && g.english.contains("tolerated"));
        assert!(!g.english.contains("okonkwo"));
        assert!(g.places.contains("toowoomba") && g.places.contains("silver spring"));
        assert!(!g.places.contains("canada") && !g.places.contains("texas"));
        assert!(g.names.contains("okonkwo"));
        assert!(!g.names.contains("retractor"));
        assert!(g.regions.contains("kerala") && g.regions.contains("canada") && !g.regions.contains("toowoomba"));
    }
}
