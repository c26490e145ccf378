//! Cheap per-message gates for the format detectors of issue 15 (`calendars`, `idformats`,
//! `postal`): one pass over the bytes, then cue words searched only where a byte shape passed,
//! so that each regex runs only on messages that can hold its shape.

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
    /// a lowercase letter, a space and a digit ("…gracht 211")
    pub word_space_digit: bool,
    /// a run of exactly four digits ("0917")
    pub four_digits: bool,
    /// a digit next to a capital ("3GH", "KX19")
    pub digit_upper: bool,
    /// four capitals then a digit, maybe after a space ("NINS 7204")
    pub caps4_digit: bool,
    /// a digit, '.', '/' or '-', a digit ("8.3.3")
    pub digit_sep_digit: bool,
}

impl ByteGates {
    /// The gates of `b`, looking only around its digit runs (`runs`, as from
    /// [`crate::text::Shape::digit_runs`]; `None`: find the runs here).
    pub fn of_runs(b: &[u8], runs: Option<&[(u32, u32)]>) -> ByteGates {
        let mut g = ByteGates::default();
        match runs {
            Some(r) => {
                for &(s, e) in r {
                    g.run(b, s as usize, e as usize);
                }
            }
            None => {
                let mut i = 0;
                while i < b.len() {
                    if b[i].is_ascii_digit() {
                        let s = i;
                        while i < b.len() && b[i].is_ascii_digit() {
                            i += 1;
                        }
                        g.run(b, s, i);
                    } else {
                        i += 1;
                    }
                }
            }
        }
        g
    }

    /// The gates of `b` (finds the digit runs itself).
    #[cfg(test)]
    pub fn of(b: &[u8]) -> ByteGates {
        ByteGates::of_runs(b, None)
    }

    /// Updates the gates with the digit run `b[s..e]`.
    fn run(&mut self, b: &[u8], s: usize, e: usize) {
        let at = |i: usize| b.get(i).copied().unwrap_or(0);
        let before = |k: usize| if s >= k { at(s - k) } else { 0 };
        let len = e - s;
        let (n0, n1, n2, n3) = (at(e), at(e + 1), at(e + 2), at(e + 3));
        let sfx = matches!((n0 | 0x20, n1 | 0x20), (b's', b't') | (b'n', b'd') | (b'r', b'd') | (b't', b'h'));
        self.ordinal_digits |= sfx;
        self.roman |= matches!(n0, b'.' | b'/' | b'-' | b' ') && matches!(n1, b'I' | b'V' | b'X');
        self.digit_space_cap |=
            (n0 == b' ' && n1.is_ascii_uppercase()) || (sfx && n2 == b' ' && n3.is_ascii_uppercase());
        self.spaced3 |=
            len >= 3 && matches!(n0, b' ' | b'-') && n1.is_ascii_digit() && n2.is_ascii_digit() && n3.is_ascii_digit();
        self.digits7 |= len >= 7;
        self.four_digits |= len == 4;
        self.four_then_cap |= len == 4 && (n0.is_ascii_uppercase() || (n0 == b' ' && n1.is_ascii_uppercase()));
        self.digit_sep_digit |= matches!(n0, b'.' | b'/' | b'-') && n1.is_ascii_digit();
        let up = before(1);
        self.digit_upper |= n0.is_ascii_uppercase() || up.is_ascii_uppercase();
        if up.is_ascii_uppercase() {
            self.upper_digit_upper |= len == 1 && n0.is_ascii_uppercase();
            self.routing |= (len == 2 && n0 == b' ') || (len == 1 && n0 == b'W' && n1 == b' ');
            self.era_short |= matches!(up, b'M' | b'T' | b'S' | b'H' | b'R') && len <= 2 && matches!(n0, b'.' | b'/');
            self.caps4_digit |= (2..=4).all(|k| before(k).is_ascii_uppercase());
        }
        if up == b' ' {
            self.caps4_digit |= (2..=5).all(|k| before(k).is_ascii_uppercase());
            self.word_space_digit |= before(2).is_ascii_lowercase();
        }
    }
}

/// True if `lower` (an ASCII-lowercased message) holds one of `words`. Called only behind a
/// [`ByteGates`] test, so most messages never pay for it.
pub fn has_any(lower: &str, words: &[&str]) -> bool {
    words.iter().any(|w| lower.contains(w))
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
        assert!(ByteGates::of(b"SSN last four 0917").four_digits);
        assert!(ByteGates::of(b"plate 3GH 772").digit_upper);
        assert!(ByteGates::of(b"card NINS 7204 2219").caps4_digit);
        assert!(has_any("born on diwali", &["dob", "born"]) && !has_any("", &["born"]));
    }
}
