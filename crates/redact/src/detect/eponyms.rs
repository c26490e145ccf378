//! Embedded word lists: the name dictionary, common words, medical eponyms and the medical
//! nouns that mark an eponym use ("Murphy's sign", "Blake drain", "Ivor Lewis esophagectomy").

use crate::text::FastMap;

static NAMES: &str = include_str!("../../data/names.txt");
static NAMES_EXTRA: &str = include_str!("../../data/names_extra.txt");
static COMMON: &str = include_str!("../../data/common_words.txt");
static EPONYMS: &str = include_str!("../../data/eponyms.txt");

/// Nouns that, right after a capitalized word, make it an eponym or a device, not a person.
const MEDICAL_NOUNS: &[&str] = &[
    "nodule",
    "protocol",
    "pathway",
    "guideline",
    "guidelines",
    "regimen",
    "solution",
    "stain",
    "lesion",
    "nerve",
    "artery",
    "vein",
    "muscle",
    "fossa",
    "gland",
    "tubercle",
    "body",
    "bodies",
    "fistula",
    "stapler",
    "tower",
    "stand",
    "device",
    "cannula",
    "trocar",
    "sheath",
    "balloon",
    "prosthesis",
    "pump",
    "monitor",
    "machine",
    "system",
    "criterion",
    "view",
    "ring",
    "knot",
    "sign",
    "signs",
    "syndrome",
    "disease",
    "procedure",
    "operation",
    "repair",
    "reconstruction",
    "reversal",
    "resection",
    "pouch",
    "stump",
    "wrap",
    "fundoplication",
    "anastomosis",
    "limb",
    "loop",
    "patch",
    "drain",
    "drains",
    "clamp",
    "clamps",
    "catheter",
    "tube",
    "needle",
    "retractor",
    "forceps",
    "scissors",
    "stitch",
    "suture",
    "sutures",
    "ligament",
    "triangle",
    "node",
    "nodes",
    "duct",
    "incision",
    "position",
    "frame",
    "table",
    "bag",
    "technique",
    "maneuver",
    "manoeuvre",
    "score",
    "scale",
    "classification",
    "criteria",
    "grade",
    "stage",
    "test",
    "hernia",
    "diverticulum",
    "sarcoma",
    "lymphoma",
    "carcinoma",
    "tumor",
    "tumour",
    "foot",
    "angina",
    "esophagus",
    "oesophagus",
    "ulcer",
    "fracture",
    "palsy",
    "phenomenon",
    "reflex",
    "triad",
    "closure",
    "amputation",
    "myotomy",
    "gastrostomy",
    "esophagectomy",
    "pancreatectomy",
    "gastrectomy",
    "colectomy",
    "cholecystectomy",
    "thyroidectomy",
    "fundoplasty",
    "pyloroplasty",
    "approach",
    "point",
    "space",
    "pouch",
    "fascia",
    "canal",
    "cyst",
    "disease",
    "cell",
    "cells",
    "blade",
    "scope",
    "laryngoscope",
    "mesh",
    "plug",
    "stent",
    "valve",
    "shunt",
    "line",
    "port",
    "dressing",
    "bandage",
    "splint",
    "cast",
    "nail",
    "plate",
    "screw",
    "wire",
    "pin",
    "pins",
    "graft",
    "flap",
    "method",
    "rule",
    "law",
    "effect",
    "law",
    "index",
    "ratio",
    "number",
    "formula",
    "stockings",
    "hose",
    "bed",
    "stirrups",
    "sponge",
    "sponges",
    "hugger",
    "esophagogastrectomy",
    "jejunostomy",
    "gastrojejunostomy",
    "pancreaticoduodenectomy",
    "sphincter",
    "ampulla",
    "papilla",
    "lymphadenectomy",
    "dissection",
    "thyroiditis",
    "ophthalmopathy",
];

/// Two-word eponyms and institutions whose words are also person names.
const EPONYM_PHRASES: &[(&str, &str)] = &[
    ("ivor", "lewis"),
    ("jackson", "pratt"),
    ("johns", "hopkins"),
    ("grey", "turner"),
    ("mary", "joseph"),
    ("guillain", "barre"),
    ("child", "pugh"),
    ("swan", "ganz"),
    ("mallory", "weiss"),
    ("zollinger", "ellison"),
    ("budd", "chiari"),
    ("stevens", "johnson"),
    ("lloyd", "davies"),
    ("milligan", "morgan"),
    ("cormack", "lehane"),
    ("clavien", "dindo"),
    ("salter", "harris"),
    ("hill", "sachs"),
    ("brown", "sequard"),
    ("bair", "hugger"),
    ("da", "vinci"),
    ("mayo", "clinic"),
    ("cleveland", "clinic"),
    ("mount", "sinai"),
    ("cedars", "sinai"),
    ("virginia", "mason"),
    ("sister", "mary"),
    ("graham", "patch"),
    ("smith", "nephew"),
    ("boston", "scientific"),
    ("johnson", "johnson"),
    ("roux", "en"),
    ("ladd", "bands"),
    ("lund", "browder"),
    ("wolff", "parkinson"),
    ("parkinson", "white"),
    ("arnold", "chiari"),
    ("dubin", "johnson"),
    ("peutz", "jeghers"),
    ("osler", "weber"),
    ("weber", "rendu"),
    ("hodgkin", "lymphoma"),
    ("charcot", "marie"),
    ("marie", "tooth"),
    ("kasabach", "merritt"),
    ("von", "willebrand"),
];

