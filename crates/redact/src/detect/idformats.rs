//! Identifier formats the context-word detector in `numbers.rs` does not see: the last four of
//! an SSN, plates written with a space ("3GH 772"), phone extensions ("x4412", "ext. 77"), and
//! national IDs with check characters (Brazil CPF, UK NHS number, Canada SIN, India Aadhaar,
//! Spain DNI/NIE, Netherlands BSN), and four-letter health cards ("NINS 7204 2219").

use super::gates::{has_any, ByteGates};
use super::{prio, Output};
use crate::PhiType;
use regex::Regex;

#[derive(Debug)]
pub struct IdFormats {
    ssn_last4: Regex,
    plate: Regex,
    extension: Regex,
    cpf: Regex,
    spaced_digits: Regex,
    dni: Regex,
    card4: Regex,
}

impl IdFormats {
    pub fn new() -> IdFormats {
        IdFormats {
            ssn_last4: Regex::new(r"(?i)(?:(?-u:\b)(?:ssn|social(?: security)?(?: number| no\.?| #)?)(?-u:\b)[^0-9\n]{0,24}?(?:last\s*(?:4|four)|ending(?:\s+in)?|ends\s+in|x{3}-x{2}-)\s*(?:digits\s*)?(?:is\s*|are\s*|:\s*|#\s*)?(\d{4})(?-u:\b)|(?-u:\b)last\s*(?:4|four)\s+(?:digits\s+)?(?:of\s+(?:the\s+|his\s+|her\s+|their\s+)?)?(?:ssn|social(?: security)?)(?-u:\b)\s*(?:is\s*|are\s*|:\s*|#\s*)?(\d{4})(?-u:\b))").expect("static regex"),
            plate: Regex::new(r"(?i)(?-u:\b)(?:plate|plates|tag|reg|registration|rego)(?-u:\b)\s*(?:#|no\.?|number|is|:)?\s*([A-Z0-9]{1,4}[ -][A-Z0-9]{2,4})(?-u:\b)").expect("static regex"),
            extension: Regex::new(r"(?i)^\s*,?\s*(?:x|ext\.?|extension)\s*(\d{1,6})(?-u:\b)").expect("static regex"),
            cpf: Regex::new(r"(?-u:\b)\d{3}\.\d{3}\.\d{3}-\d{2}(?-u:\b)").expect("static regex"),
            spaced_digits: Regex::new(r"(?-u:\b)\d{3,4}(?:[ -]\d{3,4}){2}(?-u:\b)").expect("static regex"),
            dni: Regex::new(r"(?-u:\b)(?:[XYZ]-?)?\d{7,8}-?[A-Z](?-u:\b)").expect("static regex"),
            card4: Regex::new(r"(?-u:\b)[A-Z]{4}[ -]?\d{4}[ -]?\d{4}(?-u:\b)").expect("static regex"),
        }
    }

