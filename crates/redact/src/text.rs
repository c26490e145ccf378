//! Text helpers: diacritic folding, word tokens, byte → code-point offsets.

use crate::merge::ByteSpan;
use crate::Finding;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// A multiply-rotate hash over 8-byte words (FxHash style): the dictionaries hold short keys
/// and are fixed at startup, so SipHash's DoS resistance buys nothing and byte-wise FNV costs
/// several instructions per byte.
#[derive(Debug, Clone, Copy, Default)]
pub struct FastHasher(u64);

const HASH_K: u64 = 0x9e37_79b9_7f4a_7c15;

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(HASH_K);
    }
}

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // fold the well-mixed high half into the low bits (hashbrown indexes with the low bits)
        self.0 ^ (self.0 >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
}

/// Hash builder for [`FastHasher`].
pub type FastBuild = std::hash::BuildHasherDefault<FastHasher>;
/// A set with the fast hasher.
pub type FastSet<T> = std::collections::HashSet<T, FastBuild>;
/// A map with the fast hasher.
pub type FastMap<K, V> = std::collections::HashMap<K, V, FastBuild>;

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
    // prose averages 5–6 bytes per word: reserve enough that the list is not reallocated
    let mut out: Vec<Word<'a>> = Vec::with_capacity(b.len() / 4 + 4);
    // (word index, arena range) of the non-ASCII words, patched in once the arena is complete
    let mut pending: Vec<(usize, usize, usize)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c0 = b[i];
        let clen = if c0 < 0x80 {
            if class::TABLE[usize::from(c0)] & class::ALPHA == 0 {
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
        // ASCII letters seen (and how many lowercase) and whether the word is all ASCII
        let mut all_ascii = c0 < 0x80;
        let (mut nlet, mut nlow) = (usize::from(all_ascii), usize::from(c0.is_ascii_lowercase()));
        while end < b.len() {
            let d = b[end];
            if class::TABLE[usize::from(d)] & class::ALPHA != 0 {
                nlet += 1;
                nlow += usize::from(d & 0x20 != 0);
                end += 1;
                continue;
            }
            let (dc, dlen) = if d < 0x80 { (char::from(d), 1) } else { char_at(text, end) };
            if !dc.is_ascii() && (dc.is_alphabetic() || is_combining_mark(dc)) {
                all_ascii = false;
                end += dlen;
                continue;
            }
            // keep an apostrophe or hyphen only if a letter follows
            if (is_apos(dc) || dc == '-') && end + dlen < b.len() && is_letter_at(text, end + dlen) {
                all_ascii &= dc.is_ascii();
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
        let (cap, letters, allcaps, nchars, ascii) = if all_ascii {
            // counts of the whole word, less a possessive "'s"
            if possessive {
                nlet -= 1;
                nlow -= usize::from(b[end - 1] == b's');
            }
            let cap = c0.is_ascii_uppercase();
            (cap, nlet, cap && nlet >= 2 && nlow == 0, stem_end, true)
        } else if stem.is_ascii() {
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

/// Cheap byte-level facts about a message, used to skip regexes that cannot match. Each flag is
/// a necessary condition for a match of the regex it guards (Unicode `\d` and `\s` included:
/// non-ASCII bytes are treated as possible digits or spaces).
#[derive(Debug, Clone, Copy, Default)]
pub struct Shape {
    pub digits: usize,
    pub dots: usize,
    pub colons: usize,
    /// "::" somewhere (compressed IPv6)
    pub double_colon: bool,
    /// a '+' somewhere
    pub plus: bool,
    /// four digit runs joined by single dots ("10.141.253.30")
    pub dotted_quad: bool,
    /// digit, one of "/-.", digit
    pub digit_sep_digit: bool,
    /// digit, space, digit
    pub digit_space_digit: bool,
    /// digit, space, uppercase ASCII letter; or a house number with a letter ("45B Elm",
    /// "45-B Elm"): digit, optional '-', one letter, space, uppercase letter
    pub digit_space_upper: bool,
    /// a '-' anywhere
    pub dash: bool,
    /// a number starting with 9, or 10–12 followed by a digit (ages over 89)
    pub age_like: bool,
    /// a digit run starting with 9 or 1 that may have two digits or more (`age_like`, or a
    /// non-ASCII byte after a single digit)
    pub age_number: bool,
    /// an `age_number` followed, after spaces, hyphens or non-ASCII bytes, by y/m/f
    /// ("93 yo", "102-year-old", "91 F")
    pub age_unit: bool,
    /// ten ASCII digits within 53 bytes (the longest North American phone form), or a '+'
    pub phone_like: bool,
    /// digit groups that can form a numeric date: two separators ("1962-05-02", "7.32/45/88"),
    /// a group of 4+ after one ("02/2015"), or exactly eight digits ("19620502")
    pub numeric_date_like: bool,
    /// runs of 1–2 digits around '/' or '-' ("5/29", "08-27")
    pub short_date_like: bool,
    /// a run of exactly five digits (ZIP codes)
    pub five_digit_run: bool,
    /// a word starting with a month name or abbreviation (any case)
    pub month_word: bool,
    /// maximal runs of ASCII digits (start, end), the first `MAX_RUNS`; see `digit_runs`
    runs: [(u32, u32); MAX_RUNS],
    nruns: usize,
    /// a word starting with a residence hint (lives, resides, address, home, moved, born, box…)
    pub residence_word: bool,
    /// a word starting "ninety", "hundred", "centenarian" or "nonagenarian" (ages in words)
    pub number_word: bool,
    /// a word starting "age" or "turn" ("age 93", "turned 99")
    pub age_word: bool,
    /// a word starting "from" (a town after "gentleman from", "originally from")
    pub from_word: bool,
}

const MONTH_HINTS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const RESIDENCE_HINTS: [&str; 12] =
    ["live", "living", "resid", "address", "addr", "home", "box", "moved", "relocated", "born", "raised", "grew"];

fn hints() -> &'static aho_corasick::AhoCorasick {
    static AC: std::sync::OnceLock<aho_corasick::AhoCorasick> = std::sync::OnceLock::new();
    AC.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(MONTH_HINTS.iter().chain(&RESIDENCE_HINTS))
            .expect("static automaton")
    })
}

/// Digit runs remembered by [`Shape`].
const MAX_RUNS: usize = 32;

impl Shape {
    /// All maximal runs of ASCII digits as (start, end), or `None` if there were too many to
    /// keep (then scan the text).
    pub fn digit_runs(&self) -> Option<&[(u32, u32)]> {
        (self.nruns <= MAX_RUNS).then(|| &self.runs[..self.nruns])
    }
}

/// Byte classes for the single-pass scans.
pub(crate) mod class {
    pub const DIGIT: u8 = 1;
    pub const ALPHA: u8 = 2;
    /// ASCII word character for `(?-u:\b)`: letter, digit or '_'.
    pub const WORD: u8 = 4;
    pub const TABLE: [u8; 256] = {
        let mut t = [0u8; 256];
        let mut i = 0;
        while i < 256 {
            let c = i as u8;
            t[i] = if c.is_ascii_digit() {
                DIGIT | WORD
            } else if c.is_ascii_alphabetic() {
                ALPHA | WORD
            } else if c == b'_' {
                WORD
            } else {
                0
            };
            i += 1;
        }
        t
    };
}

impl Shape {
    pub fn of(text: &str) -> Shape {
        let b = text.as_bytes();
        let n = b.len();
        let mut s = Shape::default();
        // positions of the last ten ASCII digits (ring buffer), for `phone_like`
        let mut last10 = [0usize; 10];
        // previous digit runs (start, end) for the date gates, and '.'-joined runs in a row
        let mut prev: Option<(usize, usize)> = None;
        let mut prev2: Option<(usize, usize)> = None;
        let mut dotted = 0usize;
        let mut prev_word = false;
        let mut i = 0;
        while i < n {
            let c = b[i];
            let cl = class::TABLE[usize::from(c)];
            if cl & class::ALPHA != 0 {
                if !prev_word {
                    s.word_hint(&b[i..]);
                }
                // the rest of the letters: nothing to note
                i += 1;
                while i < n && class::TABLE[usize::from(b[i])] & class::ALPHA != 0 {
                    i += 1;
                }
                prev_word = true;
                continue;
            }
            if cl & class::DIGIT == 0 {
                prev_word = c == b'_';
                match c {
                    b'.' => s.dots += 1,
                    b'-' => s.dash = true,
                    b':' => {
                        s.colons += 1;
                        s.double_colon |= b.get(i + 1) == Some(&b':');
                    }
                    b'+' => s.plus = true,
                    _ => {}
                }
                i += 1;
                continue;
            }
            // a maximal run of ASCII digits
            prev_word = true;
            let start = i;
            while i < n && b[i].is_ascii_digit() {
                last10[s.digits % 10] = i;
                s.digits += 1;
                if s.digits >= 10 && i - last10[(s.digits - 10) % 10] < 53 {
                    s.phone_like = true;
                }
                if let (Some(&nx), Some(&m)) = (b.get(i + 1), b.get(i + 2)) {
                    if matches!(nx, b'/' | b'-' | b'.') && m.is_ascii_digit() {
                        s.digit_sep_digit = true;
                    }
                    if nx == b' ' && m.is_ascii_digit() {
                        s.digit_space_digit = true;
                    }
                    // an uppercase letter, or a non-ASCII one ("14 Ōkere Road")
                    if nx == b' ' && (m.is_ascii_uppercase() || m >= 0xC0) {
                        s.digit_space_upper = true;
                    }
                    // "45B Elm", "45-B Elm"
                    let k = i + 1 + usize::from(nx == b'-');
                    if let (Some(l), Some(b' '), Some(u)) = (b.get(k), b.get(k + 1), b.get(k + 2)) {
                        if l.is_ascii_alphabetic() && u.is_ascii_uppercase() {
                            s.digit_space_upper = true;
                        }
                    }
                }
                i += 1;
            }
            let end = i;
            let len = end - start;
            if let (Some(slot), Ok(s32), Ok(e32)) = (s.runs.get_mut(s.nruns), u32::try_from(start), u32::try_from(end))
            {
                *slot = (s32, e32);
            } else {
                s.nruns = MAX_RUNS; // beyond the array, or offsets too large: report too many
            }
            s.nruns += 1;
            if len == 5 {
                s.five_digit_run = true;
            }
            if len == 8 {
                s.numeric_date_like = true;
            }
            if matches!(b[start], b'9' | b'1') {
                s.age_like |= len >= 2;
                if len >= 2 || b.get(end).is_some_and(|&x| x >= 0x80) {
                    s.age_number = true;
                    let mut k = end;
                    while k < n && (b[k].is_ascii_whitespace() || b[k] == b'-' || b[k] >= 0x80) {
                        k += 1;
                    }
                    if b.get(k).is_some_and(|x| matches!(x, b'y' | b'Y' | b'm' | b'M' | b'f' | b'F')) {
                        s.age_unit = true;
                    }
                }
            }
            let dot_joined = prev.is_some_and(|(_, pe)| pe + 1 == start && b[pe] == b'.');
            dotted = if dot_joined { dotted + 1 } else { 1 };
            s.dotted_quad |= dotted >= 4;
            if let Some((ps, pe)) = prev {
                let sep = b[pe];
                if pe + 1 == start && matches!(sep, b'/' | b'-' | b'.') {
                    if len >= 4 || prev2.is_some_and(|(_, ppe)| ppe + 1 == ps && matches!(b[ppe], b'/' | b'-' | b'.')) {
                        s.numeric_date_like = true;
                    }
                    if sep != b'.' && len <= 2 && pe - ps <= 2 {
                        s.short_date_like = true;
                    }
                }
            }
            prev2 = prev;
            prev = Some((start, end));
        }
        // the international form needs a '+'
        s.phone_like |= s.plus;
        s.finish_word_hints(text);
        s
    }
}

/// `b` starts with `word`, ASCII case-insensitively.
fn starts_ci(b: &[u8], word: &[u8]) -> bool {
    b.len() >= word.len() && b[..word.len()].eq_ignore_ascii_case(word)
}

impl Shape {
    /// Word flags (month, residence, number and age words) from an ASCII letter `t[0]` at an
    /// ASCII word boundary. Every pattern these flags guard needs its keyword at such a
    /// boundary, so other positions need not be looked at.
    fn word_hint(&mut self, t: &[u8]) {
        let any = |ws: &[&str]| ws.iter().any(|w| starts_ci(t, w.as_bytes()));
        match t.first().map(u8::to_ascii_lowercase) {
            Some(b'j') => self.month_word |= any(&["jan", "jun", "jul"]),
            Some(b'f') => {
                self.month_word |= starts_ci(t, b"feb");
                self.from_word |= starts_ci(t, b"from");
            }
            Some(b'm') => {
                self.month_word |= any(&["mar", "may"]);
                self.residence_word |= starts_ci(t, b"moved");
            }
            Some(b'a') => {
                self.month_word |= any(&["apr", "aug"]);
                self.residence_word |= starts_ci(t, b"addr");
                self.age_word |= starts_ci(t, b"age");
            }
            Some(b's') => self.month_word |= starts_ci(t, b"sep"),
            Some(b'o') => self.month_word |= starts_ci(t, b"oct"),
            Some(b'n') => {
                self.month_word |= starts_ci(t, b"nov");
                self.number_word |= any(&["ninety", "nineties", "nonagenarian"]);
            }
            Some(b'd') => self.month_word |= starts_ci(t, b"dec"),
            // "lives", "lived", "living"
            Some(b'l') => self.residence_word |= starts_ci(t, b"liv"),
            Some(b'r') => self.residence_word |= any(&["resid", "relocated", "raised"]),
            Some(b'h') => {
                self.residence_word |= starts_ci(t, b"home");
                self.number_word |= starts_ci(t, b"hundred");
            }
            Some(b'b') => self.residence_word |= any(&["box", "born"]),
            Some(b'g') => self.residence_word |= starts_ci(t, b"grew"),
            Some(b't') => self.age_word |= starts_ci(t, b"turn"),
            Some(b'c') => self.number_word |= starts_ci(t, b"centenarian"),
            _ => {}
        }
    }

    /// The month and residence flags stay within the original "contains a hint" test, so no
    /// pattern runs where it did not before; with 'ſ' or 'K' (which match 's' and 'k'
    /// case-insensitively) the original test is used as is.
    fn finish_word_hints(&mut self, text: &str) {
        let unusual = !text.is_ascii() && (text.contains('ſ') || text.contains('\u{212A}'));
        if unusual {
            self.month_word = false;
            self.residence_word = false;
            for m in hints().find_iter(text) {
                if m.pattern().as_usize() < MONTH_HINTS.len() {
                    self.month_word = true;
                } else {
                    self.residence_word = true;
                }
            }
        }
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
