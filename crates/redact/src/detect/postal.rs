//! Postal codes outside the US and UK whose format alone is telling: Canada ("K0A 1W0"),
//! Ireland's Eircode ("H91 E2K3"), and a Dutch postcode before its town ("3511 NK Utrecht"); and
//! continental streets written name-then-number with the street type inside the word
//! ("Oudegracht 211", "Lindenstraße 4", "Rákóczi utca 12").
//! Codes that are plain digits (Australia, India, New Zealand…) need a town before them and are
//! found in `places.rs`.

use super::gates::ByteGates;
use super::{prio, Output};
use crate::PhiType;
use regex::Regex;

#[derive(Debug)]
pub struct Postal {
    canada: Regex,
    eircode: Regex,
    dutch: Regex,
    street_then_number: Regex,
    /// The street-type endings `street_then_number` needs (a gate before it runs).
    street_types: aho_corasick::AhoCorasick,
}

const STREET_TYPES: &[&str] = &[
    "straat", "gracht", "weg ", "laan", "plein", "kade", "singel", "dijk", "steeg", "strasse", "straße", "gasse",
    "allee", "platz", "ring ", "vej ", "gade", "gatan", "vägen", "veien", "gata", "katu", "tie ", "utca", "ulica",
    "út ", "tér", "sokak", "cad",
];

impl Postal {
    pub fn new() -> Postal {
        Postal {
            canada: Regex::new(r"(?-u:\b)[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d(?-u:\b)")
                .expect("static regex"),
            eircode: Regex::new(r"(?-u:\b)(?:[AC-FHKNPRTV-Y]\d{2}|D6W) ?[0-9AC-FHKNPRTV-Y]{4}(?-u:\b)").expect("static regex"),
            street_then_number: Regex::new(r"\p{Lu}[\p{Ll}ß]+(?:straat|gracht|weg|laan|plein|kade|singel|dijk|steeg|strasse|straße|gasse|allee|platz|ring|vej|gade|gatan|vägen|veien|gata|katu|tie)\s+\d{1,4}[a-z]?(?-u:\b)|\p{Lu}[\p{L}]+\s+(?:utca|ulica|út|tér|sokak|caddesi|cad\.)\s+\d{1,4}[a-z]?(?-u:\b)").expect("static regex"),
            street_types: aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(STREET_TYPES)
                .expect("static automaton"),
            dutch: Regex::new(r"(?-u:\b)[1-9]\d{3} ?[A-Z]{2}\s+(\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+)?)").expect("static regex"),
        }
    }

    /// `g`: the message's [`ByteGates`].
    pub fn detect(&self, text: &str, g: &ByteGates, out: &mut Output) {
        let b = text.as_bytes();
        if !b.iter().any(u8::is_ascii_digit) || !b.iter().any(u8::is_ascii_uppercase) {
            return;
        }
        let street = g.word_space_digit && self.street_types.is_match(text);
        for m in street.then(|| self.street_then_number.find_iter(text)).into_iter().flatten() {
            out.push(PhiType::Address, m.start(), m.end(), prio::ADDRESS);
        }
        let upper_digit_upper = g.upper_digit_upper;
        for m in upper_digit_upper.then(|| self.canada.find_iter(text)).into_iter().flatten() {
            out.push(PhiType::Address, m.start(), m.end(), prio::ADDRESS);
        }
        let routing = g.routing;
        for m in routing.then(|| self.eircode.find_iter(text)).into_iter().flatten() {
            let unique = &m.as_str()[m.as_str().len() - 4..];
            let letters = unique.bytes().filter(u8::is_ascii_uppercase).count();
            if (1..4).contains(&letters) {
                out.push(PhiType::Address, m.start(), m.end(), prio::ADDRESS);
            }
        }
        let four_then_caps = g.four_then_cap;
        for c in four_then_caps.then(|| self.dutch.captures_iter(text)).into_iter().flatten() {
            if let (Some(all), Some(town)) = (c.get(0), c.get(1)) {
                let code_end = text[all.start()..town.start()].trim_end().len() + all.start();
                let code = &text[all.start()..code_end];
                let letters = code.get(code.len().saturating_sub(2)..).unwrap_or("");
                // never used in Dutch postcodes, or a unit ("1000 IU", "500 ML")
                let unit = ["SA", "SD", "SS", "IU", "ML", "MG", "MM", "CM", "KG", "HR", "PM", "AM", "CC", "DL", "UG"];
                if unit.contains(&letters) {
                    continue;
                }
                out.push(PhiType::Address, all.start(), code_end, prio::ADDRESS);
                out.push(PhiType::Address, town.start(), town.end(), prio::ADDRESS);
            }
        }
    }
}

impl Default for Postal {
    fn default() -> Self {
        Postal::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<String> {
        let mut out = Output::default();
        Postal::new().detect(text, &ByteGates::of(text.as_bytes()), &mut out);
        out.cands.iter().map(|c| text[c.start..c.end].to_string()).collect()
    }

    #[test]
    fn formats() {
        assert_eq!(found("lives in Embrun, K0A 1W0, son drives"), vec!["K0A 1W0"]);
        assert_eq!(found("home Eircode H91 E2K3, PPS on file"), vec!["H91 E2K3"]);
        assert_eq!(found("Kerkstraat 4, 3511 NK Utrecht"), vec!["Kerkstraat 4", "3511 NK", "Utrecht"]);
        assert_eq!(found("home: Oudegracht 211, Utrecht"), vec!["Oudegracht 211"]);
        for t in ["EBL 600 ML", "C5 C6 fusion", "T12 L1 level", "D10 W5", "1000 IU Heparin", "A1C 6.5"] {
            assert!(found(t).is_empty(), "{t}: {:?}", found(t));
        }
    }
}
