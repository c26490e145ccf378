//! The `redact` interface the gates call (crate `orgallery-redact`): text in,
//! redacted text and spans out, plus whether anything was found (policy
//! "hold"). One call for every text a viewer can read — update text, marker
//! labels, image captions (and questions and feedback when they exist).

use std::sync::Arc;

pub use orgallery_redact::{Finding, PhiType, Redaction as Redacted, RedactorConfig, SessionMemory, Span};

use crate::session::identifiers::PatientIdentifiers;

/// Per-session compiled identifiers (in memory only).
pub struct Patient(orgallery_redact::PatientMatcher);

impl Patient {
    pub fn compile(ids: Arc<PatientIdentifiers>) -> Self {
        let ids = orgallery_redact::Identifiers {
            names: ids.names.clone(),
            mrns: ids.mrns.clone(),
            dates: ids.dates.clone(),
            other: ids.other.clone(),
        };
        Self(orgallery_redact::PatientMatcher::new(&ids))
    }
}

/// The process-wide redactor.
pub struct Redactor(orgallery_redact::Redactor);

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl Redactor {
    pub fn new() -> Self {
        Self(orgallery_redact::Redactor::new(RedactorConfig::default()))
    }

    /// The underlying redactor (for OCR lines, see `orgallery_ocr::find_phi`).
    pub fn engine(&self) -> &orgallery_redact::Redactor {
        &self.0
    }

    pub fn redact(&self, text: &str, patient: Option<&Patient>) -> Redacted {
        self.0.redact(text, patient.map(|p| &p.0))
    }

    /// One message of a live session: names found in the session's earlier
    /// messages are masked here too, and this message's names are learned.
    /// The memory lives in the session writer only (never stored or logged).
    pub fn redact_in_session(&self, text: &str, patient: Option<&Patient>, memory: &mut SessionMemory) -> Redacted {
        self.0.redact_in_session(text, patient.map(|p| &p.0), memory)
    }
}
