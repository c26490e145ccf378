//! OCR words through the text redaction gate: which word boxes to mask.

use orgallery_redact::{Identifiers, PatientMatcher, PhiType, Redactor};

use crate::{group_lines, mask_rects, Rect, Word};

/// Mean confidence under which a line is "read with low confidence".
pub const LOW_CONFIDENCE: f32 = 75.0;

/// A mask OCR proposes: a padded word box and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OcrMask {
    pub rect: Rect,
    /// The detector's type (`"NAME"`, `"MRN"`, …) or `"FUZZY_IDENTIFIER"`.
    pub kind: &'static str,
}

/// The patient as OCR needs it: the gate's matcher plus tokens for the
/// fuzzy match of low-confidence lines.
pub struct OcrPatient {
    matcher: PatientMatcher,
    tokens: Vec<String>,
}

fn norm(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

impl OcrPatient {
    pub fn new(ids: &Identifiers) -> OcrPatient {
        let mut tokens: Vec<String> = Vec::new();
        for n in ids.names.iter().chain(&ids.other) {
            tokens.extend(n.split(|c: char| !c.is_alphanumeric()).map(norm).filter(|t| t.chars().count() >= 3));
        }
        for m in ids.mrns.iter().chain(&ids.dates) {
            let t = norm(m);
            if t.chars().count() >= 4 {
                tokens.push(t);
            }
        }
        tokens.sort();
        tokens.dedup();
        OcrPatient { matcher: PatientMatcher::new(ids), tokens }
    }

    /// Whether an OCR word is close to a registered identifier token: edit
    /// distance ≤ 1 (≤ 2 from 8 characters), or a run of ≥ 5 shared digits.
    pub fn fuzzy_hit(&self, word: &str) -> bool {
        let w = norm(word);
        if w.chars().count() < 3 {
            return false;
        }
        self.tokens.iter().any(|t| {
            let allowed = if t.chars().count() >= 8 { 2 } else { 1 };
            if levenshtein(&w, t) <= allowed {
                return true;
            }
            let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
            (digits(&w) || digits(t)) && common_run(&w, t) >= 5
        })
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Longest common substring length.
fn common_run(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut best = 0;
    let mut prev = vec![0; b.len() + 1];
    for ca in &a {
        let mut cur = vec![0; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            if ca == cb {
                cur[j + 1] = prev[j] + 1;
                best = best.max(cur[j + 1]);
            }
        }
        prev = cur;
    }
    best
}

/// Group `words` into lines, run each line through `redactor` (Safe Harbor
/// detectors plus the patient's identifiers), and return padded boxes over
/// every word inside a finding. A low-confidence line with a word close to a
/// registered identifier is masked whole.
pub fn find_phi(
    words: Vec<Word>,
    redactor: &Redactor,
    patient: Option<&OcrPatient>,
    width: u32,
    height: u32,
) -> Vec<OcrMask> {
    let mut out = Vec::new();
    for line in group_lines(words) {
        let (text, _) = line.text();
        let findings = redactor.detect(&text, patient.map(|p| &p.matcher));
        let mut chosen: Vec<(usize, &'static str)> = Vec::new();
        for f in &findings {
            for i in line.words_in(f.start, f.end) {
                chosen.push((i, kind_name(f.kind)));
            }
        }
        if let Some(p) = patient {
            if line.confidence() < LOW_CONFIDENCE && line.words.iter().any(|w| p.fuzzy_hit(&w.text)) {
                chosen.extend((0..line.words.len()).map(|i| (i, "FUZZY_IDENTIFIER")));
            }
        }
        chosen.sort_by_key(|c| c.0);
        chosen.dedup_by_key(|c| c.0);
        for (i, kind) in chosen {
            for rect in mask_rects([&line.words[i]], width, height) {
                out.push(OcrMask { rect, kind });
            }
        }
    }
    out
}

fn kind_name(k: PhiType) -> &'static str {
    k.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Identifiers {
        Identifiers {
            names: vec!["John Q. Doe".into()],
            mrns: vec!["12-345-678".into()],
            dates: vec!["1961-03-14".into()],
            other: vec![],
        }
    }

    fn w(t: &str, conf: f32, x: u32) -> Word {
        Word { text: t.into(), conf, rect: Rect { x, y: 100, w: 60, h: 20 } }
    }

    #[test]
    fn fuzzy_matches_misread_identifiers() {
        let p = OcrPatient::new(&ids());
        assert!(p.fuzzy_hit("D0E"));
        assert!(p.fuzzy_hit("J0HN,"));
        assert!(p.fuzzy_hit("1234S678"));
        assert!(p.fuzzy_hit("345678"));
        assert!(!p.fuzzy_hit("Propofol"));
        assert!(!p.fuzzy_hit("72"));
        assert!(!p.fuzzy_hit("mg"));
    }

    #[test]
    fn registered_name_and_mrn_are_masked_drug_is_not() {
        let r = Redactor::new(Default::default());
        let p = OcrPatient::new(&ids());
        let words = vec![w("DOE,", 95.0, 0), w("JOHN", 95.0, 70), w("MRN", 95.0, 140), w("12345678", 95.0, 210)];
        let mut drug = w("Propofol", 95.0, 0);
        drug.rect.y = 300;
        let mut all = words.clone();
        all.push(drug);
        let masks = find_phi(all, &r, Some(&p), 1000, 1000);
        let covered = |w: &Word| masks.iter().any(|m| m.rect.overlap(&w.rect) == w.rect.area());
        assert!(covered(&words[0]) && covered(&words[1]) && covered(&words[3]), "{masks:?}");
        assert!(!covered(&words[2]), "the label MRN is not an identifier: {masks:?}");
        assert!(masks.iter().all(|m| m.rect.y < 300), "{masks:?}");
    }

    #[test]
    fn low_confidence_partial_match_masks_the_line() {
        let r = Redactor::new(Default::default());
        let p = OcrPatient::new(&ids());
        let words = vec![w("Pt", 40.0, 0), w("D0E", 40.0, 70), w("J0HM", 40.0, 140)];
        let masks = find_phi(words.clone(), &r, Some(&p), 1000, 1000);
        assert_eq!(masks.len(), 3, "{masks:?}");
        // The same misreading with high confidence is left to the detectors.
        let sure: Vec<Word> = words
            .into_iter()
            .map(|mut w| {
                w.conf = 96.0;
                w
            })
            .collect();
        assert!(find_phi(sure, &r, Some(&p), 1000, 1000).iter().all(|m| m.kind != "FUZZY_IDENTIFIER"));
    }
}
