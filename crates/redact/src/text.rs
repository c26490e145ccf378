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
    fold_into(s, &mut out);
    out
}

/// [`fold`], appended to `out`.
pub fn fold_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        for c in s.chars() {
            out.push(c.to_ascii_lowercase());
        }
        return;
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
    /// [`fold`] of `text`: a slice of the lowercased message, or of the fold arena if not ASCII.
    pub folded: &'a str,
    /// Code points in `text`.
    pub nchars: usize,
    pub possessive: bool,
    /// First letter uppercase.
    pub cap: bool,
    /// At least two letters, all uppercase.
    pub allcaps: bool,
    /// Single letter directly followed by '.' ("J." in "J. Doe").
    pub initial: bool,
    /// Dictionary flags of `folded` (`eponyms::flag`), set by `Names::annotate`; 0 before.
    pub flags: u32,
}

fn is_apos(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ')
}

/// Splits `text` into words (see [`Word`]). `lower` must be `text.to_ascii_lowercase()` (same
/// byte offsets); ASCII words take their folded form from it, the others are folded into
/// `arena`, so tokenizing allocates only the word list.
pub fn words<'a>(text: &'a str, lower: &'a str, arena: &'a mut String) -> Vec<Word<'a>> {
    let b = text.as_bytes();
    let mut out: Vec<Word<'a>> = Vec::with_capacity(b.len() / 6 + 1);
    // (word index, arena range) of the non-ASCII words, patched in once the arena is complete
    let mut pending: Vec<(usize, usize, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c0 = b[i];
        let clen = if c0 < 0x80 {
            if !c0.is_ascii_alphabetic() {
                i += 1;
                continue;
            }
            1
        } else {
            let (c, clen) = char_at(text, i);
            if !c.is_alphabetic() {
                i += clen;
                continue;
            }
            clen
        };
        let start = i;
        let mut end = i + clen;
        while end < b.len() {
            let d = b[end];
            if d.is_ascii_alphabetic() {
                end += 1;
                continue;
            }
            let (dc, dlen) = if d < 0x80 { (char::from(d), 1) } else { char_at(text, end) };
            if !dc.is_ascii() && (dc.is_alphabetic() || is_combining_mark(dc)) {
                end += dlen;
                continue;
            }
            // keep an apostrophe or hyphen only if a letter follows
            if (is_apos(dc) || dc == '-') && end + dlen < b.len() && is_letter_at(text, end + dlen) {
                end += dlen;
                continue;
            }
            break;
        }
        // digits glued to letters ("SpO2", "V7414418") make it not a word
        if end < b.len() && b[end].is_ascii_digit() {
            let mut j = end;
            while j < b.len() {
                if b[j].is_ascii_alphanumeric() {
                    j += 1;
                    continue;
                }
                let (d, dlen) = char_at(text, j);
                if !d.is_alphanumeric() {
                    break;
                }
                j += dlen;
            }
            i = j;
            continue;
        }
        i = end;
        if start > 0 && b[start - 1].is_ascii_digit() {
            continue;
        }
        let full = &text[start..end];
        let (stem_end, possessive) = possessive_split(full);
        let stem = &full[..stem_end];
        let sb = stem.as_bytes();
        let (cap, letters, allcaps, nchars, ascii) = if stem.is_ascii() {
            let cap = sb.first().is_some_and(u8::is_ascii_uppercase);
            let letters = sb.iter().filter(|c| c.is_ascii_alphabetic()).count();
            (cap, letters, cap && letters >= 2 && !sb.iter().any(u8::is_ascii_lowercase), sb.len(), true)
        } else {
            let cap = stem.chars().next().is_some_and(char::is_uppercase);
            let letters = stem.chars().filter(|c| c.is_alphabetic()).count();
            (cap, letters, letters >= 2 && !stem.chars().any(|c| c.is_lowercase()), stem.chars().count(), false)
        };
        let initial = letters == 1 && b.get(end) == Some(&b'.');
        let folded = if ascii {
            lower.get(start..start + stem_end).unwrap_or("")
        } else {
            let a = arena.len();
            fold_into(stem, arena);
            pending.push((out.len(), a, arena.len()));
            ""
        };
        out.push(Word {
            start,
            end: start + stem_end,
            full_end: end,
            text: stem,
            folded,
            nchars,
            possessive,
            cap,
            allcaps,
            initial,
            flags: 0,
        });
    }
    if !pending.is_empty() {
        let arena: &'a String = arena;
        for (w, a, e) in pending {
            if let (Some(word), Some(f)) = (out.get_mut(w), arena.get(a..e)) {
                word.folded = f;
            }
        }
    }
    out
}

/// Words of `text` with leaked buffers (tests only; flags not set).
#[cfg(test)]
pub fn words_of(text: &str) -> Vec<Word<'static>> {
    let text: &'static str = Box::leak(text.to_string().into_boxed_str());
    let lower: &'static str = Box::leak(text.to_ascii_lowercase().into_boxed_str());
    let arena: &'static mut String = Box::leak(Box::default());
    words(text, lower, arena)
}

