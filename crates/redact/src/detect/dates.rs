//! Dates (every common numeric and written form; not bare years, times of day or durations)
//! and ages over 89.

use super::{prio, Output};
use crate::text::Shape;
use crate::PhiType;
use regex::Regex;

const MONTHS: &str = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)";

/// Words that make "5/29" or "08-27" a date rather than a score or a ratio.
const DATE_CONTEXT: &[&str] = &[
    "adm",
    "admit",
    "admitted",
    "admission",
    "surg",
    "surgery",
    "op",
    "dob",
    "born",
    "since",
    "until",
    "till",
    "from",
    "on",
    "dated",
    "date",
    "discharged",
    "discharge",
    "dc",
    "d/c",
    "seen",
    "visit",
    "due",
    "scheduled",
    "sched",
    "before",
    "after",
    "by",
    "through",
    "thru",
    "last",
    "next",
    "of",
    "was",
    "is",
    "and",
    "to",
    "onset",
    "injury",
    "procedure",
    "proc",
    "started",
    "stopped",
    "returned",
    "arrived",
    "transferred",
    "f/u",
    "followup",
    "follow-up",
    "signed",
    "consented",
    "birthday",
    "bday",
    "b-day",
    "issued",
    "expires",
    "exp",
    "around",
    "arrives",
    "arriving",
    "returns",
    "returning",
    "expected",
    "planned",
    "booked",
    "since",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thur",
    "thurs",
    "fri",
    "sat",
    "sun",
    "dated",
    "effective",
    "visited",
    "seen",
    "dos",
];

#[derive(Debug)]
pub struct Dates {
    written: Regex,
    numeric: Regex,
    short: Regex,
    age_after: Regex,
    age_before: Regex,
    age_words: Regex,
}

impl Dates {
    pub fn new() -> Dates {
        let day = r"(?:[0-3]?\d)(?:st|nd|rd|th)?";
        let year = r"(?:\d{4}|'\d{2}|’\d{2})";
        let written = format!(
            r"(?i)(?-u:\b)(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?(?:{MONTHS}\.?\s+{day}(?-u:\b)(?:,?\s+{year}(?-u:\b))?|{MONTHS}\.?,?\s+(?:of\s+)?{year}(?-u:\b)|{day}\s+(?:of\s+)?{MONTHS}(?-u:\b)\.?(?:,?\s+{year}(?-u:\b))?|\d{{1,2}}[-/ ]{MONTHS}[-/ ]\d{{2,4}}(?-u:\b))"
        );
        Dates {
            written: Regex::new(&written).expect("static regex"),

            numeric: Regex::new(r"(?-u:\b)\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?-u:\b)|(?-u:\b)\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})(?-u:\b)|(?-u:\b)\d{1,2}-\d{1,2}-(?:\d{4}|\d{2})(?-u:\b)|(?-u:\b)\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2})(?-u:\b)|(?-u:\b)\d{1,2}[/.-]\d{4}(?-u:\b)|(?-u:\b)\d{8}(?-u:\b)").expect("static regex"),
            short: Regex::new(r"(?-u:\b)\d{1,2}[/-]\d{1,2}(?-u:\b)").expect("static regex"),
            age_after: Regex::new(r"(?i)(?-u:\b)(9\d|1[0-2]\d)\s?-?\s?(?:years?|yrs?|yo|y/o|y\.o\.?|year-old|yr-old|-year-old|years?-old)(?-u:\b)|(?-u:\b)(9\d|1[0-2]\d)y(?-u:\b)|(?-u:\b)(9\d|1[0-2]\d)\s?[MF](?-u:\b)").expect("static regex"),
            age_words: Regex::new(r"(?i)(?-u:\b)(?:ninety(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?|one hundred(?:[- ](?:and[- ])?(?:one|two|three|four|five|six|seven|eight|nine|ten))?|a hundred|(?:super)?centenarian|nonagenarian|(?:early|mid|late)[- ]?(?:nineties|hundreds))(?:[- ]years?[- ]old|[- ]year-old|[- ]yo)?(?-u:\b)").expect("static regex"),
            age_before: Regex::new(r"(?i)(?-u:\b)(?:age|aged|ages|turned|turning|turns|age:)\s*:?\s*(9\d|1[0-2]\d)(?-u:\b)").expect("static regex"),
        }
    }

