//! Builds the redacted text and the spans of the masks in it.

use crate::merge::ByteSpan;
use crate::{Finding, Redaction, Span};

/// Replaces each span (sorted, non-overlapping, byte offsets on char boundaries) by its mask.
pub fn apply(text: &str, spans: &[ByteSpan]) -> Redaction {
    let mut out = String::with_capacity(text.len() + 16);
    let mut red_spans = Vec::with_capacity(spans.len());
    let mut findings = Vec::with_capacity(spans.len());
    let mut pos = 0usize; // bytes in original
    let mut orig_chars = 0usize;
    let mut red_chars = 0usize;
    for s in spans {
        let (Some(before), Some(inside)) = (text.get(pos..s.start), text.get(s.start..s.end)) else {
            continue;
        };
        if s.start < pos || inside.is_empty() {
            continue;
        }
        let n_before = before.chars().count();
        out.push_str(before);
        orig_chars += n_before;
        red_chars += n_before;
        let n_inside = inside.chars().count();
        let m = s.kind.mask();
        let m_len = m.chars().count();
        out.push_str(m);
        findings.push(Finding { kind: s.kind, start: orig_chars, end: orig_chars + n_inside });
        red_spans.push(Span { kind: s.kind, start: red_chars, end: red_chars + m_len });
        orig_chars += n_inside;
        red_chars += m_len;
        pos = s.end;
    }
    out.push_str(text.get(pos..).unwrap_or(""));
    Redaction { text: out, spans: red_spans, findings }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PhiType;

    #[test]
    fn masks_and_offsets() {
        let text = "Ñame Ana, ok";
        // "Ana" is bytes 6..9 (Ñ is 2 bytes)
        let r = apply(text, &[ByteSpan { kind: PhiType::Name, start: 6, end: 9 }]);
        assert_eq!(r.text, "Ñame [NAME], ok");
        assert_eq!((r.spans[0].start, r.spans[0].end), (5, 11));
        assert_eq!((r.findings[0].start, r.findings[0].end), (5, 8));
        let chars: Vec<char> = r.text.chars().collect();
        let s: String = chars[5..11].iter().collect();
        assert_eq!(s, "[NAME]");
    }
}
