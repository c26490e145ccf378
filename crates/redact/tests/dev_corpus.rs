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
