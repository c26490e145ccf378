//! Numeric identifiers: SSN, phone/fax, MRN, account, health-plan, licence, device serials,
//! Medicare MBI, NPI and DEA (checksums), VIN and plates, and other IDs with their context words.

use super::{prio, Output};
use crate::text::FastMap;
use crate::text::Shape;
use crate::PhiType;
use regex::Regex;

#[derive(Debug)]
pub struct Numbers {
    phone: Regex,
    chain: Regex,
    /// keyword → (what it announces, whether it ends a two-word phrase)
    keywords: FastMap<&'static [u8], (Option<Ctx>, bool)>,
}

/// Context words (lowercase; two-word phrases joined by one space) and what they announce.
const KEYWORDS: &[(&str, Ctx)] = &[
    ("ref", Ctx::Ref),
    ("reference", Ctx::Ref),
    ("cat", Ctx::Ref),
    ("cat#", Ctx::Ref),
    ("catalog", Ctx::Ref),
    ("catalogue", Ctx::Ref),
    ("part no", Ctx::Ref),
    ("part #", Ctx::Ref),
    ("part number", Ctx::Ref),
    ("cpt", Ctx::Ref),
    ("icd", Ctx::Ref),
    ("icd-10", Ctx::Ref),
    ("code", Ctx::Ref),
    ("drg", Ctx::Ref),
    ("hcpcs", Ctx::Ref),
    ("plt", Ctx::Ref),
    ("platelets", Ctx::Ref),
    ("platelet", Ctx::Ref),
    ("wbc", Ctx::Ref),
    ("ebl", Ctx::Ref),
    ("uop", Ctx::Ref),
    ("ivf", Ctx::Ref),
    ("weight", Ctx::Ref),
    ("wt", Ctx::Ref),
    ("dose", Ctx::Ref),
    ("volume", Ctx::Ref),
    ("level", Ctx::Ref),
    ("count", Ctx::Ref),
    ("cd4", Ctx::Ref),
    ("viral load", Ctx::Ref),
    ("titer", Ctx::Ref),
    ("afp", Ctx::Ref),
    ("cea", Ctx::Ref),
    ("model", Ctx::Ref),
    ("sku", Ctx::Ref),
    ("item", Ctx::Ref),
    ("ref#", Ctx::Ref),
    ("ssn", Ctx::Id(PhiType::Ssn)),
    ("ss#", Ctx::Id(PhiType::Ssn)),
    ("social", Ctx::Id(PhiType::Ssn)),
    ("social security", Ctx::Id(PhiType::Ssn)),
    ("fax", Ctx::Id(PhiType::Fax)),
    ("faxed", Ctx::Id(PhiType::Fax)),
    ("facsimile", Ctx::Id(PhiType::Fax)),
    ("ph", Ctx::Phone),
    ("phone", Ctx::Phone),
    ("tel", Ctx::Phone),
    ("telephone", Ctx::Phone),
    ("cell", Ctx::Phone),
    ("mobile", Ctx::Phone),
    ("call", Ctx::Phone),
    ("reach", Ctx::Phone),
    ("text", Ctx::Phone),
    ("contact", Ctx::Phone),
    ("pager", Ctx::Phone),
    ("beeper", Ctx::Phone),
    ("number is", Ctx::Phone),
    ("cellphone", Ctx::Phone),
    ("whatsapp", Ctx::Phone),
    ("plate", Ctx::Id(PhiType::Vehicle)),
    ("plates", Ctx::Id(PhiType::Vehicle)),
    ("license plate", Ctx::Id(PhiType::Vehicle)),
    ("tag", Ctx::Id(PhiType::Vehicle)),
    ("vin", Ctx::Id(PhiType::Vehicle)),
    ("vehicle", Ctx::Id(PhiType::Vehicle)),
    ("reg", Ctx::Id(PhiType::Vehicle)),
    ("rego", Ctx::Id(PhiType::Vehicle)),
    ("number plate", Ctx::Id(PhiType::Vehicle)),
    ("car registration", Ctx::Id(PhiType::Vehicle)),
    ("vehicle registration", Ctx::Id(PhiType::Vehicle)),
    ("kennzeichen", Ctx::Id(PhiType::Vehicle)),
    ("mrn", Ctx::Id(PhiType::Mrn)),
    ("mr#", Ctx::Id(PhiType::Mrn)),
    ("mr #", Ctx::Id(PhiType::Mrn)),
    ("mr no", Ctx::Id(PhiType::Mrn)),
    ("medical record", Ctx::Id(PhiType::Mrn)),
    ("med rec", Ctx::Id(PhiType::Mrn)),
    ("record", Ctx::Id(PhiType::Mrn)),
    ("chart", Ctx::Id(PhiType::Mrn)),
    ("hospital number", Ctx::Id(PhiType::Mrn)),
    ("pt id", Ctx::Id(PhiType::Mrn)),
    ("patient id", Ctx::Id(PhiType::Mrn)),
    ("mpi", Ctx::Id(PhiType::Mrn)),
    ("emr", Ctx::Id(PhiType::Mrn)),
    ("mrn#", Ctx::Id(PhiType::Mrn)),
    ("registration", Ctx::Id(PhiType::Mrn)),
    ("acct", Ctx::Id(PhiType::Account)),
    ("acct#", Ctx::Id(PhiType::Account)),
    ("account", Ctx::Id(PhiType::Account)),
    ("a/c", Ctx::Id(PhiType::Account)),
    ("billing", Ctx::Id(PhiType::Account)),
    ("fin", Ctx::Id(PhiType::Account)),
    ("encounter", Ctx::Id(PhiType::Account)),
    ("visit number", Ctx::Id(PhiType::Account)),
    ("csn", Ctx::Id(PhiType::Account)),
    ("har", Ctx::Id(PhiType::Account)),
    ("invoice", Ctx::Id(PhiType::Account)),
    ("member", Ctx::Id(PhiType::HealthPlan)),
    ("policy", Ctx::Id(PhiType::HealthPlan)),
    ("subscriber", Ctx::Id(PhiType::HealthPlan)),
    ("insurance", Ctx::Id(PhiType::HealthPlan)),
    ("plan", Ctx::Id(PhiType::HealthPlan)),
    ("medicare", Ctx::Id(PhiType::HealthPlan)),
    ("medicaid", Ctx::Id(PhiType::HealthPlan)),
    ("medi-cal", Ctx::Id(PhiType::HealthPlan)),
    ("aetna", Ctx::Id(PhiType::HealthPlan)),
    ("cigna", Ctx::Id(PhiType::HealthPlan)),
    ("humana", Ctx::Id(PhiType::HealthPlan)),
    ("bcbs", Ctx::Id(PhiType::HealthPlan)),
    ("blue cross", Ctx::Id(PhiType::HealthPlan)),
    ("blue shield", Ctx::Id(PhiType::HealthPlan)),
    ("bluecross", Ctx::Id(PhiType::HealthPlan)),
    ("unitedhealthcare", Ctx::Id(PhiType::HealthPlan)),
    ("united", Ctx::Id(PhiType::HealthPlan)),
    ("uhc", Ctx::Id(PhiType::HealthPlan)),
    ("anthem", Ctx::Id(PhiType::HealthPlan)),
    ("kaiser", Ctx::Id(PhiType::HealthPlan)),
    ("tricare", Ctx::Id(PhiType::HealthPlan)),
    ("health net", Ctx::Id(PhiType::HealthPlan)),
    ("hic", Ctx::Id(PhiType::HealthPlan)),
    ("hicn", Ctx::Id(PhiType::HealthPlan)),
    ("mbi", Ctx::Id(PhiType::HealthPlan)),
    ("group", Ctx::Id(PhiType::HealthPlan)),
    ("payer", Ctx::Id(PhiType::HealthPlan)),
    ("insurer", Ctx::Id(PhiType::HealthPlan)),
    ("molina", Ctx::Id(PhiType::HealthPlan)),
    ("centene", Ctx::Id(PhiType::HealthPlan)),
    ("wellcare", Ctx::Id(PhiType::HealthPlan)),
    ("dl", Ctx::Id(PhiType::License)),
    ("dl#", Ctx::Id(PhiType::License)),
    ("driver's license", Ctx::Id(PhiType::License)),
    ("drivers license", Ctx::Id(PhiType::License)),
    ("license", Ctx::Id(PhiType::License)),
    ("licence", Ctx::Id(PhiType::License)),
    ("lic", Ctx::Id(PhiType::License)),
    ("passport", Ctx::Id(PhiType::License)),
    ("permit", Ctx::Id(PhiType::License)),
    ("state id", Ctx::Id(PhiType::License)),
    ("npi", Ctx::Id(PhiType::License)),
    ("dea", Ctx::Id(PhiType::License)),
    ("certificate", Ctx::Id(PhiType::License)),
    ("sn", Ctx::Id(PhiType::DeviceId)),
    ("s/n", Ctx::Id(PhiType::DeviceId)),
    ("serial", Ctx::Id(PhiType::DeviceId)),
    ("lot", Ctx::Id(PhiType::DeviceId)),
    ("lot#", Ctx::Id(PhiType::DeviceId)),
    ("udi", Ctx::Id(PhiType::DeviceId)),
    ("device id", Ctx::Id(PhiType::DeviceId)),
    ("implant id", Ctx::Id(PhiType::DeviceId)),
    ("sn#", Ctx::Id(PhiType::DeviceId)),
    ("band", Ctx::Id(PhiType::OtherId)),
    ("wristband", Ctx::Id(PhiType::OtherId)),
    ("bracelet", Ctx::Id(PhiType::OtherId)),
    ("accession", Ctx::Id(PhiType::OtherId)),
    ("acc", Ctx::Id(PhiType::OtherId)),
    ("specimen", Ctx::Id(PhiType::OtherId)),
    ("path", Ctx::Id(PhiType::OtherId)),
    ("pathology", Ctx::Id(PhiType::OtherId)),
    ("case number", Ctx::Id(PhiType::OtherId)),
    ("blood bank", Ctx::Id(PhiType::OtherId)),
    ("bb", Ctx::Id(PhiType::OtherId)),
    ("tube", Ctx::Id(PhiType::OtherId)),
    ("requisition", Ctx::Id(PhiType::OtherId)),
    ("req", Ctx::Id(PhiType::OtherId)),
    ("order", Ctx::Id(PhiType::OtherId)),
    ("claim", Ctx::Id(PhiType::OtherId)),
    ("label", Ctx::Id(PhiType::OtherId)),
    ("sample", Ctx::Id(PhiType::OtherId)),
    ("biopsy", Ctx::Id(PhiType::OtherId)),
    ("slide", Ctx::Id(PhiType::OtherId)),
    ("block", Ctx::Id(PhiType::OtherId)),
    ("id", Ctx::Generic),
    ("no", Ctx::Generic),
    ("number", Ctx::Generic),
    ("#", Ctx::Generic),
    ("identifier", Ctx::Generic),
    ("num", Ctx::Generic),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    None,
    Ref,
    Phone,
    Generic,
    Id(PhiType),
}

