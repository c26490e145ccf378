//! The live pulse, as pure code with the clock passed in: viewers say how
//! they are doing (`clear`, `confused`, `too_fast`, `great`), at most once
//! per viewer per gap; the [`PulseMeter`] counts them in fixed buckets
//! (10 s, aligned to the Unix epoch) and hands out each bucket once it is
//! over. [`series`] builds the whole series from stored pulses and
//! [`align`] places it on the released timeline (the marker in force).
//!
//! Times are Unix milliseconds.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mood {
    Clear,
    Confused,
    TooFast,
    Great,
}

impl Mood {
    pub const ALL: [Mood; 4] = [Mood::Clear, Mood::Confused, Mood::TooFast, Mood::Great];

    pub fn as_str(self) -> &'static str {
        match self {
            Mood::Clear => "clear",
            Mood::Confused => "confused",
            Mood::TooFast => "too_fast",
            Mood::Great => "great",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Mood::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// The pulses of one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub clear: u64,
    pub confused: u64,
    pub too_fast: u64,
    pub great: u64,
}

impl Counts {
    pub fn add(&mut self, m: Mood) {
        let c = match m {
            Mood::Clear => &mut self.clear,
            Mood::Confused => &mut self.confused,
            Mood::TooFast => &mut self.too_fast,
            Mood::Great => &mut self.great,
        };
        *c += 1;
    }

    pub fn total(&self) -> u64 {
        self.clear + self.confused + self.too_fast + self.great
    }
}

/// One bucket `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub start_ms: i64,
    pub end_ms: i64,
    pub counts: Counts,
}

fn rfc3339(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

impl Bucket {
    /// The aggregate as JSON (the live frame's body and a GET series entry).
    pub fn json(&self) -> Value {
        let c = &self.counts;
        json!({
            "start": rfc3339(self.start_ms),
            "end": rfc3339(self.end_ms),
            "counts": {"clear": c.clear, "confused": c.confused, "too_fast": c.too_fast, "great": c.great},
            "total": c.total(),
        })
    }
}

/// Start of the bucket holding `at`.
fn bucket_start(at_ms: i64, width_ms: i64) -> i64 {
    at_ms.div_euclid(width_ms) * width_ms
}

/// Counts pulses per bucket and enforces one pulse per viewer per gap.
pub struct PulseMeter {
    width_ms: i64,
    gap_ms: i64,
    /// Each viewer's last accepted pulse.
    last: HashMap<String, i64>,
    /// Buckets not handed out yet, by start.
    open: BTreeMap<i64, Counts>,
}

impl PulseMeter {
    /// `width_ms`: bucket width (10 000); `gap_ms`: a viewer's minimum gap
    /// between two pulses (30 000).
    pub fn new(width_ms: i64, gap_ms: i64) -> Self {
        Self { width_ms: width_ms.max(1), gap_ms: gap_ms.max(0), last: HashMap::new(), open: BTreeMap::new() }
    }

    /// `Err(ms to wait)` when `user` pulsed less than the gap ago.
    pub fn check(&self, user: &str, now_ms: i64) -> Result<(), i64> {
        match self.last.get(user) {
            Some(&t) if now_ms.saturating_sub(t) < self.gap_ms => Err(self.gap_ms - now_ms.saturating_sub(t)),
            _ => Ok(()),
        }
    }

    /// Count an accepted pulse (after [`check`](Self::check) allowed it).
    pub fn record(&mut self, user: &str, mood: Mood, now_ms: i64) {
        let gap = self.gap_ms;
        if self.last.len() >= 10_000 {
            self.last.retain(|_, t| now_ms.saturating_sub(*t) < gap);
        }
        self.last.insert(user.to_string(), now_ms);
        self.open.entry(bucket_start(now_ms, self.width_ms)).or_default().add(mood);
    }

    /// Buckets that are over at `now_ms`, oldest first; each is handed out once.
    pub fn due(&mut self, now_ms: i64) -> Vec<Bucket> {
        let current = bucket_start(now_ms, self.width_ms);
        let keep = self.open.split_off(&current);
        let done = std::mem::replace(&mut self.open, keep);
        done.into_iter()
            .map(|(start, counts)| Bucket { start_ms: start, end_ms: start + self.width_ms, counts })
            .collect()
    }

    /// Whether any bucket is still to be handed out (the driver ticks only then).
    pub fn has_open(&self) -> bool {
        !self.open.is_empty()
    }
}

/// The whole series of stored pulses: every bucket from the first pulse's
/// to the last one's, empty ones included, so that it plots as a timeline.
pub fn series(pulses: &[(Mood, i64)], width_ms: i64) -> Vec<Bucket> {
    let width_ms = width_ms.max(1);
    let mut counts: BTreeMap<i64, Counts> = BTreeMap::new();
    for &(mood, at) in pulses {
        counts.entry(bucket_start(at, width_ms)).or_default().add(mood);
    }
    let (Some(&first), Some(&last)) = (counts.keys().next(), counts.keys().next_back()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut start = first;
    while start <= last {
        out.push(Bucket {
            start_ms: start,
            end_ms: start + width_ms,
            counts: counts.get(&start).copied().unwrap_or_default(),
        });
        start += width_ms;
    }
    out
}

/// One released update on the timeline: its seq, release time and, for a
/// marker, its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    pub seq: u64,
    pub at_ms: i64,
    pub marker: Option<String>,
}

/// Where a bucket sits on the released timeline: the last update released
/// before its end, and the marker (procedure phase) in force then.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Place {
    pub seq: u64,
    pub marker: Option<(u64, String)>,
}