    /// Pushes dates and ages; returns the date hits for the registered-date matcher.
    #[cfg(test)]
    pub fn detect(&self, text: &str, out: &mut Output) -> Vec<DateHit> {
        self.detect_shaped(text, &Shape::of(text), out)
    }

    /// Pushes dates and ages; returns the date hits for the registered-date matcher.
    pub fn detect_shaped(&self, text: &str, shape: &Shape, out: &mut Output) -> Vec<DateHit> {
        let hits = self.find_shaped(text, shape);
        for &(s, e, _) in &hits {
            out.push(PhiType::Date, s, e, prio::DATE);
        }
        self.ages(text, shape, out);
        hits
    }

    fn ages(&self, text: &str, shape: &Shape, out: &mut Output) {
        let lower_hint = shape.number_word
            && [
                "inety", "ineties", "undred", "genarian", "tenarian", "INETY", "INETIES", "UNDRED", "GENARIAN",
                "TENARIAN",
            ]
            .iter()
            .any(|h| text.contains(h));
        if lower_hint {
            for m in self.age_words.find_iter(text) {
                // only the number words, not "years old"
                let s = m.as_str();
                let lower = s.to_ascii_lowercase();
                let cut =
                    ["-year", " year", "-yo", " yo"].iter().filter_map(|p| lower.find(p)).min().unwrap_or(s.len());
                let is_age = cut < s.len()
                    || lower.contains("centenarian")
                    || lower.ends_with("nineties")
                    || lower.ends_with("hundreds")
                    || lower.contains("nonagenarian")
                    || spelled_age_in_context(text, m.start(), m.end());
                if is_age {
                    out.push(PhiType::Age, m.start(), m.start() + cut, prio::DATE);
                }
            }
        }
        if text.bytes().any(|b| b == b'9' || b == b'1') {
            let after = (shape.age_like && shape.age_unit).then(|| self.age_after.find_iter(text));
            for m in after.into_iter().flatten() {
                let s = m.as_str();
                let n = s.bytes().take_while(u8::is_ascii_digit).count();
                let rest = s[n..].trim();
                if rest == "F" || rest == "M" {
                    let before = text[..m.start()].trim_end().to_ascii_lowercase();
                    if before.ends_with("temp") || before.ends_with('t') || before.ends_with("°") {
                        continue;
                    }
                }
                out.push(PhiType::Age, m.start(), m.start() + n, prio::DATE);
            }
            if shape.age_number {
                for (start, end) in bare_ages_after_person(text, shape) {
                    out.push(PhiType::Age, start, end, prio::DATE);
                }
            }
            let before = (shape.age_number && shape.age_word).then(|| self.age_before.find_iter(text));
            for m in before.into_iter().flatten() {
                let s = m.as_str();
                let n = s.bytes().rev().take_while(u8::is_ascii_digit).count();
                out.push(PhiType::Age, m.end() - n, m.end(), prio::DATE);
            }
        }
    }

    /// All date mentions: (start, end, parsed (y, m, d) where y/d may be 0 when absent).
    #[cfg(test)]
    pub fn find(&self, text: &str) -> Vec<DateHit> {
        self.find_shaped(text, &Shape::of(text))
    }

    /// All date mentions given the message's [`Shape`].
    pub fn find_shaped(&self, text: &str, shape: &Shape) -> Vec<DateHit> {
        let mut v = Vec::new();
        if shape.digits == 0 {
            return v;
        }
        let month_like = shape.month_word;
        let written = month_like.then(|| self.written.find_iter(text));
        for m in written.into_iter().flatten() {
            let s = m.as_str();
            // lowercase "may"/"march" are words, not months
            let first_alpha = s.trim_start_matches(|c: char| !c.is_alphabetic());
            let lw = first_alpha.to_ascii_lowercase();
            if (lw.starts_with("may") || lw.starts_with("mar")) && first_alpha.starts_with(|c: char| c.is_lowercase()) {
                continue;
            }
            if !valid_written(s) {
                continue;
            }
            v.push((m.start(), m.end(), parse_written(s)));
        }
        let numeric = ((shape.digit_sep_digit || shape.digits >= 8) && shape.numeric_date_like)
            .then(|| self.numeric.find_iter(text));
        for m in numeric.into_iter().flatten() {
            if glued(text, m.start(), m.end()) {
                continue;
            }
            if let Some(ymd) = parse_numeric(m.as_str()) {
                v.push((m.start(), m.end(), Some(ymd)));
            }
        }
        let short = (shape.digit_sep_digit && shape.short_date_like).then(|| self.short.find_iter(text));
        for m in short.into_iter().flatten() {
            if glued(text, m.start(), m.end()) {
                continue;
            }
            let s = m.as_str();
            let sep = if s.contains('/') { '/' } else { '-' };
            let mut it = s.split(sep).map(|p| p.parse::<u32>().unwrap_or(99));
            let (a, b) = (it.next().unwrap_or(99), it.next().unwrap_or(99));
            if !((1..=12).contains(&a) && (1..=31).contains(&b)) {
                continue;
            }
            if has_date_context(text, m.start()) {
                v.push((m.start(), m.end(), Some(Ymd { y: 0, m: a, d: b })));
            }
        }
        v
    }
}