impl Numbers {
    pub fn new() -> Numbers {
        Numbers {
            phone: Regex::new(r"(?:\+1[\s.-]?|(?-u:\b)1[\s.-])?(?:\(\d{3}\)\s?|(?-u:\b)\d{3}[\s.-]?)\d{3}[\s.-]?\d{4}(?-u:\b)|\+\d{1,3}(?:[\s.-]?\(0\))?[\s.-]?\d{1,5}(?:[\s.-]?\d{2,5}){1,5}(?-u:\b)").expect("static regex"),
            chain: Regex::new(r"(?-u:\b)[A-Z]?\d{1,6}(?: \d{1,6})+(?-u:\b)").expect("static regex"),
            keywords: {
                let mut m: FastMap<&'static [u8], (Option<Ctx>, bool)> = FastMap::default();
                for &(k, ctx) in KEYWORDS {
                    m.entry(k.as_bytes()).or_insert((None, false)).0 = Some(ctx);
                    if let Some((_, tail)) = k.rsplit_once(' ') {
                        m.entry(tail.as_bytes()).or_insert((None, false)).1 = true;
                    }
                }
                m
            },
        }
    }

    /// Nearest context keyword in the same clause before byte `start`; a generic word ("ID",
    /// "number") defers to a specific one a little earlier ("Aetna ID", "account number").
    fn context(&self, text: &str, start: usize) -> Ctx {
        let b = text.as_bytes();
        let start = start.min(b.len());
        // the window: up to 40 bytes back, cut after the last ';', '|', newline or '('
        let mut lo = start.saturating_sub(40);
        if let Some(p) = b[lo..start].iter().rposition(|c| matches!(c, b';' | b'|' | b'\n' | b'(')) {
            lo += p + 1;
        }
        // words of the window, nearest first, produced lazily: runs of ASCII alphanumerics and
        // "#/'-" (every other byte, non-ASCII included, separates), trimmed of "-/'", 1–24 bytes
        let tok_byte = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'#' | b'/' | b'\'' | b'-');
        let trim = |c: u8| matches!(c, b'-' | b'/' | b'\'');
        let mut e = start;
        let mut next_token = || -> Option<&[u8]> {
            loop {
                while e > lo && !tok_byte(b[e - 1]) {
                    e -= 1;
                }
                if e <= lo {
                    return None;
                }
                let mut s = e;
                while s > lo && tok_byte(b[s - 1]) {
                    s -= 1;
                }
                let mut t = &b[s..e];
                e = s;
                while let [first, rest @ ..] = t {
                    if !trim(*first) {
                        break;
                    }
                    t = rest;
                }
                while let [rest @ .., last] = t {
                    if !trim(*last) {
                        break;
                    }
                    t = rest;
                }
                if !t.is_empty() && t.len() <= 24 {
                    return Some(t);
                }
            }
        };
        let mut generic = false;
        let mut buf = [0u8; 50];
        let mut cur = next_token();
        let mut seen = 0;
        while let Some(c) = cur {
            seen += 1;
            // at most 12 words are looked at
            let prev_word = if seen < 12 { next_token() } else { None };
            buf[..c.len()].copy_from_slice(c);
            buf[..c.len()].make_ascii_lowercase();
            let (mut found, tail) = self.keywords.get(&buf[..c.len()]).copied().unwrap_or((None, false));
            if let (true, Some(p)) = (tail, prev_word) {
                // two-word phrase "previous current" ("medical record", "license plate")
                let n = p.len() + 1 + c.len();
                buf[..p.len()].copy_from_slice(p);
                buf[p.len()] = b' ';
                buf[p.len() + 1..n].copy_from_slice(c);
                buf[..n].make_ascii_lowercase();
                if let Some((Some(ctx), _)) = self.keywords.get(&buf[..n]) {
                    found = Some(*ctx);
                }
            }
            match found {
                Some(Ctx::Generic) => generic = true,
                Some(c) => return c,
                None => {}
            }
            cur = prev_word;
        }
        if generic {
            Ctx::Generic
        } else {
            Ctx::None
        }
    }

    fn followed_by_unit(&self, text: &str, end: usize) -> bool {
        const UNITS: &[&str] = &[
            "mL", "ml", "L", "mg", "mcg", "µg", "ug", "g", "gm", "kg", "lb", "lbs", "unit", "units", "U", "IU", "mmHg",
            "cc", "mm", "cm", "m", "%", "mEq", "mmol", "min", "mins", "sec", "hr", "hrs", "h", "bpm", "J", "Fr", "°",
            "ng", "pg", "dL", "x",
        ];
        let rest = text.get(end..).unwrap_or("");
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        if rest.starts_with(['%', '°']) || rest.starts_with("µg") {
            return true;
        }
        let n = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        n > 0 && UNITS.contains(&&rest[..n]) && !rest[n..].starts_with(|c: char| c.is_alphanumeric())
    }

    #[cfg(test)]
    pub fn detect(&self, text: &str, out: &mut Output) {
        self.detect_shaped(text, &Shape::of(text), out);
    }

    pub fn detect_shaped(&self, text: &str, shape: &Shape, out: &mut Output) {
        if shape.digits == 0 {
            // only letter-only VINs / band IDs remain; they need context
            self.detect_tokens(text, out);
            return;
        }
        let phones = (shape.digits >= 10 && shape.phone_like).then(|| self.phone.find_iter(text));
        for m in phones.into_iter().flatten() {
            let s = m.as_str();
            let digits = s.bytes().filter(|b| b.is_ascii_digit()).count();
            if glued_digit(text, m.start(), m.end()) || digits < 10 {
                continue;
            }
            let separated = s.bytes().any(|b| !b.is_ascii_digit());
            let ctx = self.context(text, m.start());
            let kind = match ctx {
                Ctx::Id(PhiType::Fax) => PhiType::Fax,
                Ctx::Phone => PhiType::Phone,
                Ctx::Id(_) | Ctx::Ref => continue,
                _ if separated => PhiType::Phone,
                _ => continue,
            };
            out.push(kind, m.start(), m.end(), prio::STRONG_NUMBER);
        }
        self.detect_tokens(text, out);
        let chains = shape.digit_space_digit.then(|| self.chain.find_iter(text));
        for m in chains.into_iter().flatten() {
            let s = m.as_str();
            let digits = s.bytes().filter(|b| b.is_ascii_digit()).count();
            // fewer than 5 digits: no context makes an identifier of it (see the match below)
            if digits < 5 || glued_digit(text, m.start(), m.end()) || self.followed_by_unit(text, m.end()) {
                continue;
            }
            let ctx = self.context(text, m.start());
            let (kind, p) = match ctx {
                Ctx::Ref => continue,
                Ctx::Id(k) if digits >= 5 => (k, prio::CONTEXT_ID),
                Ctx::Phone if digits >= 10 => (PhiType::Phone, prio::CONTEXT_ID),
                _ if digits >= 7 => (shape_kind(s, digits), prio::GENERIC_ID),
                _ => continue,
            };
            out.push(kind, m.start(), m.end(), p);
        }
    }

    fn detect_tokens(&self, text: &str, out: &mut Output) {
        for_each_id_token(text, |start, end| self.id_token(text, start, end, out));
    }

    fn id_token(&self, text: &str, start: usize, end: usize, out: &mut Output) {
        let Some(s) = text.get(start..end) else {
            return;
        };
        let bytes = s.as_bytes();
        let (mut nd, mut nl, mut lower) = (0usize, 0usize, false);
        for c in bytes {
            nd += usize::from(c.is_ascii_digit());
            nl += usize::from(c.is_ascii_alphabetic());
            lower |= c.is_ascii_lowercase();
        }
        let alnum = nd + nl;
        if alnum < 4 || (nd == 0 && (lower || alnum < 5)) {
            return;
        }
        if nl == 0 && s.contains('/') {
            return; // dates, ratios
        }
        if glued_digit(text, start, end) || is_decimal_part(text, start, end) || is_ratio_or_range(text, start, s) {
            return;
        }
        if nd > 0 && self.followed_by_unit(text, end) {
            return;
        }
        // shapes that need no context: SSN "ddd-dd-dddd", Medicare MBI
        if is_ssn_shape(s) {
            out.push(PhiType::Ssn, start, end, prio::STRONG_NUMBER);
            return;
        }
        if is_mbi(s) {
            out.push(PhiType::HealthPlan, start, end, prio::STRONG_NUMBER);
            return;
        }
        let plate = if !lower && nd >= 1 && alnum <= 4 { plate_second_group(text, end, alnum) } else { None };
        let vin = is_vin(s);
        let decide = |ctx: Ctx| match ctx {
            Ctx::Ref => None,
            Ctx::Id(k) if nd == 0 => {
                let plate_or_band = !lower
                    && ((k == PhiType::Vehicle && (vin || (5..=8).contains(&alnum)))
                        || (k == PhiType::OtherId && s.contains('-')));
                plate_or_band.then_some((k, prio::CONTEXT_ID))
            }
            Ctx::Id(k) if !lower && (nd >= 5 || (nd >= 1 && nl >= 1 && alnum >= 5)) => Some((k, prio::CONTEXT_ID)),
            Ctx::Phone if nd >= 10 => Some((PhiType::Phone, prio::CONTEXT_ID)),
            _ if nd == 0 => None,
            _ if vin => Some((PhiType::Vehicle, prio::CONTEXT_ID)),
            _ if nd >= 5 && !(lower && nl > 2) => Some((shape_kind(s, nd), prio::GENERIC_ID)),
            _ if !lower && nl >= 1 && nd >= 4 && alnum >= 6 => Some((PhiType::OtherId, prio::GENERIC_ID)),
            Ctx::Generic if !lower && nd >= 3 && nl >= 1 && alnum >= 6 => Some((PhiType::OtherId, prio::GENERIC_ID)),
            _ => None,
        };
        // The context scan is the costly part on long hostile runs ("12-Mar-2020 …" repeated):
        // skip it when no context could change the outcome. Every context `decide` can tell apart
        // is tried (an `Id` kind matters only for letter-only tokens: Vehicle, OtherId, others).
        let ctx_free = plate.is_none()
            && [
                Ctx::None,
                Ctx::Generic,
                Ctx::Phone,
                Ctx::Ref,
                Ctx::Id(PhiType::Vehicle),
                Ctx::Id(PhiType::OtherId),
                Ctx::Id(PhiType::Mrn),
            ]
            .into_iter()
            .all(|c| decide(c).is_none());
        if ctx_free {
            return;
        }
        let ctx = self.context(text, start);
        if ctx == Ctx::Id(PhiType::Vehicle) {
            // a plate written in two groups: "KX19 ABC", "B-MX 4821" is one token here
            if let Some(e2) = plate {
                out.push(PhiType::Vehicle, start, e2, prio::CONTEXT_ID);
                return;
            }
        }
        if let Some((k, p)) = decide(ctx) {
            out.push(k, start, end, p);
        }
    }
}

