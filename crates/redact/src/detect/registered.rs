//! The session's registered identifiers — the strongest signal. Names match each part and the
//! full name in any order ("Last, First", "J. Doe"), insensitive to case, diacritics, spacing and
//! possessives, tolerant of one-letter typos in longer tokens. MRNs and other numbers match with
//! spaces, dashes, dots or parentheses ignored. Registered dates match in any common form.

use super::dates::{self, DateHit, Ymd};
use super::eponyms::flag;
use super::{prio, Output};
use crate::text::FastSet;
use crate::text::{fold, Shape, Word};
use crate::{Identifiers, PhiType};

/// Compiled per session from [`Identifiers`]. `Send + Sync`. No `Debug`:
/// it holds the patient's identifiers.
#[derive(Clone, Default)]
pub struct PatientMatcher {
    /// Automaton over the normalized `ids` made of digits only; pattern i is `ids[digit_ids[i]]`.
    ac_digits: Option<aho_corasick::AhoCorasick>,
    digit_ids: Vec<usize>,
    min_digit_len: usize,
    /// Automaton over the other normalized `ids` (with letters); pattern i is `ids[mixed_ids[i]]`.
    ac_mixed: Option<aho_corasick::AhoCorasick>,
    mixed_ids: Vec<usize>,
    min_mixed_len: usize,
    /// Folded name parts, deduplicated (a handful: a linear scan beats hashing).
    parts: Vec<String>,
    /// Bit `l` set if a part has `l` bytes (63: 63 or more).
    part_lens: u64,
    typo_parts: Vec<Vec<char>>,
    initials: FastSet<char>,
    /// Uppercase initials of each registered name ("Hinewai Tapsell-Kereama" → "HT", "HTK").
    name_initials: Vec<String>,
    ids: Vec<(String, PhiType)>,
    emails: Vec<String>,
    dates: Vec<Ymd>,
}

impl PatientMatcher {
    pub fn new(ids: &Identifiers) -> PatientMatcher {
        let mut m = PatientMatcher::default();
        for name in &ids.names {
            for v in initials_of(name) {
                if !m.name_initials.contains(&v) {
                    m.name_initials.push(v);
                }
            }
            for part in name.split(|c: char| !(c.is_alphabetic() || c == '\'' || c == '’' || c == '-')) {
                let f = fold(part.trim_matches(['\'', '’', '-']));
                if f.chars().count() < 2 {
                    continue;
                }
                if let Some(c) = f.chars().next() {
                    m.initials.insert(c);
                }
                if f.chars().count() >= 5 {
                    m.typo_parts.push(f.chars().collect());
                }
                // hyphenated surnames also match by halves
                if f.contains('-') {
                    for h in f.split('-').filter(|h| h.chars().count() >= 2) {
                        if !m.parts.iter().any(|p| p == h) {
                            m.parts.push(h.to_string());
                        }
                    }
                }
                if !m.parts.contains(&f) {
                    m.parts.push(f);
                }
            }
        }
        m.part_lens = m.parts.iter().fold(0, |acc, p| acc | 1u64 << p.len().min(63));
        for mrn in &ids.mrns {
            let n = normalize_id(mrn);
            if n.len() >= 4 {
                m.ids.push((n, PhiType::Mrn));
            }
        }
        for o in &ids.other {
            let t = o.trim();
            if t.contains('@') {
                m.emails.push(t.to_lowercase());
                continue;
            }
            let n = normalize_id(t);
            if n.len() >= 4 {
                m.ids.push((n, shape_of_registered(t)));
            }
            if let Some(d) = dates::parse_any(t) {
                m.dates.push(d);
            }
        }
        for d in &ids.dates {
            if let Some(ymd) = dates::parse_any(d) {
                m.dates.push(ymd);
                for v in date_digit_variants(ymd) {
                    m.ids.push((v, PhiType::Date));
                }
            }
        }
        let (digit_ids, mixed_ids): (Vec<usize>, Vec<usize>) =
            (0..m.ids.len()).partition(|&i| m.ids[i].0.bytes().all(|b| b.is_ascii_digit()));
        let build = |sel: &[usize]| {
            if sel.is_empty() {
                return None;
            }
            aho_corasick::AhoCorasick::builder()
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .prefilter(false)
                .build(sel.iter().map(|&i| m.ids[i].0.as_str()))
                .ok()
        };
        m.ac_digits = build(&digit_ids);
        m.ac_mixed = build(&mixed_ids);
        m.min_digit_len = digit_ids.iter().map(|&i| m.ids[i].0.len()).min().unwrap_or(0);
        m.min_mixed_len = mixed_ids.iter().map(|&i| m.ids[i].0.len()).min().unwrap_or(0);
        m.digit_ids = digit_ids;
        m.mixed_ids = mixed_ids;
        m
    }

