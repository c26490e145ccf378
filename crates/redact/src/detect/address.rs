//! Street addresses, the town after an address, and ZIP codes. The state is not PHI.

use super::{prio, Output};
use crate::text::Shape;
use crate::PhiType;
use regex::Regex;

const SUFFIXES: &str = "alley|aly|avenue|ave|av|bend|blvd|boulevard|branch|bridge|brook|brooks|burg|bypass|byp|camp|canyon|cape|causeway|center|centre|circle|cir|circles|cliff|cliffs|club|common|commons|corner|corners|course|court|ct|courts|cove|coves|creek|crescent|cres|crest|crossing|xing|crossroad|curve|dale|dam|divide|drive|dr|drives|estate|estates|expressway|expy|extension|ext|extensions|fall|falls|ferry|field|fields|flat|flats|ford|fords|forest|forge|forges|fork|forks|fort|freeway|fwy|garden|gardens|gdns|gateway|glen|glens|green|greens|grove|groves|harbor|harbors|haven|heights|hts|highway|hwy|hill|hills|hollow|inlet|island|islands|isle|junction|junctions|key|keys|knoll|knolls|lake|lakes|land|landing|lane|ln|light|lights|loaf|lock|locks|lodge|loop|mall|manor|manors|meadow|meadows|mews|mill|mills|mission|motorway|mount|mountain|mountains|neck|orchard|oval|overpass|park|parks|parkway|pkwy|parkways|pass|passage|path|pike|pine|pines|place|pl|plain|plains|plaza|plz|point|points|port|ports|prairie|radial|ramp|ranch|rapid|rapids|rest|ridge|ridges|river|road|rd|roads|route|rte|row|rue|run|shoal|shoals|shore|shores|skyway|spring|springs|spur|spurs|square|sq|squares|station|stravenue|stream|street|st|streets|summit|terrace|ter|throughway|trace|track|trafficway|trail|trl|tunnel|turnpike|tpke|underpass|union|unions|valley|valleys|via|viaduct|view|views|village|villages|ville|vista|walk|walks|wall|way|ways|well|wells|close|gate|gardens|mews|wynd|calle|avenida|rua|strasse|straße|ulica";

const STATES: &str = "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI|AS|MP|Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming";

#[derive(Debug)]
pub struct Address {
    street: Regex,
    lives: Regex,
    po_box: Regex,
    town_ctx: Regex,
    street_ctx: Regex,
    town_after: Regex,
    state_zip: Regex,
    street_prefix: Regex,
    from_town: Regex,
    unit_before: Regex,
}

/// Street types written before the name (French, Spanish, Italian, Portuguese, Catalan, Polish).
const PREFIX_TYPES: &str = "Rue|Avenue|Boulevard|Chemin|Allée|Allee|Impasse|Quai|Calle|Avenida|Paseo|Camino|Plaza|Carrer|Via|Viale|Piazza|Corso|Largo|Rua|Travessa|Praça|Ulica";

