//! Overlap resolution: candidates from all detectors → sorted, non-overlapping spans.

use crate::detect::Output;
use crate::PhiType;

/// A resolved span in byte offsets of the original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSpan {
    pub kind: PhiType,
    pub start: usize,
    pub end: usize,
}

/// Detector output before resolution. Higher `prio` wins the type of a merged cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub kind: PhiType,
    pub start: usize,
    pub end: usize,
    pub prio: u8,
}

/// Overlapping candidates are united (recall first); the cluster takes the type of its
/// highest-priority, then longest, member. NAME candidates inside protected ranges (staff
/// names) are dropped first. Adjacent NAME spans separated only by spaces, commas or periods
/// are joined into one mask.
pub fn resolve(text: &str, out: Output) -> Vec<ByteSpan> {
    let Output { mut cands, protected } = out;
    cands.retain(|c| {
        c.start < c.end
            && c.end <= text.len()
            && text.is_char_boundary(c.start)
            && text.is_char_boundary(c.end)
            && !(c.kind == PhiType::Name && protected.iter().any(|&(s, e)| c.start < e && s < c.end))
    });
    cands.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut spans: Vec<(ByteSpan, u8, usize)> = Vec::with_capacity(cands.len());
    for c in cands {
        if let Some((last, prio, len)) = spans.last_mut() {
            if c.start < last.end {
                let clen = c.end - c.start;
                if (c.prio, clen) > (*prio, *len) {
                    last.kind = c.kind;
                    *prio = c.prio;
                    *len = clen;
                }
                last.end = last.end.max(c.end);
                continue;
            }
            if c.kind == PhiType::Name && last.kind == PhiType::Name {
                let gap = &text[last.end..c.start];
                if gap.len() <= 3 && gap.chars().all(|ch| matches!(ch, ' ' | ',' | '.')) {
                    last.end = c.end;
                    continue;
                }
            }
        }
        spans.push((ByteSpan { kind: c.kind, start: c.start, end: c.end }, c.prio, c.end - c.start));
    }
    spans.into_iter().map(|(s, _, _)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(kind: PhiType, start: usize, end: usize, prio: u8) -> Candidate {
        Candidate { kind, start, end, prio }
    }

    #[test]
    fn unites_overlaps_and_keeps_priority_type() {
        let text = "call 415-555-0199 now";
        let out =
            Output { cands: vec![cand(PhiType::OtherId, 9, 17, 1), cand(PhiType::Phone, 5, 17, 5)], protected: vec![] };
        let r = resolve(text, out);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].kind, r[0].start, r[0].end), (PhiType::Phone, 5, 17));
    }

    #[test]
    fn protected_drops_names_and_joins_adjacent_names() {
        let text = "Dr. Patel and FAN, MING";
        let out = Output {
            cands: vec![cand(PhiType::Name, 4, 9, 3), cand(PhiType::Name, 14, 17, 3), cand(PhiType::Name, 19, 23, 3)],
            protected: vec![(4, 9)],
        };
        let r = resolve(text, out);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].start, r[0].end), (14, 23));
    }
}