impl Default for Numbers {
    fn default() -> Self {
        Numbers::new()
    }
}

/// End of the second group of a two-group plate ("KX19 ABC"): one space, then 1–4 capitals or
/// digits ending at a word boundary, the two groups holding 5–8 characters together.
fn plate_second_group(text: &str, end: usize, first_len: usize) -> Option<usize> {
    let rest = text.get(end..)?.strip_prefix(' ')?.as_bytes();
    let n = rest.iter().take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit()).count();
    let boundary = rest.get(n).is_none_or(|c| !(c.is_ascii_alphanumeric() || *c >= 0x80));
    ((1..=4).contains(&n) && boundary && (5..=8).contains(&(first_len + n))).then_some(end + 1 + n)
}

/// Calls `f(start, end)` for each ASCII alphanumeric run joined by single '-' or '/'
/// ("BB-A35D3S", "C244-8894-6692"), not touching other letters (so "Müller" yields nothing),
/// holding a digit or long enough and without lowercase (letter-only VINs, band IDs).
fn for_each_id_token(text: &str, mut f: impl FnMut(usize, usize)) {
    use crate::text::class::{ALPHA, DIGIT, TABLE};
    let b = text.as_bytes();
    let alnum = |c: u8| TABLE[usize::from(c)] & (ALPHA | DIGIT) != 0;
    let mut i = 0;
    while i < b.len() {
        if !alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let (mut digit, mut lower) = (false, false);
        loop {
            while i < b.len() {
                let c = b[i];
                let cl = TABLE[usize::from(c)];
                if cl & (ALPHA | DIGIT) == 0 {
                    break;
                }
                digit |= cl & DIGIT != 0;
                lower |= c >= b'a';
                i += 1;
            }
            if i + 1 < b.len() && matches!(b[i], b'-' | b'/') && alnum(b[i + 1]) {
                i += 1;
                continue;
            }
            break;
        }
        let before_ok = start == 0 || !(b[start - 1] >= 0x80 || b[start - 1] == b'_');
        let after_ok = i >= b.len() || !(b[i] >= 0x80 || b[i] == b'_');
        // only tokens holding a digit, or capitals long enough to be a letter-only VIN / band ID
        let keep = digit || (i - start >= 5 && !lower);
        if before_ok && after_ok && keep {
            f(start, i);
        }
    }
}

