//! Grouping word boxes into reading lines, and mask rectangles for words.

use crate::{Rect, Word};

/// Words on one reading line, left to right.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub words: Vec<Word>,
}

impl Line {
    /// The words joined by single spaces, and each word's code-point range
    /// in that text.
    pub fn text(&self) -> (String, Vec<(usize, usize)>) {
        let mut s = String::new();
        let mut ranges = Vec::with_capacity(self.words.len());
        let mut pos = 0;
        for (i, w) in self.words.iter().enumerate() {
            if i > 0 {
                s.push(' ');
                pos += 1;
            }
            let n = w.text.chars().count();
            s.push_str(&w.text);
            ranges.push((pos, pos + n));
            pos += n;
        }
        (s, ranges)
    }

    /// Indices of the words that share at least one code point with
    /// `start..end` (offsets in [`Line::text`]).
    pub fn words_in(&self, start: usize, end: usize) -> Vec<usize> {
        let (_, ranges) = self.text();
        ranges.iter().enumerate().filter(|(_, (s, e))| *s < end && start < *e).map(|(i, _)| i).collect()
    }

    /// Mean word confidence (0–100).
    pub fn confidence(&self) -> f32 {
        if self.words.is_empty() {
            return 0.0;
        }
        self.words.iter().map(|w| w.conf).sum::<f32>() / self.words.len() as f32
    }

    /// Union of the word boxes.
    pub fn rect(&self) -> Option<Rect> {
        let x0 = self.words.iter().map(|w| w.rect.x).min()?;
        let y0 = self.words.iter().map(|w| w.rect.y).min()?;
        let x1 = self.words.iter().map(|w| w.rect.right()).max()?;
        let y1 = self.words.iter().map(|w| w.rect.bottom()).max()?;
        Some(Rect { x: x0, y: y0, w: x1 - x0, h: y1 - y0 })
    }
}

/// Vertical overlap of two boxes as a fraction of the shorter one.
fn v_overlap(a: &Rect, b: &Rect) -> f32 {
    let o = a.bottom().min(b.bottom()).saturating_sub(a.y.max(b.y));
    o as f32 / a.h.min(b.h).max(1) as f32
}

/// Group words into lines. Words are taken left to right; a word joins the
/// line whose *last* word overlaps it vertically by at least half the shorter
/// height and ends at most three of its heights to its left (comparing with
/// the last word rather than the whole line follows text rotated by a few
/// degrees). Lines come out top to bottom.
pub fn group_lines(mut words: Vec<Word>) -> Vec<Line> {
    words.sort_by_key(|w| (w.rect.x, w.rect.y));
    let mut lines: Vec<Line> = Vec::new();
    for w in words {
        let mut best: Option<(usize, f32)> = None;
        for (i, l) in lines.iter().enumerate() {
            let Some(last) = l.words.last() else { continue };
            let ov = v_overlap(&last.rect, &w.rect);
            let h = last.rect.h.max(w.rect.h);
            let gap = i64::from(w.rect.x) - i64::from(last.rect.right());
            if ov >= 0.5 && gap <= 3 * i64::from(h) && gap >= -(i64::from(h)) && best.is_none_or(|(_, b)| ov > b) {
                best = Some((i, ov));
            }
        }
        match best {
            Some((i, _)) => lines[i].words.push(w),
            None => lines.push(Line { words: vec![w] }),
        }
    }
    lines.sort_by_key(|l| l.rect().map(|r| (r.y, r.x)));
    lines
}

/// Padded rectangles over `words`, clipped to a `width`×`height` image. The
/// padding (a quarter of the box height, at least 2 px) covers ascenders,
/// descenders and anti-aliasing a tight OCR box can miss.
pub fn mask_rects<'a>(words: impl IntoIterator<Item = &'a Word>, width: u32, height: u32) -> Vec<Rect> {
    words
        .into_iter()
        .filter_map(|w| {
            let pad = (w.rect.h / 4).max(2);
            let x0 = w.rect.x.saturating_sub(pad);
            let y0 = w.rect.y.saturating_sub(pad);
            let x1 = w.rect.right().saturating_add(pad).min(width);
            let y1 = w.rect.bottom().saturating_add(pad).min(height);
            (x1 > x0 && y1 > y0).then(|| Rect { x: x0, y: y0, w: x1 - x0, h: y1 - y0 })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(t: &str, x: u32, y: u32, ww: u32, h: u32) -> Word {
        Word { text: t.into(), conf: 90.0, rect: Rect { x, y, w: ww, h } }
    }

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.text().0).collect()
    }

    #[test]
    fn groups_two_lines_in_reading_order() {
        let words = vec![
            w("DOE,", 200, 10, 60, 20),
            w("Name:", 100, 12, 80, 20),
            w("JOHN", 270, 11, 70, 20),
            w("MRN", 100, 60, 60, 20),
            w("12-345", 170, 61, 90, 20),
        ];
        assert_eq!(texts(&group_lines(words)), ["Name: DOE, JOHN", "MRN 12-345"]);
    }

    #[test]
    fn far_apart_words_on_one_row_are_separate_lines() {
        let words = vec![w("HR", 10, 10, 30, 20), w("72", 50, 10, 30, 20), w("Propofol", 900, 10, 120, 20)];
        assert_eq!(texts(&group_lines(words)), ["HR 72", "Propofol"]);
    }

    #[test]
    fn follows_a_rotated_line() {
        // Each word 6 px lower than the previous (about 8 degrees).
        let words: Vec<Word> = (0..5).map(|i| w(&format!("w{i}"), 10 + i * 45, 100 + i * 6, 40, 20)).collect();
        let lines = group_lines(words);
        assert_eq!(texts(&lines), ["w0 w1 w2 w3 w4"]);
        let below = vec![w("a", 10, 100, 40, 20), w("b", 10, 130, 40, 20)];
        assert_eq!(group_lines(below).len(), 2);
    }

    #[test]
    fn word_ranges_and_span_lookup() {
        let l = Line { words: vec![w("Name:", 0, 0, 1, 1), w("Zoë", 0, 0, 1, 1), w("Ng", 0, 0, 1, 1)] };
        let (text, ranges) = l.text();
        assert_eq!(text, "Name: Zoë Ng");
        assert_eq!(ranges, [(0, 5), (6, 9), (10, 12)]);
        assert_eq!(l.words_in(6, 12), [1, 2]);
        assert_eq!(l.words_in(5, 6), Vec::<usize>::new());
        assert_eq!(l.words_in(8, 9), [1]);
        assert!((l.confidence() - 90.0).abs() < 1e-3);
    }

    #[test]
    fn masks_are_padded_and_clipped() {
        let words = [w("a", 10, 10, 20, 16), w("b", 0, 0, 5, 4), w("c", 95, 45, 10, 10)];
        let r = mask_rects(&words, 100, 50);
        assert_eq!(r[0], Rect { x: 6, y: 6, w: 28, h: 24 });
        assert_eq!(r[1], Rect { x: 0, y: 0, w: 7, h: 6 });
        assert_eq!(r[2], Rect { x: 93, y: 43, w: 7, h: 7 });
    }
}
