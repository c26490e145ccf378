//! The `redact` interface the gates call: text in, redacted text and spans
//! out, plus whether anything was found (policy "hold"). One call for every
//! text a viewer can read: update text, marker labels, image captions (and
//! questions and feedback when they exist).

use std::sync::Arc;

use serde::Serialize;

use crate::session::identifiers::PatientIdentifiers;

/// One masked span, in code points of the redacted text.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Span {
    #[serde(rename = "type")]
    pub kind: String,
    pub start: usize,
    pub end: usize,
}

/// A finding in the original text (kept in memory for the review queue only).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    #[serde(rename = "type")]
    pub kind: String,
    pub start: usize,
    pub end: usize,
}

#[derive(Clone)]
pub struct Redacted {
    pub text: String,
    pub spans: Vec<Span>,
    pub findings: Vec<Finding>,
}

impl Redacted {
    pub fn found_any(&self) -> bool {
        !self.findings.is_empty()
    }
}

/// Per-session compiled identifiers.
pub struct Patient {
    _ids: Arc<PatientIdentifiers>,
}

impl Patient {
    pub fn compile(ids: Arc<PatientIdentifiers>) -> Self {
        Self { _ids: ids }
    }
}

/// The process-wide redactor.
#[derive(Default)]
pub struct Redactor;

impl Redactor {
    pub fn new() -> Self {
        Self
    }

    pub fn redact(&self, text: &str, _patient: Option<&Patient>) -> Redacted {
        Redacted { text: text.to_string(), spans: Vec::new(), findings: Vec::new() }
    }
}