    /// `phones`: byte ranges of the PHONE/FAX candidates already found (extensions extend them).
    /// `lower`: `text.to_ascii_lowercase()`; `g`: the message's [`ByteGates`].
    pub fn detect(&self, text: &str, lower: &str, g: &ByteGates, out: &mut Output) {
        if !text.bytes().any(|b| b.is_ascii_digit()) {
            return;
        }
        if g.four_digits && has_any(lower, &["ssn", "social", "ss#", "s.s"]) {
            for c in self.ssn_last4.captures_iter(text) {
                if let Some(m) = c.get(1).or_else(|| c.get(2)) {
                    out.push(PhiType::Ssn, m.start(), m.end(), prio::STRONG_NUMBER);
                }
            }
        }
        let plate_word = g.digit_upper && has_any(lower, &["plate", "tag", "reg"]);
        for c in plate_word.then(|| self.plate.captures_iter(text)).into_iter().flatten() {
            if let Some(m) = c.get(1) {
                let s = m.as_str();
                if s.bytes().any(|b| b.is_ascii_digit()) && s.bytes().any(|b| b.is_ascii_alphabetic()) {
                    out.push(PhiType::Vehicle, m.start(), m.end(), prio::CONTEXT_ID);
                }
            }
        }
        // extensions right after a phone candidate
        let phones: Vec<(usize, usize, PhiType)> = out
            .cands
            .iter()
            .filter(|c| matches!(c.kind, PhiType::Phone | PhiType::Fax))
            .map(|c| (c.start, c.end, c.kind))
            .collect();
        for (s, e, kind) in phones {
            if let Some(c) = text.get(e..).and_then(|rest| self.extension.captures(rest)) {
                if let Some(m) = c.get(1) {
                    out.push(kind, s, e + m.end(), prio::STRONG_NUMBER);
                }
            }
        }
        let dotted = text.contains('.') && text.contains('-');
        for m in dotted.then(|| self.cpf.find_iter(text)).into_iter().flatten() {
            let before = text[..m.start()].trim_end().to_ascii_lowercase();
            if cpf_ok(m.as_str()) || before.ends_with("cpf") || before.ends_with("cpf:") {
                out.push(PhiType::OtherId, m.start(), m.end(), prio::CONTEXT_ID);
            }
        }
        let spaced = g.spaced3;
        for m in spaced.then(|| self.spaced_digits.find_iter(text)).into_iter().flatten() {
            let digits: Vec<u32> = m.as_str().chars().filter_map(|c| c.to_digit(10)).collect();
            let ok = (digits.len() == 10 && nhs_ok(&digits))
                || (digits.len() == 9 && luhn_ok(&digits) && digits[0] != 0)
                || (digits.len() == 12 && verhoeff_ok(&digits) && digits[0] >= 2);
            if ok && !phone_like(text, m.start()) {
                out.push(PhiType::OtherId, m.start(), m.end(), prio::CONTEXT_ID);
            }
        }
        let digit_letter = g.digits7;
        for m in digit_letter.then(|| self.dni.find_iter(text)).into_iter().flatten() {
            if dni_ok(m.as_str()) {
                out.push(PhiType::OtherId, m.start(), m.end(), prio::CONTEXT_ID);
            }
        }
        let card_word =
            g.caps4_digit && has_any(lower, &["card", "ramq", "health", "insurance", "medicare", "plan", "member"]);
        for m in card_word.then(|| self.card4.find_iter(text)).into_iter().flatten() {
            let before = lower.get(..m.start()).unwrap_or("");
            let tail = &before[before.len().saturating_sub(24)..];
            if ["card", "ramq", "health", "insurance", "medicare", "plan", "member"].iter().any(|w| tail.contains(w)) {
                out.push(PhiType::HealthPlan, m.start(), m.end(), prio::CONTEXT_ID);
            }
        }
    }
}

impl Default for IdFormats {
    fn default() -> Self {
        IdFormats::new()
    }
}

/// A "+" or "tel"/"phone" right before: a phone number, not an ID.
fn phone_like(text: &str, start: usize) -> bool {
    let before = text[..start].trim_end().to_ascii_lowercase();
    before.ends_with('+') || before.ends_with("tel") || before.ends_with("phone") || before.ends_with(')')
}

/// Brazil CPF: two mod-11 check digits.
fn cpf_ok(s: &str) -> bool {
    let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 11 || d.iter().all(|&x| x == d[0]) {
        return false;
    }
    let check = |n: usize| {
        let sum: u32 = (0..n).map(|i| d[i] * (n as u32 + 1 - i as u32)).sum();
        let r = (sum * 10) % 11;
        if r == 10 {
            0
        } else {
            r
        }
    };
    check(9) == d[9] && check(10) == d[10]
}

/// UK NHS number: mod-11 with weights 10..2.
fn nhs_ok(d: &[u32]) -> bool {
    let sum: u32 = (0..9).map(|i| d[i] * (10 - i as u32)).sum();
    let c = 11 - sum % 11;
    let c = if c == 11 { 0 } else { c };
    c != 10 && c == d[9]
}

