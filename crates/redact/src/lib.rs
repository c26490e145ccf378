//! PHI redaction gate for orgallery.
//!
//! Text typed in the operating room goes in; text with every HIPAA Safe Harbor identifier
//! replaced by a typed mask (`[NAME]`, `[DATE]`, `[MRN]`…) comes out, with the spans of the
//! masks in the redacted text and the [`Finding`]s that map each mask back to the original.
//!
//! * [`Redactor`] is built once per process (dictionaries, compiled patterns).
//! * [`PatientMatcher`] is compiled once per session from the registered [`Identifiers`].
//! * [`Redactor::redact`] is pure, never panics and never logs.
//!
//! All offsets are counted in Unicode code points (Rust `chars()`), like Python `str` indices.

mod detect;
pub mod eval;
mod gazetteer;
mod mask;
mod merge;
mod session;
mod text;

use serde::{Deserialize, Serialize};

pub use detect::registered::PatientMatcher;
pub use session::SessionMemory;

/// What the surgeon registered for the session's patient (`PUT /api/sessions/{id}/identifiers`).
/// `Debug` prints counts only: identifiers must never reach a log.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Identifiers {
    /// Full names, any format ("Ming Fan", "FAN, MING", "Benjamín A. Zaragoza").
    pub names: Vec<String>,
    /// Medical record numbers, any separators.
    pub mrns: Vec<String>,
    /// Dates (DOB…) in any common written form.
    pub dates: Vec<String>,
    /// Anything else: phone numbers, SSNs, emails, account or plan numbers.
    pub other: Vec<String>,
}

impl std::fmt::Debug for Identifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Identifiers([redacted: {} names, {} mrns, {} dates, {} other])",
            self.names.len(),
            self.mrns.len(),
            self.dates.len(),
            self.other.len()
        )
    }
}

/// Kind of protected health information. Serialized as `"NAME"`, `"DATE"`, …, `"OTHER_ID"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PhiType {
    Name,
    Date,
    Age,
    Phone,
    Fax,
    Email,
    Ssn,
    Mrn,
    HealthPlan,
    Account,
    License,
    Vehicle,
    DeviceId,
    Url,
    Ip,
    Address,
    OtherId,
}

impl PhiType {
    /// All types, in declaration order.
    pub const ALL: [PhiType; 17] = [
        PhiType::Name,
        PhiType::Date,
        PhiType::Age,
        PhiType::Phone,
        PhiType::Fax,
        PhiType::Email,
        PhiType::Ssn,
        PhiType::Mrn,
        PhiType::HealthPlan,
        PhiType::Account,
        PhiType::License,
        PhiType::Vehicle,
        PhiType::DeviceId,
        PhiType::Url,
        PhiType::Ip,
        PhiType::Address,
        PhiType::OtherId,
    ];

