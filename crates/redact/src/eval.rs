//! Evaluation on a labelled corpus in the `phi-dev/dev.jsonl` format, computing the same
//! numbers as `shared/phi-dev/score.py` (alnum basis, 90% threshold, STAFF excluded).

use crate::{Finding, Identifiers, PatientMatcher, PhiType, Redactor};
use serde::Deserialize;
use std::fmt;

const THRESH: f64 = 0.9;

#[derive(Debug, Deserialize)]
struct Record {
    id: String,
    text: String,
    #[serde(default)]
    spans: Vec<GoldSpan>,
    #[serde(default)]
    identifiers: Identifiers,
}

#[derive(Debug, Deserialize)]
struct GoldSpan {
    start: usize,
    end: usize,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    value: String,
}

/// A corpus line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "corpus line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for EvalError {}

/// Per-type span recall.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeStats {
    pub kind: String,
    pub caught: usize,
    pub total: usize,
    /// Characters of this type's spans that were masked (letters/digits).
    pub masked_chars: usize,
    /// Letters/digits in this type's spans.
    pub chars: usize,
}

/// Precision of the masks the gate labelled with one type (letters/digits, STAFF excluded).
#[derive(Debug, Clone, PartialEq)]
pub struct KindPrecision {
    pub kind: PhiType,
    /// Masked letters/digits inside a gold PHI span.
    pub tp: usize,
    /// Masked letters/digits outside every gold span.
    pub fp: usize,
}

/// A PHI span that was not masked (≥ 90% of its letters/digits).
#[derive(Debug, Clone, PartialEq)]
pub struct Miss {
    pub id: String,
    pub kind: String,
    pub value: String,
    pub masked: f64,
    pub text: String,
}

/// Result of [`evaluate`]. `Display` prints the score.py-style report.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    pub with_identifiers: bool,
    pub per_type: Vec<TypeStats>,
    /// Precision per predicted type, in [`PhiType::ALL`] order (types never predicted omitted).
    pub per_kind_precision: Vec<KindPrecision>,
    pub staff_caught: usize,
    pub staff_total: usize,
    pub recall: f64,
    pub token_recall: f64,
    pub tok_caught: usize,
    pub tok_total: usize,
    pub precision: f64,
    pub f2: f64,
    pub tp: usize,
    pub fp: usize,
    pub staff_chars: usize,
    pub leaked_msgs: usize,
    pub phi_msgs: usize,
    pub clean_msgs: usize,
    pub flagged_clean: usize,
    pub misses: Vec<Miss>,
    /// (id, text with false-positive characters shown as '_').
    pub false_positives: Vec<(String, String)>,
    /// Findings per message, in corpus order.
    pub predictions: Vec<(String, Vec<Finding>)>,
}

impl EvalReport {
    /// Per-type precision is not defined by score.py (masks carry no gold type); this gives the
    /// share of a type's letters/digits that were masked, useful to spot partial masks.
    pub fn predictions_jsonl(&self) -> String {
        let mut s = String::new();
        for (id, f) in &self.predictions {
            let spans: Vec<serde_json::Value> =
                f.iter().map(|x| serde_json::json!({"start": x.start, "end": x.end})).collect();
            let line = serde_json::json!({"id": id, "redacted_spans": spans});
            s.push_str(&line.to_string());
            s.push('\n');
        }
        s
    }
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "identifiers={} basis=alnum threshold={THRESH}",
            if self.with_identifiers { "registered" } else { "ignored" }
        )?;
        writeln!(f, "{:<12} {:>6} {:>6} {:>7} {:>9}", "type", "caught", "total", "recall", "char_mask")?;
        for t in &self.per_type {
            writeln!(
                f,
                "{:<12} {:>6} {:>6} {:>7.3} {:>9.3}",
                t.kind,
                t.caught,
                t.total,
                ratio(t.caught, t.total),
                ratio(t.masked_chars, t.chars)
            )?;
        }
        writeln!(
            f,
            "{:<12} {:>6} {:>6} {:>7.3}   (reported only; not in recall or precision)",
            "STAFF",
            self.staff_caught,
            self.staff_total,
            ratio(self.staff_caught, self.staff_total)
        )?;
        writeln!(
            f,
            "{:<12} {:>6} {:>6} {:>9}   (by the type the gate assigned)",
            "mask type", "tp", "fp", "precision"
        )?;
        for k in &self.per_kind_precision {
            writeln!(f, "{:<12} {:>6} {:>6} {:>9.3}", k.kind.as_str(), k.tp, k.fp, ratio(k.tp, k.tp + k.fp))?;
        }
        let total: usize = self.per_type.iter().map(|t| t.total).sum();
        let caught: usize = self.per_type.iter().map(|t| t.caught).sum();
        writeln!(f, "span recall (PHI)        {:.4}  ({caught}/{total})", self.recall)?;
        writeln!(f, "token recall (PHI)       {:.4}  ({}/{})", self.token_recall, self.tok_caught, self.tok_total)?;
        writeln!(
            f,
            "char precision           {:.4}  (tp={} fp={}; STAFF chars masked={}, excluded)",
            self.precision, self.tp, self.fp, self.staff_chars
        )?;
        writeln!(
            f,
            "messages with PHI leaked {}/{} ; PHI-free messages with any mask outside STAFF {}/{}",
            self.leaked_msgs, self.phi_msgs, self.flagged_clean, self.clean_msgs
        )?;
        write!(f, "recall={:.4} precision={:.4} f2={:.4}", self.recall, self.precision, self.f2)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Runs the gate over every message of `corpus_jsonl` and scores it like score.py.
