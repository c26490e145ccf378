//! Postal codes outside the US and UK whose format alone is telling: Canada ("K0A 1W0"),
//! Ireland's Eircode ("H91 E2K3"), and a Dutch postcode before its town ("3511 NK Utrecht"); and
//! continental streets written name-then-number with the street type inside the word
//! ("Oudegracht 211", "Lindenstraße 4", "Rákóczi utca 12").
//! Codes that are plain digits (Australia, India, New Zealand…) need a town before them and are
//! found in `places.rs`.

use super::{prio, Output};
use crate::PhiType;
use regex::Regex;

#[derive(Debug)]
pub struct Postal {
    canada: Regex,
    eircode: Regex,
    dutch: Regex,
    street_then_number: Regex,
}

impl Postal {
    pub fn new() -> Postal {
        Postal {
            canada: Regex::new(r"\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d\b")
                .expect("static regex"),
            eircode: Regex::new(r"\b(?:[AC-FHKNPRTV-Y]\d{2}|D6W) ?[0-9AC-FHKNPRTV-Y]{4}\b").expect("static regex"),
            street_then_number: Regex::new(r"\b\p{Lu}[\p{Ll}ß]+(?:straat|gracht|weg|laan|plein|kade|singel|dijk|steeg|strasse|straße|gasse|allee|platz|ring|vej|gade|gatan|vägen|veien|gata|katu|tie)\s+\d{1,4}[a-z]?\b|\b\p{Lu}[\p{L}]+\s+(?:utca|ulica|út|tér|sokak|caddesi|cad\.)\s+\d{1,4}[a-z]?\b").expect("static regex"),
            dutch: Regex::new(r"\b[1-9]\d{3} ?[A-Z]{2}\s+(\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+)?)").expect("static regex"),
        }
    }

    pub fn detect(&self, text: &str, out: &mut Output) {
        let b = text.as_bytes();
        if !b.iter().any(u8::is_ascii_digit) || !b.iter().any(u8::is_ascii_uppercase) {
            return;
        }
        for m in self.street_then_number.find_iter(text) {
            out.push(PhiType::Address, m.start(), m.end(), prio::ADDRESS);
        }
        for m in self.canada.find_iter(text) {
            out.push(PhiType::Address, m.start(), m.end(), prio::ADDRESS);
        }
        for m in self.eircode.find_iter(text) {
            let unique = &m.as_str()[m.as_str().len() - 4..];
            let letters = unique.bytes().filter(u8::is_ascii_uppercase).count();
            if (1..4).contains(&letters) {
                out.push(PhiType::Address, m.start(), m.end(), prio::ADDRESS);
            }
        }
        for c in self.dutch.captures_iter(text) {
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
        Postal::new().detect(text, &mut out);
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