    /// The corpus / wire name: `"NAME"`, `"HEALTH_PLAN"`, `"OTHER_ID"`…
    pub fn as_str(&self) -> &'static str {
        match self {
            PhiType::Name => "NAME",
            PhiType::Date => "DATE",
            PhiType::Age => "AGE",
            PhiType::Phone => "PHONE",
            PhiType::Fax => "FAX",
            PhiType::Email => "EMAIL",
            PhiType::Ssn => "SSN",
            PhiType::Mrn => "MRN",
            PhiType::HealthPlan => "HEALTH_PLAN",
            PhiType::Account => "ACCOUNT",
            PhiType::License => "LICENSE",
            PhiType::Vehicle => "VEHICLE",
            PhiType::DeviceId => "DEVICE_ID",
            PhiType::Url => "URL",
            PhiType::Ip => "IP",
            PhiType::Address => "ADDRESS",
            PhiType::OtherId => "OTHER_ID",
        }
    }

    /// The mask written in place of the identifier: `"[NAME]"`, `"[HEALTH_PLAN]"`…
    pub fn mask(&self) -> &'static str {
        match self {
            PhiType::Name => "[NAME]",
            PhiType::Date => "[DATE]",
            PhiType::Age => "[AGE]",
            PhiType::Phone => "[PHONE]",
            PhiType::Fax => "[FAX]",
            PhiType::Email => "[EMAIL]",
            PhiType::Ssn => "[SSN]",
            PhiType::Mrn => "[MRN]",
            PhiType::HealthPlan => "[HEALTH_PLAN]",
            PhiType::Account => "[ACCOUNT]",
            PhiType::License => "[LICENSE]",
            PhiType::Vehicle => "[VEHICLE]",
            PhiType::DeviceId => "[DEVICE_ID]",
            PhiType::Url => "[URL]",
            PhiType::Ip => "[IP]",
            PhiType::Address => "[ADDRESS]",
            PhiType::OtherId => "[OTHER_ID]",
        }
    }

    /// Parses the wire name (`"NAME"`, `"DEVICE_ID"`…).
    pub fn parse(s: &str) -> Option<PhiType> {
        PhiType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl std::fmt::Display for PhiType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Process-wide configuration of the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RedactorConfig {
    /// Leave care-team names after "Dr."/"Dr"/"Doctor" untouched ("Dr. Patel"). Default `true`.
    pub keep_staff_names: bool,
}

impl Default for RedactorConfig {
    fn default() -> Self {
        RedactorConfig { keep_staff_names: true }
    }
}

/// One detected identifier, in code-point offsets of the ORIGINAL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    #[serde(rename = "type")]
    pub kind: PhiType,
    pub start: usize,
    pub end: usize,
}

/// One mask, in code-point offsets of the REDACTED text (covering e.g. `[NAME]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    #[serde(rename = "type")]
    pub kind: PhiType,
    pub start: usize,
    pub end: usize,
}

/// Result of [`Redactor::redact`]. `spans[i]` is the mask of `findings[i]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    /// The text with every finding replaced by its mask.
    pub text: String,
    /// Masks in the redacted text, sorted, non-overlapping.
    pub spans: Vec<Span>,
    /// The same identifiers in the original text (keep server-side for the review queue).
    pub findings: Vec<Finding>,
}

impl Redaction {
    /// True if anything was masked (for the "hold for review" policy).
    pub fn found_any(&self) -> bool {
        !self.findings.is_empty()
    }
}

/// The gate. Build once per process; `Send + Sync`, share it behind an `Arc`.
#[derive(Debug)]
pub struct Redactor {
    config: RedactorConfig,
    detectors: detect::Detectors,
}

impl Redactor {
    /// Compiles every pattern and loads the embedded dictionaries (a few milliseconds).
    pub fn new(config: RedactorConfig) -> Redactor {
        Redactor { config, detectors: detect::Detectors::new() }
    }

    /// The configuration this gate was built with.
    pub fn config(&self) -> RedactorConfig {
        self.config
    }

    /// Identifiers in `text`: code-point offsets into `text`, sorted, non-overlapping.
    pub fn detect(&self, text: &str, patient: Option<&PatientMatcher>) -> Vec<Finding> {
        let spans = self.detect_bytes(text, patient);
        text::to_char_findings(text, &spans)
    }

    /// Replaces every finding by its mask.
    pub fn redact(&self, text: &str, patient: Option<&PatientMatcher>) -> Redaction {
        let spans = self.detect_bytes(text, patient);
        mask::apply(text, &spans)
    }

    /// [`Redactor::redact`] for one message of a session: names found in the session's earlier
    /// messages (kept in `memory`) are masked here too, and the names found here are added to
    /// `memory` for the next messages.
    pub fn redact_in_session(
        &self,
        text: &str,
        patient: Option<&PatientMatcher>,
        memory: &mut SessionMemory,
    ) -> Redaction {
        let spans = self.detect_bytes_in(text, patient, Some(memory));
        mask::apply(text, &spans)
    }