    /// True if nothing was registered.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty() && self.ids.is_empty() && self.emails.is_empty() && self.dates.is_empty()
    }

    #[inline]
    fn name_match(&self, w: &Word<'_>) -> bool {
        let f: &str = w.folded;
        // quick reject on the length: no part of that length and too short for a typo match
        let len_known = self.part_lens & (1u64 << f.len().min(63)) != 0;
        let typo_possible = w.cap && f.len() >= 5 && !self.typo_parts.is_empty();
        if !(len_known || typo_possible) {
            return false;
        }
        self.name_match_full(w)
    }

    fn name_match_full(&self, w: &Word<'_>) -> bool {
        let f: &str = w.folded;
        if f.len() < 2 {
            return false;
        }
        if self.parts.iter().any(|p| p == f) {
            // common words ("Will", "Hope") only when capitalized (flags set by `Names::annotate`)
            return w.cap || w.flags & flag::COMMON == 0;
        }
        if w.cap && f.len() >= 5 && !self.typo_parts.is_empty() {
            let n = f.chars().count();
            if n < 5 || !self.typo_parts.iter().any(|p| p.len().abs_diff(n) <= 1) {
                return false;
            }
            let mut buf = ['\0'; 48];
            if n <= buf.len() {
                for (slot, c) in buf.iter_mut().zip(f.chars()) {
                    *slot = c;
                }
                return self.typo_parts.iter().any(|p| within_one_edit(p, &buf[..n]));
            }
            let fc: Vec<char> = f.chars().collect();
            return self.typo_parts.iter().any(|p| within_one_edit(p, &fc));
        }
        false
    }

    pub(crate) fn detect(
        &self,
        text: &str,
        shape: &Shape,
        words: &[Word<'_>],
        date_hits: &[DateHit],
        out: &mut Output,
    ) {
        // names (most messages hold none of the registered parts: no list is built then)
        let n = words.len();
        let first = words.iter().position(|w| self.name_match(w));
        let matched: Vec<bool> = match first {
            Some(f) => (0..n).map(|i| i == f || (i > f && self.name_match(&words[i]))).collect(),
            None => Vec::new(),
        };
        for i in first.unwrap_or(n)..n {
            if !matched[i] || instrument_use(text, words, &matched, i) {
                continue;
            }
            let mut start = words[i].start;
            // initial before: "J. Doe", "M.Jüttner"
            if i > 0 {
                let p = &words[i - 1];
                let g = text.get(p.full_end..words[i].start).unwrap_or("");
                let first = p.folded.chars().next().unwrap_or(' ');
                if p.nchars == 1 && p.cap && (g == "." || g == ". " || g == " ") && self.initials.contains(&first) {
                    start = p.start;
                }
            }
            out.push(PhiType::Name, start, words[i].end, prio::REGISTERED_NAME);
            // middle names / initials between two matched parts: "Wei Larry Bai", "Pranav J. Sathe"
            let mut j = i + 1;
            while j < n && j <= i + 3 {
                let g = text.get(words[j - 1].full_end..words[j].start).unwrap_or("");
                let joined = g.len() <= 2 && g.chars().all(|c| c == ' ' || c == '.');
                if !joined || !(words[j].cap || matched[j]) {
                    break;
                }
                if matched[j] {
                    if j > i + 1 {
                        out.push(PhiType::Name, words[i].start, words[j].end, prio::REGISTERED_NAME);
                    }
                    break;
                }
                j += 1;
            }
        }
        // the registered name's initials used as a name: "TF tolerated", "LB to PACU"
        if !self.name_initials.is_empty() {
            for (i, w) in words.iter().enumerate() {
                if w.allcaps
                    && (2..=4).contains(&w.nchars)
                    && w.flags & (flag::COMMON | flag::JARGON) == 0
                    && self.name_initials.iter().any(|v| v == w.text)
                    && super::names::initials_used_as_name(text, words, i)
                {
                    out.push(PhiType::Name, w.start, w.end, prio::REGISTERED_NAME);
                }
            }
        }
        // emails
        if !self.emails.is_empty() && text.contains('@') {
            let lower = text.to_lowercase();
            if lower.len() == text.len() {
                for e in &self.emails {
                    for (pos, _) in lower.match_indices(e.as_str()) {
                        out.push(PhiType::Email, pos, pos + e.len(), prio::REGISTERED);
                    }
                }
            }
        }
        // numbers and dates written with any separators; an all-digit identifier can only
        // cover digit-only groups, so it is searched in the digit runs of the chains only
        let mut chain = Chain::with_capacity(if shape.digits >= self.min_digit_len { 64 } else { 0 });
        if let Some(ac) = &self.ac_digits {
            let runs = shape.digit_runs();
            for_each_digit_chain(text, runs, self.min_digit_len, &mut chain, |c| {
                self.push_ids(ac, &self.digit_ids, c, out)
            });
        }
        if let Some(ac) = &self.ac_mixed {
            for_each_chain(text, self.min_mixed_len, &mut chain, |c| self.push_ids(ac, &self.mixed_ids, c, out));
        }
        if !self.dates.is_empty() {
            for &(s, e, ymd) in date_hits {
                if let Some(d) = ymd {
                    if self.dates.iter().any(|r| dates::same_date(d, *r)) {
                        out.push(PhiType::Date, s, e, prio::REGISTERED);
                    }
                }
            }
        }
    }
}

