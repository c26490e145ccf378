//! Detectors. Each pushes [`Candidate`]s (byte offsets) into an [`Output`]; `merge` resolves them.

pub mod address;
pub mod calendars;
pub mod contact;
pub mod dates;
pub mod eponyms;
pub mod gates;
pub mod idformats;
pub mod names;
pub mod numbers;
pub mod places;
pub mod postal;
pub mod registered;
pub mod shape;
pub mod wristband;

pub use crate::merge::Candidate;
use crate::{PhiType, RedactorConfig};

/// Candidates plus byte ranges that NAME candidates must not touch (staff names).
#[derive(Debug, Default)]
pub struct Output {
    pub cands: Vec<Candidate>,
    pub protected: Vec<(usize, usize)>,
}

impl Output {
    pub fn push(&mut self, kind: PhiType, start: usize, end: usize, prio: u8) {
        if start < end {
            self.cands.push(Candidate { kind, start, end, prio });
        }
    }
}

/// Priorities used when overlapping candidates are united (higher decides the type).
pub mod prio {
    pub const REGISTERED: u8 = 9;
    /// A registered name inside an email or URL keeps the contact type.
    pub const REGISTERED_NAME: u8 = 4;
    pub const CONTACT: u8 = 8;
    pub const STRONG_NUMBER: u8 = 7;
    pub const DATE: u8 = 6;
    pub const ADDRESS: u8 = 5;
    pub const CONTEXT_ID: u8 = 5;
    pub const NAME: u8 = 3;
    pub const GENERIC_ID: u8 = 2;
}

/// All process-wide detectors (compiled once).
#[derive(Debug)]
pub struct Detectors {
    contact: contact::Contact,
    numbers: numbers::Numbers,
    dates: dates::Dates,
    address: address::Address,
    names: names::Names,
    places: places::Places,
    ids: idformats::IdFormats,
    calendars: calendars::Calendars,
    postal: postal::Postal,
}

impl Detectors {
    pub fn new() -> Detectors {
        // index the gazetteers now, not on the first message
        crate::gazetteer::get();
        Detectors {
            contact: contact::Contact::new(),
            numbers: numbers::Numbers::new(),
            dates: dates::Dates::new(),
            address: address::Address::new(),
            names: names::Names::new(),
            places: places::Places::new(),
            ids: idformats::IdFormats::new(),
            calendars: calendars::Calendars::new(),
            postal: postal::Postal::new(),
        }
    }

    pub fn run(
        &self,
        text: &str,
        patient: Option<&registered::PatientMatcher>,
        memory: Option<&crate::SessionMemory>,
        config: RedactorConfig,
        out: &mut Output,
    ) {
        if text.is_empty() {
            return;
        }
        let shape = crate::text::Shape::of(text);
        let lower = text.to_ascii_lowercase();
        let bytes = if shape.digits > 0 {
            gates::ByteGates::of_runs(text.as_bytes(), shape.digit_runs())
        } else {
            gates::ByteGates::default()
        };
        self.contact.detect_shaped(text, &shape, out);
        self.numbers.detect_shaped(text, &shape, out);
        self.ids.detect(text, &lower, &bytes, out);
        let date_hits = self.dates.detect_shaped(text, &shape, out);
        self.calendars.detect(text, &lower, shape.month_word, &bytes, out);
        self.address.detect_shaped(text, &shape, out);
        self.postal.detect(text, &bytes, out);
        let mut arena = String::new();
        let mut words = crate::text::words(text, &lower, &mut arena);
        self.names.annotate(&mut words);
        self.names.detect(text, &words, config, out);
        if let Some(m) = memory {
            self.names.recall(text, &words, m, out);
        }
        self.places.detect(text, &words, out);
        wristband::detect(text, &words, out);
        if let Some(p) = patient {
            p.detect(text, &shape, &words, &date_hits, out);
        }
    }
}

impl Detectors {
    /// Adds the names among `spans` to the session memory: their tokens that no English, OR or
    /// eponym list knows, and the initials of multi-word names.
    pub fn learn(&self, text: &str, spans: &[crate::merge::ByteSpan], memory: &mut crate::SessionMemory) {
        for s in spans.iter().filter(|s| s.kind == PhiType::Name) {
            let Some(t) = text.get(s.start..s.end) else {
                continue;
            };
            let lower = t.to_ascii_lowercase();
            let mut arena = String::new();
            let mut words = crate::text::words(t, &lower, &mut arena);
            self.names.annotate(&mut words);
            let mut initials = String::new();
            let mut split_initials = String::new();
            for w in &words {
                if let Some(c) = w.text.chars().next().filter(|c| c.is_uppercase()) {
                    initials.extend(c.to_uppercase());
                }
                for part in w.text.split('-') {
                    if let Some(c) = part.chars().next().filter(|c| c.is_uppercase()) {
                        split_initials.extend(c.to_uppercase());
                    }
                }
                if self.names.learnable(w) {
                    let stem = ["-san", "-sama", "-chan", "-kun"]
                        .iter()
                        .find_map(|x| w.folded.strip_suffix(x))
                        .unwrap_or(w.folded);
                    memory.learn_name(stem);
                    // each half of a double surname is the patient too ("Olazabalaga-Mendiluze")
                    if stem.contains('-') {
                        for h in stem.split('-').filter(|h| h.chars().count() >= 4) {
                            memory.learn_name(h);
                        }
                    }
                }
            }
            let cap_words = words.iter().filter(|w| w.cap && w.nchars >= 2).count();
            for v in [&initials, &split_initials] {
                if cap_words >= 2 && (2..=4).contains(&v.chars().count()) && v.is_ascii() {
                    memory.learn_initials(v);
                }
            }
        }
    }
}

impl Default for Detectors {
    fn default() -> Self {
        Detectors::new()
    }
}