/// Words of organisation names ("Washington Hospital Center", "Mayo Clinic"): not persons.
const ORG_WORDS: &[&str] = &[
    "hospital",
    "hospitals",
    "clinic",
    "clinics",
    "center",
    "centre",
    "medical",
    "health",
    "healthcare",
    "university",
    "institute",
    "memorial",
    "general",
    "regional",
    "foundation",
    "pharmacy",
    "laboratory",
    "laboratories",
    "labs",
    "college",
    "school",
    "church",
    "county",
    "department",
    "dept",
    "associates",
    "group",
    "inc",
    "llc",
    "corp",
    "company",
    "systems",
    "scientific",
    "surgical",
    "medicine",
    "children's",
    "infirmary",
    "hospice",
    "rehab",
    "nursing",
    "home",
    "homes",
    "pharma",
    "pharmaceuticals",
    "biologics",
    "therapeutics",
];

/// The embedded dictionaries, parsed once.
#[derive(Debug)]
pub struct Lexicon {
    /// Every listed word of up to 8 bytes, packed into a `u64` (see [`pack`]) → bit set of the
    /// lists it is in (one hash lookup per word, no string comparison).
    short: FastMap<u64, u32>,
    /// Longer words → bit set of the lists they are in.
    flags: FastMap<&'static str, u32>,
}

/// A word of at most 8 bytes as a `u64` (little-endian, zero-padded: words hold no NUL byte).
fn pack(w: &str) -> Option<u64> {
    let b = w.as_bytes();
    let mut k = [0u8; 8];
    k.get_mut(..b.len())?.copy_from_slice(b);
    Some(u64::from_le_bytes(k))
}

/// Bits of [`Lexicon::flags`].
pub mod flag {
    pub const NAME: u32 = 1;
    pub const COMMON: u32 = 1 << 1;
    pub const EPONYM: u32 = 1 << 2;
    pub const MEDICAL_NOUN: u32 = 1 << 3;
    pub const ORG: u32 = 1 << 4;
    pub const HONORIFIC: u32 = 1 << 5;
    pub const STAFF: u32 = 1 << 6;
    pub const RELATION: u32 = 1 << 7;
    pub const PATIENT: u32 = 1 << 8;
    pub const PATIENT_STRONG: u32 = 1 << 9;
    pub const PARTICLE: u32 = 1 << 10;
    pub const FUNCTION_WORD: u32 = 1 << 11;
    pub const STATE_CODE: u32 = 1 << 12;
    pub const ARTICLE: u32 = 1 << 13;
    pub const POST_VERB: u32 = 1 << 14;
    /// First word of an [`super::EPONYM_PHRASES`] pair.
    pub const PHRASE_FIRST: u32 = 1 << 15;
    /// Second word of an [`super::EPONYM_PHRASES`] pair.
    pub const PHRASE_SECOND: u32 = 1 << 16;
    /// Ordinary English word (gazetteer `english.txt`), set for capitalized words only.
    pub const ENGLISH: u32 = 1 << 17;
    /// Given name or surname of the world gazetteer (`gaz/names.txt`), capitalized words only.
    pub const WORLD_NAME: u32 = 1 << 18;
    /// Place of the GeoNames gazetteer (`gaz/places.txt`), capitalized words only.
    pub const PLACE: u32 = 1 << 19;
    /// OR jargon and drug-like word: never a name by shape alone.
    pub const JARGON: u32 = 1 << 20;
    /// Country, state or province (gazetteer `regions.txt`), capitalized words only.
    pub const REGION: u32 = 1 << 21;
}