/// With `with_identifiers == false` the "identifiers" field is ignored. Consecutive messages
/// whose ids share the prefix before the last '-' are one session and share a [`crate::SessionMemory`].
pub fn evaluate(corpus_jsonl: &str, redactor: &Redactor, with_identifiers: bool) -> Result<EvalReport, EvalError> {
    let mut rep = EvalReport {
        with_identifiers,
        per_type: Vec::new(),
        per_kind_precision: Vec::new(),
        staff_caught: 0,
        staff_total: 0,
        recall: 0.0,
        token_recall: 0.0,
        tok_caught: 0,
        tok_total: 0,
        precision: 0.0,
        f2: 0.0,
        tp: 0,
        fp: 0,
        staff_chars: 0,
        leaked_msgs: 0,
        phi_msgs: 0,
        clean_msgs: 0,
        flagged_clean: 0,
        misses: Vec::new(),
        false_positives: Vec::new(),
        predictions: Vec::new(),
    };
    let mut memory = crate::SessionMemory::new();
    let mut current_session = String::new();
    for (n, line) in corpus_jsonl.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let rec: Record = serde_json::from_str(line).map_err(|e| EvalError { line: n + 1, message: e.to_string() })?;
        let matcher = with_identifiers.then(|| PatientMatcher::new(&rec.identifiers));
        // messages of one session share an id prefix ("f-004-02"): the gate remembers the
        // session's names across them, as the server does with one SessionMemory per session
        let session = rec.id.rsplit_once('-').map_or(rec.id.as_str(), |(s, _)| s);
        if session != current_session {
            current_session = session.to_string();
            memory.clear();
        }
        let findings = redactor.detect_in_session(&rec.text, matcher.as_ref(), &mut memory);
        score_one(&mut rep, &rec, &findings);
        rep.predictions.push((rec.id, findings));
    }
    let total: usize = rep.per_type.iter().map(|t| t.total).sum();
    let caught: usize = rep.per_type.iter().map(|t| t.caught).sum();
    rep.recall = ratio(caught, total);
    rep.precision = ratio(rep.tp, rep.tp + rep.fp);
    rep.token_recall = ratio(rep.tok_caught, rep.tok_total);
    let (p, r) = (rep.precision, rep.recall);
    rep.f2 = if 4.0 * p + r > 0.0 { 5.0 * p * r / (4.0 * p + r) } else { 0.0 };
    // score.py: sorted by total descending, stable on first appearance
    rep.per_type.sort_by_key(|t| std::cmp::Reverse(t.total));
    rep.per_kind_precision.sort_by_key(|k| k.kind);
    Ok(rep)
}

