//! Keeps the acceptance targets on the labelled dev corpus (skipped if the corpus is absent).

use orgallery_redact::{eval, Redactor, RedactorConfig};

fn corpus() -> Option<String> {
    let path = format!("{}/../../../shared/phi-dev/dev.jsonl", env!("CARGO_MANIFEST_DIR"));
    match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(_) => {
            println!("note: {path} not found, skipping the dev-corpus targets");
            None
        }
    }
}

#[test]
fn dev_targets_with_identifiers() {
    let Some(text) = corpus() else { return };
    let r = Redactor::new(RedactorConfig::default());
    let rep = eval::evaluate(&text, &r, true).expect("corpus parses");
    println!("{rep}");
    assert!(rep.recall >= 0.99, "recall {} < 0.99", rep.recall);
    assert!(rep.precision >= 0.90, "precision {} < 0.90", rep.precision);
}

#[test]
fn dev_targets_without_identifiers() {
    let Some(text) = corpus() else { return };
    let r = Redactor::new(RedactorConfig::default());
    let rep = eval::evaluate(&text, &r, false).expect("corpus parses");
    println!("{rep}");
    assert!(rep.recall >= 0.95, "recall {} < 0.95", rep.recall);
    assert!(rep.precision >= 0.90, "precision {} < 0.90", rep.precision);
}

#[test]
fn predictions_match_findings() {
    let Some(text) = corpus() else { return };
    let r = Redactor::default();
    let rep = eval::evaluate(&text, &r, true).expect("corpus parses");
    let lines = rep.predictions_jsonl();
    assert_eq!(lines.lines().count(), text.lines().filter(|l| !l.trim().is_empty()).count());
    for l in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("valid json");
        assert!(v["id"].is_string() && v["redacted_spans"].is_array());
    }
}

/// Evaluate a held-out file from tests/data (with or without its registered identifiers).
fn heldout(file: &str, with_identifiers: bool) -> eval::EvalReport {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).expect("heldout corpus is in the repo");
    let rep = eval::evaluate(&text, &Redactor::default(), with_identifiers).expect("corpus parses");
    println!("{rep}");
    rep
}

/// Hand-written messages with phrasings that are not in dev.jsonl (no identifiers registered).
#[test]
fn heldout_phrasings() {
    let rep = heldout("heldout.jsonl", false);
    assert!(rep.recall >= 0.95, "recall {} < 0.95", rep.recall);
    assert!(rep.precision >= 0.90, "precision {} < 0.90", rep.precision);
}

/// Nursing notes, anesthesia chatter, dictation, SBAR hand-offs, consent-room and family talk,
/// lowercase typing, UK/European dates, phones and addresses, plus eponym-heavy negatives
/// (no identifiers registered).
#[test]
fn heldout_phrasing2() {
    let rep = heldout("heldout_phrasing2.jsonl", false);
    assert!(rep.recall >= 0.95, "recall {} < 0.95", rep.recall);
    assert!(rep.precision >= 0.90, "precision {} < 0.90", rep.precision);
}

/// Registered identifiers written differently from their registration (typo, order, separators,
/// date formats, lower case).
#[test]
fn heldout_registered_forms() {
    let rep = heldout("heldout_registered.jsonl", true);
    assert_eq!(rep.recall, 1.0, "{rep}");
    assert!(rep.precision >= 0.90, "precision {} < 0.90", rep.precision);
}

/// A town after any residence verb form is masked ("living" was once missed by a prefilter).
#[test]
fn residence_phrases_mask_the_town() {
    let r = Redactor::default();
    for t in [
        "Pt is 67, living in Marysville with her son.",
        "She lives in Marysville.",
        "Lived in Marysville until last spring.",
        "Currently residing in Marysville, walks daily.",
    ] {
        let out = r.redact(t, None);
        assert!(!out.text.contains("Marysville"), "{t} -> {}", out.text);
    }
}

/// The freely written held-out set (issue 15): 530 messages by a writer who did not read the
/// detectors, names absent from every list the gate uses, a third PHI-free hard negatives.
/// Targets: recall ≥ 0.97 with identifiers, ≥ 0.93 without; precision ≥ 0.95; at most 5 % of
/// the PHI-free messages with a false mask.
fn heldout_free_targets(with_identifiers: bool, min_recall: f64) {
    let rep = heldout("heldout_free.jsonl", with_identifiers);
    assert!(rep.recall >= min_recall, "recall {} < {min_recall}", rep.recall);
    assert!(rep.precision >= 0.95, "precision {} < 0.95", rep.precision);
    let flagged = rep.flagged_clean as f64 / rep.clean_msgs.max(1) as f64;
    assert!(flagged <= 0.05, "PHI-free messages with a false mask {flagged:.3} > 0.05");
}

#[test]
fn heldout_free_with_identifiers() {
    heldout_free_targets(true, 0.97);
}

#[test]
fn heldout_free_without_identifiers() {
    heldout_free_targets(false, 0.93);
}