/// "pt is ninety-two", "aged ninety": a spelled number after an age verb, not followed by a unit
/// or "over" ("is ninety over sixty", "ninety minutes", "ninety percent").
fn spelled_age_in_context(text: &str, start: usize, end: usize) -> bool {
    let before = text.get(..start).unwrap_or("").trim_end();
    let prev = before.rsplit(|c: char| c.is_whitespace() || c == '(').next().unwrap_or("");
    let prev = prev.trim_end_matches([':', ',']).to_ascii_lowercase();
    let mut age_verb = matches!(
        prev.as_str(),
        "is" | "was"
            | "aged"
            | "age"
            | "turned"
            | "turning"
            | "turns"
            | "now"
            | "she's"
            | "he's"
            | "pt's"
            | "ages"
            | "about"
            | "nearly"
            | "almost"
            | "maybe"
            | "probably"
    );
    // "ninety-seven or ninety-eight": the second of two spelled ages
    if !age_verb && matches!(prev.as_str(), "or" | "to") {
        let head = before.get(..before.len().saturating_sub(prev.len())).unwrap_or("").trim_end();
        let w = head.rsplit(char::is_whitespace).next().unwrap_or("").to_ascii_lowercase();
        age_verb = w.starts_with("ninety") || w.starts_with("hundred");
    }
    if !age_verb {
        return false;
    }
    let after = text.get(end..).unwrap_or("").trim_start();
    let next: String =
        after.chars().take_while(|c| c.is_alphanumeric() || *c == '%').collect::<String>().to_ascii_lowercase();
    !NOT_AGE.contains(&next.as_str())
}

/// "pt is 94", "she's 101.", "mother was 93 when…": a bare number 90–129 right after a person
/// and a verb, with no unit, percent, ratio or decimal after it ("pt is 94% on RA", "HR is 94"
/// and "sats were 96" are not ages: their subject is not a person).
fn bare_ages_after_person(text: &str, shape: &Shape) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let runs: Vec<(usize, usize)> = match shape.digit_runs() {
        Some(r) => r.iter().map(|&(a, b)| (a as usize, b as usize)).collect(),
        None => {
            let b = text.as_bytes();
            let mut v = Vec::new();
            let mut i = 0;
            while i < b.len() {
                if b[i].is_ascii_digit() {
                    let j = i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                    v.push((i, j));
                    i = j;
                } else {
                    i += 1;
                }
            }
            v
        }
    };
    for (start, end) in runs {
        let Some(n) = text.get(start..end).and_then(|d| d.parse::<u32>().ok()) else { continue };
        if !(90..=129).contains(&n) || end - start > 3 {
            continue;
        }
        let after = text.get(end..).unwrap_or("");
        if after.starts_with(|c: char| c.is_alphanumeric() || matches!(c, '%' | '/' | '-' | ':'))
            || (after.starts_with('.') && after[1..].starts_with(|c: char| c.is_ascii_digit()))
        {
            continue;
        }
        let next: String = after
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '%')
            .collect::<String>()
            .to_ascii_lowercase();
        if NOT_AGE.contains(&next.as_str()) || next == "percent" || next == "%" {
            continue;
        }
        let before = text.get(..start).unwrap_or("");
        if appositive_age(before, after) {
            out.push((start, end));
            continue;
        }
        let mut words = before.split_whitespace().rev();
        let verb = words.next().unwrap_or("").to_ascii_lowercase();
        let subject = words.next().unwrap_or("").trim_end_matches(',').to_ascii_lowercase();
        let person = |w: &str| PERSON_WORDS.contains(&w.trim_end_matches("'s"));
        let hit = match verb.as_str() {
            "is" | "was" | "turned" | "turns" | "now" => person(&subject),
            "she's" | "he's" | "pt's" => true,
            _ => false,
        };
        if hit {
            out.push((start, end));
        }
    }
    out
}