impl Address {
    pub fn new() -> Address {
        let word = r"(?:\d{1,3}(?:st|nd|rd|th)|\p{Lu}[\p{L}'’-]+\.?|[NSEW]\.?)";
        let unit =
            r"(?:,?\s+(?:(?i:Apt|Apartment|Suite|Ste|Unit|Flat)|Bldg|Building|Fl|Floor|Rm|#)\.?\s*#?\s*[A-Za-z0-9-]+)?";
        // house numbers: "45", "45B", "45-B"
        let street = format!(
            r"(?-u:\b)\d{{1,6}}(?:-?[A-Za-z])?\s+(?:{word}\s+){{0,3}}(?i:{SUFFIXES})(?-u:\b)\.?(?:\s+(?:NE|NW|SE|SW|N|S|E|W)(?-u:\b)\.?)?{unit}"
        );
        let lives = format!(
            r"(?i:(?-u:\b)(?:lives|lived|living|resides|resided|residing|address|addr|home)\s+(?:is\s+|at\s+|on\s+|in\s+|:\s*)*)(\d{{1,6}}[A-Za-z]?\s+(?:{word}\s?){{1,4}}){unit}"
        );
        let town = r"\p{Lu}[\p{L}'’-]+(?:\s+\p{Lu}[\p{L}'’-]+){0,2}";
        // the street type first: "18 Rue des Lilas", "4 Calle de la Paz", "22 Via Roma"
        let street_prefix = format!(
            r"(?-u:\b)\d{{1,5}}(?:-?[A-Za-z])?,?\s+(?:{PREFIX_TYPES})\s+(?:(?:de|des|du|la|le|les|del|della|delle|dei|di|da|do|dos|das|van|von|der)\s+)*(?:d'|l'|d’|l’)?\p{{Lu}}\p{{Ll}}[\p{{L}}'’-]*(?:\s+\p{{Lu}}\p{{Ll}}[\p{{L}}'’-]*){{0,2}}{unit}"
        );
        // "a 93-year-old gentleman from Tideswell": a town after a person noun and "from"
        let from_town = r"(?i:(?-u:\b)(?:gentleman|gent|lady|man|woman|male|female|farmer|widow|widower|retiree|pensioner|native|resident|originally|hails|old|yo|y/o)\s+from\s+)(\p{Lu}\p{Ll}[\p{L}'’-]+(?:\s+\p{Lu}\p{Ll}[\p{L}'’-]+){0,2})";
        Address {
            street: Regex::new(&street).expect("static regex"),
            street_prefix: Regex::new(&street_prefix).expect("static regex"),
            from_town: Regex::new(from_town).expect("static regex"),
            lives: Regex::new(&lives).expect("static regex"),

            street_ctx: Regex::new(&format!(r"(?i:(?-u:\b)(?:lives|lived|living|resides|resided|residing|moved|address|home)\s+(?:is\s+)?(?:on|at|to)\s+)((?:\p{{Lu}}[\p{{L}}'’-]+\s+){{1,3}}(?i:{SUFFIXES})(?-u:\b))")).expect("static regex"),
            town_ctx: Regex::new(r"(?i:(?-u:\b)(?:lives|lived|living|resides|resided|residing|moved|relocated|home|hometown|address|born|raised|grew\s+up)\s+(?:is\s+|alone\s+|now\s+|currently\s+|still\s+|up\s+)?(?:in|to|near|at)\s+)(\p{Lu}[\p{L}'’-]+(?:\s+\p{Lu}[\p{L}'’-]+){0,2})").expect("static regex"),
            po_box: Regex::new(r"(?i)(?-u:\b)P\.?\s?O\.?\s+Box\s+\d+(?-u:\b)").expect("static regex"),
            town_after: Regex::new(&format!(r"^(?:,\s*|\s+in\s+|\s+)({town})")).expect("static regex"),
            unit_before: Regex::new(r"(?i)(?-u:\b)(?:flat|apt|apartment|unit|suite|ste)\.?\s*#?\s*[a-z0-9-]{1,5},?\s+$")
                .expect("static regex"),
            state_zip: Regex::new(&format!(r"(?-u:\b)(?:{STATES}),?\s+(\d{{5}}(?:-\d{{4}})?)(?-u:\b)"))
                .expect("static regex"),
        }
    }

    #[cfg(test)]
    pub fn detect(&self, text: &str, out: &mut Output) {
        self.detect_shaped(text, &Shape::of(text), out);
    }

    pub fn detect_shaped(&self, text: &str, shape: &Shape, out: &mut Output) {
        let hint = shape.residence_word;
        if hint {
            for c in self.street_ctx.captures_iter(text) {
                if let Some(m) = c.get(1) {
                    out.push(PhiType::Address, m.start(), m.end(), prio::ADDRESS);
                }
            }
            for c in self.town_ctx.captures_iter(text) {
                if let Some(t) = c.get(1) {
                    let town = trim_town(t.as_str());
                    if !is_state(town) && !town.is_empty() {
                        out.push(PhiType::Address, t.start(), t.start() + town.len(), prio::ADDRESS);
                    }
                }
            }
        }
        if shape.from_word {
            for c in self.from_town.captures_iter(text) {
                if let Some(t) = c.get(1) {
                    let town = trim_town(t.as_str());
                    if !is_state(town) && !town.is_empty() && !is_place_word(town) {
                        out.push(PhiType::Address, t.start(), t.start() + town.len(), prio::ADDRESS);
                    }
                }
            }
        }
        if shape.digits == 0 {
            return;
        }
        let mut ends = Vec::new();
        let prefixed = shape.digit_space_upper.then(|| self.street_prefix.find_iter(text));
        for m in prefixed.into_iter().flatten() {
            let before = text[..m.start()].chars().next_back();
            if matches!(before, Some(c) if c.is_ascii_digit() || c == '-' || c == '.' || c == '/') {
                continue;
            }
            let end = m.end() - trailing_dot(m.as_str());
            out.push(PhiType::Address, m.start(), end, prio::ADDRESS);
            ends.push(end);
        }
        uk_postcodes(text, shape, out);
        let streets = shape.digit_space_upper.then(|| self.street.find_iter(text));
        for m in streets.into_iter().flatten() {
            if !street_ok(text, m.start(), m.end()) {
                continue;
            }
            let end = m.end() - trailing_dot(m.as_str());
            let start = self.unit_before(text, m.start());
            out.push(PhiType::Address, start, end, prio::ADDRESS);
            ends.push(end);
        }
        let lives = hint.then(|| self.lives.captures_iter(text));
        for c in lives.into_iter().flatten() {
            if let (Some(m), Some(all)) = (c.get(1), c.get(0)) {
                let end = all.end() - trailing_dot(all.as_str());
                let end = end.max(m.start());
                let s = text[m.start()..end].trim_end();
                out.push(PhiType::Address, m.start(), m.start() + s.len(), prio::ADDRESS);
                ends.push(m.start() + s.len());
            }
        }
        let boxes = hint.then(|| self.po_box.find_iter(text));
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
        if !shape.five_digit_run {
            return;
        }
        // "Vallejo, CA 94590": the ZIP after a state, and the city right before ", STATE"
        for m in self.state_zip.find_iter(text) {
            let zs = m.as_str().len() - m.as_str().trim_start_matches(|c: char| !c.is_ascii_digit()).len();
            out.push(PhiType::Address, m.start() + zs, m.end(), prio::ADDRESS);
            if let Some((cs, ce)) = city_before(text, m.start()) {
                out.push(PhiType::Address, cs, ce, prio::ADDRESS);
            }
        }
    }
}

