//! Cheap per-message gates for the format detectors of issue 15 (`calendars`, `idformats`,
//! `postal`): one pass over the bytes and one multi-pattern scan for cue words, so that each
//! regex runs only on messages that can hold its shape.

use aho_corasick::AhoCorasick;

/// Byte shapes found in one pass.
#[derive(Debug, Default, Clone, Copy)]
pub struct ByteGates {
    /// a digit then "st"/"nd"/"rd"/"th" ("21st")
    pub ordinal_digits: bool,
    /// a digit, a separator and I/V/X ("12.IV")
    pub roman: bool,
    /// M/T/S/H/R, one or two digits, then '.' or '/' ("H2.11")
    pub era_short: bool,
    /// a digit (or an ordinal suffix), a space and a capital ("14 Ramadan", "12th Meskerem")
    pub digit_space_cap: bool,
    /// three digits, a space or '-', three digits
    pub spaced3: bool,
    /// seven digits in a row
    pub digits7: bool,
    /// capital, digit, capital ("K0A")
    pub upper_digit_upper: bool,
    /// capital, digit, digit or W, space ("H91 ")
    pub routing: bool,
    /// four digits then (a space and) a capital ("3511 NK")
    pub four_then_cap: bool,
}

impl ByteGates {
    pub fn of(b: &[u8]) -> ByteGates {
        let mut g = ByteGates::default();
        let at = |i: usize| b.get(i).copied().unwrap_or(0);
        let mut run = 0usize;
        for (i, &c) in b.iter().enumerate() {
            // most bytes are lowercase letters or spaces: nothing starts there
            if c >= b'a' || c == b' ' {
                run = 0;
                continue;
            }
            if c.is_ascii_digit() {
                run += 1;
                let (n1, n2, n3) = (at(i + 1), at(i + 2), at(i + 3));
                let sfx = matches!((n1 | 0x20, n2 | 0x20), (b's', b't') | (b'n', b'd') | (b'r', b'd') | (b't', b'h'));
                g.ordinal_digits |= sfx;
                g.roman |= matches!(n1, b'.' | b'/' | b'-' | b' ') && matches!(n2, b'I' | b'V' | b'X');
                g.digit_space_cap |=
                    (n1 == b' ' && n2.is_ascii_uppercase()) || (sfx && n3 == b' ' && at(i + 4).is_ascii_uppercase());
                if run >= 3
                    && matches!(n1, b' ' | b'-')
                    && n2.is_ascii_digit()
                    && n3.is_ascii_digit()
                    && at(i + 4).is_ascii_digit()
                {
                    g.spaced3 = true;
                }
                g.digits7 |= run >= 7;
                g.four_then_cap |= run == 4 && (n1.is_ascii_uppercase() || (n1 == b' ' && n2.is_ascii_uppercase()));
            } else {
                run = 0;
                if c.is_ascii_uppercase() {
                    let (n1, n2, n3) = (at(i + 1), at(i + 2), at(i + 3));
                    if n1.is_ascii_digit() {
                        g.upper_digit_upper |= n2.is_ascii_uppercase();
                        g.routing |= (n2.is_ascii_digit() || n2 == b'W') && n3 == b' ';
                        g.era_short |= matches!(c, b'M' | b'T' | b'S' | b'H' | b'R')
                            && (matches!(n2, b'.' | b'/') || (n2.is_ascii_digit() && matches!(n3, b'.' | b'/')));
                    }
                }
            }
        }
        g
    }
}

/// Cue words, as bits of [`Cues::scan`].
pub mod cue {
    pub const THE: u32 = 1;
    pub const OF: u32 = 1 << 1;
    pub const ERA: u32 = 1 << 2;
    pub const BIRTH: u32 = 1 << 3;
    pub const SSN: u32 = 1 << 4;
    pub const PLATE: u32 = 1 << 5;
    pub const CARD: u32 = 1 << 6;
    pub const CPF: u32 = 1 << 7;
}

const PATTERNS: &[(&str, u32)] = &[
    ("the ", cue::THE),
    (" of ", cue::OF),
    ("meiji", cue::ERA),
    ("taish", cue::ERA),
    ("showa", cue::ERA),
    ("shōwa", cue::ERA),
    ("heisei", cue::ERA),
    ("reiwa", cue::ERA),
    ("born", cue::BIRTH),
    ("birth", cue::BIRTH),
    ("dob", cue::BIRTH),
    ("b-day", cue::BIRTH),
    ("bday", cue::BIRTH),
    ("ssn", cue::SSN),
    ("social", cue::SSN),
    ("ss#", cue::SSN),
    ("s.s", cue::SSN),
    ("plate", cue::PLATE),
    ("tag", cue::PLATE),
    ("reg", cue::PLATE),
    ("card", cue::CARD),
    ("ramq", cue::CARD),
    ("health", cue::CARD),
    ("insurance", cue::CARD),
    ("medicare", cue::CARD),
    ("plan", cue::CARD),
    ("member", cue::CARD),
    ("cpf", cue::CPF),
];

#[derive(Debug)]
pub struct Cues {
    ac: AhoCorasick,
}

impl Cues {
    pub fn new() -> Cues {
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(PATTERNS.iter().map(|p| p.0))
            .expect("static automaton");
        Cues { ac }
    }

    /// The cue words present in `text` (any ASCII case), as [`cue`] bits.
    pub fn scan(&self, text: &str) -> u32 {
        let mut bits = 0;
        for m in self.ac.find_iter(text) {
            bits |= PATTERNS.get(m.pattern().as_usize()).map_or(0, |p| p.1);
        }
        bits
    }
}

impl Default for Cues {
    fn default() -> Self {
        Cues::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_and_cues() {
        let g =
            ByteGates::of(b"on the 21st, 12.IV.1928, H2.11.23, 14 Ramadan, 943 476 5919, K0A 1W0, H91 E2K3, 3511 NK");
        assert!(g.ordinal_digits && g.roman && g.era_short && g.digit_space_cap && g.spaced3);
        assert!(g.upper_digit_upper && g.routing && g.four_then_cap && !g.digits7);
        let none = ByteGates::of(b"closing with 3-0 silk, EBL 50");
        assert!(!none.roman && !none.spaced3 && !none.upper_digit_upper && !none.four_then_cap);
        let c = Cues::new();
        assert_eq!(c.scan("Born on the 4th OF March"), cue::BIRTH | cue::THE | cue::OF);
        assert_eq!(c.scan("SSN last four"), cue::SSN);
        assert_eq!(c.scan(""), 0);
    }
}