/// "Mrs. Alvarez, 96, from…", "his mother, 93, …": a number set off by commas right after a
/// name-like word (capitalized, not an all-caps abbreviation) or a person word.
fn appositive_age(before: &str, after: &str) -> bool {
    let Some(b) = before.trim_end().strip_suffix(',') else { return false };
    if !after.starts_with([',', ';', ')']) {
        return false;
    }
    let word = b.rsplit(|c: char| !c.is_alphabetic() && c != '\'').next().unwrap_or("");
    let mut chars = word.chars();
    let name_like =
        chars.next().is_some_and(char::is_uppercase) && word.chars().count() >= 2 && chars.any(char::is_lowercase);
    name_like || PERSON_WORDS.contains(&word.to_lowercase().trim_end_matches("'s"))
}

/// Words after which a spelled number is not an age (a unit, a ratio, a dose…).
const NOT_AGE: &[&str] = &[
    "over", "percent", "per", "%", "minutes", "minute", "min", "mins", "seconds", "sec", "secs", "hours", "hour",
    "degrees", "degree", "mg", "mcg", "ml", "cc", "units", "unit", "kg", "lbs", "pounds", "mmhg", "beats", "bpm",
    "days", "day", "weeks", "months", "times", "dollars", "on", "systolic", "sats",
];

/// Who can have an age in "X is 94".
const PERSON_WORDS: &[&str] = &[
    "pt",
    "patient",
    "she",
    "he",
    "mother",
    "mom",
    "mum",
    "father",
    "dad",
    "grandmother",
    "grandma",
    "granny",
    "grandfather",
    "grandpa",
    "wife",
    "husband",
    "aunt",
    "uncle",
    "man",
    "woman",
    "gentleman",
    "lady",
    "sister",
    "brother",
    "who",
    "resident",
    "veteran",
];

impl Default for Dates {
    fn default() -> Self {
        Dates::new()
    }
}

fn has_date_context(text: &str, start: usize) -> bool {
    let before = text.get(..start).unwrap_or("").trim_end();
    let before = before.trim_end_matches([':', ',', '(']).trim_end();
    // the last word: trailing alphanumerics, '/' and '-'
    let word_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '/' || *c == '-')
        .last()
        .map_or(before.len(), |(i, _)| i);
    let w = &before[word_start..];
    DATE_CONTEXT.iter().any(|k| k.eq_ignore_ascii_case(w))
}

fn glued(text: &str, start: usize, end: usize) -> bool {
    let b = text.as_bytes();
    let before = start > 0 && matches!(b[start - 1], b'.' | b'/' | b'-' | b':' | b'0'..=b'9');
    let after = end < b.len()
        && (matches!(b[end], b'/' | b':' | b'0'..=b'9')
            || (matches!(b[end], b'.' | b'-') && end + 1 < b.len() && b[end + 1].is_ascii_digit()));
    before || after
}

/// A date mention: byte range and the parsed date if any.
pub type DateHit = (usize, usize, Option<Ymd>);

/// A parsed date; `y` and `d` are 0 when not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ymd {
    pub y: u32,
    pub m: u32,
    pub d: u32,
}

fn month_of(word: &str) -> Option<u32> {
    let w = word.to_ascii_lowercase();
    let names = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    names.iter().position(|n| w.starts_with(n)).and_then(|i| u32::try_from(i + 1).ok())
}

fn valid_written(s: &str) -> bool {
    // the day (a 1–2 digit number not after an apostrophe) must be 1..=31
    let mut ok = true;
    for tok in s.split(|c: char| !c.is_ascii_alphanumeric() && c != '\'' && c != '’') {
        let digits: String = tok.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !digits.is_empty() && digits.len() <= 2 && !tok.starts_with(['\'', '’']) {
            let v: u32 = digits.parse().unwrap_or(0);
            if !(1..=31).contains(&v) {
                ok = false;
            }
        }
    }
    ok
}