impl Address {
    /// Start of a unit written before the street ("Flat 3, 27 Marchmont Street"), else `start`.
    fn unit_before(&self, text: &str, start: usize) -> usize {
        let mut lo = start.saturating_sub(24);
        while !text.is_char_boundary(lo) {
            lo += 1;
        }
        match text.get(lo..start).and_then(|t| self.unit_before.find(t)) {
            Some(m) => lo + m.start(),
            None => start,
        }
    }
}

impl Default for Address {
    fn default() -> Self {
        Address::new()
    }
}

/// "Vallejo, " before byte `state_start`: up to three capitalized words ending in ", ".
fn city_before(text: &str, state_start: usize) -> Option<(usize, usize)> {
    let before = text.get(..state_start)?.trim_end();
    let before = before.strip_suffix(',')?;
    let end = before.trim_end().len();
    let mut start = end;
    let mut words = 0;
    for w in before[..end].rsplit(' ') {
        let ok = w.chars().next().is_some_and(char::is_uppercase)
            && w.chars().all(|c| c.is_alphabetic() || matches!(c, '\'' | '’' | '-' | '.'))
            && w.chars().count() > 2;
        if !ok || words == 3 {
            break;
        }
        start = start.saturating_sub(w.len() + usize::from(words > 0));
        words += 1;
    }
    (words > 0).then(|| (start, start + trim_town(&text[start..end]).len()))
}

