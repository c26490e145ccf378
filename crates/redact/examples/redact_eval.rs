//! Prints the score.py-style report of the gate on a labelled corpus.
//!
//! ```text
//! cargo run --release -p orgallery-redact --example redact_eval -- \
//!     [CORPUS.jsonl] [--no-identifiers] [--predictions OUT.jsonl] [--show-misses N] [--show-fps N]
//! ```
//! Default corpus: ../shared/phi-dev/dev.jsonl next to the workspace.

use orgallery_redact::{eval, Redactor, RedactorConfig};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut corpus = format!("{}/../../../shared/phi-dev/dev.jsonl", env!("CARGO_MANIFEST_DIR"));
    let mut with_ids = true;
    let mut predictions: Option<String> = None;
    let mut show_misses = 0usize;
    let mut show_fps = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--no-identifiers" => with_ids = false,
            "--predictions" => predictions = args.next(),
            "--show-misses" => show_misses = args.next().and_then(|v| v.parse().ok()).unwrap_or(20),
            "--show-fps" => show_fps = args.next().and_then(|v| v.parse().ok()).unwrap_or(20),
            "-h" | "--help" => {
                println!("usage: redact_eval [CORPUS.jsonl] [--no-identifiers] [--predictions OUT.jsonl] [--show-misses N] [--show-fps N]");
                return ExitCode::SUCCESS;
            }
            _ => corpus = a,
        }
    }
    let text = match std::fs::read_to_string(&corpus) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {corpus}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let redactor = Redactor::new(RedactorConfig::default());
    let report = match eval::evaluate(&text, &redactor, with_ids) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = predictions {
        if let Err(e) = std::fs::write(&path, report.predictions_jsonl()) {
            eprintln!("cannot write {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    println!("corpus={corpus}");
    for m in report.misses.iter().take(show_misses) {
        println!("  MISS {} {} {:?} masked={:.2} :: {}", m.id, m.kind, m.value, m.masked, m.text);
    }
    for (id, t) in report.false_positives.iter().take(show_fps) {
        println!("  FP   {id} :: {t}");
    }
    println!("{report}");
    ExitCode::SUCCESS
}
