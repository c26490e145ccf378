//! Street addresses, the town after an address, and ZIP codes. The state is not PHI.

use super::{prio, Output};
use crate::PhiType;
use regex::Regex;

const SUFFIXES: &str = "alley|aly|avenue|ave|av|bend|blvd|boulevard|branch|bridge|brook|brooks|burg|bypass|byp|camp|canyon|cape|causeway|center|centre|circle|cir|circles|cliff|cliffs|club|common|commons|corner|corners|course|court|ct|courts|cove|coves|creek|crescent|cres|crest|crossing|xing|crossroad|curve|dale|dam|divide|drive|dr|drives|estate|estates|expressway|expy|extension|ext|extensions|fall|falls|ferry|field|fields|flat|flats|ford|fords|forest|forge|forges|fork|forks|fort|freeway|fwy|garden|gardens|gdns|gateway|glen|glens|green|greens|grove|groves|harbor|harbors|haven|heights|hts|highway|hwy|hill|hills|hollow|inlet|island|islands|isle|junction|junctions|key|keys|knoll|knolls|lake|lakes|land|landing|lane|ln|light|lights|loaf|lock|locks|lodge|loop|mall|manor|manors|meadow|meadows|mews|mill|mills|mission|motorway|mount|mountain|mountains|neck|orchard|oval|overpass|park|parks|parkway|pkwy|parkways|pass|passage|path|pike|pine|pines|place|pl|plain|plains|plaza|plz|point|points|port|ports|prairie|radial|ramp|ranch|rapid|rapids|rest|ridge|ridges|river|road|rd|roads|route|rte|row|rue|run|shoal|shoals|shore|shores|skyway|spring|springs|spur|spurs|square|sq|squares|station|stravenue|stream|street|st|streets|summit|terrace|ter|throughway|trace|track|trafficway|trail|trl|tunnel|turnpike|tpke|underpass|union|unions|valley|valleys|via|viaduct|view|views|village|villages|ville|vista|walk|walks|wall|way|ways|well|wells|close|gate|gardens|mews|wynd|calle|avenida|rua|strasse|straße|ulica";

const STATES: &str = "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI|AS|MP|Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming";

#[derive(Debug)]
pub struct Address {
    street: Regex,
    lives: Regex,
    po_box: Regex,
    lives_hint: aho_corasick::AhoCorasick,
    town_after: Regex,
    city_state_zip: Regex,
    state_zip: Regex,
}

impl Address {
    pub fn new() -> Address {
        let word = r"(?:\d{1,3}(?:st|nd|rd|th)|[A-Z][\p{L}'’-]+\.?|[NSEW]\.?)";
        let unit = r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Bldg|Building|Fl|Floor|Rm|#)\.?\s*#?\s*[A-Za-z0-9-]+)?";
        let street = format!(r"(?-u:\b)\d{{1,6}}[A-Za-z]?\s+(?:{word}\s+){{0,3}}(?i:{SUFFIXES})(?-u:\b)\.?{unit}");
        let lives = format!(
            r"(?i:(?-u:\b)(?:lives|lived|living|resides|resided|residing|address|addr|home)\s+(?:is\s+|at\s+|on\s+|in\s+|:\s*)*)(\d{{1,6}}[A-Za-z]?\s+(?:{word}\s?){{1,4}}){unit}"
        );
        let town = r"\p{Lu}[\p{L}'’-]+(?:\s+\p{Lu}[\p{L}'’-]+){0,2}";
        Address {
            street: Regex::new(&street).expect("static regex"),
            lives: Regex::new(&lives).expect("static regex"),
            lives_hint: aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(["live", "resid", "address", "addr", "home", "box"])
                .expect("static automaton"),
            po_box: Regex::new(r"(?i)(?-u:\b)P\.?\s?O\.?\s+Box\s+\d+(?-u:\b)").expect("static regex"),
            town_after: Regex::new(&format!(r"^(?:,\s*|\s+in\s+|\s+)({town})")).expect("static regex"),
            city_state_zip: Regex::new(&format!(r"({town}),\s*(?:{STATES})\.?,?\s+(\d{{5}}(?:-\d{{4}})?)(?-u:\b)"))
                .expect("static regex"),
            state_zip: Regex::new(&format!(r"(?-u:\b)(?:{STATES}),?\s+(\d{{5}}(?:-\d{{4}})?)(?-u:\b)"))
                .expect("static regex"),
        }
    }