impl PatientMatcher {
    /// Registered ids found in `chain`, matched on whole groups ("431 115 20", not "1431…").
    fn push_ids(&self, ac: &aho_corasick::AhoCorasick, sel: &[usize], chain: &Chain, out: &mut Output) {
        for m in ac.find_overlapping_iter(chain.norm.as_str()) {
            let (s, e) = (m.start(), m.end());
            let Some((_, kind)) = sel.get(m.pattern().as_usize()).and_then(|&i| self.ids.get(i)) else {
                continue;
            };
            if chain.group_start.contains(&s) && chain.group_end.contains(&e) {
                if let (Some(&bs), Some(&be)) = (chain.byte.get(s), chain.byte.get(e.wrapping_sub(1))) {
                    out.push(*kind, bs, be + 1, prio::REGISTERED);
                }
            }
        }
    }
}

/// A registered surname that is also an eponym, used for its instrument or sign: "Deaver
/// retractor", "McBurney's point", "two Allis clamps", "the Bookwalter", "Deaver in" — unless an
/// honorific or another part of the name stands right before it ("Mrs Deaver", "Oriel McBurney").
fn instrument_use(text: &str, words: &[Word<'_>], matched: &[bool], i: usize) -> bool {
    let w = &words[i];
    if w.flags & flag::EPONYM == 0 {
        return false;
    }
    if i > 0 {
        let p = &words[i - 1];
        let close = text.get(p.full_end..w.start).is_some_and(|g| g.trim_matches([' ', '.']).is_empty());
        if close && (matched[i - 1] || p.flags & flag::HONORIFIC != 0 || (p.initial && p.cap)) {
            return false;
        }
    }
    let next = words.get(i + 1).filter(|nx| text.get(w.full_end..nx.start).is_some_and(|g| g.trim().is_empty()));
    let noun = next.is_some_and(|nx| super::eponyms::Lexicon::is_medical_noun_flagged(nx.folded, nx.flags));
    let placed = next.is_some_and(|nx| matches!(nx.folded, "in" | "out" | "on" | "off" | "up" | "down" | "please"));
    let before = if i > 0 { words[i - 1].folded } else { "" };
    let counted = matches!(before, "a" | "an" | "the" | "two" | "three" | "another" | "second" | "big" | "small")
        || text[..w.start].trim_end().ends_with(|c: char| c.is_ascii_digit());
    noun || placed || counted
}

/// Initials of a registered name: first letters of its words in order, and with hyphenated
/// parts split ("Hinewai Tapsell-Kereama" → "HT", "HTK"); "Last, First" is read both ways.
fn initials_of(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut orders: Vec<Vec<&str>> = vec![name.split([' ', ',']).filter(|p| !p.is_empty()).collect()];
    if let Some((last, first)) = name.split_once(',') {
        orders.push(first.split(' ').chain(last.split(' ')).filter(|p| !p.is_empty()).collect());
    }
    for parts in orders {
        let words: Vec<&str> = parts.into_iter().filter(|p| p.chars().next().is_some_and(char::is_uppercase)).collect();
        let whole: String = words.iter().filter_map(|p| p.chars().next()).flat_map(char::to_uppercase).collect();
        let split: String = words
            .iter()
            .flat_map(|p| p.split('-'))
            .filter_map(|p| p.chars().next())
            .flat_map(char::to_uppercase)
            .collect();
        for v in [whole, split] {
            if (2..=4).contains(&v.chars().count()) && v.is_ascii() && !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// Uppercase letters and digits only.
pub fn normalize_id(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

fn shape_of_registered(raw: &str) -> PhiType {
    let digits: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
    let letters = raw.chars().any(|c| c.is_ascii_alphabetic());
    if letters {
        return PhiType::OtherId;
    }
    let b = raw.as_bytes();
    if digits.len() == 9 && b.len() == 11 && b[3] == b'-' && b[6] == b'-' {
        return PhiType::Ssn;
    }
    if digits.len() == 10 || (digits.len() == 11 && digits.starts_with('1')) {
        return PhiType::Phone;
    }
    PhiType::OtherId
}

fn date_digit_variants(d: Ymd) -> Vec<String> {
    let mut v = Vec::new();
    let ms = [format!("{}", d.m), format!("{:02}", d.m)];
    let ds = [format!("{}", d.d), format!("{:02}", d.d)];
    let ys = [format!("{:04}", d.y), format!("{:02}", d.y % 100)];
    for m in &ms {
        for dd in &ds {
            for y in &ys {
                for s in [format!("{m}{dd}{y}"), format!("{dd}{m}{y}"), format!("{y}{m}{dd}")] {
                    if s.len() >= 5 && !v.contains(&s) {
                        v.push(s);
                    }
                }
            }
        }
    }
    v
}

#[derive(Default)]
struct Chain {
    norm: String,
    byte: Vec<usize>,
    group_start: Vec<usize>,
    group_end: Vec<usize>,
}

impl Chain {
    fn with_capacity(n: usize) -> Chain {
        Chain {
            norm: String::with_capacity(n),
            byte: Vec::with_capacity(n),
            group_start: Vec::with_capacity(n / 4),
            group_end: Vec::with_capacity(n / 4),
        }
    }

    fn clear(&mut self) {
        self.norm.clear();
        self.byte.clear();
        self.group_start.clear();
        self.group_end.clear();
    }
}

fn is_chain_sep(b: u8) -> bool {
    matches!(b, b' ' | b'-' | b'.' | b'(' | b')' | b'/' | b'+')
}

/// Calls `f` for each maximal run of digit-only groups of the chains of [`for_each_chain`]
/// (consecutive in a chain) holding at least `min_len` digits. `c` is a reusable buffer.
/// `runs`: the maximal runs of ASCII digits of `text` if known ([`Shape::digit_runs`]).
fn for_each_digit_chain(
    text: &str,
    runs: Option<&[(u32, u32)]>,
    min_len: usize,
    c: &mut Chain,
    mut f: impl FnMut(&Chain),
) {
    let b = text.as_bytes();
    let mut i = 0;
    let mut r = 0;
    // the current run: groups seen so far, and the end of its last group
    let mut open = false;
    let mut last_end = 0usize;
    c.clear();
    while i < b.len() {
        // the next group (maximal ASCII alphanumeric run) holding a digit; `i` is always at a
        // group boundary, so the groups skipped here hold letters only and break any run
        let next = match runs {
            Some(runs) => {
                while runs.get(r).is_some_and(|&(s, _)| (s as usize) < i) {
                    r += 1;
                }
                runs.get(r).map(|&(s, _)| s as usize)
            }
            None => b[i..].iter().position(u8::is_ascii_digit).map(|off| i + off),
        };
        let Some(d) = next else {
            break;
        };
        let off = d - i;
        let mut gs = i + off;
        let mut digits_only = true;
        while gs > i && b[gs - 1].is_ascii_alphanumeric() {
            gs -= 1;
            digits_only = false;
        }
        let mut ge = i + off;
        while ge < b.len() && b[ge].is_ascii_alphanumeric() {
            digits_only &= b[ge].is_ascii_digit();
            ge += 1;
        }
        i = ge;
        let joined = open && gs - last_end <= 2 && b[last_end..gs].iter().all(|&x| is_chain_sep(x));
        if open && !(joined && digits_only) {
            if c.norm.len() >= min_len {
                f(c);
            }
            c.clear();
            open = false;
        }
        if !digits_only {
            continue;
        }
        c.group_start.push(c.norm.len());
        for (k, &x) in b[gs..ge].iter().enumerate() {
            c.norm.push(char::from(x));
            c.byte.push(gs + k);
        }
        c.group_end.push(c.norm.len());
        open = true;
        last_end = ge;
    }
    if open && c.norm.len() >= min_len {
        f(c);
    }
}

/// Calls `f` for each run of ASCII alphanumeric groups separated by at most two of " -.()/+"
/// that holds a digit and at least `min_len` characters. `c` is a reusable buffer.
fn for_each_chain(text: &str, min_len: usize, c: &mut Chain, mut f: impl FnMut(&Chain)) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        // prescan the run: skip it unless it holds a digit and is long enough
        let run_start = i;
        let mut j = i;
        let (mut len, mut digit) = (0usize, false);
        loop {
            while j < b.len() && b[j].is_ascii_alphanumeric() {
                digit |= b[j].is_ascii_digit();
                len += 1;
                j += 1;
            }
            let mut k = j;
            while k < b.len() && k < j + 2 && matches!(b[k], b' ' | b'-' | b'.' | b'(' | b')' | b'/' | b'+') {
                k += 1;
            }
            if k > j && k < b.len() && b[k].is_ascii_alphanumeric() {
                j = k;
            } else {
                break;
            }
        }
        if !digit || len < min_len {
            i = j.max(run_start + 1);
            continue;
        }
        c.clear();
        loop {
            c.group_start.push(c.norm.len());
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                c.norm.push(char::from(b[i].to_ascii_uppercase()));
                c.byte.push(i);
                i += 1;
            }
            c.group_end.push(c.norm.len());
            let mut j = i;
            while j < b.len() && j < i + 2 && matches!(b[j], b' ' | b'-' | b'.' | b'(' | b')' | b'/' | b'+') {
                j += 1;
            }
            if j > i && j < b.len() && b[j].is_ascii_alphanumeric() {
                i = j;
            } else {
                break;
            }
        }
        if c.norm.len() >= min_len && c.norm.bytes().any(|x| x.is_ascii_digit()) {
            f(c);
        }
    }
}

/// Damerau–Levenshtein distance ≤ 1 (substitution, insertion, deletion, transposition).
fn within_one_edit(a: &[char], b: &[char]) -> bool {
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    let mut i = 0;
    while i < la.min(lb) && a[i] == b[i] {
        i += 1;
    }
    if i == la && i == lb {
        return true;
    }
    if la == lb {
        if a[i + 1..] == b[i + 1..] {
            return true;
        }
        return i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] && a[i + 2..] == b[i + 2..];
    }
    if la > lb {
        a[i + 1..] == b[i..]
    } else {
        a[i..] == b[i + 1..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(ids: &Identifiers, text: &str) -> Vec<(PhiType, String)> {
        let pm = PatientMatcher::new(ids);
        let mut words = crate::text::words_of(text);
        super::super::names::Names::new().annotate(&mut words);
        let mut out = Output::default();
        let hits = super::super::dates::Dates::new().find(text);
        pm.detect(text, &Shape::of(text), &words, &hits, &mut out);
        let r = crate::merge::resolve(text, out);
        r.iter().map(|c| (c.kind, text[c.start..c.end].to_string())).collect()
    }

    fn ids() -> Identifiers {
        Identifiers {
            names: vec!["Ming Fan".into(), "Nhiên Nguyễn".into()],
            mrns: vec!["43111520".into()],
            dates: vec!["1957-03-14".into()],
            other: vec!["(415) 822-6155".into(), "han.ping69@proton.me".into(), "084-69-3079".into()],
        }
    }

    #[test]
    fn names_any_form() {
        let i = ids();
        assert_eq!(found(&i, "FAN, MING here"), vec![(PhiType::Name, "FAN, MING".into())]);
        assert_eq!(found(&i, "Moving M. Fan now"), vec![(PhiType::Name, "M. Fan".into())]);
        assert_eq!(found(&i, "Mr Fan's chart"), vec![(PhiType::Name, "Fan".into())]);
        assert_eq!(found(&i, "NGUYEN, NHIEN"), vec![(PhiType::Name, "NGUYEN, NHIEN".into())]);
        assert_eq!(found(&i, "Nguyen Van Nhien"), vec![(PhiType::Name, "Nguyen Van Nhien".into())]);
        assert_eq!(found(&i, "Nguyem is here"), vec![(PhiType::Name, "Nguyem".into())]);
    }

    #[test]
    fn numbers_any_separators() {
        let i = ids();
        assert_eq!(found(&i, "MR# 431 115 20 /"), vec![(PhiType::Mrn, "431 115 20".into())]);
        assert_eq!(found(&i, "id 4311-1520."), vec![(PhiType::Mrn, "4311-1520".into())]);
        assert_eq!(found(&i, "cell 415.822.6155"), vec![(PhiType::Phone, "415.822.6155".into())]);
        assert_eq!(found(&i, "ssn 084 69 3079"), vec![(PhiType::Ssn, "084 69 3079".into())]);
        assert_eq!(found(&i, "mail HAN.PING69@proton.me"), vec![(PhiType::Email, "HAN.PING69@proton.me".into())]);
        assert!(found(&i, "143111520 is longer").is_empty());
    }

    #[test]
    fn dates_any_form() {
        let i = ids();
        assert_eq!(found(&i, "DOB 3/14/57"), vec![(PhiType::Date, "3/14/57".into())]);
        assert_eq!(found(&i, "born March 14, 1957"), vec![(PhiType::Date, "March 14, 1957".into())]);
        assert_eq!(found(&i, "born 14 03 1957"), vec![(PhiType::Date, "14 03 1957".into())]);
    }

    #[test]
    fn edit_distance() {
        let c = |a: &str, b: &str| within_one_edit(&a.chars().collect::<Vec<_>>(), &b.chars().collect::<Vec<_>>());
        assert!(c("zaragoza", "zaragosa"));
        assert!(c("zaragoza", "zaragza"));
        assert!(c("zaragoza", "zaraogza"));
        assert!(!c("zaragoza", "zarogosa"));
    }

    fn registered_names(ids: &Identifiers, text: &str) -> Vec<String> {
        let pm = PatientMatcher::new(ids);
        let names = super::super::names::Names::new();
        let mut words = crate::text::words_of(text);
        names.annotate(&mut words);
        let mut out = Output::default();
        pm.detect(text, &Shape::of(text), &words, &[], &mut out);
        out.cands.iter().filter(|c| c.kind == PhiType::Name).map(|c| text[c.start..c.end].to_string()).collect()
    }

    #[test]
    fn initials_of_the_registered_name() {
        let ids = Identifiers { names: vec!["Himevai Tapsell-Kereama".into()], ..Default::default() };
        assert_eq!(registered_names(&ids, "HTK to PACU, pain 3/10"), vec!["HTK"]);
        assert_eq!(registered_names(&ids, "HT extubated"), vec!["HT"]);
        assert!(registered_names(&ids, "HT 2 cm, HTK-3 kit").is_empty());
        assert_eq!(initials_of("FAN, MING"), vec!["FM", "MF"]);
    }

    #[test]
    fn eponym_surname_used_for_its_instrument() {
        let ids = Identifiers { names: vec!["Oriel McBurney".into()], ..Default::default() };
        assert!(registered_names(&ids, "McBurney's point is right here").is_empty());
        assert!(registered_names(&ids, "a McBurney incision, two McBurney clamps").is_empty());
        assert_eq!(registered_names(&ids, "Ms McBurney is asleep"), vec!["McBurney"]);
        let both = registered_names(&ids, "Oriel McBurney, 19F");
        assert!(both.contains(&"McBurney".to_string()) && both.contains(&"Oriel".to_string()));
    }
}
