//! The patient's registered identifiers, per session, for the redaction gate.
//! They are never returned, logged or exported. To survive a restart they are
//! written only sealed (ChaCha20-Poly1305 with a key kept in the data
//! directory, the session id as associated data), and deleted when the
//! session ends.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::store::Store;

/// What `PUT /api/sessions/{id}/identifiers` carries.
#[derive(Clone, Default, Deserialize, Serialize)]
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

pub struct IdentifierVault {
    cipher: ChaCha20Poly1305,
    /// Keys a rotation retired (`identifiers.key.*.retired`): they still open
    /// what they sealed; new seals use `cipher`.
    retired: Vec<ChaCha20Poly1305>,
    /// std RwLock: short sections, never across `.await`.
    map: RwLock<HashMap<String, Arc<PatientIdentifiers>>>,
}

impl IdentifierVault {
    /// Open the vault with the key in `data_dir` (created, mode 0600, on first use).
    pub fn open(data_dir: &std::path::Path) -> std::io::Result<Self> {
        let path = data_dir.join("identifiers.key");
        let key: Vec<u8> = match std::fs::read(&path) {
            Ok(k) if k.len() == 32 => k,
            Ok(_) => return Err(std::io::Error::other(format!("{} is not a 32-byte key", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut k = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut k);
                crate::auth::jwt::write_private(&path, &k)?;
                k.to_vec()
            }
            Err(e) => return Err(e),
        };
        let key: [u8; 32] =
            key.as_slice().try_into().map_err(|_| std::io::Error::other("identifiers.key: bad length"))?;
        let retired =
            crate::signing::retired_keys(&path)?.into_iter().map(|k| ChaCha20Poly1305::new(&Key::from(k))).collect();
        Ok(Self { cipher: ChaCha20Poly1305::new(&Key::from(key)), retired, map: RwLock::new(HashMap::new()) })
    }

    /// A vault key's id: the first 16 hex digits of its SHA-256.
    pub fn key_id(key: &[u8; 32]) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(key))[..16].to_string()
    }

    /// Register (replace) a session's identifiers: sealed in the store, clear in memory.
    pub async fn set(&self, store: &dyn Store, session_id: &str, ids: PatientIdentifiers) -> Result<(), ApiError> {
        let clear = serde_json::to_vec(&ids).map_err(ApiError::internal)?;
        let mut nonce = [0u8; 12];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: &clear, aad: session_id.as_bytes() })
            .map_err(|_| ApiError::internal("sealing identifiers failed"))?;
        store.put_sealed_identifiers(session_id, &nonce, &sealed).await?;
        if let Ok(mut m) = self.map.write() {
            m.insert(session_id.to_string(), Arc::new(ids));
        }
        Ok(())
    }

    /// Bring a session's sealed identifiers back into memory (after a restart).
    pub async fn load(&self, store: &dyn Store, session_id: &str) -> Result<(), ApiError> {
        let Some((nonce, sealed)) = store.sealed_identifiers(session_id).await? else { return Ok(()) };
        let nonce: [u8; 12] =
            nonce.as_slice().try_into().map_err(|_| ApiError::internal("corrupt sealed identifiers"))?;
        let payload = || Payload { msg: &sealed, aad: session_id.as_bytes() };
        let clear = std::iter::once(&self.cipher)
            .chain(&self.retired)
            .find_map(|c| c.decrypt(&Nonce::from(nonce), payload()).ok())
            .ok_or_else(|| ApiError::internal("sealed identifiers do not open with this data directory's keys"))?;
        let ids: PatientIdentifiers = serde_json::from_slice(&clear).map_err(ApiError::internal)?;
        if let Ok(mut m) = self.map.write() {
            m.insert(session_id.to_string(), Arc::new(ids));
        }
        Ok(())
    }

    pub fn get(&self, session_id: &str) -> Option<Arc<PatientIdentifiers>> {
        self.map.read().ok().and_then(|m| m.get(session_id).cloned())
    }

    /// The session ended: forget the identifiers in memory and on disk.
    pub async fn forget(&self, store: &dyn Store, session_id: &str) -> Result<(), ApiError> {
        if let Ok(mut m) = self.map.write() {
            m.remove(session_id);
        }
        store.delete_sealed_identifiers(session_id).await?;
        Ok(())
    }
}
