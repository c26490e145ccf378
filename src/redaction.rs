//! The `redact` interface the gates call (crate `orgallery-redact`): text in,
//! redacted text and spans out, plus whether anything was found (policy
//! "hold"). One call for every text a viewer can read — update text, marker
//! labels, image captions (and questions and feedback when they exist).

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

pub use orgallery_redact::{Finding, PhiType, Redaction as Redacted, RedactorConfig, SessionMemory, Span};
use tokio::sync::Semaphore;

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
pub struct Redactor {
    inner: Arc<orgallery_redact::Redactor>,
    /// Bounds the redactions running at once on the blocking pool
    /// ([`Redactor::redact_in_session_pooled`]): one per core.
    permits: Arc<Semaphore>,
}

/// A pooled redaction did not complete (its blocking task panicked or the
/// runtime is shutting down). Nothing was redacted: the text must not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedactionFailed;

/// What a pooled redaction gives back: the redaction and the original text.
pub type Pooled = Result<(Redacted, String), RedactionFailed>;

impl std::fmt::Display for RedactionFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("redaction did not complete")
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl Redactor {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_pool(cores)
    }

    /// A redactor whose pooled redactions run at most `threads` at a time (≥ 1).
    pub fn with_pool(threads: usize) -> Self {
        Self {
            inner: Arc::new(orgallery_redact::Redactor::new(RedactorConfig::default())),
            permits: Arc::new(Semaphore::new(threads.max(1))),
        }
    }

    /// The underlying redactor (for OCR lines, see `orgallery_ocr::find_phi`).
    pub fn engine(&self) -> &orgallery_redact::Redactor {
        &self.inner
    }

    pub fn redact(&self, text: &str, patient: Option<&Patient>) -> Redacted {
        self.inner.redact(text, patient.map(|p| &p.0))
    }

    /// One message of a live session: names found in the session's earlier
    /// messages are masked here too, and this message's names are learned.
    /// The memory lives in the session writer only (never stored or logged).
    pub fn redact_in_session(&self, text: &str, patient: Option<&Patient>, memory: &mut SessionMemory) -> Redacted {
        self.inner.redact_in_session(text, patient.map(|p| &p.0), memory)
    }

    /// [`Redactor::redact_in_session`] on tokio's blocking pool, at most one
    /// redaction per core at a time, so a long or hostile text (up to 16 KiB,
    /// a few ms) never runs on the thread of a session writer and cannot make
    /// another release late. The returned future owns everything it needs;
    /// the caller keeps the order of a session's messages by awaiting one
    /// before starting the next (the memory is updated in that order). Gives
    /// the original text back with its redaction.
    pub fn redact_in_session_pooled(
        &self,
        text: String,
        patient: Option<Arc<Patient>>,
        memory: Arc<Mutex<SessionMemory>>,
    ) -> impl Future<Output = Pooled> + Send + 'static {
        let inner = self.inner.clone();
        let permits = self.permits.clone();
        async move {
            let permit = permits.acquire_owned().await.map_err(|_| RedactionFailed)?;
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                // A poisoned lock only means an earlier redaction panicked; the
                // names it holds are still the session's and must be kept.
                let mut m = memory.lock().unwrap_or_else(PoisonError::into_inner);
                let r = inner.redact_in_session(&text, patient.as_ref().map(|p| &p.0), &mut m);
                (r, text)
            })
            .await
            .map_err(|_| RedactionFailed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pooled_redaction_matches_inline_and_keeps_the_session_memory() {
        let r = Redactor::with_pool(1);
        let mem = Arc::new(Mutex::new(SessionMemory::new()));
        let (first, raw) = r
            .redact_in_session_pooled("daughter Tsitsinaia is in the waiting room".into(), None, mem.clone())
            .await
            .expect("redacted");
        assert_eq!(raw, "daughter Tsitsinaia is in the waiting room");
        assert_eq!(first.text, "daughter [NAME] is in the waiting room");
        let (later, _) = r
            .redact_in_session_pooled("tsitsinaia asked again about parking".into(), None, mem.clone())
            .await
            .expect("redacted");
        assert_eq!(later.text, "[NAME] asked again about parking");
        let mut inline = SessionMemory::new();
        r.redact_in_session("daughter Tsitsinaia is in the waiting room", None, &mut inline);
        assert_eq!(r.redact_in_session("tsitsinaia asked again about parking", None, &mut inline), later);
    }
}
