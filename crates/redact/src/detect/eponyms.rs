//! Embedded word lists: the name dictionary, common words, medical eponyms and the medical
//! nouns that mark an eponym use ("Murphy's sign", "Blake drain", "Ivor Lewis esophagectomy").

use crate::text::FastSet;

static NAMES: &str = include_str!("../../data/names.txt");
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
    names: FastSet<&'static str>,
    common: FastSet<&'static str>,
    eponyms: FastSet<&'static str>,
    medical_nouns: FastSet<&'static str>,
}

fn words_of(src: &'static str) -> impl Iterator<Item = &'static str> {
    src.lines().filter(|l| !l.trim_start().starts_with('#')).flat_map(|l| l.split_whitespace())
}

impl Lexicon {
    pub fn new() -> Lexicon {
        Lexicon {
            names: words_of(NAMES).collect(),
            common: words_of(COMMON).collect(),
            eponyms: words_of(EPONYMS).collect(),
            medical_nouns: MEDICAL_NOUNS.iter().copied().collect(),
        }
    }

    /// In the given-name / surname dictionary (folded form).
    pub fn is_name(&self, folded: &str) -> bool {
        self.names.contains(folded)
            || folded.split('-').filter(|p| !p.is_empty()).all(|p| p.len() > 1 && self.names.contains(p))
                && folded.contains('-')
    }

    pub fn is_common(&self, folded: &str) -> bool {
        self.common.contains(folded)
    }

    pub fn is_eponym(&self, folded: &str) -> bool {
        self.eponyms.contains(folded) || (folded.contains('-') && folded.split('-').any(|p| self.eponyms.contains(p)))
    }

    /// A word of an organisation name ("Hospital", "Clinic").
    pub fn is_org_word(&self, folded: &str) -> bool {
        ORG_WORDS.contains(&folded)
    }

    /// A medical noun (or a surgical "-ectomy/-otomy/-plasty…" word).
    pub fn is_medical_noun(&self, folded: &str) -> bool {
        self.medical_nouns.contains(folded)
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