fn parse_written(s: &str) -> Option<Ymd> {
    let mut m = 0;
    let mut d = 0;
    let mut y = 0;
    for tok in s.split(|c: char| !c.is_ascii_alphanumeric() && c != '\'' && c != '’') {
        if tok.is_empty() {
            continue;
        }
        if tok.starts_with(['\'', '’']) {
            let t = tok.trim_start_matches(['\'', '’']);
            y = t.parse::<u32>().map(expand_year).unwrap_or(0);
        } else if tok.starts_with(|c: char| c.is_ascii_digit()) {
            let digits: String = tok.chars().take_while(|c| c.is_ascii_digit()).collect();
            let v: u32 = digits.parse().unwrap_or(0);
            if digits.len() == 4 {
                y = v;
            } else if d == 0 {
                d = v;
            } else {
                y = expand_year(v);
            }
        } else if let Some(mm) = month_of(tok) {
            if tok.len() >= 3 {
                m = mm;
            }
        }
    }
    (m > 0).then_some(Ymd { y, m, d })
}

fn expand_year(v: u32) -> u32 {
    if v >= 100 {
        v
    } else if v <= 30 {
        2000 + v
    } else {
        1900 + v
    }
}

/// Numeric date: ISO, m/d/y, d.m.y, m-d-y, m/yyyy, yyyymmdd. Month-first when ambiguous.
pub fn parse_numeric(s: &str) -> Option<Ymd> {
    let parts: Vec<&str> = s.split(['/', '-', '.']).collect();
    let nums: Vec<u32> = parts.iter().map(|p| p.parse::<u32>().unwrap_or(u32::MAX)).collect();
    let ok = |y: u32, m: u32, d: u32| (1..=12).contains(&m) && (1..=31).contains(&d) && (1900..=2100).contains(&y);
    match (parts.len(), nums.as_slice()) {
        (1, [v]) if s.len() == 8 => {
            let (y, m, d) = (v / 10000, (v / 100) % 100, v % 100);
            ok(y, m, d).then_some(Ymd { y, m, d })
        }
        (2, [m, y]) if parts[1].len() == 4 => {
            ((1..=12).contains(m) && (1900..=2100).contains(y)).then_some(Ymd { y: *y, m: *m, d: 0 })
        }
        (3, [a, b, c]) if parts[0].len() == 4 => ok(*a, *b, *c).then_some(Ymd { y: *a, m: *b, d: *c }),
        (3, [a, b, c]) if parts[2].len() == 4 || parts[2].len() == 2 => {
            let y = if parts[2].len() == 2 { expand_year(*c) } else { *c };
            if s.contains('.') && ok(y, *b, *a) {
                Some(Ymd { y, m: *b, d: *a })
            } else if ok(y, *a, *b) {
                Some(Ymd { y, m: *a, d: *b })
            } else if ok(y, *b, *a) {
                Some(Ymd { y, m: *b, d: *a })
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Parses a registered date in any common form ("1957-03-14", "03/14/1957", "March 14, 1957").
pub fn parse_any(s: &str) -> Option<Ymd> {
    let t = s.trim();
    parse_numeric(t).or_else(|| parse_written(t).filter(|d| d.d > 0))
}

/// Whether a detected date (possibly partial) is the registered one.
pub fn same_date(found: Ymd, reg: Ymd) -> bool {
    let m_ok = found.m == reg.m && (found.d == 0 || found.d == reg.d);
    let swapped = found.m == reg.d && found.d == reg.m;
    let y_ok = found.y == 0 || found.y == reg.y || found.y % 100 == reg.y % 100;
    (m_ok || swapped) && y_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(PhiType, String)> {
        let mut out = Output::default();
        Dates::new().detect(text, &mut out);
        let r = crate::merge::resolve(text, out);
        r.iter().map(|c| (c.kind, text[c.start..c.end].to_string())).collect()
    }

    fn dates(text: &str) -> Vec<String> {
        found(text).into_iter().filter(|(k, _)| *k == PhiType::Date).map(|(_, s)| s).collect()
    }

    /// The ages found in `t`.
    fn ages(t: &str) -> Vec<String> {
        found(t).into_iter().filter(|(k, _)| *k == PhiType::Age).map(|(_, s)| s).collect()
    }

    #[test]
    fn numeric_and_written() {
        assert_eq!(dates("DOB 1962-05-02, x"), vec!["1962-05-02"]);
        assert_eq!(dates("DOB for Mr Bai: 18.02.1966"), vec!["18.02.1966"]);
        assert_eq!(dates("DOB is April 24, 1924, not 04/25/1924."), vec!["April 24, 1924", "04/25/1924"]);
        assert_eq!(dates("Adm Nov 22 | surg 2025-11-29 |"), vec!["Nov 22", "2025-11-29"]);
        assert_eq!(dates("until Sep '19. and Jan 2022"), vec!["Sep '19", "Jan 2022"]);
        assert_eq!(
            dates("Adm 28 Dec | 3 September 1943, 04-Sep-1943"),
            vec!["28 Dec", "3 September 1943", "04-Sep-1943"]
        );
        assert_eq!(dates("Adm 02/27 | surg Mar 19 |"), vec!["02/27", "Mar 19"]);
        assert_eq!(dates("until 02/2015."), vec!["02/2015"]);
        assert_eq!(dates("Jan 5th and Jun 3rd"), vec!["Jan 5th", "Jun 3rd"]);
    }

    #[test]
    fn not_dates() {
        for t in [
            "sharps 8/8; Apgar 9/10, BP 120/80",
            "2/0 silk, 4-0 Prolene, C5-6",
            "described in 1935",
            "at 10:27, 8:03 pm",
            "May need a Blake drain; we may 2x",
            "ABG 7.32/45/88",
            "for 3 days, 12 hours",
        ] {
            assert!(dates(t).is_empty(), "{t}: {:?}", dates(t));
        }
    }

    #[test]
    fn ages_over_89_only() {
        let f = ages;
        assert_eq!(f("Yong Pan, 100-year-old, ACDF"), vec!["100"]);
        assert_eq!(f("is 102yo and sharp"), vec!["102"]);
        assert_eq!(f("age 103 —"), vec!["103"]);
        assert_eq!(f("| 93 M |"), vec!["93"]);
        assert_eq!(f("just turned 99,"), vec!["99"]);
        assert!(f("85-year-old, 80 yrs, age 72, temp 99 F").is_empty());
    }

    #[test]
    fn ages_in_other_phrasings() {
        let f = ages;
        assert_eq!(f("pt is ninety-two, frail"), vec!["ninety-two"]);
        assert_eq!(f("she's ninety six and sharp"), vec!["ninety six"]);
        assert_eq!(f("a 91y male for Hartmann reversal"), vec!["91"]);
        assert!(f("MAP is ninety over sixty, ninety minutes of ischemia").is_empty());
        assert!(f("sats are ninety percent, 91yz, 95 ml").is_empty());
    }

    #[test]
    fn bare_ages_after_a_person_and_a_verb() {
        let f = ages;
        assert_eq!(f("Pt is 94, lives alone."), vec!["94"]);
        assert_eq!(f("she's 101 and sharp"), vec!["101"]);
        assert_eq!(f("her mother was 93 when she had the same op"), vec!["93"]);
        assert_eq!(f("Mrs. Alvarez, 96, fell at home"), vec!["96"]);
        assert_eq!(f("his father, 91; retired"), vec!["91"]);
        for t in [
            "pt is 94% on room air",
            "HR is 94 and regular",
            "sats were 96 on 2L",
            "pt is 95 kg",
            "BP is 120/80, pt is 98.6F",
            "she is 92/58 after induction",
            "the patient is 89, no DNR",
            "count is 100 and correct",
            "HR, 94, sinus",
            "Ward B, 95, 96 and 97 are closed",
            "Mrs. Alvarez, 96 kg, fell",
        ] {
            assert!(f(t).is_empty(), "{t}: {:?}", f(t));
        }
    }

    #[test]
    fn registered_date_matching() {
        let reg = parse_any("1957-03-14").unwrap();
        assert!(same_date(parse_numeric("3/14/57").unwrap(), reg));
        assert!(same_date(parse_written("March 14, 1957").unwrap(), reg));
        assert!(same_date(parse_numeric("14.03.1957").unwrap(), reg));
        assert!(!same_date(parse_numeric("3/15/57").unwrap(), reg));
    }
}