/// Place every bucket on `timeline` (sorted by seq, hence by release time).
pub fn align(buckets: &[Bucket], timeline: &[Released]) -> Vec<Place> {
    let mut out = Vec::with_capacity(buckets.len());
    let mut place = Place::default();
    let mut next = 0;
    for b in buckets {
        while let Some(r) = timeline.get(next).filter(|r| r.at_ms < b.end_ms) {
            place.seq = r.seq;
            if let Some(label) = &r.marker {
                place.marker = Some((r.seq, label.clone()));
            }
            next += 1;
        }
        out.push(place.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000; // a multiple of 10 s

    #[test]
    fn aggregates_per_ten_seconds_and_hands_each_bucket_out_once() {
        let mut m = PulseMeter::new(10_000, 30_000);
        m.record("a", Mood::Confused, T0 + 1_000);
        m.record("b", Mood::Confused, T0 + 9_999);
        m.record("c", Mood::Great, T0 + 10_000);
        assert!(m.due(T0 + 9_999).is_empty(), "the first bucket is not over yet");
        let done = m.due(T0 + 10_000);
        assert_eq!(done.len(), 1);
        assert_eq!((done[0].start_ms, done[0].end_ms), (T0, T0 + 10_000));
        assert_eq!(done[0].counts, Counts { confused: 2, ..Counts::default() });
        assert!(m.due(T0 + 15_000).is_empty(), "handed out once");
        assert!(m.has_open());
        let done = m.due(T0 + 25_000);
        assert_eq!(done[0].counts.great, 1);
        assert_eq!(done[0].start_ms, T0 + 10_000);
        assert!(!m.has_open());
    }

    #[test]
    fn one_pulse_per_viewer_per_gap() {
        let mut m = PulseMeter::new(10_000, 30_000);
        assert!(m.check("a", T0).is_ok());
        m.record("a", Mood::Clear, T0);
        assert_eq!(m.check("a", T0 + 10_000), Err(20_000));
        assert!(m.check("b", T0 + 10_000).is_ok(), "per viewer");
        assert!(m.check("a", T0 + 30_000).is_ok());
    }

    #[test]
    fn the_stored_series_is_continuous_and_aligned_with_markers() {
        let pulses = [(Mood::Confused, T0 + 5), (Mood::Clear, T0 + 31_000), (Mood::TooFast, T0 + 32_000)];
        let s = series(&pulses, 10_000);
        assert_eq!(s.len(), 4, "0-10, 10-20 (empty), 20-30 (empty), 30-40");
        assert_eq!(s[0].counts.confused, 1);
        assert_eq!(s[1].counts.total(), 0);
        assert_eq!(s[3].counts, Counts { clear: 1, too_fast: 1, ..Counts::default() });
        let timeline = [
            Released { seq: 1, at_ms: T0 - 1, marker: Some("incision".into()) },
            Released { seq: 2, at_ms: T0 + 12_000, marker: None },
            Released { seq: 3, at_ms: T0 + 25_000, marker: Some("dissection".into()) },
        ];
        let places = align(&s, &timeline);
        assert_eq!(places[0], Place { seq: 1, marker: Some((1, "incision".into())) });
        assert_eq!(places[1].seq, 2);
        assert_eq!(places[2], Place { seq: 3, marker: Some((3, "dissection".into())) });
        assert_eq!(places[3].marker.as_ref().map(|m| m.1.as_str()), Some("dissection"));
        assert!(series(&[], 10_000).is_empty());
        let j = s[0].json();
        assert_eq!(j["counts"]["confused"], 1);
        assert_eq!(j["total"], 1);
    }
}