/// The char starting at byte `i` (a char boundary) and its length; ASCII fast path.
fn char_at(text: &str, i: usize) -> (char, usize) {
    match text.as_bytes().get(i) {
        Some(&b) if b < 0x80 => (char::from(b), 1),
        _ => text.get(i..).and_then(|t| t.chars().next()).map_or((' ', 1), |c| (c, c.len_utf8())),
    }
}

fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || (!c.is_ascii() && c.is_alphabetic())
}

/// The char at byte `i` (a char boundary) is a letter.
fn is_letter_at(text: &str, i: usize) -> bool {
    match text.as_bytes().get(i) {
        Some(&b) if b < 0x80 => b.is_ascii_alphabetic(),
        _ => is_letter(char_at(text, i).0),
    }
}

/// Length without a possessive "'s" / "’s" (any case of the s), and whether there was one.
fn possessive_split(w: &str) -> (usize, bool) {
    let b = w.as_bytes();
    let n = b.len();
    if n >= 2 && matches!(b[n - 1], b's' | b'S') {
        if n > 3 && b[n - 2] == b'\'' {
            return (n - 2, true);
        }
        if n > 5 && b[n - 4..n - 1] == *"’".as_bytes() {
            return (n - 4, true);
        }
    }
    (n, false)
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

/// Cheap byte-level facts about a message, used to skip regexes that cannot match.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shape {
    pub digits: usize,
    pub dots: usize,
    /// digit, one of "/-.", digit
    pub digit_sep_digit: bool,
    /// digit, space, digit
    pub digit_space_digit: bool,
    /// digit, space, uppercase ASCII letter
    pub digit_space_upper: bool,
    /// a '-' anywhere
    pub dash: bool,
    /// a number starting with 9, or 10–12 followed by a digit (ages over 89)
    pub age_like: bool,
    /// a run of exactly five digits (ZIP codes)
    pub five_digit_run: bool,
    /// a month name or abbreviation somewhere (any case)
    pub month_word: bool,
    /// a residence word (lives, resides, address, home, moved, born, P.O. box…)
    pub residence_word: bool,
}

const MONTH_HINTS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const RESIDENCE_HINTS: [&str; 11] =
    ["live", "resid", "address", "addr", "home", "box", "moved", "relocated", "born", "raised", "grew"];

fn hints() -> &'static aho_corasick::AhoCorasick {
    static AC: std::sync::OnceLock<aho_corasick::AhoCorasick> = std::sync::OnceLock::new();
    AC.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(MONTH_HINTS.iter().chain(RESIDENCE_HINTS.iter()))
            .expect("static automaton")
    })
}

impl Shape {
    pub fn of(text: &str) -> Shape {
        let b = text.as_bytes();
        let mut s = Shape::default();
        let mut run = 0usize;
        for i in 0..b.len() {
            let c = b[i];
            if c.is_ascii_digit() {
                run += 1;
                if run == 5 && !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    s.five_digit_run = true;
                }
            } else {
                run = 0;
            }
            if c.is_ascii_digit() {
                s.digits += 1;
                let start = i == 0 || !b[i - 1].is_ascii_digit();
                if start && (c == b'9' || c == b'1') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    s.age_like = true;
                }
                if let (Some(&n), Some(&m)) = (b.get(i + 1), b.get(i + 2)) {
                    if matches!(n, b'/' | b'-' | b'.') && m.is_ascii_digit() {
                        s.digit_sep_digit = true;
                    }
                    if n == b' ' && m.is_ascii_digit() {
                        s.digit_space_digit = true;
                    }
                    if n == b' ' && m.is_ascii_uppercase() {
                        s.digit_space_upper = true;
                    }
                }
            } else if c == b'.' {
                s.dots += 1;
            } else if c == b'-' {
                s.dash = true;
            }
        }
        for m in hints().find_iter(text) {
            if m.pattern().as_usize() < MONTH_HINTS.len() {
                s.month_word = true;
            } else {
                s.residence_word = true;
            }
            if s.month_word && s.residence_word {
                break;
            }
        }
        s
    }
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
        let w = words_of("Mr. Sato's J. Doe SpO2 Jackson-Pratt");
        let t: Vec<&str> = w.iter().map(|w| w.text).collect();
        assert_eq!(t, vec!["Mr", "Sato", "J", "Doe", "Jackson-Pratt"]);
        assert!(w[1].possessive);
        assert!(w[2].initial);
        assert!(w[0].cap && !w[0].allcaps);
        let w = words_of("Trần’s ŁUKASZ O’Neil’S é");
        let t: Vec<(&str, &str)> = w.iter().map(|w| (w.text, w.folded)).collect();
        assert_eq!(t, vec![("Trần", "tran"), ("ŁUKASZ", "lukasz"), ("O’Neil", "o'neil"), ("é", "e")]);
        assert!(w[0].possessive && w[2].possessive && w[1].allcaps && w[3].nchars == 1);
    }

    #[test]
    fn char_offsets() {
        let text = "é Ab";
        let f = to_char_findings(text, &[ByteSpan { kind: crate::PhiType::Name, start: 3, end: 5 }]);
        assert_eq!((f[0].start, f[0].end), (2, 4));
    }
}