/// Luhn (Canada SIN).
fn luhn_ok(d: &[u32]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Verhoeff (India Aadhaar).
fn verhoeff_ok(d: &[u32]) -> bool {
    const M: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut c = 0u8;
    for (i, &x) in d.iter().rev().enumerate() {
        let x = usize::try_from(x).unwrap_or(0).min(9);
        c = M[usize::from(c)][usize::from(P[i % 8][x])];
    }
    c == 0
}

/// Spain DNI (8 digits + letter) and NIE (X/Y/Z + 7 digits + letter): mod-23 letter.
fn dni_ok(s: &str) -> bool {
    const LETTERS: &[u8] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let t: String = s.chars().filter(|c| *c != '-').collect();
    let b = t.as_bytes();
    let Some((&letter, body)) = b.split_last() else {
        return false;
    };
    let lead = match body.first() {
        Some(b'X') => Some(0u64),
        Some(b'Y') => Some(1),
        Some(b'Z') => Some(2),
        _ => None,
    };
    let digits = if lead.is_some() { &body[1..] } else { body };
    if digits.len() != if lead.is_some() { 7 } else { 8 } || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut n = lead.unwrap_or(0);
    for &c in digits {
        n = n * 10 + u64::from(c - b'0');
    }
    LETTERS.get((n % 23) as usize) == Some(&letter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(PhiType, String)> {
        let mut out = Output::default();
        IdFormats::new().detect(text, &text.to_ascii_lowercase(), &ByteGates::of(text.as_bytes()), &mut out);
        out.cands.iter().map(|c| (c.kind, text[c.start..c.end].to_string())).collect()
    }

    #[test]
    fn ssn_last_four_plates_and_extensions() {
        assert_eq!(found("SSN last four 0917 for the consent"), vec![(PhiType::Ssn, "0917".into())]);
        assert_eq!(found("last 4 of her social: 4821"), vec![(PhiType::Ssn, "4821".into())]);
        assert_eq!(found("plate 3GH 772, VIN to follow"), vec![(PhiType::Vehicle, "3GH 772".into())]);
        assert!(found("tag 10 10 sponges").is_empty());
        let mut out = Output::default();
        out.push(PhiType::Phone, 12, 24, prio::STRONG_NUMBER);
        let text = "best number 651-555-0102 x4412";
        IdFormats::new().detect(text, &text.to_ascii_lowercase(), &ByteGates::of(text.as_bytes()), &mut out);
        assert!(out.cands.iter().any(|c| c.kind == PhiType::Phone && &text[c.start..c.end] == "651-555-0102 x4412"));
    }

    #[test]
    fn national_ids_with_check_characters() {
        assert_eq!(found("CPF 111.444.777-35 on file"), vec![(PhiType::OtherId, "111.444.777-35".into())]);
        assert!(found("ref 111.444.777-36").is_empty());
        assert_eq!(found("NHS 943 476 5919"), vec![(PhiType::OtherId, "943 476 5919".into())]);
        assert_eq!(found("SIN 130 692 544"), vec![(PhiType::OtherId, "130 692 544".into())]);
        assert_eq!(found("DNI 12345678Z"), vec![(PhiType::OtherId, "12345678Z".into())]);
        assert!(found("DNI 12345678A").is_empty());
        assert_eq!(found("RAMQ card ABCD 1234 5678"), vec![(PhiType::HealthPlan, "ABCD 1234 5678".into())]);
        assert!(found("HR 120 110 100 trending").is_empty());
    }

    #[test]
    fn checksums() {
        assert!(verhoeff_ok(&[2, 3, 6, 3]));
        assert!(luhn_ok(&[0, 4, 6, 4, 5, 4, 2, 8, 6]));
        assert!(!luhn_ok(&[0, 4, 6, 4, 5, 4, 2, 8, 7]));
    }
}