/// "1:100000" (dilution), "2019-2021" (year range): numbers, not identifiers.
fn is_ratio_or_range(text: &str, start: usize, tok: &str) -> bool {
    let b = text.as_bytes();
    if start >= 2 && b[start - 1] == b':' && b[start - 2].is_ascii_digit() {
        return true;
    }
    let year =
        |p: &str| p.len() == 4 && (p.starts_with("19") || p.starts_with("20")) && p.bytes().all(|c| c.is_ascii_digit());
    match tok.split_once('-') {
        Some((a, b)) => year(a) && year(b),
        None => false,
    }
}

/// "ddd-dd-dddd".
fn is_ssn_shape(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11
        && b[3] == b'-'
        && b[6] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 3 || i == 6 || c.is_ascii_digit())
}

/// Medicare Beneficiary Identifier: 11 characters (dashes allowed after the 4th and 7th),
/// C A AN N A AN N A A N N with letters excluding S, L, O, I, B, Z.
pub fn is_mbi(s: &str) -> bool {
    if s.len() != 11 && s.len() != 13 {
        return false;
    }
    let mut b = [0u8; 13];
    let mut n = 0;
    for c in s.bytes().filter(|c| *c != b'-') {
        b[n] = c;
        n += 1;
    }
    if n != 11 {
        return false;
    }
    let alpha = |c: u8| c.is_ascii_uppercase() && !matches!(c, b'S' | b'L' | b'O' | b'I' | b'B' | b'Z');
    let num = |c: u8| c.is_ascii_digit();
    (b'1'..=b'9').contains(&b[0])
        && alpha(b[1])
        && (alpha(b[2]) || num(b[2]))
        && num(b[3])
        && alpha(b[4])
        && (alpha(b[5]) || num(b[5]))
        && num(b[6])
        && alpha(b[7])
        && alpha(b[8])
        && num(b[9])
        && num(b[10])
}