/// Rejects "1226 Attn Dr. Tommaseo" (a doctor, not a drive) and numbers glued to a longer one.
fn street_ok(text: &str, start: usize, end: usize) -> bool {
    // the street name is capitalized ("#1 loop PDS" is a suture)
    let first_word = text[start..end].split_whitespace().nth(1).unwrap_or("");
    if !first_word.starts_with(|c: char| c.is_uppercase() || c.is_ascii_digit()) {
        return false;
    }
    let before = text[..start].chars().next_back();
    if matches!(before, Some(c) if c.is_ascii_digit() || c == '-' || c == '.' || c == '/') {
        return false;
    }
    // no house number starts with 0 ("0 PDS loop" is a suture)
    if text[start..end].starts_with('0') {
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

/// UK postcodes ("WC1N 1AP", "M1 1AE", "EH8 9YL"): the inward part (digit + two capitals) is
/// found from the one-digit runs, then the outward part before the space is checked.
fn uk_postcodes(text: &str, shape: &Shape, out: &mut Output) {
    let b = text.as_bytes();
    let Some(runs) = shape.digit_runs() else {
        return;
    };
    for &(s, e) in runs {
        let (s, e) = (s as usize, e as usize);
        if e - s != 1 || s < 3 || b[s - 1] != b' ' {
            continue;
        }
        let inward = b.get(e..e + 2).is_some_and(|t| t.iter().all(u8::is_ascii_uppercase));
        let end_ok = b.get(e + 2).is_none_or(|c| !c.is_ascii_alphanumeric());
        if !inward || !end_ok {
            continue;
        }
        let out_end = s - 1;
        let mut out_start = out_end;
        while out_start > 0 && b[out_start - 1].is_ascii_alphanumeric() {
            out_start -= 1;
        }
        let before_ok = out_start == 0 || !(b[out_start - 1].is_ascii_alphanumeric() || b[out_start - 1] >= 0x80);
        if before_ok && is_outward_code(&b[out_start..out_end]) {
            out.push(PhiType::Address, out_start, e + 2, prio::ADDRESS);
        }
    }
}

/// `[A-Z]{1,2}\d[A-Z\d]?`: "WC1N", "M1", "EH8", "SW1A".
fn is_outward_code(t: &[u8]) -> bool {
    let letters = t.iter().take_while(|c| c.is_ascii_uppercase()).count();
    if !(1..=2).contains(&letters) || t.get(letters).is_none_or(|c| !c.is_ascii_digit()) {
        return false;
    }
    match &t[letters + 1..] {
        [] => true,
        [c] => c.is_ascii_digit() || c.is_ascii_uppercase(),
        _ => false,
    }
}

/// Capitalized words after "from" that are places in the hospital, not towns.
fn is_place_word(t: &str) -> bool {
    let first = t.split(' ').next().unwrap_or("").to_ascii_lowercase();
    matches!(
        first.as_str(),
        "the"
            | "home"
            | "ward"
            | "recovery"
            | "theatre"
            | "theater"
            | "surgery"
            | "clinic"
            | "hospital"
            | "dr"
            | "doctor"
    )
}

fn trailing_dot(s: &str) -> usize {
    usize::from(s.ends_with('.') && !s.ends_with(" St.") && !s.ends_with(" Ave."))
}

fn is_state(s: &str) -> bool {
    static SET: std::sync::OnceLock<crate::text::FastSet<&'static str>> = std::sync::OnceLock::new();
    SET.get_or_init(|| STATES.split('|').collect()).contains(s)
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
    fn town_after_context_words() {
        assert_eq!(found("She lives in Walnut Creek with her son."), vec!["Walnut Creek"]);
        assert_eq!(found("Moved to New Braunfels in 2019."), vec!["New Braunfels"]);
        assert_eq!(found("She lives on Maple Avenue near the school."), vec!["Maple Avenue"]);
        assert_eq!(
            found("Address on file: 1600 Pennsylvania Ave NW, Washington, DC 20500"),
            vec!["1600 Pennsylvania Ave NW", "Washington", "20500"]
        );
    }

    #[test]
    fn units_prefix_street_types_and_uk_postcodes() {
        assert_eq!(found("lives at 18 Rue des Lilas, Apt 4B."), vec!["18 Rue des Lilas, Apt 4B"]);
        assert_eq!(found("moved to 4 Calle de la Paz"), vec!["4 Calle de la Paz"]);
        assert_eq!(
            found("transport to 45-B Kingsley Ave Apt 210, Oak Park IL 60302"),
            vec!["45-B Kingsley Ave Apt 210", "Oak Park", "60302"]
        );
        assert_eq!(found("2231 Willow Creek Rd, unit 12, Bozeman"), vec!["2231 Willow Creek Rd, unit 12", "Bozeman"]);
        assert_eq!(
            found("27 Marchmont Street, London WC1N 1AP with"),
            vec!["27 Marchmont Street", "London", "WC1N 1AP"]
        );
        assert_eq!(found("postcode M1 1AE."), vec!["M1 1AE"]);
        assert_eq!(found("Lives at Flat 3, 27 Marchmont Street"), vec!["Flat 3, 27 Marchmont Street"]);
        assert_eq!(found("c/o flat 2b, 14 Argyle Street"), vec!["flat 2b, 14 Argyle Street"]);
    }

    #[test]
    fn town_after_person_and_from() {
        assert_eq!(found("a 93-year-old gentleman from Tideswell, was"), vec!["Tideswell"]);
        assert_eq!(found("retired farmer from Bury St Edmunds"), vec!["Bury"]);
        assert_eq!(found("she is originally from Porto Alegre"), vec!["Porto Alegre"]);
    }

    #[test]
    fn not_addresses() {
        for t in [
            "#1 loop PDS, 2 Dr. Kelly",
            "16 Fr Foley; 45 mm tan load",
            "OR 7 after, GCS 9",
            "4 units PRBC, 2 L LR",
            "Room 9A, bay 4",
            "Closing with 0 PDS loop and 3-0 Monocryl.",
            "came from Recovery, a man from the ward, 2 via NG tube",
            "CT L4 5S1 level, T 37.8, 4L NC, GCS 15 ASA 2",
        ] {
            assert!(found(t).is_empty(), "{t}: {:?}", found(t));
        }
    }
}