fn score_one(rep: &mut EvalReport, rec: &Record, findings: &[Finding]) {
    let chars: Vec<char> = rec.text.chars().collect();
    let len = chars.len();
    let mut m = vec![false; len];
    for f in findings {
        for x in m.iter_mut().take(f.end.min(len)).skip(f.start) {
            *x = true;
        }
    }
    let mut label: Vec<Option<&str>> = vec![None; len];
    for sp in &rec.spans {
        for x in label.iter_mut().take(sp.end.min(len)).skip(sp.start) {
            *x = Some(sp.kind.as_str());
        }
    }
    let mut n_phi = 0;
    let mut leaked = false;
    for sp in &rec.spans {
        let (s, e) = (sp.start.min(len), sp.end.min(len));
        let mut pos: Vec<usize> = (s..e).filter(|&i| chars[i].is_alphanumeric()).collect();
        if pos.is_empty() {
            pos = (s..e).filter(|&i| !chars[i].is_whitespace()).collect();
        }
        let masked = pos.iter().filter(|&&i| m[i]).count();
        let frac = if pos.is_empty() { 1.0 } else { masked as f64 / pos.len() as f64 };
        let ok = frac >= THRESH;
        if sp.kind == "STAFF" {
            rep.staff_total += 1;
            rep.staff_caught += usize::from(ok);
            continue;
        }
        n_phi += 1;
        let idx = match rep.per_type.iter().position(|t| t.kind == sp.kind) {
            Some(i) => i,
            None => {
                rep.per_type.push(TypeStats { kind: sp.kind.clone(), caught: 0, total: 0, masked_chars: 0, chars: 0 });
                rep.per_type.len() - 1
            }
        };
        let t = &mut rep.per_type[idx];
        t.total += 1;
        t.caught += usize::from(ok);
        t.masked_chars += masked;
        t.chars += pos.len();
        if !ok {
            leaked = true;
            rep.misses.push(Miss {
                id: rec.id.clone(),
                kind: sp.kind.clone(),
                value: sp.value.clone(),
                masked: frac,
                text: rec.text.clone(),
            });
        }
        let mut i = s;
        while i < e {
            if chars[i].is_alphanumeric() {
                let mut j = i;
                while j < e && chars[j].is_alphanumeric() {
                    j += 1;
                }
                rep.tok_total += 1;
                rep.tok_caught += usize::from(m[i..j].iter().all(|x| *x));
                i = j;
            } else {
                i += 1;
            }
        }
    }
    for fnd in findings {
        let (mut tp, mut fp) = (0, 0);
        for i in fnd.start.min(len)..fnd.end.min(len) {
            if !chars[i].is_alphanumeric() {
                continue;
            }
            match label[i] {
                Some("STAFF") => {}
                Some(_) => tp += 1,
                None => fp += 1,
            }
        }
        match rep.per_kind_precision.iter_mut().find(|k| k.kind == fnd.kind) {
            Some(k) => {
                k.tp += tp;
                k.fp += fp;
            }
            None => rep.per_kind_precision.push(KindPrecision { kind: fnd.kind, tp, fp }),
        }
    }
    let mut fp_here = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        if !m[i] || !c.is_alphanumeric() {
            continue;
        }
        match label[i] {
            Some("STAFF") => rep.staff_chars += 1,
            Some(_) => rep.tp += 1,
            None => {
                rep.fp += 1;
                fp_here.push(i);
            }
        }
    }
    if !fp_here.is_empty() {
        let marked: String =
            chars.iter().enumerate().map(|(i, c)| if fp_here.contains(&i) { '_' } else { *c }).collect();
        rep.false_positives.push((rec.id.clone(), marked));
    }
    if n_phi > 0 {
        rep.phi_msgs += 1;
        rep.leaked_msgs += usize::from(leaked);
    } else {
        rep.clean_msgs += 1;
        rep.flagged_clean += usize::from(!fp_here.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_a_tiny_corpus() {
        let corpus = r#"{"id":"a","text":"Mr. Sato, SSN 084-69-3079","spans":[{"start":4,"end":8,"type":"NAME","value":"Sato"},{"start":14,"end":25,"type":"SSN","value":"084-69-3079"}],"identifiers":{"names":[],"mrns":[],"dates":[],"other":[]}}
{"id":"b","text":"Closing with 2-0 Vicryl.","spans":[]}"#;
        let r = Redactor::default();
        let rep = evaluate(corpus, &r, false).unwrap();
        assert_eq!(rep.recall, 1.0);
        assert_eq!(rep.precision, 1.0);
        assert!(rep.to_string().ends_with("recall=1.0000 precision=1.0000 f2=1.0000"));
        assert!(rep.predictions_jsonl().starts_with(r#"{"id":"a","redacted_spans":[{"end":8,"start":4}"#));
    }

    #[test]
    fn bad_line_is_an_error() {
        let r = Redactor::default();
        assert_eq!(evaluate("{nope", &r, true).unwrap_err().line, 1);
    }
}