    /// [`Redactor::detect`] with a session's memory (see [`Redactor::redact_in_session`]).
    pub fn detect_in_session(
        &self,
        text: &str,
        patient: Option<&PatientMatcher>,
        memory: &mut SessionMemory,
    ) -> Vec<Finding> {
        let spans = self.detect_bytes_in(text, patient, Some(memory));
        text::to_char_findings(text, &spans)
    }

    fn detect_bytes(&self, text: &str, patient: Option<&PatientMatcher>) -> Vec<merge::ByteSpan> {
        self.detect_bytes_in(text, patient, None)
    }

    fn detect_bytes_in(
        &self,
        text: &str,
        patient: Option<&PatientMatcher>,
        memory: Option<&mut SessionMemory>,
    ) -> Vec<merge::ByteSpan> {
        let mut out = detect::Output { cands: Vec::with_capacity(24), protected: Vec::new() };
        let recalled = memory.as_deref();
        self.detectors.run(text, patient, recalled, self.config, &mut out);
        let spans = merge::resolve(text, out);
        if let Some(m) = memory {
            self.detectors.learn(text, &spans, m);
        }
        spans
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new(RedactorConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_sync() {
        assert_send_sync::<Redactor>();
        assert_send_sync::<PatientMatcher>();
        assert_send_sync::<Redaction>();
        assert_send_sync::<SessionMemory>();
    }

    #[test]
    fn type_names_and_masks() {
        assert_eq!(PhiType::DeviceId.as_str(), "DEVICE_ID");
        assert_eq!(PhiType::HealthPlan.mask(), "[HEALTH_PLAN]");
        assert_eq!(serde_json::to_string(&PhiType::OtherId).unwrap(), "\"OTHER_ID\"");
        for t in PhiType::ALL {
            assert_eq!(PhiType::parse(t.as_str()), Some(t));
            assert_eq!(t.mask(), format!("[{}]", t.as_str()));
        }
    }

    #[test]
    fn span_serializes_with_type_key() {
        let s = Span { kind: PhiType::Name, start: 1, end: 7 };
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"{"type":"NAME","start":1,"end":7}"#);
    }

    #[test]
    fn identifiers_deserialize_partial() {
        let ids: Identifiers = serde_json::from_str(r#"{"names":["Ming Fan"]}"#).unwrap();
        assert_eq!(ids.names, vec!["Ming Fan".to_string()]);
        assert!(ids.mrns.is_empty());
    }

    #[test]
    fn session_memory_carries_names_and_initials() {
        let r = Redactor::default();
        let mut mem = SessionMemory::new();
        let first = r.redact_in_session("daughter Tsitsinaia is in the waiting room", None, &mut mem);
        assert_eq!(first.text, "daughter [NAME] is in the waiting room");
        let later = r.redact_in_session("tsitsinaia asked again about parking", None, &mut mem);
        assert_eq!(later.text, "[NAME] asked again about parking");
        r.redact_in_session("lap chole, Mzevinar Qorqashvili, 64F", None, &mut mem);
        let init = r.redact_in_session("MQ extubated, to PACU", None, &mut mem);
        assert_eq!(init.text, "[NAME] extubated, to PACU");
        // the per-message API stays as it was
        let alone = "tsitsinaia asked again about parking";
        assert_eq!(r.redact(alone, None).text, alone);
        assert!(format!("{mem:?}").contains("redacted"));
        mem.clear();
        assert!(mem.is_empty());
    }

    #[test]
    fn end_to_end_example() {
        let r = Redactor::default();
        let ids = Identifiers { names: vec!["Ming Fan".into()], mrns: vec!["43111520".into()], ..Default::default() };
        let pm = PatientMatcher::new(&ids);
        let out = r.redact("MR# 431 115 20 / FAN, MING seen by Dr. Patel", Some(&pm));
        assert_eq!(out.text, "MR# [MRN] / [NAME] seen by Dr. Patel");
        assert!(out.found_any());
        assert_eq!(out.spans.len(), 2);
        assert_eq!(out.findings[0].start, 4);
    }
}
