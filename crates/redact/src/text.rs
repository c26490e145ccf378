//! Text helpers: diacritic folding, word tokens, byte → code-point offsets.

use crate::merge::ByteSpan;
use crate::Finding;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// FNV-1a: the dictionaries hold short keys, SipHash is needlessly slow for them.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Hash builder for [`Fnv`].
pub type FnvBuild = std::hash::BuildHasherDefault<Fnv>;
/// A set with the fast hasher.
pub type FastSet<T> = std::collections::HashSet<T, FnvBuild>;
/// A map with the fast hasher.
pub type FastMap<K, V> = std::collections::HashMap<K, V, FnvBuild>;

/// Lowercases and strips diacritics ("Trần" → "tran", "Łukasz" → "lukasz", "O’Neil" → "o'neil").
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    if s.is_ascii() {
        for c in s.chars() {
            out.push(c.to_ascii_lowercase());
        }
        return out;
    }
    for c in s.chars() {
        match c {
            'ł' | 'Ł' => out.push('l'),
            'đ' | 'Đ' | 'ð' | 'Ð' => out.push('d'),
            'ø' | 'Ø' => out.push('o'),
            'ß' => out.push_str("ss"),
            'ı' => out.push('i'),
            'æ' | 'Æ' => out.push_str("ae"),
            'œ' | 'Œ' => out.push_str("oe"),
            'þ' | 'Þ' => out.push_str("th"),
            'ħ' | 'Ħ' => out.push('h'),
            '’' | '‘' | '`' | 'ʼ' => out.push('\''),
            _ if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            _ => {
                for d in std::iter::once(c).nfd() {
                    if !is_combining_mark(d) {
                        out.extend(d.to_lowercase());
                    }
                }
            }
        }
    }
    out
}

/// A word: letters with inner apostrophes or hyphens ("O'Neil", "Jackson-Pratt", "Hartmann's").
#[derive(Debug, Clone)]
pub struct Word<'a> {
    pub start: usize,
    /// End of the word without a possessive "'s".
    pub end: usize,
    /// End including the possessive.
    pub full_end: usize,
    pub text: &'a str,
    pub folded: String,
    pub possessive: bool,
    /// First letter uppercase.
    pub cap: bool,
    /// At least two letters, all uppercase.
    pub allcaps: bool,
    /// Single letter directly followed by '.' ("J." in "J. Doe").
    pub initial: bool,
}

fn is_apos(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ')
}

/// Splits `text` into words (see [`Word`]).
pub fn words(text: &str) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if !c.is_alphabetic() {
            continue;
        }
        let start = i;
        let mut end = i + c.len_utf8();
        loop {
            match it.peek().copied() {
                Some((j, d)) if d.is_alphabetic() || is_combining_mark(d) => {
                    end = j + d.len_utf8();
                    it.next();
                }
                Some((j, d)) if is_apos(d) || d == '-' => {
                    // keep joiner only if a letter follows
                    let after = &text[j + d.len_utf8()..];
                    match after.chars().next() {
                        Some(n) if n.is_alphabetic() => {
                            end = j + d.len_utf8();
                            it.next();
                        }
                        _ => break,
                    }
                }
                _ => break,
            }
        }
        // digits glued to letters ("SpO2", "V7414418") make it not a word
        if let Some((_, d)) = it.peek() {
            if d.is_ascii_digit() {
                while let Some((_, d)) = it.peek() {
                    if d.is_alphanumeric() {
                        it.next();
                    } else {
                        break;
                    }
                }
                continue;
            }
        }
        if start > 0 {
            if let Some(p) = text[..start].chars().next_back() {
                if p.is_ascii_digit() {
                    continue;
                }
            }
        }
        let full = &text[start..end];
        let (stem_end, possessive) = possessive_split(full);
        let stem = &full[..stem_end];
        let first = stem.chars().next().unwrap_or(' ');
        let letters = stem.chars().filter(|c| c.is_alphabetic()).count();
        let cap = first.is_uppercase();
        let allcaps = letters >= 2 && !stem.chars().any(|c| c.is_lowercase());
        let initial = letters == 1 && text[end..].starts_with('.');
        out.push(Word {
            start,
            end: start + stem_end,
            full_end: end,
            text: stem,
            folded: fold(stem),
            possessive,
            cap,
            allcaps,
            initial,
        });
    }
    out
}

fn possessive_split(w: &str) -> (usize, bool) {
    for suf in ["'s", "’s", "'S", "’S"] {
        if w.len() > suf.len() + 1 && w.ends_with(suf) {
            return (w.len() - suf.len(), true);
        }
    }
    (w.len(), false)
}

/// Converts sorted, non-overlapping byte spans to code-point findings.
pub fn to_char_findings(text: &str, spans: &[ByteSpan]) -> Vec<Finding> {
    let mut out = Vec::with_capacity(spans.len());
    let mut chars_before = 0usize;
    let mut pos = 0usize;
    for s in spans {
        let (start, end) = (s.start.min(text.len()), s.end.min(text.len()));
        if start < pos || end <= start {
            continue;
        }
        let (Some(a), Some(b)) = (text.get(pos..start), text.get(start..end)) else {
            continue;
        };
        chars_before += a.chars().count();
        let len = b.chars().count();
        out.push(Finding { kind: s.kind, start: chars_before, end: chars_before + len });
        chars_before += len;
        pos = end;
    }
    out
}

/// Previous non-space character before byte `i`.
pub fn prev_char(text: &str, i: usize) -> Option<char> {
    text.get(..i)?.chars().rev().find(|c| !c.is_whitespace())
}

/// True if the position is at the start of a sentence or a message field.
pub fn at_clause_start(text: &str, i: usize) -> bool {
    match prev_char(text, i) {
        None => true,
        Some(c) => matches!(c, '.' | ':' | ';' | '|' | '—' | '–' | '!' | '?' | '(' | '"' | '/' | '-' | '•' | '>'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding() {
        assert_eq!(fold("Trần"), "tran");
        assert_eq!(fold("Łukasz"), "lukasz");
        assert_eq!(fold("MÜŞÜRE"), "musure");
        assert_eq!(fold("O’Neil"), "o'neil");
        assert_eq!(fold("NGUYỄN"), "nguyen");
    }

    #[test]
    fn tokenizes_possessives_and_initials() {
        let w = words("Mr. Sato's J. Doe SpO2 Jackson-Pratt");
        let t: Vec<&str> = w.iter().map(|w| w.text).collect();
        assert_eq!(t, vec!["Mr", "Sato", "J", "Doe", "Jackson-Pratt"]);
        assert!(w[1].possessive);
        assert!(w[2].initial);
        assert!(w[0].cap && !w[0].allcaps);
    }

    #[test]
    fn char_offsets() {
        let text = "é Ab";
        let f = to_char_findings(text, &[ByteSpan { kind: crate::PhiType::Name, start: 3, end: 5 }]);
        assert_eq!((f[0].start, f[0].end), (2, 4));
    }
}
