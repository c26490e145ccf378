//! The patient's registered identifiers. They live in memory only, per
//! session, for the redaction gate; they are never returned, logged, written
//! to disk or exported. (A restart forgets them: the surgical team registers
//! them again — documented in the README.)

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::Deserialize;

/// What `PUT /api/sessions/{id}/identifiers` carries.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientIdentifiers {
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub mrns: Vec<String>,
    #[serde(default)]
    pub dates: Vec<String>,
    #[serde(default)]
    pub other: Vec<String>,
}

impl std::fmt::Debug for PatientIdentifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PatientIdentifiers([redacted: {} names, {} mrns, {} dates, {} other])",
            self.names.len(),
            self.mrns.len(),
            self.dates.len(),
            self.other.len()
        )
    }
}

impl PatientIdentifiers {
    pub fn count(&self) -> usize {
        self.names.len() + self.mrns.len() + self.dates.len() + self.other.len()
    }
}

#[derive(Default)]
pub struct IdentifierVault {
    /// std RwLock: short sections, never across `.await`.
    map: RwLock<HashMap<String, Arc<PatientIdentifiers>>>,
}

impl IdentifierVault {
    pub fn set(&self, session_id: &str, ids: PatientIdentifiers) {
        if let Ok(mut m) = self.map.write() {
            m.insert(session_id.to_string(), Arc::new(ids));
        }
    }
    pub fn get(&self, session_id: &str) -> Option<Arc<PatientIdentifiers>> {
        self.map.read().ok().and_then(|m| m.get(session_id).cloned())
    }
    pub fn forget(&self, session_id: &str) {
        if let Ok(mut m) = self.map.write() {
            m.remove(session_id);
        }
    }
}
