//! Per-session memory: names the gate found in a session's earlier messages, remembered for its
//! later ones ("Tsiala" found after "daughter" in message 2 is masked when message 5 says
//! "Tsiala is here"), with the initials of multi-word names ("Ehrenfried Kocher" → "EK").
//!
//! The memory is owned by whoever writes the session's messages through the gate (one per
//! session, `&mut` per message, so no lock): [`crate::Redactor::redact_in_session`]. It holds
//! identifiers, so it has no `Debug` that prints them and must be dropped with the session.

/// Names learned in one session. `Send + Sync`; cheap to create; bounded.
#[derive(Clone, Default)]
pub struct SessionMemory {
    /// Folded name tokens (≥ 3 letters, unknown to the English and OR lexicons).
    pub(crate) names: Vec<String>,
    /// Uppercase initials of learned multi-word names ("EK").
    pub(crate) initials: Vec<String>,
}

/// At most this many tokens are remembered (a session names a handful of people).
const MAX_REMEMBERED: usize = 64;

impl SessionMemory {
    /// An empty memory for a new session.
    pub fn new() -> SessionMemory {
        SessionMemory::default()
    }

    /// Number of remembered name tokens.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True if nothing was learned yet.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Forgets everything (the session ended or its patient changed).
    pub fn clear(&mut self) {
        self.names.clear();
        self.initials.clear();
    }

    pub(crate) fn learn_name(&mut self, folded: &str) {
        if self.names.len() < MAX_REMEMBERED && !self.names.iter().any(|n| n == folded) {
            self.names.push(folded.to_string());
        }
    }

    pub(crate) fn learn_initials(&mut self, initials: &str) {
        if self.initials.len() < MAX_REMEMBERED && !self.initials.iter().any(|n| n == initials) {
            self.initials.push(initials.to_string());
        }
    }
}

impl std::fmt::Debug for SessionMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionMemory([redacted: {} names])", self.names.len())
    }
}
