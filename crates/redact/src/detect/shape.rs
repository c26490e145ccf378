//! Word shape: evidence a token gives on its own, before any context — drug-like suffixes,
//! spelled-out letters ("K-A-V-I"), clinical word endings.

/// Suffixes of drug and chemical names ("cefazolin", "ondansetron", "rocuronium"): such a
/// capitalized word is a drug, not a person, unless context says otherwise.
const DRUG_SUFFIXES: &[&str] = &[
    "azole",
    "cillin",
    "mycin",
    "micin",
    "floxacin",
    "cycline",
    "prazole",
    "sartan",
    "pril",
    "olol",
    "statin",
    "parin",
    "caine",
    "curium",
    "uronium",
    "fentanil",
    "azepam",
    "azolam",
    "dronate",
    "tidine",
    "setron",
    "triptan",
    "gliptin",
    "gliflozin",
    "mab",
    "nib",
    "vir",
    "dipine",
    "thiazide",
    "semide",
    "lukast",
    "profen",
    "oxacin",
    "onium",
    "amine",
    "ephrine",
    "olone",
    "asone",
    "sone",
    "afil",
    "lamide",
    "barbital",
    "flurane",
    "amide",
    "phylline",
    "trexate",
    "platin",
    "rubicin",
    "taxel",
];

/// True if the folded word ends in a drug suffix and is long enough to be one.
pub fn drug_like(folded: &str) -> bool {
    let cephalosporin = folded.len() >= 8 && folded.starts_with("cef");
    cephalosporin
        || folded.len() >= 6
            && folded.is_ascii()
            && DRUG_SUFFIXES.iter().any(|s| folded.ends_with(s) && folded.len() > s.len() + 2)
}

/// Endings of clinical words ("extubated", "laparotomy", "cholangitis", "hypotension"): a
/// capitalized word built like this opens a sentence, it does not name a person.
const CLINICAL_ENDINGS: &[&str] = &[
    "ectomy", "otomy", "ostomy", "plasty", "scopy", "scopic", "graphy", "gram", "itis", "osis", "emia", "aemia",
    "algia", "pathy", "plegia", "uria", "ated", "ized", "ised", "ating", "izing", "tion", "sion", "ment", "ness",
    "ology", "ologist", "otic", "ular", "eal", "ious", "ative", "ectasis", "rrhage", "rrhea", "penia", "cytosis",
];

/// True if the folded word ends like a clinical term and is long enough to be one.
pub fn clinical_like(folded: &str) -> bool {
    folded.len() >= 7 && folded.is_ascii() && CLINICAL_ENDINGS.iter().any(|s| folded.ends_with(s))
}

/// "K-A-V-I", "o-l-a-z-a": four or more single letters joined by hyphens (or dots).
pub fn spelled_out(word: &str) -> bool {
    let mut letters = 0;
    let mut expect_letter = true;
    for c in word.chars() {
        if expect_letter {
            if !c.is_alphabetic() {
                return false;
            }
            letters += 1;
        } else if c != '-' && c != '.' {
            return false;
        }
        expect_letter = !expect_letter;
    }
    letters >= 4 && !expect_letter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drugs_by_suffix() {
        for w in ["cefazolin", "ondansetron", "rocuronium", "vancomycin", "pantoprazole", "sevoflurane"] {
            assert!(drug_like(w), "{w}");
        }
        for w in ["okonkwo", "tsitsino", "amine", "kinue", "haingonirina", "pfannenstiel"] {
            assert!(!drug_like(w), "{w}");
        }
    }

    #[test]
    fn clinical_endings() {
        for w in ["extubated", "laparotomy", "cholangitis", "hypotension", "sedation"] {
            assert!(clinical_like(w), "{w}");
        }
        for w in ["kinue", "mzevinar", "tsegaberhan", "chimsimdi", "ahmed"] {
            assert!(!clinical_like(w), "{w}");
        }
    }

    #[test]
    fn spelled_letters() {
        assert!(spelled_out("K-A-V-I"));
        assert!(spelled_out("T-S-I-T-S-I-N-O"));
        assert!(spelled_out("o-l-a-z"));
        for w in ["A-G", "K-A-V", "Jackson-Pratt", "K--A-V-I", "K-A-V-I-", "ABCD"] {
            assert!(!spelled_out(w), "{w}");
        }
    }
}