    pub fn detect(&self, text: &str, out: &mut Output) {
        if !text.bytes().any(|b| b.is_ascii_digit()) {
            return;
        }
        let mut ends = Vec::new();
        for m in self.street.find_iter(text) {
            if !street_ok(text, m.start(), m.end()) {
                continue;
            }
            let end = m.end() - trailing_dot(m.as_str());
            out.push(PhiType::Address, m.start(), end, prio::ADDRESS);
            ends.push(end);
        }
        let lives = self.lives_hint.is_match(text).then(|| self.lives.captures_iter(text));
        for c in lives.into_iter().flatten() {
            if let (Some(m), Some(all)) = (c.get(1), c.get(0)) {
                let end = all.end() - trailing_dot(all.as_str());
                let end = end.max(m.start());
                let s = text[m.start()..end].trim_end();
                out.push(PhiType::Address, m.start(), m.start() + s.len(), prio::ADDRESS);
                ends.push(m.start() + s.len());
            }
        }
        let boxes = self.lives_hint.is_match(text).then(|| self.po_box.find_iter(text));
        for m in boxes.into_iter().flatten() {
            out.push(PhiType::Address, m.start(), m.end(), prio::ADDRESS);
            ends.push(m.end());
        }
        for end in ends {
            if let Some(c) = self.town_after.captures(&text[end..]) {
                if let Some(t) = c.get(1) {
                    let town = t.as_str();
                    if !is_state(town) && !is_unit_word(town) {
                        let town = trim_town(town);
                        out.push(PhiType::Address, end + t.start(), end + t.start() + town.len(), prio::ADDRESS);
                    }
                }
            }
        }
        if !has_five_digits(text) {
            return;
        }
        for c in self.city_state_zip.captures_iter(text) {
            if let (Some(city), Some(zip)) = (c.get(1), c.get(2)) {
                let town = trim_town(city.as_str());
                // drop leading non-town words like "Demographics"
                out.push(
                    PhiType::Address,
                    city.start() + (city.as_str().len() - town_tail(town).len()),
                    city.start() + town.len(),
                    prio::ADDRESS,
                );
                out.push(PhiType::Address, zip.start(), zip.end(), prio::ADDRESS);
            }
        }
        for c in self.state_zip.captures_iter(text) {
            if let Some(zip) = c.get(1) {
                out.push(PhiType::Address, zip.start(), zip.end(), prio::ADDRESS);
            }
        }
    }
}

impl Default for Address {
    fn default() -> Self {
        Address::new()
    }
}

/// A run of exactly five digits (or ZIP+4) somewhere.
fn has_five_digits(text: &str) -> bool {
    text.as_bytes().split(|b| !b.is_ascii_digit()).any(|run| run.len() == 5)
}

/// Rejects "1226 Attn Dr. Tommaseo" (a doctor, not a drive) and numbers glued to a longer one.
fn street_ok(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    if matches!(before, Some(c) if c.is_ascii_digit() || c == '-' || c == '.' || c == '/') {
        return false;
    }
    let m = text[start..end].trim_end_matches('.');
    let last = m.rsplit(' ').next().unwrap_or("");
    if matches!(last, "Dr" | "DR" | "dr" | "St" | "ST") {
        let after = text[end..].trim_start_matches('.').trim_start();
        if after.starts_with(|c: char| c.is_uppercase()) {
            return false;
        }
    }
    true
}

fn trailing_dot(s: &str) -> usize {
    usize::from(s.ends_with('.') && !s.ends_with(" St.") && !s.ends_with(" Ave."))
}

fn is_state(s: &str) -> bool {
    STATES.split('|').any(|st| st == s)
}

fn is_unit_word(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    ["apt", "suite", "unit", "until", "since", "and", "for", "with"].iter().any(|w| l.starts_with(w))
}

/// Town words stop before a word that is a state.
fn trim_town(t: &str) -> &str {
    let mut end = 0;
    for (i, w) in t.split(' ').enumerate() {
        if i > 0 && (is_state(w) || w.len() <= 2) {
            break;
        }
        end = if i == 0 { w.len() } else { end + 1 + w.len() };
    }
    &t[..end.min(t.len())]
}

/// For "Demographics Vallejo" style captures keep the whole; city names are short runs anyway.
fn town_tail(t: &str) -> &str {
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<String> {
        let mut out = Output::default();
        Address::new().detect(text, &mut out);
        let r = crate::merge::resolve(text, out);
        r.iter().map(|c| text[c.start..c.end].to_string()).collect()
    }

    #[test]
    fn street_town_zip() {
        assert_eq!(
            found("Demographics: 832 Young Knolls Suite 548, Dukemouth, AK 53021; ph"),
            vec!["832 Young Knolls Suite 548", "Dukemouth", "53021"]
        );
        assert_eq!(
            found("Stacy lived on 30728 Dyer Key in New Julie until Sep '19."),
            vec!["30728 Dyer Key", "New Julie"]
        );
        assert_eq!(
            found("lived on 6603 Michael Key Apt. 988 in New Robert until"),
            vec!["6603 Michael Key Apt. 988", "New Robert"]
        );
        assert_eq!(
            found("Patient lives at 3391 April Orchard, Vallejo, CT 55704, so"),
            vec!["3391 April Orchard", "Vallejo", "55704"]
        );
        assert_eq!(found("lives at 12 Rua Augusta, Lisboa"), vec!["12 Rua Augusta", "Lisboa"]);
    }

    #[test]
    fn not_addresses() {
        for t in ["16 Fr Foley; 45 mm tan load", "OR 7 after, GCS 9", "4 units PRBC, 2 L LR", "Room 9A, bay 4"] {
            assert!(found(t).is_empty(), "{t}: {:?}", found(t));
        }
    }
}