/// Type guessed from the shape of a bare number: a DEA number is a licence, anything else
/// (NPIs included) an other ID.
fn shape_kind(s: &str, _digits: usize) -> PhiType {
    if is_dea(s) {
        return PhiType::License;
    }
    PhiType::OtherId
}

/// Digits directly touching the match (part of a longer number or decimal).
fn glued_digit(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    matches!(before, Some(c) if c.is_ascii_digit()) || matches!(after, Some(c) if c.is_ascii_digit())
}

/// "1.2" style: the token is glued to a '.' followed/preceded by a digit (decimals, OIDs).
fn is_decimal_part(text: &str, start: usize, end: usize) -> bool {
    let b = text.as_bytes();
    let prev_dot = start >= 2 && b[start - 1] == b'.' && b[start - 2].is_ascii_digit();
    let next_dot = end + 1 < b.len() && b[end] == b'.' && b[end + 1].is_ascii_digit();
    prev_dot || next_dot
}

/// 17 characters, no I/O/Q, uppercase letters and digits.
pub fn is_vin(s: &str) -> bool {
    s.len() == 17
        && s.bytes().all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !matches!(b, b'I' | b'O' | b'Q')))
}

/// NPI: 10 digits, Luhn over "80840" + first nine digits. (A valid NPI is typed OTHER_ID
/// like any other bare number, so detection does not need the check.)
#[cfg(test)]
pub fn npi_valid(d: &str) -> bool {
    if d.len() != 10 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let full = format!("80840{d}");
    let digits: Vec<u32> = full.bytes().map(|b| u32::from(b - b'0')).collect();
    let mut sum = 0;
    for (i, &v) in digits.iter().rev().enumerate() {
        let mut v = v;
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum % 10 == 0
}

/// DEA number: two letters, seven digits, checksum (d1+d3+d5 + 2*(d2+d4+d6)) mod 10 == d7.
pub fn is_dea(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 9 || !b[0].is_ascii_uppercase() || !(b[1].is_ascii_uppercase() || b[1] == b'9') {
        return false;
    }
    if !b[2..].iter().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let mut d = [0u32; 7];
    for (v, c) in d.iter_mut().zip(&b[2..]) {
        *v = u32::from(c - b'0');
    }
    (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(PhiType, String)> {
        let mut out = Output::default();
        Numbers::new().detect(text, &mut out);
        let r = crate::merge::resolve(text, out);
        r.iter().map(|c| (c.kind, text[c.start..c.end].to_string())).collect()
    }

    #[test]
    fn ssn_phone_fax() {
        assert_eq!(found("SSN 084-69-3079"), vec![(PhiType::Ssn, "084-69-3079".into())]);
        assert_eq!(found("call (707) 852-4514 now"), vec![(PhiType::Phone, "(707) 852-4514".into())]);
        assert_eq!(found("faxed from +1 949 399 0231;"), vec![(PhiType::Fax, "+1 949 399 0231".into())]);
        assert_eq!(found("ph 5309307969; x"), vec![(PhiType::Phone, "5309307969".into())]);
        assert_eq!(found("at 1-760-627-3230 after"), vec![(PhiType::Phone, "1-760-627-3230".into())]);
        // the trunk zero in brackets of European numbers
        assert_eq!(found("or +49 (0)151 2345 6789."), vec![(PhiType::Phone, "+49 (0)151 2345 6789".into())]);
        assert_eq!(found("tel +44 (0)20 7946 0018"), vec![(PhiType::Phone, "+44 (0)20 7946 0018".into())]);
        assert_eq!(found("tel +33 (0)1 42 68 53 00"), vec![(PhiType::Phone, "+33 (0)1 42 68 53 00".into())]);
        assert_eq!(found("tel +33 1 42 68 53 00."), vec![(PhiType::Phone, "+33 1 42 68 53 00".into())]);
    }

    #[test]
    fn plates_in_two_groups() {
        assert_eq!(found("car reg KX19 ABC, parked"), vec![(PhiType::Vehicle, "KX19 ABC".into())]);
        assert_eq!(found("number plate AB12 CDE"), vec![(PhiType::Vehicle, "AB12 CDE".into())]);
        // no vehicle word, or a unit after: nothing
        assert!(found("level L4 5S1 and T10 ABC").is_empty());
        assert!(found("insulin reg 8 units").is_empty());
    }

    #[test]
    fn ids_with_context() {
        assert_eq!(found("MR# 431 115 20 / x"), vec![(PhiType::Mrn, "431 115 20".into())]);
        assert_eq!(
            found("plate AZV9316, VIN ZY424W4BSEVAV7187"),
            vec![(PhiType::Vehicle, "AZV9316".into()), (PhiType::Vehicle, "ZY424W4BSEVAV7187".into())]
        );
        assert_eq!(found("VIN RENPRXJNNVFLYHCVT comes"), vec![(PhiType::Vehicle, "RENPRXJNNVFLYHCVT".into())]);
        assert_eq!(found("band BB-A35D3S; 2 units"), vec![(PhiType::OtherId, "BB-A35D3S".into())]);
        assert_eq!(found("band RYCS-7457; 1 unit"), vec![(PhiType::OtherId, "RYCS-7457".into())]);
        assert_eq!(found("Medicare ID R17B885272 —"), vec![(PhiType::HealthPlan, "R17B885272".into())]);
        assert_eq!(found("DL C244-8894-6692, phone"), vec![(PhiType::License, "C244-8894-6692".into())]);
        assert_eq!(
            found("LOT 9N6004B; SN SN2089998"),
            vec![(PhiType::DeviceId, "9N6004B".into()), (PhiType::DeviceId, "SN2089998".into())]
        );
        assert_eq!(found("x | 0070 3019"), vec![(PhiType::OtherId, "0070 3019".into())]);
    }

    #[test]
    fn not_phi_numbers() {
        for t in [
            "REF 582434; REF PCO6861",
            "EBL 1500 mL | UOP 300 mL",
            "BP 120/80 HR 64 SpO2 94%",
            "Tourniquet up at 1515, 250 mmHg",
            "Apgar 9/10, wt 3083 g",
            "ABG 7.32/45/88, TEG R 6.1",
            "2-0 Vicryl, C5-6, 10000 units heparin",
            "Whipple described this in 1935",
        ] {
            assert!(found(t).is_empty(), "{t}: {:?}", found(t));
        }
    }

    #[test]
    fn checksums() {
        assert!(npi_valid("1234567893"));
        assert!(!npi_valid("1234567890"));
        assert!(is_dea("AB1234563"));
        assert!(!is_dea("AB1234564"));
        assert!(is_vin("1HGCM82633A004352"));
        assert!(is_mbi("1EG4-TE5-MK73") && is_mbi("1EG4TE5MK73"));
        assert!(!is_mbi("1EG4-TE5-MK7") && !is_mbi("0EG4TE5MK73"));
        assert_eq!(found("MBI 1EG4-TE5-MK73 on file"), vec![(PhiType::HealthPlan, "1EG4-TE5-MK73".into())]);
    }
}
