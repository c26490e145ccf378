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
    pub fn of(b: &[u8]) -> ByteGates {
        let mut g = ByteGates::default();
        let at = |i: usize| b.get(i).copied().unwrap_or(0);
        let mut run = 0usize;
        for (i, &c) in b.iter().enumerate() {
            // most bytes are lowercase letters or spaces: nothing starts there
            if c >= b'a' || c == b' ' {
                run = 0;
                if c.is_ascii_lowercase() && at(i + 1) == b' ' && at(i + 2).is_ascii_digit() {
                    g.word_space_digit = true;
                }
                continue;
            }
            if c.is_ascii_digit() {
                run += 1;
                let (n1, n2, n3) = (at(i + 1), at(i + 2), at(i + 3));
                g.four_digits |= run == 4 && !n1.is_ascii_digit();
                g.digit_upper |= n1.is_ascii_uppercase();
                g.digit_sep_digit |= matches!(n1, b'.' | b'/' | b'-') && n2.is_ascii_digit();
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
                    g.digit_upper |= n1.is_ascii_digit();
                    if n1.is_ascii_uppercase() && n2.is_ascii_uppercase() && n3.is_ascii_uppercase() {
                        let n4 = at(i + 4);
                        g.caps4_digit |= n4.is_ascii_digit() || (n4 == b' ' && at(i + 5).is_ascii_digit());
                    }
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