fn words_of(src: &'static str) -> impl Iterator<Item = &'static str> {
    src.lines().filter(|l| !l.trim_start().starts_with('#')).flat_map(|l| l.split_whitespace())
}

impl Lexicon {
    pub fn new() -> Lexicon {
        let mut l = Lexicon { short: FastMap::default(), flags: FastMap::default() };
        l.add(words_of(NAMES).chain(words_of(NAMES_EXTRA)), flag::NAME);
        l.add(words_of(COMMON), flag::COMMON);
        l.add(words_of(EPONYMS), flag::EPONYM);
        l.add(MEDICAL_NOUNS.iter().copied(), flag::MEDICAL_NOUN);
        l.add(ORG_WORDS.iter().copied(), flag::ORG);
        l.add(EPONYM_PHRASES.iter().map(|p| p.0), flag::PHRASE_FIRST);
        l.add(EPONYM_PHRASES.iter().map(|p| p.1), flag::PHRASE_SECOND);
        l
    }

    /// Adds words (lowercase, folded) to a list.
    pub fn add(&mut self, words: impl IntoIterator<Item = &'static str>, bit: u32) {
        for w in words {
            match pack(w) {
                Some(k) => *self.short.entry(k).or_insert(0) |= bit,
                None => *self.flags.entry(w).or_insert(0) |= bit,
            }
        }
    }

    /// The lists a folded word is in.
    pub fn flags(&self, folded: &str) -> u32 {
        match pack(folded) {
            Some(k) => self.short.get(&k).copied().unwrap_or(0),
            None => self.flags.get(folded).copied().unwrap_or(0),
        }
    }

    /// In the given-name / surname dictionary (folded form); hyphenated names by their parts.
    pub fn is_name(&self, folded: &str) -> bool {
        self.flags(folded) & flag::NAME != 0
            || folded.contains('-')
                && folded.split('-').filter(|p| !p.is_empty()).all(|p| p.len() > 1 && self.flags(p) & flag::NAME != 0)
    }

    /// [`Lexicon::is_name`] given the word's flags.
    pub fn is_name_flagged(&self, folded: &str, flags: u32) -> bool {
        flags & flag::NAME != 0
            || folded.contains('-')
                && folded.split('-').filter(|p| !p.is_empty()).all(|p| p.len() > 1 && self.flags(p) & flag::NAME != 0)
    }

    /// [`Lexicon::is_eponym`] given the word's flags.
    pub fn is_eponym_flagged(&self, folded: &str, flags: u32) -> bool {
        flags & flag::EPONYM != 0
            || (folded.contains('-') && folded.split('-').any(|p| self.flags(p) & flag::EPONYM != 0))
    }

    #[cfg(test)]
    pub fn is_common(&self, folded: &str) -> bool {
        self.flags(folded) & flag::COMMON != 0
    }

    pub fn is_eponym(&self, folded: &str) -> bool {
        self.flags(folded) & flag::EPONYM != 0
            || (folded.contains('-') && folded.split('-').any(|p| self.flags(p) & flag::EPONYM != 0))
    }

    /// Two consecutive words forming a known eponym or institution.
    pub fn is_eponym_phrase(&self, a: &str, b: &str) -> bool {
        EPONYM_PHRASES.iter().any(|(x, y)| *x == a && *y == b)
    }

    /// [`Lexicon::is_eponym_phrase`] for two words whose flags are known: the list is scanned
    /// only when both words occur in it.
    pub fn is_eponym_phrase_flagged(&self, a: &str, a_flags: u32, b: &str, b_flags: u32) -> bool {
        a_flags & flag::PHRASE_FIRST != 0 && b_flags & flag::PHRASE_SECOND != 0 && self.is_eponym_phrase(a, b)
    }

    /// A medical noun (or a surgical "-ectomy/-otomy/-plasty…" word).
    #[cfg(test)]
    pub fn is_medical_noun(&self, folded: &str) -> bool {
        Self::is_medical_noun_flagged(folded, self.flags(folded))
    }

    /// [`Lexicon::is_medical_noun`] given the word's flags.
    pub fn is_medical_noun_flagged(folded: &str, flags: u32) -> bool {
        flags & flag::MEDICAL_NOUN != 0
            || ["ectomy", "otomy", "ostomy", "plasty", "pexy", "rrhaphy", "scopy", "itis", "oma"]
                .iter()
                .any(|s| folded.len() > s.len() + 2 && folded.ends_with(s))
    }
}

impl Default for Lexicon {
    fn default() -> Self {
        Lexicon::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_load() {
        let l = Lexicon::new();
        assert!(l.is_name("sato") && l.is_name("olusanya") && l.is_name("nguyen"));
        assert!(l.is_common("will") && l.is_common("the"));
        assert!(l.is_eponym("whipple") && l.is_eponym("pfannenstiel") && l.is_eponym("jackson-pratt"));
        assert!(l.is_medical_noun("sign") && l.is_medical_noun("esophagectomy"));
        assert!(!l.is_medical_noun("sato"));
    }
}
